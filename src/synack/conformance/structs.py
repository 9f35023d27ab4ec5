"""The struct and array arguments of packetdrill's system calls, parsed.

The script parser keeps a ``{...}`` argument as text (an ``Expr`` of kind
"struct"). This module reads that text, and the text of ``[...]`` arrays
holding structs, into a small tree, as packetdrill's grammar writes them:

- a struct: ``{name=value, name(count)=value, value, ...}``; a member may
  be named (``fd=4``), named with a count (``msg_iov(1)=[...]``,
  ``msg_name(...)=...``) or positional (the ``..., 1000`` of an iovec);
- an array: ``[value, value, ...]``;
- a scalar: a number (decimal or hex, maybe negative), a name
  (``POLLOUT``, ``NULL``), ``...``, a quoted string, or scalars or'ed
  together with ``|``.

Scalars are ``Expr`` records as the script parser makes them, so the
runtime evaluates them as any other argument.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from synack.conformance.script import Expr


class StructError(ValueError):
    """Text that is not a struct, array or scalar as packetdrill writes them."""


@dataclass(frozen=True, slots=True)
class Member:
    """One member of a struct: ``name`` is None for a positional one; ``count``
    is the ``(N)`` after a name (None when not written, -1 for ``(...)``)."""

    name: str | None
    value: Value
    count: int | None = None


@dataclass(frozen=True, slots=True)
class Struct:
    members: tuple[Member, ...]

    def get(self, name: str) -> Value | None:
        """The value of the member called ``name``, or None if it is not written."""
        for member in self.members:
            if member.name == name:
                return member.value
        return None

    def member(self, name: str) -> Member | None:
        for member in self.members:
            if member.name == name:
                return member
        return None

    @property
    def positional(self) -> tuple[Value, ...]:
        return tuple(m.value for m in self.members if m.name is None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.members if m.name is not None)


@dataclass(frozen=True, slots=True)
class Array:
    items: tuple[Value, ...]


Value = Struct | Array | Expr

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<ellipsis>\.\.\.)
      | (?P<number>-?(?:0[xX][0-9a-fA-F]+|\d+))
      | (?P<name>[A-Za-z_][A-Za-z_0-9]*)
      | (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<punct>[{}\[\](),=|])
    )""",
    re.VERBOSE,
)


class _Tokens:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            match = _TOKEN.match(text, pos)
            if match is None or match.end() == pos:
                raise StructError(f"unexpected {text[pos:].strip()[:20]!r} in {text!r}")
            kind = match.lastgroup
            assert kind is not None
            self.tokens.append((kind, match.group(kind), match.start(kind)))
            pos = match.end()
        self.index = 0

    def peek(self) -> tuple[str, str]:
        if self.index >= len(self.tokens):
            return "end", ""
        kind, text, _ = self.tokens[self.index]
        return kind, text

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token[0] == "end":
            raise StructError(f"{self.text!r} ends too soon")
        self.index += 1
        return token

    def expect(self, punct: str) -> None:
        kind, text = self.take()
        if (kind, text) != ("punct", punct):
            raise StructError(f"expected {punct!r}, found {text!r} in {self.text!r}")

    def at(self, punct: str) -> bool:
        return self.peek() == ("punct", punct)


def parse_value(text: str) -> Value:
    """A struct, an array or a scalar, from its text as written in a script."""
    tokens = _Tokens(text)
    value = _value(tokens)
    if tokens.peek()[0] != "end":
        raise StructError(f"unexpected {tokens.peek()[1]!r} after the value in {text!r}")
    return value


def parse_expr(expr: Expr) -> Value:
    """An argument as the script parser left it: structs and lists are parsed
    from their text; other kinds are returned as they are."""
    if expr.kind in ("struct", "list"):
        return parse_value(expr.text)
    return expr


def _value(tokens: _Tokens) -> Value:
    if tokens.at("{"):
        return _struct(tokens)
    if tokens.at("["):
        tokens.take()
        items: list[Value] = []
        while not tokens.at("]"):
            items.append(_value(tokens))
            if not tokens.at("]"):
                tokens.expect(",")
        tokens.take()
        return Array(tuple(items))
    return _scalar(tokens)


def _struct(tokens: _Tokens) -> Struct:
    tokens.expect("{")
    members: list[Member] = []
    while not tokens.at("}"):
        members.append(_member(tokens))
        if not tokens.at("}"):
            tokens.expect(",")
    tokens.take()
    return Struct(tuple(members))


def _member(tokens: _Tokens) -> Member:
    kind, text = tokens.peek()
    if kind == "name":
        # a name followed by "=" or "(count)=" names a member; else it is a value
        following = tokens.tokens[tokens.index + 1 : tokens.index + 2]
        if following and following[0][1] in ("=", "("):
            tokens.take()
            count: int | None = None
            if tokens.at("("):
                tokens.take()
                ckind, ctext = tokens.take()
                if ckind == "number":
                    count = int(ctext, 0)
                elif ckind == "ellipsis":
                    count = -1
                else:
                    raise StructError(f"bad count {ctext!r} for {text} in {tokens.text!r}")
                tokens.expect(")")
            tokens.expect("=")
            return Member(text, _value(tokens), count)
    return Member(None, _value(tokens))


def _scalar(tokens: _Tokens) -> Expr:
    parts = [_atom(tokens)]
    while tokens.at("|"):
        tokens.take()
        parts.append(_atom(tokens))
    if len(parts) == 1:
        return parts[0]
    return Expr("|".join(p.text for p in parts), "or", None, tuple(parts))


def _atom(tokens: _Tokens) -> Expr:
    kind, text = tokens.take()
    if kind == "number":
        return Expr(text, "int", int(text, 0))
    if kind == "name":
        return Expr(text, "name")
    if kind == "ellipsis":
        return Expr(text, "ellipsis")
    if kind == "string":
        return Expr(text, "string")
    raise StructError(f"unexpected {text!r} in {tokens.text!r}")
