"""Plots of a run (matplotlib, the optional ``plot`` extra).

- :func:`plot_metrics`: cwnd, ssthresh and bytes in flight; SRTT and RTO;
  the peer's receive window; over time, one line per connection, with loss
  and congestion events marked.
- :func:`plot_time_sequence`: tcptrace's time-sequence graph of one sender:
  each data segment as a vertical bar from its first to its last byte (red
  when it repeats bytes already sent), the receiver's cumulative ACK as a
  step line, and its SACK blocks. It works from a simulation trace or a
  pcap capture alike (:func:`read_pcap`).

The file type follows the name: ``.png`` or ``.svg``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synack.trace.records import MetricSample, PacketRecord, TraceRecorder
from synack.wire.errors import MalformedPacket
from synack.wire.ip import parse_tcp_packet
from synack.wire.segment import ACK, SYN, Sack, Segment

EVENT_COLOURS = {
    "timeout": "tab:red",
    "fast retransmit": "tab:orange",
    "ECN": "tab:purple",
    "tail loss probe": "tab:green",
}


class PlotError(RuntimeError):
    """A plot cannot be made: what is missing, in one line."""


def pyplot() -> Any:
    """matplotlib's pyplot, drawing to files only; PlotError without matplotlib."""
    try:
        import matplotlib
    except ImportError:
        raise PlotError("plots need matplotlib: pip install 'synack[plot]'") from None
    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def plot_path(path: str | Path) -> Path:
    """``path`` as a Path, if it names a .png or .svg file; PlotError otherwise."""
    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg"):
        raise PlotError(f"{path}: a plot is .png or .svg")
    return path


# ----------------------------------------------------------------------
# cwnd, RTT and windows
# ----------------------------------------------------------------------
def plot_metrics(
    samples: Iterable[MetricSample], path: str | Path, title: str = "", endpoint: str | None = None
) -> int:
    """Draw the samples of ``endpoint`` (every endpoint if None); returns how many
    connections were drawn."""
    path = plot_path(path)
    chosen = [s for s in samples if endpoint is None or s.endpoint == endpoint]
    if not chosen:
        raise PlotError("nothing to plot: no connection sent data")
    plt = pyplot()
    by_connection: dict[str, list[MetricSample]] = {}
    for sample in chosen:
        by_connection.setdefault(f"{sample.endpoint} {sample.connection}", []).append(sample)
    fig, (ax_w, ax_t, ax_r) = plt.subplots(3, 1, figsize=(10, 9), sharex=True)
    for name, series in by_connection.items():
        t = [s.t for s in series]
        (line,) = ax_w.plot(t, [s.cwnd / 1000 for s in series], label=f"cwnd {name}")
        colour = line.get_color()
        ssthresh = [s.ssthresh / 1000 if s.ssthresh < 1 << 29 else None for s in series]
        ax_w.plot(t, ssthresh, "--", color=colour, label=f"ssthresh {name}")
        ax_w.plot(t, [s.flight / 1000 for s in series], ":", color=colour,
                  label=f"in flight {name}")  # fmt: skip
        ax_t.plot(t, [s.srtt * 1000 if s.srtt else None for s in series], color=colour,
                  label=f"SRTT {name}")  # fmt: skip
        ax_t.plot(t, [s.rto * 1000 for s in series], "--", color=colour, label=f"RTO {name}")
        ax_r.plot(t, [s.peer_window / 1000 for s in series], color=colour, label=name)
        for sample in series:
            if sample.event is not None:
                for ax in (ax_w, ax_t, ax_r):
                    ax.axvline(sample.t, color=EVENT_COLOURS[sample.event], alpha=0.35, lw=0.8)
    ax_w.set_ylabel("KB")
    ax_w.set_title(title or "congestion window, slow-start threshold, bytes in flight")
    ax_t.set_ylabel("ms")
    ax_t.set_title("smoothed RTT and retransmission timeout")
    ax_r.set_ylabel("KB")
    ax_r.set_title("the receiver's advertised window")
    ax_r.set_xlabel("time (s)")
    handles = [
        plt.Line2D([], [], color=colour, alpha=0.6, label=event)
        for event, colour in EVENT_COLOURS.items()
    ]
    # every connection's curves (both endpoints' when both sent data), then the events
    ax_w.legend(handles=ax_w.get_legend_handles_labels()[0] + handles, fontsize=7)
    ax_t.legend(fontsize=7)
    ax_r.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return len(by_connection)


# ----------------------------------------------------------------------
# The time-sequence graph
# ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class WireSegment:
    """A segment on the wire at ``t``, from ``src`` (endpoint or address:port)."""

    t: float
    src: str
    segment: Segment


def segments_from_trace(records: Iterable[object]) -> list[WireSegment]:
    """The packets of a simulation trace, decoded."""
    out = []
    for rec in records:
        if isinstance(rec, PacketRecord) and rec.packet:
            try:
                _, _, seg = parse_tcp_packet(rec.packet)
            except MalformedPacket:
                continue
            out.append(WireSegment(rec.t, rec.src, seg))
    return out


def read_pcap(path: str | Path) -> list[WireSegment]:
    """The TCP segments of a pcap (raw IP, Ethernet or Linux cooked capture),
    each from "address:port"; dpkt reads the file."""
    try:
        import dpkt  # type: ignore[import-untyped]
    except ImportError:
        raise PlotError("reading a pcap needs dpkt: pip install 'synack[plot]'") from None
    out = []
    with open(path, "rb") as f:
        try:
            reader = dpkt.pcap.Reader(f)
        except (ValueError, dpkt.dpkt.NeedData) as exc:
            raise PlotError(f"{path}: not a pcap file ({exc})") from None
        link = reader.datalink()
        for ts, frame in reader:
            ip = _ip_bytes(link, frame)
            if ip is None:
                continue
            try:
                src, _, seg = parse_tcp_packet(ip)
            except MalformedPacket:
                continue  # not TCP, or damaged: the graph skips it
            address = ".".join(map(str, src)) if len(src) == 4 else src.hex()
            out.append(WireSegment(float(ts), f"{address}:{seg.src_port}", seg))
    if not out:
        raise PlotError(f"{path}: no TCP segments in the capture")
    start = out[0].t
    return [WireSegment(w.t - start, w.src, w.segment) for w in out]


def _ip_bytes(link: int, frame: bytes) -> bytes | None:
    if link in (101, 12, 14, 228, 229):  # raw IP
        return frame
    if link == 1 and len(frame) > 14 and frame[12:14] in (b"\x08\x00", b"\x86\xdd"):
        return frame[14:]  # Ethernet, IPv4 or IPv6
    if link == 113 and len(frame) > 16:
        return frame[16:]  # Linux cooked capture
    if link == 276 and len(frame) > 20:
        return frame[20:]  # Linux cooked capture v2
    return None


def plot_time_sequence(
    segments: list[WireSegment], path: str | Path, sender: str | None = None, title: str = ""
) -> int:
    """tcptrace's graph for ``sender`` (the side that sent the most data if None);
    returns how many data segments were drawn."""
    path = plot_path(path)
    if sender is None:
        volume: dict[str, int] = {}
        for w in segments:
            volume[w.src] = volume.get(w.src, 0) + len(w.segment.payload)
        if not volume or not max(volume.values()):
            raise PlotError("nothing to plot: no segment carried data")
        sender = max(volume, key=lambda k: volume[k])
    data = [w for w in segments if w.src == sender and w.segment.payload]
    if not data:
        raise PlotError(f"nothing to plot: {sender} sent no data")
    ports = (data[0].segment.src_port, data[0].segment.dst_port)
    acks = [
        w for w in segments
        if w.src != sender and w.segment.flags & ACK
        and (w.segment.dst_port, w.segment.src_port) == ports
    ]  # fmt: skip
    base = data[0].segment.seq
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(10, 6))
    highest = None
    for w in data:
        start = (w.segment.seq - base) & 0xFFFFFFFF
        end = start + len(w.segment.payload)
        again = highest is not None and start < highest
        ax.vlines(w.t, start, end, colors="tab:red" if again else "tab:blue", lw=1.2)
        highest = end if highest is None else max(highest, end)
    if acks:
        t = [w.t for w in acks]
        ack = [(w.segment.ack - base) & 0xFFFFFFFF for w in acks]
        ax.step(t, ack, where="post", color="tab:green", lw=1, label="cumulative ACK")
        shift = _window_shift(segments, sender, ports)
        window = [a + (w.segment.window << shift) for a, w in zip(ack, acks, strict=True)]
        ax.step(t, window, where="post", color="tab:gray", lw=0.8, alpha=0.6,
                label="receive window's right edge")  # fmt: skip
        for w in acks:
            for opt in w.segment.options:
                if isinstance(opt, Sack):
                    for left, right in opt.blocks:
                        lo, hi = (left - base) & 0xFFFFFFFF, (right - base) & 0xFFFFFFFF
                        ax.vlines(w.t, lo, hi, colors="tab:purple", lw=3, alpha=0.5)
    ax.plot([], [], color="tab:blue", label="data")
    ax.plot([], [], color="tab:red", label="retransmitted data")
    ax.plot([], [], color="tab:purple", lw=3, alpha=0.5, label="SACK blocks")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("relative sequence number")
    ax.set_title(title or f"time-sequence graph: {sender}")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return len(data)


def _window_shift(segments: list[WireSegment], sender: str, ports: tuple[int, int]) -> int:
    """The receiver's window scale (RFC 7323 2.3), when both SYNs are in view."""
    shifts = {}
    for w in segments:
        seg = w.segment
        if seg.flags & SYN and {seg.src_port, seg.dst_port} == set(ports):
            shifts[w.src == sender] = seg.window_scale
    if shifts.get(True) is None or shifts.get(False) is None:
        return 0
    return min(shifts[False] or 0, 14)


def trace_segments(recorder: TraceRecorder) -> list[WireSegment]:
    return segments_from_trace(recorder.records)


# ----------------------------------------------------------------------
# A capture's RTT samples and bytes in flight (synack analyze)
# ----------------------------------------------------------------------
def plot_rtt_samples(
    samples: list[tuple[float, str, float]], path: str | Path, title: str = ""
) -> int:
    """RTT samples as (time, whose segment, seconds), one series per endpoint,
    in milliseconds; returns how many were drawn."""
    path = plot_path(path)
    if not samples:
        raise PlotError("nothing to plot: no RTT sample")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(10, 4))
    for who in sorted({s[1] for s in samples}):
        mine = [s for s in samples if s[1] == who]
        ax.plot([s[0] for s in mine], [s[2] * 1000 for s in mine], ".", label=f"{who}'s segments")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("RTT (ms)")
    ax.set_title(title or "RTT samples, as the capture saw them")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return len(samples)


def plot_bytes_in_flight(segments: list[WireSegment], path: str | Path, title: str = "") -> int:
    """Each sender's bytes in flight (its highest sequence sent less the highest
    acknowledgment it got) at each of its segments; returns the points drawn."""
    path = plot_path(path)
    highest: dict[str, int] = {}
    acked: dict[str, int] = {}
    points: dict[str, list[tuple[float, int]]] = {}
    for w in segments:
        seg = w.segment
        end = (seg.seq + len(seg.payload) + (1 if seg.flags & 0x03 else 0)) & 0xFFFFFFFF
        if w.src not in highest or ((end - highest[w.src]) & 0xFFFFFFFF) < 1 << 31:
            highest[w.src] = end
        for other in highest:
            if other != w.src and seg.flags & ACK:
                acked[other] = seg.ack
        if w.src in acked:
            flight = (highest[w.src] - acked[w.src]) & 0xFFFFFFFF
            if flight < 1 << 31:
                points.setdefault(w.src, []).append((w.t, flight))
    if not points:
        raise PlotError("nothing to plot: no acknowledged data")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(10, 4))
    for who, series in sorted(points.items()):
        ax.step([p[0] for p in series], [p[1] for p in series], where="post", label=who)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("bytes in flight")
    ax.set_title(title or "bytes in flight, as the capture saw them")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return sum(len(series) for series in points.values())
