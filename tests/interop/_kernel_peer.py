"""The kernel's side of the interop tests: small socket programs run inside a
lab's namespace (``ip netns exec LAB python3 _kernel_peer.py COMMAND ...``).

Each one prints one-line reports on stdout, flushed at once, for the test to
wait on ("ready" once a server listens). Every socket has a timeout, so a
program never outlives its test by long even if nobody kills it.

    echo-client HOST PORT SIZE       send SIZE random bytes (then FIN) and read
                                     everything back: "sent SHA", "received N SHA"
    sink HOST PORT                   accept one connection, hash it to EOF:
                                     "received N SHA", then answer the same line
    hold-server HOST PORT SECONDS    read to EOF ("eof N"), stay in CLOSE-WAIT for
                                     SECONDS, send "bye\\n" and close ("closed")
    close-first-client HOST PORT     send "hello\\n", read it back, close first:
                                     "local PORT", then "closed"
    reset-server HOST PORT           send "hello\\n", wait for a line, then close
                                     with SO_LINGER (1, 0): a RST ("reset sent")
    reset-victim HOST PORT           read a line, answer "pong\\n", then read on:
                                     "reset ERRNO" (ConnectionResetError) or "eof"
    connect HOST PORT                one connection attempt: "refused", "connected"
                                     or "error NAME"
    paused-get HOST PORT PATH FIRST SECONDS
                                     HTTP/1.0 GET of PATH; read FIRST bytes of the
                                     response, stop reading for SECONDS ("paused
                                     N"), then read to EOF: "received N SHA" (the
                                     body's length and sha256)
"""

from __future__ import annotations

import hashlib
import os
import socket
import struct
import sys
import threading
import time

TIMEOUT = 60.0
CHUNK = 1 << 20


def say(*words: object) -> None:
    print(*words, flush=True)


def family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def server(host: str, port: int) -> socket.socket:
    srv = socket.socket(family(host), socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, port))
    srv.listen(1)
    srv.settimeout(TIMEOUT)
    say("ready")
    return srv


def accept(srv: socket.socket) -> socket.socket:
    conn, _ = srv.accept()
    conn.settimeout(TIMEOUT)
    srv.close()
    return conn


def read_line(conn: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(1)
        if not chunk:
            break
        data += chunk
    return data


def echo_client(host: str, port: int, size: int) -> None:
    data = os.urandom(size)
    say("sent", hashlib.sha256(data).hexdigest())
    conn = socket.create_connection((host, port), timeout=TIMEOUT)
    failure: list[BaseException] = []

    def send() -> None:  # both ways at once: the echo may not wait for the end
        try:
            conn.sendall(data)
            conn.shutdown(socket.SHUT_WR)
        except OSError as exc:
            failure.append(exc)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    digest, count = hashlib.sha256(), 0
    while chunk := conn.recv(CHUNK):
        digest.update(chunk)
        count += len(chunk)
    sender.join(TIMEOUT)
    conn.close()
    if failure:
        say("send-error", repr(failure[0]))
    say("received", count, digest.hexdigest())


def sink(host: str, port: int) -> None:
    conn = accept(server(host, port))
    digest, count = hashlib.sha256(), 0
    while chunk := conn.recv(CHUNK):
        digest.update(chunk)
        count += len(chunk)
    report = f"received {count} {digest.hexdigest()}"
    conn.sendall(report.encode() + b"\n")
    conn.close()
    say(report)


def hold_server(host: str, port: int, hold: float) -> None:
    conn = accept(server(host, port))
    count = 0
    while chunk := conn.recv(CHUNK):
        count += len(chunk)
    say("eof", count)  # the peer's FIN is in: we are in CLOSE-WAIT
    time.sleep(hold)
    conn.sendall(b"bye\n")
    conn.close()
    say("closed")


def close_first_client(host: str, port: int) -> None:
    conn = socket.create_connection((host, port), timeout=TIMEOUT)
    conn.sendall(b"hello\n")
    line = read_line(conn)
    say("local", conn.getsockname()[1], line.decode().strip())
    conn.close()  # before the peer's FIN: we close first
    say("closed")


def reset_server(host: str, port: int) -> None:
    conn = accept(server(host, port))
    conn.sendall(b"hello\n")
    line = read_line(conn)
    say("got", line.decode().strip())
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()
    say("reset sent")


def reset_victim(host: str, port: int) -> None:
    conn = accept(server(host, port))
    line = read_line(conn)
    say("got", line.decode().strip())
    conn.sendall(b"pong\n")
    try:
        while True:
            chunk = conn.recv(CHUNK)
            if not chunk:
                say("eof")
                return
            say("data", len(chunk))
    except ConnectionResetError as exc:
        say("reset", exc.errno)


def connect(host: str, port: int) -> None:
    try:
        conn = socket.create_connection((host, port), timeout=10)
    except ConnectionRefusedError:
        say("refused")
        return
    except OSError as exc:
        say("error", type(exc).__name__, exc)
        return
    say("connected")
    conn.close()


def paused_get(host: str, port: int, path: str, first: int, pause: float) -> None:
    conn = socket.create_connection((host, port), timeout=TIMEOUT)
    conn.sendall(f"GET {path} HTTP/1.0\r\nHost: lab\r\n\r\n".encode())
    response = bytearray()
    while len(response) < first and (chunk := conn.recv(min(CHUNK, first - len(response)))):
        response += chunk
    say("paused", len(response))
    time.sleep(pause)  # not reading: our window closes, the peer must probe it
    while chunk := conn.recv(CHUNK):
        response += chunk
    conn.close()
    head, _, body = bytes(response).partition(b"\r\n\r\n")
    say("status", head.split(b"\r\n", 1)[0].decode(errors="replace"))
    say("received", len(body), hashlib.sha256(body).hexdigest())


def main(argv: list[str]) -> None:
    command, host, port, *rest = argv
    if command == "echo-client":
        echo_client(host, int(port), int(rest[0]))
    elif command == "sink":
        sink(host, int(port))
    elif command == "hold-server":
        hold_server(host, int(port), float(rest[0]))
    elif command == "close-first-client":
        close_first_client(host, int(port))
    elif command == "reset-server":
        reset_server(host, int(port))
    elif command == "reset-victim":
        reset_victim(host, int(port))
    elif command == "connect":
        connect(host, int(port))
    elif command == "paused-get":
        paused_get(host, int(port), rest[0], int(rest[1]), float(rest[2]))
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
