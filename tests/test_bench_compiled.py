"""synack bench says whether the engine ran compiled (the opt-in mypyc build,
docs/compiled.md): detected from the module's file, an extension module's
suffix or a .py. In CI the engine is the .py files; an installed compiled
build runs the same tests and must report True."""

from __future__ import annotations

import io
import types
from importlib.machinery import EXTENSION_SUFFIXES

from rich.console import Console

from synack.bench.compiled import engine_compiled, is_compiled
from synack.bench.report import print_report
from synack.bench.results import to_json
from synack.tcp import connection


def module(file: str | None) -> types.ModuleType:
    fake = types.ModuleType("fake")
    if file is not None:
        fake.__file__ = file
    return fake


def test_an_extension_module_is_compiled_a_source_file_is_not() -> None:
    for suffix in EXTENSION_SUFFIXES:  # .cpython-311-x86_64-linux-gnu.so, .abi3.so, .so
        assert is_compiled(module(f"/site-packages/synack/tcp/connection{suffix}"))
    assert not is_compiled(module("/site-packages/synack/tcp/connection.py"))
    assert not is_compiled(module("/site-packages/synack/tcp/connection.pyc"))
    assert not is_compiled(module(None))  # a namespace or built-in module has no file


def test_bench_reports_how_the_engine_was_loaded() -> None:
    from_source = connection.__file__ is not None and connection.__file__.endswith(".py")
    assert engine_compiled() is not from_source
    assert to_json([])["engine_compiled"] is not from_source
    out = io.StringIO()
    print_report([], "t", Console(file=out, width=200))
    expected = "engine: pure Python" if from_source else "engine: compiled with mypyc"
    assert expected in out.getvalue()
