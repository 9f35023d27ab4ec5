"""The ``synack`` command line."""

from __future__ import annotations

import errno
import importlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.console import Console
from rich.text import Text

from synack.cli_params import SEED, SIM_BOUNDS, Bound, BoundedFloat, OutputFile, link_problem
from synack.wire.seq import MASK

if TYPE_CHECKING:
    from rich.table import Table

    from synack.apps.live_trace import LiveTrace
    from synack.conformance.runtime import RunResult
    from synack.conformance.suite import SuiteReport
    from synack.net.lab import Lab, LabProcess
    from synack.scenarios import Outcome
    from synack.sim.faults import FaultSpec
    from synack.sim.network import LinkConfig
    from synack.trace.records import TraceRecorder


def _isn(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    if value is not None and not 0 <= value <= MASK:
        raise click.BadParameter(f"{value} is not a 32-bit sequence number (0 to {MASK})")
    return value


# Commands that live in modules of their own, as "module:attribute". They are
# imported only when named (or listed by --help), so `synack demo` never pays for
# what they import. To add one, add a line here; keep the names sorted.
LAZY_COMMANDS: dict[str, str] = {
    "sweep": "synack.sweep.cli:sweep",
    "web": "synack.web.cli:web",
}


class _Commands(click.Group):
    """The top-level group: the commands below, and those of LAZY_COMMANDS."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *LAZY_COMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = LAZY_COMMANDS.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module_name, _, attribute = target.partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(command, click.Command), target
        return command

    def invoke(self, ctx: click.Context) -> Any:
        """A full disk met while writing (a --pcap, an --html page, standard
        output) cannot be checked before the work: it is said on one line."""
        try:
            return super().invoke(ctx)
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
                raise
            where = exc.filename or "the output"
            raise click.ClickException(f"cannot write {where}: {exc.strerror}") from None


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="synack")
def main() -> None:
    """synack: TCP you can watch.

    An RFC 9293 TCP engine in Python. Start with `synack demo`.
    """


def _sim_parse(
    kind: str, bound: str | None = None
) -> Callable[[click.Context, click.Parameter, object], object]:
    """A click callback parsing the option's text (each text, if repeatable) as ``kind``:
    duration, seconds, rate, size, probability, queue, link, or a fault action; the
    value then within SIM_BOUNDS[bound], each link setting within its own."""

    def callback(ctx: click.Context, param: click.Parameter, value: object) -> object:
        from synack.sim import options
        from synack.sim.faults import ACTIONS, parse_fault

        parser: Callable[[str], object]
        if kind in ACTIONS:
            parser = lambda text: parse_fault(kind, text)  # noqa: E731
        elif kind == "seconds":
            parser = lambda text: options.parse_duration(text, default_unit="s")  # noqa: E731
        else:
            parser = getattr(options, f"parse_{kind}")

        def parse(text: str) -> object:
            parsed = parser(text)
            if isinstance(parsed, dict):
                problem = link_problem(parsed)
            elif bound is not None and isinstance(parsed, int | float):
                problem = SIM_BOUNDS[bound].problem(parsed, repr(text))
            else:
                problem = None
            if problem is not None:
                raise ValueError(problem)
            return parsed

        if value is None:
            return None
        try:
            if isinstance(value, tuple):
                return tuple(parse(item) for item in value)
            return parse(str(value))
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None

    return callback


F = TypeVar("F", bound=Callable[..., Any])


def _segment_faults(command: F) -> F:
    """--drop, --delay-segment and --duplicate-segment: faults on chosen segments,
    for demo and simulate alike (synack.sim.faults)."""
    for option in reversed((
        click.option(
            "--drop", "drops", multiple=True, metavar="SPEC", callback=_sim_parse("drop"),
            help="Drop chosen segments: [c2s:|s2c:]FLAGS:N[-M] (repeatable; the Nth matching "
            "segment, counting from 1).",
        ),
        click.option(
            "--delay-segment", "delays", multiple=True, metavar="SPEC",
            callback=_sim_parse("delay"),
            help="Delay chosen segments: [c2s:|s2c:]FLAGS:N[-M]:DELAY (repeatable).",
        ),
        click.option(
            "--duplicate-segment", "duplicates", multiple=True, metavar="SPEC",
            callback=_sim_parse("duplicate"),
            help="Send chosen segments twice, the copy DELAY later: "
            "[c2s:|s2c:]FLAGS:N[-M][:DELAY] (repeatable).",
        ),
    )):  # fmt: skip
        command = option(command)
    return command


@main.command()
@click.argument("scenario", required=False)
@click.option("--list", "list_only", is_flag=True, help="List the scenarios and exit.")
@click.option(
    "--lang",
    type=click.Choice(["en", "ko"]),
    default="en",
    show_default=True,
    help="Language of the narration (ko: Korean, like the seed notes).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["ladder", "mermaid", "json", "none"]),
    default="ladder",
    show_default=True,
    help="How to print the trace.",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the trace as JSON Lines (--format json)."
)
@click.option(
    "--html",
    type=OutputFile(),
    help="Also write a self-contained HTML page with a step-through ladder.",
)
@click.option(
    "--pcap",
    type=OutputFile(),
    help="Also write every packet to a pcap file for Wireshark.",
)
@click.option("--absolute", is_flag=True, help="Absolute sequence numbers (default: relative).")
@click.option(
    "--isn-client", type=int, callback=_isn, help="Fix the client's initial sequence number."
)
@click.option(
    "--isn-server", type=int, callback=_isn, help="Fix the server's initial sequence number."
)
@click.option(
    "--msl",
    type=BoundedFloat(Bound(0.001, 3600, "s")),
    default=120.0,
    show_default=True,
    help="Maximum segment lifetime in seconds (0.001 to 3600); TIME-WAIT lasts 2 x MSL.",
)
@click.option(
    "--delay",
    type=BoundedFloat(Bound(0, 60_000, "ms")),
    default=10.0,
    show_default=True,
    help="One-way link delay in milliseconds (0 to 60000).",
)
@click.option(
    "--seed", type=SEED, default=1, show_default=True, help="Seed of the run (0 to 2^32-1)."
)
@click.option(
    "--file",
    "scenario_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Run the scenario in this TOML file instead (docs/scenario-files.md).",
)
@_segment_faults
def demo(
    scenario: str | None,
    list_only: bool,
    lang: str,
    fmt: str,
    as_json: bool,
    html: str | None,
    pcap: str | None,
    absolute: bool,
    isn_client: int | None,
    isn_server: int | None,
    msl: float,
    delay: float,
    seed: int,
    scenario_file: str | None,
    drops: tuple[FaultSpec, ...],
    delays: tuple[FaultSpec, ...],
    duplicates: tuple[FaultSpec, ...],
) -> None:
    """Run a scenario on the simulated network and draw what happened.

    Without SCENARIO, runs "close": the 3-way handshake, a request and a
    reply, and the 4-way handshake, the client closing first and waiting in
    TIME-WAIT for 2 x MSL of virtual time. `synack demo --list` shows every
    scenario: lost SYNs, simultaneous open and close, half-close, abort, a
    lossy 1 MB transfer...

    \b
    Examples:
      synack demo handshake --isn-client 4321
      synack demo lost-final-ack --lang ko
      synack demo close --html close.html --pcap close.pcap
      synack demo lost-final-ack --drop s2c:F.:1   # lose the server's FIN too
    """
    from synack.scenarios import DEFAULT_SCENARIO, SCENARIOS, Options, run_scenario

    fmt_given = click.get_current_context().get_parameter_source("fmt")
    if as_json and fmt != "json" and fmt_given is not click.core.ParameterSource.DEFAULT:
        raise click.UsageError(f"--json is --format json: it cannot go with --format {fmt}")
    console = Console(highlight=False)
    if list_only:
        for name, item in SCENARIOS.items():
            console.print(f"[bold]{name:<20}[/] {item.title[lang]}")
        return
    if scenario_file is not None:
        from synack.scenario_file import ScenarioFileError, load_scenario

        if scenario is not None:
            raise click.UsageError("give a SCENARIO name or --file, not both")
        if click.get_current_context().get_parameter_source("delay") is not (
            click.core.ParameterSource.DEFAULT
        ):
            raise click.UsageError("--delay: a scenario file sets its own links ([link] delay)")
        try:
            chosen = load_scenario(scenario_file)
        except ScenarioFileError as exc:
            raise click.ClickException(str(exc)) from None
    else:
        name = scenario or DEFAULT_SCENARIO
        if name not in SCENARIOS:
            raise click.BadParameter(
                f"no scenario {name!r}; choose from: {', '.join(SCENARIOS)}",
                param_hint="SCENARIO",
            )
        chosen = SCENARIOS[name]
    faults = (*drops, *delays, *duplicates)
    options = Options(seed, isn_client, isn_server, msl, delay / 1000.0, faults)
    outcome = chosen.run(options) if scenario_file else run_scenario(chosen.name, options)
    if as_json:
        fmt = "json"
    files = bool(html or pcap)
    source = click.get_current_context().get_parameter_source("fmt")
    if files and fmt == "ladder" and source is click.core.ParameterSource.DEFAULT:
        fmt = "none"  # the files and a summary: the ladder only when asked for
    _write_trace(outcome, console, fmt, html, pcap, absolute, chosen.explain(outcome, lang),
                 lang)  # fmt: skip


def _write_trace(
    outcome: Outcome,
    console: Console,
    fmt: str,
    html: str | None,
    pcap: str | None,
    absolute: bool,
    description: tuple[str, tuple[str, ...]],
    lang: str = "en",
) -> None:
    """Show a scenario's run as ``fmt`` with its narration around it, and write the
    files asked for. Mermaid output stays a valid Mermaid file: the narration and
    the facts are ``%%`` comments in it; JSON Lines have neither. What was
    written is said on stdout, or on stderr when stdout holds Mermaid or JSON."""
    from synack.trace import i18n
    from synack.trace.html import write_html
    from synack.trace.ladder import render_ladder, summary_lines
    from synack.trace.mermaid import render_mermaid
    from synack.trace.output import json_records
    from synack.trace.pcap import write_pcap
    from synack.trace.timeline import build_timeline

    title, notes = description
    records = outcome.recorder.records
    facts = [f"{i18n.fact(k, lang)}: {i18n.fact(v, lang)}" for k, v in outcome.facts.items()]
    if fmt == "mermaid":
        head = [f"{outcome.name}: {title}", *(f"  - {note}" for note in notes)]
        comments = (f"%% {' '.join(line.splitlines())}\n" for line in head)
        console.out("".join(comments), end="", highlight=False)
        console.out(render_mermaid(records, absolute=absolute, lang=lang), end="", highlight=False)
        console.out("".join(f"%% {fact}\n" for fact in facts), end="", highlight=False)
    elif fmt == "json":
        for item in json_records(records):
            console.out(json.dumps(item), highlight=False)
    else:
        console.print(f"[bold]{outcome.name}[/]: {title}")
        if fmt == "ladder" or not (html or pcap):
            for line in notes:
                console.print(f"  - {line}")
        console.print()
        if fmt == "ladder":
            render_ladder(records, console, absolute=absolute, title=title, lang=lang)
            console.print()
        for line in summary_lines(build_timeline(records, absolute=absolute), lang):
            console.print(f"  {line}", markup=False, soft_wrap=True)
        for fact in facts:
            console.print(f"  {fact}", markup=False, soft_wrap=True)
    said = console if fmt in ("ladder", "none") else Console(stderr=True, highlight=False)
    if html is not None:
        write_html(records, html, title=title, narration=list(notes), absolute=absolute,
                   lang=lang)  # fmt: skip
        said.print(i18n.ui("wrote_html", lang, path=html), soft_wrap=True, markup=False)
    if pcap is not None:
        count = write_pcap(records, pcap)
        said.print(i18n.ui("wrote_pcap", lang, count=count, path=pcap), soft_wrap=True,
                   markup=False)  # fmt: skip
    if fmt == "none" and (html or pcap):
        said.print(i18n.ui("ladder_hint", lang), style="dim")


# synack.bench.BENCHMARKS, spelled here so that --help needs no import of it
_BENCH_GROUPS = (
    "lifecycle", "bulk", "memory", "reassembly", "kernel", "sim", "tun", "analyze", "asgi",
)  # fmt: skip


@main.command()
@click.argument(
    "which",
    type=click.Choice([*_BENCH_GROUPS, "all"]),
    default="all",
    metavar="[WHICH]",
)
@click.option("--quick", is_flag=True, help="Reduced sizes, for a smoke run (well under 30 s).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option(
    "--mtu", "mtus", type=click.IntRange(1280, 65535), multiple=True, metavar="MTU",
    help="With tun: the lab's MTU (repeatable; default 65535). Each is measured "
    "without offloads and with them (virtio-net header, TSO, 64 KB super-segments).",
)  # fmt: skip
def bench(which: str, quick: bool, as_json: bool, mtus: tuple[int, ...]) -> None:
    """Measure the engine in memory: lifecycles/s, bulk MB/s, bytes per connection.

    WHICH picks one group (lifecycle, bulk, memory, reassembly, kernel, sim,
    tun, analyze, asgi) or all of them but tun, analyze and asgi; reassembly stores
    one-byte segments at every other byte and then completes them; sim runs
    10,000 connections at once on the simulated network; tun (root only)
    measures synack against the kernel's TCP through a TUN device in a lab of
    its own, at each --mtu without offloads and with them, and the same
    kernel client against the kernel's own TCP across a veth pair as the
    connections/s reference; analyze makes a
    capture of about a million packets with the simulator and times `synack
    analyze` on it against tshark's TCP analysis; asgi (root only) serves an
    ASGI app with uvicorn's protocol over synack and over the kernel's TCP in a
    lab and gives each one's requests per second and the ratio.
    Progress goes to stderr; the figures, their targets and the ratios (>= 1
    meets the target) go to stdout. In memory, synack runs in this process on
    a virtual clock, and the kernel reference it is compared with runs over
    127.0.0.1 only.
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    if mtus and which != "tun":
        raise click.BadParameter(f"the MTU of tun's lab: not with {which}", param_hint="--mtu")

    from synack import bench as benchmarks
    from synack.bench.report import print_report
    from synack.bench.tun import TunBenchError
    from synack.net.lab import LabError
    from synack.net.tun import TunError

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

        try:
            results = benchmarks.run(
                which, quick=quick, progress=progress, tun_mtus=mtus or (65535,)
            )
        except (LabError, TunError, TunBenchError) as exc:  # no root, no TUN, a side failed
            raise click.ClickException(str(exc)) from None

    if as_json:
        sys.stdout.write(json.dumps(benchmarks.to_json(results), indent=2) + "\n")
        return
    print_report(results, f"synack bench{' --quick' if quick else ''}: {which}", Console())


# ----------------------------------------------------------------------
# synack lab / listen / connect
# ----------------------------------------------------------------------
def _lab_name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    import re

    # a network namespace is a file in /run/netns: one plain file name
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", value):
        raise click.BadParameter(
            f"{value!r} is not a namespace name: 1 to 64 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return value


_LAB_NAME = click.option(
    "--name", default="synack-lab", show_default=True, callback=_lab_name, envvar="SYNACK_LAB",
    help="The lab's network namespace (or $SYNACK_LAB).",
)  # fmt: skip


def _lab(name: str, mtu: int = 1500, offload: bool = False) -> Lab:
    from synack.net.lab import Lab

    return Lab(name=name, mtu=mtu, offload=offload)


@main.group()
def lab() -> None:
    """A network namespace where synack meets the kernel's TCP.

    Inside it, the TUN device synack0 has the kernel's addresses (10.77.0.1,
    fd77::1); synack answers for 10.77.0.2 and fd77::2 behind it. Each more
    synack process at once gets a device and addresses of its own (synack1 with
    10.77.0.3 and fd77::3, ...). Nothing leaves the namespace. Needs root.
    """


@lab.command("up")
@_LAB_NAME
@click.option(
    "--mtu", type=click.IntRange(1280, 65535), default=1500, show_default=True,
    help="The TUN device's MTU (64 KB segments make bulk transfers much faster).",
)  # fmt: skip
def lab_up(name: str, mtu: int) -> None:
    """Create the lab (again, if it exists)."""
    from synack.net.lab import LabError

    the_lab = _lab(name, mtu)
    try:
        stopped = the_lab.up()
    except LabError as exc:
        raise click.ClickException(str(exc)) from None
    _say_stopped(name, stopped)
    click.echo(
        f"lab {name} is up: kernel {the_lab.kernel_v4} and {the_lab.kernel_v6}, "
        f"synack {the_lab.synack_v4} and {the_lab.synack_v6} (mtu {mtu})"
    )


@lab.command("down")
@_LAB_NAME
def lab_down(name: str) -> None:
    """Stop every process in the lab, saying which, and remove it."""
    from synack.net.lab import LabError

    the_lab = _lab(name)
    try:
        if not the_lab.exists:
            raise LabError(f"no lab named {name}: nothing to take down")
        stopped = the_lab.down()
    except LabError as exc:
        raise click.ClickException(str(exc)) from None
    _say_stopped(name, stopped)
    click.echo(f"lab {name} is down")


def _say_stopped(name: str, stopped: list[LabProcess]) -> None:
    for proc in stopped:
        click.echo(f"stopped pid {proc.pid} in lab {name}: {proc.command}")


@lab.command("exec", context_settings={"ignore_unknown_options": True})
@_LAB_NAME
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def lab_exec(name: str, command: tuple[str, ...]) -> None:
    """Run COMMAND as the kernel side, e.g. synack lab exec curl http://10.77.0.2/"""
    import os

    from synack.net.lab import LabError

    the_lab = _lab(name)
    try:
        if not the_lab.exists:
            raise LabError(f"no lab named {name}: run 'synack lab up' first")
        argv = the_lab.command(list(command))
    except LabError as exc:
        raise click.ClickException(str(exc)) from None
    os.execvp(argv[0], argv)


def _live_trace(ladder: bool, pcap: str | None) -> LiveTrace | None:
    from synack.apps.live_trace import LiveTrace

    if not ladder and not pcap:
        return None
    return LiveTrace(ladder, pcap, Console(stderr=True, highlight=False))


_LADDER = click.option("--ladder", is_flag=True, help="Draw each segment and state change live.")
_IMPAIR = click.option(
    "--impair",
    metavar="KEY=VALUE,...",
    help="A simulated link between the TUN device and synack, both ways "
    "(loss=5%,delay=20ms,jitter=5ms,reorder=10%): netem's job, where the kernel has no netem.",
)


def _impairment(text: str | None) -> LinkConfig | None:
    from synack.sim.network import LinkConfig
    from synack.sim.options import OptionError, build_link, parse_link_overrides

    if text is None:
        return None
    try:
        return build_link(LinkConfig(delay=0.0), parse_link_overrides(text))
    except OptionError as exc:
        raise click.BadParameter(str(exc), param_hint="--impair") from None


_PCAP = click.option(
    "--pcap", type=OutputFile(),
    help="Write the packets here: as synack handed them to the TUN device and got them "
    "from it (with --offload, super-segments whole, before the kernel cut them).",
)  # fmt: skip
_OFFLOAD = click.option(
    "--offload", is_flag=True,
    help="Open the TUN device with a virtio-net header and TSO/checksum offloads: "
    "super-segments of up to 64 KB both ways (plain packets, said once, if the kernel refuses).",
)  # fmt: skip


@main.command()
@click.argument("port", type=click.IntRange(1, 65535))
@click.option("--echo", "mode", flag_value="echo", default=True, help="Echo (the default).")
@click.option("--discard", "mode", flag_value="discard", help="Read and drop everything.")
@click.option(
    "--http", "http_dir", type=click.Path(exists=True, file_okay=False),
    help="Serve the files of this folder over HTTP (GET and HEAD, one request per "
    "connection). A request-target over 8 KiB gets 414, a request head over 16 KiB "
    "431, a malformed request 400; paths are percent-decoded and kept inside the folder.",
)  # fmt: skip
@click.option(
    "--max-connections", type=click.IntRange(1, 100_000), default=256, show_default=True,
    metavar="N",
    help="With --http: connections served at once; one more gets 503 and the close.",
)  # fmt: skip
@click.option(
    "--header-timeout", type=BoundedFloat(Bound(0, 86_400, "s", low_open=True)), default=10.0,
    show_default=True, metavar="SECONDS",
    help="With --http: time for a request's whole head to arrive (against slowloris); "
    "after it, 408 and the close.",
)  # fmt: skip
@click.option(
    "--send-timeout", type=BoundedFloat(Bound(0, 86_400, "s", low_open=True)), default=300.0,
    show_default=True, metavar="SECONDS",
    help="With --http: how long sending a file may stall (the client not reading, "
    "against slow readers) before the connection is reset.",
)  # fmt: skip
@click.option("--count", type=click.IntRange(1), help="Exit after this many connections.")
@click.option(
    "--fastopen", type=click.IntRange(1, 65535), metavar="QLEN",
    help="TCP Fast Open (RFC 7413) with this queue length: a client with our cookie "
    "sends its request in the SYN (curl --tcp-fastopen; docs/fastopen.md).",
)  # fmt: skip
@_LAB_NAME
@_LADDER
@_PCAP
@_IMPAIR
@_OFFLOAD
def listen(
    port: int,
    mode: str,
    http_dir: str | None,
    max_connections: int,
    header_timeout: float,
    send_timeout: float,
    count: int | None,
    fastopen: int | None,
    name: str,
    ladder: bool,
    pcap: str | None,
    impair: str | None,
    offload: bool,
) -> None:
    """Serve PORT on synack's lab addresses (10.77.0.2, fd77::2; 10.77.0.3 and
    fd77::3 if another synack process holds those, and so on).

    Try it with: synack lab exec curl http://10.77.0.2:PORT/
    """
    import asyncio

    from synack.apps import servers
    from synack.apps.lab import listen as serve
    from synack.net.lab import LabError
    from synack.net.tun import TunError

    ctx = click.get_current_context()
    given = [p for p in ctx.command.params if ctx.get_parameter_source(p.name or "") is
             click.core.ParameterSource.COMMANDLINE]  # fmt: skip
    http_only = {"max_connections", "header_timeout", "send_timeout"}
    for param in given:  # what the server of one mode would ignore
        if http_dir is None and param.name in http_only:
            raise click.BadParameter("goes with --http DIRECTORY", param_hint=param.opts[0])
        if http_dir is not None and param.name == "mode":
            raise click.BadParameter("--http serves files: not with --echo or --discard",
                                     param_hint="--http")  # fmt: skip
    link = _impairment(impair)
    handler: servers.Handler = servers.echo if mode == "echo" else servers.discard
    if http_dir is not None:
        handler = servers.http_files(
            Path(http_dir),
            max_connections=max_connections,
            head_timeout=header_timeout,
            idle_timeout=send_timeout,
        )
    the_lab = _lab(name, offload=offload)
    trace = _live_trace(ladder, pcap)
    err = Console(stderr=True, highlight=False)

    def ready(addresses: tuple[object, ...]) -> None:
        what = f"files of {http_dir} over HTTP" if http_dir else mode
        where = " and ".join(f"[{a}]:{port}" if ":" in str(a) else f"{a}:{port}" for a in addresses)
        err.print(f"synack serves {what} on {where}", markup=False)

    try:
        asyncio.run(serve(the_lab, port, handler, trace, count, ready, link, fastopen or 0))
    except (LabError, TunError) as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        pass


@main.command()
@click.argument("host")
@click.argument("port", type=click.IntRange(1, 65535))
@_LAB_NAME
@_LADDER
@_PCAP
@_IMPAIR
@_OFFLOAD
def connect(
    host: str,
    port: int,
    name: str,
    ladder: bool,
    pcap: str | None,
    impair: str | None,
    offload: bool,
) -> None:
    """Connect from synack to HOST:PORT in the lab, like nc: stdin goes to the
    peer (then a FIN), the peer's bytes to stdout.

    Try it with a kernel server: synack lab exec python3 -m http.server 8000 &
    then: printf 'GET / HTTP/1.0\\r\\n\\r\\n' | synack connect 10.77.0.1 8000
    """
    import asyncio

    from synack.apps.lab import connect as open_session
    from synack.net.lab import LabError
    from synack.net.tun import TunError
    from synack.wire.ip import parse_address

    try:
        parse_address(host)
    except ValueError:
        raise click.BadParameter(f"{host!r} is not an IP address", param_hint="HOST") from None
    link = _impairment(impair)
    try:
        trace = _live_trace(ladder, pcap)
        status = asyncio.run(open_session(_lab(name, offload=offload), host, port, trace, link))
    except (LabError, TunError) as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        status = 130
    sys.exit(status)


# ----------------------------------------------------------------------
# synack conformance
# ----------------------------------------------------------------------
@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option(
    "--profile",
    type=click.Choice(["freebsd", "linux"]),
    default="freebsd",
    show_default=True,
    help="The stack the scripts were written against, as a TcpConfig of ours.",
)
@click.option(
    "--expected-failures",
    type=click.Path(exists=True, dir_okay=False),
    help="A file of 'script.pkt reason' lines: those failures are expected (XFAIL).",
)
@click.option(
    "--define",
    "-D",
    "defines",
    multiple=True,
    metavar="NAME[=VALUE]",
    help="Set #ifdef NAME; with =VALUE, also replace NAME by VALUE in the scripts "
    "(packetdrill's -D). Repeatable.",
)
@click.option(
    "--ip-version",
    "ip_version",
    type=click.Choice(["ipv4", "ipv4-mapped-ipv6", "ipv6"]),
    help="Run in this mode (its addresses, MTU and -D values; default: the profile's first).",
)
@click.option(
    "--all-ip-versions",
    is_flag=True,
    help="Run each script in every mode of the profile that runs it, as packetdrill's "
    "run_all.py does (*v4.pkt and *v6.pkt only in their own family).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report instead of lines.")
@click.option("-v", "--verbose", is_flag=True, help="Show the whole difference of each FAIL.")
def conformance(
    paths: tuple[str, ...],
    profile: str,
    expected_failures: str | None,
    defines: tuple[str, ...],
    ip_version: str | None,
    all_ip_versions: bool,
    as_json: bool,
    verbose: bool,
) -> None:
    """Run packetdrill scripts against the engine, on a virtual clock.

    PATHS are .pkt files or folders of them (searched recursively). Each
    script plays the peer of one Host: its '<' segments are injected, its
    '>' segments must match what the Host sends, field by field, within the
    script's --tolerance_usecs. One line per script: PASS, FAIL (the stack
    did something else, with the first difference) or ERROR (the script uses
    something this interpreter cannot run). The exit status is 0 when every
    script passed or failed as expected.

    Linux's scripts (google/packetdrill's gtests/net/tcp) run as shipped with
    --profile linux: their `../common/defaults.sh` is read and its sysctls
    emulated (nothing runs on this machine), in the modes of run_all.py
    with --all-ip-versions. A summary per folder ends the run.

    \b
    Examples:
      synack conformance tests/conformance/tcp-testsuite
      synack conformance --profile linux --all-ip-versions DIR/gtests/net/tcp
    """
    from synack.conformance.profiles import PROFILES
    from synack.conformance.suite import (
        expected_reason,
        find_scripts,
        load_expected_failures,
        run_suite,
    )

    if ip_version is not None and all_ip_versions:
        raise click.UsageError("--ip-version and --all-ip-versions: choose one")
    chosen_profile = PROFILES[profile]
    try:
        modes = (
            list(chosen_profile.modes)
            if all_ip_versions
            else [chosen_profile.mode(ip_version or chosen_profile.modes[0].name)]
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--ip-version") from None
    names, definitions = set(), {}
    for define in defines:
        name, eq, value = define.partition("=")
        if not name.isidentifier():
            raise click.BadParameter(f"{define!r}: expected NAME or NAME=VALUE", param_hint="-D")
        names.add(name)
        if eq:
            definitions[name] = value
    try:
        expected = load_expected_failures(expected_failures) if expected_failures else {}
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--expected-failures") from None
    scripts = find_scripts(paths)
    if not scripts:
        raise click.BadParameter("no .pkt scripts there", param_hint="PATHS")
    root = _common_root(scripts)
    console = Console(highlight=False, soft_wrap=True)

    def show(result: RunResult) -> None:
        if as_json:
            return
        name = str(Path(result.path).resolve().relative_to(root)) if root else result.path
        if len(modes) > 1:
            name += f" ({result.mode})"
        listed = expected_reason(expected, result) is not None
        if result.status == "PASS":
            tag = Text("XPASS" if listed else "PASS", style="red" if listed else "green")
            console.print(tag, name, markup=False)  # script text is not markup
            return
        tag = Text("XFAIL" if listed else result.status, style="yellow" if listed else "red")
        first, *rest = result.message.split("\n")
        where = f":{result.line}" if result.line else ""
        console.print(tag, f"{name}{where}", first, markup=False)
        if verbose or not listed:
            for line in rest:
                console.print(line, markup=False)

    report = run_suite(
        scripts, chosen_profile, names, expected_failures=expected, on_result=show,
        modes=modes, definitions=definitions,
    )  # fmt: skip
    if as_json:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
    else:
        if len({p.parent for p in scripts}) > 1 or len(modes) > 1:
            console.print(_conformance_summary(report, root, [m.name for m in modes]))
        xfail = sum(report.expected(r) and r.status != "PASS" for r in report.results)
        tail = f" ({xfail} expected)" if expected else ""
        console.print(f"{report.passed} passed, {report.failed} failed{tail}")
    if report.unexpected:
        sys.exit(1)


def _conformance_summary(report: SuiteReport, root: Path | None, modes: list[str]) -> Table:
    """Passed / failed / expected failures per folder and mode."""
    from rich.table import Table

    counts: dict[tuple[str, str], list[int]] = {}
    for result in report.results:
        path = Path(result.path).resolve()
        folder = str(path.parent.relative_to(root)) if root else str(path.parent)
        row = counts.setdefault((folder, result.mode), [0, 0, 0])
        if result.status == "PASS":
            row[0] += 1
        elif report.expected(result):
            row[2] += 1
        else:
            row[1] += 1
    table = Table(title="by folder")
    table.add_column("folder")
    for mode in modes:
        table.add_column(f"{mode}: pass / fail / xfail", justify="right")
    for folder in sorted({f for f, _ in counts}):
        cells = []
        for mode in modes:
            p, f, x = counts.get((folder, mode), [0, 0, 0])
            cells.append(f"{p} / {f} / {x}" if p + f + x else "-")
        table.add_row(folder, *cells)
    totals = []
    for mode in modes:
        rows = [v for (_, m), v in counts.items() if m == mode]
        p, f, x = (sum(r[i] for r in rows) for i in range(3))
        share = f" ({100 * p / (p + f + x):.0f}%)" if p + f + x else ""
        totals.append(f"{p} / {f} / {x}{share}")
    table.add_row("all", *totals, style="bold")
    return table


def _common_root(paths: list[Path]) -> Path | None:
    import os

    try:
        return Path(os.path.commonpath([p.parent.resolve() for p in paths]))
    except ValueError:
        return None


# ----------------------------------------------------------------------
# synack simulate
# ----------------------------------------------------------------------
_SIM_TRACE_FORMATS = ("ladder", "mermaid", "json", "none")


@main.command()
@click.option(
    "-n", "--connections", type=click.IntRange(1, 1_000_000), default=1, show_default=True,
    help="Connections to run at once.",
)  # fmt: skip
@click.option(
    "--bytes-up", default="10k", show_default=True, callback=_sim_parse("size", "size"),
    help="Bytes each client sends (10000, 10k, 1m, 64ki).",
)  # fmt: skip
@click.option(
    "--bytes-down", default="10k", show_default=True, callback=_sim_parse("size", "size"),
    help="Bytes each server sends back.",
)  # fmt: skip
@click.option(
    "--delay", default="10ms", show_default=True, callback=_sim_parse("duration", "delay"),
    help="One-way propagation delay (a bare number is ms; 10ms, 1.5s, 250us).",
)  # fmt: skip
@click.option(
    "--jitter", default="0", show_default=True, callback=_sim_parse("duration", "jitter"),
    help="Extra delay per packet, uniform in [0, JITTER).",
)  # fmt: skip
@click.option(
    "--bandwidth", callback=_sim_parse("rate", "bandwidth"),
    help="Link rate (500kbit, 10mbit, 1gbit): each packet takes bits/rate to send and "
    "waits behind the ones before it. Default: no limit.",
)  # fmt: skip
@click.option(
    "--queue", callback=_sim_parse("queue", "queue_limit"),
    help="Drop-tail queue: packets that may wait behind a --bandwidth limit. Default: no limit.",
)  # fmt: skip
@click.option(
    "--loss", default="0", show_default=True, callback=_sim_parse("probability"),
    help="Probability a packet is lost (0.02 or 2%).",
)  # fmt: skip
@click.option(
    "--duplicate", default="0", show_default=True, callback=_sim_parse("probability"),
    help="Probability a packet arrives twice.",
)  # fmt: skip
@click.option(
    "--reorder", default="0", show_default=True, callback=_sim_parse("probability"),
    help="Probability a packet is held back 5 ms, behind later ones.",
)  # fmt: skip
@click.option(
    "--corrupt", default="0", show_default=True, callback=_sim_parse("probability"),
    help="Probability one bit of a packet flips (the receiver's checksum drops it).",
)  # fmt: skip
@click.option(
    "--c2s", "c2s", multiple=True, metavar="KEY=VALUE,...", callback=_sim_parse("link_overrides"),
    help="Override link settings client -> server only: delay, jitter, bandwidth, queue, "
    "loss, duplicate, reorder, corrupt (e.g. --c2s loss=5%,delay=40ms).",
)  # fmt: skip
@click.option(
    "--s2c", "s2c", multiple=True, metavar="KEY=VALUE,...", callback=_sim_parse("link_overrides"),
    help="Override link settings server -> client only (same keys as --c2s).",
)  # fmt: skip
@_segment_faults
@click.option(
    "--clients", type=click.IntRange(1, 1_000_000), default=None,
    help="Client hosts (10.0.1.1, 10.0.1.2, ...). Default: min(connections, 10).",
)  # fmt: skip
@click.option(
    "--servers", type=click.IntRange(min=1, max=254), default=1, show_default=True,
    help="Server hosts (10.0.0.1, ...), each listening on port 80.",
)  # fmt: skip
@click.option(
    "--ramp", default="0", show_default=True, callback=_sim_parse("duration", "ramp"),
    help="Spread the connects uniformly over this long (0: all at time 0).",
)  # fmt: skip
@click.option(
    "--msl", default="120", show_default=True, callback=_sim_parse("seconds", "msl"),
    help="Maximum segment lifetime (a bare number is seconds); TIME-WAIT lasts 2 x MSL.",
)  # fmt: skip
@click.option(
    "--seed", type=SEED, default=1, show_default=True, help="Seed of the run (0 to 2^32-1)."
)
@click.option(
    "--format", "fmt", type=click.Choice(_SIM_TRACE_FORMATS), default=None,
    help="How to print the trace of a single connection. "
    "[default: ladder for one connection, none for more or with --summary json]",
)  # fmt: skip
@click.option(
    "--html", type=OutputFile(),
    help="Also write the trace as an HTML page (one connection only).",
)  # fmt: skip
@click.option(
    "--pcap", type=OutputFile(),
    help="Also write every packet to a pcap file (one connection only).",
)  # fmt: skip
@click.option("--absolute", is_flag=True, help="Absolute sequence numbers in the trace.")
@click.option(
    "--summary", type=click.Choice(["table", "json", "none"]), default="table",
    show_default=True, help="How to print the summary.",
)  # fmt: skip
@click.option(
    "--cc", type=click.Choice(["cubic", "newreno"]), default="cubic", show_default=True,
    help="Congestion control of both sides: CUBIC (RFC 9438) or NewReno (RFC 6582).",
)  # fmt: skip
@click.option(
    "--plot", "plot_file", type=OutputFile((".png", ".svg"), needs="matplotlib"),
    help="Draw cwnd, ssthresh, bytes in flight, SRTT/RTO and the receive window "
    "over time, with losses, recoveries and tail loss probes marked (.png or .svg; "
    "needs --connections 1).",
)  # fmt: skip
@click.option(
    "--ecn", is_flag=True,
    help="Both sides negotiate ECN (RFC 3168); with a link's ecn=N, queues mark instead of drop.",
)  # fmt: skip
@click.option(
    "--compare", metavar="CC,CC", help="Run the same seeded network once per algorithm "
    "(e.g. cubic,newreno) and compare them: a table, and with --plot one figure.",
)  # fmt: skip
@click.option(
    "--seq-plot", "seq_plot_file", type=OutputFile((".png", ".svg"), needs="matplotlib"),
    help="Draw the time-sequence graph of the side that sends the most (.png or .svg).",
)  # fmt: skip
def simulate(
    connections: int,
    bytes_up: int,
    bytes_down: int,
    delay: float,
    jitter: float,
    bandwidth: float | None,
    queue: int | None,
    loss: float,
    duplicate: float,
    reorder: float,
    corrupt: float,
    c2s: tuple[dict[str, object], ...],
    s2c: tuple[dict[str, object], ...],
    drops: tuple[object, ...],
    delays: tuple[object, ...],
    duplicates: tuple[object, ...],
    clients: int | None,
    servers: int,
    ramp: float,
    msl: float,
    seed: int,
    fmt: str | None,
    html: str | None,
    pcap: str | None,
    absolute: bool,
    summary: str,
    cc: str,
    plot_file: str | None,
    seq_plot_file: str | None,
    compare: str | None,
    ecn: bool,
) -> None:
    """Run connections on a simulated network and sum up how they went.

    Each connection does a handshake, sends --bytes-up from the client and
    --bytes-down from the server (both at once), and closes: the client
    first, once it has everything, so it waits in TIME-WAIT (2 x MSL of
    virtual time). Every byte received is checked against what was sent.
    All of it runs in memory on a virtual clock; nothing touches a network.

    \b
    Links: --delay, --jitter, --bandwidth, --queue, --loss, --duplicate,
    --reorder and --corrupt set both directions; --c2s and --s2c override
    one direction with KEY=VALUE pairs, e.g. --s2c loss=10%,bandwidth=1mbit.
    Each client and server pair has its own link each way.

    \b
    Scripted faults, acting before the link's own: SPEC is
    [DIRECTION:]FLAGS:N[-M][:DELAY], where DIRECTION is c2s or s2c (either
    if left out), FLAGS are tcpdump letters matched exactly (S, S., ., F.,
    P., R...), * for any segment or data for segments with payload, N-M the
    Nth to Mth match counting from 1 (over all connections together), and
    DELAY a duration (3000ms, 1.5s; a bare number is ms).

    \b
    Output: with one connection, the whole trace (both endpoints and every
    packet on the link) in --format ladder (default), mermaid or json
    (JSON Lines on stdout; the summary then goes to stderr), plus --html and
    --pcap. With --summary json, stdout is the JSON summary alone (a trace
    asked for with --format ladder or mermaid goes to stderr). Trace formats
    need --connections 1. With more connections only the summary is printed,
    with a progress bar on stderr: handshake times (connect to ESTABLISHED)
    p50/p90/p99/max, retransmissions, final states on both sides, bytes each
    way and whether they matched, packets, virtual and wall time. The exit
    status is 1 if any connection failed, lost or garbled bytes, or did not
    close.

    \b
    Examples:
      synack simulate
      synack simulate --drop "S.:1"              # lose the first SYN,ACK
      synack simulate --drop c2s:F.:1 --msl 2    # lose the client's FIN
      synack simulate --delay-segment "S.:1:3000ms" --format mermaid
      synack simulate --loss 2% --bytes-down 1m --pcap run.pcap
      synack simulate -n 10000 --loss 1% --s2c bandwidth=100mbit,queue=64
      synack simulate -n 500 --summary json --format none
    """
    from synack.sim.options import direction_link
    from synack.sim.scale import simulate as run_simulation
    from synack.sim.summary import summary_table
    from synack.tcp.config import TcpConfig
    from synack.trace.records import TraceRecorder

    shared: dict[str, object] = {
        "delay": delay, "jitter": jitter, "bandwidth": bandwidth, "queue_limit": queue,
        "loss": loss, "duplicate": duplicate, "reorder": reorder, "corrupt": corrupt,
    }  # fmt: skip
    links = {}
    for name, overrides in (("c2s", c2s), ("s2c", s2c)):
        try:
            links[name] = direction_link(shared, overrides)
        except ValueError as exc:
            # each shared option is in range by itself: what fails is --queue without
            # a bandwidth (in both directions, or in this one if set by --c2s/--s2c)
            hint = f"--{name}" if overrides else "--queue" if queue is not None else "link options"
            raise click.BadParameter(str(exc), param_hint=hint) from None
    if compare is not None:
        # --compare runs one connection per algorithm over these links: a table, a
        # --plot. Any other option (--cc, --drop, --ecn, --bytes-up...) it would ignore.
        ctx = click.get_current_context()
        for param in ctx.command.params:
            if param.name not in _COMPARE_USES and ctx.get_parameter_source(
                param.name or ""
            ) not in (None, click.core.ParameterSource.DEFAULT):
                raise click.BadParameter(
                    "not with --compare, which prints a table (and draws it with --plot)",
                    param_hint=max(param.opts, key=len),
                )
        _compare(compare, bytes_down, links["c2s"], links["s2c"], seed, msl, plot_file)
        return
    # the ladder by default for one connection, unless files or the JSON summary are
    # asked for: then the files and a summary (--format ladder brings the ladder back)
    files_asked = bool(html or pcap or plot_file or seq_plot_file)
    ladder = connections == 1 and not files_asked and summary != "json"
    trace_fmt = fmt if fmt is not None else ("ladder" if ladder else "none")
    for given, hint in (
        (fmt not in (None, "none"), "--format"),
        (html, "--html"),
        (pcap, "--pcap"),
        (plot_file, "--plot"),
        (seq_plot_file, "--seq-plot"),
    ):
        if given and connections != 1:
            raise click.BadParameter(
                f"a trace shows one connection: use --connections 1, not {connections}",
                param_hint=hint,
            )
    if clients is not None and clients > connections:
        raise click.BadParameter(
            f"{clients} client hosts for {connections} connection(s)", param_hint="--clients"
        )
    if servers > connections:
        raise click.BadParameter(
            f"{servers} server hosts for {connections} connection(s)", param_hint="--servers"
        )
    if msl <= 0:
        raise click.BadParameter("the MSL must be more than 0", param_hint="--msl")
    faults = [*drops, *delays, *duplicates]
    plotting = bool(plot_file or seq_plot_file)
    tracing = connections == 1 and (trace_fmt != "none" or html or pcap or plotting)
    recorder = TraceRecorder(metrics=bool(plot_file)) if tracing else None
    config = TcpConfig(congestion_control=cc, msl=msl, ecn="on" if ecn else "off")

    err_console = Console(stderr=True)
    out_console = Console(highlight=False)
    # stdout holds one document: the trace as JSON Lines, else the JSON summary;
    # what else is asked for then goes to stderr
    trace_console = (
        out_console
        if trace_fmt == "json" or summary != "json"
        else Console(stderr=True, highlight=False)
    )
    said = err_console if trace_fmt == "json" or summary == "json" else out_console
    try:
        if connections > 1:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

            with Progress(
                "connections", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                console=err_console,
            ) as bar:  # fmt: skip
                task = bar.add_task("connections", total=connections)

                def progress(done: int, total: int) -> None:
                    bar.update(task, completed=done)

                result = run_simulation(
                    connections, bytes_up=bytes_up, bytes_down=bytes_down, c2s=links["c2s"],
                    s2c=links["s2c"], clients=clients, servers=servers, seed=seed, msl=msl,
                    ramp=ramp, faults=faults, config=config,  # type: ignore[arg-type]
                    progress=progress,
                )  # fmt: skip
        else:
            result = run_simulation(
                1, bytes_up=bytes_up, bytes_down=bytes_down, c2s=links["c2s"], s2c=links["s2c"],
                seed=seed, msl=msl, faults=faults, config=config,  # type: ignore[arg-type]
                recorder=recorder,
            )  # fmt: skip
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None

    if recorder is not None:
        from synack.trace.output import write_outputs

        title = (
            f"synack simulate: {bytes_up:,} B up, {bytes_down:,} B down, "
            f"{delay * 1000:g} ms delay" + (f"; {', '.join(result.faults)}" if faults else "")
        )
        write_outputs(
            recorder,
            fmt=trace_fmt,
            console=trace_console,
            html=html,
            pcap=pcap,
            left="client",
            right="server",
            title=title,
            absolute=absolute,
        )
        if html is not None:
            said.print(f"wrote the HTML page {html}", style="dim", soft_wrap=True)
        if pcap is not None:
            said.print(f"wrote the capture {pcap}", style="dim", soft_wrap=True)
    if recorder is not None and plotting:
        _write_plots(recorder, plot_file, seq_plot_file, err_console)
    summary_console = err_console if trace_fmt == "json" else out_console
    if summary == "json":
        stream = sys.stderr if trace_fmt == "json" else sys.stdout
        stream.write(json.dumps(result.to_dict()) + "\n")
    elif summary == "table":
        if recorder is not None and trace_fmt != "none":
            summary_console.print()
        summary_console.print(summary_table(result, links["c2s"], links["s2c"]))
    if not result.ok:
        sys.exit(1)


# the options of `simulate` that --compare uses: the links, the data, the seed
_COMPARE_USES = frozenset(
    ("compare", "bytes_down", "delay", "jitter", "bandwidth", "queue", "loss", "duplicate",
     "reorder", "corrupt", "c2s", "s2c", "seed", "msl", "plot_file")
)  # fmt: skip


def _compare(
    algorithms_text: str,
    bytes_down: int,
    c2s: LinkConfig,
    s2c: LinkConfig,
    seed: int,
    msl: float,
    plot_file: str | None,
) -> None:
    from synack.tcp.config import TcpConfig
    from synack.tcp.congestion import ALGORITHMS
    from synack.trace.compare import compare, comparison_table, plot_comparison
    from synack.trace.plot import PlotError

    algorithms = [a.strip() for a in algorithms_text.split(",") if a.strip()]
    unknown = [a for a in algorithms if a not in ALGORITHMS]
    if len(algorithms) < 2 or unknown:
        raise click.BadParameter(
            f"give two or more of {', '.join(sorted(ALGORITHMS))}, comma-separated",
            param_hint="--compare",
        )
    if not bytes_down:
        raise click.BadParameter("comparing needs data: give --bytes-down", param_hint="--compare")
    results = compare(algorithms, bytes_down, c2s, s2c, seed, TcpConfig(msl=msl))
    Console().print(comparison_table(results, bytes_down, seed))
    if plot_file:
        try:
            plot_comparison(results, plot_file)
        except PlotError as exc:
            raise click.ClickException(str(exc)) from None
        Console(stderr=True).print(f"wrote {plot_file}", style="dim")
    if not all(r.ok for r in results):
        sys.exit(1)


def _write_plots(
    recorder: TraceRecorder, plot_file: str | None, seq_plot_file: str | None, console: Console
) -> None:
    from synack.trace.plot import PlotError, plot_metrics, plot_time_sequence, trace_segments

    try:
        if plot_file:
            plot_metrics(recorder.metrics, plot_file)
            console.print(f"wrote {plot_file}", style="dim", soft_wrap=True)
        if seq_plot_file:
            plot_time_sequence(trace_segments(recorder), seq_plot_file)
            console.print(f"wrote {seq_plot_file}", style="dim", soft_wrap=True)
    except PlotError as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "mermaid"]),
    default="text",
    show_default=True,
    help="A text diagram for the terminal, or Mermaid stateDiagram-v2 source.",
)
@click.option(
    "--trace",
    "trace_file",
    type=click.Path(exists=True, dir_okay=False),
    help="A JSON Lines trace (as `synack demo --json` prints) whose path to highlight.",
)
@click.option(
    "--scenario",
    help="Run this `synack demo` scenario and highlight the path it took.",
)
@click.option(
    "--endpoint",
    default="client",
    show_default=True,
    help="Whose state changes in the trace to highlight.",
)
def states(fmt: str, trace_file: str | None, scenario: str | None, endpoint: str) -> None:
    """Draw the RFC 9293 state diagram from the engine's own transition table.

    With --trace or --scenario, the edges one endpoint took are marked with
    the order it took them in, and the states it visited are highlighted.

    \b
    Examples:
      synack states --scenario simultaneous-close --endpoint server
      synack demo close --json > close.jsonl && synack states --trace close.jsonl
    """
    from synack.trace.load import read_json_lines
    from synack.trace.states import state_diagram_mermaid, state_diagram_text

    records = None
    if trace_file is not None and scenario is not None:
        raise click.UsageError("give --trace or --scenario, not both")
    if scenario is not None:
        from synack.scenarios import SCENARIOS, run_scenario

        if scenario not in SCENARIOS:
            raise click.BadParameter(
                f"no scenario {scenario!r}; choose from: {', '.join(SCENARIOS)}",
                param_hint="--scenario",
            )
        if endpoint not in ("client", "server"):  # every scenario's two endpoints
            raise click.BadParameter(
                f"a scenario has the endpoints client and server, not {endpoint!r}",
                param_hint="--endpoint",
            )
        records = list(run_scenario(scenario).recorder.records)
    if trace_file is not None:
        try:
            records = read_json_lines(trace_file)
        except ValueError as exc:  # a TraceError: the file, the line, what is wrong
            raise click.ClickException(f"cannot read the trace: {exc}") from None
        if not any(getattr(r, "endpoint", None) == endpoint for r in records):
            raise click.ClickException(f"the trace has no records for endpoint {endpoint!r}")
    from synack.tcp.config import TcpConfig

    config = TcpConfig()  # the configuration synack runs with unless told otherwise
    if fmt == "mermaid":
        click.echo(state_diagram_mermaid(records, endpoint, config), nl=False)
        return
    Console(highlight=False).print(state_diagram_text(records, endpoint, config))


_PLOT_FILE = OutputFile((".png", ".svg"), needs="matplotlib")


def _address(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An IP address, written as the analysis writes it (fd00:0::1 is fd00::1)."""
    import ipaddress

    if value is None:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an IP address") from None


def _captures(
    ctx: click.Context, param: click.Parameter, value: tuple[str, ...]
) -> tuple[str, ...]:
    """Each file's first bytes are a capture's (pcap or pcapng, gzip'd or not):
    checked before any is read, so that one that is not is named, and not
    found after the others were analysed."""
    from synack.analyze.capture import check_capture
    from synack.analyze.model import CaptureError

    for path in value:
        # a folder's files are checked as they are read; a pipe (<(zcat ...)) is
        # read once, by the analysis
        if Path(path).is_file():
            try:
                check_capture(path)
            except CaptureError as exc:
                raise click.BadParameter(f"{path}: {exc}", ctx, param) from None
    return value


@main.command()
@click.argument("captures", nargs=-1, type=click.Path(exists=True), callback=_captures)
@click.option("-i", "--interface", help="Capture live on this interface instead (dumpcap; root).")
@click.option("--lab", "lab_name", help="With -i: capture inside this lab's namespace.")
@click.option("--count", type=click.IntRange(min=1), help="With -i: stop after N segments.")
@click.option(
    "--seconds",
    type=BoundedFloat(Bound(0.1, 86400, "s")),
    help="With -i: stop after S s (0.1 to 86,400).",
)
@click.option("--conn", "number", type=click.IntRange(min=1), help="Show connection N in detail.")
@click.option("--host", callback=_address, help="Show in detail the connections with this address.")
@click.option("--port", type=click.IntRange(1, 65535), help="... and/or with this port.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "ladder", "mermaid", "json", "story", "conn", "conn-json"]),
    default=None,
    help="table: one line per connection (the default); ladder, mermaid, json: the "
    "chosen connections' trace; story: a paragraph per connection; conn, conn-json: "
    "a Zeek-style conn.log (TSV, or JSON Lines).",
)
@click.option("--html", type=OutputFile(), help="Write the chosen connection as an HTML page.")
@click.option("--seq-plot", type=_PLOT_FILE, help="Its time-sequence graph (.png or .svg).")
@click.option("--rtt-plot", type=_PLOT_FILE, help="Its RTT samples (.png or .svg).")
@click.option("--flight-plot", type=_PLOT_FILE, help="Its bytes in flight (.png or .svg).")
@click.option("--lang", type=click.Choice(["en", "ko"]), default="en", show_default=True)
@click.option("--ignore-checksums", is_flag=True, help="Use segments whose checksums fail "
              "(captures taken where the network card fills checksums in later).")  # fmt: skip
@click.option("--absolute", is_flag=True, help="Absolute sequence numbers (default: relative).")
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    help="Processes sharing the connections (default: one per CPU for files of 32 MiB "
    "or more, else 1; --conn N needs 1). With a FOLDER: the local Dask cluster's workers.",
)
@click.option("--rows", metavar="DIR", help="With a FOLDER: the Parquet dataset of its "
              "connections, a row each (default: capture-rows).")  # fmt: skip
@click.option("--scheduler", metavar="tcp://HOST:PORT",
              help="With a FOLDER: analyse its captures on this Dask cluster.")  # fmt: skip
@click.pass_context
def analyze(
    ctx: click.Context,
    captures: tuple[str, ...],
    interface: str | None,
    lab_name: str | None,
    count: int | None,
    seconds: float | None,
    number: int | None,
    host: str | None,
    port: int | None,
    fmt: str | None,
    html: str | None,
    lang: str,
    ignore_checksums: bool,
    absolute: bool,
    seq_plot: str | None,
    rtt_plot: str | None,
    flight_plot: str | None,
    jobs: int | None,
    rows: str | None,
    scheduler: str | None,
) -> None:
    """Analyse TCP in pcap or pcapng captures (gzip too), from any stack.

    Each connection: who opened it, both sides' RFC 9293 states inferred at
    every segment (marked "inferred" where a passive observer cannot know),
    Zeek's conn_state and history, Wireshark's expert flags, RTT samples.
    Pick one with --conn N (or --host/--port) to see its ladder and story.
    With -i IFACE it captures live (Wireshark's dumpcap; --lab NAME inside
    a lab) and shows states as they are inferred, or the chosen
    connection's ladder as it grows.

    \b
    Examples:
      synack analyze trace.pcap
      synack analyze trace.pcap --conn 3
      synack analyze trace.pcapng.gz --format conn > conn.log
      synack analyze -i synack0 --lab synack --port 8080
      synack analyze captures/ --rows rows/   (a folder, on Dask: synack sweep analyze)
    """
    from synack.analyze.present import show
    from synack.analyze.report import Selection

    folders = [c for c in captures if Path(c).is_dir()]
    if folders:
        if len(captures) > 1:
            raise click.UsageError("give one folder of captures, or capture files, not both")
        views = (number, host, port, fmt, html, seq_plot, rtt_plot, flight_plot, interface,
                 lab_name, count, seconds)  # fmt: skip
        if any(v is not None for v in views) or ignore_checksums or absolute:
            raise click.UsageError("a folder's captures become rows (--rows): views take files")
        from synack.sweep.cli import analyze_command

        ctx.invoke(analyze_command, folder=folders[0], out=rows or "capture-rows",
                   workers=jobs, scheduler=scheduler)  # fmt: skip
        return
    if rows is not None or scheduler is not None:
        raise click.UsageError("--rows and --scheduler go with a folder of captures")
    if interface is None and not captures:
        raise click.UsageError("give a capture file, or -i IFACE for a live capture")
    if interface == "":  # dumpcap would say "no interface with that adapter index"
        raise click.BadParameter("an empty interface name", param_hint="-i/--interface")
    if interface is not None and captures:
        raise click.UsageError("give capture files or -i IFACE, not both")
    if interface is None and (lab_name or count or seconds):
        raise click.UsageError("--lab, --count and --seconds go with -i IFACE")
    if jobs is not None and jobs > 1 and (number is not None or interface is not None):
        raise click.UsageError("--conn N and -i IFACE are read by one process: leave out --jobs")
    files_only = (("--format", fmt), ("--html", html), ("--seq-plot", seq_plot),
                  ("--rtt-plot", rtt_plot), ("--flight-plot", flight_plot))  # fmt: skip
    if interface is not None:
        for flag, value in (*files_only, ("--absolute", absolute or None)):
            if value is not None:  # the live view is its own: states, or the ladder
                raise click.UsageError(f"{flag} goes with capture files, not -i IFACE")
        from synack.analyze.live import run_live

        run_live(interface, lab_name, Selection(number, host, port), count, seconds,
                 ignore_checksums, lang)  # fmt: skip
        return

    detail = number is not None or host is not None or port is not None
    if detail and fmt in ("table", "conn", "conn-json") and not any(v for _, v in files_only[1:]):
        raise click.UsageError(
            f"--format {fmt} lists every connection: --conn/--host/--port pick some to show "
            "in detail (ladder, mermaid, json, story), --html or a plot"
        )
    fmt = fmt or ("ladder" if detail else "table")
    plots = {k: v for k, v in (("seq", seq_plot), ("rtt", rtt_plot), ("flight", flight_plot)) if v}
    show(list(captures), fmt, number, host, port, html, lang, ignore_checksums, absolute, plots,
         jobs)  # fmt: skip
