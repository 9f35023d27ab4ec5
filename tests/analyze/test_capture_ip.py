"""The capture reader's IP layer: IPv4 options, IPv6 extension headers
(and the routing header's final destination in the pseudo-header), and
fragments of both versions reassembled within bounds."""

from __future__ import annotations

from _captures import (
    A4,
    A6,
    B4,
    B6,
    ah,
    ether,
    ext,
    frag6,
    ipv4,
    ipv6,
    pcap,
    read,
    row,
    tcp,
    tcp4,
)

T = 1_700_000_000.0


def test_ipv4_options_are_skipped() -> None:
    packet = ipv4(tcp(payload=b"abc"), options=b"\x07\x07\x04" + b"\x00" * 5)  # record route
    segments, _ = read(pcap([(T, ether(packet))]))
    assert [row(s) for s in segments] == [
        (1, A4, 40000, B4, 80, 0x02, 1000, 0, 65535, 3, 51, True, False)
    ]
    assert segments[0].payload == b"abc"


def test_ipv6_extension_headers_are_walked() -> None:
    chain = ext(60, b"\x01\x04\x00\x00\x00\x00")  # hop-by-hop, a PadN
    chain += ext(51, b"\x01\x04\x00\x00\x00\x00")  # destination options
    chain += ah(6)
    packet = ipv6(chain + tcp(A6, B6, payload=b"hello"), nh=0)
    segments, _ = read(pcap([(T, ether(packet, 0x86DD))]))
    assert [row(s) for s in segments] == [
        (1, A6, 40000, B6, 80, 0x02, 1000, 0, 65535, 5, 40 + 8 + 8 + 24 + 25, True, False)
    ]


def test_a_routing_header_puts_its_final_destination_in_the_pseudo_header() -> None:
    final = "2001:db8::99"
    from _captures import packed

    rh0 = ext(6, bytes([0, 1]) + b"\x00" * 4 + packed(final))  # type 0, 1 segment left
    good = ipv6(rh0 + tcp(A6, B6, pseudo_dst=final), nh=43)
    wrong = ipv6(rh0 + tcp(A6, B6), nh=43)
    srh = ext(6, bytes([4, 1, 0, 0, 0, 0]) + packed(final))  # segment routing
    good_srh = ipv6(srh + tcp(A6, B6, pseudo_dst=final), nh=43)
    done = ext(6, bytes([0, 0]) + b"\x00" * 4 + packed(final))  # no segments left: dst is final
    good_done = ipv6(done + tcp(A6, B6), nh=43)
    segments, stats = read(pcap([(T, p) for p in (good, wrong, good_srh, good_done)], 101))
    assert [(s.record, str(s.dst), s.checksum_ok) for s in segments] == [
        (1, B6, True), (2, B6, False), (3, B6, True), (4, B6, True),
    ]  # fmt: skip
    assert stats.bad_checksums == {segments[0].src: 1}


def test_esp_and_no_next_header_stop_the_walk() -> None:
    esp = ipv6(ext(50, b"\x00" * 6) + b"\x00" * 24, nh=0)
    none = ipv6(ext(59, b"\x00" * 6), nh=60)
    segments, stats = read(pcap([(T, esp), (T, none)], 101))
    assert segments == []
    assert stats.packets_not_tcp == {"esp": 1, "ipv6 no next header": 1}


def test_an_extension_header_cut_short_is_counted() -> None:
    packet = ipv6(ext(6, b"\x00" * 14) + tcp(A6, B6), nh=0)
    segments, stats = read(pcap([(T, packet[:50], len(packet))], 101))
    assert segments == []
    assert stats.malformed == {"ipv6 extension header cut short": 1}


# -- IPv4 fragments ------------------------------------------------------------

SEGMENT = tcp(payload=b"0123456789abcdefghijklmn")  # 44 bytes: fragments of 16, 16 and 12
WHOLE = (3, A4, 40000, B4, 80, 0x02, 1000, 0, 65535, 24, 64, True, False)


def frag4(start: int, stop: int, more: bool, ident: int = 77, data: bytes = SEGMENT) -> bytes:
    flags = (0x2000 if more else 0) | start // 8
    return ether(ipv4(data[start:stop], proto=6, ident=ident, flags_fragment=flags))


F0, F1, F2 = frag4(0, 16, True), frag4(16, 32, True), frag4(32, 44, False)


def test_fragments_in_order() -> None:
    segments, stats = read(pcap([(T, F0), (T + 1, F1), (T + 2, F2)]))
    assert [row(s) for s in segments] == [WHOLE]
    assert (segments[0].t, segments[0].payload) == (T + 2, b"0123456789abcdefghijklmn")
    assert (stats.fragments, stats.fragments_reassembled, stats.datagrams_reassembled) == (3, 3, 1)
    assert (stats.fragments_dropped, stats.fragments_overlapping) == ({}, 0)


def test_fragments_out_of_order() -> None:
    segments, _ = read(pcap([(T, F2), (T, F0), (T, F1)]))
    assert [row(s) for s in segments] == [WHOLE]


def test_overlapping_fragments_keep_the_first_copy() -> None:
    forged = frag4(8, 24, True, data=b"X" * 44)
    segments, stats = read(pcap([(T, F0), (T, forged), (T, F1), (T, F2)]))
    assert [(s.record, s.payload, s.checksum_ok) for s in segments] == [
        # bytes 16-23 (the checksum, the urgent pointer and "0123") came first from the forgery
        (4, b"XXXX456789abcdefghijklmn", False)
    ]
    assert (stats.fragments_overlapping, stats.fragments_reassembled) == (1, 4)
    segments, _ = read(pcap([(T, F0), (T, F1), (T, forged), (T, F2)]))
    assert [(s.record, s.checksum_ok) for s in segments] == [(4, True)]
    assert segments[0].payload == b"0123456789abcdefghijklmn"


def test_incomplete_fragments_are_dropped_at_the_end() -> None:
    segments, stats = read(pcap([(T, F0), (T, F2), (T, ether(tcp4(seq=5)))]))
    assert [s.seq for s in segments] == [5]
    assert stats.fragments_dropped == {"incomplete at the end of the capture": 2}


def test_fragments_older_than_the_timeout_are_dropped_in_capture_time() -> None:
    records = [(T, F0), (T + 31, F1), (T + 31, F2)]
    segments, stats = read(pcap(records))
    assert segments == []
    assert stats.fragments_dropped == {"timeout": 1, "incomplete at the end of the capture": 2}
    segments, stats = read(pcap(records), fragment_timeout=60.0)
    assert [row(s) for s in segments] == [WHOLE]


def test_the_memory_cap_drops_the_oldest_datagram() -> None:
    a = [frag4(0, 16, True, 1), frag4(16, 32, True, 1), frag4(32, 44, False, 1)]
    b = [frag4(0, 16, True, 2), frag4(16, 32, True, 2), frag4(32, 44, False, 2)]
    records = [(T, f) for f in (a[0], b[0], a[1], b[1], b[2], a[2])]
    segments, stats = read(pcap(records), fragment_memory=48)
    assert [s.record for s in segments] == [5]
    assert stats.fragments_dropped == {"memory cap": 2, "incomplete at the end of the capture": 1}
    segments, stats = read(pcap(records))
    assert [s.record for s in segments] == [5, 6]


def test_a_fragment_cut_short_drops_its_datagram() -> None:
    segments, stats = read(pcap([(T, F0), (T, F1[:-4], len(F1)), (T, F2)]))
    assert segments == []
    assert stats.fragments == 3
    assert stats.fragments_dropped == {"cut short by the snap length": 3}


def test_a_fragment_with_a_bad_header_checksum_is_dropped() -> None:
    bad = ether(ipv4(SEGMENT[16:32], ident=77, flags_fragment=0x2002, bad_checksum=True))
    segments, stats = read(pcap([(T, F0), (T, bad), (T, F2)]))
    assert segments == []
    assert stats.fragments_dropped == {
        "bad ip checksum": 1, "incomplete at the end of the capture": 2,
    }  # fmt: skip


# -- IPv6 fragments ------------------------------------------------------------

SEGMENT6 = tcp(A6, B6, payload=b"0123456789abcdefghijklmn")
HOP = ext(44, b"\x01\x04\x00\x00\x00\x00")  # a hop-by-hop header before the fragment header


def test_ipv6_fragments_after_a_hop_by_hop_header() -> None:
    def piece(start: int, stop: int, more: bool) -> bytes:
        return ipv6(HOP + frag6(6, start, more, 0xABCD) + SEGMENT6[start:stop], nh=0)

    records = [(T, piece(16, 32, True)), (T, piece(0, 16, True)), (T, piece(32, 44, False))]
    segments, stats = read(pcap(records, 101))
    assert [row(s) for s in segments] == [
        (3, A6, 40000, B6, 80, 0x02, 1000, 0, 65535, 24, 40 + 8 + 44, True, False)
    ]
    assert (stats.fragments, stats.datagrams_reassembled) == (3, 1)


def test_ipv6_fragments_carrying_destination_options() -> None:
    data = ext(6, b"\x01\x04\x00\x00\x00\x00") + SEGMENT6  # 52 bytes: 24 + 28
    first = ipv6(frag6(60, 0, True, 9) + data[:24], nh=44)
    last = ipv6(frag6(60, 24, False, 9) + data[24:], nh=44)
    segments, _ = read(pcap([(T, first), (T, last)], 101))
    assert [row(s) for s in segments] == [
        (2, A6, 40000, B6, 80, 0x02, 1000, 0, 65535, 24, 40 + 52, True, False)
    ]


def test_an_atomic_ipv6_fragment_is_the_whole_packet() -> None:
    packet = ipv6(frag6(6, 0, False, 1) + tcp(A6, B6), nh=44)
    segments, stats = read(pcap([(T, packet)], 101))
    assert [row(s) for s in segments] == [
        (1, A6, 40000, B6, 80, 0x02, 1000, 0, 65535, 0, 68, True, False)
    ]
    assert stats.fragments == 0


def test_ipv4_and_ipv6_fragments_interleaved() -> None:
    p6 = [ipv6(frag6(6, a, m, 77) + SEGMENT6[a:b], nh=44) for a, b, m in
          ((0, 16, True), (16, 32, True), (32, 44, False))]  # fmt: skip
    records = [(T, F0), (T, ether(p6[0], 0x86DD)), (T, F1), (T, ether(p6[1], 0x86DD))]
    records += [(T, ether(p6[2], 0x86DD)), (T, F2)]
    segments, _ = read(pcap(records))
    assert [(s.record, str(s.src), s.checksum_ok) for s in segments] == [
        (5, A6, True),
        (6, A4, True),
    ]
