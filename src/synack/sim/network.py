"""Hosts joined by links, driven on a virtual clock.

The loop pumps every Host through ``segments_to_send``, ``get_timer`` and
``handle_timer``, and delivers packets after each link's delay. Given the
same seed it does the same thing every time.

Packets go from one in-memory Host to another, so most need never become
bytes: with no tap installed, on a link that does not corrupt, and past
fault rules that can test a decoded segment (:class:`SegmentMatch`, which
``segment_matcher`` builds), a segment travels as the object the sender made
and arrives through ``Host.receive_segment``. Anything that needs bytes (a
tap, corruption, a match written for bytes, a segment whose encoding would
not decode to the same thing) gets the encoded packet instead, and the
receiver parses it. Both paths draw the same random numbers and give the
same results.

Two hooks shape a scenario beyond the links' random faults: ``drop`` loses
chosen packets (say, the first SYN,ACK), and ``apps`` are callbacks that run
at each instant after input and timers but before the hosts' output is
pulled, so what an application does in reaction (a CLOSE on end of stream)
leaves in the same segments as the ACK the input caused. ``call_at`` runs a
one-off action at a chosen instant, at the same point of the loop.

The loop does work in proportion to what happens, not to how many hosts
there are: host deadlines sit in a heap, and a host's output is pulled only
when the loop drove it (a delivery, a timer) or its ``on_output`` hook said a
user call gave it something to send. Apps can ask ``active_hosts()`` which
hosts may have new events. A host driven by hand, outside the loop, is
picked up by the next public call (``step``, ``run``, ``run_until``,
``next_time``), or at once with ``touch``.

This is the driver loop of :mod:`synack.driver` for many Hosts at once: per
instant, every arrival, then every due timer (in the order the hosts joined),
then the apps, then every host's output. The clock is a
:class:`~synack.driver.VirtualClock` (``clock``) that only this loop moves;
``call_at`` schedules on it, and a :class:`~synack.driver.HostDriver` may run
on it too (``synack.sim.live.LiveNetwork(clock=net.clock)``).
"""

from __future__ import annotations

import heapq
import random
import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from synack.driver import HostSchedule, VirtualClock
from synack.host import Host, Outgoing
from synack.wire.checksum import internet_checksum
from synack.wire.errors import MalformedPacket
from synack.wire.icmp import ICMP6_PACKET_TOO_BIG, ICMP_DEST_UNREACH, icmp_error
from synack.wire.ip import IPAddress, encode_packed, parse_tcp_packet
from synack.wire.segment import CE, ECT_0, ECT_1, Segment, exact_options_length, tcpdump_flags

PacketMatch = Callable[[Host, Host, bytes], bool]  # src, dst, packet
App = Callable[["Network"], None]
# What travels on a link: an encoded IP packet, or a segment that was never
# encoded, with its source and destination address.
SegmentItem = Outgoing  # (packed source, packed destination, segment)
Packet = bytes | SegmentItem


@dataclass(frozen=True, slots=True)
class PacketEvent:
    """What happened to one packet on a link: the taps see one per copy."""

    sent: float
    arrival: float | None  # None: it never arrives
    src: Host
    dst: Host
    packet: bytes  # as it arrives (corrupted packets carry the damage)
    # delivered, lost, dropped (a fault rule), queue-full, duplicated, reordered,
    # delayed (a fault rule), corrupted, unroutable, too-big (over the link's MTU)
    fate: str


PacketTap = Callable[[PacketEvent], None]
_PORTS: Final = struct.Struct("!HH")
_Route = tuple[Host, "Link", "LinkConfig", bool]  # see Network._routes


@dataclass(frozen=True, slots=True)
class LinkConfig:
    """One direction of a link.

    A packet waits its turn behind the packets before it (``bandwidth``, in
    bits per second, gives each a serialization time; ``queue_limit`` packets
    may wait, and one more is dropped at the tail), then travels ``delay``
    plus up to ``jitter`` seconds. ``loss``, ``duplicate``, ``reorder`` and
    ``corrupt`` are probabilities per packet.
    """

    delay: float = 0.010  # one-way propagation, seconds
    jitter: float = 0.0  # extra delay, uniform in [0, jitter)
    bandwidth: float | None = None  # bits per second; None: no serialization delay
    queue_limit: int | None = None  # packets waiting to be sent; None: unbounded
    loss: float = 0.0  # probability a packet is dropped
    duplicate: float = 0.0  # probability a packet is delivered twice
    reorder: float = 0.0  # probability a packet is held back by an extra delay
    reorder_delay: float = 0.005
    corrupt: float = 0.0  # probability one byte of the packet is flipped
    # RFC 3168 active queue management, simply: with this many packets or more
    # already queued, an ECN-capable packet is marked CE instead of queueing
    # silently (a full queue still drops). Needs a bandwidth to queue behind.
    ecn_mark: int | None = None
    # The link's MTU, as a router before it sees it: a larger IP packet is
    # dropped ("too-big") and, if it may not be fragmented (IPv4 DF, or IPv6),
    # answered with "fragmentation needed" (RFC 1191) or "packet too big"
    # (RFC 8201) naming the MTU, sent back over the reverse link from the
    # destination's address. None: no limit.
    mtu: int | None = None

    def __post_init__(self) -> None:
        for name in ("loss", "duplicate", "reorder", "corrupt"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a probability between 0 and 1, not {value}")
        if self.delay < 0 or self.reorder_delay < 0 or self.jitter < 0:
            raise ValueError("delays cannot be negative")
        if self.bandwidth is not None and self.bandwidth <= 0:
            raise ValueError("bandwidth must be positive (bits per second)")
        if self.queue_limit is not None and self.queue_limit < 0:
            raise ValueError("queue limit cannot be negative")
        if self.ecn_mark is not None and (self.ecn_mark < 0 or self.bandwidth is None):
            raise ValueError("ECN marking needs a bandwidth and a threshold of 0 or more")
        if self.mtu is not None and not 68 <= self.mtu <= 65535:
            raise ValueError("an MTU must be between 68 (RFC 791) and 65535 bytes")

    @property
    def plain(self) -> bool:
        """Whether every packet simply arrives ``delay`` later (no random fate, no queue)."""
        return not (
            self.jitter or self.bandwidth is not None or self.loss or self.duplicate
            or self.reorder or self.corrupt or self.mtu is not None
        )  # fmt: skip


class Link:
    """One direction between two hosts: decides each packet's fate and arrival time."""

    __slots__ = ("_departures", "config", "dst", "rng", "src")

    def __init__(self, src: Host, dst: Host, config: LinkConfig, rng: random.Random) -> None:
        self.src = src
        self.dst = dst
        self.config = config
        self.rng = rng
        self._departures: deque[float] = deque()  # when each queued packet finishes sending

    def fates(self, now: float, packet: bytes) -> list[tuple[float, bytes, str]]:
        """(arrival time, packet as it arrives, fate) for one packet sent now.

        A negative arrival time means it never arrives; the fate says why.
        """
        return self.arrivals(now, packet, len(packet))  # type: ignore[return-value]

    def arrivals(self, now: float, packet: Packet, size: int) -> list[tuple[float, Packet, str]]:
        """:meth:`fates` for bytes or a segment item of ``size`` bytes on the wire
        (a segment item only when the link does not corrupt): the simulator's path."""
        cfg = self.config
        rng = self.rng
        start = now
        if cfg.mtu is not None and size > cfg.mtu:
            return [(-1.0, packet, "too-big")]  # before the queue: never sent on
        if cfg.bandwidth is not None:
            departures = self._departures
            while departures and departures[0] <= now:
                departures.popleft()
            if cfg.queue_limit is not None and len(departures) > cfg.queue_limit:
                return [(-1.0, packet, "queue-full")]
            if cfg.ecn_mark is not None and len(departures) >= cfg.ecn_mark:
                packet = _mark_ce(packet)
            if departures:
                start = departures[-1]
            start += size * 8 / cfg.bandwidth
            departures.append(start)
        if cfg.loss and rng.random() < cfg.loss:
            return [(-1.0, packet, "lost")]
        delay = cfg.delay + (rng.random() * cfg.jitter if cfg.jitter else 0.0)
        fate = "delivered"
        if cfg.reorder and rng.random() < cfg.reorder:
            delay += cfg.reorder_delay
            fate = "reordered"
        if cfg.corrupt and rng.random() < cfg.corrupt:
            assert isinstance(packet, bytes), "a corrupting link needs the packet's bytes"
            packet = _corrupt(packet, rng)
            fate = "corrupted"
        arrivals: list[tuple[float, Packet, str]] = [(start + delay, packet, fate)]
        if cfg.duplicate and rng.random() < cfg.duplicate:
            arrivals.append((start + delay, packet, "duplicated"))
        return arrivals


def _mark_ce(packet: Packet) -> Packet:
    """Congestion Experienced on an ECN-capable packet (RFC 3168 5); others pass."""
    if not isinstance(packet, bytes):
        seg = packet[2]
        if seg.ecn in (ECT_0, ECT_1):
            seg.ecn = CE
        return packet
    if packet[0] >> 4 == 4:
        if packet[1] & 3 not in (ECT_0, ECT_1):
            return packet
        header = bytearray(packet[:20])
        header[1] |= CE
        header[10:12] = b"\0\0"
        header[10:12] = internet_checksum(bytes(header)).to_bytes(2, "big")
        return bytes(header) + packet[20:]
    if (packet[1] >> 4) & 3 not in (ECT_0, ECT_1):  # IPv6: traffic class bits 4-5
        return packet
    return packet[:1] + bytes((packet[1] | (CE << 4),)) + packet[2:]


def _corrupt(packet: bytes, rng: random.Random) -> bytes:
    """Flip one bit in the TCP part, so the receiver's checksum catches it."""
    header = 20 if packet[0] >> 4 == 4 else 40
    damaged = bytearray(packet)
    index = rng.randrange(header, len(packet))
    damaged[index] ^= 1 << rng.randrange(8)
    return bytes(damaged)


class FaultRule:
    """Act on the ``nth`` packet (counting from 1) that ``match`` accepts, and on the
    ``count - 1`` matching packets after it: ``drop`` it, ``delay`` it by
    ``delay`` seconds more, or ``duplicate`` it (the copy arrives ``delay``
    seconds after the original). ``applied`` counts the actions."""

    __slots__ = ("action", "applied", "count", "delay", "match", "nth", "seen")

    ACTIONS: Final = ("drop", "delay", "duplicate")

    def __init__(
        self,
        match: PacketMatch,
        action: str = "drop",
        nth: int = 1,
        count: int = 1,
        delay: float = 0.0,
    ) -> None:
        if nth < 1 or count < 1:
            raise ValueError("nth and count must be at least 1")
        if action not in self.ACTIONS:
            raise ValueError(f"unknown fault {action!r}: choose from {', '.join(self.ACTIONS)}")
        if action == "delay" and delay <= 0:
            raise ValueError("a delay fault needs a positive delay")
        if delay < 0:
            raise ValueError("a fault's delay cannot be negative")
        self.match = match
        self.action = action
        self.nth = nth
        self.count = count
        self.delay = delay
        self.seen = 0
        self.applied = 0

    @property
    def dropped(self) -> int:
        return self.applied if self.action == "drop" else 0

    def __call__(self, src: Host, dst: Host, packet: bytes) -> bool:
        """Whether this rule acts on the packet (every match advances the count)."""
        if self.applied >= self.count or not self.match(src, dst, packet):
            return False
        return self._counted()

    def on_segment(self, src: Host, dst: Host, seg: Segment) -> bool:
        """The same for a segment that was never encoded; ``match`` must be a
        :class:`SegmentMatch` (see :attr:`takes_segments`)."""
        match = self.match
        assert isinstance(match, SegmentMatch)
        if self.applied >= self.count or not match.segment(src, dst, seg):
            return False
        return self._counted()

    @property
    def takes_segments(self) -> bool:
        """Whether ``match`` can test a decoded segment, so the packet need not be encoded."""
        return isinstance(self.match, SegmentMatch)

    def _counted(self) -> bool:
        self.seen += 1
        if self.seen < self.nth:
            return False
        self.applied += 1
        return True


class SegmentMatch:
    """A packet match (``match(src, dst, packet)``) that can also test a decoded
    segment (``match.segment(src, dst, seg)``), so the network need not encode
    packets for fault rules. ``hosts(src, dst)`` tests the direction, ``test(seg)``
    the segment; either may be None (anything). Bytes that do not parse as TCP
    match only when ``test`` is None."""

    __slots__ = ("hosts", "test")

    def __init__(
        self,
        test: Callable[[Segment], bool] | None = None,
        hosts: Callable[[Host, Host], bool] | None = None,
    ) -> None:
        self.test = test
        self.hosts = hosts

    def __call__(self, src: Host, dst: Host, packet: bytes) -> bool:
        if self.hosts is not None and not self.hosts(src, dst):
            return False
        if self.test is None:
            return True
        try:
            _, _, seg = parse_tcp_packet(packet)
        except MalformedPacket:
            return False
        return self.test(seg)

    def segment(self, src: Host, dst: Host, seg: Segment) -> bool:
        if self.hosts is not None and not self.hosts(src, dst):
            return False
        return self.test is None or self.test(seg)


def segment_matcher(
    src: Host | None = None,
    dst: Host | None = None,
    flags: str | None = None,
    predicate: Callable[[Segment], bool] | None = None,
) -> PacketMatch:
    """A match for fault rules: direction (``src``/``dst`` hosts), tcpdump flags
    exactly (``"S"``, ``"S."``, ``"F."``, ``"."``...), and any test of the segment
    (``lambda seg: len(seg.payload) > 0``). It tests segments as well as bytes
    (a :class:`SegmentMatch`), so the packets it looks at need not be encoded."""

    def hosts(s: Host, d: Host) -> bool:
        return (src is None or s is src) and (dst is None or d is dst)

    def test(seg: Segment) -> bool:
        if flags is not None and tcpdump_flags(seg.flags) != flags:
            return False
        return predicate is None or predicate(seg)

    return SegmentMatch(test, hosts)


class Network:
    """Hosts, the links between them, and the clock."""

    def __init__(self, seed: int = 0, default_link: LinkConfig | None = None) -> None:
        self.clock = VirtualClock()
        self.rng = random.Random(seed)
        self.default_link = default_link or LinkConfig()
        self.hosts: list[Host] = []
        self._by_address: dict[IPAddress, Host] = {}
        self._by_packed: dict[bytes, Host] = {}  # the same, by packed address: the fast path
        self._links: dict[tuple[int, int], Link] = {}
        # Per sending host: packed destination -> (host, link, the link's config
        # then, whether it is plain). Cleared when hosts or links change.
        self._routes: dict[Host, dict[bytes, _Route]] = {}
        # Packets in flight, by arrival time: each time's packets in the order they
        # were sent (the order they arrive in), and the distinct times in a heap.
        # Most packets share their arrival time with others (a flight's segments,
        # a batch of hosts' output), so a packet costs an append, not a heap entry.
        self._arrivals: dict[float, list[tuple[Host, Packet]]] = {}
        self._times: list[float] = []
        self.taps: list[PacketTap] = []
        self.faults: list[FaultRule] = []
        self.apps: list[App] = []
        self.packets_delivered = 0
        self.packets_lost = 0
        # When each host is due, and which may have output (the loop's core,
        # shared with every driver). A Host's deadline changes only in
        # receive_packet, packets_to_send and handle_timer, which only this loop
        # calls; a caller that drives a host by hand tells us with ``touch``.
        # Quiet hosts are never polled.
        self.schedule = HostSchedule()
        # Hosts the loop drove since the apps last ran (see ``active_hosts``).
        self._active: dict[Host, None] = {}

    @property
    def now(self) -> float:
        """Virtual time, in seconds: the clock's."""
        return self.clock.now

    @now.setter
    def now(self, value: float) -> None:
        self.clock.now = value

    def add_host(self, host: Host) -> Host:
        for address in host.addresses:
            if address in self._by_address:
                raise ValueError(f"address {address} is already on the network")
        self.hosts.append(host)
        for address in host.addresses:
            self._by_address[address] = host
            self._by_packed[address.packed] = host
        self._routes.clear()
        host.on_output = self.schedule.output_ready
        self.schedule.add(host)
        return host

    def call_at(self, when: float, action: App) -> None:
        """Run ``action(network)`` at virtual time ``when`` (now, if that has passed),
        with the apps: after that instant's input and timers, before output."""
        self.clock.call_at(when, action, self)

    def active_hosts(self) -> list[Host]:
        """Hosts the loop delivered to, ran timers of or pulled output from since
        the apps last ran: only these can have new events. In ``hosts`` order."""
        return sorted(self._active, key=self.schedule.order.__getitem__)

    def touch(self, host: Host) -> None:
        """Look at ``host`` again: its deadline and its output (after driving it by
        hand, outside this loop; user calls such as send or close need not)."""
        self.schedule.output_ready(host)
        self.schedule.refresh(host)

    def set_link(self, src: Host, dst: Host, config: LinkConfig) -> None:
        """Configure the direction from ``src`` to ``dst``."""
        self._links[(id(src), id(dst))] = Link(src, dst, config, self.rng)
        self._routes.clear()

    def link(self, src: Host, dst: Host) -> Link:
        key = (id(src), id(dst))
        link = self._links.get(key)
        if link is None:
            link = self._links[key] = Link(src, dst, self.default_link, self.rng)
        return link

    def fault(
        self,
        match: PacketMatch,
        action: str = "drop",
        nth: int = 1,
        count: int = 1,
        delay: float = 0.0,
    ) -> FaultRule:
        """A scripted fault: see :class:`FaultRule`. It acts before the link's own fates."""
        rule = FaultRule(match, action, nth, count, delay)
        self.faults.append(rule)
        return rule

    def drop(self, match: PacketMatch, nth: int = 1, count: int = 1) -> FaultRule:
        """Lose the ``nth`` packet that ``match(src, dst, packet)`` accepts (and
        ``count - 1`` more after it), before the link decides its fate."""
        return self.fault(match, "drop", nth, count)

    def inject(self, src: Host, packet: bytes, fate: str = "injected") -> None:
        """Put ``packet`` on the link from ``src`` to its destination now, as if
        ``src`` had sent it: the taps see it with ``fate``, and it arrives after
        the link's delay (a scenario's replayed old duplicate, say)."""
        dst = self._by_packed.get(packet[16:20] if packet[0] >> 4 == 4 else packet[24:40])
        if dst is None:
            raise ValueError("no host on the network has the packet's destination address")
        now = self.now
        when = now + self.link(src, dst).config.delay
        self._tap(PacketEvent(now, when, src, dst, packet, fate))
        self._send(when, dst, packet)

    def _send(self, when: float, dst: Host, packet: Packet) -> None:
        """Put ``packet`` in flight, to arrive at ``dst`` at ``when``."""
        bucket = self._arrivals.get(when)
        if bucket is None:
            bucket = self._arrivals[when] = []
            heapq.heappush(self._times, when)
        bucket.append((dst, packet))

    # -- the loop -------------------------------------------------------
    def _flush(self) -> None:
        """Move every packet the hosts have ready onto the links."""
        if not self.schedule.pending:
            return
        hosts = self.schedule.take_pending()  # in the order hosts joined
        if self.taps:
            self._flush_bytes(hosts)
        else:
            self._flush_segments(hosts)

    def _flush_bytes(self, hosts: list[Host]) -> None:
        """The hosts' output as encoded packets, for the taps to see."""
        now = self.now
        by_packed = self._by_packed
        links = self._links
        send = self._send
        faults = self.faults
        active = self._active
        refresh = self.schedule.refresh
        for host in hosts:
            active[host] = None
            packets = host.packets_to_send(now)
            refresh(host)
            for packet in packets:
                dst = by_packed.get(packet[16:20] if packet[0] >> 4 == 4 else packet[24:40])
                if dst is None:
                    self._tap(PacketEvent(now, None, host, host, packet, "unroutable"))
                    continue
                link = links.get((id(host), id(dst)))
                if link is None:
                    link = self.link(host, dst)
                if faults:
                    arrivals = self._faulted(host, dst, link, packet, len(packet))
                else:
                    arrivals = link.arrivals(now, packet, len(packet))
                for when, copy, fate in arrivals:
                    assert isinstance(copy, bytes)
                    if when < 0:
                        self.packets_lost += 1
                        self._tap(PacketEvent(now, None, host, dst, copy, fate))
                        if fate == "too-big":
                            self._too_big(host, dst, copy, link)
                        continue
                    self._tap(PacketEvent(now, when, host, dst, copy, fate))
                    send(when, dst, copy)

    def _flush_segments(self, hosts: list[Host]) -> None:
        """The hosts' output with no tap to see it: segments travel as they are,
        and only those that need bytes (a corrupting link, a fault match written
        for bytes, options whose encoding would not decode the same) are encoded."""
        now = self.now
        in_flight = self._arrivals
        send = self._send
        faults = self.faults
        faults_need_bytes = not all(rule.takes_segments for rule in faults) if faults else False
        active = self._active
        refresh = self.schedule.refresh
        all_routes = self._routes
        lost = 0
        for host in hosts:
            active[host] = None
            items = host.segments_to_send(now)
            refresh(host)
            routes = all_routes.get(host)
            if routes is None:
                routes = all_routes[host] = {}
            for item in items:
                src_packed, dst_packed, seg = item
                route = routes.get(dst_packed)
                if route is None or route[1].config is not route[2]:
                    route = self._route(host, dst_packed)
                    if route is None:
                        continue  # unroutable: no tap to tell
                    routes[dst_packed] = route
                dst, link, cfg, plain = route
                options = seg.options
                olen = exact_options_length(options) if options else 0
                if plain and olen is not None and not faults:
                    # the usual case: no fault, no random fate, no queue: just the
                    # delay, most often behind packets already due then
                    when = now + cfg.delay
                    bucket = in_flight.get(when)
                    if bucket is None:
                        send(when, dst, item)
                    else:
                        bucket.append((dst, item))
                    continue
                packet: Packet
                if olen is None or faults_need_bytes or cfg.corrupt:
                    packet = encode_packed(src_packed, dst_packed, seg)
                    size = len(packet)
                else:
                    packet = item
                    size = (40 if len(dst_packed) == 4 else 60) + olen + len(seg.payload)
                if faults:
                    arrivals = self._faulted(host, dst, link, packet, size)
                else:
                    arrivals = link.arrivals(now, packet, size)
                for when, copy, fate in arrivals:
                    if when < 0:
                        lost += 1
                        if fate == "too-big":
                            self._too_big(host, dst, copy, link)
                        continue
                    send(when, dst, copy)
        if lost:
            self.packets_lost += lost

    def _too_big(self, host: Host, dst: Host, packet: Packet, link: Link) -> None:
        """A packet over ``link``'s MTU was dropped: as the router before the
        link would, answer one that may not be fragmented (IPv4 with DF, any
        IPv6) with an ICMP error naming the MTU (RFC 1191 4, RFC 8201), back to
        the sender over the reverse link. An IPv4 packet without DF is only
        dropped: the simulator does not fragment."""
        mtu = link.config.mtu
        assert mtu is not None
        if isinstance(packet, bytes):
            data = packet
            df = data[0] >> 4 == 6 or bool(data[6] & 0x40)
        else:
            src, dst_packed, seg = packet
            conn = host.connections.get(src + dst_packed + _PORTS.pack(seg.src_port, seg.dst_port))
            df = len(src) == 16 or conn is None or conn.dont_fragment
            data = encode_packed(src, dst_packed, seg, df=df)
        if not df:
            return
        if data[0] >> 4 == 4:
            icmp = icmp_error(data, ICMP_DEST_UNREACH, 4, mtu)  # fragmentation needed
        else:
            icmp = icmp_error(data, ICMP6_PACKET_TOO_BIG, 0, mtu)
        now = self.now
        for when, copy, fate in self.link(dst, host).arrivals(now, icmp, len(icmp)):
            assert isinstance(copy, bytes)
            self._tap(PacketEvent(now, when if when >= 0 else None, dst, host, copy, fate))
            if when < 0:
                self.packets_lost += 1
                continue
            self._send(when, host, copy)

    def _route(self, host: Host, dst_packed: bytes) -> _Route | None:
        dst = self._by_packed.get(dst_packed)
        if dst is None:
            return None
        link = self.link(host, dst)
        return dst, link, link.config, link.config.plain

    def _faulted(
        self, host: Host, dst: Host, link: Link, packet: Packet, size: int
    ) -> list[tuple[float, Packet, str]]:
        """The fates of one packet when fault rules are set."""
        if isinstance(packet, bytes):
            acting = [rule for rule in self.faults if rule(host, dst, packet)]
        else:
            seg = packet[2]
            acting = [rule for rule in self.faults if rule.on_segment(host, dst, seg)]
        # every rule sees every packet above, so their counts stay exact
        if any(rule.action == "drop" for rule in acting):
            return [(-1.0, packet, "dropped")]
        arrivals = link.arrivals(self.now, packet, size)
        for rule in acting:
            if rule.action == "delay":
                arrivals = [(t + rule.delay, p, "delayed") for t, p, _ in arrivals]
            else:  # a copy, ``delay`` seconds after the original
                copies = [(t + rule.delay, p, "duplicated") for t, p, _ in arrivals]
                arrivals = arrivals + copies
        return arrivals

    def _tap(self, event: PacketEvent) -> None:
        for tap in self.taps:
            tap(event)

    def _sync_hosts(self) -> None:
        """Hosts appended to ``hosts`` directly, not through ``add_host``."""
        schedule = self.schedule
        for host in self.hosts:
            if host not in schedule:
                self._routes.clear()
                for address in host.addresses:
                    self._by_address.setdefault(address, host)
                    self._by_packed.setdefault(address.packed, host)
                host.on_output = schedule.output_ready
                schedule.add(host)

    def _resync(self) -> None:
        """Look at every host again, in case one was driven by hand since the last call."""
        schedule = self.schedule
        if len(schedule) != len(self.hosts):
            self._sync_hosts()
        for host in self.hosts:
            if host.has_output:
                schedule.output_ready(host)
            schedule.refresh(host)

    def next_time(self) -> float | None:
        """When the next packet arrives or the next timer fires; None when idle."""
        self._resync()
        return self._next_time()

    def _next_time(self) -> float | None:
        best = self._times[0] if self._times else None
        t = self.schedule.next_deadline()
        if t is not None and (best is None or t < best):
            best = t
        scheduled = self.clock.next_time()
        if scheduled is not None and (best is None or scheduled < best):
            best = scheduled
        return best

    def step(self) -> bool:
        """Advance to the next event and handle everything due then. False when idle."""
        self._resync()
        self._flush()
        when = self._next_time()
        if when is None:
            return False
        self._advance(when)
        return True

    def _advance(self, when: float) -> None:
        """Move the clock to ``when`` (the next event) and handle everything due then."""
        clock = self.clock
        now = clock.now = max(clock.now, when)
        times = self._times
        if times and times[0] <= now:
            in_flight = self._arrivals
            received: dict[Host, None] = {}
            while times and times[0] <= now:
                arriving = in_flight.pop(heapq.heappop(times))
                self.packets_delivered += len(arriving)
                for dst, packet in arriving:
                    if isinstance(packet, bytes):
                        dst.receive_packet(packet, now)
                    else:
                        src_packed, dst_packed, seg = packet
                        dst.receive_segment(src_packed, dst_packed, seg, now)
                    received[dst] = None
            self._active.update(received)
            schedule = self.schedule
            schedule.pending.update(received)  # their output, after the apps
            for host in received:
                schedule.refresh(host)
        # Hosts whose deadline has come, in the order they joined the network.
        for host in self.schedule.run_timers(now):
            self._active[host] = None
        clock.run_due()
        for app in self.apps:
            app(self)
        self._active.clear()
        self._flush()

    def run(self, until: float | None = None, max_steps: int = 10_000_000) -> None:
        """Run until nothing is left to do, or the clock passes ``until``."""
        self._resync()
        self._flush()  # output queued by user calls counts as work before ``until``
        for _ in range(max_steps):
            when = self._next_time()  # each step ends with the output flushed
            if when is None or (until is not None and when > until):
                if until is not None:
                    self.now = max(self.now, until)
                return
            self._advance(when)
        raise RuntimeError(f"simulation did not settle within {max_steps} steps")

    def run_until(self, condition: Callable[[], bool], timeout: float = 3600.0) -> bool:
        """Step until ``condition()`` holds; False if time runs out or nothing is left to do."""
        deadline = self.now + timeout
        self._resync()
        while True:
            self._flush()
            if condition():
                return True
            when = self._next_time()
            if when is None or when > deadline:
                return False
            if self.schedule.pending:  # condition() made a user call: send that first
                self._flush()
                when = self._next_time()
                if when is None:
                    continue
            self._advance(when)
