"""Events a connection reports to its user, as frozen dataclasses.

Pull them with ``Connection.next_event()``; a Host wraps each in a
:class:`synack.host.HostEvent` naming the connection.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Event:
    """Base class of every engine event."""


@dataclass(frozen=True, slots=True)
class Connected(Event):
    """The handshake completed: the connection is ESTABLISHED."""


@dataclass(frozen=True, slots=True)
class DataReceived(Event):
    """``length`` more in-order bytes are ready for ``receive()``."""

    length: int

    # The dataclass's own __init__, written out: the compiled build runs a
    # generated __init__ as interpreted code (docs/compiled.md), and this
    # event comes with nearly every data segment.
    def __init__(self, length: int) -> None:
        object.__setattr__(self, "length", length)


@dataclass(frozen=True, slots=True)
class EndOfStream(Event):
    """The peer's FIN arrived in order: it will send nothing more."""


@dataclass(frozen=True, slots=True)
class SendSpaceAvailable(Event):
    """Acknowledged data freed room in a send buffer that had filled up."""

    free: int


@dataclass(frozen=True, slots=True)
class ConnectionClosed(Event):
    """The connection reached CLOSED in an orderly way."""


@dataclass(frozen=True, slots=True)
class ConnectionReset(Event):
    """A RST ended the connection: ``reason`` is "connection reset" or "connection refused"."""

    reason: str


@dataclass(frozen=True, slots=True)
class ConnectionAborted(Event):
    """The connection was aborted by the user, a timeout or an ICMP error;
    ``reason`` says which. ``error`` names the errno a socket would report
    when an ICMP error is behind it: the one that ended a connection attempt
    (``"ECONNREFUSED"``, ``"EHOSTUNREACH"``...), or the last one a connection
    took before it timed out (Linux's sk_err_soft); None otherwise."""

    reason: str
    error: str | None = None


@dataclass(frozen=True, slots=True)
class RetransmissionWarning(Event):
    """Retransmissions passed the R1 threshold (RFC 9293 section 3.8.3)."""

    retransmissions: int
