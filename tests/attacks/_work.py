"""Counting work instead of time: how many lines (or bytecodes) of some source
files a call runs. Deterministic, so the attack tests can compare the work
for n and 4n hostile inputs without asserting on a clock."""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import FrameType
from typing import Any, TypeVar

T = TypeVar("T")


def work_in(files: set[str], run: Callable[[], T], event: str = "line") -> tuple[T, int]:
    """``run()``'s result and the ``event``s ("line" or "opcode") it ran in ``files``."""
    count = 0

    def local(frame: FrameType, what: str, arg: Any) -> Any:
        nonlocal count
        if what == event:
            count += 1
        return local

    def calls(frame: FrameType, what: str, arg: Any) -> Any:
        if frame.f_code.co_filename not in files:
            return None
        frame.f_trace_opcodes = event == "opcode"
        return local

    sys.settrace(calls)
    try:
        result = run()
    finally:
        sys.settrace(None)
    return result, count
