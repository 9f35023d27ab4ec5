"""A live view of a TUN driver's traffic: ladder lines as segments cross, and a
pcap at the end (``synack listen --ladder --pcap``).

The packet path only keeps the packets (parsed when drawn, or at the end)
and the Host's state changes; the ladder is drawn by a thread of its own,
woken after each batch, so that drawing never holds up an ACK. The drawing
thread takes the records that have arrived since it last drew, all at once,
at most ``DRAW_RATE`` times a second and at most a fifth of the time.
"""

from __future__ import annotations

import dataclasses
import sys
import threading
import time
from typing import NamedTuple

from rich.console import Console

from synack.analyze.flows import FlowTable
from synack.analyze.model import CapturedSegment
from synack.net.driver import TunDriver
from synack.tcp.connection import Connection
from synack.tcp.state import State
from synack.trace.ladder import ladder_lines
from synack.trace.pcap import write_pcap
from synack.trace.records import (
    EndpointTracer,
    PacketRecord,
    Record,
    StateRecord,
    TraceRecorder,
)
from synack.trace.timeline import build_timeline
from synack.wire import seq as sq
from synack.wire.errors import MalformedPacket
from synack.wire.ip import decode_tcp_packet, parse_tcp_packet
from synack.wire.segment import Segment

SYNACK, KERNEL = "synack", "kernel"
DRAW_RATE = 20  # ladder draws a second, at most
DRAW_PAUSE = 4  # after a draw, a pause at least this many times as long
SWITCH_INTERVAL = 0.001  # seconds the drawing thread may hold the GIL while the loop waits
SIMULTANEOUS = " (simultaneous close)"
NOT_SENT_YET = " (ours not sent yet)"

Key = tuple[bytes, int, bytes, int]  # our address and port, the peer's address and port


class CloseJudge:
    """Names a close "simultaneous" only when it was one: both FINs sent before
    either side received the other's.

    The engine calls a FIN that arrives in FIN-WAIT-1 without acknowledging
    our FIN a simultaneous close (RFC 9293's CLOSING). But FIN-WAIT-1 starts
    when the application closes, and our FIN may not have left yet (still
    queued behind data, or in the Host's output when the peer's FIN was read):
    then the peer closed first, and the close was an ordinary one. Fed the
    records in order, :meth:`judge` returns each one, a state record's cause
    rewritten where the packets show that our FIN had not been sent (to the
    device) when the peer's FIN came, or that the peer's FIN acknowledged ours.
    """

    def __init__(self, us: str = SYNACK, peer: str = KERNEL) -> None:
        self.us, self.peer = us, peer
        self.fin_acks: dict[Key, int] = {}  # connection -> the ACK that covers our FIN
        self.last_peer_fin: tuple[Key, int | None] | None = None  # and its ACK field

    def judge(self, rec: Record) -> Record:
        if isinstance(rec, PacketRecord):
            if "F" in rec.flags or "S" in rec.flags:
                self._packet(rec)
        elif isinstance(rec, StateRecord):
            if rec.endpoint == self.us and SIMULTANEOUS in rec.cause and not self._simultaneous():
                return dataclasses.replace(rec, cause=self._honest(rec.cause))
        return rec

    def _packet(self, rec: PacketRecord) -> None:
        if rec.src not in (self.us, self.peer) or not rec.packet:
            return
        try:
            src, dst, seg = parse_tcp_packet(rec.packet)
        except MalformedPacket:
            return
        ours = rec.src == self.us
        key = (
            (src, seg.src_port, dst, seg.dst_port)
            if ours
            else (dst, seg.dst_port, src, seg.src_port)
        )
        if "S" in rec.flags:  # a new incarnation of the pair
            self.fin_acks.pop(key, None)
            return
        if ours:
            self.fin_acks.setdefault(key, sq.add(seg.seq, len(seg.payload) + 1))
        else:
            self.last_peer_fin = (key, seg.ack if "." in rec.flags else None)

    def _simultaneous(self) -> bool:
        if self.last_peer_fin is None:
            return False
        key, ack = self.last_peer_fin
        fin_ack = self.fin_acks.get(key)
        if fin_ack is None:  # our FIN had not left when theirs came
            return False
        # their FIN did not acknowledge ours: sent before ours reached them
        return ack is None or sq.lt(ack, fin_ack)

    def _honest(self, cause: str) -> str:
        fin_sent = self.last_peer_fin is not None and self.last_peer_fin[0] in self.fin_acks
        return cause.replace(SIMULTANEOUS, "" if fin_sent else NOT_SENT_YET)


class LiveTrace:
    """Records what crosses the TUN device and the Host's state changes; draws
    new ladder lines as they happen (from a thread of its own) and writes a
    pcap at the end."""

    def __init__(self, ladder: bool, pcap: str | None, console: Console) -> None:
        self.recorder = TraceRecorder()
        self.ladder = ladder
        self.pcap = pcap
        self.console = console
        self._printed = 0
        self._judge = CloseJudge()
        self._judged: list[Record] = []  # the records drawn so far, causes made honest
        self._taken = 0  # how many of the recorder's records are in _judged
        self._draw_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._drawer: threading.Thread | None = None
        # the kernel's side, inferred from the packets as synack analyze infers
        # a capture's (its states are not ours to know)
        self._kernel = KernelStates()

    def tracer(self) -> StatesTracer:
        """The tracer for the Host: synack's side of the ladder (its states; the
        segments are drawn from the packets)."""
        return StatesTracer(self.recorder.endpoint(SYNACK))

    def wrap(self, driver: TunDriver) -> None:
        """Tap the driver's packets both ways; with a ladder, start drawing."""
        receive, transmit = driver.receive, driver.transmit
        wake = self._wake.set if self.ladder else _nothing

        records = self.recorder.records  # packets parsed later (RawPacket), off the path

        def tapped_receive(packets: list[bytes]) -> None:
            now = driver.now()
            for packet in packets:
                if _is_tcp(packet):  # not the kernel's neighbour discovery and such
                    records.append(RawPacket(now, KERNEL, SYNACK, packet))  # type: ignore[arg-type]
            receive(packets)
            wake()

        def tapped_transmit(packets: list[bytes]) -> None:
            now = driver.now()
            for packet in packets:
                records.append(RawPacket(now, SYNACK, KERNEL, packet))  # type: ignore[arg-type]
            transmit(packets)
            wake()

        driver.receive = tapped_receive  # type: ignore[method-assign]
        driver.transmit = tapped_transmit  # type: ignore[method-assign]
        if self.ladder and self._drawer is None:
            # hand the GIL back to the packet path within a millisecond (not 5)
            sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL))
            self._drawer = threading.Thread(target=self._draw_on_wake, name="ladder", daemon=True)
            self._drawer.start()

    def _draw_on_wake(self) -> None:
        while True:
            self._wake.wait()
            if self._stopping:
                return
            self._wake.clear()
            start = time.perf_counter()
            self.draw()
            # at most DRAW_RATE draws a second, and drawing at most a fifth of
            # the time: each draw builds the whole timeline again, and the GIL
            # is shared with the packet path
            time.sleep(max(1 / DRAW_RATE, DRAW_PAUSE * (time.perf_counter() - start)))

    def draw(self) -> None:
        """Print the ladder lines of the records that came since the last draw."""
        if not self.ladder:
            return
        with self._draw_lock:
            records = self.recorder.records
            new = records[self._taken : len(records)]  # a copy: the loop appends on
            self._taken += len(new)
            if not new:
                return
            for rec in new:
                self._judged.append(self._judge.judge(parsed(rec)))
                if isinstance(rec, RawPacket):
                    self._judged.extend(self._kernel.feed(rec))
            timeline = build_timeline(self._judged, SYNACK, KERNEL)
            body = ladder_lines(timeline, footer=False)
            for line in body[self._printed :]:
                self.console.print(line)
            self._printed = max(self._printed, len(body))

    def finish(self) -> None:
        """Stop the drawing thread, draw what is left, write the pcap."""
        if self._drawer is not None:
            self._stopping = True
            self._wake.set()
            self._drawer.join()
            self._drawer = None
        self.draw()
        kernel = KernelStates()  # the kernel's inferred states go in the pcap's trace too
        records: list[Record] = []
        for rec in self.recorder.records:
            records.append(parsed(rec))
            if isinstance(rec, RawPacket):
                records.extend(kernel.feed(rec))
        self.recorder.records[:] = records
        if self.pcap:
            count = write_pcap(self.recorder, self.pcap)
            self.console.print(f"wrote {count} packets to {self.pcap}", style="dim")


class RawPacket(NamedTuple):
    """A packet as the taps keep it: parsed into a PacketRecord (``parsed``)
    only when drawn, or at the end."""

    t: float
    src: str
    dst: str
    packet: bytes


class KernelStates:
    """The kernel's states on the ladder, inferred passively from the packets that
    cross the device (``synack.analyze.flows``), one connection per 4-tuple."""

    def __init__(self) -> None:
        self.table = FlowTable()
        self.seen: dict[int, int] = {}  # state records already handed on, per flow
        self.last = 0.0

    def feed(self, rec: RawPacket) -> list[Record]:
        try:
            header, segment = decode_tcp_packet(rec.packet)
        except MalformedPacket:
            return []
        seg = CapturedSegment(
            rec.t, 0, header.src, header.dst, segment.src_port, segment.dst_port,
            segment.flags, segment.seq, segment.ack, segment.window, segment.urgent,
            segment.options, len(segment.payload), len(rec.packet),
        )  # fmt: skip
        self.table.t0 = 0.0  # the driver's clock, as the other records
        flow = self.table.feed(seg)
        if flow is None:
            return []
        src, dst = flow.side_names(seg)
        kernel = src if rec.src == KERNEL else dst
        states = [r for r in flow.records if isinstance(r, StateRecord)]
        new = states[self.seen.get(flow.number, 0) :]
        self.seen[flow.number] = len(states)
        # never dated before what is drawn already (the ladder grows downwards): a
        # change inferred late, as LISTEN when the SYN,ACK shows it, is drawn then
        out: list[Record] = []
        for r in new:
            if r.endpoint == kernel:
                self.last = max(self.last, r.t, rec.t)
                out.append(StateRecord(self.last, KERNEL, r.old, r.new, r.cause))
        return out


def parsed(rec: Record | RawPacket) -> Record:
    if not isinstance(rec, RawPacket):
        return rec
    scratch = TraceRecorder()
    scratch.packet(rec.t, rec.t, rec.src, rec.dst, "delivered", rec.packet)
    return scratch.records[0]


class StatesTracer:
    """The Host's tracer for a live trace: states, timers and calls recorded,
    segments not (the ladder and the pcap come from the device's packets)."""

    __slots__ = ("inner",)

    def __init__(self, inner: EndpointTracer) -> None:
        self.inner = inner

    def state_changed(
        self, conn: Connection | None, now: float, old: State, new: State, cause: str
    ) -> None:
        self.inner.state_changed(conn, now, old, new, cause)

    def segment(
        self,
        conn: Connection | None,
        now: float,
        direction: str,
        segment: Segment,
        reason: str | None,
        addresses: tuple[object, object] | None = None,
    ) -> None:
        pass

    def timer_fired(self, conn: Connection, now: float, timer: str) -> None:
        self.inner.timer_fired(conn, now, timer)

    def user_call(self, conn: Connection, now: float, call: str) -> None:
        self.inner.user_call(conn, now, call)


def _nothing() -> None:
    pass


def _is_tcp(packet: bytes) -> bool:
    if not packet:
        return False
    return (packet[9] if packet[0] >> 4 == 4 else packet[6]) == 6 if len(packet) > 9 else False
