"""Sequence number arithmetic modulo 2**32 (RFC 9293 section 3.4).

Sequence numbers wrap, so they are compared by the sign of their 32-bit
difference, never as plain integers. Every comparison in the engine goes
through these helpers.
"""

from typing import Final

MOD: Final = 1 << 32
MASK: Final = MOD - 1
HALF: Final = 1 << 31


def add(a: int, n: int) -> int:
    """``a + n`` modulo 2**32 (``n`` may be negative)."""
    return (a + n) & MASK


def sub(a: int, b: int) -> int:
    """The signed distance from ``b`` to ``a``, in ``[-2**31, 2**31)``."""
    return ((a - b + HALF) & MASK) - HALF  # the distance modulo 2**32, shifted into range


def lt(a: int, b: int) -> bool:
    """``a`` comes before ``b``."""
    return ((a - b) & MASK) >= HALF


def le(a: int, b: int) -> bool:
    return a == b or ((a - b) & MASK) >= HALF


def gt(a: int, b: int) -> bool:
    return ((b - a) & MASK) >= HALF  # lt(b, a), without a second call


def ge(a: int, b: int) -> bool:
    return a == b or ((b - a) & MASK) >= HALF


def max_seq(a: int, b: int) -> int:
    return b if lt(a, b) else a


def min_seq(a: int, b: int) -> int:
    return a if lt(a, b) else b


def in_window(x: int, start: int, size: int) -> bool:
    """``start <= x < start + size``, modulo 2**32."""
    return ((x - start) & MASK) < size


def between(low: int, x: int, high: int) -> bool:
    """``low <= x <= high``, modulo 2**32 (``high`` no more than 2**31 ahead)."""
    return ((x - low) & MASK) <= ((high - low) & MASK)
