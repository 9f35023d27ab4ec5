"""Run many scripts: find them, run each, and sum up, with expected failures."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from synack.conformance.profiles import Profile
from synack.conformance.runtime import InterpreterError, Runner, RunResult
from synack.conformance.script import ScriptError, parse_file


def find_scripts(paths: Iterable[str | Path]) -> list[Path]:
    """Every ``.pkt`` file named, or under a folder named, in a stable order."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found.extend(sorted(path.rglob("*.pkt")))
        elif path.exists():
            found.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
    return found


def run_file(path: str | Path, profile: Profile, defined: Iterable[str] = ()) -> RunResult:
    """Parse and run one script. A syntax error or an unsupported construct is
    an ERROR; the stack doing something else than the script says is a FAIL."""
    try:
        script = parse_file(path, set(profile.defined) | set(defined))
    except ScriptError as exc:
        return RunResult(str(path), "ERROR", exc.line, str(exc))
    except OSError as exc:
        return RunResult(str(path), "ERROR", 0, f"{path}: {exc.strerror}")
    try:
        runner = Runner(script, profile)
    except InterpreterError as exc:
        return RunResult(str(path), "ERROR", exc.line, exc.message)
    try:
        return runner.run()
    except Exception as exc:  # a bug here, not in the stack: report it, run the rest
        return RunResult(str(path), "ERROR", 0, f"internal error: {type(exc).__name__}: {exc}")


def load_expected_failures(path: str | Path) -> dict[str, str]:
    """``name reason...`` per line (``#`` comments): script file name -> why it fails."""
    expected: dict[str, str] = {}
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, _, reason = line.partition(" ")
        if not reason.strip():
            raise ValueError(f"{path}:{number}: {name} needs a reason after its name")
        expected[name] = reason.strip()
    return expected


@dataclass
class SuiteReport:
    results: list[RunResult] = field(default_factory=list)
    expected_failures: dict[str, str] = field(default_factory=dict)

    def expected(self, result: RunResult) -> bool:
        return Path(result.path).name in self.expected_failures

    @property
    def passed(self) -> int:
        return sum(r.status == "PASS" for r in self.results)

    @property
    def failed(self) -> int:
        return len(self.results) - self.passed

    @property
    def unexpected(self) -> list[RunResult]:
        """Failures not listed, and listed scripts that now pass."""
        return [r for r in self.results if (r.status == "PASS") == self.expected(r)]

    def to_dict(self) -> dict[str, object]:
        return {
            "passed": self.passed,
            "failed": self.failed,
            "total": len(self.results),
            "expected_failures": sum(self.expected(r) for r in self.results),
            "unexpected": [r.path for r in self.unexpected],
            "results": [asdict(r) | {"expected_failure": self.expected(r)} for r in self.results],
        }


def run_suite(
    paths: Iterable[Path],
    profile: Profile,
    defined: Iterable[str] = (),
    expected_failures: dict[str, str] | None = None,
    on_result: Callable[[RunResult], None] | None = None,
) -> SuiteReport:
    report = SuiteReport(expected_failures=dict(expected_failures or {}))
    for path in paths:
        result = run_file(path, profile, defined)
        report.results.append(result)
        if on_result is not None:
            on_result(result)
    return report
