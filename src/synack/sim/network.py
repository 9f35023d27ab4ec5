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
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from synack.host import Host
from synack.wire.ip import IPAddress

PacketTap = Callable[[float, Host, Host, bytes, str], None]  # now, src, dst, packet, fate
PacketMatch = Callable[[Host, Host, bytes], bool]  # src, dst, packet
App = Callable[["Network"], None]


@dataclass(frozen=True, slots=True)
class LinkConfig:
    """One direction of a link."""

    delay: float = 0.010  # one-way, seconds
    loss: float = 0.0  # probability a packet is dropped
    duplicate: float = 0.0  # probability a packet is delivered twice
    reorder: float = 0.0  # probability a packet is held back by an extra delay
    reorder_delay: float = 0.005

    def __post_init__(self) -> None:
        for name in ("loss", "duplicate", "reorder"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a probability between 0 and 1, not {value}")
        if self.delay < 0 or self.reorder_delay < 0:
            raise ValueError("delays cannot be negative")


class Link:
    """One direction between two hosts: decides each packet's fate and arrival time."""

    __slots__ = ("config", "dst", "rng", "src")

    def __init__(self, src: Host, dst: Host, config: LinkConfig, rng: random.Random) -> None:
        self.src = src
        self.dst = dst
        self.config = config
        self.rng = rng

    def fates(self, now: float) -> list[tuple[float, str]]:
        """Arrival times for one packet sent now: none if lost, two if duplicated."""
        cfg = self.config
        rng = self.rng
        if cfg.loss and rng.random() < cfg.loss:
            return []
        delay = cfg.delay
        fate = "delivered"
        if cfg.reorder and rng.random() < cfg.reorder:
            delay += cfg.reorder_delay
            fate = "reordered"
        arrivals = [(now + delay, fate)]
        if cfg.duplicate and rng.random() < cfg.duplicate:
            arrivals.append((now + delay, "duplicated"))
        return arrivals


class DropRule:
    """Lose the ``nth`` packet (counting from 1) that ``match`` accepts, and the
    ``count - 1`` matching packets after it. ``dropped`` counts the losses."""

    __slots__ = ("count", "dropped", "match", "nth", "seen")

    def __init__(self, match: PacketMatch, nth: int = 1, count: int = 1) -> None:
        if nth < 1 or count < 1:
            raise ValueError("nth and count must be at least 1")
        self.match = match
        self.nth = nth
        self.count = count
        self.seen = 0
        self.dropped = 0

    def __call__(self, src: Host, dst: Host, packet: bytes) -> bool:
        """Whether to lose this packet (every matching packet advances the count)."""
        if self.dropped >= self.count or not self.match(src, dst, packet):
            return False
        self.seen += 1
        if self.seen < self.nth:
            return False
        self.dropped += 1
        return True


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
        self.drops: list[DropRule] = []
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

    def drop(self, match: PacketMatch, nth: int = 1, count: int = 1) -> DropRule:
        """Lose the ``nth`` packet that ``match(src, dst, packet)`` accepts (and
        ``count - 1`` more after it), before the link decides its fate."""
        rule = DropRule(match, nth, count)
        self.drops.append(rule)
        return rule

    # -- the loop -------------------------------------------------------
    def _flush(self) -> None:
        """Move every packet the hosts have ready onto the links."""
        now = self.now
        for host in self.hosts:
            for packet in host.packets_to_send(now):
                dst = self._by_address.get(_destination(packet))
                if dst is None:
                    self._tap(host, host, packet, "unroutable")
                    continue
                dropped = False
                for rule in self.drops:  # every rule sees every packet: counts stay exact
                    dropped = rule(host, dst, packet) or dropped
                arrivals = [] if dropped else self.link(host, dst).fates(now)
                if not arrivals:
                    self.packets_lost += 1
                    self._tap(host, dst, packet, "lost")
                for when, fate in arrivals:
                    self._tap(host, dst, packet, fate)
                    self._counter += 1
                    heapq.heappush(self._queue, (when, self._counter, dst, packet))

    def _tap(self, src: Host, dst: Host, packet: bytes, fate: str) -> None:
        for tap in self.taps:
            tap(self.now, src, dst, packet, fate)

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
