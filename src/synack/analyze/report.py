"""``synack analyze``: captures in, connections out, in every view synack has.

The captures are streamed once (``capture.read_segments``). Each segment
goes to its connection (``flows.FlowTable``), to that connection's Zeek
summary (``zeek.ZeekConn``) and to its expert analysis
(``expert.ExpertAnalyzer``), whose flags become the segment's notes in the
trace. Only the connections a view needs keep their records; the others
keep counters, so memory grows with connections, not with packets.
"""

from __future__ import annotations

import gc
import multiprocessing
import multiprocessing.connection
import os
import pickle
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from synack.analyze.capture import CaptureStats, read_segments
from synack.analyze.expert import ExpertAnalyzer
from synack.analyze.flows import Flow, FlowTable, canonical
from synack.analyze.model import CapturedSegment, CaptureError
from synack.analyze.zeek import ZeekConn
from synack.trace.plot import WireSegment
from synack.wire.segment import Segment

# Expert analyzers of ended connections kept, for "reused ports": memory stays
# bounded by the connections open at once plus this many.
ENDED_KEPT = 65_536

# Flags worth a word in the ladder (Wireshark's names, shortened)
NOTE_WORDS = {
    "retransmission": "retransmission",
    "fast_retransmission": "fast retransmission",
    "spurious_retransmission": "spurious retransmission",
    "out_of_order": "out of order",
    "duplicate_ack": "dup ACK",
    "zero_window": "zero window",
    "zero_window_probe": "zero-window probe",
    "zero_window_probe_ack": "zero-window probe ACK",
    "window_full": "window full",
    "window_update": "window update",
    "keep_alive": "keep-alive",
    "keep_alive_ack": "keep-alive ACK",
    "lost_segment": "prev. not captured",
    "ack_lost_segment": "ACKed unseen",
    "reused_ports": "reused ports",
}


@dataclass
class Selection:
    """Which connections keep their records for a detailed view."""

    number: int | None = None
    host: str | None = None
    port: int | None = None

    def any(self) -> bool:
        return self.number is not None or self.host is not None or self.port is not None

    def wants(self, flow: Flow) -> bool:
        if not self.any():
            return False
        if self.number is not None and flow.number != self.number:
            return False
        names = list(flow.sides)
        hosts = {n.rsplit(":", 1)[0].strip("[]") for n in names}
        if self.host is not None and self.host not in hosts:
            return False
        return self.port is None or any(n.rsplit(":", 1)[1] == str(self.port) for n in names)


@dataclass
class Connection:
    """One connection, analysed: the flow, its Zeek record, its expert counts."""

    flow: Flow
    zeek: dict[str, object]
    expert: Counter[str] = field(default_factory=Counter)
    wire: list[WireSegment] = field(default_factory=list)  # for the plots; kept flows only


@dataclass
class Analysis:
    connections: list[Connection]
    stats: CaptureStats
    error: str | None = None  # where the capture broke, if it did
    segments: int = 0
    to_itself: int = 0  # segments from an endpoint to itself (no connection), left out


def analyze(
    paths: Iterable[str | Path],
    selection: Selection | None = None,
    ignore_checksums: bool = False,
    keep_all: bool = False,
    progress: Callable[[int], None] | None = None,
    jobs: int | None = 1,
) -> Analysis:
    """Read every capture in ``paths`` as one stream of segments (in file order).

    ``jobs`` processes share the work, each reading the whole stream but
    taking only its shard of the connections (see ``read_segments``); None
    picks one per CPU for big files. The result is the same as one process's.
    """
    selection = selection or Selection()
    paths = list(paths)
    if jobs is None:
        jobs = auto_jobs(paths, selection)
    if jobs > 1:
        if selection.number is not None:
            raise ValueError("a connection's number is known only to one reader: jobs=1")
        return _analyze_sharded(paths, selection, ignore_checksums, keep_all, jobs)
    return _analyze(paths, selection, ignore_checksums, keep_all, progress, None)


# Files smaller than this are read by one process: starting more costs more.
PARALLEL_BYTES = 32 << 20


def auto_jobs(paths: list[str | Path], selection: Selection) -> int:
    """One process per CPU (at most 8) for regular files of PARALLEL_BYTES or
    more in all; one for anything else (a pipe, standard input, --conn N)."""
    if selection.number is not None:
        return 1
    try:
        files = [Path(p) for p in paths if str(p) != "-"]
        if len(files) < len(paths) or not all(f.is_file() for f in files):
            return 1
        size = sum(f.stat().st_size for f in files)
    except OSError:
        return 1  # the reader says what is wrong with it
    if size < PARALLEL_BYTES:
        return 1
    return max(1, min(8, len(os.sched_getaffinity(0))))


def _shard_worker(
    send: multiprocessing.connection.Connection, paths: list[str | Path], selection: Selection,
    ignore_checksums: bool, keep_all: bool, shard: tuple[int, int],
) -> None:  # fmt: skip
    """A forked worker: analyse ``shard`` and send it back pickled (or what went wrong)."""
    try:
        outcome: tuple[str, object] = (
            "ok", _analyze(paths, selection, ignore_checksums, keep_all, None, shard)
        )  # fmt: skip
    except Exception as exc:  # the parent raises it again
        outcome = ("error", exc)
    send.send_bytes(pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL))
    send.close()


def _analyze_sharded(
    paths: list[str | Path], selection: Selection, ignore_checksums: bool, keep_all: bool,
    jobs: int,
) -> Analysis:  # fmt: skip
    """``jobs`` processes, each with its shard of the connections; merged in the
    order a single reader would have met them, and numbered so.

    This process analyses shard 0 itself while forked workers take the others,
    so only their results cross a pipe. Those come back pickled, and are
    rebuilt once this process's own shard is done, with the cyclic collector
    off: running over them while they are rebuilt takes a third of the time.
    """
    context = multiprocessing.get_context("fork")
    workers = []
    for index in range(1, jobs):
        receive, send = context.Pipe(duplex=False)
        worker = context.Process(
            target=_shard_worker,
            args=(send, paths, selection, ignore_checksums, keep_all, (index, jobs)),
            daemon=True,
        )
        worker.start()
        send.close()  # the worker's end: an EOF here when it dies
        workers.append((worker, receive))
    try:
        parts = [_analyze(paths, selection, ignore_checksums, keep_all, None, (0, jobs))]
        collecting = gc.isenabled()
        gc.disable()
        try:
            for worker, receive in workers:
                try:
                    status, value = pickle.loads(receive.recv_bytes())
                except EOFError:
                    worker.join()
                    raise RuntimeError(
                        f"an analysis worker died (exit code {worker.exitcode})"
                    ) from None
                if status != "ok":
                    assert isinstance(value, BaseException)
                    raise value
                assert isinstance(value, Analysis)
                parts.append(value)
        finally:
            if collecting:
                gc.enable()
    finally:
        for worker, receive in workers:
            receive.close()
            worker.join(timeout=1)
            if worker.is_alive():
                worker.kill()
                worker.join()
    first, rest = parts[0], parts[1:]
    connections = [c for part in parts for c in part.connections]
    connections.sort(key=lambda c: c.flow.first_frame)
    for number, conn in enumerate(connections, 1):
        conn.flow.number = number
        conn.zeek["uid"] = f"C{number}"
    for part in rest:
        first.stats.add_shard(part.stats)
    return Analysis(
        connections, first.stats, first.error, sum(p.segments for p in parts),
        sum(p.to_itself for p in parts),
    )  # fmt: skip


def _analyze(
    paths: list[str | Path], selection: Selection, ignore_checksums: bool, keep_all: bool,
    progress: Callable[[int], None] | None, shard: tuple[int, int] | None,
) -> Analysis:  # fmt: skip
    stats = CaptureStats()
    done: list[Connection] = []
    zeeks: dict[int, ZeekConn] = {}
    # one expert analyzer per 4-tuple, not per connection: it starts afresh on a
    # new SYN by itself, and says "reused ports" when it does (as Wireshark).
    # Those of ended connections are kept for that, the most recent ENDED_KEPT.
    experts: dict[tuple[int, int, int, int, int], ExpertAnalyzer] = {}
    ended: OrderedDict[tuple[int, int, int, int, int], None] = OrderedDict()
    counts: dict[int, Counter[str]] = {}
    wire: dict[int, list[WireSegment]] = {}

    def keep(flow: Flow) -> bool:
        return keep_all or selection.wants(flow)

    def notes(flow: Flow, seg: CapturedSegment) -> list[str]:
        key = flow.key
        analyzer = experts.get(key)
        if analyzer is None:
            analyzer = experts[key] = ExpertAnalyzer()
        else:
            ended.pop(key, None)  # its 4-tuple is in use again
        zeek = zeeks.get(flow.number)
        if zeek is None:
            zeeks[flow.number] = ZeekConn(f"C{flow.number}", seg)
            counts[flow.number] = Counter()
        else:
            zeek.feed(seg)
        flags = analyzer.feed(seg)  # frames numbered as in the file (Wireshark's)
        if flow.keep_records:
            src, _ = flow.side_names(seg)
            text = seg.payload if len(seg.payload) == seg.payload_len else bytes(seg.payload_len)
            segment = Segment(seg.sport, seg.dport, seg.seq, seg.ack, seg.flags, seg.window,
                              seg.urgent, seg.options, text)  # fmt: skip
            t = seg.t - (table.t0 or 0.0)
            wire.setdefault(flow.number, []).append(WireSegment(t, src, segment))
        if not flags:
            return []
        counts[flow.number].update(flags)
        return [NOTE_WORDS.get(f, f) for f in flags]

    def finished(flow: Flow) -> None:
        number = flow.number
        zeek = zeeks.pop(number).record()
        done.append(Connection(flow, zeek, counts.pop(number), wire.pop(number, [])))
        ended[flow.key] = None
        ended.move_to_end(flow.key)
        if len(ended) > ENDED_KEPT:
            experts.pop(ended.popitem(last=False)[0], None)

    table = FlowTable(keep=keep, on_done=finished, notes=notes)
    error = None
    segments = 0
    try:
        for index, path in enumerate(paths):
            table.file_index = index
            # the text of segments only matters to a connection that keeps its records
            text = keep_all or selection.any()
            for seg in read_segments(
                path, ignore_checksums=ignore_checksums, stats=stats, shard=shard,
                keep_payload=text,
            ):  # fmt: skip
                if table.t0 is None:  # the capture's first TCP record, whoever's shard it is in
                    table.t0 = stats.first_tcp_t
                segments += 1
                table.feed(seg)
                if progress is not None and segments % 100_000 == 0:
                    progress(segments)
    except CaptureError as exc:
        error = f"{path}: {exc}" if len(paths) > 1 else str(exc)  # which file broke
    table.close()
    done.sort(key=lambda c: c.flow.number)
    return Analysis(done, stats, error, segments, table.to_itself)


__all__ = [
    "NOTE_WORDS", "PARALLEL_BYTES", "Analysis", "Connection", "Selection", "analyze", "auto_jobs",
    "canonical",
]  # fmt: skip
