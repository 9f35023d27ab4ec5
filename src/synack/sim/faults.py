"""Scripted faults written as short text specs, for ``synack simulate``.

A spec names which segments a fault acts on::

    [DIRECTION:]FLAGS:N[-M][:DELAY]

- ``DIRECTION``: ``c2s`` (client to server) or ``s2c`` (server to client);
  left out, segments in either direction count.
- ``FLAGS``: tcpdump's letters, in any order and matched exactly: ``S`` (a SYN
  alone), ``S.`` (SYN,ACK), ``.`` (a bare ACK), ``F.``, ``P.``, ``R``, ``R.``...
  ``*`` matches every segment, ``data`` every segment carrying payload.
- ``N``: act on the Nth matching segment, counting from 1; ``N-M`` on the Nth
  through the Mth.
- ``DELAY``: a duration (``3000ms``, ``1.5s``, ``250us``; a bare number is
  milliseconds). Required to delay a segment; for a duplicate it is how much
  later the copy arrives (default 0); a drop takes none.

Examples: ``S.:1`` (the first SYN,ACK), ``c2s:F.:1``, ``S:1-3`` (the first
three SYNs), ``s2c:data:2:3000ms``. With many connections the count runs
over all of them together: ``S.:1`` is the first SYN,ACK any server sends.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from synack.host import Host
from synack.sim.network import PacketMatch, SegmentMatch
from synack.sim.options import OptionError, parse_duration
from synack.wire.segment import ACK, CWR, ECE, FIN, PSH, RST, SYN, URG, Segment

ACTIONS = ("drop", "delay", "duplicate")
DIRECTIONS = ("c2s", "s2c")
_LETTERS = {"F": FIN, "S": SYN, "R": RST, "P": PSH, ".": ACK, "U": URG, "E": ECE, "W": CWR}


class FaultSpecError(ValueError):
    """A spec that does not parse; the message is one line."""


def parse_flags(text: str) -> int | None:
    """The flag bits tcpdump's letters stand for; None for ``*`` (any) . ``data`` is -1."""
    if text in ("*", "any"):
        return None
    if text == "data":
        return -1
    if not text:
        raise FaultSpecError("empty flags: use tcpdump letters like S, S., ., F., R, or * or data")
    bits = 0
    for letter in text:
        bit = _LETTERS.get(letter.upper() if letter != "." else letter)
        if bit is None:
            raise FaultSpecError(
                f"unknown flag {letter!r} in {text!r}: use tcpdump letters "
                "F S R P . U E W, or * (any segment) or data (segments with payload)"
            )
        bits |= bit
    return bits


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """One parsed spec: see the module docstring."""

    action: str  # drop, delay, duplicate
    direction: str | None  # c2s, s2c or None (both)
    flags: int | None  # exact flag bits; None: any segment; -1: any segment with payload
    flags_text: str
    nth: int
    count: int
    delay: float  # seconds

    def describe(self) -> str:
        where = f"{self.direction} " if self.direction else ""
        which = f"#{self.nth}" if self.count == 1 else f"#{self.nth}-{self.nth + self.count - 1}"
        extra = f" by {self.delay * 1000:g} ms" if self.delay else ""
        return f"{self.action} {where}{self.flags_text} {which}{extra}"

    def matcher(self, clients: Collection[Host], servers: Collection[Host]) -> PacketMatch:
        """The packet match for :meth:`Network.fault`: client hosts send c2s. It
        tests decoded segments as well as bytes (a :class:`SegmentMatch`)."""
        client_set = set(clients)
        server_set = set(servers)
        direction = self.direction
        flags = self.flags

        def hosts(src: Host, dst: Host) -> bool:
            if direction == "c2s":
                return src in client_set and dst in server_set
            return src in server_set and dst in client_set

        def test(seg: Segment) -> bool:
            if flags == -1:
                return len(seg.payload) > 0
            return seg.flags == flags

        return SegmentMatch(None if flags is None else test, None if direction is None else hosts)


def parse_fault(action: str, text: str) -> FaultSpec:
    """Parse ``[DIRECTION:]FLAGS:N[-M][:DELAY]`` for ``action`` (drop, delay, duplicate)."""
    if action not in ACTIONS:
        raise FaultSpecError(f"unknown fault action {action!r}: choose from {', '.join(ACTIONS)}")
    parts = text.strip().split(":")
    direction = None
    if parts and parts[0].lower() in DIRECTIONS:
        direction = parts.pop(0).lower()
    grammar = "[c2s:|s2c:]FLAGS:N[-M]" + ("" if action == "drop" else "[:DELAY]")
    if len(parts) < 2 or len(parts) > (2 if action == "drop" else 3):
        raise FaultSpecError(f"{text!r} does not read as {grammar} (e.g. S.:1, c2s:F.:1)")
    flags = parse_flags(parts[0])
    match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", parts[1])
    if match is None:
        raise FaultSpecError(f"{parts[1]!r} in {text!r} is not N or N-M (counting from 1)")
    nth = int(match.group(1))
    last = int(match.group(2)) if match.group(2) else nth
    if nth < 1 or last < nth:
        raise FaultSpecError(f"{parts[1]!r} in {text!r}: need 1 <= N <= M")
    try:
        delay = parse_duration(parts[2]) if len(parts) == 3 else 0.0
    except OptionError as exc:
        raise FaultSpecError(f"{exc} (in {text!r})") from None
    if action == "delay" and delay <= 0:
        raise FaultSpecError(f"{text!r}: a delay needs a positive DELAY, e.g. S.:1:3000ms")
    return FaultSpec(action, direction, flags, parts[0], nth, last - nth + 1, delay)
