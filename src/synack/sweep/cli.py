"""``synack sweep``: the command line of :mod:`synack.sweep`."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from synack.sweep.grid import AXES, GridError, build_grid
from synack.sweep.store import StoreError, check_folder

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_OUT = "sweep-results"


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


def _folder(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A dataset folder's name, refused if even asking about it fails (a name
    too long, a loop of links): it is looked at only once the work starts."""
    try:
        if value is not None:
            Path(value).exists()
    except OSError as exc:
        raise click.BadParameter(f"{value!r}: {exc.strerror or exc}") from None
    return value


def _cluster_options(f: F) -> F:
    f = click.option(
        "--scheduler", metavar="tcp://HOST:PORT",
        help="Run on this Dask cluster (its workers must have synack installed) "
        "instead of a local one.",
    )(f)  # fmt: skip
    return click.option(
        "--workers", type=click.IntRange(1, 256),
        help="Worker processes of the local cluster. Default: one per core.",
    )(f)  # fmt: skip


def _check_cluster(workers: int | None, scheduler: str | None) -> None:
    from synack.sweep.runner import ClusterError, check_address

    if workers is not None and scheduler is not None:
        raise click.UsageError("--workers sizes a local cluster: not with --scheduler")
    if scheduler is not None:
        try:
            check_address(scheduler)
        except ClusterError as exc:
            raise click.BadParameter(str(exc), param_hint="--scheduler") from None


@contextmanager
def _bar(what: str) -> Iterator[Callable[[int, int, int], None]]:
    """A progress bar on stderr; yields its update(done, total, failed)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        what, BarColumn(), MofNCompleteColumn(), "[red]{task.fields[failed]} failed",
        TimeElapsedColumn(), console=Console(stderr=True),
    ) as bar:  # fmt: skip
        task = bar.add_task(what, total=None, failed=0)

        def update(done: int, total: int, failed: int) -> None:
            bar.update(task, completed=done, total=total, failed=failed)

        yield update


def _run_grid(
    grid_axes: dict[str, Any], grid_file: str | None, timeout: float | None, out: str,
    workers: int | None, scheduler: str | None, retry_failed: bool, dry_run: bool = False,
) -> int:  # fmt: skip
    """Check everything, then run the grid into ``out``; the number of failed cells."""
    from synack.sweep.runner import ClusterError, cluster, pending_cells, run_sweep

    try:
        grid = build_grid(grid_axes, grid_file, timeout)
        folder = Path(out) if dry_run else check_folder(out, create=True)
        cells = grid.cells()
        todo = len(pending_cells(cells, folder, retry_failed)) if folder.is_dir() else len(cells)
    except (GridError, StoreError) as exc:
        raise _fail(exc) from None
    click.echo(f"synack sweep: {len(cells):,} cells, {len(cells) - todo:,} already in {out}, "
               f"{todo:,} to run", err=True)  # fmt: skip
    if dry_run or todo == 0:
        return 0
    try:
        with cluster(workers, scheduler) as client, _bar("cells") as progress:
            report = run_sweep(cells, folder, client, retry_failed, progress)
    except ClusterError as exc:
        raise _fail(exc) from None
    click.echo(
        f"synack sweep: {report.ran:,} cells in {report.wall_seconds:.1f} s "
        f"({report.failed:,} failed), rows in {out}", err=True,
    )  # fmt: skip
    for line in report.errors:
        click.echo(f"  {line}", err=True)
    return report.failed


class _SweepGroup(click.Group):
    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage(ctx.command_path, "[GRID OPTIONS] | COMMAND [ARGS]...")


def _grid_options(f: F) -> F:
    for axis in reversed(AXES):
        f = click.option(axis.flag, axis.name, metavar="V,V,...",
                         help=f"{axis.help} [default: {axis.default}]")(f)  # fmt: skip
    return f


@click.group("sweep", cls=_SweepGroup, invoke_without_command=True)
@_grid_options
@click.option("--grid", "grid_file", type=click.Path(exists=True, dir_okay=False),
              help="A TOML file of axes (keys as the options: cc = [\"cubic\", \"newreno\"]); "
              "options given on the command line replace its lists.")  # fmt: skip
@click.option("--timeout", type=click.FloatRange(min=0.001, max=86_400),
              help="Virtual seconds a cell may run before it counts as unsettled "
              "[default: 600].")  # fmt: skip
@click.option("-o", "--out", default=DEFAULT_OUT, show_default=True, callback=_folder,
              help="The dataset folder (Parquet files); a rerun skips the cells it "
              "holds.")  # fmt: skip
@_cluster_options
@click.option("--retry-failed", is_flag=True, help="Run failed cells again.")
@click.option("--dry-run", is_flag=True, help="Count the cells and exit.")
@click.pass_context
def sweep(
    ctx: click.Context, /, grid_file: str | None, timeout: float | None, out: str,
    workers: int | None, scheduler: str | None, retry_failed: bool, dry_run: bool,
    **axes: str | None,
) -> None:  # fmt: skip
    """Run a grid of simulated networks on Dask, one Parquet row per cell.

    Every combination of the axes' values is a cell: one run of --flows
    connections from one client to one server over one pair of links, the
    server sending --bytes on each. Each cell's row holds its parameters
    and what was measured: throughput, goodput, retransmissions, timeouts,
    RTT percentiles, Jain's index, handshake times, TIME-WAIT records,
    completion, wall time (docs/sweep.md lists the columns). A cell is
    deterministic per seed; a cell that fails is a row with its error.
    Rows are written as cells finish; a rerun with the same --out skips the
    cells already there.

    \b
    Cells run on a Dask LocalCluster, one worker process per core
    (--workers N), or on an existing cluster (--scheduler tcp://HOST:PORT).

    \b
    Examples:
      synack sweep --cc cubic,newreno --loss 0,0.5%,1% --seeds 1-5 --bytes 2m
      synack sweep --grid grid.toml --out results --workers 2
      synack sweep query "SELECT cc, loss, avg(goodput_mbit) FROM cells GROUP BY ALL"
      synack sweep plot fig.png --x loss --y goodput_mbit --by cc --logx
      synack sweep recipe mathis --quick
      synack sweep analyze captures/ --out conns
    """
    if ctx.invoked_subcommand is not None:
        given = [a.flag for a in AXES if axes.get(a.name) is not None]
        if grid_file:
            given.append("--grid")
        if given:
            raise click.UsageError(f"{given[0]} goes with `synack sweep` itself, "
                                   f"not with `synack sweep {ctx.invoked_subcommand}`")  # fmt: skip
        return
    _check_cluster(workers, scheduler)
    failed = _run_grid(dict(axes), grid_file, timeout, out, workers, scheduler, retry_failed,
                       dry_run)  # fmt: skip
    if failed:
        sys.exit(1)


_DATA = click.option("-d", "--data", default=DEFAULT_OUT, show_default=True, callback=_folder,
                     help="The dataset folder.")  # fmt: skip


@sweep.command("query")
@click.argument("sql")
@_DATA
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True, help="table, CSV, or JSON Lines.")  # fmt: skip
def query_command(sql: str, data: str, fmt: str) -> None:
    """Run SQL (DuckDB) over a dataset.

    The view `cells` has the latest row of each cell; `rows` every row ever
    written (and is the only view of a `synack sweep analyze` dataset).

    \b
    Examples:
      synack sweep query "SELECT cc, loss, avg(goodput_mbit) FROM cells GROUP BY ALL ORDER BY ALL"
      synack sweep query "SELECT error, count(*) FROM cells WHERE status = 'failed' GROUP BY 1"
    """
    from synack.sweep.query import QueryError, query

    try:
        columns, rows = query(data, sql)
    except (QueryError, StoreError) as exc:
        raise _fail(exc) from None
    if fmt == "json":
        for row in rows:
            click.echo(json.dumps(dict(zip(columns, row, strict=True)), default=str))
    elif fmt == "csv":
        import csv

        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
    else:
        from rich.table import Table

        table = Table(*columns)
        for row in rows:
            table.add_row(*("" if v is None else f"{v:.6g}" if isinstance(v, float) else str(v)
                            for v in row))  # fmt: skip
        Console().print(table)


def _figure(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A figure to draw, refused when the command line is read (before the dataset
    is read or a recipe's grid is run) if it cannot be written: tried, as root
    ignores permission bits; a file this creates is removed."""
    if value is None:
        return None
    if Path(value).suffix.lower() not in (".png", ".svg"):
        raise click.BadParameter(f"{value!r}: the file must end in .png or .svg")
    path = Path(value)
    try:
        existed = path.exists()
        if existed and not path.is_file():
            raise click.BadParameter(f"cannot write {value!r}: it is not a file")
        with path.open("ab"):  # appending nothing changes nothing
            pass
    except OSError as exc:  # a missing folder, /proc, a name too long
        raise click.BadParameter(f"cannot write {value!r}: {exc.strerror or exc}") from None
    if not existed:
        path.unlink()
    return value


@sweep.command("plot")
@click.argument("figure", callback=_figure)
@_DATA
@click.option("--x", "x", required=True, help="Column along the x axis (e.g. loss, delay).")
@click.option("--y", "y", required=True, help="Column along the y axis (e.g. goodput_mbit).")
@click.option("--by", help="One line per value of this column (e.g. cc).")
@click.option("--z", "z", help="Draw a heatmap of this column's mean over x by y instead.")
@click.option("--where", help="SQL condition on the cells (e.g. \"cc = 'cubic'\").")
@click.option("--logx", is_flag=True, help="Logarithmic x axis.")
@click.option("--logy", is_flag=True, help="Logarithmic y axis.")
@click.option("--title", help="The figure's title.")
def plot_command(
    figure: str, data: str, x: str, y: str, by: str | None, z: str | None, where: str | None,
    logx: bool, logy: bool, title: str | None,
) -> None:  # fmt: skip
    """Draw a dataset: lines with 95 % confidence intervals, or a heatmap.

    Lines: the mean of --y at each --x over the cells there (the seeds, and
    any parameter not fixed by --by or --where), one line per --by value,
    shaded with the interval. Heatmap (--z): the mean of --z over --x by --y.
    FIGURE ends in .png or .svg.

    \b
    Examples:
      synack sweep plot loss.png --x loss --y goodput_mbit --by cc --logx --logy
      synack sweep plot heat.png --x delay --y loss --z goodput_mbit --where "cc = 'cubic'"
    """
    from synack.sweep.plot import plot
    from synack.sweep.query import QueryError
    from synack.trace.plot import PlotError

    if z is not None and by is not None:
        raise click.UsageError("--by draws lines, --z a heatmap: give one")
    try:
        n = plot(data, figure, x, y, by, z, where, logx, logy, title)
    except (QueryError, StoreError, PlotError) as exc:
        raise _fail(exc) from None
    click.echo(f"{figure}: {n:,} cells drawn", err=True)


@sweep.command("recipe")
@click.argument("name", required=False)
@click.option("--list", "list_only", is_flag=True, help="List the recipes and exit.")
@click.option("--quick", is_flag=True, help="A smaller grid: fewer points, seeds and bytes.")
@click.option(
    "-o",
    "--out",
    callback=_folder,
    help="The dataset folder. Default: sweep-NAME (sweep-NAME-quick).",
)
@click.option("--figure", callback=_figure, metavar="FILE",
              help="The figure to draw (.png or .svg). Default: NAME.png in the dataset "
              "folder.")  # fmt: skip
@_cluster_options
def recipe_command(
    name: str | None, list_only: bool, quick: bool, out: str | None, figure: str | None,
    workers: int | None, scheduler: str | None,
) -> None:  # fmt: skip
    """Reproduce a known result: run its grid, draw it beside the formula.

    \b
    mathis    NewReno's goodput under random loss, and the Mathis formula
    rtt       CUBIC and NewReno across RTTs, and their response functions
    syn       connect time under SYN loss, and RFC 6298's backoff
    timewait  TIME-WAIT records against connection rate and MSL (Little's law)
    """
    from synack.sweep.query import QueryError
    from synack.sweep.recipes import RECIPES, draw
    from synack.trace.plot import PlotError

    if list_only or name is None:
        if name is None and not list_only:
            raise click.UsageError(f"name a recipe: {', '.join(RECIPES)} (or --list)")
        for recipe in RECIPES.values():
            click.echo(f"{recipe.name:<10} {recipe.title}")
        return
    if name not in RECIPES:
        raise click.BadParameter(f"{name!r} is not a recipe: use {', '.join(RECIPES)}",
                                 param_hint="NAME")  # fmt: skip
    recipe = RECIPES[name]
    _check_cluster(workers, scheduler)
    folder = out or f"sweep-{name}{'-quick' if quick else ''}"
    target = figure or str(Path(folder) / f"{name}.png")
    failed = _run_grid(recipe.axes(quick), None, None, folder, workers, scheduler, False)
    try:
        draw(recipe, folder, target)
    except (QueryError, StoreError, PlotError) as exc:
        raise _fail(exc) from None
    click.echo(f"{target}: {recipe.title}", err=True)
    if failed:
        sys.exit(1)


@sweep.command("analyze")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option("-o", "--out", default="capture-rows", show_default=True, callback=_folder,
              help="The dataset folder: one row per connection.")  # fmt: skip
@_cluster_options
def analyze_command(folder: str, out: str, workers: int | None, scheduler: str | None) -> None:
    """Analyse every capture in FOLDER on a Dask cluster, one Parquet row per connection.

    Each file (.pcap, .pcapng, .cap, gzip too, in FOLDER and below) is one
    task, analysed as `synack analyze` does; each connection's row holds
    the file, its Zeek conn.log fields, its expert counts (retransmissions,
    out of order, duplicate ACKs, zero windows) and its handshake RTT. Files
    already in --out are skipped. Query with `synack sweep query -d OUT`.
    """
    from synack.sweep.captures import analyze_captures, capture_files
    from synack.sweep.runner import ClusterError, cluster

    _check_cluster(workers, scheduler)
    files = capture_files(folder)
    if not files:
        raise click.ClickException(f"no capture files (.pcap, .pcapng, .cap) in {folder}")
    try:
        target = check_folder(out, create=True)
    except StoreError as exc:
        raise _fail(exc) from None
    try:
        with cluster(workers, scheduler) as client, _bar("captures") as progress:
            report = analyze_captures(files, target, client, progress)
    except (ClusterError, StoreError) as exc:
        raise _fail(exc) from None
    click.echo(
        f"synack sweep analyze: {report.files - report.skipped:,} files, "
        f"{report.connections:,} connections ({report.skipped:,} files already in {out}, "
        f"{report.errors:,} with errors)", err=True,
    )  # fmt: skip
