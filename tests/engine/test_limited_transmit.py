"""Limited transmit (RFC 3042): the first two duplicate ACKs each let one new
segment out beyond the congestion window."""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import IRS, ISS, MSS, PLAIN, in_state, ours, out, peer

from synack.tcp.state import State
from synack.wire.segment import ACK, PSH

# cwnd of two segments, NewReno, five segments waiting
CONFIG = replace(PLAIN, initial_window=2 * MSS, congestion_control="newreno")
DATA = bytes(range(256)) * 40  # 10,240 bytes: 7 segments of 1460 and a tail


def _segment(n: int) -> bytes:
    return DATA[n * MSS : (n + 1) * MSS]


def _sending(config):
    conn = in_state(State.ESTABLISHED, config)
    conn.send(DATA[: 5 * MSS])
    first_two = out(conn)
    assert [s.seq for s in first_two] == [ISS + 1, ISS + 1 + MSS]  # cwnd: 2 segments
    return conn


def _dupack(conn):
    conn.receive_segment(peer(ACK, IRS + 1, ISS + 1), 0.1)
    return out(conn, 0.1)


def test_first_two_duplicate_acks_each_send_a_new_segment() -> None:
    conn = _sending(CONFIG)
    assert _dupack(conn) == [ours(ACK, ISS + 1 + 2 * MSS, IRS + 1, payload=_segment(2))]
    assert _dupack(conn) == [ours(ACK, ISS + 1 + 3 * MSS, IRS + 1, payload=_segment(3))]
    # the third is a fast retransmit (RFC 5681 3.2) of the first segment; with
    # 4 segments in flight, ssthresh is 2 and the inflated cwnd 5: one new segment
    assert _dupack(conn) == [
        ours(ACK, ISS + 1, IRS + 1, payload=_segment(0)),
        ours(ACK | PSH, ISS + 1 + 4 * MSS, IRS + 1, payload=_segment(4)),
    ]
    assert (conn.cc.ssthresh, conn.cc.cwnd) == (2 * MSS, 5 * MSS)


@pytest.mark.parametrize("config", [replace(CONFIG, limited_transmit=False)])
def test_off_duplicate_acks_send_nothing_new(config) -> None:
    conn = _sending(config)
    assert _dupack(conn) == []
    assert _dupack(conn) == []
    # only 2 segments in flight: ssthresh 2, inflated cwnd 5, three new segments
    assert _dupack(conn) == [
        ours(ACK, ISS + 1, IRS + 1, payload=_segment(0)),
        ours(ACK, ISS + 1 + 2 * MSS, IRS + 1, payload=_segment(2)),
        ours(ACK, ISS + 1 + 3 * MSS, IRS + 1, payload=_segment(3)),
        ours(ACK | PSH, ISS + 1 + 4 * MSS, IRS + 1, payload=_segment(4)),
    ]


def test_limited_by_the_receive_window() -> None:
    """RFC 3042 2: only if the receiver's advertised window allows."""
    conn = _sending(CONFIG)
    conn.receive_segment(peer(ACK, IRS + 1, ISS + 1, window=2 * MSS), 0.1)
    assert out(conn, 0.1) == []  # a window update, not a duplicate: and no room


def test_a_new_ack_ends_it() -> None:
    conn = _sending(CONFIG)
    _dupack(conn)  # segment 2 goes out
    conn.receive_segment(peer(ACK, IRS + 1, ISS + 1 + MSS), 0.2)  # new data acknowledged
    # cwnd 3 after slow start's growth, 2 in flight: one more segment, no more
    assert out(conn, 0.2) == [ours(ACK, ISS + 1 + 3 * MSS, IRS + 1, payload=_segment(3))]
