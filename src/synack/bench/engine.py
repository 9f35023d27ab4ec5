"""Engine benchmarks: one process, in memory, on a virtual clock.

- :func:`bench_lifecycle`: full connection lifecycles per second through two
  Hosts (handshake, one byte each way, the 4-way close), with the client's
  TIME-WAIT records piling up and expiring on the virtual clock;
  :func:`bench_lifecycle_engine` the same between two bare Connections;
- :func:`bench_bulk_engine` and :func:`bench_bulk_hosts`: payload MB/s at
  MSS 1460 with no loss, engine only (segments passed as objects) and
  through two Hosts (IP encode/decode and both checksums);
- :func:`bench_memory_established` and :func:`bench_memory_time_wait`:
  tracemalloc growth per idle ESTABLISHED connection and per TIME-WAIT
  record.

Nothing touches a socket or a real network: packets are handed from one
Host to the other by a small pump loop. Wall time is read only to report
figures; tests never assert on it.
"""

from __future__ import annotations

import gc
import hashlib
import random
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from ipaddress import ip_address
from typing import Protocol, TypeVar

from synack.bench.results import (
    LIFECYCLE_TARGET,
    MB,
    MIB,
    BulkResult,
    LifecycleResult,
    MemoryResult,
    Progress,
    no_progress,
)
from synack.host import Host
from synack.tcp.config import TcpConfig
from synack.tcp.connection import Connection
from synack.tcp.events import ConnectionClosed, DataReceived, EndOfStream
from synack.tcp.state import State
from synack.wire import seq as sq
from synack.wire.segment import (
    ACK,
    FIN,
    NOP,
    SACK_PERMITTED,
    SYN,
    MaxSegmentSize,
    Option,
    Segment,
    Timestamps,
    WindowScale,
)

CLIENT = ip_address("10.0.0.1")
SERVER = ip_address("10.0.0.2")
SERVER_PORT = 80
T = TypeVar("T")


# ----------------------------------------------------------------------
# The pump: packets straight from one Host to the other
# ----------------------------------------------------------------------
def _exchange(a: Host, b: Host, now: float) -> int:
    """Move one round of packets each way; the number moved (0: both quiet)."""
    pa = a.packets_to_send(now)
    pb = b.packets_to_send(now)
    for packet in pa:
        b.receive_packet(packet, now)
    for packet in pb:
        a.receive_packet(packet, now)
    return len(pa) + len(pb)


def _run_timers(now: float, *hosts: Host) -> None:
    for host in hosts:
        deadline = host.get_timer()
        if deadline is not None and deadline <= now:
            host.handle_timer(now)


# ----------------------------------------------------------------------
# a. Full lifecycles per second
# ----------------------------------------------------------------------
def bench_lifecycle(
    count: int = 20_000,
    batch: int = 100,
    msl: float = 1.0,
    rate: float = LIFECYCLE_TARGET,
    progress: Progress = no_progress,
) -> LifecycleResult:
    """``count`` lifecycles, ``batch`` at a time: handshake, a byte each way, close.

    The client closes first, so its side collapses into a TIME-WAIT record
    (2 x ``msl``); the virtual clock moves ``batch / rate`` seconds per batch,
    so records pile up and expire as they would at ``rate`` connections a
    second. Ephemeral ports come from the whole 1024-65535 range.
    """
    if count < 1 or batch < 1:
        raise ValueError("count and batch must be at least 1")
    config = TcpConfig(msl=msl)
    client = Host(CLIENT, config, secret=b"bench-client-key", ephemeral_ports=(1024, 65535))
    server = Host(SERVER, config, secret=b"bench-server-key")
    server.listen(SERVER_PORT, backlog=max(2 * batch, 128))
    remote = (SERVER, SERVER_PORT)
    step = batch / rate
    now = 0.0
    done = 0
    packets = 0
    tw_peak = 0
    client_rx = server_rx = 0
    server_closed = 0
    progress("lifecycles", 0.0)
    gc.collect()
    start = time.perf_counter()
    while done < count:
        n = min(batch, count - done)
        conns = [client.connect(remote, now) for _ in range(n)]
        for conn in conns:
            conn.send(b"q")
        while True:
            moved = _exchange(client, server, now)
            packets += moved
            # The applications, between input and the next output.
            while server.accept(SERVER_PORT) is not None:
                pass
            while (ev := server.next_event()) is not None:
                event = ev.event
                peer = ev.connection
                if isinstance(event, DataReceived):
                    server_rx += len(peer.receive())
                    peer.send(b"r")
                elif isinstance(event, EndOfStream):
                    peer.close()
                elif isinstance(event, ConnectionClosed):
                    server_closed += 1
            while (ev := client.next_event()) is not None:
                if isinstance(ev.event, DataReceived):
                    client_rx += len(ev.connection.receive())
                    ev.connection.close()
            if not moved:
                break
        for conn in conns:
            if conn.state is not State.TIME_WAIT:
                raise RuntimeError(f"lifecycle did not finish: {conn!r}")
        done += n
        tw_peak = max(tw_peak, client.time_wait_count)
        now += step
        _run_timers(now, client, server)
        if done % (batch * 20) == 0:
            progress("lifecycles", done / count)
    seconds = time.perf_counter() - start
    progress("lifecycles", 1.0)
    if server_closed != count:
        raise RuntimeError(f"{server_closed} of {count} server sides closed")
    return LifecycleResult(
        count, seconds, count / seconds, batch, msl, now, tw_peak, client.time_wait_count,
        client_rx, server_rx, packets,
    )  # fmt: skip


def bench_lifecycle_engine(
    count: int = 20_000, progress: Progress = no_progress
) -> LifecycleResult:
    """The same lifecycle between two bare Connections: the engine's own cost.

    Segments are handed over as objects (no IP, no checksums, no Host), so
    this is the ceiling the Host path works toward.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    config = TcpConfig(msl=1.0)
    now = 0.0
    segments = client_rx = server_rx = 0

    def exchange(src: Connection, dst: Connection) -> int:
        out = src.segments_to_send(now)
        for seg in out:
            dst.receive_segment(seg, now)
        return len(out)

    progress("lifecycles (engine)", 0.0)
    gc.collect()
    start = time.perf_counter()
    for i in range(count):
        port = 1024 + i % 64000
        client = Connection((CLIENT, port), (SERVER, SERVER_PORT), config)
        server = Connection((SERVER, SERVER_PORT), (CLIENT, port), config)
        server.listen(now)
        client.connect(now)
        client.send(b"q")
        segments += exchange(client, server) + exchange(server, client)  # SYN; SYN,ACK
        segments += exchange(client, server)  # ACK with the request
        server_rx += len(server.receive())
        server.send(b"r")
        segments += exchange(server, client)
        client_rx += len(client.receive())
        client.close()
        segments += exchange(client, server)  # FIN
        server.close()  # at once, so its ACK and FIN go together, as in the Host run
        segments += exchange(server, client) + exchange(client, server)  # FIN,ACK; last ACK
        if client.state is not State.TIME_WAIT or server.state is not State.CLOSED:
            raise RuntimeError(f"lifecycle did not finish: {client!r} {server!r}")
        if i % 2000 == 0:
            progress("lifecycles (engine)", i / count)
    seconds = time.perf_counter() - start
    progress("lifecycles (engine)", 1.0)
    return LifecycleResult(
        count, seconds, count / seconds, 1, config.msl, now, 0, 0, client_rx, server_rx,
        segments, path="engine",
    )  # fmt: skip


# ----------------------------------------------------------------------
# b. Bulk transfer
# ----------------------------------------------------------------------
def _pattern(size: int = MIB, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(size)


def _expected_sha256(pattern: bytes, total: int) -> str:
    digest = hashlib.sha256()
    whole, rest = divmod(total, len(pattern))
    for _ in range(whole):
        digest.update(pattern)
    digest.update(pattern[:rest])
    return digest.hexdigest()


class _Source:
    """The sending application: ``total`` bytes of a repeating pattern."""

    __slots__ = ("pattern", "sent", "total", "view")

    def __init__(self, pattern: bytes, total: int) -> None:
        self.pattern = pattern
        self.view = memoryview(pattern)
        self.total = total
        self.sent = 0

    def feed(self, conn: Connection) -> None:
        size = len(self.pattern)
        while self.sent < self.total:
            space = conn.send_space
            if space <= 0:
                return
            offset = self.sent % size
            n = min(space, size - offset, self.total - self.sent)
            accepted = conn.send(self.view[offset : offset + n])
            self.sent += accepted
            if accepted < n:
                return


def _hand_over(
    pull: Callable[[float], list[T]], push: Callable[[T, float], object]
) -> Callable[[float], int]:
    """A move of one round from one end to the other: what ``pull`` gives, into
    ``push``; it returns how many segments or packets went."""

    def move(now: float) -> int:
        out = pull(now)
        for item in out:
            push(item, now)
        return len(out)

    return move


def _bulk_config(mss: int) -> TcpConfig:
    return TcpConfig(mss=mss, mtu=mss + 40)


class _Endpoint(Protocol):
    """What the bulk loop needs of a Connection or a Host."""

    def get_timer(self) -> float | None: ...
    def handle_timer(self, now: float) -> None: ...
    def next_event(self) -> object | None: ...


def _bulk_loop(
    label: str,
    total: int,
    sender: Connection,
    receiver: Callable[[], Connection | None],
    forward: Callable[[float], int],
    backward: Callable[[float], int],
    ends: tuple[_Endpoint, _Endpoint],
    progress: Progress,
) -> tuple[int, str, float, float]:
    """Move ``total`` bytes; ``forward``/``backward`` hand over what each side has ready.

    Returns bytes received, their SHA-256, wall seconds and virtual seconds.
    """
    source = _Source(_pattern(), total)
    digest = hashlib.sha256()
    received = 0
    now = 0.0
    progress(label, 0.0)
    report_every = max(total // 20, 1)
    next_report = report_every
    gc.collect()
    start = time.perf_counter()
    while received < total:
        if sender.state is State.ESTABLISHED:
            source.feed(sender)
        moved = forward(now)
        conn = receiver()
        if conn is not None and (data := conn.receive()):
            digest.update(data)
            received += len(data)
            if received >= next_report:
                progress(label, received / total)
                next_report += report_every
        for end in ends:
            while end.next_event() is not None:
                pass
        moved += backward(now)
        if moved:
            now += 0.0001  # 100 us per round: RTT samples stay positive and small
            continue
        # Quiet: jump the virtual clock to the next deadline (a delayed ACK, say).
        deadlines = [t for t in (ends[0].get_timer(), ends[1].get_timer()) if t is not None]
        if not deadlines:
            raise RuntimeError("bulk transfer stalled with no timer pending")
        now = max(now, min(deadlines))
        for end in ends:
            end.handle_timer(now)
    seconds = time.perf_counter() - start
    progress(label, 1.0)
    return received, digest.hexdigest(), seconds, now


def bench_bulk_engine(
    total: int = 64 * MIB, mss: int = 1460, progress: Progress = no_progress
) -> BulkResult:
    """``total`` bytes from one Connection to another, segments passed as objects."""
    config = _bulk_config(mss)
    a = Connection((CLIENT, 40000), (SERVER, SERVER_PORT), config)
    b = Connection((SERVER, SERVER_PORT), (CLIENT, 40000), config)

    b.listen(0.0)
    a.connect(0.0)
    a_to_b = _hand_over(a.segments_to_send, b.receive_segment)
    b_to_a = _hand_over(b.segments_to_send, a.receive_segment)
    received, digest, seconds, now = _bulk_loop(
        "bulk (engine)", total, a, lambda: b, a_to_b, b_to_a, (a, b), progress
    )
    return BulkResult(
        "engine", total, received, seconds, received / MB / seconds, a.stats.segments_sent,
        a.mss_payload(), _expected_sha256(_pattern(), total), digest, now,
    )  # fmt: skip


def bench_bulk_hosts(
    total: int = 64 * MIB, mss: int = 1460, progress: Progress = no_progress
) -> BulkResult:
    """``total`` bytes between two Hosts, as IP packets with both checksums."""
    config = _bulk_config(mss)
    client = Host(CLIENT, config, secret=b"bench-client-key")
    server = Host(SERVER, config, secret=b"bench-server-key")
    server.listen(SERVER_PORT)
    accepted: list[Connection] = []

    def receiver() -> Connection | None:
        if not accepted and (conn := server.accept(SERVER_PORT)) is not None:
            accepted.append(conn)
        return accepted[0] if accepted else None

    a = client.connect((SERVER, SERVER_PORT), 0.0)
    to_server = _hand_over(client.packets_to_send, server.receive_packet)
    to_client = _hand_over(server.packets_to_send, client.receive_packet)
    received, digest, seconds, now = _bulk_loop(
        "bulk (hosts)", total, a, receiver, to_server, to_client, (client, server), progress
    )
    return BulkResult(
        "hosts", total, received, seconds, received / MB / seconds, a.stats.segments_sent,
        a.mss_payload(), _expected_sha256(_pattern(), total), digest, now,
    )  # fmt: skip


# ----------------------------------------------------------------------
# c. Memory
# ----------------------------------------------------------------------
_PORTS_PER_SERVER_PORT = 60_000


def _endpoints(i: int) -> tuple[int, int]:
    """Client port and server port of the ``i``-th connection: unique 4-tuples past 64K."""
    return 1024 + i % _PORTS_PER_SERVER_PORT, SERVER_PORT + i // _PORTS_PER_SERVER_PORT


def _listen_all(server: Host, count: int, backlog: int) -> list[int]:
    ports = sorted({_endpoints(i)[1] for i in range(count)})
    for port in ports:
        server.listen(port, backlog=backlog)
    return ports


@contextmanager
def _tracing() -> Iterator[None]:
    """tracemalloc on for the block (unless it was on already)."""
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        yield
    finally:
        if not was_tracing:
            tracemalloc.stop()


def _traced() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def bench_memory_established(
    count: int = 100_000, batch: int = 1_000, progress: Progress = no_progress
) -> MemoryResult:
    """tracemalloc growth of two Hosts holding ``count`` idle ESTABLISHED connections.

    Both sides count: the client's connections and the server's accepted
    ones (kept in a list, as an application would). After the handshakes the
    virtual clock moves past the SYN retransmission deadlines and the timers
    run, so stale timer-heap entries are gone, as they would be in a host
    that has been idle for a few seconds.
    """
    label = "memory (ESTABLISHED)"
    progress(label, 0.0)
    started = time.perf_counter()
    with _tracing():
        config = TcpConfig()
        client = Host(CLIENT, config, secret=b"bench-client-key")
        server = Host(SERVER, config, secret=b"bench-server-key")
        ports = _listen_all(server, count, backlog=batch * 2)
        accepted: list[Connection] = []
        clients: list[Connection] = []
        now = 0.0
        before = _traced()
        for first in range(0, count, batch):
            n = min(batch, count - first)
            for i in range(first, first + n):
                lport, rport = _endpoints(i)
                clients.append(client.connect((SERVER, rport), now, local_port=lport))
            while _exchange(client, server, now):
                pass
            for port in ports:
                while (conn := server.accept(port)) is not None:
                    accepted.append(conn)
            while client.next_event() is not None:
                pass
            while server.next_event() is not None:
                pass
            progress(label, (first + n) / count)
        now += 10.0  # past every SYN retransmission deadline: stale heap entries go
        _run_timers(now, client, server)
        after = _traced()
    established = sum(c.state is State.ESTABLISHED for c in clients)
    established += sum(c.state is State.ESTABLISHED for c in accepted)
    if len(accepted) != count or established != 2 * count:
        raise RuntimeError(
            f"{len(accepted)} accepted and {established} ESTABLISHED of {count} per side"
        )
    growth = after - before
    return MemoryResult(
        "established",
        count,
        growth,
        growth / (2 * count),
        time.perf_counter() - started,
        {"per_pair": growth / count, "client_connections": len(client.connections)},
    )


def bench_memory_time_wait(
    count: int = 100_000, batch: int = 1_000, progress: Progress = no_progress
) -> MemoryResult:
    """tracemalloc growth of a Host holding ``count`` TIME-WAIT records.

    Only the client Host exists: a scripted peer answers it with segments
    built from the client's own numbers (SYN,ACK with MSS, SACK-permitted,
    timestamps and window scale; then FIN,ACK once the client's FIN is out),
    so each connection goes SYN-SENT, ESTABLISHED, FIN-WAIT-1, TIME-WAIT and
    is collapsed into a packed record. The client's packets are encoded as
    usual and thrown away. MSL is 120 s, so nothing expires; 10 s of virtual
    time pass at the end so stale timer-heap entries go.
    """
    label = "memory (TIME-WAIT)"
    progress(label, 0.0)
    started = time.perf_counter()
    with _tracing():
        client = Host(CLIENT, TcpConfig(), secret=b"bench-client-key")
        now = 0.0
        irs = 1_000_000
        before = _traced()
        for first in range(0, count, batch):
            n = min(batch, count - first)
            conns = []
            for i in range(first, first + n):
                lport, rport = _endpoints(i)
                conns.append(client.connect((SERVER, rport), now, local_port=lport))
            client.packets_to_send(now)  # the SYNs
            for conn in conns:
                lport, rport = conn.local[1], conn.remote[1]  # type: ignore[index]
                options: tuple[Option, ...] = (
                    MaxSegmentSize(1460), SACK_PERMITTED,
                    Timestamps(5000, conn.ts_clock(now)), NOP, WindowScale(7),
                )  # fmt: skip
                synack = Segment(rport, lport, irs, sq.add(conn.iss, 1), SYN | ACK, 65535,
                                 options=options)  # fmt: skip
                client.receive_segment(SERVER.packed, CLIENT.packed, synack, now)
            client.packets_to_send(now)  # the ACKs of the SYN,ACKs
            for conn in conns:
                conn.close()
            client.packets_to_send(now)  # the FINs
            for conn in conns:
                lport, rport = conn.local[1], conn.remote[1]  # type: ignore[index]
                options = (NOP, NOP, Timestamps(5001, conn.ts_clock(now)))
                fin = Segment(rport, lport, sq.add(irs, 1), sq.add(conn.iss, 2), FIN | ACK, 512,
                              options=options)  # fmt: skip
                client.receive_segment(SERVER.packed, CLIENT.packed, fin, now)
            client.packets_to_send(now)  # the last ACKs: now the records are packed
            while client.next_event() is not None:
                pass
            del conns
            now += 0.001
            _run_timers(now, client)
            progress(label, (first + n) / count)
        now += 10.0
        _run_timers(now, client)
        after = _traced()
    records = client.time_wait_count
    if records != count or client.connections:
        raise RuntimeError(
            f"{records} TIME-WAIT records of {count}, {len(client.connections)} left open"
        )
    growth = after - before
    return MemoryResult(
        "time-wait",
        count,
        growth,
        growth / count,
        time.perf_counter() - started,
        {"records": records, "collapsed": client.stats.time_wait_collapsed},
    )
