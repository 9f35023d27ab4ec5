"""Figures of a sweep: lines with confidence intervals, and heatmaps.

Both read the ``cells`` view (:mod:`synack.sweep.query`), only cells whose
status is ``ok``. A line is the mean of ``y`` over the seeds (and any other
parameter left free) at each ``x``, one line per value of ``by``, with its 95 %
confidence interval (Student's t over the cells at that point). A heatmap is
the mean of ``z`` over an ``x`` by ``y`` grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synack.sweep.query import QueryError, connect
from synack.sweep.store import COLUMNS

if TYPE_CHECKING:
    from matplotlib.axes import Axes

# Student's t for a two-sided 95 % interval, by degrees of freedom (1 to 30).
_T95 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
    2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
    2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip
NUMERIC = {k for k, v in COLUMNS.items() if v in ("int64", "float64", "bool")}
# Parameters shown in other units than stored
SCALE = {"delay": (1000.0, "delay (ms, one way)"), "bandwidth": (1e-6, "bandwidth (Mbit/s)")}


def t95(n: int) -> float:
    return _T95[n - 2] if 2 <= n <= len(_T95) + 1 else 1.96


@dataclass
class Series:
    label: str
    x: list[float] = field(default_factory=list)
    mean: list[float] = field(default_factory=list)
    low: list[float] = field(default_factory=list)
    high: list[float] = field(default_factory=list)
    n: list[int] = field(default_factory=list)


def _column(name: str, numeric: bool = False) -> str:
    if name not in COLUMNS or (numeric and name not in NUMERIC):
        kinds = sorted(NUMERIC) if numeric else sorted(COLUMNS)
        raise QueryError(f"{name!r} is not a {'numeric ' if numeric else ''}column: use "
                         f"{', '.join(kinds)}")  # fmt: skip
    return name


def _where(where: str | None) -> str:
    return "status = 'ok'" + (f" AND ({where})" if where else "")


def _run(folder: str | Path, sql: str) -> list[tuple[Any, ...]]:
    import duckdb

    try:
        return connect(folder).execute(sql).fetchall()
    except duckdb.Error as exc:
        raise QueryError(str(exc).strip().splitlines()[0]) from None


def line_series(
    folder: str | Path, x: str, y: str, by: str | None = None, where: str | None = None
) -> list[Series]:
    """Mean and 95 % interval of ``y`` at each ``x``, one series per ``by`` value."""
    x, y = _column(x, numeric=True), _column(y, numeric=True)
    group = _column(by) if by else "'all'"
    rows = _run(folder, f"""
        SELECT CAST({group} AS VARCHAR) AS g, {x} AS x, avg({y}), stddev_samp({y}), count({y})
        FROM cells WHERE {_where(where)} AND {x} IS NOT NULL AND {y} IS NOT NULL
        GROUP BY g, x ORDER BY g, x""")  # fmt: skip
    series: dict[str, Series] = {}
    for g, xv, mean, sd, n in rows:
        s = series.setdefault(g, Series(f"{by}={g}" if by else y))
        half = t95(n) * sd / math.sqrt(n) if n > 1 and sd is not None else 0.0
        s.x.append(float(xv))
        s.mean.append(mean)
        s.low.append(mean - half)
        s.high.append(mean + half)
        s.n.append(n)
    return list(series.values())


def draw_lines(ax: Axes, series: list[Series], x: str, y: str, fmt: str = "o-") -> None:
    scale, label = SCALE.get(x, (1.0, x))
    for s in series:
        xs = [v * scale for v in s.x]
        (line,) = ax.plot(xs, s.mean, fmt, label=s.label, markersize=4)
        ax.fill_between(xs, s.low, s.high, color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_xlabel(label)
    ax.set_ylabel(y)


def heatmap_grid(
    folder: str | Path, x: str, y: str, z: str, where: str | None = None
) -> tuple[list[float], list[float], list[list[float | None]]]:
    """Mean ``z`` by (``y``, ``x``): the x values, the y values, rows of means."""
    x, y, z = (_column(c, numeric=True) for c in (x, y, z))
    rows = _run(folder, f"""
        SELECT {x}, {y}, avg({z}) FROM cells
        WHERE {_where(where)} AND {x} IS NOT NULL AND {y} IS NOT NULL
        GROUP BY {x}, {y}""")  # fmt: skip
    xs = sorted({float(r[0]) for r in rows})
    ys = sorted({float(r[1]) for r in rows})
    grid: list[list[float | None]] = [[None] * len(xs) for _ in ys]
    for xv, yv, zv in rows:
        grid[ys.index(float(yv))][xs.index(float(xv))] = zv
    return xs, ys, grid


def draw_heatmap(
    ax: Axes, xs: list[float], ys: list[float], grid: list[list[float | None]], x: str, y: str,
    z: str,
) -> None:  # fmt: skip
    import numpy as np

    values = np.array([[math.nan if v is None else v for v in row] for row in grid])
    image = ax.imshow(values, origin="lower", aspect="auto", cmap="viridis")
    sx, lx = SCALE.get(x, (1.0, x))
    sy, ly = SCALE.get(y, (1.0, y))
    ax.set_xticks(range(len(xs)), [f"{v * sx:g}" for v in xs])
    ax.set_yticks(range(len(ys)), [f"{v * sy:g}" for v in ys])
    ax.set_xlabel(lx)
    ax.set_ylabel(ly)
    for i, row in enumerate(grid):
        for j, v in enumerate(row):
            if v is not None:
                ax.text(j, i, f"{v:.3g}", ha="center", va="center", color="w", fontsize=8)
    ax.figure.colorbar(image, ax=ax, label=z)


def plot(
    folder: str | Path, out: str | Path, x: str, y: str, by: str | None = None,
    z: str | None = None, where: str | None = None, logx: bool = False, logy: bool = False,
    title: str | None = None,
) -> int:  # fmt: skip
    """Draw lines of ``y`` against ``x`` (or with ``z``, a heatmap of ``z`` over
    ``x`` by ``y``) into ``out``; the number of cells drawn."""
    from synack.trace.plot import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    try:
        if z is not None:
            xs, ys, grid = heatmap_grid(folder, x, y, z, where)
            if not xs:
                raise QueryError("no finished cell matches: nothing to plot")
            draw_heatmap(ax, xs, ys, grid, x, y, z)
            count = sum(v is not None for row in grid for v in row)
        else:
            series = line_series(folder, x, y, by, where)
            if not series:
                raise QueryError("no finished cell matches: nothing to plot")
            draw_lines(ax, series, x, y)
            if logx:
                ax.set_xscale("log")
            if logy:
                ax.set_yscale("log")
            ax.grid(True, alpha=0.3)
            ax.legend()
            count = sum(sum(s.n) for s in series)
        ax.set_title(title or (f"mean {z}" if z else f"{y}: mean and 95% interval"))
        fig.tight_layout()
        fig.savefig(out)
    finally:
        plt.close(fig)
    return count
