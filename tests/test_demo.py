"""The first ``synack demo``: its trace, its JSON Lines format and its arguments."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from synack.cli import main


def run_json(*args: str) -> list[dict[str, object]]:
    result = CliRunner().invoke(main, ["demo", "--json", *args])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def test_json_records_have_the_documented_fields() -> None:
    records = run_json("--isn-client", "4321", "--isn-server", "1000")
    assert {r["kind"] for r in records} == {"segment", "state"}
    for r in records:
        assert {"t", "kind", "endpoint"} <= r.keys()
        if r["kind"] == "segment":
            assert {"src", "dst", "flags", "seq", "ack", "len", "win"} <= r.keys()
        else:
            assert {"old", "new"} <= r.keys()
    times = [float(r["t"]) for r in records]  # type: ignore[arg-type]
    assert times == sorted(times)


def test_segments_are_the_three_and_four_way_handshakes() -> None:
    records = run_json("--isn-client", "4321", "--isn-server", "1000")
    segments = [
        (r["endpoint"], r["flags"], r["seq"], r["ack"], r["len"])
        for r in records
        if r["kind"] == "segment"
    ]
    assert segments == [
        ("client", "S", 4321, 0, 0),
        ("server", "S.", 1000, 4322, 0),
        ("client", "P.", 4322, 1001, 14),  # the request rides on the handshake's last ACK
        ("server", "P.", 1001, 4336, 14),
        ("client", "F.", 4336, 1015, 0),
        ("server", ".", 1015, 4337, 0),
        ("server", "F.", 1015, 4337, 0),
        ("client", ".", 4337, 1016, 0),
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


def test_text_output_shows_states_and_flags() -> None:
    result = CliRunner().invoke(main, ["demo", "--isn-client", "4321"])
    assert result.exit_code == 0
    assert "seq 4321 ack 0" in result.output
    assert "TIME-WAIT -> CLOSED" in result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80


def test_bad_isn_is_a_one_line_error() -> None:
    result = CliRunner().invoke(main, ["demo", "--isn-client", "4294967296"])
    assert result.exit_code == 2
    assert "not a 32-bit sequence number" in result.output


def test_without_fixed_isns_the_run_is_reproducible() -> None:
    assert run_json() == run_json()
