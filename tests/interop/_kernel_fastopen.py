"""The kernel's side of the Fast Open lab test, run inside the lab's namespace:

    python _kernel_fastopen.py HOST PORT COUNT

Turns the namespace's Fast Open client on (net.ipv4.tcp_fastopen = 1, this
namespace only), then makes COUNT connections, each with sendto(MSG_FASTOPEN)
of "hello N\\n", and reads the answer. Prints for each "answer LINE" and
"syn_data X", X being TCPI_OPT_SYN_DATA from TCP_INFO: 1 when the SYN's data
was acknowledged.
"""

from __future__ import annotations

import socket
import sys

TIMEOUT = 20.0
TCPI_OPT_SYN_DATA = 32


def main(host: str, port: int, count: int) -> None:
    with open("/proc/sys/net/ipv4/tcp_fastopen", "w") as f:
        f.write("1")
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    for i in range(count):
        sock = socket.socket(fam, socket.SOCK_STREAM)
        sock.settimeout(TIMEOUT)
        message = f"hello {i}\n".encode()
        try:  # the socket is non-blocking underneath (it has a timeout)
            sent = sock.sendto(message, socket.MSG_FASTOPEN, (host, port))
        except BlockingIOError:
            sent = 0  # no cookie yet: the SYN asks for one and carries nothing
        if sent < len(message):
            sock.sendall(message[sent:])  # waits for the handshake
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(100)
            if not chunk:
                break
            data += chunk
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
        print("answer", data.decode().strip(), flush=True)
        print("syn_data", int(bool(info[5] & TCPI_OPT_SYN_DATA)), flush=True)
        sock.close()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
