"""What the analysis modules pass each other: one captured TCP segment, and its direction.

A :class:`CapturedSegment` is what a passive observer knows of one TCP
segment on the wire: when it was seen, where it was in the file, the IP
addresses and the TCP header, how much text it carried (from the IP length,
whatever the capture's snap length kept), and whether its checksum held.
The reader (``capture.py``) makes them; the connection tracker, the Zeek
summary and the expert flags read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from synack.wire.ip import IPAddress
from synack.wire.segment import Option


@dataclass(slots=True)
class CapturedSegment:
    t: float  # seconds since the epoch, as the capture stamped it
    record: int  # 1-based number of the capture record it came from
    src: IPAddress
    dst: IPAddress
    sport: int
    dport: int
    flags: int  # the TCP flag bits (synack.wire.segment: SYN, ACK, FIN...)
    seq: int
    ack: int
    window: int  # the raw 16-bit field, unscaled
    urgent: int
    options: tuple[Option, ...]
    payload_len: int  # TCP text length from the IP header (not what the snap length kept)
    ip_len: int  # the IP packet's total length, headers included
    checksum_ok: bool | None = None  # None: not checked (truncated, or --ignore-checksums)
    truncated: bool = False  # the capture kept less than the packet
    payload: bytes = field(default=b"", repr=False)  # what the capture kept of the text

    @property
    def seg_len(self) -> int:
        """RFC 9293's SEG.LEN: the text, plus one for SYN and one for FIN."""
        return self.payload_len + (1 if self.flags & 0x02 else 0) + (1 if self.flags & 0x01 else 0)

    @property
    def key(self) -> tuple[IPAddress, int, IPAddress, int]:
        return (self.src, self.sport, self.dst, self.dport)


class CaptureError(ValueError):
    """A capture that cannot be read (further): the message says which record
    and why; what came before it has been delivered already."""
