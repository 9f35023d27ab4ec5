"""examples/scenarios/narrow-link.toml runs as its notes say: segments too big
for the client-to-server link are dropped and answered with ICMP; the client
lowers its MSS and resends at once, with no timeout (docs/icmp.md)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from synack.scenario_file import load_scenario
from synack.scenarios import Options
from synack.trace.html import render_html
from synack.trace.ladder import render_ladder
from synack.trace.mermaid import render_mermaid
from synack.trace.records import PacketRecord, TimerRecord

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "scenarios" / "narrow-link.toml"


def test_narrow_link_example_runs_as_narrated() -> None:
    outcome = load_scenario(EXAMPLE).run(Options())
    packets = [r for r in outcome.recorder.records if isinstance(r, PacketRecord)]
    too_big = [p for p in packets if p.fate == "too-big"]
    icmp = [p for p in packets if p.fate == "delivered (ICMP packet-too-big mtu 1000)"]
    # the first flight: three full segments (1448 bytes with timestamps), each answered
    assert [(p.src, p.len) for p in too_big] == [("client", 1448)] * 3
    assert [p.src for p in icmp] == ["server"] * 3
    # then at once (one RTT later, not after an RTO) the same bytes in pieces of at most 948
    after = [p for p in packets if p.src == "client" and p.t > too_big[-1].t and p.len]
    assert after and all(p.len <= 948 for p in after)
    assert after[0].t - too_big[0].t < 0.05
    lost = {p.seq for p in too_big}
    assert lost <= {p.seq for p in after}
    assert not [r for r in outcome.recorder.records if isinstance(r, TimerRecord)
                and r.timer == "retransmission"]  # fmt: skip
    assert len(outcome.server_received) == 8192 == len(outcome.client_sent)


def test_narrow_link_views_name_the_icmp() -> None:
    outcome = load_scenario(EXAMPLE).run(Options())
    console = Console(width=80, record=True, color_system=None)
    render_ladder(outcome.recorder, console)
    ladder = console.export_text()
    assert ladder.count("ICMP packet-too-big mtu 1000") == 3
    assert "ICMP packet-too-big mtu 1000 win" not in ladder  # not a TCP segment's label
    assert render_mermaid(outcome.recorder).count("ICMP packet-too-big mtu 1000") == 3
    assert "ICMP packet-too-big mtu 1000" in render_html(outcome.recorder)
