"""Two Hosts on a simulated Network, with small applications driving them.

``Pair`` builds a client and a server with fixed ISNs, one TraceRecorder for
both, and a tap that keeps every packet as a ``Wire`` record with sequence
and acknowledgment numbers relative to the sender's and receiver's ISNs (the
way tcpdump shows them). ``App`` is a tiny application on one host: it reads
what arrives, writes an outbox, and can react to end of stream. Apps run in
the Network's ``apps`` hook, so they act at the same virtual instant as the
input that woke them, before the host's output is pulled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from synack.host import Host
from synack.sim.network import LinkConfig, Network, PacketEvent
from synack.tcp.config import TcpConfig
from synack.tcp.connection import Connection
from synack.tcp.events import DataReceived, EndOfStream, Event
from synack.tcp.isn import FixedIsn
from synack.trace.records import StateRecord, TimerRecord, TraceRecorder
from synack.wire import seq as sq
from synack.wire.ip import decode_tcp_packet
from synack.wire.segment import ACK, FIN, PSH, SYN, tcpdump_flags

CLIENT_ADDRESS = "10.0.0.1"
SERVER_ADDRESS = "10.0.0.2"
PORT = 80
CLIENT_ISN = 1000
SERVER_ISN = 5000


@dataclass(frozen=True, slots=True)
class Wire:
    """One packet as the link saw it."""

    t: float
    src: str  # endpoint name of the sender
    flags: str  # tcpdump letters
    seq: int  # relative to the sender's ISN
    ack: int  # relative to the receiver's ISN (0 without ACK)
    len: int
    win: int
    fate: str  # "delivered", "lost", ...
    raw_seq: int
    raw_flags: int

    @property
    def short(self) -> tuple[str, str, int, int, int]:
        return (self.src, self.flags, self.seq, self.ack, self.len)


class App:
    """A small application on one host, for one connection."""

    def __init__(self, host: Host, name: str) -> None:
        self.host = host
        self.name = name
        self.conn: Connection | None = None
        self.events: list[Event] = []
        self.received = bytearray()
        self.reading = True
        self.eof = False
        self.outbox = memoryview(b"")
        self.after_send: Callable[[App], None] | None = None
        self.on_eof: Callable[[App], None] | None = None

    def write(self, data: bytes, then: Callable[[App], None] | None = None) -> None:
        """Queue ``data``; call ``then(app)`` once all of it is in the send buffer."""
        self.outbox = memoryview(bytes(self.outbox) + data)
        self.after_send = then
        self.pump()

    def read_now(self) -> None:
        self.reading = True
        self._read()

    def pump(self) -> None:
        while (hev := self.host.next_event()) is not None:
            if self.conn is None:
                self.conn = hev.connection
            assert hev.connection is self.conn, "one connection per App"
            event = hev.event
            self.events.append(event)
            if isinstance(event, EndOfStream):
                self.eof = True
                self._read()
                if self.on_eof is not None:
                    self.on_eof(self)
            elif isinstance(event, DataReceived):
                self._read()
        self._push()

    def _read(self) -> None:
        conn = self.conn
        if self.reading and conn is not None and conn.receive_queued:
            self.received += conn.receive()

    def _push(self) -> None:
        conn = self.conn
        if conn is None:
            return
        if self.outbox:
            n = conn.send(self.outbox)
            self.outbox = self.outbox[n:]
        if not self.outbox and self.after_send is not None:
            then, self.after_send = self.after_send, None
            then(self)

    def event_types(self) -> list[type[Event]]:
        return [type(e) for e in self.events]


class Pair:
    """A client and a server on one Network, with a recorder and a wire log."""

    def __init__(
        self,
        config: TcpConfig | None = None,
        server_config: TcpConfig | None = None,
        client_isn: int = CLIENT_ISN,
        server_isn: int = SERVER_ISN,
        link: LinkConfig | None = None,
        seed: int = 0,
        listen: bool = True,
        names: tuple[str, str] = ("client", "server"),
        addresses: tuple[str, str] = (CLIENT_ADDRESS, SERVER_ADDRESS),
        apps: bool = True,
    ) -> None:
        config = config if config is not None else TcpConfig(msl=1.0)
        self.recorder = TraceRecorder()
        cname, sname = names
        self.client = Host(
            addresses[0], config, self.recorder.endpoint(cname), isn=FixedIsn(client_isn)
        )
        self.server = Host(
            addresses[1],
            server_config or config,
            self.recorder.endpoint(sname),
            isn=FixedIsn(server_isn),
        )
        self.net = Network(seed=seed, default_link=link)
        self.net.add_host(self.client)
        self.net.add_host(self.server)
        self._names = {id(self.client): cname, id(self.server): sname}
        self._isn = {cname: client_isn, sname: server_isn}
        self.wire: list[Wire] = []
        self.net.taps.append(self._tap)
        self.capp = App(self.client, cname)
        self.sapp = App(self.server, sname)
        if apps:
            self.net.apps.append(lambda net: self.pump())
        if listen:
            self.server.listen(PORT)

    # -- driving ------------------------------------------------------------
    def connect(self) -> Connection:
        conn = self.client.connect((SERVER_ADDRESS, PORT), self.net.now)
        self.capp.conn = conn
        return conn

    def pump(self) -> None:
        self.capp.pump()
        self.sapp.pump()

    def run(self, until: float | None = None) -> None:
        """Run to ``until`` (or until idle); apps see every event by the end."""
        self.net.run(until=until)
        self.pump()
        if until is None:
            self.net.run()  # whatever the last pump queued
            self.pump()

    def run_until(self, condition: Callable[[], bool], timeout: float = 600.0) -> None:
        assert self.net.run_until(condition, timeout), "condition never held"

    def drop(self, src: str, flags: int, nth: int = 1, count: int = 1, length: int | None = None):
        """Lose the ``nth`` packet from ``src`` whose flags are exactly ``flags``."""
        names = self._names

        def match(s: Host, d: Host, packet: bytes) -> bool:
            if names[id(s)] != src:
                return False
            _, seg = decode_tcp_packet(packet)
            return (seg.flags & ~PSH) == flags and (length is None or len(seg.payload) == length)

        return self.net.drop(match, nth, count)

    # -- looking ------------------------------------------------------------
    def _tap(self, event: PacketEvent) -> None:
        now, fate = event.sent, event.fate
        if fate == "dropped":
            fate = "lost"  # a scripted drop is a loss, as far as these tests care
        _, seg = decode_tcp_packet(event.packet)
        sname, dname = self._names[id(event.src)], self._names[id(event.dst)]
        rel_ack = sq.sub(seg.ack, self._isn[dname]) if seg.flags & ACK else 0
        self.wire.append(
            Wire(
                now,
                sname,
                tcpdump_flags(seg.flags),
                sq.sub(seg.seq, self._isn[sname]),
                rel_ack,
                len(seg.payload),
                seg.window,
                fate,
                seg.seq,
                seg.flags,
            )
        )

    def sent(self, since: float = 0.0) -> list[Wire]:
        """Packets put on the wire (each once, whatever its fate), from ``since`` on."""
        seen: list[Wire] = []
        for w in self.wire:
            if w.t >= since and w.fate != "duplicated":
                seen.append(w)
        return seen

    def lives(self, name: str) -> list[list[str]]:
        """The chains of states of each connection object ``name`` had, in order.

        A record leaving CLOSED starts a new life (a Host makes a fresh
        connection in LISTEN for every segment that reaches a listener);
        within a life every record must start where the previous one ended.
        """
        lives: list[list[str]] = []
        for r in self.recorder.records:
            if not isinstance(r, StateRecord) or r.endpoint != name:
                continue
            if lives and lives[-1][-1] == r.old and r.old != "CLOSED":
                lives[-1].append(r.new)
            else:
                assert r.old == "CLOSED", f"{name}: {r.old} does not follow {lives}"
                lives.append([r.old, r.new])
        return lives

    def states(self, name: str) -> list[str]:
        """The one chain of states of ``name``'s only connection."""
        lives = self.lives(name)
        assert len(lives) <= 1, f"{name} had {len(lives)} connections: {lives}"
        return lives[0] if lives else []

    def state_time(self, name: str, new: str, nth: int = 0) -> float:
        times = [
            r.t
            for r in self.recorder.records
            if isinstance(r, StateRecord) and r.endpoint == name and r.new == new
        ]
        return times[nth]

    def timers(self, name: str, timer: str) -> list[float]:
        return [
            r.t
            for r in self.recorder.records
            if isinstance(r, TimerRecord) and r.endpoint == name and r.timer == timer
        ]

    def assert_all_closed(self) -> None:
        for host in (self.client, self.server):
            assert host.connections == {}, host.connections
            assert host.time_wait_count == 0
        assert self.net.next_time() is None, "the network is not idle"


def is_syn(w: Wire) -> bool:
    return bool(w.raw_flags & SYN)


def is_fin(w: Wire) -> bool:
    return bool(w.raw_flags & FIN)


HANDSHAKE = [
    ("client", "S", 0, 0, 0),
    ("server", "S.", 0, 1, 0),
    ("client", ".", 1, 1, 0),
]
