"""Many connections at once: the summary, determinism, faults and traces."""

from __future__ import annotations

import dataclasses

import pytest

from synack.sim.faults import parse_fault
from synack.sim.network import LinkConfig
from synack.sim.scale import TIME_WAIT_EXPIRED, Percentiles, ScaleResult, simulate
from synack.trace.records import TraceRecorder


def same_run(a: ScaleResult, b: ScaleResult) -> bool:
    return dataclasses.replace(a, wall_seconds=0.0) == dataclasses.replace(b, wall_seconds=0.0)


def test_one_clean_connection() -> None:
    r = simulate(1, bytes_up=5000, bytes_down=7000, msl=1.0)
    assert r.ok and r.all_closed and r.settled
    assert r.handshake_ms == Percentiles(1, 20.0, 20.0, 20.0, 20.0)  # one RTT on 10 ms links
    assert (r.up_sent, r.up_received, r.down_sent, r.down_received) == (5000, 5000, 7000, 7000)
    assert r.client_states == {TIME_WAIT_EXPIRED: 1} and r.server_states == {"CLOSED": 1}
    assert r.retransmitted_segments == r.timeouts == 0 and r.packets_lost == 0
    assert r.packets == r.packets_delivered
    assert r.virtual_seconds == pytest.approx(r.last_close + 2.0 - 0.010)  # TIME-WAIT 2 x MSL


def test_two_hundred_connections_with_loss() -> None:
    loss = LinkConfig(loss=0.02)
    r = simulate(200, c2s=loss, s2c=loss, seed=5, msl=30.0)  # see the corruption test
    assert r.ok, r.to_dict()
    assert r.completed == 200 and r.failed == 0 and r.bytes_match and r.mismatched == 0
    assert r.up_received == r.down_received == 200 * 10_000
    assert set(r.client_states) <= {TIME_WAIT_EXPIRED, "CLOSED"}
    assert r.server_states == {"CLOSED": 200}
    assert r.time_wait_left == r.open_left == 0
    assert r.packets_lost > 0 and r.retransmitted_segments > 0
    hs = r.handshake_ms
    assert hs is not None and hs.count == 200 and hs.p50 <= hs.p90 <= hs.p99 <= hs.max
    assert hs.p50 == pytest.approx(20.0)
    assert r.clients == 10 and r.servers == 1


def test_same_seed_same_result() -> None:
    cfg = LinkConfig(loss=0.03, jitter=0.005, duplicate=0.02, reorder=0.02)
    a = simulate(60, c2s=cfg, s2c=cfg, seed=11, ramp=0.2, msl=1.0)
    b = simulate(60, c2s=cfg, s2c=cfg, seed=11, ramp=0.2, msl=1.0)
    assert same_run(a, b)
    c = simulate(60, c2s=cfg, s2c=cfg, seed=12, ramp=0.2, msl=1.0)
    assert not same_run(a, c)


def test_corruption_is_counted_and_survived() -> None:
    cfg = LinkConfig(corrupt=0.05)
    # TIME-WAIT must outlast the peer's backed-off FIN retransmissions, or a
    # late FIN meets a RST (correct TCP, but a failed run): a long MSL costs no wall time.
    r = simulate(40, c2s=cfg, s2c=cfg, seed=3, msl=30.0)
    assert r.ok, r.to_dict()
    assert r.malformed.get("checksum", 0) > 0


def test_bandwidth_queue_and_several_servers() -> None:
    slow = LinkConfig(bandwidth=2_000_000.0, queue_limit=8)
    r = simulate(30, clients=3, servers=2, s2c=slow, bytes_down=40_000, seed=2, msl=1.0)
    assert r.ok and r.servers == 2 and r.clients == 3
    assert r.down_received == 30 * 40_000


def test_fault_specs_apply_over_all_connections() -> None:
    r = simulate(5, faults=[parse_fault("drop", "s2c:S.:1")], msl=1.0)
    assert r.ok and r.faults == ["drop s2c S. #1"]
    assert r.handshake_ms is not None and r.handshake_ms.max == pytest.approx(1020.0)
    assert r.handshake_ms.p50 == pytest.approx(20.0)


def test_a_connection_that_cannot_finish_is_reported() -> None:
    dead = LinkConfig(loss=1.0)
    r = simulate(2, c2s=dead, msl=1.0, timeout=30.0)
    assert not r.ok and not r.settled
    assert r.handshakes == 0 and r.handshake_ms is None
    assert r.server_states == {"never accepted": 2}


def test_progress_and_trace() -> None:
    seen: list[tuple[int, int]] = []
    simulate(20, progress=lambda done, total: seen.append((done, total)), msl=1.0)
    assert seen[0] == (0, 20) and seen[-1] == (20, 20)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    recorder = TraceRecorder()
    r = simulate(1, recorder=recorder, msl=1.0)
    kinds = {rec.kind for rec in recorder.records}
    assert {"segment", "state", "packet"} <= kinds
    assert {getattr(rec, "endpoint", "client") for rec in recorder.records} <= {"client", "server"}
    assert r.ok
    with pytest.raises(ValueError, match="one connection"):
        simulate(2, recorder=TraceRecorder())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"connections": 0}, "at least one"),
        ({"bytes_up": -1}, "negative"),
        ({"servers": 0}, "servers"),
        ({"clients": 0}, "clients"),
    ],
)
def test_bad_arguments(kwargs: dict[str, int], message: str) -> None:
    args = {"connections": 1, **kwargs}
    with pytest.raises(ValueError, match=message):
        simulate(**args)  # type: ignore[arg-type]
