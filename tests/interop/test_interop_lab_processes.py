"""Several synack processes in one lab: the README's lab sequence run as written
(a listener and a client at once), each process on a TUN device and
addresses of its own and reachable, ``lab down`` and ``lab up`` stopping
what runs inside and naming it, and ``synack connect`` to an address nobody
answers reporting each SYN retransmission as it happens."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from _interop import LAB_PREFIX, Proc, kernel_sockets, ladder_states, remove_lab, synack

from synack.net.lab import NAME_VARIABLE, Lab

pytestmark = pytest.mark.interop

README = Path(__file__).resolve().parents[2] / "README.md"
TIMEOUT = 30.0
_names = itertools.count(100)


@pytest.fixture(scope="module")
def lab(lab_factory: Callable[..., Lab]) -> Lab:
    return lab_factory()


def fresh_lab_name() -> str:
    """A name like the fixture's (so a killed run's lab is removed by the next)."""
    return f"{LAB_PREFIX}{os.getpid()}-{next(_names)}"


# ----------------------------------------------------------------------
# The README's lab sequence, as written
# ----------------------------------------------------------------------
def readme_lab_commands() -> list[str]:
    """The command lines of the first ``sh`` block of the README's lab section."""
    text = README.read_text()
    section = text[text.index("## The lab") :]
    block = re.search(r"^```sh\n(.*?)^```$", section, re.S | re.M)
    assert block is not None, "no sh block in the README's lab section"
    return [line for line in block.group(1).splitlines() if line.strip()]


def shell(line: str) -> list[str]:
    """``line`` in bash as written, ``sudo`` replaced by what it runs (the tests run
    as root; the process keeps bash's pid), a trailing ``&`` left to the test
    (which starts the line in the background)."""
    command = line.split("  #", 1)[0].strip()  # the README's comments are after two spaces
    command = command.removesuffix("&").strip()
    return ["bash", "-c", f'sudo() {{ exec "$@"; }}; {command}']


def test_readme_lab_sequence_runs_as_written(
    procs: Callable[..., Proc], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = readme_lab_commands()
    assert lines[0].startswith("sudo synack lab up") and lines[-1] == "sudo synack lab down"
    name = fresh_lab_name()
    lab = Lab(name=name)
    monkeypatch.setenv(NAME_VARIABLE, name)  # every synack command of the sequence uses it
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("<p>hello from synack</p>\n")
    (tmp_path / "index.html").write_text("<p>hello from the kernel</p>\n")
    background: dict[str, Proc] = {}
    results: dict[str, subprocess.CompletedProcess[bytes]] = {}
    try:
        for line in lines:
            if line.rstrip().split("  #", 1)[0].rstrip().endswith("&"):
                proc = procs(shell(line))
                background[line] = proc
                if "synack listen" in line:
                    proc.wait_for(r"^synack serves", stream="err", timeout=TIMEOUT)
                else:  # the kernel's server: ready when it listens
                    port = re.search(r"http\.server (\d+)", line)
                    assert port is not None, line
                    wait_listening(lab, int(port.group(1)))
            else:
                results[line] = subprocess.run(
                    shell(line), capture_output=True, timeout=TIMEOUT, check=False
                )
                assert results[line].returncode == 0, (line, results[line])
    finally:
        remove_lab(lab)

    curl = next(r for line, r in results.items() if "curl" in line)
    assert curl.stdout == b"<p>hello from synack</p>\n"
    connect = next(r for line, r in results.items() if "synack connect" in line)
    assert connect.stdout.startswith(b"HTTP/1.0 200 OK\r\n"), connect.stdout
    assert connect.stdout.endswith(b"\r\n\r\n<p>hello from the kernel</p>\n"), connect.stdout
    assert re.fullmatch(rb"wrote \d+ packets to get\.pcap\n", connect.stderr), connect.stderr
    assert (tmp_path / "get.pcap").stat().st_size > 0

    # lab down stopped both background processes and named them, pid and command line
    down_result = results["sudo synack lab down"]
    down = down_result.stdout.decode()
    for line, proc in background.items():
        assert proc.wait(TIMEOUT) != 0  # ended by a signal, not on its own
        stopped = re.search(rf"^stopped pid {proc.popen.pid} in lab {name}: (.*)$", down, re.M)
        assert stopped is not None, (line, down)
        shown = line.split("  #", 1)[0].strip().removesuffix("&").strip().removeprefix("sudo ")
        assert stopped.group(1).endswith(shown.removeprefix("synack lab exec ")), stopped.group(1)
    assert down.splitlines()[-1] == f"lab {name} is down"
    assert not lab.exists

    listener = next(p for line, p in background.items() if "synack listen" in line)
    assert "ESTABLISHED" in ladder_states(listener.err), listener.err  # its live ladder


def wait_listening(lab: Lab, port: int) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if any(s.state == "LISTEN" and s.local_port == port for s in kernel_sockets(lab)):
            return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port} in {lab.name}")


# ----------------------------------------------------------------------
# Each synack process: its own device and addresses, reachable
# ----------------------------------------------------------------------
def test_listener_and_clients_each_get_their_own_address_and_reach_each_other(
    procs: Callable[..., Proc], lab: Lab
) -> None:
    server = procs(synack("listen", 9600, "--name", lab.name))
    serves = server.wait_for(r"^synack serves echo on (\S+) and (\S+)$", stream="err")
    assert serves.groups() == (f"{lab.synack_v4}:9600", f"[{lab.synack_v6}]:9600")
    # a second listener at once: the next slot
    second = procs(synack("listen", 9600, "--name", lab.name))
    serves = second.wait_for(r"^synack serves echo on (\S+) and (\S+)$", stream="err")
    assert serves.groups() == ("10.77.0.3:9600", "[fd77::3]:9600")
    # clients (the next slots), each to one of the listeners, through the kernel's routing
    for address in (lab.synack_v4, "fd77::3"):
        client = procs(synack("connect", address, 9600, "--name", lab.name), stdin=b"ping\n")
        assert client.wait(TIMEOUT) == 0, client.describe()
        assert client.out == b"ping\n"
    # and the kernel reaches both listeners
    for address in (lab.synack_v4, "10.77.0.3"):
        done = subprocess.run(
            lab.command([sys.executable, "-c", ECHO_ONCE, str(address), "9600"]),
            capture_output=True, timeout=TIMEOUT, check=False,
        )  # fmt: skip
        assert (done.returncode, done.stdout) == (0, b"pong\n"), done
    devices = lab.ip("-o", "link", "show")
    assert " synack0:" in devices and " synack1:" in devices, devices


ECHO_ONCE = """
import socket, sys
with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=20) as s:
    s.sendall(b"pong\\n")
    s.shutdown(socket.SHUT_WR)
    data = b""
    while chunk := s.recv(4096):
        data += chunk
sys.stdout.buffer.write(data)
"""


# ----------------------------------------------------------------------
# lab down / lab up: every process stopped and named
# ----------------------------------------------------------------------
def test_lab_up_over_a_lab_and_lab_down_stop_every_process_and_name_it(
    procs: Callable[..., Proc],
) -> None:
    name = fresh_lab_name()
    lab = Lab(name=name)
    try:
        up = subprocess.run(synack("lab", "up", "--name", name), capture_output=True, text=True)
        assert up.returncode == 0 and not up.stdout.startswith("stopped"), up
        sleeper = procs(synack("lab", "exec", "--name", name, "sleep", "300"))
        listener = procs(synack("listen", 9700, "--name", name))
        listener.wait_for(r"^synack serves", stream="err")
        again = subprocess.run(synack("lab", "up", "--name", name), capture_output=True, text=True)
        assert again.returncode == 0, again
        lines = again.stdout.splitlines()
        assert sorted(lines[:2]) == sorted(
            [
                f"stopped pid {sleeper.popen.pid} in lab {name}: sleep 300",
                f"stopped pid {listener.popen.pid} in lab {name}: "
                + " ".join(synack("listen", 9700, "--name", name)),
            ]
        ), again.stdout
        assert lines[2].startswith(f"lab {name} is up"), again.stdout
        assert sleeper.wait(TIMEOUT) < 0 and listener.wait(TIMEOUT) < 0  # by a signal
        sleeper = procs(synack("lab", "exec", "--name", name, "sleep", "301"))
        deadline = time.monotonic() + TIMEOUT
        while sleeper.popen.pid not in [p.pid for p in lab.processes()]:
            assert time.monotonic() < deadline, sleeper.describe()
            time.sleep(0.05)
        down = subprocess.run(synack("lab", "down", "--name", name), capture_output=True, text=True)
        assert down.returncode == 0, down
        assert down.stdout == (
            f"stopped pid {sleeper.popen.pid} in lab {name}: sleep 301\nlab {name} is down\n"
        )
        assert sleeper.wait(TIMEOUT) < 0
        assert not lab.exists
    finally:
        remove_lab(lab)


def test_lab_down_of_a_lab_that_does_not_exist_says_so() -> None:
    name = fresh_lab_name()
    down = subprocess.run(synack("lab", "down", "--name", name), capture_output=True, text=True)
    assert down.returncode == 1
    assert down.stdout == ""
    assert down.stderr == f"Error: no lab named {name}: nothing to take down\n"


# ----------------------------------------------------------------------
# synack connect to an address nobody answers
# ----------------------------------------------------------------------
def test_connect_to_an_unreachable_address_shows_each_syn_retransmission(
    procs: Callable[..., Proc], lab: Lab
) -> None:
    client = procs(synack("connect", "10.77.0.200", 80, "--name", lab.name))
    pattern = (
        r"^synack connect: 10\.77\.0\.200:80: no answer; SYN sent again at "
        r"(\d+\.\d\d) s \(retransmission (\d+)\)$"
    )
    client.wait_for(pattern.replace(r"(\d+)\)", r"(2)\)"), stream="err", timeout=TIMEOUT)
    client.kill()
    found = re.findall(pattern, client.err, re.M)
    assert [n for _, n in found] == ["1", "2"], client.err
    first, second = (float(t) for t, _ in found)
    # the initial RTO is 1 s and doubles (RFC 6298): never sooner. The times
    # are printed to 1/100 s, each rounded: their difference may be 0.01 short
    # (3.01 - 1.01 is also 1.9999999999999998 in floats)
    assert first >= 1.0 and round(second - first, 2) >= 1.99, found
    assert client.err.splitlines()[: len(found)] == [
        line for line in client.err.splitlines() if "retransmission" in line
    ]
    assert client.out == b""
