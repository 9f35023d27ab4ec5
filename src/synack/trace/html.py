"""One self-contained HTML page for a trace: an SVG ladder you can step through.

Time flows down between two lifelines. Each packet is an arrow from its
sender at the time it left to its receiver at the time it arrived, so its
slope shows its delay; a lost packet stops mid-way in an X. State changes
are boxes on the lifeline of the side that changed, timers and user calls
are notes beside it.

Prev/Next (or the arrow keys, Home and End) walk through the steps; the
current step is highlighted and both sides' state machines (the eleven RFC
9293 states laid out as in the RFC's figure) show where each side is. The
step is kept in the address as ``#step=N`` (``page.html#step=5`` opens at
step 5; step 0 is before anything happened). The trace itself is embedded
as JSON (``<script id="trace-data">``).

The page loads nothing: inline CSS and JavaScript, no fonts, no network. With
``lang="ko"`` its words are Korean (:mod:`synack.trace.i18n`), it says
``<html lang="ko">``, and its font stacks name fonts that have Hangul.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from synack.tcp.state import State
from synack.trace import i18n
from synack.trace.records import TraceRecorder
from synack.trace.timeline import Step, Timeline, TraceSource, as_records, build_timeline, ms

WIDTH = 720
X_LEFT = 190
X_RIGHT = 560
TOP = 80
ROW = 34
BOX_W = 112
BOX_H = 22

# Where each state sits in the small state machines: (row, column), after RFC 9293 figure 5.
STATE_GRID: dict[str, tuple[int, int]] = {
    State.CLOSED.value: (1, 2),
    State.LISTEN.value: (2, 2),
    State.SYN_RECEIVED.value: (3, 1),
    State.SYN_SENT.value: (3, 3),
    State.ESTABLISHED.value: (4, 2),
    State.FIN_WAIT_1.value: (5, 1),
    State.CLOSE_WAIT.value: (5, 3),
    State.FIN_WAIT_2.value: (6, 1),
    State.CLOSING.value: (6, 2),
    State.LAST_ACK.value: (6, 3),
    State.TIME_WAIT.value: (7, 2),
}


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


class _Geometry:
    """Rows for steps, and a map from time to height for arrival points."""

    def __init__(self, timeline: Timeline) -> None:
        self.steps = timeline.steps
        self.anchors: list[tuple[float, float]] = []  # (t, y) of the first step at each time
        for step in timeline.steps:
            y = self.y(step.index)
            if not self.anchors or step.t > self.anchors[-1][0] + 1e-9:
                self.anchors.append((step.t, y))
        self.bottom = self.y(len(timeline.steps) + 1)

    @staticmethod
    def y(index: int) -> float:
        return TOP + index * ROW

    def y_at(self, t: float) -> float:
        """The height of time ``t``: the row of the first step then, or between rows."""
        before: tuple[float, float] | None = None
        for at, y in self.anchors:
            if abs(at - t) <= 1e-9:
                return y
            if at > t:
                if before is None:
                    return y
                t0, y0 = before
                return y0 + (y - y0) * (t - t0) / (at - t0)
            before = (at, y)
        return (before[1] if before else TOP) + ROW * 0.8


def _arrow_svg(step: Step, geo: _Geometry, timeline: Timeline, lang: str) -> str:
    rightward = timeline.side_of(step.side) == 0
    x1, x2 = (X_LEFT, X_RIGHT) if rightward else (X_RIGHT, X_LEFT)
    y1 = geo.y(step.index)
    parts: list[str] = []
    mid_x = (X_LEFT + X_RIGHT) / 2
    label_x = mid_x
    if step.lost:
        x_end = mid_x + (30 if rightward else -30)
        y_end = y1 + ROW * 0.5
        parts.append(
            f'<line class="shaft" x1="{x1}" y1="{_n(y1)}" x2="{_n(x_end)}" y2="{_n(y_end)}"/>'
        )
        for ox, oy in ((-6, -6), (-6, 6)):
            parts.append(
                f'<line class="cross" x1="{_n(x_end + ox)}" y1="{_n(y_end + oy)}" '
                f'x2="{_n(x_end - ox)}" y2="{_n(y_end - oy)}"/>'
            )
        anchor = "start" if rightward else "end"
        tx = x_end + (10 if rightward else -10)
        parts.append(
            f'<text class="fate" x="{_n(tx)}" y="{_n(y_end + 4)}" text-anchor="{anchor}">'
            f"{escape(step.fate_note(lang))}</text>"
        )
        label_x = (x1 + x_end) / 2
        label_y = y1 + (y_end - y1) / 2 - 8
    else:
        y2 = y1 if step.arrival is None else max(y1, geo.y_at(step.arrival))
        if step.arrival is not None and step.arrival > step.t and y2 - y1 < 6:
            y2 = y1 + 6
        parts.append(f'<line class="shaft" x1="{x1}" y1="{_n(y1)}" x2="{x2}" y2="{_n(y2)}"/>')
        # the head, along the shaft
        dx, dy = x2 - x1, y2 - y1
        length = (dx * dx + dy * dy) ** 0.5 or 1.0
        ux, uy = dx / length, dy / length
        px, py = -uy, ux
        base_x, base_y = x2 - ux * 10, y2 - uy * 10
        points = [
            (x2, y2),
            (base_x + px * 4.5, base_y + py * 4.5),
            (base_x - px * 4.5, base_y - py * 4.5),
        ]
        parts.append(
            '<polygon class="head" points="'
            + " ".join(f"{_n(px_)},{_n(py_)}" for px_, py_ in points)
            + '"/>'
        )
        lift = 9 + abs(dy) / abs(dx) * 80  # clear of the shaft under the whole label
        label_y = y1 + dy / 2 - lift
        note = step.fate_note(lang)
        if note:
            parts.append(
                f'<text class="fate" x="{_n(label_x)}" y="{_n(y1 + dy / 2 + lift + 4)}" '
                f'text-anchor="middle">{escape(note)}</text>'
            )
    parts.append(
        f'<text class="label" x="{_n(label_x)}" y="{_n(label_y)}" text-anchor="middle">'
        f"{escape(step.text)}</text>"
    )
    return "".join(parts)


def _step_svg(step: Step, geo: _Geometry, timeline: Timeline, lang: str = "en") -> str:
    y = geo.y(step.index)
    side = timeline.side_of(step.side)
    x = X_LEFT if side == 0 else X_RIGHT
    outward = -1 if side == 0 else 1  # notes go away from the middle
    fate = step.fate_word if step.kind == "arrow" else ""
    classes = f"step kind-{step.kind}" + (f" fate-{escape(fate)}" if fate else "")
    if step.lost:
        classes += " lost"
    body = [
        f'<text class="time" x="8" y="{_n(y + 4)}">{escape(ms(step.t))} ms</text>',
    ]
    if step.kind == "arrow":
        body.append(_arrow_svg(step, geo, timeline, lang))
    elif step.kind == "state":
        body.append(
            f'<rect class="statebox" x="{_n(x - BOX_W / 2)}" y="{_n(y - BOX_H / 2)}" '
            f'width="{BOX_W}" height="{BOX_H}" rx="5"/>'
            f'<text class="statename" x="{x}" y="{_n(y + 4)}" text-anchor="middle">'
            f"{escape(step.text)}</text>"
        )
        cx = x - outward * (BOX_W / 2 + 6)
        body.append(
            f'<text class="cause" x="{_n(cx)}" y="{_n(y + 4)}" '
            f'text-anchor="{"start" if side == 0 else "end"}">'
            f"{escape(i18n.cause(step.cause, lang))}</text>"
        )
    else:
        tx = x - outward * 12
        if step.kind == "timer":  # a small clock (no font is sure to have the stopwatch)
            icon = (
                f'<circle class="clock" cx="{x}" cy="{_n(y)}" r="7"/>'
                f'<path class="hands" d="M{x} {_n(y - 4.5)}V{_n(y)}H{x + 3.5}"/>'
            )
            text = i18n.ui("timer_label", lang, timer=i18n.timer(step.text, lang))
        else:
            icon = f'<circle class="dot" cx="{x}" cy="{_n(y)}" r="4"/>'
            text = f"\u25b8 {i18n.call(step.text, lang)}"
        body.append(
            f'{icon}<text class="note" x="{_n(tx)}" y="{_n(y + 4)}" '
            f'text-anchor="{"start" if side == 0 else "end"}">{escape(text)}</text>'
        )
    title = escape(step.describe(timeline.left, timeline.right, lang))
    data = ""
    if step.kind == "arrow":
        # what the arrow stands for, for tests and tools (the numbers as drawn)
        data = (
            f' data-endpoint="{escape(step.side)}" data-flags="{escape(step.flags)}"'
            f' data-seq="{step.seq}" data-ack="{step.ack}" data-len="{step.len}"'
            f' data-fate="{escape(step.fate_word)}"'
        )
    return (
        f'<g class="{classes}" id="step-{step.index}" data-step="{step.index}"{data}>'
        f"<title>{title}</title>{''.join(body)}</g>"
    )


def render_svg(timeline: Timeline, lang: str = "en") -> str:
    """The ladder as an inline ``<svg>`` element (one ``<g class="step">`` per step)."""
    geo = _Geometry(timeline)
    height = geo.bottom + ROW
    lifeline_top = TOP - 20
    parts = [
        f'<svg id="ladder" width="{WIDTH}" '
        f'height="{_n(height)}" viewBox="0 0 {WIDTH} {_n(height)}" role="img" '
        f'aria-label="{escape(i18n.ui("ladder_aria", lang))}">'
    ]
    for name, x in ((timeline.left, X_LEFT), (timeline.right, X_RIGHT)):
        parts.append(
            f'<rect class="participant" x="{x - 70}" y="14" width="140" height="30" rx="6"/>'
            f'<text class="participant-name" x="{x}" y="34" text-anchor="middle">'
            f"{escape(i18n.name(name, lang))}</text>"
            f'<line class="lifeline" x1="{x}" y1="{lifeline_top}" x2="{x}" y2="{_n(height - 10)}"/>'
        )
    for i, x in enumerate((X_LEFT, X_RIGHT)):
        parts.append(
            f'<text class="initial" x="{x}" y="{lifeline_top + 14}" text-anchor="middle">'
            f"{escape(timeline.initial[i])}</text>"
        )
    # the highlight bands first, under every arrow (an arrow may cross later rows)
    parts.extend(
        f'<rect class="band" id="band-{step.index}" x="0" y="{_n(geo.y(step.index) - ROW / 2)}" '
        f'width="{WIDTH}" height="{ROW}"/>'
        for step in timeline.steps
    )
    parts.extend(_step_svg(step, geo, timeline, lang) for step in timeline.steps)
    parts.append("</svg>")
    return "".join(parts)


def _machine_html(position: str, name: str, state: str, lang: str = "en") -> str:
    nodes = []
    for value, (row, col) in STATE_GRID.items():
        cls = "node current" if value == state else "node"
        nodes.append(
            f'<div class="{cls}" data-state="{value}" style="grid-row:{row};grid-column:{col}">'
            f"{value}</div>"
        )
    return (
        f'<section class="machine" id="machine-{position}" data-endpoint="{escape(name)}" '
        f'data-state="{escape(state)}"><h3>{escape(i18n.name(name, lang))}: '
        f'<span class="current-name">{escape(state)}</span></h3>'
        f'<div class="grid">{"".join(nodes)}</div></section>'
    )


def _json_for_script(data: Any) -> str:
    """JSON that cannot end its ``<script>`` element early."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


_CSS = """
:root { color-scheme: light; --accent: #b45309; --ink: #1f2937; --muted: #6b7280;
  --sans: system-ui, "Noto Sans CJK KR", "Noto Sans KR", "Apple SD Gothic Neo", "Malgun Gothic",
    "NanumGothic", sans-serif;
  --mono: ui-monospace, "DejaVu Sans Mono", "Noto Sans Mono CJK KR", "D2Coding",
    "NanumGothicCoding", "Noto Sans CJK KR", "Apple SD Gothic Neo", "Malgun Gothic", monospace; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 var(--sans); color: var(--ink); background: #fafaf9; }
header { padding: 12px 20px 4px; }
h1 { font-size: 20px; margin: 0 0 6px; }
#narration p { margin: 4px 0; max-width: 70em; }
#controls { position: sticky; top: 0; z-index: 2; display: flex; gap: 10px; align-items: center;
  padding: 8px 20px; background: #f5f5f4; border-bottom: 1px solid #d6d3d1; }
#controls button { font: inherit; padding: 3px 14px; border: 1px solid #a8a29e; border-radius: 5px;
  background: white; cursor: pointer; }
#controls button:disabled { opacity: .4; cursor: default; }
#step-counter { font-variant-numeric: tabular-nums; min-width: 8em; font-weight: 600; }
#step-text { color: #374151; font-family: var(--mono); font-size: 13px; }
main { display: flex; gap: 20px; padding: 12px 20px; align-items: flex-start; }
#ladder-box { flex: 0 0 auto; background: white; border: 1px solid #e7e5e4; border-radius: 8px; }
aside { position: sticky; top: 52px; display: flex; flex-direction: column; gap: 12px; }
.machine { background: white; border: 1px solid #e7e5e4; border-radius: 8px; padding: 8px 10px; }
.machine h3 { margin: 0 0 6px; font-size: 14px; }
.machine .current-name { color: var(--accent); }
.grid { display: grid; grid-template-columns: repeat(3, 118px); grid-auto-rows: 24px; gap: 4px; }
.node { font: 11px var(--mono); display: flex; align-items: center;
  justify-content: center; border: 1px solid #d6d3d1; border-radius: 4px; color: #9ca3af; }
.node.visited { color: #92400e; background: #fef3c7; border-color: #fcd34d; }
.node.current { color: white; background: var(--accent); border-color: var(--accent);
  font-weight: 700; }
svg text { font: 12px var(--mono); fill: var(--ink); }
.participant { fill: #e7e5e4; stroke: #a8a29e; }
svg .participant-name { font-weight: 700; font-size: 14px; }
.lifeline { stroke: #a8a29e; stroke-width: 2; }
svg .initial, svg .time { fill: var(--muted); font-size: 11px; }
.band { fill: transparent; }
.step { color: #334155; cursor: pointer; }
.step .shaft { stroke: currentColor; stroke-width: 1.6; }
.step .head { fill: currentColor; }
.step .cross { stroke: #dc2626; stroke-width: 2.5; }
.step.lost { color: #dc2626; }
.step.fate-duplicated, .step.fate-reordered, .step.fate-delayed { color: #7c3aed; }
.step.fate-corrupted { color: #ea580c; }
svg .fate { font-size: 11px; fill: currentColor; }
svg .label { paint-order: stroke; stroke: white; stroke-width: 4px; }
.statebox { fill: #fef3c7; stroke: #d97706; }
svg .statename { font-weight: 700; }
svg .cause { fill: var(--muted); font-size: 11px; font-style: italic; }
.dot { fill: #d97706; }
.clock { fill: white; stroke: #d97706; stroke-width: 2; }
.hands { fill: none; stroke: #b45309; stroke-width: 1.6; }
svg .note { fill: #b45309; }
.step.kind-call .dot { fill: #0891b2; }
svg .kind-call .note { fill: #0e7490; }
.step.future { opacity: .28; }
.band.current { fill: #fde68a; }
.step.current .shaft { stroke-width: 2.6; }
.step.current .statebox { stroke-width: 2.5; }
"""

_JS = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("trace-data").textContent);
  var n = data.steps.length;
  var groups = Array.prototype.slice.call(document.querySelectorAll("#ladder .step"));
  var prev = document.getElementById("prev"), next = document.getElementById("next");
  var current = 0;
  function statesAt(k) { return k === 0 ? data.initial : data.steps[k - 1].states; }
  function seenAt(k, side) {
    var seen = {};
    seen[data.initial[side]] = true;
    for (var i = 0; i < k; i++) seen[data.steps[i].states[side]] = true;
    return seen;
  }
  function show(k, scroll) {
    k = Math.max(0, Math.min(n, k | 0));
    current = k;
    groups.forEach(function (g) {
      var i = parseInt(g.getAttribute("data-step"), 10);
      g.classList.toggle("current", i === k);
      g.classList.toggle("past", i < k);
      g.classList.toggle("future", i > k);
      document.getElementById("band-" + i).classList.toggle("current", i === k);
    });
    var states = statesAt(k);
    ["left", "right"].forEach(function (position, side) {
      var machine = document.getElementById("machine-" + position);
      var state = states[side], seen = seenAt(k, side);
      machine.setAttribute("data-state", state);
      machine.querySelector(".current-name").textContent = state;
      machine.querySelectorAll(".node").forEach(function (node) {
        var s = node.getAttribute("data-state");
        node.classList.toggle("current", s === state);
        node.classList.toggle("visited", s !== state && !!seen[s]);
      });
    });
    document.getElementById("step-counter").textContent =
      data.ui.step_of.replace("{k}", k).replace("{n}", n);
    document.getElementById("step-text").textContent =
      k === 0 ? data.ui.before_first + ": " + data.ui.left + " " + data.initial[0] + ", " +
                data.ui.right + " " + data.initial[1]
              : data.steps[k - 1].describe;
    document.body.setAttribute("data-step", String(k));
    prev.disabled = k === 0;
    next.disabled = k === n;
    try { history.replaceState(null, "", "#step=" + k); } catch (e) { /* local file */ }
    if (scroll && k > 0) {
      var box = document.getElementById("step-" + k).getBoundingClientRect();
      if (box.top < 60 || box.bottom > window.innerHeight) {
        window.scrollTo(0, Math.max(0, window.scrollY + box.top - window.innerHeight / 2));
      }
    }
  }
  function fromLocation() {
    var m = /step=(\d+)/.exec(location.hash) || /step=(\d+)/.exec(location.search);
    return m ? parseInt(m[1], 10) : 0;
  }
  prev.addEventListener("click", function () { show(current - 1, true); });
  next.addEventListener("click", function () { show(current + 1, true); });
  groups.forEach(function (g) {
    g.addEventListener("click", function () {
      show(parseInt(g.getAttribute("data-step"), 10), false);
    });
  });
  document.addEventListener("keydown", function (e) {
    var to = null;
    if (e.key === "ArrowRight" || e.key === "ArrowDown" || e.key === "n") to = current + 1;
    else if (e.key === "ArrowLeft" || e.key === "ArrowUp" || e.key === "p") to = current - 1;
    else if (e.key === "Home") to = 0;
    else if (e.key === "End") to = n;
    if (to !== null) { e.preventDefault(); show(to, true); }
  });
  window.addEventListener("hashchange", function () {
    if (fromLocation() !== current) show(fromLocation(), true);
  });
  // "#step=3&press=next,ArrowRight,prev": press buttons and keys once loaded
  // (for scripted walkthroughs and the headless-browser test)
  var press = /press=([A-Za-z,]+)/.exec(location.hash);
  show(fromLocation(), false);
  if (press) {
    press[1].split(",").forEach(function (what) {
      if (what === "next") next.click();
      else if (what === "prev") prev.click();
      else document.dispatchEvent(new KeyboardEvent("keydown", {key: what, bubbles: true}));
    });
  }
  // scroll to the step asked for once the page has been drawn
  window.addEventListener("load", function () {
    setTimeout(function () { show(current, true); }, 100);
  });
})();
"""


def render_html(
    source: TraceSource,
    left: str = "client",
    right: str = "server",
    title: str = "",
    narration: list[str] | None = None,
    absolute: bool = False,
    lang: str = "en",
) -> str:
    """The page as a string (see :func:`write_html`)."""
    i18n.check(lang)
    records = as_records(source)
    timeline = build_timeline(records, left, right, absolute)
    shown = {"left": i18n.name(left, lang), "right": i18n.name(right, lang)}
    title = title or i18n.ui("page_title", lang, **shown)
    recorder = TraceRecorder()
    recorder.records = list(records)
    data = {
        "title": title,
        "left": left,
        "right": right,
        "initial": list(timeline.initial),
        "isns": timeline.isns,
        "absolute": absolute,
        "lang": lang,
        "ui": {
            "step_of": i18n.ui("step_of", lang),
            "before_first": i18n.ui("before_first", lang),
            **shown,
        },
        "steps": [
            dict(step.to_dict(), describe=step.describe(left, right, lang))
            for step in timeline.steps
        ],
        "records": recorder.to_dicts(),
    }
    story = "".join(f"<p>{escape(p)}</p>" for p in narration or [])
    n = len(timeline.steps)

    def ui(key: str, **values: object) -> str:
        return escape(i18n.ui(key, lang, **values))

    return f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{_CSS}</style></head>
<body data-step="0">
<header><h1>{escape(title)}</h1><div id="narration">{story}</div></header>
<nav id="controls">
<button id="prev" type="button" title="{ui("prev_title")}">\u25c0 {ui("prev")}</button>
<button id="next" type="button" title="{ui("next_title")}">{ui("next")} \u25b6</button>
<span id="step-counter">{ui("step_of", k=0, n=n)}</span><span id="step-text"></span></nav>
<main><div id="ladder-box">{render_svg(timeline, lang)}</div>
<aside>{_machine_html("left", left, timeline.initial[0], lang)}
{_machine_html("right", right, timeline.initial[1], lang)}
<p class="hint">{escape(timeline.seq_note(lang))}; {ui("times_in_ms")}.<br>
{ui("hint_keys")}</p></aside></main>
<script type="application/json" id="trace-data">{_json_for_script(data)}</script>
<script>{_JS}</script>
</body></html>
"""


def write_html(
    source: TraceSource,
    path: str | Path,
    left: str = "client",
    right: str = "server",
    title: str = "",
    narration: list[str] | None = None,
    absolute: bool = False,
    lang: str = "en",
) -> Path:
    """Write the trace's step-through page to ``path``; ``narration`` paragraphs
    go above the ladder."""
    out = Path(path)
    page = render_html(source, left, right, title, narration, absolute, lang)
    out.write_text(page, encoding="utf-8")
    return out
