"""The retransmission timer's estimator (RFC 6298)."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=64)
def _bounds(minimum: float, maximum: float, granularity: float) -> tuple[float, float, float]:
    """One tuple per configuration, shared by its connections' estimators."""
    return minimum, maximum, granularity


class RttEstimator:
    """SRTT, RTTVAR and RTO per RFC 6298 section 2, with exponential backoff (5.5)."""

    __slots__ = ("_backed_off", "_bounds", "rto", "rttvar", "srtt")

    def __init__(self, initial: float, minimum: float, maximum: float, granularity: float) -> None:
        self.srtt: float | None = None
        self.rttvar = 0.0
        self.rto = initial  # 2.1: before any measurement
        self._bounds = _bounds(minimum, maximum, granularity)  # RTO min, max; clock G
        # the RTO before each back-off since the last sample; a tuple, so that
        # the many connections that never back off share the empty one
        self._backed_off: tuple[float, ...] = ()

    def sample(self, rtt: float) -> None:
        """Take a round-trip sample (never from a retransmitted segment: Karn, 3)."""
        if rtt < 0:
            return
        if self.srtt is None:  # 2.2
            self.srtt = rtt
            self.rttvar = rtt / 2
        else:  # 2.3, alpha = 1/8, beta = 1/4
            self.rttvar = 0.75 * self.rttvar + 0.25 * abs(self.srtt - rtt)
            self.srtt = 0.875 * self.srtt + 0.125 * rtt
        minimum, maximum, granularity = self._bounds
        rto = self.srtt + max(granularity, 4 * self.rttvar)
        self.rto = min(max(rto, minimum), maximum)  # 2.4, 2.5
        self._backed_off = ()

    def back_off(self) -> None:
        """5.5: double the RTO after a retransmission timeout, up to the maximum."""
        self._backed_off += (self.rto,)
        self.rto = min(self.rto * 2, self._bounds[1])

    def revert_back_off(self) -> bool:
        """Undo the last back-off (RFC 6069's TCP-LD: an ICMP unreachable shows
        the loss was the path's, not congestion). False if there is none."""
        if not self._backed_off:
            return False
        self.rto = self._backed_off[-1]
        self._backed_off = self._backed_off[:-1]
        return True
