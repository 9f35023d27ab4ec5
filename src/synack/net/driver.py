"""Run a Host on an asyncio event loop.

A driver owns one Host. It keeps one loop timer for the whole Host (at
``host.get_timer()``), flushes the Host's output in batches after input, a
timer or a user call, and hands the Host's events to subscribers (the
``synack.aio`` streams). Subclasses say how packets leave: into a TUN device
(:class:`TunDriver`) or onto a simulated link (``synack.sim.live``).
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Callable

from synack.host import Host, HostEvent
from synack.sim.network import Link, LinkConfig

READ_BATCH = 256  # packets read from the device before the Host's output is flushed
MAX_PACKET = 65536


class HostDriver:
    """The loop side of a Host: timers, output and events (see the module docstring)."""

    def __init__(self, host: Host, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.host = host
        self.loop = loop if loop is not None else asyncio.get_running_loop()
        self._epoch = self.loop.time()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._flush_pending = False
        self._subscribers: list[Callable[[HostEvent], None]] = []
        self._after_flush: list[Callable[[], None]] = []
        self.closed = False
        host.on_output = self._output_ready

    def now(self) -> float:
        """The Host's clock: loop time since the driver started."""
        return self.loop.time() - self._epoch

    def subscribe(
        self, on_event: Callable[[HostEvent], None], after_flush: Callable[[], None] | None = None
    ) -> None:
        self._subscribers.append(on_event)
        if after_flush is not None:
            self._after_flush.append(after_flush)

    def receive(self, packets: list[bytes]) -> None:
        """Packets from the network. Events go to the subscribers now; the output
        goes at the next turn of the loop, so that what the application does
        about them (an answer, a close) leaves in the same segments as the ACKs."""
        now = self.now()
        receive = self.host.receive_packet
        for packet in packets:
            receive(packet, now)
        self._dispatch()
        if not self._flush_pending and not self.closed:
            self._flush_pending = True
            self.loop.call_soon(self.flush)

    def flush(self) -> None:
        """Send what is due, hand events on, and set the one timer."""
        self._flush_pending = False
        if self.closed:
            return
        host = self.host
        # Events may lead to user calls with more output: go round until quiet.
        for _ in range(64):
            packets = host.packets_to_send(self.now()) if host.has_output else []
            if packets:
                self.transmit(packets)
            dispatched = self._dispatch()
            if not packets and not dispatched:
                break
        for hook in self._after_flush:
            hook()
        self._reschedule()

    def _dispatch(self) -> bool:
        any_event = False
        while (event := self.host.next_event()) is not None:
            any_event = True
            for subscriber in self._subscribers:
                subscriber(event)
        return any_event

    def _output_ready(self, host: Host) -> None:
        if not self._flush_pending and not self.closed:
            self._flush_pending = True
            self.loop.call_soon(self.flush)

    def _reschedule(self) -> None:
        deadline = self.host.get_timer()
        if deadline == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = deadline
        self._timer = (
            None if deadline is None else self.loop.call_at(self._epoch + deadline, self._on_timer)
        )

    def _on_timer(self) -> None:
        self._timer = self._timer_at = None
        self.host.handle_timer(max(self.now(), 0.0))
        self.flush()

    def transmit(self, packets: list[bytes]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
        self.host.on_output = None


class TunDriver(HostDriver):
    """A Host behind a TUN device: reads packets in batches as the fd becomes
    readable, writes the Host's output straight back into it.

    ``impair`` puts a simulated link (loss, delay, jitter, reordering,
    duplication; see :class:`~synack.sim.network.LinkConfig`) in both
    directions between the device and the Host, for kernels without netem.
    """

    def __init__(
        self,
        host: Host,
        fd: int,
        loop: asyncio.AbstractEventLoop | None = None,
        impair: LinkConfig | None = None,
        seed: int = 1,
    ) -> None:
        super().__init__(host, loop)
        self.fd = fd
        self._backlog: list[bytes] = []  # packets the device would not take yet
        self.packets_in = self.packets_out = self.dropped_out = 0
        self.impaired = 0  # packets lost on the impaired links
        self._links: tuple[Link, Link] | None = None
        if impair is not None:
            rng = random.Random(seed)
            self._links = (Link(host, host, impair, rng), Link(host, host, impair, rng))
        self.loop.add_reader(fd, self._readable)

    def receive(self, packets: list[bytes]) -> None:
        if self._links is None:
            super().receive(packets)
            return
        self._impair(self._links[0], packets, super().receive)

    def _impair(
        self, link: Link, packets: list[bytes], onward: Callable[[list[bytes]], None]
    ) -> None:
        now = self.now()
        for packet in packets:
            for when, copy, _ in link.fates(now, packet):
                if when < 0:
                    self.impaired += 1
                else:
                    self.loop.call_later(max(when - now, 0.0), onward, [copy])

    def _readable(self) -> None:
        packets = []
        read = os.read
        fd = self.fd
        for _ in range(READ_BATCH):
            try:
                packets.append(read(fd, MAX_PACKET))
            except BlockingIOError:
                break
            except OSError:  # the device went away
                self.close()
                return
        if packets:
            self.packets_in += len(packets)
            self.receive(packets)

    def transmit(self, packets: list[bytes]) -> None:
        if self._links is not None:
            self._impair(self._links[1], packets, self._send)
            return
        self._send(packets)

    def _send(self, packets: list[bytes]) -> None:
        if self.closed:
            return
        if self._backlog:
            self._backlog.extend(packets)
            return
        self._write(packets)

    def _write(self, packets: list[bytes]) -> None:
        write = os.write
        fd = self.fd
        for i, packet in enumerate(packets):
            try:
                write(fd, packet)
            except BlockingIOError:
                self._backlog = packets[i:]
                self.loop.add_writer(fd, self._writable)
                return
            except OSError:  # e.g. the kernel has no route for it: the packet is lost
                self.dropped_out += 1
                continue
            self.packets_out += 1

    def _writable(self) -> None:
        self.loop.remove_writer(self.fd)
        backlog, self._backlog = self._backlog, []
        self._write(backlog)

    def close(self) -> None:
        if not self.closed:
            self.loop.remove_reader(self.fd)
            if self._backlog:
                self.loop.remove_writer(self.fd)
        super().close()
