"""The receiver's out-of-order queue and what its SACK option reports.

Text that arrives above RCV.NXT is held until the hole before it fills (RFC
9293 3.10.7.4, seventh step), merged with what is already held. The SACK
option lists the held blocks, the most recently changed first (RFC 2018 4),
after a D-SACK block for a duplicate, sent once (RFC 2883 4).
"""

from __future__ import annotations

from synack.wire import seq as sq


class _Block:
    """Held text ``data`` from ``start``; ``stamp`` orders blocks by last change."""

    __slots__ = ("data", "stamp", "start")

    def __init__(self, start: int, data: bytes, stamp: int) -> None:
        self.start = start
        self.data = data
        self.stamp = stamp

    @property
    def end(self) -> int:
        return sq.add(self.start, len(self.data))


class OutOfOrderQueue:
    """Text held above RCV.NXT: ``blocks``, disjoint, in sequence order (read
    it, do not change it; an empty list means nothing is held)."""

    __slots__ = ("_stamp", "blocks", "dsack")

    def __init__(self) -> None:
        self.blocks: list[_Block] = []
        self._stamp = 0  # blocks are stamped as segments land in them
        # RFC 2883: the duplicate range to report first in the next ACK
        self.dsack: tuple[int, int] | None = None

    def clear(self) -> None:
        self.blocks = []

    def store(self, seq: int, payload: bytes, rcv_nxt: int) -> None:
        """Hold text above RCV.NXT, merging overlaps (the window bounds it)."""
        start, end = seq, sq.add(seq, len(payload))
        merged = payload
        keep: list[_Block] = []
        for block in self.blocks:
            b_start, b_end = block.start, block.end
            if sq.lt(b_end, start) or sq.gt(b_start, end):
                keep.append(block)
                continue
            # overlapping or adjacent: combine into one block
            new_start = sq.min_seq(start, b_start)
            new_end = sq.max_seq(end, b_end)
            buf = bytearray(sq.sub(new_end, new_start))
            buf[sq.sub(b_start, new_start) : sq.sub(b_end, new_start)] = block.data
            buf[sq.sub(start, new_start) : sq.sub(end, new_start)] = merged
            start, end, merged = new_start, new_end, bytes(buf)
        self._stamp += 1
        keep.append(_Block(start, merged, self._stamp))
        keep.sort(key=lambda b: sq.sub(b.start, rcv_nxt))
        self.blocks = keep

    def drain_into(self, buf: bytearray, rcv_nxt: int) -> tuple[int, bool]:
        """Move the held text that now continues at ``rcv_nxt`` into ``buf``.
        Returns the bytes moved and whether any held block was used (a hole
        filled)."""
        blocks = self.blocks
        moved = 0
        used = False
        while blocks and sq.le(blocks[0].start, rcv_nxt):
            block = blocks.pop(0)
            skip = sq.sub(rcv_nxt, block.start)
            if skip < len(block.data):
                buf += block.data[skip:]
                moved += len(block.data) - skip
                rcv_nxt = sq.add(rcv_nxt, len(block.data) - skip)
            used = True
        return moved, used

    def sack_blocks(self, limit: int) -> tuple[tuple[int, int], ...]:
        """RFC 2018 4: the block with the newest segment first, then the others
        most recently changed first; a D-SACK block, once, before them all
        (RFC 2883 4)."""
        blocks = []
        if self.dsack is not None:
            blocks.append(self.dsack)
            self.dsack = None
        for block in sorted(self.blocks, key=lambda b: -b.stamp):
            blocks.append((block.start, block.end))
        return tuple(blocks[:limit])

    def note_duplicate(self, seq: int, length: int, rcv_nxt: int) -> None:
        """RFC 2883 4: remember the first contiguous stretch of this segment that
        was already received, below RCV.NXT or inside a block held here."""
        end = sq.add(seq, length)
        if sq.lt(seq, rcv_nxt):
            self.dsack = (seq, sq.min_seq(end, rcv_nxt))
            return
        for block in self.blocks:
            low, high = sq.max_seq(seq, block.start), sq.min_seq(end, block.end)
            if sq.lt(low, high):
                self.dsack = (low, high)
                return
