"""`synack demo` with files to write: the files and a short summary, the ladder
only when asked for; Mermaid and JSON Lines stay clean on stdout."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from synack.cli import main
from synack.scenarios import SCENARIOS, run_scenario
from synack.trace.timeline import build_timeline


def demo(*args: str) -> Result:
    result = CliRunner().invoke(main, ["demo", *args])
    assert result.exit_code == 0, result.output
    return result


def _counts(name: str) -> dict[str, object]:
    timeline = build_timeline(run_scenario(name).recorder.records)
    arrows = list(timeline.arrows())
    return {
        "steps": len(timeline.steps),
        "packets": len(arrows),
        "lost": sum(a.lost for a in arrows),
        "states": sum(s.kind == "state" for s in timeline.steps),
        "end": f"{timeline.steps[-1].t * 1000:g}",
        "final": timeline.steps[-1].states,
    }


def test_files_and_a_summary_instead_of_the_ladder(tmp_path: Path) -> None:
    page, capture = tmp_path / "close.html", tmp_path / "close.pcap"
    result = demo("close", "--html", str(page), "--pcap", str(capture))
    c = _counts("close")
    title = SCENARIOS["close"].describe("en")[0]
    assert result.stdout == (
        f"close: {title}\n"
        "\n"
        f"  {c['steps']} steps: {c['packets']} packets ({c['lost']} lost), "
        f"{c['states']} state changes, {c['end']} ms of virtual time\n"
        "  final states: client CLOSED, server CLOSED\n"
        f"wrote the HTML page {page}\n"
        f"wrote {c['packets']} packets to {capture}\n"
        "the ladder: add --format ladder\n"
    )
    assert page.read_text().startswith("<!DOCTYPE html>")
    assert capture.read_bytes()[:4] == b"\xd4\xc3\xb2\xa1"  # pcap, little-endian
    assert result.stderr == ""


def test_the_ladder_when_asked_for(tmp_path: Path) -> None:
    page = tmp_path / "close.html"
    result = demo("close", "--html", str(page), "--format", "ladder")
    lines = result.stdout.splitlines()
    assert lines[0].startswith("close: ")
    assert lines[1].startswith("  - ")  # the narration, as without files
    assert sum("\u2502" in line for line in lines) > 20
    assert lines[-1] == f"wrote the HTML page {page}"
    assert "--format ladder" not in result.stdout
    # without files the ladder is still the default
    assert sum("\u2502" in line for line in demo("close").stdout.splitlines()) > 20


def test_a_lossy_run_with_a_page_is_a_few_lines(tmp_path: Path) -> None:
    """The issue's case: thousands of ladder lines for a big transfer."""
    page = tmp_path / "lossy.html"
    result = demo("lossy-transfer", "--html", str(page))
    assert len(result.stdout.splitlines()) < 25
    assert "\u2502" not in result.stdout
    assert "  bytes delivered: 1,000,000" in result.stdout.splitlines()


def test_mermaid_and_json_keep_stdout_clean(tmp_path: Path) -> None:
    capture = tmp_path / "run.pcap"
    mermaid = demo("close", "--format", "mermaid", "--pcap", str(capture))
    diagram = [line for line in mermaid.stdout.splitlines() if not line.startswith("%% ")]
    assert diagram[0] == "sequenceDiagram"
    assert "wrote" not in mermaid.stdout
    assert (
        mermaid.stderr.splitlines()[-1]
        == f"wrote {_counts('close')['packets']} packets to {capture}"
    )
    jsonl = demo("close", "--json", "--pcap", str(capture))
    assert all(json.loads(line) for line in jsonl.stdout.splitlines())
    assert jsonl.stderr.splitlines()[-1].startswith("wrote ")


def test_korean_summary(tmp_path: Path) -> None:
    page = tmp_path / "k.html"
    result = demo("close", "--html", str(page), "--lang", "ko")
    c = _counts("close")
    title = SCENARIOS["close"].describe("ko")[0]
    assert result.stdout == (
        f"close: {title}\n"
        "\n"
        f"  {c['steps']}단계: 패킷 {c['packets']}개 (손실 {c['lost']}개), "
        f"상태 변화 {c['states']}번, 가상 시간 {c['end']} ms\n"
        "  최종 상태: 클라이언트 CLOSED, 서버 CLOSED\n"
        f"HTML 페이지 {page} 작성\n"
        "래더를 보려면 --format ladder를 붙이세요\n"
    )
    assert '<html lang="ko">' in page.read_text()
