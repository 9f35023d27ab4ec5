"""TCP segment codec: header fields, control bits, options, checksums, errors."""

import struct
from ipaddress import IPv4Address, IPv6Address

import pytest
import wire_naive
from hypothesis import given
from hypothesis import strategies as st

from synack.wire import (
    ACK,
    CWR,
    ECE,
    FIN,
    NOP,
    PSH,
    RST,
    SACK_PERMITTED,
    SYN,
    URG,
    EndOfOptions,
    MalformedPacket,
    MaxSegmentSize,
    NoOperation,
    Sack,
    SackPermitted,
    Segment,
    Timestamps,
    UnknownOption,
    WindowScale,
    tcpdump_flags,
)
from synack.wire.checksum import internet_checksum, ones_complement_sum, pseudo_header
from synack.wire.segment import decode_options, encode_options, flags_to_str, peek_ports

SRC4 = IPv4Address("10.0.0.1").packed
DST4 = IPv4Address("10.0.0.2").packed
SRC6 = IPv6Address("2001:db8::1").packed
DST6 = IPv6Address("2001:db8::2").packed
EOL = EndOfOptions()


def raw_header(
    sport=0x1234,
    dport=80,
    seq=1,
    ack=0,
    offset=5,
    reserved=0,
    flags=SYN,
    window=0xFFFF,
    checksum=0,
    urgent=0,
) -> bytes:
    """A TCP header packed by hand, independently of synack."""
    return struct.pack(
        "!HHIIBBHHH",
        sport,
        dport,
        seq,
        ack,
        offset << 4 | reserved,
        flags,
        window,
        checksum,
        urgent,
    )


def with_options(opts: bytes, payload: bytes = b"", **fields) -> bytes:
    assert len(opts) % 4 == 0
    return raw_header(offset=5 + len(opts) // 4, **fields) + opts + payload


# -- header fields ----------------------------------------------------------


def test_encode_every_header_field():
    seg = Segment(
        src_port=0xBEEF,
        dst_port=443,
        seq=0xDEADBEEF,
        ack=0x01020304,
        flags=ACK | PSH,
        window=0x1234,
        urgent=0x5678,
        payload=b"hello",
        reserved=0b1010,
    )
    wire = seg.encode()
    assert len(wire) == 25
    assert wire[:2] == b"\xbe\xef"
    assert wire[2:4] == b"\x01\xbb"
    assert wire[4:8] == b"\xde\xad\xbe\xef"
    assert wire[8:12] == b"\x01\x02\x03\x04"
    assert wire[12] == 0x5A  # data offset 5, reserved 0b1010
    assert wire[13] == 0x18  # ACK|PSH
    assert wire[14:16] == b"\x12\x34"
    assert wire[16:18] == b"\x00\x00"  # no addresses: no checksum
    assert wire[18:20] == b"\x56\x78"
    assert wire[20:] == b"hello"


def test_decode_every_header_field():
    wire = raw_header(
        sport=0xFFFF,
        dport=1,
        seq=0xFFFFFFFF,
        ack=0x80000000,
        reserved=0b0101,
        flags=ACK | URG,
        window=0xFEDC,
        checksum=0xABCD,
        urgent=0x0102,
    )
    seg = Segment.decode(wire + b"xyz")
    assert seg.src_port == 0xFFFF
    assert seg.dst_port == 1
    assert seg.seq == 0xFFFFFFFF
    assert seg.ack == 0x80000000
    assert seg.reserved == 0b0101
    assert seg.flags == ACK | URG
    assert seg.window == 0xFEDC
    assert seg.checksum == 0xABCD
    assert seg.urgent == 0x0102
    assert seg.options == ()
    assert seg.payload == b"xyz"


@pytest.mark.parametrize("data", [b"", b"x", b"\x00" * 1460])
def test_round_trip(data):
    seg = Segment(
        1, 2, 3, 4, ACK, 5, 6, (MaxSegmentSize(1460), NOP, WindowScale(7)), data, reserved=3
    )
    assert Segment.decode(seg.encode()) == Segment(
        1, 2, 3, 4, ACK, 5, 6, (MaxSegmentSize(1460), NOP, WindowScale(7)), data, reserved=3
    )


def test_decode_accepts_bytearray_and_memoryview():
    wire = Segment(1, 2, 3, payload=b"abc").encode(SRC4, DST4)
    expected = Segment.decode(wire, SRC4, DST4)
    assert Segment.decode(bytearray(wire), SRC4, DST4) == expected
    assert Segment.decode(memoryview(wire), SRC4, DST4) == expected
    assert Segment.decode(memoryview(b"\xff" + wire)[1:], SRC4, DST4) == expected


@pytest.mark.parametrize(
    ("options", "offset"),
    [
        ((), 5),
        ((NOP,), 6),
        ((MaxSegmentSize(536),), 6),
        ((MaxSegmentSize(536), WindowScale(2)), 7),
        ((Timestamps(1, 2), NOP, NOP), 8),
        ((Sack(((1, 2),) * 4), NOP, NOP), 14),
        ((NOP,) * 40, 15),
    ],
)
def test_data_offset(options, offset):
    wire = Segment(1, 2, 3, options=options, payload=b"data").encode()
    assert wire[12] >> 4 == offset
    assert len(wire) == offset * 4 + 4
    assert Segment(1, 2, 3, options=options).header_len == offset * 4
    decoded = Segment.decode(wire)
    assert decoded.payload == b"data"
    assert decoded.header_len == offset * 4


def test_data_offset_beyond_options_is_payload_boundary():
    # offset 6 with 4 option bytes, then payload: decode must split at offset*4
    wire = with_options(b"\x01\x01\x01\x01", payload=b"\x02\x04\x05\xb4")
    seg = Segment.decode(wire)
    assert seg.options == (NOP, NOP, NOP, NOP)
    assert seg.payload == b"\x02\x04\x05\xb4"


# -- control bits and reserved bits ---------------------------------------------

ALL_FLAGS = [
    (CWR, 0x80, "CWR"),
    (ECE, 0x40, "ECE"),
    (URG, 0x20, "URG"),
    (ACK, 0x10, "ACK"),
    (PSH, 0x08, "PSH"),
    (RST, 0x04, "RST"),
    (SYN, 0x02, "SYN"),
    (FIN, 0x01, "FIN"),
]


@pytest.mark.parametrize(("flag", "bit", "name"), ALL_FLAGS)
def test_each_control_bit(flag, bit, name):
    assert flag == bit
    wire = Segment(1, 2, 3, flags=flag).encode()
    assert wire[13] == bit
    assert wire[12] == 0x50  # nothing leaks into the reserved bits
    seg = Segment.decode(wire)
    assert seg.flags == bit
    assert flags_to_str(seg.flags) == name


def test_all_control_bits_together():
    wire = Segment(1, 2, 3, flags=0xFF).encode()
    assert wire[13] == 0xFF
    assert Segment.decode(wire).flags == CWR | ECE | URG | ACK | PSH | RST | SYN | FIN
    assert flags_to_str(0xFF) == "CWR|ECE|URG|ACK|PSH|RST|SYN|FIN"
    assert flags_to_str(0) == "none"


@pytest.mark.parametrize("reserved", range(16))
def test_reserved_bits(reserved):
    wire = Segment(1, 2, 3, flags=SYN, reserved=reserved).encode()
    assert wire[12] == 0x50 | reserved
    assert wire[13] == SYN
    seg = Segment.decode(wire)
    assert seg.reserved == reserved
    assert seg.flags == SYN


def test_reserved_bits_do_not_touch_data_offset():
    wire = Segment(1, 2, 3, reserved=0xFF).encode()
    assert wire[12] == 0x5F


# -- options ------------------------------------------------------------------


def test_mss():
    assert encode_options((MaxSegmentSize(1460),)) == b"\x02\x04\x05\xb4"
    seg = Segment.decode(with_options(b"\x02\x04\x05\xb4"))
    assert seg.options == (MaxSegmentSize(1460),)
    assert seg.mss == 1460


def test_window_scale():
    assert encode_options((WindowScale(14),)) == b"\x03\x03\x0e\x00"
    assert encode_options((NOP, WindowScale(7))) == b"\x01\x03\x03\x07"
    seg = Segment.decode(with_options(b"\x01\x03\x03\x07"))
    assert seg.options == (NOP, WindowScale(7))
    assert seg.window_scale == 7


def test_sack_permitted():
    assert encode_options((SACK_PERMITTED,)) == b"\x04\x02\x00\x00"
    assert encode_options((NOP, NOP, SackPermitted())) == b"\x01\x01\x04\x02"
    seg = Segment.decode(with_options(b"\x01\x01\x04\x02"))
    assert seg.options == (NOP, NOP, SACK_PERMITTED)
    assert seg.sack_permitted
    assert not Segment(1, 2, 3).sack_permitted


@pytest.mark.parametrize("count", [1, 2, 3, 4])
def test_sack_blocks(count):
    # blocks straddling the sequence-number wrap
    blocks = tuple(
        ((0xFFFFFF00 + i * 0x100) & 0xFFFFFFFF, (0xFFFFFF80 + i * 0x100) & 0xFFFFFFFF)
        for i in range(count)
    )
    raw = bytes([5, 2 + 8 * count]) + b"".join(struct.pack("!II", a, b) for a, b in blocks)
    wire_opts = b"\x01\x01" + raw
    assert encode_options((NOP, NOP, Sack(blocks))) == wire_opts
    seg = Segment.decode(with_options(wire_opts))
    assert seg.options == (NOP, NOP, Sack(blocks))
    assert seg.sack_blocks == blocks


def test_timestamps():
    raw = b"\x08\x0a" + struct.pack("!II", 0xDEADBEEF, 0x01020304)
    assert encode_options((Timestamps(0xDEADBEEF, 0x01020304),)) == raw + b"\x00\x00"
    seg = Segment.decode(with_options(b"\x01\x01" + raw))
    assert seg.options == (NOP, NOP, Timestamps(0xDEADBEEF, 0x01020304))
    assert seg.timestamps == Timestamps(0xDEADBEEF, 0x01020304)
    assert Segment(1, 2, 3).timestamps is None


def test_timestamps_not_on_the_fast_path():
    # Same options as the common NOP NOP TS layout, but in another order.
    raw = b"\x08\x0a" + struct.pack("!II", 7, 9) + b"\x01\x01"
    seg = Segment.decode(with_options(raw))
    assert seg.options == (Timestamps(7, 9), NOP, NOP)


def test_fast_path_prefix_with_wrong_length_is_not_timestamps():
    raw = b"\x01\x01\x08\x0b" + bytes(8)  # TS length 11 would overrun 12 bytes
    with pytest.raises(MalformedPacket) as exc:
        Segment.decode(with_options(raw))
    assert exc.value.reason == "option-overrun"


def test_nop():
    assert encode_options((NOP, NOP, NOP, NOP)) == b"\x01\x01\x01\x01"
    assert encode_options((NoOperation(),)) == b"\x01\x00\x00\x00"
    assert Segment.decode(with_options(b"\x01\x01\x01\x01")).options == (NOP,) * 4


def test_eol_and_padding_after_it():
    assert encode_options((MaxSegmentSize(1), EOL)) == b"\x02\x04\x00\x01\x00\x00\x00\x00"
    seg = Segment.decode(with_options(b"\x02\x04\x00\x01\x00\x00\x00\x00"))
    assert seg.options == (MaxSegmentSize(1), EOL)


def test_anything_after_eol_is_ignored():
    # After EOL the rest of the options area is padding, even if it is not zero
    # and would not parse as options.
    seg = Segment.decode(with_options(b"\x01\x00\x02\xff\x05\x09\x00\x00", payload=b"p"))
    assert seg.options == (NOP, EOL)
    assert seg.payload == b"p"


def test_padding_is_added_to_a_multiple_of_four():
    for n in range(1, 9):
        assert len(encode_options((NOP,) * n)) % 4 == 0
    assert encode_options((NOP,) * 5) == b"\x01" * 5 + b"\x00" * 3


@pytest.mark.parametrize(
    "raw",
    [
        b"\x1e\x04\xaa\xbb",  # MPTCP (30)
        b"\xfd\x06\x01\x02\x03\x04",  # experimental (253)
        b"\x13\x12" + bytes(range(16)),  # TCP-MD5 (19), 16-byte digest
        b"\xfe\x04\x12\x34",  # experimental (254), not Fast Open's magic
        b"\xff\x03\x00",
    ],
)
def test_unknown_kind_kept_raw_and_reencoded_identically(raw):
    opts = raw + bytes(-len(raw) % 4)
    wire = with_options(opts, payload=b"pay")
    seg = Segment.decode(wire)
    assert seg.options[0] == UnknownOption(raw[0], raw[2:])
    assert seg.encode() == wire


@pytest.mark.parametrize(
    "raw",
    [
        b"\x02\x03\x05",  # MSS, length 3
        b"\x02\x06\x05\xb4\x00\x00",  # MSS, length 6
        b"\x03\x02",  # window scale without a shift
        b"\x03\x04\x07\x00",  # window scale, length 4
        b"\x04\x03\x00",  # SACK-permitted with a body
        b"\x05\x02",  # SACK with no blocks
        b"\x05\x06\x00\x00\x00\x01",  # SACK with half a block
        b"\x05\x0b" + bytes(9),  # SACK, 9 bytes of blocks
        b"\x08\x08" + bytes(6),  # timestamps, length 8
        b"\x08\x0c" + bytes(10),  # timestamps, length 12
    ],
)
def test_known_kind_with_wrong_length_is_unknown(raw):
    opts = raw + bytes(-len(raw) % 4)
    wire = with_options(opts)
    seg = Segment.decode(wire)
    assert seg.options[0] == UnknownOption(raw[0], raw[2:])
    assert seg.encode() == wire
    # and the convenience accessors do not mistake it for the real option
    assert seg.mss is None
    assert seg.window_scale is None
    assert seg.sack_permitted is False
    assert seg.sack_blocks == ()
    assert seg.timestamps is None


def test_accessors_skip_malformed_copy_and_find_the_real_option():
    seg = Segment(
        1,
        2,
        3,
        options=(
            UnknownOption(2, b"\x01"),
            MaxSegmentSize(1400),
            UnknownOption(8, b"\x00"),
            Timestamps(5, 6),
        ),
    )
    assert seg.mss == 1400
    assert seg.timestamps == Timestamps(5, 6)


def test_options_longer_than_40_bytes_are_refused():
    Segment(1, 2, 3, options=(NOP,) * 40).encode()  # exactly 40 fits
    with pytest.raises(ValueError):
        Segment(1, 2, 3, options=(NOP,) * 41).encode()
    with pytest.raises(ValueError):
        Segment(1, 2, 3, options=(Timestamps(1, 2), Sack(((1, 2),) * 4))).encode()


def test_typical_syn_options_round_trip():
    opts = (MaxSegmentSize(1460), SACK_PERMITTED, Timestamps(123, 0), NOP, WindowScale(7))
    wire = Segment(40000, 80, 1, flags=SYN, window=64240, options=opts).encode(SRC4, DST4)
    assert wire[12] >> 4 == 10
    seg = Segment.decode(wire, SRC4, DST4)
    assert seg.options == opts
    assert (seg.mss, seg.window_scale, seg.sack_permitted) == (1460, 7, True)
    assert seg.timestamps == Timestamps(123, 0)


def test_decode_options_empty():
    assert decode_options(b"") == ()


# -- checksum ------------------------------------------------------------------


def test_rfc1071_example():
    # RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
    data = bytes.fromhex("0001f203f4f5f6f7")
    assert ones_complement_sum(data) == 0xDDF2
    assert internet_checksum(data) == 0x220D
    assert wire_naive.ones_complement_sum(data) == 0xDDF2


def test_checksum_known_answer_ipv4():
    # 10.0.0.1:4660 > 10.0.0.2:80 [S] seq 1 win 65535, by hand:
    #   pseudo-header 0a00+0001+0a00+0002+0006+0014                 = 141d
    #   header 1234+0050+0000+0001+0000+0000+5002+ffff+0000+0000    = 6287 (folded)
    #   141d + 6287 = 76a4, complement = 895b
    wire = Segment(0x1234, 80, 1, flags=SYN, window=0xFFFF).encode(SRC4, DST4)
    assert wire == raw_header(checksum=0x895B)
    assert Segment.decode(wire, SRC4, DST4).checksum == 0x895B


def test_checksum_known_answer_ipv6():
    # Same segment between 2001:db8::1 and 2001:db8::2:
    #   pseudo-header 2001+0db8+0001 + 2001+0db8+0002 + 0000+0014 + 0000+0006 = 5b8f
    #   5b8f + 6287 = be16, complement = 41e9
    wire = Segment(0x1234, 80, 1, flags=SYN, window=0xFFFF).encode(SRC6, DST6)
    assert wire == raw_header(checksum=0x41E9)
    assert Segment.decode(wire, SRC6, DST6).checksum == 0x41E9


def test_pseudo_headers_match_the_rfcs():
    assert pseudo_header(SRC4, DST4, 20) == bytes.fromhex("0a000001 0a000002 00 06 0014")
    assert pseudo_header(SRC6, DST6, 0x12345) == SRC6 + DST6 + bytes.fromhex("00012345 000000 06")


def test_pseudo_header_refuses_mismatched_addresses():
    with pytest.raises(ValueError):
        pseudo_header(SRC4, DST6, 20)
    with pytest.raises(ValueError):
        pseudo_header(b"\x01\x02\x03", b"\x01\x02\x03", 20)


@pytest.mark.parametrize(("src", "dst"), [(SRC4, DST4), (SRC6, DST6)], ids=["v4", "v6"])
@pytest.mark.parametrize("payload_len", [0, 1, 2, 3, 17, 1000, 1461])
def test_checksum_matches_naive_rfc1071(src, dst, payload_len):
    payload = bytes((i * 37 + 11) & 0xFF for i in range(payload_len))
    seg = Segment(
        0xFFFF,
        0xFFFE,
        0xFFFFFFF0,
        0x10,
        ACK | PSH,
        0xFFFF,
        0xFFFF,
        (NOP, NOP, Timestamps(0xFFFFFFFF, 0x80000000)),
        payload,
    )
    wire = seg.encode(src, dst)
    csum = int.from_bytes(wire[16:18], "big")
    assert csum == wire_naive.tcp_checksum(src, dst, wire)
    # and the whole thing, checksum included, sums to all ones
    assert (
        wire_naive.ones_complement_sum(wire_naive.pseudo_header(src, dst, len(wire)) + wire)
        == 0xFFFF
    )
    assert Segment.decode(wire, src, dst).checksum == csum


@given(
    st.binary(max_size=300),
    st.sampled_from([(SRC4, DST4), (SRC6, DST6)]),
    st.integers(0, 0xFFFFFFFF),
    st.integers(0, 0xFF),
)
def test_checksum_property(payload, addrs, seq, flags):
    src, dst = addrs
    wire = Segment(1234, 5678, seq, flags=flags, payload=payload).encode(src, dst)
    assert int.from_bytes(wire[16:18], "big") == wire_naive.tcp_checksum(src, dst, wire)
    Segment.decode(wire, src, dst)


@given(st.binary(max_size=200))
def test_ones_complement_sum_property(data):
    assert ones_complement_sum(data) == wire_naive.ones_complement_sum(data)
    assert internet_checksum(data) == wire_naive.checksum(data)


@given(st.lists(st.binary(max_size=20), max_size=5))
def test_internet_checksum_of_parts_equals_checksum_of_whole(parts):
    assert internet_checksum(*parts) == wire_naive.checksum(b"".join(parts))


def test_encode_without_addresses_leaves_checksum_zero():
    assert Segment(1, 2, 3, payload=b"x").encode()[16:18] == b"\x00\x00"
    assert Segment(1, 2, 3, payload=b"x").encode(SRC4)[16:18] == b"\x00\x00"


def test_decode_without_addresses_does_not_verify():
    wire = raw_header(checksum=0x1111)
    assert Segment.decode(wire).checksum == 0x1111


@pytest.mark.parametrize(("src", "dst"), [(SRC4, DST4), (SRC6, DST6)], ids=["v4", "v6"])
def test_bad_checksum(src, dst):
    wire = bytearray(Segment(1, 2, 3, flags=ACK, payload=b"data").encode(src, dst))
    wire[-1] ^= 0x01
    with pytest.raises(MalformedPacket) as exc:
        Segment.decode(bytes(wire), src, dst)
    assert exc.value.reason == "checksum"
    assert isinstance(exc.value, ValueError)


def test_checksum_depends_on_addresses():
    wire = Segment(1, 2, 3, payload=b"data").encode(SRC4, DST4)
    with pytest.raises(MalformedPacket) as exc:
        Segment.decode(wire, DST4, bytes([10, 0, 0, 3]))
    assert exc.value.reason == "checksum"


def test_checksum_zero_and_ffff_are_equivalent():
    # Pick a 2-byte payload that makes the sum all ones: the checksum is then 0x0000,
    # and 0xffff (negative zero in one's complement) must be accepted too.
    base = Segment(1, 2, 3, payload=b"\x00\x00").encode()
    s = wire_naive.ones_complement_sum(wire_naive.pseudo_header(SRC4, DST4, len(base)) + base)
    payload = (0xFFFF - s).to_bytes(2, "big")
    wire = Segment(1, 2, 3, payload=payload).encode(SRC4, DST4)
    assert wire[16:18] == b"\x00\x00"
    Segment.decode(wire, SRC4, DST4)
    Segment.decode(wire[:16] + b"\xff\xff" + wire[18:], SRC4, DST4)


# -- malformed -------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 4, 19])
def test_short(n):
    with pytest.raises(MalformedPacket) as exc:
        Segment.decode(raw_header()[:n])
    assert exc.value.reason == "short"


@pytest.mark.parametrize("offset", [0, 1, 4])
def test_data_offset_below_five(offset):
    with pytest.raises(MalformedPacket) as exc:
        Segment.decode(raw_header(offset=offset) + bytes(40))
    assert exc.value.reason == "data-offset"


@pytest.mark.parametrize(("offset", "size"), [(6, 20), (6, 23), (15, 59), (10, 39)])
def test_data_offset_beyond_packet(offset, size):
    wire = (raw_header(offset=offset) + b"\x01" * 40)[:size]
    with pytest.raises(MalformedPacket) as exc:
        Segment.decode(wire)
    assert exc.value.reason == "data-offset"


def test_data_offset_exactly_the_packet():
    seg = Segment.decode(raw_header(offset=15) + b"\x01" * 40)
    assert seg.options == (NOP,) * 40
    assert seg.payload == b""


@pytest.mark.parametrize(
    "opts",
    [
        b"\x01\x01\x01\x02",  # MSS kind in the last byte: no length
        b"\x02\x08\x05\xb4",  # MSS claims 8 bytes in a 4-byte area
        b"\x08\x0a\x00\x00\x00\x00\x00\x00",  # timestamps cut short
        b"\x05\x0a" + bytes(6),  # SACK block cut short
        b"\x01\x01\x01\xfe",  # unknown kind with no length byte
        b"\xfe\xff\x00\x00",  # unknown kind overruns
    ],
)
def test_option_overrun(opts):
    with pytest.raises(MalformedPacket) as exc:
        Segment.decode(with_options(opts, payload=b"payload after the header"))
    assert exc.value.reason == "option-overrun"


@pytest.mark.parametrize(
    "opts", [b"\x02\x00\x05\xb4", b"\x02\x01\x05\xb4", b"\x01\x01\xfe\x00", b"\x08\x01" + bytes(10)]
)
def test_option_length_below_two(opts):
    with pytest.raises(MalformedPacket) as exc:
        Segment.decode(with_options(opts))
    assert exc.value.reason == "option-length"


def test_malformed_is_checked_before_checksum_for_structure():
    # a short segment reports "short" even with addresses
    with pytest.raises(MalformedPacket) as exc:
        Segment.decode(b"\x00" * 10, SRC4, DST4)
    assert exc.value.reason == "short"


def test_oversize_segment_for_ipv4_is_malformed_not_a_crash():
    # An IPv4 pseudo-header length is 16 bits; a longer segment cannot be valid.
    wire = Segment(1, 2, 3, payload=bytes(70000)).encode()
    with pytest.raises(MalformedPacket) as exc:
        Segment.decode(wire, SRC4, DST4)
    assert exc.value.reason == "length"
    # IPv6's pseudo-header length is 32 bits, so the same size is fine there
    wire6 = Segment(1, 2, 3, payload=bytes(70000)).encode(SRC6, DST6)
    assert len(Segment.decode(wire6, SRC6, DST6).payload) == 70000


def test_peek_ports():
    assert peek_ports(raw_header(sport=1, dport=2)) == (1, 2)
    with pytest.raises(MalformedPacket) as exc:
        peek_ports(b"\x00\x01\x00")
    assert exc.value.reason == "short"


# -- derived values and text ---------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "text"),
    [
        (SYN, "S"),
        (SYN | ACK, "S."),
        (ACK, "."),
        (FIN | ACK, "F."),
        (RST, "R"),
        (RST | ACK, "R."),
        (PSH | ACK, "P."),
        (FIN | PSH | ACK, "FP."),
        (URG | ACK, ".U"),
        (SYN | ECE | CWR, "SEW"),
        (0, "none"),
    ],
)
def test_tcpdump_flags(flags, text):
    assert tcpdump_flags(flags) == text
    assert Segment(1, 2, 3, flags=flags).flag_text == text


@pytest.mark.parametrize(
    ("flags", "payload", "seg_len"),
    [(0, b"", 0), (SYN, b"", 1), (FIN, b"", 1), (SYN | FIN, b"", 2), (FIN | ACK, b"abc", 4)],
)
def test_seg_len(flags, payload, seg_len):
    assert Segment(1, 2, 3, flags=flags, payload=payload).seg_len == seg_len


def test_str():
    seg = Segment(1000, 80, 7, 9, SYN | ACK, 512, payload=b"ab")
    assert str(seg) == "1000 > 80 [S.] seq 7 ack 9 win 512 len 2"


def test_checksum_is_not_compared():
    a = Segment(1, 2, 3, checksum=0x1234)
    b = Segment(1, 2, 3, checksum=0x4321)
    assert a == b
