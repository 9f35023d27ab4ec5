"""Captures built byte by byte for the capture reader's tests.

Every layer is a function that returns bytes: the TCP header (with a correct
checksum unless told otherwise), IPv4 and IPv6, the link layers, the
tunnels, and the pcap and pcapng containers around them. Nothing here uses
the reader, so the tests check it against bytes laid out by hand.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterable, Sequence
from ipaddress import ip_address

from synack.analyze.capture import CaptureStats, read_segments
from synack.analyze.model import CapturedSegment
from synack.wire.checksum import internet_checksum

A4 = "10.0.0.1"
B4 = "10.0.0.2"
A6 = "2001:db8::1"
B6 = "2001:db8::2"


def read(data: bytes, **kw: object) -> tuple[list[CapturedSegment], CaptureStats]:
    """Every segment of the capture in ``data``, and the stats."""
    stats = CaptureStats()
    segments = list(read_segments(io.BytesIO(data), stats=stats, **kw))  # type: ignore[arg-type]
    return segments, stats


def row(s: CapturedSegment) -> tuple[object, ...]:
    """A segment's fields in a tuple, addresses as text (payload and options left out)."""
    return (
        s.record, str(s.src), s.sport, str(s.dst), s.dport, s.flags, s.seq, s.ack, s.window,
        s.payload_len, s.ip_len, s.checksum_ok, s.truncated,
    )  # fmt: skip


def packed(address: str) -> bytes:
    return ip_address(address).packed


def tcp(
    src: str = A4,
    dst: str = B4,
    *,
    sport: int = 40000,
    dport: int = 80,
    seq: int = 1000,
    ack: int = 0,
    flags: int = 0x02,
    window: int = 65535,
    urgent: int = 0,
    options: bytes = b"",
    payload: bytes = b"",
    bad_checksum: bool = False,
    pseudo_dst: str | None = None,
) -> bytes:
    """A TCP header and payload; the checksum covers the pseudo-header of
    ``src`` and ``pseudo_dst`` (default ``dst``), or is off by one if ``bad_checksum``."""
    assert len(options) % 4 == 0
    offset = (20 + len(options)) // 4
    header = struct.pack(
        "!HHIIBBHHH", sport, dport, seq, ack, offset << 4, flags, window, 0, urgent
    )
    segment = header + options + payload
    s, d = packed(src), packed(pseudo_dst or dst)
    if len(s) == 4:
        pseudo = struct.pack("!4s4sBBH", s, d, 0, 6, len(segment))
    else:
        pseudo = struct.pack("!16s16sIxxxB", s, d, len(segment), 6)
    checksum = internet_checksum(pseudo + segment)
    if bad_checksum:
        checksum ^= 0x0001
    return segment[:16] + struct.pack("!H", checksum) + segment[18:]


def ipv4(
    payload: bytes,
    src: str = A4,
    dst: str = B4,
    *,
    proto: int = 6,
    ident: int = 1,
    flags_fragment: int = 0x4000,
    ttl: int = 64,
    options: bytes = b"",
    total: int | None = None,
    bad_checksum: bool = False,
) -> bytes:
    """An IPv4 header (with ``options``, a multiple of 4 bytes) and ``payload``."""
    assert len(options) % 4 == 0
    ihl = (20 + len(options)) // 4
    length = total if total is not None else ihl * 4 + len(payload)
    fields = (0x40 | ihl, 0, length, ident, flags_fragment, ttl, proto, 0)
    header = bytearray(struct.pack("!BBHHHBBH4s4s", *fields, packed(src), packed(dst)) + options)
    checksum = internet_checksum(bytes(header))
    if bad_checksum:
        checksum ^= 0x0100
    struct.pack_into("!H", header, 10, checksum)
    return bytes(header) + payload


def ipv6(
    payload: bytes, src: str = A6, dst: str = B6, *, nh: int = 6, plen: int | None = None
) -> bytes:
    length = plen if plen is not None else len(payload)
    return struct.pack("!IHBB16s16s", 6 << 28, length, nh, 64, packed(src), packed(dst)) + payload


def ext(nh: int, body: bytes) -> bytes:
    """An IPv6 hop-by-hop, routing or destination options header: ``body`` is
    everything after the two first bytes, padded here to a multiple of 8."""
    body = body + b"\x00" * ((-(len(body) + 2)) % 8)
    return bytes([nh, (len(body) + 2) // 8 - 1]) + body


def ah(nh: int, icv: bytes = b"\x00" * 12) -> bytes:
    """An Authentication Header (RFC 4302): its length counts 4-byte words, minus 2."""
    body = struct.pack("!HII", 0, 0x1234, 1) + icv
    return bytes([nh, (len(body) + 2) // 4 - 2]) + body


def frag6(nh: int, offset: int, more: bool, ident: int) -> bytes:
    return struct.pack("!BBHI", nh, 0, (offset // 8) << 3 | int(more), ident)


def tcp4(**kw: object) -> bytes:
    """An IPv4 packet carrying one TCP segment (``tcp``'s keywords)."""
    src = str(kw.get("src", A4))
    dst = str(kw.get("dst", B4))
    return ipv4(tcp(**kw), src, dst)  # type: ignore[arg-type]


def tcp6(**kw: object) -> bytes:
    kw.setdefault("src", A6)
    kw.setdefault("dst", B6)
    return ipv6(tcp(**kw), str(kw["src"]), str(kw["dst"]))  # type: ignore[arg-type]


def udp(sport: int, dport: int, payload: bytes) -> bytes:
    """A UDP header (checksum 0: not computed, as IPv4 allows) and payload."""
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")


def ether(payload: bytes, ethertype: int = 0x0800, tags: Sequence[tuple[int, int]] = ()) -> bytes:
    """An Ethernet frame; ``tags`` are (TPID, VLAN id) pairs, outermost first."""
    out = MAC_B + MAC_A
    for tpid, vid in tags:
        out += struct.pack("!HH", tpid, vid)
    return out + struct.pack("!H", ethertype) + payload


def mpls(payload: bytes, labels: Sequence[int]) -> bytes:
    """An MPLS label stack, bottom-of-stack set on the last."""
    out = b""
    for i, label in enumerate(labels):
        bottom = 1 if i == len(labels) - 1 else 0
        out += struct.pack("!I", label << 12 | bottom << 8 | 64)
    return out + payload


def pppoe(payload: bytes, ppp_protocol: int = 0x0021) -> bytes:
    body = struct.pack("!H", ppp_protocol) + payload
    return struct.pack("!BBHH", 0x11, 0x00, 0x1234, len(body)) + body


def sll(payload: bytes, protocol: int = 0x0800) -> bytes:
    """Linux cooked capture v1 (LINKTYPE_LINUX_SLL, 113)."""
    return struct.pack("!HHH8sH", 0, 1, 6, MAC_A + b"\x00\x00", protocol) + payload


def sll2(payload: bytes, protocol: int = 0x0800) -> bytes:
    """Linux cooked capture v2 (LINKTYPE_LINUX_SLL2, 276)."""
    return struct.pack("!HHIHBB8s", protocol, 0, 3, 1, 0, 6, MAC_A + b"\x00\x00") + payload


def null(payload: bytes, family: int = 2, order: str = "<") -> bytes:
    """BSD loopback (LINKTYPE_NULL: the family in the capturing host's byte
    order; LINKTYPE_LOOP: ``order`` "!")."""
    return struct.pack(order + "I", family) + payload


def gre(
    payload: bytes,
    protocol: int = 0x0800,
    *,
    checksum: bool = False,
    key: int | None = None,
    sequence: int | None = None,
) -> bytes:
    flags = (0x8000 if checksum else 0) | (0x2000 if key is not None else 0)
    flags |= 0x1000 if sequence is not None else 0
    out = struct.pack("!HH", flags, protocol)
    if checksum:
        out += b"\x00\x00\x00\x00"  # not verified by the reader
    if key is not None:
        out += struct.pack("!I", key)
    if sequence is not None:
        out += struct.pack("!I", sequence)
    return out + payload


def vxlan(frame: bytes, vni: int = 42) -> bytes:
    return struct.pack("!BxxxI", 0x08, vni << 8) + frame


def geneve(payload: bytes, protocol: int = 0x6558, options: bytes = b"") -> bytes:
    assert len(options) % 4 == 0
    return struct.pack("!BBHI", len(options) // 4, 0, protocol, 7 << 8) + options + payload


def teredo(packet6: bytes, *, auth: bool = False, origin: bool = False) -> bytes:
    out = b""
    if auth:
        client_id, value = b"id", b"auth"
        out += struct.pack("!HBB", 1, len(client_id), len(value)) + client_id + value
        out += b"\x11" * 8 + b"\x00"  # nonce, confirmation
    if origin:
        out += struct.pack("!HH4s", 0, 0xFFFF ^ 3544, bytes(b ^ 0xFF for b in packed("192.0.2.1")))
    return out + packet6


# The containers.


def pcap(
    records: Iterable[tuple[float, bytes] | tuple[float, bytes, int]],
    linktype: int = 1,
    *,
    order: str = "<",
    nano: bool = False,
    snaplen: int = 65535,
) -> bytes:
    """A pcap file: records are (time, data) or (time, data, original length)."""
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    scale = 1_000_000_000 if nano else 1_000_000
    out = bytearray(struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))
    for rec in records:
        t, data = rec[0], rec[1]
        orig = rec[2] if len(rec) == 3 else len(data)  # type: ignore[misc]
        seconds = int(t)
        frac = round((t - seconds) * scale)
        out += struct.pack(order + "IIII", seconds, frac, len(data), orig) + data
    return bytes(out)


def block(block_type: int, body: bytes, order: str = "<") -> bytes:
    """A pcapng block: the body padded to 4 bytes, between its two lengths."""
    body = body + b"\x00" * (-len(body) % 4)
    length = 12 + len(body)
    return struct.pack(order + "II", block_type, length) + body + struct.pack(order + "I", length)


def option(code: int, value: bytes, order: str = "<") -> bytes:
    return struct.pack(order + "HH", code, len(value)) + value + b"\x00" * (-len(value) % 4)


END_OF_OPTIONS = b"\x00\x00\x00\x00"


def shb(order: str = "<") -> bytes:
    return block(0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1), order)


def idb(
    linktype: int = 1, snaplen: int = 0, *, tsresol: int | None = None, order: str = "<"
) -> bytes:
    body = struct.pack(order + "HHI", linktype, 0, snaplen)
    if tsresol is not None:
        body += option(9, bytes([tsresol]), order) + END_OF_OPTIONS
    return block(1, body, order)


def epb(
    interface: int, units: int, data: bytes, orig: int | None = None, order: str = "<"
) -> bytes:
    """An Enhanced Packet Block; ``units`` is the timestamp in the interface's units."""
    body = struct.pack(
        order + "IIIII", interface, units >> 32, units & 0xFFFFFFFF, len(data),
        len(data) if orig is None else orig,
    )  # fmt: skip
    return block(6, body + data + b"\x00" * (-len(data) % 4), order)


def spb(data: bytes, orig: int | None = None, order: str = "<") -> bytes:
    return block(3, struct.pack(order + "I", len(data) if orig is None else orig) + data, order)


def opb(interface: int, units: int, data: bytes, order: str = "<") -> bytes:
    """The obsolete Packet Block (type 2)."""
    body = struct.pack(
        order + "HHIIII", interface, 0, units >> 32, units & 0xFFFFFFFF, len(data), len(data)
    )
    return block(2, body + data, order)


# Every kind of frame the reader opens, for the tshark and damage tests.

OUT = "192.0.2.1", "192.0.2.2"


def mixed_frames() -> list[bytes]:
    """Ethernet frames of every kind the reader opens, numbered by their sequence numbers."""
    segment = tcp(seq=900, flags=0x18, payload=b"0123456789abcdefghijklmn")
    fragments = [
        ether(ipv4(segment[a:b], ident=5, flags_fragment=(0x2000 if more else 0) | a // 8))
        for a, b, more in ((16, 32, True), (0, 16, True), (32, 44, False))
    ]
    segment6 = tcp(A6, B6, seq=901, flags=0x18, payload=b"0123456789abcdefghijklmn")
    fragments6 = [
        ether(ipv6(frag6(6, a, more, 9) + segment6[a:b], nh=44), 0x86DD)
        for a, b, more in ((0, 16, True), (32, 44, False), (16, 32, True))
    ]
    chain = ext(60, b"\x01\x04\x00\x00\x00\x00") + ext(51, b"\x01\x04\x00\x00\x00\x00") + ah(6)
    return [
        ether(tcp4(seq=1, flags=0x12, ack=77, options=b"\x02\x04\x05\xb4")),
        ether(tcp4(seq=2, payload=b"odd", flags=0x18)),
        ether(tcp4(seq=3, bad_checksum=True, flags=0x10)),
        ether(ipv4(tcp(seq=4, flags=0x11), options=b"\x01\x01\x01\x00")),
        ether(tcp6(seq=5, flags=0x04), 0x86DD, tags=[(0x88A8, 5), (0x8100, 6)]),
        ether(tcp4(seq=6), tags=[(0x9100, 1), (0x8100, 2), (0x8100, 3)]),
        ether(mpls(tcp4(seq=7), [16, 17, 18]), 0x8847),
        ether(mpls(tcp6(seq=8), [16]), 0x8847),
        ether(pppoe(tcp4(seq=9)), 0x8864),
        ether(pppoe(tcp6(seq=10), 0x0057), 0x8864),
        ether(ipv4(gre(tcp4(seq=11), key=3, sequence=4, checksum=True), *OUT, proto=47)),
        ether(ipv4(gre(ether(tcp4(seq=12)), 0x6558), *OUT, proto=47)),
        ether(ipv4(udp(5000, 4789, vxlan(ether(tcp4(seq=13)))), *OUT, proto=17)),
        ether(ipv4(udp(5000, 6081, geneve(ether(tcp4(seq=14)))), *OUT, proto=17)),
        ether(ipv4(udp(3544, 5000, teredo(tcp6(seq=15), origin=True)), *OUT, proto=17)),
        ether(ipv4(udp(3544, 5000, teredo(tcp6(seq=16))), *OUT, proto=17)),
        ether(ipv4(tcp4(seq=17), *OUT, proto=4)),
        ether(ipv4(tcp6(seq=18), *OUT, proto=41)),
        ether(ipv6(chain + tcp(A6, B6, seq=19), nh=0), 0x86DD),
        *fragments,
        *fragments6,
        ether(b"\x00\x01\x08\x00\x06\x04\x00\x01" + b"\x00" * 20, 0x0806),
        ether(ipv4(udp(53, 53, b"dns"), proto=17)),
    ]


# A large capture for the reader's benchmark (docs/analyze.md).


def bulk_pcap(path: str, packets: int, connections: int = 64) -> None:
    """Write ``packets`` Ethernet/IPv4/TCP frames: bulk transfers over
    ``connections`` connections, 1448-byte segments with timestamps each
    answered by a pure ACK every other segment."""
    ts_option = b"\x01\x01\x08\x0a" + struct.pack("!II", 1, 2)
    body = bytes(range(256)) * 6
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        out = bytearray()
        for i in range(packets):
            c = i % connections
            client = f"10.0.{c // 250}.{c % 250 + 1}"
            if i % 3 == 2:
                frame = ether(
                    tcp4(src="10.1.0.1", dst=client, sport=80, dport=40000 + c, seq=1, ack=i * 1448,
                         flags=0x10, options=ts_option),
                )  # fmt: skip
            else:
                frame = ether(
                    tcp4(src=client, dst="10.1.0.1", sport=40000 + c, dport=80, seq=i * 1448,
                         ack=1, flags=0x18, options=ts_option, payload=body[:1448]),
                )  # fmt: skip
            out += struct.pack("<IIII", 1_700_000_000 + i // 1000, i % 1000 * 1000, len(frame),
                               len(frame))  # fmt: skip
            out += frame
            if len(out) > 1 << 22:
                f.write(out)
                out.clear()
        f.write(out)
