"""The expert flags against tshark's, frame by frame, flag by flag.

Captures come from the simulator: every ``synack demo`` scenario, seeded
lossy ``synack simulate`` runs, and thinned copies of some of them (records
left out, as a capture that missed packets would), so that "previous segment
not captured" and "ACKed unseen segment" occur too, and random made-up
connections. tshark reads each one; synack.analyze.capture reads the same
packets and ExpertAnalyzer flags them, one analyzer per 4-tuple, in capture
order. Every kind must agree on every frame, except the differences
docs/expert-flags.md documents (none at present).
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from ipaddress import ip_address
from pathlib import Path

import pytest
from _expert_helpers import (
    TsharkFrame,
    damage,
    random_capture,
    reorder,
    reorder_data_past_ack,
    thin,
    tshark_flags,
)

from synack.analyze.capture import read_segments
from synack.analyze.expert import FLAG_NAMES, ExpertAnalyzer, nanoseconds
from synack.analyze.model import CapturedSegment
from synack.wire.segment import ACK, SYN, WindowScale

needs_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="needs tshark")

SIMULATE = ["--loss", "3%", "--reorder", "2%", "--duplicate", "1%", "--bytes-up", "300KB"]
SEEDS = (1, 2, 3, 4)
# (capture, keep all but every Nth record from offset): captures that missed packets
THINNED = (
    ("lossy-transfer", 37, 5),
    ("sim-1", 23, 9),
    ("half-close", 5, 3),
    ("zero-window", 4, 1),
    ("lossy-transfer", 10**6, 0),  # no SYN: the client's window scale is unknown
    ("zero-window", 10**6, 1),  # no SYN,ACK
    ("sim-4", 10**6, 1),  # no SYN,ACK, with window scaling on
)
# (capture, swap every Nth record with the next from offset): captures of reordered packets
REORDERED = (("lossy-transfer", 29, 7), ("sim-2", 17, 4), ("half-close", 6, 2), ("sim-3", 41, 0))
# captures where data and the pure ACK after it (same direction) trade places
DATA_PAST_ACK = ("sim-1", "sim-2", "sim-3", "sim-4", "lossy-transfer")
# captures with one bit of a TCP header flipped in every Nth record (bad checksums)
DAMAGED = (("sim-1", 7), ("lossy-transfer", 11), ("zero-window", 3), ("keepalive", 2))
# made-up connections with segments chosen at random (_expert_helpers.random_capture)
RANDOM_SEEDS = range(12)
KINDS = (*FLAG_NAMES, "duplicate_ack_num", "duplicate_ack_frame")

# Kinds allowed to disagree, with the reason (each explained in docs/expert-flags.md).
DOCUMENTED_DIFFERENCES: dict[str, str] = {}


def _synack(*args: str) -> None:
    subprocess.run(["synack", *args], check=True, capture_output=True, timeout=300)


def _scenarios() -> list[str]:
    out = subprocess.run(
        ["synack", "demo", "--list"], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("expert")
    paths: dict[str, Path] = {}
    for name in _scenarios():
        paths[name] = d / f"{name}.pcap"
        _synack("demo", name, "--pcap", str(paths[name]))
    for seed in SEEDS:
        paths[f"sim-{seed}"] = d / f"sim-{seed}.pcap"
        _synack(
            "simulate", *SIMULATE, "--seed", str(seed), "--format", "none",
            "--summary", "none", "--pcap", str(paths[f"sim-{seed}"]),
        )  # fmt: skip
    for name, every, offset in THINNED:
        thinned = d / f"{name}-thinned-{every}-{offset}.pcap"
        thin(paths[name], thinned, every, offset)
        paths[thinned.stem] = thinned
    for name, every, offset in REORDERED:
        reordered = d / f"{name}-reordered-{every}.pcap"
        reorder(paths[name], reordered, every, offset)
        paths[reordered.stem] = reordered
    swaps = 0
    for name in DATA_PAST_ACK:
        swapped = d / f"{name}-data-past-ack.pcap"
        swaps += reorder_data_past_ack(paths[name], swapped)
        paths[swapped.stem] = swapped
    assert swaps, "no data segment followed by a pure ACK in the same direction"
    for name, every in DAMAGED:
        damaged = d / f"{name}-damaged-{every}.pcap"
        damage(paths[name], damaged, every, seed=every)
        paths[damaged.stem] = damaged
    for seed in RANDOM_SEEDS:
        paths[f"random-{seed}"] = d / f"random-{seed}.pcap"
        random_capture(paths[f"random-{seed}"], seed)
    return paths


@dataclass
class Tally:
    both: Counter[str] = field(default_factory=Counter)
    only_tshark: Counter[str] = field(default_factory=Counter)
    only_ours: Counter[str] = field(default_factory=Counter)
    frames: int = 0
    examples: dict[str, list[str]] = field(default_factory=dict)

    def count(self, kind: str, theirs: object, ours: object, where: str) -> None:
        if theirs == ours:
            if theirs:
                self.both[kind] += 1
            return
        if theirs and not ours:
            self.only_tshark[kind] += 1
        elif ours and not theirs:
            self.only_ours[kind] += 1
        else:  # both set, different values (a duplicate ACK's number or frame)
            self.only_tshark[kind] += 1
            self.only_ours[kind] += 1
        self.examples.setdefault(kind, []).append(f"{where}: tshark {theirs!r}, ours {ours!r}")

    def disagreements(self, kind: str) -> int:
        return max(self.only_tshark[kind], self.only_ours[kind])

    def table(self) -> str:
        rows = [
            f"{'kind':<24}{'tshark':>8}{'ours':>8}{'both':>8}"
            f"{'tshark only':>13}{'ours only':>11}{'agreement':>11}"
        ]
        for kind in KINDS:
            theirs = self.both[kind] + self.only_tshark[kind]
            ours = self.both[kind] + self.only_ours[kind]
            agreement = 100 * (self.frames - self.disagreements(kind)) / self.frames
            rows.append(
                f"{kind:<24}{theirs:>8}{ours:>8}{self.both[kind]:>8}"
                f"{self.only_tshark[kind]:>13}{self.only_ours[kind]:>11}{agreement:>10.2f}%"
            )
        rows.append(f"{self.frames} frames")
        return "\n".join(rows)


@pytest.fixture(scope="module")
def tshark_results(captures: dict[str, Path]) -> dict[Path, dict[int, TsharkFrame]]:
    return {path: tshark_flags(path) for path in captures.values()}


def compare(path: Path, tally: Tally, theirs: dict[int, TsharkFrame] | None = None) -> None:
    theirs = tshark_flags(path) if theirs is None else theirs
    segments = list(read_segments(path))
    assert [seg.record for seg in segments] == sorted(theirs), path
    analyzers: dict[frozenset[tuple[object, int]], ExpertAnalyzer] = {}
    for seg in segments:
        key = frozenset({(seg.src, seg.sport), (seg.dst, seg.dport)})
        analyzer = analyzers.setdefault(key, ExpertAnalyzer())
        ours = analyzer.analyze(seg)  # frame: seg.record
        frame = seg.record
        t = theirs[frame]
        where = f"{path.name}#{frame}"
        tally.frames += 1
        for kind in FLAG_NAMES:
            tally.count(kind, kind in t.flags, kind in ours.flags, where)
        tally.count("duplicate_ack_num", t.dup_ack_num, ours.dup_ack_num, where)
        tally.count("duplicate_ack_frame", t.dup_ack_frame, ours.dup_ack_frame, where)


@needs_tshark
def test_expert_flags_agree_with_tshark(
    tshark_results: dict[Path, dict[int, TsharkFrame]],
) -> None:
    tally, simulated, made_up = Tally(), Tally(), Tally()
    for path, theirs in tshark_results.items():
        compare(path, tally, theirs)
        compare(path, made_up if path.name.startswith("random-") else simulated, theirs)
    for title, part in (("simulator captures", simulated), ("random captures", made_up)):
        print(f"\n{title}:\n{part.table()}")
    print(f"\nall:\n{tally.table()}")
    failures = []
    for kind in KINDS:
        if tally.disagreements(kind) and kind not in DOCUMENTED_DIFFERENCES:
            examples = "\n    ".join(tally.examples[kind][:8])
            failures.append(f"{kind}: {tally.disagreements(kind)} frames differ\n    {examples}")
    assert not failures, "\n".join(failures)


@needs_tshark
def test_every_kind_is_exercised(tshark_results: dict[Path, dict[int, TsharkFrame]]) -> None:
    """The comparison means something only for kinds that occur: the
    captures must make tshark raise each flag at least once."""
    seen: set[str] = set()
    for frames in tshark_results.values():
        for frame in frames.values():
            seen |= frame.flags
    assert seen >= set(FLAG_NAMES) - NEVER_RAISED, sorted(set(FLAG_NAMES) - seen)


# Flags the simulator's captures cannot make tshark raise (see docs/expert-flags.md).
NEVER_RAISED: frozenset[str] = frozenset()


A, B = ip_address("10.0.0.1"), ip_address("10.0.0.2")


def _seg(t: float, up: bool, flags: int, seq: int, ack: int, length: int = 0) -> CapturedSegment:
    src, dst, sport, dport = (A, B, 40000, 80) if up else (B, A, 80, 40000)
    options = (WindowScale(7),) if flags & SYN else ()
    return CapturedSegment(
        t, 0, src, dst, sport, dport, flags, seq, ack, 1000, 0, options, length, 40 + length
    )


def test_duplicate_acks_are_numbered_and_memory_stays_fixed() -> None:
    analyzer = ExpertAnalyzer()
    feed = [
        _seg(0.000, True, SYN, 100, 0),
        _seg(0.010, False, SYN | ACK, 500, 101),
        _seg(0.020, True, ACK, 101, 501),
    ]
    for i in range(1000):  # data up, each segment ACKed but the last
        feed.append(_seg(0.03 + i * 0.01, True, ACK, 101 + 100 * i, 501, 100))
        if i < 999:
            feed.append(_seg(0.035 + i * 0.01, False, ACK, 501, 201 + 100 * i))
    for frame, seg in enumerate(feed, 1):
        assert analyzer.feed(seg, frame) == (), frame
    last_ack = len(feed) - 1
    for n in (1, 2, 3):
        flags = analyzer.feed(_seg(20.0 + n, False, ACK, 501, 100001), len(feed) + n)
        assert flags == ("duplicate_ack",)
        assert analyzer.duplicate_ack_number() == (n, last_ack)
    # the retransmission the duplicates asked for, within 20 ms of the last one
    flags = analyzer.feed(_seg(23.01, True, ACK, 100001, 501, 100), len(feed) + 4)
    assert flags == ("retransmission", "fast_retransmission")
    assert analyzer.duplicate_ack_number() is None
    # per direction, a fixed set of numbers: nothing grows with the segments
    for direction in (analyzer._a, analyzer._b):
        assert all(isinstance(getattr(direction, name), int) for name in direction.__slots__)


def test_a_segment_of_another_connection_is_refused() -> None:
    analyzer = ExpertAnalyzer()
    analyzer.feed(_seg(0.0, True, SYN, 100, 0), 1)
    stray = _seg(0.1, True, SYN, 100, 0)
    stray.sport = 40001
    with pytest.raises(ValueError, match="not of this analyzer's connection"):
        analyzer.feed(stray, 2)


def test_timestamps_keep_exact_thresholds() -> None:
    """20 ms apart in a pcap is 20 ms apart here, near today's epoch too."""
    for base_us in (0, 123_456, 1_700_000_000_123_457, 1_999_999_999_999_999):
        for gap_us in (3_000, 19_999, 20_000):
            t0 = base_us // 10**6 + base_us % 10**6 / 1e6
            t1 = (base_us + gap_us) // 10**6 + (base_us + gap_us) % 10**6 / 1e6
            assert nanoseconds(t1) - nanoseconds(t0) == gap_us * 1000, (base_us, gap_us)
