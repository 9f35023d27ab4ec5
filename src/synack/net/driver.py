"""A Host behind a TUN device, on an asyncio event loop.

:class:`TunDriver` is the driver loop of :mod:`synack.driver` with packets
read from and written to a TUN device's file descriptor.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

from synack.driver import HostDriver, Impairment
from synack.host import Host

READ_BATCH = 256  # packets read from the device before the Host's output is flushed
MAX_PACKET = 65536


class TunDriver(HostDriver):
    """A Host behind a TUN device: reads packets in batches as the fd becomes
    readable, writes the Host's output straight back into it.

    ``inbound`` and ``outbound`` put an :class:`~synack.driver.Impairment`
    (say, a simulated link with loss, delay, jitter, reordering, duplication)
    between the device and the Host, for kernels without netem.
    """

    def __init__(
        self,
        host: Host,
        fd: int,
        loop: asyncio.AbstractEventLoop | None = None,
        inbound: Impairment | None = None,
        outbound: Impairment | None = None,
    ) -> None:
        self.loop = loop if loop is not None else asyncio.get_running_loop()
        super().__init__(host, self.loop)
        self.fd = fd
        self.device: str | None = None  # the device's name, where known
        self._backlog: list[bytes] = []  # packets the device would not take yet
        self.packets_in = self.packets_out = self.dropped_out = 0
        self.impaired = 0  # packets lost on the impaired links
        self.inbound = inbound
        self.outbound = outbound
        self.loop.add_reader(fd, self._readable)

    def receive(self, packets: list[bytes]) -> None:
        if self.inbound is None:
            super().receive(packets)
            return
        self._impair(self.inbound, packets, super().receive)

    def _impair(
        self, link: Impairment, packets: list[bytes], onward: Callable[[list[bytes]], None]
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
        if self.outbound is not None:
            self._impair(self.outbound, packets, self._send)
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
