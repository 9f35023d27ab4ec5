"""Profiles: the stack a script was written against, as an honest TcpConfig.

A packetdrill script states the segments one particular stack sends: its
receive buffer, its SYN option order, its timers. A profile is the
configuration of our engine that matches that stack's defaults, plus the
stack's sysctl names, so ``sysctl -w`` lines in a script change the same
settings they change there. Nothing in the engine knows about profiles.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from synack.conformance.errqueue_calls import TIMESTAMPING_BITS
from synack.tcp.config import TcpConfig

# A sysctl's effect: the TcpConfig fields it sets, from its value as written
# (settings named with a leading "_" are the Host's or the runner's). It
# raises SysctlError for a value whose behaviour the engine does not have.
SysctlEffect = Callable[[str], dict[str, Any]]


class SysctlError(ValueError):
    """A sysctl this profile does not know, or a value of it not emulated."""


def _int(value: str) -> int:
    try:
        return int(value, 0)
    except ValueError:
        raise SysctlError(f"{value!r} is not a number") from None


def _number(effect: Callable[[int], dict[str, Any]]) -> SysctlEffect:
    return lambda value: effect(_int(value))


def _only(allowed: str, why: str) -> SysctlEffect:
    """A sysctl whose other values select behaviour the engine does not have."""

    def effect(value: str) -> dict[str, Any]:
        if value.strip() not in allowed.split("|"):
            raise SysctlError(f"only {allowed} is emulated ({why})")
        return {}

    return effect


def _no_effect(why: str) -> SysctlEffect:
    """A sysctl with nothing to change here, whatever its value: ``why`` says
    why (docs/conformance.md lists them)."""
    return lambda value: {}


def _unsupported(what: str) -> Any:
    raise SysctlError(f"{what} is not emulated")


def _window_scale_for(max_buffer: int) -> int:
    """The shift that lets a window reach ``max_buffer`` (how FreeBSD picks it)."""
    shift = 0
    while shift < 14 and (65535 << shift) < max_buffer:
        shift += 1
    return shift


def _linux_window_scale(max_buffer: int) -> int:
    """Linux's shift (tcp_select_initial_window): halve the largest receive
    buffer until it fits in 16 bits."""
    shift = 0
    while max_buffer > 65535 and shift < 14:
        max_buffer >>= 1
        shift += 1
    return shift


def _buffers(field_name: str, scale: bool) -> SysctlEffect:
    """tcp_rmem / tcp_wmem: "min default max"; the default is the buffer a socket
    starts with, and the receive side's max sets the window scale."""

    def effect(value: str) -> dict[str, Any]:
        parts = value.split()
        if len(parts) != 3:
            raise SysctlError(f"{value!r}: expected three sizes, min default max")
        _, default, high = (_int(p) for p in parts)
        changes: dict[str, Any] = {field_name: default}
        if scale:
            changes["window_scale"] = _linux_window_scale(high)
        return changes

    return effect


def _linux_fastopen(bits: int) -> dict[str, Any]:
    """net.ipv4.tcp_fastopen: 0x1 client, 0x2 server, 0x4 client data
    without a cookie (TFO_CLIENT_NO_COOKIE), 0x200 no cookie needed
    (TFO_SERVER_COOKIE_NOT_REQD), 0x400 every listener without the socket
    option, its queue length in the upper 16 bits (TFO_SERVER_WO_SOCKOPT1)."""
    unknown = bits & ~(0x1 | 0x2 | 0x4 | 0x200 | 0x400 | 0xFFFF0000)
    if unknown:
        raise SysctlError(f"bits {unknown:#x} are not emulated")
    return {
        "fastopen_client": bool(bits & 0x1),
        "fastopen_server": bool(bits & 0x2),
        "fastopen_client_no_cookie": bool(bits & 0x4),
        "fastopen_cookie_required": not bits & 0x200,
        "_fastopen_queue": bits >> 16 if bits & 0x400 else 0,
    }


def _mtu_probing(mode: int) -> dict[str, Any]:
    """net.ipv4.tcp_mtu_probing: RFC 4821's PLPMTUD off (0), on once a black
    hole is suspected (1), always on (2)."""
    if mode not in (0, 1, 2):
        raise SysctlError(f"{mode}: expected 0, 1 or 2")
    return {"mtu_probing": mode}


def _congestion_control(value: str) -> dict[str, Any]:
    names = {"cubic": "cubic", "reno": "newreno"}
    if value not in names:
        _unsupported(f"congestion control {value!r} (cubic and reno are)")
    return {"congestion_control": names[value]}


_FREEBSD_SYSCTLS: dict[str, SysctlEffect] = {
    "net.inet.tcp.rfc1323": _number(lambda v: {"window_scaling": bool(v), "timestamps": bool(v)}),
    "net.inet.tcp.sack.enable": _number(lambda v: {"sack": bool(v)}),
    "net.inet.tcp.recvspace": _number(lambda v: {"recv_buffer": v}),
    "net.inet.tcp.sendspace": _number(lambda v: {"send_buffer": v}),
    "kern.ipc.maxsockbuf": _number(lambda v: {"window_scale": _window_scale_for(v)}),
    "net.inet.tcp.delacktime": _number(lambda v: {"delayed_ack_timeout": v / 1000}),
    "net.inet.tcp.rexmit_initial": _number(lambda v: {"rto_initial": v / 1000}),
    "net.inet.tcp.rexmit_min": _number(lambda v: {"rto_min": v / 1000}),
    "net.inet.tcp.keepinit": _number(lambda v: {"connect_timeout": v / 1000}),
    "net.inet.tcp.insecure_rst": _number(lambda v: {"rfc5961_rst": not v}),
    "net.inet.tcp.insecure_syn": _number(lambda v: {"rfc5961_syn": not v}),
    "net.inet.tcp.ecn.enable": _number(lambda v: {"ecn": {0: "off", 1: "on"}.get(v, "passive")}),
    "net.inet.tcp.ecn.maxretries": _number(lambda v: {"ecn_syn_retries": v}),
    "net.inet.tcp.blackhole": _only("0", "a closed port is answered with a RST (RFC 9293)"),
    "net.inet.tcp.hostcache.purgenow": _no_effect("no host cache: each script has a new Host"),
    "net.inet.tcp.drop_synfin": _no_effect("a SYN with FIN is taken as RFC 9293 3.10.7 says"),
    "net.inet.tcp.rexmit_slop": _no_effect("RFC 6298 backoff; see expected-failures.txt"),
    "net.inet.tcp.rexmit_drop_options": _no_effect("SYN retransmissions keep their options"),
    "net.inet.tcp.syncookies": _number(lambda v: {"_syn_cookies": 1 if v else 0}),
    "net.inet.tcp.syncookies_only": _number(lambda v: {"_syn_cookies": 2} if v else {}),
    "net.inet.tcp.tolerate_missing_ts": _number(lambda v: {"require_timestamps": not v}),
}

# Linux's net.ipv4.tcp_* sysctls (Documentation/networking/ip-sysctl.rst), each
# mapped to the TcpConfig fields that give its behaviour, or accepted only
# with the values whose behaviour the engine has.
_LINUX_SYSCTLS: dict[str, SysctlEffect] = {
    "net.ipv4.tcp_rmem": _buffers("recv_buffer", scale=True),
    "net.ipv4.tcp_wmem": _buffers("send_buffer", scale=False),
    "net.ipv4.tcp_timestamps": _number(lambda v: {"timestamps": bool(v)}),
    "net.ipv4.tcp_window_scaling": _number(lambda v: {"window_scaling": bool(v)}),
    "net.ipv4.tcp_sack": _number(lambda v: {"sack": bool(v)}),
    "net.ipv4.tcp_dsack": _number(lambda v: {"dsack": bool(v)}),
    "net.ipv4.tcp_fack": _only("0", "FACK is gone from Linux; the engine has none"),
    "net.ipv4.tcp_reordering": _number(lambda v: {"dupack_threshold": v}),
    "net.ipv4.tcp_congestion_control": _congestion_control,
    "net.ipv4.tcp_slow_start_after_idle": _number(lambda v: {"restart_after_idle": bool(v)}),
    "net.ipv4.tcp_early_retrans": _number(lambda v: {"tail_loss_probe": v >= 3}),
    "net.ipv4.tcp_recovery": _number(lambda v: {"rack": bool(v & 1)}),
    "net.ipv4.tcp_frto": _no_effect("F-RTO (RFC 5682) is not implemented"),
    "net.ipv4.tcp_tso_win_divisor": _no_effect("TSO deferral is not emulated"),
    "net.ipv4.tcp_min_tso_segs": _no_effect("a super-segment is what cwnd and the window allow"),
    "net.ipv4.tcp_ecn": _number(lambda v: {"ecn": {0: "off", 1: "on"}.get(v, "passive")}),
    "net.ipv4.tcp_ecn_option": _no_effect("AccECN is not implemented; RFC 3168 ECN is"),
    "net.ipv4.tcp_pacing_ss_ratio": _no_effect("pacing is off in this profile"),
    "net.ipv4.tcp_pacing_ca_ratio": _no_effect("pacing is off in this profile"),
    "net.ipv4.tcp_notsent_lowat": _no_effect("TCP_NOTSENT_LOWAT is per socket here"),
    "net.ipv4.tcp_syncookies": _number(lambda v: {"_syn_cookies": v}),
    "net.ipv4.tcp_syn_retries": _number(
        lambda v: {"syn_retries": v, "syn_r2": float((1 << (v + 1)) - 1)}
    ),
    "net.ipv4.tcp_synack_retries": _number(lambda v: {"synack_retries": v}),
    "net.ipv4.tcp_fastopen": _number(lambda v: _linux_fastopen(v)),
    "net.ipv4.tcp_fastopen_key": lambda v: {"fastopen_key": v},
    "net.ipv4.tcp_fastopen_blackhole_timeout_sec": _no_effect("no TFO blackhole detection"),
    "net.ipv4.tcp_fastopen_cookies": _no_effect(
        "the client's cookie cache is not bounded (0 empties it: runtime.py)"
    ),
    "net.ipv4.tcp_mtu_probing": _number(_mtu_probing),
    "net.ipv4.tcp_base_mss": _number(lambda v: {"base_mss": v}),
    "net.ipv4.tcp_probe_threshold": _number(lambda v: {"mtu_probe_threshold": v}),
    "net.ipv4.tcp_probe_interval": _number(lambda v: {"mtu_probe_interval": float(v)}),
    "net.ipv4.tcp_mtu_probe_floor": _number(lambda v: {"mtu_probe_floor": v}),
}


# Linux's errno values (asm-generic/errno*.h).
LINUX_ERRNO = {
    "EPERM": 1, "ENOENT": 2, "EINTR": 4, "EIO": 5, "EBADF": 9, "EAGAIN": 11,
    "EWOULDBLOCK": 11, "ENOMEM": 12, "EFAULT": 14, "EEXIST": 17, "EINVAL": 22, "EPIPE": 32,
    "ENOTSOCK": 88, "EDESTADDRREQ": 89, "EMSGSIZE": 90, "ENOPROTOOPT": 92,
    "EOPNOTSUPP": 95, "EADDRINUSE": 98, "ENETUNREACH": 101, "ECONNABORTED": 103,
    "ECONNRESET": 104, "ENOBUFS": 105, "EISCONN": 106, "ENOTCONN": 107,
    "ENOMSG": 42, "ETIMEDOUT": 110, "ECONNREFUSED": 111, "EHOSTUNREACH": 113, "EALREADY": 114,
    "EINPROGRESS": 115,
}  # fmt: skip

# Linux's constants for the socket calls of its scripts (socket.h, tcp.h,
# poll.h, eventpoll.h, sockios.h), and the names its %{ }% blocks compare with.
LINUX_SYMBOLS = {
    "AF_INET": 2, "AF_INET6": 10, "SOCK_STREAM": 1, "IPPROTO_TCP": 6, "IPPROTO_IP": 0,
    "SOL_SOCKET": 1, "SOL_TCP": 6, "SOL_IP": 0, "SOL_IPV6": 41,
    "SO_REUSEADDR": 2, "SO_ERROR": 4, "SO_SNDBUF": 7, "SO_RCVBUF": 8, "SO_KEEPALIVE": 9,
    "SO_LINGER": 13, "SO_MARK": 36, "SO_TIMESTAMPING": 37, "SO_ZEROCOPY": 60,
    "TCP_NODELAY": 1, "TCP_MAXSEG": 2, "TCP_CORK": 3, "TCP_KEEPIDLE": 4,
    "TCP_KEEPINTVL": 5, "TCP_KEEPCNT": 6, "TCP_SYNCNT": 7, "TCP_INFO": 11,
    "TCP_MD5SIG": 14, "TCP_USER_TIMEOUT": 18, "TCP_FASTOPEN": 23, "TCP_NOTSENT_LOWAT": 25,
    "TCP_FASTOPEN_CONNECT": 30, "TCP_FASTOPEN_KEY": 33, "TCP_INQ": 36, "TCP_CM_INQ": 36,
    "IP_TOS": 1, "IP_MTU_DISCOVER": 10, "IP_FREEBIND": 15, "IP_PMTUDISC_DONT": 0,
    "IP_PMTUDISC_WANT": 1, "IP_PMTUDISC_DO": 2, "IPV6_TCLASS": 67,
    "IP_RECVERR": 11, "IPV6_RECVERR": 25, "SO_EE_ORIGIN_TIMESTAMPING": 4,
    "SO_EE_ORIGIN_ZEROCOPY": 5, "SO_EE_CODE_ZEROCOPY_COPIED": 1, "SCM_TIMESTAMPING": 37,
    "SCM_TSTAMP_SND": 0, "SCM_TSTAMP_SCHED": 1, "SCM_TSTAMP_ACK": 2,
    "F_GETFL": 3, "F_SETFL": 4, "O_RDONLY": 0, "O_RDWR": 2, "O_NONBLOCK": 0x800,
    "MSG_PEEK": 0x2, "MSG_TRUNC": 0x20, "MSG_DONTWAIT": 0x40, "MSG_EOR": 0x80,
    "MSG_ERRQUEUE": 0x2000, "MSG_NOSIGNAL": 0x4000, "MSG_MORE": 0x8000,
    "MSG_ZEROCOPY": 0x4000000, "MSG_FASTOPEN": 0x20000000,
    "SHUT_RD": 0, "SHUT_WR": 1, "SHUT_RDWR": 2,
    "POLLIN": 0x1, "POLLPRI": 0x2, "POLLOUT": 0x4, "POLLERR": 0x8, "POLLHUP": 0x10,
    "POLLNVAL": 0x20, "POLLRDNORM": 0x40, "POLLWRNORM": 0x100, "POLLRDHUP": 0x2000,
    "EPOLLIN": 0x1, "EPOLLPRI": 0x2, "EPOLLOUT": 0x4, "EPOLLERR": 0x8, "EPOLLHUP": 0x10,
    "EPOLLRDNORM": 0x40, "EPOLLWRNORM": 0x100, "EPOLLRDHUP": 0x2000,
    "EPOLLONESHOT": 1 << 30, "EPOLLET": 1 << 31,
    "EPOLL_CTL_ADD": 1, "EPOLL_CTL_DEL": 2, "EPOLL_CTL_MOD": 3,
    "SIOCOUTQ": 0x5411, "SIOCINQ": 0x541B, "SIOCOUTQNSD": 0x894B, "NULL": 0,
    # struct tcp_info: tcpi_state (TCP_ESTABLISHED...) and tcpi_ca_state
    "TCP_ESTABLISHED": 1, "TCP_SYN_SENT": 2, "TCP_SYN_RECV": 3, "TCP_FIN_WAIT1": 4,
    "TCP_FIN_WAIT2": 5, "TCP_TIME_WAIT": 6, "TCP_CLOSE": 7, "TCP_CLOSE_WAIT": 8,
    "TCP_LAST_ACK": 9, "TCP_LISTEN": 10, "TCP_CLOSING": 11,
    "TCP_CA_Open": 0, "TCP_CA_Disorder": 1, "TCP_CA_CWR": 2, "TCP_CA_Recovery": 3,
    "TCP_CA_Loss": 4, "TCP_INFINITE_SSTHRESH": 0x7FFFFFFF,
    "TCPI_OPT_TIMESTAMPS": 1, "TCPI_OPT_SACK": 2, "TCPI_OPT_WSCALE": 4,
    "TCPI_OPT_ECN": 8, "TCPI_OPT_ECN_SEEN": 16, "TCPI_OPT_SYN_DATA": 32,
    **TIMESTAMPING_BITS,
}  # fmt: skip


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    config: TcpConfig
    sysctls: dict[str, SysctlEffect] = field(default_factory=dict)
    # what fcntl(F_GETFL) reports, and the O_NONBLOCK bit
    o_nonblock: int = 0x4
    # The socket layer's numbers where the stacks differ: errno values and
    # constants by name (empty: the runner's, FreeBSD's). Scripts compare
    # errnos by name, so only a table's consistency matters.
    errno: dict[str, int] = field(default_factory=dict)
    symbols: dict[str, int] = field(default_factory=dict)
    # Linux doubles a SO_SNDBUF/SO_RCVBUF value set, and getsockopt reports
    # the doubled value (socket(7)); FreeBSD keeps it as set
    sockbuf_doubled: bool = False
    # what a write on a socket never connected fails with: Linux's
    # sk_stream_wait_connect gives EPIPE, FreeBSD ENOTCONN
    write_unconnected: str = "ENOTCONN"
    # whose struct tcp_info the names in %{ }% follow: "freebsd" or "linux"
    tcp_info: str = "freebsd"
    # Linux's tcp_sendmsg: a write fills buffers ("skbs") of half the peer's
    # largest window (at most 64 KB); a new one only while less than SO_SNDBUF
    # is queued and fewer than TCP_NOTSENT_LOWAT bytes wait unsent, so a write
    # may queue up to one buffer past SO_SNDBUF. Off: the send buffer's size
    # is a hard limit.
    write_in_skbs: bool = False
    # the ``#ifdef`` names this stack's scripts select: STANDARD is the RFC's
    # behaviour, which is what the engine implements under every profile
    defined: frozenset[str] = frozenset({"STANDARD"})

    # Google's packetdrill counts the script's sequence numbers (and our ACKs)
    # from its SYN's (S. 123:123(0), then ack 1); the nplab packetdrill of
    # FreeBSD's suite takes them as written
    remote_seq_from_syn: bool = False
    # Google's packetdrill checks what the stack sent only at the script's
    # next '>' line (the oldest segment not yet matched must match it); ours
    # also fails at once when a segment went out that no line expected.
    unexpected_at_once: bool = True
    # Google's packetdrill gives the peer a fresh port for the first SYN each
    # listener gets (run_packet.c, handle_listen_for_script_packet), so a
    # script's second connection is never the first one's 4-tuple
    new_port_per_listen: bool = False
    # Google's packetdrill looks only at the packets of the socket under test
    # (the latest socket() call, or the child of the latest SYN to a listener):
    # what other connections send is not checked (run_packet.c,
    # sniff_outbound_live_packet)
    sniff_socket_under_test: bool = False
    # the ways to run each script: ip version, addresses, MTU and -D values
    modes: tuple[RunMode, ...] = ()

    def settings_for(self, sysctl_values: dict[str, str]) -> dict[str, Any]:
        """What the sysctls set: TcpConfig fields, and "_"-named settings of the
        Host or the runner. A sysctl not known raises SysctlError naming it."""
        changes: dict[str, Any] = {}
        for name, value in sysctl_values.items():
            effect = self.sysctls.get(name)
            if effect is None:
                raise SysctlError(f"sysctl {name} is not known to the {self.name} profile")
            try:
                changes.update(effect(value))
            except SysctlError as exc:
                raise SysctlError(f"sysctl {name}={value}: {exc}") from None
        return changes

    def config_for(self, sysctl_values: dict[str, str], mtu: int | None) -> TcpConfig:
        settings = self.settings_for(sysctl_values).items()
        changes = {k: v for k, v in settings if not k.startswith("_")}
        if mtu is not None:
            changes["mtu"] = mtu
        return replace(self.config, **changes)

    def mode(self, name: str) -> RunMode:
        for mode in self.modes:
            if mode.name == name:
                return mode
        known = ", ".join(m.name for m in self.modes)
        raise ValueError(f"the {self.name} profile has no ip version {name!r} ({known})")


@dataclass(frozen=True)
class RunMode:
    """One way to run a script (as run_all.py's ipv4, ipv4-mapped-ipv6, ipv6)."""

    name: str
    ip_version: int  # of the packets on the wire
    local_address: str
    remote_address: str
    mtu: int | None = None
    definitions: tuple[tuple[str, str], ...] = ()  # -D NAME=VALUE

    def runs(self, script_name: str) -> bool:
        """Whether a script runs in this mode: ``*v4.pkt`` only over IPv4, ``*v6.pkt`` over IPv6."""
        if script_name.endswith("v6.pkt"):
            return self.ip_version == 6
        if script_name.endswith("v4.pkt"):
            return self.ip_version == 4
        return True


FREEBSD = Profile(
    "freebsd",
    "FreeBSD's TCP, which the FreeBSD tcp-testsuite scripts were written against",
    TcpConfig(
        recv_buffer=65536,
        send_buffer=32768,
        window_scale=_window_scale_for(2097152),  # kern.ipc.maxsockbuf
        syn_option_order=("mss", "nop", "wscale", "sackOK", "TS"),
        round_recv_buffer_to_mss=True,
        ack_repeats_fin=True,
        old_segment_acks=True,
        initial_window_rfc6928=True,
        ecn="passive",  # net.inet.tcp.ecn.enable=2
        rack=False,  # RACK is a separate stack there (tcp_rack), not the default
        delayed_ack_timeout=0.04,  # net.inet.tcp.delacktime
        delayed_ack_full_segments_only=False,
        rto_initial=1.0,
        rto_min=0.03,
        rto_max=64.0,
        user_timeout=None,  # none: keepinit bounds the handshake, R2 the rest
        connect_timeout=75.0,  # net.inet.tcp.keepinit
        syn_r2=3600.0,  # no R2 of its own for SYNs: keepinit is the limit
    ),
    _FREEBSD_SYSCTLS,
    o_nonblock=0x4,
    # addresses of the Host under test and of the script's peer (documentation
    # and unique-local ranges: nothing here ever reaches a network)
    modes=(
        RunMode("ipv4", 4, "192.168.0.1", "192.0.2.1"),
        RunMode("ipv6", 6, "fd3d:fa7b:d17d::1", "2001:db8::1"),
    ),
)

LINUX = Profile(
    "linux",
    "Linux's TCP, which google/packetdrill's scripts were written against",
    # Linux's own defaults, before a script's defaults.sh changes them
    TcpConfig(
        recv_buffer=131072,  # tcp_rmem's default
        send_buffer=16384,  # tcp_wmem's default
        window_scale=7,
        syn_option_order=("mss", "sackOK", "TS", "nop", "wscale"),
        pad_sack_permitted=True,  # "nop,nop,sackOK" without timestamps
        segmentation_offload=65536,  # packetdrill's tun device does TSO/GSO
        software_gso=True,  # with it off (ethtool -K), GSO packets cut in software
        nagle_minshall=True,  # tcp_nagle_check's tcp_minshall_check
        quickack_initial=16,  # TCP_MAX_QUICKACKS
        pingpong_acks=True,  # inet_csk_enter_pingpong_mode
        slow_start_ack_limit=None,  # tcp_slow_start: cwnd grows by every segment ACKed
        cwnd_validation=True,  # tcp_is_cwnd_limited
        prr_variant="linux",  # tcp_cwnd_reduction
        cwnd_growth_by_delivered=True,  # tcp_cong_avoid(sk, ack, acked_sacked)
        challenge_unsent_ack=False,  # tcp_ack drops an ACK of unsent data silently
        restart_after_idle=True,  # tcp_slow_start_after_idle=1 (defaults.sh sets 0)
        initial_window_rfc6928=True,  # TCP_INIT_CWND: 10 segments
        delayed_ack_timeout=0.04,  # TCP_DELACK_MIN
        rto_initial=1.0,
        rto_min=0.2,  # TCP_RTO_MIN
        # Linux's RTO is SRTT + max(4 x RTTVAR, TCP_RTO_MIN) (tcp_set_rto): RFC
        # 6298's formula with the clock granularity G at 200 ms
        clock_granularity=0.2,
        persist_min=0.2,  # tcp_probe0_base: the RTO, at least TCP_RTO_MIN
        window_update_on_doubling=True,  # tcp_cleanup_rbuf
        tlp_pto_extra=0.002,  # tcp_schedule_loss_probe: TCP_TIMEOUT_MIN
        ecn="passive",  # net.ipv4.tcp_ecn=2
        require_timestamps=False,
        fastopen_cookie_algorithm="siphash",  # Linux's cookies, so scripts' TFO_COOKIE match
        abort_rst_ack=True,  # tcp_send_active_reset: RST,ACK
        icmp_abort_in_syn_received=True,  # tcp_v4_err, tcp_req_err
        syn_sent_check_tsecr=True,  # tcp_rcv_synsent_state_process
    ),
    _LINUX_SYSCTLS,
    o_nonblock=0x800,
    remote_seq_from_syn=True,
    new_port_per_listen=True,
    sniff_socket_under_test=True,
    unexpected_at_once=False,
    errno=LINUX_ERRNO,
    symbols=LINUX_SYMBOLS,
    sockbuf_doubled=True,
    tcp_info="linux",
    write_unconnected="EPIPE",
    write_in_skbs=True,
    # as google/packetdrill's run_all.py runs its scripts
    modes=(
        RunMode(
            "ipv4",
            4,
            "192.168.0.1",
            "192.0.2.1",
            None,
            (
                ("TFO_COOKIE", "3021b9d889017eeb"),
                ("CODE", "host_unreachable"),
                ("CMSG_LEVEL_IP", "SOL_IP"),
                ("CMSG_TYPE_RECVERR", "IP_RECVERR"),
            ),
        ),
        RunMode(
            "ipv4-mapped-ipv6",
            4,
            "192.168.0.1",
            "192.0.2.1",
            None,
            (
                ("TFO_COOKIE", "3021b9d889017eeb"),
                ("CODE", "host_unreachable"),
                ("CMSG_LEVEL_IP", "SOL_IPV6"),
                ("CMSG_TYPE_RECVERR", "IPV6_RECVERR"),
            ),
        ),
        RunMode(
            "ipv6",
            6,
            "fd3d:a0b:17d6::1",
            "fd3d:fa7b:d17d::1",
            1520,
            (
                ("TFO_COOKIE", "c1d1e9742a47a9bc"),
                ("CMSG_LEVEL_IP", "SOL_IPV6"),
                ("CMSG_TYPE_RECVERR", "IPV6_RECVERR"),
            ),
        ),
    ),
)

PROFILES = {profile.name: profile for profile in (FREEBSD, LINUX)}
