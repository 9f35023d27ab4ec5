"""synack.aio with TCP Fast Open (RFC 7413): a server's callback gets a Fast Open
connection with its SYN's data, before the handshake completes, and answers at once."""

from __future__ import annotations

import asyncio

from synack.aio import Stack, start_server
from synack.host import Host
from synack.sim.live import LiveNetwork
from synack.sim.network import LinkConfig
from synack.tcp.config import TcpConfig
from synack.tcp.connection import Connection
from synack.tcp.state import State

CONFIG = TcpConfig(msl=0.05, fastopen_client=True, fastopen_server=True)


async def _reply_of(conn: Connection, size: int) -> bytes:
    data = b""
    for _ in range(500):
        data += conn.receive()
        if len(data) >= size:
            return data
        await asyncio.sleep(0.005)
    raise AssertionError(f"no reply: {data!r}")


def test_fast_open_connection_reaches_the_callback_in_syn_received() -> None:
    async def main() -> None:
        net = LiveNetwork(LinkConfig(delay=0.01))
        client = Stack(net.add_host(Host("10.0.0.1", CONFIG)))
        server = Stack(net.add_host(Host("10.0.0.2", CONFIG)))
        states: list[State] = []

        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            states.append(writer.transport.conn.state)  # type: ignore[attr-defined]
            line = await reader.readline()
            writer.write(b"got " + line)
            await writer.drain()
            writer.close()

        await start_server(answer, None, 80, stack=server, fastopen=16)
        host = client.host
        for _ in range(2):
            conn = host.connect(("10.0.0.2", 80), client.driver.now(), fastopen=True, data=b"hi\n")
            client.driver.flush()
            assert await _reply_of(conn, 7) == b"got hi\n"
        # the first asked for a cookie; the second carried the request in its SYN
        assert host.fastopen_cache.cookie(server.host.addresses[0]) is not None
        assert states == [State.ESTABLISHED, State.SYN_RECEIVED]
        assert conn.stats.syn_data_acked
        net.close()

    asyncio.run(main())
