"""A trace's packets as a classic libpcap file, for Wireshark and tcpdump.

Every :class:`~synack.trace.records.PacketRecord` that carries its bytes
becomes one packet, stamped with the virtual time it was sent: the capture a
sender-side tap would have made. Lost packets are in it (they were sent); a
duplicated packet is there twice (the link reports each copy); a corrupted
one is written as the link damaged it, so its checksum is bad. The link type
is raw IP (``LINKTYPE_RAW``, 101), so IPv4 and IPv6 packets can share a file.
"""

from __future__ import annotations

import struct
from pathlib import Path

from synack.trace.records import PacketRecord
from synack.trace.timeline import TraceSource, as_records

PCAP_MAGIC = 0xA1B2C3D4  # microsecond timestamps
LINKTYPE_RAW = 101
SNAPLEN = 262144
_FILE_HEADER = struct.Struct("<IHHiIII")
_PACKET_HEADER = struct.Struct("<IIII")


def captured_packets(source: TraceSource) -> list[PacketRecord]:
    """The packet records that go into a capture, in the order they were sent."""
    return [r for r in as_records(source) if isinstance(r, PacketRecord) and r.packet]


def pcap_bytes(source: TraceSource, start: float = 0.0) -> bytes:
    """The pcap file's contents; ``start`` is added to every virtual timestamp
    (seconds since the Unix epoch; 0 puts the trace at 1970-01-01)."""
    out = bytearray(_FILE_HEADER.pack(PCAP_MAGIC, 2, 4, 0, 0, SNAPLEN, LINKTYPE_RAW))
    for rec in captured_packets(source):
        micros = round((start + rec.t) * 1_000_000)
        seconds, micros = divmod(max(0, micros), 1_000_000)
        data = rec.packet[:SNAPLEN]
        out += _PACKET_HEADER.pack(seconds, micros, len(data), len(rec.packet))
        out += data
    return bytes(out)


def write_pcap(source: TraceSource, path: str | Path, start: float = 0.0) -> int:
    """Write the trace's packets to ``path`` as pcap; returns how many were written."""
    records = as_records(source)
    Path(path).write_bytes(pcap_bytes(records, start))
    return len(captured_packets(records))
