"""A burst of three losses in one window: with SACK (RFC 6675) the sender
repairs all three in about one RTT with no timeout; NewReno without SACK
(RFC 6582) finds one hole per partial ACK, one RTT each."""

from __future__ import annotations

import pytest

from synack.sim.faults import parse_fault
from synack.sim.network import LinkConfig
from synack.sim.scale import simulate
from synack.tcp.config import TcpConfig

RTT = 0.1


def _transfer(sack: bool, algorithm: str):  # type: ignore[no-untyped-def]
    faults = [parse_fault("drop", "s2c:data:30-32")]  # three in a row, one window
    link = LinkConfig(delay=RTT / 2)
    config = TcpConfig(sack=sack, congestion_control=algorithm, msl=1.0)
    return simulate(1, bytes_up=0, bytes_down=300_000, c2s=link, s2c=link, faults=faults,
                    config=config, seed=1)  # fmt: skip


@pytest.mark.parametrize("algorithm", ["newreno", "cubic"])
def test_sack_repairs_a_burst_of_three_losses_rtts_sooner(algorithm: str) -> None:
    with_sack = _transfer(True, algorithm)
    without = _transfer(False, "newreno")
    for run in (with_sack, without):
        assert run.ok and run.retransmitted_segments == 3  # exactly the three lost
        assert run.fast_retransmits == 1 and run.timeouts == 0
    # NewReno spends an extra RTT on each of the 2nd and 3rd holes
    assert with_sack.last_close + 2 * RTT <= without.last_close + 1e-9
