"""The SYN flood benchmark: ``python benchmarks/syn_flood.py [--quick] [--mode MODE]``.

100,000 spoofed SYNs over 10 s of virtual time at a backlog-128 listener
while 1,000 clients connect (``synack.sim.flood.syn_flood``, the run
``tests/attacks/test_syn_flood.py`` asserts on), run twice: once timed, once
under tracemalloc. Prints the wall time, spoofed SYNs handled per wall
second, the clients' share ESTABLISHED within one RTT of their first SYN,
and the memory the flood's last 90 % added. Nothing here is asserted: tests
never assert on wall time.
"""

from __future__ import annotations

import argparse

from synack.host import SYN_COOKIE_MODES
from synack.sim.flood import syn_flood


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a tenth of the flood, 1 s")
    parser.add_argument("--mode", default="on-overflow", choices=SYN_COOKIE_MODES)
    args = parser.parse_args(argv)
    spoofed, duration, clients = (10_000, 1.0, 100) if args.quick else (100_000, 10.0, 1000)
    timed = syn_flood(spoofed, duration, clients, syn_cookies=args.mode, settle=1.0)
    traced = syn_flood(
        spoofed, duration, clients, syn_cookies=args.mode, settle=1.0, measure_memory=True
    )
    times = sorted(timed.connect_times)
    growth = traced.memory_growth or 0
    print(f"SYN flood: {spoofed:,} spoofed SYNs over {duration:g} s, {clients:,} clients, "
          f"backlog 128, syn_cookies={args.mode}")  # fmt: skip
    print(f"  wall time             {timed.wall_time:8.2f} s "
          f"({spoofed / timed.wall_time:,.0f} spoofed SYN/s handled)")  # fmt: skip
    print(f"  within one RTT        {timed.within_rtt / clients:8.1%} "
          f"({timed.within_rtt:,} of {clients:,}; RTT {timed.rtt * 1000:g} ms)")  # fmt: skip
    if times:
        print(f"  first SYN to ESTABLISHED: median {times[len(times) // 2] * 1000:.1f} ms, "
              f"max {times[-1] * 1000:.1f} ms")  # fmt: skip
    print(f"  largest SYN queue     {timed.max_syn_queue:8,}")
    print(f"  largest conn. table   {timed.max_connections:8,}")
    print(f"  memory growth         {growth / 1e6:8.2f} MB over the last 90 % "
          f"({growth / (0.9 * spoofed):.1f} B per spoofed SYN)")  # fmt: skip
    stats = timed.server
    print(f"  cookies sent {stats.syn_cookies_sent:,}, "
          f"validated {stats.syn_cookies_validated:,}, failed {stats.syn_cookies_failed:,}; "
          f"SYNs dropped {stats.syns_dropped_backlog:,}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
