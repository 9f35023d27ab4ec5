"""The wire layer: segment and IP codecs, checksums, sequence arithmetic.

Standard library only.
"""

from synack.wire.errors import MalformedPacket
from synack.wire.ip import (
    IPAddress,
    IPv4Header,
    IPv6Header,
    address_from_packed,
    decode_ip,
    decode_tcp_packet,
    encode_packed,
    encode_tcp_packet,
)
from synack.wire.segment import (
    ACK,
    CWR,
    ECE,
    FIN,
    NOP,
    PSH,
    RST,
    SACK_PERMITTED,
    SYN,
    URG,
    EndOfOptions,
    FastOpen,
    FastOpenExp,
    MaxSegmentSize,
    NoOperation,
    Option,
    Sack,
    SackPermitted,
    Segment,
    Timestamps,
    UnknownOption,
    WindowScale,
    tcpdump_flags,
)

__all__ = [
    "ACK", "CWR", "ECE", "FIN", "NOP", "PSH", "RST", "SACK_PERMITTED", "SYN", "URG",
    "EndOfOptions", "FastOpen", "FastOpenExp", "IPAddress", "IPv4Header", "IPv6Header",
    "MalformedPacket",
    "MaxSegmentSize", "NoOperation", "Option", "Sack", "SackPermitted", "Segment",
    "Timestamps", "UnknownOption", "WindowScale", "address_from_packed", "decode_ip",
    "decode_tcp_packet", "encode_packed", "encode_tcp_packet", "tcpdump_flags",
]  # fmt: skip
