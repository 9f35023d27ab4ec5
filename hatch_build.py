"""The opt-in compiled build: ``SYNACK_COMPILE=1 pip install .`` compiles the
per-packet path (the wire and engine layers, the Host and its TIME-WAIT
table, the simulator's loop) with mypyc into extension modules that sit
beside the .py files in the wheel, and that Python imports in their place
(docs/compiled.md).

Without ``SYNACK_COMPILE=1`` this hook asks for nothing and does nothing: the
wheel is pure Python, as is every editable install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

# What the build installs besides hatchling, only when compiling.
COMPILE_REQUIRES = ["mypy==2.4.1", "setuptools==80.9.0"]

COMPILED = (
    "synack/wire/*.py",
    "synack/tcp/*.py",
    "synack/host.py",
    "synack/timewait_table.py",
    # the simulator's loop and its applications, which run per packet
    "synack/sim/network.py",
    "synack/sim/scale.py",
)
# Modules of those globs that stay interpreted, and why (mypyc 2.4.1):
INTERPRETED = {
    # counts read from class attributes until an instance's __dict__ takes them:
    # a native class has neither
    "synack/tcp/stats.py",
    # IllegalTransition subclasses RuntimeError: "Inheriting from most builtin
    # types is unimplemented" (state.py, which re-exports it, compiles)
    "synack/tcp/state_error.py",
}

# mypycify in the copied tree; build_ext leaves each .so beside its .py
_SETUP = """
import sys
from mypyc.build import mypycify
from setuptools import setup

setup(
    name="synack-compiled",
    ext_modules=mypycify(sys.argv[1:], opt_level="3"),
    script_args=["build_ext", "--inplace"],
)
"""


def enabled() -> bool:
    return os.environ.get("SYNACK_COMPILE") == "1"


class CompileHook(BuildHookInterface):
    def dependencies(self) -> list[str]:
        return COMPILE_REQUIRES if enabled() else []

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if not enabled() or self.target_name != "wheel":
            return
        if version == "editable":
            raise RuntimeError(
                "SYNACK_COMPILE=1 compiles a regular install (pip install .), "
                "not an editable one: an editable install imports the .py files"
            )
        work = Path(tempfile.mkdtemp(prefix="synack-mypyc-"))
        try:
            self._compile(work, build_data)
        except BaseException:
            # finalize runs only after a built wheel: a failed build cleans here
            shutil.rmtree(work, ignore_errors=True)
            raise
        self._work = work
        build_data["pure_python"] = False
        build_data["infer_tag"] = True

    def _compile(self, work: Path, build_data: dict[str, Any]) -> None:
        # compile a copy, so that no .so lands in the source tree (an editable
        # install of it would import them)
        shutil.copytree(Path(self.root, "src", "synack"), work / "synack")
        files = sorted(
            str(path.relative_to(work))
            for pattern in COMPILED
            for path in work.glob(pattern)
            if str(path.relative_to(work)) not in INTERPRETED
        )
        self.app.display_info(f"mypyc: compiling {len(files)} modules (a few minutes)")
        done = subprocess.run([sys.executable, "-c", _SETUP, *files], cwd=work, check=False)
        if done.returncode != 0:
            raise RuntimeError(
                f"SYNACK_COMPILE=1: mypyc failed (exit {done.returncode}, its output above); "
                "it needs a C compiler and the Python headers (docs/compiled.md)"
            )
        # each module's .so beside its .py, and the group's shared library
        # (<hash>__mypyc.*.so) at the top
        for built in work.rglob("*.so"):
            relative = built.relative_to(work)
            if relative.parts[0] != "build":
                build_data["force_include"][str(built)] = str(relative)

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        work = getattr(self, "_work", None)
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
