"""``synack simulate``: good runs, and a one-line error with exit status 2 for each bad argument."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from synack.cli import main
from synack.sim import options


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["simulate", *args])
    return result.exit_code, result.stdout, result.stderr


def summary(*args: str) -> dict[str, object]:
    code, out, err = invoke(*args, "--summary", "json", "--format", "none")
    assert code == 0, out + err
    data: dict[str, object] = json.loads(out)
    return data


def test_default_summary_table() -> None:
    code, out, _ = invoke("--format", "none", "--msl", "1")
    assert code == 0
    for label in ("handshake (ms)", "retransmissions", "final states", "bytes check", "all match"):
        assert label in out


def test_summary_json_for_many_connections() -> None:
    data = summary("-n", "40", "--loss", "2%", "--msl", "1", "--seed", "3")
    assert data["ok"] is True and data["connections"] == 40 and data["completed"] == 40
    assert data["bytes_match"] is True and data["up_received"] == 40 * 10_000


def test_loss_detection_is_reported() -> None:
    """Two data segments dropped in a row, mid-transfer: SACK blocks show them
    and RACK marks both lost; the table says so."""
    args = ("--bytes-down", "100k", "--drop", "s2c:data:20-21", "--msl", "1")
    data = summary(*args)
    assert data["rack_losses"] == 2 and data["timeouts"] == 0
    code, out, _ = invoke(*args, "--format", "none")
    assert code == 0 and "RACK marked 2 lost" in out


def test_link_options_and_direction_overrides() -> None:
    data = summary(
        "-n", "10", "--bytes-up", "2k", "--bytes-down", "64ki", "--delay", "5ms",
        "--s2c", "bandwidth=10mbit,queue=50", "--c2s", "delay=0.02s", "--msl", "1",
    )  # fmt: skip
    assert data["bytes_up"] == 2000 and data["bytes_down"] == 65536
    hs = data["handshake_ms"]
    assert isinstance(hs, dict) and hs["p50"] == pytest.approx(25.048)
    # 20 ms up, 5 ms down, and a 60-byte SYN,ACK takes 480 bits / 10 Mbit/s = 0.048 ms


def test_scripted_faults() -> None:
    data = summary("--drop", "S.:1", "--delay-segment", "c2s:F.:1:200ms", "--msl", "1")
    assert data["faults"] == ["drop S. #1", "delay c2s F. #1 by 200 ms"]
    hs = data["handshake_ms"]
    assert isinstance(hs, dict) and hs["max"] == pytest.approx(1020.0)
    assert data["ok"] is True
    data = summary("--duplicate-segment", "data:1-2:5ms", "--msl", "1")
    assert data["packets_delivered"] == data["packets"] + 2  # type: ignore[operator]


def test_trace_as_json_lines_keeps_stdout_clean() -> None:
    pytest.importorskip("synack.trace.output")
    code, out, err = invoke("--format", "json", "--msl", "1")
    assert code == 0
    records = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert {r["kind"] for r in records} >= {"segment", "state"}
    assert "handshake" in err  # the summary table went to stderr


def test_ladder_is_the_default_for_one_connection() -> None:
    pytest.importorskip("synack.trace.output")
    code, out, _ = invoke("--drop", "S.:1", "--msl", "1")
    assert code == 0
    assert "ESTABLISHED" in out and "handshake (ms)" in out


@pytest.mark.parametrize("connections", ["1", "3"])
def test_summary_json_is_all_of_stdout(connections: str) -> None:
    """--summary json: stdout is the JSON document and nothing else, with one
    connection (no ladder then, as with several) as with several."""
    code, out, err = invoke("-n", connections, "--summary", "json", "--msl", "1")
    assert code == 0, out + err
    data = json.loads(out)
    assert data["connections"] == int(connections) and data["ok"] is True
    assert "ESTABLISHED" not in err  # no trace at all unless asked for


@pytest.mark.parametrize("fmt", ["ladder", "mermaid"])
def test_summary_json_sends_a_trace_asked_for_to_stderr(fmt: str, tmp_path: Path) -> None:
    page = tmp_path / "run.html"
    code, out, err = invoke("--format", fmt, "--html", str(page), "--summary", "json", "--msl", "1")
    assert code == 0, out + err
    assert json.loads(out)["connections"] == 1
    assert "ESTABLISHED" in err and f"wrote the HTML page {page}" in err and page.exists()


def test_failed_run_exits_1() -> None:
    code, out, _ = invoke(
        "--format", "none", "--c2s", "loss=100%", "--msl", "1", "--summary", "json"
    )
    assert code == 1
    assert json.loads(out)["ok"] is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--connections", "0"], "--connections"),
        (["--bytes-up", "10q"], "is not a size"),
        (["--bytes-down", "1.5"], "whole number of bytes"),
        (["--delay", "-5"], "is not a duration"),
        (["--jitter", "soon"], "is not a duration"),
        (["--bandwidth", "10m"], "is not a rate"),
        (["--bandwidth", "0mbit"], "more than zero"),
        (["--queue", "-1"], "cannot be negative"),
        (["--queue", "5"], "needs a bandwidth"),
        (["--loss", "2"], "between 0 and 1"),
        (["--duplicate", "abc"], "is not a probability"),
        (["--reorder", "150%"], "between 0 and 1"),
        (["--corrupt", "-0.1"], "between 0 and 1"),
        (["--c2s", "loss"], "is not KEY=VALUE"),
        (["--s2c", "speed=1"], "unknown link setting"),
        (["--s2c", "queue=3"], "needs a bandwidth"),
        (["--drop", "S."], "does not read as"),
        (["--drop", "Q:1"], "unknown flag"),
        (["--drop", "S.:0"], "1 <= N <= M"),
        (["--delay-segment", "S.:1"], "positive DELAY"),
        (["--duplicate-segment", "S.:1:x"], "is not a duration"),
        (["--msl", "0"], "more than 0"),
        (["--msl", "abc"], "is not a duration"),
        (["--seed", "x"], "is not a valid integer"),
        (["-n", "2", "--format", "ladder"], "one connection"),
        (["-n", "2", "--html", "x.html"], "one connection"),
        (["-n", "2", "--pcap", "x.pcap"], "one connection"),
        (["--clients", "2"], "client hosts"),
        (["-n", "3", "--servers", "4"], "server hosts"),
        (["--servers", "300"], "--servers"),
        (["--format", "svg"], "--format"),
        (["--summary", "xml"], "--summary"),
    ],
)
def test_bad_arguments(args: list[str], message: str) -> None:
    code, out, err = invoke(*args)
    assert code == 2, out + err
    error_lines = [line for line in err.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1 and message in error_lines[0], err


def test_help_explains_with_examples() -> None:
    code, out, _ = invoke("--help")
    assert code == 0
    for text in ("--c2s", "--drop", "FLAGS:N", "Examples:", "--bandwidth", "--summary"):
        assert text in out


@pytest.mark.parametrize(
    ("text", "seconds"), [("10", 0.010), ("10ms", 0.010), ("1.5s", 1.5), ("250us", 0.00025)]
)
def test_durations(text: str, seconds: float) -> None:
    assert options.parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "rate"), [("500kbit", 5e5), ("10mbit", 1e7), ("1gbit", 1e9), ("1.5Mbit", 1.5e6)]
)
def test_rates(text: str, rate: float) -> None:
    assert options.parse_rate(text) == rate


@pytest.mark.parametrize(
    ("text", "size"),
    [("10000", 10_000), ("10k", 10_000), ("1m", 10**6), ("64ki", 65536), ("2KB", 2000)],
)
def test_sizes(text: str, size: int) -> None:
    assert options.parse_size(text) == size


def test_files_instead_of_the_ladder_unless_asked(tmp_path) -> None:  # type: ignore[no-untyped-def]
    page, capture = tmp_path / "s.html", tmp_path / "s.pcap"
    args = ["simulate", "--bytes-up", "300KB", "--html", str(page), "--pcap", str(capture)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "seq" not in result.output and "│ ESTABLISHED" not in result.output  # no ladder
    assert f"wrote the HTML page {page}" in result.output
    assert f"wrote the capture {capture}" in result.output
    assert page.stat().st_size > 0 and capture.stat().st_size > 24
    with_ladder = CliRunner().invoke(main, [*args, "--format", "ladder"])
    assert with_ladder.exit_code == 0 and "ESTABLISHED" in with_ladder.output
    assert len(with_ladder.output.splitlines()) > 10 * len(result.output.splitlines())
