"""The socket error queue of Linux's scripts: MSG_ZEROCOPY's notifications
and SO_TIMESTAMPING's transmit timestamps, read with
``recvmsg(fd, msg, MSG_ERRQUEUE)`` (Linux's msg_zerocopy.rst and
timestamping.rst).

MSG_ZEROCOPY is done by copying, as Linux itself falls back to when the
device cannot send from user pages: the Host always copies what a write
hands it, so a zerocopy send is an ordinary send plus what Linux promises
the caller then:

- ``setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, [1], 4)`` lets MSG_ZEROCOPY take
  effect (without it the flag is ignored); an accepted socket inherits it;
- each write with MSG_ZEROCOPY that queues at least one byte takes the next
  notification number, from 0 (a failed or empty write takes none);
- once SND.UNA covers its last byte (Linux frees the buffers then), the
  number joins the error queue as a range ``[ee_info, ee_data]``, extending
  the queue's last entry while that is an unread range ending just below
  it; ``ee_origin`` SO_EE_ORIGIN_ZEROCOPY, ``ee_code``
  SO_EE_CODE_ZEROCOPY_COPIED (the data was copied: Linux's code for this
  fallback).

SO_TIMESTAMPING with SOF_TIMESTAMPING_SOFTWARE reports, for the last byte of
each write (tcp_tx_timestamp), the virtual clock's time when the segment
carrying it first left (SOF_TIMESTAMPING_TX_SCHED and _TX_SOFTWARE: SCHED,
then SND; the Host has no queueing discipline, so both at once) and when
SND.UNA passed it (_TX_ACK). With SOF_TIMESTAMPING_OPT_ID ``ee_data`` is the
byte's number counted from the first byte written after the option was set
(Linux's sk_tskey); each entry comes with an SCM_TIMESTAMPING message and
``ee_errno`` ENOMSG, ``ee_origin`` SO_EE_ORIGIN_TIMESTAMPING, and recvmsg
flags MSG_ERRQUEUE|MSG_TRUNC (the entry holds the packet, which a zero-length
buffer truncates). Receive timestamps, hardware ones and the OPT_TSONLY,
OPT_STATS, OPT_CMSG and OPT_PKTINFO variants are ERRORs naming the flag.

A queued entry makes the socket report POLLERR / EPOLLERR, and each new one
wakes edge-triggered epoll waiters once; ``recvmsg(fd, msg, MSG_ERRQUEUE)``
returns 0 with the oldest entry as an IP_RECVERR (IPV6_RECVERR on an IPv6
socket) control message, or EAGAIN when the queue is empty.

:class:`ErrorQueueCalls` is a part of the Runner (runtime.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from synack.conformance.errors import InterpreterError, ScriptFailure
from synack.conformance.script import Expr
from synack.conformance.structs import Array
from synack.conformance.structs import Struct as StructValue
from synack.wire import seq as sq

if TYPE_CHECKING:
    from synack.conformance.runtime import Socket
    from synack.conformance.script import Event, SyscallSpec

ORIGIN_TIMESTAMPING = 4  # SO_EE_ORIGIN_TIMESTAMPING
ORIGIN_ZEROCOPY = 5  # SO_EE_ORIGIN_ZEROCOPY
CODE_COPIED = 1  # SO_EE_CODE_ZEROCOPY_COPIED
ENOMSG = 42
SND, SCHED, ACK = 0, 1, 2  # SCM_TSTAMP_*
# SOF_TIMESTAMPING_* bits (linux/net_tstamp.h)
TX_SOFTWARE, SOFTWARE, OPT_ID, TX_SCHED, TX_ACK = 1 << 1, 1 << 4, 1 << 7, 1 << 8, 1 << 9
TIMESTAMPING_BITS = {
    "SOF_TIMESTAMPING_TX_HARDWARE": 1 << 0, "SOF_TIMESTAMPING_TX_SOFTWARE": TX_SOFTWARE,
    "SOF_TIMESTAMPING_RX_HARDWARE": 1 << 2, "SOF_TIMESTAMPING_RX_SOFTWARE": 1 << 3,
    "SOF_TIMESTAMPING_SOFTWARE": SOFTWARE, "SOF_TIMESTAMPING_SYS_HARDWARE": 1 << 5,
    "SOF_TIMESTAMPING_RAW_HARDWARE": 1 << 6, "SOF_TIMESTAMPING_OPT_ID": OPT_ID,
    "SOF_TIMESTAMPING_TX_SCHED": TX_SCHED, "SOF_TIMESTAMPING_TX_ACK": TX_ACK,
    "SOF_TIMESTAMPING_OPT_CMSG": 1 << 10, "SOF_TIMESTAMPING_OPT_TSONLY": 1 << 11,
    "SOF_TIMESTAMPING_OPT_STATS": 1 << 12, "SOF_TIMESTAMPING_OPT_PKTINFO": 1 << 13,
}  # fmt: skip
_EMULATED = TX_SOFTWARE | SOFTWARE | OPT_ID | TX_SCHED | TX_ACK
_FLAGS_AT = {"send": 3, "sendto": 3, "sendmsg": 2}
_WRITES = ("write", "send", "sendto", "sendmsg")


@dataclass
class Entry:
    """One entry of the error queue: a zerocopy range, or a timestamp."""

    origin: int
    info: int  # zerocopy: the range's first number; timestamping: SCM_TSTAMP_*
    data: int  # zerocopy: its last number; timestamping: the byte's key
    time: float = 0.0  # timestamping: when


@dataclass
class Stamped:
    """A write whose last byte is to be timestamped."""

    last: int  # the sequence number of its last byte
    key: int
    flags: int  # SO_TIMESTAMPING's at the write
    sent: bool = False


@dataclass
class ErrorQueue:
    """A socket's error queue and what will fill it."""

    entries: list[Entry] = field(default_factory=list)
    wakeups: int = 0  # entries ever queued or extended: each wakes EPOLLET waiters
    zerocopy: bool = False  # SO_ZEROCOPY
    zc_next: int = 0  # the next zerocopy notification number
    zc_sent: list[tuple[int, int]] = field(default_factory=list)  # (number, end)
    tsflags: int = 0  # SO_TIMESTAMPING
    tskey: int | None = None  # OPT_ID: the sequence number key 0 stands for
    stamped: list[Stamped] = field(default_factory=list)


class ErrorQueueCalls:
    """SO_ZEROCOPY, MSG_ZEROCOPY, SO_TIMESTAMPING and MSG_ERRQUEUE, for the Runner."""

    symbols: dict[str, int]
    now: float
    tolerance: float
    sockets: dict[int, Socket]

    if TYPE_CHECKING:  # the Runner's

        def _socket(self, event: Event, expr: Expr) -> Socket: ...
        def _value(self, expr: Expr, event: Event) -> int: ...
        def _msghdr(self, event: Event, expr: Expr) -> StructValue: ...
        def _socket_family_v6(self) -> bool: ...

    def set_timestamping(self, event: Event, sock: Socket, flags: int) -> str | None:
        """setsockopt SO_TIMESTAMPING: the transmit timestamps asked for; the
        errno if refused (OPT_ID on a TCP socket not connected, as Linux's
        sock_set_timestamping)."""
        other = flags & ~_EMULATED
        if other:
            names = [n for n, bit in TIMESTAMPING_BITS.items() if bit & other]
            raise _error(event, f"SO_TIMESTAMPING {'|'.join(names)} is not emulated")
        queue = sock.errq
        if flags & OPT_ID and not queue.tsflags & OPT_ID:
            if sock.conn is None:
                return "EINVAL"
            queue.tskey = sock.conn.send_buf.end
        queue.tsflags = flags
        return None

    def errqueue_write(self, event: Event, call: SyscallSpec, result: int) -> None:
        """A write returned ``result`` bytes: a zerocopy notification number
        (MSG_ZEROCOPY on a socket that allows it), a timestamp request."""
        if call.name not in _WRITES or result <= 0:
            return
        sock = self._socket(event, call.args[0])
        conn, queue = sock.conn, sock.errq
        if conn is None:
            return
        end = conn.send_buf.end
        at = _FLAGS_AT.get(call.name)
        flags = self._value(call.args[at], event) if at is not None and len(call.args) > at else 0
        if queue.zerocopy and flags & self.symbols.get("MSG_ZEROCOPY", 0):
            queue.zc_sent.append((queue.zc_next, end))
            queue.zc_next += 1
        if queue.tsflags & (TX_SCHED | TX_SOFTWARE | TX_ACK):
            last = sq.add(end, -1)
            key = sq.sub(last, queue.tskey) if queue.tskey is not None else 0
            queue.stamped.append(Stamped(last, key, queue.tsflags))

    def errqueue_settle(self) -> None:
        """What happened since the last look: a timestamped byte sent or
        acknowledged, a zerocopy write acknowledged."""
        for sock in self.sockets.values():
            queue, conn = sock.errq, sock.conn
            if conn is None or not (queue.zc_sent or queue.stamped):
                continue
            for stamped in queue.stamped:
                if not stamped.sent and sq.lt(stamped.last, conn.snd_max):
                    stamped.sent = True
                    if stamped.flags & TX_SCHED:
                        self._queue(queue, Entry(ORIGIN_TIMESTAMPING, SCHED, stamped.key, self.now))
                    if stamped.flags & TX_SOFTWARE:
                        self._queue(queue, Entry(ORIGIN_TIMESTAMPING, SND, stamped.key, self.now))
            while queue.stamped and sq.lt(queue.stamped[0].last, conn.snd_una):
                stamped = queue.stamped.pop(0)
                if stamped.flags & TX_ACK:
                    self._queue(queue, Entry(ORIGIN_TIMESTAMPING, ACK, stamped.key, self.now))
            while queue.zc_sent and sq.ge(conn.snd_una, queue.zc_sent[0][1]):
                number, _ = queue.zc_sent.pop(0)
                tail = queue.entries[-1] if queue.entries else None
                if tail is not None and tail.origin == ORIGIN_ZEROCOPY and tail.data + 1 == number:
                    tail.data = number  # skb_zerocopy_notify_extend
                    queue.wakeups += 1
                else:
                    self._queue(queue, Entry(ORIGIN_ZEROCOPY, number, number))

    @staticmethod
    def _queue(queue: ErrorQueue, entry: Entry) -> None:
        queue.entries.append(entry)
        queue.wakeups += 1

    def errqueue_recvmsg(
        self, event: Event, call: SyscallSpec, sock: Socket
    ) -> tuple[int, str | None]:
        """recvmsg with MSG_ERRQUEUE: the oldest entry, checked against the
        control messages the script expects."""
        self.errqueue_settle()
        if not sock.errq.entries:
            return -1, "EAGAIN"
        entry = sock.errq.entries.pop(0)
        s = self.symbols
        stamp = entry.origin == ORIGIN_TIMESTAMPING
        msg = self._msghdr(event, call.args[1])
        flags = msg.get("msg_flags")
        actual_flags = s["MSG_ERRQUEUE"] | (s["MSG_TRUNC"] if stamp else 0)
        if isinstance(flags, Expr) and flags.kind != "ellipsis":
            if self._value(flags, event) != actual_flags:
                raise _failure(
                    event, f"recvmsg() msg_flags {actual_flags:#x}, expected {flags.text}"
                )
        control = msg.get("msg_control")
        wanted = control.items if isinstance(control, Array) else (control,) if control else ()
        v6 = self._socket_family_v6()
        recverr = {
            "cmsg_level": s["SOL_IPV6"] if v6 else s["SOL_IP"],
            "cmsg_type": s["IPV6_RECVERR"] if v6 else s["IP_RECVERR"],
            "ee_errno": ENOMSG if stamp else 0, "ee_origin": entry.origin, "ee_type": 0,
            "ee_code": 0 if stamp else CODE_COPIED, "ee_info": entry.info, "ee_data": entry.data,
        }  # fmt: skip
        messages = [recverr]
        if stamp:
            messages.insert(0, {"cmsg_level": s["SOL_SOCKET"], "cmsg_type": s["SCM_TIMESTAMPING"]})
        what = f"timestamp {entry.info} of byte {entry.data}" if stamp else "zerocopy range"
        if len(wanted) != len(messages):
            raise _failure(event, f"recvmsg() gave {len(messages)} control messages ({what})")
        for cmsg, actual in zip(wanted, messages, strict=True):
            if not isinstance(cmsg, StructValue):
                raise _error(event, "msg_control holds {cmsg_level, cmsg_type, cmsg_data} structs")
            data = cmsg.get("cmsg_data")
            checks = [(name, cmsg.get(name), value) for name, value in actual.items()]
            if isinstance(data, StructValue) and "ee_origin" in actual:
                checks += [(name, data.get(name), value) for name, value in actual.items()]
            elif isinstance(data, StructValue):
                self._check_time(event, data, entry.time)
            for name, expr, value in checks:
                if isinstance(expr, Expr) and expr.kind != "ellipsis":
                    if self._value(expr, event) != value:
                        raise _failure(
                            event, f"recvmsg() error queue {name}={value}, expected {expr.text}"
                        )
        return 0, None

    def _check_time(self, event: Event, data: StructValue, time: float) -> None:
        """scm_timestamping's first time, from the script's start, within the
        script's tolerance."""
        parts = [data.get(name) for name in ("scm_sec", "scm_nsec")]
        if not all(isinstance(part, Expr) for part in parts):
            raise _error(event, "SCM_TIMESTAMPING data is {scm_sec=..., scm_nsec=...}")
        sec, nsec = (self._value(part, event) for part in parts if isinstance(part, Expr))
        expected = sec + nsec / 1e9
        if abs(time - expected) > self.tolerance:
            raise _failure(event, f"recvmsg() timestamp at {time:.6f} s, expected {expected:.6f} s")


def _failure(event: Event, message: str) -> Exception:
    return ScriptFailure(event.line, message)


def _error(event: Event, message: str) -> Exception:
    return InterpreterError(event.line, message)
