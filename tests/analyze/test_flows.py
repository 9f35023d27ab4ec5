"""The connection tracker alone: hostile segments, and what it keeps."""

from __future__ import annotations

from ipaddress import ip_address

from synack.analyze.flows import FlowTable
from synack.analyze.model import CapturedSegment
from synack.wire.segment import ACK, SYN

A, B = ip_address("10.0.0.1"), ip_address("10.0.0.2")


def seg(t: float, src, sport, dst, dport, flags, seq, ack=0, length=0) -> CapturedSegment:  # type: ignore[no-untyped-def]
    return CapturedSegment(
        t, 1, src, dst, sport, dport, flags, seq, ack, 65535, 0, (), length, 40 + length, True
    )


def test_a_segment_from_an_endpoint_to_itself_is_counted_not_tracked() -> None:
    table = FlowTable()
    assert table.feed(seg(0.0, A, 80, A, 80, SYN, 1)) is None  # a LAND attack
    assert table.to_itself == 1 and table.open == {} and table.count == 0
    flow = table.feed(seg(0.1, A, 80, A, 81, SYN, 1))  # the same address, other ports: fine
    assert flow is not None and (flow.left, flow.right) == ("10.0.0.1:80", "10.0.0.1:81")


def test_a_connection_no_view_keeps_holds_no_records_and_few_rtt_samples() -> None:
    table = FlowTable(keep=lambda flow: False)
    table.feed(seg(0.00, A, 1000, B, 80, SYN, 100))
    table.feed(seg(0.01, B, 80, A, 1000, SYN | ACK, 500, 101))
    flow = table.feed(seg(0.02, A, 1000, B, 80, ACK, 101, 501))
    for i in range(2000):  # data one way, each segment ACKed
        table.feed(seg(1 + i, A, 1000, B, 80, ACK, 101 + i * 10, 501, 10))
        table.feed(seg(1.5 + i, B, 80, A, 1000, ACK, 501, 111 + i * 10))
    assert flow is not None and flow.records == []
    assert [s.kind for s in flow.rtt] == ["handshake", "handshake"]
    assert [side.state for side in flow.sides.values()] == ["ESTABLISHED", "ESTABLISHED"]
    assert len(flow.sides["10.0.0.1:1000"].timed) <= 256
