"""An ICMP packet on a link (the lab's TUN device sees the kernel's) is
recorded as what it is, not as a malformed TCP segment with numbers read
from the wrong bytes, and the views draw it without complaint."""

from __future__ import annotations

from ipaddress import ip_address

from rich.console import Console

from synack.trace.html import render_html
from synack.trace.ladder import render_ladder
from synack.trace.mermaid import render_mermaid
from synack.trace.records import PacketRecord, TraceRecorder
from synack.wire.icmp import icmp_error_for_segment
from synack.wire.ip import encode_packed
from synack.wire.segment import ACK, SYN, Segment

CLIENT, SERVER = ip_address("10.0.0.1"), ip_address("10.0.0.2")


def _recorded() -> TraceRecorder:
    recorder = TraceRecorder()
    syn = Segment(40000, 80, 1000, 0, SYN, 65535)
    data = Segment(40000, 80, 1001, 1, ACK, 65535, payload=b"x" * 1460)
    too_big = icmp_error_for_segment(CLIENT, SERVER, data, 3, 4, 1000)
    recorder.packet(0.0, 0.01, "client", "server", "delivered", encode_packed(
        CLIENT.packed, SERVER.packed, syn))  # fmt: skip
    recorder.packet(0.02, 0.03, "server", "client", "delivered", too_big)
    return recorder


def test_icmp_packet_record_says_what_it_is() -> None:
    packets = [r for r in _recorded().records if isinstance(r, PacketRecord)]
    assert [p.fate for p in packets] == [
        "delivered",
        "delivered (ICMP packet-too-big mtu 1000)",
    ]
    icmp = packets[1]
    assert (icmp.flags, icmp.seq, icmp.ack, icmp.len, icmp.win) == ("", 0, 0, 0, 0)


def test_views_draw_an_icmp_packet() -> None:
    recorder = _recorded()
    console = Console(width=80, record=True, color_system=None)
    render_ladder(recorder, console)
    assert console.export_text()
    assert render_mermaid(recorder).startswith("sequenceDiagram")
    assert "<svg" in render_html(recorder)
