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
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from ipaddress import ip_address
from pathlib import Path
from typing import Any

from synack.conformance.profiles import Profile, RunMode, SysctlError
from synack.conformance.script import (
    CodeSpec,
    Event,
    Expr,
    OptionSpec,
    PacketSpec,
    Script,
    ShellSpec,
    SyscallSpec,
)
from synack.conformance.shell import Effect, ShellError, emulate
from synack.host import Host
from synack.tcp import errors as err
from synack.tcp.config import TcpConfig
from synack.tcp.connection import Connection
from synack.tcp.errors import TcpError
from synack.tcp.events import Connected, ConnectionAborted, ConnectionReset
from synack.tcp.isn import FixedIsn
from synack.tcp.state import State
from synack.wire import seq as sq
from synack.wire.ip import encode_packed
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
REMOTE_ISN = 0  # the script's ISN: its sequence numbers go out as written
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

# The IP ECN codepoints a script's [tag] allows (RFC 3168 5); ect01 is either ECT.
_ECN_CODEPOINTS = {
    "noecn": (NOT_ECT,), "ect0": (ECT_0,), "ect1": (ECT_1,), "ect01": (ECT_0, ECT_1), "ce": (CE,),
}  # fmt: skip
_ECN_NAMES = {NOT_ECT: "not-ECT", ECT_1: "ECT(1)", ECT_0: "ECT(0)", CE: "CE"}

ERRNO = {
    "EPERM": 1, "ENOENT": 2, "EINTR": 4, "EIO": 5, "EBADF": 9, "EAGAIN": 35,
    "EWOULDBLOCK": 35, "EINPROGRESS": 36, "EALREADY": 37, "ENOTSOCK": 38,
    "EDESTADDRREQ": 39, "EINVAL": 22, "EPIPE": 32, "EADDRINUSE": 48,
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
}  # fmt: skip


# The engine's reasons that a socket reports as ETIMEDOUT.
_TIMEOUTS = frozenset({err.USER_TIMEOUT, err.RETRANSMISSION_TIMEOUT, err.KEEPALIVE_TIMEOUT})


class ScriptFailure(Exception):
    """The stack did not do what the script says: a FAIL, at ``line``."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class InterpreterError(Exception):
    """Something in the script this interpreter cannot run: an ERROR, not a FAIL."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


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


@dataclass
class Blocked:
    """A blocking call waiting to return: it is retried after every event."""

    event: Event
    call: SyscallSpec
    started: float
    attempt: Callable[[], tuple[int, str | None] | None]
    end: float | None = None  # when the script says it returns


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


class Runner:
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
        # the script's own --local_ip / --remote_ip win over the mode's
        try:
            self.local = ip_address(options.get("local_ip", mode.local_address))
            self.remote = ip_address(options.get("remote_ip", mode.remote_address))
        except ValueError as exc:
            raise InterpreterError(0, str(exc)) from None
        if self.local.version != mode.ip_version or self.remote.version != mode.ip_version:
            raise InterpreterError(0, f"the script's addresses are not IPv{mode.ip_version}")
        self.local_packed, self.remote_packed = self.local.packed, self.remote.packed
        self.tolerance = int(options.get("tolerance_usecs", "4000")) / 1e6
        mtu = options.get("mtu")
        self.mtu = int(mtu) if mtu is not None else mode.mtu
        self.route: dict[str, int] = {}  # ip route metrics set: advmss, mtu, initcwnd
        self.offload: dict[str, bool] = {}  # ethtool -K: tso, gso
        self.event_end: float | None = None  # the current event's end time (a range's)
        self.sysctls: dict[str, str] = {}
        self.host = Host(
            self.local, self._config(), isn=FixedIsn(LOCAL_ISN), secret=b"conformance-key!",
        )  # fmt: skip
        self.now = 0.0
        self.sockets: dict[int, Socket] = {}
        self.sent: list[Sent] = []  # outbound segments not yet matched
        self.local_isn: int | None = None
        self.local_port: int | None = None  # the Host's port in the script's connection
        self.remote_port = REMOTE_CLIENT_PORT
        self.ts_map: dict[int, int] = {}  # script TS val -> the value the Host sent
        self.last_ts_val: int | None = None
        self.blocked: list[Blocked] = []
        self.current: Socket | None = None  # the socket tcp_info describes
        self.owner: dict[Connection, Socket] = {}

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
        for _, _, segment in self.host.segments_to_send(self.now):
            self.sent.append(Sent(self.now, segment))
        while (hev := self.host.next_event()) is not None:
            sock = self.owner.get(hev.connection)
            if sock is None:
                continue
            event = hev.event
            if isinstance(event, Connected):
                sock.connected = True
            elif isinstance(event, ConnectionReset):
                # sockets call a RST before the handshake completed a refusal
                refused = "refused" in event.reason or not sock.connected
                sock.error = ERRNO["ECONNREFUSED" if refused else "ECONNRESET"]
            elif isinstance(event, ConnectionAborted) and event.reason in _TIMEOUTS:
                sock.error = ERRNO["ETIMEDOUT"]

    def _advance(self, until: float, stop_on_output: bool = False) -> None:
        """Run timers up to ``until``; with ``stop_on_output``, stop at the first segment."""
        while True:
            self._collect()
            self._retry_blocked()
            if stop_on_output and self.sent:
                return
            deadline = self.host.get_timer()
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
        """Segments sent before ``when`` less the tolerance were never expected."""
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
        if seg.flags & SYN and (self.local_isn is None or spec.start is None):
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
            relative = sq.sub(seg.ack, REMOTE_ISN)
            if relative != spec.ack % (1 << 32):
                differences.append(f"ack {relative} (expected {spec.ack})")
        if spec.window is not None and seg.window != spec.window:
            differences.append(f"win {seg.window} (expected {spec.window})")
        if spec.urgent is not None and seg.urgent != spec.urgent:
            differences.append(f"urg {seg.urgent} (expected {spec.urgent})")
        if spec.ecn is not None and seg.ecn not in _ECN_CODEPOINTS[spec.ecn]:
            differences.append(f"IP ECN field {_ECN_NAMES[seg.ecn]} (expected {spec.ecn})")
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
                    (sq.add(REMOTE_ISN, a), sq.add(REMOTE_ISN, b)) for a, b in spec.blocks
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
        # an ACK written without "ack" acknowledges relative 0, as packetdrill has it
        ack = sq.add(local_isn, spec.ack or 0) if spec.ack is not None or flags & ACK else 0
        options: list[Option] = []
        for option in spec.options or ():
            if option.name == "TS":
                val, ecr = option.values
                echoed = self.ts_map.get(ecr, self.last_ts_val if ecr else 0)
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
            self.remote_port, self.local_port, sq.add(REMOTE_ISN, spec.start), ack, flags,
            spec.window if spec.window is not None else DEFAULT_WINDOW,
            urgent=spec.urgent or 0, options=tuple(options), payload=bytes(spec.length),
        )  # fmt: skip
        if spec.ecn is not None:
            segment.ecn = _ECN_CODEPOINTS[spec.ecn][0]
        packet = encode_packed(self.remote_packed, self.local_packed, segment)
        self.host.receive_packet(packet, self.now)
        self._collect()
        for sock in self.sockets.values():
            if sock.conn is not None and sock.conn.local[1] == self.local_port:
                self.current = sock
        self._retry_blocked()

    # ------------------------------------------------------------------
    # Everything else
    # ------------------------------------------------------------------
    def _perform(self, event: Event, when: float) -> None:
        action = event.action
        if isinstance(action, PacketSpec):
            self._inject(event, action)
        elif isinstance(action, SyscallSpec):
            self._syscall(event, action, when)
        elif isinstance(action, ShellSpec):
            self._shell(event, action.command)
        elif isinstance(action, CodeSpec):
            self._code(event, action.code)

    # -- system calls ----------------------------------------------------
    def _syscall(self, event: Event, call: SyscallSpec, when: float) -> None:
        handler = getattr(self, f"_sys_{call.name}", None)
        if handler is None:
            raise InterpreterError(event.line, f"system call {call.name}() is not emulated")
        outcome = handler(event, call)
        if outcome is None:  # it blocks
            if event.time.end is None:
                raise ScriptFailure(
                    event.line, f"{call.name}() would block, and the script gives no end time"
                )
            blocked = Blocked(
                event, call, when, lambda: handler(event, call, retry=True), self.event_end
            )
            self.blocked.append(blocked)
            return
        if self.event_end is not None:
            self._check_end(event, self.event_end, when)
        self._check_result(event, call, outcome)
        self._collect()

    def _retry_blocked(self) -> None:
        for blocked in list(self.blocked):
            outcome = blocked.attempt()
            if outcome is None:
                continue
            self.blocked.remove(blocked)
            self._check_end(blocked.event, self._end_time(blocked), self.now)
            self._check_result(blocked.event, blocked.call, outcome)

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
        same_errno = ERRNO.get(errno or "", errno) == ERRNO.get(call.errno or "", call.errno)
        if value != expected or (expected == -1 and not same_errno):
            got = f"{value}" + (f" {errno}" if errno else "")
            want = f"{expected}" + (f" {call.errno}" if call.errno else "")
            raise ScriptFailure(event.line, f"{call.name}() returned {got}, expected {want}")

    def _value(self, expr: Expr, event: Event) -> int:
        if expr.value is not None:
            return expr.value
        if expr.kind == "name":
            if expr.text in SYMBOLS:
                return SYMBOLS[expr.text]
            if expr.text in ERRNO:
                return ERRNO[expr.text]
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
        if fd is None or fd in self.sockets:
            fd = 3
            while fd in self.sockets:
                fd += 1
        sock = Socket(fd, self._config())
        self.sockets[fd] = sock
        return sock

    def _sys_socket(self, event: Event, call: SyscallSpec, retry: bool = False) -> Any:
        sock = self._new_socket(event, call)
        self.current = sock
        return sock.fd, None

    def _sys_fcntl(self, event: Event, call: SyscallSpec, retry: bool = False) -> Any:
        sock = self._socket(event, call.args[0])
        command = call.args[1].text
        if command == "F_GETFL":
            return SYMBOLS["O_RDWR"] | (self.profile.o_nonblock if sock.nonblocking else 0), None
        if command == "F_SETFL":
            flags = self._value(call.args[2], event)
            sock.nonblocking = bool(flags & self.profile.o_nonblock)
            return 0, None
        raise InterpreterError(event.line, f"fcntl {command} is not emulated")

    def _sys_setsockopt(self, event: Event, call: SyscallSpec, retry: bool = False) -> Any:
        sock = self._socket(event, call.args[0])
        name = call.args[2].text
        value = self._value(call.args[3], event)
        cfg = sock.config
        if name == "SO_REUSEADDR":
            pass  # ports are free to reuse here: nothing else runs on this Host
        elif name == "SO_RCVBUF":
            sock.config = replace(cfg, recv_buffer=value)
        elif name == "SO_SNDBUF":
            sock.config = replace(cfg, send_buffer=value)
        elif name == "SO_KEEPALIVE":
            sock.config = replace(cfg, keepalive=bool(value))
        elif name == "TCP_NODELAY":
            sock.config = replace(cfg, nodelay=bool(value))
        elif name == "TCP_NOOPT":
            if value:
                sock.config = replace(cfg, tcp_options=False)
        elif name == "TCP_KEEPINIT":
            sock.config = replace(cfg, connect_timeout=float(value))
        elif name == "TCP_MAXSEG":
            sock.config = replace(cfg, mss=value)
        else:
            raise InterpreterError(event.line, f"setsockopt {name} is not emulated")
        return 0, None

    def _sys_getsockopt(self, event: Event, call: SyscallSpec, retry: bool = False) -> Any:
        sock = self._socket(event, call.args[0])
        name = call.args[2].text
        if name == "SO_ERROR":
            actual = sock.error
            sock.error = 0
        elif name == "SO_RCVBUF":
            actual = sock.conn.recv_buffer if sock.conn is not None else sock.config.recv_buffer
        elif name == "SO_SNDBUF":
            actual = sock.config.send_buffer
        else:
            raise InterpreterError(event.line, f"getsockopt {name} is not emulated")
        expected = self._value(call.args[3], event)
        if actual != expected:
            raise ScriptFailure(event.line, f"getsockopt {name} gave {actual}, expected {expected}")
        return 0, None

    def _sys_bind(self, event: Event, call: SyscallSpec, retry: bool = False) -> Any:
        sock = self._socket(event, call.args[0])
        sock.bound_port = LOCAL_PORT
        self.local_port = LOCAL_PORT
        return 0, None

    def _sys_listen(self, event: Event, call: SyscallSpec, retry: bool = False) -> Any:
        sock = self._socket(event, call.args[0])
        port = sock.bound_port or LOCAL_PORT
        self.host.listen(port, self._value(call.args[1], event), sock.config, now=self.now)
        sock.listening = True
        self.local_port = port
        self.remote_port = REMOTE_CLIENT_PORT
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
        new.conn = conn
        new.connected = True
        self.owner[conn] = new
        self.current = new
        return new.fd, None

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
            return -1, _errno_name(errno)
        return 0, None

    def _sys_read(self, event: Event, call: SyscallSpec, retry: bool = False) -> Any:
        return self._receive(event, call, self._value(call.args[2], event), 0)

    def _sys_recv(self, event: Event, call: SyscallSpec, retry: bool = False) -> Any:
        flags = self._value(call.args[3], event) if len(call.args) > 3 else 0
        return self._receive(event, call, self._value(call.args[2], event), flags)

    @staticmethod
    def _unusable(sock: Socket) -> tuple[int, str] | None:
        """The failure a read or write on ``sock`` returns before anything else:
        not connected, or the pending socket error (which it clears)."""
        if sock.conn is None:
            return -1, "ENOTCONN"
        if sock.error:
            errno, sock.error = sock.error, 0
            return -1, _errno_name(errno)
        return None

    def _receive(self, event: Event, call: SyscallSpec, size: int, flags: int) -> Any:
        sock = self._socket(event, call.args[0])
        failure = self._unusable(sock)
        if failure is not None:
            return failure
        conn = sock.conn
        assert conn is not None
        if conn.receive_queued:
            data = conn.peek(size) if flags & SYMBOLS["MSG_PEEK"] else conn.receive(size)
            self._collect()
            return len(data), None
        if conn.at_eof or conn.state is State.CLOSED:
            return 0, None
        if sock.nonblocking or flags & SYMBOLS["MSG_DONTWAIT"]:
            return -1, "EWOULDBLOCK"
        return None

    def _sys_write(self, event: Event, call: SyscallSpec, retry: bool = False) -> Any:
        sock = self._socket(event, call.args[0])
        failure = self._unusable(sock)
        if failure is not None:
            return failure
        conn = sock.conn
        assert conn is not None
        if sock.shut_wr or conn.state is State.CLOSED:
            return -1, "EPIPE"
        size = self._value(call.args[2], event)
        try:
            accepted = conn.send(bytes(size))
        except TcpError:
            return -1, "EPIPE"
        self._collect()
        return accepted, None

    _sys_send = _sys_write

    def _sys_shutdown(self, event: Event, call: SyscallSpec, retry: bool = False) -> Any:
        sock = self._socket(event, call.args[0])
        how = call.args[1].text
        if sock.conn is None:
            return -1, "ENOTCONN"
        if how in ("SHUT_WR", "SHUT_RDWR") and not sock.shut_wr:
            sock.shut_wr = True
            if sock.conn.state is not State.CLOSED:
                sock.conn.shutdown_write(self.now)
        self._collect()
        return 0, None

    def _sys_close(self, event: Event, call: SyscallSpec, retry: bool = False) -> Any:
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
        if sock.listening and sock.bound_port is not None:
            self.host.close_listener(sock.bound_port)
        conn = sock.conn
        if conn is not None and conn.state not in (State.CLOSED, State.TIME_WAIT):
            # already closing: close() after shutdown() sends nothing more
            with contextlib.suppress(TcpError):
                conn.close(self.now)
        self._collect()
        return 0, None

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
            elif effect.kind == "route":
                self.route[effect.name] = int(effect.value)
            elif effect.kind == "offload":
                self.offload[effect.name] = effect.value == "on"
            elif effect.kind in ("module", "flush-metrics"):
                self._shell_extra(event, effect)
        try:
            settings = self.profile.settings_for(self.sysctls)
        except SysctlError as exc:
            raise InterpreterError(event.line, str(exc)) from None
        self.host.config = self._config()
        if "_syn_cookies" in settings:
            modes = {0: "never", 1: "on-overflow", 2: "always"}
            self.host.syn_cookies = modes.get(settings["_syn_cookies"], "on-overflow")

    def _shell_extra(self, event: Event, effect: Effect) -> None:
        """Module parameters and the TFO cookie cache."""
        if effect.kind == "module" and effect.name == "tcp_cubic.hystart_detect":
            return  # HyStart++ (RFC 9406) has one detector, on the RTT: see docs
        if effect.kind == "flush-metrics":
            return  # no metrics are kept between scripts: each has a Host of its own
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
        )  # fmt: skip
        names.update(self._tcp_info())
        for statement in _statements(code, event):
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
            text += f" ack {sq.sub(seg.ack, REMOTE_ISN)}"
        text += f" win {seg.window}"
        if seg.options:
            text += f" <{self._options_text(seg.options)}>"
        return text

    @staticmethod
    def _options_text(options: tuple[Option, ...]) -> str:
        parts = []
        for option in options:
            if isinstance(option, MaxSegmentSize):
                parts.append(f"mss {option.value}")
            elif isinstance(option, WindowScale):
                parts.append(f"wscale {option.shift}")
            elif isinstance(option, Timestamps):
                parts.append(f"TS val {option.value} ecr {option.echo_reply}")
            elif isinstance(option, Sack):
                blocks = " ".join(
                    f"{sq.sub(a, REMOTE_ISN)}:{sq.sub(b, REMOTE_ISN)}" for a, b in option.blocks
                )
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


def _simple_option(spec: OptionSpec, event: Event) -> Option:
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


def _errno_name(errno: int) -> str:
    for name, value in ERRNO.items():
        if value == errno and name != "EAGAIN":
            return name
    return str(errno)


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


def _statements(code: str, event: Event) -> list[ast.expr]:
    """The ``assert`` expressions of a %{ }% block (Python syntax, a subset)."""
    try:
        module = ast.parse(code.strip())
    except SyntaxError as exc:
        raise InterpreterError(event.line, f"%{{ }}% does not parse: {exc.msg}") from None
    tests = []
    for statement in module.body:
        if not isinstance(statement, ast.Assert):
            raise InterpreterError(event.line, "only assert statements are supported in %{ }%")
        for node in ast.walk(statement.test):
            if not isinstance(node, _ALLOWED_NODES):
                raise InterpreterError(
                    event.line, f"{type(node).__name__} is not supported in %{{ }}%"
                )
        tests.append(statement.test)
    return tests


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
