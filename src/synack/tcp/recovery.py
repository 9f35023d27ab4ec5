"""Loss detection and recovery for one connection's send side.

:class:`LossRecovery` owns everything that decides that data was lost and
what to send again: duplicate-ACK counting and fast retransmit (RFC 5681
3.2), NewReno's recovery (RFC 6582), the SACK scoreboard and RFC 6675's
pipe and NextSeg, Proportional Rate Reduction (RFC 6937), RACK's loss
marking by time with its reordering timer, and tail loss probes (RFC 8985),
plus the congestion controller it drives (``tcp/congestion.py``). Only these
two modules change cwnd or ssthresh.

The connection calls it at a few points and acts on what it returns:

- :meth:`~LossRecovery.on_ack`: an acceptable ACK arrived (RFC 9293
  3.10.7.4, fifth step), before SND.UNA moves;
- :meth:`~LossRecovery.on_segment_sent`: a segment left;
- :meth:`~LossRecovery.on_reorder_timeout` and
  :meth:`~LossRecovery.on_probe_timeout`: one of its timers is due
  (``reorder_deadline``, ``probe_deadline``);
- :meth:`~LossRecovery.on_retransmission_timeout`: the RTO fired.

Each returns a :class:`Resend` decision; :meth:`~LossRecovery.next_to_resend`
then names the segments to send again, one at a time, while the congestion
window allows. It never builds or emits a segment, and knows the connection
only through the sequence numbers passed in.
"""

from __future__ import annotations

import enum

from synack.tcp.config import TcpConfig
from synack.tcp.congestion import CongestionControl, make_congestion_control
from synack.tcp.rack import Rack, SentSegment
from synack.tcp.rto import RttEstimator
from synack.tcp.stats import ConnectionStats
from synack.wire import seq as sq

SackBlocks = tuple[tuple[int, int], ...]

# RFC 8985 7.2: WCDelAckT, how long a peer may hold the ACK of a lone segment.
WORST_CASE_DELAYED_ACK = 0.2


class Resend(enum.IntFlag):
    """What the connection should send again, in this order."""

    NOTHING = 0
    # go back to SND.UNA and send everything again (RFC 5681 3.1, RFC 6675 5.1)
    GO_BACK = enum.auto()
    # the segment at SND.UNA: a fast retransmit without SACK, or a partial ACK (RFC 6582 3.2)
    FIRST = enum.auto()
    # the first segment judged lost, whatever the pipe (RFC 6675 5 (4.2), RFC 8985 6.3)
    FIRST_LOST = enum.auto()
    # NextSeg while cwnd - pipe >= 1 SMSS (RFC 6675 5 (C)): see next_to_resend()
    LOST = enum.auto()


def has_dsack(blocks: SackBlocks, ack: int) -> bool:
    """RFC 2883 4: the first block reports a duplicate if it lies below the
    cumulative ACK or inside the second block."""
    if not blocks:
        return False
    left, right = blocks[0]
    if sq.le(right, ack):
        return True
    return len(blocks) > 1 and sq.le(blocks[1][0], left) and sq.le(right, blocks[1][1])


class Scoreboard:
    """The sequence ranges the peer has SACKed above SND.UNA (RFC 6675 4):
    ``(start, end)`` pairs, disjoint, in sequence order."""

    __slots__ = ("ranges",)

    def __init__(self) -> None:
        self.ranges: list[tuple[int, int]] = []

    def __bool__(self) -> bool:
        return bool(self.ranges)

    def clear(self) -> None:
        self.ranges = []

    def update(self, blocks: SackBlocks, ack: int, snd_max: int) -> None:
        """RFC 6675 4 Update(): merge an ACK's SACK blocks in and forget what
        its cumulative ACK covers. A block at or below the ACK (a D-SACK, RFC
        2883) or beyond what was sent says nothing about the scoreboard."""
        board = [(sq.max_seq(start, ack), end) for start, end in self.ranges if sq.gt(end, ack)]
        for left, right in blocks:
            if not (sq.lt(ack, right) and sq.le(right, snd_max)):
                continue
            start, end = sq.max_seq(left, ack), right
            rest = []
            for b_start, b_end in board:
                if sq.lt(b_end, start) or sq.gt(b_start, end):
                    rest.append((b_start, b_end))
                else:  # overlapping or adjacent: one range
                    start, end = sq.min_seq(b_start, start), sq.max_seq(b_end, end)
            rest.append((start, end))
            board = rest
        board.sort(key=lambda r: sq.sub(r[0], ack))
        self.ranges = board

    def sacked_above(self, seq: int) -> int:
        """Bytes SACKed above ``seq``."""
        return sum(
            sq.sub(end, sq.max_seq(start, seq)) for start, end in self.ranges if sq.gt(end, seq)
        )


class LossRecovery:
    """Loss detection, recovery and the congestion controller of one
    connection (see the module docstring)."""

    __slots__ = (
        "config", "stats", "rtt", "cc", "mss", "iss", "scoreboard", "rack", "sack_sender",
        "in_recovery", "sack_recovery", "rto_recovery", "recover", "dupacks", "delivered",
        "prr_delivered", "prr_out", "recover_fs", "ecn_recover", "reductions",
        "reorder_deadline", "probe_deadline", "probe_out", "probe_episode",
    )  # fmt: skip

    def __init__(
        self, config: TcpConfig, stats: ConnectionStats, rtt: RttEstimator, mss: int
    ) -> None:
        self.config = config
        self.stats = stats
        self.rtt = rtt  # the connection's estimator (RFC 6298), shared
        self.mss = mss  # SMSS: payload bytes per segment
        self.iss = 0
        # Until the handshake sets the MSS (on_handshake makes the real one),
        # only a SYN timeout touches this; it needs no HyStart++.
        self.cc: CongestionControl = make_congestion_control(
            config.congestion_control, mss, config.initial_window_for(mss)
        )
        self.scoreboard = Scoreboard()
        self.rack = Rack()  # what is in flight, per segment, when sack_sender
        self.sack_sender = False  # the peer SACKs and we recover by it
        self.in_recovery = False  # fast recovery, NewReno's or RFC 6675's
        self.sack_recovery = False  # the recovery in progress is RFC 6675's
        self.rto_recovery = False  # after an RTO, RACK resends only what it marked lost
        self.recover = 0  # RFC 6582 "recover": SND.MAX when recovery began
        self.dupacks = 0
        self.delivered = 0  # DeliveredData of the ACK being processed (RFC 6937)
        self.prr_delivered = self.prr_out = self.recover_fs = 0
        self.ecn_recover = 0  # ECE below this is from the same window: one reduction
        # window reductions so far; each asks for CWR on the next new data (RFC 3168 6.1.2)
        self.reductions = 0
        self.reorder_deadline: float | None = None  # RACK reordering timer (RFC 8985 6.2 step 5)
        self.probe_deadline: float | None = None  # tail loss probe timer (RFC 8985 7)
        self.probe_out = False  # a probe is out, for this flight
        # RFC 8985 7.4: the range a probe resent, until the ACKs tell whether
        # it repaired a loss (TLP.end_seq with TLP.is_retrans)
        self.probe_episode: tuple[int, int] | None = None

    # -- the connection's life ----------------------------------------------
    def start(self, iss: int) -> None:
        """The ISN is chosen: nothing before it counts as recovered or delivered."""
        self.iss = iss
        self.recover = self.ecn_recover = iss
        self.rack.fack = iss  # RFC 8985 6.2: no delivery yet, none reordered

    def on_handshake(self, mss: int, sack_ok: bool) -> None:
        """The SYN's options are known: the real SMSS, SACK, a fresh controller
        (a SYN's timeouts ask for no CWR: ECN was not agreed yet)."""
        cfg = self.config
        self.mss = mss
        self.reductions = 0
        self.sack_sender = sack_ok and cfg.sack_recovery
        self.cc = make_congestion_control(
            cfg.congestion_control, mss, cfg.initial_window_for(mss), cfg.hystart
        )

    def on_syn_rtt_sample(self, rtt: float) -> None:
        """The handshake's RTT measurement (the controller starts after it)."""
        self.rtt.sample(rtt)
        self.rack.on_rtt_sample(rtt)

    def cancel_timers(self) -> None:
        self.reorder_deadline = self.probe_deadline = None

    def cancel_probe(self) -> None:
        """No probe is due: nothing is in flight, or the RTO fired first."""
        self.probe_deadline = None

    # -- sending ------------------------------------------------------------
    def send_room(self, snd_una: int, snd_nxt: int) -> int:
        """How many more bytes congestion control lets out now: cwnd less what
        is in flight (the pipe, in SACK recovery and after a RACK timeout)."""
        cwnd = self.cc.cwnd
        if self.config.limited_transmit and not self.in_recovery and self.dupacks:
            # RFC 3042: each of the first two duplicate ACKs lets one new
            # segment out beyond cwnd, to keep the ACK clock going
            cwnd += min(self.dupacks, 2) * self.mss
        if self.sack_recovery or self.rto_recovery:
            return cwnd - self.pipe(snd_una, snd_nxt)
        return cwnd - sq.sub(snd_nxt, snd_una)

    def on_segment_sent(
        self, start: int, end: int, size: int, now: float, retransmission: bool, probe: bool
    ) -> None:
        """A segment left: ``size`` payload bytes over ``[start, end)`` (a FIN
        counts one). Only a SACK sender needs to be told."""
        if self.sack_recovery:
            self.prr_out += size  # RFC 6937: everything sent during recovery
        if self.sack_sender and not probe and end != start:
            self.rack.on_send(start, end, now, retransmission)

    def next_to_resend(self, snd_una: int, snd_nxt: int) -> SentSegment | None:
        """RFC 6675 5 (C) NextSeg: while cwnd - pipe >= 1 SMSS, the first
        segment judged lost and not yet resent."""
        if self.cc.cwnd - self.pipe(snd_una, snd_nxt) < self.mss:
            return None
        return self.rack.first_lost()

    def first_to_resend(self) -> SentSegment:
        """For :attr:`Resend.FIRST_LOST`: the first segment judged lost, or the
        first one out."""
        rack = self.rack
        return rack.first_lost() or rack.segments[0]

    def nothing_left_at(self, segment: SentSegment) -> None:
        """No data of ours is left in ``segment``'s range: stop counting it lost."""
        segment.lost = False

    def pipe(self, snd_una: int, snd_nxt: int) -> int:
        """RFC 6675 4 SetPipe, by ranges: what is in flight, not SACKed, and not
        judged lost without having been resent."""
        in_flight = sq.sub(snd_nxt, snd_una)
        pipe = in_flight - self.scoreboard.sacked_above(snd_una) - self.rack.lost_bytes()
        return max(pipe, 0)

    # -- ACKs ---------------------------------------------------------------
    def on_ack(
        self,
        ack: int,
        snd_una: int,
        snd_nxt: int,
        snd_max: int,
        blocks: SackBlocks,
        duplicate: bool,
        carries_data: bool,
        ecn_echo: bool,
        rtt_sample: float | None,
        now: float,
    ) -> Resend:
        """An acceptable ACK, before SND.UNA moves to ``ack``, with its SACK
        ``blocks``. ``duplicate``: it is a duplicate ACK as RFC 5681 2 defines
        one; ``carries_data``: it has text; ``ecn_echo``: ECE on an ECN
        connection; ``rtt_sample``: the round trip it measured, if any (RFC
        6298, RFC 7323 4). Positional, as it runs for every ACK."""
        if ecn_echo and not sq.lt(snd_una, self.ecn_recover):
            self._on_ecn_echo(sq.sub(snd_nxt, snd_una), snd_max)
        acked = sq.sub(ack, snd_una)  # at most SND.MAX - SND.UNA, far below 2**31
        advanced = acked > 0
        # DeliveredData (RFC 6937): newly acknowledged plus newly SACKed
        board = self.scoreboard
        if blocks or board.ranges:
            sacked = board.sacked_above(snd_una)
            board.update(blocks, ack, snd_max)
            self.delivered = acked + board.sacked_above(ack) - sacked
        else:
            self.delivered = acked if advanced else 0
        lost = self._track_delivery(blocks, ack, snd_una, snd_nxt, now) if self.rack.segments else 0
        resend = Resend.NOTHING
        if advanced:
            syn_acked = snd_una == self.iss  # this ACK covers our SYN, which is not data
            snd_una = ack
            if sq.lt(snd_nxt, ack):
                snd_nxt = ack
            if rtt_sample is not None:
                self._on_rtt_sample(rtt_sample)
            self.probe_out = False
            self.dupacks = 0
            if self.in_recovery:
                resend = self._on_ack_in_recovery(acked, ack, snd_nxt, snd_max)
            elif not ecn_echo:  # RFC 3168 6.1.2: an ECN-Echo ACK does not grow the window
                data_acked = acked - 1 if syn_acked else acked
                if data_acked:
                    self.cc.on_ack(data_acked, (snd_max - ack) & sq.MASK, now)  # RFC 5681 3.1
        elif ack == snd_una and duplicate:
            resend = self._on_duplicate_ack(blocks, snd_una, snd_nxt, snd_max, now)
        if self.rto_recovery:
            if sq.ge(ack, self.recover):
                self.rto_recovery = False  # all sent before the timeout is acknowledged
            else:
                resend |= Resend.LOST  # what RACK marks lost, as cwnd allows
        elif lost and not self.in_recovery:
            # RFC 6675 5 / RFC 8985 6.2: a loss is known
            resend |= self._enter_recovery(snd_una, snd_nxt, snd_max, now)
        if self.probe_episode is not None:
            self._probe_outcome(ack, blocks, advanced, carries_data, sq.sub(snd_nxt, snd_una))
        return resend

    def _on_ecn_echo(self, flight: int, snd_max: int) -> None:
        """RFC 3168 6.1.2: halve as for a loss, once per window of data."""
        self.cc.on_ecn_echo(flight)
        self.stats.ecn_reductions += 1
        self.ecn_recover = snd_max
        self.reductions += 1

    def _track_delivery(
        self, blocks: SackBlocks, ack: int, snd_una: int, snd_nxt: int, now: float
    ) -> int:
        """Bring the in-flight records up to this ACK (the scoreboard already is),
        then mark losses by RACK's time rule (RFC 8985 6.2), or with RACK off by
        RFC 6675's DupThresh rule. Returns how many segments were newly judged lost."""
        rack = self.rack
        delivered: list[SentSegment] = []
        if sq.lt(snd_una, ack):
            delivered = rack.on_cumulative_ack(ack)
        if self.scoreboard.ranges:
            delivered += rack.on_sack(self.scoreboard.ranges)
        if not self.config.rack:
            return self._mark_dupthresh_losses() if blocks and rack.segments else 0
        # With RACK, its reordering window of 0 once DupThresh segments are
        # SACKed stands in for the DupThresh rule (RFC 8985 6.2 step 4).
        if delivered:
            rack.on_delivered(delivered, now)
        if blocks or rack.dsack_round is not None:
            rack.on_dsack(ack, snd_nxt, has_dsack(blocks, ack))
        if not rack.segments:
            self.reorder_deadline = None
            return 0
        recovering = sq.lt(ack, self.recover)
        if self.scoreboard.ranges or recovering:
            return self._rack_detect_loss(now, recovering)
        self.reorder_deadline = None  # no SACK holes left: nothing sent earlier is waiting
        return 0

    def _mark_dupthresh_losses(self) -> int:
        """RFC 6675 4 IsLost: a segment never resent, with more than
        (DupThresh - 1) x SMSS bytes SACKed above it, is lost."""
        segments = self.rack.segments
        threshold = (self.config.dupack_threshold - 1) * self.mss
        # IsLost holds below the highest segment it holds for: find that one
        for top in range(len(segments) - 1, -1, -1):
            if self.scoreboard.sacked_above(segments[top].start) > threshold:
                break
        else:
            return 0
        marked = 0
        for seg in segments[: top + 1]:
            if not (seg.sacked or seg.lost or seg.retransmitted):
                seg.lost = True
                marked += 1
        return marked

    def _rack_detect_loss(self, now: float, recovering: bool) -> int:
        """RFC 8985 6.2 steps 4-5: mark by time, and arm the reordering timer
        for a segment that is not overdue yet."""
        rack = self.rack
        reo_wnd = rack.reo_wnd(recovering, self._srtt(), self.config.dupack_threshold)
        marked, wait = rack.detect_loss(now, reo_wnd)
        self.stats.rack_losses += marked
        self.reorder_deadline = None if wait is None else now + wait
        if self.reorder_deadline is not None:
            self.probe_deadline = None  # the reordering timer comes first
        return marked

    def _srtt(self) -> float:
        srtt = self.rtt.srtt
        return srtt if srtt is not None else self.rtt.rto

    def _on_ack_in_recovery(self, acked: int, ack: int, snd_nxt: int, snd_max: int) -> Resend:
        """SND.UNA advanced by ``acked`` to ``ack`` during fast recovery: end it
        on a full ACK, or go on with it (RFC 6582 3.2, RFC 6675 5)."""
        flight = sq.sub(snd_max, ack)
        if sq.ge(ack, self.recover):  # a full ACK: recovery is over
            self.in_recovery = self.sack_recovery = False
            self.cc.on_exit_recovery(flight)
            if self.sack_sender:
                self.rack.on_recovery_exit()
            return Resend.NOTHING
        if self.sack_recovery:
            self._prr_update(ack, snd_nxt)
            return Resend.LOST  # RFC 6675 5 (C) again, on a partial ACK
        self.cc.on_partial_ack(acked)
        return Resend.FIRST  # RFC 6582 3.2 step 5: the next hole is lost too

    def _on_rtt_sample(self, rtt: float) -> None:
        """RFC 6298 2: a new measurement; RACK and the algorithm hear it."""
        self.rtt.sample(rtt)
        self.rack.on_rtt_sample(rtt)
        srtt = self.rtt.srtt
        if srtt is not None:
            self.cc.on_rtt_sample(rtt, srtt)

    def _on_duplicate_ack(
        self, blocks: SackBlocks, snd_una: int, snd_nxt: int, snd_max: int, now: float
    ) -> Resend:
        """RFC 5681 3.2: count it; the DupThresh-th starts fast retransmit."""
        self.stats.duplicate_acks += 1
        self.dupacks += 1
        if self.in_recovery:
            if self.sack_recovery:
                self._prr_update(snd_una, snd_nxt)
                return Resend.LOST  # RFC 6675 5 (C): pipe, not inflation
            self.cc.on_recovery_dupack()
            return Resend.NOTHING
        if self.dupacks != self.config.dupack_threshold:
            return Resend.NOTHING
        if self.sack_sender and self.config.rack and blocks:
            return Resend.NOTHING  # RACK judges from the SACK blocks, reordering allowed for
        return self._enter_recovery(snd_una, snd_nxt, snd_max, now)

    def _enter_recovery(self, snd_una: int, snd_nxt: int, snd_max: int, now: float) -> Resend:
        """Fast retransmit and enter fast recovery: on DupThresh duplicate ACKs
        (RFC 5681 3.2), or when a loss is marked on the SACK records."""
        # RFC 6582 3.2 step 1: only if the ACK covers more than "recover"
        if not sq.gt(snd_una, self.recover):
            return Resend.NOTHING
        self.in_recovery = True
        self.recover = snd_max
        flight = sq.sub(snd_max, snd_una)
        self.cc.on_enter_recovery(flight, now)
        self.reductions += 1
        self.stats.fast_retransmits += 1
        self.probe_episode = None  # this recovery's reduction covers a probe's episode
        if not self.sack_sender or not self.rack.segments:
            return Resend.FIRST
        # RFC 6675 5 (4): cwnd = ssthresh, the pipe decides what goes;
        # with PRR (RFC 6937), cwnd follows what the ACKs deliver
        self.sack_recovery = True
        self.cc.cwnd = self.cc.ssthresh
        self.prr_delivered = self.prr_out = 0
        self.recover_fs = flight
        self._prr_update(snd_una, snd_nxt)
        # RFC 6675 5 (4.2): the first segment presumed lost goes at once
        return Resend.FIRST_LOST | Resend.LOST

    def _prr_update(self, snd_una: int, snd_nxt: int) -> None:
        """RFC 6937 3: set cwnd for this ACK so that recovery sends in proportion
        to what is delivered (down to ssthresh), then no faster than slow start
        (PRR-SSRB) once the pipe is below it."""
        if not self.config.prr:
            return
        ssthresh = self.cc.ssthresh
        self.prr_delivered += self.delivered
        pipe = self.pipe(snd_una, snd_nxt)
        if pipe > ssthresh:
            wanted = -(-self.prr_delivered * ssthresh // max(self.recover_fs, 1))  # ceil
            sndcnt = wanted - self.prr_out
        else:
            limit = max(self.prr_delivered - self.prr_out, self.delivered) + self.mss
            sndcnt = min(ssthresh - pipe, limit)
        self.cc.cwnd = pipe + max(sndcnt, 0)

    # -- timers -------------------------------------------------------------
    def on_reorder_timeout(self, now: float, snd_una: int, snd_nxt: int, snd_max: int) -> Resend:
        """RFC 8985 6.2 step 5: the reordering window has passed; mark again."""
        self.reorder_deadline = None
        if not self.rack.segments:
            return Resend.NOTHING
        self.delivered = 0  # a timer delivers nothing (RFC 6937 DeliveredData)
        if not self._rack_detect_loss(now, sq.lt(snd_una, self.recover)):
            return Resend.NOTHING
        if self.in_recovery:
            self._prr_update(snd_una, snd_nxt)
            return Resend.LOST
        if self.rto_recovery:
            return Resend.LOST
        return self._enter_recovery(snd_una, snd_nxt, snd_max, now)

    def on_retransmission_timeout(self, now: float, snd_una: int, snd_max: int) -> Resend:
        """The RTO fired (the connection has backed the timer off): reduce the
        window, leave fast recovery, and say what to resend."""
        self.stats.timeouts += 1
        self.cc.on_timeout(sq.sub(snd_max, snd_una))
        self.reductions += 1
        self.in_recovery = self.sack_recovery = False
        self.cancel_timers()
        self.probe_episode = None  # the timeout's reduction covers the probe's episode
        self.recover = snd_max  # RFC 6582 3.2 step 4 after a timeout
        self.dupacks = 0
        segments = self.rack.segments
        if self.config.rack and segments and not segments[0].sacked:
            # RFC 8985 6.3: resend the first segment, and what RACK finds overdue;
            # the SACK information stays (RFC 6675 5.1: Update() goes on)
            self.rto_recovery = True
            reo_wnd = self.rack.reo_wnd(True, self._srtt(), self.config.dupack_threshold)
            self.stats.rack_losses += self.rack.mark_losses_on_rto(now, reo_wnd)
            # RFC 6298 5.4: the earliest goes whatever the pipe
            return Resend.FIRST_LOST | Resend.LOST
        # Otherwise go back and resend everything from SND.UNA (RFC 5681 3.1;
        # RFC 6675 5.1). A SACKed first segment means the receiver reneged
        # (RFC 2018 8): its SACK information is dropped.
        self.rto_recovery = False
        self.scoreboard.clear()
        self.rack.on_timeout()
        return Resend.GO_BACK

    # -- tail loss probes (RFC 8985 7) -----------------------------------------
    def arm_probe(
        self, now: float, eligible: bool, flight: int, rto_deadline: float | None
    ) -> None:
        """RFC 8985 7.2: PTO = 2 x SRTT (plus the peer's delayed-ACK time if one
        segment is out), never later than the RTO; outside recovery, one per
        flight. ``eligible``: the connection can probe at all (SACK, data to send)."""
        srtt = self.rtt.srtt
        if (
            not eligible
            or not self.config.tail_loss_probe
            or self.in_recovery
            or self.rto_recovery
            or self.probe_out
            or self.probe_episode is not None  # RFC 8985 7.4: one probe episode at a time
            or self.reorder_deadline is not None  # the reordering timer comes first
            or srtt is None
        ):
            self.probe_deadline = None
            return
        pto = 2 * srtt
        if flight <= self.mss:
            pto += WORST_CASE_DELAYED_ACK
        deadline = now + pto
        if rto_deadline is not None and deadline >= rto_deadline:
            self.probe_deadline = None  # the RTO comes first: no probe
            return
        self.probe_deadline = deadline

    def on_probe_timeout(self, snd_una: int, snd_max: int) -> bool:
        """The probe timer fired: should a probe go (RFC 8985 7.3)?"""
        self.probe_deadline = None
        if snd_una == snd_max or self.in_recovery:
            return False
        self.probe_out = True
        self.stats.tail_loss_probes += 1
        return True

    def on_probe_resent(self, start: int, snd_max: int) -> None:
        """The probe resent data from ``start``: watch whether it repairs a loss."""
        self.probe_episode = (start, snd_max)

    def _probe_outcome(
        self, ack: int, blocks: SackBlocks, advanced: bool, carries_data: bool, flight: int
    ) -> None:
        """RFC 8985 7.4.2: once the ACKs pass a resent probe, tell whether it was
        needless (a D-SACK for it, or a pure duplicate ACK: the original arrived
        too) or repaired a loss, which calls for one congestion response."""
        assert self.probe_episode is not None
        start, end = self.probe_episode
        if sq.lt(ack, end):
            return
        if has_dsack(blocks, ack) and sq.le(start, blocks[0][0]) and sq.le(blocks[0][1], end):
            self.probe_episode = None
        elif sq.gt(ack, end):
            self.probe_episode = None
            self.stats.tlp_repairs += 1
            self.cc.on_repaired_loss(flight)
        elif not advanced and not blocks and not carries_data:
            self.probe_episode = None
