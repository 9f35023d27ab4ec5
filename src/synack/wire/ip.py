"""IPv4 (RFC 791) and IPv6 (RFC 8200) headers, enough to carry TCP.

IPv4 options are skipped over; IPv6 extension headers are not followed (a
packet whose next header is not TCP is reported as such).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Final

from synack.wire.checksum import (
    PROTO_TCP,
    addresses_and_segment_checksum,
    buffer_checksum,
    checksum_ok,
    ones_complement_sum,
    pseudo_header,
)
from synack.wire.errors import MalformedPacket
from synack.wire.segment import Segment, decode_segment

IPAddress = IPv4Address | IPv6Address

_V4: Final = struct.Struct("!BBHHHBBH4s4s")
_V6: Final = struct.Struct("!IHBB16s16s")
_CHECKSUM: Final = struct.Struct("!H")
V4_HEADER_LEN: Final = 20
V6_HEADER_LEN: Final = 40
DEFAULT_TTL: Final = 64


@dataclass(slots=True)
class IPv4Header:
    src: IPv4Address
    dst: IPv4Address
    protocol: int = PROTO_TCP
    ttl: int = DEFAULT_TTL
    identification: int = 0
    flags: int = 0x2  # DF
    fragment_offset: int = 0
    tos: int = 0
    total_length: int = 0
    header_length: int = V4_HEADER_LEN
    checksum: int = 0
    version = 4

    def encode(self, payload_length: int) -> bytes:
        return _pack_v4(
            self.src.packed, self.dst.packed, V4_HEADER_LEN + payload_length, self.ttl,
            self.protocol, self.identification, (self.flags << 13) | self.fragment_offset,
            self.tos,
        )  # fmt: skip


def _pack_v4(
    src: bytes,
    dst: bytes,
    total: int,
    ttl: int = DEFAULT_TTL,
    protocol: int = PROTO_TCP,
    identification: int = 0,
    flags_fragment: int = 0x4000,  # DF
    tos: int = 0,
) -> bytes:
    return bytes(_v4_header(src, dst, total, ttl, protocol, identification, flags_fragment, tos))


def _v4_header(
    src: bytes,
    dst: bytes,
    total: int,
    ttl: int,
    protocol: int,
    identification: int,
    flags_fragment: int,
    tos: int,
) -> bytearray:
    """An IPv4 header without options, its checksum filled in (RFC 791 3.1),
    in a bytearray that the payload may join."""
    header = bytearray(
        _V4.pack(0x45, tos, total, identification, flags_fragment, ttl, protocol, 0, src, dst)
    )
    _CHECKSUM.pack_into(header, 10, buffer_checksum(header))
    return header


# Decoded addresses are cached by their packed bytes: a host sees the same few again and again.
_ADDRESSES: dict[bytes, IPAddress] = {}
_ADDRESS_CACHE_LIMIT: Final = 1 << 16


def _address(packed: bytes) -> IPAddress:
    address = _ADDRESSES.get(packed)
    if address is None:
        if len(_ADDRESSES) >= _ADDRESS_CACHE_LIMIT:
            _ADDRESSES.clear()
        address = IPv4Address(packed) if len(packed) == 4 else IPv6Address(packed)
        _ADDRESSES[packed] = address
    return address


@dataclass(slots=True)
class IPv6Header:
    src: IPv6Address
    dst: IPv6Address
    next_header: int = PROTO_TCP
    hop_limit: int = DEFAULT_TTL
    traffic_class: int = 0
    flow_label: int = 0
    payload_length: int = 0
    version = 6

    @property
    def protocol(self) -> int:
        return self.next_header

    def encode(self, payload_length: int) -> bytes:
        first = (6 << 28) | (self.traffic_class << 20) | self.flow_label
        return _V6.pack(
            first,
            payload_length,
            self.next_header,
            self.hop_limit,
            self.src.packed,
            self.dst.packed,
        )


IPHeader = IPv4Header | IPv6Header


def _split(view: memoryview) -> tuple[int, int, bytes, bytes, memoryview, tuple[int, ...]]:
    """Validate an IP header: the protocol it carries, its ECN field (RFC 3168 5),
    packed source and destination, payload, and all its fields."""
    if not view:
        raise MalformedPacket("short", "empty packet")
    n = len(view)
    version = view[0] >> 4
    if version == 4:
        if n < V4_HEADER_LEN:
            raise MalformedPacket("short", f"IPv4 packet of {n} bytes is shorter than its header")
        fields = _V4.unpack_from(view)
        vihl, tos, total, _, frag, _, protocol, csum, src, dst = fields
        ihl = (vihl & 0x0F) * 4
        if ihl < V4_HEADER_LEN or ihl > n:
            raise MalformedPacket("ip-header-length", f"IPv4 header length {ihl} is invalid")
        if total < ihl or total > n:
            raise MalformedPacket(
                "ip-total-length", f"IPv4 total length {total} does not fit the {n}-byte packet"
            )
        if not checksum_ok(view[:ihl]):
            raise MalformedPacket("ip-checksum", f"bad IPv4 header checksum 0x{csum:04x}")
        if frag & 0x3FFF:
            raise MalformedPacket("fragment", "IPv4 fragments are not reassembled")
        return protocol, tos & 3, src, dst, view[ihl:total], fields
    if version == 6:
        if n < V6_HEADER_LEN:
            raise MalformedPacket("short", f"IPv6 packet of {n} bytes is shorter than its header")
        fields = _V6.unpack_from(view)
        first, plen, protocol, _, src, dst = fields
        if V6_HEADER_LEN + plen > n:
            raise MalformedPacket(
                "ip-total-length", f"IPv6 payload length {plen} overruns the {n}-byte packet"
            )
        return (
            protocol,
            (first >> 20) & 3,
            src,
            dst,
            view[V6_HEADER_LEN : V6_HEADER_LEN + plen],
            fields,
        )
    raise MalformedPacket("ip-version", f"IP version {version} is neither 4 nor 6")


def decode_ip(data: bytes | bytearray | memoryview) -> tuple[IPHeader, memoryview]:
    """Split an IP packet into its header and its payload (not copied)."""
    _, _, src, dst, payload, fields = _split(memoryview(data))
    if len(fields) == 10:
        vihl, tos, total, ident, frag, ttl, proto, csum, _, _ = fields
        header4 = IPv4Header(
            _address(src), _address(dst),  # type: ignore[arg-type]
            proto, ttl, ident, frag >> 13, frag & 0x1FFF, tos, total, (vihl & 0x0F) * 4, csum,
        )  # fmt: skip
        return header4, payload
    first, plen, nxt, hops, _, _ = fields
    header6 = IPv6Header(
        _address(src), _address(dst),  # type: ignore[arg-type]
        nxt, hops, (first >> 20) & 0xFF, first & 0xFFFFF, plen,
    )  # fmt: skip
    return header6, payload


def decode_tcp_packet(data: bytes | bytearray | memoryview) -> tuple[IPHeader, Segment]:
    """Decode an IP packet carrying TCP, verifying both checksums."""
    header, payload = decode_ip(data)
    if header.protocol != PROTO_TCP:
        raise MalformedPacket("not-tcp", f"IP protocol {header.protocol} is not TCP")
    segment = Segment.decode(payload, header.src.packed, header.dst.packed)
    ecn_field = header.tos if isinstance(header, IPv4Header) else header.traffic_class
    segment.ecn = ecn_field & 3
    return header, segment


def parse_tcp_packet(
    data: bytes | bytearray | memoryview, verify: bool = True
) -> tuple[bytes, bytes, Segment]:
    """The per-packet path: packed source and destination and the segment, all checked.

    The same checks as :func:`decode_tcp_packet`, without building a header object.
    ``verify`` False: the TCP checksum is not checked (a device with checksum
    offload left it to be filled in, for a packet that never left memory).
    """
    protocol, ecn, src, dst, payload, _ = _split(memoryview(data))
    if protocol != PROTO_TCP:
        raise MalformedPacket("not-tcp", f"IP protocol {protocol} is not TCP")
    if verify:
        return src, dst, decode_segment(payload, src, dst, ecn)
    return src, dst, decode_segment(payload, None, None, ecn)


def address_from_packed(packed: bytes) -> IPAddress:
    """The address object for 4 or 16 packed bytes (cached)."""
    return _address(packed)


def encode_tcp_packet(
    src: IPAddress, dst: IPAddress, segment: Segment, ttl: int = DEFAULT_TTL
) -> bytes:
    """An IP packet carrying ``segment``, with both checksums computed."""
    if src.version != dst.version:
        raise ValueError(f"address families differ: {src} and {dst}")
    return encode_packed(src.packed, dst.packed, segment, ttl)


def encode_packed(
    src: bytes,
    dst: bytes,
    segment: Segment,
    ttl: int = DEFAULT_TTL,
    df: bool = True,
    flow_label: int = 0,
    partial_above: int | None = None,
) -> bytes:
    """``encode_tcp_packet`` for packed addresses: 4 bytes each (IPv4) or 16 (IPv6).

    ``df``: set IPv4's Don't Fragment bit (RFC 1191 2: path MTU discovery
    sends every packet with DF); IPv6 routers never fragment (RFC 8200 5).
    ``flow_label``: IPv6's (RFC 6437); synack sends none.
    ``partial_above``: a packet longer than this many bytes carries only the
    pseudo-header's sum in its TCP checksum field, for a device with checksum
    offload to finish (as a NIC doing TSO expects); shorter ones, the whole
    checksum.
    """
    header = segment.encode_header()
    length = len(header) + len(segment.payload)  # of the TCP segment
    ecn = segment.ecn
    if len(src) == 4 and len(dst) == 4:
        frag = 0x4000 if df else 0
        packet = _v4_header(src, dst, V4_HEADER_LEN + length, ttl, PROTO_TCP, 0, frag, ecn)
        addresses = 12  # where the addresses start; the segment follows them
        check_at = V4_HEADER_LEN + 16  # the TCP checksum field
    elif len(src) == 16 and len(dst) == 16:
        first = (6 << 28) | (ecn << 20) | (flow_label & 0xFFFFF)
        packet = bytearray(_V6.pack(first, length, PROTO_TCP, ttl, src, dst))
        addresses = 8
        check_at = V6_HEADER_LEN + 16
    else:
        raise ValueError(f"packed addresses of {len(src)} and {len(dst)} bytes are not one family")
    packet += header
    packet += segment.payload
    if partial_above is not None and len(packet) > partial_above:
        check = ones_complement_sum(pseudo_header(src, dst, length))
    else:
        check = addresses_and_segment_checksum(memoryview(packet)[addresses:], length)
    _CHECKSUM.pack_into(packet, check_at, check)
    return bytes(packet)


def parse_address(text: str | IPAddress) -> IPAddress:
    return text if isinstance(text, IPv4Address | IPv6Address) else ip_address(text)
