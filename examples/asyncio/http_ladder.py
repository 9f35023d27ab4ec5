"""An HTTP exchange between unmodified asyncio software over synack, drawn as a
ladder: uvicorn's H11Protocol serves an ASGI app on one synack Host, httpx
fetches ``/`` from another through synack's httpcore backend, over a
simulated 10 ms link on a virtual clock (looptime, from the test extras:
``pip install '.[test]'``). docs/asyncio.md shows its output, and
tests/aio/test_asyncio_guide.py checks that it still does.

    python examples/asyncio/http_ladder.py
"""

from __future__ import annotations

import asyncio
import io

import httpx
import looptime
from rich.console import Console

from synack.aio import Stack
from synack.aio.httpcore_backend import http_transport
from synack.apps.asgi import demo_app, serve_asgi
from synack.host import Host
from synack.sim.live import LiveNetwork
from synack.sim.network import LinkConfig
from synack.tcp.config import TcpConfig
from synack.trace.ladder import render_ladder
from synack.trace.records import TraceRecorder


async def exchange(recorder: TraceRecorder) -> str:
    net = LiveNetwork(LinkConfig(delay=0.010))
    config = TcpConfig(msl=0.5)
    hosts = [
        # fixed secrets: the same ISNs every run (RFC 6528's hash, on the virtual clock)
        Host(address, config, tracer=recorder.endpoint(name), secret=name.encode().ljust(16))
        for address, name in (("10.0.0.1", "client"), ("10.0.0.2", "server"))
    ]
    client, server = (Stack(net.add_host(host)) for host in hosts)
    asgi = await serve_asgi(server, demo_app(), 8000)  # uvicorn's own protocol class
    async with httpx.AsyncClient(transport=http_transport(client)) as http:
        response = await http.get("http://10.0.0.2:8000/")
    await asyncio.sleep(2)  # the close and TIME-WAIT (2 x MSL) run their course
    await asgi.shutdown()
    net.close()
    return f"{response.http_version} {response.status_code}: {response.text!r}"


def main() -> str:
    recorder = TraceRecorder()
    loop = looptime.new_event_loop(start=0)
    try:
        said = loop.run_until_complete(exchange(recorder))
    finally:
        loop.close()
    out = io.StringIO()
    console = Console(file=out, width=100, color_system=None, highlight=False)
    render_ladder(recorder, console, left="client", right="server")
    return said + "\n\n" + out.getvalue()


if __name__ == "__main__":
    print(main(), end="")
