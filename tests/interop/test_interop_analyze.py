"""synack analyze on real captures: dumpcap in the lab, the kernel's TCP and synack's.

One capture on every interface of a lab's namespace ("any": Linux cooked
capture v2) while the kernel fetches a page from ``python -m http.server``
with curl (kernel to kernel, on the namespace's loopback), curl tries a
port nothing listens on (refused), a kernel client's connection is aborted
with a RST, and curl fetches from ``synack listen`` (kernel to synack, on
the TUN device). Then ``synack analyze`` reads it: each connection with
Zeek's verdict and the states the passive inference gives both sides.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from _interop import Proc, synack
from click.testing import CliRunner

from synack.cli import main
from synack.net.lab import Lab

pytestmark = pytest.mark.skipif(shutil.which("dumpcap") is None, reason="needs dumpcap (tshark)")

ABORTER = r"""
import socket, struct, sys
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", int(sys.argv[1])))
server.listen()
print("ready", flush=True)
conn, _ = server.accept()
conn.recv(100)
conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
conn.close()  # with SO_LINGER 0: a RST, not a FIN
"""


@pytest.fixture(scope="module")
def lab(lab_factory: Callable[..., Lab]) -> Lab:
    return lab_factory()


def test_captures_from_the_lab_analysed(
    lab: Lab, procs: Callable[..., Proc], tmp_path: Path
) -> None:
    capture = tmp_path / "lab.pcapng"
    dumpcap = procs(lab.command(["dumpcap", "-q", "-i", "any", "-w", str(capture)]))
    time.sleep(2.0)  # dumpcap opens its sockets
    site = tmp_path / "site"
    site.mkdir()
    (site / "page.html").write_bytes(b"<p>hello</p>\n" * 200)
    # kernel to kernel: curl and python -m http.server on the namespace's loopback
    server = procs(lab.command([sys.executable, "-u", "-m", "http.server", "8001", "--bind",
                                "127.0.0.1", "-d", str(site)]))  # fmt: skip
    server.wait_for(r"Serving HTTP")
    fetch = procs(lab.command(["curl", "-s", "-o", "/dev/null", "http://127.0.0.1:8001/page.html"]))
    assert fetch.wait(30) == 0, fetch.describe()
    # refused: nothing listens on 8009
    refused = procs(lab.command(["curl", "-s", "http://127.0.0.1:8009/"]))
    assert refused.wait(30) != 0
    # aborted: the server resets the connection
    aborter = procs(lab.command([sys.executable, "-u", "-c", ABORTER, "8002"]))
    aborter.wait_for(r"^ready")
    client = procs(lab.command([sys.executable, "-c",
        "import socket; s = socket.create_connection(('127.0.0.1', 8002)); s.sendall(b'x');"
        " s.recv(10)"]))  # fmt: skip
    client.wait(30)
    # kernel to synack: curl fetches from synack listen on the TUN device
    listen = procs(synack("listen", "8080", "--http", str(site), "--count", "1",
                          "--name", lab.name))  # fmt: skip
    listen.wait_for(r"^synack serves", stream="err")
    synack_fetch = procs(lab.command(
        ["curl", "-s", "-o", "/dev/null", f"http://{lab.synack_address(4)}:8080/page.html"]
    ))  # fmt: skip
    assert synack_fetch.wait(30) == 0, synack_fetch.describe()
    listen.wait(30)
    time.sleep(1.0)
    dumpcap.interrupt()

    result = CliRunner().invoke(main, ["analyze", str(capture), "--ignore-checksums",
                                       "--format", "conn-json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    conns = [json.loads(line) for line in result.stdout.splitlines()]
    by_port = {c["id.resp_p"]: c for c in conns}
    assert by_port[8001]["conn_state"] == "SF"  # kernel to kernel, closed by both
    assert by_port[8009]["conn_state"] == "REJ"  # refused
    assert by_port[8002]["conn_state"] in ("RSTR", "RSTO")  # aborted with a RST
    assert by_port[8080]["conn_state"] == "SF"  # kernel to synack
    for port in (8001, 8080):
        record = by_port[port]
        assert record["id.orig_h"] in ("127.0.0.1", str(lab.kernel_address(4)))
        assert record["resp_bytes"] > 2000  # the page came back

    # the passive inference of both sides' states, per connection
    # whoever closed first waits in TIME-WAIT; the other ends CLOSED
    for port, opener_final, responder_final in (
        (8001, "TIME-WAIT", "CLOSED"),
        (8080, "TIME-WAIT", "CLOSED"),
    ):
        story = CliRunner().invoke(main, ["analyze", str(capture), "--ignore-checksums",
                                          "--port", str(port), "--format", "json"])  # fmt: skip
        assert story.exit_code == 0, story.output
        states = [json.loads(line) for line in story.stdout.splitlines()]
        finals: dict[str, str] = {}
        for item in states:
            if item["kind"] == "state":
                finals[item["endpoint"]] = item["new"]
        assert sorted(finals.values()) == sorted([opener_final, responder_final]), finals
    refused_states = CliRunner().invoke(main, ["analyze", str(capture), "--ignore-checksums",
                                               "--port", "8009", "--format", "story"])  # fmt: skip
    assert "refused the connection" in refused_states.output
