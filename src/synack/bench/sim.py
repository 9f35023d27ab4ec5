"""The simulator benchmark: many connections at once on the simulated network."""

from __future__ import annotations

import gc

from synack.bench.results import Progress, SimResult, no_progress
from synack.sim.scale import simulate


def bench_sim(
    connections: int = 10_000, nbytes: int = 10_000, progress: Progress = no_progress
) -> SimResult:
    """``connections`` connections at once through :func:`synack.sim.scale.simulate`:
    10 client hosts, one server, 10 ms links, no loss, ``nbytes`` each way. The
    figure is simulated packets per wall second, TIME-WAIT expiry included."""
    label = "simulated connections"

    def report(done: int, total: int) -> None:
        progress(label, done / total)

    gc.collect()
    result = simulate(connections, bytes_up=nbytes, bytes_down=nbytes, progress=report)
    if not result.ok:
        raise RuntimeError(f"simulated connections did not all finish: {result.to_dict()}")
    hs = result.handshake_ms
    return SimResult(
        connections, nbytes, result.wall_seconds, result.packets, result.packets_per_second,
        result.virtual_seconds, result.completed, result.retransmitted_segments,
        hs.p99 if hs is not None else 0.0,
    )  # fmt: skip
