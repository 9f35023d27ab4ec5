"""Tail loss probe (RFC 8985 7): when the tail of a flight goes unanswered, probe
after 2 x SRTT instead of waiting for the RTO."""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import IRS, ISS, MSS, PLAIN, events, make, ours, out, peer

from synack.sim.faults import parse_fault
from synack.sim.network import LinkConfig
from synack.sim.scale import simulate
from synack.tcp.config import TcpConfig
from synack.tcp.connection import Connection
from synack.wire.segment import ACK, PSH, SACK_PERMITTED, SYN, MaxSegmentSize, Sack

CONFIG = replace(PLAIN, sack=True, initial_window=10 * MSS, nodelay=True)
DATA = bytes(range(256)) * 23  # 5,888 bytes: four full segments and a tail


def _sending(config: TcpConfig = CONFIG) -> Connection:
    conn = make(config)
    conn.connect(0.0, iss=ISS)
    out(conn)
    offer = (MaxSegmentSize(MSS), SACK_PERMITTED)
    conn.receive_segment(peer(SYN | ACK, IRS, ISS + 1, options=offer), 0.1)  # SRTT 0.1
    out(conn, 0.1)
    events(conn)
    conn.send(DATA)
    assert len(out(conn, 0.1)) == 5
    return conn


def test_probe_after_two_srtt_resends_the_last_segment() -> None:
    conn = _sending()
    pto = conn.get_timer()
    assert pto == pytest.approx(0.1 + 2 * 0.1)  # PTO, well before the 1 s RTO
    conn.handle_timer(pto)
    last = DATA[4 * MSS :]
    assert out(conn, pto) == [ours(ACK | PSH, ISS + 1 + 4 * MSS, IRS + 1, payload=last)]
    assert conn.stats.tail_loss_probes == 1
    assert conn.get_timer() == pytest.approx(pto + conn.rtt.rto)  # then the RTO, rearmed
    conn.handle_timer(0.9)  # no second probe for the same flight
    assert out(conn, 0.9) == []


def test_no_probe_without_sack() -> None:
    conn = make(CONFIG)
    conn.connect(0.0, iss=ISS)
    out(conn)
    conn.receive_segment(peer(SYN | ACK, IRS, ISS + 1, options=(MaxSegmentSize(MSS),)), 0.1)
    out(conn, 0.1)
    conn.send(DATA)
    out(conn, 0.1)
    assert conn.get_timer() == pytest.approx(0.1 + conn.rtt.rto)  # only the RTO


def test_off_no_probe() -> None:
    conn = _sending(replace(CONFIG, tail_loss_probe=False))
    assert conn.get_timer() == pytest.approx(0.1 + conn.rtt.rto)


def test_a_lost_tail_costs_one_timeout_less() -> None:
    """The last two segments of 100 KB are lost: the probe's SACK starts recovery."""
    runs = {}
    for tlp in (False, True):
        faults = [parse_fault("drop", "s2c:data:69-70")]
        link = LinkConfig(delay=0.05)
        runs[tlp] = simulate(1, bytes_up=0, bytes_down=100_000, c2s=link, s2c=link,
                             faults=faults, config=TcpConfig(tail_loss_probe=tlp, msl=1.0),
                             seed=1)  # fmt: skip
    assert runs[True].ok and runs[False].ok
    assert runs[True].timeouts < runs[False].timeouts
    assert runs[True].last_close < runs[False].last_close - 1.0


# -- did the probe repair a loss? (RFC 8985 7.4) ----------------------------
TAIL = (ISS + 1 + 4 * MSS, ISS + 1 + len(DATA))  # what the probe resends


def _probed() -> Connection:
    conn = _sending()
    pto = conn.get_timer()
    assert pto is not None
    conn.handle_timer(pto)
    assert [s.seq for s in out(conn, pto)] == [TAIL[0]]
    return conn


def _ack_beyond_the_probe(conn: Connection, now: float) -> None:
    """Everything is acknowledged; one more segment goes, and is acknowledged."""
    conn.send(b"x" * MSS)
    assert [s.seq for s in out(conn, now)] == [TAIL[1]]
    conn.receive_segment(peer(ACK, IRS + 1, TAIL[1] + MSS), now + 0.1)


def test_a_probe_that_repaired_a_loss_reduces_the_window_once() -> None:
    """The original tail was lost: the ACKs pass the probe with no D-SACK for it."""
    conn = _probed()
    conn.receive_segment(peer(ACK, IRS + 1, TAIL[1]), 0.4)  # the probe's data arrived
    assert conn.stats.tlp_repairs == 0  # not yet known: a D-SACK may still come
    _ack_beyond_the_probe(conn, 0.4)
    assert conn.stats.tlp_repairs == 1
    assert conn.cc.cwnd == conn.cc.ssthresh < 10 * MSS  # one reduction, no recovery
    assert conn.stats.fast_retransmits == 0


def test_a_dsack_for_the_probe_means_no_loss() -> None:
    """The original arrived too: the receiver reports the probe as a duplicate."""
    conn = _probed()
    conn.receive_segment(peer(ACK, IRS + 1, TAIL[1]), 0.4)
    conn.receive_segment(peer(ACK, IRS + 1, TAIL[1], options=(Sack((TAIL,)),)), 0.41)
    ssthresh = conn.cc.ssthresh
    _ack_beyond_the_probe(conn, 0.41)
    assert conn.stats.tlp_repairs == 0
    assert conn.cc.ssthresh == ssthresh  # no reduction
