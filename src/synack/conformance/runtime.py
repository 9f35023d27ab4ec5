"""Run a packetdrill script against a Host on a virtual clock.

The script plays the remote peer. ``<`` lines are built into segments and
handed to the Host; ``>`` lines are compared with what the Host sends, field
by field, within the script's time tolerance. System calls go to a small
socket layer over the Host API; ``sysctl``, ``sockstat`` and ``tcpdrop``
shell lines and ``%{ assert ... }%`` blocks are emulated.

Sequence numbers in a script are relative to each side's initial sequence
number: the remote ISN is ours to choose, the local one is learned from the
first SYN the Host sends. Timestamps the script sends go out as written; a
TS ecr in an inbound line names the value the Host sent (packetdrill's rule).
"""

from __future__ import annotations

import ast
import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from ipaddress import ip_address
from pathlib import Path
from typing import Any

from synack.conformance.errors import InterpreterError, ScriptFailure
from synack.conformance.errqueue_calls import ErrorQueue, ErrorQueueCalls
from synack.conformance.fastopen_calls import FastOpenCalls
from synack.conformance.file_calls import FileCalls, OpenFile
from synack.conformance.profiles import Profile, RunMode, SysctlError
from synack.conformance.script import (
    CodeSpec,
    Event,
    Expr,
    IcmpSpec,
    OptionSpec,
    PacketSpec,
    Script,
    ShellSpec,
    SyscallSpec,
)
from synack.conformance.shell import Effect, ShellError, emulate
from synack.conformance.structs import Array, StructError, Value, parse_expr
from synack.conformance.structs import Struct as StructValue
from synack.host import Host
from synack.tcp import errors as err
from synack.tcp.config import TcpConfig
from synack.tcp.connection import Connection
from synack.tcp.errors import TcpError
from synack.tcp.events import Connected, ConnectionAborted, ConnectionReset, DataReceived
from synack.tcp.fastopen import CookieCache
from synack.tcp.isn import FixedIsn
from synack.tcp.state import State
from synack.wire import seq as sq
from synack.wire.icmp import (
    ADDRESS_UNREACHABLE,
    FRAGMENTATION_NEEDED,
    HOST_UNREACHABLE,
    ICMP6_DEST_UNREACH,
    ICMP6_PACKET_TOO_BIG,
    ICMP6_TIME_EXCEEDED,
    ICMP_DEST_UNREACH,
    ICMP_TIME_EXCEEDED,
    NET_UNREACHABLE,
    NO_ROUTE,
    PORT_UNREACHABLE,
    PORT_UNREACHABLE6,
    PROTOCOL_UNREACHABLE,
    icmp_error,
)
from synack.wire.ip import DEFAULT_TTL, encode_packed
from synack.wire.segment import (
    ACK,
    CE,
    CWR,
    ECE,
    ECT_0,
    ECT_1,
    EOL,
    FIN,
    NOP,
    NOT_ECT,
    PSH,
    RST,
    SACK_PERMITTED,
    SYN,
    URG,
    FastOpen,
    FastOpenExp,
    MaxSegmentSize,
    Option,
    Sack,
    Segment,
    Timestamps,
    WindowScale,
    encode_options,
)

LOCAL_PORT = 8080  # what bind() gives a listening socket
REMOTE_PORT = 8080  # what connect() reaches
REMOTE_CLIENT_PORT = 40000  # the script's port when it connects to us
REMOTE_ISN = 0  # the script's ISN until its first SYN says another
LOCAL_ISN = 3_000_000_000  # the ISN the Host is given; scripts see it only as 0
DEFAULT_WINDOW = 65535
LATE_HORIZON = 60.0  # virtual seconds to look past a missed deadline for a late segment

_FLAG_BITS = {"S": SYN, "F": FIN, "R": RST, "P": PSH, ".": ACK, "E": ECE, "W": CWR, "U": URG}

# FreeBSD's names for the states, as sockstat and tcp_info give them.
_SOCKSTAT_NAMES = {
    State.CLOSED: "CLOSED", State.LISTEN: "LISTEN", State.SYN_SENT: "SYN_SENT",
    State.SYN_RECEIVED: "SYN_RCVD", State.ESTABLISHED: "ESTABLISHED",
    State.CLOSE_WAIT: "CLOSE_WAIT", State.FIN_WAIT_1: "FIN_WAIT_1", State.CLOSING: "CLOSING",
    State.LAST_ACK: "LAST_ACK", State.FIN_WAIT_2: "FIN_WAIT_2", State.TIME_WAIT: "TIME_WAIT",
}  # fmt: skip
# tcp_info's state numbers (FreeBSD's TCPS_*, in the order above)
_TCPI_NUMBER = {state: number for number, state in enumerate(_SOCKSTAT_NAMES)}
_TCPI_STATES = {f"TCPI_{name}": _TCPI_NUMBER[state] for state, name in _SOCKSTAT_NAMES.items()}
_TCPI_STATES["TCPI_SYN_RECEIVED"] = _TCPI_STATES["TCPI_SYN_RCVD"]
TCPI_OPT_TIMESTAMPS, TCPI_OPT_SACK, TCPI_OPT_WSCALE, TCPI_OPT_ECN = 1, 2, 4, 8
TCPI_OPT_SYN_DATA = 32  # Linux: the SYN's data was acknowledged (or accepted)

# The IP ECN codepoints a script's [tag] allows (RFC 3168 5); ect01 is either ECT.
_ECN_CODEPOINTS = {
    "noecn": (NOT_ECT,), "ect0": (ECT_0,), "ect1": (ECT_1,), "ect01": (ECT_0, ECT_1), "ce": (CE,),
}  # fmt: skip
_ECN_NAMES = {NOT_ECT: "not-ECT", ECT_1: "ECT(1)", ECT_0: "ECT(0)", CE: "CE"}

ERRNO = {
    "EPERM": 1, "ENOENT": 2, "EINTR": 4, "EIO": 5, "EBADF": 9, "EAGAIN": 35,
    "EWOULDBLOCK": 35, "EINPROGRESS": 36, "EALREADY": 37, "ENOTSOCK": 38,
    "EDESTADDRREQ": 39, "EINVAL": 22, "EPIPE": 32, "EADDRINUSE": 48, "EEXIST": 17, "EFAULT": 14,
    "ENETUNREACH": 51, "ECONNABORTED": 53, "ECONNRESET": 54, "EISCONN": 56,
    "ENOTCONN": 57, "ETIMEDOUT": 60, "ECONNREFUSED": 61, "EOPNOTSUPP": 45,
}  # fmt: skip

# Constants the socket calls of these scripts use (FreeBSD's values; only
# their names matter to the emulation).
SYMBOLS = {
    "AF_INET": 2, "AF_INET6": 28, "SOCK_STREAM": 1, "IPPROTO_TCP": 6, "SOL_SOCKET": 0xFFFF,
    "SO_REUSEADDR": 0x4, "SO_KEEPALIVE": 0x8, "SO_LINGER": 0x80, "SO_SNDBUF": 0x1001,
    "SO_RCVBUF": 0x1002, "SO_ERROR": 0x1007, "TCP_NODELAY": 1, "TCP_MAXSEG": 2,
    "TCP_NOPUSH": 4, "TCP_NOOPT": 8, "TCP_KEEPINIT": 128, "TCP_KEEPIDLE": 256,
    "TCP_KEEPINTVL": 512, "TCP_KEEPCNT": 1024, "F_GETFL": 3, "F_SETFL": 4, "O_RDWR": 2,
    "MSG_PEEK": 0x2, "MSG_DONTWAIT": 0x80, "SHUT_RD": 0, "SHUT_WR": 1, "SHUT_RDWR": 2,
    "MSG_EOR": 0x8, "MSG_NOSIGNAL": 0x20000, "POLLIN": 0x1, "POLLPRI": 0x2, "POLLOUT": 0x4,
    "POLLERR": 0x8, "POLLHUP": 0x10, "POLLNVAL": 0x20, "POLLRDNORM": 0x40, "POLLWRNORM": 0x4,
    "FIONREAD": 0x4004667F, "NULL": 0,
}  # fmt: skip


# What the Linux scripts use that synack does not implement, by name: an
# ERROR saying so (tests/conformance/linux-expected-failures.txt lists them).
_OUT_OF_SCOPE = {
    "TCP_MD5SIG": "TCP MD5 signatures (RFC 2385)",
}  # fmt: skip
_OUT_OF_SCOPE_CALLS = {"splice": "splice", "pipe": "splice (pipes)"}
# setsockopt options that set a count or a time in seconds
_COUNT_OPTIONS: dict[str, tuple[str, Callable[[int], Any]]] = {
    "TCP_KEEPIDLE": ("keepalive_idle", float), "TCP_KEEPINTVL": ("keepalive_interval", float),
    "TCP_KEEPCNT": ("keepalive_probes", int), "TCP_SYNCNT": ("syn_retries", int),
}  # fmt: skip
_RECV_FLAGS = ("MSG_PEEK", "MSG_DONTWAIT")
_GSO_MAX = 65536 - 1 - 320  # the most one buffer holds (gso_max_size less MAX_TCP_HEADER)
# MSG_FASTOPEN reaches _send only where fastopen_calls.py found nothing to
# do: on a socket whose connection is up, it is an ordinary send
_SEND_FLAGS = (
    "MSG_DONTWAIT", "MSG_EOR", "MSG_NOSIGNAL", "MSG_MORE", "MSG_FASTOPEN", "MSG_ZEROCOPY",
)  # fmt: skip

# Linux's names for the states (tcpi_state), and the tcp_info fields the
# engine does not keep, with why.
_LINUX_STATES = {
    State.ESTABLISHED: "TCP_ESTABLISHED", State.SYN_SENT: "TCP_SYN_SENT",
    State.SYN_RECEIVED: "TCP_SYN_RECV", State.FIN_WAIT_1: "TCP_FIN_WAIT1",
    State.FIN_WAIT_2: "TCP_FIN_WAIT2", State.TIME_WAIT: "TCP_TIME_WAIT", State.CLOSED: "TCP_CLOSE",
    State.CLOSE_WAIT: "TCP_CLOSE_WAIT", State.LAST_ACK: "TCP_LAST_ACK", State.LISTEN: "TCP_LISTEN",
    State.CLOSING: "TCP_CLOSING",
}  # fmt: skip
_LINUX_TCPI_UNKNOWN = {
    "tcpi_delivered_ce": "the engine does not count delivered packets",
    "tcpi_reord_seen": "the engine does not count reordering events",
    "tcpi_data_segs_in": "the engine does not count data segments apart",
    "tcpi_delivery_rate": "the engine does not estimate the delivery rate",
    "tcpi_pacing_rate": "the engine does not keep a pacing rate",
}

# The engine's reasons that a socket reports as ETIMEDOUT.
_TIMEOUTS = frozenset({err.USER_TIMEOUT, err.RETRANSMISSION_TIMEOUT, err.KEEPALIVE_TIMEOUT})


@dataclass
class Socket:
    fd: int
    config: TcpConfig
    nonblocking: bool = False
    bound_port: int | None = None
    listening: bool = False
    conn: Connection | None = None
    error: int = 0  # pending SO_ERROR
    closed: bool = False
    shut_wr: bool = False
    connected: bool = False  # the handshake completed
    shut_rd: bool = False  # shutdown(SHUT_RD): reads return 0 at once
    notsent_lowat: int = 0  # TCP_NOTSENT_LOWAT; 0: the sysctl's (no limit by default)
    inq: bool = False  # TCP_INQ: recvmsg carries a TCP_CM_INQ control message
    cork: bool = False  # TCP_CORK
    sndbuf: int | None = None  # SO_SNDBUF / SO_RCVBUF as getsockopt reports them
    rcvbuf: int | None = None
    user_mss: int | None = None  # TCP_MAXSEG set
    tail_start: int | None = None  # write_in_skbs: where the last buffer began
    nospace: bool = False  # a write found no room (Linux's SOCK_NOSPACE), until writable
    # the error queue: SO_ZEROCOPY's and SO_TIMESTAMPING's (errqueue_calls.py)
    errq: ErrorQueue = field(default_factory=ErrorQueue)


@dataclass
class Chrono:
    """Linux's chronograph of a connection's sending (tcp_info's busy time):
    which state it is in (1 busy, 2 limited by the peer's window, 3 limited
    by the send buffer; 0 idle), since when, and the time spent in each."""

    kind: int = 0
    since: float = 0.0
    spent: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0, 0.0])

    def move(self, kind: int, now: float) -> None:
        if kind != self.kind:
            self.spent[self.kind] += now - self.since
            self.kind, self.since = kind, now

    def total(self, kind: int, now: float) -> float:
        return self.spent[kind] + (now - self.since if kind == self.kind else 0.0)


@dataclass
class Interest:
    """One fd in an epoll set: the events asked for, the data returned with
    them, and for EPOLLET the readiness already reported."""

    events: int
    data: tuple[str, int]  # ("fd", n) or ("ptr", n): the epoll_data member set
    seen: int = 0  # EPOLLET: the bits ready at the last look
    pending: int = 0  # EPOLLET: bits that became ready since the last report
    received: int | None = None  # EPOLLET: RCV.NXT at the last look (new data wakes)
    errors: int = 0  # EPOLLET: error queue entries at the last look (each wakes)


@dataclass
class Epoll:
    fd: int
    interests: dict[int, Interest] = field(default_factory=dict)


@dataclass
class Blocked:
    """A blocking call waiting to return: it is retried after every event."""

    event: Event
    call: SyscallSpec
    started: float
    attempt: Callable[[], tuple[int, str | None] | None]
    end: float | None = None  # when the script says it returns
    wake: float | None = None  # when its own timeout (poll's) makes it return


@dataclass
class Sent:
    time: float
    segment: Segment


@dataclass
class RunResult:
    path: str
    status: str  # "PASS", "FAIL" or "ERROR"
    line: int = 0
    message: str = ""
    events: int = 0
    virtual_time: float = 0.0
    details: list[str] = field(default_factory=list)
    mode: str = ""  # the ip version it ran in


class Runner(FastOpenCalls, ErrorQueueCalls, FileCalls):
    def __init__(self, script: Script, profile: Profile, mode: RunMode | None = None) -> None:
        self.script = script
        self.profile = profile
        options = script.options
        mode = mode or profile.modes[0]
        version = options.get("ip_version")
        if version is not None and version != mode.name:
            try:
                mode = profile.mode(version)
            except ValueError as exc:
                raise InterpreterError(0, f"--ip_version={version}: {exc}") from None
        self.mode = mode
        # the script's own --local_ip / --remote_ip win over the mode's, and
        # their family too (packetdrill runs a script naming IPv4 addresses
        # over IPv4 whatever the mode)
        try:
            named = [ip_address(options[k]) for k in ("local_ip", "remote_ip") if k in options]
            if named and named[0].version != mode.ip_version:
                mode = next(m for m in profile.modes if m.ip_version == named[0].version)
                self.mode = mode
            self.local = ip_address(options.get("local_ip", mode.local_address))
            self.remote = ip_address(options.get("remote_ip", mode.remote_address))
        except ValueError as exc:
            raise InterpreterError(0, str(exc)) from None
        if self.local.version != self.remote.version:
            raise InterpreterError(0, "the script's local and remote addresses differ in family")
        self.local_packed, self.remote_packed = self.local.packed, self.remote.packed
        self.tolerance = int(options.get("tolerance_usecs", "4000")) / 1e6
        mtu = options.get("mtu")
        self.mtu = int(mtu) if mtu is not None else mode.mtu
        self.route: dict[str, int] = {}  # ip route metrics set: advmss, mtu, initcwnd
        self.offload: dict[str, bool] = {}  # ethtool -K: tso, gso
        self.event_end: float | None = None  # the current event's end time (a range's)
        self.code_names: dict[str, Any] = {}  # what %{ NAME = value }% blocks set
        self.remote_isn = REMOTE_ISN  # the script's ISN: what its SYN says
        self.fastopen_queue: dict[int, int] = {}  # fd -> TCP_FASTOPEN's queue length
        self.fastopen_connect: set[int] = set()  # fds with TCP_FASTOPEN_CONNECT
        self.fastopen_deferred: set[int] = set()  # connect() done, the SYN held for data
        self.fastopen_sizes: dict[int, int] = {}  # a blocked Fast Open write's return
        self.fastopen_connected: set[int] = set()  # SS_CONNECTED by a blocking call
        self.fastopen_keys: dict[int, tuple[Socket, bytes, bytes | None]] = {}  # by fd
        self.fastopen_owner: dict[int, Socket] = {}  # the socket the fd's Fast Open state is of
        self.sysctls: dict[str, str] = {}
        self.host = Host(
            self.local, self._config(), isn=FixedIsn(LOCAL_ISN), secret=b"conformance-key!",
        )  # fmt: skip
        self.now = 0.0
        self.sockets: dict[int, Socket] = {}
        self.sent: list[Sent] = []  # outbound segments not yet matched
        self.local_isn: int | None = None
        self.script_local_isn = 0  # the ISN our last SYN has in the script (Linux)
        self.local_port: int | None = None  # the Host's port in the script's connection
        self.remote_port = REMOTE_CLIENT_PORT
        self.ts_map: dict[int, int] = {}  # script TS val -> the value the Host sent
        self.last_ts_val: int | None = None
        self.blocked: list[Blocked] = []
        self.current: Socket | None = None  # the socket tcp_info describes
        self.owner: dict[Connection, Socket] = {}
        self.errno = dict(profile.errno) or ERRNO
        self.symbols = {**SYMBOLS, **profile.symbols}
        self.epolls: dict[int, Epoll] = {}
        self.files: dict[str, int] = {}  # file_calls.py: the shell's files, by path
        self.open_files: dict[int, OpenFile] = {}
        self.last_data_recv: dict[Connection, float] = {}  # tcpi_last_data_recv
        self.rcv_mss: dict[Connection, int] = {}  # tcpi_rcv_mss: the largest segment seen
        self.chronos: dict[Connection, Chrono] = {}  # tcpi_busy_time and the limited times
        self.sent_log: dict[Connection, list[Segment]] = {}  # each one's segments: tcpi_delivered
        self.pending_wake: float | None = None  # a blocking call's timeout (poll)
        self.progress: dict[int, int] = {}  # a blocking write's bytes so far, by event
        self.deadlines: dict[int, float | None] = {}  # a waiting poll's timeout, by event
        # the error of a connection reset before accept() took it (Linux keeps
        # the child in the accept queue, its sk_err set)
        self.unaccepted_error: dict[Connection, int] = {}
        self.listens = 0  # listen() calls so far

    def _settings(self) -> dict[str, Any]:
        """What the script's sysctls set (checked when they were set)."""
        return self.profile.settings_for(self.sysctls)

    def _config(self) -> TcpConfig:
        """The configuration a new socket gets: the profile's, with the script's
        sysctls, MTU and route metrics."""
        try:
            config = self.profile.config_for(self.sysctls, self.route.get("mtu", self.mtu))
        except SysctlError as exc:
            raise InterpreterError(0, str(exc)) from None
        if "advmss" in self.route:
            config = replace(config, mss=self.route["advmss"])
        if self.offload.get("tso") is False and self.offload.get("gso") is False:
            config = replace(config, segmentation_offload=0)  # ethtool -K ... tso off gso off
        if "initcwnd" in self.route:
            mss = config.advertised_mss(self.mode.ip_version)
            config = replace(config, initial_window=self.route["initcwnd"] * mss)
        return config

    # ------------------------------------------------------------------
    # The clock and the Host's output
    # ------------------------------------------------------------------
    def _collect(self) -> None:
        under_test = self.profile.sniff_socket_under_test
        for _, _, segment in self.host.segments_to_send(self.now):
            if under_test and (segment.src_port, segment.dst_port) != (
                self.local_port, self.remote_port,
            ):  # fmt: skip
                continue  # not the socket under test's: packetdrill never sees it
            self.sent.append(Sent(self.now, segment))
            self._log_sent(segment)
        self.errqueue_settle()  # timestamps and notifications of what just happened
        while (hev := self.host.next_event()) is not None:
            event = hev.event
            if isinstance(event, (Connected, DataReceived)):
                # Linux's lrcvtime: the handshake's end, then each data arrival
                self.last_data_recv[hev.connection] = self.now
            if isinstance(event, DataReceived):
                self._measure_rcv_mss(hev.connection, event.length)
            sock = self.owner.get(hev.connection)
            if sock is None:
                if isinstance(event, ConnectionReset) and hev.connection.passive:
                    self.unaccepted_error[hev.connection] = self.errno["ECONNRESET"]
                elif isinstance(event, ConnectionAborted) and event.error in self.errno:
                    # an ICMP error closed a Fast Open child before accept()
                    self.unaccepted_error[hev.connection] = self.errno[event.error]
                continue
            if isinstance(event, Connected):
                sock.connected = True
            elif isinstance(event, ConnectionReset):
                # sockets call a RST before the handshake completed a refusal;
                # a passive open's (a Fast Open child's) is a reset (tcp_reset)
                refused = "refused" in event.reason or not (
                    sock.connected or hev.connection.passive
                )
                sock.error = self.errno["ECONNREFUSED" if refused else "ECONNRESET"]
            elif isinstance(event, ConnectionAborted) and event.error in self.errno:
                # an ICMP error's errno (one that ended the attempt, or the
                # last soft one before a timeout: Linux's sk_err_soft)
                sock.error = self.errno[event.error]
            elif isinstance(event, ConnectionAborted) and event.reason in _TIMEOUTS:
                sock.error = self.errno["ETIMEDOUT"]

    def _advance(self, until: float, stop_on_output: bool = False) -> None:
        """Run timers up to ``until``; with ``stop_on_output``, stop at the first segment."""
        while True:
            self._collect()
            self._retry_blocked()
            if stop_on_output and self.sent:
                return
            deadline = self.host.get_timer()
            wake = min((b.wake for b in self.blocked if b.wake is not None), default=None)
            if wake is not None and (deadline is None or wake < deadline):
                deadline = wake  # a blocked poll's timeout
            if deadline is None or deadline > until:
                break
            self.now = max(self.now, deadline)
            self.host.handle_timer(self.now)
        self.now = max(self.now, until)
        self._collect()
        self._retry_blocked()

    # ------------------------------------------------------------------
    # The script
    # ------------------------------------------------------------------
    def run(self) -> RunResult:
        result = RunResult(self.script.path, "PASS")
        base = 0.0  # what relative times count from
        try:
            for event in self.script.events:
                spec = event.time
                if spec.kind == "untimed":
                    # an init or cleanup command: no time of its own
                    self._perform(event, self.now)
                    result.events += 1
                    continue
                if spec.kind == "absolute":
                    when = spec.value
                elif spec.kind == "relative":
                    when = base + spec.value
                else:
                    when = self.now
                self.event_end = spec.end_time(base, when) if spec.end is not None else None
                action = event.action
                if isinstance(action, PacketSpec) and action.direction == ">":
                    base = self._expect(event, action, when, spec.kind == "any")
                else:
                    self._advance(when)
                    self._check_unexpected(when, event)
                    self._perform(event, when)
                    base = when
                result.events += 1
            self._finish()
        except ScriptFailure as exc:
            result.status, result.line, result.message = "FAIL", exc.line, exc.message
        except InterpreterError as exc:
            result.status, result.line, result.message = "ERROR", exc.line, exc.message
        result.virtual_time = self.now
        return result

    def _finish(self) -> None:
        for blocked in list(self.blocked):
            end = self._end_time(blocked)
            self._advance(end + self.tolerance)
            if blocked in self.blocked:
                raise ScriptFailure(
                    blocked.event.line,
                    f"{blocked.call.name}() was still blocked at {self.now:.3f} s "
                    f"(expected to return at {end:.3f} s)",
                )
        # As in packetdrill, what the stack sends after the last line (a FIN after
        # a final close(), say) is not the script's business.

    def _check_unexpected(self, when: float, event: Event) -> None:
        """Segments sent before ``when`` less the tolerance were never expected
        (with packetdrill's rule, they are compared at the next '>' line)."""
        if not self.profile.unexpected_at_once:
            return
        for sent in self.sent:
            if sent.time < when - self.tolerance:
                raise ScriptFailure(
                    event.line,
                    f"unexpected outbound segment at {sent.time:.3f} s before line {event.line}: "
                    f"{self._describe(sent.segment)}",
                )

    # ------------------------------------------------------------------
    # Outbound: compare
    # ------------------------------------------------------------------
    def _expect(self, event: Event, spec: PacketSpec, when: float, any_time: bool) -> float:
        tolerance = self.tolerance
        latest = when + tolerance if not any_time else self.now + 3600.0
        if self.event_end is not None:
            latest = self.event_end + tolerance  # a window (start~end) for the segment
        self._advance(latest, stop_on_output=True)
        if not self.sent:
            # Look ahead a while to tell "late" from "never", then fail either way.
            self._advance(latest + LATE_HORIZON, stop_on_output=True)
            if self.sent:
                late = self.sent[0]
                raise ScriptFailure(
                    event.line,
                    f"segment sent at {late.time:.3f} s, too late for {event.text!r} "
                    f"(expected at {when:.3f} s +/- {tolerance * 1000:.0f} ms): "
                    f"{self._describe(late.segment)}",
                )
            raise ScriptFailure(
                event.line,
                f"expected {event.text!r} at {when:.3f} s; nothing was sent by {latest:.3f} s",
            )
        sent = self.sent.pop(0)
        if not any_time and sent.time < when - tolerance:
            raise ScriptFailure(
                event.line,
                f"segment sent at {sent.time:.3f} s, too early for {event.text!r} "
                f"(expected at {when:.3f} s +/- {tolerance * 1000:.0f} ms): "
                f"{self._describe(sent.segment)}",
            )
        self._compare(event, spec, sent.segment)
        return sent.time

    def _compare(self, event: Event, spec: PacketSpec, seg: Segment) -> None:
        differences = []
        flags = _flag_bits(spec.flags, event)
        if seg.flags != flags:
            differences.append(f"flags {_letters(seg.flags)} (expected {_letters(flags)})")
        if seg.flags & SYN and self.profile.remote_seq_from_syn:
            # Google packetdrill (socket.h): every SYN we send names our ISN, a
            # new connection's too; the script's ISN is what its line says, and
            # the segments without SYN count from the live ISN.
            self.local_isn, self.script_local_isn = seg.seq, spec.start or 0
            spec = replace(spec, start=0) if spec.start else spec
        elif seg.flags & SYN and (self.local_isn is None or spec.start is None):
            self.local_isn = sq.add(seg.seq, -(spec.start or 0))
        if self.local_port is None:
            self.local_port = seg.src_port
        local_isn = self.local_isn if self.local_isn is not None else 0
        if spec.start is not None:
            relative = sq.sub(seg.seq, local_isn)
            if relative != spec.start % (1 << 32):
                differences.append(f"seq {relative} (expected {spec.start})")
        if len(seg.payload) != spec.length:
            differences.append(f"length {len(seg.payload)} (expected {spec.length})")
        if spec.ack is not None:
            relative = sq.sub(seg.ack, self._ack_base(seg))
            if relative != spec.ack % (1 << 32):
                differences.append(f"ack {relative} (expected {spec.ack})")
        if spec.window is not None and seg.window != spec.window:
            differences.append(f"win {seg.window} (expected {spec.window})")
        if spec.urgent is not None and seg.urgent != spec.urgent:
            differences.append(f"urg {seg.urgent} (expected {spec.urgent})")
        if spec.ecn is not None and seg.ecn not in _ECN_CODEPOINTS[spec.ecn]:
            differences.append(f"IP ECN field {_ECN_NAMES[seg.ecn]} (expected {spec.ecn})")
        differences.extend(_ip_field_differences(spec, seg))
        actual_ts = next((o for o in seg.options if isinstance(o, Timestamps)), None)
        if spec.options != (OptionSpec("..."),):
            expected = self._outbound_options(spec.options or (), actual_ts, event)
            if encode_options(expected) != encode_options(seg.options):
                differences.append(
                    f"options <{self._options_text(seg.options)}> "
                    f"(expected <{self._options_text(expected)}>)"
                )
        if actual_ts is not None:
            self.last_ts_val = actual_ts.value
            for option in spec.options or ():
                if option.name == "TS":
                    self.ts_map[option.values[0]] = actual_ts.value
        if differences:
            raise ScriptFailure(
                event.line,
                f"outbound segment differs from line {event.line} ({event.text!r}): "
                + "; ".join(differences)
                + f"\n    expected: {event.text.split(maxsplit=1)[1]}"
                + f"\n    actual:   > {self._describe(seg)}",
            )

    def _outbound_options(
        self, specs: tuple[OptionSpec, ...], actual_ts: Timestamps | None, event: Event
    ) -> tuple[Option, ...]:
        """The options a ``>`` line states, with what is not checked taken from the
        segment: the TS val (our clock), as packetdrill does without --tcp_ts_tick_usecs."""
        options: list[Option] = []
        for spec in specs:
            if spec.name == "TS":
                val = actual_ts.value if actual_ts is not None else spec.values[0]
                options.append(Timestamps(val, spec.values[1]))
            elif spec.name == "sack":
                blocks = tuple(
                    (sq.add(self.remote_isn, a), sq.add(self.remote_isn, b)) for a, b in spec.blocks
                )
                options.append(Sack(blocks))
            else:
                options.append(_simple_option(spec, event))
        return tuple(options)

    # ------------------------------------------------------------------
    # Inbound: build and inject
    # ------------------------------------------------------------------
    def _inject(self, event: Event, spec: PacketSpec) -> None:
        if spec.start is None:
            raise InterpreterError(event.line, "an inbound segment needs its sequence numbers")
        if self.local_port is None:
            raise InterpreterError(event.line, "no socket to send this segment to")
        flags = _flag_bits(spec.flags, event)
        local_isn = self.local_isn if self.local_isn is not None else 0
        # As packetdrill: the script's SYN says its ISN (as written), and its
        # sequence numbers after that count from it.
        if flags & SYN and self.profile.remote_seq_from_syn:
            self.remote_isn = spec.start
        seq = sq.add(self.remote_isn, spec.start) if not flags & SYN else spec.start
        # an ACK written without "ack" acknowledges relative 0, as packetdrill has it
        if flags & SYN:  # packetdrill: a SYN's ack counts from the script's ISN
            local_isn = sq.sub(local_isn, self.script_local_isn)
        ack = sq.add(local_isn, spec.ack or 0) if spec.ack is not None or flags & ACK else 0
        options: list[Option] = []
        for option in spec.options or ():
            if option.name == "TS":
                val, ecr = option.values
                echoed = self.ts_map.get(ecr, self.last_ts_val if ecr else 0)
                scaled = self.profile.new_port_per_listen  # Google packetdrill's
                if ecr and ecr not in self.ts_map and self.ts_map and scaled:
                    # Google packetdrill (run_packet.c, tcp_ts_ecr_scaled): an
                    # echo of no TSval we sent counts from the first one mapped
                    script_val, live_val = next(iter(self.ts_map.items()))
                    echoed = (live_val + ecr - script_val) & 0xFFFFFFFF
                options.append(Timestamps(val, echoed or 0))
            elif option.name == "sack":
                blocks = tuple(
                    (sq.add(local_isn, a), sq.add(local_isn, b)) for a, b in option.blocks
                )
                options.append(Sack(blocks))
            elif option.name == "...":
                raise InterpreterError(event.line, "<...> is for outbound segments only")
            else:
                options.append(_simple_option(option, event))
        segment = Segment(
            self.remote_port, self.local_port, seq, ack, flags,
            spec.window if spec.window is not None else DEFAULT_WINDOW,
            urgent=spec.urgent or 0, options=tuple(options), payload=bytes(spec.length),
        )  # fmt: skip
        if spec.ecn is not None:
            segment.ecn = _ECN_CODEPOINTS[spec.ecn][0]
        if spec.tos is not None:
            segment.ecn = spec.tos & 3  # the DSCP bits change nothing TCP does
        packet = encode_packed(
            self.remote_packed, self.local_packed, segment,
            ttl=spec.ttl if spec.ttl is not None else DEFAULT_TTL,
            flow_label=spec.flow_label or 0,
        )  # fmt: skip
        self.host.receive_packet(packet, self.now)
        self._collect()
        for sock in self.sockets.values():
            if sock.conn is not None and sock.conn.local[1] == self.local_port:
                self.current = sock
        self._retry_blocked()

    def _inject_icmp(self, event: Event, spec: IcmpSpec) -> None:
        """An ICMP error from the peer's side about one of our segments: the
        quoted segment is ours (sequence numbers relative to our ISN)."""
        if self.local_port is None:
            raise InterpreterError(event.line, "no connection for this ICMP error to quote")
        icmp_type, code = _icmp_type_code(spec, self.mode.ip_version, event)
        local_isn = self.local_isn if self.local_isn is not None else 0
        quoted = Segment(
            self.local_port, self.remote_port, sq.add(local_isn, spec.start), 0, ACK, 0,
            payload=bytes(spec.length),
        )  # fmt: skip
        packet = encode_packed(self.local_packed, self.remote_packed, quoted)
        self.host.receive_packet(icmp_error(packet, icmp_type, code, spec.mtu or 0), self.now)
        self._collect()
        self._retry_blocked()

    # ------------------------------------------------------------------
    # Everything else
    # ------------------------------------------------------------------
    def _perform(self, event: Event, when: float) -> None:
        action = event.action
        if isinstance(action, PacketSpec):
            self._inject(event, action)
        elif isinstance(action, IcmpSpec):
            self._inject_icmp(event, action)
        elif isinstance(action, SyscallSpec):
            self._syscall(event, action, when)
        elif isinstance(action, ShellSpec):
            self._shell(event, action.command)
        elif isinstance(action, CodeSpec):
            self._code(event, action.code)

    # -- system calls ----------------------------------------------------
    def _syscall(self, event: Event, call: SyscallSpec, when: float) -> None:
        handled, outcome = self.fastopen_call(event, call)
        handler: Callable[..., Any] = self._fastopen_retry
        if not handled:
            found = getattr(self, f"_sys_{call.name}", None)
            if found is None:
                raise InterpreterError(event.line, f"system call {call.name}() is not emulated")
            handler = found
            outcome = handler(event, call)
        if outcome is None:  # it blocks
            if event.time.end is None:
                raise ScriptFailure(
                    event.line, f"{call.name}() would block, and the script gives no end time"
                )
            blocked = Blocked(
                event, call, when, lambda: handler(event, call, retry=True), self.event_end,
                self.pending_wake,
            )  # fmt: skip
            self.pending_wake = None
            self.blocked.append(blocked)
            return
        self.pending_wake = None
        if self.event_end is not None:
            self._check_end(event, self.event_end, when)
        self._check_result(event, call, outcome)
        self.errqueue_write(event, call, outcome[0])
        self._collect()

    def _retry_blocked(self) -> None:
        self._refresh_epolls()
        self._time_chronos()
        for blocked in list(self.blocked):
            outcome = blocked.attempt()
            if outcome is None:
                continue
            self.blocked.remove(blocked)
            self._check_end(blocked.event, self._end_time(blocked), self.now)
            self._check_result(blocked.event, blocked.call, outcome)
            self.errqueue_write(blocked.event, blocked.call, outcome[0])

    @staticmethod
    def _end_time(blocked: Blocked) -> float:
        assert blocked.end is not None
        return blocked.end

    def _check_end(self, event: Event, end: float, actual: float) -> None:
        if abs(actual - end) > self.tolerance:
            raise ScriptFailure(
                event.line,
                f"{event.text!r} returned at {actual:.3f} s, expected at {end:.3f} s "
                f"+/- {self.tolerance * 1000:.0f} ms",
            )

    def _check_result(
        self, event: Event, call: SyscallSpec, outcome: tuple[int, str | None]
    ) -> None:
        value, errno = outcome
        expected = self._value(call.result, event)
        # errnos compare by number: EAGAIN is EWOULDBLOCK
        table = self.errno
        same_errno = table.get(errno or "", errno) == table.get(call.errno or "", call.errno)
        # packetdrill checks the errno only where the script names one
        if value != expected or (expected == -1 and call.errno and not same_errno):
            got = f"{value}" + (f" {errno}" if errno else "")
            want = f"{expected}" + (f" {call.errno}" if call.errno else "")
            raise ScriptFailure(event.line, f"{call.name}() returned {got}, expected {want}")

    def _value(self, expr: Expr, event: Event) -> int:
        if expr.value is not None:
            return expr.value
        if expr.kind == "name":
            if expr.text in self.symbols:
                return self.symbols[expr.text]
            if expr.text in self.errno:
                return self.errno[expr.text]
            if expr.text == "O_NONBLOCK":
                return self.profile.o_nonblock
        if expr.kind == "or":
            total = 0
            for item in expr.items:
                total |= self._value(item, event)
            return total
        if expr.kind == "list" and len(expr.items) == 1:
            return self._value(expr.items[0], event)
        raise InterpreterError(event.line, f"cannot evaluate {expr.text!r}")

    def _socket(self, event: Event, expr: Expr) -> Socket:
        fd = self._value(expr, event)
        sock = self.sockets.get(fd)
        if sock is None:
            raise ScriptFailure(event.line, f"fd {fd} is not an open socket")
        return sock

    def _new_socket(self, event: Event, call: SyscallSpec) -> Socket:
        """A socket on the fd the script's result names (packetdrill maps the
        script's fds onto its own); else the lowest free one from 3."""
        fd: int | None = None
        if call.result.kind == "int" and call.result.value is not None:
            fd = call.result.value if call.result.value >= 0 else None
        # a script fd still open names the new socket from now on (packetdrill
        # maps a script's fd to the latest live one); the old one's connection
        # lives on in the Host
        if fd is None or fd in self.epolls or fd in self.open_files:
            fd = 3
            while fd in self.sockets or fd in self.epolls or fd in self.open_files:
                fd += 1
        sock = Socket(fd, self._config())
        self.sockets[fd] = sock
        return sock

    def _sys_socket(self, event: Event, call: SyscallSpec, retry: bool = False) -> Any:
        sock = self._new_socket(event, call)
        self.current = sock
        if self.profile.sniff_socket_under_test:
            # the new socket is the one under test: what the others sent and
            # no line matched is never looked at
            self.sent.clear()
            self.local_port = None
        return sock.fd, None

    def _sys_fcntl(self, event: Event, call: SyscallSpec, retry: bool = False) -> Any:
        sock = self._socket(event, call.args[0])
        command = call.args[1].text
        if command == "F_GETFL":
            o_rdwr = self.symbols["O_RDWR"]
            return o_rdwr | (self.profile.o_nonblock if sock.nonblocking else 0), None
        if command == "F_SETFL":
            flags = self._value(call.args[2], event)
            sock.nonblocking = bool(flags & self.profile.o_nonblock)
            return 0, None
        raise InterpreterError(event.line, f"fcntl {command} is not emulated")

    def _sys_setsockopt(self, event: Event, call: SyscallSpec, retry: bool = False) -> Any:
        sock = self._socket(event, call.args[0])
        name = call.args[2].text
        _refuse_out_of_scope(event, name)
        value = self._value(call.args[3], event)
        doubled = 2 if self.profile.sockbuf_doubled else 1
        if name in ("SO_REUSEADDR", "SO_MARK", "IP_FREEBIND"):
            pass  # ports are free to reuse, nothing routes by mark, any address binds
        elif name == "SO_ZEROCOPY":
            sock.errq.zerocopy = bool(value)
        elif name == "SO_TIMESTAMPING":
            refused = self.set_timestamping(event, sock, value)
            if refused is not None:
                return -1, refused
        elif name == "SO_RCVBUF":
            sock.rcvbuf = value * doubled
            self._configure(sock, recv_buffer=value)
        elif name == "SO_SNDBUF":
            sock.sndbuf = value * doubled
            self._configure(sock, send_buffer=sock.sndbuf)
            if sock.conn is not None:
                sock.conn.send_buf.capacity = sock.sndbuf
        elif name == "SO_KEEPALIVE":
            self._configure(sock, keepalive=bool(value))
        elif name == "TCP_NODELAY":
            self._configure(sock, nodelay=bool(value))
        elif name == "TCP_NOOPT":
            if value:
                self._configure(sock, tcp_options=False)
        elif name == "TCP_KEEPINIT":
            self._configure(sock, connect_timeout=float(value))
        elif name == "TCP_MAXSEG":
            sock.user_mss = value
            self._configure(sock, mss=value)
        elif name in ("TCP_KEEPIDLE", "TCP_KEEPINTVL", "TCP_KEEPCNT", "TCP_SYNCNT"):
            if value < 1:
                return -1, "EINVAL"
            field_name, kind = _COUNT_OPTIONS[name]
            changes: dict[str, Any] = {field_name: kind(value)}
            if name == "TCP_SYNCNT":  # as the sysctl tcp_syn_retries
                changes["syn_r2"] = float((1 << (value + 1)) - 1)
            self._configure(sock, **changes)
        elif name == "TCP_USER_TIMEOUT":
            # RFC 5482: how long sent data may stay unacknowledged, in ms; 0: the default
            if value < 0:
                return -1, "EINVAL"
            self._configure(sock, user_timeout=value / 1000 if value else None)
        elif name == "TCP_CORK":
            sock.cork = bool(value)
            if sock.conn is not None:
                sock.conn.set_cork(sock.cork)
        elif name == "TCP_NOTSENT_LOWAT":
            sock.notsent_lowat = value & 0xFFFFFFFF
        elif name == "TCP_INQ":
            sock.inq = bool(value)
        elif name == "IP_MTU_DISCOVER":
            # IP_PMTUDISC_DONT: no DF, no path MTU discovery; the others: both
            pmtud = value != self.symbols.get("IP_PMTUDISC_DONT", 0)
            self._configure(sock, pmtud=pmtud)
            if sock.conn is not None:
                sock.conn.dont_fragment = pmtud
        elif name == "IP_TOS":
            if value & 3:
                raise InterpreterError(
                    event.line, "IP_TOS with ECN bits is not emulated (ECN is TCP's to set)"
                )
            # the DSCP bits change nothing TCP does: no packet here is routed by them
        else:
            raise InterpreterError(event.line, f"setsockopt {name} is not emulated")
        self._collect()
        return 0, None

    def _configure(self, sock: Socket, **changes: Any) -> None:
        """Change a socket's settings, and its connection's or listener's too."""
        sock.config = replace(sock.config, **changes)
        conn = sock.conn
        if conn is not None:
            conn.config = replace(conn.config, **changes)
            if conn.on_wakeup is not None:
                conn.on_wakeup(conn)  # TCP_NODELAY and the like may let data out
        if sock.listening and sock.bound_port is not None:
            listener = self.host.listeners.get(sock.bound_port)
            if listener is not None:
                listener.config = sock.config

    def _sys_getsockopt(self, event: Event, call: SyscallSpec, retry: bool = False) -> Any:
        sock = self._socket(event, call.args[0])
        name = call.args[2].text
        _refuse_out_of_scope(event, name)
        cfg = sock.conn.config if sock.conn is not None else sock.config
        actual: int
        if name == "SO_ERROR":
            actual = sock.error
            sock.error = 0
        elif name == "SO_RCVBUF":
            if sock.rcvbuf is not None:
                actual = sock.rcvbuf
            else:
                actual = sock.conn.recv_buffer if sock.conn is not None else cfg.recv_buffer
        elif name == "SO_SNDBUF":
            actual = sock.sndbuf if sock.sndbuf is not None else cfg.send_buffer
        elif name == "SO_KEEPALIVE":
            actual = int(cfg.keepalive)
        elif name == "TCP_NODELAY":
            actual = int(cfg.nodelay)
        elif name == "TCP_MAXSEG":
            actual = self._maxseg(sock)
        elif name == "TCP_KEEPIDLE":
            actual = int(cfg.keepalive_idle)
        elif name == "TCP_KEEPINTVL":
            actual = int(cfg.keepalive_interval)
        elif name == "TCP_KEEPCNT":
            actual = cfg.keepalive_probes
        elif name == "TCP_SYNCNT":
            actual = cfg.syn_retries
        elif name == "TCP_USER_TIMEOUT":
            actual = round((cfg.user_timeout or 0) * 1000)
        elif name == "TCP_CORK":
            actual = int(sock.cork)
        elif name == "TCP_NOTSENT_LOWAT":
            actual = sock.notsent_lowat
        elif name == "TCP_INQ":
            actual = int(sock.inq)
        else:
            raise InterpreterError(event.line, f"getsockopt {name} is not emulated")
        return self._reported(event, f"getsockopt {name}", actual, call.args[3])

    def _reported(self, event: Event, what: str, actual: int, written: Expr) -> tuple[int, None]:
        """A value a call hands back (getsockopt's, ioctl's) against the script's."""
        expected = self._value(written, event)
        if actual != expected:
            raise ScriptFailure(event.line, f"{what} gave {actual}, expected {expected}")
        return 0, None

    def _maxseg(self, sock: Socket) -> int:
        """TCP_MAXSEG as Linux reports it: the current send MSS of a connection
        (less the timestamp option), else the MSS set, else the default 536."""
        conn = sock.conn
        if conn is not None and conn.state not in (State.CLOSED, State.SYN_SENT, State.LISTEN):
            return conn.mss_payload()
        return sock.user_mss if sock.user_mss is not None else 536

    def _sys_ioctl(self, event: Event, call: SyscallSpec, retry: bool = False) -> Any:
        sock = self._socket(event, call.args[0])
        request = call.args[1].text
        conn = sock.conn
        if sock.listening:
            return -1, "EINVAL"
        if request in ("SIOCINQ", "FIONREAD"):
            actual = conn.receive_queued if conn is not None else 0  # the FIN not counted
        elif request == "SIOCOUTQ":
            actual = conn.send_queued if conn is not None else 0
        elif request == "SIOCOUTQNSD":
            actual = _unsent(conn) if conn is not None else 0
        else:
            raise InterpreterError(event.line, f"ioctl {request} is not emulated")
        return self._reported(event, f"ioctl {request}", actual, call.args[2])

    def _sys_bind(self, event: Event, call: SyscallSpec, retry: bool = False) -> Any:
        sock = self._socket(event, call.args[0])
        sock.bound_port = LOCAL_PORT
        self.local_port = LOCAL_PORT
        return 0, None

    def _sys_listen(self, event: Event, call: SyscallSpec, retry: bool = False) -> Any:
        sock = self._socket(event, call.args[0])
        port = sock.bound_port or LOCAL_PORT
        # net.ipv4.tcp_fastopen's 0x400: every listener has a Fast Open queue
        queue = self._fastopen_queue_of(sock) or self._settings().get("_fastopen_queue", 0)
        listener = self.host.listen(
            port, self._value(call.args[1], event), sock.config, now=self.now, fastopen=queue
        )
        self._fastopen_listening(sock, listener)
        sock.listening = True
        self.local_port = port
        self.remote_port = REMOTE_CLIENT_PORT
        if self.profile.new_port_per_listen:
            self.remote_port += self.listens  # packetdrill: a new peer port each listener
        self.listens += 1
        self.current = sock
        return 0, None

    def _sys_accept(self, event: Event, call: SyscallSpec, retry: bool = False) -> Any:
        sock = self._socket(event, call.args[0])
        if not sock.listening or sock.bound_port is None:
            return -1, "EINVAL"
        conn = self.host.accept(sock.bound_port)
        if conn is None:
            return (-1, "EWOULDBLOCK") if sock.nonblocking else None
        new = self._new_socket(event, call)
        new.config = conn.config
        # socket flags are the listener's (sk_clone_lock)
        new.errq.zerocopy, new.errq.tsflags = sock.errq.zerocopy, sock.errq.tsflags
        new.conn = conn
        new.connected = True
        new.error = self.unaccepted_error.pop(conn, 0)
        self.owner[conn] = new
        self.current = new
        return new.fd, None

    def _open_connection(
        self, sock: Socket, fastopen: bool = False, defer: bool = False, data: bytes = b""
    ) -> None:
        """connect(): the Host's active open for ``sock``, to the script's peer."""
        conn = self.host.connect(
            (self.remote, REMOTE_PORT), self.now, local_port=sock.bound_port,
            config=sock.config, fastopen=fastopen, data=data, defer=defer,
        )  # fmt: skip
        sock.conn = conn
        self.owner[conn] = sock
        self.current = sock
        self.local_port = conn.local[1]
        self.remote_port = REMOTE_PORT

    def _sys_connect(self, event: Event, call: SyscallSpec, retry: bool = False) -> Any:
        sock = self._socket(event, call.args[0])
        if retry:
            return self._connect_outcome(sock)
        if sock.conn is not None:
            return -1, "EALREADY" if sock.conn.state is State.SYN_SENT else "EISCONN"
        conn = self.host.connect(
            (self.remote, REMOTE_PORT), self.now, local_port=sock.bound_port,
            config=sock.config,
        )  # fmt: skip
        sock.conn = conn
        self.owner[conn] = sock
        self.current = sock
        self.local_port = conn.local[1]
        self.remote_port = REMOTE_PORT
        self._collect()
        if sock.nonblocking:
            return -1, "EINPROGRESS"
        return self._connect_outcome(sock)

    def _connect_outcome(self, sock: Socket) -> tuple[int, str | None] | None:
        conn = sock.conn
        assert conn is not None
        if conn.state in (State.SYN_SENT, State.SYN_RECEIVED):
            return None
        if sock.error:
            errno = sock.error
            sock.error = 0
            return -1, self._errno_name(errno)
        return 0, None

    def _sys_read(self, event: Event, call: SyscallSpec, retry: bool = False) -> Any:
        return self._receive(event, call, self._value(call.args[2], event), 0, call.args[1])

    def _sys_recv(self, event: Event, call: SyscallSpec, retry: bool = False) -> Any:
        flags = self._value(call.args[3], event) if len(call.args) > 3 else 0
        return self._receive(event, call, self._value(call.args[2], event), flags, call.args[1])

    _sys_recvfrom = _sys_recv

    def _sys_recvmsg(self, event: Event, call: SyscallSpec, retry: bool = False) -> Any:
        sock = self._socket(event, call.args[0])
        flags = self._flags(event, call.args[2])
        if flags & self.symbols.get("MSG_ERRQUEUE", 0):
            return self.errqueue_recvmsg(event, call, sock)
        msg = self._msghdr(event, call.args[1])
        size = self._iov_length(event, msg)
        outcome = self._receive(event, call, size, flags, None)
        if outcome is None or outcome[0] < 0:
            return outcome
        flags_expr = msg.get("msg_flags")
        if isinstance(flags_expr, Expr) and flags_expr.kind != "ellipsis":
            expected = self._value(flags_expr, event)
            if expected != 0:
                raise ScriptFailure(event.line, f"recvmsg() msg_flags 0, expected {expected}")
        self._check_inq(event, sock, msg.get("msg_control"))
        return outcome

    def _check_inq(self, event: Event, sock: Socket, control: Value | None) -> None:
        """TCP_INQ: recvmsg returns a TCP_CM_INQ message with the bytes left to
        read (and 1 once the peer's FIN is in and nothing is left, as Linux)."""
        wanted: list[StructValue] = []
        if isinstance(control, Array):
            wanted = [item for item in control.items if isinstance(item, StructValue)]
        elif isinstance(control, StructValue):
            wanted = [control]
        if not sock.inq:
            if wanted:
                raise ScriptFailure(event.line, "recvmsg() gave no control message")
            return
        conn = sock.conn
        assert conn is not None
        inq = conn.receive_queued
        if inq == 0 and _peer_finished(conn):
            inq = 1
        if len(wanted) != 1:
            raise ScriptFailure(event.line, f"recvmsg() gave one TCP_CM_INQ message ({inq})")
        cmsg = wanted[0]
        kind = cmsg.get("cmsg_type")
        data = cmsg.get("cmsg_data")
        if not isinstance(kind, Expr) or kind.text != "TCP_CM_INQ" or not isinstance(data, Expr):
            raise InterpreterError(event.line, "only TCP_CM_INQ control messages are emulated")
        expected = self._value(data, event)
        if inq != expected:
            raise ScriptFailure(event.line, f"recvmsg() TCP_CM_INQ gave {inq}, expected {expected}")

    def _unusable(self, sock: Socket) -> tuple[int, str] | None:
        """The failure a read or write on ``sock`` returns before anything else:
        not connected, or the pending socket error (which it clears)."""
        if sock.conn is None:
            return -1, "ENOTCONN"
        if sock.error:
            errno, sock.error = sock.error, 0
            return -1, self._errno_name(errno)
        return None

    def _receive(
        self, event: Event, call: SyscallSpec, size: int, flags: int, buffer: Expr | None
    ) -> Any:
        sock = self._socket(event, call.args[0])
        flags = self._check_flags(event, flags, _RECV_FLAGS)
        # Linux's tcp_recvmsg: queued data first, a pending error after it
        queued = sock.conn is not None and sock.conn.receive_queued
        failure = None if queued else self._unusable(sock)
        if failure is not None:
            return failure
        conn = sock.conn
        assert conn is not None
        symbols = self.symbols
        if conn.receive_queued:
            if buffer is not None and buffer.text == "NULL" and size:
                return -1, "EFAULT"
            peek = flags & symbols["MSG_PEEK"]
            data = conn.peek(size) if peek else conn.receive(size)
            self._collect()
            return len(data), None
        if sock.shut_rd or conn.at_eof or conn.state is State.CLOSED:
            return 0, None  # after shutdown(SHUT_RD) a read never waits (Linux)
        if sock.nonblocking or flags & symbols["MSG_DONTWAIT"]:
            return -1, "EWOULDBLOCK"
        return None

    def _sys_write(self, event: Event, call: SyscallSpec, retry: bool = False) -> Any:
        size = self._value(call.args[2], event)
        return self._send(event, call, size, 0, call.args[1], retry)

    def _sys_send(self, event: Event, call: SyscallSpec, retry: bool = False) -> Any:
        size = self._value(call.args[2], event)
        flags = self._flags(event, call.args[3]) if len(call.args) > 3 else 0
        return self._send(event, call, size, flags, call.args[1], retry)

    _sys_sendto = _sys_send

    def _sys_sendmsg(self, event: Event, call: SyscallSpec, retry: bool = False) -> Any:
        msg = self._msghdr(event, call.args[1])
        if msg.get("msg_control") is not None:
            raise InterpreterError(event.line, "sendmsg() control messages are not emulated")
        size = self._iov_length(event, msg)
        return self._send(event, call, size, self._flags(event, call.args[2]), None, retry)

    def _send(
        self,
        event: Event,
        call: SyscallSpec,
        size: int,
        flags: int,
        buffer: Expr | None,
        retry: bool,
    ) -> Any:
        """write, send, sendto, sendmsg: ``size`` bytes. A blocking socket waits
        until all of them are in the send buffer; a non-blocking one takes what
        fits, or fails with EAGAIN. MSG_EOR ends a record: no segment carries
        bytes from both sides of its end."""
        sock = self._socket(event, call.args[0])
        flags = self._check_flags(event, flags, _SEND_FLAGS)
        key = id(event)
        done = self.progress.get(key, 0) if retry else 0
        if not retry:
            if sock.conn is None:
                return -1, self.profile.write_unconnected
            failure = self._unusable(sock)
            if failure is not None:
                return failure
            if buffer is not None and buffer.text == "NULL" and size:
                return -1, "EFAULT"
        conn = sock.conn
        assert conn is not None
        if sock.shut_wr or conn.state is State.CLOSED:
            self.progress.pop(key, None)
            return -1, "EPIPE"
        symbols = self.symbols
        eor = bool(flags & symbols.get("MSG_EOR", 0))
        more = bool(flags & symbols.get("MSG_MORE", 0))
        nonblocking = sock.nonblocking or flags & symbols["MSG_DONTWAIT"]
        if retry and self.profile.write_in_skbs and not self._writable(sock, conn):
            return None  # a blocked writer wakes only once the socket is writable
        try:
            if self.profile.write_in_skbs:
                accepted = self._write_in_skbs(sock, conn, size - done, eor, more)
            else:
                # no more than fits, and a byte over to say it did not (a
                # script's huge size never becomes a huge allocation)
                chunk = min(size - done, max(conn.send_buf.space, 0) + 1)
                accepted = conn.send(bytes(chunk), eor=eor, more=more)
        except TcpError:
            self.progress.pop(key, None)
            return -1, "EPIPE"
        done += accepted
        self._collect()
        if done < size:
            sock.nospace = True
        if done < size and not nonblocking:
            self.progress[key] = done
            return None  # blocks until everything is in the buffer
        self.progress.pop(key, None)
        if done == 0 and size:
            return -1, "EWOULDBLOCK"
        return done, None

    def _write_in_skbs(
        self, sock: Socket, conn: Connection, wanted: int, eor: bool, more: bool
    ) -> int:
        """What Linux's tcp_sendmsg copies of ``wanted`` bytes now: the last
        buffer's unsent part is filled up to the size goal; a new buffer needs
        less than SO_SNDBUF queued and, with TCP_NOTSENT_LOWAT, fewer unsent
        bytes than that. What the window allows goes out as each one fills."""
        buf = conn.send_buf
        sndbuf = self._sndbuf(sock)
        buf.capacity = max(buf.capacity, sndbuf + _GSO_MAX)  # the limit is ours
        mss = conn.mss_payload()
        goal = mss
        if conn.max_snd_wnd > 536:  # tcp_bound_to_half_wnd
            goal = max(mss, min(_GSO_MAX, conn.max_snd_wnd // 2) // mss * mss)
        lowat = self._lowat(sock)
        copied = 0
        while copied < wanted:
            unsent = _unsent(conn)
            closed = bool(buf.records and buf.records[-1] == buf.end)  # MSG_EOR
            tail = 0
            if unsent > 0 and not closed and sock.tail_start is not None:
                tail = sq.sub(buf.end, sq.max_seq(sock.tail_start, conn.snd_nxt))
            room = goal - tail if tail > 0 else 0
            if room <= 0:
                if conn.send_queued >= sndbuf or (lowat and unsent >= lowat):
                    break
                sock.tail_start = buf.end
                room = goal
            n = min(room, wanted - copied)
            accepted = conn.send(bytes(n), eor=eor and copied + n == wanted, more=more)
            copied += accepted
            self._collect()  # a full buffer is pushed: the window's share goes
            if accepted < n:
                break
        return copied

    def _socket_family_v6(self) -> bool:
        """Whether the script's sockets are AF_INET6 (ipv4-mapped-ipv6 mode too)."""
        return self.mode.name != "ipv4"

    def _sndbuf(self, sock: Socket) -> int:
        if sock.sndbuf is not None:
            return sock.sndbuf
        return (sock.conn.config if sock.conn is not None else sock.config).send_buffer

    def _lowat(self, sock: Socket) -> int:
        """TCP_NOTSENT_LOWAT, else the sysctl's; 0: no limit."""
        return sock.notsent_lowat or int(self.sysctls.get("net.ipv4.tcp_notsent_lowat", "0"), 0)

    def _msghdr(self, event: Event, expr: Expr) -> StructValue:
        try:
            msg = parse_expr(expr)
        except StructError as exc:
            raise InterpreterError(event.line, str(exc)) from None
        if not isinstance(msg, StructValue):
            raise InterpreterError(event.line, f"expected a struct msghdr, not {expr.text!r}")
        return msg

    def _iov_length(self, event: Event, msg: StructValue) -> int:
        """The bytes a msghdr's msg_iov holds: the sum of its iov_len."""
        iov = msg.get("msg_iov")
        items: tuple[Value, ...] = ()
        if isinstance(iov, Array):
            items = iov.items
        elif isinstance(iov, StructValue):
            items = (iov,)
        total = 0
        for item in items:
            if not isinstance(item, StructValue):
                raise InterpreterError(event.line, "msg_iov holds {iov_base, iov_len} structs")
            length = item.get("iov_len")
            if length is None and len(item.positional) == 2:
                length = item.positional[1]
            if not isinstance(length, Expr):
                raise InterpreterError(event.line, "an iovec without its length")
            total += self._value(length, event)
        return total

    def _flags(self, event: Event, expr: Expr) -> int:
        for item in expr.items if expr.kind == "or" else (expr,):
            _refuse_out_of_scope(event, item.text)
        return self._value(expr, event)

    def _check_flags(self, event: Event, flags: int, allowed: tuple[str, ...]) -> int:
        """``flags``, with those not emulated refused by name."""
        known = 0
        for name in allowed:
            known |= self.symbols.get(name, 0)
        unknown = flags & ~known
        if unknown:
            names = [n for n, v in self.symbols.items() if n.startswith("MSG_") and v & unknown]
            raise InterpreterError(
                event.line, f"flag(s) {'|'.join(names) or hex(unknown)} are not emulated"
            )
        return flags

    def _sys_shutdown(self, event: Event, call: SyscallSpec, retry: bool = False) -> Any:
        sock = self._socket(event, call.args[0])
        how = call.args[1].text
        if sock.conn is None:
            return -1, "ENOTCONN"
        if how in ("SHUT_RD", "SHUT_RDWR"):
            sock.shut_rd = True  # reads return what is queued, then 0 without waiting
        if how in ("SHUT_WR", "SHUT_RDWR") and not sock.shut_wr:
            sock.shut_wr = True
            if sock.conn.state is not State.CLOSED:
                sock.conn.shutdown_write(self.now)
        self._collect()
        return 0, None

    # -- poll and epoll --------------------------------------------------
    def _readiness(self, sock: Socket) -> int:
        """What poll() reports for ``sock``, as Linux's tcp_poll works it out."""
        s = self.symbols
        mask = s["POLLERR"] if sock.error or sock.errq.entries else 0
        if sock.listening:
            listener = self.host.listeners.get(sock.bound_port or 0)
            if listener is not None and listener.accept_queue:
                mask |= s["POLLIN"] | s["POLLRDNORM"]
            return mask
        conn = sock.conn
        if conn is None:
            return mask | s["POLLOUT"] | s["POLLWRNORM"] | s["POLLHUP"]
        state = self.host.state_of(conn)
        closed = state is State.CLOSED
        rcv_shutdown = sock.shut_rd or closed or _peer_finished(conn)
        send_shutdown = sock.shut_wr or closed
        if closed or (rcv_shutdown and send_shutdown):
            mask |= s["POLLHUP"]
        if rcv_shutdown:
            mask |= s["POLLIN"] | s["POLLRDNORM"] | s.get("POLLRDHUP", 0)
        writable = s["POLLOUT"] | s["POLLWRNORM"]
        if state is State.SYN_SENT and conn.fastopen is not None and conn.snd_max == conn.iss:
            return mask | writable  # a deferred Fast Open connect: a write sends the SYN
        if state is State.SYN_SENT or (state is State.SYN_RECEIVED and conn.fastopen is None):
            return mask  # a passive Fast Open connection counts as connected
        if conn.receive_queued:
            mask |= s["POLLIN"] | s["POLLRDNORM"]
        if send_shutdown or self._writable(sock, conn):
            mask |= writable  # shut down for sending, a write fails at once (Linux)
        return mask

    def _writable(self, sock: Socket, conn: Connection) -> bool:
        """Linux's sk_stream_is_writeable on a wakeup: free space at least half
        what is queued, and (TCP_NOTSENT_LOWAT) twice the unsent bytes below
        the low-water mark."""
        queued = conn.send_queued
        space = self._sndbuf(sock) - queued if self.profile.write_in_skbs else conn.send_space
        if space <= 0 or space < queued // 2:
            return False
        lowat = self._lowat(sock)
        return not lowat or 2 * _unsent(conn) < lowat

    def _sys_poll(self, event: Event, call: SyscallSpec, retry: bool = False) -> Any:
        pollfds = self._struct_list(event, call.args[0])
        timeout = self._value(call.args[2], event)
        s = self.symbols
        always = s["POLLERR"] | s["POLLHUP"] | s["POLLNVAL"]
        actual: list[int] = []
        for pollfd in pollfds:
            fd = self._member_value(event, pollfd, "fd")
            sock = self.sockets.get(fd)
            events = self._member_value(event, pollfd, "events")
            ready = s["POLLNVAL"] if sock is None else self._readiness(sock)
            actual.append(ready & (events | always))
        count = sum(1 for revents in actual if revents)
        if count == 0 and self._waits(event, timeout, retry):
            return None
        for pollfd, revents in zip(pollfds, actual, strict=True):
            wanted = pollfd.get("revents")
            if isinstance(wanted, Expr) and wanted.kind != "ellipsis":
                expected = self._value(wanted, event)
                if revents != expected:
                    fd = self._member_value(event, pollfd, "fd")
                    raise ScriptFailure(
                        event.line,
                        f"poll() fd {fd} revents {self._mask_text(revents, 'POLL')}, "
                        f"expected {self._mask_text(expected, 'POLL')}",
                    )
        return count, None

    def _waits(self, event: Event, timeout: int, retry: bool) -> bool:
        """Whether a poll or epoll_wait with nothing to report waits on: until its
        timeout (ms; negative: none), which the clock then stops at."""
        if timeout == 0:
            return False
        key = id(event)
        if not retry:
            deadline = self.now + timeout / 1000 if timeout > 0 else None
            self.deadlines[key] = deadline
            self.pending_wake = deadline
            return True
        deadline = self.deadlines.get(key)
        if deadline is not None and self.now >= deadline - 1e-9:
            del self.deadlines[key]
            return False
        return True

    def _mask_text(self, mask: int, prefix: str) -> str:
        names = [
            name
            for name, bit in self.symbols.items()
            if name.startswith(prefix) and bit and bit & (bit - 1) == 0
            and mask & bit and not name.endswith(("NORM", "_CTL_ADD", "_CTL_DEL", "_CTL_MOD"))
        ]  # fmt: skip
        return "|".join(names) or "0"

    def _struct_list(self, event: Event, expr: Expr) -> list[StructValue]:
        try:
            value = parse_expr(expr)
        except StructError as exc:
            raise InterpreterError(event.line, str(exc)) from None
        items = value.items if isinstance(value, Array) else (value,)
        if not all(isinstance(item, StructValue) for item in items):
            raise InterpreterError(event.line, f"expected structs in {expr.text!r}")
        return [item for item in items if isinstance(item, StructValue)]

    def _member_value(self, event: Event, struct: StructValue, name: str) -> int:
        value = struct.get(name)
        if not isinstance(value, Expr):
            raise InterpreterError(event.line, f"{name} is missing from {struct!r}")
        return self._value(value, event)

    def _sys_epoll_create(self, event: Event, call: SyscallSpec, retry: bool = False) -> Any:
        fd = call.result.value if call.result.kind == "int" and call.result.value else None
        if fd is None or fd < 0 or fd in self.sockets or fd in self.epolls:
            fd = 3
            while fd in self.sockets or fd in self.epolls:
                fd += 1
        self.epolls[fd] = Epoll(fd)
        return fd, None

    _sys_epoll_create1 = _sys_epoll_create

    def _epoll(self, event: Event, expr: Expr) -> Epoll:
        fd = self._value(expr, event)
        epoll = self.epolls.get(fd)
        if epoll is None:
            raise ScriptFailure(event.line, f"fd {fd} is not an epoll instance")
        return epoll

    def _sys_epoll_ctl(self, event: Event, call: SyscallSpec, retry: bool = False) -> Any:
        epoll = self._epoll(event, call.args[0])
        op = call.args[1].text
        fd = self._value(call.args[2], event)
        sock = self.sockets.get(fd)
        if sock is None:
            return -1, "EBADF"
        if op == "EPOLL_CTL_DEL":
            return (0, None) if epoll.interests.pop(fd, None) is not None else (-1, "ENOENT")
        if (op == "EPOLL_CTL_ADD") == (fd in epoll.interests):
            return -1, "EEXIST" if op == "EPOLL_CTL_ADD" else "ENOENT"
        (spec,) = self._struct_list(event, call.args[3])
        events = self._member_value(event, spec, "events")
        data_name = next((n for n in ("fd", "ptr", "u32", "u64") if spec.get(n) is not None), "fd")
        data = (data_name, self._member_value(event, spec, data_name))
        interest = Interest(events, data, errors=sock.errq.wakeups)
        # ADD and MOD look at the fd at once: what is ready now is reported
        ready = self._readiness(sock) & self._epoll_mask(events)
        interest.seen = interest.pending = ready
        epoll.interests[fd] = interest
        return 0, None

    def _epoll_mask(self, events: int) -> int:
        """The readiness bits an interest watches: its events, with EPOLLERR and
        EPOLLHUP always (and none once an EPOLLONESHOT interest has fired)."""
        s = self.symbols
        flags = s["EPOLLET"] | s["EPOLLONESHOT"]
        wanted = events & ~flags
        return (wanted | s["EPOLLERR"] | s["EPOLLHUP"]) if events != -1 else 0

    def _refresh_epolls(self) -> None:
        """EPOLLET: note the bits that became ready since the last look, and
        (as each arrival wakes Linux's waiters) readable again on new data."""
        if not self.epolls:
            return  # (a profile without epoll's names has no epolls either)
        readable = self.symbols["EPOLLIN"] | self.symbols["EPOLLRDNORM"]
        for epoll in self.epolls.values():
            for fd, interest in epoll.interests.items():
                sock = self.sockets.get(fd)
                if sock is None or interest.events == -1:
                    continue
                ready = self._readiness(sock) & self._epoll_mask(interest.events)
                interest.pending |= ready & ~interest.seen
                interest.seen = ready
                if sock.errq.wakeups != interest.errors:  # each new error queue entry wakes
                    interest.pending |= ready & self.symbols["EPOLLERR"]
                    interest.errors = sock.errq.wakeups
                conn = sock.conn
                if conn is not None:
                    if interest.received is not None and conn.rcv_nxt != interest.received:
                        interest.pending |= ready & readable
                    interest.received = conn.rcv_nxt

    def _sys_epoll_wait(self, event: Event, call: SyscallSpec, retry: bool = False) -> Any:
        epoll = self._epoll(event, call.args[0])
        maxevents = self._value(call.args[2], event)
        timeout = self._value(call.args[3], event)
        s = self.symbols
        self._refresh_epolls()
        reported: list[tuple[int, Interest]] = []
        for fd, interest in epoll.interests.items():
            sock = self.sockets.get(fd)
            if sock is None or interest.events == -1 or len(reported) >= maxevents:
                continue
            ready = self._readiness(sock) & self._epoll_mask(interest.events)
            if interest.events & s["EPOLLET"]:
                ready = ready if interest.pending else 0
            if not ready:
                continue
            interest.pending = 0
            if interest.events & s["EPOLLONESHOT"]:
                interest.events = -1  # disabled until EPOLL_CTL_MOD
            reported.append((ready, interest))
        if not reported and self._waits(event, timeout, retry):
            return None
        expected = self._struct_list(event, call.args[1]) if reported else []
        for spec, (ready, interest) in zip(expected, reported, strict=False):
            wanted = self._member_value(event, spec, "events")
            name, value = interest.data
            other = spec.get(name)
            if wanted != ready or (
                isinstance(other, Expr) and other.kind != "ellipsis"
                and self._value(other, event) != value
            ):  # fmt: skip
                raise ScriptFailure(
                    event.line,
                    f"epoll_wait() gave {{events={self._mask_text(ready, 'EPOLL')}, "
                    f"{name}={value}}}, expected {call.args[1].text}",
                )
        return len(reported), None

    def _sys_close(self, event: Event, call: SyscallSpec, retry: bool = False) -> Any:
        if self.epolls.pop(self._value(call.args[0], event), None) is not None:
            return 0, None  # an epoll instance
        if self.close_file(self._value(call.args[0], event)):
            return 0, None
        sock = self._socket(event, call.args[0])
        for blocked in self.blocked:
            if self._value(blocked.call.args[0], blocked.event) == sock.fd:
                end = self._end_time(blocked)
                raise ScriptFailure(
                    blocked.event.line,
                    f"{blocked.call.name}() was still blocked at {self.now:.3f} s when its "
                    f"socket was closed (expected to return at {end:.3f} s)",
                )
        del self.sockets[sock.fd]
        for epoll in self.epolls.values():
            epoll.interests.pop(sock.fd, None)  # a closed fd leaves every epoll set
        if sock.listening and sock.bound_port is not None:
            self.host.close_listener(sock.bound_port, self.now)
        conn = sock.conn
        if conn is not None and conn.state not in (State.CLOSED, State.TIME_WAIT):
            # already closing: close() after shutdown() sends nothing more
            with contextlib.suppress(TcpError):
                conn.close(self.now)
        self._collect()
        return 0, None

    def _out_of_scope_call(self, event: Event, call: SyscallSpec, retry: bool = False) -> Any:
        raise InterpreterError(
            event.line, f"{_OUT_OF_SCOPE_CALLS[call.name]} is not implemented (out of scope)"
        )

    _sys_splice = _sys_pipe = _out_of_scope_call

    def _errno_name(self, errno: int) -> str:
        for name, value in self.errno.items():
            if value == errno and name != "EAGAIN":
                return name
        return str(errno)

    # -- shell lines -----------------------------------------------------
    def _shell(self, event: Event, command: str) -> None:
        words = command.split()
        if words and words[0] == "sockstat":
            self._sockstat(event, command)
            return
        if words[:2] == ["tcpdrop", "-s"] and len(words) == 3:
            self.host.drop_connections(_state_named(event, words[2]), self.now)
            self._collect()
            return
        try:
            effects = emulate(command, Path(self.script.path).parent)
        except ShellError as exc:
            raise InterpreterError(event.line, str(exc)) from None
        for effect in effects:
            if effect.kind == "sysctl":
                self.sysctls[effect.name] = effect.value
                if effect.name == "net.ipv4.tcp_fastopen_cookies" and effect.value == "0":
                    # a cache of no cookies forgets them all (the sysctl of
                    # Google's kernels; mainline scripts flush tcp_metrics)
                    self.host.fastopen_cache = CookieCache()
            elif effect.kind == "route":
                self.route[effect.name] = int(effect.value)
                if effect.name == "mtu":  # the connections on that route see it
                    for conn in self.host.connections.values():
                        conn.route_mtu_changed(int(effect.value))
            elif effect.kind == "offload":
                self.offload[effect.name] = effect.value == "on"
            elif effect.kind in ("module", "flush-metrics"):
                self._shell_extra(event, effect)
            elif effect.kind in ("file", "file-removed"):
                self.file_effect(effect)
        try:
            settings = self.profile.settings_for(self.sysctls)
        except SysctlError as exc:
            raise InterpreterError(event.line, str(exc)) from None
        self.host.config = config = self._config()
        if config.fastopen_key is not None:  # net.ipv4.tcp_fastopen_key
            self.host.fastopen_cookies.set_keys(config.fastopen_key)
        if "_syn_cookies" in settings:
            modes = {0: "never", 1: "on-overflow", 2: "always"}
            self.host.syn_cookies = modes.get(settings["_syn_cookies"], "on-overflow")

    def _shell_extra(self, event: Event, effect: Effect) -> None:
        """Module parameters and the TFO cookie cache."""
        if effect.kind == "module" and effect.name == "tcp_cubic.hystart_detect":
            return  # HyStart++ (RFC 9406) has one detector, on the RTT: see docs
        if effect.kind == "flush-metrics":
            self.host.fastopen_cache = CookieCache()  # the client's Fast Open cookies
            return
        raise InterpreterError(event.line, f"{effect.kind} {effect.name} is not emulated")

    def _sockstat(self, event: Event, command: str) -> None:
        """``sockstat [-4|-6] -P tcp [-p PORT] -s | grep ... | grep -c STATE | grep N``."""
        stages = [stage.split() for stage in command.split("|")]
        port = None
        first = stages[0]
        if "-p" in first:
            port = int(first[first.index("-p") + 1])
        count_stage = next((s for s in stages if s[:2] == ["grep", "-c"]), None)
        last = stages[-1]
        if count_stage is None or last[0] != "grep" or len(last) != 2:
            raise InterpreterError(event.line, f"sockstat pipeline {command!r} is not emulated")
        wanted = count_stage[2]
        expected = int(last[1])
        ours_only = any(stage[:1] == ["grep"] and "packetdril" in stage for stage in stages)
        states = self._socket_states(port, ours_only)
        count = states.count(wanted)
        if count != expected:
            raise ScriptFailure(
                event.line,
                f"sockstat counted {count} socket(s) in {wanted}, expected {expected} "
                f"(sockets: {', '.join(states) or 'none'})",
            )

    def _socket_states(self, port: int | None, ours_only: bool) -> list[str]:
        """The state of every TCP endpoint sockstat would list: the script's open
        sockets (they are "packetdrill"'s), then connections no socket holds yet
        (half-open ones) or any more (TIME-WAIT records), which only show
        without a ``grep packetdril``."""
        rows: list[tuple[int, str, bool]] = []
        held: set[Connection] = set()
        tw_held: list[int] = []
        for sock in self.sockets.values():
            if sock.listening:
                rows.append((sock.bound_port or 0, "LISTEN", True))
            elif sock.conn is not None:
                held.add(sock.conn)
                state = self.host.state_of(sock.conn)
                rows.append((sock.conn.local[1], _SOCKSTAT_NAMES[state], True))
                if state is State.TIME_WAIT:
                    tw_held.append(sock.conn.local[1])
            else:
                rows.append((sock.bound_port or 0, "CLOSED", True))
        for conn in self.host.connections.values():
            if conn not in held:
                rows.append((conn.local[1], _SOCKSTAT_NAMES[conn.state], False))
        for lport in self.host.time_wait_ports():
            if lport in tw_held:
                tw_held.remove(lport)
            else:
                rows.append((lport, "TIME_WAIT", False))
        return [
            state
            for lport, state, ours in rows
            if (port is None or lport == port) and (ours or not ours_only)
        ]

    # -- %{ }% -----------------------------------------------------------
    def _code(self, event: Event, code: str) -> None:
        names = dict(_TCPI_STATES)
        names.update(
            TCPI_OPT_TIMESTAMPS=TCPI_OPT_TIMESTAMPS, TCPI_OPT_SACK=TCPI_OPT_SACK,
            TCPI_OPT_WSCALE=TCPI_OPT_WSCALE, TCPI_OPT_ECN=TCPI_OPT_ECN,
            TCPI_OPT_SYN_DATA=TCPI_OPT_SYN_DATA,
        )  # fmt: skip
        if self.profile.tcp_info == "linux":
            names.update(self._linux_tcp_info(event, code))
        else:
            names.update(self._tcp_info())
        names.update(self.code_names)
        for target, statement in _statements(code, event):
            if target is not None:  # NAME = value: kept for the blocks after
                self.code_names[target] = names[target] = _evaluate(statement, names, event)
                continue
            if not _evaluate(statement, names, event):
                raise ScriptFailure(
                    event.line,
                    f"%{{ {ast.unparse(statement)} }}% is false: "
                    + ", ".join(
                        f"{name}={names[name]}"
                        for name in sorted(_names_in(statement))
                        if name.startswith("tcpi_")
                    ),
                )

    def _linux_tcp_info(self, event: Event, code: str) -> dict[str, int]:
        """Linux's struct tcp_info, from the engine's state: cwnd and ssthresh
        in packets, times in microseconds (tcpi_last_data_recv in ms), the
        per-packet counts from the loss recovery's records. A field the engine
        does not know is an ERROR naming it."""
        for name in sorted(set(re.findall(r"\btcpi_\w+", code))):
            why = _LINUX_TCPI_UNKNOWN.get(name)
            if why is not None:
                raise InterpreterError(event.line, f"tcp_info field {name} is not emulated: {why}")
        names = dict(self.symbols)
        sock = self.current
        conn = sock.conn if sock is not None else None
        if sock is None or conn is None:
            state = State.LISTEN if sock is not None and sock.listening else State.CLOSED
            names.update(tcpi_state=self.symbols[_LINUX_STATES[state]], tcpi_options=0)
            return names
        state = self.host.state_of(conn)
        mss = conn.mss_payload()
        rec = conn.recovery
        records = rec.records if rec.sack_sender else ()
        options = (
            (1 if conn.ts_ok else 0) | (2 if conn.sack_ok else 0) | (4 if conn.ws_ok else 0)
            | (8 if conn.ecn_ok else 0) | (32 if conn.stats.syn_data_acked else 0)
        )  # fmt: skip
        if rec.rto_recovery:
            ca_state = "TCP_CA_Loss"
        elif rec.in_recovery:
            ca_state = "TCP_CA_Recovery"
        elif rec.dupacks or (rec.rack is not None and rec.rack.sacked_count):
            ca_state = "TCP_CA_Disorder"
        else:
            ca_state = "TCP_CA_Open"
        flight = sq.sub(conn.snd_max, conn.snd_una)
        ssthresh = conn.cc.ssthresh
        srtt, rttvar = conn.rtt.srtt, conn.rtt.rttvar
        min_rtt = rec.min_rtt
        received = self.last_data_recv.get(conn, 0.0)
        self._time_chronos()
        chrono = self.chronos.get(conn) or Chrono(since=self.now)
        names.update(
            tcpi_state=self.symbols[_LINUX_STATES[state]],
            tcpi_ca_state=self.symbols[ca_state],
            tcpi_options=options,
            tcpi_snd_mss=mss,
            # Linux's first guess (tcp_initialize_rcv_mss), then the largest seen
            tcpi_rcv_mss=max(max(min(conn.rcv_mss, mss, 536), 88), self.rcv_mss.get(conn, 0)),
            tcpi_advmss=conn.rcv_mss,
            tcpi_snd_wscale=conn.snd_wscale,
            tcpi_rcv_wscale=conn.rcv_wscale,
            tcpi_rto=round(conn.rtt.rto * 1e6),
            tcpi_rtt=round(srtt * 1e6) if srtt is not None else 0,
            tcpi_rttvar=round(rttvar * 1e6),
            tcpi_min_rtt=round(min_rtt * 1e6) if min_rtt is not None else 0xFFFFFFFF,
            tcpi_snd_cwnd=conn.cc.cwnd // mss,
            tcpi_snd_ssthresh=0x7FFFFFFF if ssthresh >= 1 << 30 else ssthresh // mss,
            tcpi_rcv_space=conn.recv_buffer,
            tcpi_unacked=len(records) if rec.sack_sender else -(-flight // mss),
            tcpi_sacked=sum(1 for r in records if r.sacked),
            # Linux's lost_out keeps a lost segment counted after its resend
            tcpi_lost=sum(1 for r in records if r.lost or (r.retransmitted and not r.sacked)),
            tcpi_retrans=sum(1 for r in records if r.retransmitted and not (r.sacked or r.lost)),
            tcpi_total_retrans=conn.stats.retransmitted_segments,
            tcpi_reordering=rec.reordering,
            tcpi_last_data_recv=round((self.now - received) * 1000),
            tcpi_notsent_bytes=_unsent(conn),
            tcpi_bytes_acked=max(sq.sub(conn.snd_una, conn.iss) - 1, 0),
            tcpi_delivered=self._delivered(conn),
            **self._sent_counts(conn),
            tcpi_busy_time=round(sum(chrono.total(k, self.now) for k in (1, 2, 3)) * 1e6),
            tcpi_rwnd_limited=round(chrono.total(2, self.now) * 1e6),
            tcpi_sndbuf_limited=round(chrono.total(3, self.now) * 1e6),
        )
        return names

    def _time_chronos(self) -> None:
        """Move each connection's chronograph to the state it is in now: idle
        with nothing unacknowledged; limited by the send buffer with nothing
        left to send while the writer wants room; by the peer's window when
        that, not cwnd, stops what is queued; else busy."""
        for sock in self.sockets.values():
            conn = sock.conn
            if conn is None:
                continue
            if sock.nospace and self._writable(sock, conn):
                sock.nospace = False
            kind = 0
            if conn.send_queued and conn.state is not State.CLOSED:
                unsent = _unsent(conn)
                flight = sq.sub(conn.snd_nxt, conn.snd_una)
                need = min(unsent, conn.mss_payload())
                if unsent == 0:
                    kind = 3 if sock.nospace else 1
                elif conn.snd_wnd - flight < need and (
                    conn.recovery.send_room(conn.snd_una, conn.snd_nxt) >= need
                ):  # the window stops what cwnd would let out
                    kind = 2
                else:
                    kind = 1
            chrono = self.chronos.get(conn)
            if chrono is None:
                if not kind:
                    continue
                chrono = self.chronos[conn] = Chrono(since=self.now)
            chrono.move(kind, self.now)

    def _log_sent(self, segment: Segment) -> None:
        for conn in self.host.connections.values():
            remote = conn.remote
            if (
                remote is not None
                and conn.local[1] == segment.src_port
                and remote[1] == segment.dst_port
            ):
                self.sent_log.setdefault(conn, []).append(segment)
                return

    def _delivered(self, conn: Connection) -> int:
        """Linux's tcpi_delivered: the packets of ours acknowledged or SACKed,
        each counted once (retransmissions are not new packets): the SYN or
        SYN,ACK, every MSS-sized piece of data, a FIN alone."""
        una = conn.snd_una
        mss = conn.mss_payload()
        board = conn.recovery.scoreboard
        count = 0
        highest: int | None = None
        for seg in self.sent_log.get(conn, ()):
            if seg.flags & RST:
                continue
            if seg.flags & SYN:
                # one packet, whatever data it carried: data sent after it
                # counts anew (Linux requeues SYN data the SYN,ACK did not take)
                if highest is None and sq.gt(una, seg.seq):
                    count += 1
                    highest = sq.add(seg.seq, 1)
                continue
            size = len(seg.payload)
            if not size and not seg.flags & FIN:
                continue
            end = sq.add(seg.seq, size + (1 if seg.flags & FIN else 0))
            if highest is not None and not sq.gt(end, highest):
                continue  # sent before: a retransmission
            start = seg.seq if highest is None or sq.ge(seg.seq, highest) else highest
            highest = end
            if size == 0:
                count += sq.le(end, una)
                continue
            piece = start
            while sq.lt(piece, end):
                top = min(sq.sub(end, piece), mss)
                stop = sq.add(piece, top)
                if sq.le(stop, una) or (board and board.covers(piece, stop)):
                    count += 1
                piece = stop
        return count

    def _sent_counts(self, conn: Connection) -> dict[str, int]:
        """What Linux counts of the segments sent: each MSS-sized piece of a
        super-segment is one (as the device sends it); bytes sent and resent."""
        mss = conn.mss_payload()
        segs = data_segs = sent = resent = 0
        highest: int | None = None
        for seg in self.sent_log.get(conn, ()):
            size = len(seg.payload)
            pieces = max(1, -(-size // mss))
            segs += pieces
            if not size:
                continue
            data_segs += pieces
            sent += size
            end = sq.add(seg.seq, size)
            if highest is not None and sq.lt(seg.seq, highest):
                resent += min(size, sq.sub(highest, seg.seq))
            if highest is None or sq.gt(end, highest):
                highest = end
        return {
            "tcpi_segs_out": segs,
            "tcpi_data_segs_out": data_segs,
            "tcpi_bytes_sent": sent,
            "tcpi_bytes_retrans": resent,
        }

    def _measure_rcv_mss(self, conn: Connection, length: int) -> None:
        """Linux's tcp_measure_rcv_mss: the largest segment received, at most
        our MSS; a segment the script's --mss cuts up (GRO) counts as its pieces."""
        gso = self.script.options.get("mss")
        if gso is not None:
            length = min(length, int(gso))
        seen = min(length, conn.rcv_mss)
        if seen > self.rcv_mss.get(conn, 0):
            self.rcv_mss[conn] = seen

    def _tcp_info(self) -> dict[str, int]:
        sock = self.current
        if sock is None:
            return {"tcpi_state": _TCPI_NUMBER[State.CLOSED]}
        conn = sock.conn
        if conn is None:
            state = State.LISTEN if sock.listening else State.CLOSED
            return {"tcpi_state": _TCPI_NUMBER[state], "tcpi_options": 0}
        state = self.host.state_of(conn)
        options = (
            (TCPI_OPT_TIMESTAMPS if conn.ts_ok else 0)
            | (TCPI_OPT_SACK if conn.sack_ok else 0)
            | (TCPI_OPT_WSCALE if conn.ws_ok else 0)
            | (TCPI_OPT_ECN if conn.ecn_ok else 0)
            | (TCPI_OPT_SYN_DATA if conn.stats.syn_data_acked else 0)  # RFC 7413
        )
        return {
            "tcpi_state": _TCPI_NUMBER[state],
            "tcpi_options": options,
            "tcpi_snd_mss": conn.snd_mss,
            "tcpi_rcv_mss": conn.rcv_mss,
            "tcpi_snd_wscale": conn.snd_wscale,
            "tcpi_rcv_wscale": conn.rcv_wscale,
            "tcpi_rto": int(conn.rtt.rto * 1e6),
            "tcpi_snd_cwnd": conn.cc.cwnd,
            "tcpi_snd_ssthresh": conn.cc.ssthresh,
            "tcpi_rcv_space": conn.recv_buffer,
            "tcpi_unacked": sq.sub(conn.snd_max, conn.snd_una),
            "tcpi_total_retrans": conn.stats.retransmitted_segments,
        }

    def _ack_base(self, seg: Segment) -> int:
        """What an outbound ack is written relative to: the script's ISN, but on
        a SYN,ACK Google packetdrill writes the ack as is (its SYN's sequence
        number was written as is: socket.h's remote_seq_live_to_script_offset
        is 0 for a SYN)."""
        return 0 if seg.flags & SYN and self.profile.remote_seq_from_syn else self.remote_isn

    # -- text ------------------------------------------------------------
    def _describe(self, seg: Segment) -> str:
        local_isn = self.local_isn if self.local_isn is not None else 0
        if self.local_isn is None and seg.flags & SYN:
            local_isn = seg.seq  # our first SYN: its own ISN
        start = sq.sub(seg.seq, local_isn)
        text = (
            f"{_letters(seg.flags)} {start}:{sq.add(start, len(seg.payload))}({len(seg.payload)})"
        )
        if seg.flags & ACK:
            text += f" ack {sq.sub(seg.ack, self._ack_base(seg))}"
        text += f" win {seg.window}"
        if seg.options:
            text += f" <{self._options_text(seg.options)}>"
        return text

    def _options_text(self, options: tuple[Option, ...]) -> str:
        parts = []
        for option in options:
            if isinstance(option, MaxSegmentSize):
                parts.append(f"mss {option.value}")
            elif isinstance(option, WindowScale):
                parts.append(f"wscale {option.shift}")
            elif isinstance(option, Timestamps):
                parts.append(f"TS val {option.value} ecr {option.echo_reply}")
            elif isinstance(option, Sack):
                isn = self.remote_isn
                blocks = " ".join(f"{sq.sub(a, isn)}:{sq.sub(b, isn)}" for a, b in option.blocks)
                parts.append(f"sack {blocks}")
            elif option is NOP:
                parts.append("nop")
            elif option is SACK_PERMITTED:
                parts.append("sackOK")
            elif option is EOL:
                parts.append("eol")
            else:
                parts.append(f"kind {option.kind}")
        return ",".join(parts)


# ----------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------
def _flag_bits(letters: str, event: Event) -> int:
    bits = 0
    if letters == "-":
        return 0  # packetdrill's "no flags"
    for letter in letters:
        bit = _FLAG_BITS.get(letter)
        if bit is None:
            raise InterpreterError(event.line, f"unknown TCP flag {letter!r}")
        bits |= bit
    return bits


def _letters(flags: int) -> str:
    text = "".join(letter for letter, bit in _FLAG_BITS.items() if flags & bit and letter != ".")
    return text + ("." if flags & ACK else "") or "none"


# packetdrill's names of ICMP errors, as (type, code) for IPv4 and for IPv6
_ICMP_V4 = {
    ("unreachable", "net_unreachable"): (ICMP_DEST_UNREACH, NET_UNREACHABLE),
    ("unreachable", "host_unreachable"): (ICMP_DEST_UNREACH, HOST_UNREACHABLE),
    ("unreachable", "protocol_unreachable"): (ICMP_DEST_UNREACH, PROTOCOL_UNREACHABLE),
    ("unreachable", "port_unreachable"): (ICMP_DEST_UNREACH, PORT_UNREACHABLE),
    ("unreachable", "frag_needed"): (ICMP_DEST_UNREACH, FRAGMENTATION_NEEDED),
    ("unreachable", None): (ICMP_DEST_UNREACH, NET_UNREACHABLE),
    ("time_exceeded", None): (ICMP_TIME_EXCEEDED, 0),
}
_ICMP_V6 = {
    ("unreachable", "net_unreachable"): (ICMP6_DEST_UNREACH, NO_ROUTE),
    ("unreachable", "host_unreachable"): (ICMP6_DEST_UNREACH, ADDRESS_UNREACHABLE),
    ("unreachable", "port_unreachable"): (ICMP6_DEST_UNREACH, PORT_UNREACHABLE6),
    ("unreachable", "frag_needed"): (ICMP6_PACKET_TOO_BIG, 0),
    ("unreachable", None): (ICMP6_DEST_UNREACH, NO_ROUTE),
    ("packet_too_big", None): (ICMP6_PACKET_TOO_BIG, 0),
    ("time_exceeded", None): (ICMP6_TIME_EXCEEDED, 0),
}


def _icmp_type_code(spec: IcmpSpec, ip_version: int, event: Event) -> tuple[int, int]:
    table = _ICMP_V4 if ip_version == 4 else _ICMP_V6
    found = table.get((spec.kind, spec.code))
    if found is None:
        raise InterpreterError(
            event.line, f"icmp {spec.kind} {spec.code or ''} is not known over IPv{ip_version}"
        )
    return found


def _ip_field_differences(spec: PacketSpec, seg: Segment) -> list[str]:
    """The IP header fields a '>' line states, against what the Host sends: no
    DSCP of its own (the TOS byte is its ECN field), TTL / hop limit 64, no
    IPv6 flow label."""
    differences = []
    if spec.tos is not None and spec.tos != seg.ecn:
        differences.append(f"IP TOS 0x{seg.ecn:02x} (expected 0x{spec.tos:02x})")
    if spec.ttl is not None and spec.ttl != DEFAULT_TTL:
        differences.append(f"TTL {DEFAULT_TTL} (expected {spec.ttl})")
    if spec.flow_label is not None and spec.flow_label != 0:
        differences.append(f"flow label 0x0 (expected 0x{spec.flow_label:x})")
    return differences


def _simple_option(spec: OptionSpec, event: Event) -> Option:
    if spec.name == "FO":
        return FastOpen(bytes(spec.values))
    if spec.name == "FOEXP":
        return FastOpenExp(bytes(spec.values))
    if spec.name == "mss":
        return MaxSegmentSize(spec.values[0])
    if spec.name == "wscale":
        return WindowScale(spec.values[0])
    if spec.name == "nop":
        return NOP
    if spec.name == "eol":
        return EOL
    if spec.name == "sackOK":
        return SACK_PERMITTED
    raise InterpreterError(event.line, f"option {spec.name!r} is not supported")


def _unsent(conn: Connection) -> int:
    """Bytes queued and not yet sent (tcpi_notsent_bytes, SIOCOUTQNSD)."""
    return max(conn.send_buf.unsent(conn.snd_nxt), 0)


def _peer_finished(conn: Connection) -> bool:
    """The peer's FIN has arrived."""
    return conn.at_eof or conn.state in _PEER_FIN_STATES


_PEER_FIN_STATES = frozenset({State.CLOSE_WAIT, State.LAST_ACK, State.CLOSING, State.TIME_WAIT})


def _refuse_out_of_scope(event: Event, name: str) -> None:
    what = _OUT_OF_SCOPE.get(name)
    if what is not None:
        raise InterpreterError(event.line, f"{what} is not implemented (out of scope)")


def _state_named(event: Event, name: str) -> State:
    for state, text in _SOCKSTAT_NAMES.items():
        if text == name:
            return state
    raise InterpreterError(event.line, f"unknown TCP state {name!r}")


_ALLOWED_NODES = (
    ast.Expression, ast.Compare, ast.BoolOp, ast.UnaryOp, ast.BinOp, ast.Name, ast.Constant,
    ast.Load, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.And, ast.Or, ast.Not,
    ast.BitAnd, ast.BitOr, ast.Add, ast.Sub, ast.Mult, ast.USub,
)  # fmt: skip


def _statements(code: str, event: Event) -> list[tuple[str | None, ast.expr]]:
    """The statements of a %{ }% block (Python syntax, a subset): ``assert``
    expressions (target None), and ``NAME = expression`` assignments."""
    try:
        module = ast.parse(code.strip())
    except SyntaxError as exc:
        raise InterpreterError(event.line, f"%{{ }}% does not parse: {exc.msg}") from None
    statements: list[tuple[str | None, ast.expr]] = []
    for statement in module.body:
        if (
            isinstance(statement, ast.Expr)
            and isinstance(statement.value, ast.Call)
            and isinstance(statement.value.func, ast.Name)
            and statement.value.func.id == "print"
        ):
            continue  # packetdrill's scripts print values for their authors: nothing to check
        if isinstance(statement, ast.Assert):
            target, expression = None, statement.test
        elif (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
        ):
            target, expression = statement.targets[0].id, statement.value
        else:
            raise InterpreterError(
                event.line, "only assert statements and NAME = value are supported in %{ }%"
            )
        for node in ast.walk(expression):
            if not isinstance(node, _ALLOWED_NODES):
                raise InterpreterError(
                    event.line, f"{type(node).__name__} is not supported in %{{ }}%"
                )
        statements.append((target, expression))
    return statements


def _names_in(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _evaluate(node: ast.expr, names: dict[str, int], event: Event) -> Any:
    missing = _names_in(node) - set(names)
    if missing:
        raise InterpreterError(
            event.line, f"unknown name(s) in %{{ }}%: {', '.join(sorted(missing))}"
        )
    code = compile(ast.Expression(node), "<script>", "eval")
    return eval(code, {"__builtins__": {}}, names)  # only names, numbers and operators
