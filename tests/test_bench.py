"""Smoke test of the benchmarks at their --quick sizes.

The figures must be sane (positive, the right counts, every byte delivered
intact); how fast anything ran is never asserted.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from synack import bench
from synack.bench.results import TIME_WAIT_TARGET
from synack.cli import main

QUICK = bench.QUICK


def test_lifecycle_quick() -> None:
    result = bench.bench_lifecycle(QUICK.lifecycles)
    assert result.connections == QUICK.lifecycles
    assert result.seconds > 0 and result.per_second > 0
    # one byte each way per lifecycle
    assert result.client_bytes_received == QUICK.lifecycles
    assert result.server_bytes_received == QUICK.lifecycles
    # SYN, SYN-ACK, ACK with the byte, the reply, FIN, FIN-ACK, the last ACK
    assert result.packets == 7 * QUICK.lifecycles
    assert 0 < result.time_wait_peak <= QUICK.lifecycles
    (figure,) = result.figures()
    assert figure.value == result.per_second and figure.ratio > 0


def test_lifecycle_engine_quick() -> None:
    result = bench.bench_lifecycle_engine(QUICK.lifecycles)
    assert result.path == "engine" and result.connections == QUICK.lifecycles
    assert result.client_bytes_received == result.server_bytes_received == QUICK.lifecycles
    assert result.packets == 7 * QUICK.lifecycles  # the same seven segments as through Hosts
    assert result.per_second > 0


def test_bulk_engine_quick() -> None:
    result = bench.bench_bulk_engine(QUICK.bulk_bytes)
    assert result.path == "engine"
    assert result.delivered_bytes == result.total_bytes == QUICK.bulk_bytes
    assert result.sha256_delivered == result.sha256_expected
    assert result.intact
    assert result.mb_per_second > 0
    assert result.payload_per_segment == 1460 - 12  # MSS less the timestamps option
    assert result.segments >= QUICK.bulk_bytes // result.payload_per_segment


def test_bulk_hosts_quick() -> None:
    result = bench.bench_bulk_hosts(QUICK.bulk_bytes)
    assert result.path == "hosts"
    assert result.intact
    assert result.delivered_bytes == QUICK.bulk_bytes
    assert result.mb_per_second > 0


def test_memory_established_quick() -> None:
    result = bench.bench_memory_established(QUICK.memory_count)
    assert result.kind == "established"
    assert result.count == QUICK.memory_count
    assert result.bytes_total > 0
    assert result.bytes_each == result.bytes_total / (2 * QUICK.memory_count)
    assert result.detail["client_connections"] == QUICK.memory_count


def test_memory_time_wait_quick() -> None:
    result = bench.bench_memory_time_wait(QUICK.memory_count)
    assert result.kind == "time-wait"
    assert result.count == result.detail["records"] == QUICK.memory_count
    assert result.detail["collapsed"] == QUICK.memory_count
    assert result.bytes_each > 0
    assert result.bytes_each == result.bytes_total / QUICK.memory_count
    # a size, not a speed: tracemalloc counts the same bytes on every run
    assert result.bytes_each <= TIME_WAIT_TARGET


def test_reassembly_quick() -> None:
    n = QUICK.reassembly_segments
    results = bench.run("reassembly", quick=True)
    assert [r.order for r in results] == ["ascending", "random"]  # type: ignore[union-attr]
    for result in results:
        assert isinstance(result, bench.ReassemblyResult)
        assert result.intact and result.segments == 2 * n and result.held_bytes == n
        assert result.accounted_bytes == n * 65  # one byte and BLOCK_OVERHEAD per block
        assert 0 < result.traced_bytes <= result.peak_bytes < result.accounted_bytes
        time_figure, memory_figure = result.figures()
        assert time_figure.value == result.seconds > 0
        assert memory_figure.value == result.peak_bytes / n


def test_figures_ratio_direction() -> None:
    faster = bench.Figure("x", 10_000.0, "conn/s", 5_000.0)
    smaller = bench.Figure("y", 128.0, "B", 256.0, higher_is_better=False)
    assert faster.ratio == 2.0 and faster.target_text == ">= 5000"
    assert smaller.ratio == 2.0 and smaller.target_text == "<= 256"


def test_cli_bench_json_and_table() -> None:
    runner = CliRunner()
    out = runner.invoke(main, ["bench", "bulk", "--quick", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert [r.get("path") for r in data["results"]] == ["engine", "hosts", None]  # then the kernel
    assert all(f["value"] > 0 and f["ratio"] > 0 for f in data["figures"])
    assert set(data["kernel_ratios"]) == {"bulk (engine)", "bulk (hosts)"}
    out = runner.invoke(main, ["bench", "lifecycle", "--quick"])
    assert out.exit_code == 0, out.output
    assert "lifecycles" in out.stdout and "ratio" in out.stdout
    assert "/ kernel" in out.stdout


def test_run_rejects_unknown_benchmark() -> None:
    with pytest.raises(ValueError, match="nope"):
        bench.run("nope")


def test_kernel_reference_on_loopback() -> None:
    result = bench.bench_kernel(lifecycles=50, bulk_bytes=1 << 20)
    assert result.lifecycles == 50 and result.lifecycles_per_second > 0
    assert result.bulk_bytes == 1 << 20 and result.bulk_mb_per_second > 0
    engine = bench.bench_lifecycle_engine(100)
    ratios = bench.kernel_ratios([engine, result])
    assert ratios == {"lifecycles (engine)": engine.per_second / result.lifecycles_per_second}


def test_the_cli_offers_every_benchmark_group() -> None:
    from synack import bench, cli

    assert cli._BENCH_GROUPS == bench.BENCHMARKS


def test_asgi_result_figures_json_and_report() -> None:
    from rich.console import Console

    from synack.bench.report import print_report

    result = bench.AsgiResult(500, 8, 100, 800.0, 1600.0, 300.0, 500.0)
    assert result.keep_alive_ratio == 0.5 and result.per_request_ratio == 0.6
    data = bench.to_json([result])
    assert data["results"][0]["benchmark"] == "AsgiResult"
    assert [f["value"] for f in data["figures"]] == [0.5, 0.6]
    console = Console(record=True, width=120)
    print_report([result], "asgi", console)
    text = console.export_text()
    assert "synack 800 req/s, kernel 1,600 req/s, ratio 0.50" in text
    assert "synack 300 req/s, kernel 500 req/s, ratio 0.60" in text
