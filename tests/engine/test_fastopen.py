"""TCP Fast Open (RFC 7413) in the engine: exact segments and states, server and client.

The server's key is packetdrill's (run_all.py sets it with the sysctl), the
cookie Linux's SipHash; the connection under test is at LOCAL, the peer at REMOTE.
"""

from __future__ import annotations

from dataclasses import replace

from _opening_helpers import FULL, FULL_WSCALE, ts_val
from conftest import IRS, ISS, LOCAL, MSS, PLAIN, REMOTE, events, ours, out, peer

from synack.tcp.config import TcpConfig
from synack.tcp.connection import Connection
from synack.tcp.events import Connected, ConnectionReset, DataReceived
from synack.tcp.fastopen import CookieCache, CookieJar, FastOpenState, make_cookie
from synack.tcp.state import State
from synack.wire.segment import (
    ACK,
    FIN,
    NOP,
    PSH,
    RST,
    SACK_PERMITTED,
    SYN,
    FastOpen,
    FastOpenExp,
    MaxSegmentSize,
    Timestamps,
    WindowScale,
)

KEY_TEXT = "a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4"
KEY = bytes.fromhex("a1a1a1a1b2b2b2b2c3c3c3c3d4d4d4d4")
OLD_KEY = bytes(range(16))
SERVER = replace(
    PLAIN, fastopen_server=True, fastopen_key=KEY_TEXT, fastopen_cookie_algorithm="siphash"
)
CLIENT = replace(PLAIN, fastopen_client=True)
# the cookie the server (LOCAL) gives the peer (REMOTE): client address first
COOKIE = make_cookie("siphash", KEY, REMOTE[0].packed, LOCAL[0].packed)
MSS_OPT = MaxSegmentSize(MSS)
REQUEST = b"GET / HTTP/1.0\r\n\r\n"


def server(config: TcpConfig = SERVER) -> Connection:
    conn = Connection(LOCAL, REMOTE, config)
    conn.listen(0.0, iss=ISS)
    return conn


def client(cookie: bytes | None = None, mss: int | None = MSS, **kw: bool) -> Connection:
    cache = CookieCache()
    if cookie is not None:
        cache.store(REMOTE[0], cookie, mss, False)
    conn = Connection(LOCAL, REMOTE, CLIENT)
    conn.fastopen = FastOpenState.client(cache, REMOTE[0], **kw)
    conn.connect(0.0, iss=ISS)
    return conn


def test_the_cookie_is_linux_siphash_of_the_two_addresses() -> None:
    assert make_cookie("siphash", KEY, bytes([10, 0, 0, 2]), bytes([10, 0, 0, 1])) == COOKIE
    assert make_cookie("siphash", KEY, LOCAL[0].packed, REMOTE[0].packed) != COOKIE
    assert len(make_cookie("blake2s", KEY, b"\x01" * 4, b"\x02" * 4)) == 8


# -- server ---------------------------------------------------------------------
def test_cookie_request_is_granted_in_the_syn_ack() -> None:
    conn = server()
    conn.receive_segment(peer(SYN, IRS, options=(MSS_OPT, FastOpen())), 0.0)
    # RFC 7413 4.1.2: the SYN,ACK carries a fresh cookie, aligned with NOPs
    assert out(conn) == [
        ours(SYN | ACK, ISS, IRS + 1, options=(MSS_OPT, FastOpen(COOKIE), NOP, NOP))
    ]
    assert conn.state is State.SYN_RECEIVED
    assert not conn.stats.syn_data_acked


def test_experimental_request_is_answered_in_the_experimental_option() -> None:
    conn = server()
    conn.receive_segment(peer(SYN, IRS, options=(MSS_OPT, FastOpenExp())), 0.0)
    assert out(conn) == [ours(SYN | ACK, ISS, IRS + 1, options=(MSS_OPT, FastOpenExp(COOKIE)))]


def test_data_in_syn_with_valid_cookie_is_delivered_before_the_third_ack() -> None:
    conn = server()
    syn = peer(SYN, IRS, options=(MSS_OPT, FastOpen(COOKIE), NOP, NOP), payload=REQUEST)
    conn.receive_segment(syn, 0.0)
    # RFC 7413 4.2.2: the SYN,ACK acknowledges SYN and text; no cookie (it was good)
    n = len(REQUEST)
    assert out(conn) == [ours(SYN | ACK, ISS, IRS + 1 + n, window=65535 - n, options=(MSS_OPT,))]
    assert conn.state is State.SYN_RECEIVED
    assert events(conn) == [DataReceived(n)]
    assert conn.receive() == REQUEST
    assert conn.stats.syn_data_acked
    # the server may answer before the handshake completes
    conn.send(b"reply")
    assert out(conn) == [ours(ACK | PSH, ISS + 1, IRS + 1 + n, payload=b"reply")]
    conn.receive_segment(peer(ACK, IRS + 1 + n, ISS + 6), 0.05)
    assert conn.state is State.ESTABLISHED
    assert events(conn) == [Connected()]
    assert conn.snd_una == ISS + 6


def test_invalid_cookie_ignores_the_data_and_sends_a_fresh_cookie() -> None:
    conn = server()
    syn = peer(SYN, IRS, options=(MSS_OPT, FastOpen(b"\x00" * 8), NOP, NOP), payload=REQUEST)
    conn.receive_segment(syn, 0.0)
    assert out(conn) == [
        ours(SYN | ACK, ISS, IRS + 1, options=(MSS_OPT, FastOpen(COOKIE), NOP, NOP))
    ]
    assert conn.state is State.SYN_RECEIVED
    assert events(conn) == []
    assert conn.receive_queued == 0
    assert not conn.stats.syn_data_acked


def test_backup_key_still_accepted_and_the_primary_cookie_is_sent() -> None:
    jar = CookieJar(OLD_KEY, algorithm="siphash")
    old_cookie = jar.make(REMOTE[0].packed, LOCAL[0].packed)
    jar.rotate(KEY)  # the old key becomes the backup
    assert (jar.primary, jar.backup) == (KEY, OLD_KEY)
    conn = Connection(LOCAL, REMOTE, SERVER)
    conn.fastopen = FastOpenState.server_side(jar)
    conn.listen(0.0, iss=ISS)
    syn = peer(SYN, IRS, options=(MSS_OPT, FastOpen(old_cookie), NOP, NOP), payload=b"hi")
    conn.receive_segment(syn, 0.0)
    assert out(conn) == [
        ours(SYN | ACK, ISS, IRS + 3, window=65533, options=(MSS_OPT, FastOpen(COOKIE), NOP, NOP))
    ]
    assert conn.receive() == b"hi"
    jar.rotate(bytes(16))  # rotated twice: the old cookie is no longer good
    assert jar.check(old_cookie, REMOTE[0].packed, LOCAL[0].packed) == 0
    assert jar.check(COOKIE, REMOTE[0].packed, LOCAL[0].packed) == 2


def test_cookie_not_required_takes_data_without_a_cookie() -> None:
    conn = server(replace(SERVER, fastopen_cookie_required=False))
    conn.receive_segment(peer(SYN, IRS, options=(MSS_OPT,), payload=b"abc"), 0.0)
    assert out(conn) == [ours(SYN | ACK, ISS, IRS + 4, window=65532, options=(MSS_OPT,))]
    assert conn.receive() == b"abc"


def test_fast_open_off_behaves_as_before() -> None:
    conn = server(PLAIN)
    syn = peer(SYN, IRS, options=(MSS_OPT, FastOpen(COOKIE), NOP, NOP), payload=REQUEST)
    conn.receive_segment(syn, 0.0)
    assert out(conn) == [ours(SYN | ACK, ISS, IRS + 1, options=(MSS_OPT,))]
    assert conn.fastopen is None
    assert conn.receive_queued == 0


def test_server_with_fast_open_disabled_for_this_syn() -> None:
    # a Host whose listener's Fast Open queue is full hands a state with no jar
    conn = Connection(LOCAL, REMOTE, SERVER)
    conn.fastopen = FastOpenState.server_side(None)
    conn.listen(0.0, iss=ISS)
    syn = peer(SYN, IRS, options=(MSS_OPT, FastOpen(COOKIE), NOP, NOP), payload=REQUEST)
    conn.receive_segment(syn, 0.0)
    assert out(conn) == [ours(SYN | ACK, ISS, IRS + 1, options=(MSS_OPT,))]


# -- client ---------------------------------------------------------------------
def test_no_cookie_cached_asks_for_one_and_caches_the_answer() -> None:
    conn = client()
    conn.send(REQUEST)
    # RFC 7413 4.1.3: a cookie request, and no data on the SYN
    assert out(conn) == [ours(SYN, ISS, options=(MSS_OPT, FastOpen(), NOP, NOP))]
    synack = peer(SYN | ACK, IRS, ISS + 1, options=(MaxSegmentSize(1400), FastOpen(COOKIE)))
    conn.receive_segment(synack, 0.1)
    assert conn.fastopen is not None and conn.fastopen.cache is not None
    assert conn.fastopen.cache.cookie(REMOTE[0]) == COOKIE
    assert conn.fastopen.cache.get(REMOTE[0]).mss == 1400  # type: ignore[union-attr]
    # the data follows the handshake and carries its ACK
    assert out(conn, 0.1) == [ours(ACK | PSH, ISS + 1, IRS + 1, payload=REQUEST)]
    assert conn.state is State.ESTABLISHED
    assert not conn.stats.syn_data_acked


def test_cached_cookie_sends_data_in_the_syn() -> None:
    conn = client(COOKIE)
    data = bytes(range(256)) * 8  # 2048: more than one SYN holds
    conn.send(data)
    room = MSS - 40  # Linux keeps 40 bytes for options
    assert out(conn) == [
        ours(SYN, ISS, payload=data[:room], options=(MSS_OPT, FastOpen(COOKIE), NOP, NOP))
    ]
    assert conn.snd_nxt == ISS + 1 + room
    conn.receive_segment(peer(SYN | ACK, IRS, ISS + 1 + room, options=(MSS_OPT,)), 0.1)
    assert conn.state is State.ESTABLISHED
    assert conn.stats.syn_data_acked
    assert out(conn, 0.1) == [ours(ACK | PSH, ISS + 1 + room, IRS + 1, payload=data[room:])]
    assert conn.stats.retransmitted_segments == 0


def test_syn_data_is_bounded_by_the_cached_mss() -> None:
    conn = client(COOKIE, mss=500)
    conn.send(bytes(1000))
    assert [len(s.payload) for s in out(conn)] == [460]


def test_syn_data_not_acked_is_resent_after_the_handshake() -> None:
    conn = client(COOKIE)
    conn.send(REQUEST)
    n = len(REQUEST)
    assert out(conn)[0].payload == REQUEST
    # RFC 7413 4.2.1: the server took only the SYN (and gave a new cookie)
    fresh = b"\x11" * 8
    conn.receive_segment(peer(SYN | ACK, IRS, ISS + 1, options=(MSS_OPT, FastOpen(fresh))), 0.1)
    assert conn.state is State.ESTABLISHED
    assert out(conn, 0.1) == [ours(ACK | PSH, ISS + 1, IRS + 1, payload=REQUEST)]
    assert conn.stats.retransmitted_segments == 1
    assert not conn.stats.syn_data_acked
    assert conn.fastopen is not None and conn.fastopen.cache is not None
    assert conn.fastopen.cache.cookie(REMOTE[0]) == fresh
    conn.receive_segment(peer(ACK, IRS + 1, ISS + 1 + n), 0.2)
    assert conn.snd_una == ISS + 1 + n and conn.send_queued == 0


def test_syn_timeout_resends_the_syn_without_data_or_option() -> None:
    conn = client(COOKIE)
    conn.send(REQUEST)
    assert out(conn)[0].payload == REQUEST
    conn.handle_timer(1.0)  # the initial RTO (RFC 6298 2.1)
    assert out(conn, 1.0) == [ours(SYN, ISS, options=(MSS_OPT,))]
    conn.receive_segment(peer(SYN | ACK, IRS, ISS + 1, options=(MSS_OPT,)), 1.1)
    assert out(conn, 1.1) == [ours(ACK | PSH, ISS + 1, IRS + 1, payload=REQUEST)]
    assert not conn.stats.syn_data_acked


def test_unsolicited_cookie_is_not_cached() -> None:
    cache = CookieCache()
    tfo = FastOpenState.client(cache, REMOTE[0])  # its SYN never carried the option
    tfo.syn_ack_arrived(peer(SYN | ACK, IRS, ISS + 1, options=(FastOpen(COOKIE),)), True, False)
    assert cache.cookie(REMOTE[0]) is None


def test_cookie_answering_a_retransmitted_syn_is_cached() -> None:
    conn = client()
    assert out(conn)[0].fastopen == FastOpen()  # the first SYN asked
    conn.handle_timer(1.0)
    assert out(conn, 1.0)[0].fastopen is None  # the retransmission does not
    conn.receive_segment(peer(SYN | ACK, IRS, ISS + 1, options=(MSS_OPT, FastOpen(COOKIE))), 1.1)
    assert conn.fastopen is not None and conn.fastopen.cache is not None
    assert conn.fastopen.cache.cookie(REMOTE[0]) == COOKIE


def test_deferred_connect_holds_the_syn_until_data() -> None:
    conn = client(COOKIE, defer=True)
    assert out(conn) == []
    assert conn.state is State.SYN_SENT
    conn.send(b"hi")
    assert out(conn, 0.01) == [
        ours(SYN, ISS, payload=b"hi", options=(MSS_OPT, FastOpen(COOKIE), NOP, NOP))
    ]


def test_deferred_connect_without_cookie_asks_at_once() -> None:
    conn = client(None, defer=True)
    assert out(conn) == [ours(SYN, ISS, options=(MSS_OPT, FastOpen(), NOP, NOP))]


def test_option_layout_after_the_other_syn_options() -> None:
    cache = CookieCache()
    cache.store(REMOTE[0], COOKIE, MSS, False)
    conn = Connection(LOCAL, REMOTE, replace(FULL, fastopen_client=True))
    conn.fastopen = FastOpenState.client(cache, REMOTE[0])
    conn.connect(0.0, iss=ISS)
    conn.send(b"x")
    # Linux: <mss 1460,sackOK,TS val .. ecr 0,nop,wscale N,FO cookie,nop,nop>
    [syn] = out(conn)
    assert syn.options == (
        MSS_OPT, SACK_PERMITTED, Timestamps(ts_val(0.0), 0), NOP, WindowScale(FULL_WSCALE),
        FastOpen(COOKIE), NOP, NOP,
    )  # fmt: skip
    assert syn.payload == b"x"


def accepted_server() -> Connection:
    conn = server()
    syn = peer(SYN, IRS, options=(MSS_OPT, FastOpen(COOKIE), NOP, NOP), payload=b"abc")
    conn.receive_segment(syn, 0.0)
    out(conn)
    events(conn)
    return conn


def test_rst_resets_an_accepted_fast_open_connection() -> None:
    conn = accepted_server()
    conn.receive_segment(peer(RST, IRS + 4), 0.01)
    # its user holds it already: reset, not a silent return to LISTEN
    assert conn.state is State.CLOSED
    assert events(conn) == [ConnectionReset("connection reset")]


def test_new_syn_to_an_accepted_fast_open_connection_draws_a_challenge_ack() -> None:
    conn = accepted_server()
    conn.receive_segment(peer(SYN, IRS + 100), 0.01)
    assert conn.state is State.SYN_RECEIVED
    # RFC 5961 4.2: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
    assert out(conn, 0.01) == [ours(ACK, ISS + 1, IRS + 4, window=65532)]


def test_syn_capacity_is_what_msg_fastopen_reports() -> None:
    with_cookie, without = client(COOKIE), client(None)
    assert with_cookie.fastopen is not None and without.fastopen is not None
    assert with_cookie.fastopen.syn_capacity(with_cookie.rcv_mss) == MSS - 40
    assert without.fastopen.syn_capacity(without.rcv_mss) == 0


def test_close_with_the_syns_data_unread_resets() -> None:
    conn = accepted_server()  # its 3 bytes not read
    conn.close(0.01)
    # RFC 9293 3.6 / RFC 1122 4.2.2.13, as for any connection the user holds
    assert out(conn, 0.01) == [ours(RST, ISS + 1, window=0)]
    assert conn.state is State.CLOSED


def test_close_after_reading_sends_fin_before_the_third_ack() -> None:
    conn = accepted_server()
    assert conn.receive() == b"abc"
    conn.close(0.01)
    assert conn.state is State.FIN_WAIT_1
    assert out(conn, 0.01) == [ours(FIN | ACK, ISS + 1, IRS + 4)]


def connect_with(cache: CookieCache, data: bytes = REQUEST) -> tuple[Connection, list]:
    conn = Connection(LOCAL, REMOTE, CLIENT)
    conn.fastopen = FastOpenState.client(cache, REMOTE[0])
    conn.connect(0.0, iss=ISS)
    conn.send(data)
    return conn, out(conn)


def test_unanswered_requests_try_the_experimental_option_once() -> None:
    # Linux: kind 34 first; no answer, the experimental option once; no answer
    # again, kind 34 from then on
    cache = CookieCache()
    asked = []
    for _ in range(4):
        conn, [syn] = connect_with(cache)
        asked.append(syn.fastopen)
        conn.receive_segment(peer(SYN | ACK, IRS, ISS + 1, options=(MSS_OPT,)), 0.1)
    assert asked == [FastOpen(), FastOpenExp(), FastOpen(), FastOpen()]


def test_experimental_cookie_is_used_in_its_own_form() -> None:
    cache = CookieCache()
    conn, _ = connect_with(cache)
    conn.receive_segment(peer(SYN | ACK, IRS, ISS + 1, options=(MSS_OPT,)), 0.1)
    conn, [syn] = connect_with(cache)
    assert syn.fastopen == FastOpenExp()
    conn.receive_segment(peer(SYN | ACK, IRS, ISS + 1, options=(FastOpenExp(b"abcd"),)), 0.1)
    conn, [syn] = connect_with(cache)
    assert syn.fastopen == FastOpenExp(b"abcd") and syn.payload == REQUEST
    n = len(REQUEST)
    new = (MSS_OPT, FastOpen(b"wxyz"), NOP, NOP)  # the server now answers in kind 34
    conn.receive_segment(peer(SYN | ACK, IRS, ISS + 1 + n, options=new), 0.1)
    _, [syn] = connect_with(cache)
    assert syn.fastopen == FastOpen(b"wxyz")


def test_odd_cookie_lengths_count_as_no_option() -> None:
    # Linux takes only even lengths: a 5-byte cookie is neither cached...
    cache = CookieCache()
    conn, _ = connect_with(cache)
    conn.receive_segment(peer(SYN | ACK, IRS, ISS + 1, options=(FastOpen(b"12345"),)), 0.1)
    assert cache.cookie(REMOTE[0]) is None
    # ... nor answered by a server: no data taken, no cookie sent
    srv = server()
    syn = peer(SYN, IRS, options=(MSS_OPT, FastOpen(b"12345"), NOP), payload=b"abc")
    srv.receive_segment(syn, 0.0)
    assert out(srv) == [ours(SYN | ACK, ISS, IRS + 1, options=(MSS_OPT,))]


def test_partly_acknowledged_syn_data_resends_the_rest() -> None:
    conn = client(COOKIE)
    conn.send(REQUEST)
    out(conn)
    n = len(REQUEST)
    conn.receive_segment(peer(SYN | ACK, IRS, ISS + n, options=(MSS_OPT,)), 0.1)
    # all but the last byte: that one goes again, carrying the ACK
    assert out(conn, 0.1) == [ours(ACK | PSH, ISS + n, IRS + 1, payload=REQUEST[-1:])]
