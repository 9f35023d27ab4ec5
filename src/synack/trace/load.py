"""Records back from their JSON form (``TraceRecorder.to_dicts``, ``synack demo --json``).

Every record is checked before any is used, with one pydantic model per kind:
the fields that kind has, each of its type (a number is not a string, nor
``null`` unless the field may be), times finite, sequence numbers 32-bit,
state names the RFC 9293 states of :class:`synack.tcp.state.State`. Unknown
keys are ignored; a packet has no bytes. A problem is a :class:`TraceError`
saying where it is: ``FILE: line N: ...`` or, for a list, ``record N: ...``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from synack.tcp.state import State
from synack.trace.records import (
    CallRecord,
    PacketRecord,
    Record,
    SegmentRecord,
    StateRecord,
    TimerRecord,
)

_STATES = tuple(s.value for s in State)
# what `synack analyze` writes as the old state of a side it has not seen yet
UNKNOWN_STATE = "unknown"


class TraceError(ValueError):
    """A trace that cannot be read: the message says where and why."""


def _state(value: str) -> str:
    if value not in _STATES:
        raise ValueError(f"{value!r} is not an RFC 9293 state ({', '.join(_STATES)})")
    return value


def _old_state(value: str) -> str:
    return value if value == UNKNOWN_STATE else _state(value)


Time = Annotated[float, Field(allow_inf_nan=False)]
Number32 = Annotated[int, Field(ge=0, le=0xFFFFFFFF)]  # a sequence or ACK number
Count = Annotated[int, Field(ge=0)]


class _Record(BaseModel):
    # strict: 1 is a number but "1", true and null are not
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    t: Time


class _Header(_Record):
    """The TCP header fields a segment and a packet record both carry."""

    src: str
    dst: str
    flags: str
    seq: Number32
    ack: Number32
    len: Count
    win: Count
    options: str


class _Segment(_Header):
    endpoint: str
    direction: Literal["sent", "received", "dropped"]
    reason: str | None = None


class _State(_Record):
    endpoint: str
    old: Annotated[str, AfterValidator(_old_state)]
    new: Annotated[str, AfterValidator(_state)]
    cause: str


class _Timer(_Record):
    endpoint: str
    timer: str


class _Call(_Record):
    endpoint: str
    call: str


class _Packet(_Header):
    arrival: Time | None
    fate: str


_KINDS: dict[str, tuple[type[_Record], Any]] = {
    "segment": (_Segment, SegmentRecord),
    "state": (_State, StateRecord),
    "timer": (_Timer, TimerRecord),
    "call": (_Call, CallRecord),
    "packet": (_Packet, PacketRecord),
}
_WHAT = "a record as `synack demo --json` prints"
_JSON_TYPES = {list: "an array", str: "a string", int: "a number", float: "a number",
               bool: "true or false", type(None): "null"}  # fmt: skip


def _shown(value: object) -> str:
    text = json.dumps(value) if isinstance(value, (str, int, float, bool, type(None))) else "?"
    return text if len(text) <= 40 else text[:39] + "\u2026"


def _checked(item: object) -> Record:
    """One record from its dict, or ValueError saying what is wrong with it."""
    if not isinstance(item, Mapping):
        raise ValueError(f"not {_WHAT} (a JSON object), but {_JSON_TYPES[type(item)]}")
    kind = item.get("kind")
    if kind not in _KINDS:
        if "kind" not in item:
            raise ValueError(f"not {_WHAT}: no kind")
        raise ValueError(f"unknown record kind {_shown(kind)} (not {', '.join(_KINDS)})")
    model, cls = _KINDS[kind]
    try:
        checked = model.model_validate(item)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        if first["type"] == "missing":
            raise ValueError(f"{kind} record without {field}") from None
        message = first["msg"].removeprefix("Value error, ")
        message = message[:1].lower() + message[1:]
        got = _shown(first["input"])
        raise ValueError(f"{kind} record: {field}: {message} (got {got})") from None
    record: Record = cls(**checked.model_dump())
    return record


def record_from_dict(item: Mapping[str, Any]) -> Record:
    """One record from its dict, checked (:class:`TraceError` if it is not one)."""
    try:
        return _checked(item)
    except ValueError as exc:
        raise TraceError(str(exc)) from None


def records_from_dicts(items: Iterable[Mapping[str, Any]]) -> list[Record]:
    records = []
    for number, item in enumerate(items, 1):
        try:
            records.append(_checked(item))
        except ValueError as exc:
            raise TraceError(f"record {number}: {exc}") from None
    return records


def read_json_lines(path: str | Path) -> list[Record]:
    """Records from a JSON Lines file (blank lines are skipped), all checked:
    :class:`TraceError` names the file and the line of the first problem."""
    records = []
    with Path(path).open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            try:
                line = raw.decode("utf-8")
                if not line.strip():
                    continue
                item = json.loads(line)
            except UnicodeDecodeError:
                raise TraceError(f"{path}: line {number}: not UTF-8 text") from None
            except json.JSONDecodeError as exc:
                raise TraceError(f"{path}: line {number}: not JSON ({exc.msg})") from None
            except RecursionError:  # [[[[...
                raise TraceError(f"{path}: line {number}: not JSON (nested too deep)") from None
            except ValueError as exc:  # a number of 5000 digits
                raise TraceError(f"{path}: line {number}: not JSON ({exc})") from None
            try:
                records.append(_checked(item))
            except ValueError as exc:
                raise TraceError(f"{path}: line {number}: {exc}") from None
    if not records:
        raise TraceError(f"{path}: no records (as `synack demo --json` prints)")
    return records
