"""``synack`` with the kernel refusing the TUN device's offloads, for the
fallback test (run as its own process, since synack enters the lab's
namespace):

    python _synack_offload_refused.py ARGS...    the same ARGS as ``synack``

TUNSETOFFLOAD (after TUNSETVNETHDRSZ) fails with EINVAL here, as on a kernel
without TSO for TUN devices; everything else is the real CLI.
"""

from __future__ import annotations

import errno
import os

from synack import cli
from synack.net import tun


def refuse(fd: int) -> None:
    raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))


if __name__ == "__main__":
    tun._offload_ioctls = refuse  # type: ignore[assignment]
    cli.main(prog_name="synack")
