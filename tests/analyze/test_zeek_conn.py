"""synack.analyze.zeek: conn.log records with Zeek's own rules, and the TSV and JSON writers.

Each expected value is derived by hand from Zeek's rules (docs/zeek-conn.md);
the comments say which rule gives each letter or state. Where Zeek's own test
suite has a baseline for the same shape of exchange, the test says so.
"""

from __future__ import annotations

import io
import json
from ipaddress import ip_address

import pytest

from synack.analyze.model import CapturedSegment
from synack.analyze.zeek import FIELDS, ZeekConn, conn_json_lines, write_conn_tsv

F, S, R, P, A = 0x01, 0x02, 0x04, 0x08, 0x10

CLIENT = ("10.0.0.1", 40000)
SERVER = ("10.0.0.2", 5555)  # not a likely server port: no port-based flip
WEB = ("10.0.0.2", 80)  # a likely server port


def seg(
    t: float,
    frm: tuple[str, int],
    to: tuple[str, int],
    flags: int,
    seq: int,
    ack: int = 0,
    n: int = 0,
    *,
    win: int = 65535,
    ok: bool | None = True,
) -> CapturedSegment:
    """One segment of ``n`` payload bytes in a 20+20-byte IPv4/TCP packet."""
    return CapturedSegment(
        t=t,
        record=0,
        src=ip_address(frm[0]),
        dst=ip_address(to[0]),
        sport=frm[1],
        dport=to[1],
        flags=flags,
        seq=seq,
        ack=ack,
        window=win,
        urgent=0,
        options=(),
        payload_len=n,
        ip_len=40 + n,
        checksum_ok=ok,
    )


def run(segments: list[CapturedSegment], uid: str = "CZ1") -> dict[str, object]:
    conn = ZeekConn(uid, segments[0])
    for s in segments[1:]:
        conn.feed(s)
    return conn.record()


def classic(server: tuple[str, int] = SERVER) -> list[CapturedSegment]:
    """Handshake, 100 bytes up, 200 bytes down, FIN from each side, last ACK."""
    c, sv = CLIENT, server
    return [
        seg(0.00, c, sv, S, 1000),  # S: a SYN without ACK, originator
        seg(0.01, sv, c, S | A, 5000, 1001),  # h: SYN+ACK, responder
        seg(0.02, c, sv, A, 1001, 5001),  # A: pure ACK, originator
        seg(0.03, c, sv, P | A, 1001, 5001, 100),  # D: payload, originator
        seg(0.04, sv, c, A, 5001, 1101),  # a: pure ACK, responder
        seg(0.05, sv, c, P | A, 5001, 1101, 200),  # d: payload, responder
        seg(0.06, c, sv, A, 1101, 5201),  # (A again: recorded once per direction)
        seg(0.07, c, sv, F | A, 1101, 5201),  # F: FIN, originator
        seg(0.08, sv, c, F | A, 5201, 1102),  # f: FIN, responder
        seg(0.09, c, sv, A, 1102, 5202),  # (after both FINs: not in the duration)
    ]


SYN = seg(0.0, CLIENT, SERVER, S, 1000)
SYNACK = seg(0.01, SERVER, CLIENT, S | A, 5000, 1001)
ACK3 = seg(0.02, CLIENT, SERVER, A, 1001, 5001)


# -- the classic exchange ---------------------------------------------------------


def test_classic_exchange_is_ShADadFf_with_every_field() -> None:
    assert run(classic()) == {
        "ts": 0.0,
        "uid": "CZ1",
        "id.orig_h": "10.0.0.1",
        "id.orig_p": 40000,
        "id.resp_h": "10.0.0.2",
        "id.resp_p": 5555,
        "proto": "tcp",
        # First packet to the responder's FIN: the last ACK comes after both
        # sides closed and Zeek leaves it out of the duration.
        "duration": pytest.approx(0.08),
        # Sequence space: 1102 - 1000 less the SYN and the FIN octets.
        "orig_bytes": 100,
        "resp_bytes": 200,
        "conn_state": "SF",
        "missed_bytes": 0,
        "history": "ShADadFf",
        "orig_pkts": 6,
        "orig_ip_bytes": 6 * 40 + 100,
        "resp_pkts": 4,
        "resp_ip_bytes": 4 * 40 + 200,
    }


def test_feeding_the_first_segment_again_is_ignored() -> None:
    segments = classic()
    conn = ZeekConn("CZ1", segments[0])
    for s in segments:
        conn.feed(s)
    assert conn.record()["history"] == "ShADadFf"
    assert conn.record()["orig_pkts"] == 6


# -- every conn_state -------------------------------------------------------------


@pytest.mark.parametrize(
    ("segments", "state", "history"),
    [
        # S0: a SYN, no reply.
        ([SYN], "S0", "S"),
        # REJ: the responder's RST answers the SYN (originator still SYN sent).
        ([SYN, seg(0.01, SERVER, CLIENT, R | A, 0, 1001)], "REJ", "Sr"),
        # S1: established, nobody closed.
        ([SYN, SYNACK, ACK3], "S1", "ShA"),
        # S2: established, only the originator's FIN.
        ([SYN, SYNACK, ACK3, seg(0.03, CLIENT, SERVER, F | A, 1001, 5001)], "S2", "ShAF"),
        # S3: established, only the responder's FIN.
        ([SYN, SYNACK, ACK3, seg(0.03, SERVER, CLIENT, F | A, 5001, 1001)], "S3", "ShAf"),
        # RSTO: established, the originator aborts.
        ([SYN, SYNACK, ACK3, seg(0.03, CLIENT, SERVER, R | A, 1001, 5001)], "RSTO", "ShAR"),
        # RSTR: established, the responder aborts.
        ([SYN, SYNACK, ACK3, seg(0.03, SERVER, CLIENT, R | A, 5001, 1001)], "RSTR", "ShAr"),
        # RSTOS0: SYN then the originator's RST, nothing from the responder
        # (Zeek's baseline conn_state-RST-behavior: "SR, RSTOS0").
        ([SYN, seg(0.5, CLIENT, SERVER, R, 1001)], "RSTOS0", "SR"),
        # SH: SYN then the originator's FIN, no SYN-ACK.
        ([SYN, seg(0.5, CLIENT, SERVER, F, 1001)], "SH", "SF"),
        # OTH: a lone pure ACK, midstream.
        ([seg(0.0, CLIENT, SERVER, A, 1001, 5001)], "OTH", "A"),
    ],
)
def test_conn_states(segments: list[CapturedSegment], state: str, history: str) -> None:
    record = run(segments)
    assert (record["conn_state"], record["history"]) == (state, history)
    assert record["id.orig_p"] == 40000


def test_RSTRH_responder_syn_ack_then_rst_never_a_syn() -> None:
    # A SYN-ACK first, from a likely server port: flipped at once (^), so the
    # SYN-ACK is the responder's (h); then the responder's RST (r). The
    # originator never sent anything: RSTRH.
    record = run([seg(0.0, WEB, CLIENT, S | A, 5000, 1001), seg(0.2, WEB, CLIENT, R, 5001)])
    assert (record["conn_state"], record["history"]) == ("RSTRH", "^hr")
    assert (record["id.orig_p"], record["id.resp_p"]) == (40000, 80)
    assert (record["orig_pkts"], record["resp_pkts"]) == (0, 2)


def test_SHR_responder_syn_ack_then_fin() -> None:
    record = run(
        [seg(0.0, WEB, CLIENT, S | A, 5000, 1001), seg(0.2, WEB, CLIENT, F | A, 5001, 1001)]
    )
    assert (record["conn_state"], record["history"]) == ("SHR", "^hf")


def test_zeek_baseline_shapes_for_resets() -> None:
    # Zeek's baseline conn_state-RST-behavior: "R, OTH", "SaR, RSTOS0", "SaFR, OTH".
    # 'a': the responder ACKs the SYN without a SYN-ACK (it stays inactive).
    lone_rst = [seg(0.0, CLIENT, SERVER, R, 1000)]
    ack_first = seg(0.01, SERVER, CLIENT, A, 5000, 1001)
    sar = [SYN, ack_first, seg(0.02, CLIENT, SERVER, R, 1001)]
    safr = [
        SYN,
        ack_first,
        seg(0.02, CLIENT, SERVER, F | A, 1001, 5000),
        seg(0.03, CLIENT, SERVER, R, 1002),
    ]
    got = [(run(x)["history"], run(x)["conn_state"]) for x in (lone_rst, sar, safr)]
    assert got == [("R", "OTH"), ("SaR", "RSTOS0"), ("SaFR", "OTH")]


def test_single_packet_leaves_duration_and_bytes_unset() -> None:
    # Zeek sets duration, orig_bytes and resp_bytes only when duration > 0.
    record = run([SYN])
    assert (record["duration"], record["orig_bytes"], record["resp_bytes"]) == (None, None, None)
    assert (record["orig_pkts"], record["orig_ip_bytes"]) == (1, 40)
    # A retransmitted SYN gives a duration, and zero bytes (a SYN carries none).
    record = run([SYN, seg(1.0, CLIENT, SERVER, S, 1000)])
    assert (record["duration"], record["orig_bytes"], record["resp_bytes"]) == (1.0, 0, 0)
    assert record["history"] == "S"  # same sequence number: not recorded again


# -- multi-flag letters -------------------------------------------------------------


def test_fin_rst_is_I_and_syn_fin_is_Q() -> None:
    # i: FIN and RST together (inconsistent); the RST still resets: RSTO.
    record = run([SYN, SYNACK, ACK3, seg(0.03, CLIENT, SERVER, F | R | A, 1001, 5001)])
    assert (record["history"], record["conn_state"]) == ("ShAI", "RSTO")
    # q: SYN+FIN (two control flags, not FIN+RST); SYN sent then closed: SH.
    record = run([seg(0.0, CLIENT, SERVER, S | F, 1000)])
    assert (record["history"], record["conn_state"]) == ("Q", "SH")


# -- repeats ------------------------------------------------------------------------


def test_control_letters_repeat_only_with_a_new_sequence_number() -> None:
    # RST at 1001 (R), again at 1001 (same: not recorded), at 1201 (new: R).
    record = run(
        [
            SYN,
            SYNACK,
            ACK3,
            seg(0.03, CLIENT, SERVER, R | A, 1001, 5001),
            seg(0.04, CLIENT, SERVER, R | A, 1001, 5001),
            seg(0.05, CLIENT, SERVER, R | A, 1201, 5001),
        ]
    )
    assert record["history"] == "ShARR"
    # A retransmitted FIN (same sequence) is not recorded again.
    record = run(
        [
            SYN,
            SYNACK,
            ACK3,
            seg(0.03, CLIENT, SERVER, F | A, 1001, 5001),
            seg(0.04, CLIENT, SERVER, F | A, 1001, 5001),
        ]
    )
    assert record["history"] == "ShAF"


@pytest.mark.parametrize(
    ("copies", "history"),
    [
        (1, "ShADTadFf"),  # the 1st retransmission: T
        (9, "ShADTadFf"),  # up to the 9th: still one T
        (10, "ShADTTadFf"),  # the 10th: T again
        (99, "ShADTTadFf"),
        (100, "ShADTTTadFf"),  # the 100th: a third T
    ],
)
def test_retransmissions_are_recorded_at_1_10_100(copies: int, history: str) -> None:
    base = classic()
    again = [seg(0.035 + i * 1e-5, CLIENT, SERVER, P | A, 1001, 5001, 100) for i in range(copies)]
    record = run(base[:4] + again + base[4:])
    assert record["history"] == history
    # Sequence-space bytes: retransmissions add nothing; the packets all count.
    assert record["orig_bytes"] == 100
    assert record["orig_pkts"] == 6 + copies
    assert record["orig_ip_bytes"] == 340 + 140 * copies


def test_bad_checksums_are_C_and_the_packet_is_dropped() -> None:
    base = classic()
    bad = seg(0.03, CLIENT, SERVER, P | A, 1001, 5001, 100, ok=False)
    record = run([*base[:3], bad, *base[3:]])
    # c: bad checksum, from the originator; the packet goes no further (no D
    # for it, not counted in the packets, the good copy after it is data).
    assert record["history"] == "ShACDadFf"
    assert record["orig_pkts"] == 6
    # Ten of them: C at the 1st and at the 10th.
    bads = [seg(0.03 + i * 1e-5, SERVER, CLIENT, A, 5001, 1001, ok=False) for i in range(10)]
    record = run(base[:3] + bads + base[3:])
    assert record["history"] == "ShAccDadFf"
    # An unchecked checksum (None) is a good one.
    unchecked = seg(0.03, CLIENT, SERVER, P | A, 1001, 5001, 100, ok=None)
    assert run([*base[:3], unchecked, *base[4:]])["history"] == "ShADadFf"


def test_zero_windows_are_w_but_not_after_the_peers_fin_nor_on_a_rst() -> None:
    base = classic()
    zero = seg(0.04, SERVER, CLIENT, A, 5001, 1101, win=0)
    # w: the responder advertises a zero window.
    assert run([*base[:4], zero, *base[5:]])["history"] == "ShADawdFf"
    # After the originator's FIN a zero window means nothing: no w.
    after_fin = [
        SYN,
        SYNACK,
        ACK3,
        seg(0.03, CLIENT, SERVER, F | A, 1001, 5001),
        seg(0.04, SERVER, CLIENT, A, 5001, 1002, win=0),
    ]
    assert run(after_fin)["history"] == "ShAFa"
    # Nor with a RST.
    rst = [SYN, SYNACK, ACK3, seg(0.03, SERVER, CLIENT, R, 5001, win=0)]
    assert run(rst)["history"] == "ShAr"


# -- gaps and bytes -------------------------------------------------------------------


def test_a_missing_data_segment_is_a_gap_when_acknowledged() -> None:
    base = classic()
    record = run(base[:3] + base[4:])  # the originator's 100 bytes never seen
    # G comes with the responder's ACK of 1101 (a, then the gap it reveals,
    # the originator's: G).
    assert record["history"] == "ShAaGdFf"
    assert record["missed_bytes"] == 100
    # The byte count is sequence space: what was sent, seen or not.
    assert record["orig_bytes"] == 100


def test_two_holes_and_out_of_order_data() -> None:
    two_holes = [
        SYN,
        SYNACK,
        ACK3,
        seg(0.03, CLIENT, SERVER, A, 1101, 5001, 100),  # D (1001-1101 missing)
        seg(0.04, CLIENT, SERVER, A, 1301, 5001, 100),  # (1201-1301 missing)
        seg(0.05, SERVER, CLIENT, A, 5001, 1401),  # a, and two gaps: one G
    ]
    record = run(two_holes)
    assert (record["history"], record["missed_bytes"], record["orig_bytes"]) == (
        "ShADaG",
        200,
        400,
    )
    # A hole filled late is no gap, but Zeek counts out-of-order data as a
    # retransmission (its end is not past the highest sequence seen): T.
    filled = [
        SYN,
        SYNACK,
        ACK3,
        seg(0.03, CLIENT, SERVER, A, 1101, 5001, 100),
        seg(0.04, CLIENT, SERVER, A, 1001, 5001, 100),
        seg(0.05, SERVER, CLIENT, A, 5001, 1201),
    ]
    record = run(filled)
    assert (record["history"], record["missed_bytes"], record["orig_bytes"]) == (
        "ShADTa",
        0,
        200,
    )


def test_ten_gaps_record_G_twice() -> None:
    segments = [SYN, SYNACK, ACK3]
    seq = 1001
    for i in range(10):
        seq += 10  # 10 bytes never seen, then 10 bytes seen, then their ACK
        segments.append(seg(0.03 + i * 0.01, CLIENT, SERVER, A, seq, 5001, 10))
        seq += 10
        segments.append(seg(0.035 + i * 0.01, SERVER, CLIENT, A, 5001, seq))
    record = run(segments)
    assert record["history"] == "ShADaGG"
    assert record["missed_bytes"] == 100


def test_no_gaps_are_reported_for_a_partial_connection() -> None:
    # Midstream: both sides partial, never cleanly established; an ACK past
    # unseen data is not a gap there.
    record = run(
        [
            seg(0.0, CLIENT, SERVER, A, 1001, 5001, 100),
            seg(0.1, SERVER, CLIENT, A, 5001, 1301),
        ]
    )
    assert (record["history"], record["missed_bytes"], record["conn_state"]) == ("Da", 0, "OTH")
    assert record["orig_bytes"] == 300  # the ACK still says how much was sent


def test_capture_starting_mid_connection_is_OTH() -> None:
    base = classic()
    record = run(base[3:7])  # data both ways, no SYN, no FIN
    assert record["conn_state"] == "OTH"
    assert record["history"] == "DadA"
    assert (record["orig_bytes"], record["resp_bytes"]) == (100, 200)
    assert record["duration"] == pytest.approx(0.03)
    # The same midway start that later closes both ways is SF (both closed).
    assert run(base[3:])["conn_state"] == "SF"


# -- flips ------------------------------------------------------------------------------


def test_first_packet_a_syn_ack_from_a_likely_server_port_is_flipped() -> None:
    # Zeek's baseline core.tcp.flip-without-syn has this shape: ^hADadFf.
    record = run(classic(WEB)[1:])
    assert record["history"] == "^hADadFf"
    assert (record["id.orig_h"], record["id.orig_p"]) == ("10.0.0.1", 40000)
    assert (record["id.resp_h"], record["id.resp_p"]) == ("10.0.0.2", 80)
    assert record["conn_state"] == "SF"
    assert (record["orig_bytes"], record["resp_bytes"]) == (100, 200)
    assert (record["orig_pkts"], record["resp_pkts"]) == (5, 4)
    assert record["ts"] == 0.01


def test_missing_syn_baseline_shape() -> None:
    # Zeek's baseline core.tcp.missing-syn: ^hADdFaf (SYN-ACK, ACK, request,
    # response, originator FIN, responder ACK, responder FIN).
    c, w = CLIENT, WEB
    record = run(
        [
            seg(0.0, w, c, S | A, 5000, 1001),
            seg(0.1, c, w, A, 1001, 5001),
            seg(0.2, c, w, P | A, 1001, 5001, 98),
            seg(0.3, w, c, P | A, 5001, 1099, 300),
            seg(0.4, c, w, F | A, 1099, 5301),
            seg(0.5, w, c, A, 5301, 1100),
            seg(0.6, w, c, F | A, 5301, 1100),
            seg(0.7, c, w, A, 1100, 5302),
        ]
    )
    assert (record["history"], record["conn_state"]) == ("^hADdFaf", "SF")
    assert (record["orig_bytes"], record["resp_bytes"]) == (98, 300)


def test_syn_ack_first_then_ack_flips_late_without_a_likely_port() -> None:
    # Not a likely server port: the SYN-ACK's sender starts as originator
    # (H), and the ACK that follows flips the roles; the history is rewritten
    # as if they had been right from the start: ^h, then A.
    record = run(classic(SERVER)[1:])
    assert record["history"] == "^hADadFf"
    assert (record["id.orig_p"], record["id.resp_p"]) == (40000, 5555)
    assert record["conn_state"] == "SF"
    assert (record["orig_pkts"], record["resp_pkts"]) == (5, 4)


def test_a_lone_syn_ack_without_a_likely_port_is_not_flipped() -> None:
    record = run([SYNACK])
    assert (record["history"], record["conn_state"]) == ("H", "OTH")
    assert (record["id.orig_p"], record["id.resp_p"]) == (5555, 40000)


def test_syn_after_its_syn_ack_flips_the_roles() -> None:
    # SYN-ACK seen first (H, its sender the originator), then the SYN it
    # answers (s, lower case: at that moment its sender is the responder),
    # then the flip (^); from then on the client is the originator (A...).
    base = classic(SERVER)
    record = run([base[1], base[0], *base[2:]])
    assert record["history"] == "Hs^ADadFf"
    assert (record["id.orig_p"], record["id.resp_p"]) == (40000, 5555)
    assert record["conn_state"] == "SF"
    assert (record["orig_pkts"], record["resp_pkts"]) == (6, 4)


@pytest.mark.parametrize(
    ("sport", "dport", "flags", "flipped"),
    [
        (80, 40000, A, True),  # from a likely port to an unlikely one
        (80, 443, A, True),  # both likely: a non-SYN towards the higher port flips
        (443, 80, A, False),  # ... towards the lower port does not
        (80, 443, S | A, False),  # both likely: a SYN-ACK never flips at first
        (80, 40000, S, False),  # a pure SYN never flips
        (40000, 80, A, False),  # from an unlikely port
    ],
)
def test_port_heuristic_at_the_first_packet(
    sport: int, dport: int, flags: int, flipped: bool
) -> None:
    first = seg(0.0, ("10.0.0.2", sport), ("10.0.0.1", dport), flags, 7000, 9001)
    record = run([first])
    history = record["history"]
    assert isinstance(history, str)
    assert history.startswith("^") is flipped
    assert record["id.orig_p"] == (dport if flipped else sport)


# -- writers -----------------------------------------------------------------------------


def _records() -> list[dict[str, object]]:
    full = run(
        [seg(1300000000.0 + s.t, *_ends(s), s.flags, s.seq, s.ack, s.payload_len)
         for s in classic()]
    )  # fmt: skip
    lone = run([seg(1300000001.5, CLIENT, SERVER, S, 1000)], uid="CZ2")
    return [full, lone]


def _ends(s: CapturedSegment) -> tuple[tuple[str, int], tuple[str, int]]:
    return (str(s.src), s.sport), (str(s.dst), s.dport)


def test_tsv_log_header_rows_and_close_exactly() -> None:
    out = io.StringIO()
    write_conn_tsv(_records(), out, open_time=0.0, close_time=86400.0)
    assert out.getvalue().split("\n") == [
        "#separator \\x09",
        "#set_separator\t,",
        "#empty_field\t(empty)",
        "#unset_field\t-",
        "#path\tconn",
        "#open\t1970-01-01-00-00-00",
        "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tduration"
        "\torig_bytes\tresp_bytes\tconn_state\tmissed_bytes\thistory\torig_pkts"
        "\torig_ip_bytes\tresp_pkts\tresp_ip_bytes",
        "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tinterval\tcount\tcount"
        "\tstring\tcount\tstring\tcount\tcount\tcount\tcount",
        "1300000000.000000\tCZ1\t10.0.0.1\t40000\t10.0.0.2\t5555\ttcp\t0.080000"
        "\t100\t200\tSF\t0\tShADadFf\t6\t340\t4\t360",
        "1300000001.500000\tCZ2\t10.0.0.1\t40000\t10.0.0.2\t5555\ttcp\t-"
        "\t-\t-\tS0\t0\tS\t1\t40\t0\t0",
        "#close\t1970-01-02-00-00-00",
        "",
    ]


def test_tsv_escapes_like_zeek() -> None:
    record = dict(_records()[1], uid="-", history="")
    out = io.StringIO()
    write_conn_tsv([record], out, open_time=0.0, close_time=0.0)
    row = out.getvalue().split("\n")[8].split("\t")
    # A string that reads as the unset mark is escaped; an empty one is (empty).
    assert (row[1], row[12]) == ("\\x2d", "(empty)")


def test_json_lines_have_the_same_names_and_leave_unset_fields_out() -> None:
    full, lone = (json.loads(line) for line in conn_json_lines(_records()))
    assert list(full) == list(FIELDS)
    assert full["ts"] == 1300000000.0
    assert full["duration"] == pytest.approx(0.08)
    assert full["history"] == "ShADadFf"
    assert full["id.orig_p"] == 40000
    assert "duration" not in lone and "orig_bytes" not in lone and "resp_bytes" not in lone
    assert lone["conn_state"] == "S0"


def test_json_numbers_are_written_as_zeek_writes_them() -> None:
    record = dict(_records()[1], ts=1300000001.1234567, duration=0.5)
    (line,) = conn_json_lines([record])
    # Times and intervals: the shortest decimal that reads back as the same
    # double (rapidjson's default); a whole number keeps its ".0".
    assert line.startswith('{"ts":1300000001.1234567,"uid":"CZ2",')
    assert '"duration":0.5,' in line
    (line,) = conn_json_lines([dict(record, ts=1300000002.0, duration=1e-07)])
    assert line.startswith('{"ts":1300000002.0,')
    assert '"duration":1e-7,' in line


# -- more edges -----------------------------------------------------------------------------


def test_a_payload_the_capture_cut_short_is_a_gap_once_acknowledged() -> None:
    # As in Zeek: a segment whose payload the capture did not keep in full is
    # not reassembled, so the ACK of it reveals a gap.
    base = classic()
    cut = base[3]
    cut = CapturedSegment(
        t=cut.t, record=0, src=cut.src, dst=cut.dst, sport=cut.sport, dport=cut.dport,
        flags=cut.flags, seq=cut.seq, ack=cut.ack, window=cut.window, urgent=0, options=(),
        payload_len=100, ip_len=140, checksum_ok=None, truncated=True, payload=b"x" * 20,
    )  # fmt: skip
    record = run([*base[:3], cut, *base[4:]])
    assert (record["history"], record["missed_bytes"]) == ("ShADaGdFf", 100)


def test_a_rst_carrying_payload_counts_as_a_retransmission() -> None:
    # R for the RST, then T: its payload does not advance the sequence space.
    record = run([SYN, SYNACK, ACK3, seg(0.03, CLIENT, SERVER, R | A, 1001, 5001, 20)])
    assert (record["history"], record["conn_state"]) == ("ShART", "RSTO")


def test_likely_server_ports_can_be_given() -> None:
    first = seg(0.0, SERVER, CLIENT, A, 5001, 1001, 10)
    conn = ZeekConn("CZ9", first, likely_server_ports=frozenset({5555}))
    record = conn.record()
    assert (record["history"], record["id.orig_p"], record["id.resp_p"]) == ("^d", 40000, 5555)
    assert ZeekConn("CZ9", first).record()["history"] == "D"


def test_ipv6_addresses_are_written_as_zeek_writes_them() -> None:
    c6, s6 = ("2001:db8::1", 40000), ("2001:db8::2", 5555)
    record = run([seg(0.0, c6, s6, S, 1000), seg(0.01, s6, c6, S | A, 5000, 1001)])
    assert (record["id.orig_h"], record["id.resp_h"]) == ("2001:db8::1", "2001:db8::2")
    # The responder's SYN-ACK establishes both sides in Zeek's terms: S1.
    assert (record["history"], record["conn_state"]) == ("Sh", "S1")


def test_memory_stays_bounded_with_many_holes() -> None:
    # 300 separate 10-byte holes outstanding at once: the picture of what was
    # seen stays small (merged ranges keep their seen bytes and hole count),
    # and the gaps come out as Zeek counts them: 3000 bytes, 300 gaps (G at
    # the 1st, 10th and 100th).
    segments = [SYN, SYNACK, ACK3]
    for i in range(300):
        segments.append(seg(0.03 + i * 1e-4, CLIENT, SERVER, A, 1001 + 20 * i + 10, 5001, 10))
    conn = ZeekConn("CZ1", segments[0])
    for s in segments[1:]:
        conn.feed(s)
    assert len(conn._orig.reasm.blocks) <= 16
    conn.feed(seg(0.2, SERVER, CLIENT, A, 5001, 1001 + 20 * 300))
    record = conn.record()
    assert (record["missed_bytes"], record["history"]) == (3000, "ShADaGGG")
    assert record["orig_bytes"] == 20 * 300
    # The same holes all filled by one retransmission before the ACK: no gap.
    conn = ZeekConn("CZ1", segments[0])
    for s in segments[1:]:
        conn.feed(s)
    conn.feed(seg(0.15, CLIENT, SERVER, A, 1001, 5001, 20 * 300))
    conn.feed(seg(0.2, SERVER, CLIENT, A, 5001, 1001 + 20 * 300))
    record = conn.record()
    assert (record["missed_bytes"], record["history"]) == (0, "ShADTa")


def test_a_close_with_data_missing_before_it_waits_until_the_data_is_accounted_for() -> None:
    # The originator's 100 bytes are never seen; its FIN comes before any ACK
    # of them. Zeek takes that FIN as the side's close only once reassembly
    # has caught up (the responder's ACK of the FIN reveals the gap), at the
    # originator's next packet: so its last ACK still counts in the duration.
    record = run(
        [
            SYN,
            SYNACK,
            ACK3,
            seg(0.03, CLIENT, SERVER, F | A, 1101, 5001),  # F (data before it missing)
            seg(0.04, SERVER, CLIENT, F | A, 5001, 1102),  # f, and the gap: G
            seg(0.05, CLIENT, SERVER, A, 1102, 5002),
        ]
    )
    assert (record["history"], record["missed_bytes"], record["conn_state"]) == (
        "ShAFfG",
        100,
        "SF",
    )
    assert record["duration"] == pytest.approx(0.05)
    # With nothing missing the same last ACK is after both closes: not counted.
    record = run(
        [
            SYN,
            SYNACK,
            ACK3,
            seg(0.03, CLIENT, SERVER, F | A, 1001, 5001),
            seg(0.04, SERVER, CLIENT, F | A, 5001, 1002),
            seg(0.05, CLIENT, SERVER, A, 1002, 5002),
        ]
    )
    assert record["duration"] == pytest.approx(0.04)


def test_any_segment_mix_gives_a_well_formed_record() -> None:
    # Seeded random segments, both directions, any flags: no exception, every
    # history letter one of Zeek's, every field of the right type.
    import random

    rng = random.Random(20261130)
    letters = set("shadfrcgtwiqSHADFRCGTWIQ^")
    states = {"S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR"}
    states |= {"RSTOS0", "RSTRH", "SH", "SHR", "OTH"}
    for _ in range(300):
        segments = []
        for i in range(rng.randint(1, 25)):
            frm, to = (CLIENT, SERVER) if rng.random() < 0.5 else (SERVER, CLIENT)
            segments.append(
                seg(
                    i * 0.01,
                    frm,
                    to,
                    rng.choice([S, S | A, A, P | A, F | A, R, R | A, F | R, S | F, 0]),
                    rng.choice([0, 1000, 1001, 1101, 5000, 5001, rng.getrandbits(32)]),
                    rng.choice([0, 1001, 1101, 5001, 5201, rng.getrandbits(32)]),
                    rng.choice([0, 0, 10, 100, 1460]),
                    win=rng.choice([0, 65535]),
                    ok=rng.choice([True, True, True, None, False]),
                )
            )
        record = run(segments)
        assert list(record) == list(FIELDS)
        history = record["history"]
        assert history is None or (isinstance(history, str) and set(history) <= letters)
        assert record["conn_state"] in states
        for field in ("orig_bytes", "resp_bytes", "missed_bytes", "orig_pkts", "resp_pkts"):
            value = record[field]
            assert value is None or (isinstance(value, int) and value >= 0)


# -- shapes from Zeek's own outputs --------------------------------------------------------


def _with_ip_len(s: CapturedSegment, ip_len: int) -> CapturedSegment:
    s.ip_len = ip_len
    return s


def test_baseline_rxmit_history_midstream_row() -> None:
    # Zeek's baseline core.tcp.rxmit-history (conn-2.log) has a connection
    # joined midway: DdA, OTH, 463 and 350 bytes, 2 packets (567 IP bytes)
    # and 1 packet (402), duration 0.061329. Same shape, 32-byte TCP headers.
    c, w = ("141.142.220.118", 35634), ("208.80.152.2", 80)
    record = run(
        [
            _with_ip_len(seg(10.0, c, w, P | A, 7001, 9001, 463), 52 + 463),
            _with_ip_len(seg(10.030001, w, c, P | A, 9001, 7464, 350), 52 + 350),
            _with_ip_len(seg(10.061329, c, w, A, 7464, 9351), 52),
        ]
    )
    assert (record["history"], record["conn_state"]) == ("DdA", "OTH")
    assert (record["orig_bytes"], record["resp_bytes"]) == (463, 350)
    assert (record["orig_pkts"], record["orig_ip_bytes"]) == (2, 567)
    assert (record["resp_pkts"], record["resp_ip_bytes"]) == (1, 402)
    assert f"{record['duration']:.6f}" == "0.061329"


def test_baseline_lone_syn_ack_from_port_80() -> None:
    # The same baseline's last row: one SYN-ACK from port 80, flipped at
    # once: ^h, OTH, no duration or bytes, 0 and 1 packets (48 IP bytes).
    c, w = ("141.142.220.235", 6705), ("173.192.163.128", 80)
    record = run([_with_ip_len(seg(1.0, w, c, S | A, 5000, 1001), 48)])
    assert (record["history"], record["conn_state"]) == ("^h", "OTH")
    assert (record["id.orig_h"], record["id.orig_p"]) == ("141.142.220.235", 6705)
    assert (record["duration"], record["orig_bytes"], record["resp_bytes"]) == (None, None, None)
    assert (record["orig_pkts"], record["orig_ip_bytes"], record["resp_pkts"]) == (0, 0, 1)
    assert record["resp_ip_bytes"] == 48


def test_one_sided_syn_ack_ack_fin_is_flipped_with_every_packet_the_responders() -> None:
    # Zeek pull request 5047's trace one-sided-2745: only the responder ever
    # sends (SYN-ACK, ACK, FIN), no likely port; Zeek logs ^haf and, since
    # that fix, counts all three packets for the responder.
    x, y = ("245.181.165.133", 1433), ("247.180.123.139", 2745)
    record = run(
        [
            seg(0.0, x, y, S | A, 5000, 1001),
            seg(0.1, x, y, A, 5001, 1001),
            seg(0.2, x, y, F | A, 5001, 1001),
        ]
    )
    assert record["history"] == "^haf"
    assert (record["id.orig_h"], record["id.orig_p"]) == ("247.180.123.139", 2745)
    assert (record["orig_pkts"], record["resp_pkts"], record["resp_ip_bytes"]) == (0, 3, 120)
    assert record["conn_state"] == "SHR"
