"""Linux behaviours as engine knobs, each alone: cwnd grows by all an ACK
acknowledges (``slow_start_ack_limit=None``), and only while the flight
uses it (``cwnd_validation``)."""

from __future__ import annotations

from dataclasses import replace

from conftest import IRS, ISS, MSS, PLAIN, in_state, out, peer, sack_connection

from synack.tcp.state import State
from synack.wire.segment import ACK

DATA = bytes(range(256)) * 60
BASE = replace(PLAIN, congestion_control="newreno", hystart=False)


def _after_ack(config, sent: int, acked: int) -> int:
    conn = in_state(State.ESTABLISHED, config)
    conn.send(DATA[: sent * MSS])
    assert sum(len(s.payload) for s in out(conn)) == min(sent * MSS, conn.cc.cwnd)
    conn.receive_segment(peer(ACK, IRS + 1, ISS + 1 + acked * MSS), 0.1)
    out(conn, 0.1)
    return conn.cc.cwnd // MSS


def test_one_smss_per_ack_by_default() -> None:
    assert _after_ack(replace(BASE, initial_window=4 * MSS), 4, 2) == 5  # RFC 5681 3.1


def test_all_it_acknowledges_without_a_limit() -> None:
    config = replace(BASE, initial_window=4 * MSS, slow_start_ack_limit=None)
    assert _after_ack(config, 4, 2) == 6


def test_two_smss_per_ack_with_rfc3465s_limit() -> None:
    config = replace(BASE, initial_window=4 * MSS, slow_start_ack_limit=2)
    assert _after_ack(config, 4, 3) == 6


def test_no_growth_when_the_application_leaves_cwnd_unused() -> None:
    config = replace(BASE, initial_window=10 * MSS, slow_start_ack_limit=None)
    assert _after_ack(config, 5, 5) == 15  # without validation: grows anyway
    validated = replace(config, cwnd_validation=True)
    assert _after_ack(validated, 5, 5) == 10  # 10 is not under twice the flight of 5
    assert _after_ack(validated, 6, 6) == 16  # 10 < 12: it is used, it grows


def test_linux_prr_gives_the_extra_segment_only_when_snd_una_advances() -> None:
    """PRR-SSRB (RFC 6937) allows one segment more than delivered on every ACK
    once the pipe is under ssthresh; Linux only on an ACK that moves SND.UNA."""
    from synack.tcp.recovery import LossRecovery

    for variant, extra in (("rfc6937", MSS), ("linux", 0)):
        config = replace(BASE, sack=True, prr_variant=variant)
        conn = in_state(State.ESTABLISHED, config)
        rec: LossRecovery = conn.recovery
        rec.cc.ssthresh = 10 * MSS
        rec.recover_fs = 10 * MSS
        rec.prr_delivered, rec.prr_out, rec.delivered = 0, MSS, MSS
        rec.prr_extra_ok = False  # a duplicate ACK: SND.UNA did not move
        rec._prr_update(ISS + 1, ISS + 1 + 2 * MSS)  # pipe 2 SMSS, under ssthresh
        assert rec.cc.cwnd == 2 * MSS + MSS + extra


def test_growth_by_what_the_ack_delivers() -> None:
    """The second segment was SACKed before: the ACK that covers both delivers
    only the first, and Linux grows cwnd by that alone."""
    from synack.wire.segment import Sack

    grown = {}
    for by_delivered in (False, True):
        config = replace(
            BASE, sack=True, initial_window=4 * MSS, slow_start_ack_limit=None,
            cwnd_growth_by_delivered=by_delivered, tail_loss_probe=False, rack=False,
        )  # fmt: skip
        conn = sack_connection(config)
        conn.send(DATA[: 4 * MSS])
        out(conn)
        block = ((ISS + 1 + MSS, ISS + 1 + 2 * MSS),)
        conn.receive_segment(peer(ACK, IRS + 1, ISS + 1, options=(Sack(block),)), 0.1)
        conn.receive_segment(peer(ACK, IRS + 1, ISS + 1 + 2 * MSS), 0.1)
        grown[by_delivered] = conn.cc.cwnd // MSS
    assert grown == {False: 6, True: 5}


def test_without_sack_duplicate_acks_count_as_delivered() -> None:
    """RFC 6937 3's estimate without SACK: two duplicate ACKs delivered two
    segments, so the ACK that then covers three delivers only one more."""
    grown = {}
    for by_delivered in (False, True):
        config = replace(
            BASE, initial_window=6 * MSS, slow_start_ack_limit=None,
            cwnd_growth_by_delivered=by_delivered, tail_loss_probe=False,
        )  # fmt: skip
        conn = in_state(State.ESTABLISHED, config)
        conn.send(DATA[: 6 * MSS])
        out(conn)
        for _ in range(2):
            conn.receive_segment(peer(ACK, IRS + 1, ISS + 1), 0.1)
        conn.receive_segment(peer(ACK, IRS + 1, ISS + 1 + 3 * MSS), 0.1)
        grown[by_delivered] = conn.cc.cwnd // MSS
    assert grown == {False: 9, True: 7}


def test_an_ack_of_unsent_data_is_challenged_or_dropped() -> None:
    """RFC 5961 5.2 answers an ACK above SND.NXT with a challenge ACK; Linux
    drops it without a word (``challenge_unsent_ack=False``)."""
    for challenge, expected in ((True, 1), (False, 0)):
        conn = in_state(State.ESTABLISHED, replace(BASE, challenge_unsent_ack=challenge))
        conn.receive_segment(peer(ACK, IRS + 1, ISS + 1 + 9999), 0.1)
        assert len(out(conn, 0.1)) == expected
        assert conn.state is State.ESTABLISHED


def test_reordering_is_measured_from_sack_blocks() -> None:
    """Data newly SACKed below the highest SACKed byte arrived out of order by
    that distance, in segments (what tcp_info's tcpi_reordering reports)."""
    from synack.wire.segment import Sack

    config = replace(BASE, sack=True, initial_window=6 * MSS, tail_loss_probe=False, rack=False)
    conn = sack_connection(config)
    conn.send(DATA[: 6 * MSS])
    out(conn)
    assert conn.recovery.reordering == 3  # the duplicate-ACK threshold to start with
    fifth = (ISS + 1 + 4 * MSS, ISS + 1 + 5 * MSS)
    second = (ISS + 1 + MSS, ISS + 1 + 2 * MSS)
    conn.receive_segment(peer(ACK, IRS + 1, ISS + 1, options=(Sack((fifth,)),)), 0.1)
    assert conn.recovery.reordering == 3  # nothing below the highest yet
    conn.receive_segment(peer(ACK, IRS + 1, ISS + 1, options=(Sack((second, fifth)),)), 0.1)
    assert conn.recovery.reordering == 4  # the second came 4 segments below the fifth's end


def test_cwnd_restarts_after_an_idle_time_longer_than_the_rto() -> None:
    """RFC 5681 4.1 (Linux's tcp_slow_start_after_idle): after idling longer
    than the RTO, cwnd goes back to min(IW, cwnd), halving per RTO of idle."""
    sent = {}
    for restart in (False, True):
        config = replace(
            BASE, initial_window=4 * MSS, slow_start_ack_limit=None, restart_after_idle=restart
        )
        conn = in_state(State.ESTABLISHED, config)
        conn.send(DATA[: 4 * MSS])
        out(conn)
        conn.receive_segment(peer(ACK, IRS + 1, ISS + 1 + 4 * MSS), 0.1)
        assert conn.cc.cwnd == 8 * MSS
        later = 0.1 + 2.5 * conn.rtt.rto
        conn.send(DATA[: 10 * MSS])
        sent[restart] = sum(len(s.payload) for s in out(conn, later)) // MSS
    assert sent == {False: 8, True: 4}
