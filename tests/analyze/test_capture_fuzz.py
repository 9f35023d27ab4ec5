"""Damaged captures: whatever bytes the reader is given, it yields sane
segments and stops, if it must, with a CaptureError, never another
exception. Seeded, so every run damages the same bytes."""

from __future__ import annotations

import gzip
import io
import random

from _captures import epb, idb, mixed_frames, pcap, shb

from synack.analyze.capture import CaptureStats, read_segments
from synack.analyze.model import CapturedSegment, CaptureError

FRAMES = mixed_frames()
PCAP = pcap([(1.0 + i, f) for i, f in enumerate(FRAMES)])
PCAPNG = shb() + idb(1) + b"".join(epb(0, i * 1000, f) for i, f in enumerate(FRAMES))


def sane(segment: CapturedSegment) -> bool:
    whole = (
        (len(segment.payload) < segment.payload_len)
        if segment.truncated
        else (len(segment.payload) == segment.payload_len)
    )
    return (
        0 <= segment.sport <= 0xFFFF
        and 0 <= segment.dport <= 0xFFFF
        and 0 <= segment.flags <= 0xFF
        and segment.payload_len >= 0
        and segment.ip_len >= segment.payload_len + 20
        and (len(segment.payload) <= segment.payload_len)
        and whole
        and not (segment.truncated and segment.checksum_ok)
    )


def outcome(data: bytes) -> str:
    stats = CaptureStats()
    try:
        for segment in read_segments(io.BytesIO(data), stats=stats):
            assert sane(segment), segment
    except CaptureError:
        return "error"
    return "read"


def damage(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    kind = rng.randrange(4)
    if kind == 0:  # flip a few bytes anywhere
        for _ in range(rng.randrange(1, 6)):
            out[rng.randrange(len(out))] ^= rng.randrange(1, 256)
    elif kind == 1:  # cut the file short
        del out[rng.randrange(len(out)) :]
    elif kind == 2:  # overwrite a run with random bytes
        start = rng.randrange(len(out))
        out[start : start + 16] = rng.randbytes(16)
    else:  # insert garbage
        start = rng.randrange(len(out))
        out[start:start] = rng.randbytes(rng.randrange(1, 40))
    return bytes(out)


def test_damaged_pcap_and_pcapng_only_ever_raise_capture_error() -> None:
    rng = random.Random(793)
    outcomes = {"read": 0, "error": 0}
    for _ in range(1500):
        for original in (PCAP, PCAPNG):
            outcomes[outcome(damage(rng, original))] += 1
    assert outcomes["read"] > 0 and outcomes["error"] > 0
    assert sum(outcomes.values()) == 3000


def test_damaged_frames_in_a_sound_file_never_stop_the_reading() -> None:
    # The records' lengths are right and only what they hold is damaged: every file reads
    # to its end, whatever the frames say.
    rng = random.Random(9293)
    for _ in range(400):
        frames = []
        for frame in FRAMES:
            damaged = bytearray(frame)
            for _ in range(rng.randrange(0, 4)):
                damaged[rng.randrange(len(damaged))] ^= rng.randrange(1, 256)
            frames.append(bytes(damaged[: rng.randrange(len(damaged) + 1)]))
        assert outcome(pcap([(1.0, f) for f in frames])) == "read"
        assert outcome(shb() + idb(1) + b"".join(epb(0, 0, f) for f in frames)) == "read"


def test_damaged_gzip_only_ever_raises_capture_error() -> None:
    rng = random.Random(4380)
    compressed = gzip.compress(PCAP)
    for _ in range(300):
        assert outcome(damage(rng, compressed)) in ("read", "error")
