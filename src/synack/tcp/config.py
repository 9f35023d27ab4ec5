"""Every knob of the engine, with RFC-sound defaults."""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Final, TypeVar

# RFC 9293 3.7.1: the send MSS to assume when the peer sends no MSS option.
DEFAULT_SEND_MSS_V4 = 536
DEFAULT_SEND_MSS_V6 = 1220
IPV4_TCP_HEADERS = 40
IPV6_TCP_HEADERS = 60


Shared = TypeVar("Shared", bound=Hashable)
_SHARED_INTS: dict[int, int] = {}


def shared_copy(table: dict[Shared, Shared], value: Shared, limit: int = 1 << 16) -> Shared:
    """The copy of ``value`` (equal to it) that ``table`` hands to everyone
    asking for it, so that the many connections holding equal values hold one
    object (idle memory, issue 16). Bounded: past ``limit`` entries the table
    starts afresh."""
    shared = table.get(value)
    if shared is None:
        if len(table) >= limit:
            table.clear()
        shared = table[value] = value
    return shared


def shared_int(value: int) -> int:
    """``value`` as the one int object the connections keeping it share:
    CPython makes every int above 256 an object of its own (28 bytes or
    more), and sizes most connections hold alike (an MSS, an initial
    window) need not be."""
    # the lookup first, as most calls find the int there (a stored 0 is falsy
    # and goes the long way, to the same 0)
    return _SHARED_INTS.get(value) or shared_copy(_SHARED_INTS, value)


def headers_of(version: int) -> int:
    """IP and TCP headers without options: what an MTU holds beyond the MSS."""
    return IPV4_TCP_HEADERS if version == 4 else IPV6_TCP_HEADERS


# The fields that are durations in seconds (None, where allowed, is "never"):
# each must be finite and 0 or more. Named, not found from the annotations,
# which the compiled build does not keep.
DURATIONS: Final = (
    "tlp_pto_extra", "mtu_probe_interval", "delayed_ack_timeout", "rto_initial", "rto_min",
    "rto_max", "clock_granularity", "r2", "syn_r2", "user_timeout", "connect_timeout",
    "persist_min", "persist_max", "msl", "fin_wait_2_timeout", "keepalive_idle",
    "keepalive_interval", "invalid_ack_interval",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class TcpConfig:
    """Configuration shared by connections; immutable, so one instance can serve many."""

    # Segment size. ``mss`` overrides what is derived from the MTU (RFC 9293 3.7.1).
    mtu: int = 1500
    mss: int | None = None

    # Buffers. The receive buffer is the most we advertise as a window.
    send_buffer: int = 256 * 1024
    recv_buffer: int = 256 * 1024
    # Grow the receive buffer to a whole number of segments once the MSS is
    # known, so the window never ends in a runt (what FreeBSD does).
    round_recv_buffer_to_mss: bool = False

    # Options negotiated in the SYN. ``tcp_options`` off sends none at all, not
    # even MSS (the TCP_NOOPT socket option), and takes none from the peer but MSS.
    tcp_options: bool = True
    window_scaling: bool = True  # RFC 7323
    window_scale: int | None = None  # None: the smallest shift that covers recv_buffer
    timestamps: bool = True  # RFC 7323 RTTM and PAWS
    sack: bool = True  # RFC 2018 SACK-permitted; we send SACK blocks as a receiver
    dsack: bool = True  # RFC 2883: report duplicate segments in the first SACK block
    sack_recovery: bool = True  # RFC 6675: as a sender, recover from the peer's SACK blocks
    prr: bool = True  # RFC 6937: cwnd during SACK recovery follows the data delivered
    # "rfc6937"; or "linux": RecoverFS is the cwnd before the cut, PRR-SSRB's
    # extra segment only on an ACK that advances SND.UNA and marks no new
    # loss, and the first retransmission always goes (tcp_cwnd_reduction)
    prr_variant: str = "rfc6937"
    rack: bool = True  # RFC 8985 6 (RACK): judge losses by send time too, with SACK
    tail_loss_probe: bool = True  # RFC 8985 7 (TLP): probe a silent tail before the RTO
    # added to 2 x SRTT for the probe timeout when more than one segment is out
    # (Linux's TCP_TIMEOUT_MIN, 2 ms: never at once, even with a tiny RTT)
    tlp_pto_extra: float = 0.0
    # The order of options in our SYN, by name.
    syn_option_order: tuple[str, ...] = ("mss", "sackOK", "TS", "nop", "wscale")
    # A SACK-permitted option sent without timestamps goes after NOPs that end
    # it on a 32-bit boundary (Linux: "nop,nop,sackOK"); off, it stays unpadded.
    pad_sack_permitted: bool = False

    # ECN (RFC 3168): "off"; "passive", agree when a peer's SYN asks; "on", ask
    # in our SYN too, and in its first ``ecn_syn_retries`` retransmissions
    # (6.1.1.1: a SYN lost for carrying ECN setup is then sent without it).
    ecn: str = "off"
    ecn_syn_retries: int = 1

    # Sending.
    # Segmentation offload (TSO/GSO): the device under us cuts segments, so new
    # data goes out as one segment of up to this many bytes (whole SMSS-sized
    # pieces, unless it ends the data), as Linux hands its device a super-
    # segment. Loss recovery still counts SMSS-sized pieces. 0: none.
    segmentation_offload: int = 0
    # With no offload (``segmentation_offload`` 0), the stack still builds
    # GSO packets and cuts them into SMSS-sized segments itself (Linux's
    # software GSO): each holds at most half of cwnd, in segments, and no more
    # than cwnd leaves room for (tcp_cwnd_test: two GSO packets in flight),
    # and the last segment of each carries PSH when the data was pushed.
    # Off: only the end of the data (or of a record) is pushed.
    software_gso: bool = False
    nodelay: bool = False  # False: Nagle's algorithm (RFC 9293 3.7.4) is on
    # Minshall's variant of Nagle (draft-minshall-nagle, Linux's
    # tcp_minshall_check): a segment smaller than the MSS waits only while an
    # earlier small one is unacknowledged, not while any data is.
    nagle_minshall: bool = False
    initial_window: int | None = None  # bytes; None: RFC 5681 section 3.1's formula
    initial_window_rfc6928: bool = False  # RFC 6928's ten segments (when no bytes are set)
    congestion_control: str = "cubic"  # RFC 9438, as on Linux; "newreno" (RFC 6582)
    # Slow start grows cwnd by at most this many SMSS per ACK (RFC 5681 3.1:
    # one; RFC 3465 allows two); None: by all it acknowledges (Linux).
    slow_start_ack_limit: int | None = 1
    # cwnd grows only while the flight uses it (RFC 7661's aim; Linux's
    # tcp_is_cwnd_limited): in slow start while cwnd is under twice the
    # largest flight since the last round began; otherwise when a send
    # found cwnd full in that round. Off: every ACK of new data grows it.
    cwnd_validation: bool = False
    # RFC 5681 4.1 (and RFC 2861's decay, as Linux's tcp_cwnd_restart): after
    # an idle time longer than the RTO, cwnd restarts from min(IW, cwnd),
    # halved for each RTO of idleness down to that. Off: cwnd is kept.
    restart_after_idle: bool = False
    # An ACK grows cwnd by the data it delivers (newly ACKed less what SACKs
    # had covered before: RFC 6937's DeliveredData), as Linux; off, by all the
    # cumulative ACK covers (RFC 5681 3.1).
    cwnd_growth_by_delivered: bool = False
    dupack_threshold: int = 3  # RFC 5681 3.2
    limited_transmit: bool = True  # RFC 3042: new data on the first two duplicate ACKs
    hystart: bool = True  # RFC 9406 HyStart++: leave slow start as the RTT climbs
    # Pacing: new segments spaced over the RTT (2 x cwnd/SRTT in slow start,
    # 1.2 x after), not sent as a burst; off by default.
    pacing: bool = False

    # ICMP (tcp/icmp.py). Path MTU discovery (RFC 1191, RFC 8201): IPv4
    # packets carry DF, and "packet too big" lowers the path MTU and the MSS.
    pmtud: bool = True
    # In SYN-SENT an ICMP soft error (host or network unreachable, time
    # exceeded...) aborts the attempt as a hard one does (RFC 5461 4; Linux,
    # the BSDs). Off: only hard errors abort it (RFC 1122 4.2.3.9), and a soft
    # one is reported if the SYN times out.
    icmp_abort_in_syn_sent: bool = True
    # RFC 6069 (TCP-LD, Linux's default): a network or host unreachable for the
    # segment at SND.UNA, while it is being retransmitted, undoes one RTO
    # back-off, so a connection across an outage resumes soon after it ends.
    icmp_rto_revert: bool = True
    # In SYN-RECEIVED some ICMP errors end a passive open, as on Linux
    # (tcp/icmp.py, _aborts_syn_received): a Fast Open child not yet accepted
    # on any error, an ordinary one on network or host unreachable (IPv4) or a
    # hard error (IPv6). Off: RFC 1122 4.2.3.9 and RFC 5927 5.2, soft errors
    # never abort, and a passive open is kept.
    icmp_abort_in_syn_received: bool = False
    # In SYN-SENT, an ACK whose timestamp echoes a value our clock never sent
    # since our SYN is answered with a RST, as a bad ACK is (Linux; RFC 7323
    # asks for no such check).
    syn_sent_check_tsecr: bool = False
    # Packetization-layer path MTU discovery (RFC 4821, tcp/mtuprobe.py), as
    # Linux's net.ipv4.tcp_mtu_probing: 0 off; 1 once a black hole is
    # suspected (``r1`` timeouts of a segment); 2 always. The search starts
    # at ``base_mss`` (tcp_base_mss), ends when its range is narrower than
    # ``mtu_probe_threshold`` bytes (tcp_probe_threshold) and starts again
    # after ``mtu_probe_interval`` seconds (tcp_probe_interval); a suspected
    # black hole halves its bottom, never under ``mtu_probe_floor`` bytes of
    # payload (tcp_mtu_probe_floor).
    mtu_probing: int = 0
    base_mss: int = 1024
    mtu_probe_threshold: int = 8
    mtu_probe_interval: float = 600.0
    mtu_probe_floor: int = 48

    # Receiving: delayed ACK (RFC 9293 3.8.6.3, RFC 5681 4.2).
    delayed_ack: bool = True
    delayed_ack_timeout: float = 0.2
    quickack_segments: int = 2  # ACK at least every second full-sized segment
    # Count only full-sized segments toward ``quickack_segments`` (RFC 5681 4.2's
    # minimum); off, every second segment of any size is ACKed at once (BSD).
    delayed_ack_full_segments_only: bool = True
    # At most this many of the first data segments are ACKed at once, never
    # delayed (Linux's quick-ACK mode at a connection's start: it helps the
    # peer's slow start; bounded, as Linux, by half the window in segments).
    quickack_initial: int = 0
    # Linux's interactive ("pingpong") mode: data we send within the delayed
    # ACK timeout of the last data (or SYN,ACK) we received looks like a reply,
    # and from then on no data is ACKed at once by the quick-ACK budget above,
    # until a delayed ACK timer fires (tcp_event_data_sent, tcp_delack_timer).
    pingpong_acks: bool = False
    # After a read, a window update goes only once the window would at least
    # double (Linux's tcp_cleanup_rbuf); off: once it opens by two segments or
    # half the buffer (RFC 9293 3.8.6.2.2's receiver SWS rule).
    window_update_on_doubling: bool = False

    # Retransmission (RFC 6298).
    rto_initial: float = 1.0
    rto_min: float = 1.0
    rto_max: float = 60.0
    clock_granularity: float = 0.001
    # RFC 9293 3.8.3: R1, retransmissions before advising the user; R2, when to
    # give up. R2 is counted as Linux counts it (tcp_retries2, tcp_syn_retries,
    # tcp_synack_retries), and never reached before the RFC's minimum time:
    # ``r2`` seconds of retransmission for data, ``syn_r2`` (3 minutes) for a SYN.
    r1: int = 3
    retries: int = 15
    syn_retries: int = 6
    synack_retries: int = 5
    r2: float = 100.0
    syn_r2: float = 180.0
    # RFC 9293 3.10.8 / RFC 5482: how long data may stay unacknowledged before
    # the connection is given up; None (Linux's default) leaves it to R2.
    user_timeout: float | None = None
    # The user timeout while our SYN is unacknowledged (the handshake's limit,
    # FreeBSD's keepinit); None: ``user_timeout`` applies there too.
    connect_timeout: float | None = None
    persist_min: float = 1.0
    persist_max: float = 60.0
    # A zero window is probed for as long as the peer answers (RFC 9293 3.8.6.1,
    # RFC 1122 4.2.2.17); after this many probes in a row go unanswered, the
    # connection is given up (Linux: tcp_retries2).
    persist_max_probes: int = 15

    # A segment wholly below RCV.NXT is answered with an ACK and dropped (RFC
    # 9293 3.10.7.4); with this on, its ACK field is still processed first, as
    # BSD stacks do, so a peer that reuses its FIN's sequence number is heard.
    old_segment_acks: bool = False

    # Closing.
    # While our FIN is unacknowledged, every ACK we send repeats it (FreeBSD
    # does; a lost FIN is then recovered without waiting for the RTO).
    ack_repeats_fin: bool = False
    msl: float = 120.0  # TIME-WAIT lasts 2 * msl (RFC 9293 3.4.2)
    fin_wait_2_timeout: float | None = None
    rfc1337: bool = True  # ignore RST in TIME-WAIT (RFC 1337)
    rst_on_data_after_close: bool = True  # RFC 9293 3.6 / RFC 1122 4.2.2.13
    # The RST of an ABORT (or of a CLOSE with unread data) also acknowledges
    # RCV.NXT, as Linux's tcp_send_active_reset does; RFC 9293 3.10.5 sends a bare
    # <SEQ=SND.NXT><CTL=RST>.
    abort_rst_ack: bool = False

    # Keep-alive (RFC 9293 3.8.4): off by default, and never under 2 hours idle.
    keepalive: bool = False
    keepalive_idle: float = 7200.0
    keepalive_interval: float = 75.0
    keepalive_probes: int = 9

    # RFC 5961: a RST must hit RCV.NXT exactly (3.2) and a SYN in a synchronized
    # state draws a challenge ACK (4.2). Off: RFC 9293's older rules, where any
    # in-window RST or SYN resets the connection.
    rfc5961_rst: bool = True
    rfc5961_syn: bool = True
    # RFC 5961 5.2: an ACK of data not yet sent draws a challenge ACK; off, it
    # is dropped without a word (Linux's tcp_ack).
    challenge_unsent_ack: bool = True
    # RFC 5961 section 7: challenge ACKs allowed per second, per connection.
    challenge_ack_limit: int = 1000
    # An unacceptable segment is answered with an ACK (RFC 9293 3.10.7.4). Two
    # ends out of step (a segment injected into one of them, RFC 5961 1.1)
    # would answer each other's ACKs for ever, an ACK storm; so one that
    # carries nothing (no text, SYN or FIN) is answered at most once per this
    # many seconds per connection, as Linux's tcp_invalid_ratelimit (500 ms).
    # 0: every one is answered.
    invalid_ack_interval: float = 0.5

    # TCP Fast Open (RFC 7413, tcp/fastopen.py; docs/fastopen.md). Off by
    # default; Linux's net.ipv4.tcp_fastopen bits: 1 client, 2 server, 0x200
    # (TFO_SERVER_COOKIE_NOT_REQD) is ``fastopen_cookie_required=False``.
    fastopen_client: bool = False
    fastopen_server: bool = False
    fastopen_cookie_required: bool = True
    # The client sends data on its SYN with no cookie and no option at all
    # (Linux's 0x4, TFO_CLIENT_NO_COOKIE, for servers known to take it; RFC
    # 7413 4.1.3 leaves the cookie out only for such servers).
    fastopen_client_no_cookie: bool = False
    # The server's key: Linux's text ("a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4",
    # optionally ",backup") or 16 bytes; None: a Host derives one from its secret.
    fastopen_key: str | bytes | None = None
    # "blake2s" (keyed BLAKE2s, 8 bytes) or "siphash" (SipHash-2-4, as Linux).
    fastopen_cookie_algorithm: str = "blake2s"

    # RFC 7323 timestamp clock, in ticks per second (1 ms).
    timestamp_hz: int = 1000
    # RFC 7323 3.2: once timestamps are agreed, a non-RST segment without one is
    # dropped. Off: such segments are taken (as Linux does).
    require_timestamps: bool = True

    def __post_init__(self) -> None:
        for name in DURATIONS:
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise ValueError(
                    f"{name} must be a finite number of seconds, 0 or more, not {value}"
                )
        if self.window_scale is not None and not 0 <= self.window_scale <= 14:
            raise ValueError("window_scale must be between 0 and 14 (RFC 7323 2.3)")
        if self.delayed_ack_timeout >= 0.5:
            raise ValueError("delayed ACK timeout must be under 0.5 s (RFC 9293 3.8.6.3)")
        if not 0 < self.rto_min <= self.rto_initial <= self.rto_max:
            raise ValueError("need 0 < rto_min <= rto_initial <= rto_max")
        if self.send_buffer <= 0 or self.recv_buffer <= 0:
            raise ValueError("buffer sizes must be positive")
        if not self.msl > 0:
            raise ValueError("msl must be positive (seconds; TIME-WAIT lasts 2 x MSL)")
        if self.ecn not in ("off", "passive", "on"):
            raise ValueError(f"ecn must be off, passive or on, not {self.ecn!r}")
        if self.prr_variant not in ("rfc6937", "linux"):
            raise ValueError(f"prr_variant must be rfc6937 or linux, not {self.prr_variant!r}")
        if self.mtu_probing not in (0, 1, 2):
            raise ValueError("mtu_probing must be 0, 1 or 2 (net.ipv4.tcp_mtu_probing)")
        if self.fastopen_cookie_algorithm not in ("blake2s", "siphash"):
            raise ValueError("fastopen_cookie_algorithm must be blake2s or siphash")
        unknown = set(self.syn_option_order) - {"mss", "sackOK", "TS", "nop", "wscale"}
        if unknown:
            raise ValueError(f"unknown SYN options {sorted(unknown)}")

    def initial_window_for(self, mss: int) -> int | None:
        """Bytes of the initial congestion window; None leaves it to RFC 5681 3.1."""
        if self.initial_window is not None:
            return self.initial_window
        if self.initial_window_rfc6928:
            return min(10 * mss, max(2 * mss, 14600))  # RFC 6928 section 2
        return None

    def advertised_mss(self, ip_version: int) -> int:
        """The MSS we announce: the MTU less the IP and TCP headers."""
        if self.mss is not None:
            return self.mss
        return self.mtu - (IPV4_TCP_HEADERS if ip_version == 4 else IPV6_TCP_HEADERS)

    def receive_window_scale(self) -> int:
        """The shift we offer (RFC 7323 2.3): the smallest that covers recv_buffer."""
        if self.window_scale is not None:
            return self.window_scale
        # 65535 << shift covers the buffer when 2**shift is at least the
        # number of 65535-byte windows it takes, at most 14
        windows = -(-self.recv_buffer // 65535)
        return min((windows - 1).bit_length(), 14)
