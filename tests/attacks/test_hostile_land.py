"""A LAND attack: a forged SYN to a listener from the listener's own address
and port.

Answered, its SYN,ACK comes back to the half-open connection it came from,
which finds it outside its window and ACKs it (RFC 9293 3.10.7.4), and that
ACK comes back again: a packet loop on any driver that hands a host's packets
to its own addresses back to it, for as long as the half-open entry lives
(63 s), at the driver's speed. No connection of ours has that 4-tuple, so the
SYN is forged: dropped and counted (``syns_from_self``), as FreeBSD's
tcp_input drops it. A connection that really is its own peer (an active open
to its own address and port, RFC 9293 3.5's simultaneous open) still
connects: its SYN finds the connection, not the listener.
"""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from synack.host import Host
from synack.tcp.config import TcpConfig
from synack.tcp.state import State
from synack.wire.ip import encode_packed, parse_tcp_packet
from synack.wire.segment import ACK, SYN, Segment

ADDRESSES = {4: "10.0.0.2", 6: "fd00::2"}


def _host() -> Host:
    host = Host(list(ADDRESSES.values()), TcpConfig(), secret=b"s" * 16)
    host.listen(80)
    return host


def _loop(host: Host, rounds: int) -> list[str]:
    """Hand the host its own packets back, ``rounds`` times; the flags of what it sent."""
    sent = []
    for _ in range(rounds):
        for packet in host.packets_to_send(0.0):
            sent.append(parse_tcp_packet(packet)[2].flag_text)
            host.receive_packet(packet, 0.0)
    return sent


@pytest.mark.parametrize("version", [4, 6])
def test_a_syn_from_the_listeners_own_endpoint_is_dropped_and_counted(version: int) -> None:
    host = _host()
    me = ip_address(ADDRESSES[version]).packed
    host.receive_packet(encode_packed(me, me, Segment(80, 80, 1000, 0, SYN, 65535)), 0.0)
    assert _loop(host, 10) == []  # before: S. then "." after "." forever
    assert host.stats.syns_from_self == 1
    assert host.connections == {} and not host.listeners[80].syn_queue
    assert host.stats.resets_sent == 0 and host.get_timer() is None


def test_a_syn_from_another_of_our_addresses_ends_in_a_reset_not_a_loop() -> None:
    host = Host(["10.0.0.2", "10.0.0.3"], TcpConfig(), secret=b"s" * 16)
    host.listen(80)
    me, other = ip_address("10.0.0.2").packed, ip_address("10.0.0.3").packed
    host.receive_packet(encode_packed(other, me, Segment(80, 80, 1000, 0, SYN, 65535)), 0.0)
    # SYN,ACK to 10.0.0.3:80 (the listener there answers with a RST), which
    # ends the half-open connection: two packets, then quiet
    assert _loop(host, 10) == ["S.", "R"]
    assert host.stats.syns_from_self == 0
    assert host.connections == {}


def test_a_connection_that_is_its_own_peer_still_connects() -> None:
    host = _host()
    conn = host.connect(("10.0.0.2", 80), 0.0, local_port=80)
    # SYN, SYN,ACK (simultaneous open with itself), ACK; then quiet
    assert _loop(host, 10) == ["S", "S.", "."]
    assert conn.state is State.ESTABLISHED and host.stats.syns_from_self == 0
    conn.send(b"self")
    _loop(host, 1)
    assert conn.receive() == b"self"


def test_an_ack_from_the_listeners_own_endpoint_draws_one_reset() -> None:
    host = _host()
    me = ip_address("10.0.0.2").packed
    host.receive_packet(encode_packed(me, me, Segment(80, 80, 1000, 5000, ACK, 65535)), 0.0)
    # RST to ourselves (RFC 9293 3.10.7.2, an ACK in LISTEN); a RST to a
    # listener draws nothing
    assert _loop(host, 10) == ["R"]
    assert host.connections == {}
