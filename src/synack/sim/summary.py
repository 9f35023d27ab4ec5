"""The summary of a ``synack simulate`` run, as the table it prints."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from synack.sim.network import LinkConfig
from synack.sim.scale import ScaleResult


def link_text(link: LinkConfig) -> str:
    """One direction's settings in words: "delay 10 ms, loss 2%"."""
    parts = [f"delay {link.delay * 1000:g} ms"]
    if link.jitter:
        parts.append(f"jitter {link.jitter * 1000:g} ms")
    if link.bandwidth is not None:
        parts.append(f"{link.bandwidth / 1e6:g} Mbit/s")
    if link.queue_limit is not None:
        parts.append(f"queue {link.queue_limit}")
    for name in ("loss", "duplicate", "reorder", "corrupt"):
        value = getattr(link, name)
        if value:
            parts.append(f"{name} {value * 100:g}%")
    return ", ".join(parts)


def summary_table(r: ScaleResult, c2s: LinkConfig, s2c: LinkConfig) -> Table:
    """How the run went, one row per aspect: hosts, links, faults, completions,
    handshake times, retransmissions, final states, bytes, packets, time."""
    ok_style = "green" if r.ok else "red"
    table = Table(
        title=f"synack simulate: {r.connections:,} connection(s), seed {r.seed}",
        show_header=False,
    )
    table.add_column("what", style="bold")
    table.add_column("value")

    def states(counts: dict[str, int]) -> str:
        return ", ".join(f"{name} {n:,}" for name, n in counts.items()) or "-"

    hs = r.handshake_ms
    table.add_row("hosts", f"{r.clients} client(s), {r.servers} server(s)")
    table.add_row("link c2s", link_text(c2s))
    table.add_row("link s2c", link_text(s2c))
    if r.faults:
        table.add_row("faults", "; ".join(r.faults))
    table.add_row(
        "completed",
        Text(f"{r.completed:,} of {r.connections:,} ({r.failed:,} failed)", style=ok_style),
    )
    table.add_row(
        "handshake (ms)",
        f"p50 {hs.p50:g}  p90 {hs.p90:g}  p99 {hs.p99:g}  max {hs.max:g}  ({hs.count:,} done)"
        if hs is not None
        else "none completed",
    )
    table.add_row(
        "retransmissions",
        f"{r.retransmitted_segments:,} segments ({r.timeouts:,} timeouts, "
        f"{r.fast_retransmits:,} fast retransmits)",
    )
    table.add_row(
        "loss detection",
        f"RACK marked {r.rack_losses:,} lost; {r.tail_loss_probes:,} tail probes "
        f"({r.tlp_repairs:,} repaired a loss)",
    )
    table.add_row("client final states", states(r.client_states))
    table.add_row("server final states", states(r.server_states))
    if r.time_wait_left or r.open_left:
        table.add_row("left over", f"{r.time_wait_left:,} TIME-WAIT, {r.open_left:,} open")
    match = Text("all match" if r.bytes_match else f"{r.mismatched:,} mismatched", style=ok_style)
    table.add_row("bytes up", f"{r.up_sent:,} sent, {r.up_received:,} received")
    table.add_row("bytes down", f"{r.down_sent:,} sent, {r.down_received:,} received")
    table.add_row("bytes check", match)
    table.add_row(
        "packets",
        f"{r.packets:,} sent, {r.packets_delivered:,} delivered, {r.packets_lost:,} lost",
    )
    if r.malformed:
        table.add_row(
            "malformed", ", ".join(f"{reason} {n:,}" for reason, n in r.malformed.items())
        )
    table.add_row(
        "virtual time",
        f"last close {r.last_close:.3f} s, idle at {r.virtual_seconds:.3f} s"
        + ("" if r.settled else " (timed out)"),
    )
    table.add_row("wall time", f"{r.wall_seconds:.3f} s ({r.packets_per_second:,.0f} packets/s)")
    return table
