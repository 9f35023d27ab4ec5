"""``synack analyze -i IFACE``: the same analysis as packets arrive.

The capturing is Wireshark's ``dumpcap`` (installed with tshark), which
opens the interface with AF_PACKET and needs root or the capture
capabilities; it streams pcapng on a pipe that ``read_segments`` reads as
it comes (with ``--lab NAME`` it runs inside the lab's network namespace,
where the lab's TUN device lives). Each segment goes through the same
connection tracker as a file's. With a connection chosen (``--conn``,
``--host``, ``--port``) its ladder is drawn line by line as it grows;
otherwise each connection's state changes are printed as they are
inferred. The listing of every connection follows at the end (Ctrl-C,
``--count`` packets or ``--seconds``).
"""

from __future__ import annotations

import io
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import suppress
from typing import BinaryIO, cast

import click
from rich.console import Console

from synack.analyze.capture import CaptureStats, read_segments
from synack.analyze.flows import Flow, FlowTable
from synack.analyze.model import CapturedSegment, CaptureError
from synack.analyze.report import Selection
from synack.trace.ladder import ladder_lines
from synack.trace.records import StateRecord
from synack.trace.timeline import build_timeline


def capture_command(interface: str, lab: str | None) -> list[str]:
    """dumpcap writing pcapng to standard output, quietly, packets flushed as they come."""
    dumpcap = shutil.which("dumpcap")
    if dumpcap is None:
        raise click.ClickException("live capture needs dumpcap (Debian: apt-get install tshark)")
    command = [dumpcap, "-q", "-i", interface, "-w", "-"]
    if lab is not None:
        ip = shutil.which("ip") or "ip"
        command = [ip, "netns", "exec", lab, *command]
    return command


def live_segments(
    interface: str,
    lab: str | None,
    stats: CaptureStats,
    count: int | None,
    seconds: float | None,
    ignore_checksums: bool,
) -> Iterator[CapturedSegment]:
    """Segments from ``interface`` as they arrive, until ``count`` or ``seconds``."""
    process = subprocess.Popen(
        capture_command(interface, lab), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None
    # at the deadline dumpcap is stopped: its pipe ends, and so does the reading
    timer = threading.Timer(seconds, process.terminate) if seconds is not None else None
    if timer is not None:
        timer.start()
    seen = 0
    try:
        stream = cast(BinaryIO, _Announced(cast(io.BufferedReader, process.stdout), interface))
        for seg in read_segments(stream, ignore_checksums=ignore_checksums, stats=stats):
            yield seg
            seen += 1
            if count is not None and seen >= count:
                return
    finally:
        if timer is not None:
            timer.cancel()
        with suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
        if process.returncode not in (0, -signal.SIGTERM) and seen == 0:
            text = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise click.ClickException(f"dumpcap: {_why(text) or 'could not capture'}")


def _why(text: str) -> str:
    """dumpcap's complaint on one line, without its "Capturing on" line or prefixes."""
    lines = (line.strip().removeprefix("dumpcap: ") for line in text.splitlines())
    return " ".join(line for line in lines if line and not line.startswith("Capturing on"))


class _Announced:
    """dumpcap's pipe, which says on standard error once its first bytes come
    through: dumpcap writes the file's header when the interface is open, so
    from then on no packet is missed (and a script may start its traffic)."""

    def __init__(self, stream: io.BufferedReader, interface: str) -> None:
        self._stream = stream
        self._interface = interface
        self._said = False

    def read1(self, size: int = -1) -> bytes:
        data = self._stream.read1(size)
        if data and not self._said:
            self._said = True
            click.echo(f"synack analyze: capturing on {self._interface}", err=True)
        return data

    def read(self, size: int = -1) -> bytes:
        return self.read1(size)


class LiveView:
    """Prints what the tracker infers as it goes."""

    def __init__(self, selection: Selection, console: Console, lang: str) -> None:
        self.selection = selection
        self.console = console
        self.lang = lang
        self.followed: Flow | None = None
        self._printed = 0
        self._states: dict[int, int] = {}

    def update(self, flow: Flow) -> None:
        if self.selection.any():
            if self.followed is None and self.selection.wants(flow):
                self.followed = flow
                self.console.print(f"connection {flow.number}: {flow.left} \u2192 {flow.right}",
                                   style="bold", soft_wrap=True)  # fmt: skip
            if flow is self.followed:
                timeline = build_timeline(flow.records, flow.left, flow.right)
                lines = ladder_lines(timeline, footer=False, lang=self.lang)
                for line in lines[self._printed :]:
                    self.console.print(line)
                self._printed = max(self._printed, len(lines))
            return
        states = [r for r in flow.records if isinstance(r, StateRecord)]
        done = self._states.get(flow.number, 0)
        for rec in states[done:]:
            self.console.print(
                f"#{flow.number:<4} {rec.endpoint:>22} {rec.old} \u2192 {rec.new}  ({rec.cause})",
                soft_wrap=True,
            )
        self._states[flow.number] = len(states)


def run_live(
    interface: str,
    lab: str | None,
    selection: Selection,
    count: int | None,
    seconds: float | None,
    ignore_checksums: bool,
    lang: str,
) -> list[Flow]:
    console = Console(highlight=False)
    view = LiveView(selection, console, lang)
    flows: list[Flow] = []
    table = FlowTable(on_done=flows.append)
    stats = CaptureStats()
    try:
        for seg in live_segments(interface, lab, stats, count, seconds, ignore_checksums):
            flow = table.feed(seg)
            if flow is not None:
                view.update(flow)
    except KeyboardInterrupt:
        pass
    except CaptureError as exc:
        console.print(f"synack analyze: {exc}", style="red", soft_wrap=True)
    table.close()
    flows.sort(key=lambda f: f.number)
    console.print(f"{len(flows)} connection(s), {stats.segments} segment(s) seen", style="bold")
    for flow in flows:
        final = " / ".join(side.state for side in flow.sides.values())
        console.print(f"#{flow.number:<4} {flow.left} \u2192 {flow.right}  {flow.packets} packets  "
                      f"final {final}", soft_wrap=True)  # fmt: skip
    return flows
