"""Scenario files: a ``synack demo`` run written in TOML instead of Python.

A file gives the link, the TCP settings, what each side's application does
and when, the faults the network scripts, and the narration in English and
Korean; ``synack demo --file FILE`` runs it on the simulated network like
any built-in scenario. docs/scenario-files.md documents the format, and
``examples/scenarios/`` holds examples. The file is checked as a whole
before anything runs (pydantic models, every unknown key refused), and a
problem is reported as ``FILE: where: what``.
"""

from __future__ import annotations

import math
import tomllib
import typing
from dataclasses import fields
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from synack.scenario_script import Action as ScriptAction
from synack.scenario_script import Fault as ScriptFault
from synack.scenario_script import Script, run_script
from synack.scenarios import Options, Outcome, Scenario, Story
from synack.sim.network import LinkConfig
from synack.tcp.config import TcpConfig
from synack.tcp.state import State

Seconds = Annotated[float, Field(ge=0.0, le=86_400.0)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]


class ScenarioFileError(ValueError):
    """A scenario file that cannot be run: the message says where and why."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Strict):
    en: str = Field(min_length=1)
    ko: str = Field(min_length=1)


class Notes(_Strict):
    en: list[str] = Field(min_length=1)
    ko: list[str] = Field(min_length=1)


class Link(_Strict):
    """One direction of the link, or both (LinkConfig's fields; delay in seconds)."""

    delay: Seconds = 0.010
    jitter: Seconds = 0.0
    bandwidth: Annotated[float, Field(gt=0.0)] | None = None
    queue_limit: Annotated[int, Field(ge=0)] | None = None
    loss: Probability = 0.0
    duplicate: Probability = 0.0
    reorder: Probability = 0.0
    reorder_delay: Seconds = 0.005
    corrupt: Probability = 0.0
    mtu: Annotated[int, Field(ge=68, le=65535)] | None = None


class Links(Link):
    """``[link]``: both directions, with ``[link.c2s]`` and ``[link.s2c]`` overriding."""

    c2s: Link | None = None
    s2c: Link | None = None


Event = Literal["connected", "data", "end-of-stream"]


class Action(_Strict):
    """One thing an application does: at a time (``at``), or ``delay`` seconds
    after an event on its connection (``on``). An action on "data" or
    "end-of-stream" with no delay runs in the same instant, so what it sends
    leaves with the ACK the event caused; one on "connected" runs once
    connect() has returned, after the handshake's ACK has left (as a socket
    program's write does)."""

    action: Literal["connect", "listen", "send", "shutdown", "close", "abort", "read"]
    at: Seconds | None = None
    on: Event | None = None
    delay: Seconds = 0.0
    data: str | None = None  # for "send": text (UTF-8)
    bytes: Annotated[int, Field(ge=1, le=100 * 1024 * 1024)] | None = None  # for "send": a pattern
    once: bool = True  # an "on" action runs on the first such event only

    @model_validator(mode="after")
    def _when_and_what(self) -> Action:
        if (self.at is None) == (self.on is None):
            raise ValueError("give exactly one of 'at' (a time) and 'on' (an event)")
        if self.action == "send" and (self.data is None) == (self.bytes is None):
            raise ValueError("a send needs exactly one of 'data' (text) and 'bytes' (a size)")
        if self.action != "send" and (self.data is not None or self.bytes is not None):
            raise ValueError(f"'data' and 'bytes' belong to a send, not to {self.action!r}")
        if self.action in ("connect", "listen") and self.on is not None:
            raise ValueError(f"{self.action!r} happens at a time ('at'), not on an event")
        return self


class Fault(_Strict):
    """A scripted fault: the ``nth`` matching packet (and ``count - 1`` after it)."""

    action: Literal["drop", "duplicate", "delay"] = "drop"
    sender: Literal["client", "server"] = Field(alias="from")
    flags: str | None = None  # tcpdump letters, e.g. "S." for SYN,ACK
    with_data: bool | None = None  # only segments with (true) or without (false) text
    nth: Annotated[int, Field(ge=1)] = 1
    count: Annotated[int, Field(ge=1)] = 1
    delay: Seconds = 0.0


class StoryTable(_Strict):
    """``[story]``: what the notes tell as fact, checked against each run
    (synack.scenarios.Story): each side's states in order, runs of packets."""

    client: str | None = None  # states, space-separated: "CLOSED SYN-SENT ESTABLISHED"
    server: str | None = None
    packets: list[list[str]] = []  # each run: ["client F. dropped", "client F."]

    @model_validator(mode="after")
    def _known(self) -> StoryTable:
        states = {state.value for state in State}
        for side in (self.client, self.server):
            unknown = sorted(set((side or "").split()) - states)
            if unknown:
                raise ValueError(f"{unknown[0]!r} is not a TCP state (CLOSED, SYN-SENT, ...)")
        for run in self.packets:
            for item in run:
                words = item.split(maxsplit=2)
                if len(words) < 2 or words[0] not in ("client", "server"):
                    raise ValueError(f"{item!r}: a packet is 'client|server FLAGS [fate]'")
        return self


class ScenarioFile(_Strict):
    name: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: Text
    notes: Notes
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] | None = None
    duration: Annotated[float, Field(gt=0.0, le=86_400.0)] = 3600.0
    # the server's application reads what arrives only from this time on
    # (before it, only a "read" action takes data): a slow reader
    server_reads_after: Seconds = 0.0
    link: Links = Links()
    tcp: dict[str, Any] = {}
    client: list[Action] = []
    server: list[Action] = []
    fault: list[Fault] = []
    story: StoryTable | None = None

    @model_validator(mode="after")
    def _opens(self) -> ScenarioFile:
        if not any(a.action == "connect" for a in self.client):
            raise ValueError("the client never connects: add an action 'connect' with 'at'")
        if any(a.action == "listen" for a in self.client):
            raise ValueError("the client cannot listen: 'listen' is a server action")
        if any(a.action == "connect" for a in self.server):
            raise ValueError("the server does not connect: it listens")
        return self


_TCP_FIELDS = {f.name: f for f in fields(TcpConfig)}
# Each setting's type, for pydantic. The compiled build keeps the plain types
# (int, float, bool, tuple) but gives a union such as ``int | None`` as
# ``type``: those settings are left to TcpConfig's own checks there.
_TCP_TYPES = {
    name: TypeAdapter(hint)
    for name, hint in typing.get_type_hints(TcpConfig).items()
    if name in _TCP_FIELDS and hint is not type
}


def _tcp_config(settings: dict[str, Any], msl: float) -> TcpConfig:
    """The settings as a TcpConfig, each of its field's type (pydantic: 8192 for
    a float, a list for a tuple; 1.5 for an int is refused, as are inf and nan).
    Validated field by field, then given to TcpConfig: pydantic cannot build
    the compiled build's TcpConfig itself."""
    unknown = sorted(set(settings) - set(_TCP_FIELDS))
    if unknown:
        raise ScenarioFileError(f"tcp: unknown setting {unknown[0]!r}")
    checked: dict[str, Any] = {"msl": msl}
    for name, value in settings.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise ScenarioFileError(f"tcp.{name}: {value} is not a finite number")
        adapter = _TCP_TYPES.get(name)
        try:
            checked[name] = adapter.validate_python(value) if adapter is not None else value
        except ValidationError as exc:
            raise ScenarioFileError(f"tcp.{name}: {exc.errors()[0]['msg']}") from None
    try:
        return TcpConfig(**checked)
    except (TypeError, ValueError) as exc:
        raise ScenarioFileError(f"tcp: {exc}") from None


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "the file"


def load_scenario(path: str | Path) -> Scenario:
    """The scenario in ``path``, checked; :class:`ScenarioFileError` if it is not valid."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioFileError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ScenarioFileError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioFileError(f"{path}: not valid TOML: {exc}") from None
    try:
        spec = ScenarioFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        raise ScenarioFileError(f"{path}: {_where(first['loc'])}: {message}") from None
    try:
        config = _tcp_config(spec.tcp, 120.0)
        _links(spec.link)
    except ScenarioFileError as exc:
        raise ScenarioFileError(f"{path}: {exc}") from None
    tcp = {name: getattr(config, name) for name in spec.tcp}  # as checked: 8192.0 is 8192
    return Scenario(
        spec.name,
        {"en": spec.title.en, "ko": spec.title.ko},
        {"en": tuple(spec.notes.en), "ko": tuple(spec.notes.ko)},
        lambda options: _run(spec, tcp, options),
        _story(spec.story),
    )


def _story(table: StoryTable | None) -> Story | None:
    if table is None:
        return None
    sides = {"client": table.client, "server": table.server}
    states = {side: path for side, path in sides.items() if path is not None}
    return Story(states, tuple(tuple(run) for run in table.packets))


def _links(link: Links) -> tuple[LinkConfig, LinkConfig]:
    both = link.model_dump(exclude={"c2s", "s2c"})
    try:
        return tuple(  # type: ignore[return-value]
            LinkConfig(**{**both, **(one.model_dump(exclude_unset=True) if one else {})})
            for one in (link.c2s, link.s2c)
        )
    except ValueError as exc:
        raise ScenarioFileError(f"link: {exc}") from None


def _run(spec: ScenarioFile, tcp: dict[str, Any], options: Options) -> Outcome:
    c2s, s2c = _links(spec.link)
    script = Script(
        spec.name, spec.seed, spec.duration, spec.server_reads_after, c2s, s2c,
        tuple(tcp.items()),
        tuple(ScriptAction(**a.model_dump()) for a in spec.client),
        tuple(ScriptAction(**a.model_dump()) for a in spec.server),
        tuple(ScriptFault(**f.model_dump()) for f in spec.fault),
    )  # fmt: skip
    return run_script(script, options)


__all__ = ["ScenarioFile", "ScenarioFileError", "StoryTable", "load_scenario"]
