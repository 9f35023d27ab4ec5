"""What the command line gives, for the playground's tests to compare with."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from synack.cli import main
from synack.trace.load import records_from_dicts
from synack.trace.records import Record
from synack.trace.timeline import build_timeline

Arrow = tuple[str, str, int, int, int, str]


def cli_records(args: list[str], files: dict[str, str] | None = None) -> list[Record]:
    """The records ``synack ARGS`` prints as JSON Lines (``files`` written first)."""
    runner = CliRunner()
    with runner.isolated_filesystem():
        for name, text in (files or {}).items():
            Path(name).write_text(text, encoding="utf-8")
        result = runner.invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    items = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return records_from_dicts(items)


def cli_arrows(args: list[str], files: dict[str, str] | None = None) -> list[Arrow]:
    """The ladder's arrows (sender, flags, relative seq and ack, len, fate) of that trace."""
    timeline = build_timeline(cli_records(args, files))
    return [(s.side, s.flags, s.seq, s.ack, s.len, s.fate_word) for s in timeline.arrows()]
