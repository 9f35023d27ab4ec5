"""synack.web.playground, run here in CPython: the views the page draws equal
what the command line gives for the same setup."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _playground_cli import Arrow, cli_arrows
from click.testing import CliRunner

from synack.cli import main
from synack.scenarios import SCENARIOS
from synack.web import playground


def view_arrows(view: dict[str, Any]) -> list[Arrow]:
    return [
        (s["side"], s["flags"], s["seq"], s["ack"], s["len"], s["fate_word"])
        for s in view["steps"]
        if s["kind"] == "arrow"
    ]


def run(**setup: str) -> dict[str, Any]:
    view = json.loads(playground.run(json.dumps(setup)))
    assert "error" not in view, view
    return view


def command_args(view: dict[str, Any]) -> list[str]:
    words = shlex.split(view["command"])
    assert words[:2] == ["synack", "demo"]
    return words[2:]


@pytest.mark.parametrize("name", ["close", "lost-final-ack", "simultaneous-open", "syn-flood"])
def test_a_scenario_shows_the_segments_of_demo_json(name: str) -> None:
    view = run(scenario=name)
    assert view["command"] == f"synack demo {name} --json"
    assert view_arrows(view) == cli_arrows(["demo", name, "--json"])


def test_each_segment_of_close_dropped_in_turn_is_the_one_the_rerun_drops() -> None:
    """The spec the page puts on an arrow picks exactly that arrow: rerun with it,
    everything before it is the same and it is dropped."""
    before = run(scenario="close")
    arrows = [s for s in before["steps"] if s["kind"] == "arrow"]
    assert all(a["spec"] for a in arrows)
    for position, arrow in enumerate(arrows):
        after = run(scenario="close", drop=arrow["spec"])
        again = view_arrows(after)
        assert again[:position] == view_arrows(before)[:position]
        assert again[position][:5] == view_arrows(before)[position][:5]
        assert again[position][5] == "dropped"


def test_the_command_line_of_a_changed_run_prints_its_segments() -> None:
    view = run(
        scenario="lost-final-ack", drop="s2c:F.:1", delay="c2s:P.:1:300ms", fault="drop~delay"
    )
    args = command_args(view)
    assert args == ["lost-final-ack", "--drop", "s2c:F.:1", "--delay-segment", "c2s:P.:1:300ms",
                    "--json"]  # fmt: skip
    arrows = view_arrows(view)
    assert arrows == cli_arrows(["demo", *args])
    assert [a[5] for a in arrows].count("delayed") == 1
    assert view["specs"] == [["drop", "s2c:F.:1"], ["delay", "c2s:P.:1:300ms"]]


def test_a_bare_number_is_that_segment_of_the_run() -> None:
    base = view_arrows(run(scenario="lost-final-ack"))
    view = run(scenario="lost-final-ack", drop="5")
    assert view["specs"] == [["drop", "s2c:P.:1"]]  # the 5th arrow: the server's reply
    assert [s["index"] for s in view["steps"] if s.get("faulted")] == [
        s["index"] for s in view["steps"] if s["kind"] == "arrow"
    ][4:5]
    assert base[4][:2] == ("server", "P.")
    assert view_arrows(view)[4] == (*base[4][:5], "dropped")
    dup = run(scenario="close", dup="3:20ms")
    assert dup["specs"] == [["duplicate", "c2s:.:1:20ms"]]
    assert view_arrows(dup) == cli_arrows(["demo", *command_args(dup)])
    assert [a[5] for a in view_arrows(dup)].count("duplicated") == 1


def test_the_composer_runs_what_its_scenario_file_runs() -> None:
    setup = {"scenario": "compose", "req": "3000", "reply": "9000", "cend": "shutdown",
             "cat": "150", "send": "close", "loss": "5", "seed": "7", "ts": "0", "nagle": "0",
             "msl": "2"}  # fmt: skip
    view = run(**setup)
    args = command_args(view)
    assert args == ["--file", "composed.toml", "--msl", "2", "--json"]
    assert view_arrows(view) == cli_arrows(["demo", *args], {"composed.toml": view["toml"]})
    flags = [a[1] for a in view_arrows(view)]
    assert "S" in flags and any("F" in f for f in flags)
    assert "seed = 7" in view["toml"] and "timestamps = false" in view["toml"]
    assert "nodelay = true" in view["toml"]


def test_a_bulk_run_carries_its_cwnd_and_a_short_one_none() -> None:
    bulk = run(scenario="lossy-transfer")
    assert bulk["cwnd"] is not None
    points = bulk["cwnd"]["client"]  # the client sends the megabyte
    assert len(points) > 10
    assert points[0][2] is None  # no loss yet: ssthresh is not set
    assert any(p[2] is not None and p[2] < max(q[1] for q in points) for p in points)
    assert max(p[1] for p in points) > 2 * points[0][1]  # it grew past the initial window
    times = [p[0] for p in points]
    assert times == sorted(times)
    assert run(scenario="close")["cwnd"] is None


def test_every_field_of_a_segment_is_in_its_step() -> None:
    view = run(scenario="handshake")
    syn, syn_ack, ack = (s for s in view["steps"] if s["kind"] == "arrow")
    assert syn["abs_seq"] == 4321 and syn["seq"] == 0  # the handshake's fixed client ISN
    assert syn["options"].startswith("mss 1460")
    assert syn_ack["abs_ack"] == 4322 and syn_ack["ack"] == 1
    assert ack["win_bytes"] == ack["win"] << ack["win_shift"] and ack["win_shift"] > 0
    assert view["paths"]["client"] == ["CLOSED", "SYN-SENT", "ESTABLISHED"]
    assert view["paths"]["server"] == ["CLOSED", "LISTEN", "SYN-RECEIVED", "ESTABLISHED"]


def test_korean_words_and_the_same_segments() -> None:
    en, ko = run(scenario="close"), run(scenario="close", lang="ko")
    assert view_arrows(en) == view_arrows(ko)
    assert ko["title"] == SCENARIOS["close"].title["ko"]
    assert ko["names"]["client"] == "클라이언트"
    assert "ms에 도착" in next(s for s in ko["steps"] if s["kind"] == "arrow")["describe"]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ({"scenario": "nope"}, "scenario='nope': no such scenario"),
        ({"scenario": "close", "drop": "99"}, "no segment 99 to drop"),
        ({"scenario": "close", "drop": "x:1"}, "unknown flag"),
        ({"scenario": "close", "msl": "0"}, "msl='0': must be from"),
        ({"scenario": "close", "seed": "1.5"}, "seed='1.5': a whole number"),
        ({"scenario": "close", "seed": "1e3"}, "seed='1e3': a whole number"),
        ({"scenario": "compose", "cend": "explode"}, "cend='explode': choose from"),
        ({"scenario": "compose", "loss": "90"}, "loss='90': must be from 0 to 50"),
        ({"scenario": "close", "drop": "S:1", "fault": "dup"}, "does not match"),
    ],
)
def test_a_bad_setup_is_one_line_of_error(setup: dict[str, str], message: str) -> None:
    view = json.loads(playground.run(json.dumps(setup)))
    assert set(view) == {"error"}
    assert message in view["error"] and "\n" not in view["error"]


def test_a_huge_range_of_segments_is_marked_without_listing_it() -> None:
    """``drop=c2s:F.:1-100000000`` once listed every number of the range (a hang)."""
    view = run(scenario="close", drop="c2s:F.:1-100000000")
    fins = [s for s in view["steps"] if s.get("spec", "").startswith("c2s:F.:")]
    assert len(fins) > 1  # the FIN and its retransmissions, every one dropped
    assert all(s.get("faulted") and s["fate_word"] == "dropped" for s in fins)
    assert not any(s.get("faulted") for s in view["steps"] if s not in fins)


def test_a_capture_is_analysed_and_drawn(tmp_path: Path) -> None:
    capture = tmp_path / "close.pcap"
    result = CliRunner().invoke(main, ["demo", "close", "--pcap", str(capture)])
    assert result.exit_code == 0, result.output
    found = json.loads(playground.analyze_capture(str(capture)))
    assert found["error"] is None and found["format"] == "pcap"
    (conn,) = found["connections"]
    assert conn["arrows"] == conn["packets"] == len(view_arrows(run(scenario="close")))
    assert conn["final"] == ["TIME-WAIT", "CLOSED"] or conn["final"] == ["CLOSED", "TIME-WAIT"]
    assert conn["svg"].count('class="step kind-arrow') == conn["arrows"]
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"hello")
    bad = json.loads(playground.analyze_capture(str(junk)))
    assert bad["connections"] == [] and "not a pcap or pcapng file" in bad["error"]


def test_the_catalog_lists_every_scenario() -> None:
    catalog = json.loads(playground.catalog())
    assert [s["name"] for s in catalog["scenarios"]] == list(SCENARIOS)
    assert set(catalog["state_grid"]) >= {"CLOSED", "TIME-WAIT", "LISTEN"}


def test_what_the_page_runs_imports_only_the_standard_library(tmp_path: Path) -> None:
    """Pyodide ships the standard library and nothing else: every module the page's
    calls import (a scenario, a fault, the composer, a capture) must be stdlib or synack."""
    capture = tmp_path / "lost-syn.pcap"
    assert CliRunner().invoke(main, ["demo", "lost-syn", "--pcap", str(capture)]).exit_code == 0
    code = f"""
import json, sys
before = set(sys.modules)
from synack.web import playground as pg
for setup in ({{"scenario": "lossy-transfer"}}, {{"scenario": "close", "drop": "2"}},
              {{"scenario": "compose", "req": "100000", "lang": "ko"}}):
    assert "error" not in json.loads(pg.run(json.dumps(setup)))
assert json.loads(pg.analyze_capture({str(capture)!r}))["connections"]
pg.catalog()
# (__mp_main__ is multiprocessing's alias of __main__, not a package)
new = {{name.split(".")[0] for name in set(sys.modules) - before if not name.startswith("__")}}
print(sorted(new - set(sys.stdlib_module_names) - {{"synack"}}))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout


def test_demo_refuses_a_bad_fault_in_one_line() -> None:
    result = CliRunner().invoke(main, ["demo", "close", "--drop", "Q:1"])
    assert result.exit_code == 2
    assert "Invalid value for '--drop': unknown flag 'Q'" in result.output
    assert "Traceback" not in result.output
    result = CliRunner().invoke(main, ["demo", "close", "--delay-segment", "S:1"])
    assert result.exit_code == 2 and "a delay needs a positive DELAY" in result.output


@pytest.mark.parametrize("name", [n for n in SCENARIOS if n != "lossy-transfer"])
def test_in_every_scenario_a_segments_spec_picks_that_segment(name: str) -> None:
    """The middle segment (the first one a fault can pick from there on) of each
    scenario: dropped by its spec, and everything before it unchanged."""
    before = run(scenario=name)
    arrows = [s for s in before["steps"] if s["kind"] == "arrow"]
    position = next(i for i in range(len(arrows) // 2, len(arrows)) if arrows[i]["spec"])
    after = run(scenario=name, drop=arrows[position]["spec"])
    assert view_arrows(after)[:position] == view_arrows(before)[:position]
    assert view_arrows(after)[position] == (*view_arrows(before)[position][:5], "dropped")


def test_the_notes_are_not_shown_for_a_run_that_did_not_go_as_they_tell() -> None:
    # the page takes its notes from the run, as `synack demo` does: a fault
    # that changes the story replaces them with what differed
    kept = run(scenario="close", drop="c2s:F.:1")
    assert kept["notes"] == run(scenario="close")["notes"]
    assert any("FIN-WAIT-1" in note for note in kept["notes"])
    broken = run(scenario="close", drop="s2c:S.:1-3")
    (line,) = broken["notes"]
    assert line.startswith("This run did not go as the explanation describes:")
    assert "the client went from SYN-SENT to CLOSED" in line
