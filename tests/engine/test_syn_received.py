"""SYN-RECEIVED: user calls and arriving segments (RFC 9293 3.10.7.4, RFC 5961).

``in_state(State.SYN_RECEIVED)`` is the passive side: LISTEN took the peer's
SYN (IRS) and our SYN,ACK (ISS) is out. ``_simultaneous()`` reaches
SYN-RECEIVED from SYN-SENT instead (active open, figure 8).
"""

from __future__ import annotations

import pytest
from _opening_helpers import feed, fire
from conftest import (
    IRS,
    ISS,
    SYN_OPTS,
    WINDOW,
    events,
    in_state,
    ours,
    out,
    peer,
)

from synack.tcp.connection import Connection
from synack.tcp.errors import TcpError
from synack.tcp.events import (
    Connected,
    ConnectionAborted,
    ConnectionReset,
    DataReceived,
    EndOfStream,
)
from synack.tcp.state import State
from synack.wire.segment import ACK, FIN, PSH, RST, SYN

SYN_ACK = ours(SYN | ACK, ISS, IRS + 1, options=SYN_OPTS)


def _simultaneous() -> Connection:
    conn = in_state(State.SYN_SENT)
    assert feed(conn, peer(SYN, IRS, options=SYN_OPTS)) == [SYN_ACK]
    assert conn.state is State.SYN_RECEIVED
    return conn


# -- user calls -------------------------------------------------------------


def test_syn_received_connect():
    conn = in_state(State.SYN_RECEIVED)
    with pytest.raises(TcpError, match=r"^connection already exists$"):
        conn.connect(0.0, iss=ISS)
    assert conn.state is State.SYN_RECEIVED


def test_syn_received_listen():
    conn = in_state(State.SYN_RECEIVED)
    with pytest.raises(TcpError, match=r"^connection already exists$"):
        conn.listen(0.0)


def test_syn_received_send():
    # 3.10.2: queue the data until ESTABLISHED.
    conn = in_state(State.SYN_RECEIVED)
    assert conn.send(b"queued") == 6
    assert out(conn) == []
    reply = feed(conn, peer(ACK, IRS + 1, ISS + 1))
    assert reply == [ours(ACK | PSH, ISS + 1, IRS + 1, payload=b"queued")]
    assert conn.state is State.ESTABLISHED


def test_syn_received_receive():
    conn = in_state(State.SYN_RECEIVED)
    assert conn.receive(10) == b""


def test_syn_received_close():
    # 3.10.4: nothing to send, so form a FIN, send it, enter FIN-WAIT-1.
    conn = in_state(State.SYN_RECEIVED)
    conn.close()
    assert conn.state is State.FIN_WAIT_1
    assert out(conn) == [ours(FIN | ACK, ISS + 1, IRS + 1)]


def test_syn_received_abort():
    # 3.10.5: <SEQ=SND.NXT><CTL=RST>, then CLOSED.
    conn = in_state(State.SYN_RECEIVED)
    conn.abort()
    assert conn.state is State.CLOSED
    assert out(conn) == [ours(RST, ISS + 1, 0, window=0)]
    assert events(conn) == [ConnectionAborted("connection aborted")]
    assert conn.get_timer() is None


def test_syn_received_status():
    status = in_state(State.SYN_RECEIVED).status()
    assert status.state is State.SYN_RECEIVED
    assert (status.snd_una, status.snd_nxt, status.rcv_nxt) == (ISS, ISS + 1, IRS + 1)


# -- arriving segments ---------------------------------------------------------


def test_syn_received_rcv_ack():
    # fifth: SND.UNA < SEG.ACK =< SND.NXT: ESTABLISHED, SND.WND <- SEG.WND.
    conn = in_state(State.SYN_RECEIVED)
    assert feed(conn, peer(ACK, IRS + 1, ISS + 1, window=30000)) == []
    assert conn.state is State.ESTABLISHED
    assert events(conn) == [Connected()]
    status = conn.status()
    assert (status.snd_una, status.snd_wnd) == (ISS + 1, 30000)
    assert conn.get_timer() is None  # the SYN,ACK is acknowledged


def test_syn_received_rcv_ack_with_data():
    conn = in_state(State.SYN_RECEIVED)
    reply = feed(conn, peer(ACK | PSH, IRS + 1, ISS + 1, payload=b"GET /"))
    assert reply == [ours(ACK, ISS + 1, IRS + 6, window=WINDOW - 5)]
    assert conn.state is State.ESTABLISHED
    assert events(conn) == [Connected(), DataReceived(5)]
    assert conn.receive() == b"GET /"


def test_syn_received_rcv_ack_old():
    # SEG.ACK =< SND.UNA is unacceptable: <SEQ=SEG.ACK><CTL=RST>.
    conn = in_state(State.SYN_RECEIVED)
    assert feed(conn, peer(ACK, IRS + 1, ISS)) == [ours(RST, ISS, 0, window=0)]
    assert conn.state is State.SYN_RECEIVED
    assert events(conn) == []


def test_syn_received_rcv_ack_too_new():
    conn = in_state(State.SYN_RECEIVED)
    assert feed(conn, peer(ACK, IRS + 1, ISS + 50)) == [ours(RST, ISS + 50, 0, window=0)]
    assert conn.state is State.SYN_RECEIVED


def test_syn_received_rcv_data_without_ack():
    # fifth: the ACK bit is off: drop the segment.
    conn = in_state(State.SYN_RECEIVED)
    assert feed(conn, peer(PSH, IRS + 1, payload=b"noack")) == []
    assert conn.state is State.SYN_RECEIVED
    assert conn.receive() == b""


def test_syn_received_rcv_fin_ack():
    # ACK of our SYN, then the FIN: ESTABLISHED -> CLOSE-WAIT, the FIN acknowledged.
    conn = in_state(State.SYN_RECEIVED)
    assert feed(conn, peer(FIN | ACK, IRS + 1, ISS + 1)) == [ours(ACK, ISS + 1, IRS + 2)]
    assert conn.state is State.CLOSE_WAIT
    assert events(conn) == [Connected(), EndOfStream()]


def test_syn_received_rcv_fin_without_ack():
    conn = in_state(State.SYN_RECEIVED)
    assert feed(conn, peer(FIN, IRS + 1)) == []
    assert conn.state is State.SYN_RECEIVED


def test_syn_received_rcv_ack_out_of_window():
    # first: unacceptable sequence number: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, drop.
    conn = in_state(State.SYN_RECEIVED)
    reply = feed(conn, peer(ACK | PSH, IRS + 1 + WINDOW, ISS + 1, payload=b"far"))
    assert reply == [ours(ACK, ISS + 1, IRS + 1)]
    assert conn.state is State.SYN_RECEIVED


def test_syn_received_rcv_rst():
    # second: passive OPEN: back to LISTEN; the user need not be told.
    conn = in_state(State.SYN_RECEIVED)
    assert feed(conn, peer(RST, IRS + 1)) == []
    assert conn.state is State.LISTEN
    assert events(conn) == []
    assert conn.get_timer() is None  # the retransmission queue is flushed


def test_syn_received_rcv_rst_then_syn():
    # Back in LISTEN, the next SYN starts a fresh handshake.
    conn = in_state(State.SYN_RECEIVED)
    feed(conn, peer(RST, IRS + 1))
    reply = feed(conn, peer(SYN, IRS + 7777, options=SYN_OPTS), 2.0)
    assert reply == [ours(SYN | ACK, ISS, IRS + 7778, options=SYN_OPTS)]
    assert conn.state is State.SYN_RECEIVED


def test_syn_received_rcv_rst_active_open():
    # second: active OPEN (came from SYN-SENT): "connection refused", CLOSED.
    conn = _simultaneous()
    assert feed(conn, peer(RST, IRS + 1)) == []
    assert conn.state is State.CLOSED
    assert events(conn) == [ConnectionReset("connection refused")]
    assert conn.get_timer() is None


def test_syn_received_rcv_rst_in_window_not_exact():
    # RFC 5961 3.2: in the window but not at RCV.NXT: challenge ACK, no reset.
    conn = in_state(State.SYN_RECEIVED)
    assert feed(conn, peer(RST, IRS + 100)) == [ours(ACK, ISS + 1, IRS + 1)]
    assert conn.state is State.SYN_RECEIVED


def test_syn_received_rcv_rst_out_of_window():
    # RFC 5961 3.2: outside the window: silently drop.
    conn = in_state(State.SYN_RECEIVED)
    assert feed(conn, peer(RST, IRS + 1 + WINDOW)) == []
    assert feed(conn, peer(RST, IRS)) == []
    assert conn.state is State.SYN_RECEIVED


def test_syn_received_rcv_syn_duplicate():
    # The peer resent its SYN: our SYN,ACK was lost, so send it again.
    conn = in_state(State.SYN_RECEIVED)
    assert feed(conn, peer(SYN, IRS, options=SYN_OPTS), 0.5) == [SYN_ACK]
    assert conn.state is State.SYN_RECEIVED
    assert feed(conn, peer(ACK, IRS + 1, ISS + 1), 0.6) == []
    assert conn.state is State.ESTABLISHED


def test_syn_received_rcv_syn_in_window():
    # fourth: passive OPEN: a new SYN in the window returns the connection to LISTEN.
    conn = in_state(State.SYN_RECEIVED)
    assert feed(conn, peer(SYN, IRS + 10, options=SYN_OPTS)) == []
    assert conn.state is State.LISTEN
    assert events(conn) == []
    assert conn.get_timer() is None  # no SYN,ACK retransmission from LISTEN


def test_syn_received_rcv_syn_active_open():
    # fourth: not from a passive OPEN, so the synchronized-state rule (RFC 5961 4.2):
    # challenge ACK, state unchanged.
    conn = _simultaneous()
    assert feed(conn, peer(SYN, IRS + 10)) == [ours(ACK, ISS + 1, IRS + 1)]
    assert conn.state is State.SYN_RECEIVED
    assert events(conn) == []


def test_syn_received_rcv_syn_ack_simultaneous_open():
    # The peer's SYN,ACK (SEG.SEQ = IRS) lies below RCV.NXT, so the first check of
    # 3.10.7.4 answers <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>; the peer's own ACK
    # of our SYN,ACK then completes the handshake.
    conn = _simultaneous()
    reply = feed(conn, peer(SYN | ACK, IRS, ISS + 1, options=SYN_OPTS))
    assert reply == [ours(ACK, ISS + 1, IRS + 1)]
    assert conn.state is State.SYN_RECEIVED
    assert feed(conn, peer(ACK, IRS + 1, ISS + 1)) == []
    assert conn.state is State.ESTABLISHED
    assert events(conn) == [Connected()]


def test_syn_received_half_closed_in_syn_sent_goes_to_fin_wait_1():
    # shutdown_write() in SYN-SENT queues the CLOSE until ESTABLISHED (RFC 9293
    # 3.10.4). After a simultaneous open, the ACK of our SYN reaches ESTABLISHED,
    # and the queued CLOSE then moves it to FIN-WAIT-1: our FIN is out, so the
    # ACK of that FIN is FIN-WAIT-1's, not ESTABLISHED's.
    conn = in_state(State.SYN_SENT)
    conn.shutdown_write()
    assert conn.state is State.SYN_SENT
    assert feed(conn, peer(SYN, IRS, options=SYN_OPTS)) == [
        SYN_ACK,
        ours(FIN | ACK, ISS + 1, IRS + 1),
    ]
    assert feed(conn, peer(ACK, IRS + 1, ISS + 1)) == []
    assert conn.state is State.FIN_WAIT_1
    assert events(conn) == [Connected()]
    assert feed(conn, peer(ACK, IRS + 1, ISS + 2)) == []
    assert conn.state is State.FIN_WAIT_2


# -- timers -------------------------------------------------------------------


def test_syn_received_retransmission_timeout():
    # RFC 6298: the SYN,ACK is resent after 1 s, then 2 s later.
    conn = in_state(State.SYN_RECEIVED)
    assert fire(conn) == (1.0, [SYN_ACK])
    assert fire(conn) == (3.0, [SYN_ACK])
    assert conn.state is State.SYN_RECEIVED
    assert feed(conn, peer(ACK, IRS + 1, ISS + 1), 3.5) == []
    assert conn.state is State.ESTABLISHED
    assert conn.get_timer() is None
    # RFC 6298 5.7: no RTT sample (Karn) after a SYN timeout: RTO is 3 s.
    assert conn.status().rto == 3.0
    # RFC 9293 3.8.3: the SYN,ACK's retransmissions do not count toward R2 for data.
    conn.send(b"data")
    seg = ours(ACK | PSH, ISS + 1, IRS + 1, payload=b"data")
    assert out(conn, 400.0) == [seg]
    assert fire(conn) == (403.0, [seg])
    assert conn.state is State.ESTABLISHED
