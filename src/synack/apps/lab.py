"""What ``synack listen`` and ``synack connect`` run in the lab: a Host on the
TUN driver behind ``synack.aio`` streams, serving one of
:mod:`synack.apps.servers` or acting as an nc-like client, with an optional
live ladder and pcap (:mod:`synack.apps.live_trace`) and an optional
simulated link between the device and the Host (``--impair``)."""

from __future__ import annotations

import asyncio
import os
import random
import sys
import threading
from collections.abc import Callable

from synack.aio import Stack
from synack.apps.live_trace import LiveTrace
from synack.apps.servers import Handler
from synack.host import Host
from synack.net.driver import TunDriver
from synack.net.lab import Lab
from synack.net.tun import open_tun
from synack.sim.network import Link, LinkConfig
from synack.tcp.config import TcpConfig


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
        tracer=tracer,
    )
    inbound, outbound = impairment(host, impair) if impair is not None else (None, None)
    driver = TunDriver(host, fd, inbound=inbound, outbound=outbound)
    if trace is not None:
        trace.wrap(driver)
    return Stack(driver), driver


def impairment(host: Host, config: LinkConfig, seed: int = 1) -> tuple[Link, Link]:
    """Simulated links into and out of ``host`` (one random stream for both)."""
    rng = random.Random(seed)
    return Link(host, host, config, rng), Link(host, host, config, rng)


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
