"""With segmentation offload, a super-segment is one RACK record, split only
where an ACK, a SACK block, a loss rule or a resend must tell its pieces apart
(as Linux keeps one skb and calls tcp_fragment). The exact records, and a
differential check: lossy, reordering transfers decide exactly as they did with
one record per SMSS-sized piece (the old recording, kept here by patching
``LossRecovery.on_segment_sent``)."""

from __future__ import annotations

import hashlib
import heapq
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from ipaddress import ip_address

import pytest
from conftest import IRS, ISS, MSS, PLAIN, out, peer, sack_connection

from synack.tcp.connection import Connection
from synack.tcp.rack import Rack
from synack.tcp.recovery import LossRecovery
from synack.tcp.state import State
from synack.wire import seq as sq
from synack.wire.segment import ACK, FIN, PSH, Sack, Segment

DATA = bytes(range(256)) * 300  # 76,800 bytes
SUPER = 44 * MSS  # one super-segment: as much as the peer's window of 65,535 takes
OFFLOAD = replace(PLAIN, sack=True, initial_window=SUPER, segmentation_offload=65536)


def _rack(conn: Connection) -> Rack:
    rack = conn.recovery.rack
    assert rack is not None
    return rack


def _records(conn: Connection, view: bool = False) -> list[tuple[int, int, str]]:
    """(start, end, marks) of each record, relative to ISS + 1 (``view``: as
    ``LossRecovery.records`` shows them, one per piece)."""
    marks = (("S", "sacked"), ("L", "lost"), ("R", "retransmitted"))
    return [
        (sq.sub(r.start, ISS + 1), sq.sub(r.end, ISS + 1),
         "".join(c for c, name in marks if getattr(r, name)))
        for r in (conn.recovery.records if view else _rack(conn).segments)
    ]  # fmt: skip


def _one_super_segment(config: object = OFFLOAD) -> Connection:
    conn = sack_connection(config)  # type: ignore[arg-type]
    conn.send(DATA[:SUPER])
    assert [len(s.payload) for s in out(conn)] == [SUPER]
    return conn


def _ack(conn: Connection, ack: int, blocks: tuple[tuple[int, int], ...], now: float) -> None:
    options = (Sack(tuple((ISS + 1 + a, ISS + 1 + b) for a, b in blocks)),) if blocks else ()
    conn.receive_segment(peer(ACK, IRS + 1, ISS + 1 + ack, options=options), now)


# -- exact records ---------------------------------------------------------
def test_a_super_segment_is_one_record() -> None:
    conn = _one_super_segment()
    assert _records(conn) == [(0, SUPER, "")]
    assert _rack(conn).segments[0].pieces() == 44


def test_a_cumulative_ack_inside_delivers_whole_pieces_and_trims_the_rest() -> None:
    conn = _one_super_segment()
    _ack(conn, 3 * MSS + 100, (), 0.01)
    # the three whole pieces left; the fourth is trimmed to the ACK and the
    # record keeps the device's piece edges from there
    assert _records(conn) == [(3 * MSS + 100, SUPER, "")]
    rack = conn.recovery.rack
    assert rack is not None
    assert rack.segments[0].pieces() == 41
    assert rack.segments[0].ceil(ISS + 1 + 3 * MSS + 101) == ISS + 1 + 4 * MSS
    assert rack.fack == ISS + 1 + 3 * MSS  # RACK learnt from the delivered pieces' end


def test_a_sack_block_inside_splits_at_the_pieces_it_holds_whole() -> None:
    conn = _one_super_segment()
    # the block [5 MSS + 10, 8 MSS + 20) holds pieces 6 and 7 whole; RACK (its
    # window 0: no RTT yet) judges the six pieces sent before them lost
    _ack(conn, 0, ((5 * MSS + 10, 8 * MSS + 20),), 0.01)
    rack = conn.recovery.rack
    assert rack is not None and rack.sacked_count == 2
    assert rack.lost_total == 4 * MSS and conn.stats.rack_losses == 6
    sent = out(conn, 0.01)
    # the lost run goes as one resend, as far as cwnd allows: two pieces
    assert [(s.seq - ISS - 1, len(s.payload)) for s in sent] == [(0, 2 * MSS)]
    assert sent[0].payload == DATA[: 2 * MSS]
    assert _records(conn) == [
        (0, 2 * MSS, "R"), (2 * MSS, 6 * MSS, "L"), (6 * MSS, 8 * MSS, "S"), (8 * MSS, SUPER, ""),
    ]  # fmt: skip
    assert [r.pieces() for r in _rack(conn).segments] == [2, 4, 2, 36]
    # read one per piece, as tcp_info counts them
    view = _records(conn, view=True)
    assert len(view) == 44 and view[:3] == [
        (0, MSS, "R"),
        (MSS, 2 * MSS, "R"),
        (2 * MSS, 3 * MSS, "L"),
    ]
    assert view[6:9] == [(6 * MSS, 7 * MSS, "S"), (7 * MSS, 8 * MSS, "S"), (8 * MSS, 9 * MSS, "")]


def test_dupthresh_judges_only_the_pieces_at_or_below_its_point() -> None:
    conn = _one_super_segment(replace(OFFLOAD, rack=False))
    # three blocks that hold no piece whole (a resegmenting middlebox): 3 SMSS
    # SACKed, so IsLost holds up to 6 MSS + 999, in the seventh piece
    blocks = tuple((n * MSS + 1000, (n + 1) * MSS + 1000) for n in (5, 7, 9))
    _ack(conn, 0, blocks, 0.01)
    assert _records(conn) == [(0, 2 * MSS, "R"), (2 * MSS, 7 * MSS, "L"), (7 * MSS, SUPER, "")]
    assert [(s.seq - ISS - 1, len(s.payload)) for s in out(conn, 0.01)] == [(0, 2 * MSS)]


def test_a_cumulative_ack_into_a_sacked_stretch_sacks_the_rest_of_its_piece() -> None:
    conn = _one_super_segment()
    _ack(conn, 0, ((3 * MSS + 500, 5 * MSS),), 0.01)  # holds the fifth piece whole
    assert _records(conn)[2:] == [(4 * MSS, 5 * MSS, "S"), (5 * MSS, SUPER, "")]
    out(conn, 0.01)
    # the ACK cuts the fourth piece; what is left of it lies in the SACKed range
    _ack(conn, 3 * MSS + 600, ((3 * MSS + 500, 5 * MSS),), 0.02)
    assert _records(conn)[:2] == [(3 * MSS + 600, 4 * MSS, "S"), (4 * MSS, 5 * MSS, "S")]


def test_a_lost_piece_is_cut_from_its_record_and_resent() -> None:
    config = replace(OFFLOAD, congestion_control="newreno", rack=False)
    conn = _one_super_segment(config)
    for n in (1, 2, 3):  # the first two pieces lost, the next three SACKed one by one
        _ack(conn, 0, ((2 * MSS, (2 + n) * MSS),), 0.1)
    sent = out(conn, 0.1)
    # RFC 6675 IsLost: both pieces below the SACKed three; cwnd - pipe lets one go
    assert [(s.seq - ISS - 1, len(s.payload)) for s in sent] == [(0, MSS)]
    assert sent[0].payload == DATA[:MSS]
    assert _records(conn) == [
        (0, MSS, "R"), (MSS, 2 * MSS, "L"), (2 * MSS, 3 * MSS, "S"), (3 * MSS, 4 * MSS, "S"),
        (4 * MSS, 5 * MSS, "S"), (5 * MSS, SUPER, ""),
    ]  # fmt: skip


def test_a_tail_probe_resends_the_last_piece_alone() -> None:
    conn = _one_super_segment()
    deadline = conn.get_timer()
    assert deadline is not None
    conn.handle_timer(deadline)  # the probe timer: nothing new to send
    sent = out(conn, deadline)
    assert [(s.seq - ISS - 1, len(s.payload)) for s in sent] == [(43 * MSS, MSS)]
    assert _records(conn) == [(0, 43 * MSS, ""), (43 * MSS, SUPER, "R")]
    assert [r.pieces() for r in _rack(conn).segments] == [43, 1]


def test_the_fin_rides_in_a_record_of_its_own() -> None:
    conn = sack_connection(OFFLOAD)
    conn.send(DATA[: 3 * MSS])
    conn.close()
    sent = out(conn)
    assert [(len(s.payload), s.flags) for s in sent] == [(3 * MSS, ACK | PSH | FIN)]
    assert _records(conn) == [(0, 2 * MSS, ""), (2 * MSS, 3 * MSS + 1, "")]


def test_without_offload_every_segment_is_a_record() -> None:
    conn = sack_connection(replace(PLAIN, sack=True, initial_window=4 * MSS))
    conn.send(DATA[: 4 * MSS])
    assert len(out(conn)) == 4
    assert _records(conn) == [(n * MSS, (n + 1) * MSS, "") for n in range(4)]


def test_splits_keep_the_counts_in_pieces() -> None:
    rack = Rack()
    rack.start(1000)
    rack.on_send(1000, 2000, 0.0, False, 100)  # ten pieces of 100
    assert rack.extra_pieces == 9
    delivered = rack.on_cumulative_ack(1250)
    assert [(s.start, s.end) for s in delivered] == [(1000, 1200)]
    assert [(s.start, s.end) for s in rack.segments] == [(1250, 2000)]
    assert rack.extra_pieces == 7  # [1250, 1300) and seven whole pieces
    delivered = rack.on_sack([(1290, 1710)])  # holds [1300, 1700) whole
    assert [(s.start, s.end) for s in delivered] == [(1300, 1700)]
    assert [(s.start, s.end, s.sacked) for s in rack.segments] == [
        (1250, 1300, False), (1300, 1700, True), (1700, 2000, False),
    ]  # fmt: skip
    assert rack.sacked_count == 4 and rack.extra_pieces == 5


# -- the differential check ---------------------------------------------------
@contextmanager
def _old_recording(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """One record per SMSS-sized piece, as before."""
    original = LossRecovery.on_segment_sent

    def per_piece(
        self: LossRecovery, start: int, end: int, size: int, now: float,
        retransmission: bool, probe: bool, smss: int = 0,
    ) -> None:  # fmt: skip
        piece, left = start, size
        while smss and left > smss:
            original(self, piece, sq.add(piece, smss), smss, now, retransmission, probe)
            piece, left = sq.add(piece, smss), left - smss
        original(self, piece, end, left, now, retransmission, probe)

    with monkeypatch.context() as m:
        m.setattr(LossRecovery, "on_segment_sent", per_piece)
        yield


def _cut(seg: Segment, size: int) -> list[Segment]:
    """The device: a super-segment as the segments it puts on the wire."""
    if len(seg.payload) <= size:
        return [seg]
    pieces = []
    for at in range(0, len(seg.payload), size):
        last = at + size >= len(seg.payload)
        flags = seg.flags if last else seg.flags & ~(PSH | FIN)
        pieces.append(
            replace(seg, seq=sq.add(seg.seq, at), flags=flags, payload=seg.payload[at : at + size])
        )
    return pieces


def _transfer(seed: int, rack: bool, loss: float, total: int = 400_000) -> tuple[object, ...]:
    """A bulk transfer over a scripted path: pieces lost and held back at
    random (seeded), ACKs lost now and then. Returns every segment the sender
    handed the device, with when, and the outcome."""
    rng = random.Random(seed)
    config = replace(
        PLAIN, sack=True, window_scaling=True, recv_buffer=1 << 20, rack=rack,
        initial_window=10 * MSS,
    )  # fmt: skip
    a_addr, b_addr = (ip_address("10.0.0.1"), 40000), (ip_address("10.0.0.2"), 80)
    a = Connection(a_addr, b_addr, replace(config, segmentation_offload=65536))
    b = Connection(b_addr, a_addr, config)
    b.listen(0.0)
    a.connect(0.0)
    data = hashlib.sha256(str(seed).encode()).digest() * (total // 32 + 1)
    data = data[:total]
    fed = 0
    digest = hashlib.sha256()
    received = 0
    wire: list[tuple[float, int, bool, Segment]] = []
    sent_log: list[tuple[float, int, int, int]] = []
    now = 0.0
    n = 0
    for _ in range(200_000):
        if a.state is State.ESTABLISHED and fed < total:
            fed += a.send(data[fed : fed + max(a.send_space, 0)])
            if fed == total:
                a.close(now)
        for seg in a.segments_to_send(now):
            sent_log.append((now, seg.seq, len(seg.payload), seg.flags))
            for piece in _cut(seg, a._send_mss()):
                if piece.payload and rng.random() < loss:
                    continue  # lost
                delay = 0.01 + (rng.uniform(0, 0.008) if rng.random() < 0.05 else 0.0)
                n += 1
                heapq.heappush(wire, (now + delay, n, True, piece))
        for seg in b.segments_to_send(now):
            if rng.random() < 0.05:
                continue  # a lost ACK
            n += 1
            heapq.heappush(wire, (now + 0.01, n, False, seg))
        if received < total and (chunk := b.receive()):
            digest.update(chunk)
            received += len(chunk)
        for end in (a, b):
            while end.next_event() is not None:
                pass
        if received == total and a.state is State.FIN_WAIT_2 and not wire:
            break
        times = [t for t in (a.get_timer(), b.get_timer()) if t is not None]
        if wire:
            times.append(wire[0][0])
        assert times, "stalled"
        now = max(now, min(times))
        while wire and wire[0][0] <= now:
            _, _, to_b, seg = heapq.heappop(wire)
            (b if to_b else a).receive_segment(seg, now)
        for end in (a, b):
            timer = end.get_timer()
            if timer is not None and timer <= now:
                end.handle_timer(now)
    else:
        raise AssertionError("the transfer did not finish")
    assert received == total and digest.digest() == hashlib.sha256(data).digest()
    return (
        sent_log, digest.hexdigest(), a.state, b.state, a.stats.as_dict(), a.snd_una,
        a.recovery.cc.cwnd, a.recovery.reordering,
    )  # fmt: skip


@pytest.mark.interpreted_only("patch")
@pytest.mark.parametrize("seed", range(12))
def test_decisions_match_one_record_per_piece(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every segment handed the device, when, and the outcome (stats, state,
    cwnd) are the same: RACK's and DupThresh's, lighter and heavier loss."""
    rack, loss = seed % 2 == 0, (0.03, 0.1)[seed // 2 % 2]
    new = _transfer(seed, rack, loss)
    with _old_recording(monkeypatch):
        old = _transfer(seed, rack, loss)
    stats = new[4]
    assert isinstance(stats, dict) and stats["retransmitted_segments"] > 0  # losses were repaired
    assert new == old


@pytest.mark.interpreted_only("patch")
def test_the_super_segments_are_fewer_records(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the change is for: the records an ACK walks."""
    conn = _one_super_segment()
    with _old_recording(monkeypatch):
        old = _one_super_segment()
    assert len(_rack(conn).segments) == 1 and len(_rack(old).segments) == 44
    assert _records(conn, view=True) == _records(old) == _records(old, view=True)


def test_a_resend_at_snd_una_has_every_piece_checked_against_the_scoreboard() -> None:
    """A resend that is also the first record: each of its pieces the
    scoreboard already holds whole is SACKed, as one record per piece would be
    (here a SACK block that held no original segment whole, cut differently)."""
    board = [(1000, 2100)]

    def covered(start: int, end: int) -> bool:
        return any(a <= start and end <= b for a, b in board)

    rack = Rack()
    rack.start(0)
    rack.on_send(0, 1400, 0.0, False)
    rack.on_send(1400, 2800, 0.0, False)
    assert rack.on_sack(board) == []
    rack.on_send(0, 2800, 1.0, True, 1000)  # resent in pieces of 1000
    board.append((5000, 5001))
    delivered = rack.on_newly_sacked([(5000, 5001, 5000, 5001)], covered)
    assert [(s.start, s.end) for s in delivered] == [(1000, 2000)]
    assert [(s.start, s.end, s.sacked) for s in rack.segments] == [
        (0, 1000, False), (1000, 2000, True), (2000, 2800, False),
    ]  # fmt: skip
    assert rack.sacked_count == 1


def test_a_resend_acknowledged_before_the_sack_pass_is_no_error() -> None:
    """A resend still to be rechecked when an ACK takes every record."""
    rack = Rack()
    rack.start(0)
    rack.on_send(0, 3000, 0.0, False, 1000)
    rack.on_send(0, 3000, 1.0, True, 1000)
    rack.on_cumulative_ack(3000)
    assert rack.on_newly_sacked([(3000, 3001, 3000, 3001)], lambda a, b: False) == []


@pytest.mark.interpreted_only("patch")
def test_entering_recovery_does_not_copy_the_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """The per-piece view is for readers (tcp_info, a "packet too big"
    resend): the ACK path never builds it."""
    conn = _one_super_segment()

    def refuse(self: LossRecovery) -> None:
        raise AssertionError("LossRecovery.records read on the ACK path")

    monkeypatch.setattr(LossRecovery, "records", property(refuse))
    _ack(conn, 0, ((5 * MSS + 10, 8 * MSS + 20),), 0.01)
    assert conn.recovery.in_recovery and conn.recovery.sack_recovery


def test_resends_the_scoreboard_holds_every_other_piece_of() -> None:
    """Each piece of a resend the scoreboard already holds is SACKed, the
    others not (the SACK pass splits each resend once, without looking again
    at the tails it cut)."""
    rack = Rack()
    rack.start(0)
    rack.on_send(0, 500, 0.0, False)
    for j in range(3):  # three records of four pieces of 1000, each resent whole
        rack.on_send(500 + 4000 * j, 4500 + 4000 * j, 0.0, False, 1000)
    ranges = []
    for j in range(3):
        start = 500 + 4000 * j
        rack.on_send(start, start + 4000, 1.0, True, 1000)
        ranges += [(start + 1000 * p, start + 1000 * (p + 1)) for p in (0, 2)]

    def covered(start: int, end: int) -> bool:
        return any(a <= start and end <= b for a, b in ranges)

    delivered = rack.on_newly_sacked([(20000, 20001, 20000, 20001)], covered)
    assert [(s.start, s.end) for s in delivered] == ranges
    assert [s.sacked for s in rack.segments] == [False] + [True, False] * 6
    assert rack.sacked_count == 6 and rack.extra_pieces == 0 and rack.recheck == []


def test_pieces_and_splits_across_the_sequence_wrap() -> None:
    """A super-segment whose pieces straddle 2**32: pieces counted from its
    start, an ACK and a SACK block cut it at those edges."""
    top = 1 << 32
    rack = Rack()
    rack.start(top - 2500)
    rack.on_send(top - 2500, 1500, 0.0, False, 1000)  # edges -1500, -500, 500
    seg = rack.segments[0]
    assert seg.pieces() == 4 and rack.extra_pieces == 3
    assert seg.floor(100) == top - 500 and seg.ceil(top - 400) == 500
    delivered = rack.on_cumulative_ack(top - 1000)
    assert [(s.start, s.end) for s in delivered] == [(top - 2500, top - 1500)]
    assert rack.segments[0].pieces() == 3 and rack.extra_pieces == 2
    assert [(s.start, s.end) for s in rack.on_sack([(400, 1500)])] == [(500, 1500)]
    assert [(s.start, s.end, s.pieces()) for s in rack.segments] == [
        (top - 1000, 500, 2), (500, 1500, 1),
    ]  # fmt: skip
    assert rack.sacked_count == 1 and rack.extra_pieces == 1
