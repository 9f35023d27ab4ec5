"""Path MTU discovery against a real router: the kernel's ICMP reaches synack.

The lab's namespace is the router. A second namespace (a lab of its own,
its TUN device unused) holds a kernel sink behind a veth pair whose router
end has a small MTU (1000 for IPv4, 1280 for IPv6). synack, on the lab's TUN
device with an MTU of 1500, uploads to the sink in 1460-byte (1440) segments
with DF set; the router cannot forward them and answers "fragmentation
needed, MTU 1000" (RFC 1191) or "packet too big, MTU 1280" (RFC 8201). The
upload completes, byte for byte, only if synack lowers its MSS: without
that every retransmission would be too big again.

The sink's end of the veth pair keeps an MTU of 1500, so the sink offers
MSS 1460 (1440) and nothing but the router's message can tell synack the
path is narrower.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from _interop import Proc, file_sha256, kernel_peer, run, synack

from synack.net.lab import Lab

pytestmark = pytest.mark.interop

SIZE = 300 * 1000
TIMEOUT = 60.0
ROUTER_V4, SINK_V4 = "10.78.0.1", "10.78.0.2"
ROUTER_V6, SINK_V6 = "fd78::1", "fd78::2"
NARROW = {4: 1000, 6: 1280}


@pytest.fixture(scope="module")
def labs(lab_factory: Callable[..., Lab]) -> tuple[Lab, Lab]:
    """(router, sink): the router is the lab synack attaches to; both are
    removed with the module's labs, failed tests or not."""
    router = lab_factory()
    sink = lab_factory()
    router.ip("link", "add", "narrow", "type", "veth", "peer", "name", "wide", "netns", sink.name)
    router.ip_batch(["link set narrow up", f"addr add {ROUTER_V4}/24 dev narrow"])
    sink.ip_batch(
        [
            f"link del {sink.device}",  # its addresses are the router's: not here
            "link set wide mtu 1500 up",
            f"addr add {SINK_V4}/24 dev wide",
            f"addr add {SINK_V6}/64 dev wide nodad",
            f"route add default via {ROUTER_V4}",
            f"route add default via {ROUTER_V6}",
        ]
    )
    return router, sink


def icmp_out(lab: Lab, version: int) -> int:
    """The kernel's count of the messages it sent: destination unreachable
    (v4, "fragmentation needed" among them) or packet too big (v6)."""
    if version == 4:
        text = run(lab.command(["cat", "/proc/net/snmp"])).stdout
        lines = [line.split() for line in text.splitlines() if line.startswith("Icmp:")]
        names, values = lines[0], lines[1]
        return int(values[names.index("OutDestUnreachs")])
    text = run(lab.command(["cat", "/proc/net/snmp6"])).stdout
    match = re.search(r"^Icmp6OutPktTooBigs\s+(\d+)", text, re.M)
    assert match is not None, text
    return int(match.group(1))


@pytest.mark.parametrize("version", [4, 6])
def test_router_icmp_lowers_the_mss_and_the_upload_completes(
    procs: Callable[..., Proc], labs: tuple[Lab, Lab], tmp_path: Path, version: int
) -> None:
    router, sink_lab = labs
    router.ip("link", "set", "narrow", "mtu", str(NARROW[version]))
    if version == 6:  # (a link under 1280 loses its IPv6 addresses: put it back)
        router.ip("addr", "replace", f"{ROUTER_V6}/64", "dev", "narrow", "nodad")
    address = SINK_V4 if version == 4 else SINK_V6
    port = 9100 + version
    data = tmp_path / "data.bin"
    data.write_bytes(os.urandom(SIZE))
    before = icmp_out(router, version)
    sink = procs(kernel_peer(sink_lab, "sink", address, port))
    sink.wait_for(r"^ready")
    client = procs(synack("connect", address, port, "--name", router.name), stdin=data)
    assert client.wait(TIMEOUT) == 0, client.describe()
    expected = f"received {SIZE} {file_sha256(data)}"
    assert sink.wait(TIMEOUT) == 0, sink.describe()
    assert sink.out.decode().splitlines()[-1] == expected
    assert client.out.decode().strip() == expected
    # the router did answer with ICMP: the segments synack started with were too big
    assert icmp_out(router, version) > before


@pytest.mark.parametrize("version", [4, 6])
def test_unreachable_neighbour_fails_the_connection_attempt(
    procs: Callable[..., Proc], labs: tuple[Lab, Lab], version: int
) -> None:
    """No one answers the router's ARP (neighbour discovery) for the address:
    after a few seconds it sends "host unreachable" ("address unreachable"),
    and synack's connection attempt fails with EHOSTUNREACH at once (RFC 5461
    4) instead of resending its SYN for three minutes."""
    router, _ = labs
    if version == 6:
        router.ip("link", "set", "narrow", "mtu", "1280")
        router.ip("addr", "replace", f"{ROUTER_V6}/64", "dev", "narrow", "nodad")
    nobody = "10.78.0.99" if version == 4 else "fd78::99"
    client = procs(synack("connect", nobody, 9200, "--name", router.name))
    assert client.wait(30.0) == 1, client.describe()
    assert f"[Errno {errno.EHOSTUNREACH}]" in client.err, client.describe()
    assert "connection failed" in client.err, client.describe()
