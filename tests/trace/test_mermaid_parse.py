"""`synack demo --format mermaid` is a valid Mermaid file, by Mermaid's own parser.

The parser is mermaid's ``mermaid.parse`` (the npm package, run by node; a
sequence diagram parses without a DOM, so no jsdom). ``@mermaid-js/parser``
alone would be lighter but knows no sequence diagrams. The package is
installed once into ``build/npm-mermaid`` (git-ignored; .ci/run installs it
there before the tests); the test skips only if node is missing or npm
cannot install it.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from synack.cli import main
from synack.scenarios import SCENARIOS

ROOT = Path(__file__).resolve().parents[2]
NPM_DIR = ROOT / "build" / "npm-mermaid"
MERMAID = "mermaid@11.17.2"  # the same in .ci/run

# reads files named on the command line; prints one JSON result per file
PARSE_JS = """\
import mermaid from "mermaid";
import fs from "node:fs";
const results = [];
for (const file of process.argv.slice(2)) {
  try {
    const parsed = await mermaid.parse(fs.readFileSync(file, "utf8"));
    results.push({ file, ok: true, type: parsed.diagramType });
  } catch (error) {
    results.push({ file, ok: false, error: String(error.message || error) });
  }
}
console.log(JSON.stringify(results));
"""


@pytest.fixture(scope="module")
def mermaid_parse() -> Path:
    """A node script that parses Mermaid files with mermaid's parser."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None:
        pytest.skip("node is not installed: cannot run mermaid's parser")
    package = NPM_DIR / "node_modules" / "mermaid" / "package.json"
    NPM_DIR.mkdir(parents=True, exist_ok=True)
    with open(NPM_DIR / ".lock", "w") as lock:  # one install for parallel workers
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not package.exists():
            if npm is None:
                pytest.skip("npm is not installed: cannot install mermaid's parser")
            done = subprocess.run(
                [npm, "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(NPM_DIR),
                 MERMAID],
                capture_output=True, text=True, timeout=600, check=False,
            )  # fmt: skip
            if done.returncode != 0 or not package.exists():
                pytest.skip(f"npm could not install {MERMAID}: {done.stderr.strip()[-500:]}")
        script = NPM_DIR / "parse.mjs"
        if not script.exists() or script.read_text() != PARSE_JS:
            partial = script.with_suffix(f".{os.getpid()}")
            partial.write_text(PARSE_JS)
            partial.replace(script)
    return script


def _parse(script: Path, files: list[Path]) -> dict[str, dict[str, object]]:
    done = subprocess.run(
        ["node", str(script), *map(str, files)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return {Path(r["file"]).name: r for r in json.loads(done.stdout)}


def _mermaid(scenario: str, lang: str) -> str:
    result = CliRunner().invoke(main, ["demo", scenario, "--format", "mermaid", "--lang", lang])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_every_scenario_is_valid_mermaid(mermaid_parse: Path, tmp_path: Path) -> None:
    files = []
    for name in SCENARIOS:
        for lang in ("en", "ko"):
            path = tmp_path / f"{name}-{lang}.mmd"
            path.write_text(_mermaid(name, lang), encoding="utf-8")
            files.append(path)
    results = _parse(mermaid_parse, files)
    bad = {name: r["error"] for name, r in results.items() if not r["ok"]}
    assert not bad, bad
    assert {r["type"] for r in results.values()} == {"sequence"}
    assert len(results) == 2 * len(SCENARIOS)


def test_the_parser_refuses_text_before_the_diagram(mermaid_parse: Path, tmp_path: Path) -> None:
    """What the output was before: narration, then the diagram. Mermaid refuses it,
    so the test above can fail."""
    text = _mermaid("handshake", "en")
    narrated = tmp_path / "narrated.mmd"
    narrated.write_text("handshake: The 3-way handshake\n\n" + text.split("\n%%")[-1])
    broken = tmp_path / "broken.mmd"
    broken.write_text(text.replace("->>", "->>>", 1))
    results = _parse(mermaid_parse, [narrated, broken])
    assert not results["narrated.mmd"]["ok"]
    assert "No diagram type detected" in str(results["narrated.mmd"]["error"])
    assert not results["broken.mmd"]["ok"]


def test_narration_and_facts_are_mermaid_comments() -> None:
    """No parser needed: the narration comes first as %% comments, the facts
    last; every other line is the diagram."""
    title, notes = SCENARIOS["lossy-transfer"].describe("en")
    lines = _mermaid("lossy-transfer", "en").splitlines()
    start = lines.index("sequenceDiagram")
    assert lines[:start] == [f"%% lossy-transfer: {title}", *(f"%%   - {n}" for n in notes)]
    assert lines[-1].startswith("%% ") and lines[-1].count(":") == 1
    assert all(line.startswith(("    ", "%% ")) for line in lines[start + 1 :])
