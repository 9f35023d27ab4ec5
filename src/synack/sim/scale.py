"""Many connections at once on the simulated network.

:func:`simulate` puts ``clients`` client hosts (10.0.1.1, 10.0.1.2, ...) and
``servers`` server hosts (10.0.0.1, ...) on one :class:`Network`. Connection
``i`` goes from client ``i % clients`` to port 80 on server ``i % servers``.
Every client and server pair has its own link in each direction, configured
by ``c2s`` and ``s2c``.

Each connection lives its whole life: the handshake; both sides send their
bytes at once (``bytes_up`` from the client, ``bytes_down`` from the server,
slices of one seeded random pattern, different for each connection and
direction); the client closes once it has sent everything and received
everything, and the server closes when it has seen the client's FIN. So the
client side passes through TIME-WAIT (2 x ``msl``) and the server side through
LAST-ACK. The run goes on until the network is idle (every TIME-WAIT record
has expired) or the virtual clock reaches ``timeout``.

Every received byte is compared with what the other side sent, as it
arrives. Nothing is traced per packet unless a ``recorder`` is given, which
is allowed for a single connection only. The same seed gives the same
result, except for the wall time.
"""

from __future__ import annotations

import contextlib
import gc
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from ipaddress import IPv4Address
from typing import Any, Final, Protocol

from synack.host import Host, HostEvent
from synack.sim.faults import FaultSpec
from synack.sim.network import LinkConfig, Network, PacketTap
from synack.tcp.config import TcpConfig
from synack.tcp.connection import Connection
from synack.tcp.events import (
    Connected,
    ConnectionAborted,
    ConnectionClosed,
    ConnectionReset,
    DataReceived,
    EndOfStream,
    SendSpaceAvailable,
)
from synack.tcp.isn import Rfc6528Isn
from synack.tcp.state import State
from synack.tcp.tracer import Tracer

SERVER_PORT: Final = 80
MAX_SERVERS: Final = 254
MAX_CLIENTS: Final = 254 * 254
DEFAULT_CLIENTS: Final = 10

# A connection that went through TIME-WAIT whose record has since expired.
TIME_WAIT_EXPIRED: Final = "CLOSED (TIME-WAIT expired)"

ScaleProgress = Callable[[int, int], None]  # connections finished, connections in all


class Recorder(Protocol):
    """What traces a run: a tracer per endpoint name and a tap for the packets
    between named hosts (``synack.trace.records.TraceRecorder`` is one)."""

    def endpoint(self, name: str) -> Tracer: ...

    def packet_tap(self, names: Mapping[Host, str]) -> PacketTap: ...


def server_address(j: int) -> IPv4Address:
    return IPv4Address(f"10.0.0.{1 + j}")


def client_address(i: int) -> IPv4Address:
    return IPv4Address(f"10.0.{1 + i // 254}.{1 + i % 254}")


@dataclass(frozen=True, slots=True)
class Percentiles:
    """Nearest-rank percentiles, in milliseconds of virtual time."""

    count: int
    p50: float
    p90: float
    p99: float
    max: float

    @classmethod
    def of(cls, values_ms: Sequence[float]) -> Percentiles | None:
        if not values_ms:
            return None
        ordered = sorted(values_ms)
        n = len(ordered)

        def rank(p: float) -> float:
            return round(ordered[max(0, math.ceil(p / 100 * n) - 1)], 6)

        return cls(n, rank(50), rank(90), rank(99), round(ordered[-1], 6))


@dataclass(frozen=True, slots=True)
class ScaleResult:
    """What :func:`simulate` found. ``ok`` says whether every connection did its job."""

    connections: int
    clients: int
    servers: int
    seed: int
    bytes_up: int  # per connection
    bytes_down: int
    handshake_ms: Percentiles | None  # connect() to the client's Connected event
    handshakes: int  # connections whose handshake completed
    completed: int  # connections that closed in order on both sides, every byte intact
    failed: int  # reset or aborted on either side
    retransmitted_segments: int  # both sides, every connection
    timeouts: int  # retransmission timeouts
    fast_retransmits: int
    rack_losses: int  # segments RACK judged lost (RFC 8985 6)
    tail_loss_probes: int  # probes sent (RFC 8985 7)
    tlp_repairs: int  # probes that repaired a loss (RFC 8985 7.4)
    client_states: dict[str, int]
    server_states: dict[str, int]
    time_wait_left: int  # TIME-WAIT records still held at the end
    open_left: int  # connections the hosts still hold at the end
    up_sent: int  # bytes the clients' applications handed to TCP, all connections
    up_received: int  # bytes the servers' applications read
    down_sent: int
    down_received: int
    bytes_match: bool  # every connection received exactly what the other side sent
    mismatched: int  # connections where some direction did not match
    packets: int  # packets the hosts sent onto links
    packets_delivered: int  # copies that arrived (duplicates count)
    packets_lost: int  # lost, dropped by a fault rule or by a full queue
    malformed: dict[str, int]  # packets the hosts discarded, by reason (corruption)
    last_close: float  # virtual seconds: when the last connection finished
    virtual_seconds: float  # the virtual clock at the end (after TIME-WAIT expiry)
    settled: bool  # False: the run hit ``timeout`` with work left
    wall_seconds: float
    faults: list[str] = field(default_factory=list)

    @property
    def packets_per_second(self) -> float:
        """Simulated packets per wall second."""
        return self.packets / self.wall_seconds if self.wall_seconds > 0 else 0.0

    @property
    def all_closed(self) -> bool:
        return (
            self.open_left == 0
            and self.time_wait_left == 0
            and set(self.client_states) | set(self.server_states) <= {"CLOSED", TIME_WAIT_EXPIRED}
        )

    @property
    def ok(self) -> bool:
        return (
            self.settled
            and self.completed == self.connections
            and self.bytes_match
            and self.all_closed
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["packets_per_second"] = self.packets_per_second
        data["all_closed"] = self.all_closed
        data["ok"] = self.ok
        return data


class _Flow:
    """One connection's bookkeeping, both sides."""

    __slots__ = (
        "client",
        "connected_at",
        "down_got",
        "down_offset",
        "down_sent",
        "failed",
        "finished",
        "index",
        "mismatch",
        "server",
        "server_eof",
        "started",
        "up_got",
        "up_offset",
        "up_sent",
    )

    def __init__(self, index: int, client: Connection, started: float, up: int, down: int) -> None:
        self.index = index
        self.client = client
        self.server: Connection | None = None
        self.started = started
        self.connected_at: float | None = None
        self.up_offset = up
        self.down_offset = down
        self.up_sent = self.up_got = self.down_sent = self.down_got = 0
        self.server_eof = False
        self.mismatch = False
        self.failed = False
        self.finished = False


class _Apps:
    """The applications on every host, run by the network at each instant."""

    def __init__(
        self,
        clients: list[Host],
        servers: list[Host],
        pattern: bytes,
        bytes_up: int,
        bytes_down: int,
        total: int,
        progress: ScaleProgress | None,
    ) -> None:
        self.clients = clients
        self.servers = servers
        self.server_set = set(servers)
        self.pattern = pattern
        self.view = memoryview(pattern)
        self.bytes_up = bytes_up
        self.bytes_down = bytes_down
        self.total = total
        self.progress = progress
        self.report_every = max(1, total // 200)
        self.by_client: dict[Connection, _Flow] = {}
        self.by_server: dict[Connection, _Flow] = {}
        self.waiting: dict[tuple[Any, int], _Flow] = {}  # client endpoint -> flow
        self.flows: list[_Flow] = []
        self.finished = 0
        self.last_close = 0.0
        self.now = 0.0

    def start(self, host: Host, server: IPv4Address, index: int, now: float) -> None:
        conn = host.connect((server, SERVER_PORT), now)
        span = len(self.pattern) - max(self.bytes_up, self.bytes_down)
        flow = _Flow(index, conn, now, (index * 7919) % span, (index * 7919 + 4099) % span)
        self.flows.append(flow)
        self.by_client[conn] = flow
        self.waiting[conn.local] = flow

    def __call__(self, net: Network) -> None:
        self.now = net.now
        servers = self.server_set
        for host in net.active_hosts():  # only these can have new events
            if host in servers:
                while host.accept(SERVER_PORT) is not None:
                    pass  # the server's events below name the connection
                while (ev := host.next_event()) is not None:
                    self._server_event(ev)
            else:
                while (ev := host.next_event()) is not None:
                    self._client_event(ev)

    # -- the client -----------------------------------------------------
    def _client_event(self, ev: HostEvent) -> None:
        conn, event = ev.connection, ev.event
        flow = self.by_client.get(conn)
        if flow is None:
            return
        if isinstance(event, DataReceived):
            # one read takes everything: later events of the batch may find nothing
            data = conn.receive() if conn.receive_queued else b""
            start = flow.down_offset + flow.down_got
            flow.down_got += len(data)
            if flow.down_got > self.bytes_down or not self.pattern.startswith(data, start):
                flow.mismatch = True
        elif isinstance(event, Connected):
            flow.connected_at = self.now
            self._feed_client(flow)
        elif isinstance(event, SendSpaceAvailable):
            self._feed_client(flow)
        elif isinstance(event, ConnectionReset | ConnectionAborted):
            self._finish(flow, failed=True)
            return
        elif isinstance(event, ConnectionClosed):
            return
        # Done when everything is sent and everything has arrived (or the peer is done).
        if (
            flow.up_sent == self.bytes_up
            and (flow.down_got >= self.bytes_down or conn.at_eof)
            and conn.state is State.ESTABLISHED
        ):
            conn.close()

    def _feed_client(self, flow: _Flow) -> None:
        conn = flow.client
        if flow.up_sent < self.bytes_up and conn.state is State.ESTABLISHED:
            start = flow.up_offset + flow.up_sent
            flow.up_sent += conn.send(self.view[start : flow.up_offset + self.bytes_up])

    # -- the server -----------------------------------------------------
    def _server_event(self, ev: HostEvent) -> None:
        conn, event = ev.connection, ev.event
        flow = self.by_server.get(conn)
        if flow is None:
            if not isinstance(event, Connected):
                return
            flow = self.waiting.pop(conn.remote, None)  # type: ignore[arg-type]
            if flow is None:
                return
            flow.server = conn
            self.by_server[conn] = flow
        if isinstance(event, DataReceived):
            data = conn.receive() if conn.receive_queued else b""
            start = flow.up_offset + flow.up_got
            flow.up_got += len(data)
            if flow.up_got > self.bytes_up or not self.pattern.startswith(data, start):
                flow.mismatch = True
        elif isinstance(event, EndOfStream):
            flow.server_eof = True
        elif isinstance(event, ConnectionClosed):
            self._finish(flow, failed=False)
            return
        elif isinstance(event, ConnectionReset | ConnectionAborted):
            self._finish(flow, failed=True)
            return
        self._feed_server(flow, conn)

    def _feed_server(self, flow: _Flow, conn: Connection) -> None:
        if flow.down_sent < self.bytes_down and conn.state in (State.ESTABLISHED, State.CLOSE_WAIT):
            start = flow.down_offset + flow.down_sent
            flow.down_sent += conn.send(self.view[start : flow.down_offset + self.bytes_down])
        if flow.server_eof and flow.down_sent == self.bytes_down and conn.state is State.CLOSE_WAIT:
            conn.close()

    def _finish(self, flow: _Flow, failed: bool) -> None:
        flow.failed = flow.failed or failed
        if flow.finished:
            return
        flow.finished = True
        self.finished += 1
        self.last_close = max(self.last_close, self.now)
        if self.progress is not None and (
            self.finished % self.report_every == 0 or self.finished == self.total
        ):
            self.progress(self.finished, self.total)


@contextlib.contextmanager
def _no_collections() -> Iterator[None]:
    """No cyclic garbage collection during a run. A run allocates millions of
    short-lived objects (segments, events), all freed by reference counting,
    and keeps over a hundred more per connection alive to the end: the collector
    would only rescan that growing heap (about 4 % of the wall time of 10,000
    connections with a collection every 50,000 allocations). It would find
    next to nothing: a whole run leaves the same couple of hundred objects in
    cycles (the hosts' own) whatever its size, losses or faults (measured with
    the collector off, then ``gc.collect()`` after the run: 242 for 10,000
    connections or for 2,000 over lossy links), collected after it."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def simulate(
    connections: int = 10_000,
    *,
    bytes_up: int = 10_000,
    bytes_down: int = 10_000,
    c2s: LinkConfig | None = None,
    s2c: LinkConfig | None = None,
    clients: int | None = None,
    servers: int = 1,
    seed: int = 1,
    msl: float = 120.0,
    ramp: float = 0.0,
    faults: Sequence[FaultSpec] = (),
    config: TcpConfig | None = None,
    recorder: Recorder | None = None,
    progress: ScaleProgress | None = None,
    timeout: float = 3600.0,
    taps: Sequence[PacketTap] = (),
) -> ScaleResult:
    """Run ``connections`` connections (see the module docstring) and sum them up.

    ``clients`` defaults to ``min(connections, 10)``. ``ramp`` spreads the
    connects uniformly over that many seconds (0: all at time 0). ``config``
    replaces the TCP configuration (its ``msl`` is then used as is).
    ``recorder`` traces both hosts ("client" and "server") and every packet
    between them, for a single connection only. ``progress(done, total)`` is
    called as connections finish. ``timeout`` caps the virtual clock.
    ``taps`` see every packet on every link (a capture of the whole run).
    """
    if connections < 1:
        raise ValueError("need at least one connection")
    if bytes_up < 0 or bytes_down < 0:
        raise ValueError("byte counts cannot be negative")
    n_clients = min(connections, DEFAULT_CLIENTS) if clients is None else clients
    if not 1 <= n_clients <= MAX_CLIENTS:
        raise ValueError(f"clients must be between 1 and {MAX_CLIENTS}")
    if not 1 <= servers <= MAX_SERVERS:
        raise ValueError(f"servers must be between 1 and {MAX_SERVERS}")
    if ramp < 0 or timeout <= 0:
        raise ValueError("ramp cannot be negative and timeout must be positive")
    if recorder is not None and (connections != 1 or n_clients != 1 or servers != 1):
        raise ValueError("a trace records one connection: use connections=1")
    per_pair = math.ceil(connections / n_clients)
    if per_pair > 16384 * servers:
        raise ValueError(f"{per_pair} connections per client host is more than its ports")

    tcp = config if config is not None else TcpConfig(msl=msl)
    c2s = c2s or LinkConfig()
    s2c = s2c or LinkConfig()
    rng = random.Random(seed)
    net = Network(seed=seed)
    server_hosts: list[Host] = []
    client_hosts: list[Host] = []
    for j in range(servers):
        secret = rng.randbytes(16)
        tracer = recorder.endpoint("server") if recorder is not None else None
        host = Host(server_address(j), tcp, tracer, isn=Rfc6528Isn(secret), secret=secret)
        host.listen(SERVER_PORT, backlog=max(128, connections))
        server_hosts.append(net.add_host(host))
    for i in range(n_clients):
        secret = rng.randbytes(16)
        tracer = recorder.endpoint("client") if recorder is not None else None
        host = Host(client_address(i), tcp, tracer, isn=Rfc6528Isn(secret), secret=secret)
        client_hosts.append(net.add_host(host))
    for client in client_hosts:
        for server in server_hosts:
            net.set_link(client, server, c2s)
            net.set_link(server, client, s2c)
    specs = list(faults)
    for spec in specs:
        net.fault(
            spec.matcher(client_hosts, server_hosts), spec.action, spec.nth, spec.count, spec.delay
        )
    if recorder is not None:
        net.taps.append(recorder.packet_tap({client_hosts[0]: "client", server_hosts[0]: "server"}))
    net.taps.extend(taps)

    pattern = rng.randbytes(max(bytes_up, bytes_down) + 65_536)
    apps = _Apps(client_hosts, server_hosts, pattern, bytes_up, bytes_down, connections, progress)
    net.apps.append(apps)
    starts = sorted(rng.random() * ramp for _ in range(connections)) if ramp else None
    if progress is not None:
        progress(0, connections)

    server_addresses = [server_address(j) for j in range(servers)]

    def opener(i: int) -> Callable[[Network], None]:
        client, server = client_hosts[i % n_clients], server_addresses[i % servers]
        return lambda net: apps.start(client, server, i, net.now)

    wall = time.perf_counter()
    with _no_collections():
        for i in range(connections):
            if starts is None:
                apps.start(client_hosts[i % n_clients], server_addresses[i % servers], i, 0.0)
            else:
                net.call_at(starts[i], opener(i))
        # step until idle, leaving the clock at the last event (not at ``timeout``)
        settled = not net.run_until(lambda: False, timeout=max(0.0, timeout - net.now))
        settled = settled and net.next_time() is None
    wall = time.perf_counter() - wall
    if progress is not None:
        progress(apps.finished, connections)
    return _summarize(net, apps, client_hosts, server_hosts, specs, seed, settled, wall)


def _summarize(
    net: Network,
    apps: _Apps,
    client_hosts: list[Host],
    server_hosts: list[Host],
    specs: list[FaultSpec],
    seed: int,
    settled: bool,
    wall: float,
) -> ScaleResult:
    flows = apps.flows
    handshakes = [(f.connected_at - f.started) * 1000 for f in flows if f.connected_at is not None]
    tw_left = sum(h.time_wait_count for h in client_hosts + server_hosts)
    client_states: Counter[str] = Counter()
    server_states: Counter[str] = Counter()
    retransmitted = timeouts = fast = rack_losses = probes = repairs = 0
    for f in flows:
        for conn, states in ((f.client, client_states), (f.server, server_states)):
            if conn is None:
                states["never accepted"] += 1
                continue
            name = conn.state.value
            if conn.state is State.TIME_WAIT and tw_left == 0:
                name = TIME_WAIT_EXPIRED
            states[name] += 1
            retransmitted += conn.stats.retransmitted_segments
            timeouts += conn.stats.timeouts
            fast += conn.stats.fast_retransmits
            rack_losses += conn.stats.rack_losses
            probes += conn.stats.tail_loss_probes
            repairs += conn.stats.tlp_repairs
    up, down = apps.bytes_up, apps.bytes_down
    mismatched = sum(
        1
        for f in flows
        if f.mismatch or f.up_got != f.up_sent or f.down_got != f.down_sent
        or f.up_sent != up or f.down_sent != down
    )  # fmt: skip
    malformed: Counter[str] = Counter()
    for host in client_hosts + server_hosts:
        malformed.update(host.stats.malformed_reasons)
    completed = sum(
        1
        for f in flows
        if f.finished and not f.failed and not f.mismatch
        and f.up_got == up and f.down_got == down
    )  # fmt: skip
    return ScaleResult(
        connections=len(flows),
        clients=len(client_hosts),
        servers=len(server_hosts),
        seed=seed,
        bytes_up=up,
        bytes_down=down,
        handshake_ms=Percentiles.of(handshakes),
        handshakes=len(handshakes),
        completed=completed,
        failed=sum(1 for f in flows if f.failed),
        retransmitted_segments=retransmitted,
        timeouts=timeouts,
        fast_retransmits=fast,
        rack_losses=rack_losses,
        tail_loss_probes=probes,
        tlp_repairs=repairs,
        client_states=dict(sorted(client_states.items())),
        server_states=dict(sorted(server_states.items())),
        time_wait_left=tw_left,
        open_left=sum(len(h.connections) for h in client_hosts + server_hosts),
        up_sent=sum(f.up_sent for f in flows),
        up_received=sum(f.up_got for f in flows),
        down_sent=sum(f.down_sent for f in flows),
        down_received=sum(f.down_got for f in flows),
        bytes_match=mismatched == 0,
        mismatched=mismatched,
        packets=sum(h.stats.packets_sent for h in client_hosts + server_hosts),
        packets_delivered=net.packets_delivered,
        packets_lost=net.packets_lost,
        malformed=dict(sorted(malformed.items())),
        last_close=apps.last_close,
        virtual_seconds=net.now,
        settled=settled,
        wall_seconds=wall,
        faults=[spec.describe() for spec in specs],
    )
