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
from synack.net import vnet

READ_BATCH = 256  # packets read from the device before the Host's output is flushed
# with offloads, the kernel finishes the TCP checksum of every packet longer
# than this (Python's costs about 170 us per 64 KB); shorter ones carry theirs
CSUM_OFFLOAD_ABOVE = 1500
MAX_PACKET = 65536
# with a virtio-net header: the header, and an IPv6 packet of a 65,535-byte payload
_HDR_LEN_ONLY = vnet.hdr_len_only
MAX_VNET_READ = vnet.VNET_HDR_LEN + 40 + 65535


class TunDriver(HostDriver):
    """A Host behind a TUN device: reads packets in batches as the fd becomes
    readable, writes the Host's output straight back into it.

    ``inbound`` and ``outbound`` put an :class:`~synack.driver.Impairment`
    (say, a simulated link with loss, delay, jitter, reordering, duplication)
    between the device and the Host, for kernels without netem.

    ``vnet``: the device was opened with a virtio-net header and offloads
    (:func:`synack.net.tun.open_tun_offload`). Each packet read then loses its
    header (a super-segment's partial checksum completed first), and each
    packet longer than ``mtu`` (the Host's, by default) goes out asking the
    kernel to cut it into segments of its connection's SMSS; the kernel
    finishes the TCP checksum of each packet longer than
    :data:`CSUM_OFFLOAD_ABOVE`. Callers tapping ``receive`` and ``transmit``
    see plain IP packets with whole checksums, super-segments whole.
    """

    def __init__(
        self,
        host: Host,
        fd: int,
        loop: asyncio.AbstractEventLoop | None = None,
        inbound: Impairment | None = None,
        outbound: Impairment | None = None,
        vnet: bool = False,
        mtu: int | None = None,
    ) -> None:
        self.loop = loop if loop is not None else asyncio.get_running_loop()
        super().__init__(host, self.loop)
        self.fd = fd
        self.device: str | None = None  # the device's name, where known
        # packets the device would not take yet, as the buffers of a writev each
        self._backlog: list[tuple[bytes, ...]] = []
        self.packets_in = self.packets_out = self.dropped_out = 0
        self.impaired = 0  # packets lost on the impaired links
        self.inbound = inbound
        self.outbound = outbound
        self.vnet = vnet
        self.mtu = mtu if mtu is not None else host.config.mtu
        self.largest_in = self.largest_out = 0  # the longest IP packets read and written
        self.gso_out = 0  # packets handed to the kernel to segment
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
        if self.vnet:
            self._readable_vnet()
            return
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

    def flush(self) -> None:
        if self.vnet:
            # the kernel finishes the checksums of long packets (and of the
            # super-segments it cuts), unless something must see them whole
            # (a tap on transmit, an impairment that may corrupt them after
            # the checksum)
            plain = self.outbound is not None or "transmit" in self.__dict__
            above = min(self.mtu, CSUM_OFFLOAD_ABOVE)
            self.host.partial_checksum_above = None if plain else above
        super().flush()

    def _readable_vnet(self) -> None:
        reads: list[bytes] = []  # header and packet, as read
        read = os.read
        fd = self.fd
        skip = vnet.VNET_HDR_LEN
        for _ in range(READ_BATCH):
            try:
                data = read(fd, MAX_VNET_READ)
            except BlockingIOError:
                break
            except OSError:
                self.close()
                return
            if len(data) > skip:
                reads.append(data)
        if not reads:
            return
        self.packets_in += len(reads)
        self.largest_in = max(self.largest_in, max(map(len, reads)) - skip)
        needs_csum = vnet.F_NEEDS_CSUM
        if self.inbound is None and "receive" not in self.__dict__:
            # straight to the Host, which leaves a partial checksum (NEEDS_CSUM)
            # unchecked: completing it only for the Host to check it again
            # would cost two passes over up to 64 KB
            now = self.now()
            receive = self.host.receive_packet
            for data in reads:
                receive(data[skip:], now, not data[0] & needs_csum)
            self._dispatch()
            self._flush_soon()
            return
        # someone taps receive() (a live trace and its pcap), or an impairment
        # may corrupt packets: each is passed on with its checksum complete
        packets: list[bytes] = []
        for data in reads:
            if data[0] & needs_csum:
                header, packet = vnet.parse(data)
                try:
                    packets.append(
                        bytes(vnet.complete_checksum(packet, header.csum_start, header.csum_offset))
                    )
                except ValueError:
                    continue  # a header pointing outside its packet: dropped
            else:
                packets.append(data[skip:])
        self.receive(packets)

    def _framed(self, packet: bytes, partial_above: int | None) -> tuple[bytes, ...]:
        """``packet`` behind its virtio-net header, as the buffers of one
        ``writev`` (no copy of the packet). ``partial_above``: the Host's
        ``partial_checksum_above`` when it made the packet; a longer packet's
        checksum field holds the pseudo-header's sum, for the kernel to finish
        (NEEDS_CSUM). A packet over the MTU goes asking the kernel to cut it
        into segments; one with a whole checksum is patched in a copy."""
        size = len(packet)
        if size > self.largest_out:
            self.largest_out = size
        if size <= self.mtu:
            if partial_above is not None and size > partial_above:
                return vnet.partial_header(packet), packet
            if size < 4096:
                return vnet.PLAIN, packet
            # hdr_len: the kernel copies the headers into the buffer's head and
            # maps the rest as pages, rather than one 64 KB allocation
            start = (packet[0] & 0x0F) * 4 if packet[0] >> 4 == 4 else 40
            return _HDR_LEN_ONLY(start + (packet[start + 12] >> 4) * 4), packet
        version = packet[0] >> 4
        if version == 4:
            start = (packet[0] & 0x0F) * 4
            key = packet[12:20] + packet[start : start + 4]
        else:
            start = 40
            key = packet[8:40] + packet[start : start + 4]
        conn = self.host.connections.get(key)
        tcp_header = (packet[start + 12] >> 4) * 4
        if conn is not None:
            # SMSS, less the options beyond the timestamps it leaves room for
            # (SACK blocks): the kernel repeats the header on every piece
            extra = tcp_header - 20 - (12 if conn.ts_ok else 0)
            gso_size = conn.mss_payload() - max(extra, 0)
        else:
            gso_size = self.mtu - start - tcp_header  # a connection gone: the MTU's worth
        gso_size = max(gso_size, 1)
        self.gso_out += 1
        if partial_above is not None:  # at most the MTU: this one's is partial
            return vnet.gso_header(packet, gso_size), packet
        return (vnet.gso_packet(packet, gso_size),)

    def transmit(self, packets: list[bytes]) -> None:
        if self.outbound is not None:
            self._impair(self.outbound, packets, self._send)
            return
        self._send(packets)

    def _send(self, packets: list[bytes]) -> None:
        if self.closed:
            return
        if self.vnet:
            # framed as they come: which checksums are partial is the setting
            # of the flush that made them (an impaired packet, later, was made
            # with none)
            above = self.host.partial_checksum_above
            framed = self._framed
            frames = [framed(packet, above) for packet in packets]
        else:
            frames = [(packet,) for packet in packets]
        if self._backlog:
            self._backlog.extend(frames)
            return
        self._write(frames)

    def _write(self, frames: list[tuple[bytes, ...]]) -> None:
        writev = os.writev
        fd = self.fd
        for i, frame in enumerate(frames):
            try:
                writev(fd, frame)
            except BlockingIOError:
                self._backlog = frames[i:]
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
