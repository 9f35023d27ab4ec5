"""The hook through which the engine reports what happens, for the trace tools.

The engine calls these methods; it never stores a trace itself. ``conn`` is
the connection (or ``None`` for host-level records such as a RST sent for a
segment that matched no connection, or a TIME-WAIT record's answer); with no
connection, ``addresses`` gives the segment's (local, remote) IP addresses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from synack.tcp.connection import Connection
    from synack.tcp.state import State
    from synack.wire.segment import Segment


class Tracer(Protocol):
    def state_changed(
        self, conn: Connection | None, now: float, old: State, new: State, cause: str
    ) -> None: ...

    def segment(
        self,
        conn: Connection | None,
        now: float,
        direction: str,  # "sent", "received" or "dropped"
        segment: Segment,
        reason: str | None,
        addresses: tuple[object, object] | None = None,
    ) -> None: ...

    def timer_fired(self, conn: Connection, now: float, timer: str) -> None: ...

    def user_call(self, conn: Connection, now: float, call: str) -> None: ...
