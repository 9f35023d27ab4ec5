"""A trace as a Mermaid ``sequenceDiagram``.

Packets are messages (``->>``; a lost one ends in a cross, ``-x``; one that was
duplicated, reordered, delayed or corrupted is dotted, ``-->>``, with its fate
in the label); state changes, timers and user calls are notes over the
participant they happened to. Labels start with the time in milliseconds.
With ``lang="ko"`` the names, causes, timers and fates are in Korean
(:mod:`synack.trace.i18n`); protocol terms stay as they are.
"""

from __future__ import annotations

from synack.trace import i18n
from synack.trace.timeline import Step, TraceSource, build_timeline, ms


def mermaid_text(text: str) -> str:
    """Text safe inside a Mermaid label: ``;`` ends a statement and ``#`` starts an entity."""
    return text.replace(";", ",").replace("#", "no.").replace("\n", " ")


def _message(step: Step, ids: dict[str, str], lang: str) -> str:
    src, dst = ids[step.side], ids[step.dst]
    label = f"[{ms(step.t)} ms] {step.text}"
    word = step.fate_word
    if step.lost:
        return f"{src}-x{dst}: {mermaid_text(label)} \u2717 {mermaid_text(step.fate_note(lang))}"
    if word in ("", "delivered", "sent"):
        return f"{src}->>{dst}: {mermaid_text(label)}"
    return f"{src}-->>{dst}: {mermaid_text(label)} ({mermaid_text(step.fate_note(lang))})"


def render_mermaid(
    source: TraceSource,
    left: str = "client",
    right: str = "server",
    absolute: bool = False,
    lang: str = "en",
) -> str:
    """The Mermaid source of a trace's sequence diagram, ending in a newline."""
    i18n.check(lang)
    timeline = build_timeline(source, left, right, absolute)
    ids = {left: "L", right: "R"}
    lines = [
        "sequenceDiagram",
        f"    participant L as {mermaid_text(i18n.name(left, lang))}",
        f"    participant R as {mermaid_text(i18n.name(right, lang))}",
        f"    Note over L: {timeline.initial[0]}",
        f"    Note over R: {timeline.initial[1]}",
    ]
    for step in timeline.steps:
        who = ids[step.side]
        when = f"[{ms(step.t)} ms]"
        if step.kind == "arrow":
            lines.append("    " + _message(step, ids, lang))
        elif step.kind == "state":
            text = f"{when} {step.old} \u2192 {step.text} ({i18n.cause(step.cause, lang)})"
            lines.append(f"    Note over {who}: {mermaid_text(text)}")
        elif step.kind == "timer":
            text = f"{when} \u23f1 {i18n.timer(step.text, lang)}"
            lines.append(f"    Note over {who}: {mermaid_text(text)}")
        else:
            text = f"{when} {i18n.call(step.text, lang)}"
            lines.append(f"    Note over {who}: {mermaid_text(text)}")
    return "\n".join(lines) + "\n"
