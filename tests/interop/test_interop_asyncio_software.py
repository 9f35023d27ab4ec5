"""Unmodified asyncio software over synack, against the kernel's TCP in a lab
(issue 19): uvicorn's H11Protocol serving an ASGI app over a synack server,
fetched by curl (10 MB, sha256); an httpx client on synack fetching 10 MB
from the kernel's ``python -m http.server``; websockets' server over synack
with the kernel's websockets client exchanging 1,000 messages. The lab's MTU
is 64 KB so that the transfers take a fraction of a second. The same
software runs on the simulated network with loss in
tests/aio/test_asyncio_software.py."""

from __future__ import annotations

import hashlib
import random
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from _interop import HERE, Proc, Socket, file_sha256, poll_sockets, run, url_host

from synack.net.lab import Lab

pytestmark = pytest.mark.interop

SIZE = 10 * 1000 * 1000
MESSAGES = 1000
TIMEOUT = 60.0


@pytest.fixture(scope="module")
def lab(lab_factory: Callable[..., Lab]) -> Lab:
    return lab_factory(mtu=65535)


def helper(name: str, *args: object) -> list[str]:
    """A synack-side helper script of this directory (it enters the lab itself)."""
    return [sys.executable, "-u", str(HERE / name), *map(str, args)]


def wait_listening(lab: Lab, port: int) -> None:
    def listening(sockets: list[Socket]) -> bool:
        return any(s.state == "LISTEN" and s.local_port == port for s in sockets)

    assert listening(poll_sockets(lab, listening, timeout=TIMEOUT)), f"nothing on port {port}"


@pytest.mark.parametrize("version", [4, 6])
def test_curl_fetches_10mb_from_uvicorn_over_synack(
    procs: Callable[..., Proc], lab: Lab, tmp_path: Path, version: int
) -> None:
    port = 8100 + version
    server = procs(helper("_synack_asgi.py", lab.name, port, SIZE))
    server.wait_for(r"^serving", timeout=TIMEOUT)
    body = tmp_path / "body.bin"
    url = f"http://{url_host(lab.synack_address(version))}:{port}/blob"
    done = run(
        lab.command(["curl", "-sS", "--fail", "--max-time", "50", "-D", "-", "-o", str(body), url]),
        timeout=TIMEOUT,
    )
    assert "server: uvicorn" in done.stdout.lower()
    assert body.stat().st_size == SIZE
    expected = hashlib.sha256(random.Random(19).randbytes(SIZE)).hexdigest()
    assert file_sha256(body) == expected
    assert server.wait(TIMEOUT) == 0, server.describe()
    assert server.wait_for(r"^served (\d+)").group(1) == "1"


@pytest.mark.parametrize("version", [4, 6])
def test_httpx_on_synack_fetches_10mb_from_the_kernels_http_server(
    procs: Callable[..., Proc], lab: Lab, tmp_path: Path, version: int
) -> None:
    port = 8200 + version
    site = tmp_path / "site"
    site.mkdir()
    (site / "big.bin").write_bytes(random.Random(version).randbytes(SIZE))
    address = str(lab.kernel_address(version))
    http_server = procs(
        lab.command(
            [sys.executable, "-m", "http.server", str(port), "--bind", address,
             "--directory", str(site)]
        )
    )  # fmt: skip
    wait_listening(lab, port)
    url = f"http://{url_host(address)}:{port}/big.bin"
    client = procs(helper("_synack_httpx.py", lab.name, url))
    assert client.wait(TIMEOUT) == 0, client.describe()
    assert client.wait_for(r"^status (\d+)").group(1) == "200"
    assert int(client.wait_for(r"^bytes (\d+)").group(1)) == SIZE
    assert client.wait_for(r"^sha256 (\w+)").group(1) == file_sha256(site / "big.bin")
    http_server.kill()


@pytest.mark.parametrize("version", [4, 6])
def test_websockets_server_on_synack_echoes_1000_messages_to_the_kernel(
    procs: Callable[..., Proc], lab: Lab, version: int
) -> None:
    port = 8300 + version
    server = procs(helper("_synack_websockets.py", lab.name, port))
    server.wait_for(r"^serving", timeout=TIMEOUT)
    address = lab.synack_address(version)
    client = procs(
        lab.command([sys.executable, "-u", str(HERE / "_kernel_websockets.py"), str(address),
                     str(port), str(MESSAGES)])
    )  # fmt: skip
    assert client.wait(TIMEOUT) == 0, client.describe()
    assert client.wait_for(r"^ok (\d+)").group(1) == str(MESSAGES)
    assert client.wait_for(r"^close (\d+)").group(1) == "1000"  # a normal closure
    assert server.wait(TIMEOUT) == 0, server.describe()
    assert server.wait_for(r"^echoed (\d+)").group(1) == str(MESSAGES)
