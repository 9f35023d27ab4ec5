"""SYN-SENT: user calls, arriving segments (RFC 9293 3.10.7.3) and SYN retransmission."""

from __future__ import annotations

from dataclasses import replace

import pytest
from _opening_helpers import (
    FULL,
    FULL_WSCALE,
    PEER_TSVAL,
    PEER_WSCALE,
    feed,
    fire,
    peer_syn_options,
    ts_val,
)
from conftest import (
    IRS,
    ISS,
    LOCAL,
    MSS,
    PLAIN,
    REMOTE,
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
from synack.tcp.events import Connected, ConnectionAborted, ConnectionReset, DataReceived
from synack.tcp.state import State
from synack.wire.segment import (
    ACK,
    FIN,
    NOP,
    PSH,
    RST,
    SACK_PERMITTED,
    SYN,
    MaxSegmentSize,
    Timestamps,
    WindowScale,
)

SYN_ACK = peer(SYN | ACK, IRS, ISS + 1, options=SYN_OPTS)

# -- user calls -------------------------------------------------------------


def test_syn_sent_connect():
    conn = in_state(State.SYN_SENT)
    with pytest.raises(TcpError, match=r"^connection already exists$"):
        conn.connect(0.0, iss=ISS)
    assert conn.state is State.SYN_SENT
    assert out(conn) == []


def test_syn_sent_listen():
    conn = in_state(State.SYN_SENT)
    with pytest.raises(TcpError, match=r"^connection already exists$"):
        conn.listen(0.0)


def test_syn_sent_send():
    # 3.10.2: queue the data until ESTABLISHED; it goes out after the handshake's ACK.
    conn = in_state(State.SYN_SENT)
    assert conn.send(b"hello") == 5
    assert out(conn) == []
    assert feed(conn, SYN_ACK) == [ours(ACK | PSH, ISS + 1, IRS + 1, payload=b"hello")]
    assert conn.state is State.ESTABLISHED


def test_syn_sent_receive():
    conn = in_state(State.SYN_SENT)
    assert conn.receive(100) == b""


def test_syn_sent_close():
    # 3.10.4: delete the TCB; nothing is sent (the peer holds no state for us yet).
    conn = in_state(State.SYN_SENT)
    conn.close()
    assert conn.state is State.CLOSED
    assert out(conn) == []
    assert conn.get_timer() is None
    conn.handle_timer(1000.0)  # nothing left to fire
    assert out(conn, 1000.0) == []
    assert events(conn) == []


def test_syn_sent_shutdown_write():
    # A half-close made before the handshake: the FIN waits for ESTABLISHED.
    conn = in_state(State.SYN_SENT)
    conn.shutdown_write()
    assert conn.state is State.SYN_SENT
    assert out(conn) == []
    assert feed(conn, SYN_ACK) == [ours(FIN | ACK, ISS + 1, IRS + 1)]
    assert conn.state is State.FIN_WAIT_1
    assert events(conn) == [Connected()]


def test_syn_sent_abort():
    # 3.10.5: delete the TCB, no RST.
    conn = in_state(State.SYN_SENT)
    conn.abort()
    assert conn.state is State.CLOSED
    assert out(conn) == []
    assert events(conn) == [ConnectionAborted("connection aborted")]


def test_syn_sent_status():
    status = in_state(State.SYN_SENT).status()
    assert status.state is State.SYN_SENT
    assert (status.snd_una, status.snd_nxt) == (ISS, ISS + 1)


# -- arriving segments (3.10.7.3) ---------------------------------------------


def test_syn_sent_rcv_syn_ack():
    # fourth: SND.UNA > ISS, so ESTABLISHED and <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.
    conn = in_state(State.SYN_SENT)
    assert feed(conn, SYN_ACK) == [ours(ACK, ISS + 1, IRS + 1)]
    assert conn.state is State.ESTABLISHED
    assert events(conn) == [Connected()]
    status = conn.status()
    assert (status.snd_una, status.snd_nxt, status.rcv_nxt) == (ISS + 1, ISS + 1, IRS + 1)
    assert status.snd_wnd == WINDOW
    assert conn.get_timer() is None  # nothing outstanding


def test_syn_sent_rcv_syn_ack_with_data():
    # Text on the SYN,ACK is processed from the sixth step on.
    conn = in_state(State.SYN_SENT)
    reply = feed(conn, peer(SYN | ACK | PSH, IRS, ISS + 1, options=SYN_OPTS, payload=b"hi"))
    assert reply == [ours(ACK, ISS + 1, IRS + 3, window=WINDOW - 2)]
    assert conn.state is State.ESTABLISHED
    assert events(conn) == [Connected(), DataReceived(2)]
    assert conn.receive() == b"hi"


def test_syn_sent_rcv_syn_ack_small_window():
    # The window in a SYN is never scaled (RFC 7323 2.2).
    conn = Connection(LOCAL, REMOTE, FULL)
    conn.connect(0.0, iss=ISS)
    out(conn)
    feed(conn, peer(SYN | ACK, IRS, ISS + 1, window=1000, options=peer_syn_options()))
    assert conn.status().snd_wnd == 1000


def test_syn_sent_rcv_syn_ack_bad_ack_low():
    # first: SEG.ACK =< ISS: <SEQ=SEG.ACK><CTL=RST>, drop, stay in SYN-SENT.
    conn = in_state(State.SYN_SENT)
    reply = feed(conn, peer(SYN | ACK, IRS, ISS, options=SYN_OPTS))
    assert reply == [ours(RST, ISS, 0, window=0)]
    assert conn.state is State.SYN_SENT
    assert events(conn) == []


def test_syn_sent_rcv_ack_too_new():
    # first: SEG.ACK > SND.NXT: <SEQ=SEG.ACK><CTL=RST>.
    conn = in_state(State.SYN_SENT)
    assert feed(conn, peer(ACK, IRS + 1, ISS + 2)) == [ours(RST, ISS + 2, 0, window=0)]
    assert conn.state is State.SYN_SENT


def test_syn_sent_rcv_ack_old():
    conn = in_state(State.SYN_SENT)
    assert feed(conn, peer(ACK, IRS + 1, ISS - 100)) == [ours(RST, ISS - 100, 0, window=0)]
    assert conn.state is State.SYN_SENT


def test_syn_sent_rcv_ack_acceptable_without_syn():
    # fifth: neither SYN nor RST: drop the segment.
    conn = in_state(State.SYN_SENT)
    assert feed(conn, peer(ACK, IRS + 1, ISS + 1)) == []
    assert conn.state is State.SYN_SENT


def test_syn_sent_rcv_rst_ack():
    # second: RST with an acceptable ACK: "connection reset", CLOSED, no reply.
    conn = in_state(State.SYN_SENT)
    assert feed(conn, peer(RST | ACK, 0, ISS + 1)) == []
    assert conn.state is State.CLOSED
    assert events(conn) == [ConnectionReset("connection reset")]
    assert conn.get_timer() is None


def test_syn_sent_rcv_rst_without_ack():
    # second: a RST without ACK is dropped (RFC 5961 3.2 keeps this rule).
    conn = in_state(State.SYN_SENT)
    assert feed(conn, peer(RST, IRS)) == []
    assert conn.state is State.SYN_SENT
    assert events(conn) == []


def test_syn_sent_rcv_rst_bad_ack():
    # first: a bad ACK on a RST: drop, and never answer a RST.
    conn = in_state(State.SYN_SENT)
    assert feed(conn, peer(RST | ACK, 0, ISS + 5)) == []
    assert conn.state is State.SYN_SENT


def test_syn_sent_rcv_syn():
    # Simultaneous open (figure 8): SYN-RECEIVED, <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>.
    conn = in_state(State.SYN_SENT)
    assert feed(conn, peer(SYN, IRS, options=SYN_OPTS)) == [
        ours(SYN | ACK, ISS, IRS + 1, options=SYN_OPTS)
    ]
    assert conn.state is State.SYN_RECEIVED
    assert events(conn) == []
    # Its final ACK completes the handshake as the active side: no return to LISTEN.
    assert feed(conn, peer(ACK, IRS + 1, ISS + 1)) == []
    assert conn.state is State.ESTABLISHED
    assert events(conn) == [Connected()]


def test_syn_sent_rcv_fin():
    # fifth: no SYN, no RST, no ACK: drop.
    conn = in_state(State.SYN_SENT)
    assert feed(conn, peer(FIN, IRS + 1)) == []
    assert conn.state is State.SYN_SENT


def test_syn_sent_rcv_data_without_ack():
    conn = in_state(State.SYN_SENT)
    assert feed(conn, peer(PSH, IRS + 1, payload=b"x")) == []
    assert conn.state is State.SYN_SENT


# -- options (RFC 7323, RFC 2018) -----------------------------------------------


def test_syn_sent_connect_with_options():
    # Our SYN offers MSS, SACK-permitted, timestamps (TSecr 0) and window scale.
    conn = Connection(LOCAL, REMOTE, FULL)
    conn.connect(0.5, iss=ISS)
    assert out(conn, 0.5) == [
        ours(
            SYN,
            ISS,
            0,
            window=WINDOW,
            options=(
                MaxSegmentSize(MSS),
                SACK_PERMITTED,
                Timestamps(ts_val(0.5), 0),
                NOP,
                WindowScale(FULL_WSCALE),
            ),
        )
    ]


def test_syn_sent_rcv_syn_ack_with_options():
    # Negotiated: the ACK carries NOP,NOP,TS echoing the peer's TSval; our window
    # is scaled from now on (262144 >> 3); the peer's window will be << 7.
    conn = Connection(LOCAL, REMOTE, FULL)
    conn.connect(0.0, iss=ISS)
    out(conn)
    reply = feed(conn, peer(SYN | ACK, IRS, ISS + 1, options=peer_syn_options()), 0.1)
    assert reply == [
        ours(
            ACK,
            ISS + 1,
            IRS + 1,
            window=(256 * 1024) >> FULL_WSCALE,
            options=(NOP, NOP, Timestamps(ts_val(0.1), PEER_TSVAL)),
        )
    ]
    status = conn.status()
    assert (status.window_scaling, status.timestamps, status.sack) == (True, True, True)
    assert status.mss == MSS
    # A window update: the 16-bit field is shifted by the peer's scale.
    feed(conn, peer(ACK, IRS + 1, ISS + 1, window=100, options=(NOP, NOP, Timestamps(7001, 0))))
    assert conn.status().snd_wnd == 100 << PEER_WSCALE


def test_syn_sent_rcv_syn_ack_without_options():
    # The peer offered nothing: no scaling, no timestamps, no SACK, the default MSS.
    conn = Connection(LOCAL, REMOTE, FULL)
    conn.connect(0.0, iss=ISS)
    out(conn)
    reply = feed(conn, peer(SYN | ACK, IRS, ISS + 1))
    assert reply == [ours(ACK, ISS + 1, IRS + 1, window=WINDOW)]
    status = conn.status()
    assert (status.window_scaling, status.timestamps, status.sack) == (False, False, False)
    assert status.mss == 536


# -- timers -------------------------------------------------------------------


def test_syn_sent_retransmission_timeout():
    # RFC 6298 2.1 and 5.5: the SYN is resent after 1 s, then after 2, 4, 8 s.
    conn = in_state(State.SYN_SENT)
    syn = ours(SYN, ISS, options=SYN_OPTS)
    seen = [fire(conn) for _ in range(4)]
    assert seen == [(1.0, [syn]), (3.0, [syn]), (7.0, [syn]), (15.0, [syn])]
    assert conn.get_timer() == 31.0
    assert conn.state is State.SYN_SENT
    assert conn.stats.retransmitted_segments == 4
    assert conn.stats.timeouts == 4


def test_syn_sent_rcv_syn_ack_after_retransmission():
    # Karn: no RTT sample from a retransmitted SYN; the handshake still completes.
    conn = in_state(State.SYN_SENT)
    fire(conn)
    assert feed(conn, SYN_ACK, 1.5) == [ours(ACK, ISS + 1, IRS + 1)]
    assert conn.state is State.ESTABLISHED
    assert events(conn) == [Connected()]
    status = conn.status()
    assert status.srtt is None
    # RFC 6298 5.7: the SYN timed out, so RTO is re-initialized to 3 s.
    assert status.rto == 3.0
    # RFC 9293 3.8.3: R2 counts retransmissions of this data, not of the SYN:
    # the first data timeout, long after the handshake, resends rather than aborts.
    conn.send(b"data")
    seg = ours(ACK | PSH, ISS + 1, IRS + 1, payload=b"data")
    assert out(conn, 500.0) == [seg]
    assert fire(conn) == (503.0, [seg])
    assert conn.state is State.ESTABLISHED
    assert events(conn) == []


def test_syn_sent_syn_retransmission_limit():
    # RFC 9293 3.8.3: R2 for a SYN covers at least 3 minutes, then the connection is closed.
    conn = in_state(State.SYN_SENT, replace(PLAIN, syn_r2=180.0, user_timeout=None))
    times = []
    while conn.state is State.SYN_SENT:
        when, sent = fire(conn)
        times.append(when)
        assert sent in ([ours(SYN, ISS, options=SYN_OPTS)], [])
    assert conn.state is State.CLOSED
    assert times[-1] - times[0] >= 180.0
    evs = events(conn)
    assert evs[-1] == ConnectionAborted(
        "connection aborted: retransmissions were not acknowledged (R2)"
    )
    assert out(conn) == []  # no RST: the peer never answered
    assert conn.get_timer() is None
