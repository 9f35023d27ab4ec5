"""Packetization-layer path MTU discovery (RFC 4821), as Linux's MTU probing.

A path that drops large packets without saying so (no ICMP "packet too big":
a black hole) defeats RFC 1191's discovery, and one whose MTU grew is never
found out by it. PLPMTUD has TCP find the MTU itself: it searches a range of
MTUs, ``search_low`` (known to work) to ``search_high`` (the most the peer's
MSS and the route allow), by sending one *probe*, a segment of new data as
large as the range's midpoint, and watching what becomes of it (RFC 4821 7):

- acknowledged: the path carries that size; the range's bottom rises to it
  and the MSS with it (RFC 4821 7.6.1);
- lost (a fast retransmission or a timeout finds it at SND.UNA): the range's
  top comes down under it (7.6.2), and its data is sent again in segments of
  the current MSS;
- a "packet too big" for it: the same, and RFC 1191 lowers the path MTU.

The search ends when the range is narrower than ``mtu_probe_threshold``
bytes; after ``mtu_probe_interval`` seconds it starts again from the top
(7.7, Linux's tcp_mtu_check_reprobe).

``TcpConfig.mtu_probing`` is Linux's net.ipv4.tcp_mtu_probing: 0 off; 1 on
only once a black hole is suspected (``r1`` retransmission timeouts of one
segment: each then halves the bottom of the range, down to ``base_mss``, and
the MSS follows, as Linux's tcp_mtu_probing timer hook); 2 always on.
``base_mss`` (tcp_base_mss) sets the range's first bottom.

The connection's MSS while probing is the smallest of what the route (the
path MTU) allows, the peer's MSS, and the range's bottom (Linux's
tcp_sync_mss), worked out again when a probe succeeds or fails, an ICMP error
lowers the path MTU, or a black hole is suspected. The MSS a connection
starts with is the route's: a small locked route MTU (``ip route ... mtu
lock``) is the starting point, and a larger MTU (a route changed under the
connection, :func:`route_mtu_changed`) is only used once a probe of that
size has been acknowledged.

A probe goes, as in Linux's tcp_mtu_probe, only when: no other probe is out;
loss recovery is idle; cwnd is at least 11 segments; our segments carry no
SACK blocks (their options would change the size); at least the probe and
``dupack_threshold`` + 1 more segments are queued and fit the peer's window
(so a lost probe is repaired by a fast retransmission, not a timeout); and
the flight leaves room in cwnd for two more segments. If only the window or
cwnd is short while data is in flight, new data waits for ACKs rather than go
out in small segments. synack also sends no probe that is not larger than its
current segments.

Where synack differs from Linux: cwnd is counted in bytes, so the probe is
not charged an extra segment and its success does not rescale cwnd; a lost
probe is repaired by ordinary loss recovery (a congestion response), where
Linux restores cwnd and resends it as tcp_simple_retransmit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from synack.tcp.config import headers_of, shared_int
from synack.wire import seq as sq

if TYPE_CHECKING:
    from synack.tcp.connection import Connection

_TS_OPTION_BYTES = 12
PROBE_MIN_CWND_SEGMENTS = 11  # Linux's tcp_mtu_probe: cwnd of at least 11 segments
# the least MSS the range's bottom gives (Linux's tcp_min_snd_mss in
# tcp_mtu_to_mss), whatever base_mss and mtu_probe_floor say
MIN_SND_MSS = 48


class MtuProbing:
    """One connection's search (RFC 4821): its range and the probe out. A
    connection has one only when ``TcpConfig.mtu_probing`` is on; the peer's
    MSS, which bounds the search, is the connection's ``mss_clamp``."""

    __slots__ = (
        "enabled", "headers", "search_low", "search_high",
        "probe_mtu", "probe_start", "probe_end", "searched_at",
        "probes_sent", "probes_acked", "probes_lost",
    )  # fmt: skip

    def __init__(self, version: int) -> None:
        self.enabled = False
        self.headers = headers_of(version)
        self.search_low = 0  # MTUs
        self.search_high = 0
        self.probe_mtu = 0  # the MTU of the probe in flight; 0: none
        self.probe_start = self.probe_end = 0
        self.searched_at = 0.0  # when the search (re)started
        self.probes_sent = self.probes_acked = self.probes_lost = 0

    def mss_to_mtu(self, conn: Connection, mss: int) -> int:
        """The packet size of a segment carrying ``mss`` bytes (with timestamps)."""
        return mss + self.headers + (_TS_OPTION_BYTES if conn.ts_ok else 0)

    def mtu_to_mss(self, conn: Connection, mtu: int) -> int:
        """The payload a packet of ``mtu`` bytes carries, at most the clamp."""
        return min(mtu - self.headers, conn.mss_clamp) - (_TS_OPTION_BYTES if conn.ts_ok else 0)


def handshake_done(conn: Connection, peer_mss: int | None, now: float) -> None:
    """The SYN's options are agreed: set the range up (RFC 4821 7.2, Linux's tcp_mtup_init).
    The MSS stays what the route allows until a probe says more."""
    if peer_mss is not None:
        conn.mss_clamp = shared_int(peer_mss)
    mp = conn.mtu_probing
    if mp is None:
        return
    cfg = conn.config
    mp.search_high = min(conn.mss_clamp + mp.headers, conn.path_mtu)
    mp.search_low = mp.mss_to_mtu(conn, cfg.base_mss)
    mp.probe_mtu = 0
    mp.enabled = cfg.mtu_probing >= 2
    mp.searched_at = now


def sync_mss(conn: Connection) -> None:
    """Work the MSS out again from the path MTU, the clamp and, while probing,
    the range's bottom (Linux's tcp_sync_mss)."""
    mp = conn.mtu_probing
    mss = min(conn.path_mtu - headers_of(conn.local[0].version), conn.mss_clamp)
    if mp is not None:
        if mp.search_high > conn.path_mtu:
            mp.search_high = conn.path_mtu
        if mp.enabled:
            mss = min(mss, max(mp.search_low - mp.headers, MIN_SND_MSS))
    _set_mss(conn, mss)


def _set_mss(conn: Connection, snd_mss: int) -> None:
    conn.snd_mss = snd_mss
    rec = conn.recovery
    rec.mss = rec.cc.mss = conn.mss_payload()


def route_mtu_changed(conn: Connection, mtu: int) -> None:
    """The route's MTU changed under the connection (``ip route change ...
    mtu``). A smaller one takes effect at once; a larger one raises the
    path MTU, and with probing on the top of the search, but the MSS only
    when a probe of that size is acknowledged."""
    mp = conn.mtu_probing
    lower = mtu < conn.path_mtu
    conn.path_mtu = mtu
    if mp is not None and mp.enabled:
        mp.search_high = min(conn.mss_clamp + mp.headers, mtu)
    if lower:
        if conn.snd_mss > mtu - headers_of(conn.local[0].version):
            sync_mss(conn)
        elif mp is not None and mp.search_high > mtu:
            mp.search_high = mtu


def path_mtu_lowered(conn: Connection, seq: int, now: float) -> bool:
    """An ICMP "packet too big" lowered the path MTU (tcp/icmp.py): the range's
    top follows, and a probe it quotes has failed: its data goes again at
    once, in segments of the current MSS (the router dropped it). True if
    so: the caller need not resend it."""
    mp = conn.mtu_probing
    if mp is None or not mp.enabled:
        return False
    lost = bool(mp.probe_mtu) and sq.le(mp.probe_start, seq) and sq.lt(seq, mp.probe_end)
    start, end = mp.probe_start, mp.probe_end
    if lost:
        _probe_failed(mp)
    if mp.search_high > conn.path_mtu:
        mp.search_high = conn.path_mtu
    if mp.search_low > mp.search_high:
        mp.search_low = mp.search_high
    if not lost:
        return False
    regular = conn.snd_mss
    sync_mss(conn)
    if sq.lt(start, conn.snd_una) or conn.path_mtu - mp.headers < regular:
        # the segments after it were too big as well: the whole flight again
        start = conn.snd_una
        end = conn.snd_nxt if sq.le(conn.snd_nxt, conn.send_buf.end) else conn.send_buf.end
    conn._rtt_seq = None  # Karn: nothing resent is timed
    smss = conn._send_mss()  # room for the SACK blocks each resend carries
    while sq.lt(start, end):
        size = min(smss, sq.sub(end, start))
        conn._emit_range(start, size, now, retransmission=True)
        start = sq.add(start, size)
    conn._t_rexmit = now + conn.rtt.rto
    return True


def _probe_failed(mp: MtuProbing) -> None:
    """RFC 4821 7.6.2: the probe's size does not pass; the top comes down."""
    mp.search_high = mp.probe_mtu - 1
    mp.probe_mtu = 0
    mp.probes_lost += 1


def on_ack(conn: Connection, ack: int, resending: bool) -> None:
    """An ACK arrived (after loss recovery heard it): a probe it covers has
    succeeded; one at SND.UNA that recovery resends was lost."""
    mp = conn.mtu_probing
    if mp is None or not mp.probe_mtu:
        return
    if sq.le(mp.probe_end, ack):
        # RFC 4821 7.6.1: the path carries the probe's size
        mp.search_low = mp.probe_mtu
        mp.probe_mtu = 0
        mp.probes_acked += 1
        sync_mss(conn)
    elif resending and conn.snd_una == mp.probe_start:
        _probe_failed(mp)
        sync_mss(conn)


def on_retransmission_timeout(conn: Connection) -> None:
    """A retransmission timeout: a probe at SND.UNA was lost; after ``r1``
    timeouts of one segment, a black hole is suspected (Linux's
    tcp_mtu_probing): probing starts (mode 1), or the range's bottom halves."""
    mp = conn.mtu_probing
    if mp is None:
        return  # probing is off (TcpConfig.mtu_probing 0)
    cfg = conn.config
    if mp.probe_mtu and conn.snd_una == mp.probe_start:
        _probe_failed(mp)
        sync_mss(conn)
    if not cfg.mtu_probing or conn._retransmits < cfg.r1 or not mp.search_low:
        return
    if not mp.enabled:
        mp.enabled = True
    else:
        mss = mp.mtu_to_mss(conn, mp.search_low) >> 1
        mss = max(min(cfg.base_mss, mss), cfg.mtu_probe_floor)
        mp.search_low = mp.mss_to_mtu(conn, mss)
    sync_mss(conn)


def probe(conn: Connection, now: float) -> bool | None:
    """Before new data goes out (RFC 4821 7.3, Linux's tcp_mtu_probe): send a probe if one
    is due and allowed. True: sent; None: new data waits for ACKs (the
    window or cwnd is short of the probe with data in flight); False: send
    as usual."""
    mp = conn.mtu_probing
    cfg = conn.config
    rec = conn.recovery
    mss = conn.mss_payload()
    if (
        mp is None
        or not mp.enabled
        or mp.probe_mtu
        or rec.in_recovery
        or rec.rto_recovery
        or rec.dupacks
        or rec.cc.cwnd < PROBE_MIN_CWND_SEGMENTS * mss
        or (conn.sack_ok and conn._sack_to_report())
    ):
        return False
    size = mp.mtu_to_mss(conn, (mp.search_high + mp.search_low) // 2)
    if (
        size > mp.mtu_to_mss(conn, mp.search_high)
        or mp.search_high - mp.search_low < cfg.mtu_probe_threshold
    ):
        _check_reprobe(conn, now)
        return False
    if size <= mss:
        return False  # the range is below what we send already
    needed = size + (cfg.dupack_threshold + 1) * mss
    snd_nxt = conn.snd_nxt
    if conn._unsent() < needed or conn.snd_wnd < needed:
        return False
    flight = conn._flight()
    if flight + needed > conn.snd_wnd:
        return None  # the window's edge is near: wait for it to move
    if flight + 2 * mss > rec.cc.cwnd:
        return None if flight else False
    if conn.send_buf.record_room(snd_nxt, size) < size:
        return False  # a record's end (MSG_EOR) lies inside
    conn._emit_range(snd_nxt, size, now, mtu_probe=True)
    mp.probe_mtu = mp.mss_to_mtu(conn, size)
    mp.probe_start, mp.probe_end = snd_nxt, sq.add(snd_nxt, size)
    mp.probes_sent += 1
    return True


def _check_reprobe(conn: Connection, now: float) -> None:
    """RFC 4821 7.7: once the search has ended, start again after the interval
    (Linux's tcp_mtu_check_reprobe)."""
    mp = conn.mtu_probing
    cfg = conn.config
    if mp is None or now - mp.searched_at < cfg.mtu_probe_interval:
        return
    mp.search_high = min(conn.mss_clamp + mp.headers, conn.path_mtu)
    mp.search_low = mp.mss_to_mtu(conn, conn.mss_payload())  # from what works now
    mp.searched_at = now
