"""The terminal ladder: two lifelines, the states beside them, arrows between.

Each packet takes two lines: its label (flags, seq, ack, len) at the time it
left, then the arrow itself with what happened to it on the way (its delay,
or ``dup``, ``reordered``, ``delayed``, ``corrupted``; a lost packet stops
mid-way at ``✗ LOST``). A state change shows the new state in bold on the
side that changed, with its cause beside the lifeline; a timer shows as
``⏱ name`` on its side. Times are in milliseconds. Everything fits in 80
columns.
"""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size
from rich.console import Console
from rich.text import Text

from synack.trace.timeline import Step, Timeline, TraceSource, build_timeline, ms

MAX_WIDTH = 80
STATE_WIDTH = 12  # "SYN-RECEIVED"
FLAG_STYLE = {"S": "bold green", "F": "bold yellow", "R": "bold red", "P": "cyan"}
FATE_STYLE = {
    "duplicated": "magenta",
    "reordered": "magenta",
    "delayed": "magenta",
    "corrupted": "bold red",
}


def _fit(text: str, width: int, align: str = "left") -> str:
    """Pad or crop ``text`` to exactly ``width`` cells."""
    if cell_len(text) > width:
        return set_cell_size(text[: max(0, width - 1)], width - 1) + "\u2026" if width else ""
    pad = width - cell_len(text)
    if align == "right":
        return " " * pad + text
    if align == "center":
        return " " * (pad // 2) + text + " " * (pad - pad // 2)
    return text + " " * pad


class _Layout:
    def __init__(self, timeline: Timeline, width: int) -> None:
        self.timeline = timeline
        times = [ms(s.t) for s in timeline.steps] or ["0"]
        self.time_width = max(6, max(len(t) for t in times))
        # time, space, left state, " │", middle, "│ ", right state
        self.middle = max(24, width - self.time_width - 1 - STATE_WIDTH - 2 - 2 - STATE_WIDTH)

    def line(
        self,
        time: str,
        states: tuple[str, str],
        middle: Text,
        changed: int | None = None,
    ) -> Text:
        out = Text(no_wrap=True, overflow="crop")
        out.append(_fit(time, self.time_width, "right") + " ", style="dim")
        for i, name in enumerate(states):
            cell = _fit(name, STATE_WIDTH, "right" if i == 0 else "left")
            style = "bold reverse" if changed == i else "dim"
            if i == 0:
                out.append(cell, style=style)
                out.append(" \u2502")
                out.append_text(middle)
                out.append("\u2502 ")
            else:
                out.append(cell, style=style)
        out.rstrip()
        return out

    def note(self, text: str, side: int, style: str) -> Text:
        """Text in the middle, against one side's lifeline."""
        body = _fit(" " + text + " ", self.middle, "left" if side == 0 else "right")
        return Text(body, style=style)

    def label(self, step: Step) -> Text:
        label = step.text
        if step.win and cell_len(f" {label} win {step.win} ") <= self.middle:
            label = f"{label} win {step.win}"
        body = _fit(label, self.middle, "center")
        text = Text(body)
        start = body.find(step.flags) if step.flags else -1
        if start >= 0:
            text.stylize(FLAG_STYLE.get(step.flags[0], ""), start, start + len(step.flags))
        return text

    def arrow(self, step: Step, rightward: bool) -> Text:
        width = self.middle
        note = step.fate_note()
        if step.lost:
            mark = f" \u2717 {note}"
            shaft = max(2, width // 2 - 1)
            body = "\u2500" * shaft + mark
            if not rightward:
                body = _fit(mark[1:] + " " + "\u2500" * shaft, width, "right")
            return Text(_fit(body, width), style="bold red")
        tag = f" {note} " if note else ""
        dashes = width - 1 - cell_len(tag)
        before = dashes // 2
        line = "\u2500" * before + tag + "\u2500" * (dashes - before)
        body = line + "\u25b6" if rightward else "\u25c0" + line
        return Text(body, style=FATE_STYLE.get(step.fate_word, ""))


def ladder_lines(timeline: Timeline, width: int = MAX_WIDTH, footer: bool = True) -> list[Text]:
    """The ladder as lines of rich Text, each at most ``width`` cells; without
    ``footer``, no notes after the steps (for a ladder drawn as it grows)."""
    lay = _Layout(timeline, min(width, MAX_WIDTH))
    left, right = timeline.left, timeline.right
    header = Text(
        _fit("t (ms)", lay.time_width, "right")
        + " "
        + _fit(left, STATE_WIDTH, "right")
        + "  "
        + " " * lay.middle
        + "  "
        + _fit(right, STATE_WIDTH),
        style="bold",
    )
    header.rstrip()
    lines = [header]
    blank = Text(" " * lay.middle)
    lines.append(lay.line("", timeline.initial, blank))
    for step in timeline.steps:
        side = timeline.side_of(step.side)
        time = ms(step.t)
        if step.kind == "arrow":
            lines.append(lay.line(time, step.states, lay.label(step)))
            lines.append(lay.line("", step.states, lay.arrow(step, rightward=side == 0)))
        elif step.kind == "state":
            cause = lay.note(f"{step.cause}", side, "dim italic")
            lines.append(lay.line(time, step.states, cause, changed=side))
        elif step.kind == "timer":
            note = lay.note(f"\u23f1 {step.text}", side, "bold yellow")
            lines.append(lay.line(time, step.states, note))
        else:
            note = lay.note(f"\u25b8 {step.text}", side, "cyan")
            lines.append(lay.line(time, step.states, note))
    if not footer:
        return lines
    footers = ["times in ms; " + timeline.seq_note().replace(" (", ":\n  (", 1)]
    if timeline.source == "segments":
        footers.append("arrows drawn from the segments each side sent (no link record)")
    for footer_text in footers:
        for part in footer_text.split("\n"):
            lines.append(Text(_fit(part, min(width, MAX_WIDTH)).rstrip(), style="dim"))
    return lines


def render_ladder(
    source: TraceSource,
    console: Console | None = None,
    *,
    left: str = "client",
    right: str = "server",
    absolute: bool = False,
    title: str = "",
) -> None:
    """Print the ladder of a trace (a recorder or its records) to ``console``."""
    console = console or Console(highlight=False)
    timeline = build_timeline(source, left, right, absolute)
    if title:
        console.print(Text(title, style="bold"), no_wrap=True, overflow="ellipsis", crop=True)
    for line in ladder_lines(timeline, console.width):
        console.print(line, no_wrap=True, overflow="crop", crop=True, highlight=False)
