"""How a script run ends early: a FAIL (the stack did something else) or an
ERROR (the script asks for something this interpreter cannot run)."""

from __future__ import annotations


class ScriptFailure(Exception):
    """The stack did not do what the script says: a FAIL, at ``line``."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class InterpreterError(Exception):
    """Something in the script this interpreter cannot run: an ERROR, not a FAIL."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message
