"""What one connection counts (segments, bytes, losses, drops) and its STATUS.

The connection and its loss recovery both write the counts; tools read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from synack.tcp.isn import Endpoint
from synack.tcp.state import State


class ConnectionStats:
    """One connection's counts. The four that move with every segment are
    slots; the others are class attributes, read as their default until
    first written, when the instance's own dict (made then) takes them: the
    counts of a connection that never loses, drops or hears an ICMP error
    cost 72 bytes, not 240 (issue 16's idle memory)."""

    __slots__ = ("segments_received", "segments_sent", "bytes_sent", "bytes_received", "__dict__")

    retransmitted_segments: int = 0
    fast_retransmits: int = 0
    timeouts: int = 0
    duplicate_acks: int = 0
    challenge_acks: int = 0
    # unacceptable bare segments not answered: within invalid_ack_interval of
    # the last one answered (an ACK storm's half)
    invalid_acks_unanswered: int = 0
    ecn_reductions: int = 0  # windows cut for an ECN echo (RFC 3168 6.1.2)
    tail_loss_probes: int = 0  # RFC 8985 7
    rack_losses: int = 0  # segments RACK judged lost (RFC 8985 6)
    tlp_repairs: int = 0  # tail loss probes that repaired a loss (RFC 8985 7.4)
    ooo_pruned_bytes: int = 0  # held out-of-order text dropped to stay within its limit
    # SACK blocks ignored as invalid: inverted, beyond SND.MAX, older than the
    # peer's largest window, or stale below SND.UNA (RFC 2018, RFC 2883)
    sack_blocks_invalid: int = 0
    # valid SACK blocks ignored because the scoreboard was at its bound
    sack_blocks_over_limit: int = 0
    # ICMP errors quoting our segments (tcp/icmp.py): all; ignored (source
    # quench, a state with nothing in flight, an MTU not lower); quoting a
    # sequence number outside SND.UNA..SND.MAX (RFC 5927 4.1); remembered as the
    # soft error; that aborted a connection attempt; path MTU lowered
    icmp_received: int = 0
    icmp_ignored: int = 0
    icmp_out_of_window: int = 0
    icmp_soft_errors: int = 0
    icmp_aborts: int = 0
    pmtu_changes: int = 0
    rto_reverts: int = 0  # RTO back-offs undone for an ICMP unreachable (RFC 6069)
    # RFC 7413: data on the SYN was acknowledged by the peer (client) or
    # accepted with the SYN (server): tcp_info's TCPI_OPT_SYN_DATA
    syn_data_acked: bool = False
    dropped: int = 0
    dropped_reasons: dict[str, int] | None = None

    def __init__(self) -> None:
        self.segments_received = self.segments_sent = 0
        self.bytes_sent = self.bytes_received = 0

    def as_dict(self) -> dict[str, Any]:
        """Every count by name, those never written included."""
        return {name: getattr(self, name) for name in _COUNT_NAMES}

    def __repr__(self) -> str:
        counts = {name: getattr(self, name) for name in self.__slots__[:4]} | vars(self)
        return f"ConnectionStats({', '.join(f'{k}={v!r}' for k, v in counts.items())})"

    def drop(self, reason: str) -> None:
        self.dropped += 1
        if self.dropped_reasons is None:
            self.dropped_reasons = {}
        self.dropped_reasons[reason] = self.dropped_reasons.get(reason, 0) + 1


_COUNT_NAMES = (*ConnectionStats.__slots__[:4], *ConnectionStats.__annotations__)


@dataclass(frozen=True, slots=True)
class ConnectionStatus:
    """STATUS (RFC 9293 3.10.6): a snapshot of the TCB."""

    state: State
    local: Endpoint
    remote: Endpoint | None
    snd_una: int
    snd_nxt: int
    snd_wnd: int
    rcv_nxt: int
    rcv_wnd: int
    send_queued: int
    receive_queued: int
    mss: int
    srtt: float | None
    rto: float
    cwnd: int
    ssthresh: int
    window_scaling: bool
    timestamps: bool
    sack: bool
