"""The receive window: which segments it accepts, and what to advertise.

Pure functions of the receive sequence variables, so the rules read as the
RFC states them: the four cases of the sequence check (RFC 9293 3.10.7.4)
and receiver silly window syndrome avoidance (RFC 9293 3.8.6.2.2).
"""

from __future__ import annotations

from synack.wire import seq as sq

MAX_WINDOW_FIELD = 65535  # the 16-bit field; a SYN's is never scaled (RFC 7323 2.2)


def acceptable(seq: int, seg_len: int, rcv_nxt: int, rcv_wnd: int) -> bool:
    """RFC 9293 3.10.7.4, first step: is any of this segment inside the window?
    A zero-length segment must sit at or inside it (at RCV.NXT exactly when the
    window is zero); with text, the first or last octet must be inside it, and
    a zero window takes none."""
    if seg_len == 0:
        return seq == rcv_nxt if rcv_wnd == 0 else sq.in_window(seq, rcv_nxt, rcv_wnd)
    if rcv_wnd == 0:
        return False
    return sq.in_window(seq, rcv_nxt, rcv_wnd) or sq.in_window(
        sq.add(seq, seg_len - 1), rcv_nxt, rcv_wnd
    )


def advertise(space: int, offered: int, capacity: int, mss: int, shift: int) -> tuple[int, int]:
    """The window field to send, and the window it really advertises (the
    field scaled back, RFC 7323 2.3), with ``space`` free in a buffer of
    ``capacity`` and ``offered`` already promised.

    RFC 9293 3.8.6.2.2: move the right edge only by a worthwhile amount (a
    full segment, or half the buffer), and never back. With half the buffer or
    more free the window cannot be silly, and all the free space is offered
    (as Linux and FreeBSD do)."""
    if space > offered and (2 * space >= capacity or space - offered >= min(capacity // 2, mss)):
        window = space
    else:
        window = offered
    field = min(window >> shift, MAX_WINDOW_FIELD)
    return field, field << shift


def update_worthwhile(
    space: int, offered: int, capacity: int, mss: int, on_doubling: bool = False
) -> bool:
    """After the user reads: would a window update open the window by enough
    to matter (two segments, or half the buffer)? ``on_doubling``: only if
    the window offered is at most half the largest and would at least double
    (as Linux)."""
    if on_doubling:
        return 2 * offered <= capacity and space > 0 and space >= 2 * offered
    return space - offered >= min(2 * mss, capacity // 2)
