"""The kernel's side of the Fast Open lab tests, run inside the lab's namespace:

    python _kernel_fastopen.py client HOST PORT COUNT
    python _kernel_fastopen.py server HOST PORT COUNT

Each first sets net.ipv4.tcp_fastopen in this namespace only (1: client, 3:
client and server).

client: COUNT connections, each sending "hello N\\n" with sendto(MSG_FASTOPEN)
and reading the answer; prints "answer LINE" and "syn_data X" for each.
server: listens with the TCP_FASTOPEN socket option, prints "ready", then for
each of COUNT connections reads a line, answers "got LINE" and prints
"syn_data X". X is TCPI_OPT_SYN_DATA from TCP_INFO: 1 when data on the SYN
was acknowledged (client) or accepted (server).
"""

from __future__ import annotations

import socket
import sys

TIMEOUT = 20.0
TCPI_OPT_SYN_DATA = 32


def fastopen_sysctl(value: int) -> None:
    with open("/proc/sys/net/ipv4/tcp_fastopen", "w") as f:
        f.write(str(value))


def syn_data(sock: socket.socket) -> int:
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    return int(bool(info[5] & TCPI_OPT_SYN_DATA))  # tcpi_options


def read_line(sock: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(100)
        if not chunk:
            break
        data += chunk
    return data


def family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def client(host: str, port: int, count: int) -> None:
    fastopen_sysctl(1)
    for i in range(count):
        sock = socket.socket(family(host), socket.SOCK_STREAM)
        sock.settimeout(TIMEOUT)
        message = f"hello {i}\n".encode()
        try:  # the socket is non-blocking underneath (it has a timeout)
            sent = sock.sendto(message, socket.MSG_FASTOPEN, (host, port))
        except BlockingIOError:
            sent = 0  # no cookie yet: the SYN asks for one and carries nothing
        if sent < len(message):
            sock.sendall(message[sent:])  # waits for the handshake
        data = read_line(sock)
        print("answer", data.decode().strip(), flush=True)
        print("syn_data", syn_data(sock), flush=True)
        sock.close()


def server(host: str, port: int, count: int) -> None:
    fastopen_sysctl(3)
    srv = socket.socket(family(host), socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.setsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN, 16)
    srv.bind((host, port))
    srv.listen(4)
    srv.settimeout(TIMEOUT)
    print("ready", flush=True)
    for _ in range(count):
        conn, _ = srv.accept()
        conn.settimeout(TIMEOUT)
        line = read_line(conn)
        conn.sendall(b"got " + line)
        print("syn_data", syn_data(conn), flush=True)
        conn.close()
    srv.close()


if __name__ == "__main__":
    command = {"client": client, "server": server}[sys.argv[1]]
    command(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
