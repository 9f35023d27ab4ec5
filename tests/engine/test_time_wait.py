"""TIME-WAIT: both FINs acknowledged; wait 2 MSL (RFC 9293 3.4.2, 3.10.7.4).

Reached at time 0 from FIN-WAIT-2. SND.NXT = ISS+2, RCV.NXT = IRS+2.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from _closing_helpers import TS, TWO_MSL, feed, ts_at, ts_in_state, ts_opts
from conftest import IRS, ISS, LPORT, PLAIN, RPORT, WINDOW, events, in_state, ours, out, peer

from synack.tcp.errors import TcpError
from synack.tcp.events import ConnectionAborted, ConnectionClosed, ConnectionReset
from synack.tcp.state import State
from synack.wire.segment import ACK, FIN, PSH, RST, SYN

S = State.TIME_WAIT
ACK_NOW = ours(ACK, ISS + 2, IRS + 2)  # <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
NO_1337 = replace(PLAIN, rfc1337=False)


# -- the 2 MSL timer -------------------------------------------------------


def test_time_wait_lasts_2msl() -> None:
    conn = in_state(S)
    assert conn.get_timer() == 2 * PLAIN.msl
    conn.handle_timer(2 * PLAIN.msl - 0.001)
    assert conn.state is S
    assert events(conn) == []
    conn.handle_timer(2 * PLAIN.msl)
    assert out(conn, 2 * PLAIN.msl) == []
    assert conn.state is State.CLOSED
    assert events(conn) == [ConnectionClosed()]
    assert conn.get_timer() is None
    assert conn.time_wait_record() is None


def test_time_wait_lasts_2msl_of_configured_msl() -> None:
    conn = in_state(S, replace(PLAIN, msl=30.0))
    assert conn.get_timer() == 60.0
    conn.handle_timer(59.999)
    assert conn.state is S
    conn.handle_timer(60.0)
    assert conn.state is State.CLOSED
    assert events(conn) == [ConnectionClosed()]


def test_time_wait_no_output_while_waiting() -> None:
    conn = in_state(S)
    assert out(conn, 1.0) == []
    conn.handle_timer(100.0)
    assert out(conn, 100.0) == []
    assert conn.state is S


# -- arriving FIN ----------------------------------------------------------


def test_time_wait_rcv_retransmitted_fin_restarts_timer() -> None:
    # RFC 9293 3.10.7.4 fifth/eighth, TIME-WAIT: acknowledge the retransmitted FIN and
    # restart the 2 MSL timeout.
    conn = in_state(S)
    assert feed(conn, peer(FIN | ACK, IRS + 1, ISS + 2), 100.0) == [ACK_NOW]
    assert conn.state is S
    assert conn.get_timer() == 100.0 + TWO_MSL
    assert events(conn) == []
    conn.handle_timer(TWO_MSL)  # the old deadline passes: still waiting
    assert conn.state is S
    conn.handle_timer(100.0 + TWO_MSL)
    assert conn.state is State.CLOSED
    assert events(conn) == [ConnectionClosed()]


def test_time_wait_rcv_retransmitted_fin_with_timestamps() -> None:
    conn = ts_in_state(S)
    sent = feed(conn, peer(FIN | ACK, IRS + 1, ISS + 2, options=ts_opts(7002, ts_at(0))), 50.0)
    assert sent == [ours(ACK, ISS + 2, IRS + 2, options=ts_opts(ts_at(50.0), 7002))]
    assert conn.get_timer() == 50.0 + TWO_MSL


# -- arriving RST (RFC 1337, RFC 5961 3.2) ---------------------------------


def test_time_wait_rcv_rst_ignored_with_rfc1337() -> None:
    # RFC 1337 (TIME-WAIT assassination, fix TWH1): ignore RST segments in TIME-WAIT.
    conn = in_state(S)
    assert feed(conn, peer(RST, IRS + 2), 10.0) == []
    assert conn.state is S
    assert events(conn) == []
    assert conn.get_timer() == TWO_MSL  # neither cut short nor restarted


def test_time_wait_rcv_rst_ack_ignored_with_rfc1337() -> None:
    conn = in_state(S)
    assert feed(conn, peer(RST | ACK, IRS + 2, ISS + 2), 10.0) == []
    assert conn.state is S


def test_time_wait_rcv_rst_exact_closes_without_rfc1337() -> None:
    # RFC 9293 3.10.7.4 second, TIME-WAIT: enter CLOSED, delete the TCB (SEG.SEQ = RCV.NXT).
    conn = in_state(S, NO_1337)
    assert feed(conn, peer(RST, IRS + 2), 10.0) == []
    assert conn.state is State.CLOSED
    assert events(conn) == [ConnectionReset("connection reset")]
    assert conn.get_timer() is None
    assert conn.time_wait_record() is None


def test_time_wait_rcv_rst_in_window_challenge_ack_without_rfc1337() -> None:
    # RFC 5961 3.2: in the window, not exact: challenge ACK.
    conn = in_state(S, NO_1337)
    assert feed(conn, peer(RST, IRS + 10), 10.0) == [ACK_NOW]
    assert conn.state is S


def test_time_wait_rcv_rst_out_of_window_dropped_without_rfc1337() -> None:
    # RFC 5961 3.2 / RFC 9293 3.10.7.4 first: a RST outside the window is silently dropped.
    conn = in_state(S, NO_1337)
    assert feed(conn, peer(RST, IRS + 2 + WINDOW), 10.0) == []
    assert feed(conn, peer(RST, IRS + 1), 10.0) == []
    assert conn.state is S


# -- arriving SYN ----------------------------------------------------------


def test_time_wait_rcv_new_syn_challenge_ack() -> None:
    # RFC 9293 3.10.7.4 fourth / RFC 5961 4.2: a SYN in a synchronized state draws an ACK.
    # (Reopening from TIME-WAIT is the Host's business, RFC 6191; the engine alone ACKs.)
    conn = in_state(S)
    assert feed(conn, peer(SYN, IRS + 100_000, options=()), 10.0) == [ACK_NOW]
    assert conn.state is S
    assert conn.get_timer() == TWO_MSL


def test_time_wait_rcv_old_syn_challenge_ack() -> None:
    conn = in_state(S)
    assert feed(conn, peer(SYN, IRS), 10.0) == [ACK_NOW]
    assert conn.state is S


# -- other arriving segments -----------------------------------------------


def test_time_wait_rcv_bare_ack_ignored() -> None:
    # Acceptable, nothing to do: only a retransmitted FIN is expected here.
    conn = in_state(S)
    assert feed(conn, peer(ACK, IRS + 2, ISS + 2), 10.0) == []
    assert conn.state is S
    assert conn.get_timer() == TWO_MSL


def test_time_wait_rcv_old_duplicate_ack() -> None:
    # RFC 9293 3.10.7.4 first: SEG.SEQ = IRS+1 < RCV.NXT: unacceptable: send an ACK.
    conn = in_state(S)
    assert feed(conn, peer(ACK, IRS + 1, ISS + 1), 10.0) == [ACK_NOW]
    assert conn.state is S
    assert conn.get_timer() == TWO_MSL


def test_time_wait_rcv_old_duplicate_data() -> None:
    conn = in_state(S)
    assert feed(conn, peer(PSH | ACK, IRS - 4, ISS + 1, payload=b"olds"), 10.0) == [ACK_NOW]
    assert conn.state is S


def test_time_wait_rcv_paws_old_timestamp() -> None:
    # RFC 7323 5.3 R1: SEG.TSval (6000) < TS.Recent (7002): ACK and drop.
    conn = ts_in_state(S)
    sent = feed(conn, peer(ACK, IRS + 2, ISS + 2, options=ts_opts(6000, ts_at(0))), 1.0)
    assert sent == [ours(ACK, ISS + 2, IRS + 2, options=ts_opts(ts_at(1.0), 7002))]
    assert conn.state is S
    assert conn.get_timer() == TWO_MSL


def test_time_wait_rcv_paws_old_timestamp_fin_does_not_restart_timer() -> None:
    # R1 rejects the segment before the FIN is looked at: no restart of 2 MSL.
    conn = ts_in_state(S)
    sent = feed(conn, peer(FIN | ACK, IRS + 1, ISS + 2, options=ts_opts(6000, ts_at(0))), 20.0)
    assert sent == [ours(ACK, ISS + 2, IRS + 2, options=ts_opts(ts_at(20.0), 7002))]
    assert conn.get_timer() == TWO_MSL


def test_time_wait_rcv_current_timestamp_bare_ack_ignored() -> None:
    conn = ts_in_state(S)
    assert feed(conn, peer(ACK, IRS + 2, ISS + 2, options=ts_opts(7003, ts_at(0))), 1.0) == []
    assert conn.state is S


# -- the compact record ----------------------------------------------------


def test_time_wait_record_contents() -> None:
    conn = in_state(S)
    tw = conn.time_wait_record()
    assert tw is not None
    assert (tw.local_port, tw.remote_port) == (LPORT, RPORT)
    assert (tw.snd_nxt, tw.rcv_nxt) == (ISS + 2, IRS + 2)
    assert tw.window == WINDOW
    assert tw.ts_offset is None
    assert tw.expires == TWO_MSL
    assert tw.config is PLAIN
    assert tw.ack(5.0) == ACK_NOW


def test_time_wait_record_contents_with_timestamps() -> None:
    conn = ts_in_state(S)
    tw = conn.time_wait_record()
    assert tw is not None
    assert (tw.snd_nxt, tw.rcv_nxt) == (ISS + 2, IRS + 2)
    assert tw.ts_offset == ISS  # our TSval = ms + offset, as on every segment before
    assert tw.ts_recent == 7002  # the TSval of the peer's FIN
    assert tw.expires == TWO_MSL
    assert tw.config is TS
    assert tw.ack(3.0) == ours(ACK, ISS + 2, IRS + 2, options=ts_opts(ts_at(3.0), 7002))


def test_time_wait_record_expiry_follows_restart() -> None:
    conn = in_state(S)
    feed(conn, peer(FIN | ACK, IRS + 1, ISS + 2), 42.0)
    tw = conn.time_wait_record()
    assert tw is not None
    assert tw.expires == 42.0 + TWO_MSL


# -- user calls (RFC 9293 3.10.2-3.10.6) ------------------------------------


def test_time_wait_user_send_connection_closing() -> None:
    conn = in_state(S)
    with pytest.raises(TcpError, match=r"^connection closing$"):
        conn.send(b"x")
    assert out(conn) == []


def test_time_wait_user_receive_connection_closing() -> None:
    conn = in_state(S)
    with pytest.raises(TcpError, match=r"^connection closing$"):
        conn.receive()


def test_time_wait_user_close_connection_closing() -> None:
    conn = in_state(S)
    with pytest.raises(TcpError, match=r"^connection closing$"):
        conn.close()
    assert out(conn) == []
    assert conn.state is S


def test_time_wait_user_abort_no_rst() -> None:
    # RFC 9293 3.10.5, TIME-WAIT: respond "ok", delete the TCB, enter CLOSED; no RST.
    conn = in_state(S)
    conn.abort()
    assert out(conn) == []
    assert conn.state is State.CLOSED
    assert events(conn) == [ConnectionAborted("connection aborted")]
    assert conn.get_timer() is None
    assert conn.time_wait_record() is None


def test_time_wait_user_status() -> None:
    conn = in_state(S)
    st = conn.status()
    assert st.state is S
    assert (st.snd_una, st.snd_nxt, st.rcv_nxt) == (ISS + 2, ISS + 2, IRS + 2)
