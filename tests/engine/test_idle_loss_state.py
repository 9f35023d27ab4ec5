"""Loss recovery's per-flight state is made when first needed (issue 16's
memory per idle connection): RACK's records (tcp/rack.py) when a SACK sender
first sends data, the SACK scoreboard when a SACK block is first kept, and
the scoreboard is dropped again once nothing is SACKed. Two connections talk
over a wire the test holds, 1/128 s each way, with SACK and window scaling
(no timestamps: RTT samples are exact).

The exact segments of a SACK recovery are checked elsewhere, unchanged:
tests/engine/test_sack_recovery.py and test_rack.py (the connection's
segments), test_recovery.py (LossRecovery's decisions).
"""

from __future__ import annotations

from ipaddress import ip_address

import synack.tcp.rack as rack_module
from synack.tcp.config import TcpConfig
from synack.tcp.connection import Connection
from synack.tcp.events import DataReceived
from synack.tcp.state import State
from synack.wire.segment import Segment

CLIENT = (ip_address("10.0.0.1"), 40000)
SERVER = (ip_address("10.0.0.2"), 80)
DELAY = 1 / 128  # one way, exact in binary
MSS = 1000
CONFIG = TcpConfig(
    mss=MSS,
    timestamps=False,  # RTT samples from timed segments: exact
    delayed_ack=False,
    nodelay=True,
    initial_window=10 * MSS,
    tail_loss_probe=False,
)
DATA = bytes(i % 251 for i in range(10 * MSS))  # ten segments


class Wire:
    """A client and a server; each segment takes DELAY to cross."""

    def __init__(self) -> None:
        self.client = Connection(CLIENT, SERVER, CONFIG)
        self.server = Connection(SERVER, CLIENT, CONFIG)
        self.server.listen(0.0)
        self.client.connect(0.0)
        self.now = 0.0
        self.got = bytearray()
        self.exchange()

    def exchange(self, drop: int | None = None) -> list[Segment]:
        """Pass segments both ways until both are quiet, the ``drop``-th data
        segment from the client excepted. Returns the client's data segments."""
        sent: list[Segment] = []
        for _ in range(1000):
            a = self.client.segments_to_send(self.now)
            b = self.server.segments_to_send(self.now)
            if not (a or b):
                return sent
            self.now += DELAY
            for seg in a:
                if seg.payload:
                    sent.append(seg)
                    if len(sent) == drop:
                        continue
                self.server.receive_segment(seg, self.now)
            for seg in b:
                self.client.receive_segment(seg, self.now)
            while (ev := self.server.next_event()) is not None:
                if isinstance(ev, DataReceived):
                    self.got += self.server.receive(1 << 20)
        raise AssertionError("no end to the exchange")


def test_an_idle_established_connection_holds_no_rack_nor_scoreboard() -> None:
    w = Wire()
    for conn in (w.client, w.server):
        assert conn.state is State.ESTABLISHED and conn.sack_ok
        rec = conn.recovery
        assert rec.rack is None and rec.scoreboard is None
        assert rec.records == ()
        # RACK.min_RTT is the handshake's one sample until RACK's state is made
        assert rec.min_rtt == 2 * DELAY == conn.rtt.srtt


def test_only_the_side_that_sends_data_makes_rack_and_it_keeps_the_handshake_min_rtt() -> None:
    w = Wire()
    data = DATA
    w.client.send(data)
    w.exchange()
    assert bytes(w.got) == data
    client, server = w.client.recovery, w.server.recovery
    assert client.rack is not None and client.rack.segments == []  # all acknowledged
    # nothing was lost: RACK's other lists were never made
    assert client.rack.lost_heap is rack_module._NO_LOST
    assert client.rack.recheck is client.rack.sendq is rack_module._NO_RECORDS
    assert client.rack.min_rtt == 2 * DELAY  # the handshake's, then equal samples
    assert client.scoreboard is None  # nothing was SACKed
    # the receiver only ACKed: its one RTT sample is still the handshake's
    assert server.rack is None and server.scoreboard is None


def test_a_sacked_loss_makes_the_scoreboard_and_an_empty_one_is_dropped() -> None:
    w = Wire()
    data = DATA
    w.client.send(data)
    start = w.client.snd_nxt
    flight = w.client.segments_to_send(w.now)
    assert [len(seg.payload) for seg in flight] == [MSS] * 10
    w.now += DELAY
    for seg in flight[:3] + flight[4:]:  # the fourth is lost
        w.server.receive_segment(seg, w.now)
    acks = w.server.segments_to_send(w.now)
    assert acks[-1].sack_blocks == ((start + 4 * MSS, start + 10 * MSS),)
    w.now += DELAY
    rec = w.client.recovery
    for ack in acks:
        w.client.receive_segment(ack, w.now)
        if ack.sack_blocks:
            assert rec.scoreboard is not None and rec.scoreboard.total == (
                ack.sack_blocks[0][1] - ack.sack_blocks[0][0]
            )
    # three segments SACKed above the hole: RACK's reo_wnd is 0, it is lost
    resent = w.client.segments_to_send(w.now)
    assert [(seg.seq, len(seg.payload)) for seg in resent] == [(start + 3 * MSS, MSS)]
    assert rec.in_recovery
    w.now += DELAY
    w.server.receive_segment(resent[0], w.now)
    w.exchange()
    assert bytes(w.got) == data
    assert w.client.snd_una == w.client.snd_max
    assert rec.scoreboard is None  # nothing SACKed: none kept
    rack = rec.rack
    assert rack is not None and rack.segments == [] and rack.lost_total == 0
    # the flight is over: the lists a loss made are the shared empty ones again
    assert rack.lost_heap is rack_module._NO_LOST and rack.recheck is rack_module._NO_RECORDS
    assert rack.sendq is rack_module._NO_RECORDS
    assert rack_module._NO_LOST == [] and rack_module._NO_RECORDS == []  # never written
