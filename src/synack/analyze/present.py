"""What ``synack analyze`` prints: the connection table, the chosen ones' views, conn.log."""

from __future__ import annotations

import json
import sys

import click
from rich.console import Console

from synack.analyze.flows import Side
from synack.analyze.report import NOTE_WORDS, Analysis, Connection, Selection, analyze
from synack.analyze.story import story
from synack.analyze.zeek import conn_json_lines, write_conn_tsv
from synack.trace.html import write_html
from synack.trace.ladder import render_ladder
from synack.trace.mermaid import render_mermaid
from synack.trace.output import json_records


def show(
    captures: list[str],
    fmt: str,
    number: int | None,
    host: str | None,
    port: int | None,
    html: str | None,
    lang: str,
    ignore_checksums: bool,
    absolute: bool,
    plots: dict[str, str] | None = None,
    jobs: int | None = None,
) -> None:
    """Analyse ``captures`` and print ``fmt``; ``plots`` maps "seq", "rtt" or
    "flight" to the file to draw for the one chosen connection; ``jobs``
    processes share the work (None: as many as suits the files)."""
    plots = plots or {}
    console = Console(highlight=False)
    err = Console(stderr=True, highlight=False)
    selection = Selection(number, host, port)
    detailed = fmt in ("ladder", "mermaid", "json", "story") or html is not None or bool(plots)
    keep_all = detailed and not selection.any()
    result = analyze(captures, selection, ignore_checksums, keep_all=keep_all, jobs=jobs)
    if result.error is not None:
        err.print(f"synack analyze: {result.error}; what came before it is shown", markup=False,
                  soft_wrap=True)  # fmt: skip
    chosen = [c for c in result.connections if keep_all or selection.wants(c.flow)]
    if detailed and selection.any() and not chosen:
        raise click.ClickException("no connection matches --conn/--host/--port")
    if fmt == "table":
        _listing(result, console)
        _capture_notes(result, console)
    elif fmt == "conn":
        write_conn_tsv([c.zeek for c in result.connections], sys.stdout)
    elif fmt == "conn-json":
        for line in conn_json_lines([c.zeek for c in result.connections]):
            sys.stdout.write(line + "\n")
    else:
        for conn in chosen:
            _detail(conn, fmt, lang, absolute, console)
    if html is not None:
        if len(chosen) != 1:
            raise click.ClickException("--html draws one connection: pick it with --conn N")
        conn = chosen[0]
        told = [story(conn.flow, lang, _resent(conn))]
        write_html(conn.flow.records, html, conn.flow.left, conn.flow.right, _title(conn),
                   told, absolute, lang=lang)  # fmt: skip
        err.print(f"wrote the HTML page {html}", style="dim", soft_wrap=True)
    if plots:
        _plots(chosen, plots, err)
    if result.error is not None:
        sys.exit(1)


def _plots(chosen: list[Connection], plots: dict[str, str], err: Console) -> None:
    from synack.trace.plot import (
        PlotError,
        plot_bytes_in_flight,
        plot_rtt_samples,
        plot_time_sequence,
    )

    if len(chosen) != 1:
        raise click.ClickException("a plot draws one connection: pick it with --conn N")
    conn = chosen[0]
    title = _title(conn)
    try:
        if "seq" in plots:
            plot_time_sequence(conn.wire, plots["seq"], title=title)
        if "rtt" in plots:
            samples = [(s.t, s.endpoint, s.rtt) for s in conn.flow.rtt]
            plot_rtt_samples(samples, plots["rtt"], title=title)
        if "flight" in plots:
            plot_bytes_in_flight(conn.wire, plots["flight"], title=title)
    except PlotError as exc:
        raise click.ClickException(str(exc)) from None
    for path in plots.values():
        err.print(f"wrote {path}", style="dim", soft_wrap=True)


def _resent(conn: Connection) -> int:
    return sum(n for flag, n in conn.expert.items() if "retransmission" in flag)


def _title(conn: Connection) -> str:
    return f"connection {conn.flow.number}: {conn.flow.left} \u2192 {conn.flow.right}"


def _detail(conn: Connection, fmt: str, lang: str, absolute: bool, console: Console) -> None:
    flow = conn.flow
    if fmt == "json":
        for item in json_records(flow.records):
            console.out(json.dumps(item), highlight=False)
        return
    if fmt == "mermaid":
        console.out(f"%% {_title(conn)}\n", end="", highlight=False)
        console.out(render_mermaid(flow.records, flow.left, flow.right, absolute, lang=lang),
                    end="", highlight=False)  # fmt: skip
        return
    console.print(_title(conn), style="bold", soft_wrap=True)
    console.print(story(flow, lang, _resent(conn)), soft_wrap=True)
    if fmt == "story":
        console.print()
        return
    console.print("SYN options: " + "; ".join(_options(side) for side in flow.sides.values()),
                  soft_wrap=True)  # fmt: skip
    render_ladder(flow.records, console, left=flow.left, right=flow.right, absolute=absolute,
                  lang=lang)  # fmt: skip
    rtt = [s for s in flow.rtt if s.kind == "handshake"]
    if rtt:
        console.print("handshake RTT, as the capture saw it: "
                      + ", ".join(f"{s.endpoint} {s.rtt * 1000:.2f} ms" for s in rtt))  # fmt: skip
    console.print()


def _options(side: Side) -> str:
    """What one side offered in its SYN (both offering is what was agreed)."""
    if side.iss is None:
        return f"{side.name} (its SYN was not seen)"
    offered = [f"mss {side.mss}" if side.mss is not None else "no mss"]
    if side.wscale is not None:
        offered.append(f"wscale {side.wscale}")
    if side.sack_ok:
        offered.append("SACK")
    if side.timestamps:
        offered.append("timestamps")
    return f"{side.name} {', '.join(offered)}"


def _listing(result: Analysis, console: Console) -> None:
    """One block per connection: who opened it, size, Zeek's verdict, final states,
    and its expert flags."""
    console.print(
        f"{len(result.connections)} connection(s), {result.segments} segment(s)", style="bold"
    )
    for conn in result.connections:
        flow = conn.flow
        head = (
            f"{flow.opener} \u2192 {flow.right}"
            if flow.opener is not None
            else f"{flow.left} \u2194 {flow.right} (opener not seen)"
        )
        seconds = flow.last_t - flow.first_t
        zeek = f"{conn.zeek.get('conn_state') or '-'} {conn.zeek.get('history') or '-'}"
        final = " / ".join(side.state for side in flow.sides.values())
        console.print(
            f"#{flow.number:<4} {head}  {flow.packets} packets, {seconds:.3f} s  "
            f"Zeek {zeek}  final {final}",
            soft_wrap=True,
        )
        if conn.expert:
            flags = ", ".join(f"{NOTE_WORDS.get(k, k)} {v}" for k, v in sorted(conn.expert.items()))
            console.print(f"      {flags}", style="dim", soft_wrap=True)


def _capture_notes(result: Analysis, console: Console) -> None:
    stats = result.stats
    for source, bad, checked in stats.checksum_suspects():
        console.print(
            f"{bad} of {checked} segments from {source} fail their checksums: the capture was "
            "probably taken where the network card fills checksums in later; try "
            "--ignore-checksums",
            style="yellow",
            soft_wrap=True,
        )
    skipped = sum(stats.packets_not_tcp.values())
    line = f"{stats.records} record(s) read ({stats.file_format}"
    line += ", gzip)" if stats.compressed else ")"
    line += f"; {stats.segments} TCP segment(s)"
    if skipped:
        line += f", {skipped} other packet(s) skipped"
    if result.to_itself:
        line += f", {result.to_itself} from an endpoint to itself left out"
    if stats.truncated:
        line += f", {stats.truncated} cut short by the snap length"
    unread = stats.unsupported_link_types
    if unread:  # records whose link layer this reader does not know: not silently 0 TCP
        kinds = ", ".join(str(k) for k in sorted(unread))
        line += f", {sum(unread.values())} of link types not read ({kinds})"
    console.print(line, style="dim", soft_wrap=True)
