"""``synack web``: the playground, served on 127.0.0.1 or written as a static site."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import click

RUNTIME_HELP = (
    "An npm prefix (or package directory) holding pyodide@{version}; "
    "default: the user's cache, filled by npm on first use."
)


def _runtime(given: str | None) -> Path:
    """The Pyodide runtime to ship: from ``given``, or the user's cache (npm fills it)."""
    from synack.web.site import PYODIDE_VERSION, SiteError, default_cache, fetch_runtime, runtime_in

    if given is not None:
        found = runtime_in(Path(given))
        if found is None:
            raise click.BadParameter(
                f"no pyodide@{PYODIDE_VERSION} in {given} (npm install --prefix {given} "
                f"pyodide@{PYODIDE_VERSION})",
                param_hint="--runtime",
            )
        return found
    try:
        return fetch_runtime(default_cache(), lambda text: click.echo(text, err=True))
    except SiteError as exc:
        raise click.ClickException(str(exc)) from None


def _runtime_option(f: click.decorators.FC) -> click.decorators.FC:
    from synack.web.site import PYODIDE_VERSION

    return click.option(
        "--runtime", metavar="DIR", help=RUNTIME_HELP.format(version=PYODIDE_VERSION)
    )(f)


@click.group(invoke_without_command=True)
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, show_default=True,
    help="Port on 127.0.0.1 (0: a free one, printed).",
)  # fmt: skip
@click.option("--no-browser", is_flag=True, help="Do not open a browser; just print the address.")
@_runtime_option
@click.pass_context
def web(ctx: click.Context, port: int, no_browser: bool, runtime: str | None) -> None:
    """The playground: synack's engine in your browser, through Pyodide.

    Without a subcommand, serves the playground on 127.0.0.1 (a free port
    unless --port) and opens it in the browser; Ctrl-C stops. Every demo
    scenario and a composer; click a segment to drop, delay or duplicate it
    and see the run again beside the first; open a pcap to analyse it.

    The Pyodide runtime (CPython for WebAssembly, npm package pyodide) is
    installed with npm into the user's cache on first use; nothing is
    loaded from a CDN. `synack web build DIR` writes the same site as static
    files for any web server. docs/playground.md has the URL keys.

    \b
    Examples:
      synack web
      synack web --port 8017 --no-browser
      synack web build site/ && python -m http.server -d site/
    """
    if ctx.invoked_subcommand is not None:
        ctx.obj = runtime  # `synack web --runtime DIR build SITE` means the same DIR
        return
    from synack.web.serve import make_server, serve
    from synack.web.site import write_site

    found = _runtime(runtime)
    with tempfile.TemporaryDirectory(prefix="synack-web-") as tmp:
        site = Path(tmp) / "site"
        try:  # the port first: a port in use is said before any work
            server = make_server(site, port)
        except OSError as exc:
            message = f"cannot serve on 127.0.0.1:{port}: {exc.strerror or exc}"
            raise click.ClickException(message) from None
        write_site(site, found)
        serve(server, open_browser=not no_browser)


def _directory(ctx: click.Context, param: click.Parameter, value: str) -> Path:
    """DIRECTORY, refused before the runtime is looked for or fetched unless a
    folder can be made in it (or in the nearest folder above it that exists):
    tried, as root ignores permission bits and /proc refuses whatever they say."""
    if not value:
        raise click.BadParameter("an empty path: name the directory to write")
    directory = Path(value)
    folder = directory
    try:
        while not folder.exists():
            folder = folder.parent
    except OSError as exc:  # a name too long, a loop of links
        raise click.BadParameter(f"cannot create {value}: {exc.strerror or exc}") from None
    if not folder.is_dir():
        raise click.BadParameter(f"cannot create {value}: {folder} is a file")
    try:
        os.rmdir(tempfile.mkdtemp(dir=folder))
    except OSError as exc:  # /proc, /sys
        problem = f"cannot create {value}: {folder} takes no new folder ({exc.strerror or exc})"
        raise click.BadParameter(problem) from None
    return directory


@web.command()
@click.argument("directory", type=click.Path(file_okay=False), callback=_directory)
@_runtime_option
def build(directory: Path, runtime: str | None) -> None:
    """Write the playground as a static site into DIRECTORY.

    DIRECTORY is created, or must be empty or hold a playground written
    before. Any web server can host it (a page loaded from file:// cannot
    fetch its runtime: browsers forbid it); once loaded it works offline.
    """
    from synack.web.site import SiteError, check_target, write_site

    parent = click.get_current_context().parent
    if runtime is None and parent is not None and isinstance(parent.obj, str):
        runtime = parent.obj
    try:
        check_target(directory)
    except SiteError as exc:
        raise click.BadParameter(str(exc), param_hint="DIRECTORY") from None
    found = _runtime(runtime)
    try:
        manifest = write_site(directory, found)
    except (SiteError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    files = manifest["files"]
    assert isinstance(files, list)
    size = sum((directory / f).stat().st_size for f in files if f != "./")
    click.echo(
        f"wrote the playground to {directory} ({len(files) - 1} files, {size / 1e6:.1f} MB; "
        f"Pyodide {manifest['pyodide']}): serve it with any web server, e.g. "
        f"python -m http.server -d {directory}",
    )
    sys.stdout.flush()
