"""The state diagram from TRANSITIONS, with a trace's path, and `synack states`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from _trace_scenarios import conversation
from click.testing import CliRunner
from rich.console import Console

from synack.cli import main
from synack.tcp.state import TRANSITIONS, State, Stimulus
from synack.trace.output import json_records
from synack.trace.records import StateRecord
from synack.trace.states import (
    edges_taken,
    state_diagram_mermaid,
    state_diagram_text,
    stimulus_for,
    universal_stimuli,
)

S, T = State, Stimulus


def test_causes_map_to_the_table_edges() -> None:
    assert stimulus_for(S.ESTABLISHED, S.CLOSED, "rcv RST") is T.RCV_RST
    assert stimulus_for(S.ESTABLISHED, S.CLOSED, "retransmission limit R2") is T.TIMEOUT
    assert stimulus_for(S.FIN_WAIT_2, S.CLOSED, "FIN-WAIT-2 timeout") is T.TIMEOUT
    assert stimulus_for(S.FIN_WAIT_1, S.CLOSED, "data after CLOSE") is T.ABORT
    assert stimulus_for(S.SYN_SENT, S.CLOSED, "CLOSE") is T.DELETE
    assert stimulus_for(S.SYN_RECEIVED, S.LISTEN, "rcv RST") is T.RETURN_TO_LISTEN
    assert stimulus_for(S.TIME_WAIT, S.CLOSED, "2MSL timeout") is T.TIMEOUT_2MSL
    assert stimulus_for(S.LISTEN, S.ESTABLISHED, "impossible") is None
    assert universal_stimuli() == [T.ABORT, T.TIMEOUT]


def test_edges_taken_by_each_side() -> None:
    records = conversation().records
    assert edges_taken(records, "client") == [
        (S.CLOSED, T.OPEN_ACTIVE, S.SYN_SENT),
        (S.SYN_SENT, T.RCV_SYN_ACK, S.ESTABLISHED),
        (S.ESTABLISHED, T.CLOSE, S.FIN_WAIT_1),
        (S.FIN_WAIT_1, T.RCV_ACK_OF_FIN, S.FIN_WAIT_2),
        (S.FIN_WAIT_2, T.RCV_FIN, S.TIME_WAIT),
        (S.TIME_WAIT, T.TIMEOUT_2MSL, S.CLOSED),
    ]
    assert [e[1] for e in edges_taken(records, "server")] == [
        T.OPEN_PASSIVE, T.RCV_SYN, T.RCV_ACK_OF_SYN, T.RCV_FIN, T.CLOSE, T.RCV_ACK_OF_FIN,
    ]  # fmt: skip
    assert all(TRANSITIONS[(a, s)] is b for a, s, b in edges_taken(records))


def _text(records: object = None, endpoint: str | None = None) -> tuple[str, str]:
    console = Console(width=80, record=True, color_system="truecolor")
    console.print(state_diagram_text(records, endpoint))  # type: ignore[arg-type]
    return console.export_text(clear=False), console.export_text(styles=True)


def test_text_diagram_has_every_edge_and_highlights_the_path() -> None:
    plain, _ = _text()
    universal = set(universal_stimuli())
    for (_, stim), dst in TRANSITIONS.items():
        if stim not in universal:
            assert f"{stim.value} \u2500\u2500\u25b6 {dst.value}" in plain
    assert plain.count("any state but CLOSED") == 2
    assert "\u2714" not in plain
    text, styled = _text(conversation().records, "client")
    joined = " ".join(line.strip() for line in text.splitlines())
    assert (
        "path of client: CLOSED \u2192 SYN-SENT \u2192 ESTABLISHED \u2192 FIN-WAIT-1 \u2192 "
        "FIN-WAIT-2 \u2192 TIME-WAIT \u2192 CLOSED" in joined
    )
    assert "\u2714 1 active OPEN / send SYN \u2500\u2500\u25b6 SYN-SENT" in text
    assert "\u2714 6 timeout = 2MSL \u2500\u2500\u25b6 CLOSED" in text
    assert len(re.findall("\u2714", text)) == 6
    # taken edges are bold green, the others dim (SGR 1 = bold, 2 = dim, 32 = green)
    taken = next(
        line
        for line in styled.splitlines()
        if "active OPEN / send SYN" in line and "\u2714" in line
    )
    other = next(line for line in styled.splitlines() if "passive OPEN \u2500" in line)
    assert "\x1b[1;32m" in taken
    assert "\x1b[2m" in other and "\x1b[1;32m" not in other


def test_mermaid_state_diagram() -> None:
    text = state_diagram_mermaid(conversation().records, "server")
    lines = text.splitlines()
    assert lines[0] == "stateDiagram-v2"
    assert '    state "SYN-RECEIVED" as SYN_RECEIVED' in lines
    assert "    LISTEN --> SYN_RECEIVED: \u2714 2 \u00b7 rcv SYN / send SYN,ACK" in lines
    assert "    CLOSE_WAIT --> LAST_ACK: \u2714 5 \u00b7 CLOSE / send FIN" in lines
    assert "    CLOSED --> SYN_SENT: active OPEN / send SYN" in lines  # not taken
    assert "    class LISTEN, SYN_RECEIVED, ESTABLISHED, CLOSE_WAIT, LAST_ACK visited" in lines
    assert "    class CLOSED current" in lines
    assert any(line.startswith("    classDef visited ") for line in lines)
    transitions = [line for line in lines if " --> " in line and "[*]" not in line]
    universal = set(universal_stimuli())
    assert len(transitions) == sum(1 for (_, s) in TRANSITIONS if s not in universal)
    # an aborted connection's edge is drawn even though ABORT edges are folded away
    aborted = [StateRecord(0.0, "x", "ESTABLISHED", "CLOSED", "ABORT")]
    assert (
        "    ESTABLISHED --> CLOSED: \u2714 1 \u00b7 ABORT / send RST"
        in state_diagram_mermaid(aborted, "x").splitlines()
    )


def _trace_file(tmp_path: Path) -> Path:
    import json

    path = tmp_path / "trace.jsonl"
    path.write_text("".join(json.dumps(i) + "\n" for i in json_records(conversation())))
    return path


def test_cli_states(tmp_path: Path) -> None:
    runner = CliRunner()
    plain = runner.invoke(main, ["states"])
    assert plain.exit_code == 0, plain.output
    assert "RFC 9293 state diagram" in plain.output and "\u2714" not in plain.output
    trace = _trace_file(tmp_path)
    server = runner.invoke(main, ["states", "--trace", str(trace), "--endpoint", "server"])
    assert server.exit_code == 0, server.output
    assert "\u2714 3 rcv ACK of SYN" in server.output
    assert "path of server: CLOSED" in server.output
    mermaid = runner.invoke(main, ["states", "--format", "mermaid", "--trace", str(trace)])
    assert mermaid.exit_code == 0, mermaid.output
    assert mermaid.output.startswith("stateDiagram-v2\n")
    assert "SYN_SENT --> ESTABLISHED: \u2714 2 \u00b7 rcv SYN,ACK / send ACK" in mermaid.output
    missing = runner.invoke(main, ["states", "--trace", str(trace), "--endpoint", "nobody"])
    assert missing.exit_code != 0 and "no records for endpoint 'nobody'" in missing.output
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"kind": "state"}\nnot json\n')
    bad = runner.invoke(main, ["states", "--trace", str(broken)])
    assert bad.exit_code != 0 and "cannot read the trace" in bad.output


_STATE = {"t": 0.5, "kind": "state", "endpoint": "client", "old": "CLOSED", "new": "SYN-SENT",
          "cause": "active OPEN"}  # fmt: skip
_SEGMENT = {"t": 0.5, "kind": "segment", "endpoint": "client", "direction": "sent",
            "src": "10.0.1.1:5000", "dst": "10.0.0.1:80", "flags": "S", "seq": 1, "ack": 0,
            "len": 0, "win": 65535, "options": "", "reason": None}  # fmt: skip
_PACKET = {"t": 0.5, "kind": "packet", "arrival": 0.51, "src": "client", "dst": "server",
           "fate": "delivered", "flags": "S", "seq": 1, "ack": 0, "len": 0, "win": 65535,
           "options": ""}  # fmt: skip


_BROKEN = [  # the ids of the cases below
    "bogus-new", "bogus-old", "t-null", "t-string", "t-bool", "t-nan", "t-inf", "no-new",
    "endpoint-int", "cause-null", "seq-string", "ack-33-bits", "len-negative", "direction",
    "arrival-string", "no-fate", "unknown-kind", "no-kind", "json-not-a-trace", "json-array",
    "json-string", "truncated", "nested-too-deep", "huge-number", "empty", "blank-lines",
]  # fmt: skip


def _line(base: dict[str, object], **changes: object) -> str:
    import json

    item = {**base, **changes}
    return json.dumps({k: v for k, v in item.items() if v is not ...})


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        (_line(_STATE, new="BOGUS"), "line 2", "new: 'BOGUS' is not an RFC 9293 state"),
        (_line(_STATE, old="SYN_SENT"), "line 2", "old: 'SYN_SENT' is not an RFC 9293 state"),
        (_line(_STATE, t=None), "line 2", "t: input should be a valid number (got null)"),
        (_line(_STATE, t="0.5"), "line 2", 't: input should be a valid number (got "0.5")'),
        (_line(_STATE, t=True), "line 2", "t: input should be a valid number (got true)"),
        (_line(_STATE, t=float("nan")), "line 2", "t: input should be a finite number"),
        ('{"t": 1e999' + _line(_STATE)[8:], "line 2", "t: input should be a finite number"),
        (_line(_STATE, new=...), "line 2", "state record without new"),
        (_line(_STATE, endpoint=7), "line 2", "endpoint: input should be a valid string"),
        (_line(_STATE, cause=None), "line 2", "cause: input should be a valid string"),
        (_line(_SEGMENT, seq="1"), "line 2", "seq: input should be a valid integer"),
        (_line(_SEGMENT, ack=2**32), "line 2", "ack: input should be less than or equal"),
        (_line(_SEGMENT, len=-1), "line 2", "len: input should be greater than or equal to 0"),
        (_line(_SEGMENT, direction="up"), "line 2", "direction: input should be 'sent'"),
        (_line(_PACKET, arrival="later"), "line 2", "arrival: input should be a valid number"),
        (_line(_PACKET, fate=...), "line 2", "packet record without fate"),
        (_line(_STATE, kind="wormhole"), "line 2", 'unknown record kind "wormhole"'),
        (_line(_STATE, kind=...), "line 2", "no kind"),
        ('{"name": "synack", "version": 1}', "line 2", "no kind"),
        ("[1, 2, 3]", "line 2", "(a JSON object), but an array"),
        ('"state"', "line 2", "(a JSON object), but a string"),
        (_line(_STATE)[:30], "line 2", "not JSON"),
        ("[" * 100_000, "line 2", "not JSON"),
        ("1" * 5000, "line 2", "not JSON"),
        ("", "", "no records"),
        ("\n  \n", "", "no records"),
    ],
    ids=_BROKEN,
)
def test_cli_states_refuses_a_broken_trace(
    tmp_path: Path, text: str, where: str, what: str
) -> None:
    """A broken record (after a good one) is one line naming the file, the line and
    the field, exit status 1, and no diagram drawn."""
    path = tmp_path / "broken.jsonl"
    path.write_text(_line(_STATE) + "\n" + text + "\n" if where else text, encoding="utf-8")
    result = CliRunner().invoke(main, ["states", "--trace", str(path)])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    (error,) = result.stderr.splitlines()
    assert error.startswith(f"Error: cannot read the trace: {path}: {where}"), error
    assert what in error, error


def test_cli_states_refuses_bytes_that_are_not_text(tmp_path: Path) -> None:
    path = tmp_path / "capture.jsonl"
    path.write_bytes(_line(_STATE).encode() + b"\n\xd4\xc3\xb2\xa1\n")
    result = CliRunner().invoke(main, ["states", "--trace", str(path)])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == f"Error: cannot read the trace: {path}: line 2: not UTF-8 text\n"


@pytest.mark.parametrize(
    ("args", "endpoint"),
    [
        (["demo", "close", "--json"], "client"),
        (["demo", "simultaneous-open", "--json"], "server"),
        (["demo", "refused", "--json"], "client"),
        (["simulate", "--format", "json", "--drop", "S.:1", "--msl", "1"], "client"),
    ],
)
def test_cli_states_reads_the_traces_synack_writes(
    tmp_path: Path, args: list[str], endpoint: str
) -> None:
    """Every kind of record synack writes reads back, and the diagram shows its path."""
    runner = CliRunner()
    written = runner.invoke(main, args)
    assert written.exit_code == 0, written.output
    path = tmp_path / "trace.jsonl"
    path.write_text(written.stdout, encoding="utf-8")
    result = runner.invoke(main, ["states", "--trace", str(path), "--endpoint", endpoint])
    assert result.exit_code == 0, result.output
    assert f"path of {endpoint}: CLOSED" in result.stdout


def test_cli_states_reads_what_synack_analyze_writes(tmp_path: Path) -> None:
    """`synack analyze --format json` starts a side it has not seen in "unknown"."""
    import json

    runner = CliRunner()
    capture = tmp_path / "close.pcap"
    wrote = runner.invoke(main, ["demo", "close", "--format", "none", "--pcap", str(capture)])
    assert wrote.exit_code == 0, wrote.output
    analyzed = runner.invoke(main, ["analyze", str(capture), "--conn", "1", "--format", "json"])
    assert analyzed.exit_code == 0, analyzed.output
    path = tmp_path / "analyzed.jsonl"
    path.write_text(analyzed.stdout, encoding="utf-8")
    states = [json.loads(line) for line in analyzed.stdout.splitlines() if '"state"' in line]
    assert any(s["old"] == "unknown" for s in states)
    server = next(s["endpoint"] for s in states if s["old"] == "unknown")
    result = runner.invoke(main, ["states", "--trace", str(path), "--endpoint", server])
    assert result.exit_code == 0, result.output
    assert f"path of {server}: LISTEN" in " ".join(result.stdout.split())


def test_cli_states_highlights_a_scenario_path() -> None:
    from click.testing import CliRunner

    from synack.cli import main

    result = CliRunner().invoke(
        main, ["states", "--scenario", "simultaneous-close", "--endpoint", "server"]
    )
    assert result.exit_code == 0, result.output
    path = " ".join(result.output.split("\n\n")[0].split())
    assert "FIN-WAIT-1 → CLOSING → TIME-WAIT → CLOSED" in path
    bad = CliRunner().invoke(main, ["states", "--scenario", "nope"])
    assert bad.exit_code == 2 and "no scenario 'nope'" in bad.output


def test_an_edge_the_configuration_turns_off_says_so() -> None:
    from synack.tcp.config import TcpConfig

    console = Console(record=True, width=120)
    console.print(state_diagram_text(None, None, TcpConfig()))
    lines = console.export_text().splitlines()
    tw = lines.index("TIME-WAIT")
    assert "rcv RST" in lines[tw + 2] and "off: RST ignored, RFC 1337" in lines[tw + 2]
    console = Console(record=True, width=120)
    console.print(state_diagram_text(None, None, TcpConfig(rfc1337=False)))
    assert "off:" not in console.export_text()
    mermaid = state_diagram_mermaid(None, None, TcpConfig())
    assert "TIME_WAIT --> CLOSED: rcv RST (off: RST ignored RFC 1337" in mermaid
