"""A SYN flood on the simulated network (RFC 4987), and legitimate clients through it.

:func:`syn_flood` puts one server (10.0.0.2, port 80, one listener with
``backlog``) and ``clients`` client hosts (10.1.0.1, 10.1.0.2, ...) on a
:class:`Network`. For ``duration`` seconds of virtual time an attacker
delivers ``spoofed`` SYNs to the server, evenly spread, each from a random
source address in 172.16.0.0/12 (on no host: the SYN,ACKs go nowhere) and a
random port. Meanwhile each client connects once, at a time spread evenly
over the flood, and closes as soon as it is ESTABLISHED; the server's
application accepts every connection and closes on end of stream.

The result says how many clients got in, how long each took from its first
SYN to ESTABLISHED, what the server kept at its worst (connections, SYN
queue), its counters, and, if ``measure_memory``, tracemalloc's count of
what the flood's middle cost (from 10 % to 100 % of the way through: the
SYN queue is long full by then). The same seed gives the same result, but
for wall time.
"""

from __future__ import annotations

import random
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address

from synack.host import Host, HostStats
from synack.sim.network import LinkConfig, Network
from synack.tcp.config import TcpConfig
from synack.tcp.connection import Connection
from synack.tcp.events import Connected, EndOfStream
from synack.wire.segment import SYN, MaxSegmentSize, Segment, Timestamps, WindowScale

SERVER = IPv4Address("10.0.0.2")
PORT = 80
_SPOOF_BASE = int(IPv4Address("172.16.0.0"))
_SPOOF_SPAN = 1 << 20  # 172.16.0.0/12
TICK = 0.001  # the attacker sends a burst each millisecond


@dataclass
class FloodResult:
    spoofed: int
    duration: float
    clients: int
    rtt: float
    established: int  # clients that reached ESTABLISHED
    within_rtt: int  # ... within one RTT of their first SYN
    connect_times: list[float]  # first SYN to ESTABLISHED, per client that got there
    accepted: int  # connections the server's application accepted
    max_connections: int  # the server's connection table at its largest (sampled per tick)
    max_syn_queue: int
    syn_queue_at_end: int
    server: HostStats
    memory_growth: int | None  # bytes, tracemalloc, over the flood's last 90 %
    wall_time: float

    @property
    def established_share(self) -> float:
        return self.within_rtt / self.clients if self.clients else 1.0


def _spoofed_syn(rng: random.Random) -> tuple[bytes, Segment]:
    src = (_SPOOF_BASE + rng.randrange(_SPOOF_SPAN)).to_bytes(4, "big")
    opts = (MaxSegmentSize(1460), Timestamps(rng.getrandbits(32), 0), WindowScale(7))
    seg = Segment(
        rng.randrange(1024, 65536), PORT, rng.getrandbits(32), 0, SYN, 64240, options=opts
    )
    return src, seg


def syn_flood(
    spoofed: int = 100_000,
    duration: float = 10.0,
    clients: int = 1000,
    backlog: int = 128,
    delay: float = 0.010,
    syn_cookies: str = "on-overflow",
    seed: int = 1,
    measure_memory: bool = False,
    settle: float = 70.0,
) -> FloodResult:
    """Run the flood; ``settle`` seconds after it, the run ends (so that the
    half-open entries' lifetime has passed)."""
    rng = random.Random(seed)
    config = TcpConfig()
    net = Network(seed=seed, default_link=LinkConfig(delay=delay))
    server = Host(SERVER, config, syn_cookies=syn_cookies, secret=seed.to_bytes(16, "big"))
    net.add_host(server)
    server.listen(PORT, backlog=backlog)
    listener = server.listeners[PORT]
    hosts = []
    for i in range(clients):
        host = Host(IPv4Address(int(IPv4Address("10.1.0.1")) + i), config)
        net.add_host(host)
        hosts.append(host)
    started: dict[Connection, float] = {}
    connect_times: list[float] = []
    accepted = 0
    peak = {"connections": 0, "syn_queue": 0}
    memory: dict[str, int] = {}
    server_packed = SERVER.packed

    def app(network: Network) -> None:
        nonlocal accepted
        now = network.now
        while (conn := server.accept(PORT)) is not None:
            accepted += 1
            del conn  # the application keeps it until end of stream
        for host in network.active_hosts():
            while (ev := host.next_event()) is not None:
                if host is server:
                    if isinstance(ev.event, EndOfStream):
                        ev.connection.close(now)
                elif isinstance(ev.event, Connected):
                    connect_times.append(now - started.pop(ev.connection))
                    ev.connection.close(now)

    net.apps.append(app)

    for i, host in enumerate(hosts):
        net.call_at((i + 0.5) * duration / clients, _connector(host, started))

    ticks = max(1, round(duration / TICK))
    per_tick, extra_syns = divmod(spoofed, ticks)
    memory_tick = ticks // 10

    def burst(tick: int) -> Callable[[Network], None]:
        def action(network: Network) -> None:
            now = network.now
            for _ in range(per_tick + (1 if tick < extra_syns else 0)):
                src, seg = _spoofed_syn(rng)
                server.receive_segment(src, server_packed, seg, now)
            network.touch(server)
            peak["connections"] = max(peak["connections"], len(server.connections))
            peak["syn_queue"] = max(peak["syn_queue"], len(listener.syn_queue))
            if measure_memory and tick in (memory_tick, ticks - 1):
                memory[str(tick)] = tracemalloc.get_traced_memory()[0]

        return action

    for tick in range(ticks):
        net.call_at(tick * TICK, burst(tick))

    was_tracing = tracemalloc.is_tracing()
    if measure_memory and not was_tracing:
        tracemalloc.start()
    wall = time.perf_counter()
    try:
        net.run(until=duration + settle)
    finally:
        wall = time.perf_counter() - wall
        if measure_memory and not was_tracing:
            tracemalloc.stop()
    rtt = 2 * delay
    growth = None
    if measure_memory and len(memory) == 2:
        growth = memory[str(ticks - 1)] - memory[str(memory_tick)]
    return FloodResult(
        spoofed, duration, clients, rtt, len(connect_times),
        sum(1 for t in connect_times if t <= rtt + 1e-9), connect_times, accepted,
        peak["connections"], peak["syn_queue"], len(listener.syn_queue), server.stats,
        growth, wall,
    )  # fmt: skip


def _connector(host: Host, started: dict[Connection, float]) -> Callable[[Network], None]:
    def action(network: Network) -> None:
        conn = host.connect((SERVER, PORT), network.now)
        started[conn] = network.now

    return action
