"""synack sweep on the command line: bad input refused in one line before any
work, query and plot over a dataset, recipes listed and their formulas, and
a folder of captures analysed on a local cluster into rows."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from synack.cli import main
from synack.sim.network import LinkConfig
from synack.sim.scale import simulate
from synack.sweep.cell import run_cell
from synack.sweep.grid import build_grid
from synack.sweep.recipes import RECIPES, cubic_mbit, mathis_mbit, syn_mean_ms
from synack.sweep.store import Writer
from synack.tcp.config import TcpConfig
from synack.trace.pcap import write_pcap
from synack.trace.records import TraceRecorder


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["sweep", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--loss", "150%"], "Error: --loss: '150%' is not a probability"),
        (["--queue", "10"], "Error: --queue needs a --bandwidth"),
        (["--seeds", "9-3"], "Error: --seeds: seed range '9-3' must go up"),
        (["--seeds", "0-99999,100000-199999"], "Error: --seeds: more than 100,000 seeds"),
        (["--rate", "abc"], "Error: --rate: 'abc' is not a number"),
        (["--rate", "nan"], "Error: --rate: 'nan' is not a finite number"),
        (["--scheduler", "localhost:8786"], "'localhost:8786' is not a scheduler address"),
        (["--scheduler", "tcp://127.0.0.1:1", "--workers", "2"], "not with --scheduler"),
        (["--workers", "0"], "Invalid value for '--workers'"),
        (["--grid", "/nonexistent.toml"], "does not exist"),
        (["query", "--cc", "cubic", "SELECT 1"], "No such option '--cc'"),
        (["--cc", "cubic", "query", "SELECT 1"], "--cc goes with `synack sweep` itself"),
        (["recipe", "nope"], "'nope' is not a recipe"),
        (["recipe"], "name a recipe"),
        (["plot", "fig.gif", "--x", "loss", "--y", "goodput_mbit"], "must end in .png or .svg"),
    ],
)
def test_bad_input_is_refused_in_one_line(args: list[str], message: str, tmp_path: Path) -> None:
    code, output = invoke(*args, *([] if "query" in args or "recipe" in args or "plot" in args
                                   else ["-o", str(tmp_path / "out")]))  # fmt: skip
    assert code in (1, 2)
    assert message in output
    assert "Traceback" not in output
    assert not (tmp_path / "out").exists()  # refused before any work


@pytest.mark.parametrize(
    "figure", ["/proc/x.png", "no-such-folder/x.png", "folder.svg", "x" * 300 + ".png"]
)
@pytest.mark.parametrize("command", ["plot", "recipe"])
def test_a_figure_that_cannot_be_written_is_refused_first(
    command: str, figure: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder.svg").mkdir()
    args = (["plot", figure, "--x", "loss", "--y", "goodput_mbit"] if command == "plot"
            else ["recipe", "syn", "--quick", "--workers", "1", "--figure", figure])  # fmt: skip
    code, output = invoke(*args)
    assert code == 2 and f"cannot write {figure!r}" in output, output
    assert [p.name for p in tmp_path.iterdir()] == ["folder.svg"]  # no grid was run


@pytest.mark.parametrize(
    "args",
    [["--dry-run", "-o"], ["query", "SELECT 1", "-d"], ["recipe", "syn", "-o"],
     ["analyze", "FOLDER", "-o"]],
    ids=["grid", "query", "recipe", "analyze"],
)  # fmt: skip
def test_a_folder_name_too_long_is_refused(args: list[str], tmp_path: Path) -> None:
    """Asking about a name over 255 bytes fails: that is said, not a traceback."""
    long = str(tmp_path / ("x" * 300))
    code, output = invoke(*(str(tmp_path) if a == "FOLDER" else a for a in args), long)
    assert code == 2 and f"{long!r}: File name too long" in output, output


def test_an_output_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("")
    code, output = invoke("-o", str(tmp_path / "out"), "--bytes", "1k")
    assert code == 1 and "is a file, not a dataset folder" in output


def test_dry_run_counts_the_cells(tmp_path: Path) -> None:
    grid = tmp_path / "grid.toml"
    grid.write_text('cc = ["cubic", "newreno"]\nloss = ["0", "1%", "2%"]\nseeds = "1-4"\n')
    code, output = invoke("--grid", str(grid), "--seeds", "1-2", "--dry-run",
                          "-o", str(tmp_path / "out"))  # fmt: skip
    assert code == 0, output
    assert "12 cells, 0 already in" in output and "12 to run" in output
    assert not (tmp_path / "out").exists()


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    writer = Writer(tmp_path)
    for cell in build_grid({"loss": "0,2%", "bytes": "30k", "seed": "1,2"}).cells():
        writer.add(run_cell(cell))
    writer.flush()
    return tmp_path


def test_query_prints_a_table_csv_or_json(dataset: Path) -> None:
    sql = "SELECT loss, count(*) AS n, sum(retransmissions) AS r FROM cells GROUP BY 1 ORDER BY 1"
    code, output = invoke("query", "-d", str(dataset), "--format", "json", sql)
    assert code == 0, output
    rows = [json.loads(line) for line in output.splitlines()]
    assert [(r["loss"], r["n"]) for r in rows] == [(0.0, 2), (0.02, 2)]
    assert rows[0]["r"] == 0 and rows[1]["r"] > 0
    code, output = invoke("query", "-d", str(dataset), "--format", "csv", sql)
    assert output.splitlines()[0] == "loss,n,r" and output.splitlines()[1].startswith("0.0,2,0")
    code, output = invoke("query", "-d", str(dataset), sql)
    assert code == 0 and "loss" in output
    code, output = invoke("query", "-d", str(dataset), "SELECT nope FROM cells")
    assert code == 1 and output.startswith("Error: ") and len(output.splitlines()) == 1
    code, output = invoke("query", "-d", str(dataset / "missing"), "SELECT 1")
    assert code == 1 and "holds no sweep results" in output
    (dataset / "part-broken.parquet").write_text("not parquet")  # DuckDB refuses the views
    code, output = invoke("query", "-d", str(dataset), "SELECT 1")
    assert code == 1 and output.startswith("Error: ") and len(output.splitlines()) == 1


def test_plot_draws_lines_and_heatmaps(dataset: Path) -> None:
    lines, heat = dataset / "lines.png", dataset / "heat.png"
    code, output = invoke("plot", str(lines), "-d", str(dataset), "--x", "loss",
                          "--y", "goodput_mbit", "--by", "cc")  # fmt: skip
    assert code == 0, output
    assert "4 cells drawn" in output and lines.read_bytes()[:4] == b"\x89PNG"
    code, output = invoke("plot", str(heat), "-d", str(dataset), "--x", "seed", "--y", "loss",
                          "--z", "retransmissions")  # fmt: skip
    assert code == 0 and heat.exists()
    code, output = invoke("plot", str(heat), "-d", str(dataset), "--x", "loss", "--y", "cc")
    assert code == 1 and "'cc' is not a numeric column" in output
    code, output = invoke("plot", str(heat), "-d", str(dataset), "--x", "loss", "--y", "jain",
                          "--by", "cc", "--z", "jain")  # fmt: skip
    assert code == 2 and "give one" in output


def test_recipes_are_listed_and_their_formulas_are_the_papers() -> None:
    code, output = invoke("recipe", "--list")
    assert code == 0 and [line.split()[0] for line in output.splitlines()] == list(RECIPES)
    # Mathis et al.: 1460-byte-ish segments, RTT 100 ms, p = 1%: 1.22 x MSS/RTT / 0.1
    assert math.isclose(mathis_mbit(0.1, 0.01), 1448 * 8 / 0.1 * math.sqrt(1.5) / 0.1 / 1e6)
    assert math.isclose(mathis_mbit(0.1, 0.01, 2), mathis_mbit(0.1, 0.01) / math.sqrt(2))
    # CUBIC: Reno-friendly at short RTTs, its own cubic region (~RTT^-1/4) at long ones
    assert cubic_mbit(0.02, 0.005) == pytest.approx(mathis_mbit(0.02, 0.005))
    assert cubic_mbit(0.8, 0.005) / cubic_mbit(0.4, 0.005) == pytest.approx(2**-0.25)
    # no loss: one RTT; p = 1/4: RTT + 1 s x 0.25 / 0.5
    assert syn_mean_ms(0.02, 0.0) == pytest.approx(20.0)
    assert syn_mean_ms(0.02, 0.25) == pytest.approx(520.0)
    for recipe in RECIPES.values():
        assert build_grid(recipe.axes(quick=True)).size <= build_grid(recipe.axes(False)).size


def test_a_recipe_runs_its_grid_and_draws_it(tmp_path: Path) -> None:
    out, figure = tmp_path / "syn", tmp_path / "syn.svg"
    code, output = invoke("recipe", "syn", "--quick", "--workers", "1", "-o", str(out),
                          "--figure", str(figure))  # fmt: skip
    assert code == 0, output
    assert b"RFC 6298" in figure.read_bytes()
    from synack.sweep.query import query

    _, rows = query(out, "SELECT loss, avg(handshake_mean_ms), min(handshakes) FROM cells "
                         "GROUP BY 1 ORDER BY 1")  # fmt: skip
    assert rows[0][0] == 0.0 and rows[0][1] == pytest.approx(20.0)  # no loss: one RTT
    assert all(r[2] == 60 for r in rows)  # every connect completed
    assert rows[-1][1] > 300.0  # at 30 % SYN loss the 1 s RTO shows


def test_a_folder_of_captures_becomes_connection_rows(tmp_path: Path) -> None:
    folder = tmp_path / "captures"
    (folder / "sub").mkdir(parents=True)
    for i, name in enumerate(["a.pcap", "sub/b.pcap"]):
        recorder = TraceRecorder()
        simulate(1, bytes_up=2000, bytes_down=5000 * (i + 1), c2s=LinkConfig(delay=0.01),
                 s2c=LinkConfig(delay=0.01), seed=i + 1, config=TcpConfig(msl=1.0),
                 recorder=recorder)  # fmt: skip
        write_pcap(recorder, folder / name)
    (folder / "broken.pcap").write_bytes(b"not a capture at all")
    (folder / "notes.txt").write_text("not a capture name: left alone")
    out = tmp_path / "rows"
    code, output = invoke("analyze", str(folder), "-o", str(out), "--workers", "1")
    assert code == 0, output
    assert "3 files, 2 connections" in output and "1 with errors" in output
    from synack.sweep.query import query

    _, rows = query(out, "SELECT regexp_extract(file, '[^/]+$'), conn, id_resp_p, resp_bytes, "
                         "orig_bytes, conn_state, retransmissions, round(handshake_rtt_ms, 3), "
                         "file_error IS NULL FROM rows ORDER BY 1")  # fmt: skip
    # the pcap stamps each packet when it was sent: the SYN at 0, the SYN,ACK 10 ms later
    assert rows[0] == ("a.pcap", 1, 80, 5000, 2000, "SF", 0, 10.0, True)
    assert rows[1] == ("b.pcap", 1, 80, 10000, 2000, "SF", 0, 10.0, True)
    assert rows[2][0] == "broken.pcap" and rows[2][1] is None and rows[2][-1] is False
    # a rerun skips the files already there
    code, output = invoke("analyze", str(folder), "-o", str(out), "--workers", "1")
    assert code == 0 and "0 files, 0 connections (3 files already in" in output
    (out / "part-broken.parquet").write_text("not parquet")
    code, output = invoke("analyze", str(folder), "-o", str(out), "--workers", "1")
    assert code == 1 and "Error: cannot read" in output and "Traceback" not in output


def test_synack_analyze_takes_a_folder_as_sweep_analyze_does(tmp_path: Path) -> None:
    folder = tmp_path / "captures"
    folder.mkdir()
    recorder = TraceRecorder()
    simulate(1, bytes_up=1000, bytes_down=3000, c2s=LinkConfig(delay=0.01),
             s2c=LinkConfig(delay=0.01), seed=3, config=TcpConfig(msl=1.0),
             recorder=recorder)  # fmt: skip
    write_pcap(recorder, folder / "one.pcap")
    out = tmp_path / "rows"
    result = CliRunner().invoke(main, ["analyze", str(folder), "--rows", str(out), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert "1 files, 1 connections" in result.output
    from synack.sweep.query import query

    _, rows = query(out, "SELECT conn, resp_bytes, orig_bytes, conn_state FROM rows")
    assert rows == [(1, 3000, 1000, "SF")]
    # a folder's captures become rows: the views, and files beside it, are refused
    for extra in (["--conn", "1"], ["--format", "ladder"], [str(folder / "one.pcap")],
                  ["--ignore-checksums"], ["--count", "5"]):  # fmt: skip
        refused = CliRunner().invoke(main, ["analyze", str(folder), *extra])
        assert refused.exit_code == 2 and refused.exception is not None, extra
    refused = CliRunner().invoke(main, ["analyze", str(folder / "one.pcap"), "--rows", "x"])
    assert refused.exit_code == 2 and "go with a folder" in refused.output
