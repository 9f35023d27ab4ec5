"""The state machine's error, apart from ``state.py`` so that the compiled
build can compile the table and leave this class interpreted: mypyc 2.4.1
cannot compile a subclass of ``RuntimeError`` (docs/compiled.md).
``synack.tcp.state`` re-exports it."""

from __future__ import annotations


class IllegalTransition(RuntimeError):
    """The engine tried to take an edge that the state diagram does not have."""
