"""The one error the wire layer raises for malformed input."""


class MalformedPacket(ValueError):
    """A packet or segment that cannot be decoded.

    ``reason`` is a short machine-friendly tag (``"short"``, ``"data-offset"``,
    ``"option-overrun"``, ``"checksum"``...), and the message says what is wrong.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
