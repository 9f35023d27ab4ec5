"""One cell: a scale run measured by a tap on its links. Exact figures where
the network leaves no choice (no loss, no bandwidth limit), Little's law for
TIME-WAIT, and the same row for the same seed."""

from __future__ import annotations

import math

import pytest

from synack.sim.faults import parse_fault
from synack.sim.network import LinkConfig
from synack.sim.scale import simulate
from synack.sweep.cell import Meter, failed_row, run_cell
from synack.sweep.grid import Cell, build_grid
from synack.sweep.runner import run_one
from synack.tcp.config import TcpConfig


def cell(**axes: str) -> Cell:
    cells = build_grid(axes).cells()
    assert len(cells) == 1
    return cells[0]


def test_a_clean_path_gives_exact_times() -> None:
    row = run_cell(cell(delay="10ms", bytes="100k", flows="2"))
    assert row["status"] == "ok" and row["ok"] is True
    assert row["completed"] == 2 and row["failed"] == 0
    assert row["retransmissions"] == row["timeouts"] == 0
    # every RTT sample and every handshake is the path's 20 ms
    assert row["rtt_p50_ms"] == row["rtt_p99_ms"] == 20.0
    assert row["handshakes"] == 2
    assert row["handshake_p50_ms"] == row["handshake_max_ms"] == 20.0
    assert math.isclose(row["handshake_mean_ms"], 20.0)
    assert row["rtt_samples"] > 10
    # nothing sent twice: throughput is goodput, and two equal flows share equally
    assert row["throughput_mbit"] == pytest.approx(row["goodput_mbit"])
    assert row["jain"] == pytest.approx(1.0)
    assert row["time_wait_peak"] == 2  # both clients' records, MSL 1 s
    assert row["settled"] is True


def test_the_same_seed_gives_the_same_row() -> None:
    c = cell(loss="2%", bytes="300k", seed="7")
    a, b = run_cell(c), run_cell(c)
    for volatile in ("wall_seconds", "cpu_seconds", "worker"):
        a.pop(volatile), b.pop(volatile)
    assert a == b
    assert a["retransmissions"] > 0  # the loss did something
    assert a["throughput_mbit"] > a["goodput_mbit"]  # retransmissions count in throughput only
    other = run_cell(cell(loss="2%", bytes="300k", seed="8"))
    assert other["packets_lost"] != a["packets_lost"] or other["rtt_samples"] != a["rtt_samples"]


def test_a_lost_syn_costs_the_initial_rto() -> None:
    """RFC 6298 2.1: the SYN goes again after 1 s; the meter sees it from the wire."""
    meter = Meter()
    simulate(
        1, bytes_up=0, bytes_down=1000, c2s=LinkConfig(delay=0.01), s2c=LinkConfig(delay=0.01),
        faults=[parse_fault("drop", "c2s:S:1")], config=TcpConfig(msl=1.0), taps=[meter],
    )  # fmt: skip
    (conn,) = meter.conns.values()
    assert conn.syn_at == 0.0
    assert conn.synack_at is not None
    assert round((conn.synack_at - conn.syn_at) * 1000, 6) == 1020.0


def test_a_bottleneck_is_shared_and_filled() -> None:
    row = run_cell(cell(flows="3", bandwidth="10mbit", queue="30", bytes="1m", buffer="1mi"))
    assert row["ok"] is True
    assert 8.0 <= row["goodput_mbit"] <= 10.0  # the link is 10 Mbit/s
    assert row["jain"] > 0.9
    assert row["rtt_p99_ms"] > 20.0  # queueing adds to the 20 ms path


def test_time_wait_records_follow_littles_law() -> None:
    """Records are made at the connection rate and live 2 MSL (RFC 9293 3.6.1)."""
    row = run_cell(cell(flows="300", rate="50", msl="1", bytes="1000"))
    assert row["ok"] is True
    assert row["time_wait_mean"] == pytest.approx(50 * 2 * 1.0, rel=0.15)
    assert row["time_wait_mean"] <= row["time_wait_peak"] <= 300
    assert run_cell(cell(flows="3"))["time_wait_mean"] is None  # no steady part to average


def test_a_cell_that_raises_is_a_failed_row() -> None:
    broken = Cell(**{**cell().params(), "flows": 0})  # simulate refuses no connections
    row = run_one(broken)
    assert row["status"] == "failed"
    assert row["error"] == "ValueError: need at least one connection"
    assert row["cell_id"] == broken.cell_id and row["flows"] == 0
    assert failed_row(broken, "x\ny")["error"] == "x"


def test_jains_index_of_shares() -> None:
    from synack.sweep.cell import _jain

    assert _jain([3.0, 3.0, 3.0]) == pytest.approx(1.0)
    assert _jain([1.0, 0.0]) == pytest.approx(0.5)  # one of two took everything: 1/n
    assert _jain([2.0, 1.0]) == pytest.approx(0.9)  # 9 / (2 x 5)
    assert _jain([]) is None and _jain([0.0]) is None
