"""SQL over a sweep's dataset with DuckDB.

Two views: ``cells``, the latest row of each cell (what a query usually
wants), and ``rows``, every row ever written (a cell run again after a
failure has both). A dataset of captures (``synack sweep analyze``) has
``rows`` only: one per connection.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from synack.sweep.store import LATEST_VIEW, check_folder

if TYPE_CHECKING:
    import duckdb


class QueryError(ValueError):
    """SQL DuckDB refused; the message is one line."""


def connect(folder: str | Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the views ``cells`` and ``rows`` over ``folder``."""
    import duckdb

    path = check_folder(folder, create=False)
    glob = str(path / "part-*.parquet").replace("'", "''")
    con = duckdb.connect(":memory:")
    con.execute(f"CREATE VIEW rows AS SELECT * FROM read_parquet('{glob}', union_by_name => true)")
    names = {row[0] for row in con.execute("DESCRIBE rows").fetchall()}
    if "cell_id" in names:  # a sweep's cells (a folder of captures has only rows)
        con.execute(LATEST_VIEW.format(glob=f"'{glob}'"))
    return con


def query(folder: str | Path, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of ``sql`` over the dataset."""
    import duckdb

    try:
        con = connect(folder)
        cursor = con.execute(sql)
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise QueryError(first) from None
    if cursor.description is None:
        return [], []
    return [d[0] for d in cursor.description], cursor.fetchall()
