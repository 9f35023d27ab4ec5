"""The driver loop (synack.driver) on a virtual clock: no asyncio, no wall time."""

from __future__ import annotations

from collections.abc import Callable

from synack.driver import VirtualClock
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
