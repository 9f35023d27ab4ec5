"""The simulator's links under the driver loop, on a real or a virtual clock.

:class:`~synack.sim.network.Network` runs on a virtual clock, as fast as it
can. Code written against asyncio (``synack.aio`` streams) needs the loop's
own clock instead: here each Host runs on a :class:`~synack.driver.HostDriver`
(on the running asyncio loop, or on any other :class:`~synack.driver.Clock`),
and packets between Hosts take the fates of the same
:class:`~synack.sim.network.Link` (delay, jitter, bandwidth, loss,
duplication, reordering, corruption), arriving through the clock's
``call_at``. Nothing touches a real network.
"""

from __future__ import annotations

import asyncio
import heapq
import random

from synack.driver import Clock, HostDriver
from synack.host import Host
from synack.sim.network import Link, LinkConfig
from synack.wire.ip import parse_address


class LiveNetwork:
    """Hosts joined by simulated links, in real time (see the module docstring)."""

    def __init__(
        self,
        link: LinkConfig | None = None,
        seed: int = 1,
        clock: Clock | None = None,
    ) -> None:
        self.clock: Clock = clock if clock is not None else asyncio.get_running_loop()
        self.default_link = link if link is not None else LinkConfig(delay=0.001)
        self.rng = random.Random(seed)
        self.drivers: dict[bytes, LinkDriver] = {}  # packed address -> driver
        self._links: dict[tuple[Host, Host], Link] = {}
        self.packets_lost = 0

    def add_host(self, host: Host) -> LinkDriver:
        driver = LinkDriver(host, self)
        for address in host.addresses:
            self.drivers[address.packed] = driver
        return driver

    def set_link(self, src: Host, dst: Host, config: LinkConfig) -> None:
        """The link from ``src`` to ``dst`` (one direction) takes ``config``."""
        self._links[(src, dst)] = Link(src, dst, config, self.rng)

    def link(self, src: Host, dst: Host) -> Link:
        link = self._links.get((src, dst))
        if link is None:
            link = self._links[(src, dst)] = Link(src, dst, self.default_link, self.rng)
        return link

    def driver_for(self, address: str) -> LinkDriver:
        return self.drivers[parse_address(address).packed]

    def close(self) -> None:
        for driver in set(self.drivers.values()):
            driver.close()


class LinkDriver(HostDriver):
    """A Host whose packets go out over the live network's links."""

    def __init__(self, host: Host, network: LiveNetwork) -> None:
        super().__init__(host, network.clock)
        self.network = network
        # Packets on their way here, as (arrival, order, packet): each arrival
        # has its own call on the clock, and each call delivers the earliest
        # packet, so packets due at the same instant arrive in the order they
        # were sent (asyncio's timer heap does not keep ties in order).
        self._arrivals: list[tuple[float, int, bytes]] = []
        self._sent_order = 0

    def deliver_at(self, when: float, packet: bytes) -> None:
        """``packet`` arrives here at clock time ``when``."""
        self._sent_order += 1
        heapq.heappush(self._arrivals, (when, self._sent_order, packet))
        self.clock.call_at(when, self._arrive)

    def _arrive(self) -> None:
        self.receive([heapq.heappop(self._arrivals)[2]])

    def transmit(self, packets: list[bytes]) -> None:
        network = self.network
        clock = self.clock
        now = self.now()
        for packet in packets:
            dst_packed = packet[16:20] if packet[0] >> 4 == 4 else packet[24:40]
            dst = network.drivers.get(dst_packed)
            if dst is None:
                network.packets_lost += 1  # no such host: like a packet to nowhere
                continue
            for when, copy, _ in network.link(self.host, dst.host).fates(now, packet):
                if when < 0:
                    network.packets_lost += 1
                    continue
                dst.deliver_at(clock.time() + max(when - now, 0.0), copy)
