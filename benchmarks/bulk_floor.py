"""What a bulk segment through Hosts cannot go below: the checksums and the engine.

``python benchmarks/bulk_floor.py [--mib 16] [--repeat 20000]``

``synack bench bulk`` moves data between two Hosts as IP packets, and each
data segment pays for two Internet checksums over its whole length: the
sender's (``addresses_and_segment_checksum`` in ``encode_packed``) and the
receiver's check (``checksum_ok``), plus the benchmark's own SHA-256 of what
arrives. This script times, in one run:

- those three per-segment costs alone, on a segment of the size the
  benchmark sends (MSS 1460 less the timestamp option), best of 5 batches;
- the whole per-segment time of ``bench_bulk_engine`` (Connections handing
  segments over as objects: no IP, no checksum) and of ``bench_bulk_hosts``;

and sets them against the time a segment may take at issue 16's 100 MB/s
target. The engine alone plus the checksums is a floor the Host path cannot
go below without a faster checksum than the standard library gives, or a
faster engine. With ``PYTHONPATH`` pointing at an unpacked compiled wheel
(docs/compiled.md) it measures the compiled build.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import timeit

from synack.bench.compiled import engine_compiled
from synack.bench.engine import bench_bulk_engine, bench_bulk_hosts
from synack.bench.results import BULK_TARGET, MIB
from synack.wire.checksum import addresses_and_segment_checksum, checksum_ok

ADDRESSES = 8  # IPv4 source and destination, which the checksum covers
HEADER = 32  # TCP header with the timestamp option (20 + 12)


def _best_us(stmt: object, repeat: int) -> float:
    """Best of 5 batches of ``repeat`` calls, in microseconds per call."""
    return min(timeit.repeat(stmt, number=repeat, repeat=5)) / repeat * 1e6  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=16, help="MiB per bulk run (default 16)")
    parser.add_argument(
        "--repeat", type=int, default=20_000, help="calls per timing batch (default 20000)"
    )
    args = parser.parse_args(argv)
    if args.mib < 1 or args.repeat < 1:
        parser.error("--mib and --repeat must be at least 1")

    engine = bench_bulk_engine(total=args.mib * MIB)
    hosts = bench_bulk_hosts(total=args.mib * MIB)
    payload = hosts.payload_per_segment
    packet = os.urandom(ADDRESSES + HEADER + payload)
    segment_length = HEADER + payload
    data = packet[ADDRESSES + HEADER :]
    send_us = _best_us(lambda: addresses_and_segment_checksum(packet, segment_length), args.repeat)
    check_us = _best_us(lambda: checksum_ok(packet), args.repeat)
    sha_us = _best_us(lambda: hashlib.sha256().update(data), args.repeat)

    budget_us = payload / (BULK_TARGET * 1e6) * 1e6
    engine_us = engine.seconds / engine.segments * 1e6
    hosts_us = hosts.seconds / hosts.segments * 1e6
    floor_us = engine_us + send_us + check_us + sha_us
    build = "compiled with mypyc" if engine_compiled() else "pure Python"
    rows = [
        ("sender's checksum", send_us),
        ("receiver's checksum check", check_us),
        ("the benchmark's SHA-256", sha_us),
        ("engine alone (bench_bulk_engine)", engine_us),
        ("engine + those three: the floor", floor_us),
        ("through Hosts (bench_bulk_hosts)", hosts_us),
    ]
    print(f"engine: {build}; {payload}-byte segments; {args.mib} MiB per bulk run")
    print(f"at {BULK_TARGET:g} MB/s a segment may take {budget_us:.2f} us")
    for name, us in rows:
        print(f"  {name:34s} {us:7.2f} us  {us / budget_us:5.2f} of the budget")
    print(
        f"ceiling with nothing but the floor: {payload / floor_us:.1f} MB/s; "
        f"measured through Hosts: {hosts.mb_per_second:.1f} MB/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
