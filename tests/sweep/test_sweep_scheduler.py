"""A sweep on an existing Dask cluster: `dask scheduler` and two `dask worker`
processes on 127.0.0.1, the sweep sent to them with --scheduler. Every cell is
run by one of the two workers, both of them take cells, and the rows are the
same as a local run's."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from synack.sweep.cli import sweep
from synack.sweep.query import query

DASK = shutil.which("dask")
pytestmark = pytest.mark.skipif(DASK is None, reason="needs the dask command (synack[sweep])")


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def dask_cluster(tmp_path: Path) -> Iterator[tuple[str, list[int]]]:
    """The scheduler's address and the two workers' process ids."""
    assert DASK is not None
    info = tmp_path / "scheduler.json"
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    log = open(tmp_path / "dask.log", "wb")  # noqa: SIM115 - closed in finally
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(subprocess.Popen(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--dashboard-address", "127.0.0.1:0",
             "--scheduler-file", str(info)], stdout=log, stderr=log, env=env,
        ))  # fmt: skip
        deadline = time.monotonic() + 60
        while not info.exists() or not info.read_text().strip():
            if time.monotonic() > deadline or procs[0].poll() is not None:
                pytest.fail(f"the scheduler did not start: {(tmp_path / 'dask.log').read_text()}")
            time.sleep(0.1)
        address = json.loads(info.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        for _ in range(2):
            procs.append(subprocess.Popen(
                [DASK, "worker", address, "--host", "127.0.0.1", "--nthreads", "1",
                 "--no-nanny", "--no-dashboard", "--dashboard-address", "127.0.0.1:0",
                 "--death-timeout", "60"],
                stdout=log, stderr=log, env=env,
            ))  # fmt: skip
        # wait for both workers to join
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address, [p.pid for p in procs[1:]]
    finally:
        _stop(procs[::-1])
        log.close()


def test_a_sweep_runs_on_two_dask_workers_through_scheduler(
    dask_cluster: tuple[str, list[int]], tmp_path: Path
) -> None:
    address, worker_pids = dask_cluster
    out = tmp_path / "rows"
    args = ["--cc", "cubic,newreno", "--loss", "0,1%", "--bytes", "100k", "--seeds", "1-2",
            "-o", str(out), "--scheduler", address]  # fmt: skip
    result = CliRunner().invoke(sweep, args)
    assert result.exit_code == 0, result.output
    assert "8 cells, 0 already in" in result.output
    _, rows = query(out, "SELECT worker, status FROM cells")
    assert len(rows) == 8 and {r[1] for r in rows} == {"ok"}
    pids = {int(worker.rsplit(":", 1)[1]) for worker, _ in rows}
    assert pids == set(worker_pids)  # both workers ran cells, nothing ran here
    assert os.getpid() not in pids

    # the same grid locally gives the same figures (deterministic per seed)
    local = tmp_path / "local"
    result = CliRunner().invoke(sweep, [*args[:-2], "--workers", "1", "-o", str(local)])
    assert result.exit_code == 0, result.output
    sql = ("SELECT cc, loss, seed, goodput_mbit, retransmissions, rtt_p99_ms, packets "
           "FROM cells ORDER BY ALL")  # fmt: skip
    assert query(out, sql)[1] == query(local, sql)[1]


def test_no_scheduler_at_the_address_is_a_one_line_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = subprocess.run(
        [sys.executable, "-m", "synack", "sweep", "--scheduler", f"tcp://127.0.0.1:{port}",
         "-o", str(tmp_path / "rows"), "--bytes", "1k"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"Error: no Dask scheduler answers at tcp://127.0.0.1:{port}" in result.stderr
