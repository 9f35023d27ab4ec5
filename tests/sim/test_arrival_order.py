"""The order packets arrive in, and what a run leaves to the garbage collector.

The network keeps packets in flight by arrival time; packets due at the same
instant arrive in the order they were sent, whichever link they took and
whether they travel as bytes or as segments. A seeded run depends on it.
"""

from __future__ import annotations

import gc
from ipaddress import IPv4Address

import pytest

from synack.host import Host
from synack.sim.network import LinkConfig, Network
from synack.sim.scale import simulate
from synack.wire.ip import encode_tcp_packet, parse_tcp_packet
from synack.wire.segment import ACK, Segment, tcpdump_flags


class _Recorder(Host):
    """A host that only notes what arrives: (time, what)."""

    def __init__(self, address: str) -> None:
        super().__init__(address, secret=b"r" * 16)
        self.arrived: list[tuple[float, str]] = []

    def receive_packet(
        self, data: bytes | bytearray | memoryview, now: float, verify: bool = True
    ) -> None:
        _, _, seg = parse_tcp_packet(bytes(data))
        self.arrived.append((now, f"bytes seq {seg.seq}"))

    def receive_segment(self, src: bytes, dst: bytes, seg: Segment, now: float) -> None:
        self.arrived.append((now, f"segment {tcpdump_flags(seg.flags)}"))


def _packet(src: str, seq: int) -> bytes:
    seg = Segment(1000, 80, seq, 1, ACK, 1000)
    return encode_tcp_packet(IPv4Address(src), IPv4Address("10.0.0.3"), seg)


@pytest.mark.interpreted_only("subclass")
def test_arrival_time_first_then_the_order_sent() -> None:
    net = Network(seed=1)
    a = net.add_host(Host("10.0.0.1", secret=b"a" * 16))
    b = net.add_host(Host("10.0.0.2", secret=b"b" * 16))
    r = net.add_host(_Recorder("10.0.0.3"))
    net.set_link(a, r, LinkConfig(delay=0.25))  # binary fractions: the sums tie exactly
    net.set_link(b, r, LinkConfig(delay=0.125))
    net.inject(a, _packet("10.0.0.1", 1))  # due at 0.25
    a.connect(("10.0.0.3", 80), 0.0)  # its SYN leaves at the first flush: due at 0.25, after 1
    net.inject(b, _packet("10.0.0.2", 2))  # due at 0.125: first to arrive

    def later(net: Network) -> None:  # at 0.125, while packets are in flight
        net.inject(b, _packet("10.0.0.2", 3))  # 0.25, behind 1 and the SYN
        net.inject(a, _packet("10.0.0.1", 4))  # 0.375
        net.inject(b, _packet("10.0.0.2", 5))  # 0.25, behind 3

    net.call_at(0.125, later)
    net.run(until=0.5)
    assert r.arrived == [
        (0.125, "bytes seq 2"),
        (0.25, "bytes seq 1"),
        (0.25, "segment S"),
        (0.25, "bytes seq 3"),
        (0.25, "bytes seq 5"),
        (0.375, "bytes seq 4"),
    ]
    assert net.packets_delivered == 6 and net.next_time() == 1.0  # the SYN's retransmission


def test_simulate_turns_collection_off_and_leaves_no_cycles_per_connection() -> None:
    # The simulator runs with the cyclic collector off (scale._no_collections):
    # sound only while a run's cyclic garbage does not grow with its size.
    lossy = LinkConfig(loss=0.05, duplicate=0.02, reorder=0.05)
    found = []
    gc.disable()
    try:
        for n in (10, 110):
            gc.collect()
            assert simulate(n, c2s=lossy, s2c=lossy, bytes_down=20_000, seed=2).ok
            assert not gc.isenabled()  # left as it was
            found.append(gc.collect())
    finally:
        gc.enable()
    assert found[1] - found[0] < 100, found  # under one object per added connection
    during: list[bool] = []
    simulate(20, progress=lambda done, total: during.append(gc.isenabled()))
    assert during[0] and not any(during[1:-1]) and during[-1]  # off while it runs
    assert gc.isenabled()
