"""``synack bench tun``'s results as data: one per MTU and offload setting,
their JSON fields, figure names and report lines kept apart. (The
measurement itself needs root and is a benchmark, not a test.)"""

from __future__ import annotations

from synack.bench.report import tun_lines
from synack.bench.results import TunResult, to_json

FIGURES = (
    "to_synack_mb_per_second",
    "from_synack_mb_per_second",
    "connections_per_second",
    "raw_mb_per_second",
    "raw_packets_per_second",
)


def result(mtu: int, offload: bool, refused: str | None = None) -> TunResult:
    return TunResult(mtu, 1000, 100.0, 50.0, 10, 900.0, 400.0, 200_000.0, offload, refused)


def test_json_carries_mtu_and_offload() -> None:
    results = [result(1500, False), result(1500, True), result(65535, False, "EINVAL")]
    rows = to_json(list(results))["results"]
    for row, r in zip(rows, results, strict=True):
        assert row["benchmark"] == "TunResult"
        assert (row["mtu"], row["offload"], row["offload_refused"]) == (
            r.mtu, r.offload, r.offload_refused,
        )  # fmt: skip
        for key in FIGURES:
            assert key in row
    names = [f["name"] for f in to_json(list(results))["figures"]]
    assert len(names) == len(set(names)) == 9
    assert "tun bulk kernel -> synack (mtu 1500, offload on)" in names


def test_report_has_a_block_per_setting() -> None:
    lines = tun_lines([result(1500, False), result(1500, True), result(9000, False, "EINVAL")])
    headings = [line for line in lines if line.startswith("\nin a lab")]
    assert len(headings) == 3
    assert "mtu 1500, offload on" in headings[1]
    assert "offload refused: EINVAL" in headings[2]
