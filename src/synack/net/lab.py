"""The lab: a network namespace with a TUN device, synack on one side and the
kernel on the other.

Inside the namespace the TUN device ``synack0`` carries the kernel's
addresses (10.77.0.1/24, fd77::1/64); synack answers for the peer addresses
(10.77.0.2, fd77::2) behind it. Everything the kernel sends to those goes
into the TUN device, that is, to synack; nothing leaves the namespace. It is
built with iproute2's ``ip``.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address

CLONE_NEWNET = 0x40000000
NETNS_DIR = "/var/run/netns"
KERNEL_V4, SYNACK_V4 = IPv4Address("10.77.0.1"), IPv4Address("10.77.0.2")
KERNEL_V6, SYNACK_V6 = IPv6Address("fd77::1"), IPv6Address("fd77::2")


class LabError(RuntimeError):
    """A one-line reason the lab cannot be built or used."""


@dataclass(frozen=True)
class Lab:
    name: str = "synack-lab"
    device: str = "synack0"
    kernel_v4: IPv4Address = KERNEL_V4
    synack_v4: IPv4Address = SYNACK_V4
    kernel_v6: IPv6Address = KERNEL_V6
    synack_v6: IPv6Address = SYNACK_V6
    mtu: int = 1500

    @property
    def exists(self) -> bool:
        return os.path.exists(os.path.join(NETNS_DIR, self.name))

    def up(self) -> None:
        """Create the namespace and its TUN device (again, if it exists)."""
        _require_root()
        if self.exists:
            self.down()
        _ip("netns", "add", self.name)
        try:
            self.ip("link", "set", "lo", "up")
            self.ip("tuntap", "add", "dev", self.device, "mode", "tun")
            self.ip("link", "set", self.device, "mtu", str(self.mtu), "up")
            self.ip("addr", "add", f"{self.kernel_v4}/24", "dev", self.device)
            self.ip("-6", "addr", "add", f"{self.kernel_v6}/64", "dev", self.device, "nodad")
        except LabError:
            self.down()
            raise

    def down(self) -> None:
        """Remove the namespace, and with it the TUN device and its addresses."""
        _require_root()
        if self.exists:
            _ip("netns", "del", self.name)

    def device_mtu(self) -> int:
        """The TUN device's MTU, as ``lab up`` set it."""
        text = self.ip("-o", "link", "show", self.device)
        match = re.search(r"\bmtu (\d+)", text)
        if match is None:
            raise LabError(f"cannot read the MTU of {self.device}: {text.strip()!r}")
        return int(match.group(1))

    def ip(self, *args: str) -> str:
        """Run ``ip ARGS`` inside the namespace."""
        return _ip("-n", self.name, *args)

    def command(self, argv: list[str]) -> list[str]:
        """``argv`` wrapped to run as the kernel side, inside the namespace."""
        return [_ip_binary(), "netns", "exec", self.name, *argv]

    def enter(self) -> None:
        """Move this process (its calling thread: call it before starting threads)
        into the namespace, so the TUN device can be opened there."""
        _require_root()
        if not self.exists:
            raise LabError(f"no lab named {self.name}: run 'synack lab up' first")
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(os.path.join(NETNS_DIR, self.name), os.O_RDONLY | os.O_CLOEXEC)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                errno = ctypes.get_errno()
                raise LabError(f"cannot enter namespace {self.name}: {os.strerror(errno)}")
        finally:
            os.close(fd)

    def synack_address(self, version: int) -> IPv4Address | IPv6Address:
        return self.synack_v4 if version == 4 else self.synack_v6

    def kernel_address(self, version: int) -> IPv4Address | IPv6Address:
        return self.kernel_v4 if version == 4 else self.kernel_v6

    def kernel_side(self, address: str) -> bool:
        return ip_address(address) in (self.kernel_v4, self.kernel_v6)


def _require_root() -> None:
    if os.geteuid() != 0:
        raise LabError(
            "the lab needs root to create a network namespace and a TUN device "
            "(try: sudo synack lab up)"
        )


def _ip_binary() -> str:
    path = shutil.which("ip")
    if path is None:
        raise LabError("iproute2's 'ip' command is not installed (apt-get install iproute2)")
    return path


def _ip(*args: str) -> str:
    done = subprocess.run([_ip_binary(), *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        reason = done.stderr.strip() or f"exit status {done.returncode}"
        raise LabError(f"ip {' '.join(args)}: {reason}")
    return done.stdout
