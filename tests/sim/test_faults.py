"""Scripted faults: rules acting on the Nth matching segment, and their text specs."""

from __future__ import annotations

import pytest

from synack.host import Host
from synack.sim.faults import FaultSpecError, parse_fault
from synack.sim.network import FaultRule, LinkConfig, Network, PacketEvent, segment_matcher
from synack.tcp.events import Connected
from synack.wire.ip import parse_tcp_packet
from synack.wire.segment import tcpdump_flags


class Run:
    """A client and a server, a 10 ms link, every packet event kept."""

    def __init__(self) -> None:
        self.net = Network(seed=1, default_link=LinkConfig(delay=0.010))
        self.client = self.net.add_host(Host("10.0.0.1", secret=b"c" * 16))
        self.server = self.net.add_host(Host("10.0.0.2", secret=b"s" * 16))
        self.server.listen(80)
        self.events: list[PacketEvent] = []
        self.net.taps.append(self.events.append)

    def go(self, payload: bytes = b"") -> None:
        conn = self.client.connect(("10.0.0.2", 80), 0.0)
        if payload:
            conn.send(payload)
        self.net.run(until=30.0)

    def seen(self, src: Host, flags: str) -> list[PacketEvent]:
        return [
            e for e in self.events
            if e.src is src and tcpdump_flags(parse_tcp_packet(e.packet)[2].flags) == flags
        ]  # fmt: skip


def test_drop_the_first_syn_ack() -> None:
    run = Run()
    rule = run.net.drop(segment_matcher(src=run.server, flags="S."))
    run.go()
    syn_acks = run.seen(run.server, "S.")
    assert [e.fate for e in syn_acks] == ["dropped", "delivered"]
    assert rule.dropped == 1 and rule.applied == 1
    assert syn_acks[1].sent >= 1.0  # it took the client's SYN retransmission (RTO 1 s)


def test_the_nth_match_and_a_count() -> None:
    run = Run()
    first = run.net.drop(segment_matcher(src=run.client, flags="S"))
    later = run.net.drop(segment_matcher(src=run.client, flags="S"), nth=2, count=2)
    run.go()
    syns = run.seen(run.client, "S")
    assert [e.fate for e in syns] == ["dropped", "dropped", "dropped", "delivered"]
    assert [e.sent for e in syns] == pytest.approx([0.0, 1.0, 3.0, 7.0])  # RTO backoff
    assert (first.applied, later.seen, later.applied) == (1, 3, 2)


def test_direction_matters() -> None:
    run = Run()
    run.net.drop(segment_matcher(src=run.client, dst=run.server, flags="S."))
    run.go()
    assert all(e.fate == "delivered" for e in run.events)  # the client sends no SYN,ACK


def test_delay_a_segment() -> None:
    run = Run()
    run.net.fault(segment_matcher(flags="S."), "delay", delay=3.0)
    run.go()
    (syn_ack,) = [e for e in run.seen(run.server, "S.") if e.fate == "delayed"]
    assert syn_ack.arrival == pytest.approx(syn_ack.sent + 3.010)


def test_duplicate_by_predicate() -> None:
    run = Run()
    rule = run.net.fault(
        segment_matcher(src=run.client, predicate=lambda seg: len(seg.payload) > 0),
        "duplicate",
        delay=0.5,
    )
    run.go(b"hello")
    data = [e for e in run.events if e.src is run.client and e.fate == "duplicated"]
    assert len(data) == 1 and rule.applied == 1
    original = next(e for e in run.events if e.packet == data[0].packet and e.fate == "delivered")
    assert data[0].arrival == pytest.approx(original.arrival + 0.5)  # type: ignore[operator]


def test_fault_rule_validation() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        FaultRule(lambda s, d, p: True, nth=0)
    with pytest.raises(ValueError, match="unknown fault"):
        FaultRule(lambda s, d, p: True, action="mangle")
    with pytest.raises(ValueError, match="positive delay"):
        FaultRule(lambda s, d, p: True, action="delay")


# -- the spec grammar ---------------------------------------------------


@pytest.mark.parametrize(
    ("action", "text", "direction", "flags_text", "nth", "count", "delay"),
    [
        ("drop", "S.:1", None, "S.", 1, 1, 0.0),
        ("drop", "c2s:F.:1", "c2s", "F.", 1, 1, 0.0),
        ("drop", "s2c:.:2-4", "s2c", ".", 2, 3, 0.0),
        ("drop", "*:3", None, "*", 3, 1, 0.0),
        ("delay", "S.:1:3000ms", None, "S.", 1, 1, 3.0),
        ("delay", "c2s:data:2:1.5s", "c2s", "data", 2, 1, 1.5),
        ("duplicate", "P.:1", None, "P.", 1, 1, 0.0),
        ("duplicate", "P.:1:250", None, "P.", 1, 1, 0.25),
    ],
)
def test_parse_fault(
    action: str, text: str, direction: str | None, flags_text: str, nth: int, count: int,
    delay: float,
) -> None:  # fmt: skip
    spec = parse_fault(action, text)
    assert (spec.action, spec.direction, spec.flags_text) == (action, direction, flags_text)
    assert (spec.nth, spec.count) == (nth, count)
    assert spec.delay == pytest.approx(delay)


def test_flags_in_any_order_mean_the_same() -> None:
    assert parse_fault("drop", ".S:1").flags == parse_fault("drop", "S.:1").flags


@pytest.mark.parametrize(
    ("action", "text", "message"),
    [
        ("drop", "S.", "does not read as"),
        ("drop", "S.:1:5ms", "does not read as"),
        ("drop", "S.:0", "1 <= N <= M"),
        ("drop", "S.:3-2", "1 <= N <= M"),
        ("drop", "S.:x", "not N or N-M"),
        ("drop", "Q:1", "unknown flag"),
        ("drop", ":1", "empty flags"),
        ("delay", "S.:1", "positive DELAY"),
        ("delay", "S.:1:soon", "not a duration"),
        ("explode", "S.:1", "unknown fault action"),
    ],
)
def test_bad_specs_have_one_line_errors(action: str, text: str, message: str) -> None:
    with pytest.raises(FaultSpecError, match=message) as info:
        parse_fault(action, text)
    assert "\n" not in str(info.value)


def test_spec_matcher_counts_over_the_direction() -> None:
    run = Run()
    spec = parse_fault("drop", "s2c:S.:1")
    run.net.fault(spec.matcher([run.client], [run.server]), spec.action, spec.nth, spec.count)
    run.go()
    assert [e.fate for e in run.seen(run.server, "S.")] == ["dropped", "delivered"]
    assert spec.describe() == "drop s2c S. #1"


def test_call_at_runs_with_the_apps() -> None:
    run = Run()
    seen: list[float] = []
    run.net.call_at(2.5, lambda net: seen.append(net.now))
    run.net.call_at(1.0, lambda net: net.hosts[0].connect(("10.0.0.2", 80), net.now))
    run.net.run()
    assert seen == [2.5]
    assert run.events[0].sent == 1.0  # the SYN left at the instant of the call


def test_user_calls_between_steps_are_noticed() -> None:
    run = Run()
    conn = run.client.connect(("10.0.0.2", 80), 0.0)
    run.net.run_until(lambda: conn.state.value == "ESTABLISHED")
    event = run.client.next_event()
    assert event is not None and isinstance(event.event, Connected)
    before = len(run.events)
    conn.send(b"x")  # a user call: the host tells the network through on_output
    run.net.step()
    assert len(run.events) > before
