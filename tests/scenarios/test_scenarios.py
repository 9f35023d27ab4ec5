"""Every scenario of ``synack demo``: its exact states on both sides and its segments.

Segments are (sender, flags, relative seq, relative ack, len, fate), each
sequence number relative to the sender's ISN and each ACK to the receiver's.
"""

from __future__ import annotations

from itertools import pairwise

import pytest

from synack.host import Host
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
from synack.tcp.syncookies import MSS_TABLE_V4, decode_timestamp
from synack.trace.records import PacketRecord, SegmentRecord, StateRecord, TimerRecord
from synack.wire.segment import Timestamps

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
# The client's application writes after connect() returns: a bare ACK first.
BARE_ACK = ("client", ".", 1, 1, 0, "delivered")
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
    assert len(SCENARIOS) == 21
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
        BARE_ACK,
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
        BARE_ACK,
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
    assert segments[7:] == [
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
        BARE_ACK,
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


def test_syn_flood_handshake_through_a_cookie() -> None:
    """Each claim of the syn-flood narration, against the trace."""
    outcome = run_scenario("syn-flood")
    records = outcome.recorder.records
    server_states = [r for r in records if isinstance(r, StateRecord) and r.endpoint == "server"]
    # two spoofed SYNs fill the backlog of 2: two half-open entries
    spoofed = [
        r for r in records
        if isinstance(r, SegmentRecord) and r.endpoint == "server" and r.direction == "received"
        and r.src.startswith("10.0.9.")
    ]  # fmt: skip
    assert [(r.src, r.flags) for r in spoofed] == [("10.0.9.1:40000", "S"), ("10.0.9.2:40001", "S")]
    assert [(r.t, r.new, r.cause) for r in server_states[1:3]] == [
        (0.0, "SYN-RECEIVED", "rcv SYN"),
        (0.0, "SYN-RECEIVED", "rcv SYN"),
    ]
    # the client's SYN is answered with a cookie, and nothing is kept for it
    client_syn = next(
        r for r in records if isinstance(r, PacketRecord) and r.src == "client" and r.flags == "S"
    )
    cookie_synack = [
        r for r in records
        if isinstance(r, SegmentRecord) and r.endpoint == "server" and r.reason == "SYN cookie"
    ]  # fmt: skip
    assert len(cookie_synack) == 1 and outcome.facts["SYN cookies sent"] == "1"
    synack = cookie_synack[0]
    assert synack.flags == "S." and synack.ack == client_syn.seq + 1
    assert not any(r.t < 0.13 and r.new == "SYN-RECEIVED" and r.t > 0 for r in server_states)
    # the ISN is a keyed hash with the client's MSS folded in (the server's secret is
    # the seed's, so a Host with the same secret checks it)
    twin = Host("10.0.0.2", secret=Options().seed.to_bytes(16, "big"))
    key = bytes([10, 0, 0, 2, 10, 0, 0, 1]) + (80).to_bytes(2, "big")
    key += int(synack.dst.rsplit(":", 1)[1]).to_bytes(2, "big")
    index = twin.cookies.check(key, client_syn.seq, synack.seq, synack.t, len(MSS_TABLE_V4))
    assert index is not None and MSS_TABLE_V4[index] == 1460
    # window scale and SACK ride in its timestamp
    ts = Timestamps(*map(int, synack.options.split("TS val ")[1].split(",")[0].split(" ecr ")))
    options = decode_timestamp(ts.value)
    assert "wscale 3" in client_syn_options(records) and "sackOK" in client_syn_options(records)
    assert (options.wscale, options.sack) == (3, True)
    # the client's ACK returns the cookie + 1; only then is the connection built
    first_ack = next(
        r
        for r in records
        if isinstance(r, PacketRecord) and r.src == "client" and r.seq != client_syn.seq
    )
    assert first_ack.ack == synack.seq + 1
    built = [(r.t, r.old, r.new, r.cause) for r in server_states if 0 < r.t < 1]
    assert built[:2] == [
        (pytest.approx(0.13), "LISTEN", "SYN-RECEIVED", "SYN cookie valid"),
        (pytest.approx(0.13), "SYN-RECEIVED", "ESTABLISHED", "rcv ACK of SYN"),
    ]
    assert outcome.facts["SYN cookies validated"] == "1"
    # ... then request, reply and close as usual
    assert outcome.server_received == REQUEST and outcome.client_received == REPLY
    assert [r[2] for r in built[2:]] == ["CLOSE-WAIT", "LAST-ACK", "CLOSED"]
    # the spoofed SYN,ACKs go nowhere, retransmitted at 1, 3, 7, 15 and 31 s
    nowhere = [r for r in records if isinstance(r, PacketRecord) and r.fate == "unroutable"]
    assert sorted({round(r.t, 6) for r in nowhere}) == [0.0, 1.0, 3.0, 7.0, 15.0, 31.0]
    assert all(r.flags == "S." for r in nowhere) and len(nowhere) == 12
    server_timers = [r.t for r in records if isinstance(r, TimerRecord) and r.endpoint == "server"]
    assert server_timers == [t for t in (1.0, 3.0, 7.0, 15.0, 31.0) for _ in range(2)]
    # ... and at 63 s the half-open lifetime drops them
    dropped = [(r.t, r.old, r.new) for r in server_states if r.cause == "half-open entry expired"]
    assert dropped == [(63.0, "SYN-RECEIVED", "CLOSED")] * 2
    assert outcome.facts["half-open entries expired"] == "2"


def client_syn_options(records) -> str:  # type: ignore[no-untyped-def]
    return next(
        r.options for r in records
        if isinstance(r, SegmentRecord) and r.endpoint == "client" and r.flags == "S"
    )  # fmt: skip


# ----------------------------------------------------------------------
# Narrations against their runs: each claim a note makes, checked on the trace
# ----------------------------------------------------------------------
def notes(name: str) -> str:
    return " ".join(SCENARIOS[name].notes["en"])


def state_at(outcome, endpoint: str, t: float) -> str:  # type: ignore[no-untyped-def]
    """``endpoint``'s state just before the records of instant ``t``."""
    state = "CLOSED"
    for r in outcome.recorder.records:
        if isinstance(r, StateRecord) and r.endpoint == endpoint and r.t < t - 1e-9:
            state = r.new
    return state


def test_piggyback_carries_the_request_on_the_third_segment() -> None:
    _, paths, segments = run("piggyback")
    assert paths == {"client": ACTIVE_CLOSE, "server": PASSIVE_CLOSE}
    assert segments[:3] == [*HANDSHAKE, ("client", "P.", 1, 1, len(REQUEST), "delivered")]
    assert "third segment is P., carrying 18 bytes" in notes("piggyback")
    # ... and the default demo, which the note compares it with, sends a bare ACK
    assert relative_segments(run_scenario("close"))[2] == BARE_ACK
    assert "RFC 9293 3.10.7.3" in notes("piggyback")


def test_simultaneous_open_narration() -> None:
    outcome, _, segments = run("simultaneous-open")
    records = outcome.recorder.records
    established = [
        r.t for r in records if isinstance(r, StateRecord) and r.new == "ESTABLISHED"
    ]  # fmt: skip
    sent_before = [
        r for r in records if isinstance(r, PacketRecord) and r.t < max(established)
    ]  # fmt: skip
    assert "six segments" in notes("simultaneous-open") and len(sent_before) == 6
    # each SYN,ACK fails the sequence check (its SYN lies below RCV.NXT) ...
    refused = [
        (r.endpoint, r.flags) for r in records
        if isinstance(r, SegmentRecord) and r.direction == "dropped" and "S" in r.flags
    ]  # fmt: skip
    assert sorted(refused) == [("client", "S."), ("server", "S.")]
    # ... and each side answers with an ACK, which makes the other ESTABLISHED
    assert [s[1] for s in segments[4:6]] == [".", "."]
    causes = {r.cause for r in records if isinstance(r, StateRecord) and r.new == "ESTABLISHED"}
    assert causes == {"rcv ACK of SYN"}


def test_half_close_narration() -> None:
    outcome, _, _ = run("half-close")
    records = outcome.recorder.records
    last_ack = next(
        r.t for r in records
        if isinstance(r, StateRecord) and r.endpoint == "server" and r.new == "LAST-ACK"
    )  # fmt: skip
    close_wait = next(
        r.t for r in records
        if isinstance(r, StateRecord) and r.endpoint == "server" and r.new == "CLOSE-WAIT"
    )  # fmt: skip
    data = [
        r for r in records
        if isinstance(r, PacketRecord) and r.src == "server" and r.len > 0
    ]  # fmt: skip
    assert close_wait < last_ack <= data[0].t  # it closed as it wrote: LAST-ACK
    assert data[-1].t > last_ack  # while the 20 KB were still going out
    assert "LAST-ACK while the 20 KB are still going out" in notes("half-close")
    # the client receives all of it in FIN-WAIT-2, then the FIN
    assert {state_at(outcome, "client", r.arrival) for r in data} == {"FIN-WAIT-2"}
    fin = next(
        r for r in records if isinstance(r, PacketRecord) and "F" in r.flags and r.src == "server"
    )
    assert fin.arrival is not None and fin.arrival >= max(r.arrival or 0 for r in data)


def test_old_duplicate_narration_the_reset_is_ignored() -> None:
    outcome, _, segments = run("old-duplicate")
    records = outcome.recorder.records
    assert segments[-1][:2] == ("server", "R")
    ignored = [
        r for r in records
        if isinstance(r, SegmentRecord) and r.endpoint == "client" and r.direction == "dropped"
    ]  # fmt: skip
    assert [(r.flags, r.reason) for r in ignored] == [("R", "RST in TIME-WAIT ignored (RFC 1337)")]
    assert "ignored (RFC 1337)" in notes("old-duplicate")
    tw = next(r for r in records if isinstance(r, StateRecord) and r.new == "TIME-WAIT")
    closed = [r for r in records if isinstance(r, StateRecord) and r.old == "TIME-WAIT"]
    assert [(r.new, r.cause) for r in closed] == [("CLOSED", "2MSL timeout")]
    assert closed[0].t == pytest.approx(tw.t + 2 * 120.0)  # its full 2 x MSL


def test_lossy_transfer_narration() -> None:
    outcome, _, _ = run("lossy-transfer")
    facts = outcome.facts
    text = notes("lossy-transfer")
    assert "CUBIC (RFC 9438)" in text and facts["congestion control"] == "cubic"
    assert "NewReno" not in text
    sack_acks = [
        r for r in outcome.recorder.records
        if isinstance(r, PacketRecord) and r.src == "server" and "sack " in r.options
    ]  # fmt: skip
    assert sack_acks  # out-of-order data drew SACK blocks
    assert int(facts["fast retransmits"]) > 0  # duplicate ACKs counted (RFC 6675)
    assert int(facts["losses found by RACK"]) > 0
    assert int(facts["tail loss probes"]) > 0
    # few repairs wait for the RTO
    assert int(facts["retransmission timeouts"]) < int(facts["fast retransmits"]) // 4


def packets(outcome, src: str | None = None):  # type: ignore[no-untyped-def]
    return [
        r for r in outcome.recorder.records
        if isinstance(r, PacketRecord) and (src is None or r.src == src)
    ]  # fmt: skip


def dropped(outcome, endpoint: str):  # type: ignore[no-untyped-def]
    return [
        r for r in outcome.recorder.records
        if isinstance(r, SegmentRecord) and r.endpoint == endpoint and r.direction == "dropped"
    ]  # fmt: skip


def test_half_open_narration() -> None:
    outcome, paths, segments = run("half-open")
    text = notes("half-open")
    # the client's host crashes: its TCB is lost, the server stays ESTABLISHED
    crash = next(
        r for r in outcome.recorder.records
        if isinstance(r, StateRecord) and r.cause == "host crashed"
    )  # fmt: skip
    assert (crash.endpoint, crash.old, crash.new) == ("client", "ESTABLISHED", "CLOSED")
    assert state_at(outcome, "server", crash.t + 0.1) == "ESTABLISHED"
    syns = [p for p in packets(outcome, "client") if p.flags == "S"]
    assert len(syns) == 3 and syns[1].seq != syns[0].seq  # a new ISN, sent twice
    # the SYN draws a challenge ACK (RFC 5961 4.2), not a SYN,ACK
    assert [r.reason for r in dropped(outcome, "server")] == [
        "SYN in a synchronized state (challenge ACK)"
    ]
    challenge = next(p for p in packets(outcome, "server") if p.t > syns[1].t)
    assert challenge.flags == "."
    assert "challenge ACK (RFC 5961 4.2)" in text
    # the client answers it with a RST carrying its acknowledgment
    rst = next(p for p in packets(outcome, "client") if p.flags == "R")
    assert rst.seq == challenge.ack and rst.t > challenge.t
    # ... exactly at the server's RCV.NXT: the old connection is reset
    assert paths["server"] == [
        "CLOSED", "LISTEN", "SYN-RECEIVED", "ESTABLISHED", "CLOSED", "SYN-RECEIVED", "ESTABLISHED",
    ]  # fmt: skip
    # the SYN, resent after 1 s, completes a new handshake
    assert syns[2].t - syns[1].t == pytest.approx(1.0)
    assert [s[1] for s in segments[-3:]] == ["S", "S.", "."]
    assert paths["client"][-3:] == ["CLOSED", "SYN-SENT", "ESTABLISHED"]


def test_zero_window_narration() -> None:
    outcome, _, _ = run("zero-window")
    server = packets(outcome, "server")
    zero = [p for p in server if p.win == 0]
    assert zero  # the server advertised a window of 0
    probes = [p for p in packets(outcome, "client") if p.len == 1]
    assert len(probes) == 2 and all(p.t > zero[0].t for p in probes)
    beyond = [r for r in dropped(outcome, "server") if r.reason == "text beyond a zero window"]
    assert len(beyond) == len(probes)
    # each probe is answered with an ACK that repeats the window, 0
    for probe in probes:
        answer = next(p for p in server if p.t >= (probe.arrival or 0))
        assert (answer.flags, answer.win, answer.ack) == (".", 0, probe.seq)
    # the last 1,200 bytes leave when the persist timer fires
    timers = [
        r.t for r in outcome.recorder.records
        if isinstance(r, TimerRecord) and r.endpoint == "client" and r.timer == "persist"
    ]  # fmt: skip
    first_fire = next(p for p in packets(outcome, "client") if p.t == timers[0])
    assert first_fire.len == 1200
    # the persist timer backs off: 1 s, 2 s, 4 s
    assert [round(b - a, 3) for a, b in pairwise([timers[0] - 1.0, *timers])] == [1.0, 2.0, 4.0]
    # at 10 s the application reads: a window update, and the rest flows
    update = next(p for p in server if p.t >= 10.0)
    assert update.t == pytest.approx(10.0) and update.win == 4096
    assert outcome.server_received == outcome.client_sent and len(outcome.client_sent) == 10_240
    assert "1 s, then 2 s, then 4 s" in notes("zero-window")


def test_keepalive_narration() -> None:
    outcome, _, _ = run("keepalive")
    records = outcome.recorder.records
    fires = [r.t for r in records if isinstance(r, TimerRecord) and r.timer == "keep-alive"]
    probes = [p for p in packets(outcome, "client") if p.t in fires and p.flags == "."]
    # the first probe after 10 s of silence, one below SND.NXT, answered by an ACK
    last_heard = max(p.arrival or 0 for p in packets(outcome, "server") if p.t < fires[0])
    assert fires[0] == pytest.approx(last_heard + 10.0)
    snd_nxt = max(p.seq + p.len for p in packets(outcome, "client") if p.t < fires[0])
    assert probes[0].seq == snd_nxt - 1 and probes[0].len == 0
    answer = next(p for p in packets(outcome, "server") if p.t > probes[0].t)
    assert answer.ack == probes[0].seq + 1 and answer.fate == "delivered"
    # after the cut at 15 s: probes 2 s apart, no answer, and after 3 the client gives up
    unanswered = [p for p in probes if p.t > 15.0]
    assert len(unanswered) == 3 and all(p.fate == "dropped" for p in unanswered)
    assert [round(b.t - a.t, 6) for a, b in pairwise(unanswered)] == [2.0, 2.0]
    closed = next(
        r
        for r in records
        if isinstance(r, StateRecord) and r.endpoint == "client" and r.new == "CLOSED"
    )
    assert closed.cause == "keep-alive timeout" and closed.t == pytest.approx(
        unanswered[-1].t + 2.0
    )
    assert [p.flags for p in packets(outcome, "client") if p.t == closed.t] == ["R"]
    assert "after 3 unanswered probes" in notes("keepalive")


def test_nagle_narration() -> None:
    outcome, _, _ = run("nagle")
    first, second = (p for p in packets(outcome, "client") if p.len > 0)
    # the first piece at once; the second waits for the delayed ACK
    assert first.t == pytest.approx(0.5)
    delayed = next(
        r for r in outcome.recorder.records
        if isinstance(r, TimerRecord) and r.endpoint == "server" and r.timer == "delayed ACK"
    )  # fmt: skip
    assert delayed.t == pytest.approx((first.arrival or 0) + 0.2)
    ack = next(p for p in packets(outcome, "server") if p.t == delayed.t)
    assert ack.ack == first.seq + first.len
    assert second.t == pytest.approx(ack.arrival or 0)  # only then does it leave
    reply = next(p for p in packets(outcome, "server") if p.len > 0)
    assert reply.t - (first.arrival or 0) == pytest.approx(0.22)  # 200 ms late, plus a round trip
    assert "200 ms" in notes("nagle")


def test_paws_narration() -> None:
    from synack.scenarios import PAWS_ISN, _paws

    outcome, _, _ = run("paws")
    text = notes("paws")
    client = packets(outcome, "client")
    # the client's sequence numbers wrap past 0
    assert client[0].seq == PAWS_ISN == 2**32 - 10_000 and "2^32 - 10,000" in text
    wrapped = [p for p in client if p.len and p.seq < PAWS_ISN and p.fate == "delivered"]
    assert wrapped and any(p.seq < 10_000 for p in wrapped)
    # at 80 ms the old copy arrives, inside the server's window, with an old timestamp
    (stale,) = [p for p in client if p.fate == "old duplicate"]
    assert stale.t == pytest.approx(0.08)
    recent = [p for p in client if p.t < stale.t and p.fate == "delivered"][-1]

    def tsval(p) -> int:  # type: ignore[no-untyped-def]
        return int(p.options.split("TS val ")[1].split(" ")[0])

    assert tsval(recent) - tsval(stale) == 34_400  # 34.4 s of 1 ms ticks
    # PAWS drops it; every byte arrives intact
    assert [r.reason for r in dropped(outcome, "server")] == ["PAWS: old timestamp"]
    assert outcome.server_received == outcome.client_sent and len(outcome.client_sent) == 40_000
    assert outcome.facts["bytes delivered intact"] == "yes"
    # without timestamps the same copy passes the sequence check: its text is delivered
    unprotected = _paws(Options(), timestamps=False)
    assert unprotected.facts["bytes delivered intact"] == "NO"
    assert b"stale data from one wrap ago" in unprotected.server_received
    assert not dropped(unprotected, "server")
