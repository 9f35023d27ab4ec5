"""ICMP error messages about TCP segments: ICMPv4 (RFC 792) and ICMPv6 (RFC 4443).

:func:`parse_icmp_packet` reads an IP packet carrying ICMP, checks the ICMP
checksum (ICMPv6's covers a pseudo-header, RFC 4443 2.3), and for an error
that quotes a TCP segment returns an :class:`IcmpError`: which kind of
error, the MTU it reports (RFC 1191 "fragmentation needed", RFC 8201
"packet too big"), and the quoted segment's addresses, ports and sequence
number (the quoted IP header and at least the first 8 bytes of TCP, RFC 792,
RFC 1122 3.2.2). The quoted packet is one that was sent to the network, so
its source is the local end of the connection.

The builders (:func:`icmp_error`, :func:`icmp_error_for_segment`) make such
messages for tests and for scripts that inject them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from synack.wire.checksum import PROTO_TCP, internet_checksum, pseudo_header
from synack.wire.errors import MalformedPacket
from synack.wire.ip import (
    _V6,
    DEFAULT_TTL,
    V4_HEADER_LEN,
    V6_HEADER_LEN,
    _pack_v4,
    _split,
    encode_packed,
)
from synack.wire.segment import Segment

PROTO_ICMP = 1
PROTO_ICMPV6 = 58

# ICMPv4 types (RFC 792) and the destination-unreachable codes (RFC 792, RFC 1122 3.2.2.1,
# RFC 1812 5.2.7.1)
ICMP_DEST_UNREACH = 3
ICMP_SOURCE_QUENCH = 4
ICMP_TIME_EXCEEDED = 11
ICMP_PARAMETER_PROBLEM = 12
NET_UNREACHABLE = 0
HOST_UNREACHABLE = 1
PROTOCOL_UNREACHABLE = 2
PORT_UNREACHABLE = 3
FRAGMENTATION_NEEDED = 4
SOURCE_ROUTE_FAILED = 5
NET_UNKNOWN = 6
HOST_UNKNOWN = 7
HOST_ISOLATED = 8
NET_PROHIBITED = 9
HOST_PROHIBITED = 10
NET_UNREACHABLE_TOS = 11
HOST_UNREACHABLE_TOS = 12
ADMIN_PROHIBITED = 13
PRECEDENCE_VIOLATION = 14
PRECEDENCE_CUTOFF = 15

# ICMPv6 types (RFC 4443 3) and the destination-unreachable codes (3.1)
ICMP6_DEST_UNREACH = 1
ICMP6_PACKET_TOO_BIG = 2
ICMP6_TIME_EXCEEDED = 3
ICMP6_PARAMETER_PROBLEM = 4
NO_ROUTE = 0
ADMIN_PROHIBITED6 = 1
BEYOND_SCOPE = 2
ADDRESS_UNREACHABLE = 3
PORT_UNREACHABLE6 = 4
SOURCE_POLICY_FAILED = 5
REJECT_ROUTE = 6

# What an error means, whatever the family: the ``kind`` of an IcmpError.
UNREACHABLE = "unreachable"  # destination unreachable (code says which)
PACKET_TOO_BIG = "packet-too-big"  # v4 fragmentation needed and DF set, v6 packet too big
TIME_EXCEEDED = "time-exceeded"
PARAMETER_PROBLEM = "parameter-problem"
SOURCE_QUENCH = "source-quench"  # v4 only; deprecated (RFC 6633)

_HEADER = struct.Struct("!BBHI")  # type, code, checksum, rest of header
_PORTS_SEQ = struct.Struct("!HHI")
ICMP_HEADER_LEN = 8
# How much of the offending packet an error quotes at most: the whole error
# within 576 bytes for IPv4 (RFC 1812 4.3.2.3) and 1280 for IPv6 (RFC 4443 2.4 (c)).
V4_ERROR_LIMIT = 576
V6_ERROR_LIMIT = 1280

_V4_KINDS = {
    ICMP_DEST_UNREACH: UNREACHABLE,
    ICMP_SOURCE_QUENCH: SOURCE_QUENCH,
    ICMP_TIME_EXCEEDED: TIME_EXCEEDED,
    ICMP_PARAMETER_PROBLEM: PARAMETER_PROBLEM,
}
_V6_KINDS = {
    ICMP6_DEST_UNREACH: UNREACHABLE,
    ICMP6_PACKET_TOO_BIG: PACKET_TOO_BIG,
    ICMP6_TIME_EXCEEDED: TIME_EXCEEDED,
    ICMP6_PARAMETER_PROBLEM: PARAMETER_PROBLEM,
}


@dataclass(frozen=True, slots=True)
class IcmpError:
    """An ICMP error about a TCP segment we sent.

    Addresses are packed (4 or 16 bytes). ``src``/``dst`` are the ICMP
    packet's own (the reporting router, and us); ``quoted_src``/``quoted_dst``,
    ``src_port``/``dst_port`` and ``seq`` are the quoted segment's, so its
    source is our end. ``mtu`` is the next-hop MTU of a "packet too big"
    (0 when an old router left it out), else None. ``quoted_length`` is the
    quoted IP packet's total length as its header says (RFC 1191 5 uses it
    when no MTU is given).
    """

    version: int
    type: int
    code: int
    kind: str
    mtu: int | None
    src: bytes
    dst: bytes
    quoted_src: bytes
    quoted_dst: bytes
    src_port: int
    dst_port: int
    seq: int
    quoted_length: int


def _icmp_checksum(src: bytes, dst: bytes, message: bytes | bytearray | memoryview) -> int:
    """The checksum an ICMP message carries: ICMPv6's over a pseudo-header too (RFC 4443 2.3)."""
    if len(src) == 4:
        return internet_checksum(message)
    return internet_checksum(pseudo_header(src, dst, len(message), PROTO_ICMPV6), message)


def parse_icmp_packet(data: bytes | bytearray | memoryview) -> IcmpError | None:
    """Decode an IP packet carrying ICMP (IPv4 protocol 1, IPv6 next header 58).

    Returns the error about a quoted TCP segment, or None for a well-formed
    message that is not one (an echo, a quoted UDP packet, an unknown type).
    A bad checksum or a truncated message raises :class:`MalformedPacket`
    with reasons ``"icmp-checksum"``, ``"icmp-short"``, ``"icmp-quote"``;
    a packet that is not ICMP, ``"not-icmp"``.
    """
    protocol, _, src, dst, payload, fields = _split(memoryview(data))
    v4 = len(fields) == 10
    if protocol != (PROTO_ICMP if v4 else PROTO_ICMPV6):
        raise MalformedPacket("not-icmp", f"IP protocol {protocol} is not ICMP")
    if len(payload) < ICMP_HEADER_LEN:
        raise MalformedPacket("icmp-short", f"ICMP message of {len(payload)} bytes")
    if _icmp_checksum(src, dst, payload) != 0:
        raise MalformedPacket("icmp-checksum", "bad ICMP checksum")
    icmp_type, code, _, rest = _HEADER.unpack_from(payload)
    kind = (_V4_KINDS if v4 else _V6_KINDS).get(icmp_type)
    if kind is None:
        return None  # informational (echo...) or unknown: nothing for TCP
    mtu: int | None = None
    if v4 and icmp_type == ICMP_DEST_UNREACH and code == FRAGMENTATION_NEEDED:
        kind = PACKET_TOO_BIG
        mtu = rest & 0xFFFF  # RFC 1191 4: the next-hop MTU in the low 16 bits
    elif not v4 and icmp_type == ICMP6_PACKET_TOO_BIG:
        mtu = rest  # RFC 4443 3.2: 32 bits
    quoted = payload[ICMP_HEADER_LEN:]
    return _quoted(quoted, v4, icmp_type, code, kind, mtu, src, dst)


def _quoted(
    quoted: memoryview,
    v4: bool,
    icmp_type: int,
    code: int,
    kind: str,
    mtu: int | None,
    src: bytes,
    dst: bytes,
) -> IcmpError | None:
    """The quoted IP header and first 8 bytes of TCP (RFC 792; RFC 4443 2.4 (c))."""
    n = len(quoted)
    if v4:
        if n < V4_HEADER_LEN or quoted[0] >> 4 != 4:
            raise MalformedPacket("icmp-quote", "the quoted packet is not an IPv4 header")
        ihl = (quoted[0] & 0x0F) * 4
        if ihl < V4_HEADER_LEN or n < ihl + 8:
            raise MalformedPacket("icmp-quote", f"the quote of {n} bytes is too short")
        protocol = quoted[9]
        length = int.from_bytes(quoted[2:4], "big")
        qsrc, qdst = bytes(quoted[12:16]), bytes(quoted[16:20])
        if int.from_bytes(quoted[6:8], "big") & 0x1FFF:
            return None  # a later fragment quotes no TCP header (we never fragment)
    else:
        if n < V6_HEADER_LEN + 8 or quoted[0] >> 4 != 6:
            raise MalformedPacket("icmp-quote", "the quoted packet is not an IPv6 header")
        ihl = V6_HEADER_LEN
        protocol = quoted[6]  # extension headers are not followed (we send none)
        length = V6_HEADER_LEN + int.from_bytes(quoted[4:6], "big")
        qsrc, qdst = bytes(quoted[8:24]), bytes(quoted[24:40])
    if protocol != PROTO_TCP:
        return None
    sport, dport, seq = _PORTS_SEQ.unpack_from(quoted, ihl)
    return IcmpError(
        4 if v4 else 6, icmp_type, code, kind, mtu, src, dst, qsrc, qdst, sport, dport, seq,
        length,
    )  # fmt: skip


def icmp_error(
    quoted_packet: bytes,
    icmp_type: int,
    code: int = 0,
    mtu: int = 0,
    reporter: IPv4Address | IPv6Address | bytes | None = None,
    quote: int | None = None,
    checksum: int | None = None,
) -> bytes:
    """An IP packet carrying an ICMP error about ``quoted_packet`` (an IP packet).

    It goes to the quoted packet's source, from ``reporter`` (a router's
    address; the quoted destination if None). The family follows the quoted
    packet: ICMPv4 types and codes for IPv4, ICMPv6's for IPv6. ``mtu`` is
    the next-hop MTU of a v4 "fragmentation needed" (code 4 of type 3) or
    of a v6 "packet too big" (type 2). ``quote``: how many bytes of the
    packet to quote (None: as much as fits 576 / 1280 bytes; RFC 792's
    minimum is the IP header and 8 bytes). ``checksum`` overrides the
    computed one (to test that a bad one is dropped).
    """
    version = quoted_packet[0] >> 4
    if version == 4:
        qsrc, qdst = quoted_packet[12:16], quoted_packet[16:20]
        limit = V4_ERROR_LIMIT - V4_HEADER_LEN - ICMP_HEADER_LEN
    elif version == 6:
        qsrc, qdst = quoted_packet[8:24], quoted_packet[24:40]
        limit = V6_ERROR_LIMIT - V6_HEADER_LEN - ICMP_HEADER_LEN
    else:
        raise ValueError(f"the quoted packet is IP version {version}")
    if reporter is None:
        src = bytes(qdst)
    else:
        src = reporter if isinstance(reporter, bytes) else reporter.packed
    if len(src) != len(qsrc):
        raise ValueError("the reporter's address family differs from the quoted packet's")
    body = quoted_packet[: limit if quote is None else quote]
    if version == 4:
        rest = mtu & 0xFFFF if icmp_type == ICMP_DEST_UNREACH else 0
    else:
        rest = mtu if icmp_type == ICMP6_PACKET_TOO_BIG else 0
    message = bytearray(_HEADER.pack(icmp_type, code, 0, rest) + body)
    value = _icmp_checksum(src, bytes(qsrc), message) if checksum is None else checksum
    struct.pack_into("!H", message, 2, value)
    if version == 4:
        total = V4_HEADER_LEN + len(message)
        return _pack_v4(src, bytes(qsrc), total, DEFAULT_TTL, PROTO_ICMP, 0, 0) + message
    first = _V6.pack(6 << 28, len(message), PROTO_ICMPV6, 255, src, bytes(qsrc))
    return first + bytes(message)


def icmp_error_for_segment(
    src: IPv4Address | IPv6Address,
    dst: IPv4Address | IPv6Address,
    segment: Segment,
    icmp_type: int,
    code: int = 0,
    mtu: int = 0,
    reporter: IPv4Address | IPv6Address | None = None,
    quote: int | None = None,
    checksum: int | None = None,
) -> bytes:
    """:func:`icmp_error` about ``segment`` as sent from ``src`` to ``dst``
    (the quoted packet is encoded as synack encodes it, DF set on IPv4)."""
    packet = encode_packed(src.packed, dst.packed, segment)
    return icmp_error(packet, icmp_type, code, mtu, reporter, quote, checksum)


# The names packetdrill scripts give ICMP types and codes (its ``icmp`` lines),
# per family: type name -> (type, {code name: code}).
_V4_UNREACHABLE_NAMES = {
    "net_unreachable": NET_UNREACHABLE,
    "host_unreachable": HOST_UNREACHABLE,
    "protocol_unreachable": PROTOCOL_UNREACHABLE,
    "port_unreachable": PORT_UNREACHABLE,
    "frag_needed": FRAGMENTATION_NEEDED,
    "source_route_failed": SOURCE_ROUTE_FAILED,
    "net_unknown": NET_UNKNOWN,
    "host_unknown": HOST_UNKNOWN,
    "source_host_isolated": HOST_ISOLATED,
    "net_prohibited": NET_PROHIBITED,
    "host_prohibited": HOST_PROHIBITED,
    "net_unreachable_for_tos": NET_UNREACHABLE_TOS,
    "host_unreachable_for_tos": HOST_UNREACHABLE_TOS,
    "packet_filtered": ADMIN_PROHIBITED,
    "precedence_violation": PRECEDENCE_VIOLATION,
    "precedence_cutoff": PRECEDENCE_CUTOFF,
}
_NAMES: dict[int, dict[str, tuple[int, dict[str, int]]]] = {
    4: {
        "echo_reply": (0, {}),
        "unreachable": (ICMP_DEST_UNREACH, _V4_UNREACHABLE_NAMES),
        "source_quench": (ICMP_SOURCE_QUENCH, {}),
        "redirect": (5, {}),
        "echo_request": (8, {}),
        "time_exceeded": (ICMP_TIME_EXCEEDED, {}),
        "parameter_problem": (ICMP_PARAMETER_PROBLEM, {}),
    },
    6: {
        "unreachable": (
            ICMP6_DEST_UNREACH,
            {
                "net_unreachable": NO_ROUTE,
                "no_route": NO_ROUTE,
                "admin_prohibited": ADMIN_PROHIBITED6,
                "not_neighbour": BEYOND_SCOPE,
                "address_unreachable": ADDRESS_UNREACHABLE,
                "port_unreachable": PORT_UNREACHABLE6,
            },
        ),
        "packet_too_big": (ICMP6_PACKET_TOO_BIG, {}),
        "time_exceeded": (
            ICMP6_TIME_EXCEEDED,
            {"exceeded_hop_limit": 0, "exceeded_frag_time": 1},
        ),
        "parameter_problem": (
            ICMP6_PARAMETER_PROBLEM,
            {"header_field": 0, "unknown_next_header": 1, "unknown_option": 2},
        ),
        "echo_request": (128, {}),
        "echo_reply": (129, {}),
    },
}


def icmp_type_code(version: int, type_name: str, code_name: str | None = None) -> tuple[int, int]:
    """(type, code) for packetdrill's names of them, in ``version``'s family
    (e.g. 4, "unreachable", "frag_needed" -> (3, 4); 6, "packet_too_big" ->
    (2, 0)); "type_N" and "code_N" give numbers directly, and no code is 0.
    An unknown name raises ValueError."""
    table = _NAMES.get(version)
    if table is None:
        raise ValueError(f"IP version {version} is neither 4 nor 6")
    codes: dict[str, int] = {}
    if type_name.startswith("type_") and type_name[5:].isdigit():
        icmp_type = int(type_name[5:])
    elif type_name in table:
        icmp_type, codes = table[type_name]
    else:
        raise ValueError(f"unknown ICMPv{4 if version == 4 else 6} type {type_name!r}")
    if code_name is None:
        code = 0
    elif code_name.startswith("code_") and code_name[5:].isdigit():
        code = int(code_name[5:])
    elif code_name in codes:
        code = codes[code_name]
    else:
        raise ValueError(f"unknown code {code_name!r} for ICMP type {type_name!r}")
    if not (0 <= icmp_type <= 255 and 0 <= code <= 255):
        raise ValueError(f"ICMP type {icmp_type} or code {code} is not a byte")
    return icmp_type, code
