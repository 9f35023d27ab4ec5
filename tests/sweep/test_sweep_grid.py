"""The grid: flags and TOML read with simulate's text forms, checked before any
work, expanded into cells whose ids do not change between runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from synack.sweep.cell import links, tcp_config
from synack.sweep.grid import Cell, GridError, build_grid, parse_options


def test_flags_expand_into_the_product_of_the_axes() -> None:
    grid = build_grid({"cc": "cubic,newreno", "loss": "0,1%,0.02", "seed": "1-3,7"})
    assert grid.axes["cc"] == ["cubic", "newreno"]
    assert grid.axes["loss"] == [0.0, 0.01, 0.02]
    assert grid.axes["seed"] == [1, 2, 3, 7]
    cells = grid.cells()
    assert len(cells) == grid.size == 2 * 3 * 4
    first = cells[0]
    assert (first.cc, first.loss, first.seed, first.delay, first.bytes) == (
        "cubic", 0.0, 1, 0.01, 1_000_000,
    )  # fmt: skip
    assert first.bandwidth is None and first.queue is None and first.rate is None


def test_a_toml_file_gives_the_axes_and_flags_replace_its_lists(tmp_path: Path) -> None:
    grid_file = tmp_path / "grid.toml"
    grid_file.write_text(
        'cc = ["newreno"]\ndelay = [10, "50ms"]\nbandwidth = ["10mbit", "none"]\n'
        'seeds = "1-2"\nloss-on = "s2c"\ntimeout = 30\n'
    )
    grid = build_grid({"cc": None, "delay": "25ms"}, grid_file)
    assert grid.axes["cc"] == ["newreno"]
    assert grid.axes["delay"] == [0.025]  # the flag replaced the file's list
    assert grid.axes["bandwidth"] == [10e6, None]
    assert grid.axes["seed"] == [1, 2]
    assert grid.axes["loss_on"] == ["s2c"]
    assert grid.timeout == 30.0
    # [grid] as a table reads the same
    grid_file.write_text('[grid]\ncc = "cubic,newreno"\n')
    assert build_grid({}, grid_file).axes["cc"] == ["cubic", "newreno"]


def test_cell_ids_depend_on_every_parameter_and_nothing_else() -> None:
    a = build_grid({"seed": "1,2"}).cells()
    b = build_grid({"seed": "1,2"}).cells()
    assert [c.cell_id for c in a] == [c.cell_id for c in b]
    assert a[0].cell_id != a[1].cell_id
    assert len({c.cell_id for c in build_grid({"loss": "0,1%", "delay": "1,2"}).cells()}) == 4


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"loss": "2"}, "--loss: '2' is not a probability"),
        ({"cc": "bbr"}, "'bbr' is not a congestion control"),
        ({"delay": "fast"}, "is not a duration"),
        ({"delay": "61s"}, "out of range for delay"),
        ({"flows": "0"}, "out of range for flows"),
        ({"queue": "10"}, "--queue needs a --bandwidth"),
        ({"options": "nosack+sack"}, "contradict"),
        ({"options": "turbo"}, "unknown option 'turbo'"),
        ({"seed": "5-1"}, "must go up"),
        ({"seed": "x"}, "not a whole number"),
        ({"msl": "0"}, "out of range for msl"),
        ({"rate": "0"}, "out of range for rate"),
        ({"seed": "0-99999", "loss": "0,0.1"}, "more than 100,000"),
    ],
)
def test_bad_axes_are_refused_in_one_line(given: dict[str, str], message: str) -> None:
    with pytest.raises(GridError, match=message.replace("(", r"\(")) as info:
        build_grid(given)
    assert "\n" not in str(info.value)


def test_bad_files_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("cc = [")
    with pytest.raises(GridError, match="is not TOML"):
        build_grid({}, bad)
    bad.write_text("colour = 'red'")
    with pytest.raises(GridError, match="unknown key 'colour'"):
        build_grid({}, bad)
    bad.write_text("timeout = -1")
    with pytest.raises(GridError, match="timeout -1 is out of range"):
        build_grid({}, bad)
    with pytest.raises(GridError, match="cannot read"):
        build_grid({}, tmp_path / "missing.toml")


def test_options_turn_tcp_switches_on_and_off() -> None:
    assert parse_options("default") == "default"
    assert parse_options("ts+nosack") == "nosack+ts"
    cell = build_grid({"options": "nosack+nots+ecn+pacing", "bandwidth": "10mbit",
                       "queue": "20", "cc": "newreno", "buffer": "1mi"}).cells()[0]  # fmt: skip
    config = tcp_config(cell)
    assert (config.sack, config.timestamps, config.ecn, config.pacing) == (False, False, "on", True)
    assert config.congestion_control == "newreno"
    assert config.send_buffer == config.recv_buffer == 1 << 20
    c2s, s2c = links(cell)
    assert s2c.bandwidth == 10e6 and s2c.queue_limit == 20 and s2c.ecn_mark == 10
    assert c2s.bandwidth is None and c2s.ecn_mark is None
    assert tcp_config(build_grid({"options": "nonodelay"}).cells()[0]).nodelay is False
    assert tcp_config(build_grid({"options": "nodelay"}).cells()[0]).nodelay is True


def test_loss_goes_where_loss_on_says() -> None:
    base = build_grid({"loss": "5%"}).cells()[0]
    for where, c2s_loss, s2c_loss in (("both", 0.05, 0.05), ("c2s", 0.05, 0), ("s2c", 0, 0.05)):
        c2s, s2c = links(Cell(**{**base.params(), "loss_on": where}))
        assert (c2s.loss, s2c.loss) == (c2s_loss, s2c_loss)
