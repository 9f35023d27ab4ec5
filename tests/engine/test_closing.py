"""CLOSING: both FINs sent (simultaneous close), ours not yet acknowledged.

SND.UNA = ISS+1, SND.NXT = ISS+2, RCV.NXT = IRS+2 (RFC 9293 3.10.7.4, figure 13).
"""

from __future__ import annotations

import pytest
from _closing_helpers import RTO, TWO_MSL, feed, fire
from conftest import IRS, ISS, WINDOW, events, in_state, ours, out, peer

from synack.tcp.errors import TcpError
from synack.tcp.events import ConnectionAborted, ConnectionClosed, ConnectionReset, EndOfStream
from synack.tcp.state import State
from synack.wire.segment import ACK, FIN, PSH, RST, SYN

S = State.CLOSING
OUR_FIN = ours(FIN | ACK, ISS + 1, IRS + 2)  # retransmitted, now acknowledging the peer's FIN
ACK_NOW = ours(ACK, ISS + 2, IRS + 2)  # <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>


# -- user calls (RFC 9293 3.10.2-3.10.6: CLOSING answers "connection closing") ---


def test_closing_user_send_connection_closing() -> None:
    conn = in_state(S)
    with pytest.raises(TcpError, match=r"^connection closing$"):
        conn.send(b"x")
    assert out(conn) == []


def test_closing_user_receive_connection_closing() -> None:
    conn = in_state(S)
    with pytest.raises(TcpError, match=r"^connection closing$"):
        conn.receive()


def test_closing_user_close_connection_closing() -> None:
    conn = in_state(S)
    with pytest.raises(TcpError, match=r"^connection closing$"):
        conn.close()
    assert out(conn) == []
    assert conn.state is S


def test_closing_user_shutdown_write_connection_closing() -> None:
    conn = in_state(S)
    with pytest.raises(TcpError, match=r"^connection closing$"):
        conn.shutdown_write()


def test_closing_user_abort_no_rst() -> None:
    # RFC 9293 3.10.5, CLOSING: respond "ok", delete the TCB, enter CLOSED; no RST.
    conn = in_state(S)
    conn.abort()
    assert out(conn) == []
    assert conn.state is State.CLOSED
    assert events(conn) == [ConnectionAborted("connection aborted")]
    assert conn.get_timer() is None


def test_closing_user_status() -> None:
    conn = in_state(S)
    st = conn.status()
    assert st.state is S
    assert (st.snd_una, st.snd_nxt, st.rcv_nxt) == (ISS + 1, ISS + 2, IRS + 2)


# -- arriving ACK ----------------------------------------------------------


def test_closing_rcv_ack_of_fin() -> None:
    # RFC 9293 3.10.7.4 fifth, CLOSING: the ACK covers our FIN: enter TIME-WAIT.
    # Nothing needs acknowledging: the peer's FIN was ACKed on entering CLOSING.
    conn = in_state(S)
    assert feed(conn, peer(ACK, IRS + 2, ISS + 2), 0.5) == []
    assert conn.state is State.TIME_WAIT
    assert events(conn) == []
    assert conn.get_timer() == 0.5 + TWO_MSL


def test_closing_rcv_duplicate_ack_ignored() -> None:
    # "... otherwise, ignore the segment."
    conn = in_state(S)
    assert feed(conn, peer(ACK, IRS + 2, ISS + 1)) == []
    assert conn.state is S
    assert conn.get_timer() == RTO


def test_closing_rcv_ack_of_unsent() -> None:
    # SEG.ACK > SND.NXT: send an ACK, drop.
    conn = in_state(S)
    assert feed(conn, peer(ACK, IRS + 2, ISS + 3)) == [ACK_NOW]
    assert conn.state is S


def test_closing_rcv_retransmitted_fin() -> None:
    # The peer did not get our ACK of its FIN: SEG.SEQ = IRS+1 < RCV.NXT, unacceptable: ACK.
    conn = in_state(S)
    assert feed(conn, peer(FIN | ACK, IRS + 1, ISS + 1)) == [ACK_NOW]
    assert conn.state is S
    assert events(conn) == []


def test_closing_rcv_retransmitted_fin_acking_our_fin() -> None:
    # Unacceptable by the sequence check of RFC 9293 3.10.7.4 (SEG.SEQ+SEG.LEN-1 = IRS+1 <
    # RCV.NXT), so it is answered with an ACK and dropped, its ACK field unused.
    conn = in_state(S)
    assert feed(conn, peer(FIN | ACK, IRS + 1, ISS + 2)) == [ACK_NOW]
    assert conn.state is S


def test_closing_rcv_data_ignored() -> None:
    # Seventh step, CLOSING: ignore the text; the ACK does not cover our FIN: ignore it all.
    conn = in_state(S)
    assert feed(conn, peer(PSH | ACK, IRS + 2, ISS + 1, payload=b"late")) == []
    assert conn.state is S
    assert events(conn) == []


def test_closing_rcv_old_duplicate_segment() -> None:
    conn = in_state(S)
    assert feed(conn, peer(ACK, IRS, ISS + 1)) == [ACK_NOW]
    assert conn.state is S


# -- arriving RST and SYN --------------------------------------------------


def test_closing_rcv_rst_exact() -> None:
    # RFC 9293 3.10.7.4 second, CLOSING: enter CLOSED, delete the TCB.
    conn = in_state(S)
    assert feed(conn, peer(RST, IRS + 2)) == []
    assert conn.state is State.CLOSED
    assert events(conn) == [ConnectionReset("connection reset")]
    assert conn.get_timer() is None


def test_closing_rcv_rst_in_window_challenge_ack() -> None:
    conn = in_state(S)
    assert feed(conn, peer(RST, IRS + 3)) == [ACK_NOW]
    assert conn.state is S


def test_closing_rcv_rst_out_of_window_dropped() -> None:
    conn = in_state(S)
    assert feed(conn, peer(RST, IRS + 2 + 2 * WINDOW)) == []
    assert conn.state is S


def test_closing_rcv_syn_challenge_ack() -> None:
    conn = in_state(S)
    assert feed(conn, peer(SYN, IRS + 100)) == [ACK_NOW]
    assert conn.state is S


# -- timers ----------------------------------------------------------------


def test_closing_fin_retransmission_timeout_backs_off() -> None:
    conn = in_state(S)
    assert fire(conn) == (RTO, [OUR_FIN])
    assert conn.get_timer() == 3 * RTO
    assert fire(conn) == (3 * RTO, [OUR_FIN])
    assert conn.get_timer() == 7 * RTO
    assert conn.state is S


# -- the whole simultaneous close (RFC 9293 figure 13) ---------------------


def test_closing_simultaneous_close_full_sequence() -> None:
    conn = in_state(State.ESTABLISHED)
    conn.close()
    assert out(conn) == [ours(FIN | ACK, ISS + 1, IRS + 1)]  # <SEQ=100><CTL=FIN,ACK>
    # The peer's FIN crosses ours: it acknowledges only our data (none).
    assert feed(conn, peer(FIN | ACK, IRS + 1, ISS + 1), 0.1) == [ours(ACK, ISS + 2, IRS + 2)]
    assert conn.state is S
    assert events(conn) == [EndOfStream()]
    # The peer's ACK of our FIN.
    assert feed(conn, peer(ACK, IRS + 2, ISS + 2), 0.2) == []
    assert conn.state is State.TIME_WAIT
    assert conn.get_timer() == 0.2 + TWO_MSL
    conn.handle_timer(0.2 + TWO_MSL)
    assert out(conn, 0.2 + TWO_MSL) == []
    assert conn.state is State.CLOSED
    assert events(conn) == [ConnectionClosed()]
