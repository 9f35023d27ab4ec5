"""LAST-ACK: the peer closed first; our FIN (ISS+1) is out, waiting for its ACK.

SND.UNA = ISS+1, SND.NXT = ISS+2, RCV.NXT = IRS+2 (RFC 9293 3.10.7.4).
"""

from __future__ import annotations

import pytest
from _closing_helpers import RTO, feed, fire
from conftest import IRS, ISS, WINDOW, events, in_state, ours, out, peer

from synack.tcp.errors import TcpError
from synack.tcp.events import ConnectionAborted, ConnectionClosed, ConnectionReset
from synack.tcp.state import State
from synack.wire.segment import ACK, FIN, PSH, RST, SYN

S = State.LAST_ACK
OUR_FIN = ours(FIN | ACK, ISS + 1, IRS + 2)
ACK_NOW = ours(ACK, ISS + 2, IRS + 2)  # <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>


# -- user calls (RFC 9293 3.10.2-3.10.6: LAST-ACK answers "connection closing") ---


def test_last_ack_user_send_connection_closing() -> None:
    conn = in_state(S)
    with pytest.raises(TcpError, match=r"^connection closing$"):
        conn.send(b"x")
    assert out(conn) == []


def test_last_ack_user_receive_connection_closing() -> None:
    conn = in_state(S)
    with pytest.raises(TcpError, match=r"^connection closing$"):
        conn.receive()


def test_last_ack_user_close_connection_closing() -> None:
    conn = in_state(S)
    with pytest.raises(TcpError, match=r"^connection closing$"):
        conn.close()
    assert out(conn) == []  # no second FIN
    assert conn.state is S


def test_last_ack_user_shutdown_write_connection_closing() -> None:
    conn = in_state(S)
    with pytest.raises(TcpError, match=r"^connection closing$"):
        conn.shutdown_write()


def test_last_ack_user_abort_no_rst() -> None:
    # RFC 9293 3.10.5, LAST-ACK: respond "ok", delete the TCB, enter CLOSED; no RST.
    conn = in_state(S)
    conn.abort()
    assert out(conn) == []
    assert conn.state is State.CLOSED
    assert events(conn) == [ConnectionAborted("connection aborted")]
    assert conn.get_timer() is None


def test_last_ack_user_status() -> None:
    conn = in_state(S)
    st = conn.status()
    assert st.state is S
    assert (st.snd_una, st.snd_nxt, st.rcv_nxt) == (ISS + 1, ISS + 2, IRS + 2)


# -- arriving ACK ----------------------------------------------------------


def test_last_ack_rcv_ack_of_fin() -> None:
    # RFC 9293 3.10.7.4 fifth, LAST-ACK: our FIN is acknowledged: delete the TCB, CLOSED.
    conn = in_state(S)
    assert feed(conn, peer(ACK, IRS + 2, ISS + 2), 0.1) == []
    assert conn.state is State.CLOSED
    assert events(conn) == [ConnectionClosed()]
    assert conn.get_timer() is None
    assert conn.time_wait_record() is None  # no TIME-WAIT for the side that closed second


def test_last_ack_rcv_duplicate_ack_ignored() -> None:
    conn = in_state(S)
    assert feed(conn, peer(ACK, IRS + 2, ISS + 1)) == []
    assert conn.state is S
    assert conn.get_timer() == RTO


def test_last_ack_rcv_ack_of_data_only_stays() -> None:
    # Half-close: data then FIN from CLOSE-WAIT; an ACK of the data alone leaves LAST-ACK.
    conn = in_state(State.CLOSE_WAIT)
    conn.send(b"tail")
    assert out(conn) == [ours(PSH | ACK, ISS + 1, IRS + 2, payload=b"tail")]
    conn.close()
    assert out(conn) == [ours(FIN | ACK, ISS + 5, IRS + 2)]
    assert conn.state is S
    assert feed(conn, peer(ACK, IRS + 2, ISS + 5), 0.1) == []
    assert conn.state is S
    assert feed(conn, peer(ACK, IRS + 2, ISS + 6), 0.2) == []
    assert conn.state is State.CLOSED
    assert events(conn) == [ConnectionClosed()]


def test_last_ack_rcv_ack_of_unsent() -> None:
    # SEG.ACK > SND.NXT: send an ACK, drop (RFC 9293 3.10.7.4 fifth).
    conn = in_state(S)
    assert feed(conn, peer(ACK, IRS + 2, ISS + 3)) == [ACK_NOW]
    assert conn.state is S


def test_last_ack_rcv_retransmitted_fin() -> None:
    # The peer's FIN again (SEG.SEQ = IRS+1 < RCV.NXT): unacceptable: ACK, stay.
    conn = in_state(S)
    assert feed(conn, peer(FIN | ACK, IRS + 1, ISS + 1)) == [ACK_NOW]
    assert conn.state is S
    assert events(conn) == []


def test_last_ack_rcv_retransmitted_fin_acking_our_fin() -> None:
    # Unacceptable by RFC 9293 3.10.7.4's sequence check (it lies wholly below RCV.NXT),
    # so it is ACKed and dropped; its ACK field is not used and we stay in LAST-ACK.
    conn = in_state(S)
    assert feed(conn, peer(FIN | ACK, IRS + 1, ISS + 2)) == [ACK_NOW]
    assert conn.state is S


def test_last_ack_rcv_data_ignored() -> None:
    # Seventh step, LAST-ACK: ignore the text; the ACK does not cover our FIN.
    conn = in_state(S)
    assert feed(conn, peer(PSH | ACK, IRS + 2, ISS + 1, payload=b"late")) == []
    assert conn.state is S
    assert events(conn) == []


def test_last_ack_rcv_old_duplicate_segment() -> None:
    conn = in_state(S)
    assert feed(conn, peer(ACK, IRS, ISS + 1)) == [ACK_NOW]
    assert conn.state is S


# -- arriving RST and SYN --------------------------------------------------


def test_last_ack_rcv_rst_exact() -> None:
    # RFC 9293 3.10.7.4 second, LAST-ACK: enter CLOSED, delete the TCB.
    conn = in_state(S)
    assert feed(conn, peer(RST, IRS + 2)) == []
    assert conn.state is State.CLOSED
    assert events(conn) == [ConnectionReset("connection reset")]
    assert conn.get_timer() is None


def test_last_ack_rcv_rst_in_window_challenge_ack() -> None:
    conn = in_state(S)
    assert feed(conn, peer(RST, IRS + 1000)) == [ACK_NOW]
    assert conn.state is S


def test_last_ack_rcv_rst_out_of_window_dropped() -> None:
    conn = in_state(S)
    assert feed(conn, peer(RST, IRS + 2 + WINDOW)) == []
    assert conn.state is S


def test_last_ack_rcv_syn_challenge_ack() -> None:
    conn = in_state(S)
    assert feed(conn, peer(SYN, IRS + 2)) == [ACK_NOW]
    assert conn.state is S


# -- timers ----------------------------------------------------------------


def test_last_ack_fin_retransmission_timeout_backs_off() -> None:
    conn = in_state(S)
    assert fire(conn) == (RTO, [OUR_FIN])
    assert conn.get_timer() == 3 * RTO
    assert fire(conn) == (3 * RTO, [OUR_FIN])
    assert conn.get_timer() == 7 * RTO
    assert fire(conn) == (7 * RTO, [OUR_FIN])
    assert conn.state is S


def test_last_ack_fin_retransmission_then_ack_of_fin() -> None:
    conn = in_state(S)
    assert fire(conn) == (RTO, [OUR_FIN])
    assert feed(conn, peer(ACK, IRS + 2, ISS + 2), 1.2) == []
    assert conn.state is State.CLOSED
    assert events(conn) == [ConnectionClosed()]
