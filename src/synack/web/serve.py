"""A static file server on 127.0.0.1 for the playground's site."""

from __future__ import annotations

import functools
import threading
import webbrowser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import click

# types the standard library's table may lack; the runtime must be served as these
TYPES = {
    ".wasm": "application/wasm",
    ".mjs": "text/javascript",
    ".js": "text/javascript",
    ".json": "application/json",
    ".zip": "application/zip",
}


class _Handler(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **TYPES}

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the terminal shows the address, not every request


def make_server(directory: Path, port: int = 0) -> ThreadingHTTPServer:
    """A server for ``directory`` on 127.0.0.1:``port`` (0: a free port), not yet serving."""
    handler = functools.partial(_Handler, directory=str(directory))
    return ThreadingHTTPServer(("127.0.0.1", port), handler)


def serve(server: ThreadingHTTPServer, open_browser: bool = True) -> None:
    """Serve until Ctrl-C, printing the address (and opening it in a browser)."""
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    click.echo(f"the playground is at {url}  (Ctrl-C stops)")
    if open_browser:
        threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped")
    finally:
        server.server_close()
