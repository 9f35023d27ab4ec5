"""A closed window held for a long time (RFC 9293 3.8.6.1, RFC 1122 4.2.2.17).

A receiver that stops reading closes its window. The sender probes it; a
peer that answers every probe keeps the connection for as long as it likes,
and its answers are never taken for duplicate ACKs (RFC 5681 2), so nothing
is fast-retransmitted into the closed window. A peer that stops answering is
given up after ``persist_max_probes`` probes in a row, with a RST.
"""

from __future__ import annotations

from dataclasses import replace

from _closing_helpers import fire
from conftest import IRS, ISS, MSS, PLAIN, WINDOW, events, in_state, ours, out, peer

from synack.tcp.config import TcpConfig
from synack.tcp.connection import Connection
from synack.tcp.events import ConnectionAborted
from synack.tcp.state import State
from synack.wire.segment import ACK, PSH, RST

DATA = bytes(range(256)) * 40  # 10,240 bytes
UNA = ISS + 1 + 3 * MSS  # acknowledged when the window closes


def _closed_window(config: TcpConfig = PLAIN) -> Connection:
    """ESTABLISHED; the peer took the first window's 3 segments, and its window
    closed on them: more data waits, nothing is in flight."""
    conn = in_state(State.ESTABLISHED, config)
    conn.send(DATA)
    assert len(out(conn)) == 3  # the initial window (RFC 5681 3.1)
    conn.receive_segment(peer(ACK, IRS + 1, UNA, window=0), 0.1)
    assert out(conn, 0.1) == []
    return conn


def _probe_answered(conn: Connection, now: float, ack: int) -> None:
    conn.receive_segment(peer(ACK, IRS + 1, ack, window=0), now)


def test_a_peer_answering_probes_keeps_the_connection_for_ten_minutes() -> None:
    conn = _closed_window()
    una = UNA
    probe = ours(ACK, una, IRS + 1, payload=DATA[3 * MSS : 3 * MSS + 1])
    now = 0.0
    probes = 0
    while now < 600.0:
        now, sent = fire(conn)
        assert sent == [probe]  # one octet of new data, every time (3.8.6.1)
        probes += 1
        # the peer answers each one, its window still closed
        _probe_answered(conn, now + 0.05, una)
        assert out(conn, now + 0.05) == []
    assert conn.state is State.ESTABLISHED and events(conn) == []
    assert conn.stats.duplicate_acks == 0 and conn.stats.fast_retransmits == 0
    assert conn.stats.timeouts == 0 and conn.stats.retransmitted_segments == 0
    assert probes >= 12  # backed off to one a minute (persist_max)
    # the reader comes back: the window opens and the data flows again
    conn.receive_segment(peer(ACK, IRS + 1, una, window=WINDOW), now + 1)
    resumed = out(conn, now + 1)
    assert resumed[0] == ours(ACK, una, IRS + 1, payload=DATA[3 * MSS : 4 * MSS])


def test_probe_acks_are_not_duplicate_acks() -> None:
    """Three ACKs of the same SND.UNA with a zero window: no fast retransmit."""
    conn = _closed_window()
    una = UNA
    fire(conn)  # a probe: data outstanding
    for i in range(4):
        _probe_answered(conn, 1.1 + i / 10, una)
        assert out(conn, 1.1 + i / 10) == []
    assert conn.stats.duplicate_acks == 0 and not conn.recovery.in_recovery


def test_a_silent_peer_is_given_up_after_persist_max_probes() -> None:
    config = replace(PLAIN, persist_max_probes=4)
    conn = _closed_window(config)
    una = UNA
    history = []
    while conn.state is State.ESTABLISHED:
        history.append(fire(conn))
    assert [len(sent) for _, sent in history[:-1]] == [1] * 4  # four unanswered probes
    # then the connection is given up; the RST tells a peer that is only slow
    assert history[-1][1] == [ours(RST, una + 1, window=0)]
    assert events(conn) == [
        ConnectionAborted("connection aborted: zero-window probes were not answered")
    ]


def test_an_answer_resets_the_count_of_unanswered_probes() -> None:
    config = replace(PLAIN, persist_max_probes=2)
    conn = _closed_window(config)
    una = UNA
    for _ in range(6):  # many more probes than the limit, each answered
        now, sent = fire(conn)
        assert len(sent) == 1
        _probe_answered(conn, now, una)
    assert conn.state is State.ESTABLISHED


def test_a_timeout_with_the_window_closed_probes_instead_of_resending() -> None:
    """Data in flight when the window closes: the RTO does not resend it into the
    closed window; with nothing new to send, the probe is a bare ACK below
    SND.UNA, which the peer must answer with its window."""
    config = replace(PLAIN, send_buffer=3 * MSS)
    conn = in_state(State.ESTABLISHED, config)
    conn.send(DATA[: 3 * MSS])
    assert len(out(conn)) == 3
    # the peer took the first two, and its window closed (the third is lost)
    conn.receive_segment(peer(ACK, IRS + 1, ISS + 1 + 2 * MSS, window=0), 0.1)
    assert out(conn, 0.1) == []
    when, sent = fire(conn)
    assert sent == []  # the RTO: nothing resent into the closed window
    when, sent = fire(conn)
    assert sent == [ours(ACK, ISS + 2 * MSS, IRS + 1)]  # SND.UNA - 1
    assert conn.stats.retransmitted_segments == 0
    # the window opens: what was out goes again once the RTO says so
    conn.receive_segment(peer(ACK, IRS + 1, ISS + 1 + 2 * MSS, window=WINDOW), when + 0.1)
    when, sent = fire(conn)
    assert sent == [ours(ACK | PSH, ISS + 1 + 2 * MSS, IRS + 1, payload=DATA[2 * MSS : 3 * MSS])]
