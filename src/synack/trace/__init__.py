"""Trace records and the tools that draw them."""

from synack.trace.records import (
    CallRecord,
    Record,
    SegmentRecord,
    StateRecord,
    TimerRecord,
    TraceRecorder,
)

__all__ = ["CallRecord", "Record", "SegmentRecord", "StateRecord", "TimerRecord", "TraceRecorder"]
