"""Segmentation offload on the TUN device (``synack listen --offload``): the
device opened with a virtio-net header, the kernel's TSO super-segments read
whole (their checksums completed) and synack's super-segments written for the
kernel to cut. 4 MB echoed to a kernel client over IPv4 and IPv6 at MTU 1500,
every byte checked, with and without a pcap (with one, checksums are
completed for the tap; without, partial ones are left to the kernel and
unchecked by the Host) and through an impaired link; the pcap (what synack
handed the device and got from it) holds packets longer than the MTU both
ways. ``synack connect --offload`` uploads 4 MB to a kernel sink. With the
kernel refusing the offloads (simulated), synack says so once and sends
plain packets."""

from __future__ import annotations

import os
import struct
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from _interop import HERE, Proc, file_sha256, kernel_peer, synack

from synack.net.lab import Lab

pytestmark = pytest.mark.interop

SIZE = 4 * 1000 * 1000
MTU = 1500
TIMEOUT = 90.0
REFUSED = HERE / "_synack_offload_refused.py"


@pytest.fixture(scope="module")
def lab(lab_factory: Callable[..., Lab]) -> Lab:
    return lab_factory(mtu=MTU)


def pcap_packets(path: Path) -> list[bytes]:
    """The raw IP packets of a libpcap file (LINKTYPE_RAW)."""
    data = path.read_bytes()
    magic = struct.unpack_from("<I", data)[0]
    order = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    packets, at = [], 24
    while at + 16 <= len(data):
        _, _, caplen, _ = struct.unpack_from(order + "IIII", data, at)
        packets.append(data[at + 16 : at + 16 + caplen])
        at += 16 + caplen
    return packets


def source(packet: bytes) -> bytes:
    return packet[12:16] if packet[0] >> 4 == 4 else packet[8:24]


def echo_through(
    procs: Callable[..., Proc],
    lab: Lab,
    version: int,
    port: int,
    pcap: Path | None,
    argv: list[str],
    more: tuple[str, ...] = (),
) -> Proc:
    traced = ["--pcap", str(pcap)] if pcap is not None else []
    server = procs([*argv, "listen", str(port), "--echo", "--count", "1", "--name", lab.name,
                    "--offload", *traced, *more])  # fmt: skip
    server.wait_for(r"synack serves", stream="err")
    client = procs(kernel_peer(lab, "echo-client", lab.synack_address(version), port, SIZE))
    assert client.wait(TIMEOUT) == 0, client.describe()
    sent = client.wait_for(r"^sent (\w+)").group(1)
    received = client.wait_for(r"^received (\d+) (\w+)")
    assert (int(received.group(1)), received.group(2)) == (SIZE, sent), client.describe()
    assert server.wait(TIMEOUT) == 0, server.describe()
    return server


@pytest.mark.parametrize("version", [4, 6])
def test_offload_echo_4mb_both_ways_untraced(
    procs: Callable[..., Proc], lab: Lab, version: int
) -> None:
    """Nothing taps the driver: the kernel's partial checksums go to the Host unchecked."""
    server = echo_through(procs, lab, version, 7120 + version, None, synack())
    assert "refused" not in server.err and "no virtio-net" not in server.err, server.describe()


def test_offload_echo_4mb_through_an_impaired_link(
    procs: Callable[..., Proc], lab: Lab, tmp_path: Path
) -> None:
    """An impairment between the device and synack sees complete checksums and
    whole super-segments both ways; lost ones are sent again."""
    more = ("--impair", "loss=1%,delay=2ms")
    server = echo_through(procs, lab, 4, 7130, None, synack(), more)
    assert "refused" not in server.err, server.describe()


@pytest.mark.parametrize("version", [4, 6])
def test_offload_echo_4mb_both_ways(
    procs: Callable[..., Proc], lab: Lab, tmp_path: Path, version: int
) -> None:
    pcap = tmp_path / "offload.pcap"
    server = echo_through(procs, lab, version, 7100 + version, pcap, synack())
    assert "refused" not in server.err and "no virtio-net" not in server.err, server.describe()
    packets = pcap_packets(pcap)
    ours = lab.synack_address(version).packed
    into = [len(p) for p in packets if p[0] >> 4 == version and source(p) != ours]
    out = [len(p) for p in packets if p[0] >> 4 == version and source(p) == ours]
    # the kernel's TSO super-segments came through whole: the device has the header
    assert max(into) > MTU, f"largest packet from the kernel: {max(into)}"
    # and synack's own super-segments went to the kernel to be cut
    assert max(out) > MTU, f"largest packet from synack: {max(out)}"
    assert max(into + out) <= 65535 + 40


def test_offload_refused_falls_back_to_plain_packets(
    procs: Callable[..., Proc], lab: Lab, tmp_path: Path
) -> None:
    pcap = tmp_path / "plain.pcap"
    server = echo_through(procs, lab, 4, 7110, pcap, [sys.executable, "-u", str(REFUSED)])
    said = server.err
    assert said.count("offloads refused") == 1, server.describe()
    assert "plain packets instead" in said, server.describe()
    packets = pcap_packets(pcap)
    assert packets
    assert max(len(p) for p in packets) <= MTU


@pytest.mark.parametrize("version", [4, 6])
def test_offload_client_uploads_4mb_to_kernel_sink(
    procs: Callable[..., Proc], lab: Lab, tmp_path: Path, version: int
) -> None:
    """``synack connect --offload``: synack's super-segments as a client, the
    sink's hash of every byte."""
    data = tmp_path / "upload.bin"
    data.write_bytes(os.urandom(SIZE))
    port = 9100 + version
    address = str(lab.kernel_address(version))
    sink = procs(kernel_peer(lab, "sink", address, port))
    sink.wait_for(r"^ready")
    pcap = tmp_path / "upload.pcap"
    client = procs(
        synack("connect", address, port, "--name", lab.name, "--offload", "--pcap", pcap),
        stdin=data,
    )
    assert client.wait(TIMEOUT) == 0, client.describe()
    expected = f"received {SIZE} {file_sha256(data)}"
    assert sink.wait(TIMEOUT) == 0, sink.describe()
    assert sink.out.decode().splitlines()[-1] == expected
    assert client.out.decode().strip() == expected
    assert max(len(p) for p in pcap_packets(pcap)) > MTU


def test_a_plain_process_after_an_offloading_one_gets_plain_packets(
    procs: Callable[..., Proc], lab: Lab, tmp_path: Path
) -> None:
    """synack0 is persistent and keeps the offloads the last process turned on:
    a process without --offload turns them off, or the kernel's super-segments
    would reach it unmarked, their checksums unfinished."""
    echo_through(procs, lab, 4, 7140, tmp_path / "first.pcap", synack())
    assert max(len(p) for p in pcap_packets(tmp_path / "first.pcap")) > MTU
    pcap = tmp_path / "plain.pcap"
    server = procs(synack("listen", 7141, "--echo", "--count", 1, "--name", lab.name,
                          "--pcap", pcap))  # fmt: skip
    server.wait_for(r"synack serves", stream="err")
    client = procs(kernel_peer(lab, "echo-client", lab.synack_v4, 7141, SIZE))
    assert client.wait(TIMEOUT) == 0, client.describe()
    sent = client.wait_for(r"^sent (\w+)").group(1)
    assert client.wait_for(r"^received (\d+) (\w+)").groups() == (str(SIZE), sent)
    assert server.wait(TIMEOUT) == 0, server.describe()
    assert max(len(p) for p in pcap_packets(pcap)) <= MTU
