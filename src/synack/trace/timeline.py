"""What every ladder drawing shares: a trace turned into numbered steps.

A *step* is one row of a ladder: an arrow (a packet, from its sender at the
time it left to its receiver at the time it arrived, or nowhere if it was
lost), a state change on one side, a timer that fired, or a user call. Each
step carries both sides' states after it, so a renderer never has to replay
the state machines itself.

Arrows come from :class:`~synack.trace.records.PacketRecord` when the trace
has any (the simulator's link, with fates); otherwise from the segments each
endpoint sent (:class:`~synack.trace.records.SegmentRecord` with direction
``"sent"``), as in a live trace or one loaded from JSON Lines.

Sequence numbers are relative by default, as tcpdump prints them: each
side's sequence numbers count from the ISN in its SYN, and its
acknowledgment numbers from the other side's ISN.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from synack.trace import i18n
from synack.trace.records import (
    CallRecord,
    PacketRecord,
    Record,
    SegmentRecord,
    StateRecord,
    TimerRecord,
    TraceRecorder,
    unchecked_fields,
)
from synack.wire.seq import MASK

TraceSource = TraceRecorder | Iterable[Record]


def as_records(source: TraceSource) -> list[Record]:
    """The records of a recorder (or an iterable of records) in time order.

    The sort is stable, so records of one instant keep the order they were
    recorded in; times are compared to the nanosecond, so float noise
    (0.060000000000000005 and 0.06) does not reorder an instant.
    """
    records = list(source.records if isinstance(source, TraceRecorder) else source)
    return sorted(records, key=lambda rec: round(rec.t, 9))


def ms(t: float) -> str:
    """Seconds as milliseconds, with up to three decimals: ``10``, ``10.5``, ``240060``."""
    text = f"{t * 1000.0:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


@dataclass(frozen=True, slots=True)
class Step:
    """One row of a ladder. ``index`` counts from 1; ``states`` are (left, right) after it."""

    index: int
    kind: str  # "arrow", "state", "timer" or "call"
    t: float
    side: str  # the endpoint that acts: the sender of an arrow
    states: tuple[str, str]
    text: str = ""  # the arrow's label, the new state, the timer's or the call's name
    # arrows
    dst: str = ""
    arrival: float | None = None
    fate: str = ""
    flags: str = ""
    seq: int = 0
    ack: int = 0
    len: int = 0
    win: int = 0  # the raw field
    win_shift: int = 0  # the sender's window scale in effect (0 for a SYN: RFC 7323 2.2)
    options: str = ""  # a SYN's options, compactly: "mss 1460,sackOK,TS,wscale 7"
    # state changes
    old: str = ""
    cause: str = ""

    @property
    def lost(self) -> bool:
        """Never arrived. (An arrow drawn from a sent segment whose arrival nobody
        recorded has fate ``"sent"``, and one a capture saw has fate ``"seen"``,
        perhaps with notes: neither is counted as lost.)"""
        return (
            self.kind == "arrow"
            and self.arrival is None
            and self.fate != "sent"
            and not self.fate.startswith("seen")
        )

    @property
    def delay(self) -> float | None:
        return None if self.arrival is None else self.arrival - self.t

    @property
    def fate_word(self) -> str:
        """The fate's first word (``"corrupted (tcp-checksum)"`` gives ``"corrupted"``)."""
        return self.fate.split(" ", 1)[0] if self.fate else ""

    def fate_note(self, lang: str = "en") -> str:
        """A short note for anything but a plain delivery: ``LOST``, ``dup +10 ms``..."""
        word = self.fate_word
        if self.kind != "arrow" or (self.arrival is None and word == "sent"):
            return ""
        if word == "seen":  # a captured packet: its notes (expert flags), if any
            return self.fate[len("seen") :].strip(" ()")
        lost = i18n.ui("lost", lang)
        if self.lost:
            return lost if word in ("lost", "") else f"{lost} ({i18n.fate(word, lang)})"
        delay = f"+{ms(self.delay or 0.0)} ms"
        if word in ("", "delivered", "sent"):
            return delay
        short = i18n.fate({"duplicated": "dup"}.get(word, word), lang)
        if "(" in self.fate and word != "corrupted":  # a copy that did not decode
            short += f" ({self.fate.split('(', 1)[1].rstrip(')')})"
        return f"{short} {delay}"

    @property
    def window(self) -> str:
        """The window the sender offered: the raw field, or with a scale in effect the
        bytes it stands for and how (``256 KiB (32768<<3)``)."""
        return window_text(self.win, self.win_shift)

    def describe(self, left: str, right: str, lang: str = "en") -> str:
        """One line of prose for the step, as the HTML page shows it."""
        when = i18n.ui("ms", lang, t=ms(self.t))
        side, dst = i18n.name(self.side, lang), i18n.name(self.dst, lang)
        if self.kind == "arrow":
            text = self.text
            if self.options:
                text += f" <{self.options}>"
            if not self.text.startswith(("(malformed)", "ICMP")):  # a TCP segment's
                text += f" win {self.window}"
            if self.lost:
                why = i18n.fate(self.fate_word or "lost", lang)
                end = i18n.ui("lost_on_the_way", lang, why=why)
            elif self.arrival is None:
                return f"{when}: {side} \u2192 {dst}: {text}"
            else:
                end = i18n.ui("arrives_at", lang, t=ms(self.arrival or 0.0))
                if self.fate_word not in ("", "delivered", "sent"):
                    end += f", {i18n.fate(self.fate_word, lang)}"
            return f"{when}: {side} \u2192 {dst}: {text}; {end}"
        if self.kind == "state":
            cause = i18n.cause(self.cause, lang)
            return f"{when}: {side} {self.old} \u2192 {self.text} ({cause})"
        if self.kind == "timer":
            return f"{when}: " + i18n.ui("timer_fires", lang, side=side,
                                         timer=i18n.timer(self.text, lang))  # fmt: skip
        return f"{when}: " + i18n.ui("calls", lang, side=side, call=i18n.call(self.text, lang))

    def to_dict(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "index": self.index,
            "kind": self.kind,
            "t": round(self.t, 6),
            "side": self.side,
            "states": list(self.states),
            "text": self.text,
        }
        if self.kind == "arrow":
            item.update(
                dst=self.dst,
                arrival=None if self.arrival is None else round(self.arrival, 6),
                fate=self.fate,
                flags=self.flags,
                seq=self.seq,
                ack=self.ack,
                len=self.len,
                win=self.win,
                win_shift=self.win_shift,
                options=self.options,
            )
        elif self.kind == "state":
            item.update(old=self.old, cause=self.cause)
        return item


@dataclass(frozen=True, slots=True)
class Timeline:
    """A two-sided trace, ready to draw."""

    left: str
    right: str
    initial: tuple[str, str]
    steps: list[Step]
    isns: dict[str, int] = field(default_factory=dict)  # the first ISN each side used
    absolute: bool = False
    source: str = "packets"  # where the arrows came from: "packets", "segments" or "none"

    def side_of(self, endpoint: str) -> int:
        return 0 if endpoint == self.left else 1

    def arrows(self) -> Iterator[Step]:
        return (s for s in self.steps if s.kind == "arrow")

    def seq_note(self, lang: str = "en") -> str:
        if self.absolute:
            return i18n.ui("absolute_seq", lang)
        known = [
            i18n.ui("isn_of", lang, name=i18n.name(name, lang), isn=self.isns[name])
            for name in (self.left, self.right)
            if name in self.isns
        ]
        return i18n.ui("relative_seq", lang) + (f" ({', '.join(known)})" if known else "")


def window_text(win: int, shift: int) -> str:
    """``65535`` unscaled; ``256 KiB (32768<<3)`` with a shift of 3."""
    if not shift:
        return str(win)
    size = win << shift
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            amount = f"{size / scale:.1f}".removesuffix(".0")
            return f"{amount} {unit} ({win}<<{shift})"
    return f"{size} B ({win}<<{shift})"


def syn_options(options: str) -> str:
    """A SYN's options, compactly, in the order sent: ``mss 1460,sackOK,TS,wscale 7``
    (no padding, and no timestamp values)."""
    parts = []
    for part in options.split(","):
        part = part.strip()
        if not part or part in ("nop", "eol"):
            continue
        parts.append("TS" if part.startswith("TS ") else part)
    return ",".join(parts)


def _wscale(options: str) -> int | None:
    """The shift a SYN's options announce; more than 14 counts as 14 (RFC 7323 2.3)."""
    for part in options.split(","):
        if part.strip().startswith("wscale "):
            try:
                return min(int(part.split()[1]), 14)
            except (IndexError, ValueError):
                return None
    return None


def arrow_label(flags: str, seq: int, ack: int, length: int, win: int | None = None) -> str:
    """``S. seq 0 ack 1 len 0``: the acknowledgment only when the ACK flag is set."""
    parts = [flags or "?", f"seq {seq}"]
    if "." in flags:
        parts.append(f"ack {ack}")
    parts.append(f"len {length}")
    if win is not None:
        parts.append(f"win {win}")
    return " ".join(parts)


def _initial_states(records: list[Record], names: tuple[str, str]) -> tuple[str, str]:
    """Each side's state before the first step; blank for a side whose states
    are not known (a kernel seen only through its packets)."""
    first: dict[str, str] = {}
    for rec in records:
        if isinstance(rec, StateRecord) and rec.endpoint in names and rec.endpoint not in first:
            first[rec.endpoint] = rec.old
    if not first:
        return ("CLOSED", "CLOSED")
    return (first.get(names[0], ""), first.get(names[1], ""))


def build_timeline(
    source: TraceSource, left: str = "client", right: str = "server", absolute: bool = False
) -> Timeline:
    """Number the steps of a trace between ``left`` and ``right``.

    Records of other endpoints, and packets between other pairs, are left out.
    """
    records = as_records(source)
    names = (left, right)
    use_packets = any(
        isinstance(r, PacketRecord) and r.src in names and r.dst in names and r.src != r.dst
        for r in records
    )
    initial = _initial_states(records, names)
    states = list(initial)
    isns: dict[str, int] = {}  # the current ISN of each side
    first_isns: dict[str, int] = {}
    steps: list[Step] = []
    arrivals = {} if use_packets else _segment_arrivals(records, names)
    wscales: dict[str, int | None] = {}  # the window scale in each side's latest SYN

    def window(src: str, dst: str, flags: str, options: str | None) -> dict[str, Any]:
        """The SYN's options, or the window scale in effect (RFC 7323 2.2: a SYN's
        window is never scaled; a scale applies once both SYNs carried one)."""
        if "S" in flags:
            if options is not None:
                wscales[src] = _wscale(options)
            return {"options": syn_options(options or "")}
        mine, theirs = wscales.get(src), wscales.get(dst)
        return {"win_shift": mine if mine is not None and theirs is not None else 0}

    def add(kind: str, t: float, side: str, **kw: Any) -> None:
        steps.append(Step(len(steps) + 1, kind, t, side, (states[0], states[1]), **kw))

    for rec in records:
        if isinstance(rec, StateRecord):
            if rec.endpoint in names:
                states[names.index(rec.endpoint)] = rec.new
                add("state", rec.t, rec.endpoint, text=rec.new, old=rec.old, cause=rec.cause)
        elif isinstance(rec, TimerRecord):
            if rec.endpoint in names:
                add("timer", rec.t, rec.endpoint, text=rec.timer)
        elif isinstance(rec, CallRecord):
            if rec.endpoint in names:
                add("call", rec.t, rec.endpoint, text=rec.call)
        elif isinstance(rec, PacketRecord):
            if not use_packets or rec.src not in names or rec.dst not in names:
                continue
            if rec.src == rec.dst:
                continue
            if not rec.flags and "(ICMP" in rec.fate:  # an ICMP error (records.icmp_note)
                add("arrow", rec.t, rec.src, text=rec.fate.split("(", 1)[1].rstrip(")"),
                    dst=rec.dst, arrival=rec.arrival, fate=rec.fate)  # fmt: skip
                continue
            fields: tuple[str, int, int, int, int] | None
            fields = (rec.flags, rec.seq, rec.ack, rec.len, rec.win) if rec.flags else None
            if fields is None:
                fields = unchecked_fields(rec.packet)
            if fields is None:
                add("arrow", rec.t, rec.src, text="(malformed)", dst=rec.dst,
                    arrival=rec.arrival, fate=rec.fate)  # fmt: skip
                continue
            flags, seq, ack, length, win = fields
            label_seq, label_ack = _relative(
                rec.src, rec.dst, flags, seq, ack, isns, first_isns, absolute
            )
            add(
                "arrow", rec.t, rec.src, text=arrow_label(flags, label_seq, label_ack, length),
                dst=rec.dst, arrival=rec.arrival, fate=rec.fate, flags=flags, seq=label_seq,
                ack=label_ack, len=length, win=win,
                **window(rec.src, rec.dst, flags, rec.options if rec.flags else None),
            )  # fmt: skip
        elif isinstance(rec, SegmentRecord):
            if use_packets or rec.direction != "sent" or rec.endpoint not in names:
                continue
            other = right if rec.endpoint == left else left
            arrival = arrivals.get(id(rec))
            label_seq, label_ack = _relative(
                rec.endpoint, other, rec.flags, rec.seq, rec.ack, isns, first_isns, absolute
            )
            add(
                "arrow", rec.t, rec.endpoint,
                text=arrow_label(rec.flags, label_seq, label_ack, rec.len),
                dst=other, arrival=arrival, fate="sent", flags=rec.flags, seq=label_seq,
                ack=label_ack, len=rec.len, win=rec.win,
                **window(rec.endpoint, other, rec.flags, rec.options),
            )  # fmt: skip
    has_arrows = any(s.kind == "arrow" for s in steps)
    return Timeline(
        left, right, initial, steps, first_isns, absolute,
        ("packets" if use_packets else "segments") if has_arrows else "none",
    )  # fmt: skip


def _segment_arrivals(records: list[Record], names: tuple[str, str]) -> dict[int, float]:
    """When each sent segment reached the other side, if that side recorded it
    (received or dropped by its engine). Identical segments are retransmissions:
    a receipt is matched with the latest one sent before it."""
    waiting: dict[tuple[str, str, int, int, int], list[SegmentRecord]] = {}
    arrivals: dict[int, float] = {}
    for rec in records:
        if not isinstance(rec, SegmentRecord) or rec.endpoint not in names:
            continue
        if rec.direction == "sent":
            other = names[1] if rec.endpoint == names[0] else names[0]
            key = (other, rec.flags, rec.seq, rec.ack, rec.len)
            waiting.setdefault(key, []).append(rec)
        else:
            queue = waiting.get((rec.endpoint, rec.flags, rec.seq, rec.ack, rec.len))
            if queue:
                arrivals[id(queue.pop())] = rec.t
    return arrivals


def _relative(
    src: str,
    dst: str,
    flags: str,
    seq: int,
    ack: int,
    isns: dict[str, int],
    first_isns: dict[str, int],
    absolute: bool,
) -> tuple[int, int]:
    if "S" in flags:  # a new SYN (not a retransmission) starts a new incarnation
        isns[src] = seq
        first_isns.setdefault(src, seq)
    if absolute:
        return seq, ack
    rel_seq = (seq - isns[src]) & MASK if src in isns else seq
    rel_ack = (ack - isns[dst]) & MASK if dst in isns and "." in flags else ack
    return rel_seq, rel_ack
