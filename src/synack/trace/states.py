"""The RFC 9293 state diagram, drawn from the engine's own table.

Every edge comes from :data:`synack.tcp.state.TRANSITIONS`. The edges that
leave every state with a TCB (ABORT, the timeouts) would drown the rest, so
they are drawn once, as "from any state but CLOSED", unless a trace took
one. Given the :class:`~synack.trace.records.StateRecord` s of one endpoint,
the edges it took are marked with the order it took them in (bold green in
the terminal; ``✔ 1,5`` in the labels and a ``classDef`` on the states it
visited in Mermaid, whose state diagrams cannot style single edges).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rich.console import Group, RenderableType
from rich.text import Text

from synack.tcp.config import TcpConfig
from synack.tcp.state import TRANSITIONS, State, Stimulus
from synack.trace.records import Record, StateRecord

Edge = tuple[State, Stimulus, State]


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def stimulus_for(old: State, new: State, cause: str) -> Stimulus | None:
    """Which edge of the table a state change took: the stimulus from ``old`` to
    ``new`` whose description shares the most words with the recorded cause
    (ABORT wins a tie: it is the edge for "data after CLOSE" and the like)."""
    candidates = [stim for (src, stim), dst in TRANSITIONS.items() if src is old and dst is new]
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    said = _words(cause)
    order = list(Stimulus)

    def score(stim: Stimulus) -> tuple[int, int, int]:
        shared = len(said & (_words(stim.value) | _words(stim.name)))
        return (-shared, 0 if stim is Stimulus.ABORT else 1, order.index(stim))

    return min(candidates, key=score)


def edges_taken(records: Iterable[Record], endpoint: str | None = None) -> list[Edge]:
    """The edges one endpoint's state changes took, in order. Changes that are not
    in the table (a trace from elsewhere) are left out."""
    by_value = {s.value: s for s in State}
    taken: list[Edge] = []
    for rec in records:
        if not isinstance(rec, StateRecord) or (endpoint is not None and rec.endpoint != endpoint):
            continue
        old, new = by_value.get(rec.old), by_value.get(rec.new)
        if old is None or new is None:
            continue
        stim = stimulus_for(old, new, rec.cause)
        if stim is not None:
            taken.append((old, stim, new))
    return taken


def universal_stimuli() -> list[Stimulus]:
    """Stimuli that lead from every state but CLOSED to the same state."""
    out = []
    for stim in Stimulus:
        edges = {src: dst for (src, s), dst in TRANSITIONS.items() if s is stim}
        sources = set(edges)
        if sources >= set(State) - {State.CLOSED} and len(set(edges.values())) == 1:
            out.append(stim)
    return out


def edges_turned_off(config: TcpConfig | None) -> dict[tuple[State, Stimulus], str]:
    """Edges of the table that ``config`` never lets happen, with why: with
    RFC 1337's protection on (the default), a RST in TIME-WAIT is ignored."""
    off: dict[tuple[State, Stimulus], str] = {}
    if config is not None and config.rfc1337:
        off[(State.TIME_WAIT, Stimulus.RCV_RST)] = "off: RST ignored, RFC 1337 (rfc1337=True)"
    return off


def _taken_order(taken: list[Edge]) -> dict[tuple[State, Stimulus], list[int]]:
    order: dict[tuple[State, Stimulus], list[int]] = {}
    for i, (src, stim, _) in enumerate(taken, 1):
        order.setdefault((src, stim), []).append(i)
    return order


def _path(taken: list[Edge]) -> list[State]:
    if not taken:
        return []
    return [taken[0][0], *(dst for _, _, dst in taken)]


def state_diagram_text(
    records: Iterable[Record] | None = None,
    endpoint: str | None = None,
    config: TcpConfig | None = None,
) -> RenderableType:
    """The diagram as rich Text lines: each state with its outgoing edges, those
    the endpoint took in bold green with their order; states it visited in bold.
    Edges that ``config`` turns off are marked as off, with why."""
    taken = edges_taken(records or [], endpoint)
    off = edges_turned_off(config)
    order = _taken_order(taken)
    visited = set(_path(taken))
    universal = universal_stimuli()
    lines: list[RenderableType] = [
        Text("RFC 9293 state diagram (synack.tcp.state.TRANSITIONS)", style="bold")
    ]
    if taken:
        path = Text(f"path of {endpoint or 'the trace'}: ", style="bold")
        for i, state in enumerate(_path(taken)):
            if i:
                path.append(" \u2192 ")
            path.append(state.value, style="bold green")
        lines.append(path)
    elif records is not None:
        lines.append(Text(f"(no state changes recorded for {endpoint or 'the trace'})", "dim"))
    for state in State:
        lines.append(Text(""))
        head = Text(state.value, style="bold reverse" if state in visited else "bold")
        if state in visited:
            head.append("  visited", style="green")
        lines.append(head)
        edges = [
            (stim, dst)
            for (src, stim), dst in TRANSITIONS.items()
            if src is state and (stim not in universal or (src, stim) in order)
        ]
        for stim, dst in edges:
            steps = order.get((state, stim))
            line = Text("  ")
            mark = f"\u2714 {','.join(map(str, steps))} " if steps else ""
            line.append(
                f"\u2500\u2500 {mark}{stim.value} \u2500\u2500\u25b6 ",
                style="bold green" if steps else "dim",
            )
            line.append(dst.value, style="bold green" if steps else "")
            if (state, stim) in off:
                line.append(f"  ({off[(state, stim)]})", style="yellow")
            lines.append(line)
    if universal:
        lines.append(Text(""))
        for stim in universal:
            target = next(dst for (_, s), dst in TRANSITIONS.items() if s is stim)
            lines.append(
                Text(
                    f"any state but CLOSED \u2500\u2500 {stim.value} \u2500\u2500\u25b6 "
                    f"{target.value}",
                    style="dim",
                )
            )
    return Group(*lines)


def _mermaid_id(state: State) -> str:
    return state.name


def state_diagram_mermaid(
    records: Iterable[Record] | None = None,
    endpoint: str | None = None,
    config: TcpConfig | None = None,
) -> str:
    """The diagram as Mermaid ``stateDiagram-v2``; taken edges are labelled
    ``✔ order: stimulus``, visited states get the ``visited`` class and the last
    one the ``current`` class; edges ``config`` turns off say so."""
    taken = edges_taken(records or [], endpoint)
    off = edges_turned_off(config)
    order = _taken_order(taken)
    path = _path(taken)
    universal = universal_stimuli()
    lines = ["stateDiagram-v2"]
    for state in State:
        lines.append(f'    state "{state.value}" as {_mermaid_id(state)}')
    lines.append(f"    [*] --> {_mermaid_id(State.CLOSED)}")
    for (src, stim), dst in TRANSITIONS.items():
        steps = order.get((src, stim))
        if stim in universal and not steps:
            continue
        label = stim.value.replace(";", ",").replace("#", "no.")
        if steps:
            label = f"\u2714 {','.join(map(str, steps))} \u00b7 {label}"
        if (src, stim) in off:
            label += " (" + off[(src, stim)].replace(",", "").replace("=", " ") + ")"
        lines.append(f"    {_mermaid_id(src)} --> {_mermaid_id(dst)}: {label}")
    if universal:
        text = " or ".join(s.value for s in universal)
        lines.append(f"    note right of {_mermaid_id(State.CLOSED)}")
        lines.append(f"        from any state but CLOSED: {text}")
        lines.append("    end note")
    if path:
        lines.append("    classDef visited fill:#fde68a,stroke:#b45309,stroke-width:2px")
        lines.append(
            "    classDef current fill:#b45309,color:#ffffff,stroke:#78350f,stroke-width:3px"
        )
        last = path[-1]
        earlier = sorted({s for s in path if s is not last}, key=list(State).index)
        if earlier:
            lines.append(f"    class {', '.join(_mermaid_id(s) for s in earlier)} visited")
        lines.append(f"    class {_mermaid_id(last)} current")
    return "\n".join(lines) + "\n"
