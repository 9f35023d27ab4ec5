"""Records back from their JSON form (``TraceRecorder.to_dicts``, ``synack demo --json``)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from synack.trace.records import (
    CallRecord,
    PacketRecord,
    Record,
    SegmentRecord,
    StateRecord,
    TimerRecord,
)

_KINDS: dict[str, Any] = {
    "segment": SegmentRecord,
    "state": StateRecord,
    "timer": TimerRecord,
    "call": CallRecord,
    "packet": PacketRecord,
}


def record_from_dict(item: Mapping[str, Any]) -> Record:
    """One record from its dict; unknown keys are ignored, a packet has no bytes."""
    kind = item.get("kind")
    cls = _KINDS.get(str(kind))
    if cls is None:
        raise ValueError(f"unknown record kind {kind!r}")
    fields = [name for name in cls.__slots__ if name != "packet"]
    missing = [name for name in fields if name not in item and name != "reason"]
    if missing:
        raise ValueError(f"{kind} record without {', '.join(missing)}")
    record: Record = cls(**{name: item[name] for name in fields if name in item})
    return record


def records_from_dicts(items: Iterable[Mapping[str, Any]]) -> list[Record]:
    return [record_from_dict(item) for item in items]


def read_json_lines(path: str | Path) -> list[Record]:
    """Records from a JSON Lines file (blank lines are skipped)."""
    items = []
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                try:
                    items.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{number}: not JSON ({exc.msg})") from None
    return records_from_dicts(items)
