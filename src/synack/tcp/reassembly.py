"""The receiver's out-of-order queue and what its SACK option reports.

Text that arrives above RCV.NXT is held until the hole before it fills (RFC
9293 3.10.7.4, seventh step), merged with what is already held. The SACK
option lists the held blocks, the most recently changed first (RFC 2018 4),
after a D-SACK block for a duplicate, sent once (RFC 2883 4).

The blocks are kept in sequence order in two parallel arrays: their start
offsets (``array('q')``, searched with :mod:`bisect`) and their text. An
offset is a plain integer counted from a base that moves with RCV.NXT, so
the wrap of sequence numbers at 2^32 is dealt with once, when a sequence
number becomes an offset (through :mod:`synack.wire.seq`), and offsets
compare as integers. Costs, for n blocks held:

- ``store``: O(log n) to find the neighbours; a merge visits each block it
  swallows once (amortised O(1)); the merged text grows the larger side in
  place (:class:`_Grown`), so a byte is copied O(log n) times at worst and
  once in the usual cases. Inserting or deleting a block in the middle moves
  the arrays' tails (a C memmove of 16 bytes per block after it); blocks
  that arrive in order append at the end.
- ``drain_into``: amortised O(1) per block (drained slots are dropped in
  batches).
- ``sack_blocks``: O(log n) per reported block, from a short list of the
  blocks changed most recently; nothing is sorted.
- ``note_duplicate``: O(log n).

The queue accounts its memory (:attr:`OutOfOrderQueue.memory`: the text,
plus a measured overhead per block) and, when :attr:`OutOfOrderQueue.limit`
is set, drops the farthest text once it exceeds that limit, as Linux's
tcp_prune_ofo_queue() does.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right

from synack.wire import seq as sq

# Bytes a block costs besides its text, measured with tracemalloc on 64-bit
# CPython 3.11 (tests/engine/test_reassembly.py checks them). A block held as
# one bytes object: the object's header (sys.getsizeof(b"x") is 34, which the
# allocator rounds up to 40), its start in the offsets array and its slot in
# the text list (16.2 B together for 100,000 blocks, over-allocation
# included): 56 B for a one-byte block, 55 B beyond its byte. A grown block:
# its two bytearrays as sys.getsizeof gives them (header and capacity), the
# _Grown object (48 B with its GC header) and the same 16 B of slots.
BLOCK_OVERHEAD = 64
GROWN_OVERHEAD = 72
# A merge whose result is at most this long is copied into one new bytes
# object (cheap and compact); longer ones grow the larger block in place.
SMALL_MERGE = 256
# Blocks remembered as most recently changed, for the SACK option (which
# reports at most 4).
RECENT = 8
# Drained slots at the front of the arrays are removed in batches of at least this many.
_COMPACT = 64


class _Grown:
    """A block's text that grows at both ends: ``front`` reversed, then
    ``back``. Both grow by appending (amortised O(1) a byte) and shrink at
    either end in O(1) (CPython moves a bytearray's start for ``del b[:k]``)."""

    __slots__ = ("back", "front")

    def __init__(self, text: bytes) -> None:
        self.front = bytearray()
        self.back = bytearray(text)

    def __len__(self) -> int:
        return len(self.front) + len(self.back)

    def cost(self) -> int:
        return self.front.__sizeof__() + self.back.__sizeof__() + GROWN_OVERHEAD

    def append(self, text: bytes) -> None:
        self.back += text

    def prepend(self, text: bytes) -> None:
        self.front += text[::-1]

    def drop_head(self, n: int) -> None:
        _drop(self.front, self.back, n)

    def drop_tail(self, n: int) -> None:
        _drop(self.back, self.front, n)

    def slice(self, a: int, b: int) -> bytes:
        """The text from ``a`` to ``b``."""
        f = len(self.front)
        out = self.front[f - min(b, f) : f - a][::-1] if a < f else bytearray()
        if b > f:
            out += self.back[max(a, f) - f : b - f]
        return bytes(out)

    def write(self, pos: int, text: bytes) -> None:
        """Overwrite the text at ``pos`` (``pos + len(text)`` within it)."""
        f = len(self.front)
        end = pos + len(text)
        if pos < f:
            m = min(end, f)
            self.front[f - m : f - pos] = text[: m - pos][::-1]
        if end > f:
            start = max(pos, f)
            self.back[start - f : end - f] = text[start - pos :]

    def extend_into(self, buf: bytearray, skip: int) -> None:
        """``buf += text[skip:]``."""
        if skip:
            buf += self.slice(skip, len(self))
        else:
            buf += self.front[::-1]
            buf += self.back


def _drop(near: bytearray, far: bytearray, n: int) -> None:
    """Drop ``n`` bytes from one end of a _Grown text: the last bytes of
    ``near``, then the first of ``far`` (the front is reversed, so the text's
    head is the front's end and its tail the back's end)."""
    k = len(near)
    if n <= k:
        del near[k - n :]
    else:
        near.clear()
        del far[: n - k]


def _cost(text: bytes | _Grown) -> int:
    return len(text) + BLOCK_OVERHEAD if isinstance(text, bytes) else text.cost()


def _head(text: bytes | _Grown, n: int) -> bytes:
    return text[:n] if isinstance(text, bytes) else text.slice(0, n)


def _tail(text: bytes | _Grown, n: int) -> bytes:
    size = len(text)
    return text[size - n :] if isinstance(text, bytes) else text.slice(size - n, size)


class OutOfOrderQueue:
    """Text held above RCV.NXT, in disjoint blocks.

    ``blocks`` is how many blocks are held (0: nothing); ``ranges()`` lists
    them as (start, end) sequence numbers in sequence order. ``memory`` is
    what they are accounted to cost; with ``limit`` set (None: no limit), a
    store that takes ``memory`` over it drops the farthest text, counted in
    ``pruned_bytes`` and ``pruned_blocks`` (blocks dropped whole).
    """

    __slots__ = (
        "_base_key", "_base_seq", "_lo", "_recent", "_starts", "_texts", "blocks", "dsack",
        "limit", "memory", "pruned_blocks", "pruned_bytes",
    )  # fmt: skip

    def __init__(self, limit: int | None = None) -> None:
        self._starts = array("q")  # block starts, offsets from the base; [_lo:] are live
        self._texts: list[bytes | _Grown] = []  # their text; b"" in drained slots
        self._lo = 0
        # offset = _base_key + sq.sub(seq, _base_seq); the base moves with RCV.NXT
        self._base_seq = 0
        self._base_key = 0
        self._recent: list[int] = []  # starts of the most recently changed blocks, newest first
        self.blocks = 0
        self.memory = 0
        self.limit = limit
        self.pruned_bytes = 0
        self.pruned_blocks = 0
        # RFC 2883: the duplicate range to report first in the next ACK
        self.dsack: tuple[int, int] | None = None

    def clear(self) -> None:
        self._starts = array("q")
        self._texts = []
        self._lo = 0
        self._recent = []
        self.blocks = 0
        self.memory = 0

    def ranges(self) -> list[tuple[int, int]]:
        """The held blocks as (start, end) sequence numbers, in sequence order."""
        starts, texts = self._starts, self._texts
        return [
            (self._seq(starts[i]), self._seq(starts[i] + len(texts[i])))
            for i in range(self._lo, len(starts))
        ]

    def _seq(self, key: int) -> int:
        return sq.add(self._base_seq, key - self._base_key)

    def _rebase(self, rcv_nxt: int) -> None:
        if rcv_nxt != self._base_seq:
            self._base_key += sq.sub(rcv_nxt, self._base_seq)
            self._base_seq = rcv_nxt

    def store(self, seq: int, payload: bytes, rcv_nxt: int) -> None:
        """Hold text above RCV.NXT, merging it with the blocks it overlaps or
        touches; where it overlaps, the new text replaces the old."""
        size = len(payload)
        if not size:
            return
        if type(payload) is not bytes:
            payload = bytes(payload)
        if not self.blocks:  # nothing held: count offsets afresh from RCV.NXT
            self.clear()
            self._base_seq, self._base_key = rcv_nxt, 0
        else:
            self._rebase(rcv_nxt)
        starts, texts, lo = self._starts, self._texts, self._lo
        s = self._base_key + sq.sub(seq, self._base_seq)
        e = s + size
        i = bisect_left(starts, s, lo)
        if i > lo and starts[i - 1] + len(texts[i - 1]) >= s:
            i -= 1  # the block before ends in or next to the new text
        j = bisect_right(starts, e, i)  # blocks i..j-1 overlap or touch [s, e]
        if i == j:
            starts.insert(i, s)
            texts.insert(i, payload)
            self.memory += size + BLOCK_OVERHEAD
            start, end = s, e
        else:
            start = self._merge(i, j, s, payload)
            end = start + len(texts[i])
        self.blocks = len(starts) - lo
        recent = [k for k in self._recent if not start <= k <= end]  # merged into this one
        recent.insert(0, start)
        del recent[RECENT:]
        self._recent = recent
        if self.limit is not None and self.memory > self.limit:
            self._prune(self.limit)

    def _merge(self, i: int, j: int, s: int, payload: bytes) -> int:
        """Merge the new text at ``s`` with blocks ``i`` to ``j - 1`` into block
        ``i``; returns its start."""
        starts, texts = self._starts, self._texts
        size = len(payload)
        e = s + size
        first, first_start = texts[i], starts[i]
        last, last_start = texts[j - 1], starts[j - 1]
        last_end = last_start + len(last)
        keep_head = max(s - first_start, 0)  # of the first block, before the new text
        keep_tail = max(last_end - e, 0)  # of the last block, after it
        old_cost = 0
        for k in range(i, j):
            old_cost += _cost(texts[k])
        text: bytes | _Grown
        if i == j - 1 and first_start <= s and e <= last_end:
            # inside one block: a duplicate, usually the same text again
            if isinstance(first, _Grown):
                first.write(keep_head, payload)
                text = first
            elif first[keep_head : keep_head + size] == payload:
                text = first
            elif len(first) <= SMALL_MERGE:
                text = first[:keep_head] + payload + first[keep_head + size :]
            else:
                text = _Grown(first)
                text.write(keep_head, payload)
        elif keep_head + size + keep_tail <= SMALL_MERGE:
            text = _head(first, keep_head) + payload + _tail(last, keep_tail)
        elif keep_head and (not keep_tail or len(first) >= len(last)):
            # grow the first block to the right; the last one (no larger) is copied
            text = first if isinstance(first, _Grown) else _Grown(first)
            text.drop_tail(len(first) - keep_head)
            text.append(payload)
            if keep_tail:
                text.append(_tail(last, keep_tail))
        elif keep_tail:
            # grow the last block to the left; the first one (smaller) is copied
            text = last if isinstance(last, _Grown) else _Grown(last)
            text.drop_head(len(last) - keep_tail)
            text.prepend(payload)
            if keep_head:
                text.prepend(_head(first, keep_head))
        else:
            text = payload  # the new text covers every block it touches
        start = min(s, first_start)
        starts[i] = start
        texts[i] = text
        del starts[i + 1 : j]
        del texts[i + 1 : j]
        self.memory += _cost(text) - old_cost
        return start

    def _prune(self, limit: int) -> None:
        """Drop the farthest text until the queue is back under its limit, with
        an eighth of the limit to spare (Linux prunes its out-of-order queue
        in steps of an eighth of the receive buffer too), so that a flood of
        small segments prunes once per many segments, not once per segment.

        Text reported in a SACK block and dropped here is reneging, which
        RFC 2018 8 allows: the sender keeps SACKed data until it is
        cumulatively acknowledged, and retransmits it after a timeout."""
        goal = limit - limit // 8
        starts, texts, lo = self._starts, self._texts, self._lo
        k = len(starts)
        while k > lo and self.memory > goal:
            text = texts[k - 1]
            cost = _cost(text)
            size = len(text)
            keep = min(cost - (self.memory - goal) - BLOCK_OVERHEAD, size)
            if keep <= 0:
                self.memory -= cost
                self.pruned_bytes += size
                self.pruned_blocks += 1
                k -= 1
                continue
            trimmed = _head(text, keep)  # as one compact bytes object
            texts[k - 1] = trimmed
            self.memory += _cost(trimmed) - cost
            self.pruned_bytes += size - keep
            break
        if k < len(starts):
            cut = starts[k]
            del starts[k:]
            del texts[k:]
            self._recent = [key for key in self._recent if key < cut]
        self.blocks = len(starts) - lo

    def drain_into(self, buf: bytearray, rcv_nxt: int) -> tuple[int, bool]:
        """Move the held text that now continues at ``rcv_nxt`` into ``buf``.
        Returns the bytes moved and whether any held block was used (a hole
        filled)."""
        if not self.blocks:
            return 0, False
        self._rebase(rcv_nxt)
        starts, texts = self._starts, self._texts
        lo = start_lo = self._lo
        n = len(starts)
        at = self._base_key
        moved = 0
        while lo < n and starts[lo] <= at:
            text = texts[lo]
            size = len(text)
            skip = at - starts[lo]
            if skip < size:
                if isinstance(text, bytes):
                    buf += memoryview(text)[skip:] if skip else text
                else:
                    text.extend_into(buf, skip)
                moved += size - skip
                at += size - skip
            self.memory -= _cost(text)
            texts[lo] = b""
            lo += 1
        if lo == start_lo:
            return 0, False
        if lo == n:
            self.clear()
        else:
            if lo >= _COMPACT and 2 * lo >= n:
                del starts[:lo]
                del texts[:lo]
                lo = 0
            self._lo = lo
            self.blocks = len(starts) - lo
            self._recent = [key for key in self._recent if key > at]
        return moved, True

    def sack_block_count(self, limit: int) -> int:
        """How many blocks :meth:`sack_blocks` reports now, at most ``limit``."""
        return min(self.blocks + (self.dsack is not None), limit)

    def sack_blocks(self, limit: int) -> tuple[tuple[int, int], ...]:
        """RFC 2018 4: the block with the newest segment first, then the others
        most recently changed first; a D-SACK block, once, before them all
        (RFC 2883 4)."""
        blocks = []
        if self.dsack is not None:
            blocks.append(self.dsack)
            self.dsack = None
        starts, texts, lo = self._starts, self._texts, self._lo
        recent = self._recent
        add, to_seq = sq.add, self._base_seq - self._base_key  # seq = add(to_seq, offset)
        for key in recent[: max(limit - len(blocks), 0)]:
            end = key + len(texts[bisect_left(starts, key, lo)])
            blocks.append((add(to_seq, key), add(to_seq, end)))
        i = len(starts) - 1
        # fewer remembered than reported and more held: add others, farthest first
        while len(blocks) < limit and i >= lo and self.blocks > len(recent):
            key = starts[i]
            if key not in recent:
                blocks.append((add(to_seq, key), add(to_seq, key + len(texts[i]))))
            i -= 1
        return tuple(blocks[:limit])

    def note_duplicate(self, seq: int, length: int, rcv_nxt: int) -> None:
        """RFC 2883 4: remember the first contiguous stretch of this segment that
        was already received, below RCV.NXT or inside a block held here."""
        end = sq.add(seq, length)
        if sq.lt(seq, rcv_nxt):
            self.dsack = (seq, sq.min_seq(end, rcv_nxt))
            return
        if not self.blocks:
            return
        self._rebase(rcv_nxt)
        starts, texts, lo = self._starts, self._texts, self._lo
        s = self._base_key + sq.sub(seq, self._base_seq)
        e = s + length
        i = bisect_right(starts, s, lo) - 1  # the block that starts at or before s
        if i < lo or starts[i] + len(texts[i]) <= s:
            i += 1  # it ends before s: the next one, if it starts before e
            if i == len(starts) or starts[i] >= e:
                return
        low = max(s, starts[i])
        high = min(e, starts[i] + len(texts[i]))
        self.dsack = (self._seq(low), self._seq(high))
