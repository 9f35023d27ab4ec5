"""The link model: delay, jitter, bandwidth with a drop-tail queue, and random fates."""

from __future__ import annotations

import random
from ipaddress import ip_address

import pytest

from synack.host import Host
from synack.sim.network import Link, LinkConfig, Network, PacketEvent
from synack.wire.ip import encode_tcp_packet
from synack.wire.segment import ACK, Segment

A = ip_address("10.0.0.1")
B = ip_address("10.0.0.2")


def packet(size: int = 0, seq: int = 1) -> bytes:
    """An IPv4 packet from A to B (a bare ACK with ``size`` bytes of payload)."""
    return encode_tcp_packet(A, B, Segment(1234, 80, seq, 1, ACK, 1000, payload=bytes(size)))


def link(config: LinkConfig, seed: int = 1) -> Link:
    return Link(Host(A), Host(B), config, random.Random(seed))


def test_delay_is_exact() -> None:
    lk = link(LinkConfig(delay=0.025))
    for now in (0.0, 0.5, 1.25):
        ((arrival, data, fate),) = lk.fates(now, packet())
        assert arrival == now + 0.025 and fate == "delivered" and data == packet()


def test_jitter_stays_within_bounds() -> None:
    lk = link(LinkConfig(delay=0.010, jitter=0.004))
    delays = [lk.fates(1.0, packet())[0][0] - 1.0 for _ in range(2000)]
    assert all(0.010 <= d < 0.014 + 1e-12 for d in delays)
    assert max(delays) - min(delays) > 0.003  # it does spread over the range


def test_bandwidth_serializes_and_back_to_back_packets_queue() -> None:
    rate = 1_000_000.0  # 1 Mbit/s
    lk = link(LinkConfig(delay=0.010, bandwidth=rate))
    size = len(packet(1000))
    tx = size * 8 / rate
    arrivals = [lk.fates(0.0, packet(1000))[0][0] for _ in range(3)]
    assert arrivals == pytest.approx([0.010 + tx, 0.010 + 2 * tx, 0.010 + 3 * tx])
    # once the queue has drained, a packet waits for nothing but its own bits
    later = 1.0
    assert lk.fates(later, packet(1000))[0][0] == pytest.approx(later + tx + 0.010)


def test_drop_tail_at_queue_limit() -> None:
    lk = link(LinkConfig(delay=0.0, bandwidth=1_000_000.0, queue_limit=2))
    fates = [lk.fates(0.0, packet(1000))[0][2] for _ in range(6)]
    # one in transmission and two waiting are accepted; the rest find the queue full
    assert fates == ["delivered"] * 3 + ["queue-full"] * 3


def test_queue_full_is_reported_by_the_network() -> None:
    net = Network(seed=1)
    a, b = net.add_host(Host(A)), net.add_host(Host(B))
    net.set_link(a, b, LinkConfig(bandwidth=100_000.0, queue_limit=1))
    events: list[PacketEvent] = []
    net.taps.append(events.append)
    b.listen(80)
    conn = a.connect((B, 80), 0.0)
    net.run_until(lambda: conn.state.value == "ESTABLISHED")
    conn.send(bytes(20_000))  # far more than fits behind a 100 kbit/s link at once
    net.run(until=5.0)
    fates = [e.fate for e in events if e.src is a]
    assert "queue-full" in fates
    assert net.packets_lost == sum(1 for e in events if e.arrival is None)


def counts(config: LinkConfig, n: int = 4000, seed: int = 7) -> dict[str, int]:
    lk = link(config, seed)
    out: dict[str, int] = {}
    for i in range(n):
        for _, _, fate in lk.fates(float(i), packet(100)):
            out[fate] = out.get(fate, 0) + 1
    return out


@pytest.mark.parametrize(
    ("name", "fate"),
    [
        ("loss", "lost"),
        ("duplicate", "duplicated"),
        ("reorder", "reordered"),
        ("corrupt", "corrupted"),
    ],
)
def test_random_fates_follow_their_probability(name: str, fate: str) -> None:
    n = 4000
    result = counts(LinkConfig(**{name: 0.1}), n)  # type: ignore[arg-type]
    assert 0.07 * n < result.get(fate, 0) < 0.13 * n
    if name == "duplicate":
        assert result["delivered"] == n  # the original still arrives
    else:
        assert result.get(fate, 0) + result["delivered"] == n


def test_same_seed_same_fates() -> None:
    cfg = LinkConfig(loss=0.1, jitter=0.01, duplicate=0.1, reorder=0.1, corrupt=0.1)
    assert counts(cfg, 500, seed=3) == counts(cfg, 500, seed=3)
    a, b = link(cfg, 5), link(cfg, 5)
    assert [a.fates(float(i), packet(50)) for i in range(200)] == [
        b.fates(float(i), packet(50)) for i in range(200)
    ]


def test_reordered_packets_arrive_later() -> None:
    lk = link(LinkConfig(delay=0.010, reorder=1.0, reorder_delay=0.005))
    ((arrival, _, fate),) = lk.fates(0.0, packet())
    assert fate == "reordered" and arrival == pytest.approx(0.015)


def test_corrupted_packets_are_counted_malformed_by_the_receiver() -> None:
    net = Network(seed=2)
    a, b = net.add_host(Host(A)), net.add_host(Host(B))
    net.set_link(a, b, LinkConfig(corrupt=1.0))
    events: list[PacketEvent] = []
    net.taps.append(events.append)
    b.listen(80)
    a.connect((B, 80), 0.0)
    net.run(until=10.0)
    corrupted = [e for e in events if e.fate == "corrupted"]
    assert corrupted and all(e.src is a for e in corrupted)
    assert all(e.packet != packet() for e in corrupted)
    assert b.stats.malformed == len(corrupted)
    assert b.stats.malformed_reasons == {"checksum": len(corrupted)}
    assert not b.connections  # no SYN ever got through


def test_link_config_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="probability"):
        LinkConfig(loss=1.5)
    with pytest.raises(ValueError, match="negative"):
        LinkConfig(delay=-1)
    with pytest.raises(ValueError, match="bandwidth"):
        LinkConfig(bandwidth=0)
