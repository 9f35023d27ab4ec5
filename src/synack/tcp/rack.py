"""What is in flight, segment by segment, and RACK: time-based loss detection
(RFC 8985 6).

A sender with SACK keeps one record per transmission between SND.UNA and
SND.MAX: its sequence range, when it last left, and whether it was resent,
SACKed or judged lost. One of two rules marks losses on these records: RACK,
here, or with RACK turned off RFC 6675's DupThresh rule (applied by the
connection, which owns the scoreboard). RACK's rule: a segment is lost if one
sent after it has been delivered and more than an RTT plus a reordering window
has passed since it was sent.
Unlike counting duplicate ACKs, this also finds a lost retransmission and a
lost tail.
"""

from __future__ import annotations

from synack.wire import seq as sq

# RFC 8985 6.2 step 4: after a D-SACK widens the reordering window, keep it
# wide for this many recoveries.
REO_WND_PERSIST = 16


class SentSegment:
    """One transmission: ``[start, end)`` in sequence space (a FIN counts one)."""

    __slots__ = ("start", "end", "xmit_ts", "retransmitted", "sacked", "lost")

    def __init__(self, start: int, end: int, xmit_ts: float, retransmitted: bool = False) -> None:
        self.start = start
        self.end = end
        self.xmit_ts = xmit_ts
        self.retransmitted = retransmitted
        self.sacked = False
        self.lost = False  # judged lost and not resent since

    def piece(self, start: int, end: int) -> SentSegment:
        """Part of this transmission, when a resend covers the rest."""
        part = SentSegment(start, end, self.xmit_ts, self.retransmitted)
        part.lost = self.lost
        return part

    def __repr__(self) -> str:
        marks = (self.retransmitted, self.sacked, self.lost)
        flags = "".join(c for c, on in zip("RSL", marks, strict=True) if on)
        return f"SentSegment({self.start}-{self.end} @{self.xmit_ts:.6f} {flags})"


def sent_after(t1: float, seq1: int, t2: float, seq2: int) -> bool:
    """RFC 8985 6.2 RACK_sent_after: was (t1, seq1) sent after (t2, seq2)?"""
    return t1 > t2 or (t1 == t2 and sq.gt(seq1, seq2))


class Rack:
    """The in-flight records and the RACK state of one connection."""

    __slots__ = (
        "segments", "sacked_count", "xmit_ts", "end_seq", "rtt", "min_rtt", "fack",
        "reordering_seen", "reo_wnd_mult", "reo_wnd_persist", "dsack_round",
    )  # fmt: skip

    def __init__(self) -> None:
        self.segments: list[SentSegment] = []  # in sequence order, from SND.UNA
        self.sacked_count = 0  # RACK.segs_sacked
        self.xmit_ts = -1.0  # RACK.xmit_ts: the latest send time of a delivered segment
        self.end_seq = 0  # RACK.end_seq, its end
        self.rtt = 0.0  # RACK.rtt: from the newest segment the last ACK delivered
        self.min_rtt: float | None = None  # RACK.min_RTT
        self.fack = 0  # RACK.fack: the highest end delivered
        self.reordering_seen = False  # RACK.reordering_seen
        self.reo_wnd_mult = 1
        self.reo_wnd_persist = 0
        self.dsack_round: int | None = None

    # -- sending --------------------------------------------------------
    def on_send(self, start: int, end: int, now: float, retransmission: bool) -> None:
        """Record a transmission. New data is appended; a resend replaces what
        it covers by one record, split from its neighbours where needed."""
        segments = self.segments
        if not retransmission:
            segments.append(SentSegment(start, end, now))
            return
        # the records it overlaps are segments[first:last] (sequence order);
        # the head of the first and the tail of the last stay as they were
        first = last = len(segments)
        pieces = [SentSegment(start, end, now, retransmitted=True)]
        for i, seg in enumerate(segments):
            if sq.le(seg.end, start):
                continue
            if sq.ge(seg.start, end):
                last = i
                break
            first = min(first, i)
            if sq.lt(seg.start, start):
                pieces.insert(0, seg.piece(seg.start, start))
            if sq.gt(seg.end, end):
                pieces.append(seg.piece(end, seg.end))
            if seg.sacked:
                self.sacked_count -= 1
        first = min(first, last)  # it covers no record: insert it before the next
        segments[first:last] = pieces

    # -- ACKs -------------------------------------------------------------
    def on_cumulative_ack(self, ack: int) -> list[SentSegment]:
        """Drop the records SND.UNA has passed; return those newly delivered
        (not SACKed earlier)."""
        segments = self.segments
        n = 0
        for seg in segments:
            if sq.lt(ack, seg.end):
                if sq.lt(seg.start, ack):
                    seg.start = ack  # partly acknowledged: the rest is still out
                break
            n += 1
        if not n:
            return []
        gone = segments[:n]
        del segments[:n]
        if not self.sacked_count:
            return gone
        delivered = [seg for seg in gone if not seg.sacked]
        self.sacked_count -= n - len(delivered)
        return delivered

    def on_sack(self, scoreboard: list[tuple[int, int]]) -> list[SentSegment]:
        """Mark the records the scoreboard's blocks now cover whole; return them."""
        delivered = []
        blocks = iter(scoreboard)
        block = next(blocks, None)
        for seg in self.segments:
            while block is not None and sq.le(block[1], seg.start):
                block = next(blocks, None)
            if block is None:
                break
            if not seg.sacked and sq.le(block[0], seg.start) and sq.le(seg.end, block[1]):
                seg.sacked = True
                seg.lost = False
                delivered.append(seg)
        self.sacked_count += len(delivered)
        return delivered

    def on_delivered(self, delivered: list[SentSegment], now: float) -> None:
        """RFC 8985 6.2 steps 2 and 3, for the segments an ACK newly delivered,
        in sequence order: learn from the one sent last, and notice reordering
        (a segment never resent, delivered below one delivered before)."""
        min_rtt = self.min_rtt
        newest: SentSegment | None = None
        first_original: SentSegment | None = None
        for seg in delivered:
            if seg.retransmitted:
                if min_rtt is not None and now - seg.xmit_ts < min_rtt:
                    continue  # too soon: this ACK is for the original, not the resend
            elif first_original is None:
                first_original = seg
            # in sequence order, a later one sent at the same time is sent after
            if newest is None or seg.xmit_ts >= newest.xmit_ts:
                newest = seg
        if first_original is not None and sq.lt(first_original.end, self.fack):
            self.reordering_seen = True
        last_end = delivered[-1].end
        if sq.lt(self.fack, last_end):
            self.fack = last_end
        if newest is not None:
            self.rtt = now - newest.xmit_ts
            if sent_after(newest.xmit_ts, newest.end, self.xmit_ts, self.end_seq):
                self.xmit_ts, self.end_seq = newest.xmit_ts, newest.end

    def on_rtt_sample(self, rtt: float) -> None:
        if self.min_rtt is None or rtt < self.min_rtt:
            self.min_rtt = rtt

    def on_dsack(self, snd_una: int, snd_nxt: int, dsack: bool) -> None:
        """RFC 8985 6.2 step 4: a D-SACK says a resend was needless; widen the
        reordering window by one step per round trip in which one arrives."""
        if self.dsack_round is not None and sq.ge(snd_una, self.dsack_round):
            self.dsack_round = None
        if dsack and self.dsack_round is None:
            self.dsack_round = snd_nxt
            self.reo_wnd_mult += 1
            self.reo_wnd_persist = REO_WND_PERSIST

    def on_recovery_exit(self) -> None:
        """RFC 8985 6.2 step 4: a widened window narrows again after 16 recoveries."""
        self.reo_wnd_persist -= 1
        if self.reo_wnd_persist <= 0:
            self.reo_wnd_mult = 1

    def reo_wnd(self, recovering: bool, srtt: float, dupthresh: int) -> float:
        """RFC 8985 6.2 step 4 RACK.reo_wnd: none while no reordering has been
        seen and the sender is recovering or DupThresh segments are SACKed;
        else a quarter of the minimum RTT per D-SACK step, at most SRTT."""
        if not self.reordering_seen and (recovering or self.sacked_count >= dupthresh):
            return 0.0
        return min((self.min_rtt or 0.0) / 4 * self.reo_wnd_mult, srtt)

    def detect_loss(self, now: float, reo_wnd: float) -> tuple[int, float | None]:
        """RFC 8985 6.2 step 5 RACK_detect_loss: mark every outstanding segment
        sent before the newest delivered one, and older than RACK.rtt +
        reo_wnd, lost. Returns how many were marked, and when the next one
        would be due (for the reordering timer), if any is waiting."""
        marked = 0
        wait: float | None = None
        for seg in self.segments:
            if seg.sacked or seg.lost:
                continue
            if not sent_after(self.xmit_ts, self.end_seq, seg.xmit_ts, seg.end):
                continue
            remaining = seg.xmit_ts + self.rtt + reo_wnd - now
            if remaining <= 0:
                seg.lost = True
                marked += 1
            elif wait is None or remaining > wait:
                wait = remaining
        return marked, wait

    # -- after a retransmission timeout ---------------------------------
    def mark_losses_on_rto(self, now: float, reo_wnd: float) -> int:
        """RFC 8985 6.3: the first segment out was sent an RTO ago and is lost;
        any other is lost only if older than RACK.rtt + reo_wnd. The rest may
        still arrive and is not resent. Returns how many were newly marked."""
        marked = 0
        for i, seg in enumerate(self.segments):
            if seg.sacked or seg.lost:
                continue
            if i == 0 or seg.xmit_ts + self.rtt + reo_wnd - now <= 0:
                seg.lost = True
                marked += 1
        return marked

    def on_timeout(self) -> None:
        """RFC 6675 5.1: the SACK information is dropped with the scoreboard; what
        was judged lost is resent from SND.UNA anyway."""
        for seg in self.segments:
            seg.sacked = seg.lost = False
        self.sacked_count = 0

    def lost_bytes(self) -> int:
        """Sequence space judged lost and not resent since (out of the pipe)."""
        return sum(sq.sub(seg.end, seg.start) for seg in self.segments if seg.lost)

    def first_lost(self) -> SentSegment | None:
        return next((seg for seg in self.segments if seg.lost), None)
