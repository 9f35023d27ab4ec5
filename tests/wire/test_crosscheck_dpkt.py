"""Cross-check the segment codec against dpkt, in both directions.

1. synack encodes 10,000 random segments (and the IP packets around them);
   dpkt decodes them, and every field, the options and both checksums must agree.
2. dpkt builds 10,000 random segments inside IP packets (computing the checksums
   itself); synack decodes them, accepting the checksums, and every field must agree.

The option lists on each side are built by hand in this file, so neither side's
option encoder is trusted to check itself. A seeded random.Random keeps it
deterministic.
"""

import dataclasses
import random
import struct
from ipaddress import IPv4Address, IPv6Address

import dpkt
import pytest
import wire_naive

from synack.wire import (
    FastOpen,
    FastOpenExp,
    IPv4Header,
    IPv6Header,
    MaxSegmentSize,
    NoOperation,
    Sack,
    SackPermitted,
    Segment,
    Timestamps,
    UnknownOption,
    WindowScale,
    decode_tcp_packet,
    encode_tcp_packet,
)
from synack.wire.segment import EndOfOptions

N = 10_000
MAX_OPTIONS = 40
# the lengths RFC 9293, RFC 7323, RFC 2018 and RFC 7413 give the options synack decodes
VALID_LENGTHS = {2: {4}, 3: {3}, 4: {2}, 5: {10, 18, 26, 34}, 8: {10}, 34: {2, *range(6, 19)}}


def random_option(rng: random.Random):
    """One option as (synack object, its wire bytes built by hand)."""
    kind = rng.randrange(10)
    if kind == 8:
        # TCP Fast Open (RFC 7413 4.1.1): a request, or a 4 to 16-byte cookie
        cookie = rng.randbytes(rng.choice([0, 4, 8, 16]))
        if rng.random() < 0.5:
            return FastOpen(cookie), bytes([34, 2 + len(cookie)]) + cookie
        return FastOpenExp(cookie), bytes([254, 4 + len(cookie), 0xF9, 0x89]) + cookie
    if kind == 0:
        return NoOperation(), b"\x01"
    if kind == 1:
        v = rng.getrandbits(16)
        return MaxSegmentSize(v), b"\x02\x04" + struct.pack("!H", v)
    if kind == 2:
        shift = rng.randrange(256)
        return WindowScale(shift), bytes([3, 3, shift])
    if kind == 3:
        return SackPermitted(), b"\x04\x02"
    if kind == 4:
        blocks = tuple((rng.getrandbits(32), rng.getrandbits(32)) for _ in range(rng.randint(1, 4)))
        raw = bytes([5, 2 + 8 * len(blocks)]) + b"".join(struct.pack("!II", *b) for b in blocks)
        return Sack(blocks), raw
    if kind == 5:
        tsval, tsecr = rng.getrandbits(32), rng.getrandbits(32)
        return Timestamps(tsval, tsecr), b"\x08\x0a" + struct.pack("!II", tsval, tsecr)
    if kind == 6:
        # a known kind with the wrong length is kept raw
        k = rng.choice(sorted(VALID_LENGTHS))
        length = rng.choice([n for n in range(2, 12) if n not in VALID_LENGTHS[k]])
        data = rng.randbytes(length - 2)
        return UnknownOption(k, data), bytes([k, length]) + data
    # kinds synack does not know: MD5 (19), MPTCP (30), experimental (not TFO's magic)...
    k = rng.choice([6, 7, 9, 19, 28, 29, 30, 69, 253, 254, 255])
    data = rng.randbytes(rng.randint(0, 10))
    if k == 254 and data[:2] == b"\xf9\x89":
        data = b"\x00" + data[1:]
    return UnknownOption(k, data), bytes([k, 2 + len(data)]) + data


def random_options(rng: random.Random):
    """A valid option list: (synack options as decode returns them, padded wire bytes)."""
    opts: list = []
    raw = b""
    for _ in range(rng.randint(0, 6)):
        opt, opt_raw = random_option(rng)
        if len(raw) + len(opt_raw) > MAX_OPTIONS:
            break
        opts.append(opt)
        raw += opt_raw
    if raw and len(raw) < MAX_OPTIONS and rng.random() < 0.2:
        opts.append(EndOfOptions())
        raw += b"\x00"
    if len(raw) % 4:
        if not opts or not isinstance(opts[-1], EndOfOptions):
            opts.append(EndOfOptions())  # zero padding reads back as EOL
        raw += bytes(-len(raw) % 4)
    return tuple(opts), raw


def random_addresses(rng: random.Random):
    if rng.random() < 0.5:
        return IPv4Address(rng.getrandbits(32)), IPv4Address(rng.getrandbits(32))
    return IPv6Address(rng.getrandbits(128)), IPv6Address(rng.getrandbits(128))


def dpkt_options(raw: bytes):
    """dpkt's parse of an options area, up to and including the first EOL."""
    out = []
    for item in dpkt.tcp.parse_opts(raw):
        assert item is not None, f"dpkt could not parse options {raw.hex()}"
        out.append((item[0], bytes(item[1])))
        if item[0] == 0:
            break
    return out


def kind_data(opt) -> tuple[int, bytes]:
    """A synack option as dpkt's (kind, data) pair."""
    if isinstance(opt, EndOfOptions | NoOperation | SackPermitted):
        return opt.kind, b""
    if isinstance(opt, MaxSegmentSize):
        return 2, struct.pack("!H", opt.value)
    if isinstance(opt, WindowScale):
        return 3, bytes([opt.shift])
    if isinstance(opt, Sack):
        return 5, b"".join(struct.pack("!II", *b) for b in opt.blocks)
    if isinstance(opt, Timestamps):
        return 8, struct.pack("!II", opt.value, opt.echo_reply)
    if isinstance(opt, FastOpen):
        return 34, opt.cookie
    if isinstance(opt, FastOpenExp):
        return 254, b"\xf9\x89" + opt.cookie
    return opt.kind, opt.data


def dpkt_reserved(tcp: dpkt.tcp.TCP) -> int:
    """The four bits between data offset and CWR (dpkt splits them into _rsv and NS)."""
    return (tcp._off_flags >> 8) & 0x0F


def random_segment(rng: random.Random):
    options, raw = random_options(rng)
    seg = Segment(
        src_port=rng.getrandbits(16),
        dst_port=rng.getrandbits(16),
        seq=rng.getrandbits(32),
        ack=rng.getrandbits(32),
        flags=rng.getrandbits(8),
        window=rng.getrandbits(16),
        urgent=rng.getrandbits(16),
        options=options,
        payload=rng.randbytes(rng.randint(0, 100)),
        reserved=rng.getrandbits(4) if rng.random() < 0.2 else 0,
    )
    return seg, raw


# -- synack encodes, dpkt decodes ----------------------------------------------------


def check_dpkt_tcp(tcp: dpkt.tcp.TCP, seg: Segment, raw_opts: bytes, ctx: str) -> None:
    assert tcp.sport == seg.src_port, ctx
    assert tcp.dport == seg.dst_port, ctx
    assert tcp.seq == seg.seq, ctx
    assert tcp.ack == seg.ack, ctx
    assert tcp.off == 5 + len(raw_opts) // 4, ctx
    assert tcp.flags & 0xFF == seg.flags, ctx
    assert dpkt_reserved(tcp) == seg.reserved, ctx
    assert tcp.win == seg.window, ctx
    assert tcp.urp == seg.urgent, ctx
    assert bytes(tcp.opts) == raw_opts, ctx
    assert dpkt_options(bytes(tcp.opts)) == [kind_data(o) for o in seg.options], ctx
    assert bytes(tcp.data) == seg.payload, ctx


def test_synack_to_dpkt():
    rng = random.Random(0x5EED)
    families = {4: 0, 6: 0}
    for i in range(N):
        seg, raw_opts = random_segment(rng)
        src, dst = random_addresses(rng)
        ttl = rng.randint(1, 255)
        ctx = f"segment {i}: {seg!r} {src} > {dst}"

        # the bare segment, checksum against the right pseudo-header
        wire = seg.encode(src.packed, dst.packed)
        tcp = dpkt.tcp.TCP(wire)
        check_dpkt_tcp(tcp, seg, raw_opts, ctx)
        assert tcp.sum == wire_naive.tcp_checksum(src.packed, dst.packed, wire), ctx

        # the whole packet
        pkt = encode_tcp_packet(src, dst, seg, ttl=ttl)
        families[src.version] += 1
        if src.version == 4:
            ip = dpkt.ip.IP(pkt)
            assert (ip.v, ip.hl, ip.p, ip.ttl, ip.len) == (4, 5, 6, ttl, len(pkt)), ctx
            assert (ip.df, ip.mf, ip.offset) == (1, 0, 0), ctx
            assert dpkt.in_cksum(pkt[:20]) == 0, ctx
        else:
            ip = dpkt.ip6.IP6(pkt)
            assert (ip.v, ip.nxt, ip.hlim, ip.plen) == (6, 6, ttl, len(wire)), ctx
        assert (ip.src, ip.dst) == (src.packed, dst.packed), ctx
        assert isinstance(ip.data, dpkt.tcp.TCP), ctx
        check_dpkt_tcp(ip.data, seg, raw_opts, ctx)
        assert bytes(ip.data) == wire, ctx

        # let dpkt recompute both checksums from scratch: they must be what we sent
        tcp_sum = ip.data.sum
        ip_sum = getattr(ip, "sum", None)
        ip.data.sum = 0
        if src.version == 4:
            ip.sum = 0
        assert bytes(ip) == pkt, ctx
        assert ip.data.sum == tcp_sum, ctx
        if src.version == 4:
            assert ip.sum == ip_sum, ctx
    assert min(families.values()) > N // 3


# -- dpkt encodes, synack decodes ----------------------------------------------------


def test_dpkt_to_synack():
    rng = random.Random(0xD9C7)
    families = {4: 0, 6: 0}
    for i in range(N):
        expected, raw_opts = random_segment(rng)
        src, dst = random_addresses(rng)
        ns = rng.getrandbits(1) if rng.random() < 0.2 else 0
        rsv3 = rng.getrandbits(3) if rng.random() < 0.2 else 0
        expected.reserved = rsv3 << 1 | ns
        tcp = dpkt.tcp.TCP(
            sport=expected.src_port,
            dport=expected.dst_port,
            seq=expected.seq,
            ack=expected.ack,
            win=expected.window,
            urp=expected.urgent,
            sum=0,
            opts=raw_opts,
            data=expected.payload,
        )
        tcp._off_flags = (5 + len(raw_opts) // 4) << 12 | rsv3 << 9 | ns << 8 | expected.flags
        ctx = f"segment {i}: {expected!r} {src} > {dst}"

        if src.version == 4:
            ident, tos, ttl = rng.getrandbits(16), rng.getrandbits(8), rng.randint(1, 255)
            ip = dpkt.ip.IP(
                src=src.packed, dst=dst.packed, p=6, ttl=ttl, id=ident, tos=tos, sum=0, data=tcp
            )
            ip.df = rng.getrandbits(1)
            ip.rf = 1 if rng.random() < 0.05 else 0
            pkt = bytes(ip)  # dpkt fills in the length and both checksums
            header, seg = decode_tcp_packet(pkt)
            assert isinstance(header, IPv4Header), ctx
            assert (header.ttl, header.identification, header.tos) == (ttl, ident, tos), ctx
            ecn = tos & 3  # the decoded segment carries the header's ECN field
            assert header.flags == (ip.rf << 2 | ip.df << 1), ctx
            assert header.total_length == len(pkt) == ip.len, ctx
            assert header.checksum == ip.sum, ctx
        else:
            hlim = rng.randint(0, 255)
            ip = dpkt.ip6.IP6(
                src=src.packed, dst=dst.packed, nxt=6, hlim=hlim, plen=len(tcp), data=tcp
            )
            ip.fc, ip.flow = rng.getrandbits(8), rng.getrandbits(20)
            pkt = bytes(ip)  # dpkt fills in the TCP checksum
            header, seg = decode_tcp_packet(pkt)
            assert isinstance(header, IPv6Header), ctx
            assert (header.hop_limit, header.traffic_class) == (hlim, ip.fc), ctx
            ecn = ip.fc & 3
            assert (header.flow_label, header.payload_length) == (ip.flow, len(tcp)), ctx
        families[src.version] += 1
        # dpkt's checksum, checked independently of both libraries
        assert tcp.sum == wire_naive.tcp_checksum(src.packed, dst.packed, bytes(tcp)), ctx
        assert (header.src, header.dst) == (src, dst), ctx
        assert seg == dataclasses.replace(expected, ecn=ecn), ctx
        assert seg.checksum == tcp.sum, ctx
        # the segment alone decodes the same, checksum verified
        assert Segment.decode(bytes(tcp), src.packed, dst.packed) == expected, ctx
        # and synack re-encodes exactly the bytes dpkt built
        assert seg.encode(src.packed, dst.packed) == bytes(tcp), ctx
    assert min(families.values()) > N // 3


@pytest.mark.parametrize("seed", range(3))
def test_generators_cover_every_option_kind(seed):
    # Guard against the random generators quietly never producing some option.
    rng = random.Random(seed)
    seen = set()
    for _ in range(500):
        options, raw = random_options(rng)
        assert len(raw) <= MAX_OPTIONS and len(raw) % 4 == 0
        seen.update(type(o) for o in options)
    assert seen == {
        NoOperation,
        MaxSegmentSize,
        WindowScale,
        SackPermitted,
        Sack,
        Timestamps,
        FastOpen,
        FastOpenExp,
        UnknownOption,
        EndOfOptions,
    }
