"""Every scenario of ``synack demo``: its exact states on both sides and its segments.

Segments are (sender, flags, relative seq, relative ack, len, fate), each
sequence number relative to the sender's ISN and each ACK to the receiver's.
"""

from __future__ import annotations

import pytest

from synack.scenarios import (
    LANGUAGES,
    REPLY,
    REQUEST,
    SCENARIOS,
    SEEDS_ISN,
    Options,
    relative_segments,
    run_scenario,
    state_paths,
)
from synack.trace.records import PacketRecord, SegmentRecord, TimerRecord

ACTIVE_CLOSE = [
    "CLOSED",
    "SYN-SENT",
    "ESTABLISHED",
    "FIN-WAIT-1",
    "FIN-WAIT-2",
    "TIME-WAIT",
    "CLOSED",
]
PASSIVE_CLOSE = [
    "CLOSED",
    "LISTEN",
    "SYN-RECEIVED",
    "ESTABLISHED",
    "CLOSE-WAIT",
    "LAST-ACK",
    "CLOSED",
]
HANDSHAKE = [
    ("client", "S", 0, 0, 0, "delivered"),
    ("server", "S.", 0, 1, 0, "delivered"),
]
REQUEST_REPLY = [
    ("client", "P.", 1, 1, len(REQUEST), "delivered"),
    ("server", "P.", 1, 19, len(REPLY), "delivered"),
]
Q, R = 1 + len(REQUEST), 1 + len(REPLY)  # where each side's FIN sits


def run(name: str):
    outcome = run_scenario(name)
    return outcome, state_paths(outcome), relative_segments(outcome)


def sent_at(outcome, sender: str, flags: str) -> list[float]:
    return [
        round(r.t, 6)
        for r in outcome.recorder.records
        if isinstance(r, PacketRecord) and r.src == sender and r.flags == flags
    ]


def test_every_scenario_is_narrated_in_both_languages() -> None:
    assert len(SCENARIOS) == 13
    for scenario in SCENARIOS.values():
        for lang in LANGUAGES:
            title, notes = scenario.describe(lang)
            assert title and notes and all(notes)
        assert scenario.notes["en"] != scenario.notes["ko"]


def test_handshake() -> None:
    outcome, paths, segments = run("handshake")
    assert paths == {
        "client": ["CLOSED", "SYN-SENT", "ESTABLISHED"],
        "server": ["CLOSED", "LISTEN", "SYN-RECEIVED", "ESTABLISHED"],
    }
    assert segments == [*HANDSHAKE, ("client", ".", 1, 1, 0, "delivered")]
    first = next(r for r in outcome.recorder.records if isinstance(r, PacketRecord))
    assert first.seq == SEEDS_ISN  # Host X's ISN in the seed notes, reproducible


def test_handshake_isn_can_be_chosen() -> None:
    outcome = run_scenario("handshake", Options(isn_client=1, isn_server=2**32 - 1))
    packets = [r for r in outcome.recorder.records if isinstance(r, PacketRecord)]
    assert [(p.seq, p.ack) for p in packets] == [(1, 0), (2**32 - 1, 2), (2, 0)]


def test_close() -> None:
    outcome, paths, segments = run("close")
    assert paths == {"client": ACTIVE_CLOSE, "server": PASSIVE_CLOSE}
    assert segments == [
        *HANDSHAKE,
        *REQUEST_REPLY,
        ("client", "F.", Q, R, 0, "delivered"),
        ("server", ".", R, Q + 1, 0, "delivered"),
        ("server", "F.", R, Q + 1, 0, "delivered"),  # 50 ms later: four segments
        ("client", ".", Q + 1, R + 1, 0, "delivered"),
    ]
    tw = next(r for r in outcome.recorder.records if getattr(r, "new", None) == "TIME-WAIT")
    assert outcome.end_time == pytest.approx(tw.t + 2 * 120.0)  # 2 x MSL, then CLOSED


def test_close_combined() -> None:
    _, paths, segments = run("close-combined")
    assert paths["client"] == [
        "CLOSED",
        "SYN-SENT",
        "ESTABLISHED",
        "FIN-WAIT-1",
        "TIME-WAIT",
        "CLOSED",
    ]
    assert paths["server"] == PASSIVE_CLOSE
    assert segments == [
        *HANDSHAKE,
        *REQUEST_REPLY,
        ("client", "F.", Q, R, 0, "delivered"),
        ("server", "F.", R, Q + 1, 0, "delivered"),  # ACK and FIN in one segment
        ("client", ".", Q + 1, R + 1, 0, "delivered"),
    ]


def test_half_close() -> None:
    outcome, paths, segments = run("half-close")
    assert paths == {"client": ACTIVE_CLOSE, "server": PASSIVE_CLOSE}
    assert segments[:6] == [
        *HANDSHAKE,
        ("client", "P.", 1, 1, len(REQUEST), "delivered"),
        ("server", ".", 1, Q, 0, "delivered"),
        ("client", "F.", Q, 1, 0, "delivered"),
        ("server", ".", 1, Q + 1, 0, "delivered"),  # CLOSE-WAIT, and still sending:
    ]
    data = [s for s in segments[6:] if s[0] == "server"]
    assert sum(s[4] for s in data) == 20_480 and all(s[3] == Q + 1 for s in data)
    assert data[-1][1] == "FP." and data[-1][2] + data[-1][4] == 1 + 20_480
    assert segments[-1] == ("client", ".", Q + 1, 1 + 20_480 + 1, 0, "delivered")
    assert outcome.client_received == outcome.server_sent and len(outcome.server_sent) == 20_480


def test_lost_final_ack() -> None:
    outcome, paths, segments = run("lost-final-ack")
    assert paths == {"client": ACTIVE_CLOSE, "server": PASSIVE_CLOSE}
    assert segments[6:] == [
        ("server", "F.", R, Q + 1, 0, "delivered"),
        ("client", ".", Q + 1, R + 1, 0, "dropped"),
        ("server", "F.", R, Q + 1, 0, "delivered"),  # retransmitted after the RTO
        ("client", ".", Q + 1, R + 1, 0, "delivered"),  # re-ACKed from TIME-WAIT
    ]
    first_fin, second_fin = sent_at(outcome, "server", "F.")
    assert second_fin - first_fin == pytest.approx(1.0)  # the initial RTO
    # TIME-WAIT restarted on the retransmitted FIN: 2 x MSL from its arrival.
    assert outcome.end_time == pytest.approx(second_fin + 0.010 + 2 * 120.0)


def test_old_duplicate() -> None:
    outcome, paths, segments = run("old-duplicate")
    assert paths["client"] == [
        "CLOSED",
        "SYN-SENT",
        "ESTABLISHED",
        "FIN-WAIT-1",
        "TIME-WAIT",
        "CLOSED",
    ]
    assert segments == [
        *HANDSHAKE,
        *REQUEST_REPLY,
        ("server", "P.", 1, 19, len(REPLY), "duplicated"),  # the copy, 3 s late
        ("client", "F.", Q, R, 0, "delivered"),
        ("server", "F.", R, Q + 1, 0, "delivered"),
        ("client", ".", Q + 1, R + 1, 0, "delivered"),
        ("client", ".", Q + 1, R + 1, 0, "delivered"),  # TIME-WAIT answers the old copy
        ("server", "R", R + 1, 0, 0, "delivered"),  # the server has no connection left
    ]
    copy = next(
        r
        for r in outcome.recorder.records
        if isinstance(r, PacketRecord) and r.fate == "duplicated"
    )
    assert copy.arrival == pytest.approx(copy.t + 3.010)
    assert outcome.client_received == REPLY  # once: the old duplicate was not new data


def test_lost_syn_backs_off_exponentially() -> None:
    outcome, paths, segments = run("lost-syn")
    assert paths["client"] == ["CLOSED", "SYN-SENT", "ESTABLISHED"]
    assert segments == [
        ("client", "S", 0, 0, 0, "dropped"),
        ("client", "S", 0, 0, 0, "dropped"),
        ("client", "S", 0, 0, 0, "delivered"),
        ("server", "S.", 0, 1, 0, "delivered"),
        ("client", ".", 1, 1, 0, "delivered"),
    ]
    assert sent_at(outcome, "client", "S") == [0.0, 1.0, 3.0]  # RTO 1 s, then 2 s


def test_lost_syn_ack() -> None:
    outcome, paths, segments = run("lost-syn-ack")
    assert paths["server"] == ["CLOSED", "LISTEN", "SYN-RECEIVED", "ESTABLISHED"]
    assert [s[1] for s in segments] == ["S", "S.", "S", "S.", "S", "S.", "."]
    assert [s[5] for s in segments if s[1] == "S."] == ["dropped", "dropped", "delivered"]
    timers = [(r.endpoint, r.timer) for r in outcome.recorder.records if isinstance(r, TimerRecord)]
    assert ("client", "retransmission") in timers


def test_refused() -> None:
    outcome, paths, segments = run("refused")
    assert paths == {"client": ["CLOSED", "SYN-SENT", "CLOSED"], "server": ["CLOSED", "LISTEN"]}
    causes = [r.cause for r in outcome.recorder.records if getattr(r, "new", None) == "CLOSED"]
    assert causes == ["rcv RST (connection refused)"]
    assert segments == [
        ("client", "S", 0, 0, 0, "delivered"),
        ("server", "R.", 0, 1, 0, "delivered"),
    ]


def test_simultaneous_open() -> None:
    _, paths, segments = run("simultaneous-open")
    opening = ["CLOSED", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED"]
    assert paths["client"][:4] == opening and paths["server"][:4] == opening
    assert segments[:6] == [
        ("client", "S", 0, 0, 0, "delivered"),
        ("server", "S", 0, 0, 0, "delivered"),
        ("client", "S.", 0, 1, 0, "delivered"),
        ("server", "S.", 0, 1, 0, "delivered"),
        ("client", ".", 1, 1, 0, "delivered"),
        ("server", ".", 1, 1, 0, "delivered"),
    ]


def test_simultaneous_close() -> None:
    _, paths, segments = run("simultaneous-close")
    closing = ["ESTABLISHED", "FIN-WAIT-1", "CLOSING", "TIME-WAIT", "CLOSED"]
    assert paths["client"][2:] == closing and paths["server"][3:] == closing
    assert segments[4:] == [
        ("client", "F.", Q, R, 0, "delivered"),
        ("server", "F.", R, Q, 0, "delivered"),  # crossed: neither has seen the other's FIN
        ("client", ".", Q + 1, R + 1, 0, "delivered"),
        ("server", ".", R + 1, Q + 1, 0, "delivered"),
    ]


def test_abort() -> None:
    outcome, paths, segments = run("abort")
    assert paths == {
        "client": ["CLOSED", "SYN-SENT", "ESTABLISHED", "CLOSED"],
        "server": ["CLOSED", "LISTEN", "SYN-RECEIVED", "ESTABLISHED", "CLOSED"],
    }
    assert segments[-1] == ("server", "R", 1, 0, 0, "delivered")
    assert not any("F" in s[1] for s in segments)  # no FIN, no TIME-WAIT
    resets = [
        r for r in outcome.recorder.records
        if isinstance(r, SegmentRecord) and r.endpoint == "client" and r.flags == "R"
    ]  # fmt: skip
    assert [r.direction for r in resets] == ["received"]


def test_lossy_transfer_delivers_every_byte() -> None:
    outcome, paths, _ = run("lossy-transfer")
    # the client's FIN is acknowledged with the server's FIN, or (if the links
    # lose that FIN) on its own first
    opened = ["CLOSED", "SYN-SENT", "ESTABLISHED", "FIN-WAIT-1"]
    assert paths["client"] in (
        [*opened, "TIME-WAIT", "CLOSED"],
        [*opened, "FIN-WAIT-2", "TIME-WAIT", "CLOSED"],
    )
    assert paths["server"] == PASSIVE_CLOSE
    assert outcome.server_received == outcome.client_sent and len(outcome.client_sent) == 1_000_000
    facts = outcome.facts
    assert facts["intact (sha256)"] == "yes"
    assert int(facts["packets lost on the links"]) > 20
    assert int(facts["fast retransmits"]) > 0 and int(facts["retransmitted segments"]) > 0


def test_unknown_scenario_names_the_list() -> None:
    with pytest.raises(ValueError, match="synack demo --list"):
        run_scenario("nope")


def test_scenarios_are_deterministic() -> None:
    first = relative_segments(run_scenario("lossy-transfer", Options(seed=7)))
    assert first == relative_segments(run_scenario("lossy-transfer", Options(seed=7)))
    assert first != relative_segments(run_scenario("lossy-transfer", Options(seed=8)))
