"""MSG_ZEROCOPY for Linux's scripts, done by copying, as Linux itself falls
back to when the device cannot send from user pages (msg_zerocopy.rst).

The Host always copies what a write hands it, so a zerocopy send here is an
ordinary send plus what Linux promises the caller: a notification, once the
kernel is done with the buffer, read from the socket's error queue.

- ``setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, [1], 4)`` lets MSG_ZEROCOPY take
  effect (without it the flag is ignored); an accepted socket inherits it;
- each write with MSG_ZEROCOPY that queues at least one byte takes the next
  notification number, from 0 (a failed or empty write takes none);
- once SND.UNA covers its last byte (Linux frees the buffers then), the
  number joins the error queue: a range ``[ee_info, ee_data]``, extended in
  place while the queue's last range ends just below it and is unread, with
  ``ee_origin`` SO_EE_ORIGIN_ZEROCOPY and ``ee_code``
  SO_EE_CODE_ZEROCOPY_COPIED (the data was copied: Linux's code for this
  fallback);
- a queued notification makes the socket report POLLERR / EPOLLERR, and each
  completion wakes edge-triggered epoll waiters once;
- ``recvmsg(fd, msg, MSG_ERRQUEUE)`` returns 0 with the oldest range as an
  IP_RECVERR (IPV6_RECVERR on an IPv6 socket) control message, or EAGAIN.

:class:`ZeroCopyCalls` is a part of the Runner (runtime.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from synack.conformance.script import Expr
from synack.conformance.structs import Array
from synack.conformance.structs import Struct as StructValue
from synack.wire import seq as sq

if TYPE_CHECKING:
    from synack.conformance.runtime import Socket
    from synack.conformance.script import Event, SyscallSpec

ORIGIN_ZEROCOPY = 5  # SO_EE_ORIGIN_ZEROCOPY
CODE_COPIED = 1  # SO_EE_CODE_ZEROCOPY_COPIED
_FLAGS_AT = {"send": 3, "sendto": 3, "sendmsg": 2}


class ZeroCopyCalls:
    """SO_ZEROCOPY, MSG_ZEROCOPY and the error queue's notifications, for the Runner."""

    symbols: dict[str, int]

    if TYPE_CHECKING:  # the Runner's

        def _socket(self, event: Event, expr: Expr) -> Socket: ...
        def _value(self, expr: Expr, event: Event) -> int: ...
        def _msghdr(self, event: Event, expr: Expr) -> StructValue: ...
        def _socket_family_v6(self) -> bool: ...

    def zerocopy_sent(self, event: Event, call: SyscallSpec, result: int) -> None:
        """A write returned ``result``: with MSG_ZEROCOPY on a socket that allows
        it, and bytes queued, it takes the next notification number."""
        at = _FLAGS_AT.get(call.name)
        if at is None or len(call.args) <= at or result <= 0:
            return
        if not self._value(call.args[at], event) & self.symbols.get("MSG_ZEROCOPY", 0):
            return
        sock = self._socket(event, call.args[0])
        if not sock.zerocopy or sock.conn is None:
            return
        sock.zc_sent.append((sock.zc_next, sock.conn.send_buf.end))
        sock.zc_next += 1

    def zerocopy_settle(self, sock: Socket) -> None:
        """Move the writes whose bytes are all acknowledged to the error queue."""
        conn = sock.conn
        if conn is None or not sock.zc_sent:
            return
        while sock.zc_sent and sq.ge(conn.snd_una, sock.zc_sent[0][1]):
            number, _ = sock.zc_sent.pop(0)
            queue = sock.zc_queue
            if queue and queue[-1][1] + 1 == number:
                queue[-1][1] = number  # skb_zerocopy_notify_extend
            else:
                queue.append([number, number])
            sock.zc_completions += 1

    def zerocopy_recvmsg(
        self, event: Event, call: SyscallSpec, sock: Socket
    ) -> tuple[int, str | None]:
        """recvmsg with MSG_ERRQUEUE: the oldest notification, checked against
        the control message the script expects."""
        self.zerocopy_settle(sock)
        if not sock.zc_queue:
            return -1, "EAGAIN"
        low, high = sock.zc_queue.pop(0)
        msg = self._msghdr(event, call.args[1])
        errqueue = self.symbols["MSG_ERRQUEUE"]
        flags = msg.get("msg_flags")
        if isinstance(flags, Expr) and flags.kind != "ellipsis":
            if self._value(flags, event) != errqueue:
                raise _failure(event, "recvmsg() msg_flags MSG_ERRQUEUE, expected " + flags.text)
        control = msg.get("msg_control")
        wanted = control.items if isinstance(control, Array) else (control,) if control else ()
        if len(wanted) != 1 or not isinstance(wanted[0], StructValue):
            raise _failure(event, f"recvmsg() gave one zerocopy notification [{low}, {high}]")
        v6 = self._socket_family_v6()
        s = self.symbols
        actual = {
            "cmsg_level": s["SOL_IPV6"] if v6 else s["SOL_IP"],
            "cmsg_type": s["IPV6_RECVERR"] if v6 else s["IP_RECVERR"],
        }
        fields = {
            "ee_errno": 0, "ee_origin": ORIGIN_ZEROCOPY, "ee_type": 0, "ee_code": CODE_COPIED,
            "ee_info": low, "ee_data": high,
        }  # fmt: skip
        cmsg = wanted[0]
        data = cmsg.get("cmsg_data")
        checks = [(name, cmsg.get(name), value) for name, value in actual.items()]
        if isinstance(data, StructValue):
            checks += [(name, data.get(name), value) for name, value in fields.items()]
        elif data is not None:
            raise _failure(event, "recvmsg() gave a sock_extended_err, expected " + str(data))
        for name, expr, value in checks:
            if not isinstance(expr, Expr) or expr.kind == "ellipsis":
                continue
            if self._value(expr, event) != value:
                raise _failure(event, f"recvmsg() error queue {name}={value}, expected {expr.text}")
        return 0, None


def _failure(event: Event, message: str) -> Exception:
    """The Runner's FAIL at the event's line (runtime.py imports this module)."""
    from synack.conformance.runtime import ScriptFailure

    return ScriptFailure(event.line, message)
