"""Every byte exact over a bad link: 5% loss, 20 ms delay and 10% reordering
in both directions, 1 MB each way (a kernel client, synack's echo server).

Where the impairment sits: the kernel these tests were written on has no
``tc netem`` qdisc ("Specified qdisc kind is unknown"), so by default the
link is simulated inside synack's TUN driver (``--impair``), both ways
between the TUN device and synack. The module probes netem first: where
``tc qdisc add dev synack0 root netem ...`` works in the lab, and an ifb
device can carry the device's ingress through a second netem, the kernel
side does the impairing instead (both directions) and synack runs plain.

It is slow (25 to 45 s when written: the kernel's side of the echo is done in
well under a second, while synack's sender repairs many of its losses only
by its retransmission timer, 1 s at the least), hence 1 MB rather than 10.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from _interop import Proc, kernel_peer, synack, tshark_fields

from synack.net.lab import Lab

pytestmark = pytest.mark.interop

SIZE = 1000 * 1000
TIMEOUT = 150.0
IMPAIR = "loss=5%,delay=20ms,reorder=10%"
NETEM = ["netem", "delay", "20ms", "loss", "5%", "reorder", "10%"]
IFB = "synack0ifb"
REDIRECT = ["action", "mirred", "egress", "redirect", "dev", IFB]
REPAIR_FILTER = (
    "tcp.analysis.retransmission || tcp.analysis.fast_retransmission"
    " || tcp.analysis.lost_segment || tcp.analysis.out_of_order"
)


def _try(lab: Lab, argv: list[str]) -> bool:
    done = subprocess.run(lab.command(argv), capture_output=True, timeout=10, check=False)
    return done.returncode == 0


def kernel_netem(lab: Lab) -> bool:
    """netem on synack0 both ways (egress; ingress through an ifb device), if
    this kernel has it; otherwise nothing is left in place and False."""
    if shutil.which("tc") is None:
        return False
    dev = lab.device
    steps = [
        ["tc", "qdisc", "add", "dev", dev, "root", *NETEM],
        ["ip", "link", "add", IFB, "type", "ifb"],
        ["ip", "link", "set", IFB, "up"],
        ["tc", "qdisc", "add", "dev", dev, "handle", "ffff:", "ingress"],
        ["tc", "filter", "add", "dev", dev, "parent", "ffff:", "matchall", *REDIRECT],
        ["tc", "qdisc", "add", "dev", IFB, "root", *NETEM],
    ]
    if all(_try(lab, step) for step in steps):
        return True
    _try(lab, ["tc", "qdisc", "del", "dev", dev, "root"])
    _try(lab, ["tc", "qdisc", "del", "dev", dev, "ingress"])
    _try(lab, ["ip", "link", "del", IFB])
    return False


@pytest.fixture(scope="module")
def lab(lab_factory: Callable[..., Lab]) -> Lab:
    return lab_factory()


@pytest.fixture(scope="module")
def impair_args(lab: Lab) -> list[str]:
    """synack's own impairment, unless the kernel's netem took the job."""
    return [] if kernel_netem(lab) else ["--impair", IMPAIR]


def test_echo_1mb_each_way_over_lossy_reordering_link(
    procs: Callable[..., Proc], lab: Lab, impair_args: list[str], tmp_path: Path
) -> None:
    port = 7007
    pcap = tmp_path / "synack.pcap"
    server = procs(
        synack(
            "listen", port, "--echo", "--count", 1, "--name", lab.name, "--pcap", pcap, *impair_args
        )
    )
    server.wait_for(r"synack serves", stream="err")
    client = procs(kernel_peer(lab, "echo-client", lab.synack_v4, port, SIZE))
    assert client.wait(TIMEOUT) == 0, client.describe()
    sent = client.wait_for(r"^sent (\w+)").group(1)
    received = client.wait_for(r"^received (\d+) (\w+)")
    assert "send-error" not in client.out.decode(), client.describe()
    assert int(received.group(1)) == SIZE, client.describe()
    assert received.group(2) == sent, "the echo differs from what was sent"
    assert server.wait(30) == 0, server.describe()
    # The link did misbehave, both ways: each side sent something again. synack's
    # pcap taps the device side of its simulated link (what it reads from the
    # TUN device, what it writes into it), so both sides' retransmissions show;
    # with netem, the kernel's lost packets show as gaps instead.
    repaired = tshark_fields(pcap, ["ip.src"], REPAIR_FILTER)
    sources = {row["ip.src"] for row in repaired}
    assert sources == {str(lab.kernel_v4), str(lab.synack_v4)}, sources
