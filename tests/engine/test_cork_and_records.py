"""TCP_CORK (Connection.set_cork) and MSG_EOR records (send(eor=True)):
the exact segments each lets out, and when."""

from __future__ import annotations

from dataclasses import replace

from conftest import IRS, ISS, PLAIN, in_state, out, peer

from synack.tcp.connection import Connection
from synack.tcp.sendbuffer import SendBuffer
from synack.tcp.state import State
from synack.wire.segment import ACK, FIN, PSH, Segment

NODELAY = replace(PLAIN, nodelay=True)


def rto(conn: Connection) -> list[Segment]:
    """What goes out when the next timer (the retransmission timeout) fires."""
    deadline = conn.get_timer()
    assert deadline is not None
    conn.handle_timer(deadline)
    return out(conn, deadline)


def sizes(conn: Connection) -> list[tuple[int, int, int]]:
    """(offset from our first data octet, length, flags) of what goes out now."""
    return [(seg.seq - ISS - 1, len(seg.payload), seg.flags) for seg in out(conn)]


def test_cork_holds_a_partial_segment_even_with_nodelay() -> None:
    conn = in_state(State.ESTABLISHED, NODELAY)
    conn.set_cork(True)
    conn.send(bytes(100))
    assert sizes(conn) == []
    conn.send(bytes(2000))  # 2100 queued: one full segment goes, 640 wait
    assert sizes(conn) == [(0, 1460, ACK)]
    assert sizes(conn) == []
    woken: list[Connection] = []
    conn.on_wakeup = woken.append
    conn.set_cork(False)
    assert woken == [conn]
    assert sizes(conn) == [(1460, 640, ACK | PSH)]


def test_without_cork_nodelay_sends_each_write() -> None:
    conn = in_state(State.ESTABLISHED, NODELAY)
    conn.send(bytes(100))
    assert sizes(conn) == [(0, 100, ACK | PSH)]


def test_a_fin_takes_the_corked_data_with_it() -> None:
    conn = in_state(State.ESTABLISHED, NODELAY)
    conn.set_cork(True)
    conn.send(bytes(100))
    assert sizes(conn) == []
    conn.close()
    assert sizes(conn) == [(0, 100, ACK | PSH | FIN)]


def test_a_record_end_is_a_segment_end() -> None:
    conn = in_state(State.ESTABLISHED, NODELAY)
    conn.send(bytes(500), eor=True)
    conn.send(bytes(500))
    assert sizes(conn) == [(0, 500, ACK | PSH), (500, 500, ACK | PSH)]


def test_without_eor_writes_share_a_segment() -> None:
    conn = in_state(State.ESTABLISHED, NODELAY)
    conn.send(bytes(500))
    conn.send(bytes(500))
    assert sizes(conn) == [(0, 1000, ACK | PSH)]


def test_a_small_record_end_goes_past_nagle_but_the_tail_waits() -> None:
    conn = in_state(State.ESTABLISHED, PLAIN)  # Nagle on
    conn.send(bytes(2000), eor=True)
    conn.send(bytes(100))
    # the record's last 540 go at once (only the last data is Nagle's to hold);
    # the 100 after it wait for the ACK of what is in flight
    assert sizes(conn) == [(0, 1460, ACK), (1460, 540, ACK | PSH)]
    conn.receive_segment(peer(ACK, IRS + 1, ISS + 1 + 2000), 0.1)
    assert sizes(conn) == [(2000, 100, ACK | PSH)]
    assert conn.send_buf.records == []  # acknowledged records are forgotten


def test_a_send_that_does_not_fit_whole_ends_no_record() -> None:
    conn = in_state(State.ESTABLISHED, replace(NODELAY, send_buffer=1000))
    assert conn.send(bytes(1500), eor=True) == 1000
    assert conn.send_buf.records is None  # no record, and no list made for one


def test_send_buffer_record_room() -> None:
    buf = SendBuffer(10_000, start=100)
    buf.queue(bytes(300))
    buf.end_record()
    buf.end_record()  # the same end once
    buf.queue(bytes(200))
    assert buf.records == [400]
    assert buf.record_room(100, 500) == 300
    assert buf.record_room(350, 150) == 50
    assert buf.record_room(400, 200) == 200  # past the last end: all of it
    buf.release(400)
    assert buf.records == []


def test_msg_more_holds_until_a_send_without_it() -> None:
    conn = in_state(State.ESTABLISHED, NODELAY)
    conn.send(bytes(100), more=True)
    conn.send(bytes(1500), more=True)
    # whole segments go; the partial tail waits, and is not pushed
    assert sizes(conn) == [(0, 1460, ACK)]
    assert sizes(conn) == []
    conn.send(bytes(10))
    assert sizes(conn) == [(1460, 150, ACK | PSH)]


def test_msg_more_hold_ends_when_the_peer_sends_unpushed() -> None:
    conn = in_state(State.ESTABLISHED, NODELAY)
    conn.send(bytes(1500), more=True)
    assert sizes(conn) == [(0, 1460, ACK)]
    conn.receive_segment(peer(ACK, IRS + 1, ISS + 1 + 1460), 0.05)
    assert sizes(conn) == [(1460, 40, ACK)]  # written with MSG_MORE: no PSH


def test_msg_more_hold_ends_at_the_persist_timer_pushed() -> None:
    conn = in_state(State.ESTABLISHED, NODELAY)
    conn.send(bytes(40), more=True)
    assert sizes(conn) == []
    deadline = conn.get_timer()
    assert deadline is not None
    conn.handle_timer(deadline)
    assert [(seg.seq - ISS - 1, len(seg.payload), seg.flags) for seg in out(conn, deadline)] == [
        (0, 40, ACK | PSH)
    ]


def test_a_retransmission_does_not_cross_a_record_end() -> None:
    conn = in_state(State.ESTABLISHED, NODELAY)
    conn.send(bytes(500), eor=True)
    assert sizes(conn) == [(0, 500, ACK | PSH)]
    conn.send(bytes(500))
    assert sizes(conn) == [(500, 500, ACK | PSH)]
    sent = rto(conn)  # the first segment again, no more than its record; then the next
    assert [(seg.seq - ISS - 1, len(seg.payload)) for seg in sent] == [(0, 500), (500, 500)]


def test_without_eor_a_retransmission_takes_a_full_segment() -> None:
    conn = in_state(State.ESTABLISHED, NODELAY)
    conn.send(bytes(500))
    assert sizes(conn) == [(0, 500, ACK | PSH)]
    conn.send(bytes(500))
    assert sizes(conn) == [(500, 500, ACK | PSH)]
    sent = rto(conn)
    assert [(seg.seq - ISS - 1, len(seg.payload)) for seg in sent] == [(0, 1000)]


def test_corked_data_goes_when_the_persist_timer_fires() -> None:
    # nothing in flight: the persist timer ends the hold, once (Linux's ceiling)
    conn = in_state(State.ESTABLISHED, NODELAY)
    conn.set_cork(True)
    conn.send(bytes(100))
    assert sizes(conn) == []
    deadline = conn.get_timer()
    assert deadline is not None
    conn.handle_timer(deadline)
    assert [(s.seq - ISS - 1, len(s.payload), s.flags) for s in out(conn, deadline)] == [
        (0, 100, ACK | PSH)
    ]
    conn.receive_segment(peer(ACK, IRS + 1, ISS + 1 + 100), deadline + 0.01)
    conn.send(bytes(50))
    assert sizes(conn) == []  # still corked
