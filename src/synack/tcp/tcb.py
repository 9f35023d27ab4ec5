"""The Transmission Control Block: one connection's variables (RFC 9293 3.3.1).

:class:`Tcb` holds what RFC 9293 keeps per connection (the send and receive
sequence variables, the agreed options, the buffers, the timers' deadlines)
and the quantities derived from them (SMSS, the flight, RCV.WND). It has no
behaviour of its own: :class:`~synack.tcp.connection.Connection`, its
subclass, is the state machine that reads and changes these variables. The
split keeps the state machine's file to the rules, and the variables, their
units and their first values in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from synack.tcp.config import DEFAULT_SEND_MSS_V4, DEFAULT_SEND_MSS_V6, TcpConfig, shared_int
from synack.tcp.fastopen import FastOpenState
from synack.tcp.isn import Endpoint, IsnSource, Rfc6528Isn
from synack.tcp.mtuprobe import MtuProbing
from synack.tcp.options import syn_options
from synack.tcp.reassembly import OutOfOrderQueue
from synack.tcp.recovery import LossRecovery
from synack.tcp.rto import RttEstimator
from synack.tcp.sendbuffer import SendBuffer
from synack.tcp.state import State
from synack.tcp.stats import ConnectionStats
from synack.tcp.timewait import TimeWait
from synack.tcp.tracer import Tracer
from synack.tcp.window import advertise, update_worthwhile
from synack.wire import seq as sq
from synack.wire.segment import ACK, NOP, Option, Sack, Segment, Timestamps

if TYPE_CHECKING:
    from synack.tcp.connection import Connection
    from synack.tcp.events import Event

_DEFAULT_CONFIG: Final = TcpConfig()
_DEFAULT_ISN: Final = Rfc6528Isn()
_TS_OPTION_BYTES: Final = 12  # NOP, NOP, kind, length, TSval, TSecr


class Tcb:
    """One connection's variables, and what follows from them."""

    __slots__ = (
        # identity
        "local", "remote", "config", "tracer", "state", "passive", "stats", "_isn",
        "_now", "on_wakeup", "_events", "_out", "packed_addresses",
        # send sequence variables (RFC 9293 3.3.1); snd_max is the highest sent
        "iss", "snd_una", "snd_nxt", "snd_max", "snd_wnd", "snd_wl1", "snd_wl2", "max_snd_wnd",
        # receive sequence variables; rcv_adv is the right edge we advertised
        "irs", "rcv_nxt", "rcv_adv", "rcv_up",
        # negotiated options
        "rcv_mss", "snd_mss", "snd_wscale", "rcv_wscale", "ws_ok", "ts_ok", "ts_recent",
        "ts_offset", "last_ack_sent", "sack_ok",
        # ECN (RFC 3168)
        "ecn_ok", "_ece_due", "_cwr_mark",
        # send side
        "send_buf", "_user_closed", "cork", "_more", "_unpushed", "_cork_flush", "_snd_sml",
        # receive side
        "_recv_buf", "recv_buffer", "_ooo", "_ooo_fin", "_fin_received", "_unacked_segments",
        "_quickacks", "_pingpong", "_last_received", "_ato_set", "_offered_in_syn",
        "_ack_now", "_syn_text",
        # retransmission; loss recovery and congestion control (tcp/recovery.py)
        "rtt", "recovery", "_rtt_seq", "_rtt_time", "_retransmits", "_rexmit_since",
        "_persist_backoff", "_probes_unanswered",
        # timers (absolute deadlines or None)
        "_t_rexmit", "_t_persist", "_t_delack", "_t_keepalive", "_t_user", "_t_fin_wait_2",
        "_t_pace", "_last_data_sent",
        "_keepalive_probes", "_time_wait", "_fixed_iss",
        # RFC 5961 rate limit; the last ACK answering an unacceptable bare segment
        "_challenge_window", "_challenge_count", "_last_invalid_ack",
        # TCP Fast Open (RFC 7413, tcp/fastopen.py): None when not in use
        "fastopen",
        # ICMP (tcp/icmp.py): path MTU (RFC 1191, RFC 8201), DF, the last soft error
        "path_mtu", "dont_fragment", "soft_error",
        # the peer's MSS (Linux's mss_clamp); packetization-layer PMTUD (RFC 4821,
        # tcp/mtuprobe.py)
        "mss_clamp", "mtu_probing",
    )  # fmt: skip

    def __init__(
        self,
        local: Endpoint,
        remote: Endpoint | None,
        config: TcpConfig | None = None,
        tracer: Tracer | None = None,
        isn: IsnSource | None = None,
    ) -> None:
        self.local = local
        self.remote = remote
        self.config = cfg = config if config is not None else _DEFAULT_CONFIG
        self.tracer = tracer
        self.state = State.CLOSED
        self.passive = False
        self.stats = ConnectionStats()
        self._isn = isn if isn is not None else _DEFAULT_ISN
        self._now = 0.0
        self.on_wakeup: Callable[[Connection], None] | None = None
        self._events: list[Event] | None = None
        self._out: list[Segment] | None = None  # segments due out, until pulled
        # the packed (local, remote) addresses of a connection in a Host's table,
        # set and cleared by the Host (the engine never reads them)
        self.packed_addresses: tuple[bytes, bytes] | None = None

        self.iss = self.snd_una = self.snd_nxt = self.snd_max = 0
        self.snd_wnd = self.snd_wl1 = self.snd_wl2 = self.max_snd_wnd = 0
        self.irs = self.rcv_nxt = self.rcv_adv = self.rcv_up = 0

        version = getattr(local[0], "version", 4)
        self.rcv_mss = shared_int(cfg.advertised_mss(version))
        self.snd_mss = DEFAULT_SEND_MSS_V4 if version == 4 else DEFAULT_SEND_MSS_V6
        self.snd_wscale = 0
        self.rcv_wscale = cfg.receive_window_scale() if cfg.window_scaling else 0
        self.ws_ok = self.ts_ok = self.sack_ok = False
        self.ts_recent = self.ts_offset = self.last_ack_sent = 0
        self.ecn_ok = False  # both ends agreed on ECN in the handshake
        self._ece_due = False  # a CE mark arrived: echo ECE until the peer sends CWR
        # recovery.reductions when we last sent CWR: a reduction since asks for
        # CWR on the next new data (RFC 3168 6.1.2)
        self._cwr_mark = 0

        self.send_buf = SendBuffer(cfg.send_buffer)
        self._user_closed = False
        self.cork = False  # TCP_CORK: partial segments wait (Connection.set_cork)
        self._more = False  # MSG_MORE on the last SEND: its partial segment waits
        self._unpushed: int | None = None  # where that SEND ended: no PSH there
        self._cork_flush = False  # the persist timer lets corked data out once
        self._snd_sml: int | None = None  # the end of the last small segment sent
        # what arrived in order and waits to be read; no bytearray while empty
        self._recv_buf: bytearray | bytes = b""
        self.recv_buffer = cfg.recv_buffer  # may grow to a multiple of the MSS
        # text above RCV.NXT and the D-SACK to report, made on first use (most
        # connections never see a segment out of order): see _ooo_queue
        self._ooo: OutOfOrderQueue | None = None
        self._ooo_fin: int | None = None
        self._fin_received = False
        self._unacked_segments = 0
        self._quickacks: int | None = None  # quick ACKs left at the start; None: not begun
        self._pingpong = False  # interactive: quick ACKs suspended (pingpong_acks)
        self._last_received: float | None = None  # the last data or SYN,ACK in
        self._ato_set = False  # Linux's icsk_ack.ato is set: replies can be seen
        self._offered_in_syn = False  # the last window we offered was a SYN's
        self._ack_now = False
        self._syn_text = b""  # text that came on a SYN, held until ESTABLISHED

        self.rtt = RttEstimator(cfg.rto_initial, cfg.rto_min, cfg.rto_max, cfg.clock_granularity)
        self.recovery = LossRecovery(cfg, self.stats, self.rtt, self.snd_mss)
        self._rtt_seq: int | None = None
        self._rtt_time = 0.0
        self._retransmits = 0
        self._rexmit_since: float | None = None
        self._persist_backoff = 0
        self._probes_unanswered = 0  # zero-window probes since the peer last answered

        self._t_rexmit: float | None = None
        self._t_persist: float | None = None
        self._t_delack: float | None = None
        self._t_keepalive: float | None = None
        self._t_user: float | None = None
        self._t_fin_wait_2: float | None = None
        self._t_pace: float | None = None  # pacing: when the next new segment may leave
        self._last_data_sent: float | None = None  # when new data last went out
        self._keepalive_probes = 0
        self._time_wait: TimeWait | None = None
        self._fixed_iss: int | None = None
        self._challenge_window = -1.0
        self._challenge_count = 0
        self._last_invalid_ack = -1e300  # never
        self.fastopen: FastOpenState | None = None
        self.path_mtu = cfg.mtu
        self.dont_fragment = cfg.pmtud  # IPv4 DF on what we send (RFC 1191 2)
        # (errno name, description) of the last ICMP error a synchronized
        # connection took (RFC 1122 4.2.3.9); a timeout reports it
        self.soft_error: tuple[str, str] | None = None
        # what no segment may exceed, once the peer's SYN said (RFC 9293 3.7.1)
        self.mss_clamp = self.snd_mss
        # RFC 4821's search, only if probing is on
        self.mtu_probing = MtuProbing(version) if cfg.mtu_probing else None

    def take_events(self) -> list[Event] | None:
        """Every event queued since the last call, oldest first, or None: for a
        Host that passes them all on at once (``next_event`` gives them one by one)."""
        events, self._events = self._events, None
        return events

    # -- derived quantities ------------------------------------------------
    def ts_clock(self, now: float) -> int:
        """Our TSval at ``now`` (RFC 7323 5.4: the clock plus a per-connection offset)."""
        return (int(now * self.config.timestamp_hz) + self.ts_offset) & sq.MASK

    def _offered_window(self) -> int:
        offered = (self.rcv_adv - self.rcv_nxt) & sq.MASK  # RCV.ADV - RCV.NXT, or 0 if behind
        return offered if offered < sq.HALF else 0

    def _receive_window(self) -> int:
        """RCV.WND: what we can take, which the window field (at most 65535
        unscaled) may have understated; never less than what we offered. A
        passive open has committed only its SYN,ACK's window until the
        handshake completes (a listener's half-open connections own no buffer)."""
        if self.state is State.SYN_RECEIVED and self.passive:
            return self._offered_window()
        return max(self._offered_window(), self.recv_buffer - len(self._recv_buf))

    def mss_payload(self) -> int:
        """SMSS: the most payload one segment carries (the MSS less the timestamp option)."""
        return self.snd_mss - (_TS_OPTION_BYTES if self.ts_ok else 0)

    def _send_mss(self) -> int:
        """The most payload the next data segment may carry: SMSS less the
        SACK option it will carry (RFC 9293 3.7.1: the effective send MSS
        counts every TCP option; Linux's tcp_current_mss)."""
        mss = self.mss_payload()
        ooo = self._ooo
        if self.sack_ok and ooo is not None:
            blocks = ooo.sack_block_count(3 if self.ts_ok else 4)
            if blocks:
                mss -= 4 + 8 * blocks  # NOP, NOP, kind, length, then 8 bytes a block
        return mss

    def _flight(self) -> int:
        return sq.sub(self.snd_nxt, self.snd_una)

    def _unsent(self) -> int:
        return self.send_buf.unsent(self.snd_nxt)

    def _fin_unacked(self) -> bool:
        """Our FIN is queued or sent, and not yet acknowledged."""
        return self.send_buf.fin_unacked(self.snd_una)

    @property
    def _rport(self) -> int:
        return self.remote[1] if self.remote is not None else 0

    # -- what our segments carry ----------------------------------------------
    def _syn_options_for(self, flags: int) -> tuple[Option, ...]:
        """The options of our SYN (or SYN,ACK: only those the peer's SYN offered)."""
        return syn_options(
            self.config, bool(flags & ACK), self.rcv_mss, self.rcv_wscale,
            (self.ws_ok, self.sack_ok, self.ts_ok), self.ts_clock(self._now), self.ts_recent,
        )  # fmt: skip

    def _segment_options(self) -> tuple[Option, ...]:
        """The options of any other segment: timestamps (RFC 7323 3.2) and the
        SACK blocks to report (RFC 2018 4)."""
        opts: tuple[Option, ...] = ()
        if self.ts_ok:
            opts = (NOP, NOP, Timestamps(self.ts_clock(self._now), self.ts_recent))
        ooo = self._ooo
        if self.sack_ok and ooo is not None and (ooo.blocks or ooo.dsack is not None):
            opts += (NOP, NOP, Sack(ooo.sack_blocks(3 if self.ts_ok else 4)))
        return opts

    def _ooo_queue(self) -> OutOfOrderQueue:
        """The out-of-order queue, made when first needed. What it holds,
        overhead included, stays within twice the receive buffer (the farthest
        text is pruned)."""
        ooo = self._ooo
        if ooo is None:
            ooo = self._ooo = OutOfOrderQueue(limit=2 * self.recv_buffer)
        return ooo

    def _sack_to_report(self) -> bool:
        """Blocks held above RCV.NXT, or a D-SACK, for the next ACK to report."""
        ooo = self._ooo
        return ooo is not None and (ooo.blocks > 0 or ooo.dsack is not None)

    def _note_duplicate(self, seq: int, length: int) -> bool:
        """RFC 2883 4: remember what of this text was received already; True
        if a D-SACK is now due."""
        ooo = self._ooo
        if ooo is None:
            if not sq.lt(seq, self.rcv_nxt):
                return False  # nothing held above RCV.NXT: nothing duplicated either
            ooo = self._ooo_queue()
        ooo.note_duplicate(seq, length, self.rcv_nxt)
        return ooo.dsack is not None

    def _window_field(self, syn: bool) -> int:
        """The window to advertise, with receiver SWS avoidance (RFC 9293
        3.8.6.2.2); RCV.ADV moves to the right edge it offers."""
        capacity = self.recv_buffer
        space = capacity - len(self._recv_buf)
        rcv_nxt = self.rcv_nxt
        offered = (self.rcv_adv - rcv_nxt) & sq.MASK
        if offered >= sq.HALF:
            offered = 0
        field, advertised = advertise(
            space, offered, capacity, self.rcv_mss, 0 if syn else self.rcv_wscale
        )
        if advertised > offered:
            self.rcv_adv = (rcv_nxt + advertised) & sq.MASK
        self._offered_in_syn = syn
        return field

    def _window_update_due(self) -> bool:
        """After a read: would a window update move the right edge by enough to matter?"""
        # the window field cannot say more than 65535 << shift (RFC 7323 2.3):
        # room past that is no news to the peer (as Linux's window_clamp)
        largest = 0xFFFF << self.rcv_wscale
        space = min(self.recv_buffer - len(self._recv_buf), largest)
        capacity = min(self.recv_buffer, largest)
        on_doubling = self.config.window_update_on_doubling
        offered = self._offered_window()
        if on_doubling and self._offered_in_syn:
            # Linux's rcv_wnd after a SYN is the whole space it chose, though the
            # unscaled field said at most 65535 (tcp_select_initial_window): a
            # read before anything else is sent finds nothing to announce
            offered = capacity
        return update_worthwhile(space, offered, capacity, self.rcv_mss, on_doubling)
