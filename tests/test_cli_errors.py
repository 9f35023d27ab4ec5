"""Bad command lines fail before any work, with a short error naming what is wrong.

Every invocation below must exit non-zero with a short error on stderr that
names the offending option or value, and no traceback. Except where a case
says the work is the check (a malformed packetdrill script is found by running
it), the functions that do a command's work are replaced by ones that raise:
an error found only after the work started fails the test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

import synack.apps.lab
import synack.bench
import synack.cli
import synack.conformance.suite
import synack.scenarios
import synack.sim.scale
import synack.trace.compare
from synack.cli import main


class WorkStarted(Exception):
    """A command got past its checks and started its work."""


def _refuse(*args: object, **kwargs: object) -> None:
    raise WorkStarted("the command started its work before refusing its arguments")


@dataclass(frozen=True)
class Bad:
    args: tuple[str, ...]
    names: tuple[str, ...]  # each must appear in the error
    work: bool = False  # the work itself finds the problem (a script is run)
    code: int | None = 2  # None: any non-zero status


def bad(*args: str, names: tuple[str, ...] | str, work: bool = False, code: int | None = 2) -> Bad:
    return Bad(args, (names,) if isinstance(names, str) else names, work, code)


# Files that cannot be written, whoever runs the tests (root ignores permission
# bits, so "read-only" is a place that refuses new files: /proc, /sys). Each
# gets the ending its option wants (.png for a plot).
UNWRITABLE = {
    "proc": "/proc/x",
    "sys": "/sys/x",
    "no-folder": "/no/such/dir/x",
    "folder": "dir",  # dir.out, dir.png... are folders in the test's folder
    "under-a-file": "afile.txt/x",
    "name-too-long": "x" * 300,  # over NAME_MAX: asking about it is an error too
}

# Every option of every command that writes a file, and the ending it wants.
WRITERS = {
    "demo-html": (("demo",), "--html", ".html"),
    "demo-pcap": (("demo",), "--pcap", ".pcap"),
    "simulate-html": (("simulate",), "--html", ".html"),
    "simulate-pcap": (("simulate",), "--pcap", ".pcap"),
    "simulate-plot": (("simulate",), "--plot", ".png"),
    "simulate-seq-plot": (("simulate",), "--seq-plot", ".svg"),
    "listen-pcap": (("listen", "8080"), "--pcap", ".pcap"),
    "connect-pcap": (("connect", "10.77.0.1", "80"), "--pcap", ".pcap"),
}


def _unwritable_cases() -> list[object]:
    cases = []
    for writer, (command, option, suffix) in WRITERS.items():
        for where, base in UNWRITABLE.items():
            path = base + suffix
            case = bad(*command, option, path, names=(option, path))
            cases.append(pytest.param(case, id=f"{writer}-{where}"))
    return cases


CASES = [
    # --- demo
    bad("demo", "no-such-scenario", names="no-such-scenario"),
    bad("demo", "--lang", "fr", names="--lang"),
    bad("demo", "--format", "svg", names="--format"),
    bad("demo", "--msl", "0", names=("--msl", "0.001 to 3,600")),
    bad("demo", "--msl", "-1", names=("--msl", "-1")),
    bad("demo", "--msl", "nan", names=("--msl", "nan")),
    bad("demo", "--msl", "1e9", names=("--msl", "3,600")),
    bad("demo", "--delay", "-5", names=("--delay", "0 to 60,000 ms")),
    bad("demo", "--delay", "inf", names=("--delay", "inf")),
    bad("demo", "--delay", "soon", names=("--delay", "soon")),
    bad("demo", "--seed", "-1", names=("--seed", "4294967295")),
    bad("demo", "--seed", str(2**40), names=("--seed", str(2**40))),
    bad("demo", "--seed", "x", names="--seed"),
    bad("demo", "--isn-client", "-1", names="--isn-client"),
    bad("demo", "--isn-server", str(2**32), names="--isn-server"),
    bad("demo", "--html", "same.html", "--pcap", "same.html", names=("--pcap", "--html")),
    # --- simulate: numbers and their ranges
    bad("simulate", "-n", "0", names="--connections"),
    bad("simulate", "-n", "10000000", names=("--connections", "1000000")),
    bad("simulate", "--delay", "2m", names="--delay"),
    bad("simulate", "--delay", "61s", names=("--delay", "0 to 60 s")),
    bad("simulate", "--jitter", "100s", names="--jitter"),
    bad("simulate", "--ramp", "2h", names="--ramp"),
    bad("simulate", "--ramp", "4000s", names=("--ramp", "3,600 s")),
    bad("simulate", "--msl", "0", names=("--msl", "more than 0")),
    bad("simulate", "--msl", "7200", names=("--msl", "3,600 s")),
    bad("simulate", "--loss", "1.5", names=("--loss", "between 0 and 1")),
    bad("simulate", "--loss", "-2%", names="--loss"),
    bad("simulate", "--loss", "nan", names="--loss"),
    bad("simulate", "--duplicate", "101%", names="--duplicate"),
    bad("simulate", "--bytes-down", "2g", names=("--bytes-down", "1,073,741,824 bytes")),
    bad("simulate", "--bytes-up", "-1", names="--bytes-up"),
    bad("simulate", "--bandwidth", "1000gbit", names="--bandwidth"),
    bad("simulate", "--queue", "-3", names="--queue"),
    bad("simulate", "--queue", "5", names=("--queue", "needs a bandwidth")),
    bad("simulate", "--queue", "5", "--s2c", "bandwidth=1mbit", names=("--queue", "bandwidth")),
    bad("simulate", "--seed", "-7", names="--seed"),
    bad("simulate", "--clients", "0", names="--clients"),
    bad("simulate", "--servers", "0", names="--servers"),
    bad("simulate", "--c2s", "delay=100s", names=("--c2s", "delay=")),
    bad("simulate", "--s2c", "loss=300%", names="--s2c"),
    bad("simulate", "--s2c", "bandwidth=1mbit,queue=9999999", names=("--s2c", "queue=")),
    bad("simulate", "--drop", "S.:0", names="--drop"),
    bad("simulate", "--plot", "cwnd.jpg", names=("--plot", ".png")),
    bad("simulate", "--seq-plot", "seq", names=("--seq-plot", ".svg")),
    bad("simulate", "--compare", "cubic,vegas", names="--compare"),
    bad("simulate", "--compare", "cubic,newreno", "--pcap", "x.pcap", names="--pcap"),
    bad("simulate", "--compare", "cubic,newreno", "-n", "2", names="--connections"),
    bad("simulate", "-n", "2", "--plot", "x.png", names="--plot"),
    # --compare runs its own connections: what it would ignore is refused
    bad("simulate", "--compare", "cubic,newreno", "--cc", "newreno", names="--cc"),
    bad("simulate", "--compare", "cubic,newreno", "--drop", "S.:1", names="--drop"),
    bad("simulate", "--compare", "cubic,newreno", "--ecn", names="--ecn"),
    bad("simulate", "--compare", "cubic,newreno", "--bytes-up", "1k", names="--bytes-up"),
    bad("simulate", "--compare", "cubic,newreno", "--summary", "json", names="--summary"),
    # --- listen and connect: lab arguments, all refused before the lab is touched
    bad("listen", "0", names="PORT"),
    bad("listen", "65536", names="PORT"),
    bad("listen", "http", names="PORT"),
    bad("listen", "8080", "--max-connections", "0", names="--max-connections"),
    bad("listen", "8080", "--header-timeout", "0", names="--header-timeout"),
    bad("listen", "8080", "--header-timeout", "nan", names="--header-timeout"),
    bad("listen", "8080", "--send-timeout", "1e12", names=("--send-timeout", "86,400")),
    bad("listen", "8080", "--count", "0", names="--count"),
    bad("listen", "8080", "--http", "/no/such/site", names="--http"),
    bad("listen", "8080", "--max-connections", "5", names=("--max-connections", "--http")),
    bad("listen", "8080", "--header-timeout", "5", names=("--header-timeout", "--http")),
    bad("listen", "8080", "--send-timeout", "5", names=("--send-timeout", "--http")),
    bad("listen", "8080", "--http", "empty", "--discard", names=("--http", "--discard")),
    bad("listen", "8080", "--impair", "loss=2", names="--impair"),
    bad("listen", "8080", "--impair", "speed=1", names="--impair"),
    bad("listen", "8080", "--name", "../etc", names="--name"),
    bad("connect", "10.77.0.300", "80", names=("HOST", "10.77.0.300")),
    bad("connect", "example.com", "80", names=("HOST", "example.com")),
    bad("connect", "fd77::g", "80", names=("HOST", "fd77::g")),
    bad("connect", "", "80", names="HOST"),
    bad("connect", "10.77.0.1", "0", names="PORT"),
    bad("connect", "10.77.0.1", "99999", names="PORT"),
    bad("connect", "10.77.0.1", "80", "--impair", "delay=-1", names="--impair"),
    bad("connect", "10.77.0.1", "80", "--name", "a/b", names="--name"),
    # --- lab
    bad("lab", "up", "--mtu", "100", names="--mtu"),
    bad("lab", "up", "--mtu", "70000", names="--mtu"),
    bad("lab", "up", "--name", "", names="--name"),
    bad("lab", "down", "--name", "x" * 100, names="--name"),
    bad("lab", "exec", "--name", "-x", "true", names="--name"),
    bad("lab", "exec", names="COMMAND"),
    bad("lab", "sideways", names="sideways"),
    bad("demo", "--json", "--format", "mermaid", names=("--json", "--format")),
    bad("demo", "--file", "missing.toml", names=("--file", "missing.toml")),
    bad("demo", "--file", "afile.txt", names=("afile.txt", "not valid TOML"), code=1),
    bad("demo", "close", "--file", "afile.txt", names="not both"),
    bad("demo", "--file", "afile.txt", "--delay", "500", names=("--delay", "[link] delay")),
    # --- analyze
    bad("analyze", "-i", "", names=("--interface", "empty")),
    bad("analyze", "-i", "lo", "--seconds", "nan", names=("--seconds", "nan")),
    bad("analyze", "-i", "lo", "--seconds", "inf", names=("--seconds", "inf")),
    # --- states
    bad("states", "--scenario", "no-such", names=("--scenario", "no-such")),
    bad("states", "--scenario", "close", "--endpoint", "nobody", names=("--endpoint", "nobody")),
    bad("states", "--scenario", "close", "--trace", "trace.jsonl", names="--trace"),
    bad("states", "--trace", "missing.jsonl", names=("--trace", "missing.jsonl")),
    bad("states", "--trace", "capture.pcap", names="cannot read the trace", code=1),
    bad("states", "--trace", "list.jsonl", names=("cannot read", "list.jsonl"), code=1),
    bad("states", "--trace", "afile.txt", names=("cannot read", "afile.txt"), code=1),
    bad("states", "--format", "dot", names="--format"),
    # --- conformance
    bad("conformance", "no-such-dir", names=("PATHS", "no-such-dir")),
    bad("conformance", "empty", names=("PATHS", "no .pkt")),
    bad("conformance", "broken.pkt", names=("ERROR", "broken.pkt"), work=True, code=1),
    bad("conformance", "capture.pcap", names=("ERROR", "capture.pcap"), work=True, code=1),
    bad("conformance", "broken.pkt", "--profile", "windows", names="--profile"),
    bad("conformance", "broken.pkt", "--expected-failures", "empty", names="--expected-failures"),
    bad(
        "conformance",
        "broken.pkt",
        "--expected-failures",
        "reasonless.txt",
        names=("--expected-failures", "needs a reason"),
    ),
    # --- bench and the group
    bad("bench", "everything", names=("WHICH", "everything")),
    bad("bench", "lifecycle", "--rounds", "3", names="--rounds"),
    bad("bench", "lifecycle", "--mtu", "1500", names=("--mtu", "lifecycle")),
    bad("bench", "--quick", "--mtu", "9000", names=("--mtu", "all")),
    bad("no-such-command", names="no-such-command"),
]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with the files the cases name, as the current directory."""
    monkeypatch.chdir(tmp_path)
    for suffix in {suffix for _, _, suffix in WRITERS.values()}:
        (tmp_path / f"dir{suffix}").mkdir()
    (tmp_path / "empty").mkdir()
    (tmp_path / "afile.txt").write_text("not a folder, not a trace\n")
    (tmp_path / "trace.jsonl").write_text("")
    (tmp_path / "list.jsonl").write_text("[1, 2]\n")
    # a pcap's header: not JSON Lines, not a packetdrill script
    (tmp_path / "capture.pcap").write_bytes(bytes.fromhex("d4c3b2a1020004000000000000000000"))
    (tmp_path / "broken.pkt").write_text("--ip_version=ipv4\n0 < Z 0:0(0)\n")
    (tmp_path / "reasonless.txt").write_text("some-script.pkt\n")
    return tmp_path


@pytest.fixture
def no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    for module, name in (
        (synack.scenarios, "run_scenario"),
        (synack.sim.scale, "simulate"),
        (synack.trace.compare, "compare"),
        (synack.apps.lab, "listen"),
        (synack.apps.lab, "connect"),
        (synack.bench, "run"),
        (synack.conformance.suite, "run_suite"),
        (synack.cli, "_lab"),
    ):
        monkeypatch.setattr(module, name, _refuse)


def _check(case: Bad, workdir: Path) -> None:
    before = sorted(p.name for p in workdir.rglob("*"))
    result = CliRunner().invoke(main, list(case.args))
    shown = f"synack {' '.join(case.args)}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert not isinstance(result.exception, WorkStarted), shown
    assert isinstance(result.exception, SystemExit), f"{result.exception!r}\n{shown}"
    assert result.exit_code != 0, shown
    if case.code is not None:
        assert result.exit_code == case.code, shown
    assert "Traceback" not in result.output, shown
    # the error: one line on stderr (after click's two usage lines), naming the culprit;
    # a script's ERROR is the report's line for it, on stdout
    where = result.output if case.work else result.stderr
    errors = [line for line in where.splitlines() if line.startswith(("Error:", "ERROR"))]
    assert len(errors) == 1, shown
    for name in case.names:
        assert name in errors[0], shown
    if not case.work:
        assert len(result.stderr.strip().splitlines()) <= 5, shown
        assert result.stdout == "", shown
    # nothing written: no file left behind by a refused command
    assert sorted(p.name for p in workdir.rglob("*")) == before, shown


@pytest.mark.parametrize("case", _unwritable_cases())
def test_unwritable_outputs_are_refused_first(case: Bad, workdir: Path, no_work: None) -> None:
    _check(case, workdir)


@pytest.mark.parametrize("case", [c for c in CASES if not c.work], ids=lambda c: " ".join(c.args))
def test_bad_arguments_are_refused_first(case: Bad, workdir: Path, no_work: None) -> None:
    _check(case, workdir)


@pytest.mark.parametrize("case", [c for c in CASES if c.work], ids=lambda c: " ".join(c.args))
def test_bad_files_are_reported(case: Bad, workdir: Path) -> None:
    _check(case, workdir)


def test_the_matrix_is_large() -> None:
    assert len(_unwritable_cases()) + len(CASES) >= 60


def test_a_good_output_is_left_alone(workdir: Path, no_work: None) -> None:
    """The check of a file to write opens an existing one without changing it and
    removes the one it created; the command then fails on purpose (no_work)."""
    (workdir / "old.pcap").write_bytes(b"old")
    result = CliRunner().invoke(main, ["demo", "--pcap", "old.pcap", "--html", "new.html"])
    assert isinstance(result.exception, WorkStarted)
    assert (workdir / "old.pcap").read_bytes() == b"old"
    assert not (workdir / "new.html").exists()


# ----------------------------------------------------------------------
# The real command, in a process of its own
# ----------------------------------------------------------------------
SUBPROCESS_CASES = [
    (("demo", "--pcap", "/proc/x.pcap"), ("--pcap", "/proc/x.pcap")),
    (("simulate", "--html", "/no/such/dir/x.html"), ("--html", "/no/such/dir")),
    (("listen", "8080", "--pcap", "/proc/x.pcap"), ("--pcap", "/proc/x.pcap")),
    (("connect", "not-an-address", "80"), ("HOST", "not-an-address")),
    (("simulate", "--seed", "-1"), ("--seed",)),
    (("demo", "--msl", "nan"), ("--msl", "nan")),
]


@pytest.mark.parametrize(("args", "names"), SUBPROCESS_CASES, ids=lambda a: " ".join(a))
def test_real_processes(args: tuple[str, ...], names: tuple[str, ...], tmp_path: Path) -> None:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-m", "synack", *args],
        capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env,
    )  # fmt: skip
    shown = f"{args}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert done.returncode == 2, shown
    assert done.stdout == "", shown
    assert "Traceback" not in done.stderr, shown
    [error] = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    for name in names:
        assert name in error, shown
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------
# A full disk, met while writing: not knowable before the work
# ----------------------------------------------------------------------
FULL = (("demo", "--pcap", "/dev/full"), ("demo", "--html", "/dev/full"),
        ("simulate", "--pcap", "/dev/full"), ("demo", "--json"))  # fmt: skip


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="/dev/full is Linux's")
@pytest.mark.parametrize("args", FULL, ids=lambda a: " ".join(a))
def test_a_full_disk_is_said_on_one_line(args: tuple[str, ...], tmp_path: Path) -> None:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    with open("/dev/full", "w") as full:  # standard output too, for --json
        done = subprocess.run(
            [sys.executable, "-m", "synack", *args],
            stdout=full if "--json" in args else subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True, timeout=60, cwd=tmp_path, env=env,
        )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
    [error] = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert error == "Error: cannot write the output: No space left on device", done.stderr
