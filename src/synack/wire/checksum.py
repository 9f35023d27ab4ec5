"""The Internet checksum (RFC 1071) and the TCP pseudo-headers.

Since 2**16 = 1 modulo 0xFFFF, the one's complement sum of 16-bit words is
the whole buffer read as one big-endian integer, modulo 0xFFFF (RFC 1071
section 2(C)'s "deferred carries", taken all the way): one C-level pass
instead of a Python-level sum over every word.

Read little-endian instead, the buffer gives the sum of byte-swapped words,
which is the byte-swapped sum (RFC 1071 2(B), byte order independence), and
swapping a 16-bit value is multiplying it by 256 modulo 0xFFFF: so the
big-endian sum is 256 times the little-endian one. CPython reads a
little-endian integer about a tenth faster, and an odd last byte then needs
no padding: it lands in the low half of a last word, swapped back to the high.

A checksum is the complement of a sum, and a sum ``s`` (positive, folded to
1..0xFFFF) complements to ``0xFFFF - s``, which is ``-s`` modulo 0xFFFF: so
the checksum is the negated total, modulo 0xFFFF, with no fold loop; and a
buffer whose checksum is right totals a nonzero multiple of 0xFFFF.
"""

import struct
from typing import Final

_PSEUDO4: Final = struct.Struct("!4s4sBBH")
_PSEUDO6: Final = struct.Struct("!16s16sIxxxB")
PROTO_TCP: Final = 6
_ADDRESS_LENGTHS: Final = ((4, 4), (16, 16))  # IPv4's, IPv6's


def ones_complement_sum(data: bytes | bytearray | memoryview) -> int:
    """The folded 16-bit one's complement sum of ``data``, in network order."""
    value = int.from_bytes(data, "little")
    if not value:
        return 0  # all zeros (or empty): the sum is +0, never 0xFFFF
    # A nonzero sum that is a multiple of 0xFFFF folds to 0xFFFF (-0), not to 0.
    return ((value % 0xFFFF) << 8) % 0xFFFF or 0xFFFF


def checksum_ok(data: bytes | bytearray | memoryview) -> bool:
    """Whether ``data``, its checksum field included, sums to -0 (RFC 1071 1(2)):
    ``internet_checksum(data) == 0``."""
    value = int.from_bytes(data, "little")
    return value != 0 and value % 0xFFFF == 0


def pseudo_header(src: bytes, dst: bytes, length: int, proto: int = PROTO_TCP) -> bytes:
    """The IPv4 (RFC 9293 3.1) or IPv6 (RFC 8200 8.1) pseudo-header."""
    if (len(src), len(dst)) not in _ADDRESS_LENGTHS:
        # struct's "4s"/"16s" would silently truncate or zero-pad a mismatched address
        raise ValueError(
            f"addresses of {len(src)} and {len(dst)} bytes: need two of 4 or two of 16"
        )
    if len(src) == 4:
        return _PSEUDO4.pack(src, dst, 0, proto, length)
    return _PSEUDO6.pack(src, dst, length, proto)


def buffer_checksum(data: bytes | bytearray | memoryview) -> int:
    """:func:`internet_checksum` of one buffer."""
    value = int.from_bytes(data, "little")
    return -((value % 0xFFFF) << 8) % 0xFFFF if value else 0xFFFF  # ~(+0) is 0xFFFF


def internet_checksum(*parts: bytes | bytearray | memoryview) -> int:
    """The checksum to put in a header: the complement of the sum of ``parts``."""
    if len(parts) == 1:
        return buffer_checksum(parts[0])
    if any(len(part) & 1 for part in parts[:-1]):
        parts = (b"".join(parts),)  # an odd-length part would misalign the words after it
    total = 0
    for part in parts:
        total += ones_complement_sum(part)
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def tcp_checksum(src: bytes, dst: bytes, segment: bytes | bytearray | memoryview) -> int:
    """The checksum of ``segment`` under its pseudo-header, without building the header.

    The pseudo-header's words sum to the addresses' sums plus the protocol
    and the length (RFC 9293 3.1, RFC 8200 8.1). The addresses (an even number
    of bytes) and the segment are read as one number, for the same
    modulo-0xFFFF shortcut as :func:`ones_complement_sum`: one pass for the
    whole sum. A segment whose checksum field is correct gives 0.
    """
    if (len(src), len(dst)) not in _ADDRESS_LENGTHS:
        raise ValueError(
            f"addresses of {len(src)} and {len(dst)} bytes: need two of 4 or two of 16"
        )
    return addresses_and_segment_checksum(src + dst + segment, len(segment))


def addresses_and_segment_checksum(data: bytes | bytearray | memoryview, length: int) -> int:
    """:func:`tcp_checksum` of the last ``length`` bytes of ``data``, a segment
    that follows its source and destination addresses: as in an IPv4 packet
    without options from byte 12, or an IPv6 one from byte 8. No copy."""
    # modulo 0xFFFF first: the arithmetic after it is on small numbers, not on the segment's
    return -(((int.from_bytes(data, "little") % 0xFFFF) << 8) + PROTO_TCP + length) % 0xFFFF
