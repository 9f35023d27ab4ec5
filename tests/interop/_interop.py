"""Helpers of the interop tests: subprocesses with bounded waits, the kernel's
sockets as ``ss`` shows them, the states in synack's live ladder, tshark.

Everything that runs as the kernel side goes through ``Lab.command`` (``ip
netns exec LAB ...``); synack itself runs as ``python -m synack`` and enters
the lab's namespace on its own.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from synack.net.lab import Lab

HERE = Path(__file__).parent
KERNEL_PEER = HERE / "_kernel_peer.py"
SYNACK_ABORT = HERE / "_synack_abort.py"

LAB_PREFIX = "synack-t"
LAB_NAME = re.compile(rf"^{LAB_PREFIX}(\d+)-(\d+)$")

# The states as synack's ladder writes them (its left column).
STATES = (
    "CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1",
    "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT",
)  # fmt: skip

KEEP_OPEN = object()  # Proc(stdin=KEEP_OPEN): a pipe the test writes to and closes


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# ----------------------------------------------------------------------
# Command lines
# ----------------------------------------------------------------------
def kernel_peer(lab: Lab, *args: object) -> list[str]:
    """A ``_kernel_peer.py`` program, run as the kernel side inside the lab."""
    return lab.command([sys.executable, "-u", str(KERNEL_PEER), *map(str, args)])


def synack(*args: object) -> list[str]:
    """The synack CLI (the same interpreter as the tests)."""
    return [sys.executable, "-m", "synack", *map(str, args)]


def synack_abort(lab: Lab, host: str, port: int) -> list[str]:
    return [sys.executable, "-u", str(SYNACK_ABORT), lab.name, host, str(port)]


def url_host(address: object) -> str:
    text = str(address)
    return f"[{text}]" if ":" in text else text


# ----------------------------------------------------------------------
# Subprocesses
# ----------------------------------------------------------------------
class Proc:
    """A subprocess in its own session (so the whole group can be killed), its
    stdout and stderr drained by threads so that the test can wait for a line
    while the process runs. Every wait has a deadline."""

    def __init__(
        self,
        argv: list[str],
        *,
        stdin: bytes | Path | object | None = None,
        stdout: Path | None = None,
    ) -> None:
        self.argv = argv
        self._out = bytearray()
        self._err = bytearray()
        self._cond = threading.Condition()
        self._stdout_file: IO[bytes] | None = stdout.open("wb") if stdout else None
        self._stdin_file: IO[bytes] | None = stdin.open("rb") if isinstance(stdin, Path) else None
        if self._stdin_file is not None:
            stdin_arg: int | IO[bytes] = self._stdin_file
        elif stdin is None:
            stdin_arg = subprocess.DEVNULL
        else:
            stdin_arg = subprocess.PIPE
        self.popen = subprocess.Popen(
            argv,
            stdin=stdin_arg,
            stdout=self._stdout_file if self._stdout_file is not None else subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self._threads = [self._drain(self.popen.stderr, self._err)]
        if self.popen.stdout is not None:
            self._threads.append(self._drain(self.popen.stdout, self._out))
        if isinstance(stdin, bytes):
            self._threads.append(self._feed(stdin))

    def _drain(self, pipe: IO[bytes] | None, into: bytearray) -> threading.Thread:
        def run() -> None:
            assert pipe is not None
            fd = pipe.fileno()
            while chunk := os.read(fd, 1 << 16):
                with self._cond:
                    into.extend(chunk)
                    self._cond.notify_all()
            with self._cond:
                self._cond.notify_all()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread

    def _feed(self, data: bytes) -> threading.Thread:
        def run() -> None:
            assert self.popen.stdin is not None
            try:
                self.popen.stdin.write(data)
                self.popen.stdin.close()
            except (BrokenPipeError, ValueError):
                pass

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread

    # -- stdin ------------------------------------------------------------
    def write(self, data: bytes) -> None:
        assert self.popen.stdin is not None
        self.popen.stdin.write(data)
        self.popen.stdin.flush()

    def close_stdin(self) -> None:
        if self.popen.stdin is not None and not self.popen.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self.popen.stdin.close()

    # -- output -----------------------------------------------------------
    @property
    def out(self) -> bytes:
        with self._cond:
            return bytes(self._out)

    @property
    def err(self) -> str:
        with self._cond:
            return self._err.decode(errors="replace")

    def describe(self) -> str:
        out = self.out.decode(errors="replace") if self._stdout_file is None else "(to a file)"
        return (
            f"$ {' '.join(self.argv)}\n(exit status {self.popen.poll()})\n"
            f"--- stdout ---\n{out[-3000:]}\n--- stderr ---\n{self.err[-3000:]}"
        )

    def wait_for(self, pattern: str, timeout: float = 15.0, stream: str = "out") -> re.Match[str]:
        """The first match of ``pattern`` in stdout (or stderr), waiting for it."""
        regex = re.compile(pattern, re.MULTILINE)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                buffer = self._out if stream == "out" else self._err
                match = regex.search(buffer.decode(errors="replace"))
                if match is not None:
                    return match
                left = deadline - time.monotonic()
                if left <= 0 or (self.popen.poll() is not None and self._drained()):
                    break
                self._cond.wait(min(left, 0.1))
        raise AssertionError(f"no {pattern!r} on std{stream} within {timeout} s\n{self.describe()}")

    def _drained(self) -> bool:
        return all(not t.is_alive() for t in self._threads)

    # -- ending -----------------------------------------------------------
    def wait(self, timeout: float) -> int:
        """The exit status; killed (and the test failed) past ``timeout``."""
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"still running after {timeout} s\n{self.describe()}") from None
        self._finish()
        return self.popen.returncode

    def interrupt(self, timeout: float = 10.0) -> int:
        """SIGINT (tshark writes its file out), then wait."""
        if self.popen.poll() is None:
            os.kill(self.popen.pid, signal.SIGINT)
        return self.wait(timeout)

    def kill(self) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(10)
        self._finish()

    def _finish(self) -> None:
        for thread in self._threads:
            thread.join(5)
        self.close_stdin()
        for f in (self._stdout_file, self._stdin_file):
            if f is not None:
                f.close()


def run(argv: list[str], timeout: float = 20.0) -> subprocess.CompletedProcess[str]:
    """A short command, bounded; fails the test on a timeout or an error status."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"$ {' '.join(argv)}: still running after {timeout} s") from None
    if done.returncode != 0:
        raise AssertionError(
            f"$ {' '.join(argv)}: exit status {done.returncode}\n{done.stdout}\n{done.stderr}"
        )
    return done


# ----------------------------------------------------------------------
# The lab's life
# ----------------------------------------------------------------------
def namespace_pids(name: str) -> list[int]:
    done = subprocess.run(
        ["ip", "netns", "pids", name], capture_output=True, text=True, timeout=10, check=False
    )
    return [int(word) for word in done.stdout.split() if word.isdigit()]


def remove_lab(lab: Lab) -> None:
    """Kill what still runs inside the lab (all of it started by the tests),
    then remove the namespace."""
    if not lab.exists:
        return
    for _ in range(50):
        pids = [pid for pid in namespace_pids(lab.name) if pid != os.getpid()]
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)
    lab.down()


def remove_stale_labs() -> None:
    """Labs of earlier runs whose pytest process is gone (a run that was killed)."""
    try:
        names = os.listdir("/var/run/netns")
    except FileNotFoundError:
        return
    for name in names:
        match = LAB_NAME.match(name)
        if match is None or _alive(int(match.group(1))):
            continue
        with contextlib.suppress(Exception):  # another worker may get there first
            remove_lab(Lab(name=name))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# ----------------------------------------------------------------------
# What the kernel and synack say about their connections
# ----------------------------------------------------------------------
@dataclass(frozen=True)
class Socket:
    state: str
    local: str
    peer: str

    @property
    def local_port(self) -> int:
        return int(self.local.rsplit(":", 1)[1])

    @property
    def peer_port(self) -> int:
        return int(self.peer.rsplit(":", 1)[1])


def kernel_sockets(lab: Lab) -> list[Socket]:
    """The kernel's TCP sockets in the lab, from ``ss -tanH``."""
    done = run(lab.command(["ss", "-tanH"]), timeout=10)
    sockets = []
    for line in done.stdout.splitlines():
        fields = line.split()
        if len(fields) >= 5:
            sockets.append(Socket(fields[0], fields[3], fields[4]))
    return sockets


def poll_sockets(
    lab: Lab, accept: object, timeout: float = 5.0, interval: float = 0.05
) -> list[Socket]:
    """Poll ``ss`` until ``accept(sockets)`` is true; the last list either way."""
    deadline = time.monotonic() + timeout
    while True:
        sockets = kernel_sockets(lab)
        if accept(sockets) or time.monotonic() > deadline:  # type: ignore[operator]
            return sockets
        time.sleep(interval)


def ladder_states(text: str, column: str = "left") -> list[str]:
    """The states synack's live ladder went through (the left column: synack's;
    the right: the kernel's, inferred from the packets), in order, repeats merged."""
    states: list[str] = []
    for line in text.splitlines():
        if "│" not in line:
            continue
        if column == "left":
            words = line.split("│", 1)[0].split()
        else:
            words = line.rsplit("│", 1)[1].split()[-1:]
        if words and words[-1] in STATES and (not states or states[-1] != words[-1]):
            states.append(words[-1])
    return states


def in_order(expected: list[str], seen: list[str]) -> bool:
    """Whether ``expected`` appears in ``seen`` in this order (gaps allowed)."""
    rest = iter(seen)
    return all(state in rest for state in expected)


# ----------------------------------------------------------------------
# tshark
# ----------------------------------------------------------------------
def tshark_fields(path: Path, fields: list[str], display_filter: str = "") -> list[dict[str, str]]:
    """One dict per packet of ``path``: field name to value ("" when absent)."""
    argv = ["tshark", "-n", "-r", str(path), "-T", "fields", "-E", "separator=\t"]
    argv += ["-o", "tcp.relative_sequence_numbers:TRUE"]
    if display_filter:
        argv += ["-Y", display_filter]
    for field in fields:
        argv += ["-e", field]
    done = run(argv, timeout=30)
    rows = []
    for line in done.stdout.splitlines():
        values = line.split("\t")
        values += [""] * (len(fields) - len(values))
        rows.append(dict(zip(fields, values, strict=True)))
    return rows
