"""The virtio-net header a TUN device opened with ``IFF_VNET_HDR`` puts before
each packet (linux/virtio_net.h, ``struct virtio_net_hdr``; 10 bytes, in the
machine's byte order for a legacy TUN device).

On receive, the kernel hands over a super-segment of up to 64 KB with
``gso_type`` TCPV4/TCPV6 and, with ``VIRTIO_NET_HDR_F_NEEDS_CSUM``, a TCP
checksum field holding only the pseudo-header's partial sum:
:func:`complete_checksum` finishes it, so the packet is an ordinary (large)
IP packet from then on. On send, :func:`gso_header` asks the kernel to cut a
super-segment into ``gso_size``-byte pieces and checksum each: the header
says where the checksum goes, and the field holds the pseudo-header's sum, as
a NIC doing TSO expects (the Host leaves it so; :func:`gso_packet` puts it
into a copy of a packet with a complete checksum).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from synack.wire.checksum import ones_complement_sum, pseudo_header

VNET_HDR = struct.Struct("=BBHHHH")  # flags, gso_type, hdr_len, gso_size, csum_start, csum_offset
VNET_HDR_LEN = VNET_HDR.size  # 10

F_NEEDS_CSUM = 1
F_DATA_VALID = 2
GSO_NONE = 0
GSO_TCPV4 = 1
GSO_UDP = 3
GSO_TCPV6 = 4
GSO_ECN = 0x80

TCP_CHECKSUM_OFFSET = 16  # of the checksum field within the TCP header
_CWR = 0x80
PLAIN = bytes(VNET_HDR_LEN)  # no offload asked: the packet is complete as it is


def hdr_len_only(hdr_len: int) -> bytes:
    """A header asking nothing of the kernel but saying how long the packet's
    headers are (so the kernel copies those, and maps the rest as pages)."""
    return VNET_HDR.pack(0, GSO_NONE, hdr_len, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class VnetHeader:
    flags: int = 0
    gso_type: int = GSO_NONE
    hdr_len: int = 0
    gso_size: int = 0
    csum_start: int = 0
    csum_offset: int = 0

    def encode(self) -> bytes:
        return VNET_HDR.pack(
            self.flags, self.gso_type, self.hdr_len, self.gso_size, self.csum_start,
            self.csum_offset,
        )  # fmt: skip

    @property
    def needs_csum(self) -> bool:
        return bool(self.flags & F_NEEDS_CSUM)


def parse(data: bytes | bytearray | memoryview) -> tuple[VnetHeader, memoryview]:
    """Split what a read gave into its header and the IP packet after it."""
    if len(data) < VNET_HDR_LEN:
        raise ValueError(f"{len(data)} bytes are shorter than a virtio-net header")
    view = memoryview(data)
    return VnetHeader(*VNET_HDR.unpack_from(view)), view[VNET_HDR_LEN:]


def complete_checksum(
    packet: bytes | bytearray | memoryview, csum_start: int, csum_offset: int
) -> bytearray:
    """A copy of ``packet`` with the checksum a NEEDS_CSUM header leaves to the
    device filled in: the complement of the sum from ``csum_start`` to the
    end (the field already holds the pseudo-header's sum), stored at
    ``csum_start + csum_offset``."""
    at = csum_start + csum_offset
    if csum_start < 0 or csum_offset < 0 or at + 2 > len(packet):
        raise ValueError(f"checksum at {csum_start}+{csum_offset} is outside {len(packet)} bytes")
    out = bytearray(packet)
    total = ones_complement_sum(memoryview(out)[csum_start:])
    struct.pack_into("!H", out, at, ~total & 0xFFFF)
    return out


def _tcp_at(packet: bytes | bytearray | memoryview) -> tuple[int, bytes, bytes, int]:
    """IP version, packed source and destination, and where TCP begins."""
    version = packet[0] >> 4
    if version == 4:
        return 4, bytes(packet[12:16]), bytes(packet[16:20]), (packet[0] & 0x0F) * 4
    if version == 6:
        return 6, bytes(packet[8:24]), bytes(packet[24:40]), 40
    raise ValueError(f"IP version {version} is neither 4 nor 6")


def _tcp_header(packet: bytes | bytearray | memoryview) -> tuple[int, int, int]:
    """Where TCP begins, where its header ends, and the GSO type of its family."""
    version = packet[0] >> 4
    if version == 4:
        start, gso_type = (packet[0] & 0x0F) * 4, GSO_TCPV4
    elif version == 6:
        start, gso_type = 40, GSO_TCPV6
    else:
        raise ValueError(f"IP version {version} is neither 4 nor 6")
    return start, start + (packet[start + 12] >> 4) * 4, gso_type


def partial_header(packet: bytes | bytearray | memoryview) -> bytes:
    """The header for a TCP packet whose checksum field holds the
    pseudo-header's sum (as ``Host.packets_to_send`` leaves it with
    ``partial_checksum_above``), for the kernel to finish: NEEDS_CSUM, no
    segmentation."""
    start, header_len, _ = _tcp_header(packet)
    return VNET_HDR.pack(F_NEEDS_CSUM, GSO_NONE, header_len, 0, start, TCP_CHECKSUM_OFFSET)


def gso_header(packet: bytes | bytearray | memoryview, gso_size: int) -> bytes:
    """The header for a TCP super-segment whose checksum field holds the
    pseudo-header's sum already, for the kernel to cut into ``gso_size``-byte
    segments: GSO TCPV4/TCPV6 (ECN when it carries CWR) and NEEDS_CSUM. The
    packet goes after it as it is (``os.writev``), uncopied."""
    if gso_size <= 0:
        raise ValueError(f"gso_size {gso_size} is not positive")
    start, header_len, gso_type = _tcp_header(packet)
    if packet[start + 13] & _CWR:
        gso_type |= GSO_ECN
    return VNET_HDR.pack(F_NEEDS_CSUM, gso_type, header_len, gso_size, start, TCP_CHECKSUM_OFFSET)


def gso_packet(packet: bytes | bytearray | memoryview, gso_size: int) -> bytes:
    """Header and packet for a TCP super-segment with a complete checksum: a
    copy whose TCP checksum field holds the pseudo-header's sum instead,
    behind :func:`gso_header`."""
    header = gso_header(packet, gso_size)
    _, src, dst, start = _tcp_at(packet)
    out = bytearray(packet)
    partial = ones_complement_sum(pseudo_header(src, dst, len(out) - start))
    struct.pack_into("!H", out, start + TCP_CHECKSUM_OFFSET, partial)
    return header + out
