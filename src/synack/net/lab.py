"""The lab: a network namespace with TUN devices, synack on one side and the
kernel on the other.

Inside the namespace the TUN device ``synack0`` carries the kernel's
addresses (10.77.0.1/24, fd77::1/64). Each synack process in the lab attaches
to a TUN device of its own (:meth:`Lab.attach`) and answers for the
addresses of that device's slot: slot 0 is ``synack0`` with 10.77.0.2 and
fd77::2; slot n is ``synack<n>`` with 10.77.0.(2+n) and fd77::(2+n), a
device the process creates and the kernel routes those two addresses to
(it goes away with the process). A process takes the first slot whose
device no other process holds, so a listener and clients run side by side.
Nothing leaves the namespace. It is built with iproute2's ``ip``.

:meth:`Lab.join` adds a second, bare namespace joined to the lab's by a veth
pair (``veth0``, 10.78.0.1 in the lab; ``veth1``, 10.78.0.2 in the other),
for a kernel-side server that the lab's kernel clients reach across a device.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address, ip_address

from synack.net.tun import TunBusy, open_tun, open_tun_offload, wait_running

CLONE_NEWNET = 0x40000000
NETNS_DIR = "/var/run/netns"
KERNEL_V4, SYNACK_V4 = IPv4Address("10.77.0.1"), IPv4Address("10.77.0.2")
KERNEL_V6, SYNACK_V6 = IPv6Address("fd77::1"), IPv6Address("fd77::2")
VETH_V4, VETH_PEER_V4 = IPv4Address("10.78.0.1"), IPv4Address("10.78.0.2")  # Lab.join
MAX_SLOTS = 200  # synack processes in one lab at once (10.77.0.2 to 10.77.0.201)
STOP_GRACE = 2.0  # seconds a process has to exit on SIGTERM before SIGKILL


@dataclass(frozen=True)
class Attachment:
    """One synack process's place in the lab: its TUN device (an open,
    non-blocking descriptor) and the addresses it answers for."""

    fd: int
    slot: int
    device: str
    v4: IPv4Address
    v6: IPv6Address
    mtu: int
    # opened with a virtio-net header and TSO/checksum offloads (Lab.offload)
    offload: bool = False
    offload_refused: str | None = None  # why not, when the lab asked and the kernel said no


@dataclass(frozen=True)
class LabProcess:
    pid: int
    command: str


class LabError(RuntimeError):
    """A one-line reason the lab cannot be built or used."""


DEFAULT_NAME = "synack-lab"
NAME_VARIABLE = "SYNACK_LAB"  # an environment variable naming the lab, for the CLI and Lab()


def default_name() -> str:
    """``$SYNACK_LAB``, or ``synack-lab``."""
    return os.environ.get(NAME_VARIABLE) or DEFAULT_NAME


@dataclass(frozen=True)
class Lab:
    name: str = field(default_factory=default_name)
    device: str = "synack0"
    kernel_v4: IPv4Address = KERNEL_V4
    synack_v4: IPv4Address = SYNACK_V4
    kernel_v6: IPv6Address = KERNEL_V6
    synack_v6: IPv6Address = SYNACK_V6
    mtu: int = 1500
    # attach with a virtio-net header and segmentation offload (TSO/GSO both
    # ways), falling back to plain packets if the kernel refuses
    offload: bool = False

    @property
    def exists(self) -> bool:
        return os.path.exists(os.path.join(NETNS_DIR, self.name))

    def up(self) -> list[LabProcess]:
        """Create the namespace and its TUN device (again, if it exists: its
        processes are stopped first, and returned)."""
        _require_root()
        stopped = self.down() if self.exists else []
        _ip("netns", "add", self.name)
        try:
            self.ip("link", "set", "lo", "up")
            self.ip("tuntap", "add", "dev", self.device, "mode", "tun")
            self.ip("link", "set", self.device, "mtu", str(self.mtu), "up")
            self.ip("addr", "add", f"{self.kernel_v4}/24", "dev", self.device)
            self.ip("-6", "addr", "add", f"{self.kernel_v6}/64", "dev", self.device, "nodad")
            # the kernel routes between synack processes (between their devices)
            _run(self.command(["sh", "-c", _FORWARDING]))
        except LabError:
            self.down()
            raise
        return stopped

    def down(self) -> list[LabProcess]:
        """Stop every process in the namespace, then remove it, and with it the
        TUN devices and their addresses. Returns the processes stopped."""
        _require_root()
        if not self.exists:
            return []
        stopped = self.stop_processes()
        _ip("netns", "del", self.name)
        return stopped

    def processes(self) -> list[LabProcess]:
        """The processes inside the namespace (but this one), as ``ip netns pids``
        finds them, with their command lines."""
        found = []
        for word in _ip("netns", "pids", self.name).split():
            pid = int(word)
            if pid == os.getpid():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    argv = f.read().rstrip(b"\0").split(b"\0")
            except OSError:  # gone already
                continue
            found.append(LabProcess(pid, " ".join(a.decode(errors="replace") for a in argv)))
        return found

    def stop_processes(self, grace: float = STOP_GRACE) -> list[LabProcess]:
        """SIGTERM to every process in the namespace, SIGKILL to those still
        there after ``grace`` seconds; returns them."""
        stopped: dict[int, LabProcess] = {}
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, grace)):
            running = self.processes()
            for proc in running:
                stopped.setdefault(proc.pid, proc)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, sig)
            deadline = time.monotonic() + wait
            while running and time.monotonic() < deadline:
                time.sleep(0.05)
                running = self.processes()
            if not running:
                break
        return list(stopped.values())

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

    def slot_device(self, slot: int) -> str:
        """The TUN device of ``slot``: ``synack0``, ``synack1``, ..."""
        if slot == 0:
            return self.device
        return f"{self.device.rstrip('0123456789') or self.device}{slot}"

    def slot_addresses(self, slot: int) -> tuple[IPv4Address, IPv6Address]:
        return self.synack_v4 + slot, self.synack_v6 + slot

    def attach(self) -> Attachment:
        """Inside the namespace (after :meth:`enter`): attach to the first free
        slot's TUN device; slot 0's is ``lab up``'s, a later one is created
        here, given the lab's MTU, and the kernel routes the slot's addresses
        to it. The device of a slot above 0 vanishes when the process closes it
        (or exits). With :attr:`offload`, the device is opened with a
        virtio-net header and offloads if the kernel allows it
        (``Attachment.offload``; else ``offload_refused`` says why)."""
        mtu = self.device_mtu()
        for slot in range(MAX_SLOTS):
            device = self.slot_device(slot)
            refused = None
            try:
                if self.offload:
                    fd, refused = open_tun_offload(device)
                else:
                    fd = open_tun(device)
            except TunBusy:
                continue
            v4, v6 = self.slot_addresses(slot)
            if slot > 0:
                try:
                    self.ip_batch(
                        [
                            f"link set dev {device} mtu {mtu} up",
                            f"route replace {v4}/32 dev {device} src {self.kernel_v4}",
                            f"route replace {v6}/128 dev {device}",
                        ]
                    )
                except LabError:
                    os.close(fd)
                    raise
            offload = self.offload and refused is None
            wait_running(device)  # the kernel's answers go out only once it is
            return Attachment(fd, slot, device, v4, v6, mtu, offload, refused)
        raise LabError(f"all {MAX_SLOTS} synack slots of lab {self.name} are in use")

    def join(self, peer: Lab) -> None:
        """Create ``peer``'s namespace (again, if it exists), bare: no TUN
        device; and a veth pair at this lab's MTU between the two, ``veth0``
        here with :data:`VETH_V4`, ``veth1`` there with :data:`VETH_PEER_V4`.
        ``peer.down()`` removes it, and the pair with it."""
        mtu = self.device_mtu()
        if peer.exists:
            peer.down()
        _ip("netns", "add", peer.name)
        try:
            self.ip_batch(
                [
                    f"link add veth0 type veth peer name veth1 netns {peer.name}",
                    f"link set veth0 mtu {mtu} up",
                    f"addr add {VETH_V4}/30 dev veth0",
                ]
            )
            peer.ip_batch(
                [
                    "link set lo up",
                    f"link set veth1 mtu {mtu} up",
                    f"addr add {VETH_PEER_V4}/30 dev veth1",
                ]
            )
        except LabError:
            peer.down()
            raise

    def ip_batch(self, commands: list[str]) -> None:
        """Run ``ip`` commands (one a line) inside the namespace in one process."""
        _run([_ip_binary(), "-n", self.name, "-batch", "-"], "\n".join(commands) + "\n")

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


_FORWARDING = (
    "echo 1 > /proc/sys/net/ipv4/ip_forward && echo 1 > /proc/sys/net/ipv6/conf/all/forwarding"
)


def _ip(*args: str) -> str:
    return _run([_ip_binary(), *args])


def _run(argv: list[str], stdin: str | None = None) -> str:
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        reason = done.stderr.strip() or f"exit status {done.returncode}"
        raise LabError(f"{' '.join([os.path.basename(argv[0]), *argv[1:]])}: {reason}")
    return done.stdout
