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
"""

from __future__ import annotations

from ipaddress import ip_address

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


class Pair:
    """Our sender and a synack receiver; the wire between them is in the
    test's hands, so that the receiver's ACKs can be replaced by forged ones."""

    def __init__(self, segments: int) -> None:
        self.sender = Connection(CLIENT, SERVER, CONFIG)
        self.receiver = Connection(SERVER, CLIENT, CONFIG)
        self.receiver.listen(0.0)
        self.sender.connect(0.0, iss=ISS)
        self.now = 0.0
        self.exchange()
        assert self.sender.sack_ok and self.receiver.sack_ok
        self.data = STREAM[: segments * MSS]
        assert self.sender.send(self.data) == len(self.data)
        # the whole flight leaves, and is held back from the receiver
        self.held = self.sender.segments_to_send(self.now)
        assert len(self.held) == segments
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


def test_a_hostile_receiver_changes_nothing_once_it_behaves() -> None:
    pair = Pair(SEGMENTS)
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


def test_the_scoreboard_stays_within_its_bound() -> None:
    """Twenty segments in flight: 40 ranges at most, one-byte holes beyond
    that are ignored and counted; the sender still delivers everything."""
    pair = Pair(20)
    sender = pair.sender
    rec = sender.recovery
    records = len(rec.rack.segments)
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


def work(acks: int) -> int:
    """Bytecodes run in tcp/recovery.py and tcp/rack.py for ``acks`` forged ACKs."""
    pair = Pair(SEGMENTS)
    targets = {recovery.__file__, rack.__file__}
    _, count = work_in(targets, lambda: attack(pair, acks), event="opcode")
    assert len(pair.sender.recovery.scoreboard) == 3 * acks
    assert pair.sender.stats.sack_blocks_invalid == acks
    return count


def test_per_ack_work_does_not_grow_with_the_scoreboard() -> None:
    """100 ACKs leave 300 ranges, 400 leave 1,200: with work per ACK linear in
    the scoreboard (or in the records, 1,000 here) the second costs 6 to 16
    times the first (11 with the records walked whole for each SACKed
    stretch); logarithmic, about 4 times (3.7: each run also builds RACK's
    send-ordered queue once, at its first loss walk)."""
    small, large = work(100), work(400)
    assert 3 * small < large < 5 * small, (small, large, large / small)
