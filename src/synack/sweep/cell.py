"""One cell of a sweep: a run of :func:`synack.sim.scale.simulate`, measured.

The cell's ``flows`` connections go from one client host to one server host
over one pair of links, so they share them (with ``bandwidth``, the
server-to-client link is their bottleneck). Each connection's server sends
``bytes``; the client sends nothing but its ACKs, and closes first (its side
holds the TIME-WAIT records). With ``rate`` the connects are spread at random
over ``flows / rate`` seconds, else they all start at 0.

The scale run counts retransmissions, timeouts and completions (the engine's
own counters). Everything about time is measured by :class:`Meter`, a tap
that sees every packet on the links, as a capture beside the link would:

- handshake time: the client's first SYN sent to the first SYN,ACK that
  reaches it (when its connect completes);
- RTT samples: a data segment sent to the first ACK covering it reaching the
  server, never for a segment sent twice (Karn's rule, RFC 6298 3);
- per connection: its first data segment sent, the last one arriving, the
  payload it put on the link (retransmissions included) and the bytes that
  arrived in order (the client's cumulative ACK);
- TIME-WAIT records the client holds, sampled at each of its packets: the
  peak, and the mean over the steady part of a ``rate`` run (from 2 x MSL
  after the first connect to the last connect).

From those: ``throughput_mbit`` is the payload the servers put on the link
per second and ``goodput_mbit`` the distinct bytes delivered per second, both
over the span from the first data segment sent to the last one arriving;
``jain`` is Jain's fairness index of the connections' goodputs, each over
its own span (1: all equal; 1/n: one took everything).
"""

from __future__ import annotations

import os
import socket
import struct
import time
from collections import deque
from dataclasses import replace
from typing import Any

from synack.sim.network import LinkConfig, PacketEvent
from synack.sim.scale import SERVER_PORT, Percentiles, simulate
from synack.sweep.grid import OPTION_FIELDS, Cell
from synack.tcp.config import TcpConfig

_TCP = struct.Struct("!HHII")
_SYN, _ACK = 0x02, 0x10
_MASK = 0xFFFFFFFF


class _Conn:
    __slots__ = (
        "base", "delivered", "first_data", "high_sent", "last_arrival", "retx", "sent_bytes",
        "synack_at", "syn_at", "unacked",
    )  # fmt: skip

    def __init__(self) -> None:
        self.syn_at: float | None = None
        self.synack_at: float | None = None
        self.base: int | None = None  # the server's ISN: sequence numbers relative to it
        self.first_data: float | None = None
        self.last_arrival = 0.0
        self.sent_bytes = 0
        self.high_sent = 1  # relative end of the highest data sent
        self.delivered = 1  # relative end of the in-order bytes the client acknowledged
        self.unacked: deque[tuple[int, float]] = deque()  # (relative end, first sent)
        self.retx: set[int] = set()  # relative ends sent more than once


class Meter:
    """A packet tap that measures a scale run (see the module docstring)."""

    def __init__(self, steady_from: float = 0.0, steady_to: float = 0.0) -> None:
        # By the client's port: unique within a cell, as the client walks its
        # 16,384 ephemeral ports in turn (RFC 6056 3.3.3) and a cell has at most
        # 10,000 connections.
        self.conns: dict[int, _Conn] = {}
        self.rtt_ms: list[float] = []
        self.tw_peak = 0
        self._tw = 0
        self._tw_at = 0.0
        self._steady = (steady_from, steady_to)
        self._tw_area = 0.0

    def __call__(self, e: PacketEvent) -> None:
        b = e.packet
        if len(b) < 40 or b[0] >> 4 != 4:
            return  # the sweep runs IPv4 only
        ihl = (b[0] & 15) * 4
        sport, dport, seq, ack = _TCP.unpack_from(b, ihl)
        flags = b[ihl + 13]
        payload = int.from_bytes(b[2:4]) - ihl - (b[ihl + 12] >> 4) * 4
        intact = e.arrival is not None and e.fate != "corrupted"
        copy = e.fate == "duplicated"  # a second copy of a packet sent once
        if sport == SERVER_PORT:
            self._server_sent(e, dport, seq, flags, payload, intact, copy)
        else:
            self._client_sent(e, sport, ack, flags, intact)

    def _conn(self, port: int) -> _Conn:
        conn = self.conns.get(port)
        if conn is None:
            conn = self.conns[port] = _Conn()
        return conn

    def _server_sent(
        self, e: PacketEvent, port: int, seq: int, flags: int, payload: int, intact: bool,
        copy: bool,
    ) -> None:  # fmt: skip
        c = self._conn(port)
        if flags & _SYN:
            c.base = seq
            if intact and e.arrival is not None:
                c.synack_at = e.arrival if c.synack_at is None else min(c.synack_at, e.arrival)
            return
        if not payload or c.base is None:
            return
        end = (seq - c.base + payload) & _MASK
        if not copy:
            c.sent_bytes += payload
            if c.first_data is None:
                c.first_data = e.sent
            if end > c.high_sent:
                c.high_sent = end
                c.unacked.append((end, e.sent))
            else:
                c.retx.add(end)
        if intact and e.arrival is not None:
            c.last_arrival = max(c.last_arrival, e.arrival)

    def _client_sent(self, e: PacketEvent, port: int, ack: int, flags: int, intact: bool) -> None:
        c = self._conn(port)
        if flags & _SYN and c.syn_at is None:
            c.syn_at = e.sent
        tw = e.src.time_wait_count
        if tw != self._tw:
            self._tw_step(e.sent, tw)
        if not (flags & _ACK and c.base is not None):
            return
        rel = (ack - c.base) & _MASK
        # the client's cumulative ACK: the bytes it holds in order (less the FIN's)
        c.delivered = max(c.delivered, min(rel, c.high_sent))
        if not (intact and c.unacked):
            return
        covered = None
        while c.unacked and c.unacked[0][0] <= rel:
            covered = c.unacked.popleft()
        if covered is not None and covered[0] not in c.retx and e.arrival is not None:
            self.rtt_ms.append((e.arrival - covered[1]) * 1000)

    def _tw_step(self, t: float, count: int) -> None:
        low, high = self._steady
        a, b = max(self._tw_at, low), min(t, high)
        if b > a:
            self._tw_area += self._tw * (b - a)
        self._tw, self._tw_at = count, t
        self.tw_peak = max(self.tw_peak, count)

    def time_wait_mean(self) -> float | None:
        low, high = self._steady
        if high <= low:
            return None
        self._tw_step(high, self._tw)
        return self._tw_area / (high - low)


def tcp_config(cell: Cell) -> TcpConfig:
    switches: dict[str, Any] = {}
    for word in cell.options.split("+") if cell.options != "default" else ():
        on = not (word.startswith("no") and word not in OPTION_FIELDS and word != "ecn")
        name = word if on else word[2:]
        if name == "ecn":
            switches["ecn"] = "on" if on else "off"
        else:
            switches[OPTION_FIELDS[name]] = on
    base = TcpConfig(
        congestion_control=cell.cc, msl=cell.msl, send_buffer=cell.buffer,
        recv_buffer=cell.buffer,
    )  # fmt: skip
    return replace(base, **switches)


def links(cell: Cell) -> tuple[LinkConfig, LinkConfig]:
    """The client-to-server and server-to-client links."""
    c2s = LinkConfig(delay=cell.delay, loss=cell.loss if cell.loss_on != "s2c" else 0.0)
    ecn = "ecn" in cell.options.split("+") and cell.queue is not None
    s2c = LinkConfig(
        delay=cell.delay, loss=cell.loss if cell.loss_on != "c2s" else 0.0,
        bandwidth=cell.bandwidth, queue_limit=cell.queue,
        ecn_mark=max(1, cell.queue // 2) if ecn and cell.queue is not None else None,
    )  # fmt: skip
    return c2s, s2c


def _jain(values: list[float]) -> float | None:
    square = sum(v * v for v in values)
    return sum(values) ** 2 / (len(values) * square) if values and square > 0 else None


def _mbit(nbytes: float, seconds: float) -> float | None:
    return nbytes * 8 / seconds / 1e6 if seconds > 0 else None


def run_cell(cell: Cell) -> dict[str, Any]:
    """Run ``cell`` and return its row: its parameters and what was measured."""
    started, cpu = time.perf_counter(), time.process_time()
    ramp = cell.flows / cell.rate if cell.rate else 0.0
    meter = Meter(2 * cell.msl, ramp) if ramp else Meter()
    c2s, s2c = links(cell)
    result = simulate(
        cell.flows, bytes_up=0, bytes_down=cell.bytes, c2s=c2s, s2c=s2c, clients=1,
        seed=cell.seed, ramp=ramp, config=tcp_config(cell), timeout=cell.timeout,
        taps=[meter],
    )  # fmt: skip
    conns = [c for c in meter.conns.values() if c.syn_at is not None]
    handshakes = [
        (c.synack_at - c.syn_at) * 1000 for c in conns if c.synack_at is not None and c.syn_at
        is not None
    ]  # fmt: skip
    data = [c for c in conns if c.first_data is not None]
    span = (
        max(c.last_arrival for c in data) - min(c.first_data for c in data if c.first_data)
        if data else 0.0
    )  # fmt: skip
    delivered = sum(c.delivered - 1 for c in data)
    goodputs = [
        (c.delivered - 1) * 8 / (c.last_arrival - c.first_data) / 1e6
        for c in data
        if c.first_data is not None and c.last_arrival > c.first_data
    ]
    rtt = Percentiles.of(meter.rtt_ms)
    hs = Percentiles.of(handshakes)
    return {
        "cell_id": cell.cell_id,
        **cell.params(),
        "status": "ok",
        "error": None,
        "completed": result.completed,
        "failed": result.failed,
        "ok": result.ok,
        "throughput_mbit": _mbit(sum(c.sent_bytes for c in data), span),
        "goodput_mbit": _mbit(delivered, span),
        "jain": _jain(goodputs) if len(goodputs) == len(data) else None,
        "retransmissions": result.retransmitted_segments,
        "timeouts": result.timeouts,
        "fast_retransmits": result.fast_retransmits,
        "rtt_samples": len(meter.rtt_ms),
        "rtt_p50_ms": rtt.p50 if rtt else None,
        "rtt_p90_ms": rtt.p90 if rtt else None,
        "rtt_p99_ms": rtt.p99 if rtt else None,
        "handshakes": len(handshakes),
        "handshake_mean_ms": sum(handshakes) / len(handshakes) if handshakes else None,
        "handshake_p50_ms": hs.p50 if hs else None,
        "handshake_p90_ms": hs.p90 if hs else None,
        "handshake_p99_ms": hs.p99 if hs else None,
        "handshake_max_ms": hs.max if hs else None,
        "time_wait_peak": meter.tw_peak,
        "time_wait_mean": meter.time_wait_mean(),
        "packets": result.packets,
        "packets_lost": result.packets_lost,
        "virtual_seconds": result.virtual_seconds,
        "settled": result.settled,
        "wall_seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu,
        "worker": f"{socket.gethostname()}:{os.getpid()}",
    }


def failed_row(cell: Cell, error: BaseException | str, wall: float | None = None) -> dict[str, Any]:
    """The row of a cell that raised: its parameters and the error, no figures."""
    message = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return {
        "cell_id": cell.cell_id, **cell.params(), "status": "failed",
        "error": message.splitlines()[0][:500] if message else "failed", "wall_seconds": wall,
    }  # fmt: skip
