"""The codec's fast paths give exactly what the general code (or a by-hand
encoding from the RFCs) gives, on the layouts they take and on near misses.

Fast paths: the NOP, NOP, timestamps and Linux SYN option layouts decoded and
encoded by one struct call each; the header packed with NOP, NOP, timestamps
in one call; ``encode_packed`` checksumming the segment in place after the IP
header's addresses; the checksum arithmetic (little-endian read, no fold loop).
"""

import random
import struct

import pytest
import wire_naive
from hypothesis import given, settings
from hypothesis import strategies as st

import synack.wire.segment
from synack.bench.compiled import is_compiled
from synack.wire import (
    ACK,
    NOP,
    PSH,
    SACK_PERMITTED,
    SYN,
    FastOpen,
    MalformedPacket,
    MaxSegmentSize,
    NoOperation,
    Sack,
    SackPermitted,
    Segment,
    Timestamps,
    UnknownOption,
    WindowScale,
)
from synack.wire.checksum import (
    addresses_and_segment_checksum,
    checksum_ok,
    internet_checksum,
    tcp_checksum,
)
from synack.wire.ip import encode_packed, parse_tcp_packet
from synack.wire.segment import (
    EndOfOptions,
    _decode_options,
    _parse_options,
    decode_options,
    encode_options,
)
from synack.wire.seq import HALF, MOD, sub

SRC4, DST4 = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
SRC6, DST6 = bytes(range(16)), bytes(range(100, 116))
u32 = st.integers(0, 0xFFFF_FFFF)


def nop_nop_ts(value: int, echo: int) -> bytes:
    return b"\x01\x01\x08\x0a" + struct.pack("!II", value, echo)


def linux_syn(mss: int, value: int, echo: int, shift: int) -> bytes:
    """MSS, SACK-permitted, timestamps, NOP, window scale, byte by byte."""
    return (
        bytes([2, 4]) + struct.pack("!H", mss) + bytes([4, 2, 8, 10])
        + struct.pack("!II", value, echo) + bytes([1, 3, 3, shift])
    )  # fmt: skip


def outcome(parse, data, start, end):
    """What a parser returns, with each option's class (equal dataclasses of
    different classes must not pass), or the error it raises."""
    try:
        options = parse(data, start, end)
    except MalformedPacket as exc:
        return ("error", exc.reason, str(exc))
    return ("ok", options, tuple(type(opt) for opt in options))


def assert_fast_equals_general(area: bytes, junk: bytes = b"") -> None:
    # at offset 0 and behind other bytes, as bytes, bytearray and memoryview
    buf = junk + area
    start, end = len(junk), len(buf)
    for data in (buf, bytearray(buf), memoryview(buf)):
        assert outcome(_decode_options, data, start, end) == outcome(
            _parse_options, data, start, end
        )
    if not junk:
        assert outcome(lambda d, s, e: decode_options(d), area, 0, len(area)) == outcome(
            _parse_options, area, 0, len(area)
        )


# -- decoding -----------------------------------------------------------------


def test_the_fast_layouts_decode_to_their_options():
    assert decode_options(nop_nop_ts(7, 9)) == (NOP, NOP, Timestamps(7, 9))
    assert decode_options(linux_syn(1460, 5, 0, 7)) == (
        MaxSegmentSize(1460), SACK_PERMITTED, Timestamps(5, 0), NOP, WindowScale(7),
    )  # fmt: skip


@given(u32, u32, st.integers(0, 0xFFFF), st.integers(0, 255), st.randoms(use_true_random=False))
@settings(max_examples=300, deadline=None)
def test_fast_layouts_and_every_single_byte_change_decode_as_the_general_parser(
    value, echo, mss, shift, rnd
):
    for area in (nop_nop_ts(value, echo), linux_syn(mss, value, echo, shift)):
        assert_fast_equals_general(area)
        # each byte replaced by a random value, and by the bytes that matter most
        for i in range(len(area)):
            for b in (rnd.randrange(256), 0, 1, 2, 3, 4, 8, 10, 0xFF):
                mutated = area[:i] + bytes([b]) + area[i + 1 :]
                assert_fast_equals_general(mutated, junk=bytes(rnd.randrange(3)))


@pytest.mark.parametrize("cut", [1, 2, 4, 6, 8, 10, 11])
def test_near_miss_lengths_take_the_general_parser(cut):
    for area in (nop_nop_ts(1, 2), linux_syn(1460, 1, 2, 7)):
        for changed in (area[:-cut], area + area[:cut], area[:-cut] + bytes(cut + 1)):
            assert_fast_equals_general(changed, junk=b"\x01\x01")


@given(st.binary(max_size=44), st.binary(max_size=3))
@settings(max_examples=1000, deadline=None)
def test_any_options_area_decodes_as_the_general_parser(area, junk):
    assert_fast_equals_general(area, junk)


@given(
    st.lists(
        st.sampled_from(
            [
                b"\x01",
                b"\x00",
                b"\x01\x01\x08\x0a",
                b"\x02\x04\x05\xb4",
                b"\x04\x02",
                b"\x03\x03\x07",
                b"\x01\x03\x03",
                b"\x08\x0a",
                b"\x08\x0a\x00\x00\x00\x01\x00\x00\x00\x02",
                b"\x05\x0a",
                b"\x22\x02",
            ]
        ),
        max_size=10,
    )
)
@settings(max_examples=1000, deadline=None)
def test_options_built_from_real_pieces_decode_as_the_general_parser(pieces):
    assert_fast_equals_general(b"".join(pieces))


def test_malformed_errors_keep_their_offsets_within_the_options():
    # the offset in the message counts from the start of the options, not the segment
    header = struct.pack("!HHIIBBHHH", 1, 2, 3, 0, 8 << 4, ACK, 0, 0, 0)
    with pytest.raises(MalformedPacket) as exc:
        Segment.decode(header + b"\x01" * 11 + b"\x05")
    assert exc.value.reason == "option-overrun"
    assert str(exc.value) == "option kind 5 at offset 11 has no length byte"
    with pytest.raises(MalformedPacket) as exc:
        Segment.decode(header + b"\x01" * 3 + b"\x08\x0a" + bytes(7))
    assert str(exc.value) == (
        "option kind 8 at offset 3 has length 10, but only 9 bytes of options remain"
    )


# -- encoding -----------------------------------------------------------------


def naive_option(opt) -> bytes:
    """Each option's bytes from RFC 9293 3.2, RFC 7323 2.2 and 3.2, RFC 2018 2 and 3."""
    if isinstance(opt, NoOperation):
        return b"\x01"
    if isinstance(opt, EndOfOptions):
        return b"\x00"
    if isinstance(opt, MaxSegmentSize):
        return bytes([2, 4, opt.value >> 8, opt.value & 0xFF])
    if isinstance(opt, WindowScale):
        return bytes([3, 3, opt.shift])
    if isinstance(opt, SackPermitted):
        return bytes([4, 2])
    if isinstance(opt, Timestamps):
        return bytes([8, 10]) + opt.value.to_bytes(4, "big") + opt.echo_reply.to_bytes(4, "big")
    if isinstance(opt, Sack):
        edges = b"".join(a.to_bytes(4, "big") + b.to_bytes(4, "big") for a, b in opt.blocks)
        return bytes([5, 2 + len(edges)]) + edges
    if isinstance(opt, FastOpen):
        return bytes([34, 2 + len(opt.cookie)]) + opt.cookie
    return bytes([opt.kind, 2 + len(opt.data)]) + opt.data


def naive_options(options) -> bytes:
    raw = b"".join(naive_option(opt) for opt in options)
    return raw + bytes(-len(raw) % 4)


class MssSubclass(MaxSegmentSize):
    """Not the exact class the SYN layout checks for: takes the general path."""


# Only the pure build meets one: a compiled MaxSegmentSize has no Python
# subclass (mypyc: "interpreted classes cannot inherit from compiled").
SUBCLASSES = [] if is_compiled(synack.wire.segment) else [MssSubclass]

option = st.one_of(
    st.just(NOP),
    st.just(NoOperation()),  # equal to NOP but not the same object
    st.builds(MaxSegmentSize, st.integers(0, 0xFFFF)),
    *(st.builds(cls, st.integers(0, 0xFFFF)) for cls in SUBCLASSES),
    st.builds(WindowScale, st.integers(0, 255)),
    st.just(SACK_PERMITTED),
    st.builds(Timestamps, u32, u32),
    st.builds(Sack, st.lists(st.tuples(u32, u32), min_size=1, max_size=2).map(tuple)),
    st.builds(UnknownOption, st.integers(9, 30), st.binary(max_size=4)),
)


@given(u32, u32, st.integers(0, 0xFFFF), st.integers(0, 255))
def test_the_fast_layouts_encode_as_by_hand(value, echo, mss, shift):
    ts = Timestamps(value, echo)
    assert encode_options((NOP, NOP, ts)) == nop_nop_ts(value, echo)
    syn = (MaxSegmentSize(mss), SACK_PERMITTED, ts, NOP, WindowScale(shift))
    assert encode_options(syn) == linux_syn(mss, value, echo, shift)
    # the same options as other objects of the same classes
    syn_copy = (MaxSegmentSize(mss), SackPermitted(), Timestamps(value, echo), NoOperation(),
                WindowScale(shift))  # fmt: skip
    assert encode_options(syn_copy) == linux_syn(mss, value, echo, shift)
    assert encode_options((NoOperation(), NoOperation(), ts)) == nop_nop_ts(value, echo)


@given(st.lists(option, max_size=5).map(tuple))
@settings(max_examples=500, deadline=None)
def test_any_options_encode_as_by_hand(options):
    assert encode_options(options) == naive_options(options)


@pytest.mark.parametrize(
    "bad",
    [
        (MaxSegmentSize(1 << 16), SACK_PERMITTED, Timestamps(1, 2), NOP, WindowScale(7)),
        (MaxSegmentSize(1460), SACK_PERMITTED, Timestamps(1 << 32, 2), NOP, WindowScale(7)),
        (MaxSegmentSize(1460), SACK_PERMITTED, Timestamps(1, 2), NOP, WindowScale(256)),
        (MaxSegmentSize(1460), SACK_PERMITTED, Timestamps(1, 2), NOP, WindowScale(-1)),
    ],
)
def test_a_value_out_of_range_fails_as_on_the_general_path(bad):
    # the general path's errors: struct.error for 16 and 32-bit fields, ValueError
    # from bytes() for the window scale's byte
    general = (*bad, NoOperation())  # another layout: option by option
    with pytest.raises(Exception) as expected:
        encode_options(general)
    with pytest.raises(type(expected.value)):
        encode_options(bad)


def by_hand(seg: Segment) -> bytes:
    """Header, options, payload, checksum zero, packed from RFC 9293 3.1."""
    opts = naive_options(seg.options)
    header = struct.pack(
        "!HHIIBBHHH", seg.src_port, seg.dst_port, seg.seq, seg.ack,
        (20 + len(opts)) // 4 << 4 | seg.reserved, seg.flags, seg.window, 0, seg.urgent,
    )  # fmt: skip
    return header + opts + seg.payload


segments = st.builds(
    Segment,
    src_port=st.integers(0, 0xFFFF),
    dst_port=st.integers(0, 0xFFFF),
    seq=u32,
    ack=u32,
    flags=st.integers(0, 255),
    window=st.integers(0, 0xFFFF),
    urgent=st.integers(0, 0xFFFF),
    options=st.one_of(
        st.builds(lambda v, e: (NOP, NOP, Timestamps(v, e)), u32, u32),
        st.builds(
            lambda m, v, s: (
                MaxSegmentSize(m),
                SACK_PERMITTED,
                Timestamps(v, 0),
                NOP,
                WindowScale(s),
            ),
            st.integers(0, 0xFFFF),
            u32,
            st.integers(0, 14),
        ),
        st.lists(option, max_size=4).map(tuple).filter(lambda o: len(naive_options(o)) <= 40),
    ),
    payload=st.binary(max_size=64),
    reserved=st.integers(0, 15),
    ecn=st.integers(0, 3),
)


@given(segments)
@settings(max_examples=300, deadline=None)
def test_segment_encodes_as_by_hand_and_decodes_back(seg):
    raw = by_hand(seg)
    assert seg.encode_header() == raw[: len(raw) - len(seg.payload)]
    assert seg.encode() == raw
    for src, dst in ((SRC4, DST4), (SRC6, DST6)):
        wire = seg.encode(src, dst)
        expected = wire_naive.tcp_checksum(src, dst, raw)
        assert wire == raw[:16] + expected.to_bytes(2, "big") + raw[18:]
        back = Segment.decode(wire, src, dst)
        opts = naive_options(seg.options)
        assert back.options == _parse_options(opts, 0, len(opts))  # padding reads as EOL


def packet_by_hand(src, dst, seg, ttl=64, df=True, flow_label=0, partial=False):
    """An IP packet built from RFC 791 3.1 / RFC 8200 3 and the naive checksums."""
    tcp = by_hand(seg)
    if partial:
        check = wire_naive.ones_complement_sum(wire_naive.pseudo_header(src, dst, len(tcp)))
    else:
        check = wire_naive.tcp_checksum(src, dst, tcp)
    tcp = tcp[:16] + check.to_bytes(2, "big") + tcp[18:]
    if len(src) == 4:
        fields = [0x45, seg.ecn, 20 + len(tcp), 0, 0x4000 if df else 0, ttl, 6, 0, src, dst]
        header = struct.pack("!BBHHHBBH4s4s", *fields)
        fields[7] = wire_naive.checksum(header)
        return struct.pack("!BBHHHBBH4s4s", *fields) + tcp
    first = 6 << 28 | seg.ecn << 20 | flow_label
    return struct.pack("!IHBB16s16s", first, len(tcp), 6, ttl, src, dst) + tcp


@given(segments, st.booleans(), st.integers(1, 255), st.integers(0, 0xFFFFF))
@settings(max_examples=300, deadline=None)
def test_encode_packed_builds_the_packet_by_hand(seg, df, ttl, flow):
    for src, dst in ((SRC4, DST4), (SRC6, DST6)):
        packet = encode_packed(src, dst, seg, ttl=ttl, df=df, flow_label=flow)
        assert packet == packet_by_hand(src, dst, seg, ttl, df, flow)
        got_src, got_dst, back = parse_tcp_packet(packet)
        opts = naive_options(seg.options)
        assert (got_src, got_dst, back.ecn) == (src, dst, seg.ecn)
        assert back.options == _parse_options(opts, 0, len(opts))
        # a partial checksum above a length, the whole one at or below it
        size = len(packet)
        partial = encode_packed(src, dst, seg, ttl=ttl, df=df, flow_label=flow,
                                partial_above=size - 1)  # fmt: skip
        assert partial == packet_by_hand(src, dst, seg, ttl, df, flow, partial=True)
        assert encode_packed(src, dst, seg, ttl=ttl, df=df, flow_label=flow,
                             partial_above=size) == packet  # fmt: skip


def test_encode_packed_refuses_addresses_of_no_family_before_packing():
    seg = Segment(1, 2, 3, options=(NOP, NOP, Timestamps(1, 2)))
    for src, dst in ((SRC4, DST6), (SRC6, DST4), (b"\x01" * 5, b"\x01" * 5)):
        with pytest.raises(ValueError, match="not one family"):
            encode_packed(src, dst, seg)


# -- checksums and sequence numbers ---------------------------------------------


@given(st.binary(max_size=300), st.sampled_from([(SRC4, DST4), (SRC6, DST6)]))
@settings(max_examples=500, deadline=None)
def test_checksums_equal_the_naive_rfc1071_sums(data, addresses):
    src, dst = addresses
    expected = wire_naive.checksum(wire_naive.pseudo_header(src, dst, len(data)) + data)
    assert tcp_checksum(src, dst, data) == expected
    assert addresses_and_segment_checksum(memoryview(src + dst + data), len(data)) == expected
    assert internet_checksum(data) == wire_naive.checksum(data)
    assert checksum_ok(data) == (wire_naive.checksum(data) == 0)


@pytest.mark.parametrize(
    ("data", "ok"),
    [
        (b"", False),  # sums to +0
        (b"\x00" * 20, False),
        (b"\xff\xff", True),  # -0
        (b"\xff\xff\x00\x00", True),
        (b"\x12\x34\xed\xcb", True),  # a word and its complement
        (b"\x12\x34\xed\xca", False),
        (b"\xff", False),  # 0xFF00: not -0
    ],
)
def test_checksum_ok_on_known_answers(data, ok):
    assert checksum_ok(data) is ok
    assert (wire_naive.checksum(data) == 0) is ok


@given(st.integers(-(1 << 40), 1 << 40), st.integers(-(1 << 40), 1 << 40))
def test_sub_is_the_signed_distance_modulo_2_32(a, b):
    d = (a - b) % MOD
    assert sub(a, b) == (d - MOD if d >= HALF else d)


# -- decoding a packet ----------------------------------------------------------


def test_parse_tcp_packet_reports_header_faults_before_a_bad_checksum():
    seg = Segment(1, 2, 3, flags=ACK | PSH, options=(NOP, NOP, Timestamps(1, 2)), payload=b"ab")
    packet = bytearray(encode_packed(SRC4, DST4, seg))
    packet[36] ^= 0xFF  # a wrong TCP checksum
    with pytest.raises(MalformedPacket) as exc:
        parse_tcp_packet(bytes(packet))
    assert exc.value.reason == "checksum"
    parse_tcp_packet(bytes(packet), verify=False)  # not checked
    packet[32] = 0x40  # and a data offset of 4 words: reported first
    with pytest.raises(MalformedPacket) as exc:
        parse_tcp_packet(bytes(packet), verify=True)
    assert exc.value.reason == "data-offset"


def test_accessors_find_the_first_option_of_each_class():
    seg = Segment(
        1, 2, 3,
        options=(Timestamps(1, 2), NOP, Timestamps(3, 4), UnknownOption(2, b"\x00"),
                 MaxSegmentSize(5), MaxSegmentSize(6), Sack(((1, 2),)), Sack(((3, 4),))),
    )  # fmt: skip
    assert seg.timestamps == Timestamps(1, 2)
    assert seg.mss == 5
    assert seg.sack_blocks == ((1, 2),)
    assert seg.window_scale is None and not seg.sack_permitted
    usual = Segment(1, 2, 3, options=(NOP, NOP, Timestamps(7, 8)))
    assert usual.timestamps == Timestamps(7, 8)
    assert usual.sack_blocks == () and usual.mss is None


def test_random_segments_survive_the_packet_round_trip():
    rnd = random.Random(16)
    for _ in range(200):
        seg = Segment(
            rnd.randrange(1 << 16), rnd.randrange(1 << 16), rnd.randrange(1 << 32),
            rnd.randrange(1 << 32), SYN if rnd.random() < 0.3 else ACK, rnd.randrange(1 << 16),
            options=rnd.choice([
                (NOP, NOP, Timestamps(rnd.randrange(1 << 32), rnd.randrange(1 << 32))),
                (MaxSegmentSize(1460), SACK_PERMITTED, Timestamps(9, 0), NOP, WindowScale(7)),
                (MaxSegmentSize(536),),
                (),
            ]),
            payload=rnd.randbytes(rnd.randrange(1500)),
        )  # fmt: skip
        for src, dst in ((SRC4, DST4), (SRC6, DST6)):
            assert parse_tcp_packet(encode_packed(src, dst, seg))[2] == seg
