"""NewReno's throughput under random loss follows the Mathis formula,
MSS / RTT x 1.22 / sqrt(p), within 25% for p from 0.1% to 2% (Mathis,
Semke, Mahdavi, Ott 1997). Each point averages two seeds of one long
transfer on a 100 ms path with no other bottleneck."""

from __future__ import annotations

import math

import pytest

from synack.sim.network import LinkConfig
from synack.tcp.config import TcpConfig
from synack.trace.compare import compare

RTT = 0.1
MSS = 1448  # 1460 less the 12 bytes of timestamps
CONFIG = TcpConfig(msl=1.0, recv_buffer=8 << 20, send_buffer=8 << 20)


def mathis_mbit(p: float) -> float:
    return MSS * 8 / RTT * 1.22 / math.sqrt(p) / 1e6


@pytest.mark.parametrize("p", [0.001, 0.005, 0.01, 0.02])
def test_newreno_follows_the_mathis_formula(p: float) -> None:
    size = 20_000_000 if p < 0.005 else 6_000_000
    runs = [
        compare(["newreno"], size, LinkConfig(delay=RTT / 2), LinkConfig(delay=RTT / 2, loss=p),
                seed=seed, config=CONFIG)[0]
        for seed in (2, 3)
    ]  # fmt: skip
    assert all(run.ok for run in runs)
    measured = sum(run.throughput_mbit for run in runs) / len(runs)
    assert 0.75 <= measured / mathis_mbit(p) <= 1.25, (measured, mathis_mbit(p))
