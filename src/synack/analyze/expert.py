"""Per-segment expert flags, as Wireshark's TCP sequence analysis sets them.

Wireshark marks segments with ``tcp.analysis.*`` flags: retransmissions,
out-of-order segments, duplicate ACKs, zero windows and so on. Its rules
are heuristics over a little state kept per direction (the highest sequence
number seen, the last ACK and window sent, a duplicate-ACK counter...), and
people read captures by them. :class:`ExpertAnalyzer` applies the same rules,
in the same order, with the same exclusions, so that ``synack analyze`` and
Wireshark flag the same segments; ``docs/expert-flags.md`` states each rule
and the few places where this module knowingly differs.

One analyzer serves one connection: both directions are fed to it, in
capture order, and it tells the directions apart itself. Like Wireshark, it
starts a fresh analysis (and flags ``reused_ports``) when a SYN with a new
initial sequence number arrives on a 4-tuple it has already seen. Its memory
is a fixed handful of numbers per direction, whatever the length of the
connection: Wireshark's per-segment lists only feed the RTT and RTO fields,
which are not flags.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from synack.analyze.model import CapturedSegment
from synack.wire import seq as sq
from synack.wire.ip import IPAddress
from synack.wire.segment import ACK, FIN, RST, SYN, WindowScale

# The flag names, in the order a result lists them: Wireshark's field names
# without the ``tcp.analysis.`` prefix.
RETRANSMISSION = "retransmission"
FAST_RETRANSMISSION = "fast_retransmission"
SPURIOUS_RETRANSMISSION = "spurious_retransmission"
OUT_OF_ORDER = "out_of_order"
DUPLICATE_ACK = "duplicate_ack"
ZERO_WINDOW = "zero_window"
ZERO_WINDOW_PROBE = "zero_window_probe"
ZERO_WINDOW_PROBE_ACK = "zero_window_probe_ack"
WINDOW_FULL = "window_full"
WINDOW_UPDATE = "window_update"
KEEP_ALIVE = "keep_alive"
KEEP_ALIVE_ACK = "keep_alive_ack"
LOST_SEGMENT = "lost_segment"
ACK_LOST_SEGMENT = "ack_lost_segment"
REUSED_PORTS = "reused_ports"

FLAG_NAMES: tuple[str, ...] = (
    RETRANSMISSION,
    FAST_RETRANSMISSION,
    SPURIOUS_RETRANSMISSION,
    OUT_OF_ORDER,
    DUPLICATE_ACK,
    ZERO_WINDOW,
    ZERO_WINDOW_PROBE,
    ZERO_WINDOW_PROBE_ACK,
    WINDOW_FULL,
    WINDOW_UPDATE,
    KEEP_ALIVE,
    KEEP_ALIVE_ACK,
    LOST_SEGMENT,
    ACK_LOST_SEGMENT,
    REUSED_PORTS,
)

# Internal bits, one per verdict (the retransmission kinds are kept apart;
# the result lists "retransmission" beside a fast or spurious one, as
# Wireshark's tcp.analysis.retransmission field does).
_RETRANS = 1 << 0
_FAST = 1 << 1
_SPURIOUS = 1 << 2
_OOO = 1 << 3
_DUPACK = 1 << 4
_ZW = 1 << 5
_ZWP = 1 << 6
_ZWPA = 1 << 7
_WFULL = 1 << 8
_WUPD = 1 << 9
_KA = 1 << 10
_KAA = 1 << 11
_LOST = 1 << 12
_ACKLOST = 1 << 13
_REUSED = 1 << 14

_BIT_NAMES: tuple[tuple[int, str], ...] = (
    (_RETRANS | _FAST | _SPURIOUS, RETRANSMISSION),
    (_FAST, FAST_RETRANSMISSION),
    (_SPURIOUS, SPURIOUS_RETRANSMISSION),
    (_OOO, OUT_OF_ORDER),
    (_DUPACK, DUPLICATE_ACK),
    (_ZW, ZERO_WINDOW),
    (_ZWP, ZERO_WINDOW_PROBE),
    (_ZWPA, ZERO_WINDOW_PROBE_ACK),
    (_WFULL, WINDOW_FULL),
    (_WUPD, WINDOW_UPDATE),
    (_KA, KEEP_ALIVE),
    (_KAA, KEEP_ALIVE_ACK),
    (_LOST, LOST_SEGMENT),
    (_ACKLOST, ACK_LOST_SEGMENT),
    (_REUSED, REUSED_PORTS),
)

_MASK = sq.MASK
_NO_WINDOW = 0xFFFFFFFF  # a direction that has sent nothing yet (Wireshark: G_MAXUINT32)
_SCALE_UNKNOWN = -1  # no SYN seen: window scaling unknown
_SCALE_NONE = -2  # the handshake was seen and did not agree on scaling
_FAST_RETRANSMISSION_NS = 20_000_000  # within 20 ms of the last ACK the other way
_OOO_DEFAULT_NS = 3_000_000  # the out-of-order horizon before an initial RTT is known


@dataclass(frozen=True, slots=True)
class Expert:
    """The verdict on one segment: its flags and, for a duplicate ACK, which
    one it is (1 for the first duplicate) and the frame it duplicates."""

    flags: tuple[str, ...]
    dup_ack_num: int = 0
    dup_ack_frame: int = 0


NO_FLAGS = Expert(())


class _Direction:
    """What Wireshark remembers of one direction (its ``tcp_flow_t`` and
    ``tcp_analyze_seq_flow_info_t``, less the per-segment lists)."""

    __slots__ = (
        "base_seq",
        "base_set",
        "dupacknum",
        "is_first_ack",
        "lastack",
        "lastacktime",
        "lastnondupack",
        "lastsegmentflags",
        "maxseqtobeacked",
        "nextseq",
        "nextseqtime",
        "win_scale",
        "window",
    )

    def __init__(self) -> None:
        self.base_seq = 0
        self.base_set = False
        self.win_scale = _SCALE_UNKNOWN
        self.window = _NO_WINDOW  # the raw 16-bit field last sent
        self.is_first_ack = False  # a SYN was sent and no pure ACK since
        # 0 means "not seen yet", as in Wireshark (a real 0 is taken as unset too)
        self.nextseq = 0  # highest sequence number sent, plus one
        self.nextseqtime = 0  # ns
        self.maxseqtobeacked = 0  # highest contiguous sequence number sent
        self.lastack = 0
        self.lastacktime = 0  # ns: when this direction last sent anything
        self.dupacknum = 0  # -1: an ACK of unseen data is pending
        self.lastnondupack = 0  # frame of the last segment whose ACK moved
        self.lastsegmentflags = 0


class ExpertAnalyzer:
    """Wireshark's TCP expert flags for one connection, segment by segment.

    >>> analyzer = ExpertAnalyzer()
    >>> for frame, seg in enumerate(segments, 1):   # doctest: +SKIP
    ...     flags = analyzer.feed(seg, frame)

    ``frame`` is the segment's number in the capture (what Wireshark calls the
    frame number; ``seg.record`` if not given); it is only used to name the
    frame a duplicate ACK repeats.
    """

    __slots__ = (
        "_a",
        "_a_addr",
        "_a_port",
        "_b",
        "_b_addr",
        "_b_port",
        "_ts_first_rtt",
        "_ts_mru_syn",
        "last",
    )

    def __init__(self) -> None:
        # The two directions: _a is the one of the first segment's sender.
        self._a: _Direction | None = None
        self._b = _Direction()
        self._a_addr: IPAddress | None = None
        self._b_addr: IPAddress | None = None
        self._a_port = self._b_port = -1
        self._ts_mru_syn = 0  # ns: the most recent pure SYN
        self._ts_first_rtt = 0  # ns: SYN to the first pure ACK, the out-of-order horizon
        self.last: Expert = NO_FLAGS  # the verdict on the segment fed last

    def feed(self, seg: CapturedSegment, frame: int | None = None) -> tuple[str, ...]:
        """The flags of ``seg``, the next segment of the connection in capture order."""
        return self.analyze(seg, frame).flags

    def duplicate_ack_number(self) -> tuple[int, int] | None:
        """For the segment fed last, if it was a duplicate ACK: which one it
        is (1, 2...) and the frame whose ACK it repeats."""
        if self.last.dup_ack_num:
            return self.last.dup_ack_num, self.last.dup_ack_frame
        return None

    def analyze(self, seg: CapturedSegment, frame: int | None = None) -> Expert:
        """The full verdict on ``seg``: flags, and the duplicate ACK's number and frame.

        ``frame`` defaults to ``seg.record``, the record's number in its file,
        which is Wireshark's frame number for a single capture file.
        """
        if frame is None:
            frame = seg.record
        now = nanoseconds(seg.t)
        flags = seg.flags
        seq = seg.seq & _MASK
        ack = seg.ack & _MASK
        fwd, rev = self._directions(seg)
        bits = 0

        # A new connection on the same ports: a SYN whose sequence number is
        # not the one this direction started from. The same SYN again takes
        # the direction back to the highest contiguous sequence number sent
        # (a RST may have been sent from the ACK number received).
        if flags & (SYN | ACK) == SYN and fwd.base_set:
            if seq != fwd.base_seq:
                self._a = None
                self._ts_mru_syn = 0
                self._ts_first_rtt = 0
                fwd, rev = self._directions(seg)
                bits |= _REUSED
            else:
                fwd.nextseq = fwd.maxseqtobeacked
        elif flags & (SYN | ACK) == SYN | ACK and fwd.base_set and seq != fwd.base_seq:
            fwd.base_seq = seq
            bits |= _REUSED

        if not fwd.base_set:
            fwd.base_seq = seq if flags & SYN else (seq - 1) & _MASK
            fwd.base_set = True
        if not rev.base_set and flags & ACK:
            rev.base_seq = (ack - 1) & _MASK
            rev.base_set = True

        bits, dup_num, dup_frame = self._sequence_analysis(
            fwd, rev, bits, now, frame, seq, ack, seg.payload_len, flags, seg.window & 0xFFFF
        )

        if flags & SYN:
            if not flags & ACK:
                self._ts_mru_syn = now
            fwd.is_first_ack = True
        if flags & (SYN | ACK) == ACK:
            if self._ts_mru_syn and not self._ts_first_rtt:
                self._ts_first_rtt = now - self._ts_mru_syn
            fwd.is_first_ack = False

        for opt in seg.options:
            if isinstance(opt, WindowScale):
                fwd.win_scale = min(opt.shift, 14)
        if flags & SYN:
            _verify_window_scaling(fwd, rev, bool(flags & ACK))

        if dup_num:
            self.last = Expert(_names(bits), dup_num, dup_frame)
        else:
            self.last = _plain_verdict(bits)
        return self.last

    def _directions(self, seg: CapturedSegment) -> tuple[_Direction, _Direction]:
        """This segment's direction and the other one (created on the first
        segment, or anew after a new SYN on the same ports)."""
        a = self._a
        if a is None:
            if self._a_addr is None:
                self._a_addr, self._a_port = seg.src, seg.sport
                self._b_addr, self._b_port = seg.dst, seg.dport
            a = self._a = _Direction()
            self._b = _Direction()
        # ports first: they tell the directions apart at the cost of an int compare;
        # addresses by identity first (the reader shares address objects)
        src, dst = seg.src, seg.dst
        if seg.sport == self._a_port and seg.dport == self._b_port:
            if (src is self._a_addr or src == self._a_addr) and (
                dst is self._b_addr or dst == self._b_addr
            ):
                return a, self._b
        if seg.sport == self._b_port and seg.dport == self._a_port:
            if (src is self._b_addr or src == self._b_addr) and (
                dst is self._a_addr or dst == self._a_addr
            ):
                return self._b, a
        raise ValueError(
            f"segment {seg.src}:{seg.sport} -> {seg.dst}:{seg.dport} "
            "is not of this analyzer's connection"
        )

    def _sequence_analysis(
        self,
        fwd: _Direction,
        rev: _Direction,
        bits: int,
        now: int,
        frame: int,
        seq: int,
        ack: int,
        seglen: int,
        flags: int,
        window: int,
    ) -> tuple[int, int, int]:
        """Wireshark's tcp_analyze_sequence_number: the checks in its order;
        returns the bits, and the duplicate ACK's number and frame."""
        dup_num = dup_frame = 0
        not_syn_fin_rst = not flags & (SYN | FIN | RST)
        repeats_last = seglen == 0 and seq == fwd.nextseq and ack == fwd.lastack and not_syn_fin_rst

        # fmt: off
        if seglen == 1 and seq == fwd.nextseq and rev.window == 0:
            # One byte at the edge of a closed window: a zero-window probe
            # (and nothing else is checked until the retransmission checks).
            bits |= _ZWP
        else:
            if window == 0 and not flags & (RST | FIN | SYN):
                bits |= _ZW
            if fwd.nextseq and sq.gt(seq, fwd.nextseq) and not flags & RST:
                bits |= _LOST
            if (
                seglen <= 1
                and seq == (fwd.nextseq - 1) & _MASK
                and not_syn_fin_rst
            ):
                bits |= _KA
            if repeats_last and window and window != fwd.window:
                bits |= _WUPD
            if seglen > 0 and rev.win_scale != _SCALE_UNKNOWN and not_syn_fin_rst:
                shift = 0 if rev.is_first_ack or rev.win_scale == _SCALE_NONE else rev.win_scale
                edge = (rev.lastack + ((rev.window << shift) & _MASK)) & _MASK
                if (seq + seglen) & _MASK == edge:
                    bits |= _WFULL
            if repeats_last and window and window == fwd.window and rev.lastsegmentflags & _KA:
                bits |= _KAA
            elif repeats_last and window == 0 and fwd.window == 0 and rev.lastsegmentflags & _ZWP:
                bits |= _ZWPA
            elif repeats_last and window and window == fwd.window:
                fwd.dupacknum = 1 if fwd.dupacknum == -1 else fwd.dupacknum + 1
                bits |= _DUPACK
                dup_num, dup_frame = fwd.dupacknum, fwd.lastnondupack
        # fmt: on

        if ack != fwd.lastack:
            fwd.lastnondupack = frame
            fwd.dupacknum = 0

        # An ACK beyond anything seen the other way: that data was not captured.
        if rev.maxseqtobeacked and sq.gt(ack, rev.maxseqtobeacked) and flags & ACK:
            if sq.lt(rev.maxseqtobeacked, rev.nextseq):
                rev.maxseqtobeacked = rev.nextseq
                bits |= _ACKLOST
            else:
                if rev.dupacknum == 0:
                    bits |= _ACKLOST
                rev.dupacknum = -1

        if seglen > 0 or flags & (SYN | FIN):
            bits |= self._retransmission_kind(fwd, rev, bits, now, seq, seglen, flags)

        nextseq = (seq + seglen + (1 if flags & (SYN | FIN) else 0)) & _MASK
        if not fwd.nextseq or sq.gt(nextseq, fwd.nextseq):
            if not bits & _ZWP:
                fwd.nextseq = nextseq
                fwd.nextseqtime = now
        if not fwd.maxseqtobeacked or seq == fwd.maxseqtobeacked:
            if not bits & _ZWP:
                fwd.maxseqtobeacked = fwd.nextseq

        fwd.window = window
        fwd.lastack = ack
        fwd.lastacktime = now
        fwd.lastsegmentflags = bits
        return bits, dup_num, dup_frame

    def _retransmission_kind(
        self,
        fwd: _Direction,
        rev: _Direction,
        bits: int,
        now: int,
        seq: int,
        seglen: int,
        flags: int,
    ) -> int:
        """Data (or a SYN or FIN) that does not advance the sequence number:
        spurious, fast, out-of-order or plain retransmission, in that order."""
        if bits & _KA:
            return 0
        seq_not_advanced = bool(fwd.nextseq) and sq.lt(seq, fwd.nextseq)
        # More than one byte starting one before nextseq: new data after a
        # probe of one byte, not a retransmission.
        if seglen > 1 and (fwd.nextseq - 1) & _MASK == seq:
            seq_not_advanced = False
        # Everything in it was ACKed already.
        if seglen > 0 and rev.lastack and sq.le((seq + seglen) & _MASK, rev.lastack):
            return _SPURIOUS
        if not seq_not_advanced:
            return 0  # new data: none of the kinds below
        # At least two duplicate ACKs asked for it, the last within 20 ms.
        since_ack = now - rev.lastacktime
        if (
            rev.dupacknum & _MASK >= 2  # unsigned: -1 (an ACK of unseen data) counts
            and rev.lastack == seq
            and 0 <= since_ack < _FAST_RETRANSMISSION_NS
        ):
            return _FAST
        # Soon after the highest segment so far (within the initial RTT, or
        # 3 ms without one), and not the same segment again: out of order.
        since_next = now - fwd.nextseqtime
        horizon = self._ts_first_rtt or _OOO_DEFAULT_NS
        if (
            0 <= since_next < horizon
            and fwd.nextseq != (seq + seglen + (1 if flags & (SYN | FIN) else 0)) & _MASK
        ):
            return _OOO
        return _RETRANS


@lru_cache(maxsize=1024)
def _names(bits: int) -> tuple[str, ...]:
    return tuple(name for bit, name in _BIT_NAMES if bits & bit)


@lru_cache(maxsize=1024)
def _plain_verdict(bits: int) -> Expert:
    return Expert(_names(bits)) if bits else NO_FLAGS


def nanoseconds(t: float) -> int:
    """A capture timestamp (float seconds) as integer nanoseconds, exact for
    the time a capture can have stamped.

    Wireshark compares times in nanoseconds, against thresholds a capture
    can hit exactly (20 ms, 3 ms). A float near today's epoch (1.7e9 s)
    carries about 0.24 us, so ``t * 1e9`` is off by up to a few hundred
    nanoseconds and a difference of exactly 20 ms can come out 256 ns short;
    there the time is rounded to the microsecond, which is what pcap files
    hold (and all a float that large can keep). Smaller times (a simulator's
    virtual clock, a capture starting in 1970) keep their nanoseconds.
    """
    if -1_048_576.0 < t < 1_048_576.0:  # 2**20 s (12 days): the float resolves well under 1 ns
        return round(t * 1e9)
    return round(t * 1e6) * 1000


def _verify_window_scaling(fwd: _Direction, rev: _Direction, is_synack: bool) -> None:
    """After a SYN's options: scaling is on only if both SYNs carried the option."""
    if fwd.win_scale == _SCALE_UNKNOWN:
        fwd.win_scale = _SCALE_NONE
        rev.win_scale = _SCALE_NONE
    elif is_synack and rev.win_scale == _SCALE_NONE:
        fwd.win_scale = _SCALE_NONE
