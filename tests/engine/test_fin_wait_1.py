"""FIN-WAIT-1: our FIN (ISS+1) is out and not yet acknowledged.

SND.UNA = ISS+1, SND.NXT = ISS+2, RCV.NXT = IRS+1 (RFC 9293 3.10.4, 3.10.7.4).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from _closing_helpers import RTO, TWO_MSL, feed, fire, half_closed
from conftest import IRS, ISS, PLAIN, WINDOW, events, in_state, ours, out, peer

from synack.tcp.errors import TcpError
from synack.tcp.events import (
    ConnectionAborted,
    ConnectionReset,
    DataReceived,
    EndOfStream,
    RetransmissionWarning,
)
from synack.tcp.state import State
from synack.wire.segment import ACK, FIN, PSH, RST, SYN

S = State.FIN_WAIT_1
OUR_FIN = ours(FIN | ACK, ISS + 1, IRS + 1)
ACK_NOW = ours(ACK, ISS + 2, IRS + 1)  # <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>


# -- entering --------------------------------------------------------------


def test_fin_wait_1_entered_by_close_sends_fin() -> None:
    # RFC 9293 3.10.4, ESTABLISHED: form a FIN segment, send it, enter FIN-WAIT-1.
    conn = in_state(State.ESTABLISHED)
    conn.close()
    assert out(conn) == [OUR_FIN]
    assert conn.state is S
    assert conn.get_timer() == RTO  # the FIN is retransmitted like data (RFC 9293 3.10.4)


def test_fin_wait_1_entered_by_shutdown_write_sends_fin() -> None:
    conn = in_state(State.ESTABLISHED)
    conn.shutdown_write()
    assert out(conn) == [OUR_FIN]
    assert conn.state is S


def test_fin_wait_1_entered_with_queued_data_fin_follows_data() -> None:
    # "Queue this until all preceding SENDs have been segmentized, then form a FIN":
    # the FIN takes the sequence number after the last data octet.
    conn = in_state(State.ESTABLISHED)
    assert conn.send(b"data") == 4
    conn.close()
    assert out(conn) == [ours(FIN | PSH | ACK, ISS + 1, IRS + 1, payload=b"data")]
    assert conn.state is S
    assert feed(conn, peer(ACK, IRS + 1, ISS + 5)) == []  # the data only
    assert conn.state is S
    assert feed(conn, peer(ACK, IRS + 1, ISS + 6)) == []  # and the FIN
    assert conn.state is State.FIN_WAIT_2


def test_fin_wait_1_entered_with_zero_send_window_fin_waits_for_data() -> None:
    # RFC 9293 3.10.4: CLOSE enters FIN-WAIT-1 at once, but the FIN is formed only
    # after the queued data, which waits for the peer to open its window.
    conn = in_state(State.ESTABLISHED)
    assert feed(conn, peer(ACK, IRS + 1, ISS + 1, window=0)) == []
    conn.send(b"data")
    conn.close()
    assert conn.state is S
    assert out(conn) == []
    sent = feed(conn, peer(ACK, IRS + 1, ISS + 1), 0.5)  # window update: WINDOW
    assert sent == [ours(FIN | PSH | ACK, ISS + 1, IRS + 1, payload=b"data")]


# -- user calls ------------------------------------------------------------


def test_fin_wait_1_user_send_connection_closing() -> None:
    # RFC 9293 3.10.2: FIN-WAIT-1 ... return "error: connection closing".
    conn = in_state(S)
    with pytest.raises(TcpError, match=r"^connection closing$"):
        conn.send(b"more")
    assert out(conn) == []
    assert conn.state is S


def test_fin_wait_1_user_send_after_shutdown_write_connection_closing() -> None:
    conn = half_closed(S)
    with pytest.raises(TcpError, match=r"^connection closing$"):
        conn.send(b"more")
    assert out(conn) == []


def test_fin_wait_1_user_receive_nothing_queued_returns_empty() -> None:
    # RFC 9293 3.10.3: FIN-WAIT-1 still receives; with nothing queued the call waits.
    conn = half_closed(S)
    assert conn.receive() == b""
    assert out(conn) == []
    assert conn.state is S


def test_fin_wait_1_user_close_again_connection_closing() -> None:
    # RFC 9293 3.10.4: "Strictly speaking, this is an error and should receive a
    # 'error: connection closing' response" -- and no second FIN either way.
    conn = in_state(S)
    with pytest.raises(TcpError, match=r"^connection closing$"):
        conn.close()
    assert out(conn) == []
    assert conn.state is S


def test_fin_wait_1_user_close_after_shutdown_write_ok_no_second_fin() -> None:
    # "An 'ok' response would be acceptable, too, as long as a second FIN is not emitted."
    conn = half_closed(S)
    conn.close()
    assert out(conn) == []
    assert conn.state is S


def test_fin_wait_1_user_shutdown_write_again_connection_closing() -> None:
    conn = half_closed(S)
    with pytest.raises(TcpError, match=r"^connection closing$"):
        conn.shutdown_write()
    assert out(conn) == []


def test_fin_wait_1_user_abort_sends_rst() -> None:
    # RFC 9293 3.10.5, FIN-WAIT-1: send <SEQ=SND.NXT><CTL=RST>, enter CLOSED.
    conn = in_state(S)
    conn.abort()
    assert out(conn) == [ours(RST, ISS + 2, 0, window=0)]
    assert conn.state is State.CLOSED
    assert events(conn) == [ConnectionAborted("connection aborted")]
    assert conn.get_timer() is None


def test_fin_wait_1_user_status() -> None:
    conn = in_state(S)
    st = conn.status()
    assert st.state is S
    assert (st.snd_una, st.snd_nxt, st.rcv_nxt) == (ISS + 1, ISS + 2, IRS + 1)
    assert (st.snd_wnd, st.rcv_wnd) == (WINDOW, WINDOW)
    assert (st.send_queued, st.receive_queued) == (0, 0)


# -- arriving ACKs ---------------------------------------------------------


def test_fin_wait_1_rcv_ack_of_fin() -> None:
    # RFC 9293 3.10.7.4 fifth, FIN-WAIT-1: our FIN is acknowledged: enter FIN-WAIT-2.
    conn = in_state(S)
    assert feed(conn, peer(ACK, IRS + 1, ISS + 2)) == []
    assert conn.state is State.FIN_WAIT_2
    assert conn.get_timer() is None  # nothing outstanding, no FIN-WAIT-2 timeout configured
    assert events(conn) == []


def test_fin_wait_1_rcv_duplicate_ack() -> None:
    # SEG.ACK = SND.UNA: a duplicate, ignored; the FIN is still outstanding.
    conn = in_state(S)
    assert feed(conn, peer(ACK, IRS + 1, ISS + 1)) == []
    assert conn.state is S
    assert conn.get_timer() == RTO


def test_fin_wait_1_rcv_ack_of_unsent() -> None:
    # RFC 9293 3.10.7.4 fifth: SEG.ACK > SND.NXT: send an ACK, drop the segment.
    conn = in_state(S)
    assert feed(conn, peer(ACK, IRS + 1, ISS + 3)) == [ACK_NOW]
    assert conn.state is S
    assert conn.status().snd_una == ISS + 1


def test_fin_wait_1_rcv_ack_too_old_challenge_ack() -> None:
    # RFC 5961 5.2: SEG.ACK < SND.UNA - MAX.SND.WND: challenge ACK, drop.
    conn = in_state(S)
    old = (ISS + 1 - WINDOW - 10) & 0xFFFFFFFF
    assert feed(conn, peer(ACK, IRS + 1, old)) == [ACK_NOW]
    assert conn.state is S


def test_fin_wait_1_rcv_old_duplicate_segment() -> None:
    # RFC 9293 3.10.7.4 first: SEG.SEQ = IRS is below RCV.NXT: unacceptable, send an ACK.
    conn = in_state(S)
    assert feed(conn, peer(ACK, IRS, ISS + 2)) == [ACK_NOW]
    assert conn.state is S  # the ACK field of an unacceptable segment is not used


def test_fin_wait_1_rcv_old_duplicate_data() -> None:
    conn = half_closed(S)
    assert feed(conn, peer(ACK, IRS + 1, ISS + 1, payload=b"hello")) == [
        ours(ACK, ISS + 2, IRS + 6, window=WINDOW - 5)
    ]
    events(conn)
    # The same five octets again lie wholly below RCV.NXT.
    assert feed(conn, peer(ACK, IRS + 1, ISS + 1, payload=b"hello")) == [
        ours(ACK, ISS + 2, IRS + 6, window=WINDOW - 5)
    ]
    assert events(conn) == []
    assert conn.receive() == b"hello"


def test_fin_wait_1_rcv_no_ack_flag_dropped() -> None:
    # RFC 9293 3.10.7.4 fifth: "if the ACK bit is off, drop the segment and return".
    conn = in_state(S)
    assert feed(conn, peer(0, IRS + 1)) == []
    assert conn.state is S


# -- arriving FIN ----------------------------------------------------------


def test_fin_wait_1_rcv_fin() -> None:
    # Simultaneous close: FIN, our FIN not yet acknowledged: ACK it, enter CLOSING.
    conn = in_state(S)
    assert feed(conn, peer(FIN | ACK, IRS + 1, ISS + 1)) == [ours(ACK, ISS + 2, IRS + 2)]
    assert conn.state is State.CLOSING
    assert events(conn) == [EndOfStream()]
    assert conn.get_timer() == RTO  # our FIN is still timed


def test_fin_wait_1_rcv_fin_ack_of_fin() -> None:
    # FIN and the ACK of our FIN together: straight to TIME-WAIT, 2 MSL timer on.
    conn = in_state(S)
    assert feed(conn, peer(FIN | ACK, IRS + 1, ISS + 2)) == [ours(ACK, ISS + 2, IRS + 2)]
    assert conn.state is State.TIME_WAIT
    assert events(conn) == [EndOfStream()]
    assert conn.get_timer() == TWO_MSL  # other timers off, only TIME-WAIT's


def test_fin_wait_1_rcv_fin_out_of_order() -> None:
    # A FIN beyond RCV.NXT (a hole before it) is not processed yet; ACK what we have.
    conn = half_closed(S)
    assert feed(conn, peer(FIN | ACK, IRS + 4, ISS + 1)) == [ACK_NOW]
    assert conn.state is S
    assert events(conn) == []


def test_fin_wait_1_rcv_data_fin_ack_of_fin_after_shutdown_write() -> None:
    conn = half_closed(S)
    sent = feed(conn, peer(FIN | PSH | ACK, IRS + 1, ISS + 2, payload=b"bye"))
    # RCV.NXT moves over 3 octets and the FIN; the FIN takes no buffer, so the
    # window is the free space, WINDOW-3.
    assert sent == [ours(ACK, ISS + 2, IRS + 5, window=WINDOW - 3)]
    assert conn.state is State.TIME_WAIT
    assert events(conn) == [DataReceived(3), EndOfStream()]


# -- arriving data ---------------------------------------------------------


def test_fin_wait_1_rcv_data_after_shutdown_write() -> None:
    # RFC 9293 3.10.7.4 seventh: FIN-WAIT-1 still delivers text and acknowledges it.
    conn = half_closed(S)
    sent = feed(conn, peer(PSH | ACK, IRS + 1, ISS + 1, payload=b"hello"))
    assert sent == [ours(ACK, ISS + 2, IRS + 6, window=WINDOW - 5)]
    assert conn.state is S
    assert events(conn) == [DataReceived(5)]
    assert conn.receive() == b"hello"


def test_fin_wait_1_rcv_data_after_close_sends_rst() -> None:
    # RFC 9293 3.6 / RFC 1122 4.2.2.13: data after CLOSE is lost: send RST.
    conn = in_state(S)
    sent = feed(conn, peer(PSH | ACK, IRS + 1, ISS + 1, payload=b"hello"))
    assert sent == [ours(RST, ISS + 2, 0, window=0)]
    assert conn.state is State.CLOSED
    assert events(conn) == [ConnectionAborted("connection reset")]


def test_fin_wait_1_rcv_data_after_close_accepted_when_rst_off() -> None:
    conn = in_state(S, replace(PLAIN, rst_on_data_after_close=False))
    sent = feed(conn, peer(PSH | ACK, IRS + 1, ISS + 1, payload=b"hello"))
    assert sent == [ours(ACK, ISS + 2, IRS + 6, window=WINDOW - 5)]
    assert conn.state is S
    assert events(conn) == [DataReceived(5)]


# -- arriving RST and SYN --------------------------------------------------


def test_fin_wait_1_rcv_rst_exact() -> None:
    # RFC 5961 3.2: SEG.SEQ = RCV.NXT: reset; RFC 9293: signal "connection reset", CLOSED.
    conn = in_state(S)
    assert feed(conn, peer(RST, IRS + 1)) == []
    assert conn.state is State.CLOSED
    assert events(conn) == [ConnectionReset("connection reset")]
    assert conn.get_timer() is None


def test_fin_wait_1_rcv_rst_in_window_challenge_ack() -> None:
    # RFC 5961 3.2: in the window but not exact: challenge ACK, stay.
    conn = in_state(S)
    assert feed(conn, peer(RST, IRS + 100)) == [ACK_NOW]
    assert conn.state is S
    assert events(conn) == []


def test_fin_wait_1_rcv_rst_out_of_window_dropped() -> None:
    # RFC 9293 3.10.7.4 first: unacceptable and RST: drop without reply.
    conn = in_state(S)
    assert feed(conn, peer(RST, IRS + 1 + WINDOW + 10)) == []
    assert feed(conn, peer(RST, IRS)) == []
    assert conn.state is S


def test_fin_wait_1_rcv_syn_challenge_ack() -> None:
    # RFC 5961 4.2 / RFC 9293 3.10.7.4 fourth: SYN in a synchronized state: challenge ACK.
    conn = in_state(S)
    assert feed(conn, peer(SYN, IRS + 500)) == [ACK_NOW]
    assert conn.state is S
    assert events(conn) == []


# -- timers ----------------------------------------------------------------


def test_fin_wait_1_fin_retransmission_timeout_backs_off() -> None:
    # RFC 6298 5.4-5.6: retransmit the earliest unacknowledged segment, double RTO.
    conn = in_state(S)
    assert fire(conn) == (RTO, [OUR_FIN])
    assert conn.get_timer() == RTO + 2 * RTO
    assert fire(conn) == (3 * RTO, [OUR_FIN])
    assert conn.get_timer() == 3 * RTO + 4 * RTO
    assert conn.state is S


def test_fin_wait_1_fin_retransmission_then_ack_of_fin() -> None:
    conn = in_state(S)
    assert fire(conn) == (RTO, [OUR_FIN])
    assert feed(conn, peer(ACK, IRS + 1, ISS + 2), 1.5) == []
    assert conn.state is State.FIN_WAIT_2
    assert conn.get_timer() is None


def test_fin_wait_1_fin_retransmission_warns_at_r1() -> None:
    # RFC 9293 3.8.3: at R1 retransmissions, advise (here: tell the user).
    conn = in_state(S)
    for _ in range(PLAIN.r1 - 1):
        fire(conn)
    assert events(conn) == []
    _, sent = fire(conn)
    assert sent == [OUR_FIN]
    assert events(conn) == [RetransmissionWarning(PLAIN.r1)]


def test_fin_wait_1_fin_retransmission_gives_up_after_r2() -> None:
    # RFC 9293 3.8.3 / RFC 1122 4.2.3.5: the FIN is resent ``retries`` times
    # (past R2's minimum time), then the connection closes with a RST.
    conn = in_state(S)
    history = []
    while conn.state is S:
        history.append(fire(conn))
    assert [sent for _, sent in history[:-1]] == [[OUR_FIN]] * PLAIN.retries
    assert history[-1][1] == [ours(RST, ISS + 2, window=0)]
    assert history[-1][0] - history[0][0] >= PLAIN.r2
    assert conn.state is State.CLOSED
    assert events(conn)[-1] == ConnectionAborted(
        "connection aborted: retransmissions were not acknowledged (R2)"
    )
    assert conn.get_timer() is None
