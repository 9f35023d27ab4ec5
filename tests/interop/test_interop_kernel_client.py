"""The kernel's TCP as the client, synack as the server: 10 MB echoed back and
10 MB fetched by curl, byte for byte (sha256), over IPv4 and IPv6, in a lab
with a 64 KB MTU so that the transfers take a fraction of a second."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from _interop import Proc, file_sha256, kernel_peer, run, synack, url_host

from synack.net.lab import Lab

pytestmark = pytest.mark.interop

SIZE = 10 * 1000 * 1000
TIMEOUT = 60.0


@pytest.fixture(scope="module")
def lab(lab_factory: Callable[..., Lab]) -> Lab:
    return lab_factory(mtu=65535)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("site")
    (root / "big.bin").write_bytes(os.urandom(SIZE))
    return root


def serve(procs: Callable[..., Proc], lab: Lab, port: int, *mode: str) -> Proc:
    server = procs(synack("listen", port, *mode, "--count", 1, "--name", lab.name))
    server.wait_for(r"synack serves", stream="err")
    return server


@pytest.mark.parametrize("version", [4, 6])
def test_kernel_client_echo_10mb(procs: Callable[..., Proc], lab: Lab, version: int) -> None:
    port = 7000 + version
    server = serve(procs, lab, port, "--echo")
    client = procs(kernel_peer(lab, "echo-client", lab.synack_address(version), port, SIZE))
    assert client.wait(TIMEOUT) == 0, client.describe()
    sent = client.wait_for(r"^sent (\w+)").group(1)
    received = client.wait_for(r"^received (\d+) (\w+)")
    assert "send-error" not in client.out.decode(), client.describe()
    assert int(received.group(1)) == SIZE
    assert received.group(2) == sent
    assert server.wait(TIMEOUT) == 0, server.describe()


@pytest.mark.parametrize("version", [4, 6])
def test_curl_fetches_10mb_from_synack_http(
    procs: Callable[..., Proc], lab: Lab, site: Path, tmp_path: Path, version: int
) -> None:
    port = 8000 + version
    server = serve(procs, lab, port, "--http", str(site))
    body = tmp_path / "body.bin"
    url = f"http://{url_host(lab.synack_address(version))}:{port}/big.bin"
    done = run(
        lab.command(["curl", "-sS", "--fail", "--max-time", "50", "-o", str(body), url]),
        timeout=TIMEOUT,
    )
    assert done.returncode == 0
    assert body.stat().st_size == SIZE
    assert file_sha256(body) == file_sha256(site / "big.bin")
    assert server.wait(TIMEOUT) == 0, server.describe()
