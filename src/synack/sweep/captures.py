"""Many captures at once: ``synack sweep analyze FOLDER`` on the sweep's cluster.

Each capture file is one Dask task: :func:`synack.analyze.report.analyze`
reads it (as ``synack analyze`` does) and every connection becomes a row of
the dataset: the file, the connection's Zeek conn.log fields (dots in names
made underscores: ``id_orig_h``), its Wireshark expert counts and its
handshake RTT. A file that cannot be read is a row with ``file_error`` and no
connection; a file that breaks off midway keeps the rows before the break,
each with the error. Files already in the dataset are skipped on a rerun.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synack.sweep.runner import stream
from synack.sweep.store import StoreError, Writer, parts

if TYPE_CHECKING:
    from distributed import Client

SUFFIXES = (".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz")
EXPERT = {
    "retransmissions": "retransmission", "fast_retransmissions": "fast_retransmission",
    "spurious_retransmissions": "spurious_retransmission", "out_of_order": "out_of_order",
    "duplicate_acks": "duplicate_ack", "zero_windows": "zero_window",
}  # fmt: skip
CAPTURE_COLUMNS: dict[str, str] = {
    "file": "string", "file_error": "string", "conn": "int64",
    "ts": "float64", "uid": "string", "id_orig_h": "string", "id_orig_p": "int64",
    "id_resp_h": "string", "id_resp_p": "int64", "proto": "string", "duration": "float64",
    "orig_bytes": "int64", "resp_bytes": "int64", "conn_state": "string",
    "missed_bytes": "int64", "history": "string", "orig_pkts": "int64",
    "orig_ip_bytes": "int64", "resp_pkts": "int64", "resp_ip_bytes": "int64",
    **dict.fromkeys(EXPERT, "int64"),
    "handshake_rtt_ms": "float64", "wall_seconds": "float64",
    "finished_at": "timestamp[ms, tz=UTC]",
}  # fmt: skip


def capture_files(folder: str | Path) -> list[Path]:
    """The capture files under ``folder`` (recursively), by name."""
    return sorted(
        p for p in Path(folder).rglob("*")
        if p.is_file() and p.name.lower().endswith(SUFFIXES)
    )  # fmt: skip


def analyze_file(path: str) -> list[dict[str, Any]]:
    """One capture's connection rows (the task of one file)."""
    from synack.analyze.model import CaptureError
    from synack.analyze.report import analyze

    started = time.perf_counter()
    try:
        result = analyze([path], jobs=1)
    except (CaptureError, OSError, ValueError) as exc:
        return [{"file": path, "file_error": str(exc).splitlines()[0] or type(exc).__name__,
                 "wall_seconds": time.perf_counter() - started}]  # fmt: skip
    rows = []
    for c in result.connections:
        row: dict[str, Any] = {"file": path, "file_error": result.error, "conn": c.flow.number}
        for key, value in c.zeek.items():
            row[key.replace(".", "_")] = str(value) if key.endswith("_h") else value
        for column, flag in EXPERT.items():
            row[column] = c.expert.get(flag, 0)
        handshake = [s.rtt for s in c.flow.rtt if s.kind == "handshake"]
        row["handshake_rtt_ms"] = handshake[0] * 1000 if handshake else None
        rows.append(row)
    if not rows and result.error is not None:
        rows.append({"file": path, "file_error": result.error})
    wall = time.perf_counter() - started
    for row in rows:
        row["wall_seconds"] = wall
    return rows


@dataclass
class CaptureReport:
    files: int
    skipped: int
    analyzed: int = 0
    connections: int = 0
    errors: int = 0  # files that could not be read, or broke off


def done_files(folder: str | Path) -> set[str]:
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    files: set[str] = set()
    for part in parts(folder):
        try:
            table = pq.read_table(part, columns=["file"])
        except Exception as exc:  # pyarrow raises many kinds
            raise StoreError(f"cannot read {str(part)!r}: {exc}") from None
        files.update(table["file"].to_pylist())
    return files


def analyze_captures(
    files: Sequence[Path], out: str | Path, client: Client, progress: Any = None
) -> CaptureReport:
    """Analyse ``files`` (those not yet in ``out``) on ``client``'s cluster."""
    done = done_files(out)
    todo = [str(f) for f in files if str(f) not in done]
    report = CaptureReport(len(files), len(files) - len(todo))
    writer = Writer(out, CAPTURE_COLUMNS)
    if progress is not None:
        progress(0, len(todo), 0)

    def on_rows(path: str, rows: list[dict[str, Any]]) -> None:
        report.analyzed += 1
        writer.extend(rows)
        writer.flush()
        report.connections += sum(1 for r in rows if r.get("conn") is not None)
        report.errors += any(r.get("file_error") for r in rows)
        if progress is not None:
            progress(report.analyzed, len(todo), report.errors)

    def on_error(path: str, exc: BaseException) -> list[dict[str, Any]]:
        return [{"file": path, "file_error": f"{type(exc).__name__}: {exc}"}]

    stream(client, analyze_file, todo, on_rows, on_error)
    return report
