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

from synack.tcp.config import TcpConfig

# A sysctl's effect: the TcpConfig fields it sets, from its integer value.
SysctlEffect = Callable[[int], dict[str, Any]]


def _window_scale_for(max_buffer: int) -> int:
    """The shift that lets a window reach ``max_buffer`` (how FreeBSD picks it)."""
    shift = 0
    while shift < 14 and (65535 << shift) < max_buffer:
        shift += 1
    return shift


_FREEBSD_SYSCTLS: dict[str, SysctlEffect] = {
    "net.inet.tcp.rfc1323": lambda v: {"window_scaling": bool(v), "timestamps": bool(v)},
    "net.inet.tcp.sack.enable": lambda v: {"sack": bool(v)},
    "net.inet.tcp.recvspace": lambda v: {"recv_buffer": v},
    "net.inet.tcp.sendspace": lambda v: {"send_buffer": v},
    "kern.ipc.maxsockbuf": lambda v: {"window_scale": _window_scale_for(v)},
    "net.inet.tcp.delacktime": lambda v: {"delayed_ack_timeout": v / 1000},
    "net.inet.tcp.rexmit_initial": lambda v: {"rto_initial": v / 1000},
    "net.inet.tcp.rexmit_min": lambda v: {"rto_min": v / 1000},
    "net.inet.tcp.keepinit": lambda v: {"connect_timeout": v / 1000},
    "net.inet.tcp.insecure_rst": lambda v: {"rfc5961_rst": not v},
    "net.inet.tcp.insecure_syn": lambda v: {"rfc5961_syn": not v},
    "net.inet.tcp.ecn.enable": lambda v: {"ecn": {0: "off", 1: "on"}.get(v, "passive")},
    "net.inet.tcp.ecn.maxretries": lambda v: {"ecn_syn_retries": v},
}

_LINUX_SYSCTLS: dict[str, SysctlEffect] = {
    "net.ipv4.tcp_timestamps": lambda v: {"timestamps": bool(v)},
    "net.ipv4.tcp_window_scaling": lambda v: {"window_scaling": bool(v)},
    "net.ipv4.tcp_sack": lambda v: {"sack": bool(v)},
    "net.ipv4.tcp_ecn": lambda v: {"ecn": {0: "off", 1: "on"}.get(v, "passive")},
    "net.ipv4.tcp_syn_retries": lambda v: {"syn_r2": float((1 << (v + 1)) - 1)},
}


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    config: TcpConfig
    sysctls: dict[str, SysctlEffect] = field(default_factory=dict)
    # what fcntl(F_GETFL) reports, and the O_NONBLOCK bit
    o_nonblock: int = 0x4
    # the ``#ifdef`` names this stack's scripts select: STANDARD is the RFC's
    # behaviour, which is what the engine implements under every profile
    defined: frozenset[str] = frozenset({"STANDARD"})
    # addresses of the Host under test and of the script's peer (documentation
    # and unique-local ranges: nothing here ever reaches a network)
    local_address_v4: str = "192.168.0.1"
    remote_address_v4: str = "192.0.2.1"
    local_address_v6: str = "fd3d:fa7b:d17d::1"
    remote_address_v6: str = "2001:db8::1"

    def config_for(self, sysctl_values: dict[str, int], mtu: int | None) -> TcpConfig:
        changes: dict[str, Any] = {}
        for name, value in sysctl_values.items():
            effect = self.sysctls.get(name)
            if effect is not None:
                changes.update(effect(value))
        if mtu is not None:
            changes["mtu"] = mtu
        return replace(self.config, **changes)


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
)

LINUX = Profile(
    "linux",
    "Linux's TCP, which google/packetdrill's scripts were written against",
    TcpConfig(
        recv_buffer=131072,
        send_buffer=16384,
        window_scale=7,
        syn_option_order=("mss", "sackOK", "TS", "nop", "wscale"),
        delayed_ack_timeout=0.04,
        rto_initial=1.0,
        rto_min=0.2,
        ecn="passive",  # net.ipv4.tcp_ecn=2
    ),
    _LINUX_SYSCTLS,
    o_nonblock=0x800,
)

PROFILES = {profile.name: profile for profile in (FREEBSD, LINUX)}
