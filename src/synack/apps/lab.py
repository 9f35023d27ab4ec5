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
from dataclasses import replace
from typing import TextIO

from synack.aio import Stack
from synack.apps.live_trace import LiveTrace
from synack.apps.servers import Handler
from synack.host import Host
from synack.net.driver import TunDriver
from synack.net.lab import Lab
from synack.sim.network import Link, LinkConfig
from synack.tcp.config import TcpConfig
from synack.tcp.connection import Connection
from synack.tcp.state import State
from synack.tcp.tracer import Tracer
from synack.wire.ip import IPAddress
from synack.wire.segment import SYN, Segment

OFFLOAD_BYTES = 65536  # the most one super-segment carries, as Linux's GSO_MAX_SIZE


def lab_stack(
    lab: Lab,
    trace: LiveTrace | None = None,
    impair: LinkConfig | None = None,
    config: TcpConfig | None = None,
    tracer: Tracer | None = None,
) -> tuple[Stack, TunDriver]:
    """Enter the lab, attach to the first free TUN device (:meth:`Lab.attach`)
    and start a Host for that device's addresses, its MSS from the lab's MTU.
    ``tracer`` is told too (after the live trace, if any). With
    ``lab.offload``, the Host's segmentation offload is 64 KB when the device
    took the offloads, and off (said once on stderr) when the kernel refused."""
    lab.enter()
    place = lab.attach()
    if place.offload_refused is not None:
        print(f"synack: {place.offload_refused}: plain packets instead", file=sys.stderr)
    if config is None:
        config = TcpConfig(mtu=place.mtu)
    if lab.offload:
        config = replace(config, segmentation_offload=OFFLOAD_BYTES if place.offload else 0)
    tracers: list[Tracer] = [
        t for t in (trace.tracer() if trace is not None else None, tracer) if t is not None
    ]
    host = Host(
        [place.v4, place.v6],
        config,
        tracer=tracers[0] if len(tracers) == 1 else (TeeTracer(tracers) if tracers else None),
    )
    inbound, outbound = impairment(host, impair) if impair is not None else (None, None)
    driver = TunDriver(
        host, place.fd, inbound=inbound, outbound=outbound, vnet=place.offload, mtu=place.mtu
    )
    driver.device = place.device
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
    ready: Callable[[tuple[IPAddress, ...]], None] | None = None,
    impair: LinkConfig | None = None,
    fastopen: int = 0,
) -> None:
    """Serve ``port`` on synack's lab addresses until interrupted, or until
    ``count`` connections have been served. ``ready`` is called with the
    addresses served once listening. ``fastopen``: TCP Fast Open (RFC 7413)
    with this queue length (docs/fastopen.md); 0, off."""
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

    config = replace(stack.host.config, fastopen_server=True) if fastopen else None
    await stack.start_server(handle, None, port, fastopen=fastopen, config=config)
    if ready is not None:
        ready(stack.host.addresses)
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
    exit status: 0, or 1 when the connection failed. Each retransmission of
    the SYN gets a line on stderr as it happens."""
    stack, driver = lab_stack(lab, trace, impair, tracer=SynRetransmissions(host, port))
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


class TeeTracer:
    """One tracer hook feeding several."""

    def __init__(self, tracers: list[Tracer]) -> None:
        self.tracers = tracers

    def state_changed(
        self, conn: Connection | None, now: float, old: State, new: State, cause: str
    ) -> None:
        for tracer in self.tracers:
            tracer.state_changed(conn, now, old, new, cause)

    def segment(
        self,
        conn: Connection | None,
        now: float,
        direction: str,
        segment: Segment,
        reason: str | None,
        addresses: tuple[object, object] | None = None,
    ) -> None:
        for tracer in self.tracers:
            tracer.segment(conn, now, direction, segment, reason, addresses)

    def timer_fired(self, conn: Connection, now: float, timer: str) -> None:
        for tracer in self.tracers:
            tracer.timer_fired(conn, now, timer)

    def user_call(self, conn: Connection, now: float, call: str) -> None:
        for tracer in self.tracers:
            tracer.user_call(conn, now, call)


class SynRetransmissions:
    """A tracer hook that writes a line to stderr for each SYN sent again to
    ``host:port`` (``synack connect`` to an address that does not answer)::

        synack connect: 10.77.0.200:80: no answer; SYN sent again at 1.00 s (retransmission 1)
    """

    def __init__(self, host: str, port: int, out: TextIO | None = None) -> None:
        self.where = f"{host}:{port}"  # as the other lines of synack connect
        self.out = out
        self.first: float | None = None  # when the first SYN went
        self.count = 0

    def state_changed(
        self, conn: Connection | None, now: float, old: State, new: State, cause: str
    ) -> None:
        pass

    def segment(
        self,
        conn: Connection | None,
        now: float,
        direction: str,
        segment: Segment,
        reason: str | None,
        addresses: tuple[object, object] | None = None,
    ) -> None:
        if direction != "sent" or segment.flags & SYN == 0 or conn is None:
            return
        if conn.state is not State.SYN_SENT:
            return
        if self.first is None:
            self.first = now
            return
        self.count += 1
        out = self.out if self.out is not None else sys.stderr
        print(
            f"synack connect: {self.where}: no answer; SYN sent again at "
            f"{now - self.first:.2f} s (retransmission {self.count})",
            file=out,
            flush=True,
        )

    def timer_fired(self, conn: Connection, now: float, timer: str) -> None:
        pass

    def user_call(self, conn: Connection, now: float, call: str) -> None:
        pass
