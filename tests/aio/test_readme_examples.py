"""The README's Python examples, run exactly as written, each in a subprocess of
its own: exit status 0 and nothing on stderr (on Python 3.11, asyncio once
printed "Exception in callback ... CancelledError" at the end of
``asyncio.run`` for a server handler still running).

An example that uses the lab (``lab_stack``) runs in a lab of its own with the
kernel server its introduction names (``python3 -m http.server 8000 --bind
10.77.0.1``), which needs root: without it, that example is skipped.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from synack.net.lab import NAME_VARIABLE, Lab

README = Path(__file__).resolve().parents[2] / "README.md"
TIMEOUT = 60.0


def python_blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", README.read_text(), re.S | re.M)


def needs_lab(code: str) -> bool:
    return "lab_stack" in code


def test_readme_has_python_examples_of_both_kinds() -> None:
    blocks = python_blocks()
    assert len(blocks) >= 2, blocks
    assert any(needs_lab(b) for b in blocks) and any(not needs_lab(b) for b in blocks)


def run(
    code: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    script = cwd / "example.py"
    script.write_text(code)
    return subprocess.run(
        [sys.executable, str(script)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


@pytest.mark.parametrize(
    "code", [b for b in python_blocks() if not needs_lab(b)], ids=lambda c: c.splitlines()[0]
)
def test_readme_example_runs_cleanly(code: str, tmp_path: Path) -> None:
    done = run(code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    if "print(await reader.read())" in code:  # the echo example prints what came back
        assert done.stdout == "b'hello'\n"


def _lab_missing() -> str | None:
    if os.geteuid() != 0:
        return "the lab example needs root (a network namespace and a TUN device)"
    if not os.path.exists("/dev/net/tun") or shutil.which("ip") is None:
        return "the lab example needs /dev/net/tun and iproute2's ip"
    return None


@pytest.mark.parametrize(
    "code", [b for b in python_blocks() if needs_lab(b)], ids=lambda c: c.splitlines()[0]
)
def test_readme_lab_example_runs_cleanly_in_a_lab(code: str, tmp_path: Path) -> None:
    reason = _lab_missing()
    if reason is not None:
        pytest.skip(reason)
    lab = Lab(name=f"synack-readme-{os.getpid()}")
    lab.up()
    try:
        (tmp_path / "index.html").write_text("hello\n")
        server = subprocess.Popen(
            lab.command([sys.executable, "-m", "http.server", "8000", "--bind", "10.77.0.1"]),
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_listening(lab, 8000)
            done = run(code, tmp_path, env={**os.environ, NAME_VARIABLE: lab.name})
        finally:
            server.kill()
            server.wait()
    finally:
        lab.down()
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout == "HTTP/1.0 200 OK\n"


def _wait_listening(lab: Lab, port: int) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if _listens(lab, port):
            return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port} in {lab.name}")


def _listens(lab: Lab, port: int) -> bool:
    out = subprocess.run(
        lab.command(["ss", "-Htln", f"sport = :{port}"]), capture_output=True, text=True
    ).stdout
    return bool(out.strip())
