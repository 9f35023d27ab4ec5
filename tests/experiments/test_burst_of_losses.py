"""A burst of three losses in one window: with SACK and RACK (RFC 6675 and
RFC 8985, with PRR) the sender resends all three within one RTT of the first,
with no timeout;
NewReno without SACK (RFC 6582) finds one hole per partial ACK, one RTT each."""

from __future__ import annotations

import pytest

from synack.sim.faults import parse_fault
from synack.sim.network import LinkConfig
from synack.sim.scale import ScaleResult, simulate
from synack.tcp.config import TcpConfig
from synack.trace.records import PacketRecord, TraceRecorder

RTT = 0.1


def _retransmission_times(sack: bool, algorithm: str) -> tuple[ScaleResult, list[float]]:
    recorder = TraceRecorder()
    faults = [parse_fault("drop", "s2c:data:30-32")]  # three in a row, one window
    link = LinkConfig(delay=RTT / 2)
    config = TcpConfig(sack=sack, congestion_control=algorithm, msl=1.0)
    run = simulate(1, bytes_up=0, bytes_down=300_000, c2s=link, s2c=link, faults=faults,
                   config=config, seed=1, recorder=recorder)  # fmt: skip
    seen: set[int] = set()
    again = []
    for rec in recorder.records:
        if isinstance(rec, PacketRecord) and rec.src == "server" and rec.len:
            if rec.seq in seen:
                again.append(rec.t)
            seen.add(rec.seq)
    return run, again


@pytest.mark.parametrize("algorithm", ["newreno", "cubic"])
def test_sack_resends_a_burst_of_three_losses_in_one_rtt(algorithm: str) -> None:
    with_sack, sack_times = _retransmission_times(True, algorithm)
    without, plain_times = _retransmission_times(False, "newreno")
    for run, times in ((with_sack, sack_times), (without, plain_times)):
        assert run.ok and run.timeouts == 0 and run.fast_retransmits == 1
        assert len(times) == 3  # exactly the three lost segments, once each
    assert sack_times[-1] - sack_times[0] < RTT  # all three within one RTT
    assert plain_times[-1] - plain_times[0] >= 2 * RTT  # one more RTT per hole
