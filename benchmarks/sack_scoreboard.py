"""Per-ACK cost of SACK loss recovery against a scoreboard of N disjoint holes.

``python benchmarks/sack_scoreboard.py [--sizes 1000:300,10000:300,100000:300] [--runs 3]``

For each N: a :class:`~synack.tcp.recovery.LossRecovery` with N segments of
1,000 bytes in flight (sent one microsecond apart, RACK on) and a scoreboard
of N one-byte SACKed holes, one inside each segment, as a hostile receiver
leaves it (after one ACK, so that what the first loss walk of a flight
builds once is built). Then ``acks`` more duplicate ACKs, each SACKing three new one-byte
holes in other segments, go through ``on_ack`` (the whole ACK path: block
validation, the scoreboard, the records, RACK's loss walk, the pipe). The
figure is the mean wall time per ACK, best of ``--runs`` runs, and the ratio
to the previous N: with work logarithmic in N, 10 x N costs well under 2 x
per ACK; linear, about 10 x.

The scoreboard is filled directly (building it ACK by ACK would take the
old, linear code hours at N = 100,000), through whichever representation
the ``synack`` on the path has, so the same script measures before and after:
``PYTHONPATH=/path/to/other/tree/src python benchmarks/sack_scoreboard.py``.
"""

from __future__ import annotations

import argparse
import sys
import time

import synack
from synack.tcp.config import TcpConfig
from synack.tcp.recovery import LossRecovery
from synack.tcp.rto import RttEstimator
from synack.tcp.stats import ConnectionStats
from synack.wire import seq as sq

MSS = 1000
ISS = 999
RTT = 0.1


def build(n: int) -> tuple[LossRecovery, int, int]:
    """N segments in flight and N one-byte holes SACKed; returns SND.UNA, SND.MAX."""
    config = TcpConfig(mss=MSS, congestion_control="newreno", hystart=False)
    estimator = RttEstimator(
        config.rto_initial, config.rto_min, config.rto_max, config.clock_granularity
    )
    rec = LossRecovery(config, ConnectionStats(), estimator, MSS)
    rec.start(ISS)
    rec.on_handshake(MSS, sack_ok=True)
    rec.on_syn_rtt_sample(RTT)
    una = ISS + 1
    for i in range(n):
        start = una + i * MSS
        rec.on_segment_sent(start, start + MSS, MSS, i * 1e-6, False, False)
    board = rec.scoreboard
    top = sq.add(una, n * MSS)
    holes = tuple((una + i * MSS + 1, una + i * MSS + 2) for i in range(n))
    if hasattr(board, "chunks"):  # sorted chunks: one update, appending, is fast
        board.update(holes, una, top)
        assert len(board) == n
    else:  # the plain list of (start, end) pairs it had before
        board.ranges = list(holes)
    # one ACK as the receiver's last: what the first loss walk of a flight
    # builds once (RACK's send-ordered queue) is then built, as after any ACK
    rec.on_ack(una, una, top, top, (), True, False, False, None, RTT + n * 1e-6)
    return rec, una, top


def run(n: int, acks: int) -> float:
    """Mean seconds per ACK for ``acks`` ACKs against a scoreboard of ``n`` holes."""
    rec, una, top = build(n)
    now = RTT + n * 1e-6
    plans = []
    for i in range(acks):
        blocks = []
        for k in range(3):
            j = 3 * i + k
            start = una + (j % n) * MSS + 3 + 2 * (j // n)
            blocks.append((start, start + 1))
        plans.append(tuple(blocks))
    on_ack = rec.on_ack
    began = time.perf_counter()
    for blocks in plans:
        on_ack(una, una, top, top, blocks, True, False, False, None, now)
    elapsed = time.perf_counter() - began
    assert rec.pipe(una, top) <= n * MSS
    return elapsed / acks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000:300,10000:300,100000:300", help="N:acks,...")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"synack from {synack.__file__}")
    print(f"{'N':>8} {'acks':>6} {'us/ACK':>10} {'x prev':>7}")
    previous = None
    for item in args.sizes.split(","):
        n, acks = (int(x) for x in item.split(":"))
        best = min(run(n, acks) for _ in range(args.runs)) * 1e6
        ratio = "" if previous is None else f"{best / previous:.2f}"
        print(f"{n:>8,} {acks:>6} {best:>10.1f} {ratio:>7}", flush=True)
        previous = best
    return 0


if __name__ == "__main__":
    sys.exit(main())
