"""A connection summary as Zeek's ``conn.log`` defines it, and its TSV and JSON writers.

:class:`ZeekConn` is fed the segments of one connection, both directions, in
capture order, and keeps a constant amount of state for it: two endpoints'
sequence bookkeeping, a bounded picture of each direction's reassembly, the
history letters seen, and counters. :meth:`ZeekConn.record` then gives the
``conn.log`` fields.

The rules are Zeek's, re-derived from its documentation and from how its TCP
analyzer behaves (``docs/zeek-conn.md`` lists them, and every place where
this module knowingly differs):

- each endpoint moves through Zeek's own endpoint states (inactive,
  SYN sent, SYN-ACK sent, partial, established, closed, reset), and
  ``conn_state`` is read off the pair of them at the end;
- the byte counts come from sequence numbers (the highest sequence number
  sent or acknowledged, less the initial one and the SYN and FIN octets), so
  a retransmission adds nothing and a hole in the capture still counts;
- ``missed_bytes`` is what an acknowledgement showed had been sent but was
  never seen, while both sides were established or closing cleanly;
- history letters are upper case for the originator, lower case for the
  responder; ``a d i q`` are recorded once per direction, ``s h f r`` again
  when the sequence number differs from the last one of that kind, and
  ``c g t w`` on the 1st, 10th, 100th... occurrence;
- the originator is who sent the first packet, unless Zeek would flip it:
  a first packet that is not a pure SYN and comes from a likely server port,
  a SYN-ACK first followed by an ACK or data, or a SYN-ACK followed by the
  SYN it answers. A flip is recorded as ``^``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from typing import IO

from synack.analyze.model import CapturedSegment
from synack.wire import seq as sq
from synack.wire.ip import IPAddress
from synack.wire.segment import ACK, FIN, RST, SYN

# The conn.log fields this module fills, in Zeek's order, and their Zeek types.
FIELDS: tuple[str, ...] = (
    "ts",
    "uid",
    "id.orig_h",
    "id.orig_p",
    "id.resp_h",
    "id.resp_p",
    "proto",
    "duration",
    "orig_bytes",
    "resp_bytes",
    "conn_state",
    "missed_bytes",
    "history",
    "orig_pkts",
    "orig_ip_bytes",
    "resp_pkts",
    "resp_ip_bytes",
)
TYPES: dict[str, str] = {
    "ts": "time",
    "uid": "string",
    "id.orig_h": "addr",
    "id.orig_p": "port",
    "id.resp_h": "addr",
    "id.resp_p": "port",
    "proto": "enum",
    "duration": "interval",
    "orig_bytes": "count",
    "resp_bytes": "count",
    "conn_state": "string",
    "missed_bytes": "count",
    "history": "string",
    "orig_pkts": "count",
    "orig_ip_bytes": "count",
    "resp_pkts": "count",
    "resp_ip_bytes": "count",
}

# TCP ports that Zeek's default scripts put in ``likely_server_ports`` (each
# protocol script adds the ports its analyzer is registered for). A
# connection's first packet from one of these, if it is not a pure SYN, makes
# its sender the responder.
DEFAULT_LIKELY_SERVER_PORTS: frozenset[int] = frozenset(
    {
        21, 2811,  # FTP
        22,  # SSH
        25, 587,  # SMTP
        53,  # DNS
        80, 81, 631, 1080, 3128, 8000, 8080, 8888,  # HTTP
        88,  # Kerberos
        110,  # POP3
        135,  # DCE-RPC
        139, 445,  # SMB
        143,  # IMAP
        389, 3268,  # LDAP
        443, 563, 585, 614, 636, 989, 990, 992, 993, 995, 5223,  # SSL/TLS
        502,  # Modbus
        3306,  # MySQL
        3389,  # RDP
        5222, 5269,  # XMPP
        5432,  # PostgreSQL
        6379,  # Redis
        6666, 6667, 6668, 6669,  # IRC
        20000,  # DNP3
    }
)  # fmt: skip

# Zeek's endpoint states (TCP_ENDPOINT_*).
INACTIVE = 0
SYN_SENT = 1
SYN_ACK_SENT = 2
PARTIAL = 3
ESTABLISHED = 4
CLOSED = 5
RESET = 6

# Which history letters a direction has shown; the responder's bits sit 16 higher.
_H_SYN = 0x1
_H_FIN = 0x2
_H_RST = 0x4
_H_FIN_RST = 0x8
_H_DATA = 0x10
_H_ACK = 0x20
_H_MULTI = 0x40
_RESP_SHIFT = 16

_TOO_LARGE_SEQ_DELTA = 1 << 20  # a SYN or RST further than this from the last is not believed
_U64 = (1 << 64) - 1
_MAX_HOLES = 16  # out-of-order blocks kept per direction (see _Reassembly)
_MAX_HISTORY = 4096  # letters; past this the history stops growing
# Zeek's defaults for giving up on reassembly of one direction.
_MAX_ABOVE_HOLE_WITHOUT_ACKS = 4 * 1024 * 1024
_EXCESSIVE_DATA_WITHOUT_ACKS = 10 * 1024 * 1024


class _Reassembly:
    """What one direction's reassembler would know, in bounded memory.

    Relative sequence numbers (the first byte after the SYN is 1). Data up
    to ``delivered`` arrived without holes; ``trimmed`` is how far the
    peer's acknowledgements have reached; ``blocks`` are the ranges seen
    above the first hole, each ``[lo, hi, seen, holes]``: its ends, how many
    bytes inside it were seen, and how many holes it hides. There are at
    most ``_MAX_HOLES`` of them: past that the two closest merge into one
    that keeps both counts, so the missing bytes and holes are still known
    (only a later segment landing inside a merged range is taken to fill
    its holes rather than repeat what was seen). ``pending`` holds the
    missing bytes and holes of merged ranges that new data made contiguous,
    to be reported at the next acknowledgement, as the reassembler would.
    """

    __slots__ = ("blocks", "delivered", "gave_up", "pending", "trimmed")

    def __init__(self) -> None:
        self.delivered = 1
        self.trimmed = 1
        self.blocks: list[list[int]] = []
        self.pending = [0, 0]  # missing bytes, holes
        self.gave_up = False

    def add(self, lo: int, hi: int) -> None:
        lo = max(lo, self.trimmed, self.delivered)
        if hi <= lo:
            return
        if lo == self.delivered and not self.blocks:
            self.delivered = hi  # the next bytes in order, nothing held: delivered at once
            return
        new = [lo, hi, hi - lo, 0]
        kept: list[list[int]] = []
        for block in self.blocks:
            if block[1] < new[0] or block[0] > new[1]:
                kept.append(block)
                continue
            union_lo, union_hi = min(new[0], block[0]), max(new[1], block[1])
            seen = min(union_hi - union_lo, new[2] + block[2])
            holes = 0 if seen == union_hi - union_lo else new[3] + block[3]
            new = [union_lo, union_hi, seen, holes]
        index = 0
        while index < len(kept) and kept[index][0] < new[0]:
            index += 1
        kept.insert(index, new)
        while len(kept) > _MAX_HOLES:
            spaces = [kept[i + 1][0] - kept[i][1] for i in range(len(kept) - 1)]
            i = spaces.index(min(spaces))
            a, b = kept[i], kept[i + 1]
            kept[i : i + 2] = [[a[0], b[1], a[2] + b[2], a[3] + b[3] + 1]]
        self.blocks = kept
        while self.blocks and self.blocks[0][0] <= self.delivered:
            lo, hi, seen, holes = self.blocks.pop(0)
            self.pending[0] += hi - lo - seen
            self.pending[1] += holes
            self.delivered = hi

    def above_hole(self) -> int:
        return self.blocks[-1][1] - self.delivered if self.blocks else 0

    def held(self) -> int:
        """Bytes a reassembler would hold: delivered but unacknowledged, and above holes."""
        held = self.delivered - self.trimmed
        return held + sum(block[2] for block in self.blocks) if self.blocks else held


class _Endpoint:
    """One side's sequence bookkeeping, as Zeek keeps it (TCP_Endpoint)."""

    __slots__ = (
        "ack_seq",
        "ack_wraps",
        "chk",
        "close_pending",
        "did_close",
        "fin_cnt",
        "fin_seq",
        "gap",
        "hist_last_fin",
        "hist_last_rst",
        "hist_last_syn",
        "ip_bytes",
        "last_seq",
        "pkts",
        "prev_state",
        "reasm",
        "rst_cnt",
        "rxmt",
        "seq_wraps",
        "start_seq",
        "state",
        "win0",
    )

    def __init__(self) -> None:
        self.state = INACTIVE
        self.prev_state = INACTIVE
        self.start_seq = 0  # may exceed 32 bits' meaning only through wraps, as in Zeek
        self.last_seq = 0
        self.ack_seq = 0
        self.seq_wraps = 0
        self.ack_wraps = 0
        self.fin_cnt = 0
        self.rst_cnt = 0
        self.fin_seq = 0
        self.did_close = False  # Zeek's view: this side's FIN or RST has been taken as its close
        self.close_pending = False  # it closed with data still undelivered
        self.hist_last_syn = 0
        self.hist_last_fin = 0
        self.hist_last_rst = 0
        # [count, next threshold] for the logarithmic letters c, t, w, g.
        self.chk = [0, 1]
        self.rxmt = [0, 1]
        self.win0 = [0, 1]
        self.gap = [0, 1]
        self.pkts = 0
        self.ip_bytes = 0
        self.reasm = _Reassembly()

    def set_state(self, new: int) -> None:
        if new != self.state:
            self.prev_state = self.state
            self.state = new

    def start_u32(self) -> int:
        return self.start_seq & sq.MASK

    def init_seqs(self, start: int, ack: int, last: int) -> None:
        self.start_seq = start & sq.MASK
        self.ack_seq = ack & sq.MASK
        self.last_seq = last & sq.MASK

    def update_last_seq(self, value: int) -> None:
        if value < self.last_seq:
            self.seq_wraps += 1
        self.last_seq = value

    def update_ack_seq(self, value: int) -> None:
        if value < self.ack_seq:
            self.ack_wraps += 1
        self.ack_seq = value

    def relative(self, value: int, last: int, wraps: int) -> tuple[int, bool]:
        """``value`` relative to the initial sequence number; True if it falls before it."""
        delta = sq.sub(value, last)
        if delta < 0:
            if wraps and value > last:
                wraps -= 1
        elif delta > 0 and value < last:
            wraps += 1
        if wraps == 0:
            rel = sq.sub(value, self.start_seq & sq.MASK)
            return rel, rel < 0
        return (wraps << 32) + value - self.start_seq, False

    def acked_rel(self) -> int:
        return (self.ack_wraps << 32) + self.ack_seq - self.start_seq

    def no_data_acked(self) -> bool:
        ack = (self.ack_wraps << 32) + self.ack_seq
        return ack in (self.start_seq, self.start_seq + 1)

    def size(self, peer: _Endpoint) -> int:
        """Payload bytes from sequence numbers (Zeek's TCP_Endpoint::Size)."""
        if (
            self.prev_state == SYN_SENT
            and self.state == RESET
            and peer.state == INACTIVE
            and not self.no_data_acked()
        ):
            return 0
        last = (self.seq_wraps << 32) + self.last_seq
        ack = (self.ack_wraps << 32) + self.ack_seq
        size = ((last if last > ack else ack) - self.start_seq) & _U64
        if size:
            size -= 1  # the SYN, or the octet before a midstream start
        if self.fin_cnt and size:
            size -= 1  # the FIN
        return size


class ZeekConn:
    """One TCP connection summarised as a Zeek ``conn.log`` record.

    ``first`` is the connection's first segment and is processed here: feed
    the rest, in capture order, to :meth:`feed` (feeding ``first`` again is
    ignored). Direction is decided by comparing each segment's source with
    the originator's address and port.

    ``likely_server_ports`` stands for Zeek's ``likely_server_ports``: a
    first packet that is not a pure SYN, sent from one of them to a port not
    in it, makes its sender the responder.
    """

    __slots__ = (
        "_first",
        "_first_seen",
        "_hist_seen",
        "_history",
        "_is_partial",
        "_likely",
        "_missed",
        "_orig",
        "_orig_h",
        "_orig_p",
        "_resp",
        "_resp_h",
        "_resp_p",
        "last_time",
        "start_time",
        "uid",
    )

    def __init__(
        self,
        uid: str,
        first: CapturedSegment,
        *,
        likely_server_ports: frozenset[int] = DEFAULT_LIKELY_SERVER_PORTS,
    ) -> None:
        self.uid = uid
        self._likely = likely_server_ports
        self.start_time = first.t
        self.last_time = first.t
        self._orig_h: IPAddress = first.src
        self._orig_p = first.sport
        self._resp_h: IPAddress = first.dst
        self._resp_p = first.dport
        self._orig = _Endpoint()
        self._resp = _Endpoint()
        self._hist_seen = 0
        self._history: list[str] = []
        self._missed = 0
        self._is_partial = False
        self._first_seen = 0  # bit 1: originator's first packet seen, bit 2: responder's
        self._first: CapturedSegment | None = first
        if self._flip_at_start(first):
            self._flip()
        self._process(first)

    # -- feeding -------------------------------------------------------------

    def feed(self, seg: CapturedSegment) -> None:
        """Take the connection's next segment, in either direction."""
        if seg is self._first:
            return
        self._first = None
        self._process(seg)

    def _flip_at_start(self, seg: CapturedSegment) -> bool:
        if seg.flags & SYN and not seg.flags & ACK:
            return False
        if seg.sport not in self._likely:
            return False
        if seg.dport not in self._likely:
            return True
        # Both plausible: flip only a non-SYN, towards the higher port.
        return not seg.flags & SYN and seg.sport < seg.dport

    def _is_orig(self, seg: CapturedSegment) -> bool:
        # the port first, and the address by identity first (the reader shares
        # address objects): ipaddress's == is a Python call
        return seg.sport == self._orig_p and (seg.src is self._orig_h or seg.src == self._orig_h)

    def _process(self, seg: CapturedSegment) -> None:
        flags = seg.flags
        is_orig = self._is_orig(seg)
        endpoint = self._orig if is_orig else self._resp
        if seg.checksum_ok is False:
            # A bad checksum is recorded and the packet goes no further.
            self._scaled(endpoint, endpoint.chk, "C")
            return
        if self._late_flip_due(flags, seg.payload_len):
            self._flip(rewrite=True)
            is_orig = self._is_orig(seg)
            endpoint = self._orig if is_orig else self._resp
        peer = self._resp if endpoint is self._orig else self._orig

        self._set_partial_status(flags, is_orig)
        length = seg.payload_len
        seg_len = length + (1 if flags & SYN else 0) + (1 if flags & FIN else 0)
        if flags & RST:
            seg_len -= length
        base = seg.seq
        one_past = sq.add(base, seg_len)
        self._init_endpoint(endpoint, flags, base, one_past)
        rel_seq, underflow = endpoint.relative(base, endpoint.last_seq, endpoint.seq_wraps)

        self._update_history(flags, endpoint, rel_seq, length)
        if seg.window == 0 and not flags & RST and peer.state != CLOSED and endpoint.state != RESET:
            self._scaled(endpoint, endpoint.win0, "W")
        if not (self._orig.did_close and self._resp.did_close):
            self.last_time = seg.t

        if flags & FIN:
            endpoint.fin_cnt += 1
            endpoint.fin_seq = rel_seq + seg_len
        if flags & RST:
            endpoint.rst_cnt += 1

        rel_ack = 0
        if flags & ACK:
            if peer.state == INACTIVE:
                rel_ack = 1
                back = sq.add(seg.ack, -1)
                peer.init_seqs(back, back, back)
            else:
                rel_ack, ack_under = peer.relative(seg.ack, peer.ack_seq, peer.ack_wraps)
                if ack_under:
                    rel_ack = 0
                elif not flags & RST:
                    delta = sq.sub(seg.ack, peer.ack_seq)
                    if not (seg.ack == 0 and delta > _TOO_LARGE_SEQ_DELTA) and delta > 0:
                        peer.update_ack_seq(seg.ack)

        self._update_last_seq(endpoint, one_past, flags, length)
        do_close = self._update_state(endpoint, peer, seg, is_orig)

        if flags & ACK:
            self._ack_received(peer, rel_ack)
        if length > 0 and not flags & RST and not underflow:
            rel_data = rel_seq + 1 if flags & SYN else rel_seq
            kept = not seg.truncated or len(seg.payload) >= length
            if kept:
                self._data_sent(endpoint, rel_data, length)
        self._first_seen |= 1 if is_orig else 2
        # A close is only taken once the side's data before it is all
        # delivered (or known missing): until then it waits, and is checked
        # again at each of the side's packets.
        if endpoint.close_pending and not self._data_pending(endpoint):
            endpoint.close_pending = False
            endpoint.did_close = True
        if do_close and not endpoint.did_close:
            if self._data_pending(endpoint):
                endpoint.close_pending = True
            else:
                endpoint.close_pending = False
                endpoint.did_close = True
        endpoint.pkts += 1
        endpoint.ip_bytes += seg.ip_len

    # -- roles ---------------------------------------------------------------

    def _late_flip_due(self, flags: int, length: int) -> bool:
        """A SYN-ACK began the connection and now an ACK or data follows: flip."""
        return (
            self._orig.state == SYN_ACK_SENT
            and self._resp.state == INACTIVE
            and not flags & (SYN | RST)
            and bool(flags & ACK or length > 0)
        )

    def _flip(self, *, rewrite: bool = False) -> None:
        self._orig_h, self._resp_h = self._resp_h, self._orig_h
        self._orig_p, self._resp_p = self._resp_p, self._orig_p
        self._orig, self._resp = self._resp, self._orig
        seen = self._first_seen
        self._first_seen = ((seen & 1) << 1) | ((seen & 2) >> 1)
        self._is_partial = False
        if rewrite:
            # As if the roles had been right from the start: the letters so
            # far change case, their seen-bits change sides, ^ goes first.
            self._history = ["^", *(c.swapcase() for c in self._history)]
            low = self._hist_seen & 0xFFFF
            self._hist_seen = (self._hist_seen >> _RESP_SHIFT) | (low << _RESP_SHIFT)
            if self._resp.state == SYN_ACK_SENT:
                self._resp.set_state(ESTABLISHED)
        else:
            self._add_history("^")

    def _set_partial_status(self, flags: int, is_orig: bool) -> None:
        if is_orig:
            if not self._first_seen & 1:
                self._is_partial = not flags & SYN or bool(flags & ACK)
        elif not self._first_seen & 2 and not self._is_partial:
            self._is_partial = not flags & SYN

    # -- history -------------------------------------------------------------

    def _add_history(self, letter: str) -> None:
        if len(self._history) < _MAX_HISTORY:
            self._history.append(letter)

    def _letter(self, endpoint: _Endpoint, letter: str) -> str:
        return letter if endpoint is self._orig else letter.lower()

    def _check_history(self, endpoint: _Endpoint, mask: int, letter: str) -> bool:
        """Record ``letter`` once per direction; True if it had been seen already."""
        if endpoint is not self._orig:
            mask <<= _RESP_SHIFT
        if self._hist_seen & mask:
            return True
        self._hist_seen |= mask
        self._add_history(self._letter(endpoint, letter))
        return False

    def _scaled(self, endpoint: _Endpoint, counter: list[int], letter: str) -> None:
        """Record ``letter`` at the 1st, 10th, 100th... occurrence."""
        counter[0] += 1
        if counter[0] == counter[1]:
            self._add_history(self._letter(endpoint, letter))
            counter[1] *= 10

    def _update_history(self, flags: int, endpoint: _Endpoint, rel_seq: int, length: int) -> None:
        controls = bool(flags & SYN) + bool(flags & FIN) + bool(flags & RST)
        if controls > 1:
            if flags & FIN and flags & RST:
                self._check_history(endpoint, _H_FIN_RST, "I")
            else:
                self._check_history(endpoint, _H_MULTI, "Q")
        elif flags & SYN:
            letter = "H" if flags & ACK else "S"
            if self._check_history(endpoint, _H_SYN, letter) and rel_seq != endpoint.hist_last_syn:
                self._add_history(self._letter(endpoint, letter))
            endpoint.hist_last_syn = rel_seq
        elif flags & FIN:
            # A FIN's sequence number is the one after its data.
            end = rel_seq + length
            if self._check_history(endpoint, _H_FIN, "F") and end != endpoint.hist_last_fin:
                self._add_history(self._letter(endpoint, "F"))
            endpoint.hist_last_fin = end
        elif flags & RST:
            if self._check_history(endpoint, _H_RST, "R") and rel_seq != endpoint.hist_last_rst:
                self._add_history(self._letter(endpoint, "R"))
            endpoint.hist_last_rst = rel_seq
        elif length:
            self._check_history(endpoint, _H_DATA, "D")
        elif flags & ACK:
            self._check_history(endpoint, _H_ACK, "A")

    # -- sequence numbers ----------------------------------------------------

    @staticmethod
    def _init_endpoint(endpoint: _Endpoint, flags: int, base: int, one_past: int) -> None:
        state = endpoint.state
        if state == INACTIVE:
            if flags & SYN:
                endpoint.init_seqs(base, base, one_past)
            else:
                # Midstream: number as if a SYN had come just before.
                back = sq.add(base, -1)
                endpoint.init_seqs(back, back, base)
        elif state in (SYN_SENT, SYN_ACK_SENT):
            if flags & SYN and base != endpoint.start_u32():
                endpoint.init_seqs(base, base, one_past)
        elif state in (ESTABLISHED, PARTIAL):
            if flags & SYN:
                endpoint.init_seqs(base, base, one_past)
        elif state == RESET and flags & SYN and endpoint.prev_state == INACTIVE:
            endpoint.init_seqs(base, base, one_past)

    def _update_last_seq(self, endpoint: _Endpoint, one_past: int, flags: int, length: int) -> None:
        delta = sq.sub(one_past, endpoint.last_seq)
        if flags & (SYN | RST) and abs(delta) > _TOO_LARGE_SEQ_DELTA:
            return
        if flags & FIN and endpoint.last_seq == sq.add(endpoint.start_u32(), 1):
            endpoint.update_last_seq(one_past)
        elif endpoint.state == RESET:
            return
        elif delta > 0:
            endpoint.update_last_seq(one_past)
        elif length > 0:
            self._scaled(endpoint, endpoint.rxmt, "T")

    # -- the endpoint state machine -------------------------------------------

    def _update_state(
        self, endpoint: _Endpoint, peer: _Endpoint, seg: CapturedSegment, is_orig: bool
    ) -> bool:
        """Move ``endpoint`` (and perhaps ``peer``); True if it has now closed."""
        flags = seg.flags
        state = endpoint.state
        do_close = False
        if state == INACTIVE:
            if flags & SYN:
                if is_orig:
                    endpoint.set_state(SYN_ACK_SENT if flags & ACK else SYN_SENT)
                else:
                    if (
                        not flags & ACK
                        and peer.state == SYN_ACK_SENT
                        and seg.seq == endpoint.start_u32()
                    ):
                        # The SYN that the first-seen SYN-ACK answered: the roles
                        # were the wrong way round.
                        self._flip()
                        self._first_seen |= 1
                        peer.set_state(ESTABLISHED)
                    if peer.state == SYN_SENT:
                        peer.set_state(ESTABLISHED)
                    endpoint.set_state(ESTABLISHED)
            if flags & FIN:
                endpoint.set_state(CLOSED)
                do_close = True
            if flags & RST:
                endpoint.set_state(RESET)
                do_close = True
            if endpoint.state == INACTIVE:
                if not is_orig and seg.payload_len == 0 and self._orig.state == SYN_SENT:
                    pass  # an ACK of the SYN before the SYN-ACK: not midstream
                elif flags & ACK and peer.state == ESTABLISHED:
                    # The SYN was missed but the SYN-ACK was seen.
                    endpoint.set_state(ESTABLISHED)
                    self._is_partial = False
                    self._first_seen |= 1 if is_orig else 2
                else:
                    endpoint.set_state(PARTIAL)
        elif state in (SYN_SENT, SYN_ACK_SENT):
            if flags & FIN:
                endpoint.set_state(CLOSED)
                do_close = True
            if flags & RST:
                endpoint.set_state(RESET)
                do_close = True
        elif state in (ESTABLISHED, PARTIAL):
            if flags & SYN and state == PARTIAL and peer.state == INACTIVE and not flags & ACK:
                endpoint.set_state(SYN_SENT)
            if flags & FIN and not flags & RST:
                endpoint.set_state(CLOSED)
                if peer.state == RESET and peer.prev_state == CLOSED:
                    # The peer's FIN then RST was a normal close after all.
                    peer.set_state(CLOSED)
                do_close = True
            if flags & RST:
                endpoint.set_state(RESET)
                do_close = True
        elif state == CLOSED:
            if flags & RST and peer.state != CLOSED:
                endpoint.set_state(RESET)
                do_close = not endpoint.did_close
        return do_close

    # -- reassembly: content gaps --------------------------------------------

    def _clean(self) -> bool:
        def clean(e: _Endpoint) -> bool:
            return e.state == ESTABLISHED or (e.state == CLOSED and e.prev_state == ESTABLISHED)

        return clean(self._orig) and clean(self._resp)

    def _data_sent(self, endpoint: _Endpoint, rel: int, length: int) -> None:
        reasm = endpoint.reasm
        if reasm.gave_up:
            return
        upper = rel + length
        acked = endpoint.acked_rel()
        if rel < acked:
            if upper <= acked:
                return
            rel = acked
        reasm.add(rel, upper)
        if (
            endpoint.no_data_acked() and reasm.above_hole() > _MAX_ABOVE_HOLE_WITHOUT_ACKS
        ) or reasm.held() > _EXCESSIVE_DATA_WITHOUT_ACKS:
            reasm.blocks.clear()
            reasm.gave_up = True

    def _ack_received(self, endpoint: _Endpoint, rel_ack: int) -> None:
        """The peer acknowledged ``endpoint``'s data up to ``rel_ack``: any holes below are gaps."""
        reasm = endpoint.reasm
        if endpoint.fin_cnt and rel_ack >= endpoint.fin_seq:
            rel_ack = endpoint.fin_seq - 1
        if rel_ack <= reasm.trimmed:
            return
        if not reasm.gave_up:
            missing, holes = reasm.pending
            self._gap(endpoint, missing, holes)
        reasm.pending = [0, 0]
        if rel_ack > reasm.delivered and not (rel_ack <= 2 and self._is_partial):
            if not reasm.gave_up:
                while reasm.blocks and reasm.blocks[0][0] < rel_ack:
                    lo, hi, seen, holes = reasm.blocks.pop(0)
                    self._gap(endpoint, lo - reasm.delivered)
                    self._gap(endpoint, hi - lo - seen, holes)
                    reasm.delivered = hi
                if rel_ack > reasm.delivered:
                    self._gap(endpoint, rel_ack - reasm.delivered)
            reasm.delivered = max(reasm.delivered, rel_ack)
        if reasm.blocks:
            reasm.blocks = [block for block in reasm.blocks if block[1] > rel_ack]
        reasm.trimmed = rel_ack

    @staticmethod
    def _data_pending(endpoint: _Endpoint) -> bool:
        """Whether ``endpoint`` sent data (not just a FIN) beyond what reassembly delivered."""
        if endpoint.reasm.gave_up:
            return False
        sent = (endpoint.seq_wraps << 32) + endpoint.last_seq
        return sent - (endpoint.start_seq + endpoint.reasm.delivered) > 1

    def _gap(self, endpoint: _Endpoint, length: int, holes: int = 1) -> None:
        """``holes`` content gaps of ``length`` bytes in all, in ``endpoint``'s data."""
        if length <= 0 or not self._clean():
            return
        for _ in range(holes):
            self._scaled(endpoint, endpoint.gap, "G")
        self._missed += length

    # -- the record -----------------------------------------------------------

    @property
    def history(self) -> str:
        return "".join(self._history)

    def conn_state(self) -> str:
        """Zeek's ``conn_state``, from the two endpoints' states and the history."""
        os, rs = self._orig.state, self._resp.state
        o_inactive = os in (INACTIVE, PARTIAL)
        r_inactive = rs in (INACTIVE, PARTIAL)
        if rs == RESET:
            if os in (SYN_SENT, SYN_ACK_SENT) or (
                os == RESET
                and self._orig.size(self._resp) == 0
                and self._resp.size(self._orig) == 0
            ):
                return "REJ"
            return "RSTRH" if o_inactive else "RSTR"
        if os == RESET:
            if r_inactive:
                return "RSTOS0" if _syn_then_rst(self.history) else "OTH"
            return "RSTO"
        if rs == CLOSED and os == CLOSED:
            return "SF"
        if os == CLOSED:
            return "SH" if r_inactive else "S2"
        if rs == CLOSED:
            return "SHR" if o_inactive else "S3"
        if os == SYN_SENT and rs == INACTIVE:
            return "S0"
        if os == ESTABLISHED and rs == ESTABLISHED:
            return "S1"
        return "OTH"

    def record(self) -> dict[str, object]:
        """The conn.log fields for what has been fed so far (None where Zeek leaves them unset)."""
        duration = self.last_time - self.start_time
        timed = duration > 0
        history = self.history
        return {
            "ts": self.start_time,
            "uid": self.uid,
            "id.orig_h": str(self._orig_h),
            "id.orig_p": self._orig_p,
            "id.resp_h": str(self._resp_h),
            "id.resp_p": self._resp_p,
            "proto": "tcp",
            "duration": duration if timed else None,
            "orig_bytes": self._orig.size(self._resp) if timed else None,
            "resp_bytes": self._resp.size(self._orig) if timed else None,
            "conn_state": self.conn_state(),
            "missed_bytes": self._missed,
            "history": history or None,
            "orig_pkts": self._orig.pkts,
            "orig_ip_bytes": self._orig.ip_bytes,
            "resp_pkts": self._resp.pkts,
            "resp_ip_bytes": self._resp.ip_bytes,
        }


def _syn_then_rst(history: str) -> bool:
    """Zeek's test for RSTOS0: ``^?S[^HAFGIQ]*R.*`` over the whole history."""
    rest = history[1:] if history.startswith("^") else history
    if not rest.startswith("S"):
        return False
    for letter in rest[1:]:
        if letter == "R":
            return True
        if letter in "HAFGIQ":
            return False
    return False


# -- writers ---------------------------------------------------------------------


def _zeek_datetime(t: float) -> str:
    return time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime(t))


def _tsv_escape(text: str) -> str:
    if text == "":
        return "(empty)"
    if text == "-":
        return "\\x2d"
    out = []
    for char in text:
        code = ord(char)
        if char == "\\" or char == "\t" or code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        else:
            out.append(char)
    return "".join(out)


def _tsv_value(field: str, value: object) -> str:
    if value is None:
        return "-"
    kind = TYPES[field]
    if kind in ("time", "interval"):
        assert isinstance(value, int | float)
        return f"{value:.6f}"
    return _tsv_escape(str(value))


def write_conn_tsv(
    records: Iterable[dict[str, object]],
    stream: IO[str],
    *,
    open_time: float | None = None,
    close_time: float | None = None,
) -> None:
    """Write ``records`` as Zeek's ASCII ``conn.log``: the header, one row each, ``#close``.

    ``open_time`` and ``close_time`` (epoch seconds, default now) go in the
    ``#open`` and ``#close`` lines, printed in UTC.
    """
    stream.write("#separator \\x09\n")
    stream.write("#set_separator\t,\n")
    stream.write("#empty_field\t(empty)\n")
    stream.write("#unset_field\t-\n")
    stream.write("#path\tconn\n")
    stream.write(f"#open\t{_zeek_datetime(time.time() if open_time is None else open_time)}\n")
    stream.write("#fields\t" + "\t".join(FIELDS) + "\n")
    stream.write("#types\t" + "\t".join(TYPES[f] for f in FIELDS) + "\n")
    for record in records:
        stream.write("\t".join(_tsv_value(f, record.get(f)) for f in FIELDS) + "\n")
    stream.write(f"#close\t{_zeek_datetime(time.time() if close_time is None else close_time)}\n")


def _json_double(value: float) -> str:
    """A double as Zeek's JSON writer (rapidjson) prints it: the shortest form that reads back."""
    text = repr(float(value))
    if "e" in text:
        mantissa, _, exponent = text.partition("e")
        sign = "-" if exponent.startswith("-") else ""
        text = f"{mantissa}e{sign}{exponent.lstrip('+-').lstrip('0') or '0'}"
    return text


def conn_json_lines(records: Iterable[dict[str, object]]) -> Iterator[str]:
    """Each record as one line of Zeek's JSON log format (unset fields left out), no newline."""
    for record in records:
        parts = []
        for field in FIELDS:
            value = record.get(field)
            if value is None:
                continue
            kind = TYPES[field]
            if kind in ("time", "interval"):
                assert isinstance(value, int | float)
                text = _json_double(value)
            elif kind in ("count", "port"):
                assert isinstance(value, int)
                text = str(value)
            else:
                text = json.dumps(str(value))
            parts.append(f"{json.dumps(field)}:{text}")
        yield "{" + ",".join(parts) + "}"
