"""Run many scripts: find them, run each, and sum up, with expected failures."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from synack.conformance.errors import InterpreterError
from synack.conformance.profiles import Profile, RunMode
from synack.conformance.runtime import Runner, RunResult
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


def run_file(
    path: str | Path,
    profile: Profile,
    defined: Iterable[str] = (),
    mode: RunMode | None = None,
    definitions: dict[str, str] | None = None,
) -> RunResult:
    """Parse and run one script in ``mode`` (the profile's first by default),
    with the mode's ``-D`` values and ``definitions`` (which win). A syntax
    error or an unsupported construct is an ERROR; the stack doing something
    else than the script says is a FAIL."""
    mode = mode or profile.modes[0]
    values = dict(mode.definitions) | dict(definitions or {})
    try:
        script = parse_file(path, set(profile.defined) | set(defined), values)
    except ScriptError as exc:
        return RunResult(str(path), "ERROR", exc.line, str(exc), mode=mode.name)
    except OSError as exc:
        return RunResult(str(path), "ERROR", 0, f"{path}: {exc.strerror}", mode=mode.name)
    try:
        runner = Runner(script, profile, mode)
    except InterpreterError as exc:
        return RunResult(str(path), "ERROR", exc.line, exc.message, mode=mode.name)
    try:
        result = runner.run()
    except Exception as exc:  # a bug here, not in the stack: report it, run the rest
        message = f"internal error: {type(exc).__name__}: {exc}"
        return RunResult(str(path), "ERROR", 0, message, mode=mode.name)
    # the mode it ran in: the one asked for, unless the script's --ip_version
    # named another (a script naming IPv4 addresses runs over IPv4 in any mode)
    result.mode = runner.mode.name if "ip_version" in script.options else mode.name
    return result


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
        return expected_reason(self.expected_failures, result) is not None

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


def expected_reason(expected_failures: dict[str, str], result: RunResult) -> str | None:
    """Why ``result``'s script is expected to fail, if it is: listed by file
    name, or by the end of its path (``client/poll.pkt``), either one alone or
    with its mode (``poll.pkt@ipv6``)."""
    parts = Path(result.path).parts
    for n in range(1, len(parts) + 1):
        name = "/".join(parts[-n:])
        for key in (f"{name}@{result.mode}", name):
            if key in expected_failures:
                return expected_failures[key]
    return None


def run_suite(
    paths: Iterable[Path],
    profile: Profile,
    defined: Iterable[str] = (),
    expected_failures: dict[str, str] | None = None,
    on_result: Callable[[RunResult], None] | None = None,
    modes: Iterable[RunMode] | None = None,
    definitions: dict[str, str] | None = None,
    by_family: bool | None = None,
) -> SuiteReport:
    """Every script in each of ``modes`` (the profile's first by default). With
    ``by_family`` (by default when there is more than one mode), only in the
    modes that run it: ``*v4.pkt`` and ``*v6.pkt`` only in their own family,
    as run_all.py does."""
    report = SuiteReport(expected_failures=dict(expected_failures or {}))
    chosen = list(modes) if modes is not None else [profile.modes[0]]
    family = by_family if by_family is not None else len(chosen) > 1
    for path in paths:
        for mode in chosen:
            if family and not mode.runs(Path(path).name):
                continue
            result = run_file(path, profile, defined, mode, definitions)
            report.results.append(result)
            if on_result is not None:
                on_result(result)
    return report
