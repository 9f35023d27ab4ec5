"""The Host's TIME-WAIT records, packed into bytearrays, one table per key length.

A host may hold a million connections in TIME-WAIT (2 MSL each, RFC 9293
3.4.2), so a record must cost little. A dict of bytes keys to bytes values
costs about 170 B a record (two bytes objects and a dict slot); here a
record is one fixed-size slot and owns no Python object. A slot is a
control byte in ``ctrl`` and a record in ``buf``::

    ctrl     1 B   empty (0), a tombstone (1), or a live record's tag (2-255)
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
slots (IPv4: 41 B a slot, 55 to 82 B a record, plus 12 B in a queue;
IPv6: 65 B a slot, 87 to 130 B). It shrinks the same way when fewer than
1/8 of the slots hold a record.

Expiry: a record is queued when it is stored, and again when its 2 MSL
timer restarts (a retransmitted FIN, RFC 9293 3.10.7.4). An entry is a slot
number (32-bit) and the deadline it was queued with (a float): 12 B. It
stands for the record in its slot only while that record is live and has
that deadline; other entries (of a removed record, of a timer that
restarted) are stale and skipped. A stale one that matches a record that
reused its slot with the same deadline names that record's own time, so it
does no harm (compaction keeps one entry per record).

Entries sit in FIFOs, each in deadline order: an entry joins the first FIFO
whose last deadline is not later than its own, else starts a new FIFO at
the end. The earliest deadline is then the earliest of the FIFOs' first
live entries, whatever order deadlines come in: no record goes late (nor
early), whatever mix of MSLs a host's listeners have. How many FIFOs there
are depends on that order. Records that share one lifetime (2 MSL), stored
as the clock moves on, have deadlines in store order; an entry goes past a
FIFO only behind a later deadline stored no later, that is a longer
lifetime, so a host with k distinct lifetimes keeps at most k FIFOs (one
when all its records share an MSL). A FIFO that empties is dropped; when
entries outnumber twice the records, every FIFO is compacted to one entry
per record, so restarts cannot grow them without bound.
"""

from __future__ import annotations

import struct
from array import array

# A slot's control byte: empty, a tombstone, or a live record's tag (2-255,
# from its hash: a lookup compares keys only where the tag matches).
_EMPTY, _DEAD = 0, 1
_TAGS = 254
_EXPIRES = struct.Struct("<d")
_KEY_AT = _EXPIRES.size
MIN_CAPACITY = 8


def _slot_array() -> array[int]:
    return array("I")  # unsigned int: 32 bits wherever CPython runs


class Queue:
    """Expiry entries, oldest first from ``head``: slot numbers and the
    deadlines they were queued with, deadlines never decreasing."""

    __slots__ = ("deadlines", "head", "slots")

    def __init__(self) -> None:
        self.slots = _slot_array()
        self.deadlines = array("d")
        self.head = 0

    def __len__(self) -> int:
        return len(self.slots) - self.head

    def append(self, i: int, expires: float) -> None:
        self.slots.append(i)
        self.deadlines.append(expires)

    def advance(self, head: int) -> None:
        """Move the head, dropping the consumed part once it is half the
        arrays (amortised O(1) an entry)."""
        if head >= 1024 and 2 * head >= len(self.slots):
            del self.slots[:head]
            del self.deadlines[:head]
            head = 0
        self.head = head


class Slots:
    """The records whose keys have one length: the table and its expiry queues."""

    __slots__ = (
        "buf", "capacity", "ctrl", "entries", "first", "key_size", "live", "queues", "size",
        "used", "value_size",
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
        self.queues: list[Queue] = []  # none empty, each in deadline order
        self.entries = 0  # in all the queues
        self.first: Queue | None = None  # whose head next_expiry found

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
        expires: float = _EXPIRES.unpack_from(self.buf, i * self.size)[0]
        return expires

    def key(self, i: int) -> bytes:
        start = i * self.size + _KEY_AT
        return bytes(self.buf[start : start + self.key_size])

    def _stands_for(self, i: int, expires: float) -> bool:
        """Whether an entry (slot ``i``, deadline ``expires``) stands for a record."""
        return self.ctrl[i] > _DEAD and _EXPIRES.unpack_from(self.buf, i * self.size)[0] == expires

    # -- changes --------------------------------------------------------
    def put(self, key: bytes, value: bytes, expires: float) -> bool:
        """Store a record (replacing ``key``'s, if any) and queue it. Returns
        whether the key is new."""
        h = hash(key)
        ctrl, tag = self.ctrl, (h >> 32) % _TAGS + 2
        run = self._run(h % self.capacity)
        i = self._match(key, tag, run)
        if i >= 0:
            self._write(i, key, value, expires)  # the timer restarted
            return False
        # the run's first tombstone, else the empty slot that ends the run
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
        _EXPIRES.pack_into(buf, off, expires)
        start = off + _KEY_AT
        buf[start : start + self.key_size] = key
        buf[start + self.key_size : off + self.size] = value
        # the first queue whose last deadline is not later, else a new one
        for queue in self.queues:
            if queue.deadlines[-1] <= expires:
                break
        else:
            queue = Queue()
            self.queues.append(queue)
        queue.slots.append(i)
        queue.deadlines.append(expires)
        self.entries += 1
        if self.entries > 2 * self.live + 64:
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
        """The earliest deadline at the head of a queue (stale entries in
        front of the heads are dropped, and queues that empty)."""
        found: float | None = None
        first: Queue | None = None
        emptied = False
        ctrl, buf, size = self.ctrl, self.buf, self.size
        for queue in self.queues:
            head = queue.head
            i, expires = queue.slots[head], queue.deadlines[head]
            # _stands_for, inline: this runs whenever the Host's timer is read
            if ctrl[i] <= _DEAD or _EXPIRES.unpack_from(buf, i * size)[0] != expires:
                head = self._skip_stale(queue)
                if head < 0:
                    emptied = True
                    continue
                expires = queue.deadlines[head]
            if found is None or expires < found:
                found, first = expires, queue
        if emptied:
            self.queues = [queue for queue in self.queues if len(queue)]
        self.first = first
        return found

    def _skip_stale(self, queue: Queue) -> int:
        """Drop the stale entries at the head of ``queue``: its new head, or -1
        when none is left."""
        slots, deadlines = queue.slots, queue.deadlines
        head, end = queue.head, len(slots)
        while head < end and not self._stands_for(slots[head], deadlines[head]):
            head += 1
        self.entries -= head - queue.head
        if head == end:
            queue.head = head  # empty: the caller drops it
            return -1
        queue.advance(head)
        return queue.head

    def pop_head(self) -> bytes:
        """Remove the record at the head of the queue ``next_expiry`` found
        (right after it found one) and return its key."""
        queue = self.first
        assert queue is not None
        self.first = None
        head = queue.head
        i = queue.slots[head]
        self.entries -= 1
        if head + 1 < len(queue.slots):
            queue.advance(head + 1)
        else:
            self.queues.remove(queue)  # empty
        key = self.key(i)
        self.remove(i)
        return key

    def ordered_keys(self) -> list[bytes]:
        """Every key, in expiry order (records due together: in store order
        if they share a queue)."""
        self._compact()
        order = sorted(
            (queue.deadlines[n], q, n, queue.slots[n])
            for q, queue in enumerate(self.queues)
            for n in range(len(queue.slots))
        )
        return [self.key(entry[3]) for entry in order]

    # -- housekeeping ---------------------------------------------------
    def _current(self) -> list[Queue]:
        """The queues with one entry per record, the one nearest its head
        that stands for it (equal deadlines: any names the same time)."""
        seen = bytearray(self.capacity)
        current: list[Queue] = []
        for queue in self.queues:
            slots, deadlines = queue.slots, queue.deadlines
            kept = Queue()
            for n in range(queue.head, len(slots)):
                i, expires = slots[n], deadlines[n]
                if not seen[i] and self._stands_for(i, expires):
                    seen[i] = 1
                    kept.append(i, expires)
            if len(kept):
                current.append(kept)
        return current

    def _compact(self) -> None:
        """Drop the stale queue entries: one entry per record, in order."""
        self.queues = self._current()
        self.entries = self.live
        self.first = None

    def _rebuild(self, capacity: int) -> None:
        """Move every record into a table of ``capacity`` slots, queue by
        queue in order (tombstones and stale entries go)."""
        # with as many entries as records, each record is queued once already
        old_queues = self.queues if self.entries == self.live else self._current()
        old, size, key_end = bytes(self.buf), self.size, _KEY_AT + self.key_size
        self._reset(capacity)
        buf, ctrl, capacity = self.buf, self.ctrl, self.capacity
        for old_queue in old_queues:
            queue = Queue()
            slots, new_slots = old_queue.slots, queue.slots
            queue.deadlines = old_queue.deadlines[old_queue.head :]  # in C; the slots move
            for n in range(old_queue.head, len(slots)):
                src = slots[n] * size
                h = hash(old[src + _KEY_AT : src + key_end])
                j = ctrl.find(_EMPTY, h % capacity)  # no tombstones here: the first empty slot
                if j < 0:
                    j = ctrl.find(_EMPTY)
                ctrl[j] = (h >> 32) % _TAGS + 2
                dst = j * size
                buf[dst : dst + size] = old[src : src + size]
                new_slots.append(j)
            self.queues.append(queue)
            self.live += len(queue)
        self.used = self.entries = self.live


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
        whose timer restarted (queued again)."""
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
        """Every key: each key length's in expiry order, shorter keys first."""
        return [key for size in sorted(self._tables) for key in self._tables[size].ordered_keys()]

    def clear(self) -> None:
        self._tables.clear()
        self._count = 0
