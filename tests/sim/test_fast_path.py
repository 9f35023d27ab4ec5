"""The segment fast path gives exactly what the byte path gives.

With no tap, the network hands segments from Host to Host without encoding
them; a tap (even one that does nothing) makes every packet bytes. A seeded
run must come out the same either way, random faults and scripted ones
included, except for the wall time.
"""

from __future__ import annotations

from typing import Any

import pytest

import synack.host
import synack.sim.network
from synack.host import Host
from synack.sim.faults import parse_fault
from synack.sim.network import (
    FaultRule,
    LinkConfig,
    Network,
    PacketEvent,
    SegmentMatch,
    segment_matcher,
)
from synack.sim.scale import ScaleResult, simulate
from synack.wire.ip import encode_packed, encode_tcp_packet, parse_tcp_packet
from synack.wire.segment import (
    EOL,
    NOP,
    SACK_PERMITTED,
    MaxSegmentSize,
    Option,
    Sack,
    Segment,
    Timestamps,
    UnknownOption,
    WindowScale,
    encode_options,
    exact_options_length,
)


def _figures(result: ScaleResult) -> dict[str, Any]:
    data = result.to_dict()
    del data["wall_seconds"], data["packets_per_second"]
    return data


def _both_ways(**kwargs: Any) -> tuple[dict[str, Any], ...]:
    fast = simulate(**kwargs)
    slow = simulate(**kwargs, taps=[lambda event: None])  # every packet goes as bytes
    return _figures(fast), _figures(slow)


def test_plain_links_same_figures() -> None:
    fast, slow = _both_ways(connections=200, bytes_up=5000, bytes_down=7000, seed=3)
    assert fast == slow
    assert fast["ok"]


def test_random_faults_same_figures() -> None:
    lossy = LinkConfig(
        delay=0.02, jitter=0.005, loss=0.03, duplicate=0.02, reorder=0.05, bandwidth=20e6,
        queue_limit=40,
    )  # fmt: skip
    fast, slow = _both_ways(
        connections=60, bytes_up=20_000, bytes_down=30_000, c2s=lossy, s2c=lossy,
        seed=11, ramp=0.5, msl=1.0,
    )  # fmt: skip
    assert fast == slow
    assert fast["retransmitted_segments"] > 0 and fast["packets_lost"] > 0


def test_corrupting_link_same_figures() -> None:
    bad = LinkConfig(corrupt=0.05, loss=0.01)
    fast, slow = _both_ways(
        connections=30, bytes_up=10_000, bytes_down=10_000, c2s=bad, s2c=bad,
        seed=5, msl=1.0,
    )  # fmt: skip
    assert fast == slow
    assert fast["malformed"]


def test_scripted_faults_same_figures() -> None:
    faults = [
        parse_fault("drop", "s2c:S.:1-3"),
        parse_fault("delay", "c2s:data:5:200ms"),
        parse_fault("duplicate", "F.:2:10ms"),
        parse_fault("drop", "*:40"),
    ]
    fast, slow = _both_ways(
        connections=20, bytes_up=8000, bytes_down=8000, faults=faults, seed=2,
        msl=1.0,
    )  # fmt: skip
    assert fast == slow
    assert fast["ok"]


@pytest.mark.interpreted_only("patch")
def test_fast_path_does_not_encode(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> bytes:
        raise AssertionError("a packet was encoded")

    monkeypatch.setattr(synack.host, "encode_packed", refuse)
    monkeypatch.setattr(synack.sim.network, "encode_packed", refuse)
    faults = [parse_fault("drop", "c2s:S:1"), parse_fault("delay", "data:3:50ms")]
    result = simulate(30, bytes_up=3000, bytes_down=3000, faults=faults, seed=4, msl=1.0)
    assert result.ok


def _pair(net: Network) -> tuple[Host, Host]:
    client = net.add_host(Host("10.0.0.1", secret=b"c" * 16))
    server = net.add_host(Host("10.0.0.2", secret=b"s" * 16))
    server.listen(80)
    return client, server


def _transfer(rule: str, tap: bool) -> tuple[list[tuple[float, str]], int, int, int]:
    """A transfer with one scripted drop, matched on bytes or on segments."""
    net = Network(seed=9, default_link=LinkConfig(delay=0.01, loss=0.05, bandwidth=1e6))
    client, server = _pair(net)
    arrivals: list[tuple[float, str]] = []
    if tap:
        net.taps.append(lambda e: None)
    conn = client.connect(("10.0.0.2", 80), 0.0)

    def bytes_match(s: Host, d: Host, packet: bytes) -> bool:
        _, _, seg = parse_tcp_packet(packet)
        return s is server and bool(seg.payload)

    match = (
        bytes_match
        if rule == "bytes"
        else segment_matcher(src=server, predicate=lambda seg: bool(seg.payload))
    )
    dropped = net.fault(match, "drop", nth=2, count=2)

    def app(n: Network) -> None:
        for host in n.active_hosts():
            while (ev := host.next_event()) is not None:
                arrivals.append((n.now, type(ev.event).__name__))
                if host is server and ev.connection.state.value == "ESTABLISHED":
                    ev.connection.send(bytes(3000))
        while server.accept(80) is not None:
            pass

    net.apps.append(app)
    net.run(until=30.0)
    return arrivals, dropped.applied, conn.stats.segments_received, net.packets_delivered


@pytest.mark.parametrize("rule", ["bytes", "segments"])
def test_fault_rule_on_bytes_or_segments_same_run(rule: str) -> None:
    reference = _transfer("bytes", tap=True)
    assert _transfer(rule, tap=False) == reference
    assert reference[1] == 2


def test_segment_match_on_bytes_and_segments() -> None:
    net = Network()
    a, b = _pair(net)
    seg = Segment(1234, 80, 1, 0, 0x02, 1000)
    packet = encode_tcp_packet(a.addresses[0], b.addresses[0], seg)
    syn_from_a = segment_matcher(src=a, flags="S")
    assert isinstance(syn_from_a, SegmentMatch)
    assert syn_from_a(a, b, packet) and syn_from_a.segment(a, b, seg)
    assert not syn_from_a(b, a, packet) and not syn_from_a.segment(b, a, seg)
    assert not syn_from_a(a, b, b"\x45junk")
    anything = SegmentMatch()
    assert anything(a, b, b"\x45junk") and anything.segment(a, b, seg)
    rule = FaultRule(syn_from_a, nth=2)
    assert rule.takes_segments and not FaultRule(lambda s, d, p: True).takes_segments
    assert [rule.on_segment(a, b, seg), rule(a, b, packet), rule.on_segment(a, b, seg)] == [
        False,
        True,
        False,
    ]


def test_host_segments_and_packets_agree() -> None:
    def run(use_segments: bool) -> tuple[list[bytes], int, int]:
        client = Host("10.0.0.1", secret=b"c" * 16)
        server = Host("10.0.0.2", secret=b"s" * 16)
        server.listen(80)
        client.connect(("10.0.0.2", 80), 0.0, local_port=40000, iss=1)
        client.connect(("10.0.0.2", 81), 0.0, local_port=40001, iss=7)  # gets a RST
        wire: list[bytes] = []
        for step in range(4):
            now = step * 0.01
            for src, dst in ((client, server), (server, client)):
                if use_segments:
                    for s, d, seg in src.segments_to_send(now):
                        wire.append(encode_packed(s, d, seg))
                        dst.receive_segment(s, d, seg, now)
                else:
                    for packet in src.packets_to_send(now):
                        wire.append(packet)
                        dst.receive_packet(packet, now)
        return wire, client.stats.packets_received, server.stats.packets_sent

    assert run(True) == run(False)
    assert run(True)[1] > 0


_OPTION_CASES: list[tuple[Option, ...]] = [
    (),
    (NOP, NOP, Timestamps(1, 2)),
    (MaxSegmentSize(1460), NOP, WindowScale(7), SACK_PERMITTED, Timestamps(5, 0)),
    (MaxSegmentSize(1460), SACK_PERMITTED, Timestamps(5, 0), NOP, WindowScale(7)),
    (NOP, NOP, Timestamps(1, 2), NOP, NOP, Sack(((1, 5), (9, 20), (30, 40)))),
    (MaxSegmentSize(536),),
    (MaxSegmentSize(1460), WindowScale(7)),  # 7 bytes: padding decodes as an EOL
    (NOP, NOP, Sack(())),  # decodes as a raw option
    (UnknownOption(30, b"ab"),),
    (MaxSegmentSize(1460), EOL, NOP, NOP, NOP),
    (NOP, NOP, Sack(((1, 2),) * 5)),  # too long for a header
]


@pytest.mark.parametrize("options", _OPTION_CASES)
def test_exact_options_length(options: tuple[Option, ...]) -> None:
    length = exact_options_length(options)
    seg = Segment(1, 2, 3, 4, 0x10, 5, 0, options, b"xyz")
    try:
        encoded = encode_options(options)
        exact = len(encoded) <= 40 and Segment.decode(seg.encode()) == seg
    except (ValueError, OverflowError):
        exact = False
    if length is None:
        assert not exact or any(isinstance(o, UnknownOption) for o in options)
    else:
        assert exact and length == len(encoded)


def test_tap_sees_every_packet_as_bytes() -> None:
    net = Network(seed=1)
    client, _ = _pair(net)
    events: list[PacketEvent] = []
    net.taps.append(events.append)
    client.connect(("10.0.0.2", 80), 0.0)
    net.run(until=1.0)
    assert events and all(isinstance(e.packet, bytes) for e in events)
    assert net.packets_delivered == len(events)
