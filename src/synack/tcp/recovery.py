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
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from typing import Final

from synack.tcp.config import TcpConfig, shared_int
from synack.tcp.congestion import CongestionControl, make_congestion_control
from synack.tcp.rack import Rack, SentSegment
from synack.tcp.rto import RttEstimator
from synack.tcp.stats import ConnectionStats
from synack.wire import seq as sq

SackBlocks = tuple[tuple[int, int], ...]

# RFC 8985 7.2: WCDelAckT, how long a peer may hold the ACK of a lone segment.
WORST_CASE_DELAYED_ACK: Final = 0.2

# The largest window a peer can advertise (RFC 7323 2.3: 65535 << 14, about
# 2**30): how far below SND.UNA a SACK block may start, unless the caller knows
# the largest window this peer has offered.
MAX_WINDOW: Final = 1 << 30

# The scoreboard's bound. A receiver SACKs what it received, and it received
# our segments whole, so each range holds at least one of our transmissions
# and there are no more ranges than records in flight. Twice that leaves room
# for a peer that cuts segments up (a resegmenting middlebox), and the floor
# for what has no record (a window probe's byte). Only a receiver inventing
# holes inside our segments reaches it: the blocks that would make a new range
# beyond it are ignored and counted (ConnectionStats.sack_blocks_over_limit),
# so memory stays linear in the flight, whatever the peer sends.
SCOREBOARD_RANGES_PER_RECORD: Final = 2
SCOREBOARD_MIN_RANGES: Final = 16

_MASK: Final = sq.MASK
_HALF: Final = sq.HALF
_NOTHING_NEW: list[tuple[int, int]] = []  # read only


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


def _valid(block: tuple[int, int], oldest: int, snd_max: int) -> bool:
    """A SACK block that can be true: not empty nor inverted, nothing beyond
    SND.MAX, nothing below ``oldest``."""
    left, right = block
    return sq.lt(left, right) and sq.le(right, snd_max) and sq.le(oldest, left)


class Scoreboard:
    """The sequence ranges the peer has SACKed above SND.UNA (RFC 6675 4):
    disjoint, neither overlapping nor adjacent, in sequence order.

    The ranges are ``(start, end)`` pairs of unwrapped sequence numbers
    (plain integers in the order of sequence space, see :meth:`unwrap`), kept
    sorted in chunks of at most ``2 * CHUNK`` (``chunks``), with the last end
    of each chunk in ``tops``: finding a place is two bisections, and a list
    insert or delete moves at most one chunk and the short ``tops``. ``total``,
    the bytes they hold, is kept as they change. A block costs O(log n) plus
    the ranges it merges (each made once: amortised); forgetting what a
    cumulative ACK covers costs the ranges it drops."""

    __slots__ = ("chunks", "tops", "count", "total", "anchor", "anchor_abs")

    CHUNK: Final = 256  # Final: a class constant for mypyc too, not a per-instance default

    def __init__(self) -> None:
        self.chunks: list[list[tuple[int, int]]] = []  # none empty
        self.tops: list[int] = []  # the last end in each chunk
        self.count = 0  # ranges
        self.total = 0  # bytes SACKed
        # the last cumulative ACK, and its unwrapped value
        self.anchor = 0
        self.anchor_abs = 0

    def __bool__(self) -> bool:
        return bool(self.count)

    def __len__(self) -> int:
        return self.count

    @property
    def ranges(self) -> list[tuple[int, int]]:
        """The ranges as ``(start, end)`` sequence numbers."""
        return [(s & _MASK, e & _MASK) for chunk in self.chunks for s, e in chunk]

    def clear(self) -> None:
        self.chunks = []
        self.tops = []
        self.count = self.total = 0

    def unwrap(self, seq: int) -> int:
        """``seq`` as an unbounded integer (within 2**31 of the last ACK)."""
        return self.anchor_abs + ((seq - self.anchor + _HALF) & _MASK) - _HALF

    def _find(self, point: int) -> tuple[int, int]:
        """(chunk, index) of the first range ending at or after ``point``;
        ``(len(chunks), 0)`` if none does."""
        c = bisect_left(self.tops, point)
        if c == len(self.chunks):
            return c, 0
        return c, bisect_left(self.chunks[c], point, key=_end)

    def _forget_below(self, ack_abs: int) -> None:
        chunks, tops = self.chunks, self.tops
        while chunks and tops[0] <= ack_abs:
            chunk = chunks.pop(0)
            del tops[0]
            self.count -= len(chunk)
            self.total -= sum(e - s for s, e in chunk)
        if chunks:
            chunk = chunks[0]
            k = bisect_right(chunk, ack_abs, key=_end)
            if k:
                self.count -= k
                self.total -= sum(e - s for s, e in chunk[:k])
                del chunk[:k]
            s, e = chunk[0]
            if s < ack_abs:
                self.total -= ack_abs - s
                chunk[0] = (ack_abs, e)

    def update(
        self, blocks: SackBlocks, ack: int, snd_max: int, limit: int | None = None
    ) -> tuple[list[tuple[int, int]], int]:
        """RFC 6675 4 Update(): merge an ACK's SACK blocks in and forget what
        its cumulative ACK covers. A block at or below the ACK (a D-SACK, RFC
        2883), beyond what was sent, or inverted says nothing about the
        scoreboard. With a ``limit``, a block that would make a range beyond it
        is refused. Returns the stretches newly SACKed (unwrapped ``(start,
        end)``) and how many blocks were refused."""
        if not self.count:
            self.anchor_abs = self.anchor = ack
        ack_abs = self.anchor_abs = self.unwrap(ack)
        self.anchor = ack
        if self.count and self.chunks[0][0][0] < ack_abs:
            self._forget_below(ack_abs)
        newly = _NOTHING_NEW
        refused = 0
        chunks, tops = self.chunks, self.tops
        for left, right in blocks:
            if not (sq.lt(ack, right) and sq.le(right, snd_max) and sq.lt(left, right)):
                continue
            a = max(self.unwrap(left), ack_abs)
            b = self.unwrap(right)
            c, k = self._find(a)
            if c == len(chunks) or chunks[c][k][0] > b:  # touches no range: a new one
                if limit is not None and self.count >= limit:
                    refused += 1
                    continue
                if c == len(chunks):
                    if not chunks:
                        chunks.append([])
                        tops.append(b)
                    c = len(chunks) - 1
                    k = len(chunks[c])
                chunk = chunks[c]
                chunk.insert(k, (a, b))
                self.count += 1
                added = [(a, b)]
            else:  # it overlaps or touches ranges from (c, k) on: merge them
                chunk = chunks[c]
                first, last = chunk[k]
                if first <= a and b <= last:
                    continue  # nothing new
                added = [(a, first)] if a < first else []
                new_start = min(a, first)
                del chunk[k]
                self.count -= 1
                while True:  # the following ranges that start at or before b
                    if k == len(chunk):
                        if c + 1 == len(chunks) or chunks[c + 1][0][0] > b:
                            break
                        if not chunk:
                            del chunks[c], tops[c]
                        else:
                            tops[c] = chunk[-1][1]
                            c += 1
                        chunk, k = chunks[c], 0
                    s, e = chunk[k]
                    if s > b:
                        break
                    added.append((last, s))
                    last = e
                    del chunk[k]
                    self.count -= 1
                if last < b:
                    added.append((last, b))
                chunk.insert(k, (new_start, max(b, last)))
                self.count += 1
            tops[c] = chunk[-1][1]
            if len(chunk) > 2 * self.CHUNK:
                chunks.insert(c + 1, chunk[self.CHUNK :])
                del chunk[self.CHUNK :]
                tops.insert(c, chunk[-1][1])
            if newly is _NOTHING_NEW:
                newly = []
            for gap_start, gap_end in added:
                self.total += gap_end - gap_start
                newly.append((gap_start, gap_end))
        return newly, refused

    def sacked_above(self, seq: int) -> int:
        """Bytes SACKed above ``seq``."""
        x = self.unwrap(seq)
        if not self.count or x <= self.chunks[0][0][0]:
            return self.total
        return sum(e - max(s, x) for chunk in self.chunks for s, e in chunk if e > x)

    def _holding(self, point: int) -> tuple[int, int] | None:
        """The range holding the unwrapped ``point``, if one does."""
        c = bisect_right(self.tops, point)
        if c == len(self.chunks):
            return None
        chunk = self.chunks[c]
        s, e = chunk[bisect_right(chunk, point, key=_end)]
        return (s, e) if s <= point else None

    def covers(self, start: int, end: int) -> bool:
        """Whether one range holds all of ``[start, end)``."""
        found = self._holding(self.unwrap(start))
        return found is not None and self.unwrap(end) <= found[1]

    def holding(self, point: int) -> tuple[int, int]:
        """The range holding the unwrapped ``point``, as sequence numbers."""
        found = self._holding(point)
        assert found is not None
        return found[0] & _MASK, found[1] & _MASK

    def lost_point(self, threshold: int) -> int | None:
        """The highest sequence number with more than ``threshold`` bytes SACKed
        above it (RFC 6675 4 IsLost holds at and below it), or None. Walks down
        from the top until the bytes exceed ``threshold``: at most
        ``threshold + 1`` ranges, whatever the scoreboard's size."""
        if self.total <= threshold:
            return None
        above = 0
        for chunk in reversed(self.chunks):
            for s, e in reversed(chunk):
                if above + e - s > threshold:
                    return (e + above - threshold - 1) & _MASK
                above += e - s
        raise AssertionError("unreachable: total > threshold")


def _end(pair: tuple[int, int]) -> int:
    return pair[1]


class LossRecovery:
    """Loss detection, recovery and the congestion controller of one
    connection (see the module docstring)."""

    __slots__ = (
        "config", "stats", "rtt", "cc", "mss", "iss", "scoreboard", "rack", "sack_sender",
        "in_recovery", "sack_recovery", "rto_recovery", "recover", "dupacks", "delivered",
        "prr_delivered", "prr_out", "recover_fs", "ecn_recover", "reductions",
        "reorder_deadline", "probe_deadline", "probe_out", "probe_episode", "max_flight",
        "usage_seq", "cwnd_full", "prr_extra_ok", "dup_delivered", "reordering",
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
        # Both made when first needed (most connections never SACK, and an
        # idle one has nothing in flight): None holds nothing.
        self.scoreboard: Scoreboard | None = None  # while a SACKed range is held
        self.rack: Rack | None = None  # from a SACK sender's first record: see _make_rack
        self.sack_sender = False  # the peer SACKs and we recover by it
        self.in_recovery = False  # fast recovery, NewReno's or RFC 6675's
        self.sack_recovery = False  # the recovery in progress is RFC 6675's
        self.rto_recovery = False  # after an RTO, RACK resends only what it marked lost
        self.recover = 0  # RFC 6582 "recover": SND.MAX when recovery began
        self.dupacks = 0
        self.max_flight = 0  # the largest flight of this round (cwnd validation)
        self.usage_seq = 0  # where this round ends: SND.NXT when it began
        self.cwnd_full = False  # a send found cwnd full this round
        self.prr_extra_ok = False  # the ACK being processed advanced SND.UNA, no new loss
        self.dup_delivered = 0  # without SACK: bytes duplicate ACKs said arrived
        self.reordering = config.dupack_threshold  # the most reordering seen, in segments
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
        self.recover = self.ecn_recover = self.usage_seq = iss

    def on_handshake(self, mss: int, sack_ok: bool) -> None:
        """The SYN's options are known: the real SMSS, SACK, a fresh controller
        (a SYN's timeouts ask for no CWR: ECN was not agreed yet)."""
        cfg = self.config
        self.mss = mss = shared_int(mss)
        self.reductions = 0
        self.sack_sender = sack_ok and cfg.sack_recovery
        self.cc = make_congestion_control(
            cfg.congestion_control, mss, cfg.initial_window_for(mss), cfg.hystart,
            cfg.slow_start_ack_limit,
        )  # fmt: skip

    def on_syn_rtt_sample(self, rtt: float) -> None:
        """The handshake's RTT measurement (the controller starts after it)."""
        self._on_rtt_sample(rtt, controller=False)

    def _make_rack(self) -> Rack:
        """RACK's state and the in-flight records, made when first needed: at
        a SACK sender's first record, or at a second RTT sample. Until then
        RACK.min_RTT (RFC 8985 6.1) is the one sample taken, which is SRTT
        (RFC 6298 2.2): the new Rack learns it."""
        rack = self.rack = Rack()
        rack.start(self.iss)
        if self.rtt.srtt is not None:
            rack.on_rtt_sample(self.rtt.srtt)
        return rack

    @property
    def records(self) -> Sequence[SentSegment]:
        """The in-flight records, in sequence order (none before the first),
        one per segment the device sent: a super-segment's pieces are copies,
        to read (tcp_info's counts, a "packet too big" resend)."""
        rack = self.rack
        if rack is None:
            return ()
        if not rack.extra_pieces:
            return rack.segments
        pieces = []
        for seg in rack.segments:
            start = seg.start
            while start != seg.end:
                end = seg.ceil(sq.add(start, 1))
                piece = seg.piece(start, end, seg.order) if seg.mss else seg
                piece.sacked = seg.sacked
                pieces.append(piece)
                start = end
        return pieces

    @property
    def min_rtt(self) -> float | None:
        """RACK.min_RTT (RFC 8985 6.1), the smallest RTT sample so far."""
        rack = self.rack
        return rack.min_rtt if rack is not None else self.rtt.srtt

    def cancel_timers(self) -> None:
        self.reorder_deadline = self.probe_deadline = None

    def cancel_probe(self) -> None:
        """No probe is due: nothing is in flight, or the RTO fired first."""
        self.probe_deadline = None

    # -- sending ------------------------------------------------------------
    def note_flight(self, snd_una: int, snd_nxt: int, flight: int) -> None:
        """After a send: the flight now, for cwnd validation (``cwnd_validation``).
        A round ends when SND.UNA passes where the last began (Linux's
        cwnd_usage_seq): then the largest flight starts afresh."""
        if not sq.lt(snd_una, self.usage_seq) or flight > self.max_flight:
            if not sq.lt(snd_una, self.usage_seq):
                self.cwnd_full = False
            self.max_flight = flight
            self.usage_seq = snd_nxt
        if flight >= self.cc.cwnd:
            self.cwnd_full = True

    def cwnd_limited(self) -> bool:
        """Whether the flight uses cwnd, so that it may grow."""
        if not self.config.cwnd_validation or self.cwnd_full:
            return True
        cc = self.cc
        return cc.cwnd < cc.ssthresh and cc.cwnd < 2 * self.max_flight

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
        self,
        start: int,
        end: int,
        size: int,
        now: float,
        retransmission: bool,
        probe: bool,
        smss: int = 0,
    ) -> None:
        """A segment left: ``size`` payload bytes over ``[start, end)`` (a FIN
        counts one). Only a SACK sender needs to be told. With ``smss``, a
        super-segment the device cuts into pieces of that size: one record."""
        if self.sack_recovery:
            self.prr_out += size  # RFC 6937: everything sent during recovery
        if self.sack_sender and not probe and end != start:
            rack = self.rack if self.rack is not None else self._make_rack()
            # with offload, the FIN's piece of a super-segment: a record of its own
            if size > smss > 0 and end != sq.add(start, size):
                last = sq.add(start, (size - 1) // smss * smss)
                if last != start:
                    rack.on_send(start, last, now, retransmission, smss)
                rack.on_send(last, end, now, retransmission)
            else:
                rack.on_send(start, end, now, retransmission, smss)

    def next_to_resend(self, snd_una: int, snd_nxt: int) -> SentSegment | None:
        """RFC 6675 5 (C) NextSeg: while cwnd - pipe >= 1 SMSS, the first
        segment judged lost and not yet resent."""
        rack = self.rack
        if rack is None or self.cc.cwnd - self.pipe(snd_una, snd_nxt) < self.mss:
            return None
        return rack.first_lost()

    def lost_run_end(self, lost: SentSegment, snd_una: int, snd_nxt: int, limit: int) -> int:
        """With segmentation offload, one resend covers the lost segments that
        follow ``lost`` without a gap, as far as cwnd - pipe and ``limit`` allow
        (at least ``lost`` itself)."""
        room = min(limit, self.cc.cwnd - self.pipe(snd_una, snd_nxt))
        room -= room % self.mss
        assert self.rack is not None  # it made ``lost``
        first_piece = lost.ceil(sq.add(lost.start, 1))
        return max(
            self.rack.lost_run_end(lost.start, room), first_piece,
            key=lambda e: sq.sub(e, lost.start),
        )  # fmt: skip

    def first_to_resend(self) -> SentSegment:
        """For :attr:`Resend.FIRST_LOST`: the first segment judged lost, or the
        first one out."""
        rack = self.rack
        assert rack is not None  # FIRST_LOST is asked for only with records
        return rack.first_lost() or rack.segments[0]

    def nothing_left_at(self, segment: SentSegment) -> None:
        """No data of ours is left in ``segment``'s range: stop counting it lost."""
        assert self.rack is not None  # it made ``segment``
        self.rack.unmark_lost(segment)

    def pipe(self, snd_una: int, snd_nxt: int) -> int:
        """RFC 6675 4 SetPipe, by ranges: what is in flight, not SACKed, and not
        judged lost without having been resent."""
        pipe = sq.sub(snd_nxt, snd_una)  # in flight
        board, rack = self.scoreboard, self.rack
        if board is not None:
            pipe -= board.total  # it holds only what lies above SND.UNA: all it holds
        if rack is not None:
            pipe -= rack.lost_total
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
        max_window: int = MAX_WINDOW,
    ) -> Resend:
        """An acceptable ACK, before SND.UNA moves to ``ack``, with its SACK
        ``blocks``. ``duplicate``: it is a duplicate ACK as RFC 5681 2 defines
        one; ``carries_data``: it has text; ``ecn_echo``: ECE on an ECN
        connection; ``rtt_sample``: the round trip it measured, if any (RFC
        6298, RFC 7323 4); ``max_window``: the largest window the peer has
        offered, how far below SND.UNA a SACK block may reach. Positional, as
        it runs for every ACK."""
        if ecn_echo and not sq.lt(snd_una, self.ecn_recover):
            self._on_ecn_echo(sq.sub(snd_nxt, snd_una), snd_max)
        acked = sq.sub(ack, snd_una)  # at most SND.MAX - SND.UNA, far below 2**31
        advanced = acked > 0
        # DeliveredData (RFC 6937): newly acknowledged plus newly SACKed
        board = self.scoreboard
        rack = self.rack
        dsack = False
        sacks = blocks
        if blocks:
            blocks, dsack = self._valid_blocks(blocks, ack, snd_una, snd_max, max_window)
            sacks = blocks[1:] if dsack else blocks
        newly = _NOTHING_NEW
        if sacks or board is not None:
            if board is None:
                board = self.scoreboard = Scoreboard()
            fack = board.tops[-1] if board.count else None  # the highest SACKed, unwrapped
            sacked = board.total
            records = len(rack.segments) + rack.extra_pieces if rack is not None else 0
            limit = max(SCOREBOARD_RANGES_PER_RECORD * records, SCOREBOARD_MIN_RANGES)
            newly, refused = board.update(sacks, ack, snd_max, limit)
            if refused:
                self.stats.sack_blocks_over_limit += refused
            self.delivered = acked + board.total - sacked
            if fack is not None:
                self._note_reordering(newly, fack)
            if not board.count:
                self.scoreboard = None  # an empty one keeps nothing: Update() starts afresh
        elif self.config.cwnd_growth_by_delivered and not self.sack_sender:
            self.delivered = self._estimated_delivery(acked, duplicate)
        else:
            self.delivered = acked if advanced else 0
        lost = (
            self._track_delivery(rack, blocks, dsack, newly, ack, snd_una, snd_nxt, now)
            if rack is not None and rack.segments
            else 0
        )
        # for Linux's PRR: SND.UNA moved, and no new loss was marked
        self.prr_extra_ok = advanced and not lost
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
                if self.config.cwnd_growth_by_delivered:
                    # Linux: by what this ACK delivered (RFC 6937's DeliveredData);
                    # what earlier SACKs covered grew nothing then and nothing now
                    data_acked = min(data_acked, self.delivered)
                if data_acked and self.cwnd_limited():
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
            self._probe_outcome(
                ack, blocks, dsack, advanced, carries_data, sq.sub(snd_nxt, snd_una)
            )
        return resend

    def _valid_blocks(
        self, blocks: SackBlocks, ack: int, snd_una: int, snd_max: int, max_window: int
    ) -> tuple[SackBlocks, bool]:
        """The SACK blocks worth believing (RFC 2018, RFC 2883; as Linux's
        tcp_is_sackblock_valid), and whether the first is a D-SACK. A block is
        used only if its left edge is below its right, its right edge at most
        SND.MAX, and its left edge no more than the peer's largest window below
        SND.UNA (older is absurd, or a wrapped sequence number). The first block
        may report a duplicate (RFC 2883 4: below the cumulative ACK, or inside
        the second block); any other block wholly below SND.UNA is stale. The
        rest are ignored and counted (``sack_blocks_invalid``)."""
        oldest = (snd_una - max_window) & _MASK
        kept: list[tuple[int, int]] = []
        dsack = False
        for i, block in enumerate(blocks):
            if not _valid(block, oldest, snd_max):
                continue
            left, right = block
            if i == 0 and (
                sq.le(right, ack)
                or (
                    len(blocks) > 1
                    and _valid(second := blocks[1], oldest, snd_max)
                    and sq.le(second[0], left)
                    and sq.le(right, second[1])
                )
            ):
                dsack = True  # RFC 2883 4: below the ACK, or inside the second block
            elif sq.le(right, snd_una):
                continue
            kept.append(block)
        if len(kept) == len(blocks):
            return blocks, dsack
        self.stats.sack_blocks_invalid += len(blocks) - len(kept)
        return tuple(kept), dsack

    def _on_ecn_echo(self, flight: int, snd_max: int) -> None:
        """RFC 3168 6.1.2: halve as for a loss, once per window of data."""
        self.cc.on_ecn_echo(flight)
        self.stats.ecn_reductions += 1
        self.ecn_recover = snd_max
        self.reductions += 1

    def _track_delivery(
        self,
        rack: Rack,
        blocks: SackBlocks,
        dsack: bool,
        newly: list[tuple[int, int]],
        ack: int,
        snd_una: int,
        snd_nxt: int,
        now: float,
    ) -> int:
        """Bring the in-flight records up to this ACK (the scoreboard already is,
        and ``newly`` is what it newly holds), then mark losses by RACK's time
        rule (RFC 8985 6.2), or with RACK off by RFC 6675's DupThresh rule.
        Returns how many segments were newly judged lost."""
        board = self.scoreboard
        delivered: list[SentSegment] = []
        if sq.lt(snd_una, ack):
            delivered = rack.on_cumulative_ack(ack)
        if board is not None:
            holding = board.holding
            stretches = [(a & _MASK, b & _MASK, *holding(a)) for a, b in newly]
            delivered += rack.on_newly_sacked(stretches, board.covers)
        elif rack.recheck:
            rack.on_nothing_sacked()
        if not self.config.rack:
            return self._mark_dupthresh_losses(rack, board) if blocks and rack.segments else 0
        # With RACK, its reordering window of 0 once DupThresh segments are
        # SACKed stands in for the DupThresh rule (RFC 8985 6.2 step 4).
        if delivered:
            rack.on_delivered(delivered, now)
        if blocks or rack.dsack_round is not None:
            rack.on_dsack(ack, snd_nxt, dsack)
        if not rack.segments:
            self.reorder_deadline = None
            return 0
        recovering = sq.lt(ack, self.recover)
        if board is not None or recovering:
            return self._rack_detect_loss(rack, now, recovering)
        self.reorder_deadline = None  # no SACK holes left: nothing sent earlier is waiting
        return 0

    def _mark_dupthresh_losses(self, rack: Rack, board: Scoreboard | None) -> int:
        """RFC 6675 4 IsLost: a segment never resent, with more than
        (DupThresh - 1) x SMSS bytes SACKed above it, is lost."""
        if board is None:
            return 0  # nothing is SACKed
        threshold = (self.config.dupack_threshold - 1) * self.mss
        # IsLost holds at and below one sequence number: find it
        point = board.lost_point(threshold)
        return 0 if point is None else rack.mark_dupthresh(point)

    def _rack_detect_loss(self, rack: Rack, now: float, recovering: bool) -> int:
        """RFC 8985 6.2 steps 4-5: mark by time, and arm the reordering timer
        for a segment that is not overdue yet."""
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
            if self.sack_sender and self.rack is not None:
                self.rack.on_recovery_exit()
            return Resend.NOTHING
        if self.sack_recovery:
            self._prr_update(ack, snd_nxt)
            return Resend.LOST  # RFC 6675 5 (C) again, on a partial ACK
        self.cc.on_partial_ack(acked)
        return Resend.FIRST  # RFC 6582 3.2 step 5: the next hole is lost too

    def _on_rtt_sample(self, rtt: float, controller: bool = True) -> None:
        """RFC 6298 2: a new measurement; RACK.min_RTT (RFC 8985 6.2 step 3)
        and the algorithm (unless ``controller`` is false) hear it."""
        rack = self.rack
        if rack is not None:
            rack.on_rtt_sample(rtt)
        elif self.rtt.srtt is not None:  # a second sample: the minimum may not be SRTT
            self._make_rack().on_rtt_sample(rtt)
        self.rtt.sample(rtt)
        srtt = self.rtt.srtt
        if srtt is not None and controller:
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
        prior_cwnd = self.cc.cwnd
        if sq.lt(snd_una, self.ecn_recover):
            # RFC 3168 6.1.2: this window's cwnd was cut for an ECN echo already;
            # losses from the same window are repaired without a second cut
            self.cc.cwnd = min(self.cc.cwnd, self.cc.ssthresh)
        else:
            self.cc.on_enter_recovery(flight, now)
            self.reductions += 1
        self.ecn_recover = snd_max  # and no echo from this window cuts it again
        self.stats.fast_retransmits += 1
        self.probe_episode = None  # this recovery's reduction covers a probe's episode
        if not self.sack_sender or self.rack is None or not self.rack.segments:
            return Resend.FIRST
        # RFC 6675 5 (4): cwnd = ssthresh, the pipe decides what goes;
        # with PRR (RFC 6937), cwnd follows what the ACKs deliver
        self.sack_recovery = True
        self.cc.cwnd = self.cc.ssthresh
        self.prr_delivered = self.prr_out = 0
        # RecoverFS (RFC 6937): the flight; Linux divides by the cwnd before the cut
        self.recover_fs = prior_cwnd if self.config.prr_variant == "linux" else flight
        self._prr_update(snd_una, snd_nxt)
        # RFC 6675 5 (4.2): the first segment presumed lost goes at once
        return Resend.FIRST_LOST | Resend.LOST

    def _note_reordering(self, newly: list[tuple[int, int]], fack: int) -> None:
        """The reordering a SACK shows: data newly SACKed below the highest
        SACKed byte arrived that far out of order (in segments, as Linux's
        tcp_check_sack_reordering measures it; tcp_info reports it)."""
        for start, _ in newly:
            if start < fack:
                degree = -(-(fack - start) // self.mss)
                self.reordering = max(self.reordering, degree)

    def _estimated_delivery(self, acked: int, duplicate: bool) -> int:
        """DeliveredData without SACK (RFC 6937 3): a duplicate ACK says one
        segment arrived; the ACK that moves SND.UNA then delivers what it
        covers less what those duplicate ACKs already counted (its first
        segment always counts: it filled the hole)."""
        if not acked:
            if duplicate:
                self.dup_delivered += self.mss
                return self.mss
            return 0
        counted = min(max(acked - self.mss, 0), self.dup_delivered)
        self.dup_delivered -= counted
        return acked - counted

    def _prr_update(self, snd_una: int, snd_nxt: int) -> None:
        """RFC 6937 3: set cwnd for this ACK so that recovery sends in proportion
        to what is delivered (down to ssthresh), then no faster than slow start
        (PRR-SSRB) once the pipe is below it."""
        if not self.config.prr:
            return
        ssthresh = self.cc.ssthresh
        self.prr_delivered += self.delivered
        pipe = self.pipe(snd_una, snd_nxt)
        linux = self.config.prr_variant == "linux"
        if pipe > ssthresh:
            wanted = -(-self.prr_delivered * ssthresh // max(self.recover_fs, 1))  # ceil
            sndcnt = wanted - self.prr_out
        else:
            # PRR-SSRB's extra segment; Linux gives it only when SND.UNA advanced
            # and no new loss was marked (tcp_cwnd_reduction)
            extra = self.mss if not linux or self.prr_extra_ok else 0
            limit = max(self.prr_delivered - self.prr_out, self.delivered) + extra
            sndcnt = min(ssthresh - pipe, limit)
        if linux and not self.prr_out:
            sndcnt = max(sndcnt, self.mss)  # Linux: the fast retransmit always goes
        self.cc.cwnd = pipe + max(sndcnt, 0)

    # -- timers -------------------------------------------------------------
    def on_reorder_timeout(self, now: float, snd_una: int, snd_nxt: int, snd_max: int) -> Resend:
        """RFC 8985 6.2 step 5: the reordering window has passed; mark again."""
        self.reorder_deadline = None
        rack = self.rack
        if rack is None or not rack.segments:
            return Resend.NOTHING
        self.delivered = 0  # a timer delivers nothing (RFC 6937 DeliveredData)
        if not self._rack_detect_loss(rack, now, sq.lt(snd_una, self.recover)):
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
        rack = self.rack
        if self.config.rack and rack is not None and rack.segments and not rack.segments[0].sacked:
            # RFC 8985 6.3: resend the first segment, and what RACK finds overdue;
            # the SACK information stays (RFC 6675 5.1: Update() goes on)
            self.rto_recovery = True
            reo_wnd = rack.reo_wnd(True, self._srtt(), self.config.dupack_threshold)
            self.stats.rack_losses += rack.mark_losses_on_rto(now, reo_wnd)
            # RFC 6298 5.4: the earliest goes whatever the pipe
            return Resend.FIRST_LOST | Resend.LOST
        # Otherwise go back and resend everything from SND.UNA (RFC 5681 3.1;
        # RFC 6675 5.1). A SACKed first segment means the receiver reneged
        # (RFC 2018 8): its SACK information is dropped.
        self.rto_recovery = False
        self.scoreboard = None
        if rack is not None:
            rack.on_timeout()
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
        else:
            pto += self.config.tlp_pto_extra
        deadline = now + pto
        if rto_deadline is not None and deadline > rto_deadline:
            deadline = rto_deadline  # RFC 8985 7.2: never later than the RTO, in its place
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
        self,
        ack: int,
        blocks: SackBlocks,
        dsack: bool,
        advanced: bool,
        carries_data: bool,
        flight: int,
    ) -> None:
        """RFC 8985 7.4.2: once the ACKs pass a resent probe, tell whether it was
        needless (a D-SACK for it, or a pure duplicate ACK: the original arrived
        too) or repaired a loss, which calls for one congestion response."""
        assert self.probe_episode is not None
        start, end = self.probe_episode
        if sq.lt(ack, end):
            return
        if dsack and sq.le(start, blocks[0][0]) and sq.le(blocks[0][1], end):
            self.probe_episode = None
        elif sq.gt(ack, end):
            self.probe_episode = None
            self.stats.tlp_repairs += 1
            self.cc.on_repaired_loss(flight)
            self.reductions += 1  # RFC 3168 6.1.2: CWR follows any reduction
        elif not advanced and not blocks and not carries_data:
            self.probe_episode = None
