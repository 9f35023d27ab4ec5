"""Whether the engine runs compiled: the opt-in mypyc build (docs/compiled.md)
installs extension modules that Python imports in place of the .py files."""

from __future__ import annotations

from importlib.machinery import EXTENSION_SUFFIXES
from types import ModuleType


def is_compiled(module: ModuleType) -> bool:
    """``module`` was loaded from an extension module, not from Python source."""
    return (getattr(module, "__file__", None) or "").endswith(tuple(EXTENSION_SUFFIXES))


def engine_compiled() -> bool:
    """The engine's connection (synack.tcp.connection, which every segment
    passes through) was loaded compiled."""
    from synack.tcp import connection

    return is_compiled(connection)
