"""synack sweep on 1 and on 2 Dask workers: the speed-up, and what scheduling costs per cell.

The grid is 40 cells of about a second of CPU each (one CUBIC connection
sending 14 MB over 10 ms links with 0.5 % loss, seeds 1 to 40). Each round
runs it on a fresh LocalCluster of 1 worker, then of 2 (or the other way
round on odd rounds, so that a change in the machine's load hits both
alike), into a fresh dataset. The cluster's start is timed apart; the sweep
is timed from the first submit to the last row written.

- speed-up: the 1-worker sweep's wall time over the 2-worker one's;
- scheduling overhead per cell: (workers x sweep wall - the cells' own wall
  times) / the cells' own wall times: the time a worker spent not running a
  cell (Dask's scheduling, pickling, the rows' trip back, the last cell's
  wait for the others), relative to the cells' time;
- contention: the cells' wall time over their CPU time (1.0 when each worker
  had a core to itself; more when other processes shared the cores);
- cores used: the cells' CPU time over the sweep's wall time (at most the
  number of workers);
- the machine's ceiling, before each round: 6 of the cells run one after
  the other in this process, then shared by two plain processes (a
  multiprocessing pool, no Dask): the speed-up two processes get at best at
  that moment, given the load and the cores (two vCPUs may share a
  physical core).

Usage: python benchmarks/sweep_speedup.py [--rounds N] [--cells N] [--bytes 14m] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from typing import Any

from synack.sweep.cell import run_cell
from synack.sweep.grid import build_grid
from synack.sweep.query import query
from synack.sweep.runner import cluster, run_sweep


def one_run(workers: int, cells: list[Any]) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="synack-sweep-bench-") as folder:
        started = time.perf_counter()
        with cluster(workers) as client:
            client.wait_for_workers(workers)
            startup = time.perf_counter() - started
            report = run_sweep(cells, folder, client)
        if report.failed:
            raise RuntimeError(f"{report.failed} cells failed: {report.errors}")
        _, rows = query(folder, "SELECT sum(wall_seconds), sum(cpu_seconds) FROM cells")
        cell_wall, cell_cpu = rows[0]
    return {
        "workers": workers,
        "startup_seconds": startup,
        "sweep_seconds": report.wall_seconds,
        "cell_wall_seconds": cell_wall,
        "cell_cpu_seconds": cell_cpu,
        "overhead_per_cell": (workers * report.wall_seconds - cell_wall) / cell_wall,
        "contention": cell_wall / cell_cpu,
        "cores_used": cell_cpu / report.wall_seconds,
    }


def ceiling(cells: list[Any]) -> float:
    """What the machine allows right now: the same cells in one process, then
    shared by two plain processes (no Dask), the first time over the second."""
    import multiprocessing

    started = time.perf_counter()
    for cell in cells:
        run_cell(cell)
    alone = time.perf_counter() - started
    with multiprocessing.get_context("fork").Pool(2) as pool:
        started = time.perf_counter()
        pool.map(run_cell, cells, chunksize=1)
        shared = time.perf_counter() - started
    return alone / shared


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cells", type=int, default=40)
    parser.add_argument("--bytes", default="14m")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    grid = build_grid({"loss": "0.5%", "bytes": args.bytes, "buffer": "1mi",
                       "seed": f"1-{args.cells}"})  # fmt: skip
    cells = grid.cells()
    runs: list[dict[str, float]] = []
    ceilings: list[float] = []
    for i in range(args.rounds):
        ceilings.append(ceiling(cells[:6]))
        print(f"round {i + 1}: two plain processes: {ceilings[-1]:.2f}x", file=sys.stderr)
        for workers in (1, 2) if i % 2 == 0 else (2, 1):
            run = one_run(workers, cells)
            runs.append(run)
            print(
                f"round {i + 1}: {workers} worker(s): sweep {run['sweep_seconds']:.1f} s "
                f"(start {run['startup_seconds']:.1f} s), cells {run['cell_wall_seconds']:.1f} s "
                f"wall / {run['cell_cpu_seconds']:.1f} s CPU, overhead "
                f"{run['overhead_per_cell'] * 100:.1f} %, contention {run['contention']:.2f}, "
                f"cores used {run['cores_used']:.2f}",
                file=sys.stderr,
            )
    one = [r for r in runs if r["workers"] == 1]
    two = [r for r in runs if r["workers"] == 2]
    pairs = [a["sweep_seconds"] / b["sweep_seconds"] for a, b in zip(one, two, strict=True)]
    summary = {
        "cells": len(cells),
        "mean_cell_cpu_seconds": statistics.mean(r["cell_cpu_seconds"] for r in runs) / len(cells),
        "speedup_per_round": pairs,
        "speedup_best": max(pairs),
        "speedup_median": statistics.median(pairs),
        "ceiling_per_round": ceilings,
        "overhead_per_cell_1_worker": statistics.median(r["overhead_per_cell"] for r in one),
        "overhead_per_cell_2_workers": statistics.median(r["overhead_per_cell"] for r in two),
        "contention_1_worker": statistics.median(r["contention"] for r in one),
        "contention_2_workers": statistics.median(r["contention"] for r in two),
        "cores_used_1_worker": statistics.median(r["cores_used"] for r in one),
        "cores_used_2_workers": statistics.median(r["cores_used"] for r in two),
        "runs": runs,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print(f"{len(cells)} cells of {summary['mean_cell_cpu_seconds']:.2f} s CPU each")
    print("speed-up 2 workers / 1: " + ", ".join(f"{p:.2f}x" for p in pairs)
          + f" (median {summary['speedup_median']:.2f}x)")  # fmt: skip
    print("two plain processes / one, the same cells: "
          + ", ".join(f"{c:.2f}x" for c in ceilings))  # fmt: skip
    one_pct = summary["overhead_per_cell_1_worker"] * 100
    two_pct = summary["overhead_per_cell_2_workers"] * 100
    print(f"scheduling overhead per cell: {one_pct:.1f} % (1 worker), {two_pct:.1f} % (2 workers)")
    print(f"contention (cell wall / CPU): {summary['contention_1_worker']:.2f} (1 worker), "
          f"{summary['contention_2_workers']:.2f} (2 workers)")  # fmt: skip
    print(f"cores used (cell CPU / sweep wall): {summary['cores_used_1_worker']:.2f} (1 worker), "
          f"{summary['cores_used_2_workers']:.2f} (2 workers)")  # fmt: skip


if __name__ == "__main__":
    main()
