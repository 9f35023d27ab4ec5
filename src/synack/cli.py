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
