"""Open a TUN device: IP packets in and out of the kernel through a file descriptor.

``IFF_TUN | IFF_NO_PI``: each read gives one IP packet and each write sends
one, with no extra header (linux/if_tun.h). With offload
(:func:`open_tun_offload`), ``IFF_VNET_HDR`` too: each packet comes and goes
after a virtio-net header (:mod:`synack.net.vnet`), and ``TUNSETOFFLOAD``
lets the kernel hand over (and take) TCP super-segments of up to 64 KB with
checksums left to the device.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
import struct
import time

from synack.net.vnet import VNET_HDR_LEN

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
IFF_VNET_HDR = 0x4000
TUNSETOFFLOAD = 0x400454D0
TUNSETVNETHDRSZ = 0x400454D8
TUN_F_CSUM = 0x01
TUN_F_TSO4 = 0x02
TUN_F_TSO6 = 0x04
OFFLOADS = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6
_IFREQ = struct.Struct("16sH")


class TunError(OSError):
    """The TUN device could not be opened, with what to do about it."""


class TunBusy(TunError):
    """Another process is attached to the TUN device already."""


def open_tun(name: str, flags: int = 0) -> int:
    """Attach to the TUN device ``name`` (created if missing) in this process's
    network namespace; returns a non-blocking file descriptor. ``flags``: more
    ``IFF_*`` flags (``IFF_VNET_HDR``)."""
    if len(name.encode()) > 15:
        raise TunError(f"interface name {name!r} is longer than 15 bytes")
    try:
        fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise TunError("no /dev/net/tun: this kernel or container has no TUN support") from None
    except PermissionError:
        raise TunError("/dev/net/tun needs root (or CAP_NET_ADMIN)") from None
    try:
        fcntl.ioctl(fd, TUNSETIFF, _IFREQ.pack(name.encode(), IFF_TUN | IFF_NO_PI | flags))
    except OSError as exc:
        os.close(fd)
        if exc.errno == errno.EBUSY:
            raise TunBusy(f"TUN device {name} is in use by another process") from None
        raise TunError(f"cannot attach to TUN device {name}: {exc.strerror}") from None
    if not flags & IFF_VNET_HDR:
        # a persistent device keeps the offloads an earlier process turned on:
        # without a header to say so, the kernel's super-segments would arrive
        # unmarked, their checksums unfinished
        with contextlib.suppress(OSError):
            fcntl.ioctl(fd, TUNSETOFFLOAD, 0)
    return fd


SIOCGIFFLAGS = 0x8913
IFF_RUNNING = 0x40


def wait_running(name: str, timeout: float = 2.0) -> bool:
    """Wait (at most ``timeout`` seconds) until the kernel counts device ``name``
    as running. Attaching turns the carrier on, but the kernel applies that
    later, from its link-watch work: until then the device has no queueing
    discipline and what the kernel sends through it (an answer to our first
    SYN) is dropped. Returns whether it came up in time; raises
    :class:`TunError` if the device is not there (or goes away meanwhile)."""
    request = _IFREQ.pack(name.encode(), 0)
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        while True:
            try:
                flags = _IFREQ.unpack(fcntl.ioctl(probe, SIOCGIFFLAGS, request))[1]
            except OSError as exc:
                raise TunError(
                    f"cannot read the state of TUN device {name}: {exc.strerror or exc}"
                ) from None
            if flags & IFF_RUNNING:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.001)


def _offload_ioctls(fd: int) -> None:
    """The virtio-net header's size, then the offloads: raises OSError if refused."""
    fcntl.ioctl(fd, TUNSETVNETHDRSZ, struct.pack("i", VNET_HDR_LEN))
    fcntl.ioctl(fd, TUNSETOFFLOAD, OFFLOADS)


def open_tun_offload(name: str) -> tuple[int, str | None]:
    """:func:`open_tun` with a virtio-net header and checksum and TSO offloads
    (IPv4 and IPv6) turned on. Returns the descriptor and None; or, when the
    kernel refuses any of it, a descriptor opened plainly (no header) and the
    reason, for the caller to say once."""
    try:
        fd = open_tun(name, IFF_VNET_HDR)
    except TunBusy:
        raise
    except TunError as exc:
        return open_tun(name), f"no virtio-net header on {name} ({exc})"
    try:
        _offload_ioctls(fd)
    except OSError as exc:
        os.close(fd)  # a header without offloads is of no use: attach again, plainly
        return open_tun(name), f"offloads refused on {name}: {exc.strerror or exc}"
    return fd, None
