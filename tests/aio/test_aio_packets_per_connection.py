"""What a Stack server puts on the wire for connections in flight at once,
segment by segment: the FIN of a close that answers the peer's FIN carries
the ACK of that FIN (one segment, as a kernel server sends it), even when the
FINs of several connections arrive in one batch and their handlers close one
after another. A close used to flush the driver's output at once, so the
first handler's close sent bare ACKs of the other connections' FINs before
their own closes could carry them (issue 16: one packet more a connection in
the TUN lab)."""

from __future__ import annotations

import asyncio

from _aio_peer import RecordingDriver, exchange, segments, turns

from synack.aio import Stack
from synack.host import Host
from synack.wire.segment import ACK, FIN, PSH, SYN, Segment

PORT = 7


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
    writer.close()


async def _run(count: int) -> tuple[list[Segment], list[Segment]]:
    """``count`` connections from a peer Host, each echoing one byte; then the
    peer closes them all and their FINs reach the server in one batch. The
    server's segments before the FINs, and after them."""
    server, peer = Host("10.0.0.2"), Host("10.0.0.1")
    driver = RecordingDriver(server)
    stack = Stack(driver)
    await stack.start_server(_echo, None, PORT)
    conns = [peer.connect(("10.0.0.2", PORT), driver.now()) for _ in range(count)]
    before = await exchange(driver, peer)  # the handshakes
    for conn in conns:
        conn.send(b"x")
    before += await exchange(driver, peer)  # the echoes
    assert [conn.receive() for conn in conns] == [b"x"] * count
    for conn in conns:
        conn.close(driver.now())
    fins = peer.packets_to_send(driver.now())
    assert [seg.flags for seg in segments(fins)] == [FIN | ACK] * count
    driver.receive(fins)  # every FIN in one batch
    await turns()
    after = driver.take()
    driver.close()
    return segments(before), segments(after)


def test_the_fin_of_each_close_carries_the_ack_of_the_peers_fin() -> None:
    count = 4
    before, after = asyncio.run(_run(count))
    ports = sorted({seg.dst_port for seg in before})
    assert len(ports) == count
    for port in ports:
        syn_ack, echo = [seg for seg in before if seg.dst_port == port]
        assert (syn_ack.flags, echo.flags, echo.payload) == (SYN | ACK, PSH | ACK, b"x")
        # one segment after the FIN: our FIN, after the echo, acknowledging
        # the peer's byte and its FIN (RFC 9293 3.6: CLOSE in CLOSE-WAIT)
        (fin,) = [seg for seg in after if seg.dst_port == port]
        assert fin.flags == FIN | ACK
        assert fin.payload == b""
        assert fin.seq == (syn_ack.seq + 2) % 2**32
        assert fin.ack == (syn_ack.ack + 2) % 2**32
    assert len(after) == count
