"""Broken captures: the reader raises CaptureError with a message that
names the record, the byte offset and what is wrong, after yielding every
segment before it."""

from __future__ import annotations

import gzip
import io
import struct

import pytest
from _captures import block, epb, ether, idb, pcap, shb, tcp4

from synack.analyze.capture import read_segments
from synack.analyze.model import CaptureError

T = 1_700_000_000.0
FRAME = ether(tcp4(seq=1))  # 54 bytes: a record of 70
GOOD = pcap([(T, FRAME), (T, ether(tcp4(seq=2)))])  # 24 + 2 * 70 = 164 bytes


def until_error(data: bytes) -> tuple[list[int], str]:
    """The sequence numbers yielded before the error, and its message."""
    seqs: list[int] = []
    with pytest.raises(CaptureError) as error:
        for segment in read_segments(io.BytesIO(data)):
            seqs.append(segment.seq)
    return seqs, str(error.value)


def test_not_a_capture() -> None:
    assert until_error(b"") == ([], "not a pcap or pcapng file (it is empty)")
    assert until_error(b"GET / HTTP/1.1\r\n") == (
        [],
        'not a pcap or pcapng file (starts with 47 45 54 20 2f 20 48 54 "GET / HT")',
    )
    assert until_error(b"\x00\x01\xff\xfe" * 8) == (
        [],
        "not a pcap or pcapng file (starts with 00 01 ff fe 00 01 ff fe)",
    )


def test_truncated_file_headers() -> None:
    assert until_error(GOOD[:2]) == ([], "truncated file header: the file is 2 bytes long")
    assert until_error(GOOD[:10]) == ([], "truncated pcap file header: 10 of 24 bytes")
    assert until_error(GOOD[:24].replace(b"\x02\x00\x04\x00", b"\x01\x00\x00\x00")) == (
        [],
        "pcap version 1.0: only version 2 is known",
    )


def test_a_pcap_header_alone_is_an_empty_capture() -> None:
    assert list(read_segments(io.BytesIO(GOOD[:24]))) == []


def test_truncated_record_header() -> None:
    assert until_error(GOOD + b"\x00" * 7) == (
        [1, 2],
        "record 3 at byte 164: the file ends inside the record header (7 of 16 bytes)",
    )


def test_truncated_record() -> None:
    assert until_error(GOOD[:-10]) == (
        [1],
        "record 2 at byte 94: the file ends inside the record (44 of 54 bytes)",
    )


def test_absurd_record_length() -> None:
    data = GOOD + struct.pack("<IIII", 1, 0, 0xFFFFFFFF, 60) + FRAME
    assert until_error(data) == (
        [1, 2],
        "record 3 at byte 164: record length 4294967295 exceeds the snap length 65535",
    )


def test_garbage_after_the_records() -> None:
    data = GOOD + b"This is not a record header at all."
    caplen = struct.unpack_from("<I", data, 164 + 8)[0]
    assert caplen == 0x20746F6E  # "not "
    assert until_error(data) == (
        [1, 2],
        f"record 3 at byte 164: record length {caplen} exceeds the snap length 65535",
    )


def test_gzip_cut_short_and_corrupt() -> None:
    compressed = gzip.compress(GOOD)
    assert until_error(compressed[:-8]) == (
        [1, 2],
        "gzip: the compressed stream ends early (after record 2): the capture was cut short",
    )
    # Stored (level 0) and cut 52 bytes into its data: 252 of the 304 bytes come out.
    assert until_error(gzip.compress(GOOD + GOOD[24:], compresslevel=0)[:-60]) == (
        [1, 2, 1],
        "record 4 at byte 234: the file ends inside the record (2 of 54 bytes)",
    )
    broken = compressed[:2] + b"\x09" + compressed[3:]  # compression method 9: not deflate
    assert until_error(broken) == (
        [],
        "gzip: the compressed data is corrupt, near compressed byte 0: "
        "Error -3 while decompressing data: unknown compression method",
    )
    assert until_error(compressed + b"trailing junk") == (
        [1, 2],
        "gzip: 13 bytes that are not a gzip member follow the compressed capture, "
        f"at compressed byte {len(compressed)}",
    )


# -- pcapng ------------------------------------------------------------------------

HEAD = shb() + idb(1)  # 28 + 20 bytes
ONE = HEAD + epb(0, 1_000_000, FRAME)  # the packet block is 32 + 56 = 88 bytes: ends at 136


def test_pcapng_block_lengths() -> None:
    bad = ONE + struct.pack("<II", 6, 30) + b"\x00" * 22
    assert until_error(bad) == (
        [1],
        "record 2 at byte 136: block length 30 is not a multiple of 4 of at least 12",
    )
    mismatch = ONE + struct.pack("<II", 5, 16) + b"\x00" * 4 + struct.pack("<I", 20)
    assert until_error(mismatch) == (
        [1],
        "block at byte 136 (type 0x00000005, after record 1): block length 16 at its start "
        "but 20 at its end",
    )
    huge = ONE + struct.pack("<II", 6, 0xFFFFFFF0) + b"\x00" * 20
    assert until_error(huge) == (
        [1],
        "record 2 at byte 136: block length 4294967280 exceeds 67108864 bytes",
    )


def test_pcapng_cut_short() -> None:
    assert until_error(ONE[:-20]) == (
        [],
        "record 1 at byte 48: the file ends inside the block (68 of 88 bytes)",
    )
    assert until_error(ONE + ONE[48:54]) == (
        [1],
        "block at byte 136 (after record 1): the file ends inside a block header (6 of 12 bytes)",
    )


def test_pcapng_packet_block_problems() -> None:
    assert until_error(ONE + epb(3, 0, FRAME)) == (
        [1],
        "record 2 at byte 136: interface 3 was not described (the section describes 1)",
    )
    overrun = bytearray(epb(0, 0, FRAME))
    struct.pack_into("<I", overrun, 20, 200)  # the captured length
    assert until_error(ONE + bytes(overrun)) == (
        [1],
        "record 2 at byte 136: captured length 200 overruns the 88-byte block",
    )
    assert until_error(ONE + block(6, b"\x00" * 8)) == (
        [1],
        "record 2 at byte 136: a 20-byte packet block is shorter than its fields",
    )
    assert until_error(ONE + block(3, b"")) == (
        [1],
        "record 2 at byte 136: a 12-byte simple packet block is shorter than its fields",
    )
    assert until_error(shb() + block(3, b"\x00" * 4)) == (
        [],
        "record 1 at byte 28: a simple packet block before any interface was described",
    )
    assert until_error(shb() + block(1, b"\x00" * 4)) == (
        [],
        "block at byte 28 (type 0x00000001, after record 0): a 16-byte interface description "
        "block is shorter than its fields",
    )


def test_pcapng_section_header_byte_order() -> None:
    bad = bytearray(shb())
    bad[8:12] = b"\x01\x02\x03\x04"
    assert until_error(ONE + bytes(bad)) == (
        [1],
        "block at byte 136 (type 0x0a0d0d0a, after record 1): the section header's "
        "byte-order magic is 01 02 03 04, not 1a 2b 3c 4d either way round",
    )


def test_a_file_that_cannot_be_opened(tmp_path: object) -> None:
    missing = f"{tmp_path}/no-such.pcap"
    with pytest.raises(CaptureError) as error:
        list(read_segments(missing))
    assert str(error.value) == f"cannot open {missing}: No such file or directory"
