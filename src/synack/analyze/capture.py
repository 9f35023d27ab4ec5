"""Reading a capture file as a stream of TCP segments.

:func:`read_segments` reads pcap (either byte order, microsecond or
nanosecond timestamps) and pcapng (every section, every interface with its
own link type and timestamp resolution), either of them gzip-compressed
(known by its magic, not its name), from a path, ``"-"`` (standard input)
or an open binary file. It reads in chunks and yields one
:class:`~synack.analyze.model.CapturedSegment` per TCP segment as it goes:
memory does not grow with the number of packets, and a live capture on a
pipe (``tcpdump -w - | synack analyze -``) is read as it arrives.

Under the IP layer: Ethernet with any stack of 802.1Q/802.1ad tags, MPLS,
PPPoE, Linux cooked captures (v1 and v2), BSD loopback, PPP, Cisco HDLC
and raw IP. Tunnels
are opened the way Zeek opens them: GRE (with ERSPAN and PPTP's PPP),
VXLAN, Geneve, Teredo and IP in IP; the segment is the innermost one.
IPv6 extension headers are walked; fragments of both versions are
reassembled within a memory cap and a timeout in capture time.

Checksums are checked as Zeek checks them: the IPv4 header's, and TCP's
over its pseudo-header (for IPv6, with the final destination of a routing
header). A segment that fails is still yielded, with ``checksum_ok=False``,
and counted per source in :class:`CaptureStats`. A segment the capture cut
short (its snap length) is yielded with ``truncated=True``: its lengths
come from the IP header, and its checksum cannot be checked.

A file that breaks off or holds nonsense raises
:class:`~synack.analyze.model.CaptureError` naming the record and the byte
offset (in the uncompressed stream), after every segment before it has
been yielded.
"""

from __future__ import annotations

import os
import struct
import sys
import zlib
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, TypeAlias, TypeVar

from synack.analyze.model import CapturedSegment, CaptureError
from synack.wire.errors import MalformedPacket
from synack.wire.ip import IPAddress, address_from_packed
from synack.wire.segment import NOP, Option, Timestamps, decode_options

CaptureSource: TypeAlias = "str | os.PathLike[str] | BinaryIO"
_K = TypeVar("_K")

CHUNK = 1 << 20  # bytes read at a time
FRAGMENT_MEMORY = 4 << 20  # bytes of fragments held, at most, waiting for the rest
FRAGMENT_TIMEOUT = 30.0  # capture seconds a datagram's fragments wait (Linux's ipfrag_time)
MAX_FRAGMENTS = 1024  # fragments of one datagram, at most
MAX_TUNNEL_DEPTH = 8
MAX_PCAPNG_BLOCK = 64 << 20

# Link types (https://www.tcpdump.org/linktypes.html).
LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_LINUX_SLL2 = 276
LINKTYPES_RAW = (101, 12, 14)  # LINKTYPE_RAW, and DLT_RAW's values on some systems
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_PPP = 9
LINKTYPE_PPP_HDLC = 50
LINKTYPE_C_HDLC = 104  # Cisco HDLC: address, control, then an Ethernet type

_VLAN_TPIDS = frozenset((0x8100, 0x88A8, 0x9100))
_MPLS = frozenset((0x8847, 0x8848))
_PPPOE_SESSION = 0x8864
_TRANSPARENT_ETHERNET = 0x6558
_ETHERTYPE_NAMES = {
    0x0806: "arp", 0x8035: "rarp", 0x88CC: "lldp", 0x8863: "pppoe discovery",
    0x888E: "eapol", 0x88F7: "ptp", 0x8906: "fcoe", 0x8809: "slow protocols (lacp)",
    0x88E5: "macsec", 0x22F0: "avtp", 0x9000: "loopback (ectp)",
}  # fmt: skip
_PROTO_NAMES = {
    1: "icmp", 2: "igmp", 17: "udp", 50: "esp", 58: "icmpv6", 59: "ipv6 no next header",
    89: "ospf", 103: "pim", 112: "vrrp", 132: "sctp", 136: "udplite",
}  # fmt: skip
_IPV6_EXTENSIONS = frozenset((0, 43, 44, 51, 60))
_VXLAN_PORT = 4789
_GENEVE_PORT = 6081
_TEREDO_PORT = 3544

_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")
_V4 = struct.Struct("!BxHHHxBxx")  # version+IHL, total length, id, flags+offset, protocol
_V6 = struct.Struct("!HB")  # payload length, next header
_TCP = struct.Struct("!HHIIHHxxH")  # ports, seq, ack, offset+flags, window, urgent
_PORTS = struct.Struct("!HH")
_TS = struct.Struct("!II")
_TS_PREFIX = b"\x01\x01\x08\x0a"
_GRE = struct.Struct("!HH")
_PCAP_HEADER = {order: struct.Struct(order + "IHHiIII") for order in "<>"}
_PCAP_RECORD = {order: struct.Struct(order + "IIII") for order in "<>"}

PCAP_MICRO = 0xA1B2C3D4
PCAP_NANO = 0xA1B23C4D
PCAP_MODIFIED = 0xA1B2CD34  # Alexey Kuznetsov's patched libpcap: 8 more bytes per record
PCAPNG_SHB = 0x0A0D0D0A
_PCAPNG_IDB = 1
_PCAPNG_OPB = 2
_PCAPNG_SPB = 3
_PCAPNG_EPB = 6
_PCAPNG_BYTE_ORDER = 0x1A2B3C4D

_Segment: TypeAlias = "CapturedSegment | None"
_LinkDecoder: TypeAlias = "Callable[[bytes, int, int], CapturedSegment | None]"


def _add_counts(mine: dict[_K, int], theirs: dict[_K, int]) -> None:
    for key, n in theirs.items():
        mine[key] = mine.get(key, 0) + n


@dataclass(slots=True)
class CaptureStats:
    """What reading a capture met, for a summary to print. Filled in as the
    segments are yielded; complete once the iterator is exhausted."""

    file_format: str = ""  # "pcap", "pcap (nanosecond)", "pcapng"
    byte_order: str = ""  # "little-endian" or "big-endian" (pcapng: the first section's)
    compressed: bool = False  # gzip
    records: int = 0  # packet records read
    segments: int = 0  # TCP segments yielded
    link_types: dict[int, int] = field(default_factory=dict)  # records per link type
    unsupported_link_types: dict[int, int] = field(default_factory=dict)  # records skipped
    packets_not_tcp: dict[str, int] = field(default_factory=dict)  # by what: arp, udp, icmp...
    malformed: dict[str, int] = field(default_factory=dict)  # skipped records, by what was wrong
    tunnels: dict[str, int] = field(default_factory=dict)  # packets opened, by tunnel
    truncated: int = 0  # segments yielded that the snap length cut short
    # segments whose checksums were checked, and those that failed, by packed source address
    checked_by_source: dict[bytes, int] = field(default_factory=dict)
    bad_by_source: dict[bytes, int] = field(default_factory=dict)
    bad_ip_checksums: int = 0  # IPv4 headers that failed (included in bad_checksums)
    bad_tcp_options: int = 0  # segments yielded with options that overran: options=()
    fragments: int = 0  # IP fragments seen
    fragments_reassembled: int = 0  # fragments that went into a whole datagram
    datagrams_reassembled: int = 0
    fragments_overlapping: int = 0  # reassembled datagrams whose fragments overlapped
    fragments_dropped: dict[str, int] = field(default_factory=dict)  # by why
    first_tcp_t: float | None = None  # the capture time of the first record that reached TCP

    def add_shard(self, other: CaptureStats) -> None:
        """Add what another shard's reader counted at TCP (``read_segments``'
        ``shard``); what it counted above TCP was counted here already."""
        self.segments += other.segments
        self.bad_ip_checksums += other.bad_ip_checksums  # those of headers carrying TCP
        self.truncated += other.truncated
        self.bad_tcp_options += other.bad_tcp_options
        _add_counts(self.malformed, other.malformed)
        _add_counts(self.checked_by_source, other.checked_by_source)
        _add_counts(self.bad_by_source, other.bad_by_source)

    @property
    def checksums_checked(self) -> dict[IPAddress, int]:
        """Segments whose checksums were checked, by source."""
        return {address_from_packed(k): n for k, n in self.checked_by_source.items()}

    @property
    def bad_checksums(self) -> dict[IPAddress, int]:
        """Segments whose IPv4 header or TCP checksum failed, by source."""
        return {address_from_packed(k): n for k, n in self.bad_by_source.items()}

    @property
    def tcp_headers_cut(self) -> int:
        """Records whose TCP header the snap length cut short (skipped)."""
        return self.malformed.get("tcp header cut short", 0)

    def checksum_suspects(
        self, share: float = 0.5, minimum: int = 10
    ) -> list[tuple[IPAddress, int, int]]:
        """The sources more than ``share`` of whose (at least ``minimum``)
        checked segments failed, as (source, bad, checked), most failures first:
        a capture taken on a host whose NIC fills in the checksums it sends."""
        checked = self.checked_by_source
        suspects = [
            (address_from_packed(source), bad, checked[source])
            for source, bad in self.bad_by_source.items()
            if checked[source] >= minimum and bad > share * checked[source]
        ]
        return sorted(suspects, key=lambda s: (-s[1], str(s[0])))


def _count(counter: dict[str, int], what: str) -> None:
    counter[what] = counter.get(what, 0) + 1


class _FragmentSet:
    __slots__ = ("first", "pieces", "end", "held", "count", "proto", "broken")

    def __init__(self, first: float) -> None:
        self.first = first  # capture time of the first fragment
        self.pieces: list[tuple[int, bytes]] = []  # (offset, data), in arrival order
        self.end: int | None = None  # the datagram's length, once its last fragment came
        self.held = 0
        self.count = 0
        self.proto = -1  # IPv6: the next header of the first fragment's fragment header
        self.broken = ""  # why its fragments are being dropped, if they are


_FragmentKey: TypeAlias = "tuple[int, bytes, bytes, int, int]"


class _Reassembler:
    """IP fragment reassembly (RFC 791, RFC 8200 4.5) within a memory cap
    and a timeout in capture time. Where fragments overlap, the first copy
    of a byte to arrive is kept."""

    def __init__(self, stats: CaptureStats, max_bytes: int, timeout: float) -> None:
        self.stats = stats
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.sets: dict[_FragmentKey, _FragmentSet] = {}  # oldest first
        self.held = 0

    def _drop(self, key: _FragmentKey, reason: str, also: int = 0) -> None:
        fs = self.sets.pop(key)
        self.held -= fs.held
        dropped = fs.count + also
        if dropped:
            counter = self.stats.fragments_dropped
            counter[reason] = counter.get(reason, 0) + dropped

    def _expire(self, now: float) -> None:
        sets = self.sets
        while sets:
            key = next(iter(sets))
            if now - sets[key].first <= self.timeout:
                break
            fs = sets[key]
            self._drop(key, fs.broken or "timeout")

    def broken(self, key: _FragmentKey, now: float, reason: str) -> None:
        """A fragment that cannot be used (cut short by the snap length): its
        datagram's fragments are dropped, those held and those to come."""
        self._expire(now)
        fs = self.sets.get(key)
        if fs is None:
            fs = self.sets[key] = _FragmentSet(now)
        fs.pieces.clear()
        self.held -= fs.held
        fs.held = 0
        fs.count += 1
        fs.broken = reason

    def add(
        self, key: _FragmentKey, now: float, offset: int, more: bool, data: bytes, proto: int
    ) -> tuple[int, bytes] | None:
        """Hold a fragment; the datagram's protocol and bytes once it is whole."""
        self._expire(now)
        sets = self.sets
        fs = sets.get(key)
        if fs is None:
            fs = sets[key] = _FragmentSet(now)
        if fs.broken:
            fs.count += 1
            return None
        n = len(data)
        if offset + n > 65535:
            self._drop(key, "beyond 65535 bytes", 1)
            return None
        if not more:
            if fs.end is not None and fs.end != offset + n:
                self._drop(key, "two different ends", 1)
                return None
            fs.end = offset + n
        if offset == 0:
            fs.proto = proto
        while self.held + n > self.max_bytes and sets:
            oldest = next(iter(sets))
            self._drop(oldest, "memory cap", 1 if oldest == key else 0)
            if oldest == key:
                return None
        fs.pieces.append((offset, data))
        fs.held += n
        self.held += n
        fs.count += 1
        if fs.count > MAX_FRAGMENTS:
            self._drop(key, "too many fragments")
            return None
        end = fs.end
        if end is None:
            return None
        covered = 0
        total = 0
        for start, piece in sorted(fs.pieces, key=lambda p: p[0]):
            if start > covered:
                return None
            covered = max(covered, start + len(piece))
            total += len(piece)
        if covered < end:
            return None
        whole = bytearray(end)
        for start, piece in reversed(fs.pieces):  # the first arrival written last: it wins
            if start < end:
                whole[start : start + len(piece)] = piece[: end - start]
        del sets[key]
        self.held -= fs.held
        stats = self.stats
        stats.fragments_reassembled += fs.count
        stats.datagrams_reassembled += 1
        if total > end:
            stats.fragments_overlapping += 1
        return fs.proto, bytes(whole)

    def finish(self) -> None:
        for key in list(self.sets):
            fs = self.sets[key]
            self._drop(key, fs.broken or "incomplete at the end of the capture")


class _Decoder:
    """The layers of one packet, from the link type down to TCP.

    The methods take the buffer a record lies in, where the layer starts and
    where the captured bytes end, and return the segment or None (counted in
    the stats under why). ``t`` and ``record`` are the current record's.
    """

    def __init__(
        self,
        stats: CaptureStats,
        check: bool,
        keep_payload: bool,
        frags: _Reassembler,
        shard: tuple[int, int] | None = None,
        tcp_stats: CaptureStats | None = None,
    ) -> None:
        self.stats = stats  # what the layers above TCP count
        self.tcp_stats = tcp_stats if tcp_stats is not None else stats  # what TCP counts
        self.shard_index, self.shards = shard if shard is not None else (0, 1)
        self.check = check
        self.keep_payload = keep_payload
        self.frags = frags
        self.t = 0.0
        self.record = 0
        self._options: dict[bytes, tuple[Option, ...]] = {}
        self._addresses: dict[bytes, IPAddress] = {}

    def _address(self, packed: bytes) -> IPAddress:
        if len(self._addresses) >= 1 << 16:
            self._addresses.clear()
        address = self._addresses[packed] = address_from_packed(packed)
        return address

    def link_decoder(self, linktype: int) -> _LinkDecoder | None:
        if linktype == LINKTYPE_ETHERNET:
            return self.ethernet
        if linktype in LINKTYPES_RAW or linktype in (LINKTYPE_IPV4, LINKTYPE_IPV6):
            return self.ip
        if linktype == LINKTYPE_LINUX_SLL:
            return self.sll
        if linktype == LINKTYPE_LINUX_SLL2:
            return self.sll2
        if linktype == LINKTYPE_NULL:
            return self.null
        if linktype == LINKTYPE_LOOP:
            return self.loop
        if linktype in (LINKTYPE_PPP, LINKTYPE_PPP_HDLC):
            return self.ppp
        if linktype == LINKTYPE_C_HDLC:
            return self.c_hdlc
        return None

    def _not_tcp(self, what: str) -> None:
        _count(self.stats.packets_not_tcp, what)

    def _malformed(self, what: str) -> None:
        _count(self.stats.malformed, what)

    # -- link layers ------------------------------------------------------

    def ethernet(self, buf: bytes, off: int, end: int, depth: int = 0) -> _Segment:
        if end - off < 14:
            self._malformed("ethernet header cut short")
            return None
        ethertype = _U16.unpack_from(buf, off + 12)[0]
        if ethertype == 0x0800:
            return self.ip(buf, off + 14, end, depth)
        return self.ethertype(ethertype, buf, off + 14, end, depth)

    def sll(self, buf: bytes, off: int, end: int) -> _Segment:
        if end - off < 16:
            self._malformed("linux cooked header cut short")
            return None
        return self.ethertype(_U16.unpack_from(buf, off + 14)[0], buf, off + 16, end, 0)

    def sll2(self, buf: bytes, off: int, end: int) -> _Segment:
        if end - off < 20:
            self._malformed("linux cooked header cut short")
            return None
        return self.ethertype(_U16.unpack_from(buf, off)[0], buf, off + 20, end, 0)

    def null(self, buf: bytes, off: int, end: int) -> _Segment:
        if end - off < 4:
            self._malformed("loopback header cut short")
            return None
        family = int.from_bytes(buf[off : off + 4], "little")
        if family > 0xFFFF:  # written by a big-endian host
            family = int.from_bytes(buf[off : off + 4], "big")
        return self._family(family, buf, off + 4, end)

    def loop(self, buf: bytes, off: int, end: int) -> _Segment:
        if end - off < 4:
            self._malformed("loopback header cut short")
            return None
        return self._family(_U32.unpack_from(buf, off)[0], buf, off + 4, end)

    def ppp(self, buf: bytes, off: int, end: int, depth: int = 0) -> _Segment:
        """A PPP frame: address and control (0xff 0x03) if not compressed away, then a
        protocol field of two bytes, or of one if compressed (its low bit set)."""
        if end - off >= 2 and buf[off] == 0xFF and buf[off + 1] == 0x03:
            off += 2
        if off >= end:
            self._malformed("ppp header cut short")
            return None
        if buf[off] & 1:
            return self._ppp(buf[off], buf, off + 1, end, depth)
        if end - off < 2:
            self._malformed("ppp header cut short")
            return None
        return self._ppp(_U16.unpack_from(buf, off)[0], buf, off + 2, end, depth)

    def c_hdlc(self, buf: bytes, off: int, end: int) -> _Segment:
        if end - off < 4:
            self._malformed("cisco hdlc header cut short")
            return None
        return self.ethertype(_U16.unpack_from(buf, off + 2)[0], buf, off + 4, end, 0)

    def _family(self, family: int, buf: bytes, off: int, end: int) -> _Segment:
        if family in (2, 24, 28, 30):  # AF_INET; AF_INET6 on NetBSD/OpenBSD, FreeBSD, macOS
            return self.ip(buf, off, end)
        self._not_tcp(f"loopback family {family}")
        return None

    def ethertype(self, ethertype: int, buf: bytes, off: int, end: int, depth: int) -> _Segment:
        """The protocol an Ethernet type names, through VLAN tags, MPLS and PPPoE."""
        while ethertype in _VLAN_TPIDS:
            if end - off < 4:
                self._malformed("vlan tag cut short")
                return None
            ethertype = _U16.unpack_from(buf, off + 2)[0]
            off += 4
        if ethertype == 0x0800 or ethertype == 0x86DD:
            return self.ip(buf, off, end, depth)
        if ethertype in _MPLS:
            while True:
                if end - off < 4:
                    self._malformed("mpls label cut short")
                    return None
                bottom = buf[off + 2] & 1
                off += 4
                if bottom:
                    break
            if off < end and buf[off] >> 4 in (4, 6):
                return self.ip(buf, off, end, depth)
            self._not_tcp("mpls payload other than ip")
            return None
        if ethertype == _PPPOE_SESSION:
            if end - off < 8:
                self._malformed("pppoe header cut short")
                return None
            return self._ppp(_U16.unpack_from(buf, off + 6)[0], buf, off + 8, end, depth)
        if ethertype == _TRANSPARENT_ETHERNET:
            return self.ethernet(buf, off, end, depth + 1)
        if ethertype < 0x0600:
            self._not_tcp("802.3 llc")
        else:
            self._not_tcp(_ETHERTYPE_NAMES.get(ethertype) or f"ethertype 0x{ethertype:04x}")
        return None

    def _ppp(self, protocol: int, buf: bytes, off: int, end: int, depth: int) -> _Segment:
        if protocol == 0x0021 or protocol == 0x0057:
            return self.ip(buf, off, end, depth)
        self._not_tcp(f"ppp protocol 0x{protocol:04x}")
        return None

    # -- IP ---------------------------------------------------------------

    def ip(self, buf: bytes, off: int, end: int, depth: int = 0) -> _Segment:
        if off >= end:
            self._malformed("ip header cut short")
            return None
        version = buf[off] >> 4
        if version == 6:
            return self.ip6(buf, off, end, depth)
        if version != 4:
            self._malformed(f"ip version {version}")
            return None
        if end - off < 20:
            self._malformed("ip header cut short")
            return None
        vihl, total, ident, frag, proto = _V4.unpack_from(buf, off)
        ihl = (vihl & 0x0F) << 2
        if ihl < 20:
            self._malformed("ipv4 header length below 20")
            return None
        if end - off < ihl:
            self._malformed("ip header cut short")
            return None
        if total == 0:  # segmentation offload, captured on the sender: the record's length
            total = end - off
        if total < ihl:
            self._malformed("ipv4 total length below its header length")
            return None
        ip_end = off + total
        direct = proto == 6 and not frag & 0x3FFF  # the usual case, straight to TCP
        # Another shard's segment goes no further than its ports (nor is its header
        # checked: a header that carries TCP is counted by the shard it belongs to).
        if (
            direct
            and self.shards > 1
            and self._other_shard(
                buf, off + ihl, end if end < ip_end else ip_end, buf[off + 15], buf[off + 19]
            )
        ):
            return None
        ip_ok = True
        if self.check and int.from_bytes(buf[off : off + ihl], "little") % 0xFFFF:
            ip_ok = False
            (self.tcp_stats if direct else self.stats).bad_ip_checksums += 1
        src = buf[off + 12 : off + 16]
        dst = buf[off + 16 : off + 20]
        if direct:
            return self.tcp(
                buf, off + ihl, ip_end, end if end < ip_end else ip_end, src, dst, dst, total,
                ip_ok,
            )  # fmt: skip
        if frag & 0x3FFF:
            return self._fragment4(buf, off, ihl, ip_end, end, ident, frag, proto, src, dst, ip_ok,
                                   depth)  # fmt: skip
        return self.transport(
            proto, buf, off + ihl, ip_end, end if end < ip_end else ip_end, src, dst, dst,
            total, ip_ok, depth,
        )  # fmt: skip

    def _fragment4(
        self, buf: bytes, off: int, ihl: int, ip_end: int, end: int, ident: int, frag: int,
        proto: int, src: bytes, dst: bytes, ip_ok: bool, depth: int,
    ) -> _Segment:  # fmt: skip
        self.stats.fragments += 1
        key = (4, src, dst, proto, ident)
        if not ip_ok:
            _count(self.stats.fragments_dropped, "bad ip checksum")
            return None
        if ip_end > end:
            self.frags.broken(key, self.t, "cut short by the snap length")
            return None
        done = self.frags.add(
            key, self.t, (frag & 0x1FFF) << 3, bool(frag & 0x2000), buf[off + ihl : ip_end], proto
        )
        if done is None:
            return None
        whole = done[1]
        n = len(whole)
        return self.transport(proto, whole, 0, n, n, src, dst, dst, ihl + n, True, depth)

    def ip6(self, buf: bytes, off: int, end: int, depth: int) -> _Segment:
        if end - off < 40:
            self._malformed("ip header cut short")
            return None
        plen, nh = _V6.unpack_from(buf, off + 4)
        if plen == 0 and nh != 59:  # segmentation offload, or a jumbogram: the record's length
            plen = end - off - 40
        src = buf[off + 8 : off + 24]
        dst = buf[off + 24 : off + 40]
        ip_end = off + 40 + plen
        cap_end = end if end < ip_end else ip_end
        return self._ip6_headers(nh, buf, off + 40, ip_end, cap_end, src, dst, 40 + plen, depth)

    def _ip6_headers(
        self, nh: int, buf: bytes, p: int, ip_end: int, cap_end: int, src: bytes, dst: bytes,
        ip_len: int, depth: int,
    ) -> _Segment:  # fmt: skip
        """Walk the extension headers from ``p`` to the upper layer."""
        pseudo_dst = dst
        while nh in _IPV6_EXTENSIONS:
            if cap_end - p < 8:
                self._malformed("ipv6 extension header cut short")
                return None
            if nh == 44:
                inner = buf[p]
                offset_more = _U16.unpack_from(buf, p + 2)[0]
                if offset_more & 0xFFF9:  # an offset, or more fragments: a real fragment
                    return self._fragment6(
                        buf, p, ip_end, cap_end, inner, offset_more, src, dst, pseudo_dst,
                        ip_len, depth,
                    )  # fmt: skip
                nh = inner  # an atomic fragment (RFC 6946): the whole packet
                p += 8
                continue
            length = (buf[p + 1] + 2) << 2 if nh == 51 else (buf[p + 1] + 1) << 3
            if cap_end - p < length:
                self._malformed("ipv6 extension header cut short")
                return None
            if nh == 43 and buf[p + 3]:  # a routing header with segments left
                kind = buf[p + 2]
                if kind in (0, 2) and length >= 24:  # the final destination is the last address
                    pseudo_dst = buf[p + length - 16 : p + length]
                elif kind == 4 and length >= 24:  # segment routing: the first in the list
                    pseudo_dst = buf[p + 8 : p + 24]
            nh = buf[p]
            p += length
        return self.transport(nh, buf, p, ip_end, cap_end, src, dst, pseudo_dst, ip_len, True,
                              depth)  # fmt: skip

    def _fragment6(
        self, buf: bytes, p: int, ip_end: int, cap_end: int, inner: int, offset_more: int,
        src: bytes, dst: bytes, pseudo_dst: bytes, ip_len: int, depth: int,
    ) -> _Segment:  # fmt: skip
        self.stats.fragments += 1
        ident = _U32.unpack_from(buf, p + 4)[0]
        key = (6, src, dst, 0, ident)
        if cap_end < ip_end:
            self.frags.broken(key, self.t, "cut short by the snap length")
            return None
        done = self.frags.add(
            key, self.t, offset_more & 0xFFF8, bool(offset_more & 1), buf[p + 8 : ip_end], inner
        )
        if done is None:
            return None
        nh, whole = done
        n = len(whole)
        before = ip_len - (ip_end - p)  # the header and the extension headers before this one
        return self._ip6_headers(nh, whole, 0, n, n, src, dst, before + n, depth)

    def transport(
        self, proto: int, buf: bytes, off: int, ip_end: int, cap_end: int, src: bytes,
        dst: bytes, pseudo_dst: bytes, ip_len: int, ip_ok: bool, depth: int,
    ) -> _Segment:  # fmt: skip
        if proto == 6:
            return self.tcp(buf, off, ip_end, cap_end, src, dst, pseudo_dst, ip_len, ip_ok)
        if proto == 17:
            segment = self._udp(buf, off, cap_end, depth)
        elif depth >= MAX_TUNNEL_DEPTH and proto in (4, 41, 47):
            self._malformed("tunnels nested too deep")
            return None
        elif proto == 4 or proto == 41:
            _count(self.stats.tunnels, "ip in ip")
            segment = self.ip(buf, off, cap_end, depth + 1)
        elif proto == 47:
            segment = self._gre(buf, off, cap_end, depth)
        else:
            self._not_tcp(_PROTO_NAMES.get(proto) or f"ip protocol {proto}")
            return None
        if segment is not None and not ip_ok and segment.checksum_ok is not False:
            # A tunnel whose outer IPv4 header failed: what it carried is not believed either.
            if segment.checksum_ok:
                bad = self.tcp_stats.bad_by_source  # by the segment's shard, as in tcp()
                bad[segment.src.packed] = bad.get(segment.src.packed, 0) + 1
            segment.checksum_ok = False
        return segment

    # -- tunnels ----------------------------------------------------------

    def _udp(self, buf: bytes, off: int, end: int, depth: int) -> _Segment:
        if end - off >= 8 and depth < MAX_TUNNEL_DEPTH:
            sport, dport = _PORTS.unpack_from(buf, off)
            p = off + 8
            if (dport == _VXLAN_PORT or sport == _VXLAN_PORT) and end - p >= 8 and buf[p] & 0x08:
                _count(self.stats.tunnels, "vxlan")
                return self.ethernet(buf, p + 8, end, depth + 1)
            if (dport == _GENEVE_PORT or sport == _GENEVE_PORT) and end - p >= 8:
                if buf[p] >> 6 == 0:
                    _count(self.stats.tunnels, "geneve")
                    protocol = _U16.unpack_from(buf, p + 2)[0]
                    inner = p + 8 + ((buf[p] & 0x3F) << 2)
                    return self.ethertype(protocol, buf, inner, end, depth + 1)
            if dport == _TEREDO_PORT or sport == _TEREDO_PORT:
                inner = self._teredo(buf, p, end)
                if inner >= 0:
                    _count(self.stats.tunnels, "teredo")
                    return self.ip6(buf, inner, end, depth + 1)
        self._not_tcp("udp")
        return None

    @staticmethod
    def _teredo(buf: bytes, p: int, end: int) -> int:
        """Where the IPv6 packet starts after Teredo's indicators (RFC 4380 5.1.1), or -1."""
        if end - p >= 4 and buf[p] == 0 and buf[p + 1] == 1:  # authentication
            p += 13 + buf[p + 2] + buf[p + 3]  # id and value lengths, nonce, confirmation
        if end - p >= 8 and buf[p] == 0 and buf[p + 1] == 0:  # origin indication
            p += 8
        if end - p < 40 or buf[p] >> 4 != 6:
            return -1
        return p

    def _gre(self, buf: bytes, off: int, end: int, depth: int) -> _Segment:
        if end - off < 4:
            self._malformed("gre header cut short")
            return None
        flags, protocol = _GRE.unpack_from(buf, off)
        version = flags & 7
        if version > 1:
            self._malformed(f"gre version {version}")
            return None
        if flags & 0x4000:
            self._not_tcp("gre with source routing")
            return None
        p = off + 4
        if flags & 0x8000:
            p += 4  # checksum and reserved
        if flags & 0x2000:
            p += 4  # key (PPTP: payload length and call id)
        if flags & 0x1000:
            p += 4  # sequence number
        if version == 1 and flags & 0x0080:
            p += 4  # PPTP's acknowledgment number
        if protocol == 0x88BE and flags & 0x1000:  # ERSPAN type II
            p += 8
            protocol = _TRANSPARENT_ETHERNET
        elif protocol == 0x22EB:  # ERSPAN type III, with its optional platform subheader
            p += 20 if end - p >= 12 and buf[p + 11] & 1 else 12
            protocol = _TRANSPARENT_ETHERNET
        if p > end:
            self._malformed("gre header cut short")
            return None
        _count(self.stats.tunnels, "gre")
        if protocol == 0x880B:  # PPP (PPTP)
            return self.ppp(buf, p, end, depth + 1)
        return self.ethertype(protocol, buf, p, end, depth + 1)

    # -- TCP --------------------------------------------------------------

    def _other_shard(
        self, buf: bytes, off: int, cap_end: int, src_last: int, dst_last: int
    ) -> bool:
        """Whether the TCP segment at ``off`` is another shard's: its connection's
        shard is the sum of both ports' and both addresses' last bytes (the same
        both ways), 0 if its ports were not captured. Notes the first TCP record."""
        stats = self.tcp_stats
        if stats.first_tcp_t is None:
            stats.first_tcp_t = self.t
        if cap_end - off < 4:
            return self.shard_index != 0
        ports = buf[off] + buf[off + 1] + buf[off + 2] + buf[off + 3]
        return (ports + src_last + dst_last) % self.shards != self.shard_index

    def tcp(
        self, buf: bytes, off: int, ip_end: int, cap_end: int, src: bytes, dst: bytes,
        pseudo_dst: bytes, ip_len: int, ip_ok: bool,
    ) -> _Segment:  # fmt: skip
        stats = self.tcp_stats
        if stats.first_tcp_t is None:
            stats.first_tcp_t = self.t
        if self.shards > 1 and self._other_shard(buf, off, cap_end, src[-1], dst[-1]):
            return None  # another reader's connection: it counts this one
        if cap_end - off < 20:
            if ip_end - off < 20:
                _count(stats.malformed, "tcp segment shorter than its header")
            else:
                _count(stats.malformed, "tcp header cut short")
            return None
        sport, dport, seq, ack, offset_flags, window, urgent = _TCP.unpack_from(buf, off)
        data = off + ((offset_flags >> 10) & 0x3C)
        if data - off < 20 or data > ip_end:
            _count(stats.malformed, "tcp data offset out of range")
            return None
        if data > cap_end:
            _count(stats.malformed, "tcp header cut short")
            return None
        options: tuple[Option, ...] = ()
        if data - off > 20:
            raw = buf[off + 20 : data]
            cached = self._options.get(raw)
            if cached is not None:
                options = cached
            elif data - off == 32 and raw[:4] == _TS_PREFIX:  # NOP, NOP, timestamps: the usual
                options = (NOP, NOP, Timestamps(*_TS.unpack_from(raw, 4)))
            else:
                try:
                    options = decode_options(raw)
                except MalformedPacket:
                    stats.bad_tcp_options += 1
                else:
                    if len(self._options) < 4096:  # SYNs' options repeat; SACK blocks do not
                        self._options[raw] = options
        truncated = cap_end < ip_end
        ok: bool | None
        if truncated:
            stats.truncated += 1
            ok = None if ip_ok else False
        elif self.check:
            # The one's complement sum of the pseudo-header and the segment must be -0,
            # which is 0 modulo 0xFFFF (see synack.wire.checksum), and is never +0 (6 is
            # in it). Read little-endian, every 16-bit word is byte-swapped, which is a
            # multiplication by 256 modulo 0xFFFF, so the sum is 0 just the same: and the
            # odd last byte of an odd length lands where a zero-padded word would put it.
            ok = (
                ip_ok
                and not (
                    int.from_bytes(buf[off:ip_end], "little") % 0xFFFF
                    + int.from_bytes(src, "little")
                    + int.from_bytes(pseudo_dst, "little")
                    + ((6 + ip_end - off) << 8)
                )
                % 0xFFFF
            )
            checked = stats.checked_by_source
            checked[src] = checked.get(src, 0) + 1
            if not ok:
                bad = stats.bad_by_source
                bad[src] = bad.get(src, 0) + 1
        else:
            ok = None
        stats.segments += 1
        addresses = self._addresses
        source = addresses.get(src)
        if source is None:
            source = self._address(src)
        destination = addresses.get(dst)
        if destination is None:
            destination = self._address(dst)
        return CapturedSegment(
            self.t, self.record, source, destination, sport, dport,
            offset_flags & 0xFF, seq, ack, window, urgent, options, ip_end - data, ip_len, ok,
            truncated, buf[data:cap_end] if self.keep_payload else b"",
        )  # fmt: skip


# -- the containers ----------------------------------------------------------


def _chunks(f: BinaryIO) -> Iterator[bytes]:
    """The file's bytes, a chunk at a time; from a pipe, as they arrive."""
    read = getattr(f, "read1", None) or f.read
    while True:
        data = read(CHUNK)
        if not data:
            return
        yield bytes(data)


class _Gunzip:
    """One or more concatenated gzip members, inflated a chunk at a time
    (never more than CHUNK bytes of output per step, however well it compressed)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks
        self.incomplete = False
        self.consumed = 0  # compressed bytes fed

    def __iter__(self) -> Iterator[bytes]:
        inflate = zlib.decompressobj(31)
        started = False
        for chunk in self.chunks:
            data = chunk
            while data:
                if not started and len(data) >= 2 and data[:2] != b"\x1f\x8b":
                    raise CaptureError(
                        f"gzip: {len(data)} bytes that are not a gzip member follow the "
                        f"compressed capture, at compressed byte {self.consumed}"
                    )
                started = True
                try:
                    out = inflate.decompress(data, CHUNK)
                except zlib.error as e:
                    raise CaptureError(
                        f"gzip: the compressed data is corrupt, near compressed byte "
                        f"{self.consumed}: {e}"
                    ) from None
                self.consumed += len(data) - len(inflate.unconsumed_tail)
                if out:
                    yield out
                if inflate.eof:
                    data = inflate.unused_data
                    self.consumed -= len(data)
                    inflate = zlib.decompressobj(31)
                    started = False
                else:
                    data = inflate.unconsumed_tail
        if started:
            self.incomplete = True


def _describe_start(head: bytes) -> str:
    if not head:
        return "it is empty"
    shown = head[:8]
    text = f"starts with {shown.hex(' ')}"
    if all(32 <= b < 127 for b in shown):
        text += f' "{shown.decode()}"'
    return text


def _open(source: CaptureSource) -> tuple[BinaryIO, bool]:
    if hasattr(source, "read"):
        return source, False  # type: ignore[return-value]
    if source == "-":
        return sys.stdin.buffer, False
    return open(source, "rb"), True  # closed by read_segments


def read_segments(
    path: CaptureSource,
    *,
    ignore_checksums: bool = False,
    stats: CaptureStats | None = None,
    keep_payload: bool = True,
    fragment_memory: int = FRAGMENT_MEMORY,
    fragment_timeout: float = FRAGMENT_TIMEOUT,
    shard: tuple[int, int] | None = None,
) -> Iterator[CapturedSegment]:
    """The TCP segments of a capture, in the order of its records.

    ``path`` is a file name, ``"-"`` for standard input, or a binary file
    (not closed here); a file that cannot be opened is a CaptureError too.
    With ``ignore_checksums`` nothing is checked and every ``checksum_ok``
    is None. Without ``keep_payload`` the segments' ``payload`` is empty
    (``payload_len`` still says how much there was).
    ``stats``, if given, is filled in as the capture is read; given to the
    reading of several files in turn, it adds them up (``record`` in each
    segment still counts from 1 in its own file, as Wireshark numbers frames).

    ``shard=(i, n)`` yields only the segments of the connections in shard
    ``i`` of ``n`` (by a hash of the 4-tuple, the same both ways), so that
    ``n`` readers of one file share its connections. Shard 0's ``stats``
    count everything; the others' count only what TCP counts (the segments,
    checksums, TCP's malformed headers), to be added with
    :meth:`CaptureStats.add_shard`.
    """
    stats = stats if stats is not None else CaptureStats()
    try:
        f, close = _open(path)
    except OSError as e:
        raise CaptureError(f"cannot open {os.fsdecode(path)}: {e.strerror}") from None  # type: ignore[arg-type]
    # a shard but the first counts what lies above TCP where nobody reads it
    above_tcp = stats if shard is None or shard[0] == 0 else CaptureStats()
    frags = _Reassembler(above_tcp, fragment_memory, fragment_timeout)
    decoder = _Decoder(above_tcp, not ignore_checksums, keep_payload, frags, shard, stats)
    try:
        head, chunks, gunzip = _start(f)
        if gunzip is not None:
            stats.compressed = True
        if _file_format(head) == "pcap":
            records = yield from _read_pcap(head, chunks, decoder, stats)
        else:
            records = yield from _read_pcapng(head, chunks, decoder, stats)
        if gunzip is not None and gunzip.incomplete:
            raise CaptureError(
                f"gzip: the compressed stream ends early (after record {records}): "
                "the capture was cut short"
            )
    finally:
        frags.finish()
        if close:
            f.close()


# the longest section header read up front (its options: comments, the writer's name)
SECTION_HEADER_MAX = 1 << 16

# microseconds, nanoseconds and modified pcap, each in either byte order
_PCAP_MAGICS = (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d",
                b"\x34\xcd\xb2\xa1", b"\xa1\xb2\xcd\x34")  # fmt: skip
_MAGICS = (*_PCAP_MAGICS, b"\x0a\x0d\x0d\x0a")


def check_capture(path: str) -> None:
    """A CaptureError unless ``path`` starts as a pcap or pcapng file (gzip'd or
    not) does; only its first bytes are read, so it is cheap to ask up front."""
    try:
        with open(path, "rb") as f:
            head, chunks, _ = _start(f)
            if _file_format(head) == "pcapng":
                _check_section_header(head, chunks)
    except OSError as e:
        raise CaptureError(f"cannot read it: {e.strerror}") from None


def _check_section_header(head: bytes, chunks: Iterator[bytes]) -> None:
    """pcapng's file header is its first block, the section header: a file cut
    inside it is refused as a pcap file cut inside its 24 bytes is. A length
    that makes no sense is left for the reader to report where it is."""
    if len(head) < 12:
        raise CaptureError(f"truncated pcapng section header: {len(head)} of 12 bytes or more")
    order = "<" if head[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
    (length,) = struct.unpack_from(order + "I", head, 4)
    if 28 <= length <= SECTION_HEADER_MAX:
        got = len(_take(head, chunks, length))
        if got < length:
            raise CaptureError(f"truncated pcapng section header: {got} of {length} bytes")


def _start(f: BinaryIO) -> tuple[bytes, Iterator[bytes], _Gunzip | None]:
    """The file's first 32 bytes (inflated, if it is gzip), the chunks after
    them, and the gzip reader (None if the file is not compressed)."""
    chunks = _chunks(f)
    head = _take(b"", chunks, 2)
    gunzip = None
    if head[:2] == b"\x1f\x8b":
        gunzip = _Gunzip(_chain(head, chunks))
        chunks = iter(gunzip)
        head = b""
    return _take(head, chunks, 32), chunks, gunzip


def _file_format(head: bytes) -> str:
    """The format ("pcap" or "pcapng") a file's first 32 bytes say; a CaptureError if neither."""
    magic = head[:4]
    if magic in _PCAP_MAGICS:
        if len(head) < 24:
            raise CaptureError(f"truncated pcap file header: {len(head)} of 24 bytes")
        major, minor = struct.unpack_from(_pcap_order(head) + "HH", head, 4)
        if major != 2:
            raise CaptureError(f"pcap version {major}.{minor}: only version 2 is known")
        return "pcap"
    if magic == b"\x0a\x0d\x0d\x0a":
        return "pcapng"
    if len(head) < 4 and head and any(m.startswith(head) for m in _MAGICS):
        raise CaptureError(f"truncated file header: the file is {len(head)} bytes long")
    raise CaptureError(f"not a pcap or pcapng file ({_describe_start(head)})")


def _pcap_order(head: bytes) -> str:
    """The byte order ("<" or ">") a pcap file's magic number says."""
    return (
        "<" if head[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1", b"\x34\xcd\xb2\xa1") else ">"
    )


def _take(head: bytes, chunks: Iterator[bytes], n: int) -> bytes:
    """``head`` and as many chunks as it takes to have ``n`` bytes (fewer at the end)."""
    while len(head) < n:
        more = next(chunks, None)
        if more is None:
            break
        head += more
    return head


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


def _read_pcap(
    buf: bytes, chunks: Iterator[bytes], decoder: _Decoder, stats: CaptureStats
) -> Generator[CapturedSegment, None, int]:
    """The segments of a pcap file; returns how many records it had."""
    order = _pcap_order(buf)
    magic, _, _, _, _, snaplen, network = _PCAP_HEADER[order].unpack_from(buf)
    nano = magic == PCAP_NANO
    extra = 8 if magic == PCAP_MODIFIED else 0
    stats.file_format = "pcap (nanosecond)" if nano else "pcap"
    stats.byte_order = "little-endian" if order == "<" else "big-endian"
    linktype = network & 0xFFFF  # the upper bits may say how long a frame check sequence is
    link = decoder.link_decoder(linktype)
    limit = max(snaplen, 262144)  # libpcap's own maximum: some writers put a smaller snaplen
    scale = 1e-9 if nano else 1e-6
    unpack = _PCAP_RECORD[order].unpack_from
    header = 16 + extra
    first = stats.records  # of the files read before into the same stats
    pos = 24
    base = 0  # the file offset of buf[0]
    record = 0
    try:
        while True:
            avail = len(buf) - pos
            if avail < header:
                more = next(chunks, None)
                if more is None:
                    if avail == 0:
                        return record
                    raise CaptureError(
                        f"record {record + 1} at byte {base + pos}: the file ends inside the "
                        f"record header ({avail} of {header} bytes)"
                    )
                buf = buf[pos:] + more
                base += pos
                pos = 0
                continue
            seconds, fraction, caplen, _ = unpack(buf, pos)
            if caplen > limit:
                raise CaptureError(
                    f"record {record + 1} at byte {base + pos}: record length {caplen} "
                    f"exceeds the snap length {snaplen}"
                )
            start = pos + header
            end = start + caplen
            if end > len(buf):
                more = next(chunks, None)
                if more is None:
                    raise CaptureError(
                        f"record {record + 1} at byte {base + pos}: the file ends inside the "
                        f"record ({len(buf) - start} of {caplen} bytes)"
                    )
                buf = buf[pos:] + more
                base += pos
                pos = 0
                continue
            record += 1
            pos = end
            if link is None:
                continue
            decoder.t = seconds + fraction * scale
            decoder.record = record
            segment = link(buf, start, end)
            if segment is not None:
                stats.records = first + record
                yield segment
    finally:
        stats.records = first + record
        if link is None:
            _count_int(stats.unsupported_link_types, linktype, record)
        _count_int(stats.link_types, linktype, record)


class _Interface:
    __slots__ = ("linktype", "link", "units", "offset", "snaplen")

    def __init__(self, linktype: int, link: _LinkDecoder | None, snaplen: int) -> None:
        self.linktype = linktype
        self.link = link
        self.units = 1_000_000  # timestamp units per second (if_tsresol)
        self.offset = 0  # seconds added to every timestamp (if_tsoffset)
        self.snaplen = snaplen


def _read_pcapng(
    buf: bytes, chunks: Iterator[bytes], decoder: _Decoder, stats: CaptureStats
) -> Generator[CapturedSegment, None, int]:
    """The segments of a pcapng file; returns how many packet records it had."""
    stats.file_format = "pcapng"
    first = stats.records  # of the files read before into the same stats
    pos = 0
    base = 0
    record = 0
    order = "<"
    u32 = struct.Struct("<I").unpack_from
    head = struct.Struct("<II").unpack_from  # block type and length
    epb = struct.Struct("<IIIII").unpack_from
    interfaces: list[_Interface] = []
    last_t = 0.0
    link_types = stats.link_types
    try:
        while True:
            avail = len(buf) - pos
            if avail < 12:
                more = next(chunks, None)
                if more is None:
                    if avail == 0:
                        return record
                    raise CaptureError(
                        f"{_where(-1, record, base + pos)}: the file ends inside a block header "
                        f"({avail} of 12 bytes)"
                    )
                buf = buf[pos:] + more
                base += pos
                pos = 0
                continue
            block_type, length = head(buf, pos)
            if block_type == PCAPNG_SHB:
                bom = buf[pos + 8 : pos + 12]
                if bom == b"\x4d\x3c\x2b\x1a":
                    order = "<"
                elif bom == b"\x1a\x2b\x3c\x4d":
                    order = ">"
                else:
                    raise CaptureError(
                        f"{_where(block_type, record, base + pos)}: the section header's "
                        f"byte-order magic is {bom.hex(' ')}, not 1a 2b 3c 4d either way round"
                    )
                if not stats.byte_order:
                    stats.byte_order = "little-endian" if order == "<" else "big-endian"
                u32 = struct.Struct(order + "I").unpack_from
                head = struct.Struct(order + "II").unpack_from
                epb = struct.Struct(order + "IIIII").unpack_from
                interfaces = []
                length = u32(buf, pos + 4)[0]
            if length < 12 or length % 4:
                raise CaptureError(
                    f"{_where(block_type, record, base + pos)}: block length {length} is not "
                    "a multiple of 4 of at least 12"
                )
            if length > MAX_PCAPNG_BLOCK:
                raise CaptureError(
                    f"{_where(block_type, record, base + pos)}: block length {length} "
                    f"exceeds {MAX_PCAPNG_BLOCK} bytes"
                )
            if length > avail:
                more = next(chunks, None)
                if more is None:
                    raise CaptureError(
                        f"{_where(block_type, record, base + pos)}: the file ends inside the "
                        f"block ({avail} of {length} bytes)"
                    )
                buf = buf[pos:] + more
                base += pos
                pos = 0
                continue
            trailer = u32(buf, pos + length - 4)[0]
            if trailer != length:
                raise CaptureError(
                    f"{_where(block_type, record, base + pos)}: block length {length} at its "
                    f"start but {trailer} at its end"
                )
            block = pos
            pos += length
            if block_type in (_PCAPNG_EPB, _PCAPNG_OPB):
                if length < 32:
                    raise CaptureError(
                        f"{_where(block_type, record, base + block)}: a {length}-byte packet "
                        "block is shorter than its fields"
                    )
                if block_type == _PCAPNG_EPB:
                    interface, high, low, caplen, _ = epb(buf, block + 8)
                else:
                    interface = struct.unpack_from(order + "H", buf, block + 8)[0]
                    high, low, caplen, _ = epb(buf, block + 12)[:4]
                start = block + 28
                if caplen > length - 32:
                    raise CaptureError(
                        f"{_where(block_type, record, base + block)}: captured length {caplen} "
                        f"overruns the {length}-byte block"
                    )
                if interface >= len(interfaces):
                    raise CaptureError(
                        f"{_where(block_type, record, base + block)}: interface {interface} "
                        f"was not described (the section describes {len(interfaces)})"
                    )
                record += 1
                desc = interfaces[interface]
                link_types[desc.linktype] = link_types.get(desc.linktype, 0) + 1
                link = desc.link
                last_t = ((high << 32) | low) / desc.units + desc.offset
                if link is None:
                    _count_int(stats.unsupported_link_types, desc.linktype)
                    continue
                decoder.t = last_t
                decoder.record = record
                segment = link(buf, start, start + caplen)
                if segment is not None:
                    stats.records = first + record
                    yield segment
            elif block_type == _PCAPNG_SPB:
                if not interfaces:
                    raise CaptureError(
                        f"{_where(block_type, record, base + block)}: a simple packet block "
                        "before any interface was described"
                    )
                if length < 16:
                    raise CaptureError(
                        f"{_where(block_type, record, base + block)}: a {length}-byte simple "
                        "packet block is shorter than its fields"
                    )
                record += 1
                desc = interfaces[0]
                caplen = min(u32(buf, block + 8)[0], length - 16)
                if desc.snaplen:
                    caplen = min(caplen, desc.snaplen)
                link_types[desc.linktype] = link_types.get(desc.linktype, 0) + 1
                link = desc.link
                if link is None:
                    _count_int(stats.unsupported_link_types, desc.linktype)
                    continue
                decoder.t = last_t  # a simple packet block has no time: the last one's
                decoder.record = record
                segment = link(buf, block + 12, block + 12 + caplen)
                if segment is not None:
                    stats.records = first + record
                    yield segment
            elif block_type == _PCAPNG_IDB:
                if length < 20:
                    raise CaptureError(
                        f"{_where(block_type, record, base + block)}: a {length}-byte interface "
                        "description block is shorter than its fields"
                    )
                interfaces.append(_interface(buf, block, length, order, decoder))
    finally:
        stats.records = first + record


def _count_int(counter: dict[int, int], key: int, n: int = 1) -> None:
    counter[key] = counter.get(key, 0) + n


def _where(block_type: int, record: int, offset: int) -> str:
    """How an error names the place: the packet record it is in, or the block after the last."""
    if block_type in (_PCAPNG_EPB, _PCAPNG_OPB, _PCAPNG_SPB):
        return f"record {record + 1} at byte {offset}"
    if block_type < 0:
        return f"block at byte {offset} (after record {record})"
    return f"block at byte {offset} (type 0x{block_type:08x}, after record {record})"


def _interface(buf: bytes, block: int, length: int, order: str, decoder: _Decoder) -> _Interface:
    linktype, _, snaplen = struct.unpack_from(order + "HHI", buf, block + 8)
    desc = _Interface(linktype, decoder.link_decoder(linktype), snaplen)
    p = block + 16
    end = block + length - 4
    while end - p >= 4:
        code, size = struct.unpack_from(order + "HH", buf, p)
        p += 4
        if code == 0 or p + size > end:
            break
        if code == 9 and size >= 1:  # if_tsresol
            value = buf[p]
            desc.units = 2 ** (value & 0x7F) if value & 0x80 else 10**value
        elif code == 14 and size >= 8:  # if_tsoffset
            desc.offset = struct.unpack_from(order + "q", buf, p)[0]
        p += (size + 3) & ~3
    return desc
