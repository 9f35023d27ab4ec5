"""The out-of-order queue before and after its rewrite, in one sitting:
``python benchmarks/reassembly.py [--old PATH] [--sizes N ...] [--old-sizes N ...]``.

Runs :func:`synack.bench.bench_reassembly` (n one-byte segments at every
other byte, then the n missing ones, in order and shuffled) against this
tree's queue and against the ``reassembly.py`` of another checkout (by
default a git worktree of the commit before the rewrite at /tmp/reasm_old:
``git worktree add /tmp/reasm_old 9eef6e0``). The old queue is quadratic, so
it gets only the small sizes.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

from synack.bench import ReassemblyResult, bench_reassembly


def load_queue(path: Path) -> type:
    spec = importlib.util.spec_from_file_location("old_reassembly", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.OutOfOrderQueue  # type: ignore[no-any-return]


def line(r: ReassemblyResult) -> str:
    accounted = f"{r.accounted_bytes / r.held_bytes:6.1f}" if r.accounted_bytes else "     -"
    return (
        f"{r.implementation:<7} {r.held_bytes:>8,} {r.order:<10} {r.seconds:>9.3f} s "
        f"peak {r.peak_bytes:>12,} B  {r.bytes_per_held_byte:6.1f} B/held B (traced)  "
        f"{accounted} (accounted)  {'intact' if r.intact else 'CORRUPT'}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--old", type=Path, default=Path("/tmp/reasm_old"))
    parser.add_argument("--sizes", type=int, nargs="*", default=[1_000, 4_000, 100_000])
    parser.add_argument("--old-sizes", type=int, nargs="*", default=[1_000, 4_000])
    args = parser.parse_args(argv)
    old_file = args.old / "src/synack/tcp/reassembly.py"
    runs: list[tuple[str, type | None, int]] = []
    if old_file.exists():
        old = load_queue(old_file)
        runs += [("before", old, n) for n in args.old_sizes]
    else:
        print(f"no {old_file}: measuring this tree only", file=sys.stderr)
    runs += [("after", None, n) for n in args.sizes]
    for name, queue_class, n in runs:
        for order in ("ascending", "random"):
            if queue_class is None:
                result = bench_reassembly(n, order, implementation=name)
            else:
                result = bench_reassembly(n, order, queue_class, implementation=name)
            print(line(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
