"""Named, seeded runs on the simulated network: a tour of TCP connection management.

Each scenario sets up a client (10.0.0.1) and a server (10.0.0.2, port 80)
on a simulated link, scripts what their applications do and what the
network does wrong, and records everything in one trace. ``synack demo
SCENARIO`` runs one and draws it; ``synack demo --list`` lists them. The
notes say what to look for, in English and in Korean (the seed documents
are Korean study notes).
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import ip_address

from synack.host import Host
from synack.sim.faults import FaultSpec
from synack.sim.network import LinkConfig, Network, segment_matcher
from synack.tcp.config import TcpConfig
from synack.tcp.connection import Connection
from synack.tcp.errors import TcpError
from synack.tcp.events import Connected, DataReceived, EndOfStream
from synack.tcp.isn import FixedIsn, Rfc6528Isn
from synack.tcp.state import State
from synack.trace.records import PacketRecord, TraceRecorder
from synack.wire.ip import encode_tcp_packet
from synack.wire.segment import ACK, NOP, PSH, SYN, Option, Segment, Timestamps

CLIENT_ADDRESS = "10.0.0.1"
SERVER_ADDRESS = "10.0.0.2"
SERVER_PORT = 80
SEEDS_ISN = 4321  # Host X's ISN in the seed documents (004)
DEFAULT_SCENARIO = "close"  # what `synack demo` runs without a name
LANGUAGES = ("en", "ko")


@dataclass(frozen=True)
class Options:
    """What a user may change about any scenario."""

    seed: int = 1
    isn_client: int | None = None
    isn_server: int | None = None
    msl: float = 120.0
    delay: float = 0.010
    # scripted faults on top of the scenario's own (``synack demo --drop``...),
    # counted over the segments both hosts send, as ``synack simulate`` counts them
    faults: tuple[FaultSpec, ...] = ()
    metrics: bool = False  # the recorder samples cwnd and windows (for plots)


@dataclass
class Outcome:
    """A finished run: the trace and what the applications saw."""

    name: str
    recorder: TraceRecorder
    end_time: float
    client_received: bytes = b""
    server_received: bytes = b""
    client_sent: bytes = b""
    server_sent: bytes = b""
    facts: dict[str, str] = field(default_factory=dict)  # figures worth printing


@dataclass(frozen=True)
class Story:
    """What a scenario's notes tell as fact, checked against each run's trace:
    options (--delay, --drop...) can make a run go otherwise, and then no view
    may tell the notes as what happened.

    ``states``: each side's states, in order, as ``state_paths`` gives them
    (space-separated). ``packets``: runs of packets that came one right after
    the other, each "sender flags [fate]" (no fate: it arrived). ``facts``:
    figures of ``Outcome.facts`` the notes state. ``isns``: initial sequence
    numbers the notes give (the sequence number of that side's first SYN).
    """

    states: dict[str, str]
    packets: tuple[tuple[str, ...], ...] = ()
    facts: dict[str, str] = field(default_factory=dict)
    isns: dict[str, int] = field(default_factory=dict)

    def differences(self, outcome: Outcome, lang: str = "en") -> list[str]:
        """What in this run differs from the story: [] when it went as told."""
        text = _STORY_TEXT[lang]
        found: list[str] = []
        paths = state_paths(outcome)
        for side, told in self.states.items():
            differs = _path_difference(text, text[side], told.split(), paths.get(side, []))
            if differs:
                found.append(differs)
        packets = [r for r in outcome.recorder.records if isinstance(r, PacketRecord) and r.flags]
        for run in self.packets:
            wanted = [item.split(maxsplit=2) for item in run]
            if not any(
                all(map(_matches, wanted, packets[start:]))
                for start in range(len(packets) - len(wanted) + 1)
            ):
                found.append(text["packets"].format(packets=", ".join(run)))
        for side, isn in self.isns.items():
            sent = next((r.seq for r in packets if r.src == side and "S" in r.flags), None)
            if sent != isn:
                found.append(text["isn"].format(who=text[side], isn=sent, told=isn))
        for key, value in self.facts.items():
            if outcome.facts.get(key) != value:
                found.append(text["fact"].format(key=key, value=outcome.facts.get(key, "-"),
                                                 told=value))  # fmt: skip
        return found


_STORY_TEXT = {
    "en": {
        "client": "the client",
        "server": "the server",
        "start": "{who} started in {state}",
        "stayed": "{who} stayed in {state} (the explanation has it go on to {told})",
        "went_on": "{who} went on from {old} to {new}",
        "went": "{who} went from {old} to {new}, not to {told}",
        "packets": "the explanation's packets ({packets}) did not come one after the other",
        "fact": "{key}: {value}, not {told}",
        "isn": "{who}'s initial sequence number was {isn}, not {told}",
        "differs": "This run did not go as the explanation describes: {what}. "
        "The trace shows what did happen.",
    },
    "ko": {
        "client": "클라이언트는",
        "server": "서버는",
        "start": "{who} {state}에서 시작했습니다",
        "stayed": "{who} {state}에 머물렀습니다 (설명에서는 {told}로 갑니다)",
        "went_on": "{who} {old}에서 {new}로 더 갔습니다",
        "went": "{who} {old}에서 {told}가 아니라 {new}로 갔습니다",
        "packets": "설명의 패킷({packets})이 차례로 오가지 않았습니다",
        "fact": "{key}: {told}가 아니라 {value}",
        "isn": "{who} 초기 순서 번호 {isn}으로 시작했습니다 (설명: {told})",
        "differs": "이번 실행은 설명대로 진행되지 않았습니다: {what}. "
        "실제로 일어난 일은 기록에 있습니다.",
    },
}


def _path_difference(text: dict[str, str], who: str, told: list[str], went: list[str]) -> str:
    """Where the states a side went through part from the told ones ("" if nowhere)."""
    same = 0
    while same < min(len(told), len(went)) and told[same] == went[same]:
        same += 1
    if same == len(told) == len(went):
        return ""
    if same == 0:
        return text["start"].format(who=who, state=went[0] if went else "-")
    if same == len(went):
        return text["stayed"].format(who=who, state=went[-1], told=told[same])
    old, new = went[same - 1], went[same]
    if same == len(told):
        return text["went_on"].format(who=who, old=old, new=new)
    return text["went"].format(who=who, old=old, new=new, told=told[same])


def _matches(wanted: list[str], packet: PacketRecord) -> bool:
    """ "sender flags" matches such a packet that arrived; "sender flags fate" one of that fate."""
    if wanted[:2] != [packet.src, packet.flags]:
        return False
    return packet.fate == wanted[2] if len(wanted) == 3 else packet.arrival is not None


@dataclass(frozen=True)
class Scenario:
    name: str
    title: dict[str, str]
    notes: dict[str, tuple[str, ...]]
    run: Callable[[Options], Outcome]
    story: Story | None = None  # what the notes tell as fact (None: not checked)

    def describe(self, lang: str) -> tuple[str, tuple[str, ...]]:
        return self.title[lang], self.notes[lang]

    def explain(self, outcome: Outcome, lang: str) -> tuple[str, tuple[str, ...]]:
        """The title and notes, or, when this run did not go as the notes tell
        (its options changed it), the title and one line saying what differed."""
        differences = self.story.differences(outcome, lang) if self.story else []
        if not differences:
            return self.describe(lang)
        line = _STORY_TEXT[lang]["differs"].format(what="; ".join(differences))
        return self.title[lang], (line,)


class World:
    """Two hosts on a link, a recorder, and an agenda of application actions."""

    def __init__(
        self,
        name: str,
        options: Options,
        config: TcpConfig | None = None,
        link: LinkConfig | None = None,
        isn_client: int | None = None,
    ) -> None:
        self.name = name
        self.options = options
        self.config = config if config is not None else TcpConfig(msl=options.msl)
        self.recorder = TraceRecorder(metrics=options.metrics)
        secret = options.seed.to_bytes(16, "big")
        client_isn = options.isn_client if options.isn_client is not None else isn_client
        self.client = Host(
            CLIENT_ADDRESS, self.config, self.recorder.endpoint("client"),
            isn=FixedIsn(client_isn) if client_isn is not None else Rfc6528Isn(secret + b"c"),
            secret=secret,
        )  # fmt: skip
        self.server = Host(
            SERVER_ADDRESS, self.config, self.recorder.endpoint("server"),
            isn=(
                FixedIsn(options.isn_server)
                if options.isn_server is not None
                else Rfc6528Isn(secret + b"s")
            ),
            secret=secret,
        )  # fmt: skip
        self.net = Network(seed=options.seed, default_link=link or LinkConfig(delay=options.delay))
        self.net.add_host(self.client)
        self.net.add_host(self.server)
        for spec in options.faults:
            self.net.fault(spec.matcher([self.client], [self.server]), spec.action,
                           spec.nth, spec.count, spec.delay)  # fmt: skip
        self.net.taps.append(
            self.recorder.packet_tap({self.client: "client", self.server: "server"})
        )
        self.net.apps.append(self._dispatch)
        self._agenda: list[tuple[float, int, Callable[[float], object]]] = []
        self._order = itertools.count()
        self.on_client: Callable[[Connection, object], None] | None = None
        self.on_server: Callable[[Connection, object], None] | None = None
        self.client_received = bytearray()
        self.server_received = bytearray()
        self.client_sent = bytearray()
        self.server_sent = bytearray()
        # the server's application reads what arrives only from this time on
        self.server_reads_after = 0.0

    # -- scripting ------------------------------------------------------
    def at(self, t: float, action: Callable[[float], object]) -> None:
        """Run ``action(now)`` (an application's call, e.g. ``conn.close``) at time ``t``."""
        heapq.heappush(self._agenda, (t, next(self._order), action))

    def send(self, conn: Connection, data: bytes, side: str) -> None:
        sent = conn.send(data)
        (self.client_sent if side == "client" else self.server_sent).extend(data[:sent])

    def _dispatch(self, net: Network) -> None:
        for host, handler, sink in (
            (self.client, self.on_client, self.client_received),
            (self.server, self.on_server, self.server_received),
        ):
            while (ev := host.next_event()) is not None:
                reads = host is self.client or net.now >= self.server_reads_after
                if isinstance(ev.event, DataReceived) and reads:
                    # the application may already have aborted this connection
                    with contextlib.suppress(TcpError):
                        sink.extend(ev.connection.receive())
                if handler is not None:
                    handler(ev.connection, ev.event)

    def run(self, limit: float = 3600.0) -> Outcome:
        net = self.net
        while True:
            net.run(until=net.now)  # flush what user calls queued
            t_net = net.next_time()
            t_app = self._agenda[0][0] if self._agenda else None
            if t_net is None and t_app is None:
                break
            if t_app is not None and (t_net is None or t_app <= t_net):
                net.run(until=t_app)
                when, _, action = heapq.heappop(self._agenda)
                # a call the connection refuses (a close after a fault left it
                # CLOSED) fails as it would on a socket; the script goes on
                with contextlib.suppress(TcpError):
                    action(when)
                continue
            if t_net is not None and t_net > limit:
                break
            net.step()
        return Outcome(
            self.name, self.recorder, net.now, bytes(self.client_received),
            bytes(self.server_received), bytes(self.client_sent), bytes(self.server_sent),
        )  # fmt: skip


REQUEST = b"GET / HTTP/1.0\r\n\r\n"
REPLY = b"HTTP/1.0 200 OK\r\n\r\nhello from synack\n"


def _exchange(
    world: World,
    server_close: str = "later",
    client_close_at: float = 0.2,
    start: float = 0.0,
    early_request: bool = False,
) -> None:
    """The common script: connect (at ``start``), a request and a reply, then
    the client closes.

    The client's application writes its request once connect() has returned,
    as a socket program does: its TCP has already ACKed the SYN,ACK, so the
    handshake's third segment is a bare ACK and the request follows it (what
    Linux shows). With ``early_request`` the request is queued before the
    handshake completes and rides on that third segment instead.

    ``server_close``: "later" (the server's application finishes 50 ms after
    end of stream: ACK and FIN travel apart), "at-once" (it closes on end of
    stream, so the FIN rides with the ACK), or "never".
    """
    client = world.client.connect((SERVER_ADDRESS, SERVER_PORT), start)
    if early_request:
        world.send(client, REQUEST, "client")
    else:

        def on_client(conn: Connection, event: object) -> None:
            if isinstance(event, Connected):
                # connect() returns: the application writes after the ACK has left
                world.at(world.net.now, lambda now: world.send(conn, REQUEST, "client"))

        world.on_client = on_client
    world.at(client_close_at, client.close)

    def on_server(conn: Connection, event: object) -> None:
        if isinstance(event, DataReceived) and world.server_received.endswith(b"\r\n\r\n"):
            if not world.server_sent:
                world.send(conn, REPLY, "server")
        elif isinstance(event, EndOfStream):
            if server_close == "at-once":
                conn.close()
            elif server_close == "later":
                world.at(world.net.now + 0.050, conn.close)

    world.on_server = on_server


# ----------------------------------------------------------------------
# The scenarios
# ----------------------------------------------------------------------
def _handshake(options: Options) -> Outcome:
    world = World("handshake", options, isn_client=SEEDS_ISN)
    world.server.listen(SERVER_PORT)
    world.client.connect((SERVER_ADDRESS, SERVER_PORT), 0.0)
    return world.run()


def _close(options: Options) -> Outcome:
    world = World("close", options)
    world.server.listen(SERVER_PORT)
    _exchange(world, "later")
    return world.run()


def _piggyback(options: Options) -> Outcome:
    world = World("piggyback", options)
    world.server.listen(SERVER_PORT)
    _exchange(world, "later", early_request=True)
    return world.run()


def _close_combined(options: Options) -> Outcome:
    world = World("close-combined", options)
    world.server.listen(SERVER_PORT)
    _exchange(world, "at-once")
    return world.run()


def _half_close(options: Options) -> Outcome:
    world = World("half-close", options)
    world.server.listen(SERVER_PORT)
    client = world.client.connect((SERVER_ADDRESS, SERVER_PORT), 0.0)
    world.send(client, REQUEST, "client")
    world.at(0.05, client.shutdown_write)  # "I have nothing more to send" (half-close)
    remaining = bytes(range(256)) * 80  # 20 KB the server still has to send

    def on_server(conn: Connection, event: object) -> None:
        if isinstance(event, EndOfStream):
            # "I'll finish sending what I was sending" (seed 003): the rest, then FIN.
            world.at(
                world.net.now + 0.020, lambda now: _send_all_then_close(world, conn, remaining, now)
            )

    world.on_server = on_server
    return world.run()


def _send_all_then_close(world: World, conn: Connection, data: bytes, now: float) -> None:
    world.send(conn, data, "server")
    conn.close(now)


def _lost_final_ack(options: Options) -> Outcome:
    world = World("lost-final-ack", options)
    world.server.listen(SERVER_PORT)
    _exchange(world, "later")
    world.net.fault(_after_fin_from(world.server, world.client), "drop", nth=1)
    return world.run()


def _after_fin_from(fin_sender: Host, acker: Host) -> Callable[[Host, Host, bytes], bool]:
    """Matches the first bare ACK ``acker`` sends after ``fin_sender``'s FIN went out."""
    fin_seen = segment_matcher(src=fin_sender, predicate=lambda seg: bool(seg.flags & 0x01))
    bare_ack = segment_matcher(src=acker, flags=".", predicate=lambda seg: not seg.payload)
    seen = [False]

    def match(src: Host, dst: Host, packet: bytes) -> bool:
        if fin_seen(src, dst, packet):
            seen[0] = True
            return False
        return seen[0] and bare_ack(src, dst, packet)

    return match


def _old_duplicate(options: Options) -> Outcome:
    world = World("old-duplicate", options)
    world.server.listen(SERVER_PORT)
    _exchange(world, "at-once")
    # The server's reply is duplicated somewhere in the network; the copy turns
    # up 3 s late, while the client's side of the port pair is in TIME-WAIT.
    world.net.fault(
        segment_matcher(src=world.server, predicate=lambda seg: bool(seg.payload)),
        "duplicate",
        delay=3.0,
    )
    return world.run()


def _lost_syn(options: Options) -> Outcome:
    world = World("lost-syn", options)
    world.server.listen(SERVER_PORT)
    world.net.fault(segment_matcher(src=world.client, flags="S"), "drop", count=2)
    world.client.connect((SERVER_ADDRESS, SERVER_PORT), 0.0)
    return world.run()


def _lost_syn_ack(options: Options) -> Outcome:
    world = World("lost-syn-ack", options)
    world.server.listen(SERVER_PORT)
    world.net.fault(segment_matcher(src=world.server, flags="S."), "drop", count=2)
    world.client.connect((SERVER_ADDRESS, SERVER_PORT), 0.0)
    return world.run()


def _refused(options: Options) -> Outcome:
    world = World("refused", options)
    world.server.listen(SERVER_PORT)
    world.client.connect((SERVER_ADDRESS, SERVER_PORT + 1), 0.0)  # nobody listens on 81
    return world.run()


def _simultaneous_open(options: Options) -> Outcome:
    world = World("simultaneous-open", options)
    a = world.client.connect((SERVER_ADDRESS, 6000), 0.0, local_port=5000)
    world.server.connect((CLIENT_ADDRESS, 5000), 0.0, local_port=6000)
    world.at(0.5, a.close)

    def on_server(conn: Connection, event: object) -> None:
        if isinstance(event, EndOfStream):
            conn.close()

    world.on_server = on_server
    return world.run()


def _simultaneous_close(options: Options) -> Outcome:
    world = World("simultaneous-close", options)
    world.server.listen(SERVER_PORT)
    client = world.client.connect((SERVER_ADDRESS, SERVER_PORT), 0.0)
    world.send(client, REQUEST, "client")

    def on_server(conn: Connection, event: object) -> None:
        if isinstance(event, DataReceived) and not world.server_sent:
            world.send(conn, REPLY, "server")
            world.at(0.2, conn.close)  # the same instant as the client

    world.on_server = on_server
    world.at(0.2, client.close)
    return world.run()


def _abort(options: Options) -> Outcome:
    world = World("abort", options)
    world.server.listen(SERVER_PORT)
    client = world.client.connect((SERVER_ADDRESS, SERVER_PORT), 0.0)
    world.send(client, bytes(50_000), "client")

    def on_server(conn: Connection, event: object) -> None:
        if isinstance(event, DataReceived) and len(world.server_received) >= 8_000:
            if conn.state is not State.CLOSED:
                conn.abort()  # the application gives up mid-transfer: RST

    world.on_server = on_server
    return world.run()


def _lossy_transfer(options: Options) -> Outcome:
    world = World("lossy-transfer", options, link=LinkConfig(delay=options.delay, loss=0.05))
    world.server.listen(SERVER_PORT)
    payload = hashlib.shake_256(b"synack lossy-transfer").digest(1_000_000)
    client = world.client.connect((SERVER_ADDRESS, SERVER_PORT), 0.0)
    server_side: list[Connection] = []

    def on_client(conn: Connection, event: object) -> None:
        _feed(world, conn, payload)

    def on_server(conn: Connection, event: object) -> None:
        if not server_side:
            server_side.append(conn)
        if isinstance(event, EndOfStream):
            conn.close()

    world.on_client = on_client
    world.on_server = on_server
    _feed(world, client, payload)
    outcome = world.run()
    stats = [c.stats for c in (client, *server_side)]
    ok = outcome.server_received == payload
    outcome.facts = {
        "bytes sent": f"{len(payload):,}",
        "bytes delivered": f"{len(outcome.server_received):,}",
        "intact (sha256)": "yes" if ok else "NO",
        "packets lost on the links": str(world.net.packets_lost),
        "retransmitted segments": str(sum(s.retransmitted_segments for s in stats)),
        "fast retransmits": str(sum(s.fast_retransmits for s in stats)),
        "retransmission timeouts": str(sum(s.timeouts for s in stats)),
        "losses found by RACK": str(sum(s.rack_losses for s in stats)),
        "tail loss probes": str(sum(s.tail_loss_probes for s in stats)),
        "congestion control": world.config.congestion_control,
    }
    return outcome


SPOOFED_SOURCES = ("10.0.9.1", "10.0.9.2")  # on no host: their SYN,ACKs go nowhere
FLOOD_BACKLOG = 2


def _syn_flood(options: Options) -> Outcome:
    world = World("syn-flood", options)
    server = world.server
    server.listen(SERVER_PORT, backlog=FLOOD_BACKLOG)  # SYN cookies on overflow, the default

    def spoof(now: float) -> None:
        for i, source in enumerate(SPOOFED_SOURCES):
            syn = Segment(40000 + i, SERVER_PORT, 1000 * (i + 1), 0, SYN, 64240)
            packet = encode_tcp_packet(ip_address(source), ip_address(SERVER_ADDRESS), syn)
            server.receive_packet(packet, now)
        world.net.touch(server)

    world.at(0.0, spoof)
    world.at(0.1, lambda now: _exchange(world, "later", now + 0.2, start=now))
    outcome = world.run()
    stats = server.stats
    outcome.facts.update(
        {
            "SYN cookies sent": str(stats.syn_cookies_sent),
            "SYN cookies validated": str(stats.syn_cookies_validated),
            "half-open entries expired": str(stats.half_open_expired),
        }
    )
    return outcome


def _half_open(options: Options) -> Outcome:
    world = World("half-open", options)
    world.server.listen(SERVER_PORT)
    client = world.client.connect((SERVER_ADDRESS, SERVER_PORT), 0.0, local_port=40000)
    world.send(client, REQUEST, "client")
    # The client's host crashes: its TCB is gone, the server's is not.
    world.at(0.5, world.client.crash)

    def reconnect(now: float) -> None:
        # restarted, it opens again from the same port, with a new ISN
        world.client.connect((SERVER_ADDRESS, SERVER_PORT), now, local_port=40000)

    world.at(1.0, reconnect)

    def on_server(conn: Connection, event: object) -> None:
        if isinstance(event, DataReceived) and not world.server_sent:
            world.send(conn, REPLY, "server")

    world.on_server = on_server
    return world.run(limit=10.0)


ZERO_WINDOW_BUFFER = 4096  # the server's receive buffer: one window of 4 KB
ZERO_WINDOW_READ_AT = 10.0  # when the server's application starts reading


def _zero_window(options: Options) -> Outcome:
    config = TcpConfig(msl=options.msl, recv_buffer=ZERO_WINDOW_BUFFER, window_scaling=False)
    world = World("zero-window", options, config=config)
    world.server.listen(SERVER_PORT)
    client = world.client.connect((SERVER_ADDRESS, SERVER_PORT), 0.0)
    payload = bytes(range(256)) * 40  # 10 KB, more than the server's window
    world.send(client, payload, "client")
    world.at(0.1, client.close)  # all of it is queued: FIN after it
    world.server_reads_after = ZERO_WINDOW_READ_AT  # until then its application is busy
    server_side: list[Connection] = []

    def read_all(now: float) -> None:
        for conn in server_side:
            world.server_received.extend(conn.receive())

    def on_server(conn: Connection, event: object) -> None:
        if not server_side:
            server_side.append(conn)
        if isinstance(event, EndOfStream):
            conn.close()

    world.on_server = on_server
    world.at(ZERO_WINDOW_READ_AT, read_all)
    return world.run()


KEEPALIVE_IDLE = 10.0
KEEPALIVE_INTERVAL = 2.0
KEEPALIVE_PROBES = 3
NETWORK_CUT_AT = 15.0


def _keepalive(options: Options) -> Outcome:
    config = TcpConfig(
        msl=options.msl, keepalive=True, keepalive_idle=KEEPALIVE_IDLE,
        keepalive_interval=KEEPALIVE_INTERVAL, keepalive_probes=KEEPALIVE_PROBES,
    )  # fmt: skip
    world = World("keepalive", options, config=config)
    world.server.listen(SERVER_PORT, config=TcpConfig(msl=options.msl))
    client = world.client.connect((SERVER_ADDRESS, SERVER_PORT), 0.0)
    world.send(client, REQUEST, "client")

    def on_server(conn: Connection, event: object) -> None:
        if isinstance(event, DataReceived) and not world.server_sent:
            world.send(conn, REPLY, "server")

    world.on_server = on_server
    # At 15 s the path between them breaks: nothing gets through any more.
    world.net.fault(lambda src, dst, packet: world.net.now >= NETWORK_CUT_AT, "drop", count=1000)
    return world.run(limit=60.0)


NAGLE_WRITES = (b"GET /index.html HTTP/1.1\r\n", b"Host: example\r\n\r\n")
NAGLE_WRITE_AT = 0.5  # the client's application writes its request in two pieces, 1 ms apart


def _nagle(options: Options) -> Outcome:
    # a 64 KB receive buffer: the SYN,ACK already offers all of it, so reading
    # the first piece opens no window worth an update, and the ACK is delayed
    world = World("nagle", options, config=TcpConfig(msl=options.msl, recv_buffer=65535))
    world.server.listen(SERVER_PORT)
    client = world.client.connect((SERVER_ADDRESS, SERVER_PORT), 0.0)
    first, second = NAGLE_WRITES
    request = first + second
    # write, write, then read: the request goes out in two small writes
    world.at(NAGLE_WRITE_AT, lambda now: world.send(client, first, "client"))
    world.at(NAGLE_WRITE_AT + 0.001, lambda now: world.send(client, second, "client"))

    def on_server(conn: Connection, event: object) -> None:
        if world.server_received == request and not world.server_sent:
            world.send(conn, REPLY, "server")
        elif isinstance(event, EndOfStream):
            conn.close()

    world.on_server = on_server
    world.at(2.0, client.close)
    return world.run()


PAWS_ISN = 2**32 - 10_000  # the client's sequence numbers wrap past 0 early in the transfer
PAWS_REPLAY_AT = 0.08  # when the network delivers its copy from one wrap ago
PAWS_AHEAD_SEGMENTS = 11  # where the old copy's text lies: segments beyond RCV.NXT then
PAWS_WRAP_AGO = 34.4  # seconds: 2^32 bytes at 1 Gbit/s, as the old timestamp says


def _paws(options: Options, timestamps: bool = True) -> Outcome:
    config = TcpConfig(msl=options.msl, timestamps=timestamps)
    world = World("paws", options, config=config, isn_client=PAWS_ISN)
    world.server.listen(SERVER_PORT)
    payload = hashlib.shake_256(b"synack paws").digest(40_000)
    client = world.client.connect((SERVER_ADDRESS, SERVER_PORT), 0.0)
    server_side: list[Connection] = []

    def on_server(conn: Connection, event: object) -> None:
        if not server_side:
            server_side.append(conn)
        if isinstance(event, EndOfStream):
            conn.close()

    def replay(now: float) -> None:
        # A segment that left 2^32 bytes ago carries the very sequence numbers
        # the server expects next; its timestamp is from back then.
        if not server_side:
            return  # a long --delay: no connection at the server yet, nothing to copy
        conn = server_side[0]
        options_: tuple[Option, ...] = ()
        if conn.ts_ok:
            old = (conn.ts_recent - int(PAWS_WRAP_AGO * config.timestamp_hz)) & 0xFFFFFFFF
            options_ = (NOP, NOP, Timestamps(old, conn.ts_clock(now) - 34_400))
        # inside the window, beyond what is in flight, across a segment boundary
        mss = client.mss_payload()
        ahead = (conn.rcv_nxt + PAWS_AHEAD_SEGMENTS * mss + mss // 2) & 0xFFFFFFFF
        text = (b"stale data from one wrap ago\n" * (mss // 29 + 1))[:mss]
        stale = Segment(
            client.local[1], SERVER_PORT, ahead, conn.snd_nxt, ACK | PSH, 1024,
            options=options_, payload=text,
        )  # fmt: skip
        packet = encode_tcp_packet(ip_address(CLIENT_ADDRESS), ip_address(SERVER_ADDRESS), stale)
        world.net.inject(world.client, packet, "old duplicate")

    world.on_server = on_server
    world.send(client, payload, "client")
    world.at(PAWS_REPLAY_AT, replay)
    world.at(1.0, client.close)
    outcome = world.run()
    outcome.facts = {
        "client ISN": str(PAWS_ISN),
        "bytes delivered intact": "yes" if outcome.server_received == payload else "NO",
    }
    return outcome


def _feed(world: World, conn: Connection, payload: bytes) -> None:
    """Keep the send buffer full until all of ``payload`` is queued, then close."""
    sent = len(world.client_sent)
    if sent >= len(payload) or conn.state not in (State.SYN_SENT, State.ESTABLISHED):
        return
    # Offer all the rest: a partial accept arms SendSpaceAvailable for later.
    accepted = conn.send(memoryview(payload)[sent:])
    world.client_sent.extend(payload[sent : sent + accepted])
    if len(world.client_sent) == len(payload):
        conn.close()


FAST_OPEN_SECOND_AT = 0.5  # when the client opens its second connection
FAST_OPEN_QUEUE = 16  # the listener's Fast Open queue (Linux's TCP_FASTOPEN option)


def _fast_open(options: Options) -> Outcome:
    # RFC 7413 on both sides; Linux's cookie (SipHash of the two addresses)
    config = TcpConfig(
        msl=options.msl, fastopen_client=True, fastopen_server=True,
        fastopen_cookie_algorithm="siphash",
    )  # fmt: skip
    world = World("fast-open", options, config=config)
    world.server.listen(SERVER_PORT, fastopen=FAST_OPEN_QUEUE)
    server_got: dict[Connection, bytearray] = {}
    replied: set[Connection] = set()
    connected_at: dict[Connection, float] = {}
    reply_at: dict[Connection, float] = {}

    def on_server(conn: Connection, event: object) -> None:
        if isinstance(event, DataReceived):
            got = server_got.setdefault(conn, bytearray())
            got.extend(world.server_received[-event.length :])
            if got.endswith(b"\r\n\r\n") and conn not in replied:
                replied.add(conn)
                world.send(conn, REPLY, "server")  # at once, even before the third ACK
        elif isinstance(event, EndOfStream):
            conn.close()

    def on_client(conn: Connection, event: object) -> None:
        if isinstance(event, Connected) and conn.fastopen is not None and not conn.send_queued:
            if conn.fastopen.cookie is None:  # no cookie: the request goes after the handshake
                world.at(world.net.now, lambda now: world.send(conn, REQUEST, "client"))
        elif isinstance(event, DataReceived) and conn not in reply_at:
            reply_at[conn] = world.net.now

    def open_first(now: float) -> None:
        conn = world.client.connect((SERVER_ADDRESS, SERVER_PORT), now, fastopen=True)
        connected_at[conn] = now
        world.at(now + 0.2, conn.close)

    def open_second(now: float) -> None:
        # the cookie is cached now: the request rides on the SYN (sendto with MSG_FASTOPEN)
        conn = world.client.connect((SERVER_ADDRESS, SERVER_PORT), now, fastopen=True)
        world.send(conn, REQUEST, "client")
        connected_at[conn] = now
        world.at(now + 0.2, conn.close)

    world.on_server = on_server
    world.on_client = on_client
    world.at(0.0, open_first)
    world.at(FAST_OPEN_SECOND_AT, open_second)
    outcome = world.run()
    # with a long --delay a connection may close before any reply came
    first, second = (
        str(round((reply_at[c] - t) * 1000)) if c in reply_at else "none"
        for c, t in connected_at.items()
    )
    outcome.facts = {
        "first reply, 1st connection (ms after connect)": first,
        "first reply, 2nd connection (ms after connect)": second,
        "Fast Open SYNs accepted": str(world.server.stats.fastopen_accepted),
    }
    return outcome


def _text(en: str, ko: str) -> dict[str, str]:
    return {"en": en, "ko": ko}


def _notes(en: tuple[str, ...], ko: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    return {"en": en, "ko": ko}


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "handshake",
            _text("The 3-way handshake", "3-way 핸드셰이크 (연결 수립)"),
            _notes(
                (
                    "The client sends SYN with its initial sequence number x = 4321, as Host X does in the seed notes.",
                    "The server answers SYN,ACK: its own ISN y, and ack = x + 1.",
                    "The client's ACK (ack = y + 1) completes it: both sides are ESTABLISHED.",
                    "SYN is a flag, not a number: the ISN travels in the sequence field (RFC 9293 3.4.1).",
                ),
                (
                    "클라이언트는 초기 순서 번호 x = 4321을 담아 SYN을 보냅니다 (시드 노트의 Host X와 같습니다).",
                    "서버는 자신의 ISN y와 ack = x + 1을 담은 SYN,ACK로 응답합니다.",
                    "클라이언트의 ACK(ack = y + 1)로 양쪽 모두 ESTABLISHED가 됩니다.",
                    "SYN은 숫자가 아니라 플래그입니다. ISN은 순서 번호 필드에 실립니다 (RFC 9293 3.4.1).",
                ),
            ),
            _handshake,
            story=Story(
                {
                    "client": "CLOSED SYN-SENT ESTABLISHED",
                    "server": "CLOSED LISTEN SYN-RECEIVED ESTABLISHED",
                },
                isns={"client": SEEDS_ISN},
            ),
        ),
        Scenario(
            "close",
            _text(
                "The 4-way handshake: the client closes first",
                "4-way 핸드셰이크: 클라이언트가 먼저 종료",
            ),
            _notes(
                (
                    "The client sends FIN: FIN-WAIT-1. The server ACKs it and enters CLOSE-WAIT (not TIME-WAIT).",
                    "The client waits in FIN-WAIT-2 while the server's application finishes, then the server sends its FIN: LAST-ACK.",
                    "The client ACKs and enters TIME-WAIT for 2 x MSL; the server is CLOSED on that ACK.",
                    "Only the side that closes first passes through TIME-WAIT.",
                ),
                (
                    "클라이언트가 FIN을 보내 FIN-WAIT-1이 됩니다. 서버는 ACK로 답하고 CLOSE-WAIT가 됩니다 (TIME-WAIT가 아닙니다).",
                    "서버 애플리케이션이 일을 마칠 때까지 클라이언트는 FIN-WAIT-2에서 기다리고, 이어서 서버가 FIN을 보내 LAST-ACK가 됩니다.",
                    "클라이언트는 ACK를 보내고 2 x MSL 동안 TIME-WAIT에 머뭅니다. 서버는 그 ACK로 CLOSED가 됩니다.",
                    "TIME-WAIT를 거치는 쪽은 먼저 종료한 쪽뿐입니다.",
                ),
            ),
            _close,
            story=Story(
                {
                    "client": "CLOSED SYN-SENT ESTABLISHED FIN-WAIT-1 FIN-WAIT-2 TIME-WAIT CLOSED",
                    "server": "CLOSED LISTEN SYN-RECEIVED ESTABLISHED CLOSE-WAIT LAST-ACK CLOSED",
                },
                (("client F.", "server .", "server F.", "client ."),),
            ),
        ),
        Scenario(
            "piggyback",
            _text(
                "The request rides on the handshake's third segment",
                "핸드셰이크의 세 번째 세그먼트에 실린 요청",
            ),
            _notes(
                (
                    "Here the client's application queued its request before the handshake completed,",
                    "so the client's TCP sends it with the ACK of the SYN,ACK: the third segment is P., carrying 18 bytes.",
                    "In the default demo the application writes after connect() returns, as Linux shows: a bare ACK, then the request.",
                    "Both are legal: RFC 9293 3.10.7.3 lets data queued for sending be included in the ACK that completes the handshake.",
                ),
                (
                    "여기서는 클라이언트 애플리케이션이 핸드셰이크가 끝나기 전에 요청을 큐에 넣었습니다.",
                    "그래서 클라이언트 TCP는 SYN,ACK에 대한 ACK와 함께 요청을 보냅니다. 세 번째 세그먼트는 18바이트를 실은 P.입니다.",
                    "기본 데모에서는 애플리케이션이 connect()가 돌아온 뒤에 씁니다. Linux에서처럼 데이터 없는 ACK가 먼저, 그다음에 요청이 나갑니다.",
                    "둘 다 올바릅니다. RFC 9293 3.10.7.3은 전송 대기 중인 데이터를 핸드셰이크를 끝내는 ACK에 함께 실어도 된다고 합니다.",
                ),
            ),
            _piggyback,
            story=Story(
                {
                    "client": "CLOSED SYN-SENT ESTABLISHED FIN-WAIT-1 FIN-WAIT-2 TIME-WAIT CLOSED",
                    "server": "CLOSED LISTEN SYN-RECEIVED ESTABLISHED CLOSE-WAIT LAST-ACK CLOSED",
                },
                (("client S", "server S.", "client P."),),
            ),
        ),
        Scenario(
            "close-combined",
            _text(
                "Close in three segments: FIN and ACK together",
                "세 세그먼트 종료: FIN과 ACK를 함께",
            ),
            _notes(
                (
                    "The server's application closes as soon as it reads end of stream,",
                    "so its ACK of the client's FIN and its own FIN leave in one segment (F.).",
                    "The client goes straight from FIN-WAIT-1 to TIME-WAIT: release took three segments, not four.",
                ),
                (
                    "서버 애플리케이션은 스트림의 끝을 읽자마자 종료하므로,",
                    "클라이언트 FIN에 대한 ACK와 자신의 FIN이 한 세그먼트(F.)로 나갑니다.",
                    "클라이언트는 FIN-WAIT-1에서 곧바로 TIME-WAIT로 갑니다. 네 개가 아니라 세 개의 세그먼트로 종료됩니다.",
                ),
            ),
            _close_combined,
            story=Story(
                {
                    "client": "CLOSED SYN-SENT ESTABLISHED FIN-WAIT-1 TIME-WAIT CLOSED",
                    "server": "CLOSED LISTEN SYN-RECEIVED ESTABLISHED CLOSE-WAIT LAST-ACK CLOSED",
                },
                (("client F.", "server F.", "client ."),),
            ),
        ),
        Scenario(
            "half-close",
            _text(
                "Half-close: the server keeps sending after the client's FIN",
                "하프 클로즈: 클라이언트 FIN 이후에도 서버는 전송을 계속",
            ),
            _notes(
                (
                    "The client sends its request, then FIN: it has nothing more to send, but still reads.",
                    "The server ACKs the FIN: CLOSE-WAIT. Its application then writes the 20 KB it has left and closes at once,",
                    "so the server's TCP queues its FIN behind that data and enters LAST-ACK while the 20 KB are still going out.",
                    "The client, in FIN-WAIT-2, receives all of it, then the FIN. Data flows in one direction after the other has closed.",
                ),
                (
                    "클라이언트는 요청을 보낸 뒤 FIN을 보냅니다. 더 보낼 것은 없지만 읽기는 계속합니다.",
                    "서버는 FIN에 ACK하고 CLOSE-WAIT가 됩니다. 이어서 서버 애플리케이션은 남은 20 KB를 쓰고 곧바로 종료합니다.",
                    "그래서 서버 TCP는 그 데이터 뒤에 FIN을 대기시키고, 20 KB가 아직 나가는 동안 LAST-ACK가 됩니다.",
                    "FIN-WAIT-2 상태의 클라이언트는 그 데이터를 모두 받은 뒤 FIN을 받습니다. 한 방향이 닫힌 뒤에도 다른 방향으로는 데이터가 흐릅니다.",
                ),
            ),
            _half_close,
            story=Story(
                {
                    "client": "CLOSED SYN-SENT ESTABLISHED FIN-WAIT-1 FIN-WAIT-2 TIME-WAIT CLOSED",
                    "server": "CLOSED LISTEN SYN-RECEIVED ESTABLISHED CLOSE-WAIT LAST-ACK CLOSED",
                },
                (("server FP.", "client ."),),
            ),
        ),
        Scenario(
            "lost-final-ack",
            _text(
                "The last ACK is lost: why TIME-WAIT exists",
                "마지막 ACK 유실: TIME-WAIT가 있는 이유",
            ),
            _notes(
                (
                    "The client's ACK of the server's FIN is lost. The server, in LAST-ACK, retransmits its FIN after its RTO.",
                    "The client is still in TIME-WAIT, so it can answer: it re-ACKs and restarts its 2 x MSL wait.",
                    "Both reach CLOSED. Without TIME-WAIT the retransmitted FIN would meet a RST and the server would see an error.",
                ),
                (
                    "서버 FIN에 대한 클라이언트의 ACK가 유실됩니다. LAST-ACK 상태의 서버는 RTO 후에 FIN을 재전송합니다.",
                    "클라이언트는 아직 TIME-WAIT에 있으므로 답할 수 있습니다. ACK를 다시 보내고 2 x MSL 대기를 다시 시작합니다.",
                    "양쪽 모두 CLOSED에 도달합니다. TIME-WAIT가 없었다면 재전송된 FIN은 RST를 받고 서버는 오류를 보게 됩니다.",
                ),
            ),
            _lost_final_ack,
            story=Story(
                {
                    "client": "CLOSED SYN-SENT ESTABLISHED FIN-WAIT-1 FIN-WAIT-2 TIME-WAIT CLOSED",
                    "server": "CLOSED LISTEN SYN-RECEIVED ESTABLISHED CLOSE-WAIT LAST-ACK CLOSED",
                },
                (("server F.", "client . dropped", "server F.", "client ."),),
            ),
        ),
        Scenario(
            "old-duplicate",
            _text(
                "An old duplicate arrives during TIME-WAIT",
                "TIME-WAIT 중에 도착한 오래된 중복 세그먼트",
            ),
            _notes(
                (
                    "The network duplicates the server's reply; the copy arrives 3 s late, after the connection has closed.",
                    "The client's port pair is in TIME-WAIT: the old segment fails the sequence check and draws only an ACK.",
                    "It is not delivered as new data: the client's application received the reply exactly once.",
                    "The server, already CLOSED, answers that ACK with a RST. It reaches the client in TIME-WAIT and is ignored (RFC 1337): the wait runs its full 2 x MSL.",
                ),
                (
                    "네트워크가 서버의 응답을 복제하고, 그 사본은 연결이 닫힌 뒤 3초 늦게 도착합니다.",
                    "클라이언트의 포트 쌍은 TIME-WAIT에 있으므로, 오래된 세그먼트는 순서 번호 검사에서 걸러지고 ACK만 돌려받습니다.",
                    "새 데이터로 전달되지 않습니다. 클라이언트 애플리케이션은 응답을 정확히 한 번 받았습니다.",
                    "이미 CLOSED인 서버는 그 ACK에 RST로 답합니다. RST는 TIME-WAIT 상태의 클라이언트에 도착하지만 무시됩니다 (RFC 1337). 대기는 2 x MSL을 다 채웁니다.",
                ),
            ),
            _old_duplicate,
            story=Story(
                {
                    "client": "CLOSED SYN-SENT ESTABLISHED FIN-WAIT-1 TIME-WAIT CLOSED",
                    "server": "CLOSED LISTEN SYN-RECEIVED ESTABLISHED CLOSE-WAIT LAST-ACK CLOSED",
                },
                (("server P. duplicated",), ("client .", "server R")),
            ),
        ),
        Scenario(
            "lost-syn",
            _text(
                "Lost SYNs: retransmission with exponential backoff", "SYN 유실: 지수 백오프 재전송"
            ),
            _notes(
                (
                    "The first two SYNs are lost. The client retransmits after its initial RTO of 1 s, then after 2 s more.",
                    "Each timeout doubles the RTO (RFC 6298 5.5). The third SYN gets through and the handshake completes.",
                ),
                (
                    "처음 두 SYN이 유실됩니다. 클라이언트는 초기 RTO 1초 후에, 그다음에는 2초 후에 재전송합니다.",
                    "타임아웃마다 RTO가 두 배가 됩니다 (RFC 6298 5.5). 세 번째 SYN이 도착해 핸드셰이크가 끝납니다.",
                ),
            ),
            _lost_syn,
            story=Story(
                {
                    "client": "CLOSED SYN-SENT ESTABLISHED",
                    "server": "CLOSED LISTEN SYN-RECEIVED ESTABLISHED",
                },
                (("client S dropped", "client S dropped", "client S", "server S."),),
            ),
        ),
        Scenario(
            "lost-syn-ack",
            _text("Lost SYN,ACKs: both sides retransmit", "SYN,ACK 유실: 양쪽 모두 재전송"),
            _notes(
                (
                    "The server's first two SYN,ACKs are lost. The server retransmits on its own timer,",
                    "and the client, hearing nothing, retransmits its SYN, which the server answers with SYN,ACK again.",
                    "The first SYN,ACK to arrive completes the handshake.",
                ),
                (
                    "서버의 처음 두 SYN,ACK가 유실됩니다. 서버는 자신의 타이머로 재전송하고,",
                    "아무 응답도 받지 못한 클라이언트는 SYN을 재전송하며, 서버는 다시 SYN,ACK로 답합니다.",
                    "처음 도착한 SYN,ACK로 핸드셰이크가 끝납니다.",
                ),
            ),
            _lost_syn_ack,
            story=Story(
                {
                    "client": "CLOSED SYN-SENT ESTABLISHED",
                    "server": "CLOSED LISTEN SYN-RECEIVED ESTABLISHED",
                },
                (("server S. dropped", "client S", "server S. dropped"),),
            ),
        ),
        Scenario(
            "refused",
            _text("Connection refused: a SYN to a closed port", "연결 거부: 닫힌 포트로 보낸 SYN"),
            _notes(
                (
                    "Nothing listens on port 81. The server's TCP answers the SYN with RST,ACK (seq 0, ack = x + 1).",
                    "The client goes from SYN-SENT to CLOSED and its application sees the reset (ECONNREFUSED on a socket).",
                ),
                (
                    "81번 포트에는 LISTEN 중인 것이 없습니다. 서버 TCP는 SYN에 RST,ACK(seq 0, ack = x + 1)로 답합니다.",
                    "클라이언트는 SYN-SENT에서 CLOSED로 가고, 애플리케이션은 리셋을 봅니다 (소켓에서는 ECONNREFUSED).",
                ),
            ),
            _refused,
            story=Story(
                {"client": "CLOSED SYN-SENT CLOSED", "server": "CLOSED LISTEN"},
                (("client S", "server R."),),
            ),
        ),
        Scenario(
            "simultaneous-open",
            _text("Simultaneous open", "동시 열기 (simultaneous open)"),
            _notes(
                (
                    "Both sides send SYN at the same moment, each to the other's port: both are SYN-SENT.",
                    "Each receives a SYN without ACK and moves to SYN-RECEIVED, answering SYN,ACK.",
                    "Each SYN,ACK acknowledges the other's SYN, but its own SYN is old news (below RCV.NXT), so the sequence check (RFC 9293 3.10.7.4) finds it unacceptable and each side answers with an ACK.",
                    "Those ACKs make both ESTABLISHED: six segments, one connection, not two. RFC 9293 figure 8 draws four, as Linux does by letting such a SYN,ACK through.",
                ),
                (
                    "양쪽이 같은 순간에 서로의 포트로 SYN을 보냅니다. 둘 다 SYN-SENT입니다.",
                    "각자 ACK 없는 SYN을 받고 SYN-RECEIVED로 가서 SYN,ACK로 답합니다.",
                    "각 SYN,ACK는 상대의 SYN을 확인하지만, 그 안의 SYN은 이미 받은 것(RCV.NXT 아래)이므로 순서 번호 검사(RFC 9293 3.10.7.4)에서 받아들여지지 않고, 양쪽은 ACK로 답합니다.",
                    "그 ACK로 둘 다 ESTABLISHED가 됩니다. 세그먼트 여섯 개, 연결은 둘이 아니라 하나입니다. RFC 9293 그림 8은 네 개로 그리며, Linux도 그런 SYN,ACK를 통과시켜 네 개로 끝냅니다.",
                ),
            ),
            _simultaneous_open,
            story=Story(
                {
                    "client": "CLOSED SYN-SENT SYN-RECEIVED ESTABLISHED FIN-WAIT-1 TIME-WAIT CLOSED",
                    "server": "CLOSED SYN-SENT SYN-RECEIVED ESTABLISHED CLOSE-WAIT LAST-ACK CLOSED",
                },
                (("client S", "server S", "client S.", "server S.", "client .", "server ."),),
            ),
        ),
        Scenario(
            "simultaneous-close",
            _text("Simultaneous close, through CLOSING", "동시 종료: CLOSING을 거쳐"),
            _notes(
                (
                    "Both applications close at the same instant: both send FIN from FIN-WAIT-1.",
                    "Each receives the other's FIN before the ACK of its own: both enter CLOSING.",
                    "The ACKs cross; both enter TIME-WAIT, and both wait 2 x MSL before CLOSED.",
                ),
                (
                    "두 애플리케이션이 같은 순간에 종료합니다. 양쪽 모두 FIN-WAIT-1에서 FIN을 보냅니다.",
                    "각자 자신의 FIN에 대한 ACK보다 상대의 FIN을 먼저 받아 CLOSING이 됩니다.",
                    "ACK가 엇갈리고, 양쪽 모두 TIME-WAIT에 들어가 2 x MSL 후에 CLOSED가 됩니다.",
                ),
            ),
            _simultaneous_close,
            story=Story(
                {
                    "client": "CLOSED SYN-SENT ESTABLISHED FIN-WAIT-1 CLOSING TIME-WAIT CLOSED",
                    "server": "CLOSED LISTEN SYN-RECEIVED ESTABLISHED FIN-WAIT-1 CLOSING TIME-WAIT CLOSED",
                }
            ),
        ),
        Scenario(
            "abort",
            _text("Abort: a RST mid-transfer", "중단: 전송 중의 RST"),
            _notes(
                (
                    "The client streams 50 KB. After 8 KB the server's application aborts: its TCP sends RST and is CLOSED at once.",
                    "The RST's sequence number is exactly what the client expects, so it is accepted (RFC 5961 3.2):",
                    "the client goes straight to CLOSED and its application sees 'connection reset'. No FIN, no TIME-WAIT.",
                ),
                (
                    "클라이언트가 50 KB를 보냅니다. 8 KB 뒤 서버 애플리케이션이 중단하고, 서버 TCP는 RST를 보낸 뒤 곧바로 CLOSED가 됩니다.",
                    "RST의 순서 번호가 클라이언트가 기대하는 값과 정확히 같으므로 받아들여집니다 (RFC 5961 3.2).",
                    "클라이언트는 곧바로 CLOSED가 되고 애플리케이션은 'connection reset'을 봅니다. FIN도 TIME-WAIT도 없습니다.",
                ),
            ),
            _abort,
            story=Story(
                {
                    "client": "CLOSED SYN-SENT ESTABLISHED CLOSED",
                    "server": "CLOSED LISTEN SYN-RECEIVED ESTABLISHED CLOSED",
                },
                (("server R",),),
            ),
        ),
        Scenario(
            "half-open",
            _text(
                "A half-open connection is discovered and reset",
                "반열림(half-open) 연결의 발견과 리셋",
            ),
            _notes(
                (
                    "After the request and reply, the client's host crashes: its TCB is lost, but the server is still ESTABLISHED. The connection is half-open (RFC 9293 3.5).",
                    "Restarted, the client opens again from the same port with a new ISN. The server, in ESTABLISHED, answers the SYN with a challenge ACK (RFC 5961 4.2), not a SYN,ACK.",
                    "That ACK acknowledges nothing the client sent, so the client answers with a RST whose sequence number is the ACK's acknowledgment (RFC 9293 3.10.7.3).",
                    "The RST is exactly at the server's RCV.NXT: the server resets its old connection and is CLOSED. The client's SYN, retransmitted after 1 s, then meets the listener and the handshake completes.",
                ),
                (
                    "요청과 응답이 끝난 뒤 클라이언트 호스트가 멈춥니다. 클라이언트의 TCB는 사라졌지만 서버는 여전히 ESTABLISHED입니다. 연결은 반열림 상태입니다 (RFC 9293 3.5).",
                    "다시 시작한 클라이언트는 같은 포트에서 새 ISN으로 다시 연결합니다. ESTABLISHED 상태의 서버는 SYN에 SYN,ACK가 아니라 챌린지 ACK로 답합니다 (RFC 5961 4.2).",
                    "그 ACK는 클라이언트가 보낸 어떤 것도 확인하지 않으므로, 클라이언트는 그 ACK의 확인 번호를 순서 번호로 한 RST로 답합니다 (RFC 9293 3.10.7.3).",
                    "RST는 서버의 RCV.NXT와 정확히 같으므로 서버는 옛 연결을 리셋하고 CLOSED가 됩니다. 1초 뒤 재전송된 클라이언트의 SYN은 리스너를 만나 핸드셰이크가 끝납니다.",
                ),
            ),
            _half_open,
            story=Story(
                {
                    "client": "CLOSED SYN-SENT ESTABLISHED CLOSED SYN-SENT ESTABLISHED",
                    "server": "CLOSED LISTEN SYN-RECEIVED ESTABLISHED CLOSED SYN-RECEIVED ESTABLISHED",
                },
                (("client S", "server .", "client R", "client S", "server S.", "client ."),),
            ),
        ),
        Scenario(
            "zero-window",
            _text(
                "A zero window, probed until it opens",
                "제로 윈도와 윈도가 열릴 때까지의 프로브",
            ),
            _notes(
                (
                    "The client sends 10 KB, but the server's application does not read for 10 s, and its receive buffer holds 4 KB.",
                    "The client sends what fits in the 4 KB window; the last 1,200 bytes, less than a segment, only when its persist timer overrides sender SWS avoidance (RFC 9293 3.8.6.2.1).",
                    "Then the buffer is full and the server advertises a window of 0. The client may not send, so it probes the window with one byte (RFC 9293 3.8.6.1).",
                    "The probe lies beyond the zero window: the server drops its byte and answers with an ACK that repeats the window, 0. The persist timer backs off: 1 s, then 2 s, then 4 s.",
                    "At 10 s the application reads, and the server sends a window update. The rest of the data flows, then both sides close.",
                ),
                (
                    "클라이언트는 10 KB를 보내지만, 서버 애플리케이션은 10초 동안 읽지 않고 서버의 수신 버퍼는 4 KB입니다.",
                    "클라이언트는 4 KB 윈도에 맞는 만큼 보냅니다. 한 세그먼트보다 작은 마지막 1,200바이트는 퍼시스트 타이머가 송신 측 SWS 회피를 무시할 때에야 나갑니다 (RFC 9293 3.8.6.2.1).",
                    "이제 버퍼가 차서 서버는 윈도 0을 알립니다. 클라이언트는 보낼 수 없으므로 1바이트로 윈도를 탐색합니다 (RFC 9293 3.8.6.1).",
                    "프로브는 0인 윈도 밖에 있으므로 서버는 그 바이트를 버리고 윈도 0을 다시 알리는 ACK로 답합니다. 퍼시스트 타이머의 간격은 1초, 2초, 4초로 늘어납니다.",
                    "10초에 애플리케이션이 읽고, 서버는 윈도 업데이트를 보냅니다. 나머지 데이터가 흐르고 양쪽이 종료합니다.",
                ),
            ),
            _zero_window,
            story=Story(
                {
                    "client": "CLOSED SYN-SENT ESTABLISHED FIN-WAIT-1 TIME-WAIT CLOSED",
                    "server": "CLOSED LISTEN SYN-RECEIVED ESTABLISHED CLOSE-WAIT LAST-ACK CLOSED",
                }
            ),
        ),
        Scenario(
            "keepalive",
            _text(
                "Keep-alive: an idle connection checked, then given up",
                "킵얼라이브: 유휴 연결의 확인과 포기",
            ),
            _notes(
                (
                    "The client turns keep-alive on with a 10 s idle time (RFC 9293 3.8.4 says at least two hours by default; this is a demo).",
                    "After 10 s of silence it sends a probe: an ACK with a sequence number one below SND.NXT. The server must answer it, and does, with an ACK.",
                    "At 15 s the path breaks. The next probes, 2 s apart, get no answer; after 3 unanswered probes the client gives up: it sends a RST and is CLOSED.",
                ),
                (
                    "클라이언트는 유휴 시간 10초로 킵얼라이브를 켭니다 (RFC 9293 3.8.4의 기본값은 최소 2시간이며, 여기서는 데모입니다).",
                    "10초 동안 조용하면 프로브를 보냅니다. SND.NXT보다 하나 작은 순서 번호를 가진 ACK입니다. 서버는 여기에 답해야 하며, ACK로 답합니다.",
                    "15초에 경로가 끊깁니다. 2초 간격의 다음 프로브들은 답을 받지 못하고, 답 없는 프로브가 3개가 되면 클라이언트는 포기합니다. RST를 보내고 CLOSED가 됩니다.",
                ),
            ),
            _keepalive,
            story=Story(
                {
                    "client": "CLOSED SYN-SENT ESTABLISHED CLOSED",
                    "server": "CLOSED LISTEN SYN-RECEIVED ESTABLISHED",
                },
                (
                    (
                        "client .",
                        "server .",
                        "client . dropped",
                        "client . dropped",
                        "client . dropped",
                        "client R dropped",
                    ),
                ),
            ),
        ),
        Scenario(
            "nagle",
            _text(
                "Nagle's algorithm meets a delayed ACK",
                "네이글 알고리즘과 지연 ACK의 만남",
            ),
            _notes(
                (
                    "The client's application writes its request in two small pieces, 1 ms apart, then waits for the reply.",
                    "The first piece goes at once. Nagle's algorithm (RFC 9293 3.7.4) holds the second: a small segment waits while data is unacknowledged.",
                    "The server has no reply to send yet, so it delays its ACK (RFC 9293 3.8.6.3) until its 200 ms timer fires. Only then does the second piece leave.",
                    "The reply comes 200 ms late. A client that writes its request at once, or sets TCP_NODELAY, avoids the stall.",
                ),
                (
                    "클라이언트 애플리케이션은 요청을 1 ms 간격의 작은 두 조각으로 쓰고, 응답을 기다립니다.",
                    "첫 조각은 곧바로 나갑니다. 네이글 알고리즘(RFC 9293 3.7.4)은 두 번째 조각을 붙잡습니다. 확인되지 않은 데이터가 있는 동안 작은 세그먼트는 기다립니다.",
                    "서버는 아직 보낼 응답이 없으므로 ACK를 지연시키고(RFC 9293 3.8.6.3), 200 ms 타이머가 울려서야 보냅니다. 그제서야 두 번째 조각이 나갑니다.",
                    "응답은 200 ms 늦게 옵니다. 요청을 한 번에 쓰거나 TCP_NODELAY를 설정한 클라이언트는 이 지연을 피합니다.",
                ),
            ),
            _nagle,
            story=Story(
                {
                    "client": "CLOSED SYN-SENT ESTABLISHED FIN-WAIT-1 TIME-WAIT CLOSED",
                    "server": "CLOSED LISTEN SYN-RECEIVED ESTABLISHED CLOSE-WAIT LAST-ACK CLOSED",
                },
                (("client P.", "server .", "client P.", "server P."),),
            ),
        ),
        Scenario(
            "paws",
            _text(
                "PAWS: an old duplicate from one wrap ago",
                "PAWS: 한 바퀴 전의 오래된 중복 세그먼트",
            ),
            _notes(
                (
                    "The client's ISN is 2^32 - 10,000, so its sequence numbers wrap past 0 after 10,000 bytes; both sides carry on, comparing sequence numbers modulo 2^32 (RFC 9293 3.4).",
                    "At 80 ms the network delivers a copy of a segment sent 2^32 bytes earlier (34 s earlier at 1 Gbit/s): its sequence numbers lie inside the server's window again, and its timestamp is 34 s old. (Sending 4 GiB first would make a long demo: the copy is made to look exactly like one.)",
                    "The sequence check alone would take its text as the client's: without timestamps, the stale bytes are delivered. PAWS (RFC 7323 5) compares its timestamp with TS.Recent, finds it older and drops it.",
                    "Every byte of the 40,000 arrives intact.",
                ),
                (
                    "클라이언트의 ISN은 2^32 - 10,000이므로 10,000바이트 뒤에 순서 번호가 0을 지나 한 바퀴 돕니다. 양쪽은 순서 번호를 2^32로 나눈 나머지로 비교하며 계속합니다 (RFC 9293 3.4).",
                    "80 ms에 네트워크가 2^32바이트 전에(1 Gbit/s라면 34초 전에) 보낸 세그먼트의 사본을 전달합니다. 그 순서 번호는 다시 서버의 윈도 안에 있고, 타임스탬프는 34초 전의 것입니다. (먼저 4 GiB를 보내면 데모가 너무 길어지므로, 그런 사본과 똑같이 만든 세그먼트를 씁니다.)",
                    "순서 번호 검사만으로는 그 내용을 클라이언트의 데이터로 받아들입니다. 타임스탬프가 없으면 오래된 바이트가 전달됩니다. PAWS(RFC 7323 5)는 타임스탬프를 TS.Recent와 비교해 더 오래된 것을 알아보고 버립니다.",
                    "40,000바이트가 모두 온전히 도착합니다.",
                ),
            ),
            _paws,
            story=Story(
                {
                    "client": "CLOSED SYN-SENT ESTABLISHED FIN-WAIT-1 TIME-WAIT CLOSED",
                    "server": "CLOSED LISTEN SYN-RECEIVED ESTABLISHED CLOSE-WAIT LAST-ACK CLOSED",
                },
                (("client P. old duplicate",),),
                {"bytes delivered intact": "yes"},
            ),
        ),
        Scenario(
            "lossy-transfer",
            _text("1 MB over a link that loses 5% of packets", "패킷 5%를 잃는 링크로 1 MB 전송"),
            _notes(
                (
                    "One packet in twenty is lost, both ways. CUBIC (RFC 9438) is the congestion control, as on Linux.",
                    "The receiver ACKs out-of-order data at once, with SACK blocks (RFC 2018). From them the sender finds the holes:",
                    "by counting duplicate ACKs (RFC 6675) and by time with RACK (RFC 8985); PRR (RFC 6937) paces the repairs.",
                    "Tail loss probes (RFC 8985 7) go out when the ACKs stop, so few repairs wait for the RTO. Every byte arrives, once, in order.",
                ),
                (
                    "양방향 모두 패킷 스무 개 중 하나가 유실됩니다. 혼잡 제어는 Linux와 같은 CUBIC(RFC 9438)입니다.",
                    "수신자는 순서가 어긋난 데이터에 SACK 블록(RFC 2018)과 함께 즉시 ACK합니다. 송신자는 이를 보고 빠진 곳을 찾습니다.",
                    "중복 ACK를 세어서(RFC 6675), 그리고 시간을 기준으로 RACK(RFC 8985)으로 찾습니다. PRR(RFC 6937)이 재전송의 속도를 조절합니다.",
                    "ACK가 끊기면 테일 손실 프로브(RFC 8985 7)가 나가므로 RTO를 기다리는 복구는 드뭅니다. 모든 바이트가 한 번씩, 순서대로 도착합니다.",
                ),
            ),
            _lossy_transfer,
            story=Story(
                {
                    "client": "CLOSED SYN-SENT ESTABLISHED FIN-WAIT-1 TIME-WAIT CLOSED",
                    "server": "CLOSED LISTEN SYN-RECEIVED ESTABLISHED CLOSE-WAIT LAST-ACK CLOSED",
                },
                facts={"intact (sha256)": "yes"},
            ),
        ),
        Scenario(
            "syn-flood",
            _text(
                "A SYN flood: the handshake through a SYN cookie",
                "SYN 플러드: SYN 쿠키로 이루어지는 핸드셰이크",
            ),
            _notes(
                (
                    "Two SYNs from spoofed addresses (10.0.9.1 and 10.0.9.2) fill the server's backlog of 2: two half-open entries in SYN-RECEIVED.",
                    "The client's SYN finds the SYN queue full. The server keeps nothing for it and answers with a SYN cookie (RFC 4987 3.6):",
                    "the SYN,ACK's ISN is a keyed hash of the addresses, ports and the client's ISN, with the client's MSS folded in; window scale and SACK ride in its timestamp.",
                    "The client's ACK returns the cookie + 1. It checks out, so the server builds the connection only now: ESTABLISHED, then request, reply and close as usual.",
                    "The spoofed entries' SYN,ACKs go nowhere; they are retransmitted at 1, 3, 7, 15 and 31 s, and at 63 s the half-open lifetime drops them.",
                ),
                (
                    "위조된 주소(10.0.9.1, 10.0.9.2)에서 온 SYN 두 개가 백로그 2를 채웁니다. 서버에는 SYN-RECEIVED 상태의 반열림 항목 두 개가 생깁니다.",
                    "클라이언트의 SYN이 도착했을 때 SYN 큐는 가득 차 있습니다. 서버는 아무것도 저장하지 않고 SYN 쿠키로 응답합니다 (RFC 4987 3.6).",
                    "SYN,ACK의 ISN은 주소, 포트, 클라이언트 ISN을 비밀 키로 해시한 값이며, 클라이언트의 MSS가 함께 들어 있습니다. 윈도 스케일과 SACK은 타임스탬프에 실립니다.",
                    "클라이언트의 ACK는 쿠키 + 1을 돌려줍니다. 검증에 성공하면 서버는 그제서야 연결을 만들어 ESTABLISHED가 되고, 요청, 응답, 종료가 평소대로 이어집니다.",
                    "위조된 항목의 SYN,ACK는 어디에도 닿지 않습니다. 1, 3, 7, 15, 31초에 재전송되고, 63초에 반열림 수명이 다해 삭제됩니다.",
                ),
            ),
            _syn_flood,
            story=Story(
                {
                    "client": "CLOSED SYN-SENT ESTABLISHED FIN-WAIT-1 FIN-WAIT-2 TIME-WAIT CLOSED",
                    "server": "CLOSED LISTEN SYN-RECEIVED SYN-RECEIVED SYN-RECEIVED ESTABLISHED CLOSE-WAIT LAST-ACK CLOSED CLOSED CLOSED",
                },
                facts={"SYN cookies validated": "1", "half-open entries expired": "2"},
            ),
        ),
        Scenario(
            "fast-open",
            _text(
                "TCP Fast Open: a cookie first, then the request in the SYN",
                "TCP Fast Open: 먼저 쿠키를 받고, 다음에는 SYN에 요청을 싣기",
            ),
            _notes(
                (
                    "Both hosts turn TCP Fast Open on (RFC 7413), and the server's listener has a Fast Open queue.",
                    "First connection: the client has no cookie for this server yet, so its SYN carries an empty Fast Open option, a cookie request (FO).",
                    "The server answers with a cookie in its SYN,ACK: a keyed hash (SipHash, as Linux) of the client's and the server's addresses. The client caches it. The request goes only after the handshake, so the reply comes two round trips after connect.",
                    "Second connection: the SYN carries the cookie and the 18-byte request itself. The cookie checks out, so the server takes the data at once, in SYN-RECEIVED: its SYN,ACK acknowledges SYN and data, and its application's reply follows before the third ACK (RFC 7413 4.2.2).",
                    "The reply comes one round trip after connect: a round trip saved. Had the cookie been wrong, the SYN,ACK would have acknowledged only the SYN, with a fresh cookie, and the client would have sent the request again after the handshake.",
                ),
                (
                    "두 호스트 모두 TCP Fast Open(RFC 7413)을 켜고, 서버의 리스너에는 Fast Open 큐가 있습니다.",
                    "첫 번째 연결: 클라이언트에게는 아직 이 서버의 쿠키가 없으므로, SYN에 빈 Fast Open 옵션, 곧 쿠키 요청(FO)을 싣습니다.",
                    "서버는 SYN,ACK에 쿠키를 담아 답합니다. 클라이언트와 서버 주소를 비밀 키로 해시한 값(Linux처럼 SipHash)입니다. 클라이언트는 이를 캐시에 저장합니다. 요청은 핸드셰이크가 끝난 뒤에야 나가므로, 응답은 connect 뒤 두 번의 왕복 시간 만에 옵니다.",
                    "두 번째 연결: SYN에 쿠키와 18바이트 요청 자체가 실립니다. 쿠키가 유효하므로 서버는 SYN-RECEIVED 상태에서 곧바로 데이터를 받아들입니다. SYN,ACK는 SYN과 데이터를 함께 확인하고, 서버 애플리케이션의 응답은 세 번째 ACK 전에 나갑니다 (RFC 7413 4.2.2).",
                    "응답은 connect 뒤 한 번의 왕복 시간 만에 옵니다. 왕복 한 번을 아낀 것입니다. 쿠키가 틀렸다면 SYN,ACK는 SYN만 확인하고 새 쿠키를 보냈을 것이며, 클라이언트는 핸드셰이크 뒤에 요청을 다시 보냈을 것입니다.",
                ),
            ),
            _fast_open,
            # (the client's two TIME-WAITs may end in either order: its states are not told)
            story=Story(
                {
                    "server": "CLOSED LISTEN SYN-RECEIVED ESTABLISHED CLOSE-WAIT LAST-ACK CLOSED SYN-RECEIVED ESTABLISHED CLOSE-WAIT LAST-ACK CLOSED",
                },
                (("client S", "server S.", "server P.", "client ."),),
                {"Fast Open SYNs accepted": "1"},
            ),
        ),
    )
}


def run_scenario(name: str, options: Options | None = None) -> Outcome:
    try:
        scenario = SCENARIOS[name]
    except KeyError:
        raise ValueError(
            f"unknown scenario {name!r}; run 'synack demo --list' to see them"
        ) from None
    return scenario.run(options or Options())


def relative_segments(outcome: Outcome) -> list[tuple[str, str, int, int, int, str]]:
    """(sender, flags, relative seq, relative ack, len, fate) of every packet on the links.

    Sequence numbers are relative to the sender's ISN and acknowledgments to
    the receiver's, each ISN taken from that side's first SYN.
    """
    isn: dict[str, int] = {}
    rows = []
    for rec in outcome.recorder.records:
        if not isinstance(rec, PacketRecord) or not rec.flags:
            continue
        if "S" in rec.flags and rec.src not in isn:
            isn[rec.src] = rec.seq
        seq = (rec.seq - isn.get(rec.src, rec.seq)) % (1 << 32) if rec.src in isn else rec.seq
        ack = (
            (rec.ack - isn[rec.dst]) % (1 << 32) if "." in rec.flags and rec.dst in isn else rec.ack
        )
        rows.append((rec.src, rec.flags, seq, ack, rec.len, rec.fate))
    return rows


def state_paths(outcome: Outcome) -> dict[str, list[str]]:
    """Each endpoint's states, in order, starting from its first state."""
    from synack.trace.records import StateRecord

    paths: dict[str, list[str]] = {}
    for rec in outcome.recorder.records:
        if isinstance(rec, StateRecord):
            path = paths.setdefault(rec.endpoint, [rec.old])
            path.append(rec.new)
    return paths


__all__ = [
    "LANGUAGES", "SCENARIOS", "Options", "Outcome", "Scenario", "relative_segments",
    "run_scenario", "state_paths",
]  # fmt: skip
