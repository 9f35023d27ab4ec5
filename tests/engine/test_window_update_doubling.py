"""After a read, when a window update goes: RFC 9293's receiver SWS rule (the
window opens by two segments or half the buffer), or with
``window_update_on_doubling`` Linux's (the window at least doubles)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import IRS, ISS, PLAIN, in_state, out, peer

from synack.tcp.config import TcpConfig
from synack.tcp.state import State
from synack.tcp.window import update_worthwhile
from synack.wire.segment import ACK

BUFFER = 20_000
CONFIG = replace(PLAIN, recv_buffer=BUFFER, mss=1000)


def window_updates_after_reads(config: TcpConfig, reads: list[int]) -> list[int]:
    """The windows of the updates sent after each read, 10 000 bytes having
    arrived (each segment ACKed at once: delayed ACKs are off)."""
    conn = in_state(State.ESTABLISHED, config)
    for n in range(10):
        conn.receive_segment(peer(ACK, IRS + 1 + 1000 * n, ISS + 1, payload=bytes(1000)), 0.0)
    acks = out(conn)
    assert acks[-1].ack == IRS + 1 + 10_000 and acks[-1].window == BUFFER - 10_000
    windows = []
    for size in reads:
        assert len(conn.receive(size)) == size
        windows.append(sum(seg.window for seg in out(conn)))
    return windows


def test_rfc_rule_updates_once_the_window_opens_by_two_segments() -> None:
    assert window_updates_after_reads(CONFIG, [1000, 1000, 8000]) == [0, 12_000, 20_000]


def test_linux_rule_updates_only_once_the_window_doubles() -> None:
    config = replace(CONFIG, window_update_on_doubling=True)
    assert window_updates_after_reads(config, [1000, 1000, 7999, 1]) == [0, 0, 0, 20_000]


@pytest.mark.parametrize(
    ("space", "offered", "doubling", "worthwhile"),
    [
        (12_000, 10_000, False, True),
        (12_000, 10_000, True, False),
        (20_000, 10_000, True, True),
        (19_999, 10_000, True, False),
        (30_000, 15_001, True, False),  # more than half the buffer is still offered
        (1, 0, True, True),  # a zero window opens
    ],
)
def test_update_worthwhile(space: int, offered: int, doubling: bool, worthwhile: bool) -> None:
    assert update_worthwhile(space, offered, 30_000, 1000, doubling) is worthwhile
