"""Congestion control: a small pluggable interface, NewReno and CUBIC.

The connection detects loss (duplicate ACKs, partial ACKs, timeouts) and
tells the algorithm; the algorithm owns cwnd and ssthresh. RFC 5681 gives
slow start and congestion avoidance, RFC 6582 NewReno's fast recovery.
"""

from __future__ import annotations

from typing import ClassVar, Final

from synack.tcp.config import shared_int


class HyStart:
    """HyStart++ (RFC 9406): leave slow start when the RTT starts to climb,
    before the queue overflows. Rounds here last one SRTT (the RFC ends a round
    when the ACKs pass the data sent at its start; with a steady ACK clock the
    two agree)."""

    MIN_RTT_THRESH: Final = 0.004  # seconds, RFC 9406 4.3
    MAX_RTT_THRESH: Final = 0.016
    MIN_RTT_DIVISOR: Final = 8
    N_RTT_SAMPLE: Final = 8
    CSS_GROWTH_DIVISOR: Final = 4
    CSS_ROUNDS: Final = 5
    __slots__ = (
        "_baseline", "_css_rounds", "_current_min", "_last_min", "_round_end", "_samples",
        "_srtt", "done",
    )  # fmt: skip

    def __init__(self) -> None:
        self._round_end: float | None = None
        self._last_min = self._current_min = float("inf")
        self._samples = 0
        self._baseline: float | None = None  # set: in Conservative Slow Start (CSS)
        self._css_rounds = 0
        self._srtt = 0.1
        self.done = False  # CSS ran its rounds: slow start is over

    def on_rtt(self, rtt: float, srtt: float) -> None:
        self._current_min = min(self._current_min, rtt)
        self._samples += 1
        self._srtt = srtt

    def growth(self, acked: int, mss: int, now: float, limit: int | None = 1) -> int:
        """Bytes to add to cwnd for ``acked`` bytes acknowledged in slow start
        (at most ``limit`` SMSS; None: all of them)."""
        if self._round_end is None or now >= self._round_end:
            self._new_round(now)
        increase = acked if limit is None else min(acked, limit * mss)  # RFC 5681 3.1
        if self._baseline is None:
            if (
                self._samples >= self.N_RTT_SAMPLE
                and self._last_min != float("inf")
                and self._current_min != float("inf")
            ):
                threshold = min(
                    max(self._last_min / self.MIN_RTT_DIVISOR, self.MIN_RTT_THRESH),
                    self.MAX_RTT_THRESH,
                )
                if self._current_min >= self._last_min + threshold:  # RFC 9406 4.2
                    self._baseline = self._current_min
                    self._css_rounds = 0
            return increase
        return increase // self.CSS_GROWTH_DIVISOR  # CSS: a quarter of the growth

    def _new_round(self, now: float) -> None:
        if self._baseline is not None:
            self._css_rounds += 1
            if self._current_min < self._baseline:
                self._baseline = None  # the RTT fell back: a false alarm, slow start again
            elif self._css_rounds >= self.CSS_ROUNDS:
                self.done = True
        self._last_min = self._current_min
        self._current_min = float("inf")
        self._samples = 0
        self._round_end = now + self._srtt


class CongestionControl:
    """The interface every algorithm implements. Sizes are in bytes."""

    name: ClassVar[str] = "base"
    __slots__ = ("_hystart", "ack_limit", "cwnd", "mss", "ssthresh")

    def __init__(self, mss: int, initial_window: int | None = None, hystart: bool = False) -> None:
        self.mss = mss
        self.ack_limit: int | None = 1  # slow start: SMSS per ACK at most (None: no limit)
        self.cwnd = shared_int(
            initial_window if initial_window is not None else self.rfc5681_initial_window(mss)
        )
        self.ssthresh = 1 << 30  # 3.1: arbitrarily high at first
        # HyStart++: True while on but not needed yet (an idle connection never
        # needs it: it is made on first use); False once off or over
        self._hystart: HyStart | bool = hystart

    def _hystart_now(self) -> HyStart | None:
        hystart = self._hystart
        if hystart is True:
            hystart = self._hystart = HyStart()
        return hystart or None

    def _slow_start(self, acked: int, now: float) -> None:
        """RFC 5681 3.1's slow start, through HyStart++ when it is on."""
        hystart = self._hystart_now()
        if hystart is None:
            limit = self.ack_limit
            self.cwnd += acked if limit is None else min(acked, limit * self.mss)
            return
        self.cwnd += hystart.growth(acked, self.mss, now, self.ack_limit)
        if hystart.done:  # RFC 9406 4.2: CSS is over, congestion avoidance from here
            self.ssthresh = self.cwnd
            self._hystart = False

    @staticmethod
    def rfc5681_initial_window(mss: int) -> int:
        """RFC 5681 3.1, equation 1."""
        if mss > 2190:
            return 2 * mss
        if mss > 1095:
            return 3 * mss
        return 4 * mss

    def restart_after_idle(self, idle: float, rto: float, restart_window: int) -> None:
        """RFC 5681 4.1 with RFC 2861's decay: ssthresh keeps three quarters of
        cwnd, cwnd halves per RTO of idleness, never below the restart window."""
        restart = min(restart_window, self.cwnd)
        cwnd = self.cwnd
        self.ssthresh = max(self.ssthresh, cwnd // 2 + cwnd // 4)
        idle -= rto
        while idle > 0 and cwnd > restart:
            cwnd //= 2
            idle -= rto
        self.cwnd = max(cwnd, restart)

    def on_ack(self, acked: int, flight_size: int, now: float) -> None:
        """New data was cumulatively acknowledged outside fast recovery."""

    def on_enter_recovery(self, flight_size: int, now: float) -> None:
        """Three duplicate ACKs: fast retransmit is starting."""

    def on_recovery_dupack(self) -> None:
        """Another duplicate ACK during fast recovery."""

    def on_partial_ack(self, acked: int) -> None:
        """A partial ACK during fast recovery."""

    def on_exit_recovery(self, flight_size: int) -> None:
        """A full ACK ended fast recovery."""

    def on_timeout(self, flight_size: int) -> None:
        """The retransmission timer expired."""

    def on_ecn_echo(self, flight_size: int) -> None:
        """An ACK echoed a congestion mark (RFC 3168 6.1.2): no loss, no retransmission."""

    def on_repaired_loss(self, flight_size: int) -> None:
        """A tail loss probe turned out to repair a loss (RFC 8985 7.4.2): reduce
        once, as fast recovery would have, with no recovery to follow."""
        self.on_ecn_echo(flight_size)

    def on_rtt_sample(self, rtt: float, srtt: float) -> None:
        """A new RTT measurement and the smoothed RTT after it."""
        hystart = self._hystart_now()
        if hystart is not None:
            hystart.on_rtt(rtt, srtt)


class NewReno(CongestionControl):
    name = "newreno"
    __slots__ = ("_ca_acked",)

    def __init__(self, mss: int, initial_window: int | None = None, hystart: bool = False) -> None:
        super().__init__(mss, initial_window, hystart)
        self._ca_acked = 0

    def _halve(self, flight_size: int) -> None:
        self.ssthresh = max(flight_size // 2, 2 * self.mss)  # RFC 5681 equation 4

    def on_ack(self, acked: int, flight_size: int, now: float) -> None:
        if self.cwnd < self.ssthresh:
            self._slow_start(acked, now)  # 3.1 slow start, equation 2
        else:
            # 3.1 congestion avoidance: about one MSS per RTT, counted in bytes acked
            self._ca_acked += acked
            if self._ca_acked >= self.cwnd:
                self._ca_acked -= self.cwnd
                self.cwnd += self.mss

    def on_enter_recovery(self, flight_size: int, now: float) -> None:
        self._halve(flight_size)  # RFC 6582 3.2 step 2
        self.cwnd = self.ssthresh + 3 * self.mss

    def on_recovery_dupack(self) -> None:
        self.cwnd += self.mss  # RFC 6582 3.2 step 3

    def on_partial_ack(self, acked: int) -> None:
        # RFC 6582 3.2 step 5: deflate by the amount acked, add back one MSS
        self.cwnd = max(self.cwnd - acked + (self.mss if acked >= self.mss else 0), self.mss)

    def on_exit_recovery(self, flight_size: int) -> None:
        # RFC 6582 3.2 step 6, option 1
        self.cwnd = min(self.ssthresh, max(flight_size, self.mss) + self.mss)
        self._ca_acked = 0

    def on_timeout(self, flight_size: int) -> None:
        self._halve(flight_size)  # RFC 5681 equation 4
        self.cwnd = self.mss  # loss window
        self._ca_acked = 0

    def on_ecn_echo(self, flight_size: int) -> None:
        # RFC 3168 6.1.2: "halve the congestion window", as fast recovery would
        self._halve(flight_size)
        self.cwnd = self.ssthresh
        self._ca_acked = 0


class Cubic(NewReno):
    """CUBIC (RFC 9438): after a congestion event the window follows a cubic
    function of the time since, plateauing around the window where the loss
    happened (W_max), with a Reno-friendly floor. Loss detection and the
    recovery around it stay with the connection (RFC 6582); slow start is
    RFC 5681's."""

    name = "cubic"
    C: Final = 0.4  # RFC 9438 4.1
    BETA: Final = 0.7  # RFC 9438 4.6: multiplicative decrease
    ALPHA: Final = 3 * (1 - BETA) / (1 + BETA)  # RFC 9438 4.3: Reno-friendly additive increase
    __slots__ = ("_epoch", "_k", "_pending", "_srtt", "_w_est", "_w_max")

    def __init__(self, mss: int, initial_window: int | None = None, hystart: bool = False) -> None:
        super().__init__(mss, initial_window, hystart)
        self._w_max = 0.0  # bytes: the window before the last reduction
        self._k = 0.0  # seconds from the epoch to reach W_max again
        self._epoch: float | None = None  # start of this congestion-avoidance stage
        self._w_est = 0.0  # bytes: what Reno would have by now (RFC 9438 4.3)
        self._srtt = 0.1  # seconds; until the first sample
        self._pending = 0.0  # growth below one byte, carried over

    def on_rtt_sample(self, rtt: float, srtt: float) -> None:
        super().on_rtt_sample(rtt, srtt)
        self._srtt = srtt

    def _w_cubic(self, t: float) -> float:
        """RFC 9438 equation 1, in bytes."""
        return self.C * (t - self._k) ** 3 * self.mss + self._w_max

    def on_ack(self, acked: int, flight_size: int, now: float) -> None:
        if self.cwnd < self.ssthresh:
            self._slow_start(acked, now)  # RFC 5681 3.1, with HyStart++ if on
            return
        mss = self.mss
        if self._epoch is None:
            self._epoch = now
            if self.cwnd < self._w_max:  # RFC 9438 equation 2
                self._k = ((self._w_max - self.cwnd) / mss / self.C) ** (1 / 3)
            else:
                self._k = 0.0
                self._w_max = float(self.cwnd)
            self._w_est = float(self.cwnd)
        t = now - self._epoch
        # RFC 9438 4.3: the Reno-friendly estimate grows by ALPHA segments per window
        self._w_est += self.ALPHA * mss * acked / self.cwnd
        if self._w_cubic(t) < self._w_est:
            target = self._w_est  # the Reno-friendly region
            growth = target - self.cwnd
        else:
            # RFC 9438 4.4: toward W_cubic one RTT ahead, at most 1.5 x cwnd
            target = min(max(self._w_cubic(t + self._srtt), self.cwnd), 1.5 * self.cwnd)
            growth = (target - self.cwnd) * acked / self.cwnd
        self._pending += max(growth, 0.0)
        whole = int(self._pending)
        if whole:
            self.cwnd += whole
            self._pending -= whole

    def _reduce(self) -> None:
        """RFC 9438 4.6 and 4.7 (fast convergence): remember W_max, cut by BETA."""
        cwnd = float(self.cwnd)
        self._w_max = cwnd * (1 + self.BETA) / 2 if cwnd < self._w_max else cwnd
        self.ssthresh = max(int(cwnd * self.BETA), 2 * self.mss)
        self._epoch = None
        self._pending = 0.0

    def on_enter_recovery(self, flight_size: int, now: float) -> None:
        self._reduce()
        self.cwnd = self.ssthresh + 3 * self.mss  # RFC 6582 3.2 step 2's inflation

    def on_exit_recovery(self, flight_size: int) -> None:
        self.cwnd = self.ssthresh  # RFC 9438 4.6: cwnd = ssthresh after recovery

    def on_timeout(self, flight_size: int) -> None:
        self._reduce()  # RFC 9438 4.8
        self.cwnd = self.mss  # RFC 5681's loss window

    def on_ecn_echo(self, flight_size: int) -> None:
        self._reduce()  # RFC 9438 4.6 applies to ECN too
        self.cwnd = self.ssthresh


ALGORITHMS: dict[str, type[CongestionControl]] = {"newreno": NewReno, "cubic": Cubic}


def make_congestion_control(
    name: str,
    mss: int,
    initial_window: int | None,
    hystart: bool = False,
    ack_limit: int | None = 1,
) -> CongestionControl:
    try:
        cls = ALGORITHMS[name]
    except KeyError:
        raise ValueError(
            f"unknown congestion control {name!r}; choose from {sorted(ALGORITHMS)}"
        ) from None
    cc = cls(mss, initial_window, hystart)
    cc.ack_limit = ack_limit
    return cc
