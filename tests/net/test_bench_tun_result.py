"""``synack bench tun``'s results as data: one per MTU and offload setting,
their JSON fields, figure names, targets and report lines kept apart; what
offload gave per MTU. (The measurement itself needs root:
tests/interop/test_interop_bench_tun.py.)"""

from __future__ import annotations

from synack.bench.report import tun_lines
from synack.bench.results import TunResult, offload_gains, to_json

FIGURES = (
    "to_synack_mb_per_second",
    "from_synack_mb_per_second",
    "connections_per_second",
    "raw_mb_per_second",
    "raw_packets_per_second",
    "concurrency",
    "sequential_connections_per_second",
    "synack_cpu_us_per_connection",
    "packets_in_per_connection",
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


def measured(mtu: int, offload: bool, to_synack: float, from_synack: float) -> TunResult:
    return TunResult(mtu, 1000, to_synack, from_synack, 64, 1200.0, 400.0, 200_000.0, offload,
                     None, 16, 700.0, 500.0, 6.0)  # fmt: skip


def test_connections_figures_and_issue_16_targets() -> None:
    off, on = measured(1500, False, 40.0, 35.0), measured(1500, True, 300.0, 140.0)
    big = measured(65535, True, 700.0, 200.0)
    figures = {f.name: f for r in (off, on, big) for f in r.figures()}
    assert len(figures) == 12
    concurrent = figures["tun connections (kernel client, 16 at once) (mtu 1500, offload on)"]
    sequential = figures["tun connections (kernel client, one at a time) (mtu 1500, offload on)"]
    assert (concurrent.value, sequential.value) == (1200.0, 700.0)
    assert concurrent.target == sequential.target == 5000.0
    assert figures["tun bulk synack -> kernel (mtu 1500, offload on)"].target == 250.0
    assert figures["tun bulk synack -> kernel (mtu 1500, offload off)"].target == 60.0
    assert figures["tun bulk kernel -> synack (mtu 65535, offload on)"].target == 400.0
    row = to_json([on])["results"][0]
    assert (row["concurrency"], row["sequential_connections_per_second"]) == (16, 700.0)
    assert (row["synack_cpu_us_per_connection"], row["packets_in_per_connection"]) == (500.0, 6.0)


def test_offload_gains_pair_each_mtus_settings() -> None:
    runs = [measured(1500, False, 40.0, 35.0), measured(1500, True, 300.0, 140.0),
            measured(65535, True, 700.0, 200.0)]  # fmt: skip
    assert offload_gains(runs) == {
        "mtu 1500 kernel -> synack, offload on / off": 7.5,
        "mtu 1500 synack -> kernel, offload on / off": 4.0,
    }
    lines = tun_lines(list(runs))
    assert "  synack's CPU per connection, 16 at once: 500 us (one core's worth: 2,000 conn/s)" in (
        lines
    )
    assert lines[-3:] == [
        "\nwhat offload gives, same run:",
        "  mtu 1500 kernel -> synack, offload on / off: 7.500",
        "  mtu 1500 synack -> kernel, offload on / off: 4.000",
    ]
    assert "connections x 6.0 packets read / raw read packets/s: 0.036" in "\n".join(lines)


def test_kernel_reference_ratio_in_json_and_report() -> None:
    with_kernel = TunResult(1500, 1000, 40.0, 35.0, 64, 1200.0, 400.0, 200_000.0, False, None,
                            16, 700.0, 500.0, 6.0, 4800.0, 150.0, 800.0, 190.0)  # fmt: skip
    without = measured(9000, False, 40.0, 35.0)  # an older result: no reference measured
    assert with_kernel.kernel_ratio == 0.25 and without.kernel_ratio is None
    data = to_json([with_kernel, without])
    row = data["results"][0]
    assert (row["kernel_connections_per_second"], row["kernel_cpu_us_per_connection"]) == (
        4800.0, 150.0,
    )  # fmt: skip
    assert (row["client_cpu_us_per_connection"], row["kernel_client_cpu_us_per_connection"]) == (
        800.0, 190.0,
    )  # fmt: skip
    assert data["results"][1]["kernel_connections_per_second"] is None
    assert data["tun_kernel_ratios"] == {"mtu 1500, offload off": 0.25}
    # the ratio is no figure of its own: there is no target for it
    assert len(data["figures"]) == 8
    lines = tun_lines([with_kernel, without])
    assert (
        lines.count(
            "  connections, 16 at once, same client: synack 1,200/s, the kernel's TCP (asyncio "
            "echo server, veth) 4,800/s: ratio synack / kernel 0.250"
        )
        == 1
    )
    assert lines.count("  the kernel echo server's CPU per connection: 150 us") == 1
    assert lines.count("  the client's CPU per connection: 800 us against synack, 190 us "
                       "against the kernel") == 1  # fmt: skip
    assert sum("the kernel's TCP" in line for line in lines) == 1
