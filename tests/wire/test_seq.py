"""Sequence number arithmetic modulo 2**32, especially across the wrap."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from synack.wire import seq
from synack.wire.seq import (
    HALF,
    MASK,
    MOD,
    add,
    between,
    ge,
    gt,
    in_window,
    le,
    lt,
    max_seq,
    min_seq,
    sub,
)

LATE = 0xFFFFFFF0  # 16 before the wrap
EARLY = 0x10  # 16 after the wrap; 0x20 after LATE

u32 = st.integers(min_value=0, max_value=MASK)
offset = st.integers(min_value=-(HALF - 1), max_value=HALF - 1)


def test_constants():
    assert MOD == 2**32
    assert MASK == 0xFFFFFFFF
    assert HALF == 2**31


class TestAdd:
    def test_plain(self):
        assert add(1000, 500) == 1500

    def test_wraps_forward(self):
        assert add(LATE, 0x20) == EARLY
        assert add(MASK, 1) == 0

    def test_negative_wraps_backward(self):
        assert add(EARLY, -0x20) == LATE
        assert add(0, -1) == MASK

    def test_full_circle(self):
        assert add(12345, MOD) == 12345


class TestSub:
    def test_plain(self):
        assert sub(1500, 1000) == 500
        assert sub(1000, 1500) == -500

    def test_across_wrap(self):
        assert sub(EARLY, LATE) == 0x20
        assert sub(LATE, EARLY) == -0x20
        assert sub(0, MASK) == 1
        assert sub(MASK, 0) == -1

    def test_range_edges(self):
        assert sub(HALF - 1, 0) == HALF - 1
        assert sub(HALF, 0) == -HALF  # the range is [-2**31, 2**31)
        assert sub(0, HALF) == -HALF

    def test_equal(self):
        assert sub(LATE, LATE) == 0


class TestComparisons:
    def test_plain_order(self):
        assert lt(1, 2) and not lt(2, 1) and not lt(2, 2)
        assert le(1, 2) and le(2, 2) and not le(3, 2)
        assert gt(2, 1) and not gt(1, 2) and not gt(2, 2)
        assert ge(2, 1) and ge(2, 2) and not ge(1, 2)

    def test_across_wrap(self):
        # As plain integers LATE > EARLY, but EARLY comes 0x20 after LATE.
        assert lt(LATE, EARLY)
        assert not lt(EARLY, LATE)
        assert le(LATE, EARLY)
        assert not le(EARLY, LATE)
        assert gt(EARLY, LATE)
        assert not gt(LATE, EARLY)
        assert ge(EARLY, LATE)
        assert not ge(LATE, EARLY)

    def test_max_and_zero(self):
        assert lt(MASK, 0)
        assert gt(0, MASK)
        assert not lt(0, MASK)

    def test_equal_across_wrap_boundary(self):
        assert le(MASK, MASK) and ge(MASK, MASK)
        assert not lt(MASK, MASK) and not gt(MASK, MASK)
        assert le(0, 0) and ge(0, 0)

    def test_just_under_half_apart(self):
        assert lt(0, HALF - 1)
        assert gt(HALF - 1, 0)
        assert lt(LATE, add(LATE, HALF - 1))

    def test_just_over_half_apart_flips(self):
        # More than half the space ahead means "behind".
        assert gt(0, HALF + 1)
        assert lt(HALF + 1, 0)

    def test_exactly_half_apart(self):
        # RFC 1982 leaves this undefined; we follow BSD/Linux ((int32)(a - b) < 0),
        # which says each is before the other, consistently with sub().
        assert lt(0, HALF) and lt(HALF, 0)
        assert sub(0, HALF) < 0 and sub(HALF, 0) < 0


class TestMaxMin:
    def test_plain(self):
        assert max_seq(5, 9) == 9 and max_seq(9, 5) == 9
        assert min_seq(5, 9) == 5 and min_seq(9, 5) == 5

    def test_across_wrap(self):
        assert max_seq(LATE, EARLY) == EARLY
        assert max_seq(EARLY, LATE) == EARLY
        assert min_seq(LATE, EARLY) == LATE
        assert min_seq(EARLY, LATE) == LATE

    def test_equal(self):
        assert max_seq(LATE, LATE) == LATE
        assert min_seq(EARLY, EARLY) == EARLY


class TestInWindow:
    def test_plain(self):
        assert in_window(100, 100, 10)
        assert in_window(109, 100, 10)
        assert not in_window(110, 100, 10)
        assert not in_window(99, 100, 10)

    def test_window_spans_wrap(self):
        start, size = LATE, 0x20  # [LATE, EARLY)
        assert in_window(LATE, start, size)
        assert in_window(MASK, start, size)
        assert in_window(0, start, size)
        assert in_window(EARLY - 1, start, size)
        assert not in_window(EARLY, start, size)
        assert not in_window(LATE - 1, start, size)

    def test_empty_window(self):
        assert not in_window(100, 100, 0)
        assert not in_window(LATE, LATE, 0)


class TestBetween:
    def test_plain(self):
        assert between(10, 10, 20)
        assert between(10, 15, 20)
        assert between(10, 20, 20)
        assert not between(10, 9, 20)
        assert not between(10, 21, 20)

    def test_spans_wrap(self):
        assert between(LATE, LATE, EARLY)
        assert between(LATE, MASK, EARLY)
        assert between(LATE, 0, EARLY)
        assert between(LATE, EARLY, EARLY)
        assert not between(LATE, EARLY + 1, EARLY)
        assert not between(LATE, LATE - 1, EARLY)
        # with plain integers LATE <= 0x8 <= EARLY would be False
        assert between(LATE, 0x8, EARLY)

    def test_single_point(self):
        assert between(MASK, MASK, MASK)
        assert not between(MASK, 0, MASK)


@pytest.mark.parametrize("name", ["lt", "le", "gt", "ge"])
def test_comparisons_mask_their_inputs(name):
    # values already reduced mod 2**32 and their unreduced twins compare the same
    fn = getattr(seq, name)
    assert fn(LATE, EARLY) == fn(LATE, EARLY + MOD)


# -- properties -----------------------------------------------------------


@given(u32, offset)
def test_sub_inverts_add(a, n):
    assert sub(add(a, n), a) == n


@given(u32, u32)
def test_add_inverts_sub(a, b):
    assert add(b, sub(a, b)) == a


@given(u32, u32)
def test_sub_range(a, b):
    assert -HALF <= sub(a, b) < HALF


@given(u32, u32)
def test_lt_antisymmetric(a, b):
    if sub(a, b) == -HALF:  # exactly half the space apart: see test_exactly_half_apart
        return
    assert not (lt(a, b) and lt(b, a))
    if a != b:
        assert lt(a, b) != lt(b, a)  # total: exactly one comes first


@given(u32, u32)
def test_comparisons_agree_with_sub(a, b):
    d = sub(a, b)
    assert lt(a, b) == (d < 0)
    assert le(a, b) == (d <= 0)
    assert gt(a, b) == (sub(b, a) < 0)
    assert ge(a, b) == (sub(b, a) <= 0)


@given(u32, st.integers(min_value=1, max_value=HALF - 1))
def test_adding_moves_forward(a, n):
    assert lt(a, add(a, n))
    assert gt(add(a, n), a)
    assert max_seq(a, add(a, n)) == add(a, n)
    assert min_seq(add(a, n), a) == a


@given(u32, st.integers(min_value=0, max_value=HALF), st.integers(min_value=0, max_value=HALF))
def test_in_window_matches_offsets(start, size, k):
    assert in_window(add(start, k), start, size) == (k < size)


@given(u32, st.integers(min_value=0, max_value=HALF), st.integers(min_value=0, max_value=MASK))
def test_between_matches_offsets(low, span, k):
    high = add(low, span)
    assert between(low, add(low, k), high) == (k <= span)
