"""sendfile(2) on the runner's own files (conformance/file_calls.py): made by
an emulated ``dd if=/dev/zero``, never on the host's disk. Each script of our
own must PASS, and a change to one of its lines must FAIL at that line."""

from __future__ import annotations

import textwrap
import tracemalloc
from pathlib import Path

import pytest

from synack.conformance.profiles import FREEBSD, LINUX, Profile
from synack.conformance.runtime import Runner, RunResult
from synack.conformance.script import parse_script
from synack.conformance.shell import Effect, ShellError, emulate

PATH = "/tmp/synack-test-file-that-is-never-written"

SENDFILE = f"""\
`/bin/rm -f {PATH}
/bin/dd bs=1 count=300 if=/dev/zero of={PATH} status=none`
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
   +0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <...>
 +.01 < . 1:1(0) ack 1 win 257
   +0 accept(3, ..., ...) = 4
   +0 open("{PATH}", O_RDONLY) = 5
   +0 sendfile(4, 5, [100], 150) = 150
   +0 > P. 1:151(150) ack 1
 +.01 < . 1:1(0) ack 151 win 257
   +0 sendfile(4, 5, NULL, 1000) = 300
   +0 > P. 151:451(300) ack 1
   +0 sendfile(4, 5, NULL, 1000) = 0
   +0 close(5) = 0
   +0 sendfile(4, 5, NULL, 10) = -1 EBADF (Bad file descriptor)
   +0 open("/tmp/no-such-file", O_RDONLY) = -1 ENOENT (No such file or directory)
"""


def run(text: str) -> RunResult:
    return Runner(parse_script(textwrap.dedent(text), "t.pkt", set(LINUX.defined)), LINUX).run()


def test_sendfile_sends_the_files_zeros() -> None:
    assert run(SENDFILE).status == "PASS"
    assert not Path(PATH).exists()  # nothing was written on this machine


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("sendfile(4, 5, [100], 150) = 150", "sendfile(4, 5, [200], 150) = 150"),
        ("sendfile(4, 5, NULL, 1000) = 0", "sendfile(4, 5, NULL, 1000) = 1"),
        ("sendfile(4, 5, NULL, 10) = -1 EBADF", "sendfile(4, 5, NULL, 10) = 0"),
    ],
)
def test_a_wrong_size_fails_at_its_line(old: str, new: str) -> None:
    changed = SENDFILE.replace(old, new)
    assert changed != SENDFILE
    result = run(changed)
    line = next(n for n, text in enumerate(changed.splitlines(), 1) if new in text)
    assert (result.status, result.line) == ("FAIL", line), result


def test_rm_removes_the_file() -> None:
    removed = SENDFILE.replace(
        "   +0 close(5) = 0\n", f"   +0 close(5) = 0\n   +0 `rm -f {PATH}`\n"
    )
    removed = removed.replace('open("/tmp/no-such-file"', f'open("{PATH}"')
    assert run(removed).status == "PASS"


def test_dd_and_rm_are_read_not_run() -> None:
    here = Path(".")
    assert emulate("dd if=/dev/zero of=/x bs=10 count=3", here) == [Effect("file", "/x", "30")]
    assert emulate("/bin/rm -f /x /y", here) == [
        Effect("file-removed", "/x"),
        Effect("file-removed", "/y"),
    ]
    with pytest.raises(ShellError, match="only dd if=/dev/zero"):
        emulate("dd if=/etc/passwd of=/x", here)
    with pytest.raises(ShellError, match="not emulated"):
        emulate("rm -rf /x", here)


def test_a_call_with_missing_arguments_is_an_error_naming_it() -> None:
    result = run('0 open("/x") = 3\n')
    assert (result.status, result.line) == ("ERROR", 1), result
    assert "open() takes 2 arguments" in result.message


HUGE = 100 * 10**9


@pytest.mark.parametrize(
    ("profile", "calls"),
    [
        (
            LINUX,
            '   +0 open("{PATH}", O_RDONLY) = 5\n'
            "   +0 sendfile(4, 5, [-1], 10) = -1 EINVAL (Invalid argument)\n"
            f"   +0 sendfile(4, 5, NULL, {HUGE}) = -1\n",
        ),
        (FREEBSD, f"   +0 write(4, ..., {HUGE}) = -1\n"),  # no sendfile: the same path
    ],
    ids=["linux-sendfile", "freebsd-write"],
)
def test_a_huge_write_is_never_allocated(profile: Profile, calls: str) -> None:
    """dd of 100 GB and a non-blocking send of all of it: the send buffer
    takes what fits (the FAIL says how much), and nothing near 100 GB is
    ever allocated."""
    head = SENDFILE.replace("bs=1 count=300", f"bs=1000000 count={HUGE // 10**6}")
    head = head.split('   +0 open("')[0].replace(
        "accept(3, ..., ...) = 4\n",
        "accept(3, ..., ...) = 4\n   +0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n",
    )
    script = parse_script(head + calls.replace("{PATH}", PATH), "t.pkt", set(profile.defined))
    tracemalloc.start()
    try:
        result = Runner(script, profile).run()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10**9
    assert result.status == "FAIL" and "= -1" not in result.message, result
    assert result.line == len((head + calls).splitlines()), result
