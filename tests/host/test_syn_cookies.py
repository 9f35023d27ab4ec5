"""Host: SYN cookies in each mode (never, on-overflow, always) and bounded half-open entries."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from synack.host import HALF_OPEN_LIFETIME, Host
from synack.tcp.config import TcpConfig
from synack.tcp.isn import FixedIsn
from synack.tcp.state import State
from synack.tcp.syncookies import decode_timestamp
from synack.wire.ip import decode_tcp_packet, encode_tcp_packet
from synack.wire.segment import (
    ACK,
    CWR,
    ECE,
    RST,
    SACK_PERMITTED,
    SYN,
    MaxSegmentSize,
    Segment,
    Timestamps,
    WindowScale,
)

US = ip_address("10.0.0.2")
THEM = ip_address("10.0.0.1")
PLAIN = TcpConfig(window_scaling=False, timestamps=False, sack=False, delayed_ack=False)
FULL = TcpConfig(ecn="passive", delayed_ack=False)
ISN = 5000  # the FixedIsn of a normal passive open: a cookie is anything else


def inject(host: Host, seg: Segment, now: float = 0.0) -> list[Segment]:
    host.receive_packet(encode_tcp_packet(THEM, US, seg), now)
    return [decode_tcp_packet(p)[1] for p in host.packets_to_send(now)]


def server(mode: str, backlog: int = 2, config: TcpConfig = PLAIN, **kw: object) -> Host:
    host = Host(US, config, isn=FixedIsn(ISN), syn_cookies=mode, **kw)  # type: ignore[arg-type]
    host.listen(80, backlog=backlog)
    return host


def syn(port: int, isn: int = 100, opts: tuple = (), flags: int = SYN) -> Segment:
    return Segment(port, 80, isn, 0, flags, 65535, options=opts)


def ack_for(synack: Segment, port: int, isn: int = 100, opts: tuple = ()) -> Segment:
    return Segment(port, 80, isn + 1, synack.seq + 1, ACK, 65535, options=opts)


def fill(host: Host, count: int) -> None:
    for port in range(1, count + 1):
        (reply,) = inject(host, syn(port, isn=port))
        assert reply.seq == ISN  # a normal half-open entry


def test_never_drops_syns_when_the_queue_is_full() -> None:
    host = server("never")
    fill(host, 2)
    assert inject(host, syn(3)) == []
    assert host.stats.syns_dropped_backlog == 1 and host.stats.syn_cookies_sent == 0


def test_never_does_not_check_acks() -> None:
    host = server("never")
    assert inject(host, Segment(9, 80, 1, 4242, ACK, 65535)) == [Segment(80, 9, 4242, 0, RST, 0)]
    assert host.stats.syn_cookies_failed == 0


def test_on_overflow_answers_with_a_cookie_once_the_queue_is_full() -> None:
    host = server("on-overflow")
    fill(host, 2)
    (synack,) = inject(host, syn(3), now=0.5)
    assert synack.flags == SYN | ACK and synack.ack == 101 and synack.seq != ISN
    assert synack.options == (MaxSegmentSize(1460),)  # no timestamps: nothing else offered
    assert len(host.connections) == 2  # nothing kept for the cookie
    assert inject(host, ack_for(synack, 3), now=0.6) == []
    conn = host.accept(80)
    assert conn is not None and conn.state is State.ESTABLISHED
    assert (conn.iss, conn.irs, conn.snd_mss) == (synack.seq, 100, 536)  # 536: table entry 0
    assert conn.rtt.srtt is None  # the SYN,ACK was never timed: no RTT sample of 0
    stats = host.stats
    assert (stats.syn_cookies_sent, stats.syn_cookies_validated, stats.syn_cookies_failed) == (
        1, 1, 0,
    )  # fmt: skip
    assert stats.syns_dropped_backlog == 0


def test_on_overflow_keeps_state_while_there_is_room() -> None:
    host = server("on-overflow")
    (synack,) = inject(host, syn(1))
    assert synack.seq == ISN and host.stats.syn_cookies_sent == 0
    # with no cookie sent lately, a stray ACK is not worth a hash: RST, not counted
    assert inject(host, Segment(9, 80, 1, 4242, ACK, 65535)) == [Segment(80, 9, 4242, 0, RST, 0)]
    assert host.stats.syn_cookies_failed == 0


def test_always_sends_cookies_and_keeps_nothing() -> None:
    host = server("always")
    (synack,) = inject(host, syn(1))
    assert synack.seq != ISN and host.connections == {} and not host.listeners[80].syn_queue
    inject(host, ack_for(synack, 1), now=0.05)
    conn = host.accept(80)
    assert conn is not None and conn.state is State.ESTABLISHED


def test_forged_ack_fails_and_draws_a_reset() -> None:
    host = server("always")
    (synack,) = inject(host, syn(1))
    forged = Segment(1, 80, 101, synack.seq + 2, ACK, 65535)  # the cookie, off by one
    assert inject(host, forged) == [Segment(80, 1, synack.seq + 2, 0, RST, 0)]
    assert host.stats.syn_cookies_failed == 1 and host.connections == {}
    other_peer = Segment(1, 80, 102, synack.seq + 1, ACK, 65535)  # another peer ISN
    assert inject(host, other_peer)[0].flags == RST
    assert host.stats.syn_cookies_failed == 2 and host.stats.syn_cookies_validated == 0


def test_cookie_older_than_two_minutes_fails() -> None:
    host = server("always")
    (synack,) = inject(host, syn(1), now=0.0)
    assert inject(host, ack_for(synack, 1), now=120.0)[0].flags == RST
    assert host.stats.syn_cookies_failed == 1


def test_options_ride_in_the_timestamp() -> None:
    host = server("always", config=FULL)
    opts = (MaxSegmentSize(1400), SACK_PERMITTED, Timestamps(777, 0), WindowScale(7))
    (synack,) = inject(host, syn(1, opts=opts, flags=SYN | ECE | CWR), now=2.0)
    assert synack.flags == SYN | ACK | ECE  # ECN agreed
    ts = synack.timestamps
    assert ts is not None and ts.echo_reply == 777
    options = decode_timestamp(ts.value)
    assert (options.wscale, options.sack, options.ecn) == (7, True, True)
    assert synack.window_scale is not None and synack.sack_permitted
    inject(host, ack_for(synack, 1, opts=(Timestamps(778, ts.value),)), now=2.05)
    conn = host.accept(80)
    assert conn is not None and conn.state is State.ESTABLISHED
    assert (conn.snd_mss, conn.snd_wscale, conn.ws_ok, conn.sack_ok, conn.ts_ok, conn.ecn_ok) == (
        1300, 7, True, True, True, True,
    )  # fmt: skip  # 1400 rounds down to the table's 1300
    assert conn.ts_recent == 778
    # the connection's clock carries on from the cookie's TSval, never behind it
    assert 0 <= (conn.ts_clock(2.05) - ts.value) % 2**32 < 64 + 50


def test_without_timestamps_the_cookie_loses_wscale_and_sack() -> None:
    host = server("always", config=FULL)
    opts = (MaxSegmentSize(1460), SACK_PERMITTED, WindowScale(7))
    (synack,) = inject(host, syn(1, opts=opts))
    assert synack.options == (MaxSegmentSize(1460),)
    inject(host, ack_for(synack, 1))
    conn = host.accept(80)
    assert conn is not None and (conn.ws_ok, conn.sack_ok, conn.snd_mss) == (False, False, 1460)


def test_validated_cookie_is_dropped_when_the_accept_queue_is_full() -> None:
    host = server("always", backlog=1)
    (first,) = inject(host, syn(1))
    (second,) = inject(host, syn(2))
    inject(host, ack_for(first, 1))
    assert len(host.listeners[80].accept_queue) == 1
    assert inject(host, ack_for(second, 2)) == []
    assert host.stats.accept_queue_overflows == 1 and len(host.connections) == 1
    assert inject(host, syn(3)) == []  # and SYNs too, cookie or not
    assert host.stats.syns_dropped_backlog == 1


def test_half_open_entries_expire() -> None:
    host = server("on-overflow")
    fill(host, 2)
    listener = host.listeners[80]
    assert host.get_timer() == 1.0  # the SYN,ACK's retransmission comes first
    host.handle_timer(HALF_OPEN_LIFETIME - 0.001)
    assert len(listener.syn_queue) == 2
    assert host.get_timer() == pytest.approx(HALF_OPEN_LIFETIME)
    host.handle_timer(HALF_OPEN_LIFETIME)
    host.packets_to_send(HALF_OPEN_LIFETIME)
    assert not listener.syn_queue and host.connections == {}
    assert host.stats.half_open_expired == 2
    (synack,) = inject(host, syn(3), now=HALF_OPEN_LIFETIME)
    assert synack.seq == ISN  # room again: a normal half-open entry


def test_half_open_lifetime_is_configurable() -> None:
    host = server("never", half_open_lifetime=5.0)
    fill(host, 1)
    # a SYN arriving after the lifetime finds the old entry gone, even before a timer ran
    (synack,) = inject(host, syn(7, isn=7), now=5.0)
    assert synack.seq == ISN and host.stats.half_open_expired == 1


def test_bad_mode_is_refused() -> None:
    with pytest.raises(ValueError):
        Host(US, syn_cookies="sometimes")
    with pytest.raises(ValueError):
        Host(US, half_open_lifetime=0)
