"""A link with an MTU (sim/network.py): what is too big is dropped and, as
the router before the link would, answered with "fragmentation needed"
(RFC 1191) or "packet too big" (RFC 8201); synack's path MTU discovery
(tcp/icmp.py) then gets a transfer through, the same with and without taps."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from synack.host import Host
from synack.sim.network import LinkConfig, Network, PacketEvent
from synack.tcp.config import TcpConfig
from synack.tcp.connection import Connection
from synack.wire.icmp import parse_icmp_packet

SIZE = 200_000
V4 = (ip_address("10.0.0.1"), ip_address("10.0.0.2"))
V6 = (ip_address("fd00::1"), ip_address("fd00::2"))


def _transfer(
    version: int, mtu: int, tapped: bool, config: TcpConfig | None = None
) -> tuple[Network, Connection, bytes, list[PacketEvent]]:
    a_addr, b_addr = V4 if version == 4 else V6
    net = Network(seed=7)
    a = net.add_host(Host(a_addr, config=config))
    b = net.add_host(Host(b_addr))
    net.set_link(a, b, LinkConfig(delay=0.01, mtu=mtu))
    events: list[PacketEvent] = []
    if tapped:
        net.taps.append(events.append)
    b.listen(80)
    conn = a.connect((b_addr, 80), 0.0)
    net.run_until(lambda: conn.state.value == "ESTABLISHED")
    data = bytes(range(256)) * (SIZE // 256)
    conn.send(data)
    conn.close()
    received = bytearray()
    server: list[Connection] = []

    def done() -> bool:
        if not server:
            accepted = b.accept(80)
            if accepted is None:
                return False
            server.append(accepted)
        received.extend(server[0].receive())
        return len(received) >= len(data)

    assert net.run_until(done, timeout=120.0)
    return net, conn, bytes(received), events


@pytest.mark.parametrize(("version", "mtu", "mss"), [(4, 1000, 960), (6, 1280, 1220)])
def test_transfer_through_a_narrow_link(version: int, mtu: int, mss: int) -> None:
    _, conn, received, events = _transfer(version, mtu, tapped=True)
    assert received == (bytes(range(256)) * (SIZE // 256))
    assert (conn.path_mtu, conn.snd_mss, conn.stats.pmtu_changes) == (mtu, mss, 1)
    assert conn.stats.timeouts == 0  # resent at once, not after an RTO
    too_big = [e for e in events if e.fate == "too-big"]
    assert too_big and all(len(e.packet) > mtu for e in too_big)
    icmp = [
        parse_icmp_packet(e.packet) for e in events if e.packet[9 if version == 4 else 6] in (1, 58)
    ]
    assert icmp and all(m is not None and m.mtu == mtu for m in icmp)
    # after the first error arrived, nothing was too big again
    first = min(e.arrival or 0.0 for e in events if e.packet[9 if version == 4 else 6] in (1, 58))
    assert all(e.sent < first for e in too_big)


def test_fast_path_gives_the_same_run() -> None:
    """Segments without taps, bytes with: the same connection, sample for sample."""
    _, fast, _, _ = _transfer(4, 1000, tapped=False)
    _, slow, _, _ = _transfer(4, 1000, tapped=True)
    assert fast.stats.as_dict() == slow.stats.as_dict()
    # (each Host has a random secret, so ISNs differ: compare from them)
    assert (fast.snd_una - fast.iss, fast.path_mtu) == (slow.snd_una - slow.iss, slow.path_mtu)


def test_without_df_the_link_is_a_black_hole() -> None:
    """No PMTUD: IPv4 without DF, which the simulator does not fragment, and no ICMP."""
    a_addr, b_addr = V4
    net = Network(seed=7)
    a = net.add_host(Host(a_addr, config=TcpConfig(pmtud=False)))
    b = net.add_host(Host(b_addr))
    net.set_link(a, b, LinkConfig(mtu=1000))
    events: list[PacketEvent] = []
    net.taps.append(events.append)
    b.listen(80)
    conn = a.connect((b_addr, 80), 0.0)
    net.run_until(lambda: conn.state.value == "ESTABLISHED")
    conn.send(bytes(5000))
    net.run(until=10.0)
    assert conn.snd_una == conn.iss + 1  # nothing got through
    assert [e.fate for e in events if e.src is b and e.packet[9] == 1] == []
    assert any(e.fate == "too-big" for e in events)


def test_mtu_is_validated() -> None:
    with pytest.raises(ValueError):
        LinkConfig(mtu=40)
    assert not LinkConfig(mtu=1500).plain
