"""Details a spoofer or a stale segment could use, each pinned to its RFC.

Every test here failed before its rule was implemented: TS.Recent is taken
only from a segment whose ACK is acceptable (RFC 5961 5.2), a segment without
timestamps is dropped on a timestamp connection (RFC 7323 3.2), an abort's RST
carries a timestamp (RFC 7323 3.2), TIME-WAIT reopens only for a newer
incarnation (RFC 6191) and resets on a SYN without RFC 5961, RACK's forward
ACK starts at the ISN (RFC 8985 6.2), and the SYN is not counted as data for
the congestion window (RFC 5681 3.1).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import IRS, ISS, LOCAL, MSS, PLAIN, REMOTE, events, in_state, out, peer

from synack.tcp.config import TcpConfig
from synack.tcp.connection import Connection
from synack.tcp.events import ConnectionAborted, ConnectionReset
from synack.tcp.state import State
from synack.tcp.timewait import TimeWait, TimeWaitAction
from synack.wire import seq as sq
from synack.wire.segment import (
    ACK,
    NOP,
    PSH,
    RST,
    SACK_PERMITTED,
    SYN,
    MaxSegmentSize,
    Option,
    Sack,
    Segment,
    Timestamps,
)

TS = replace(PLAIN, timestamps=True)
TS_SYN = (MaxSegmentSize(MSS), Timestamps(700, 0))


def _ts(value: int, echo: int = 0) -> tuple[Option, ...]:
    return (NOP, NOP, Timestamps(value, echo))


def _established_with_timestamps() -> Connection:
    """ESTABLISHED with timestamps on; the peer's last TSval is 700 (TS.Recent)."""
    conn = Connection(LOCAL, REMOTE, TS)
    conn.connect(0.0, iss=ISS)
    out(conn)
    conn.receive_segment(peer(SYN | ACK, IRS, ISS + 1, options=TS_SYN), 0.0)
    out(conn)
    events(conn)
    assert conn.state is State.ESTABLISHED and conn.ts_ok and conn.ts_recent == 700
    return conn


# -- TS.Recent (RFC 7323 4.3, RFC 5961 5.2) -------------------------------------
def test_ts_recent_ignores_a_segment_whose_ack_is_beyond_snd_nxt() -> None:
    """A spoofed in-window segment acknowledging what was never sent is discarded
    with a challenge ACK before its timestamp is remembered; otherwise its
    far-future TSval would make PAWS drop the peer's real segments."""
    conn = _established_with_timestamps()
    spoofed = peer(ACK, IRS + 1, ISS + 1 + 5000, options=_ts(2**31 - 1))
    conn.receive_segment(spoofed, 0.5)
    assert conn.ts_recent == 700
    assert conn.stats.dropped_reasons == {"ACK outside the send window (challenge ACK)": 1}
    # the peer's real data, with its real clock, is still taken
    conn.receive_segment(peer(ACK | PSH, IRS + 1, ISS + 1, payload=b"hi", options=_ts(710)), 0.6)
    assert conn.receive() == b"hi" and conn.ts_recent == 710


def test_ts_recent_is_taken_from_an_acceptable_ack() -> None:
    conn = _established_with_timestamps()
    conn.receive_segment(peer(ACK, IRS + 1, ISS + 1, options=_ts(705)), 0.5)
    assert conn.ts_recent == 705


# -- a missing timestamp (RFC 7323 3.2) -------------------------------------------
def test_a_segment_without_timestamps_is_dropped_on_a_timestamp_connection() -> None:
    conn = _established_with_timestamps()
    conn.receive_segment(peer(ACK | PSH, IRS + 1, ISS + 1, payload=b"no ts"), 0.5)
    assert conn.receive() == b""
    assert conn.stats.dropped_reasons == {"no timestamp on a timestamp connection": 1}
    assert out(conn, 0.5) == []  # silently (RFC 7323 3.2)


def test_a_rst_without_timestamps_still_counts() -> None:
    """RFC 7323 3.2 drops only non-RST segments without TSopt."""
    conn = _established_with_timestamps()
    conn.receive_segment(peer(RST, IRS + 1), 0.5)
    assert conn.state is State.CLOSED
    assert events(conn) == [ConnectionReset("connection reset")]


def test_missing_timestamps_tolerated_when_configured() -> None:
    """Linux accepts them; the option is there for its profile."""
    conn = Connection(LOCAL, REMOTE, replace(TS, require_timestamps=False))
    conn.connect(0.0, iss=ISS)
    out(conn)
    conn.receive_segment(peer(SYN | ACK, IRS, ISS + 1, options=TS_SYN), 0.0)
    out(conn)
    conn.receive_segment(peer(ACK | PSH, IRS + 1, ISS + 1, payload=b"ok"), 0.5)
    assert conn.receive() == b"ok"


# -- an abort's RST (RFC 7323 3.2) --------------------------------------------------
def test_abort_rst_carries_a_timestamp() -> None:
    conn = _established_with_timestamps()
    conn.abort(1.0)
    [rst] = out(conn, 1.0)
    assert rst.flags == RST and rst.seq == ISS + 1
    assert rst.timestamps == Timestamps(conn.ts_clock(1.0), 700)


# -- TIME-WAIT (RFC 6191, RFC 9293 3.10.7.4) --------------------------------------
def _record(ts: bool = True) -> TimeWait:
    """A TIME-WAIT record: our next sequence 9000, the peer's 5000, TS.Recent 700."""
    return TimeWait(TcpConfig(), 80, 40000, 9000, 5000, 1000, 0 if ts else None, 700, 240.0)


def _syn(seq: int, tsval: int | None = None) -> Segment:
    options = (Timestamps(tsval, 0),) if tsval is not None else ()
    return peer(SYN, seq, options=options)


@pytest.mark.parametrize(
    ("seq", "tsval", "reopens"),
    [
        (6000, 701, True),  # newer timestamp
        (4000, 701, True),  # newer timestamp, whatever the sequence number
        (6000, 699, False),  # an older timestamp never reopens (RFC 6191)
        (6000, 700, True),  # the same timestamp: the higher sequence number decides
        (4000, 700, False),
    ],
)
def test_time_wait_reopens_only_for_a_newer_incarnation(
    seq: int, tsval: int, reopens: bool
) -> None:
    replies, action = _record().segment_arrives(_syn(seq, tsval), 1.0)
    assert (action is TimeWaitAction.REOPEN) is reopens
    if not reopens:
        assert [s.flags for s in replies] == [ACK]


@pytest.mark.parametrize(("seq", "reopens"), [(5001, True), (4999, False)])
def test_time_wait_without_timestamps_reopens_by_sequence_number(seq: int, reopens: bool) -> None:
    _, action = _record(ts=False).segment_arrives(_syn(seq), 1.0)
    assert (action is TimeWaitAction.REOPEN) is reopens


def test_time_wait_with_timestamps_reopens_for_a_syn_without_them_by_sequence() -> None:
    _, action = _record().segment_arrives(_syn(5001), 1.0)
    assert action is TimeWaitAction.REOPEN


def test_time_wait_syn_in_window_resets_without_rfc5961() -> None:
    """With rfc5961_syn off, RFC 9293 3.10.7.4 fourth applies in TIME-WAIT too: an
    in-window SYN that opens nothing resets the connection."""
    record = TimeWait(TcpConfig(rfc5961_syn=False), 80, 40000, 9000, 5000, 1000, None, 0, 240.0)
    replies, action = record.segment_arrives(peer(SYN, 4990), 1.0)
    assert action is TimeWaitAction.NONE  # below RCV.NXT: outside the window, ACK it
    assert [s.flags for s in replies] == [ACK]
    replies, action = record.segment_arrives(peer(SYN, 5000), 1.0)
    assert action is TimeWaitAction.CLOSED
    assert replies == [Segment(80, 40000, 9000, 5000, RST | ACK, 0)]


# -- RACK's forward ACK at any ISN (RFC 8985 6.2) ---------------------------------
RACK_CONFIG = replace(PLAIN, sack=True, initial_window=10 * MSS, congestion_control="newreno")
DATA = bytes(range(256)) * 40


@pytest.mark.parametrize("iss", [0, 2**31, 2**32 - 1, ISS])
def test_three_sacked_segments_resend_the_holes_at_once_at_any_isn(iss: int) -> None:
    """Segments 0-2 lost, 3-5 SACKed: reo_wnd is 0 (no reordering seen), so the
    holes are resent at once, whatever the ISN. RACK.fack started at absolute
    0 used to make the first delivery look like reordering for half of all ISNs."""
    rtt = 0.125
    conn = Connection(LOCAL, REMOTE, RACK_CONFIG)
    conn.connect(0.0, iss=iss)
    out(conn)
    offer = (MaxSegmentSize(MSS), SACK_PERMITTED)
    conn.receive_segment(peer(SYN | ACK, IRS, sq.add(iss, 1), options=offer), rtt)
    out(conn, rtt)
    conn.send(DATA[: 6 * MSS])
    assert len(out(conn, rtt)) == 6

    def at(n: int) -> int:
        return sq.add(iss, 1 + n * MSS)

    block = Sack(((at(3), at(6)),))
    conn.receive_segment(peer(ACK, IRS + 1, at(0), options=(block,)), 2 * rtt)
    resent = out(conn, 2 * rtt)
    assert [s.seq for s in resent] == [at(0), at(1), at(2)]
    assert not conn.recovery.rack.reordering_seen
    assert conn.stats.rack_losses == 3 and conn.stats.timeouts == 0


# -- the SYN is not data (RFC 5681 3.1) ------------------------------------------
def test_the_ack_of_our_syn_does_not_grow_cwnd() -> None:
    """A passive open: the handshake's ACK covers our SYN (one sequence number,
    no data), so the congestion window stays the initial window."""
    config = replace(PLAIN, congestion_control="newreno", hystart=False)
    conn = in_state(State.SYN_RECEIVED, config)
    initial = conn.cc.cwnd
    conn.receive_segment(peer(ACK, IRS + 1, ISS + 1), 0.1)
    assert conn.state is State.ESTABLISHED
    assert conn.cc.cwnd == initial


def test_an_aborted_connection_event() -> None:
    """ABORT still reports the abort (a guard for the RST change above)."""
    conn = _established_with_timestamps()
    conn.abort(1.0)
    assert events(conn) == [ConnectionAborted("connection aborted")]
