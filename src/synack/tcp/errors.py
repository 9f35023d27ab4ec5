"""Errors the engine reports to its user, with RFC 9293's texts (section 3.10)."""


class TcpError(Exception):
    """A user call that the current state does not allow, or a connection failure.

    ``str(error)`` is the RFC's text, for example ``"connection closing"``.
    """


CONNECTION_EXISTS = "connection already exists"
CONNECTION_DOES_NOT_EXIST = "connection does not exist"
CONNECTION_CLOSING = "connection closing"
FOREIGN_SOCKET_UNSPECIFIED = "foreign socket unspecified"
INSUFFICIENT_RESOURCES = "insufficient resources"
CONNECTION_RESET = "connection reset"
CONNECTION_REFUSED = "connection refused"
CONNECTION_ABORTED = "connection aborted"
USER_TIMEOUT = "connection aborted due to user timeout"
RETRANSMISSION_TIMEOUT = "connection aborted: retransmissions were not acknowledged (R2)"
KEEPALIVE_TIMEOUT = "connection aborted: keep-alive probes were not answered"
ZERO_WINDOW_TIMEOUT = "connection aborted: zero-window probes were not answered"
