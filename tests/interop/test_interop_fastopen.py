"""TCP Fast Open (RFC 7413) between the kernel and synack, in a lab, both ways.

The kernel's client (net.ipv4.tcp_fastopen = 1 in the lab's namespace, a
socket sending with MSG_FASTOPEN) connects twice to synack's server: the
first SYN asks for a cookie and the request follows the handshake; the
second carries the cookie and the request, which synack takes in
SYN-RECEIVED and the kernel reports as SYN data acknowledged
(TCPI_OPT_SYN_DATA). Then synack's client does the same to the kernel's
server (tcp_fastopen = 3, the TCP_FASTOPEN socket option)."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from _interop import HERE, Proc, run, synack

from synack.net.lab import Lab
from synack.trace.plot import read_pcap
from synack.wire.segment import SYN, FastOpen

pytestmark = pytest.mark.interop

TIMEOUT = 30.0


@pytest.fixture(scope="module")
def lab(lab_factory: Callable[..., Lab]) -> Lab:
    return lab_factory()


@pytest.mark.parametrize("version", [4, 6])
def test_kernel_client_gets_a_cookie_then_sends_data_in_the_syn(
    procs: Callable[..., Proc], lab: Lab, version: int
) -> None:
    port = 7400 + version
    server = procs(
        [sys.executable, "-u", str(HERE / "_synack_fastopen.py"), lab.name, str(port), "2"]
    )
    server.wait_for(r"^ready")
    address = str(lab.synack_address(version))
    client = procs(
        lab.command(
            [
                sys.executable,
                "-u",
                str(HERE / "_kernel_fastopen.py"),
                "client",
                address,
                str(port),
                "2",
            ]
        )
    )
    assert client.wait(TIMEOUT) == 0, client.describe()
    assert server.wait(TIMEOUT) == 0, server.describe()
    out = client.out.decode()
    assert re.findall(r"^answer (.*)$", out, re.M) == ["got hello 0", "got hello 1"]
    # the kernel: the first SYN's data (none: a cookie request) not acknowledged, the second's was
    assert re.findall(r"^syn_data (\d)$", out, re.M) == ["0", "1"]
    # synack: the first connection reached its handler once ESTABLISHED; the
    # second in SYN-RECEIVED, with the SYN's data taken (RFC 7413 4.2.2)
    served = re.findall(r"^conn (\S+) (\S+)$", server.out.decode(), re.M)
    assert served == [("ESTABLISHED", "False"), ("SYN-RECEIVED", "True")]


@pytest.mark.parametrize("version", [4, 6])
def test_synack_client_gets_a_cookie_then_sends_data_in_the_syn(
    procs: Callable[..., Proc], lab: Lab, version: int
) -> None:
    port = 7500 + version
    address = str(lab.kernel_v4 if version == 4 else lab.kernel_v6)
    server = procs(
        lab.command(
            [
                sys.executable,
                "-u",
                str(HERE / "_kernel_fastopen.py"),
                "server",
                address,
                str(port),
                "2",
            ]
        )
    )
    server.wait_for(r"^ready")
    client = procs(
        [
            sys.executable,
            "-u",
            str(HERE / "_synack_fastopen_client.py"),
            lab.name,
            address,
            str(port),
            "2",
        ]
    )
    assert client.wait(TIMEOUT) == 0, client.describe()
    assert server.wait(TIMEOUT) == 0, server.describe()
    out = client.out.decode()
    assert re.findall(r"^answer (.*)$", out, re.M) == ["got hello 0", "got hello 1"]
    # the kernel's cookie (8 bytes) is cached after the first connection and kept
    cookies = re.findall(r"^cookie (\S+)$", out, re.M)
    assert len(cookies) == 2 and cookies[0] == cookies[1] and len(cookies[0]) == 16
    # the second SYN's data was acknowledged: synack says so, and so does the kernel
    assert re.findall(r"^syn_data (\d)$", out, re.M) == ["0", "1"]
    assert re.findall(r"^syn_data (\d)$", server.out.decode(), re.M) == ["0", "1"]


def test_curl_tcp_fastopen_to_synack_listen(
    procs: Callable[..., Proc], lab: Lab, tmp_path: Path
) -> None:
    port = 7600
    (tmp_path / "index.html").write_bytes(b"hello over fast open\n")
    capture = tmp_path / "fastopen.pcap"
    server = procs(
        synack(
            "listen", port, "--http", tmp_path, "--fastopen", 16, "--count", 2,
            "--pcap", capture, "--name", lab.name,
        )
    )  # fmt: skip
    server.wait_for(r"synack serves", stream="err")
    enable = run(lab.command(["sh", "-c", "echo 1 > /proc/sys/net/ipv4/tcp_fastopen"]))
    assert enable.returncode == 0
    # forget cookies from other synack processes in this lab (the kernel keeps
    # them in its TCP metrics, in this namespace)
    assert run(lab.command(["ip", "tcp_metrics", "flush"])).returncode == 0
    url = f"http://{lab.synack_address(4)}:{port}/index.html"
    for _ in range(2):
        got = run(lab.command(["curl", "-sS", "--fail", "--tcp-fastopen", "--max-time", "10", url]))
        assert got.returncode == 0 and got.stdout == "hello over fast open\n", got.stderr
    assert server.wait(TIMEOUT) == 0, server.describe()
    syns = [w.segment for w in read_pcap(capture) if w.segment.flags == SYN]
    assert [s.dst_port for s in syns] == [port, port]
    first, second = syns
    # curl's first SYN asks for synack's cookie; its second carries it and the request
    assert first.fastopen == FastOpen() and first.payload == b""
    assert second.fastopen is not None and len(second.fastopen.cookie) == 8
    assert second.payload.startswith(b"GET /index.html HTTP/1.1\r\n")
