"""Text forms of link settings, sizes and durations, as ``synack simulate`` takes them.

Every parser raises :class:`OptionError` (a ``ValueError``) with a one-line
message naming what it expected.

- durations: ``10`` (milliseconds), ``10ms``, ``1.5s``, ``250us``;
- rates: ``500kbit``, ``10mbit``, ``1gbit``, ``64000bit`` (decimal, as tc
  counts: 1mbit = 1,000,000 bits per second);
- sizes: ``10000``, ``10k``, ``1m``, ``1g`` (powers of 1000), ``64ki``,
  ``1mi`` (powers of 1024); a trailing ``b``/``B`` is allowed;
- probabilities: ``0.02`` or ``2%``;
- link settings for one direction: ``KEY=VALUE`` pairs separated by commas,
  the keys being ``delay``, ``jitter``, ``bandwidth``, ``queue``, ``loss``,
  ``duplicate``, ``reorder``, ``corrupt``: ``loss=5%,delay=40ms``.

:func:`direction_link` merges the settings of both directions with one
direction's overrides into that direction's LinkConfig.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from synack.sim.network import LinkConfig


class OptionError(ValueError):
    """A value that does not parse; the message is one line."""


_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(us|ms|s)?\s*$", re.IGNORECASE)
_DURATION_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0}
_RATE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmg]?)bit\s*$", re.IGNORECASE)
_RATE_UNITS = {"": 1.0, "k": 1e3, "m": 1e6, "g": 1e9}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmg]i?)?b?\s*$", re.IGNORECASE)
_SIZE_UNITS = {
    "": 1, "k": 10**3, "m": 10**6, "g": 10**9, "ki": 1 << 10, "mi": 1 << 20, "gi": 1 << 30,
}  # fmt: skip

LINK_KEYS = (
    "delay", "jitter", "bandwidth", "queue", "loss", "duplicate", "reorder", "corrupt", "ecn",
)  # fmt: skip


def parse_duration(text: str, default_unit: str = "ms") -> float:
    """Seconds, from ``10``, ``10ms``, ``1.5s`` or ``250us`` (a bare number is ``default_unit``)."""
    match = _DURATION.match(text)
    if match is None:
        raise OptionError(f"{text!r} is not a duration: use e.g. 10, 10ms, 1.5s or 250us")
    unit = (match.group(2) or default_unit).lower()
    return float(match.group(1)) * _DURATION_UNITS[unit]


def parse_rate(text: str) -> float:
    """Bits per second, from ``500kbit``, ``10mbit``, ``1gbit``..."""
    match = _RATE.match(text)
    if match is None:
        raise OptionError(f"{text!r} is not a rate: use e.g. 500kbit, 10mbit or 1gbit")
    value = float(match.group(1)) * _RATE_UNITS[match.group(2).lower()]
    if value <= 0:
        raise OptionError(f"rate {text!r} must be more than zero")
    return value


def parse_size(text: str) -> int:
    """Bytes, from ``10000``, ``10k``, ``1m``, ``64ki``..."""
    match = _SIZE.match(text)
    if match is None:
        raise OptionError(f"{text!r} is not a size: use e.g. 10000, 10k, 1m or 64ki")
    value = float(match.group(1)) * _SIZE_UNITS[(match.group(2) or "").lower()]
    if value != int(value):
        raise OptionError(f"{text!r} is not a whole number of bytes")
    return int(value)


def parse_probability(text: str) -> float:
    """A probability, from ``0.02`` or ``2%``."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise OptionError(f"{text!r} is not a probability: use e.g. 0.02 or 2%") from None
    if not 0.0 <= value <= 1.0:
        raise OptionError(f"{text!r} is not a probability between 0 and 1 (0% to 100%)")
    return value


def parse_queue(text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise OptionError(f"{text!r} is not a queue length in packets") from None
    if value < 0:
        raise OptionError(f"queue length {text!r} cannot be negative")
    return value


def link_field(key: str, text: str) -> tuple[str, Any]:
    """One ``KEY=VALUE`` setting as a LinkConfig field name and value."""
    if key in ("delay", "jitter"):
        return key, parse_duration(text)
    if key == "bandwidth":
        return "bandwidth", parse_rate(text)
    if key == "queue":
        return "queue_limit", parse_queue(text)
    if key == "ecn":  # mark CE from this many queued packets on (RFC 3168)
        return "ecn_mark", parse_queue(text)
    if key in ("loss", "duplicate", "reorder", "corrupt"):
        return key, parse_probability(text)
    raise OptionError(f"unknown link setting {key!r}: use {', '.join(LINK_KEYS)}")


def parse_link_overrides(text: str) -> dict[str, Any]:
    """``loss=5%,delay=40ms`` as LinkConfig field values."""
    out: dict[str, Any] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not value.strip():
            raise OptionError(f"{item.strip()!r} is not KEY=VALUE (e.g. loss=5%,delay=40ms)")
        name, parsed = link_field(key.strip().lower(), value)
        out[name] = parsed
    if not out:
        raise OptionError(f"{text!r} sets nothing: use KEY=VALUE pairs, e.g. loss=5%")
    return out


def build_link(base: LinkConfig, overrides: dict[str, Any]) -> LinkConfig:
    """``base`` with ``overrides``; a queue needs a bandwidth to form behind."""
    try:
        config = replace(base, **overrides)
    except ValueError as exc:
        raise OptionError(str(exc)) from None
    if config.queue_limit is not None and config.bandwidth is None:
        raise OptionError("a queue limit needs a bandwidth: packets queue behind a rate limit")
    return config


def direction_link(
    shared: Mapping[str, Any], overrides: Iterable[Mapping[str, Any]] = ()
) -> LinkConfig:
    """One direction's link: the settings both directions share (LinkConfig field
    values), then that direction's overrides (``--c2s`` or ``--s2c``) in order."""
    merged = dict(shared)
    for item in overrides:
        merged.update(item)
    return build_link(LinkConfig(), merged)
