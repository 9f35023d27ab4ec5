"""An httpcore network backend over synack, so that httpx fetches over synack.

httpcore (the HTTP engine under httpx) opens its connections through a
pluggable ``AsyncNetworkBackend``; :class:`SynackBackend` opens them with
``Stack.create_connection``, each a :class:`SynackStream` over a small
asyncio Protocol. :func:`http_transport` gives an
``httpx.AsyncHTTPTransport`` whose connection pool uses it::

    client = httpx.AsyncClient(transport=http_transport(stack))
    response = await client.get("http://10.77.0.1:8000/big.bin")

(httpx 0.28 takes no backend in AsyncHTTPTransport's arguments yet, so
:func:`http_transport` gives the transport's pool this one: every other
argument, limits and retries included, is httpx's own.)

Host names: synack has no resolver; a backend maps names through its
``hosts`` table (as /etc/hosts) and takes IP addresses as they are.
TLS (``https://``) is not supported: ``start_tls`` raises httpcore's
ConnectError.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Iterable, Iterator, Mapping
from ipaddress import ip_address
from typing import Any

import httpcore
import httpx

from synack.aio.stack import Stack
from synack.aio.transport import TcpTransport


class _StreamProtocol(asyncio.Protocol):
    """What one connection has received, for :class:`SynackStream` to read.
    Past ``READ_LIMIT`` unread bytes it pauses reading, as asyncio's
    StreamReader does, so the receive window closes rather than the buffer
    growing with all the peer sends."""

    READ_LIMIT = 256 * 1024

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self._paused = False
        self.eof = False
        self.error: Exception | None = None
        self._readable: asyncio.Event = asyncio.Event()  # something to read, or the end
        self._writable: asyncio.Event = asyncio.Event()
        self._writable.set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._readable.set()
        if not self._paused and len(self.buffer) > self.READ_LIMIT and self.transport:
            self._paused = True
            self.transport.pause_reading()

    def eof_received(self) -> bool:
        self.eof = True
        self._readable.set()
        return True  # httpcore decides when to close

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.error = exc
        self._readable.set()
        self._writable.set()

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    async def read(self, max_bytes: int) -> bytes:
        while not self.buffer and not self.eof:
            self._readable.clear()
            await self._readable.wait()
        if not self.buffer and self.error is not None:
            raise self.error
        data = bytes(self.buffer[:max_bytes])
        del self.buffer[:max_bytes]
        if self._paused and len(self.buffer) <= self.READ_LIMIT // 2 and self.transport:
            self._paused = False
            self.transport.resume_reading()
        return data

    async def drain(self) -> None:
        await self._writable.wait()
        if self.error is not None:
            raise self.error


class SynackStream(httpcore.AsyncNetworkStream):
    """One connection, as httpcore reads and writes it."""

    def __init__(self, transport: TcpTransport, protocol: _StreamProtocol) -> None:
        self.transport = transport
        self._protocol = protocol

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with _mapped(_READ_ERRORS):
            async with asyncio.timeout(timeout):
                return await self._protocol.read(max_bytes)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        with _mapped(_WRITE_ERRORS):
            if self.transport.is_closing():
                raise ConnectionResetError("connection closing")
            self.transport.write(buffer)
            async with asyncio.timeout(timeout):
                await self._protocol.drain()

    async def aclose(self) -> None:
        """CLOSE; the 4-way handshake goes on without holding httpcore up."""
        self.transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("TLS over synack is not supported (use http://)")

    def get_extra_info(self, info: str) -> Any:
        if info == "client_addr":
            return self.transport.get_extra_info("sockname")
        if info == "server_addr":
            return self.transport.get_extra_info("peername")
        if info == "is_readable":
            # an idle connection with something to read was closed or broken by the server
            protocol = self._protocol
            return bool(protocol.buffer) or protocol.eof
        if info in ("synack", "connection"):
            return self.transport.get_extra_info(info)
        return None


class SynackBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend over a :class:`~synack.aio.Stack`; ``hosts``
    maps host names to addresses (there is no resolver)."""

    def __init__(self, stack: Stack, hosts: Mapping[str, str] | None = None) -> None:
        self.stack = stack
        self.hosts = dict(hosts or {})

    def resolve(self, host: str) -> str:
        if host in self.hosts:
            return self.hosts[host]
        try:
            return str(ip_address(host.strip("[]")))
        except ValueError:
            raise httpcore.ConnectError(
                f"synack resolves no names: {host!r} is not an IP address (give hosts=...)"
            ) from None

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> SynackStream:
        address = self.resolve(host)
        local = (local_address, 0) if local_address else None
        with _mapped(_CONNECT_ERRORS):
            async with asyncio.timeout(timeout):
                transport, protocol = await self.stack.create_connection(
                    _StreamProtocol, address, port, local_addr=local
                )
        assert isinstance(protocol, _StreamProtocol)
        return SynackStream(transport, protocol)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("synack carries TCP only: no Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def http_transport(
    stack: Stack, hosts: Mapping[str, str] | None = None, **kwargs: Any
) -> httpx.AsyncHTTPTransport:
    """An ``httpx.AsyncHTTPTransport(**kwargs)`` whose connections go over ``stack``
    (see the module docstring)."""
    transport = httpx.AsyncHTTPTransport(**kwargs)
    pool = transport._pool
    if not isinstance(pool, httpcore.AsyncConnectionPool):
        raise TypeError(f"cannot give a {type(pool).__name__} a network backend")
    pool._network_backend = SynackBackend(stack, hosts)
    return transport


@contextlib.contextmanager
def _mapped(errors: Mapping[type[Exception], type[Exception]]) -> Iterator[None]:
    """httpcore's exceptions for what a connection raises (as its own backends do)."""
    try:
        yield
    except Exception as exc:
        for cls, to in errors.items():
            if isinstance(exc, cls):
                raise to(str(exc) or type(exc).__name__) from exc
        raise


_CONNECT_ERRORS: dict[type[Exception], type[Exception]] = {
    TimeoutError: httpcore.ConnectTimeout,
    OSError: httpcore.ConnectError,
}
_READ_ERRORS: dict[type[Exception], type[Exception]] = {
    TimeoutError: httpcore.ReadTimeout,
    OSError: httpcore.ReadError,
}
_WRITE_ERRORS: dict[type[Exception], type[Exception]] = {
    TimeoutError: httpcore.WriteTimeout,
    OSError: httpcore.WriteError,
}
