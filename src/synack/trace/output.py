"""One output path for every driver and command: a trace to the terminal and files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console

from synack.trace.html import write_html
from synack.trace.ladder import render_ladder
from synack.trace.mermaid import render_mermaid
from synack.trace.pcap import write_pcap
from synack.trace.records import TraceRecorder
from synack.trace.timeline import TraceSource, as_records

FORMATS = ("ladder", "mermaid", "json", "none")


def json_records(source: TraceSource) -> list[dict[str, Any]]:
    """What ``synack demo --json`` prints: every record of the trace, as
    :meth:`TraceRecorder.to_dicts` gives them, in time order (a stable sort:
    records of one instant keep their recorded order). That is every state
    change, every segment each endpoint sent, received or dropped (the Host's
    own answers included, from TIME-WAIT records and for strays), the timers
    and user calls, and every packet on a simulated link with its fate (lost,
    duplicated, delayed, corrupted...): the same trace every other view draws."""
    recorder = TraceRecorder()
    recorder.records = as_records(source)
    return recorder.to_dicts()


def write_outputs(
    recorder_or_records: TraceSource,
    *,
    fmt: str = "ladder",
    console: Console,
    left: str = "client",
    right: str = "server",
    html: str | Path | None = None,
    pcap: str | Path | None = None,
    title: str = "",
    narration: list[str] | None = None,
    absolute: bool = False,
) -> None:
    """Show a trace on ``console`` as ``fmt`` (``ladder``, ``mermaid``, ``json`` for
    JSON Lines, or ``none``), and write the HTML page and the pcap if asked."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: choose from {', '.join(FORMATS)}")
    raw = (
        recorder_or_records.records
        if isinstance(recorder_or_records, TraceRecorder)
        else list(recorder_or_records)
    )
    if fmt == "ladder":
        render_ladder(as_records(raw), console, left=left, right=right, absolute=absolute,
                      title=title)  # fmt: skip
    elif fmt == "mermaid":
        console.out(render_mermaid(raw, left, right, absolute), end="", highlight=False)
    elif fmt == "json":
        for item in json_records(raw):
            console.out(json.dumps(item), highlight=False)
    if html is not None:
        write_html(raw, html, left, right, title, narration, absolute)
    if pcap is not None:
        write_pcap(raw, pcap)
