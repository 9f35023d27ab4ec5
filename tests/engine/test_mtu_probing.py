"""Packetization-layer path MTU discovery (RFC 4821, tcp/mtuprobe.py), as
Linux's tcp_mtu_probing: the probe, its ACK raising the MSS, its loss
lowering the search's top, the conditions for sending one, black hole
detection, and software GSO's pushed GSO packets.

The setting is Linux's mtu_probe/basic-v4.pkt: a route locked at MTU 640
(MSS 600) that then becomes 1500, a peer offering MSS 1460, base MSS 512.
"""

from __future__ import annotations

from dataclasses import replace

from conftest import IRS, ISS, PLAIN, in_state, ours, out, peer

from synack.tcp.connection import Connection
from synack.tcp.mtuprobe import MtuProbing
from synack.tcp.state import State
from synack.wire.icmp import (
    FRAGMENTATION_NEEDED,
    ICMP_DEST_UNREACH,
    IcmpError,
    icmp_error_for_segment,
    parse_icmp_packet,
)
from synack.wire.segment import ACK, PSH, Segment

DATA = bytes(range(256)) * 40  # 10240 bytes

PROBING = replace(
    PLAIN,
    mss=None,  # from the MTU: 600
    mtu=640,
    mtu_probing=2,
    base_mss=512,
    initial_window=11 * 600,  # Linux's tcp_mtu_probe wants 11 segments of cwnd
    nodelay=True,
)


def established(config: object = PROBING) -> Connection:
    assert isinstance(config, type(PLAIN))
    conn = in_state(State.ESTABLISHED, config)
    assert conn.snd_mss == 600
    return conn


def search(conn: Connection) -> MtuProbing:
    """The connection's RFC 4821 search state, which probing keeps."""
    assert conn.mtu_probing is not None
    return conn.mtu_probing


def data(start: int, end: int, flags: int = ACK) -> object:
    """Our segment carrying DATA[start:end] (offsets from ISS + 1)."""
    return ours(flags, ISS + 1 + start, IRS + 1, payload=DATA[start:end])


def test_the_range_is_set_up_at_the_handshake() -> None:
    conn = established()
    mp = search(conn)
    assert mp.enabled
    assert (mp.search_low, mp.search_high) == (552, 640)  # base 512 + 40; the route
    assert conn.mss_clamp == 1460  # the peer's MSS


def test_a_probe_goes_first_and_its_ack_raises_the_mss() -> None:
    conn = established()
    conn.route_mtu_changed(1500)
    assert conn.snd_mss == 600  # a larger route MTU waits for a probe
    assert search(conn).search_high == 1500
    conn.send(DATA[:4000])
    # the probe: the midpoint of 552..1500 is 1026, 986 bytes of data; then
    # the rest in segments of the MSS that works
    assert out(conn, 0.1) == [
        data(0, 986),
        data(986, 1586),
        data(1586, 2186),
        data(2186, 2786),
        data(2786, 3386),
        data(3386, 3986),
        data(3986, 4000, ACK | PSH),
    ]
    mp = search(conn)
    assert (mp.probe_mtu, mp.probe_start, mp.probe_end) == (1026, ISS + 1, ISS + 987)
    # an ACK short of the probe's end changes nothing
    conn.receive_segment(peer(ACK, IRS + 1, ISS + 501), 0.2)
    assert conn.snd_mss == 600 and mp.probe_mtu == 1026
    conn.receive_segment(peer(ACK, IRS + 1, ISS + 4001), 0.2)
    assert (mp.search_low, mp.probe_mtu, mp.probes_acked) == (1026, 0, 1)
    assert conn.snd_mss == 986
    assert conn.recovery.mss == conn.cc.mss == 986
    conn.send(DATA[4000:6000])
    # too little queued for the next probe (1223 bytes and four segments)
    assert out(conn, 0.3) == [
        data(4000, 4986),
        data(4986, 5972),
        data(5972, 6000, ACK | PSH),
    ]


def test_without_the_route_raised_no_probe_is_larger_than_the_mss() -> None:
    conn = established()
    conn.send(DATA[:4000])
    # 552..640: the midpoint, 596, carries 556 bytes: no larger than 600
    segs = out(conn, 0.1)
    assert [len(s.payload) for s in segs] == [600] * 6 + [400]
    assert search(conn).probes_sent == 0


def test_no_probe_without_enough_queued() -> None:
    conn = established()
    conn.route_mtu_changed(1500)
    # the probe (986) and four segments of 600 need 3386 bytes
    conn.send(DATA[:3385])
    assert [len(s.payload) for s in out(conn, 0.1)] == [600] * 5 + [385]
    assert search(conn).probes_sent == 0


def test_no_probe_under_eleven_segments_of_cwnd() -> None:
    conn = established(replace(PROBING, initial_window=10 * 600))
    conn.route_mtu_changed(1500)
    conn.send(DATA[:4000])
    assert [len(s.payload) for s in out(conn, 0.1)] == [600] * 6 + [400]
    assert search(conn).probes_sent == 0


def test_mode_zero_never_probes() -> None:
    conn = established(replace(PROBING, mtu_probing=0))
    conn.route_mtu_changed(1500)
    conn.send(DATA[:4000])
    assert [len(s.payload) for s in out(conn, 0.1)] == [600] * 6 + [400]
    assert conn.mtu_probing is None  # off: no search is kept at all


def test_a_lost_probe_lowers_the_top_of_the_range() -> None:
    conn = established()
    conn.route_mtu_changed(1500)
    conn.send(DATA[:4000])
    assert len(out(conn, 0.1)[0].payload) == 986
    # the probe is lost: three duplicate ACKs for its start
    for _ in range(3):
        conn.receive_segment(peer(ACK, IRS + 1, ISS + 1), 0.2)
    mp = search(conn)
    assert (mp.search_high, mp.probe_mtu, mp.probes_lost) == (1025, 0, 1)
    # the MSS is what the range's bottom vouches for, and the probe's data
    # goes again in a segment of that size
    assert conn.snd_mss == 512
    assert out(conn, 0.2) == [data(0, 512)]


def _lose_a_probe_to_a_timeout(conn: Connection) -> float:
    """Let the route carry 1500 bytes, send enough for a probe, and let the
    retransmission timer fire: the probe was lost. When it fired."""
    conn.route_mtu_changed(1500)
    conn.send(DATA[:4000])
    out(conn, 0.1)
    timer = conn.get_timer()
    assert timer is not None
    conn.handle_timer(timer)
    return timer


def test_a_probe_lost_to_a_timeout_lowers_the_top() -> None:
    conn = established()
    timer = _lose_a_probe_to_a_timeout(conn)
    mp = search(conn)
    assert (mp.search_high, mp.probes_lost) == (1025, 1)
    assert out(conn, timer) == [data(0, 512)]


def test_mode_one_starts_after_r1_timeouts() -> None:
    conn = established(replace(PROBING, mtu_probing=1))
    assert not search(conn).enabled
    conn.send(DATA[:600])
    assert out(conn, 0.1) == [data(0, 600, ACK | PSH)]
    sizes = []
    for _ in range(3):
        timer = conn.get_timer()
        assert timer is not None
        conn.handle_timer(timer)
        sizes.append([len(s.payload) for s in out(conn, timer)])
    # the third timeout (r1) suspects a black hole: the MSS falls to the base
    assert sizes == [[600], [600], [512]]
    assert search(conn).enabled
    assert conn.snd_mss == 512


def test_software_gso_pushes_each_gso_packet() -> None:
    # Linux with offload off: GSO packets of at most half of cwnd (11 segments:
    # 5), cut into segments, the last of each pushed
    conn = established(replace(PROBING, mtu_probing=0, software_gso=True))
    conn.send(DATA[:4000])
    segs = out(conn, 0.1)
    assert [(len(s.payload), bool(s.flags & PSH)) for s in segs] == [
        (600, False),
        (600, False),
        (600, False),
        (600, False),
        (600, True),
        (600, False),
        (400, True),
    ]


def test_minshall_sends_a_runt_when_no_small_segment_is_out() -> None:
    nagle = replace(PROBING, mtu_probing=0, nodelay=False)
    conn = established(replace(nagle, nagle_minshall=True))
    conn.send(DATA[:1000])
    assert [len(s.payload) for s in out(conn, 0.1)] == [600, 400]
    # now a small segment is out: the next runt waits for its ACK
    conn.send(DATA[1000:1100])
    assert out(conn, 0.1) == []
    conn.receive_segment(peer(ACK, IRS + 1, ISS + 1001), 0.2)
    assert out(conn, 0.2) == [data(1000, 1100, ACK | PSH)]
    # classic Nagle holds the first runt already
    conn = established(nagle)
    conn.send(DATA[:1000])
    assert [len(s.payload) for s in out(conn, 0.1)] == [600]


def icmp_too_big(conn: Connection, seg: object, mtu: int) -> IcmpError:
    assert isinstance(seg, Segment) and conn.remote is not None
    packet = icmp_error_for_segment(
        conn.local[0], conn.remote[0], seg, ICMP_DEST_UNREACH, FRAGMENTATION_NEEDED, mtu
    )
    msg = parse_icmp_packet(packet)
    assert msg is not None
    return msg


def test_a_probe_too_big_for_a_router_goes_again_at_once() -> None:
    conn = established()
    conn.route_mtu_changed(1500)
    conn.send(DATA[:4000])
    segs = out(conn, 0.1)
    conn.receive_icmp(icmp_too_big(conn, segs[0], 1000), 0.15)
    mp = search(conn)
    assert (conn.path_mtu, mp.search_high, mp.probes_lost) == (1000, 1000, 1)
    # the probe's data, in segments of what the range's bottom vouches for;
    # the 600-byte segments after it fit the path and stay
    assert conn.snd_mss == 512
    assert out(conn, 0.15) == [data(0, 512), data(512, 986)]


def test_a_router_narrower_than_every_segment_has_the_flight_resent() -> None:
    conn = established()
    conn.route_mtu_changed(1500)
    conn.send(DATA[:4000])
    segs = out(conn, 0.1)
    conn.receive_icmp(icmp_too_big(conn, segs[0], 580), 0.15)
    # 580 carries 540 bytes: the probe and the 600-byte segments were all
    # dropped; the range's bottom (512) is what is sent now
    assert conn.snd_mss == 512
    assert [len(s.payload) for s in out(conn, 0.15)] == [512] * 7 + [416]


def test_a_base_mss_of_zero_never_makes_the_mss_under_linuxs_floor() -> None:
    """tcp_base_mss and tcp_mtu_probe_floor 0: a lost probe lowers the MSS
    to the range's bottom, but never under tcp_min_snd_mss (48), as Linux's
    tcp_mtu_to_mss (an MSS of 0 stalled the connection)."""
    conn = established(replace(PROBING, base_mss=0, mtu_probe_floor=0))
    timer = _lose_a_probe_to_a_timeout(conn)
    assert search(conn).probes_lost == 1
    assert conn.snd_mss == 48
    assert out(conn, timer) == [data(0, 48)]


def test_with_probing_off_a_connection_holds_no_search_but_keeps_the_clamp() -> None:
    """Off (the default, tcp_mtu_probing 0), no search state is kept (issue
    16: idle memory); the peer's MSS still bounds the MSS after an ICMP
    "packet too big" and a route MTU that grows back."""
    conn = established(replace(PROBING, mtu_probing=0))
    assert conn.mtu_probing is None
    assert conn.mss_clamp == 1460
    assert conn.snd_mss == 600  # the route's MTU of 640
    conn.route_mtu_changed(560)
    assert conn.snd_mss == 560 - 40  # a smaller MTU holds at once
    conn.route_mtu_changed(9000)
    assert conn.snd_mss == 560 - 40  # a larger one waits for a probe, and none goes
