"""Helpers for the expert-flag comparison: read a raw-IP pcap into
CapturedSegments, run tshark on it, and thin a capture out.

The pcap parsing here is a stand-in for ``synack.analyze.capture`` until
that reader lands: classic libpcap, LINKTYPE_RAW (101), microsecond
timestamps, as ``synack.trace.pcap`` writes them.
"""

from __future__ import annotations

import struct
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from synack.analyze.expert import FLAG_NAMES
from synack.analyze.model import CapturedSegment
from synack.wire.ip import decode_tcp_packet
from synack.wire.segment import ACK

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


def read_segments(path: Path) -> list[CapturedSegment]:
    """Every record of a raw-IP pcap as a CapturedSegment (all carry TCP here)."""
    out = []
    for record, (secs, micros, orig, packet) in enumerate(_records(path.read_bytes()), 1):
        header, seg = decode_tcp_packet(packet)
        out.append(
            CapturedSegment(
                t=secs + micros / 1e6,
                record=record,
                src=header.src,
                dst=header.dst,
                sport=seg.src_port,
                dport=seg.dst_port,
                flags=seg.flags,
                seq=seg.seq,
                ack=seg.ack,
                window=seg.window,
                urgent=seg.urgent,
                options=seg.options,
                payload_len=len(seg.payload),
                ip_len=orig,
                checksum_ok=True,
                payload=seg.payload,
            )
        )
    return out


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


def reorder_data_past_ack(src: Path, dst: Path) -> int:
    """Swap each data segment that a pure ACK of the same direction follows
    with that ACK (pairs apart): the ACK then seems to skip ahead, and the
    data to come late. Returns how many pairs were swapped."""
    segments = read_segments(src)
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
