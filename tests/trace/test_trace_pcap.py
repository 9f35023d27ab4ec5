"""pcap export: read back with dpkt, and checked by tshark for malformed
packets and bad checksums."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import dpkt
import pytest
from _trace_scenarios import conversation

from synack.sim.network import LinkConfig
from synack.trace.pcap import LINKTYPE_RAW, write_pcap
from synack.trace.records import PacketRecord, TraceRecorder

TSHARK = shutil.which("tshark")
needs_tshark = pytest.mark.skipif(
    TSHARK is None, reason="tshark is not installed (apt-get install tshark)"
)


def packets(recorder: TraceRecorder) -> list[PacketRecord]:
    return [r for r in recorder.records if isinstance(r, PacketRecord)]


def tshark(path: Path, *args: str) -> list[str]:
    done = subprocess.run(
        [str(TSHARK), "-r", str(path), "-n", "-o", "tcp.check_checksum:TRUE",
         "-o", "ip.check_checksum:TRUE", "-o", "tcp.relative_sequence_numbers:FALSE", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if line.strip()]


BAD = (
    "_ws.malformed || _ws.expert.severity >= error"
    " || tcp.checksum.status == 0 || ip.checksum.status == 0"
)


def test_pcap_holds_every_packet_with_its_virtual_time(tmp_path: Path) -> None:
    recorder = conversation(drop_first="S.")
    path = tmp_path / "lost.pcap"
    assert write_pcap(recorder, path) == len(packets(recorder))
    with path.open("rb") as handle:
        reader = dpkt.pcap.Reader(handle)
        assert reader.datalink() == LINKTYPE_RAW
        read = list(reader)
    expected = packets(recorder)
    assert len(read) == len(expected)
    for (ts, data), rec in zip(read, expected, strict=True):
        assert data == rec.packet
        assert abs(ts - rec.t) < 1e-6
    # the lost SYN,ACK is there: the sender sent it
    assert [rec.fate for rec in expected].count("dropped") == 1


@needs_tshark
@pytest.mark.parametrize(
    ("name", "link", "drop"),
    [
        ("plain", None, None),
        ("lost-syn-ack", None, "S."),
        ("duplicates-and-reordering", LinkConfig(delay=0.01, duplicate=0.3, reorder=0.3), None),
        ("ipv4-lossy", LinkConfig(delay=0.005, loss=0.2), None),
    ],
)
def test_tshark_finds_nothing_wrong(
    tmp_path: Path, name: str, link: LinkConfig | None, drop: str | None
) -> None:
    recorder = conversation(link, seed=3, drop_first=drop)
    path = tmp_path / f"{name}.pcap"
    write_pcap(recorder, path)
    assert tshark(path, "-Y", BAD) == []
    rows = tshark(path, "-T", "fields", "-e", "tcp.flags.str", "-e", "tcp.seq_raw", "-e", "tcp.len")
    expected = packets(recorder)
    assert len(rows) == len(expected)
    syn_flags = {"S": "SYN", "S.": "SYN,ACK"}
    for line, rec in zip(rows, expected, strict=True):
        flags, seq, length = line.split("\t")
        assert int(seq) == rec.seq and int(length) == rec.len
        assert ("S" in flags) == ("S" in rec.flags), (line, rec)
        assert ("F" in flags) == ("F" in rec.flags), (line, rec)
        assert ("A" in flags) == ("." in rec.flags), (line, rec)
    if drop:
        assert sum(r.fate == "dropped" for r in expected) == 1
        assert syn_flags[drop] and sum(r.flags == drop for r in expected) == 2
    if link and link.duplicate:
        assert any(r.fate == "duplicated" for r in expected)


@needs_tshark
def test_tshark_flags_exactly_the_corrupted_packets(tmp_path: Path) -> None:
    recorder = conversation(LinkConfig(delay=0.01, corrupt=0.25, duplicate=0.2), seed=4)
    path = tmp_path / "corrupt.pcap"
    write_pcap(recorder, path)
    expected = packets(recorder)
    # a corrupted packet fails our own checks too, and the recorder says why;
    # a duplicate of a corrupted packet carries the same damage
    damaged = {
        i
        for i, rec in enumerate(expected, 1)
        if rec.fate.startswith("corrupted") or "(" in rec.fate
    }
    assert any(rec.fate.startswith("corrupted") for rec in expected)
    flagged = {
        int(line.split("\t")[0])
        for line in tshark(path, "-Y", BAD, "-T", "fields", "-e", "frame.number")
    }
    assert flagged == damaged
    assert len(tshark(path)) == len(expected)
