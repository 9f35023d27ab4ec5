"""Unmodified asyncio software over synack on the simulated network, with loss,
on a virtual clock (looptime): uvicorn's HTTP protocol class serving an ASGI
app to an httpx client (through synack's httpcore backend), and websockets'
server and client exchanging 1,000 messages. The same software runs against
the kernel's TCP in the lab (tests/interop/test_interop_asyncio_software.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Awaitable, Callable
from typing import Any

import httpcore
import httpx
import looptime
import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from synack.aio import Stack, SynackInfo
from synack.aio.httpcore_backend import SynackBackend, http_transport
from synack.apps.asgi import demo_app, serve_asgi
from synack.host import Host
from synack.sim.live import LiveNetwork
from synack.sim.network import LinkConfig
from synack.tcp.config import TcpConfig

LOSSY = LinkConfig(delay=0.005, loss=0.01, reorder=0.01, bandwidth=100e6)
CONFIG = TcpConfig(msl=0.05)
BODY_SIZE = 2_000_000
MESSAGES = 1000


def on_virtual_clock(main: Callable[[], Awaitable[Any]]) -> Any:
    loop = looptime.new_event_loop(start=0)
    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


def blob(size: int, seed: int = 19) -> bytes:
    return random.Random(seed).randbytes(size)


async def _stacks(link: LinkConfig = LOSSY) -> tuple[LiveNetwork, Stack, Stack]:
    net = LiveNetwork(link, seed=19)
    client = Stack(net.add_host(Host("10.0.0.1", CONFIG)))
    server = Stack(net.add_host(Host("10.0.0.2", CONFIG)))
    return net, client, server


def test_httpx_fetches_from_uvicorn_over_a_lossy_link() -> None:
    body = blob(BODY_SIZE)

    async def main() -> None:
        net, client, server = await _stacks()
        asgi = await serve_asgi(server, demo_app({"/blob": body}), 8000)
        transport = http_transport(client, hosts={"server.test": "10.0.0.2"})
        async with httpx.AsyncClient(transport=transport) as http:
            response = await http.get("http://server.test:8000/blob")
            assert response.status_code == 200
            assert response.headers["server"] == "uvicorn"
            assert hashlib.sha256(response.content).digest() == hashlib.sha256(body).digest()
            missing = await http.get("http://server.test:8000/nothing")  # the same connection
            assert missing.status_code == 404
            stream = response.extensions["network_stream"]
            info = stream.get_extra_info("synack")
            assert isinstance(info, SynackInfo)
            assert info.stats.bytes_received >= BODY_SIZE
            (served,) = asgi.server.connections
            sent = served.get_extra_info("synack").stats
            assert sent.retransmitted_segments > 0  # the loss was real, and repaired
        assert asgi.total_requests == 2
        await asyncio.wait_for(asgi.shutdown(), 30)
        assert net.packets_lost > 0
        net.close()

    on_virtual_clock(main)


def test_httpcore_errors_come_as_httpcore_exceptions() -> None:
    async def main() -> None:
        net, client, _ = await _stacks(LinkConfig(delay=0.005))
        backend = SynackBackend(client)
        with pytest.raises(httpcore.ConnectError, match="refused"):
            await backend.connect_tcp("10.0.0.2", 8000)
        with pytest.raises(httpcore.ConnectTimeout):
            await backend.connect_tcp("10.0.0.9", 8000, timeout=1.0)
        with pytest.raises(httpcore.ConnectError, match="resolves no names"):
            await backend.connect_tcp("example.test", 80)
        async with httpx.AsyncClient(transport=http_transport(client)) as http:
            with pytest.raises(httpx.ConnectError):
                await http.get("http://10.0.0.2:8000/")
        net.close()

    on_virtual_clock(main)


def test_websockets_exchange_a_thousand_messages_over_a_lossy_link() -> None:
    async def echo(connection: ServerConnection) -> None:
        async for message in connection:
            await connection.send(message)

    async def main() -> None:
        net, client, server = await _stacks()
        with server.routing():  # websockets' serve() calls loop.create_server
            ws_server = await serve(echo, "10.0.0.2", 8765)
        with client.routing():  # and connect() loop.create_connection
            ws = await connect("ws://10.0.0.2:8765/", proxy=None)
        rng = random.Random(1)
        for i in range(MESSAGES):
            message = f"{i}:" + "x" * rng.randrange(2000)
            await ws.send(message)
            assert await ws.recv() == message
        await ws.close()
        assert ws.close_code == 1000
        ws_server.close()
        await asyncio.wait_for(ws_server.wait_closed(), 30)
        assert net.packets_lost > 0
        net.close()

    on_virtual_clock(main)


def test_httpx_sees_uvicorn_close_an_idle_keep_alive_connection() -> None:
    """uvicorn closes a keep-alive connection idle for 5 s; the pool finds it
    readable (the FIN) and opens a new one rather than write into the old."""

    async def main() -> None:
        net, client, server = await _stacks(LinkConfig(delay=0.005))
        asgi = await serve_asgi(server, demo_app(), 8000, timeout_keep_alive=5)
        async with httpx.AsyncClient(transport=http_transport(client)) as http:
            first = await http.get("http://10.0.0.2:8000/")
            stream = first.extensions["network_stream"]
            assert not stream.get_extra_info("is_readable")
            await asyncio.sleep(6)  # virtual seconds: uvicorn's keep-alive timeout fires
            assert stream.get_extra_info("is_readable")
            second = await http.get("http://10.0.0.2:8000/")
            assert second.text == first.text
            assert second.extensions["network_stream"] is not stream
        await asgi.shutdown()
        net.close()

    on_virtual_clock(main)


def test_an_unread_httpcore_stream_closes_the_window_rather_than_buffer_it_all() -> None:
    """A response nobody reads yet: the stream stops reading past its limit (the
    receive window closes), then hands over every byte once read."""
    body = blob(BODY_SIZE)

    class Sender(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            transport.write(body)
            transport.write_eof()

    async def main() -> None:
        net, client, server = await _stacks(LinkConfig(delay=0.005))
        await server.create_server(Sender, None, 9000)
        stream = await SynackBackend(client).connect_tcp("10.0.0.2", 9000)
        await asyncio.sleep(2)
        unread = stream._protocol.buffer
        assert 0 < len(unread) < BODY_SIZE // 4
        assert not stream.transport.is_reading()
        got = bytearray()
        while chunk := await stream.read(65536, timeout=10):
            got += chunk
        assert got == body
        await stream.aclose()
        net.close()

    on_virtual_clock(main)
