"""The README's `synack conformance` examples run, as written, from a clone.

Every path they name is inside the repository (nothing from beside it), and the
figures the README gives for the FreeBSD suite are what the first one prints.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def conformance_examples(text: str) -> list[str]:
    """The `synack conformance ...` lines of the README's ```sh blocks, each
    with its backslash continuations joined."""
    commands: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.DOTALL):
        joined = re.sub(r"\s*\\\n\s*", " ", block)
        commands += [line.strip() for line in joined.splitlines()]
    return [c for c in commands if c.startswith("synack conformance ")]


EXAMPLES = conformance_examples(README.read_text(encoding="utf-8"))


def test_the_readme_has_its_three_examples() -> None:
    assert len(EXAMPLES) == 3, EXAMPLES


def test_joins_continuations() -> None:
    text = "```sh\nsynack conformance a \\\n    --expected-failures b\nsynack demo\n```\n"
    assert conformance_examples(text) == ["synack conformance a --expected-failures b"]


@pytest.mark.parametrize("command", EXAMPLES)
def test_readme_example_runs_from_the_repository(command: str) -> None:
    argv = shlex.split(command)
    values = {"--profile"}  # options whose value is not a path
    paths = [
        arg
        for i, arg in enumerate(argv[2:], 2)
        if not arg.startswith("-") and argv[i - 1] not in values
    ]
    assert paths, command
    for path in paths:
        where = (ROOT / path).resolve()
        assert where.exists(), f"{path} is not in the repository"
        assert where.is_relative_to(ROOT), f"{path} is outside the repository"

    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-m", "synack", *argv[1:]],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    shown = f"{command}\nstdout (end):\n{done.stdout[-3000:]}\nstderr:\n{done.stderr}"
    assert done.returncode == 0, shown
    assert "Traceback" not in done.stdout + done.stderr, shown
    if "--json" in argv:
        report = json.loads(done.stdout)
        assert report["total"] >= 1 and report["unexpected"] == [], shown
        return
    summary = done.stdout.splitlines()[-1]
    counts = re.fullmatch(r"(\d+) passed, (\d+) failed( \((\d+) expected\))?", summary)
    assert counts, shown
    if "--expected-failures" in argv:  # the whole suite: the README's own figures
        passed, failed = int(counts[1]), int(counts[2])
        claim = re.search(r"(\d+) of (\d+) \(\d+%\) in all", README.read_text(encoding="utf-8"))
        assert claim, "the README no longer says how many scripts pass"
        assert (passed, passed + failed) == (int(claim[1]), int(claim[2])), shown
        assert counts[4] is not None and int(counts[4]) == failed, shown
