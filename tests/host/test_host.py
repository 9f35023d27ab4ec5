"""Host: demultiplexing, listeners and backlog, RST for strays, ports, TIME-WAIT records."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from synack.host import Host
from synack.tcp.config import TcpConfig
from synack.tcp.errors import TcpError
from synack.tcp.events import Connected
from synack.tcp.isn import FixedIsn
from synack.tcp.state import State
from synack.wire.ip import decode_tcp_packet, encode_tcp_packet
from synack.wire.segment import ACK, FIN, RST, SYN, Segment

US = ip_address("10.0.0.2")
THEM = ip_address("10.0.0.1")
PLAIN = TcpConfig(window_scaling=False, timestamps=False, sack=False, delayed_ack=False, msl=1.0)


def inject(host: Host, seg: Segment, now: float = 0.0, src=THEM, dst=US) -> list[Segment]:
    """Deliver ``seg`` from ``src`` and return the segments the host answers with."""
    host.receive_packet(encode_tcp_packet(src, dst, seg), now)
    return [decode_tcp_packet(p)[1] for p in host.packets_to_send(now)]


def handshake(host: Host, sport: int, isn: int = 100, now: float = 0.0) -> Segment:
    (synack,) = inject(host, Segment(sport, 80, isn, 0, SYN, 65535), now)
    assert synack.flags == SYN | ACK and synack.ack == isn + 1
    assert inject(host, Segment(sport, 80, isn + 1, synack.seq + 1, ACK, 65535), now) == []
    return synack


@pytest.fixture
def server() -> Host:
    host = Host(US, PLAIN, isn=FixedIsn(5000))
    host.listen(80, backlog=2)
    return host


def test_syn_to_closed_port_gets_rst_ack() -> None:
    host = Host(US, PLAIN)
    replies = inject(host, Segment(1234, 81, 700, 0, SYN, 65535))
    # RFC 9293 3.10.7.1: no ACK in the segment -> <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
    assert replies == [Segment(81, 1234, 0, 701, RST | ACK, 0)]
    assert host.stats.resets_sent == 1


def test_ack_to_closed_port_gets_rst_from_its_ack() -> None:
    host = Host(US, PLAIN)
    replies = inject(host, Segment(1234, 81, 700, 9999, ACK, 65535, payload=b"abc"))
    assert replies == [Segment(81, 1234, 9999, 0, RST, 0)]


def test_rst_to_closed_port_is_never_answered() -> None:
    host = Host(US, PLAIN)
    assert inject(host, Segment(1234, 81, 700, 0, RST, 0)) == []
    assert inject(host, Segment(1234, 81, 700, 5, RST | ACK, 0)) == []
    assert host.stats.resets_sent == 0


def test_ack_to_listener_gets_rst(server: Host) -> None:
    assert inject(server, Segment(1234, 80, 700, 4242, ACK, 65535)) == [
        Segment(80, 1234, 4242, 0, RST, 0)
    ]
    assert server.connections == {}


def test_rst_to_listener_is_ignored(server: Host) -> None:
    assert inject(server, Segment(1234, 80, 700, 0, RST, 0)) == []
    assert server.connections == {}


def test_handshake_fills_accept_queue(server: Host) -> None:
    synack = handshake(server, 1234)
    assert synack.seq == 5000
    conn = server.accept(80)
    assert conn is not None and conn.state is State.ESTABLISHED
    assert conn.remote == (THEM, 1234)
    assert server.accept(80) is None
    event = server.next_event()
    assert event is not None and event.connection is conn and event.event == Connected()


def test_demultiplexes_by_four_tuple(server: Host) -> None:
    handshake(server, 1111, isn=100)
    handshake(server, 2222, isn=900)
    first, second = server.accept(80), server.accept(80)
    assert first is not None and second is not None
    inject(server, Segment(2222, 80, 901, 5001, ACK | FIN, 65535, payload=b"two"))
    inject(server, Segment(1111, 80, 101, 5001, ACK, 65535, payload=b"one"))
    assert first.receive() == b"one"
    assert second.receive() == b"two"
    assert (first.state, second.state) == (State.ESTABLISHED, State.CLOSE_WAIT)


def test_backlog_bounds_syn_queue(server: Host) -> None:
    server.syn_cookies = "never"  # Linux's tcp_syncookies=0: a full queue drops SYNs
    inject(server, Segment(1, 80, 10, 0, SYN, 65535))
    inject(server, Segment(2, 80, 20, 0, SYN, 65535))
    assert inject(server, Segment(3, 80, 30, 0, SYN, 65535)) == []  # dropped, not refused
    assert server.stats.syns_dropped_backlog == 1
    assert len(server.listeners[80].syn_queue) == 2


def test_rst_in_syn_received_frees_the_backlog_slot(server: Host) -> None:
    (synack,) = inject(server, Segment(1, 80, 10, 0, SYN, 65535))
    assert synack.flags == SYN | ACK
    assert inject(server, Segment(1, 80, 11, 0, RST, 0)) == []
    assert server.connections == {}
    assert len(server.listeners[80].syn_queue) == 0


def test_malformed_packet_is_counted_and_dropped(server: Host) -> None:
    packet = bytearray(encode_tcp_packet(THEM, US, Segment(1, 80, 10, 0, SYN, 65535)))
    packet[-1] ^= 0xFF  # corrupt the TCP header: the checksum no longer matches
    server.receive_packet(bytes(packet), 0.0)
    assert server.packets_to_send(0.0) == []
    assert server.stats.malformed == 1
    assert server.stats.malformed_reasons == {"checksum": 1}


def test_packet_for_another_address_is_dropped(server: Host) -> None:
    assert inject(server, Segment(1, 80, 10, 0, SYN, 65535), dst=ip_address("10.0.0.9")) == []
    assert server.stats.not_for_us == 1


def test_segment_pair_uses_packed_addresses(server: Host) -> None:
    server.receive_segment(THEM.packed, US.packed, Segment(1, 80, 10, 0, SYN, 65535), 0.0)
    ((src, dst, synack),) = server.segments_to_send(0.0)
    assert (src, dst) == (US.packed, THEM.packed)
    assert synack.flags == SYN | ACK and (synack.seq, synack.ack) == (5000, 11)
    server.receive_segment(THEM.packed, ip_address("10.0.0.9").packed, synack, 0.0)
    assert server.stats.not_for_us == 1
    assert server.segments_to_send(0.0) == []


def test_ephemeral_ports_are_distinct_and_in_range() -> None:
    host = Host(THEM, PLAIN, ephemeral_ports=(50000, 50099))
    ports = {host.connect((US, 80), 0.0).local[1] for _ in range(100)}
    assert len(ports) == 100 and min(ports) >= 50000 and max(ports) <= 50099
    with pytest.raises(TcpError, match="insufficient resources"):
        host.connect((US, 80), 0.0)


def test_ephemeral_port_offset_kept_for_the_last_destination_changes_nothing() -> None:
    # the offset kept for the last (local, remote, port) is the one the hash
    # gives, whether the destination repeats or changes, named by string or not
    cached = Host(THEM, PLAIN, secret=b"k" * 16)
    fresh = Host(THEM, PLAIN, secret=b"k" * 16)
    remotes = [("10.0.0.2", 80), ("10.0.0.2", 80), ("10.0.0.3", 80), (US, 81), (US, 81)]
    for remote in remotes * 2:
        fresh._last_port_offset = None
        port = cached.connect(remote, 0.0).local[1]
        assert port == fresh.connect(remote, 0.0).local[1]
    kept = cached._last_port_offset
    cached.connect(("10.0.0.2", 81), 0.0)  # a new address object, an equal one
    assert cached._last_port_offset is kept  # found, not hashed again


def test_listen_twice_is_an_error(server: Host) -> None:
    with pytest.raises(TcpError, match="connection already exists"):
        server.listen(80)


def _server_in_time_wait(server: Host) -> None:
    """The server closes first and reaches TIME-WAIT; the record replaces the connection."""
    handshake(server, 1234)
    conn = server.accept(80)
    assert conn is not None
    conn.close()
    (fin,) = [decode_tcp_packet(p)[1] for p in server.packets_to_send(0.0)]
    assert fin.flags == FIN | ACK and fin.seq == 5001
    (ack,) = inject(server, Segment(1234, 80, 101, 5002, FIN | ACK, 65535), 0.1)
    assert ack == Segment(80, 1234, 5002, 102, ACK, 65535)
    assert server.connections == {} and server.time_wait_count == 1


def test_time_wait_collapses_and_expires_after_2msl(server: Host) -> None:
    _server_in_time_wait(server)
    assert server.get_timer() == pytest.approx(0.1 + 2 * PLAIN.msl)
    server.handle_timer(2.0)
    assert server.time_wait_count == 1
    server.handle_timer(2.1)
    assert server.time_wait_count == 0 and server.get_timer() is None


def test_time_wait_record_reacks_retransmitted_fin_and_restarts(server: Host) -> None:
    _server_in_time_wait(server)
    replies = inject(server, Segment(1234, 80, 101, 5002, FIN | ACK, 65535), 1.5)
    assert replies == [Segment(80, 1234, 5002, 102, ACK, 65535)]
    assert server.get_timer() == pytest.approx(1.5 + 2 * PLAIN.msl)
    server.handle_timer(2.2)
    assert server.time_wait_count == 1  # the restart moved the expiry past 2.1


def test_time_wait_record_ignores_rst(server: Host) -> None:
    _server_in_time_wait(server)
    assert inject(server, Segment(1234, 80, 102, 0, RST, 0), 0.5) == []
    assert server.time_wait_count == 1  # RFC 1337


def test_new_syn_reopens_a_time_wait_pair(server: Host) -> None:
    _server_in_time_wait(server)
    (synack,) = inject(server, Segment(1234, 80, 50_000, 0, SYN, 65535), 0.5)
    assert synack.flags == SYN | ACK and synack.ack == 50_001
    assert server.time_wait_count == 0 and len(server.connections) == 1


def test_ipv6_handshake() -> None:
    us6, them6 = ip_address("fd00::2"), ip_address("fd00::1")
    host = Host(us6, PLAIN, isn=FixedIsn(7))
    host.listen(80)
    (synack,) = inject(host, Segment(4000, 80, 1, 0, SYN, 65535), src=them6, dst=us6)
    assert synack.flags == SYN | ACK and (synack.seq, synack.ack) == (7, 2)
    inject(host, Segment(4000, 80, 2, 8, ACK, 65535), src=them6, dst=us6)
    conn = host.accept(80)
    assert conn is not None and conn.remote == (them6, 4000)


def test_half_open_connections_raise_no_events_until_accepted(server: Host) -> None:
    (synack,) = inject(server, Segment(1234, 80, 100, 0, SYN, 65535))
    now = 0.0
    for _ in range(PLAIN.r1):  # enough SYN,ACK retransmissions for an R1 warning
        now = server.get_timer() or now
        server.handle_timer(now)
        assert [decode_tcp_packet(p)[1].flags for p in server.packets_to_send(now)] == [SYN | ACK]
    assert server.next_event() is None  # the warning stays with the host
    inject(server, Segment(1234, 80, 101, synack.seq + 1, ACK, 65535), now)
    event = server.next_event()
    assert event is not None and event.event == Connected()
    assert server.next_event() is None


def test_stray_ack_to_listener_leaves_no_connection_in_the_trace() -> None:
    from synack.trace.records import TraceRecorder

    recorder = TraceRecorder()
    host = Host(US, PLAIN, recorder.endpoint("server"))
    host.listen(80)
    inject(host, Segment(1234, 80, 700, 4242, ACK, 65535))
    kinds = [
        (r.kind, getattr(r, "direction", None), getattr(r, "flags", None)) for r in recorder.records
    ]
    # the listener, the ACK it received (no connection comes of it), then the RST
    assert kinds == [("state", None, None), ("segment", "received", "."), ("segment", "sent", "R")]
    assert {r.src for r in recorder.records[1:]} >= {f"{US}:80"}  # real addresses, not "*"
    assert recorder.records[0].new == "LISTEN"  # type: ignore[union-attr]
