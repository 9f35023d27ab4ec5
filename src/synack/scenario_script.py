"""A scenario as a script: what each side's application does, run on a World.

This is the runner behind scenario files (``synack demo --file``,
:mod:`synack.scenario_file`, which checks a TOML file with pydantic and
hands the result here) and behind the playground's composer
(:mod:`synack.web`). It uses only the standard library, so that it runs in
the browser under Pyodide as well; docs/scenario-files.md describes what
each action and fault does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from synack.host import Host
from synack.scenarios import SERVER_ADDRESS, SERVER_PORT, Options, Outcome, World
from synack.sim.network import LinkConfig, segment_matcher
from synack.tcp.config import TcpConfig
from synack.tcp.connection import Connection
from synack.tcp.errors import TcpError
from synack.tcp.events import Connected, DataReceived, EndOfStream
from synack.wire.segment import Segment


@dataclass(frozen=True)
class Action:
    """One call an application makes: ``at`` a time, or ``delay`` after an event ``on``."""

    action: str  # connect, listen, send, shutdown, close, abort, read
    at: float | None = None
    on: str | None = None  # connected, data, end-of-stream
    delay: float = 0.0
    data: str | None = None  # for a send: text (UTF-8)
    bytes: int | None = None  # for a send: that many bytes of a pattern
    once: bool = True  # an "on" action runs on the first such event only


@dataclass(frozen=True)
class Fault:
    """The ``nth`` packet of ``sender`` that matches (and ``count - 1`` after it)."""

    sender: str  # client or server
    action: str = "drop"  # drop, duplicate, delay
    flags: str | None = None  # tcpdump letters, matched exactly
    with_data: bool | None = None
    nth: int = 1
    count: int = 1
    delay: float = 0.0


@dataclass(frozen=True)
class Script:
    name: str
    seed: int | None = None
    duration: float = 3600.0
    server_reads_after: float = 0.0
    c2s: LinkConfig = field(default_factory=LinkConfig)
    s2c: LinkConfig = field(default_factory=LinkConfig)
    tcp: tuple[tuple[str, Any], ...] = ()  # TcpConfig fields, checked by the caller
    client: tuple[Action, ...] = ()
    server: tuple[Action, ...] = ()
    fault: tuple[Fault, ...] = ()


def pattern(size: int) -> bytes:
    """What a send of ``bytes = size`` sends."""
    return (bytes(range(256)) * (size // 256 + 1))[:size]


def _with_data(wanted: bool | None) -> Callable[[Segment], bool] | None:
    """A fault's test of a segment's text: any (None), with text, or without."""
    if wanted is None:
        return None
    return lambda seg: bool(seg.payload) == wanted


def run_script(script: Script, options: Options) -> Outcome:
    """Run ``script``; a seed other than the default in ``options`` wins over its own."""
    if script.seed is not None and options.seed == Options().seed:
        options = replace(options, seed=script.seed)
    config = TcpConfig(**{"msl": options.msl, **dict(script.tcp)})
    world = World(script.name, options, config=config, link=script.c2s)
    world.net.set_link(world.server, world.client, script.s2c)
    world.server_reads_after = script.server_reads_after
    sides = {"client": world.client, "server": world.server}
    for rule in script.fault:
        match = segment_matcher(src=sides[rule.sender], flags=rule.flags,
                                predicate=_with_data(rule.with_data))  # fmt: skip
        world.net.fault(match, rule.action, nth=rule.nth, count=rule.count, delay=rule.delay)
    _Application(world, "client", world.client, script.client)
    _Application(world, "server", world.server, script.server)
    return world.run(limit=script.duration)


class _Application:
    """One side's script: timed actions on the agenda, event actions on its handler."""

    def __init__(self, world: World, side: str, host: Host, actions: tuple[Action, ...]) -> None:
        self.world = world
        self.side = side
        self.host = host
        self.conns: list[Connection] = []
        self.pending = [a for a in actions if a.on is not None]
        for action in actions:
            if action.at is not None:
                world.at(action.at, self._timed(action))
        handler = self._on_event
        if side == "client":
            world.on_client = handler
        else:
            world.on_server = handler

    def _timed(self, action: Action) -> Callable[[float], None]:
        return lambda now: self._do(action, now)

    def _on_event(self, conn: Connection, event: object) -> None:
        if conn not in self.conns:
            self.conns.append(conn)
        kind = (
            "connected" if isinstance(event, Connected)
            else "data" if isinstance(event, DataReceived)
            else "end-of-stream" if isinstance(event, EndOfStream)
            else None
        )  # fmt: skip
        for action in [a for a in self.pending if a.on == kind]:
            if action.once:
                self.pending.remove(action)
            now = self.world.net.now
            if action.delay == 0 and kind != "connected":
                # at once: what it sends leaves with what the event caused (a
                # reply rides on the ACK of the request)
                self._do(action, now)
            else:
                self.world.at(now + action.delay, self._timed(action))

    def _do(self, action: Action, now: float) -> None:
        world = self.world
        if action.action == "connect":
            conn = self.host.connect((SERVER_ADDRESS, SERVER_PORT), now)
            self.conns.append(conn)
            return
        if action.action == "listen":
            self.host.listen(SERVER_PORT, now=now)
            return
        if not self.conns:
            return  # nothing to act on (yet): the action does nothing
        conn = self.conns[-1]
        try:
            if action.action == "send":
                data = (
                    action.data.encode() if action.data is not None else pattern(action.bytes or 0)
                )
                world.send(conn, data, self.side)
            elif action.action == "shutdown":
                conn.shutdown_write(now)
            elif action.action == "close":
                conn.close(now)
            elif action.action == "abort":
                conn.abort(now)
            elif action.action == "read":
                sink = world.client_received if self.side == "client" else world.server_received
                sink.extend(conn.receive())
        except TcpError:
            # the call fails, as it would on a socket (the connection is closing
            # or gone): the trace shows the user call, the script goes on
            pass


__all__ = ["Action", "Fault", "Script", "pattern", "run_script"]
