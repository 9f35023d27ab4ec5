"""The Internet checksum (RFC 1071) and the TCP pseudo-headers.

The one's complement sum is byte-order independent (RFC 1071 section 2(B)),
so we add native-order 16-bit words and swap once at the end.
"""

import struct
import sys

_LITTLE = sys.byteorder == "little"
_PSEUDO4 = struct.Struct("!4s4sBBH")
_PSEUDO6 = struct.Struct("!16s16sIxxxB")
PROTO_TCP = 6


def ones_complement_sum(data: bytes | bytearray | memoryview) -> int:
    """The folded 16-bit one's complement sum of ``data``, in network order."""
    if len(data) & 1:
        data = bytes(data) + b"\x00"
    total = sum(memoryview(data).cast("H"))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    if _LITTLE:
        total = ((total & 0xFF) << 8) | (total >> 8)
    return total


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
    if any(len(part) & 1 for part in parts[:-1]):
        parts = (b"".join(parts),)  # an odd-length part would misalign the words after it
    total = 0
    for part in parts:
        total += ones_complement_sum(part)
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF
