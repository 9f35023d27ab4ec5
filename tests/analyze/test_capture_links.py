"""The capture reader under the IP layer: every link type it knows, VLAN
tag stacks, MPLS label stacks, PPPoE, and what it counts when a packet is
not TCP or its link type is unknown."""

from __future__ import annotations

import pytest
from _captures import (
    A4,
    A6,
    B4,
    B6,
    epb,
    ether,
    idb,
    ipv4,
    mpls,
    null,
    pcap,
    pppoe,
    read,
    row,
    shb,
    sll,
    sll2,
    tcp4,
    tcp6,
    udp,
)

T = 1_700_000_000.0
SEG4 = (1, A4, 40000, B4, 80, 0x02, 1000, 0, 65535, 0, 40, True, False)
SEG6 = (1, A6, 40000, B6, 80, 0x02, 1000, 0, 65535, 0, 60, True, False)


def only(data: bytes) -> tuple[object, ...]:
    segments, stats = read(data)
    assert len(segments) == 1, (stats.malformed, stats.packets_not_tcp)
    assert (stats.malformed, stats.packets_not_tcp) == ({}, {})
    return row(segments[0])


@pytest.mark.parametrize("linktype", [101, 12, 14, 228])
def test_raw_ipv4(linktype: int) -> None:
    assert only(pcap([(T, tcp4())], linktype)) == SEG4


@pytest.mark.parametrize("linktype", [101, 229])
def test_raw_ipv6(linktype: int) -> None:
    assert only(pcap([(T, tcp6())], linktype)) == SEG6


def test_ethernet_ipv4_and_ipv6() -> None:
    assert only(pcap([(T, ether(tcp4()))])) == SEG4
    assert only(pcap([(T, ether(tcp6(), 0x86DD))])) == SEG6


def test_ethernet_padding_after_a_short_packet_is_not_payload() -> None:
    segments, _ = read(pcap([(T, ether(tcp4()) + b"\x00" * 6)]))  # padded to 60 bytes
    assert (segments[0].payload_len, segments[0].payload, segments[0].checksum_ok) == (0, b"", True)


@pytest.mark.parametrize(
    "tags",
    [
        [(0x8100, 10)],
        [(0x88A8, 100), (0x8100, 10)],  # QinQ
        [(0x9100, 100), (0x8100, 10)],
        [(0x88A8, 1), (0x8100, 2), (0x8100, 3)],
    ],
)
def test_vlan_tag_stacks(tags: list[tuple[int, int]]) -> None:
    assert only(pcap([(T, ether(tcp4(), tags=tags))])) == SEG4
    assert only(pcap([(T, ether(tcp6(), 0x86DD, tags=tags))])) == SEG6


@pytest.mark.parametrize("labels", [[16], [16, 17, 18]])
def test_mpls_label_stacks_then_the_version_nibble(labels: list[int]) -> None:
    assert only(pcap([(T, ether(mpls(tcp4(), labels), 0x8847))])) == SEG4
    assert only(pcap([(T, ether(mpls(tcp6(), labels), 0x8848))])) == SEG6
    assert only(pcap([(T, ether(mpls(tcp4(), labels), 0x8847, tags=[(0x8100, 5)]))])) == SEG4


def test_mpls_carrying_something_else_is_counted() -> None:
    segments, stats = read(pcap([(T, ether(mpls(b"\x00" * 40, [16]), 0x8847))]))
    assert segments == []
    assert stats.packets_not_tcp == {"mpls payload other than ip": 1}


def test_pppoe_session_ipv4_and_ipv6() -> None:
    assert only(pcap([(T, ether(pppoe(tcp4()), 0x8864))])) == SEG4
    assert only(pcap([(T, ether(pppoe(tcp6(), 0x0057), 0x8864))])) == SEG6
    assert only(pcap([(T, ether(pppoe(tcp4()), 0x8864, tags=[(0x8100, 7)]))])) == SEG4


def test_pppoe_control_protocols_are_not_tcp() -> None:
    segments, stats = read(pcap([(T, ether(pppoe(b"\x01\x01\x00\x04", 0xC021), 0x8864))]))
    assert segments == []
    assert stats.packets_not_tcp == {"ppp protocol 0xc021": 1}


def test_linux_cooked_v1_and_v2() -> None:
    assert only(pcap([(T, sll(tcp4()))], 113)) == SEG4
    assert only(pcap([(T, sll(tcp6(), 0x86DD))], 113)) == SEG6
    assert only(pcap([(T, sll2(tcp4()))], 276)) == SEG4
    assert only(pcap([(T, sll2(tcp6(), 0x86DD))], 276)) == SEG6


@pytest.mark.parametrize("family", [24, 28, 30])
def test_bsd_loopback_ipv6_families(family: int) -> None:
    assert only(pcap([(T, null(tcp6(), family))], 0)) == SEG6


def test_bsd_loopback_in_either_byte_order_and_loop() -> None:
    assert only(pcap([(T, null(tcp4()))], 0)) == SEG4
    assert only(pcap([(T, null(tcp4(), order=">"))], 0)) == SEG4  # a big-endian host's
    assert only(pcap([(T, null(tcp4(), order=">"))], 108)) == SEG4
    assert only(pcap([(T, null(tcp6(), 30, order=">"))], 108)) == SEG6


def test_what_is_not_tcp_is_counted_by_what_it_is() -> None:
    arp = ether(b"\x00\x01\x08\x00\x06\x04\x00\x01" + b"\x00" * 20, 0x0806)
    lldp = ether(b"\x02\x07\x04" + b"\x00" * 40, 0x88CC)
    llc = ether(b"\x42\x42\x03" + b"\x00" * 40, 46)  # an 802.3 length, not a type
    other = ether(b"\x00" * 46, 0x1234)
    icmp = ether(ipv4(b"\x08\x00\xf7\xff\x00\x00\x00\x00", proto=1))
    udp4 = ether(ipv4(udp(53, 53, b"dns"), proto=17))
    esp = ether(ipv4(b"\x00" * 16, proto=50))
    sctp = ether(ipv4(b"\x00" * 16, proto=132))
    other_proto = ether(ipv4(b"\x00" * 16, proto=253))
    records = [arp, lldp, llc, other, icmp, udp4, esp, sctp, other_proto, ether(tcp4())]
    segments, stats = read(pcap([(T, r) for r in records]))
    assert [s.record for s in segments] == [10]
    assert stats.packets_not_tcp == {
        "arp": 1, "lldp": 1, "802.3 llc": 1, "ethertype 0x1234": 1, "icmp": 1, "udp": 1,
        "esp": 1, "sctp": 1, "ip protocol 253": 1,
    }  # fmt: skip
    assert (stats.records, stats.segments) == (10, 1)


def test_an_unknown_link_type_is_counted_not_read() -> None:
    segments, stats = read(pcap([(T, b"\x00" * 60), (T, b"\x00" * 60)], 127))  # radiotap
    assert segments == []
    assert (stats.records, stats.unsupported_link_types, stats.link_types) == (
        2,
        {127: 2},
        {127: 2},
    )
    data = shb() + idb(105) + idb(1) + epb(0, 0, b"\x00" * 30) + epb(1, 0, ether(tcp4()))
    segments, stats = read(data)
    assert [row(s) for s in segments] == [(2, *SEG4[1:])]
    assert (stats.unsupported_link_types, stats.link_types) == ({105: 1}, {105: 1, 1: 1})


def test_cut_short_link_headers_are_counted_as_malformed() -> None:
    records = [
        (T, ether(tcp4())[:10]),
        (T, ether(b"", tags=[(0x8100, 1)])[:15]),
    ]
    segments, stats = read(pcap(records))
    assert segments == []
    assert stats.malformed == {"ethernet header cut short": 1, "vlan tag cut short": 1}
    segments, stats = read(pcap([(T, sll(tcp4())[:12])], 113))
    assert stats.malformed == {"linux cooked header cut short": 1}


def test_ppp_and_cisco_hdlc() -> None:
    assert only(pcap([(T, b"\xff\x03\x00\x21" + tcp4())], 9)) == SEG4
    assert only(pcap([(T, b"\xff\x03\x00\x57" + tcp6())], 50)) == SEG6
    assert only(pcap([(T, b"\x21" + tcp4())], 9)) == SEG4  # address, control, protocol compressed
    assert only(pcap([(T, b"\x0f\x00\x08\x00" + tcp4())], 104)) == SEG4
    assert only(pcap([(T, b"\x8f\x00\x86\xdd" + tcp6())], 104)) == SEG6
    segments, stats = read(pcap([(T, b"\xff\x03\xc0\x21\x01\x01\x00\x04")], 9))
    assert (segments, stats.packets_not_tcp) == ([], {"ppp protocol 0xc021": 1})
