"""Helpers for the expert-flag comparison: run tshark on a capture, make
copies of a capture that missed or reordered packets, and make captures of
random made-up connections.

The captures are classic libpcap, LINKTYPE_RAW (101), microsecond
timestamps, as ``synack.trace.pcap`` writes them; ``synack.analyze.capture``
reads them back.
"""

from __future__ import annotations

import random
import struct
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path

from synack.analyze.capture import read_segments
from synack.analyze.expert import FLAG_NAMES
from synack.wire.ip import IPAddress, encode_tcp_packet
from synack.wire.segment import ACK, FIN, PSH, RST, SYN, Segment, WindowScale

_FILE_HEADER = struct.Struct("<IHHiIII")
_RECORD_HEADER = struct.Struct("<IIII")
LINKTYPE_RAW = 101


def _records(data: bytes) -> Iterator[tuple[int, int, int, bytes]]:
    magic, _major, _minor, _zone, _sigfigs, _snaplen, linktype = _FILE_HEADER.unpack_from(data)
    assert magic == 0xA1B2C3D4, hex(magic)
    assert linktype == LINKTYPE_RAW, linktype
    off = _FILE_HEADER.size
    while off < len(data):
        secs, micros, incl, orig = _RECORD_HEADER.unpack_from(data, off)
        off += _RECORD_HEADER.size
        yield secs, micros, orig, data[off : off + incl]
        off += incl


def thin(src: Path, dst: Path, every: int, offset: int = 0) -> int:
    """Copy a pcap leaving out every ``every``-th record (from ``offset``): a
    capture that missed packets. Returns how many records were kept."""
    data = src.read_bytes()
    out = bytearray(data[: _FILE_HEADER.size])
    kept = 0
    for i, (secs, micros, orig, packet) in enumerate(_records(data)):
        if i >= offset and (i - offset) % every == 0:
            continue
        out += _RECORD_HEADER.pack(secs, micros, len(packet), orig) + packet
        kept += 1
    dst.write_bytes(bytes(out))
    return kept


def _swap(src: Path, dst: Path, firsts: list[int]) -> None:
    """Copy a pcap swapping the packets of records i and i + 1 (0-based) for
    each i in ``firsts``, timestamps left in place: a capture taken where
    the network had reordered them."""
    data = src.read_bytes()
    records = list(_records(data))
    packets = [(orig, packet) for _s, _m, orig, packet in records]
    for i in firsts:
        packets[i], packets[i + 1] = packets[i + 1], packets[i]
    out = bytearray(data[: _FILE_HEADER.size])
    for (secs, micros, _o, _p), (orig, packet) in zip(records, packets, strict=True):
        out += _RECORD_HEADER.pack(secs, micros, len(packet), orig) + packet
    dst.write_bytes(bytes(out))


def reorder(src: Path, dst: Path, every: int, offset: int = 0) -> None:
    """Swap every ``every``-th record (from ``offset``) with the next one."""
    count = sum(1 for _ in _records(src.read_bytes()))
    _swap(src, dst, list(range(offset, count - 1, every)))


def damage(src: Path, dst: Path, every: int, seed: int) -> None:
    """Copy a pcap flipping one bit of the TCP header (sequence or ACK
    number, flags or window) in every ``every``-th record: segments a link
    damaged, whose checksums fail. Wireshark analyzes them all the same."""
    rng = random.Random(seed)
    data = src.read_bytes()
    out = bytearray(data[: _FILE_HEADER.size])
    for i, (secs, micros, orig, packet) in enumerate(_records(data)):
        if i % every == every - 1:
            damaged = bytearray(packet)
            ihl = 4 * (damaged[0] & 0x0F) if damaged[0] >> 4 == 4 else 40
            offset = ihl + rng.choice((4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15))
            damaged[offset] ^= 1 << rng.randrange(8)
            packet = bytes(damaged)
        out += _RECORD_HEADER.pack(secs, micros, len(packet), orig) + packet
    dst.write_bytes(bytes(out))


def reorder_data_past_ack(src: Path, dst: Path) -> int:
    """Swap each data segment that a pure ACK of the same direction follows
    with that ACK (pairs apart): the ACK then seems to skip ahead, and the
    data to come late. Returns how many pairs were swapped."""
    segments = list(read_segments(src))
    firsts: list[int] = []
    for i in range(len(segments) - 1):
        a, b = segments[i], segments[i + 1]
        if firsts and firsts[-1] >= i - 1:
            continue
        if a.key == b.key and a.payload_len and not b.payload_len and b.flags == ACK:
            firsts.append(i)
    _swap(src, dst, firsts)
    return len(firsts)


@dataclass(frozen=True, slots=True)
class TsharkFrame:
    stream: int
    flags: frozenset[str]
    dup_ack_num: int
    dup_ack_frame: int


def tshark_flags(path: Path) -> dict[int, TsharkFrame]:
    """tshark's tcp.analysis flags for every frame of ``path``."""
    fields = ["frame.number", "tcp.stream", "tcp.analysis.duplicate_ack_num"]
    fields += ["tcp.analysis.duplicate_ack_frame"]
    fields += [f"tcp.analysis.{name}" for name in FLAG_NAMES]
    cmd = ["tshark", "-n", "-r", str(path), "-o", "tcp.relative_sequence_numbers:TRUE"]
    cmd += ["-o", "tcp.analyze_sequence_numbers:TRUE", "-T", "fields", "-E", "occurrence=f"]
    for name in fields:
        cmd += ["-e", name]
    result = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=300)
    frames = {}
    for line in result.stdout.splitlines():
        cols = line.split("\t")
        frame, stream, num, dup_frame = cols[:4]
        flags = frozenset(n for n, v in zip(FLAG_NAMES, cols[4:], strict=True) if v)
        frames[int(frame)] = TsharkFrame(
            int(stream), flags, int(num) if num else 0, int(dup_frame) if dup_frame else 0
        )
    return frames


class _End:
    """One side of a made-up connection, as the random capture writes it."""

    def __init__(self, rng: random.Random, addr: IPAddress, port: int) -> None:
        self.addr, self.port = addr, port
        self.isn = rng.choice((0, 1, 0xFFFFFFFF, 0xFFFFF000, rng.getrandbits(32)))
        self.nxt = self.isn
        self.ack = 0
        self.window = 65535
        self.scale = 0
        self.offer: int | None = None  # the window scale its last SYN offered
        self.starts: list[tuple[int, int]] = []  # (seq, len) of the last data sent


def random_capture(path: Path, seed: int, connections: int = 4, segments: int = 250) -> None:
    """A capture of made-up connections whose segments are chosen at random
    among the situations the expert flags are about: new data, gaps,
    retransmissions, old data, keep-alives, window probes, updates and
    edges, duplicate and early ACKs, FIN, RST, a new SYN on the same ports.
    Gaps between segments straddle the 3 ms and 20 ms thresholds."""
    rng = random.Random(seed)
    start_us = rng.choice((0, 1_700_000_000_000_000))
    now_us = start_us
    out = bytearray(_FILE_HEADER.pack(0xA1B2C3D4, 2, 4, 0, 0, 262144, LINKTYPE_RAW))
    gaps = (0, 0, 1, 500, 2_999, 3_000, 3_001, 10_000, 19_999, 20_000, 20_001, 300_000)
    conns = []
    for i in range(connections):
        v6 = i % 3 == 2
        a = _End(rng, ip_address("fd00::1" if v6 else "10.1.0.1"), 40000 + i)
        b = _End(rng, ip_address("fd00::2" if v6 else "10.2.0.1"), 5000 + i)
        conns.append((a, b, rng.random() < 0.8))  # with or without a handshake

    def emit(me: _End, peer: _End, flags: int, seq: int, length: int, window: int) -> None:
        nonlocal now_us, out
        now_us += rng.choice(gaps)
        options: tuple[WindowScale, ...] = ()
        if flags & SYN:
            me.offer = rng.choice((None, 0, 2, 7, 14))
            options = () if me.offer is None else (WindowScale(me.offer),)
        # no ACK flag: the field is usually 0, sometimes left over
        ack = me.ack & 0xFFFFFFFF if flags & ACK or rng.random() < 0.2 else 0
        seg = Segment(
            me.port, peer.port, seq & 0xFFFFFFFF, ack,
            flags, window & 0xFFFF, options=options, payload=bytes(length),
        )  # fmt: skip
        packet = encode_tcp_packet(me.addr, peer.addr, seg)
        secs, micros = divmod(now_us, 1_000_000)
        out += _RECORD_HEADER.pack(secs, micros, len(packet), len(packet)) + packet

    def handshake(a: _End, b: _End) -> None:
        syn_data = rng.choice((0, 0, 0, 0, 0, 0, 0, 0, 0, 10))  # a SYN with data now and then
        emit(a, b, SYN, a.isn, syn_data, 65535)
        a.nxt = a.isn + 1 + syn_data
        if rng.random() < 0.2:
            emit(a, b, SYN, a.isn, syn_data, 65535)  # retransmitted
        if rng.random() < 0.1:
            emit(b, a, SYN, b.isn, 0, 65535)  # simultaneous open
        b.ack = a.nxt
        emit(b, a, SYN | ACK, b.isn, 0, 65535)
        if rng.random() < 0.2:
            emit(b, a, SYN | ACK, b.isn, 0, 65535)  # retransmitted
        b.nxt = b.isn + 1
        a.ack = b.nxt
        both = a.offer is not None and b.offer is not None
        a.scale = a.offer if both and a.offer is not None else 0
        b.scale = b.offer if both and b.offer is not None else 0
        emit(a, b, ACK, a.nxt, 0, a.window)

    for a, b, shake in conns:
        if shake:
            handshake(a, b)
        else:
            a.nxt, b.nxt = a.isn + 1, b.isn + 1
            a.ack, b.ack = b.nxt, a.nxt

    kinds = (
        ["data"] * 30 + ["ack"] * 15 + ["dupack"] * 10 + ["retrans"] * 8 + ["gap"] * 4
        + ["old"] * 3 + ["update"] * 5 + ["zero"] * 5 + ["probe"] * 5 + ["keepalive"] * 4
        + ["fill"] * 5 + ["early"] * 2 + ["fin"] * 1 + ["rst"] * 1 + ["resyn"] * 1
    )  # fmt: skip
    for _ in range(segments * connections):
        a, b, _shake = rng.choice(conns)
        me, peer = (a, b) if rng.random() < 0.6 else (b, a)
        kind = rng.choice(kinds)
        if kind in ("data", "gap", "fill"):
            length = rng.choice((1, 2, 10, 100, 1000, 1448))
            if kind == "gap":
                me.nxt += rng.choice((1, 100, 1448, 5000))
            if kind == "fill":
                edge = peer.ack + (peer.window << peer.scale)
                length = (edge - me.nxt) & 0xFFFFFFFF
                if not 0 < length <= 20000:
                    length = 1
            peer.ack = me.nxt + length if rng.random() < 0.9 else peer.ack
            emit(me, peer, ACK | (PSH if rng.random() < 0.3 else 0), me.nxt, length, me.window)
            me.starts = [*me.starts[-7:], (me.nxt, length)]
            me.nxt += length
        elif kind in ("retrans", "old") and me.starts:
            seq, length = rng.choice(me.starts)
            emit(me, peer, ACK, seq, length, me.window)
        elif kind in ("ack", "dupack", "update", "zero", "early"):
            if kind == "ack":
                me.ack = peer.nxt if rng.random() < 0.7 else me.ack
                me.window = rng.choice((me.window, me.window, 1000, 65535, 200))
            elif kind == "update":
                me.window = rng.choice((1, 100, 5000, 65535))
            elif kind == "zero":
                me.window = 0
            elif kind == "early":
                me.ack = peer.nxt + rng.choice((1, 1448))
            emit(me, peer, ACK, me.nxt, 0, me.window)
        elif kind == "probe":
            emit(me, peer, ACK, me.nxt, 1, me.window)
            if rng.random() < 0.5:
                me.nxt += 1
        elif kind == "keepalive":
            emit(me, peer, ACK, me.nxt - 1, rng.choice((0, 1)), me.window)
        elif kind == "fin":
            emit(me, peer, FIN | ACK, me.nxt, rng.choice((0, 0, 10)), me.window)
        elif kind == "rst":
            emit(me, peer, RST | (ACK if rng.random() < 0.5 else 0), me.nxt, 0, 0)
        elif kind == "resyn":
            if rng.random() < 0.5:
                a.isn = rng.getrandbits(32)
            b.isn = rng.choice((b.isn, rng.getrandbits(32)))
            handshake(a, b)
    path.write_bytes(bytes(out))
