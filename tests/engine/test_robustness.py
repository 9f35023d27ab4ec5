"""Network input never raises out of the engine (docs/architecture.md), in any state.

Hypothesis sends arbitrary segments (any flags, sequence and acknowledgment
numbers, windows, options and payloads) to a connection in each of the
eleven states, with and without options negotiated, then runs its timers.
Nothing may escape, every segment it answers with must encode, and a
connection that ends in CLOSED keeps no timer.
"""

from __future__ import annotations

from dataclasses import replace

from conftest import IRS, ISS, LPORT, PLAIN, RPORT, in_state
from hypothesis import given, settings
from hypothesis import strategies as st

from synack.tcp.state import State
from synack.wire.segment import (
    NOP,
    SACK_PERMITTED,
    FastOpen,
    FastOpenExp,
    MaxSegmentSize,
    Sack,
    Segment,
    Timestamps,
    UnknownOption,
    WindowScale,
)

u32 = st.integers(0, 2**32 - 1)
near = st.sampled_from([ISS, ISS + 1, ISS + 2, IRS, IRS + 1, IRS + 2, 0, 2**32 - 1])
seqs = st.one_of(near, u32)
options = st.lists(
    st.one_of(
        st.just(NOP),
        st.just(SACK_PERMITTED),
        st.builds(MaxSegmentSize, st.integers(0, 65535)),
        st.builds(WindowScale, st.integers(0, 255)),
        st.builds(Timestamps, u32, u32),
        st.builds(Sack, st.lists(st.tuples(u32, u32), min_size=1, max_size=3).map(tuple)),
        st.builds(UnknownOption, st.integers(9, 255), st.binary(max_size=4)),
        st.builds(FastOpen, st.binary(max_size=16)),
        st.builds(FastOpenExp, st.binary(max_size=8)),
    ),
    max_size=3,
).map(tuple)
segments = st.builds(
    Segment,
    src_port=st.just(RPORT),
    dst_port=st.just(LPORT),
    seq=seqs,
    ack=seqs,
    flags=st.integers(0, 255),
    window=st.integers(0, 65535),
    urgent=st.integers(0, 65535),
    options=options,
    payload=st.binary(max_size=64),
)
configs = st.sampled_from([
    PLAIN,
    replace(PLAIN, timestamps=True, sack=True, window_scaling=True),
    # RFC 7413: SYNs with data taken with or without a cookie
    replace(PLAIN, fastopen_server=True, fastopen_client=True, fastopen_cookie_required=False),
])  # fmt: skip


@settings(max_examples=600, deadline=None)
@given(state=st.sampled_from(list(State)), config=configs, batch=st.lists(segments, max_size=6))
def test_arbitrary_segments_never_raise(state: State, config, batch: list[Segment]) -> None:
    conn = in_state(state, config)
    now = 0.0
    for seg in batch:
        now += 0.05
        conn.receive_segment(seg, now)
        for reply in conn.segments_to_send(now):
            reply.encode(b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02")
    for _ in range(5):
        deadline = conn.get_timer()
        if deadline is None:
            break
        conn.handle_timer(deadline)
        for reply in conn.segments_to_send(deadline):
            reply.encode(b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02")
    if conn.state is State.CLOSED:
        assert conn.get_timer() is None  # a closed connection keeps no timer
    while conn.next_event() is not None:
        pass
