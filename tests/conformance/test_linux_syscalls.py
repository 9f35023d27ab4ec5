"""The system calls and socket options of Linux's packetdrill scripts, under
--profile linux: each in a small script of our own that must PASS, and a
change to one of its lines that must FAIL (or be an ERROR) at that line."""

from __future__ import annotations

import textwrap

import pytest

from synack.conformance.profiles import LINUX
from synack.conformance.runtime import Runner, RunResult
from synack.conformance.script import parse_script

# A passive open: the peer's MSS is 1000, no timestamps; fd 4 is ESTABLISHED.
ACCEPTED = """\
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
   +0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <...>
 +.01 < . 1:1(0) ack 1 win 257
   +0 accept(3, ..., ...) = 4
"""


def run(body: str) -> RunResult:
    text = ACCEPTED + textwrap.dedent(body)
    return Runner(parse_script(text, "t.pkt", set(LINUX.defined)), LINUX).run()


def line_of(body: str, needle: str) -> int:
    text = ACCEPTED + textwrap.dedent(body)
    lines = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(lines) == 1, f"{needle!r} is on lines {lines}"
    return lines[0]


def assert_passes(body: str) -> None:
    result = run(body)
    assert result.status == "PASS", result


def assert_fails(
    body: str, old: str, new: str, *message: str, status: str = "FAIL", at: str | None = None
) -> None:
    """``body`` passes; with its line holding ``old`` changed to ``new``, it
    fails at that line (or at the line holding ``at``) saying each of ``message``."""
    assert_passes(body)
    changed = body.replace(old, new)
    assert changed != body
    result = run(changed)
    before = (ACCEPTED + textwrap.dedent(body)).splitlines()
    after = (ACCEPTED + textwrap.dedent(changed)).splitlines()
    line = next(n for n, (a, b) in enumerate(zip(before, after, strict=False), 1) if a != b)
    if at is not None:
        line = line_of(changed, at)
    assert (result.status, result.line) == (status, line), result
    for part in message:
        assert part in result.message, result.message


POLL = """\
   +0 < P. 1:1001(1000) ack 1 win 257
   +0 > . 1:1(0) ack 1001 <...>
   +0 ioctl(4, SIOCINQ, [1000]) = 0
   +0 poll([{fd=4, events=POLLIN|POLLOUT, revents=POLLIN|POLLOUT}], 1, 0) = 1
   +0 read(4, ..., 1000) = 1000
   +0 poll([{fd=4, events=POLLIN, revents=0}], 1, 0) = 0
   +0...0.100 poll([{fd=4, events=POLLIN, revents=0}], 1, 100) = 0
  +.1...0.150 poll([{fd=4, events=POLLIN, revents=POLLIN}], 1, 1000) = 1
  +.05 < P. 1001:1101(100) ack 1 win 257
   +0 ioctl(4, SIOCINQ, [100]) = 0
"""


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("revents=POLLIN|POLLOUT}], 1, 0) = 1", "revents=POLLIN}], 1, 0) = 1", "revents"),
        ("+0...0.100 poll(", "+0...0.090 poll(", "returned at"),
        ("ioctl(4, SIOCINQ, [100])", "ioctl(4, SIOCINQ, [99])", "SIOCINQ gave 100"),
    ],
)
def test_poll_readiness_timeouts_and_siocinq(old: str, new: str, message: str) -> None:
    assert_fails(POLL, old, new, message)


EPOLL = """\
   +0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 epoll_create(1) = 5
   +0 epoll_ctl(5, EPOLL_CTL_ADD, 4, {events=EPOLLIN|EPOLLOUT|EPOLLET, fd=4}) = 0
   +0 epoll_wait(5, {events=EPOLLOUT, fd=4}, 1, 0) = 1
   +0 epoll_wait(5, {events=0, ptr=0}, 1, 0) = 0
   +0 < P. 1:1001(1000) ack 1 win 257
   +0 > . 1:1(0) ack 1001 <...>
   +0 epoll_wait(5, {events=EPOLLIN|EPOLLOUT, fd=4}, 1, 0) = 1
   +0 epoll_wait(5, {events=0, ptr=0}, 1, 0) = 0
   +0 read(4, ..., 1000) = 1000
   +0 epoll_ctl(5, EPOLL_CTL_MOD, 4, {events=EPOLLOUT, ptr=7}) = 0
   +0 epoll_wait(5, {events=EPOLLOUT, ptr=7}, 1, 0) = 1
   +0 epoll_wait(5, {events=EPOLLOUT, ptr=7}, 1, 0) = 1
   +0 epoll_ctl(5, EPOLL_CTL_MOD, 4, {events=EPOLLOUT|EPOLLONESHOT, fd=4}) = 0
   +0 epoll_wait(5, {events=EPOLLOUT, fd=4}, 1, 0) = 1
   +0 epoll_wait(5, {events=0, fd=0}, 1, 0) = 0
   +0 epoll_ctl(5, EPOLL_CTL_ADD, 4, {events=EPOLLOUT, fd=4}) = -1 EEXIST (File exists)
   +0 epoll_ctl(5, EPOLL_CTL_DEL, 4, {events=0, fd=4}) = 0
   +0 epoll_ctl(5, EPOLL_CTL_DEL, 4, {events=0, fd=4}) = -1 ENOENT (No such file or directory)
   +0 epoll_ctl(5, EPOLL_CTL_ADD, 4, {events=EPOLLOUT, fd=4}) = 0
   +0 close(4) = 0
   +0 epoll_wait(5, {events=0, ptr=0}, 1, 0) = 0
   +0 close(5) = 0
"""


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        # edge triggered: reported once
        ("   +0 epoll_wait(5, {events=0, ptr=0}, 1, 0) = 0\n   +0 < P.",
         "   +0 epoll_wait(5, {events=EPOLLOUT, fd=4}, 1, 0) = 1\n   +0 < P.", "returned 0"),
        # level triggered: reported again
        ("{events=EPOLLOUT, ptr=7}, 1, 0) = 1\n   +0 epoll_ctl",
         "{events=0, ptr=0}, 1, 0) = 0\n   +0 epoll_ctl", "gave {events=EPOLLOUT, ptr=7}"),
        # the data given with the interest comes back
        ("epoll_wait(5, {events=EPOLLOUT, ptr=7}, 1, 0) = 1\n   +0 epoll_wait",
         "epoll_wait(5, {events=EPOLLOUT, ptr=8}, 1, 0) = 1\n   +0 epoll_wait", "ptr=7"),
        # EPOLLONESHOT: disabled once reported
        ("{events=0, fd=0}, 1, 0) = 0", "{events=EPOLLOUT, fd=4}, 1, 0) = 1", "returned 0"),
    ],
)  # fmt: skip
def test_epoll_level_edge_and_oneshot(old: str, new: str, message: str) -> None:
    assert_fails(EPOLL, old, new, message)


MESSAGES = """\
   +0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 < P. 1:1001(1000) ack 1 win 257
   +0 > . 1:1(0) ack 1001 <...>
   +0 recvmsg(4, {msg_name(...)=..., msg_iov(2)=[{..., 600}, {..., 100}], msg_flags=0}, 0) = 700
   +0 recv(4, ..., 1000, MSG_PEEK) = 300
   +0 recvfrom(4, ..., 1000, 0, ..., ...) = 300
   +0 read(4, ..., 1000) = -1 EAGAIN (Resource temporarily unavailable)
   +0 sendmsg(4, {msg_name(...)=..., msg_iov(3)=[{..., 100}, {..., 0}, {..., 200}],
                  msg_flags=0}, 0) = 300
   +0 > P. 1:301(300) ack 1001 <...>
   +0 write(4, NULL, 100) = -1 EFAULT (Bad address)
   +0 < . 1001:1001(0) ack 301 win 257
   +0 sendto(4, ..., 50, MSG_DONTWAIT, ..., ...) = 50
   +0 > P. 301:351(50) ack 1001 <...>
"""


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("{..., 600}, {..., 100}], msg_flags=0}, 0) = 700",
         "{..., 600}, {..., 100}], msg_flags=0}, 0) = 800", "returned 700"),
        ("recv(4, ..., 1000, MSG_PEEK) = 300", "recv(4, ..., 1000, MSG_PEEK) = 200",
         "returned 300"),
        ("1000) = -1 EAGAIN (Resource temporarily unavailable)", "1000) = -1 EINTR (Interrupted)",
         "EWOULDBLOCK"),
        ("{..., 0}, {..., 200}],", "{..., 0}, {..., 201}],", "returned 301"),
    ],
)  # fmt: skip
def test_sendmsg_recvmsg_and_flags(old: str, new: str, message: str) -> None:
    assert_fails(MESSAGES, old, new, message)


INQ = """\
   +0 setsockopt(4, SOL_TCP, TCP_INQ, [1], 4) = 0
   +0 getsockopt(4, SOL_TCP, TCP_INQ, [1], [4]) = 0
   +0 < P. 1:1001(1000) ack 1 win 257
   +0 > . 1:1(0) ack 1001 <...>
   +0 recvmsg(4, {msg_name(...)=..., msg_iov(1)=[{..., 400}], msg_flags=0,
                  msg_control=[{cmsg_level=SOL_TCP, cmsg_type=TCP_CM_INQ, cmsg_data=600}]}, 0) = 400
   +0 < F. 1001:1001(0) ack 1 win 257
   +0 > . 1:1(0) ack 1002 <...>
   +0 ioctl(4, SIOCINQ, [600]) = 0
   +0 recvmsg(4, {msg_name(...)=..., msg_iov(1)=[{..., 1000}], msg_flags=0,
                  msg_control=[{cmsg_level=SOL_TCP, cmsg_type=TCP_CM_INQ, cmsg_data=1}]}, 0) = 600
   +0 read(4, ..., 1000) = 0
"""


def test_tcp_inq_control_message_counts_the_fin_once_all_is_read() -> None:
    assert_fails(INQ, "cmsg_data=1}", "cmsg_data=0}", "TCP_CM_INQ gave 1", at="{..., 1000}")


def test_tcp_inq_control_message_counts_what_is_left() -> None:
    assert_fails(INQ, "cmsg_data=600}", "cmsg_data=1000}", "TCP_CM_INQ gave 600", at="{..., 400}")


def test_recvmsg_without_tcp_inq_has_no_control_message() -> None:
    body = INQ.replace("TCP_INQ, [1], 4) = 0", "TCP_INQ, [0], 4) = 0").replace(
        "TCP_INQ, [1], [4])", "TCP_INQ, [0], [4])"
    )
    result = run(body)
    assert result.status == "FAIL" and "no control message" in result.message, result


CORK = """\
   +0 setsockopt(4, SOL_TCP, TCP_NODELAY, [1], 4) = 0
   +0 setsockopt(4, SOL_TCP, TCP_CORK, [1], 4) = 0
   +0 getsockopt(4, SOL_TCP, TCP_CORK, [1], [4]) = 0
   +0 write(4, ..., 100) = 100
   +0 write(4, ..., 200) = 200
   +0 write(4, ..., 1500) = 1500
   +0 > . 1:1001(1000) ack 1 <...>
 +.05 setsockopt(4, SOL_TCP, TCP_CORK, [0], 4) = 0
   +0 > P. 1001:1801(800) ack 1 <...>
"""


def test_tcp_cork_holds_partial_segments_until_uncorked() -> None:
    # corked, the tail waits for as long as the cork stays
    assert_fails(CORK, " +.05 setsockopt(4, SOL_TCP, TCP_CORK, [0], 4) = 0",
                 " +.05 getsockopt(4, SOL_TCP, TCP_CORK, [1], [4]) = 0",
                 "too late for", at="1001:1801")  # fmt: skip


def test_without_cork_nodelay_sends_each_write() -> None:
    body = CORK.replace("TCP_CORK, [1], 4)", "TCP_CORK, [0], 4)").replace(
        "TCP_CORK, [1], [4])", "TCP_CORK, [0], [4])"
    )
    result = run(body)
    assert result.status == "FAIL" and "length 100 (expected 1000)" in result.message, result


NOTSENT = """\
   +0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 setsockopt(4, SOL_SOCKET, SO_SNDBUF, [50000], 4) = 0
   +0 getsockopt(4, SOL_TCP, TCP_NOTSENT_LOWAT, [0], [4]) = 0
   +0 setsockopt(4, SOL_TCP, TCP_NOTSENT_LOWAT, [4000], 4) = 0
   +0 getsockopt(4, SOL_TCP, TCP_NOTSENT_LOWAT, [4000], [4]) = 0
   +0 write(4, ..., 12000) = 12000
   +0 > P. 1:10001(10000) ack 1 <...>
   +0 %{ assert tcpi_notsent_bytes == 2000, tcpi_notsent_bytes }%
   +0 poll([{fd=4, events=POLLOUT, revents=0}], 1, 0) = 0
   +0...0.005 poll([{fd=4, events=POLLOUT, revents=POLLOUT}], 1, 1000) = 1
+.005 < . 1:1(0) ack 10001 win 257
   +0 > P. 10001:12001(2000) ack 1 <...>
"""


def test_notsent_lowat_poll_waits_until_the_unsent_bytes_are_few() -> None:
    # 2000 unsent, twice that is not below 4000: no POLLOUT yet
    assert_fails(NOTSENT, "revents=0}], 1, 0) = 0", "revents=POLLOUT}], 1, 0) = 1", "revents 0")


def test_notsent_lowat_above_twice_the_unsent_bytes_is_writable() -> None:
    body = NOTSENT.replace("[4000]", "[4001]")
    result = run(body)
    assert result.status == "FAIL" and result.line == line_of(body, "revents=0}], 1, 0)"), result


EOR = """\
   +0 write(4, ..., 10400) = 10400
   +0 send(4, ..., 400, MSG_EOR) = 400
   +0 send(4, ..., 300, MSG_EOR) = 300
   +0 write(4, ..., 2000) = 2000
   +0 > P. 1:10001(10000) ack 1 <...>
 +.01 < . 1:1(0) ack 10001 win 257
   +0 > P. 10001:10801(800) ack 1 <...>
   +0 > P. 10801:11101(300) ack 1 <...>
   +0 > P. 11101:13101(2000) ack 1 <...>
"""


def test_msg_eor_ends_segments_at_record_boundaries() -> None:
    # without MSG_EOR the 300 bytes and the 2000 after them share a segment
    assert_fails(EOR, "send(4, ..., 300, MSG_EOR)", "send(4, ..., 300, 0)", "length 2300",
                 at="10801:11101")  # fmt: skip


SHUT_RD = """\
   +0 < P. 1:101(100) ack 1 win 257
   +0 > . 1:1(0) ack 101 <...>
   +0 shutdown(4, SHUT_RD) = 0
   +0 poll([{fd=4, events=POLLIN|POLLRDHUP|POLLOUT, revents=POLLIN|POLLRDHUP|POLLOUT}], 1, 0) = 1
   +0 read(4, ..., 1000) = 100
   +0 read(4, ..., 1000) = 0
 +.05 < P. 101:201(100) ack 1 win 257
   +0 > . 1:1(0) ack 201 <...>
   +0 read(4, ..., 1000) = 100
   +0 read(4, ..., 1000) = 0
   +0 write(4, ..., 100) = 100
   +0 > P. 1:101(100) ack 201 <...>
"""


def test_shut_rd_reads_return_what_is_queued_then_zero_at_once() -> None:
    assert_fails(SHUT_RD, "   +0 read(4, ..., 1000) = 0\n +.05",
                 "   +0 read(4, ..., 1000) = -1 EAGAIN (Resource temporarily unavailable)\n +.05",
                 "returned 0")  # fmt: skip


OPTIONS = """\
   +0 setsockopt(4, SOL_SOCKET, SO_SNDBUF, [5000], 4) = 0
   +0 getsockopt(4, SOL_SOCKET, SO_SNDBUF, [10000], [4]) = 0
   +0 setsockopt(4, SOL_SOCKET, SO_RCVBUF, [6000], 4) = 0
   +0 getsockopt(4, SOL_SOCKET, SO_RCVBUF, [12000], [4]) = 0
   +0 getsockopt(4, SOL_TCP, TCP_MAXSEG, [1000], [4]) = 0
   +0 setsockopt(4, SOL_TCP, TCP_USER_TIMEOUT, [1500], 4) = 0
   +0 getsockopt(4, SOL_TCP, TCP_USER_TIMEOUT, [1500], [4]) = 0
   +0 setsockopt(4, SOL_TCP, TCP_KEEPIDLE, [30], 4) = 0
   +0 getsockopt(4, SOL_TCP, TCP_KEEPIDLE, [30], [4]) = 0
   +0 setsockopt(4, SOL_TCP, TCP_KEEPIDLE, [0], 4) = -1 EINVAL (Invalid argument)
   +0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 write(4, ..., 40000) = 26000
   +0 write(4, ..., 100) = -1 EAGAIN (Resource temporarily unavailable)
   +0 > P. 1:10001(10000) ack 1 <...>
"""


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("SO_SNDBUF, [10000], [4])", "SO_SNDBUF, [5000], [4])", "gave 10000"),
        ("SO_RCVBUF, [12000], [4])", "SO_RCVBUF, [6000], [4])", "gave 12000"),
        ("TCP_MAXSEG, [1000], [4])", "TCP_MAXSEG, [1460], [4])", "gave 1000"),
        ("TCP_USER_TIMEOUT, [1500], [4])", "TCP_USER_TIMEOUT, [1], [4])", "gave 1500"),
        ("write(4, ..., 40000) = 26000", "write(4, ..., 40000) = 40000", "returned 26000"),
    ],
)
def test_socket_options_and_a_doubled_send_buffer(old: str, new: str, message: str) -> None:
    assert_fails(OPTIONS, old, new, message)


def test_user_timeout_aborts_the_connection() -> None:
    # RFC 5482: the data stays unacknowledged 1.5 s, and the read that waits
    # for an answer fails then
    body = """\
       +0 setsockopt(4, SOL_TCP, TCP_USER_TIMEOUT, [1500], 4) = 0
       +0 getsockopt(4, SOL_TCP, TCP_USER_TIMEOUT, [1500], [4]) = 0
       +0 write(4, ..., 1000) = 1000
       +0 > P. 1:1001(1000) ack 1 <...>
       +0...1.500 read(4, ..., 1000) = -1 ETIMEDOUT (Connection timed out)
    """
    result = run(body)
    assert result.status == "PASS", result
    result = run(body.replace("[1500], 4)", "[3000], 4)").replace("[1500], [4]", "[3000], [4]"))
    assert result.status == "FAIL" and "still blocked" in result.message, result


TCP_INFO = """\
   +0 write(4, ..., 10000) = 10000
   +0 > P. 1:10001(10000) ack 1 <...>
   +0 %{
assert tcpi_state == TCP_ESTABLISHED, tcpi_state
assert tcpi_ca_state == TCP_CA_Open
assert tcpi_snd_cwnd == 10, tcpi_snd_cwnd
assert tcpi_snd_ssthresh == TCP_INFINITE_SSTHRESH
assert tcpi_unacked == 10
assert tcpi_snd_mss == 1000 and tcpi_advmss == 1460
assert tcpi_rtt == 10000, tcpi_rtt
assert tcpi_options & TCPI_OPT_SACK and tcpi_options & TCPI_OPT_WSCALE
assert tcpi_sacked == 0 and tcpi_lost == 0 and tcpi_retrans == 0
assert 0 <= tcpi_last_data_recv <= 10
}%
 +.01 < . 1:1(0) ack 1 win 257 <sack 2001:4001,nop,nop>
   +0 %{ assert tcpi_ca_state == TCP_CA_Disorder and tcpi_sacked == 2, tcpi_sacked }%
"""


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("tcpi_snd_cwnd == 10,", "tcpi_snd_cwnd == 10000,"),
        ("tcpi_rtt == 10000,", "tcpi_rtt == 10,"),
        ("tcpi_state == TCP_ESTABLISHED,", "tcpi_state == TCP_CLOSE,"),
        ("tcpi_sacked == 2,", "tcpi_sacked == 1,"),
        ("tcpi_unacked == 10\n", "tcpi_unacked == 10000\n"),
    ],
)
def test_tcp_info_in_linux_units(old: str, new: str) -> None:
    assert_passes(TCP_INFO)
    changed = TCP_INFO.replace(old, new)
    result = run(changed)
    assert result.status == "FAIL" and "is false" in result.message, result


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("+0 %{ assert tcpi_reord_seen == 0 }%", "tcp_info field tcpi_reord_seen is not emulated"),
        ("+0 %{ assert tcpi_delivery_rate == 1 }%",
         "tcp_info field tcpi_delivery_rate is not emulated"),
        ("+0 setsockopt(4, SOL_SOCKET, SO_TIMESTAMPING, [SOF_TIMESTAMPING_RX_SOFTWARE], 4) = 0",
         "SO_TIMESTAMPING SOF_TIMESTAMPING_RX_SOFTWARE is not emulated"),
        ("+0 setsockopt(4, SOL_TCP, TCP_MD5SIG, [1], 4) = 0",
         "TCP MD5 signatures (RFC 2385) is not implemented (out of scope)"),
        ("+0 splice(4, NULL, 5, NULL, 100, 0) = 100", "splice is not implemented (out of scope)"),
        ("+0 send(4, ..., 100, MSG_TRUNC) = 100", "MSG_TRUNC are not emulated"),
    ],
)  # fmt: skip
def test_what_is_out_of_scope_is_an_error_naming_it(line: str, message: str) -> None:
    body = f"   {line}\n"
    result = run(body)
    assert (result.status, result.line) == ("ERROR", line_of(body, line)), result
    assert message in result.message


def test_a_blocking_write_waits_for_room() -> None:
    body = """\
       +0 setsockopt(4, SOL_SOCKET, SO_SNDBUF, [5000], 4) = 0
       +0...0.020 write(4, ..., 40000) = 40000
       +0 > P. 1:10001(10000) ack 1 <...>
     +.01 < . 1:1(0) ack 10001 win 257
       +0 > P. 10001:26001(16000) ack 1 <...>
     +.01 < . 1:1(0) ack 26001 win 257
       +0 > P. 26001:40001(14000) ack 1 <...>
    """
    result = run(body)
    assert result.status == "PASS", result
    # 16000 queued after the first ACK: not writable yet (free less than half that)
    result = run(body.replace("+0...0.020 write", "+0...0.010 write"))
    assert result.status == "FAIL" and "returned at 0.030" in result.message, result


MORE = """\
   +0 setsockopt(4, SOL_TCP, TCP_NODELAY, [1], 4) = 0
   +0 sendmsg(4, {msg_name(...)=..., msg_iov(1)=[{..., 100}], msg_flags=0}, MSG_MORE) = 100
 +.01 send(4, ..., 200, MSG_MORE) = 200
 +.01 write(4, ..., 50) = 50
   +0 > P. 1:351(350) ack 1 <...>
 +.01 < . 1:1(0) ack 351 win 257
   +0 send(4, ..., 40, MSG_MORE) = 40
 +.2~+.25 > P. 351:391(40) ack 1 <...>
"""


def test_msg_more_holds_a_partial_segment_until_a_send_without_it() -> None:
    # the write without MSG_MORE lets the 350 bytes go
    assert_fails(MORE, " +.01 write(4, ..., 50) = 50", " +.01 send(4, ..., 50, MSG_MORE) = 50",
                 "too late for", at="P. 1:351(350)")  # fmt: skip


def test_msg_more_hold_ends_at_the_probe_timer() -> None:
    # nothing in flight: the probe timer (the RTO, at least 200 ms) sends it
    assert_fails(MORE, " +.2~+.25 > P. 351:391(40)", "   +0 > P. 351:391(40)", "too late for")


RCV_MSS = """\
   +0 %{ assert tcpi_rcv_mss == 536, tcpi_rcv_mss }%
   +0 < P. 1:501(500) ack 1 win 257
   +0 > . 1:1(0) ack 501 <...>
   +0 %{ assert tcpi_rcv_mss == 536, tcpi_rcv_mss }%
   +0 < P. 501:1301(800) ack 1 win 257
   +0 > . 1:1(0) ack 1301 <...>
   +0 %{ assert tcpi_rcv_mss == 800, tcpi_rcv_mss }%
   +0 < P. 1301:1401(100) ack 1 win 257
   +0 > . 1:1(0) ack 1401 <...>
   +0 %{ assert tcpi_rcv_mss == 800, tcpi_rcv_mss }%
"""


def test_tcpi_rcv_mss_is_the_largest_segment_received() -> None:
    # Linux's first guess is 536; a larger segment raises it, a smaller one does not
    assert_fails(RCV_MSS, "tcpi_rcv_mss == 800, tcpi_rcv_mss }%\n   +0 < P. 1301",
                 "tcpi_rcv_mss == 536, tcpi_rcv_mss }%\n   +0 < P. 1301", "is false")  # fmt: skip


# Linux's tcp_sendmsg: buffers of half the peer's largest window (here 32896:
# 16000 bytes, whole segments); the first is sent as far as cwnd allows (10
# segments), its unsent rest filled up again; a new one only while less than
# SO_SNDBUF is queued and fewer than TCP_NOTSENT_LOWAT bytes are unsent.
WRITES = """\
   +0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 setsockopt(4, SOL_SOCKET, SO_SNDBUF, [25000], 4) = 0
   +0 write(4, ..., 59000) = 58000
   +0 > P. 1:10001(10000) ack 1 <...>
   +0 write(4, ..., 1000) = -1 EAGAIN (Resource temporarily unavailable)
   +0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 5
   +0 setsockopt(5, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
"""


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        # one buffer past SO_SNDBUF, no more
        ("write(4, ..., 59000) = 58000", "write(4, ..., 59000) = 50000", "returned 58000"),
        # TCP_NOTSENT_LOWAT: no new buffer while 16000 wait unsent
        ("SO_SNDBUF, [25000], 4) = 0", "SO_SNDBUF, [25000], 4) = 0\n"
         "   +0 setsockopt(4, SOL_TCP, TCP_NOTSENT_LOWAT, [4000], 4) = 0", "returned 26000"),
    ],
)  # fmt: skip
def test_a_write_fills_buffers_as_linux(old: str, new: str, message: str) -> None:
    assert_passes(WRITES)
    result = run(WRITES.replace(old, new))
    assert result.status == "FAIL" and message in result.message, result


CHRONO = """\
   +0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 setsockopt(4, SOL_SOCKET, SO_SNDBUF, [5000], 4) = 0
   +0 write(4, ..., 40000) = 26000
   +0 > P. 1:10001(10000) ack 1 <...>
 +.01 < . 1:1(0) ack 10001 win 257
   +0 > P. 10001:26001(16000) ack 1 <...>
 +.01 %{
assert tcpi_busy_time == 20000, tcpi_busy_time
assert tcpi_sndbuf_limited == 10000, tcpi_sndbuf_limited
assert tcpi_rwnd_limited == 0, tcpi_rwnd_limited
}%
   +0 < . 1:1(0) ack 26001 win 0
 +.01 write(4, ..., 5000) = 5000
 +.01 %{
assert tcpi_busy_time == 30000, tcpi_busy_time
assert tcpi_sndbuf_limited == 10000, tcpi_sndbuf_limited
assert tcpi_rwnd_limited == 10000, tcpi_rwnd_limited
}%
"""


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("tcpi_busy_time == 20000,", "tcpi_busy_time == 10000,"),
        ("tcpi_sndbuf_limited == 10000, tcpi_sndbuf_limited\nassert tcpi_rwnd_limited == 0,",
         "tcpi_sndbuf_limited == 0, tcpi_sndbuf_limited\nassert tcpi_rwnd_limited == 0,"),
        ("tcpi_rwnd_limited == 10000,", "tcpi_rwnd_limited == 0,"),
        ("tcpi_busy_time == 30000,", "tcpi_busy_time == 40000,"),
    ],
)  # fmt: skip
def test_busy_and_limited_times(old: str, new: str) -> None:
    # busy from the write on; limited by the send buffer once all is sent and
    # the writer still wants room; idle once all is acknowledged; limited by
    # the peer's window when it closes on queued data
    assert_passes(CHRONO)
    result = run(CHRONO.replace(old, new))
    expression = new.split(",")[0]
    assert result.status == "FAIL" and f"%{{ {expression} }}% is false" in result.message, result


DELIVERED = """\
   +0 %{ assert tcpi_delivered == 1, tcpi_delivered }%
   +0 write(4, ..., 4000) = 4000
   +0 > P. 1:4001(4000) ack 1 <...>
 +.01 < . 1:1(0) ack 1 win 257 <sack 2001:3001,nop,nop>
   +0 %{ assert tcpi_delivered == 2, tcpi_delivered }%
   +0 < . 1:1(0) ack 4001 win 257
   +0 %{ assert tcpi_delivered == 5, tcpi_delivered }%
"""


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("tcpi_delivered == 1,", "tcpi_delivered == 0,"),  # the SYN,ACK counts
        ("tcpi_delivered == 2,", "tcpi_delivered == 1,"),  # a SACKed packet counts
        ("tcpi_delivered == 5,", "tcpi_delivered == 6,"),  # ... once
    ],
)
def test_tcpi_delivered_counts_packets_acknowledged_or_sacked(old: str, new: str) -> None:
    assert_fails(DELIVERED, old, new, f"%{{ {new.rstrip(',')} }}% is false")


# 2 is IP_PMTUDISC_DO
@pytest.mark.parametrize(("mode", "df"), [("IP_PMTUDISC_DONT", False), ("2", True)])
def test_ip_mtu_discover_sets_df(mode: str, df: bool) -> None:
    text = ACCEPTED + f"   +0 setsockopt(4, SOL_IP, IP_MTU_DISCOVER, [{mode}], 1) = 0\n"
    runner = Runner(parse_script(text, "t.pkt", set(LINUX.defined)), LINUX)
    assert runner.run().status == "PASS"
    conn = runner.sockets[4].conn
    assert conn is not None and conn.dont_fragment is df and conn.config.pmtud is df


def test_ip_tos_dscp_is_accepted_ecn_bits_are_not() -> None:
    assert_passes("   +0 setsockopt(4, SOL_IP, IP_TOS, [4], 1) = 0\n")
    result = run("   +0 setsockopt(4, SOL_IP, IP_TOS, [5], 1) = 0\n")
    assert result.status == "ERROR" and "ECN bits" in result.message, result


HANGUP = """\
   +0 < F. 1:1(0) ack 1 win 257
   +0 > . 1:1(0) ack 2 <...>
   +0 poll([{fd=4, events=POLLIN|POLLOUT|POLLRDHUP, revents=POLLIN|POLLOUT|POLLRDHUP}], 1, 0) = 1
   +0 < R. 2:2(0) ack 1 win 257
   +0 poll([{fd=4, events=POLLIN|POLLOUT|POLLRDHUP,
             revents=POLLIN|POLLOUT|POLLRDHUP|POLLERR|POLLHUP}], 1, 0) = 1
   +0 read(4, ..., 100) = -1 ECONNRESET (Connection reset by peer)
   +0 poll([{fd=4, events=POLLIN|POLLOUT, revents=POLLIN|POLLOUT|POLLHUP}], 1, 0) = 1
   +0 poll([{fd=9, events=POLLIN, revents=POLLNVAL}], 1, 0) = 1
"""


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # the peer's FIN: readable (EOF) and POLLRDHUP, still writable
        ("revents=POLLIN|POLLOUT|POLLRDHUP}]", "revents=POLLIN|POLLOUT}]"),
        # a reset: the error until read, hung up; "writable", as a write fails
        # at once (Linux reports POLLOUT once shut down for sending)
        (
            "revents=POLLIN|POLLOUT|POLLRDHUP|POLLERR|POLLHUP}]",
            "revents=POLLIN|POLLRDHUP|POLLERR|POLLHUP}]",
        ),
        ("revents=POLLIN|POLLOUT|POLLHUP}]", "revents=POLLIN|POLLOUT|POLLERR|POLLHUP}]"),
        ("revents=POLLNVAL}]", "revents=0}]"),
    ],
)
def test_poll_after_fin_and_reset(old: str, new: str) -> None:
    assert_passes(HANGUP)
    result = run(HANGUP.replace(old, new))
    assert result.status == "FAIL" and "revents" in result.message, result


SENT = """\
   +0 write(4, ..., 3000) = 3000
   +0 > P. 1:3001(3000) ack 1 <...>
 +.01 < . 1:1(0) ack 1001 win 257
   +0 %{
assert tcpi_segs_out == 4, tcpi_segs_out
assert tcpi_data_segs_out == 3, tcpi_data_segs_out
assert tcpi_bytes_sent == 3000 and tcpi_bytes_retrans == 0
}%
"""


def test_segments_and_bytes_sent() -> None:
    # the SYN,ACK and three MSS-sized pieces of one super-segment
    for old, new in (
        ("tcpi_segs_out == 4,", "tcpi_segs_out == 2,"),
        ("tcpi_data_segs_out == 3,", "tcpi_data_segs_out == 1,"),
    ):
        assert_fails(SENT, old, new, f"%{{ {new[:-1]} }}% is false", at="+0 %{")


def test_a_fast_open_send_from_a_null_buffer_is_efault() -> None:
    # its data is copied before anything is sent (the peer sees no SYN)
    body = """\
       +0 `sysctl -q net.ipv4.tcp_fastopen=1`
       +0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 5
       +0 fcntl(5, F_SETFL, O_RDWR|O_NONBLOCK) = 0
       +0 sendto(5, NULL, 1, MSG_FASTOPEN, ..., ...) = -1 EFAULT (Bad address)
       +0 sendto(5, ..., 1, MSG_FASTOPEN, ..., ...) = -1 EINPROGRESS (no cookie yet)
    """
    assert_fails(body, "sendto(5, NULL, 1, MSG_FASTOPEN, ..., ...) = -1 EFAULT (Bad address)",
                 "sendto(5, NULL, 0, MSG_FASTOPEN, ..., ...) = -1 EFAULT (Bad address)",
                 "returned -1 EINPROGRESS")  # fmt: skip


EDGE_IN = """\
   +0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 epoll_create(1) = 5
   +0 epoll_ctl(5, EPOLL_CTL_ADD, 4, {events=EPOLLIN|EPOLLET, fd=4}) = 0
   +0 epoll_wait(5, {events=0, ptr=0}, 1, 0) = 0
   +0 < P. 1:101(100) ack 1 win 257
   +0 > . 1:1(0) ack 101 <...>
   +0 epoll_wait(5, {events=EPOLLIN, fd=4}, 1, 0) = 1
   +0 epoll_wait(5, {events=0, ptr=0}, 1, 0) = 0
   +0 < P. 101:201(100) ack 1 win 257
   +0 > . 1:1(0) ack 201 <...>
   +0 epoll_wait(5, {events=EPOLLIN, fd=4}, 1, 0) = 1
"""


def test_edge_triggered_epollin_fires_again_on_new_data() -> None:
    # already readable, but each arrival is an edge (Linux wakes on every one)
    assert_fails(EDGE_IN, "ack 201 <...>\n   +0 epoll_wait(5, {events=EPOLLIN, fd=4}, 1, 0) = 1",
                 "ack 201 <...>\n   +0 epoll_wait(5, {events=0, ptr=0}, 1, 0) = 0",
                 "gave {events=EPOLLIN, fd=4}")  # fmt: skip
