"""Korean throughout with --lang ko: the ladder, the summaries and the HTML page.

Protocol terms stay as they are (flags, SYN/ACK/FIN, RFC state names, user
calls, option and tcpdump field names, units); any other English word in
Korean output is a UI string nobody translated, and fails the test. The
scenarios' narration is another module's text and is left out.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from _trace_scenarios import conversation
from click.testing import CliRunner
from rich.console import Console

from synack.cli import main
from synack.scenarios import SCENARIOS, run_scenario
from synack.tcp.state import State
from synack.trace import i18n
from synack.trace.html import render_html
from synack.trace.ladder import render_ladder, summary_lines
from synack.trace.mermaid import render_mermaid
from synack.trace.timeline import build_timeline

# flags' and segments' names, RFC 9293 states and user calls, option names as
# tcpdump prints them, tcpdump's fields, units, file formats, algorithms
PROTOCOL_WORDS = """
SYN ACK FIN RST PSH URG ECE CWR ECN SACK RACK ISN MSL RTO TLP
OPEN CLOSE ABORT SEND RECEIVE
mss sackOK TS wscale nop eol sack FO FOEXP
seq ack len win
ms KiB MiB MB HTML pcap
keep-alive synack cubic newreno
"""
PROTOCOL_TERMS = {*(s.value for s in State), *PROTOCOL_WORDS.split()}
WORD = re.compile(r"(?<![\w-])[A-Za-z][A-Za-z-]*[A-Za-z](?![\w-])")
FLAGS = re.compile(r"^[SFRPUEWC]{1,4}$")  # tcpdump letters: FP. for FIN+PSH
CLI = re.compile(r"--[a-z][a-z-]*(?: [a-z]+)?")  # a command line to type: --format ladder


def untranslated(text: str) -> set[str]:
    words = set(WORD.findall(CLI.sub(" ", text)))
    return {w for w in words if w not in PROTOCOL_TERMS and not FLAGS.match(w)}


def ladder(records: object, lang: str) -> list[str]:
    console = Console(width=80, record=True, color_system=None)
    render_ladder(records, console, lang=lang)  # type: ignore[arg-type]
    lines = console.export_text().splitlines()
    assert all(len(line) <= 80 for line in lines)
    return lines


def test_the_check_finds_english() -> None:
    assert untranslated("S. seq 0 ack 1 len 0 win 65535 rcv SYN LOST (dropped)") == {
        "rcv",
        "LOST",
        "dropped",
    }
    assert untranslated("\u23f1 retransmission, step 3 of 9, synack --format ladder") == {
        "retransmission",
        "step",
        "of",
    }
    assert untranslated("FP. seq 1 TIME-WAIT <mss 1460,sackOK,TS,wscale 7> 2MSL sha256") == set()


def test_korean_ladder_lines() -> None:
    lines = ladder(conversation(drop_first="S."), "ko")
    assert lines[:3] == [
        "시각 (ms) 클라이언트                                                서버",
        "              CLOSED │                                            │ CLOSED",
        "      0       CLOSED │                         수동 OPEN, 포트 80 │ LISTEN",
    ]
    assert "\n".join(lines[8:14]) == (
        "     10     SYN-SENT │                                   SYN 수신 │ SYN-RECEIVED\n"
        "     10     SYN-SENT │       S. seq 0 ack 1 len 0 win 65535       │ SYN-RECEIVED\n"
        "            SYN-SENT │       <mss 1460,sackOK,TS,wscale 3>        │ SYN-RECEIVED\n"
        "            SYN-SENT │         ✗ 손실 (폐기) ─────────────────────│ SYN-RECEIVED\n"
        "   1000     SYN-SENT │ ⏱ 재전송                                   │ SYN-RECEIVED\n"
        "   1000     SYN-SENT │          S seq 0 len 0 win 65535           │ SYN-RECEIVED"
    )
    assert (
        "   1030  ESTABLISHED │                             SYN의 ACK 수신 │ ESTABLISHED" in lines
    )
    assert lines[-2:] == ["시각 단위 ms; 상대 순서 번호:", "  (클라이언트 ISN 4321, 서버 ISN 1000)"]


def test_causes_timers_and_calls_in_korean() -> None:
    assert [
        i18n.cause(c, "ko")
        for c in (
            "rcv SYN",
            "rcv ACK of FIN",
            "rcv FIN (simultaneous close)",
            "rcv RST (connection refused)",
            "rcv SYN in TIME-WAIT",
            "rcv SYN in the window",
            "passive OPEN, port 8080",
            "2MSL timeout",
        )
    ] == [
        "SYN 수신",
        "FIN의 ACK 수신",
        "FIN 수신 (동시 종료)",
        "RST 수신 (연결 거부)",
        "TIME-WAIT에서 SYN 수신",
        "윈도 안에서 SYN 수신",
        "수동 OPEN, 포트 8080",
        "2MSL 만료",
    ]
    assert i18n.call("CLOSE (half)", "ko") == "CLOSE (반종료)"
    assert i18n.timer("tail loss probe", "ko") == "꼬리 손실 탐지"
    assert i18n.cause("rcv SYN", "en") == "rcv SYN"  # English as recorded
    with pytest.raises(ValueError, match="unknown language"):
        i18n.ui("lost", "fr")


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_no_english_left_in_any_korean_view(name: str) -> None:
    records = run_scenario(name).recorder.records
    timeline = build_timeline(records)
    text = "\n".join(ladder(records, "ko") + summary_lines(timeline, "ko"))
    assert not untranslated(text), (untranslated(text), text)
    syntax = re.compile(
        r"^(sequenceDiagram|    participant [LR] as|    Note over [LR]:|    [LR]-+>*x?[LR]:)"
    )
    diagram = "\n".join(
        syntax.sub("", line) for line in render_mermaid(records, lang="ko").splitlines()
    )
    assert not untranslated(diagram), untranslated(diagram)
    page = render_html(records, title="-", narration=["-"], lang="ko")  # the scenario's words
    shown = _visible_html(page)
    assert not untranslated(shown), untranslated(shown)
    # and the check bites: the same views in English are full of words
    english = "\n".join(ladder(records, "en") + summary_lines(timeline, "en"))
    assert {"times", "sequence", "numbers", "steps"} <= untranslated(english)
    english = "\n".join(syntax.sub("", line) for line in render_mermaid(records).splitlines())
    assert {"active"} <= untranslated(english)


def test_no_english_left_in_the_korean_demo_summary(tmp_path: Path) -> None:
    """What `synack demo` prints when it writes files (no ladder), and its facts."""
    page, capture = tmp_path / "k.html", tmp_path / "k.pcap"
    for name in SCENARIOS:
        args = ["demo", name, "--lang", "ko", "--html", str(page), "--pcap", str(capture)]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        title, notes = SCENARIOS[name].describe("ko")
        out = result.stdout.replace(str(page), "").replace(str(capture), "")
        assert out.startswith(f"{name}: {title}\n")  # the scenario's name and title
        out = out.removeprefix(f"{name}: {title}\n")
        assert "│" not in out  # no ladder
        assert "래더를 보려면 --format ladder를 붙이세요" in out
        assert not any(note in out for note in notes)  # the narration is in the page
        assert not untranslated(out), (untranslated(out), out)


def test_the_korean_page_says_so_and_names_hangul_fonts() -> None:
    recorder = conversation()
    page = render_html(recorder, lang="ko")
    n = len(build_timeline(recorder).steps)
    assert page.startswith('<!DOCTYPE html>\n<html lang="ko">')
    assert '"Noto Sans CJK KR"' in page and '"Malgun Gothic"' in page
    assert '<button id="prev" type="button" title="이전 단계 (\u2190)">\u25c0 이전</button>' in page
    assert f'<span id="step-counter">{n}단계 중 0단계</span>' in page
    assert render_html(recorder).startswith('<!DOCTYPE html>\n<html lang="en">')


class _Visible(HTMLParser):
    """The text a reader sees (and hears: title and aria-label), without the
    narration, the style sheet and the scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skip: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("script", "style") or a.get("id") == "narration":
            self.skip.append(tag)
        for key in ("title", "aria-label"):
            if a.get(key):
                self.parts.append(a[key] or "")

    def handle_endtag(self, tag: str) -> None:
        if self.skip and self.skip[-1] == tag:
            self.skip.pop()

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def _visible_html(page: str) -> str:
    parser = _Visible()
    parser.feed(page)
    # the script writes these into the page as the reader steps
    raw = re.search(r'<script type="application/json" id="trace-data">(.*?)</script>', page, re.S)
    assert raw is not None
    data = json.loads(raw.group(1))
    shown = [data["ui"]["step_of"], data["ui"]["before_first"], data["ui"]["left"]]
    shown += [data["ui"]["right"], *(step["describe"] for step in data["steps"])]
    return "\n".join(parser.parts + shown)
