"""The virtio-net header of a TUN device with offloads (synack.net.vnet): parse
and build, the partial checksum a NEEDS_CSUM packet carries completed, and a
super-segment framed for the kernel to cut (GSO type, sizes, the
pseudo-header's sum in the TCP checksum field). Pure Python, no device."""

from __future__ import annotations

import struct
from ipaddress import ip_address

import pytest

from synack.net import vnet
from synack.wire.checksum import ones_complement_sum, pseudo_header, tcp_checksum
from synack.wire.errors import MalformedPacket
from synack.wire.ip import encode_packed, encode_tcp_packet, parse_tcp_packet
from synack.wire.segment import ACK, Segment

V4 = (ip_address("10.77.0.2"), ip_address("10.77.0.1"))
V6 = (ip_address("fd77::2"), ip_address("fd77::1"))


def packet(addresses: tuple[object, object], payload: bytes, flags: int = ACK) -> bytes:
    seg = Segment(src_port=80, dst_port=40000, seq=1000, ack=2000, flags=flags, window=500,
                  payload=payload)  # fmt: skip
    return encode_tcp_packet(addresses[0], addresses[1], seg)  # type: ignore[arg-type]


def test_header_round_trip() -> None:
    header = vnet.VnetHeader(vnet.F_NEEDS_CSUM, vnet.GSO_TCPV6, 72, 1428, 40, 16)
    data = header.encode()
    assert len(data) == vnet.VNET_HDR_LEN == 10
    parsed, rest = vnet.parse(data + b"IP")
    assert parsed == header and parsed.needs_csum
    assert bytes(rest) == b"IP"
    assert not vnet.parse(vnet.PLAIN)[0].needs_csum


def test_header_is_in_the_machines_order() -> None:
    data = vnet.VnetHeader(1, 1, 0x0102, 0x0304, 0x0506, 0x0708).encode()
    assert data == struct.pack("=BBHHHH", 1, 1, 0x0102, 0x0304, 0x0506, 0x0708)


def test_short_header_is_rejected() -> None:
    with pytest.raises(ValueError):
        vnet.parse(b"\x00" * 9)


@pytest.mark.parametrize("addresses", [V4, V6])
@pytest.mark.parametrize("size", [0, 1, 1447, 65000])
def test_partial_checksum_is_completed(addresses: tuple[object, object], size: int) -> None:
    whole = packet(addresses, bytes(range(256)) * (size // 256) + b"x" * (size % 256))
    start = 20 if whole[0] >> 4 == 4 else 40
    src, dst = bytes(whole[12:16]), bytes(whole[16:20])
    if start == 40:
        src, dst = bytes(whole[8:24]), bytes(whole[24:40])
    # as the kernel hands it over: the field holds the pseudo-header's sum only
    partial = bytearray(whole)
    struct.pack_into("!H", partial, start + 16,
                     ones_complement_sum(pseudo_header(src, dst, len(whole) - start)))  # fmt: skip
    assert tcp_checksum(src, dst, partial[start:]) != 0 or size == 0
    done = vnet.complete_checksum(partial, start, 16)
    assert tcp_checksum(src, dst, done[start:]) == 0
    assert bytes(done) == whole
    assert parse_tcp_packet(done)[2].payload == whole[start + 20 :]


def test_completed_checksum_outside_the_packet_is_rejected() -> None:
    with pytest.raises(ValueError):
        vnet.complete_checksum(b"\x45" + bytes(39), 20, 30)


@pytest.mark.parametrize(("addresses", "gso_type"), [(V4, vnet.GSO_TCPV4), (V6, vnet.GSO_TCPV6)])
def test_gso_packet(addresses: tuple[object, object], gso_type: int) -> None:
    whole = packet(addresses, bytes(10 * 1448))
    framed = vnet.gso_packet(whole, 1448)
    header, inner = vnet.parse(framed)
    start = 20 if gso_type == vnet.GSO_TCPV4 else 40
    assert header == vnet.VnetHeader(vnet.F_NEEDS_CSUM, gso_type, start + 20, 1448, start, 16)
    # everything but the checksum field as given
    assert bytes(inner[: start + 16]) == whole[: start + 16]
    assert bytes(inner[start + 18 :]) == whole[start + 18 :]
    # the field holds the pseudo-header's sum: the device finishing it gives the original
    assert bytes(vnet.complete_checksum(inner, start, 16)) == whole


def test_gso_packet_with_cwr_asks_for_ecn() -> None:
    whole = packet(V4, bytes(3000), flags=ACK | 0x80)
    header, _ = vnet.parse(vnet.gso_packet(whole, 1460))
    assert header.gso_type == vnet.GSO_TCPV4 | vnet.GSO_ECN


def test_gso_packet_needs_a_size() -> None:
    with pytest.raises(ValueError):
        vnet.gso_packet(packet(V4, bytes(3000)), 0)


def test_a_partial_checksum_passes_only_unverified() -> None:
    whole = bytearray(packet(V4, b"data" * 100))
    struct.pack_into("!H", whole, 36, 0x1234)  # not the sum: as NEEDS_CSUM leaves it
    with pytest.raises(MalformedPacket):
        parse_tcp_packet(whole)
    assert parse_tcp_packet(whole, verify=False)[2].payload == b"data" * 100


def test_hdr_len_only_asks_nothing_else() -> None:
    header, rest = vnet.parse(vnet.hdr_len_only(52) + b"IP")
    assert bytes(rest) == b"IP"
    assert header == vnet.VnetHeader(hdr_len=52)
    assert not header.needs_csum and header.gso_type == vnet.GSO_NONE


@pytest.mark.parametrize("addresses", [V4, V6])
def test_encode_packed_leaves_a_long_packets_checksum_to_the_device(
    addresses: tuple[object, object],
) -> None:
    seg = Segment(src_port=80, dst_port=40000, seq=1, ack=2, flags=ACK, window=9,
                  payload=bytes(range(256)) * 40)  # fmt: skip
    src, dst = addresses[0].packed, addresses[1].packed  # type: ignore[attr-defined]
    whole = encode_packed(src, dst, seg)
    partial = encode_packed(src, dst, seg, partial_above=1500)
    start = 20 if len(src) == 4 else 40
    assert partial != whole
    assert partial[: start + 16] == whole[: start + 16]
    assert partial[start + 18 :] == whole[start + 18 :]
    assert bytes(vnet.complete_checksum(partial, start, 16)) == whole
    # as gso_packet would frame it: the field already holds the pseudo-header's sum
    assert vnet.gso_packet(partial, 1448) == vnet.gso_packet(whole, 1448)
    # a packet within the limit keeps its whole checksum
    short = Segment(src_port=80, dst_port=40000, seq=1, ack=2, flags=ACK, window=9,
                    payload=b"x" * 1400)  # fmt: skip
    assert encode_packed(src, dst, short, partial_above=1500) == encode_packed(src, dst, short)


@pytest.mark.parametrize("addresses", [V4, V6])
def test_gso_header_before_a_partial_packet_is_gso_packet(addresses: tuple[object, object]) -> None:
    seg = Segment(src_port=80, dst_port=40000, seq=1, ack=2, flags=ACK | 0x80, window=9,
                  payload=bytes(range(256)) * 200)  # fmt: skip
    src, dst = addresses[0].packed, addresses[1].packed  # type: ignore[attr-defined]
    whole = encode_packed(src, dst, seg)
    partial = encode_packed(src, dst, seg, partial_above=1500)
    assert vnet.gso_header(partial, 1448) + partial == vnet.gso_packet(whole, 1448)
    header, _ = vnet.parse(vnet.gso_header(partial, 1448))
    assert header.gso_type & vnet.GSO_ECN and header.needs_csum
    with pytest.raises(ValueError):
        vnet.gso_header(partial, 0)
    with pytest.raises(ValueError):
        vnet.gso_header(b"\x50" + partial[1:], 1448)
