"""What the capture reader checks in each packet: the IPv4 header and TCP
checksums (as Zeek checks them), the snap length's cuts, and headers that
do not hold together."""

from __future__ import annotations

from ipaddress import ip_address

from _captures import A4, A6, B4, B6, ether, ipv4, ipv6, pcap, read, row, tcp, tcp4, tcp6

T = 1_700_000_000.0


def test_a_bad_tcp_checksum_is_flagged_and_the_segment_still_yielded() -> None:
    records = [(T, ether(tcp4(seq=1))), (T, ether(tcp4(seq=2, bad_checksum=True)))]
    segments, stats = read(pcap(records))
    assert [(s.seq, s.checksum_ok) for s in segments] == [(1, True), (2, False)]
    assert stats.bad_checksums == {ip_address(A4): 1}
    assert stats.checksums_checked == {ip_address(A4): 2}
    assert stats.bad_ip_checksums == 0


def test_a_bad_ipv4_header_checksum_is_flagged() -> None:
    packet = ipv4(tcp(seq=3), bad_checksum=True)
    segments, stats = read(pcap([(T, packet)], 101))
    assert [(s.seq, s.checksum_ok) for s in segments] == [(3, False)]
    assert (stats.bad_ip_checksums, stats.bad_checksums) == (1, {ip_address(A4): 1})


def test_ipv6_and_odd_lengths() -> None:
    records = [
        (T, tcp6(payload=b"odd")),
        (T, tcp6(payload=b"even")),
        (T, tcp6(payload=b"odd", bad_checksum=True)),
        (T, tcp4(payload=b"o")),
    ]
    segments, _ = read(pcap(records, 101))
    assert [(s.payload, s.checksum_ok) for s in segments] == [
        (b"odd", True), (b"even", True), (b"odd", False), (b"o", True),
    ]  # fmt: skip


def test_ignore_checksums_checks_nothing() -> None:
    records = [(T, tcp4(bad_checksum=True)), (T, ipv4(tcp(), bad_checksum=True))]
    segments, stats = read(pcap(records, 101), ignore_checksums=True)
    assert [s.checksum_ok for s in segments] == [None, None]
    assert (stats.checksums_checked, stats.bad_checksums, stats.bad_ip_checksums) == ({}, {}, 0)


def test_checksum_suspects_name_the_sources_whose_segments_mostly_fail() -> None:
    # 10.0.0.1 sends with checksum offload (all bad but one); 10.0.0.2 answers correctly;
    # 10.0.0.3 has one bad segment of 10; 10.0.0.4 sent too few to judge.
    records = []
    for i in range(10):
        records.append((T, tcp4(seq=i, bad_checksum=i > 0)))
        records.append((T, tcp4(src=B4, dst=A4, seq=i)))
        records.append((T, tcp4(src="10.0.0.3", seq=i, bad_checksum=i == 0)))
    records.append((T, tcp4(src="10.0.0.4", bad_checksum=True)))
    _, stats = read(pcap(records, 101))
    assert stats.checksum_suspects() == [(ip_address(A4), 9, 10)]
    assert stats.checksum_suspects(minimum=1) == [
        (ip_address(A4), 9, 10), (ip_address("10.0.0.4"), 1, 1),
    ]  # fmt: skip


def test_a_segment_the_snap_length_cut_is_yielded_truncated() -> None:
    frame = ether(tcp4(flags=0x18, payload=b"0123456789"))
    segments, stats = read(pcap([(T, frame[:58], len(frame))], snaplen=58))
    assert [row(s) for s in segments] == [
        (1, A4, 40000, B4, 80, 0x18, 1000, 0, 65535, 10, 50, None, True)
    ]
    assert (segments[0].payload, stats.truncated, stats.checksums_checked) == (b"0123", 1, {})


def test_a_truncated_segment_with_a_bad_ip_header_is_still_known_bad() -> None:
    frame = ether(ipv4(tcp(payload=b"0123456789"), bad_checksum=True))
    segments, _ = read(pcap([(T, frame[:60], len(frame))]))
    assert [(s.truncated, s.checksum_ok) for s in segments] == [(True, False)]


def test_a_tcp_header_cut_short_is_counted_and_skipped() -> None:
    with_options = ether(tcp4(options=b"\x02\x04\x05\xb4", seq=2))
    records = [
        (T, ether(tcp4(seq=1))[:44], 54),  # 10 bytes of the TCP header
        (T, with_options[:56], len(with_options)),  # the header but not its options
        (T, ether(tcp4(seq=3))),
    ]
    segments, stats = read(pcap(records))
    assert [(s.record, s.seq) for s in segments] == [(3, 3)]
    assert stats.malformed == {"tcp header cut short": 2}
    assert stats.tcp_headers_cut == 2


def test_an_ip_header_cut_short_is_counted_and_skipped() -> None:
    records = [(T, tcp4()[:12], 40), (T, tcp6()[:30], 60), (T, ipv4(b"", options=b"\x01" * 8)[:24])]
    segments, stats = read(pcap(records, 101))
    assert segments == []
    assert stats.malformed == {"ip header cut short": 3}


def test_headers_that_do_not_hold_together_are_skipped() -> None:
    offset_4 = bytearray(tcp())
    offset_4[12] = 0x40  # a data offset of 4 words: shorter than the header
    offset_4 = bytes(offset_4)
    records = [
        (T, ipv4(offset_4)),
        (T, ipv4(tcp(), total=19)),  # a total length shorter than the header
        (T, ipv4(tcp()[:12])),  # the IP length says the segment is 12 bytes
        (T, b"\x55" + tcp4()[1:]),  # IP version 5
        (T, b"\x44" + tcp4()[1:]),  # a 16-byte IPv4 header
    ]
    segments, stats = read(pcap(records, 101))
    assert segments == []
    assert stats.malformed == {
        "tcp data offset out of range": 1,
        "ipv4 total length below its header length": 1,
        "tcp segment shorter than its header": 1,
        "ip version 5": 1,
        "ipv4 header length below 20": 1,
    }


def test_a_zero_total_length_is_segmentation_offload() -> None:
    packet = ipv4(tcp(payload=b"x" * 100), total=0)  # captured on the sender, before the NIC
    segments, _ = read(pcap([(T, packet)], 101))
    assert [(s.payload_len, s.ip_len, s.checksum_ok) for s in segments] == [(100, 140, True)]


def test_ipv6_zero_payload_length_is_segmentation_offload() -> None:
    packet = ipv6(tcp(A6, B6, payload=b"x" * 100), plen=0)
    segments, _ = read(pcap([(T, packet)], 101))
    assert [(s.payload_len, s.ip_len, s.checksum_ok) for s in segments] == [(100, 160, True)]


def test_options_that_overrun_are_dropped_and_counted() -> None:
    packet = tcp4(options=b"\x02\x08\x05\xb4")
    segments, stats = read(pcap([(T, packet), (T, packet)], 101))
    assert [(s.options, s.checksum_ok) for s in segments] == [((), True), ((), True)]
    assert stats.bad_tcp_options == 2


def test_ipv6_payload_length_beyond_the_capture_is_truncated() -> None:
    packet = ipv6(tcp(A6, B6, payload=b"abcdef"))
    segments, _ = read(pcap([(T, packet[:-2], len(packet))], 101))
    assert [row(s) for s in segments] == [
        (1, A6, 40000, B6, 80, 0x02, 1000, 0, 65535, 6, 66, None, True)
    ]


def test_the_checksum_verdict_agrees_with_the_wire_layer_on_random_segments() -> None:
    import random

    from synack.wire.checksum import tcp_checksum

    rng = random.Random(9293)
    records, expected = [], []
    for i in range(400):
        v6 = rng.random() < 0.5
        src, dst = (A6, B6) if v6 else (A4, B4)
        segment = bytearray(tcp(src, dst, seq=i, payload=rng.randbytes(rng.randrange(0, 1500))))
        if rng.random() < 0.3:  # damage a byte (sometimes a change that keeps the sum)
            segment[rng.randrange(len(segment))] ^= rng.choice((0x01, 0x80, 0xFF))
        packet = (ipv6 if v6 else ipv4)(bytes(segment), src, dst)
        records.append((T, packet))
        expected.append(tcp_checksum(ip_address(src).packed, ip_address(dst).packed, segment) == 0)
    segments, _ = read(pcap(records, 101))
    assert [s.checksum_ok for s in segments] == expected
    assert expected.count(False) == 122
