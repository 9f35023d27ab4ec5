"""ICMP errors about our segments (tcp/icmp.py): soft errors, aborts in
SYN-SENT, the sequence check, path MTU discovery; and the Host's routing of
ICMP packets to connections.

Each ICMP message is built as a router would send it (wire/icmp.py) and parsed
back, so the engine sees what the Host would hand it.
"""

from __future__ import annotations

import dataclasses
from ipaddress import ip_address

import pytest
from conftest import (
    IRS,
    ISS,
    LOCAL,
    PLAIN,
    REMOTE,
    SYN_OPTS,
    WINDOW,
    events,
    in_state,
    ours,
    out,
    peer,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from synack.host import Host
from synack.tcp.config import TcpConfig
from synack.tcp.connection import Connection
from synack.tcp.events import Connected, ConnectionAborted
from synack.tcp.state import State
from synack.wire.icmp import (
    FRAGMENTATION_NEEDED,
    HOST_UNREACHABLE,
    ICMP6_PACKET_TOO_BIG,
    ICMP_DEST_UNREACH,
    ICMP_SOURCE_QUENCH,
    NET_UNREACHABLE,
    PORT_UNREACHABLE,
    IcmpError,
    icmp_error_for_segment,
    parse_icmp_packet,
)
from synack.wire.ip import decode_tcp_packet, encode_tcp_packet
from synack.wire.segment import ACK, PSH, RST, SACK_PERMITTED, SYN, MaxSegmentSize, Segment

ROUTER = ip_address("10.0.0.254")
DATA = bytes(range(256)) * 20  # 5120 bytes


def icmp(conn: Connection, seg: Segment, icmp_type: int, code: int = 0, mtu: int = 0) -> IcmpError:
    """The error a router sends about ``seg``, which ``conn`` sent."""
    assert conn.remote is not None
    packet = icmp_error_for_segment(
        conn.local[0], conn.remote[0], seg, icmp_type, code, mtu, reporter=None
    )
    msg = parse_icmp_packet(packet)
    assert msg is not None
    return msg


def sending(conn: Connection, nbytes: int) -> list[Segment]:
    conn.send(DATA[:nbytes])
    return out(conn, 0.1)


# -- soft errors --------------------------------------------------------------


def test_established_host_unreachable_does_not_abort() -> None:
    conn = in_state(State.ESTABLISHED)
    [seg] = sending(conn, 100)
    assert seg == ours(ACK | PSH, ISS + 1, IRS + 1, payload=DATA[:100])
    conn.receive_icmp(icmp(conn, seg, ICMP_DEST_UNREACH, HOST_UNREACHABLE), 0.2)
    # RFC 1122 4.2.3.9: a soft error never aborts; nothing is sent either
    assert conn.state is State.ESTABLISHED
    assert out(conn, 0.2) == []
    assert events(conn) == []
    assert conn.soft_error == ("EHOSTUNREACH", "host unreachable")
    assert (conn.stats.icmp_received, conn.stats.icmp_soft_errors) == (1, 1)


def test_port_unreachable_in_established_is_soft_too() -> None:
    """RFC 5927 5.2: a hard error in a synchronized state is taken as soft."""
    conn = in_state(State.ESTABLISHED)
    [seg] = sending(conn, 100)
    conn.receive_icmp(icmp(conn, seg, ICMP_DEST_UNREACH, PORT_UNREACHABLE), 0.2)
    assert conn.state is State.ESTABLISHED
    assert conn.soft_error == ("ECONNREFUSED", "port unreachable")


def _time_out(conn: Connection) -> list[Segment]:
    sent: list[Segment] = []
    now = 0.2
    while conn.state is not State.CLOSED:
        deadline = conn.get_timer()
        assert deadline is not None
        now = max(now, deadline)
        conn.handle_timer(now)
        sent += out(conn, now)
    return sent


def test_retransmission_timeout_reports_the_soft_error() -> None:
    config = dataclasses.replace(PLAIN, retries=2, r2=1.0)
    conn = in_state(State.ESTABLISHED, config)
    [seg] = sending(conn, 100)
    conn.receive_icmp(icmp(conn, seg, ICMP_DEST_UNREACH, HOST_UNREACHABLE), 0.2)
    sent = _time_out(conn)
    resent = ours(ACK | PSH, ISS + 1, IRS + 1, payload=DATA[:100])
    assert sent == [resent, resent, ours(RST, ISS + 101, 0, window=0)]
    [aborted] = events(conn)
    assert isinstance(aborted, ConnectionAborted)
    assert aborted.error == "EHOSTUNREACH"
    assert "host unreachable" in aborted.reason


def test_retransmission_timeout_without_icmp_names_no_error() -> None:
    config = dataclasses.replace(PLAIN, retries=2, r2=1.0)
    conn = in_state(State.ESTABLISHED, config)
    sending(conn, 100)
    _time_out(conn)
    [aborted] = events(conn)
    assert isinstance(aborted, ConnectionAborted)
    assert aborted == ConnectionAborted(
        "connection aborted: retransmissions were not acknowledged (R2)", None
    )
    assert "ICMP" not in aborted.reason


def test_progress_clears_the_soft_error() -> None:
    conn = in_state(State.ESTABLISHED)
    [seg] = sending(conn, 100)
    conn.receive_icmp(icmp(conn, seg, ICMP_DEST_UNREACH, HOST_UNREACHABLE), 0.2)
    conn.receive_segment(peer(ACK, IRS + 1, ISS + 101), 0.3)
    assert conn.soft_error is None


# -- SYN-SENT -----------------------------------------------------------------


def test_syn_sent_port_unreachable_aborts() -> None:
    conn = Connection(LOCAL, REMOTE, PLAIN)
    conn.connect(0.0, iss=ISS)
    [syn] = out(conn)
    assert syn.flags == SYN and syn.seq == ISS
    conn.receive_icmp(icmp(conn, syn, ICMP_DEST_UNREACH, PORT_UNREACHABLE), 0.1)
    assert conn.state is State.CLOSED
    assert out(conn, 0.1) == []  # no RST: the peer has no TCB
    refused = ConnectionAborted("connection failed: port unreachable", "ECONNREFUSED")
    assert events(conn) == [refused]
    assert conn.get_timer() is None
    assert conn.stats.icmp_aborts == 1


def test_syn_sent_host_unreachable_aborts_by_default() -> None:
    """RFC 5461 4 (Linux, the BSDs): a soft error ends a connection attempt."""
    conn = Connection(LOCAL, REMOTE, PLAIN)
    conn.connect(0.0, iss=ISS)
    [syn] = out(conn)
    conn.receive_icmp(icmp(conn, syn, ICMP_DEST_UNREACH, HOST_UNREACHABLE), 0.1)
    assert conn.state is State.CLOSED
    unreachable = ConnectionAborted("connection failed: host unreachable", "EHOSTUNREACH")
    assert events(conn) == [unreachable]


def test_syn_sent_host_unreachable_remembered_without_the_option() -> None:
    """RFC 1122 4.2.3.9: only hard errors abort; the soft one waits for the timeout."""
    config = dataclasses.replace(PLAIN, icmp_abort_in_syn_sent=False, syn_retries=1, syn_r2=1.0)
    conn = Connection(LOCAL, REMOTE, config)
    conn.connect(0.0, iss=ISS)
    [syn] = out(conn)
    conn.receive_icmp(icmp(conn, syn, ICMP_DEST_UNREACH, HOST_UNREACHABLE), 0.1)
    assert conn.state is State.SYN_SENT
    assert events(conn) == []
    sent = _time_out(conn)
    assert [s.flags for s in sent] == [SYN]  # one retransmission, then give up
    [aborted] = events(conn)
    assert isinstance(aborted, ConnectionAborted) and aborted.error == "EHOSTUNREACH"
    # a hard error still aborts at once
    conn = Connection(LOCAL, REMOTE, config)
    conn.connect(0.0, iss=ISS)
    [syn] = out(conn)
    conn.receive_icmp(icmp(conn, syn, ICMP_DEST_UNREACH, PORT_UNREACHABLE), 0.1)
    assert conn.state is State.CLOSED


# -- validation -----------------------------------------------------------------


def test_quoted_sequence_out_of_window_is_ignored() -> None:
    conn = in_state(State.ESTABLISHED)
    [seg] = sending(conn, 100)
    # SND.UNA..SND.MAX is ISS+1..ISS+101
    for seq in (ISS + 102, ISS, (ISS - 5000) % 2**32, ISS + 1 + 70000):
        forged = dataclasses.replace(seg, seq=seq)
        conn.receive_icmp(icmp(conn, forged, ICMP_DEST_UNREACH, HOST_UNREACHABLE), 0.2)
        conn.receive_icmp(icmp(conn, forged, ICMP_DEST_UNREACH, FRAGMENTATION_NEEDED, 600), 0.2)
    assert conn.stats.icmp_out_of_window == 8
    assert conn.soft_error is None
    assert (conn.path_mtu, conn.snd_mss) == (1500, 1460)
    assert out(conn, 0.2) == []
    # SND.MAX itself is in (a bare ACK carries it)
    conn.receive_icmp(icmp(conn, dataclasses.replace(seg, seq=ISS + 101), 3, 1), 0.2)
    assert conn.soft_error is not None


def test_source_quench_is_ignored() -> None:
    conn = in_state(State.ESTABLISHED)
    [seg] = sending(conn, 100)
    cwnd = conn.cc.cwnd
    conn.receive_icmp(icmp(conn, seg, ICMP_SOURCE_QUENCH), 0.2)
    assert (conn.stats.icmp_ignored, conn.soft_error, conn.cc.cwnd) == (1, None, cwnd)


# -- path MTU discovery -----------------------------------------------------------


def test_fragmentation_needed_resends_the_flight_split() -> None:
    conn = in_state(State.ESTABLISHED)
    sent = sending(conn, 3 * 1460)  # the initial window: three full segments
    assert [len(s.payload) for s in sent] == [1460, 1460, 1460]
    cwnd, ssthresh = conn.cc.cwnd, conn.cc.ssthresh
    conn.receive_icmp(icmp(conn, sent[0], ICMP_DEST_UNREACH, FRAGMENTATION_NEEDED, 1000), 0.2)
    assert (conn.path_mtu, conn.snd_mss, conn.mss_payload()) == (1000, 960, 960)
    # at once, all of the flight in 960-byte pieces (no SACK: no per-segment records)
    resent = out(conn, 0.2)
    starts = [ISS + 1 + 960 * i for i in range(5)]
    sizes = [960, 960, 960, 960, 3 * 1460 - 4 * 960]
    assert resent == [
        ours(ACK | (PSH if i == 4 else 0), start, IRS + 1, payload=DATA[start - ISS - 1 :][:size])
        for i, (start, size) in enumerate(zip(starts, sizes, strict=True))
    ]
    # not a congestion event (Linux's tcp_simple_retransmit)
    assert (conn.cc.cwnd, conn.cc.ssthresh, conn.stats.timeouts) == (cwnd, ssthresh, 0)
    assert (conn.stats.pmtu_changes, conn.stats.retransmitted_segments) == (1, 5)
    assert conn.recovery.mss == 960
    # new data goes out at the new size
    conn.receive_segment(peer(ACK, IRS + 1, ISS + 1 + 3 * 1460), 0.3)
    more = sending(conn, 4000)
    assert more and all(len(s.payload) <= 960 for s in more)


SACK_CONFIG = dataclasses.replace(PLAIN, sack=True, nodelay=True)


def test_fragmentation_needed_with_sack_resends_only_the_big_ones() -> None:
    conn = Connection(LOCAL, REMOTE, SACK_CONFIG)
    conn.connect(0.0, iss=ISS)
    out(conn)
    conn.receive_segment(
        peer(SYN | ACK, IRS, ISS + 1, options=(MaxSegmentSize(1460), SACK_PERMITTED)), 0.0
    )
    out(conn)
    conn.send(DATA[:1460])
    first = out(conn, 0.1)
    conn.send(DATA[1460:1760])  # a small segment: fits the new MTU
    second = out(conn, 0.1)
    assert [len(s.payload) for s in first + second] == [1460, 300]
    conn.receive_icmp(icmp(conn, first[0], ICMP_DEST_UNREACH, FRAGMENTATION_NEEDED, 1000), 0.2)
    resent = out(conn, 0.2)
    assert [(s.seq, len(s.payload)) for s in resent] == [(ISS + 1, 960), (ISS + 961, 500)]


LOCAL6 = (ip_address("fd00::1"), 40000)
REMOTE6 = (ip_address("fd09::2"), 80)


def test_ipv6_packet_too_big() -> None:
    conn = Connection(LOCAL6, REMOTE6, PLAIN)
    conn.connect(0.0, iss=ISS)
    out(conn)
    conn.receive_segment(peer(SYN | ACK, IRS, ISS + 1, options=(MaxSegmentSize(1440),)), 0.0)
    out(conn)
    [seg] = sending(conn, 1440)
    conn.receive_icmp(icmp(conn, seg, ICMP6_PACKET_TOO_BIG, 0, 1280), 0.2)
    # RFC 8201: 1280 less 40 (IPv6) and 20 (TCP)
    assert (conn.path_mtu, conn.snd_mss) == (1280, 1220)
    assert out(conn, 0.2) == [
        ours(ACK, ISS + 1, IRS + 1, payload=DATA[:1220]),
        ours(ACK | PSH, ISS + 1221, IRS + 1, payload=DATA[1220:1440]),
    ]


def test_ipv6_packet_too_big_under_1280_is_discarded() -> None:
    """RFC 8201 4: a next-hop MTU under the IPv6 minimum link MTU is discarded."""
    conn = Connection(LOCAL6, REMOTE6, PLAIN)
    conn.connect(0.0, iss=ISS)
    out(conn)
    conn.receive_segment(peer(SYN | ACK, IRS, ISS + 1, options=(MaxSegmentSize(1440),)), 0.0)
    out(conn)
    [seg] = sending(conn, 1440)
    conn.receive_icmp(icmp(conn, seg, ICMP6_PACKET_TOO_BIG, 0, 1000), 0.2)
    assert (conn.path_mtu, conn.snd_mss, conn.stats.icmp_ignored) == (1500, 1440, 1)
    assert out(conn, 0.2) == []


def test_larger_mtu_is_ignored() -> None:
    conn = in_state(State.ESTABLISHED)
    [seg] = sending(conn, 1460)
    for mtu in (1500, 9000):
        conn.receive_icmp(icmp(conn, seg, ICMP_DEST_UNREACH, FRAGMENTATION_NEEDED, mtu), 0.2)
    assert (conn.path_mtu, conn.snd_mss, conn.stats.pmtu_changes) == (1500, 1460, 0)
    assert conn.stats.icmp_ignored == 2
    assert out(conn, 0.2) == []
    # and once lowered, a report between the old and new values does not raise it
    conn.receive_icmp(icmp(conn, seg, ICMP_DEST_UNREACH, FRAGMENTATION_NEEDED, 1200), 0.2)
    conn.receive_icmp(icmp(conn, seg, ICMP_DEST_UNREACH, FRAGMENTATION_NEEDED, 1400), 0.2)
    assert (conn.path_mtu, conn.snd_mss, conn.stats.pmtu_changes) == (1200, 1160, 1)


def test_no_mtu_given_takes_the_plateau_below() -> None:
    """RFC 1191 5 and 7: a 1500-byte packet's next plateau is 1492."""
    conn = in_state(State.ESTABLISHED)
    [seg] = sending(conn, 1460)
    conn.receive_icmp(icmp(conn, seg, ICMP_DEST_UNREACH, FRAGMENTATION_NEEDED, 0), 0.2)
    assert (conn.path_mtu, conn.snd_mss) == (1492, 1452)
    assert [len(s.payload) for s in out(conn, 0.2)] == [1452, 8]


def test_ipv4_mtu_below_the_floor() -> None:
    conn = in_state(State.ESTABLISHED)
    [seg] = sending(conn, 1460)
    conn.receive_icmp(icmp(conn, seg, ICMP_DEST_UNREACH, FRAGMENTATION_NEEDED, 300), 0.2)
    assert (conn.path_mtu, conn.snd_mss, conn.dont_fragment) == (552, 512, False)


def test_packet_too_big_in_syn_sent_lowers_the_mss_agreed_later() -> None:
    conn = Connection(LOCAL, REMOTE, PLAIN)
    conn.connect(0.0, iss=ISS)
    [syn] = out(conn)
    conn.receive_icmp(icmp(conn, syn, ICMP_DEST_UNREACH, FRAGMENTATION_NEEDED, 1000), 0.1)
    assert conn.state is State.SYN_SENT and out(conn, 0.1) == []
    conn.receive_segment(peer(SYN | ACK, IRS, ISS + 1, options=SYN_OPTS), 0.2)
    assert conn.snd_mss == 960


def test_pmtud_off_ignores_packet_too_big() -> None:
    conn = in_state(State.ESTABLISHED, dataclasses.replace(PLAIN, pmtud=False))
    assert conn.dont_fragment is False
    [seg] = sending(conn, 1460)
    conn.receive_icmp(icmp(conn, seg, ICMP_DEST_UNREACH, FRAGMENTATION_NEEDED, 1000), 0.2)
    assert (conn.path_mtu, conn.snd_mss, conn.stats.icmp_ignored) == (1500, 1460, 1)


# -- through a Host -----------------------------------------------------------------

US, THEM = LOCAL[0], REMOTE[0]


def _host_established(config: TcpConfig = PLAIN) -> tuple[Host, Connection, bytes]:
    host = Host(US, config=config)
    conn = host.connect((THEM, 80), 0.0, local_port=LOCAL[1], iss=ISS)
    host.packets_to_send(0.0)  # the SYN
    synack = Segment(80, LOCAL[1], IRS, ISS + 1, SYN | ACK, WINDOW, options=SYN_OPTS)
    host.receive_packet(encode_tcp_packet(THEM, US, synack), 0.0)
    host.packets_to_send(0.0)
    while host.next_event() is not None:
        pass
    conn.send(DATA[:1460])
    [data] = host.packets_to_send(0.1)
    return host, conn, data


def test_host_routes_icmp_to_the_quoted_connection() -> None:
    host, conn, data = _host_established()
    assert data[6] & 0x40  # DF (RFC 1191 2)
    _, seg = decode_tcp_packet(data)
    packet = icmp_error_for_segment(US, THEM, seg, 3, FRAGMENTATION_NEEDED, 1000, ROUTER)
    host.receive_packet(packet, 0.2)
    assert (host.stats.icmp_received, host.stats.icmp_delivered) == (1, 1)
    assert conn.snd_mss == 960
    resent = [decode_tcp_packet(p)[1] for p in host.packets_to_send(0.2)]
    assert [(s.seq, len(s.payload)) for s in resent] == [(ISS + 1, 960), (ISS + 961, 500)]
    # another connection's 4-tuple: ignored
    other = dataclasses.replace(seg, src_port=40001)
    host.receive_packet(icmp_error_for_segment(US, THEM, other, 3, 1, reporter=ROUTER), 0.3)
    assert host.stats.icmp_ignored == 1 and conn.soft_error is None


def test_host_drops_and_counts_a_bad_icmp_checksum() -> None:
    host, conn, data = _host_established()
    _, seg = decode_tcp_packet(data)
    bad = icmp_error_for_segment(US, THEM, seg, 3, 4, 1000, ROUTER, checksum=0xBEEF)
    host.receive_packet(bad, 0.2)
    assert host.stats.malformed_reasons == {"icmp-checksum": 1}
    assert host.stats.icmp_delivered == 0
    assert (conn.snd_mss, conn.stats.icmp_received) == (1460, 0)
    assert host.packets_to_send(0.2) == []


def test_host_sends_without_df_below_the_floor() -> None:
    host, _, data = _host_established()
    _, seg = decode_tcp_packet(data)
    host.receive_packet(icmp_error_for_segment(US, THEM, seg, 3, 4, 400, ROUTER), 0.2)
    packets = host.packets_to_send(0.2)
    assert packets and all(not p[6] & 0x40 for p in packets)
    assert [len(decode_tcp_packet(p)[1].payload) for p in packets] == [512, 512, 436]


def test_host_without_pmtud_sends_without_df() -> None:
    _, _, data = _host_established(dataclasses.replace(PLAIN, pmtud=False))
    assert not data[6] & 0x40


def test_host_syn_sent_port_unreachable_event() -> None:
    host = Host(US, config=PLAIN)
    conn = host.connect((THEM, 80), 0.0, local_port=LOCAL[1], iss=ISS)
    [syn] = host.packets_to_send(0.0)
    _, seg = decode_tcp_packet(syn)
    host.receive_packet(icmp_error_for_segment(US, THEM, seg, 3, 3), 0.1)
    event = host.next_event()
    assert event is not None and event.connection is conn
    assert event.event == ConnectionAborted("connection failed: port unreachable", "ECONNREFUSED")
    assert host.packets_to_send(0.1) == []
    assert conn.state is State.CLOSED and not host.connections
    assert not isinstance(host.next_event(), Connected)


# -- robustness ---------------------------------------------------------------------

icmp_messages = st.builds(
    IcmpError,
    version=st.just(4),
    type=st.sampled_from([3, 4, 11, 12]),
    code=st.integers(0, 15),
    kind=st.sampled_from(
        ["unreachable", "packet-too-big", "time-exceeded", "parameter-problem", "source-quench"]
    ),
    mtu=st.one_of(st.none(), st.integers(0, 70000)),
    src=st.just(ROUTER.packed),
    dst=st.just(US.packed),
    quoted_src=st.just(US.packed),
    quoted_dst=st.just(THEM.packed),
    src_port=st.just(LOCAL[1]),
    dst_port=st.just(REMOTE[1]),
    seq=st.one_of(st.integers(ISS - 2, ISS + 3000), st.integers(0, 2**32 - 1)),
    quoted_length=st.integers(0, 65535),
)


@settings(max_examples=300, deadline=None)
@given(
    state=st.sampled_from([s for s in State if s is not State.LISTEN]),
    messages=st.lists(icmp_messages, max_size=5),
)
def test_any_icmp_in_any_state_never_raises(state: State, messages: list[IcmpError]) -> None:
    """Network input never raises (docs/architecture.md); the MSS never rises,
    the path MTU never goes under its floor, and synchronized states survive."""
    conn = in_state(state)
    if state in (State.ESTABLISHED, State.CLOSE_WAIT):
        conn.send(DATA[:3000])
        out(conn, 0.1)
    mss = conn.snd_mss
    for msg in messages:
        conn.receive_icmp(msg, 0.2)
        out(conn, 0.2)
        assert conn.snd_mss <= mss and conn.path_mtu >= 552
        if state.synchronized:
            assert conn.state is state


# -- RFC 6069: the RTO reverted ---------------------------------------------------------


def _retransmitting() -> tuple[Connection, Segment]:
    """ESTABLISHED with 100 bytes out since 0.1 s, resent at 1.1 and 3.1 s (RTO 1,
    2, then 4 s: the next timeout at 7.1 s)."""
    conn = in_state(State.ESTABLISHED)
    [seg] = sending(conn, 100)
    for t in (1.1, 3.1):
        assert conn.get_timer() == pytest.approx(t)
        conn.handle_timer(t)
        assert out(conn, t) == [seg]
    assert (conn.rtt.rto, conn.get_timer()) == (4.0, pytest.approx(7.1))
    return conn, seg


def test_unreachable_for_snd_una_undoes_one_rto_back_off() -> None:
    conn, seg = _retransmitting()
    conn.receive_icmp(icmp(conn, seg, ICMP_DEST_UNREACH, HOST_UNREACHABLE), 3.5)
    # one back-off undone: RTO 2 s, the timer 2 s earlier; nothing sent yet
    assert (conn.rtt.rto, conn.get_timer()) == (2.0, pytest.approx(5.1))
    assert out(conn, 3.5) == []
    conn.receive_icmp(icmp(conn, seg, ICMP_DEST_UNREACH, NET_UNREACHABLE), 4.0)
    assert (conn.rtt.rto, conn.get_timer()) == (1.0, pytest.approx(4.1))
    # no back-off left to undo
    conn.receive_icmp(icmp(conn, seg, ICMP_DEST_UNREACH, HOST_UNREACHABLE), 4.05)
    assert (conn.rtt.rto, conn.get_timer()) == (1.0, pytest.approx(4.1))
    assert conn.stats.rto_reverts == 2


def test_reverted_timer_already_run_out_fires_now() -> None:
    conn, seg = _retransmitting()
    conn.receive_icmp(icmp(conn, seg, ICMP_DEST_UNREACH, HOST_UNREACHABLE), 6.0)
    # reverted to 2 s, the timer would have run out at 5.1: the segment goes now,
    # and the timeout backs the RTO off again
    assert out(conn, 6.0) == [seg]
    assert (conn.rtt.rto, conn.get_timer()) == (4.0, pytest.approx(10.0))
    assert (conn.stats.rto_reverts, conn.stats.timeouts) == (1, 3)


def test_no_revert_unless_retransmitting_the_quoted_snd_una() -> None:
    conn, seg = _retransmitting()
    # port unreachable is not a path failure (RFC 6069 3)
    conn.receive_icmp(icmp(conn, seg, ICMP_DEST_UNREACH, PORT_UNREACHABLE), 3.5)
    # a sequence number in the flight but not SND.UNA
    later = dataclasses.replace(seg, seq=ISS + 50)
    conn.receive_icmp(icmp(conn, later, ICMP_DEST_UNREACH, HOST_UNREACHABLE), 3.5)
    assert (conn.rtt.rto, conn.get_timer(), conn.stats.rto_reverts) == (4.0, pytest.approx(7.1), 0)
    # nothing resent yet: nothing to undo
    fresh = in_state(State.ESTABLISHED)
    [first] = sending(fresh, 100)
    fresh.receive_icmp(icmp(fresh, first, ICMP_DEST_UNREACH, HOST_UNREACHABLE), 0.5)
    assert (fresh.rtt.rto, fresh.get_timer()) == (1.0, pytest.approx(1.1))
    # and off, as RFC 6298 alone would have it
    off = in_state(State.ESTABLISHED, dataclasses.replace(PLAIN, icmp_rto_revert=False))
    [data] = sending(off, 100)
    for t in (1.1, 3.1):
        off.handle_timer(t)
        out(off, t)
    off.receive_icmp(icmp(off, data, ICMP_DEST_UNREACH, HOST_UNREACHABLE), 3.5)
    assert (off.rtt.rto, off.get_timer()) == (4.0, pytest.approx(7.1))
