"""OutOfOrderQueue on its own: merging, wrap-around, draining, the SACK and
D-SACK blocks it reports, its memory accounting and pruning at its limit."""

from __future__ import annotations

import sys
import tracemalloc

from hypothesis import given, settings
from hypothesis import strategies as st

from synack.tcp.reassembly import (
    BLOCK_OVERHEAD,
    GROWN_OVERHEAD,
    SMALL_MERGE,
    OutOfOrderQueue,
    _Grown,
)
from synack.wire import seq as sq

STREAM = bytes(range(256)) * 16


def text(q: OutOfOrderQueue) -> list[bytes]:
    """Each held block's text, in sequence order."""
    out = []
    for held in q._texts[q._lo :]:
        buf = bytearray()
        if isinstance(held, bytes):
            buf += held
        else:
            held.extend_into(buf, 0)
        out.append(bytes(buf))
    return out


def queue_with(rcv_nxt: int, *pieces: tuple[int, int]) -> OutOfOrderQueue:
    """A queue holding STREAM[a:b] at rcv_nxt + a for each (a, b)."""
    q = OutOfOrderQueue()
    for a, b in pieces:
        q.store(sq.add(rcv_nxt, a), STREAM[a:b], rcv_nxt)
    return q


# -- merging ------------------------------------------------------------------


def test_disjoint_segments_stay_separate_blocks_in_sequence_order() -> None:
    q = queue_with(100, (30, 40), (10, 20), (50, 51))
    assert q.ranges() == [(110, 120), (130, 140), (150, 151)]
    assert q.blocks == 3
    assert text(q) == [STREAM[10:20], STREAM[30:40], STREAM[50:51]]


def test_adjacent_segments_merge_on_either_side() -> None:
    q = queue_with(0, (10, 20), (20, 30), (5, 10))
    assert q.ranges() == [(5, 30)]
    assert text(q) == [STREAM[5:30]]


def test_overlapping_segment_merges_and_its_text_replaces_the_old() -> None:
    q = queue_with(0, (10, 20))
    q.store(15, b"X" * 10, 0)  # overlaps the last five bytes, goes five beyond
    assert q.ranges() == [(10, 25)]
    assert text(q) == [STREAM[10:15] + b"X" * 10]
    q.store(5, b"Y" * 7, 0)  # overlaps the first two
    assert text(q) == [b"Y" * 7 + STREAM[12:15] + b"X" * 10]


def test_segment_bridging_several_blocks_makes_one() -> None:
    q = queue_with(0, (10, 12), (14, 16), (18, 20), (22, 24), (40, 41))
    q.store(11, STREAM[11:23], 0)
    assert q.ranges() == [(10, 24), (40, 41)]
    assert text(q) == [STREAM[10:24], STREAM[40:41]]
    q.store(5, STREAM[5:45], 0)  # covers everything held
    assert q.ranges() == [(5, 45)] and text(q) == [STREAM[5:45]]


def test_duplicate_inside_a_block_changes_no_text_and_costs_nothing() -> None:
    q = queue_with(0, (10, 30))
    before = q.memory
    q.store(15, STREAM[15:20], 0)
    assert q.ranges() == [(10, 30)] and text(q) == [STREAM[10:30]]
    assert q.memory == before == 20 + BLOCK_OVERHEAD


def test_large_merges_grow_in_place_at_either_end() -> None:
    size = SMALL_MERGE + 100
    q = OutOfOrderQueue()
    q.store(1000, STREAM[1000 : 1000 + size], 0)
    q.store(1000 + size, STREAM[1000 + size : 1010 + size], 0)  # appended
    q.store(990, STREAM[990:1000], 0)  # prepended
    q.store(995, b"Z" * 10, 0)  # overwrites across the front and back
    assert isinstance(q._texts[q._lo], _Grown)
    expected = STREAM[990:995] + b"Z" * 10 + STREAM[1005 : 1010 + size]
    assert text(q) == [expected]
    assert q.ranges() == [(990, 1010 + size)]
    buf = bytearray(STREAM[:990])
    assert q.drain_into(buf, 993) == (len(expected) - 3, True)  # three already there
    assert bytes(buf) == STREAM[:990] + expected[3:]


def test_a_big_block_swallows_a_small_one_on_its_left() -> None:
    size = SMALL_MERGE * 2
    q = queue_with(0, (10, 12), (20, 20 + size))
    q.store(11, STREAM[11:25], 0)  # bridges the two: the larger grows leftwards
    assert q.ranges() == [(10, 20 + size)]
    assert text(q) == [STREAM[10 : 20 + size]]


# -- sequence numbers wrap ------------------------------------------------------


def test_blocks_straddling_zero() -> None:
    rcv_nxt = sq.MOD - 20
    q = queue_with(rcv_nxt, (30, 40), (10, 25), (25, 30))
    assert q.ranges() == [(sq.MOD - 10, 20)]
    assert text(q) == [STREAM[10:40]]
    q.note_duplicate(sq.MOD - 5, 10, rcv_nxt)
    assert q.dsack == (sq.MOD - 5, 5)
    buf = bytearray(STREAM[:10])
    assert q.drain_into(buf, sq.MOD - 10) == (30, True)
    assert bytes(buf) == STREAM[:40] and q.blocks == 0


def test_offsets_follow_rcv_nxt_across_the_wrap() -> None:
    q = OutOfOrderQueue()
    rcv_nxt = sq.MOD - 3
    q.store(sq.add(rcv_nxt, 2), b"b", rcv_nxt)
    q.store(sq.add(rcv_nxt, 6), b"d", rcv_nxt)
    buf = bytearray(b"a")
    assert q.drain_into(buf, sq.add(rcv_nxt, 2)) == (1, True)  # rcv_nxt now 2^32 - 1 + 1 = 0
    q.store(sq.add(rcv_nxt, 4), b"c", 0)
    assert q.ranges() == [(1, 2), (3, 4)]


# -- draining -------------------------------------------------------------------


def test_drain_moves_only_what_continues_at_rcv_nxt() -> None:
    q = queue_with(0, (10, 20), (20, 25), (30, 40))
    buf = bytearray()
    assert q.drain_into(buf, 5) == (0, False)  # the hole at 5..10 is still there
    assert q.drain_into(buf, 10) == (15, True)
    assert bytes(buf) == STREAM[10:25] and q.ranges() == [(30, 40)]
    assert q.memory == 10 + BLOCK_OVERHEAD


def test_drain_skips_what_in_order_text_already_covered() -> None:
    q = queue_with(0, (10, 20), (22, 30))
    buf = bytearray()
    assert q.drain_into(buf, 21) == (0, True)  # block 10..20 used up, 22.. not reached
    assert q.ranges() == [(22, 30)]
    assert q.drain_into(buf, 25) == (5, True)
    assert bytes(buf) == STREAM[25:30] and q.blocks == 0 and q.memory == 0


def test_draining_one_block_at_a_time_keeps_the_rest() -> None:
    n = 300
    q = queue_with(0, *[(2 * i + 1, 2 * i + 2) for i in range(n)])
    buf = bytearray()
    rcv_nxt = 0
    for i in range(n):
        buf += STREAM[2 * i : 2 * i + 1]
        moved, used = q.drain_into(buf, rcv_nxt + 1)
        assert (moved, used) == (1, True)
        rcv_nxt += 2
        assert q.blocks == n - i - 1
        assert q.ranges()[:1] == ([(rcv_nxt + 1, rcv_nxt + 2)] if i < n - 1 else [])
    assert bytes(buf) == STREAM[: 2 * n] and q.memory == 0


def test_clear_forgets_the_blocks() -> None:
    q = queue_with(0, (10, 20))
    q.clear()
    assert q.blocks == 0 and q.ranges() == [] and q.memory == 0 and q.sack_blocks(4) == ()


# -- SACK and D-SACK blocks ----------------------------------------------------


def test_sack_blocks_newest_first_then_most_recently_changed() -> None:
    q = queue_with(0, (10, 11), (20, 21), (30, 31), (40, 41), (50, 51))
    assert q.sack_blocks(4) == ((50, 51), (40, 41), (30, 31), (20, 21))
    q.store(21, STREAM[21:22], 0)  # block 20..21 grows: it is news again
    assert q.sack_blocks(3) == ((20, 22), (50, 51), (40, 41))
    q.store(11, STREAM[11:20], 0)  # joins 10..11 and 20..22
    assert q.sack_blocks(4) == ((10, 22), (50, 51), (40, 41), (30, 31))


def test_sack_blocks_after_a_drain_leave_out_what_was_delivered() -> None:
    q = queue_with(0, (30, 31), (10, 11), (20, 21))
    q.drain_into(bytearray(), 10)
    assert q.sack_blocks(4) == ((20, 21), (30, 31))


def test_sack_fills_up_with_the_farthest_when_recency_is_short() -> None:
    q = queue_with(0, *[(10 * k, 10 * k + 1) for k in range(1, 13)])  # 10..120
    q.store(51, STREAM[51:121], 0)  # swallows the eight newest blocks into one
    assert q.sack_blocks(4) == ((50, 121), (40, 41), (30, 31), (20, 21))


def test_dsack_comes_first_and_once() -> None:
    q = queue_with(100, (10, 20), (30, 40))
    q.note_duplicate(112, 4, 100)
    assert q.dsack == (112, 116)
    assert q.sack_blocks(3) == ((112, 116), (130, 140), (110, 120))
    assert q.dsack is None
    assert q.sack_blocks(3) == ((130, 140), (110, 120))


def test_dsack_alone_when_nothing_is_held() -> None:
    q = OutOfOrderQueue()
    q.note_duplicate(50, 10, 100)
    assert q.sack_blocks(4) == ((50, 60),)
    assert q.sack_blocks(4) == ()


def test_note_duplicate_cases() -> None:
    q = queue_with(100, (10, 20), (30, 40))
    q.note_duplicate(95, 10, 100)  # below RCV.NXT: the part below it
    assert q.dsack == (95, 100)
    q.dsack = None
    q.note_duplicate(105, 3, 100)  # in a hole: no duplicate
    assert q.dsack is None
    q.note_duplicate(105, 10, 100)  # runs into the first block
    assert q.dsack == (110, 115)
    q.note_duplicate(115, 20, 100)  # spans two blocks: the first stretch only
    assert q.dsack == (115, 120)
    q.note_duplicate(125, 30, 100)  # covers the second block
    assert q.dsack == (130, 140)
    q.dsack = None
    q.note_duplicate(120, 10, 100)  # exactly the hole between them
    assert q.dsack is None
    q.note_duplicate(140, 5, 100)  # just past the last
    assert q.dsack is None


# -- memory and pruning ---------------------------------------------------------


def test_memory_is_text_plus_a_fixed_overhead_per_block() -> None:
    q = queue_with(0, (10, 20), (30, 31))
    assert q.memory == 11 + 2 * BLOCK_OVERHEAD
    q.store(20, STREAM[20:30], 0)
    assert q.memory == 21 + BLOCK_OVERHEAD


def test_accounted_memory_is_honest() -> None:
    """What tracemalloc sees is close to, and not above, what the queue counts."""
    n = 20_000
    payloads = [bytes([i % 256]) for i in range(n)]  # made before measuring
    q = OutOfOrderQueue()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for i, p in enumerate(payloads):
            q.store(2 * i + 1, p, 0)
        grown = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    per_block = grown / n + 40  # + each one-byte object, 34 B rounded up to 40 by pymalloc
    assert sys.getsizeof(payloads[0]) == 34
    assert per_block <= q.memory / n == 1 + BLOCK_OVERHEAD
    assert per_block >= 1 + BLOCK_OVERHEAD - 12  # the constant is not inflated either
    big = _Grown(b"x" * 1000)
    assert sys.getsizeof(big) + 16 <= GROWN_OVERHEAD


def test_prune_drops_the_farthest_blocks_and_counts_them() -> None:
    q = OutOfOrderQueue(limit=10 * (1 + BLOCK_OVERHEAD))
    for i in range(10):
        q.store(2 * i + 1, b"x", 0)
    assert q.pruned_bytes == q.pruned_blocks == 0 and q.blocks == 10
    q.store(21, b"y", 0)  # over the limit: back under it, an eighth to spare
    assert q.memory <= q.limit - q.limit // 8  # type: ignore[operator]
    assert (q.pruned_blocks, q.pruned_bytes, q.blocks) == (3, 3, 8)
    assert q.ranges() == [(2 * i + 1, 2 * i + 2) for i in range(8)]
    assert q.sack_blocks(4) == ((15, 16), (13, 14), (11, 12), (9, 10))


def test_prune_trims_the_tail_of_a_large_far_block() -> None:
    q = OutOfOrderQueue(limit=2000)
    q.store(10, STREAM[10:1010], 0)
    q.store(2000, STREAM[2000:3000], 0)  # 2 * 1064 > 2000
    goal = 2000 - 2000 // 8
    assert q.memory == goal
    kept = goal - 2 * BLOCK_OVERHEAD - 1000
    assert q.ranges() == [(10, 1010), (2000, 2000 + kept)]
    assert (q.pruned_blocks, q.pruned_bytes) == (0, 1000 - kept)
    assert text(q) == [STREAM[10:1010], STREAM[2000 : 2000 + kept]]
    assert q.sack_blocks(4) == ((2000, 2000 + kept), (10, 1010))


def test_no_limit_no_pruning() -> None:
    q = queue_with(0, *[(2 * i + 1, 2 * i + 2) for i in range(1000)])
    assert q.limit is None and q.pruned_bytes == 0 and q.blocks == 1000


# -- against a simple model -------------------------------------------------------


class Model:
    """Held bytes by offset; new text replaces old; blocks are maximal runs."""

    def __init__(self) -> None:
        self.held: dict[int, int] = {}
        self.rcv_nxt = 0
        self.out = bytearray()

    def arrive(self, off: int, data: bytes) -> None:
        if off + len(data) <= self.rcv_nxt:
            return
        if off < self.rcv_nxt:
            data, off = data[self.rcv_nxt - off :], self.rcv_nxt
        for k, b in enumerate(data):
            self.held[off + k] = b
        while self.rcv_nxt in self.held:
            self.out.append(self.held.pop(self.rcv_nxt))
            self.rcv_nxt += 1

    def ranges(self) -> list[tuple[int, int]]:
        runs: list[tuple[int, int]] = []
        for k in sorted(self.held):
            if runs and runs[-1][1] == k:
                runs[-1] = (runs[-1][0], k + 1)
            else:
                runs.append((k, k + 1))
        return runs


segments = st.lists(st.tuples(st.integers(0, 599), st.integers(1, 400), st.booleans()), max_size=60)


@settings(max_examples=300, deadline=None)
@given(isn=st.sampled_from([0, sq.MOD - 300, 1 << 31, 12345]), arrivals=segments)
def test_random_arrivals_deliver_the_stream(
    isn: int, arrivals: list[tuple[int, int, bool]]
) -> None:
    """Random segments of a 600-byte stream, in random order, with duplicates,
    overlaps and some wrong copies that the next segment replaces; then every
    byte once more, in order. The queue, used as the connection uses it, agrees
    with the model at every step and delivers the stream exactly."""
    length = 600
    stream = STREAM[:length]
    q = OutOfOrderQueue()
    model = Model()
    buf = bytearray()
    rcv_nxt = 0  # offset from isn

    def arrive(off: int, data: bytes) -> None:
        nonlocal rcv_nxt
        model.arrive(off, data)
        if off + len(data) <= rcv_nxt:
            return
        if off < rcv_nxt:
            data, off = data[rcv_nxt - off :], rcv_nxt
        if off == rcv_nxt:
            buf.extend(data)
            rcv_nxt += len(data)
            moved, _ = q.drain_into(buf, sq.add(isn, rcv_nxt))
            rcv_nxt += moved
        else:
            q.store(sq.add(isn, off), data, sq.add(isn, rcv_nxt))
            first = q.sack_blocks(4)[0]  # the block with the newest segment
            assert sq.le(first[0], sq.add(isn, off))
            assert sq.ge(first[1], sq.add(isn, off + len(data)))
        assert buf == model.out
        assert q.ranges() == [(sq.add(isn, a), sq.add(isn, b)) for a, b in model.ranges()]

    for off, size, corrupt in arrivals:
        size = min(size, length - off)
        if corrupt and off > rcv_nxt:  # wrong text, replaced by the next segment
            arrive(off, bytes(size))
        arrive(off, stream[off : off + size])
    for off in range(length):  # then every byte once more, in order
        arrive(off, stream[off : off + 1])
    assert bytes(buf) == stream and q.blocks == 0 and q.memory == 0


@settings(max_examples=200, deadline=None)
@given(
    limit=st.integers(200, 3000),
    arrivals=st.lists(st.tuples(st.integers(1, 2000), st.integers(1, 300)), max_size=60),
)
def test_a_limited_queue_stays_within_it_and_counts_what_it_drops(
    limit: int, arrivals: list[tuple[int, int]]
) -> None:
    q = OutOfOrderQueue(limit=limit)
    for off, size in arrivals:
        q.store(off, STREAM[off : off + size], 0)
        assert q.memory <= limit
        # what is kept is what arrived, in place
        for (a, b), held in zip(q.ranges(), text(q), strict=True):
            assert held == STREAM[a:b]
        held_bytes = sum(b - a for a, b in q.ranges())
        assert q.memory >= held_bytes + q.blocks * BLOCK_OVERHEAD
    arrived = {k for off, size in arrivals for k in range(off, min(off + size, len(STREAM)))}
    held = {k for a, b in q.ranges() for k in range(a, b)}
    assert held <= arrived
    if q.pruned_bytes == 0:
        assert held == arrived
