"""The playground as a static site: the page, synack's sources, and Pyodide.

``write_site(DIR)`` lays out::

    DIR/index.html, playground.js, playground.css, sw.js   the page (package data)
    DIR/synack.zip                                         synack's Python sources
    DIR/pyodide/...                                        the Pyodide runtime
    DIR/manifest.json                                      what is there, for the service worker

The runtime comes from the npm package ``pyodide`` at the version pinned
here, installed with npm into a cache directory (never from a CDN, never
committed). The page loads everything from its own directory, and its
service worker keeps a copy, so the site works offline once loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import synack

PYODIDE_VERSION = "314.0.7"  # the npm package `pyodide`: CPython 3.14 for WebAssembly
# what the page needs of the npm package: the loader, the runtime, the standard library
RUNTIME_FILES = (
    "pyodide.js",
    "pyodide.mjs",
    "pyodide.asm.mjs",
    "pyodide.asm.wasm",
    "python_stdlib.zip",
    "pyodide-lock.json",
    "package.json",
)
PAGE_FILES = ("index.html", "playground.js", "playground.css", "sw.js")
MANIFEST = "manifest.json"
STATIC = Path(__file__).parent / "static"


class SiteError(RuntimeError):
    """The site cannot be written: one line saying why."""


def default_cache() -> Path:
    """Where ``synack web`` keeps the npm install: $SYNACK_PYODIDE_CACHE, or
    $XDG_CACHE_HOME/synack (~/.cache/synack)."""
    given = os.environ.get("SYNACK_PYODIDE_CACHE")
    if given:
        return Path(given)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "synack" / f"npm-pyodide-{PYODIDE_VERSION}"


def runtime_in(prefix: Path) -> Path | None:
    """The pinned Pyodide package under an npm prefix (or the package directory
    itself), if it is there whole; None otherwise."""
    for candidate in (prefix / "node_modules" / "pyodide", prefix):
        package = candidate / "package.json"
        try:
            version = json.loads(package.read_text(encoding="utf-8")).get("version")
        except (OSError, ValueError):
            continue
        if version == PYODIDE_VERSION and all((candidate / f).is_file() for f in RUNTIME_FILES):
            return candidate
    return None


def fetch_runtime(prefix: Path, say: Callable[[str], None]) -> Path:
    """``npm install pyodide@PYODIDE_VERSION`` into ``prefix`` (once), saying so."""
    found = runtime_in(prefix)
    if found is not None:
        return found
    npm = shutil.which("npm")
    if npm is None:
        raise SiteError(
            f"the Pyodide runtime is not in {prefix} and npm is not installed: install npm "
            f"(or run `npm install --prefix {prefix} pyodide@{PYODIDE_VERSION}` elsewhere)"
        )
    say(f"fetching the Pyodide runtime (npm pyodide@{PYODIDE_VERSION}, about 14 MB) into {prefix}")
    prefix.mkdir(parents=True, exist_ok=True)
    command = [npm, "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(prefix),
               f"pyodide@{PYODIDE_VERSION}"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    found = runtime_in(prefix)
    if done.returncode != 0 or found is None:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise SiteError(f"npm could not install pyodide@{PYODIDE_VERSION}: {last[0]}")
    return found


def sources_zip() -> bytes:
    """synack's Python sources, from the installed package, as a zip whose top
    directory is ``synack/`` (what the page unpacks onto Python's path)."""
    import io

    root = Path(synack.__file__).parent
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            name = path.relative_to(root.parent).as_posix()
            # a fixed date: the same sources give the same zip
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def check_target(directory: Path) -> None:
    """Refuse a target that is a file, or a directory with other things in it."""
    if directory.exists() and not directory.is_dir():
        raise SiteError(f"{directory} is a file, not a directory")
    if directory.is_dir() and any(directory.iterdir()) and not (directory / MANIFEST).is_file():
        raise SiteError(f"{directory} is not empty and holds no playground: choose a new directory")


def write_site(directory: Path, runtime: Path) -> dict[str, object]:
    """Write the site into ``directory`` (created, or one written here before);
    the manifest it wrote."""
    check_target(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "pyodide").mkdir(exist_ok=True)
    files: list[str] = []
    for name in RUNTIME_FILES:
        shutil.copyfile(runtime / name, directory / "pyodide" / name)
        files.append(f"pyodide/{name}")
    zipped = sources_zip()
    (directory / "synack.zip").write_bytes(zipped)
    files.append("synack.zip")
    for name in PAGE_FILES:
        shutil.copyfile(STATIC / name, directory / name)
        files.append(name)
    digest = hashlib.sha256(zipped)
    for name in PAGE_FILES:
        digest.update((STATIC / name).read_bytes())
    manifest: dict[str, object] = {
        "synack": synack.__version__,
        "pyodide": PYODIDE_VERSION,
        # changes whenever the page or the sources do: the service worker's cache name
        "build": digest.hexdigest()[:16],
        "files": ["./", *files],
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest


__all__ = [
    "PYODIDE_VERSION", "SiteError", "default_cache", "fetch_runtime", "runtime_in",
    "sources_zip", "write_site",
]  # fmt: skip
