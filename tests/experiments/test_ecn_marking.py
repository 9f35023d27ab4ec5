"""RFC 3168 end to end: a queue that marks instead of dropping. With ECN on,
the senders back off on the echoes and nothing needs retransmitting; with ECN
off, the same queue drops."""

from __future__ import annotations

import pytest

from synack.sim.network import LinkConfig, _mark_ce
from synack.sim.scale import simulate
from synack.tcp.config import TcpConfig
from synack.wire.ip import decode_tcp_packet, encode_tcp_packet, parse_address
from synack.wire.segment import ACK, CE, ECT_0, NOT_ECT, Segment

BOTTLENECK = LinkConfig(delay=0.02, bandwidth=10e6, queue_limit=60, ecn_mark=20)


def test_marking_queue_means_no_retransmissions() -> None:
    marked = simulate(1, bytes_up=0, bytes_down=3_000_000, c2s=LinkConfig(delay=0.02),
                      s2c=BOTTLENECK, config=TcpConfig(ecn="on", msl=1.0), seed=3)  # fmt: skip
    dropped = simulate(1, bytes_up=0, bytes_down=3_000_000, c2s=LinkConfig(delay=0.02),
                       s2c=BOTTLENECK, config=TcpConfig(ecn="off", msl=1.0), seed=3)  # fmt: skip
    assert marked.ok and dropped.ok
    assert marked.retransmitted_segments == 0
    assert dropped.retransmitted_segments > 10
    assert marked.last_close <= dropped.last_close  # and it is no slower


@pytest.mark.parametrize("address", ["10.0.0.1", "fd00::1"])
def test_mark_sets_ce_and_keeps_the_header_valid(address: str) -> None:
    src, dst = parse_address(address), parse_address(address.replace("1", "2"))
    seg = Segment(1, 2, 100, 200, ACK, 1000, payload=b"data", ecn=ECT_0)
    marked = _mark_ce(encode_tcp_packet(src, dst, seg))
    _, decoded = decode_tcp_packet(marked)  # checksums verified
    assert decoded.ecn == CE


def test_mark_leaves_a_not_ect_packet_alone() -> None:
    src, dst = parse_address("10.0.0.1"), parse_address("10.0.0.2")
    packet = encode_tcp_packet(src, dst, Segment(1, 2, 100, 200, ACK, 1000, ecn=NOT_ECT))
    assert _mark_ce(packet) == packet


def test_marking_needs_a_bandwidth() -> None:
    with pytest.raises(ValueError, match="needs a bandwidth"):
        LinkConfig(ecn_mark=5)
