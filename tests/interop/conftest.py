"""Fixtures of the interop tests: synack against the kernel's TCP in a lab.

Each test module builds its own lab (a network namespace with the TUN device
synack0) named ``synack-t<pid>-<n>``, the pid being that of the pytest
process (an xdist worker), so that modules and workers run side by side;
the module's teardown kills whatever still runs in the namespace and removes
it, failed tests or not. A lab left behind by a killed run is removed at the
start of the next one.

Without root, /dev/net/tun or iproute2's ``ip`` the tests skip, saying why;
with the environment variable CI set they fail instead.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Callable, Iterator

import pytest
from _interop import LAB_PREFIX, Proc, remove_lab, remove_stale_labs

from synack.net.lab import Lab

_lab_numbers = itertools.count(1)


def missing_requirement() -> str | None:
    if os.geteuid() != 0:
        return "the interop tests need root (a network namespace and a TUN device)"
    if not os.path.exists("/dev/net/tun"):
        return "the interop tests need /dev/net/tun (modprobe tun)"
    if shutil.which("ip") is None:
        return "the interop tests need iproute2's ip"
    return None


@pytest.fixture(scope="session", autouse=True)
def interop_environment() -> None:
    reason = missing_requirement()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set: failing instead of skipping)", pytrace=False)
        pytest.skip(reason)
    remove_stale_labs()


@pytest.fixture(scope="module")
def lab_factory(interop_environment: None) -> Iterator[Callable[..., Lab]]:
    """Build labs for this module (``make(mtu=...)``); all removed at its end."""
    labs: list[Lab] = []

    def make(mtu: int = 1500) -> Lab:
        lab = Lab(name=f"{LAB_PREFIX}{os.getpid()}-{next(_lab_numbers)}", mtu=mtu)
        labs.append(lab)
        lab.up()
        return lab

    yield make
    errors = []
    for lab in labs:
        try:
            remove_lab(lab)
        except Exception as exc:
            errors.append(f"{lab.name}: {exc}")
    assert not errors, f"labs left behind: {errors}"


@pytest.fixture
def procs() -> Iterator[Callable[..., Proc]]:
    """Start subprocesses (``start(argv, stdin=..., stdout=...)``); whatever
    still runs at the end of the test is killed, with its process group."""
    started: list[Proc] = []

    def start(argv: list[str], **kwargs: object) -> Proc:
        proc = Proc(argv, **kwargs)  # type: ignore[arg-type]
        started.append(proc)
        return proc

    yield start
    for proc in reversed(started):
        proc.kill()
