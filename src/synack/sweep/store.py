"""A sweep's dataset: a folder of Parquet files, one row per finished cell.

Rows are written as cells finish, in small files (``part-*.parquet``) so
that a sweep stopped at any point keeps what it wrote; every file has the
same schema (:data:`COLUMNS`). A cell run again (``--retry-failed``) adds a
row; readers take the latest row of each ``cell_id`` (:data:`LATEST_VIEW`).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa  # type: ignore[import-untyped]

# Column name -> Arrow type name; parameters first, then what was measured.
COLUMNS: dict[str, str] = {
    "cell_id": "string",
    # parameters (synack.sweep.grid.Cell)
    "cc": "string", "loss": "float64", "loss_on": "string", "delay": "float64",
    "bandwidth": "float64", "queue": "int64", "flows": "int64", "bytes": "int64",
    "buffer": "int64", "options": "string", "msl": "float64", "rate": "float64",
    "seed": "int64", "timeout": "float64",
    # outcome
    "status": "string", "error": "string",
    "completed": "int64", "failed": "int64", "ok": "bool",
    "throughput_mbit": "float64", "goodput_mbit": "float64", "jain": "float64",
    "retransmissions": "int64", "timeouts": "int64", "fast_retransmits": "int64",
    "rtt_samples": "int64", "rtt_p50_ms": "float64", "rtt_p90_ms": "float64",
    "rtt_p99_ms": "float64",
    "handshakes": "int64", "handshake_mean_ms": "float64", "handshake_p50_ms": "float64",
    "handshake_p90_ms": "float64", "handshake_p99_ms": "float64", "handshake_max_ms": "float64",
    "time_wait_peak": "int64", "time_wait_mean": "float64",
    "packets": "int64", "packets_lost": "int64", "virtual_seconds": "float64",
    "settled": "bool", "wall_seconds": "float64", "cpu_seconds": "float64", "worker": "string",
    "finished_at": "timestamp[ms, tz=UTC]",
}  # fmt: skip

# DuckDB: the latest row of each cell (a failed cell run again keeps its old row too).
LATEST_VIEW = (
    "CREATE VIEW cells AS SELECT * EXCLUDE (rn) FROM (SELECT *, row_number() OVER "
    "(PARTITION BY cell_id ORDER BY finished_at DESC) AS rn FROM read_parquet({glob}, "
    "union_by_name => true)) WHERE rn = 1"
)


class StoreError(ValueError):
    """A dataset folder that cannot be used; the message is one line."""


def schema(columns: dict[str, str] = COLUMNS) -> pa.Schema:
    import pyarrow as pa

    def arrow(name: str) -> pa.DataType:
        if name.startswith("timestamp"):
            return pa.timestamp("ms", tz="UTC")
        return pa.type_for_alias(name)

    return pa.schema([(k, arrow(v)) for k, v in columns.items()])


def parts(folder: str | Path) -> list[Path]:
    return sorted(Path(folder).glob("part-*.parquet"))


def check_folder(folder: str | Path, create: bool) -> Path:
    """``folder`` as a dataset folder: refused if it is a file, or (``create``
    False) if it holds no dataset."""
    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise StoreError(f"{str(path)!r} is a file, not a dataset folder")
    if not create:
        if not path.is_dir() or not parts(path):
            raise StoreError(f"{str(path)!r} holds no sweep results (part-*.parquet)")
        return path
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create {str(path)!r}: {exc.strerror or exc}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise StoreError(f"cannot write in {str(path)!r}: permission denied")
    return path


def finished(folder: str | Path) -> dict[str, str]:
    """cell_id -> status of the latest row of every cell in the dataset."""
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    latest: dict[str, tuple[Any, str]] = {}
    for part in parts(folder):
        try:
            table = pq.read_table(part, columns=["cell_id", "status", "finished_at"])
        except Exception as exc:  # pyarrow raises many kinds
            raise StoreError(f"cannot read {str(part)!r}: {exc}") from None
        for cell_id, status, at in zip(
            *(table.column(c).to_pylist() for c in ("cell_id", "status", "finished_at")),
            strict=True,
        ):
            if cell_id not in latest or at >= latest[cell_id][0]:
                latest[cell_id] = (at, status)
    return {k: v[1] for k, v in latest.items()}


class Writer:
    """Appends rows to a dataset folder, a new part file per flush."""

    def __init__(self, folder: str | Path, columns: dict[str, str] = COLUMNS) -> None:
        self.folder = Path(folder)
        self.columns = columns
        self.pending: list[dict[str, Any]] = []
        self.written = 0
        self._run = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
        self._n = 0

    def add(self, row: dict[str, Any]) -> None:
        import datetime as dt

        row.setdefault("finished_at", dt.datetime.now(dt.UTC))
        self.pending.append(row)

    def flush(self) -> None:
        """Write the pending rows as one file (written aside, then renamed)."""
        if not self.pending:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        rows = [{k: row.get(k) for k in self.columns} for row in self.pending]
        table = pa.Table.from_pylist(rows, schema=schema(self.columns))
        name = f"part-{self._run}-{self._n:05d}.parquet"
        tmp = self.folder / f".{name}.tmp"
        pq.write_table(table, tmp)
        tmp.rename(self.folder / name)
        self._n += 1
        self.written += len(self.pending)
        self.pending.clear()

    def extend(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            self.add(row)
