"""TCP Fast Open (RFC 7413) between the kernel and synack, in a lab: the
kernel's client (net.ipv4.tcp_fastopen = 1 in the lab's namespace, a socket
sending with MSG_FASTOPEN) connects twice to synack's server. The first SYN
asks for a cookie and the request follows the handshake; the second carries
the cookie and the request, which synack takes in SYN-RECEIVED and the
kernel reports as SYN data acknowledged (TCPI_OPT_SYN_DATA)."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable

import pytest
from _interop import HERE, Proc

from synack.net.lab import Lab

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
            [sys.executable, "-u", str(HERE / "_kernel_fastopen.py"), address, str(port), "2"]
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
