"""An ACK storm: one byte injected into one end of a connection.

A blind attacker who guesses the window (RFC 5961 1.1) injects a byte into
B as if from A. B's RCV.NXT is now past anything A sent: A takes B's ACK as
one of data not yet sent and answers with a challenge ACK (RFC 5961 5.2),
whose sequence number is below B's RCV.NXT, so B finds it unacceptable and
answers with an ACK (RFC 9293 3.10.7.4), which A challenges again. Before,
the two kept it up at one exchange a round trip for as long as the
connection lived (A's limit of 1,000 challenge ACKs a second stops it only
on a path under 2 ms). Now B answers an unacceptable bare segment at most
once per ``invalid_ack_interval`` (0.5 s, as Linux's
tcp_invalid_ratelimit), and the storm is a trickle.
"""

from __future__ import annotations

from dataclasses import replace

from synack.host import Host
from synack.tcp.config import TcpConfig
from synack.tcp.state import State
from synack.wire.segment import ACK, NOP, PSH, Segment, Timestamps

SECONDS = 2.0
STEP = 0.01


def _storm(config: TcpConfig) -> tuple[int, int, int]:
    """Packets between the two hosts in SECONDS after one injected byte, each
    arriving STEP after it was sent; B's unanswered bare segments and A's
    challenge ACKs."""
    a = Host("10.0.0.1", config, secret=b"a" * 16)
    b = Host("10.0.0.2", config, secret=b"b" * 16)
    b.listen(80)
    in_flight: list[tuple[Host, bytes, bytes, Segment]] = []

    def step(now: float) -> int:
        """Deliver what was sent a STEP ago; send what is due now."""
        arriving = in_flight[:]
        in_flight.clear()
        for receiver, src, dst, seg in arriving:
            receiver.receive_segment(src, dst, seg, now)
        for sender, receiver in ((a, b), (b, a)):
            deadline = sender.get_timer()
            if deadline is not None and deadline <= now:
                sender.handle_timer(now)
            in_flight.extend((receiver, *sent) for sent in sender.segments_to_send(now))
        return len(arriving)

    ca = a.connect(("10.0.0.2", 80), 0.0, local_port=40000)
    now = 0.0
    while cb_state(b) is not State.ESTABLISHED or in_flight:
        step(now)
        now += STEP
    cb = b.accept(80)
    assert cb is not None and ca.state is cb.state is State.ESTABLISHED
    # the injected byte: A's ports and sequence numbers, a timestamp B takes (PAWS)
    tsval = cb.ts_recent + 1
    forged = Segment(
        40000, 80, ca.snd_nxt, ca.rcv_nxt, ACK | PSH, 502,
        options=(NOP, NOP, Timestamps(tsval, tsval)), payload=b"!",
    )  # fmt: skip
    in_flight.append((b, a.addresses[0].packed, b.addresses[0].packed, forged))
    packets, end = 0, now + SECONDS
    while now < end:
        packets += step(now)
        now += STEP
    return packets, cb.stats.invalid_acks_unanswered, ca.stats.challenge_acks


def cb_state(b: Host) -> State | None:
    """The state of B's one connection, if it has one."""
    return next((conn.state for conn in b.connections.values()), None)


def test_one_injected_byte_makes_a_trickle_not_a_storm() -> None:
    packets, unanswered, challenges = _storm(TcpConfig())
    # B answers at most once per 0.5 s and A challenges each answer: at most
    # 2 x 5 in 2 s, and the forged byte itself
    assert packets <= 2 * (SECONDS / 0.5 + 1) + 1
    assert challenges <= SECONDS / 0.5 + 1
    assert unanswered > 0  # A's challenges that B left unanswered


def test_answering_every_unacceptable_segment_is_the_storm() -> None:
    # the same with every unacceptable segment answered (RFC 9293's "should"):
    # an exchange every round trip (2 STEPs), the whole time
    packets, unanswered, challenges = _storm(replace(TcpConfig(), invalid_ack_interval=0.0))
    round_trips = SECONDS / (2 * STEP)
    assert packets >= 0.8 * 2 * round_trips
    assert unanswered == 0 and challenges >= 0.8 * round_trips
