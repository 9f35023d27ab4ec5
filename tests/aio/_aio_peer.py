"""A Stack on a driver whose output is kept, and a peer Host driven by hand:
tests see every segment the Stack's Host sends, and choose what arrives in
one batch."""

from __future__ import annotations

import asyncio

from synack.driver import HostDriver
from synack.host import Host
from synack.wire.ip import parse_tcp_packet
from synack.wire.segment import Segment


class RecordingDriver(HostDriver):
    """A Host on the running loop whose output is kept until taken."""

    def __init__(self, host: Host) -> None:
        super().__init__(host)
        self.out: list[bytes] = []

    def transmit(self, packets: list[bytes]) -> None:
        self.out.extend(packets)

    def take(self) -> list[bytes]:
        out, self.out = self.out, []
        return out


async def turns(n: int = 10) -> None:
    """Let the loop run: handlers, then the driver's flush."""
    for _ in range(n):
        await asyncio.sleep(0)


def segments(packets: list[bytes]) -> list[Segment]:
    return [parse_tcp_packet(packet)[2] for packet in packets]


async def exchange(driver: RecordingDriver, peer: Host) -> list[bytes]:
    """The peer's output to the driver's Host in one batch, and its answer back,
    until both are quiet. Returns what the driver's Host sent."""
    sent: list[bytes] = []
    while True:
        packets = peer.packets_to_send(driver.now())
        if packets:
            driver.receive(packets)
        await turns()
        answer = driver.take()
        if not packets and not answer:
            return sent
        sent.extend(answer)
        for packet in answer:
            peer.receive_packet(packet, driver.now())
