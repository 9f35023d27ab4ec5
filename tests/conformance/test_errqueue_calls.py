"""The error queue under --profile linux (conformance/errqueue_calls.py):
MSG_ZEROCOPY done by copying, with Linux's notifications once a write's bytes
are acknowledged, and SO_TIMESTAMPING's transmit timestamps. Each script of
our own must PASS, and a change to one of its lines must FAIL at that line."""

from __future__ import annotations

import textwrap

import pytest

from synack.conformance.profiles import LINUX
from synack.conformance.runtime import Runner, RunResult
from synack.conformance.script import parse_script

LISTEN = """\
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 setsockopt(3, SOL_SOCKET, SO_ZEROCOPY, [1], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
   +0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <...>
 +.01 < . 1:1(0) ack 1 win 257
   +0 accept(3, ..., ...) = 4
"""


def notification(low: int, high: int, level: str = "SOL_IP", kind: str = "IP_RECVERR") -> str:
    return (
        "recvmsg(4, {msg_name(...)=..., msg_iov(1)=[{...,0}], msg_flags=MSG_ERRQUEUE, "
        f"msg_control=[{{cmsg_level={level}, cmsg_type={kind}, "
        "cmsg_data={ee_errno=0, ee_origin=SO_EE_ORIGIN_ZEROCOPY, ee_type=0, "
        f"ee_code=SO_EE_CODE_ZEROCOPY_COPIED, ee_info={low}, ee_data={high}}}}}]}}, "
        "MSG_ERRQUEUE) = 0"
    )


EMPTY = (
    "recvmsg(4, {msg_name(...)=..., msg_iov(1)=[{...,0}], msg_flags=0}, MSG_ERRQUEUE) "
    "= -1 EAGAIN (Resource temporarily unavailable)"
)

# Two writes acknowledged before the queue is read share one range; a third,
# read alone, is the next number; nothing waits in the queue in between.
MERGED = f"""\
   +0 send(4, ..., 2000, MSG_ZEROCOPY) = 2000
   +0 > P. 1:2001(2000) ack 1 <...>
   +0 {EMPTY}
 +.01 < . 1:1(0) ack 2001 win 257
   +0 send(4, ..., 1000, MSG_ZEROCOPY) = 1000
   +0 > P. 2001:3001(1000) ack 1 <...>
 +.01 < . 1:1(0) ack 3001 win 257
   +0 poll([{{fd=4, events=POLLOUT, revents=POLLOUT|POLLERR}}], 1, 0) = 1
   +0 {notification(0, 1)}
   +0 poll([{{fd=4, events=POLLOUT, revents=POLLOUT}}], 1, 0) = 1
   +0 {EMPTY}
   +0 send(4, ..., 10, MSG_ZEROCOPY) = 10
   +0 > P. 3001:3011(10) ack 1 <...>
 +.01 < . 1:1(0) ack 3011 win 257
   +0 {notification(2, 2)}
"""


def run(body: str, mode: str = "ipv4", listen: str = LISTEN) -> RunResult:
    script = parse_script(listen + textwrap.dedent(body), "t.pkt", set(LINUX.defined))
    return Runner(script, LINUX, LINUX.mode(mode)).run()


def fails_at(body: str, old: str, new: str, listen: str = LISTEN) -> RunResult:
    """``body`` with ``old`` changed to ``new`` fails at the changed line."""
    changed = body.replace(old, new, 1)
    assert changed != body
    result = run(changed, listen=listen)
    lines = (listen + textwrap.dedent(changed)).splitlines()
    line = next(n for n, text in enumerate(lines, 1) if new in text)
    assert (result.status, result.line) == ("FAIL", line), result
    return result


def test_acknowledged_writes_are_notified_in_merged_ranges() -> None:
    assert run(MERGED).status == "PASS"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("ee_info=0, ee_data=1", "ee_info=0, ee_data=0"),  # not merged
        ("ee_info=2, ee_data=2", "ee_info=2, ee_data=3"),
        ("ee_code=SO_EE_CODE_ZEROCOPY_COPIED, ee_info=0", "ee_code=0, ee_info=0"),
        ("revents=POLLOUT|POLLERR", "revents=POLLOUT"),
    ],
)
def test_a_wrong_notification_fails_at_its_line(old: str, new: str) -> None:
    fails_at(MERGED, old, new)


def test_nothing_is_notified_before_the_ack() -> None:
    body = f"""\
       +0 send(4, ..., 2000, MSG_ZEROCOPY) = 2000
       +0 > P. 1:2001(2000) ack 1 <...>
       +0 {notification(0, 0)}
    """
    result = run(body)
    assert result.status == "FAIL" and "returned -1 EAGAIN" in result.message, result


def test_without_so_zerocopy_the_flag_is_ignored() -> None:
    listen = LISTEN.replace("   +0 setsockopt(3, SOL_SOCKET, SO_ZEROCOPY, [1], 4) = 0\n", "")
    body = f"""\
       +0 send(4, ..., 2000, MSG_ZEROCOPY) = 2000
       +0 > P. 1:2001(2000) ack 1 <...>
     +.01 < . 1:1(0) ack 2001 win 257
       +0 {EMPTY}
    """
    assert run(body, listen=listen).status == "PASS"
    fails_at(body, EMPTY, notification(0, 0), listen=listen)


def test_an_ipv6_socket_reports_ipv6_recverr() -> None:
    body = f"""\
       +0 send(4, ..., 100, MSG_ZEROCOPY) = 100
       +0 > P. 1:101(100) ack 1 <...>
     +.01 < . 1:1(0) ack 101 win 257
       +0 {notification(0, 0, "SOL_IPV6", "IPV6_RECVERR")}
    """
    for mode in ("ipv4-mapped-ipv6", "ipv6"):
        assert run(body, mode).status == "PASS", mode
    result = run(body, "ipv4")
    assert result.status == "FAIL" and "cmsg_level=0" in result.message, result


def test_a_write_before_connect_is_epipe_and_takes_no_number() -> None:
    client = """\
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 4
   +0 setsockopt(4, SOL_SOCKET, SO_ZEROCOPY, [1], 4) = 0
   +0 send(4, ..., 100, MSG_ZEROCOPY) = -1 EPIPE (Broken pipe)
   +0...0 connect(4, ..., ...) = 0
   +0 > S 0:0(0) <...>
   +0 < S. 0:0(0) ack 1 win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>
   +0 > . 1:1(0) ack 1
"""
    body = f"""\
       +0 send(4, ..., 100, MSG_ZEROCOPY) = 100
       +0 > P. 1:101(100) ack 1
     +.01 < . 1:1(0) ack 101 win 257
       +0 {notification(0, 0)}
    """
    assert run(body, listen=client).status == "PASS"
    fails_at(body, notification(0, 0), notification(1, 1), listen=client)


def timestamp(kind: str, key: int, at_ms: int) -> str:
    return (
        "recvmsg(4, {msg_name(...)=..., msg_iov(1)=[{...,0}], "
        "msg_flags=MSG_ERRQUEUE|MSG_TRUNC, msg_control=["
        f"{{cmsg_level=SOL_SOCKET, cmsg_type=SCM_TIMESTAMPING, "
        f"cmsg_data={{scm_sec=0, scm_nsec={at_ms * 1_000_000}}}}}, "
        "{cmsg_level=SOL_IP, cmsg_type=IP_RECVERR, "
        "cmsg_data={ee_errno=ENOMSG, ee_origin=SO_EE_ORIGIN_TIMESTAMPING, ee_type=0, "
        f"ee_code=0, ee_info={kind}, ee_data={key}}}}}]}}, MSG_ERRQUEUE) = 0"
    )


# The last byte of each write: sent (SCHED, then SND) at 10 ms, acknowledged
# at 20 and 30 ms; keys count from the first byte written after OPT_ID.
STAMPED = f"""   +0 setsockopt(4, SOL_SOCKET, SO_TIMESTAMPING, [SOF_TIMESTAMPING_TX_SCHED |
      SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_TX_ACK |
      SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_ID], 4) = 0
   +0 write(4, ..., 1000) = 1000
   +0 write(4, ..., 500) = 500
   +0 > P. 1:1001(1000) ack 1 <...>
   +0 > P. 1001:1501(500) ack 1 <...>
 +.01 < . 1:1(0) ack 1001 win 257
 +.01 < . 1:1(0) ack 1501 win 257
   +0 {timestamp("SCM_TSTAMP_SCHED", 999, 10)}
   +0 {timestamp("SCM_TSTAMP_SND", 999, 10)}
   +0 {timestamp("SCM_TSTAMP_SCHED", 1499, 10)}
   +0 {timestamp("SCM_TSTAMP_SND", 1499, 10)}
   +0 {timestamp("SCM_TSTAMP_ACK", 999, 20)}
   +0 {timestamp("SCM_TSTAMP_ACK", 1499, 30)}
   +0 {EMPTY}
"""


def test_transmit_timestamps_of_each_writes_last_byte() -> None:
    assert run(STAMPED).status == "PASS"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (timestamp("SCM_TSTAMP_ACK", 999, 20), timestamp("SCM_TSTAMP_ACK", 999, 30)),
        (timestamp("SCM_TSTAMP_SND", 999, 10), timestamp("SCM_TSTAMP_SND", 1000, 10)),
        (timestamp("SCM_TSTAMP_SCHED", 999, 10), timestamp("SCM_TSTAMP_SND", 999, 10)),
    ],
)
def test_a_wrong_timestamp_fails_at_its_line(old: str, new: str) -> None:
    fails_at(STAMPED, old, new)


def test_a_receive_timestamp_is_an_error_naming_it() -> None:
    body = "+0 setsockopt(4, SOL_SOCKET, SO_TIMESTAMPING, [SOF_TIMESTAMPING_RX_SOFTWARE], 4) = 0\n"
    result = run(body)
    assert result.status == "ERROR", result
    assert "SOF_TIMESTAMPING_RX_SOFTWARE is not emulated" in result.message


def test_opt_id_before_connect_is_einval() -> None:
    client = """\
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 4
   +0 setsockopt(4, SOL_SOCKET, SO_TIMESTAMPING, [SOF_TIMESTAMPING_OPT_ID], 4) = -1 EINVAL
   +0 setsockopt(4, SOL_SOCKET, SO_TIMESTAMPING, [SOF_TIMESTAMPING_SOFTWARE], 4) = 0
"""
    assert run("", listen=client).status == "PASS"
    result = run("", listen=client.replace("= -1 EINVAL", "= 0"))
    assert (result.status, result.line) == ("FAIL", 2), result
