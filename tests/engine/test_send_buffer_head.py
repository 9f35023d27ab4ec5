"""The send buffer drops acknowledged octets from its bytearray only once they
are half of it (issue 16: cut at every ACK, the next append copied all that
was left). What it says about its octets does not change."""

from __future__ import annotations

from synack.tcp.sendbuffer import SendBuffer

STREAM = bytes(range(256)) * 40  # 10,240 octets


def test_octets_read_the_same_after_partial_releases() -> None:
    buf = SendBuffer(20_000, start=1000)
    assert buf.queue(STREAM[:4000]) == 4000
    assert buf.release(1000 + 1000) == 1000
    assert (buf.head, len(buf.data)) == (1000, 4000)  # kept: a quarter of it
    assert (len(buf), buf.space, buf.end) == (3000, 17_000, 5000)
    assert buf.text(2000, 500) == (STREAM[1000:1500], False)
    assert buf.text(4500, 500) == (STREAM[3500:4000], True)
    assert buf.unsent(4000) == 1000
    assert buf.queue(STREAM[4000:6000]) == 2000
    assert buf.text(5500, 500) == (STREAM[4500:5000], False)
    # past half of the bytearray: the acknowledged octets go
    assert buf.release(1000 + 3500) == 2500
    assert (buf.head, len(buf.data), len(buf)) == (0, 2500, 2500)
    assert buf.text(4500, 2500) == (STREAM[3500:6000], True)
    assert buf.last_segment_start(1000, 0, buf.end) == 4500 + 2000


def test_releasing_everything_keeps_no_bytearray() -> None:
    buf = SendBuffer(20_000, start=0)
    buf.queue(STREAM[:3000])
    buf.release(100)
    assert buf.release(3000) == 2900
    assert (buf.data, buf.head, len(buf), buf.end) == (b"", 0, 0, 3000)
    assert buf.queue(STREAM[:10]) == 10
    assert buf.text(3000, 10) == (STREAM[:10], True)
