"""Host.crash: every connection lost at once, nothing sent (RFC 9293 3.5's half-open)."""

from __future__ import annotations

from synack.host import Host
from synack.tcp.state import State


def test_crash_forgets_every_connection_and_sends_nothing() -> None:
    client, server = Host("10.0.0.1"), Host("10.0.0.2")
    server.listen(80)
    conn = client.connect(("10.0.0.2", 80), 0.0)
    for now in (0.0, 0.01, 0.02):  # SYN, SYN,ACK, ACK
        for packet in client.packets_to_send(now):
            server.receive_packet(packet, now)
        for packet in server.packets_to_send(now):
            client.receive_packet(packet, now)
    assert conn.state is State.ESTABLISHED and len(server.connections) == 1
    assert client.crash(1.0) == 1
    assert client.connections == {} and client.packets_to_send(1.0) == []
    assert client.state_of(conn) is State.CLOSED and client.get_timer() is None
    # the server still thinks it is connected: half-open
    assert next(iter(server.connections.values())).state is State.ESTABLISHED
    assert 80 in server.listeners and client.crash(2.0) == 0
