"""The engine's optional behaviours (TcpConfig knobs), each against its RFC.

Same conventions as ``conftest``: we are at ISS, the peer at IRS; ``R`` is the
peer's first data octet (IRS+1). ``PLAIN`` keeps expected segments short;
each section turns on the one knob it tests.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from _closing_helpers import half_closed
from _opening_helpers import DELAYED, feed, fire, peer_syn_options
from conftest import (
    IRS,
    ISS,
    LPORT,
    MSS,
    PLAIN,
    RPORT,
    SYN_OPTS,
    WINDOW,
    events,
    in_state,
    make,
    ours,
    out,
    peer,
)

from synack.tcp import errors as err
from synack.tcp.config import TcpConfig
from synack.tcp.connection import Connection
from synack.tcp.events import (
    Connected,
    ConnectionClosed,
    ConnectionReset,
    DataReceived,
)
from synack.tcp.state import State
from synack.tcp.timewait import TimeWait, TimeWaitAction
from synack.wire.segment import (
    ACK,
    CE,
    CWR,
    ECE,
    ECT_0,
    FIN,
    NOP,
    NOT_ECT,
    PSH,
    RST,
    SACK_PERMITTED,
    SYN,
    MaxSegmentSize,
    Sack,
    Segment,
    Timestamps,
    WindowScale,
    options_length,
)

R = IRS + 1  # the peer's first data octet
DATA = bytes(range(256)) * 80  # 20480 octets


def ect(seg: Segment) -> Segment:
    """``seg`` as carried in an IP packet marked ECT(0)."""
    return replace(seg, ecn=ECT_0)


def marked(seg: Segment, ecn: int) -> Segment:
    return replace(seg, ecn=ecn)


def active_open(config: TcpConfig, synack: Segment, iss: int = ISS) -> Connection:
    """connect(), drain our SYN, take ``synack``, drain the reply and events."""
    conn = make(config)
    conn.connect(0.0, iss=iss)
    out(conn)
    conn.receive_segment(synack, 0.0)
    out(conn)
    events(conn)
    return conn


# ---------------------------------------------------------------------------
# 1. ECN (RFC 3168)
# ---------------------------------------------------------------------------

# NewReno's arithmetic (RFC 5681 eq. 4, FlightSize / 2) for the reductions below
ECN_ON = replace(PLAIN, ecn="on", congestion_control="newreno")
ECN_SYN = ours(SYN | ECE | CWR, ISS, options=SYN_OPTS)  # an ECN-setup SYN (6.1.1)
PLAIN_SYN = ours(SYN, ISS, options=SYN_OPTS)


def ecn_established(config: TcpConfig = ECN_ON, iss: int = ISS) -> Connection:
    """ESTABLISHED after an ECN-setup SYN answered by an ECN-setup SYN,ACK."""
    conn = active_open(config, peer(SYN | ACK | ECE, IRS, iss + 1, options=SYN_OPTS), iss)
    assert conn.state is State.ESTABLISHED
    assert conn.ecn_ok
    return conn


def test_ecn_on_syn_is_ecn_setup() -> None:
    # RFC 3168 6.1.1: an ECN-setup SYN has ECE and CWR; the SYN itself is not-ECT.
    conn = make(ECN_ON)
    conn.connect(0.0, iss=ISS)
    assert out(conn) == [ECN_SYN]


@pytest.mark.parametrize("mode", ["off", "passive"])
def test_ecn_off_or_passive_syn_is_plain(mode: str) -> None:
    # RFC 3168 6.1.1: only a host that asks for ECN sends an ECN-setup SYN.
    conn = make(replace(PLAIN, ecn=mode))
    conn.connect(0.0, iss=ISS)
    assert out(conn) == [PLAIN_SYN]


@pytest.mark.parametrize(
    ("retries", "expected"),
    [
        (0, [(1.0, [PLAIN_SYN]), (3.0, [PLAIN_SYN])]),
        (1, [(1.0, [ECN_SYN]), (3.0, [PLAIN_SYN]), (7.0, [PLAIN_SYN])]),
        (2, [(1.0, [ECN_SYN]), (3.0, [ECN_SYN]), (7.0, [PLAIN_SYN])]),
    ],
)
def test_ecn_syn_retries_then_plain_syn(retries: int, expected: list) -> None:
    # RFC 3168 6.1.1.1: after ``ecn_syn_retries`` lost ECN-setup SYNs, resend it plain.
    conn = make(replace(ECN_ON, ecn_syn_retries=retries))
    conn.connect(0.0, iss=ISS)
    assert out(conn) == [ECN_SYN]
    assert [fire(conn) for _ in expected] == expected


@pytest.mark.parametrize(
    ("mode", "flags", "ecn_ok"),
    [("off", SYN | ACK, False), ("passive", SYN | ACK | ECE, True), ("on", SYN | ACK | ECE, True)],
)
def test_ecn_answer_to_ecn_setup_syn(mode: str, flags: int, ecn_ok: bool) -> None:
    # RFC 3168 6.1.1: an ECN-setup SYN MAY be answered by an ECN-setup SYN,ACK (ECE only).
    conn = in_state(State.LISTEN, replace(PLAIN, ecn=mode))
    assert feed(conn, peer(SYN | ECE | CWR, IRS, options=SYN_OPTS)) == [
        ours(flags, ISS, IRS + 1, options=SYN_OPTS)
    ]
    assert conn.ecn_ok is ecn_ok


@pytest.mark.parametrize("flags", [SYN | ECE, SYN | CWR])
def test_ecn_answer_to_non_setup_syn_is_plain(flags: int) -> None:
    # RFC 3168 6.1.1: a SYN with only one of ECE/CWR is not ECN-setup; the
    # SYN,ACK "MUST NOT" be ECN-setup.
    conn = in_state(State.LISTEN, ECN_ON)
    assert feed(conn, peer(flags, IRS, options=SYN_OPTS)) == [
        ours(SYN | ACK, ISS, IRS + 1, options=SYN_OPTS)
    ]
    assert not conn.ecn_ok


def test_ecn_setup_syn_ack_agrees() -> None:
    # RFC 3168 6.1.1: SYN,ACK with ECE and without CWR after our ECN-setup SYN.
    conn = make(ECN_ON)
    conn.connect(0.0, iss=ISS)
    out(conn)
    assert feed(conn, peer(SYN | ACK | ECE, IRS, ISS + 1, options=SYN_OPTS)) == [
        ours(ACK, ISS + 1, IRS + 1)
    ]
    assert conn.state is State.ESTABLISHED
    assert conn.ecn_ok


@pytest.mark.parametrize("flags", [SYN | ACK, SYN | ACK | ECE | CWR])
def test_ecn_syn_ack_not_setup_disagrees(flags: int) -> None:
    # RFC 3168 6.1.1.2: a SYN,ACK reflecting both ECE and CWR is a broken peer,
    # not an agreement; a SYN,ACK without ECE declines.
    conn = active_open(ECN_ON, peer(flags, IRS, ISS + 1, options=SYN_OPTS))
    assert conn.state is State.ESTABLISHED
    assert not conn.ecn_ok
    conn.send(b"hello")
    assert out(conn) == [ours(ACK | PSH, ISS + 1, IRS + 1, payload=b"hello")]


def test_ecn_syn_ack_ece_without_our_asking() -> None:
    # RFC 3168 6.1.1: we sent no ECN-setup SYN (ecn="passive"): no ECN.
    conn = active_open(
        replace(PLAIN, ecn="passive"), peer(SYN | ACK | ECE, IRS, ISS + 1, options=SYN_OPTS)
    )
    assert not conn.ecn_ok


def test_ecn_no_agreement_after_plain_syn_retransmission() -> None:
    # "A host MUST NOT set ECT on data packets unless it has ... sent no
    # non-ECN-setup SYN or non-ECN-setup SYN-ACK packet" (RFC 3168 6.1.1).
    conn = make(replace(ECN_ON, ecn_syn_retries=0))
    conn.connect(0.0, iss=ISS)
    assert out(conn) == [ECN_SYN]
    assert fire(conn) == (1.0, [PLAIN_SYN])
    feed(conn, peer(SYN | ACK | ECE, IRS, ISS + 1, options=SYN_OPTS), 1.5)
    assert conn.state is State.ESTABLISHED
    conn.send(b"hello")
    assert out(conn, 1.5) == [ours(ACK | PSH, ISS + 1, IRS + 1, payload=b"hello")]
    assert not conn.ecn_ok


def test_ecn_new_data_ect_retransmission_not() -> None:
    # RFC 3168 6.1.2: new data is ECT(0); 6.1.5: retransmissions MUST NOT be ECT.
    conn = ecn_established()
    conn.send(b"hello")
    seg = ours(ACK | PSH, ISS + 1, IRS + 1, payload=b"hello")
    assert out(conn) == [ect(seg)]
    assert fire(conn) == (1.0, [seg])
    assert out(conn, 1.0) == []


def test_ecn_pure_ack_not_ect() -> None:
    # RFC 3168 6.1.4: pure ACKs MUST be sent not-ECT.
    conn = ecn_established()
    sent = feed(conn, peer(ACK, R, ISS + 1, payload=b"abc"))
    assert sent == [ours(ACK, ISS + 1, R + 3, window=WINDOW - 3)]
    assert sent[0].ecn == NOT_ECT


def test_ecn_ce_echoed_until_cwr() -> None:
    # RFC 3168 6.1.3: ECE on every ACK after a CE mark, until a CWR arrives.
    conn = ecn_established()
    ce = marked(peer(ACK, R, ISS + 1, payload=b"a" * 100), CE)
    assert feed(conn, ce) == [ours(ACK | ECE, ISS + 1, R + 100, window=WINDOW - 100)]
    plain = marked(peer(ACK, R + 100, ISS + 1, payload=b"b" * 100), ECT_0)
    assert feed(conn, plain) == [ours(ACK | ECE, ISS + 1, R + 200, window=WINDOW - 200)]
    cwr = marked(peer(ACK | CWR, R + 200, ISS + 1, payload=b"c" * 100), ECT_0)
    assert feed(conn, cwr) == [ours(ACK, ISS + 1, R + 300, window=WINDOW - 300)]
    later = marked(peer(ACK, R + 300, ISS + 1, payload=b"d" * 100), ECT_0)
    assert feed(conn, later) == [ours(ACK, ISS + 1, R + 400, window=WINDOW - 400)]


def test_ecn_ece_rides_on_data_too() -> None:
    # RFC 3168 6.1.3: our data segments acknowledge too, so they carry ECE as well.
    conn = ecn_established()
    feed(conn, marked(peer(ACK, R, ISS + 1, payload=b"a" * 100), CE))
    conn.send(b"reply")
    assert out(conn) == [
        ect(ours(ACK | ECE | PSH, ISS + 1, R + 100, window=WINDOW - 100, payload=b"reply"))
    ]


def test_ecn_ce_outside_window_ignored() -> None:
    # RFC 3168 6.1.5: the ECN field of an out-of-window packet SHOULD be ignored.
    conn = ecn_established()
    far = marked(peer(ACK, R + 70000, ISS + 1, payload=b"x" * 100), CE)
    assert feed(conn, far) == [ours(ACK, ISS + 1, R)]
    assert feed(conn, peer(ACK, R, ISS + 1, payload=b"y")) == [
        ours(ACK, ISS + 1, R + 1, window=WINDOW - 1)
    ]


def test_ecn_ce_ignored_without_ecn() -> None:
    # RFC 3168 6.1.1: without an agreement no ECE is ever sent.
    conn = in_state(State.ESTABLISHED)
    assert not conn.ecn_ok
    ce = marked(peer(ACK, R, ISS + 1, payload=b"a" * 100), CE)
    assert feed(conn, ce) == [ours(ACK, ISS + 1, R + 100, window=WINDOW - 100)]


def test_ecn_echo_halves_cwnd_once_per_window() -> None:
    # RFC 3168 6.1.2: halve cwnd and ssthresh (RFC 5681 eq. 4: FlightSize / 2),
    # and only once for ECEs from one window of data.
    conn = ecn_established(replace(ECN_ON, initial_window=10 * MSS))
    conn.send(DATA[: 10 * MSS])
    sent = out(conn)
    assert [(s.seq, len(s.payload), s.ecn) for s in sent] == [
        (ISS + 1 + i * MSS, MSS, ECT_0) for i in range(10)
    ]
    assert feed(conn, peer(ACK | ECE, R, ISS + 1 + MSS)) == []
    assert (conn.cc.cwnd, conn.cc.ssthresh) == (5 * MSS, 5 * MSS)
    # A second ECE for the same window of data: no second reduction.
    assert feed(conn, peer(ACK | ECE, R, ISS + 1 + 2 * MSS)) == []
    assert (conn.cc.cwnd, conn.cc.ssthresh) == (5 * MSS, 5 * MSS)


def test_ecn_echo_then_cwr_on_next_new_data() -> None:
    # RFC 3168 6.1.2: CWR on the first new data packet after the reduction, once.
    conn = ecn_established()
    conn.send(b"a" * 1000)
    assert out(conn) == [ect(ours(ACK | PSH, ISS + 1, IRS + 1, payload=b"a" * 1000))]
    assert feed(conn, peer(ACK | ECE, R, ISS + 1001)) == []
    assert (conn.cc.cwnd, conn.cc.ssthresh) == (2 * MSS, 2 * MSS)  # floor of eq. 4
    conn.send(b"b" * 100)
    assert out(conn) == [ect(ours(ACK | PSH | CWR, ISS + 1001, IRS + 1, payload=b"b" * 100))]
    assert feed(conn, peer(ACK, R, ISS + 1101)) == []
    conn.send(b"c" * 100)
    assert out(conn) == [ect(ours(ACK | PSH, ISS + 1101, IRS + 1, payload=b"c" * 100))]


def test_ecn_cwr_not_on_retransmission() -> None:
    # RFC 3168 6.1.2: "the CWR bit ... SHOULD NOT be set on retransmitted packets".
    conn = ecn_established()
    conn.send(b"a" * 1000)
    first = ours(ACK | PSH, ISS + 1, IRS + 1, payload=b"a" * 1000)
    assert out(conn) == [ect(first)]
    assert feed(conn, peer(ACK | ECE, R, ISS + 1)) == []  # ECE, nothing acknowledged
    assert fire(conn) == (1.0, [first])  # not-ECT, no CWR
    assert feed(conn, peer(ACK, R, ISS + 1001), 1.1) == []
    conn.send(b"b" * 100)
    assert out(conn, 1.1) == [ect(ours(ACK | PSH | CWR, ISS + 1001, IRS + 1, payload=b"b" * 100))]


def test_ecn_echo_ack_does_not_grow_cwnd() -> None:
    # "The sending TCP SHOULD NOT increase the congestion window in response
    # to the receipt of an ECN-Echo ACK packet" (RFC 3168 6.1.2).
    conn = ecn_established(replace(ECN_ON, initial_window=10 * MSS))
    conn.send(DATA[: 10 * MSS])
    out(conn)
    feed(conn, peer(ACK | ECE, R, ISS + 1 + 10 * MSS))
    assert (conn.cc.cwnd, conn.cc.ssthresh) == (5 * MSS, 5 * MSS)


def test_ecn_echo_reduces_with_high_iss() -> None:
    # RFC 3168 6.1.2: the first ECE always reduces, whatever the ISS.
    iss = 3_000_000_000
    conn = ecn_established(iss=iss)
    conn.send(b"a" * 1000)
    out(conn)
    feed(conn, peer(ACK | ECE, R, iss + 1001))
    assert conn.cc.ssthresh == 2 * MSS
    conn.send(b"b" * 100)
    assert [s.flags for s in out(conn)] == [ACK | PSH | CWR]


def test_ecn_cwr_after_retransmission_timeout() -> None:
    # "When an ECN-Capable TCP sender reduces its congestion window for any
    # reason (because of a retransmit timeout, a Fast Retransmit, or in response
    # to an ECN Notification), the TCP sender sets the CWR flag" (RFC 3168 6.1.2).
    conn = ecn_established()
    conn.send(b"a" * 100)
    out(conn)
    fire(conn)  # RTO: cwnd drops to one segment
    feed(conn, peer(ACK, R, ISS + 101), 1.1)
    conn.send(b"b" * 100)
    assert out(conn, 1.1) == [ect(ours(ACK | PSH | CWR, ISS + 101, IRS + 1, payload=b"b" * 100))]


# ---------------------------------------------------------------------------
# 2. SACK blocks (RFC 2018) and D-SACK (RFC 2883)
# ---------------------------------------------------------------------------

SACK_CFG = replace(PLAIN, sack=True)
SACK_SYN_OPTS = (MaxSegmentSize(MSS), SACK_PERMITTED)


def sack_established(config: TcpConfig = SACK_CFG) -> Connection:
    conn = active_open(config, peer(SYN | ACK, IRS, ISS + 1, options=SACK_SYN_OPTS))
    assert conn.sack_ok
    return conn


def sack(*blocks: tuple[int, int]) -> tuple:
    """The SACK option as the engine lays it out (RFC 2018 3): NOP, NOP, SACK."""
    return (NOP, NOP, Sack(tuple(blocks)))


def data(seq: int, size: int, flags: int = ACK) -> Segment:
    """``size`` octets of the peer's stream from ``seq``, acknowledging our SYN."""
    off = seq - R
    return peer(flags, seq, ISS + 1, payload=DATA[off : off + size])


def test_sack_blocks_most_recent_first() -> None:
    # RFC 2018 4: the first block holds the segment that triggered this ACK;
    # then the others, most recently changed first.
    conn = sack_established()
    b1, b2 = (R + 1000, R + 1100), (R + 2000, R + 2100)
    assert feed(conn, data(R + 1000, 100)) == [ours(ACK, ISS + 1, R, options=sack(b1))]
    assert feed(conn, data(R + 2000, 100)) == [ours(ACK, ISS + 1, R, options=sack(b2, b1))]
    # the segment extends the first block: it goes first again
    assert feed(conn, data(R + 1100, 100)) == [
        ours(ACK, ISS + 1, R, options=sack((R + 1000, R + 1200), b2))
    ]
    # the hole fills: RCV.NXT jumps, the remaining block stays
    assert feed(conn, data(R, 1000)) == [
        ours(ACK, ISS + 1, R + 1200, window=WINDOW - 1200, options=sack(b2))
    ]


def test_sack_at_most_four_blocks() -> None:
    # RFC 2018 3: without timestamps 4 blocks fit in the 40 option bytes.
    conn = sack_established()
    for i in range(5):
        sent = feed(conn, data(R + 1000 * (i + 1), 10))
    newest_first = [(R + 1000 * k, R + 1000 * k + 10) for k in (5, 4, 3, 2)]
    assert sent == [ours(ACK, ISS + 1, R, options=sack(*newest_first))]


def test_dsack_partly_below_rcv_nxt() -> None:
    # RFC 2883 4.1.1: the part below RCV.NXT is reported as the first block.
    conn = sack_established()
    assert feed(conn, data(R, 100)) == [ours(ACK, ISS + 1, R + 100, window=WINDOW - 100)]
    assert feed(conn, data(R + 50, 100)) == [
        ours(ACK, ISS + 1, R + 150, window=WINDOW - 150, options=sack((R + 50, R + 100)))
    ]
    assert conn.receive() == DATA[:150]


def test_dsack_overlapping_out_of_order_block() -> None:
    # RFC 2883 4.1.2: the duplicate part first, then the block that contains it.
    conn = sack_established()
    feed(conn, data(R + 1000, 100))
    assert feed(conn, data(R + 1050, 100)) == [
        ours(ACK, ISS + 1, R, options=sack((R + 1050, R + 1100), (R + 1000, R + 1150)))
    ]


def test_dsack_inside_out_of_order_block() -> None:
    # RFC 2883 4.1.2: a segment wholly inside a held block: that block second.
    conn = sack_established()
    feed(conn, data(R + 1000, 100))
    feed(conn, data(R + 3000, 100))
    assert feed(conn, data(R + 1020, 60)) == [
        ours(
            ACK,
            ISS + 1,
            R,
            options=sack((R + 1020, R + 1080), (R + 1000, R + 1100), (R + 3000, R + 3100)),
        )
    ]


def test_dsack_wholly_old_segment() -> None:
    # RFC 2883 4.1.1 / RFC 9293 3.10.7.4: an old duplicate is ACKed, with a D-SACK.
    conn = sack_established()
    feed(conn, data(R, 100))
    assert feed(conn, data(R, 100)) == [
        ours(ACK, ISS + 1, R + 100, window=WINDOW - 100, options=sack((R, R + 100)))
    ]


def test_dsack_sent_once() -> None:
    # RFC 2883 4: the D-SACK block reports one duplicate, in one ACK.
    conn = sack_established()
    feed(conn, data(R, 100))
    assert feed(conn, data(R, 100))[0].options == sack((R, R + 100))
    assert feed(conn, data(R + 100, 100)) == [ours(ACK, ISS + 1, R + 200, window=WINDOW - 200)]
    conn.send(b"x")
    assert out(conn) == [ours(ACK | PSH, ISS + 1, R + 200, window=WINDOW - 200, payload=b"x")]


def test_dsack_off_plain_ack() -> None:
    # TcpConfig(dsack=False): RFC 2018 alone; an old duplicate gets a bare ACK.
    conn = sack_established(replace(SACK_CFG, dsack=False))
    feed(conn, data(R, 100))
    assert feed(conn, data(R, 100)) == [ours(ACK, ISS + 1, R + 100, window=WINDOW - 100)]
    feed(conn, data(R + 1000, 100))
    assert feed(conn, data(R + 1050, 100)) == [
        ours(ACK, ISS + 1, R + 100, window=WINDOW - 100, options=sack((R + 1000, R + 1150)))
    ]


def test_dsack_not_delayed() -> None:
    # RFC 2883 4 / RFC 5681 4.2: a segment that brings a D-SACK is ACKed at once,
    # where the same small segment without a duplicate waits for the timer.
    conn = sack_established(replace(SACK_CFG, delayed_ack=True))
    assert feed(conn, data(R, 100)) == []
    assert conn.get_timer() == 0.2
    assert feed(conn, data(R + 50, 100)) == [
        ours(ACK, ISS + 1, R + 150, window=WINDOW - 150, options=sack((R + 50, R + 100)))
    ]
    assert feed(conn, data(R + 150, 100)) == []


# ---------------------------------------------------------------------------
# 3. ack_repeats_fin (FreeBSD)
# ---------------------------------------------------------------------------

REPEAT_FIN = replace(PLAIN, ack_repeats_fin=True)


@pytest.mark.parametrize(
    ("config", "flags", "seq"), [(PLAIN, ACK, ISS + 2), (REPEAT_FIN, FIN | ACK, ISS + 1)]
)
def test_ack_repeats_fin_in_fin_wait_1(config: TcpConfig, flags: int, seq: int) -> None:
    # While our FIN (ISS+1) is unacknowledged, the ACK of new data repeats it.
    conn = half_closed(State.FIN_WAIT_1, config)
    assert feed(conn, peer(ACK, R, ISS + 1, payload=b"data")) == [
        ours(flags, seq, R + 4, window=WINDOW - 4)
    ]
    assert conn.state is State.FIN_WAIT_1


@pytest.mark.parametrize(
    ("config", "flags", "seq"), [(PLAIN, ACK, ISS + 2), (REPEAT_FIN, FIN | ACK, ISS + 1)]
)
def test_ack_repeats_fin_in_last_ack(config: TcpConfig, flags: int, seq: int) -> None:
    # RFC 9293 3.10.7.4: a retransmitted FIN from the peer is ACKed; here with our FIN.
    conn = in_state(State.LAST_ACK, config)
    assert feed(conn, peer(FIN | ACK, IRS + 1, ISS + 1)) == [ours(flags, seq, IRS + 2)]
    assert conn.state is State.LAST_ACK


def test_ack_repeats_fin_not_once_acked() -> None:
    # Our FIN is acknowledged (FIN-WAIT-2): ACKs are ordinary again.
    conn = half_closed(State.FIN_WAIT_2, REPEAT_FIN)
    assert feed(conn, peer(ACK, R, ISS + 2, payload=b"data")) == [
        ours(ACK, ISS + 2, R + 4, window=WINDOW - 4)
    ]


@pytest.mark.parametrize("flags", [RST, SYN])
def test_ack_repeats_fin_challenge_ack_is_bare(flags: int) -> None:
    # RFC 5961 3.2 and 4.2: the challenge ACK is <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>,
    # never the FIN-repeating ACK.
    conn = half_closed(State.FIN_WAIT_1, REPEAT_FIN)
    assert feed(conn, peer(flags, R + 10)) == [ours(ACK, ISS + 2, R)]
    assert conn.state is State.FIN_WAIT_1
    assert conn.stats.challenge_acks == 1


# ---------------------------------------------------------------------------
# 4. old_segment_acks (BSD): the ACK field of a wholly old segment
# ---------------------------------------------------------------------------

OLD_ACKS = replace(PLAIN, old_segment_acks=True)


def test_old_segment_acks_last_ack_closes() -> None:
    # RFC 9293 3.10.7.4 fifth, LAST-ACK: the ACK of our FIN deletes the TCB;
    # here it rides on a segment at SEG.SEQ = RCV.NXT - 1.
    conn = in_state(State.LAST_ACK, OLD_ACKS)
    assert feed(conn, peer(ACK, IRS + 1, ISS + 2)) == []
    assert conn.state is State.CLOSED
    assert events(conn) == [ConnectionClosed()]


def test_old_segment_acks_retransmitted_fin_acking_ours_closes() -> None:
    # A peer that repeats its FIN with an ACK of ours is heard too.
    conn = in_state(State.LAST_ACK, OLD_ACKS)
    assert feed(conn, peer(FIN | ACK, IRS + 1, ISS + 2)) == []
    assert conn.state is State.CLOSED
    assert events(conn) == [ConnectionClosed()]


def test_old_segment_acks_closing_enters_time_wait() -> None:
    # RFC 9293 3.10.7.4 fifth, CLOSING: enter TIME-WAIT; the peer's FIN was
    # ACKed already, so no ACK goes out.
    conn = in_state(State.CLOSING, OLD_ACKS)
    assert feed(conn, peer(ACK, IRS + 1, ISS + 2)) == []
    assert conn.state is State.TIME_WAIT
    assert conn.get_timer() == 2 * PLAIN.msl
    assert events(conn) == []


def test_old_segment_acks_without_ack_of_fin_resynchronizes() -> None:
    # Nothing new in its ACK: still answered as RFC 9293 3.10.7.4 first says.
    conn = in_state(State.LAST_ACK, OLD_ACKS)
    assert feed(conn, peer(ACK, IRS + 1, ISS + 1)) == [ours(ACK, ISS + 2, IRS + 2)]
    assert conn.state is State.LAST_ACK


@pytest.mark.parametrize("state", [State.LAST_ACK, State.CLOSING])
def test_old_segment_acks_off_drops(state: State) -> None:
    # Default: RFC 9293 3.10.7.4 first: unacceptable, send an ACK and drop it.
    conn = in_state(state)
    assert feed(conn, peer(ACK, IRS + 1, ISS + 2)) == [ours(ACK, ISS + 2, IRS + 2)]
    assert conn.state is state
    assert events(conn) == []


# ---------------------------------------------------------------------------
# 5. RFC 5961 on and off
# ---------------------------------------------------------------------------

NO_5961_RST = replace(PLAIN, rfc5961_rst=False)
NO_5961_SYN = replace(PLAIN, rfc5961_syn=False)


@pytest.mark.parametrize("offset", [0, 100, WINDOW - 1])
def test_rfc5961_rst_off_any_rst_in_window_resets(offset: int) -> None:
    # RFC 9293 3.10.7.4 second (without RFC 5961): any RST in the window resets.
    conn = in_state(State.ESTABLISHED, NO_5961_RST)
    assert feed(conn, peer(RST, R + offset)) == []
    assert conn.state is State.CLOSED
    assert events(conn) == [ConnectionReset(err.CONNECTION_RESET)]


def test_rfc5961_rst_in_window_challenge_ack() -> None:
    # RFC 5961 3.2: in the window but not RCV.NXT: challenge ACK, stay.
    conn = in_state(State.ESTABLISHED)
    assert feed(conn, peer(RST, R + 100)) == [ours(ACK, ISS + 1, R)]
    assert conn.state is State.ESTABLISHED
    assert events(conn) == []
    assert feed(conn, peer(RST, R)) == []
    assert conn.state is State.CLOSED
    assert events(conn) == [ConnectionReset(err.CONNECTION_RESET)]


@pytest.mark.parametrize("config", [PLAIN, NO_5961_RST])
def test_rst_outside_window_dropped(config: TcpConfig) -> None:
    # RFC 9293 3.10.7.4 first: an unacceptable RST is dropped, unanswered.
    conn = in_state(State.ESTABLISHED, config)
    assert feed(conn, peer(RST, R + WINDOW)) == []
    assert conn.state is State.ESTABLISHED


def test_rfc5961_syn_off_in_window_resets() -> None:
    # RFC 9293 3.10.7.4 fourth, before RFC 5961: a SYN in the window is an error.
    conn = in_state(State.ESTABLISHED, NO_5961_SYN)
    assert feed(conn, peer(SYN, R + 100)) == [ours(RST | ACK, ISS + 1, R, window=0)]
    assert conn.state is State.CLOSED
    assert events(conn) == [ConnectionReset(err.CONNECTION_RESET)]


def test_rfc5961_syn_in_window_challenge_ack() -> None:
    # RFC 5961 4.2: a SYN in a synchronized state draws a challenge ACK.
    conn = in_state(State.ESTABLISHED)
    assert feed(conn, peer(SYN, R + 100)) == [ours(ACK, ISS + 1, R)]
    assert conn.state is State.ESTABLISHED
    assert events(conn) == []


@pytest.mark.parametrize("config", [PLAIN, NO_5961_SYN])
@pytest.mark.parametrize("seq", [R + WINDOW, IRS - 1000])
def test_syn_outside_window_challenge_ack(config: TcpConfig, seq: int) -> None:
    # RFC 5961 4.2 ("irrespective of the sequence number") and RFC 9293 3.10.7.4
    # first: outside the window it is an ACK either way, never a reset.
    conn = in_state(State.ESTABLISHED, config)
    assert feed(conn, peer(SYN, seq)) == [ours(ACK, ISS + 1, R)]
    assert conn.state is State.ESTABLISHED


# ---------------------------------------------------------------------------
# 6. tcp_options=False (TCP_NOOPT) and RFC 6928's initial window
# ---------------------------------------------------------------------------

NOOPT = TcpConfig(tcp_options=False, delayed_ack=False, mss=MSS, recv_buffer=256 * 1024)


def test_tcp_options_off_syn_has_none() -> None:
    # TCP_NOOPT: not even MSS (the peer assumes 536, RFC 9293 3.7.1).
    conn = make(NOOPT)
    conn.connect(0.0, iss=ISS)
    assert out(conn) == [ours(SYN, ISS, window=65535)]


def test_tcp_options_off_ignores_peer_options() -> None:
    # Window scale, timestamps and SACK-permitted are not taken; MSS still is.
    conn = make(NOOPT)
    conn.connect(0.0, iss=ISS)
    out(conn)
    assert feed(conn, peer(SYN | ACK, IRS, ISS + 1, options=peer_syn_options())) == [
        ours(ACK, ISS + 1, IRS + 1, window=65535)
    ]
    assert (conn.ws_ok, conn.ts_ok, conn.sack_ok) == (False, False, False)
    assert conn.snd_mss == MSS
    feed(conn, peer(ACK, R, ISS + 1, window=100))
    assert conn.snd_wnd == 100  # unscaled


def test_tcp_options_off_passive_syn_ack_has_none() -> None:
    conn = in_state(State.LISTEN, NOOPT)
    assert feed(conn, peer(SYN, IRS, options=peer_syn_options())) == [
        ours(SYN | ACK, ISS, IRS + 1, window=65535)
    ]
    assert (conn.ws_ok, conn.ts_ok, conn.sack_ok) == (False, False, False)


@pytest.mark.parametrize(
    ("our_mss", "peer_mss", "cwnd"),
    [
        (1460, 1460, 14600),  # min(14600, max(2920, 14600))
        (1460, 536, 5360),  # min(5360, max(1072, 14600))
        (9000, 9000, 18000),  # min(90000, max(18000, 14600))
    ],
)
def test_initial_window_rfc6928(our_mss: int, peer_mss: int, cwnd: int) -> None:
    # RFC 6928 2: IW = min(10*MSS, max(2*MSS, 14600)).
    config = replace(PLAIN, mss=our_mss, initial_window_rfc6928=True)
    conn = active_open(config, peer(SYN | ACK, IRS, ISS + 1, options=(MaxSegmentSize(peer_mss),)))
    assert conn.cc.cwnd == cwnd


def test_initial_window_rfc6928_first_flight() -> None:
    # Ten full segments go out before the first ACK (RFC 5681 3.1 would allow 3).
    conn = in_state(State.ESTABLISHED, replace(PLAIN, initial_window_rfc6928=True))
    conn.send(DATA[: 12 * MSS])
    assert [(s.seq, len(s.payload)) for s in out(conn)] == [
        (ISS + 1 + i * MSS, MSS) for i in range(10)
    ]


def test_initial_window_rfc6928_with_timestamps() -> None:
    # RFC 6928 2 counts MSS as the segment's payload: 1460 - 12 timestamp octets.
    config = replace(PLAIN, timestamps=True, initial_window_rfc6928=True)
    opts = (MaxSegmentSize(MSS), NOP, NOP, Timestamps(7000, ISS))
    conn = active_open(config, peer(SYN | ACK, IRS, ISS + 1, options=opts))
    assert conn.ts_ok
    assert conn.cc.cwnd == 10 * (MSS - 12)


# ---------------------------------------------------------------------------
# 7. delayed_ack_full_segments_only
# ---------------------------------------------------------------------------


def test_delayed_ack_any_two_segments() -> None:
    # Off: every second segment of any size is ACKed at once (BSD).
    conn = in_state(State.ESTABLISHED, replace(DELAYED, delayed_ack_full_segments_only=False))
    assert feed(conn, data(R, 100)) == []
    assert feed(conn, data(R + 100, 100)) == [ours(ACK, ISS + 1, R + 200, window=WINDOW - 200)]


def test_delayed_ack_full_segments_only_default() -> None:
    # RFC 5681 4.2: an ACK for every second full-sized segment; small ones wait
    # for the delayed-ACK timer (RFC 9293 3.8.6.3: under 0.5 s).
    conn = in_state(State.ESTABLISHED, DELAYED)
    assert feed(conn, data(R, 100)) == []
    assert feed(conn, data(R + 100, 100)) == []
    assert fire(conn) == (0.2, [ours(ACK, ISS + 1, R + 200, window=WINDOW - 200)])


# ---------------------------------------------------------------------------
# 8. round_recv_buffer_to_mss (FreeBSD)
# ---------------------------------------------------------------------------

ROUND = replace(PLAIN, recv_buffer=65536, round_recv_buffer_to_mss=True)


@pytest.mark.parametrize(
    ("peer_opts", "rounded"),
    [((MaxSegmentSize(1460),), 65700), ((MaxSegmentSize(1000),), 66000), ((), 65928)],
)
def test_round_recv_buffer_active(peer_opts: tuple, rounded: int) -> None:
    # Up to a multiple of the MSS in use (536 when the peer sends none, RFC 9293 3.7.1).
    conn = make(ROUND)
    assert conn.recv_buffer == 65536
    conn.connect(0.0, iss=ISS)
    out(conn)
    feed(conn, peer(SYN | ACK, IRS, ISS + 1, options=peer_opts))
    assert conn.state is State.ESTABLISHED
    assert conn.recv_buffer == rounded


def test_round_recv_buffer_passive() -> None:
    conn = in_state(State.LISTEN, ROUND)
    feed(conn, peer(SYN, IRS, options=(MaxSegmentSize(1460),)))
    assert conn.recv_buffer == 65700


def test_round_recv_buffer_off() -> None:
    conn = in_state(State.ESTABLISHED, replace(ROUND, round_recv_buffer_to_mss=False))
    assert conn.recv_buffer == 65536


# ---------------------------------------------------------------------------
# 9. RCV.WND beyond the unscaled window field
# ---------------------------------------------------------------------------

BIG = replace(PLAIN, recv_buffer=65700, rfc5961_rst=False)


@pytest.mark.parametrize(("offset", "state"), [(65699, State.CLOSED), (65700, State.ESTABLISHED)])
def test_rcv_wnd_is_free_space_rst(offset: int, state: State) -> None:
    # RFC 9293 3.10.7.4: RCV.WND is what we can take (65700), though the 16-bit
    # field says 65535: a RST at its last octet resets, one past it is dropped.
    conn = in_state(State.ESTABLISHED, BIG)
    assert feed(conn, peer(RST, R + offset)) == []
    assert conn.state is state
    reset = [ConnectionReset(err.CONNECTION_RESET)] if state is State.CLOSED else []
    assert events(conn) == reset


def test_rcv_wnd_is_free_space_ack_acceptability() -> None:
    # RFC 9293 3.10.7.4 first: a bare ACK inside passes silently, outside draws an ACK.
    conn = in_state(State.ESTABLISHED, BIG)
    assert feed(conn, peer(ACK, R + 65699, ISS + 1)) == []
    assert feed(conn, peer(ACK, R + 65700, ISS + 1)) == [ours(ACK, ISS + 1, R)]


# ---------------------------------------------------------------------------
# 10. text on a SYN in a simultaneous open
# ---------------------------------------------------------------------------


def test_simultaneous_open_syn_text_held_until_established() -> None:
    # RFC 9293 3.10.7.3 fourth: queue the SYN's text until ESTABLISHED; the
    # SYN,ACK <SEQ=ISS><ACK=RCV.NXT> acknowledges only the SYN.
    conn = in_state(State.SYN_SENT)
    assert feed(conn, peer(SYN, IRS, options=SYN_OPTS, payload=b"hello")) == [
        ours(SYN | ACK, ISS, IRS + 1, options=SYN_OPTS)
    ]
    assert conn.state is State.SYN_RECEIVED
    assert events(conn) == []
    assert conn.receive() == b""
    assert feed(conn, peer(ACK, IRS + 6, ISS + 1)) == [
        ours(ACK, ISS + 1, IRS + 6, window=WINDOW - 5)
    ]
    assert conn.state is State.ESTABLISHED
    assert events(conn) == [Connected(), DataReceived(5)]
    assert conn.receive() == b"hello"


# ---------------------------------------------------------------------------
# 11. SYN option order and alignment
# ---------------------------------------------------------------------------

ALIGNED = TcpConfig(
    syn_option_order=("mss", "nop", "wscale", "sackOK", "TS"),
    sack=False,
    delayed_ack=False,
    mss=MSS,
    recv_buffer=256 * 1024,  # window scale 3
)


def our_syn(config: TcpConfig) -> Segment:
    conn = make(config)
    conn.connect(0.0, iss=ISS)
    (syn,) = out(conn)
    return syn


def test_syn_options_aligned_without_sack() -> None:
    # RFC 7323 appendix A: NOP, NOP before TS so that it ends on a 32-bit boundary.
    syn = our_syn(ALIGNED)
    assert syn == ours(
        SYN,
        ISS,
        options=(MaxSegmentSize(MSS), NOP, WindowScale(3), NOP, NOP, Timestamps(ISS, 0)),
    )
    assert options_length(syn.options) == 20


def test_syn_options_aligned_with_sack() -> None:
    # SACK-permitted's 2 octets already align TS (RFC 2018 2, RFC 7323 appendix A).
    syn = our_syn(replace(ALIGNED, sack=True))
    assert syn == ours(
        SYN,
        ISS,
        options=(MaxSegmentSize(MSS), NOP, WindowScale(3), SACK_PERMITTED, Timestamps(ISS, 0)),
    )
    assert options_length(syn.options) == 20


def test_syn_ack_options_drop_nop_of_missing_wscale() -> None:
    # RFC 7323 1.3 / RFC 2018 2: a SYN,ACK offers only what the SYN did; the NOP
    # that padded the window scale option goes with it.
    conn = in_state(State.LISTEN, replace(ALIGNED, sack=True))
    assert feed(conn, peer(SYN, IRS, options=(MaxSegmentSize(MSS), SACK_PERMITTED))) == [
        ours(SYN | ACK, ISS, IRS + 1, options=(MaxSegmentSize(MSS), SACK_PERMITTED))
    ]


def test_syn_ack_options_all_offered() -> None:
    conn = in_state(State.LISTEN, replace(ALIGNED, sack=True))
    assert feed(conn, peer(SYN, IRS, options=peer_syn_options())) == [
        ours(
            SYN | ACK,
            ISS,
            IRS + 1,
            options=(
                MaxSegmentSize(MSS),
                NOP,
                WindowScale(3),
                SACK_PERMITTED,
                Timestamps(ISS, 7000),
            ),
        )
    ]


def test_syn_ack_options_timestamps_only() -> None:
    # Only TS offered: two NOPs align it after the MSS.
    conn = in_state(State.LISTEN, replace(ALIGNED, sack=True))
    offer = (MaxSegmentSize(MSS), NOP, NOP, Timestamps(7000, 0))
    assert feed(conn, peer(SYN, IRS, options=offer)) == [
        ours(
            SYN | ACK, ISS, IRS + 1, options=(MaxSegmentSize(MSS), NOP, NOP, Timestamps(ISS, 7000))
        )
    ]


# ---------------------------------------------------------------------------
# 12. The TIME-WAIT record (RFC 9293 3.10.7.4, RFC 5961, RFC 6191)
# ---------------------------------------------------------------------------

TW_ACK = ours(ACK, ISS + 2, IRS + 2)  # <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
TW_EXPIRES = 2 * PLAIN.msl


def record(config: TcpConfig = PLAIN) -> TimeWait:
    """TIME-WAIT after our FIN (ISS+1) and the peer's (IRS+1), entered at time 0."""
    return TimeWait(config, LPORT, RPORT, ISS + 2, IRS + 2, WINDOW, None, 0, TW_EXPIRES)


@pytest.mark.parametrize(
    "seg",
    [peer(0, IRS + 2, payload=b"x"), peer(FIN, IRS + 1), peer(PSH, IRS + 2, payload=b"y")],
)
def test_time_wait_record_no_ack_dropped(seg: Segment) -> None:
    # RFC 9293 3.10.7.4 fifth: "if the ACK bit is off, drop the segment".
    tw = record()
    assert tw.segment_arrives(seg, 10.0) == ([], TimeWaitAction.NONE)
    assert tw.expires == TW_EXPIRES


def test_time_wait_record_expected_ack_silent() -> None:
    # The bare ACK of our FIN, exactly at the edges: nothing to answer.
    tw = record()
    assert tw.segment_arrives(peer(ACK, IRS + 2, ISS + 2), 10.0) == ([], TimeWaitAction.NONE)


@pytest.mark.parametrize("seg", [peer(ACK, IRS + 100, ISS + 2), peer(ACK, IRS + 2, ISS + 1)])
def test_time_wait_record_other_ack_answered(seg: Segment) -> None:
    # In the window but not where we stand: tell the peer with an ACK.
    tw = record()
    assert tw.segment_arrives(seg, 10.0) == ([TW_ACK], TimeWaitAction.NONE)
    assert tw.expires == TW_EXPIRES


def test_time_wait_record_out_of_window_ack_answered() -> None:
    # RFC 9293 3.10.7.4 first: unacceptable, send an ACK.
    tw = record()
    assert tw.segment_arrives(peer(ACK, IRS + 2 + WINDOW, ISS + 2), 10.0) == (
        [TW_ACK],
        TimeWaitAction.NONE,
    )


def test_time_wait_record_retransmitted_fin() -> None:
    # RFC 9293 3.10.7.4 eighth, TIME-WAIT: acknowledge it, restart the 2 MSL timeout.
    tw = record()
    assert tw.segment_arrives(peer(FIN | ACK, IRS + 1, ISS + 2), 100.0) == (
        [TW_ACK],
        TimeWaitAction.NONE,
    )
    assert tw.expires == 100.0 + 2 * PLAIN.msl


@pytest.mark.parametrize("flags", [SYN | FIN, SYN | FIN | ACK])
def test_time_wait_record_syn_fin_never_reopens(flags: int) -> None:
    # A SYN with a FIN is no new connection (RFC 6191 only for a plain SYN).
    tw = record()
    assert tw.segment_arrives(peer(flags, IRS + 1000, ISS + 2), 10.0) == (
        [TW_ACK],
        TimeWaitAction.NONE,
    )
    assert tw.expires == TW_EXPIRES


def test_time_wait_record_syn_above_rcv_nxt_reopens() -> None:
    # RFC 9293 3.10.7.4 (RFC 1122 4.2.2.13, RFC 6191): a SYN above RCV.NXT may
    # start a new incarnation.
    tw = record()
    assert tw.segment_arrives(peer(SYN, IRS + 1000), 10.0) == ([], TimeWaitAction.REOPEN)


@pytest.mark.parametrize("seq", [IRS + 2, IRS - 1000])
def test_time_wait_record_old_syn_challenge_ack(seq: int) -> None:
    # RFC 5961 4.2: a SYN that cannot reopen draws a challenge ACK.
    tw = record()
    assert tw.segment_arrives(peer(SYN, seq), 10.0) == ([TW_ACK], TimeWaitAction.NONE)
