"""Tunnels the capture reader opens the way Zeek does: GRE (with its
optional fields, transparent Ethernet, ERSPAN and PPTP), VXLAN, Geneve,
Teredo and IP in IP. The segment yielded is the innermost one."""

from __future__ import annotations

import struct

import pytest
from _captures import (
    A4,
    A6,
    B4,
    B6,
    ether,
    geneve,
    gre,
    ipv4,
    ipv6,
    pcap,
    read,
    row,
    tcp4,
    tcp6,
    teredo,
    udp,
    vxlan,
)

T = 1_700_000_000.0
SEG4 = (1, A4, 40000, B4, 80, 0x02, 1000, 0, 65535, 0, 40, True, False)
SEG6 = (1, A6, 40000, B6, 80, 0x02, 1000, 0, 65535, 0, 60, True, False)
OUT_A, OUT_B = "192.0.2.1", "192.0.2.2"


def outer4(payload: bytes, proto: int) -> bytes:
    return ether(ipv4(payload, OUT_A, OUT_B, proto=proto))


def inner(frame: bytes) -> tuple[tuple[object, ...], dict[str, int]]:
    segments, stats = read(pcap([(T, frame)]))
    assert (stats.malformed, stats.packets_not_tcp) == ({}, {})
    assert len(segments) == 1
    return row(segments[0]), stats.tunnels


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"checksum": True},
        {"key": 7},
        {"sequence": 9},
        {"checksum": True, "key": 7, "sequence": 9},
    ],
)
def test_gre_with_its_optional_fields(fields: dict[str, object]) -> None:
    assert inner(outer4(gre(tcp4(), **fields), 47)) == (SEG4, {"gre": 1})  # type: ignore[arg-type]
    assert inner(outer4(gre(tcp6(), 0x86DD, **fields), 47)) == (SEG6, {"gre": 1})  # type: ignore[arg-type]


def test_gre_transparent_ethernet_and_gre_over_ipv6() -> None:
    assert inner(outer4(gre(ether(tcp4()), 0x6558, key=1), 47)) == (SEG4, {"gre": 1})
    frame = ether(ipv6(gre(tcp4()), "2001:db8:ff::1", "2001:db8:ff::2", nh=47), 0x86DD)
    assert inner(frame) == (SEG4, {"gre": 1})


def test_gre_mpls() -> None:
    from _captures import mpls

    assert inner(outer4(gre(mpls(tcp4(), [100]), 0x8847), 47)) == (SEG4, {"gre": 1})


def test_erspan_type_ii_and_iii() -> None:
    erspan2 = struct.pack("!HHI", 0x1000 | 10, 0x0001, 0)  # version 1, VLAN 10, session 1
    frame = outer4(gre(erspan2 + ether(tcp4()), 0x88BE, sequence=5), 47)
    assert inner(frame) == (SEG4, {"gre": 1})
    erspan3 = struct.pack("!HHII", 0x2000 | 10, 0x0001, 12345, 0)  # no platform subheader
    assert inner(outer4(gre(erspan3 + ether(tcp4()), 0x22EB, sequence=5), 47)) == (SEG4, {"gre": 1})
    with_platform = struct.pack("!HHII", 0x2000, 1, 0, 1) + b"\x00" * 8
    assert inner(outer4(gre(with_platform + ether(tcp4()), 0x22EB), 47)) == (SEG4, {"gre": 1})


def test_pptp_enhanced_gre_carrying_ppp() -> None:
    ppp = b"\xff\x03\x00\x21" + tcp4()
    # version 1, key present (payload length, call id), sequence and acknowledgment present
    header = struct.pack("!HHHHII", 0x3081, 0x880B, len(ppp), 7, 1, 0)
    assert inner(outer4(header + ppp, 47)) == (SEG4, {"gre": 1})
    compressed = b"\x21" + tcp4()  # no address and control, a one-byte protocol
    header = struct.pack("!HHHH", 0x2001, 0x880B, len(compressed), 7)
    assert inner(outer4(header + compressed, 47)) == (SEG4, {"gre": 1})


def test_gre_source_routing_is_not_followed() -> None:
    segments, stats = read(pcap([(T, outer4(struct.pack("!HH", 0x4000, 0x0800) + tcp4(), 47))]))
    assert segments == []
    assert stats.packets_not_tcp == {"gre with source routing": 1}


def test_vxlan_either_port() -> None:
    assert inner(outer4(udp(50000, 4789, vxlan(ether(tcp4()))), 17)) == (SEG4, {"vxlan": 1})
    frame = outer4(udp(4789, 50000, vxlan(ether(tcp6(), 0x86DD, tags=[(0x8100, 3)]))), 17)
    assert inner(frame) == (SEG6, {"vxlan": 1})


def test_geneve_with_options_and_with_ip_inside() -> None:
    assert inner(outer4(udp(50000, 6081, geneve(ether(tcp4()))), 17)) == (SEG4, {"geneve": 1})
    options = struct.pack("!HBB", 0x0102, 0x80, 1) + b"\xaa\xbb\xcc\xdd"
    frame = outer4(udp(50000, 6081, geneve(ether(tcp4()), options=options)), 17)
    assert inner(frame) == (SEG4, {"geneve": 1})
    assert inner(outer4(udp(50000, 6081, geneve(tcp6(), 0x86DD)), 17)) == (SEG6, {"geneve": 1})


@pytest.mark.parametrize(
    ("auth", "origin"), [(False, False), (True, False), (False, True), (True, True)]
)
def test_teredo_with_and_without_its_indicators(auth: bool, origin: bool) -> None:
    frame = outer4(udp(3544, 50000, teredo(tcp6(), auth=auth, origin=origin)), 17)
    assert inner(frame) == (SEG6, {"teredo": 1})


def test_teredo_port_without_ipv6_inside_is_udp() -> None:
    segments, stats = read(pcap([(T, outer4(udp(3544, 50000, b"\x00\x01" + b"\x00" * 10), 17))]))
    assert segments == []
    assert (stats.packets_not_tcp, stats.tunnels) == ({"udp": 1}, {})


def test_ip_in_ip_all_four_ways() -> None:
    assert inner(outer4(tcp4(), 4)) == (SEG4, {"ip in ip": 1})
    assert inner(outer4(tcp6(), 41)) == (SEG6, {"ip in ip": 1})
    six = "2001:db8:ff::1", "2001:db8:ff::2"
    assert inner(ether(ipv6(tcp4(), *six, nh=4), 0x86DD)) == (SEG4, {"ip in ip": 1})
    assert inner(ether(ipv6(tcp6(), *six, nh=41), 0x86DD)) == (SEG6, {"ip in ip": 1})


def test_tunnels_in_tunnels() -> None:
    vx = ipv4(udp(50000, 4789, vxlan(ether(tcp4()))), "198.51.100.1", "198.51.100.2", proto=17)
    frame = outer4(ipv4(gre(vx), "203.0.113.1", "203.0.113.2", proto=47), 4)
    assert inner(frame) == (SEG4, {"ip in ip": 1, "gre": 1, "vxlan": 1})


def test_tunnels_nested_too_deep_are_not_opened() -> None:
    packet = tcp4()
    for _ in range(9):
        packet = ipv4(packet, OUT_A, OUT_B, proto=4)
    segments, stats = read(pcap([(T, packet)], 101))
    assert segments == []
    assert (stats.malformed, stats.tunnels) == ({"tunnels nested too deep": 1}, {"ip in ip": 8})


def test_a_cut_short_inner_packet_is_truncated() -> None:
    frame = outer4(gre(tcp4(payload=b"0123456789")), 47)
    segments, stats = read(pcap([(T, frame[:-4], len(frame))]))
    assert [row(s) for s in segments] == [
        (1, A4, 40000, B4, 80, 0x02, 1000, 0, 65535, 10, 50, None, True)
    ]
    assert segments[0].payload == b"012345"
    assert stats.truncated == 1


def test_a_bad_outer_ipv4_header_makes_the_inner_segment_bad() -> None:
    from ipaddress import ip_address

    records = [
        (T, ether(ipv4(tcp4(), OUT_A, OUT_B, proto=4, bad_checksum=True))),
        (T, ether(ipv4(gre(tcp4(payload=b"x")), OUT_A, OUT_B, proto=47, bad_checksum=True))),
        (
            T,
            ether(
                ipv4(udp(1, 4789, vxlan(ether(tcp4()))), OUT_A, OUT_B, proto=17, bad_checksum=True)
            ),
        ),
        (T, ether(ipv4(tcp4(), OUT_A, OUT_B, proto=4))),
    ]
    segments, stats = read(pcap(records))
    assert [(s.record, s.checksum_ok, s.truncated) for s in segments] == [
        (1, False, False), (2, False, False), (3, False, False), (4, True, False),
    ]  # fmt: skip
    assert (stats.bad_ip_checksums, stats.bad_checksums) == (3, {ip_address(A4): 3})
    assert stats.checksums_checked == {ip_address(A4): 4}
    segments, _ = read(pcap(records), ignore_checksums=True)
    assert [s.checksum_ok for s in segments] == [None, None, None, None]
