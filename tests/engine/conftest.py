"""Shared fixtures for the per-state engine tests.

The connection under test ("us") is at LOCAL with ISS; the scripted peer is
at REMOTE with IRS. ``PLAIN`` turns off options and delayed ACKs so that the
expected segments are short to write; tests of options use their own config.
"""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from synack.tcp.config import TcpConfig
from synack.tcp.connection import Connection
from synack.tcp.events import Event
from synack.tcp.state import State
from synack.wire.segment import ACK, FIN, SACK_PERMITTED, SYN, MaxSegmentSize, Option, Segment

LOCAL = (ip_address("10.0.0.1"), 40000)
REMOTE = (ip_address("10.0.0.2"), 80)
LPORT = LOCAL[1]
RPORT = REMOTE[1]
ISS = 1000
IRS = 5000
WINDOW = 65535
MSS = 1460

PLAIN = TcpConfig(
    window_scaling=False,
    timestamps=False,
    sack=False,
    delayed_ack=False,
    recv_buffer=WINDOW,
    mss=MSS,
)


def ours(
    flags: int,
    seq: int,
    ack: int = 0,
    window: int = WINDOW,
    payload: bytes = b"",
    options: tuple[Option, ...] = (),
) -> Segment:
    """A segment we expect the connection under test to send."""
    return Segment(LPORT, RPORT, seq, ack, flags, window, 0, options, payload)


def peer(
    flags: int,
    seq: int,
    ack: int = 0,
    window: int = WINDOW,
    payload: bytes = b"",
    options: tuple[Option, ...] = (),
) -> Segment:
    """A segment from the scripted peer to the connection under test."""
    return Segment(RPORT, LPORT, seq, ack, flags, window, 0, options, payload)


def out(conn: Connection, now: float = 0.0) -> list[Segment]:
    return conn.segments_to_send(now)


def events(conn: Connection) -> list[Event]:
    found = []
    while (ev := conn.next_event()) is not None:
        found.append(ev)
    return found


SYN_OPTS = (MaxSegmentSize(MSS),)


def make(config: TcpConfig = PLAIN) -> Connection:
    return Connection(LOCAL, REMOTE, config)


def sack_connection(config: TcpConfig) -> Connection:
    """An active open, ESTABLISHED, whose peer agreed to SACK (so loss recovery
    keeps per-segment records), output drained."""
    conn = make(config)
    conn.connect(0.0, iss=ISS)
    out(conn)
    offer = (MaxSegmentSize(MSS), SACK_PERMITTED)
    conn.receive_segment(peer(SYN | ACK, IRS, ISS + 1, options=offer), 0.0)
    out(conn)
    return conn


def in_state(state: State, config: TcpConfig = PLAIN) -> Connection:
    """A connection driven to ``state`` through the usual path, output drained.

    Sequence space used on the way: our SYN is ISS, data starts at ISS+1;
    the peer's SYN is IRS, its data starts at IRS+1. A FIN, where sent,
    takes ISS+1 (ours) or IRS+1 (the peer's).
    """
    conn = make(config)
    if state is State.CLOSED:
        return conn
    if state is State.LISTEN:
        conn.listen(0.0, iss=ISS)
        return conn
    if state is State.SYN_RECEIVED:
        conn.listen(0.0, iss=ISS)
        conn.receive_segment(peer(SYN, IRS, options=SYN_OPTS), 0.0)
        out(conn)
        return conn
    conn.connect(0.0, iss=ISS)
    out(conn)
    if state is State.SYN_SENT:
        return conn
    conn.receive_segment(peer(SYN | ACK, IRS, ISS + 1, options=SYN_OPTS), 0.0)
    out(conn)
    events(conn)
    if state is State.ESTABLISHED:
        return conn
    if state in (State.CLOSE_WAIT, State.LAST_ACK):
        conn.receive_segment(peer(FIN | ACK, IRS + 1, ISS + 1), 0.0)
        out(conn)
        events(conn)
        if state is State.LAST_ACK:
            conn.close()
            out(conn)
        assert conn.state is state
        return conn
    conn.close()  # FIN-WAIT-1: our FIN is ISS+1
    out(conn)
    if state is State.FIN_WAIT_1:
        return conn
    if state is State.CLOSING:
        conn.receive_segment(peer(FIN | ACK, IRS + 1, ISS + 1), 0.0)
        out(conn)
        events(conn)
        assert conn.state is state
        return conn
    conn.receive_segment(peer(ACK, IRS + 1, ISS + 2), 0.0)
    out(conn)
    if state is State.FIN_WAIT_2:
        return conn
    conn.receive_segment(peer(FIN | ACK, IRS + 1, ISS + 2), 0.0)
    out(conn)
    events(conn)
    assert conn.state is State.TIME_WAIT
    return conn


@pytest.fixture
def established() -> Connection:
    return in_state(State.ESTABLISHED)
