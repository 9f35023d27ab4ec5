"""Attaching to a lab's TUN device waits until the kernel counts the device as
running: until its link-watch work has run, the device has no queueing
discipline, and the kernel's answer to synack's first segment would be
dropped (the SYN then goes again a second later)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest

from synack.net.lab import Lab

pytestmark = pytest.mark.interop

PROBE = r"""
import sys, time
from synack.net.lab import Lab
from synack.net.tun import open_tun, wait_running
lab = Lab(name=sys.argv[1])
lab.enter()
attachment = lab.attach()  # waits
print("attached running", wait_running(attachment.device, timeout=0.0))
# a TUN device nobody brought up is never running: the wait gives up
fd = open_tun("synackprobe9")
start = time.monotonic()
print("down running", wait_running("synackprobe9", timeout=0.05))
print("gave up after", round(time.monotonic() - start, 2))
"""


@pytest.mark.parametrize("attempt", range(3))
def test_attach_returns_with_the_device_running(
    lab_factory: Callable[..., Lab], attempt: int
) -> None:
    lab = lab_factory()  # a fresh lab each time: attached at once after it came up
    out = subprocess.run(
        [sys.executable, "-c", PROBE, lab.name], capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "attached running True"
    assert lines[1] == "down running False"
    assert 0.04 <= float(lines[2].split()[-1]) < 1.0
