"""The same seeded network, once per congestion-control algorithm.

``synack simulate --compare cubic,newreno`` runs one connection per
algorithm over identical links (same seed, so the same random losses for
the same packets sent), and reports throughput, retransmissions and the
RTT each saw: :func:`comparison_table` as a table, :func:`plot_comparison`
as their windows in one figure.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from rich.table import Table

from synack.sim.network import LinkConfig
from synack.sim.scale import Percentiles, simulate
from synack.tcp.config import TcpConfig
from synack.trace.plot import PlotError, plot_path, pyplot
from synack.trace.records import MetricSample, TraceRecorder


@dataclass(frozen=True, slots=True)
class Comparison:
    algorithm: str
    ok: bool
    seconds: float  # virtual: first to last data acknowledged by the receiver
    throughput_mbit: float
    retransmitted_segments: int
    timeouts: int
    rtt_p50_ms: float | None
    rtt_p99_ms: float | None
    samples: list[MetricSample]


def compare(
    algorithms: list[str],
    bytes_down: int,
    c2s: LinkConfig,
    s2c: LinkConfig,
    seed: int = 1,
    config: TcpConfig | None = None,
) -> list[Comparison]:
    """One run per algorithm, the server sending ``bytes_down`` to the client."""
    base = config if config is not None else TcpConfig(msl=1.0)
    results = []
    for algorithm in algorithms:
        recorder = TraceRecorder(metrics=True)
        run = simulate(
            1, bytes_up=0, bytes_down=bytes_down, c2s=c2s, s2c=s2c, seed=seed,
            msl=base.msl, config=replace(base, congestion_control=algorithm), recorder=recorder,
        )  # fmt: skip
        samples = [s for s in recorder.metrics if s.endpoint == "server"]
        busy = [s.t for s in samples if s.flight]
        seconds = (max(busy) - min(busy)) if len(busy) > 1 else 0.0
        spread = Percentiles.of([s.srtt * 1000 for s in samples if s.srtt is not None])
        results.append(
            Comparison(
                algorithm,
                run.ok,
                seconds,
                bytes_down * 8 / seconds / 1e6 if seconds else 0.0,
                run.retransmitted_segments,
                run.timeouts,
                spread.p50 if spread is not None else None,
                spread.p99 if spread is not None else None,
                samples,
            )
        )
    return results


def comparison_table(results: list[Comparison], bytes_down: int, seed: int) -> Table:
    """One row per algorithm: throughput, time, retransmissions, RTOs, RTT."""
    table = Table(title=f"{bytes_down:,} bytes from the server, seed {seed}")
    for column in ("algorithm", "Mbit/s", "seconds", "retransmits", "RTOs", "RTT p50", "RTT p99"):
        table.add_column(column, justify="left" if column == "algorithm" else "right")
    for r in results:
        table.add_row(
            r.algorithm + ("" if r.ok else " (failed)"), f"{r.throughput_mbit:,.2f}",
            f"{r.seconds:.2f}", str(r.retransmitted_segments), str(r.timeouts),
            _ms(r.rtt_p50_ms), _ms(r.rtt_p99_ms),
        )  # fmt: skip
    return table


def _ms(value: float | None) -> str:
    return f"{value:.1f} ms" if value is not None else "-"


def plot_comparison(results: list[Comparison], path: str | Path) -> None:
    """Each algorithm's congestion window over time, in one figure."""
    path = plot_path(path)
    if not any(r.samples for r in results):
        raise PlotError("nothing to plot: no algorithm sent data")
    plt = pyplot()
    fig, (ax_w, ax_r) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    for r in results:
        t = [s.t for s in r.samples]
        ax_w.plot(t, [s.cwnd / 1000 for s in r.samples], label=f"{r.algorithm} cwnd")
        ax_r.plot(t, [s.srtt * 1000 if s.srtt else None for s in r.samples], label=r.algorithm)
    ax_w.set_ylabel("KB")
    ax_w.set_title("congestion window, same network and seed")
    ax_w.legend()
    ax_r.set_ylabel("ms")
    ax_r.set_title("smoothed RTT")
    ax_r.set_xlabel("time (s)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
