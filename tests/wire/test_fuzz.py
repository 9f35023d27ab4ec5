"""Fuzzing the decoders: whatever the input, only MalformedPacket may escape.

Inputs are random bytes and real segments and packets mutated by bit flips,
truncation, byte insertion and overwrites, some with their checksums repaired
afterwards so that the mutation reaches the parsers behind the checksum checks.
When a decode succeeds, re-encoding what came out must decode to the same thing.
"""

import random
from ipaddress import IPv4Address, IPv6Address

import pytest
import wire_naive
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synack.wire import (
    FastOpen,
    FastOpenExp,
    IPv4Header,
    MalformedPacket,
    MaxSegmentSize,
    NoOperation,
    Sack,
    SackPermitted,
    Segment,
    Timestamps,
    UnknownOption,
    WindowScale,
    decode_ip,
    decode_tcp_packet,
    encode_tcp_packet,
)
from synack.wire.segment import EndOfOptions, decode_options, encode_options

# Random bytes are cheap to generate: many examples. Drawing a whole segment
# costs hypothesis far more than decoding it, so those tests draw fewer
# segments and decode MUTANTS_PER_EXAMPLE seeded mutants of each.
FUZZ = settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FUZZ_SEGMENTS = settings(FUZZ, max_examples=300)
MUTANTS_PER_EXAMPLE = 10

u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)

option = st.one_of(
    st.just(NoOperation()),
    st.builds(MaxSegmentSize, u16),
    st.builds(WindowScale, st.integers(0, 255)),
    st.just(SackPermitted()),
    st.builds(Sack, st.lists(st.tuples(u32, u32), min_size=1, max_size=4).map(tuple)),
    st.builds(Timestamps, u32, u32),
    st.builds(FastOpen, st.binary(min_size=4, max_size=16) | st.just(b"")),
    st.builds(FastOpenExp, st.binary(min_size=4, max_size=16) | st.just(b"")),
    # kinds synack does not decode (6 and 7 are the obsolete echo options; 34
    # and 254 are Fast Open's, 254 only with its magic)
    st.builds(
        UnknownOption,
        st.sampled_from([6, 7]) | st.integers(9, 33) | st.integers(35, 253) | st.just(255),
        st.binary(max_size=10),
    ),
)


@st.composite
def option_lists(draw):
    opts = draw(st.lists(option, max_size=8))
    while opts and len(encode_options(tuple(opts))) > 40:
        opts.pop()
    if draw(st.booleans()):
        opts.append(EndOfOptions())
        if len(encode_options(tuple(opts))) > 40:
            opts.pop()
    return tuple(opts)


segments = st.builds(
    Segment,
    src_port=u16,
    dst_port=u16,
    seq=u32,
    ack=u32,
    flags=st.integers(0, 255),
    window=u16,
    urgent=u16,
    options=option_lists(),
    payload=st.binary(max_size=64),
    reserved=st.integers(0, 15),
)
v4_addrs = st.integers(0, 2**32 - 1).map(IPv4Address)
v6_addrs = st.integers(0, 2**128 - 1).map(IPv6Address)
addr_pairs = st.one_of(st.tuples(v4_addrs, v4_addrs), st.tuples(v6_addrs, v6_addrs))


INTERESTING_BYTES = (0, 1, 2, 3, 4, 5, 8, 0x0A, 0x45, 0x50, 0x60, 0xF0, 0xFF)


def mutate(data: bytes, rng: random.Random) -> bytes:
    """``data`` after one to four random bit flips, truncations, insertions,
    deletions and overwrites."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        kind = rng.choice(("flip", "truncate", "insert", "delete", "overwrite"))
        if kind == "flip" and buf:
            buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
        elif kind == "truncate":
            del buf[rng.randint(0, len(buf)) :]
        elif kind == "insert":
            i = rng.randint(0, len(buf))
            buf[i:i] = rng.randbytes(rng.randint(1, 8))
        elif kind == "delete" and buf:
            i = rng.randrange(len(buf))
            del buf[i : i + rng.randint(1, 8)]
        elif kind == "overwrite" and buf:
            buf[rng.randrange(len(buf))] = rng.choice(INTERESTING_BYTES)
    return bytes(buf)


def mutants(data: bytes, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [mutate(data, rng) for _ in range(MUTANTS_PER_EXAMPLE)]


def fix_tcp_checksum(tcp: bytes, src: bytes, dst: bytes) -> bytes:
    if len(tcp) < 18:
        return tcp
    csum = wire_naive.tcp_checksum(src, dst, tcp)
    return tcp[:16] + csum.to_bytes(2, "big") + tcp[18:]


def fix_packet_checksums(pkt: bytes) -> bytes:
    """Repair the IPv4 header checksum and the TCP checksum where they can be found."""
    if not pkt:
        return pkt
    if pkt[0] >> 4 == 4 and len(pkt) >= 20:
        ihl = (pkt[0] & 0x0F) * 4
        if 20 <= ihl <= len(pkt):
            hdr = pkt[:10] + b"\0\0" + pkt[12:ihl]
            pkt = hdr[:10] + wire_naive.checksum(hdr).to_bytes(2, "big") + pkt[12:]
            total = int.from_bytes(pkt[2:4], "big")
            if ihl <= total <= len(pkt):
                tcp = fix_tcp_checksum(pkt[ihl:total], pkt[12:16], pkt[16:20])
                pkt = pkt[:ihl] + tcp + pkt[total:]
    elif pkt[0] >> 4 == 6 and len(pkt) >= 40:
        end = 40 + int.from_bytes(pkt[4:6], "big")
        if end <= len(pkt):
            pkt = pkt[:40] + fix_tcp_checksum(pkt[40:end], pkt[8:24], pkt[24:40]) + pkt[end:]
    return pkt


def check_segment_decode(data: bytes, src: bytes | None = None, dst: bytes | None = None) -> None:
    try:
        seg = Segment.decode(data, src, dst)
    except MalformedPacket as exc:
        assert isinstance(exc.reason, str) and exc.reason
        return
    # what decoded must re-encode and decode to the same segment
    again = Segment.decode(seg.encode(src, dst), src, dst)
    assert again == seg
    assert len(seg.encode()) <= len(data)


def check_packet_decode(data: bytes) -> None:
    try:
        header, payload = decode_ip(data)
    except MalformedPacket as exc:
        assert exc.reason
    else:
        assert len(payload) <= len(data)
    try:
        header, seg = decode_tcp_packet(data)
    except MalformedPacket as exc:
        assert exc.reason
        return
    again_header, again = decode_tcp_packet(encode_tcp_packet(header.src, header.dst, seg))
    assert again == seg
    assert (again_header.src, again_header.dst) == (header.src, header.dst)


# -- random bytes ------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=120), st.none() | addr_pairs)
def test_segment_decode_random_bytes(data, addrs):
    if addrs is None:
        check_segment_decode(data)
    else:
        check_segment_decode(data, addrs[0].packed, addrs[1].packed)


@FUZZ
@given(st.binary(min_size=0, max_size=40))
def test_decode_options_random_bytes(data):
    try:
        decode_options(data)
    except MalformedPacket as exc:
        assert exc.reason in ("option-overrun", "option-length")


@FUZZ
@given(
    st.one_of(
        st.binary(max_size=120),
        st.binary(max_size=120).map(lambda b: b"\x45" + b),
        st.binary(max_size=120).map(lambda b: b"\x60" + b),
    )
)
def test_packet_decode_random_bytes(data):
    check_packet_decode(data)


@FUZZ
@given(st.binary(min_size=20, max_size=100), st.booleans())
def test_segment_decode_random_header_behind_valid_ip(tcp, fix):
    # a valid IP header in front of random TCP bytes, TCP checksum repaired or not
    src, dst = IPv4Address("10.0.0.1"), IPv4Address("10.0.0.2")
    if fix:
        tcp = fix_tcp_checksum(tcp, src.packed, dst.packed)
    pkt = IPv4Header(src, dst).encode(len(tcp)) + tcp
    check_packet_decode(pkt)


# -- mutated real segments and packets -----------------------------------------------

seeds = st.integers(0, 2**32 - 1)


@FUZZ_SEGMENTS
@given(segments, seeds)
def test_segment_decode_mutated(seg, seed):
    for wire in mutants(seg.encode(), seed):
        check_segment_decode(wire)


@FUZZ_SEGMENTS
@given(segments, addr_pairs, seeds)
def test_segment_decode_mutated_with_ips(seg, addrs, seed):
    src, dst = addrs[0].packed, addrs[1].packed
    for i, wire in enumerate(mutants(seg.encode(src, dst), seed)):
        if i % 2:
            wire = fix_tcp_checksum(wire, src, dst)
        check_segment_decode(wire, src, dst)


@FUZZ_SEGMENTS
@given(segments, addr_pairs, seeds)
def test_packet_decode_mutated(seg, addrs, seed):
    for i, pkt in enumerate(mutants(encode_tcp_packet(addrs[0], addrs[1], seg), seed)):
        if i % 2:
            pkt = fix_packet_checksums(pkt)
        check_packet_decode(pkt)


@FUZZ_SEGMENTS
@given(segments, addr_pairs)
def test_real_packets_decode(seg, addrs):
    # the unmutated baseline: every generated packet must decode to its segment
    _, decoded = decode_tcp_packet(encode_tcp_packet(addrs[0], addrs[1], seg))
    # zero padding after the options reads back as an EOL
    assert decoded.options in (seg.options, (*seg.options, EndOfOptions()))
    decoded.options = seg.options
    assert decoded == seg


def test_fuzz_helpers_really_repair_checksums():
    # guard against the "fix" variants silently testing nothing
    seg = Segment(1, 2, 3, payload=b"abc")
    for src, dst in [
        (IPv4Address("1.2.3.4"), IPv4Address("5.6.7.8")),
        (IPv6Address("::1"), IPv6Address("::2")),
    ]:
        pkt = bytearray(encode_tcp_packet(src, dst, seg))
        pkt[-1] ^= 0xFF
        if src.version == 4:
            pkt[8] ^= 0xFF  # TTL, covered by the header checksum
        with pytest.raises(MalformedPacket):
            decode_tcp_packet(bytes(pkt))
        _, fixed = decode_tcp_packet(fix_packet_checksums(bytes(pkt)))
        assert fixed.payload == b"ab" + bytes([ord("c") ^ 0xFF])
