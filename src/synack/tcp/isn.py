"""Initial sequence numbers per RFC 6528: ISN = M + F(4-tuple, secret).

M is a clock ticking every 4 microseconds (RFC 9293 3.4.1), read from the
``now`` the driver passes in; F is a keyed hash of the connection's
addresses and ports, so ISNs of different connections are unrelated.
"""

from __future__ import annotations

import functools
import hashlib
import os
from typing import Protocol

from synack.wire.ip import IPAddress
from synack.wire.seq import MASK

Endpoint = tuple[IPAddress, int]


@functools.lru_cache(maxsize=4096)
def address_text(address: IPAddress) -> str:
    """``str(address)``, remembered: ipaddress formats an address in Python
    (microseconds), and the hashes of a host's connections name the same few."""
    return str(address)


class IsnSource(Protocol):
    def generate(self, local: Endpoint, remote: Endpoint, now: float) -> int: ...


class Rfc6528Isn:
    """The RFC 6528 generator. ``secret`` defaults to 16 random bytes."""

    __slots__ = ("_keyed", "_secret")

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret if secret is not None else os.urandom(16)
        # keyed once; each ISN hashes a copy (keying costs blake2s a block)
        self._keyed = hashlib.blake2s(key=self._secret, digest_size=4)

    def generate(self, local: Endpoint, remote: Endpoint, now: float) -> int:
        clock = int(now * 250_000)  # 4 us ticks
        text = f"{address_text(local[0])}|{local[1]}|{address_text(remote[0])}|{remote[1]}"
        h = self._keyed.copy()
        h.update(text.encode())
        return (clock + int.from_bytes(h.digest(), "big")) & MASK


class FixedIsn:
    """Always the same ISN: for demos and tests that need reproducible numbers."""

    __slots__ = ("value",)

    def __init__(self, value: int) -> None:
        if not 0 <= value <= MASK:
            raise ValueError(f"ISN {value} is not a 32-bit number")
        self.value = value

    def generate(self, local: Endpoint, remote: Endpoint, now: float) -> int:
        return self.value
