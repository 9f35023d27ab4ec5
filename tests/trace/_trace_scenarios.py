"""Small traces for the drawing tests: a client and a server on a simulated link.

Built here (not with ``synack.demo``) so the drawing tests do not move when
the demo's story changes.
"""

from __future__ import annotations

from synack.host import Host
from synack.sim.network import LinkConfig, Network, segment_matcher
from synack.tcp.config import TcpConfig
from synack.tcp.events import DataReceived, EndOfStream
from synack.tcp.isn import FixedIsn
from synack.trace.records import TraceRecorder

CLIENT_ISN = 4321
SERVER_ISN = 1000
REQUEST = b"hello, synack\n"
REPLY = b"hello, client\n"


def conversation(
    link: LinkConfig | None = None,
    seed: int = 1,
    drop_first: str | None = None,
    msl: float = 1.0,
) -> TraceRecorder:
    """Handshake, one request and one reply, the client closes first.

    ``drop_first`` loses the first segment from the server with those tcpdump
    flags (``"S."``: the first SYN,ACK), so the client's SYN times out.
    """
    recorder = TraceRecorder()
    config = TcpConfig(msl=msl)
    client = Host("10.0.0.1", config, recorder.endpoint("client"), isn=FixedIsn(CLIENT_ISN))
    server = Host("10.0.0.2", config, recorder.endpoint("server"), isn=FixedIsn(SERVER_ISN))
    net = Network(seed=seed, default_link=link or LinkConfig(delay=0.010))
    net.add_host(client)
    net.add_host(server)
    net.taps.append(recorder.packet_tap({client: "client", server: "server"}))
    if drop_first is not None:
        net.drop(segment_matcher(src=server, flags=drop_first))
    server.listen(80)
    conn = client.connect(("10.0.0.2", 80), net.now)
    conn.send(REQUEST)
    got_client = bytearray()
    got_server = bytearray()
    replied = closed = False
    while net.step() and net.now < 600:
        while (ev := server.next_event()) is not None:
            peer = ev.connection
            if isinstance(ev.event, DataReceived):
                got_server += peer.receive()
                if got_server.endswith(b"\n") and not replied:
                    replied = True
                    peer.send(REPLY)
            elif isinstance(ev.event, EndOfStream):
                peer.close()
        while (ev := client.next_event()) is not None:
            if isinstance(ev.event, DataReceived):
                got_client += conn.receive()
                if got_client.endswith(b"\n") and not closed:
                    closed = True
                    conn.close()
    assert bytes(got_server) == REQUEST and bytes(got_client) == REPLY, "the story did not finish"
    return recorder
