"""Smoke test of the simulated-connections benchmark at its --quick size (no wall-clock checks)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from synack import bench
from synack.cli import main


def test_bench_sim_quick() -> None:
    n = bench.QUICK.sim_connections
    result = bench.bench_sim(n)
    assert result.connections == result.completed == n
    # at least: SYN, SYN,ACK, 7 data segments each way (10 KB), two FINs, the last ACK
    assert result.packets >= 19 * n and result.packets_per_second > 0 and result.seconds > 0
    assert result.retransmitted_segments == 0
    (figure,) = result.figures()
    assert figure.unit == "pkt/s" and figure.target == bench.SIM_TARGET and figure.ratio > 0


def test_bench_sim_in_run_and_cli() -> None:
    assert "sim" in bench.BENCHMARKS
    out = CliRunner().invoke(main, ["bench", "sim", "--quick", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    (result,) = data["results"]
    assert (
        result["benchmark"] == "SimResult" and result["connections"] == bench.QUICK.sim_connections
    )
    assert data["figures"][0]["unit"] == "pkt/s"
