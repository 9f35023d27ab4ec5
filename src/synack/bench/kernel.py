"""The kernel's own TCP doing the benchmarks' work over 127.0.0.1: the
reference synack's figures are divided by, measured in the same run."""

from __future__ import annotations

import socket
import threading
import time

from synack.bench.results import MB, MIB, KernelResult


def bench_kernel(lifecycles: int = 5_000, bulk_bytes: int = 64 * MIB) -> KernelResult:
    """Lifecycles and bulk MB/s of the kernel's TCP on 127.0.0.1, via Python sockets.

    The server runs in a thread of this process; every connection is to a
    port on loopback that this function opened, and all are closed at the end.
    """

    def serve(listener: socket.socket, count: int) -> None:
        for _ in range(count):
            conn, _ = listener.accept()
            with conn:
                conn.recv(1)
                conn.sendall(b"r")
                conn.recv(1)  # EOF: the client closed first, as in synack's run

    with socket.create_server(("127.0.0.1", 0), backlog=128) as listener:
        address = listener.getsockname()
        server = threading.Thread(target=serve, args=(listener, lifecycles), daemon=True)
        server.start()
        start = time.perf_counter()
        for _ in range(lifecycles):
            with socket.create_connection(address) as client:
                client.sendall(b"q")
                client.recv(1)
        server.join()
        lifecycle_seconds = time.perf_counter() - start

    def sink(listener: socket.socket, total: list[int]) -> None:
        conn, _ = listener.accept()
        buf = bytearray(1 << 16)
        with conn:
            while n := conn.recv_into(buf):
                total[0] += n

    chunk = bytes(1 << 16)
    received = [0]
    with socket.create_server(("127.0.0.1", 0)) as listener:
        receiver = threading.Thread(target=sink, args=(listener, received), daemon=True)
        receiver.start()
        start = time.perf_counter()
        with socket.create_connection(listener.getsockname()) as client:
            sent = 0
            while sent < bulk_bytes:
                client.sendall(chunk)
                sent += len(chunk)
        receiver.join()
        bulk_seconds = time.perf_counter() - start
    return KernelResult(
        lifecycles, lifecycles / lifecycle_seconds, received[0], received[0] / bulk_seconds / MB
    )
