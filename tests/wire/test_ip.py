"""IPv4 and IPv6 headers: encode/decode round trips, checksums, fields, errors."""

import struct
from ipaddress import IPv4Address, IPv6Address, ip_address

import pytest
import wire_naive
from hypothesis import given
from hypothesis import strategies as st

from synack.wire import (
    ACK,
    PSH,
    SYN,
    IPv4Header,
    IPv6Header,
    MalformedPacket,
    MaxSegmentSize,
    Segment,
    decode_ip,
    decode_tcp_packet,
    encode_tcp_packet,
)
from synack.wire.ip import encode_packed, parse_address

A4 = IPv4Address("192.168.0.1")
B4 = IPv4Address("192.168.0.199")
A6 = IPv6Address("fe80::1")
B6 = IPv6Address("2001:db8:ffff::abcd")

# Wikipedia's "IPv4 header checksum" example: 192.168.0.1 > 192.168.0.199, UDP,
# 0x73 bytes, DF, TTL 64, checksum b861.
WIKI_HEADER = bytes.fromhex("450000730000400040 11 b861 c0a80001 c0a800c7".replace(" ", ""))


def v4_header(
    total,
    proto=6,
    ihl=5,
    version=4,
    tos=0,
    ident=0,
    frag=0x4000,
    ttl=64,
    checksum=None,
    src=A4,
    dst=B4,
    options=b"",
) -> bytes:
    """An IPv4 header packed by hand; the checksum is computed naively unless given."""
    hdr = struct.pack(
        "!BBHHHBBH4s4s",
        version << 4 | ihl,
        tos,
        total,
        ident,
        frag,
        ttl,
        proto,
        0,
        src.packed,
        dst.packed,
    )
    hdr += options
    if checksum is None:
        checksum = wire_naive.checksum(hdr)
    return hdr[:10] + checksum.to_bytes(2, "big") + hdr[12:]


def v6_header(plen, nxt=6, tc=0, flow=0, hops=64, src=A6, dst=B6, version=6) -> bytes:
    first = version << 28 | tc << 20 | flow
    return struct.pack("!IHBB16s16s", first, plen, nxt, hops, src.packed, dst.packed)


# -- IPv4 -----------------------------------------------------------------------


def test_ipv4_header_checksum_known_answer():
    header, payload = decode_ip(WIKI_HEADER + bytes(0x73 - 20))
    assert header.checksum == 0xB861
    assert header.protocol == 17
    assert header.flags == 0x2
    assert len(payload) == 0x73 - 20
    encoded = IPv4Header(A4, B4, protocol=17, ttl=64).encode(0x73 - 20)
    assert encoded == WIKI_HEADER


def test_ipv4_encode_fields():
    hdr = IPv4Header(
        A4, B4, protocol=6, ttl=17, identification=0xABCD, flags=0, fragment_offset=0, tos=0xB8
    )
    wire = hdr.encode(100)
    assert len(wire) == 20
    assert wire[0] == 0x45
    assert wire[1] == 0xB8
    assert wire[2:4] == (120).to_bytes(2, "big")
    assert wire[4:6] == b"\xab\xcd"
    assert wire[6:8] == b"\x00\x00"
    assert wire[8] == 17
    assert wire[9] == 6
    assert int.from_bytes(wire[10:12], "big") == wire_naive.checksum(
        wire[:10] + b"\0\0" + wire[12:]
    )
    assert wire[12:16] == A4.packed
    assert wire[16:20] == B4.packed
    assert wire_naive.ones_complement_sum(wire) == 0xFFFF


def test_ipv4_default_is_df_ttl_64_tcp():
    wire = IPv4Header(A4, B4).encode(0)
    assert wire[6:8] == b"\x40\x00"
    assert wire[8] == 64
    assert wire[9] == 6


def test_ipv4_decode_fields():
    pkt = v4_header(28, proto=99, tos=0x10, ident=0x1234, frag=0x4000, ttl=3) + b"12345678"
    header, payload = decode_ip(pkt)
    assert isinstance(header, IPv4Header)
    assert header.version == 4
    assert header.src == A4 and header.dst == B4
    assert header.protocol == 99
    assert header.ttl == 3
    assert header.identification == 0x1234
    assert header.flags == 0x2
    assert header.fragment_offset == 0
    assert header.tos == 0x10
    assert header.total_length == 28
    assert header.header_length == 20
    assert header.checksum == int.from_bytes(pkt[10:12], "big")
    assert bytes(payload) == b"12345678"


@given(
    st.integers(0, 0xFFFFFFFF),
    st.integers(0, 0xFFFFFFFF),
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 0xFFFF),
    st.sampled_from([0, 2]),  # fragments are refused, so no MF and no offset
    st.binary(max_size=100),
)
def test_ipv4_round_trip(src, dst, proto, ttl, tos, ident, flags, payload):
    hdr = IPv4Header(IPv4Address(src), IPv4Address(dst), proto, ttl, ident, flags, 0, tos)
    wire = hdr.encode(len(payload)) + payload
    decoded, body = decode_ip(wire)
    hdr.total_length = 20 + len(payload)
    hdr.checksum = int.from_bytes(wire[10:12], "big")
    assert decoded == hdr
    assert bytes(body) == payload
    assert wire_naive.ones_complement_sum(wire[:20]) == 0xFFFF


def test_ipv4_options_are_skipped():
    opts = b"\x01\x01\x01\x00"  # NOP NOP NOP EOL
    pkt = v4_header(24 + 4, ihl=6, options=opts) + b"data"
    header, payload = decode_ip(pkt)
    assert header.header_length == 24
    assert bytes(payload) == b"data"


def test_ipv4_trailing_bytes_beyond_total_length_are_ignored():
    pkt = v4_header(24) + b"data" + b"\x00" * 6  # Ethernet minimum-frame padding
    _, payload = decode_ip(pkt)
    assert bytes(payload) == b"data"


def test_ipv4_payload_is_a_view_not_a_copy():
    _, payload = decode_ip(v4_header(24) + b"data")
    assert isinstance(payload, memoryview)


def test_ipv4_reserved_flag_is_kept():
    header, _ = decode_ip(v4_header(20, frag=0x8000))
    assert header.flags == 0x4


# -- IPv6 -----------------------------------------------------------------------


def test_ipv6_encode_fields():
    hdr = IPv6Header(A6, B6, next_header=6, hop_limit=255, traffic_class=0xAB, flow_label=0xCDEF1)
    wire = hdr.encode(1234)
    assert len(wire) == 40
    assert wire[:4] == bytes.fromhex("6abcdef1")
    assert wire[4:6] == (1234).to_bytes(2, "big")
    assert wire[6] == 6
    assert wire[7] == 255
    assert wire[8:24] == A6.packed
    assert wire[24:40] == B6.packed


def test_ipv6_decode_fields():
    pkt = v6_header(4, nxt=17, tc=0x12, flow=0xFFFFF, hops=1) + b"abcd"
    header, payload = decode_ip(pkt)
    assert isinstance(header, IPv6Header)
    assert header.version == 6
    assert header.src == A6 and header.dst == B6
    assert header.next_header == 17
    assert header.protocol == 17
    assert header.hop_limit == 1
    assert header.traffic_class == 0x12
    assert header.flow_label == 0xFFFFF
    assert header.payload_length == 4
    assert bytes(payload) == b"abcd"


@given(
    st.integers(0, 2**128 - 1),
    st.integers(0, 2**128 - 1),
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 0xFFFFF),
    st.binary(max_size=100),
)
def test_ipv6_round_trip(src, dst, nxt, hops, tc, flow, payload):
    hdr = IPv6Header(IPv6Address(src), IPv6Address(dst), nxt, hops, tc, flow)
    wire = hdr.encode(len(payload)) + payload
    decoded, body = decode_ip(wire)
    hdr.payload_length = len(payload)
    assert decoded == hdr
    assert bytes(body) == payload


def test_ipv6_trailing_bytes_are_ignored():
    _, payload = decode_ip(v6_header(2) + b"ab" + b"junk")
    assert bytes(payload) == b"ab"


# -- TCP in IP ---------------------------------------------------------------------


@pytest.mark.parametrize(("src", "dst"), [(A4, B4), (A6, B6)], ids=["v4", "v6"])
def test_tcp_packet_round_trip(src, dst):
    seg = Segment(
        40000, 443, 0xFFFFFFFF, 7, SYN | ACK, 1000, 0, (MaxSegmentSize(1220),), b"xyz" * 5
    )
    pkt = encode_tcp_packet(src, dst, seg, ttl=9)
    header, decoded = decode_tcp_packet(pkt)
    assert header.src == src and header.dst == dst
    assert decoded == seg
    if src.version == 4:
        assert header.ttl == 9
        assert header.total_length == len(pkt)
        assert wire_naive.ones_complement_sum(pkt[:20]) == 0xFFFF
        tcp = pkt[20:]
    else:
        assert header.hop_limit == 9
        assert header.payload_length == len(pkt) - 40
        tcp = pkt[40:]
    assert decoded.checksum == wire_naive.tcp_checksum(src.packed, dst.packed, tcp)


def test_encode_tcp_packet_refuses_mixed_families():
    with pytest.raises(ValueError):
        encode_tcp_packet(A4, B6, Segment(1, 2, 3))
    with pytest.raises(ValueError):
        encode_tcp_packet(A6, B4, Segment(1, 2, 3))


def test_decode_tcp_packet_checks_the_tcp_checksum():
    pkt = bytearray(encode_tcp_packet(A4, B4, Segment(1, 2, 3, flags=ACK | PSH, payload=b"hi")))
    pkt[-1] ^= 0x80
    with pytest.raises(MalformedPacket) as exc:
        decode_tcp_packet(bytes(pkt))
    assert exc.value.reason == "checksum"


def test_decode_tcp_packet_ignores_link_padding():
    pkt = encode_tcp_packet(A4, B4, Segment(1, 2, 3, flags=ACK))
    _, seg = decode_tcp_packet(pkt + bytes(6))
    assert seg.payload == b""


def test_parse_address():
    assert parse_address("10.1.2.3") == IPv4Address("10.1.2.3")
    assert parse_address("::1") == IPv6Address("::1")
    assert parse_address(A4) is A4


# -- malformed ---------------------------------------------------------------------


def reason_of(data) -> str:
    with pytest.raises(MalformedPacket) as exc:
        decode_tcp_packet(data)
    return exc.value.reason


@pytest.mark.parametrize("data", [b"", b"\x45", v4_header(20)[:19], v6_header(0)[:39], b"\x60"])
def test_short(data):
    assert reason_of(data) == "short"
    with pytest.raises(MalformedPacket):
        decode_ip(data)


@pytest.mark.parametrize("version", [0, 1, 5, 7, 15])
def test_bad_version(version):
    pkt = v4_header(20, version=version)
    assert reason_of(pkt) == "ip-version"


def test_bad_ipv4_header_checksum():
    pkt = bytearray(v4_header(20))
    pkt[8] -= 1  # TTL decremented without fixing the checksum
    assert reason_of(bytes(pkt)) == "ip-checksum"
    good = v4_header(20)
    assert reason_of(good[:10] + bytes([good[10] ^ 1]) + good[11:]) == "ip-checksum"


@pytest.mark.parametrize("total", [0, 19, 41, 0xFFFF])
def test_ipv4_total_length_mismatch(total):
    assert reason_of(v4_header(total) + bytes(20)) == "ip-total-length"


@pytest.mark.parametrize("ihl", [0, 4, 6, 15])
def test_ipv4_bad_header_length(ihl):
    assert reason_of(v4_header(20, ihl=ihl)) == "ip-header-length"


@pytest.mark.parametrize("frag", [0x2000, 0x0001, 0x1FFF, 0x6000])
def test_ipv4_fragments_refused(frag):
    assert reason_of(v4_header(20, frag=frag)) == "fragment"


def test_ipv6_payload_length_overrun():
    assert reason_of(v6_header(21) + bytes(20)) == "ip-total-length"


@pytest.mark.parametrize("proto", [17, 1, 0, 255])
def test_not_tcp(proto):
    tcp = Segment(1, 2, 3).encode(A4.packed, B4.packed)
    assert reason_of(v4_header(40, proto=proto) + tcp) == "not-tcp"
    tcp6 = Segment(1, 2, 3).encode(A6.packed, B6.packed)
    assert reason_of(v6_header(20, nxt=proto) + tcp6) == "not-tcp"
    # decode_ip itself does not care
    decode_ip(v4_header(40, proto=proto) + tcp)


def test_tcp_errors_surface_through_decode_tcp_packet():
    assert reason_of(v4_header(30) + bytes(10)) == "short"
    assert reason_of(v6_header(20) + bytes(20)) == "data-offset"


def test_encode_packed_refuses_mixed_families() -> None:
    seg = Segment(1, 2, 3, 4, SYN, 100)
    with pytest.raises(ValueError, match="4 and 16 bytes"):
        encode_packed(bytes(4), bytes(16), seg)
    v4 = encode_packed(bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]), seg)
    assert v4 == encode_tcp_packet(ip_address("10.0.0.1"), ip_address("10.0.0.2"), seg)
    v6 = encode_packed(ip_address("fd00::1").packed, ip_address("fd00::2").packed, seg)
    assert v6 == encode_tcp_packet(ip_address("fd00::1"), ip_address("fd00::2"), seg)


def test_encode_packed_carries_an_ipv6_flow_label() -> None:
    from ipaddress import ip_address

    from synack.wire.ip import encode_packed
    from synack.wire.segment import ACK, Segment

    src, dst = ip_address("2001:db8::1").packed, ip_address("2001:db8::2").packed
    packet = encode_packed(src, dst, Segment(1, 2, 3, 4, ACK, 5), flow_label=0x12345)
    assert int.from_bytes(packet[:4], "big") & 0xFFFFF == 0x12345
    plain = encode_packed(src, dst, Segment(1, 2, 3, 4, ACK, 5))
    assert int.from_bytes(plain[:4], "big") & 0xFFFFF == 0
