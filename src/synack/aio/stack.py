"""A Host on a driver, in asyncio's shapes: ``create_connection`` and
``create_server`` (Transport/Protocol), and the streams on top of them.

``Stack.create_connection`` and ``Stack.create_server`` take a protocol
factory as :meth:`asyncio.loop.create_connection` and
:meth:`asyncio.loop.create_server` do, and give each connection a
:class:`~synack.aio.transport.TcpTransport`. ``open_connection`` and
``start_server`` are asyncio's streams built on them, exactly as asyncio
builds its own: a :class:`asyncio.StreamReaderProtocol` per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from synack.aio.transport import TcpTransport
from synack.driver import HostDriver
from synack.host import Host, HostEvent
from synack.tcp.config import TcpConfig
from synack.tcp.connection import Connection
from synack.tcp.events import Connected

ClientCallback = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None] | None]
ProtocolFactory = Callable[[], asyncio.BaseProtocol]
DEFAULT_LIMIT = 2**16  # asyncio's stream buffer limit
DEFAULT_BACKLOG = 100  # asyncio's create_server default
FINISHING_SWEEP = 64  # closing transports a flush checks beyond those with events

# asyncio's keyword arguments that mean nothing here (socket options and address
# families of a kernel socket): accepted and ignored, so that software passing
# them through runs unchanged
_SOCKET_ONLY = frozenset(
    {"family", "proto", "flags", "reuse_address", "reuse_port", "keep_alive",
     "happy_eyeballs_delay", "interleave", "all_errors"}
)  # fmt: skip


def _check_options(call: str, options: dict[str, Any]) -> None:
    for name, value in options.items():
        if name in ("ssl", "sock", "server_hostname") or name.startswith("ssl_"):
            if value is not None:
                raise ValueError(f"{call}: {name}= is not supported over synack (no TLS, sockets)")
        elif name not in _SOCKET_ONLY:
            raise TypeError(f"{call}() got an unexpected keyword argument {name!r}")


class Stack:
    """A Host on a driver, seen through asyncio's Transport/Protocol and streams
    (on the driver's asyncio loop, or else on the running one)."""

    def __init__(self, driver: HostDriver) -> None:
        self.driver = driver
        self.host: Host = driver.host
        clock = driver.clock
        self.loop = (
            clock if isinstance(clock, asyncio.AbstractEventLoop) else asyncio.get_running_loop()
        )
        self._transports: dict[Connection, TcpTransport] = {}
        # transports that closed, half-closed or saw EOF, which may reach
        # TIME-WAIT or CLOSED without an event of their own (CLOSING ->
        # TIME-WAIT on the ACK of our FIN): each flush looks at
        # FINISHING_SWEEP of them in turn (the order of this dict), and when
        # there are more, first at those with an event since the last flush or
        # that the Host let go (``_due``, see ``_on_forgotten``), so its cost
        # does not grow with every half-closed connection a peer leaves open
        self._finishing: OrderedDict[TcpTransport, None] = OrderedDict()
        self._due: set[TcpTransport] = set()
        self._servers: dict[int, Server] = {}
        driver.subscribe(self._on_event, self._after_flush)
        self.host.on_forget = self._on_forgotten

    # -- Transport/Protocol ------------------------------------------------
    async def create_connection(
        self,
        protocol_factory: ProtocolFactory,
        host: str | None = None,
        port: int | None = None,
        *,
        local_addr: tuple[str, int] | None = None,
        local_port: int | None = None,
        config: TcpConfig | None = None,
        **options: Any,
    ) -> tuple[TcpTransport, asyncio.BaseProtocol]:
        """Connect to ``host:port`` and give the connection to a protocol made by
        ``protocol_factory`` once it is established, as
        :meth:`asyncio.loop.create_connection`. Raises ConnectionRefusedError on a
        RST, TimeoutError when the SYN goes unanswered; cancelled, it aborts the
        attempt. ``local_addr`` (or ``local_port``) binds the local end;
        ``config``, this connection's TcpConfig."""
        _check_options("create_connection", options)
        if host is None or port is None:
            raise ValueError("host and port are needed (synack has no sock= to connect)")
        local_address = None
        if local_addr is not None:
            local_address, bound_port = local_addr
            local_address = local_address or None
            local_port = bound_port or local_port
        conn = self.host.connect(
            (host, port), self.driver.now(), local_port=local_port,
            local_address=local_address, config=config,
        )  # fmt: skip
        transport = TcpTransport(self, conn)
        self._transports[conn] = transport
        self.driver.flush()
        try:
            await transport.connected
            protocol = protocol_factory()
        except BaseException:
            transport.abort()  # cancelled, or the factory failed: no half-made connection
            raise
        transport.attach(protocol)
        return transport, protocol

    async def create_server(
        self,
        protocol_factory: ProtocolFactory,
        host: str | None = None,
        port: int | None = None,
        *,
        backlog: int = DEFAULT_BACKLOG,
        start_serving: bool = True,
        fastopen: int = 0,
        config: TcpConfig | None = None,
        **options: Any,
    ) -> Server:
        """Listen on ``port`` (of ``host``, else every address of the Host); each
        accepted connection goes to a protocol made by ``protocol_factory``, as
        :meth:`asyncio.loop.create_server`. ``fastopen``: the listener's Fast Open
        queue (docs/fastopen.md), used when its config (``config``, else the
        Host's) has ``fastopen_server``."""
        _check_options("create_server", options)
        if not port:
            raise ValueError("give the port to listen on")
        if port in self._servers:
            raise OSError(98, f"port {port} is in use (address already in use)")
        server = Server(self, port, protocol_factory, host, backlog, fastopen, config)
        if start_serving:
            server.listen()
        return server

    # -- streams, on top of them -------------------------------------------
    async def open_connection(
        self,
        host: str,
        port: int,
        *,
        limit: int = DEFAULT_LIMIT,
        local_port: int | None = None,
        **kwargs: Any,
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """:func:`asyncio.open_connection` over synack: ``create_connection`` with a
        :class:`asyncio.StreamReaderProtocol`."""
        reader = asyncio.StreamReader(limit=limit, loop=self.loop)
        transport, protocol = await self.create_connection(
            lambda: asyncio.StreamReaderProtocol(reader, loop=self.loop),
            host, port, local_port=local_port, **kwargs,
        )  # fmt: skip
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
        **kwargs: Any,
    ) -> Server:
        """:func:`asyncio.start_server` over synack: ``create_server`` with a
        stream protocol whose connections each call ``client_connected_cb``
        (``fastopen`` and ``config`` as ``create_server``)."""
        loop = self.loop

        def factory() -> StreamServerProtocol:
            reader = asyncio.StreamReader(limit=limit, loop=loop)
            return StreamServerProtocol(reader, client_connected_cb, loop)

        return await self.create_server(factory, host, port, backlog=backlog, **kwargs)

    # -- asyncio's own entry points ------------------------------------------
    @contextlib.contextmanager
    def routing(self) -> Iterator[Stack]:
        """While inside, this Stack's loop's own ``create_connection`` and
        ``create_server`` are this Stack's: software that calls them (and with
        them ``asyncio.open_connection``/``start_server``) runs over synack
        unmodified, websockets' ``serve`` and ``connect`` among them. What was
        created inside stays on synack after the block."""
        loop = self.loop
        saved = {name: loop.__dict__.get(name) for name in ("create_connection", "create_server")}
        loop.create_connection = self.create_connection  # type: ignore[assignment, method-assign]
        loop.create_server = self.create_server  # type: ignore[assignment, method-assign]
        try:
            yield self
        finally:
            for name, value in saved.items():
                if value is None:
                    loop.__dict__.pop(name, None)
                else:
                    setattr(loop, name, value)

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
        self.check_soon(transport)

    def _on_forgotten(self, conn: Connection) -> None:
        """The Host let ``conn`` go: done, event or not (see ``_finishing``)."""
        transport = self._transports.get(conn)
        if transport is not None:
            self.check_soon(transport)

    def _accept(self, conn: Connection) -> None:
        port = conn.local[1]
        server = self._servers.get(port)
        accepted = self.host.accept(port) if port in self.host.listeners else None
        if server is None or accepted is None:
            return
        transport = TcpTransport(self, accepted, server)
        self._transports[accepted] = transport
        transport.connected.set_result(None)
        server.attach(transport)

    def _after_flush(self) -> None:
        finishing, due = self._finishing, self._due
        if due:
            checked = list(due)
            due.clear()  # what a callback on the way makes due stays due
            if len(finishing) > FINISHING_SWEEP:  # else the turn below sees them all
                for transport in checked:
                    transport.check_finished()
        for _ in range(min(FINISHING_SWEEP, len(finishing))):
            if not finishing:
                break  # a protocol's callback ended others on the way
            transport = next(iter(finishing))
            finishing.move_to_end(transport)
            transport.check_finished()

    def watch_finishing(self, transport: TcpTransport) -> None:
        """``transport`` closed, half-closed or saw EOF: the next flush checks
        whether it is done, and later flushes in turn (it may reach TIME-WAIT
        or CLOSED without an event)."""
        self._finishing[transport] = None
        self._due.add(transport)

    def check_soon(self, transport: TcpTransport) -> None:
        """If ``transport`` is watched, the next flush checks whether it is done."""
        if transport in self._finishing:
            self._due.add(transport)

    def forget(self, transport: TcpTransport) -> None:
        """``transport`` is done: no more events for it."""
        self._transports.pop(transport.conn, None)
        self._finishing.pop(transport, None)
        self._due.discard(transport)
        if transport.server is not None:
            transport.server.detach(transport)

    def start_listening(self, server: Server) -> None:
        """Passive OPEN for ``server`` (what ``Server.start_serving`` does)."""
        self.host.listen(
            server.port, server.backlog, server.config, address=server.address,
            now=self.driver.now(), fastopen=server.fastopen,
        )  # fmt: skip
        self._servers[server.port] = server

    def stop_serving(self, port: int) -> None:
        """Stop listening on ``port`` (what ``Server.close`` does)."""
        if self._servers.pop(port, None) is not None:
            self.host.close_listener(port)

    def close(self) -> None:
        for server in list(self._servers.values()):
            server.close()


class Server(asyncio.AbstractServer):
    """What ``create_server`` and ``start_server`` return, as :class:`asyncio.Server`:
    ``close()`` stops listening (connections carry on), ``wait_closed()`` waits
    for that and for every connection to end, ``serve_forever()`` serves until
    cancelled; an async context manager that closes and waits on exit."""

    def __init__(
        self,
        stack: Stack,
        port: int,
        protocol_factory: ProtocolFactory,
        address: str | None = None,
        backlog: int = DEFAULT_BACKLOG,
        fastopen: int = 0,
        config: TcpConfig | None = None,
    ) -> None:
        self.stack = stack
        self.port = port
        self.protocol_factory = protocol_factory
        self.address = address
        self.backlog = backlog
        self.fastopen = fastopen
        self.config = config
        self.connections: set[TcpTransport] = set()
        self.handlers: set[asyncio.Task[None]] = set()  # stream callbacks (strong references)
        self._serving = False
        self._closed = False
        self._idle = asyncio.Event()  # closed, and every connection ended
        self._forever: asyncio.Future[None] | None = None

    # -- asyncio.Server's API ----------------------------------------------
    def get_loop(self) -> asyncio.AbstractEventLoop:
        return self.stack.loop

    @property
    def sockets(self) -> tuple[Any, ...]:
        """No kernel sockets behind it: an empty tuple (asyncio's is a tuple of them)."""
        return ()

    def is_serving(self) -> bool:
        return self._serving

    def listen(self) -> None:
        if not self._serving and not self._closed:
            self.stack.start_listening(self)
            self._serving = True

    async def start_serving(self) -> None:
        self.listen()

    def close(self) -> None:
        """Stop listening; connections already accepted carry on."""
        if self._closed:
            return
        self._closed = True
        if self._serving:
            self._serving = False
            self.stack.stop_serving(self.port)
        if self._forever is not None and not self._forever.done():
            self._forever.cancel()
        self._check_idle()

    def close_clients(self) -> None:
        for transport in list(self.connections):
            transport.close()

    def abort_clients(self) -> None:
        for transport in list(self.connections):
            transport.abort()

    async def wait_closed(self) -> None:
        """Until ``close()`` was called and every connection has ended."""
        await self._idle.wait()

    async def serve_forever(self) -> None:
        if self._forever is not None:
            raise RuntimeError(f"server {self!r} is already being awaited on serve_forever()")
        if self._closed:
            raise RuntimeError(f"server {self!r} is closed")
        self.listen()
        self._forever = self.stack.loop.create_future()
        try:
            await self._forever
        except asyncio.CancelledError:
            try:
                self.close()
                await self.wait_closed()
            finally:
                raise
        finally:
            self._forever = None

    async def __aenter__(self) -> Server:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()
        await self.wait_closed()

    def __repr__(self) -> str:
        return f"<synack Server port {self.port}{' serving' if self._serving else ''}>"

    # -- connections ---------------------------------------------------------
    def attach(self, transport: TcpTransport) -> None:
        """An accepted connection: a protocol from the factory takes it."""
        self.connections.add(transport)
        try:
            protocol = self.protocol_factory()
        except Exception as exc:
            self.stack.loop.call_exception_handler(
                {"message": "protocol_factory() failed", "exception": exc, "transport": transport}
            )
            transport.abort()
            return
        transport.attach(protocol)

    def detach(self, transport: TcpTransport) -> None:
        self.connections.discard(transport)
        self._check_idle()

    def _check_idle(self) -> None:
        if self._closed and not self.connections:
            self._idle.set()

    def handler_done(self, task: asyncio.Task[None], transport: TcpTransport) -> None:
        """A stream callback's task ended: report what it raised (as asyncio does),
        not that it was cancelled, and close its connection."""
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


class StreamServerProtocol(asyncio.StreamReaderProtocol):
    """``start_server``'s protocol: asyncio's StreamReaderProtocol, whose
    connection calls the client-connected callback with a reader and a writer.

    The callback runs here rather than in StreamReaderProtocol: on Python 3.11
    its done-callback asks a cancelled task (a handler still running when
    ``asyncio.run`` ends) for its exception and logs a CancelledError."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        callback: ClientCallback,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        super().__init__(reader, loop=loop)
        self._reader = reader  # the base class holds it weakly
        self._callback = callback

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        loop = self._loop  # type: ignore[attr-defined]
        writer = asyncio.StreamWriter(transport, self, self._reader, loop)  # type: ignore[arg-type]
        result = self._callback(self._reader, writer)
        if asyncio.iscoroutine(result):
            task = loop.create_task(result)
            if isinstance(transport, TcpTransport) and transport.server is not None:
                server, tcp = transport.server, transport
                server.handlers.add(task)
                task.add_done_callback(lambda done: server.handler_done(done, tcp))


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
