"""Cells on a Dask cluster (in this process, so a cell can be made to fail),
rows written as they finish, a rerun skipping what is there; the dataset read
back with DuckDB and drawn."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from synack.sweep import runner
from synack.sweep.grid import Cell, build_grid
from synack.sweep.plot import line_series, plot
from synack.sweep.query import QueryError, query
from synack.sweep.store import StoreError, check_folder, finished

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address="127.0.0.1:0",
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as c,
    ):  # fmt: skip
        yield c


def grid_cells() -> list[Cell]:
    return build_grid(
        {"cc": "cubic,newreno", "loss": "0,2%", "bytes": "50k", "seed": "1,2"}
    ).cells()


def test_a_sweep_writes_a_row_per_cell_and_a_rerun_skips_them(
    client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cells = grid_cells()
    doomed = cells[5]
    real = runner.run_cell

    def sometimes_fails(cell: Cell) -> dict[str, Any]:
        if cell == doomed:
            raise RuntimeError("boom")
        return real(cell)

    monkeypatch.setattr(runner, "run_cell", sometimes_fails)
    seen: list[tuple[int, int, int]] = []
    report = runner.run_sweep(cells, tmp_path, client, progress=lambda *a: seen.append(a))
    assert (report.cells, report.skipped, report.ran, report.failed) == (8, 0, 8, 1)
    assert report.errors == [f"cell {doomed.cell_id}: RuntimeError: boom"]
    assert seen[0] == (0, 8, 0) and seen[-1] == (8, 8, 1)
    status = finished(tmp_path)
    assert len(status) == 8
    assert status[doomed.cell_id] == "failed"

    # the rerun skips all eight, failed or not; --retry-failed runs the failed one again
    again = runner.run_sweep(cells, tmp_path, client)
    assert (again.skipped, again.ran) == (8, 0)
    monkeypatch.setattr(runner, "run_cell", real)
    retried = runner.run_sweep(cells, tmp_path, client, retry_failed=True)
    assert (retried.skipped, retried.ran, retried.failed) == (7, 1, 0)
    assert finished(tmp_path)[doomed.cell_id] == "ok"

    # rows: 9 written; cells: the latest of each, 8
    _, rows = query(tmp_path, "SELECT count(*) FROM rows")
    assert rows == [(9,)]
    _, rows = query(tmp_path, "SELECT count(*), count(DISTINCT cell_id), min(status) FROM cells")
    assert rows == [(8, 8, "ok")]
    cols, rows = query(tmp_path, "SELECT cc, loss, seed, retransmissions FROM cells ORDER BY ALL")
    assert cols == ["cc", "loss", "seed", "retransmissions"]
    assert [r[:3] for r in rows[:2]] == [("cubic", 0.0, 1), ("cubic", 0.0, 2)]
    assert all(r[3] == 0 for r in rows if r[1] == 0.0)

    # lines: one per cc, a point per loss with two seeds each
    series = line_series(tmp_path, "loss", "goodput_mbit", "cc")
    assert [s.label for s in series] == ["cc=cubic", "cc=newreno"]
    assert all(s.x == [0.0, 0.02] and s.n == [2, 2] for s in series)
    assert all(
        lo <= m <= hi for s in series for lo, m, hi in zip(s.low, s.mean, s.high, strict=True)
    )
    figure = tmp_path / "lines.png"
    assert plot(tmp_path, figure, "loss", "goodput_mbit", by="cc") == 8
    assert figure.read_bytes()[:4] == b"\x89PNG"
    heat = tmp_path / "heat.svg"
    assert plot(tmp_path, heat, "seed", "loss", z="retransmissions", where="cc = 'cubic'") == 4
    assert b"<svg" in heat.read_bytes()[:500]


def test_queries_and_plots_refuse_what_they_cannot_do(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="holds no sweep results"):
        query(tmp_path, "SELECT 1")
    (tmp_path / "file").write_text("")
    with pytest.raises(StoreError, match="is a file"):
        check_folder(tmp_path / "file", create=True)


def test_bad_sql_and_columns_are_one_line_errors(client: Any, tmp_path: Path) -> None:
    runner.run_sweep(grid_cells()[:1], tmp_path, client)
    with pytest.raises(QueryError) as info:
        query(tmp_path, "SELEC nonsense")
    assert "\n" not in str(info.value)
    with pytest.raises(QueryError, match="'colour' is not a numeric column"):
        line_series(tmp_path, "colour", "goodput_mbit")
    with pytest.raises(QueryError, match="nothing to plot"):
        plot(tmp_path, tmp_path / "x.png", "loss", "goodput_mbit", where="loss > 1")
