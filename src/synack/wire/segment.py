"""TCP segment encode and decode (RFC 9293 section 3.1), with options.

Options covered: EOL, NOP, MSS (RFC 9293 3.2), window scale and timestamps
(RFC 7323), SACK-permitted and SACK blocks (RFC 2018), TCP Fast Open (RFC 7413
4.1.1, kind 34, and the experimental kind 254 with magic 0xF989 that Linux
still understands). Any other kind, or a
known kind with a length it should not have, is kept as an
:class:`UnknownOption` with its raw bytes, so decode-encode loses nothing.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, TypeAlias, TypeGuard, TypeVar

from synack.wire.checksum import tcp_checksum
from synack.wire.errors import MalformedPacket

FIN: Final = 0x01
SYN: Final = 0x02
RST: Final = 0x04
PSH: Final = 0x08
ACK: Final = 0x10
URG: Final = 0x20
ECE: Final = 0x40
CWR: Final = 0x80

FLAG_NAMES: Final = (
    (CWR, "CWR"), (ECE, "ECE"), (URG, "URG"), (ACK, "ACK"),
    (PSH, "PSH"), (RST, "RST"), (SYN, "SYN"), (FIN, "FIN"),
)  # fmt: skip
# tcpdump's letters, in tcpdump's order; ACK is ".".
_TCPDUMP_LETTERS: Final = (
    (FIN, "F"), (SYN, "S"), (RST, "R"), (PSH, "P"),
    (ACK, "."), (URG, "U"), (ECE, "E"), (CWR, "W"),
)  # fmt: skip

# SYN and FIN take one sequence number each (RFC 9293 3.4): by flags & (SYN | FIN)
_SYN_FIN: Final = SYN | FIN
_CONTROL_OCTETS: Final = (0, 1, 1, 2)

HEADER: Final = struct.Struct("!HHIIBBHHH")
HEADER_LEN: Final = 20
MAX_HEADER_LEN: Final = 60
_PORTS: Final = struct.Struct("!HH")
_U16: Final = struct.Struct("!H")
_U32: Final = struct.Struct("!I")
_TS: Final = struct.Struct("!II")
# The option layouts nearly every segment carries, each decoded or encoded by
# one struct call (anything else goes option by option). The fixed bytes are
# the kinds and lengths: NOP, NOP, timestamps (RFC 7323 appendix A) on all but
# the SYNs ...
_NOP_NOP_TS: Final = struct.Struct("!4sII")
_NOP_NOP_TS_KINDS: Final = b"\x01\x01\x08\x0a"
_HEADER_NOP_NOP_TS: Final = struct.Struct("!HHIIBBHHH4sII")  # the header, then those options
_OFFSET_NOP_NOP_TS: Final = 8 << 4  # its data offset: 8 words
# ... and on SYNs, Linux's MSS, SACK-permitted, timestamps, NOP, window scale
# (synack's default order too).
_SYN_LAYOUT: Final = struct.Struct("!2sH4sII3sB")
_SYN_LAYOUT_KINDS: Final = (b"\x02\x04", b"\x04\x02\x08\x0a", b"\x01\x03\x03")

# RFC 3168 5: the ECN codepoints of the IP header.
NOT_ECT: Final = 0
ECT_1: Final = 1
ECT_0: Final = 2
CE: Final = 3

KIND_EOL: Final = 0
KIND_NOP: Final = 1
KIND_MSS: Final = 2
KIND_WSCALE: Final = 3
KIND_SACK_PERMITTED: Final = 4
KIND_SACK: Final = 5
KIND_TIMESTAMPS: Final = 8
KIND_FASTOPEN: Final = 34  # RFC 7413 4.1.1
KIND_EXPERIMENTAL: Final = 254  # RFC 6994 shared experimental kind
FASTOPEN_MAGIC: Final = 0xF989  # the experimental kind's magic for Fast Open
FASTOPEN_COOKIE_MIN: Final = 4  # RFC 7413 4.1.1: a cookie is 4 to 16 bytes
FASTOPEN_COOKIE_MAX: Final = 16


# An option's kind is a property, not a class attribute: compiled with mypyc
# (docs/compiled.md), a dataclass's class attribute would become a field.
@dataclass(frozen=True, slots=True)
class EndOfOptions:
    @property
    def kind(self) -> int:
        return KIND_EOL


@dataclass(frozen=True, slots=True)
class NoOperation:
    @property
    def kind(self) -> int:
        return KIND_NOP


@dataclass(frozen=True, slots=True)
class MaxSegmentSize:
    value: int

    def __init__(self, value: int) -> None:  # as Timestamps' (below)
        object.__setattr__(self, "value", value)

    @property
    def kind(self) -> int:
        return KIND_MSS


@dataclass(frozen=True, slots=True)
class WindowScale:
    shift: int

    def __init__(self, shift: int) -> None:  # as Timestamps' (below)
        object.__setattr__(self, "shift", shift)

    @property
    def kind(self) -> int:
        return KIND_WSCALE


@dataclass(frozen=True, slots=True)
class SackPermitted:
    @property
    def kind(self) -> int:
        return KIND_SACK_PERMITTED


@dataclass(frozen=True, slots=True)
class Sack:
    blocks: tuple[tuple[int, int], ...]

    @property
    def kind(self) -> int:
        return KIND_SACK


@dataclass(frozen=True, slots=True)
class Timestamps:
    value: int
    echo_reply: int

    # The dataclass's own __init__, written out: the compiled build runs a
    # generated __init__ as interpreted code (docs/compiled.md), and this
    # class is made for nearly every segment.
    def __init__(self, value: int, echo_reply: int) -> None:
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "echo_reply", echo_reply)

    @property
    def kind(self) -> int:
        return KIND_TIMESTAMPS


@dataclass(frozen=True, slots=True)
class FastOpen:
    """TCP Fast Open (RFC 7413 4.1.1): an empty cookie is a cookie request.

    packetdrill writes it ``FO`` (a request) or ``FO <cookie in hex>``."""

    cookie: bytes = b""

    @property
    def kind(self) -> int:
        return KIND_FASTOPEN

    @property
    def length(self) -> int:
        return 2 + len(self.cookie)

    @property
    def text(self) -> str:
        return f"FO {self.cookie.hex()}" if self.cookie else "FO"


@dataclass(frozen=True, slots=True)
class FastOpenExp:
    """Fast Open in the experimental option (kind 254, magic 0xF989), as
    Linux sent it before kind 34 was assigned: ``FOEXP`` or ``FOEXP <hex>``."""

    cookie: bytes = b""

    @property
    def kind(self) -> int:
        return KIND_EXPERIMENTAL

    @property
    def length(self) -> int:
        return 4 + len(self.cookie)

    @property
    def text(self) -> str:
        return f"FOEXP {self.cookie.hex()}" if self.cookie else "FOEXP"


@dataclass(frozen=True, slots=True)
class UnknownOption:
    """An option kept as raw bytes: ``data`` is everything after kind and length."""

    kind: int
    data: bytes = b""


Option: TypeAlias = (
    EndOfOptions | NoOperation | MaxSegmentSize | WindowScale | SackPermitted | Sack
    | Timestamps | FastOpen | FastOpenExp | UnknownOption
)  # fmt: skip

_O = TypeVar("_O", bound=Option)

EOL: Final = EndOfOptions()
NOP: Final = NoOperation()
SACK_PERMITTED: Final = SackPermitted()
_SYN_TYPES: Final = (MaxSegmentSize, SackPermitted, Timestamps, NoOperation, WindowScale)


def flags_to_str(flags: int) -> str:
    """``SYN|ACK`` style names."""
    names = [name for bit, name in FLAG_NAMES if flags & bit]
    return "|".join(names) if names else "none"


def tcpdump_flags(flags: int) -> str:
    """tcpdump's letters: ``S``, ``S.``, ``.``, ``F.``, ``R``, ``P.``..."""
    text = "".join(letter for bit, letter in _TCPDUMP_LETTERS if flags & bit)
    return text or "none"


def encode_options(options: tuple[Option, ...]) -> bytes:
    """Options in order, padded with zeros to a multiple of 4 bytes."""
    if len(options) == 3 and options[0] is NOP and options[1] is NOP:
        ts = options[2]
        if isinstance(ts, Timestamps):  # what nearly every segment carries
            return _NOP_NOP_TS.pack(_NOP_NOP_TS_KINDS, ts.value, ts.echo_reply)
    if tuple(map(type, options)) == _SYN_TYPES:
        mss: MaxSegmentSize
        syn_ts: Timestamps
        ws: WindowScale
        mss, _, syn_ts, _, ws = options  # type: ignore[assignment]  # the types just checked
        kinds_mss, kinds_sack_ts, kinds_ws = _SYN_LAYOUT_KINDS
        try:
            return _SYN_LAYOUT.pack(
                kinds_mss, mss.value, kinds_sack_ts, syn_ts.value, syn_ts.echo_reply,
                kinds_ws, ws.shift,
            )  # fmt: skip
        except struct.error:
            pass  # a value out of range: raised below, as for any other layout
    out = bytearray()
    for opt in options:
        if isinstance(opt, Timestamps):
            out += b"\x08\x0a" + _TS.pack(opt.value, opt.echo_reply)
        elif isinstance(opt, NoOperation):
            out.append(KIND_NOP)
        elif isinstance(opt, Sack):
            out += bytes((KIND_SACK, 2 + 8 * len(opt.blocks)))
            for left, right in opt.blocks:
                out += _TS.pack(left, right)
        elif isinstance(opt, MaxSegmentSize):
            out += b"\x02\x04" + _U16.pack(opt.value)
        elif isinstance(opt, WindowScale):
            out += bytes((KIND_WSCALE, 3, opt.shift))
        elif isinstance(opt, SackPermitted):
            out += b"\x04\x02"
        elif isinstance(opt, EndOfOptions):
            out.append(KIND_EOL)
        elif isinstance(opt, FastOpen):
            out += bytes((KIND_FASTOPEN, 2 + len(opt.cookie))) + opt.cookie
        elif isinstance(opt, FastOpenExp):
            out += bytes((KIND_EXPERIMENTAL, 4 + len(opt.cookie)))
            out += _U16.pack(FASTOPEN_MAGIC) + opt.cookie
        else:
            out += bytes((opt.kind, 2 + len(opt.data))) + opt.data
    if len(out) % 4:
        out += bytes(4 - len(out) % 4)
    return bytes(out)


# The options whose length never varies (RFC 9293 3.2, RFC 7323 2.2 and 3.2,
# RFC 2018 2), by kind; NOP is one byte.
FIXED_OPTION_LENGTHS: Final = {
    KIND_MSS: 4,
    KIND_WSCALE: 3,
    KIND_SACK_PERMITTED: 2,
    KIND_TIMESTAMPS: 10,
}
_OPTION_SIZES: Final[dict[type, int]] = {
    NoOperation: 1,
    MaxSegmentSize: FIXED_OPTION_LENGTHS[KIND_MSS],
    WindowScale: FIXED_OPTION_LENGTHS[KIND_WSCALE],
    SackPermitted: FIXED_OPTION_LENGTHS[KIND_SACK_PERMITTED],
    Timestamps: FIXED_OPTION_LENGTHS[KIND_TIMESTAMPS],
}


def options_length(options: tuple[Option, ...] | list[Option]) -> int:
    """Bytes the options take before padding."""
    size = 0
    for opt in options:
        n = _OPTION_SIZES.get(type(opt))
        if n is not None:
            size += n
        elif isinstance(opt, Sack):
            size += 2 + 8 * len(opt.blocks)
        elif isinstance(opt, UnknownOption):
            size += 2 + len(opt.data)
        elif isinstance(opt, EndOfOptions):
            size += 1
        elif isinstance(opt, FastOpen | FastOpenExp):
            size += opt.length
        else:
            size += _OPTION_SIZES[type(opt)]  # KeyError: not an option
    return size


def exact_options_length(options: tuple[Option, ...]) -> int | None:
    """The bytes ``options`` take on the wire, when decoding their encoding gives
    them back exactly: no padding (it would decode as an extra EOL), no raw
    option, no EOL, no SACK without blocks. None when the round trip would
    change them, or they do not fit a header. Lets an in-memory driver skip
    the codec."""
    if len(options) == 3 and options[0] is NOP and options[1] is NOP:
        if type(options[2]) is Timestamps:
            return 12
    size = 0
    for opt in options:
        if isinstance(opt, Sack):
            if not opt.blocks:
                return None
            size += 2 + 8 * len(opt.blocks)
        else:
            n = _OPTION_SIZES.get(type(opt))
            if n is None:
                if not isinstance(opt, FastOpen | FastOpenExp):
                    return None
                n = opt.length
            size += n
    if size % 4 or size > MAX_HEADER_LEN - HEADER_LEN:
        return None
    return size


def decode_options(data: bytes | memoryview) -> tuple[Option, ...]:
    """Parse an options area. Raises :class:`MalformedPacket` on an overrun."""
    return _decode_options(data, 0, len(data))


def _decode_options(
    data: bytes | bytearray | memoryview, start: int, end: int
) -> tuple[Option, ...]:
    """The options in ``data[start:end]``: the usual layouts by one struct
    call, any other by the general parser."""
    n = end - start
    if n == 12:
        kinds, value, echo = _NOP_NOP_TS.unpack_from(data, start)
        if kinds == _NOP_NOP_TS_KINDS:
            return (NOP, NOP, Timestamps(value, echo))
    elif n == 20:
        kinds_mss, mss, kinds_sack_ts, value, echo, kinds_ws, shift = _SYN_LAYOUT.unpack_from(
            data, start
        )
        if (kinds_mss, kinds_sack_ts, kinds_ws) == _SYN_LAYOUT_KINDS:
            return (
                MaxSegmentSize(mss), SACK_PERMITTED, Timestamps(value, echo), NOP,
                WindowScale(shift),
            )  # fmt: skip
    return _parse_options(data, start, end)


def _parse_options(
    data: bytes | bytearray | memoryview, start: int, end: int
) -> tuple[Option, ...]:
    """The general parser, option by option; offsets in messages are from ``start``."""
    options: list[Option] = []
    i = start
    while i < end:
        kind = data[i]
        if kind == KIND_EOL:
            options.append(EOL)
            break
        if kind == KIND_NOP:
            options.append(NOP)
            i += 1
            continue
        if i + 1 >= end:
            raise MalformedPacket(
                "option-overrun",
                f"option kind {kind} at offset {i - start} has no length byte",
            )
        length = data[i + 1]
        if length < 2:
            raise MalformedPacket(
                "option-length",
                f"option kind {kind} at offset {i - start} has length {length} (< 2)",
            )
        if i + length > end:
            raise MalformedPacket(
                "option-overrun",
                f"option kind {kind} at offset {i - start} has length {length}, "
                f"but only {end - i} bytes of options remain",
            )
        body = bytes(data[i + 2 : i + length])
        options.append(_decode_option(kind, body))
        i += length
    return tuple(options)


def _decode_option(kind: int, body: bytes) -> Option:
    n = len(body)
    if kind == KIND_TIMESTAMPS and n == 8:
        return Timestamps(*_TS.unpack(body))
    if kind == KIND_MSS and n == 2:
        return MaxSegmentSize(_U16.unpack(body)[0])
    if kind == KIND_WSCALE and n == 1:
        return WindowScale(body[0])
    if kind == KIND_SACK_PERMITTED and n == 0:
        return SACK_PERMITTED
    if kind == KIND_SACK and n and n % 8 == 0:
        return Sack(tuple(_TS.unpack_from(body, j) for j in range(0, n, 8)))
    if kind == KIND_FASTOPEN and (n == 0 or FASTOPEN_COOKIE_MIN <= n <= FASTOPEN_COOKIE_MAX):
        return FastOpen(body)
    if (
        kind == KIND_EXPERIMENTAL
        and n >= 2
        and _U16.unpack_from(body)[0] == FASTOPEN_MAGIC
        and (n == 2 or FASTOPEN_COOKIE_MIN <= n - 2 <= FASTOPEN_COOKIE_MAX)
    ):
        return FastOpenExp(body[2:])
    return UnknownOption(kind, body)


@dataclass(slots=True)
class Segment:
    """One TCP segment: header fields, options in wire order, and payload.

    ``seq`` and ``ack`` are 32-bit sequence numbers; ``flags`` is the 8-bit
    control field (use the module constants). ``checksum`` is what a decoded
    segment carried; :meth:`encode` computes a fresh one.
    """

    src_port: int
    dst_port: int
    seq: int
    ack: int = 0
    flags: int = 0
    window: int = 0
    urgent: int = 0
    options: tuple[Option, ...] = ()
    payload: bytes = b""
    reserved: int = 0
    checksum: int = field(default=0, compare=False)
    # The ECN field of the IP header that carries (or carried) the segment
    # (RFC 3168 5): 0 not-ECT, ECT_1, ECT_0 or CE.
    ecn: int = 0

    # The dataclass's own __init__, written out: the compiled build runs a
    # generated __init__ as interpreted code (docs/compiled.md).
    def __init__(
        self,
        src_port: int,
        dst_port: int,
        seq: int,
        ack: int = 0,
        flags: int = 0,
        window: int = 0,
        urgent: int = 0,
        options: tuple[Option, ...] = (),
        payload: bytes = b"",
        reserved: int = 0,
        checksum: int = 0,
        ecn: int = 0,
    ) -> None:
        self.src_port = src_port
        self.dst_port = dst_port
        self.seq = seq
        self.ack = ack
        self.flags = flags
        self.window = window
        self.urgent = urgent
        self.options = options
        self.payload = payload
        self.reserved = reserved
        self.checksum = checksum
        self.ecn = ecn

    # -- derived --------------------------------------------------------
    @property
    def seg_len(self) -> int:
        """SEG.LEN: payload octets plus one each for SYN and FIN (RFC 9293 3.4)."""
        return len(self.payload) + _CONTROL_OCTETS[self.flags & _SYN_FIN]

    @property
    def header_len(self) -> int:
        return HEADER_LEN + len(encode_options(self.options))

    def option(self, kind: int) -> Option | None:
        for opt in self.options:
            if opt.kind == kind:
                return opt
        return None

    # The first well-formed option of a kind: a known kind with a wrong
    # length is an UnknownOption and must not count as that option. Each
    # property finds it with ``next(filter(_IS_X, options))``: isinstance
    # for each option, in C (the _IS_X checks are below the class).
    @property
    def mss(self) -> int | None:
        opt = next(filter(_IS_MSS, self.options), None)
        return opt.value if opt is not None else None

    @property
    def window_scale(self) -> int | None:
        opt = next(filter(_IS_WINDOW_SCALE, self.options), None)
        return opt.shift if opt is not None else None

    @property
    def sack_permitted(self) -> bool:
        return next(filter(_IS_SACK_PERMITTED, self.options), None) is not None

    @property
    def timestamps(self) -> Timestamps | None:
        return next(filter(_IS_TIMESTAMPS, self.options), None)

    @property
    def fastopen(self) -> FastOpen | FastOpenExp | None:
        """The Fast Open option (RFC 7413 4.1.1), either form, or None."""
        for opt in self.options:
            if isinstance(opt, FastOpen | FastOpenExp):
                return opt
        return None

    @property
    def sack_blocks(self) -> tuple[tuple[int, int], ...]:
        opt = next(filter(_IS_SACK, self.options), None)
        return opt.blocks if opt is not None else ()

    @property
    def flag_text(self) -> str:
        return tcpdump_flags(self.flags)

    def __str__(self) -> str:
        return (
            f"{self.src_port} > {self.dst_port} [{tcpdump_flags(self.flags)}] "
            f"seq {self.seq} ack {self.ack} win {self.window} len {len(self.payload)}"
        )

    # -- codec ----------------------------------------------------------
    def encode(self, src_ip: bytes | None = None, dst_ip: bytes | None = None) -> bytes:
        """Wire bytes. With both packed IP addresses, the checksum is filled in."""
        wire = bytearray(self.encode_header())
        wire += self.payload
        if src_ip is not None and dst_ip is not None:
            _U16.pack_into(wire, 16, tcp_checksum(src_ip, dst_ip, wire))
        return bytes(wire)

    def encode_header(self) -> bytes:
        """The header and its options, with a zero checksum: the wire bytes
        before the payload."""
        options = self.options
        if len(options) == 3 and options[0] is NOP and options[1] is NOP:
            ts = options[2]
            if type(ts) is Timestamps:  # the usual options: header and all in one call
                return _HEADER_NOP_NOP_TS.pack(
                    self.src_port, self.dst_port, self.seq, self.ack,
                    _OFFSET_NOP_NOP_TS | (self.reserved & 0x0F), self.flags & 0xFF,
                    self.window, 0, self.urgent, _NOP_NOP_TS_KINDS, ts.value, ts.echo_reply,
                )  # fmt: skip
        opts = encode_options(options) if options else b""
        hlen = HEADER_LEN + len(opts)
        if hlen > MAX_HEADER_LEN:
            raise ValueError(f"options take {len(opts)} bytes; at most 40 fit in a TCP header")
        header = HEADER.pack(
            self.src_port, self.dst_port, self.seq, self.ack,
            (hlen >> 2) << 4 | (self.reserved & 0x0F), self.flags & 0xFF,
            self.window, 0, self.urgent,
        )  # fmt: skip
        return header + opts if opts else header

    @classmethod
    def decode(
        cls,
        data: bytes | bytearray | memoryview,
        src_ip: bytes | None = None,
        dst_ip: bytes | None = None,
    ) -> Segment:
        """Parse wire bytes; with both IP addresses the checksum is verified.

        Raises :class:`MalformedPacket` for a short packet, a bad data offset,
        an option that overruns, or a bad checksum.
        """
        return decode_segment(data, src_ip, dst_ip, NOT_ECT, cls)


def _instance_check(cls: type[_O]) -> Callable[[Option], TypeGuard[_O]]:
    """``isinstance(opt, cls)`` as one callable, for ``filter``."""
    return cls.__instancecheck__  # type: ignore[return-value]


_IS_MSS = _instance_check(MaxSegmentSize)
_IS_WINDOW_SCALE = _instance_check(WindowScale)
_IS_SACK_PERMITTED = _instance_check(SackPermitted)
_IS_SACK = _instance_check(Sack)
_IS_TIMESTAMPS = _instance_check(Timestamps)


def decode_segment(
    data: bytes | bytearray | memoryview,
    src_ip: bytes | None,
    dst_ip: bytes | None,
    ecn: int,
    cls: type[Segment] = Segment,
) -> Segment:
    """:meth:`Segment.decode`, for a segment that came with the ECN field ``ecn``."""
    n = len(data)
    if n < HEADER_LEN:
        raise MalformedPacket(
            "short", f"TCP segment of {n} bytes is shorter than the 20-byte header"
        )
    sport, dport, seq, ack, off, flags, window, csum, urgent = HEADER.unpack_from(data)
    hlen = (off >> 4) * 4
    if hlen < HEADER_LEN:
        raise MalformedPacket(
            "data-offset", f"data offset {off >> 4} is below the minimum of 5 words"
        )
    if hlen > n:
        raise MalformedPacket(
            "data-offset", f"data offset says {hlen} header bytes, but the segment has only {n}"
        )
    if src_ip is not None and dst_ip is not None:
        if n > 0xFFFF and len(src_ip) == 4:
            raise MalformedPacket(
                "length", f"TCP segment of {n} bytes is too long for an IPv4 pseudo-header"
            )
        if tcp_checksum(src_ip, dst_ip, data) != 0:
            raise MalformedPacket("checksum", f"bad TCP checksum 0x{csum:04x}")
    options = _decode_options(data, HEADER_LEN, hlen) if hlen > HEADER_LEN else ()
    return cls(
        sport, dport, seq, ack, flags, window, urgent, options,
        bytes(data[hlen:]), off & 0x0F, csum, ecn,
    )  # fmt: skip


def peek_ports(data: bytes | memoryview) -> tuple[int, int]:
    """Source and destination port of a segment, without a full decode."""
    if len(data) < 4:
        raise MalformedPacket("short", "TCP segment too short for ports")
    return _PORTS.unpack_from(data)
