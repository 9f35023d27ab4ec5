"""A new SYN that reopens a TIME-WAIT connection (RFC 9293 3.10.7.4, RFC 6191)
gets an ISN above everything the old incarnation sent (RFC 1122 4.2.2.13),
even when the ISN clock would give a lower one."""

from __future__ import annotations

from ipaddress import ip_address

from synack.host import Host
from synack.tcp.config import TcpConfig
from synack.tcp.isn import FixedIsn
from synack.wire import seq as sq
from synack.wire.ip import decode_tcp_packet, encode_tcp_packet
from synack.wire.segment import ACK, FIN, SYN, Segment

US, THEM = ip_address("10.0.0.2"), ip_address("10.0.0.1")
PLAIN = TcpConfig(window_scaling=False, timestamps=False, sack=False, delayed_ack=False)


def inject(host: Host, seg: Segment, now: float) -> list[Segment]:
    host.receive_packet(encode_tcp_packet(THEM, US, seg), now)
    return [decode_tcp_packet(p)[1] for p in host.packets_to_send(now)]


def _server_in_time_wait(isn: int) -> Host:
    """The server (ISN ``isn``) sent 1,000 bytes, closed first, and holds TIME-WAIT."""
    server = Host(US, PLAIN, isn=FixedIsn(isn))
    server.listen(80)
    (synack,) = inject(server, Segment(1234, 80, 100, 0, SYN, 65535), 0.0)
    assert inject(server, Segment(1234, 80, 101, synack.seq + 1, ACK, 65535), 0.0) == []
    conn = server.accept(80)
    assert conn is not None
    conn.send(b"x" * 1000)
    conn.close()
    sent = [decode_tcp_packet(p)[1] for p in server.packets_to_send(0.0)]
    fin_end = sq.add(sent[-1].seq, len(sent[-1].payload) + 1)
    inject(server, Segment(1234, 80, 101, fin_end, FIN | ACK, 65535), 0.1)
    assert server.time_wait_count == 1
    return server


def test_a_reopened_connection_starts_above_the_old_snd_nxt() -> None:
    server = _server_in_time_wait(isn=5000)  # the clock keeps giving 5000
    old_snd_nxt = 5000 + 1 + 1000 + 1
    # a new SYN above the old incarnation's sequence space reopens it
    (synack,) = inject(server, Segment(1234, 80, 900_000, 0, SYN, 65535), 1.0)
    assert synack.flags == SYN | ACK and synack.ack == 900_001
    assert sq.gt(synack.seq, old_snd_nxt)
    assert synack.seq == old_snd_nxt + 65535 + 2
    assert server.time_wait_count == 0


def test_the_clocks_isn_is_kept_when_it_is_already_above() -> None:
    server = _server_in_time_wait(isn=5000)
    server.isn = FixedIsn(10_000_000)
    (synack,) = inject(server, Segment(1234, 80, 900_000, 0, SYN, 65535), 1.0)
    assert synack.seq == 10_000_000
