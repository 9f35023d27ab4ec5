"""The ``synack`` command line."""

from __future__ import annotations

import json
import sys

import click
from rich.console import Console
from rich.text import Text

from synack.wire.seq import MASK

_FLAG_STYLE = {"S": "bold green", "F": "bold yellow", "R": "bold red", "P": "cyan"}


def _isn(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    if value is not None and not 0 <= value <= MASK:
        raise click.BadParameter(f"{value} is not a 32-bit sequence number (0 to {MASK})")
    return value


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="synack")
def main() -> None:
    """synack: TCP you can watch.

    An RFC 9293 TCP engine in Python. Start with `synack demo`.
    """


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the trace as JSON Lines.")
@click.option(
    "--isn-client", type=int, callback=_isn, help="Fix the client's initial sequence number."
)
@click.option(
    "--isn-server", type=int, callback=_isn, help="Fix the server's initial sequence number."
)
@click.option(
    "--msl",
    type=click.FloatRange(min=0.001),
    default=120.0,
    show_default=True,
    help="Maximum segment lifetime in seconds; TIME-WAIT lasts 2 x MSL.",
)
@click.option(
    "--delay",
    type=click.FloatRange(min=0.0),
    default=10.0,
    show_default=True,
    help="One-way link delay in milliseconds.",
)
def demo(
    as_json: bool, isn_client: int | None, isn_server: int | None, msl: float, delay: float
) -> None:
    """Run a client and a server in memory and show every segment.

    The client opens a connection (the 3-way handshake), sends a line, the
    server answers, and the client closes first (the 4-way handshake),
    waiting in TIME-WAIT for 2 x MSL of virtual time. Each segment is
    printed with its flags, sequence and acknowledgment numbers, length and
    window, next to both sides' states.
    """
    from synack.demo import run_demo

    result = run_demo(isn_client, isn_server, msl=msl, delay=delay / 1000.0)
    records = [
        item
        for item in result.recorder.to_dicts()
        if item["kind"] == "state" or (item["kind"] == "segment" and item["direction"] == "sent")
    ]
    if as_json:
        for item in records:
            sys.stdout.write(json.dumps(item) + "\n")
        return
    _print_demo(records)


def _print_demo(records: list[dict[str, object]]) -> None:
    """A two-sided listing that fits in 80 columns: time, client state, segment, server state."""
    console = Console(highlight=False)
    states = {"client": "CLOSED", "server": "LISTEN"}
    console.print(
        "[bold]synack demo[/]: a client and a server on a simulated network\n"
        "(virtual time in seconds; the server listens on port 80; "
        "-> is client to server)\n"
    )
    console.print(Text(f"{'time':>7}  {'client':<12} {'segment':<44} {'server'}", style="bold"))
    for item in records:
        t = f"{float(item['t']):>7.3f}"  # type: ignore[arg-type]
        who = str(item["endpoint"])
        if item["kind"] == "state":
            if item["old"] == "CLOSED" and item["new"] == "LISTEN":
                continue  # the listener was there from the start
            states[who] = str(item["new"])
            console.print(
                Text(f"{t}  {who}: {item['old']} -> {item['new']} ({item['cause']})", style="dim")
            )
            continue
        flags = str(item["flags"])
        line = Text(f"{t}  {states['client']:<12} {'->' if who == 'client' else '<-'} ")
        line.append(f"{flags:<3}", style=_FLAG_STYLE.get(flags[0], ""))
        segment = f" seq {item['seq']} ack {item['ack']} len {item['len']} win {item['win']}"
        line.append(f"{segment:<38} {states['server']}")
        console.print(line)
    console.print(
        "\nThe client closed first, so only it waited in TIME-WAIT (2 x MSL) before CLOSED;\n"
        "the server went CLOSE-WAIT -> LAST-ACK -> CLOSED."
    )


@main.command()
@click.argument(
    "which",
    type=click.Choice(["lifecycle", "bulk", "memory", "kernel", "all"]),
    default="all",
)
@click.option("--quick", is_flag=True, help="Reduced sizes, for a smoke run (well under 30 s).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def bench(which: str, quick: bool, as_json: bool) -> None:
    """Measure the engine in memory: lifecycles/s, bulk MB/s, bytes per connection.

    WHICH picks one group (lifecycle, bulk, memory, kernel) or all of them.
    Progress goes to stderr; the figures, their targets and the ratios (>= 1
    meets the target) go to stdout. synack runs in this process on a virtual
    clock; the kernel reference it is compared with runs over 127.0.0.1 only.
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from synack import bench as benchmarks

    err_console = Console(stderr=True)
    with Progress(
        TextColumn("{task.description:<22}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=err_console,
        transient=as_json,
    ) as bar:
        tasks: dict[str, object] = {}

        def progress(label: str, fraction: float) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=1.0)
            bar.update(tasks[label], completed=fraction)  # type: ignore[arg-type]

        results = benchmarks.run(which, quick=quick, progress=progress)

    if as_json:
        sys.stdout.write(json.dumps(benchmarks.to_json(results), indent=2) + "\n")
        return
    table = Table(title=f"synack bench{' --quick' if quick else ''}: {which}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("unit")
    table.add_column("target", justify="right")
    table.add_column("ratio", justify="right")
    for figure in benchmarks.figures(results):
        style = "green" if figure.ratio >= 1 else "red"
        table.add_row(
            figure.name,
            f"{figure.value:,.1f}",
            figure.unit,
            figure.target_text,
            Text(f"{figure.ratio:.2f}", style=style),
        )
    Console().print(table)
    Console().print("ratio >= 1 meets the target; throughput is wall time, sizes are tracemalloc")
    kernel = next((r for r in results if isinstance(r, benchmarks.KernelResult)), None)
    if kernel is not None:
        Console().print(
            f"\nthe kernel on loopback, same run, through Python sockets: "
            f"{kernel.lifecycles_per_second:,.0f} conn/s, {kernel.bulk_mb_per_second:,.0f} MB/s"
        )
        for name, ratio in benchmarks.kernel_ratios(results).items():
            Console().print(f"  synack {name} / kernel: {ratio:.3f}")
