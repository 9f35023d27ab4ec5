"""CLOSED: user calls (RFC 9293 3.10.1-3.10.6) and arriving segments (3.10.7.1)."""

from __future__ import annotations

import pytest
from _opening_helpers import feed
from conftest import (
    IRS,
    ISS,
    LOCAL,
    SYN_OPTS,
    events,
    in_state,
    make,
    ours,
    out,
    peer,
)

from synack.tcp.connection import Connection
from synack.tcp.errors import TcpError
from synack.tcp.events import ConnectionReset
from synack.tcp.state import State
from synack.wire.segment import ACK, FIN, PSH, RST, SYN


def _closed_after_reset() -> Connection:
    """A connection that reached CLOSED from ESTABLISHED through a RST."""
    conn = in_state(State.ESTABLISHED)
    conn.receive_segment(peer(RST, IRS + 1), 0.0)
    assert conn.state is State.CLOSED
    assert events(conn) == [ConnectionReset("connection reset")]
    assert out(conn) == []
    return conn


# -- user calls -------------------------------------------------------------


def test_closed_connect():
    # 3.10.1: active OPEN sends <SEQ=ISS><CTL=SYN> and enters SYN-SENT.
    conn = make()
    conn.connect(0.0, iss=ISS)
    assert conn.state is State.SYN_SENT
    assert out(conn) == [ours(SYN, ISS, options=SYN_OPTS)]


def test_closed_connect_foreign_socket_unspecified():
    conn = Connection(LOCAL, None)
    with pytest.raises(TcpError, match=r"^foreign socket unspecified$"):
        conn.connect(0.0, iss=ISS)
    assert conn.state is State.CLOSED
    assert out(conn) == []


def test_closed_listen():
    conn = make()
    conn.listen(0.0, iss=ISS)
    assert conn.state is State.LISTEN
    assert out(conn) == []
    assert conn.get_timer() is None


def test_closed_listen_foreign_socket_unspecified_is_allowed():
    # A passive OPEN may leave the foreign socket unspecified (3.10.1).
    conn = Connection(LOCAL, None)
    conn.listen(0.0, iss=ISS)
    assert conn.state is State.LISTEN
    assert out(conn) == []


def test_closed_send():
    conn = make()
    with pytest.raises(TcpError, match=r"^connection does not exist$"):
        conn.send(b"hello")
    assert out(conn) == []


def test_closed_receive():
    conn = make()
    with pytest.raises(TcpError, match=r"^connection does not exist$"):
        conn.receive(100)


def test_closed_close():
    conn = make()
    with pytest.raises(TcpError, match=r"^connection does not exist$"):
        conn.close()
    assert conn.state is State.CLOSED


def test_closed_shutdown_write():
    conn = make()
    with pytest.raises(TcpError, match=r"^connection does not exist$"):
        conn.shutdown_write()


def test_closed_abort():
    conn = make()
    with pytest.raises(TcpError, match=r"^connection does not exist$"):
        conn.abort()
    assert out(conn) == []


def test_closed_status():
    conn = make()
    with pytest.raises(TcpError, match=r"^connection does not exist$"):
        conn.status()


def test_closed_get_timer():
    conn = make()
    assert conn.get_timer() is None
    conn.handle_timer(1000.0)
    assert out(conn, 1000.0) == []
    assert events(conn) == []


# -- arriving segments (3.10.7.1) ---------------------------------------------


def test_closed_rcv_syn():
    # No ACK: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>; a SYN occupies one number.
    conn = make()
    assert feed(conn, peer(SYN, IRS, options=SYN_OPTS)) == [ours(RST | ACK, 0, IRS + 1, window=0)]
    assert conn.state is State.CLOSED
    assert events(conn) == []


def test_closed_rcv_data_without_ack():
    conn = make()
    reply = feed(conn, peer(PSH, IRS + 1, payload=b"0123456789"))
    assert reply == [ours(RST | ACK, 0, IRS + 11, window=0)]


def test_closed_rcv_fin_without_ack():
    # SEG.LEN counts the FIN: the RST acknowledges SEG.SEQ + 3 + 1.
    conn = make()
    reply = feed(conn, peer(FIN, IRS + 1, payload=b"abc"))
    assert reply == [ours(RST | ACK, 0, IRS + 5, window=0)]


def test_closed_rcv_ack():
    # With ACK: <SEQ=SEG.ACK><CTL=RST>.
    conn = make()
    assert feed(conn, peer(ACK, IRS + 1, ISS + 77)) == [ours(RST, ISS + 77, 0, window=0)]
    assert conn.state is State.CLOSED


def test_closed_rcv_syn_ack():
    conn = make()
    reply = feed(conn, peer(SYN | ACK, IRS, ISS + 1, options=SYN_OPTS))
    assert reply == [ours(RST, ISS + 1, 0, window=0)]


def test_closed_rcv_data_with_ack():
    conn = make()
    reply = feed(conn, peer(ACK | PSH, IRS + 1, 123456, payload=b"data"))
    assert reply == [ours(RST, 123456, 0, window=0)]


def test_closed_rcv_fin_ack():
    conn = make()
    assert feed(conn, peer(FIN | ACK, IRS + 1, ISS + 2)) == [ours(RST, ISS + 2, 0, window=0)]


def test_closed_rcv_ack_seq_wraps():
    # SEG.SEQ + SEG.LEN is taken modulo 2**32.
    conn = make()
    reply = feed(conn, peer(SYN, 0xFFFFFFFF))
    assert reply == [ours(RST | ACK, 0, 0, window=0)]


def test_closed_rcv_rst():
    # An incoming segment containing a RST is discarded: never answer a RST.
    conn = make()
    assert feed(conn, peer(RST, IRS)) == []
    assert conn.state is State.CLOSED


def test_closed_rcv_rst_ack():
    conn = make()
    assert feed(conn, peer(RST | ACK, IRS, ISS + 1)) == []


def test_closed_rcv_syn_after_reset():
    # A connection that came back to CLOSED answers like one that never opened.
    conn = _closed_after_reset()
    assert feed(conn, peer(SYN, IRS + 9000)) == [ours(RST | ACK, 0, IRS + 9001, window=0)]
    assert conn.state is State.CLOSED


def test_closed_rcv_ack_after_reset():
    conn = _closed_after_reset()
    assert feed(conn, peer(ACK, IRS + 1, ISS + 1)) == [ours(RST, ISS + 1, 0, window=0)]


def test_closed_send_after_reset():
    conn = _closed_after_reset()
    with pytest.raises(TcpError, match=r"^connection does not exist$"):
        conn.send(b"late")
    assert conn.get_timer() is None
