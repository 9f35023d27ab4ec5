"""synack web build and synack web: the static site and the local server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from synack.cli import main
from synack.web.site import PAGE_FILES, PYODIDE_VERSION, RUNTIME_FILES, sources_zip


def test_build_writes_the_site(runtime: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    result = CliRunner().invoke(main, ["web", "build", str(out), "--runtime", str(runtime)])
    assert result.exit_code == 0, result.output
    assert f"Pyodide {PYODIDE_VERSION}" in result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["pyodide"] == PYODIDE_VERSION
    assert sorted(manifest["files"]) == sorted(
        ["./", "synack.zip", *PAGE_FILES, *(f"pyodide/{name}" for name in RUNTIME_FILES)]
    )
    for name in manifest["files"][1:]:
        assert (out / name).is_file(), name
    assert (out / "pyodide" / "pyodide.asm.wasm").read_bytes()[:4] == b"\0asm"
    with zipfile.ZipFile(out / "synack.zip") as archive:
        names = archive.namelist()
    assert "synack/web/playground.py" in names and "synack/tcp/connection.py" in names
    assert not any("__pycache__" in n or not n.endswith(".py") for n in names)
    # the page loads nothing from elsewhere: its scripts are the site's own files
    page = (out / "index.html").read_text()
    assert '<script src="pyodide/pyodide.js">' in page and "https://" not in page
    assert "cdn" not in (out / "playground.js").read_text().lower()
    # the same sources give the same zip; building again over the site is fine
    assert sources_zip() == (out / "synack.zip").read_bytes()
    again = CliRunner().invoke(main, ["web", "--runtime", str(runtime), "build", str(out)])
    assert again.exit_code == 0, again.output


def test_build_refuses_a_bad_target_or_runtime(runtime: Path, tmp_path: Path) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    result = CliRunner().invoke(main, ["web", "build", str(busy), "--runtime", str(runtime)])
    assert result.exit_code == 2
    assert "is not empty and holds no playground" in result.output
    assert (busy / "notes.txt").read_text() == "mine" and len(list(busy.iterdir())) == 1
    a_file = tmp_path / "file"
    a_file.write_text("x")
    result = CliRunner().invoke(main, ["web", "build", str(a_file), "--runtime", str(runtime)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    result = CliRunner().invoke(main, ["web", "build", str(tmp_path / "new"), "--runtime",
                                       str(tmp_path)])  # fmt: skip
    assert result.exit_code == 2
    assert f"no pyodide@{PYODIDE_VERSION} in {tmp_path}" in result.output
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize(
    ("target", "problem"),
    [
        ("/proc/site", "cannot create /proc/site: /proc takes no new folder"),
        ("/sys/a/b", "cannot create /sys/a/b: /sys takes no new folder"),
        ("FILE/site", "cannot create FILE/site: FILE is a file"),
        ("", "an empty path"),
        ("N" * 300, f"cannot create {'N' * 300}: File name too long"),
    ],
    ids=["proc", "sys", "under-a-file", "empty", "name-too-long"],
)
def test_build_refuses_a_directory_it_cannot_make_before_fetching_the_runtime(
    target: str, problem: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fetch(*args: object) -> None:
        raise AssertionError("the runtime was fetched before DIRECTORY was checked")

    monkeypatch.setattr("synack.web.site.fetch_runtime", fetch)
    (tmp_path / "file").write_text("x")
    target, problem = (t.replace("FILE", str(tmp_path / "file")) for t in (target, problem))
    result = CliRunner().invoke(main, ["web", "build", target])
    assert result.exit_code == 2, result.output
    assert f"Error: Invalid value for 'DIRECTORY': {problem}" in result.stderr


def test_web_serves_the_site_on_loopback(runtime: Path) -> None:
    command = [sys.executable, "-m", "synack", "web", "--no-browser", "--runtime", str(runtime)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("the playground is at http://127.0.0.1:"), line
        url = line.split(" at ", 1)[1].split()[0]
        with urllib.request.urlopen(url, timeout=10) as reply:
            assert b'id="runs"' in reply.read()
        with urllib.request.urlopen(url + "pyodide/pyodide.asm.wasm", timeout=10) as reply:
            assert reply.headers["Content-Type"] == "application/wasm"
        with urllib.request.urlopen(url + "manifest.json", timeout=10) as reply:
            assert json.loads(reply.read())["pyodide"] == PYODIDE_VERSION
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_web_says_when_the_port_is_taken(runtime: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            main, ["web", "--no-browser", "--port", str(port), "--runtime", str(runtime)]
        )
    assert result.exit_code == 1
    assert f"cannot serve on 127.0.0.1:{port}" in result.output
    assert "Traceback" not in result.output


def test_web_help() -> None:
    result = CliRunner().invoke(main, ["web", "--help"])
    assert result.exit_code == 0
    assert "--no-browser" in result.output and "build" in result.output
    assert os.path.basename("docs/playground.md") in result.output


def test_ci_installs_the_pinned_runtime() -> None:
    """.ci/run's npm install names the version the code pins (the tests build with it)."""
    ci = (Path(__file__).resolve().parents[2] / ".ci" / "run").read_text()
    assert f"--prefix build/npm-pyodide pyodide@{PYODIDE_VERSION}" in ci


def test_first_use_fetches_the_runtime_with_npm_and_says_so(
    runtime: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No runtime in the cache: npm installs it there (a stand-in npm here, which
    copies the package as npm would and notes its arguments), and the user is told."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    npm = bin_dir / "npm"
    npm.write_text(
        "#!/bin/sh\n"
        'while [ "$1" != "--prefix" ]; do shift; done\n'
        'mkdir -p "$2/node_modules" && cp -r "' + str(runtime) + '" "$2/node_modules/pyodide"\n'
        'echo "$@" > "$2/npm-args"\n'
    )
    npm.chmod(0o755)
    cache = tmp_path / "cache"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("SYNACK_PYODIDE_CACHE", str(cache))
    first = CliRunner().invoke(main, ["web", "build", str(tmp_path / "a")])
    assert first.exit_code == 0, first.output
    assert f"fetching the Pyodide runtime (npm pyodide@{PYODIDE_VERSION}" in first.stderr
    assert f"pyodide@{PYODIDE_VERSION}" in (cache / "npm-args").read_text()
    second = CliRunner().invoke(main, ["web", "build", str(tmp_path / "b")])
    assert second.exit_code == 0 and "fetching" not in second.stderr


def test_without_the_runtime_or_npm_it_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no npm on it
    monkeypatch.setenv("SYNACK_PYODIDE_CACHE", str(tmp_path / "cache"))
    result = CliRunner().invoke(main, ["web", "build", str(tmp_path / "site")])
    assert result.exit_code == 1
    assert "the Pyodide runtime is not in" in result.output
    assert "npm is not installed" in result.output
    assert "Traceback" not in result.output
