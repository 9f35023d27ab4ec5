"""What the TUN driver writes with a virtio-net header (``vnet=True``), read
back from a datagram socket standing in for the device (each ``writev`` is one
datagram, as each is one packet on a TUN device): the same bytes whether a
super-segment's checksum field was left partial by the Host (written behind
its header uncopied) or holds the whole checksum (patched in a copy); plain
packets behind a plain header; a packet within the MTU but over
CSUM_OFFLOAD_ABOVE with its checksum left to the kernel (NEEDS_CSUM, no GSO)
when flush asked the Host for that; and a device that will not take more
keeps the rest, in order, for when it will."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from ipaddress import ip_address

import pytest

from synack.host import Host
from synack.net import vnet
from synack.net.driver import CSUM_OFFLOAD_ABOVE, TunDriver
from synack.tcp.config import TcpConfig
from synack.wire.ip import encode_packed, parse_tcp_packet
from synack.wire.segment import ACK, Segment

MTU = 1500
SRC, DST = ip_address("10.77.0.2").packed, ip_address("10.77.0.1").packed


def segment(payload: bytes) -> Segment:
    return Segment(src_port=80, dst_port=40000, seq=1, ack=2, flags=ACK, window=9, payload=payload)


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    ours, device = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    ours.setblocking(False)
    device.setblocking(False)
    yield ours, device
    ours.close()
    device.close()


def written(device: socket.socket) -> list[bytes]:
    frames = []
    while True:
        try:
            frames.append(device.recv(1 << 17))
        except BlockingIOError:
            return frames


def test_super_segment_frames_are_the_same_partial_or_whole(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, device = pair
    big = segment(bytes(range(256)) * 100)
    small = segment(b"x")

    async def run() -> list[bytes]:
        host = Host([ip_address("10.77.0.2")], TcpConfig(mtu=MTU))
        driver = TunDriver(host, ours.fileno(), vnet=True, mtu=MTU)
        host.partial_checksum_above = MTU  # as flush sets it: partial, framed uncopied
        driver.transmit([encode_packed(SRC, DST, big, partial_above=MTU)])
        host.partial_checksum_above = None  # a tap or an impairment: whole, patched
        driver.transmit([encode_packed(SRC, DST, big), encode_packed(SRC, DST, small)])
        assert (driver.packets_out, driver.gso_out, driver.dropped_out) == (3, 2, 0)
        driver.close()
        return written(device)

    frames = asyncio.run(run())
    assert len(frames) == 3
    # no connection to ask for its SMSS: the MTU's worth
    expected = vnet.gso_packet(encode_packed(SRC, DST, big), MTU - 40)
    assert frames[0] == frames[1] == expected
    assert frames[2] == vnet.PLAIN + encode_packed(SRC, DST, small)


def test_a_full_device_keeps_the_rest_in_order(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, device = pair
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    packets = [encode_packed(SRC, DST, segment(bytes([n]) * 1000)) for n in range(200)]

    async def run() -> list[bytes]:
        host = Host([ip_address("10.77.0.2")], TcpConfig(mtu=MTU))
        driver = TunDriver(host, ours.fileno(), vnet=True, mtu=MTU)
        got: list[bytes] = []
        driver.transmit(packets[:100])
        assert driver._backlog  # the socket took only some
        driver.transmit(packets[100:])  # behind the backlog, not before it
        while len(got) < len(packets):
            got += written(device)
            await asyncio.sleep(0.001)
        assert driver.packets_out == len(packets) and not driver._backlog
        driver.close()
        return got

    frames = asyncio.run(asyncio.wait_for(run(), 10))
    assert frames == [vnet.PLAIN + packet for packet in packets]


def test_a_long_packet_within_the_mtu_leaves_its_checksum_to_the_kernel(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, device = pair
    mtu = 9000
    seg = Segment(src_port=80, dst_port=40000, seq=1, ack=2, flags=ACK, window=9,
                  payload=bytes(range(256)) * 20)  # fmt: skip

    async def run() -> list[bytes]:
        host = Host([ip_address("10.77.0.2")], TcpConfig(mtu=mtu))
        driver = TunDriver(host, ours.fileno(), vnet=True, mtu=mtu)
        driver.flush()  # sets what the Host leaves partial
        assert host.partial_checksum_above == CSUM_OFFLOAD_ABOVE
        above = host.partial_checksum_above
        driver.transmit([encode_packed(SRC, DST, seg, partial_above=above)])
        driver.transmit([encode_packed(SRC, DST, segment(b"y" * 1000), partial_above=above)])
        assert driver.gso_out == 0
        driver.close()
        return written(device)

    long, short = asyncio.run(run())
    header, packet = vnet.parse(long)
    assert header == vnet.VnetHeader(vnet.F_NEEDS_CSUM, vnet.GSO_NONE, 40, 0, 20, 16)
    whole = encode_packed(SRC, DST, seg)
    assert bytes(vnet.complete_checksum(packet, 20, 16)) == whole
    # 1,040 bytes: its own checksum, whole, behind a plain header
    header, packet = vnet.parse(short)
    assert header == vnet.VnetHeader() and parse_tcp_packet(packet)[2].payload == b"y" * 1000
