"""How a server's callback ends, as asyncio reports it: an exception it raises
is reported (and its connection closed), as asyncio.start_server does; a
callback still running when ``asyncio.run`` ends is cancelled without a word
(Python 3.11's StreamReaderProtocol once logged a CancelledError for it)."""

from __future__ import annotations

import asyncio
from typing import Any

from synack.aio import Stack
from synack.host import Host
from synack.sim.live import LiveNetwork
from synack.sim.network import LinkConfig


async def _stacks() -> tuple[Stack, Stack]:
    net = LiveNetwork(LinkConfig(delay=0.001))
    return Stack(net.add_host(Host("10.0.0.1"))), Stack(net.add_host(Host("10.0.0.2")))


def test_an_exception_in_the_callback_is_reported_and_closes_the_connection() -> None:
    reported: list[dict[str, Any]] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readexactly(4)
        raise ValueError("bad request")

    async def main() -> bytes:
        asyncio.get_running_loop().set_exception_handler(lambda _, ctx: reported.append(ctx))
        client, server = await _stacks()
        await server.start_server(handler, None, 7)
        reader, writer = await client.open_connection("10.0.0.2", 7)
        writer.write(b"ping")
        data = await asyncio.wait_for(reader.read(), 10)  # EOF: the server closed
        writer.close()
        await writer.wait_closed()
        return data

    assert asyncio.run(main()) == b""
    assert [ctx["message"] for ctx in reported] == ["Unhandled exception in client_connected_cb"]
    assert isinstance(reported[0]["exception"], ValueError)


def test_a_callback_running_when_asyncio_run_ends_is_cancelled_quietly() -> None:
    reported: list[dict[str, Any]] = []
    cancelled = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.read()  # the client never closes
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _, ctx: reported.append(ctx))
        client, server = await _stacks()
        await server.start_server(handler, None, 7)
        _, writer = await client.open_connection("10.0.0.2", 7)
        writer.write(b"hello")
        await asyncio.sleep(0.05)  # the handler is reading

    asyncio.run(main())
    assert cancelled == [True]
    assert reported == []
