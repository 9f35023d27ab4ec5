"""The terminal ladder and the Mermaid sequence diagram."""

from __future__ import annotations

import re

from _trace_scenarios import CLIENT_ISN, SERVER_ISN, conversation
from rich.console import Console

from synack.sim.network import LinkConfig
from synack.trace.ladder import render_ladder
from synack.trace.load import records_from_dicts
from synack.trace.mermaid import render_mermaid
from synack.trace.output import json_records
from synack.trace.records import PacketRecord, Record
from synack.trace.timeline import build_timeline


def ladder(records: object, **kw: object) -> list[str]:
    console = Console(width=80, record=True, color_system=None)
    render_ladder(records, console, **kw)  # type: ignore[arg-type]
    lines = console.export_text().splitlines()
    too_long = [line for line in lines if len(line) > 80]
    assert not too_long, too_long
    return lines


def row(lines: list[str], *needles: str) -> str:
    """The one line holding all of ``needles``."""
    found = [line for line in lines if all(n in line for n in needles)]
    assert len(found) >= 1, f"no line with {needles}:\n" + "\n".join(lines)
    return found[0]


def test_plain_conversation_relative_numbers_and_states() -> None:
    lines = ladder(conversation(), title="a plain conversation")
    assert lines[0] == "a plain conversation"
    assert lines[1].split() == ["t", "(ms)", "client", "server"]
    # relative sequence numbers, as tcpdump prints them
    assert "S seq 0 len 0" in row(lines, "S seq")
    assert "S. seq 0 ack 1 len 0" in row(lines, "S. seq")
    assert "P. seq 1 ack 1 len 14" in row(lines, "P. seq 1 ack 1 ")
    assert "P. seq 1 ack 15 len 14" in row(lines, "P. seq 1 ack 15")
    # the server's SYN,ACK goes right to left, the client's SYN left to right
    # (a SYN's options take the line between its label and its arrow)
    syn = lines.index(row(lines, "S seq 0"))
    assert lines[syn + 2].rstrip().endswith("\u25b6\u2502 LISTEN")  # listening from the start
    assert "+10 ms" in lines[syn + 2]
    synack = lines.index(row(lines, "S. seq 0"))
    assert "\u2502\u25c0\u2500" in lines[synack + 2]
    # state changes are shown on the side that changed, with times in ms
    est = row(lines, "rcv SYN,ACK")
    assert re.match(r"\s+20\s+ESTABLISHED \u2502 rcv SYN,ACK\s+\u2502 SYN-RECEIVED$", est)
    server_est = row(lines, "rcv ACK of SYN")
    assert server_est.rstrip().endswith("rcv ACK of SYN \u2502 ESTABLISHED")
    assert row(lines, "2MSL timeout").split()[:2] == ["2060", "CLOSED"]
    assert f"client ISN {CLIENT_ISN}, server ISN {SERVER_ISN}" in lines[-1]
    assert "LOST" not in "\n".join(lines)


def test_absolute_numbers() -> None:
    lines = ladder(conversation(), absolute=True)
    assert f"S seq {CLIENT_ISN} len 0" in row(lines, "S seq")
    assert f"S. seq {SERVER_ISN} ack {CLIENT_ISN + 1} len 0" in row(lines, "S. seq")
    assert "absolute sequence numbers" in lines[-1]


def test_lost_segment_stops_midway_and_timers_show() -> None:
    lines = ladder(conversation(drop_first="S."))
    synacks = [i for i, line in enumerate(lines) if "S. seq 0 ack 1" in line]
    assert len(synacks) == 2  # the lost one and the retransmission
    lost = lines[synacks[0] + 2]
    assert "\u2717 LOST (dropped)" in lost
    assert "\u25c0" not in lost  # no arrowhead: it never arrived
    middle = lost.split("\u2502")[1]
    assert middle.startswith(" " * 5)  # it stops before reaching the client's lifeline
    assert "\u25c0" in lines[synacks[1] + 2]
    client_timer = row(lines, "\u23f1 retransmission", "1000 ")
    assert client_timer.split("\u2502")[1].startswith(" \u23f1")  # on the client's side
    server_timer = row(lines, "\u23f1 retransmission", "1010 ")
    assert server_timer.split("\u2502")[1].rstrip().endswith("retransmission")


def test_link_fates_are_marked() -> None:
    recorder = conversation(LinkConfig(delay=0.010, duplicate=0.2, reorder=0.2, corrupt=0.2), 7)
    fates = {r.fate.split(" ")[0] for r in recorder.records if isinstance(r, PacketRecord)}
    assert {"duplicated", "reordered", "corrupted"} <= fates
    text = "\n".join(ladder(recorder))
    assert re.search(r"\u2500 dup \+10 ms \u2500", text)
    assert re.search(r"\u2500 reordered \+15 ms \u2500", text)
    assert re.search(r"\u2500 corrupted \+10 ms \u2500", text)
    # a corrupted packet still shows what it carried (read without the checksum)
    timeline = build_timeline(recorder)
    corrupted = [s for s in timeline.arrows() if s.fate_word == "corrupted"]
    assert corrupted and all(s.text != "(malformed)" and s.flags for s in corrupted)


def test_falls_back_to_sent_segments() -> None:
    recorder = conversation(drop_first="S.")
    without_packets: list[Record] = [r for r in recorder.records if not isinstance(r, PacketRecord)]
    timeline = build_timeline(without_packets)
    assert timeline.source == "segments"
    arrows = list(timeline.arrows())
    # the lost SYN,ACK was sent, and nobody received it: no arrival
    assert [a.text for a in arrows[:3]] == [
        "S seq 0 len 0",
        "S. seq 0 ack 1 len 0",
        "S seq 0 len 0",
    ]
    assert arrows[1].arrival is None and not arrows[1].lost
    assert arrows[0].arrival is not None and abs(arrows[0].arrival - 0.010) < 1e-9
    lines = ladder(without_packets)
    assert "arrows drawn from the segments each side sent" in lines[-1]
    assert "S. seq 0 ack 1 len 0" in row(lines, "S. seq")
    # the JSON Lines form (states and sent segments) draws the same arrows
    loaded = records_from_dicts(json_records(recorder))
    assert [a.text for a in build_timeline(loaded).arrows()] == [a.text for a in arrows]


def test_other_widths_and_names() -> None:
    console = Console(width=60, record=True, color_system=None)
    render_ladder(conversation(), console, left="server", right="client")
    lines = console.export_text().splitlines()
    assert all(len(line) <= 60 for line in lines)
    assert lines[0].split() == ["t", "(ms)", "server", "client"]


def test_mermaid_sequence_diagram() -> None:
    recorder = conversation(drop_first="S.")
    text = render_mermaid(recorder)
    lines = text.splitlines()
    assert lines[:3] == [
        "sequenceDiagram",
        "    participant L as client",
        "    participant R as server",
    ]
    messages = [line for line in lines if re.match(r"    [LR]-", line)]
    packets = [r for r in recorder.records if isinstance(r, PacketRecord)]
    assert len(messages) == len(packets)
    assert messages[0] == "    L->>R: [0 ms] S seq 0 len 0"
    assert messages[1] == "    R-xL: [10 ms] S. seq 0 ack 1 len 0 \u2717 LOST (dropped)"
    assert sum("-x" in m for m in messages) == 1
    assert "    Note over L: [0 ms] CLOSED \u2192 SYN-SENT (active OPEN)" in lines
    assert "    Note over R: [1030 ms] SYN-RECEIVED \u2192 ESTABLISHED (rcv ACK of SYN)" in lines
    assert "    Note over L: [1000 ms] \u23f1 retransmission" in lines
    assert not any(";" in line for line in lines)


def test_mermaid_marks_other_fates() -> None:
    recorder = conversation(LinkConfig(delay=0.010, duplicate=0.2, reorder=0.2, corrupt=0.2), 7)
    text = render_mermaid(recorder)
    assert re.search(r"-->>[LR]: .* \(dup \+10 ms\)", text)
    assert re.search(r"-->>[LR]: .* \(reordered \+15 ms\)", text)
    assert re.search(r"-->>[LR]: .* \(corrupted \+10 ms\)", text)


def test_syn_options_and_the_scaled_window_exactly() -> None:
    """A SYN shows its options; its window is the raw field (never scaled); once
    both SYNs carried a window scale, every window is the bytes it stands for."""
    lines = ladder(conversation())
    assert "\n".join(lines[5:20]) == EXPECTED_HANDSHAKE


EXPECTED_HANDSHAKE = """\
     0     SYN-SENT │           S seq 0 len 0 win 65535           │ LISTEN
           SYN-SENT │        <mss 1460,sackOK,TS,wscale 3>        │ LISTEN
           SYN-SENT │────────────────── +10 ms ──────────────────▶│ LISTEN
    10     SYN-SENT │                                     rcv SYN │ SYN-RECEIVED
    10     SYN-SENT │       S. seq 0 ack 1 len 0 win 65535        │ SYN-RECEIVED
           SYN-SENT │        <mss 1460,sackOK,TS,wscale 3>        │ SYN-RECEIVED
           SYN-SENT │◀────────────────── +10 ms ──────────────────│ SYN-RECEIVED
    20  ESTABLISHED │ rcv SYN,ACK                                 │ SYN-RECEIVED
    20  ESTABLISHED │ P. seq 1 ack 1 len 14 win 256 KiB (32768<<3)│ SYN-RECEIVED
        ESTABLISHED │────────────────── +10 ms ──────────────────▶│ SYN-RECEIVED
    30  ESTABLISHED │                              rcv ACK of SYN │ ESTABLISHED
    30  ESTABLISHED │     P. seq 1 ack 15 len 14 win 256 KiB      │ ESTABLISHED
        ESTABLISHED │◀────────────────── +10 ms ──────────────────│ ESTABLISHED
    40  ESTABLISHED │ ▸ CLOSE                                     │ ESTABLISHED
    40   FIN-WAIT-1 │ CLOSE                                       │ ESTABLISHED"""
# (the second data segment's label is too long with the raw field: the bytes alone)


def _packet(
    t: float, src: str, flags: str, seq: int, ack: int, win: int, options: str = ""
) -> PacketRecord:
    dst = "server" if src == "client" else "client"
    return PacketRecord(t, t + 0.01, src, dst, "delivered", flags, seq, ack, 0, win, options)


def _labels(records: list[Record]) -> list[str]:
    """The middle of every packet's label line, stripped."""
    return [
        line.split("\u2502")[1].strip()
        for line in ladder(records)
        if re.search(r"\u2502 +[SFRP.]+ seq", line)
    ]


def test_a_window_is_scaled_only_when_both_syns_carried_a_scale() -> None:
    both = [
        _packet(0.0, "client", "S", 100, 0, 65535, "mss 1460,nop,wscale 7,sackOK"),
        _packet(0.01, "server", "S.", 500, 101, 29200, "mss 1400,wscale 2"),
        _packet(0.02, "client", ".", 101, 501, 512),
        _packet(0.03, "server", ".", 501, 101, 1000),
    ]
    assert _labels(both) == [
        "S seq 0 len 0 win 65535",
        "S. seq 0 ack 1 len 0 win 29200",  # a SYN's window is never scaled
        ". seq 1 ack 1 len 0 win 64 KiB (512<<7)",
        ". seq 1 ack 1 len 0 win 3.9 KiB (1000<<2)",
    ]
    assert "<mss 1460,wscale 7,sackOK>" in "\n".join(ladder(both))
    assert "<mss 1400,wscale 2>" in "\n".join(ladder(both))
    # the server did not answer with a scale: neither side scales (RFC 7323 1.3)
    one = [*both[:1], _packet(0.01, "server", "S.", 500, 101, 29200, "mss 1400"), *both[2:]]
    assert _labels(one)[2:] == [". seq 1 ack 1 len 0 win 512", ". seq 1 ack 1 len 0 win 1000"]
    # a shift of 0 is a scale in effect that changes nothing
    zero = [
        _packet(0.0, "client", "S", 100, 0, 65535, "wscale 0"),
        _packet(0.01, "server", "S.", 500, 101, 29200, "wscale 0"),
        _packet(0.02, "client", ".", 101, 501, 512),
    ]
    assert _labels(zero)[2] == ". seq 1 ack 1 len 0 win 512"
    # a shift over 14 is taken as 14 (RFC 7323 2.3)
    big = [
        _packet(0.0, "client", "S", 100, 0, 65535, "wscale 15"),
        _packet(0.01, "server", "S.", 500, 101, 29200, "wscale 0"),
        _packet(0.02, "client", ".", 101, 501, 1),
    ]
    assert _labels(big)[2] == ". seq 1 ack 1 len 0 win 16 KiB (1<<14)"


def test_times_keep_one_column_for_any_time() -> None:
    """Integer parts right-aligned, decimals after them: every lifeline in one
    column whatever the times (under a second, past 1000 ms, past 100 s)."""
    times = [0.0, 0.0105, 1.5, 123.4567, 250.0]
    records: list[Record] = [
        _packet(t, "client" if i % 2 == 0 else "server", ".", 1, 1, 100)
        for i, t in enumerate(times)
    ]
    lines = ladder(records)
    assert [line[:11] for line in lines[2::2][:5]] == [
        "     0     ",
        "    10.5   ",
        "  1500     ",
        "123456.7   ",
        "250000     ",
    ]
    assert len({line.index("\u2502") for line in lines[1:-2]}) == 1
    assert lines[0].startswith("t (ms)     ")  # over the integer parts


def test_a_ladder_drawn_as_it_grows_does_not_move() -> None:
    """Without the footer (the live ladder redraws as records arrive), the time
    column has room for times up to 9999999 ms from the start."""
    from synack.trace.ladder import ladder_lines

    records: list[Record] = [
        _packet(t, "client", ".", 1, 1, 100) for t in (0.0, 0.5, 1.25, 99.0, 1234.5678)
    ]
    first = [line.plain for line in ladder_lines(build_timeline(records[:1]), footer=False)]
    whole = [line.plain for line in ladder_lines(build_timeline(records), footer=False)]
    assert whole[: len(first)] == first
    assert {line.index("\u2502") for line in whole[1:]} == {25}
    assert whole[-2].startswith("1234567.8   ")
