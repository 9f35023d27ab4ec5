"""Two ways a peer can try to make synack hold or drop what it should not.

TIME-WAIT assassination (RFC 1337): forged or stale RSTs at a TIME-WAIT
record must not end the wait early, and a SYN of an older incarnation (an
older timestamp, RFC 6191) must not reopen it.

A zero window held for an hour: a receiver that never reads keeps its
connection while it answers the probes, costs a bounded amount (a bounded
send buffer, probes backed off to one a minute), and when it falls silent
the connection is given up with a RST and forgotten.
"""

from __future__ import annotations

import tracemalloc

from synack.host import Host
from synack.sim.network import LinkConfig, Network
from synack.tcp.config import TcpConfig
from synack.tcp.state import State
from synack.wire.ip import encode_tcp_packet
from synack.wire.segment import RST, SYN, Segment, Timestamps

CLIENT, SERVER = "10.0.0.1", "10.0.0.2"


def _pair(config: TcpConfig) -> tuple[Network, Host, Host]:
    net = Network(seed=9, default_link=LinkConfig(delay=0.01))
    client = net.add_host(Host(CLIENT, config, secret=b"c" * 16))
    server = net.add_host(Host(SERVER, config, secret=b"s" * 16))
    server.listen(80)
    return net, client, server


def test_time_wait_survives_forged_rsts_and_an_older_syn() -> None:
    config = TcpConfig(msl=30.0)
    net, client, server = _pair(config)
    conn = client.connect((SERVER, 80), 0.0)
    net.run(until=1.0)
    peer = server.listeners[80].accept_queue[0]
    conn.close(net.now)  # the client closes first: it will hold TIME-WAIT
    net.run(until=1.5)
    peer.close(net.now)
    net.run(until=2.0)
    assert client.state_of(conn) is State.TIME_WAIT and client.time_wait_count == 1
    lport, rcv_nxt = conn.local[1], conn.rcv_nxt
    ts_recent = conn.ts_recent

    def forged(seg: Segment) -> None:
        client.receive_packet(encode_tcp_packet(peer.local[0], conn.local[0], seg), net.now)
        net.touch(client)

    for offset in (0, 1, 100, 5000, -1):  # at RCV.NXT, in the window, below it
        forged(Segment(80, lport, (rcv_nxt + offset) & 0xFFFFFFFF, 0, RST, 0))
    # an old incarnation's SYN: a higher sequence number, an older timestamp
    old_ts = (Timestamps((ts_recent - 1000) & 0xFFFFFFFF, 0),)
    forged(Segment(80, lport, (rcv_nxt + 10_000) & 0xFFFFFFFF, 0, SYN, 65535, options=old_ts))
    net.run(until=10.0)
    assert client.time_wait_count == 1  # RFC 1337: no RST ended it; RFC 6191: no reopen
    assert client.state_of(conn) is State.TIME_WAIT
    net.run(until=2.0 + 2 * config.msl + 1)
    assert client.time_wait_count == 0  # it ends by the clock, 2 MSL after it began


def test_a_zero_window_held_for_an_hour_is_kept_then_given_up_when_silent() -> None:
    config = TcpConfig(recv_buffer=32768, send_buffer=65536, msl=1.0)
    net, client, server = _pair(config)
    conn = client.connect((SERVER, 80), 0.0)
    net.run(until=1.0)
    queued = 0
    tracemalloc.start()
    try:
        while conn.send_space:  # the application writes more than can go
            queued += conn.send(b"x" * 10_000)
        net.run(until=60.0)
        before = tracemalloc.get_traced_memory()[0]
        net.run(until=3600.0)  # an hour; the server never reads, and answers probes
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert queued == config.send_buffer  # the send buffer bounds what we hold
    assert conn.state is State.ESTABLISHED and conn.snd_wnd == 0
    assert conn.stats.timeouts == 0 and conn.stats.fast_retransmits == 0
    assert after - before < 200_000  # nothing grows with the hour (probes, not data)
    probes = conn.stats.segments_sent
    # the receiver goes silent: every packet toward the client is lost from now on
    net.set_link(server, client, LinkConfig(delay=0.01, loss=1.0))
    net.run(until=3600.0 + 16 * 61)
    assert client.state_of(conn) is State.CLOSED and not client.connections
    assert conn.stats.segments_sent - probes >= config.persist_max_probes
