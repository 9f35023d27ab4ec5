"""A zero window held for 30 s, then reopened, loses nothing (RFC 9293 3.8.6.1:
the sender probes the closed window and resumes when it opens)."""

from __future__ import annotations

import hashlib
import os

from synack.host import Host
from synack.sim.network import LinkConfig, Network
from synack.tcp.config import TcpConfig

SMALL = TcpConfig(recv_buffer=32_768, msl=1.0)


def test_zero_window_for_30_seconds_then_reopened() -> None:
    net = Network(seed=3, default_link=LinkConfig(delay=0.02))
    client = net.add_host(Host("10.0.0.1", SMALL, secret=b"c" * 16))
    server = net.add_host(Host("10.0.0.2", SMALL, secret=b"s" * 16))
    server.listen(80)
    payload = os.urandom(400_000)
    conn = client.connect(("10.0.0.2", 80), 0.0)
    pending = bytearray(payload)
    received = bytearray()
    windows_seen: set[int] = set()

    def app(network: Network) -> None:
        if pending and conn.state.synchronized:
            taken = conn.send(pending)
            del pending[:taken]
            if not pending:
                conn.close(network.now)
        accepted = server.listeners[80].accept_queue
        peer = accepted[0] if accepted else None
        if peer is not None:
            windows_seen.add(peer.status().rcv_wnd)
            if network.now >= 30.0 and peer.receive_queued:  # it reads after 30 s
                received.extend(peer.receive())

    net.apps.append(app)
    net.run(until=29.0)
    # the receive buffer is full and the window closed: the sender is probing
    assert len(received) == 0
    assert conn.stats.bytes_sent < len(payload)
    assert conn.snd_wnd == 0
    assert 0 in windows_seen
    probes_before = conn.stats.retransmitted_segments + conn.stats.segments_sent
    net.run(until=31.0)
    net.run(until=120.0)
    assert hashlib.sha256(received).digest() == hashlib.sha256(payload).digest()
    assert conn.stats.segments_sent + conn.stats.retransmitted_segments > probes_before
