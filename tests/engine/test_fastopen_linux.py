"""TCP Fast Open (RFC 7413) in the engine as Linux does it: what Linux's
packetdrill scripts (tcp/fastopen) expect, in exact segments.

The connection under test is at LOCAL, the peer at REMOTE; the server's key and
cookie are those of test_fastopen.py.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import IRS, ISS, LOCAL, MSS, PLAIN, REMOTE, events, ours, out, peer

from synack.tcp import errors as err
from synack.tcp.config import TcpConfig
from synack.tcp.connection import Connection
from synack.tcp.events import ConnectionAborted, ConnectionReset, DataReceived
from synack.tcp.fastopen import CookieCache, FastOpenState, make_cookie
from synack.tcp.state import State
from synack.wire.icmp import (
    FRAGMENTATION_NEEDED,
    HOST_UNREACHABLE,
    ICMP_DEST_UNREACH,
    PORT_UNREACHABLE,
    IcmpError,
    icmp_error_for_segment,
    parse_icmp_packet,
)
from synack.wire.segment import (
    ACK,
    FIN,
    NOP,
    PSH,
    RST,
    SYN,
    FastOpen,
    MaxSegmentSize,
    Segment,
    Timestamps,
    WindowScale,
)

KEY_TEXT = "a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4"
KEY = bytes.fromhex("a1a1a1a1b2b2b2b2c3c3c3c3d4d4d4d4")
SERVER = replace(
    PLAIN, fastopen_server=True, fastopen_key=KEY_TEXT, fastopen_cookie_algorithm="siphash"
)
COOKIE = make_cookie("siphash", KEY, REMOTE[0].packed, LOCAL[0].packed)
MSS_OPT = MaxSegmentSize(MSS)


def server(config: TcpConfig = SERVER) -> Connection:
    conn = Connection(LOCAL, REMOTE, config)
    conn.listen(0.0, iss=ISS)
    return conn


def fastopen_syn(payload: bytes, cookie: bytes = COOKIE) -> Segment:
    return peer(SYN, IRS, options=(MSS_OPT, FastOpen(cookie), NOP, NOP), payload=payload)


# -- server ---------------------------------------------------------------------
def test_reading_the_syn_data_sends_no_window_update_past_the_unscaled_field() -> None:
    # A buffer far above 65535 and a peer without window scaling: the SYN,ACK
    # offered the most the field can say, so reading the SYN's data opens
    # nothing the peer can be told (Linux's tcp_cleanup_rbuf, bounded by its
    # window_clamp); the server's first segment is its answer (server/basic-rw.pkt).
    conn = server(replace(SERVER, recv_buffer=540000))
    conn.receive_segment(fastopen_syn(b"x" * 10), 0.0)  # RFC 7413 4.2.2
    assert out(conn) == [ours(SYN | ACK, ISS, IRS + 11, options=(MSS_OPT,))]
    assert events(conn) == [DataReceived(10)]
    assert conn.receive(512) == b"x" * 10
    assert out(conn, 0.1) == []
    assert conn.state is State.SYN_RECEIVED
    conn.send(b"y" * 100)
    assert out(conn, 0.2) == [ours(ACK | PSH, ISS + 1, IRS + 11, payload=b"y" * 100)]


def test_a_reset_child_keeps_its_syn_data_readable() -> None:
    # A Fast Open child is the application's before the handshake completes
    # (RFC 7413 4.2.2); a RST closes it, but what came with the SYN can still
    # be read, as Linux's tcp_reset leaves the receive queue
    # (server/reset-before-accept.pkt), and then RECEIVE is an error.
    conn = server()
    conn.receive_segment(fastopen_syn(b"x" * 10), 0.0)
    out(conn)
    conn.receive_segment(peer(RST | ACK, IRS + 11, ISS + 1), 0.1)
    assert conn.state is State.CLOSED
    assert events(conn) == [DataReceived(10), ConnectionReset(err.CONNECTION_RESET)]
    assert out(conn, 0.1) == []
    assert conn.receive(512) == b"x" * 10
    assert out(conn, 0.1) == []
    with pytest.raises(err.TcpError, match=err.CONNECTION_DOES_NOT_EXIST):
        conn.receive(512)


def test_close_with_unread_syn_data_resets_with_an_ack_as_linux() -> None:
    # RFC 9293 3.6 (RFC 1122 4.2.2.13): CLOSE with unread data sends a RST; with
    # abort_rst_ack it acknowledges RCV.NXT too, as Linux's
    # tcp_send_active_reset (server/unread-data-closed-trigger-rst.pkt)
    conn = server(replace(SERVER, abort_rst_ack=True))
    conn.receive_segment(fastopen_syn(b"x" * 10), 0.0)
    out(conn)
    conn.close(0.1)
    assert out(conn, 0.1) == [ours(RST | ACK, ISS + 1, IRS + 11, window=0)]
    assert conn.state is State.CLOSED


def test_close_with_unread_syn_data_resets_bare_by_default() -> None:
    # RFC 9293 3.10.5: <SEQ=SND.NXT><CTL=RST>
    conn = server()
    conn.receive_segment(fastopen_syn(b"x" * 10), 0.0)
    out(conn)
    conn.close(0.1)
    assert out(conn, 0.1) == [ours(RST, ISS + 1, window=0)]


# -- ICMP errors in SYN-RECEIVED (icmp_abort_in_syn_received, as Linux) -------------
LINUX_ICMP = replace(SERVER, icmp_abort_in_syn_received=True)


def icmp_about(conn: Connection, seg: Segment, code: int) -> IcmpError:
    assert conn.remote is not None
    packet = icmp_error_for_segment(
        conn.local[0], conn.remote[0], seg, ICMP_DEST_UNREACH, code, 0, reporter=None
    )
    msg = parse_icmp_packet(packet)
    assert msg is not None
    return msg


def test_icmp_error_closes_a_fast_open_child_not_yet_accepted() -> None:
    # RFC 7413 4.2.2 made it the user's, but the application has not taken it:
    # Linux's tcp_v4_err treats it as SYN-SENT, any error ends it, with its
    # errno (server/opt34/icmp-before-accept.pkt); the SYN data stays readable
    conn = server(LINUX_ICMP)
    conn.receive_segment(fastopen_syn(b"x" * 10), 0.0)
    [synack] = out(conn)
    conn.receive_icmp(icmp_about(conn, synack, HOST_UNREACHABLE), 0.1)
    assert conn.state is State.CLOSED
    assert out(conn, 0.1) == []
    assert events(conn) == [
        DataReceived(10),
        ConnectionAborted("connection failed: host unreachable", "EHOSTUNREACH"),
    ]
    assert conn.receive() == b"x" * 10


def test_icmp_error_is_soft_for_a_fast_open_child_accepted() -> None:
    conn = server(LINUX_ICMP)
    conn.receive_segment(fastopen_syn(b"x" * 10), 0.0)
    [synack] = out(conn)
    assert conn.fastopen is not None
    conn.fastopen.taken = True  # the Host's accept()
    conn.receive_icmp(icmp_about(conn, synack, HOST_UNREACHABLE), 0.1)
    assert conn.state is State.SYN_RECEIVED
    assert conn.soft_error == ("EHOSTUNREACH", "host unreachable")


def test_host_unreachable_drops_an_ordinary_passive_open_silently() -> None:
    # Linux's tcp_req_err: network or host unreachable ends a request sock
    # (server/icmp-baseline.pkt); no RST, and the third ACK will find no one
    conn = server(LINUX_ICMP)
    conn.receive_segment(peer(SYN, IRS, options=(MSS_OPT,)), 0.0)
    [synack] = out(conn)
    conn.receive_icmp(icmp_about(conn, synack, HOST_UNREACHABLE), 0.1)
    assert conn.state is State.CLOSED
    assert out(conn, 0.1) == []


def test_port_unreachable_leaves_an_ordinary_passive_open_over_ipv4() -> None:
    conn = server(LINUX_ICMP)
    conn.receive_segment(peer(SYN, IRS, options=(MSS_OPT,)), 0.0)
    [synack] = out(conn)
    conn.receive_icmp(icmp_about(conn, synack, PORT_UNREACHABLE), 0.1)
    assert conn.state is State.SYN_RECEIVED


def test_without_the_knob_syn_received_keeps_the_rfc_rule() -> None:
    # RFC 1122 4.2.3.9: a soft error never aborts
    conn = server()
    conn.receive_segment(fastopen_syn(b"x" * 10), 0.0)
    [synack] = out(conn)
    conn.receive_icmp(icmp_about(conn, synack, HOST_UNREACHABLE), 0.1)
    assert conn.state is State.SYN_RECEIVED


# -- client ---------------------------------------------------------------------
CLIENT = replace(PLAIN, fastopen_client=True)
ROOM = MSS - 40  # Linux keeps 40 bytes for options (tcp_send_syn_data)


def client(
    config: TcpConfig = CLIENT, cookie: bytes | None = COOKIE, **kw: bool
) -> tuple[Connection, CookieCache]:
    cache = CookieCache()
    if cookie is not None:
        cache.store(REMOTE[0], cookie, MSS, False)
    conn = Connection(LOCAL, REMOTE, config)
    conn.fastopen = FastOpenState.client(cache, REMOTE[0], **kw)
    conn.connect(0.0, iss=ISS)
    return conn, cache


def test_no_cookie_mode_sends_data_on_a_syn_without_the_option() -> None:
    # Linux's TFO_CLIENT_NO_COOKIE (0x4), for servers that take data without a
    # cookie (RFC 7413 4.1.3); a cookie on the SYN,ACK was not asked for and is
    # not cached (client/cookie-less-sendto.pkt)
    conn, cache = client(cookie=None, no_cookie=True)
    assert conn.fastopen is not None and conn.fastopen.syn_capacity(conn.rcv_mss) == ROOM
    conn.send(b"x" * 1000)
    assert out(conn) == [ours(SYN, ISS, payload=b"x" * 1000, options=(MSS_OPT,))]
    synack = peer(SYN | ACK, IRS, ISS + 1001, options=(MSS_OPT, FastOpen(b"\xab" * 4), NOP, NOP))
    conn.receive_segment(synack, 0.01)
    assert conn.stats.syn_data_acked
    assert cache.cookie(REMOTE[0]) is None
    assert out(conn, 0.01) == [ours(ACK, ISS + 1001, IRS + 1)]


def test_release_syn_sends_a_held_syn_without_data() -> None:
    # TCP_FASTOPEN_CONNECT with a cookie holds the SYN for data; a send of
    # nothing connects all the same (Linux: EINPROGRESS, and the SYN with the
    # cookie alone; client/nonblocking-connect-bypass-errno.pkt)
    conn, _ = client(defer=True)
    assert out(conn) == []
    conn.release_syn()
    assert out(conn, 0.01) == [ours(SYN, ISS, options=(MSS_OPT, FastOpen(COOKIE), NOP, NOP))]


LINUX_ACKS = replace(
    CLIENT, delayed_ack=True, delayed_ack_timeout=0.04, quickack_initial=16, pingpong_acks=True
)


def handshake_with_a_waiting_writer(config: TcpConfig) -> Connection:
    """A blocking write of 1900 bytes: the SYN carries what fits (RFC 7413
    4.2.1 bounds it by the room), the rest follows the SYN,ACK on its ACK."""
    conn, _ = client(config)
    conn.send(b"x" * 1900)
    [syn] = out(conn)
    assert len(syn.payload) == ROOM
    conn.receive_segment(peer(SYN | ACK, IRS, ISS + 1 + ROOM, options=(MSS_OPT,)), 0.02)
    assert out(conn, 0.02) == [
        ours(ACK | PSH, ISS + 1 + ROOM, IRS + 1, payload=b"x" * (1900 - ROOM))
    ]
    return conn


def test_a_reply_sent_at_once_suspends_quick_acks() -> None:
    # Linux's pingpong mode: our data went within the ACK timeout of the
    # SYN,ACK (a writer was waiting), so the peer's data is not quick-ACKed;
    # the ACK waits, to ride on what we send next (client/blocking-sendto.pkt)
    conn = handshake_with_a_waiting_writer(LINUX_ACKS)
    conn.receive_segment(peer(ACK | PSH, IRS + 1, ISS + 1901, payload=b"y" * 500), 0.04)
    assert out(conn, 0.04) == []
    assert conn.receive() == b"y" * 500
    conn.close(0.04)
    assert out(conn, 0.04) == [ours(FIN | ACK, ISS + 1901, IRS + 501)]


def test_the_delayed_ack_timer_ends_pingpong_mode() -> None:
    conn = handshake_with_a_waiting_writer(LINUX_ACKS)
    conn.receive_segment(peer(ACK | PSH, IRS + 1, ISS + 1901, payload=b"y" * 500), 0.04)
    assert out(conn, 0.04) == []
    conn.handle_timer(0.08)
    assert out(conn, 0.08) == [ours(ACK, ISS + 1901, IRS + 501, window=65535 - 500)]
    conn.receive_segment(peer(ACK | PSH, IRS + 501, ISS + 1901, payload=b"z" * 100), 0.5)
    # quick again
    assert out(conn, 0.5) == [ours(ACK, ISS + 1901, IRS + 601, window=65535 - 600)]


def test_without_pingpong_acks_the_peers_data_is_quick_acked() -> None:
    conn = handshake_with_a_waiting_writer(replace(LINUX_ACKS, pingpong_acks=False))
    conn.receive_segment(peer(ACK | PSH, IRS + 1, ISS + 1901, payload=b"y" * 500), 0.04)
    assert out(conn, 0.04) == [ours(ACK, ISS + 1901, IRS + 501, window=65535 - 500)]


def test_no_waiting_writer_no_pingpong() -> None:
    # the SYN,ACK found nothing more to send: Linux ACKs it at once and its
    # ACK timeout is not started, so a write right after is no reply
    # (client/nonblocking-sendto-over-mss.pkt)
    conn, _ = client(LINUX_ACKS)
    conn.send(b"x" * ROOM)
    out(conn)
    conn.receive_segment(peer(SYN | ACK, IRS, ISS + 1 + ROOM, options=(MSS_OPT,)), 0.02)
    assert out(conn, 0.02) == [ours(ACK, ISS + 1 + ROOM, IRS + 1)]
    conn.send(b"w" * 100)
    assert out(conn, 0.02) == [ours(ACK | PSH, ISS + 1 + ROOM, IRS + 1, payload=b"w" * 100)]
    conn.receive_segment(peer(ACK | PSH, IRS + 1, ISS + 1 + ROOM + 100, payload=b"y" * 10), 0.03)
    assert out(conn, 0.03) == [ours(ACK, ISS + 1 + ROOM + 100, IRS + 11, window=65535 - 10)]


def test_a_syn_with_data_times_out_on_the_dot() -> None:
    # TCP_SYNCNT 1 (client/blocking-sendto-errnos.pkt): the SYN with data at
    # 0.3 s, one bare retransmission at 1.3 s (RFC 7413 4.1.3 leaves out the
    # data; Linux does), then the attempt ends at 3.3 s, not a SYN later:
    # 3.3 - 0.3 is a hair under 3.0 in floating point
    cfg = replace(CLIENT, syn_retries=1, syn_r2=3.0)
    cache = CookieCache()
    cache.store(REMOTE[0], COOKIE, MSS, False)
    conn = Connection(LOCAL, REMOTE, cfg)
    conn.fastopen = FastOpenState.client(cache, REMOTE[0])
    conn.connect(0.3, iss=ISS)
    conn.send(b"x" * 100)
    [syn] = out(conn, 0.3)
    assert len(syn.payload) == 100
    conn.handle_timer(1.3)
    assert out(conn, 1.3) == [ours(SYN, ISS, options=(MSS_OPT,))]
    assert conn.get_timer() == 3.3
    conn.handle_timer(3.3)
    assert out(conn, 3.3) == []
    assert conn.state is State.CLOSED


def test_a_syn_with_data_too_big_for_the_path_goes_again_bare_at_once() -> None:
    # RFC 1191: fragmentation needed on our SYN with data (RFC 7413): the SYN
    # goes again at once, without the data and offering the path's MSS, as
    # Linux's tcp_simple_retransmit does for SYN data; the data follows the
    # handshake (client/syn-data-icmp-unreach-frag-needed-with-seq.pkt)
    conn, _ = client(replace(CLIENT, pmtud=True))
    conn.send(b"x" * 1000)
    [syn] = out(conn)
    assert len(syn.payload) == 1000
    packet = icmp_error_for_segment(
        LOCAL[0], REMOTE[0], syn, ICMP_DEST_UNREACH, FRAGMENTATION_NEEDED, 840, reporter=None
    )
    msg = parse_icmp_packet(packet)
    assert msg is not None
    conn.receive_icmp(msg, 0.01)
    assert out(conn, 0.01) == [ours(SYN, ISS, options=(MaxSegmentSize(800),))]
    synack = peer(SYN | ACK, IRS, ISS + 1, options=(MaxSegmentSize(1040),))
    conn.receive_segment(synack, 0.03)
    assert not conn.stats.syn_data_acked
    # RFC 7413 4.2.1: the data again, on the ACK of the SYN,ACK, in segments
    # the path takes (the rest waits for Nagle)
    assert out(conn, 0.03) == [ours(ACK, ISS + 1, IRS + 1, payload=b"x" * 800)]


def test_a_syn_ack_that_acks_the_first_syns_data_after_a_bare_resend() -> None:
    # Our SYN with data timed out and went again bare (RFC 7413 4.1.3 leaves
    # that to us); the SYN,ACK acknowledges the data of the first one, which
    # arrived: it is done, and what we send next starts after it
    # (client/synack-data.pkt, TEST3)
    conn, _ = client()
    conn.send(b"x" * 1000)
    out(conn)
    conn.handle_timer(1.0)
    assert out(conn, 1.0) == [ours(SYN, ISS, options=(MSS_OPT,))]
    synack = peer(SYN | ACK, IRS, ISS + 1001, options=(MSS_OPT,), payload=b"y" * 100)
    conn.receive_segment(synack, 1.01)
    assert conn.snd_una == conn.snd_nxt == ISS + 1001
    assert conn.receive() == b"y" * 100
    conn.close(1.02)
    assert out(conn, 1.02) == [ours(FIN | ACK, ISS + 1001, IRS + 101)]


TS_CLIENT = replace(CLIENT, timestamps=True, syn_sent_check_tsecr=True)


def test_a_syn_ack_echoing_a_timestamp_never_sent_is_reset() -> None:
    # Linux: a SYN,ACK whose TSecr our clock never sent since our SYN is
    # answered as a bad ACK, <SEQ=SEG.ACK><CTL=RST>, and SYN-SENT waits for a
    # good one (client/synack-data.pkt, TEST5)
    conn, _ = client(TS_CLIENT)
    conn.send(b"x" * 100)
    [syn] = out(conn)
    ts = syn.timestamps
    assert ts is not None
    bad = peer(SYN | ACK, IRS, ISS + 101, options=(MSS_OPT, Timestamps(7, ts.value + 9999)))
    conn.receive_segment(bad, 0.01)
    assert out(conn, 0.01) == [ours(RST, ISS + 101, window=0)]
    assert conn.state is State.SYN_SENT
    good = peer(SYN | ACK, IRS, ISS + 101, options=(MSS_OPT, Timestamps(8, ts.value)))
    conn.receive_segment(good, 0.02)
    assert conn.state is State.ESTABLISHED


def test_without_the_tsecr_check_any_echo_is_taken() -> None:
    conn, _ = client(replace(TS_CLIENT, syn_sent_check_tsecr=False))
    conn.send(b"x" * 100)
    [syn] = out(conn)
    ts = syn.timestamps
    assert ts is not None
    bad = peer(SYN | ACK, IRS, ISS + 101, options=(MSS_OPT, Timestamps(7, ts.value + 9999)))
    conn.receive_segment(bad, 0.01)
    assert conn.state is State.ESTABLISHED


def test_a_read_right_after_the_syn_ack_announces_no_window_as_linux() -> None:
    # Linux takes the window its SYN,ACK chose as the whole space, though the
    # unscaled field said 65535 (tcp_select_initial_window): with its rule for
    # window updates (window_update_on_doubling), reading the SYN's data
    # before anything else is sent announces nothing; the FIN goes alone
    # (server/sockopt-fastopen-key.pkt)
    cfg = replace(SERVER, window_scaling=True, recv_buffer=540000, window_update_on_doubling=True)
    conn = server(cfg)
    syn = peer(SYN, IRS, options=(MSS_OPT, WindowScale(7), FastOpen(COOKIE), NOP, NOP),
               payload=b"x" * 1000)  # fmt: skip
    conn.receive_segment(syn, 0.0)
    [synack] = out(conn)
    assert (synack.ack, synack.window) == (IRS + 1001, 65535)
    conn.receive_segment(peer(ACK, IRS + 1001, ISS + 1), 0.01)
    assert conn.receive() == b"x" * 1000
    assert out(conn, 0.01) == []
    conn.close(0.01)
    [fin] = out(conn, 0.01)
    assert (fin.flags, fin.seq, fin.ack) == (FIN | ACK, ISS + 1, IRS + 1001)


def test_a_fast_open_child_sends_a_full_window_before_the_third_ack() -> None:
    # RFC 7413 4.2.2: the server may send in SYN-RECEIVED; our SYN,ACK takes
    # no room of the peer's window nor of cwnd (Linux's child starts at
    # SND.UNA = ISS + 1): a 10000-byte window takes 10000 bytes
    # (server/opt34/simple3.pkt)
    cfg = replace(SERVER, initial_window=10 * MSS)
    conn = server(cfg)
    syn = peer(SYN, IRS, window=10 * MSS, options=(MSS_OPT, FastOpen(COOKIE), NOP, NOP),
               payload=b"x" * 10)  # fmt: skip
    conn.receive_segment(syn, 0.0)
    out(conn)
    conn.receive()
    conn.send(b"y" * (12 * MSS))
    sent = out(conn, 0.01)
    assert sum(len(s.payload) for s in sent) == 10 * MSS
    assert sent[0].seq == ISS + 1
