"""Helpers for the closing-state tests (FIN-WAIT-1/2, CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT).

Sequence space, as in ``conftest.in_state``: our FIN is ISS+1 (so SND.NXT is
ISS+2 once it is sent), the peer's FIN is IRS+1 (so RCV.NXT is IRS+2 once it
has arrived). Everything up to the state under test happens at time 0, and
the handshake's round trip of 0 s leaves RTO at ``rto_min`` = 1 s (RFC 6298
2.2 and 2.4), so a FIN sent at 0 is first retransmitted at 1 s.

``TS`` is ``PLAIN`` with timestamps (RFC 7323) on. Our timestamp clock is
``now * 1000 + ts_offset`` and the engine takes ISS as the offset, so our
TSval at time ``t`` is ``ts_at(t)``.
"""

from __future__ import annotations

from dataclasses import replace

from conftest import IRS, ISS, MSS, PLAIN, events, in_state, make, out, peer

from synack.tcp.config import TcpConfig
from synack.tcp.connection import Connection
from synack.tcp.state import State
from synack.wire.segment import ACK, FIN, NOP, SYN, MaxSegmentSize, Option, Segment, Timestamps

RTO = 1.0  # rto_min, after the handshake's zero round trip
MSL = PLAIN.msl
TWO_MSL = 2 * MSL

TS = replace(PLAIN, timestamps=True)
PEER_TSVAL = 7000  # the peer's TSval on its SYN,ACK; it ticks by one per segment after


def ts_at(now: float) -> int:
    """Our TSval at ``now`` (1 kHz clock, offset ISS)."""
    return int(now * 1000) + ISS


def ts_opts(tsval: int, tsecr: int) -> tuple[Option, ...]:
    """The timestamp option as the engine lays it out: NOP, NOP, TS (RFC 7323 appendix A)."""
    return (NOP, NOP, Timestamps(tsval, tsecr))


def feed(conn: Connection, seg: Segment, now: float = 0.0) -> list[Segment]:
    """Hand ``seg`` to ``conn`` at ``now`` and return what it sends in answer."""
    conn.receive_segment(seg, now)
    return out(conn, now)


def fire(conn: Connection) -> tuple[float, list[Segment]]:
    """Advance to the connection's next deadline, run its timers, return (when, sent)."""
    when = conn.get_timer()
    assert when is not None, "no timer armed"
    conn.handle_timer(when)
    return when, out(conn, when)


def half_closed(state: State, config: TcpConfig = PLAIN) -> Connection:
    """FIN-WAIT-1 or FIN-WAIT-2 reached through shutdown_write(): we still receive."""
    conn = in_state(State.ESTABLISHED, config)
    conn.shutdown_write()
    out(conn)
    if state is State.FIN_WAIT_2:
        conn.receive_segment(peer(ACK, IRS + 1, ISS + 2), 0.0)
        out(conn)
    assert conn.state is state
    return conn


def ts_in_state(state: State) -> Connection:
    """FIN-WAIT-1, FIN-WAIT-2 or TIME-WAIT with timestamps negotiated.

    The peer's TSvals: 7000 on its SYN,ACK, 7001 on its ACK of our FIN, 7002
    on its FIN; so TS.Recent is the last of these the connection has seen.
    """
    conn = make(TS)
    conn.connect(0.0, iss=ISS)
    out(conn)
    synack_opts = (MaxSegmentSize(MSS), NOP, NOP, Timestamps(PEER_TSVAL, ts_at(0.0)))
    conn.receive_segment(peer(SYN | ACK, IRS, ISS + 1, options=synack_opts), 0.0)
    out(conn)
    events(conn)
    conn.close()
    out(conn)
    if state is State.FIN_WAIT_1:
        return conn
    conn.receive_segment(peer(ACK, IRS + 1, ISS + 2, options=ts_opts(7001, ts_at(0.0))), 0.0)
    out(conn)
    if state is State.FIN_WAIT_2:
        assert conn.state is state
        return conn
    conn.receive_segment(peer(FIN | ACK, IRS + 1, ISS + 2, options=ts_opts(7002, ts_at(0.0))), 0.0)
    out(conn)
    events(conn)
    assert conn.state is State.TIME_WAIT
    return conn
