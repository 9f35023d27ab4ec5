"""The dataclasses that write out their ``__init__`` for the compiled build
(docs/compiled.md) take exactly their fields, in order, with the fields'
defaults: a field added, renamed or given another default without the
``__init__`` following fails here, not as a wrong segment later."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from synack.host import HostEvent
from synack.tcp.events import DataReceived
from synack.wire.segment import MaxSegmentSize, Segment, Timestamps, WindowScale

WRITTEN_OUT = [Segment, Timestamps, MaxSegmentSize, WindowScale, DataReceived, HostEvent]


@pytest.mark.parametrize("cls", WRITTEN_OUT, ids=lambda c: c.__name__)
def test_init_takes_the_fields_with_their_defaults(cls: type) -> None:
    fields = [(f.name, f.default) for f in dataclasses.fields(cls)]
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]  # less self
    assert [
        (p.name, dataclasses.MISSING if p.default is inspect.Parameter.empty else p.default)
        for p in params
    ] == fields


@pytest.mark.parametrize("cls", WRITTEN_OUT, ids=lambda c: c.__name__)
def test_init_sets_every_field(cls: type) -> None:
    """Each field gets the value passed for it: an assignment left out, or made
    to the wrong field, shows."""
    fields = dataclasses.fields(cls)
    values = [object() for _ in fields]
    made = cls(*values)
    assert [getattr(made, f.name) for f in fields] == values
