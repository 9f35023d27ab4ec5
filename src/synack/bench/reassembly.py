"""The out-of-order queue under its worst load: n one-byte segments at every
other byte, stored, then completed by the n missing bytes.

The queue is driven as a Connection drives it: a byte at RCV.NXT is
appended and the queue drained behind it; any other is stored; every
segment draws an ACK, so the SACK blocks are built after each one. The
missing bytes come in order ("ascending", each one draining one block) or
in a shuffled order ("random", most of them merging two blocks first). What
is delivered is checked byte for byte.

Two passes: one timed, one under tracemalloc for the peak memory (reached
when the n blocks are held). ``queue_class`` lets the same run measure
another implementation of the queue's API (benchmarks/reassembly.py runs
the one before the rewrite).
"""

from __future__ import annotations

import gc
import random
import time
import tracemalloc
from typing import Protocol

from synack.bench.engine import _tracing
from synack.bench.results import Progress, ReassemblyResult, no_progress
from synack.tcp.reassembly import OutOfOrderQueue
from synack.wire import seq as sq

ORIGIN = sq.MOD - 1000  # RCV.NXT at the start: the run wraps past 2^32


class Queue(Protocol):
    """The part of OutOfOrderQueue's API the benchmark uses."""

    def store(self, seq: int, payload: bytes, rcv_nxt: int) -> None: ...
    def drain_into(self, buf: bytearray, rcv_nxt: int) -> tuple[int, bool]: ...
    def sack_blocks(self, limit: int) -> tuple[tuple[int, int], ...]: ...


def _stream(n: int) -> bytes:
    return bytes((7 * i + 3) % 251 for i in range(2 * n))


def _arrive(q: Queue, buf: bytearray, rcv_nxt: int, seq: int, payload: bytes) -> int:
    """One segment, as Connection._accept_text takes it; returns RCV.NXT."""
    if seq == rcv_nxt:
        buf += payload
        rcv_nxt = sq.add(rcv_nxt, len(payload))
        moved, _ = q.drain_into(buf, rcv_nxt)
        rcv_nxt = sq.add(rcv_nxt, moved)
    else:
        q.store(seq, payload, rcv_nxt)
    q.sack_blocks(3)  # the ACK this segment draws
    return rcv_nxt


def _store_odd(q: Queue, stream: bytes, n: int, progress: Progress, label: str) -> None:
    step = max(n // 20, 1)
    for i in range(n):
        k = 2 * i + 1
        _arrive(q, bytearray(), ORIGIN, sq.add(ORIGIN, k), stream[k : k + 1])
        if i % step == 0:
            progress(label, 0.5 * i / n)


def bench_reassembly(
    n: int = 100_000,
    order: str = "ascending",
    queue_class: type[Queue] = OutOfOrderQueue,
    implementation: str = "synack",
    progress: Progress = no_progress,
) -> ReassemblyResult:
    """n one-byte segments at the odd offsets, then the n even ones in
    ``order`` ("ascending" or "random")."""
    if order not in ("ascending", "random"):
        raise ValueError(f"order is ascending or random, not {order!r}")
    label = f"reassembly {order} {n:,}"
    stream = _stream(n)
    fill = list(range(n))
    if order == "random":
        random.Random(n).shuffle(fill)

    # pass 1, under tracemalloc: the memory held once every odd byte is in
    gc.collect()
    with _tracing():
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        q = queue_class()
        _store_odd(q, stream, n, progress, label)
        held, peak = tracemalloc.get_traced_memory()
    accounted = getattr(q, "memory", None)
    del q
    gc.collect()

    # pass 2, timed: store, then complete
    q = queue_class()
    buf = bytearray()
    start = time.perf_counter()
    _store_odd(q, stream, n, progress, label)
    rcv_nxt = ORIGIN
    step = max(n // 20, 1)
    for j, i in enumerate(fill):
        rcv_nxt = _arrive(q, buf, rcv_nxt, sq.add(ORIGIN, 2 * i), stream[2 * i : 2 * i + 1])
        if j % step == 0:
            progress(label, 0.5 + 0.5 * j / n)
    seconds = time.perf_counter() - start
    progress(label, 1.0)
    return ReassemblyResult(
        implementation=implementation,
        segments=2 * n,
        order=order,
        seconds=seconds,
        held_bytes=n,
        traced_bytes=held - base,
        peak_bytes=peak - base,
        accounted_bytes=accounted,
        intact=bytes(buf) == stream,
    )
