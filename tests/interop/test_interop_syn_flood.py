"""A SYN flood in the lab: a raw-socket flooder in the namespace sends spoofed
SYNs at synack's HTTP listener as fast as it can for a few seconds, while
curl fetches a page 100 times. With SYN cookies (on overflow, the default)
at least 99 % of the fetches succeed. The flood rate reached is printed.

Traffic stays in the lab's namespace: the flooder's SYNs go to synack's
address, their sources are spoofed inside the lab's /24 (never the kernel's
address), and the SYN,ACKs come back into a namespace that forwards
nothing. The flood lasts FLOOD_SECONDS; every process is bounded in time
and killed at the end of the test.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from _interop import HERE, Proc, synack

from synack.net.lab import Lab

pytestmark = pytest.mark.interop

PORT = 8480
FLOOD_SECONDS = 5.0
FETCHES = 100
FLOODER = HERE / "_syn_flooder.py"


@pytest.fixture(scope="module")
def lab(lab_factory: Callable[..., Lab]) -> Lab:
    return lab_factory()


def test_curl_gets_through_a_syn_flood(
    procs: Callable[..., Proc], lab: Lab, tmp_path: Path, record_property: Callable[..., None]
) -> None:
    (tmp_path / "index.html").write_bytes(b"hello through the flood\n")
    server = procs(synack("listen", PORT, "--http", str(tmp_path), "--name", lab.name))
    server.wait_for(r"synack serves", stream="err")
    target = lab.synack_address(4)
    flooder = procs(
        lab.command([
            sys.executable, "-u", str(FLOODER), str(target), str(PORT), str(FLOOD_SECONDS),
            f"{lab.kernel_v4}/24", str(lab.kernel_v4),
        ])
    )  # fmt: skip
    flooder.wait_for(r"^flooding", timeout=30)
    # the fetches, spread over the flood: each may retry its SYN within 8 s
    script = (
        f"for i in $(seq {FETCHES}); do "
        "curl -s -o /dev/null -w '%{http_code} %{time_connect}\\n' --max-time 8 "
        f"http://{target}:{PORT}/; "
        f"sleep {FLOOD_SECONDS / FETCHES / 2}; done"
    )
    fetches = procs(lab.command(["sh", "-c", script]))
    assert fetches.wait(FETCHES * 9.0) == 0, fetches.describe()
    assert flooder.wait(FLOOD_SECONDS + 30) == 0, flooder.describe()
    # what reached the TUN device (the kernel's TX into synack) and what its queue dropped
    link = lab.ip("-s", "link", "show", lab.device)
    tx = re.search(r"TX:.*\n\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", link)
    delivered, tun_dropped = (int(tx.group(2)), int(tx.group(4))) if tx else (-1, -1)
    lines = [line.split() for line in fetches.out.decode().splitlines() if line.strip()]
    codes = [line[0] for line in lines]
    connect = sorted(float(line[1]) for line in lines if line[0] == "200")
    ok = codes.count("200")
    rate = re.search(r"sent (\d+) in ([\d.]+) s: (\d+) SYN/s", flooder.out.decode())
    assert rate is not None, flooder.describe()
    record_property("flood_syns_per_second", int(rate.group(3)))
    record_property("curl_success", f"{ok}/{len(codes)}")
    record_property("tun_packets_in", delivered)
    record_property("tun_queue_dropped", tun_dropped)
    print(
        f"\nflood: {rate.group(0)}; into the TUN device: {delivered} packets, "
        f"{tun_dropped} dropped at its queue; curl: {ok}/{len(codes)} fetched, connect "
        f"median {connect[len(connect) // 2] if connect else 0:.3f} s, max "
        f"{connect[-1] if connect else 0:.3f} s"
    )
    assert len(codes) == FETCHES
    assert ok >= 0.99 * FETCHES, f"{ok}/{FETCHES} fetched; flood {rate.group(0)}"
    assert server.popen.poll() is None, server.describe()  # synack is still serving
