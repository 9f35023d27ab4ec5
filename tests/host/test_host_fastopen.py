"""TCP Fast Open through Hosts (RFC 7413): the listener's queue, the client's
cookie cache, connect with data, and the events an application sees."""

from __future__ import annotations

from ipaddress import ip_address

from synack.host import Host
from synack.tcp.config import TcpConfig
from synack.tcp.events import Connected, DataReceived
from synack.tcp.fastopen import make_cookie
from synack.tcp.isn import FixedIsn
from synack.tcp.state import State
from synack.wire.segment import ACK, NOP, PSH, RST, SYN, FastOpen, MaxSegmentSize, Segment

CLIENT_ADDR = ip_address("10.0.0.1")
SERVER_ADDR = ip_address("10.0.0.2")
KEY = "a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4"
CONFIG = TcpConfig(
    window_scaling=False, timestamps=False, sack=False, delayed_ack=False, mss=1460,
    fastopen_client=True, fastopen_server=True, fastopen_key=KEY,
    fastopen_cookie_algorithm="siphash",
)  # fmt: skip
COOKIE = make_cookie(
    "siphash", bytes.fromhex("a1a1a1a1b2b2b2b2c3c3c3c3d4d4d4d4"), CLIENT_ADDR.packed,
    SERVER_ADDR.packed,
)  # fmt: skip
MSS = (MaxSegmentSize(1460),)


def hosts(fastopen: int = 16) -> tuple[Host, Host]:
    client = Host(CLIENT_ADDR, CONFIG, isn=FixedIsn(1000))
    server = Host(SERVER_ADDR, CONFIG, isn=FixedIsn(5000))
    server.listen(80, fastopen=fastopen)
    return client, server


def step(src: Host, dst: Host, now: float) -> list[Segment]:
    """Move what ``src`` has to send over to ``dst``; what went."""
    moved = src.segments_to_send(now)
    for s, d, seg in moved:
        dst.receive_segment(s, d, seg, now)
    return [seg for _, _, seg in moved]


def drain(host: Host) -> list[object]:
    found = []
    while (ev := host.next_event()) is not None:
        found.append(ev.event)
    return found


def test_first_connection_gets_a_cookie_second_sends_data_in_the_syn() -> None:
    client, server = hosts()
    conn = client.connect((SERVER_ADDR, 80), 0.0, local_port=40000, fastopen=True)
    [syn] = step(client, server, 0.0)
    assert syn.options == (*MSS, FastOpen(), NOP, NOP) and syn.payload == b""
    [synack] = step(server, client, 0.01)
    assert synack.options == (*MSS, FastOpen(COOKIE), NOP, NOP)
    assert client.fastopen_cache.cookie(SERVER_ADDR) == COOKIE
    step(client, server, 0.02)
    assert server.accept(80) is not None and conn.state is State.ESTABLISHED
    assert drain(server) == [Connected()]

    conn = client.connect((SERVER_ADDR, 80), 1.0, local_port=40001, fastopen=True, data=b"hello")
    [syn] = step(client, server, 1.0)
    assert (syn.flags, syn.seq, syn.payload) == (SYN, 1000, b"hello")
    assert syn.options == (*MSS, FastOpen(COOKIE), NOP, NOP)
    # RFC 7413 4.2.2: in the accept queue before the handshake completes, data readable
    accepted = server.accept(80)
    assert accepted is not None and accepted.state is State.SYN_RECEIVED
    assert drain(server) == [DataReceived(5)]
    assert accepted.receive() == b"hello"
    assert accepted.stats.syn_data_acked
    accepted.send(b"world")  # the answer goes before the third ACK
    assert [(s.flags, s.ack, s.payload) for s in step(server, client, 1.01)] == [
        (SYN | ACK, 1006, b""), (ACK | PSH, 1006, b"world"),
    ]  # fmt: skip
    assert conn.stats.syn_data_acked
    assert conn.receive() == b"world"
    step(client, server, 1.02)
    assert accepted.state is State.ESTABLISHED
    assert drain(server) == [Connected()]
    assert server.stats.fastopen_accepted == 1


def test_listener_without_a_fast_open_queue_ignores_it() -> None:
    client, server = hosts(fastopen=0)
    client.fastopen_cache.store(SERVER_ADDR, COOKIE, 1460, False)
    client.connect((SERVER_ADDR, 80), 0.0, local_port=40000, fastopen=True, data=b"hi")
    [syn] = step(client, server, 0.0)
    assert syn.payload == b"hi"
    [synack] = step(server, client, 0.01)
    assert (synack.ack, synack.options) == (1001, MSS)  # only the SYN, no cookie
    assert server.accept(80) is None
    [data] = step(client, server, 0.02)  # RFC 7413 4.2.1: the data again, after the handshake
    assert (data.flags, data.seq, data.payload) == (ACK | PSH, 1001, b"hi")


def test_full_fast_open_queue_falls_back() -> None:
    client, server = hosts(fastopen=1)
    client.fastopen_cache.store(SERVER_ADDR, COOKIE, 1460, False)
    client.connect((SERVER_ADDR, 80), 0.0, local_port=40000, fastopen=True, data=b"a")
    client.connect((SERVER_ADDR, 80), 0.0, local_port=40001, fastopen=True, data=b"b")
    step(client, server, 0.0)
    acks = sorted((s.dst_port, s.ack) for _, _, s in server.segments_to_send(0.01))
    assert acks == [(40000, 1002), (40001, 1001)]  # the second SYN's data was not taken
    assert server.stats.fastopen_queue_full == 1


def test_key_rotation_keeps_old_cookies() -> None:
    client, server = hosts()
    client.fastopen_cache.store(SERVER_ADDR, COOKIE, 1460, False)
    server.fastopen_cookies.rotate(bytes(16))
    client.connect((SERVER_ADDR, 80), 0.0, local_port=40000, fastopen=True, data=b"x")
    step(client, server, 0.0)
    [synack] = step(server, client, 0.01)
    fresh = server.fastopen_cookies.make(CLIENT_ADDR.packed, SERVER_ADDR.packed)
    assert synack.ack == 1002 and synack.options == (*MSS, FastOpen(fresh), NOP, NOP)
    assert client.fastopen_cache.cookie(SERVER_ADDR) == fresh


def test_fast_open_needs_the_client_switch() -> None:
    client = Host(CLIENT_ADDR, TcpConfig(fastopen_client=False), isn=FixedIsn(1))
    conn = client.connect((SERVER_ADDR, 80), 0.0, fastopen=True, data=b"x")
    assert conn.fastopen is None
    [(_, _, syn)] = client.segments_to_send(0.0)
    assert syn.fastopen is None and syn.payload == b""


def test_deferred_connect_sends_nothing_until_data() -> None:
    client, _ = hosts()
    client.fastopen_cache.store(SERVER_ADDR, COOKIE, 1460, False)
    conn = client.connect((SERVER_ADDR, 80), 0.0, local_port=40000, fastopen=True, defer=True)
    assert client.segments_to_send(0.0) == []
    conn.send(b"late")
    [(_, _, syn)] = client.segments_to_send(0.5)
    assert syn.payload == b"late" and syn.fastopen == FastOpen(COOKIE)


def test_closing_the_listener_resets_the_children_never_accepted() -> None:
    # RFC 7413 4.2.2: a Fast Open child is in the accept queue from its SYN on;
    # the application closing the listener will never take it, so it is
    # aborted with a RST (RFC 9293 3.10.5), as Linux's inet_csk_listen_stop does
    client, server = hosts()
    client.fastopen_cache.store(SERVER_ADDR, COOKIE, 1460, False)
    conn = client.connect((SERVER_ADDR, 80), 0.0, local_port=40000, fastopen=True, data=b"hi")
    step(client, server, 0.0)
    [synack] = step(server, client, 0.01)
    assert synack.ack == 1003
    server.close_listener(80, 0.1)
    [rst] = step(server, client, 0.1)
    assert (rst.flags, rst.seq, rst.ack) == (RST, 5001, 0)
    assert conn.state is State.CLOSED
    assert server.connections == {}
