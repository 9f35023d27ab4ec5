"""The send buffer: what SEND queued and the peer has not yet acknowledged.

RFC 9293 3.10.2 (SEND) queues the user's octets; they stay here, sent or not,
until an ACK covers them (3.10.7.4, fifth step), so that any of them can be
sent again. A CLOSE (3.10.4) queues a FIN after the last of them. The buffer
knows the sequence number of its first octet (the oldest unacknowledged one;
SND.UNA once the SYN is acknowledged), so every question about it is asked
in sequence numbers. Pure bookkeeping: which segments leave and when is the
connection's business.
"""

from __future__ import annotations

from typing import cast

from synack.wire import seq as sq


class SendBuffer:
    """Octets from ``start`` on, at most ``capacity`` of them, and maybe a FIN after."""

    __slots__ = ("capacity", "data", "fin_queued", "head", "overflowed", "records", "start")

    def __init__(self, capacity: int, start: int = 0) -> None:
        self.capacity = capacity
        # the octets are data[head:]; an empty buffer keeps no bytearray (idle
        # memory, issue 16). Acknowledged octets leave the bytearray only once
        # they are half of it: cut at every ACK, the next append would copy all
        # that is left (a bytearray with room at its front grows by copying)
        self.data: bytearray | bytes = b""
        self.head = 0
        self.start = start  # the sequence number of data[head]
        self.fin_queued = False  # CLOSE: a FIN follows the last octet
        # a SEND did not fit whole: the user waits to hear there is room
        self.overflowed = False
        # the ends of records (MSG_EOR), in order: no segment crosses one; None
        # until the first (most connections never send a record)
        self.records: list[int] | None = None

    def __len__(self) -> int:
        return len(self.data) - self.head

    @property
    def space(self) -> int:
        return self.capacity - len(self)

    @property
    def end(self) -> int:
        """The sequence number after the last octet: where the FIN goes."""
        return sq.add(self.start, len(self))

    def queue(self, data: bytes | bytearray | memoryview) -> int:
        """Copy as much of ``data`` as fits; how much did."""
        n = min(self.capacity - len(self), len(data))
        if n < len(data):
            self.overflowed = True
        if n > 0:
            part = data[:n] if n < len(data) else data
            if self.data:
                self.data += part
            else:
                self.data = bytearray(part)
        return n

    def unsent(self, snd_nxt: int) -> int:
        """Octets at or after ``snd_nxt`` (negative once the FIN is sent)."""
        return len(self.data) - self.head - sq.sub(snd_nxt, self.start)

    def end_record(self) -> None:
        """The octets queued so far end a record (MSG_EOR): later ones never
        share a segment with them."""
        if not self.data:
            return
        if self.records is None:
            self.records = []
        if not self.records or self.records[-1] != self.end:
            self.records.append(self.end)

    def record_room(self, snd_nxt: int, unsent: int) -> int:
        """Of the ``unsent`` octets from ``snd_nxt``, those before the end of
        the record they start in."""
        for end in self.records or ():
            if sq.gt(end, snd_nxt):
                return min(unsent, sq.sub(end, snd_nxt))
        return unsent

    def fin_unacked(self, snd_una: int) -> bool:
        """A FIN is queued or sent, and ``snd_una`` does not cover it yet."""
        return self.fin_queued and sq.le(snd_una, self.end)

    def text(self, seq: int, size: int) -> tuple[bytes, bool]:
        """``size`` octets from ``seq``, and whether they are the last ones
        (the segment that carries them ends the buffer: PSH, and FIN if queued)."""
        offset = sq.sub(seq, self.start)
        last = offset + size == len(self)
        offset += self.head
        return bytes(self.data[offset : offset + size]), last

    def release(self, ack: int) -> int:
        """An ACK of everything before ``ack``: free those octets; how many."""
        freed = min(max(sq.sub(ack, self.start), 0), len(self))
        if freed:
            if freed == len(self):
                self.data, self.head = b"", 0  # all of it: the bytearray goes
            else:
                self.head += freed
                if self.head >= len(self.data) >> 1:
                    del cast(bytearray, self.data)[: self.head]
                    self.head = 0
            self.start = sq.add(self.start, freed)
            records = self.records
            while records and sq.le(records[0], self.start):
                del records[0]
        return freed

    def last_segment_start(self, mss: int, floor: int, sent_end: int) -> int:
        """Where the highest segment sent begins, whose text ends at ``sent_end``:
        text leaves in ``mss`` pieces from the buffer's start; never below ``floor``."""
        offset = (sq.sub(sent_end, self.start) - 1) // mss * mss
        return sq.max_seq(sq.add(self.start, offset), floor)

    def clear(self) -> None:
        """TIME-WAIT or CLOSED: nothing will be sent again."""
        self.data, self.head = b"", 0
        self.records = None
