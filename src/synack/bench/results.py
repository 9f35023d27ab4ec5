"""What the benchmarks report: one dataclass per benchmark, the figures they
make (each against its target) and the plain data of ``synack bench --json``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from synack.bench.compiled import engine_compiled

# What "good enough" means for each figure (benchmarks/README.md has the table).
LIFECYCLE_TARGET = 6_000.0  # lifecycles per second (issue 16)
BULK_TARGET = 100.0  # MB/s of payload (1 MB = 10**6 bytes; issue 16)
SIM_TARGET = 60_000.0  # simulated packets per wall second, 10,000 connections (issue 16)
ESTABLISHED_TARGET = 2048.0  # bytes per idle ESTABLISHED connection, per side (issue 16)
TIME_WAIT_TARGET = 128.0  # bytes per TIME-WAIT record in a Host (issue 16)
# The out-of-order queue, 100,000 one-byte segments at every other byte then
# the missing ones (about an hour before the rewrite): targets chosen for it
REASSEMBLY_SECONDS_TARGET = 10.0
REASSEMBLY_BYTES_TARGET = 128.0  # tracemalloc peak per held byte

MB = 1_000_000
MIB = 1 << 20

Progress = Callable[[str, float], None]  # label, fraction done (0.0 - 1.0)


def no_progress(label: str, fraction: float) -> None:
    """A Progress that shows nothing."""


ANALYZE_TARGET = 1.5  # synack analyze's packets/s over tshark's TCP analysis


@dataclass(frozen=True, slots=True)
class Figure:
    """One line of the report. ``ratio`` >= 1 means the target is met."""

    name: str
    value: float
    unit: str
    target: float
    higher_is_better: bool = True

    @property
    def ratio(self) -> float:
        if self.higher_is_better:
            return self.value / self.target
        return self.target / self.value if self.value > 0 else float("inf")

    @property
    def target_text(self) -> str:
        return f"{'>=' if self.higher_is_better else '<='} {self.target:g}"


@dataclass(frozen=True, slots=True)
class LifecycleResult:
    connections: int
    seconds: float
    per_second: float
    batch: int
    msl: float
    virtual_seconds: float
    time_wait_peak: int  # most TIME-WAIT records the client held at once
    time_wait_left: int  # still held at the end
    client_bytes_received: int
    server_bytes_received: int
    packets: int  # IP packets (hosts) or segments (engine) exchanged, both directions
    path: str = "hosts"  # "hosts" (IP packets, checksums) or "engine" (Connection objects)

    def figures(self) -> list[Figure]:
        return [Figure(f"lifecycles ({self.path})", self.per_second, "conn/s", LIFECYCLE_TARGET)]


@dataclass(frozen=True, slots=True)
class BulkResult:
    path: str  # "engine" (Connection objects) or "hosts" (IP packets)
    total_bytes: int
    delivered_bytes: int
    seconds: float
    mb_per_second: float
    segments: int  # data-carrying segments the sender emitted
    payload_per_segment: int  # the sender's MSS less options
    sha256_expected: str
    sha256_delivered: str
    virtual_seconds: float

    @property
    def intact(self) -> bool:
        return (
            self.delivered_bytes == self.total_bytes
            and self.sha256_expected == self.sha256_delivered
        )

    def figures(self) -> list[Figure]:
        return [Figure(f"bulk MSS 1460 ({self.path})", self.mb_per_second, "MB/s", BULK_TARGET)]


@dataclass(frozen=True, slots=True)
class MemoryResult:
    kind: str  # "established" or "time-wait"
    count: int  # connections (per side) or TIME-WAIT records measured
    bytes_total: int  # tracemalloc growth
    bytes_each: float  # per connection per side, or per record
    seconds: float
    detail: dict[str, Any] = field(default_factory=dict)

    def figures(self) -> list[Figure]:
        if self.kind == "established":
            return [
                Figure(
                    "idle ESTABLISHED (per side)",
                    self.bytes_each,
                    "B/conn",
                    ESTABLISHED_TARGET,
                    higher_is_better=False,
                )
            ]
        return [
            Figure(
                "TIME-WAIT record in a Host",
                self.bytes_each,
                "B/record",
                TIME_WAIT_TARGET,
                higher_is_better=False,
            )
        ]


@dataclass(frozen=True, slots=True)
class ReassemblyResult:
    """The out-of-order queue: ``held_bytes`` one-byte segments at every other
    byte, then the missing ones, ``segments`` in all (synack.bench.reassembly)."""

    implementation: str
    segments: int
    order: str  # how the missing bytes came: "ascending" or "random"
    seconds: float  # storing and completing, every segment's SACK blocks built
    held_bytes: int  # bytes held at the peak
    traced_bytes: int  # tracemalloc growth with them held
    peak_bytes: int  # tracemalloc peak on the way
    accounted_bytes: int | None  # what the queue counts (OutOfOrderQueue.memory)
    intact: bool  # delivered byte for byte

    @property
    def bytes_per_held_byte(self) -> float:
        return self.peak_bytes / self.held_bytes

    def figures(self) -> list[Figure]:
        name = f"reassembly {self.held_bytes:,} + {self.held_bytes:,} x 1 B ({self.order})"
        return [
            Figure(name, self.seconds, "s", REASSEMBLY_SECONDS_TARGET, higher_is_better=False),
            Figure(
                f"{name} memory", self.bytes_per_held_byte, "B/held B", REASSEMBLY_BYTES_TARGET,
                higher_is_better=False,
            ),
        ]  # fmt: skip


@dataclass(frozen=True, slots=True)
class KernelResult:
    """The same work done by the kernel's TCP over loopback, through Python sockets.

    Not a target: the reference that synack's figures are divided by, measured
    in the same run because these machines are noisy.
    """

    lifecycles: int
    lifecycles_per_second: float
    bulk_bytes: int
    bulk_mb_per_second: float

    def figures(self) -> list[Figure]:
        return []


@dataclass(frozen=True, slots=True)
class SimResult:
    """Many connections on the simulated network, all in one process on one core."""

    connections: int
    bytes_each_way: int
    seconds: float  # wall
    packets: int  # packets the hosts sent onto links
    packets_per_second: float
    virtual_seconds: float
    completed: int  # connections that closed in order with every byte intact
    retransmitted_segments: int
    handshake_p99_ms: float

    def figures(self) -> list[Figure]:
        return [
            Figure(
                f"simulated packets ({self.connections:,} conns)",
                self.packets_per_second,
                "pkt/s",
                SIM_TARGET,
            )
        ]


# issue 16's targets: MB/s each way at MTU 65535, and below it with offload
# (without offload below 65535, the issue asks only that offload give 3x the
# figure: the older 60 MB/s stays its target)
TUN_BULK_TARGET_65535 = 400.0
TUN_BULK_TARGET_OFFLOAD = 250.0
TUN_BULK_TARGET = 60.0
TUN_CONNECTIONS_TARGET = 5_000.0  # connections/s


@dataclass(frozen=True, slots=True)
class TunResult:
    mtu: int
    nbytes: int
    to_synack_mb_per_second: float
    from_synack_mb_per_second: float
    connections: int
    # ``concurrency`` kernel clients at once, each connecting, echoing 1 byte, closing
    connections_per_second: float
    raw_mb_per_second: float
    raw_packets_per_second: float
    # the device opened with a virtio-net header and TSO/checksum offloads,
    # synack's segmentation_offload 64 KB (synack.net.vnet)
    offload: bool = False
    offload_refused: str | None = None  # asked for, and why the kernel said no
    concurrency: int = 1
    # one client, one connection at a time: bound by the round trips' wake-ups
    sequential_connections_per_second: float | None = None
    # CPU time (user + system) of synack's process, and packets it read from
    # the device, per connection of the concurrent run
    synack_cpu_us_per_connection: float | None = None
    packets_in_per_connection: float | None = None
    # the kernel's reference, same run: the same concurrent client against an
    # asyncio echo server on the kernel's TCP across a veth pair (bench/tun.py),
    # and that server process's CPU time per connection
    kernel_connections_per_second: float | None = None
    kernel_cpu_us_per_connection: float | None = None
    # the concurrent client's own CPU per connection, against synack and
    # against the kernel's server: near 1e6 / connections_per_second, the
    # client's core is the limit
    client_cpu_us_per_connection: float | None = None
    kernel_client_cpu_us_per_connection: float | None = None

    @property
    def label(self) -> str:
        return f"mtu {self.mtu}, offload {'on' if self.offload else 'off'}"

    @property
    def bulk_target(self) -> float:
        if self.mtu >= 65535:
            return TUN_BULK_TARGET_65535
        return TUN_BULK_TARGET_OFFLOAD if self.offload else TUN_BULK_TARGET

    def figures(self) -> list[Figure]:
        at = f" ({self.label})"
        figures = [
            Figure("tun bulk kernel -> synack" + at, self.to_synack_mb_per_second, "MB/s",
                   self.bulk_target),
            Figure("tun bulk synack -> kernel" + at, self.from_synack_mb_per_second, "MB/s",
                   self.bulk_target),
            Figure(f"tun connections (kernel client, {self.concurrency} at once)" + at,
                   self.connections_per_second, "conn/s", TUN_CONNECTIONS_TARGET),
        ]  # fmt: skip
        if self.sequential_connections_per_second is not None:
            figures.append(
                Figure("tun connections (kernel client, one at a time)" + at,
                       self.sequential_connections_per_second, "conn/s", TUN_CONNECTIONS_TARGET)
            )  # fmt: skip
        return figures

    @property
    def kernel_ratio(self) -> float | None:
        """Connections per second, synack's over the kernel's of the same run."""
        kernel = self.kernel_connections_per_second
        return self.connections_per_second / kernel if kernel else None

    def ceiling_fractions(self) -> dict[str, float]:
        """Each figure as a fraction of the raw TUN read ceiling, in the same unit:
        MB/s for the transfers; packets read per second for connections (the
        packets synack read per connection, measured; 5 where not)."""
        raw = self.raw_mb_per_second
        packets = self.packets_in_per_connection or 5
        return {
            "bulk kernel -> synack / raw read MB/s": self.to_synack_mb_per_second / raw,
            "bulk synack -> kernel / raw read MB/s": self.from_synack_mb_per_second / raw,
            f"connections x {packets:.1f} packets read / raw read packets/s": (
                packets * self.connections_per_second / self.raw_packets_per_second
            ),
        }


def offload_gains(results: list[TunResult]) -> dict[str, float]:
    """For each MTU measured both ways in one run: each bulk figure with
    offload over the same figure without (issue 16 asks 3x at MTU 1500)."""
    gains = {}
    for on in results:
        off = next((r for r in results if r.mtu == on.mtu and not r.offload), None)
        if not on.offload or off is None:
            continue
        gains[f"mtu {on.mtu} kernel -> synack, offload on / off"] = (
            on.to_synack_mb_per_second / off.to_synack_mb_per_second
        )
        gains[f"mtu {on.mtu} synack -> kernel, offload on / off"] = (
            on.from_synack_mb_per_second / off.from_synack_mb_per_second
        )
    return gains


@dataclass(frozen=True, slots=True)
class AnalyzeResult:
    """``synack analyze`` against tshark's TCP analysis on one capture, one run."""

    packets: int
    connections: int
    synack_seconds: float
    synack_packets_per_second: float
    synack_peak_mib: float  # the largest peak resident memory of its processes
    tshark_seconds: float | None
    tshark_packets_per_second: float | None
    capture_mib: float
    synack_jobs: int = 1  # processes sharing the connections (synack analyze's default)
    single_packets_per_second: float | None = None  # the same, in one process
    single_peak_mib: float | None = None

    @property
    def single_ratio(self) -> float | None:
        tshark = self.tshark_packets_per_second
        single = self.single_packets_per_second
        return None if not tshark or single is None else single / tshark

    @property
    def ratio(self) -> float | None:
        tshark = self.tshark_packets_per_second
        return None if not tshark else self.synack_packets_per_second / tshark

    def figures(self) -> list[Figure]:
        if self.tshark_packets_per_second is None:
            return []
        return [Figure("analyze packets/s over tshark's", self.ratio or 0.0, "x", ANALYZE_TARGET)]


ASGI_RATIO_TARGET = 0.5  # an ASGI app's requests/s over synack, over the kernel's TCP


@dataclass(frozen=True, slots=True)
class AsgiResult:
    """An ASGI app served by uvicorn's H11Protocol over synack and over the
    kernel's TCP, loaded by the same kernel-side client in one run (bench/asgi.py)."""

    requests: int  # keep-alive requests per path
    connections: int  # keep-alive connections, one request in flight on each
    per_request: int  # requests with a connection each, per path
    synack_keep_alive: float  # requests/s
    kernel_keep_alive: float
    synack_per_request: float
    kernel_per_request: float

    @property
    def keep_alive_ratio(self) -> float:
        return self.synack_keep_alive / self.kernel_keep_alive

    @property
    def per_request_ratio(self) -> float:
        return self.synack_per_request / self.kernel_per_request

    def figures(self) -> list[Figure]:
        return [
            Figure(f"asgi req/s synack / kernel (keep-alive, {self.connections} conns)",
                   self.keep_alive_ratio, "x", ASGI_RATIO_TARGET),
            Figure("asgi req/s synack / kernel (a connection each)",
                   self.per_request_ratio, "x", ASGI_RATIO_TARGET),
        ]  # fmt: skip


Result = (
    LifecycleResult | BulkResult | MemoryResult | KernelResult | SimResult | TunResult
    | ReassemblyResult | AnalyzeResult | AsgiResult
)  # fmt: skip


def kernel_ratios(results: list[Result]) -> dict[str, float]:
    """Each synack throughput figure divided by the kernel's, from the same run."""
    kernel = next((r for r in results if isinstance(r, KernelResult)), None)
    if kernel is None:
        return {}
    ratios = {}
    for r in results:
        if isinstance(r, LifecycleResult):
            ratios[f"lifecycles ({r.path})"] = r.per_second / kernel.lifecycles_per_second
        elif isinstance(r, BulkResult):
            ratios[f"bulk ({r.path})"] = r.mb_per_second / kernel.bulk_mb_per_second
    return ratios


def figures(results: list[Result]) -> list[Figure]:
    return [figure for result in results for figure in result.figures()]


def to_json(results: list[Result]) -> dict[str, Any]:
    """Results and figures as plain data, for ``synack bench --json``."""
    return {
        "results": [{"benchmark": type(r).__name__, **asdict(r)} for r in results],
        "figures": [
            {
                "name": f.name,
                "value": f.value,
                "unit": f.unit,
                "target": f.target,
                "higher_is_better": f.higher_is_better,
                "ratio": f.ratio,
            }
            for f in figures(results)
        ],
        "kernel_ratios": kernel_ratios(results),
        # tun: synack's connections/s over the kernel's echo server's, same lab and run
        "tun_kernel_ratios": {
            r.label: r.kernel_ratio
            for r in results
            if isinstance(r, TunResult) and r.kernel_ratio is not None
        },
        # bytes per idle ESTABLISHED connection (per side) and per TIME-WAIT record
        "memory_bytes": {r.kind: r.bytes_each for r in results if isinstance(r, MemoryResult)},
        # the opt-in mypyc build (docs/compiled.md) or the .py files
        "engine_compiled": engine_compiled(),
    }
