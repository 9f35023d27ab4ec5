"""Transports that closed wait for their connection to be done (TIME-WAIT or
CLOSED) before ``connection_lost``. A flush checks those with an event since
the last flush and at most FINISHING_SWEEP of the others in turn, so a peer
that leaves many connections half-closed (FIN-WAIT-2, its FIN never sent)
does not make every flush look at all of them; a connection that reaches
TIME-WAIT with no event of its own (a simultaneous close: CLOSING, then the
ACK of our FIN) is still found."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from _aio_peer import RecordingDriver, exchange, turns

from synack.aio import Stack, TcpTransport
from synack.aio.stack import FINISHING_SWEEP
from synack.host import Host
from synack.tcp.state import State

PORT = 7
SILENT = 3 * FINISHING_SWEEP  # half-closed connections whose peer never closes


class Closer(asyncio.Protocol):
    """Closes its connection as soon as it has it; notes when it is lost."""

    def __init__(self) -> None:
        self.transport: Any = None
        self.lost = False

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True


async def _half_closed(count: int) -> tuple[RecordingDriver, Host, Stack, list[Closer]]:
    """``count`` connections the server has closed and the peer has not:
    FIN-WAIT-2 on the server's side, each transport waiting."""
    server, peer = Host("10.0.0.2"), Host("10.0.0.1")
    driver = RecordingDriver(server)
    stack = Stack(driver)
    closers: list[Closer] = []

    def factory() -> Closer:
        closers.append(Closer())
        return closers[-1]

    await stack.create_server(factory, None, PORT, backlog=count + 1)
    for _ in range(count):
        peer.connect(("10.0.0.2", PORT), driver.now())
    await exchange(driver, peer)
    assert len(closers) == count
    assert {c.transport.conn.state for c in closers} == {State.FIN_WAIT_2}
    return driver, peer, stack, closers


def test_a_flush_checks_a_bounded_number_of_waiting_transports(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checked: list[TcpTransport] = []
    check = TcpTransport.check_finished

    def counted(self: TcpTransport) -> None:
        checked.append(self)
        check(self)

    async def main() -> None:
        driver, _, _, closers = await _half_closed(SILENT)
        monkeypatch.setattr(TcpTransport, "check_finished", counted)
        for _ in range(3):
            driver.flush()
        # FINISHING_SWEEP each, in turn: three flushes see every one once
        assert len(checked) == 3 * FINISHING_SWEEP
        assert len(set(checked)) == SILENT
        assert not any(c.lost for c in closers)
        driver.close()

    asyncio.run(main())


def test_a_simultaneous_close_among_many_waiting_is_lost_once_in_time_wait() -> None:
    async def main() -> None:
        driver, peer, _, closers = await _half_closed(SILENT)
        # one more connection: the server closes as the peer does, their
        # FINs cross (RFC 9293 3.6, figure 13)
        conn = peer.connect(("10.0.0.2", PORT), driver.now())
        driver.receive(peer.packets_to_send(driver.now()))  # SYN
        await turns()
        for packet in driver.take():  # SYN,ACK
            peer.receive_packet(packet, driver.now())
        driver.receive(peer.packets_to_send(driver.now()))  # ACK: accepted, closed
        await turns()
        (server_fin,) = driver.take()
        conn.close(driver.now())
        peer_fin = peer.packets_to_send(driver.now())
        peer.receive_packet(server_fin, driver.now())  # the peer: CLOSING
        driver.receive(peer_fin)
        await turns()
        closing = closers[-1]
        assert closing.transport.conn.state is State.CLOSING
        assert not closing.lost
        # the ACK of our FIN: TIME-WAIT with no event for the transport, but
        # the Host lets the connection go, and the flush after it sees that
        # (no turn of the sweep needed: an idle stack has no more flushes)
        driver.receive(peer.packets_to_send(driver.now()))
        await turns()
        assert closing.lost
        assert driver.host.state_of(closing.transport.conn) is State.TIME_WAIT
        assert not any(c.lost for c in closers[:-1])
        driver.close()

    asyncio.run(main())
