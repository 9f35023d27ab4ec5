"""synack.aio streams over simulated links on a real loop (synack.sim.live).

The same application code runs over the TUN driver in tests/interop.
"""

from __future__ import annotations

import asyncio
import hashlib
import os

import pytest

from synack.aio import Stack, open_connection, start_server
from synack.host import Host
from synack.sim.live import LiveNetwork
from synack.sim.network import LinkConfig
from synack.tcp.config import TcpConfig
from synack.tcp.state import State

CONFIG = TcpConfig(msl=0.05)  # a short TIME-WAIT keeps the tests quick


async def _pair(link: LinkConfig | None = None) -> tuple[LiveNetwork, Stack, Stack]:
    net = LiveNetwork(link or LinkConfig(delay=0.001))
    client = Stack(net.add_host(Host("10.0.0.1", CONFIG)))
    server = Stack(net.add_host(Host("10.0.0.2", CONFIG)))
    return net, client, server


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()
    await writer.wait_closed()


async def _exchange(
    client: Stack, payload: bytes, port: int = 7
) -> tuple[bytes, asyncio.StreamWriter]:
    reader, writer = await open_connection("10.0.0.2", port, stack=client)

    async def send() -> None:
        writer.write(payload)
        await writer.drain()
        writer.write_eof()

    sender = asyncio.create_task(send())
    received = await reader.read()
    await sender
    return received, writer


def test_echo_of_a_megabyte_is_exact() -> None:
    async def main() -> None:
        net, client, server = await _pair()
        await start_server(_echo, None, 7, stack=server)
        payload = os.urandom(1_000_000)
        received, writer = await _exchange(client, payload)
        assert hashlib.sha256(received).digest() == hashlib.sha256(payload).digest()
        writer.close()
        await writer.wait_closed()
        net.close()

    asyncio.run(main())


def test_echo_survives_loss_reordering_and_duplication() -> None:
    async def main() -> None:
        link = LinkConfig(delay=0.002, loss=0.03, reorder=0.05, duplicate=0.02)
        net, client, server = await _pair(link)
        await start_server(_echo, None, 7, stack=server)
        payload = os.urandom(200_000)
        received, writer = await _exchange(client, payload)
        assert received == payload
        assert net.packets_lost > 0  # the link did lose packets
        writer.close()
        await writer.wait_closed()
        net.close()

    asyncio.run(main())


def test_write_eof_is_a_half_close() -> None:
    """The server answers after the client's FIN; the client still reads it."""

    async def main() -> None:
        net, client, server = await _pair()

        async def count(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            data = await reader.read()  # up to the client's FIN
            writer.write(f"{len(data)} bytes".encode())
            writer.close()
            await writer.wait_closed()

        await start_server(count, None, 80, stack=server)
        reader, writer = await open_connection("10.0.0.2", 80, stack=client)
        writer.write(b"x" * 5000)
        writer.write_eof()
        conn = writer.get_extra_info("connection")
        assert await reader.read() == b"5000 bytes"
        assert conn.state in (State.FIN_WAIT_2, State.TIME_WAIT)
        writer.close()
        await writer.wait_closed()
        net.close()

    asyncio.run(main())


def test_close_follows_the_four_way_handshake() -> None:
    async def main() -> None:
        net, client, server = await _pair()
        closed = asyncio.Event()
        server_conns = []

        async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            server_conns.append(writer.get_extra_info("connection"))
            assert await reader.read() == b""  # the client's FIN
            writer.close()
            await writer.wait_closed()
            closed.set()

        await start_server(hold, None, 9, stack=server)
        _, writer = await open_connection("10.0.0.2", 9, stack=client)
        conn = writer.get_extra_info("connection")
        writer.close()
        await writer.wait_closed()
        # the active closer is done in TIME-WAIT, the passive one in CLOSED
        assert client.host.state_of(conn) is State.TIME_WAIT
        await asyncio.wait_for(closed.wait(), 2)
        assert server.host.state_of(server_conns[0]) is State.CLOSED
        await asyncio.sleep(0.15)  # 2 MSL
        assert client.host.state_of(conn) is State.CLOSED
        net.close()

    asyncio.run(main())


def test_connection_refused() -> None:
    async def main() -> None:
        net, client, _ = await _pair()
        with pytest.raises(ConnectionRefusedError, match="connection refused"):
            await open_connection("10.0.0.2", 81, stack=client)
        net.close()

    asyncio.run(main())


def test_abort_gives_the_peer_connection_reset() -> None:
    async def main() -> None:
        net, client, server = await _pair()
        outcome: asyncio.Future[BaseException | bytes] = asyncio.get_running_loop().create_future()

        async def reader_side(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                outcome.set_result(await reader.read())
            except ConnectionResetError as exc:
                outcome.set_result(exc)

        await start_server(reader_side, None, 9, stack=server)
        _, writer = await open_connection("10.0.0.2", 9, stack=client)
        writer.write(b"partial")
        await writer.drain()
        writer.transport.abort()
        result = await asyncio.wait_for(outcome, 2)
        assert isinstance(result, ConnectionResetError)
        net.close()

    asyncio.run(main())


def test_slow_reader_pauses_the_sender_through_the_window() -> None:
    """A reader that does not read lets the receive buffer fill: the window
    closes, the sender's writes back up, and nothing is lost."""

    async def main() -> None:
        net = LiveNetwork(LinkConfig(delay=0.001))
        small = TcpConfig(msl=0.05, recv_buffer=16384, send_buffer=16384)
        client = Stack(net.add_host(Host("10.0.0.1", small)))
        server = Stack(net.add_host(Host("10.0.0.2", small)))
        started = asyncio.Event()
        go = asyncio.Event()
        got = bytearray()

        async def lazy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            started.set()
            await go.wait()
            while data := await reader.read(4096):
                got.extend(data)
            writer.close()

        await server.start_server(lazy, None, 9, limit=4096)
        _, writer = await client.open_connection("10.0.0.2", 9)
        await started.wait()
        payload = os.urandom(300_000)
        writer.write(payload)
        await asyncio.sleep(0.2)
        assert writer.transport.get_write_buffer_size() > 200_000  # held back by the window
        go.set()
        await writer.drain()
        writer.write_eof()
        for _ in range(200):
            if len(got) == len(payload):
                break
            await asyncio.sleep(0.01)
        assert bytes(got) == payload
        writer.close()
        net.close()

    asyncio.run(main())


def test_start_server_needs_a_port() -> None:
    async def main() -> None:
        net, _, server = await _pair()
        with pytest.raises(ValueError, match="port"):
            await server.start_server(_echo, None, 0)
        net.close()

    asyncio.run(main())
