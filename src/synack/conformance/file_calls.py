"""Files for sendfile(2) in Linux's scripts: a virtual file system of the
runner's, nothing on the host's disk.

A script makes its file in its shell command (``dd if=/dev/zero of=PATH
bs=N count=M``: ``N x M`` zero bytes, the payload packetdrill expects;
``rm -f PATH`` removes it; shell.py reads both), then:

- ``open(PATH, O_RDONLY)``: an fd for it (ENOENT if no such file; other
  flags are an ERROR naming them);
- ``sendfile(sock, fd, [OFFSET], COUNT)``: writes up to COUNT of its bytes
  from OFFSET to the socket, as a write of that many bytes would (``NULL``:
  from the fd's own offset, which moves on); EBADF on an fd that is not an
  open file;
- ``close(fd)``.

:class:`FileCalls` is a part of the Runner (runtime.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from synack.conformance.errors import InterpreterError

if TYPE_CHECKING:
    from synack.conformance.runtime import Epoll, Socket
    from synack.conformance.script import Event, Expr, SyscallSpec
    from synack.conformance.shell import Effect


@dataclass
class OpenFile:
    path: str
    size: int
    offset: int = 0


class FileCalls:
    """open, sendfile and close on the runner's files."""

    files: dict[str, int]  # path -> size in bytes (all zeros)
    open_files: dict[int, OpenFile]
    sockets: dict[int, Socket]
    epolls: dict[int, Epoll]
    symbols: dict[str, int]

    if TYPE_CHECKING:  # the Runner's

        def _value(self, expr: Expr, event: Event) -> int: ...
        def _send(
            self,
            event: Event,
            call: SyscallSpec,
            size: int,
            flags: int,
            buffer: Expr | None,
            retry: bool,
        ) -> Any: ...

    def file_effect(self, effect: Effect) -> None:
        """A shell command made (``file``) or removed (``file-removed``) a file."""
        if effect.kind == "file":
            self.files[effect.name] = int(effect.value)
        else:
            self.files.pop(effect.name, None)

    def _sys_open(self, event: Event, call: SyscallSpec, retry: bool = False) -> Any:
        _arguments(event, call, 2)
        path_expr, flags_expr = call.args[0], call.args[1]
        if path_expr.kind != "string":
            raise InterpreterError(event.line, "open() takes a path in quotes")
        if self._value(flags_expr, event) != self.symbols.get("O_RDONLY", 0):
            raise InterpreterError(event.line, f"open() with {flags_expr.text} is not emulated")
        path = path_expr.text.strip('"')
        size = self.files.get(path)
        if size is None:
            return -1, "ENOENT"
        wanted = call.result.value if call.result.kind == "int" else None
        fd = wanted if wanted is not None and wanted >= 0 and not self._fd_used(wanted) else 3
        while self._fd_used(fd):
            fd += 1
        self.open_files[fd] = OpenFile(path, size)
        return fd, None

    def _fd_used(self, fd: int) -> bool:
        return fd in self.sockets or fd in self.epolls or fd in self.open_files

    def _sys_sendfile(self, event: Event, call: SyscallSpec, retry: bool = False) -> Any:
        _arguments(event, call, 4)
        file = self.open_files.get(self._value(call.args[1], event))
        if file is None:
            return -1, "EBADF"
        offset_expr = call.args[2]
        start = file.offset if offset_expr.text == "NULL" else self._value(offset_expr, event)
        if start < 0:
            return -1, "EINVAL"
        count = max(0, min(self._value(call.args[3], event), file.size - start))
        outcome = self._send(event, call, count, 0, None, retry)
        if outcome is not None and outcome[0] > 0 and offset_expr.text == "NULL":
            file.offset += outcome[0]
        return outcome

    def close_file(self, fd: int) -> bool:
        """close() of an open file: whether ``fd`` was one."""
        return self.open_files.pop(fd, None) is not None


def _arguments(event: Event, call: SyscallSpec, count: int) -> None:
    if len(call.args) != count:
        raise InterpreterError(event.line, f"{call.name}() takes {count} arguments")
