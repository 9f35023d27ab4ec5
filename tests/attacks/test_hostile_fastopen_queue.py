"""A flood of SYNs at a listener whose Fast Open queue (RFC 7413 5.1) is full.

A peer with a valid cookie fills the queue with Fast Open children that never
complete their handshake, then keeps sending SYNs. Each SYN asks whether the
queue has room; that used to look at every child in the queue, so a SYN cost
work in proportion to the queue's length (a queue of 10,000: twenty times a
normal SYN). Children now leave the queue as they leave SYN-RECEIVED, and a
SYN costs the same whatever the queue's length. Work is counted as bytecodes
run in host.py, never as time.

The queue's accounting stays what it was: a child frees its place when its
handshake completes or when it is reset, not when the application accepts it.
"""

from __future__ import annotations

from ipaddress import ip_address

from _work import work_in

import synack.host
from synack.host import Host
from synack.tcp.config import TcpConfig
from synack.tcp.state import State
from synack.wire.segment import ACK, RST, SYN, FastOpen, MaxSegmentSize, Segment

PEER, ME = ip_address("10.0.0.1").packed, ip_address("10.0.0.2").packed
CONFIG = TcpConfig(fastopen_server=True, timestamps=False)


def _listener(queue: int) -> Host:
    host = Host("10.0.0.2", CONFIG, secret=b"s" * 16)
    host.listen(80, backlog=100_000, fastopen=queue)
    return host


def _syn(host: Host, port: int, data: bytes = b"GET") -> Segment:
    """A Fast Open SYN with a valid cookie from ``port``; the SYN,ACK it draws."""
    cookie = host.fastopen_cookies.make(PEER, ME)
    options = (MaxSegmentSize(1460), FastOpen(cookie))
    host.receive_segment(
        PEER, ME, Segment(port, 80, 1000, 0, SYN, 65535, options=options, payload=data), 0.0
    )
    [(_, _, reply)] = host.segments_to_send(0.0)
    assert reply.flags == SYN | ACK
    return reply


def _flood_work(queue: int, syns: int) -> int:
    host = _listener(queue)
    for port in range(1024, 1024 + queue):
        assert _syn(host, port).ack == 1004  # its data taken (RFC 7413 4.2.2)
    assert host.stats.fastopen_accepted == queue

    def flood() -> None:
        for port in range(30_000, 30_000 + syns):
            assert _syn(host, port).ack == 1001  # the queue is full: the data is not taken

    _, work = work_in({synack.host.__file__}, flood, "opcode")
    assert host.stats.fastopen_queue_full == syns
    return work


def test_a_syn_costs_the_same_whatever_the_queue_length() -> None:
    small, large = _flood_work(50, 40), _flood_work(1000, 40)
    assert large <= small * 1.05, (small, large)


def test_a_child_frees_its_place_when_its_handshake_completes() -> None:
    host = _listener(1)
    synack_ = _syn(host, 1024)
    child = host.accept(80)
    assert child is not None and child.state is State.SYN_RECEIVED
    assert _syn(host, 1025).ack == 1001  # full, even though accepted (RFC 7413 4.2.2)
    host.receive_segment(PEER, ME, Segment(1024, 80, 1004, synack_.seq + 1, ACK, 65535), 0.0)
    host.segments_to_send(0.0)
    assert child.state is State.ESTABLISHED
    assert _syn(host, 1026).ack == 1004  # room again
    assert host.stats.fastopen_accepted == 2 and host.stats.fastopen_queue_full == 1


def test_a_child_frees_its_place_when_reset() -> None:
    host = _listener(1)
    _syn(host, 1024)
    assert _syn(host, 1025).ack == 1001
    host.receive_segment(PEER, ME, Segment(1024, 80, 1004, 0, RST, 0), 0.0)
    host.segments_to_send(0.0)
    child = host.accept(80)
    assert child is not None and child.state is State.CLOSED
    assert _syn(host, 1026).ack == 1004
    assert host.stats.fastopen_accepted == 2 and host.stats.fastopen_queue_full == 1
