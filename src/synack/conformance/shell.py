"""The shell commands of packetdrill scripts, read and emulated: nothing runs on the host.

Linux's scripts begin with an untimed `` `../common/defaults.sh` `` (and may
add ``sysctl -q`` lines, ``set_sysctls.py`` calls, ``ip route change`` or
``ethtool`` in the same backquotes) and may end with a cleanup command. This
module turns such a command into :class:`Effect` records: sysctl values,
route metrics, offload settings, the TFO cookie cache flushed. A command
that names a script file (``defaults.sh``) is read from beside the script and
its lines emulated in turn. Anything else is an error that names it: a
script whose setup cannot be emulated must not run as if it had been.
"""

from __future__ import annotations

import ast
import re
import shlex
from dataclasses import dataclass
from pathlib import Path


class ShellError(Exception):
    """A command this emulation does not know, named."""


@dataclass(frozen=True, slots=True)
class Effect:
    """One thing a command does: ``kind`` is "sysctl" (``name`` = ``value``),
    "route" (``name`` is advmss, mtu or initcwnd), "offload" (``name`` tso or
    gso, ``value`` "on"/"off"), "module" (a module parameter), "flush-metrics"
    (the TFO cookie cache), "file" (the runner's file ``name`` now holds
    ``value`` zero bytes), "file-removed", or "none" (nothing for this
    emulation to do: ``name`` says why)."""

    kind: str
    name: str = ""
    value: str = ""


# Commands that change nothing this emulation has: why each is safe to skip.
_NOTHING_TO_DO = {
    "tc": "queueing disciplines: the virtual link has none",
    "nstat": "the kernel's counters: not kept",
}
_MAX_INCLUDE_DEPTH = 4
_ARITHMETIC = re.compile(r"\$\(\(([0-9+\-*/ ()]+)\)\)")


def emulate(command: str, script_dir: Path, depth: int = 0) -> list[Effect]:
    """The effects of a backquoted ``command`` of a script in ``script_dir``."""
    effects: list[Effect] = []
    for line in _logical_lines(command):
        effects.extend(_line(line, script_dir, depth))
    return effects


def _logical_lines(text: str) -> list[str]:
    """Lines with their ``\\`` continuations joined, comments and blank ones left out."""
    joined = re.sub(r"\\[ \t]*\n", " ", text)
    lines = []
    for raw in joined.split("\n"):
        line = raw.strip().removesuffix("\\").strip()  # a "\" that continues nothing
        if line.startswith("#!") or line.startswith("#"):
            continue
        if line:
            lines.append(line)
    return lines


def _line(line: str, script_dir: Path, depth: int) -> list[Effect]:
    # "a || b": the first command is the one meant (its fallback is for old kernels)
    first = line.split("||", 1)[0].strip()
    words = _words(first)
    if not words:
        return []
    program = words[0]
    name = program.rsplit("/", 1)[-1]
    if name == "sysctl":
        return [_sysctl(word) for word in words[1:] if not word.startswith("-")]
    if name == "set_sysctls.py":
        return [_proc_file(word) for word in words[1:]]
    if name == "echo" and len(words) == 4 and words[2] == ">":
        return [_proc_file(f"{words[3]}={words[1]}")]
    if name == "ip":
        return _ip(words, line)
    if name == "ethtool":
        return _ethtool(words, line)
    if name in ("dd", "rm"):
        return _file(name, words, line)
    if program.startswith("/tmp/sysctl_restore_"):
        return [
            Effect("none", "restores what set_sysctls.py changed: the next script starts afresh")
        ]
    if program in _NOTHING_TO_DO or name in _NOTHING_TO_DO:
        return [Effect("none", _NOTHING_TO_DO.get(program) or _NOTHING_TO_DO[name])]
    if name.endswith(".sh"):
        return _include(program, script_dir, depth)
    raise ShellError(f"shell command {line!r} is not emulated")


def _words(line: str) -> list[str]:
    """The command's words, quotes removed, $((arithmetic)) done, redirections dropped."""
    line = _ARITHMETIC.sub(lambda m: str(_arith(m.group(1))), line)
    try:
        words = shlex.split(line, comments=True)
    except ValueError as exc:
        raise ShellError(f"cannot read the shell command {line!r}: {exc}") from None
    kept: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
            continue
        if word in (">", "2>", "&>", ">>") and len(kept) > 1 and kept[0] != "echo":
            skip = True
            continue
        if re.fullmatch(r"\d?>&\d|&>/dev/null|>/dev/null|2>/dev/null", word):
            continue
        kept.append(word)
    return kept


def _arith(expression: str) -> int:
    """``$((...))``: integers, + - * / and brackets, as the shell computes them."""
    try:
        return _arith_node(ast.parse(expression.strip(), mode="eval").body)
    except (SyntaxError, ShellError, ZeroDivisionError, ValueError, RecursionError):
        raise ShellError(f"cannot evaluate $(({expression}))") from None


def _arith_node(node: ast.expr) -> int:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_arith_node(node.operand)
    if isinstance(node, ast.BinOp):
        left, right = _arith_node(node.left), _arith_node(node.right)
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
        if isinstance(node.op, ast.Div):
            return int(left / right)  # the shell truncates towards zero
    raise ShellError("not integer arithmetic")


def _sysctl(assignment: str) -> Effect:
    name, eq, value = assignment.partition("=")
    if not eq:
        raise ShellError(f"sysctl {assignment!r}: expected name=value")
    return Effect("sysctl", name, value.strip())


def _proc_file(assignment: str) -> Effect:
    """``/proc/sys/net/ipv4/tcp_x=value`` (set_sysctls.py, echo > ...) as a sysctl;
    ``/sys/module/M/parameters/P`` as a module parameter."""
    path, eq, value = assignment.partition("=")
    if not eq:
        raise ShellError(f"{assignment!r}: expected /proc/sys/...=value")
    if path.startswith("/proc/sys/"):
        return Effect("sysctl", path[len("/proc/sys/") :].replace("/", "."), value.strip())
    if path.startswith("/sys/module/"):
        module, _, parameter = path[len("/sys/module/") :].partition("/parameters/")
        return Effect("module", f"{module}.{parameter}", value.strip())
    raise ShellError(f"writing {path} is not emulated")


def _ip(words: list[str], line: str) -> list[Effect]:
    if words[1:4] == ["tcp_metrics", "flush", "all"]:
        return [Effect("flush-metrics")]
    rest = words[1:]
    if rest and rest[0] in ("-6", "-4"):
        rest = rest[1:]
    if rest[:2] == ["route", "change"]:
        effects = []
        for metric in ("advmss", "mtu", "initcwnd"):
            if metric in rest:
                at = rest.index(metric) + 1
                if metric == "mtu" and rest[at] == "lock":
                    at += 1
                effects.append(Effect("route", metric, rest[at]))
        return effects
    raise ShellError(f"shell command {line!r} is not emulated")


def _ethtool(words: list[str], line: str) -> list[Effect]:
    if len(words) >= 4 and words[1] == "-K" and len(words[3:]) % 2 == 0:
        pairs = words[3:]
        return [Effect("offload", pairs[i], pairs[i + 1]) for i in range(0, len(pairs), 2)]
    raise ShellError(f"shell command {line!r} is not emulated")


def _file(name: str, words: list[str], line: str) -> list[Effect]:
    """The runner's files (file_calls.py), never the host's: ``dd
    if=/dev/zero of=PATH bs=N count=M`` makes one of N x M zero bytes,
    ``rm -f PATH...`` removes them."""
    if name == "rm":
        paths = [word for word in words[1:] if word != "-f"]
        if not paths or any(path.startswith("-") for path in paths):
            raise ShellError(f"shell command {line!r} is not emulated")
        return [Effect("file-removed", path) for path in paths]
    args = dict(word.partition("=")[::2] for word in words[1:])
    if args.get("if") != "/dev/zero" or "of" not in args or set(args) - {
        "if", "of", "bs", "count", "status",
    }:  # fmt: skip
        raise ShellError(f"shell command {line!r} is not emulated (only dd if=/dev/zero of=...)")
    try:
        size = int(args.get("bs", "512")) * int(args.get("count", "0"))
    except ValueError:
        raise ShellError(f"shell command {line!r}: bs and count are numbers") from None
    return [Effect("file", args["of"], str(size))]


def _include(program: str, script_dir: Path, depth: int) -> list[Effect]:
    """A shell file beside the script (``../common/defaults.sh``): its lines.
    A file holding only a relative path stands for a symbolic link to it."""
    if depth >= _MAX_INCLUDE_DEPTH:
        raise ShellError(f"{program}: included too deep")
    path = (script_dir / program).resolve()
    try:
        text = path.read_text()
    except OSError as exc:
        raise ShellError(f"{program}: {exc.strerror}") from None
    target = text.strip()
    if "\n" not in target and target.endswith(".sh") and not target.startswith("#"):
        return _include(target, path.parent, depth + 1)
    return emulate(text, path.parent, depth + 1)
