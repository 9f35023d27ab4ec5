"""ESTABLISHED: user calls, arriving segments (RFC 9293 3.10.7.4, RFC 5961) and timers.

After ``in_state(State.ESTABLISHED)`` (PLAIN config): SND.UNA = SND.NXT = ISS+1,
RCV.NXT = IRS+1, SND.WND = RCV.WND = 65535, MSS 1460 both ways, RTO 1 s,
cwnd 3 * 1460 (RFC 5681 3.1), no options, an ACK for every segment.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from _opening_helpers import (
    DELAYED,
    FULL_WSCALE,
    NODELAY,
    PEER_TSVAL,
    established_full,
    feed,
    fire,
    ts_val,
)
from conftest import (
    IRS,
    ISS,
    MSS,
    PLAIN,
    WINDOW,
    events,
    in_state,
    ours,
    out,
    peer,
)

from synack.tcp.connection import Connection
from synack.tcp.errors import TcpError
from synack.tcp.events import (
    ConnectionAborted,
    ConnectionReset,
    DataReceived,
    EndOfStream,
    RetransmissionWarning,
    SendSpaceAvailable,
)
from synack.tcp.state import State
from synack.wire.segment import ACK, FIN, NOP, PSH, RST, SYN, URG, Sack, Timestamps

DATA = bytes(range(256)) * 20  # 5120 distinct-looking bytes


def est(config=PLAIN) -> Connection:
    return in_state(State.ESTABLISHED, config)


def ack_from_peer(ack: int, window: int = WINDOW, seq: int = IRS + 1):
    return peer(ACK, seq, ack, window=window)


# -- user calls -------------------------------------------------------------


def test_established_connect():
    conn = est()
    with pytest.raises(TcpError, match=r"^connection already exists$"):
        conn.connect(0.0, iss=ISS)
    assert conn.state is State.ESTABLISHED


def test_established_listen():
    conn = est()
    with pytest.raises(TcpError, match=r"^connection already exists$"):
        conn.listen(0.0)


def test_established_send():
    conn = est()
    assert conn.send(b"hello") == 5
    assert out(conn) == [ours(ACK | PSH, ISS + 1, IRS + 1, payload=b"hello")]
    assert conn.get_timer() == 1.0  # RFC 6298 5.1: the RTO timer starts


def test_established_send_segmented_by_mss():
    # Full segments go out; Nagle (3.7.4) holds the 80-octet tail while data is unacknowledged.
    conn = est()
    conn.send(DATA[:3000])
    assert out(conn) == [
        ours(ACK, ISS + 1, IRS + 1, payload=DATA[:1460]),
        ours(ACK, ISS + 1461, IRS + 1, payload=DATA[1460:2920]),
    ]
    assert feed(conn, ack_from_peer(ISS + 2921)) == [
        ours(ACK | PSH, ISS + 2921, IRS + 1, payload=DATA[2920:3000])
    ]


def test_established_send_nagle():
    # 3.7.4: a small segment waits while earlier data is unacknowledged.
    conn = est()
    conn.send(b"a" * 100)
    assert out(conn) == [ours(ACK | PSH, ISS + 1, IRS + 1, payload=b"a" * 100)]
    conn.send(b"b" * 100)
    assert out(conn) == []
    assert feed(conn, ack_from_peer(ISS + 101)) == [
        ours(ACK | PSH, ISS + 101, IRS + 1, payload=b"b" * 100)
    ]


def test_established_send_nodelay():
    conn = est(NODELAY)
    conn.send(b"a" * 100)
    conn.send(b"b" * 100)
    # Both sends were queued before the pull: one segment carries both.
    assert out(conn) == [ours(ACK | PSH, ISS + 1, IRS + 1, payload=b"a" * 100 + b"b" * 100)]
    conn.send(b"c" * 100)
    assert out(conn) == [ours(ACK | PSH, ISS + 201, IRS + 1, payload=b"c" * 100)]


def test_established_send_congestion_window():
    # RFC 5681 3.1: the initial window of 3 * 1460 limits the first flight.
    conn = est()
    conn.send(DATA[:5000])
    assert [len(s.payload) for s in out(conn)] == [1460, 1460, 1460]


def test_established_send_buffer_full():
    conn = est(replace(PLAIN, send_buffer=1000))
    assert conn.send(DATA[:1500]) == 1000
    assert out(conn) == [ours(ACK | PSH, ISS + 1, IRS + 1, payload=DATA[:1000])]
    assert conn.send(b"more") == 0
    assert feed(conn, ack_from_peer(ISS + 1001)) == []
    assert events(conn) == [SendSpaceAvailable(1000)]


def test_established_send_sws_override():
    # 3.8.6.2.1: 1000 octets of usable window is under MSS and under half the
    # largest window seen (65535), so wait; the override timeout then sends it.
    conn = est()
    feed(conn, ack_from_peer(ISS + 1, window=1000))
    conn.send(DATA[:3000])
    assert out(conn) == []
    assert fire(conn) == (1.0, [ours(ACK, ISS + 1, IRS + 1, payload=DATA[:1000])])


def test_established_receive():
    conn = est()
    feed(conn, peer(ACK | PSH, IRS + 1, ISS + 1, payload=b"abcdef"))
    assert conn.receive(4) == b"abcd"
    assert conn.receive() == b"ef"
    assert conn.receive() == b""


def test_established_receive_window_update():
    # 3.8.6.2.2: reading 3000 octets opens the window by >= 2 * MSS: announce it.
    conn = est()
    replies = []
    for seq, size in ((0, 1460), (1460, 1460), (2920, 80)):
        replies += feed(conn, peer(ACK, IRS + 1 + seq, ISS + 1, payload=DATA[seq : seq + size]))
    assert replies == [
        ours(ACK, ISS + 1, IRS + 1461, window=WINDOW - 1460),
        ours(ACK, ISS + 1, IRS + 2921, window=WINDOW - 2920),
        ours(ACK, ISS + 1, IRS + 3001, window=WINDOW - 3000),
    ]
    assert conn.receive() == DATA[:3000]
    assert out(conn) == [ours(ACK, ISS + 1, IRS + 3001, window=WINDOW)]


def test_established_receive_small_read_no_window_update():
    # Receiver SWS avoidance: a 100-octet opening is not announced.
    conn = est()
    feed(conn, peer(ACK, IRS + 1, ISS + 1, payload=b"x" * 100))
    assert conn.receive() == b"x" * 100
    assert out(conn) == []


def test_established_close():
    # 3.10.4: queue a FIN, enter FIN-WAIT-1.
    conn = est()
    conn.close()
    assert conn.state is State.FIN_WAIT_1
    assert out(conn) == [ours(FIN | ACK, ISS + 1, IRS + 1)]


def test_established_close_with_queued_data():
    # The FIN follows the queued data, here in the same segment.
    conn = est()
    conn.send(b"bye")
    conn.close()
    assert out(conn) == [ours(FIN | PSH | ACK, ISS + 1, IRS + 1, payload=b"bye")]
    assert conn.state is State.FIN_WAIT_1


def test_established_close_with_unread_data():
    # 3.6 / RFC 1122 4.2.2.13: CLOSE with received data pending sends a RST.
    conn = est()
    feed(conn, peer(ACK, IRS + 1, ISS + 1, payload=b"unread"))
    conn.close()
    assert out(conn) == [ours(RST, ISS + 1, 0, window=0)]
    assert conn.state is State.CLOSED
    assert events(conn)[-1] == ConnectionAborted("connection aborted")


def test_established_shutdown_write():
    # Half-close: FIN goes out, SEND is refused, receiving goes on.
    conn = est()
    conn.shutdown_write()
    assert out(conn) == [ours(FIN | ACK, ISS + 1, IRS + 1)]
    assert conn.state is State.FIN_WAIT_1
    with pytest.raises(TcpError, match=r"^connection closing$"):
        conn.send(b"more")
    reply = feed(conn, peer(ACK, IRS + 1, ISS + 1, payload=b"still"))
    assert reply == [ours(ACK, ISS + 2, IRS + 6, window=WINDOW - 5)]
    assert conn.receive() == b"still"


def test_established_abort():
    # 3.10.5: <SEQ=SND.NXT><CTL=RST>.
    conn = est()
    conn.abort()
    assert out(conn) == [ours(RST, ISS + 1, 0, window=0)]
    assert conn.state is State.CLOSED
    assert events(conn) == [ConnectionAborted("connection aborted")]
    assert conn.get_timer() is None


def test_established_abort_with_unacked_data():
    conn = est()
    conn.send(b"x" * 100)
    out(conn)
    conn.abort()
    assert out(conn) == [ours(RST, ISS + 101, 0, window=0)]


def test_established_status():
    conn = est()
    conn.send(b"x" * 10)
    out(conn)
    status = conn.status()
    assert status.state is State.ESTABLISHED
    assert (status.snd_una, status.snd_nxt, status.rcv_nxt) == (ISS + 1, ISS + 11, IRS + 1)
    assert (status.snd_wnd, status.rcv_wnd, status.send_queued) == (WINDOW, WINDOW, 10)


# -- arriving text (3.10.7.4 first and seventh) --------------------------------


def test_established_rcv_data():
    conn = est()
    reply = feed(conn, peer(ACK | PSH, IRS + 1, ISS + 1, payload=b"x" * 100))
    assert reply == [ours(ACK, ISS + 1, IRS + 101, window=WINDOW - 100)]
    assert events(conn) == [DataReceived(100)]


def test_established_rcv_data_out_of_order():
    # RFC 5681 4.2 / RFC 9293 3.10.7.4: a segment above RCV.NXT draws an immediate
    # duplicate ACK; filling the hole is acknowledged at once as well.
    conn = est(DELAYED)
    reply = feed(conn, peer(ACK, IRS + 101, ISS + 1, payload=b"B" * 100))
    assert reply == [ours(ACK, ISS + 1, IRS + 1)]
    assert events(conn) == []
    reply = feed(conn, peer(ACK, IRS + 1, ISS + 1, payload=b"A" * 100))
    assert reply == [ours(ACK, ISS + 1, IRS + 201, window=WINDOW - 200)]
    assert events(conn) == [DataReceived(200)]
    assert conn.receive() == b"A" * 100 + b"B" * 100


def test_established_rcv_data_overlapping():
    # Only the new part of a segment that straddles RCV.NXT is taken.
    conn = est()
    feed(conn, peer(ACK, IRS + 1, ISS + 1, payload=b"a" * 100))
    events(conn)
    reply = feed(conn, peer(ACK, IRS + 51, ISS + 1, payload=b"X" * 50 + b"b" * 50))
    assert reply == [ours(ACK, ISS + 1, IRS + 151, window=WINDOW - 150)]
    assert events(conn) == [DataReceived(50)]
    assert conn.receive() == b"a" * 100 + b"b" * 50


def test_established_rcv_data_duplicate():
    # Entirely old: unacceptable, so <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and drop.
    conn = est()
    feed(conn, peer(ACK, IRS + 1, ISS + 1, payload=b"a" * 100))
    events(conn)
    reply = feed(conn, peer(ACK, IRS + 1, ISS + 1, payload=b"a" * 100))
    assert reply == [ours(ACK, ISS + 1, IRS + 101, window=WINDOW - 100)]
    assert events(conn) == []
    assert conn.receive_queued == 100


def test_established_rcv_data_beyond_window():
    conn = est()
    reply = feed(conn, peer(ACK, IRS + 1 + WINDOW, ISS + 1, payload=b"far"))
    assert reply == [ours(ACK, ISS + 1, IRS + 1)]
    assert events(conn) == []
    assert conn.receive_queued == 0


def test_established_rcv_data_partly_beyond_window():
    # Text past RCV.NXT + RCV.WND is trimmed; what fits is taken.
    conn = est(replace(PLAIN, recv_buffer=1000))
    reply = feed(conn, peer(ACK, IRS + 1, ISS + 1, window=1000, payload=DATA[:1500]))
    assert reply == [ours(ACK, ISS + 1, IRS + 1001, window=0)]
    assert events(conn) == [DataReceived(1000)]


def test_established_rcv_data_zero_window():
    # RCV.WND = 0: text is not acceptable; the ACK repeats RCV.NXT and the zero window.
    conn = est(replace(PLAIN, recv_buffer=1000))
    feed(conn, peer(ACK, IRS + 1, ISS + 1, payload=DATA[:1000]))
    events(conn)
    reply = feed(conn, peer(ACK, IRS + 1001, ISS + 1, payload=b"probe"))
    assert reply == [ours(ACK, ISS + 1, IRS + 1001, window=0)]
    assert events(conn) == []
    # Reading opens the window by 1000 >= min(MSS, buffer / 2): a window update.
    assert conn.receive() == DATA[:1000]
    assert out(conn) == [ours(ACK, ISS + 1, IRS + 1001, window=1000)]


def test_established_rcv_ack_zero_window():
    # With RCV.WND = 0 a valid ACK is still processed (3.10.7.4 first check).
    conn = est(replace(PLAIN, recv_buffer=1000))
    conn.send(b"out")
    out(conn)
    feed(conn, peer(ACK, IRS + 1, ISS + 1, payload=DATA[:1000]))
    assert feed(conn, peer(ACK, IRS + 1001, ISS + 4)) == []
    assert conn.status().snd_una == ISS + 4


def test_established_rcv_urg():
    # Sixth: RCV.UP <- max(RCV.UP, SEG.UP); the text is delivered in line.
    conn = est()
    seg = peer(URG | ACK | PSH, IRS + 1, ISS + 1, payload=b"abcdef")
    seg.urgent = 3
    assert feed(conn, seg) == [ours(ACK, ISS + 1, IRS + 7, window=WINDOW - 6)]
    assert conn.rcv_up == IRS + 4
    assert conn.receive() == b"abcdef"


# -- arriving ACKs (fifth) -------------------------------------------------------


def test_established_rcv_ack():
    # SND.UNA < SEG.ACK =< SND.NXT: SND.UNA <- SEG.ACK, the data leaves the queue.
    conn = est()
    conn.send(b"x" * 100)
    out(conn)
    assert feed(conn, ack_from_peer(ISS + 101, window=40000)) == []
    status = conn.status()
    assert (status.snd_una, status.send_queued, status.snd_wnd) == (ISS + 101, 0, 40000)
    assert conn.get_timer() is None  # RFC 6298 5.2: all data acknowledged


def test_established_rcv_ack_partial():
    conn = est()
    conn.send(DATA[:2920])
    out(conn)
    assert feed(conn, ack_from_peer(ISS + 1461), 0.5) == []
    assert conn.status().snd_una == ISS + 1461
    assert conn.get_timer() == 0.5 + conn.status().rto  # RFC 6298 5.3: restarted


def test_established_rcv_ack_old():
    # SEG.ACK < SND.UNA (within MAX.SND.WND): a duplicate, ignored.
    conn = est()
    conn.send(b"x" * 100)
    out(conn)
    feed(conn, ack_from_peer(ISS + 101))
    assert feed(conn, ack_from_peer(ISS + 1)) == []
    assert conn.status().snd_una == ISS + 101


def test_established_rcv_ack_too_new():
    # SEG.ACK > SND.NXT: send an ACK, drop the segment (and its text).
    conn = est()
    reply = feed(conn, peer(ACK, IRS + 1, ISS + 500, payload=b"lost"))
    assert reply == [ours(ACK, ISS + 1, IRS + 1)]
    assert conn.state is State.ESTABLISHED
    assert events(conn) == []
    assert conn.status().snd_una == ISS + 1


def test_established_rcv_ack_too_old():
    # RFC 5961 5.2: SEG.ACK < SND.UNA - MAX.SND.WND: challenge ACK, drop.
    conn = est()
    reply = feed(conn, peer(ACK, IRS + 1, ISS + 1 - WINDOW - 1, payload=b"blind"))
    assert reply == [ours(ACK, ISS + 1, IRS + 1)]
    assert events(conn) == []
    assert conn.stats.challenge_acks == 1


def test_established_rcv_ack_at_max_snd_wnd():
    # RFC 5961 5.2: SEG.ACK = SND.UNA - MAX.SND.WND is still acceptable (a duplicate).
    conn = est()
    reply = feed(conn, peer(ACK, IRS + 1, ISS + 1 - WINDOW, payload=b"ok"))
    assert reply == [ours(ACK, ISS + 1, IRS + 3, window=WINDOW - 2)]
    assert events(conn) == [DataReceived(2)]


def test_established_rcv_dup_acks_fast_retransmit():
    # RFC 5681 3.2: the third duplicate ACK resends the first unacknowledged segment.
    conn = est()
    conn.send(DATA[:4380])
    assert len(out(conn)) == 3
    dup = ack_from_peer(ISS + 1)
    assert feed(conn, dup, 0.1) == []
    assert feed(conn, dup, 0.1) == []
    assert feed(conn, dup, 0.1) == [ours(ACK, ISS + 1, IRS + 1, payload=DATA[:1460])]
    assert conn.stats.fast_retransmits == 1
    assert feed(conn, dup, 0.1) == []  # the fourth only inflates cwnd


def test_established_rcv_window_zero_persist():
    # 3.8.6.1: a zero window is probed with one octet of new data, with backoff.
    conn = est()
    feed(conn, ack_from_peer(ISS + 1, window=0))
    data = b"0123456789" * 10
    conn.send(data)
    assert out(conn) == []
    assert fire(conn) == (1.0, [ours(ACK, ISS + 1, IRS + 1, payload=b"0")])
    assert fire(conn) == (3.0, [ours(ACK, ISS + 1, IRS + 1, payload=b"0")])
    # The window opens, acknowledging the probe's octet: the rest goes out.
    assert feed(conn, ack_from_peer(ISS + 2, window=WINDOW), 3.5) == [
        ours(ACK | PSH, ISS + 2, IRS + 1, payload=data[1:])
    ]


# -- RST, SYN (second, fourth; RFC 5961) --------------------------------------


def test_established_rcv_rst():
    # RFC 5961 3.2: SEG.SEQ = RCV.NXT: reset; "connection reset", CLOSED, no reply.
    conn = est()
    assert feed(conn, peer(RST, IRS + 1)) == []
    assert conn.state is State.CLOSED
    assert events(conn) == [ConnectionReset("connection reset")]
    with pytest.raises(TcpError, match=r"^connection does not exist$"):
        conn.send(b"x")


def test_established_rcv_rst_ack():
    conn = est()
    assert feed(conn, peer(RST | ACK, IRS + 1, ISS + 1)) == []
    assert conn.state is State.CLOSED
    assert events(conn) == [ConnectionReset("connection reset")]


def test_established_rcv_rst_in_window_not_exact():
    # RFC 5961 3.2: in the window, not exact: challenge ACK, no reset.
    conn = est()
    assert feed(conn, peer(RST, IRS + 2)) == [ours(ACK, ISS + 1, IRS + 1)]
    assert feed(conn, peer(RST, IRS + WINDOW)) == [ours(ACK, ISS + 1, IRS + 1)]
    assert conn.state is State.ESTABLISHED
    assert events(conn) == []


def test_established_rcv_rst_out_of_window():
    # Outside the window: silently dropped.
    conn = est()
    assert feed(conn, peer(RST, IRS + 1 + WINDOW)) == []
    assert feed(conn, peer(RST, IRS)) == []
    assert feed(conn, peer(RST | ACK, IRS - 1000, ISS + 1)) == []
    assert conn.state is State.ESTABLISHED


def test_established_rcv_syn():
    # RFC 5961 4.2 / RFC 9293: a SYN in a synchronized state draws a challenge ACK.
    conn = est()
    assert feed(conn, peer(SYN, IRS + 100)) == [ours(ACK, ISS + 1, IRS + 1)]
    assert conn.state is State.ESTABLISHED
    assert events(conn) == []


def test_established_rcv_syn_ack_retransmitted():
    # A resent SYN,ACK (our ACK was lost) is old: answer with an ACK.
    conn = est()
    reply = feed(conn, peer(SYN | ACK, IRS, ISS + 1))
    assert reply == [ours(ACK, ISS + 1, IRS + 1)]
    assert conn.state is State.ESTABLISHED


def test_established_challenge_ack_rate_limit():
    # RFC 5961 7: at most challenge_ack_limit challenge ACKs a second, all kinds counted.
    conn = est(replace(PLAIN, challenge_ack_limit=2))
    challenge = [ours(ACK, ISS + 1, IRS + 1)]
    assert feed(conn, peer(RST, IRS + 10), 0.0) == challenge
    assert feed(conn, peer(SYN, IRS + 20), 0.3) == challenge
    assert feed(conn, peer(RST, IRS + 30), 0.6) == []
    assert feed(conn, peer(ACK, IRS + 1, ISS + 9999), 0.9) == []
    assert feed(conn, peer(RST, IRS + 40), 1.0) == challenge
    assert conn.stats.challenge_acks == 3
    assert conn.state is State.ESTABLISHED


def test_established_unacceptable_bare_ack_answered_at_most_twice_a_second():
    # RFC 9293 3.10.7.4 answers an unacceptable segment with an ACK; one that
    # carries nothing gets at most one per invalid_ack_interval (0.5 s, Linux's
    # tcp_invalid_ratelimit), or two ends out of step ACK each other for ever.
    conn = est()
    dupack = [ours(ACK, ISS + 1, IRS + 1)]
    old = peer(ACK, IRS, ISS + 1)  # below RCV.NXT: the ACK storm's segment
    beyond = peer(ACK, IRS + 1 + WINDOW + 10, ISS + 1)
    assert feed(conn, old, 0.0) == dupack
    assert feed(conn, old, 0.2) == []
    assert feed(conn, beyond, 0.49) == []
    assert feed(conn, old, 0.5) == dupack
    assert conn.stats.invalid_acks_unanswered == 2
    # text or a FIN is always answered, and does not use up the allowance
    assert feed(conn, peer(ACK, IRS - 9, ISS + 1, payload=b"x" * 5), 0.6) == dupack
    assert feed(conn, peer(FIN | ACK, IRS + 1 + WINDOW + 10, ISS + 1), 0.7) == dupack
    assert feed(conn, old, 0.8) == []
    assert feed(conn, old, 1.0) == dupack
    assert conn.stats.invalid_acks_unanswered == 3
    assert conn.state is State.ESTABLISHED


def test_established_unacceptable_bare_ack_every_one_answered_with_interval_zero():
    conn = est(replace(PLAIN, invalid_ack_interval=0.0))
    for now in (0.0, 0.0, 0.1):
        assert feed(conn, peer(ACK, IRS, ISS + 1), now) == [ours(ACK, ISS + 1, IRS + 1)]
    assert conn.stats.invalid_acks_unanswered == 0


def test_established_old_bare_ack_used_then_answered_at_most_twice_a_second():
    # BSD's way (old_segment_acks): the old segment's ACK is used, and the
    # resynchronizing ACK is held to the same allowance
    conn = est(replace(PLAIN, old_segment_acks=True))
    assert conn.send(b"abc") == 3
    out(conn, 0.0)
    assert feed(conn, peer(ACK, IRS, ISS + 4), 0.1) == [ours(ACK, ISS + 4, IRS + 1)]
    assert conn.snd_una == ISS + 4  # its ACK was used
    assert feed(conn, peer(ACK, IRS, ISS + 4), 0.2) == []
    assert feed(conn, peer(ACK, IRS, ISS + 4), 0.6) == [ours(ACK, ISS + 4, IRS + 1)]
    assert conn.stats.invalid_acks_unanswered == 1


# -- FIN (eighth) -------------------------------------------------------------------


def test_established_rcv_fin():
    conn = est()
    assert feed(conn, peer(FIN | ACK, IRS + 1, ISS + 1)) == [ours(ACK, ISS + 1, IRS + 2)]
    assert conn.state is State.CLOSE_WAIT
    assert events(conn) == [EndOfStream()]


def test_established_rcv_fin_with_data():
    conn = est()
    reply = feed(conn, peer(FIN | PSH | ACK, IRS + 1, ISS + 1, payload=b"last!"))
    # The FIN takes a sequence number but no buffer; with most of the buffer
    # free, the window is the whole free space (receiver SWS avoidance holds
    # the right edge only when the buffer fills, RFC 9293 3.8.6.2.2).
    assert reply == [ours(ACK, ISS + 1, IRS + 7, window=WINDOW - 5)]
    assert conn.state is State.CLOSE_WAIT
    assert events(conn) == [DataReceived(5), EndOfStream()]
    assert conn.receive() == b"last!"
    with pytest.raises(TcpError, match=r"^connection closing$"):
        conn.receive()


def test_established_rcv_fin_out_of_order():
    # A FIN beyond a hole waits; the duplicate ACK goes out at once.
    conn = est()
    reply = feed(conn, peer(FIN | ACK, IRS + 51, ISS + 1, payload=b"b" * 50))
    assert reply == [ours(ACK, ISS + 1, IRS + 1)]
    assert conn.state is State.ESTABLISHED
    reply = feed(conn, peer(ACK, IRS + 1, ISS + 1, payload=b"a" * 50))
    assert reply == [ours(ACK, ISS + 1, IRS + 102, window=WINDOW - 100)]
    assert conn.state is State.CLOSE_WAIT
    assert events(conn) == [DataReceived(100), EndOfStream()]


def test_established_rcv_fin_without_ack():
    # fifth: no ACK bit: drop, FIN included.
    conn = est()
    assert feed(conn, peer(FIN, IRS + 1)) == []
    assert conn.state is State.ESTABLISHED


# -- delayed ACK (3.8.6.3, RFC 5681 4.2) ----------------------------------------------


def test_established_rcv_data_delayed_ack_two_segments():
    conn = est(DELAYED)
    assert feed(conn, peer(ACK, IRS + 1, ISS + 1, payload=DATA[:MSS])) == []
    assert conn.get_timer() == pytest.approx(0.2)
    reply = feed(conn, peer(ACK, IRS + 1 + MSS, ISS + 1, payload=DATA[MSS : 2 * MSS]), 0.05)
    assert reply == [ours(ACK, ISS + 1, IRS + 1 + 2 * MSS, window=WINDOW - 2 * MSS)]
    assert conn.get_timer() is None


def test_established_rcv_data_delayed_ack_timer():
    conn = est(DELAYED)
    assert feed(conn, peer(ACK, IRS + 1, ISS + 1, payload=b"x" * 100), 1.0) == []
    when, sent = fire(conn)
    assert when == pytest.approx(1.2)
    assert sent == [ours(ACK, ISS + 1, IRS + 101, window=WINDOW - 100)]


def test_established_send_piggybacks_delayed_ack():
    # Data sent before the delayed ACK timer carries the acknowledgment.
    conn = est(DELAYED)
    feed(conn, peer(ACK, IRS + 1, ISS + 1, payload=b"req"))
    conn.send(b"resp")
    assert out(conn) == [ours(ACK | PSH, ISS + 1, IRS + 4, window=WINDOW - 3, payload=b"resp")]
    assert conn.get_timer() == 1.0  # only the retransmission timer is left


# -- timers -------------------------------------------------------------------------


def test_established_retransmission_timeout():
    # RFC 6298 5.4-5.6: resend the earliest unacknowledged segment, double the RTO;
    # RFC 5681 3.1: cwnd drops to one segment, so only that one goes out.
    conn = est()
    conn.send(DATA[:2920])
    assert len(out(conn)) == 2
    first = ours(ACK, ISS + 1, IRS + 1, payload=DATA[:1460])
    assert fire(conn) == (1.0, [first])
    assert fire(conn) == (3.0, [first])
    assert conn.stats.timeouts == 2


def test_established_retransmission_limit_r2():
    # RFC 9293 3.8.3: R1 advises the user; R2, counted out and past its minimum
    # time, closes the connection, with a RST to tell the peer (3.10.5).
    conn = est(replace(PLAIN, retries=3, r2=10.0))
    conn.send(b"x" * 10)
    seg = ours(ACK | PSH, ISS + 1, IRS + 1, payload=b"x" * 10)
    rst = ours(RST, ISS + 11, window=0)
    out(conn)
    history = []
    while conn.state is State.ESTABLISHED:
        history.append(fire(conn))
    assert history == [(1.0, [seg]), (3.0, [seg]), (7.0, [seg]), (15.0, [rst])]
    assert conn.state is State.CLOSED
    assert events(conn) == [
        RetransmissionWarning(3),
        ConnectionAborted("connection aborted: retransmissions were not acknowledged (R2)"),
    ]
    assert conn.get_timer() is None


def test_established_r2_counted_out_waits_for_its_minimum_time():
    """Two retransmissions are the limit, but R2 is never before ``r2`` seconds of
    retransmission: a third goes at 7 s, and the connection ends at 15 s."""
    conn = est(replace(PLAIN, retries=2, r2=10.0))
    conn.send(b"x" * 10)
    out(conn)
    history = []
    while conn.state is State.ESTABLISHED:
        history.append(fire(conn))
    assert [when for when, _ in history] == [1.0, 3.0, 7.0, 15.0]
    assert [s.flags for s in history[-1][1]] == [RST]
    assert conn.stats.timeouts == 3


def test_established_retries_default_like_linux():
    """15 data retransmissions (Linux's tcp_retries2), RTO doubling to 60 s."""
    conn = est()
    conn.send(b"x" * 10)
    out(conn)
    history = []
    while conn.state is State.ESTABLISHED:
        history.append(fire(conn))
    assert conn.stats.timeouts == 15
    assert [s.flags for s in history[-1][1]] == [RST]
    assert history[-1][0] == 1 + 2 + 4 + 8 + 16 + 32 + 60 * 9 + 60


def test_established_user_timeout():
    # 3.10.8: unacknowledged data for the user timeout: abort, "connection aborted
    # due to user timeout", CLOSED.
    conn = est(replace(PLAIN, user_timeout=5.0, r2=1000.0))
    conn.send(b"x" * 10)
    seg = ours(ACK | PSH, ISS + 1, IRS + 1, payload=b"x" * 10)
    out(conn)
    history = []
    while conn.state is State.ESTABLISHED:
        history.append(fire(conn))
    assert history == [(1.0, [seg]), (3.0, [seg]), (5.0, [ours(RST, ISS + 11, window=0)])]
    assert events(conn) == [ConnectionAborted("connection aborted due to user timeout")]


def test_established_keepalive():
    # 3.8.4: after the idle time, a probe with SEG.SEQ = SND.NXT - 1 draws an ACK.
    conn = est(replace(PLAIN, keepalive=True))
    probe = ours(ACK, ISS, IRS + 1)
    assert fire(conn) == (7200.0, [probe])
    assert fire(conn) == (7275.0, [probe])
    # The peer answers: the connection is alive; idle time starts over.
    assert feed(conn, ack_from_peer(ISS + 1), 7276.0) == []
    assert conn.get_timer() == 7276.0 + 7200.0


def test_established_keepalive_timeout():
    conn = est(replace(PLAIN, keepalive=True, keepalive_probes=3))
    probe = ours(ACK, ISS, IRS + 1)
    history = []
    while conn.state is State.ESTABLISHED:
        history.append(fire(conn))
    rst = ours(RST, ISS + 1, window=0)
    assert history == [(7200.0, [probe]), (7275.0, [probe]), (7350.0, [probe]), (7425.0, [rst])]
    assert events(conn) == [
        ConnectionAborted("connection aborted: keep-alive probes were not answered")
    ]


def test_established_keepalive_off_by_default():
    assert est().get_timer() is None


# -- options (RFC 7323, RFC 2018) ------------------------------------------------------


def test_established_send_with_timestamps():
    # Every segment carries NOP,NOP,TS; the payload leaves room for it (1460 - 12).
    conn = established_full()
    conn.send(DATA[:3000])
    tsopt = (NOP, NOP, Timestamps(ts_val(0.5), PEER_TSVAL))
    window = (256 * 1024) >> FULL_WSCALE
    assert out(conn, 0.5) == [
        ours(ACK, ISS + 1, IRS + 1, window=window, options=tsopt, payload=DATA[:1448]),
        ours(ACK, ISS + 1449, IRS + 1, window=window, options=tsopt, payload=DATA[1448:2896]),
    ]


def test_established_rcv_data_with_timestamps():
    # RFC 7323 4.3: TS.Recent takes the TSval of a segment at Last.ACK.sent.
    conn = established_full()
    tsopt = (NOP, NOP, Timestamps(PEER_TSVAL + 10, ts_val(0.0)))
    reply = feed(conn, peer(ACK, IRS + 1, ISS + 1, payload=b"x" * 100, options=tsopt), 0.2)
    window = (256 * 1024 - 100) >> FULL_WSCALE
    assert reply == [
        ours(
            ACK,
            ISS + 1,
            IRS + 101,
            window=window,
            options=(NOP, NOP, Timestamps(ts_val(0.2), PEER_TSVAL + 10)),
        )
    ]


def test_established_rcv_data_paws():
    # RFC 7323 5.3: a TSval older than TS.Recent: ACK and drop.
    conn = established_full()
    tsopt = (NOP, NOP, Timestamps(PEER_TSVAL - 1, ts_val(0.0)))
    reply = feed(conn, peer(ACK, IRS + 1, ISS + 1, payload=b"old", options=tsopt), 0.2)
    window = (256 * 1024) >> FULL_WSCALE
    assert reply == [
        ours(
            ACK,
            ISS + 1,
            IRS + 1,
            window=window,
            options=(NOP, NOP, Timestamps(ts_val(0.2), PEER_TSVAL)),
        )
    ]
    assert events(conn) == []


def test_established_rcv_data_out_of_order_sack():
    # RFC 2018 4: the duplicate ACK reports the blocks held, the newest first;
    # RFC 7323 4.3: an out-of-order segment does not update TS.Recent.
    conn = established_full()
    window = (256 * 1024) >> FULL_WSCALE

    def ts(val):
        return (NOP, NOP, Timestamps(val, ts_val(0.0)))

    def our_ts(echo):
        return (NOP, NOP, Timestamps(ts_val(0.3), echo))

    reply = feed(conn, peer(ACK, IRS + 101, ISS + 1, payload=b"b" * 100, options=ts(7010)), 0.3)
    assert reply == [
        ours(
            ACK,
            ISS + 1,
            IRS + 1,
            window=window,
            options=(*our_ts(PEER_TSVAL), NOP, NOP, Sack(((IRS + 101, IRS + 201),))),
        )
    ]
    reply = feed(conn, peer(ACK, IRS + 301, ISS + 1, payload=b"d" * 100, options=ts(7020)), 0.3)
    assert reply == [
        ours(
            ACK,
            ISS + 1,
            IRS + 1,
            window=window,
            options=(
                *our_ts(PEER_TSVAL),
                NOP,
                NOP,
                Sack(((IRS + 301, IRS + 401), (IRS + 101, IRS + 201))),
            ),
        )
    ]
    # The first hole fills: cumulative ACK to IRS+201, one block left, TS.Recent updated.
    reply = feed(conn, peer(ACK, IRS + 1, ISS + 1, payload=b"a" * 100, options=ts(7030)), 0.3)
    assert reply == [
        ours(
            ACK,
            ISS + 1,
            IRS + 201,
            window=(256 * 1024 - 200) >> FULL_WSCALE,
            options=(*our_ts(7030), NOP, NOP, Sack(((IRS + 301, IRS + 401),))),
        )
    ]
    assert events(conn) == [DataReceived(200)]


def test_established_rcv_burst_out_of_order_one_duplicate_ack_each():
    # RFC 5681 4.2: each out-of-order segment draws its own duplicate ACK, even
    # when several arrive before the output is pulled: the sender counts them.
    conn = est()
    for i in range(3):
        conn.receive_segment(peer(ACK, IRS + 101 + 100 * i, ISS + 1, payload=b"x" * 100), 0.0)
    assert out(conn) == [ours(ACK, ISS + 1, IRS + 1)] * 3


def test_established_rcv_burst_in_order_shares_one_ack():
    # In-order segments that arrive together share one ACK (as with receive offload).
    conn = est(replace(PLAIN, delayed_ack=True))
    for i in range(4):
        conn.receive_segment(peer(ACK, IRS + 1 + MSS * i, ISS + 1, payload=b"y" * MSS), 0.0)
    assert out(conn) == [ours(ACK, ISS + 1, IRS + 1 + 4 * MSS, window=WINDOW - 4 * MSS)]
