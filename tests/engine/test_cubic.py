"""CUBIC's window arithmetic (RFC 9438), on the congestion-control object alone."""

from __future__ import annotations

import pytest

from synack.tcp.congestion import Cubic, make_congestion_control

MSS = 1000


def _in_avoidance(cwnd_segments: int) -> Cubic:
    cc = Cubic(MSS, initial_window=cwnd_segments * MSS)
    cc.ssthresh = cc.cwnd  # past slow start
    cc.on_rtt_sample(0.1, 0.1)
    return cc


def test_selectable_by_name() -> None:
    assert isinstance(make_congestion_control("cubic", MSS, None), Cubic)


def test_reduction_is_beta_0_7_and_remembers_w_max() -> None:
    """RFC 9438 4.6: ssthresh = cwnd * beta_cubic; W_max = cwnd."""
    cc = _in_avoidance(100)
    cc.on_enter_recovery(100 * MSS, 0.0)
    assert cc.ssthresh == 70 * MSS
    assert cc.cwnd == 70 * MSS + 3 * MSS  # NewReno's inflation while recovering
    cc.on_exit_recovery(70 * MSS)
    assert cc.cwnd == 70 * MSS
    assert cc._w_max == 100 * MSS


def test_fast_convergence_lowers_w_max() -> None:
    """RFC 9438 4.7: a second loss below the last W_max releases bandwidth."""
    cc = _in_avoidance(100)
    cc.on_ecn_echo(100 * MSS)  # W_max = 100 segments, cwnd = 70
    cc.on_ecn_echo(70 * MSS)  # cwnd 70 < W_max: W_max = 70 * (1 + 0.7) / 2
    assert cc._w_max == pytest.approx(70 * MSS * 1.7 / 2)
    assert cc.cwnd == 49 * MSS


def test_window_returns_to_w_max_after_k_seconds() -> None:
    """RFC 9438 equation 2: K = cbrt(W_max * (1 - beta) / C); W_cubic(K) = W_max."""
    cc = _in_avoidance(100)
    cc.on_ecn_echo(100 * MSS)
    cc.on_ack(MSS, 70 * MSS, now=10.0)  # the epoch starts here
    k = (100 * 0.3 / 0.4) ** (1 / 3)
    assert cc._k == pytest.approx(k)
    t = 10.0
    while t < 10.0 + k:
        t += 0.01
        cc.on_ack(MSS, cc.cwnd, now=t)
    # concave growth up to the plateau around W_max, not beyond its 1.5x bound
    assert 95 * MSS <= cc.cwnd <= 105 * MSS


def test_growth_is_concave_then_convex() -> None:
    cc = _in_avoidance(100)
    cc.on_ecn_echo(100 * MSS)
    windows = []
    t = 0.0
    for _ in range(1200):  # 12 s of ACKs every 10 ms
        t += 0.01
        cc.on_ack(MSS, cc.cwnd, now=t)
        windows.append(cc.cwnd)
    k_index = int(((100 * 0.3 / 0.4) ** (1 / 3)) / 0.01)
    early = windows[50] - windows[0]
    near_plateau = windows[k_index] - windows[k_index - 50]
    late = windows[-1] - windows[-51]
    assert early > near_plateau  # concave: fast, then slowing near W_max
    assert late > near_plateau  # convex: probing beyond it speeds up again


def test_timeout_falls_back_to_one_segment() -> None:
    cc = _in_avoidance(40)
    cc.on_timeout(40 * MSS)
    assert cc.cwnd == MSS
    assert cc.ssthresh == 28 * MSS


# ----------------------------------------------------------------------
# HyStart++ (RFC 9406), in slow start of either algorithm
# ----------------------------------------------------------------------
def _slow_start(hystart: bool, rtts: list[float]) -> Cubic:
    """Slow start with one ACK of one MSS every 10 ms, RTT samples as given per round."""
    cc = Cubic(MSS, initial_window=10 * MSS, hystart=hystart)
    now = 0.0
    for rtt in rtts:  # one round per entry, 10 ACKs each
        for _ in range(10):
            cc.on_rtt_sample(rtt, rtt)
            cc.on_ack(MSS, cc.cwnd, now)
            now += rtt / 10
    return cc


def test_hystart_leaves_slow_start_when_the_rtt_climbs() -> None:
    """RFC 9406 4.2: an RTT rise of at least max(4 ms, min RTT / 8) moves to CSS,
    and after CSS_ROUNDS rounds of CSS, ssthresh = cwnd."""
    rtts = [0.050] * 3 + [0.060] * 8
    with_hystart = _slow_start(True, rtts)
    without = _slow_start(False, rtts)
    assert with_hystart.ssthresh < 1 << 30  # slow start is over: ssthresh was set...
    assert with_hystart.ssthresh <= with_hystart.cwnd < 1.1 * with_hystart.ssthresh  # ...to cwnd
    assert without.ssthresh == 1 << 30  # still in slow start
    assert with_hystart.cwnd < without.cwnd


def test_hystart_ignores_a_steady_rtt() -> None:
    cc = _slow_start(True, [0.050] * 10)
    assert cc.ssthresh == 1 << 30
    assert cc.cwnd == 10 * MSS + 100 * MSS  # plain slow start: one MSS per MSS acked


def test_hystart_css_returns_to_slow_start_when_the_rtt_falls_back() -> None:
    """RFC 9406 4.3: a false alarm (the RTT drops below the CSS baseline)."""
    cc = _slow_start(True, [0.050] * 3 + [0.060, 0.040] + [0.040] * 8)
    assert cc.ssthresh == 1 << 30
