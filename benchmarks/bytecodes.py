"""Bytecodes per packet of the in-memory benchmarks: work, not time.

``python benchmarks/bytecodes.py [lifecycle|lifecycle-engine|bulk|bulk-engine|all] [--top N]``

Runs a small size of each ``synack bench`` workload (300 lifecycles, 1 MiB
of bulk) once to warm up, then again under ``sys.settrace`` with opcode
events on, and prints the bytecodes the interpreter executed per packet
(per segment for the engine-only runs; per data segment for bulk, whose
ACKs are few). Unlike wall time, the count does not depend on the
machine's load, so two runs on a shared machine compare exactly: run it
with another tree first on the path to compare before and after,
``PYTHONPATH=/path/to/other/tree/src python benchmarks/bytecodes.py``.
``--top N`` lists the N functions that execute the most bytecodes per
packet (dataclasses' generated ``__init__`` named by their class).

Every bytecode counts, the benchmark's own loop included (a few per cent).
Tracing makes the runs about 30 times slower: seconds, not minutes.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable
from types import FrameType
from typing import Any

import synack
from synack.bench.engine import (
    bench_bulk_engine,
    bench_bulk_hosts,
    bench_lifecycle,
    bench_lifecycle_engine,
)
from synack.bench.results import BulkResult, LifecycleResult

Workload = Callable[[], LifecycleResult | BulkResult]
WORKLOADS: dict[str, Workload] = {
    "lifecycle": lambda: bench_lifecycle(300, batch=100),
    "lifecycle-engine": lambda: bench_lifecycle_engine(300),
    "bulk": lambda: bench_bulk_hosts(1 << 20),
    "bulk-engine": lambda: bench_bulk_engine(1 << 20),
}


def _packets(result: LifecycleResult | BulkResult) -> int:
    return result.packets if isinstance(result, LifecycleResult) else result.segments


def count(run: Workload) -> tuple[int, int, Counter[str]]:
    """Packets, bytecodes executed, and bytecodes by function, for one run."""
    run()  # warm: imports, caches, the address objects
    by_function: Counter[str] = Counter()

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "opcode":
            code = frame.f_code
            name = code.co_name
            if code.co_filename == "<string>":  # a dataclass's generated method
                name = f"{type(frame.f_locals.get('self')).__name__}.{name}"
            by_function[f"{code.co_filename.split('/src/')[-1]}:{name}"] += 1
        return local

    def calls(frame: FrameType, event: str, arg: Any) -> Any:
        frame.f_trace_opcodes = True
        return local

    sys.settrace(calls)
    try:
        result = run()
    finally:
        sys.settrace(None)
    return _packets(result), sum(by_function.values()), by_function


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("which", nargs="?", default="all", choices=[*WORKLOADS, "all"])
    parser.add_argument("--top", type=int, default=0, metavar="N")
    args = parser.parse_args()
    if args.top < 0:
        parser.error("--top must be 0 or more")
    print(f"synack from {synack.__file__}", file=sys.stderr)
    for name, run in WORKLOADS.items():
        if args.which not in ("all", name):
            continue
        packets, total, by_function = count(run)
        per_packet = total / packets
        print(f"{name}: {total:,} bytecodes, {packets:,} packets, {per_packet:,.0f} per packet")
        for function, n in by_function.most_common(args.top):
            print(f"  {n / packets:8.1f}  {function}")


if __name__ == "__main__":
    main()
