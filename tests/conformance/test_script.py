"""The packetdrill script parser: header, times, packets, system calls, shell and
code lines, comments, #ifdef, and where syntax errors are reported."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from synack.conformance.script import (
    CodeSpec,
    Event,
    Expr,
    OptionSpec,
    PacketSpec,
    Script,
    ScriptError,
    ShellSpec,
    SyscallSpec,
    TimeSpec,
    parse_file,
    parse_script,
)

SUITE = Path(os.environ.get("SYNACK_CONFORMANCE_DIR", Path(__file__).parent / "tcp-testsuite"))
PATH = "t.pkt"


def parse(text, defined=()):
    return parse_script(text, PATH, defined)


def action(line):
    """The action of a script holding one event."""
    [event] = parse(line).events
    return event.action


def error(text, defined=()):
    with pytest.raises(ScriptError) as info:
        parse(text, defined)
    return info.value


def fds(script):
    """The fds of the close(N) = 0 events, in order: which lines #ifdef kept."""
    return [e.action.args[0].value for e in script.events]


def num(text):
    return Expr(text, "int", int(text, 0))


def name(text):
    return Expr(text, "name")


ANY = Expr("...", "ellipsis")


# ----------------------------------------------------------------------
# Header
# ----------------------------------------------------------------------
def test_header_options():
    script = parse(
        "--ip_version=ipv4\n"
        "--tolerance_usecs=10000\n"
        "--mtu=9000\n"
        "\n"
        "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
    )
    assert isinstance(script, Script)
    assert script.path == PATH
    assert script.options == {"ip_version": "ipv4", "tolerance_usecs": "10000", "mtu": "9000"}
    assert [e.line for e in script.events] == [5]


# ----------------------------------------------------------------------
# Times
# ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("written", "time"),
    [
        ("0.1", TimeSpec("absolute", 0.1)),
        ("+0.1", TimeSpec("relative", 0.1)),
        ("+ 0.00", TimeSpec("relative", 0.0)),
        ("*", TimeSpec("any")),
        ("1.00...6.00", TimeSpec("absolute", 1.0, 6.0, False)),
        ("0.1...+0.5", TimeSpec("absolute", 0.1, 0.5, True)),
        ("0...+0.5", TimeSpec("absolute", 0.0, 0.5, True)),
    ],
)
def test_time(written, time):
    [event] = parse(f"{written} accept(3, ..., ...) = 4").events
    assert event.time == time
    assert event.action == SyscallSpec("accept", (num("3"), ANY, ANY), num("4"))


def test_event_records_line_number_and_text():
    script = parse("\n\n  +0.25 close(3) = 0   // done\n")
    assert script.events == [
        Event(
            TimeSpec("relative", 0.25),
            SyscallSpec("close", (num("3"),), num("0")),
            3,
            "+0.25 close(3) = 0",
        )
    ]


# ----------------------------------------------------------------------
# Packets
# ----------------------------------------------------------------------
@pytest.mark.parametrize("flags", ["S", "S.", "F.", ".", "R", "R.", "SEW", "P."])
def test_packet_flags(flags):
    packet = action(f"+0 < {flags} 1:1(0) win 100")
    assert packet == PacketSpec("<", flags, 1, 1, 0, window=100)


def test_inbound_syn_with_all_option_kinds():
    packet = action("+0 < S 0:0(0) win 65535 <mss 1460,nop,wscale 6,sackOK,TS val 100 ecr 0>")
    assert packet == PacketSpec(
        "<", "S", 0, 0, 0,
        window=65535,
        options=(
            OptionSpec("mss", (1460,)),
            OptionSpec("nop"),
            OptionSpec("wscale", (6,)),
            OptionSpec("sackOK"),
            OptionSpec("TS", (100, 0)),
        ),
    )  # fmt: skip


def test_outbound_synack_with_eol_padding():
    packet = action("+0.00 > S.  0:0(0) ack 1 win 65535 <mss 1460,sackOK,eol,eol>")
    mss, sack_ok, eol = OptionSpec("mss", (1460,)), OptionSpec("sackOK"), OptionSpec("eol")
    assert packet == PacketSpec(
        ">", "S.", 0, 0, 0, ack=1, window=65535, options=(mss, sack_ok, eol, eol)
    )


def test_data_segment_with_ack_win_urg():
    packet = action("+0 > P. 1001:2001(1000) ack 1 win 257 urg 5")
    assert packet == PacketSpec(">", "P.", 1001, 2001, 1000, ack=1, window=257, urgent=5)
    assert packet.options is None


def test_any_sequence_numbers():
    packet = action("+0 > R. ...(0) ack 1")
    assert packet == PacketSpec(">", "R.", None, None, 0, ack=1)


def test_sack_blocks():
    packet = action("+0 > . 1:1(0) ack 2 win 65535 <nop,nop,sack 1:150 200:300>")
    assert packet.options == (
        OptionSpec("nop"),
        OptionSpec("nop"),
        OptionSpec("sack", blocks=((1, 150), (200, 300))),
    )


def test_any_options():
    packet = action("+0 > S. 0:0(0) ack 1 <...>")
    assert packet == PacketSpec(">", "S.", 0, 0, 0, ack=1, options=(OptionSpec("..."),))


def test_ecn_field():
    script = parse("0 <[noecn] . 1:1(0) ack 1 win 257\n+0 > [ect0] P. 1:11(10) ack 1\n")
    assert [e.action for e in script.events] == [
        PacketSpec("<", ".", 1, 1, 0, ack=1, window=257, ecn="noecn"),
        PacketSpec(">", "P.", 1, 11, 10, ack=1, ecn="ect0"),
    ]


# ----------------------------------------------------------------------
# System calls
# ----------------------------------------------------------------------
def test_socket():
    call = action("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3")
    assert call == SyscallSpec("socket", (ANY, name("SOCK_STREAM"), name("IPPROTO_TCP")), num("3"))
    assert (call.errno, call.note) == (None, None)


def test_or_expression():
    call = action("+0 fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0")
    assert call.args[2] == Expr(
        "O_RDWR | O_NONBLOCK", "or", None, (name("O_RDWR"), name("O_NONBLOCK"))
    )
    assert call.result == num("0")


def test_or_expression_of_numbers_has_a_value():
    call = action("+0 fcntl(3, F_SETFL, 0x800|2) = 0")
    assert call.args[2] == Expr("0x800 | 2", "or", 0x802, (num("0x800"), num("2")))


def test_hex_result_with_note():
    call = action("+0 fcntl(3, F_GETFL) = 0x02 (flags O_RDWR)")
    assert call == SyscallSpec(
        "fcntl", (num("3"), name("F_GETFL")), Expr("0x02", "int", 2), None, "flags O_RDWR"
    )


def test_errno_and_note():
    call = action("+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)")
    assert call == SyscallSpec(
        "connect",
        (num("3"), ANY, ANY),
        Expr("-1", "int", -1),
        "EINPROGRESS",
        "Operation now in progress",
    )


def test_list_arguments():
    call = action("+0 getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNRESET], [4]) = 0")
    assert call.args == (
        num("3"),
        name("SOL_SOCKET"),
        name("SO_ERROR"),
        Expr("[ECONNRESET]", "list", None, (name("ECONNRESET"),)),
        Expr("[4]", "list", None, (num("4"),)),
    )
    assert call.result == num("0")


def test_space_before_the_argument_list():
    call = action("+0 write (4, ..., 10) = 10")
    assert call == SyscallSpec("write", (num("4"), ANY, num("10")), num("10"))


def test_decimal_with_leading_zero():
    call = action("+0 write(4, ..., 010) = 010")
    assert call.result == Expr("010", "int", 10)


def test_comment_marker_inside_a_string():
    call = action('+0 setsockopt(3, SOL_SOCKET, SO_X, "http://x", 8) = 0')
    assert call.args[3] == Expr('"http://x"', "string")


# ----------------------------------------------------------------------
# Shell lines and code blocks
# ----------------------------------------------------------------------
def test_shell_line():
    script = parse(" 0.00 `sysctl -w net.inet.tcp.sack.enable=1`\n")
    assert script.events[0].action == ShellSpec("sysctl -w net.inet.tcp.sack.enable=1")


def test_shell_line_keeps_comment_markers():
    assert action("+0 `echo http://x /* y */`") == ShellSpec("echo http://x /* y */")


def test_code_block_on_one_line():
    assert action("+0 %{ assert tcpi_state == TCPI_LISTEN }%") == CodeSpec(
        "assert tcpi_state == TCPI_LISTEN"
    )
    # "//" is Python's integer division here, not a comment
    assert action("+0 %{ assert tcpi_rto // 1000 == 200 }%") == CodeSpec(
        "assert tcpi_rto // 1000 == 200"
    )


def test_code_block_over_several_lines():
    script = parse(
        """\
0 %{
assert tcpi_state == TCPI_LISTEN
assert tcpi_rto > 0
}%
+0 close(3) = 0
"""
    )
    assert [(e.line, e.action) for e in script.events] == [
        (1, CodeSpec("assert tcpi_state == TCPI_LISTEN\nassert tcpi_rto > 0")),
        (5, SyscallSpec("close", (num("3"),), num("0"))),
    ]


def test_python_comment_inside_a_code_block():
    script = parse("0 %{\n# the state\nassert tcpi_state == TCPI_LISTEN\n}%\n")
    assert script.events[0].action == CodeSpec("# the state\nassert tcpi_state == TCPI_LISTEN")


def test_shell_command_over_two_lines():
    script = parse("0 `sysctl -q a=1\nsysctl -q b=2`\n+0 close(3) = 0\n")
    assert script.events[0].action == ShellSpec("sysctl -q a=1\nsysctl -q b=2")
    assert script.events[1].line == 3


# ----------------------------------------------------------------------
# Comments
# ----------------------------------------------------------------------
def test_line_comments():
    script = parse(
        "// header comment\n"
        "--ip_version=ipv4 // trailing\n"
        "+0.00 < F. 32:32(0)  ack  1 win 65535 // Fin\n"
    )
    assert script.options == {"ip_version": "ipv4"}
    assert script.events[0].action == PacketSpec("<", "F.", 32, 32, 0, ack=1, window=65535)


def test_block_comment_over_lines_keeps_line_numbers():
    script = parse(
        "--ip_version=ipv4\n"
        "/* one\n"
        "   two\n"
        "   three */\n"
        "0 close(3) = 0 /* trailing */\n"
        "+0 close(4) = 0\n"
    )
    assert [(e.line, e.text) for e in script.events] == [
        (5, "0 close(3) = 0"),
        (6, "+0 close(4) = 0"),
    ]
    e = error("/* one\ntwo */\n0 close(3) = 0\n+0 < Z 0:0(0)\n")
    assert (e.line, e.column) == (4, 6)
    e = error("0 /* x */ < Z 0:0(0)")  # blanked, not removed: columns stay right
    assert (e.line, e.column) == (1, 13)


# ----------------------------------------------------------------------
# #ifdef
# ----------------------------------------------------------------------
IFDEF = """\
0 close(1) = 0
#ifdef STANDARD
+0 close(2) = 0
#else
+0 close(3) = 0
#endif
+0 close(4) = 0
"""


def test_ifdef_defined():
    script = parse(IFDEF, defined=["STANDARD"])
    assert fds(script) == [1, 2, 4]
    assert [e.line for e in script.events] == [1, 3, 7]


def test_ifdef_not_defined():
    script = parse(IFDEF)
    assert fds(script) == [1, 3, 4]
    assert [e.line for e in script.events] == [1, 5, 7]


NESTED = """\
#ifdef A
#ifdef B
0 close(1) = 0
#else
0 close(2) = 0
#endif
#else
0 close(3) = 0
#endif
"""


@pytest.mark.parametrize(
    ("defined", "kept"),
    [([], [3]), (["A"], [2]), (["A", "B"], [1]), (["B"], [3])],
)
def test_nested_ifdef(defined, kept):
    assert fds(parse(NESTED, defined)) == kept


def test_ifndef():
    text = "#ifndef FreeBSD\n0 close(1) = 0\n#endif\n"
    assert fds(parse(text)) == [1]
    assert fds(parse(text, ["FreeBSD"])) == []


def test_ifdef_with_a_tab():
    assert fds(parse("#ifdef\tA\n0 close(1) = 0\n#endif\n", ["A"])) == [1]


# ----------------------------------------------------------------------
# Syntax errors: file, line and column
# ----------------------------------------------------------------------
def test_error_message_format():
    e = error("--mtu=9000\n\n+0 < Z 0:0(0)")
    assert (e.path, e.line, e.column) == (PATH, 3, 6)
    assert e.message == "expected TCP flags (letters of SFRP.EWUC)"
    assert str(e) == "t.pkt:3:6: expected TCP flags (letters of SFRP.EWUC)"


def test_bad_flag_letter_after_a_good_one():
    e = error("0 close(3) = 0\n+0 < SX 0:0(0)")
    assert (e.path, e.line, e.column) == (PATH, 2, 7)


def test_missing_paren_after_length():
    e = error("+0 < S 0:0(0 win 3")
    assert (e.line, e.column) == (1, 14)
    assert e.message == "expected ')', found 'win 3'"


def test_length_disagrees_with_range():
    e = error("0 close(3) = 0\n+0 < S 0:10(5) win 3")
    assert (e.path, e.line) == (PATH, 2)
    assert e.message == "0:10 is 10 bytes, not 5"


def test_length_disagrees_with_range_column():
    e = error("+0 < S 0:10(5) win 3")
    assert e.column == 8


def test_unknown_option():
    e = error("+0 < S 0:0(0) <mss 1460,foo 3>")
    assert (e.line, e.column) == (1, 25)
    assert e.message == "unknown TCP option 'foo'"


def test_unknown_option_after_a_space():
    e = error("+0 < S 0:0(0) <mss 1460, foo 3>")
    assert (e.line, e.column) == (1, 26)


def test_endif_without_ifdef():
    e = error("0 close(3) = 0\n\n#endif\n")
    assert (e.path, e.line, e.column) == (PATH, 3, 1)
    assert e.message == "#endif without #ifdef"


def test_ifdef_without_endif():
    e = error("0 close(3) = 0\n#ifdef STANDARD\n+0 close(4) = 0\n")
    assert (e.path, e.line, e.column) == (PATH, 2, 1)
    assert e.message == "#ifdef without #endif"


def test_unterminated_backquote():
    e = error("0 close(3) = 0\n+0  `sysctl -w x=1\n")
    assert (e.path, e.line, e.column) == (PATH, 2, 5)
    assert e.message == "unterminated backquote"


@pytest.mark.parametrize(
    ("line", "column"),
    [
        ("+0 `ls` junk", 9),
        ("+0 %{ x = 1 }% junk", 16),
        ("+0 close(3) = -1 EBADF (Bad fd) junk", 33),
        ("+0 > . 1:1(0) ack 1 junk", 21),
    ],
)
def test_garbage_after_an_event(line, column):
    e = error(f"0 close(1) = 0\n{line}")
    assert (e.path, e.line, e.column) == (PATH, 2, column)
    assert e.message.startswith("unexpected 'junk'")


def test_parse_file_reports_the_file_path(tmp_path):
    path = tmp_path / "bad.pkt"
    path.write_text("--ip_version=ipv4\n0 < Z 0:0(0)\n")
    with pytest.raises(ScriptError) as info:
        parse_file(path)
    assert info.value.path == str(path)
    assert str(info.value).startswith(f"{path}:2:5: ")


# ----------------------------------------------------------------------
# The tcp-testsuite corpus
# ----------------------------------------------------------------------
def test_parses_the_tcp_testsuite():
    if not SUITE.is_dir():
        pytest.skip(f"{SUITE} is not there")
    paths = sorted(SUITE.rglob("*.pkt"))
    assert paths
    problems = []
    for path in paths:
        try:
            script = parse_file(path, defined=["STANDARD"])
        except Exception as exc:
            problems.append(f"{path}: {exc!r}")
            continue
        if not script.events or "ip_version" not in script.options:
            problems.append(f"{path}: {len(script.events)} events, options {script.options}")
    assert problems == []
