"""The first ``synack demo``: its trace, its JSON Lines format and its arguments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from synack.cli import main
from synack.scenarios import SCENARIOS, Options, run_scenario


def run_json(*args: str) -> list[dict[str, object]]:
    result = CliRunner().invoke(main, ["demo", "--json", *args])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def test_json_records_have_the_documented_fields() -> None:
    records = run_json("--isn-client", "4321", "--isn-server", "1000")
    # the whole trace: states, segments, user calls and the packets on the link
    assert {r["kind"] for r in records} == {"segment", "state", "call", "packet"}
    for r in records:
        assert {"t", "kind"} <= r.keys()
        if r["kind"] == "segment":
            assert {
                "endpoint",
                "direction",
                "src",
                "dst",
                "flags",
                "seq",
                "ack",
                "len",
                "win",
            } <= r.keys()
        elif r["kind"] == "packet":
            assert {"src", "dst", "fate", "arrival", "flags", "seq", "ack", "len"} <= r.keys()
        elif r["kind"] == "state":
            assert {"endpoint", "old", "new"} <= r.keys()
    times = [float(r["t"]) for r in records]  # type: ignore[arg-type]
    assert times == sorted(times)


def test_segments_are_the_three_and_four_way_handshakes() -> None:
    records = run_json("--isn-client", "4321", "--isn-server", "1000")
    segments = [
        (r["endpoint"], r["flags"], r["seq"], r["ack"], r["len"])
        for r in records
        if r["kind"] == "segment" and r["direction"] == "sent"
    ]
    assert segments == [
        ("client", "S", 4321, 0, 0),
        ("server", "S.", 1000, 4322, 0),
        ("client", ".", 4322, 1001, 0),  # a bare ACK: the application writes after connect()
        ("client", "P.", 4322, 1001, 18),
        ("server", "P.", 1001, 4340, 37),
        ("client", "F.", 4340, 1038, 0),
        ("server", ".", 1038, 4341, 0),
        ("server", "F.", 1038, 4341, 0),
        ("client", ".", 4341, 1039, 0),
    ]


def test_states_follow_rfc_9293_on_both_sides() -> None:
    records = run_json("--isn-client", "4321", "--isn-server", "1000", "--msl", "2")
    paths: dict[str, list[str]] = {"client": [], "server": []}
    for r in records:
        if r["kind"] == "state":
            path = paths[str(r["endpoint"])]
            if not path:
                path.append(str(r["old"]))
            path.append(str(r["new"]))
    assert paths["client"] == [
        "CLOSED", "SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "CLOSED",
    ]  # fmt: skip
    assert paths["server"] == [
        "CLOSED", "LISTEN", "SYN-RECEIVED", "ESTABLISHED", "CLOSE-WAIT", "LAST-ACK", "CLOSED",
    ]  # fmt: skip
    last = [r for r in records if r["kind"] == "state"][-1]
    assert last["new"] == "CLOSED" and last["endpoint"] == "client"
    # TIME-WAIT lasts 2 x MSL after the client's last ACK.
    tw = next(r for r in records if r.get("new") == "TIME-WAIT")
    assert float(last["t"]) - float(tw["t"]) == pytest.approx(4.0)  # type: ignore[arg-type]


def test_text_output_is_a_ladder_in_80_columns() -> None:
    result = CliRunner().invoke(main, ["demo", "--isn-client", "4321"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert "S seq 0 len 0 win 65535" in result.output  # relative numbers by default
    assert any("TIME-WAIT" in line and "rcv FIN" in line for line in lines)
    assert "2MSL timeout" in result.output
    assert max(len(line) for line in lines) <= 80


def test_scenario_list_and_korean_narration() -> None:
    listing = CliRunner().invoke(main, ["demo", "--list", "--lang", "ko"])
    assert listing.exit_code == 0
    assert len(listing.output.splitlines()) == 21 and "lost-final-ack" in listing.output
    assert "syn-flood" in listing.output
    result = CliRunner().invoke(main, ["demo", "lost-final-ack", "--lang", "ko"])
    assert result.exit_code == 0
    assert "TIME-WAIT" in result.output and "재전송" in result.output


def test_unknown_scenario_is_a_one_line_error() -> None:
    result = CliRunner().invoke(main, ["demo", "no-such-thing"])
    assert result.exit_code == 2
    assert "no scenario 'no-such-thing'" in result.output


def test_bad_isn_is_a_one_line_error() -> None:
    result = CliRunner().invoke(main, ["demo", "--isn-client", "4294967296"])
    assert result.exit_code == 2
    assert "not a 32-bit sequence number" in result.output


def test_without_fixed_isns_the_run_is_reproducible() -> None:
    assert run_json() == run_json()


# -- the notes are told as fact only when the run went as they tell ------------
DIFFERS = "This run did not go as the explanation describes:"


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_scenario_goes_as_its_notes_tell_at_default_options(name: str) -> None:
    scenario = SCENARIOS[name]
    assert scenario.story is not None, f"{name}: no story to check its notes against"
    outcome = run_scenario(name)
    assert scenario.story.differences(outcome) == []
    assert scenario.explain(outcome, "ko") == scenario.describe("ko")


def test_close_with_a_long_delay_does_not_tell_the_4_way_handshake() -> None:
    # The client's CLOSE (at 200 ms) comes while its SYN is still on the way:
    # it is CLOSED from SYN-SENT, the SYN,ACK meets a RST, and no FIN is sent.
    result = CliRunner().invoke(main, ["demo", "close", "--delay", "500"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # the console wraps long lines
    assert "The client sends FIN" not in text and "CLOSE-WAIT" not in text
    assert (
        f"{DIFFERS} the client went from SYN-SENT to CLOSED, not to ESTABLISHED; "
        "the server went from SYN-RECEIVED to LISTEN, not to ESTABLISHED; "
        "the explanation's packets (client F., server ., server F., client .) "
        "did not come one after the other." in text
    )
    assert "R seq 1" in text  # the ladder, from the trace, as it was


@pytest.mark.parametrize("fmt", ["mermaid", "html"])
def test_no_view_tells_the_notes_of_a_run_that_went_otherwise(fmt: str, tmp_path: Path) -> None:
    page = tmp_path / "close.html"
    args = ["--format", "mermaid"] if fmt == "mermaid" else ["--html", str(page)]
    result = CliRunner().invoke(main, ["demo", "close", "--delay", "500", *args])
    assert result.exit_code == 0, result.output
    shown = result.output if fmt == "mermaid" else page.read_text(encoding="utf-8")
    assert "The client sends FIN" not in shown
    assert DIFFERS in shown


def test_a_short_msl_ends_time_wait_before_the_retransmitted_fin() -> None:
    # lost-final-ack's notes: the client, still in TIME-WAIT, re-ACKs the
    # retransmitted FIN. With a 1 ms MSL the wait is over when the FIN comes,
    # so the FIN meets a RST instead.
    result = CliRunner().invoke(main, ["demo", "lost-final-ack", "--msl", "0.001"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "still in TIME-WAIT" not in text
    assert (
        f"{DIFFERS} the explanation's packets (server F., client . dropped, server F., "
        "client .) did not come one after the other." in text
    )


def test_a_fault_the_notes_survive_keeps_them() -> None:
    # the help's example: the server's FIN is lost too; the story still holds
    result = CliRunner().invoke(main, ["demo", "lost-final-ack", "--drop", "s2c:F.:1"])
    assert result.exit_code == 0, result.output
    assert DIFFERS not in result.output and "still in TIME-WAIT" in result.output


def test_another_client_isn_is_not_told_as_4321() -> None:
    outcome = run_scenario("handshake", Options(isn_client=1000))
    _, notes = SCENARIOS["handshake"].explain(outcome, "en")
    assert notes == (
        f"{DIFFERS} the client's initial sequence number was 1000, not 4321. "
        "The trace shows what did happen.",
    )


@pytest.mark.parametrize("name", ["paws", "fast-open"])
def test_a_long_delay_is_told_not_a_traceback(name: str) -> None:
    # paws copied a server connection that did not exist yet (IndexError), and
    # fast-open timed a reply that never came (KeyError)
    result = CliRunner().invoke(main, ["demo", name, "--delay", "300"])
    assert result.exit_code == 0, result.output
    assert DIFFERS in result.output


STORY_FILE = """
name = "tiny"
[title]
en = "t"
ko = "ㅌ"
[notes]
en = ["The client closes first; the server's FIN rides on its ACK."]
ko = ["ㄴ"]
[tcp]
msl = 1.0
[[server]]
action = "listen"
at = 0.0
[[server]]
action = "close"
on = "end-of-stream"
[[client]]
action = "connect"
at = 0.0
[[client]]
action = "close"
at = 0.1
[story]
client = "CLOSED SYN-SENT ESTABLISHED FIN-WAIT-1 TIME-WAIT CLOSED"
packets = [["client F.", "server F.", "client ."]]
"""


def test_a_scenario_files_story_is_checked_too(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(STORY_FILE, encoding="utf-8")
    told = CliRunner().invoke(main, ["demo", "--file", str(path)])
    assert told.exit_code == 0 and "rides on its ACK" in told.output
    # no SYN,ACK gets through before the client's close: it closes in SYN-SENT
    broken = CliRunner().invoke(main, ["demo", "--file", str(path), "--drop", "s2c:S.:1-3"])
    assert broken.exit_code == 0, broken.output
    assert "rides on its ACK" not in broken.output
    assert (
        f"{DIFFERS} the client went from SYN-SENT to CLOSED, not to ESTABLISHED; "
        "the explanation's packets (client F., server F., client .) did not come one after "
        "the other." in " ".join(broken.output.split())
    )


@pytest.mark.parametrize(
    ("story", "error"),
    [
        (
            'client = "CLOSED SYN_SENT"',
            "story: 'SYN_SENT' is not a TCP state (CLOSED, SYN-SENT, ...)",
        ),
        ('packets = [["F."]]', "story: 'F.': a packet is 'client|server FLAGS [fate]'"),
    ],
)
def test_a_bad_story_is_a_one_line_error(tmp_path: Path, story: str, error: str) -> None:
    path = tmp_path / "s.toml"
    head, _, _ = STORY_FILE.partition("[story]")
    path.write_text(f"{head}[story]\n{story}\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["demo", "--file", str(path)])
    assert result.exit_code == 1
    assert result.output == f"Error: {path}: {error}\n"
