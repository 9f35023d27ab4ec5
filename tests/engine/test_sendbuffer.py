"""The send buffer alone: queueing, what is unsent, the FIN's place, release on ACK."""

from synack.tcp.sendbuffer import SendBuffer
from synack.wire import seq as sq


def test_queue_takes_what_fits_and_says_it_overflowed():
    buf = SendBuffer(capacity=10, start=1001)
    assert buf.queue(b"abcdef") == 6
    assert not buf.overflowed
    assert buf.queue(b"ghijkl") == 4
    assert buf.overflowed
    assert bytes(buf.data) == b"abcdefghij"
    assert buf.space == 0
    assert buf.end == 1011


def test_unsent_and_text_are_counted_from_the_buffer_start():
    buf = SendBuffer(capacity=100, start=5000)
    buf.queue(b"0123456789")
    assert buf.unsent(5000) == 10
    assert buf.unsent(5004) == 6
    assert buf.text(5004, 3) == (b"456", False)
    assert buf.text(5007, 3) == (b"789", True)  # ends the buffer: PSH (and FIN if queued)
    assert buf.text(5010, 0) == (b"", True)  # the bare FIN's place


def test_fin_is_unacked_until_an_ack_covers_it():
    buf = SendBuffer(capacity=100, start=1)
    buf.queue(b"abc")
    assert not buf.fin_unacked(1)  # no CLOSE yet
    buf.fin_queued = True
    assert buf.fin_unacked(1)
    assert buf.fin_unacked(4)  # the data is acknowledged, the FIN (at 4) is not
    assert not buf.fin_unacked(5)
    assert buf.unsent(5) == -1  # the FIN, sent, lies past the text


def test_release_frees_acknowledged_octets_only():
    buf = SendBuffer(capacity=100, start=100)
    buf.queue(b"abcdefgh")
    assert buf.release(99) == 0  # below the start: nothing
    assert buf.release(103) == 3
    assert (buf.start, len(buf), buf.text(103, 5)) == (103, 5, (b"defgh", True))
    assert buf.release(200) == 5  # an ACK past the text (of a FIN): all of it, no more
    assert (buf.start, len(buf)) == (108, 0)


def test_sequence_numbers_wrap():
    start = sq.MASK - 2  # 2**32 - 3
    buf = SendBuffer(capacity=100, start=start)
    buf.queue(b"abcdef")
    assert buf.end == 3
    assert buf.unsent(1) == 2
    assert buf.text(1, 2) == (b"ef", True)
    assert buf.release(0) == 3
    assert (buf.start, bytes(buf.data)) == (0, b"def")


def test_last_segment_start_follows_mss_pieces_and_the_floor():
    buf = SendBuffer(capacity=10_000, start=1000)
    buf.queue(bytes(2500))
    assert buf.last_segment_start(1000, 1000, buf.end) == 3000  # pieces at 1000, 2000, 3000
    assert buf.last_segment_start(1000, 3200, buf.end) == 3200  # never below SND.UNA
    buf2 = SendBuffer(capacity=10_000, start=1000)
    buf2.queue(bytes(2000))
    assert buf2.last_segment_start(1000, 1000, buf2.end) == 2000


def test_last_segment_start_is_of_the_text_sent_not_the_buffers_end():
    buf = SendBuffer(capacity=10_000, start=1000)
    buf.queue(bytes(2500))  # 1000-3499 queued; 1000-2799 sent
    assert buf.last_segment_start(1000, 1000, 2800) == 2000
    assert buf.last_segment_start(1000, 1000, 2000) == 1000


def test_clear_empties_the_buffer():
    buf = SendBuffer(capacity=10, start=7)
    buf.queue(b"xyz")
    buf.clear()
    assert len(buf) == 0 and buf.space == 10
