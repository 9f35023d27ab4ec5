"""The Fast Open system calls of Linux's scripts (RFC 7413 over the Host API),
as Linux's tcp.c, tcp_fastopen.c and af_inet.c have them.

- ``setsockopt(fd, SOL_TCP, TCP_FASTOPEN, [qlen], 4)``: the listener's Fast
  Open queue (``Host.listen(fastopen=qlen)``; RFC 7413 5.1), before or after
  listen(); the sysctl's server bit still decides when a SYN comes;
- ``setsockopt(fd, SOL_TCP, TCP_FASTOPEN_CONNECT, [1], 4)``: EOPNOTSUPP
  without the sysctl's client bit; then connect() with a cookie cached
  returns 0 at once and the SYN waits for the first write, which it carries
  (Linux's DEFER_CONNECT); without one, the SYN asks for a cookie at once
  (RFC 7413 4.1.3) and connect() is an ordinary one;
- ``setsockopt(fd, SOL_TCP, TCP_FASTOPEN_KEY, "...", 16 or 32)``: the server's
  key (and a backup);
- ``sendto``/``sendmsg`` with ``MSG_FASTOPEN`` on a socket not connected:
  connect, with the data on the SYN if a cookie is cached (or none is needed,
  the sysctl's 0x4), else a cookie request (Linux's tcp_sendmsg_fastopen).
  A non-blocking call returns what the SYN carries, or EINPROGRESS when it
  carries nothing; a blocking one queues everything (the SYN takes what fits,
  the rest follows the handshake, riding on its ACK) and returns when the
  handshake is over, or with its error. EOPNOTSUPP without the client bit or
  to AF_UNSPEC; EALREADY while the SYN is out; EISCONN once connected.
- a write on a socket still in SYN-SENT: EAGAIN if non-blocking, else it
  waits for the handshake (sk_stream_wait_connect).

:class:`FastOpenCalls` is a part of the Runner (runtime.py): the Runner calls
:meth:`FastOpenCalls.fastopen_call` before its own handlers, and
:meth:`FastOpenCalls._fastopen_retry` when a call it blocked may return.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from synack.conformance.script import Event, SyscallSpec
from synack.tcp.fastopen import CookieJar
from synack.tcp.state import State

if TYPE_CHECKING:
    from synack.conformance.runtime import Socket
    from synack.conformance.script import Expr
    from synack.conformance.structs import Struct
    from synack.host import Host, Listener
    from synack.tcp.config import TcpConfig

_OPTIONS = ("TCP_FASTOPEN", "TCP_FASTOPEN_CONNECT", "TCP_FASTOPEN_KEY")
_WRITES = ("write", "send", "sendto", "sendmsg")
Outcome = tuple[int, str | None] | None  # None: the call blocks


class FastOpenCalls:
    """Fast Open's socket options and MSG_FASTOPEN, for the Runner."""

    host: Host
    now: float
    symbols: dict[str, int]
    fastopen_queue: dict[int, int]  # fd -> TCP_FASTOPEN's queue length
    fastopen_connect: set[int]  # fds with TCP_FASTOPEN_CONNECT
    # fds whose connect() returned 0 with the SYN held for data (DEFER_CONNECT)
    fastopen_deferred: set[int]
    # what a blocked Fast Open write returns once connected, by event
    fastopen_sizes: dict[int, int]
    # fds a blocking Fast Open call saw connected (Linux's SS_CONNECTED)
    fastopen_connected: set[int]
    # TCP_FASTOPEN_KEY by fd: the socket's own key (and backup), not the Host's
    fastopen_keys: dict[int, tuple[Socket, bytes, bytes | None]]
    # the socket the fd-keyed state above belongs to: a new socket on a
    # closed one's fd starts with none of it
    fastopen_owner: dict[int, Socket]

    if TYPE_CHECKING:  # the Runner's

        def _socket(self, event: Event, expr: Expr) -> Socket: ...
        def _value(self, expr: Expr, event: Event) -> int: ...
        def _config(self) -> TcpConfig: ...
        def _open_connection(
            self, sock: Socket, fastopen: bool = False, defer: bool = False, data: bytes = b""
        ) -> None: ...
        def _collect(self) -> None: ...
        def _connect_outcome(self, sock: Socket) -> tuple[int, str | None] | None: ...
        def _msghdr(self, event: Event, expr: Expr) -> Struct: ...
        def _iov_length(self, event: Event, msg: Struct) -> int: ...

    def fastopen_call(self, event: Event, call: SyscallSpec) -> tuple[bool, Any]:
        """(True, outcome) if ``call`` is Fast Open's to carry out, else (False, None)."""
        name = call.name
        if name == "setsockopt" and len(call.args) >= 4 and call.args[2].text in _OPTIONS:
            return True, self._fastopen_option(event, call)
        if name == "connect":
            sock = self._socket(event, call.args[0])
            self._fastopen_fresh(sock)
            if sock.fd in self.fastopen_deferred:
                # Linux's __inet_stream_connect: SS_CONNECTING with DEFER_CONNECT
                return True, (-1, "EISCONN")
            if sock.fd in self.fastopen_connect and sock.conn is None:
                return True, self._fastopen_connect(event, sock)
            return False, None
        if name not in _WRITES:
            return False, None
        flags_at = {"write": None, "send": 3, "sendto": 3, "sendmsg": 2}[name]
        flags = 0
        if flags_at is not None and len(call.args) > flags_at:
            flags = self._value(call.args[flags_at], event)
        fastopen = bool(flags & self.symbols.get("MSG_FASTOPEN", 0))
        nonblocking = bool(flags & self.symbols.get("MSG_DONTWAIT", 0))
        sock = self._socket(event, call.args[0])
        self._fastopen_fresh(sock)
        nonblocking = nonblocking or sock.nonblocking
        conn = sock.conn
        if (fastopen or sock.fd in self.fastopen_deferred) and _null_buffer(event, call, self):
            return True, (-1, "EFAULT")  # the data is copied before anything is sent
        if conn is None:
            if not fastopen:
                return False, None
            return True, self._fastopen_send(event, call, sock, nonblocking)
        if sock.fd in self.fastopen_deferred:
            return True, self._deferred_send(event, call, sock, nonblocking)
        if sock.error or conn.state is not State.SYN_SENT:
            # tcp_sendmsg_fastopen's __inet_stream_connect: on a socket a blocking
            # Fast Open call connected (SS_CONNECTED), EISCONN; on one still
            # SS_CONNECTING (a non-blocking connect), it finds the handshake
            # over, and the data goes as from any write
            if fastopen and not sock.error and sock.fd in self.fastopen_connected:
                return True, (-1, "EISCONN")
            return False, None
        # SYN-SENT: another MSG_FASTOPEN finds the connect in progress; a
        # write waits for the handshake (Linux's sk_stream_wait_connect)
        if fastopen and nonblocking:
            return True, (-1, "EALREADY")
        if nonblocking:
            return True, (-1, "EAGAIN")
        return False, None

    # -- socket options --------------------------------------------------------
    def _fastopen_fresh(self, sock: Socket) -> None:
        """Forget what an earlier socket on ``sock``'s fd left (fds are reused)."""
        fd = sock.fd
        if self.fastopen_owner.get(fd) is sock:
            return
        self.fastopen_owner[fd] = sock
        for flags in (self.fastopen_connect, self.fastopen_deferred, self.fastopen_connected):
            flags.discard(fd)
        self.fastopen_queue.pop(fd, None)
        self.fastopen_keys.pop(fd, None)

    def _fastopen_queue_of(self, sock: Socket) -> int:
        """The TCP_FASTOPEN queue length set on ``sock`` (0: none)."""
        self._fastopen_fresh(sock)
        return self.fastopen_queue.get(sock.fd, 0)

    def _fastopen_option(self, event: Event, call: SyscallSpec) -> tuple[int, str | None]:
        sock = self._socket(event, call.args[0])
        self._fastopen_fresh(sock)
        option = call.args[2].text
        if option == "TCP_FASTOPEN_KEY":
            key = call.args[3].text.strip('"')
            try:
                raw = key.encode("latin-1").decode("unicode_escape").encode("latin-1")
            except (UnicodeDecodeError, UnicodeEncodeError):
                return -1, "EINVAL"
            length = self._value(call.args[4], event) if len(call.args) > 4 else len(raw)
            if length not in (16, 32) or len(raw) != length:
                return -1, "EINVAL"  # TCP_FASTOPEN_KEY_LENGTH, or with a backup key
            # the socket's own key (tcp_fastopen_reset_cipher with a socket):
            # its listener's cookies, while other listeners keep the sysctl's
            self.fastopen_keys[sock.fd] = (sock, raw[:16], raw[16:] or None)
            listener = self.host.listeners.get(sock.bound_port or 0)
            if sock.listening and listener is not None:
                self._fastopen_listening(sock, listener)
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
        # TCP_FASTOPEN_CONNECT (do_tcp_setsockopt)
        if value not in (0, 1):
            return -1, "EINVAL"
        if not self._config().fastopen_client:
            return -1, "EOPNOTSUPP"
        if sock.conn is not None:
            return -1, "EINVAL"
        if value:
            self.fastopen_connect.add(sock.fd)
        else:
            self.fastopen_connect.discard(sock.fd)
        return 0, None

    def _fastopen_listening(self, sock: Socket, listener: Listener) -> None:
        """A listener takes its socket's TCP_FASTOPEN_KEY, if one was set."""
        self._fastopen_fresh(sock)
        keys = self.fastopen_keys.get(sock.fd)
        if keys is not None and keys[0] is sock:  # not an earlier socket's fd
            algorithm = sock.config.fastopen_cookie_algorithm
            listener.fastopen_cookies = CookieJar(keys[1], keys[2], algorithm)

    # -- connect and send --------------------------------------------------------
    def _fastopen_open(self, sock: Socket, defer: bool = False) -> None:
        """The active open, a Fast Open one (the sysctl's 0x4 read now)."""
        current = self._config()
        sock.config = replace(
            sock.config,
            fastopen_client=True,
            fastopen_client_no_cookie=current.fastopen_client_no_cookie,
        )
        self._open_connection(sock, fastopen=True, defer=defer)

    def _fastopen_connect(self, event: Event, sock: Socket) -> Outcome:
        """connect() with TCP_FASTOPEN_CONNECT (tcp_fastopen_defer_connect): with
        a cookie the SYN waits for data and connect() returns 0; without, the
        SYN asks for a cookie now, and connect() is an ordinary one."""
        self._fastopen_open(sock, defer=True)
        conn = sock.conn
        assert conn is not None and conn.fastopen is not None
        if conn.fastopen.has_room():
            self.fastopen_deferred.add(sock.fd)
            return 0, None
        self._collect()
        return (-1, "EINPROGRESS") if sock.nonblocking else None

    def _fastopen_send(
        self, event: Event, call: SyscallSpec, sock: Socket, nonblocking: bool
    ) -> Outcome:
        """sendto/sendmsg with MSG_FASTOPEN on a socket not yet connected."""
        size = self._send_size(event, call)
        address = call.args[4].text if call.name == "sendto" and len(call.args) > 4 else ""
        if not self._config().fastopen_client or address == "AF_UNSPEC":
            return -1, "EOPNOTSUPP"
        self._fastopen_open(sock)
        return self._syn_send(event, sock, size, nonblocking)

    def _deferred_send(
        self, event: Event, call: SyscallSpec, sock: Socket, nonblocking: bool
    ) -> Outcome:
        """A write on a deferred socket: the held SYN goes, with the data."""
        self.fastopen_deferred.discard(sock.fd)
        return self._syn_send(event, sock, self._send_size(event, call), nonblocking)

    def _syn_send(self, event: Event, sock: Socket, size: int, nonblocking: bool) -> Outcome:
        """The SYN of a Fast Open connect leaves with what of ``size`` bytes it
        holds (tcp_send_syn_data). Non-blocking: that is what the call copied,
        EINPROGRESS when nothing; blocking: everything is queued, the rest
        follows the handshake, and the call returns when it is over."""
        conn = sock.conn
        assert conn is not None and conn.fastopen is not None
        room = conn.fastopen.syn_capacity(conn.rcv_mss)
        taken = size if not nonblocking else min(size, room)
        if taken:  # what fits, and a byte over: a huge size is never allocated
            taken = conn.send(bytes(min(taken, max(conn.send_buf.space, 0) + 1)))
        conn.release_syn()  # a deferred SYN goes even without data
        self._collect()
        if not nonblocking:
            self.fastopen_sizes[id(event)] = taken
            return self._fastopen_outcome(event)
        if taken:
            return taken, None
        return -1, "EINPROGRESS"

    def _fastopen_retry(self, event: Event, call: SyscallSpec, retry: bool = False) -> Outcome:
        """A blocked Fast Open connect or write returns once the handshake is
        over: connect() 0, a write what it queued; or the connection's error."""
        return self._fastopen_outcome(event)

    def _fastopen_outcome(self, event: Event) -> Outcome:
        call = event.action
        assert isinstance(call, SyscallSpec)
        sock = self._socket(event, call.args[0])
        outcome = self._connect_outcome(sock)
        if outcome is None:
            return None
        size = self.fastopen_sizes.pop(id(event), 0)
        if outcome[0] >= 0:
            self.fastopen_connected.add(sock.fd)
        if outcome[0] < 0 or call.name == "connect":
            return outcome
        return size, None

    def _send_size(self, event: Event, call: SyscallSpec) -> int:
        if call.name == "sendmsg":
            return self._iov_length(event, self._msghdr(event, call.args[1]))
        return self._value(call.args[2], event)


def _null_buffer(event: Event, call: SyscallSpec, calls: FastOpenCalls) -> bool:
    """A write whose buffer is NULL with a length (sendmsg's iovecs are never NULL here)."""
    if call.name == "sendmsg" or len(call.args) < 3:
        return False
    return call.args[1].text == "NULL" and calls._value(call.args[2], event) > 0
