"""Helpers for the opening-state tests (CLOSED, LISTEN, SYN-SENT, SYN-RECEIVED, ESTABLISHED).

``FULL`` turns every option on (MSS, window scale, SACK, timestamps) with a
256 KiB receive buffer, so our window scale is 3 (65535 << 2 < 262144 <=
65535 << 3, RFC 7323 2.3). The scripted peer offers ``PEER_WSCALE``.
"""

from __future__ import annotations

from dataclasses import replace

from conftest import IRS, ISS, LOCAL, MSS, PLAIN, REMOTE, events, out, peer

from synack.tcp.config import TcpConfig
from synack.tcp.connection import Connection
from synack.tcp.state import State
from synack.wire.segment import (
    ACK,
    NOP,
    SACK_PERMITTED,
    SYN,
    MaxSegmentSize,
    Segment,
    Timestamps,
    WindowScale,
)

FULL = TcpConfig(delayed_ack=False, mss=MSS, recv_buffer=256 * 1024)
FULL_WSCALE = 3
PEER_WSCALE = 7
PEER_TSVAL = 7000

DELAYED = replace(PLAIN, delayed_ack=True)
NODELAY = replace(PLAIN, nodelay=True)


def peer_syn_options(tsval: int = PEER_TSVAL, tsecr: int = 0) -> tuple:
    """What a Linux-like peer offers in its SYN or SYN,ACK."""
    return (
        MaxSegmentSize(MSS),
        SACK_PERMITTED,
        Timestamps(tsval, tsecr),
        NOP,
        WindowScale(PEER_WSCALE),
    )


def ts_val(now: float) -> int:
    """Our TSval at ``now``: 1 kHz clock offset by the ISS (RFC 7323 5.4)."""
    return ISS + int(now * 1000)


def established_full(now: float = 0.0) -> Connection:
    """ESTABLISHED (active open) with every option negotiated, output drained."""
    conn = Connection(LOCAL, REMOTE, FULL)
    conn.connect(now, iss=ISS)
    out(conn, now)
    conn.receive_segment(
        peer(SYN | ACK, IRS, ISS + 1, options=peer_syn_options(PEER_TSVAL, ts_val(now))), now
    )
    out(conn, now)
    events(conn)
    assert conn.state is State.ESTABLISHED
    return conn


def feed(conn: Connection, seg: Segment, now: float = 0.0) -> list[Segment]:
    """Deliver ``seg`` and return what the connection sends in response."""
    conn.receive_segment(seg, now)
    return out(conn, now)


def fire(conn: Connection) -> tuple[float, list[Segment]]:
    """Advance to the next timer, fire it, and return (time, segments sent)."""
    when = conn.get_timer()
    assert when is not None
    conn.handle_timer(when)
    return when, out(conn, when)
