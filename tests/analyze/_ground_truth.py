"""Simulated connections whose true states are known, seen as a passive observer sees them.

Each run is one connection on the simulator over a link that loses,
reorders and duplicates packets; the packet tap is the observer (it sits at
the sender's end of each link), and what it saw is written as a pcap and
read back by the capture reader, as ``synack analyze`` reads any capture.
``compare`` replays the observed segments through the passive inference and
checks, at every segment, the sender's
inferred state against the true one just after it sent, and the receiver's
against the true states it passed through at the instant the segment
arrived.
"""

from __future__ import annotations

import contextlib
import io
from collections import Counter
from dataclasses import dataclass, field

from synack.analyze.capture import read_segments
from synack.analyze.flows import Flow
from synack.analyze.model import CapturedSegment
from synack.scenarios import REQUEST, Options, World
from synack.sim.network import LinkConfig
from synack.tcp.errors import TcpError
from synack.trace.pcap import captured_packets, pcap_bytes
from synack.trace.records import PacketRecord, Record, StateRecord


def simulate(seed: int) -> list[Record]:
    link = LinkConfig(delay=0.01, jitter=0.003, loss=0.04, duplicate=0.02, reorder=0.03)
    world = World("truth", Options(seed=seed, msl=1.0), link=link)
    world.server.listen(80)
    client = world.client.connect(("10.0.0.2", 80), 0.0)
    world.send(client, REQUEST, "client")
    world.at(1.5 + (seed % 7) * 0.1, client.close)

    def on_server(conn, event):  # type: ignore[no-untyped-def]
        if not world.server_sent and world.server_received == REQUEST:
            world.send(conn, bytes(4000 + 500 * (seed % 5)), "server")
            if seed % 3 == 0:
                conn.close()  # the server closes first in a third of the runs

    from synack.tcp.events import EndOfStream

    def on_server_eof(conn, event):  # type: ignore[no-untyped-def]
        on_server(conn, event)
        if isinstance(event, EndOfStream):
            with contextlib.suppress(TcpError):
                conn.close()  # it may have closed already

    world.on_server = on_server_eof
    return list(world.run(limit=60.0).recorder.records)


def observed(records: list[Record]) -> list[tuple[PacketRecord, CapturedSegment]]:
    """The run's capture as a pcap file, read back by ``synack analyze``'s reader:
    each segment with the packet record it came from (record N is the Nth packet)."""
    packets = captured_packets(records)
    capture = io.BytesIO(pcap_bytes(records))
    return [(packets[seg.record - 1], seg) for seg in read_segments(capture)]


@dataclass
class Comparison:
    checks: int = 0
    matches: int = 0
    mismatches: Counter[str] = field(default_factory=Counter)
    unexplained: list[tuple[float, str, str, str]] = field(default_factory=list)


def true_states(records: list[Record], endpoint: str) -> list[tuple[float, str, str]]:
    return [
        (r.t, r.old, r.new)
        for r in records
        if isinstance(r, StateRecord) and r.endpoint == endpoint
    ]


def state_after(changes: list[tuple[float, str, str]], t: float) -> str:
    state = changes[0][1] if changes else "CLOSED"
    for when, _, new in changes:
        if when <= t + 1e-9:
            state = new
    return state


def states_during(changes: list[tuple[float, str, str]], t: float) -> set[str]:
    before = state_after(changes, t - 1e-6)
    return {before} | {new for when, _, new in changes if abs(when - t) < 1e-9}


# Why a passive observer's state differs from the truth, by what it cannot see.
QUEUED_CLOSE = "CLOSE with data still queued: the FIN is not on the wire yet"
IN_FLIGHT = "seen on the wire but not arrived yet (the receiver moves later)"
LOST_DOWNSTREAM = "lost after the observer (the receiver never moved)"
UNSEEN_END = "TIME-WAIT's end, or a reset the receiver makes in reply, is not on the wire yet"
UNEXPLAINED = "unexplained"

_CLOSING = {"FIN-WAIT-1", "LAST-ACK", "CLOSING", "FIN-WAIT-2", "TIME-WAIT"}


def explain(true_states: set[str], inferred: str, lost: bool, receiver: bool) -> str:
    """Which of the things a passive observer cannot see explains a difference."""
    if lost:
        return LOST_DOWNSTREAM
    if "CLOSED" in true_states and (receiver or inferred == "TIME-WAIT"):
        return UNSEEN_END  # its RST (data after CLOSE, say) comes in its next segment
    if ({"FIN-WAIT-1", "LAST-ACK"} & true_states) and inferred in ("ESTABLISHED", "CLOSE-WAIT"):
        return QUEUED_CLOSE  # the application closed; its TCP still sends the data first
    order = ["SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2",
             "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT", "CLOSED"]  # fmt: skip
    if inferred in order and all(t in order for t in true_states):
        # the inference is ahead of the truth: it applied a segment still in flight
        if all(order.index(inferred) > order.index(t) for t in true_states):
            return IN_FLIGHT
        if inferred in _CLOSING and true_states <= {"ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2"}:
            return IN_FLIGHT
    return UNEXPLAINED


def compare(records: list[Record], into: Comparison) -> None:
    pairs = observed(records)
    if not pairs:
        return
    names = {"10.0.0.1": "client", "10.0.0.2": "server"}
    truth = {name: true_states(records, name) for name in names.values()}
    flow = Flow(1, pairs[0][1])
    for rec, seg in pairs:
        flow.feed(seg, 0.0)
        src, dst = names[str(seg.src)], names[str(seg.dst)]
        src_side, dst_side = flow.side_names(seg)
        inferred_src = flow.sides[src_side].state
        inferred_dst = flow.sides[dst_side].state
        into.checks += 2
        true_src = state_after(truth[src], rec.t)
        if inferred_src == true_src:
            into.matches += 1
        else:
            into.mismatches[explain({true_src}, inferred_src, False, False)] += 1
        lost = rec.arrival is None
        if lost:
            arrived = {state_after(truth[dst], rec.t)}  # lost: the receiver did not move
        else:
            arrived = states_during(truth[dst], rec.arrival)
        if inferred_dst in arrived or inferred_dst == "unknown":
            into.matches += 1
        else:
            into.mismatches[explain(arrived, inferred_dst, lost, True)] += 1
            if explain(arrived, inferred_dst, lost, True) == UNEXPLAINED:
                into.unexplained.append((rec.t, dst, "/".join(sorted(arrived)), inferred_dst))
