"""The Internet checksum (RFC 1071) and the TCP pseudo-headers.

Since 2**16 = 1 modulo 0xFFFF, the one's complement sum of 16-bit words is
the whole buffer read as one big-endian integer, modulo 0xFFFF (RFC 1071
section 2(C)'s "deferred carries", taken all the way): one C-level pass
instead of a Python-level sum over every word.
"""

import struct

_PSEUDO4 = struct.Struct("!4s4sBBH")
_PSEUDO6 = struct.Struct("!16s16sIxxxB")
PROTO_TCP = 6


def ones_complement_sum(data: bytes | bytearray | memoryview) -> int:
    """The folded 16-bit one's complement sum of ``data``, in network order."""
    value = int.from_bytes(data, "big")
    if not value:
        return 0  # all zeros (or empty): the sum is +0, never 0xFFFF
    if len(data) & 1:
        value <<= 8  # the odd byte is the high half of a last, zero-padded word
    # A nonzero sum that is a multiple of 0xFFFF folds to 0xFFFF (-0), not to 0.
    return value % 0xFFFF or 0xFFFF


def pseudo_header(src: bytes, dst: bytes, length: int, proto: int = PROTO_TCP) -> bytes:
    """The IPv4 (RFC 9293 3.1) or IPv6 (RFC 8200 8.1) pseudo-header."""
    if len(src) != len(dst) or len(src) not in (4, 16):
        # struct's "4s"/"16s" would silently truncate or zero-pad a mismatched address
        raise ValueError(
            f"addresses of {len(src)} and {len(dst)} bytes: need two of 4 or two of 16"
        )
    if len(src) == 4:
        return _PSEUDO4.pack(src, dst, 0, proto, length)
    return _PSEUDO6.pack(src, dst, length, proto)


def internet_checksum(*parts: bytes | bytearray | memoryview) -> int:
    """The checksum to put in a header: the complement of the sum of ``parts``."""
    if len(parts) == 1:
        return ~ones_complement_sum(parts[0]) & 0xFFFF
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
    if len(src) != len(dst) or len(src) not in (4, 16):
        raise ValueError(
            f"addresses of {len(src)} and {len(dst)} bytes: need two of 4 or two of 16"
        )
    n = len(segment)
    value = int.from_bytes(src + dst + segment, "big")
    if n & 1:
        value <<= 8  # the odd byte is the high half of a last, zero-padded word
    total = value % 0xFFFF + PROTO_TCP + n  # positive: it folds to 1..0xFFFF, never +0
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF
