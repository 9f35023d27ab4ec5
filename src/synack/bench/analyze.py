"""``synack bench analyze``: capture analysis against tshark's, on one big capture.

The simulator makes the capture (many connections over a link that loses
some packets), written as it runs by a tap that streams every packet to a
pcap file. Then, on the same file and in the same run: synack's analysis
(``synack.analyze.report.analyze``: the reader, the connection tracker with
its inferred states, the Zeek summary and the expert flags, keeping no
per-packet records) and tshark with its TCP analysis (every packet's
``tcp.analysis.flags``). Both are timed; the figure is packets per second
and the ratio synack / tshark. synack runs as ``synack analyze`` does by
default (one process per CPU, each with its shard of the connections), and
also in one process, for the ratio of each. It runs in processes of its
own, whose peak resident memory is reported too: it follows the
connections open at once, not the packets.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from synack.bench.results import AnalyzeResult, Progress, no_progress
from synack.sim.network import LinkConfig, PacketEvent
from synack.sim.scale import simulate

_PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 101)
_RECORD = struct.Struct("<IIII")


class _PcapWriter:
    """A packet tap that appends each packet to a raw-IP pcap as it is sent."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.packets = 0
        stream.write(_PCAP_HEADER)

    def __call__(self, event: PacketEvent) -> None:
        micros = round(event.sent * 1_000_000)
        seconds, micros = divmod(micros, 1_000_000)
        data = event.packet
        self.stream.write(_RECORD.pack(seconds, micros, len(data), len(data)) + data)
        self.packets += 1


def make_capture(path: Path, connections: int, bytes_each: int, loss: float) -> int:
    """A capture of ``connections`` connections, ``bytes_each`` bytes each way."""
    link = LinkConfig(delay=0.01, loss=loss)
    with path.open("wb") as stream:
        writer = _PcapWriter(stream)
        simulate(connections, bytes_up=bytes_each, bytes_down=bytes_each, c2s=link, s2c=link,
                 msl=1.0, ramp=5.0, taps=[writer])  # fmt: skip
    return writer.packets


def bench_analyze(
    connections: int = 21_000,
    bytes_each: int = 30_000,
    loss: float = 0.01,
    path: Path | None = None,
    progress: Progress = no_progress,
) -> AnalyzeResult:
    """Make (or reuse) the capture, then time synack's analysis and tshark's."""
    label = "analyze"
    path = path or Path("build/bench-analyze.pcap")
    path.parent.mkdir(parents=True, exist_ok=True)
    progress(label, 0.0)
    packets = make_capture(path, connections, bytes_each, loss)
    progress(label, 0.4)
    single = _time_synack(path, jobs=1)
    progress(label, 0.6)
    sharded = _time_synack(path, jobs=None)
    progress(label, 0.8)
    tshark_seconds = None
    tshark = shutil.which("tshark")
    if tshark is not None:
        start = time.perf_counter()
        subprocess.run(
            [tshark, "-n", "-r", str(path), "-T", "fields", "-e", "frame.number",
             "-e", "tcp.analysis.flags"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
        )  # fmt: skip
        tshark_seconds = time.perf_counter() - start
    progress(label, 1.0)
    return AnalyzeResult(
        packets, sharded.connections, sharded.seconds, sharded.segments / sharded.seconds,
        sharded.peak_mib, tshark_seconds,
        None if tshark_seconds is None else packets / tshark_seconds,
        path.stat().st_size / (1 << 20), sharded.jobs, single.segments / single.seconds,
        single.peak_mib,
    )  # fmt: skip


@dataclass
class _Timed:
    seconds: float
    segments: int
    connections: int
    peak_mib: float  # the largest of the analysing processes' peaks
    jobs: int


def _time_synack(path: Path, jobs: int | None) -> _Timed:
    """``synack analyze``'s pipeline on ``path`` in a process of its own (and its
    workers), so that their peak memory (ru_maxrss) is theirs."""
    script = (
        "import resource, sys, time\n"
        "from synack.analyze.report import Selection, analyze, auto_jobs\n"
        "path, jobs = sys.argv[1], sys.argv[2]\n"
        "jobs = auto_jobs([path], Selection()) if jobs == 'auto' else int(jobs)\n"
        "start = time.perf_counter()\n"
        "result = analyze([path], jobs=jobs)\n"
        "seconds = time.perf_counter() - start\n"
        "peak = max(resource.getrusage(who).ru_maxrss\n"
        "           for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))\n"
        "print(seconds, result.segments, len(result.connections), peak, jobs)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(path), "auto" if jobs is None else str(jobs)],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    # ru_maxrss is in KiB on Linux
    return _Timed(float(out[0]), int(out[1]), int(out[2]), int(out[3]) / 1024, int(out[4]))
