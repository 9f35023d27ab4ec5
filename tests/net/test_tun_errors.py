"""The TUN device's failures are one-line errors: waiting for a device that is
not there (or went away) raises TunError, which the CLI prints as one line;
``synack bench tun`` without root says so in one line before any work."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from synack.cli import main
from synack.net.tun import TunError, wait_running


def test_waiting_for_a_missing_device_is_a_tun_error() -> None:
    with pytest.raises(TunError) as caught:
        wait_running("synacknone99", timeout=0.0)
    message = str(caught.value)
    assert message == "cannot read the state of TUN device synacknone99: No such device"
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_bench_tun_without_root_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    result = CliRunner().invoke(main, ["bench", "tun", "--quick", "--json"])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == [
        "Error: the lab needs root to create a network namespace and a TUN device "
        "(try: sudo synack lab up)"
    ]
