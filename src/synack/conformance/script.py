"""The packetdrill script language: a parser into plain records.

A script is a header of ``--option=value`` lines, then one event per line:
a time and an action. Times are absolute (``0.1``), relative to the previous
event (``+0.1``), any (``*``), or a range (``0.1...0.3``, the end being when a
blocking call returns). Actions are packets (``<`` inbound, ``>`` outbound),
system calls (``connect(3, ..., ...) = -1 EINPROGRESS (...)``), backquoted
shell lines and ``%{ ... }%`` code blocks. ``//`` and ``/* */`` comment, and
``#ifdef NAME`` ... ``#else`` ... ``#endif`` keep or drop lines.

The grammar followed is google/packetdrill's (``parser.y``); see the
project's README for what the runtime does with each record.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path


class ScriptError(Exception):
    """A syntax error, with where it is: ``file:line:column: message``."""

    def __init__(self, path: str, line: int, column: int, message: str) -> None:
        super().__init__(f"{path}:{line}:{column}: {message}")
        self.path = path
        self.line = line
        self.column = column
        self.message = message


@dataclass(frozen=True, slots=True)
class TimeSpec:
    """When an event happens: ``kind`` is "absolute", "relative" or "any".

    ``end`` (with ``end_relative``) is the second half of a range: the time a
    blocking call returns, or the latest an outbound packet may appear.
    """

    kind: str  # also "untimed": a backquoted command without a time, run in order
    value: float = 0.0
    end: float | None = None
    end_relative: bool = False  # written with "+": after the start (absolute start)
    range: str = "..."  # "..." (a blocking call's return) or "~" (a window for a packet)

    def end_time(self, base: float, start: float) -> float:
        """When the range ends: relative to the same point as a relative start
        (packetdrill's rule), after the start with ``+``, or absolute."""
        assert self.end is not None
        if self.kind == "relative":
            return base + self.end
        return start + self.end if self.end_relative else self.end


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """One TCP option as written: ``name`` and its integer arguments.

    Names: mss, nop, eol, wscale, sackOK, sack (``blocks`` of (start, end)),
    TS (``values`` = (val, ecr)), FO and FOEXP (Fast Open: ``values`` are the
    cookie's bytes, none for a request), and "..." for "any options".
    """

    name: str
    values: tuple[int, ...] = ()
    blocks: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class PacketSpec:
    """A ``<`` or ``>`` line. ``start``/``end`` are relative to the sender's ISN
    (None with ``...``: any); ``None`` fields were not written and are not checked."""

    direction: str  # "<" inbound (injected), ">" outbound (expected)
    flags: str  # packetdrill letters, "." for ACK
    start: int | None
    end: int | None
    length: int
    ack: int | None = None
    window: int | None = None
    urgent: int | None = None
    options: tuple[OptionSpec, ...] | None = None  # None: not written
    ecn: str | None = None  # "[noecn]", "[ect0]"...: the IP ECN field
    # the IP header fields written in [...] or (...): the whole TOS / traffic
    # class byte (``[tos 0x10]``), the IPv6 flow label, the TTL / hop limit
    tos: int | None = None
    flow_label: int | None = None
    ttl: int | None = None


@dataclass(frozen=True, slots=True)
class IcmpSpec:
    """A ``< icmp TYPE [CODE] [mtu N] [start:end(length)]`` line: an ICMP error
    about one of our segments (its sequence numbers relative to our ISN; 0
    and no length when not written)."""

    kind: str  # "unreachable", "packet_too_big", "time_exceeded"
    code: str | None = None  # "frag_needed", "host_unreachable"...
    mtu: int | None = None
    start: int = 0
    length: int = 0


@dataclass(frozen=True, slots=True)
class Expr:
    """A system call argument or result as written, kept as text with a value
    where it has one: a number, a name (``SOCK_STREAM``), ``...``, ``[N]`` (a
    list), or names or'ed together (``O_RDWR | O_NONBLOCK``)."""

    text: str
    kind: str  # "int", "name", "ellipsis", "list", "or", "string", "struct"
    value: int | None = None
    items: tuple[Expr, ...] = ()


@dataclass(frozen=True, slots=True)
class SyscallSpec:
    name: str
    args: tuple[Expr, ...]
    result: Expr
    errno: str | None = None
    note: str | None = None  # the "(Operation now in progress)" text


@dataclass(frozen=True, slots=True)
class ShellSpec:
    command: str


@dataclass(frozen=True, slots=True)
class CodeSpec:
    code: str


Action = PacketSpec | IcmpSpec | SyscallSpec | ShellSpec | CodeSpec


@dataclass(frozen=True, slots=True)
class Event:
    time: TimeSpec
    action: Action
    line: int
    text: str  # the line as written, for messages


@dataclass(slots=True)
class Script:
    path: str
    options: dict[str, str] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)


# ----------------------------------------------------------------------
# Lines: comments, #ifdef, and multi-line %{ }% blocks
# ----------------------------------------------------------------------
def _strip_comments(text: str, path: str) -> tuple[str, frozenset[int]]:
    """Blank out comments, keeping line and column numbers intact.

    Also returns the numbers of the lines that continue a ``%{ }%`` block or a
    backquoted command begun on an earlier line: they belong to that event, and
    are neither directives nor events of their own.
    """
    out = []
    continued: set[int] = set()
    i, n = 0, len(text)
    code_at = -1  # index of the open %{, or -1 outside a code block
    while i < n:
        c = text[i]
        if code_at < 0 and text.startswith("%{", i):
            code_at = i
        elif code_at >= 0 and text.startswith("}%", i):
            code_at = -1
        if code_at >= 0:
            if c == "\n":
                continued.add(text.count("\n", 0, i) + 2)
            out.append(c)
            i += 1
            continue
        if c == "`":
            j = text.find("`", i + 1)
            if j < 0:
                line = text.count("\n", 0, i) + 1
                raise ScriptError(path, line, _column(text, i), "unterminated backquote")
            first = text.count("\n", 0, i) + 1
            continued.update(range(first + 1, first + 1 + text.count("\n", i, j)))
            out.append(text[i : j + 1])
            i = j + 1
            continue
        if c == '"':
            # A string argument: its "//" or "/*" is text, not a comment.
            end = text.find("\n", i)
            j = text.find('"', i + 1, n if end < 0 else end)
            if j >= 0:
                out.append(text[i : j + 1])
                i = j + 1
                continue
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                line = text.count("\n", 0, i) + 1
                raise ScriptError(path, line, _column(text, i), "unterminated /* comment")
            out.append(re.sub(r"[^\n]", " ", text[i : j + 2]))
            i = j + 2
            continue
        out.append(c)
        i += 1
    if code_at >= 0:
        line = text.count("\n", 0, code_at) + 1
        raise ScriptError(path, line, _column(text, code_at), "%{ without }%")
    return "".join(out), frozenset(continued)


def _column(text: str, index: int) -> int:
    return index - (text.rfind("\n", 0, index) + 1) + 1


def _conditional_lines(
    lines: list[str], defined: frozenset[str], path: str, continued: frozenset[int] = frozenset()
) -> Iterable[tuple[int, str]]:
    """(line number, text) of the lines that ``#ifdef``/``#ifndef``/``#else``/``#endif`` keep.

    Lines in ``continued`` (inside a ``%{ }%`` block or a backquoted command)
    are never directives: a Python or shell ``#`` comment there is just text.
    """
    stack: list[tuple[bool, int]] = []  # (keeping, line of the #if)
    for number, raw in enumerate(lines, 1):
        stripped = raw.strip()
        if stripped.startswith("#") and number not in continued:
            word, *rest = stripped.split(None, 1)
            name = rest[0].strip() if rest else ""
            outer = all(keep for keep, _ in stack)
            if word in ("#ifdef", "#ifndef"):
                if not name:
                    raise ScriptError(path, number, 1, f"{word} needs a name")
                keep = (name in defined) == (word == "#ifdef")
                stack.append((keep and outer, number))
            elif word == "#else":
                if not stack:
                    raise ScriptError(path, number, 1, "#else without #ifdef")
                keep, start = stack.pop()
                outer = all(k for k, _ in stack)
                stack.append((outer and not keep, start))
            elif word == "#endif":
                if not stack:
                    raise ScriptError(path, number, 1, "#endif without #ifdef")
                stack.pop()
            else:
                raise ScriptError(path, number, 1, f"unknown directive {word}")
            continue
        if all(keep for keep, _ in stack):
            yield number, raw
    if stack:
        raise ScriptError(path, stack[-1][1], 1, "#ifdef without #endif")


# ----------------------------------------------------------------------
# The parser
# ----------------------------------------------------------------------
_TIME = re.compile(
    r"\s*(?:(?P<any>\*)|(?P<plus>\+)?\s*(?P<value>\d*\.\d+|\d+))"
    r"(?:\s*(?P<range>\.\.\.|~)\s*(?P<endplus>\+)?\s*(?P<end>\d*\.\d+|\d+))?"
)
_FLAGS = re.compile(r"[SFRP.EWUC]+|-")
_ECN = re.compile(r"\[(noecn|ect0|ect1|ect01|ce)\]")
_NUMBER = re.compile(r"-?(?:0x[0-9a-fA-F]+|\d+)")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HEX_COOKIE = re.compile(r"((?:[0-9a-fA-F]{2})+)(?=\s*[,>])")
_TCP_FLAG_LETTERS = "SFRP.EWUC"


def _int(text: str) -> int:
    """The value of a _NUMBER: hex with ``0x``, otherwise decimal even with
    leading zeros (packetdrill's INTEGER is atoll(), so ``010`` is ten)."""
    return int(text, 16) if "x" in text else int(text, 10)


class _Cursor:
    """A position in one event's text, with error reporting in script terms."""

    def __init__(self, text: str, path: str, line: int, offset: int) -> None:
        self.text = text
        self.pos = 0
        self.path = path
        self.line = line
        self.offset = offset  # column of text[0], 0-based

    def error(self, message: str, at: int | None = None) -> ScriptError:
        where = self.pos if at is None else at
        return ScriptError(self.path, self.line, self.offset + where + 1, message)

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n":
            self.pos += 1

    def done(self) -> bool:
        self.skip()
        return self.pos >= len(self.text)

    def peek(self, literal: str) -> bool:
        self.skip()
        return self.text.startswith(literal, self.pos)

    def take(self, literal: str) -> bool:
        if self.peek(literal):
            self.pos += len(literal)
            return True
        return False

    def expect(self, literal: str, what: str | None = None) -> None:
        if not self.take(literal):
            found = self.text[self.pos : self.pos + 12] or "end of line"
            raise self.error(f"expected {what or repr(literal)}, found {found!r}")

    def match(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        self.skip()
        m = pattern.match(self.text, self.pos)
        if m is not None:
            self.pos = m.end()
        return m

    def number(self, what: str) -> int:
        m = self.match(_NUMBER)
        if m is None:
            raise self.error(f"expected {what}")
        return _int(m.group())

    def at_digit(self) -> bool:
        self.skip()
        return self.pos < len(self.text) and self.text[self.pos].isdigit()

    def word(self) -> str | None:
        m = self.match(_NAME)
        return m.group() if m is not None else None


def parse_file(
    path: str | Path, defined: Iterable[str] = (), definitions: Mapping[str, str] | None = None
) -> Script:
    path = Path(path)
    try:
        text = path.read_text()
    except UnicodeDecodeError as exc:
        raise ScriptError(str(path), 1, 1, f"not a text file: {exc.reason}") from None
    return parse_script(text, str(path), defined, definitions)


def parse_script(
    text: str,
    path: str = "<script>",
    defined: Iterable[str] = (),
    definitions: Mapping[str, str] | None = None,
) -> Script:
    """Parse a whole script; ``defined`` names the ``#ifdef`` symbols that are set,
    and ``definitions`` (packetdrill's ``-D NAME=VALUE``) are replaced, word for
    word, by their values (and are defined too)."""
    script = Script(path)
    clean, continued = _strip_comments(text, path)
    values = definitions or {}
    names = frozenset(defined) | frozenset(values)
    lines = list(_conditional_lines(clean.split("\n"), names, path, continued))
    if values:  # in the lines kept, not in the #ifdef lines themselves
        words = re.compile(r"\b(" + "|".join(map(re.escape, values)) + r")\b")
        lines = [(n, words.sub(lambda m: values[m.group(1)], line)) for n, line in lines]
    i = 0
    in_header = True
    while i < len(lines):
        number, line = lines[i]
        i += 1
        # A %{ }% block or a backquoted command may span lines: join them; and
        # so may a system call's arguments, until its brackets close.
        parts, depth = [line], _open_brackets(line)  # (counted line by line: linear)
        while i < len(lines) and (lines[i][0] in continued or depth > 0):
            parts.append(lines[i][1])
            if lines[i][0] not in continued:
                depth += _open_brackets(lines[i][1])
            i += 1
        line = "\n".join(parts)
        stripped = line.strip()
        if not stripped:
            continue
        if in_header and stripped.startswith("--"):
            name, eq, value = stripped[2:].partition("=")
            if not name or (eq and not value.strip()):
                raise ScriptError(path, number, 1, f"expected --option[=value], found {stripped!r}")
            script.options[name.strip()] = value.strip() if eq else "true"
            continue
        in_header = False
        script.events.append(_parse_event(line, path, number))
    return script


def _open_brackets(line: str) -> int:
    """How many (, [ and { a line leaves open (outside strings, code and commands)."""
    if "`" in line or "%{" in line:
        return 0
    depth = 0
    in_string = False
    for c in line:
        if c == '"':
            in_string = not in_string
        elif not in_string:
            if c in "([{":
                depth += 1
            elif c in ")]}":
                depth -= 1
    return depth


def _parse_event(line: str, path: str, number: int) -> Event:
    cur = _Cursor(line, path, number, 0)
    cur.skip()
    # A backquoted command without a time (packetdrill's init and cleanup
    # commands) runs in its place, with no time of its own.
    time = TimeSpec("untimed") if cur.peek("`") else _parse_time(cur)
    cur.skip()
    action: Action
    if cur.peek("<") and re.match(r"<\s*icmp\b", line[cur.pos :]):
        action = _parse_icmp(cur)
    elif cur.peek("<") or cur.peek(">"):
        action = _parse_packet(cur)
    elif cur.peek("`"):
        start = cur.pos
        end = line.find("`", start + 1)
        if end < 0:
            raise cur.error("unterminated backquote")
        action = ShellSpec(line[start + 1 : end].strip())
        cur.pos = end + 1
    elif cur.peek("%{"):
        start = cur.pos + 2
        end = line.find("}%", start)
        if end < 0:
            raise cur.error("%{ without }%")
        action = CodeSpec(line[start:end].strip())
        cur.pos = end + 2
    else:
        action = _parse_syscall(cur)
    if not cur.done():
        raise cur.error(f"unexpected {line[cur.pos : cur.pos + 12]!r} after the event")
    return Event(time, action, number, line.strip())


def _parse_time(cur: _Cursor) -> TimeSpec:
    m = cur.match(_TIME)
    if m is None:
        raise cur.error("expected a time (0.1, +0.1, * or 0.1...0.2)")
    if m.group("any"):
        return TimeSpec("any")
    kind = "relative" if m.group("plus") else "absolute"
    end = float(m.group("end")) if m.group("end") is not None else None
    return TimeSpec(
        kind, float(m.group("value")), end, bool(m.group("endplus")), m.group("range") or "..."
    )


def _parse_packet(cur: _Cursor) -> PacketSpec:
    direction = cur.text[cur.pos]
    cur.pos += 1
    ecn, ip_fields = _parse_ip_info(cur)
    m = cur.match(_FLAGS)
    if m is None:
        raise cur.error(f"expected TCP flags (letters of {_TCP_FLAG_LETTERS})")
    flags = m.group()
    start: int | None
    end: int | None
    if cur.take("..."):
        start = end = None
    else:
        cur.skip()
        range_at = cur.pos
        start = cur.number("the sequence number (start:end(length))")
        cur.expect(":", "':' in start:end(length)")
        end = cur.number("the end sequence number")
    cur.expect("(", "'(' before the length")
    length = cur.number("the payload length")
    cur.expect(")")
    if start is not None and end is not None and (end - start) % (1 << 32) != length % (1 << 32):
        raise cur.error(f"{start}:{end} is {end - start} bytes, not {length}", range_at)
    packet: dict[str, int] = {}
    options: tuple[OptionSpec, ...] | None = None
    while not cur.done():
        if cur.peek("<"):
            options = _parse_options(cur)
            continue
        at = cur.pos
        word = cur.word()
        if word in ("ack", "win", "urg"):
            packet[word] = cur.number(f"a value after {word!r}")
        else:
            raise cur.error(f"unexpected {cur.text[at : at + 12]!r} in a packet", at)
    return PacketSpec(
        direction, flags, start, end, length,
        packet.get("ack"), packet.get("win"), packet.get("urg"), options, ecn,
        ip_fields.get("tos"), ip_fields.get("flowlabel"), ip_fields.get("ttl"),
    )  # fmt: skip


def _parse_ip_info(cur: _Cursor) -> tuple[str | None, dict[str, int]]:
    """packetdrill's IP fields before the flags, in [...] or (...): an ECN
    codepoint (noecn, ect0, ect1, ect01, ce) or ``tos 0xNN``, and/or
    ``flowlabel 0xNNNNN``, or ``ttl N``."""
    cur.skip()
    if not (cur.peek("[") or cur.peek("(")):
        return None, {}
    at = cur.pos
    close = "]" if cur.text[cur.pos] == "[" else ")"
    cur.pos += 1
    ecn: str | None = None
    fields: dict[str, int] = {}
    while True:
        cur.skip()
        word_at = cur.pos
        word = cur.word()
        if word in ("noecn", "ect0", "ect1", "ect01", "ce") and ecn is None and not fields:
            ecn = word
        elif word in ("tos", "flowlabel", "ttl") and word not in fields:
            fields[word] = cur.number(f"the {word} value")
        else:
            raise cur.error("expected an ECN codepoint, tos, flowlabel or ttl", word_at)
        if cur.take(close):
            break
        cur.expect(",", f"',' or '{close}' in the IP fields")
    limits = {"tos": 0xFF, "flowlabel": 0xFFFFF, "ttl": 0xFF}
    for name, value in fields.items():
        if not 0 <= value <= limits[name]:
            raise cur.error(f"{name} {value} is out of range", at)
    return ecn, fields


def _parse_icmp(cur: _Cursor) -> IcmpSpec:
    cur.expect("<")
    cur.skip()
    cur.expect("icmp")
    cur.skip()
    at = cur.pos
    kind = cur.word()
    if kind not in ("unreachable", "packet_too_big", "time_exceeded"):
        raise cur.error("expected an ICMP type: unreachable, packet_too_big, time_exceeded", at)
    code = mtu = None
    start = length = 0
    while not cur.done():
        cur.skip()
        if cur.take("["):
            start = cur.number("the quoted segment's start")
            cur.expect(":", "':' in start:end(length)")
            cur.number("the quoted segment's end")
            cur.expect("(")
            length = cur.number("the quoted segment's length")
            cur.expect(")")
            cur.expect("]")
            continue
        at = cur.pos
        word = cur.word()
        if word == "mtu":
            mtu = cur.number("the MTU")
        elif word is not None and code is None:
            code = word
        else:
            raise cur.error(f"unexpected {cur.text[at : at + 12]!r} in an icmp line", at)
    return IcmpSpec(kind, code, mtu, start, length)


def _parse_options(cur: _Cursor) -> tuple[OptionSpec, ...]:
    cur.expect("<")
    if cur.take("..."):
        cur.expect(">")
        return (OptionSpec("..."),)
    options: list[OptionSpec] = []
    while True:
        cur.skip()
        at = cur.pos
        name = cur.word()
        if name is None:
            raise cur.error("expected a TCP option name")
        if name in ("nop", "eol", "sackOK"):
            options.append(OptionSpec(name))
        elif name in ("mss", "wscale"):
            options.append(OptionSpec(name, (cur.number(f"the {name} value"),)))
        elif name == "TS":
            cur.expect("val")
            val = cur.number("the TS val")
            cur.expect("ecr")
            options.append(OptionSpec("TS", (val, cur.number("the TS ecr"))))
        elif name in ("FO", "FOEXP"):
            cur.skip()
            m = cur.match(_HEX_COOKIE)
            cookie = bytes.fromhex(m.group(1)) if m is not None else b""
            options.append(OptionSpec(name, tuple(cookie)))
        elif name == "sack":
            blocks = []
            while cur.at_digit():
                left = cur.number("a SACK block start")
                cur.expect(":", "':' in a SACK block start:end")
                blocks.append((left, cur.number("a SACK block end")))
            options.append(OptionSpec("sack", blocks=tuple(blocks)))
        else:
            raise cur.error(f"unknown TCP option {name!r}", at)
        if cur.take(">"):
            return tuple(options)
        cur.expect(",", "',' or '>' in the option list")


def _parse_syscall(cur: _Cursor) -> SyscallSpec:
    at = cur.pos
    name = cur.word()
    if name is None:
        raise cur.error("expected a packet, a system call, a `shell line` or %{ code }%", at)
    cur.expect("(", f"'(' after {name}")
    args: list[Expr] = []
    if not cur.take(")"):
        while True:
            args.append(_parse_expr(cur))
            if cur.take(")"):
                break
            cur.expect(",", "',' or ')' between arguments")
    cur.expect("=", f"'= result' after {name}(...)")
    result = _parse_expr(cur)
    errno = None
    note = None
    if not cur.done() and not cur.peek("("):
        errno = cur.word()
        if errno is None:
            raise cur.error("expected an errno name (like EINPROGRESS)")
    if cur.take("("):
        depth, start = 1, cur.pos
        while cur.pos < len(cur.text) and depth:
            depth += {"(": 1, ")": -1}.get(cur.text[cur.pos], 0)
            cur.pos += 1
        if depth:
            raise cur.error("unclosed '(' in the note after the result", start - 1)
        note = cur.text[start : cur.pos - 1]
    return SyscallSpec(name, tuple(args), result, errno, note)


def _parse_expr(cur: _Cursor) -> Expr:
    first = _parse_term(cur)
    if not cur.peek("|"):
        return first
    items = [first]
    while cur.take("|"):
        items.append(_parse_term(cur))
    value = 0
    for item in items:
        if item.value is None:
            return Expr(" | ".join(i.text for i in items), "or", None, tuple(items))
        value |= item.value
    return Expr(" | ".join(i.text for i in items), "or", value, tuple(items))


def _parse_term(cur: _Cursor) -> Expr:
    cur.skip()
    start = cur.pos
    if cur.take("..."):
        return Expr("...", "ellipsis")
    if cur.take("["):
        items = []
        if not cur.take("]"):
            while True:
                items.append(_parse_expr(cur))
                if cur.take("]"):
                    break
                cur.expect(",", "',' or ']' in a list")
        return Expr(cur.text[start : cur.pos], "list", None, tuple(items))
    if cur.take("{"):
        depth = 1
        while cur.pos < len(cur.text) and depth:
            depth += {"{": 1, "}": -1}.get(cur.text[cur.pos], 0)
            cur.pos += 1
        if depth:
            raise cur.error("unclosed '{'", start)
        return Expr(cur.text[start : cur.pos], "struct")
    if cur.take('"'):
        end = cur.text.find('"', cur.pos)
        if end < 0:
            raise cur.error("unterminated string", start)
        cur.pos = end + 1
        return Expr(cur.text[start : cur.pos], "string")
    m = cur.match(_NUMBER)
    if m is not None:
        return Expr(m.group(), "int", _int(m.group()))
    name = cur.word()
    if name is not None:
        return Expr(name, "name")
    raise cur.error("expected an argument (a number, a name, [list] or ...)")
