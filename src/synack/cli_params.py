"""Parameter types of the ``synack`` command line that refuse bad values before
any work starts: files to write that cannot be written, and numbers out of range.

Every error is click's usage error (exit status 2) naming the option and the
value, on one line.
"""

from __future__ import annotations

import errno
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import click

# ----------------------------------------------------------------------
# Files to write
# ----------------------------------------------------------------------


def unwritable(path: str) -> str | None:
    """Why ``path`` cannot be written as a file, or None if it can.

    Tried, not guessed from permission bits (root ignores them, and /proc
    refuses new files whatever they say): an existing file is opened for
    appending, which changes nothing in it; a new one is created and removed.
    """
    if not path:
        return "an empty path"
    target = Path(path)
    try:
        os.stat(path)  # what only asking tells: a name too long, a loop of links
    except (FileNotFoundError, NotADirectoryError):
        pass
    except OSError as exc:
        return (exc.strerror or str(exc)).lower()
    if target.is_dir():
        return "it is a folder"
    folder = target.parent
    if not folder.exists():
        return f"there is no folder {str(folder)!r}"
    if not folder.is_dir():
        return f"{str(folder)!r} is not a folder"
    try:
        if target.exists():
            if not target.is_file():  # /dev/null, a FIFO: opening could block
                return None if os.access(path, os.W_OK) else "permission denied"
            os.close(os.open(path, os.O_WRONLY | os.O_APPEND))
        else:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
            os.unlink(path)
    except OSError as exc:
        if exc.errno == errno.ENOENT:  # /proc/x: the folder is there, refuses new files
            return f"no file can be created in {str(folder)!r}"
        return (exc.strerror or str(exc)).lower()
    return None


class OutputFile(click.ParamType[str]):
    """A file a command will write: checked when the command line is read.

    ``suffixes`` are the endings the writer understands (``.png``, ``.svg``),
    ``needs`` a module the writer imports (matplotlib). Two options of one
    command naming the same file are refused too: one would overwrite the other.
    """

    name = "file"

    def __init__(self, suffixes: Sequence[str] = (), needs: str | None = None) -> None:
        self.suffixes = tuple(s.lower() for s in suffixes)
        self.needs = needs

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        path = os.fsdecode(value) if isinstance(value, bytes | os.PathLike) else str(value)
        if self.suffixes and Path(path).suffix.lower() not in self.suffixes:
            self.fail(f"{path!r}: the file must end in {' or '.join(self.suffixes)}", param, ctx)
        if self.needs and find_spec(self.needs) is None:
            self.fail(
                f"writing {path!r} needs {self.needs}: pip install 'synack[plot]'", param, ctx
            )
        problem = unwritable(path)
        if problem is not None:
            self.fail(f"cannot write {path!r}: {problem}", param, ctx)
        if ctx is not None and param is not None and param.name:
            seen: dict[str, str] = ctx.meta.setdefault("synack.cli_params.outputs", {})
            key = os.path.realpath(path)
            other = seen.setdefault(key, param.name)
            if other != param.name:
                flag = "--" + other.replace("_", "-")
                self.fail(f"{path!r} is also the file of {flag}", param, ctx)
        return path


# ----------------------------------------------------------------------
# Numbers
# ----------------------------------------------------------------------


def _number(value: float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


@dataclass(frozen=True)
class Bound:
    """A closed range [low, high] (``low_open``: low itself excluded) of finite numbers."""

    low: float
    high: float
    unit: str = ""
    low_open: bool = False

    def describe(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        if self.low_open:
            return f"more than {_number(self.low)} and at most {_number(self.high)}{unit}"
        return f"from {_number(self.low)} to {_number(self.high)}{unit}"

    def problem(self, value: float, shown: str | None = None) -> str | None:
        """None if ``value`` is in range, else a message saying the range."""
        below = value <= self.low if self.low_open else value < self.low
        if math.isfinite(value) and not below and value <= self.high:
            return None
        return (
            f"{shown if shown is not None else _number(value)} is out of range: {self.describe()}"
        )


class BoundedFloat(click.ParamType[float]):
    """A finite float within a :class:`Bound` (click's FloatRange lets nan through)."""

    name = "float"

    def __init__(self, bound: Bound) -> None:
        self.bound = bound

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return "FLOAT"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        problem = self.bound.problem(number, str(value))
        if problem is not None:
            self.fail(problem, param, ctx)
        return number


# Seeds seed random.Random and the RFC 6528 ISN generator's secret.
SEED = click.IntRange(0, 2**32 - 1)

# What synack simulate takes, by parser kind (the option's) or LinkConfig field
# (--c2s/--s2c KEY=VALUE): durations in seconds, sizes in bytes, rates in bit/s.
SIM_BOUNDS: dict[str, Bound] = {
    "delay": Bound(0, 60, "s"),
    "jitter": Bound(0, 60, "s"),
    "ramp": Bound(0, 3600, "s"),
    "msl": Bound(0, 3600, "s", low_open=True),
    "size": Bound(0, 1 << 30, "bytes"),
    "bandwidth": Bound(0, 1e11, "bit/s", low_open=True),
    "queue_limit": Bound(0, 1_000_000, "packets"),
    "ecn_mark": Bound(0, 1_000_000, "packets"),
    "loss": Bound(0, 1),
    "duplicate": Bound(0, 1),
    "reorder": Bound(0, 1),
    "corrupt": Bound(0, 1),
}


def link_problem(fields: dict[str, Any]) -> str | None:
    """The first LinkConfig field value (from --c2s/--s2c) out of SIM_BOUNDS, if any."""
    for field, value in fields.items():
        bound = SIM_BOUNDS.get(field)
        if bound is not None and isinstance(value, int | float):
            problem = bound.problem(value)
            if problem is not None:
                key = {"queue_limit": "queue", "ecn_mark": "ecn"}.get(field, field)
                return f"{key}={problem}"
    return None
