"""``synack bench tun``: synack against the kernel's TCP, through a TUN device.

Everything runs in a lab of its own (a network namespace, removed at the
end): synack in this process on the TUN driver, the kernel's side in a
``python3`` subprocess inside the namespace, so each has a core. Measured in
one run:

- bulk kernel -> synack and synack -> kernel (``nbytes`` each, every byte
  counted at the receiver);
- connections per second: a kernel client connects, sends one byte, reads
  its echo (checking it), and closes first; ``concurrency`` connections in
  flight at once (:data:`CONCURRENCY`, the figure), then one at a time
  (``sequential_connections_per_second``: a round trip's wake-ups of both
  processes bound it), every connection counted on both sides; and the CPU
  time synack's process spent per connection. The concurrent client is one
  process, a loop on ``select.epoll`` over non-blocking sockets, each
  replaced by a new connection when it closes: seven system calls (socket,
  connect, two epoll_ctl, send, recv, close), a share of an epoll_wait and
  a little Python per connection, about 70-90 us of CPU where a client on
  asyncio's ``sock_connect``, ``sock_sendall`` and ``sock_recv`` took 200,
  so that the figure is the server's, not the client's;
- the raw ceiling: how fast Python alone reads packets from the same TUN
  device while the kernel sends it full-sized UDP datagrams;
- the kernel's reference for connections per second: the same concurrent
  client (same script, count and concurrency) against the kernel's own TCP
  serving the same application, an asyncio streams echo server (the handler
  synack's echo is) in a ``python3`` process of its own; and that process's
  CPU time per connection; and the client's, in both runs.

The reference server runs in a second namespace joined to the lab's by a
veth pair at the lab's MTU (:meth:`synack.net.lab.Lab.join`), the client in
the lab's namespace, as for synack. So each server is one Python process
apart from the client's, and the client's packets cross a device at the
lab's MTU to reach either. Not loopback: there both ends would share one
namespace and a device of MTU 65536 whatever the lab's, while synack's
packets cross the TUN device. The veth pair keeps the kernel's offloads
(GSO, checksums) whatever synack's ``offload``: an echo of one byte never
needs them. The reference is measured once per result (each MTU and offload
setting), after synack's connection runs, with synack's driver closed.

CPU per connection is not a like-for-like split. A write to the TUN device
and a veth transmit both deliver the packet in the sender's system call, so
the receiver's kernel TCP work is mostly done, and charged, in the sender's
process. synack's figure holds all of synack's TCP, plus the kernel
client's receiving of synack's packets. The kernel server's holds its
system calls and the client's receiving of its packets; most of its own TCP
(the SYN,ACK, receiving the client's byte and FIN) runs in the client's
sends and is charged to the client. The client's figure (the same script
both times) shows how near its core's limit it was. Where the client and a
server get one core between them (a busy machine), each figure is about
1e6 / (the client's CPU per connection + the server's).

With ``offload``, the device is opened with a virtio-net header and TSO and
checksum offloads (:func:`synack.net.tun.open_tun_offload`), and synack's
``segmentation_offload`` is 64 KB: the kernel's TSO super-segments come in
whole, synack's go out for the kernel to cut, and the kernel finishes the
checksum of synack's long packets. If the kernel refuses, the run
goes on with plain packets and the result says why (``offload_refused``).
"""

from __future__ import annotations

import asyncio
import os
import select
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from synack.aio import Stack
from synack.bench.results import TunResult
from synack.host import Host
from synack.net.driver import TunDriver
from synack.net.lab import VETH_PEER_V4, Lab
from synack.net.tun import open_tun, open_tun_offload
from synack.net.vnet import VNET_HDR_LEN
from synack.tcp.config import TcpConfig

Progress = Callable[[str, float], None]
BUFFER = 4 << 20
OFFLOAD_BYTES = 65536  # synack's super-segments with offload, as Linux's GSO_MAX_SIZE
PORT_SINK, PORT_ECHO, PORT_KERNEL = 9, 7, 5001
CONCURRENCY = 16  # the kernel client's connections in flight at once
# Each connection leaves the client a TIME-WAIT for 60 s, holding its port
# towards synack's address, and a run makes twice ``connections`` there
# (concurrent, then sequential). Linux's connect() takes even ports of the
# range (32768-60999 in a new namespace) first and searches the rest only
# once those are taken: measured here, past 14,000 connections in one
# namespace the client's CPU per connection went from about 80 us to 4,000.
MAX_CONNECTIONS = 6_000  # twice that, 12,000, leaves a margin below 14,116

# The kernel's side, run with ``python3 -c`` inside the namespace. Each prints
# one line: the figure it measured.
_KERNEL_SENDER = """
import socket, sys, time
n, host, port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
chunk = bytes(1 << 20)
s = socket.create_connection((host, port))
t = time.perf_counter()
left = n
while left:
    left -= s.send(chunk[: min(left, len(chunk))])
s.shutdown(socket.SHUT_WR)
while s.recv(65536):
    pass
print(n / (time.perf_counter() - t))
"""
_KERNEL_SINK = """
import socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
ls = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((host, port)); ls.listen(1)
print("ready", flush=True)
c, _ = ls.accept()
t = time.perf_counter(); total = 0
while (b := c.recv(1 << 20)):
    total += len(b)
c.close()
print(total, total / (time.perf_counter() - t))
"""
_KERNEL_CONNECTIONS = """
import socket, sys, time
n, host, port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
t = time.perf_counter()
for _ in range(n):
    s = socket.create_connection((host, port))
    s.sendall(b"x")
    assert s.recv(1) == b"x"
    s.close()
print(n / (time.perf_counter() - t))
"""
# ``k`` connections in flight on one epoll loop of non-blocking sockets (no
# asyncio: its cost per connection, not the server's, was the figure), each
# connecting, sending a byte, reading its echo and closing, then the next
# connection in its place until ``n`` completed; prints how many completed,
# the rate, and its own CPU microseconds per connection. An error ends it
# with one line on stderr.
_KERNEL_CONCURRENT = """
import errno, select, socket, sys, time
n, host, port, k = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
poller = select.epoll()
connecting, echoing = {}, {}  # the sockets in flight, by descriptor
def connect():
    s = socket.socket(family)
    s.setblocking(False)
    if (err := s.connect_ex((host, port))) not in (0, errno.EINPROGRESS):
        raise OSError(err, "connect")
    connecting[s.fileno()] = s
    poller.register(s.fileno(), select.EPOLLOUT)
t, cpu = time.perf_counter(), time.process_time()
started = done = 0
try:
    while started < min(n, k):
        connect(); started += 1
    while connecting or echoing:
        for fd, _ in poller.poll():
            if (s := connecting.pop(fd, None)) is not None:
                s.send(b"x")  # raises the connection's error if it failed
                poller.modify(fd, select.EPOLLIN)
                echoing[fd] = s
                continue
            s = echoing.pop(fd)
            if s.recv(1) != b"x":
                sys.exit("the echo was not the byte sent")
            s.close()  # which takes it out of the epoll set
            done += 1
            if started < n:
                connect(); started += 1
except OSError as exc:
    sys.exit(f"after {done} of {n} connections: {exc}")
print(done, done / (time.perf_counter() - t), (time.process_time() - cpu) / done * 1e6)
"""
# The kernel's reference server (in the peer namespace): synack's ``echo``
# over asyncio's streams on the kernel's TCP. Prints "ready"; then for each
# line read on stdin, the connections accepted, the bytes echoed and the
# process's CPU seconds so far; exits at the end of stdin.
_KERNEL_ECHO_SERVER = """
import asyncio, sys, time
host, port = sys.argv[1], int(sys.argv[2])
served = [0, 0]
async def echo(reader, writer):
    served[0] += 1
    while data := await reader.read(65536):
        served[1] += len(data)
        writer.write(data)
    writer.close()
async def main():
    loop = asyncio.get_running_loop()
    await asyncio.start_server(echo, host, port)
    commands = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(commands), sys.stdin)
    print("ready", flush=True)
    while await commands.readline():
        print(served[0], served[1], time.process_time(), flush=True)
asyncio.run(main())
"""
_KERNEL_UDP = """
import socket, sys, time
size, seconds, host = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
data = bytes(size); end = time.perf_counter() + seconds
while time.perf_counter() < end:
    for _ in range(64):
        try:
            s.sendto(data, (host, 9))
        except OSError:
            pass
"""


def bench_tun(
    nbytes: int = 100_000_000,
    connections: int = 2_000,
    mtu: int = 65535,
    progress: Progress | None = None,
    offload: bool = False,
    concurrency: int = CONCURRENCY,
    ceiling_seconds: float = 2.0,
) -> TunResult:
    """Build a lab, measure, remove the lab (see the module docstring).
    ``ceiling_seconds``: how long the raw read ceiling is measured."""
    if not 1 <= connections <= MAX_CONNECTIONS:
        raise ValueError(f"connections {connections} is not between 1 and {MAX_CONNECTIONS}")
    if not 1 <= concurrency <= connections:
        raise ValueError(f"concurrency {concurrency} is not between 1 and {connections}")
    say = progress or (lambda label, fraction: None)
    lab = Lab(name=f"synack-bench-{os.getpid()}", mtu=mtu)
    peer = Lab(name=f"{lab.name}-kernel", mtu=mtu)  # the kernel's reference server
    lab.up()
    try:
        lab.join(peer)
        lab.enter()
        refused = None
        if offload:
            fd, refused = open_tun_offload(lab.device)
        else:
            fd = open_tun(lab.device)
        vnet = offload and refused is None
        try:
            say("tun: raw read ceiling", 0.0)
            header = VNET_HDR_LEN if vnet else 0
            raw_mbps, raw_pps = _raw_ceiling(lab, fd, mtu, header, ceiling_seconds)
            say("tun: raw read ceiling", 1.0)
            figures = asyncio.run(
                _tcp_figures(lab, fd, mtu, nbytes, connections, say, vnet, concurrency)
            )
            say("tun: kernel reference", 0.0)
            kernel = asyncio.run(_kernel_reference(lab, peer, connections, concurrency))
            say("tun: kernel reference", 1.0)
        finally:
            os.close(fd)
    finally:
        try:
            peer.down()
        finally:
            lab.down()
    return TunResult(
        mtu, nbytes, figures.to_synack / 1e6, figures.from_synack / 1e6, connections,
        figures.concurrent, raw_mbps, raw_pps, vnet, refused, concurrency, figures.sequential,
        figures.cpu_us, figures.packets_in, kernel.connections, kernel.server_cpu_us,
        figures.client_cpu_us, kernel.client_cpu_us,
    )  # fmt: skip


class TunBenchError(RuntimeError):
    """The kernel's side failed, or the two sides' counts disagree: the
    run has no figures to give."""


def _fields(line: bytes | str, count: int, what: str) -> list[str]:
    """The ``count`` fields of a kernel-side script's one line of output."""
    text = line.decode() if isinstance(line, bytes) else line
    fields = text.split()
    if len(fields) != count:
        raise TunBenchError(f"{what}: the kernel side said {text.strip()!r}")
    return fields


@dataclass(frozen=True, slots=True)
class _Figures:
    to_synack: float  # bytes/s
    from_synack: float
    concurrent: float  # connections/s
    sequential: float
    cpu_us: float  # synack's CPU per connection of the concurrent run
    packets_in: float  # packets read per connection of the concurrent run
    client_cpu_us: float  # the kernel client's CPU per connection of the concurrent run


def _raw_ceiling(
    lab: Lab, fd: int, mtu: int, header: int = 0, seconds: float = 2.0
) -> tuple[float, float]:
    """Read the TUN device as fast as Python can while the kernel floods it
    (``header``: bytes of virtio-net header before each packet, not counted)."""
    size = min(mtu, 65535) - 28  # one full-sized UDP datagram per packet
    sender = _kernel(lab, _KERNEL_UDP, str(size), str(seconds + 0.5), str(lab.synack_v4))
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    read = os.read
    total = packets = 0
    start = time.perf_counter()
    end = start + seconds
    try:
        while (now := time.perf_counter()) < end:
            if not poller.poll(100):
                continue
            while True:
                try:
                    total += len(read(fd, 65536 + header)) - header
                except BlockingIOError:
                    break
                packets += 1
        elapsed = now - start
    finally:
        sender.wait(timeout=10)
    return total / elapsed / 1e6, packets / elapsed


def _kernel(lab: Lab, script: str, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(lab.command([sys.executable, "-c", script, *args]))


async def _tcp_figures(
    lab: Lab,
    fd: int,
    mtu: int,
    nbytes: int,
    connections: int,
    say: Progress,
    vnet: bool = False,
    concurrency: int = CONCURRENCY,
) -> _Figures:
    config = TcpConfig(
        mtu=mtu,
        recv_buffer=BUFFER,
        send_buffer=BUFFER,
        segmentation_offload=OFFLOAD_BYTES if vnet else 0,
    )
    host = Host([lab.synack_v4, lab.synack_v6], config)
    driver = TunDriver(host, fd, vnet=vnet, mtu=mtu)
    stack = Stack(driver)
    address = str(lab.synack_v4)

    discarded = [0]

    async def discard(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(1 << 20):
            discarded[0] += len(data)
        writer.close()

    served = [0, 0]  # connections accepted, bytes echoed

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        served[0] += 1
        while data := await reader.read(65536):
            served[1] += len(data)
            writer.write(data)
        writer.close()

    async def connections_phase(script: str, *more: str) -> str:
        """Run a kernel client of ``connections`` echoes; check synack served
        each one (accepted, its byte echoed)."""
        before = list(served)
        out = await _run(lab, script, str(connections), address, str(PORT_ECHO), *more)
        accepted, echoed = served[0] - before[0], served[1] - before[1]
        if accepted != connections or echoed != connections:
            raise TunBenchError(
                f"of {connections} connections asked of the kernel's client, synack "
                f"accepted {accepted} and echoed {echoed} bytes"
            )
        return out

    try:
        await stack.start_server(discard, None, PORT_SINK)
        await stack.start_server(echo, None, PORT_ECHO)

        say("tun: kernel -> synack", 0.0)
        to_synack = float(await _run(lab, _KERNEL_SENDER, str(nbytes), address, str(PORT_SINK)))
        _check_bytes("kernel -> synack", nbytes, discarded[0])
        say("tun: kernel -> synack", 1.0)

        say("tun: synack -> kernel", 0.0)
        sink = await asyncio.create_subprocess_exec(
            *lab.command(
                [sys.executable, "-c", _KERNEL_SINK, str(lab.kernel_v4), str(PORT_KERNEL)]
            ),
            stdout=asyncio.subprocess.PIPE,
        )
        assert sink.stdout is not None
        await sink.stdout.readline()  # "ready"
        reader, writer = await stack.open_connection(str(lab.kernel_v4), PORT_KERNEL)
        chunk = bytes(1 << 20)
        sent = 0
        while sent < nbytes:
            piece = chunk[: min(len(chunk), nbytes - sent)]
            writer.write(piece)
            await writer.drain()
            sent += len(piece)
            say("tun: synack -> kernel", sent / nbytes)
        writer.write_eof()
        await reader.read()
        writer.close()
        received, rate = _fields(await sink.stdout.readline(), 2, "synack -> kernel")
        _check_bytes("synack -> kernel", nbytes, int(received))
        from_synack = float(rate)
        await sink.wait()

        say("tun: connections", 0.0)
        cpu, packets = time.process_time(), driver.packets_in
        # the client's own count is ``connections`` by construction: connections_phase
        # has checked synack's side
        line = await connections_phase(_KERNEL_CONCURRENT, str(concurrency))
        _, concurrent, client_cpu_us = _fields(line, 3, "connections")
        cpu_us = (time.process_time() - cpu) / connections * 1e6
        packets_in = (driver.packets_in - packets) / connections
        say("tun: connections", 0.5)
        sequential = await connections_phase(_KERNEL_CONNECTIONS)
        say("tun: connections", 1.0)
        return _Figures(
            to_synack, from_synack, float(concurrent), float(sequential), cpu_us, packets_in,
            float(client_cpu_us),
        )  # fmt: skip
    finally:
        driver.close()


@dataclass(frozen=True, slots=True)
class _Reference:
    connections: float  # per second
    server_cpu_us: float  # the kernel's echo server's CPU per connection
    client_cpu_us: float  # the client's


async def _kernel_reference(lab: Lab, peer: Lab, connections: int, concurrency: int) -> _Reference:
    """The concurrent client against the kernel's echo server across the veth
    pair (see the module docstring); the server must have served each one."""
    server = await asyncio.create_subprocess_exec(
        *peer.command(
            [sys.executable, "-c", _KERNEL_ECHO_SERVER, str(VETH_PEER_V4), str(PORT_ECHO)]
        ),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert server.stdin is not None and server.stdout is not None
    stdin, stdout = server.stdin, server.stdout

    async def served() -> tuple[int, int, float]:
        stdin.write(b"\n")
        await stdin.drain()
        accepted, echoed, cpu = _fields(await stdout.readline(), 3, "the kernel's echo server")
        return int(accepted), int(echoed), float(cpu)

    try:
        if await stdout.readline() != b"ready\n":
            raise TunBenchError("the kernel's echo server did not start")
        before = await served()
        line = await _run(
            lab,
            _KERNEL_CONCURRENT,
            str(connections),
            str(VETH_PEER_V4),
            str(PORT_ECHO),
            str(concurrency),
        )
        _, rate, client_cpu_us = _fields(line, 3, "kernel connections")
        after = await served()
        accepted, echoed = after[0] - before[0], after[1] - before[1]
        if accepted != connections or echoed != connections:
            raise TunBenchError(
                f"of {connections} connections asked of the kernel's client, the kernel's "
                f"echo server accepted {accepted} and echoed {echoed} bytes"
            )
        return _Reference(
            float(rate), (after[2] - before[2]) / connections * 1e6, float(client_cpu_us)
        )
    finally:
        stdin.close()
        try:
            await asyncio.wait_for(server.wait(), 10)
        except TimeoutError:
            server.kill()
            await server.wait()


def _check_bytes(what: str, sent: int, received: int) -> None:
    if received != sent:
        raise TunBenchError(f"{what}: {sent} bytes sent, {received} received")


async def _run(lab: Lab, script: str, *args: str) -> str:
    """Run a kernel-side script in the namespace; its one line of output."""
    proc = await asyncio.create_subprocess_exec(
        *lab.command([sys.executable, "-c", script, *args]),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        said = err.decode(errors="replace").strip().splitlines()
        raise TunBenchError(
            f"the kernel side failed (exit {proc.returncode})" + (f": {said[-1]}" if said else "")
        )
    return out.decode().strip()
