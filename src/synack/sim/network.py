"""Hosts joined by links, driven on a virtual clock.

The loop pumps every Host through ``packets_to_send``, ``get_timer`` and
``handle_timer``, and delivers packets after each link's delay. Given the
same seed it does the same thing every time.

Two hooks shape a scenario beyond the links' random faults: ``drop`` loses
chosen packets (say, the first SYN,ACK), and ``apps`` are callbacks that run
at each instant after input and timers but before the hosts' output is
pulled, so what an application does in reaction (a CLOSE on end of stream)
leaves in the same segments as the ACK the input caused.
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from synack.host import Host
from synack.wire.errors import MalformedPacket
from synack.wire.ip import IPAddress, parse_tcp_packet
from synack.wire.segment import Segment, tcpdump_flags

PacketMatch = Callable[[Host, Host, bytes], bool]  # src, dst, packet
App = Callable[["Network"], None]


@dataclass(frozen=True, slots=True)
class PacketEvent:
    """What happened to one packet on a link: the taps see one per copy."""

    sent: float
    arrival: float | None  # None: it never arrives
    src: Host
    dst: Host
    packet: bytes  # as it arrives (corrupted packets carry the damage)
    # delivered, lost, dropped (a fault rule), queue-full, duplicated, reordered,
    # delayed (a fault rule), corrupted, unroutable
    fate: str


PacketTap = Callable[[PacketEvent], None]


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

        An empty list means it is lost; the caller learns why from ``lost_reason``.
        """
        cfg = self.config
        rng = self.rng
        start = now
        if cfg.bandwidth is not None:
            departures = self._departures
            while departures and departures[0] <= now:
                departures.popleft()
            if cfg.queue_limit is not None and len(departures) > cfg.queue_limit:
                return [(-1.0, packet, "queue-full")]
            if departures:
                start = departures[-1]
            start += len(packet) * 8 / cfg.bandwidth
            departures.append(start)
        if cfg.loss and rng.random() < cfg.loss:
            return [(-1.0, packet, "lost")]
        delay = cfg.delay + (rng.random() * cfg.jitter if cfg.jitter else 0.0)
        fate = "delivered"
        if cfg.reorder and rng.random() < cfg.reorder:
            delay += cfg.reorder_delay
            fate = "reordered"
        if cfg.corrupt and rng.random() < cfg.corrupt:
            packet = _corrupt(packet, rng)
            fate = "corrupted"
        arrivals = [(start + delay, packet, fate)]
        if cfg.duplicate and rng.random() < cfg.duplicate:
            arrivals.append((start + delay, packet, "duplicated"))
        return arrivals


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

    ACTIONS = ("drop", "delay", "duplicate")

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
        self.seen += 1
        if self.seen < self.nth:
            return False
        self.applied += 1
        return True


DropRule = FaultRule  # the name the first scenarios used


def segment_matcher(
    src: Host | None = None,
    dst: Host | None = None,
    flags: str | None = None,
    predicate: Callable[[Segment], bool] | None = None,
) -> PacketMatch:
    """A match for fault rules: direction (``src``/``dst`` hosts), tcpdump flags
    exactly (``"S"``, ``"S."``, ``"F."``, ``"."``...), and any test of the segment
    (``lambda seg: len(seg.payload) > 0``)."""

    def match(s: Host, d: Host, packet: bytes) -> bool:
        if (src is not None and s is not src) or (dst is not None and d is not dst):
            return False
        try:
            _, _, seg = parse_tcp_packet(packet)
        except MalformedPacket:
            return False
        if flags is not None and tcpdump_flags(seg.flags) != flags:
            return False
        return predicate is None or predicate(seg)

    return match


class Network:
    """Hosts, the links between them, and the clock."""

    def __init__(self, seed: int = 0, default_link: LinkConfig | None = None) -> None:
        self.now = 0.0
        self.rng = random.Random(seed)
        self.default_link = default_link or LinkConfig()
        self.hosts: list[Host] = []
        self._by_address: dict[IPAddress, Host] = {}
        self._links: dict[tuple[int, int], Link] = {}
        self._queue: list[tuple[float, int, Host, bytes]] = []
        self._counter = 0
        self.taps: list[PacketTap] = []
        self.faults: list[FaultRule] = []
        self.apps: list[App] = []
        self.packets_delivered = 0
        self.packets_lost = 0

    def add_host(self, host: Host) -> Host:
        self.hosts.append(host)
        for address in host.addresses:
            if address in self._by_address:
                raise ValueError(f"address {address} is already on the network")
            self._by_address[address] = host
        return host

    def set_link(self, src: Host, dst: Host, config: LinkConfig) -> None:
        """Configure the direction from ``src`` to ``dst``."""
        self._links[(id(src), id(dst))] = Link(src, dst, config, self.rng)

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

    # -- the loop -------------------------------------------------------
    def _flush(self) -> None:
        """Move every packet the hosts have ready onto the links."""
        now = self.now
        for host in self.hosts:
            for packet in host.packets_to_send(now):
                dst = self._by_address.get(_destination(packet))
                if dst is None:
                    self._tap(PacketEvent(now, None, host, host, packet, "unroutable"))
                    continue
                acting = [rule for rule in self.faults if rule(host, dst, packet)]
                # every rule sees every packet above, so their counts stay exact
                if any(rule.action == "drop" for rule in acting):
                    arrivals = [(-1.0, packet, "dropped")]
                else:
                    arrivals = self.link(host, dst).fates(now, packet)
                    for rule in acting:
                        if rule.action == "delay":
                            arrivals = [(t + rule.delay, p, "delayed") for t, p, _ in arrivals]
                        else:  # a copy, ``delay`` seconds after the original
                            copies = [(t + rule.delay, p, "duplicated") for t, p, _ in arrivals]
                            arrivals = arrivals + copies
                for when, copy, fate in arrivals:
                    if when < 0:
                        self.packets_lost += 1
                        self._tap(PacketEvent(now, None, host, dst, copy, fate))
                        continue
                    self._tap(PacketEvent(now, when, host, dst, copy, fate))
                    self._counter += 1
                    heapq.heappush(self._queue, (when, self._counter, dst, copy))

    def _tap(self, event: PacketEvent) -> None:
        for tap in self.taps:
            tap(event)

    def next_time(self) -> float | None:
        best = self._queue[0][0] if self._queue else None
        for host in self.hosts:
            t = host.get_timer()
            if t is not None and (best is None or t < best):
                best = t
        return best

    def step(self) -> bool:
        """Advance to the next event and handle everything due then. False when idle."""
        self._flush()
        when = self.next_time()
        if when is None:
            return False
        self.now = max(self.now, when)
        now = self.now
        queue = self._queue
        while queue and queue[0][0] <= now:
            _, _, dst, packet = heapq.heappop(queue)
            self.packets_delivered += 1
            dst.receive_packet(packet, now)
        for host in self.hosts:
            t = host.get_timer()
            if t is not None and t <= now:
                host.handle_timer(now)
        for app in self.apps:
            app(self)
        self._flush()
        return True

    def run(self, until: float | None = None, max_steps: int = 10_000_000) -> None:
        """Run until nothing is left to do, or the clock passes ``until``."""
        for _ in range(max_steps):
            if until is not None:
                self._flush()  # output queued by user calls counts as work before ``until``
                when = self.next_time()
                if when is None or when > until:
                    self._flush()
                    self.now = max(self.now, until)
                    return
            if not self.step():
                return
        raise RuntimeError(f"simulation did not settle within {max_steps} steps")

    def run_until(self, condition: Callable[[], bool], timeout: float = 3600.0) -> bool:
        """Step until ``condition()`` holds; False if time runs out or nothing is left to do."""
        deadline = self.now + timeout
        while True:
            self._flush()
            if condition():
                return True
            when = self.next_time()
            if when is None or when > deadline:
                return False
            self.step()


def _destination(packet: bytes) -> IPAddress:
    if packet[0] >> 4 == 4:
        return IPv4Address(packet[16:20])
    return IPv6Address(packet[24:40])
