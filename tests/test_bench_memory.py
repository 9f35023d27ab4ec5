"""``synack bench memory --json``: the bytes per idle ESTABLISHED connection
and per TIME-WAIT record are in the output, consistent and sane.

Sizes, not speeds: tracemalloc's counts depend on the interpreter, so the
bounds are wide (a connection's objects take hundreds of bytes, a packed
record far fewer), but a figure that is missing, zero, or not what the
totals say fails.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from click.testing import CliRunner

from synack import bench
from synack.cli import main


def test_memory_figures_in_the_json(monkeypatch: pytest.MonkeyPatch) -> None:
    count = 1_000  # fewer than --quick's, for a short test
    monkeypatch.setattr(bench, "QUICK", replace(bench.QUICK, memory_count=count))
    out = CliRunner().invoke(main, ["bench", "memory", "--quick", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    results = {r["kind"]: r for r in data["results"] if r["benchmark"] == "MemoryResult"}
    assert set(results) == {"established", "time-wait"}
    established, time_wait = results["established"], results["time-wait"]
    assert established["count"] == time_wait["count"] == count
    # per side: both Hosts' growth over both ends of every connection
    assert established["bytes_each"] == established["bytes_total"] / (2 * count)
    assert time_wait["bytes_each"] == time_wait["bytes_total"] / count
    assert 256 < established["bytes_each"] < 65_536
    assert 16 < time_wait["bytes_each"] < 1_024
    assert time_wait["bytes_each"] < established["bytes_each"] / 4  # the point of the record
    assert data["memory_bytes"] == {
        "established": established["bytes_each"],
        "time-wait": time_wait["bytes_each"],
    }
    figures = {f["unit"]: f for f in data["figures"]}
    assert figures["B/conn"]["value"] == established["bytes_each"]
    assert figures["B/record"]["value"] == time_wait["bytes_each"]
    assert not figures["B/record"]["higher_is_better"]


def test_no_memory_figures_without_the_memory_benchmark() -> None:
    result = bench.bench_lifecycle_engine(10)
    assert bench.to_json([result])["memory_bytes"] == {}
