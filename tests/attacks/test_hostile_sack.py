"""A hostile receiver against the sender's SACK scoreboard: inverted blocks,
blocks beyond what was sent or far below it, and thousands of disjoint
one-byte blocks inside our segments.

What must hold: the sender keeps working and every byte arrives exactly once
the receiver behaves; invalid blocks are ignored and counted; the scoreboard
never holds more ranges than its bound (twice the records in flight, at
least 16), and what would go beyond it is ignored and counted; the pipe never
exceeds the flight; and the per-ACK work of loss recovery does not grow with
the scoreboard: four times the hostile ACKs cost about four times the work,
not sixteen. Work is counted as bytecodes executed in tcp/recovery.py and
tcp/rack.py, never as wall time.

Each test runs twice: with one record per segment, and with segmentation
offload, where the flight leaves as super-segments of ten pieces each, one
RACK record apiece, that the hostile blocks must split (the bound counts
pieces, so it is the same).
"""

from __future__ import annotations

from dataclasses import replace
from ipaddress import ip_address

import pytest
from _work import work_in

import synack.tcp.rack as rack
import synack.tcp.recovery as recovery
from synack.tcp.config import TcpConfig
from synack.tcp.connection import Connection
from synack.tcp.events import DataReceived
from synack.wire import seq as sq
from synack.wire.segment import ACK, Sack, Segment

CLIENT = (ip_address("10.0.0.1"), 40000)
SERVER = (ip_address("10.0.0.2"), 80)
MSS = 64  # the smallest the engine takes
SEGMENTS = 1000  # in flight at once: 64,000 bytes, inside an unscaled window
ISS = (1 << 32) - 20_000  # our sequence numbers wrap past 2^32 on the way
CONFIG = TcpConfig(
    mss=MSS,
    window_scaling=False,
    timestamps=False,
    delayed_ack=False,
    nodelay=True,
    initial_window=SEGMENTS * MSS,
    congestion_control="newreno",
    hystart=False,
    tail_loss_probe=False,
)
STREAM = bytes((7 * i + 3) % 251 for i in range(SEGMENTS * MSS))
PIECES = 10  # SMSS-sized pieces in one super-segment, with offload
OFFLOAD = replace(CONFIG, segmentation_offload=PIECES * MSS)


@pytest.fixture(params=[CONFIG, OFFLOAD], ids=["per-segment", "offload"])
def config(request: pytest.FixtureRequest) -> TcpConfig:
    return request.param  # type: ignore[no-any-return]


class Pair:
    """Our sender and a synack receiver; the wire between them is in the
    test's hands, so that the receiver's ACKs can be replaced by forged ones."""

    def __init__(self, segments: int, config: TcpConfig) -> None:
        self.sender = Connection(CLIENT, SERVER, config)
        self.receiver = Connection(SERVER, CLIENT, config)
        self.receiver.listen(0.0)
        self.sender.connect(0.0, iss=ISS)
        self.now = 0.0
        self.exchange()
        assert self.sender.sack_ok and self.receiver.sack_ok
        self.data = STREAM[: segments * MSS]
        assert self.sender.send(self.data) == len(self.data)
        # the whole flight leaves, and is held back from the receiver
        self.held = self.sender.segments_to_send(self.now)
        per = PIECES if config.segmentation_offload else 1
        assert [len(seg.payload) for seg in self.held] == [per * MSS] * (segments // per)
        assert pieces(self.sender) == segments
        self.got = bytearray()

    def exchange(self) -> None:
        """Pass segments both ways until both are quiet."""
        for _ in range(10_000):
            a = self.sender.segments_to_send(self.now)
            b = self.receiver.segments_to_send(self.now)
            if not (a or b):
                return
            for seg in a:
                self.receiver.receive_segment(seg, self.now)
            for seg in b:
                self.sender.receive_segment(seg, self.now)
            self.read()
        raise AssertionError("no end to the exchange")

    def read(self) -> None:
        while (ev := self.receiver.next_event()) is not None:
            if isinstance(ev, DataReceived):
                self.got += self.receiver.receive(1 << 30)

    def forge(self, *blocks: tuple[int, int]) -> None:
        """A duplicate ACK from the receiver's address, with SACK ``blocks``.
        Whatever the sender sends back is delivered later, with the rest."""
        s, r = self.sender, self.receiver
        ack = Segment(80, 40000, r.snd_nxt, s.snd_una, ACK, s.snd_wnd, 0, (Sack(blocks),))
        s.receive_segment(ack, self.now)
        self.held += s.segments_to_send(self.now)

    def behave(self) -> bytes:
        """The receiver gets everything held, and the two talk until done."""
        self.now += 0.05
        for seg in self.held:
            self.receiver.receive_segment(seg, self.now)
        self.held = []
        self.read()
        for _ in range(100):
            self.exchange()
            if self.sender.snd_una == self.sender.snd_max:
                break
            self.now += 1.0  # anything still missing goes at the RTO
            self.sender.handle_timer(self.now)
        return bytes(self.got)

    def una(self, offset: int) -> int:
        return sq.add(self.sender.snd_una, offset)


def pieces(conn: Connection) -> int:
    """SMSS-sized pieces RACK keeps records of (one record may hold several)."""
    rack_ = conn.recovery.rack
    assert rack_ is not None
    return len(rack_.segments) + rack_.extra_pieces


def one_byte(pair: Pair, n: int) -> tuple[int, int]:
    """The n-th one-byte hole: byte 1 (3, 5...) of segment n (n + SEGMENTS...)."""
    segment, hole = n % SEGMENTS, n // SEGMENTS
    start = pair.una(segment * MSS + 2 * hole + 1)
    return start, sq.add(start, 1)


def invalid(pair: Pair, n: int) -> tuple[int, int]:
    """An invalid block of one of three kinds, in turn."""
    una, top = pair.una(0), pair.sender.snd_max
    kind = n % 3
    if kind == 0:
        return pair.una(40 * MSS), pair.una(30 * MSS)  # inverted
    if kind == 1:
        return pair.una(10 * MSS), sq.add(top, MSS)  # beyond SND.MAX
    return sq.add(una, -100_000), sq.add(una, -99_000)  # older than the largest window


def attack(pair: Pair, acks: int) -> None:
    """``acks`` forged ACKs, each with an invalid block and three one-byte holes."""
    for i in range(acks):
        blocks = [one_byte(pair, 3 * i + k) for k in range(3)]
        blocks.insert(i % 4, invalid(pair, i))
        pair.forge(*blocks)


def test_a_hostile_receiver_changes_nothing_once_it_behaves(config: TcpConfig) -> None:
    pair = Pair(SEGMENTS, config)
    sender = pair.sender
    rec = sender.recovery
    flight = SEGMENTS * MSS
    for i in range(300):
        attack_one = [one_byte(pair, 3 * i + k) for k in range(3)]
        pair.forge(invalid(pair, i), *attack_one)
        assert 0 <= rec.pipe(sender.snd_una, sender.snd_nxt) <= flight
        assert len(rec.scoreboard) == 3 * (i + 1)
    assert sender.stats.sack_blocks_invalid == 300
    assert sender.stats.sack_blocks_over_limit == 0
    assert rec.scoreboard.total == 900  # bytes, one per hole
    assert rec.rack.lost_bytes() == 0 and not rec.in_recovery  # no segment SACKed whole
    assert pair.behave() == pair.data
    assert sender.snd_una == sender.snd_max
    assert rec.scoreboard is None and rec.rack.segments == []


def test_the_scoreboard_stays_within_its_bound(config: TcpConfig) -> None:
    """Twenty segments in flight: 40 ranges at most, one-byte holes beyond
    that are ignored and counted; the sender still delivers everything."""
    pair = Pair(20, config)
    sender = pair.sender
    rec = sender.recovery
    records = pieces(sender)
    assert records == 20
    bound = max(recovery.SCOREBOARD_RANGES_PER_RECORD * records, recovery.SCOREBOARD_MIN_RANGES)
    assert bound == 40
    for i in range(25):  # 100 one-byte holes, 5 in each segment
        blocks = []
        for k in range(4):
            n = 4 * i + k
            start = pair.una((n % 20) * MSS + 2 * (n // 20) + 1)
            blocks.append((start, sq.add(start, 1)))
        pair.forge(*blocks)
        assert len(rec.scoreboard) <= bound
        assert 0 <= rec.pipe(sender.snd_una, sender.snd_nxt) <= 20 * MSS
    assert len(rec.scoreboard) == bound
    assert sender.stats.sack_blocks_over_limit == 100 - bound
    assert sender.stats.sack_blocks_invalid == 0
    assert pair.behave() == pair.data


def work(acks: int, config: TcpConfig) -> int:
    """Bytecodes run in tcp/recovery.py and tcp/rack.py for ``acks`` forged ACKs."""
    pair = Pair(SEGMENTS, config)
    targets = {recovery.__file__, rack.__file__}
    _, count = work_in(targets, lambda: attack(pair, acks), event="opcode")
    assert len(pair.sender.recovery.scoreboard) == 3 * acks
    assert pair.sender.stats.sack_blocks_invalid == acks
    return count


@pytest.mark.interpreted_only("settrace")
def test_per_ack_work_does_not_grow_with_the_scoreboard(config: TcpConfig) -> None:
    """100 ACKs leave 300 ranges, 400 leave 1,200: with work per ACK linear in
    the scoreboard (or in the records, 1,000 here) the second costs 6 to 16
    times the first (11 with the records walked whole for each SACKed
    stretch); logarithmic, about 4 times (3.7: each run also builds RACK's
    send-ordered queue once, at its first loss walk)."""
    small, large = work(100, config), work(400, config)
    assert 3 * small < large < 5 * small, (small, large, large / small)


def whole_pieces(pair: Pair, acks: int) -> None:
    """``acks`` forged ACKs, each SACKing three whole pieces that no other SACKed
    piece touches (1, 3, 5... of the flight, spread out): under offload, each
    block cuts a piece out of a super-segment's record."""
    for i in range(acks):
        blocks = []
        for k in range(3):
            n = 3 * i + k
            piece = 2 * (n * 7 % (SEGMENTS // 2)) + 1  # odd pieces, 7 apart in turn
            start = pair.una(piece * MSS)
            blocks.append((start, sq.add(start, MSS)))
        pair.forge(*blocks)


def test_whole_piece_blocks_split_records_within_bounds(config: TcpConfig) -> None:
    """150 ACKs SACK 450 separate pieces: under offload every one is cut out of
    its super-segment; the records stay at most one per piece, the pipe within
    the flight, and everything arrives once the receiver behaves."""
    pair = Pair(SEGMENTS, config)
    sender = pair.sender
    rec = sender.recovery
    whole_pieces(pair, 150)
    assert sender.stats.sack_blocks_invalid == sender.stats.sack_blocks_over_limit == 0
    assert rec.scoreboard is not None and rec.scoreboard.total == 450 * MSS
    rack_ = rec.rack
    assert rack_ is not None
    assert len(rack_.segments) <= SEGMENTS
    if config.segmentation_offload:
        assert len(rack_.segments) > SEGMENTS // PIECES  # the SACKed pieces were cut out
    assert 0 <= rec.pipe(sender.snd_una, sender.snd_nxt) <= SEGMENTS * MSS
    assert pair.behave() == pair.data
    assert rec.scoreboard is None and rack_.segments == []


@pytest.mark.interpreted_only("settrace")
def test_per_ack_work_of_whole_piece_blocks_is_linear(config: TcpConfig) -> None:
    """40 and then 160 ACKs of whole-piece blocks (120 and 480 pieces cut out):
    about four times the work (less: entering recovery is paid once), not
    sixteen, however many records the cuts make."""

    def count(acks: int) -> int:
        pair = Pair(SEGMENTS, config)
        targets = {recovery.__file__, rack.__file__}
        _, n = work_in(targets, lambda: whole_pieces(pair, acks), event="opcode")
        assert pair.sender.recovery.scoreboard.total == 3 * acks * MSS  # type: ignore[union-attr]
        return n

    small, large = count(40), count(160)
    assert 2 * small < large < 6 * small, (small, large, large / small)
