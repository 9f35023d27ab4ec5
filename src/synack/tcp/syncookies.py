"""SYN cookies (RFC 4987 3.6): a listener's answer to a SYN that keeps no state.

When a listener will not (or cannot) keep a half-open entry for a SYN, it
answers with a SYN,ACK whose initial sequence number is a *cookie*: a keyed
hash of the 4-tuple and the peer's ISN, with a coarse clock and the index of
the peer's MSS in a small table folded in. The peer's ACK returns the cookie
plus one; if it checks out, the connection is built from what the cookie
says, as if the SYN had been kept.

The encoding follows Linux's (net/ipv4/syncookies.c, whose scheme goes back
to D. J. Bernstein and Eric Schenk); it is re-derived here, not copied:

- the ISN is ``hash1(tuple) + peer ISN + (count << 24) + low``, ``count``
  being a counter of minutes. Linux's ``low`` is ``(hash2(tuple, count) +
  mss index) mod 2**24``, so a cookie one off (or checked against a peer ISN
  one off) still passes, naming the neighbouring MSS; here ``low`` is 22 bits
  of ``hash2(tuple, peer ISN, count, mss index)`` then the 2-bit index, which
  a guess matches as rarely (one in 2**22) and a neighbour never. A cookie
  whose count is ``MAX_AGE`` or more behind the present fails (Linux's
  MAX_SYNCOOKIE_AGE), so a cookie lives between one and two minutes;
- the options a cookie cannot carry in 32 bits ride in the low 6 bits of the
  SYN,ACK's TSval, which the peer echoes in every TSecr (Linux's
  cookie_init_timestamp): the peer's window shift (4 bits, 0xF for no window
  scaling), SACK-permitted (1 bit) and ECN (1 bit). The TSval is the clock
  with those bits replaced, never ahead of it, so the connection's later
  TSvals still only grow. Without timestamps these options are lost: the
  SYN,ACK then offers none of them (as Linux does).

The hashes are keyed BLAKE2s (``hashlib``). The secret rotates: the key of
each rotation period is derived from a root secret and the period's number,
and a cookie is checked against the current key and the previous one, so
one made just before a rotation still passes until it ages out.

Pure functions and one small class, standard library only: the Host
(``host.py``) decides when to send cookies and builds connections from them.
"""

from __future__ import annotations

import hashlib
import os
import struct
from typing import NamedTuple

from synack.wire.seq import MASK

COOKIE_BITS = 24  # the low 24 bits: hash2 and the MSS index; the high 8: the counter
COOKIE_MASK = (1 << COOKIE_BITS) - 1
DATA_BITS = 2  # the MSS index
DATA_MASK = (1 << DATA_BITS) - 1
COUNTER_MASK = MASK >> COOKIE_BITS
MAX_AGE = 2  # counter ticks: a cookie from this minute or the last one passes
COUNTER_PERIOD = 60.0  # seconds per counter tick (Linux: a minute)
ROTATION = 120.0  # seconds between secret rotations; at least COUNTER_PERIOD * MAX_AGE

_ISN_COUNT = struct.Struct("!IBB")

# The MSS values a cookie can name (2 bits of index), as Linux's tables: the
# usual sizes of IPv4 and IPv6 paths. The peer's MSS is rounded down to one.
MSS_TABLE_V4 = (536, 1300, 1440, 1460)
MSS_TABLE_V6 = (1280 - 60, 1480 - 60, 1500 - 60, 9000 - 60)

# The low bits of the cookie SYN,ACK's TSval.
TS_BITS = 6
TS_MASK = (1 << TS_BITS) - 1
TS_WSCALE_MASK = 0x0F  # the peer's shift; all ones: no window scaling
TS_SACK = 1 << 4
TS_ECN = 1 << 5


class CookieOptions(NamedTuple):
    """What the timestamp carries: the options the peer's SYN asked for."""

    wscale: int | None  # the peer's shift, None if it offered no window scaling
    sack: bool
    ecn: bool


NO_OPTIONS = CookieOptions(None, False, False)


def mss_table(ip_version: int) -> tuple[int, ...]:
    return MSS_TABLE_V4 if ip_version == 4 else MSS_TABLE_V6


def mss_index(mss: int, table: tuple[int, ...]) -> int:
    """The largest table entry not above ``mss`` (the first one if all are)."""
    for index in range(len(table) - 1, 0, -1):
        if mss >= table[index]:
            return index
    return 0


def encode_timestamp(ts_now: int, options: CookieOptions) -> int:
    """The cookie SYN,ACK's TSval: ``ts_now`` with its low bits replaced by the
    options, stepped back one tick of 64 if that would put it ahead of ``ts_now``."""
    bits = TS_WSCALE_MASK if options.wscale is None else options.wscale
    if options.sack:
        bits |= TS_SACK
    if options.ecn:
        bits |= TS_ECN
    ts = (ts_now & ~TS_MASK) | bits
    if bits > ts_now & TS_MASK:
        ts -= 1 << TS_BITS
    return ts & MASK


def decode_timestamp(tsecr: int) -> CookieOptions:
    """The options an echoed cookie TSval carries (4 bits hold every shift up
    to RFC 7323's 14, and 0xF for none)."""
    wscale = tsecr & TS_WSCALE_MASK
    return CookieOptions(
        None if wscale == TS_WSCALE_MASK else wscale, bool(tsecr & TS_SACK), bool(tsecr & TS_ECN)
    )


def _hash(secret: bytes, data: bytes) -> int:
    return int.from_bytes(hashlib.blake2s(data, key=secret, digest_size=4).digest(), "big")


class SynCookies:
    """Makes and checks ISN cookies with a rotating secret.

    ``key`` is any bytes naming the 4-tuple (the Host passes its packed key:
    local address, remote address, local port, remote port). Time is the
    ``now`` the caller passes, in seconds, as everywhere in the engine.
    """

    __slots__ = ("_cache", "_root", "max_age", "period", "rotation")

    def __init__(
        self,
        secret: bytes | None = None,
        period: float = COUNTER_PERIOD,
        max_age: int = MAX_AGE,
        rotation: float = ROTATION,
    ) -> None:
        if not 1 <= max_age < COUNTER_MASK:
            raise ValueError(f"max_age must be between 1 and {COUNTER_MASK - 1}")
        if period <= 0 or rotation < period * max_age:
            raise ValueError("the secret may rotate only after a cookie has aged out")
        self._root = secret if secret is not None else os.urandom(16)
        self.period = period
        self.max_age = max_age
        self.rotation = rotation
        self._cache: dict[int, bytes] = {}

    def counter(self, now: float) -> int:
        return int(now // self.period)

    def secret(self, epoch: int) -> bytes:
        """The key of rotation period ``epoch``: derived from the root secret, so
        the current and previous keys need not be stored, and are unrelated."""
        key = self._cache.get(epoch)
        if key is None:
            if len(self._cache) > 4:
                self._cache.clear()
            key = hashlib.blake2s(
                epoch.to_bytes(8, "big", signed=True), key=self._root, digest_size=16
            ).digest()
            self._cache[epoch] = key
        return key

    def epoch(self, now: float) -> int:
        return int(now // self.rotation)

    def make(self, key: bytes, peer_isn: int, index: int, now: float) -> int:
        """The cookie ISN for a SYN from ``peer_isn`` on ``key``, carrying ``index``
        (0 to 3: an MSS-table index)."""
        if not 0 <= index <= DATA_MASK:
            raise ValueError(f"the cookie's data must fit in {DATA_BITS} bits")
        return _cookie(self.secret(self.epoch(now)), key, peer_isn, self.counter(now), index)

    def check(self, key: bytes, peer_isn: int, cookie: int, now: float, limit: int) -> int | None:
        """The index a cookie carries, or None if it is forged, was made for
        another 4-tuple or peer ISN, is too old, or names an index ``>= limit``.
        Tried with the current secret, then the previous one."""
        count = self.counter(now)
        epoch = self.epoch(now)
        for secret in (self.secret(epoch), self.secret(epoch - 1)):
            index = _check(secret, key, peer_isn, cookie, count, self.max_age)
            if index is not None and index < limit:
                return index
        return None


def _low_bits(secret: bytes, key: bytes, peer_isn: int, count: int, index: int) -> int:
    packed = _ISN_COUNT.pack(peer_isn, count & COUNTER_MASK, index)
    return ((_hash(secret, b"2" + key + packed) << DATA_BITS) | index) & COOKIE_MASK


def _cookie(secret: bytes, key: bytes, peer_isn: int, count: int, index: int) -> int:
    return (
        _hash(secret, b"1" + key)
        + peer_isn
        + ((count & COUNTER_MASK) << COOKIE_BITS)
        + _low_bits(secret, key, peer_isn, count, index)
    ) & MASK


def _check(
    secret: bytes, key: bytes, peer_isn: int, cookie: int, count: int, max_age: int
) -> int | None:
    rest = (cookie - _hash(secret, b"1" + key) - peer_isn) & MASK
    age = (count - (rest >> COOKIE_BITS)) & COUNTER_MASK
    if age >= max_age:
        return None
    index = rest & DATA_MASK
    made = (count - age) & COUNTER_MASK
    if rest & COOKIE_MASK != _low_bits(secret, key, peer_isn, made, index):
        return None
    return index


__all__ = [
    "MAX_AGE", "MSS_TABLE_V4", "MSS_TABLE_V6", "NO_OPTIONS", "CookieOptions", "SynCookies",
    "decode_timestamp", "encode_timestamp", "mss_index", "mss_table",
]  # fmt: skip
