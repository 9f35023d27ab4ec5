"""A segment lost twice, original and resend, in the middle of a transfer.

RACK (RFC 8985 6) judges the resend lost once segments sent after it are
SACKed, and sends it again within the recovery. RFC 6675 alone never resends
a retransmission: it waits for the RTO (at least 1 s here, 10 RTTs)."""

from __future__ import annotations

import pytest

from synack.sim.faults import parse_fault
from synack.sim.network import LinkConfig
from synack.sim.scale import ScaleResult, simulate
from synack.tcp.config import TcpConfig
from synack.trace.records import PacketRecord, TraceRecorder

RTT = 0.1
LOST = 30  # the 30th data segment the server sends


def _run(rack: bool, drops: list[int]) -> tuple[ScaleResult, TraceRecorder]:
    recorder = TraceRecorder()
    faults = [parse_fault("drop", f"s2c:data:{n}") for n in drops]
    link = LinkConfig(delay=RTT / 2)
    config = TcpConfig(rack=rack, msl=1.0)
    run = simulate(1, bytes_up=0, bytes_down=300_000, c2s=link, s2c=link, faults=faults,
                   config=config, seed=1, recorder=recorder)  # fmt: skip
    return run, recorder


def _server_data(recorder: TraceRecorder) -> list[PacketRecord]:
    return [
        rec
        for rec in recorder.records
        if isinstance(rec, PacketRecord) and rec.src == "server" and rec.len
    ]


def _lost_twice(rack: bool) -> ScaleResult:
    """Drop segment LOST, then find its resend's place in the count and drop that too."""
    _, recorder = _run(rack, [LOST])
    sent = _server_data(recorder)
    lost_seq = sent[LOST - 1].seq
    resend = next(n for n, rec in enumerate(sent[LOST:], LOST + 1) if rec.seq == lost_seq)
    run, recorder = _run(rack, [LOST, resend])
    assert sum(rec.seq == lost_seq for rec in _server_data(recorder)) == 3  # sent three times
    return run


@pytest.fixture(scope="module")
def runs() -> dict[bool, ScaleResult]:
    return {rack: _lost_twice(rack) for rack in (True, False)}


def test_rack_resends_a_lost_retransmission_without_a_timeout(
    runs: dict[bool, ScaleResult],
) -> None:
    assert runs[True].ok and runs[True].timeouts == 0


def test_without_rack_only_the_timeout_finds_it(runs: dict[bool, ScaleResult]) -> None:
    assert runs[False].ok and runs[False].timeouts == 1
    # the timeout costs about its own length, far more than the RTTs RACK needs
    assert runs[False].last_close - runs[True].last_close > 5 * RTT
