"""A kernel reader that stops reading for 200 s in the middle of a download
from synack's HTTP server: its window closes, synack probes it (RFC 9293
3.8.6.1) for as long as the kernel answers, and once it reads again every
byte arrives (sha256). Before the fix the probes' ACKs were taken for
duplicate ACKs and the connection was reset by R2."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from _interop import Proc, kernel_peer, synack

from synack.net.lab import Lab

pytestmark = pytest.mark.interop

SIZE = 20 * 1000 * 1000
PAUSE = 200.0
PORT = 8080


@pytest.fixture(scope="module")
def lab(lab_factory: Callable[..., Lab]) -> Lab:
    return lab_factory(mtu=1500)


def test_a_200_second_pause_then_every_byte(
    procs: Callable[..., Proc], lab: Lab, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    data = os.urandom(SIZE)
    (site / "big.bin").write_bytes(data)
    argv = ["listen", PORT, "--http", site, "--send-timeout", 600, "--count", 1]
    server = procs(synack(*argv, "--name", lab.name))
    server.wait_for(r"synack serves", stream="err")
    host = str(lab.synack_address(4))
    client = procs(kernel_peer(lab, "paused-get", host, PORT, "/big.bin", 1_000_000, PAUSE))
    client.wait_for(r"^paused (\d+)", timeout=30)
    assert client.wait(PAUSE + 120) == 0, client.describe()
    assert client.wait_for(r"^status (.*)").group(1).split()[1] == "200"
    received = client.wait_for(r"^received (\d+) (\w+)")
    assert int(received.group(1)) == SIZE
    assert received.group(2) == hashlib.sha256(data).hexdigest()
    assert server.wait(60) == 0, server.describe()
