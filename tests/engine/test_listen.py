"""LISTEN: user calls (RFC 9293 3.10.1-3.10.6) and arriving segments (3.10.7.2)."""

from __future__ import annotations

import pytest
from _opening_helpers import (
    FULL,
    FULL_WSCALE,
    PEER_TSVAL,
    feed,
    peer_syn_options,
    ts_val,
)
from conftest import (
    IRS,
    ISS,
    LOCAL,
    MSS,
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
from synack.tcp.events import ConnectionAborted
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

# -- user calls -------------------------------------------------------------


def test_listen_connect():
    conn = in_state(State.LISTEN)
    conn.connect(0.0, iss=ISS)
    assert conn.state is State.SYN_SENT
    assert out(conn) == [ours(SYN, ISS, options=SYN_OPTS)]


def test_listen_connect_foreign_socket_unspecified():
    conn = Connection(LOCAL, None)
    conn.listen(0.0, iss=ISS)
    with pytest.raises(TcpError, match=r"^foreign socket unspecified$"):
        conn.connect(0.0, iss=ISS)
    assert conn.state is State.LISTEN


def test_listen_listen():
    conn = in_state(State.LISTEN)
    with pytest.raises(TcpError, match=r"^connection already exists$"):
        conn.listen(0.0)
    assert conn.state is State.LISTEN


def test_listen_send_foreign_socket_unspecified():
    # 3.10.2: SEND in LISTEN without a foreign socket.
    conn = Connection(LOCAL, None)
    conn.listen(0.0, iss=ISS)
    with pytest.raises(TcpError, match=r"^foreign socket unspecified$"):
        conn.send(b"hello")
    assert conn.state is State.LISTEN
    assert out(conn) == []


def test_listen_send():
    conn = in_state(State.LISTEN)
    conn.send(b"hello")
    assert conn.state is State.SYN_SENT
    assert out(conn) == [ours(SYN, ISS, options=SYN_OPTS)]


def test_listen_receive():
    # 3.10.3: queue the request until ESTABLISHED; nothing to return yet.
    conn = in_state(State.LISTEN)
    assert conn.receive(100) == b""
    assert conn.state is State.LISTEN


def test_listen_close():
    # 3.10.4: delete the TCB, enter CLOSED; nothing is sent.
    conn = in_state(State.LISTEN)
    conn.close()
    assert conn.state is State.CLOSED
    assert out(conn) == []
    assert events(conn) == []


def test_listen_abort():
    # 3.10.5: no peer knows of us, so no RST.
    conn = in_state(State.LISTEN)
    conn.abort()
    assert conn.state is State.CLOSED
    assert out(conn) == []
    assert events(conn) == [ConnectionAborted("connection aborted")]


def test_listen_status():
    conn = in_state(State.LISTEN)
    status = conn.status()
    assert status.state is State.LISTEN
    assert status.send_queued == 0
    assert status.receive_queued == 0


# -- arriving segments (3.10.7.2) ---------------------------------------------


def test_listen_rcv_rst():
    # first: an incoming RST is ignored.
    conn = in_state(State.LISTEN)
    assert feed(conn, peer(RST, IRS)) == []
    assert conn.state is State.LISTEN


def test_listen_rcv_rst_ack():
    conn = in_state(State.LISTEN)
    assert feed(conn, peer(RST | ACK, IRS, ISS + 1)) == []
    assert conn.state is State.LISTEN


def test_listen_rcv_ack():
    # second: any ACK is bad: <SEQ=SEG.ACK><CTL=RST>.
    conn = in_state(State.LISTEN)
    assert feed(conn, peer(ACK, IRS + 1, 424242)) == [ours(RST, 424242, 0, window=0)]
    assert conn.state is State.LISTEN


def test_listen_rcv_syn_ack():
    conn = in_state(State.LISTEN)
    reply = feed(conn, peer(SYN | ACK, IRS, 99, options=SYN_OPTS))
    assert reply == [ours(RST, 99, 0, window=0)]
    assert conn.state is State.LISTEN


def test_listen_rcv_syn():
    # third: <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>, enter SYN-RECEIVED.
    conn = in_state(State.LISTEN)
    assert feed(conn, peer(SYN, IRS, options=SYN_OPTS)) == [
        ours(SYN | ACK, ISS, IRS + 1, options=SYN_OPTS)
    ]
    assert conn.state is State.SYN_RECEIVED
    status = conn.status()
    assert (status.snd_una, status.snd_nxt, status.rcv_nxt) == (ISS, ISS + 1, IRS + 1)
    assert events(conn) == []


def test_listen_rcv_syn_small_mss():
    # 3.7.1: we send no more than the peer's MSS; our own MSS option is unchanged.
    conn = in_state(State.LISTEN)
    reply = feed(conn, peer(SYN, IRS, options=(MaxSegmentSize(536),)))
    assert reply == [ours(SYN | ACK, ISS, IRS + 1, options=SYN_OPTS)]
    assert conn.status().mss == 536


def test_listen_rcv_syn_with_options():
    # RFC 7323 / RFC 2018: answer each option the peer offered, the window unscaled.
    conn = Connection(LOCAL, in_state(State.LISTEN).remote, FULL)
    conn.listen(0.0, iss=ISS)
    reply = feed(conn, peer(SYN, IRS, options=peer_syn_options()), 0.25)
    assert reply == [
        ours(
            SYN | ACK,
            ISS,
            IRS + 1,
            window=WINDOW,
            options=(
                MaxSegmentSize(MSS),
                SACK_PERMITTED,
                Timestamps(ts_val(0.25), PEER_TSVAL),
                NOP,
                WindowScale(FULL_WSCALE),
            ),
        )
    ]
    status = conn.status()
    assert (status.window_scaling, status.timestamps, status.sack) == (True, True, True)


def test_listen_rcv_syn_without_options():
    # A SYN,ACK offers only what the peer's SYN offered (RFC 7323 1.3, 2.2; RFC 2018 2).
    conn = Connection(LOCAL, in_state(State.LISTEN).remote, FULL)
    conn.listen(0.0, iss=ISS)
    reply = feed(conn, peer(SYN, IRS))
    assert reply == [ours(SYN | ACK, ISS, IRS + 1, options=(MaxSegmentSize(MSS),))]
    status = conn.status()
    assert (status.window_scaling, status.timestamps, status.sack) == (False, False, False)
    assert status.mss == 536  # no MSS option: the IPv4 default (3.7.1)


def test_listen_rcv_syn_with_data():
    # The text may be queued or dropped; this engine drops it, so the SYN,ACK
    # acknowledges only the SYN and the peer retransmits the data.
    conn = in_state(State.LISTEN)
    reply = feed(conn, peer(SYN | PSH, IRS, options=SYN_OPTS, payload=b"early"))
    assert reply == [ours(SYN | ACK, ISS, IRS + 1, options=SYN_OPTS)]
    assert conn.state is State.SYN_RECEIVED


def test_listen_rcv_fin():
    # fourth: anything else (no SYN, no ACK, no RST) is dropped without reply.
    conn = in_state(State.LISTEN)
    assert feed(conn, peer(FIN, IRS + 1)) == []
    assert conn.state is State.LISTEN


def test_listen_rcv_data_without_ack():
    conn = in_state(State.LISTEN)
    assert feed(conn, peer(PSH, IRS + 1, payload=b"stray")) == []
    assert conn.state is State.LISTEN
    assert conn.get_timer() is None


def test_listen_rcv_syn_rst():
    # The RST check comes first: a SYN with RST is ignored.
    conn = in_state(State.LISTEN)
    assert feed(conn, peer(SYN | RST, IRS)) == []
    assert conn.state is State.LISTEN
