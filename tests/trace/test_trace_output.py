"""write_outputs: one output path for drivers and commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _trace_scenarios import conversation
from rich.console import Console

from synack.trace.output import json_records, write_outputs
from synack.trace.records import PacketRecord


def console() -> Console:
    return Console(width=80, record=True, color_system=None)


def test_ladder_with_files(tmp_path: Path) -> None:
    recorder = conversation(drop_first="S.")
    out = console()
    write_outputs(
        recorder,
        console=out,
        html=tmp_path / "t.html",
        pcap=tmp_path / "t.pcap",
        title="lost SYN,ACK",
        narration=["The server's first SYN,ACK is lost."],
    )
    text = out.export_text()
    assert text.splitlines()[0] == "lost SYN,ACK"
    assert "\u2717 LOST (dropped)" in text
    assert all(len(line) <= 80 for line in text.splitlines())
    page = (tmp_path / "t.html").read_text(encoding="utf-8")
    assert "<p>The server&#x27;s first SYN,ACK is lost.</p>" in page
    pcap = (tmp_path / "t.pcap").read_bytes()
    packets = [r for r in recorder.records if isinstance(r, PacketRecord)]
    assert len(pcap) == 24 + sum(16 + len(p.packet) for p in packets)


def test_json_lines_keep_the_demo_format() -> None:
    recorder = conversation()
    out = console()
    write_outputs(recorder.records, fmt="json", console=out)
    lines = out.export_text().splitlines()
    items = [json.loads(line) for line in lines]
    assert items == json_records(recorder)
    # every record of the trace, segments in all three directions and the packets too
    kinds = {i["kind"] for i in items}
    assert kinds == {r.kind for r in recorder.records} and {"state", "segment", "packet"} <= kinds
    directions = {i["direction"] for i in items if i["kind"] == "segment"}
    assert directions == {"sent", "received"}
    assert len(items) == len(recorder.records)
    assert all("packet" not in i for i in items)  # the bytes stay out of JSON
    assert [i for i in items if i["kind"] == "state"][:2] == [
        {
            "t": 0.0, "kind": "state", "endpoint": "server", "old": "CLOSED", "new": "LISTEN",
            "cause": "passive OPEN, port 80",
        },
        {
            "t": 0.0, "kind": "state", "endpoint": "client", "old": "CLOSED", "new": "SYN-SENT",
            "cause": "active OPEN",
        },
    ]  # fmt: skip


def test_mermaid_and_none(tmp_path: Path) -> None:
    recorder = conversation()
    out = console()
    write_outputs(recorder, fmt="mermaid", console=out, left="server", right="client")
    text = out.export_text()
    assert text.startswith("sequenceDiagram\n    participant L as server\n")
    quiet = console()
    write_outputs(recorder, fmt="none", console=quiet, pcap=tmp_path / "only.pcap")
    assert quiet.export_text() == ""
    assert (tmp_path / "only.pcap").stat().st_size > 24
    with pytest.raises(ValueError, match="unknown format 'svg'"):
        write_outputs(recorder, fmt="svg", console=quiet)
