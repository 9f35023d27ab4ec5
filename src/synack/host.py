"""A host: many connections behind one or more IP addresses.

The Host has the engine's sans-I/O shape one level up: IP packets (bytes)
come in through ``receive_packet`` and go out through ``packets_to_send``,
and ``get_timer``/``handle_timer`` cover every connection with one deadline.
A driver that moves segments between Hosts in memory skips the codec with
``segments_to_send`` and ``receive_segment``.
It demultiplexes by 4-tuple, runs listeners with a SYN queue and an accept
queue bounded by the backlog, picks ephemeral ports per RFC 6056, answers
strays with RST (RFC 9293 3.10.7.1), and keeps connections in TIME-WAIT as
compact packed records.

Against a SYN flood (RFC 4987) a listener's half-open entries are bounded in
number (the backlog) and in lifetime (``half_open_lifetime``), and SYN
cookies (RFC 4987 3.6, ``tcp/syncookies.py``) answer SYNs without keeping
anything: ``syn_cookies`` is "never", "on-overflow" (when the SYN queue is
full) or "always", as Linux's net.ipv4.tcp_syncookies 0, 1 and 2.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import os
import struct
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from heapq import heappush
from ipaddress import IPv4Address, IPv6Address
from typing import Final

from synack.tcp import errors as err
from synack.tcp.config import TcpConfig, shared_copy
from synack.tcp.connection import Connection, reset_for
from synack.tcp.events import Connected, Event
from synack.tcp.fastopen import CookieCache, CookieJar, FastOpenState
from synack.tcp.isn import IsnSource, Rfc6528Isn, address_text
from synack.tcp.options import agree, syn_options
from synack.tcp.state import State
from synack.tcp.syncookies import (
    NO_OPTIONS,
    CookieOptions,
    SynCookies,
    decode_timestamp,
    encode_timestamp,
    mss_index,
    mss_table,
)
from synack.tcp.timewait import TimeWait, TimeWaitAction, rst_in_time_wait
from synack.tcp.tracer import Tracer
from synack.timewait_table import TimeWaitTable
from synack.wire import seq as sq
from synack.wire.errors import MalformedPacket
from synack.wire.icmp import parse_icmp_packet
from synack.wire.ip import (
    IPAddress,
    address_from_packed,
    encode_packed,
    parse_address,
    parse_tcp_packet,
)
from synack.wire.segment import (
    ACK,
    CWR,
    ECE,
    RST,
    SACK_PERMITTED,
    SYN,
    MaxSegmentSize,
    Option,
    Segment,
    Timestamps,
    WindowScale,
)
from synack.wire.seq import MASK

Endpoint = tuple[IPAddress, int]
# Connections and TIME-WAIT records are both found by the packed 4-tuple:
# local address, remote address, local port, remote port. Bytes hash in C
# and cache their hash, which matters on the per-packet path.
Key = bytes
# A segment on its way, with packed source and destination addresses (4 or 16 bytes).
Outgoing = tuple[bytes, bytes, Segment]
_CLOSED: Final = State.CLOSED
_LISTEN: Final = State.LISTEN
_TIME_WAIT: Final = State.TIME_WAIT

# A TIME-WAIT record is packed into a slot of a TimeWaitTable (timewait_table.py)
# so a host can hold a million: snd_nxt, rcv_nxt, ts_recent, ts_offset, window,
# flags (1: timestamps on), config index; the table keeps the key and the expiry.
_TW_RECORD: Final = struct.Struct("!IIIIHBH")
_TW_CONFIGS_MAX: Final = 1 << 16  # distinct configs a host's records can name
_TW_TIMESTAMPS: Final = 1
_PORTS: Final = struct.Struct("!HH")


def _key(local: Endpoint, remote: Endpoint) -> Key:
    return _packed_key(local[0].packed + remote[0].packed, local[1], remote[1])


def _packed_key(addresses: bytes, local_port: int, remote_port: int) -> Key:
    """A connection's key: its local and remote addresses packed, then the ports."""
    return addresses + _PORTS.pack(local_port, remote_port)


def _ports_of(key: Key) -> tuple[int, int]:
    """Local and remote port of a key."""
    return _PORTS.unpack_from(key, len(key) - 4)


@dataclass(frozen=True, slots=True)
class HostEvent:
    """An engine event, with the connection it happened on."""

    connection: Connection
    event: Event

    # The dataclass's own __init__, written out: the compiled build runs a
    # generated __init__ as interpreted code (docs/compiled.md).
    def __init__(self, connection: Connection, event: Event) -> None:
        object.__setattr__(self, "connection", connection)
        object.__setattr__(self, "event", event)


@dataclass(slots=True)
class HostStats:
    packets_received: int = 0
    packets_sent: int = 0
    malformed: int = 0
    malformed_reasons: dict[str, int] = field(default_factory=dict)
    not_for_us: int = 0
    resets_sent: int = 0
    syns_dropped_backlog: int = 0
    # SYNs to a listener from its own address and port: forged (a LAND attack,
    # whose SYN,ACK would come back to the connection it came from, ACK after ACK)
    syns_from_self: int = 0
    time_wait_collapsed: int = 0
    # SYN cookies (RFC 4987 3.6): SYN,ACKs sent with a cookie, ACKs whose cookie
    # checked out (a connection each) and ACKs to a listener whose cookie did not
    syn_cookies_sent: int = 0
    syn_cookies_validated: int = 0
    syn_cookies_failed: int = 0
    # validated cookies and handshakes dropped because the accept queue was full
    accept_queue_overflows: int = 0
    # half-open entries dropped after ``half_open_lifetime`` in SYN-RECEIVED
    half_open_expired: int = 0
    # TCP Fast Open (RFC 7413) at listeners: SYNs taken as Fast Open (in the
    # accept queue before the handshake completes), and Fast Open SYNs handled
    # the ordinary way because the listener's Fast Open queue was full
    fastopen_accepted: int = 0
    fastopen_queue_full: int = 0
    # ICMP and ICMPv6 packets: all that parsed; errors handed to the connection
    # whose segment they quote; the rest (no such connection, not about TCP,
    # not an error). Malformed ones (a bad ICMP checksum...) count as malformed.
    icmp_received: int = 0
    icmp_delivered: int = 0
    icmp_ignored: int = 0


SYN_COOKIE_MODES: Final = ("never", "on-overflow", "always")
# A half-open entry lives this long at most: Linux gives up a SYN,ACK after
# its fifth retransmission, 1 + 2 + 4 + 8 + 16 + 32 = 63 s after the first.
HALF_OPEN_LIFETIME: Final = 63.0


class Listener:
    """A passive OPEN on a port: a SYN queue and an accept queue, bounded by ``backlog``.

    The SYN queue maps each half-open connection to when it expires, in the
    order they came (so the oldest is first).
    """

    __slots__ = (
        "accept_queue", "address", "backlog", "config", "port", "syn_queue",
        "fastopen", "fastopen_cookies", "fastopen_pending",
    )  # fmt: skip

    def __init__(
        self, port: int, backlog: int, config: TcpConfig, address: IPAddress | None
    ) -> None:
        self.port = port
        self.backlog = backlog
        self.config = config
        self.address = address  # None: every address of the host
        self.syn_queue: dict[Connection, float] = {}
        self.accept_queue: deque[Connection] = deque()
        # TCP Fast Open (RFC 7413): at most this many Fast Open connections
        # still in SYN-RECEIVED (Linux's TCP_FASTOPEN queue length); 0: off.
        # Its own cookie keys (TCP_FASTOPEN_KEY on the listener), else the Host's.
        self.fastopen = 0
        self.fastopen_cookies: CookieJar | None = None
        self.fastopen_pending: dict[Connection, None] = {}

    def fastopen_room(self) -> bool:
        """Is there room in the Fast Open queue (its connections still in
        SYN-RECEIVED, each taken out as it leaves: O(1) per SYN, whatever the
        queue's length)?"""
        return len(self.fastopen_pending) < self.fastopen

    @property
    def full(self) -> bool:
        return len(self.syn_queue) + len(self.accept_queue) >= self.backlog

    @property
    def accept_queue_full(self) -> bool:
        return len(self.accept_queue) >= self.backlog

    def next_expiry(self) -> float | None:
        """When the oldest half-open entry expires."""
        return next(iter(self.syn_queue.values()), None)


class Host:
    """A TCP host. See the module docstring and docs/architecture.md."""

    def __init__(
        self,
        addresses: IPAddress | str | Iterable[IPAddress | str],
        config: TcpConfig | None = None,
        tracer: Tracer | None = None,
        isn: IsnSource | None = None,
        secret: bytes | None = None,
        ephemeral_ports: tuple[int, int] = (49152, 65535),
        syn_cookies: str = "on-overflow",
        half_open_lifetime: float | None = HALF_OPEN_LIFETIME,
    ) -> None:
        if isinstance(addresses, str | IPv4Address | IPv6Address):
            addresses = [addresses]
        self.addresses: tuple[IPAddress, ...] = tuple(parse_address(a) for a in addresses)
        self._packed_addresses = frozenset(a.packed for a in self.addresses)
        if not self.addresses:
            raise ValueError("a host needs at least one address")
        self.config = config if config is not None else TcpConfig()
        self.tracer = tracer
        self._secret = secret if secret is not None else os.urandom(16)
        self.isn = isn if isn is not None else Rfc6528Isn(self._secret)
        low, high = ephemeral_ports
        if not 1 <= low <= high <= 65535:
            raise ValueError(f"bad ephemeral port range {low}-{high}")
        self._ephemeral_low = low
        self._ephemeral_count = high - low + 1
        self._next_ephemeral = 0
        # the last (packed local + remote address, remote port) that _ephemeral_port
        # hashed, and its offset
        self._last_port_offset: tuple[bytes, int, int] | None = None
        self.stats = HostStats()
        if syn_cookies not in SYN_COOKIE_MODES:
            raise ValueError(f"syn_cookies must be one of {SYN_COOKIE_MODES}, not {syn_cookies!r}")
        if half_open_lifetime is not None and half_open_lifetime <= 0:
            raise ValueError("half_open_lifetime must be positive (or None)")
        self.syn_cookies = syn_cookies
        self.half_open_lifetime = half_open_lifetime
        self.cookies = SynCookies(hashlib.blake2s(b"syn cookies", key=self._secret).digest())
        self._cookie_sent_at: float | None = None  # when the last cookie went out
        # TCP Fast Open (RFC 7413, tcp/fastopen.py): the server's cookie keys
        # (the config's, else derived from the secret; rotate with
        # ``fastopen_cookies.rotate``), and the client's cookies by server address
        self.fastopen_cookies = CookieJar.from_config(
            self.config, hashlib.blake2s(b"fast open", key=self._secret, digest_size=16).digest()
        )
        self.fastopen_cache = CookieCache()

        self.connections: dict[Key, Connection] = {}
        self.listeners: dict[int, Listener] = {}
        self._time_wait = TimeWaitTable(_TW_RECORD.size)  # by key, in expiry order
        # the configs TIME-WAIT records name by index, and each one's index (equal
        # configs, by value, share one); the last one looked up, by identity
        self._tw_configs: list[TcpConfig] = []
        self._tw_config_index: dict[TcpConfig, int] = {}
        self._tw_last_config: tuple[TcpConfig, int] | None = None
        self._dirty: dict[Connection, None] = {}
        self._on_wakeup = self._wake  # one bound method for all connections, not one each
        self._deadlines: dict[Connection, float] = {}
        self._heap: list[tuple[float, int, Connection]] = []
        self._heap_order = itertools.count(1)  # ties between equal deadlines: first pushed first
        self._control: list[Outgoing] = []  # replies, no connection
        self._events: deque[HostEvent] = deque()
        self._listener_of: dict[Connection, Listener] = {}
        # Keys of the connections that send IPv4 without DF (no PMTUD, or a path
        # MTU under the floor: tcp/icmp.py); usually empty
        self._no_df: set[Key] = set()
        # one (local, remote) pair of packed addresses, shared by the
        # connections between them (bounded: see shared_copy); see _add
        self._packed_pairs: dict[tuple[bytes, bytes], tuple[bytes, bytes]] = {}
        # set by a driver whose device has checksum offload (net/driver.py):
        # packets longer than this go with a partial TCP checksum
        self.partial_checksum_above: int | None = None
        # A driver's hook, called when a user call (send, close, connect...) gives
        # a quiet host output to send, so a driver of many hosts need not poll them.
        self.on_output: Callable[[Host], None] | None = None
        # Called when a connection leaves the Host's tables (CLOSED, or TIME-WAIT
        # kept as a record): a change that may come with no event of its own
        # (CLOSING -> TIME-WAIT on the ACK of our FIN), for an owner to notice.
        self.on_forget: Callable[[Connection], None] | None = None

    # ------------------------------------------------------------------
    # User calls
    # ------------------------------------------------------------------
    def listen(
        self,
        port: int,
        backlog: int = 128,
        config: TcpConfig | None = None,
        address: IPAddress | str | None = None,
        now: float = 0.0,
        fastopen: int = 0,
    ) -> Listener:
        """Passive OPEN on ``port`` (every address unless ``address`` is given).

        ``fastopen``: the Fast Open queue length (Linux's TCP_FASTOPEN socket
        option; RFC 7413 5.1), used when the config has ``fastopen_server``.

        The trace shows one CLOSED -> LISTEN, here; each connection the
        listener spawns starts from LISTEN when its SYN arrives.
        """
        if not 0 < port <= 65535:
            raise ValueError(f"port {port} is not in 1-65535")
        if port in self.listeners:
            raise err.TcpError(err.CONNECTION_EXISTS)
        if backlog < 1:
            raise ValueError("backlog must be at least 1")
        local = parse_address(address) if address is not None else None
        listener = Listener(port, backlog, config or self.config, local)
        listener.fastopen = fastopen
        self.listeners[port] = listener
        if self.tracer is not None:
            cause = f"passive OPEN, port {port}"
            self.tracer.state_changed(None, now, State.CLOSED, State.LISTEN, cause)
        return listener

    def close_listener(self, port: int, now: float | None = None) -> None:
        """Stop listening. Connections already accepted or half-open carry on;
        those the application never accepted are aborted (RFC 9293 3.10.5: a
        RST where the peer has a TCB), as Linux does when a listener closes
        (a Fast Open child still in SYN-RECEIVED included, RFC 7413 4.2.2)."""
        listener = self.listeners.pop(port, None)
        if listener is None:
            raise err.TcpError(err.CONNECTION_DOES_NOT_EXIST)
        while listener.accept_queue:
            conn = listener.accept_queue.popleft()
            listener.fastopen_pending.pop(conn, None)
            if conn.state is not State.CLOSED:
                conn.abort(now)

    def accept(self, port: int) -> Connection | None:
        """The next ESTABLISHED connection on a listening port, or None."""
        listener = self.listeners.get(port)
        if listener is None:
            raise err.TcpError(err.CONNECTION_DOES_NOT_EXIST)
        if not listener.accept_queue:
            return None
        conn = listener.accept_queue.popleft()
        if conn.fastopen is not None:
            conn.fastopen.taken = True  # the application's now (tcp/icmp.py)
        return conn

    def connect(
        self,
        remote: tuple[IPAddress | str, int],
        now: float,
        local_port: int | None = None,
        local_address: IPAddress | str | None = None,
        config: TcpConfig | None = None,
        iss: int | None = None,
        fastopen: bool = False,
        data: bytes = b"",
        defer: bool = False,
    ) -> Connection:
        """Active OPEN to ``remote``; the SYN goes out with the next ``packets_to_send``.

        ``fastopen`` (RFC 7413, with the config's ``fastopen_client``): with a
        cookie for the server in ``fastopen_cache``, the SYN carries it and the
        data queued before it leaves (``data``, or a ``send`` right after this
        call), as much as one segment holds; without one it asks for a cookie
        and the data follows the handshake (Linux's MSG_FASTOPEN, which takes
        no data then, is ``data`` only when ``fastopen_cache.cookie`` has one).
        ``defer``: with a cookie, the SYN waits for the first ``send``
        (Linux's TCP_FASTOPEN_CONNECT)."""
        raddr = parse_address(remote[0])
        rport = remote[1]
        if not 0 < rport <= 65535:
            raise ValueError(f"port {rport} is not in 1-65535")
        laddr = (
            parse_address(local_address) if local_address is not None else self._source_for(raddr)
        )
        lpacked, rpacked = laddr.packed, raddr.packed  # ipaddress packs in Python: once
        if local_port is None:  # a port whose 4-tuple is free
            local_port, key = self._ephemeral_port(laddr, raddr, rport, lpacked + rpacked)
        else:
            key = _packed_key(lpacked + rpacked, local_port, rport)
            if key in self.connections or key in self._time_wait:
                raise err.TcpError(err.CONNECTION_EXISTS)
        cfg = config or self.config
        conn = self._new_connection((laddr, local_port), (raddr, rport), cfg)
        if fastopen and cfg.fastopen_client:
            conn.fastopen = FastOpenState.client(
                self.fastopen_cache, raddr, defer=defer, no_cookie=cfg.fastopen_client_no_cookie
            )
        self._add(key, conn, lpacked, rpacked)
        conn.connect(now, iss)
        if data:
            conn.send(data)
        return conn

    def next_event(self) -> HostEvent | None:
        return self._events.popleft() if self._events else None

    @property
    def time_wait_count(self) -> int:
        return len(self._time_wait)

    def state_of(self, conn: Connection) -> State:
        """A connection's state as the host sees it: a connection collapsed into
        a TIME-WAIT record is in TIME-WAIT until the record goes, then CLOSED."""
        if conn.packed_addresses is not None:  # it is in this Host's table
            return conn.state
        if conn.state is State.TIME_WAIT and conn.remote is not None:
            key = _key(conn.local, conn.remote)
            if key in self._time_wait:
                return State.TIME_WAIT
        return State.CLOSED

    def time_wait_ports(self) -> list[int]:
        """The local port of every TIME-WAIT record (IPv4 first, in expiry order)."""
        return [_ports_of(key)[0] for key in self._time_wait.ordered_keys()]

    def drop_connections(self, state: State, now: float) -> int:
        """Drop every connection in ``state`` at once, as tcpdrop(8) does: RST to
        the peer where it still has a connection (RFC 9293 3.10.5, ABORT), and a
        TIME-WAIT record goes silently. Returns how many were dropped."""
        if state is State.TIME_WAIT:
            count = len(self._time_wait)
            self._time_wait.clear()
            return count
        victims = [conn for conn in self.connections.values() if conn.state is state]
        for conn in victims:
            conn.abort(now)
            self._after(conn)
        return len(victims)

    def crash(self, now: float) -> int:
        """Lose every connection at once and send nothing, as a host that crashes
        and restarts does (RFC 9293 3.5's half-open connections): the peers
        still think they are connected. Listeners stay. Returns how many were lost."""
        lost = list(self.connections.values())
        for conn in lost:
            self._forget(conn)
            self._dirty.pop(conn, None)
            if self.tracer is not None and conn.state is not State.CLOSED:
                self.tracer.state_changed(conn, now, conn.state, State.CLOSED, "host crashed")
        count = len(lost) + len(self._time_wait)
        self._time_wait.clear()
        return count

    # ------------------------------------------------------------------
    # Driver interface
    # ------------------------------------------------------------------
    def receive_packet(
        self, data: bytes | bytearray | memoryview, now: float, verify: bool = True
    ) -> None:
        """One IP packet from the network. Malformed packets are counted and dropped.
        ``verify`` False: its TCP checksum is not checked (a TUN device with
        checksum offload hands the kernel's packets over with the checksum
        left to the device: ``VIRTIO_NET_HDR_F_NEEDS_CSUM``)."""
        self.stats.packets_received += 1
        try:
            src_packed, dst_packed, seg = parse_tcp_packet(data, verify)
        except MalformedPacket as exc:
            if exc.reason == "not-tcp" and self._icmp(data, now):
                return
            self._malformed(exc)
            return
        if dst_packed not in self._packed_addresses:
            self.stats.not_for_us += 1
            return
        self._deliver(src_packed, dst_packed, seg, now)

    def _malformed(self, exc: MalformedPacket) -> None:
        self.stats.malformed += 1
        reasons = self.stats.malformed_reasons
        reasons[exc.reason] = reasons.get(exc.reason, 0) + 1

    def _icmp(self, data: bytes | bytearray | memoryview, now: float) -> bool:
        """An IP packet that is not TCP: if ICMP, hand an error to the connection
        whose segment it quotes (that segment came from us, so the quoted source
        is the local end). False: not ICMP at all."""
        try:
            msg = parse_icmp_packet(data)
        except MalformedPacket as exc:
            if exc.reason == "not-icmp":
                return False
            self._malformed(exc)
            return True
        stats = self.stats
        stats.icmp_received += 1
        packed = self._packed_addresses
        if msg is None or msg.dst not in packed or msg.quoted_src not in packed:
            stats.icmp_ignored += 1
            return True
        key = msg.quoted_src + msg.quoted_dst + _PORTS.pack(msg.src_port, msg.dst_port)
        conn = self.connections.get(key)
        if conn is None:
            stats.icmp_ignored += 1  # no connection (TIME-WAIT records take none)
            return True
        stats.icmp_delivered += 1
        conn.receive_icmp(msg, now)
        if not conn.dont_fragment:
            self._no_df.add(key)
        self._after(conn)
        return True

    def receive_segment(self, src: bytes, dst: bytes, seg: Segment, now: float) -> None:
        """A decoded segment, its addresses packed (4 or 16 bytes each) as
        ``segments_to_send`` gives them: for drivers that already parsed the packet
        (or never encoded it). Counted as a packet received, like ``receive_packet``."""
        self.stats.packets_received += 1
        if dst not in self._packed_addresses:
            self.stats.not_for_us += 1
            return
        self._deliver(src, dst, seg, now)

    def _deliver(self, src_packed: bytes, dst_packed: bytes, seg: Segment, now: float) -> None:
        key = dst_packed + src_packed + _PORTS.pack(seg.dst_port, seg.src_port)
        conn = self.connections.get(key)
        if conn is not None:
            conn.receive_segment(seg, now)
            self._dirty[conn] = None  # _after's two steps, on the busiest path
            self._collect_events(conn)
            return
        reopen_above = None
        if self._time_wait:
            handled, reopen_above = self._time_wait_segment(key, src_packed, dst_packed, seg, now)
            if handled:
                return
        listener = self.listeners.get(seg.dst_port)
        if listener is not None and listener.address in (None, address_from_packed(dst_packed)):
            self._listener_segment(listener, key, src_packed, dst_packed, seg, now, reopen_above)
            return
        self._stray(src_packed, dst_packed, seg, now)

    def segments_to_send(self, now: float) -> list[Outgoing]:
        """Every segment due now, as (source, destination, segment) with packed
        addresses, not encoded: for drivers that hand segments to another Host in
        memory (``address_from_packed`` turns an address back into an object)."""
        out = self._control
        self._control = []
        while self._dirty:
            dirty, self._dirty = self._dirty, {}
            for conn in dirty:
                local, remote = conn.packed_addresses  # type: ignore[misc]
                for seg in conn.segments_to_send(now):
                    out.append((local, remote, seg))
                self._settle(conn, now)
        self.stats.packets_sent += len(out)
        return out

    def packets_to_send(self, now: float) -> list[bytes]:
        """Every packet due now, encoded with IP headers and checksums (with
        ``partial_checksum_above`` set, a longer packet's TCP checksum holds
        only the pseudo-header's sum, for the device to finish)."""
        no_df = self._no_df
        above = self.partial_checksum_above
        if not no_df and above is None:
            return [encode_packed(src, dst, seg) for src, dst, seg in self.segments_to_send(now)]
        pack = _PORTS.pack
        return [
            encode_packed(
                src,
                dst,
                seg,
                df=not no_df or src + dst + pack(seg.src_port, seg.dst_port) not in no_df,
                partial_above=above,
            )
            for src, dst, seg in self.segments_to_send(now)
        ]

    @property
    def has_output(self) -> bool:
        """Whether ``packets_to_send`` (or ``segments_to_send``) may have something:
        drivers can skip a quiet host."""
        return bool(self._dirty or self._control)

    def get_timer(self) -> float | None:
        """The earliest deadline of every connection and TIME-WAIT record."""
        heap = self._heap
        deadlines = self._deadlines
        while heap and deadlines.get(heap[0][2]) != heap[0][0]:
            heapq.heappop(heap)
        best = heap[0][0] if heap else None
        expires = self._next_time_wait_expiry()
        if expires is not None and (best is None or expires < best):
            best = expires
        if self.half_open_lifetime is not None:
            for listener in self.listeners.values():
                if listener.syn_queue:
                    expires = listener.next_expiry()
                    if expires is not None and (best is None or expires < best):
                        best = expires
        return best

    def handle_timer(self, now: float) -> None:
        if self.half_open_lifetime is not None:
            # first, so that an entry due to go retransmits nothing as it goes
            for listener in self.listeners.values():
                if listener.syn_queue:
                    self._expire_half_open(listener, now)
        heap = self._heap
        deadlines = self._deadlines
        while heap and heap[0][0] <= now:
            deadline, _, conn = heapq.heappop(heap)
            if deadlines.get(conn) != deadline:
                continue
            del deadlines[conn]
            conn.handle_timer(now)
            self._after(conn)
        self._expire_time_wait(now)

    # ------------------------------------------------------------------
    # Internals
    # ------------------------------------------------------------------
    def _new_connection(self, local: Endpoint, remote: Endpoint, config: TcpConfig) -> Connection:
        conn = Connection(local, remote, config, self.tracer, self.isn)
        conn.on_wakeup = self._on_wakeup
        return conn

    def _wake(self, conn: Connection) -> None:
        if not self._dirty and self.on_output is not None:
            self.on_output(self)
        self._dirty[conn] = None

    def _after(self, conn: Connection) -> None:
        """After input or a timer: collect events and queue the connection for output."""
        self._dirty[conn] = None
        self._collect_events(conn)

    def _collect_events(self, conn: Connection) -> None:
        """Pass a connection's events on; a half-open one stays the host's business."""
        events = conn.take_events()
        if events is None:
            return
        if conn in self._listener_of:
            events = self._accept_on_connected(conn, events)
        queue = self._events
        for event in events:
            queue.append(HostEvent(conn, event))

    def _accept_on_connected(self, conn: Connection, events: list[Event]) -> list[Event]:
        """A half-open connection's events: until it is Connected, nobody to tell;
        then it moves to its listener's accept queue, and that event and the
        ones after it go on."""
        for i, event in enumerate(events):
            if isinstance(event, Connected):
                listener = self._listener_of.pop(conn)
                listener.syn_queue.pop(conn, None)
                listener.accept_queue.append(conn)
                return events[i:]
        return []

    def _settle(self, conn: Connection, now: float) -> None:
        """After output: collect events, then reschedule, collapse or forget the connection."""
        self._collect_events(conn)
        state = conn.state
        if state is _CLOSED or state is _LISTEN:
            self._forget(conn)
        elif state is _TIME_WAIT:
            record = conn.time_wait_record()
            key = self._forget(conn)
            if record is not None and key is not None:
                self.stats.time_wait_collapsed += 1
                self._store_time_wait(key, record, conn.config)
        else:
            deadline = conn.get_timer()
            deadlines = self._deadlines
            if deadline is None:
                deadlines.pop(conn, None)
            elif deadlines.get(conn) != deadline:
                deadlines[conn] = deadline
                heap = self._heap
                heappush(heap, (deadline, next(self._heap_order), conn))
                if len(heap) > 2 * len(deadlines) + 64:
                    self._compact_timers()

    def _compact_timers(self) -> None:
        """Drop the stale entries of the timer heap (deadlines that moved): a
        heap with lazy deletion otherwise grows with every reschedule. Run when
        stale entries outnumber live ones, so the cost is amortised O(1)."""
        deadlines = self._deadlines
        self._heap = [entry for entry in self._heap if deadlines.get(entry[2]) == entry[0]]
        heapq.heapify(self._heap)

    def _add(self, key: Key, conn: Connection, local: bytes, remote: bytes) -> None:
        self.connections[key] = conn
        conn.packed_addresses = self._shared_pair(local, remote)
        if not conn.dont_fragment:
            self._no_df.add(key)

    def _shared_pair(self, local: bytes, remote: bytes) -> tuple[bytes, bytes]:
        """The (local, remote) packed addresses as the one tuple that the
        connections between them share, so that each holds no tuple or bytes
        of its own (idle memory, issue 16)."""
        return shared_copy(self._packed_pairs, (local, remote))

    def _forget(self, conn: Connection) -> Key | None:
        """Drop a connection from every table; its key, if it had one."""
        key = None
        addresses, conn.packed_addresses = conn.packed_addresses, None
        if addresses is not None:
            ports = _PORTS.pack(conn.local[1], conn.remote[1])  # type: ignore[index]
            key = addresses[0] + addresses[1] + ports
            self.connections.pop(key, None)
            self._no_df.discard(key)
        self._deadlines.pop(conn, None)
        listener = self._listener_of.pop(conn, None)
        if listener is not None:
            listener.syn_queue.pop(conn, None)
        conn.on_wakeup = None
        if self.on_forget is not None:
            self.on_forget(conn)
        return key

    def _listener_segment(
        self,
        listener: Listener,
        key: Key,
        src: bytes,
        dst: bytes,
        seg: Segment,
        now: float,
        iss_above: int | None = None,
    ) -> None:
        """RFC 9293 3.10.7.2, through a fresh connection in LISTEN; or a SYN
        cookie sent or checked (RFC 4987 3.6). ``iss_above``: a TIME-WAIT
        incarnation's SND.NXT that the new ISN must exceed."""
        flags = seg.flags
        if flags & SYN:
            if src == dst and seg.src_port == seg.dst_port:
                # no connection of ours has this 4-tuple, so it is forged (as
                # FreeBSD's tcp_input drops it): answered, it would loop back
                # to us forever, each out-of-window ACK drawing another
                self.stats.syns_from_self += 1
                return
            if self.half_open_lifetime is not None and listener.syn_queue:
                self._expire_half_open(listener, now)
            mode = self.syn_cookies
            full = listener.full
            if listener.accept_queue_full or (full and mode == "never"):
                self.stats.syns_dropped_backlog += 1  # the peer will retransmit its SYN
                return
            if (mode == "always" or full) and not flags & (ACK | RST):
                self._send_cookie(listener, key, src, dst, seg, now)
                return
            if full:
                self.stats.syns_dropped_backlog += 1
                return
        elif not flags & RST and self._cookies_expected(now):
            if self._cookie_connection(listener, key, src, dst, seg, now):
                return
        local = (address_from_packed(dst), seg.dst_port)
        remote = (address_from_packed(src), seg.src_port)
        conn = self._new_connection(local, remote, listener.config)
        tracer, conn.tracer = conn.tracer, None
        iss = None if iss_above is None else self._iss_above(local, remote, now, iss_above)
        conn.listen(now, iss)  # the listener's own LISTEN is already in the trace
        if flags & SYN:
            conn.tracer = tracer  # otherwise a stray: no connection comes of it
        elif self.tracer is not None:
            self.tracer.segment(None, now, "received", seg, None, (local[0], remote[0]))
        if flags & SYN and listener.config.fastopen_server:
            self._fastopen_listener(listener, conn, seg)
        conn.receive_segment(seg, now)
        if conn.state is State.SYN_RECEIVED:
            tfo = conn.fastopen
            if tfo is not None and tfo.accepted:
                # RFC 7413 4.2.2: accepted before the handshake completes
                self.stats.fastopen_accepted += 1
                self._add(key, conn, dst, src)
                listener.fastopen_pending[conn] = None
                tfo.queue = listener.fastopen_pending
                listener.accept_queue.append(conn)
            else:
                self._half_open(listener, key, conn, src, dst, now)
        for reply in conn.segments_to_send(now):
            if conn.tracer is None and self.tracer is not None:
                self.tracer.segment(
                    None, now, "sent", reply, "segment to a listener", (local[0], remote[0])
                )
            self._control.append((dst, src, reply))
        if conn.state is State.SYN_RECEIVED:
            self._settle(conn, now)
        else:
            conn.on_wakeup = None

    def _fastopen_listener(self, listener: Listener, conn: Connection, seg: Segment) -> None:
        """Fast Open at this listener: its cookie keys, or none (no queue set,
        or the queue full: the SYN is handled the ordinary way, and gets no
        cookie, as on Linux)."""
        jar = None
        if listener.fastopen:
            if listener.fastopen_room():
                jar = listener.fastopen_cookies or self.fastopen_cookies
            elif seg.fastopen is not None or seg.payload:
                self.stats.fastopen_queue_full += 1
        conn.fastopen = FastOpenState.server_side(jar)

    def _iss_above(self, local: Endpoint, remote: Endpoint, now: float, floor: int) -> int:
        """RFC 1122 4.2.2.13: a connection reopened from TIME-WAIT starts above
        everything the old one sent; the clock's ISN if it already does, else
        a window and more beyond the old SND.NXT (as Linux does)."""
        iss = self.isn.generate(local, remote, now)
        return iss if sq.gt(iss, floor) else sq.add(floor, 65535 + 2)

    def _half_open(
        self, listener: Listener, key: Key, conn: Connection, src: bytes, dst: bytes, now: float
    ) -> None:
        """A connection in SYN-RECEIVED joins its listener's SYN queue."""
        self._add(key, conn, dst, src)
        lifetime = self.half_open_lifetime
        listener.syn_queue[conn] = now + lifetime if lifetime is not None else float("inf")
        self._listener_of[conn] = listener

    def _expire_half_open(self, listener: Listener, now: float) -> None:
        """Drop the half-open entries that have outlived ``half_open_lifetime``,
        silently, as Linux drops a request after its last SYN,ACK."""
        queue = listener.syn_queue
        while queue:
            conn, expires = next(iter(queue.items()))
            if expires > now:
                return
            self.stats.half_open_expired += 1
            self._forget(conn)  # takes it out of the queue
            self._dirty.pop(conn, None)
            if self.tracer is not None:
                cause = "half-open entry expired"
                self.tracer.state_changed(conn, now, conn.state, State.CLOSED, cause)

    # -- SYN cookies (RFC 4987 3.6, tcp/syncookies.py) ---------------------
    def _cookies_expected(self, now: float) -> bool:
        """Is an ACK to a listener worth checking as a cookie? Always in "always"
        mode; in "on-overflow" only while cookies sent lately may still come
        back (Linux checks only after a recent overflow), so that stray ACKs
        cost nothing in quiet times."""
        if self.syn_cookies == "always":
            return True
        sent = self._cookie_sent_at
        cookies = self.cookies
        return sent is not None and now - sent < cookies.period * cookies.max_age

    def _send_cookie(
        self, listener: Listener, key: Key, src: bytes, dst: bytes, seg: Segment, now: float
    ) -> None:
        """Answer a SYN with a cookie SYN,ACK and keep nothing."""
        cfg = listener.config
        version = 4 if len(dst) == 4 else 6
        rcv_mss = cfg.advertised_mss(version)
        agreed = agree(cfg, seg, rcv_mss, ecn_asked=False)
        table = mss_table(version)
        index = mss_index(agreed.snd_mss if agreed.snd_mss is not None else table[0], table)
        cookie = self.cookies.make(key, seg.seq, index, now)
        tsval = tsecr = 0
        if agreed.timestamps is not None:
            options = CookieOptions(
                agreed.snd_wscale if agreed.window_scaling else None, agreed.sack, agreed.ecn
            )
            # the connection built from this cookie will have ts_offset = its ISN
            ts_now = (int(now * cfg.timestamp_hz) + cookie) & MASK
            tsval, tsecr = encode_timestamp(ts_now, options), agreed.timestamps.value
            agreed_options = (agreed.window_scaling, agreed.sack, True)
        else:
            options = NO_OPTIONS  # no timestamp to carry them: offer none (as Linux)
            agreed_options = (False, False, False)
        wscale = cfg.receive_window_scale() if cfg.window_scaling else 0
        reply = Segment(
            seg.dst_port, seg.src_port, cookie, (seg.seq + 1) & MASK,
            SYN | ACK | ECE if options.ecn else SYN | ACK, min(cfg.recv_buffer, 65535),
            options=syn_options(cfg, True, rcv_mss, wscale, agreed_options, tsval, tsecr),
        )  # fmt: skip
        self.stats.syn_cookies_sent += 1
        self._cookie_sent_at = now
        tracer = self.tracer
        if tracer is not None:
            addresses = (address_from_packed(dst), address_from_packed(src))
            tracer.segment(None, now, "received", seg, None, addresses)
            tracer.segment(None, now, "sent", reply, "SYN cookie", addresses)
        self._control.append((dst, src, reply))

    def _cookie_connection(
        self, listener: Listener, key: Key, src: bytes, dst: bytes, seg: Segment, now: float
    ) -> bool:
        """An ACK to a listener: if it returns a valid cookie, the connection its
        SYN would have made, built now and given the ACK. False: not a cookie."""
        cfg = listener.config
        version = 4 if len(dst) == 4 else 6
        table = mss_table(version)
        peer_isn = (seg.seq - 1) & MASK
        index = self.cookies.check(key, peer_isn, (seg.ack - 1) & MASK, now, len(table))
        ts = seg.timestamps if cfg.tcp_options and cfg.timestamps else None
        options = decode_timestamp(ts.echo_reply) if ts is not None else NO_OPTIONS
        if index is None or (
            (options.wscale is not None and not cfg.window_scaling)
            or (options.sack and not cfg.sack)
            or (options.ecn and cfg.ecn == "off")
        ):  # not a cookie, or options we would not have agreed to: not ours
            self.stats.syn_cookies_failed += 1
            return False
        self.stats.syn_cookies_validated += 1
        if listener.accept_queue_full:
            self.stats.accept_queue_overflows += 1
            return True  # dropped, as Linux does: the peer's retransmission may fare better
        # The SYN the cookie stands for, as the peer sent it (as far as the cookie tells).
        syn_opts: list[Option] = [MaxSegmentSize(table[index])]
        if options.wscale is not None:
            syn_opts.append(WindowScale(options.wscale))
        if options.sack:
            syn_opts.append(SACK_PERMITTED)
        if ts is not None:
            syn_opts.append(Timestamps(ts.value, 0))
        syn = Segment(
            seg.src_port, seg.dst_port, peer_isn, 0,
            SYN | ECE | CWR if options.ecn else SYN, seg.window, options=tuple(syn_opts),
        )  # fmt: skip
        local = (address_from_packed(dst), seg.dst_port)
        remote = (address_from_packed(src), seg.src_port)
        conn = self._new_connection(local, remote, cfg)
        tracer, conn.tracer = conn.tracer, None  # the listener's LISTEN is in the trace
        conn.listen(now, iss=(seg.ack - 1) & MASK)  # so ts_offset = the cookie, as its TSval
        conn.tracer = tracer
        conn.open_from_cookie(syn, now)  # the SYN and the SYN,ACK went by statelessly
        self._half_open(listener, key, conn, src, dst, now)
        conn.receive_segment(seg, now)
        self._after(conn)
        return True

    def _stray(self, src: bytes, dst: bytes, seg: Segment, now: float) -> None:
        """No connection and no listener: RFC 9293 3.10.7.1 (CLOSED)."""
        tracer = self.tracer
        reply = reset_for(seg)
        if tracer is not None:
            addresses = (address_from_packed(dst), address_from_packed(src))
            tracer.segment(None, now, "received", seg, None, addresses)
            tracer.segment(None, now, "dropped", seg, "no connection", addresses)
            if reply is not None:
                tracer.segment(None, now, "sent", reply, "no connection", addresses)
        if reply is None:
            return
        self.stats.resets_sent += 1
        self._control.append((dst, src, reply))

    # -- source address and ephemeral ports -----------------------------
    def _source_for(self, remote: IPAddress) -> IPAddress:
        for address in self.addresses:
            if address.version == remote.version:
                return address
        raise err.TcpError(f"no local IPv{remote.version} address to reach {remote}")

    def _ephemeral_port(
        self, local: IPAddress, remote: IPAddress, rport: int, packed: bytes
    ) -> tuple[int, Key]:
        """RFC 6056 3.3.3 (Algorithm 3): a keyed hash picks where to start looking.
        The port, and the key of its 4-tuple (no connection, record or listener has it).
        ``packed``: both addresses packed, as they begin the key."""
        # the same destination again: the same offset (compared by value, as a
        # caller naming the remote by string passes a new address object each time)
        last = self._last_port_offset
        if last is not None and last[1] == rport and last[0] == packed:
            offset = last[2]
        else:
            digest = hashlib.blake2s(
                f"{address_text(local)}|{address_text(remote)}|{rport}".encode(),
                key=self._secret,
                digest_size=4,
            ).digest()
            offset = int.from_bytes(digest, "big")
            self._last_port_offset = (packed, rport, offset)
        count = self._ephemeral_count
        for attempt in range(count):
            port = self._ephemeral_low + (offset + self._next_ephemeral + attempt) % count
            key = _packed_key(packed, port, rport)
            if (
                key not in self.connections
                and key not in self._time_wait
                and port not in self.listeners
            ):
                self._next_ephemeral += attempt + 1
                return port, key
        raise err.TcpError(err.INSUFFICIENT_RESOURCES)

    # -- TIME-WAIT records ----------------------------------------------
    def _config_index(self, config: TcpConfig) -> int:
        """The index a TIME-WAIT record stores for ``config``: equal configs
        share one, so the bound counts distinct settings, which come from this
        host's owner, never from a peer."""
        last = self._tw_last_config
        if last is not None and last[0] is config:
            return last[1]
        index = self._tw_config_index.get(config)
        if index is None:
            index = len(self._tw_configs)
            if index >= _TW_CONFIGS_MAX:
                raise RuntimeError(
                    f"more than {_TW_CONFIGS_MAX} distinct TcpConfig values in one Host's "
                    "TIME-WAIT records: share configs between connections"
                )
            self._tw_configs.append(config)
            self._tw_config_index[config] = index
        self._tw_last_config = (config, index)
        return index

    def _store_time_wait(self, key: bytes, record: TimeWait, config: TcpConfig) -> None:
        """Pack ``record`` and queue it for expiry (again, if its timer restarted)."""
        flags = _TW_TIMESTAMPS if record.ts_offset is not None else 0
        packed = _TW_RECORD.pack(
            record.snd_nxt, record.rcv_nxt, record.ts_recent, record.ts_offset or 0,
            record.window, flags, self._config_index(config),
        )  # fmt: skip
        self._time_wait.put(key, packed, record.expires)

    def _load_time_wait(self, key: bytes, packed: bytes, expires: float) -> TimeWait:
        snd_nxt, rcv_nxt, ts_recent, ts_offset, window, flags, index = _TW_RECORD.unpack(packed)
        lport, rport = _ports_of(key)
        return TimeWait(
            self._tw_configs[index], lport, rport, snd_nxt, rcv_nxt, window,
            ts_offset if flags & _TW_TIMESTAMPS else None, ts_recent, expires,
        )  # fmt: skip

    def _time_wait_segment(
        self, key: Key, src: bytes, dst: bytes, seg: Segment, now: float
    ) -> tuple[bool, int | None]:
        """A segment for a TIME-WAIT record: whether the record dealt with it, and
        for a SYN that may reopen the connection, the old incarnation's SND.NXT
        (the new ISN must lie above it)."""
        found = self._time_wait.get(key)
        if found is None:
            return False, None
        packed, expires = found
        record = self._load_time_wait(key, packed, expires)
        replies, action = record.segment_arrives(seg, now)
        tracer = self.tracer
        if tracer is not None:
            addresses = (address_from_packed(dst), address_from_packed(src))
            tracer.segment(None, now, "received", seg, None, addresses)
            if seg.flags & RST and action is TimeWaitAction.NONE and not replies:
                tracer.segment(None, now, "dropped", seg, rst_in_time_wait(record), addresses)
            for reply in replies:
                tracer.segment(None, now, "sent", reply, "TIME-WAIT", addresses)
        if action is TimeWaitAction.REOPEN:
            self._time_wait.remove(key)
            if tracer is not None:
                cause = "rcv SYN in TIME-WAIT (reopened, RFC 6191)"
                tracer.state_changed(None, now, State.TIME_WAIT, State.CLOSED, cause)
            return False, record.snd_nxt
        for reply in replies:
            self._control.append((dst, src, reply))
        if action is TimeWaitAction.CLOSED:
            self._time_wait.remove(key)
            if tracer is not None:
                cause = "rcv SYN in TIME-WAIT" if seg.flags & SYN else "rcv RST in TIME-WAIT"
                tracer.state_changed(None, now, State.TIME_WAIT, State.CLOSED, cause)
            return True, None
        if record.expires != expires:
            self._store_time_wait(key, record, record.config)  # the 2MSL timer restarted
        return True, None

    def _next_time_wait_expiry(self) -> float | None:
        return self._time_wait.next_expiry()

    def _expire_time_wait(self, now: float) -> None:
        while self._time_wait.pop_expired(now) is not None:
            if self.tracer is not None:
                self.tracer.state_changed(None, now, State.TIME_WAIT, State.CLOSED, "2MSL timeout")
