"""Transfers under random loss, duplication and reordering, over 200 seeds.

Each seed draws its own link (delay, loss up to 15 %, duplication up to
15 %, reordering up to 40 %), its own ISNs, payload sizes of 20-50 KB each
way, and how each side ends: ``shutdown`` (half-close as soon as its data is
queued) or ``close`` (full CLOSE once its data is queued and the peer's end
of stream has been read). For every seed, every byte must arrive exactly
once and in order in both directions, nobody may see a reset or an abort,
and both ends must reach CLOSED with the network idle within 2 MSL + 600 s
of virtual time.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from _roundtrip_harness import PORT, App, Pair

from synack.sim.network import LinkConfig
from synack.tcp.config import TcpConfig
from synack.tcp.events import Connected, ConnectionAborted, ConnectionReset

# TIME-WAIT must outlast the peer's retransmissions of its FIN: if the last
# ACK is lost and the LAST-ACK side's RTO exceeds 2 MSL, its FIN meets a closed
# port and draws a RST (correct TCP, see test_roundtrip's short TIME-WAIT test).
# A small MSL with RTOs capped well below 2 MSL keeps virtual time short.
MSL = 30.0
BOUND = 2 * MSL + 600.0
CONFIG = TcpConfig(msl=MSL, rto_max=10.0)


def ending(app: App, mode: str) -> Callable[[App], None]:
    """Arrange how ``app`` ends; returns the callback for when its data is all queued."""
    if mode == "shutdown":
        return lambda a: a.conn.shutdown_write()
    done = {"sent": False, "closed": False}

    def maybe_close(a: App) -> None:
        if done["sent"] and a.eof and not done["closed"]:
            done["closed"] = True
            a.conn.close()

    def sent(a: App) -> None:
        done["sent"] = True
        maybe_close(a)

    app.on_eof = maybe_close
    return sent


@pytest.mark.parametrize("seed", range(200))
def test_transfer_under_faults(seed: int) -> None:
    rng = random.Random(seed)
    link = LinkConfig(
        delay=rng.uniform(0.001, 0.05),
        loss=rng.uniform(0.0, 0.15),
        duplicate=rng.uniform(0.0, 0.15),
        reorder=rng.uniform(0.0, 0.40),
        reorder_delay=rng.uniform(0.001, 0.05),
    )
    up = rng.randbytes(rng.randint(20_000, 50_000))
    down = rng.randbytes(rng.randint(20_000, 50_000))
    client_mode = rng.choice(["shutdown", "close"])
    server_mode = "shutdown" if client_mode == "close" else rng.choice(["shutdown", "close"])
    pair = Pair(
        CONFIG,
        client_isn=rng.getrandbits(32),
        server_isn=rng.getrandbits(32),
        link=link,
        seed=seed,
    )
    pair.connect()
    pair.capp.write(up, then=ending(pair.capp, client_mode))
    accepted = []

    def accept() -> bool:
        conn = pair.server.accept(PORT)
        if conn is not None:
            accepted.append(conn)
        return bool(accepted)

    pair.run_until(accept, timeout=BOUND)  # the server writes once it has accepted
    assert pair.sapp.conn is accepted[0] and Connected in pair.sapp.event_types()
    pair.sapp.write(down, then=ending(pair.sapp, server_mode))
    pair.net.run(until=BOUND)
    pair.pump()

    context = f"seed {seed}: {link}, {client_mode}/{server_mode}"
    assert pair.net.next_time() is None, f"still busy at {BOUND} s; {context}"
    assert bytes(pair.sapp.received) == up, context
    assert bytes(pair.capp.received) == down, context
    for app in (pair.capp, pair.sapp):
        bad = [e for e in app.events if isinstance(e, ConnectionReset | ConnectionAborted)]
        assert not bad, f"{app.name}: {bad}; {context}"
        assert app.eof, context
    for name in ("client", "server"):
        life, *strays = pair.lives(name)
        assert life[-1] == "CLOSED" and life.count("ESTABLISHED") == 1, f"{life}; {context}"
        # Late duplicates of the last ACK may reach the listener after the
        # connection closed: a fresh LISTEN connection answers each with RST.
        assert all(stray == ["CLOSED", "LISTEN"] for stray in strays), f"{strays}; {context}"
        assert not strays or name == "server"
    pair.assert_all_closed()
