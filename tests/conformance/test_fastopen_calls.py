"""Fast Open's system calls under --profile linux (conformance/fastopen_calls.py):
each in a small script of our own that must PASS, and a change to one of its
lines that must FAIL (or be an ERROR) at that line. The behaviour is Linux's
(net/ipv4/tcp_fastopen.c, tcp.c), the RFC 7413 sections cited per test."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from ipaddress import ip_address

from synack.conformance.profiles import LINUX
from synack.conformance.runtime import Runner, RunResult
from synack.conformance.script import parse_script
from synack.tcp.fastopen import make_cookie, parse_linux_key


def run(text: str) -> RunResult:
    text = textwrap.dedent(text)
    return Runner(parse_script(text, "t.pkt", set(LINUX.defined)), LINUX).run()


def assert_passes(text: str) -> None:
    result = run(text)
    assert result.status == "PASS", result


def assert_fails(
    text: str, old: str, new: str, *message: str, status: str = "FAIL", at: str | None = None
) -> None:
    """``text`` passes; with ``old`` changed to ``new``, it fails at the line
    changed (or at the line holding ``at``) saying each of ``message``."""
    assert_passes(text)
    changed = text.replace(old, new)
    assert changed != text
    result = run(changed)
    before, after = textwrap.dedent(text).splitlines(), textwrap.dedent(changed).splitlines()
    line = next(n for n, (a, b) in enumerate(zip(before, after, strict=False), 1) if a != b)
    if at is not None:
        line = next(n for n, text_line in enumerate(after, 1) if at in text_line)
    assert (result.status, result.line) == (status, line), result
    for part in message:
        assert part in result.message, result.message


# -- server: the listener's queue -------------------------------------------------
# No 0x400 in the sysctl: a listener takes Fast Open only with TCP_FASTOPEN,
# which Linux takes after listen() too (RFC 7413 5.1: the queue). 0x200: data
# on a SYN without a cookie is taken (TFO_SERVER_COOKIE_NOT_REQD).
QUEUE_AFTER_LISTEN = """\
    `sysctl -q net.ipv4.tcp_fastopen=0x202`
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
   +0 setsockopt(3, SOL_TCP, TCP_FASTOPEN, [2], 4) = 0
   +0 < S 0:1000(1000) win 32792 <mss 1460,sackOK,nop,nop>
   +0 > S. 0:0(0) ack 1001 <mss 1460,nop,nop,sackOK>
  +.1 accept(3, ..., ...) = 4
   +0 read(4, ..., 1024) = 1000
"""


def test_tcp_fastopen_after_listen_sets_the_queue() -> None:
    assert_fails(
        QUEUE_AFTER_LISTEN,
        "TCP_FASTOPEN, [2], 4) = 0",
        "TCP_FASTOPEN, [0], 4) = 0",
        "ack 1 (expected 1001)",
        at="> S. 0:0(0) ack 1001",
    )


def test_tcp_fastopen_needs_the_sysctl_server_bit() -> None:
    # Linux's tcp_try_fastopen: TFO_SERVER_ENABLE (0x2) is read when the SYN comes
    assert_fails(
        QUEUE_AFTER_LISTEN,
        "tcp_fastopen=0x202",
        "tcp_fastopen=0x201",
        "ack 1 (expected 1001)",
        at="> S. 0:0(0) ack 1001",
    )


def test_tcp_fastopen_with_a_negative_queue_is_einval() -> None:
    assert_fails(
        QUEUE_AFTER_LISTEN,
        "TCP_FASTOPEN, [2], 4) = 0",
        "TCP_FASTOPEN, [-1], 4) = 0",
        "EINVAL",
    )


# -- server: a child reset, closed, or never accepted ------------------------------
CHILD = """\
    `sysctl -q net.ipv4.tcp_fastopen=0x202`
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
   +0 setsockopt(3, SOL_TCP, TCP_FASTOPEN, [2], 4) = 0
   +0 < S 0:10(10) win 32792 <mss 1460,sackOK,nop,nop>
   +0 > S. 0:0(0) ack 11 <mss 1460,nop,nop,sackOK>
"""


def test_a_child_reset_before_accept_is_accepted_with_its_data_then_the_error() -> None:
    # RFC 7413 4.2.2: the child is in the accept queue from its SYN; Linux keeps
    # it there when reset, its SYN data readable before the error (tcp_recvmsg)
    script = (
        CHILD
        + """\
  +.1 < R. 11:11(0) win 257
  +.1 accept(3, ..., ...) = 4
   +0 read(4, ..., 512) = 10
   +0 read(4, ..., 512) = -1 ECONNRESET (Connection reset by peer)
   +0 read(4, ..., 512) = 0
"""
    )
    assert_fails(script, "= 10", "= 0", "read() returned 10, expected 0")
    assert_fails(script, "-1 ECONNRESET", "-1 ECONNREFUSED", "ECONNRESET")


def test_minus_one_without_an_errno_takes_any_errno() -> None:
    # packetdrill compares the errno only where the script names one
    script = (
        CHILD
        + """\
  +.1 accept(3, ..., ...) = 4
   +0 < R. 11:11(0) win 257
   +0 read(4, ..., 512) = 10
   +0 read(4, ..., 512) = -1
"""
    )
    assert_fails(script, "512) = -1", "512) = -1 EPIPE", "expected -1 EPIPE")


def test_close_with_unread_syn_data_sends_rst_ack() -> None:
    # Linux's tcp_send_active_reset acknowledges RCV.NXT (abort_rst_ack)
    script = (
        CHILD
        + """\
  +.1 accept(3, ..., ...) = 4
  +.1 close(4) = 0
   +0 > R. 1:1(0) ack 11
"""
    )
    assert_fails(script, "> R. 1:1(0) ack 11", "> R 1:1(0)", "flags R. (expected R)")


def test_closing_the_listener_resets_the_child_never_accepted() -> None:
    script = (
        CHILD
        + """\
  +.1 close(3) = 0
   +0 > R. 1:1(0) ack 11
"""
    )
    assert_fails(script, "+.1 close(3) = 0", "+.1 accept(3, ..., ...) = 4", "too late", at="> R.")


def test_an_icmp_error_before_accept_is_the_childs_error_after_its_data() -> None:
    # Linux's tcp_v4_err: the child not yet accepted closes with the error
    # (icmp_abort_in_syn_received), stays in the accept queue
    script = (
        CHILD
        + """\
  +.1 < icmp unreachable host_unreachable [0:10(10)]
   +0 accept(3, ..., ...) = 4
   +0 read(4, ..., 512) = 10
   +0 read(4, ..., 512) = -1 EHOSTUNREACH (No route to host)
   +0 write(4, ..., 100) = -1 EPIPE (Broken pipe)
  +.1 < . 1:1(0) ack 1 win 32792
   +0 > R 1:1(0)
"""
    )
    assert_fails(script, "-1 EHOSTUNREACH", "-1 ECONNRESET", "EHOSTUNREACH")


# -- a second listener: a fresh peer port, the script's fd reused ----------------------
SECOND_LISTENER = """\
    `sysctl -q net.ipv4.tcp_fastopen=0x70403`
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
   +0 < S 999000:999040(40) win 32792 <mss 1460,sackOK,nop,nop>
   +0 > S. 1234:1234(0) ack 999001 <mss 1460,nop,nop,sackOK>
   +0 < . 1:1(0) ack 1 win 100
   +0 accept(3, ..., ...) = 4
   +0 close(3) = 0
   +0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
   +0 < S 999000:999040(40) win 32792 <mss 1460,sackOK,nop,nop>
   +0 > S. 1234:1234(0) ack 999001 <mss 1460,nop,nop,sackOK>
   +0 < . 1:1(0) ack 1 win 100
   +0 accept(3, ..., ...) = 4
"""


def test_a_second_listener_gets_its_syn_from_a_fresh_port_and_fd_4_again() -> None:
    # packetdrill: a new peer port for each listener's first SYN (the first
    # connection, still open on fd 4, would answer the same 4-tuple with a
    # challenge ACK), and the script's fd 4 names the new socket
    # (with the old port the SYN would meet the first connection, which
    # answers with a challenge ACK; read(4) reads the new connection's data)
    script = (
        SECOND_LISTENER
        + """\
   +0 < P. 1:11(10) ack 1 win 100
   +0 read(4, ..., 512) = 10
"""
    )
    assert_fails(script, "read(4, ..., 512) = 10", "read(4, ..., 512) = 0", "returned 10")


# -- client: MSG_FASTOPEN and TCP_FASTOPEN_CONNECT ---------------------------------
# A first connection gets the cookie 0102030405060708 (RFC 7413 4.1.3); the
# peer's MSS is 1460, so a SYN carries at most 1420 bytes (Linux keeps 40
# bytes for options).
WARM = """\
    `sysctl -q net.ipv4.tcp_timestamps=0 net.ipv4.tcp_fastopen=1`
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 sendto(3, ..., 1000, MSG_FASTOPEN, ..., ...) = -1 EINPROGRESS (Operation now in progress)
   +0 > S 0:0(0) <mss 1460,nop,nop,sackOK,nop,wscale 7,FO,nop,nop>
   +0 sendto(3, ..., 1000, MSG_FASTOPEN, ..., ...) = -1 EALREADY (Operation already in progress)
   +0 write(3, ..., 1000) = -1 EAGAIN (Resource temporarily unavailable)
 +.01 < S. 0:0(0) ack 1 win 5840 <mss 1460,nop,nop,sackOK,nop,wscale 6,FO 0102030405060708,nop,nop>
   +0 > . 1:1(0) ack 1
   +0 close(3) = 0
   +0 > F. 1:1(0) ack 1
 +.01 < F. 1:1(0) ack 2 win 92
   +0 > . 2:2(0) ack 2
"""


def test_msg_fastopen_without_a_cookie_asks_for_one() -> None:
    # tcp_sendmsg_fastopen: no cookie, no data on the SYN, EINPROGRESS; the
    # connect in progress makes another MSG_FASTOPEN EALREADY, a write EAGAIN
    assert_fails(WARM, "= -1 EALREADY", "= 1000", "returned -1 EALREADY, expected 1000")
    assert_fails(WARM, "= -1 EAGAIN", "= 1000", "returned -1 EAGAIN, expected 1000")


def test_msg_fastopen_once_connected_is_a_send_or_eisconn() -> None:
    # __inet_stream_connect: a non-blocking connect left the socket
    # SS_CONNECTING, and finding the handshake over, the data goes as from a
    # write; a blocking call connected it (SS_CONNECTED): EISCONN
    script = (
        WARM.split("   +0 close(3)")[0]
        + """\
   +0 sendto(3, ..., 10, MSG_FASTOPEN, ..., ...) = 10
   +0 > P. 1:11(10) ack 1
 +.01 socket(..., SOCK_STREAM, IPPROTO_TCP) = 4
   +0...0.010 sendto(4, ..., 10, MSG_FASTOPEN, ..., ...) = 10
   +0 > S 0:10(10) <mss 1460,nop,nop,sackOK,nop,wscale 7,FO 0102030405060708,nop,nop>
 +.01 < S. 0:0(0) ack 11 win 5840 <mss 1460,nop,nop,sackOK,nop,wscale 6>
   +0 > . 11:11(0) ack 1
   +0 sendto(4, ..., 10, MSG_FASTOPEN, ..., ...) = -1 EISCONN (Already connected)
"""
    )
    assert_fails(script, "..., ...) = 10\n   +0 > P.", "..., ...) = -1 EISCONN\n   +0 > P.",
                 "returned 10, expected -1 EISCONN")  # fmt: skip
    assert_fails(script, "= -1 EISCONN (Already connected)", "= 10", "returned -1 EISCONN")


def test_an_empty_cookie_cache_sysctl_forgets_the_cookies() -> None:
    # net.ipv4.tcp_fastopen_cookies=0 (Google's kernels; the scripts fall back
    # to ip tcp_metrics flush): the next SYN asks for a cookie again
    script = (
        WARM
        + """\
 +.01 `sysctl -q net.ipv4.tcp_fastopen_cookies=0 net.ipv4.tcp_fastopen_cookies=10 ||\
       ip tcp_metrics flush all`
 +.01 socket(..., SOCK_STREAM, IPPROTO_TCP) = 4
   +0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 sendto(4, ..., 10, MSG_FASTOPEN, ..., ...) = -1 EINPROGRESS (Operation now in progress)
   +0 > S 0:0(0) <mss 1460,nop,nop,sackOK,nop,wscale 7,FO,nop,nop>
"""
    )
    assert_fails(script, "tcp_fastopen_cookies=0", "tcp_fastopen_cookies=9", "EINPROGRESS",
                 at="sendto(4")  # fmt: skip


def test_msg_fastopen_with_a_cookie_carries_data_on_the_syn() -> None:
    # RFC 7413 4.2: the cached cookie, and as much as fits (1420 of 2000)
    script = (
        WARM
        + """\
 +.01 socket(..., SOCK_STREAM, IPPROTO_TCP) = 4
   +0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 sendto(4, ..., 2000, MSG_FASTOPEN, ..., ...) = 1420
   +0 > S 0:1420(1420) <mss 1460,nop,nop,sackOK,nop,wscale 7,FO 0102030405060708,nop,nop>
 +.01 < S. 0:0(0) ack 1421 win 5840 <mss 1460,nop,nop,sackOK,nop,wscale 6>
   +0 > . 1421:1421(0) ack 1
   +0 %{ assert (tcpi_options & TCPI_OPT_SYN_DATA) != 0, tcpi_options }%
"""
    )
    assert_fails(script, ") = 1420", ") = 2000", "returned 1420, expected 2000")


def test_msg_fastopen_needs_the_client_bit_and_an_address() -> None:
    script = """\
    `sysctl -q net.ipv4.tcp_fastopen=2`
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 sendto(3, ..., 0, MSG_FASTOPEN, ..., ...) = -1 EOPNOTSUPP (Operation not supported)
   +0 setsockopt(3, SOL_TCP, TCP_FASTOPEN_CONNECT, [1], 4) = -1 EOPNOTSUPP (Not supported)
   +0 `sysctl -q net.ipv4.tcp_fastopen=3`
   +0 sendto(3, ..., 0, MSG_FASTOPEN, AF_UNSPEC, ...) = -1 EOPNOTSUPP (Operation not supported)
   +0 setsockopt(3, SOL_TCP, TCP_FASTOPEN_CONNECT, [2], 4) = -1 EINVAL (Invalid argument)
"""
    assert_fails(
        script, "tcp_fastopen=2`", "tcp_fastopen=3`", "EINPROGRESS", at="sendto(3, ..., 0, MSG_"
    )
    assert_fails(script, "AF_UNSPEC", "...", "EINPROGRESS")


def test_fastopen_connect_with_a_cookie_holds_the_syn_for_the_first_write() -> None:
    # TCP_FASTOPEN_CONNECT: connect() returns 0 at once (DEFER_CONNECT), the
    # first write's data rides on the SYN; connect() again is EISCONN
    script = (
        WARM
        + """\
 +.01 socket(..., SOCK_STREAM, IPPROTO_TCP) = 4
   +0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 setsockopt(4, SOL_TCP, TCP_FASTOPEN_CONNECT, [1], 4) = 0
   +0 connect(4, ..., ...) = 0
   +0 connect(4, ..., ...) = -1 EISCONN (Transport endpoint is already connected)
 +.01 write(4, ..., 2000) = 1420
   +0 > S 0:1420(1420) <mss 1460,nop,nop,sackOK,nop,wscale 7,FO 0102030405060708,nop,nop>
   +0 connect(4, ..., ...) = -1 EALREADY (Operation already in progress)
"""
    )
    assert_fails(script, "connect(4, ..., ...) = 0", "connect(4, ..., ...) = -1 EINPROGRESS",
                 "returned 0, expected -1 EINPROGRESS")  # fmt: skip
    assert_fails(script, "+.01 write(4, ..., 2000) = 1420", "+.01 write(4, ..., 0) = 0",
                 "returned -1 EINPROGRESS, expected 0")  # fmt: skip


def test_fastopen_connect_without_a_cookie_asks_at_once() -> None:
    script = """\
    `sysctl -q net.ipv4.tcp_timestamps=0 net.ipv4.tcp_fastopen=1`
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 setsockopt(3, SOL_TCP, TCP_FASTOPEN_CONNECT, [1], 4) = 0
   +0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
   +0 > S 0:0(0) <mss 1460,nop,nop,sackOK,nop,wscale 7,FO,nop,nop>
"""
    assert_fails(script, "= -1 EINPROGRESS", "= 0", "returned -1 EINPROGRESS, expected 0")


def test_a_blocking_msg_fastopen_returns_when_the_handshake_is_over() -> None:
    # the SYN takes 1420 bytes, the rest follows on the SYN,ACK's ACK, and the
    # call returns them all then (tcp_sendmsg_fastopen waits in
    # __inet_stream_connect)
    script = (
        WARM
        + """\
 +.01 socket(..., SOCK_STREAM, IPPROTO_TCP) = 4
   +0...0.020 sendto(4, ..., 1900, MSG_FASTOPEN, ..., ...) = 1900
   +0 > S 0:1420(1420) <mss 1460,nop,nop,sackOK,nop,wscale 7,FO 0102030405060708,nop,nop>
 +.02 < S. 0:0(0) ack 1421 win 5840 <mss 1460,nop,nop,sackOK,nop,wscale 6>
   +0 > P. 1421:1901(480) ack 1
"""
    )
    assert_fails(script, "+0...0.020 sendto", "+0...0.010 sendto", "returned at")


def test_cookie_less_mode_sends_data_without_an_option() -> None:
    # net.ipv4.tcp_fastopen's 0x4 (TFO_CLIENT_NO_COOKIE)
    script = """\
    `sysctl -q net.ipv4.tcp_timestamps=0 net.ipv4.tcp_fastopen=5`
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 sendto(3, ..., 1000, MSG_FASTOPEN, ..., ...) = 1000
   +0 > S 0:1000(1000) <mss 1460,nop,nop,sackOK,nop,wscale 7>
"""
    assert_fails(script, "tcp_fastopen=5", "tcp_fastopen=1", "EINPROGRESS", at="sendto(")


def test_only_the_socket_under_test_is_looked_at() -> None:
    # packetdrill sniffs the packets of the latest socket only: the FIN the
    # first connection sends at close() is never checked once socket() opens
    # the next one
    script = WARM.replace("   +0 > F. 1:1(0) ack 1\n +.01 < F. 1:1(0) ack 2 win 92\n", "")
    script = (
        script.replace("   +0 > . 2:2(0) ack 2\n", "")
        + """\
 +.01 socket(..., SOCK_STREAM, IPPROTO_TCP) = 4
   +0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 sendto(4, ..., 10, MSG_FASTOPEN, ..., ...) = 10
   +0 > S 0:10(10) <mss 1460,nop,nop,sackOK,nop,wscale 7,FO 0102030405060708,nop,nop>
"""
    )
    assert_passes(script)
    every_socket = replace(LINUX, sniff_socket_under_test=False)
    text = textwrap.dedent(script)
    result = Runner(parse_script(text, "t.pkt", set(LINUX.defined)), every_socket).run()
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "> S 0:10" in t)
    assert (result.status, result.line) == ("FAIL", line), result
    assert "F. 1:1(0)" in result.message


def test_an_echo_of_no_tsval_we_sent_counts_from_the_first_one() -> None:
    # Google packetdrill maps a TSecr it never saw from the first TSval mapped
    # (run_packet.c): ecr 9999 is our clock 9998 ticks after that SYN, which
    # Linux (syn_sent_check_tsecr) answers with a RST
    script = """\
    `sysctl -q net.ipv4.tcp_fastopen=0x5`
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 sendto(3, ..., 100, MSG_FASTOPEN, ..., ...) = 100
   +0 > S 0:100(100) <mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>
 +.01 < S. 0:0(0) ack 101 win 5840 <mss 1040,TS val 700 ecr 9999,sackOK,nop,wscale 6>
   +0 > R 101:101(0)
 +.01 < S. 0:0(0) ack 101 win 5840 <mss 1040,TS val 700 ecr 1,sackOK,nop,wscale 6>
   +0 > . 101:101(0) ack 1 <...>
"""
    assert_fails(script, "TS val 700 ecr 9999", "TS val 700 ecr 1", "flags . (expected R)",
                 at="> R 101")  # fmt: skip


def test_tcp_fastopen_key_is_the_listeners_own() -> None:
    # tcp_fastopen_reset_cipher with a socket: that listener's cookies (RFC
    # 7413 4.1.2) come from its key; the next listener has the sysctl's again
    key = bytes(range(16))
    mine = make_cookie("siphash", key, ip_address("192.0.2.1").packed,
                       ip_address("192.168.0.1").packed).hex()  # fmt: skip
    sysctl_key = parse_linux_key("a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4")[0]
    theirs = make_cookie("siphash", sysctl_key, ip_address("192.0.2.1").packed,
                         ip_address("192.168.0.1").packed).hex()  # fmt: skip
    escaped = "".join(f"\\x{b:02x}" for b in key)
    script = f"""\
    `sysctl -q net.ipv4.tcp_fastopen=0x70403
     sysctl -q net.ipv4.tcp_fastopen_key=a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4`
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
   +0 setsockopt(3, SOL_TCP, TCP_FASTOPEN_KEY, "{escaped}", 16) = 0
   +0 < S 0:0(0) win 32792 <mss 1460,sackOK,nop,nop,FO,nop,nop>
   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,FO {mine},nop,nop>
   +0 close(3) = 0
   +0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
   +0 < S 0:0(0) win 32792 <mss 1460,sackOK,nop,nop,FO,nop,nop>
   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,FO {theirs},nop,nop>
"""
    assert_fails(script, f"FO {theirs}", f"FO {mine}", "options")


def test_a_new_socket_on_a_closed_ones_fd_starts_afresh() -> None:
    # TCP_FASTOPEN_CONNECT was the old socket's: the new fd 4 connects the
    # ordinary way (a SYN without the option, EINPROGRESS)
    script = (
        WARM
        + """\
 +.01 socket(..., SOCK_STREAM, IPPROTO_TCP) = 4
   +0 setsockopt(4, SOL_TCP, TCP_FASTOPEN_CONNECT, [1], 4) = 0
   +0 connect(4, ..., ...) = 0
   +0 close(4) = 0
   +0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 4
   +0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 connect(4, ..., ...) = -1 EINPROGRESS (Operation now in progress)
   +0 > S 0:0(0) <mss 1460,nop,nop,sackOK,nop,wscale 7>
"""
    )
    changed = script.replace(
        "   +0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n",
        "   +0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n"
        "   +0 setsockopt(4, SOL_TCP, TCP_FASTOPEN_CONNECT, [1], 4) = 0\n",
    )
    assert_passes(script)
    result = run(changed)
    assert result.status == "FAIL" and "returned 0, expected -1 EINPROGRESS" in result.message
