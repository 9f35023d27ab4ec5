"""Smaller transfers over the default MTU of 1500 (1460-byte segments on IPv4,
1440 on IPv6): 1 MB echoed to a kernel client over IPv4 and IPv6, and 1 MB
fetched by curl."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from _interop import Proc, file_sha256, kernel_peer, run, synack

from synack.net.lab import Lab

pytestmark = pytest.mark.interop

SIZE = 1000 * 1000
TIMEOUT = 60.0


@pytest.fixture(scope="module")
def lab(lab_factory: Callable[..., Lab]) -> Lab:
    lab = lab_factory()
    assert lab.device_mtu() == 1500
    return lab


@pytest.mark.parametrize("version", [4, 6])
def test_kernel_client_echo_1mb_mtu_1500(
    procs: Callable[..., Proc], lab: Lab, version: int
) -> None:
    port = 7000 + version
    server = procs(synack("listen", port, "--echo", "--count", 1, "--name", lab.name))
    server.wait_for(r"synack serves", stream="err")
    client = procs(kernel_peer(lab, "echo-client", lab.synack_address(version), port, SIZE))
    assert client.wait(TIMEOUT) == 0, client.describe()
    sent = client.wait_for(r"^sent (\w+)").group(1)
    received = client.wait_for(r"^received (\d+) (\w+)")
    assert (int(received.group(1)), received.group(2)) == (SIZE, sent), client.describe()
    assert server.wait(TIMEOUT) == 0, server.describe()


def test_curl_fetches_1mb_mtu_1500(procs: Callable[..., Proc], lab: Lab, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "one.bin").write_bytes(os.urandom(SIZE))
    server = procs(synack("listen", 8080, "--http", site, "--count", 1, "--name", lab.name))
    server.wait_for(r"synack serves", stream="err")
    body = tmp_path / "body.bin"
    url = f"http://{lab.synack_v4}:8080/one.bin"
    run(lab.command(["curl", "-sS", "--fail", "--max-time", "50", "-o", str(body), url]), 60)
    assert file_sha256(body) == file_sha256(site / "one.bin")
    assert server.wait(TIMEOUT) == 0, server.describe()
