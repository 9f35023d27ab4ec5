"""The first ``synack demo``: a client and a server in memory.

The client opens a connection (3-way handshake), sends a line, the server
answers, the client closes first (4-way handshake) and waits in TIME-WAIT
for 2 x MSL. Everything runs on the simulated network's virtual clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from synack.host import Host
from synack.sim.network import LinkConfig, Network
from synack.tcp.config import TcpConfig
from synack.tcp.events import ConnectionClosed, DataReceived, EndOfStream
from synack.tcp.isn import FixedIsn, Rfc6528Isn
from synack.trace.records import TraceRecorder

CLIENT_ADDRESS = "10.0.0.1"
SERVER_ADDRESS = "10.0.0.2"
SERVER_PORT = 80
REQUEST = b"hello, synack\n"
REPLY = b"hello, client\n"


@dataclass(frozen=True)
class DemoResult:
    recorder: TraceRecorder
    client_received: bytes
    server_received: bytes
    end_time: float


def run_demo(
    isn_client: int | None = None,
    isn_server: int | None = None,
    msl: float = 120.0,
    delay: float = 0.010,
    seed: int = 1,
) -> DemoResult:
    recorder = TraceRecorder()
    config = TcpConfig(msl=msl)
    secret = seed.to_bytes(16, "big")  # reproducible RFC 6528 ISNs for a given seed
    client = Host(
        CLIENT_ADDRESS, config, recorder.endpoint("client"),
        isn=FixedIsn(isn_client) if isn_client is not None else Rfc6528Isn(secret + b"c"),
        secret=secret,
    )  # fmt: skip
    server = Host(
        SERVER_ADDRESS, config, recorder.endpoint("server"),
        isn=FixedIsn(isn_server) if isn_server is not None else Rfc6528Isn(secret + b"s"),
        secret=secret,
    )  # fmt: skip
    net = Network(seed=seed, default_link=LinkConfig(delay=delay))
    net.add_host(client)
    net.add_host(server)
    net.taps.append(recorder.packet_tap({client: "client", server: "server"}))
    server.listen(SERVER_PORT)

    conn = client.connect((SERVER_ADDRESS, SERVER_PORT), net.now)
    conn.send(REQUEST)
    client_received = bytearray()
    server_received = bytearray()
    while net.step():
        while (ev := server.next_event()) is not None:
            peer = ev.connection
            if isinstance(ev.event, DataReceived):
                server_received += peer.receive()
                if server_received.endswith(b"\n"):
                    peer.send(REPLY)
            elif isinstance(ev.event, EndOfStream):
                peer.close()  # the passive close: CLOSE-WAIT -> LAST-ACK
        while (ev := client.next_event()) is not None:
            if isinstance(ev.event, DataReceived):
                client_received += conn.receive()
                if client_received.endswith(b"\n"):
                    conn.close()  # the active close: FIN-WAIT-1
            elif isinstance(ev.event, ConnectionClosed):
                pass
    return DemoResult(recorder, bytes(client_received), bytes(server_received), net.now)
