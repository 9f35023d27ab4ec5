"""The terminal ladder: two lifelines, the states beside them, arrows between.

Each packet takes two lines: its label (flags, seq, ack, len, win) at the
time it left, then the arrow itself with what happened to it on the way (its
delay, or ``dup``, ``reordered``, ``delayed``, ``corrupted``; a lost packet
stops mid-way at ``✗ LOST``). A SYN or SYN,ACK has a third line between the
two with its options (``<mss 1460,sackOK,TS,wscale 7>``). The window is the
raw field until both SYNs carried a window scale, then the bytes it stands
for and how (``win 256 KiB (32768<<3)``; a SYN's window is never scaled, RFC
7323 2.2). A state change shows the new state in bold on the side that
changed, with its cause beside the lifeline; a timer shows as ``⏱ name`` on
its side. Times are in milliseconds, their decimal points aligned. Everything
fits in 80 columns. ``lang="ko"`` draws the words in Korean
(:mod:`synack.trace.i18n`); protocol terms stay as they are.
"""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size
from rich.console import Console
from rich.text import Text

from synack.trace import i18n
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


LIVE_INT_WIDTH = 7  # a ladder drawn as it grows: times up to 9999999 ms keep one column


class _Layout:
    def __init__(self, timeline: Timeline, width: int, lang: str, grows: bool = False) -> None:
        self.timeline = timeline
        self.lang = lang
        times = [ms(s.t).partition(".") for s in timeline.steps] or [("0", "", "")]
        # integer parts right-aligned, decimals left-aligned after them: the
        # decimal points line up; a ladder that grows keeps room for both
        self.int_width = max(LIVE_INT_WIDTH if grows else 6, *(len(t[0]) for t in times))
        self.frac_width = 4 if grows or any(t[2] for t in times) else 0
        # the header goes over the integer parts, or on into the room the left
        # side's name leaves in its column, keeping a space before the name
        self.header = i18n.ui("time_header", lang)
        spare = STATE_WIDTH - min(STATE_WIDTH, cell_len(i18n.name(timeline.left, lang)))
        self.int_width = max(self.int_width, cell_len(self.header) - self.frac_width - spare)
        self.time_width = self.int_width + self.frac_width
        self.header_width = max(self.int_width, cell_len(self.header))
        # time, space, left state, " │", middle, "│ ", right state
        self.middle = max(24, width - self.time_width - 1 - STATE_WIDTH - 2 - 2 - STATE_WIDTH)

    def time(self, t: float | None) -> str:
        if t is None:
            return " " * self.time_width
        whole, dot, frac = ms(t).partition(".")
        return whole.rjust(self.int_width) + (dot + frac).ljust(self.frac_width)

    def line(
        self,
        t: float | None,
        states: tuple[str, str],
        middle: Text,
        changed: int | None = None,
    ) -> Text:
        out = Text(no_wrap=True, overflow="crop")
        out.append(self.time(t) + " ", style="dim")
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
        if not step.text.startswith(("(malformed)", "ICMP")):  # a TCP segment's label
            # the whole window if it fits, else the bytes it stands for
            full = f"{label} win {step.window}"
            short = full.split(" (", 1)[0]
            label = next((x for x in (full, short) if cell_len(x) < self.middle), label)
        pad = self.middle - cell_len(label)
        body = " " + label if pad == 1 else _fit(label, self.middle, "center")
        text = Text(body)
        start = body.find(step.flags) if step.flags else -1
        if start >= 0:
            text.stylize(FLAG_STYLE.get(step.flags[0], ""), start, start + len(step.flags))
        return text

    def options(self, step: Step) -> Text:
        return Text(_fit(f"<{step.options}>", self.middle, "center"), style="dim")

    def arrow(self, step: Step, rightward: bool) -> Text:
        width = self.middle
        note = step.fate_note(self.lang)
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


def ladder_lines(
    timeline: Timeline, width: int = MAX_WIDTH, footer: bool = True, lang: str = "en"
) -> list[Text]:
    """The ladder as lines of rich Text, each at most ``width`` cells; without
    ``footer``, no notes after the steps, and a time column wide enough for
    any time (for a ladder drawn as it grows, whose earlier lines are out)."""
    i18n.check(lang)
    lay = _Layout(timeline, min(width, MAX_WIDTH), lang, grows=not footer)
    left, right = i18n.name(timeline.left, lang), i18n.name(timeline.right, lang)
    header = Text(
        _fit(lay.header, lay.header_width, "right")
        + _fit(left, lay.time_width + 1 + STATE_WIDTH - lay.header_width, "right")
        + "  "
        + " " * lay.middle
        + "  "
        + _fit(right, STATE_WIDTH),
        style="bold",
    )
    header.rstrip()
    lines = [header]
    blank = Text(" " * lay.middle)
    lines.append(lay.line(None, timeline.initial, blank))
    for step in timeline.steps:
        side = timeline.side_of(step.side)
        if step.kind == "arrow":
            lines.append(lay.line(step.t, step.states, lay.label(step)))
            if step.options:
                lines.append(lay.line(None, step.states, lay.options(step)))
            lines.append(lay.line(None, step.states, lay.arrow(step, rightward=side == 0)))
        elif step.kind == "state":
            cause = lay.note(i18n.cause(step.cause, lang), side, "dim italic")
            lines.append(lay.line(step.t, step.states, cause, changed=side))
        elif step.kind == "timer":
            note = lay.note(f"\u23f1 {i18n.timer(step.text, lang)}", side, "bold yellow")
            lines.append(lay.line(step.t, step.states, note))
        else:
            note = lay.note(f"\u25b8 {i18n.call(step.text, lang)}", side, "cyan")
            lines.append(lay.line(step.t, step.states, note))
    if not footer:
        return lines
    seq_note = timeline.seq_note(lang).replace(" (", ":\n  (", 1)
    footers = [i18n.ui("times_in_ms", lang) + "; " + seq_note]
    if timeline.source == "segments":
        footers.append(i18n.ui("from_segments", lang))
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
    lang: str = "en",
) -> None:
    """Print the ladder of a trace (a recorder or its records) to ``console``."""
    console = console or Console(highlight=False)
    timeline = build_timeline(source, left, right, absolute)
    if title:
        console.print(Text(title, style="bold"), no_wrap=True, overflow="ellipsis", crop=True)
    for line in ladder_lines(timeline, console.width, lang=lang):
        console.print(line, no_wrap=True, overflow="crop", crop=True, highlight=False)


def summary_lines(timeline: Timeline, lang: str = "en") -> list[str]:
    """A trace in two lines, for when the ladder is not shown: how many steps,
    packets (and how many lost), state changes, and how each side ended."""
    arrows = list(timeline.arrows())
    end = timeline.steps[-1].t if timeline.steps else 0.0
    final = timeline.steps[-1].states if timeline.steps else timeline.initial
    counts = {
        "steps": len(timeline.steps),
        "packets": len(arrows),
        "lost": sum(s.lost for s in arrows),
        "states": sum(s.kind == "state" for s in timeline.steps),
        "virtual": ms(end),
    }
    names = {"left": i18n.name(timeline.left, lang), "right": i18n.name(timeline.right, lang)}
    return [
        i18n.ui("steps_summary", lang, **counts),
        i18n.ui("final_states", lang, a=final[0] or "?", b=final[1] or "?", **names),
    ]
