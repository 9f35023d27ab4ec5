"""RACK (RFC 8985 6): losses judged by send time, on exact segments; and the
tail loss probe's episode (RFC 8985 7.4).

Times are binary fractions (RTT 1/8 s) so that "sent + RTT + reo_wnd - now"
comes out exact.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import IRS, ISS, MSS, PLAIN, events, make, ours, out, peer

from synack.tcp.config import TcpConfig
from synack.tcp.connection import Connection
from synack.tcp.rack import Rack
from synack.wire.segment import ACK, PSH, SACK_PERMITTED, SYN, MaxSegmentSize, Sack

RTT = 0.125
CONFIG = replace(PLAIN, sack=True, initial_window=10 * MSS, congestion_control="newreno")
DATA = bytes(range(256)) * 46  # 11,776 bytes: eight full segments and a tail


def _seg(n: int) -> bytes:
    return DATA[n * MSS : (n + 1) * MSS]


def _at(n: int) -> int:
    """The sequence number segment ``n`` starts at."""
    return ISS + 1 + n * MSS


def _sending(config: TcpConfig = CONFIG, segments: int = 6) -> Connection:
    """Established with SRTT = min RTT = 1/8 s; ``segments`` sent at t = 1/8."""
    conn = make(config)
    conn.connect(0.0, iss=ISS)
    out(conn)
    offer = (MaxSegmentSize(MSS), SACK_PERMITTED)
    conn.receive_segment(peer(SYN | ACK, IRS, ISS + 1, options=offer), RTT)
    out(conn, RTT)
    events(conn)
    conn.send(DATA[: segments * MSS])
    assert [s.seq for s in out(conn, RTT)] == [_at(n) for n in range(segments)]
    return conn


def _sack(conn: Connection, now: float, first: int, end: int, ack: int = 0) -> list:  # type: ignore[type-arg]
    """An ACK of segments below ``ack`` that SACKs segments ``first`` to ``end - 1``."""
    block = ((_at(first), _at(end)),)
    conn.receive_segment(peer(ACK, IRS + 1, _at(ack), options=(Sack(block),)), now)
    return out(conn, now)


def _resent(*numbers: int) -> list:  # type: ignore[type-arg]
    return [ours(ACK, _at(n), IRS + 1, payload=_seg(n)) for n in numbers]


def test_one_sacked_segment_waits_a_quarter_of_the_min_rtt() -> None:
    """Segments 0-2 were sent with segment 3, which is SACKed one RTT later: they
    are overdue only after reo_wnd = min RTT / 4 more (RFC 8985 6.2 step 4)."""
    conn = _sending()
    assert _sack(conn, 2 * RTT, 3, 4) == []
    deadline = RTT + RTT + RTT / 4  # sent + RACK.rtt + reo_wnd
    assert conn.get_timer() == deadline
    conn.handle_timer(deadline)
    assert conn.stats.rack_losses == 3
    assert conn.stats.fast_retransmits == 1 and conn.recovery.in_recovery
    # NewReno halves the flight (6 segments) to 3; the pipe holds segments 4
    # and 5: PRR lets one segment out, the first lost
    assert conn.cc.ssthresh == 3 * MSS
    assert out(conn, deadline) == _resent(0)


def test_dupthresh_segments_sacked_judge_at_once() -> None:
    """Three SACKed segments: reo_wnd is 0, as the DupThresh rule would have it."""
    conn = _sending()
    assert _sack(conn, 2 * RTT, 3, 6) == _resent(0, 1, 2)
    assert conn.stats.rack_losses == 3


def test_reordering_is_noticed_and_nothing_is_resent() -> None:
    """The "lost" segments arrive late, before the reordering window closes: no
    retransmission, and from then on RACK allows for reordering."""
    conn = _sending()
    _sack(conn, 2 * RTT, 3, 4)
    conn.receive_segment(peer(ACK, IRS + 1, _at(4)), 2 * RTT + RTT / 8)
    assert out(conn, 2 * RTT + RTT / 8) == []
    assert conn.recovery.rack.reordering_seen
    assert conn.recovery.reorder_deadline is None  # nothing is waiting to be judged
    assert conn.stats.rack_losses == 0 and not conn.recovery.in_recovery
    # a window of min RTT / 4 now even in recovery, where it was 0
    assert conn.recovery.rack.reo_wnd(True, RTT, 3) == RTT / 4


@pytest.mark.parametrize("rack", [True, False])
def test_a_lost_retransmission_is_found_only_by_rack(rack: bool) -> None:
    """Segment 0 is lost twice. Segments 6 and 7, sent with its first resend,
    are SACKed an RTT later: RACK judges the resend lost and sends it again;
    RFC 6675 alone never resends a retransmission, and waits for the RTO."""
    conn = _sending(replace(CONFIG, rack=rack))
    conn.send(DATA[6 * MSS : 8 * MSS])  # queued behind the window
    # SACK of 1-5: segment 0 is lost; cwnd = ssthresh = 3, the pipe is 0 after
    # the resend of 0 is counted once: two new segments go with it
    new = [
        ours(ACK, _at(6), IRS + 1, payload=_seg(6)),
        ours(ACK | PSH, _at(7), IRS + 1, payload=_seg(7)),  # the end of what was queued
    ]
    assert _sack(conn, 2 * RTT, 1, 6) == _resent(0) + new
    again = _sack(conn, 3 * RTT, 1, 8)
    if rack:
        assert again == _resent(0)
        assert conn.stats.rack_losses == 2  # the original, then the resend
    else:
        assert again == []
        assert conn.get_timer() == conn._t_rexmit  # only the RTO is left


def test_no_rack_with_rack_off_waits_for_dupthresh() -> None:
    """RFC 6675 alone: no timer on one SACKed segment; three SACKed above a
    hole mark it lost (more than 2 x SMSS above), and the holes go."""
    conn = _sending(replace(CONFIG, rack=False))
    assert _sack(conn, 2 * RTT, 3, 4) == []
    assert conn.recovery.reorder_deadline is None
    assert _sack(conn, 4 * RTT, 3, 6) == _resent(0, 1, 2)
    assert conn.stats.rack_losses == 0 and conn.stats.fast_retransmits == 1


# -- the in-flight records --------------------------------------------------
def test_a_resend_replaces_what_it_covers_and_splits_the_rest() -> None:
    rack = Rack()
    rack.on_send(100, 200, 1.0, retransmission=False)
    rack.on_send(200, 300, 1.0, retransmission=False)
    rack.on_send(150, 250, 2.0, retransmission=True)
    got = [(s.start, s.end, s.xmit_ts, s.retransmitted) for s in rack.segments]
    assert got == [(100, 150, 1.0, False), (150, 250, 2.0, True), (250, 300, 1.0, False)]


def test_a_resend_over_several_records_keeps_the_outer_parts() -> None:
    rack = Rack()
    for start in (0, 100, 200):
        rack.on_send(start, start + 100, 1.0, retransmission=False)
    rack.segments[0].lost = True
    rack.on_send(50, 250, 2.0, retransmission=True)
    got = [(s.start, s.end, s.xmit_ts, s.lost) for s in rack.segments]
    assert got == [(0, 50, 1.0, True), (50, 250, 2.0, False), (250, 300, 1.0, False)]


def test_a_resend_of_what_has_no_record_is_inserted_in_order() -> None:
    rack = Rack()
    rack.on_send(300, 400, 1.0, retransmission=False)
    rack.on_send(100, 200, 2.0, retransmission=True)  # e.g. a window probe's byte
    assert [(s.start, s.end) for s in rack.segments] == [(100, 200), (300, 400)]


def test_sacked_records_are_whole_segments_only() -> None:
    rack = Rack()
    for start in (0, 100, 200):
        rack.on_send(start, start + 100, 1.0, retransmission=False)
    newly = rack.on_sack([[100, 250]])
    assert [(s.start, s.sacked) for s in newly] == [(100, True)]
    assert [s.sacked for s in rack.segments] == [False, True, False]
    assert rack.sacked_count == 1
    # the cumulative ACK drops them; only those not SACKed before are news
    assert [s.start for s in rack.on_cumulative_ack(250)] == [0]
    assert [(s.start, s.end) for s in rack.segments] == [(250, 300)]
    assert rack.sacked_count == 0


def test_dsacks_widen_the_reordering_window_once_per_round() -> None:
    rack = Rack()
    rack.on_rtt_sample(0.1)
    rack.reordering_seen = True
    assert rack.reo_wnd(False, 1.0, 3) == pytest.approx(0.025)
    rack.on_dsack(snd_una=100, snd_nxt=500, dsack=True)
    rack.on_dsack(snd_una=200, snd_nxt=600, dsack=True)  # same round: no step
    assert rack.reo_wnd(False, 1.0, 3) == pytest.approx(0.05)
    rack.on_dsack(snd_una=500, snd_nxt=700, dsack=True)  # the next round
    assert rack.reo_wnd(False, 1.0, 3) == pytest.approx(0.075)
    assert rack.reo_wnd(False, 0.06, 3) == pytest.approx(0.06)  # at most SRTT
    for _ in range(16):  # narrows again after 16 recoveries
        rack.on_recovery_exit()
    assert rack.reo_wnd(False, 1.0, 3) == pytest.approx(0.025)


def test_without_reordering_the_window_is_zero_in_recovery() -> None:
    rack = Rack()
    rack.on_rtt_sample(0.1)
    assert rack.reo_wnd(True, 1.0, 3) == 0.0
    assert rack.reo_wnd(False, 1.0, 3) == pytest.approx(0.025)


# -- after a retransmission timeout (RFC 8985 6.3) --------------------------
@pytest.mark.parametrize("rack", [True, False])
def test_after_a_spurious_timeout_only_rack_spares_what_is_in_flight(rack: bool) -> None:
    """Segment 1 times out and is resent; segment 2, sent just before the
    timeout, is younger than RACK.rtt and stays in flight. The ACK of segment 1
    then comes at once (its original was only late): RACK resends nothing,
    while going back to SND.UNA (RFC 5681) resends segment 2 as well."""
    config = replace(CONFIG, rack=rack, tail_loss_probe=False, nodelay=True)
    conn = _sending(config, segments=1)  # segment 0 at 1/8 s
    conn.receive_segment(peer(ACK, IRS + 1, _at(1)), 2 * RTT)  # RACK.rtt = 1/8 s
    conn.send(DATA[MSS : 2 * MSS])
    assert out(conn, 2 * RTT) == [ours(ACK | PSH, _at(1), IRS + 1, payload=_seg(1))]
    timeout = conn._t_rexmit
    assert timeout is not None
    conn.send(DATA[2 * MSS : 3 * MSS])
    young = timeout - RTT / 2
    assert [s.seq for s in out(conn, young)] == [_at(2)]
    conn.handle_timer(timeout)
    assert conn.stats.timeouts == 1
    resend = ours(ACK, _at(1), IRS + 1, payload=_seg(1))
    assert out(conn, timeout) == [resend]  # the loss window: one segment
    late = timeout + RTT / 4  # sooner than the min RTT: the original's ACK
    conn.receive_segment(peer(ACK, IRS + 1, _at(2)), late)
    if rack:
        assert out(conn, late) == []
        assert conn.stats.rack_losses == 1  # segment 1 only
    else:
        last = ours(ACK | PSH, _at(2), IRS + 1, payload=_seg(2))
        assert out(conn, late) == [last]
