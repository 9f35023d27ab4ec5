"""Every plot kind renders to a valid image of a plausible size."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from synack.cli import main
from synack.sim.faults import parse_fault
from synack.sim.network import LinkConfig
from synack.sim.scale import simulate
from synack.tcp.config import TcpConfig
from synack.trace.pcap import write_pcap
from synack.trace.plot import (
    PlotError,
    plot_metrics,
    plot_time_sequence,
    read_pcap,
    trace_segments,
)
from synack.trace.records import TraceRecorder

pytest.importorskip("matplotlib")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def lossy_run() -> TraceRecorder:
    recorder = TraceRecorder(metrics=True)
    result = simulate(
        1, bytes_up=0, bytes_down=600_000, c2s=LinkConfig(delay=0.02),
        s2c=LinkConfig(delay=0.02, loss=0.02), config=TcpConfig(msl=1.0),
        recorder=recorder, seed=7,
    )  # fmt: skip
    assert result.ok and result.retransmitted_segments > 0
    return recorder


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_metrics_png(lossy_run: TraceRecorder, tmp_path: Path) -> None:
    out = tmp_path / "cwnd.png"
    assert plot_metrics(lossy_run.metrics, out, endpoint="server") == 1
    width, height = _png_size(out)
    assert (width, height) == (1000, 900)
    assert out.stat().st_size > 20_000


def test_metrics_mark_loss_events(lossy_run: TraceRecorder) -> None:
    events = {s.event for s in lossy_run.metrics if s.endpoint == "server"}
    assert "fast retransmit" in events or "timeout" in events


def test_metrics_mark_a_tail_loss_probe() -> None:
    """The last full segment is lost and nothing follows it but a small tail
    (held back by Nagle): the probe sends the tail, its SACK shows the hole,
    and fast recovery resends it. Both are marked, in that order."""
    recorder = TraceRecorder(metrics=True)
    result = simulate(
        1, bytes_up=0, bytes_down=100_000, c2s=LinkConfig(delay=0.05),
        s2c=LinkConfig(delay=0.05), faults=[parse_fault("drop", "s2c:data:69")],
        config=TcpConfig(msl=1.0), recorder=recorder, seed=1,
    )  # fmt: skip
    marked = [s.event for s in recorder.metrics if s.endpoint == "server" and s.event]
    assert marked == ["tail loss probe", "fast retransmit"]
    assert result.timeouts == 0


def test_metrics_legend_names_both_endpoints(tmp_path: Path) -> None:
    """Both sides send data: each one's curves are in the legends, not only the
    first connection's (matplotlib's SVG keeps each text as a comment)."""
    recorder = TraceRecorder(metrics=True)
    simulate(
        1, bytes_up=100_000, bytes_down=100_000, c2s=LinkConfig(delay=0.02),
        s2c=LinkConfig(delay=0.02), config=TcpConfig(msl=1.0), recorder=recorder, seed=7,
    )  # fmt: skip
    out = tmp_path / "both.svg"
    assert plot_metrics(recorder.metrics, out) == 2
    texts = re.findall(r"<!-- (.*?) -->", out.read_text())
    for curve in ("cwnd", "ssthresh", "in flight", "SRTT", "RTO"):
        labels = [t for t in texts if t.startswith(curve + " ")]
        assert [t.split()[len(curve.split())] for t in labels] == ["client", "server"], curve
    windows = [t for t in texts if t.startswith(("client ", "server "))]
    assert [t.split()[0] for t in windows] == ["client", "server"]  # the window's legend


def test_time_sequence_svg_from_a_trace(lossy_run: TraceRecorder, tmp_path: Path) -> None:
    out = tmp_path / "seq.svg"
    drawn = plot_time_sequence(trace_segments(lossy_run), out)
    assert drawn > 400  # 600 KB in 1448-byte segments, with retransmissions
    root = ET.parse(out).getroot()
    assert root.tag.endswith("svg")
    assert out.stat().st_size > 50_000


def test_time_sequence_from_a_pcap(lossy_run: TraceRecorder, tmp_path: Path) -> None:
    capture = tmp_path / "run.pcap"
    write_pcap(lossy_run, capture)
    segments = read_pcap(capture)
    assert len(segments) == len(trace_segments(lossy_run))
    out = tmp_path / "seq.png"
    assert plot_time_sequence(segments, out) == plot_time_sequence(
        trace_segments(lossy_run), tmp_path / "again.png"
    )
    assert _png_size(out) == (1000, 600)


def test_bad_inputs_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(PlotError, match=r"\.png or \.svg"):
        plot_metrics([], tmp_path / "x.pdf")
    with pytest.raises(PlotError, match="nothing to plot"):
        plot_metrics([], tmp_path / "x.png")
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"not a capture at all")
    with pytest.raises(PlotError, match="not a pcap"):
        read_pcap(junk)


def test_simulate_writes_both_plots(tmp_path: Path) -> None:
    cwnd, seq = tmp_path / "c.png", tmp_path / "s.png"
    result = CliRunner().invoke(
        main,
        ["simulate", "--bytes-down", "300k", "--s2c", "loss=1%", "--cc", "cubic",
         "--format", "none", "--plot", str(cwnd), "--seq-plot", str(seq)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert _png_size(cwnd) == (1000, 900)
    assert _png_size(seq) == (1000, 600)


def test_simulate_plot_needs_one_connection(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["simulate", "-n", "2", "--plot", str(tmp_path / "p.png")])
    assert result.exit_code == 2
    assert "use --connections 1" in result.output


def test_compare_prints_a_table_and_one_plot(tmp_path: Path) -> None:
    combined = tmp_path / "cmp.svg"
    result = CliRunner().invoke(
        main,
        ["simulate", "--compare", "cubic,newreno", "--bytes-down", "400k",
         "--s2c", "loss=1%,delay=20ms", "--c2s", "delay=20ms", "--plot", str(combined)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if "cubic" in line or "newreno" in line]
    assert len(rows) == 2
    assert ET.parse(combined).getroot().tag.endswith("svg")


def test_compare_needs_known_algorithms() -> None:
    result = CliRunner().invoke(main, ["simulate", "--compare", "cubic,vegas"])
    assert result.exit_code == 2
    assert "--compare" in result.output
