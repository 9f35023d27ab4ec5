"""Closing, refusing and resetting, seen from both sides: the kernel's sockets
through ``ss -tan`` inside the lab, synack's states through its live ladder
(``--ladder``, on stderr)."""

from __future__ import annotations

import errno
from collections.abc import Callable

import pytest
from _interop import (
    KEEP_OPEN,
    Proc,
    Socket,
    in_order,
    kernel_peer,
    kernel_sockets,
    ladder_states,
    poll_sockets,
    synack,
    synack_abort,
)

from synack.net.lab import Lab

pytestmark = pytest.mark.interop

TIMEOUT = 20.0
HOLD = 1.5  # seconds the kernel server stays in CLOSE-WAIT


@pytest.fixture(scope="module")
def lab(lab_factory: Callable[..., Lab]) -> Lab:
    return lab_factory()


def serve(procs: Callable[..., Proc], lab: Lab, port: int) -> Proc:
    server = procs(synack("listen", port, "--count", 1, "--name", lab.name, "--ladder"))
    server.wait_for(r"synack serves", stream="err")
    return server


# ----------------------------------------------------------------------
# (a) synack closes first
# ----------------------------------------------------------------------
def test_synack_closes_first_kernel_in_close_wait_synack_in_time_wait(
    procs: Callable[..., Proc], lab: Lab
) -> None:
    port = 9100
    kernel = procs(kernel_peer(lab, "hold-server", lab.kernel_v4, port, HOLD))
    kernel.wait_for(r"^ready")
    client = procs(
        synack("connect", lab.kernel_v4, port, "--name", lab.name, "--ladder"), stdin=b"hello\n"
    )
    kernel.wait_for(r"^eof 6$", timeout=TIMEOUT)  # synack's data and FIN are in

    def ours(sockets: list[Socket]) -> list[Socket]:  # the connection, not the listener
        return [s for s in sockets if s.local_port == port and s.state != "LISTEN"]

    def close_wait(sockets: list[Socket]) -> bool:
        return [s.state for s in ours(sockets)] == ["CLOSE-WAIT"]

    sockets = poll_sockets(lab, close_wait, timeout=HOLD / 2)
    assert close_wait(sockets), f"the kernel is not in CLOSE-WAIT: {sockets}"
    assert ours(sockets)[0].peer.startswith(f"{lab.synack_v4}:")

    kernel.wait_for(r"^closed", timeout=HOLD + TIMEOUT)
    assert client.wait(TIMEOUT) == 0, client.describe()
    assert client.out == b"bye\n"
    assert kernel.wait(TIMEOUT) == 0, kernel.describe()
    # synack ACKed the kernel's FIN: no LAST-ACK left behind, nothing at all
    sockets = poll_sockets(lab, lambda found: not ours(found), timeout=5)
    assert not ours(sockets), f"the kernel's side did not go away: {sockets}"

    states = ladder_states(client.err)
    expected = ["SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT"]
    assert in_order(expected, states), f"synack went through {states}\n{client.err}"
    assert "CLOSE-WAIT" not in states and "LAST-ACK" not in states
    # the kernel's column: its states inferred from the packets, as ss saw them
    theirs = ladder_states(client.err, column="right")
    kernel_path = ["SYN-RECEIVED", "ESTABLISHED", "CLOSE-WAIT", "LAST-ACK", "CLOSED"]
    assert in_order(kernel_path, theirs), f"the kernel's column: {theirs}\n{client.err}"


# ----------------------------------------------------------------------
# (b) the kernel closes first
# ----------------------------------------------------------------------
def test_kernel_closes_first_kernel_in_time_wait(procs: Callable[..., Proc], lab: Lab) -> None:
    port = 9200
    server = serve(procs, lab, port)
    client = procs(kernel_peer(lab, "close-first-client", lab.synack_v4, port))
    local = int(client.wait_for(r"^local (\d+) hello$", timeout=TIMEOUT).group(1))
    client.wait_for(r"^closed")

    def ours(sockets: list[Socket]) -> list[Socket]:
        return [s for s in sockets if s.local_port == local and s.peer_port == port]

    sockets = poll_sockets(lab, lambda found: [s for s in ours(found) if s.state == "TIME-WAIT"])
    assert [s.state for s in ours(sockets)] == ["TIME-WAIT"], sockets
    assert ours(sockets)[0].peer == f"{lab.synack_v4}:{port}"
    assert client.wait(TIMEOUT) == 0, client.describe()

    assert server.wait(TIMEOUT) == 0, server.describe()
    states = ladder_states(server.err)
    expected = ["LISTEN", "SYN-RECEIVED", "ESTABLISHED", "CLOSE-WAIT", "LAST-ACK", "CLOSED"]
    assert in_order(expected, states), f"synack went through {states}\n{server.err}"
    assert "TIME-WAIT" not in states


# ----------------------------------------------------------------------
# (c) no listener: refused
# ----------------------------------------------------------------------
@pytest.mark.parametrize("version", [4, 6])
def test_kernel_connect_to_port_without_listener_is_refused(
    procs: Callable[..., Proc], lab: Lab, version: int
) -> None:
    server = serve(procs, lab, 9300)  # attaches synack to the TUN device
    address = lab.synack_address(version)
    refused = procs(kernel_peer(lab, "connect", address, 9301))
    assert refused.wait(TIMEOUT) == 0, refused.describe()
    assert refused.out.decode().strip() == "refused", refused.describe()
    # ... and the listener on the other port still works
    works = procs(kernel_peer(lab, "connect", address, 9300))
    assert works.wait(TIMEOUT) == 0, works.describe()
    assert works.out.decode().strip() == "connected", works.describe()
    assert server.wait(TIMEOUT) == 0, server.describe()


@pytest.mark.parametrize("version", [4, 6])
def test_synack_connect_to_kernel_port_without_listener_is_refused(
    procs: Callable[..., Proc], lab: Lab, version: int
) -> None:
    address = lab.kernel_address(version)
    client = procs(synack("connect", address, 9302, "--name", lab.name))
    assert client.wait(TIMEOUT) == 1, client.describe()
    *retransmissions, last = client.err.strip().splitlines()
    assert last == f"synack connect: {address}:9302: connection refused"
    # now and then (1 run in 8 or so, before the lab had a device per process
    # as well) the kernel misses the first SYN just after synack attaches to
    # the device; then synack says so (test_interop_lab_processes.py)
    assert all(" no answer; SYN sent again at " in line for line in retransmissions), client.err


# ----------------------------------------------------------------------
# (d) aborts: a RST from either side is the other's ECONNRESET
# ----------------------------------------------------------------------
def reset_by_kernel(procs: Callable[..., Proc], lab: Lab, port: int) -> tuple[Proc, Proc]:
    """The kernel server sends "hello", waits for synack's line, then closes
    with SO_LINGER (1, 0): a RST while ``synack connect`` reads (its stdin
    still open, so no FIN from synack)."""
    kernel = procs(kernel_peer(lab, "reset-server", lab.kernel_v4, port))
    kernel.wait_for(r"^ready")
    client = procs(
        synack("connect", lab.kernel_v4, port, "--name", lab.name, "--ladder"), stdin=KEEP_OPEN
    )
    client.wait_for(r"^hello$", timeout=TIMEOUT)
    client.write(b"go\n")
    kernel.wait_for(r"^reset sent", timeout=TIMEOUT)
    status = client.wait(TIMEOUT)
    assert status == 1, client.describe()
    assert kernel.wait(TIMEOUT) == 0, kernel.describe()
    return kernel, client


def test_kernel_abort_resets_synack_connect(procs: Callable[..., Proc], lab: Lab) -> None:
    kernel, client = reset_by_kernel(procs, lab, 9400)
    assert kernel.out.decode().splitlines()[:2] == ["ready", "got go"]
    assert client.out == b"hello\n"
    assert "rcv RST" in client.err, client.describe()
    assert ladder_states(client.err)[-2:] == ["ESTABLISHED", "CLOSED"], client.describe()
    assert "reset" in client.err.lower()
    assert not [s for s in kernel_sockets(lab) if s.local_port == 9400]


def test_synack_connect_reports_reset_in_one_line(procs: Callable[..., Proc], lab: Lab) -> None:
    _, client = reset_by_kernel(procs, lab, 9401)
    assert "Traceback" not in client.err, client.err
    lines = [line for line in client.err.splitlines() if line.startswith("synack connect:")]
    assert len(lines) == 1, client.err
    assert f"{lab.kernel_v4}:9401" in lines[0] and "reset" in lines[0], client.err


@pytest.mark.parametrize("version", [4, 6])
def test_synack_abort_resets_kernel_socket(
    procs: Callable[..., Proc], lab: Lab, version: int
) -> None:
    port = 9500 + version
    address = str(lab.kernel_address(version))
    kernel = procs(kernel_peer(lab, "reset-victim", address, port))
    kernel.wait_for(r"^ready")
    aborter = procs(synack_abort(lab, address, port))
    assert aborter.wait(TIMEOUT) == 0, aborter.describe()
    assert aborter.out.decode().splitlines() == ["answer pong", "aborted"]
    assert kernel.wait(TIMEOUT) == 0, kernel.describe()
    # recv() raised ConnectionResetError (ECONNRESET, errno 104)
    assert kernel.out.decode().splitlines() == ["ready", "got ping", f"reset {errno.ECONNRESET}"]
