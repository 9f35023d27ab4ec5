"""A SYN flood in memory (RFC 4987): 100,000 spoofed SYNs in 10 s at a backlog-128 listener.

The flood runs on the simulated network (``synack.sim.flood``) while 1,000
legitimate clients connect, one every 10 ms. With SYN cookies on overflow,
the SYN queue fills with spoofed entries at once and every later SYN,
spoofed or not, is answered with a cookie: the clients get in within one
round trip of their first SYN, and the server keeps no more than its
backlog. Memory is measured with tracemalloc (never wall time).
"""

from __future__ import annotations

import pytest

from synack.sim.flood import syn_flood

SPOOFED = 100_000
CLIENTS = 1_000
BACKLOG = 128
# What one spoofed SYN may cost on average over the flood (measured: about 30
# bytes, and that is the legitimate clients' TIME-WAIT records and links). A
# half-open entry kept per SYN would cost kilobytes.
BYTES_PER_SPOOFED_SYN = 100


@pytest.fixture(scope="module")
def flood():  # type: ignore[no-untyped-def]
    return syn_flood(spoofed=SPOOFED, clients=CLIENTS, backlog=BACKLOG, measure_memory=True)


def test_legitimate_clients_get_in_within_one_rtt(flood) -> None:  # type: ignore[no-untyped-def]
    assert flood.within_rtt >= 0.99 * CLIENTS
    assert flood.established == flood.accepted == CLIENTS
    assert max(flood.connect_times) <= flood.rtt + 1e-9


def test_listener_state_stays_bounded(flood) -> None:  # type: ignore[no-untyped-def]
    assert flood.max_syn_queue == BACKLOG
    # the spoofed half-open entries, plus the few legitimate connections open at once
    assert flood.max_connections <= BACKLOG + 10
    assert flood.syn_queue_at_end == 0  # every half-open entry expired after its lifetime
    assert flood.server.half_open_expired == BACKLOG


def test_memory_stays_flat(flood) -> None:  # type: ignore[no-untyped-def]
    assert flood.memory_growth is not None
    assert flood.memory_growth < BYTES_PER_SPOOFED_SYN * 0.9 * SPOOFED


def test_counters_add_up(flood) -> None:  # type: ignore[no-untyped-def]
    stats = flood.server
    syns = SPOOFED + CLIENTS
    # every SYN got a half-open entry or a cookie: none was dropped
    assert stats.syn_cookies_sent + BACKLOG == syns
    assert stats.syns_dropped_backlog == 0
    assert stats.syn_cookies_validated == CLIENTS  # every client came in through a cookie
    assert stats.syn_cookies_failed == 0 and stats.accept_queue_overflows == 0


def test_without_cookies_the_same_flood_locks_clients_out() -> None:
    """The baseline: a tenth of the flood, no cookies, and the clients starve."""
    result = syn_flood(spoofed=SPOOFED // 10, duration=1.0, clients=100, syn_cookies="never")
    assert result.within_rtt <= 5
    assert result.server.syns_dropped_backlog >= SPOOFED // 10 - BACKLOG
