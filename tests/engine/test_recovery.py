"""Loss recovery on its own (tcp/recovery.py): ACKs, sends and timers are fed
straight into :class:`LossRecovery`, and its decisions are checked, with no
Connection around it.

MSS is 1000 bytes and the controller NewReno without HyStart++, so every cwnd
and ssthresh below is exact arithmetic. Times are binary fractions (RTT 1/8 s)
so that "sent + RACK.rtt + reo_wnd - now" comes out exact. Segment n starts at
sequence number (n + 1) x 1000.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from synack.tcp.config import TcpConfig
from synack.tcp.recovery import (
    WORST_CASE_DELAYED_ACK,
    LossRecovery,
    Resend,
    Scoreboard,
    has_dsack,
)
from synack.tcp.rto import RttEstimator
from synack.tcp.stats import ConnectionStats
from synack.wire import seq as sq

MSS = 1000
ISS = MSS - 1
RTT = 0.125  # the handshake's sample: SRTT = min RTT = 1/8 s, RTO = rto_min = 1 s
T0 = RTT  # when the first flight leaves
BASE = {
    "mss": MSS,
    "congestion_control": "newreno",
    "hystart": False,
    "initial_window": 10 * MSS,
}


def at(n: int) -> int:
    """The sequence number segment ``n`` starts at."""
    return sq.add(ISS, 1 + n * MSS)


def number(seq: int) -> int:
    return sq.sub(seq, at(0)) // MSS


@dataclass
class Sender:
    """The connection's side of the calls: SND.UNA, SND.NXT and SND.MAX, moved
    as Connection moves them around what recovery decides."""

    rec: LossRecovery
    una: int = at(0)
    nxt: int = at(0)
    max: int = at(0)

    def send(self, count: int, now: float) -> None:
        """``count`` new full-sized segments from SND.NXT."""
        for _ in range(count):
            end = sq.add(self.nxt, MSS)
            self.rec.on_segment_sent(self.nxt, end, MSS, now, False, False)
            self.nxt = end
            self.max = sq.max_seq(self.max, end)

    def resend(self, n: int, now: float) -> None:
        self.rec.on_segment_sent(at(n), at(n + 1), MSS, now, True, False)

    def ack(
        self,
        n: int,
        *blocks: tuple[int, int],
        now: float,
        duplicate: bool | None = None,
        ecn: bool = False,
        rtt: float | None = None,
        data: bool = False,
    ) -> Resend:
        """An ACK of segments below ``n``, SACKing ``[first, end)`` segment ranges."""
        ack = at(n)
        if duplicate is None:  # RFC 5681 2, as Connection._is_duplicate_ack
            duplicate = ack == self.una and self.una != self.max and not data
        sack = tuple((at(first), at(end)) for first, end in blocks)
        resend = self.rec.on_ack(
            ack, self.una, self.nxt, self.max, sack,
            duplicate=duplicate, carries_data=data, ecn_echo=ecn, rtt_sample=rtt, now=now,
        )  # fmt: skip
        if sq.lt(self.una, ack):
            self.una, self.nxt = ack, sq.max_seq(self.nxt, ack)
        return resend

    def carry_out(self, resend: Resend, now: float) -> list[int]:
        """What Connection._resend_as sends for ``resend``: segment numbers, in order."""
        rec, sent = self.rec, []
        if resend & Resend.GO_BACK:
            self.nxt = self.una
        if resend & Resend.FIRST:
            sent.append(number(self.una))
            self.resend(sent[-1], now)
        if resend & Resend.FIRST_LOST:
            sent.append(number(rec.first_to_resend().start))
            self.resend(sent[-1], now)
        if resend & Resend.LOST:
            while (lost := rec.next_to_resend(self.una, self.nxt)) is not None:
                sent.append(number(lost.start))
                self.resend(sent[-1], now)
        return sent

    def pipe(self) -> int:
        return self.rec.pipe(self.una, self.nxt)

    def send_room(self) -> int:
        return self.rec.send_room(self.una, self.nxt)


def recovery(
    *, sack: bool = True, rtt: float | None = RTT, iss: int = ISS, **knobs: object
) -> LossRecovery:
    """A recovery object after the handshake, as Connection builds it."""
    config = TcpConfig(**{**BASE, **knobs})  # type: ignore[arg-type]
    estimator = RttEstimator(
        config.rto_initial, config.rto_min, config.rto_max, config.clock_granularity
    )
    rec = LossRecovery(config, ConnectionStats(), estimator, 536)
    rec.start(iss)
    rec.on_handshake(MSS, sack_ok=sack)
    if rtt is not None:
        rec.on_syn_rtt_sample(rtt)
    return rec


def sending(segments: int, *, now: float = T0, **options: object) -> Sender:
    """``segments`` full-sized segments sent at ``now`` (cwnd: 10 segments)."""
    s = Sender(recovery(**options))  # type: ignore[arg-type]
    s.send(segments, now)
    return s


def lost(rec: LossRecovery) -> list[int]:
    return [number(seg.start) for seg in rec.records if seg.lost]


def sacked(rec: LossRecovery) -> list[tuple[int, int]]:
    """The scoreboard's ranges; none is kept while nothing is SACKed."""
    board = rec.scoreboard
    assert board is None or board.count, "an empty scoreboard is dropped"
    return board.ranges if board is not None else []


# -- the scoreboard (RFC 6675 4) and D-SACK (RFC 2883 4) ---------------------
def test_scoreboard_merges_overlapping_and_adjacent_blocks_in_sequence_order() -> None:
    board = Scoreboard()
    board.update(((700, 800), (100, 200), (150, 300)), ack=50, snd_max=1000)
    assert board.ranges == [(100, 300), (700, 800)]
    board.update(((300, 400),), ack=50, snd_max=1000)  # adjacent: one range
    assert board.ranges == [(100, 400), (700, 800)]
    board.update(((450, 500), (400, 450)), ack=50, snd_max=1000)  # a gap filled
    assert board.ranges == [(100, 500), (700, 800)]
    board.update(((500, 700),), ack=50, snd_max=1000)  # joins two ranges
    assert board.ranges == [(100, 800)]


def test_scoreboard_merges_across_the_sequence_wrap() -> None:
    board = Scoreboard()
    top = (1 << 32) - 100
    board.update(((50, 150), (top + 50, 50)), ack=top, snd_max=1000)
    assert board.ranges == [(top + 50, 150)]
    assert board.sacked_above(top) == 200


def test_scoreboard_clips_at_the_cumulative_ack() -> None:
    board = Scoreboard()
    board.update(((100, 300), (500, 600)), ack=50, snd_max=1000)
    board.update((), ack=150, snd_max=1000)
    assert board.ranges == [(150, 300), (500, 600)]
    board.update(((250, 400),), ack=350, snd_max=1000)  # the new block is clipped too
    assert board.ranges == [(350, 400), (500, 600)]
    board.update((), ack=600, snd_max=1000)
    assert board.ranges == []
    assert not board


def test_scoreboard_ignores_dsack_blocks_and_blocks_beyond_snd_max() -> None:
    board = Scoreboard()
    board.update(((100, 200), (50, 150), (900, 1100)), ack=200, snd_max=1000)
    assert board.ranges == []  # at or below the ACK (D-SACK); past SND.MAX
    board.update(((800, 1000),), ack=200, snd_max=1000)  # up to SND.MAX is fine
    assert board.ranges == [(800, 1000)]


def test_sacked_above_counts_only_the_bytes_above() -> None:
    board = Scoreboard()
    board.update(((100, 200), (300, 400)), ack=0, snd_max=1000)
    assert board.sacked_above(0) == 200
    assert board.sacked_above(150) == 50 + 100
    assert board.sacked_above(300) == 100
    assert board.sacked_above(400) == 0


@pytest.mark.parametrize(
    ("blocks", "expected"),
    [
        pytest.param(((100, 200),), True, id="below-the-ack"),
        pytest.param(((100, 300),), True, id="ending-at-the-ack"),
        pytest.param(((500, 600), (400, 800)), True, id="inside-the-second-block"),
        pytest.param(((500, 600), (500, 600)), True, id="equal-to-the-second-block"),
        pytest.param(((500, 600), (400, 550)), False, id="overlapping-the-second-block"),
        pytest.param(((250, 400),), False, id="straddling-the-ack"),
        pytest.param(((500, 600),), False, id="an-ordinary-sack"),
        pytest.param((), False, id="no-blocks"),
    ],
)
def test_has_dsack_follows_rfc2883_section_4(
    blocks: tuple[tuple[int, int], ...], expected: bool
) -> None:
    assert has_dsack(blocks, ack=300) is expected


# -- without SACK: NewReno (RFC 5681 3.2, RFC 6582) ---------------------------
def test_third_duplicate_ack_is_a_fast_retransmit_of_the_first_segment() -> None:
    s = sending(10, sack=False)
    assert s.ack(0, now=0.25) == Resend.NOTHING
    assert s.ack(0, now=0.25) == Resend.NOTHING
    assert not s.rec.in_recovery
    assert s.ack(0, now=0.25) == Resend.FIRST
    rec = s.rec
    assert rec.in_recovery and not rec.sack_recovery
    assert rec.recover == at(10)  # SND.MAX (RFC 6582 3.2 step 2)
    assert rec.cc.ssthresh == 5 * MSS  # max(FlightSize / 2, 2 * SMSS)
    assert rec.cc.cwnd == 5 * MSS + 3 * MSS  # ssthresh + 3 * SMSS
    assert (rec.dupacks, rec.reductions) == (3, 1)
    assert (rec.stats.duplicate_acks, rec.stats.fast_retransmits) == (3, 1)


def test_ssthresh_is_at_least_two_segments() -> None:
    s = sending(3, sack=False)
    for _ in range(3):
        resend = s.ack(0, now=0.25)
    assert resend == Resend.FIRST
    assert s.rec.cc.ssthresh == 2 * MSS  # FlightSize / 2 would be 1500
    assert s.rec.cc.cwnd == 5 * MSS


def test_further_duplicate_acks_inflate_the_window() -> None:
    """RFC 6582 3.2 step 3: one SMSS per duplicate ACK, nothing resent."""
    s = sending(10, sack=False)
    for _ in range(3):
        s.ack(0, now=0.25)
    assert s.ack(0, now=0.25) == Resend.NOTHING
    assert s.rec.cc.cwnd == 9 * MSS
    assert s.ack(0, now=0.25) == Resend.NOTHING
    assert s.rec.cc.cwnd == 10 * MSS
    assert s.rec.stats.fast_retransmits == 1


def test_partial_ack_resends_the_next_hole_and_deflates() -> None:
    """RFC 6582 3.2 step 5: cwnd less what was acknowledged, plus one SMSS."""
    s = sending(10, sack=False)
    for _ in range(4):
        s.ack(0, now=0.25)  # cwnd 9 segments
    assert s.ack(3, now=0.375) == Resend.FIRST
    assert s.carry_out(Resend.FIRST, 0.375) == [3]
    rec = s.rec
    assert rec.cc.cwnd == 9 * MSS - 3 * MSS + MSS
    assert rec.in_recovery and rec.dupacks == 0
    assert rec.cc.ssthresh == 5 * MSS
    assert rec.stats.fast_retransmits == 1  # the same recovery


def test_full_ack_ends_recovery() -> None:
    """RFC 6582 3.2 step 6, option 1: cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS)."""
    s = sending(10, sack=False)
    for _ in range(3):
        s.ack(0, now=0.25)
    s.send(2, now=0.25)  # new data during recovery: SND.MAX is segment 12
    assert s.ack(9, now=0.375) == Resend.FIRST  # still below "recover"
    assert s.rec.in_recovery
    assert s.ack(10, now=0.5) == Resend.NOTHING
    assert not s.rec.in_recovery
    assert s.rec.cc.cwnd == 2 * MSS + MSS  # FlightSize 2 segments, ssthresh 5


def test_no_second_fast_retransmit_for_the_window_sent_before_a_timeout() -> None:
    """RFC 6582 3.2 step 1 (and step 4 after a timeout): duplicate ACKs that do
    not cover more than "recover" start no fast retransmit."""
    s = sending(10, sack=False)
    assert s.rec.on_retransmission_timeout(1.125, s.una, s.max) == Resend.GO_BACK
    s.carry_out(Resend.GO_BACK, 1.125)
    assert s.rec.recover == at(10)
    s.ack(2, now=1.25)
    s.send(3, now=1.25)  # resent after the timeout
    for _ in range(3):
        assert s.ack(2, now=1.375) == Resend.NOTHING
    assert not s.rec.in_recovery and s.rec.stats.fast_retransmits == 0
    assert s.rec.cc.cwnd == 2 * MSS  # the loss window, grown by the one new ACK
    # once the ACKs pass "recover", duplicate ACKs mean a loss again
    s.ack(10, now=1.5)
    s.send(4, now=1.5)
    s.ack(11, now=1.625)
    for _ in range(2):
        assert s.ack(11, now=1.75) == Resend.NOTHING
    assert s.ack(11, now=1.75) == Resend.FIRST
    assert s.rec.stats.fast_retransmits == 1


# -- counting duplicate ACKs (RFC 5681 2, RFC 3042) ----------------------------
def test_an_ack_that_is_not_a_duplicate_is_not_counted() -> None:
    s = sending(10, sack=False)
    for _ in range(3):  # e.g. each carries data or a window update
        assert s.ack(0, now=0.25, duplicate=False) == Resend.NOTHING
    assert s.rec.dupacks == 0 and s.rec.stats.duplicate_acks == 0
    assert not s.rec.in_recovery


def test_a_new_ack_resets_the_duplicate_count() -> None:
    s = sending(10, sack=False)
    s.ack(0, now=0.25)
    s.ack(0, now=0.25)
    s.ack(1, now=0.25)
    assert s.rec.dupacks == 0
    assert s.ack(1, now=0.25) == Resend.NOTHING  # the first of a new series
    assert s.rec.dupacks == 1
    s.ack(1, now=0.25)
    assert s.ack(1, now=0.25) == Resend.FIRST


@pytest.mark.parametrize(("limited", "rooms"), [(True, [0, MSS, 2 * MSS]), (False, [0, 0, 0])])
def test_limited_transmit_lets_one_then_two_segments_out(limited: bool, rooms: list[int]) -> None:
    """RFC 3042: the first two duplicate ACKs each open one SMSS beyond cwnd;
    once in recovery, the window is NewReno's inflated one instead."""
    s = sending(10, sack=False, limited_transmit=limited)
    got = [s.send_room()]
    for _ in range(2):
        s.ack(0, now=0.25)
        got.append(s.send_room())
    assert got == rooms
    s.ack(0, now=0.25)
    assert s.rec.in_recovery
    assert s.send_room() == 8 * MSS - 10 * MSS  # ssthresh + 3 SMSS less the flight


# -- SACK, RACK off: RFC 6675 and PRR (RFC 6937) -------------------------------
def test_dupthresh_rule_marks_a_hole_with_more_than_two_segments_sacked_above() -> None:
    """RFC 6675 4 IsLost: (DupThresh - 1) x SMSS = 2000 bytes SACKed above is not enough."""
    s = sending(6, rack=False)
    assert s.ack(0, (3, 4), now=0.25) == Resend.NOTHING
    assert s.ack(0, (3, 5), now=0.25) == Resend.NOTHING
    assert lost(s.rec) == [] and not s.rec.in_recovery
    assert s.ack(0, (3, 6), now=0.25) == Resend.FIRST_LOST | Resend.LOST
    rec = s.rec
    assert lost(rec) == [0, 1, 2]
    assert rec.in_recovery and rec.sack_recovery
    assert rec.recover == at(6)
    assert rec.cc.ssthresh == 3 * MSS
    assert rec.stats.fast_retransmits == 1 and rec.stats.rack_losses == 0
    assert rec.reorder_deadline is None  # no RACK timer with RACK off


def test_one_ack_with_enough_sacked_starts_recovery_without_three_duplicates() -> None:
    """RFC 6675 5: IsLost(HighACK + 1) alone enters recovery, on the first duplicate ACK."""
    s = sending(6, rack=False)
    assert s.ack(0, (1, 2), (3, 6), now=0.25) == Resend.FIRST_LOST | Resend.LOST
    assert s.rec.dupacks == 1
    assert lost(s.rec) == [0, 2]


def test_nextseg_resends_holes_in_sequence_order_while_cwnd_allows() -> None:
    """RFC 6675 5 (C): while cwnd - pipe >= 1 SMSS, the first lost segment not
    yet resent. Without PRR cwnd = ssthresh = 6 segments; segments 8-11 are
    in the pipe, not SACKed and not lost."""
    s = sending(12, rack=False, prr=False)
    resend = s.ack(0, (1, 2), (3, 4), (5, 8), now=0.25)
    assert lost(s.rec) == [0, 2, 4]
    assert s.rec.cc.cwnd == s.rec.cc.ssthresh == 6 * MSS
    assert s.pipe() == 12 * MSS - 5 * MSS - 3 * MSS
    assert s.carry_out(resend, 0.25) == [0, 2]
    assert s.pipe() == 6 * MSS
    assert s.rec.next_to_resend(s.una, s.nxt) is None  # cwnd - pipe = 0
    # segment 8 is SACKed: room for one more, the next hole
    assert s.ack(0, (1, 2), (3, 4), (5, 9), now=0.375) == Resend.LOST
    assert s.carry_out(Resend.LOST, 0.375) == [4]
    assert s.rec.next_to_resend(s.una, s.nxt) is None


def test_pipe_is_flight_less_sacked_less_lost_not_yet_resent() -> None:
    s = sending(6, rack=False)
    assert s.pipe() == 6 * MSS
    s.ack(0, (3, 4), now=0.25)
    assert s.pipe() == 5 * MSS
    s.ack(0, (3, 5), now=0.25)
    resend = s.ack(0, (3, 6), now=0.25)
    assert s.pipe() == 0  # three SACKed, three lost
    s.carry_out(resend, 0.25)
    assert s.pipe() == 2 * MSS  # the two resent are in flight again
    assert s.rec.rack.lost_bytes() == MSS


def test_prr_slow_start_bound_paces_the_repair() -> None:
    """RFC 6937 PRR-SSRB (pipe <= ssthresh): sndcnt = min(ssthresh - pipe,
    max(prr_delivered - prr_out, DeliveredData) + SMSS); cwnd = pipe + sndcnt."""
    s = sending(6, rack=False)
    s.ack(0, (3, 4), now=0.25)
    s.ack(0, (3, 5), now=0.25)
    resend = s.ack(0, (3, 6), now=0.25)
    rec = s.rec
    # entry: DeliveredData 1000 (segment 5), pipe 0: sndcnt = min(3000, 1000 + 1000)
    assert (rec.cc.ssthresh, rec.cc.cwnd) == (3 * MSS, 2 * MSS)
    assert s.carry_out(resend, 0.25) == [0, 1]  # cwnd stops the third
    assert lost(rec) == [2]
    assert rec.prr_out == 2 * MSS
    # the resend of 0 arrives: a partial ACK delivers 1000; prr_delivered 2000,
    # pipe 1000: sndcnt = min(3000 - 1000, max(2000 - 2000, 1000) + 1000)
    resend = s.ack(1, (3, 6), now=0.375)
    assert resend == Resend.LOST
    assert rec.cc.cwnd == MSS + 2 * MSS
    assert s.carry_out(resend, 0.375) == [2]
    # a full ACK ends recovery: cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS)
    assert s.ack(6, now=0.5) == Resend.NOTHING
    assert not rec.in_recovery and not rec.sack_recovery
    assert rec.cc.cwnd == 2 * MSS


def test_prr_sends_in_proportion_while_the_pipe_is_above_ssthresh() -> None:
    """RFC 6937: sndcnt = ceil(prr_delivered x ssthresh / RecoverFS) - prr_out.
    Ten segments and a FIN: RecoverFS is 10001, so the ceiling matters. The
    first lost segment goes anyway (RFC 6675 5 (4.2))."""
    s = sending(10, rack=False)
    fin = sq.add(at(10), 1)
    s.rec.on_segment_sent(at(10), fin, 0, T0, False, False)
    s.nxt = s.max = fin
    s.ack(0, (1, 2), now=0.25)
    s.ack(0, (1, 3), now=0.25)
    resend = s.ack(0, (1, 4), now=0.25)
    rec = s.rec
    assert rec.cc.ssthresh == 5 * MSS and rec.recover_fs == 10_001
    # pipe 10001 - 3000 SACKed - 1000 lost = 6001 > 5000: ceil(1000 * 5000 / 10001) = 500
    assert rec.cc.cwnd == 6001 + 500
    assert rec.next_to_resend(s.una, s.nxt) is None  # cwnd - pipe < 1 SMSS
    assert s.carry_out(resend, 0.25) == [0]  # FIRST_LOST: whatever the pipe
    # prr_delivered 2000, pipe 6001: ceil(2000 * 5000 / 10001) - prr_out 1000 = 0
    assert s.ack(0, (1, 5), now=0.25) == Resend.LOST
    assert rec.cc.cwnd == 6001
    # prr_delivered 3000, pipe 5001: ceil(3000 * 5000 / 10001) - 1000 = 500
    assert s.ack(0, (1, 6), now=0.25) == Resend.LOST
    assert rec.cc.cwnd == 5001 + 500
    assert s.carry_out(Resend.LOST, 0.25) == []


# -- RACK (RFC 8985 6) ---------------------------------------------------------
def test_rack_one_sacked_segment_arms_the_reordering_timer() -> None:
    """RFC 8985 6.2: the holes sent before segment 3 are lost only after
    xmit_ts + RACK.rtt + reo_wnd, with reo_wnd = min RTT / 4."""
    s = sending(6)
    assert s.ack(0, (3, 4), now=T0 + RTT) == Resend.NOTHING
    rec = s.rec
    assert rec.rack.rtt == RTT  # from segment 3's send time
    deadline = T0 + RTT + RTT / 4
    assert rec.reorder_deadline == deadline
    assert lost(rec) == [] and not rec.in_recovery
    # a timer that fires early marks nothing and waits the rest
    early = deadline - RTT / 8
    assert rec.on_reorder_timeout(early, s.una, s.nxt, s.max) == Resend.NOTHING
    assert rec.reorder_deadline == deadline
    assert rec.stats.rack_losses == 0


def test_rack_reordering_timeout_marks_the_holes_and_starts_recovery() -> None:
    s = sending(6)
    s.ack(0, (3, 4), now=T0 + RTT)
    deadline = s.rec.reorder_deadline
    assert deadline is not None
    resend = s.rec.on_reorder_timeout(deadline, s.una, s.nxt, s.max)
    assert resend == Resend.FIRST_LOST | Resend.LOST
    rec = s.rec
    assert lost(rec) == [0, 1, 2]
    assert rec.stats.rack_losses == 3 and rec.stats.fast_retransmits == 1
    assert rec.in_recovery and rec.sack_recovery and rec.recover == at(6)
    assert rec.reorder_deadline is None
    # ssthresh 3000; PRR-SSRB with nothing delivered by a timer, pipe 2000
    # (segments 4 and 5): sndcnt = min(3000 - 2000, 0 + 1000)
    assert (rec.cc.ssthresh, rec.cc.cwnd) == (3 * MSS, 3 * MSS)
    assert s.carry_out(resend, deadline) == [0]


def test_rack_dupthresh_sacked_segments_mark_at_once() -> None:
    """RFC 8985 6.2 step 4: with DupThresh segments SACKed and no reordering
    seen, reo_wnd is 0: the holes are lost one RACK.rtt after they left."""
    s = sending(6)
    resend = s.ack(0, (3, 6), now=T0 + RTT)
    assert resend == Resend.FIRST_LOST | Resend.LOST
    rec = s.rec
    assert rec.rack.reo_wnd(False, RTT, 3) == 0.0
    assert lost(rec) == [0, 1, 2] and rec.stats.rack_losses == 3
    assert rec.reorder_deadline is None
    # DeliveredData 3000, pipe 0: sndcnt = min(3000, 3000 + 1000)
    assert rec.cc.cwnd == 3 * MSS
    assert s.carry_out(resend, T0 + RTT) == [0, 1, 2]


def test_rack_first_delivery_is_not_reordering_with_an_isn_in_the_upper_half() -> None:
    """RFC 8985 6.2 step 3: reordering is a segment delivered below RACK.fack,
    the highest sequence delivered; before any delivery there is none."""
    iss = 1 << 31
    rec = recovery(iss=iss)
    una = iss + 1
    for n in range(6):
        rec.on_segment_sent(una + n * MSS, una + (n + 1) * MSS, MSS, T0, False, False)
    top = una + 6 * MSS
    resend = rec.on_ack(
        una, una, top, top, ((una + MSS, top),),
        duplicate=True, carries_data=False, ecn_echo=False, rtt_sample=None, now=T0 + RTT,
    )  # fmt: skip
    assert not rec.rack.reordering_seen
    assert resend == Resend.FIRST_LOST | Resend.LOST  # as with ISS = 999


def test_rack_a_hole_filled_in_time_is_reordering_not_loss() -> None:
    s = sending(6)
    s.ack(0, (3, 4), now=T0 + RTT)
    assert s.ack(4, now=T0 + RTT + RTT / 8) == Resend.NOTHING  # the holes arrive late
    rec = s.rec
    assert rec.rack.reordering_seen
    assert rec.reorder_deadline is None
    assert lost(rec) == [] and not rec.in_recovery and rec.stats.rack_losses == 0


@pytest.mark.parametrize(("rack", "again"), [(True, [0]), (False, [])])
def test_only_rack_finds_a_lost_retransmission(rack: bool, again: list[int]) -> None:
    """Segment 0 is lost twice. Segments 6 and 7 leave with its resend and are
    SACKed one RTT later: RACK judges the resend lost (RFC 8985 6.2); RFC
    6675's IsLost never marks a retransmitted segment."""
    s = sending(6, rack=rack)
    t1 = T0 + RTT
    resend = s.ack(0, (1, 6), now=t1)
    assert resend == Resend.FIRST_LOST | Resend.LOST
    assert s.carry_out(resend, t1) == [0]
    assert s.send_room() == 2 * MSS  # cwnd 3000 (PRR), pipe 1000
    s.send(2, now=t1)
    t2 = t1 + RTT
    assert s.ack(0, (1, 8), now=t2) == Resend.LOST
    assert s.carry_out(Resend.LOST, t2) == again
    assert s.rec.stats.rack_losses == (2 if rack else 0)
    assert s.rec.stats.fast_retransmits == 1


# -- the retransmission timeout ------------------------------------------------
def test_rto_with_rack_resends_the_first_and_what_is_overdue() -> None:
    """RFC 8985 6.3: the first segment is lost, the others only if older than
    RACK.rtt + reo_wnd; the SACK information stays (RFC 6675 5.1)."""
    s = sending(6)
    s.ack(0, (3, 4), now=T0 + RTT)
    young = 1.0625
    s.send(1, now=young)  # segment 6, sent RTT/2 before the timeout
    rto = T0 + 1.0
    resend = s.rec.on_retransmission_timeout(rto, s.una, s.max)
    rec = s.rec
    assert resend == Resend.FIRST_LOST | Resend.LOST
    assert rec.rto_recovery and not rec.in_recovery
    assert lost(rec) == [0, 1, 2, 4, 5]  # not 3 (SACKed), not 6 (young)
    assert rec.stats.rack_losses == 5 and rec.stats.timeouts == 1
    assert rec.scoreboard.ranges == [(at(3), at(4))]
    assert rec.reorder_deadline is None and rec.recover == at(7)
    assert (rec.cc.ssthresh, rec.cc.cwnd) == (7 * MSS // 2, MSS)  # RFC 5681 eq. 4, LW
    assert rec.reductions == 1
    assert s.carry_out(resend, rto) == [0]
    assert s.pipe() == 2 * MSS  # segment 0 again, and segment 6
    # the resend arrives: cwnd grows to 2000 in slow start; segment 6 is now
    # older than RACK.rtt too; the pipe lets two of the lost segments go
    t = rto + RTT
    assert s.ack(1, (3, 4), now=t) == Resend.LOST
    assert rec.cc.cwnd == 2 * MSS
    assert lost(rec) == [1, 2, 4, 5, 6] and rec.stats.rack_losses == 6
    assert s.carry_out(Resend.LOST, t) == [1, 2]
    assert rec.rto_recovery
    assert s.ack(7, now=t + RTT) == Resend.NOTHING  # all sent before the timeout
    assert not rec.rto_recovery


@pytest.mark.parametrize(
    ("rack", "blocks"),
    [
        pytest.param(True, (0, 2), id="first-segment-sacked"),
        pytest.param(False, (3, 4), id="rack-off"),
    ],
)
def test_rto_goes_back_to_snd_una_and_drops_the_sack_information(
    rack: bool, blocks: tuple[int, int]
) -> None:
    """RFC 5681 3.1, RFC 6675 5.1; a SACKed first segment means the receiver
    reneged (RFC 2018 8)."""
    s = sending(6, rack=rack)
    s.ack(0, blocks, now=T0 + RTT)
    assert s.rec.scoreboard.ranges
    resend = s.rec.on_retransmission_timeout(T0 + 1.0, s.una, s.max)
    rec = s.rec
    assert resend == Resend.GO_BACK
    assert rec.scoreboard is None and not rec.rto_recovery
    assert not any(seg.sacked or seg.lost for seg in rec.rack.segments)
    assert rec.rack.sacked_count == 0
    assert rec.stats.timeouts == 1 and rec.stats.rack_losses == 0
    assert (rec.cc.ssthresh, rec.cc.cwnd) == (3 * MSS, MSS)


def test_rto_during_fast_recovery_leaves_it() -> None:
    s = sending(6)
    s.ack(0, (3, 6), now=T0 + RTT)
    assert s.rec.in_recovery
    s.rec.on_retransmission_timeout(T0 + 1.0, s.una, s.max)
    rec = s.rec
    assert not rec.in_recovery and not rec.sack_recovery and rec.rto_recovery
    assert rec.reductions == 2 and rec.stats.timeouts == 1
    # RFC 5681 equation 4, from FlightSize (6 segments); the loss window
    assert (rec.cc.ssthresh, rec.cc.cwnd) == (3 * MSS, MSS)


# -- ECN (RFC 3168 6.1.2) ------------------------------------------------------
def test_ecn_echo_halves_once_per_window_and_stops_growth() -> None:
    s = sending(10)
    assert s.ack(1, now=0.25) == Resend.NOTHING
    assert s.rec.cc.cwnd == 11 * MSS  # slow start, for comparison
    # FlightSize 9000 before it: ssthresh = cwnd = 4500; the 5000 it acknowledges
    # would be a window's worth in congestion avoidance, but an echo grows nothing
    assert s.ack(6, now=0.25, ecn=True) == Resend.NOTHING
    rec = s.rec
    assert (rec.cc.ssthresh, rec.cc.cwnd) == (4500, 4500)
    assert rec.ecn_recover == at(10)
    assert (rec.reductions, rec.stats.ecn_reductions) == (1, 1)
    s.ack(7, now=0.25, ecn=True)  # the same window: no reduction, no growth
    assert (rec.cc.ssthresh, rec.cc.cwnd) == (4500, 4500)
    assert (rec.reductions, rec.stats.ecn_reductions) == (1, 1)
    assert not rec.in_recovery and rec.stats.fast_retransmits == 0
    s.ack(10, now=0.375)  # 3000 acknowledged: less than cwnd, no growth yet
    assert rec.cc.cwnd == 4500
    # the next window: a new echo reduces again, from FlightSize 4000
    s.send(4, now=0.375)
    s.ack(11, now=0.5, ecn=True)
    assert (rec.cc.ssthresh, rec.cc.cwnd) == (2 * MSS, 2 * MSS)
    assert (rec.reductions, rec.stats.ecn_reductions) == (2, 2)


# -- tail loss probes (RFC 8985 7) ---------------------------------------------
@pytest.mark.parametrize(
    ("flight", "pto"),
    [
        pytest.param(5 * MSS, 2 * RTT, id="several-segments"),
        pytest.param(MSS, 2 * RTT + WORST_CASE_DELAYED_ACK, id="one-segment"),
    ],
)
def test_probe_timer_is_two_srtt_plus_the_delayed_ack_for_one_segment(
    flight: int, pto: float
) -> None:
    """RFC 8985 7.2: PTO = 2 x SRTT, + WCDelAckT (0.2 s) for a single segment."""
    rec = recovery()
    rec.arm_probe(1.0, eligible=True, flight=flight, rto_deadline=2.0)
    assert rec.probe_deadline == 1.0 + pto


def _recovering(s: Sender) -> None:
    s.ack(0, (1, 6), now=T0 + RTT)


def _probe_out(s: Sender) -> None:
    assert s.rec.on_probe_timeout(s.una, s.max)


def _reorder_timer(s: Sender) -> None:
    s.ack(0, (3, 4), now=T0 + RTT)


@pytest.mark.parametrize(
    ("setup", "options", "eligible", "rto_deadline"),
    [
        pytest.param(None, {}, False, 2.0, id="not-eligible"),
        pytest.param(None, {"tail_loss_probe": False}, True, 2.0, id="turned-off"),
        pytest.param(None, {"rtt": None}, True, 2.0, id="no-srtt"),
        pytest.param(_recovering, {}, True, 2.0, id="in-recovery"),
        pytest.param(_probe_out, {}, True, 2.0, id="a-probe-is-out"),
        pytest.param(_reorder_timer, {}, True, 2.0, id="reordering-timer-first"),
    ],
)
def test_no_probe_timer(setup, options, eligible, rto_deadline) -> None:  # type: ignore[no-untyped-def]
    s = sending(6, **options)
    if setup is not None:
        setup(s)
    s.rec.probe_deadline = 0.5  # whatever was armed before
    s.rec.arm_probe(1.0, eligible=eligible, flight=6 * MSS, rto_deadline=rto_deadline)
    assert s.rec.probe_deadline is None


@pytest.mark.parametrize("rto_deadline", [1.0 + 2 * RTT, 1.0 + RTT], ids=["at", "before"])
def test_a_probe_due_after_the_rto_goes_in_its_place(rto_deadline: float) -> None:
    """RFC 8985 7.2: a PTO later than the RTO is cut to the RTO's expiry: the
    probe goes then, in the RTO's place (7.3 re-arms the RTO from it)."""
    rec = recovery()
    rec.arm_probe(1.0, eligible=True, flight=6 * MSS, rto_deadline=rto_deadline)
    assert rec.probe_deadline == rto_deadline


def test_probe_timer_just_before_the_rto() -> None:
    rec = recovery()
    rec.arm_probe(1.0, eligible=True, flight=6 * MSS, rto_deadline=1.0 + 2 * RTT + 1 / 1024)
    assert rec.probe_deadline == 1.0 + 2 * RTT


def test_one_probe_per_flight_and_none_with_nothing_in_flight() -> None:
    s = sending(6)
    rec = s.rec
    rec.arm_probe(T0, eligible=True, flight=6 * MSS, rto_deadline=T0 + 1.0)
    assert rec.on_probe_timeout(s.una, s.max) is True
    assert rec.probe_deadline is None and rec.probe_out
    assert rec.stats.tail_loss_probes == 1
    rec.arm_probe(T0 + 2 * RTT, eligible=True, flight=6 * MSS, rto_deadline=T0 + 1.0)
    assert rec.probe_deadline is None  # not again for this flight
    s.ack(6, now=0.5)  # a new ACK: the next flight may be probed
    assert not rec.probe_out
    assert rec.on_probe_timeout(s.una, s.max) is False  # nothing in flight
    assert rec.stats.tail_loss_probes == 1


def _probed() -> Sender:
    """Five segments at T0; at the PTO the last one is resent as the probe."""
    s = sending(5)
    rec = s.rec
    rec.arm_probe(T0, eligible=True, flight=5 * MSS, rto_deadline=T0 + 1.0)
    pto = rec.probe_deadline
    assert pto == T0 + 2 * RTT
    assert rec.on_probe_timeout(s.una, s.max)
    s.resend(4, pto)
    rec.on_probe_resent(at(4), s.max)
    assert rec.probe_episode == (at(4), at(5))
    assert s.ack(5, now=pto + RTT) == Resend.NOTHING  # the probe's data arrived
    assert rec.probe_episode == (at(4), at(5))  # undecided: a D-SACK may follow
    assert rec.cc.cwnd == 11 * MSS  # slow start
    return s


@pytest.mark.parametrize(
    "blocks",
    [pytest.param(((4, 5),), id="dsack-for-the-probe"), pytest.param((), id="pure-dupack")],
)
def test_a_needless_probe_means_no_reduction(blocks: tuple[tuple[int, int], ...]) -> None:
    """RFC 8985 7.4.2: the original arrived too; a D-SACK for the probe, or a
    pure duplicate ACK at its end, says so."""
    s = _probed()
    s.ack(5, *blocks, now=0.6)
    rec = s.rec
    assert rec.probe_episode is None
    s.send(7, now=0.6)
    s.ack(6, now=0.7)  # beyond the probe: nothing to judge any more
    assert rec.stats.tlp_repairs == 0
    assert rec.cc.ssthresh == 1 << 30 and rec.cc.cwnd == 12 * MSS


def test_an_ack_beyond_the_probe_means_it_repaired_a_loss() -> None:
    """RFC 8985 7.4.2: no D-SACK came before the ACKs passed the probe: one
    congestion response (on_repaired_loss: ssthresh = cwnd = FlightSize / 2),
    no recovery."""
    s = _probed()
    s.send(7, now=0.6)
    s.ack(6, now=0.7)  # FlightSize after it: 6 segments
    rec = s.rec
    assert rec.probe_episode is None
    assert rec.stats.tlp_repairs == 1
    assert (rec.cc.ssthresh, rec.cc.cwnd) == (3 * MSS, 3 * MSS)
    assert not rec.in_recovery and rec.stats.fast_retransmits == 0
    s.ack(7, now=0.8)  # once only
    assert rec.stats.tlp_repairs == 1 and rec.cc.ssthresh == 3 * MSS


def test_fast_recovery_ends_the_probe_episode() -> None:
    """Recovery's own reduction covers the probe's (RFC 8985 7.4)."""
    s = sending(6)
    rec = s.rec
    assert rec.on_probe_timeout(s.una, s.max)
    s.resend(5, 0.4)
    rec.on_probe_resent(at(5), s.max)
    s.ack(0, (1, 6), now=0.5)
    assert rec.in_recovery and rec.probe_episode is None
    assert rec.reductions == 1


# -- SACK blocks worth believing (RFC 2018, RFC 2883) and the scoreboard's bound --
def raw_ack(
    s: Sender,
    n: int,
    *blocks: tuple[int, int],
    now: float,
    max_window: int = 1 << 30,
    duplicate: bool = True,
) -> Resend:
    """An ACK of segments below ``n`` with SACK ``blocks`` given as sequence numbers."""
    ack = at(n)
    duplicate = duplicate and ack == s.una
    resend = s.rec.on_ack(
        ack, s.una, s.nxt, s.max, blocks, duplicate, False, False, None, now, max_window
    )
    if sq.lt(s.una, ack):
        s.una, s.nxt = ack, sq.max_seq(s.nxt, ack)
    return resend


def test_an_inverted_block_is_ignored_and_counted() -> None:
    """Left above right: before, the scoreboard took it as a range of negative
    size, and the pipe came out larger than the flight."""
    s = sending(6)
    assert s.ack(0, (4, 2), now=T0 + RTT) == Resend.NOTHING
    rec = s.rec
    assert rec.scoreboard is None  # nothing SACKed
    assert rec.stats.sack_blocks_invalid == 1 and rec.stats.sack_blocks_over_limit == 0
    assert rec.delivered == 0
    assert s.pipe() == 6 * MSS  # the flight, no more
    assert lost(rec) == [] and rec.reorder_deadline is None


def test_a_block_beyond_snd_max_is_ignored_and_the_others_used() -> None:
    s = sending(6)
    s.ack(0, (3, 4), (5, 7), now=T0 + RTT)  # SND.MAX is segment 6's start
    rec = s.rec
    assert rec.scoreboard.ranges == [(at(3), at(4))]
    assert rec.stats.sack_blocks_invalid == 1
    assert s.pipe() == 5 * MSS
    assert [seg.sacked for seg in rec.rack.segments] == [False] * 3 + [True] + [False] * 2


def test_an_empty_block_and_one_a_sequence_space_away_are_ignored() -> None:
    s = sending(6)
    wrapped = (sq.add(at(1), 1 << 31), at(2))  # left "below" right only modulo 2^32
    raw_ack(s, 0, (at(3), at(3)), wrapped, (at(4), at(5)), now=T0 + RTT)
    rec = s.rec
    assert rec.scoreboard.ranges == [(at(4), at(5))]
    assert rec.stats.sack_blocks_invalid == 2
    assert s.pipe() == 5 * MSS


def test_a_block_older_than_the_largest_window_is_ignored() -> None:
    """Four segments' window: a D-SACK starting more than that below SND.UNA
    is absurd (Linux: too old); one within it is a D-SACK."""
    s = sending(10)
    s.ack(6, now=T0 + RTT)
    rack = s.rec.rack
    assert rack.reo_wnd_mult == 1
    raw_ack(s, 6, (at(1), at(2)), now=0.3, max_window=4 * MSS)
    assert s.rec.stats.sack_blocks_invalid == 1
    assert rack.reo_wnd_mult == 1 and rack.dsack_round is None
    raw_ack(s, 6, (at(2), at(3)), now=0.3, max_window=4 * MSS)
    assert s.rec.stats.sack_blocks_invalid == 1
    assert rack.reo_wnd_mult == 2 and rack.dsack_round == at(10)


@pytest.mark.parametrize(
    ("blocks", "ranges"),
    [
        pytest.param(((1, 2),), [], id="below-the-ack"),
        pytest.param(((1, 2), (4, 5)), [(at(4), at(5))], id="below-the-ack-then-a-sack"),
        pytest.param(((4, 5), (3, 6)), [(at(3), at(6))], id="inside-the-second-block"),
    ],
)
def test_a_dsack_is_seen_as_one_and_stays_off_the_scoreboard(
    blocks: tuple[tuple[int, int], ...], ranges: list[tuple[int, int]]
) -> None:
    """RFC 2883 4: it widens RACK's reordering window (RFC 8985 6.2 step 4); it
    is not counted invalid, and says nothing of what is above the ACK."""
    s = sending(8)
    s.ack(3, now=T0 + RTT)
    s.ack(3, *blocks, now=0.3)
    rec = s.rec
    assert rec.rack.reo_wnd_mult == 2
    assert rec.stats.sack_blocks_invalid == 0
    assert sacked(rec) == ranges


def test_a_later_block_below_snd_una_is_stale_not_a_dsack() -> None:
    s = sending(8)
    s.ack(3, now=T0 + RTT)
    s.ack(3, (5, 6), (1, 2), now=0.3)
    rec = s.rec
    assert rec.stats.sack_blocks_invalid == 1
    assert rec.rack.reo_wnd_mult == 1  # only the first block may be a D-SACK
    assert rec.scoreboard.ranges == [(at(5), at(6))]


def test_hostile_blocks_never_push_the_pipe_above_the_flight() -> None:
    s = sending(10)
    rec = s.rec
    top = at(10)
    hostile = [
        (at(9), at(1)),  # inverted
        (at(2), sq.add(top, 1)),  # one byte beyond SND.MAX
        (sq.add(at(0), -(1 << 20)), at(3)),  # starts a megabyte below SND.UNA
        (sq.add(top, 1 << 31), at(5)),  # half the sequence space away
        (at(7), at(7)),  # empty
    ]
    for n, block in enumerate(hostile, 1):  # not duplicate ACKs (e.g. window updates)
        raw_ack(s, 0, block, now=T0 + RTT, max_window=10 * MSS, duplicate=False)
        assert rec.stats.sack_blocks_invalid == n
        assert rec.scoreboard is None and s.pipe() == 10 * MSS
    raw_ack(s, 0, (at(2), at(4)), now=T0 + RTT, max_window=10 * MSS, duplicate=False)
    assert rec.scoreboard.total == 2 * MSS and s.pipe() == 8 * MSS
    assert not rec.in_recovery and lost(rec) == []


def test_the_scoreboard_holds_at_most_twice_the_records() -> None:
    """Ten records: at most 20 ranges. One-byte holes inside the segments, four
    blocks per ACK: the blocks that would make a 21st range are ignored and
    counted; a block that only grows or joins ranges is still taken."""
    s = sending(10)
    rec = s.rec
    blocks = [
        (sq.add(at(n), 2 * k + 1), sq.add(at(n), 2 * k + 2)) for n in range(10) for k in (0, 1, 2)
    ]
    for i in range(0, len(blocks), 4):
        raw_ack(s, 0, *blocks[i : i + 4], now=T0 + RTT)
    assert len(rec.scoreboard) == 20
    assert rec.stats.sack_blocks_over_limit == 10
    assert rec.stats.sack_blocks_invalid == 0
    assert rec.scoreboard.total == 20
    assert s.pipe() == 10 * MSS - 20
    assert lost(rec) == [] and not any(seg.sacked for seg in rec.rack.segments)
    # at the bound: a block joining the first two ranges of segment 0 is taken
    raw_ack(s, 0, (sq.add(at(0), 1), sq.add(at(0), 4)), now=T0 + RTT)
    assert len(rec.scoreboard) == 19
    assert rec.stats.sack_blocks_over_limit == 10
    assert rec.scoreboard.ranges[:2] == [(sq.add(at(0), 1), sq.add(at(0), 4)), blocks[2]]


def test_the_bound_has_a_floor_of_sixteen_ranges() -> None:
    s = sending(2)
    blocks = [(sq.add(at(0), 2 * k + 1), sq.add(at(0), 2 * k + 2)) for k in range(20)]
    for i in range(0, len(blocks), 4):
        raw_ack(s, 0, *blocks[i : i + 4], now=T0 + RTT)
    assert len(s.rec.scoreboard) == 16
    assert s.rec.stats.sack_blocks_over_limit == 4


def test_scoreboard_ignores_an_inverted_block_and_refuses_beyond_its_limit() -> None:
    board = Scoreboard()
    assert board.update(((300, 200),), ack=50, snd_max=1000) == ([], 0)
    assert board.ranges == []
    newly, refused = board.update(((100, 200), (300, 400), (500, 600)), 50, 1000, limit=2)
    assert board.ranges == [(100, 200), (300, 400)] and refused == 1
    assert newly == [(100, 200), (300, 400)]  # unwrapped: the first ACK anchors them
    newly, refused = board.update(((150, 350), (700, 800)), 50, 1000, limit=2)
    assert board.ranges == [(100, 400), (700, 800)] and refused == 0  # one range, then two
    assert newly == [(200, 300), (700, 800)]
    assert board.total == 400


def test_a_block_inside_an_invalid_second_block_is_no_dsack() -> None:
    """RFC 2883 4 compares the first block with the second, which must be
    believable itself: here it reaches beyond SND.MAX."""
    s = sending(8)
    s.ack(0, (4, 5), (3, 9), now=T0 + RTT)
    rec = s.rec
    assert rec.rack.reo_wnd_mult == 1
    assert rec.stats.sack_blocks_invalid == 1
    assert rec.scoreboard.ranges == [(at(4), at(5))]


def test_a_loss_in_a_window_already_cut_for_an_ecn_echo_is_not_cut_again() -> None:
    """RFC 3168 6.1.2: the window is reduced once for a series of CE marks and
    losses from one window of data; the loss is still repaired."""
    s = sending(10, rack=False)
    s.ack(1, now=0.25, ecn=True)  # FlightSize 10 segments: ssthresh = cwnd = 5000
    rec = s.rec
    assert (rec.cc.ssthresh, rec.cc.cwnd, rec.reductions) == (5 * MSS, 5 * MSS, 1)
    # segment 1 lost, 2-4 SACKed: the loss is repaired with no second cut
    s.ack(1, (2, 3), now=0.3)
    s.ack(1, (2, 4), now=0.3)
    resend = s.ack(1, (2, 5), now=0.3)
    assert rec.in_recovery and resend & Resend.FIRST_LOST
    assert rec.cc.ssthresh == 5 * MSS and rec.reductions == 1
    assert rec.stats.fast_retransmits == 1
    # an echo from the same window afterwards cuts nothing either
    s.ack(5, now=0.4, ecn=True)
    assert rec.cc.ssthresh == 5 * MSS and rec.stats.ecn_reductions == 1


def test_a_probe_that_repaired_a_loss_asks_for_cwr() -> None:
    """RFC 3168 6.1.2: CWR on the next new data follows any reduction, the one
    for a repaired tail loss (RFC 8985 7.4.2) too."""
    s = _probed()
    rec = s.rec
    before = rec.reductions
    s.send(1, now=1.0)
    s.ack(6, now=1.1)  # past the probe, no D-SACK for it: it repaired a loss
    assert rec.stats.tlp_repairs == 1
    assert rec.reductions == before + 1


# -- state made when first needed (issue 16) ------------------------------------
def test_no_rack_nor_scoreboard_until_a_sack_sender_sends() -> None:
    rec = recovery(rtt=RTT / 2)
    assert rec.rack is None and rec.scoreboard is None and rec.records == ()
    assert rec.min_rtt == RTT / 2  # the handshake's one sample
    assert rec.pipe(at(0), at(0)) == 0 and rec.next_to_resend(at(0), at(0)) is None
    s = Sender(rec)
    s.send(1, T0)
    assert rec.rack is not None and [number(seg.start) for seg in rec.records] == [0]
    assert rec.rack.min_rtt == RTT / 2 and rec.rack.fack == ISS  # as if made at the start
    assert rec.scoreboard is None


def test_the_handshake_min_rtt_sets_the_first_flights_reordering_window() -> None:
    """RFC 8985 6.2 step 4: reo_wnd = RACK.min_RTT / 4, and the only sample
    so far is the handshake's, taken before RACK's state was made."""
    s = Sender(recovery(rtt=RTT / 2))
    s.send(6, T0)
    assert s.ack(0, (3, 4), now=T0 + RTT) == Resend.NOTHING
    rec = s.rec
    deadline = T0 + RTT + RTT / 8  # RACK.rtt (RTT) + min RTT / 4
    assert rec.reorder_deadline == deadline and lost(rec) == []
    assert rec.on_reorder_timeout(deadline, s.una, s.nxt, s.max) == Resend.FIRST_LOST | Resend.LOST
    assert lost(rec) == [0, 1, 2]


def test_a_second_rtt_sample_keeps_the_minimum_without_sack() -> None:
    """No records without SACK, but RACK.min_RTT (tcp_info's min_rtt) is
    still the smallest sample: a second one makes the state that holds it."""
    s = Sender(recovery(sack=False, rtt=RTT))
    rec = s.rec
    s.send(2, T0)
    assert rec.rack is None and rec.min_rtt == RTT
    s.ack(1, now=T0 + 2 * RTT, rtt=2 * RTT)
    assert rec.rack is not None and rec.records == [] and rec.min_rtt == RTT
    s.ack(2, now=T0 + 2 * RTT, rtt=RTT / 2)
    assert rec.min_rtt == RTT / 2 and rec.rtt.srtt != RTT / 2


def test_a_sack_makes_the_scoreboard_and_the_ack_that_empties_it_drops_it() -> None:
    s = sending(6)
    rec = s.rec
    s.ack(0, (3, 4), now=T0 + RTT)
    assert sacked(rec) == [(at(3), at(4))]
    s.ack(4, now=T0 + RTT)
    assert rec.scoreboard is None and s.pipe() == 2 * MSS
    s.ack(4, (3, 4), now=T0 + RTT)  # a D-SACK alone: nothing to keep
    assert rec.scoreboard is None and rec.rack is not None and rec.rack.reo_wnd_mult == 2
