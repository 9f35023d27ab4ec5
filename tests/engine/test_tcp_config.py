"""TcpConfig refuses values the engine cannot run with, at construction."""

from __future__ import annotations

from dataclasses import fields, replace

import pytest

from synack.tcp.config import DURATIONS, TcpConfig


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("msl", float("inf")),
        ("delayed_ack_timeout", -1.0),
        ("user_timeout", float("nan")),
        ("keepalive_idle", -5),
        ("invalid_ack_interval", -0.1),
        ("rto_max", float("inf")),
    ],
)
def test_a_duration_that_is_not_a_finite_number_of_seconds_is_refused(field, value):
    # msl = inf held TIME-WAIT for ever; a negative delayed-ACK timeout was taken
    with pytest.raises(ValueError, match=rf"^{field} must be a finite number of seconds"):
        replace(TcpConfig(), **{field: value})


def test_every_field_with_a_float_default_is_a_named_duration():
    # a new duration must join DURATIONS to be checked
    config = TcpConfig()
    floats = {f.name for f in fields(config) if isinstance(getattr(config, f.name), float)}
    assert floats <= set(DURATIONS)
    assert all(hasattr(config, name) for name in DURATIONS)
