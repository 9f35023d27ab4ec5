"""One TCP connection: the TCB and its state machine (RFC 9293 section 3.10).

Sans-I/O: user calls queue work, ``receive_segment`` takes segments in,
``segments_to_send`` hands segments out, and time only ever arrives as the
``now`` argument. The arriving-segment path follows RFC 9293 3.10.7 step by
step (sequence check, RST, security, SYN, ACK, URG, text, FIN), with
RFC 5961's defences and RFC 7323's PAWS.
"""

from __future__ import annotations

from functools import partial
from operator import is_not
from typing import Final, cast

from synack.tcp import errors as err
from synack.tcp import mtuprobe
from synack.tcp.config import TcpConfig, headers_of, shared_int
from synack.tcp.congestion import CongestionControl
from synack.tcp.events import (
    Connected,
    ConnectionAborted,
    ConnectionClosed,
    ConnectionReset,
    DataReceived,
    EndOfStream,
    Event,
    RetransmissionWarning,
    SendSpaceAvailable,
)
from synack.tcp.fastopen import CookieJar, FastOpenState
from synack.tcp.icmp import icmp_arrives
from synack.tcp.isn import Rfc6528Isn
from synack.tcp.options import agree
from synack.tcp.rack import SentSegment
from synack.tcp.recovery import Resend
from synack.tcp.state import State, Stimulus, next_state
from synack.tcp.stats import ConnectionStatus
from synack.tcp.tcb import Tcb
from synack.tcp.timewait import TimeWait, TimeWaitAction, rst_in_time_wait
from synack.tcp.window import acceptable
from synack.wire import seq as sq
from synack.wire.icmp import IcmpError
from synack.wire.segment import (
    ACK,
    CE,
    CWR,
    ECE,
    ECT_0,
    FIN,
    NOP,
    NOT_ECT,
    PSH,
    RST,
    SYN,
    URG,
    Option,
    Segment,
    Timestamps,
)

_S: Final = State
_T: Final = Stimulus
_DEFAULT_CONFIG: Final = TcpConfig()
_DEFAULT_ISN: Final = Rfc6528Isn()

# States in which our FIN may still be unsent, so data may still go out.
_SENDING_STATES: Final = frozenset(
    {_S.ESTABLISHED, _S.CLOSE_WAIT, _S.FIN_WAIT_1, _S.CLOSING, _S.LAST_ACK}
)
# States in which arriving text is delivered (RFC 9293 3.10.7.4, seventh).
_RECEIVING_STATES: Final = frozenset({_S.ESTABLISHED, _S.FIN_WAIT_1, _S.FIN_WAIT_2})
# RFC 9293 3.10.5: ABORT sends RST in these states (the peer has a connection).
_RESET_ON_ABORT: Final = frozenset(
    {_S.SYN_RECEIVED, _S.ESTABLISHED, _S.FIN_WAIT_1, _S.FIN_WAIT_2, _S.CLOSE_WAIT}
)
# States where the peer has sent FIN, so RECEIVE with nothing buffered is "connection closing".
_PEER_FINISHED_STATES: Final = frozenset({_S.CLOSE_WAIT, _S.CLOSING, _S.LAST_ACK, _S.TIME_WAIT})
_TS_OPTION_BYTES: Final = 12  # NOP, NOP, kind, length, TSval, TSecr
_ARMED: Final = partial(is_not, None)  # a timer's deadline is set (tested in C: get_timer)


def reset_for(seg: Segment) -> Segment | None:
    """The RST that answers ``seg`` when no connection can take it.

    RFC 9293 3.10.7.1 (CLOSED): never answer a RST; if the segment has an
    ACK, the reset takes its sequence number from SEG.ACK; otherwise the
    reset carries an ACK of everything the segment occupied.
    """
    if seg.flags & RST:
        return None
    if seg.flags & ACK:
        return Segment(seg.dst_port, seg.src_port, seg.ack, 0, RST, 0)
    return Segment(seg.dst_port, seg.src_port, 0, sq.add(seg.seq, seg.seg_len), RST | ACK, 0)


class Connection(Tcb):
    """A TCP connection endpoint: the state machine over its :class:`Tcb`.
    See the module docstring and docs/architecture.md."""

    __slots__ = ()

    @property
    def cc(self) -> CongestionControl:
        """The congestion controller (loss recovery drives it)."""
        return self.recovery.cc

    def __repr__(self) -> str:
        return f"<Connection {self.local} -> {self.remote} {self.state}>"

    # ------------------------------------------------------------------
    # User calls (RFC 9293 3.10.1 - 3.10.6)
    # ------------------------------------------------------------------
    def connect(self, now: float, iss: int | None = None) -> None:
        """Active OPEN: choose an ISN and queue a SYN."""
        self._now = now
        self._user_call(now, "OPEN (active)")
        # RFC 9293 3.10.1: in CLOSED and in LISTEN, no foreign socket is this error.
        if self.remote is None and self.state in (_S.CLOSED, _S.LISTEN):
            raise err.TcpError(err.FOREIGN_SOCKET_UNSPECIFIED)
        if self.state is _S.LISTEN:
            # 3.10.1: with the foreign socket known, LISTEN turns active.
            self.passive = False
            if iss is None:
                iss = self._fixed_iss
        elif self.state is not _S.CLOSED:
            raise err.TcpError(err.CONNECTION_EXISTS)
        self._choose_iss(now, iss)
        self._transition(_T.OPEN_ACTIVE, "active OPEN")
        self._notify()

    def listen(self, now: float = 0.0, iss: int | None = None) -> None:
        """Passive OPEN: wait in LISTEN for a SYN from ``remote`` (or anyone)."""
        self._now = now
        self._user_call(now, "OPEN (passive)")
        if self.state is not _S.CLOSED:
            raise err.TcpError(err.CONNECTION_EXISTS)
        self.passive = True
        self._fixed_iss = iss
        self._transition(_T.OPEN_PASSIVE, "passive OPEN")

    def open_from_cookie(self, syn: Segment, now: float) -> None:
        """A listener's SYN cookie came back (RFC 4987 3.6): from LISTEN, take
        the SYN it stands for as if our SYN,ACK (ISS, the cookie, fixed by
        ``listen``) had been sent already. Nothing is emitted, no timer runs,
        and the SYN,ACK, never timed here, gives no RTT sample."""
        self._now = now
        if self.state is not _S.LISTEN or self.remote is None or not syn.flags & SYN:
            raise err.TcpError(err.CONNECTION_DOES_NOT_EXIST)
        self._choose_iss(now, self._fixed_iss)
        self._take_syn(syn, now)
        self._transition(_T.RCV_SYN, "SYN cookie valid")
        self.snd_nxt = self.snd_max = sq.add(self.iss, 1)

    def send(
        self, data: bytes | bytearray | memoryview, eor: bool = False, more: bool = False
    ) -> int:
        """SEND: copy as much of ``data`` as fits into the send buffer. With
        ``eor`` (MSG_EOR), data that fits whole ends a record: no segment will
        carry octets from both sides of its end. With ``more`` (MSG_MORE), a
        partial segment at the end waits, as corked, until the next SEND
        without it, a segment from the peer, or the persist timer (Linux's
        probe timer, which ends a hold with nothing in flight)."""
        st = self.state
        if st is _S.CLOSED:
            raise err.TcpError(err.CONNECTION_DOES_NOT_EXIST)
        if st is _S.LISTEN:
            # 3.10.2: SEND in LISTEN with a known foreign socket is an active OPEN.
            self.connect(self._now)
            st = self.state
        if self.send_buf.fin_queued or st not in (
            _S.SYN_SENT, _S.SYN_RECEIVED, _S.ESTABLISHED, _S.CLOSE_WAIT,
        ):  # fmt: skip
            raise err.TcpError(err.CONNECTION_CLOSING)
        n = self.send_buf.queue(data)
        self._more = more
        self._unpushed = self.send_buf.end if more else None
        if eor and n == len(data):
            self.send_buf.end_record()
        if n > 0:
            self._notify()
        return n

    def set_cork(self, on: bool) -> None:
        """TCP_CORK: while on, a segment smaller than the MSS waits (for more
        data, or a FIN), whatever Nagle and TCP_NODELAY say; off lets it go.
        With nothing in flight the persist timer lets it out (Linux's 200 ms
        ceiling on corking)."""
        self.cork = on
        if not on:
            self._notify()

    def receive(self, max_bytes: int = 1 << 30) -> bytes:
        """RECEIVE: up to ``max_bytes`` of in-order data.

        Returns ``b""`` when nothing is there yet; raises "connection closing"
        once the peer's FIN has been read past. What arrived before a RST
        closed the connection can still be read (as Linux: tcp_reset leaves
        the receive queue, a Fast Open server's SYN data included).
        """
        st = self.state
        buf = self._recv_buf
        if st is _S.CLOSED and not buf:
            raise err.TcpError(err.CONNECTION_DOES_NOT_EXIST)
        if not buf:
            if st in _PEER_FINISHED_STATES or self._fin_received:
                raise err.TcpError(err.CONNECTION_CLOSING)
            return b""
        if max_bytes >= len(buf):
            data = bytes(buf)
            self._recv_buf = b""  # all read: the bytearray goes (idle memory)
        else:
            data = bytes(buf[:max_bytes])
            del cast(bytearray, buf)[:max_bytes]
        # Reading made room: tell the peer if the window opened enough (3.8.6.2.2);
        # once its FIN is in, it sends no more data, and the news would be wasted.
        if st is not _S.CLOSED and not self._fin_received and self._window_update_due():
            self._ack_now = True
            self._notify()
        return data

    def peek(self, max_bytes: int = 1 << 30) -> bytes:
        """Up to ``max_bytes`` of in-order data, left in the buffer (MSG_PEEK)."""
        return bytes(self._recv_buf[:max_bytes])

    @property
    def receive_queued(self) -> int:
        return len(self._recv_buf)

    @property
    def send_queued(self) -> int:
        """Bytes in the send buffer: unacknowledged plus not yet sent."""
        return len(self.send_buf)

    @property
    def send_space(self) -> int:
        return self.send_buf.space

    @property
    def at_eof(self) -> bool:
        """The peer's FIN arrived and every byte before it has been read."""
        return self._fin_received and not self._recv_buf

    def release_syn(self) -> None:
        """A SYN held for data (TCP_FASTOPEN_CONNECT, RFC 7413) goes now, with
        what is queued, nothing if nothing is: Linux's send of 0 bytes on a
        deferred socket connects all the same."""
        tfo = self.fastopen
        if tfo is not None and tfo.defer:
            tfo.defer = False
            self._notify()

    def shutdown_write(self, now: float | None = None) -> None:
        """Half-close: send FIN after the queued data, keep receiving.

        ``now``, where the caller knows it, dates the state change in the trace.
        """
        self._clock(now)
        self._user_call(self._now, "CLOSE (half)")
        self._close(full=False)

    def close(self, now: float | None = None) -> None:
        """CLOSE: no more to send and nothing more will be read.

        Data already queued is still delivered, then FIN. Per RFC 9293 3.6
        (RFC 1122 4.2.2.13), unread received data, or data that arrives
        after this call, is answered with a RST.
        """
        self._clock(now)
        self._user_call(self._now, "CLOSE")
        if (
            self.config.rst_on_data_after_close
            and self._recv_buf
            and (self.state.synchronized or self._fastopen_accepted())
        ):
            self._abort("CLOSE with unread data", err.CONNECTION_ABORTED)
            return
        self._close(full=True)

    def _close(self, full: bool) -> None:
        st = self.state
        if st is _S.CLOSED:
            raise err.TcpError(err.CONNECTION_DOES_NOT_EXIST)
        if st is _S.LISTEN or (st is _S.SYN_SENT and full):
            # RFC 9293 3.10.4: delete the TCB, timers included (and tell the
            # Host, which then forgets the connection and frees its 4-tuple).
            self._enter_closed(_T.DELETE, "CLOSE")
            self._notify()
            return
        fin_queued = self.send_buf.fin_queued
        if fin_queued or st in (_S.CLOSING, _S.LAST_ACK, _S.TIME_WAIT, _S.FIN_WAIT_2):
            if full and fin_queued and not self._user_closed:
                self._user_closed = True  # close() after shutdown_write(): fine, no second FIN
                timeout = self.config.fin_wait_2_timeout
                if st is _S.FIN_WAIT_2 and timeout is not None:
                    self._t_fin_wait_2 = self._now + timeout
                    self._notify()
                return
            raise err.TcpError(err.CONNECTION_CLOSING)
        self._user_closed = full
        self.send_buf.fin_queued = True
        if st is _S.SYN_SENT:
            return  # FIN waits until ESTABLISHED (RFC 9293 3.10.4)
        # SYN-RECEIVED and ESTABLISHED go to FIN-WAIT-1, CLOSE-WAIT to LAST-ACK.
        self._transition(_T.CLOSE, "CLOSE")
        self._notify()

    def abort(self, now: float | None = None) -> None:
        """ABORT: send RST where the peer has a TCB, and go to CLOSED at once."""
        self._clock(now)
        self._user_call(self._now, "ABORT")
        if self.state is _S.CLOSED:
            raise err.TcpError(err.CONNECTION_DOES_NOT_EXIST)
        self._abort("ABORT", err.CONNECTION_ABORTED)

    def _abort(self, cause: str, reason: str) -> None:
        if self.state in _RESET_ON_ABORT:
            self._emit_rst(self.snd_max, self._now, ack=self.config.abort_rst_ack)
        self._event(ConnectionAborted(reason))
        self._enter_closed(_T.ABORT, cause)
        self._notify()

    def status(self) -> ConnectionStatus:
        """STATUS (RFC 9293 3.10.6)."""
        if self.state is _S.CLOSED:
            raise err.TcpError(err.CONNECTION_DOES_NOT_EXIST)
        return ConnectionStatus(
            self.state, self.local, self.remote, self.snd_una, self.snd_max, self.snd_wnd,
            self.rcv_nxt, self._offered_window(), len(self.send_buf), len(self._recv_buf),
            self.snd_mss, self.rtt.srtt, self.rtt.rto, self.cc.cwnd, self.cc.ssthresh,
            self.ws_ok, self.ts_ok, self.sack_ok,
        )  # fmt: skip

    def next_event(self) -> Event | None:
        events = self._events
        if not events:
            return None
        event = events.pop(0)
        if not events:
            self._events = None  # an idle connection keeps no list
        return event

    # ------------------------------------------------------------------
    # Driver interface
    # ------------------------------------------------------------------
    def segments_to_send(self, now: float) -> list[Segment]:
        """Everything due now. Call after any input, user call or timer."""
        self._now = now
        self._output(now)
        out = self._out
        if out is None:
            return []
        self._out = None
        return out

    def get_timer(self) -> float | None:
        """The earliest deadline of all this connection's timers."""
        rec = self.recovery
        armed = filter(_ARMED, (
            self._t_rexmit, self._t_persist, self._t_delack, self._t_keepalive, self._t_user,
            self._t_fin_wait_2, self._t_pace, rec.reorder_deadline, rec.probe_deadline,
        ))  # fmt: skip
        best: float | None = min(armed, default=None)  # type: ignore[type-var]
        tw = self._time_wait
        if tw is not None and (best is None or tw.expires < best):
            best = tw.expires
        return best

    def handle_timer(self, now: float) -> None:
        """Work out which timers are due at ``now`` and act on them."""
        self._now = now
        tw = self._time_wait
        if tw is not None:
            if now >= tw.expires:
                self._timer(now, "2MSL")
                self._time_wait = None
                self._event(ConnectionClosed())
                self._transition(_T.TIMEOUT_2MSL, "2MSL timeout")
            return
        if self._t_user is not None and now >= self._t_user:
            self._timer(now, "user timeout")
            self._give_up("user timeout", err.USER_TIMEOUT)
            return
        rec = self.recovery
        if rec.reorder_deadline is not None and now >= rec.reorder_deadline:
            self._timer(now, "RACK reordering")
            self._resend_as(
                rec.on_reorder_timeout(now, self.snd_una, self.snd_nxt, self.snd_max), now
            )
        if rec.probe_deadline is not None and now >= rec.probe_deadline:
            self._timer(now, "tail loss probe")
            if rec.on_probe_timeout(self.snd_una, self.snd_max):
                self._send_tail_probe(now)
        if self._t_rexmit is not None and now >= self._t_rexmit:
            self._t_rexmit = None
            rec.cancel_probe()
            self._timer(now, "retransmission")
            self._on_retransmission_timeout(now)
            if self.state is _S.CLOSED:
                return
        if self._t_persist is not None and now >= self._t_persist:
            self._t_persist = None
            self._timer(now, "persist")
            # a MSG_MORE hold ends, and TCP_CORK's has its ceiling: the output
            # after this sends what they held, pushed (Linux's tcp_write_wakeup)
            self._more = False
            self._unpushed = None
            self._cork_flush = self.cork
            self._send_window_probe(now)
        if self._t_delack is not None and now >= self._t_delack:
            self._t_delack = None
            self._timer(now, "delayed ACK")
            self._ack_now = True
            self._pingpong = False  # a delayed ACK was missed: not interactive
        if self._t_keepalive is not None and now >= self._t_keepalive:
            self._t_keepalive = None
            self._timer(now, "keep-alive")
            self._on_keepalive(now)
        if self._t_pace is not None and now >= self._t_pace:
            self._t_pace = None  # the next segment may go: _output sends it
        if self._t_fin_wait_2 is not None and now >= self._t_fin_wait_2:
            self._t_fin_wait_2 = None
            self._timer(now, "FIN-WAIT-2")
            self._give_up("FIN-WAIT-2 timeout", err.CONNECTION_ABORTED)

    def time_wait_record(self) -> TimeWait | None:
        """The compact TIME-WAIT record, for a Host to keep instead of this object."""
        return self._time_wait

    # ------------------------------------------------------------------
    # SEGMENT ARRIVES (RFC 9293 3.10.7)
    # ------------------------------------------------------------------
    def receive_segment(self, seg: Segment, now: float) -> None:
        self._now = now
        self._more = False  # what arrives lets held data go as Nagle says (Linux)
        self.stats.segments_received += 1
        tracer = self.tracer
        if tracer is not None:
            tracer.segment(self, now, "received", seg, None)
        st = self.state
        if st is _S.ESTABLISHED:
            if not self._predicted(seg, now):
                self._synchronized_segment(seg, now)
        elif st is _S.CLOSED:
            self._drop(seg, "connection does not exist")
            rst = reset_for(seg)
            if rst is not None:
                self._emit(rst, now)
        elif st is _S.LISTEN:
            self._listen_segment(seg, now)
        elif st is _S.SYN_SENT:
            self._syn_sent_segment(seg, now)
        elif st is _S.TIME_WAIT:
            self._time_wait_segment(seg, now)
        else:
            self._synchronized_segment(seg, now)
        if self._t_keepalive is not None and self.state.synchronized:
            self._arm_keepalive(now)

    def receive_icmp(self, msg: IcmpError, now: float) -> None:
        """An ICMP error quoting one of our segments (the rules: tcp/icmp.py)."""
        self._now = now
        icmp_arrives(self, msg, now)

    def route_mtu_changed(self, mtu: int) -> None:
        """The route's MTU changed (``ip route change ... mtu``): a smaller one
        holds at once, a larger one once probing confirms it (tcp/mtuprobe.py)."""
        mtuprobe.route_mtu_changed(self, mtu)

    def _listen_segment(self, seg: Segment, now: float) -> None:
        """RFC 9293 3.10.7.2."""
        flags = seg.flags
        if flags & RST:
            self._drop(seg, "RST in LISTEN")
            return
        if flags & ACK:
            self._drop(seg, "ACK in LISTEN")
            self._emit(Segment(self.local[1], seg.src_port, seg.ack, 0, RST, 0), now)
            return
        if not flags & SYN:
            self._drop(seg, "no SYN in LISTEN")
            return
        if self.remote is None:
            # Only a Host knows the peer's address; network input never raises.
            self._drop(seg, "SYN to a LISTEN connection with no foreign socket")
            return
        self._choose_iss(now, self._fixed_iss)
        self._take_syn(seg, now)
        self._transition(_T.RCV_SYN, "rcv SYN")
        if self.fastopen is not None or self.config.fastopen_server:
            self._fastopen_syn(seg, now)
        # Otherwise text or FIN on the SYN would be queued until ESTABLISHED; we
        # let the peer retransmit it instead.

    def _fastopen_syn(self, seg: Segment, now: float) -> None:
        """RFC 7413 4.2.2: a SYN with a valid cookie (tcp/fastopen.py decides):
        its text is taken at once, and our SYN,ACK acknowledges it. A FIN on
        it is left for the peer to send again."""
        tfo = self.fastopen
        if tfo is None:
            tfo = self.fastopen = FastOpenState.server_side(CookieJar.from_config(self.config))
        assert self.remote is not None
        if tfo.passive_syn(self.config, seg, self.remote[0].packed, self.local[0].packed):
            if seg.payload:
                self.stats.syn_data_acked = True
                self._accept_text(self.rcv_nxt, seg.payload, now)

    def _tsecr_never_sent(self, seg: Segment, now: float) -> bool:
        """A nonzero TSecr outside our clock since our first SYN (Linux's
        check against retrans_stamp in tcp_rcv_synsent_state_process)."""
        ts = seg.timestamps
        first = self._rtt_time if self._rtt_seq == self.iss else self._rexmit_since
        if ts is None or not ts.echo_reply or first is None or not self.config.timestamps:
            return False
        return not sq.le(self.ts_clock(first), ts.echo_reply) or sq.gt(
            ts.echo_reply, self.ts_clock(now)
        )

    def _syn_sent_segment(self, seg: Segment, now: float) -> None:
        """RFC 9293 3.10.7.3."""
        flags = seg.flags
        if flags & ACK:
            # first: an ACK that does not cover exactly our SYN is unacceptable
            if sq.le(seg.ack, self.iss) or sq.gt(seg.ack, self.snd_max):
                self._drop(seg, "unacceptable ACK in SYN-SENT")
                if not flags & RST:
                    self._emit_rst(seg.ack, now)
                return
            if self.config.syn_sent_check_tsecr and self._tsecr_never_sent(seg, now):
                # Linux (PAWSActiveRejected): an echo of a timestamp we never
                # sent, like a bad ACK, is answered with a reset; we stay in
                # SYN-SENT for a good SYN,ACK
                self._drop(seg, "TSecr never sent in SYN-SENT")
                if not flags & RST:
                    self._emit_rst(seg.ack, now)
                return
        if flags & RST:
            # second: a RST counts only if it acknowledges our SYN (RFC 5961 3.2 too)
            if flags & ACK:
                self._event(ConnectionReset(err.CONNECTION_RESET))
                self._enter_closed(_T.RCV_RST, "rcv RST (connection refused)")
            else:
                self._drop(seg, "RST without ACK in SYN-SENT")
            return
        if not flags & SYN:
            self._drop(seg, "neither SYN nor RST in SYN-SENT")
            return
        # fourth: the SYN
        self._take_syn(seg, now)
        if flags & ACK:
            rtt = self._rtt_measurement(seg, seg.ack, now)  # of our SYN
            self._rtt_seq = None
            if rtt is not None:
                self.recovery.on_syn_rtt_sample(rtt)
            if self.fastopen is not None:
                self._fastopen_syn_ack(seg)
            self._syn_acked_after_timeout()
            self.snd_una = seg.ack
            self._on_progress(now)
            self.snd_wnd = seg.window  # never scaled in a SYN (RFC 7323 2.2)
            self.max_snd_wnd = max(self.max_snd_wnd, self.snd_wnd)
            self.snd_wl1, self.snd_wl2 = seg.seq, seg.ack
            self._transition(_T.RCV_SYN_ACK, "rcv SYN,ACK")
            self._event(Connected())
            self._ack_now = True
            self._last_received = now  # Linux's lrcvtime (tcp_finish_connect)
            if sq.gt(self.send_buf.end, self.snd_max):
                # a writer waits for the handshake: Linux's quick-ACK mode
                # (tcp_enter_quickack_mode), which starts its ACK timeout
                self._ato_set = True
            if self.send_buf.fin_queued:  # a shutdown_write() made while in SYN-SENT
                self._transition(_T.CLOSE, "queued CLOSE")
            if seg.payload or flags & FIN:
                trimmed = Segment(
                    seg.src_port, seg.dst_port, sq.add(seg.seq, 1), seg.ack, flags & ~SYN,
                    seg.window, seg.urgent, seg.options, seg.payload,
                )  # fmt: skip
                self._text_and_fin(trimmed, now)
        else:
            # Simultaneous open (RFC 9293 figure 8): answer with SYN,ACK for our ISS.
            # Text on the SYN is queued until ESTABLISHED (3.10.7.3 fourth).
            self._syn_text = seg.payload
            self.snd_nxt = self.iss
            self._t_rexmit = None
            self._transition(_T.RCV_SYN, "rcv SYN (simultaneous open)")

    def _fastopen_accepted(self) -> bool:
        """A Fast Open server connection: its user has it already (RFC 7413
        4.2.2), so it cannot quietly go back to LISTEN."""
        return self.fastopen is not None and self.fastopen.accepted

    def _fastopen_syn_ack(self, seg: Segment) -> None:
        """RFC 7413 4.1.3: cache the cookie; 4.2.1: text on our SYN that the
        SYN,ACK does not acknowledge goes again, right after the handshake."""
        tfo = self.fastopen
        assert tfo is not None
        tfo.syn_ack_arrived(seg, seg.ack == self.snd_max, self._retransmits > 0)
        self.stats.syn_data_acked = tfo.syn_data_acked
        self.send_buf.release(seg.ack)
        # below SND.NXT: the text goes again; above it (our SYN went again
        # bare, but the first, with its text, arrived): that text is done
        self.snd_nxt = seg.ack

    def _time_wait_segment(self, seg: Segment, now: float) -> None:
        tw = self._time_wait
        assert tw is not None
        replies, action = tw.segment_arrives(seg, now)
        if seg.flags & RST and action is TimeWaitAction.NONE and not replies:
            self._drop(seg, rst_in_time_wait(tw))
        if action is TimeWaitAction.REOPEN:
            replies = [tw.ack(now)]  # no host to reopen through: challenge ACK
        for reply in replies:
            self._emit(reply, now)
        if action is TimeWaitAction.CLOSED:
            self._time_wait = None
            self._event(ConnectionReset(err.CONNECTION_RESET))
            cause = "rcv SYN in TIME-WAIT" if seg.flags & SYN else "rcv RST in TIME-WAIT"
            self._transition(_T.RCV_RST, cause)

    def _predicted(self, seg: Segment, now: float) -> bool:
        """Header prediction (Jacobson's, as BSD's tcp_input has it): in
        ESTABLISHED, most segments are the next in order, with only ACK (and
        PSH) set, a current timestamp, an ACK in [SND.UNA, SND.MAX], and text
        that fits the buffer with nothing held out of order. Such a segment
        passes every check of RFC 9293 3.10.7.4 by construction, so only the
        steps that change something run: TS.Recent, the ACK, the text.
        Returns False, having done nothing, for any other segment: the full
        path (``_synchronized_segment``) takes it."""
        if seg.flags & ~PSH != ACK or seg.seq != self.rcv_nxt or self.ecn_ok:
            return False  # a control bit, a hole or an old segment, ECN marks
        ts = None
        if self.ts_ok:
            ts = seg.timestamps
            if ts is None or sq.lt(ts.value, self.ts_recent):
                return False  # RFC 7323 3.2 and 5 (PAWS): the full path drops it
        if not sq.between(self.snd_una, seg.ack, self.snd_max):
            return False  # an old ACK, or one of data not yet sent
        # (A FIN of ours is never queued in ESTABLISHED: CLOSE moves it on at
        # once, so no ACK here can be our FIN's.)
        payload = seg.payload
        if payload:
            ooo = self._ooo
            if len(payload) > self.recv_buffer - len(self._recv_buf) or (
                ooo is not None and (ooo.blocks or ooo.dsack is not None)
            ):
                return False  # trimmed to the window; or a D-SACK to work out
        # fifth: the ACK, TS.Recent first (RFC 7323 4.3)
        if ts is not None and sq.le(seg.seq, self.last_ack_sent):
            self.ts_recent = ts.value
        self._process_ack(seg, now)
        if payload:  # seventh: the text, at RCV.NXT and inside the window
            self._accept_text(seg.seq, payload, now)
        return True

    def _synchronized_segment(self, seg: Segment, now: float) -> None:
        """RFC 9293 3.10.7.4: SYN-RECEIVED and every synchronized state but
        TIME-WAIT, step by step in the RFC's order. A step that has dealt with
        the segment (dropped it, answered it, closed) ends the processing."""
        if self.state is _S.SYN_RECEIVED and self._syn_resent_to_syn_received(seg):
            return
        # first: check the sequence number, PAWS before it (RFC 7323 5.3 R1)
        ts = seg.timestamps if self.ts_ok else None
        if ts is None and self.ts_ok and not seg.flags & RST and self.config.require_timestamps:
            # RFC 7323 3.2: a non-RST segment without TSopt is silently dropped
            self._drop(seg, "no timestamp on a timestamp connection")
            return
        if ts is not None and not seg.flags & RST and sq.lt(ts.value, self.ts_recent):
            self._drop(seg, "PAWS: old timestamp")
            self._ack_now = True
            return
        if not self._acceptable(seg.seq, seg.seg_len):
            control = self._unacceptable(seg, now)
            if control is None:
                return
            seg = control
        # second: check the RST bit
        if seg.flags & RST:
            self._rst_arrives(seg, now)
            return
        # third: check security. Not implemented: RFC 9293 3.10.7.4 leaves the
        # IP security compartment to the implementation, and synack neither
        # sets nor checks one, so no segment is reset for a mismatch.
        # Then, for a segment that passed the checks so far: echo a CE mark with
        # ECE until the peer sends CWR (RFC 3168 6.1.3).
        if self.ecn_ok:
            self._note_congestion(seg)
        # fourth: check the SYN bit
        if seg.flags & SYN:
            self._syn_in_window(seg, now)
            return
        # fifth: check the ACK field
        if not self._ack_arrives(seg, ts, now):
            return
        # sixth: check the URG bit (RFC 9293 3.8.5): remember the urgent pointer
        if seg.flags & URG and self.state in _RECEIVING_STATES:
            up = sq.add(seg.seq, seg.urgent)
            if sq.gt(up, self.rcv_up):
                self.rcv_up = up
        # seventh and eighth: process the segment text, check the FIN bit
        self._text_and_fin(seg, now)

    def _syn_resent_to_syn_received(self, seg: Segment) -> bool:
        """A retransmitted SYN in SYN-RECEIVED means our SYN,ACK was lost: resend it."""
        if seg.flags & SYN and not seg.flags & (ACK | RST) and seg.seq == self.irs:
            self.snd_nxt = self.iss
            return True
        return False

    def _unacceptable(self, seg: Segment, now: float) -> Segment | None:
        """First step, a segment that fails the sequence check: its control part
        when that is still acceptable (its text cut off), or None once it has
        been dealt with."""
        flags = seg.flags
        if flags & SYN and not flags & RST:
            # RFC 5961 4.2: a SYN draws a challenge ACK "irrespective of the
            # sequence number"; outside the window, also without RFC 5961.
            self._drop(seg, "SYN outside the window (challenge ACK)")
            self._challenge_ack(now)
            return None
        if not flags & RST and seg.payload and self.sack_ok and self.config.dsack:
            self._note_duplicate(seg.seq, len(seg.payload))
        if self.config.old_segment_acks and self._only_its_ack_is_current(seg):
            self._use_old_segments_ack(seg, now)
            return None
        if not flags & RST and self._answer_unacceptable(seg, now):
            self._ack_now = True
        if not (seg.seq == self.rcv_nxt and self._receive_window() == 0):
            self._drop(seg, "outside the receive window")
            return None
        # A zero window still takes valid ACKs, URGs and RSTs (3.10.7.4):
        # keep the control part, drop the text.
        self._drop(seg, "text beyond a zero window")
        return Segment(
            seg.src_port, seg.dst_port, seg.seq, seg.ack, flags & ~FIN, seg.window,
            seg.urgent, seg.options,
        )  # fmt: skip

    def _only_its_ack_is_current(self, seg: Segment) -> bool:
        """Wholly old (below RCV.NXT), a plain ACK: only its acknowledgment can be news."""
        return bool(
            seg.flags & ACK
            and not seg.flags & (RST | SYN)
            and sq.le(sq.add(seg.seq, seg.seg_len), self.rcv_nxt)
        )

    def _use_old_segments_ack(self, seg: Segment, now: float) -> None:
        """Use a wholly old segment's current acknowledgment, as if it had been
        trimmed to a bare ACK at RCV.NXT (as BSD does)."""
        self._drop(seg, "old segment: only its ACK is used")
        pending = self._ack_now
        self._ack_now = False  # decided below, once the ACK has been used
        bare_ack = Segment(
            seg.src_port, seg.dst_port, self.rcv_nxt, seg.ack, ACK, seg.window, 0, seg.options
        )
        self._synchronized_segment(bare_ack, now)
        # the resynchronizing ACK, unless that ACK ended our side of it
        self._ack_now = self.state not in (_S.TIME_WAIT, _S.CLOSED) and (
            pending or self._answer_unacceptable(seg, now)
        )

    def _answer_unacceptable(self, seg: Segment, now: float) -> bool:
        """Whether an unacceptable segment gets its ACK (RFC 9293 3.10.7.4): one
        that carries nothing, at most once per ``invalid_ack_interval``, so two
        ends out of step cannot keep answering each other (Linux's
        tcp_oow_rate_limited); one with text, SYN or FIN, always."""
        if seg.seg_len:
            return True
        if now - self._last_invalid_ack < self.config.invalid_ack_interval:
            self.stats.invalid_acks_unanswered += 1
            return False
        self._last_invalid_ack = now
        return True

    def _rst_arrives(self, seg: Segment, now: float) -> None:
        """Second step (RFC 5961 3.2: only an exact match resets, anything else
        in the window draws a challenge ACK; without RFC 5961 any RST in the
        window resets)."""
        if seg.seq != self.rcv_nxt and self.config.rfc5961_rst:
            self._drop(seg, "RST not at RCV.NXT (challenge ACK)")
            self._challenge_ack(now)
            return
        st = self.state
        if st is _S.SYN_RECEIVED:
            if self.passive and not self._fastopen_accepted():
                self._transition(_T.RETURN_TO_LISTEN, "rcv RST")
                self._clear_timers()
                return
            if not self.passive:
                self._event(ConnectionReset(err.CONNECTION_REFUSED))
                self._enter_closed(_T.RCV_RST, "rcv RST (connection refused)")
                return
        self._event(ConnectionReset(err.CONNECTION_RESET))
        self._enter_closed(_T.RCV_RST, "rcv RST")

    def _note_congestion(self, seg: Segment) -> None:
        """RFC 3168 6.1.3: a CE mark is echoed with ECE until the peer sends CWR."""
        if seg.flags & CWR:
            self._ece_due = False
        if seg.ecn == CE:
            self._ece_due = self._ack_now = True

    def _syn_in_window(self, seg: Segment, now: float) -> None:
        """Fourth step: a SYN in a synchronized state."""
        if self.state is _S.SYN_RECEIVED and self.passive and not self._fastopen_accepted():
            # RFC 9293: a passive open's SYN-RECEIVED goes back to LISTEN
            self._drop(seg, "SYN in SYN-RECEIVED")
            self._transition(_T.RETURN_TO_LISTEN, "rcv SYN")
            self._clear_timers()  # RFC 9293 3.10.7.4: no SYN,ACK timers in LISTEN
            return
        if self.config.rfc5961_syn:
            # RFC 5961 4.2: a challenge ACK, whatever the sequence number
            self._drop(seg, "SYN in a synchronized state (challenge ACK)")
            self._challenge_ack(now)
            return
        # RFC 9293 3.10.7.4 fourth, before RFC 5961: a SYN in the window is an
        # error: reset the connection and tell the peer.
        self._drop(seg, "SYN in the window (reset)")
        self._emit_rst(self.snd_max, now, ack=True)
        self._event(ConnectionReset(err.CONNECTION_RESET))
        self._enter_closed(_T.RCV_RST, "rcv SYN in the window")

    def _ack_arrives(self, seg: Segment, ts: Timestamps | None, now: float) -> bool:
        """Fifth step. Returns whether processing goes on to the text."""
        if not seg.flags & ACK:
            self._drop(seg, "no ACK")
            return False
        if self.state is _S.SYN_RECEIVED and not self._ack_of_syn(seg, now):
            return False
        # RFC 5961 5.2: an ACK outside [SND.UNA - MAX.SND.WND, SND.NXT] gets a challenge ACK.
        ack = seg.ack
        if sq.gt(ack, self.snd_max) and not self.config.challenge_unsent_ack:
            self._drop(seg, "ACK of data not yet sent")  # Linux: no challenge ACK
            return False
        if sq.lt(ack, sq.add(self.snd_una, -self.max_snd_wnd)) or sq.gt(ack, self.snd_max):
            self._drop(seg, "ACK outside the send window (challenge ACK)")
            self._challenge_ack(now)
            return False
        # RFC 7323 4.3: remember the timestamp to echo, only now that the ACK
        # is acceptable (RFC 5961 5.2: a blind segment is discarded first)
        if ts is not None and sq.le(seg.seq, self.last_ack_sent):
            self.ts_recent = ts.value
        fin_was_unacked = self.send_buf.fin_queued and self._fin_unacked()
        self._process_ack(seg, now)
        if fin_was_unacked and not self._fin_unacked():
            return self._fin_acked(seg, now)
        # CLOSING and LAST-ACK: nothing else matters until our FIN is acknowledged
        return self.state not in (_S.CLOSING, _S.LAST_ACK)

    def _ack_of_syn(self, seg: Segment, now: float) -> bool:
        """SYN-RECEIVED: an ACK of our SYN makes the connection ESTABLISHED."""
        if not (sq.lt(self.snd_una, seg.ack) and sq.le(seg.ack, self.snd_max)):
            self._drop(seg, "unacceptable ACK in SYN-RECEIVED")
            self._emit_rst(seg.ack, now)
            return False
        self._syn_acked_after_timeout()
        self.snd_wnd = seg.window << self.snd_wscale
        self.max_snd_wnd = max(self.max_snd_wnd, self.snd_wnd)
        self.snd_wl1, self.snd_wl2 = seg.seq, seg.ack
        self._transition(_T.RCV_ACK_OF_SYN, "rcv ACK of SYN")
        self._event(Connected())
        if self.send_buf.fin_queued:
            # a shutdown_write() made in SYN-SENT, before a simultaneous open:
            # the CLOSE queued until ESTABLISHED is processed now (RFC 9293 3.10.4)
            self._transition(_T.CLOSE, "queued CLOSE")
        if self._syn_text:
            text, self._syn_text = self._syn_text, b""
            self._accept_text(self.rcv_nxt, text, now)
        return True

    def _fin_acked(self, seg: Segment, now: float) -> bool:
        """This ACK covers our FIN: FIN-WAIT-1 -> FIN-WAIT-2, CLOSING ->
        TIME-WAIT, LAST-ACK -> CLOSED. Returns whether processing goes on."""
        st = self.state
        if st is _S.FIN_WAIT_1:
            if seg.flags & FIN and self._fin_in_order(seg):
                return True  # handled with the FIN (FIN-WAIT-1 -> TIME-WAIT)
            self._transition(_T.RCV_ACK_OF_FIN, "rcv ACK of FIN")
            if self.config.fin_wait_2_timeout is not None and self._user_closed:
                self._t_fin_wait_2 = now + self.config.fin_wait_2_timeout
            return True
        if st is _S.CLOSING:
            self._enter_time_wait(_T.RCV_ACK_OF_FIN, "rcv ACK of FIN", now)
            return False
        if st is _S.LAST_ACK:
            self._event(ConnectionClosed())
            self._enter_closed(_T.RCV_ACK_OF_FIN, "rcv ACK of FIN")
            return False
        return True

    def _text_and_fin(self, seg: Segment, now: float) -> None:
        st = self.state
        payload = seg.payload
        seq = seg.seq
        fin = bool(seg.flags & FIN)
        if payload and st in _RECEIVING_STATES:
            if self._user_closed and self.config.rst_on_data_after_close:
                # RFC 9293 3.6 / RFC 1122 4.2.2.13: data after CLOSE is lost; say so.
                self._drop(seg, "data after CLOSE")
                self._abort("data after CLOSE", err.CONNECTION_RESET)
                return
            if self.sack_ok and self.config.dsack and self._note_duplicate(seq, len(payload)):
                self._ack_now = True  # a D-SACK is news for the sender: no delay
            # Trim what we already have and what lies beyond the window.
            if sq.lt(seq, self.rcv_nxt):
                cut = sq.sub(self.rcv_nxt, seq)
                payload = payload[cut:]
                seq = self.rcv_nxt
            room = sq.sub(sq.add(self.rcv_nxt, self._receive_window()), seq)
            if len(payload) > room:
                payload = payload[: max(room, 0)]
                fin = False
            if payload:
                self._accept_text(seq, payload, now)
        elif payload:
            self._drop(seg, f"text in {st}")
            return
        if fin:
            fin_seq = sq.add(seq, len(payload))
            if fin_seq == self.rcv_nxt:
                self._take_fin(now)
            elif sq.gt(fin_seq, self.rcv_nxt):
                self._ooo_fin = fin_seq  # out of order: wait for the hole to fill
                if not payload:  # text with it already drew the duplicate ACK
                    self._send_ack(now)

    def _fin_in_order(self, seg: Segment) -> bool:
        """Will this segment's FIN be taken now (no hole before it, inside the window)?"""
        end = sq.add(seg.seq, len(seg.payload))
        right = sq.add(self.rcv_nxt, self._receive_window())
        return sq.le(seg.seq, self.rcv_nxt) and sq.le(end, right)

    # -- arriving text --------------------------------------------------
    def _accept_text(self, seq: int, payload: bytes, now: float) -> None:
        n = len(payload)
        if seq == self.rcv_nxt:
            if self._recv_buf:
                self._recv_buf += payload
            else:
                self._recv_buf = bytearray(payload)
            self.rcv_nxt = sq.add(seq, n)
            delivered = n
            filled_hole = False
            held = False  # text still held above RCV.NXT after this
            ooo = self._ooo
            if ooo is not None and ooo.blocks:
                moved, filled_hole = ooo.drain_into(cast(bytearray, self._recv_buf), self.rcv_nxt)
                self.rcv_nxt = sq.add(self.rcv_nxt, moved)
                delivered += moved
                held = ooo.blocks > 0
            self.stats.bytes_received += delivered
            self._event(DataReceived(delivered))
            if self._ooo_fin is not None and self._ooo_fin == self.rcv_nxt and not held:
                self._take_fin(now)  # a FIN that waited for this text: one ACK covers both
            elif filled_hole or held:
                self._send_ack(now)  # RFC 5681 4.2: ACK at once when a hole fills
            else:
                self._schedule_ack(n, now)
        else:
            ooo = self._ooo_queue()
            pruned = ooo.pruned_bytes
            ooo.store(seq, payload, self.rcv_nxt)
            self.stats.ooo_pruned_bytes += ooo.pruned_bytes - pruned
            # RFC 5681 4.2: a duplicate ACK at once, one for every such segment
            # (the sender counts them), not one for a burst.
            self._send_ack(now)

    def _schedule_ack(self, nbytes: int, now: float) -> None:
        """Delayed ACK: at least every second full segment, within the timeout."""
        self._last_received = now
        self._ato_set = True  # tcp_event_data_recv: the first data sets ato
        if not self.config.delayed_ack:
            self._ack_now = True
            return
        if self._quickacks is None:  # the first data: the quick-ACK budget
            mss = self.rcv_mss or self.mss_payload()
            self._quickacks = min(
                self.config.quickack_initial, max(self._receive_window() // (2 * mss), 2)
            )
        if self._quickacks > 0 and not self._pingpong:
            self._quickacks -= 1
            self._ack_now = True
            return
        full = nbytes >= self.mss_payload() or not self.config.delayed_ack_full_segments_only
        self._unacked_segments += 1 if full else 0
        if self._unacked_segments >= self.config.quickack_segments:
            # Due now; segments that arrived together share it (as with receive
            # offload), where out-of-order ones each get their own (see above).
            self._ack_now = True
        elif self._t_delack is None:
            self._t_delack = now + self.config.delayed_ack_timeout

    def _take_fin(self, now: float) -> None:
        """Eighth step: the peer's FIN, in order (RFC 9293 3.10.7.4)."""
        self._ooo_fin = None
        self._fin_received = True
        self.rcv_nxt = sq.add(self.rcv_nxt, 1)
        self._ack_now = True
        self._event(EndOfStream())
        st = self.state
        if st in (_S.SYN_RECEIVED, _S.ESTABLISHED):
            self._transition(_T.RCV_FIN, "rcv FIN")
        elif st is _S.FIN_WAIT_1:
            if self._fin_unacked():
                self._transition(_T.RCV_FIN, "rcv FIN (simultaneous close)")
            else:
                self._enter_time_wait(_T.RCV_FIN_ACK_OF_FIN, "rcv FIN,ACK", now)
        elif st is _S.FIN_WAIT_2:
            self._t_fin_wait_2 = None
            self._enter_time_wait(_T.RCV_FIN, "rcv FIN", now)

    # -- arriving ACKs --------------------------------------------------
    def _process_ack(self, seg: Segment, now: float) -> None:
        """An acceptable ACK (fifth step): loss recovery hears it first, then
        SND.UNA, the send buffer, the timers and the send window move."""
        ack = seg.ack
        una = self.snd_una
        rec = self.recovery
        if (
            ack == una == self.snd_max
            and rec.probe_episode is None
            and not (self.ecn_ok and seg.flags & ECE)
        ):
            # Nothing of ours in flight (a receiver's usual case): no loss to
            # detect, not a duplicate ACK (RFC 5681 2), nothing for recovery.
            self._update_send_window(seg, una, ack, now)
            return
        advanced = sq.lt(una, ack)
        resend = rec.on_ack(
            ack, una, self.snd_nxt, self.snd_max,
            seg.sack_blocks if rec.sack_sender else (),
            ack == una and self._is_duplicate_ack(seg),  # duplicate
            bool(seg.payload),  # carries_data
            bool(self.ecn_ok and seg.flags & ECE),  # ecn_echo
            self._rtt_measurement(seg, ack, now) if advanced else None,  # rtt_sample
            now,
            self.max_snd_wnd,  # max_window: how far below SND.UNA a SACK block may reach
        )  # fmt: skip
        probing = self.mtu_probing
        if probing is not None and probing.probe_mtu:  # RFC 4821: the probe's fate
            mtuprobe.on_ack(self, ack, bool(resend))
        if advanced:
            self._take_acknowledged(ack, now)
        if resend:
            self._resend_as(resend, now)
        self._update_send_window(seg, una, ack, now)

    def _is_duplicate_ack(self, seg: Segment) -> bool:
        """RFC 5681 2: no data, no SYN or FIN, the same window, data outstanding.
        With the window closed, what is outstanding is a probe, and its ACKs say
        nothing of loss."""
        return not (
            seg.payload
            or seg.flags & (SYN | FIN)
            or self.snd_max == self.snd_una
            or seg.window == 0
            or (seg.window << self.snd_wscale) != self.snd_wnd
        )

    def _rtt_measurement(self, seg: Segment, ack: int, now: float) -> float | None:
        """The round trip this ACK measures: from its timestamp echo (RFC 7323 4),
        or for the one timed segment (RFC 6298 3, Karn's rule)."""
        ts = seg.timestamps if self.ts_ok else None
        if ts is not None and ts.echo_reply:
            return sq.sub(self.ts_clock(now), ts.echo_reply) / self.config.timestamp_hz
        if self._rtt_seq is not None and sq.gt(ack, self._rtt_seq):
            self._rtt_seq = None
            return now - self._rtt_time
        return None

    def _take_acknowledged(self, ack: int, now: float) -> None:
        """SND.UNA advances to ``ack``: free the acknowledged data, restart the timers."""
        buf = self.send_buf
        data_acked = buf.release(ack)
        self.snd_una = ack
        if sq.lt(self.snd_nxt, ack):
            self.snd_nxt = ack
        self._retransmits = 0
        self._rexmit_since = None
        self._on_progress(now)
        if buf.overflowed and data_acked:
            buf.overflowed = False
            self._event(SendSpaceAvailable(buf.space))

    def _update_send_window(self, seg: Segment, una: int, ack: int, now: float) -> None:
        """RFC 9293 3.10.7.4: take the window from the newest segment (SND.WL1/WL2).
        Any acceptable ACK answers our zero-window probes."""
        self._probes_unanswered = 0
        if sq.le(una, ack) and (
            sq.lt(self.snd_wl1, seg.seq) or (self.snd_wl1 == seg.seq and sq.le(self.snd_wl2, ack))
        ):
            was_zero = self.snd_wnd == 0
            self.snd_wnd = seg.window << self.snd_wscale
            self.snd_wl1, self.snd_wl2 = seg.seq, ack
            if self.snd_wnd > self.max_snd_wnd:
                self.max_snd_wnd = self.snd_wnd
            if was_zero and self.snd_wnd:
                self._t_persist = None
                self._persist_backoff = 0
                if self._t_rexmit is None and self.snd_max != self.snd_una:
                    self._t_rexmit = now + self.rtt.rto  # what is out may need resending

    # -- sending again ------------------------------------------------------
    def _resend_as(self, resend: Resend, now: float) -> None:
        """Carry out what loss recovery decided to send again."""
        if resend & Resend.GO_BACK:
            self.snd_nxt = self.snd_una
        if resend & Resend.FIRST:
            self._retransmit_first(now)
        rec = self.recovery
        if resend & Resend.FIRST_LOST:
            self._resend(rec.first_to_resend(), now)
        if resend & Resend.LOST:
            while (lost := rec.next_to_resend(self.snd_una, self.snd_nxt)) is not None:
                self._resend(lost, now)

    def _resend(self, lost: SentSegment, now: float) -> None:
        """Resend (up to one SMSS of) a segment judged lost."""
        buffered = sq.sub(self.send_buf.end, lost.start)
        mss = self._send_mss()
        end = lost.end
        if self.config.segmentation_offload > mss:  # the device cuts one resend of a run
            end = self.recovery.lost_run_end(lost, self.snd_una, self.snd_nxt, self._size_goal(mss))
            # MSG_EOR: a resend does not cross a record's end either
            end = sq.add(lost.start, self.send_buf.record_room(lost.start, sq.sub(end, lost.start)))
            mss = sq.sub(end, lost.start)
        size = min(mss, sq.sub(end, lost.start), max(buffered, 0))
        if size == 0 and not (self.send_buf.fin_queued and buffered == 0):
            self.recovery.nothing_left_at(lost)
            return
        self._emit_range(lost.start, size, now, retransmission=True)

    def _retransmit_first(self, now: float) -> None:
        """Fast retransmit or partial ACK: resend the segment at SND.UNA."""
        if self.snd_una == self.iss:
            self._send_syn(now)
            return
        size = min(self._send_mss(), len(self.send_buf))
        size = self.send_buf.record_room(self.snd_una, size)  # not past a record's end
        self._emit_range(self.snd_una, size, now, retransmission=True)

    def _on_progress(self, now: float) -> None:
        """snd_una moved: restart or stop the retransmission and user timers (RFC 6298 5.2-5.3)."""
        self.soft_error = None  # the path works after all
        if self.snd_una == self.snd_max:
            self._t_rexmit = None
            self._t_user = None
            self.recovery.cancel_probe()
        else:
            self._t_rexmit = now + self.rtt.rto
            if self.config.user_timeout is not None:
                self._t_user = now + self.config.user_timeout
            self._arm_tail_probe(now)

    # -- timers -----------------------------------------------------------
    def _on_retransmission_timeout(self, now: float) -> None:
        cfg = self.config
        if self.snd_una == self.snd_max and not self._fin_unacked():
            return
        if self.snd_wnd == 0 and self.snd_una != self.iss:
            # The peer's window is closed: resending into it would only be
            # dropped. Probe it instead, for as long as the peer answers.
            self._arm_persist(now)
            return
        if self._rexmit_since is None:
            self._rexmit_since = now
            first_syn = self._rtt_time if self._rtt_seq == self.iss else None
            if self.snd_una == self.iss and first_syn is not None:
                # a SYN's time counts from when it first went, as Linux's
                # retrans_stamp (its tcp_syn_retries model: 1 + 2 + ... s)
                self._rexmit_since = first_syn
        elif self._past_r2(now):
            self._give_up("retransmission limit R2", err.RETRANSMISSION_TIMEOUT)
            return
        self._retransmits += 1
        if cfg.mtu_probing:  # RFC 4821: a lost probe, or a black hole
            mtuprobe.on_retransmission_timeout(self)
        if self._retransmits == cfg.r1:
            self._event(RetransmissionWarning(self._retransmits))
        self.rtt.back_off()  # RFC 6298 5.5
        self._rtt_seq = None  # Karn: never time a retransmitted segment
        self._t_rexmit = None
        resend = self.recovery.on_retransmission_timeout(now, self.snd_una, self.snd_max)
        self._resend_as(resend, now)
        if not resend & Resend.GO_BACK:
            self._t_rexmit = now + self.rtt.rto  # RFC 6298 5.5-5.6, backed off

    def _past_r2(self, now: float) -> bool:
        """RFC 9293 3.8.3: give up once the retransmissions are counted out and
        the RFC's minimum time has passed (3 minutes for a SYN)."""
        cfg = self.config
        assert self._rexmit_since is not None
        # (a nanosecond's slack: 3.3 - 0.3 is 2.9999999999999996 in floats)
        elapsed = now - self._rexmit_since + 1e-9
        if self.snd_una != self.iss:
            return self._retransmits >= cfg.retries and elapsed >= cfg.r2
        limit = cfg.synack_retries if self.state is _S.SYN_RECEIVED else cfg.syn_retries
        return self._retransmits >= limit and elapsed >= cfg.syn_r2

    def _send_window_probe(self, now: float) -> None:
        """RFC 9293 3.8.6.1: probe a zero window with one octet of new data, or,
        with everything already sent, with a bare ACK below SND.UNA that the peer
        must answer with its window (RFC 1122 4.2.2.17). Probes go on while the
        peer answers them; ``persist_max_probes`` unanswered in a row give up."""
        if self.state not in _SENDING_STATES or self.snd_wnd >= self.mss_payload():
            return
        unsent = self._unsent()
        if unsent <= 0 and self.snd_max == self.snd_una:
            return  # nothing waits for the window
        if self._probes_unanswered >= self.config.persist_max_probes:
            self._give_up("zero-window probes unanswered", err.ZERO_WINDOW_TIMEOUT)
            return
        self._probes_unanswered += 1
        if unsent > 0:
            size = max(1, min(self.snd_wnd - self._flight(), unsent))
            self._emit_range(self.snd_nxt, size, now, probe=True)
        else:
            self._emit_control(sq.add(self.snd_una, -1), ACK, now)
        self._persist_backoff += 1
        self._arm_persist(now)

    def _give_up(self, cause: str, reason: str) -> None:
        """A timer ran out: tell the peer with a RST where it still has a
        connection (RFC 9293 3.10.5, as for ABORT), and close."""
        if self.state in _RESET_ON_ABORT:
            self._emit_rst(self.snd_max, self._now)
        error = None
        if self.soft_error is not None and reason != err.CONNECTION_ABORTED:
            # the last ICMP error explains the timeout (RFC 1122 4.2.3.9; Linux's sk_err_soft)
            error, text = self.soft_error
            reason = f"{reason}; last ICMP error: {text}"
        self._event(ConnectionAborted(reason, error))
        self._enter_closed(_T.TIMEOUT, cause)

    def _arm_persist(self, now: float) -> None:
        cfg = self.config
        interval = min(
            max(self.rtt.rto, cfg.persist_min) * (1 << self._persist_backoff), cfg.persist_max
        )
        self._t_persist = now + interval

    def _arm_keepalive(self, now: float) -> None:
        self._keepalive_probes = 0
        self._t_keepalive = now + self.config.keepalive_idle

    def _on_keepalive(self, now: float) -> None:
        cfg = self.config
        if not self.state.synchronized or self.state is _S.TIME_WAIT:
            return
        if self._keepalive_probes >= cfg.keepalive_probes:
            self._give_up("keep-alive timeout", err.KEEPALIVE_TIMEOUT)
            return
        self._keepalive_probes += 1
        # RFC 9293 3.8.4: a probe with SEG.SEQ = SND.NXT - 1 draws an ACK.
        self._emit_control(sq.add(self.snd_una, -1), ACK, now)
        self._t_keepalive = now + cfg.keepalive_interval

    # ------------------------------------------------------------------
    # Output
    # ------------------------------------------------------------------
    def _output(self, now: float) -> None:
        st = self.state
        if st is _S.CLOSED or st is _S.LISTEN or st is _S.TIME_WAIT:
            return
        # Our SYN, first sent or resent after a timeout.
        if self.snd_una == self.iss and self.snd_nxt == self.iss:
            tfo = self.fastopen
            if tfo is not None and self.snd_max == self.iss and st is _S.SYN_SENT:
                if tfo.holds_syn(len(self.send_buf), self.send_buf.fin_queued):
                    return  # TCP_FASTOPEN_CONNECT: the SYN waits for data
            text = self._send_syn(now)
            self._advance_snd_nxt(sq.add(self.iss, 1 + text), now)
            if self._retransmits == 0 and self._rtt_seq is None:
                self._rtt_seq, self._rtt_time = self.iss, now
        if self.snd_una != self.iss or st is not _S.SYN_SENT:
            self._output_data(now)
        if self._ack_now and st is not _S.SYN_SENT:
            self._send_ack(now)

    def _send_ack(self, now: float) -> None:
        """A bare ACK, now.

        It carries the highest sequence sent (RFC 9293 3.10.7.4's SND.NXT),
        never one rewound for retransmission: below the peer's RCV.NXT it would
        be unacceptable, its ACK ignored, and answered by an ACK just as stale
        (an endless ACK exchange after both sides time out).
        """
        if self.config.ack_repeats_fin and self._fin_unacked():
            fin_seq = self.send_buf.end
            if sq.gt(self.snd_max, fin_seq):  # sent: repeat it with this ACK
                self._emit_control(fin_seq, FIN | ACK, now)
                return
        self._emit_control(self.snd_max, ACK, now)

    def _output_data(self, now: float) -> None:
        """Send what the windows allow, with Nagle and sender SWS avoidance (3.7.4, 3.8.6.2.1)."""
        # RFC 7413 4.2.2: a Fast Open server may send before the handshake completes
        early = self.state is _S.SYN_RECEIVED and self._fastopen_accepted()
        if self.state not in _SENDING_STATES and not self._fin_unacked() and not early:
            return
        syn_acked = self.snd_una != self.iss or early
        mss = self._send_mss()
        cfg = self.config
        nodelay = cfg.nodelay
        rec = self.recovery
        buf = self.send_buf
        self._restart_after_idle(now)
        # RFC 4821: a probe first, if one is due; or new data waits for ACKs
        probing = self.mtu_probing is not None and self.mtu_probing.enabled
        if probing and syn_acked and mtuprobe.probe(self, now) is None:
            return
        gso = cfg.software_gso and not cfg.segmentation_offload
        gso_left = 0  # segments left in the current software GSO packet
        snd_max = self.snd_max
        # What holds for the whole burst: the most one segment carries, whether
        # small data waits (cork, MSG_MORE: until a FIN), and where the flight
        # starts. A Fast Open child's SYN,ACK is no part of its flight: Linux's
        # child starts at SND.UNA = ISS + 1 (RFC 7413 4.2.2, data in
        # SYN-RECEIVED; tcp_create_openreq_child).
        goal = self._size_goal(mss)
        held = ((self.cork and not self._cork_flush) or self._more) and not buf.fin_queued
        base = sq.add(self.snd_una, 1) if early and self.snd_una == self.iss else self.snd_una
        while syn_acked:
            snd_nxt = self.snd_nxt
            unsent = buf.unsent(snd_nxt)
            if unsent <= 0:
                break
            record = buf.record_room(snd_nxt, unsent)  # MSG_EOR: up to a record's end
            flight = sq.sub(snd_nxt, base)
            # the peer's window counts all sent; congestion control, what it says
            usable = min(self.snd_wnd - flight, rec.send_room(base, snd_nxt))
            size = min(goal, record, usable)
            if mss < size < record or (held and size > mss):
                size -= size % mss  # a super-segment is whole segments, but at the end
            if size <= 0:
                if (
                    self.snd_wnd == 0
                    and flight == 0
                    and self._t_persist is None
                    and self._t_rexmit is None
                ):
                    self._arm_persist(now)
                break
            if size < mss and not (
                # a record's end goes at once (only the last data waits, as Linux)
                (size == record < unsent)
                # nothing in flight (an early Fast Open answer: nothing but our SYN)
                or (size == unsent and not held and (flight == 0 or nodelay or buf.fin_queued))
                or (not held and self.max_snd_wnd and size >= self.max_snd_wnd // 2)
                # Minshall: no small segment of ours is unacknowledged
                or (size == unsent and not held and self._no_small_unacked())
            ):
                if flight == 0 and self._t_persist is None:
                    self._arm_persist(now)  # the SWS override timeout
                break
            if self._t_pace is not None:
                break  # paced: the timer lets the next one out
            push = False
            if gso:  # a GSO packet's last segment is pushed (config.software_gso)
                if gso_left <= 0:
                    cwnd = rec.cc.cwnd // mss
                    gso_left = max(min(cwnd // 2, cwnd - -(-flight // mss)), 1)
                gso_left -= 1
                push = gso_left == 0 and not held
            self._emit_range(snd_nxt, size, now, push=push, smss=mss, arm_probe=False)
            if cfg.pacing:
                self._pace(size, now)
        if self.snd_max != snd_max:
            self._arm_tail_probe(now)  # RFC 8985 7.2: once new data is out (as Linux)
        self._cork_flush = False
        if cfg.cwnd_validation:
            rec.note_flight(self.snd_una, self.snd_nxt, self._flight())
        # A FIN with no data left to carry it.
        if buf.fin_queued and self.snd_nxt == buf.end and buf.unsent(self.snd_nxt) == 0:
            if syn_acked or not buf:
                self._emit_range(self.snd_nxt, 0, now)

    def _no_small_unacked(self) -> bool:
        """Minshall's Nagle (``nagle_minshall``): no segment smaller than the
        MSS is in flight (Linux's tcp_minshall_check)."""
        sml = self._snd_sml
        return self.config.nagle_minshall and (
            sml is None or not sq.gt(sml, self.snd_una) or sq.gt(sml, self.snd_nxt)
        )

    def _restart_after_idle(self, now: float) -> None:
        """RFC 5681 4.1: new data after an idle time longer than the RTO starts
        from the restart window (``restart_after_idle``)."""
        last = self._last_data_sent
        if (
            not self.config.restart_after_idle
            or last is None
            or self._flight()
            or not self._unsent()
            or now - last <= self.rtt.rto
        ):
            return
        mss = self.mss_payload()
        iw = self.config.initial_window_for(mss) or self.recovery.cc.rfc5681_initial_window(mss)
        self.recovery.cc.restart_after_idle(now - last, self.rtt.rto, iw)
        self._last_data_sent = now

    def _size_goal(self, mss: int) -> int:
        """The most one new segment carries: SMSS, or with segmentation offload
        the device's limit in whole SMSS-sized pieces."""
        offload = self.config.segmentation_offload
        return max(mss, offload - offload % mss) if offload > mss else mss

    # -- tail loss probe (RFC 8985 7) ---------------------------------------
    def _arm_tail_probe(self, now: float) -> None:
        """(Re)arm the probe timer: with SACK, once data has gone out after the
        handshake (a FIN alone needs none: its RTO will do)."""
        if (
            self.sack_ok
            and self.send_buf
            and self.snd_una != self.iss
            and self.state in _SENDING_STATES
        ):
            flight = (self.snd_nxt - self.snd_una) & sq.MASK
            self.recovery.arm_probe(now, True, flight, self._t_rexmit)
        else:
            self.recovery.cancel_probe()

    def _send_tail_probe(self, now: float) -> None:
        """RFC 8985 7.3: send one new segment if the window allows, else resend the
        last one, so that a lost tail shows up in SACK blocks instead of an RTO."""
        mss = self._send_mss()  # room for the SACK blocks the probe carries
        if self._unsent() > 0 and self.snd_wnd > self._flight():
            size = min(mss, self._unsent(), self.snd_wnd - self._flight())
            self._emit_range(self.snd_nxt, size, now)
            return
        # The highest segment sent (its text ends at SND.MAX, or at the text's
        # end once the FIN is out), not the buffer's last, which may be unsent
        # and beyond the window: data goes out in MSS pieces from the buffer's start
        buf = self.send_buf
        sent_end = sq.min_seq(buf.end, self.snd_max)
        start = buf.last_segment_start(mss, self.snd_una, sent_end)
        size = min(mss, sq.sub(sent_end, start))
        if size > 0:
            self._emit_range(start, size, now, retransmission=True)
            self._t_rexmit = now + self.rtt.rto  # RFC 8985 7.3: rearm the RTO after a probe
            self.recovery.on_probe_resent(start, self.snd_max)

    def _pace(self, size: int, now: float) -> None:
        """Space new segments at a multiple of cwnd / SRTT (twice in slow start,
        1.2 times after, as Linux does), instead of sending a window in a burst."""
        srtt = self.rtt.srtt
        if srtt is None or srtt <= 0:
            return  # no RTT yet: the first window goes as it is
        cc = self.cc
        gain = 2.0 if cc.cwnd < cc.ssthresh else 1.2
        self._t_pace = now + size * srtt / (gain * cc.cwnd)

    def _emit_range(
        self,
        seq: int,
        size: int,
        now: float,
        retransmission: bool = False,
        probe: bool = False,
        mtu_probe: bool = False,
        push: bool = False,
        smss: int | None = None,
        arm_probe: bool = True,
    ) -> None:
        """Send ``size`` bytes of the send buffer from ``seq``, with FIN if they
        end it. ``probe``: a window probe; ``mtu_probe``: RFC 4821's; ``push``:
        PSH, whatever the data's end. ``smss``: the segment size the caller cut
        by (a burst keeps the one it began with), else the send MSS now.
        ``arm_probe``: False for one of a burst of new data, whose sender arms
        the tail loss probe once the burst is out."""
        if smss is None:
            smss = self._send_mss()  # before the segment's options take the D-SACK
        payload, last = self.send_buf.text(seq, size)
        flags = ACK | PSH if push and size else ACK
        end = sq.add(seq, size)
        if last:
            if self.send_buf.fin_queued:
                flags |= FIN
                end = sq.add(end, 1)
            if size and (self.send_buf.fin_queued or end != self._unpushed):
                flags |= PSH  # the end of a write, unless written with MSG_MORE
        elif size and self.send_buf.records and end in self.send_buf.records:
            flags |= PSH  # MSG_EOR: a record's end is pushed, as the end of a write
        if sq.lt(seq, self.snd_max):
            retransmission = True
        elif self.config.segmentation_offload and size > smss and not self._more and not mtu_probe:
            # a super-segment of new data goes pushed, as Linux's full write
            # buffers do (one SMSS or less is pushed only if it ends the data;
            # none under MSG_MORE)
            flags |= PSH
        # RFC 3168 6.1.5/6.1.6: new data is ECN-capable; retransmissions and
        # probes are not. The first new data after a reduction carries CWR.
        ect = self.ecn_ok and size > 0 and not retransmission and not probe
        rec = self.recovery
        if ect and self._cwr_mark != rec.reductions:
            flags |= CWR
            self._cwr_mark = rec.reductions
        self._emit_control(seq, flags, now, None, payload, ECT_0 if ect else NOT_ECT)
        if not retransmission:
            self.stats.bytes_sent += size
            if size:
                self._last_data_sent = now
                if self.config.nagle_minshall and size < smss:
                    self._snd_sml = end  # a small segment (Minshall's Nagle)
        elif not probe:  # a probe sent again is still a probe, not a repair
            self.stats.retransmitted_segments += 1
        if size and not probe and self.config.pingpong_acks:
            heard = self._last_received
            ato = self.config.delayed_ack_timeout
            if self._ato_set and heard is not None and now - heard < ato:
                self._pingpong = True  # a reply: interactive (tcp_event_data_sent)
        if rec.sack_sender:  # only a SACK sender keeps per-segment records
            if size > smss and self.config.segmentation_offload:
                # a super-segment: one record of the SMSS-sized pieces the
                # device cuts it into, split when an ACK or resend must (rack.py)
                rec.on_segment_sent(seq, end, size, now, retransmission, probe, smss)
            else:
                piece, left = seq, size
                while left > smss:
                    rec.on_segment_sent(
                        piece, sq.add(piece, smss), smss, now, retransmission, probe
                    )
                    piece, left = sq.add(piece, smss), left - smss
                rec.on_segment_sent(piece, end, left, now, retransmission, probe)
        if probe:
            # A window probe stays out of the flight: only SND.MAX moves.
            if sq.gt(end, self.snd_max):
                self.snd_max = end
            return
        if not retransmission and self._rtt_seq is None and size and self._retransmits == 0:
            self._rtt_seq, self._rtt_time = seq, now
        if not sq.lt(end, self.snd_nxt) or not retransmission:
            self._advance_snd_nxt(end, now, arm_probe)

    def _advance_snd_nxt(self, end: int, now: float, arm_probe: bool = True) -> None:
        if sq.gt(end, self.snd_nxt):
            self.snd_nxt = end
        new_data = sq.gt(end, self.snd_max)
        if new_data:
            if self.snd_max == self.snd_una:
                timeout = self.config.user_timeout
                if self.snd_una == self.iss and self.config.connect_timeout is not None:
                    timeout = self.config.connect_timeout  # our SYN: the handshake's own limit
                if timeout is not None:
                    self._t_user = now + timeout
            self.snd_max = end
        if self._t_rexmit is None:
            self._t_rexmit = now + self.rtt.rto  # RFC 6298 5.1
            self._t_persist = None
        if new_data and arm_probe:
            self._arm_tail_probe(now)  # RFC 8985 7.2: (re)armed as new data goes out

    def _emit_control(
        self,
        seq: int,
        flags: int,
        now: float,
        options: tuple[Option, ...] | None = None,
        payload: bytes = b"",
        ecn: int = NOT_ECT,
    ) -> None:
        """Build a segment from the TCB and queue it."""
        syn = flags & SYN
        window = self._window_field(bool(syn))
        if options is None:
            options = self._segment_options()
        ack = self.rcv_nxt if flags & ACK else 0
        if self._ece_due and flags & ACK and not syn:
            flags |= ECE  # RFC 3168 6.1.3: echo congestion until the peer says CWR
        seg = Segment(
            self.local[1], self._rport, seq, ack, flags, window, 0, options, payload, ecn=ecn
        )
        if flags & ACK:
            self.last_ack_sent = ack
            self._ack_now = False
            self._t_delack = None
            self._unacked_segments = 0
        self._emit(seg, now)

    def _emit_rst(self, seq: int, now: float, ack: bool = False) -> None:
        """A RST from this connection, with RCV.NXT acknowledged if ``ack``; with
        a timestamp once they are in use (RFC 7323 3.2: SHOULD)."""
        options: tuple[Option, ...] = ()
        if self.ts_ok:
            options = (NOP, NOP, Timestamps(self.ts_clock(now), self.ts_recent))
        flags, rcv = (RST | ACK, self.rcv_nxt) if ack else (RST, 0)
        self._emit(Segment(self.local[1], self._rport, seq, rcv, flags, 0, 0, options), now)

    def _emit(self, seg: Segment, now: float) -> None:
        out = self._out
        if out is None:
            self._out = [seg]  # no list is kept while nothing waits to go
        else:
            out.append(seg)
        self.stats.segments_sent += 1
        tracer = self.tracer
        if tracer is not None:
            tracer.segment(self, now, "sent", seg, None)

    # -- options and windows ----------------------------------------------
    def _syn_flags(self) -> int:
        """SYN, or SYN,ACK; with RFC 3168 6.1.1's ECN setup where it is due: ECE and
        CWR on our SYN (its first ``ecn_syn_retries`` retransmissions too), ECE
        on a SYN,ACK to a peer that asked."""
        cfg = self.config
        if self.state is _S.SYN_SENT:
            if cfg.ecn == "on" and self._retransmits <= cfg.ecn_syn_retries:
                return SYN | ECE | CWR
            return SYN
        return SYN | ACK | ECE if self.ecn_ok else SYN | ACK

    def _send_syn(self, now: float) -> int:
        """Our SYN (or SYN,ACK), first sent or resent; how much text it carries
        (RFC 7413: a Fast Open SYN)."""
        flags = self._syn_flags()
        first = self.snd_max == self.iss
        if not first:  # sent before: this is a retransmission
            self.stats.retransmitted_segments += 1
        options = self._syn_options_for(flags)
        text = b""
        tfo = self.fastopen
        if tfo is not None:
            if tfo.active:
                options, size = tfo.client_syn(options, first, len(self.send_buf), self.rcv_mss)
                if size:
                    text = self.send_buf.text(sq.add(self.iss, 1), size)[0]
                    self.stats.bytes_sent += size
            else:
                options = tfo.server_syn_ack(options, first)
        self._emit_control(self.iss, flags, now, options, text)
        return len(text)

    def _acceptable(self, seq: int, seg_len: int) -> bool:
        """RFC 9293 3.10.7.4, the sequence check, for RCV.WND as it is now."""
        rcv_nxt = self.rcv_nxt
        if seq == rcv_nxt and (
            seg_len == 0
            or (len(self._recv_buf) < self.recv_buffer and self.state is not _S.SYN_RECEIVED)
        ):
            # the common cases: a bare ACK at RCV.NXT, or text at RCV.NXT with
            # room in the buffer (so RCV.WND > 0)
            return True
        return acceptable(seq, seg_len, rcv_nxt, self._receive_window())

    # -- the SYN's options --------------------------------------------------
    def _take_syn(self, seg: Segment, now: float) -> None:
        """Record the peer's ISN and negotiate options from its SYN."""
        cfg = self.config
        self.irs = seg.seq
        self.rcv_nxt = sq.add(seg.seq, 1)
        asked = cfg.ecn == "on" and self._retransmits <= cfg.ecn_syn_retries
        agreed = agree(cfg, seg, self.rcv_mss, ecn_asked=asked)
        self.ecn_ok = agreed.ecn
        # The window in a SYN is never scaled (RFC 7323 2.2).
        self.rcv_adv = sq.add(self.rcv_nxt, min(self.recv_buffer - len(self._recv_buf), 65535))
        if agreed.snd_mss is not None:
            self.snd_mss = shared_int(agreed.snd_mss)
        if self.path_mtu < cfg.mtu:  # a "packet too big" came before (tcp/icmp.py)
            self.snd_mss = min(self.snd_mss, self.path_mtu - headers_of(self.local[0].version))
        if cfg.round_recv_buffer_to_mss:
            mss = self.snd_mss
            self.recv_buffer = -(-self.recv_buffer // mss) * mss
            if self._ooo is not None:
                self._ooo.limit = 2 * self.recv_buffer
        self.ws_ok = agreed.window_scaling
        self.snd_wscale = agreed.snd_wscale
        if not self.ws_ok:
            self.rcv_wscale = 0
        ts = agreed.timestamps
        self.ts_ok = ts is not None
        if ts is not None:
            self.ts_recent = ts.value
        self.sack_ok = agreed.sack
        self.recovery.on_handshake(self.mss_payload(), self.sack_ok)
        mtuprobe.handshake_done(self, seg.mss, now)
        if not self.passive:
            return
        self.snd_wnd = seg.window
        self.max_snd_wnd = self.snd_wnd

    def _syn_acked_after_timeout(self) -> None:
        """Our SYN is acknowledged: its retransmissions no longer count toward R2 (3.8.3).

        RFC 6298 5.7: if the SYN timed out and no RTT was measured, RTO starts at 3 s.
        """
        if self._retransmits and self.rtt.srtt is None and self.config.rto_initial < 3.0:
            self.rtt.rto = min(3.0, self.config.rto_max)
        self._retransmits = 0
        self._rexmit_since = None

    def _choose_iss(self, now: float, iss: int | None) -> None:
        assert self.remote is not None
        self.iss = iss if iss is not None else self._isn.generate(self.local, self.remote, now)
        self.snd_una = self.snd_nxt = self.snd_max = self.iss
        self.send_buf.start = sq.add(self.iss, 1)
        self.recovery.start(self.iss)
        self.ts_offset = self.iss  # RFC 7323 5.4: a per-connection random offset

    # ------------------------------------------------------------------
    # State changes and bookkeeping
    # ------------------------------------------------------------------
    def _transition(self, stimulus: Stimulus, cause: str) -> None:
        """The one place a state changes; the tracer sees (now, old, new, cause)."""
        old = self.state
        new = next_state(old, stimulus)
        self.state = new
        if self.tracer is not None:
            self.tracer.state_changed(self, self._now, old, new, cause)
        if old is _S.SYN_RECEIVED and self.fastopen is not None:
            self._leave_fastopen_queue()
        if new is _S.ESTABLISHED and self.config.keepalive:
            self._arm_keepalive(self._now)

    def _leave_fastopen_queue(self) -> None:
        """A Fast Open child out of SYN-RECEIVED frees its place in its
        listener's queue (RFC 7413 5.1; Linux's reqsk_fastopen_remove), so
        that the Host finds room by counting, never by looking at each."""
        tfo = self.fastopen
        if tfo is not None and tfo.queue is not None:
            tfo.queue.pop(self, None)
            tfo.queue = None

    def _enter_time_wait(self, stimulus: Stimulus, cause: str, now: float) -> None:
        self._transition(stimulus, cause)
        self._clear_timers()
        ack_due = self._ack_now
        self._ack_now = False
        # The ACK of the peer's FIN goes out now, then only the record remains.
        # From CLOSING that FIN was ACKed already: a bare ACK of our FIN gets no
        # reply (RFC 9293 3.10.7.4 fifth, CLOSING: just enter TIME-WAIT).
        if ack_due:
            self._emit_control(self.snd_max, ACK, now)
        self._time_wait = TimeWait(
            self.config, self.local[1], self._rport, self.snd_max, self.rcv_nxt,
            self._window_field(False), self.ts_offset if self.ts_ok else None,
            self.ts_recent, now + 2 * self.config.msl,
        )  # fmt: skip
        self.send_buf.clear()
        self._ooo = None

    def _enter_closed(self, stimulus: Stimulus, cause: str) -> None:
        self._transition(stimulus, cause)
        self._clear_timers()
        self._time_wait = None
        self._ack_now = False

    def _clear_timers(self) -> None:
        self._t_rexmit = self._t_persist = self._t_delack = None
        self._t_keepalive = self._t_user = self._t_fin_wait_2 = self._t_pace = None
        self.recovery.cancel_timers()

    def _challenge_ack(self, now: float) -> None:
        """RFC 5961 7: challenge ACKs, at most ``challenge_ack_limit`` a second."""
        if now - self._challenge_window >= 1.0:
            self._challenge_window = now
            self._challenge_count = 0
        if self._challenge_count < self.config.challenge_ack_limit:
            self._challenge_count += 1
            self.stats.challenge_acks += 1
            # <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> (RFC 5961 3.2), a bare ACK even
            # where ``ack_repeats_fin`` would add our FIN to ordinary ACKs
            self._emit_control(self.snd_max, ACK, now)

    def _drop(self, seg: Segment, reason: str) -> None:
        self.stats.drop(reason)
        if self.tracer is not None:
            self.tracer.segment(self, self._now, "dropped", seg, reason)

    def _event(self, event: Event) -> None:
        if self._events is None:
            self._events = [event]
        else:
            self._events.append(event)

    def _timer(self, now: float, name: str) -> None:
        if self.tracer is not None:
            self.tracer.timer_fired(self, now, name)

    def _user_call(self, now: float, call: str) -> None:
        if self.tracer is not None:
            self.tracer.user_call(self, now, call)

    def _clock(self, now: float | None) -> None:
        """User calls take no time of their own; a caller may still say when it is."""
        if now is not None and now > self._now:
            self._now = now

    def _notify(self) -> None:
        if self.on_wakeup is not None:
            self.on_wakeup(self)
