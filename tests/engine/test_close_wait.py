"""CLOSE-WAIT: the peer's FIN (IRS+1) has arrived; we may still send.

SND.UNA = SND.NXT = ISS+1, RCV.NXT = IRS+2 (RFC 9293 3.10.7.4).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from _closing_helpers import RTO, feed, fire
from conftest import IRS, ISS, PLAIN, WINDOW, events, in_state, ours, out, peer

from synack.tcp.errors import TcpError
from synack.tcp.events import ConnectionAborted, ConnectionReset, DataReceived, EndOfStream
from synack.tcp.state import State
from synack.wire.segment import ACK, FIN, PSH, RST, SYN

S = State.CLOSE_WAIT
ACK_NOW = ours(ACK, ISS + 1, IRS + 2)  # <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>


def test_close_wait_entered_by_rcv_fin() -> None:
    # RFC 9293 3.10.7.4 eighth, ESTABLISHED: ACK the FIN, signal the user, enter CLOSE-WAIT.
    conn = in_state(State.ESTABLISHED)
    assert feed(conn, peer(FIN | ACK, IRS + 1, ISS + 1)) == [ACK_NOW]
    assert conn.state is S
    assert events(conn) == [EndOfStream()]
    assert conn.get_timer() is None


# -- user calls ------------------------------------------------------------


def test_close_wait_user_send_data() -> None:
    # RFC 9293 3.10.2, CLOSE-WAIT: segmentize and send as in ESTABLISHED (half-close).
    conn = in_state(S)
    assert conn.send(b"data") == 4
    assert out(conn) == [ours(PSH | ACK, ISS + 1, IRS + 2, payload=b"data")]
    assert conn.state is S
    assert conn.get_timer() == RTO


def test_close_wait_rcv_ack_of_data() -> None:
    conn = in_state(S)
    conn.send(b"data")
    out(conn)
    assert feed(conn, peer(ACK, IRS + 2, ISS + 5), 0.1) == []
    assert conn.state is S
    assert conn.send_queued == 0
    assert conn.get_timer() is None


def test_close_wait_data_retransmission_timeout() -> None:
    conn = in_state(S)
    conn.send(b"data")
    out(conn)
    assert fire(conn) == (RTO, [ours(PSH | ACK, ISS + 1, IRS + 2, payload=b"data")])
    assert conn.get_timer() == 3 * RTO
    assert conn.state is S


def test_close_wait_user_receive_nothing_queued_connection_closing() -> None:
    # RFC 9293 3.10.3, CLOSE-WAIT: no text awaiting delivery: "error: connection closing".
    conn = in_state(S)
    with pytest.raises(TcpError, match=r"^connection closing$"):
        conn.receive()


def test_close_wait_user_receive_remaining_data_then_connection_closing() -> None:
    # "Otherwise, any remaining data can be used to satisfy the RECEIVE."
    conn = in_state(State.ESTABLISHED)
    sent = feed(conn, peer(FIN | PSH | ACK, IRS + 1, ISS + 1, payload=b"hello"))
    # The FIN takes a sequence number but no buffer; with most of the buffer
    # free, the window is the whole free space (receiver SWS avoidance holds
    # the right edge only when the buffer fills, RFC 9293 3.8.6.2.2).
    assert sent == [ours(ACK, ISS + 1, IRS + 7, window=WINDOW - 5)]
    assert conn.state is S
    assert events(conn) == [DataReceived(5), EndOfStream()]
    assert conn.receive(3) == b"hel"
    assert conn.receive() == b"lo"
    with pytest.raises(TcpError, match=r"^connection closing$"):
        conn.receive()


def test_close_wait_user_close_sends_fin() -> None:
    # RFC 9293 3.10.4, CLOSE-WAIT: send a FIN, enter LAST-ACK.
    conn = in_state(S)
    conn.close()
    assert out(conn) == [ours(FIN | ACK, ISS + 1, IRS + 2)]
    assert conn.state is State.LAST_ACK
    assert conn.get_timer() == RTO


def test_close_wait_user_shutdown_write_sends_fin() -> None:
    conn = in_state(S)
    conn.shutdown_write()
    assert out(conn) == [ours(FIN | ACK, ISS + 1, IRS + 2)]
    assert conn.state is State.LAST_ACK


def test_close_wait_user_send_then_close_fin_after_data() -> None:
    # Data already sent: the FIN takes the next sequence number, ISS+5.
    conn = in_state(S)
    conn.send(b"data")
    assert out(conn) == [ours(PSH | ACK, ISS + 1, IRS + 2, payload=b"data")]
    conn.close()
    assert out(conn) == [ours(FIN | ACK, ISS + 5, IRS + 2)]
    assert conn.state is State.LAST_ACK


def test_close_wait_user_send_and_close_before_output_fin_on_data() -> None:
    # CLOSE is queued behind the SEND: the FIN may ride on the last data segment.
    conn = in_state(S)
    conn.send(b"data")
    conn.close()
    assert out(conn) == [ours(FIN | PSH | ACK, ISS + 1, IRS + 2, payload=b"data")]
    assert conn.state is State.LAST_ACK
    assert feed(conn, peer(ACK, IRS + 2, ISS + 5)) == []  # data acknowledged, FIN not
    assert conn.state is State.LAST_ACK
    assert feed(conn, peer(ACK, IRS + 2, ISS + 6)) == []
    assert conn.state is State.CLOSED


def test_close_wait_user_close_with_unread_data_sends_rst() -> None:
    # RFC 9293 3.6 / RFC 1122 4.2.2.13: CLOSE with received data still pending: RST.
    conn = in_state(State.ESTABLISHED)
    feed(conn, peer(FIN | PSH | ACK, IRS + 1, ISS + 1, payload=b"hello"))
    events(conn)
    assert conn.state is S
    conn.close()
    assert out(conn) == [ours(RST, ISS + 1, 0, window=0)]
    assert conn.state is State.CLOSED
    assert events(conn) == [ConnectionAborted("connection aborted")]


def test_close_wait_user_close_with_unread_data_fin_when_rst_off() -> None:
    conn = in_state(State.ESTABLISHED, replace(PLAIN, rst_on_data_after_close=False))
    feed(conn, peer(FIN | PSH | ACK, IRS + 1, ISS + 1, payload=b"hello"))
    conn.close()
    assert out(conn) == [ours(FIN | ACK, ISS + 1, IRS + 7, window=WINDOW - 5)]
    assert conn.state is State.LAST_ACK


def test_close_wait_user_abort_sends_rst() -> None:
    # RFC 9293 3.10.5, CLOSE-WAIT: send <SEQ=SND.NXT><CTL=RST>, enter CLOSED.
    conn = in_state(S)
    conn.abort()
    assert out(conn) == [ours(RST, ISS + 1, 0, window=0)]
    assert conn.state is State.CLOSED
    assert events(conn) == [ConnectionAborted("connection aborted")]


def test_close_wait_user_abort_with_unsent_data_flushes_it() -> None:
    # "All segments queued for transmission (except for the RST formed above) ... flushed."
    conn = in_state(S)
    conn.send(b"data")
    conn.abort()
    assert out(conn) == [ours(RST, ISS + 1, 0, window=0)]
    assert conn.state is State.CLOSED


def test_close_wait_user_status() -> None:
    conn = in_state(S)
    st = conn.status()
    assert st.state is S
    assert (st.snd_una, st.snd_nxt, st.rcv_nxt) == (ISS + 1, ISS + 1, IRS + 2)


# -- arriving segments -----------------------------------------------------


def test_close_wait_rcv_retransmitted_fin() -> None:
    # Our ACK of the FIN was lost: the FIN (SEG.SEQ = IRS+1 < RCV.NXT) is unacceptable: ACK it.
    conn = in_state(S)
    assert feed(conn, peer(FIN | ACK, IRS + 1, ISS + 1)) == [ACK_NOW]
    assert conn.state is S
    assert events(conn) == []  # no second end-of-stream


def test_close_wait_rcv_data_ignored() -> None:
    # RFC 9293 3.10.7.4 seventh, CLOSE-WAIT: "This should not occur ... Ignore the segment text."
    conn = in_state(S)
    assert feed(conn, peer(PSH | ACK, IRS + 2, ISS + 1, payload=b"late")) == []
    assert conn.state is S
    assert events(conn) == []
    assert conn.receive_queued == 0


def test_close_wait_rcv_old_duplicate_data() -> None:
    # Data from before the FIN, all below RCV.NXT: unacceptable, ACK.
    conn = in_state(S)
    assert feed(conn, peer(ACK, IRS + 1, ISS + 1, payload=b"x")) == [ACK_NOW]
    assert events(conn) == []


def test_close_wait_rcv_ack_of_unsent() -> None:
    conn = in_state(S)
    assert feed(conn, peer(ACK, IRS + 2, ISS + 2)) == [ACK_NOW]
    assert conn.state is S


def test_close_wait_rcv_rst_exact() -> None:
    conn = in_state(S)
    assert feed(conn, peer(RST, IRS + 2)) == []
    assert conn.state is State.CLOSED
    assert events(conn) == [ConnectionReset("connection reset")]


def test_close_wait_rcv_rst_in_window_challenge_ack() -> None:
    # RFC 5961 3.2: IRS+1 was the FIN, so a RST there is no longer exact.
    conn = in_state(S)
    assert feed(conn, peer(RST, IRS + 3)) == [ACK_NOW]
    assert conn.state is S


def test_close_wait_rcv_rst_at_old_rcv_nxt_dropped() -> None:
    # SEG.SEQ = IRS+1 is below RCV.NXT: outside the window, and a RST is never answered.
    conn = in_state(S)
    assert feed(conn, peer(RST, IRS + 1)) == []
    assert conn.state is S


def test_close_wait_rcv_syn_challenge_ack() -> None:
    conn = in_state(S)
    assert feed(conn, peer(SYN, IRS + 2)) == [ACK_NOW]
    assert conn.state is S
