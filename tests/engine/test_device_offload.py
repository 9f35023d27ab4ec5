"""Linux-profile knobs of the engine, each with its exact segments:
segmentation offload (super-segments of whole SMSS-sized pieces, recovered
piece by piece), quick ACKs at a connection's start, and SACK-permitted
padded with NOPs when no timestamps go with it."""

from __future__ import annotations

from dataclasses import replace

from conftest import IRS, ISS, MSS, PLAIN, WINDOW, in_state, ours, out, peer, sack_connection

from synack.tcp.config import TcpConfig
from synack.tcp.options import syn_options
from synack.tcp.state import State
from synack.wire.segment import (
    ACK,
    NOP,
    PSH,
    SACK_PERMITTED,
    MaxSegmentSize,
    Sack,
    WindowScale,
)

DATA = bytes(range(256)) * 60  # 15,360 bytes
OFFLOAD = replace(PLAIN, initial_window=4 * MSS, segmentation_offload=65536)


def test_new_data_goes_as_one_pushed_super_segment_of_the_window() -> None:
    conn = in_state(State.ESTABLISHED, OFFLOAD)
    conn.send(DATA[: 6 * MSS])
    # cwnd is 4 segments: one segment of 4 SMSS, pushed
    assert out(conn) == [ours(ACK | PSH, ISS + 1, IRS + 1, payload=DATA[: 4 * MSS])]


def test_a_super_segment_is_whole_pieces_unless_it_ends_the_data() -> None:
    conn = in_state(State.ESTABLISHED, replace(OFFLOAD, initial_window=10 * MSS))
    conn.send(DATA[: 2 * MSS + 100])
    assert out(conn) == [ours(ACK | PSH, ISS + 1, IRS + 1, payload=DATA[: 2 * MSS + 100])]
    conn2 = in_state(State.ESTABLISHED, replace(OFFLOAD, initial_window=3 * MSS))
    conn2.send(DATA[: 3 * MSS + 100])
    assert out(conn2) == [ours(ACK | PSH, ISS + 1, IRS + 1, payload=DATA[: 3 * MSS])]


def test_one_piece_of_new_data_is_pushed_only_at_the_end_of_the_data() -> None:
    conn = in_state(State.ESTABLISHED, replace(OFFLOAD, initial_window=1 * MSS))
    conn.send(DATA[: 3 * MSS])
    assert out(conn) == [ours(ACK, ISS + 1, IRS + 1, payload=DATA[:MSS])]


def test_a_lost_piece_of_a_super_segment_is_resent_alone() -> None:
    config = replace(OFFLOAD, sack=True, congestion_control="newreno", rack=False)
    conn = in_state(State.ESTABLISHED, config)
    conn.sack_ok = True
    conn.send(DATA[: 4 * MSS])
    assert [len(s.payload) for s in out(conn)] == [4 * MSS]
    # the first piece is lost: three duplicate ACKs SACK the other three
    for n in (1, 2, 3):
        blocks = ((ISS + 1 + MSS, ISS + 1 + (n + 1) * MSS),)
        conn.receive_segment(peer(ACK, IRS + 1, ISS + 1, options=(Sack(blocks),)), 0.1)
        sent = out(conn, 0.1)
    assert sent == [ours(ACK, ISS + 1, IRS + 1, payload=DATA[:MSS])]


def test_quick_acks_at_the_start_then_delayed() -> None:
    config = replace(PLAIN, delayed_ack=True, quickack_initial=2)
    conn = in_state(State.ESTABLISHED, config)
    seq = IRS + 1
    for _ in range(2):  # each of the first two is ACKed at once
        conn.receive_segment(peer(ACK, seq, ISS + 1, payload=b"x" * 100), 0.0)
        seq += 100
        unread = seq - (IRS + 1)  # the window shrinks by what the application has not read
        assert out(conn) == [ours(ACK, ISS + 1, seq, window=WINDOW - unread)]
    conn.receive_segment(peer(ACK, seq, ISS + 1, payload=b"x" * 100), 0.0)
    assert out(conn) == []  # then delayed as usual


def test_no_quick_acks_by_default() -> None:
    conn = in_state(State.ESTABLISHED, replace(PLAIN, delayed_ack=True))
    conn.receive_segment(peer(ACK, IRS + 1, ISS + 1, payload=b"x" * 100), 0.0)
    assert out(conn) == []


def test_sack_permitted_without_timestamps_is_padded() -> None:
    linux = TcpConfig(timestamps=False, pad_sack_permitted=True)
    options = syn_options(linux, False, 1460, 8, (True, True, False), 0, 0)
    assert options == (MaxSegmentSize(1460), NOP, NOP, SACK_PERMITTED, NOP, WindowScale(8))
    unpadded = syn_options(replace(linux, pad_sack_permitted=False), False, 1460, 8,
                           (True, True, False), 0, 0)  # fmt: skip
    assert unpadded == (MaxSegmentSize(1460), SACK_PERMITTED, NOP, WindowScale(8))


def _after_rto(config: TcpConfig) -> list[tuple[int, int]]:
    """Four segments out, an RTO, then the ACK of the first resend: what goes next."""
    conn = sack_connection(config)
    conn.send(DATA[: 4 * MSS])
    assert sum(len(s.payload) for s in out(conn)) == 4 * MSS
    deadline = conn.get_timer()
    assert deadline is not None
    conn.handle_timer(deadline)  # the RTO: cwnd one segment, the first resent alone
    assert [(s.seq, len(s.payload)) for s in out(conn, deadline)] == [(ISS + 1, MSS)]
    conn.receive_segment(peer(ACK, IRS + 1, ISS + 1 + MSS), deadline + 0.1)
    return [(s.seq, len(s.payload)) for s in out(conn, deadline + 0.1)]


def test_lost_pieces_in_a_row_are_resent_as_one_super_segment() -> None:
    """After an RTO, lost segments that follow one another go in one resend, as
    far as cwnd allows (Linux retransmits whole buffers through TSO)."""
    config = replace(OFFLOAD, sack=True, congestion_control="newreno", tail_loss_probe=False)
    assert _after_rto(config) == [(ISS + 1 + MSS, 2 * MSS)]  # cwnd 2: two pieces, one segment


def test_without_offload_they_go_one_by_one() -> None:
    config = replace(
        PLAIN, sack=True, congestion_control="newreno", initial_window=4 * MSS,
        tail_loss_probe=False,
    )  # fmt: skip
    assert _after_rto(config) == [(ISS + 1 + MSS, MSS), (ISS + 1 + 2 * MSS, MSS)]
