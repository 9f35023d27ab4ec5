"""Every view shows the same packets, one for one: JSON, ladder, Mermaid, HTML/SVG, pcap.

Over every scenario of ``synack demo`` and over random simulations (loss,
duplicates, reordering, corruption, jitter), each view is read back (the
JSON Lines, the ladder's text, the Mermaid source, the SVG's data
attributes, the pcap through tshark) and compared with the trace's packet
records, in order. The endpoints' own records are checked against the
packets too: every packet was sent by its endpoint, and every packet that
arrived intact was received.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from rich.console import Console

from synack.scenarios import REQUEST, SCENARIOS, Options, World, run_scenario
from synack.sim.network import LinkConfig
from synack.trace.html import write_html
from synack.trace.ladder import render_ladder
from synack.trace.mermaid import render_mermaid
from synack.trace.output import json_records
from synack.trace.pcap import write_pcap
from synack.trace.records import PacketRecord, Record, SegmentRecord
from synack.trace.timeline import build_timeline


def random_run(seed: int) -> list[Record]:
    """A request, 60 KB back and a close over a link that does everything wrong."""
    link = LinkConfig(delay=0.01, jitter=0.004, loss=0.05, duplicate=0.05, reorder=0.05,
                      corrupt=0.03)  # fmt: skip
    world = World("random", Options(seed=seed, msl=1.0), link=link)
    world.server.listen(80)
    client = world.client.connect(("10.0.0.2", 80), 0.0)
    world.send(client, REQUEST, "client")
    world.at(2.0, client.close)

    def on_server(conn, event):  # type: ignore[no-untyped-def]
        if not world.server_sent and world.server_received == REQUEST:
            world.send(conn, bytes(60_000), "server")
            conn.close()

    world.on_server = on_server
    return list(world.run(limit=120.0).recorder.records)


RUNS = [pytest.param(name, id=name) for name in SCENARIOS] + [
    pytest.param(seed, id=f"random-{seed}") for seed in (1, 2, 3)
]


def records_of(run: str | int) -> list[Record]:
    if isinstance(run, int):
        return random_run(run)
    return list(run_scenario(run, Options(msl=1.0)).recorder.records)


def the_packets(records: list[Record]) -> list[PacketRecord]:
    return [r for r in sorted(records, key=lambda r: round(r.t, 9)) if isinstance(r, PacketRecord)]


@pytest.mark.parametrize("run", RUNS)
def test_every_view_shows_the_same_packets(run: str | int, tmp_path: Path) -> None:
    records = records_of(run)
    packets = the_packets(records)
    assert packets

    def row(p: PacketRecord) -> tuple[str, str, str, int, int, int, str]:
        return (p.src, p.dst, p.flags, p.seq, p.ack, p.len, p.fate.split(" ")[0])

    # JSON Lines: every packet record, with its fate
    items = [json.loads(json.dumps(i)) for i in json_records(records)]
    from_json = [
        (i["src"], i["dst"], i["flags"], i["seq"], i["ack"], i["len"], i["fate"].split(" ")[0])
        for i in items
        if i["kind"] == "packet"
    ]
    assert from_json == [row(p) for p in packets]
    # a packet to no host names the address it was sent to, never a host it did not reach
    for p in packets:
        assert p.fate != "unroutable" or p.dst.startswith("10.0.9.")
    # the ladder, Mermaid and HTML draw the two endpoints: every packet between them
    between = [p for p in packets if {p.src, p.dst} == {"client", "server"}]
    assert len(between) == len(packets) - sum(p.fate == "unroutable" for p in packets)
    truth = [(p.src, p.flags, p.seq, p.ack, p.len, p.fate.split(" ")[0]) for p in between]

    # the ladder's model, and its text (absolute numbers, one label per arrow)
    timeline = build_timeline(records, absolute=True)
    arrows = list(timeline.arrows())
    from_timeline = [(a.side, a.flags, a.seq, a.ack, a.len, a.fate_word) for a in arrows]
    assert from_timeline == truth
    console = Console(record=True, width=100, highlight=False)
    render_ladder(records, console, absolute=True)
    text = console.export_text()
    labels = re.findall(r"│ *([A-Z.]+) seq (\d+)(?: ack (\d+))? len (\d+)", text)
    assert [(f, int(s), int(a or 0), int(n)) for f, s, a, n in labels] == [
        (flags, seq, ack if "." in flags else 0, length) for _, flags, seq, ack, length, _ in truth
    ]
    assert text.count("LOST") == sum(a.lost for a in arrows)

    # Mermaid: one message per packet, lost ones ending in a cross
    mermaid = render_mermaid(records, absolute=True)
    message = r"^    ([LR])(-x|->>|-->>)([LR]): \[[\d.]+ ms\] (\S+) seq (\d+)"
    messages = re.findall(message, mermaid, re.M)
    assert [(m[0], m[3], int(m[4])) for m in messages] == [
        ("L" if who == "client" else "R", flags, seq) for who, flags, seq, *_ in truth
    ]
    assert [m[1] == "-x" for m in messages] == [a.lost for a in arrows]

    # HTML/SVG: each arrow's data attributes
    page = tmp_path / "t.html"
    write_html(records, page, absolute=True)
    drawn = re.findall(
        r'data-endpoint="([^"]*)" data-flags="([^"]*)" data-seq="(\d+)" data-ack="(\d+)" '
        r'data-len="(\d+)" data-fate="([^"]*)"',
        page.read_text(encoding="utf-8"),
    )
    assert [(e, f, int(s), int(a), int(n), fate) for e, f, s, a, n, fate in drawn] == truth

    # pcap, read back by tshark: every packet, in order, as sent (corrupted ones as damaged)
    if shutil.which("tshark") is None:
        pytest.skip("tshark is not installed (CI installs it)")
    capture = tmp_path / "t.pcap"
    assert write_pcap(records, capture) == len(packets)  # all of them, to any address
    out = subprocess.run(
        ["tshark", "-r", str(capture), "-o", "tcp.relative_sequence_numbers:FALSE",
         "-T", "fields", "-e", "tcp.seq_raw", "-e", "tcp.ack_raw", "-e", "tcp.len"],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout.splitlines()  # fmt: skip
    assert len(out) == len(packets)
    for line, p in zip(out, packets, strict=True):
        if p.fate.startswith("corrupted"):
            continue  # a flipped byte may sit in the header tshark reads
        seq, ack, length = (int(x or 0) for x in line.split("\t"))
        assert (seq, length) == (p.seq, p.len)
        if "." in p.flags:  # the acknowledgment field means something only with ACK set
            assert ack == p.ack


@pytest.mark.parametrize("run", RUNS)
def test_the_endpoints_records_match_the_packets(run: str | int) -> None:
    records = records_of(run)
    packets = the_packets(records)
    segments = [r for r in records if isinstance(r, SegmentRecord)]

    def key(endpoint: str, r: PacketRecord | SegmentRecord) -> tuple[str, str, int, int, int]:
        return (endpoint, r.flags, r.seq, r.ack, r.len)

    # every packet on the link left one of the two endpoints (a copy the link made,
    # or a packet a scenario replayed, is the network's, not an endpoint's); a
    # corrupted one is recorded as it arrived, so it is only counted
    originals = [p for p in packets if p.fate.split(" ")[0] not in ("duplicated", "old")]
    intact = Counter(key(p.src, p) for p in originals if not p.fate.startswith("corrupted"))
    sent = Counter(key(s.endpoint, s) for s in segments if s.direction == "sent")
    assert sent.total() == len(originals)  # nothing sent goes unrecorded, nothing extra
    assert intact <= sent and (sent - intact).total() == len(originals) - intact.total()
    # every packet that arrived intact was received, by the endpoint it was for
    arrived = Counter(
        key(p.dst, p) for p in packets
        if p.arrival is not None and not p.fate.startswith("corrupted") and p.fate != "unroutable"
    )  # fmt: skip
    received = Counter(
        key(s.endpoint, s) for s in segments
        if s.direction == "received" and not s.src.startswith("10.0.9.")  # syn-flood's spoofs
    )  # fmt: skip
    assert arrived == received
