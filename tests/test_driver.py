"""The driver loop (synack.driver) on a virtual clock: no asyncio, no wall time."""

from __future__ import annotations

from collections.abc import Callable

from synack.driver import HostSchedule, VirtualClock
from synack.host import Host, HostEvent
from synack.sim.live import LiveNetwork
from synack.sim.network import LinkConfig, Network
from synack.tcp.events import DataReceived
from synack.tcp.state import State


def test_virtual_clock_runs_calls_in_time_order_and_skips_cancelled() -> None:
    clock = VirtualClock()
    seen: list[str] = []
    clock.call_at(2.0, seen.append, "late")
    clock.call_at(1.0, seen.append, "early")
    clock.call_at(1.0, seen.append, "early, second")
    clock.call_at(1.5, seen.append, "cancelled").cancel()
    clock.call_soon(seen.append, "now")
    clock.run(until=1.5)
    assert seen == ["now", "early", "early, second"]
    assert clock.time() == 1.5
    clock.run()
    assert seen[-1] == "late" and clock.time() == 2.0
    assert clock.next_time() is None


def _handshake_and_hello(net: LiveNetwork, run: Callable[[], None]) -> None:
    """A client sends b"hello" to a server on ``net``; ``run`` moves the clock."""
    client = net.add_host(Host("10.0.0.1"))
    server = net.add_host(Host("10.0.0.2"))
    received = bytearray()

    def on_server_event(hev: HostEvent) -> None:
        if isinstance(hev.event, DataReceived):
            received.extend(hev.connection.receive())

    server.subscribe(on_server_event)
    server.host.listen(80, 8, now=server.now())
    conn = client.host.connect(("10.0.0.2", 80), client.now())
    conn.send(b"hello")
    run()
    assert client.host.state_of(conn) is State.ESTABLISHED
    assert bytes(received) == b"hello"


def test_host_drivers_on_a_virtual_clock() -> None:
    clock = VirtualClock()
    net = LiveNetwork(LinkConfig(delay=0.010), clock=clock)
    _handshake_and_hello(net, lambda: clock.run(until=1.0))
    assert clock.time() == 1.0


def test_host_drivers_on_the_simulators_clock() -> None:
    """A Network's clock is a VirtualClock: drivers on it move with the Network."""
    sim = Network()
    net = LiveNetwork(LinkConfig(delay=0.010), clock=sim.clock)
    _handshake_and_hello(net, lambda: sim.run(until=1.0))
    assert sim.now == 1.0


class _TimedHost:
    """Just what HostSchedule reads of a Host: a deadline and handle_timer."""

    def __init__(self, name: str, deadline: float | None, log: list[tuple[str, float]]) -> None:
        self.name = name
        self.deadline = deadline
        self.log = log

    def get_timer(self) -> float | None:
        return self.deadline

    def handle_timer(self, now: float) -> None:
        self.log.append((self.name, now))
        self.deadline = None


def test_host_schedule_runs_due_hosts_in_join_order_and_skips_stale_deadlines() -> None:
    log: list[tuple[str, float]] = []
    a, b, c = (_TimedHost(n, d, log) for n, d in (("a", 2.0), ("b", 1.0), ("c", 3.0)))
    schedule = HostSchedule()
    for host in (a, b, c):
        schedule.add(host)
    assert schedule.take_pending() == [a, b, c]  # a new host may have output
    assert schedule.next_deadline() == 1.0
    b.deadline = 5.0  # b was driven by hand: its old deadline is stale once refreshed
    schedule.refresh(b)
    assert schedule.next_deadline() == 2.0
    assert schedule.run_timers(3.0) == [a, c]  # both due: the order they joined, not time
    assert log == [("a", 3.0), ("c", 3.0)]
    assert schedule.take_pending() == [a, c]
    assert schedule.next_deadline() == 5.0
    assert schedule.run_timers(4.9) == [] and schedule.take_pending() == []
    c.deadline = 4.0  # moved by a user call, noticed only after a refresh
    assert schedule.run_timers(4.5) == []
    schedule.refresh(c)
    assert schedule.run_timers(5.0) == [b, c]
    assert schedule.next_deadline() is None
