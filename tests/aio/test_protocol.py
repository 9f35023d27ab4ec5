"""synack.aio's Transport/Protocol layer, with asyncio's semantics: plain
asyncio.Protocol classes over ``create_connection``/``create_server`` on
simulated links (synack.sim.live)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest

from synack.aio import Server, Stack, SynackInfo, TcpTransport
from synack.host import Host
from synack.sim.live import LiveNetwork
from synack.sim.network import LinkConfig
from synack.tcp.config import TcpConfig
from synack.tcp.state import State

CONFIG = TcpConfig(msl=0.05)


async def _pair(config: TcpConfig = CONFIG) -> tuple[LiveNetwork, Stack, Stack]:
    net = LiveNetwork(LinkConfig(delay=0.001))
    return (
        net,
        Stack(net.add_host(Host("10.0.0.1", config))),
        Stack(net.add_host(Host("10.0.0.2", config))),
    )


class Recorder(asyncio.Protocol):
    """Every callback, in order; the bytes received; the end."""

    def __init__(self, keep_open: bool = False) -> None:
        self.calls: list[str] = []
        self.data = bytearray()
        self.transport: Any = None
        self.lost: asyncio.Future[Exception | None] = asyncio.get_running_loop().create_future()
        self.keep_open = keep_open

    def connection_made(self, transport: Any) -> None:
        self.calls.append("connection_made")
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if not self.calls or self.calls[-1] != "data_received":
            self.calls.append("data_received")
        self.data += data

    def eof_received(self) -> bool:
        self.calls.append("eof_received")
        return self.keep_open

    def pause_writing(self) -> None:
        self.calls.append("pause_writing")

    def resume_writing(self) -> None:
        self.calls.append("resume_writing")

    def connection_lost(self, exc: Exception | None) -> None:
        self.calls.append("connection_lost")
        self.lost.set_result(exc)


class Echo(asyncio.Protocol):
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)

    def eof_received(self) -> bool:
        return False  # asyncio closes the transport: our FIN after the echo


def test_protocols_exchange_and_close_in_asyncio_order() -> None:
    async def main() -> None:
        net, client, server = await _pair()
        echo = await server.create_server(Echo, None, 7)
        payload = os.urandom(300_000)
        transport, proto = await client.create_connection(
            lambda: Recorder(keep_open=True), "10.0.0.2", 7
        )
        assert isinstance(transport, TcpTransport) and isinstance(proto, Recorder)
        assert transport.get_protocol() is proto
        assert transport.can_write_eof()
        transport.writelines([payload[:1000], payload[1000:]])
        transport.write_eof()
        assert await asyncio.wait_for(proto.lost, 10) is None
        assert bytes(proto.data) == payload
        assert proto.calls == [
            "connection_made", "data_received", "eof_received", "connection_lost",
        ]  # fmt: skip
        assert transport.is_closing()
        echo.close()
        await asyncio.wait_for(echo.wait_closed(), 5)
        net.close()

    asyncio.run(main())


def test_extra_info_names_the_ends_and_the_connection() -> None:
    async def main() -> None:
        net, client, server = await _pair()
        await server.create_server(Echo, "10.0.0.2", 7)
        transport, proto = await client.create_connection(
            Recorder, "10.0.0.2", 7, local_addr=("10.0.0.1", 40000)
        )
        assert transport.get_extra_info("peername") == ("10.0.0.2", 7)
        assert transport.get_extra_info("sockname") == ("10.0.0.1", 40000)
        assert transport.get_extra_info("socket") is None
        assert transport.get_extra_info("nothing", "default") == "default"
        transport.write(b"x" * 5000)
        for _ in range(100):
            if len(proto.data) == 5000:
                break
            await asyncio.sleep(0.005)
        info = transport.get_extra_info("synack")
        assert isinstance(info, SynackInfo)
        assert info.state is State.ESTABLISHED
        assert info.status is not None and info.status.snd_una == info.status.snd_nxt
        assert info.stats.bytes_sent == 5000 and info.stats.bytes_received == 5000
        assert info.connection is transport.get_extra_info("connection")
        transport.close()
        await asyncio.wait_for(proto.lost, 5)
        after = transport.get_extra_info("synack")
        assert after.state is State.TIME_WAIT and after.stats.bytes_sent == 5000
        assert info.stats.segments_sent < after.stats.segments_sent  # a snapshot, not a view
        net.close()

    asyncio.run(main())


def test_write_buffer_limits_pause_and_resume_the_protocol_by_the_send_buffer() -> None:
    """A reader that stops: the send buffer fills, the transport's own buffer
    passes the high-water mark (pause_writing); once the reader reads, ACKs
    free the send buffer and the rest moves in (resume_writing)."""

    async def main() -> None:
        small = TcpConfig(msl=0.05, recv_buffer=16384, send_buffer=16384)
        net, client, server = await _pair(small)
        readers: list[Recorder] = []

        def stalled() -> Recorder:
            readers.append(Recorder())
            return readers[-1]

        await server.create_server(stalled, None, 9)
        transport, proto = await client.create_connection(Recorder, "10.0.0.2", 9)
        with pytest.raises(ValueError, match="high"):
            transport.set_write_buffer_limits(high=10, low=20)
        transport.set_write_buffer_limits(high=32768)
        assert transport.get_write_buffer_limits() == (8192, 32768)
        await asyncio.sleep(0.01)
        readers[0].transport.pause_reading()
        assert not readers[0].transport.is_reading()
        payload = os.urandom(200_000)
        transport.write(payload)
        assert proto.calls[-1] == "pause_writing"
        # the send buffer took what it holds; the transport keeps the rest
        assert transport.get_write_buffer_size() == len(payload) - small.send_buffer
        await asyncio.sleep(0.2)
        assert proto.calls[-1] == "pause_writing"  # the window is shut
        assert readers[0].data == b""
        readers[0].transport.resume_reading()
        for _ in range(400):
            if len(readers[0].data) == len(payload):
                break
            await asyncio.sleep(0.005)
        assert bytes(readers[0].data) == payload
        assert proto.calls.count("resume_writing") == 1
        assert transport.get_write_buffer_size() == 0
        transport.close()
        await asyncio.wait_for(proto.lost, 5)
        net.close()

    asyncio.run(main())


def test_a_failing_callback_is_reported_and_aborts_the_connection() -> None:
    reported: list[dict[str, Any]] = []

    class Broken(asyncio.Protocol):
        def data_received(self, data: bytes) -> None:
            raise ValueError("bad data")

    async def main() -> Exception | None:
        asyncio.get_running_loop().set_exception_handler(lambda _, ctx: reported.append(ctx))
        net, client, server = await _pair()
        await server.create_server(Broken, None, 7)
        transport, proto = await client.create_connection(Recorder, "10.0.0.2", 7)
        transport.write(b"hello")
        result = await asyncio.wait_for(proto.lost, 5)
        net.close()
        return result

    exc = asyncio.run(main())
    assert isinstance(exc, ConnectionResetError)  # the server's RST
    assert [ctx["message"] for ctx in reported] == [
        "Fatal error: protocol.data_received() call failed."
    ]
    assert isinstance(reported[0]["exception"], ValueError)


def test_a_buffered_protocol_reads_into_its_own_buffer() -> None:
    class Into(asyncio.BufferedProtocol):
        def __init__(self) -> None:
            self.buffer = bytearray(1000)
            self.got = bytearray()
            self.done = asyncio.get_running_loop().create_future()

        def get_buffer(self, sizehint: int) -> bytearray:
            return self.buffer

        def buffer_updated(self, nbytes: int) -> None:
            self.got += self.buffer[:nbytes]

        def eof_received(self) -> None:
            self.done.set_result(bytes(self.got))

    async def main() -> None:
        net, client, server = await _pair()
        protocols: list[Into] = []
        await server.create_server(lambda: protocols.append(Into()) or protocols[-1], None, 7)
        transport, _ = await client.create_connection(asyncio.Protocol, "10.0.0.2", 7)
        payload = os.urandom(50_000)
        transport.write(payload)
        transport.write_eof()
        await asyncio.sleep(0.05)
        assert await asyncio.wait_for(protocols[0].done, 5) == payload
        net.close()

    asyncio.run(main())


def test_create_connection_refused_and_cancelled() -> None:
    async def main() -> None:
        net = LiveNetwork(LinkConfig(delay=0.001))
        client = Stack(net.add_host(Host("10.0.0.1", CONFIG)))
        Stack(net.add_host(Host("10.0.0.2", CONFIG)))
        with pytest.raises(ConnectionRefusedError):
            await client.create_connection(Recorder, "10.0.0.2", 81)
        # nobody at 10.0.0.3: the SYN goes unanswered; cancelling aborts the attempt
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(client.create_connection(Recorder, "10.0.0.3", 80), 0.3)
        assert not client.host.connections
        with pytest.raises(ValueError, match="not supported"):
            await client.create_connection(Recorder, "10.0.0.2", 80, ssl=True)
        with pytest.raises(TypeError, match="unexpected keyword"):
            await client.create_connection(Recorder, "10.0.0.2", 80, bogus=1)
        net.close()

    asyncio.run(main())


def test_server_close_wait_closed_and_serve_forever() -> None:
    async def main() -> None:
        net, client, server = await _pair()
        srv = await server.create_server(Echo, None, 7, start_serving=False)
        assert isinstance(srv, Server) and not srv.is_serving()
        with pytest.raises(ConnectionRefusedError):  # not listening yet
            await client.create_connection(Recorder, "10.0.0.2", 7)
        forever = asyncio.create_task(srv.serve_forever())
        await asyncio.sleep(0)
        assert srv.is_serving() and srv.get_loop() is asyncio.get_running_loop()
        transport, proto = await client.create_connection(Recorder, "10.0.0.2", 7)
        transport.write(b"ping")
        await asyncio.sleep(0.01)
        assert proto.data == b"ping" and len(srv.connections) == 1
        forever.cancel()  # closes the server, then waits for the connection to end
        waiting = asyncio.create_task(srv.wait_closed())
        await asyncio.sleep(0.05)
        assert not srv.is_serving() and not waiting.done() and not forever.done()
        with pytest.raises(ConnectionRefusedError):
            await client.create_connection(Recorder, "10.0.0.2", 7)
        transport.write(b"pong")
        transport.write_eof()  # the echo closes after our FIN: the last connection ends
        await asyncio.wait_for(waiting, 5)
        with pytest.raises(asyncio.CancelledError):
            await forever
        assert proto.data == b"pingpong"
        async with await server.create_server(Echo, None, 8) as other:
            assert other.is_serving()
        assert not other.is_serving()
        net.close()

    asyncio.run(main())


def test_routing_runs_asyncio_streams_over_synack() -> None:
    """asyncio.start_server and asyncio.open_connection, unchanged, over synack."""

    async def main() -> None:
        net, client, server = await _pair()

        async def upper(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write((await reader.read()).upper())
            writer.close()

        loop = asyncio.get_running_loop()
        with server.routing():
            srv = await asyncio.start_server(upper, "10.0.0.2", 80)
        assert isinstance(srv, Server)
        with client.routing():
            reader, writer = await asyncio.open_connection("10.0.0.2", 80)
        assert "create_connection" not in loop.__dict__  # the loop is itself again
        assert isinstance(writer.transport, TcpTransport)
        writer.write(b"over synack")
        writer.write_eof()
        assert await reader.read() == b"OVER SYNACK"
        writer.close()
        await writer.wait_closed()
        net.close()

    asyncio.run(main())


def test_data_waiting_behind_pause_reading_outlives_the_connection() -> None:
    """The peer's data and FIN wait while reading is paused; our FIN then ends
    the connection (LAST-ACK to CLOSED): the data is still handed over on
    resume_reading, and only then comes connection_lost."""
    payload = os.urandom(200_000)

    class Sender(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            transport.write(payload)
            transport.close()

    async def main() -> None:
        net, client, server = await _pair()
        await server.create_server(Sender, None, 7)
        transport, proto = await client.create_connection(
            lambda: Recorder(keep_open=True), "10.0.0.2", 7
        )
        assert isinstance(proto, Recorder)
        transport.pause_reading()
        await asyncio.sleep(0.2)
        transport.write_eof()
        await asyncio.sleep(0.2)
        assert transport.get_extra_info("synack").state is State.CLOSED
        assert not proto.lost.done()
        transport.resume_reading()
        assert await asyncio.wait_for(proto.lost, 5) is None
        assert bytes(proto.data) == payload
        assert proto.calls[-2:] == ["eof_received", "connection_lost"]
        net.close()

    asyncio.run(main())


def test_written_bytes_are_copied_at_write_whether_the_send_buffer_takes_them_or_not() -> None:
    """A bytearray changed after ``write``: the peer gets it as it was, in order,
    both for bytes the send buffer took at once and for those the transport
    kept (the send buffer is 16 KiB; the writes are 10 and 30 KB)."""

    async def main() -> None:
        small = TcpConfig(msl=0.05, recv_buffer=16384, send_buffer=16384)
        net, client, server = await _pair(small)
        readers: list[Recorder] = []

        def reader() -> Recorder:
            readers.append(Recorder())
            return readers[-1]

        await server.create_server(reader, None, 9)
        transport, proto = await client.create_connection(Recorder, "10.0.0.2", 9)
        await asyncio.sleep(0.01)  # the server has accepted
        first, second = bytearray(os.urandom(10_000)), bytearray(os.urandom(30_000))
        expected = bytes(first) + bytes(second)
        transport.write(first)  # taken whole by the empty send buffer
        assert transport.get_write_buffer_size() == 0
        transport.write(second)  # 6,384 bytes taken, the rest kept
        assert transport.get_write_buffer_size() == len(expected) - small.send_buffer
        first[:] = bytes(len(first))
        second[:] = bytes(len(second))
        for _ in range(400):
            if len(readers[0].data) == len(expected):
                break
            await asyncio.sleep(0.005)
        assert bytes(readers[0].data) == expected
        transport.close()
        await asyncio.wait_for(proto.lost, 5)
        net.close()

    asyncio.run(main())
