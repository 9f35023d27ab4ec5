"""The fast-open scenario (RFC 7413): exact segments of both connections, states,
the cookie in the options, and each claim of its narration."""

from __future__ import annotations

from synack.scenarios import REPLY, REQUEST, SCENARIOS, run_scenario
from synack.trace.records import PacketRecord, StateRecord

N, M = len(REQUEST), len(REPLY)


def rows(outcome):  # type: ignore[no-untyped-def]
    """(t ms, sender, flags, relative seq, relative ack, len, FO option) of every
    packet; numbers relative to the ISN of each side's latest SYN (one
    connection at a time here)."""
    isn: dict[str, int] = {}
    found = []
    for r in outcome.recorder.records:
        if not isinstance(r, PacketRecord):
            continue
        if "S" in r.flags:
            isn[r.src] = r.seq
        seq = (r.seq - isn[r.src]) % 2**32
        ack = (r.ack - isn[r.dst]) % 2**32 if "." in r.flags else 0
        fo = next((o for o in r.options.split(",") if o.startswith("FO")), None)
        found.append((round(r.t * 1000), r.src, r.flags, seq, ack, r.len, fo, r.fate))
    return found


def test_cookie_first_then_data_in_the_syn() -> None:
    outcome = run_scenario("fast-open")
    got = rows(outcome)
    cookie = got[1][6]
    assert cookie is not None and len(cookie) == len("FO ") + 16  # 8 bytes, in hex
    ok = "delivered"
    assert got == [
        # first connection: a cookie request, the cookie, then the request after the handshake
        (0, "client", "S", 0, 0, 0, "FO", ok),
        (10, "server", "S.", 0, 1, 0, cookie, ok),
        (20, "client", ".", 1, 1, 0, None, ok),
        (20, "client", "P.", 1, 1, N, None, ok),
        (30, "server", "P.", 1, 1 + N, M, None, ok),
        (200, "client", "F.", 1 + N, 1 + M, 0, None, ok),
        (210, "server", "F.", 1 + M, 2 + N, 0, None, ok),
        (220, "client", ".", 2 + N, 2 + M, 0, None, ok),
        # second connection: the cookie and the request in the SYN, acknowledged by the
        # SYN,ACK (no cookie: it was good), and the reply before the third ACK
        (500, "client", "S", 0, 0, N, cookie, ok),
        (510, "server", "S.", 0, 1 + N, 0, None, ok),
        (510, "server", "P.", 1, 1 + N, M, None, ok),
        (520, "client", ".", 1 + N, 1 + M, 0, None, ok),
        (700, "client", "F.", 1 + N, 1 + M, 0, None, ok),
        (710, "server", "F.", 1 + M, 2 + N, 0, None, ok),
        (720, "client", ".", 2 + N, 2 + M, 0, None, ok),
    ]
    assert outcome.client_received == REPLY * 2
    assert outcome.server_received == REQUEST * 2


def test_states_and_when_the_server_has_the_data() -> None:
    outcome = run_scenario("fast-open")
    server = [
        (round(r.t * 1000), r.old, r.new)
        for r in outcome.recorder.records
        if isinstance(r, StateRecord) and r.endpoint == "server"
    ]
    assert server == [
        (0, "CLOSED", "LISTEN"),
        (10, "LISTEN", "SYN-RECEIVED"), (30, "SYN-RECEIVED", "ESTABLISHED"),
        (210, "ESTABLISHED", "CLOSE-WAIT"), (210, "CLOSE-WAIT", "LAST-ACK"),
        (230, "LAST-ACK", "CLOSED"),
        (510, "LISTEN", "SYN-RECEIVED"), (530, "SYN-RECEIVED", "ESTABLISHED"),
        (710, "ESTABLISHED", "CLOSE-WAIT"), (710, "CLOSE-WAIT", "LAST-ACK"),
        (730, "LAST-ACK", "CLOSED"),
    ]  # fmt: skip
    # the reply left at 510 ms, in SYN-RECEIVED, 20 ms before the handshake completed
    assert outcome.facts == {
        "first reply, 1st connection (ms after connect)": "40",
        "first reply, 2nd connection (ms after connect)": "20",
        "Fast Open SYNs accepted": "1",
    }


def test_narration_claims() -> None:
    en = " ".join(SCENARIOS["fast-open"].notes["en"])
    assert "cookie request (FO)" in en
    assert "two round trips after connect" in en and "one round trip after connect" in en
    assert "18-byte request" in en and N == 18
    assert "SipHash" in en and "RFC 7413 4.2.2" in en
    assert len(SCENARIOS["fast-open"].notes["ko"]) == len(SCENARIOS["fast-open"].notes["en"])
