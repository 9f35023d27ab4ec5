"""Sweeps that reproduce known results, each drawn beside its formula.

- ``mathis``: NewReno's goodput under random loss against the Mathis,
  Semke, Mahdavi and Ott (1997) formula, MSS / RTT x sqrt(3 / (2 b p)),
  drawn for b = 1 (1.22 / sqrt(p)) and b = 2 segments per ACK (delayed ACKs).
- ``rtt``: CUBIC and NewReno across RTTs at one loss rate, each beside its
  response function: NewReno's (the Mathis formula, falling as 1/RTT) and
  CUBIC's (RFC 9438 5.1: its average window is the larger of the Reno-friendly
  window and (C (3 + b) / (4 (1 - b)))^(1/4) x RTT^(3/4) / p^(3/4), so its
  rate falls as RTT^(-1/4) once RTT x rate is large). The gap between the
  two lines is why CUBIC is fairer than Reno to long-RTT flows.
- ``syn``: the time a connect takes when SYNs are lost with probability p
  (and nothing else is): RTT + RTO x p / (1 - 2p), the mean of
  RTT + (2^k - 1) RTO over k lost SYNs with P(k) = p^k (1 - p), for an
  initial RTO of 1 s doubled at each retransmission (RFC 6298 2.1, 5.5).
- ``timewait``: TIME-WAIT records a client holds against its connection rate
  and the MSL: by Little's law, rate x 2 MSL (RFC 9293 3.6.1: a record lives
  2 MSL), measured as the mean over the steady part of the run.

Each recipe is a grid (a full one and a ``quick`` one) and a drawing that
reads the dataset.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synack.sweep.plot import draw_lines, line_series

MSS = 1448  # 1460 less the 12 bytes of timestamps
CUBIC_C = 0.4  # RFC 9438 4.2
CUBIC_BETA = 0.7  # RFC 9438 4.6
RTO_INITIAL = 1.0  # RFC 6298 2.1


def mathis_mbit(rtt: float, p: float, acked_per_ack: int = 1) -> float:
    """MSS / RTT x sqrt(3 / (2 b p)): b = 1 segment per ACK gives the 1.22 of the
    paper's abstract, b = 2 (delayed ACKs) 0.87 (its section 2.2)."""
    return MSS * 8 / rtt * math.sqrt(3 / (2 * acked_per_ack * p)) / 1e6


def cubic_mbit(rtt: float, p: float) -> float:
    """RFC 9438 5.1's average window, in its CUBIC or Reno-friendly region."""
    k = (CUBIC_C * (3 + CUBIC_BETA) / (4 * (1 - CUBIC_BETA))) ** 0.25
    window = max(k * rtt**0.75 / p**0.75, math.sqrt(1.5) / math.sqrt(p))
    return float(window * MSS * 8 / rtt / 1e6)


def syn_mean_ms(rtt: float, p: float) -> float:
    return (rtt + RTO_INITIAL * p / (1 - 2 * p)) * 1000


@dataclass(frozen=True)
class Recipe:
    name: str
    title: str
    grid: dict[str, str]
    quick: dict[str, str]  # replaces grid's entries
    draw: Callable[[Any, str | Path], None]  # (matplotlib axes, dataset folder)

    def axes(self, quick: bool) -> dict[str, str]:
        return {**self.grid, **self.quick} if quick else dict(self.grid)


def _draw_mathis(ax: Any, folder: str | Path) -> None:
    series = line_series(folder, "loss", "goodput_mbit", "cc")
    draw_lines(ax, series, "loss", "goodput_mbit")
    rtt = 2 * _one(folder, "delay")
    ps = sorted({p for s in series for p in s.x})
    fine = _fine(ps)
    ax.plot(fine, [mathis_mbit(rtt, p) for p in fine], "k--",
            label=f"Mathis: MSS/RTT x 1.22/sqrt(p), RTT {rtt * 1000:g} ms")  # fmt: skip
    ax.plot(fine, [mathis_mbit(rtt, p, 2) for p in fine], "k:",
            label="the same with delayed ACKs (b = 2): 0.87/sqrt(p)")  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("loss probability p (server to client)")
    ax.set_ylabel("goodput (Mbit/s)")


def _draw_rtt(ax: Any, folder: str | Path) -> None:
    series = line_series(folder, "delay", "goodput_mbit", "cc")
    p = _one(folder, "loss")
    for s in series:
        s.x = [2 * v for v in s.x]  # one-way delay -> RTT
    draw_lines(ax, series, "rtt", "goodput_mbit")
    rtts = _fine(sorted({v for s in series for v in s.x}))
    ax.plot([r for r in rtts], [mathis_mbit(r, p) for r in rtts], "k--",
            label="NewReno model (Mathis), ~1/RTT")  # fmt: skip
    ax.plot([r for r in rtts], [cubic_mbit(r, p) for r in rtts], "k:",
            label="CUBIC model (RFC 9438 5.1), ~RTT^-1/4 when large")  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"RTT (s), loss p = {p:g}")
    ax.set_ylabel("goodput (Mbit/s)")


def _draw_syn(ax: Any, folder: str | Path) -> None:
    series = line_series(folder, "loss", "handshake_mean_ms", "cc")
    for s in series:
        s.label = "measured mean (95% interval over seeds)"
    draw_lines(ax, series, "loss", "handshake_mean_ms")
    rtt = 2 * _one(folder, "delay")
    ps = _fine(sorted({p for s in series for p in s.x}), log=False)
    ax.plot(ps, [syn_mean_ms(rtt, p) for p in ps], "k--",
            label="RTT + RTO x p/(1-2p) (RFC 6298 backoff, RTO 1 s)")  # fmt: skip
    ax.set_ylim(bottom=0)
    ax.set_xlabel("probability a SYN is lost")
    ax.set_ylabel("connect time (ms)")


def _draw_timewait(ax: Any, folder: str | Path) -> None:
    series = line_series(folder, "rate", "time_wait_mean", "msl")
    draw_lines(ax, series, "rate", "time_wait_mean")
    rates = sorted({r for s in series for r in s.x})
    for s in series:
        msl = float(s.label.split("=")[1])
        ax.plot(rates, [r * 2 * msl for r in rates], "k--", linewidth=0.8)
    ax.plot([], [], "k--", linewidth=0.8, label="rate x 2 MSL (Little's law)")
    ax.set_ylim(bottom=0)
    ax.set_xlabel("connections per second")
    ax.set_ylabel("TIME-WAIT records held (mean)")


def _one(folder: str | Path, column: str) -> float:
    from synack.sweep.query import QueryError, query

    _, rows = query(folder, f"SELECT DISTINCT {column} FROM cells WHERE status = 'ok'")
    if len(rows) != 1:
        raise QueryError(f"the recipe's figure needs one {column}, the dataset has {len(rows)}")
    return float(rows[0][0])


def _fine(values: list[float], log: bool = True) -> list[float]:
    """60 points across ``values``' range, for a smooth formula line."""
    if not values:
        return []
    low, high = min(values), max(values)
    if log and low > 0:
        return [low * (high / low) ** (i / 59) for i in range(60)]
    return [low + (high - low) * i / 59 for i in range(60)]


RECIPES = {
    r.name: r
    for r in (
        Recipe(
            "mathis", "NewReno under random loss: the Mathis curve",
            {"cc": "newreno", "loss": "0.2%,0.5%,1%,2%", "loss_on": "s2c", "delay": "50ms",
             "bytes": "6m", "buffer": "8mi", "seed": "1-4"},
            {"loss": "0.5%,1%,2%", "bytes": "2m", "seed": "1-2"},
            _draw_mathis,
        ),
        Recipe(
            "rtt", "CUBIC and NewReno across RTTs at 0.5 % loss",
            {"cc": "cubic,newreno", "loss": "0.5%", "loss_on": "s2c",
             "delay": "10ms,25ms,50ms,100ms,200ms", "bytes": "6m", "buffer": "8mi",
             "seed": "1-3"},
            {"delay": "10ms,50ms,200ms", "bytes": "2m", "seed": "1-2"},
            _draw_rtt,
        ),
        Recipe(
            "syn", "Connect time when SYNs are lost (RFC 6298 backoff)",
            {"loss": "0,5%,10%,20%,30%", "loss_on": "c2s", "delay": "10ms", "bytes": "0",
             "flows": "500", "seed": "1-5"},
            {"loss": "0,10%,30%", "flows": "60", "seed": "1-2"},
            _draw_syn,
        ),
        Recipe(
            "timewait", "TIME-WAIT records against connection rate and MSL",
            {"rate": "20,50,100,200", "msl": "0.5,1,2", "flows": "1600", "bytes": "1000",
             "seed": "1-2"},
            {"rate": "20,50,100", "msl": "0.5,1", "flows": "600", "seed": "1"},
            _draw_timewait,
        ),
    )
}  # fmt: skip


def draw(recipe: Recipe, folder: str | Path, out: str | Path) -> None:
    from synack.trace.plot import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    try:
        recipe.draw(ax, folder)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        ax.set_title(recipe.title)
        fig.tight_layout()
        fig.savefig(out)
    finally:
        plt.close(fig)
