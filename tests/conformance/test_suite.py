"""The FreeBSD tcp-testsuite (third-party packetdrill scripts) against the engine.

The scripts are read from the copy in tcp-testsuite/ beside this file (where it
comes from: NOTICE.md), or from $SYNACK_CONFORMANCE_DIR. The bar: every snippet
passes, at least 95% of all scripts pass, and the scripts that fail are exactly
those listed in expected-failures.txt, each with the FreeBSD behaviour it
depends on.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from synack.conformance.profiles import FREEBSD
from synack.conformance.runtime import RunResult
from synack.conformance.suite import find_scripts, load_expected_failures, run_suite

HERE = Path(__file__).parent
SUITE = Path(
    os.environ.get(
        "SYNACK_CONFORMANCE_DIR",
        HERE / "tcp-testsuite",
    )
)
EXPECTED = load_expected_failures(HERE / "expected-failures.txt")


def _suite_or_skip() -> Path:
    if SUITE.is_dir():
        return SUITE
    if os.environ.get("CI"):
        pytest.fail(f"the conformance scripts are missing: {SUITE}")
    pytest.skip(f"no conformance scripts at {SUITE} (set SYNACK_CONFORMANCE_DIR)")


@pytest.fixture(scope="module")
def results() -> dict[str, RunResult]:
    suite = _suite_or_skip()
    report = run_suite(find_scripts([suite]), FREEBSD)
    return {str(Path(r.path).relative_to(suite)): r for r in report.results}


def _describe(failures: list[RunResult]) -> str:
    return "\n".join(f"{r.path}:{r.line}: {r.status} {r.message}" for r in failures)


def test_all_440_scripts_were_run(results: dict[str, RunResult]) -> None:
    assert len(results) == 440


def test_every_snippet_passes(results: dict[str, RunResult]) -> None:
    snippets = {name: r for name, r in results.items() if name.startswith("snippets/")}
    assert len(snippets) == 36
    failed = [r for r in snippets.values() if r.status != "PASS"]
    assert not failed, _describe(failed)


def test_at_least_95_percent_pass(results: dict[str, RunResult]) -> None:
    passed = sum(r.status == "PASS" for r in results.values())
    assert passed / len(results) >= 0.95, f"{passed} of {len(results)} passed"


def test_no_script_is_an_interpreter_error(results: dict[str, RunResult]) -> None:
    errors = [r for r in results.values() if r.status == "ERROR"]
    assert not errors, _describe(errors)


def test_failures_are_exactly_the_expected_ones(results: dict[str, RunResult]) -> None:
    failed = {Path(name).name for name, r in results.items() if r.status != "PASS"}
    unexpected = [r for r in results.values() if Path(r.path).name in failed - set(EXPECTED)]
    assert not unexpected, "fails but is not listed:\n" + _describe(unexpected)
    now_passing = sorted(set(EXPECTED) - failed)
    assert not now_passing, f"listed as expected failures but pass: {now_passing}"


def test_expected_failures_stay_under_5_percent(results: dict[str, RunResult]) -> None:
    assert len(EXPECTED) < 0.05 * len(results)
    names = {Path(name).name for name in results}
    assert set(EXPECTED) <= names, "expected-failures.txt names scripts that do not exist"
