"""Pacing: with it on, new segments leave spaced over the RTT instead of in a
burst; without it (the default), the whole window goes at once."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest
from conftest import IRS, ISS, MSS, PLAIN, in_state, ours, out

from synack.sim.network import LinkConfig
from synack.sim.scale import simulate
from synack.tcp.config import TcpConfig
from synack.tcp.state import State
from synack.trace.records import PacketRecord, TraceRecorder
from synack.wire.segment import ACK

CONFIG = replace(PLAIN, initial_window=4 * MSS, pacing=True)
DATA = bytes(4 * MSS)


def _with_rtt(config: TcpConfig, srtt: float = 0.1):
    conn = in_state(State.ESTABLISHED, config)
    conn.rtt.sample(srtt)
    return conn


def test_segments_are_spaced_by_the_pacing_rate() -> None:
    conn = _with_rtt(CONFIG)
    conn.send(DATA)
    assert out(conn) == [ours(ACK, ISS + 1, IRS + 1, payload=DATA[:MSS])]
    # slow start: twice cwnd per SRTT, so one MSS every MSS x SRTT / (2 x cwnd)
    gap = MSS * conn.rtt.srtt / (2 * conn.cc.cwnd)
    assert conn.get_timer() == pytest.approx(gap)
    assert out(conn, gap / 2) == []  # not before its time
    conn.handle_timer(gap)
    assert out(conn, gap) == [ours(ACK, ISS + 1 + MSS, IRS + 1, payload=DATA[MSS : 2 * MSS])]
    assert conn.get_timer() == pytest.approx(2 * gap)


def test_without_pacing_the_window_goes_at_once() -> None:
    conn = _with_rtt(replace(CONFIG, pacing=False))
    conn.send(DATA)
    assert [len(s.payload) for s in out(conn)] == [MSS] * 4


def test_no_rtt_yet_no_pacing() -> None:
    conn = in_state(State.ESTABLISHED, CONFIG)  # PLAIN: no timestamps, no sample yet
    conn.send(DATA)
    assert len(out(conn)) == 4


def _largest_burst(pacing: bool) -> tuple[bool, int]:
    """The most data segments the server sent at one instant, over a real transfer."""
    recorder = TraceRecorder()
    link = LinkConfig(delay=0.02, bandwidth=10e6, queue_limit=30)
    config = TcpConfig(pacing=pacing, msl=1.0, initial_window_rfc6928=True)
    result = simulate(1, bytes_up=0, bytes_down=1_000_000, c2s=LinkConfig(delay=0.02),
                      s2c=link, config=config, seed=3, recorder=recorder)  # fmt: skip
    sent = Counter(
        r.t for r in recorder.records if isinstance(r, PacketRecord) and r.src == "server" and r.len
    )
    return result.ok, max(sent.values())


def test_paced_transfer_arrives_whole_without_bursts() -> None:
    ok_paced, burst_paced = _largest_burst(True)
    ok_plain, burst_plain = _largest_burst(False)
    assert ok_paced and ok_plain
    assert burst_paced <= 2  # a segment at a time (a retransmission may go beside one)
    assert burst_plain >= 10  # a whole initial window (RFC 6928: 10 segments) at once
