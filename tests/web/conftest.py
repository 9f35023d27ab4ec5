"""Fixtures of the playground's tests: one built site, one server, one browser.

The site is built once per session from the Pyodide runtime that npm
installed (``.ci/run`` puts it in build/npm-pyodide; $SYNACK_WEB_RUNTIME or
the user's cache of ``synack web`` also do). The browser is Debian's
chromium, driven by Playwright for Python; nothing downloads a browser.
Without chromium, Playwright or the runtime the browser tests skip, saying
why; with the environment variable CI set they fail instead.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from synack.web.serve import make_server
from synack.web.site import default_cache, runtime_in, write_site

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


def find_runtime() -> Path | None:
    places = [os.environ.get("SYNACK_WEB_RUNTIME"), REPO / "build" / "npm-pyodide", default_cache()]
    for place in places:
        if place:
            found = runtime_in(Path(place))
            if found is not None:
                return found
    return None


def _missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(what)
    pytest.skip(what)


@pytest.fixture(scope="session")
def runtime() -> Path:
    found = find_runtime()
    if found is None:
        _missing(
            "no Pyodide runtime: npm install --prefix build/npm-pyodide pyodide@<PYODIDE_VERSION> "
            "(as .ci/run does)"
        )
    assert found is not None
    return found


@pytest.fixture(scope="session")
def site(runtime: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("web") / "site"
    write_site(directory, runtime)
    return directory


@pytest.fixture(scope="session")
def site_url(site: Path) -> Iterator[str]:
    server = make_server(site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


# Module-scoped: while Playwright's sync API is running, its event loop is the
# thread's running loop, and any later test's asyncio.run() in this worker fails.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        _missing("chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright for Python is not installed (pip install '.[test]')")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
