"""What the playground's page asks of synack, in the browser (Pyodide) or here.

The page's JavaScript calls three functions, with JSON text both ways:

- :func:`catalog`: the demo scenarios (titles and narration in English and
  Korean) and the composer's defaults;
- :func:`run`: one setup (a scenario or a composed one, with faults) run on
  the simulated network, and everything the page draws of it: the SVG
  ladder (:func:`synack.trace.html.render_svg`, the same drawing as
  ``synack demo --html``), every step with all its fields, both sides'
  state paths, the cwnd samples of a bulk run, and the command line that
  gives the same trace;
- :func:`analyze_capture`: a pcap or pcapng file read by ``synack analyze``'s
  code, each connection drawn as a ladder.

A *setup* is the dict the page keeps in its URL fragment (docs/playground.md
lists the keys). Everything here uses only the standard library.
"""

from __future__ import annotations

import json
import shlex
import sys
from dataclasses import dataclass, replace
from typing import Any

import synack
from synack.scenario_script import Action, Script, run_script
from synack.scenarios import LANGUAGES, SCENARIOS, Options, Outcome, run_scenario
from synack.sim.faults import FaultSpec, FaultSpecError, parse_fault
from synack.sim.network import LinkConfig
from synack.trace import i18n
from synack.trace.html import _CSS as LADDER_CSS
from synack.trace.html import STATE_GRID, render_svg
from synack.trace.records import MetricSample
from synack.trace.timeline import Step, Timeline, build_timeline, window_text
from synack.wire.seq import MASK

COMPOSED = "compose"  # the scenario name of a composed setup
BULK_BYTES = 64 * 1024  # a run that moves this much one way gets a cwnd plot
UNSET_SSTHRESH = 1 << 30  # an ssthresh this high was never set by a loss
# the fates of the packets the hosts themselves sent: a fault rule counts only
# these (not a link's extra copy, nor a packet a scenario injects)
_SENT_FATES = frozenset(
    ("delivered", "lost", "dropped", "queue-full", "reordered", "delayed", "corrupted", "too-big")
)
FAULT_KEYS = {"drop": "drop", "delay": "delay", "dup": "duplicate"}  # URL key -> action
_CLI_FLAGS = {"drop": "--drop", "delay": "--delay-segment", "duplicate": "--duplicate-segment"}


class SetupError(ValueError):
    """A setup the page cannot run: one line for the page to show."""


@dataclass(frozen=True)
class Composition:
    """The composer's setup: what each side's application does, the link, TCP's options."""

    request: int = 18  # bytes the client sends once connected (0: none)
    reply: int = 40  # bytes the server sends on the request's first data (0: none)
    client_end: str = "close"  # close, shutdown, abort or none ...
    client_at: float = 0.2  # ... at this time (seconds)
    server_end: str = "close-later"  # close, close-later (50 ms after end of stream), abort, none
    loss: float = 0.0  # probability, each way
    sack: bool = True
    timestamps: bool = True
    window_scaling: bool = True
    nagle: bool = True

    def script(self, options: Options) -> Script:
        client = [Action("connect", at=0.0)]
        if self.request:
            client.append(Action("send", on="connected", bytes=self.request))
        if self.client_end != "none":
            client.append(Action(self.client_end, at=self.client_at))
        server = [Action("listen", at=0.0)]
        if self.reply:
            server.append(Action("send", on="data", bytes=self.reply))
        if self.server_end in ("close", "close-later"):
            delay = 0.05 if self.server_end == "close-later" else 0.0
            server.append(Action("close", on="end-of-stream", delay=delay))
        elif self.server_end == "abort":
            server.append(Action("abort", on="end-of-stream"))
        link = LinkConfig(delay=options.delay, loss=self.loss)
        return Script(
            COMPOSED, None, 3600.0, 0.0, link, link, self.tcp(), tuple(client), tuple(server)
        )

    def tcp(self) -> tuple[tuple[str, Any], ...]:
        return (
            ("sack", self.sack),
            ("timestamps", self.timestamps),
            ("window_scaling", self.window_scaling),
            ("nodelay", not self.nagle),
        )

    def toml(self, options: Options) -> str:
        """The same run as a scenario file, for ``synack demo --file``."""
        script = self.script(options)
        lines = [
            f'name = "{COMPOSED}"',
            f"seed = {options.seed}",
            "",
            "[title]",
            'en = "Composed in the playground"',
            'ko = "플레이그라운드에서 만든 시나리오"',
            "",
            "[notes]",
            'en = ["Made with the composer of synack web."]',
            'ko = ["synack web의 작성기로 만들었습니다."]',
            "",
            "[link]",
            f"delay = {script.c2s.delay!r}",
            f"loss = {script.c2s.loss!r}",
            "",
            "[tcp]",
            *(f"{key} = {'true' if value else 'false'}" for key, value in script.tcp),
        ]
        for side, actions in (("client", script.client), ("server", script.server)):
            for action in actions:
                lines += ["", f"[[{side}]]", f'action = "{action.action}"']
                if action.at is not None:
                    lines.append(f"at = {action.at!r}")
                else:
                    lines.append(f'on = "{action.on}"')
                    if action.delay:
                        lines.append(f"delay = {action.delay!r}")
                if action.bytes is not None:
                    lines.append(f"bytes = {action.bytes}")
        return "\n".join(lines) + "\n"


_COMPOSE_KEYS: dict[str, tuple[str, str]] = {
    # URL key: (field, kind)
    "req": ("request", "bytes"),
    "reply": ("reply", "bytes"),
    "cend": ("client_end", "client_end"),
    "cat": ("client_at", "ms"),
    "send": ("server_end", "server_end"),
    "loss": ("loss", "percent"),
    "sack": ("sack", "bool"),
    "ts": ("timestamps", "bool"),
    "ws": ("window_scaling", "bool"),
    "nagle": ("nagle", "bool"),
}
_CHOICES = {
    "client_end": ("close", "shutdown", "abort", "none"),
    "server_end": ("close", "close-later", "abort", "none"),
}


def _number(key: str, text: str, low: float, high: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SetupError(f"{key}={text!r}: not a number") from None
    if not low <= value <= high:
        raise SetupError(f"{key}={text!r}: must be from {low:g} to {high:g}")
    return value


def composition(setup: dict[str, str]) -> Composition:
    """The composer's fields from the setup's keys (see _COMPOSE_KEYS)."""
    values: dict[str, Any] = {}
    for key, (name, kind) in _COMPOSE_KEYS.items():
        if key not in setup:
            continue
        text = str(setup[key])
        if kind == "bytes":
            values[name] = int(_number(key, text, 0, 4 * 1024 * 1024))
        elif kind == "ms":
            values[name] = _number(key, text, 0, 600_000) / 1000.0
        elif kind == "percent":
            values[name] = _number(key, text, 0, 50) / 100.0
        elif kind == "bool":
            if text not in ("0", "1"):
                raise SetupError(f"{key}={text!r}: 0 or 1")
            values[name] = text == "1"
        else:
            if text not in _CHOICES[kind]:
                raise SetupError(f"{key}={text!r}: choose from {', '.join(_CHOICES[kind])}")
            values[name] = text
    return Composition(**values)


def options(setup: dict[str, str], faults: tuple[FaultSpec, ...] = ()) -> Options:
    """The run's Options from the setup's ``seed``, ``msl`` (s) and ``linkdelay`` (ms)."""
    text = str(setup.get("seed", "1"))
    if not (text.isascii() and text.isdigit()):  # as --seed reads it: 1.5 or 1e3 is no seed
        raise SetupError(f"seed={text!r}: a whole number from 0 to {MASK}")
    seed = int(_number("seed", text, 0, MASK))
    msl = _number("msl", str(setup.get("msl", "120")), 0.001, 3600)
    delay = _number("linkdelay", str(setup.get("linkdelay", "10")), 0, 60_000) / 1000.0
    return Options(seed=seed, msl=msl, delay=delay, faults=faults)


def faults(setup: dict[str, str]) -> list[tuple[str, str]]:
    """The setup's faults in order, as (action, spec): ``drop=5`` stands for the
    5th segment of the run with the faults before it; ``dup=c2s:F.:1:20`` and so
    on are specs as ``synack simulate --drop`` takes them. Several are joined with
    ``~``; ``fault`` keeps their order across keys (``drop~dup``)."""
    order = str(setup.get("fault", "")).split("~") if setup.get("fault") else []
    given = {key: [p for p in str(setup.get(key, "")).split("~") if p] for key in FAULT_KEYS}
    if not order:
        order = [key for key in FAULT_KEYS for _ in given[key]]
    taken = {key: 0 for key in FAULT_KEYS}
    out = []
    for key in order:
        if key not in FAULT_KEYS or taken[key] >= len(given[key]):
            raise SetupError(f"fault={setup.get('fault')!r} does not match the fault keys")
        out.append((FAULT_KEYS[key], given[key][taken[key]]))
        taken[key] += 1
    if any(taken[key] != len(given[key]) for key in FAULT_KEYS):
        raise SetupError(f"fault={setup.get('fault')!r} leaves out some of the fault keys")
    return out


def _run_with(setup: dict[str, str], specs: tuple[FaultSpec, ...], metrics: bool) -> Outcome:
    opts = replace(options(setup, specs), metrics=metrics)
    name = str(setup.get("scenario", "close"))
    if name == COMPOSED:
        return run_script(composition(setup).script(opts), opts)
    if name not in SCENARIOS:
        raise SetupError(f"scenario={name!r}: no such scenario")
    return run_scenario(name, opts)


def resolve(setup: dict[str, str], metrics: bool = False) -> tuple[Outcome, list[FaultSpec]]:
    """Run the setup, turning each bare segment number into a spec on the run
    with the faults before it; the outcome and the specs."""
    specs: list[FaultSpec] = []
    for action, text in faults(setup):
        head, _, rest = text.partition(":")
        if head.isdigit():
            arrows = _arrow_specs(build_timeline(_run_with(setup, tuple(specs), False).recorder))
            number = int(head)
            if not 1 <= number <= len(arrows) or arrows[number - 1] is None:
                raise SetupError(f"{text!r}: no segment {number} to {action} in that run")
            text = str(arrows[number - 1]) + (f":{rest}" if rest else "")
        try:
            specs.append(parse_fault(action, text))
        except FaultSpecError as exc:
            raise SetupError(str(exc)) from None
    return _run_with(setup, tuple(specs), metrics), specs


def _arrow_specs(timeline: Timeline) -> list[str | None]:
    """For each arrow, the fault spec that picks it (``c2s:F.:1``), or None for a
    packet no fault rule counts (a link's extra copy, an injected packet)."""
    counts: dict[tuple[str, str], int] = {}
    out: list[str | None] = []
    for step in timeline.arrows():
        if step.fate_word not in _SENT_FATES or not step.flags:
            out.append(None)
            continue
        direction = "c2s" if step.side == timeline.left else "s2c"
        key = (direction, step.flags)
        counts[key] = counts.get(key, 0) + 1
        out.append(f"{direction}:{step.flags}:{counts[key]}")
    return out


def spec_text(spec: FaultSpec) -> str:
    """A spec as ``synack simulate`` reads it back."""
    text = f"{spec.direction}:" if spec.direction else ""
    last = spec.nth + spec.count - 1
    text += f"{spec.flags_text}:{spec.nth}" + (f"-{last}" if last != spec.nth else "")
    if spec.delay or spec.action == "delay":
        text += f":{spec.delay * 1000:g}ms"
    return text


def command_line(setup: dict[str, str], specs: list[FaultSpec]) -> str:
    """The ``synack demo`` command that prints this run's trace as JSON."""
    name = str(setup.get("scenario", "close"))
    words = ["synack", "demo"]
    words += ["--file", "composed.toml"] if name == COMPOSED else [name]
    for key, flag, default in (("seed", "--seed", "1"), ("msl", "--msl", "120"),
                               ("linkdelay", "--delay", "10")):  # fmt: skip
        if key in setup and str(setup[key]) != default and not (name == COMPOSED and key != "msl"):
            words += [flag, str(setup[key])]
    for spec in specs:
        words += [_CLI_FLAGS[spec.action], spec_text(spec)]
    return shlex.join([*words, "--json"])


def _step(step: Step, absolute: Step, spec: str | None, lang: str, tl: Timeline) -> dict[str, Any]:
    item = step.to_dict()
    item["describe"] = step.describe(tl.left, tl.right, lang)
    if step.kind == "arrow":
        item.update(
            abs_seq=absolute.seq,
            abs_ack=absolute.ack,
            win_bytes=step.win << step.win_shift,
            window=window_text(step.win, step.win_shift),
            fate_word=step.fate_word,
            fate_note=step.fate_note(lang),
            spec=spec,
        )
    return item


def _cwnd(samples: list[MetricSample]) -> dict[str, list[list[float | None]]]:
    """Each sender's (t, cwnd, ssthresh) as they changed, in bytes; ssthresh is
    None while it is still the initial "arbitrarily high" value (RFC 5681 3.1)."""
    series: dict[str, list[list[float | None]]] = {}
    for s in samples:
        points = series.setdefault(s.endpoint, [])
        ssthresh = s.ssthresh if s.ssthresh < UNSET_SSTHRESH else None
        if not points or points[-1][1:] != [s.cwnd, ssthresh]:
            points.append([round(s.t, 6), s.cwnd, ssthresh])
    return series


def _prefixed(svg: str, prefix: str) -> str:
    """The ladder's ids with a prefix, so two ladders can share a page."""
    return svg.replace(' id="', f' id="{prefix}')


def run(setup_json: str) -> str:
    """Run one setup; the page's view of it as JSON (``{"error": ...}`` if it cannot run)."""
    try:
        setup = json.loads(setup_json)
        lang = i18n.check(str(setup.get("lang", "en")))
        bulk = str(setup.get("scenario")) == "lossy-transfer" or (
            setup.get("scenario") == COMPOSED
            and max(composition(setup).request, composition(setup).reply) >= BULK_BYTES
        )
        outcome, specs = resolve(setup, metrics=bulk)
    except (SetupError, ValueError) as exc:
        return json.dumps({"error": str(exc)})
    records = outcome.recorder.records
    timeline = build_timeline(records)
    absolute = build_timeline(records, absolute=True)
    arrow_specs = iter(_arrow_specs(timeline))
    steps = [
        _step(s, a, next(arrow_specs) if s.kind == "arrow" else None, lang, timeline)
        for s, a in zip(timeline.steps, absolute.steps, strict=True)
    ]
    # the segments the faults picked (specs written as the page writes them); a
    # range is tested, never listed: N-M may be as wide as the URL cares to make it
    for item in steps:
        if item.get("spec"):
            direction, flags, nth = item["spec"].split(":")
            if any(
                (s.direction, s.flags_text) == (direction, flags)
                and s.nth <= int(nth) < s.nth + s.count
                for s in specs
            ):
                item["faulted"] = True
    name = str(setup.get("scenario", "close"))
    if name == COMPOSED:
        title = i18n.ui("page_title", lang, left=i18n.name("client", lang),
                        right=i18n.name("server", lang))  # fmt: skip
        notes: tuple[str, ...] = ()
    else:
        title, notes = SCENARIOS[name].explain(outcome, lang)
    paths: dict[str, list[str]] = {}
    for side, position in ((timeline.left, 0), (timeline.right, 1)):
        path = [timeline.initial[position]]
        for step in timeline.steps:
            if step.kind == "state" and step.side == side:
                path.append(step.text)
        paths[side] = path
    view = {
        "name": name,
        "title": title,
        "notes": list(notes),
        "left": timeline.left,
        "right": timeline.right,
        "names": {n: i18n.name(n, lang) for n in (timeline.left, timeline.right)},
        "initial": list(timeline.initial),
        "isns": timeline.isns,
        "seq_note": timeline.seq_note(lang),
        "svg": _prefixed(render_svg(timeline, lang), str(setup.get("prefix", ""))),
        "steps": steps,
        "paths": paths,
        "cwnd": _cwnd(outcome.recorder.metrics) if bulk else None,
        "facts": [[i18n.fact(k, lang), i18n.fact(v, lang)] for k, v in outcome.facts.items()],
        "specs": [[spec.action, spec_text(spec)] for spec in specs],
        "command": command_line(setup, specs),
        "toml": composition(setup).toml(options(setup)) if name == COMPOSED else None,
        "end_ms": round(outcome.end_time * 1000, 3),
    }
    return json.dumps(view, ensure_ascii=False)


def catalog() -> str:
    """The scenarios and the composer's choices, for the page's menus."""
    return json.dumps(
        {
            "scenarios": [
                {"name": s.name, "title": s.title, "notes": dict(s.notes)}
                for s in SCENARIOS.values()
            ],
            "languages": list(LANGUAGES),
            "choices": {key: list(values) for key, values in _CHOICES.items()},
            "compose_keys": sorted(_COMPOSE_KEYS),
            "state_grid": STATE_GRID,
            "ladder_css": LADDER_CSS,
            "version": synack.__version__,
            "python": sys.version.split()[0],
        },
        ensure_ascii=False,
    )


def analyze_capture(path: str, lang: str = "en", max_ladders: int = 20) -> str:
    """The capture in ``path`` (pcap or pcapng, perhaps gzipped) as ``synack
    analyze`` finds it: each connection with its story, flags and the ladder of
    its segments (the first ``max_ladders``), as JSON."""
    from synack.analyze.report import NOTE_WORDS, analyze
    from synack.analyze.story import story

    i18n.check(lang)
    try:
        result = analyze([path], keep_all=True)
    except (OSError, ValueError) as exc:  # the page reads "connections" in any answer
        return json.dumps({"error": str(exc), "connections": []})
    connections = []
    for number, conn in enumerate(result.connections):
        flow = conn.flow
        resent = sum(n for flag, n in conn.expert.items() if "retransmission" in flag)
        item: dict[str, Any] = {
            "number": flow.number,
            "left": flow.left,
            "right": flow.right,
            "packets": flow.packets,
            "seconds": round(flow.last_t - flow.first_t, 6),
            "final": [side.state for side in flow.sides.values()],
            "zeek": f"{conn.zeek.get('conn_state') or '-'} {conn.zeek.get('history') or '-'}",
            "expert": {NOTE_WORDS.get(k, k): v for k, v in sorted(conn.expert.items())},
            "story": story(flow, lang, resent),
        }
        if number < max_ladders:
            timeline = build_timeline(flow.records, flow.left, flow.right)
            item["svg"] = _prefixed(render_svg(timeline, lang), f"cap{flow.number}-")
            item["arrows"] = sum(1 for _ in timeline.arrows())
        connections.append(item)
    stats = result.stats
    return json.dumps(
        {
            "error": result.error,
            "segments": result.segments,
            "records": stats.records,
            "format": stats.file_format,
            "connections": connections,
        },
        ensure_ascii=False,
    )


__all__ = ["Composition", "SetupError", "analyze_capture", "catalog", "resolve", "run"]
