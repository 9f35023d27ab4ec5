"""The Fast Open system calls of Linux's scripts (RFC 7413 over the Host API).

- ``setsockopt(fd, SOL_TCP, TCP_FASTOPEN, [qlen], 4)``: the listener's Fast
  Open queue (``Host.listen(fastopen=qlen)``);
- ``setsockopt(fd, SOL_TCP, TCP_FASTOPEN_CONNECT, [1], 4)``: connect()
  returns at once and the SYN waits for the first data (with a cookie);
- ``setsockopt(fd, SOL_TCP, TCP_FASTOPEN_KEY, "...", 16)``: the server's key;
- ``sendto``/``sendmsg`` with ``MSG_FASTOPEN`` on a socket not connected:
  connect, with the data in the SYN if a cookie is cached (the call reports
  how much the SYN carries), else a cookie request and EINPROGRESS on a
  non-blocking socket (Linux's tcp_sendmsg_fastopen).

:class:`FastOpenCalls` is a part of the Runner (runtime.py): the Runner calls
:meth:`FastOpenCalls.fastopen_call` before its own handlers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from synack.conformance.script import Event, SyscallSpec

if TYPE_CHECKING:
    from synack.conformance.runtime import Socket
    from synack.conformance.script import Expr
    from synack.host import Host

_OPTIONS = ("TCP_FASTOPEN", "TCP_FASTOPEN_CONNECT", "TCP_FASTOPEN_KEY")
REMOTE_PORT = 8080  # runtime.REMOTE_PORT: what connect() reaches


class FastOpenCalls:
    """Fast Open's socket options and MSG_FASTOPEN, for the Runner."""

    host: Host
    now: float
    symbols: dict[str, int]
    fastopen_queue: dict[int, int]  # fd -> TCP_FASTOPEN's queue length
    fastopen_connect: set[int]  # fds with TCP_FASTOPEN_CONNECT

    if TYPE_CHECKING:  # the Runner's

        def _socket(self, event: Event, expr: Expr) -> Socket: ...
        def _value(self, expr: Expr, event: Event) -> int: ...
        def _open_connection(
            self, sock: Socket, fastopen: bool = False, defer: bool = False, data: bytes = b""
        ) -> None: ...
        def _collect(self) -> None: ...

    def fastopen_call(self, event: Event, call: SyscallSpec) -> tuple[bool, Any]:
        """(True, outcome) if ``call`` is Fast Open's to carry out, else (False, None)."""
        name = call.name
        if name == "setsockopt" and len(call.args) >= 4 and call.args[2].text in _OPTIONS:
            return True, self._fastopen_option(event, call)
        if name == "connect":
            sock = self._socket(event, call.args[0])
            if sock.fd in self.fastopen_connect and sock.conn is None:
                # TCP_FASTOPEN_CONNECT: the SYN waits for data (with a cookie)
                self._open_connection(sock, fastopen=True, defer=True)
                conn = sock.conn
                assert conn is not None
                if conn.fastopen is not None and conn.fastopen.cookie is not None:
                    return True, (0, None)
                return True, ((-1, "EINPROGRESS") if sock.nonblocking else None)
            return False, None
        if name in ("sendto", "sendmsg", "send"):
            flags_at = {"sendto": 3, "send": 3, "sendmsg": 2}[name]
            if len(call.args) <= flags_at:
                return False, None
            flags = self._value(call.args[flags_at], event)
            fastopen = self.symbols.get("MSG_FASTOPEN", 0)
            sock = self._socket(event, call.args[0])
            if not flags & fastopen or sock.conn is not None:
                return False, None
            return True, self._fastopen_send(event, call, sock)
        return False, None

    def _fastopen_option(self, event: Event, call: SyscallSpec) -> tuple[int, str | None]:
        sock = self._socket(event, call.args[0])
        option = call.args[2].text
        if option == "TCP_FASTOPEN_KEY":
            key = call.args[3].text.strip('"')
            try:
                raw = key.encode("latin-1").decode("unicode_escape").encode("latin-1")
            except (UnicodeDecodeError, UnicodeEncodeError):
                return -1, "EINVAL"
            if len(raw) != 16:
                return -1, "EINVAL"
            self.host.fastopen_cookies.set_keys(raw)
            return 0, None
        value = self._value(call.args[3], event)
        if option == "TCP_FASTOPEN":
            # Linux: on a socket closed or listening, the Fast Open queue's
            # length (RFC 7413 5.1); Fast Open still needs the sysctl's
            # server bit when the SYN comes (tcp_fastopen.c, tcp_try_fastopen)
            if value < 0 or sock.conn is not None:
                return -1, "EINVAL"
            self.fastopen_queue[sock.fd] = value
            listener = self.host.listeners.get(sock.bound_port or 0)
            if sock.listening and listener is not None:
                listener.fastopen = value
            return 0, None
        if value:
            self.fastopen_connect.add(sock.fd)
        else:
            self.fastopen_connect.discard(sock.fd)
        return 0, None

    def _fastopen_send(
        self, event: Event, call: SyscallSpec, sock: Socket
    ) -> tuple[int, str | None] | None:
        """sendto/sendmsg with MSG_FASTOPEN on a socket not yet connected."""
        size = self._send_size(event, call)
        if not sock.config.fastopen_client:
            return -1, "EOPNOTSUPP"
        self._open_connection(sock, fastopen=True)
        conn = sock.conn
        assert conn is not None and conn.fastopen is not None
        room = conn.fastopen.syn_capacity(conn.rcv_mss)
        if room == 0:  # no cookie: the SYN asks for one, the data waits
            self._collect()
            return (-1, "EINPROGRESS") if sock.nonblocking else None
        taken = conn.send(bytes(min(size, room)))
        self._collect()
        return taken, None

    def _send_size(self, event: Event, call: SyscallSpec) -> int:
        if call.name == "sendmsg":
            from synack.conformance.structs import Array, StructError, parse_expr
            from synack.conformance.structs import Struct as StructValue

            try:
                msg = parse_expr(call.args[1])
            except StructError:
                return 0
            iov = msg.get("msg_iov") if isinstance(msg, StructValue) else None
            items = iov.items if isinstance(iov, Array) else ()
            total = 0
            for item in items:
                length = item.get("iov_len") if isinstance(item, StructValue) else None
                if length is None and isinstance(item, StructValue) and len(item.positional) == 2:
                    length = item.positional[1]
                if length is not None and not isinstance(length, (StructValue, Array)):
                    total += self._value(length, event)
            return total
        return self._value(call.args[2], event)
