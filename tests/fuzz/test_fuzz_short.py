"""The short fuzzing run of docs/fuzzing.md, in CI: the harness of host_fuzz.py
for a bounded number of inputs with a fixed seed, on the pure-Python engine
(atheris is in the ``fuzz`` extra, not in ``test``), then a batch of inputs
drawn by hypothesis. Nothing may escape the Host, its invariants must hold,
and the bystander connections must still deliver byte-exact at the end."""

from __future__ import annotations

import host_fuzz
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synack.tcp.state import State

SHORT_RUN = 20_000


def test_short_run_no_findings_and_bystanders_byte_exact() -> None:
    result = host_fuzz.run_mutate(SHORT_RUN, seed=9293, epoch=2000)
    assert result.failures == []
    assert result.stats.findings == 0
    assert result.stats.inputs == SHORT_RUN
    # a check at every epoch and one at the end, each 4 x 50 KB byte-exact
    assert result.stats.bystander_checks == SHORT_RUN // 2000 + 1
    assert result.stats.bystander_bytes == result.stats.bystander_checks * 200_000
    assert result.features > 500  # the run went somewhere, not only into malformed packets


def test_world_has_every_kind_of_connection() -> None:
    world = host_fuzz.World()
    states = [c.state for c in world.host.connections.values()]
    for state in (State.SYN_RECEIVED, State.ESTABLISHED, State.CLOSE_WAIT, State.FIN_WAIT_2):
        assert state in states
    assert world.host.time_wait_count >= 2
    assert world.wire  # data in flight, not yet delivered
    assert sum(len(lst.syn_queue) for lst in world.host.listeners.values()) >= 6
    assert world.check_bystanders() == 200_000


def test_seed_corpus_replays_cleanly() -> None:
    harness = host_fuzz.replay(host_fuzz.seed_corpus())
    assert harness.stats.findings == 0
    assert harness.stats.packets_injected > 1000


def test_structured_packets_pass_the_checksums() -> None:
    # the seeds aim valid packets at real connections: few may be dropped as malformed
    harness = host_fuzz.Harness()
    for data in host_fuzz.seed_corpus()[:400]:
        harness.one_input(data, raise_findings=True)
    host = harness.world.host
    assert host.stats.malformed_reasons.get("checksum", 0) == 0


_HYPOTHESIS_HARNESS: list[host_fuzz.Harness] = []


@settings(
    max_examples=600,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.binary(min_size=1, max_size=400))
def test_hypothesis_inputs(data: bytes) -> None:
    if not _HYPOTHESIS_HARNESS:
        _HYPOTHESIS_HARNESS.append(host_fuzz.Harness(epoch=300))
    _HYPOTHESIS_HARNESS[0].one_input(data, raise_findings=True)
