"""docs/asyncio.md says what it shows: its runnable examples print what it
says they print, and its ladder is what examples/asyncio/http_ladder.py
draws now (uvicorn and httpx over synack on a virtual clock)."""

from __future__ import annotations

import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "asyncio.md"
LADDER_MARK = "<!-- ladder: examples/asyncio/http_ladder.py -->\n```text\n"


def runnable_blocks() -> list[str]:
    blocks = re.findall(r"^```python\n(.*?)^```$", GUIDE.read_text(), re.S | re.M)
    return [b for b in blocks if "asyncio.run(main())" in b]


def test_the_guide_has_its_two_runnable_examples() -> None:
    assert len(runnable_blocks()) == 2


@pytest.mark.parametrize(
    ("index", "printed"),
    [(0, "b'HELLO, SYNACK' TIME-WAIT 13\n"), (1, "b'HTTP/1.1 200 OK'\n")],
)
def test_a_guide_example_prints_what_the_guide_says(
    index: int, printed: str, tmp_path: Path
) -> None:
    code = runnable_blocks()[index]
    assert printed.strip() in GUIDE.read_text()  # the guide says it
    script = tmp_path / "example.py"
    script.write_text(code)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout == printed


def test_the_guide_shows_the_ladder_the_example_draws() -> None:
    text = GUIDE.read_text()
    start = text.index(LADDER_MARK) + len(LADDER_MARK)
    shown = text[start : text.index("```", start)]
    example = runpy.run_path(str(ROOT / "examples" / "asyncio" / "http_ladder.py"))
    assert shown == example["main"](), "docs/asyncio.md's ladder is out of date"
    # what the text around it claims
    assert "len 141" in shown and "len 113" in shown
    assert "TIME-WAIT" in shown and "LAST-ACK" in shown
