"""Scenario files (docs/scenario-files.md): the examples run, and mistakes are caught."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from synack.cli import main
from synack.scenario_file import ScenarioFileError, load_scenario
from synack.scenarios import Options, relative_segments, state_paths
from synack.trace.records import PacketRecord, StateRecord

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "scenarios"

GOOD = """
name = "tiny"
[title]
en = "t"
ko = "ㅌ"
[notes]
en = ["n"]
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
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_lost_fin_example_runs_as_narrated() -> None:
    scenario = load_scenario(EXAMPLES / "lost-fin.toml")
    outcome = scenario.run(Options())
    fins = [
        r
        for r in outcome.recorder.records
        if isinstance(r, PacketRecord) and r.src == "client" and r.flags == "F."
    ]
    assert [f.fate for f in fins] == ["dropped", "delivered"]  # lost, then sent again
    # still in FIN-WAIT-1 when it resends
    resend = fins[1].t
    client_states = [
        r for r in outcome.recorder.records if isinstance(r, StateRecord) and r.endpoint == "client"
    ]
    before = [r.new for r in client_states if r.t < resend]
    assert before[-1] == "FIN-WAIT-1"
    assert state_paths(outcome)["client"][-2:] == ["TIME-WAIT", "CLOSED"]
    # the request goes after the handshake's bare ACK; the reply rides on the ACK of it
    segments = relative_segments(outcome)
    assert segments[2:5] == [
        ("client", ".", 1, 1, 0, "delivered"),
        ("client", "P.", 1, 1, 18, "delivered"),
        ("server", "P.", 1, 19, 46, "delivered"),
    ]
    assert scenario.describe("ko")[0] == "클라이언트의 FIN이 유실되어 다시 전송됨"


def test_slow_reader_example_closes_the_window() -> None:
    outcome = load_scenario(EXAMPLES / "slow-reader.toml").run(Options())
    server = [
        r for r in outcome.recorder.records if isinstance(r, PacketRecord) and r.src == "server"
    ]
    zero = [r for r in server if r.win == 0]
    assert zero and all(r.t < 6.0 for r in zero)  # closed until the application reads at 6 s
    assert any(r.t == pytest.approx(6.0) and r.win > 0 for r in server)
    assert len(outcome.server_received) == 20_480 == len(outcome.client_sent)


def test_demo_file_runs_the_scenario_with_every_view(tmp_path: Path) -> None:
    html, pcap = tmp_path / "s.html", tmp_path / "s.pcap"
    result = CliRunner().invoke(
        main,
        [
            "demo",
            "--file",
            str(EXAMPLES / "lost-fin.toml"),
            "--html",
            str(html),
            "--pcap",
            str(pcap),
        ],
    )
    assert result.exit_code == 0, result.output
    assert html.stat().st_size > 0 and pcap.stat().st_size > 24
    ladder = CliRunner().invoke(
        main, ["demo", "--file", str(EXAMPLES / "lost-fin.toml"), "--lang", "ko"]
    )
    assert ladder.exit_code == 0 and "클라이언트의 FIN이 유실되어" in ladder.output


def test_the_files_seed_and_links_apply(tmp_path: Path) -> None:
    text = GOOD.replace('name = "tiny"', 'name = "tiny"\nseed = 5') + "[link.c2s]\ndelay = 0.05\n"
    outcome = load_scenario(write(tmp_path, text)).run(Options())
    syn = next(r for r in outcome.recorder.records if isinstance(r, PacketRecord))
    assert syn.arrival is not None and syn.arrival - syn.t == pytest.approx(0.05)
    back = next(
        r for r in outcome.recorder.records if isinstance(r, PacketRecord) and r.src == "server"
    )
    assert back.arrival is not None and back.arrival - back.t == pytest.approx(0.010)
    tw = [
        r for r in outcome.recorder.records if isinstance(r, StateRecord) and r.old == "TIME-WAIT"
    ]
    assert tw[0].t - next(
        r.t for r in outcome.recorder.records if getattr(r, "new", "") == "TIME-WAIT"
    ) == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("[tcp]\nmsl = 1.0", "[tcp]\nmsl = 1.0\nnagle = true"), "tcp: unknown setting 'nagle'"),
        (("[tcp]\nmsl = 1.0", "[tcp]\nmsl = -1.0"), "tcp:"),
        (("[tcp]\nmsl = 1.0", "[tcp]\nmsl = inf"), "tcp.msl: inf is not a finite number"),
        (
            ("[tcp]\nmsl = 1.0", "[tcp]\nmsl = 1.0\nsend_buffer = 1.5"),
            "tcp.send_buffer: Input should be a valid integer",
        ),
        (
            ("[tcp]\nmsl = 1.0", '[tcp]\nmsl = 1.0\nsack = "maybe"'),
            "tcp.sack: Input should be a valid boolean",
        ),
        (('name = "tiny"', 'name = "Tiny Name"'), "name: String should match pattern"),
        (("at = 0.1", "at = -0.1"), "client[1].at: Input should be greater than or equal to 0"),
        (('action = "close"\nat = 0.1', 'action = "close"'), "client[1]: give exactly one of 'at'"),
        (
            ('action = "close"\nat = 0.1', 'action = "send"\nat = 0.1'),
            "a send needs exactly one of",
        ),
        (
            ('action = "close"\nat = 0.1', 'action = "jump"\nat = 0.1'),
            "client[1].action: Input should be",
        ),
        (('[[client]]\naction = "connect"\nat = 0.0', ""), "the client never connects"),
        (
            ("[tcp]", "[link]\nloss = 1.5\n[tcp]"),
            "link.loss: Input should be less than or equal to 1",
        ),
        (
            ("[tcp]", "[link]\ndelay = 0.01\nspeed = 3\n[tcp]"),
            "link.speed: Extra inputs are not permitted",
        ),
        (
            ("[tcp]", '[[fault]]\nfrom = "router"\n[tcp]'),
            "fault[0].from: Input should be 'client' or 'server'",
        ),
        (('[title]\nen = "t"\nko = "ㅌ"', '[title]\nen = "t"'), "title.ko: Field required"),
        (("[tcp]", "[tcp\n"), "not valid TOML"),
        (('action = "listen"', 'action = "connect"'), "the server does not connect"),
    ],
)
def test_mistakes_are_reported_with_where_and_what(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    old, new = change
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ScenarioFileError) as info:
        load_scenario(path)
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value)
    result = CliRunner().invoke(main, ["demo", "--file", str(path)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.strip().splitlines() == [f"Error: {info.value}"]


def test_a_name_and_a_file_together_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "close", "--file", str(write(tmp_path, GOOD))])
    assert result.exit_code == 2 and "not both" in result.output
