"""The capture reader's containers: pcap in both byte orders and both
timestamp precisions, pcapng with its blocks, sections and interfaces, and
gzip around either. Every capture is built byte by byte (_captures.py)."""

from __future__ import annotations

import gzip
import io
from ipaddress import ip_address

from _captures import (
    A4,
    B4,
    block,
    epb,
    ether,
    idb,
    opb,
    pcap,
    read,
    row,
    shb,
    spb,
    tcp4,
    tcp6,
)

from synack.analyze.capture import CaptureStats, read_segments
from synack.wire.segment import NOP, MaxSegmentSize, SackPermitted, Timestamps, WindowScale

T = 1_700_000_000.25


def frames(n: int) -> list[bytes]:
    return [ether(tcp4(seq=1000 + i, payload=b"x" * i, flags=0x18)) for i in range(n)]


def test_pcap_little_endian_microseconds() -> None:
    segments, stats = read(pcap([(T, f) for f in frames(3)]))
    assert [row(s) for s in segments] == [
        (1, A4, 40000, B4, 80, 0x18, 1000, 0, 65535, 0, 40, True, False),
        (2, A4, 40000, B4, 80, 0x18, 1001, 0, 65535, 1, 41, True, False),
        (3, A4, 40000, B4, 80, 0x18, 1002, 0, 65535, 2, 42, True, False),
    ]
    assert [s.t for s in segments] == [T, T, T]
    assert [s.payload for s in segments] == [b"", b"x", b"xx"]
    assert (stats.file_format, stats.byte_order, stats.compressed) == (
        "pcap",
        "little-endian",
        False,
    )
    assert (stats.records, stats.segments, stats.link_types) == (3, 3, {1: 3})


def test_pcap_big_endian_nanoseconds() -> None:
    data = pcap([(T, frames(1)[0]), (T + 1, frames(2)[1])], order=">", nano=True)
    assert data[:4] == b"\xa1\xb2\x3c\x4d"
    segments, stats = read(data)
    assert [(s.record, s.t, s.seq) for s in segments] == [(1, T, 1000), (2, T + 1, 1001)]
    assert (stats.file_format, stats.byte_order) == ("pcap (nanosecond)", "big-endian")


def test_pcap_microseconds_big_endian_and_the_time_fraction() -> None:
    segments, _ = read(pcap([(1.5, frames(1)[0])], order=">"))
    assert [(s.t, s.seq) for s in segments] == [(1.5, 1000)]


def test_options_and_payload_are_decoded() -> None:
    options = b"\x02\x04\x05\xb4\x04\x02\x08\x0a\x00\x00\x00\x07\x00\x00\x00\x00\x01\x03\x03\x07"
    syn = ether(tcp4(options=options))
    data = ether(tcp4(flags=0x18, options=b"\x01\x01\x08\x0a\x00\x00\x00\x09\x00\x00\x00\x07",
                      payload=b"GET /"))  # fmt: skip
    segments, _ = read(pcap([(T, syn), (T, data)]))
    assert segments[0].options == (
        MaxSegmentSize(1460), SackPermitted(), Timestamps(7, 0), NOP, WindowScale(7),
    )  # fmt: skip
    assert segments[1].options == (NOP, NOP, Timestamps(9, 7))
    assert (segments[1].payload, segments[1].payload_len, segments[1].ip_len) == (b"GET /", 5, 57)


def test_without_keep_payload_the_payload_is_empty_but_counted() -> None:
    segments, _ = read(pcap([(T, frames(4)[3])]), keep_payload=False)
    assert (segments[0].payload, segments[0].payload_len) == (b"", 3)


def test_modified_pcap_has_eight_more_bytes_per_record() -> None:
    import struct

    frame = frames(2)[1]
    data = struct.pack("<IHHiIII", 0xA1B2CD34, 2, 4, 0, 0, 65535, 1)
    data += struct.pack("<IIII", 5, 0, len(frame), len(frame)) + b"\x00" * 8 + frame
    segments, _ = read(data)
    assert [(s.t, s.seq, s.payload) for s in segments] == [(5.0, 1001, b"x")]


def test_pcapng_two_interfaces_with_their_own_link_types_and_resolutions() -> None:
    # Interface 0: Ethernet, microseconds (no if_tsresol); interface 1: raw IP, nanoseconds;
    # interface 2: Linux cooked v2, 2^-10 seconds.
    from _captures import sll2

    data = (
        shb()
        + idb(1)
        + idb(101, tsresol=9)
        + idb(276, tsresol=0x8A)
        + epb(0, 1_700_000_000_250_000, frames(1)[0])
        + block(0x0BAD, b"custom block, skipped")
        + epb(1, 1_700_000_001_500_000_000, tcp6(seq=7))
        + epb(2, 1_700_000_002 * 1024 + 768, sll2(tcp4(seq=9)))
    )
    segments, stats = read(data)
    assert [(s.record, s.t, str(s.src), s.seq) for s in segments] == [
        (1, 1_700_000_000.25, A4, 1000),
        (2, 1_700_000_001.5, "2001:db8::1", 7),
        (3, 1_700_000_002.75, A4, 9),
    ]
    assert (stats.file_format, stats.byte_order, stats.records) == ("pcapng", "little-endian", 3)
    assert stats.link_types == {1: 1, 101: 1, 276: 1}


def test_pcapng_big_endian_with_simple_and_obsolete_packet_blocks() -> None:
    data = (
        shb(">")
        + idb(1, order=">")
        + epb(0, 2_500_000, frames(1)[0], order=">")
        + spb(frames(2)[1], order=">")  # no time: the last packet's
        + opb(0, 4_000_000, frames(3)[2], order=">")
    )
    segments, stats = read(data)
    assert [(s.record, s.t, s.seq, s.payload) for s in segments] == [
        (1, 2.5, 1000, b""),
        (2, 2.5, 1001, b"x"),
        (3, 4.0, 1002, b"xx"),
    ]
    assert stats.byte_order == "big-endian"


def test_pcapng_if_tsoffset_is_added() -> None:
    from _captures import END_OF_OPTIONS, option

    body = b"\x01\x00\x00\x00\x00\x00\x00\x00" + option(14, (1000).to_bytes(8, "little"))
    data = shb() + block(1, body + END_OF_OPTIONS) + epb(0, 250_000, frames(1)[0])
    segments, _ = read(data)
    assert [s.t for s in segments] == [1000.25]


def test_pcapng_a_new_section_describes_its_own_interfaces() -> None:
    data = (
        shb() + idb(101) + epb(0, 1_000_000, tcp4(seq=1))
        + shb(">") + idb(1, order=">") + epb(0, 2_000_000, ether(tcp4(seq=2)), order=">")
    )  # fmt: skip
    segments, stats = read(data)
    assert [(s.record, s.t, s.seq) for s in segments] == [(1, 1.0, 1), (2, 2.0, 2)]
    assert stats.link_types == {101: 1, 1: 1}


def test_gzip_is_known_by_its_magic_for_pcap_and_pcapng() -> None:
    plain = pcap([(T, f) for f in frames(3)])
    segments, stats = read(gzip.compress(plain))
    assert [s.seq for s in segments] == [1000, 1001, 1002]
    assert (stats.compressed, stats.file_format) == (True, "pcap")
    ng = shb() + idb(1) + epb(0, 1_000_000, frames(1)[0])
    segments, stats = read(gzip.compress(ng))
    assert [(s.t, s.seq) for s in segments] == [(1.0, 1000)]
    assert (stats.compressed, stats.file_format) == (True, "pcapng")


def test_gzip_of_two_members_reads_as_one_file() -> None:
    plain = pcap([(T, f) for f in frames(3)])
    half = len(plain) // 2
    segments, _ = read(gzip.compress(plain[:half]) + gzip.compress(plain[half:]))
    assert [s.seq for s in segments] == [1000, 1001, 1002]


def test_a_large_capture_crosses_chunk_boundaries(tmp_path: object) -> None:
    # 3000 records of 1500 bytes and more: several 1 MiB chunks, records split across them.
    payload = bytes(range(256)) * 6
    records = [(T + i, ether(tcp4(seq=i, flags=0x18, payload=payload[: 1400 + i % 60])))
               for i in range(3000)]  # fmt: skip
    data = pcap(records)
    assert len(data) > 4 << 20
    segments, _ = read(data)
    assert len(segments) == 3000
    assert [s.seq for s in segments] == list(range(3000))
    assert all(s.payload == payload[: 1400 + s.seq % 60] for s in segments)
    assert all(s.checksum_ok for s in segments)
    segments, _ = read(gzip.compress(data))
    assert [s.seq for s in segments] == list(range(3000))


def test_a_path_and_an_open_file_are_read_alike(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "capture.pcap.whatever"
    path.write_bytes(gzip.compress(pcap([(T, frames(1)[0])])))
    assert [s.seq for s in read_segments(path)] == [1000]
    assert [s.seq for s in read_segments(str(path))] == [1000]
    with path.open("rb") as f:
        assert [s.seq for s in read_segments(f)] == [1000]
        assert not f.closed


def test_standard_input_is_dash(monkeypatch: object) -> None:
    import sys

    class Stdin:
        buffer = io.BytesIO(pcap([(T, frames(1)[0])]))

    monkeypatch.setattr(sys, "stdin", Stdin)  # type: ignore[attr-defined]
    segments = list(read_segments("-"))
    assert [(s.seq, s.src) for s in segments] == [(1000, ip_address(A4))]


class _Generated(io.RawIOBase):
    """A pcap of ``n`` records made as it is read: nothing holds the whole file."""

    def __init__(self, n: int) -> None:
        self.left = n
        self.pending = pcap([])
        self.frame = ether(tcp4(flags=0x18, payload=b"x" * 1400))

    def readable(self) -> bool:
        return True

    def read1(self, size: int = -1) -> bytes:
        while len(self.pending) < size and self.left:
            record = pcap([(T, self.frame)])[24:]
            self.pending += record * min(self.left, 1000)
            self.left -= min(self.left, 1000)
        out, self.pending = self.pending[:size], self.pending[size:]
        return out


def test_memory_does_not_grow_with_the_number_of_packets() -> None:
    import tracemalloc

    peaks = []
    for n in (3_000, 12_000):
        stats = CaptureStats()
        source = _Generated(n)
        tracemalloc.start()
        count = sum(1 for _ in read_segments(source, stats=stats))  # type: ignore[arg-type]
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert (count, stats.records) == (n, n)
    # 12,000 records of 1470 bytes are 17 MiB; a few 1 MiB chunks are held at a time.
    assert peaks[1] < 10 << 20  # the generator holds a few MiB too
    assert peaks[1] < peaks[0] + (256 << 10)


def test_one_stats_adds_up_several_files() -> None:
    stats = CaptureStats()
    first = list(read_segments(io.BytesIO(pcap([(T, f) for f in frames(3)])), stats=stats))
    ng = shb() + idb(101) + epb(0, 0, tcp4(seq=5)) + epb(0, 0, b"\x45")
    second = list(read_segments(io.BytesIO(ng), stats=stats))
    assert [s.record for s in first + second] == [1, 2, 3, 1]
    assert (stats.records, stats.segments, stats.link_types) == (5, 4, {1: 3, 101: 2})
    assert stats.malformed == {"ip header cut short": 1}


def test_a_live_capture_on_a_pipe_is_read_as_it_arrives() -> None:
    import os
    import threading

    data = pcap([(T, f) for f in frames(3)])
    first_record_end = 24 + 16 + len(frames(1)[0])
    read_fd, write_fd = os.pipe()
    first_seen = threading.Event()
    waited: list[bool] = []

    def capture() -> None:  # like tcpdump -U -w -: a record at a time, the next one later
        os.write(write_fd, data[:first_record_end])
        waited.append(first_seen.wait(timeout=10))
        os.write(write_fd, data[first_record_end:])
        os.close(write_fd)

    writer = threading.Thread(target=capture)
    writer.start()
    seqs = []
    with os.fdopen(read_fd, "rb") as pipe:
        for segment in read_segments(pipe):
            seqs.append(segment.seq)
            first_seen.set()
    writer.join()
    assert seqs == [1000, 1001, 1002]
    assert waited == [True]  # the first segment came out before the rest was written
