"""``synack bench``'s tables: the figures against their targets, then the
kernel reference and the TUN ceiling when they were measured."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from synack.bench.compiled import engine_compiled
from synack.bench.results import (
    AnalyzeResult,
    AsgiResult,
    KernelResult,
    Result,
    TunResult,
    figures,
    kernel_ratios,
    offload_gains,
)


def print_report(results: list[Result], title: str, console: Console) -> None:
    """Everything ``synack bench`` prints after a run (without ``--json``)."""
    console.print(figures_table(results, title))
    console.print("ratio >= 1 meets the target; throughput is wall time, sizes are tracemalloc")
    console.print(engine_line())
    lines = kernel_lines(results) + tun_lines(results) + analyze_lines(results)
    for line in lines + asgi_lines(results):
        console.print(line)


def engine_line() -> str:
    """How the engine ran: compiled (the opt-in build) or from its .py files."""
    if engine_compiled():
        return "engine: compiled with mypyc (docs/compiled.md)"
    return "engine: pure Python (SYNACK_COMPILE=1 pip install . compiles it: docs/compiled.md)"


def figures_table(results: list[Result], title: str) -> Table:
    """One row per figure: value, unit, target, and the ratio in green when met."""
    table = Table(title=title)
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("unit")
    table.add_column("target", justify="right")
    table.add_column("ratio", justify="right")
    for figure in figures(results):
        style = "green" if figure.ratio >= 1 else "red"
        table.add_row(
            figure.name,
            f"{figure.value:,.1f}",
            figure.unit,
            figure.target_text,
            Text(f"{figure.ratio:.2f}", style=style),
        )
    return table


def kernel_lines(results: list[Result]) -> list[str]:
    """The kernel's loopback figures and each synack throughput over them."""
    kernel = next((r for r in results if isinstance(r, KernelResult)), None)
    if kernel is None:
        return []
    heading = (
        f"\nthe kernel on loopback, same run, through Python sockets: "
        f"{kernel.lifecycles_per_second:,.0f} conn/s, {kernel.bulk_mb_per_second:,.0f} MB/s"
    )
    ratios = kernel_ratios(results)
    return _ratio_lines(heading, {f"synack {name} / kernel": r for name, r in ratios.items()})


def tun_lines(results: list[Result]) -> list[str]:
    """The TUN figures as fractions of what Python alone reads from the device,
    for each MTU and offload setting measured; synack's CPU per connection;
    then what offload gave, for each MTU measured both ways."""
    lines = []
    runs = [r for r in results if isinstance(r, TunResult)]
    for tun in runs:
        refused = f" (offload refused: {tun.offload_refused})" if tun.offload_refused else ""
        heading = (
            f"\nin a lab with {tun.label}{refused}; Python alone reads the same TUN device at "
            f"{tun.raw_mb_per_second:,.0f} MB/s ({tun.raw_packets_per_second:,.0f} packets/s)"
        )
        lines += _ratio_lines(heading, tun.ceiling_fractions())
        if tun.synack_cpu_us_per_connection:
            cpu = tun.synack_cpu_us_per_connection
            lines.append(
                f"  synack's CPU per connection, {tun.concurrency} at once: {cpu:,.0f} us "
                f"(one core's worth: {1e6 / cpu:,.0f} conn/s)"
            )
        lines += _kernel_reference_lines(tun)
    gains = offload_gains(runs)
    if gains:
        lines += _ratio_lines("\nwhat offload gives, same run:", gains)
    return lines


def _kernel_reference_lines(tun: TunResult) -> list[str]:
    """synack's connections/s over the kernel's, the kernel server's CPU and
    the client's, in each run."""
    kernel, ratio = tun.kernel_connections_per_second, tun.kernel_ratio
    if kernel is None or ratio is None:
        return []
    lines = [
        f"  connections, {tun.concurrency} at once, same client: synack "
        f"{tun.connections_per_second:,.0f}/s, the kernel's TCP (asyncio echo server, "
        f"veth) {kernel:,.0f}/s: ratio synack / kernel {ratio:.3f}"
    ]
    if tun.kernel_cpu_us_per_connection:
        lines.append(
            f"  the kernel echo server's CPU per connection: "
            f"{tun.kernel_cpu_us_per_connection:,.0f} us"
        )
    client, kernel_client = (
        tun.client_cpu_us_per_connection,
        tun.kernel_client_cpu_us_per_connection,
    )
    if client and kernel_client:
        lines.append(
            f"  the client's CPU per connection: {client:,.0f} us against synack, "
            f"{kernel_client:,.0f} us against the kernel"
        )
    return lines


def _ratio_lines(heading: str, ratios: dict[str, float]) -> list[str]:
    return [heading, *(f"  {name}: {value:.3f}" for name, value in ratios.items())]


def analyze_lines(results: list[Result]) -> list[str]:
    """synack analyze's and tshark's packets per second on the same capture."""
    run = next((r for r in results if isinstance(r, AnalyzeResult)), None)
    if run is None:
        return []
    lines = [
        f"\na capture of {run.packets:,} packets, {run.connections:,} connections "
        f"({run.capture_mib:,.0f} MiB), same run:",
        f"  synack analyze, {run.synack_jobs} process(es): "
        f"{run.synack_packets_per_second:,.0f} packets/s, peak {run.synack_peak_mib:,.0f} MiB each",
    ]
    if run.single_packets_per_second is not None:
        lines.append(
            f"  synack analyze --jobs 1: {run.single_packets_per_second:,.0f} packets/s, "
            f"peak {run.single_peak_mib or 0:,.0f} MiB"
        )
    if run.tshark_packets_per_second is None:
        lines.append("  tshark: not installed, no ratio")
        return lines
    lines.append(f"  tshark (one process): {run.tshark_packets_per_second:,.0f} packets/s")
    lines.append(f"  ratio synack / tshark: {run.ratio or 0:.2f}")
    if run.single_ratio is not None:
        lines.append(f"  ratio synack --jobs 1 / tshark: {run.single_ratio:.2f}")
    return lines


def asgi_lines(results: list[Result]) -> list[str]:
    """The ASGI app's requests per second over synack and over the kernel's TCP."""
    lines = []
    for run in results:
        if not isinstance(run, AsgiResult):
            continue
        lines += [
            "\nan ASGI app (uvicorn's H11Protocol) in a lab, one kernel-side client, same run:",
            f"  keep-alive, {run.connections} connections, {run.requests:,} requests: synack "
            f"{run.synack_keep_alive:,.0f} req/s, kernel {run.kernel_keep_alive:,.0f} req/s, "
            f"ratio {run.keep_alive_ratio:.2f}",
            f"  a connection per request, {run.per_request:,} requests: synack "
            f"{run.synack_per_request:,.0f} req/s, kernel {run.kernel_per_request:,.0f} req/s, "
            f"ratio {run.per_request_ratio:.2f}",
        ]
    return lines
