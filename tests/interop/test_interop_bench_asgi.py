"""``synack bench asgi --quick --json`` (root): an ASGI app served by uvicorn's
H11Protocol over synack and over the kernel's TCP, in a lab of its own, loaded
by one kernel-side client; every figure present and positive (how fast is
never asserted)."""

from __future__ import annotations

import json
import subprocess

import pytest
from _interop import synack

pytestmark = pytest.mark.interop


def test_bench_asgi_quick_measures_both_paths_in_one_run() -> None:
    done = subprocess.run(
        synack("bench", "asgi", "--quick", "--json"),
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    (result,) = data["results"]
    assert result["benchmark"] == "AsgiResult"
    assert result["requests"] == 500 and result["per_request"] == 100
    for path in ("synack", "kernel"):
        for mode in ("keep_alive", "per_request"):
            assert result[f"{path}_{mode}"] > 0
    ratios = [f["value"] for f in data["figures"]]
    assert ratios == [
        result["synack_keep_alive"] / result["kernel_keep_alive"],
        result["synack_per_request"] / result["kernel_per_request"],
    ]
