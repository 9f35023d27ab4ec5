"""Sharded analysis: several readers of one file, each with its share of the
connections, add up to exactly what one reader finds.

``read_segments(shard=(i, n))`` keeps a connection's segments together in
one shard and counts what lies above TCP once; ``analyze(jobs=n)`` merges
the shards' connections back in the order one reader meets them."""

from __future__ import annotations

import dataclasses
import io
import os
from pathlib import Path

import pytest
from _captures import OUT, ether, gre, ipv4, mixed_frames, pcap, read, row, tcp, tcp4
from click.testing import CliRunner

from synack.analyze.capture import CaptureStats, read_segments
from synack.analyze.flows import canonical
from synack.analyze.report import PARALLEL_BYTES, Analysis, Selection, analyze, auto_jobs
from synack.bench.analyze import make_capture
from synack.cli import main


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A simulated capture of 40 connections over a lossy link."""
    path = tmp_path_factory.mktemp("shards") / "many.pcap"
    make_capture(path, connections=40, bytes_each=6_000, loss=0.03)
    return path


def mixed_capture() -> bytes:
    """Every kind of frame the reader opens: link types, tunnels, fragments, bad
    checksums (TCP's, and IPv4 headers' both carrying TCP and carrying a
    tunnel), non-TCP packets, on more than one connection."""
    bad_headers = [
        ether(ipv4(tcp(seq=30 + port, sport=port), bad_checksum=True))
        for port in range(40001, 40005)
    ]
    bad_tunnel = ether(ipv4(gre(tcp4(seq=40)), *OUT, proto=47, bad_checksum=True))
    frames = [*mixed_frames(), *bad_headers, bad_tunnel]
    return pcap([(1.0 + i / 10, frame) for i, frame in enumerate(frames)])


@pytest.mark.parametrize("shards", [2, 3])
def test_shards_partition_the_segments_and_add_up_to_the_stats(shards: int) -> None:
    data = mixed_capture()
    whole, whole_stats = read(data)
    parts: list[list[tuple[object, ...]]] = []
    merged = CaptureStats()
    for index in range(shards):
        stats = CaptureStats()
        segments = list(read_segments(io.BytesIO(data), stats=stats, shard=(index, shards)))
        parts.append([row(s) for s in segments])
        if index == 0:
            merged = stats
        else:
            merged.add_shard(stats)
    together = sorted(r for part in parts for r in part)
    assert together == sorted(row(s) for s in whole)  # each segment in exactly one shard
    assert whole_stats.bad_ip_checksums == 5
    assert dataclasses.asdict(merged) == dataclasses.asdict(whole_stats)


def test_a_connection_lives_in_one_shard(many: Path) -> None:
    owner: dict[tuple[int, int, int, int, int], int] = {}
    for index in range(2):
        for seg in read_segments(many, shard=(index, 2)):
            assert owner.setdefault(canonical(seg), index) == index
    assert set(owner.values()) == {0, 1}  # both shards have work


def summary(result: Analysis) -> list[tuple[object, ...]]:
    return [
        (
            c.flow.number,
            c.flow.first_t,
            c.flow.opener,
            [(s.name, s.state) for s in c.flow.sides.values()],
            [(r.t, r.endpoint, r.rtt, r.kind) for r in c.flow.rtt],
            c.zeek,
            dict(c.expert),
        )
        for c in result.connections
    ]


@pytest.mark.parametrize("jobs", [2, 3])
def test_jobs_give_what_one_process_gives(many: Path, jobs: int) -> None:
    one = analyze([many], jobs=1)
    shared = analyze([many], jobs=jobs)
    assert len(one.connections) == 40
    assert summary(shared) == summary(one)
    assert [c.zeek["uid"] for c in shared.connections] == [f"C{n}" for n in range(1, 41)]
    assert (shared.segments, shared.to_itself, shared.error) == (
        one.segments,
        one.to_itself,
        one.error,
    )
    assert dataclasses.asdict(shared.stats) == dataclasses.asdict(one.stats)


def test_jobs_keep_the_records_of_the_chosen_connections(many: Path) -> None:
    host = str(next(iter(read_segments(many))).src)
    one = analyze([many], Selection(host=host), keep_all=True, jobs=1)
    shared = analyze([many], Selection(host=host), keep_all=True, jobs=2)
    assert [c.flow.records for c in shared.connections] == [c.flow.records for c in one.connections]
    assert [len(c.wire) for c in shared.connections] == [len(c.wire) for c in one.connections]
    assert all(c.flow.records for c in shared.connections)


def test_several_files_are_one_stream(many: Path, tmp_path: Path) -> None:
    other = tmp_path / "mixed.pcap"
    other.write_bytes(mixed_capture())
    one = analyze([many, other], jobs=1)
    shared = analyze([many, other], jobs=2)
    assert summary(shared) == summary(one)
    assert dataclasses.asdict(shared.stats) == dataclasses.asdict(one.stats)


def test_a_broken_file_says_where_with_jobs(many: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(many.read_bytes()[:-700])
    one = analyze([cut], jobs=1)
    shared = analyze([cut], jobs=2)
    assert one.error is not None and "the file ends inside the record" in one.error
    assert shared.error == one.error
    assert summary(shared) == summary(one)


def test_auto_jobs(many: Path, tmp_path: Path) -> None:
    assert auto_jobs([many], Selection()) == 1  # small: one process
    big = tmp_path / "big.pcap"
    with big.open("wb") as f:
        f.truncate(PARALLEL_BYTES)
    assert auto_jobs([big], Selection()) == min(8, len(os.sched_getaffinity(0)))  # one per CPU
    assert auto_jobs([big], Selection(number=3)) == 1  # numbers are known to one reader
    assert auto_jobs(["-"], Selection()) == 1
    with pytest.raises(ValueError, match="jobs=1"):
        analyze([many], Selection(number=1), jobs=2)


def test_cli_jobs_give_the_same_conn_log(many: Path) -> None:
    runner = CliRunner()
    one = runner.invoke(main, ["analyze", str(many), "--format", "conn", "--jobs", "1"])
    two = runner.invoke(main, ["analyze", str(many), "--format", "conn", "--jobs", "2"])
    assert one.exit_code == 0 and two.exit_code == 0

    def log(output: str) -> list[str]:
        # the #open and #close lines carry the wall-clock time of the run
        return [line for line in output.splitlines() if not line.startswith(("#open", "#close"))]

    assert log(one.output) == log(two.output)
    assert len(log(one.output)) > 40


def test_cli_jobs_with_conn_is_refused(many: Path) -> None:
    result = CliRunner().invoke(main, ["analyze", str(many), "--conn", "2", "--jobs", "2"])
    assert result.exit_code == 2
    assert "leave out --jobs" in result.output


def _failing_in_shard_one(monkeypatch: pytest.MonkeyPatch, fail: object) -> None:
    """Make the worker of shard 1 (forked after this) fail as ``fail`` says."""
    from synack.analyze import report

    original = report._analyze

    def analyse(*args: object) -> Analysis:
        if args[-1] == (1, 2):
            if fail == "exit":
                os._exit(3)
            raise ValueError("shard 1 went wrong")
        return original(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(report, "_analyze", analyse)


def test_a_workers_error_is_raised_in_the_parent(
    many: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _failing_in_shard_one(monkeypatch, "raise")
    with pytest.raises(ValueError, match="shard 1 went wrong"):
        analyze([many], jobs=2)


def test_a_worker_that_dies_is_a_clear_error(many: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _failing_in_shard_one(monkeypatch, "exit")
    with pytest.raises(RuntimeError, match=r"analysis worker died \(exit code 3\)"):
        analyze([many], jobs=2)
