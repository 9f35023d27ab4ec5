"""One trace for every source: a connection's life as a list of records.

``TraceRecorder`` is the engine's tracer hook (:class:`synack.tcp.tracer.Tracer`):
give each Host its own ``recorder.endpoint("name")`` and all their records
land in one time-ordered list. ``synack.trace.output.json_records`` gives
the JSON Lines form that ``synack demo --json`` prints.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from synack.tcp.connection import Connection
from synack.tcp.state import State
from synack.wire.errors import MalformedPacket
from synack.wire.icmp import parse_icmp_packet
from synack.wire.ip import parse_tcp_packet
from synack.wire.segment import Segment, tcpdump_flags


@dataclass(frozen=True, slots=True)
class SegmentRecord:
    t: float
    endpoint: str
    direction: str  # "sent", "received" or "dropped"
    src: str
    dst: str
    flags: str  # tcpdump letters
    seq: int
    ack: int
    len: int
    win: int
    options: str
    reason: str | None = None
    kind = "segment"


@dataclass(frozen=True, slots=True)
class StateRecord:
    t: float
    endpoint: str
    old: str
    new: str
    cause: str
    kind = "state"


@dataclass(frozen=True, slots=True)
class TimerRecord:
    t: float
    endpoint: str
    timer: str
    kind = "timer"


@dataclass(frozen=True, slots=True)
class CallRecord:
    t: float
    endpoint: str
    call: str
    kind = "call"


@dataclass(frozen=True, slots=True)
class PacketRecord:
    """A packet on a link (from the simulator or a capture): when it left, when
    it arrived (None: never), and what happened to it on the way."""

    t: float
    arrival: float | None
    src: str  # endpoint names
    dst: str
    fate: str
    flags: str
    seq: int
    ack: int
    len: int
    win: int
    options: str
    packet: bytes = field(repr=False, compare=False, default=b"")
    kind = "packet"


Record = SegmentRecord | StateRecord | TimerRecord | CallRecord | PacketRecord


@dataclass(frozen=True, slots=True)
class MetricSample:
    """A sender's congestion and flow-control state, sampled as a segment passes:
    sizes in bytes, times in seconds; ``event`` marks a loss or congestion
    response ("fast retransmit", "timeout", "ECN")."""

    t: float
    endpoint: str
    connection: str
    cwnd: int
    ssthresh: int
    flight: int
    srtt: float | None
    rto: float
    peer_window: int
    event: str | None = None


def endpoint_text(address: object, port: int) -> str:
    """``address:port``, an IPv6 address in brackets."""
    text = str(address)
    return f"[{text}]:{port}" if ":" in text else f"{text}:{port}"


def options_text(seg: Segment) -> str:
    """Options the way tcpdump lists them: ``mss 1460,nop,wscale 7,...``."""
    parts = []
    for opt in seg.options:
        name = type(opt).__name__
        if name == "MaxSegmentSize":
            parts.append(f"mss {opt.value}")  # type: ignore[union-attr]
        elif name == "WindowScale":
            parts.append(f"wscale {opt.shift}")  # type: ignore[union-attr]
        elif name == "SackPermitted":
            parts.append("sackOK")
        elif name == "Timestamps":
            parts.append(f"TS val {opt.value} ecr {opt.echo_reply}")  # type: ignore[union-attr]
        elif name == "Sack":
            blocks = " ".join(f"{a}:{b}" for a, b in opt.blocks)  # type: ignore[union-attr]
            parts.append(f"sack {blocks}")
        elif name == "NoOperation":
            parts.append("nop")
        elif name == "EndOfOptions":
            parts.append("eol")
        elif name in ("FastOpen", "FastOpenExp"):
            parts.append(opt.text)  # type: ignore[union-attr]  # packetdrill's FO / FOEXP
        else:
            parts.append(f"unknown-{opt.kind}")
    return ",".join(parts)


def unchecked_fields(packet: bytes) -> tuple[str, int, int, int, int] | None:
    """(flags, seq, ack, payload length, window) read straight from a packet's
    bytes without verifying anything, for packets that did not decode (a
    corrupted one still shows what it was). None if it is too short."""
    if not packet:
        return None
    version = packet[0] >> 4
    if version == 4:
        ip_len = (packet[0] & 0x0F) * 4
        total = struct.unpack_from("!H", packet, 2)[0] if len(packet) >= 4 else len(packet)
    elif version == 6:
        ip_len = 40
        total = 40 + (struct.unpack_from("!H", packet, 4)[0] if len(packet) >= 6 else 0)
    else:
        return None
    if len(packet) < ip_len + 20:
        return None
    seq, ack, offset_flags, win = struct.unpack_from("!IIHH", packet, ip_len + 4)
    tcp_len = (offset_flags >> 12) * 4
    length = max(0, min(total, len(packet)) - ip_len - tcp_len)
    return tcpdump_flags(offset_flags & 0x1FF), seq, ack, length, win


def icmp_note(packet: bytes) -> str | None:
    """What an ICMP packet is, for a packet record's fate (``"ICMP
    packet-too-big mtu 1000"``), or None if it is not a valid ICMP packet."""
    try:
        msg = parse_icmp_packet(packet)
    except MalformedPacket:
        return None
    if msg is None:
        return "ICMP"
    return f"ICMP {msg.kind}" + (f" mtu {msg.mtu}" if msg.mtu is not None else "")


def _destination(packet: bytes) -> str:
    """The destination address of an IP packet, as text."""
    if packet and packet[0] >> 4 == 6 and len(packet) >= 40:
        return str(ipaddress.IPv6Address(packet[24:40]))
    if len(packet) >= 20:
        return str(ipaddress.IPv4Address(packet[16:20]))
    return "?"


class TraceRecorder:
    """Collects records from any number of endpoints into one list."""

    def __init__(self, metrics: bool = False) -> None:
        self.records: list[Record] = []
        # with ``metrics``, each endpoint also samples cwnd, RTT and windows
        self.sample_metrics = metrics
        self.metrics: list[MetricSample] = []
        self._loss_counts: dict[Connection, tuple[int, int, int, int]] = {}

    def endpoint(self, name: str) -> EndpointTracer:
        return EndpointTracer(self, name)

    def new_loss_event(self, conn: Connection) -> str | None:
        """The loss response ``conn`` made since this was last asked ("timeout",
        "fast retransmit", "ECN" or "tail loss probe"), or None."""
        stats = conn.stats
        counts = (stats.fast_retransmits, stats.timeouts, stats.ecn_reductions,
                  stats.tail_loss_probes)  # fmt: skip
        before = self._loss_counts.get(conn, (0, 0, 0, 0))
        self._loss_counts[conn] = counts
        if counts[1] > before[1]:
            return "timeout"
        if counts[0] > before[0]:
            return "fast retransmit"
        if counts[2] > before[2]:
            return "ECN"
        if counts[3] > before[3]:
            return "tail loss probe"
        return None

    def packet(
        self, t: float, arrival: float | None, src: str, dst: str, fate: str, packet: bytes
    ) -> None:
        """Record a packet seen on a link; one that does not decode is kept as malformed."""
        try:
            _, _, seg = parse_tcp_packet(packet)
        except MalformedPacket as exc:
            # what it was, read from the bytes unchecked (a corrupted packet still
            # shows its flags and numbers, as they arrived); ICMP is named as such
            note = icmp_note(packet) if exc.reason == "not-tcp" else None
            if note is not None:
                flags, seq, ack, length, win = "", 0, 0, 0, 0
            else:
                note = exc.reason
                flags, seq, ack, length, win = unchecked_fields(packet) or ("", 0, 0, 0, 0)
            self.records.append(
                PacketRecord(
                    t,
                    arrival,
                    src,
                    dst,
                    f"{fate} ({note})",
                    flags,
                    seq,
                    ack,
                    length,
                    win,
                    "",
                    packet,
                )
            )
            return
        self.records.append(
            PacketRecord(
                t,
                arrival,
                src,
                dst,
                fate,
                tcpdump_flags(seg.flags),
                seg.seq,
                seg.ack,
                len(seg.payload),
                seg.window,
                options_text(seg),
                packet,
            )
        )

    def packet_tap(self, names: Mapping[Any, str]) -> Callable[[Any], None]:
        """A tap for a simulated network (``net.taps.append(...)``) that records every
        packet between the hosts named in ``names`` (host -> endpoint name)."""

        def tap(event: Any) -> None:
            src, dst = names.get(event.src), names.get(event.dst)
            if event.fate == "unroutable" and src is not None:
                # no host has its destination: name the address it was sent to
                dst = _destination(event.packet)
            if src is not None and dst is not None:
                self.packet(event.sent, event.arrival, src, dst, event.fate, event.packet)

        return tap

    def to_dicts(self) -> list[dict[str, Any]]:
        out = []
        for rec in self.records:
            item: dict[str, Any] = {"t": round(rec.t, 6), "kind": rec.kind}
            for key in rec.__slots__:
                if key not in ("t", "packet"):
                    item[key] = getattr(rec, key)
            out.append(item)
        return out


class EndpointTracer:
    """The :class:`~synack.tcp.tracer.Tracer` for one endpoint of a recording."""

    __slots__ = ("name", "recorder")

    def __init__(self, recorder: TraceRecorder, name: str) -> None:
        self.recorder = recorder
        self.name = name

    def state_changed(
        self, conn: Connection | None, now: float, old: State, new: State, cause: str
    ) -> None:
        self.recorder.records.append(StateRecord(now, self.name, old.value, new.value, cause))

    def segment(
        self,
        conn: Connection | None,
        now: float,
        direction: str,
        segment: Segment,
        reason: str | None,
        addresses: tuple[object, object] | None = None,
    ) -> None:
        local_port = segment.src_port if direction == "sent" else segment.dst_port
        remote_port = segment.dst_port if direction == "sent" else segment.src_port
        if conn is not None and conn.remote is not None:
            local = endpoint_text(conn.local[0], local_port)
            remote = endpoint_text(conn.remote[0], conn.remote[1])
        elif addresses is not None:
            local = endpoint_text(addresses[0], local_port)
            remote = endpoint_text(addresses[1], remote_port)
        else:
            local = f"*:{segment.src_port if direction == 'sent' else segment.dst_port}"
            remote = f"*:{segment.dst_port if direction == 'sent' else segment.src_port}"
        src, dst = (local, remote) if direction == "sent" else (remote, local)
        if self.recorder.sample_metrics and conn is not None and conn.state.synchronized:
            self._sample(conn, now, f"{local} > {remote}")
        self.recorder.records.append(
            SegmentRecord(
                now,
                self.name,
                direction,
                src,
                dst,
                tcpdump_flags(segment.flags),
                segment.seq,
                segment.ack,
                len(segment.payload),
                segment.window,
                options_text(segment),
                reason,
            )
        )

    def _sample(self, conn: Connection, now: float, name: str) -> None:
        recorder = self.recorder
        event = recorder.new_loss_event(conn)
        flight = (conn.snd_max - conn.snd_una) & 0xFFFFFFFF
        sample = MetricSample(
            now, self.name, name, conn.cc.cwnd, conn.cc.ssthresh, flight, conn.rtt.srtt,
            conn.rtt.rto, conn.snd_wnd, event,
        )  # fmt: skip
        recorder.metrics.append(sample)

    def timer_fired(self, conn: Connection, now: float, timer: str) -> None:
        self.recorder.records.append(TimerRecord(now, self.name, timer))

    def user_call(self, conn: Connection, now: float, call: str) -> None:
        self.recorder.records.append(CallRecord(now, self.name, call))
