"""The capture reader against tshark on the same files: every TCP segment
in every link type, tunnel and fragment set of _captures.py, with its
record number, ports, sequence numbers, length, flags, checksum verdict
and time, must be what tshark reads."""

from __future__ import annotations

import gzip
import shutil
import subprocess
from pathlib import Path

import pytest
from _captures import (
    OUT,
    epb,
    ether,
    gre,
    idb,
    ipv4,
    mixed_frames,
    pcap,
    read,
    shb,
    sll,
    sll2,
    tcp4,
    tcp6,
    udp,
    vxlan,
)

pytestmark = pytest.mark.skipif(shutil.which("tshark") is None, reason="needs tshark")

FIELDS = ("frame.number", "frame.time_epoch", "tcp.srcport", "tcp.dstport", "tcp.seq_raw",
          "tcp.ack_raw", "tcp.len", "tcp.flags", "tcp.checksum.status")  # fmt: skip


def tshark(path: Path) -> list[tuple[int, float, int, int, int, int, int, int, bool]]:
    command = ["tshark", "-n", "-r", str(path), "-o", "tcp.check_checksum:TRUE", "-T", "fields"]
    for name in FIELDS:
        command += ["-e", name]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        values = line.split("\t")
        if values[4]:  # a TCP segment whose header was captured (the innermost, if nested)
            number, when, sport, dport, seq, ack, length, flags, status = values
            rows.append((int(number), round(float(when), 6), int(sport), int(dport), int(seq),
                         int(ack), int(length), int(flags, 16), status == "1"))  # fmt: skip
    return rows


def ours(path: Path) -> list[tuple[int, float, int, int, int, int, int, int, bool]]:
    segments, _ = read(path.read_bytes())
    return [
        (s.record, round(s.t, 6), s.sport, s.dport, s.seq, s.ack, s.payload_len, s.flags,
         bool(s.checksum_ok))
        for s in segments
    ]  # fmt: skip


def test_every_kind_of_frame_against_tshark(tmp_path: Path) -> None:
    path = tmp_path / "mixed.pcap"
    path.write_bytes(pcap([(1_700_000_000 + i * 0.125, f) for i, f in enumerate(mixed_frames())]))
    expected = tshark(path)
    assert len(expected) == 21
    assert ours(path) == expected


def test_a_truncated_capture_against_tshark(tmp_path: Path) -> None:
    body = bytes(range(100))
    # 92 bytes before the TCP header: 18 of its 20 are captured
    inner = ether(tcp4(seq=6), tags=[(0x8100, 1), (0x8100, 2)])
    cut_in_header = ether(ipv4(udp(5000, 4789, vxlan(inner)), *OUT, proto=17))
    frames = [
        ether(tcp4(seq=1, payload=body)),
        ether(tcp6(seq=2, payload=body), 0x86DD, tags=[(0x8100, 4)]),
        ether(ipv4(gre(tcp4(seq=3, payload=body)), *OUT, proto=47)),
        ether(ipv4(udp(5000, 4789, vxlan(ether(tcp4(seq=4, payload=body)))), *OUT, proto=17)),
        ether(tcp4(seq=5, payload=b"short")),  # not cut
        cut_in_header,
    ]
    path = tmp_path / "snapped.pcap"
    path.write_bytes(pcap([(1.0 + i, f[:110], len(f)) for i, f in enumerate(frames)], snaplen=110))
    expected = tshark(path)
    segments, stats = read(path.read_bytes())
    # tshark leaves a cut segment's checksum unverified; the reader says None.
    assert [(s.record, s.seq, s.payload_len, s.truncated, s.checksum_ok) for s in segments] == [
        (1, 1, 100, True, None), (2, 2, 100, True, None), (3, 3, 100, True, None),
        (4, 4, 100, True, None), (5, 5, 5, False, True),
    ]  # fmt: skip
    # tshark shows what it has of a cut TCP header; the reader counts it and skips it.
    assert [(e[0], e[4], e[6]) for e in expected] == [
        (1, 1, 100), (2, 2, 100), (3, 3, 100), (4, 4, 100), (5, 5, 5), (6, 6, 0),
    ]  # fmt: skip
    assert (stats.truncated, stats.tcp_headers_cut) == (4, 1)


def test_pcapng_with_interfaces_of_other_link_types_and_resolutions(tmp_path: Path) -> None:
    frames = mixed_frames()
    data = shb() + idb(1) + idb(113, tsresol=9) + idb(276, tsresol=0x94) + idb(101, tsresol=3)
    data += epb(0, 1_700_000_000_123_456, frames[1])
    data += epb(1, 1_700_000_001_123_456_789, sll(tcp4(seq=20)))
    data += epb(2, (1_700_000_002 << 20) + (1 << 19), sll2(tcp6(seq=21), 0x86DD))
    data += epb(3, 1_700_000_003_250, tcp4(seq=22))
    data += epb(0, 1_700_000_004_000_000, frames[12])
    path = tmp_path / "interfaces.pcapng"
    path.write_bytes(data)
    expected = tshark(path)
    assert [e[4] for e in expected] == [2, 20, 21, 22, 13]
    assert ours(path) == expected


def test_big_endian_nanosecond_pcap_against_tshark(tmp_path: Path) -> None:
    frames = mixed_frames()[:6]
    path = tmp_path / "big-endian.pcap"
    path.write_bytes(pcap([(5.5 + i, f) for i, f in enumerate(frames)], order=">", nano=True))
    assert ours(path) == tshark(path)


def test_a_simulated_transfer_as_pcap_pcapng_gzip_and_damaged(tmp_path: Path) -> None:
    if shutil.which("editcap") is None:
        pytest.skip("needs editcap")
    sim = tmp_path / "sim.pcap"
    subprocess.run(
        ["synack", "simulate", "--loss", "3%", "--reorder", "2%", "--duplicate", "1%",
         "--bytes-up", "200KB", "--seed", "7", "--format", "none", "--summary", "none",
         "--pcap", str(sim)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    ng = tmp_path / "sim.pcapng"
    subprocess.run(["editcap", "-F", "pcapng", str(sim), str(ng)], check=True, timeout=60)
    damaged = bytearray(sim.read_bytes())
    offset, n = 24, 0
    while offset < len(damaged):  # flip a bit in the TCP header of every 9th record
        length = int.from_bytes(damaged[offset + 8 : offset + 12], "little")
        n += 1
        if n % 9 == 0:
            damaged[offset + 16 + 20 + 14] ^= 0x04  # the window field's low byte
        offset += 16 + length
    bad = tmp_path / "damaged.pcap"
    bad.write_bytes(bytes(damaged))
    expected = tshark(sim)
    assert len(expected) > 150  # 222 with seed 7 today; the exact check is against tshark
    assert ours(sim) == expected
    assert ours(ng) == tshark(ng) == expected
    zipped = tmp_path / "sim.pcap.gz"
    zipped.write_bytes(gzip.compress(sim.read_bytes()))
    assert ours(zipped) == expected
    damaged_rows = tshark(bad)
    assert ours(bad) == damaged_rows
    assert [r[0] for r in damaged_rows if not r[8]] == list(range(9, n + 1, 9))


@pytest.mark.parametrize(
    ("linktype", "frames"),
    [
        (9, [b"\xff\x03\x00\x21" + tcp4(seq=1), b"\x21" + tcp4(seq=2), b"\x00\x57" + tcp6(seq=3)]),
        (104, [b"\x0f\x00\x08\x00" + tcp4(seq=4), b"\x8f\x00\x86\xdd" + tcp6(seq=5)]),
        (113, [sll(tcp4(seq=6)), sll(tcp6(seq=7), 0x86DD)]),
        (276, [sll2(tcp4(seq=8)), sll2(tcp6(seq=9), 0x86DD)]),
        (0, [b"\x02\x00\x00\x00" + tcp4(seq=10), b"\x00\x00\x00\x1e" + tcp6(seq=11)]),
        (108, [b"\x00\x00\x00\x02" + tcp4(seq=12), b"\x00\x00\x00\x18" + tcp6(seq=13)]),
    ],
)
def test_link_types_against_tshark(tmp_path: Path, linktype: int, frames: list[bytes]) -> None:
    path = tmp_path / f"link-{linktype}.pcap"
    path.write_bytes(pcap([(2.0 + i, f) for i, f in enumerate(frames)], linktype))
    expected = tshark(path)
    assert len(expected) == len(frames)
    assert ours(path) == expected
