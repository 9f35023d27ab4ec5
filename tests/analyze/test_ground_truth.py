"""Passive inference against the truth: 1,000 simulated connections whose states are known.

Each connection runs on the simulator over a link that loses 4%, reorders
3% and duplicates 2% of packets; the link's tap is the observer. At every
segment the sender's and the receiver's inferred states are checked against
the true ones, and every difference must be one a passive observer cannot
avoid (see ``_ground_truth.explain``): docs/analyze.md reports the figures.
"""

from __future__ import annotations

from _ground_truth import (
    IN_FLIGHT,
    LOST_DOWNSTREAM,
    QUEUED_CLOSE,
    UNEXPLAINED,
    UNSEEN_END,
    Comparison,
    compare,
    simulate,
)

CONNECTIONS = 1000


def test_inferred_states_match_the_truth_or_are_explained() -> None:
    result = Comparison()
    for seed in range(CONNECTIONS):
        compare(simulate(seed), result)
    rate = result.matches / result.checks
    print(f"\n{CONNECTIONS} connections, {result.checks} checks, {rate:.2%} match")
    for why, count in result.mismatches.most_common():
        print(f"  {count:6d}  {why}")
    assert result.checks > 25_000
    assert result.mismatches[UNEXPLAINED] == 0, result.unexplained[:10]
    assert set(result.mismatches) <= {QUEUED_CLOSE, IN_FLIGHT, LOST_DOWNSTREAM, UNSEEN_END}
    assert rate > 0.9


def test_a_clean_connection_matches_at_every_segment() -> None:
    from _ground_truth import observed

    from synack.scenarios import run_scenario

    # Not the others: "refused" (its server's truth is its host's listener on another
    # port), "simultaneous-close" (crossing FINs are in flight when seen), "half-close"
    # (a CLOSE with data queued), "lost-final-ack" (a loss after the observer).
    for name in ("close", "close-combined", "abort", "lost-syn", "handshake"):
        result = Comparison()
        compare(list(run_scenario(name).recorder.records), result)
        assert result.checks > 0 and result.matches == result.checks, (name, result.mismatches)
        assert observed(list(run_scenario(name).recorder.records))
