"""Two endpoints on a virtual clock: opening, transferring and closing, with faults.

Each test drives a client and a server Host on a simulated Network (10 ms
one-way delay, MSL of 1 s) and checks the exact chain of states each side
went through, as the TraceRecorder saw it, and the segments on the wire
where they matter. Sequence and acknowledgment numbers are relative to the
ISNs, as tcpdump shows them: client ISN 1000, server ISN 5000.
"""

from __future__ import annotations

import hashlib
import itertools
import random

from _roundtrip_harness import (
    CLIENT_ADDRESS,
    HANDSHAKE,
    PORT,
    SERVER_ADDRESS,
    SERVER_ISN,
    Pair,
)

from synack.sim.network import LinkConfig
from synack.tcp.config import TcpConfig
from synack.tcp.events import (
    Connected,
    ConnectionAborted,
    ConnectionClosed,
    ConnectionReset,
    DataReceived,
    EndOfStream,
)
from synack.tcp.state import State
from synack.wire.ip import decode_tcp_packet
from synack.wire.segment import ACK, FIN, SYN

MSL = 1.0
OPEN_CLIENT = ["CLOSED", "SYN-SENT", "ESTABLISHED"]
OPEN_SERVER = ["CLOSED", "LISTEN", "SYN-RECEIVED", "ESTABLISHED"]
ACTIVE_CLOSE = ["FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "CLOSED"]


def payload(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def established_pair(**kwargs: object) -> Pair:
    """A pair whose handshake is done, at t = 0.1."""
    pair = Pair(**kwargs)  # type: ignore[arg-type]
    pair.connect()
    pair.run(until=0.1)
    assert pair.capp.conn is not None and pair.capp.conn.state is State.ESTABLISHED
    assert pair.sapp.conn is not None and pair.sapp.conn.state is State.ESTABLISHED
    return pair


# ----------------------------------------------------------------------
# Opening
# ----------------------------------------------------------------------
def test_three_way_handshake() -> None:
    pair = Pair()
    client = pair.connect()
    pair.run(until=0.1)

    assert [w.short for w in pair.sent()] == HANDSHAKE
    assert [round(w.t, 6) for w in pair.sent()] == [0.0, 0.01, 0.02]
    assert pair.states("client") == OPEN_CLIENT
    assert pair.states("server") == OPEN_SERVER
    assert pair.state_time("client", "ESTABLISHED") == 0.02
    assert pair.state_time("server", "ESTABLISHED") == 0.03
    assert pair.capp.event_types() == [Connected]
    assert pair.sapp.event_types() == [Connected]
    accepted = pair.server.accept(PORT)
    assert accepted is pair.sapp.conn
    assert pair.server.accept(PORT) is None
    # Options were negotiated both ways.
    for conn in (client, accepted):
        assert conn.ws_ok and conn.ts_ok and conn.sack_ok
        assert conn.snd_mss == 1460


def test_simultaneous_open() -> None:
    """RFC 9293 figure 8: both SYN-SENT -> SYN-RECEIVED -> ESTABLISHED."""
    pair = Pair(listen=False, names=("a", "b"))
    a = pair.client.connect((SERVER_ADDRESS, 6000), 0.0, local_port=5000)
    b = pair.server.connect((CLIENT_ADDRESS, 5000), 0.0, local_port=6000)
    pair.capp.conn, pair.sapp.conn = a, b
    pair.run(until=1.0)

    chain = ["CLOSED", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED"]
    assert pair.states("a") == chain
    assert pair.states("b") == chain
    assert a.state is State.ESTABLISHED and b.state is State.ESTABLISHED
    sent = pair.sent()
    # Both SYNs cross, then each answers with SYN,ACK for its own ISN.
    assert sorted(w.short for w in sent[:2]) == [("a", "S", 0, 0, 0), ("b", "S", 0, 0, 0)]
    assert sorted(w.short for w in sent[2:4]) == [("a", "S.", 0, 1, 0), ("b", "S.", 0, 1, 0)]
    assert all(w.fate == "delivered" for w in sent)
    assert not any(w.raw_flags & SYN for w in sent[4:])
    assert pair.capp.event_types() == [Connected]
    assert pair.sapp.event_types() == [Connected]

    # The connection works: data both ways and an orderly close.
    pair.capp.write(b"from a", then=lambda app: app.conn.shutdown_write())
    pair.sapp.write(b"from b", then=lambda app: app.conn.shutdown_write())
    pair.run()
    assert bytes(pair.sapp.received) == b"from a"
    assert bytes(pair.capp.received) == b"from b"
    assert pair.states("a")[-2:] == ["TIME-WAIT", "CLOSED"]
    assert pair.states("b")[-2:] == ["TIME-WAIT", "CLOSED"]
    pair.assert_all_closed()


def test_connection_refused() -> None:
    """A SYN to a port with no listener draws RST,ACK (RFC 9293 3.10.7.1)."""
    pair = Pair(listen=False)
    client = pair.connect()
    pair.run()

    assert [w.short for w in pair.sent()] == [
        ("client", "S", 0, 0, 0),
        ("server", "R.", -SERVER_ISN, 1, 0),  # SEQ=0, ACK=SEG.SEQ+SEG.LEN
    ]
    assert pair.sent()[1].raw_seq == 0
    assert pair.states("client") == ["CLOSED", "SYN-SENT", "CLOSED"]
    assert pair.states("server") == []
    assert client.state is State.CLOSED
    assert pair.capp.event_types() == [ConnectionReset]
    assert pair.server.stats.resets_sent == 1
    pair.assert_all_closed()


def test_lost_syn_is_retransmitted() -> None:
    pair = Pair()
    rule = pair.drop("client", SYN)
    pair.connect()
    pair.run(until=3.0)

    assert rule.dropped == 1
    sent = pair.sent()
    assert [(w.short, w.fate) for w in sent] == [
        (("client", "S", 0, 0, 0), "lost"),
        (("client", "S", 0, 0, 0), "delivered"),
        (("server", "S.", 0, 1, 0), "delivered"),
        (("client", ".", 1, 1, 0), "delivered"),
    ]
    assert sent[1].t == 1.0  # the initial RTO (RFC 6298 2.1)
    assert pair.states("client") == OPEN_CLIENT
    assert pair.states("server") == OPEN_SERVER
    assert pair.state_time("client", "ESTABLISHED") == 1.02
    assert pair.timers("client", "retransmission") == [1.0]


def test_lost_syn_ack_is_retransmitted() -> None:
    pair = Pair()
    rule = pair.drop("server", SYN | ACK)
    pair.connect()
    pair.run(until=3.0)

    assert rule.dropped == 1
    sent = pair.sent()
    assert sent[0].short == ("client", "S", 0, 0, 0)
    assert (sent[1].short, sent[1].fate) == (("server", "S.", 0, 1, 0), "lost")
    # The client's SYN times out first (t=1.0) and the server answers the
    # duplicate SYN with its SYN,ACK; the server's own timer (t=1.01) may
    # resend it again. The client ends ESTABLISHED on the first that arrives.
    later = [w for w in sent[2:] if w.raw_flags & SYN]
    assert later[0].short == ("client", "S", 0, 0, 0) and later[0].t == 1.0
    assert all(w.short == ("server", "S.", 0, 1, 0) for w in later[1:])
    assert len(later) >= 2
    assert pair.states("client") == OPEN_CLIENT
    assert pair.states("server") == OPEN_SERVER
    assert pair.state_time("client", "ESTABLISHED") == 1.02
    assert pair.capp.event_types() == [Connected]
    assert pair.sapp.event_types() == [Connected]


# ----------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------
def test_bulk_transfer_both_ways() -> None:
    pair = established_pair()
    up, down = payload(1 << 20, 1), payload(1 << 20, 2)
    pair.capp.write(up, then=lambda app: app.conn.shutdown_write())
    pair.sapp.write(down, then=lambda app: app.conn.shutdown_write())
    pair.run()

    assert hashlib.sha256(pair.sapp.received).digest() == hashlib.sha256(up).digest()
    assert hashlib.sha256(pair.capp.received).digest() == hashlib.sha256(down).digest()
    assert len(pair.sapp.received) == len(up) and len(pair.capp.received) == len(down)
    assert pair.capp.eof and pair.sapp.eof
    # Nothing was lost, so nothing was retransmitted.
    assert pair.capp.conn.stats.retransmitted_segments == 0
    assert pair.sapp.conn.stats.retransmitted_segments == 0
    for name in ("client", "server"):
        chain = pair.states(name)
        assert chain[-1] == "CLOSED"
        assert "ESTABLISHED" in chain
    pair.assert_all_closed()


def test_sequence_numbers_wrap() -> None:
    isn = 2**32 - 1000
    pair = established_pair(client_isn=isn, server_isn=isn)
    up, down = payload(100_000, 3), payload(100_000, 4)
    pair.capp.write(up, then=lambda app: app.conn.shutdown_write())
    pair.sapp.on_eof = lambda app: app.write(down, then=lambda a: a.conn.close())
    pair.run()

    assert bytes(pair.sapp.received) == up
    assert bytes(pair.capp.received) == down
    for name in ("client", "server"):
        raw = [w.raw_seq for w in pair.sent() if w.src == name and w.len]
        assert any(s >= isn for s in raw) and any(s < 200_000 for s in raw), "no wrap"
    assert pair.states("client") == OPEN_CLIENT + ACTIVE_CLOSE
    assert pair.states("server") == [*OPEN_SERVER, "CLOSE-WAIT", "LAST-ACK", "CLOSED"]
    pair.assert_all_closed()


def test_zero_window_persist_probes() -> None:
    """The receiver does not read for 10 s: its window closes, the sender
    probes it (RFC 9293 3.8.6.1), then the receiver reads and all arrives."""
    small = TcpConfig(msl=MSL, recv_buffer=8192)
    pair = established_pair(server_config=small)
    pair.sapp.reading = False
    pair.sapp.on_eof = lambda app: app.conn.close()
    data = payload(64 * 1024, 5)
    pair.capp.write(data, then=lambda app: app.conn.shutdown_write())
    pair.run(until=10.0)

    assert pair.sapp.conn.receive_queued == 8192
    assert len(pair.sapp.received) == 0
    zero = [w for w in pair.sent() if w.src == "server" and w.win == 0]
    assert zero, "the server never advertised a zero window"
    first_zero = zero[0].t
    # The first persist firing is the SWS override (a window of 952 < MSS was
    # open); the next ones are probes of the zero window, backing off.
    probes = pair.timers("client", "persist")
    zero_probes = [t for t in probes if t > first_zero]
    assert len(zero_probes) >= 2
    gaps = [b - a for a, b in itertools.pairwise(probes)]
    assert len(gaps) >= 2 and all(b > a for a, b in itertools.pairwise(gaps))
    # Each probe is one octet, and each drew an ACK still showing a zero window.
    client_after = [w for w in pair.sent(first_zero) if w.src == "client"]
    assert [w.t for w in client_after] == zero_probes
    assert all(w.len == 1 and w.seq == 8193 for w in client_after)
    server_after = [w for w in pair.sent(first_zero) if w.src == "server"]
    assert len(server_after) == len(zero_probes) + 1 and all(w.win == 0 for w in server_after)
    assert all(w.ack == 8193 for w in server_after)  # the probe octet is not taken
    assert pair.capp.conn.state is State.FIN_WAIT_1

    pair.sapp.read_now()
    pair.run()
    assert bytes(pair.sapp.received) == data
    assert pair.sapp.eof
    # The server closes on end of stream, so its FIN carries the ACK of the client's.
    assert pair.states("client") == [*OPEN_CLIENT, "FIN-WAIT-1", "TIME-WAIT", "CLOSED"]
    assert pair.states("server") == [*OPEN_SERVER, "CLOSE-WAIT", "LAST-ACK", "CLOSED"]
    pair.assert_all_closed()


def test_bare_ack_after_timeout_carries_highest_sequence_sent() -> None:
    """Both sides send three segments and lose every ACK of them, so both time
    out and rewind to resend. Each resent segment is old news to its receiver,
    which answers with a bare ACK. That ACK must carry the highest sequence
    sent (SND.MAX), not the rewound send point: below the peer's RCV.NXT it
    would be dropped as unacceptable, its ACK unread, and draw an equally
    stale ACK back, an exchange that never ends (found by test_property).
    No tail loss probe here: it would repair the tail before the timeout."""
    pair = established_pair(config=TcpConfig(tail_loss_probe=False))
    for name in ("client", "server"):
        pair.drop(name, ACK, length=0)  # the one ACK of all three segments
    data = payload(3 * 1448, 8)
    pair.capp.write(data)
    pair.sapp.write(data)
    pair.run(until=1.09)
    for app in (pair.capp, pair.sapp):
        assert bytes(app.received) == data
        assert app.conn.snd_una != app.conn.snd_max  # no ACK got through
    pair.run(until=3.0)

    assert pair.timers("client", "retransmission") == [1.1]
    assert pair.timers("server", "retransmission") == [1.1]
    for app in (pair.capp, pair.sapp):
        assert app.conn.snd_una == app.conn.snd_max
    bare = [(w.src, w.seq, w.ack) for w in pair.sent(1.0) if w.len == 0]
    assert sorted(bare) == [("client", 4345, 4345), ("server", 4345, 4345)]
    dropped = [r for r in pair.recorder.records if getattr(r, "direction", None) == "dropped"]
    assert [r.len for r in dropped] == [1448, 1448]  # only the two resent segments


# ----------------------------------------------------------------------
# Closing
# ----------------------------------------------------------------------
def test_active_close_by_client() -> None:
    """The four-way close: the server closes 0.1 s after reading end of stream."""
    pair = established_pair()
    pair.capp.conn.close()
    pair.run(until=0.5)
    assert pair.sapp.event_types() == [Connected, EndOfStream]
    assert pair.sapp.conn.state is State.CLOSE_WAIT
    assert pair.capp.conn.state is State.FIN_WAIT_2
    pair.sapp.conn.close()
    pair.run()

    assert [w.short for w in pair.sent(0.1)] == [
        ("client", "F.", 1, 1, 0),
        ("server", ".", 1, 2, 0),
        ("server", "F.", 1, 2, 0),
        ("client", ".", 2, 2, 0),
    ]
    assert pair.states("client") == OPEN_CLIENT + ACTIVE_CLOSE
    assert pair.states("server") == [*OPEN_SERVER, "CLOSE-WAIT", "LAST-ACK", "CLOSED"]
    # TIME-WAIT lasts 2 MSL (RFC 9293 3.4.2).
    entered = pair.state_time("client", "TIME-WAIT")
    assert pair.state_time("client", "CLOSED") == entered + 2 * MSL
    assert pair.sapp.event_types() == [Connected, EndOfStream, ConnectionClosed]
    pair.assert_all_closed()


def test_passive_close_server_first() -> None:
    pair = established_pair()
    pair.sapp.conn.close()
    pair.run(until=0.5)
    assert pair.capp.conn.state is State.CLOSE_WAIT
    pair.capp.conn.close()
    pair.run()

    assert [w.short for w in pair.sent(0.1)] == [
        ("server", "F.", 1, 1, 0),
        ("client", ".", 1, 2, 0),
        ("client", "F.", 1, 2, 0),
        ("server", ".", 2, 2, 0),
    ]
    assert pair.states("server") == OPEN_SERVER + ACTIVE_CLOSE
    assert pair.states("client") == [*OPEN_CLIENT, "CLOSE-WAIT", "LAST-ACK", "CLOSED"]
    assert pair.capp.event_types() == [Connected, EndOfStream, ConnectionClosed]
    assert pair.sapp.event_types() == [Connected, EndOfStream]  # TIME-WAIT ends in the host
    pair.assert_all_closed()


def test_simultaneous_close() -> None:
    """Both call close() at the same instant: FINs cross, both go through CLOSING."""
    pair = established_pair()
    pair.run(until=1.0)
    pair.capp.conn.close()
    pair.sapp.conn.close()
    pair.run()

    sent = pair.sent(1.0)
    assert sorted(w.short for w in sent[:2]) == [
        ("client", "F.", 1, 1, 0),
        ("server", "F.", 1, 1, 0),
    ]
    assert sorted(w.short for w in sent[2:]) == [
        ("client", ".", 2, 2, 0),
        ("server", ".", 2, 2, 0),
    ]
    closing = ["FIN-WAIT-1", "CLOSING", "TIME-WAIT", "CLOSED"]
    assert pair.states("client") == OPEN_CLIENT + closing
    assert pair.states("server") == OPEN_SERVER + closing
    assert pair.state_time("client", "CLOSING") == 1.01
    assert pair.state_time("client", "TIME-WAIT") == 1.02
    assert pair.state_time("client", "CLOSED") == 1.02 + 2 * MSL
    pair.assert_all_closed()


def test_combined_fin_ack() -> None:
    """The server's app closes as soon as it sees end of stream, before the
    host's output is pulled: its ACK rides on its FIN, a three-way close."""
    pair = established_pair()
    pair.sapp.on_eof = lambda app: app.conn.close()
    pair.capp.conn.close()
    pair.run()

    assert [w.short for w in pair.sent(0.1)] == [
        ("client", "F.", 1, 1, 0),
        ("server", "F.", 1, 2, 0),
        ("client", ".", 2, 2, 0),
    ]
    assert pair.states("client") == [*OPEN_CLIENT, "FIN-WAIT-1", "TIME-WAIT", "CLOSED"]
    assert pair.states("server") == [*OPEN_SERVER, "CLOSE-WAIT", "LAST-ACK", "CLOSED"]
    pair.assert_all_closed()


def test_fin_and_ack_separate_when_app_reacts_after_output() -> None:
    """The same application driven with events handled after each
    step's output: the ACK already left, so the FIN follows alone."""
    pair = Pair(apps=False)
    pair.connect()
    pair.net.run(until=0.1)
    pair.pump()
    pair.sapp.on_eof = lambda app: app.conn.close()
    pair.capp.conn.close()
    while pair.net.step():
        pair.pump()

    assert [w.short for w in pair.sent(0.1)] == [
        ("client", "F.", 1, 1, 0),
        ("server", ".", 1, 2, 0),
        ("server", "F.", 1, 2, 0),
        ("client", ".", 2, 2, 0),
    ]
    sent = pair.sent(0.1)
    assert sent[1].t == sent[2].t  # same instant, separate segments
    assert pair.states("client")[-4:] == ["FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "CLOSED"]
    pair.assert_all_closed()


def test_half_close_then_data_after_fin() -> None:
    """The client shuts down its side; the server keeps sending 100 KB after
    end of stream, then closes; the client, in FIN-WAIT-2, gets it all."""
    pair = established_pair()
    reply = payload(100_000, 6)
    pair.capp.write(b"request", then=lambda app: app.conn.shutdown_write())
    pair.sapp.on_eof = lambda app: app.write(reply, then=lambda a: a.conn.close())
    pair.run()

    assert bytes(pair.sapp.received) == b"request"
    assert bytes(pair.capp.received) == reply
    assert pair.capp.eof
    assert pair.states("client") == OPEN_CLIENT + ACTIVE_CLOSE
    assert pair.states("server") == [*OPEN_SERVER, "CLOSE-WAIT", "LAST-ACK", "CLOSED"]
    # The server's data all flowed after it acknowledged the client's FIN (ack 9).
    server_data = [w for w in pair.sent() if w.src == "server" and w.len]
    assert sum(w.len for w in server_data) == len(reply)
    assert all(w.ack == 9 for w in server_data)
    fin_wait_2 = pair.state_time("client", "FIN-WAIT-2")
    assert server_data[0].t >= fin_wait_2 - 0.011
    # The client's FIN rode on "request" (seq 1-7, FIN at 8); it sent no data after.
    client_fin = [w for w in pair.sent() if w.src == "client" and w.raw_flags & FIN]
    assert [(w.flags, w.seq, w.len) for w in client_fin] == [("FP.", 1, 7)]
    assert [w.len for w in pair.sent() if w.src == "client" and w.len] == [7]
    assert EndOfStream in pair.capp.event_types()
    assert DataReceived in pair.capp.event_types()
    pair.assert_all_closed()


def test_abort_sends_rst() -> None:
    pair = established_pair()
    pair.capp.write(b"x" * 5000)
    pair.run(until=0.5)
    assert len(pair.sapp.received) == 5000
    pair.capp.conn.abort()
    pair.run()

    after = pair.sent(0.5)
    assert [w.short for w in after] == [("client", "R", 5001, 0, 0)]
    assert pair.states("client") == [*OPEN_CLIENT, "CLOSED"]
    assert pair.states("server") == [*OPEN_SERVER, "CLOSED"]
    assert pair.capp.events[-1] == ConnectionAborted("connection aborted")
    assert pair.sapp.events[-1] == ConnectionReset("connection reset")
    pair.assert_all_closed()


def test_lost_final_ack_of_close() -> None:
    """The client's last ACK is lost: the server in LAST-ACK retransmits its
    FIN, the client in TIME-WAIT acknowledges it again and restarts 2 MSL."""
    pair = established_pair()

    def final_ack(src: object, dst: object, packet: bytes) -> bool:
        _, seg = decode_tcp_packet(packet)
        return src is pair.client and seg.flags == ACK and seg.ack == SERVER_ISN + 2

    rule = pair.net.drop(final_ack)
    pair.capp.conn.close()
    pair.run(until=0.5)
    pair.sapp.conn.close()
    pair.run()

    assert rule.dropped == 1
    after = pair.sent(0.1)
    assert [(w.short, w.fate) for w in after] == [
        (("client", "F.", 1, 1, 0), "delivered"),
        (("server", ".", 1, 2, 0), "delivered"),
        (("server", "F.", 1, 2, 0), "delivered"),
        (("client", ".", 2, 2, 0), "lost"),
        (("server", "F.", 1, 2, 0), "delivered"),  # retransmitted after the RTO
        (("client", ".", 2, 2, 0), "delivered"),  # from the TIME-WAIT record
    ]
    refin = after[4]
    assert refin.t == after[2].t + 1.0  # RTO: the minimum of 1 s (RFC 6298 2.4)
    assert pair.states("client") == OPEN_CLIENT + ACTIVE_CLOSE
    assert pair.states("server") == [*OPEN_SERVER, "CLOSE-WAIT", "LAST-ACK", "CLOSED"]
    assert pair.state_time("server", "CLOSED") == round(refin.t + 0.02, 9)
    # The retransmitted FIN restarted the 2 MSL timer (RFC 9293 3.10.7.4).
    assert pair.state_time("client", "CLOSED") == refin.t + 0.01 + 2 * MSL
    pair.assert_all_closed()


def test_lost_data_segments_are_recovered() -> None:
    """The 2nd and 3rd data segments of a 20-segment burst are lost; the rest
    arrive out of order, and the receiver still gets every byte in order."""
    pair = established_pair(link=LinkConfig(delay=0.010))
    rule = pair.drop("client", ACK, nth=2, count=2, length=1448)
    data = payload(20 * 1448, 7)
    pair.capp.write(data, then=lambda app: app.conn.shutdown_write())
    pair.sapp.on_eof = lambda app: app.conn.close()
    pair.run()

    assert (rule.seen, rule.dropped) == (3, 2)
    lost = [w for w in pair.sent() if w.fate == "lost"]
    assert [(w.seq, w.len) for w in lost] == [(1449, 1448), (2897, 1448)]
    assert bytes(pair.sapp.received) == data
    resent = [w for w in pair.sent() if w.src == "client" and w.seq in (1449, 2897)]
    assert [w.fate for w in resent] == ["lost", "lost", "delivered", "delivered"]
    assert pair.capp.conn.stats.retransmitted_segments >= 2
    pair.assert_all_closed()


def test_time_wait_shorter_than_rto_ends_in_rst() -> None:
    """Why TIME-WAIT must outlast the peer's RTO (RFC 9293 3.4.2): with 2 MSL
    of 0.6 s and the last ACK lost, the FIN resent after 1 s finds no record;
    the client's host answers it with RST and the server sees a reset."""
    pair = established_pair(config=TcpConfig(msl=0.3))

    def final_ack(src: object, dst: object, packet: bytes) -> bool:
        _, seg = decode_tcp_packet(packet)
        return src is pair.client and seg.flags == ACK and seg.ack == SERVER_ISN + 2

    pair.net.drop(final_ack)
    pair.sapp.on_eof = lambda app: app.conn.close()
    pair.capp.conn.close()
    pair.run()

    after = pair.sent(0.1)
    assert [(w.short, w.fate) for w in after] == [
        (("client", "F.", 1, 1, 0), "delivered"),
        (("server", "F.", 1, 2, 0), "delivered"),
        (("client", ".", 2, 2, 0), "lost"),
        (("server", "F.", 1, 2, 0), "delivered"),
        (("client", "R", 2, 0, 0), "delivered"),
    ]
    assert pair.state_time("client", "CLOSED") == 0.12 + 0.6
    assert after[3].t > 0.12 + 0.6
    assert pair.states("server") == [*OPEN_SERVER, "CLOSE-WAIT", "LAST-ACK", "CLOSED"]
    assert pair.sapp.events[-1] == ConnectionReset("connection reset")
    pair.assert_all_closed()
