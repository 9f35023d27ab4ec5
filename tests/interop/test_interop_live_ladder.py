"""The live ladder of ``synack listen/connect --ladder`` (synack.apps.live_trace),
on records and on a stand-in driver, no lab needed:

- a close is called simultaneous only when it was one: both FINs sent before
  either side received the other's (``CloseJudge``);
- the packet path never draws: drawing happens on the ladder's own thread
  (and once more at the end), and what it prints is the whole ladder, each
  line once.
"""

from __future__ import annotations

import io
import threading
from ipaddress import ip_address

import pytest
from rich.console import Console

from synack.apps.live_trace import KERNEL, SYNACK, CloseJudge, LiveTrace
from synack.trace.ladder import ladder_lines
from synack.trace.records import Record, StateRecord, TraceRecorder
from synack.trace.timeline import build_timeline
from synack.wire.ip import encode_tcp_packet
from synack.wire.segment import ACK, FIN, SYN, Segment

US, PEER = ip_address("10.77.0.2"), ip_address("10.77.0.1")


@pytest.fixture(scope="module")
def interop_environment() -> None:
    """Overrides conftest.py's: these tests need no root, TUN device or lab."""


SIMULTANEOUS = "rcv FIN (simultaneous close)"


def packet(
    ours: bool, flags: int, seq: int, ack: int, port: int = 40000, payload: bytes = b""
) -> bytes:
    sport, dport = (port, 80) if ours else (80, port)
    seg = Segment(sport, dport, seq, ack, flags, 65535, payload=payload)
    return encode_tcp_packet(US, PEER, seg) if ours else encode_tcp_packet(PEER, US, seg)


class Records:
    """A live trace's records, written as the TUN driver's taps and the engine
    write them: packets sent by synack and by the kernel, synack's states."""

    def __init__(self) -> None:
        self.recorder = TraceRecorder()
        self.t = 0.0

    def ours(self, flags: int, seq: int, ack: int, **kw: object) -> None:
        self.t += 0.001
        self.recorder.packet(self.t, self.t, SYNACK, KERNEL, "delivered",
                             packet(True, flags, seq, ack, **kw))  # type: ignore[arg-type]  # fmt: skip

    def theirs(self, flags: int, seq: int, ack: int, **kw: object) -> None:
        self.t += 0.001
        self.recorder.packet(self.t, self.t, KERNEL, SYNACK, "delivered",
                             packet(False, flags, seq, ack, **kw))  # type: ignore[arg-type]  # fmt: skip

    def state(self, old: str, new: str, cause: str) -> None:
        self.recorder.records.append(StateRecord(self.t, SYNACK, old, new, cause))

    def judged_causes(self) -> list[str]:
        judge = CloseJudge()
        judged: list[Record] = [judge.judge(r) for r in self.recorder.records]
        return [r.cause for r in judged if isinstance(r, StateRecord)]


def handshake(rec: Records, port: int = 40000) -> None:
    rec.ours(SYN, 999, 0, port=port)
    rec.theirs(SYN | ACK, 4999, 1000, port=port)
    rec.ours(ACK, 1000, 5000, port=port)
    rec.state("SYN-SENT", "ESTABLISHED", "rcv SYN,ACK")


def test_fins_that_cross_are_a_simultaneous_close() -> None:
    rec = Records()
    handshake(rec)
    rec.state("ESTABLISHED", "FIN-WAIT-1", "close")
    rec.ours(FIN | ACK, 1000, 5000)  # ours leaves...
    rec.theirs(FIN | ACK, 5000, 1000)  # ...theirs was sent before ours reached them
    rec.state("FIN-WAIT-1", "CLOSING", SIMULTANEOUS)
    rec.ours(ACK, 1001, 5001)
    rec.theirs(ACK, 5001, 1001)
    assert rec.judged_causes() == ["rcv SYN,ACK", "close", SIMULTANEOUS]


def test_their_fin_before_ours_left_is_an_ordinary_close() -> None:
    """The application closed (FIN-WAIT-1) but our FIN had not left when the
    kernel's came; then ours went out and the kernel ACKed it: the kernel's
    FIN arrived before its ACK of ours, and the kernel closed first."""
    rec = Records()
    handshake(rec)
    rec.state("ESTABLISHED", "FIN-WAIT-1", "close")
    rec.theirs(FIN | ACK, 5000, 1000)
    rec.state("FIN-WAIT-1", "CLOSING", SIMULTANEOUS)
    rec.ours(FIN | ACK, 1000, 5001)
    rec.theirs(ACK, 5001, 1001)
    assert rec.judged_causes() == ["rcv SYN,ACK", "close", "rcv FIN (ours not sent yet)"]


def test_their_fin_acknowledging_ours_is_not_simultaneous() -> None:
    rec = Records()
    handshake(rec)
    rec.state("ESTABLISHED", "FIN-WAIT-1", "close")
    rec.ours(FIN | ACK, 1000, 5000, payload=b"bye")
    rec.theirs(FIN | ACK, 5000, 1004)  # they had our FIN (1000 + 3 bytes + FIN)
    rec.state("FIN-WAIT-1", "CLOSING", SIMULTANEOUS)  # not what the engine says, but if it did
    assert rec.judged_causes()[-1] == "rcv FIN"


def test_their_fin_not_covering_our_data_and_fin_is_simultaneous() -> None:
    rec = Records()
    handshake(rec)
    rec.ours(FIN | ACK, 1000, 5000, payload=b"bye")
    rec.theirs(FIN | ACK, 5000, 1003)  # our data, not our FIN
    rec.state("FIN-WAIT-1", "CLOSING", SIMULTANEOUS)
    assert rec.judged_causes()[-1] == SIMULTANEOUS


def test_a_fin_of_an_earlier_connection_on_the_same_ports_does_not_count() -> None:
    rec = Records()
    handshake(rec)
    rec.ours(FIN | ACK, 1000, 5000)
    rec.theirs(FIN | ACK, 5000, 1001)
    rec.state("FIN-WAIT-1", "TIME-WAIT", "rcv FIN,ACK")
    handshake(rec)  # the same ports again, a new connection
    rec.theirs(FIN | ACK, 5000, 1000)
    rec.state("FIN-WAIT-1", "CLOSING", SIMULTANEOUS)
    assert rec.judged_causes()[-1] == "rcv FIN (ours not sent yet)"


def test_a_fin_sent_on_another_connection_does_not_count() -> None:
    rec = Records()
    handshake(rec, port=40000)
    handshake(rec, port=40001)
    rec.ours(FIN | ACK, 1000, 5000, port=40001)
    rec.theirs(FIN | ACK, 5000, 1000, port=40000)
    rec.state("FIN-WAIT-1", "CLOSING", SIMULTANEOUS)
    assert rec.judged_causes()[-1] == "rcv FIN (ours not sent yet)"


def drawn(records: Records) -> str:
    out = io.StringIO()
    trace = LiveTrace(True, None, Console(file=out, width=120, highlight=False))
    trace.recorder = records.recorder
    trace.finish()
    return out.getvalue()


def test_the_ladder_says_simultaneous_close_only_for_one() -> None:
    crossed, ordinary = Records(), Records()
    for rec in (crossed, ordinary):
        handshake(rec)
        rec.state("ESTABLISHED", "FIN-WAIT-1", "close")
    crossed.ours(FIN | ACK, 1000, 5000)
    for rec in (crossed, ordinary):
        rec.theirs(FIN | ACK, 5000, 1000)
        rec.state("FIN-WAIT-1", "CLOSING", SIMULTANEOUS)
    assert "rcv FIN (simultaneous close)" in drawn(crossed)
    text = drawn(ordinary)
    assert "simultaneous" not in text
    assert "rcv FIN (ours not sent yet)" in text


# ----------------------------------------------------------------------
# Drawing off the packet path
# ----------------------------------------------------------------------
class StandInDriver:
    """What LiveTrace.wrap taps: receive, transmit and now."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.sent: list[bytes] = []
        self.t = 0.0

    def now(self) -> float:
        self.t += 0.001
        return self.t

    def receive(self, packets: list[bytes]) -> None:
        self.received.extend(packets)

    def transmit(self, packets: list[bytes]) -> None:
        self.sent.extend(packets)


def exchange(driver: StandInDriver) -> None:
    driver.transmit([packet(True, SYN, 999, 0)])
    driver.receive([packet(False, SYN | ACK, 4999, 1000)])
    for i in range(40):
        driver.transmit([packet(True, ACK, 1000 + 10 * i, 5000, payload=b"x" * 10)])
        driver.receive([packet(False, ACK, 5000, 1010 + 10 * i)])
    driver.transmit([packet(True, FIN | ACK, 1400, 5000)])
    driver.receive([packet(False, FIN | ACK, 5000, 1401)])
    driver.transmit([packet(True, ACK, 1401, 5001)])


def test_the_packet_path_never_draws(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    trace = LiveTrace(True, None, Console(file=out, width=120, highlight=False))
    driver = StandInDriver()
    trace.wrap(driver)  # type: ignore[arg-type]
    callers: list[tuple[str, bool]] = []
    draw = trace.draw
    finishing = False

    def watched_draw() -> None:
        callers.append((threading.current_thread().name, finishing))
        draw()

    monkeypatch.setattr(trace, "draw", watched_draw)
    main = threading.current_thread().name
    exchange(driver)
    assert len(driver.received) == 42 and len(driver.sent) == 43  # the taps pass packets on
    finishing = True
    trace.finish()
    while_exchanging = [name for name, in_finish in callers if not in_finish]
    assert set(while_exchanging) <= {"ladder"}, callers  # the drawing thread's, if any
    assert callers[-1] == (main, True)  # finish draws what is left, on the caller's thread


def test_the_drawing_thread_prints_the_whole_ladder_each_line_once() -> None:
    out = io.StringIO()
    trace = LiveTrace(True, None, Console(file=out, width=120, highlight=False))
    driver = StandInDriver()
    trace.wrap(driver)  # type: ignore[arg-type]
    exchange(driver)
    trace.finish()
    whole = ladder_lines(build_timeline(trace.recorder.records, SYNACK, KERNEL), footer=False)
    expected = Console(file=io.StringIO(), width=120, highlight=False)
    for line in whole:
        expected.print(line)
    assert out.getvalue() == expected.file.getvalue()  # type: ignore[attr-defined]
    kernel = [r for r in trace.recorder.records if getattr(r, "endpoint", "") == KERNEL]
    # head; 85 packets, 2 lines each; a line for each of the kernel's inferred states
    assert out.getvalue().count("\n") == len(whole) == 2 + 2 * 85 + len(kernel)
    assert [r.new for r in kernel][:3] == ["LISTEN", "SYN-RECEIVED", "ESTABLISHED"]  # type: ignore[attr-defined]
