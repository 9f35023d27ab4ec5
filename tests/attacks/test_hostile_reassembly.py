"""A hostile peer against the out-of-order queue: one-byte segments at every
other byte over a whole receive window, so that the receiver holds as many
blocks as the window allows, then the missing bytes.

What must hold: every byte arrives exactly as sent; with a memory limit on
the queue, its accounted memory never exceeds the limit and what it dropped
is counted (and the peer's retransmission repairs it); and the work the queue
does grows linearly with the number of segments, not quadratically. Work is
counted as lines executed in tcp/reassembly.py, never as wall time.
"""

from __future__ import annotations

from ipaddress import ip_address

import pytest
from _work import work_in

import synack.tcp.reassembly as reassembly
from synack.tcp.config import TcpConfig
from synack.tcp.connection import Connection
from synack.tcp.events import DataReceived
from synack.wire.segment import ACK, SYN, MaxSegmentSize, Sack, SackPermitted, Segment

LOCAL = (ip_address("10.0.0.1"), 40000)
REMOTE = (ip_address("10.0.0.2"), 80)
ISS, IRS = 1000, 4_294_950_000  # the peer's sequence numbers wrap past 2^32 on the way
WINDOW = 16384
CONFIG = TcpConfig(
    window_scaling=False, timestamps=False, delayed_ack=False, recv_buffer=WINDOW, mss=1460
)
STREAM = bytes((7 * i + 3) % 251 for i in range(WINDOW))


def established() -> Connection:
    conn = Connection(LOCAL, REMOTE, CONFIG)
    conn.connect(0.0, iss=ISS)
    conn.segments_to_send(0.0)
    syn_ack = Segment(
        80, 40000, IRS, ISS + 1, SYN | ACK, 65535, 0, (MaxSegmentSize(1460), SackPermitted())
    )
    conn.receive_segment(syn_ack, 0.0)
    conn.segments_to_send(0.0)
    while conn.next_event() is not None:
        pass
    assert conn.sack_ok
    return conn


def send(conn: Connection, offset: int, data: bytes) -> list[Segment]:
    seq = (IRS + 1 + offset) % (1 << 32)
    conn.receive_segment(Segment(80, 40000, seq, ISS + 1, ACK, 65535, 0, (), data), 0.0)
    return conn.segments_to_send(0.0)


def receive_all(conn: Connection) -> bytes:
    while conn.next_event() is not None:
        pass
    return conn.receive(1 << 30)


def attack(conn: Connection, n: int, seen: dict[str, int] | None = None) -> bytes:
    """n one-byte segments at the odd offsets, then the n even ones in order;
    then, as a peer would retransmit after a timeout, whatever is still
    missing (the queue may have pruned it) in one segment. Returns what the
    application read; ``seen`` gets the queue's peak memory and what it had
    pruned when the odd bytes were all in."""
    ooo = conn._ooo_queue()
    for i in range(n):
        acks = send(conn, 2 * i + 1, STREAM[2 * i + 1 : 2 * i + 2])
        assert len(acks) == 1  # a duplicate ACK for each, at once (RFC 5681 4.2)
        if seen is not None:
            seen["peak"] = max(seen.get("peak", 0), ooo.memory)
    if seen is not None:
        seen["pruned"] = ooo.pruned_bytes
    got = bytearray()
    for i in range(n):
        send(conn, 2 * i, STREAM[2 * i : 2 * i + 1])
        got += receive_all(conn)
        if seen is not None:
            seen["peak"] = max(seen["peak"], ooo.memory)
    if len(got) < 2 * n:
        send(conn, len(got), STREAM[len(got) : 2 * n])
        got += receive_all(conn)
    return bytes(got)


def test_every_other_byte_over_a_window_arrives_intact() -> None:
    """With no limit on the queue (the connection's own is set below), every odd
    byte is held until its even neighbour arrives."""
    conn = established()
    conn._ooo_queue().limit = None
    n = WINDOW // 2 - 1
    assert attack(conn, n) == STREAM[: 2 * n]
    ooo = conn._ooo
    assert ooo.blocks == 0 and ooo.memory == 0 and ooo.pruned_bytes == 0


def test_sack_blocks_under_attack_report_the_newest_segment_first() -> None:
    conn = established()
    for i in range(100):
        (ack,) = send(conn, 2 * i + 1, b"x")
        sack = next(opt for opt in ack.options if isinstance(opt, Sack))
        newest = (IRS + 2 + 2 * i) % (1 << 32)
        assert sack.blocks[0] == (newest, (newest + 1) % (1 << 32))
        assert len(sack.blocks) == min(i + 1, 4)


def test_a_limited_queue_prunes_the_far_end_and_counts_it() -> None:
    conn = established()
    limit = 2 * conn.recv_buffer
    assert conn._ooo_queue().limit == limit  # the connection's own: twice the receive buffer
    n = WINDOW // 2 - 1
    seen: dict[str, int] = {}
    assert attack(conn, n, seen) == STREAM[: 2 * n]
    ooo = conn._ooo
    assert 0 < seen["peak"] <= limit
    # the odd bytes: all but those that fit (at most limit / 65 one-byte blocks)
    fit = limit // (1 + reassembly.BLOCK_OVERHEAD)
    assert n - fit <= seen["pruned"] <= n - fit * 7 // 8
    # the even ones past what was kept then arrive out of order in turn, and
    # are pruned the same way; every block pruned was one byte
    assert ooo.pruned_blocks == ooo.pruned_bytes > seen["pruned"]
    assert ooo.blocks == 0 and ooo.memory == 0
    assert conn.stats.ooo_pruned_bytes == ooo.pruned_bytes  # counted in the stats too


def lines_run(n: int) -> int:
    """Lines of tcp/reassembly.py executed for an attack of n segments."""
    conn = established()
    got, count = work_in({reassembly.__file__}, lambda: attack(conn, n))
    assert got == STREAM[: 2 * n]
    return count


@pytest.mark.interpreted_only("settrace")
def test_work_grows_linearly_with_the_segments() -> None:
    small, large = lines_run(500), lines_run(2000)
    assert 3.0 < large / small < 5.0  # quadratic work would give about 16


def test_events_report_what_was_delivered() -> None:
    conn = established()
    send(conn, 1, b"b")
    send(conn, 0, b"a")
    events = []
    while (ev := conn.next_event()) is not None:
        events.append(ev)
    assert events == [DataReceived(2)]


def test_the_queue_is_made_only_when_text_arrives_out_of_order() -> None:
    """An in-order connection holds no queue (issue 16: idle memory); the first
    segment above RCV.NXT makes one, and it holds that segment."""
    conn = established()
    assert conn._ooo is None
    send(conn, 0, STREAM[:10])
    assert receive_all(conn) == STREAM[:10]
    assert conn._ooo is None  # in order: nothing held, nothing made
    (dup_ack,) = send(conn, 0, STREAM[:10])  # a duplicate: the D-SACK needs the queue
    assert conn._ooo is not None
    dsack = next(opt for opt in dup_ack.options if isinstance(opt, Sack))
    assert dsack.blocks == ((IRS + 1, IRS + 11),)  # RFC 2883: the duplicate range
    fresh = established()
    (ack,) = send(fresh, 20, STREAM[20:30])
    assert fresh._ooo is not None and fresh._ooo.ranges() == [(IRS + 21, IRS + 31)]
    sack = next(opt for opt in ack.options if isinstance(opt, Sack))
    assert sack.blocks == ((IRS + 21, IRS + 31),)
