"""A reader that pauses for ten minutes, synack to synack through synack.aio.

The loop's clock is fast-forwarded (looptime), so ten minutes of TCP take a
fraction of a second: the receiver's window closes, the sender probes it
(RFC 9293 3.8.6.1) and the receiver answers every probe, so the connection
stays up; the writer's drain() waits instead of failing, and every byte
arrives once the reader reads again.
"""

from __future__ import annotations

import asyncio
import os

import looptime

from synack.aio import Stack
from synack.host import Host
from synack.sim.live import LiveNetwork
from synack.sim.network import LinkConfig
from synack.tcp.config import TcpConfig

PAUSE = 600.0  # seconds of virtual time


def test_a_ten_minute_pause_loses_nothing_and_raises_nothing() -> None:
    async def main() -> None:
        net = LiveNetwork(LinkConfig(delay=0.010))
        config = TcpConfig(msl=0.05, recv_buffer=65536, send_buffer=65536)
        client = Stack(net.add_host(Host("10.0.0.1", config)))
        server = Stack(net.add_host(Host("10.0.0.2", config)))
        loop = asyncio.get_running_loop()
        got = bytearray()
        done = asyncio.Event()
        resumed_at: list[float] = []

        async def pausing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            got.extend(await reader.read(1000))
            await asyncio.sleep(PAUSE)  # stops reading: the window closes
            resumed_at.append(loop.time())
            while data := await reader.read(65536):
                got.extend(data)
            writer.close()
            done.set()

        await server.start_server(pausing, None, 9)
        _, writer = await client.open_connection("10.0.0.2", 9)
        payload = os.urandom(1_000_000)
        started = loop.time()
        writer.write(payload)
        await writer.drain()  # waits out the pause; must not raise
        assert resumed_at and loop.time() - started >= PAUSE
        writer.write_eof()
        await asyncio.wait_for(done.wait(), 60)
        assert bytes(got) == payload
        stats = writer.get_extra_info("connection").stats
        # no loss was ever presumed: no fast retransmit, no timeout; and the link
        # kept the order (packets due at one instant arrive as they were sent),
        # so there was not even a duplicate ACK
        assert stats.fast_retransmits == 0 and stats.timeouts == 0
        assert stats.duplicate_acks == 0
        writer.close()
        net.close()

    loop = looptime.new_event_loop(start=0)
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
