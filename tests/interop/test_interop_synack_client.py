"""synack as the client, the kernel's TCP as the server: ``synack connect``
downloads 10 MB from ``python3 -m http.server`` and uploads 10 MB to a socket
that hashes what it gets, byte for byte (sha256), over IPv4 and IPv6, in a
lab with a 64 KB MTU."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from _interop import Proc, file_sha256, kernel_peer, synack

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


def split_http(response: bytes) -> tuple[list[str], bytes]:
    head, sep, body = response.partition(b"\r\n\r\n")
    assert sep, f"no end of headers in {response[:200]!r}"
    return head.decode("latin-1").split("\r\n"), body


@pytest.mark.parametrize("version", [4, 6])
def test_synack_downloads_10mb_from_kernel_http_server(
    procs: Callable[..., Proc], lab: Lab, site: Path, tmp_path: Path, version: int
) -> None:
    port = 8000 + version
    address = str(lab.kernel_address(version))
    server = procs(
        lab.command(
            [
                sys.executable,
                "-u",
                "-m",
                "http.server",
                str(port),
                "--bind",
                address,
                "-d",
                str(site),
            ]
        )
    )
    server.wait_for(r"Serving HTTP")
    response = tmp_path / "response"
    client = procs(
        synack("connect", address, port, "--name", lab.name),
        stdin=b"GET /big.bin HTTP/1.0\r\nHost: kernel\r\n\r\n",
        stdout=response,
    )
    assert client.wait(TIMEOUT) == 0, client.describe()
    head, body = split_http(response.read_bytes())
    assert head[0].split()[1] == "200", head
    assert f"Content-Length: {SIZE}" in head
    assert len(body) == SIZE
    (tmp_path / "body").write_bytes(body)
    assert file_sha256(tmp_path / "body") == file_sha256(site / "big.bin")


@pytest.mark.parametrize("version", [4, 6])
def test_synack_uploads_10mb_to_kernel_sink(
    procs: Callable[..., Proc], lab: Lab, site: Path, version: int
) -> None:
    port = 9000 + version
    address = str(lab.kernel_address(version))
    sink = procs(kernel_peer(lab, "sink", address, port))
    sink.wait_for(r"^ready")
    client = procs(synack("connect", address, port, "--name", lab.name), stdin=site / "big.bin")
    assert client.wait(TIMEOUT) == 0, client.describe()
    expected = f"received {SIZE} {file_sha256(site / 'big.bin')}"
    assert sink.wait(TIMEOUT) == 0, sink.describe()
    assert sink.out.decode().splitlines()[-1] == expected
    # the sink's answer came back over the same connection, after synack's FIN
    assert client.out.decode().strip() == expected
