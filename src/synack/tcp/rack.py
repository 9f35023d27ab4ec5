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

Every ACK works on the records in time logarithmic in their number
(amortised), so that a receiver SACKing thousands of holes costs no more per
ACK than one SACKing a few (see ``benchmarks/sack_scoreboard.py``):

- ``segments``, in sequence order, is searched by bisection (the key is a
  record's distance from ``base``, the last cumulative ACK, which every
  record lies above); an ACK visits only the records its newly SACKed bytes
  touch (:meth:`Rack.on_newly_sacked`) and those it acknowledges;
- the bytes judged lost are a running total (``lost_total``), and the first
  lost record the top of a heap of lost records' starts (stale entries are
  dropped when they reach the top);
- ``sendq`` holds the records in RACK's send order (``xmit_ts``, then the
  unwrapped end): :meth:`Rack.detect_loss` walks it from the front only over
  records sent before the newest one delivered (RFC 8985 6.2 step 5), and
  records leave it for good once SACKed, marked lost, acknowledged or
  replaced (lazily: skipped at the front, and dropped by ``_compact`` once
  they are half the queue), as Linux's time-sorted list does. It is built at
  the first loss walk and kept until what was in flight then is
  acknowledged, so a transfer without loss never pays for it.

With segmentation offload, a super-segment is one record of the SMSS-sized
pieces the device cuts it into (``mss``, counted from ``origin``), as Linux
keeps one skb: it is split at a piece's edge only when a rule must tell its
pieces apart (Linux's tcp_fragment): a cumulative ACK or a SACKed range
ending inside it, a resend of part of it, or a loss rule that judges only some
of its pieces. Every rule then decides as it would on one record per piece,
and counts in pieces (``pieces()``).
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from itertools import chain
from typing import Final

from synack.wire import seq as sq

# RFC 8985 6.2 step 4: after a D-SACK widens the reordering window, keep it
# wide for this many recoveries.
REO_WND_PERSIST: Final = 16

_MASK: Final = sq.MASK
_HALF: Final = sq.HALF


class SentSegment:
    """One transmission: ``[start, end)`` in sequence space (a FIN counts one)."""

    __slots__ = (
        "start", "end", "xmit_ts", "retransmitted", "sacked", "lost", "gone", "order", "mss",
        "origin",
    )  # fmt: skip

    def __init__(
        self,
        start: int,
        end: int,
        xmit_ts: float,
        retransmitted: bool = False,
        order: int = 0,
        mss: int = 0,
    ) -> None:
        self.start = start
        self.end = end
        self.xmit_ts = xmit_ts
        self.retransmitted = retransmitted
        self.sacked = False
        self.lost = False  # judged lost and not resent since
        self.gone = False  # replaced by a resend (acknowledged: order <= Rack.base_abs)
        self.order = order  # ``end`` unwrapped: with xmit_ts, its place in RACK's send order
        # a super-segment's pieces: ``mss`` bytes each from ``origin`` (0: one piece)
        self.mss = mss
        self.origin = start

    def pieces(self) -> int:
        """How many segments the device sent for this record (Linux's pcount)."""
        m = self.mss
        if not m:
            return 1
        origin = self.origin
        return ((self.end - origin - 1) & _MASK) // m - ((self.start - origin) & _MASK) // m + 1

    def floor(self, seq: int) -> int:
        """The last edge of a piece at or below ``seq`` (not below ``start``)."""
        if not sq.lt(seq, self.end):
            return self.end
        m = self.mss
        if not m or not sq.gt(seq, self.start):
            return self.start
        edge = (seq - ((seq - self.origin) & _MASK) % m) & _MASK
        return edge if sq.gt(edge, self.start) else self.start

    def ceil(self, seq: int) -> int:
        """The first edge of a piece at or above ``seq`` (not above ``end``)."""
        if not sq.gt(seq, self.start):
            return self.start
        m = self.mss
        if not m or not sq.lt(seq, self.end):
            return self.end
        edge = (seq + (-((seq - self.origin) & _MASK)) % m) & _MASK
        return edge if sq.lt(edge, self.end) else self.end

    def piece(self, start: int, end: int, order: int = 0) -> SentSegment:
        """Part of this transmission, when a resend covers the rest."""
        part = SentSegment(start, end, self.xmit_ts, self.retransmitted, order)
        part.lost = self.lost
        return part

    def __repr__(self) -> str:
        marks = (self.retransmitted, self.sacked, self.lost)
        flags = "".join(c for c, on in zip("RSL", marks, strict=True) if on)
        return f"SentSegment({self.start}-{self.end} @{self.xmit_ts:.6f} {flags})"


# Read only: the empty lists a Rack shares until a list of its own is needed
# (a flight without loss never needs lost_heap, sendq nor recheck).
_NO_RECORDS: list[SentSegment] = []
_NO_LOST: list[tuple[int, int, SentSegment]] = []


def sent_after(t1: float, seq1: int, t2: float, seq2: int) -> bool:
    """RFC 8985 6.2 RACK_sent_after: was (t1, seq1) sent after (t2, seq2)?"""
    return t1 > t2 or (t1 == t2 and sq.gt(seq1, seq2))


def _send_order(seg: SentSegment) -> tuple[float, int]:
    return seg.xmit_ts, seg.order


class Rack:
    """The in-flight records and the RACK state of one connection."""

    __slots__ = (
        "segments", "sacked_count", "xmit_ts", "end_seq", "rtt", "min_rtt", "fack",
        "reordering_seen", "reo_wnd_mult", "reo_wnd_persist", "dsack_round",
        "base", "base_abs", "lost_total", "lost_heap", "pushes", "sendq", "sendq_head",
        "sendq_until", "recheck", "dupthresh_next", "extra_pieces",
    )  # fmt: skip

    def __init__(self) -> None:
        self.segments: list[SentSegment] = []  # in sequence order, from SND.UNA
        self.sacked_count = 0  # RACK.segs_sacked (in pieces)
        self.extra_pieces = 0  # pieces beyond one per record (segmentation offload)
        self.xmit_ts = -1.0  # RACK.xmit_ts: the latest send time of a delivered segment
        self.end_seq = 0  # RACK.end_seq, its end
        self.rtt = 0.0  # RACK.rtt: from the newest segment the last ACK delivered
        self.min_rtt: float | None = None  # RACK.min_RTT
        self.fack = 0  # RACK.fack: the highest end delivered
        self.reordering_seen = False  # RACK.reordering_seen
        self.reo_wnd_mult = 1
        self.reo_wnd_persist = 0
        self.dsack_round: int | None = None
        # Sequence numbers unwrapped: base (the last cumulative ACK, at or below
        # every record) is base_abs; see unwrap().
        self.base = 0
        self.base_abs = 0
        self.lost_total = 0  # bytes of the records marked lost (out of the pipe)
        # (unwrapped start, push number, record) of each record marked lost
        self.lost_heap = _NO_LOST
        self.pushes = 0
        # every record in RACK's send order, from sendq_head; entries before it,
        # and any no longer unmarked (SACKed, lost, acknowledged, replaced), are
        # done with and skipped, or dropped by _compact(). Kept only from the
        # first loss walk until what was in flight then is acknowledged (the
        # unwrapped sequence number sendq_until; None: not kept): a transfer
        # without loss never pays for it, and each build is paid for by the
        # records it holds, each built into it once.
        self.sendq = _NO_RECORDS
        self.sendq_head = 0
        self.sendq_until: int | None = None
        # records made or changed since the last SACK, which may lie whole in a
        # SACKed range without touching its newly SACKed bytes: on_sack checks them
        self.recheck = _NO_RECORDS
        # RFC 6675 IsLost: records starting below this (unwrapped) were all judged
        self.dupthresh_next = 0

    def start(self, iss: int) -> None:
        """The ISN is chosen: sequence numbers count from it."""
        self.fack = self.base = iss  # RFC 8985 6.2: no delivery yet, none reordered
        self.base_abs = 0

    def unwrap(self, seq: int) -> int:
        """``seq`` as an unbounded integer, in the same order as sequence space
        (within 2**31 of the last cumulative ACK)."""
        return self.base_abs + ((seq - self.base + _HALF) & _MASK) - _HALF

    def _index(self, seq: int) -> int:
        """The index of the first record ending above ``seq`` (bisection)."""
        segments = self.segments
        base = self.base
        i = bisect_right(segments, (seq - base) & _MASK, key=lambda s: (s.start - base) & _MASK)
        if i and sq.lt(seq, segments[i - 1].end):
            i -= 1
        return i

    def _split(self, i: int, at: int) -> SentSegment:
        """Cut record ``i`` at ``at``, an edge of its pieces inside it (Linux's
        tcp_fragment): it keeps the head; the tail, its marks alike, follows it."""
        seg = self.segments[i]
        tail = SentSegment(at, seg.end, seg.xmit_ts, seg.retransmitted, seg.order, seg.mss)
        tail.origin = seg.origin
        tail.sacked = seg.sacked
        tail.lost = seg.lost
        seg.end = at
        seg.order = self.base_abs + ((at - self.base) & _MASK)
        self.segments.insert(i + 1, tail)
        self.extra_pieces -= 1  # the same pieces, one record more
        if tail.lost:  # its bytes were counted lost with the head's
            self.pushes += 1
            if self.lost_heap is _NO_LOST:
                self.lost_heap = []
            heapq.heappush(self.lost_heap, (self.unwrap(at), self.pushes, tail))
        elif not tail.sacked and self.sendq_until is not None:
            self._enqueue(tail)
        recheck = self.recheck
        if recheck is not _NO_RECORDS and any(r is seg for r in recheck):
            recheck.append(tail)
        return tail

    def _cut(self, seq: int) -> None:
        """Make the piece edge at or below ``seq`` a record's edge."""
        i = self._index(seq)
        if i < len(self.segments):
            seg = self.segments[i]
            at = seg.floor(seq)
            if at != seg.start and at != seg.end:
                self._split(i, at)

    def lost_run_end(self, start: int, limit: int) -> int:
        """The end of the run of lost, not yet resent records from ``start``
        (contiguous, at most ``limit`` bytes, whole pieces): what one resend
        may cover."""
        segments = self.segments
        end = start
        for i in range(self._index(start), len(segments)):
            seg = segments[i]
            if seg.start != end or not seg.lost or seg.gone:
                break
            if sq.sub(seg.end, start) > limit:
                return seg.floor(sq.add(start, limit))
            end = seg.end
        return end

    # -- sending --------------------------------------------------------
    def on_send(self, start: int, end: int, now: float, retransmission: bool, mss: int = 0) -> None:
        """Record a transmission (``mss``: of pieces that size, see SentSegment).
        New data is appended; a resend replaces what it covers by one record,
        split from its neighbours where needed."""
        segments = self.segments
        if not retransmission:
            seg = SentSegment(start, end, now, mss=mss)
            segments.append(seg)
            if mss:
                self.extra_pieces += seg.pieces() - 1
            if self.sendq_until is not None:
                seg.order = self.base_abs + ((end - self.base) & _MASK)
                q = self.sendq  # it ends above all: last, unless sent earlier
                if q and q[-1].xmit_ts > now:
                    self._enqueue(seg)
                else:
                    q.append(seg)
            return
        order = self.base_abs + ((end - self.base) & _MASK)
        # the records it overlaps are segments[first:last] (sequence order);
        # the head of the first and the tail of the last stay as they were,
        # and so do the pieces of theirs it does not touch
        if self.extra_pieces:  # some record holds several (offload only)
            self._cut(start)
            i = self._index(sq.sub(end, 1))
            if i < len(segments):
                seg = segments[i]
                at = seg.ceil(end)
                if at != seg.start and at != seg.end:
                    self._split(i, at)
        first = last = self._index(start)
        pieces = [SentSegment(start, end, now, True, order, mss)]
        size = len(segments)
        while last < size:
            seg = segments[last]
            if sq.ge(seg.start, end):
                break
            last += 1
            if sq.lt(seg.start, start):
                pieces.insert(0, seg.piece(seg.start, start, self.unwrap(start)))
            if sq.gt(seg.end, end):
                pieces.append(seg.piece(end, seg.end, self.unwrap(seg.end)))
            n = seg.pieces()
            self.extra_pieces -= n - 1
            if seg.sacked:
                self.sacked_count -= n
            if seg.lost:
                self.lost_total -= sq.sub(seg.end, seg.start)
            seg.gone = True
        segments[first:last] = pieces
        for seg in pieces:
            self.extra_pieces += seg.pieces() - 1
            if seg.lost:
                self._push_lost(seg)
            elif self.sendq_until is not None:
                self._enqueue(seg)
        if self.recheck is _NO_RECORDS:
            self.recheck = pieces
        else:
            self.recheck += pieces

    def _enqueue(self, seg: SentSegment) -> None:
        """Put ``seg`` in RACK's send order (by bisection, unless it goes last)."""
        q = self.sendq
        if not q or _send_order(q[-1]) < _send_order(seg):
            q.append(seg)
        else:
            q.insert(bisect_left(q, _send_order(seg), self.sendq_head, key=_send_order), seg)

    def _push_lost(self, seg: SentSegment) -> None:
        self.lost_total += sq.sub(seg.end, seg.start)
        self.pushes += 1
        heap = self.lost_heap
        if heap is _NO_LOST:
            heap = self.lost_heap = []
        heapq.heappush(heap, (self.unwrap(seg.start), self.pushes, seg))

    def mark_lost(self, seg: SentSegment) -> None:
        seg.lost = True
        self._push_lost(seg)

    def unmark_lost(self, seg: SentSegment) -> None:
        """No data of ours is left in ``seg``'s range: it is no longer lost, and
        the loss rules may judge it again."""
        if seg.lost:
            seg.lost = False
            self.lost_total -= sq.sub(seg.end, seg.start)
            if not seg.gone:
                if self.sendq_until is not None:
                    self._enqueue(seg)
                self.dupthresh_next = min(self.dupthresh_next, self.unwrap(seg.start))

    # -- ACKs -------------------------------------------------------------
    def on_cumulative_ack(self, ack: int) -> list[SentSegment]:
        """Drop the records SND.UNA has passed; return those newly delivered
        (not SACKed earlier)."""
        segments = self.segments
        n = 0
        size = len(segments)
        while n < size:
            seg = segments[n]
            if sq.lt(ack, seg.end):
                if sq.lt(seg.start, ack):
                    at = seg.floor(ack)
                    if at != seg.start:  # its pieces below ``ack`` are delivered
                        self._split(n, at)
                        n += 1
                        seg = segments[n]
                    if seg.lost:
                        self.lost_total -= sq.sub(ack, seg.start)
                    seg.start = ack  # partly acknowledged: the rest is still out
                break
            n += 1
        self.base_abs += (ack - self.base) & _MASK
        self.base = ack
        if not n:
            return []
        gone = segments[:n]
        del segments[:n]
        extra = self.extra_pieces
        if extra:
            self.extra_pieces -= sum(seg.pieces() - 1 for seg in gone)
        if self.sendq_until is not None:
            if self.base_abs >= self.sendq_until:
                self.sendq_until = None  # all that was in flight at the build is gone
                self.sendq = _NO_RECORDS
                self.sendq_head = 0
            elif len(self.sendq) > 2 * len(segments) + 64:
                self._compact()
        if self.lost_heap:  # it holds every record lost, and perhaps stale entries
            for seg in gone:
                if seg.lost:
                    seg.lost = False
                    self.lost_total -= sq.sub(seg.end, seg.start)
            if not self.lost_total:
                self.lost_heap = _NO_LOST  # nothing is lost: every entry is stale
        if not self.sacked_count:
            return gone
        delivered = [seg for seg in gone if not seg.sacked]
        if extra:
            self.sacked_count -= sum(seg.pieces() for seg in gone if seg.sacked)
        else:
            self.sacked_count -= n - len(delivered)
        return delivered

    def _build_sendq(self) -> None:
        """The records not yet judged, in RACK's send order, kept from now until
        what is in flight now is acknowledged."""
        base, base_abs = self.base, self.base_abs
        segments = self.segments
        for seg in segments:
            seg.order = base_abs + ((seg.end - base) & _MASK)
        self.sendq = sorted((s for s in segments if not (s.sacked or s.lost)), key=_send_order)
        self.sendq_head = 0
        self.sendq_until = segments[-1].order if segments else base_abs

    def _compact(self) -> None:
        """Drop from the send order what is done with: acknowledged, replaced,
        SACKed or lost. Done once the queue is twice the records (and 64 more),
        so each entry is dropped once, at constant cost (amortised)."""
        base_abs = self.base_abs
        self.sendq = [
            s
            for s in self.sendq[self.sendq_head :]
            if not (s.gone or s.sacked or s.lost or s.order <= base_abs)
        ]
        self.sendq_head = 0

    def on_sack(self, scoreboard: Sequence[Sequence[int]]) -> list[SentSegment]:
        """Mark the records the scoreboard's ranges ``(start, end)`` cover whole;
        return them. This looks at every range: the per-ACK path tells
        :meth:`on_newly_sacked` only what changed."""

        def covered(start: int, end: int) -> bool:
            return any(sq.le(r[0], start) and sq.le(end, r[1]) for r in scoreboard)

        return self.on_newly_sacked([(r[0], r[1], r[0], r[1]) for r in scoreboard], covered)

    def on_newly_sacked(
        self, newly: list[tuple[int, int, int, int]], covered: Callable[[int, int], bool]
    ) -> list[SentSegment]:
        """Mark the records the scoreboard now covers whole; return them, in
        sequence order. ``newly``: each stretch of sequence space this ACK
        newly SACKed, ``(start, end)``, with the scoreboard range now holding
        it ``(range_start, range_end)``; ``covered(start, end)``: whether the
        scoreboard holds all of ``[start, end)``. Only records that touch a
        newly SACKed stretch can have become covered, and records made since
        the last SACK (resends, and the one a cumulative ACK cut)."""
        delivered = []
        segments = self.segments
        for start, end, r_start, r_end in newly:
            i = self._index(start)
            while i < len(segments):
                seg = segments[i]
                if not sq.lt(seg.start, end):
                    break
                if seg.sacked:
                    pass
                elif not seg.mss:
                    if sq.le(r_start, seg.start) and sq.le(seg.end, r_end):
                        self._sack(seg)
                        delivered.append(seg)
                else:  # the pieces the range holds whole (tcp_match_skb_to_sack)
                    lo, hi = seg.ceil(r_start), seg.floor(r_end)
                    if sq.lt(lo, hi):
                        if lo != seg.start:
                            seg = self._split(i, lo)
                            i += 1
                        if hi != seg.end:
                            self._split(i, hi)
                        self._sack(seg)
                        delivered.append(seg)
                i += 1
        # (with the tails _split appended); a record split from here on is
        # judged piece by piece with its tails, which need no second look
        recheck, self.recheck = self.recheck, _NO_RECORDS
        for k, seg in enumerate(chain(recheck, segments[:1])):  # [:1]: the one an ACK may have cut
            if seg.gone or seg.sacked:
                continue
            if not seg.mss:
                if covered(seg.start, seg.end):
                    self._sack(seg)
                    delivered.append(seg)
            else:  # every piece of one made since; of the one cut, only its first is new
                delivered += self._sack_pieces(seg, covered, k < len(recheck))
        if len(delivered) > 1:
            base = self.base
            delivered.sort(key=lambda s: (s.start - base) & _MASK)
        return delivered

    def _sack_pieces(
        self, seg: SentSegment, covered: Callable[[int, int], bool], every: bool
    ) -> list[SentSegment]:
        """SACK the pieces of ``seg`` the scoreboard holds whole (``every``
        piece, or only the first), each split off; return them."""
        edges = [seg.start, seg.ceil(sq.add(seg.start, 1))]
        while every and edges[-1] != seg.end:
            edges.append(seg.ceil(sq.add(edges[-1], 1)))
        i = self._index(seg.start)
        sacked = []
        for k in range(len(edges) - 2, -1, -1):  # from the last: seg stays the head
            p, q = edges[k], edges[k + 1]
            if covered(p, q):
                if q != seg.end:
                    self._split(i, q)
                part = self._split(i, p) if p != seg.start else seg
                self._sack(part)
                sacked.append(part)
        sacked.reverse()
        return sacked

    def on_nothing_sacked(self) -> None:
        """Nothing is SACKed: no record lies in a range, none needs checking."""
        self.recheck = _NO_RECORDS

    def _sack(self, seg: SentSegment) -> None:
        seg.sacked = True
        self.sacked_count += seg.pieces() if seg.mss else 1
        if seg.lost:
            seg.lost = False
            self.lost_total -= sq.sub(seg.end, seg.start)

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
        """RFC 8985 6.2 step 3 RACK.min_RTT; a negative sample is none (as
        for the RTO's estimator)."""
        if (self.min_rtt is None or rtt < self.min_rtt) and rtt >= 0:
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
        would be due (for the reordering timer), if any is waiting.

        In send order, the records sent before the newest delivered one come
        first, and among them the overdue ones first: the walk marks from the
        front and stops at the first record that is not overdue. The timer
        waits for the last one sent before the newest delivered, found by
        bisection and a walk back over what is done with."""
        if self.sendq_until is None:
            self._build_sendq()
        xmit_ts, end_seq, rtt = self.xmit_ts, self.end_seq, self.rtt
        q = self.sendq
        head = self.sendq_head
        size = len(q)
        base_abs = self.base_abs
        marked = 0
        waiting = -1
        while head < size:
            seg = q[head]
            if seg.gone or seg.sacked or seg.lost or seg.order <= base_abs:
                head += 1
                continue
            if not sent_after(xmit_ts, end_seq, seg.xmit_ts, seg.end):
                break
            if seg.xmit_ts + rtt + reo_wnd - now > 0:
                waiting = head
                break
            self.mark_lost(seg)
            marked += seg.pieces() if seg.mss else 1
            head += 1
        self.sendq_head = head
        if waiting < 0:
            return marked, None
        # the last record sent before RACK's, still unmarked, waits the longest
        i = bisect_left(q, (xmit_ts, self.unwrap(end_seq)), waiting, size, key=_send_order) - 1
        while i > waiting and (
            (seg := q[i]).gone or seg.sacked or seg.lost or seg.order <= base_abs
        ):
            i -= 1
        return marked, q[i].xmit_ts + rtt + reo_wnd - now

    # -- after a retransmission timeout ---------------------------------
    def mark_losses_on_rto(self, now: float, reo_wnd: float) -> int:
        """RFC 8985 6.3: the first segment out was sent an RTO ago and is lost;
        any other is lost only if older than RACK.rtt + reo_wnd. The rest may
        still arrive and is not resent. Returns how many were newly marked."""
        marked = 0
        segments = self.segments
        if segments and not (segments[0].sacked or segments[0].lost):
            seg = segments[0]
            at = seg.ceil(sq.add(seg.start, 1))
            if at != seg.end:  # its first piece alone
                self._split(0, at)
            self.mark_lost(seg)
            marked += 1
        if self.sendq_until is None:
            self._build_sendq()
        q = self.sendq
        head = self.sendq_head
        size = len(q)
        base_abs = self.base_abs
        while head < size:
            seg = q[head]
            if seg.gone or seg.sacked or seg.lost or seg.order <= base_abs:
                head += 1
                continue
            if seg.xmit_ts + self.rtt + reo_wnd - now > 0:
                break
            self.mark_lost(seg)
            marked += seg.pieces() if seg.mss else 1
            head += 1
        self.sendq_head = head
        return marked

    def on_timeout(self) -> None:
        """RFC 6675 5.1: the SACK information is dropped with the scoreboard; what
        was judged lost is resent from SND.UNA anyway."""
        for seg in self.segments:
            seg.sacked = seg.lost = False
        self.sacked_count = 0
        self.lost_total = 0
        self.lost_heap = _NO_LOST
        self.recheck = _NO_RECORDS
        self.sendq_until = None  # built again when needed
        self.sendq = _NO_RECORDS
        self.sendq_head = 0
        self.dupthresh_next = self.base_abs

    def mark_dupthresh(self, last: int) -> int:
        """RFC 6675 4 IsLost for every record starting at or below ``last``:
        one never resent, not SACKed nor already lost, is lost. Records below
        the last call's bound were judged then. Returns how many were marked."""
        segments = self.segments
        base = self.base
        j = self._index(last) if self.extra_pieces else len(segments)  # offload only
        if j < len(segments) and (seg := segments[j]).mss:
            at = seg.ceil(sq.add(last, 1))  # its pieces starting above ``last`` are not judged
            if at != seg.start and at != seg.end:
                self._split(j, at)
        first = self.dupthresh_next
        i = bisect_left(segments, first - self.base_abs, key=lambda s: (s.start - base) & _MASK)
        top = (last - base) & _MASK
        marked = 0
        size = len(segments)
        while i < size and ((seg := segments[i]).start - base) & _MASK <= top:
            if not (seg.sacked or seg.lost or seg.retransmitted):
                self.mark_lost(seg)
                marked += seg.pieces() if seg.mss else 1
            i += 1
        self.dupthresh_next = max(first, self.base_abs + top + 1)
        return marked

    def lost_bytes(self) -> int:
        """Sequence space judged lost and not resent since (out of the pipe)."""
        return self.lost_total

    def first_lost(self) -> SentSegment | None:
        heap = self.lost_heap
        while heap:
            seg = heap[0][2]
            if seg.lost and not seg.gone:
                return seg
            heapq.heappop(heap)
        self.lost_heap = _NO_LOST  # every entry was stale
        return None
