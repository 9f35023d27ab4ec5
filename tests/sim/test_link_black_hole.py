"""RFC 4821 across a black hole: a link narrower than the sender's packets
that drops them without an ICMP error (IPv4 without DF: the simulator does
not fragment). With ``mtu_probing=1`` (Linux's tcp_mtu_probing=1) the sender
suspects a black hole after ``r1`` timeouts, falls back to a small MSS, and
then probes its way back up to what the link carries."""

from __future__ import annotations

from ipaddress import ip_address

from synack.host import Host
from synack.sim.network import LinkConfig, Network, PacketEvent
from synack.tcp.config import TcpConfig
from synack.tcp.connection import Connection

A, B = ip_address("10.0.0.1"), ip_address("10.0.0.2")
DATA = bytes(range(256)) * 800  # 204800 bytes


def _transfer(config: TcpConfig) -> tuple[Network, Connection, bytes, list[PacketEvent]]:
    net = Network(seed=7)
    a = net.add_host(Host(A, config=config))
    b = net.add_host(Host(B))
    net.set_link(a, b, LinkConfig(delay=0.01, mtu=1000))
    events: list[PacketEvent] = []
    net.taps.append(events.append)
    b.listen(80)
    conn = a.connect((B, 80), 0.0)
    net.run_until(lambda: conn.state.value == "ESTABLISHED")
    conn.send(DATA)
    received = bytearray()
    server: list[Connection] = []

    def done() -> bool:
        if not server:
            accepted = b.accept(80)
            if accepted is None:
                return False
            server.append(accepted)
        received.extend(server[0].receive())
        return len(received) >= len(DATA)

    net.run_until(done, timeout=300.0)
    return net, conn, bytes(received), events


def test_probing_finds_its_way_through_a_black_hole() -> None:
    _, conn, received, events = _transfer(TcpConfig(pmtud=False, mtu_probing=1))
    assert received == DATA
    mp = conn.mtu_probing
    assert mp.enabled
    assert conn.stats.timeouts >= conn.config.r1  # how the black hole was found
    # it fell to the base MSS and probed back up: the probes the link carried
    # raised the bottom of the search (to 972 bytes), the larger ones were
    # lost and brought its top down to exactly the link's MTU
    assert (mp.probes_sent, mp.probes_acked, mp.probes_lost) == (5, 3, 2)
    assert (mp.search_low, mp.search_high) == (972, 1000)
    assert conn.snd_mss == 972 - 40  # 920 bytes of data and a timestamp
    too_big = [e for e in events if e.fate == "too-big"]
    assert len(too_big) > mp.probes_lost  # the first flight, then two probes


def test_without_probing_the_black_hole_stays_one() -> None:
    _, conn, received, _ = _transfer(TcpConfig(pmtud=False))
    assert received == b""
    assert conn.snd_una == conn.iss + 1
