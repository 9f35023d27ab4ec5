"""Open a TUN device: IP packets in and out of the kernel through a file descriptor.

``IFF_TUN | IFF_NO_PI``: each read gives one IP packet and each write sends
one, with no extra header (linux/if_tun.h).
"""

from __future__ import annotations

import errno
import fcntl
import os
import struct

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
_IFREQ = struct.Struct("16sH")


class TunError(OSError):
    """The TUN device could not be opened, with what to do about it."""


class TunBusy(TunError):
    """Another process is attached to the TUN device already."""


def open_tun(name: str) -> int:
    """Attach to the TUN device ``name`` (created if missing) in this process's
    network namespace; returns a non-blocking file descriptor."""
    if len(name.encode()) > 15:
        raise TunError(f"interface name {name!r} is longer than 15 bytes")
    try:
        fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise TunError("no /dev/net/tun: this kernel or container has no TUN support") from None
    except PermissionError:
        raise TunError("/dev/net/tun needs root (or CAP_NET_ADMIN)") from None
    try:
        fcntl.ioctl(fd, TUNSETIFF, _IFREQ.pack(name.encode(), IFF_TUN | IFF_NO_PI))
    except OSError as exc:
        os.close(fd)
        if exc.errno == errno.EBUSY:
            raise TunBusy(f"TUN device {name} is in use by another process") from None
        raise TunError(f"cannot attach to TUN device {name}: {exc.strerror}") from None
    return fd
