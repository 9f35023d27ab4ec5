"""Engine benchmarks without the CLI: ``python benchmarks/run_engine.py [--quick] [WHICH]``.

A thin wrapper over :mod:`synack.bench` (the same code ``synack bench``
runs) that prints one line per figure, for logs and quick comparisons.
"""

from __future__ import annotations

import argparse
import sys

from synack import bench


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("which", nargs="?", default="all", choices=[*bench.BENCHMARKS, "all"])
    parser.add_argument("--quick", action="store_true", help="reduced sizes (a smoke run)")
    args = parser.parse_args(argv)

    finished: set[str] = set()

    def progress(label: str, fraction: float) -> None:
        if fraction >= 1.0 and label not in finished:
            finished.add(label)
            print(f"  done: {label}", file=sys.stderr, flush=True)

    results = bench.run(args.which, quick=args.quick, progress=progress)
    for figure in bench.figures(results):
        print(
            f"{figure.name:<32} {figure.value:>12,.1f} {figure.unit:<9} "
            f"target {figure.target_text:<9} ratio {figure.ratio:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
