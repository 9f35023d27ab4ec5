"""Linux's own packetdrill scripts (google/packetdrill gtests/net/tcp, GPL-2.0)
against the engine under --profile linux, in the three modes run_all.py uses.

The scripts are read at test time from ../shared/conformance/packetdrill-linux
beside the repository (or $SYNACK_LINUX_CONFORMANCE_DIR); they are never copied
in. The bar: in every mode, every script passes or fails as
linux-expected-failures.txt says (one line each, with why), and no line there
names a script that does not exist.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from synack.conformance.profiles import LINUX
from synack.conformance.suite import SuiteReport, find_scripts, load_expected_failures, run_suite

HERE = Path(__file__).parent
REPO = HERE.parent.parent
SUITE = Path(
    os.environ.get(
        "SYNACK_LINUX_CONFORMANCE_DIR",
        REPO.parent / "shared" / "conformance" / "packetdrill-linux" / "tcp",
    )
)
EXPECTED = load_expected_failures(HERE / "linux-expected-failures.txt")


def _suite_or_skip() -> Path:
    if SUITE.is_dir():
        return SUITE
    if os.environ.get("CI"):
        pytest.fail(f"Linux's packetdrill scripts are missing: {SUITE}")
    pytest.skip(f"no Linux packetdrill scripts at {SUITE} (set SYNACK_LINUX_CONFORMANCE_DIR)")


@pytest.fixture(scope="module", params=["ipv4", "ipv4-mapped-ipv6", "ipv6"])
def report(request: pytest.FixtureRequest) -> SuiteReport:
    suite = _suite_or_skip()
    mode = LINUX.mode(request.param)
    return run_suite(
        find_scripts([suite]), LINUX, expected_failures=EXPECTED, modes=[mode], by_family=True
    )


def test_every_script_passes_or_fails_as_listed(report: SuiteReport) -> None:
    surprises = [
        f"{r.path} [{r.mode}]: {'passes but is listed' if r.status == 'PASS' else r.message}"
        for r in report.unexpected
    ]
    assert not surprises, "\n".join(surprises)
    # run_all.py's modes: the *v4.pkt scripts only over IPv4, *v6.pkt over IPv6
    assert len(report.results) in (121, 122)


def test_every_listed_script_exists() -> None:
    suite = _suite_or_skip()
    names = {str(p.relative_to(suite)) for p in find_scripts([suite])}
    stale = [key for key in EXPECTED if key.split("@")[0] not in names]
    assert not stale, stale


def test_every_expected_failure_has_a_reason() -> None:
    assert all(len(reason.split()) >= 3 for reason in EXPECTED.values())
