"""The Host's TIME-WAIT records, packed into bytearrays, one table per key length.

A host may hold a million connections in TIME-WAIT (2 MSL each, RFC 9293
3.4.2), so a record must cost little. A dict of bytes keys to bytes values
costs about 170 B a record (two bytes objects and a dict slot); here a
record is one fixed-size slot and owns no Python object. A slot is a
control byte in ``ctrl`` and a record in ``buf``::

    ctrl     1 B   empty (0), a tombstone (1), or a live record's tag (2-255)
    queued   2 B   entries of the expiry queue that point at this slot
    expires  8 B   the deadline, the float itself (timers stay exact)
    key            the packed 4-tuple: 12 B for IPv4, 36 B for IPv6
    value          the caller's packed fields (the Host's: 20 B)

Lookup is open addressing with linear probing from ``hash(key)``. Bytes
hash with SipHash under a per-process key, so a peer cannot aim its
4-tuples at one run of slots, and at most 3/4 of the slots are used (live
records and tombstones), so a probe run is O(1) long on average. A probe
reads one control byte a slot and compares keys only where the tag (8 more
bits of the hash) matches. A removed record leaves a tombstone that probing
steps over and an insert reuses. When a new record would use more than 3/4 of the
slots, the table is rebuilt with twice as many slots as live records:
without tombstones it grows by half, so a record costs between 4/3 and 2
slots (IPv4: 43 B a slot, 57 to 86 B a record, plus 4 B in the queue;
IPv6: 67 B a slot, 89 to 134 B). It shrinks the same way when fewer than
1/8 of the slots hold a record.

Expiry is a FIFO of slot numbers (32-bit, 4 B an entry) in the order the
records were stored, which is expiry order when they share one MSL. A
record whose 2 MSL timer restarts (a retransmitted FIN) is queued again at
the back, and its ``queued`` count tells which entry is its own: the head
entry stands for the record only when it is the last one pointing at the
slot (count 1); the others are skipped. A slot keeps its count when its
record goes and a record that reuses the slot inherits it, so the entries
of a removed record are never taken for the new one. When stale entries outnumber the records
the FIFO is compacted, so restarts cannot grow it without bound.
"""

from __future__ import annotations

import struct
from array import array

# A slot's control byte: empty, a tombstone, or a live record's tag (2-255,
# from its hash: a lookup compares keys only where the tag matches).
_EMPTY, _DEAD = 0, 1
_TAGS = 254
_RECORD = struct.Struct("<Hd")  # queued, expires
_QUEUED = struct.Struct("<H")
_EXPIRES = struct.Struct("<d")
_EXPIRES_AT = _QUEUED.size
_KEY_AT = _RECORD.size
_MAX_QUEUED = 0xFFFF
MIN_CAPACITY = 8


def _slot_array() -> array[int]:
    return array("I")  # unsigned int: 32 bits wherever CPython runs


class Slots:
    """The records whose keys have one length: the table and its expiry FIFO."""

    __slots__ = (
        "buf", "capacity", "ctrl", "head", "key_size", "live", "queue", "size", "used",
        "value_size",
    )  # fmt: skip

    def __init__(self, key_size: int, value_size: int, capacity: int = MIN_CAPACITY) -> None:
        self.key_size = key_size
        self.value_size = value_size
        self.size = _KEY_AT + key_size + value_size  # a record, without its control byte
        self._reset(capacity)

    def _reset(self, capacity: int) -> None:
        self.capacity = max(capacity, MIN_CAPACITY)
        self.ctrl = bytearray(self.capacity)
        self.buf = bytearray(self.capacity * self.size)
        self.live = 0  # records
        self.used = 0  # records and tombstones: slots that are not empty
        self.queue = _slot_array()  # slot numbers, oldest first from ``head``
        self.head = 0

    # -- lookup ---------------------------------------------------------
    def find(self, key: bytes) -> int:
        """The slot of ``key``'s record, or -1."""
        h = hash(key)
        return self._match(key, (h >> 32) % _TAGS + 2, self._run(h % self.capacity))

    def _run(self, start: int) -> tuple[tuple[int, int], ...]:
        """The probe run from slot ``start``, up to the first empty slot, as one
        range of slots or two when it wraps around the end of the array (at
        most 3/4 of the slots are used: there is an empty one). Searched by
        bytearray.find, in C: a byte a slot, no Python step per slot."""
        ctrl = self.ctrl
        end = ctrl.find(_EMPTY, start)
        if end >= 0:
            return ((start, end),)
        return ((start, self.capacity), (0, ctrl.find(_EMPTY)))

    def _match(self, key: bytes, tag: int, run: tuple[tuple[int, int], ...]) -> int:
        """The slot in ``run`` that holds ``key``, or -1: keys are compared only
        where the control byte is the key's tag."""
        ctrl, buf, size = self.ctrl, self.buf, self.size
        for start, end in run:
            i = ctrl.find(tag, start, end)
            while i >= 0:
                if buf.startswith(key, i * size + _KEY_AT):
                    return i
                i = ctrl.find(tag, i + 1, end)
        return -1

    def value(self, i: int) -> bytes:
        start = i * self.size + _KEY_AT + self.key_size
        return bytes(self.buf[start : start + self.value_size])

    def expires(self, i: int) -> float:
        expires: float = _EXPIRES.unpack_from(self.buf, i * self.size + _EXPIRES_AT)[0]
        return expires

    def key(self, i: int) -> bytes:
        start = i * self.size + _KEY_AT
        return bytes(self.buf[start : start + self.key_size])

    # -- changes --------------------------------------------------------
    def put(self, key: bytes, value: bytes, expires: float) -> bool:
        """Store a record (replacing ``key``'s, if any) and queue it at the back.
        Returns whether the key is new."""
        h = hash(key)
        ctrl, tag = self.ctrl, (h >> 32) % _TAGS + 2
        run = self._run(h % self.capacity)
        i = self._match(key, tag, run)
        if i >= 0:
            self._write(i, key, value, expires)  # the timer restarted
            return False
        # the run's first tombstone (with the queue entries it still has), else
        # the empty slot that ends the run
        for start, end in run:
            free = ctrl.find(_DEAD, start, end)
            if free >= 0:
                break
        else:
            if 4 * (self.used + 1) > 3 * self.capacity:
                self._rebuild(2 * (self.live + 1))
                return self.put(key, value, expires)
            free = run[-1][1]
            self.used += 1
        self.live += 1
        ctrl[free] = tag
        self._write(free, key, value, expires)
        return True

    def _write(self, i: int, key: bytes, value: bytes, expires: float) -> None:
        buf, off = self.buf, i * self.size
        queued = _QUEUED.unpack_from(buf, off)[0]
        if queued == _MAX_QUEUED:
            self._compact()
            queued = _QUEUED.unpack_from(buf, off)[0]
        _RECORD.pack_into(buf, off, queued + 1, expires)
        start = off + _KEY_AT
        buf[start : start + self.key_size] = key
        buf[start + self.key_size : off + self.size] = value
        self.queue.append(i)
        if len(self.queue) - self.head > 2 * self.live + 64:
            self._compact()

    def remove(self, i: int) -> None:
        """Remove the record in slot ``i``: the slot becomes a tombstone, the
        record's queue entries go stale. A slot before an empty one ends no
        probe run that goes on: it becomes empty instead."""
        after = i + 1 if i + 1 < self.capacity else 0
        if self.ctrl[after] == _EMPTY:
            self.ctrl[i] = _EMPTY
            self.used -= 1
        else:
            self.ctrl[i] = _DEAD
        self.live -= 1
        if 8 * self.live < self.capacity and self.capacity > MIN_CAPACITY:
            self._rebuild(2 * self.live)

    # -- expiry ---------------------------------------------------------
    def next_expiry(self) -> float | None:
        """The deadline of the record at the head of the queue; stale
        entries in front of it are dropped."""
        buf, ctrl, size, queue = self.buf, self.ctrl, self.size, self.queue
        head, end = self.head, len(queue)
        found = None
        while head < end:
            i = queue[head]
            queued, expires = _RECORD.unpack_from(buf, i * size)
            if queued == 1 and ctrl[i] > _DEAD:
                found = expires
                break
            _QUEUED.pack_into(buf, i * size, queued - 1)  # stale: skip it
            head += 1
        if head != self.head:
            self._advance(head)
        return found

    def pop_head(self) -> bytes:
        """Remove the record at the head of the queue (after ``next_expiry``
        found one) and return its key."""
        i = self.queue[self.head]
        self._advance(self.head + 1)
        _QUEUED.pack_into(self.buf, i * self.size, 0)
        key = self.key(i)
        self.remove(i)
        return key

    def _advance(self, head: int) -> None:
        """Move the head of the queue, dropping the consumed part once it is
        half the array (amortised O(1) a record)."""
        if head >= 1024 and 2 * head >= len(self.queue):
            del self.queue[:head]
            head = 0
        self.head = head

    def ordered_keys(self) -> list[bytes]:
        """Every key, in queue order."""
        self._compact()
        return [self.key(i) for i in self.queue]

    # -- housekeeping ---------------------------------------------------
    def _current(self) -> array[int]:
        """Each record's own (last) queue entry, in queue order. The counts
        become 1 for the records, 0 for the tombstones."""
        buf, ctrl, size, queue = self.buf, self.ctrl, self.size, self.queue
        order = _slot_array()
        for n in range(self.head, len(queue)):
            i = queue[n]
            queued = _QUEUED.unpack_from(buf, i * size)[0] - 1
            if queued == 0 and ctrl[i] > _DEAD:
                order.append(i)
                queued = 1  # no entry of this slot is left behind this one
            _QUEUED.pack_into(buf, i * size, queued)
        return order

    def _compact(self) -> None:
        """Drop the stale queue entries: one entry per record, in order."""
        self.queue, self.head = self._current(), 0

    def _rebuild(self, capacity: int) -> None:
        """Move every record into a table of ``capacity`` slots, in queue
        order (tombstones and stale entries go)."""
        queue, head = self.queue, self.head
        # with no stale entry, the queue holds each record once already
        order = queue[head:] if len(queue) - head == self.live else self._current()
        old, size, key_end = bytes(self.buf), self.size, _KEY_AT + self.key_size
        self._reset(capacity)
        buf, ctrl, queue, capacity = self.buf, self.ctrl, self.queue, self.capacity
        for i in order:
            src = i * size
            h = hash(old[src + _KEY_AT : src + key_end])
            j = ctrl.find(_EMPTY, h % capacity)  # no tombstones here: the first empty slot
            if j < 0:
                j = ctrl.find(_EMPTY)
            ctrl[j] = (h >> 32) % _TAGS + 2
            dst = j * size
            buf[dst : dst + size] = old[src : src + size]  # its count is 1 already
            queue.append(j)
        self.live = self.used = len(order)


class TimeWaitTable:
    """Records of ``value_size`` bytes (plus an expiry) by bytes key, each key
    length in a :class:`Slots` of its own (IPv4 and IPv6 4-tuples)."""

    __slots__ = ("_count", "_tables", "value_size")

    def __init__(self, value_size: int) -> None:
        self.value_size = value_size
        self._tables: dict[int, Slots] = {}
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def __contains__(self, key: bytes) -> bool:
        table = self._tables.get(len(key))
        return table is not None and table.find(key) >= 0

    def get(self, key: bytes) -> tuple[bytes, float] | None:
        """``key``'s value and expiry, or None."""
        table = self._tables.get(len(key))
        if table is None:
            return None
        off = table.find(key)
        if off < 0:
            return None
        return table.value(off), table.expires(off)

    def put(self, key: bytes, value: bytes, expires: float) -> None:
        """Store ``key``'s record, expiring at ``expires``: a new one, or one
        whose timer restarted (queued again at the back)."""
        if len(value) != self.value_size:
            raise ValueError(f"a value is {self.value_size} bytes, not {len(value)}")
        table = self._tables.get(len(key))
        if table is None:
            table = self._tables[len(key)] = Slots(len(key), self.value_size)
        if table.put(key, value, expires):
            self._count += 1

    def remove(self, key: bytes) -> bool:
        """Remove ``key``'s record; whether there was one."""
        table = self._tables.get(len(key))
        off = -1 if table is None else table.find(key)
        if table is None or off < 0:
            return False
        table.remove(off)
        self._count -= 1
        return True

    def next_expiry(self) -> float | None:
        """The earliest deadline at the head of a queue."""
        head = self._head()
        return None if head is None else head[0]

    def pop_expired(self, now: float) -> bytes | None:
        """Remove the record at the head of the queues if it expires at or
        before ``now``; its key, or None."""
        head = self._head()
        if head is None or head[0] > now:
            return None
        self._count -= 1
        return head[1].pop_head()

    def _head(self) -> tuple[float, Slots] | None:
        if not self._count:
            return None
        best: tuple[float, Slots] | None = None
        for table in self._tables.values():
            if table.live:
                expires = table.next_expiry()
                if expires is not None and (best is None or expires < best[0]):
                    best = (expires, table)
        return best

    def ordered_keys(self) -> list[bytes]:
        """Every key: each key length's in queue (expiry) order, shorter keys first."""
        return [key for size in sorted(self._tables) for key in self._tables[size].ordered_keys()]

    def clear(self) -> None:
        self._tables.clear()
        self._count = 0
