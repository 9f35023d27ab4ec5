"""TCP Fast Open (RFC 7413): cookies, the client's cookie cache, and the
per-connection decisions the engine asks for.

Pure and standard library only, like the rest of the engine. What lives here:

- :func:`siphash24`, SipHash-2-4 in pure Python (the standard library keeps
  its own internal), and :func:`parse_linux_key`, which reads a key the way
  Linux's ``net.ipv4.tcp_fastopen_key`` sysctl does;
- :class:`CookieJar`, the server's cookies (RFC 7413 4.1.2): a keyed MAC over
  the client's and the server's IP addresses, with a primary and a backup
  key so that a rotation does not invalidate the cookies already handed out;
- :class:`CookieCache`, the client's cache of cookies (and MSS) by server
  address (RFC 7413 4.1.3), which a Host owns;
- :class:`FastOpenState`, one connection's Fast Open state: what its SYN carries
  (client), what its SYN,ACK answers (server), and whether data on the SYN
  was accepted (``syn_data_acked``, tcp_info's TCPI_OPT_SYN_DATA).

The connection asks; this module decides; the connection builds and sends.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from synack.wire.segment import (
    NOP,
    FastOpenExp,
    Option,
    Segment,
    options_length,
)
from synack.wire.segment import (
    FastOpen as FastOpenOption,
)

if TYPE_CHECKING:
    from synack.tcp.config import TcpConfig
    from synack.tcp.connection import Connection

ALGORITHMS = ("blake2s", "siphash")
COOKIE_SIZE = 8  # both algorithms give 8 bytes, as Linux's TCP_FASTOPEN_COOKIE_SIZE
KEY_SIZE = 16
MAX_OPTION_SPACE = 40  # bytes of options a TCP header holds
_MASK64 = (1 << 64) - 1
_PROCESS_KEY = os.urandom(KEY_SIZE)  # a bare engine's key when none is configured


# ----------------------------------------------------------------------
# SipHash-2-4 (Aumasson and Bernstein, 2012)
# ----------------------------------------------------------------------
def _rotl(x: int, b: int) -> int:
    return ((x << b) | (x >> (64 - b))) & _MASK64


def siphash24(key: bytes, message: bytes) -> int:
    """SipHash-2-4 of ``message`` under a 16-byte ``key``, as a 64-bit integer
    (its little-endian bytes are the hash as the paper writes it)."""
    if len(key) != KEY_SIZE:
        raise ValueError("SipHash takes a 16-byte key")
    k0 = int.from_bytes(key[:8], "little")
    k1 = int.from_bytes(key[8:], "little")
    v0 = k0 ^ 0x736F6D6570736575
    v1 = k1 ^ 0x646F72616E646F6D
    v2 = k0 ^ 0x6C7967656E657261
    v3 = k1 ^ 0x7465646279746573

    def rounds(n: int) -> None:
        nonlocal v0, v1, v2, v3
        for _ in range(n):
            v0 = (v0 + v1) & _MASK64
            v1 = _rotl(v1, 13) ^ v0
            v0 = _rotl(v0, 32)
            v2 = (v2 + v3) & _MASK64
            v3 = _rotl(v3, 16) ^ v2
            v0 = (v0 + v3) & _MASK64
            v3 = _rotl(v3, 21) ^ v0
            v2 = (v2 + v1) & _MASK64
            v1 = _rotl(v1, 17) ^ v2
            v2 = _rotl(v2, 32)

    n = len(message)
    whole = n - n % 8
    for i in range(0, whole, 8):
        m = int.from_bytes(message[i : i + 8], "little")
        v3 ^= m
        rounds(2)
        v0 ^= m
    # the last block: the remaining bytes, and the length's low byte on top
    m = int.from_bytes(message[whole:], "little") | ((n & 0xFF) << 56)
    v3 ^= m
    rounds(2)
    v0 ^= m
    v2 ^= 0xFF
    rounds(4)
    return v0 ^ v1 ^ v2 ^ v3


def parse_linux_key(text: str) -> tuple[bytes, bytes | None]:
    """A key as ``net.ipv4.tcp_fastopen_key`` takes it: four 32-bit hex words
    with dashes (``a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4``), optionally a comma
    and a backup key. Linux stores each word little-endian (its sysctl
    handler converts with cpu_to_le32), which gives the 16 key bytes.
    Returns (primary, backup or None)."""
    keys = []
    for part in text.strip().split(","):
        words = part.strip().split("-")
        if len(words) != 4:
            raise ValueError(f"a Fast Open key is four dash-separated hex words, not {part!r}")
        try:
            keys.append(b"".join(int(w, 16).to_bytes(4, "little") for w in words))
        except (ValueError, OverflowError):
            raise ValueError(f"bad hex word in the Fast Open key {part!r}") from None
    if len(keys) > 2:
        raise ValueError("at most two Fast Open keys: primary,backup")
    return keys[0], keys[1] if len(keys) == 2 else None


def key_bytes(key: str | bytes) -> bytes:
    """A key given as Linux's text (primary only) or as 16 bytes."""
    if isinstance(key, str):
        return parse_linux_key(key)[0]
    if len(key) != KEY_SIZE:
        raise ValueError("a Fast Open key is 16 bytes")
    return bytes(key)


# ----------------------------------------------------------------------
# The server's cookies (RFC 7413 4.1.2)
# ----------------------------------------------------------------------
def make_cookie(algorithm: str, key: bytes, client: bytes, server: bytes) -> bytes:
    """The cookie for ``client`` (the SYN's source address, packed) talking to
    ``server``. "siphash" is Linux's: SipHash-2-4 over the source then the
    destination address (4 or 16 bytes each), its 64 bits little-endian.
    "blake2s": keyed BLAKE2s over the same bytes, 8 bytes of digest."""
    message = client + server
    if algorithm == "siphash":
        return siphash24(key, message).to_bytes(8, "little")
    return hashlib.blake2s(message, key=key, digest_size=COOKIE_SIZE).digest()


class CookieJar:
    """The server's secret: a primary key that makes cookies and a backup key
    that is still accepted (RFC 7413 4.1.2 asks for periodic key changes;
    the backup keeps the cookies of the last period good, as Linux does)."""

    __slots__ = ("algorithm", "backup", "primary")

    def __init__(self, primary: bytes, backup: bytes | None = None, algorithm: str = "blake2s"):
        if algorithm not in ALGORITHMS:
            raise ValueError(f"Fast Open cookie algorithm must be one of {ALGORITHMS}")
        self.algorithm = algorithm
        self.primary = key_bytes(primary)
        self.backup = key_bytes(backup) if backup is not None else None

    @classmethod
    def from_config(cls, cfg: TcpConfig, fallback: bytes | None = None) -> CookieJar:
        """The jar a configuration names: its key (Linux's text or 16 bytes),
        else ``fallback``, else a key drawn once per process."""
        key = cfg.fastopen_key
        if key is None:
            return cls(fallback or _PROCESS_KEY, None, cfg.fastopen_cookie_algorithm)
        if isinstance(key, str):
            primary, backup = parse_linux_key(key)
            return cls(primary, backup, cfg.fastopen_cookie_algorithm)
        return cls(key, None, cfg.fastopen_cookie_algorithm)

    def set_keys(self, primary: str | bytes, backup: str | bytes | None = None) -> None:
        """Replace both keys (Linux's TCP_FASTOPEN_KEY, or the sysctl)."""
        if isinstance(primary, str) and backup is None and "," in primary:
            self.primary, self.backup = parse_linux_key(primary)
            return
        self.primary = key_bytes(primary)
        self.backup = key_bytes(backup) if backup is not None else None

    def rotate(self, new: str | bytes) -> None:
        """A new primary key; the old one becomes the backup."""
        self.primary, self.backup = key_bytes(new), self.primary

    def make(self, client: bytes, server: bytes) -> bytes:
        return make_cookie(self.algorithm, self.primary, client, server)

    def check(self, cookie: bytes, client: bytes, server: bytes) -> int:
        """0: not ours; 1: made with the primary key; 2: with the backup key."""
        if hmac.compare_digest(cookie, self.make(client, server)):
            return 1
        backup = self.backup
        if backup is not None and hmac.compare_digest(
            cookie, make_cookie(self.algorithm, backup, client, server)
        ):
            return 2
        return 0


# ----------------------------------------------------------------------
# The client's cache (RFC 7413 4.1.3)
# ----------------------------------------------------------------------
@dataclass(slots=True)
class CacheEntry:
    """What a client remembers of a server: its cookie (empty: none yet), the
    MSS its SYN,ACK named (bounds the data on our next SYN), whether the
    cookie came in the experimental option, and ``try_exp``, Linux's way of
    asking a server that never answered: 0, ask in kind 34; 1, it did not
    answer, ask once in the experimental option; 2, neither answered, kind
    34 from now on."""

    cookie: bytes = b""
    mss: int | None = None
    experimental: bool = False
    try_exp: int = 0


class CookieCache:
    """Cookies by server address (the client side's memory, which Linux keeps
    in its TCP metrics). A Host owns one; its connections write into it."""

    __slots__ = ("entries",)

    def __init__(self) -> None:
        self.entries: dict[object, CacheEntry] = {}

    def get(self, server: object) -> CacheEntry | None:
        return self.entries.get(server)

    def cookie(self, server: object) -> bytes | None:
        entry = self.entries.get(server)
        return entry.cookie if entry is not None and entry.cookie else None

    def store(
        self,
        server: object,
        cookie: bytes,
        mss: int | None,
        experimental: bool,
        try_exp: int = 0,
    ) -> None:
        """A SYN,ACK's news: a cookie (kept unless a new one comes), the MSS,
        and, for a request left unanswered, the next ``try_exp`` (it only grows)."""
        entry = self.entries.setdefault(server, CacheEntry())
        if cookie:
            entry.cookie = cookie
            entry.experimental = experimental
        elif try_exp > entry.try_exp and not entry.cookie:
            entry.try_exp = try_exp
        if mss is not None:
            entry.mss = mss

    def forget(self, server: object) -> None:
        self.entries.pop(server, None)

    def clear(self) -> None:
        self.entries.clear()


# ----------------------------------------------------------------------
# One connection's Fast Open
# ----------------------------------------------------------------------
def fastopen_option(seg: Segment) -> FastOpenOption | FastOpenExp | None:
    """The SYN's (or SYN,ACK's) Fast Open option, if it counts: Linux takes
    only an even cookie length (RFC 7413 4.1.1 allows 4 to 16 bytes; the wire
    layer decodes any of them), and treats another as no option at all."""
    opt = seg.fastopen
    return opt if opt is not None and not len(opt.cookie) % 2 else None


def option_for(cookie: bytes, experimental: bool) -> tuple[Option, ...]:
    """The Fast Open option and the NOPs that align it to 32 bits (as Linux
    lays it out: after the other SYN options)."""
    opt: FastOpenOption | FastOpenExp = (
        FastOpenExp(cookie) if experimental else FastOpenOption(cookie)
    )
    return (opt,) + (NOP,) * (-opt.length % 4)


class FastOpenState:
    """One connection's Fast Open state, client or server.

    Client (``active``): ``cookie`` is the cached cookie (None: ask for one),
    ``cache`` and ``server`` where to store what the SYN,ACK brings, ``defer``
    holds the SYN until there is data (Linux's TCP_FASTOPEN_CONNECT).
    Server: ``jar`` checks and makes cookies (None: Fast Open is off for this
    SYN, e.g. its listener's Fast Open queue is full).
    """

    __slots__ = (
        "active", "cache", "cookie", "defer", "experimental", "jar", "mss_limit", "reply",
        "server", "syn_data", "syn_data_acked", "sent_option", "accepted", "taken",
        "no_cookie", "queue",
    )  # fmt: skip

    def __init__(self) -> None:
        self.active = False
        self.cache: CookieCache | None = None
        self.server: object = None
        self.cookie: bytes | None = None
        self.experimental = False
        self.defer = False
        self.no_cookie = False  # client: data on the SYN without any option
        self.mss_limit: int | None = None  # the cached MSS of the server
        self.jar: CookieJar | None = None
        self.reply: bytes | None = None  # the cookie our SYN,ACK carries
        self.syn_data = 0  # bytes our SYN carried (client)
        self.sent_option = False  # our first SYN carried the option (client)
        self.accepted = False  # server: the SYN passed, its data was taken
        self.taken = False  # server: the application accepted the connection
        self.syn_data_acked = False  # TCPI_OPT_SYN_DATA
        # server: the listener's Fast Open queue, which the connection leaves
        # as it leaves SYN-RECEIVED (Connection._transition)
        self.queue: dict[Connection, None] | None = None

    # -- construction ---------------------------------------------------------
    @classmethod
    def client(
        cls,
        cache: CookieCache | None = None,
        server: object = None,
        cookie: bytes | None = None,
        defer: bool = False,
        experimental: bool | None = None,
        no_cookie: bool = False,
    ) -> FastOpenState:
        """An active open that uses Fast Open; the cookie from ``cache`` unless
        given. ``no_cookie``: the SYN carries data and no option, whatever the
        cache holds (Linux's TFO_CLIENT_NO_COOKIE)."""
        tfo = cls()
        tfo.active = True
        tfo.cache, tfo.server, tfo.defer = cache, server, defer
        tfo.no_cookie = no_cookie
        entry = cache.get(server) if cache is not None else None
        if cookie is None and entry is not None and entry.cookie:
            cookie = entry.cookie
        tfo.cookie = cookie or None
        if experimental is not None:
            tfo.experimental = experimental
        elif entry is not None:
            # the cookie's own form; without one, the form the cache says to try
            tfo.experimental = entry.experimental if tfo.cookie else entry.try_exp == 1
        tfo.mss_limit = entry.mss if entry is not None else None
        return tfo

    @classmethod
    def server_side(cls, jar: CookieJar | None) -> FastOpenState:
        tfo = cls()
        tfo.jar = jar
        return tfo

    # -- client -----------------------------------------------------------------
    def holds_syn(self, queued: int, fin: bool) -> bool:
        """TCP_FASTOPEN_CONNECT: with a cookie, the SYN waits for the first data."""
        return self.defer and self.has_room() and not queued and not fin

    def has_room(self) -> bool:
        """Will our first SYN carry data: a cookie, or no cookie needed?"""
        return self.cookie is not None or self.no_cookie

    def syn_data_room(self, rcv_mss: int) -> int:
        """How much data our SYN may carry (Linux: the MSS from our MTU, and
        the server's cached MSS, less 40 bytes kept for options)."""
        mss = rcv_mss if self.mss_limit is None else min(rcv_mss, self.mss_limit)
        return max(mss - MAX_OPTION_SPACE, 0)

    def syn_capacity(self, rcv_mss: int) -> int:
        """How much of what is queued before the SYN leaves will ride on it: the
        SYN's room with a cookie, 0 without (the bytes Linux's sendto with
        MSG_FASTOPEN reports for a non-blocking socket)."""
        return self.syn_data_room(rcv_mss) if self.has_room() else 0

    def client_syn(
        self, options: tuple[Option, ...], first: bool, unsent: int, rcv_mss: int
    ) -> tuple[tuple[Option, ...], int]:
        """Our SYN's options and how many bytes of data it carries. Only the
        first SYN uses Fast Open: a retransmitted SYN goes without the option
        and without data (as Linux; RFC 7413 4.1.3 leaves it to us)."""
        if not first:
            return options, 0
        if self.no_cookie:  # data and no option (RFC 7413 4.1.3's exception)
            self.syn_data = min(unsent, self.syn_data_room(rcv_mss))
            return options, self.syn_data
        cookie = self.cookie or b""
        fo = option_for(cookie, self.experimental)
        if options_length(options) + options_length(fo) > MAX_OPTION_SPACE:
            return options, 0  # no room: an ordinary SYN
        self.sent_option = True
        size = min(unsent, self.syn_data_room(rcv_mss)) if cookie else 0
        self.syn_data = size
        return options + fo, size

    def syn_ack_arrived(self, seg: Segment, data_acked: bool, retransmitted: bool) -> None:
        """Our SYN is answered: cache the cookie and the MSS (RFC 7413 4.1.3;
        a cookie we did not ask for is ignored), note whether the data was
        acknowledged. A request that got no cookie (and no retransmission
        muddles it) moves the cache's ``try_exp`` on, as Linux does."""
        opt = fastopen_option(seg)
        cookie = opt.cookie if opt is not None and self.sent_option else b""
        try_exp = 0
        if self.sent_option and opt is None and not self.syn_data and not retransmitted:
            try_exp = 2 if self.experimental else 1
        if self.cache is not None and (self.sent_option or seg.mss is not None):
            self.cache.store(self.server, cookie, seg.mss, isinstance(opt, FastOpenExp), try_exp)
        self.syn_data_acked = self.syn_data > 0 and data_acked and not retransmitted

    # -- server -----------------------------------------------------------------
    def passive_syn(self, cfg: TcpConfig, seg: Segment, client: bytes, server: bytes) -> bool:
        """A SYN at a listener (RFC 7413 4.2.2): whether to take it as a Fast
        Open (its data accepted at once), and which cookie our SYN,ACK carries
        (``reply``): a fresh one for a request or an invalid cookie, the
        primary key's for a cookie made with the backup key, none otherwise."""
        jar = self.jar
        opt = fastopen_option(seg)
        if jar is None or (opt is None and not seg.payload):
            return False
        exp = isinstance(opt, FastOpenExp)
        if seg.payload and not cfg.fastopen_cookie_required:
            self.accepted = True  # Linux's TFO_SERVER_COOKIE_NOT_REQD
        elif opt is not None and opt.cookie:
            valid = jar.check(opt.cookie, client, server)
            if valid:
                self.accepted = True
                if valid == 2:
                    self.reply = jar.make(client, server)
            else:
                self.reply = jar.make(client, server)
        elif opt is not None:
            self.reply = jar.make(client, server)  # a cookie request
        self.experimental = exp
        if self.accepted and seg.payload:
            self.syn_data_acked = True
        return self.accepted

    def server_syn_ack(self, options: tuple[Option, ...], first: bool) -> tuple[Option, ...]:
        """Our SYN,ACK's options: the cookie goes on the first one only."""
        if self.reply is None or not first:
            return options
        fo = option_for(self.reply, self.experimental)
        if options_length(options) + options_length(fo) > MAX_OPTION_SPACE:
            return options
        return options + fo
