"""Every scenario's pcap, read by tshark: no malformed packet, no bad checksum."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from synack.scenarios import SCENARIOS, run_scenario
from synack.trace.pcap import write_pcap
from synack.trace.records import PacketRecord

TSHARK = shutil.which("tshark")
BAD = (
    "_ws.malformed || _ws.expert.severity >= error"
    " || tcp.checksum.status == 0 || ip.checksum.status == 0"
)


@pytest.mark.skipif(TSHARK is None, reason="tshark is not installed (apt-get install tshark)")
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_tshark_reads_every_scenario_cleanly(tmp_path: Path, name: str) -> None:
    outcome = run_scenario(name)
    path = tmp_path / f"{name}.pcap"
    written = write_pcap(outcome.recorder, path)
    assert written == sum(isinstance(r, PacketRecord) for r in outcome.recorder.records) > 0
    # Port 80 carries random bytes in lossy-transfer; tshark's HTTP dissector
    # would call them malformed HTTP. What is checked here is TCP and IP.
    base = [str(TSHARK), "-r", str(path), "-n", "-o", "tcp.check_checksum:TRUE",
            "-o", "ip.check_checksum:TRUE", "--disable-protocol", "http"]  # fmt: skip
    bad = subprocess.run([*base, "-Y", BAD], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 0, bad.stderr
    assert bad.stdout.strip() == ""
    listed = subprocess.run([*base, "-T", "fields", "-e", "frame.number"], capture_output=True,
                            text=True, timeout=120)  # fmt: skip
    assert len(listed.stdout.split()) == written
