"""tcp/syncookies.py on its own: the ISN cookie, the options in the timestamp, age and rotation."""

from __future__ import annotations

import pytest

from synack.tcp.syncookies import (
    MSS_TABLE_V4,
    MSS_TABLE_V6,
    CookieOptions,
    SynCookies,
    decode_timestamp,
    encode_timestamp,
    mss_index,
)

KEY = bytes([10, 0, 0, 2, 10, 0, 0, 1, 0, 80, 0xC3, 0x50])  # packed 4-tuple
OTHER = bytes([10, 0, 0, 2, 10, 0, 0, 9, 0, 80, 0xC3, 0x50])


@pytest.mark.parametrize("table", [MSS_TABLE_V4, MSS_TABLE_V6])
def test_every_mss_table_entry_round_trips(table: tuple[int, ...]) -> None:
    cookies = SynCookies(b"k" * 16)
    for index, mss in enumerate(table):
        assert mss_index(mss, table) == index
        for peer_isn in (0, 1, 0x7FFFFFFF, 0xFFFFFFFF):
            cookie = cookies.make(KEY, peer_isn, index, now=30.0)
            assert cookies.check(KEY, peer_isn, cookie, now=31.0, limit=len(table)) == index


def test_mss_is_rounded_down_to_the_table() -> None:
    assert [mss_index(m, MSS_TABLE_V4) for m in (100, 536, 1299, 1300, 1459, 9000)] == [
        0, 0, 0, 1, 2, 3,
    ]  # fmt: skip


@pytest.mark.parametrize("wscale", [None, 0, 7, 14])
@pytest.mark.parametrize("sack", [False, True])
@pytest.mark.parametrize("ecn", [False, True])
def test_timestamp_carries_wscale_sack_and_ecn(wscale: int | None, sack: bool, ecn: bool) -> None:
    options = CookieOptions(wscale, sack, ecn)
    for ts_now in (0, 5, 63, 64, 1_000_000, 0xFFFFFFFF):
        ts = encode_timestamp(ts_now, options)
        assert decode_timestamp(ts) == options
        # never ahead of the clock (modulo 2**32), and at most one step of 64 behind
        assert (ts_now - ts) % 2**32 < 64


def test_every_low_nibble_is_a_shift_or_none() -> None:
    assert decode_timestamp(15) == CookieOptions(None, False, False)  # 0xF: no scaling
    assert decode_timestamp(14 | 16) == CookieOptions(14, True, False)
    assert decode_timestamp(32) == CookieOptions(0, False, True)


def test_cookie_expires_after_max_age() -> None:
    cookies = SynCookies(b"k" * 16)
    cookie = cookies.make(KEY, 1000, 2, now=10.0)  # minute 0
    assert cookies.check(KEY, 1000, cookie, now=59.9, limit=4) == 2
    assert cookies.check(KEY, 1000, cookie, now=119.9, limit=4) == 2  # minute 1: still good
    assert cookies.check(KEY, 1000, cookie, now=120.0, limit=4) is None  # minute 2: too old


def test_forged_or_misdirected_cookies_fail() -> None:
    cookies = SynCookies(b"k" * 16)
    cookie = cookies.make(KEY, 1000, 3, now=0.0)
    assert cookies.check(KEY, 1001, cookie, now=0.0, limit=4) is None  # another peer ISN
    assert cookies.check(OTHER, 1000, cookie, now=0.0, limit=4) is None  # another 4-tuple
    assert SynCookies(b"x" * 16).check(KEY, 1000, cookie, now=0.0, limit=4) is None
    for near in (-2, -1, 1, 2, 1 << 24):  # a neighbour of a real cookie is no cookie
        assert cookies.check(KEY, 1000, (cookie + near) % 2**32, now=0.0, limit=4) is None
    # an attacker guessing cookies: almost none pass (4 data values in 2**24, 2 ages in 256)
    passed = sum(
        cookies.check(KEY, 1000, guess * 2_654_435_761 % 2**32, now=0.0, limit=4) is not None
        for guess in range(20_000)
    )
    assert passed == 0


def test_cookie_survives_one_rotation_not_two() -> None:
    cookies = SynCookies(b"k" * 16, period=1.0, max_age=2, rotation=10.0)
    assert cookies.secret(0) != cookies.secret(1)
    cookie = cookies.make(KEY, 5, 1, now=9.5)  # made under epoch 0's secret
    assert cookies.check(KEY, 5, cookie, now=10.2, limit=4) == 1  # epoch 1: previous secret
    # 256 ticks on, the 8-bit counter reads the same again; but two rotations
    # later neither the current nor the previous secret is the one it was made with
    wrap = SynCookies(b"k" * 16, period=1.0, max_age=2, rotation=128.0)
    made = wrap.make(KEY, 5, 1, now=0.5)
    assert wrap.check(KEY, 5, made, now=1.0, limit=4) == 1
    assert wrap.check(KEY, 5, made, now=256.5, limit=4) is None


def test_rotation_may_not_outrun_the_cookie_age() -> None:
    with pytest.raises(ValueError):
        SynCookies(period=60.0, max_age=2, rotation=60.0)
    with pytest.raises(ValueError):
        SynCookies().make(KEY, 0, 4, now=0.0)
