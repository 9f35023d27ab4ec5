"""SACK-based loss recovery as a sender (RFC 6675), on exact segments."""

from __future__ import annotations

from dataclasses import replace

from conftest import IRS, ISS, MSS, PLAIN, events, make, ours, out, peer

from synack.tcp.connection import Connection
from synack.wire.segment import ACK, PSH, SACK_PERMITTED, SYN, MaxSegmentSize, Sack

# RFC 6675's rules alone: RACK (RFC 8985) has its own tests in test_rack.py
CONFIG = replace(
    PLAIN, sack=True, rack=False, initial_window=10 * MSS, congestion_control="newreno"
)
DATA = bytes(range(256)) * 35  # 8,960 bytes: six full segments and a tail


def _seg(n: int) -> bytes:
    return DATA[n * MSS : (n + 1) * MSS]


def _start(config=CONFIG) -> Connection:  # type: ignore[no-untyped-def]
    conn = make(config)
    conn.connect(0.0, iss=ISS)
    out(conn)
    offer = (MaxSegmentSize(MSS), SACK_PERMITTED)
    conn.receive_segment(peer(SYN | ACK, IRS, ISS + 1, options=offer), 0.0)
    out(conn)
    events(conn)
    assert conn.sack_ok
    conn.send(DATA[: 6 * MSS])
    assert [s.seq for s in out(conn)] == [ISS + 1 + n * MSS for n in range(6)]
    return conn


def _dupack(conn: Connection, sacked_to: int) -> list:  # type: ignore[type-arg]
    """A duplicate ACK SACKing segments 3 up to ``sacked_to`` (segments 0-2 lost)."""
    block = (ISS + 1 + 3 * MSS, ISS + 1 + sacked_to * MSS)
    conn.receive_segment(peer(ACK, IRS + 1, ISS + 1, options=(Sack((block,)),)), 0.1)
    return out(conn, 0.1)


def test_three_losses_are_all_resent_on_the_third_duplicate_ack() -> None:
    conn = _start(replace(CONFIG, prr=False))
    assert _dupack(conn, 4) == []
    assert _dupack(conn, 5) == []
    # third: fast retransmit, then every hole IsLost marks (3 segments SACKed above
    # them), as far as cwnd (= ssthresh, 3 segments) less the pipe allows
    resent = [ours(ACK, ISS + 1 + n * MSS, IRS + 1, payload=_seg(n)) for n in range(3)]
    assert _dupack(conn, 6) == resent
    assert conn.cc.cwnd == conn.cc.ssthresh == 3 * MSS


def test_prr_paces_the_repair_by_what_is_delivered() -> None:
    """RFC 6937 PRR-SSRB: with the pipe empty, send what was delivered plus one
    segment: this ACK delivered one (newly SACKed), so two go, not three."""
    conn = _start()
    _dupack(conn, 4)
    _dupack(conn, 5)
    resent = [ours(ACK, ISS + 1 + n * MSS, IRS + 1, payload=_seg(n)) for n in range(2)]
    assert _dupack(conn, 6) == resent
    assert conn.cc.ssthresh == 3 * MSS
    assert conn.cc.cwnd == 2 * MSS  # pipe 0 + sndcnt 2
    # the retransmitted first segment arrives: a partial ACK delivers one more
    # segment, and the third hole goes
    block = (ISS + 1 + 3 * MSS, ISS + 1 + 6 * MSS)
    conn.receive_segment(peer(ACK, IRS + 1, ISS + 1 + MSS, options=(Sack((block,)),)), 0.2)
    assert out(conn, 0.2) == [ours(ACK, ISS + 1 + 2 * MSS, IRS + 1, payload=_seg(2))]


def test_without_sack_recovery_only_the_first_is_resent() -> None:
    conn = _start(replace(CONFIG, sack_recovery=False))
    _dupack(conn, 4)
    _dupack(conn, 5)
    assert _dupack(conn, 6) == [ours(ACK, ISS + 1, IRS + 1, payload=_seg(0))]


def test_the_full_ack_ends_recovery_and_new_data_flows() -> None:
    conn = _start()
    for n in (4, 5, 6):
        _dupack(conn, n)
    conn.send(DATA[6 * MSS :])  # the tail, queued during recovery
    conn.receive_segment(peer(ACK, IRS + 1, ISS + 1 + 6 * MSS), 0.2)
    assert out(conn, 0.2) == [ours(ACK | PSH, ISS + 1 + 6 * MSS, IRS + 1, payload=DATA[6 * MSS :])]
    assert not conn.recovery.in_recovery
