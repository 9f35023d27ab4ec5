"""``synack bench``: what synack's TCP costs, measured in one process.

The benchmarks are grouped as :data:`BENCHMARKS` names them and :func:`run`
runs them: the engine and Hosts in memory on a virtual clock
(:mod:`synack.bench.engine`), the out-of-order queue under one-byte
segments at every other byte (:mod:`synack.bench.reassembly`), many
connections on the simulated network (:mod:`synack.bench.sim`), the
kernel's TCP on loopback for reference (:mod:`synack.bench.kernel`), and
synack against the kernel through a TUN device (:mod:`synack.bench.tun`,
root only). :mod:`synack.bench.results` holds what they return;
:mod:`synack.bench.report` draws it as tables.
Tests never assert on wall time.
"""

from __future__ import annotations

from dataclasses import dataclass

from synack.bench.engine import (
    bench_bulk_engine,
    bench_bulk_hosts,
    bench_lifecycle,
    bench_lifecycle_engine,
    bench_memory_established,
    bench_memory_time_wait,
)
from synack.bench.kernel import bench_kernel
from synack.bench.reassembly import bench_reassembly
from synack.bench.results import (
    MIB,
    SIM_TARGET,
    AsgiResult,
    BulkResult,
    Figure,
    KernelResult,
    LifecycleResult,
    MemoryResult,
    Progress,
    ReassemblyResult,
    Result,
    SimResult,
    TunResult,
    figures,
    kernel_ratios,
    no_progress,
    to_json,
)
from synack.bench.sim import bench_sim

__all__ = [
    "BENCHMARKS", "FULL", "QUICK", "SIM_TARGET", "AsgiResult", "BulkResult", "Figure",
    "KernelResult", "LifecycleResult", "MemoryResult", "ReassemblyResult", "Result", "SimResult",
    "Sizes",
    "TunResult", "bench_bulk_engine", "bench_bulk_hosts", "bench_kernel", "bench_lifecycle",
    "bench_lifecycle_engine", "bench_memory_established", "bench_memory_time_wait",
    "bench_reassembly", "bench_sim", "figures", "kernel_ratios", "run", "to_json",
]  # fmt: skip


BENCHMARKS = (
    "lifecycle", "bulk", "memory", "reassembly", "kernel", "sim", "tun", "analyze", "asgi",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Sizes:
    lifecycles: int
    bulk_bytes: int
    memory_count: int
    sim_connections: int = 10_000
    reassembly_segments: int = 100_000  # one-byte segments held, then as many to fill


FULL = Sizes(lifecycles=20_000, bulk_bytes=64 * MIB, memory_count=100_000)
QUICK = Sizes(
    lifecycles=2_000, bulk_bytes=4 * MIB, memory_count=5_000, sim_connections=500,
    reassembly_segments=5_000,
)  # fmt: skip


def run(
    which: str = "all",
    quick: bool = False,
    progress: Progress = no_progress,
    tun_mtus: tuple[int, ...] = (65535,),
) -> list[Result]:
    """Run one benchmark group (``lifecycle``, ``bulk``, ``memory``, ``reassembly``,
    ``kernel``, ``sim``, ``tun``, ``analyze``, ``asgi``) or ``all`` (every one but
    ``tun`` and ``asgi``, which need root, and ``analyze``).
    ``tun`` measures each of ``tun_mtus`` without offloads and with them."""
    if which != "all" and which not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {which!r}: pick from {BENCHMARKS} or 'all'")
    sizes = QUICK if quick else FULL
    results: list[Result] = []
    if which in ("all", "lifecycle"):
        results.append(bench_lifecycle_engine(sizes.lifecycles, progress=progress))
        results.append(bench_lifecycle(sizes.lifecycles, progress=progress))
    if which in ("all", "bulk"):
        results.append(bench_bulk_engine(sizes.bulk_bytes, progress=progress))
        results.append(bench_bulk_hosts(sizes.bulk_bytes, progress=progress))
    if which in ("all", "memory"):
        results.append(bench_memory_established(sizes.memory_count, progress=progress))
        results.append(bench_memory_time_wait(sizes.memory_count, progress=progress))
    if which in ("all", "reassembly"):
        for order in ("ascending", "random"):
            results.append(bench_reassembly(sizes.reassembly_segments, order, progress=progress))
    if which in ("all", "sim"):
        results.append(bench_sim(sizes.sim_connections, progress=progress))
    if which == "tun":  # needs root and a lab of its own: never part of "all"
        from synack.bench.tun import bench_tun

        for mtu in tun_mtus:
            for offload in (False, True):
                if quick:
                    results.append(bench_tun(10_000_000, 300, mtu, progress, offload))
                else:
                    results.append(bench_tun(mtu=mtu, progress=progress, offload=offload))
    if which == "analyze":  # needs tshark and makes a big capture: never part of "all"
        from synack.bench.analyze import bench_analyze

        if quick:
            results.append(bench_analyze(2_000, 20_000, progress=progress))
        else:
            results.append(bench_analyze(progress=progress))
    if which == "asgi":  # needs root and a lab of its own: never part of "all"
        from synack.bench.asgi import bench_asgi

        if quick:
            results.append(bench_asgi(500, 8, 100, progress=progress))
        else:
            results.append(bench_asgi(progress=progress))
    if which in ("all", "kernel", "lifecycle", "bulk"):
        progress("kernel (loopback)", 0.0)
        results.append(bench_kernel(min(sizes.lifecycles, 5_000), sizes.bulk_bytes))
        progress("kernel (loopback)", 1.0)
    return results
