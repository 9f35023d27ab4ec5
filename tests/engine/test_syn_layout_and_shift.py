"""The SYN's option layout, worked out once per config, and the window scale
shift we offer, in closed form: both checked against their definitions."""

from __future__ import annotations

import pytest

from synack.tcp.config import TcpConfig
from synack.tcp.options import syn_options
from synack.wire.segment import NOP, SACK_PERMITTED, MaxSegmentSize, Timestamps, WindowScale


def _shift_by_definition(recv_buffer: int) -> int:
    """RFC 7323 2.3: the smallest shift whose largest window covers the buffer, at most 14."""
    shift = 0
    while (65535 << shift) < recv_buffer and shift < 14:
        shift += 1
    return shift


_BUFFERS = (1, 65534, 65535, 65536, 131070, 131071, 256 * 1024, 1 << 40)
_EDGES = [(65535 << k) + d for k in (13, 14) for d in (0, 1)]


@pytest.mark.parametrize("recv_buffer", [*_BUFFERS, *_EDGES])
def test_offered_shift_is_the_smallest_that_covers_the_buffer(recv_buffer: int) -> None:
    shift = TcpConfig(recv_buffer=recv_buffer).receive_window_scale()
    assert shift == _shift_by_definition(recv_buffer)


def test_an_explicit_shift_stands() -> None:
    assert TcpConfig(recv_buffer=1 << 30, window_scale=2).receive_window_scale() == 2


def test_each_config_keeps_its_own_layout() -> None:
    # two configs asked in turn: a layout kept for the wrong config would show
    linux = TcpConfig()
    other = TcpConfig(syn_option_order=("nop", "wscale", "mss", "TS", "sackOK"))
    agreed = (True, True, True)
    for _ in range(2):
        assert syn_options(linux, False, 1460, 7, agreed, 11, 22) == (
            MaxSegmentSize(1460), SACK_PERMITTED, Timestamps(11, 0), NOP, WindowScale(7),
        )  # fmt: skip
        assert syn_options(other, False, 1460, 7, agreed, 11, 22) == (
            NOP, WindowScale(7), MaxSegmentSize(1460), NOP, NOP, Timestamps(11, 0),
            SACK_PERMITTED,
        )  # fmt: skip


def test_a_syn_ack_offers_only_what_was_agreed_and_echoes_the_timestamp() -> None:
    cfg = TcpConfig()
    assert syn_options(cfg, True, 1460, 7, (False, True, True), 11, 22) == (
        MaxSegmentSize(1460), SACK_PERMITTED, Timestamps(11, 22),
    )  # fmt: skip
    assert syn_options(cfg, True, 1460, 7, (True, False, False), 11, 22) == (
        MaxSegmentSize(1460), NOP, WindowScale(7),
    )  # fmt: skip


def test_a_syn_offers_everything_whatever_agreed_says() -> None:
    cfg = TcpConfig()
    offered = syn_options(cfg, False, 1460, 7, (True, True, True), 11, 22)
    for agreed in ((False, False, False), (True, False, True)):
        assert syn_options(cfg, False, 1460, 7, agreed, 11, 22) == offered


def test_more_configs_than_the_cache_keeps_each_get_their_own_layout() -> None:
    # past the cache's bound it starts over; every config still gets its own
    orders = (("mss", "sackOK", "TS", "nop", "wscale"), ("nop", "wscale", "mss", "TS", "sackOK"))
    configs = [TcpConfig(syn_option_order=orders[i % 2], recv_buffer=i + 1) for i in range(600)]
    for _ in range(2):
        for i, cfg in enumerate(configs):
            first = syn_options(cfg, False, 1460, 7, (True, True, True), 11, 22)[0]
            assert first == (MaxSegmentSize(1460) if i % 2 == 0 else NOP)
