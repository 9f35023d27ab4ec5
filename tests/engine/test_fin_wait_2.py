"""FIN-WAIT-2: our FIN is acknowledged; we wait for the peer's.

SND.UNA = SND.NXT = ISS+2, RCV.NXT = IRS+1 (RFC 9293 3.10.7.4).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from _closing_helpers import TWO_MSL, feed, half_closed, ts_at, ts_in_state, ts_opts
from conftest import IRS, ISS, PLAIN, WINDOW, events, in_state, ours, out, peer

from synack.tcp.errors import TcpError
from synack.tcp.events import ConnectionAborted, ConnectionReset, DataReceived, EndOfStream
from synack.tcp.state import State
from synack.wire.segment import ACK, FIN, PSH, RST, SYN

S = State.FIN_WAIT_2
ACK_NOW = ours(ACK, ISS + 2, IRS + 1)  # <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
FW2_TIMEOUT = 30.0


# -- user calls ------------------------------------------------------------


def test_fin_wait_2_user_send_connection_closing() -> None:
    # RFC 9293 3.10.2: FIN-WAIT-2: "error: connection closing".
    conn = in_state(S)
    with pytest.raises(TcpError, match=r"^connection closing$"):
        conn.send(b"x")
    assert out(conn) == []


def test_fin_wait_2_user_receive_nothing_queued_returns_empty() -> None:
    conn = half_closed(S)
    assert conn.receive() == b""
    assert out(conn) == []
    assert conn.state is S


def test_fin_wait_2_user_close_again_connection_closing() -> None:
    # RFC 9293 3.10.4, FIN-WAIT-2: "error: connection closing" (or ok, without a second FIN).
    conn = in_state(S)
    with pytest.raises(TcpError, match=r"^connection closing$"):
        conn.close()
    assert out(conn) == []
    assert conn.state is S


def test_fin_wait_2_user_close_after_shutdown_write_ok_no_second_fin() -> None:
    conn = half_closed(S)
    conn.close()
    assert out(conn) == []
    assert conn.state is S


def test_fin_wait_2_user_shutdown_write_again_connection_closing() -> None:
    conn = half_closed(S)
    with pytest.raises(TcpError, match=r"^connection closing$"):
        conn.shutdown_write()


def test_fin_wait_2_user_abort_sends_rst() -> None:
    # RFC 9293 3.10.5, FIN-WAIT-2: send <SEQ=SND.NXT><CTL=RST>, enter CLOSED.
    conn = in_state(S)
    conn.abort()
    assert out(conn) == [ours(RST, ISS + 2, 0, window=0)]
    assert conn.state is State.CLOSED
    assert events(conn) == [ConnectionAborted("connection aborted")]


def test_fin_wait_2_user_status() -> None:
    conn = in_state(S)
    st = conn.status()
    assert st.state is S
    assert (st.snd_una, st.snd_nxt, st.rcv_nxt) == (ISS + 2, ISS + 2, IRS + 1)
    assert st.send_queued == 0


# -- arriving FIN ----------------------------------------------------------


def test_fin_wait_2_rcv_fin() -> None:
    # RFC 9293 3.10.7.4 eighth, FIN-WAIT-2: ACK the FIN, enter TIME-WAIT, start 2 MSL.
    conn = in_state(S)
    assert feed(conn, peer(FIN | ACK, IRS + 1, ISS + 2), 5.0) == [ours(ACK, ISS + 2, IRS + 2)]
    assert conn.state is State.TIME_WAIT
    assert events(conn) == [EndOfStream()]
    assert conn.get_timer() == 5.0 + TWO_MSL


def test_fin_wait_2_rcv_fin_with_data_after_shutdown_write() -> None:
    conn = half_closed(S)
    sent = feed(conn, peer(FIN | PSH | ACK, IRS + 1, ISS + 2, payload=b"bye"))
    # 3 octets in the buffer; the FIN takes none of it: the window is the free space.
    assert sent == [ours(ACK, ISS + 2, IRS + 5, window=WINDOW - 3)]
    assert conn.state is State.TIME_WAIT
    assert events(conn) == [DataReceived(3), EndOfStream()]


def test_fin_wait_2_rcv_fin_out_of_order() -> None:
    # A FIN after a hole: queue it, ACK RCV.NXT, stay.
    conn = half_closed(S)
    assert feed(conn, peer(FIN | ACK, IRS + 4, ISS + 2)) == [ACK_NOW]
    assert conn.state is S
    assert events(conn) == []


def test_fin_wait_2_rcv_fin_out_of_order_then_hole_filled() -> None:
    conn = half_closed(S)
    assert feed(conn, peer(FIN | ACK, IRS + 4, ISS + 2)) == [ACK_NOW]
    # The three missing octets arrive: the queued FIN becomes in order.
    sent = feed(conn, peer(ACK, IRS + 1, ISS + 2, payload=b"abc"))
    assert sent == [ours(ACK, ISS + 2, IRS + 5, window=WINDOW - 3)]
    assert conn.state is State.TIME_WAIT
    assert events(conn) == [DataReceived(3), EndOfStream()]
    assert conn.receive() == b"abc"


def test_fin_wait_2_rcv_fin_with_timestamps_echoes_fin_tsval() -> None:
    # RFC 7323 4.3: TS.Recent takes the FIN's TSval (SEG.SEQ <= Last.ACK.sent); the ACK echoes it.
    conn = ts_in_state(S)
    sent = feed(conn, peer(FIN | ACK, IRS + 1, ISS + 2, options=ts_opts(7002, ts_at(0))), 0.25)
    assert sent == [ours(ACK, ISS + 2, IRS + 2, options=ts_opts(ts_at(0.25), 7002))]
    assert conn.state is State.TIME_WAIT


# -- arriving data ---------------------------------------------------------


def test_fin_wait_2_rcv_data_after_shutdown_write() -> None:
    # RFC 9293 3.10.7.4 seventh: FIN-WAIT-2 still delivers text.
    conn = half_closed(S)
    sent = feed(conn, peer(PSH | ACK, IRS + 1, ISS + 2, payload=b"hello"))
    assert sent == [ours(ACK, ISS + 2, IRS + 6, window=WINDOW - 5)]
    assert conn.state is S
    assert events(conn) == [DataReceived(5)]
    assert conn.receive() == b"hello"


def test_fin_wait_2_rcv_data_after_close_sends_rst() -> None:
    # RFC 9293 3.6 / RFC 1122 4.2.2.13: data after CLOSE: RST <SEQ=SND.NXT>.
    conn = in_state(S)
    sent = feed(conn, peer(PSH | ACK, IRS + 1, ISS + 2, payload=b"hello"))
    assert sent == [ours(RST, ISS + 2, 0, window=0)]
    assert conn.state is State.CLOSED
    assert events(conn) == [ConnectionAborted("connection reset")]


def test_fin_wait_2_rcv_data_after_close_accepted_when_rst_off() -> None:
    conn = in_state(S, replace(PLAIN, rst_on_data_after_close=False))
    sent = feed(conn, peer(PSH | ACK, IRS + 1, ISS + 2, payload=b"hello"))
    assert sent == [ours(ACK, ISS + 2, IRS + 6, window=WINDOW - 5)]
    assert conn.state is S
    assert events(conn) == [DataReceived(5)]


def test_fin_wait_2_rcv_old_data_after_close_acked_not_reset() -> None:
    # Octets wholly below RCV.NXT are a duplicate, not new data after CLOSE: the
    # sequence check answers them with an ACK before the text step is reached.
    conn = in_state(S)
    assert feed(conn, peer(PSH | ACK, IRS - 3, ISS + 1, payload=b"old")) == [ACK_NOW]
    assert conn.state is S


def test_fin_wait_2_rcv_old_duplicate_segment() -> None:
    # RFC 9293 3.10.7.4 first: unacceptable: send <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.
    conn = in_state(S)
    assert feed(conn, peer(ACK, IRS, ISS + 2)) == [ACK_NOW]
    assert conn.state is S


def test_fin_wait_2_rcv_duplicate_ack() -> None:
    conn = in_state(S)
    assert feed(conn, peer(ACK, IRS + 1, ISS + 2)) == []
    assert conn.state is S


def test_fin_wait_2_rcv_ack_of_unsent() -> None:
    # RFC 9293 3.10.7.4 fifth: SEG.ACK > SND.NXT: ACK and drop.
    conn = in_state(S)
    assert feed(conn, peer(ACK, IRS + 1, ISS + 3)) == [ACK_NOW]
    assert conn.state is S


def test_fin_wait_2_rcv_paws_old_timestamp() -> None:
    # RFC 7323 5.3 R1: SEG.TSval < TS.Recent (7001): not acceptable; send an ACK, drop.
    conn = ts_in_state(S)
    sent = feed(conn, peer(FIN | ACK, IRS + 1, ISS + 2, options=ts_opts(6000, ts_at(0))), 0.5)
    assert sent == [ours(ACK, ISS + 2, IRS + 1, options=ts_opts(ts_at(0.5), 7001))]
    assert conn.state is S  # the FIN on the rejected segment was not taken
    assert events(conn) == []


# -- arriving RST and SYN --------------------------------------------------


def test_fin_wait_2_rcv_rst_exact() -> None:
    conn = in_state(S)
    assert feed(conn, peer(RST, IRS + 1)) == []
    assert conn.state is State.CLOSED
    assert events(conn) == [ConnectionReset("connection reset")]


def test_fin_wait_2_rcv_rst_in_window_challenge_ack() -> None:
    # RFC 5961 3.2.
    conn = in_state(S)
    assert feed(conn, peer(RST, IRS + 2)) == [ACK_NOW]
    assert conn.state is S


def test_fin_wait_2_rcv_rst_out_of_window_dropped() -> None:
    conn = in_state(S)
    assert feed(conn, peer(RST, IRS + 1 + WINDOW)) == []
    assert conn.state is S


def test_fin_wait_2_rcv_syn_challenge_ack() -> None:
    # RFC 5961 4.2.
    conn = in_state(S)
    assert feed(conn, peer(SYN, IRS + 1)) == [ACK_NOW]
    assert conn.state is S


# -- FIN-WAIT-2 timeout (not in RFC 9293; bounds an orphaned connection) ----


def test_fin_wait_2_no_timeout_by_default() -> None:
    conn = in_state(S)
    assert conn.get_timer() is None


def test_fin_wait_2_timeout_after_close() -> None:
    conn = in_state(S, replace(PLAIN, fin_wait_2_timeout=FW2_TIMEOUT))
    assert conn.get_timer() == FW2_TIMEOUT  # armed when our FIN was acknowledged, at 0
    conn.handle_timer(FW2_TIMEOUT - 0.001)
    assert conn.state is S
    conn.handle_timer(FW2_TIMEOUT)
    # the peer may still think the connection open: a RST tells it (3.10.5)
    assert out(conn, FW2_TIMEOUT) == [ours(RST, ISS + 2, window=0)]
    assert conn.state is State.CLOSED
    assert events(conn) == [ConnectionAborted("connection aborted")]
    assert conn.get_timer() is None


def test_fin_wait_2_timeout_not_armed_after_shutdown_write() -> None:
    # Half-closed, the user still reads: the peer may send for as long as it likes.
    conn = half_closed(S, replace(PLAIN, fin_wait_2_timeout=FW2_TIMEOUT))
    assert conn.get_timer() is None


def test_fin_wait_2_close_after_shutdown_write_arms_timeout() -> None:
    conn = half_closed(S, replace(PLAIN, fin_wait_2_timeout=FW2_TIMEOUT))
    conn.handle_timer(3.0)  # nothing due: only moves the connection's clock
    conn.close()  # now the user has fully closed: the FIN-WAIT-2 timeout applies
    assert conn.get_timer() == 3.0 + FW2_TIMEOUT
    conn.handle_timer(3.0 + FW2_TIMEOUT)
    assert conn.state is State.CLOSED


def test_fin_wait_2_timeout_cancelled_by_fin() -> None:
    conn = in_state(S, replace(PLAIN, fin_wait_2_timeout=FW2_TIMEOUT))
    assert feed(conn, peer(FIN | ACK, IRS + 1, ISS + 2), 10.0) == [ours(ACK, ISS + 2, IRS + 2)]
    assert conn.state is State.TIME_WAIT
    assert conn.get_timer() == 10.0 + TWO_MSL
