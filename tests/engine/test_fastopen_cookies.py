"""tcp/fastopen.py's cookies on their own: SipHash-2-4, Linux's key and cookies, rotation."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from synack.tcp.config import TcpConfig
from synack.tcp.fastopen import CookieCache, CookieJar, make_cookie, parse_linux_key, siphash24

PACKETDRILL_KEY = "a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4"  # google/packetdrill run_all.py


def test_siphash_reference_vector() -> None:
    # the SipHash paper's appendix: key 00..0f, message 00..0e
    assert format(siphash24(bytes(range(16)), bytes(range(15))), "016x") == "a129ca6149be45e5"


def test_siphash_empty_and_whole_blocks() -> None:
    # the reference implementation's vectors for lengths 0 and 8 (bytes, little-endian)
    key = bytes(range(16))
    assert siphash24(key, b"").to_bytes(8, "little").hex() == "310e0edd47db6f72"
    assert siphash24(key, bytes(range(8))).to_bytes(8, "little").hex() == "6224939a79f5f593"


def test_linux_key_text() -> None:
    primary, backup = parse_linux_key(PACKETDRILL_KEY)
    assert primary == bytes.fromhex("a1a1a1a1b2b2b2b2c3c3c3c3d4d4d4d4")
    assert backup is None
    # each 32-bit word is stored little-endian
    words = parse_linux_key("00010203-04050607-08090a0b-0c0d0e0f")[0]
    assert words == bytes.fromhex("03020100070605040b0a09080f0e0d0c")
    primary, backup = parse_linux_key(PACKETDRILL_KEY + ",00000001-0-0-0")
    assert backup == bytes([1]) + bytes(15)
    with pytest.raises(ValueError, match="four"):
        parse_linux_key("a1a1a1a1-b2b2b2b2")
    with pytest.raises(ValueError, match="hex"):
        parse_linux_key("zz-0-0-0")


@pytest.mark.parametrize(
    ("client", "server", "cookie"),
    [
        ("192.0.2.1", "192.168.0.1", "3021b9d889017eeb"),
        ("fd3d:fa7b:d17d::1", "fd3d:0a0b:17d6::1", "c1d1e9742a47a9bc"),
    ],
)
def test_linux_cookies_from_packetdrill(client: str, server: str, cookie: str) -> None:
    jar = CookieJar.from_config(
        TcpConfig(fastopen_key=PACKETDRILL_KEY, fastopen_cookie_algorithm="siphash")
    )
    c, s = ip_address(client).packed, ip_address(server).packed
    assert jar.make(c, s).hex() == cookie
    assert jar.check(bytes.fromhex(cookie), c, s) == 1
    assert jar.check(bytes.fromhex(cookie), s, c) == 0  # the order of the addresses matters


@pytest.mark.parametrize(
    ("client", "server", "cookie"),
    [
        ("10.248.0.2", "192.168.0.2", "00abaaabe8e954c2"),
        ("10.248.0.3", "192.168.0.2", "1313a2da994a0951"),
        ("10.248.0.3", "192.168.0.3", "76d2c1c530f51f79"),
    ],
)
def test_asymmetric_key_fixes_the_word_order(client: str, server: str, cookie: str) -> None:
    # packetdrill's fastopen/server/opt34/simple*.pkt, key a0bf63f7-ed803d81-cd641d30-cebc4a90:
    # each word of the key text is little-endian in the key bytes
    key, _ = parse_linux_key("a0bf63f7-ed803d81-cd641d30-cebc4a90")
    c, s = ip_address(client).packed, ip_address(server).packed
    assert make_cookie("siphash", key, c, s).hex() == cookie
    big_endian = bytes.fromhex("a0bf63f7ed803d81cd641d30cebc4a90")
    assert make_cookie("siphash", big_endian, c, s).hex() != cookie


def test_blake2s_cookie_is_keyed() -> None:
    c, s = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
    a = make_cookie("blake2s", bytes(16), c, s)
    assert len(a) == 8
    assert a != make_cookie("blake2s", bytes(15) + b"\x01", c, s)
    assert a != make_cookie("siphash", bytes(16), c, s)


def test_rotation_keeps_one_backup() -> None:
    c, s = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
    jar = CookieJar(b"A" * 16)
    first = jar.make(c, s)
    jar.rotate(b"B" * 16)
    second = jar.make(c, s)
    assert (jar.check(second, c, s), jar.check(first, c, s)) == (1, 2)
    jar.rotate(b"C" * 16)
    assert (jar.check(second, c, s), jar.check(first, c, s)) == (2, 0)
    jar.set_keys(PACKETDRILL_KEY + "," + PACKETDRILL_KEY)
    assert jar.primary == jar.backup


def test_bad_algorithm_and_key() -> None:
    with pytest.raises(ValueError):
        TcpConfig(fastopen_cookie_algorithm="aes")
    with pytest.raises(ValueError):
        CookieJar(b"short")


def test_cache_keeps_a_cookie_until_a_new_one_comes() -> None:
    cache = CookieCache()
    server = ip_address("10.0.0.2")
    cache.store(server, b"12345678", 1460, False)
    cache.store(server, b"", 1400, False)  # a SYN,ACK without a cookie
    assert cache.cookie(server) == b"12345678"
    assert cache.get(server).mss == 1400  # type: ignore[union-attr]
    cache.forget(server)
    assert cache.cookie(server) is None
