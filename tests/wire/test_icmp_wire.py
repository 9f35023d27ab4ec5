"""ICMP errors about TCP segments: parse, build, checksums, quotes (wire/icmp.py).

The builder's output is checked against dpkt (its own checksum arithmetic)
and against hand-made bytes, so neither side of the codec checks only itself.
"""

import struct
from ipaddress import IPv4Address, IPv6Address

import dpkt
import pytest

from synack.wire.checksum import internet_checksum
from synack.wire.errors import MalformedPacket
from synack.wire.icmp import (
    ADMIN_PROHIBITED,
    FRAGMENTATION_NEEDED,
    HOST_UNREACHABLE,
    ICMP6_DEST_UNREACH,
    ICMP6_PACKET_TOO_BIG,
    ICMP6_TIME_EXCEEDED,
    ICMP_DEST_UNREACH,
    ICMP_SOURCE_QUENCH,
    ICMP_TIME_EXCEEDED,
    PACKET_TOO_BIG,
    PORT_UNREACHABLE,
    PORT_UNREACHABLE6,
    SOURCE_QUENCH,
    TIME_EXCEEDED,
    UNREACHABLE,
    icmp_error,
    icmp_error_for_segment,
    icmp_type_code,
    parse_icmp_packet,
)
from synack.wire.ip import _pack_v4, encode_packed
from synack.wire.segment import ACK, PSH, Segment

US4, PEER4, ROUTER4 = IPv4Address("10.0.0.1"), IPv4Address("10.9.0.2"), IPv4Address("10.0.0.254")
US6, PEER6, ROUTER6 = IPv6Address("fd00::1"), IPv6Address("fd09::2"), IPv6Address("fd00::fe")
SEG = Segment(40000, 80, 0xDEADBEEF, 77, ACK | PSH, 512, payload=b"z" * 1460)


def test_v4_fragmentation_needed_round_trip() -> None:
    packet = icmp_error_for_segment(
        US4, PEER4, SEG, ICMP_DEST_UNREACH, FRAGMENTATION_NEEDED, 1000, ROUTER4
    )
    assert len(packet) == 576  # quoted as much as fits 576 bytes (RFC 1812 4.3.2.3)
    err = parse_icmp_packet(packet)
    assert err is not None
    assert (err.version, err.type, err.code, err.kind, err.mtu) == (4, 3, 4, PACKET_TOO_BIG, 1000)
    assert (err.src, err.dst) == (ROUTER4.packed, US4.packed)
    assert (err.quoted_src, err.quoted_dst) == (US4.packed, PEER4.packed)
    assert (err.src_port, err.dst_port, err.seq) == (40000, 80, 0xDEADBEEF)
    assert err.quoted_length == 20 + 20 + 1460


def test_v4_errors_decode_in_dpkt() -> None:
    packet = icmp_error_for_segment(
        US4, PEER4, SEG, ICMP_DEST_UNREACH, FRAGMENTATION_NEEDED, 1000, ROUTER4, quote=28
    )
    ip = dpkt.ip.IP(packet)
    assert ip.p == 1 and ip.dst == US4.packed and ip.src == ROUTER4.packed
    icmp = ip.data
    assert (icmp.type, icmp.code) == (3, 4)
    assert struct.unpack("!H", bytes(icmp)[6:8])[0] == 1000  # next-hop MTU
    # dpkt recomputes the checksum the same way
    fresh = dpkt.icmp.ICMP(bytes(icmp))
    fresh.sum = 0
    assert bytes(fresh)[2:4] == bytes(icmp)[2:4]
    assert len(bytes(icmp)) == 8 + 28  # the IP header and 8 bytes of TCP (RFC 792)


def test_v6_packet_too_big_round_trip_and_checksum() -> None:
    packet = icmp_error_for_segment(US6, PEER6, SEG, ICMP6_PACKET_TOO_BIG, 0, 1280, ROUTER6)
    assert len(packet) == 1280  # RFC 4443 2.4 (c)
    err = parse_icmp_packet(packet)
    assert err is not None
    assert (err.version, err.type, err.kind, err.mtu) == (6, 2, PACKET_TOO_BIG, 1280)
    assert (err.quoted_src, err.src_port, err.seq) == (US6.packed, 40000, 0xDEADBEEF)
    assert err.quoted_length == 40 + 20 + 1460
    ip6 = dpkt.ip6.IP6(packet)
    assert ip6.nxt == 58
    # the pseudo-header checksum (RFC 4443 2.3), computed here by hand
    message = packet[40:]
    pseudo = ROUTER6.packed + US6.packed + struct.pack("!I3xB", len(message), 58)
    assert internet_checksum(pseudo + message) == 0


@pytest.mark.parametrize(
    ("version", "icmp_type", "code", "kind"),
    [
        (4, ICMP_DEST_UNREACH, HOST_UNREACHABLE, UNREACHABLE),
        (4, ICMP_DEST_UNREACH, PORT_UNREACHABLE, UNREACHABLE),
        (4, ICMP_DEST_UNREACH, ADMIN_PROHIBITED, UNREACHABLE),
        (4, ICMP_TIME_EXCEEDED, 0, TIME_EXCEEDED),
        (4, ICMP_SOURCE_QUENCH, 0, SOURCE_QUENCH),
        (6, ICMP6_DEST_UNREACH, PORT_UNREACHABLE6, UNREACHABLE),
        (6, ICMP6_TIME_EXCEEDED, 0, TIME_EXCEEDED),
    ],
)
def test_kinds(version: int, icmp_type: int, code: int, kind: str) -> None:
    us, peer = (US4, PEER4) if version == 4 else (US6, PEER6)
    err = parse_icmp_packet(icmp_error_for_segment(us, peer, SEG, icmp_type, code))
    assert err is not None
    assert (err.type, err.code, err.kind, err.mtu) == (icmp_type, code, kind, None)
    assert err.src == peer.packed  # no reporter: the quoted destination answers


def test_frag_needed_without_mtu_is_zero() -> None:
    """Routers older than RFC 1191 leave the field zero."""
    packet = icmp_error_for_segment(US4, PEER4, SEG, ICMP_DEST_UNREACH, FRAGMENTATION_NEEDED)
    err = parse_icmp_packet(packet)
    assert err is not None and err.mtu == 0 and err.kind == PACKET_TOO_BIG


def test_bad_checksum_raises() -> None:
    for us, peer, t in ((US4, PEER4, 3), (US6, PEER6, 1)):
        good = icmp_error_for_segment(us, peer, SEG, t, 1)
        bad = icmp_error_for_segment(us, peer, SEG, t, 1, checksum=0x1234)
        assert parse_icmp_packet(good) is not None
        with pytest.raises(MalformedPacket) as info:
            parse_icmp_packet(bad)
        assert info.value.reason == "icmp-checksum"


def test_short_quote_raises() -> None:
    packet = encode_packed(US4.packed, PEER4.packed, SEG)
    with pytest.raises(MalformedPacket) as info:
        parse_icmp_packet(icmp_error(packet, ICMP_DEST_UNREACH, 1, quote=27))  # 7 bytes of TCP
    assert info.value.reason == "icmp-quote"
    packet6 = encode_packed(US6.packed, PEER6.packed, SEG)
    with pytest.raises(MalformedPacket) as info:
        parse_icmp_packet(icmp_error(packet6, ICMP6_DEST_UNREACH, 1, quote=40))
    assert info.value.reason == "icmp-quote"


def test_truncated_icmp_header_raises() -> None:
    packet = _pack_v4(ROUTER4.packed, US4.packed, 20 + 4, protocol=1) + b"\x03\x01\xfc\xfe"
    with pytest.raises(MalformedPacket) as info:
        parse_icmp_packet(packet)
    assert info.value.reason == "icmp-short"


def test_not_icmp_raises() -> None:
    with pytest.raises(MalformedPacket) as info:
        parse_icmp_packet(encode_packed(US4.packed, PEER4.packed, SEG))
    assert info.value.reason == "not-icmp"


def test_echo_and_udp_quotes_are_not_for_tcp() -> None:
    echo = bytearray(struct.pack("!BBHI", 8, 0, 0, 0x10001) + b"ping")
    struct.pack_into("!H", echo, 2, internet_checksum(echo))
    packet = _pack_v4(ROUTER4.packed, US4.packed, 20 + len(echo), protocol=1) + bytes(echo)
    assert parse_icmp_packet(packet) is None
    udp = _pack_v4(US4.packed, PEER4.packed, 28, protocol=17) + struct.pack("!HHHH", 1, 2, 8, 0)
    assert parse_icmp_packet(icmp_error(udp, ICMP_DEST_UNREACH, PORT_UNREACHABLE)) is None


def test_df_bit() -> None:
    """PMTUD sends with DF (RFC 1191 2); off, the bit is clear."""
    assert encode_packed(US4.packed, PEER4.packed, SEG)[6] & 0x40
    assert not encode_packed(US4.packed, PEER4.packed, SEG, df=False)[6] & 0x40


def test_packetdrill_names() -> None:
    assert icmp_type_code(4, "unreachable", "frag_needed") == (3, 4)
    assert icmp_type_code(4, "unreachable", "port_unreachable") == (3, 3)
    assert icmp_type_code(4, "time_exceeded") == (11, 0)
    assert icmp_type_code(4, "type_42", "code_7") == (42, 7)
    assert icmp_type_code(6, "packet_too_big") == (2, 0)
    assert icmp_type_code(6, "unreachable", "port_unreachable") == (1, 4)
    assert icmp_type_code(6, "unreachable", "address_unreachable") == (1, 3)
    for bad in ((4, "packet_too_big", None), (4, "unreachable", "no_route"), (5, "x", None)):
        with pytest.raises(ValueError):
            icmp_type_code(*bad)
    with pytest.raises(ValueError):
        icmp_type_code(4, "type_300")


def test_packetdrill_style_quote_of_8_bytes() -> None:
    """A quote of the IP header and the first 8 bytes of TCP, the length
    field naming the whole segment, no inner checksum (as packetdrill makes it)."""
    inner = bytearray(_pack_v4(US4.packed, PEER4.packed, 20 + 20 + 1000))
    inner[10:12] = b"\0\0"
    inner += struct.pack("!HHI", 40000, 80, 12345)
    err = parse_icmp_packet(icmp_error(bytes(inner), 3, 4, 600, ROUTER4))
    assert err is not None
    assert (err.seq, err.quoted_length, err.mtu) == (12345, 1040, 600)
