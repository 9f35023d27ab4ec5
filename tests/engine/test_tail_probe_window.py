"""A tail loss probe with the peer's window full resends the highest segment
sent (RFC 8985 7.3), never text that was not sent and lies beyond the window.

Before, the probe took the last segment of the send buffer: with more queued
than the window took, it sent never-sent text past the window's edge and
skipped what lay between, so the peer had a hole it never asked for and a
later retransmission timeout resent that same segment again and again.
"""

from __future__ import annotations

from dataclasses import replace

from conftest import IRS, ISS, MSS, PLAIN, out, peer, sack_connection

from synack.wire.segment import ACK, FIN

SACKING = replace(PLAIN, sack=True, nodelay=True, send_buffer=1 << 20)
WINDOW = 2 * MSS


def _window_full(fin: bool):
    conn = sack_connection(SACKING)
    conn.receive_segment(peer(ACK, IRS + 1, ISS + 1, window=WINDOW), 0.0)
    out(conn)
    conn.send(bytes(10_000))
    if fin:
        conn.close()
    segs = out(conn)
    assert [(s.seq, len(s.payload)) for s in segs] == [(ISS + 1, MSS), (ISS + 1 + MSS, MSS)]
    return conn


def test_the_probe_resends_the_last_segment_sent_when_the_window_is_full() -> None:
    for fin in (False, True):
        conn = _window_full(fin)
        timer = conn.get_timer()
        assert timer is not None and conn.recovery.probe_deadline == timer
        conn.handle_timer(timer)
        (probe,) = out(conn, timer)
        assert (probe.seq, len(probe.payload), probe.flags & FIN) == (ISS + 1 + MSS, MSS, 0)
        assert conn.snd_max == ISS + 1 + WINDOW  # nothing new left
        assert conn.stats.tail_loss_probes == 1
