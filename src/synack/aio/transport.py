"""asyncio's Transport over one engine Connection.

:class:`TcpTransport` is what ``Stack.create_connection`` and
``Stack.create_server`` hand to an :class:`asyncio.Protocol` (or an
:class:`asyncio.BufferedProtocol`), with the semantics of asyncio's own
socket transports, so protocol code written for asyncio runs on synack
unchanged:

- reading: the engine's in-order bytes go to ``data_received`` as they
  arrive; ``pause_reading`` leaves them in the connection's receive buffer,
  so the advertised window closes as it fills (RFC 9293 3.8.6.2), and
  ``resume_reading`` hands them on; the peer's FIN is ``eof_received``
  (a false return closes our side too, as asyncio does);
- writing: ``write`` gives bytes to the connection's send buffer (the
  config's ``send_buffer``, Linux's SO_SNDBUF); what does not fit waits in
  the transport's own buffer, which is what ``get_write_buffer_size``
  counts and the write-buffer limits apply to, as asyncio's transports
  buffer what the kernel's socket buffer did not take. Over the high-water
  mark the protocol gets ``pause_writing``; ACKs that free the send buffer
  (the engine's ``SendSpaceAvailable``) move the rest in, and at the
  low-water mark it gets ``resume_writing``;
- ``write_eof`` is a half-close (our FIN after what is written), ``close``
  the CLOSE call (the 4-way handshake after what is written), ``abort`` a
  RST at once;
- ``connection_lost`` comes (at the loop's next turn, as asyncio calls it)
  once our side is done: TIME-WAIT or CLOSED after a close, or at once on a
  RST, an abort or a timeout, with the error a socket would raise
  (ConnectionResetError, TimeoutError...);
- ``get_extra_info``: ``peername``, ``sockname``, ``synack`` (a
  :class:`SynackInfo`: the connection's state, its RFC 9293 STATUS and its
  counts when asked) and ``connection`` (the live engine object).

An exception raised by a protocol callback is reported to the loop's
exception handler, as asyncio does, and never reaches the driver loop that
pumps the Host.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import errno
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from synack.tcp import errors as err
from synack.tcp.connection import Connection
from synack.tcp.errors import TcpError
from synack.tcp.events import (
    Connected,
    ConnectionAborted,
    ConnectionClosed,
    ConnectionReset,
    DataReceived,
    EndOfStream,
    SendSpaceAvailable,
)
from synack.tcp.state import State
from synack.tcp.stats import ConnectionStats, ConnectionStatus

if TYPE_CHECKING:
    from synack.aio.stack import Server, Stack

HIGH_WATER = 64 * 1024  # asyncio's default write-buffer limits
LOW_WATER = HIGH_WATER // 4
_DONE = (State.TIME_WAIT, State.CLOSED)


@dataclass(frozen=True, slots=True)
class SynackInfo:
    """``transport.get_extra_info("synack")``: the connection as synack saw it
    when asked (Linux's TCP_INFO, in synack's words)."""

    state: State  # as the Host sees it: a collapsed TIME-WAIT record included
    status: ConnectionStatus | None  # RFC 9293 3.10.6 STATUS; None once CLOSED
    stats: ConnectionStats  # a copy of its counts
    connection: Connection  # the live engine object

    @classmethod
    def of(cls, transport: TcpTransport) -> SynackInfo:
        conn = transport.conn
        state = transport.stack.host.state_of(conn)
        status = None
        if conn.state is not State.CLOSED:
            status = conn.status()
        return cls(state, status, copy.deepcopy(conn.stats), conn)


class TcpTransport(asyncio.Transport):
    """An asyncio transport over one engine Connection (see the module docstring)."""

    def __init__(self, stack: Stack, conn: Connection, server: Server | None = None) -> None:
        super().__init__()
        self.stack = stack
        self.conn = conn
        self.server = server  # the Server that accepted it, if any
        self.connected: asyncio.Future[None] = stack.loop.create_future()
        self._protocol: asyncio.BaseProtocol | None = None
        self._pending = bytearray()  # written but not yet taken by the send buffer
        self._paused_reading = False
        self._eof_seen = False
        self._closing = False
        self._eof_written = False
        self._lost = False
        self._lost_error: Exception | None = None
        self._writing_paused = False
        self._high = HIGH_WATER
        self._low = LOW_WATER

    def attach(self, protocol: asyncio.BaseProtocol) -> None:
        """Give the connection to ``protocol``: ``connection_made``, then what has
        arrived already (with the handshake, or a Fast Open SYN's data)."""
        self._protocol = protocol
        if not self._call("connection_made", self):
            return
        if self._lost:  # it ended before the protocol was there to hear it
            self.stack.loop.call_soon(self._call, "connection_lost", self._lost_error)
            return
        self._deliver()

    # -- engine events -----------------------------------------------------
    def on_event(self, event: object) -> None:
        if isinstance(event, Connected):
            if not self.connected.done():
                self.connected.set_result(None)
        elif isinstance(event, DataReceived | EndOfStream):
            self._deliver()
        elif isinstance(event, SendSpaceAvailable):
            self._push()
        elif isinstance(event, ConnectionReset):
            refused = event.reason == err.CONNECTION_REFUSED or not self.connected.done()
            error: Exception = (
                ConnectionRefusedError(err.CONNECTION_REFUSED)
                if refused
                else ConnectionResetError(event.reason)
            )
            self._fail(error)
        elif isinstance(event, ConnectionAborted):
            self._fail(_aborted_error(event))
        elif isinstance(event, ConnectionClosed):
            if self._paused_reading and self.conn.receive_queued:
                # what arrived is still to be read, as a socket's would be:
                # check_finished ends the transport once it is
                self.stack.watch_finishing(self)
            else:
                self._lose(None)

    def _fail(self, error: Exception) -> None:
        if not self.connected.done():
            self.connected.set_exception(error)
            self._lost = True
            self._lost_error = error
            self.stack.forget(self)
            return
        self._lose(error)

    def _deliver(self) -> None:
        protocol = self._protocol
        if protocol is None or self._lost:
            return
        conn = self.conn
        buffered = isinstance(protocol, asyncio.BufferedProtocol)
        while not self._paused_reading and conn.receive_queued and not self._lost:
            if buffered:
                ok = self._deliver_buffered(protocol)  # type: ignore[arg-type]
            else:
                ok = self._call("data_received", conn.receive())
            if not ok:
                return
        if not self._paused_reading and not self._eof_seen and conn.at_eof and not self._lost:
            self._eof_seen = True
            self.stack.watch_finishing(self)
            try:
                keep_open = protocol.eof_received()  # type: ignore[attr-defined]
            except Exception as exc:
                self._fatal(exc, "eof_received")
                return
            if not keep_open:
                self.close()

    def _deliver_buffered(self, protocol: asyncio.BufferedProtocol) -> bool:
        """One ``get_buffer``/``buffer_updated`` round of a BufferedProtocol."""
        try:
            buf = memoryview(protocol.get_buffer(self.conn.receive_queued))
            if not len(buf):
                raise RuntimeError("get_buffer() returned an empty buffer")
            data = self.conn.receive(len(buf))
            buf[: len(data)] = data
            protocol.buffer_updated(len(data))
        except Exception as exc:
            self._fatal(exc, "get_buffer/buffer_updated")
            return False
        return True

    def _call(self, name: str, *args: Any) -> bool:
        """A protocol callback; what it raises is reported, the connection aborted."""
        try:
            getattr(self._protocol, name)(*args)
        except Exception as exc:
            self._fatal(exc, name)
            return False
        return True

    def _fatal(self, exc: Exception, callback: str) -> None:
        """asyncio's ``_fatal_error``: report it, then abort the connection."""
        self._report(f"Fatal error: protocol.{callback}() call failed.", exc)
        self._abort(exc)

    def _report(self, message: str, exc: Exception) -> None:
        """To the loop's exception handler, as asyncio reports a callback's failure."""
        self.stack.loop.call_exception_handler(
            {"message": message, "exception": exc, "transport": self, "protocol": self._protocol}
        )

    def check_finished(self) -> None:
        """Our side is done once the connection reaches TIME-WAIT or CLOSED."""
        if self._lost or self._protocol is None:
            return
        state = self.stack.host.state_of(self.conn)
        if state in _DONE and not self.conn.receive_queued:
            self._lose(None)

    def _lose(self, error: Exception | None, deliver: bool = True) -> None:
        if self._lost:
            return
        if deliver:  # what arrived before the end (an abort drops it)
            self._deliver()
            if self._lost:  # a callback failed on the way, and aborted
                return
        self._lost = True
        self._lost_error = error
        self.stack.forget(self)
        if self._protocol is not None:
            if self._writing_paused:
                self._writing_paused = False
                self._protocol_flow("resume_writing")
            # as asyncio's transports: at the loop's next turn, never inside the call
            self.stack.loop.call_soon(self._connection_lost, error)

    def _connection_lost(self, error: Exception | None) -> None:
        try:
            self._protocol.connection_lost(error)  # type: ignore[union-attr]
        except Exception as exc:
            self._report("Exception in protocol.connection_lost()", exc)

    # -- writing -----------------------------------------------------------
    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"data argument must be a bytes-like object, not {type(data).__name__}")
        if self._eof_written:
            raise RuntimeError("Cannot call write() after write_eof()")
        if self._lost or self._closing or not data:
            return  # as asyncio's transports do: an error surfaces in drain()
        if self._pending or isinstance(data, memoryview):
            self._pending += data
            self._push()
            return
        # nothing waits: straight into the send buffer, only what it leaves
        # into ours (one copy of the bytes, not two)
        view = memoryview(data)
        taken = self._send(view)
        if taken is not None:
            if taken < len(view):
                self._pending += view[taken:]
            self._check_limits()

    def writelines(self, list_of_data: Any) -> None:
        self.write(b"".join(list_of_data))

    def _send(self, data: bytearray | memoryview) -> int | None:
        """SEND: how much of ``data`` the send buffer took; None if the
        connection can no longer send (the transport is then lost)."""
        try:
            return self.conn.send(data)
        except TcpError as exc:
            self._lose(ConnectionResetError(str(exc)))
            return None

    def _push(self) -> None:
        if self._pending and not self._lost:
            taken = self._send(self._pending)
            if taken is None:
                return
            del self._pending[:taken]
        self._check_limits()
        if not self._pending and (self._eof_written or self._closing):
            self._finish_writing()

    def _check_limits(self) -> None:
        if self._protocol is None or self._lost:
            return
        size = len(self._pending)
        if not self._writing_paused and size > self._high:
            self._writing_paused = True
            self._protocol_flow("pause_writing")
        elif self._writing_paused and size <= self._low:
            self._writing_paused = False
            self._protocol_flow("resume_writing")

    def _protocol_flow(self, name: str) -> None:
        """``pause_writing``/``resume_writing``: what they raise is reported only."""
        try:
            getattr(self._protocol, name)()
        except Exception as exc:
            self._report(f"protocol.{name}() failed", exc)

    def write_eof(self) -> None:
        """Half-close: our FIN goes after what is written; reading goes on."""
        if self._eof_written or self._closing:
            return
        self._eof_written = True
        self.stack.watch_finishing(self)
        if not self._pending:
            self._finish_writing()

    def _finish_writing(self) -> None:
        """The FIN (CLOSE or its half), after what is written. It goes with
        the driver's next flush, which the call asks for (the Host's
        ``on_output``), not a flush of its own: that would send the output of
        every connection now, the ACKs of FINs whose closes are about to
        carry them among it."""
        if self._lost:
            return
        state = self.conn.state
        with contextlib.suppress(TcpError):  # already closing
            if self._closing:
                if state not in (State.CLOSED, State.TIME_WAIT, State.LAST_ACK, State.CLOSING):
                    self.conn.close(self.stack.driver.now())
            elif state in (State.ESTABLISHED, State.CLOSE_WAIT, State.SYN_RECEIVED):
                self.conn.shutdown_write(self.stack.driver.now())

    def can_write_eof(self) -> bool:
        return True

    def get_write_buffer_size(self) -> int:
        """Bytes written that the connection's send buffer has not taken yet."""
        return len(self._pending)

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._low, self._high

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        if high is None:
            high = HIGH_WATER if low is None else 4 * low
        if low is None:
            low = high // 4
        if not high >= low >= 0:
            raise ValueError(f"high ({high!r}) must be >= low ({low!r}) must be >= 0")
        self._high, self._low = high, low
        self._check_limits()

    # -- reading -----------------------------------------------------------
    def pause_reading(self) -> None:
        self._paused_reading = True  # the receive window closes as the buffer fills

    def resume_reading(self) -> None:
        """What waited goes to the protocol at the loop's next turn, as asyncio's
        transports read again only then (never inside the caller, which may be
        the protocol's own ``data_received``)."""
        if self._paused_reading:
            self._paused_reading = False
            self.stack.loop.call_soon(self._resume)

    def _resume(self) -> None:
        if not self._paused_reading and not self._lost:
            self._deliver()
            self.stack.check_soon(self)  # what was left is read: it may be done
            self.stack.driver.flush()  # reading may open the window

    def is_reading(self) -> bool:
        return not self._paused_reading and not self.is_closing()

    # -- the protocol --------------------------------------------------------
    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._protocol = protocol

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._protocol  # type: ignore[return-value]

    # -- closing -----------------------------------------------------------
    def close(self) -> None:
        """CLOSE after what is written: the 4-way handshake. ``connection_lost``
        comes when our side is done (TIME-WAIT or CLOSED)."""
        if self._closing or self._lost:
            return
        self._closing = True
        self.stack.watch_finishing(self)
        if not self._pending:
            self._finish_writing()

    def is_closing(self) -> bool:
        return self._closing or self._lost

    def abort(self) -> None:
        """ABORT: a RST to the peer, at once; what is unsent is dropped."""
        self._abort(None)

    def _abort(self, error: Exception | None) -> None:
        if self._lost:
            return
        if self.conn.state is not State.CLOSED:
            self.stack.driver.flush()  # what is already due (an ACK, data) goes first
            with contextlib.suppress(TcpError):
                self.conn.abort(self.stack.driver.now())
            self.stack.driver.flush()
        self._pending.clear()
        self._lose(error, deliver=False)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        conn = self.conn
        if name == "peername":
            address, port = conn.remote  # type: ignore[misc]
            return (str(address), port)
        if name == "sockname":
            return (str(conn.local[0]), conn.local[1])
        if name == "synack":
            return SynackInfo.of(self)
        if name == "connection":
            return conn
        return default

    def __repr__(self) -> str:
        local, remote = self.get_extra_info("sockname"), self.get_extra_info("peername")
        return f"<TcpTransport {local} -> {remote} {self.stack.host.state_of(self.conn).value}>"


def _aborted_error(event: ConnectionAborted) -> Exception:
    """The exception a socket would raise for an abort: TimeoutError for a timeout
    (R2, keepalive, user timeout), else ConnectionAbortedError; with an ICMP
    error behind it (tcp/icmp.py), its errno, and ConnectionRefusedError for a
    port unreachable."""
    aborted: Exception = (
        TimeoutError(event.reason)
        if "R2" in event.reason or "timeout" in event.reason
        else ConnectionAbortedError(event.reason)
    )
    if event.error is not None:
        code = getattr(errno, event.error, errno.EIO)
        cls = ConnectionRefusedError if code == errno.ECONNREFUSED else type(aborted)
        aborted = cls(code, event.reason)
    return aborted
