"""Connections in a capture, and both sides' RFC 9293 states inferred at every segment.

A passive observer sees segments, not states. :class:`Flow` replays the
state machine of RFC 9293 3.10 for both endpoints from what each one sends
and (it assumes) receives:

- what an endpoint *sends* shows its own state: a SYN means SYN-SENT, a FIN
  from ESTABLISHED means FIN-WAIT-1, from CLOSE-WAIT LAST-ACK, a RST CLOSED.
  These changes are *seen*;
- what an endpoint *receives* moves it too (a SYN takes a listener to
  SYN-RECEIVED, an ACK of its FIN takes FIN-WAIT-1 to FIN-WAIT-2), but the
  observer cannot know that the segment arrived, nor when: these changes
  are marked *inferred*. So is LISTEN, which nothing on the wire shows, and
  every state deduced for a connection the capture joined midway (its sides
  start as ``unknown``).

TIME-WAIT's end is never on the wire either: a side that entered it stays
there until the capture ends or a new SYN reopens the port pair.

The output is the one trace format (:mod:`synack.trace.records`): each
segment a :class:`PacketRecord` with fate ``seen`` (plus its expert notes),
each state change a :class:`StateRecord` whose cause says ``(inferred)``
where it is, so every view of a simulation (ladder, HTML, Mermaid, JSON
Lines) draws a capture too. Endpoints are named ``address:port``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from synack.analyze.model import CapturedSegment
from synack.trace.records import PacketRecord, Record, StateRecord, endpoint_text, options_text
from synack.wire import seq as sq
from synack.wire.segment import (
    ACK,
    FIN,
    RST,
    SYN,
    MaxSegmentSize,
    SackPermitted,
    Segment,
    Timestamps,
    WindowScale,
    tcpdump_flags,
)

UNKNOWN = "unknown"
LISTEN_ASSUMED = "LISTEN"
INFERRED = " (inferred)"
# Outstanding data segments timed for RTT samples, per side: bounded.
MAX_TIMED = 256
# RTT samples kept per connection: memory follows connections, not packets.
MAX_RTT_SAMPLES = 1000
# A packet's notes (its expert flags) as the ladder shows them: at most this long.
NOTE_WIDTH = 30

Endpoint = tuple[object, int]


@dataclass(slots=True)
class Side:
    """What the observer knows of one endpoint."""

    name: str
    state: str = UNKNOWN
    iss: int | None = None  # its ISN, from its SYN
    fin_seq: int | None = None  # where its FIN sits
    mss: int | None = None
    wscale: int | None = None
    sack_ok: bool = False
    timestamps: bool = False
    syn_seen_at: float | None = None  # when its latest SYN (or SYN,ACK) went by
    bare_syn: bool = False  # it sent a SYN without ACK: an active open
    synack_sent: bool = False
    timed: dict[int, float] = field(default_factory=dict)  # end seq -> when sent, first sends only
    highest_end: int | None = None  # the highest segment end sent so far


@dataclass(slots=True)
class RttSample:
    t: float
    endpoint: str  # whose segment was acknowledged
    rtt: float  # seconds, as the observer sees it (from the capture point and back)
    kind: str  # "handshake" or "data"


class Flow:
    """One connection: its 4-tuple, who opened it, both sides' inferred states."""

    def __init__(self, number: int, first: CapturedSegment, keep_records: bool = True) -> None:
        self.number = number
        self.first_t = first.t
        self.first_frame = (0, first.record)  # (which capture file, which record): its place
        self.last_t = first.t
        self.packets = 0
        a = endpoint_text(first.src, first.sport)
        b = endpoint_text(first.dst, first.dport)
        self.sides = {a: Side(a), b: Side(b)}
        # keyed by (address as an integer, port): cheaper to hash than the address
        self._addresses = {(int(first.src), first.sport): a, (int(first.dst), first.dport): b}
        self._first_src, self._first_sport = first.src, first.sport
        self._names, self._names_back = (a, b), (b, a)
        # who opened it: the sender of a bare SYN; otherwise not known
        syn_only = first.flags & (SYN | ACK) == SYN
        synack = first.flags & (SYN | ACK) == SYN | ACK
        self.opener: str | None = a if syn_only else (b if synack else None)
        if syn_only:
            self.sides[a].state = "CLOSED"  # it opens here: it was CLOSED before its SYN
        self.keep_records = keep_records
        self.records: list[Record] = []
        self.rtt: list[RttSample] = []
        self.notes: set[str] = set()  # what the story mentions: "combined" (FIN with ACK)
        self._last = 0.0  # the latest state change's time
        self.key = canonical(first)  # its 4-tuple, the same both ways

    # -- naming -----------------------------------------------------------
    @property
    def left(self) -> str:
        """The opener if known, else the first sender: the ladder's left column."""
        names = list(self.sides)
        if self.opener is not None:
            return self.opener
        return names[0]

    @property
    def right(self) -> str:
        return next(name for name in self.sides if name != self.left)

    def side_names(self, seg: CapturedSegment) -> tuple[str, str]:
        if seg.src is self._first_src and seg.sport == self._first_sport:
            return self._names  # the first segment's way (the reader shares address objects)
        if seg.dst is self._first_src and seg.dport == self._first_sport:
            return self._names_back
        src = self._addresses[(int(seg.src), seg.sport)]
        dst = self._addresses[(int(seg.dst), seg.dport)]
        return src, dst

    def finished(self) -> bool:
        """Both sides are done with the connection (CLOSED or TIME-WAIT)."""
        return all(s.state in ("CLOSED", "TIME-WAIT") for s in self.sides.values())

    # -- one segment --------------------------------------------------------
    def feed(self, seg: CapturedSegment, t0: float, notes: Iterable[str] = ()) -> None:
        """Take the next segment of this connection, seen at ``seg.t`` (``t0`` is the
        capture's start: records are timed from it)."""
        self.packets += 1
        self.last_t = seg.t
        src_name, dst_name = self.side_names(seg)
        src, dst = self.sides[src_name], self.sides[dst_name]
        t = seg.t - t0
        usable = seg.checksum_ok is not False
        if usable:
            self._sent(src, dst, seg, t)  # what sending it shows comes first, as a stack records it
        if self.keep_records:
            fate = "seen"
            flags_notes = list(notes) if usable else ["bad checksum", *notes]
            if flags_notes:
                text = ", ".join(flags_notes)
                fate += f" ({text if len(text) <= NOTE_WIDTH else text[: NOTE_WIDTH - 1] + '…'})"
            self.records.append(
                PacketRecord(
                    t, None, src_name, dst_name, fate, tcpdump_flags(seg.flags), seg.seq,
                    seg.ack, seg.payload_len, seg.window, _options_text(seg),
                )
            )  # fmt: skip
        if not usable:
            return  # as Zeek does: a segment with a bad checksum tells nothing
        self._received(dst, src, seg, t)
        self._time_rtt(src, dst, seg, t)

    def _change(self, side: Side, new: str, t: float, cause: str, inferred: bool) -> None:
        if side.state == new:
            return
        old = side.state
        side.state = new
        self._last = max(self._last, t)
        if self.keep_records:
            self.records.append(
                StateRecord(t, side.name, old, new, cause + (INFERRED if inferred else ""))
            )

    def _sent(self, src: Side, dst: Side, seg: CapturedSegment, t: float) -> None:
        """What sending this segment shows of the sender's own state."""
        flags = seg.flags
        if flags & RST:
            if src.state == "SYN-SENT":
                return  # RFC 9293 3.10.7.3: a RST for an unacceptable ACK; still SYN-SENT
            if src.state in (UNKNOWN, LISTEN_ASSUMED) and dst.state == "SYN-SENT":
                # the answer to a SYN: nothing listens on that port (3.10.7.1)
                self._change(src, "CLOSED", t, "no listener: answer the SYN with RST", True)
                return
            self._change(src, "CLOSED", t, "send RST", inferred=False)
            return
        if flags & SYN:
            new_iss = src.iss is None or src.iss != seg.seq
            if new_iss:
                if src.iss is not None and src.state not in ("CLOSED", UNKNOWN, "SYN-SENT"):
                    # a new SYN from a side we thought connected: its old
                    # connection is gone (it crashed, or the capture missed its end)
                    self._change(src, "CLOSED", t, "a new SYN: its old TCB is gone", True)
                src.iss = seg.seq
                src.fin_seq = None
                src.synack_sent = False
                _take_syn_options(src, seg)
            src.syn_seen_at = t
            if not flags & ACK:
                src.bare_syn = True
            if flags & ACK:
                # when it took the peer's SYN: not before anything else we know of
                when = max(dst.syn_seen_at if dst.syn_seen_at is not None else t, self._last)
                if src.state in (UNKNOWN, "CLOSED", LISTEN_ASSUMED):
                    # it was listening, and took the peer's SYN when it came
                    if src.state != LISTEN_ASSUMED:
                        self._change(src, LISTEN_ASSUMED, when, "listening", inferred=True)
                    self._change(src, "SYN-RECEIVED", when, "rcv SYN", inferred=True)
                elif src.state == "SYN-SENT":
                    self._change(src, "SYN-RECEIVED", when, "rcv SYN (simultaneous open)", True)
                elif src.state == "ESTABLISHED" and src.synack_sent and not new_iss:
                    # its SYN,ACK again: the ACK that we thought completed it was lost
                    self._change(src, "SYN-RECEIVED", t, "send SYN,ACK again", inferred=True)
                src.synack_sent = True
            elif src.state in (UNKNOWN, "CLOSED"):
                self._change(src, "SYN-SENT", t, "active OPEN: send SYN", inferred=False)
            elif src.state == "ESTABLISHED" and not new_iss:
                # its SYN again: the SYN,ACK we thought it had did not reach it
                self._change(src, "SYN-SENT", t, "send SYN again", inferred=True)
            return
        if src.state == UNKNOWN:
            # joined midway: whoever sends without SYN is synchronized
            self._change(src, "ESTABLISHED", t, "synchronized (capture began midway)", True)
        if flags & FIN:
            fin_seq = sq.add(seg.seq, seg.payload_len)
            if src.fin_seq == fin_seq:
                # its FIN again: the ACK we thought covered it was lost
                if src.state == "FIN-WAIT-2":
                    self._change(src, "FIN-WAIT-1", t, "send FIN again", inferred=True)
                elif src.state == "CLOSED" and dst.fin_seq is not None:
                    self._change(src, "LAST-ACK", t, "send FIN again", inferred=True)
            if src.fin_seq is None:
                src.fin_seq = fin_seq
                if src.state in ("ESTABLISHED", "SYN-RECEIVED"):
                    self._change(src, "FIN-WAIT-1", t, "CLOSE: send FIN", inferred=False)
                elif src.state == "CLOSE-WAIT":
                    self._change(src, "LAST-ACK", t, "CLOSE: send FIN", inferred=False)

    def _received(self, dst: Side, src: Side, seg: CapturedSegment, t: float) -> None:
        """What receiving this segment does to the receiver, if it arrived (inferred)."""
        flags = seg.flags
        if flags & RST:
            self._rst_received(dst, src, seg, t)
            return
        if flags & SYN and not flags & ACK:
            # a listener's SYN-RECEIVED shows in its answer (a SYN,ACK, or a RST
            # from a port nothing listens on); only a simultaneous open moves now
            if dst.state == "SYN-SENT":
                self._change(dst, "SYN-RECEIVED", t, "rcv SYN (simultaneous open)", True)
            return
        acked = flags & ACK
        if flags & SYN:  # SYN,ACK
            acks_syn = dst.iss is not None and seg.ack == sq.add(dst.iss, 1)
            if dst.state == "SYN-SENT" and acks_syn and src.bare_syn:
                # the peer opened too: its SYN came first (simultaneous open)
                self._change(dst, "SYN-RECEIVED", t, "rcv SYN (simultaneous open)", True)
            if dst.state == "SYN-SENT" and acks_syn:
                self._change(dst, "ESTABLISHED", t, "rcv SYN,ACK", inferred=True)
            elif (
                dst.state == "SYN-RECEIVED"
                and dst.iss is not None
                and seg.ack == sq.add(dst.iss, 1)
            ):
                self._change(dst, "ESTABLISHED", t, "rcv SYN,ACK (simultaneous open)", True)
            return
        if acked and dst.state == "SYN-RECEIVED" and dst.iss is not None:
            if sq.gt(seg.ack, dst.iss):
                self._change(dst, "ESTABLISHED", t, "rcv ACK of SYN", inferred=True)
        fin_acked = (
            acked and dst.fin_seq is not None and sq.gt(seg.ack, dst.fin_seq)
        )  # it covers the receiver's FIN
        fin = bool(flags & FIN)
        if dst.state == "FIN-WAIT-1" and fin and fin_acked:
            self._change(dst, "TIME-WAIT", t, "rcv FIN,ACK", inferred=True)
            self.notes.add("combined")
            return
        if fin_acked:
            if dst.state == "FIN-WAIT-1":
                self._change(dst, "FIN-WAIT-2", t, "rcv ACK of FIN", inferred=True)
            elif dst.state == "CLOSING":
                self._change(dst, "TIME-WAIT", t, "rcv ACK of FIN", inferred=True)
            elif dst.state == "LAST-ACK":
                self._change(dst, "CLOSED", t, "rcv ACK of FIN", inferred=True)
        if fin and src.fin_seq is not None and sq.add(seg.seq, seg.payload_len) == src.fin_seq:
            if dst.state in ("ESTABLISHED", "SYN-RECEIVED", UNKNOWN):
                self._change(dst, "CLOSE-WAIT", t, "rcv FIN", inferred=True)
            elif dst.state == "FIN-WAIT-1":
                self._change(dst, "CLOSING", t, "rcv FIN (simultaneous close)", inferred=True)
            elif dst.state == "FIN-WAIT-2":
                self._change(dst, "TIME-WAIT", t, "rcv FIN", inferred=True)

    def _rst_received(self, dst: Side, src: Side, seg: CapturedSegment, t: float) -> None:
        if dst.state == "SYN-SENT":
            if seg.flags & ACK and dst.iss is not None and seg.ack == sq.add(dst.iss, 1):
                self._change(dst, "CLOSED", t, "rcv RST (connection refused)", inferred=True)
            return
        if dst.state in ("TIME-WAIT", "CLOSED", LISTEN_ASSUMED):
            return  # RFC 1337 in TIME-WAIT; nothing to reset otherwise
        if dst.state == "SYN-RECEIVED":
            self._change(dst, LISTEN_ASSUMED, t, "rcv RST", inferred=True)
            return
        self._change(dst, "CLOSED", t, "rcv RST", inferred=True)

    def _time_rtt(self, src: Side, dst: Side, seg: CapturedSegment, t: float) -> None:
        """RTT samples as the observer sees them: from a segment to the first ACK
        that covers it (Karn's rule: a resent segment is never timed)."""
        flags = seg.flags
        if not (self.keep_records or flags & SYN or dst.timed):
            return  # no view shows this connection: only its handshake is timed
        if seg.seg_len and (self.keep_records or flags & SYN):
            end = sq.add(seg.seq, seg.seg_len)
            timed = src.timed
            if src.highest_end is not None and sq.le(end, src.highest_end):
                timed.pop(end, None)  # sent again (or within what was): not timed
            else:
                src.highest_end = end
                if len(timed) < MAX_TIMED:
                    timed[end] = t
        if flags & ACK and dst.timed:
            # the ends were timed in sequence order (only a new highest end is):
            # an ACK covers a prefix of them
            ack = seg.ack
            done = []
            for e in dst.timed:
                if not sq.le(e, ack):
                    break
                done.append(e)
            if done:
                newest = done[-1]
                sent_at = dst.timed[newest]
                syn = dst.iss is not None and newest == sq.add(dst.iss, 1)
                kind = "handshake" if syn else "data"
                # a connection no view shows keeps only its handshake's samples
                if len(self.rtt) < MAX_RTT_SAMPLES and (self.keep_records or syn):
                    self.rtt.append(RttSample(t, dst.name, t - sent_at, kind))
                for e in done:
                    del dst.timed[e]


def _take_syn_options(side: Side, seg: CapturedSegment) -> None:
    for opt in seg.options:
        if isinstance(opt, MaxSegmentSize):
            side.mss = opt.value
        elif isinstance(opt, WindowScale):
            side.wscale = opt.shift
        elif isinstance(opt, SackPermitted):
            side.sack_ok = True
        elif isinstance(opt, Timestamps):
            side.timestamps = True


def _options_text(seg: CapturedSegment) -> str:
    return options_text(Segment(seg.sport, seg.dport, seg.seq, seg.ack, seg.flags, seg.window,
                                options=seg.options))  # fmt: skip


def canonical(seg: CapturedSegment) -> tuple[int, int, int, int, int]:
    """The connection's key, the same both ways: the IP version, then both
    (address as an integer, port) pairs, the smaller first."""
    a, b = (int(seg.src), seg.sport), (int(seg.dst), seg.dport)
    return (seg.src.version, *a, *b) if a <= b else (seg.src.version, *b, *a)


class FlowTable:
    """Every connection of a capture, as its segments come: a new connection for a
    new 4-tuple, and for a SYN with a new ISN once the old one on that 4-tuple is
    done (ports reused). ``on_done`` receives each connection as it ends (both
    sides closed) or at ``close()``; only connections still open are held."""

    def __init__(
        self,
        keep: Callable[[Flow], bool] | None = None,
        on_done: Callable[[Flow], None] | None = None,
        notes: Callable[[Flow, CapturedSegment], Iterable[str]] | None = None,
    ) -> None:
        self.open: dict[tuple[int, int, int, int, int], Flow] = {}
        self.count = 0
        self.to_itself = 0  # segments from an endpoint to itself, left out
        self.t0: float | None = None
        self.file_index = 0  # which of the capture files the segments come from now
        self._keep = keep
        self._on_done = on_done
        self._notes = notes

    def feed(self, seg: CapturedSegment) -> Flow | None:
        """Take the capture's next segment; its connection, or None for a segment
        from an endpoint to itself (a LAND attack: no connection), counted."""
        if seg.sport == seg.dport and seg.src == seg.dst:
            self.to_itself += 1
            return None
        if self.t0 is None:
            self.t0 = seg.t
        key = canonical(seg)
        flow = self.open.get(key)
        if flow is not None and seg.flags & (SYN | ACK) == SYN and flow.finished():
            src, _ = flow.side_names(seg)
            if flow.sides[src].iss != seg.seq:
                self._done(key, flow)
                flow = None
        if flow is None:
            self.count += 1
            flow = Flow(self.count, seg)
            flow.first_frame = (self.file_index, seg.record)
            if self._keep is not None:
                flow.keep_records = self._keep(flow)
            self.open[key] = flow
        notes = self._notes(flow, seg) if self._notes is not None else ()
        flow.feed(seg, self.t0, notes)
        return flow

    def _done(self, key: tuple[int, int, int, int, int], flow: Flow) -> None:
        del self.open[key]
        if self._on_done is not None:
            self._on_done(flow)

    def close(self) -> None:
        """The capture ended: hand on every connection still held."""
        for key, flow in list(self.open.items()):
            self._done(key, flow)
