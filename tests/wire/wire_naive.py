"""A deliberately naive RFC 1071 checksum and pseudo-header, to check synack against."""


def ones_complement_sum(data: bytes) -> int:
    """RFC 1071 section 4.1, word by word in network order, folding as we go."""
    if len(data) % 2:
        data += b"\x00"
    total = 0
    for i in range(0, len(data), 2):
        total += (data[i] << 8) | data[i + 1]
        total = (total & 0xFFFF) + (total >> 16)
    return total


def checksum(data: bytes) -> int:
    return ~ones_complement_sum(data) & 0xFFFF


def pseudo_header(src: bytes, dst: bytes, length: int) -> bytes:
    """Built field by field from RFC 9293 3.1 (IPv4) and RFC 8200 8.1 (IPv6)."""
    if len(src) == 4:
        return src + dst + bytes([0, 6]) + length.to_bytes(2, "big")
    return src + dst + length.to_bytes(4, "big") + bytes([0, 0, 0, 6])


def tcp_checksum(src: bytes, dst: bytes, segment: bytes) -> int:
    """The checksum a segment should carry (its checksum field is zeroed first)."""
    zeroed = segment[:16] + b"\x00\x00" + segment[18:]
    return checksum(pseudo_header(src, dst, len(segment)) + zeroed)
