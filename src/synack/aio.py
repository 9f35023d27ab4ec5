"""asyncio streams over synack: ``open_connection`` and ``start_server``.

They mirror :func:`asyncio.open_connection` and :func:`asyncio.start_server`
and give real :class:`asyncio.StreamReader` / :class:`asyncio.StreamWriter`
objects, over any driver of a Host: the TUN driver in the lab
(``synack.net``) or simulated links (``synack.sim.live``). The same
application code runs on both::

    stack = Stack(driver)
    reader, writer = await stack.open_connection("10.77.0.1", 80)
    writer.write(b"GET / HTTP/1.0\\r\\n\\r\\n")
    writer.write_eof()              # half-close: our FIN, reading goes on
    body = await reader.read()
    writer.close()                  # the 4-way handshake...
    await writer.wait_closed()      # ...until our side is done (TIME-WAIT or CLOSED)
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
from collections.abc import Awaitable, Callable
from typing import Any

from synack.driver import HostDriver
from synack.host import Host, HostEvent
from synack.tcp import errors as err
from synack.tcp.config import TcpConfig
from synack.tcp.connection import Connection
from synack.tcp.errors import TcpError
from synack.tcp.events import (
    Connected,
    ConnectionAborted,
    ConnectionClosed,
    ConnectionReset,
    DataReceived,
    EndOfStream,
    SendSpaceAvailable,
)
from synack.tcp.state import State

ClientCallback = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None] | None]
DEFAULT_LIMIT = 2**16


class Stack:
    """A Host on a driver, seen through asyncio streams (on the driver's asyncio
    loop, or else on the running one)."""

    def __init__(self, driver: HostDriver) -> None:
        self.driver = driver
        self.host: Host = driver.host
        clock = driver.clock
        self.loop = (
            clock if isinstance(clock, asyncio.AbstractEventLoop) else asyncio.get_running_loop()
        )
        self._transports: dict[Connection, TcpTransport] = {}
        # transports that closed, half-closed or saw EOF: one of them may reach
        # TIME-WAIT or CLOSED without an event, so a flush looks at them
        self._finishing: set[TcpTransport] = set()
        self._servers: dict[int, Server] = {}
        driver.subscribe(self._on_event, self._after_flush)

    # -- the asyncio-shaped API -------------------------------------------
    async def open_connection(
        self,
        host: str,
        port: int,
        *,
        limit: int = DEFAULT_LIMIT,
        local_port: int | None = None,
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Connect to ``host:port``; raises ConnectionRefusedError on a RST,
        TimeoutError when the SYN goes unanswered."""
        conn = self.host.connect((host, port), self.driver.now(), local_port=local_port)
        transport = TcpTransport(self, conn)
        self._transports[conn] = transport
        self.driver.flush()
        await transport.connected
        reader = asyncio.StreamReader(limit=limit, loop=self.loop)
        protocol = asyncio.StreamReaderProtocol(reader, loop=self.loop)
        transport.attach(protocol)
        writer = asyncio.StreamWriter(transport, protocol, reader, self.loop)
        return reader, writer

    async def start_server(
        self,
        client_connected_cb: ClientCallback,
        host: str | None = None,
        port: int = 0,
        *,
        limit: int = DEFAULT_LIMIT,
        backlog: int = 128,
        fastopen: int = 0,
        config: TcpConfig | None = None,
    ) -> Server:
        """Listen on ``port``; each accepted connection calls ``client_connected_cb``.
        ``fastopen``: the listener's Fast Open queue (docs/fastopen.md), used when
        its config (``config``, else the Host's) has ``fastopen_server``."""
        if not port:
            raise ValueError("give the port to listen on")
        self.host.listen(
            port, backlog, config, address=host, now=self.driver.now(), fastopen=fastopen
        )
        server = Server(self, port, client_connected_cb, limit)
        self._servers[port] = server
        return server

    # -- events from the Host ---------------------------------------------
    def _on_event(self, hev: HostEvent) -> None:
        conn, event = hev.connection, hev.event
        transport = self._transports.get(conn)
        if transport is None:
            tfo = conn.fastopen
            if isinstance(event, Connected) or (tfo is not None and tfo.accepted):
                # a Fast Open connection is accepted with its SYN's data (RFC 7413 4.2.2)
                self._accept(conn)  # attaching delivers what has arrived
            return
        transport.on_event(event)

    def _accept(self, conn: Connection) -> None:
        port = conn.local[1]
        server = self._servers.get(port)
        accepted = self.host.accept(port) if port in self.host.listeners else None
        if server is None or accepted is None:
            return
        transport = TcpTransport(self, accepted)
        self._transports[accepted] = transport
        transport.connected.set_result(None)
        reader = asyncio.StreamReader(limit=server.limit, loop=self.loop)
        protocol = asyncio.StreamReaderProtocol(reader, loop=self.loop)
        transport.attach(protocol)
        server.connections.add(transport)
        # The callback runs here rather than in StreamReaderProtocol: on Python
        # 3.11 its done-callback asks a cancelled task (a handler still running
        # when asyncio.run ends) for its exception and logs a CancelledError.
        writer = asyncio.StreamWriter(transport, protocol, reader, self.loop)
        result = server.callback(reader, writer)
        if asyncio.iscoroutine(result):
            task = self.loop.create_task(result)
            server.handlers.add(task)
            task.add_done_callback(lambda done: server.handler_done(done, transport))

    def _after_flush(self) -> None:
        for transport in list(self._finishing):
            transport.check_finished()

    def watch_finishing(self, transport: TcpTransport) -> None:
        """``transport`` closed, half-closed or saw EOF: each flush checks whether
        it is done (it may reach TIME-WAIT or CLOSED without an event)."""
        self._finishing.add(transport)

    def forget(self, transport: TcpTransport) -> None:
        """``transport`` is done: no more events for it."""
        self._transports.pop(transport.conn, None)
        self._finishing.discard(transport)
        for server in self._servers.values():
            server.connections.discard(transport)

    def stop_serving(self, port: int) -> None:
        """Stop listening on ``port`` (what ``Server.close`` does)."""
        if self._servers.pop(port, None) is not None:
            self.host.close_listener(port)

    def close(self) -> None:
        for server in list(self._servers.values()):
            server.close()


class Server:
    """What ``start_server`` returns: close() stops listening."""

    def __init__(self, stack: Stack, port: int, callback: ClientCallback, limit: int) -> None:
        self.stack = stack
        self.port = port
        self.callback = callback
        self.limit = limit
        self.connections: set[TcpTransport] = set()
        self.handlers: set[asyncio.Task[None]] = set()  # running callbacks (strong references)
        self._closed = asyncio.Event()

    def handler_done(self, task: asyncio.Task[None], transport: TcpTransport) -> None:
        """A callback's task ended: report what it raised (as asyncio does), not
        that it was cancelled."""
        self.handlers.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self.stack.loop.call_exception_handler(
                {
                    "message": "Unhandled exception in client_connected_cb",
                    "exception": exc,
                    "transport": transport,
                }
            )
            transport.close()

    def close(self) -> None:
        self.stack.stop_serving(self.port)
        self._closed.set()

    async def wait_closed(self) -> None:
        await self._closed.wait()

    def is_serving(self) -> bool:
        return not self._closed.is_set()

    async def __aenter__(self) -> Server:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    async def serve_forever(self) -> None:
        await self._closed.wait()


class TcpTransport(asyncio.Transport):
    """An asyncio transport over one engine Connection."""

    def __init__(self, stack: Stack, conn: Connection) -> None:
        super().__init__()
        self.stack = stack
        self.conn = conn
        self.connected: asyncio.Future[None] = stack.loop.create_future()
        self._protocol: asyncio.StreamReaderProtocol | None = None
        self._pending = bytearray()  # written but not yet taken by the send buffer
        self._paused_reading = False
        self._eof_seen = False
        self._closing = False
        self._eof_written = False
        self._lost = False
        self._writing_paused = False
        self.high_water = 4 * DEFAULT_LIMIT
        self.low_water = DEFAULT_LIMIT

    def attach(self, protocol: asyncio.StreamReaderProtocol) -> None:
        self._protocol = protocol
        protocol.connection_made(self)
        self._deliver()  # anything that came with the handshake

    # -- engine events -----------------------------------------------------
    def on_event(self, event: object) -> None:
        if isinstance(event, Connected):
            if not self.connected.done():
                self.connected.set_result(None)
        elif isinstance(event, DataReceived | EndOfStream):
            self._deliver()
        elif isinstance(event, SendSpaceAvailable):
            self._push()
        elif isinstance(event, ConnectionReset):
            refused = event.reason == err.CONNECTION_REFUSED or not self.connected.done()
            error: Exception = (
                ConnectionRefusedError(err.CONNECTION_REFUSED)
                if refused
                else ConnectionResetError(event.reason)
            )
            self._fail(error)
        elif isinstance(event, ConnectionAborted):
            aborted: Exception = (
                TimeoutError(event.reason)
                if "R2" in event.reason or "timeout" in event.reason
                else ConnectionAbortedError(event.reason)
            )
            if event.error is not None:
                # an ICMP error behind it (tcp/icmp.py): its errno, and
                # ConnectionRefusedError for a port unreachable
                code = getattr(errno, event.error, errno.EIO)
                cls = ConnectionRefusedError if code == errno.ECONNREFUSED else type(aborted)
                aborted = cls(code, event.reason)
            self._fail(aborted)
        elif isinstance(event, ConnectionClosed):
            self._lose(None)

    def _fail(self, error: Exception) -> None:
        if not self.connected.done():
            self.connected.set_exception(error)
            self.stack.forget(self)
            return
        self._lose(error)

    def _deliver(self) -> None:
        protocol = self._protocol
        if protocol is None or self._lost:
            return
        conn = self.conn
        while not self._paused_reading and conn.receive_queued:
            protocol.data_received(conn.receive())
        if not self._paused_reading and not self._eof_seen and conn.at_eof:
            self._eof_seen = True
            self.stack.watch_finishing(self)
            if not protocol.eof_received():
                self.close()

    def check_finished(self) -> None:
        """Our side is done once the connection reaches TIME-WAIT or CLOSED."""
        if self._lost or self._protocol is None:
            return
        state = self.stack.host.state_of(self.conn)
        if state in (State.TIME_WAIT, State.CLOSED) and not self.conn.receive_queued:
            self._lose(None)

    def _lose(self, error: Exception | None) -> None:
        if self._lost:
            return
        self._deliver()
        self._lost = True
        self.stack.forget(self)
        if self._protocol is not None:
            if self._writing_paused:
                self._writing_paused = False
                self._protocol.resume_writing()
            self._protocol.connection_lost(error)

    # -- writing -----------------------------------------------------------
    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._eof_written or self._closing:
            raise RuntimeError("write after write_eof() or close()")
        if self._lost:
            return  # as asyncio's transports do: the error surfaces in drain()
        self._pending += data
        self._push()

    def _push(self) -> None:
        if self._pending and not self._lost:
            try:
                taken = self.conn.send(self._pending)
            except TcpError as exc:
                self._lose(ConnectionResetError(str(exc)))
                return
            del self._pending[:taken]
        size = len(self._pending)
        protocol = self._protocol
        if protocol is None:
            return
        if not self._writing_paused and size > self.high_water:
            self._writing_paused = True
            protocol.pause_writing()
        elif self._writing_paused and size <= self.low_water:
            self._writing_paused = False
            protocol.resume_writing()
        if not self._pending and (self._eof_written or self._closing):
            self._finish_writing()

    def write_eof(self) -> None:
        """Half-close: our FIN goes after what is written; reading goes on."""
        if self._eof_written:
            return
        self._eof_written = True
        self.stack.watch_finishing(self)
        if not self._pending:
            self._finish_writing()

    def _finish_writing(self) -> None:
        if self._lost:
            return
        state = self.conn.state
        with contextlib.suppress(TcpError):  # already closing
            if self._closing:
                if state not in (State.CLOSED, State.TIME_WAIT, State.LAST_ACK, State.CLOSING):
                    self.conn.close(self.stack.driver.now())
            elif state in (State.ESTABLISHED, State.CLOSE_WAIT, State.SYN_RECEIVED):
                self.conn.shutdown_write(self.stack.driver.now())
        self.stack.driver.flush()

    def can_write_eof(self) -> bool:
        return True

    def get_write_buffer_size(self) -> int:
        return len(self._pending) + self.conn.send_queued

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self.high_water = high if high is not None else 4 * DEFAULT_LIMIT
        self.low_water = low if low is not None else self.high_water // 4

    # -- reading -----------------------------------------------------------
    def pause_reading(self) -> None:
        self._paused_reading = True  # the receive window closes as the buffer fills

    def resume_reading(self) -> None:
        if self._paused_reading:
            self._paused_reading = False
            self._deliver()
            self.stack.driver.flush()  # reading may open the window

    def is_reading(self) -> bool:
        return not self._paused_reading

    # -- closing -----------------------------------------------------------
    def close(self) -> None:
        """CLOSE after what is written: the 4-way handshake. ``wait_closed()``
        returns when our side is done (TIME-WAIT or CLOSED)."""
        if self._closing:
            return
        self._closing = True
        self.stack.watch_finishing(self)
        if not self._pending:
            self._finish_writing()

    def is_closing(self) -> bool:
        return self._closing or self._lost

    def abort(self) -> None:
        """ABORT: a RST to the peer, at once."""
        if not self._lost and self.conn.state is not State.CLOSED:
            self.stack.driver.flush()  # what is already due (an ACK, data) goes first
            with contextlib.suppress(TcpError):
                self.conn.abort(self.stack.driver.now())
            self.stack.driver.flush()
        self._lose(None)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "peername":
            address, port = self.conn.remote  # type: ignore[misc]
            return (str(address), port)
        if name == "sockname":
            return (str(self.conn.local[0]), self.conn.local[1])
        if name == "connection":
            return self.conn
        return default


async def open_connection(
    host: str, port: int, *, stack: Stack, **kwargs: Any
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """:meth:`Stack.open_connection`, in asyncio's spelling."""
    return await stack.open_connection(host, port, **kwargs)


async def start_server(
    client_connected_cb: ClientCallback,
    host: str | None = None,
    port: int = 0,
    *,
    stack: Stack,
    **kwargs: Any,
) -> Server:
    """:meth:`Stack.start_server`, in asyncio's spelling."""
    return await stack.start_server(client_connected_cb, host, port, **kwargs)
