"""TIME-WAIT as a compact record (RFC 9293 3.10.7.4, RFC 1337, RFC 5961).

A connection in TIME-WAIT needs only enough to answer the peer: its ports,
both sequence numbers, the window and timestamp state, and when it expires.
Both a :class:`~synack.tcp.connection.Connection` in TIME-WAIT and a Host's
table of collapsed connections use this one class, so the rules live in one
place.
"""

from __future__ import annotations

from enum import Enum

from synack.tcp.config import TcpConfig
from synack.wire import seq as sq
from synack.wire.segment import ACK, FIN, NOP, RST, SYN, Option, Segment, Timestamps


class TimeWaitAction(Enum):
    NONE = "none"  # replies (if any) are the whole answer
    CLOSED = "closed"  # a RST was accepted (RFC 1337 protection off): go to CLOSED
    REOPEN = "reopen"  # a new SYN may start a new incarnation (RFC 9293 3.10.7.4, RFC 6191)


class TimeWait:
    __slots__ = (
        "config", "expires", "local_port", "rcv_nxt", "remote_port", "snd_nxt",
        "ts_offset", "ts_recent", "window",
    )  # fmt: skip

    def __init__(
        self,
        config: TcpConfig,
        local_port: int,
        remote_port: int,
        snd_nxt: int,
        rcv_nxt: int,
        window: int,
        ts_offset: int | None,
        ts_recent: int,
        expires: float,
    ) -> None:
        self.config = config
        self.local_port = local_port
        self.remote_port = remote_port
        self.snd_nxt = snd_nxt
        self.rcv_nxt = rcv_nxt
        self.window = window  # the window field to send, already scaled
        self.ts_offset = ts_offset  # None when timestamps were not negotiated
        self.ts_recent = ts_recent
        self.expires = expires

    def ack(self, now: float) -> Segment:
        options: tuple[Option, ...] = ()
        if self.ts_offset is not None:
            tsval = (int(now * self.config.timestamp_hz) + self.ts_offset) & sq.MASK
            options = (NOP, NOP, Timestamps(tsval, self.ts_recent))
        return Segment(
            self.local_port, self.remote_port, self.snd_nxt, self.rcv_nxt, ACK, self.window,
            options=options,
        )  # fmt: skip

    def _reset(self) -> Segment:
        """Before RFC 5961, a SYN in the window resets (RFC 9293 3.10.7.4 fourth)."""
        return Segment(self.local_port, self.remote_port, self.snd_nxt, self.rcv_nxt, RST | ACK, 0)

    def _new_incarnation(self, seg: Segment, ts: Timestamps | None) -> bool:
        """May this SYN reopen the connection (RFC 6191 2, RFC 9293 3.10.7.4)? With
        timestamps on both incarnations, only a newer TSval does (or the same one
        with a higher sequence number); otherwise a sequence number above the old
        incarnation's."""
        if ts is not None:
            if ts.value == self.ts_recent:
                return sq.gt(seg.seq, self.rcv_nxt)
            return sq.gt(ts.value, self.ts_recent)
        return sq.gt(seg.seq, self.rcv_nxt)

    def restart(self, now: float) -> None:
        self.expires = now + 2 * self.config.msl

    def _acceptable(self, seg: Segment) -> bool:
        """RFC 9293 3.10.7.4's sequence test, with the unscaled window as RCV.WND."""
        seg_len = seg.seg_len
        if seg_len == 0:
            if self.window == 0:
                return seg.seq == self.rcv_nxt
            return sq.in_window(seg.seq, self.rcv_nxt, self.window)
        if self.window == 0:
            return False
        last = sq.add(seg.seq, seg_len - 1)
        return sq.in_window(seg.seq, self.rcv_nxt, self.window) or sq.in_window(
            last, self.rcv_nxt, self.window
        )

    def segment_arrives(self, seg: Segment, now: float) -> tuple[list[Segment], TimeWaitAction]:
        flags = seg.flags
        if flags & RST:
            # RFC 1337: a RST in TIME-WAIT must not cut the wait short.
            if self.config.rfc1337:
                return [], TimeWaitAction.NONE
            if seg.seq == self.rcv_nxt:  # RFC 5961 3.2
                return [], TimeWaitAction.CLOSED
            if not self.config.rfc5961_rst and self._acceptable(seg):
                return [], TimeWaitAction.CLOSED  # before RFC 5961: any RST in the window
            # RFC 5961 3.2 / RFC 9293 3.10.7.4 first: a RST outside the window is
            # dropped unanswered. The window field, read unscaled, is a lower bound
            # of RCV.WND (the record keeps no shift).
            if not sq.in_window(seg.seq, self.rcv_nxt, self.window):
                return [], TimeWaitAction.NONE
            return [self.ack(now)], TimeWaitAction.NONE  # in the window: challenge ACK
        ts = seg.timestamps if self.ts_offset is not None else None
        if flags & (SYN | ACK | FIN) == SYN:
            if self._new_incarnation(seg, ts):
                return [], TimeWaitAction.REOPEN
            if not self.config.rfc5961_syn and self._acceptable(seg):
                return [self._reset()], TimeWaitAction.CLOSED
            return [self.ack(now)], TimeWaitAction.NONE  # RFC 5961 4.2 challenge ACK
        if ts is not None and sq.lt(ts.value, self.ts_recent):
            return [self.ack(now)], TimeWaitAction.NONE  # RFC 7323 5.3 PAWS
        if not flags & (ACK | SYN):
            # RFC 9293 3.10.7.4 fifth: no ACK bit, drop. Done before the sequence
            # test here: a peer that sends no ACK has nothing to resynchronize.
            return [], TimeWaitAction.NONE
        if flags & FIN and sq.add(seg.seq, len(seg.payload) + 1) == self.rcv_nxt:
            # RFC 9293 3.10.7.4: the peer retransmitted its FIN (our last ACK was
            # lost). Acknowledge it and restart the 2 MSL timeout.
            self.restart(now)
            return [self.ack(now)], TimeWaitAction.NONE
        if flags & SYN and not self.config.rfc5961_syn and self._acceptable(seg):
            return [self._reset()], TimeWaitAction.CLOSED
        if flags & SYN:
            # a SYN with a FIN or an ACK opens nothing: unacceptable, or in the
            # window, it draws an ACK (RFC 9293 3.10.7.4 first; RFC 5961 4.2)
            return [self.ack(now)], TimeWaitAction.NONE
        if not self._acceptable(seg):
            return [self.ack(now)], TimeWaitAction.NONE  # first: unacceptable, ACK it
        if flags & FIN:
            self.restart(now)  # eighth: TIME-WAIT, restart the 2 MSL timeout
        if seg.seg_len == 0 and seg.seq == self.rcv_nxt and seg.ack == self.snd_nxt:
            return [], TimeWaitAction.NONE  # the expected bare ACK: nothing to answer
        # Anything else (text, a FIN, an ACK not at the edges) is acknowledged, so
        # a confused peer learns where we stand.
        return [self.ack(now)], TimeWaitAction.NONE


def rst_in_time_wait(record: TimeWait) -> str:
    """Why a RST that reached TIME-WAIT was dropped unanswered."""
    if record.config.rfc1337:
        return "RST in TIME-WAIT ignored (RFC 1337)"
    return "RST outside the window"
