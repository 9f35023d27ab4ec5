"""Congestion control: a small pluggable interface and NewReno.

The connection detects loss (duplicate ACKs, partial ACKs, timeouts) and
tells the algorithm; the algorithm owns cwnd and ssthresh. RFC 5681 gives
slow start and congestion avoidance, RFC 6582 NewReno's fast recovery.
"""

from __future__ import annotations

from typing import ClassVar


class CongestionControl:
    """The interface every algorithm implements. Sizes are in bytes."""

    name: ClassVar[str] = "base"
    __slots__ = ("cwnd", "mss", "ssthresh")

    def __init__(self, mss: int, initial_window: int | None = None) -> None:
        self.mss = mss
        self.cwnd = (
            initial_window if initial_window is not None else self.rfc5681_initial_window(mss)
        )
        self.ssthresh = 1 << 30  # 3.1: arbitrarily high at first

    @staticmethod
    def rfc5681_initial_window(mss: int) -> int:
        """RFC 5681 3.1, equation 1."""
        if mss > 2190:
            return 2 * mss
        if mss > 1095:
            return 3 * mss
        return 4 * mss

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


class NewReno(CongestionControl):
    name = "newreno"
    __slots__ = ("_ca_acked",)

    def __init__(self, mss: int, initial_window: int | None = None) -> None:
        super().__init__(mss, initial_window)
        self._ca_acked = 0

    def _halve(self, flight_size: int) -> None:
        self.ssthresh = max(flight_size // 2, 2 * self.mss)  # RFC 5681 equation 4

    def on_ack(self, acked: int, flight_size: int, now: float) -> None:
        if self.cwnd < self.ssthresh:
            self.cwnd += min(acked, self.mss)  # 3.1 slow start, equation 2
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


ALGORITHMS: dict[str, type[CongestionControl]] = {"newreno": NewReno}


def make_congestion_control(name: str, mss: int, initial_window: int | None) -> CongestionControl:
    try:
        cls = ALGORITHMS[name]
    except KeyError:
        raise ValueError(
            f"unknown congestion control {name!r}; choose from {sorted(ALGORITHMS)}"
        ) from None
    return cls(mss, initial_window)
