"""Which build of synack is under test: the pure install, or the opt-in
compiled build that CI tests too (docs/compiled.md).

A test that looks into the engine in a way compiled code does not allow is
marked ``@pytest.mark.interpreted_only(KIND)``, KIND one of ``INTERPRETED_ONLY``;
it is skipped, with that reason, when the engine under test is compiled.
``pytest --compiled`` stops before collecting if the engine is not compiled,
so that CI's compiled stage cannot test the .py files by mistake.
"""

from __future__ import annotations

import pytest

INTERPRETED_ONLY = {
    "patch": "compiled build: replaces a method, property or imported function of "
    "compiled code (monkeypatch.setattr); compiled callers call the compiled one "
    "directly, so the test would not see the replacement",
    "subclass": "compiled build: subclasses a compiled class, which mypyc does not allow "
    "(TypeError: interpreted classes cannot inherit from compiled)",
    "settrace": "compiled build: counts the lines or bytecodes run with sys.settrace; "
    "compiled code runs neither",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--compiled",
        action="store_true",
        help="fail unless synack's engine is the compiled build (CI's compiled stage)",
    )


def _compiled() -> bool:
    from synack.bench.compiled import engine_compiled

    return engine_compiled()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "interpreted_only(kind): skipped against the compiled build, for the reason "
        "INTERPRETED_ONLY[kind] in tests/conftest.py",
    )
    if config.getoption("--compiled") and not _compiled():
        from synack.tcp import connection

        raise pytest.UsageError(f"--compiled: the engine is not compiled ({connection.__file__})")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    compiled = _compiled()
    for item in items:
        marker = item.get_closest_marker("interpreted_only")
        if marker is None:
            continue
        if len(marker.args) != 1 or marker.args[0] not in INTERPRETED_ONLY:
            raise pytest.UsageError(
                f"{item.nodeid}: interpreted_only takes one of {sorted(INTERPRETED_ONLY)}"
            )
        if compiled:
            item.add_marker(pytest.mark.skip(reason=INTERPRETED_ONLY[marker.args[0]]))
