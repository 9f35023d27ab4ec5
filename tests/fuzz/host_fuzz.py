"""A coverage-guided fuzzing harness for ``Host.receive_packet`` (docs/fuzzing.md).

One target, :meth:`Harness.one_input`, takes bytes and reads them as a
sequence of operations on a world of three Hosts on a virtual clock:

- the Host under test (10.0.0.2 and fd00::2), with listeners on ports 80
  (every option), 81 (no options, keepalive on) and 9090, half-open
  connections in its SYN queues, ESTABLISHED connections with data in flight
  both ways, connections in FIN-WAIT-2 and CLOSE-WAIT, an active open of its
  own, and TIME-WAIT records;
- the peer (10.0.0.1 and fd00::1), the other end of all of those, and a
  "ghost" address (10.0.0.9, fd00::9) that no Host answers for, so SYNs
  from it stay half-open;
- the bystander (10.0.0.3): two connections to and from the Host that
  exchange a known byte stream all the time, which the fuzzer never
  addresses. Their packets go straight between the two Hosts.

An operation is a structured packet aimed at a real connection (its
4-tuple, and sequence and acknowledgment numbers near the connection's own,
in or near the window), with any flags, window, urgent pointer, options
(every kind, bad lengths too), payload and ECN bits, checksums recomputed
(or broken on purpose); a packet of raw bytes; a mutated structured packet;
a timer advance; delivering, dropping, duplicating or reordering what is in
flight between the Host and the peer; a user call on either side (send,
receive, close, shutdown, abort); or a new connection.

After every input the Host's invariants are checked, and any exception that
escaped is a finding (the inputs since the world was last built are saved
so the finding can be replayed). Every ``epoch`` inputs, and at the end of
a run, the bystanders must deliver a fresh block both ways, byte-exact,
before the world is built again.

Engines: ``atheris`` (libFuzzer, coverage-guided on line edges of synack;
the ``fuzz`` extra) or ``mutate`` (pure Python, seeded: mutates a corpus
and keeps inputs that reach new engine states, drop reasons or malformed
reasons; what CI runs). See ``python tests/fuzz/host_fuzz.py --help``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import struct
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address, ip_address
from pathlib import Path

from synack.host import Host
from synack.tcp.config import TcpConfig
from synack.tcp.connection import Connection
from synack.tcp.errors import TcpError
from synack.tcp.state import State
from synack.wire import seq as sq
from synack.wire.checksum import internet_checksum, tcp_checksum
from synack.wire.icmp import icmp_error
from synack.wire.ip import IPv4Header, IPv6Header

# -- the world's addresses, ports and configurations ---------------------------------

HOST4, HOST6 = ip_address("10.0.0.2"), ip_address("fd00::2")
PEER4, PEER6 = ip_address("10.0.0.1"), ip_address("fd00::1")
GHOST4, GHOST6 = ip_address("10.0.0.9"), ip_address("fd00::9")
BYSTANDER = ip_address("10.0.0.3")
PORT_FULL, PORT_PLAIN, PORT_CLOSED, PORT_BYSTANDER = 80, 81, 82, 9090
PEER_PORT = 7000  # the peer's listener, for the Host's active opens
BYSTANDER_PEER_PORT = 9091
SECRET = b"synack-fuzz-seed"

# TIME-WAIT of 2 x 30 s, so records come and go within an epoch (and more are
# made when there are fewer than two: World.replenish).
HOST_CONFIG = TcpConfig(msl=30.0, ecn="passive", user_timeout=120.0)
PLAIN_CONFIG = TcpConfig(
    msl=30.0,
    window_scaling=False,
    timestamps=False,
    sack=False,
    keepalive=True,
    keepalive_idle=20.0,
    keepalive_interval=5.0,
    keepalive_probes=3,
    fin_wait_2_timeout=30.0,
    nodelay=True,
)
PEER_CONFIG = TcpConfig(msl=30.0, ecn="on", user_timeout=120.0)
BYSTANDER_CONFIG = TcpConfig(msl=5.0)

# Bounds on the Host's memory: an epoch cannot open more than this many.
MAX_CONNECTIONS = 4096
MAX_TIME_WAIT = 4096
MAX_WIRE = 512  # packets in flight between the Host and the peer
MAX_OPS = 32  # operations per input
PUMP_ROUNDS = 64

_V4_ADDRS = {a.packed: a for a in (HOST4, PEER4, GHOST4, BYSTANDER)}
_ADDR = {a.packed: a for a in (HOST4, HOST6, PEER4, PEER6, GHOST4, GHOST6, BYSTANDER)}
_TCP = struct.Struct("!HHIIBBHHH")

# Bystander streams: deterministic bytes, different per stream.
_BLOCK = random.Random(9293).randbytes(1 << 16)


def stream_bytes(stream: int, offset: int, n: int) -> bytes:
    """Bytes ``offset``..``offset + n`` of bystander stream ``stream``."""
    out = bytearray()
    start = (offset + stream * 7919) % len(_BLOCK)
    while len(out) < n:
        chunk = _BLOCK[start : start + n - len(out)]
        out += chunk
        start = 0
    return bytes(out)


class Finding(Exception):
    """An invariant broken or a bystander corrupted (an escaped exception is a finding too)."""


# -- reading an input ----------------------------------------------------------------


class Reader:
    """The input as a stream of fields; past its end every field reads as zero."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def more(self) -> bool:
        return self.pos < len(self.data)

    def u8(self) -> int:
        if self.pos < len(self.data):
            self.pos += 1
            return self.data[self.pos - 1]
        return 0

    def u16(self) -> int:
        return (self.u8() << 8) | self.u8()

    def u32(self) -> int:
        return (self.u16() << 16) | self.u16()

    def s8(self) -> int:
        v = self.u8()
        return v - 256 if v >= 128 else v

    def s16(self) -> int:
        v = self.u16()
        return v - 65536 if v >= 32768 else v

    def take(self, n: int) -> bytes:
        out = self.data[self.pos : self.pos + n]
        self.pos += len(out)
        return out


# Operations (the first byte of each, modulo 16).
OP_PACKET = range(0, 7)
OP_MUTATED, OP_RAW, OP_TIMER, OP_WIRE, OP_HOST_CALL, OP_PEER_CALL, OP_OPEN, OP_PUMP = range(7, 15)
OP_TRAIN = 15

# ICMP errors the fuzzer sends: (type, code), per family.
ICMP4_KINDS = (
    (3, 0), (3, 1), (3, 2), (3, 3), (3, 4), (3, 4), (3, 4), (3, 13), (4, 0), (11, 0), (12, 0),
    (0, 0), (5, 1),
)  # fmt: skip
ICMP6_KINDS = ((1, 0), (1, 3), (1, 4), (1, 1), (2, 0), (2, 0), (2, 0), (3, 0), (4, 0), (128, 0))
ROUTER4 = ip_address("10.0.0.254")

COMMON_FLAGS = (
    0x10, 0x18, 0x02, 0x12, 0x11, 0x19, 0x04, 0x14, 0x30, 0x01, 0x03, 0x06, 0x00, 0x3F,
    0x50, 0x90, 0xC2, 0x52, 0x07, 0x38,
)  # fmt: skip


# -- building packets ----------------------------------------------------------------


def ip_packet(src: bytes, dst: bytes, tcp: bytes, ecn: int = 0) -> bytes:
    if len(src) == 4:
        return IPv4Header(_v4_address(src), _v4_address(dst), tos=ecn).encode(len(tcp)) + tcp  # type: ignore[arg-type]
    header = IPv6Header(IPv6Address(src), IPv6Address(dst), traffic_class=ecn)
    return header.encode(len(tcp)) + tcp


def _v4_address(packed: bytes) -> IPv4Address:
    address = _V4_ADDRS.get(packed)
    return address if isinstance(address, IPv4Address) else IPv4Address(packed)


def tcp_bytes(
    src: bytes,
    dst: bytes,
    sport: int,
    dport: int,
    seq: int,
    ack: int,
    flags: int,
    window: int,
    urgent: int,
    options: bytes,
    payload: bytes,
    offset: int | None = None,
    reserved: int = 0,
) -> bytes:
    """A TCP segment with its checksum computed; ``offset`` overrides the data offset."""
    if len(options) % 4:
        options += bytes(4 - len(options) % 4)
    words = 5 + len(options) // 4 if offset is None else offset
    header = _TCP.pack(
        sport, dport, seq & sq.MASK, ack & sq.MASK, (words << 4) | (reserved & 0xF), flags,
        window, 0, urgent,
    )  # fmt: skip
    segment = header + options + payload
    csum = tcp_checksum(src, dst, segment)
    return segment[:16] + csum.to_bytes(2, "big") + segment[18:]


def fix_checksums(pkt: bytes) -> bytes:
    """Repair the IPv4 header checksum and the TCP checksum where they can be found."""
    if not pkt:
        return pkt
    if pkt[0] >> 4 == 4 and len(pkt) >= 20:
        ihl = (pkt[0] & 0x0F) * 4
        if 20 <= ihl <= len(pkt):
            hdr = pkt[:10] + b"\0\0" + pkt[12:ihl]
            pkt = hdr[:10] + internet_checksum(hdr).to_bytes(2, "big") + pkt[12:]
            total = int.from_bytes(pkt[2:4], "big")
            if ihl <= total <= len(pkt) and total - ihl >= 18:
                tcp = pkt[ihl:total]
                tcp = tcp[:16] + b"\0\0" + tcp[18:]
                csum = tcp_checksum(pkt[12:16], pkt[16:20], tcp)
                pkt = pkt[:ihl] + tcp[:16] + csum.to_bytes(2, "big") + tcp[18:] + pkt[total:]
    elif pkt[0] >> 4 == 6 and len(pkt) >= 40:
        end = 40 + int.from_bytes(pkt[4:6], "big")
        if end <= len(pkt) and end - 40 >= 18:
            tcp = pkt[40:end]
            tcp = tcp[:16] + b"\0\0" + tcp[18:]
            csum = tcp_checksum(pkt[8:24], pkt[24:40], tcp)
            pkt = pkt[:40] + tcp[:16] + csum.to_bytes(2, "big") + tcp[18:] + pkt[end:]
    return pkt


def four_tuple(pkt: bytes) -> tuple[bytes, bytes, int, int] | None:
    """Source, destination and ports of a packet, without checking anything else."""
    if len(pkt) >= 24 and pkt[0] >> 4 == 4:
        ihl = (pkt[0] & 0x0F) * 4
        if len(pkt) >= ihl + 4:
            sport, dport = struct.unpack_from("!HH", pkt, ihl)
            return pkt[12:16], pkt[16:20], sport, dport
    elif len(pkt) >= 44 and pkt[0] >> 4 == 6:
        sport, dport = struct.unpack_from("!HH", pkt, 40)
        return pkt[8:24], pkt[24:40], sport, dport
    return None


def destination(pkt: bytes) -> bytes:
    return pkt[16:20] if pkt[0] >> 4 == 4 else pkt[24:40]


# -- the world -----------------------------------------------------------------------


@dataclass
class Stream:
    """One direction of a bystander connection: what was sent and what arrived."""

    sent: int = 0
    received: int = 0


@dataclass
class Stats:
    inputs: int = 0
    ops: int = 0
    packets_injected: int = 0
    epochs: int = 0
    findings: int = 0
    bystander_checks: int = 0
    bystander_bytes: int = 0
    pump_limit_hits: int = 0
    stale_closed: int = 0  # inputs after which the known issue was seen
    max_connections: int = 0
    max_time_wait: int = 0
    max_timer_heap: int = 0
    max_wire: int = 0
    states_seen: dict[str, int] = field(default_factory=dict)


class World:
    """Three Hosts on a virtual clock: the Host under test, its peer and a bystander."""

    def __init__(self) -> None:
        self.now = 0.0
        self.host = Host([HOST4, HOST6], HOST_CONFIG, secret=SECRET)
        self.peer = Host([PEER4, PEER6], PEER_CONFIG, secret=SECRET[::-1])
        self.bystander = Host(BYSTANDER, BYSTANDER_CONFIG, secret=SECRET[1:] + b"!")
        self.wire: list[bytes] = []  # between the Host and the peer, in flight
        self.known: dict[Connection, None] = {}  # the Host's connections, oldest first
        self.bystander_ends: set[Connection] = set()
        self.port_counter = 0
        self._seen_count = -1
        self._seen_gen = -1
        self.host.listen(PORT_FULL, backlog=16)
        self.host.listen(PORT_PLAIN, backlog=4, config=PLAIN_CONFIG)
        self.host.listen(PORT_BYSTANDER, backlog=4, config=BYSTANDER_CONFIG)
        self.peer.listen(PEER_PORT, backlog=64)
        self.bystander.listen(BYSTANDER_PEER_PORT, backlog=4)
        self.bystanders: list[tuple[Connection, Connection]] = []  # (Host's end, bystander's)
        self.bystander_ports: set[tuple[int, int]] = set()  # (bystander's port, Host's)
        # Known issue (tests/fuzz/test_known_issues.py): close() in SYN-SENT does not
        # wake the Host, which keeps the CLOSED connection until its old timer fires.
        self.closed_in_syn_sent: set[Connection] = set()
        self.streams: list[Stream] = []
        self._build()

    # -- moving packets --------------------------------------------------------------
    def settle(self) -> None:
        """Collect every Host's output: bystander traffic is delivered at once, the
        Host's and the peer's go on the wire, the rest is lost."""
        host, peer, bystander = self.host, self.peer, self.bystander
        by = BYSTANDER.packed
        for _ in range(PUMP_ROUNDS):
            busy = False
            if host.has_output:
                for pkt in host.packets_to_send(self.now):
                    dst = destination(pkt)
                    if dst == by:
                        bystander.receive_packet(pkt, self.now)
                    elif dst in (PEER4.packed, PEER6.packed):
                        self.wire.append(pkt)
            if bystander.has_output:
                busy = True
                for pkt in bystander.packets_to_send(self.now):
                    host.receive_packet(pkt, self.now)
            if peer.has_output:
                for pkt in peer.packets_to_send(self.now):
                    if destination(pkt) in (HOST4.packed, HOST6.packed):
                        self.wire.append(pkt)
            if not busy and not host.has_output:
                break
        if len(self.wire) > MAX_WIRE:
            del self.wire[: len(self.wire) - MAX_WIRE]
        self._accept()

    def deliver(self, pkt: bytes) -> None:
        dst = destination(pkt)
        if dst in (HOST4.packed, HOST6.packed):
            self.host.receive_packet(pkt, self.now)
        else:
            self.peer.receive_packet(pkt, self.now)

    def pump(self, rounds: int = PUMP_ROUNDS) -> bool:
        """Deliver what is on the wire until it is quiet; False if it never was."""
        for _ in range(rounds):
            self.settle()
            if not self.wire:
                return True
            batch, self.wire = self.wire, []
            for pkt in batch:
                self.deliver(pkt)
            self.now += 0.001
        self.settle()
        return not self.wire

    def advance(self, now: float) -> None:
        if now > self.now:
            self.now = now
        for host in (self.host, self.peer, self.bystander):
            host.handle_timer(self.now)
        self.settle()

    def next_deadline(self) -> float | None:
        deadlines = [
            t for t in (h.get_timer() for h in (self.host, self.peer, self.bystander)) if t
        ]
        return min(deadlines) if deadlines else None

    def _accept(self) -> None:
        host = self.host
        for port in (PORT_FULL, PORT_PLAIN, PORT_BYSTANDER):
            while host.accept(port) is not None:
                pass
        while self.peer.accept(PEER_PORT) is not None:
            pass
        while self.bystander.accept(BYSTANDER_PEER_PORT) is not None:
            pass
        while host.next_event() is not None:
            pass
        while self.peer.next_event() is not None:
            pass
        while self.bystander.next_event() is not None:
            pass
        known = self.known
        if len(host.connections) != self._seen_count or self._seen_gen != host.stats.packets_sent:
            self._seen_count = len(host.connections)
            self._seen_gen = host.stats.packets_sent
            ends = self.bystander_ends
            for conn in host.connections.values():
                if conn not in known and conn not in ends:
                    known[conn] = None
            if len(known) > 96:
                for conn in list(known)[:32]:
                    del known[conn]

    # -- the world at the start of an epoch -----------------------------------------
    def _build(self) -> None:
        peer, host = self.peer, self.host
        # ESTABLISHED, over IPv4 and IPv6, with every option and with none
        opens = [
            peer.connect((HOST4, PORT_FULL), self.now),
            peer.connect((HOST4, PORT_FULL), self.now),
            peer.connect((HOST6, PORT_FULL), self.now),
            peer.connect((HOST4, PORT_PLAIN), self.now),
            peer.connect((HOST4, PORT_FULL), self.now),  # to CLOSE-WAIT
            peer.connect((HOST4, PORT_FULL), self.now),  # to FIN-WAIT-2
            peer.connect((HOST4, PORT_FULL), self.now),  # to TIME-WAIT
            peer.connect((HOST6, PORT_FULL), self.now),  # to TIME-WAIT
        ]
        active = host.connect((PEER4, PEER_PORT), self.now)
        first = host.connect((BYSTANDER, BYSTANDER_PEER_PORT), self.now)
        by_conn = self.bystander.connect((HOST4, PORT_BYSTANDER), self.now)
        self.pump()
        self.advance(self.now + 0.01)
        # the Host's ends, found by 4-tuple
        ends = {(c.local, c.remote): c for c in host.connections.values()}

        def host_end(conn: Connection) -> Connection:
            return ends[(conn.remote, conn.local)]

        by_ends = {(c.local, c.remote): c for c in self.bystander.connections.values()}
        self.bystanders = [
            (first, by_ends[(first.remote, first.local)]),
            (host_end(by_conn), by_conn),
        ]
        self.bystander_ends = {c for pair in self.bystanders for c in pair}
        self.known = {c: None for c in self.known if c not in self.bystander_ends}
        self.bystander_ports = {
            (theirs.local[1], ours.local[1]) for ours, theirs in self.bystanders
        }
        self.streams = [Stream() for _ in range(4)]
        # data both ways on the ESTABLISHED ones, some left in flight
        for conn in opens[:4]:
            conn.send(b"p" * 30000)
            host_end(conn).send(b"h" * 50000)
        active.send(b"a" * 5000)
        self.pump(8)
        # CLOSE-WAIT on the Host: the peer half-closes
        opens[4].shutdown_write(self.now)
        # FIN-WAIT-2 on the Host: it closes, the peer ACKs and keeps its side open
        host_end(opens[5]).close(self.now)
        # TIME-WAIT records: the Host closes first, the peer answers with its FIN
        for conn in opens[6:8]:
            host_end(conn).close(self.now)
        self.pump()
        for conn in opens[6:8]:
            conn.close(self.now)
        self.pump()
        # half-open connections: SYNs from the ghost, whose SYN,ACKs go nowhere
        for port in range(2000, 2006):
            self.inject_syn(GHOST4.packed, HOST4.packed, port, PORT_FULL)
        self.inject_syn(GHOST6.packed, HOST6.packed, 2000, PORT_FULL)
        self.inject_syn(GHOST4.packed, HOST4.packed, 2000, PORT_PLAIN)
        # a little more data in flight, not delivered
        for conn in opens[:2]:
            conn.send(b"q" * 4000)
            host_end(conn).send(b"r" * 4000)
        self.settle()
        self.exchange_bystanders(2000)

    def replenish(self) -> None:
        """Keep TIME-WAIT records and half-open connections in the world: the
        fuzzer's timer advances expire them, and little would make new ones."""
        host = self.host
        if host.time_wait_count < 2:
            try:
                conn = self.peer.connect((HOST4, PORT_FULL), self.now)
            except TcpError:
                return
            self.pump(8)
            remote = (conn.local, conn.remote)
            for ours in host.connections.values():
                if (ours.remote, ours.local) == remote and ours.state is State.ESTABLISHED:
                    ours.close(self.now)
                    self.pump(8)
                    with contextlib.suppress(TcpError):
                        conn.close(self.now)
                    self.pump(8)
                    break
        if sum(len(lst.syn_queue) for lst in host.listeners.values()) < 2:
            self.port_counter = (self.port_counter + 1) % 1000
            self.inject_syn(GHOST4.packed, HOST4.packed, 4000 + self.port_counter, PORT_FULL)

    def inject_syn(self, src: bytes, dst: bytes, sport: int, dport: int) -> None:
        tcp = tcp_bytes(src, dst, sport, dport, 1000 + sport, 0, 0x02, 65535, 0, b"", b"")
        self.host.receive_packet(ip_packet(src, dst, tcp), self.now)
        self.settle()

    # -- bystanders ------------------------------------------------------------------
    def exchange_bystanders(self, nbytes: int) -> None:
        """Queue ``nbytes`` more on each bystander stream (as far as the buffers take),
        then read and check whatever has arrived."""
        for i, (ours, theirs) in enumerate(self.bystanders):
            for sender, s in ((ours, 2 * i), (theirs, 2 * i + 1)):
                stream = self.streams[s]
                n = min(nbytes, sender.send_space)
                if n > 0:
                    sender.send(stream_bytes(s, stream.sent, n))
                    stream.sent += n
        self.settle()
        self.read_bystanders()

    def read_bystanders(self) -> None:
        for i, (ours, theirs) in enumerate(self.bystanders):
            for receiver, s in ((theirs, 2 * i), (ours, 2 * i + 1)):
                stream = self.streams[s]
                data = receiver.receive()
                if data:
                    expected = stream_bytes(s, stream.received, len(data))
                    if data != expected:
                        raise Finding(f"bystander stream {s} corrupted at byte {stream.received}")
                    stream.received += len(data)
                    if stream.received > stream.sent:
                        raise Finding(f"bystander stream {s} received more than was sent")

    def check_bystanders(self, block: int = 50_000, limit: float = 600.0) -> int:
        """Send ``block`` more bytes on every bystander stream and run the clock until
        every byte sent has arrived, byte-exact. Returns the bytes checked."""
        for ours, theirs in self.bystanders:
            for conn in (ours, theirs):
                if conn.state is not State.ESTABLISHED:
                    raise Finding(f"bystander {conn.local}->{conn.remote} is {conn.state}")
        start = self.now
        queued = [0] * 4
        while True:
            for i, (ours, theirs) in enumerate(self.bystanders):
                for sender, s in ((ours, 2 * i), (theirs, 2 * i + 1)):
                    stream = self.streams[s]
                    n = min(block - queued[s], sender.send_space)
                    if n > 0:
                        sender.send(stream_bytes(s, stream.sent, n))
                        stream.sent += n
                        queued[s] += n
            self.settle()
            self.read_bystanders()
            if all(q == block for q in queued) and all(
                st.received == st.sent for st in self.streams
            ):
                return 4 * block
            if self.now - start > limit:
                raise Finding(
                    "bystanders stalled: "
                    + ", ".join(f"{st.received}/{st.sent}" for st in self.streams)
                )
            deadline = self.next_deadline()
            step = self.now + 0.05
            self.advance(min(deadline, step) if deadline is not None else step)

    # -- invariants ------------------------------------------------------------------
    def check_invariants(self, stats: Stats) -> None:
        host = self.host
        conns = host.connections
        if len(conns) > MAX_CONNECTIONS:
            raise Finding(f"{len(conns)} connections")
        if host.time_wait_count > MAX_TIME_WAIT:
            raise Finding(f"{host.time_wait_count} TIME-WAIT records")
        for key, conn in conns.items():
            state = conn.state
            if state is State.CLOSED and conn in self.closed_in_syn_sent:
                stats.stale_closed += 1  # the known issue: see test_known_issues.py
            elif not isinstance(state, State) or state in (State.CLOSED, State.LISTEN):
                raise Finding(f"connection {conn!r} kept in state {state!r}")
            remote = conn.remote
            if remote is None:
                raise Finding(f"connection {conn!r} without a remote end")
            expected = (
                conn.local[0].packed
                + remote[0].packed
                + struct.pack("!HH", conn.local[1], remote[1])
            )
            if key != expected:
                raise Finding(f"connection {conn!r} filed under the wrong 4-tuple")
            if not (sq.le(conn.snd_una, conn.snd_nxt) and sq.le(conn.snd_nxt, conn.snd_max)):
                raise Finding(
                    f"{conn!r} in {state}: snd_una {conn.snd_una} snd_nxt {conn.snd_nxt} "
                    f"snd_max {conn.snd_max} out of order"
                )
            if host.state_of(conn) is not state:
                raise Finding(f"state_of({conn!r}) is {host.state_of(conn)}, not {state}")
        for port, listener in host.listeners.items():
            queued = len(listener.syn_queue) + len(listener.accept_queue)
            if queued > listener.backlog:
                raise Finding(f"listener {port}: {queued} queued, backlog {listener.backlog}")
            for conn in listener.syn_queue:
                if conn.remote is None or host.state_of(conn) is State.CLOSED:
                    raise Finding(f"listener {port} keeps a closed connection {conn!r}")
        # the Host's private tables, for memory that nothing else would see grow
        for key, conn in conns.items():
            pair = conn.packed_addresses
            if pair is None or key != pair[0] + pair[1] + key[-4:]:
                raise Finding(f"{conn!r} is in the table without its packed addresses")
        # the TIME-WAIT table's slots and expiry FIFO stay within their bounds
        time_wait = getattr(host, "_time_wait", None)
        tables = getattr(time_wait, "_tables", {})
        if sum(slots.live for slots in tables.values()) != host.time_wait_count:
            raise Finding(f"TIME-WAIT tables disagree with the count {host.time_wait_count}")
        for slots in tables.values():
            if 4 * slots.used > 3 * slots.capacity:
                raise Finding(f"TIME-WAIT table {slots.used} of {slots.capacity} slots used")
            queued = sum(len(queue.slots) - queue.head for queue in slots.queues)
            if queued != slots.entries or queued > 2 * slots.capacity + 64:
                raise Finding(f"TIME-WAIT queues of {queued} entries for {slots.live} records")
        no_df = getattr(host, "_no_df", ())
        if len(no_df) > len(conns):
            raise Finding(f"{len(no_df)} connections without DF for {len(conns)} connections")
        heap = getattr(host, "_heap", ())
        stats.max_connections = max(stats.max_connections, len(conns))
        stats.max_time_wait = max(stats.max_time_wait, host.time_wait_count)
        stats.max_timer_heap = max(stats.max_timer_heap, len(heap))
        stats.max_wire = max(stats.max_wire, len(self.wire))


# -- the target ----------------------------------------------------------------------


class Harness:
    """The world, the target function, and what a run has seen so far."""

    def __init__(self, epoch: int = 2000, findings_dir: Path | None = None) -> None:
        self.epoch = epoch
        self.findings_dir = findings_dir
        self.stats = Stats()
        self.features: set[tuple[object, ...]] = set()
        self.history: list[bytes] = []  # inputs since the world was built
        self.failures: list[str] = []
        self.world = World()
        self._new = 0

    # -- epochs ----------------------------------------------------------------------
    def new_epoch(self, check: bool = True) -> None:
        if check:
            self.stats.bystander_bytes += self.world.check_bystanders()
            self.stats.bystander_checks += 1
        self.stats.epochs += 1
        self.world = World()
        self.history = []

    def finish(self) -> None:
        """The end of a run: the bystanders must still carry data, byte-exact."""
        try:
            self.stats.bystander_bytes += self.world.check_bystanders()
            self.stats.bystander_checks += 1
        except Exception as exc:
            self.record(exc, b"")
            raise

    # -- findings --------------------------------------------------------------------
    def record(self, exc: BaseException, data: bytes) -> str:
        self.stats.findings += 1
        text = "".join(traceback.format_exception(exc))
        self.failures.append(text)
        if self.findings_dir is not None:
            self.findings_dir.mkdir(parents=True, exist_ok=True)
            name = f"finding-{os.getpid()}-{self.stats.findings}"
            write_history(self.findings_dir / f"{name}.bin", [*self.history, data])
            (self.findings_dir / f"{name}.txt").write_text(text)
        return text

    # -- one input -------------------------------------------------------------------
    def one_input(self, data: bytes, raise_findings: bool = False) -> int:
        """Run one input; the number of new features it reached (for the mutate engine).

        An exception escaping the Host, or a Finding, is recorded (and re-raised
        with ``raise_findings``); the world is then built again.
        """
        self.stats.inputs += 1
        self._new = 0
        try:
            self._run(data)
            self.world.check_invariants(self.stats)
        except Exception as exc:
            self.record(exc, data)
            self.history = []
            self.world = World()
            if raise_findings:
                raise
            return 0
        self.history.append(data)
        if len(self.history) >= self.epoch:
            try:
                self.new_epoch()
            except Exception as exc:
                self.record(exc, b"")
                self.history = []
                self.world = World()
                if raise_findings:
                    raise
        return self._new

    def _feature(self, *key: object) -> None:
        if key not in self.features:
            self.features.add(key)
            self._new += 1

    def _run(self, data: bytes) -> None:
        world = self.world
        r = Reader(data)
        header = r.u8()
        ops = 0
        while r.more() and ops < MAX_OPS:
            ops += 1
            op = r.u8() & 15
            world.now += 0.0005
            if op in OP_PACKET:
                self._packet(r, op, mutate=False)
            elif op == OP_MUTATED:
                self._packet(r, op, mutate=True)
            elif op == OP_RAW:
                self._raw(r)
            elif op == OP_TIMER:
                self._timer(r)
            elif op == OP_WIRE:
                self._wire(r)
            elif op == OP_HOST_CALL:
                self._call(r, host_side=True)
            elif op == OP_PEER_CALL:
                self._call(r, host_side=False)
            elif op == OP_OPEN:
                self._open(r)
            elif op == OP_PUMP:
                if not world.pump(r.u8() % 16 + 1):
                    self.stats.pump_limit_hits += 1  # bounded on purpose: not a finding
            else:
                self._train(r)
            world.settle()
        self.stats.ops += ops
        if header & 1:
            world.pump(4)
        if header & 2:  # the applications read what has arrived
            for conn in [*world.host.connections.values(), *world.peer.connections.values()]:
                if conn.remote is not None and conn.remote[0] != BYSTANDER:
                    with contextlib.suppress(TcpError):  # nothing to read after a FIN
                        conn.receive()
            world.settle()
        world.replenish()
        if self.stats.inputs % 8 == 0:
            world.exchange_bystanders(1600)

    # -- operations ------------------------------------------------------------------
    def _aim(self, r: Reader) -> tuple[bytes, bytes, int, int, Connection | None]:
        """A 4-tuple to send to: a connection of the Host's (live, closed or in
        TIME-WAIT) or a listener, from the peer or the ghost."""
        known = self.world.known
        choice = r.u8()
        n = len(known)
        if n and 200 <= choice < 232:  # a TIME-WAIT record
            host = self.world.host
            records = [c for c in known if c.state is State.TIME_WAIT]
            records = [c for c in records if host.state_of(c) is State.TIME_WAIT]
            if records:
                conn = records[r.u8() % len(records)]
                remote = conn.remote
                assert remote is not None
                return remote[0].packed, conn.local[0].packed, remote[1], conn.local[1], conn
        if n and choice < 200:
            conn = list(known)[choice % n]
            remote = conn.remote
            assert remote is not None
            return remote[0].packed, conn.local[0].packed, remote[1], conn.local[1], conn
        src4, src6 = (PEER4, PEER6) if choice & 1 else (GHOST4, GHOST6)
        v6 = choice & 2
        src, dst = (src6, HOST6) if v6 else (src4, HOST4)
        dport = (PORT_FULL, PORT_PLAIN, PORT_CLOSED, PORT_BYSTANDER)[(choice >> 2) & 3]
        sport = 1024 + r.u8() % 64
        return src.packed, dst.packed, sport, dport, None

    def _seq(self, r: Reader, conn: Connection | None) -> int:
        mode = r.u8() & 7
        if conn is None or mode == 4:
            return r.u32()
        base = conn.rcv_nxt
        if mode == 0:
            return base
        if mode == 1:
            return base + r.s8()
        if mode == 2:
            return base + max(conn.rcv_adv - base, 0) + r.s8()  # the right edge
        if mode == 3:
            return base - r.u16()
        if mode == 5:
            return base + (1 << 31) + r.s8()
        if mode == 6:
            return conn.irs + r.s8()
        return base + r.s16()

    def _ack(self, r: Reader, conn: Connection | None) -> int:
        mode = r.u8() & 7
        if conn is None or mode == 7:
            return r.u32()
        if mode == 0:
            return conn.snd_nxt
        if mode == 1:
            return conn.snd_una + r.s8()
        if mode == 2:
            return conn.snd_max + r.s8()
        if mode == 3:
            return conn.snd_una + r.u16() % max(sq.sub(conn.snd_max, conn.snd_una) + 1, 1)
        if mode == 4:
            return conn.snd_una - conn.max_snd_wnd - r.u8()
        if mode == 5:
            return conn.iss + r.s8()
        return conn.snd_una

    def _options(self, r: Reader, conn: Connection | None) -> bytes:
        out = bytearray()
        count = r.u8() % 6
        for _ in range(count):
            kind = r.u8()
            pick = kind % 12
            if pick == 0:
                out.append(0)  # EOL
            elif pick == 1:
                out.append(1)  # NOP
            elif pick == 2:
                out += b"\x02\x04" + struct.pack("!H", r.u16())
            elif pick == 3:
                out += bytes((3, 3, r.u8() % 20))
            elif pick == 4:
                out += b"\x04\x02"
            elif pick == 5:
                blocks = r.u8() % 5
                out += bytes((5, 2 + 8 * blocks))
                una = conn.snd_una if conn is not None else r.u32()
                for _ in range(blocks):
                    left = una + r.s16() * 64
                    out += struct.pack("!II", left & sq.MASK, (left + r.u16()) & sq.MASK)
            elif pick in (6, 7):
                recent = conn.ts_recent if conn is not None else 0
                val = (recent + r.s16()) & sq.MASK if pick == 6 else r.u32()
                ecr = r.u32()
                if conn is not None and pick == 6:
                    ecr = (conn.ts_clock(self.world.now) - r.u8()) & sq.MASK
                out += b"\x08\x0a" + struct.pack("!II", val, ecr)
            elif pick == 8:  # a known kind with a bad length
                bad = r.u8()
                out += bytes((r.u8() % 9, bad % 12)) + r.take(bad % 6)
            elif pick == 9:  # an unknown kind (6, 7: the obsolete echo options; 30: MPTCP)
                body = r.take(r.u8() % 8)
                out += bytes(((6, 7, 30, 34, 254)[r.u8() % 5], 2 + len(body))) + body
            elif pick == 10:
                out += r.take(r.u8() % 12)  # raw bytes
            else:
                out += b"\x01\x01\x08\x0a" + struct.pack("!II", r.u32(), r.u32())
        return bytes(out[:40])

    def _payload(self, r: Reader) -> bytes:
        mode = r.u8() & 7
        if mode < 3:
            return b""
        if mode == 3:
            return r.take(r.u8() % 32)
        if mode == 4:
            n = r.u16() % 4000
        elif mode == 5:
            n = (536, 1220, 1448, 1460, 1)[r.u8() % 5]
        else:
            n = r.u8()
        return bytes((r.u8(),)) * n

    def _build_packet(self, r: Reader) -> tuple[bytes, Connection | None, int]:
        src, dst, sport, dport, conn = self._aim(r)
        sel = r.u8()
        flags = COMMON_FLAGS[sel % len(COMMON_FLAGS)] if sel < 200 else r.u8()
        seq = self._seq(r, conn)
        ack = self._ack(r, conn)
        wmode = r.u8() & 3
        window = (0, 65535, r.u16(), 1 + r.u8())[wmode]
        urgent = r.u16() if flags & 0x20 or r.u8() & 1 else 0
        options = self._options(r, conn)
        payload = self._payload(r)
        tweak = r.u8()
        offset = r.u8() & 15 if tweak & 0x0F == 0 else None
        reserved = r.u8() & 15 if tweak & 0x0F == 1 else 0
        tcp = tcp_bytes(
            src, dst, sport, dport, seq, ack, flags, window, urgent, options, payload,
            offset, reserved,
        )  # fmt: skip
        if tweak & 0xF0 == 0x10:  # a bad TCP checksum
            tcp = tcp[:16] + bytes((tcp[16] ^ 0x55, tcp[17])) + tcp[18:]
        pkt = ip_packet(src, dst, tcp, ecn=(tweak >> 6) if tweak & 0x30 == 0x20 else 0)
        return pkt, conn, flags

    def _inject(self, pkt: bytes, conn: Connection | None, flags: int, op: int) -> None:
        world = self.world
        host = world.host
        if self._is_bystander(pkt):
            return
        before = host.state_of(conn) if conn is not None else None
        drops = conn.stats.dropped if conn is not None else 0
        malformed = host.stats.malformed
        self.stats.packets_injected += 1
        host.receive_packet(pkt, world.now)
        if conn is not None:
            after = host.state_of(conn)
            self._feature(op, before, flags & 0x3F, after)
            if conn.stats.dropped != drops and conn.stats.dropped_reasons:
                for reason in conn.stats.dropped_reasons:
                    self._feature("drop", before, reason)
        if host.stats.malformed != malformed:
            for reason in host.stats.malformed_reasons:
                self._feature("malformed", reason)

    def _is_bystander(self, pkt: bytes) -> bool:
        tup = four_tuple(pkt)
        if tup is None:
            return False
        src, _, sport, dport = tup
        return src == BYSTANDER.packed and (sport, dport) in self.world.bystander_ports

    def _packet(self, r: Reader, op: int, mutate: bool) -> None:
        pkt, conn, flags = self._build_packet(r)
        if mutate:
            buf = bytearray(pkt)
            for _ in range(r.u8() % 4 + 1):
                kind = r.u8()
                pos = r.u16() % (len(buf) + 1)
                if kind & 3 == 0 and pos < len(buf):
                    buf[pos] ^= 1 << (kind >> 5)
                elif kind & 3 == 1:
                    del buf[pos:]
                elif kind & 3 == 2:
                    buf[pos:pos] = r.take(r.u8() % 8)
                elif pos < len(buf):
                    buf[pos] = r.u8()
            pkt = bytes(buf)
            if kind & 0x10 == 0:
                pkt = fix_checksums(pkt)
            op = OP_MUTATED
        self._inject(pkt, conn, flags, op)

    def _raw(self, r: Reader) -> None:
        mode = r.u8()
        if mode & 0x70 == 0x10:
            self._icmp(r)
            return
        body = r.take(r.u8() % 120)
        if mode & 3 == 0:
            pkt = body
        else:
            # raw TCP bytes behind a valid IP header, to the Host
            src = (PEER4, GHOST4, BYSTANDER, PEER6)[(mode >> 2) & 3]
            dst = HOST6 if src.version == 6 else HOST4
            pkt = ip_packet(src.packed, dst.packed, body)
        if mode & 0x80:
            pkt = fix_checksums(pkt)
        self._inject(pkt, None, 0, OP_RAW)

    def _icmp(self, r: Reader) -> None:
        """An ICMP error from a router, quoting a segment the Host might have sent
        on an aimed 4-tuple (docs/icmp.md): any type and code, a sequence number
        near the connection's own, an MTU near the usual ones, a short or long
        quote, sometimes a bad checksum."""
        peer, us, rport, lport, conn = self._aim(r)
        sel = r.u8()
        if conn is not None and sel < 192:
            base = (conn.snd_una, conn.snd_max, conn.snd_nxt, conn.iss)[sel & 3]
            seq = (base + r.s8()) & sq.MASK
        else:
            seq = r.u32()
        quoted = ip_packet(
            us, peer, tcp_bytes(us, peer, lport, rport, seq, 0, 0x18, 512, 0, b"", r.take(r.u8()))
        )
        v6 = len(us) == 16
        kinds = ICMP6_KINDS if v6 else ICMP4_KINDS
        pick = r.u8()
        icmp_type, code = kinds[pick % len(kinds)] if pick < 240 else (r.u8(), r.u8())
        mtu = (0, 68, 300, 552, 576, 1000, 1280, 1400, 1500, 9000)[r.u8() % 10]
        mtu = mtu if r.u8() & 1 else r.u16()
        tweak = r.u8()
        quote = (None, 28, 48, 27, 60)[tweak % 5] if tweak & 0x80 else None
        checksum = 0xBEEF if tweak & 0x40 else None
        reporter = PEER6 if v6 else (ROUTER4 if tweak & 0x20 else PEER4)
        pkt = icmp_error(quoted, icmp_type, code, mtu, reporter, quote, checksum)
        host = self.world.host
        counts = (host.stats.icmp_delivered, host.stats.icmp_ignored)
        before = conn.stats.pmtu_changes if conn is not None else 0
        self._inject(pkt, conn, 0, OP_RAW)
        delivered = host.stats.icmp_delivered != counts[0]
        ignored = host.stats.icmp_ignored != counts[1]
        self._feature("icmp", v6, pick % len(kinds) if pick < 240 else -1, delivered, ignored)
        if conn is not None:
            self._feature("icmp-pmtu", conn.stats.pmtu_changes != before, conn.state)

    def _timer(self, r: Reader) -> None:
        world = self.world
        mode = r.u8()
        if mode & 3 == 0:
            deadline = world.host.get_timer()
            world.advance(deadline if deadline is not None else world.now)
        elif mode & 3 == 1:
            world.advance(world.now + r.u8() / 1000)
        elif mode & 3 == 2:
            world.advance(world.now + r.u8() / 10)
        else:
            deadline = world.next_deadline()
            world.advance(deadline if deadline is not None else world.now + 1)
        self._feature("timer", mode & 3, len(world.host.connections) > 0)

    def _wire(self, r: Reader) -> None:
        world = self.world
        wire = world.wire
        mode = r.u8() & 7
        n = r.u8() % 8 + 1
        if not wire:
            return
        if mode <= 2:  # deliver the first n
            batch, world.wire = wire[:n], wire[n:]
            for pkt in batch:
                world.deliver(pkt)
        elif mode == 3:  # lose the first n
            del wire[:n]
        elif mode == 4:  # deliver one out of order
            world.deliver(wire.pop(r.u8() % len(wire)))
        elif mode == 5:  # duplicate the first
            world.deliver(wire[0])
        elif mode == 6:  # reverse the first n
            wire[:n] = wire[:n][::-1]
        else:  # lose one
            wire.pop(r.u8() % len(wire))

    def _call(self, r: Reader, host_side: bool) -> None:
        world = self.world
        table = world.host.connections if host_side else world.peer.connections
        conns = [c for c in table.values() if c.remote is not None and c.remote[0] != BYSTANDER]
        what = r.u8()
        if not conns:
            return
        conn = conns[r.u8() % len(conns)]
        now = world.now
        try:
            call = what % 8
            if call <= 2:
                conn.send(bytes((what,)) * (r.u16() % 20000))
            elif call == 3:
                conn.receive(r.u16())
            elif call == 4:
                if host_side and conn.state is State.SYN_SENT:
                    world.closed_in_syn_sent.add(conn)
                conn.close(now)
            elif call == 5:
                conn.shutdown_write(now)
            elif call == 6 and what & 0x80:
                conn.abort(now)
            else:
                conn.peek(r.u8())
        except TcpError:
            pass  # misuse of the API (sending after close...): the user's error, not a finding
        self._feature("call", host_side, call, conn.state)

    def _open(self, r: Reader) -> None:
        world = self.world
        mode = r.u8() & 7
        try:
            if mode <= 2:
                port = (PORT_FULL, PORT_PLAIN, PORT_CLOSED)[mode]
                world.peer.connect((HOST4, port), world.now)
            elif mode == 3:
                world.peer.connect((HOST6, PORT_FULL), world.now)
            elif mode == 4:
                world.host.connect((PEER4, PEER_PORT), world.now)
            elif mode == 5:
                world.host.connect((GHOST4, PEER_PORT), world.now)  # SYN-SENT for ever
            else:
                src = GHOST4 if mode == 6 else GHOST6
                dst = HOST4 if mode == 6 else HOST6
                world.inject_syn(src.packed, dst.packed, 3000 + r.u8(), PORT_FULL)
        except TcpError:
            pass  # out of ports or already there

    def _train(self, r: Reader) -> None:
        """Several data segments on one connection, from an offset, in any order."""
        src, dst, sport, dport, conn = self._aim(r)
        if conn is None:
            return
        count = r.u8() % 6 + 1
        size = (1, 100, 536, 1448)[r.u8() & 3]
        start = conn.rcv_nxt + r.s8() * 64
        order = list(range(count))
        if r.u8() & 1:
            order.reverse()
        flags = 0x18 if r.u8() & 1 else 0x10
        for i in order:
            tcp = tcp_bytes(
                src, dst, sport, dport, start + i * size, conn.snd_una, flags, 65535, 0,
                b"", b"t" * size,
            )  # fmt: skip
            self._inject(ip_packet(src, dst, tcp), conn, flags, OP_TRAIN)


# -- histories (inputs since the world was built), for findings ----------------------


def write_history(path: Path, inputs: list[bytes]) -> None:
    out = bytearray()
    for data in inputs:
        out += struct.pack("!I", len(data)) + data
    path.write_bytes(bytes(out))


def read_history(path: Path) -> list[bytes]:
    raw = path.read_bytes()
    inputs, pos = [], 0
    while pos + 4 <= len(raw):
        (n,) = struct.unpack_from("!I", raw, pos)
        inputs.append(raw[pos + 4 : pos + 4 + n])
        pos += 4 + n
    return inputs


def replay(inputs: Iterable[bytes], epoch: int = 10**9) -> Harness:
    """Run ``inputs`` on a fresh world; findings are raised, not recorded."""
    harness = Harness(epoch=epoch)
    for data in inputs:
        harness.one_input(data, raise_findings=True)
    harness.finish()
    return harness


# -- seed corpus ---------------------------------------------------------------------


def seed_corpus() -> list[bytes]:
    """Valid, aimed inputs: one per kind of operation and per known connection."""
    seeds: list[bytes] = []
    for aim in range(24):
        for flags_sel in (0, 1, 2, 4, 6, 9, 10, 17):  # ACK, PA, S, F., R, FPA...
            for seq_mode, ack_mode in ((0, 0), (1, 1), (2, 2), (3, 6), (5, 4), (6, 5)):
                seeds.append(
                    bytes(
                        [1, 0, aim, flags_sel, seq_mode, 3, ack_mode, 5, 1, 0, 1, 1,
                         8, 0, 0, 0, 5, 3, 0x20, 0x55, 0x30]
                    )
                )  # fmt: skip
        # options: SACK blocks, timestamps, a bad length
        seeds.append(bytes([0, 0, aim, 0, 0, 0, 1, 1, 5, 5, 2, 0, 1, 0, 16, 6, 0, 3, 8, 9, 7, 7]))
        seeds.append(bytes([0, 1, aim, 1, 1, 1, 0, 1, 0, 0, 2, 8, 9, 1, 0, 4, 0, 0, 0x20, 3, 16]))
        seeds.append(bytes([3, 15, aim, 3, 2, 1, 0, 15, aim, 4, 0, 1, 1]))  # trains
    seeds += [
        bytes([0, OP_TIMER, 0, OP_TIMER, 3, OP_TIMER, 2, 255, OP_PUMP, 8]),
        bytes([1, OP_WIRE, 3, 3, OP_WIRE, 4, 1, 2, OP_WIRE, 6, 5, OP_WIRE, 5, 0]),
        bytes([2, OP_HOST_CALL, 0, 0, 0x40, 0, OP_HOST_CALL, 4, 1, OP_PEER_CALL, 5, 2]),
        bytes([1, OP_OPEN, 0, OP_OPEN, 3, OP_OPEN, 4, OP_OPEN, 6, 7, OP_PUMP, 4]),
        bytes([0, OP_RAW, 0, 40]) + bytes(40),
        # ICMP errors quoting live connections: fragmentation needed, unreachable
        *(
            bytes(
                [0, OP_RAW, 0x10, aim, 1, 0, 0, 4, 5, 1, 0, OP_RAW, 0x10, aim, 0, 0, 0, 1, 0, 1, 0]
            )
            for aim in range(12)
        ),
        bytes([0, OP_RAW, 0x81, 20]) + bytes([0x04, 0x00, 0x00, 0x50]) + bytes(16),
        bytes([0, OP_MUTATED, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 40, 0x41]),
    ]
    return seeds


# -- engines ---------------------------------------------------------------------------

INTERESTING = (0, 1, 2, 3, 4, 5, 7, 8, 15, 16, 0x7F, 0x80, 0xC8, 0xFF)


def mutate(data: bytes, rng: random.Random, corpus: list[bytes]) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 5)):
        kind = rng.randrange(7)
        if kind == 0 and buf:
            buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
        elif kind == 1 and buf:
            buf[rng.randrange(len(buf))] = rng.choice(INTERESTING)
        elif kind == 2 and buf:
            buf[rng.randrange(len(buf))] = rng.randrange(256)
        elif kind == 3:
            i = rng.randint(0, len(buf))
            buf[i:i] = rng.randbytes(rng.randint(1, 8))
        elif kind == 4 and len(buf) > 2:
            i = rng.randrange(len(buf))
            del buf[i : i + rng.randint(1, 8)]
        elif kind == 5:  # splice: append part of another input (more operations)
            other = rng.choice(corpus)
            buf += other[rng.randrange(len(other)) :] if other else b""
        elif buf:  # repeat a chunk
            i = rng.randrange(len(buf))
            buf += buf[i : i + rng.randint(1, 24)]
    return bytes(buf[:1024])


@dataclass
class RunResult:
    inputs: int
    seconds: float
    stats: Stats
    corpus: int
    features: int
    failures: list[str]

    @property
    def rate(self) -> float:
        return self.inputs / self.seconds if self.seconds else 0.0


def run_mutate(
    inputs: int,
    seed: int = 0,
    epoch: int = 2000,
    corpus_dir: Path | None = None,
    findings_dir: Path | None = None,
    progress: Callable[[Harness, float], None] | None = None,
    progress_every: int = 50_000,
) -> RunResult:
    """The pure-Python engine: mutate a corpus, keep what reaches new features."""
    rng = random.Random(seed)
    harness = Harness(epoch=epoch, findings_dir=findings_dir)
    corpus = seed_corpus()
    if corpus_dir is not None and corpus_dir.is_dir():
        corpus += [p.read_bytes() for p in sorted(corpus_dir.iterdir()) if p.is_file()]
    start = time.perf_counter()
    queue = iter(list(corpus))  # every seed once first
    saved = 0
    for i in range(inputs):
        data = next(queue, None)
        if data is None:
            if rng.random() < 0.05:
                data = rng.randbytes(rng.randint(1, 200))
            else:
                data = mutate(rng.choice(corpus), rng, corpus)
        if harness.one_input(data) and len(corpus) < 20_000:
            corpus.append(data)
            if corpus_dir is not None:
                corpus_dir.mkdir(parents=True, exist_ok=True)
                (corpus_dir / f"m{seed}-{saved:06d}").write_bytes(data)
                saved += 1
        if progress is not None and (i + 1) % progress_every == 0:
            progress(harness, time.perf_counter() - start)
    with contextlib.suppress(Exception):  # recorded as a finding
        harness.finish()
    seconds = time.perf_counter() - start
    return RunResult(
        inputs, seconds, harness.stats, len(corpus), len(harness.features), harness.failures
    )


def iter_corpus(paths: Iterable[Path]) -> Iterator[bytes]:
    for path in paths:
        if path.is_dir():
            for p in sorted(path.iterdir()):
                if p.is_file():
                    yield p.read_bytes()
        else:
            yield path.read_bytes()


def _print_stats(harness: Harness, seconds: float) -> None:
    s = harness.stats
    print(
        f"{s.inputs} inputs in {seconds:.0f} s ({s.inputs / max(seconds, 1e-9):.0f}/s), "
        f"{s.packets_injected} packets, {s.findings} findings, {len(harness.features)} "
        f"features, {s.epochs} epochs, {s.bystander_checks} bystander checks, "
        f"max connections {s.max_connections}, max TIME-WAIT {s.max_time_wait}, "
        f"max timer heap {s.max_timer_heap}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=("mutate", "atheris"), default="mutate")
    parser.add_argument("--inputs", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epoch", type=int, default=2000, help="inputs between world rebuilds")
    parser.add_argument("--corpus", type=Path, help="corpus directory (read and extended)")
    parser.add_argument("--findings", type=Path, default=Path("fuzz-findings"))
    parser.add_argument("--replay", type=Path, nargs="+", help="finding histories to replay")
    parser.add_argument(
        "--run-corpus", type=Path, nargs="+", help="run every input of these files or dirs once"
    )
    parser.add_argument("--write-seeds", type=Path, help="write the seed corpus here and stop")
    parser.add_argument("--max-len", type=int, default=1024, help="atheris: -max_len")
    args, rest = parser.parse_known_args(argv)

    if args.write_seeds is not None:
        args.write_seeds.mkdir(parents=True, exist_ok=True)
        for i, data in enumerate(seed_corpus()):
            (args.write_seeds / f"seed-{i:04d}").write_bytes(data)
        return 0
    if args.replay:
        for path in args.replay:
            replay(read_history(path))
            print(f"{path}: no finding")
        return 0
    if args.run_corpus:
        harness = Harness(epoch=args.epoch, findings_dir=args.findings)
        start = time.perf_counter()
        for data in iter_corpus(args.run_corpus):
            harness.one_input(data)
        harness.finish()
        _print_stats(harness, time.perf_counter() - start)
        return 1 if harness.stats.findings else 0
    if args.engine == "mutate":
        result = run_mutate(
            args.inputs, args.seed, args.epoch, args.corpus, args.findings, _print_stats
        )
        print(
            f"done: {result.inputs} inputs in {result.seconds:.1f} s ({result.rate:.0f}/s), "
            f"{result.stats.findings} findings, bystanders byte-exact in "
            f"{result.stats.bystander_checks} checks ({result.stats.bystander_bytes} bytes), "
            f"corpus {result.corpus}, features {result.features}"
        )
        for text in result.failures[:5]:
            print(text)
        return 1 if result.stats.findings else 0
    return _run_atheris(args, rest)


def _run_atheris(args: argparse.Namespace, rest: list[str]) -> int:
    import atheris  # the fuzz extra

    harness = Harness(epoch=args.epoch, findings_dir=args.findings)
    start = time.perf_counter()

    def target(data: bytes) -> None:
        harness.one_input(data, raise_findings=True)
        inputs = harness.stats.inputs
        if inputs % 50_000 == 0 or inputs == args.inputs:
            _print_stats(harness, time.perf_counter() - start)
        if inputs == args.inputs:
            # libFuzzer ends the process with exit(): Python's atexit never runs,
            # so the last input does the end-of-run check.
            harness.finish()
            print(
                f"done: {inputs} inputs, {harness.stats.findings} findings, bystanders "
                f"byte-exact in {harness.stats.bystander_checks} checks "
                f"({harness.stats.bystander_bytes} bytes)",
                flush=True,
            )

    libfuzzer = [sys.argv[0], f"-runs={args.inputs}", f"-seed={args.seed or 1}"]
    libfuzzer.append(f"-max_len={args.max_len}")
    if args.corpus is not None:
        if not args.corpus.is_dir() or not any(args.corpus.iterdir()):
            args.corpus.mkdir(parents=True, exist_ok=True)
            for i, data in enumerate(seed_corpus()):
                (args.corpus / f"seed-{i:04d}").write_bytes(data)
        libfuzzer.append(str(args.corpus))
    atheris.Setup(libfuzzer + rest, target)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    if "--engine=atheris" in sys.argv or (
        "--engine" in sys.argv and sys.argv[sys.argv.index("--engine") + 1] == "atheris"
    ):
        import atheris

        # Instrument synack (not the harness) for libFuzzer's edge coverage: it must
        # happen before synack is imported, so the harness imports again under it.
        for name in [m for m in sys.modules if m == "synack" or m.startswith("synack.")]:
            del sys.modules[name]
        with atheris.instrument_imports(include=["synack"]):
            import synack.host  # noqa: F401
        sys.modules.pop("host_fuzz", None)
        sys.path.insert(0, str(Path(__file__).parent))
        import host_fuzz

        sys.exit(host_fuzz.main())
    sys.exit(main())
