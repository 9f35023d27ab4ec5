"""``Lab.join``: a second namespace joined to the lab's by a veth pair at the
lab's MTU, the addresses on each end; the kernel's TCP across it; removing
the second namespace removes the pair."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest
from _interop import remove_lab

from synack.net.lab import VETH_PEER_V4, VETH_V4, Lab, LabError

pytestmark = pytest.mark.interop

SERVER = """
import socket, sys
ls = socket.create_server((sys.argv[1], 7))
print("ready", flush=True)
c, peer = ls.accept()
c.sendall(c.recv(5) + peer[0].encode())
"""
CLIENT = """
import socket, sys
s = socket.create_connection((sys.argv[1], 7), timeout=10)
s.sendall(b"hello")
print(s.recv(100).decode())
"""


def test_join_builds_a_veth_pair_and_down_removes_it(lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory(mtu=9000)
    peer = Lab(name=f"{lab.name}-peer")
    try:
        lab.join(peer)
        here, there = lab.ip("-o", "addr", "show", "veth0"), peer.ip("-o", "addr", "show", "veth1")
        assert f"inet {VETH_V4}/30" in here and f"inet {VETH_PEER_V4}/30" in there
        for link in (lab.ip("-o", "link", "show", "veth0"), peer.ip("-o", "link", "show", "veth1")):
            assert " mtu 9000 " in link and "state UP" in link
        # a connection of the kernel's, from the lab to the peer, across the pair
        server = subprocess.Popen(
            peer.command([sys.executable, "-c", SERVER, str(VETH_PEER_V4)]),
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert server.stdout is not None and server.stdout.readline() == "ready\n"
            client = subprocess.run(
                lab.command([sys.executable, "-c", CLIENT, str(VETH_PEER_V4)]),
                capture_output=True, text=True, timeout=30, check=True,
            )  # fmt: skip
            assert client.stdout == f"hello{VETH_V4}\n"
        finally:
            server.kill()
            server.wait()
    finally:
        remove_lab(peer)
    assert not peer.exists
    with pytest.raises(LabError):
        lab.ip("link", "show", "veth0")
