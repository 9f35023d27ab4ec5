"""Blind injection (RFC 5961): an off-path attacker who knows the 4-tuple but
not the sequence numbers sends RSTs, SYNs and data with guessed numbers, many
of them inside the window, while a transfer runs on the simulated network.

What must hold: the connection survives, every byte arrives exactly as sent
(nothing injected), the challenge ACKs stay within RFC 5961 7's rate limit,
and every forged segment is accounted for (dropped and counted, or answered
with a challenge ACK). Outcomes only, never wall time.
"""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import Callable

import pytest

from synack.host import Host
from synack.sim.network import LinkConfig, Network
from synack.tcp.config import TcpConfig
from synack.tcp.connection import Connection
from synack.tcp.state import State
from synack.wire import seq as sq
from synack.wire.ip import encode_tcp_packet
from synack.wire.segment import ACK, PSH, RST, SYN, Segment

CONFIG = TcpConfig(msl=1.0, recv_buffer=65536, challenge_ack_limit=100)
CLIENT, SERVER = "10.0.0.1", "10.0.0.2"
PAYLOAD = os.urandom(2_000_000)
FORGED_PER_STEP = 20

Forge = Callable[[random.Random, Connection], Segment]


def _in_window(rng: random.Random, conn: Connection) -> int:
    """A guess inside the server's receive window, but not RCV.NXT itself."""
    return sq.add(conn.rcv_nxt, rng.randrange(1, max(conn.status().rcv_wnd, 2)))


def _rst(rng: random.Random, conn: Connection) -> Segment:
    seq = _in_window(rng, conn) if rng.random() < 0.5 else rng.getrandbits(32)
    return Segment(conn.remote[1], conn.local[1], seq, 0, RST, 0)  # type: ignore[index]


def _syn(rng: random.Random, conn: Connection) -> Segment:
    seq = _in_window(rng, conn) if rng.random() < 0.5 else rng.getrandbits(32)
    return Segment(conn.remote[1], conn.local[1], seq, 0, SYN, 65535)  # type: ignore[index]


def _data(rng: random.Random, conn: Connection) -> Segment:
    """In-window data with a guessed acknowledgment number: RFC 5961 5.2 rejects
    an ACK outside [SND.UNA - MAX.SND.WND, SND.NXT]."""
    return Segment(
        conn.remote[1], conn.local[1], _in_window(rng, conn), rng.getrandbits(32),  # type: ignore[index]
        ACK | PSH, 65535, payload=b"INJECTED" * 8,
    )  # fmt: skip


@pytest.mark.parametrize("forge", [_rst, _syn, _data], ids=["rst", "syn", "data"])
def test_blind_injection_kills_nothing_and_injects_nothing(forge: Forge) -> None:
    net = Network(seed=5, default_link=LinkConfig(delay=0.01))
    client = net.add_host(Host(CLIENT, CONFIG, secret=b"c" * 16))
    server = net.add_host(Host(SERVER, CONFIG, secret=b"s" * 16))
    server.listen(80)
    conn = client.connect((SERVER, 80), 0.0)
    pending = bytearray(PAYLOAD)
    received = bytearray()
    rng = random.Random(11)
    forged = 0

    def app(network: Network) -> None:
        nonlocal forged
        if pending and conn.state is State.ESTABLISHED:
            del pending[: conn.send(pending)]
            if not pending:
                conn.close(network.now)
        queue = server.listeners[80].accept_queue
        victim = queue[0] if queue else None
        if victim is None:
            return
        if victim.receive_queued:
            received.extend(victim.receive())
        if victim.at_eof and victim.state is State.CLOSE_WAIT:
            victim.close(network.now)
        if victim.state is State.ESTABLISHED and network.now < 20.0:
            for _ in range(FORGED_PER_STEP):  # the attacker, spoofing the client
                seg = forge(rng, victim)
                packet = encode_tcp_packet(victim.remote[0], victim.local[0], seg)  # type: ignore[index]
                server.receive_packet(packet, network.now)
                forged += 1
            network.touch(server)

    net.apps.append(app)
    net.run(until=120.0)
    victim = server.listeners[80].accept_queue[0]
    assert forged >= 2000
    assert hashlib.sha256(received).digest() == hashlib.sha256(PAYLOAD).digest()
    assert client.state_of(conn) in (State.TIME_WAIT, State.CLOSED)
    # every forged segment was dropped and counted by the victim
    assert (victim.stats.dropped_reasons or {}) and victim.stats.dropped >= forged - 50
    # RFC 5961 7: at most challenge_ack_limit challenge ACKs in any second
    seconds = 20.0 + 1
    assert victim.stats.challenge_acks <= CONFIG.challenge_ack_limit * seconds
