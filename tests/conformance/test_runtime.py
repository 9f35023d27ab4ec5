"""The packetdrill runtime and its matcher: scripts that must PASS, FAIL at the
right line for the right reason, or be an ERROR; blocking calls; #ifdef; the
LINUX profile; the suite helpers and the ``synack conformance`` command.

Most FAIL cases take one of our passing scripts (tests/conformance/scripts/)
and change one line: the run must then fail at exactly that line.
"""

from __future__ import annotations

import json
import re
import shutil
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from synack.cli import main
from synack.conformance.profiles import FREEBSD, LINUX, Profile
from synack.conformance.runtime import Runner, RunResult
from synack.conformance.script import parse_file, parse_script
from synack.conformance.suite import (
    SuiteReport,
    load_expected_failures,
    run_file,
)

SCRIPTS = Path(__file__).parent / "scripts"
PASSIVE = SCRIPTS / "passive-open-close.pkt"
PASSIVE_V6 = SCRIPTS / "passive-open-close-ipv6.pkt"
ACTIVE = SCRIPTS / "active-open-close.pkt"
ACTIVE_V6 = SCRIPTS / "active-open-close-ipv6.pkt"
LINUX_PASSIVE = SCRIPTS / "linux" / "passive-open-data-close.pkt"
LINUX_ACTIVE = SCRIPTS / "linux" / "active-open-close.pkt"


def run(text: str, profile: Profile = FREEBSD, defined: tuple[str, ...] = ()) -> RunResult:
    """Parse ``text`` (dedented) with the profile's #ifdef names and run it."""
    script = parse_script(textwrap.dedent(text), "t.pkt", set(profile.defined) | set(defined))
    return Runner(script, profile).run()


def line_of(text: str, needle: str) -> int:
    """The number of the one line of ``text`` that contains ``needle``."""
    lines = [n for n, line in enumerate(textwrap.dedent(text).splitlines(), 1) if needle in line]
    assert len(lines) == 1, f"{needle!r} is on lines {lines}"
    return lines[0]


def mutate(path: Path, old: str, new: str) -> str:
    """The text of the script at ``path`` with its one line ``old`` replaced by ``new``."""
    text = path.read_text()
    assert text.count(old + "\n") == 1, f"{old!r} is not one whole line of {path.name}"
    return text.replace(old + "\n", new + "\n")


def assert_fails(text: str, needle: str, *message: str, profile: Profile = FREEBSD) -> RunResult:
    """The script FAILs at the line holding ``needle``, with each of ``message`` said."""
    result = run(text, profile)
    assert (result.status, result.line) == ("FAIL", line_of(text, needle)), result
    for part in message:
        assert part in result.message
    return result


# An active open (as in active-open-close.pkt), to build on: SYN-SENT, then ESTABLISHED.
SYN_SENT = """\
    --tolerance_usecs=10000
     0.00 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
    +0.00 fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0
    +0.00 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
    +0.00 > S  0:0(0) win 65535 <mss 1460,nop,wscale 6,sackOK,TS val 100 ecr 0>
"""
ESTABLISHED = (
    SYN_SENT
    + """\
    +0.10 < S. 0:0(0) ack 1 win 32767 <mss 1460,sackOK,eol,eol>
    +0.00 >  . 1:1(0) ack 1 win 65535
"""
)


# ----------------------------------------------------------------------
# Scripts that pass
# ----------------------------------------------------------------------
@pytest.mark.parametrize("path", [PASSIVE, ACTIVE, PASSIVE_V6, ACTIVE_V6], ids=lambda p: p.name)
def test_our_freebsd_scripts_pass(path: Path) -> None:
    result = run_file(path, FREEBSD)
    assert (result.status, result.line, result.message) == ("PASS", 0, "")
    assert result.events == len(parse_file(path, FREEBSD.defined).events) > 15  # every line ran


def test_ipv6_syn_announces_mss_1440_not_1460() -> None:
    text = mutate(
        ACTIVE_V6,
        "+0.00 > S  0:0(0) win 65535 <mss 1440,nop,wscale 6,sackOK,TS val 100 ecr 0>",
        "+0.00 > S  0:0(0) win 65535 <mss 1460,nop,wscale 6,sackOK,TS val 100 ecr 0>",
    )
    assert_fails(text, "> S  0:0(0)", "options <mss 1440,nop,wscale 6,sackOK,TS val")


def test_blocking_connect_returns_at_its_end_time() -> None:
    result = run(
        """\
        --tolerance_usecs=10000
         0.00 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
         0.00...0.10 connect(3, ..., ...) = 0
        +0.00 > S  0:0(0) win 65535 <mss 1460,nop,wscale 6,sackOK,TS val 100 ecr 0>
        +0.10 < S. 0:0(0) ack 1 win 32767 <mss 1460,sackOK,eol,eol>
        +0.00 >  . 1:1(0) ack 1 win 65535
        +0.10 close(3) = 0
        +0.00 > F. 1:1(0) ack 1 win 65535
        """
    )
    assert (result.status, result.line) == ("PASS", 0), result


def test_write_produces_full_sized_segments_psh_on_the_last() -> None:
    result = run(
        ESTABLISHED
        + """\
    +0.00 write(3, ..., 2920) = 2920
    +0.00 > . 1:1461(1460) ack 1 win 65535
    +0.00 > P. 1461:2921(1460) ack 1 win 65535
    +0.10 < . 1:1(0) ack 2921 win 32767
    +0.00 < R. 1:1(0) ack 2921 win 32767
    +0.00 getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNRESET], [4]) = 0
    """
    )
    assert (result.status, result.line) == ("PASS", 0), result


def test_refused_connect_sets_so_error_and_closes() -> None:
    text = (
        SYN_SENT
        + """\
    +0.10 < R. 0:0(0) ack 1 win 0
    +0.00 getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNREFUSED], [4]) = 0
    +0.00 %{ assert tcpi_state == TCPI_CLOSED }%
    +0.00 close(3) = 0
    """
    )
    assert run(text).status == "PASS"
    wrong = text.replace("[ECONNREFUSED]", "[0]")
    assert_fails(wrong, "SO_ERROR", "getsockopt SO_ERROR gave 61, expected 0")


# ----------------------------------------------------------------------
# The matcher: one field of one outbound line wrong
# ----------------------------------------------------------------------
SYN_ACK = "+0.00 > S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,eol,eol>"


@pytest.mark.parametrize(
    ("path", "old", "new", "message"),
    [
        pytest.param(
            PASSIVE,
            "+0.00 >  . 2:2(0) ack 2 win 65535",
            "+0.00 > F. 2:2(0) ack 2 win 65535",
            "flags . (expected F.)",
            id="flags",
        ),
        pytest.param(
            PASSIVE,
            SYN_ACK,
            "+0.00 > S. 0:0(0) ack 2 win 65535 <mss 1460,sackOK,eol,eol>",
            "ack 1 (expected 2)",
            id="ack",
        ),
        pytest.param(
            PASSIVE,
            SYN_ACK,
            "+0.00 > S. 0:0(0) ack 1 win 32768 <mss 1460,sackOK,eol,eol>",
            "win 65535 (expected 32768)",
            id="window",
        ),
        pytest.param(
            PASSIVE,
            SYN_ACK,
            "+0.00 > S. 0:0(0) ack 1 win 65535 <mss 1460,nop,wscale 6,sackOK,eol>",
            "options <mss 1460,sackOK> (expected <mss 1460,nop,wscale 6,sackOK,eol>)",
            id="options",
        ),
        pytest.param(
            ACTIVE,
            "+0.00 > P. 1:1001(1000) ack 1 win 65535",
            "+0.00 > P. 1:1461(1460) ack 1 win 65535",
            "length 1000 (expected 1460)",
            id="length",
        ),
    ],
)
def test_a_wrong_outbound_field_fails_at_its_line(
    path: Path, old: str, new: str, message: str
) -> None:
    text = mutate(path, old, new)
    result = assert_fails(text, new, f"outbound segment differs from line {line_of(text, new)}")
    assert message in result.message
    # and the message shows what was sent, for the reader
    assert "\n    actual:   > " in result.message


DELAYED_ACK = "+0.04 >  . 1001:1001(0) ack 501 win 65535"


def test_a_delayed_ack_expected_at_once_is_late() -> None:
    new = "+0.00 >  . 1001:1001(0) ack 501 win 65535"
    text = mutate(ACTIVE, DELAYED_ACK, new)
    # the data arrived at 0.2 s; the ACK leaves 40 ms later, beyond 10 ms of tolerance
    assert_fails(
        text, new, "segment sent at 0.240 s, too late for", "(expected at 0.200 s +/- 10 ms)"
    )


def test_a_delayed_ack_expected_too_late_comes_early() -> None:
    new = "+0.10 >  . 1001:1001(0) ack 501 win 65535"
    text = mutate(ACTIVE, DELAYED_ACK, new)
    assert_fails(text, new, "segment sent at 0.240 s, too early for", "expected at 0.300 s")


def test_a_segment_never_sent_fails() -> None:
    # a second ACK of the SYN,ACK: the stack has no reason to send one
    ack = "+0.00 >  . 1:1(0) ack 1 win 65535"
    text = mutate(ACTIVE, ack, f"{ack}\n+0.05 >  . 1:1(0) ack 1 win 32768")
    assert_fails(
        text,
        "win 32768",
        "expected '+0.05 >  . 1:1(0) ack 1 win 32768' at 0.150 s; nothing was sent by",
    )


def test_an_unlisted_segment_fails_at_the_next_event() -> None:
    text = mutate(ACTIVE, DELAYED_ACK, "// (the delayed ACK is not listed)")
    close = "+0.10 close(3) = 0"
    assert_fails(
        text,
        close,
        f"unexpected outbound segment at 0.240 s before line {line_of(text, close)}: "
        ". 1001:1001(0) ack 501 win 65535",
    )


# ----------------------------------------------------------------------
# System calls, SO_ERROR, %{ }% and sockstat
# ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "old", "new", "message"),
    [
        pytest.param(
            PASSIVE,
            "+0.00 listen(3, 1) = 0",
            "+0.00 listen(3, 1) = 1",
            "listen() returned 0, expected 1",
            id="return-value",
        ),
        pytest.param(
            ACTIVE,
            "+0.00 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)",
            "+0.00 connect(3, ..., ...) = -1 EALREADY (Operation already in progress)",
            "connect() returned -1 EINPROGRESS, expected -1 EALREADY",
            id="errno",
        ),
        pytest.param(
            PASSIVE,
            "+0.00 getsockopt(4, SOL_SOCKET, SO_ERROR, [0], [4]) = 0",
            "+0.00 getsockopt(4, SOL_SOCKET, SO_ERROR, [ECONNRESET], [4]) = 0",
            "getsockopt SO_ERROR gave 0, expected 54",
            id="so-error",
        ),
        pytest.param(
            PASSIVE,
            "+0.00 %{ assert tcpi_state == TCPI_ESTABLISHED }%",
            "+0.00 %{ assert tcpi_state == TCPI_CLOSED }%",
            "%{ tcpi_state == TCPI_CLOSED }% is false: tcpi_state=4",
            id="assert",
        ),
        pytest.param(
            PASSIVE,
            "+0.10 `sockstat -4 -P tcp -s | grep -c TIME_WAIT | grep 1`",
            "+0.10 `sockstat -4 -P tcp -s | grep -c TIME_WAIT | grep 0`",
            "sockstat counted 1 socket(s) in TIME_WAIT, expected 0",
            id="sockstat",
        ),
        pytest.param(
            ACTIVE,
            "+0.00 recv(3, ..., 1000, 0) = 500",
            "+0.00 recv(3, ..., 1000, 0) = 0",
            # two MSG_PEEK calls before it left all 500 bytes in place
            "recv() returned 500, expected 0",
            id="peek-keeps-data",
        ),
        pytest.param(
            ACTIVE,
            "+0.00 read(3, ..., 1000) = -1 EWOULDBLOCK (Resource temporarily unavailable)",
            "+0.00 read(3, ..., 1000) = 0",
            "read() returned -1 EWOULDBLOCK, expected 0",
            id="nonblocking-read",
        ),
    ],
)
def test_a_wrong_result_fails_at_its_line(path: Path, old: str, new: str, message: str) -> None:
    assert_fails(mutate(path, old, new), new, message)


def test_a_blocking_read_without_an_end_time_fails() -> None:
    # accept() gives a blocking socket: with nothing to read, read() blocks
    old = "+0.00 getsockopt(4, SOL_SOCKET, SO_ERROR, [0], [4]) = 0"
    new = "+0.00 read(4, ..., 1000) = -1 EWOULDBLOCK (Resource temporarily unavailable)"
    text = mutate(PASSIVE, old, new)
    assert_fails(text, new, "read() would block, and the script gives no end time")


def test_eagain_is_ewouldblock() -> None:
    text = mutate(
        ACTIVE,
        "+0.00 read(3, ..., 1000) = -1 EWOULDBLOCK (Resource temporarily unavailable)",
        "+0.00 read(3, ..., 1000) = -1 EAGAIN (Resource temporarily unavailable)",
    )
    result = run(text)
    assert (result.status, result.line, result.message) == ("PASS", 0, ""), result


# ----------------------------------------------------------------------
# Blocking calls with an end time: TCP_KEEPINIT bounds a blocking connect()
# ----------------------------------------------------------------------
KEEPINIT = """\
    --tolerance_usecs=50000
     0.00 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
    +0.00 setsockopt(3, IPPROTO_TCP, TCP_KEEPINIT, [2], 4) = 0
     0.00...2.00 connect(3, ..., ...) = -1 ETIMEDOUT (Operation timed out)
    +0.00 > S  0:0(0) win 65535 <mss 1460,nop,wscale 6,sackOK,TS val 100 ecr 0>
    +1.00 > S  0:0(0) win 65535 <mss 1460,nop,wscale 6,sackOK,TS val 1100 ecr 0>
     3.00 close(3) = 0
"""


def test_keepinit_times_out_a_blocking_connect() -> None:
    result = run(KEEPINIT)
    assert (result.status, result.line, result.message) == ("PASS", 0, ""), result


def test_keepinit_connect_with_a_wrong_end_time_fails() -> None:
    text = KEEPINIT.replace(" 0.00...2.00 connect", " 0.00...1.00 connect")
    assert_fails(text, "connect(3", "returned at", "expected at 1.000 s +/- 50 ms")


def test_blocking_connect_returning_before_its_end_time_fails() -> None:
    text = """\
        --tolerance_usecs=10000
         0.00 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
         0.00...0.30 connect(3, ..., ...) = 0
        +0.00 > S  0:0(0) win 65535 <mss 1460,nop,wscale 6,sackOK,TS val 100 ecr 0>
        +0.10 < S. 0:0(0) ack 1 win 32767 <mss 1460,sackOK,eol,eol>
        +0.00 >  . 1:1(0) ack 1 win 65535
        """
    assert_fails(text, "connect(3", "returned at 0.100 s, expected at 0.300 s +/- 10 ms")


def test_blocking_connect_still_blocked_at_the_end_fails() -> None:
    text = """\
        --tolerance_usecs=10000
         0.00 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
         0.00...0.50 connect(3, ..., ...) = 0
        +0.00 > S  0:0(0) win 65535 <mss 1460,nop,wscale 6,sackOK,TS val 100 ecr 0>
        """
    assert_fails(
        text, "connect(3", "connect() was still blocked at 0.510 s (expected to return at 0.500 s)"
    )


def test_blocked_call_past_its_end_time_is_reported_as_such() -> None:
    text = """\
        --tolerance_usecs=10000
         0.00 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
         0.00...0.50 connect(3, ..., ...) = 0
        +0.00 > S  0:0(0) win 65535 <mss 1460,nop,wscale 6,sackOK,TS val 100 ecr 0>
         0.80 close(3) = 0
        """
    assert_fails(text, "connect(3", "still blocked", "expected to return at 0.500 s")


# ----------------------------------------------------------------------
# ERROR: what the interpreter cannot run
# ----------------------------------------------------------------------
def test_a_syntax_error_is_an_error_with_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.pkt"
    path.write_text(
        "--tolerance_usecs=10000\n"
        "0.00 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
        "+0.00 > S 0:0(0) win 65535 <mss 1460,bogus 3>\n"  # "bogus" at column 38
    )
    result = run_file(path, FREEBSD)
    assert (result.status, result.line) == ("ERROR", 3)
    assert result.message == f"{path}:3:38: unknown TCP option 'bogus'"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        pytest.param(
            "+0.00 frobnicate(3, 1) = 0", "system call frobnicate() is not emulated", id="syscall"
        ),
        pytest.param(
            "+0.00 `ls -l /tmp`", "shell command 'ls -l /tmp' is not emulated", id="shell"
        ),
        pytest.param(
            "+0.00 %{ tcpi_state += 1 }%",
            "only assert statements and NAME = value are supported in %{ }%",
            id="code-not-assert",
        ),
    ],
)
def test_what_the_runtime_cannot_run_is_an_error(line: str, message: str) -> None:
    text = ESTABLISHED + f"    {line}\n    +0.00 close(3) = 0\n"
    result = run(text)
    assert (result.status, result.line, result.message) == ("ERROR", line_of(text, line), message)


# ----------------------------------------------------------------------
# #ifdef: FREEBSD defines STANDARD, not FreeBSD
# ----------------------------------------------------------------------
IFDEF = """\
    --tolerance_usecs=10000
     0.00 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
    +0.00 bind(3, ..., ...) = 0
    +0.00 listen(3, 1) = 0
    +0.00 < S  0:0(0) win 65535 <mss 1460,sackOK,eol,eol>
    +0.00 > S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,eol,eol>
    +0.10 <  . 1:1(0) ack 1 win 65535
    +0.00 accept(3, ..., ...) = 4
    #ifdef FreeBSD
    +0.00 %{ assert tcpi_state == TCPI_LISTEN }%
    #endif
    #ifdef STANDARD
    +0.00 %{ assert tcpi_state == TCPI_ESTABLISHED }%
    #else
    +0.00 %{ assert tcpi_state == TCPI_SYN_RCVD }%
    #endif
    +0.00 close(4) = 0
    +0.00 > F. 1:1(0) ack 1 win 65535
"""


def test_ifdef_standard_is_honoured_and_freebsd_is_not_defined() -> None:
    assert "STANDARD" in FREEBSD.defined and "FreeBSD" not in FREEBSD.defined
    result = run(IFDEF)
    assert (result.status, result.line, result.events) == ("PASS", 0, 10), result
    # with FreeBSD defined as well, its block runs, and fails
    result = run(IFDEF, defined=("FreeBSD",))
    assert (result.status, result.line) == ("FAIL", line_of(IFDEF, "TCPI_LISTEN")), result
    assert result.message.startswith("%{ tcpi_state == TCPI_LISTEN }% is false: tcpi_state=4")


# ----------------------------------------------------------------------
# The LINUX profile
# ----------------------------------------------------------------------
@pytest.mark.parametrize("path", [LINUX_PASSIVE, LINUX_ACTIVE], ids=lambda p: p.name)
def test_linux_scripts_pass_under_linux(path: Path) -> None:
    result = run_file(path, LINUX)
    assert (result.status, result.line, result.message) == ("PASS", 0, "")


@pytest.mark.parametrize(
    ("path", "needle", "ecr"),
    [(LINUX_PASSIVE, "> S. 0:0(0)", 100), (LINUX_ACTIVE, "> S 0:0(0)", 0)],
    ids=["passive", "active"],
)
def test_linux_scripts_fail_under_freebsd(path: Path, needle: str, ecr: int) -> None:
    # FreeBSD orders the SYN options differently and scales by 6, not 7
    result = run_file(path, FREEBSD)
    assert (result.status, result.line) == ("FAIL", line_of(path.read_text(), needle)), result
    assert re.search(
        rf"options <mss 1460,nop,wscale 6,sackOK,TS val \d+ ecr {ecr}> ", result.message
    )


def test_linux_syn_options_are_linux_order_with_wscale_7() -> None:
    # an active open expecting FreeBSD's SYN, so the message shows what LINUX sends
    text = """\
        0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
        +0 fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0
        +0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
        +0 > S 0:0(0) win 65535 <mss 1460,nop,wscale 6,sackOK,TS val 100 ecr 0>
        """
    result = assert_fails(text, "> S 0:0(0)", profile=LINUX)
    actual = result.message.split("actual:   ")[1]
    assert re.fullmatch(
        r"> S 0:0\(0\) win \d+ <mss 1460,sackOK,TS val \d+ ecr 0,nop,wscale 7>", actual
    )


# ----------------------------------------------------------------------
# suite.py
# ----------------------------------------------------------------------
def test_load_expected_failures_reads_names_and_reasons(tmp_path: Path) -> None:
    path = tmp_path / "xfail.txt"
    path.write_text(
        "# a comment\n\n"
        "one.pkt FreeBSD does X; RFC 9293 says Y\n"
        "two.pkt   spaced   reason  # with a trailing comment\n"
    )
    assert load_expected_failures(path) == {
        "one.pkt": "FreeBSD does X; RFC 9293 says Y",
        "two.pkt": "spaced   reason",
    }


def test_load_expected_failures_rejects_a_name_without_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "xfail.txt"
    path.write_text("one.pkt a reason\n# comment\nlonely.pkt   # only a comment\n")
    with pytest.raises(ValueError, match=rf"^{path}:3: lonely\.pkt needs a reason"):
        load_expected_failures(path)


def test_suite_report_unexpected_lists_xpass_and_unlisted_failures() -> None:
    results = [
        RunResult("a/listed-passes.pkt", "PASS"),
        RunResult("a/listed-fails.pkt", "FAIL", 3, "x"),
        RunResult("a/unlisted-fails.pkt", "ERROR", 1, "y"),
        RunResult("a/unlisted-passes.pkt", "PASS"),
    ]
    report = SuiteReport(results, {"listed-passes.pkt": "why", "listed-fails.pkt": "why"})
    assert [r.path for r in report.unexpected] == ["a/listed-passes.pkt", "a/unlisted-fails.pkt"]
    assert (report.passed, report.failed) == (2, 2)


# ----------------------------------------------------------------------
# synack conformance
# ----------------------------------------------------------------------
@pytest.fixture
def suite_dir(tmp_path: Path) -> Path:
    """A folder of two passing scripts."""
    folder = tmp_path / "suite"
    folder.mkdir()
    shutil.copy(PASSIVE, folder / "passive.pkt")
    shutil.copy(ACTIVE, folder / "active.pkt")
    return folder


def add_failing_script(folder: Path) -> Path:
    path = folder / "wrong-ack.pkt"
    path.write_text(mutate(PASSIVE, SYN_ACK, SYN_ACK.replace("ack 1", "ack 2")))
    return path


def invoke(*args: str) -> Result:
    result = CliRunner().invoke(main, ["conformance", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def conformance(*args: str) -> tuple[int, list[str]]:
    result = invoke(*args)
    return result.exit_code, result.output.splitlines()


def test_cli_all_pass_exits_0(suite_dir: Path) -> None:
    code, lines = conformance(str(suite_dir))
    assert (code, lines) == (0, ["PASS active.pkt", "PASS passive.pkt", "2 passed, 0 failed"])


def test_cli_a_failure_exits_1(suite_dir: Path) -> None:
    add_failing_script(suite_dir)
    code, lines = conformance(str(suite_dir))
    assert code == 1
    assert lines[:2] == ["PASS active.pkt", "PASS passive.pkt"]
    assert lines[2].startswith(
        f"FAIL wrong-ack.pkt:{line_of(PASSIVE.read_text(), SYN_ACK)} "
        "outbound segment differs from line"
    )
    assert "ack 1 (expected 2)" in lines[2]
    assert lines[-1] == "2 passed, 1 failed"


def test_cli_expected_failure_is_xfail_and_exits_0(suite_dir: Path, tmp_path: Path) -> None:
    add_failing_script(suite_dir)
    xfail = tmp_path / "xfail.txt"
    xfail.write_text("wrong-ack.pkt the SYN,ACK acks 1, the script says 2\n")
    code, lines = conformance(str(suite_dir), "--expected-failures", str(xfail))
    assert code == 0
    assert lines[2].startswith("XFAIL wrong-ack.pkt:")
    assert lines[-1] == "2 passed, 1 failed (1 expected)"


def test_cli_expected_failure_that_passes_is_xpass_and_exits_1(
    suite_dir: Path, tmp_path: Path
) -> None:
    xfail = tmp_path / "xfail.txt"
    xfail.write_text("passive.pkt it used to fail\n")
    code, lines = conformance(str(suite_dir), "--expected-failures", str(xfail))
    assert code == 1
    assert "XPASS passive.pkt" in lines


def test_cli_json_report(suite_dir: Path) -> None:
    add_failing_script(suite_dir)
    result = invoke(str(suite_dir), "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert (report["passed"], report["failed"], report["total"]) == (2, 1, 3)
    statuses = {Path(r["path"]).name: (r["status"], r["line"]) for r in report["results"]}
    assert statuses == {
        "active.pkt": ("PASS", 0),
        "passive.pkt": ("PASS", 0),
        "wrong-ack.pkt": ("FAIL", line_of(PASSIVE.read_text(), SYN_ACK)),
    }
    assert [Path(p).name for p in report["unexpected"]] == ["wrong-ack.pkt"]


def test_cli_missing_path_exits_2(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pkt"
    code, lines = conformance(str(missing))
    assert code == 2
    errors = [line for line in lines if line.startswith("Error:")]
    assert len(errors) == 1 and str(missing) in errors[0]
    assert not any("Traceback" in line for line in lines)


def test_fds_are_the_ones_the_script_names() -> None:
    """As packetdrill maps them: a socket gets the fd its line's result names."""
    text = PASSIVE.read_text().replace("accept(3, ..., ...) = 4", "accept(3, ..., ...) = 7")
    text = text.replace("(4,", "(7,").replace("close(4)", "close(7)")
    result = run(text)
    assert (result.status, result.message) == ("PASS", "")


def test_a_code_block_may_name_a_value_for_later_blocks() -> None:
    text = PASSIVE.read_text().replace(
        "+0.00 %{ assert tcpi_state == TCPI_LISTEN }%",
        "+0.00 %{ EXPECTED = TCPI_LISTEN }%\n+0.00 %{ assert tcpi_state == EXPECTED }%",
    )
    assert run(text).status == "PASS"
    wrong = text.replace("EXPECTED = TCPI_LISTEN", "EXPECTED = TCPI_CLOSED")
    assert run(wrong).status == "FAIL"
