"""TIME-WAIT records expire 2 MSL after they were stored, in that order
(RFC 9293 3.4.2), through a Host: a record removed by a new SYN (RFC 6191)
and stored again by the new incarnation does not hold back the others, and
records of listeners with different MSLs each go at their own 2 MSL."""

from __future__ import annotations

import math
from dataclasses import replace
from ipaddress import ip_address

from synack.host import Host
from synack.tcp.config import TcpConfig
from synack.wire.ip import decode_tcp_packet, encode_tcp_packet
from synack.wire.segment import ACK, FIN, RST, SYN, Segment

US, THEM = ip_address("10.0.0.2"), ip_address("10.0.0.1")
CONFIG = TcpConfig(window_scaling=False, timestamps=False, sack=False, msl=1.0)


def inject(host: Host, seg: Segment, now: float) -> list[Segment]:
    host.receive_packet(encode_tcp_packet(THEM, US, seg), now)
    return [decode_tcp_packet(p)[1] for p in host.packets_to_send(now)]


def into_time_wait(server: Host, port: int, seq: int, now: float) -> None:
    """A connection from ``port`` that the server closes first, into TIME-WAIT at ``now``."""
    (synack,) = inject(server, Segment(port, 80, seq, 0, SYN, 65535), now)
    assert synack.flags == SYN | ACK
    assert inject(server, Segment(port, 80, seq + 1, synack.seq + 1, ACK, 65535), now) == []
    conn = server.accept(80)
    assert conn is not None
    conn.close()
    (fin,) = [decode_tcp_packet(p)[1] for p in server.packets_to_send(now)]
    assert fin.flags & FIN
    (last_ack,) = inject(server, Segment(port, 80, seq + 1, fin.seq + 1, FIN | ACK, 65535), now)
    assert last_ack.flags == ACK


def test_records_expire_in_order_after_2msl() -> None:
    server = Host(US, CONFIG)
    server.listen(80)
    into_time_wait(server, 1234, 100, now=0.0)
    into_time_wait(server, 1235, 100, now=0.5)
    assert server.time_wait_count == 2 and server.get_timer() == 2.0
    server.handle_timer(2.0)
    assert server.time_wait_count == 1 and server.get_timer() == 2.5
    server.handle_timer(2.5)
    assert server.time_wait_count == 0 and server.get_timer() is None


def test_a_reopened_pair_back_in_time_wait_holds_back_no_other_record() -> None:
    server = Host(US, CONFIG)
    server.listen(80)
    into_time_wait(server, 1234, 100, now=0.0)  # expires at 2.0
    into_time_wait(server, 1235, 100, now=0.5)  # at 2.5
    # a SYN above the old sequence space reopens 1234 (RFC 6191), and the new
    # incarnation ends in TIME-WAIT too, until 3.0
    into_time_wait(server, 1234, 900_000, now=1.0)
    assert server.time_wait_count == 2
    assert server.get_timer() == 2.5  # 1235's record, not held until 3.0
    server.handle_timer(2.5)
    assert server.time_wait_count == 1 and server.get_timer() == 3.0
    # the record left is the new incarnation's: it answers a retransmitted FIN
    # of that one (RFC 9293 3.10.7.4) and restarts its 2 MSL
    (ack,) = inject(server, Segment(1234, 80, 900_001, 0, FIN | ACK, 65535), 2.75)
    assert ack.flags == ACK and ack.ack == 900_002
    assert server.get_timer() == 2.75 + 2.0
    server.handle_timer(4.75)
    assert server.time_wait_count == 0 and server.get_timer() is None


def into_time_wait_on(server: Host, port: int, now: float, peer: int = 5000) -> None:
    """As into_time_wait, for a connection from ``peer`` to the server's ``port``."""
    (synack,) = inject(server, Segment(peer, port, 100, 0, SYN, 65535), now)
    assert inject(server, Segment(peer, port, 101, synack.seq + 1, ACK, 65535), now) == []
    conn = server.accept(port)
    assert conn is not None
    conn.close()
    (fin,) = [decode_tcp_packet(p)[1] for p in server.packets_to_send(now)]
    (last_ack,) = inject(server, Segment(peer, port, 101, fin.seq + 1, FIN | ACK, 65535), now)
    assert last_ack.flags == ACK


def test_each_record_keeps_its_own_config_past_255_of_them() -> None:
    """300 listeners, each with a config of its own MSL: every record, packed
    with the index of its config, still restarts 2 MSL with its own (it took
    the first config's once there were more than 255), and equal configs
    share one index."""
    server = Host(US, CONFIG)
    msl = {80 + i: 1.0 + i / 1024 for i in range(300)}  # exact in binary
    for port, m in msl.items():
        server.listen(port, config=replace(CONFIG, msl=m))
        into_time_wait_on(server, port, now=0.0)
    assert server.time_wait_count == 300
    for port in msl:  # a retransmitted FIN restarts each record's 2 MSL
        (ack,) = inject(server, Segment(5000, port, 101, 0, FIN | ACK, 65535), 0.5)
        assert ack.flags == ACK and ack.ack == 102
    # the records expire each at 0.5 + 2 MSL of its own config, earliest first
    for m in sorted(msl.values()):
        assert server.get_timer() == 0.5 + 2 * m
        server.handle_timer(0.5 + 2 * m)
    assert server.time_wait_count == 0
    # equal configs, made apart, share one index
    again = Host(US, CONFIG)
    for port in (80, 81, 82):
        again.listen(port, config=replace(CONFIG, msl=3.0))
        into_time_wait_on(again, port, now=0.0)
    assert len(again._tw_configs) == 1


def in_time_wait(server: Host, port: int, peer: int, now: float) -> bool:
    """Whether a stray ACK to the 4-tuple is answered from TIME-WAIT (an ACK
    of the FIN, RFC 9293 3.10.7.4: the segment is not acceptable) rather
    than by the listener (a RST, 3.10.7.2: no connection)."""
    (reply,) = inject(server, Segment(peer, port, 101, 555, ACK, 65535), now)
    if reply.flags == ACK:
        assert reply.ack == 102
        return True
    assert reply.flags == RST and reply.seq == 555
    return False


def expect_leaving(server: Host, due: list[tuple[float, int, int]]) -> None:
    """Each record (its time, local port, peer port) is there just before
    its time and gone at it, each on a timer of its own."""
    count = server.time_wait_count
    assert count == len(due)
    for when, port, peer in sorted(due):
        assert server.get_timer() == when
        before = math.nextafter(when, -math.inf)
        server.handle_timer(before)
        assert server.time_wait_count == count and in_time_wait(server, port, peer, before)
        server.handle_timer(when)
        count -= 1
        assert server.time_wait_count == count and not in_time_wait(server, port, peer, when)
    assert server.get_timer() is None


def listening_with_msl(msl: dict[int, float]) -> Host:
    server = Host(US, CONFIG)
    for port, m in msl.items():
        server.listen(port, config=replace(CONFIG, msl=m))
    return server


def test_records_of_different_msls_interleaved_expire_each_at_its_own_2msl() -> None:
    # a record of a 1 s MSL stored behind one of a 5 s MSL went at 10.0, not at
    # its own 2.25; a SYN to it meanwhile found TIME-WAIT
    server = listening_with_msl({80: 5.0, 81: 1.0, 82: 0.25})
    into_time_wait_on(server, 80, now=0.0, peer=5000)  # until 10.0
    into_time_wait_on(server, 81, now=0.25, peer=5000)  # 2.25
    into_time_wait_on(server, 80, now=0.5, peer=5001)  # 10.5
    into_time_wait_on(server, 82, now=0.75, peer=5000)  # 1.25
    into_time_wait_on(server, 81, now=1.0, peer=5001)  # 3.0
    expect_leaving(
        server,
        [(10.0, 80, 5000), (2.25, 81, 5000), (10.5, 80, 5001), (1.25, 82, 5000), (3.0, 81, 5001)],
    )


def test_a_restarted_record_among_records_of_another_msl() -> None:
    # RFC 9293 3.10.7.4: a retransmitted FIN restarts that record's 2 MSL
    server = listening_with_msl({80: 5.0, 81: 1.0})
    into_time_wait_on(server, 80, now=0.0, peer=5000)  # until 10.0
    into_time_wait_on(server, 81, now=0.25, peer=5000)  # 2.25, then
    (ack,) = inject(server, Segment(5000, 81, 101, 0, FIN | ACK, 65535), 1.0)
    assert ack.flags == ACK and ack.ack == 102  # restarted: until 3.0
    into_time_wait_on(server, 81, now=1.5, peer=5001)  # 3.5
    into_time_wait_on(server, 80, now=2.0, peer=5001)  # 12.0
    (ack,) = inject(server, Segment(5001, 80, 101, 0, FIN | ACK, 65535), 2.5)
    assert ack.flags == ACK  # restarted: until 12.5
    expect_leaving(server, [(3.0, 81, 5000), (3.5, 81, 5001), (10.0, 80, 5000), (12.5, 80, 5001)])
