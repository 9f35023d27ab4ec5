"""``synack demo`` without a scenario name: the "close" scenario.

Kept as a function for callers that want the default tour's trace:
handshake, a request and a reply, and the 4-way close with TIME-WAIT.
"""

from __future__ import annotations

from synack.scenarios import Options, Outcome, run_scenario

DEFAULT_SCENARIO = "close"


def run_demo(
    isn_client: int | None = None,
    isn_server: int | None = None,
    msl: float = 120.0,
    delay: float = 0.010,
    seed: int = 1,
) -> Outcome:
    return run_scenario(DEFAULT_SCENARIO, Options(seed, isn_client, isn_server, msl, delay))
