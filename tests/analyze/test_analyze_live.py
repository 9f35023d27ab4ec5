"""synack analyze -i: the kernel's own TCP on loopback, analysed as it happens."""

from __future__ import annotations

import os
import select
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("dumpcap") is None,
    reason="a live capture needs root and dumpcap (CI has both)",
)


def exchange(server: socket.socket) -> None:
    """A connection to the listening ``server`` on loopback: a request, a reply,
    the server closing first."""
    port = server.getsockname()[1]
    with server:

        def serve() -> None:
            conn, _ = server.accept()
            conn.recv(100)
            conn.sendall(b"reply")
            conn.close()

        thread = threading.Thread(target=serve)
        thread.start()
        with socket.create_connection(("127.0.0.1", port)) as client:
            client.sendall(b"hello")
            client.recv(100)
            time.sleep(0.1)
        thread.join()


def test_a_live_connection_is_drawn_as_it_happens() -> None:
    # a port of the kernel's choosing, bound before the capture starts
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    analyze = subprocess.Popen(
        [sys.executable, "-m", "synack", "analyze", "-i", "lo", "--port", str(port),
         "--seconds", "8", "--ignore-checksums"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    # the capture is open once it says so (a fixed sleep lost the SYN on a busy machine)
    assert analyze.stderr is not None
    ready, _, _ = select.select([analyze.stderr], [], [], 20)
    assert ready, "no word from the live capture in 20 s"
    assert analyze.stderr.readline().strip() == "synack analyze: capturing on lo"
    exchange(server)
    out, err = analyze.communicate(timeout=30)
    assert analyze.returncode == 0, err
    assert f"127.0.0.1:{port}" in out
    for inferred in ("rcv SYN,ACK (inferred)", "rcv ACK of SYN (inferred)", "rcv FIN (inferred)"):
        assert inferred in out, out
    assert "active OPEN: send SYN" in out and "CLOSE: send FIN" in out
    # the server closed first: it waits in TIME-WAIT, the client ends CLOSED.
    # Ours is the first connection listed on the port: once the server socket
    # is closed, another test's connection may take the port within the 8 s.
    listing = next(
        line for line in out.splitlines() if line.startswith("#") and f":{port} " in f"{line} "
    )
    assert listing.endswith("final CLOSED / TIME-WAIT") or listing.endswith(
        "final TIME-WAIT / CLOSED"
    ), listing


def test_live_options_need_an_interface(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from synack.cli import main

    result = CliRunner().invoke(main, ["analyze", "--count", "5"])
    assert result.exit_code == 2 and "-i IFACE" in result.output


@pytest.mark.interop
@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["-i", "nosuchif0"], 'Error: dumpcap: There is no device named "nosuchif0".'),
        (["-i", "lo", "--lab", "no-such-lab"], 'Cannot open network namespace "no-such-lab"'),
    ],
)
def test_a_capture_that_cannot_start_says_why_on_one_line(args: list[str], error: str) -> None:
    from click.testing import CliRunner

    from synack.cli import main

    result = CliRunner().invoke(main, ["analyze", *args, "--seconds", "5"])
    assert result.exit_code == 1, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: dumpcap: ") and error in line, result.stderr
    assert "dumpcap: dumpcap" not in line and "Capturing on" not in line
