"""What ``synack listen`` and ``synack connect`` run in the lab: small servers
(echo, discard, HTTP file server) and an nc-like client, over ``synack.aio``
streams on the TUN driver, with an optional live ladder and pcap."""

from __future__ import annotations

import asyncio
import mimetypes
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import h11
from rich.console import Console

from synack.aio import Stack
from synack.host import Host
from synack.net.driver import TunDriver
from synack.net.lab import Lab
from synack.net.tun import open_tun
from synack.sim.network import LinkConfig
from synack.tcp.config import TcpConfig
from synack.trace.ladder import ladder_lines
from synack.trace.pcap import write_pcap
from synack.trace.records import TraceRecorder
from synack.trace.timeline import build_timeline

SYNACK, KERNEL = "synack", "kernel"


class LiveTrace:
    """Records what crosses the TUN device and the Host's state changes; draws
    new ladder lines as they happen and writes a pcap at the end."""

    def __init__(self, ladder: bool, pcap: str | None, console: Console) -> None:
        self.recorder = TraceRecorder()
        self.ladder = ladder
        self.pcap = pcap
        self.console = console
        self._printed = 0

    def tracer(self) -> object:
        return self.recorder.endpoint(SYNACK)

    def wrap(self, driver: TunDriver) -> None:
        """Tap the driver's packets both ways."""
        receive, transmit = driver.receive, driver.transmit

        def tapped_receive(packets: list[bytes]) -> None:
            now = driver.now()
            for packet in packets:
                if _is_tcp(packet):  # not the kernel's neighbour discovery and such
                    self.recorder.packet(now, now, KERNEL, SYNACK, "delivered", packet)
            receive(packets)
            self.draw()

        def tapped_transmit(packets: list[bytes]) -> None:
            now = driver.now()
            for packet in packets:
                self.recorder.packet(now, now, SYNACK, KERNEL, "delivered", packet)
            transmit(packets)

        driver.receive = tapped_receive  # type: ignore[method-assign]
        driver.transmit = tapped_transmit  # type: ignore[method-assign]

    def draw(self) -> None:
        if not self.ladder or not self.recorder.records:
            return
        body = ladder_lines(build_timeline(self.recorder.records, SYNACK, KERNEL), footer=False)
        for line in body[self._printed :]:
            self.console.print(line)
        self._printed = max(self._printed, len(body))

    def finish(self) -> None:
        self.draw()
        if self.pcap:
            count = write_pcap(self.recorder, self.pcap)
            self.console.print(f"wrote {count} packets to {self.pcap}", style="dim")


def _is_tcp(packet: bytes) -> bool:
    if not packet:
        return False
    return (packet[9] if packet[0] >> 4 == 4 else packet[6]) == 6 if len(packet) > 9 else False


def lab_stack(
    lab: Lab,
    trace: LiveTrace | None = None,
    impair: LinkConfig | None = None,
    config: TcpConfig | None = None,
) -> tuple[Stack, TunDriver]:
    """Enter the lab, attach to its TUN device and start a Host for synack's
    addresses, its MSS from the device's MTU."""
    lab.enter()
    fd = open_tun(lab.device)
    tracer = trace.tracer() if trace is not None else None
    host = Host(
        [lab.synack_v4, lab.synack_v6],
        config if config is not None else TcpConfig(mtu=lab.device_mtu()),
        tracer=tracer,  # type: ignore[arg-type]
    )
    driver = TunDriver(host, fd, impair=impair)
    if trace is not None:
        trace.wrap(driver)
    return Stack(driver), driver


# ----------------------------------------------------------------------
# Servers
# ----------------------------------------------------------------------
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], object]


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Send back everything; close after the peer's FIN."""
    while data := await reader.read(1 << 20):
        writer.write(data)
        await writer.drain()
    writer.close()
    await writer.wait_closed()


async def discard(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read everything, send nothing; close after the peer's FIN."""
    while await reader.read(1 << 20):
        pass
    writer.close()
    await writer.wait_closed()


def http_files(root: Path) -> Handler:
    """An HTTP/1.1 file server for ``root`` (GET and HEAD; one request per
    connection), with h11 doing the HTTP."""
    root = root.resolve()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER)
        request: h11.Request | None = None
        while request is None:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await reader.read(65536)
                conn.receive_data(data)
                if not data:
                    break
            elif isinstance(event, h11.Request):
                request = event
            else:
                break
        if request is None:
            writer.close()
            return
        status, headers, body = _http_response(root, request)
        writer.write(conn.send(h11.Response(status_code=status, headers=headers)))
        if request.method != b"HEAD" and body is not None:
            with body:
                while chunk := body.read(1 << 20):
                    writer.write(conn.send(h11.Data(data=chunk)))
                    await writer.drain()
        writer.write(conn.send(h11.EndOfMessage()))
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    return serve


def _http_response(
    root: Path, request: h11.Request
) -> tuple[int, list[tuple[str, str]], BinaryIO | None]:
    target = request.target.decode("latin-1").split("?", 1)[0]
    path = (root / target.lstrip("/")).resolve()
    if path.is_dir():
        path = path / "index.html"
    common = [("Connection", "close"), ("Server", "synack")]
    if request.method not in (b"GET", b"HEAD"):
        return 405, [*common, ("Content-Length", "0")], None
    if root not in (path, *path.parents) or not path.is_file():
        return 404, [*common, ("Content-Length", "0")], None
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    size = path.stat().st_size
    return (
        200,
        [*common, ("Content-Type", kind), ("Content-Length", str(size))],
        path.open("rb"),
    )


async def listen(
    lab: Lab,
    port: int,
    handler: Handler,
    trace: LiveTrace | None,
    count: int | None = None,
    ready: Callable[[], None] | None = None,
    impair: LinkConfig | None = None,
) -> None:
    """Serve ``port`` on synack's lab addresses until interrupted, or until
    ``count`` connections have been served."""
    stack, driver = lab_stack(lab, trace, impair)
    served = 0
    done = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal served
        try:
            await handler(reader, writer)  # type: ignore[misc]
        except ConnectionError:
            pass
        finally:
            served += 1
            if count is not None and served >= count:
                done.set()

    await stack.start_server(handle, None, port)
    if ready is not None:
        ready()
    try:
        await done.wait()
        await asyncio.sleep(0.05)  # let the last ACKs go out
    finally:
        driver.close()
        if trace is not None:
            trace.finish()


async def connect(
    lab: Lab, host: str, port: int, trace: LiveTrace | None, impair: LinkConfig | None = None
) -> int:
    """nc-like: stdin to the peer (then our FIN), the peer to stdout. Returns the
    exit status: 0, or 1 when the connection failed."""
    stack, driver = lab_stack(lab, trace, impair)
    loop = asyncio.get_running_loop()
    try:
        try:
            reader, writer = await stack.open_connection(host, port)
        except (ConnectionError, TimeoutError) as exc:
            print(f"synack connect: {host}:{port}: {exc}", file=sys.stderr)
            return 1

        chunks: asyncio.Queue[bytes] = asyncio.Queue()

        def read_stdin() -> None:  # a daemon thread: a blocked read never holds up exit
            fd = sys.stdin.fileno()
            while True:
                data = os.read(fd, 65536)
                loop.call_soon_threadsafe(chunks.put_nowait, data)
                if not data:
                    return

        threading.Thread(target=read_stdin, daemon=True).start()

        async def upload() -> None:
            while data := await chunks.get():
                writer.write(data)
                await writer.drain()
            writer.write_eof()

        sender = asyncio.create_task(upload())
        out = sys.stdout.buffer
        try:
            while data := await reader.read(1 << 20):
                out.write(data)
                out.flush()
        except (ConnectionError, TimeoutError) as exc:
            print(f"synack connect: {host}:{port}: {exc}", file=sys.stderr)
            return 1
        finally:
            if not sender.done():
                sender.cancel()
        writer.close()
        await writer.wait_closed()
        return 0
    finally:
        driver.close()
        if trace is not None:
            trace.finish()
