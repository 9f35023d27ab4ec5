"""``synack bench tun`` (root): every figure of each setting in its JSON, the
bytes and connections counted on both sides (a kernel client that makes one
connection fewer than asked fails the run, saying so). At MTU 9000, so that
with offload synack's packets both go as super-segments for the kernel to
cut and, within the MTU, with their checksums left to the kernel (the run
fails if any byte is missing). The kernel's reference (the same client
against an asyncio echo server on the kernel's TCP, across a veth pair) is
in each setting's figures, its connections counted by the server; a run that
fails leaves no namespace behind. How fast is never asserted."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from _interop import synack

from synack.bench.tun import bench_tun

pytestmark = pytest.mark.interop

# the concurrent kernel client with one edit (OLD -> NEW): against synack, or
# only once synack's figures are in, against the kernel's echo server
# (KERNEL_ONLY); prints the run's error, then the namespaces of the run still there
BROKEN = r"""
import os
from synack.bench import tun
broken = tun._KERNEL_CONCURRENT.replace(OLD, NEW)
assert broken != tun._KERNEL_CONCURRENT
tcp_figures = tun._tcp_figures
async def then_broken(*args, **kwargs):
    figures = await tcp_figures(*args, **kwargs)
    tun._KERNEL_CONCURRENT = broken
    return figures
if KERNEL_ONLY:
    tun._tcp_figures = then_broken
else:
    tun._KERNEL_CONCURRENT = broken
try:
    tun.bench_tun(1_000_000, 20, 1500, offload=False, concurrency=4, ceiling_seconds=0.2)
except tun.TunBenchError as exc:
    print(exc)
print([n for n in os.listdir("/var/run/netns") if n.startswith(f"synack-bench-{os.getpid()}")])
"""
# the client stops one connection short
SHORT = ("n, host, port, k = int(sys.argv[1]),", "n, host, port, k = int(sys.argv[1]) - 1,")
# the client expects another byte than the one it sent
WRONG_ECHO = ('if s.recv(1) != b"x":', 'if s.recv(1) != b"y":')


def _broken(kernel_only: bool, edit: tuple[str, str]) -> list[str]:
    script = f"KERNEL_ONLY, OLD, NEW = {kernel_only}, {edit[0]!r}, {edit[1]!r}\n{BROKEN}"
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_bench_tun_quick_gives_every_figure_of_both_settings() -> None:
    done = subprocess.run(
        synack("bench", "tun", "--quick", "--json", "--mtu", "9000"),
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    results = data["results"]
    assert [(r["mtu"], r["offload"]) for r in results] == [(9000, False), (9000, True)]
    for r in results:
        assert r["benchmark"] == "TunResult" and r["offload_refused"] is None
        assert r["nbytes"] == 10_000_000
        assert (r["connections"], r["concurrency"]) == (300, 16)
        for key in ("to_synack_mb_per_second", "from_synack_mb_per_second",
                    "connections_per_second", "sequential_connections_per_second",
                    "synack_cpu_us_per_connection", "raw_mb_per_second",
                    "kernel_connections_per_second", "kernel_cpu_us_per_connection",
                    "client_cpu_us_per_connection",
                    "kernel_client_cpu_us_per_connection"):  # fmt: skip
            assert r[key] > 0, key
        # SYN, the handshake's ACK, the byte, FIN, and the ACK of synack's FIN at least
        assert r["packets_in_per_connection"] >= 5
    assert len(data["figures"]) == 8
    assert data["tun_kernel_ratios"] == {
        f"mtu 9000, offload {'on' if r['offload'] else 'off'}": (
            r["connections_per_second"] / r["kernel_connections_per_second"]
        )
        for r in results
    }


@pytest.mark.parametrize(
    ("kernel_only", "server"),
    [(False, "synack"), (True, "the kernel's echo server")],
)
def test_bench_tun_fails_when_a_connection_is_missing(kernel_only: bool, server: str) -> None:
    assert _broken(kernel_only, SHORT) == [
        f"of 20 connections asked of the kernel's client, {server} accepted 19 and echoed 19 bytes",
        "[]",  # the lab and the reference server's namespace are gone
    ]


@pytest.mark.parametrize("kernel_only", [False, True])
def test_bench_tun_fails_when_an_echo_is_wrong(kernel_only: bool) -> None:
    assert _broken(kernel_only, WRONG_ECHO) == [
        "the kernel side failed (exit 1): the echo was not the byte sent",
        "[]",
    ]


@pytest.mark.parametrize("connections", [0, 6_001])
def test_bench_tun_refuses_connections_its_client_has_no_ports_for(connections: int) -> None:
    with pytest.raises(ValueError, match=f"connections {connections} is not between 1 and 6000"):
        bench_tun(1_000, connections)
