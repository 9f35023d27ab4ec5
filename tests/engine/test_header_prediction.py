"""Header prediction in ESTABLISHED (``Connection._predicted``).

The shortcut must take exactly the segments whose every RFC 9293 3.10.7.4
check passes by construction, and then do what the full path does. Each
test below either checks the exact segments after a predicted segment,
checks that a segment failing one condition takes the full path, or runs
the same input with the shortcut turned off and compares everything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from _opening_helpers import PEER_TSVAL, established_full, feed, ts_val
from conftest import IRS, ISS, PLAIN, WINDOW, events, in_state, ours, out, peer

import synack.sim.scale
from synack.sim.network import LinkConfig, Network, PacketEvent
from synack.sim.scale import simulate
from synack.tcp.connection import Connection
from synack.tcp.events import DataReceived
from synack.tcp.state import State
from synack.wire.segment import ACK, CWR, ECE, FIN, NOP, PSH, RST, SYN, URG, Segment, Timestamps

TEXT = b"x" * 100


@pytest.fixture
def full_path_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Segment]]:
    """The segments that went through the full path (``_synchronized_segment``)."""
    taken: list[Segment] = []
    full = Connection._synchronized_segment

    def spy(self: Connection, seg: Segment, now: float) -> None:
        taken.append(seg)
        full(self, seg, now)

    monkeypatch.setattr(Connection, "_synchronized_segment", spy)
    yield taken


def _ts(tsval: int = PEER_TSVAL + 1, now: float = 0.0) -> tuple[Any, ...]:
    return (NOP, NOP, Timestamps(tsval, ts_val(now)))


# -- exact segments after a predicted segment ------------------------------------
def test_in_order_text_is_predicted_and_acknowledged(full_path_calls: list[Segment]) -> None:
    conn = in_state(State.ESTABLISHED, PLAIN)
    sent = feed(conn, peer(ACK | PSH, IRS + 1, ISS + 1, payload=TEXT))
    assert full_path_calls == []
    # PLAIN acknowledges every segment; the right edge stays where it was offered
    assert sent == [ours(ACK, ISS + 1, IRS + 1 + len(TEXT), window=WINDOW - len(TEXT))]
    assert events(conn) == [DataReceived(len(TEXT))]
    assert conn.receive() == TEXT
    assert conn.rcv_nxt == IRS + 1 + len(TEXT)


def test_ack_of_new_data_is_predicted(full_path_calls: list[Segment]) -> None:
    conn = in_state(State.ESTABLISHED, PLAIN)
    conn.send(TEXT)
    assert out(conn) == [ours(ACK | PSH, ISS + 1, IRS + 1, payload=TEXT)]
    assert conn.get_timer() is not None  # the retransmission timer
    sent = feed(conn, peer(ACK, IRS + 1, ISS + 1 + len(TEXT), window=4000), now=0.05)
    assert full_path_calls == []
    assert sent == []
    assert (conn.snd_una, conn.snd_wnd, conn.snd_wl1, conn.snd_wl2) == (
        ISS + 1 + len(TEXT), 4000, IRS + 1, ISS + 1 + len(TEXT),
    )  # fmt: skip
    assert conn.get_timer() is None  # nothing in flight: no timer (RFC 6298 5.2)


def test_timestamps_update_ts_recent_on_the_predicted_path(full_path_calls: list[Segment]) -> None:
    conn = established_full()
    seg = peer(ACK | PSH, IRS + 1, ISS + 1, window=512, payload=TEXT, options=_ts(PEER_TSVAL + 5))
    sent = feed(conn, seg, now=0.002)
    assert full_path_calls == []
    assert conn.ts_recent == PEER_TSVAL + 5  # RFC 7323 4.3: SEG.SEQ <= Last.ACK.sent
    [ack] = sent
    assert (ack.flags, ack.seq, ack.ack) == (ACK, ISS + 1, IRS + 1 + len(TEXT))
    assert ack.timestamps == Timestamps(ts_val(0.002), PEER_TSVAL + 5)


# -- segments that must take the full path ---------------------------------------
def _plain_case(make: Callable[[Connection], Segment]) -> Callable[[], tuple[Connection, Segment]]:
    def build() -> tuple[Connection, Segment]:
        conn = in_state(State.ESTABLISHED, PLAIN)
        return conn, make(conn)

    return build


def _full_case(make: Callable[[Connection], Segment]) -> Callable[[], tuple[Connection, Segment]]:
    def build() -> tuple[Connection, Segment]:
        conn = established_full()
        return conn, make(conn)

    return build


def _with_hole(conn: Connection) -> Segment:
    """Text above RCV.NXT is held first; then the next in-order segment comes."""
    feed(conn, peer(ACK, IRS + 1 + 200, ISS + 1, payload=TEXT))
    return peer(ACK, IRS + 1, ISS + 1, payload=TEXT)


def _with_dsack_due(conn: Connection) -> Segment:
    """A duplicate is reported (D-SACK, RFC 2883) and the report is not yet sent."""
    feed(conn, peer(ACK, IRS + 1, ISS + 1, payload=TEXT, options=_ts()))
    conn.receive_segment(peer(ACK, IRS + 1, ISS + 1, payload=TEXT, options=_ts()), 0.0)
    return peer(ACK, IRS + 1 + len(TEXT), ISS + 1, payload=TEXT, options=_ts())


def _send_text(conn: Connection) -> None:
    conn.send(TEXT)
    out(conn)


def _old_ack(conn: Connection) -> Segment:
    """Half of our text is acknowledged; then an ACK from before that comes."""
    _send_text(conn)
    feed(conn, peer(ACK, IRS + 1, ISS + 51))
    return peer(ACK, IRS + 1, ISS + 1)


def _ack_with_new_window(conn: Connection) -> Segment:
    _send_text(conn)
    return peer(ACK, IRS + 1, ISS + 1 + 60, window=7, options=_ts())


def _text_and_ack(conn: Connection) -> Segment:
    _send_text(conn)
    return peer(ACK, IRS + 1, ISS + 1 + 100, window=40, payload=TEXT, options=_ts())


FULL_PATH_CASES = {
    "FIN": _plain_case(lambda c: peer(ACK | FIN, IRS + 1, ISS + 1)),
    "RST": _plain_case(lambda c: peer(RST, IRS + 1)),
    "SYN": _plain_case(lambda c: peer(SYN | ACK, IRS + 1, ISS + 1)),
    "URG": _plain_case(lambda c: peer(ACK | URG, IRS + 1, ISS + 1, payload=TEXT)),
    "ECE": _plain_case(lambda c: peer(ACK | ECE, IRS + 1, ISS + 1)),
    "CWR": _plain_case(lambda c: peer(ACK | CWR, IRS + 1, ISS + 1)),
    "no ACK": _plain_case(lambda c: peer(PSH, IRS + 1, payload=TEXT)),
    "above RCV.NXT": _plain_case(lambda c: peer(ACK, IRS + 101, ISS + 1, payload=TEXT)),
    "below RCV.NXT": _plain_case(lambda c: peer(ACK, IRS, ISS + 1, payload=TEXT)),
    "ACK of unsent data": _plain_case(lambda c: peer(ACK, IRS + 1, ISS + 2)),
    "ACK below SND.UNA": _plain_case(_old_ack),
    "text past the buffer": _plain_case(
        lambda c: peer(ACK, IRS + 1, ISS + 1, payload=b"y" * (WINDOW + 1))
    ),
    "text held out of order": _plain_case(_with_hole),
    "no timestamp": _full_case(lambda c: peer(ACK, IRS + 1, ISS + 1, payload=TEXT)),
    "old timestamp (PAWS)": _full_case(
        lambda c: peer(ACK, IRS + 1, ISS + 1, payload=TEXT, options=_ts(PEER_TSVAL - 1))
    ),
    "D-SACK due": _full_case(_with_dsack_due),
}


@pytest.mark.interpreted_only("patch")
@pytest.mark.parametrize("case", FULL_PATH_CASES, ids=list(FULL_PATH_CASES))
def test_full_path_takes(case: str, full_path_calls: list[Segment]) -> None:
    conn, seg = FULL_PATH_CASES[case]()
    full_path_calls.clear()
    conn.receive_segment(seg, 0.0)
    assert full_path_calls == [seg]


def test_predicted_when_a_condition_holds_again(full_path_calls: list[Segment]) -> None:
    """The hole filled and the D-SACK sent, the next in-order text is predicted again."""
    conn = in_state(State.ESTABLISHED, PLAIN)
    feed(conn, peer(ACK, IRS + 1 + 100, ISS + 1, payload=TEXT))  # held above RCV.NXT
    feed(conn, peer(ACK, IRS + 1, ISS + 1, payload=TEXT))  # fills the hole
    full_path_calls.clear()
    sent = feed(conn, peer(ACK, IRS + 201, ISS + 1, payload=TEXT))
    assert full_path_calls == []
    assert sent == [ours(ACK, ISS + 1, IRS + 301, window=WINDOW - 300)]


# -- the shortcut changes nothing ------------------------------------------------
def _snapshot(conn: Connection) -> tuple[Any, ...]:
    return (
        conn.state, conn.rcv_nxt, conn.rcv_adv, conn.snd_una, conn.snd_nxt, conn.snd_max,
        conn.snd_wnd, conn.snd_wl1, conn.snd_wl2, conn.ts_recent, conn.last_ack_sent,
        conn.get_timer(), conn.recovery.cc.cwnd, conn.rtt.srtt, conn.peek(),
    )  # fmt: skip


SAME_CASES = {
    "in-order text": _full_case(
        lambda c: peer(ACK | PSH, IRS + 1, ISS + 1, window=300, payload=TEXT, options=_ts())
    ),
    "ACK of data, with a new window": _full_case(_ack_with_new_window),
    "text and an ACK": _full_case(_text_and_ack),
    **FULL_PATH_CASES,
}


@pytest.mark.interpreted_only("patch")
@pytest.mark.parametrize("case", SAME_CASES, ids=list(SAME_CASES))
def test_same_as_the_full_path(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each segment, with the shortcut and without: the same output, events and TCB."""
    conn, seg = SAME_CASES[case]()
    sent = feed(conn, seg, now=0.01)
    after = (sent, events(conn), _snapshot(conn))
    monkeypatch.setattr(Connection, "_predicted", lambda self, seg, now: False)
    conn, seg = SAME_CASES[case]()
    sent = feed(conn, seg, now=0.01)
    assert (sent, events(conn), _snapshot(conn)) == after


def _recorded_run(monkeypatch: pytest.MonkeyPatch, predict: bool) -> list[tuple[Any, ...]]:
    """Every packet of a seeded lossy, reordering, duplicating run, as the links saw it."""
    packets: list[tuple[Any, ...]] = []

    class Recording(Network):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.taps.append(lambda e: packets.append(_event_fields(e)))

    with monkeypatch.context() as m:
        m.setattr(synack.sim.scale, "Network", Recording)
        if not predict:
            m.setattr(Connection, "_predicted", lambda self, seg, now: False)
        rough = LinkConfig(
            delay=0.01, jitter=0.004, loss=0.03, duplicate=0.02, reorder=0.05, bandwidth=20e6,
            queue_limit=30,
        )  # fmt: skip
        result = simulate(
            12, bytes_up=60_000, bytes_down=90_000, c2s=rough, s2c=rough, seed=21, msl=1.0
        )
    assert result.ok
    return packets


def _event_fields(e: PacketEvent) -> tuple[Any, ...]:
    return (e.sent, e.arrival, str(e.src.addresses), str(e.dst.addresses), e.packet, e.fate)


@pytest.mark.interpreted_only("patch")
def test_a_rough_network_run_is_the_same_packet_for_packet(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    taken: list[bool] = []
    predicted = Connection._predicted

    def counting(self: Connection, seg: Segment, now: float) -> bool:
        taken.append(predicted(self, seg, now))
        return taken[-1]

    monkeypatch.setattr(Connection, "_predicted", counting)
    with_shortcut = _recorded_run(monkeypatch, predict=True)
    without = _recorded_run(monkeypatch, predict=False)
    # both paths ran often: reordering and loss send many segments the full way
    assert taken.count(True) > 500 and taken.count(False) > 500
    assert with_shortcut == without
