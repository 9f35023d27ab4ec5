"""``synack bench asgi``: an ASGI app's requests per second over synack, against
the same app over the kernel's TCP, in one run.

Everything runs in a lab of its own (a network namespace, removed at the
end). This process serves :func:`synack.apps.asgi.demo_app` (``GET /``, a
31-byte reply) twice with uvicorn's own H11Protocol, from the same
``uvicorn.Config``: once over synack on the lab's TUN device (10.77.0.2),
once over the kernel's TCP (a socket of the loop's own ``create_server``,
on 10.77.0.1 inside the namespace). One client, a ``python3`` subprocess
inside the namespace on the kernel's TCP, loads each in turn the same way:

- keep-alive: ``connections`` connections, each with one request in flight
  (HTTP/1.1, the next request as soon as a response is complete);
- a connection per request: connect, ``Connection: close``, read to the
  end, one after another (the handshake and the 4-way close in every
  request; uvicorn closes first, so TIME-WAIT is the server's).

The figures are requests per second seen by the client, and the ratios
synack / kernel of the same run.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable

from synack.aio import Stack
from synack.apps.asgi import demo_app, serve_asgi, uvicorn_protocols
from synack.bench.results import AsgiResult
from synack.host import Host
from synack.net.driver import TunDriver
from synack.net.lab import Lab
from synack.net.tun import open_tun
from synack.tcp.config import TcpConfig

Progress = Callable[[str, float], None]
PORT_SYNACK, PORT_KERNEL = 8000, 8001

# The client, run with ``python3 -c`` inside the namespace: prints requests/s.
_CLIENT = r"""
import selectors, socket, sys, time
mode, host = sys.argv[1], sys.argv[4]
n, c, port = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[5])
KEEP = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
CLOSE = b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"

def complete(buf):
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return 0
    head = buf[:end].lower()
    if not head.startswith(b"http/1.1 200"):
        sys.exit("bad response: %r" % bytes(buf[:80]))
    length = int(head.split(b"content-length:")[1].split(b"\r\n")[0])
    total = end + 4 + length
    return total if len(buf) >= total else 0

def keep_alive():
    sel = selectors.DefaultSelector()
    for _ in range(c):
        s = socket.create_connection((host, port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, bytearray())
    start = time.perf_counter()
    sent = done = 0
    for key in list(sel.get_map().values()):
        key.fileobj.send(KEEP); sent += 1
    while done < n:
        events = sel.select(30)
        if not events:
            sys.exit("no response for 30 s")
        for key, _ in events:
            buf = key.data
            data = key.fileobj.recv(65536)
            if not data:
                sys.exit("the server closed a keep-alive connection")
            buf += data
            while (size := complete(buf)):
                del buf[:size]
                done += 1
                if sent < n:
                    key.fileobj.send(KEEP); sent += 1
    return n / (time.perf_counter() - start)

def per_request():
    start = time.perf_counter()
    for _ in range(n):
        s = socket.create_connection((host, port))
        s.sendall(CLOSE)
        buf = bytearray()
        while (data := s.recv(65536)):
            buf += data
        if not complete(buf):
            sys.exit("incomplete response")
        s.close()
    return n / (time.perf_counter() - start)

print(keep_alive() if mode == "keep-alive" else per_request())
"""


def bench_asgi(
    requests: int = 5_000,
    connections: int = 8,
    per_request: int = 1_000,
    progress: Progress | None = None,
) -> AsgiResult:
    """Build a lab, measure (see the module docstring), remove the lab."""
    say = progress or (lambda label, fraction: None)
    lab = Lab(name=f"synack-bench-asgi-{os.getpid()}")
    lab.up()
    try:
        lab.enter()
        fd = open_tun(lab.device)
        try:
            figures = asyncio.run(_measure(lab, fd, requests, connections, per_request, say))
        finally:
            os.close(fd)
    finally:
        lab.down()
    return AsgiResult(requests, connections, per_request, *figures)


async def _measure(
    lab: Lab, fd: int, requests: int, connections: int, per_request: int, say: Progress
) -> tuple[float, float, float, float]:
    host = Host([lab.synack_v4], TcpConfig(mtu=lab.mtu))
    driver = TunDriver(host, fd, mtu=lab.mtu)
    stack = Stack(driver)
    app = demo_app()
    synack = await serve_asgi(stack, app, PORT_SYNACK)
    factory, *_ = uvicorn_protocols(app)
    loop = asyncio.get_running_loop()
    kernel = await loop.create_server(factory, str(lab.kernel_v4), PORT_KERNEL)
    targets = {"synack": (str(lab.synack_v4), PORT_SYNACK),
               "kernel": (str(lab.kernel_v4), PORT_KERNEL)}  # fmt: skip
    results: dict[tuple[str, str], float] = {}
    try:
        for mode, count, conns in (
            ("keep-alive", requests, connections),
            ("per-request", per_request, 1),
        ):
            for path, (address, port) in targets.items():
                label = f"asgi: {path}, {mode}"
                say(label, 0.0)
                results[(path, mode)] = await _client(lab, mode, count, conns, address, port)
                say(label, 1.0)
    finally:
        kernel.close()
        await synack.shutdown(timeout=2.0)
        driver.close()
    return (
        results[("synack", "keep-alive")], results[("kernel", "keep-alive")],
        results[("synack", "per-request")], results[("kernel", "per-request")],
    )  # fmt: skip


async def _client(lab: Lab, mode: str, n: int, conns: int, address: str, port: int) -> float:
    """Run the client in the namespace against ``address:port``; its requests/s."""
    proc = await asyncio.create_subprocess_exec(
        *lab.command([sys.executable, "-c", _CLIENT, mode, str(n), str(conns), address, str(port)]),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"the client failed on {address}:{port} ({mode}): {err.decode()}")
    return float(out.decode())
