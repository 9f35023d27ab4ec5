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
from synack.tcp.fastopen import make_cookie
from synack.tcp.state import State
from synack.wire.icmp import (
    HOST_UNREACHABLE,
    ICMP_DEST_UNREACH,
    PORT_UNREACHABLE,
    IcmpError,
    icmp_error_for_segment,
    parse_icmp_packet,
)
from synack.wire.segment import ACK, NOP, PSH, RST, SYN, FastOpen, MaxSegmentSize, Segment

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
