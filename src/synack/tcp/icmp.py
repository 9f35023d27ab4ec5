"""What a connection does with an ICMP error about one of its segments.

- The quoted sequence number must lie in SND.UNA..SND.MAX, or the message
  is ignored and counted (RFC 5927 4.1: a blind attacker must guess it).
- Source quench is ignored (RFC 6633).
- "Packet too big" (IPv4 "fragmentation needed", RFC 1191; IPv6, RFC 8201)
  lowers the path MTU, never up, and never below a floor (552 for IPv4, as
  Linux's min_pmtu; for IPv6 a report under 1280 is discarded, RFC 8201 4);
  the send MSS follows, and the segments in flight larger than the new MSS
  are sent again at once in pieces of the new size, with no congestion
  response (as Linux's tcp_simple_retransmit: the data did not meet
  congestion, the units changed).
- Every other error is, in a synchronized state, only remembered as the
  connection's soft error (RFC 1122 4.2.3.9; RFC 5927 5.2 treats hard errors
  as soft there too), which a later timeout reports instead of a bare
  timeout (as Linux's sk_err_soft). In SYN-SENT a hard error (RFC 1122
  4.2.3.9: protocol or port unreachable...) aborts the attempt, and with
  ``TcpConfig.icmp_abort_in_syn_sent`` (the default) so does a soft one
  (RFC 5461 4, as Linux and the BSDs do).
- A network or host unreachable for the segment at SND.UNA while it is being
  retransmitted undoes one back-off of the RTO (RFC 6069, Linux's
  tcp_ld_RTO_revert; ``TcpConfig.icmp_rto_revert``).

The functions here are the rules; ``Connection.receive_icmp`` calls
:func:`icmp_arrives`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from synack.tcp.config import headers_of
from synack.tcp.events import ConnectionAborted
from synack.tcp.mtuprobe import path_mtu_lowered
from synack.tcp.state import State, Stimulus
from synack.wire import seq as sq
from synack.wire.icmp import (
    HOST_UNREACHABLE,
    NET_UNREACHABLE,
    PACKET_TOO_BIG,
    PARAMETER_PROBLEM,
    SOURCE_QUENCH,
    TIME_EXCEEDED,
    UNREACHABLE,
    IcmpError,
)

if TYPE_CHECKING:
    from synack.tcp.connection import Connection

# The least path MTU we accept: Linux's min_pmtu (512 + 20 + 20) for IPv4;
# the IPv6 minimum link MTU (RFC 8200 5, RFC 8201 4).
PMTU_FLOOR_V4 = 552
PMTU_FLOOR_V6 = 1280
# RFC 1191 7, table 7-1: the plateaus, to guess from when a router names no MTU.
PLATEAUS = (65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68)

# Destination unreachable, by code: the errno name Linux reports, what it
# means, and whether RFC 1122 4.2.3.9 (or RFC 4443 3.1) calls it a hard error.
_V4_UNREACHABLE: dict[int, tuple[str, str, bool]] = {
    0: ("ENETUNREACH", "network unreachable", False),
    1: ("EHOSTUNREACH", "host unreachable", False),
    2: ("ENOPROTOOPT", "protocol unreachable", True),
    3: ("ECONNREFUSED", "port unreachable", True),
    5: ("EOPNOTSUPP", "source route failed", False),
    6: ("ENETUNREACH", "destination network unknown", True),
    7: ("EHOSTDOWN", "destination host unknown", True),
    8: ("ENONET", "source host isolated", True),
    9: ("ENETUNREACH", "network administratively prohibited", True),
    10: ("EHOSTUNREACH", "host administratively prohibited", True),
    11: ("ENETUNREACH", "network unreachable for TOS", False),
    12: ("EHOSTUNREACH", "host unreachable for TOS", False),
    13: ("EHOSTUNREACH", "communication administratively prohibited", True),
    14: ("EHOSTUNREACH", "host precedence violation", True),
    15: ("EHOSTUNREACH", "precedence cutoff in effect", True),
}
_V6_UNREACHABLE: dict[int, tuple[str, str, bool]] = {
    0: ("ENETUNREACH", "no route to destination", False),
    1: ("EACCES", "communication administratively prohibited", True),
    2: ("EHOSTUNREACH", "beyond scope of source address", False),
    3: ("EHOSTUNREACH", "address unreachable", False),
    4: ("ECONNREFUSED", "port unreachable", True),
    5: ("EACCES", "source address failed policy", True),
    6: ("EACCES", "reject route to destination", True),
}
_UNKNOWN = ("EHOSTUNREACH", "destination unreachable", False)


def classify(msg: IcmpError) -> tuple[str, str, bool]:
    """(errno name, description, hard) of an error other than "packet too big"."""
    if msg.kind == TIME_EXCEEDED:
        return "EHOSTUNREACH", "time exceeded", False
    if msg.kind == PARAMETER_PROBLEM:
        return "EPROTO", "parameter problem", False
    table = _V4_UNREACHABLE if msg.version == 4 else _V6_UNREACHABLE
    return table.get(msg.code, _UNKNOWN)


def plateau_below(length: int) -> int:
    """RFC 1191 5 and 7: with no MTU given, the next plateau below the
    quoted packet's length."""
    for plateau in PLATEAUS:
        if plateau < length:
            return plateau
    return PLATEAUS[-1]


def icmp_arrives(conn: Connection, msg: IcmpError, now: float) -> None:
    """An ICMP error quoting one of this connection's segments."""
    stats = conn.stats
    stats.icmp_received += 1
    st = conn.state
    if st is State.CLOSED or st is State.LISTEN or st is State.TIME_WAIT:
        stats.icmp_ignored += 1  # nothing of ours can be in flight
        return
    if msg.kind == SOURCE_QUENCH:
        stats.icmp_ignored += 1  # RFC 6633: source quench is ignored
        return
    # RFC 5927 4.1: the quoted segment must be one we may still have in flight
    # (inclusive at SND.MAX, which a bare ACK carries, as Linux does)
    if sq.lt(msg.seq, conn.snd_una) or sq.gt(msg.seq, conn.snd_max):
        stats.icmp_out_of_window += 1
        return
    if msg.kind == PACKET_TOO_BIG:
        _packet_too_big(conn, msg, now)
        return
    errno, text, hard = classify(msg)
    if st is State.SYN_SENT and (hard or conn.config.icmp_abort_in_syn_sent):
        # RFC 1122 4.2.3.9 (hard errors) and RFC 5461 4 (soft ones too): the
        # attempt fails at once, with the error; our SYN left the peer no TCB
        stats.icmp_aborts += 1
        conn._event(ConnectionAborted(f"connection failed: {text}", errno))
        conn._enter_closed(Stimulus.ABORT, f"ICMP {text}")
        return
    if st is State.SYN_RECEIVED and conn.config.icmp_abort_in_syn_received:
        if _aborts_syn_received(conn, msg, hard):
            # our SYN,ACK left the peer no TCB (Linux: a request sock dropped, a
            # Fast Open child the application has not taken closed with the
            # error, still to be accepted: RFC 7413 4.2.2 made it the user's)
            stats.icmp_aborts += 1
            conn._event(ConnectionAborted(f"connection failed: {text}", errno))
            conn._enter_closed(Stimulus.ABORT, f"ICMP {text}")
            return
    # RFC 1122 4.2.3.9 and RFC 5927 5.2: never abort a synchronized
    # connection on an ICMP error; remember it for the user and for a timeout
    stats.icmp_soft_errors += 1
    conn.soft_error = (errno, text)
    if conn.config.icmp_rto_revert and _unreachable(msg) and msg.seq == conn.snd_una:
        _revert_rto(conn, now)


def _unreachable(msg: IcmpError) -> bool:
    """RFC 6069 3: the errors that say the path, not congestion, lost the
    segment: network or host unreachable (ICMPv6: no route, address unreachable)."""
    if msg.kind != UNREACHABLE:
        return False
    if msg.version == 4:
        return msg.code in (NET_UNREACHABLE, HOST_UNREACHABLE)
    return msg.code in (0, 3)


def _revert_rto(conn: Connection, now: float) -> None:
    """RFC 6069 (TCP-LD, as Linux's tcp_ld_RTO_revert): while retransmitting
    the segment at SND.UNA, an unreachable for it undoes one back-off of the
    RTO, so the connection probes again soon after the path comes back; if
    the reverted timer has run out already, it fires now."""
    deadline = conn._t_rexmit
    rtt = conn.rtt
    if deadline is None or not conn._retransmits:
        return
    before = rtt.rto
    if not rtt.revert_back_off():
        return
    conn.stats.rto_reverts += 1
    deadline -= before - rtt.rto
    if deadline > now:
        conn._t_rexmit = deadline
        return
    conn._t_rexmit = None
    conn.recovery.cancel_probe()
    conn._timer(now, "retransmission (RFC 6069 revert)")
    conn._on_retransmission_timeout(now)


def _aborts_syn_received(conn: Connection, msg: IcmpError, hard: bool) -> bool:
    """With ``icmp_abort_in_syn_received``, which errors end a passive open in
    SYN-RECEIVED, as Linux's tcp_v4_err / tcp_v6_err: for a Fast Open child not
    yet accepted, any (as in SYN-SENT); one accepted is the application's
    connection, with soft errors only; for an ordinary one (a request sock,
    tcp_req_err), over IPv4 network or host unreachable, time exceeded and
    parameter problem, over IPv6 the errors icmpv6_err_convert calls fatal."""
    if not conn.passive:
        return False
    tfo = conn.fastopen
    if tfo is not None and tfo.accepted:
        return not tfo.taken
    if msg.kind == PARAMETER_PROBLEM:
        return True
    if msg.version == 4:
        return msg.kind == TIME_EXCEEDED or (
            msg.kind == UNREACHABLE and msg.code in (NET_UNREACHABLE, HOST_UNREACHABLE)
        )
    return hard


def _syn_too_big(conn: Connection, mss: int, now: float) -> None:
    """The path is narrower than our SYN: the MSS our SYN offers is the
    path's from now on (as Linux's advmss follows the route's MTU); a SYN that
    carried data (RFC 7413) is taken as lost to it and sent again at once,
    bare (Linux's tcp_simple_retransmit for SYN data); the data follows the
    handshake."""
    conn.rcv_mss = min(conn.rcv_mss, mss)
    tfo = conn.fastopen
    if tfo is None or not tfo.syn_data or conn.snd_una != conn.iss:
        return
    if conn.snd_nxt == conn.iss:
        return  # a bare SYN is already due
    conn.snd_nxt = conn.iss  # the next output sends the SYN again, bare
    conn._rtt_seq = None  # Karn: the answer times no SYN
    conn._notify()


def _packet_too_big(conn: Connection, msg: IcmpError, now: float) -> None:
    """RFC 1191 (IPv4) and RFC 8201 (IPv6): lower the path MTU."""
    stats = conn.stats
    if not conn.config.pmtud:
        stats.icmp_ignored += 1
        return
    mtu = msg.mtu or 0
    if msg.version == 4 and mtu == 0:
        mtu = plateau_below(msg.quoted_length)  # RFC 1191 5: an old router
    floor = PMTU_FLOOR_V4 if msg.version == 4 else PMTU_FLOOR_V6
    if mtu < floor:
        if msg.version == 6:
            stats.icmp_ignored += 1  # RFC 8201 4: under the IPv6 minimum, discarded
            return
        # RFC 1191 3 allows a host to stop setting DF: as Linux, use the floor
        # and send without DF from then on (a narrower path fragments)
        mtu = floor
        conn.dont_fragment = False
    if mtu >= conn.path_mtu:
        stats.icmp_ignored += 1  # RFC 1191 3, RFC 8201 4: never raised by a report
        return
    conn.path_mtu = mtu
    stats.pmtu_changes += 1
    if path_mtu_lowered(conn, msg.seq, now):  # RFC 4821: a probe it quotes was lost
        return  # the MSS worked out again, the probe's data sent again
    mss = mtu - headers_of(msg.version)
    if conn.state is State.SYN_SENT:
        _syn_too_big(conn, mss, now)
        return
    if mss >= conn.snd_mss:
        return  # the MSS the peer allowed already fits
    conn.snd_mss = mss
    rec = conn.recovery
    rec.mss = rec.cc.mss = conn.mss_payload()
    if conn.snd_una != conn.iss:  # a SYN in flight is small: nothing to resend
        _resend_too_big(conn, now)


def _resend_too_big(conn: Connection, now: float) -> None:
    """Send again, at once and in pieces of the new MSS, the segments in
    flight that were larger (Linux's tcp_simple_retransmit: not a
    congestion event, so cwnd and ssthresh stay)."""
    smss = conn.mss_payload()
    buf = conn.send_buf
    data_end = conn.snd_nxt if sq.le(conn.snd_nxt, buf.end) else buf.end
    rec = conn.recovery
    ranges: list[tuple[int, int]] = []
    if rec.sack_sender and rec.records:
        # per-transmission records: only those larger than the new MSS, not SACKed
        for seg in rec.records:
            end = seg.end if sq.le(seg.end, data_end) else data_end
            if not seg.sacked and sq.sub(end, seg.start) > smss:
                ranges.append((seg.start, end))
    elif sq.sub(data_end, conn.snd_una) > 0:
        ranges.append((conn.snd_una, data_end))  # no records: the whole flight
    if not ranges:
        return
    conn._rtt_seq = None  # Karn: nothing resent is timed
    piece = conn._send_mss()  # room left for any SACK blocks (RFC 9293 3.7.1)
    for start, end in ranges:
        while sq.lt(start, end):
            size = min(piece, sq.sub(end, start))
            conn._emit_range(start, size, now, retransmission=True)
            start = sq.add(start, size)
    conn._t_rexmit = now + conn.rtt.rto
