"""Data segments leave room for the SACK blocks they carry (RFC 9293 3.7.1:
the effective send MSS counts every TCP option), so a segment never
outgrows the MSS the peer announced, as Linux's tcp_current_mss."""

from __future__ import annotations

from dataclasses import replace

from conftest import IRS, ISS, MSS, PLAIN, out, peer, sack_connection

from synack.tcp.connection import Connection
from synack.wire.segment import ACK, NOP, PSH, Sack

SACKING = replace(PLAIN, sack=True, nodelay=True, send_buffer=1 << 20)


def _holding_a_block() -> Connection:
    """ESTABLISHED with SACK, holding the peer's bytes 100-199 above a hole."""
    conn = sack_connection(SACKING)
    conn.receive_segment(peer(ACK, IRS + 101, ISS + 1, payload=bytes(100)), 0.0)
    (dup,) = out(conn)  # RFC 5681 4.2: the duplicate ACK, with its block
    assert dup.options == (NOP, NOP, Sack(((IRS + 101, IRS + 201),)))
    return conn


def test_data_with_one_sack_block_carries_12_bytes_less() -> None:
    conn = _holding_a_block()
    conn.send(bytes(3000))
    segs = out(conn)
    room = MSS - 12  # NOP, NOP, SACK kind and length, one 8-byte block
    assert [(s.seq, len(s.payload), s.flags) for s in segs] == [
        (ISS + 1, room, ACK),
        (ISS + 1 + room, room, ACK),
        (ISS + 1 + 2 * room, 3000 - 2 * room, ACK | PSH),
    ]
    for seg in segs:
        sack = next(o for o in seg.options if isinstance(o, Sack))
        assert sack.blocks == ((IRS + 101, IRS + 201),)


def test_without_blocks_to_report_segments_are_full_size() -> None:
    conn = sack_connection(SACKING)
    conn.send(bytes(3000))
    assert [len(s.payload) for s in out(conn)] == [MSS, MSS, 3000 - 2 * MSS]


def test_a_tail_probe_of_new_data_leaves_room_for_the_block() -> None:
    """RFC 8985 7.3's probe of new data (cwnd full, window open) is no
    bigger than the segments before it: it carries the block too."""
    conn = _holding_a_block()
    conn.send(bytes(100_000))
    segs = out(conn)
    room = MSS - 12
    assert {len(s.payload) for s in segs} == {room}
    timer = conn.get_timer()
    assert timer is not None and conn.recovery.probe_deadline == timer
    conn.handle_timer(timer)
    (probe,) = out(conn, timer)
    assert (probe.seq, len(probe.payload)) == (segs[-1].seq + room, room)
    assert any(isinstance(o, Sack) for o in probe.options)
