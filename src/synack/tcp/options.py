"""The SYN's options: what we offer, and what both ends agree on.

Pure functions of the configuration and the segments: the MSS (RFC 9293
3.7.1), window scaling and timestamps (RFC 7323), SACK-permitted (RFC 2018)
and ECN setup (RFC 3168 6.1.1). A SYN,ACK offers only what the peer's SYN
offered.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from synack.tcp.config import TcpConfig
from synack.wire.segment import (
    ACK,
    CWR,
    ECE,
    FIXED_OPTION_LENGTHS,
    KIND_MSS,
    KIND_NOP,
    KIND_SACK_PERMITTED,
    KIND_TIMESTAMPS,
    KIND_WSCALE,
    NOP,
    SACK_PERMITTED,
    MaxSegmentSize,
    Option,
    Segment,
    Timestamps,
    WindowScale,
)

MIN_MSS: Final = 64  # the least MSS we agree to, whatever the peer says
MAX_WINDOW_SHIFT: Final = 14  # RFC 7323 2.3


class Agreement(NamedTuple):
    """What a SYN's options settle for this connection."""

    snd_mss: int | None  # None: the peer named no MSS, the default stands
    window_scaling: bool
    snd_wscale: int  # the peer's shift, applied to the windows it sends
    timestamps: Timestamps | None  # the peer's, when both ends use them
    sack: bool
    ecn: bool


def agree(cfg: TcpConfig, seg: Segment, rcv_mss: int, ecn_asked: bool) -> Agreement:
    """Negotiate from the peer's SYN or SYN,ACK. ``ecn_asked``: the last SYN we
    sent was an ECN-setup SYN (only then may a SYN,ACK agree to ECN)."""
    ecn_flags = seg.flags & (ECE | CWR)
    if seg.flags & ACK:  # a SYN,ACK agrees with ECE alone (RFC 3168 6.1.1)
        ecn = ecn_asked and ecn_flags == ECE
    else:  # a SYN asks with both
        ecn = cfg.ecn != "off" and ecn_flags == ECE | CWR
    peer_mss = seg.mss
    peer_ws = seg.window_scale
    scaling = cfg.tcp_options and cfg.window_scaling and peer_ws is not None
    return Agreement(
        None if peer_mss is None else max(min(peer_mss, rcv_mss), MIN_MSS),  # snd_mss
        scaling,  # window_scaling
        min(peer_ws or 0, MAX_WINDOW_SHIFT) if scaling else 0,  # snd_wscale
        seg.timestamps if cfg.tcp_options and cfg.timestamps else None,  # timestamps
        cfg.tcp_options and cfg.sack and seg.sack_permitted,  # sack
        ecn,
    )


def syn_options(
    cfg: TcpConfig,
    answering: bool,
    mss: int,
    wscale: int,
    agreed: tuple[bool, bool, bool],
    tsval: int,
    tsecr: int,
) -> tuple[Option, ...]:
    """The options of our SYN (``answering`` False) or SYN,ACK, in the order
    ``cfg.syn_option_order`` gives. A SYN,ACK offers only what was agreed:
    ``agreed`` is (window scaling, SACK, timestamps)."""
    opts: list[Option] = []
    for kind in _layout(cfg, answering, agreed):
        if kind == KIND_NOP:
            opts.append(NOP)
        elif kind == KIND_MSS:
            opts.append(MaxSegmentSize(mss))
        elif kind == KIND_TIMESTAMPS:
            opts.append(Timestamps(tsval, tsecr if answering else 0))
        elif kind == KIND_WSCALE:
            opts.append(WindowScale(wscale))
        else:
            opts.append(SACK_PERMITTED)
    return tuple(opts)


# The layouts worked out so far, by config (its identity: the entry keeps
# it alive, so no other config can take its id), answering and agreed.
_LAYOUTS: dict[tuple[int, bool, tuple[bool, bool, bool]], tuple[TcpConfig, tuple[int, ...]]] = {}
_LAYOUT_LIMIT: Final = 256
_ALL: Final = (True, True, True)


def _layout(cfg: TcpConfig, answering: bool, agreed: tuple[bool, bool, bool]) -> tuple[int, ...]:
    """The option kinds of a SYN (or SYN,ACK), NOPs included: the same for
    every connection of a config, so worked out once."""
    if not answering:
        agreed = _ALL  # a SYN offers everything: what was agreed plays no part
    key = (id(cfg), answering, agreed)
    known = _LAYOUTS.get(key)
    if known is not None:
        return known[1]
    layout: list[int] = []
    if cfg.tcp_options:
        scaling, sack, timestamps = agreed
        length = 0  # of the options so far
        nops = 0  # a NOP pads the option after it, and goes if that option does
        for name in cfg.syn_option_order:
            kind: int | None = None
            if name == "mss":
                kind = KIND_MSS
            elif name == "nop":
                nops += 1
                continue
            elif name == "wscale" and cfg.window_scaling and scaling:
                kind = KIND_WSCALE
            elif name == "sackOK" and cfg.sack and sack:
                kind = KIND_SACK_PERMITTED
                if cfg.pad_sack_permitted and not (cfg.timestamps and timestamps):
                    nops = -(length + 2) % 4
            elif name == "TS" and cfg.timestamps and timestamps:
                kind = KIND_TIMESTAMPS
                # NOPs before it so that it ends on a 32-bit boundary (RFC 7323 appendix A)
                nops = -(length + 10) % 4
            if kind is not None:
                layout.extend([KIND_NOP] * nops)
                layout.append(kind)
                length += nops + FIXED_OPTION_LENGTHS[kind]
            nops = 0
    if len(_LAYOUTS) >= _LAYOUT_LIMIT:
        _LAYOUTS.clear()
    kinds = tuple(layout)
    _LAYOUTS[key] = (cfg, kinds)
    return kinds
