"""Running cells on Dask and writing their rows as they finish.

A sweep never schedules anything itself: every cell is one Dask task
(:func:`run_one`), handed to a ``distributed`` cluster, either a
``LocalCluster`` started here (one single-threaded worker process per core
unless told otherwise: the simulator is pure Python, so threads would share
one core) or an existing one by its scheduler's address. Rows come back in
the order cells finish (``as_completed``) and go to the dataset at once.

A cell that raises is a row with ``status = 'failed'`` and the error; a
worker that dies mid-cell makes Dask try the cell elsewhere (``retries``),
and if it still fails the row records that too. The sweep goes on either way.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from synack.sweep.cell import failed_row, run_cell
from synack.sweep.grid import Cell
from synack.sweep.store import COLUMNS, Writer, finished

if TYPE_CHECKING:
    from distributed import Client

T = TypeVar("T")
R = TypeVar("R")
SweepProgress = Callable[[int, int, int], None]  # done, total, failed so far
_ADDRESS = re.compile(
    r"^(tcp|tls)://[^\s/:]+(:\d{1,5})?$|^(tcp|tls)://\[[0-9a-fA-F:.]+\](:\d{1,5})?$"
)


class ClusterError(RuntimeError):
    """No cluster to run on; the message is one line."""


def check_address(address: str) -> str:
    if not _ADDRESS.match(address):
        raise ClusterError(f"{address!r} is not a scheduler address: use tcp://HOST:PORT")
    return address


@contextlib.contextmanager
def cluster(workers: int | None = None, scheduler: str | None = None) -> Iterator[Client]:
    """A Dask client: of the scheduler at ``scheduler``, or of a LocalCluster of
    ``workers`` single-threaded processes (default: one per core), bound to
    127.0.0.1 (its HTTP server too: a free port, the dashboard if bokeh is
    installed) and closed on the way out."""
    from distributed import Client, LocalCluster

    if scheduler is not None:
        check_address(scheduler)
        try:
            client = Client(scheduler, timeout="5s")  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"no Dask scheduler answers at {scheduler}: {exc}") from None
        try:
            yield client
        finally:
            client.close()  # type: ignore[no-untyped-call]
        return
    n = workers if workers is not None else (os.cpu_count() or 1)
    with (
        LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR,
        ) as local,
        Client(local) as client,  # type: ignore[no-untyped-call]
    ):  # fmt: skip
        yield client


def run_one(cell: Cell) -> dict[str, Any]:
    """The task of one cell: its row, or its failed row if it raised."""
    started = time.perf_counter()
    try:
        return run_cell(cell)
    except Exception as exc:  # any error is the cell's result
        return failed_row(cell, exc, time.perf_counter() - started)


def stream(
    client: Client,
    task: Callable[[T], R],
    items: Sequence[T],
    on_row: Callable[[T, R], None],
    on_error: Callable[[T, BaseException], R],
    retries: int = 1,
) -> None:
    """Submit ``task`` for every item and hand each row to ``on_row`` as it
    finishes; a task Dask could not run (a worker died ``retries`` + 1 times)
    becomes ``on_error``'s row."""
    from distributed import as_completed

    token = uuid.uuid4().hex[:8]
    futures = {
        client.submit(task, item, key=f"synack-{token}-{i}", pure=False, retries=retries): item
        for i, item in enumerate(items)
    }
    for future in as_completed(futures):  # type: ignore[no-untyped-call]
        item = futures.pop(future)
        try:
            row = future.result()
        except Exception as exc:  # the task's failure is a row
            row = on_error(item, exc)
        on_row(item, row)
        future.release()


@dataclass
class SweepReport:
    cells: int  # in the grid
    skipped: int  # already in the dataset
    ran: int = 0
    failed: int = 0
    wall_seconds: float = 0.0
    cell_seconds: float = 0.0  # the cells' own wall times, summed
    errors: list[str] = field(default_factory=list)  # the first few


def pending_cells(cells: Sequence[Cell], folder: str | Path, retry_failed: bool) -> list[Cell]:
    """The cells of the grid the dataset has no row for (or only a failed one,
    with ``retry_failed``)."""
    done = finished(folder)
    return [
        c for c in cells
        if c.cell_id not in done or (retry_failed and done[c.cell_id] == "failed")
    ]  # fmt: skip


def run_sweep(
    cells: Sequence[Cell],
    folder: str | Path,
    client: Client,
    retry_failed: bool = False,
    progress: SweepProgress | None = None,
    flush_every: float = 1.0,
) -> SweepReport:
    """Run the cells of ``cells`` the dataset in ``folder`` lacks, on ``client``'s
    cluster, writing rows as they finish (a file at most every ``flush_every``
    seconds, and at the end)."""
    todo = pending_cells(cells, folder, retry_failed)
    report = SweepReport(len(cells), len(cells) - len(todo))
    writer = Writer(folder, COLUMNS)
    started = last_flush = time.perf_counter()
    if progress is not None:
        progress(0, len(todo), 0)

    def on_row(cell: Cell, row: dict[str, Any]) -> None:
        nonlocal last_flush
        writer.add(row)
        report.ran += 1
        report.cell_seconds += row.get("wall_seconds") or 0.0
        if row["status"] != "ok":
            report.failed += 1
            if len(report.errors) < 5:
                report.errors.append(f"cell {cell.cell_id}: {row['error']}")
        if time.perf_counter() - last_flush >= flush_every:
            writer.flush()
            last_flush = time.perf_counter()
        if progress is not None:
            progress(report.ran, len(todo), report.failed)

    try:
        stream(client, run_one, todo, on_row, lambda cell, exc: failed_row(cell, exc))
    finally:
        writer.flush()
    report.wall_seconds = time.perf_counter() - started
    return report
