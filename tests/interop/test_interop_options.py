"""The options negotiated with the kernel, as tshark sees them on synack0
inside the lab: the SYN and the SYN,ACK both carry MSS, window scale,
SACK-permitted and timestamps, with synack as the server and as the client,
and the segments after the handshake carry timestamps. synack's own
``--pcap`` files open in tshark without a malformed packet, and hold the
same packets as tshark's capture."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from _interop import Proc, kernel_peer, synack, tshark_fields

from synack.net.lab import Lab

pytestmark = pytest.mark.interop

TIMEOUT = 20.0
SIZE = 100 * 1000  # several full segments each way
ECHO_PORT, SINK_PORT = 7, 9000
FIELDS = [
    "tcp.stream", "ip.src", "tcp.srcport", "tcp.dstport", "tcp.flags.syn", "tcp.flags.ack",
    "tcp.flags.reset", "tcp.flags", "tcp.seq_raw", "tcp.ack_raw", "tcp.len",
    "tcp.options.mss_val", "tcp.options.wscale.shift", "tcp.options.sack_perm",
    "tcp.options.timestamp.tsval", "tcp.options.timestamp.tsecr",
]  # fmt: skip


@pytest.fixture(scope="module")
def lab(lab_factory: Callable[..., Lab]) -> Lab:
    return lab_factory()


@pytest.fixture(scope="module")
def capture(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One connection each way, captured by tshark on the kernel's side of
    synack0 and by synack's ``--pcap``: a kernel client to synack's echo
    server, then synack's client uploading to a kernel sink."""
    folder = tmp_path_factory.mktemp("capture")
    files = {
        "tshark": folder / "synack0.pcapng",
        "listen": folder / "listen.pcap",
        "connect": folder / "connect.pcap",
    }
    started: list[Proc] = []

    def start(argv: list[str], **kwargs: object) -> Proc:
        started.append(Proc(argv, **kwargs))  # type: ignore[arg-type]
        return started[-1]

    try:
        tshark = start(
            lab.command(["tshark", "-n", "-i", lab.device, "-f", "tcp", "-w", str(files["tshark"])])
        )
        tshark.wait_for(r"Capturing on", stream="err", timeout=TIMEOUT)

        server = start(
            synack("listen", ECHO_PORT, "--count", 1, "--name", lab.name, "--pcap", files["listen"])
        )
        server.wait_for(r"synack serves", stream="err")
        client = start(kernel_peer(lab, "echo-client", lab.synack_v4, ECHO_PORT, SIZE))
        assert client.wait(TIMEOUT) == 0, client.describe()
        assert client.wait_for(r"^received (\d+)").group(1) == str(SIZE), client.describe()
        assert server.wait(TIMEOUT) == 0, server.describe()

        sink = start(kernel_peer(lab, "sink", lab.kernel_v4, SINK_PORT))
        sink.wait_for(r"^ready")
        upload = start(
            synack(
                "connect", lab.kernel_v4, SINK_PORT, "--name", lab.name, "--pcap", files["connect"]
            ),
            stdin=bytes(range(256)) * (SIZE // 256),
        )
        assert upload.wait(TIMEOUT) == 0, upload.describe()
        assert sink.wait(TIMEOUT) == 0, sink.describe()

        time.sleep(0.3)  # the last ACKs
        tshark.interrupt(TIMEOUT)  # SIGINT: tshark writes its file out
    finally:
        for proc in reversed(started):
            proc.kill()
    return files


def connection(path: Path, server_port: int) -> list[dict[str, str]]:
    """The packets of the (one) connection to ``server_port`` in ``path``."""
    rows = tshark_fields(path, FIELDS, "tcp")
    streams = {r["tcp.stream"] for r in rows if int(r["tcp.dstport"]) == server_port}
    assert len(streams) == 1, f"connections to port {server_port}: {streams}"
    return [r for r in rows if r["tcp.stream"] in streams]


def syn_pair(
    rows: list[dict[str, str]],
) -> tuple[dict[str, str], dict[str, str], list[dict[str, str]]]:
    """The last SYN, the SYN,ACK that answered, and every SYN sent. On a loaded
    machine the first SYN's answer sometimes comes after the SYN went again
    (RTO): a retransmission has the same ISN."""
    syn = [r for r in rows if r["tcp.flags.syn"] == "1" and r["tcp.flags.ack"] == "0"]
    syn_ack = [r for r in rows if r["tcp.flags.syn"] == "1" and r["tcp.flags.ack"] == "1"]
    assert syn and len({r["tcp.seq_raw"] for r in syn}) == 1, syn  # one ISN, maybe resent
    assert len(syn_ack) == 1, (syn, syn_ack)
    return syn[-1], syn_ack[0], syn


@pytest.mark.parametrize(("synack_role", "port"), [("server", ECHO_PORT), ("client", SINK_PORT)])
def test_syn_and_syn_ack_carry_mss_wscale_sackok_timestamps(
    capture: dict[str, Path], lab: Lab, synack_role: str, port: int
) -> None:
    syn, syn_ack, syns = syn_pair(connection(capture["tshark"], port))
    client, server = (lab.kernel_v4, lab.synack_v4)[:: 1 if synack_role == "server" else -1]
    assert (syn["ip.src"], syn_ack["ip.src"]) == (str(client), str(server))
    for name, row in (("SYN", syn), ("SYN,ACK", syn_ack)):
        assert row["tcp.options.mss_val"] == "1460", (name, row)  # MTU 1500 over IPv4
        assert row["tcp.options.wscale.shift"].isdigit(), (name, row)
        assert row["tcp.options.sack_perm"], (name, row)
        assert row["tcp.options.timestamp.tsval"].isdigit(), (name, row)
    # the SYN,ACK echoes the timestamp value of a SYN it got (Linux's answer to
    # a resent SYN still echoes the first one's, which its request kept)
    echoed = syn_ack["tcp.options.timestamp.tsecr"]
    assert echoed in {r["tcp.options.timestamp.tsval"] for r in syns}, (echoed, syns)


@pytest.mark.parametrize("port", [ECHO_PORT, SINK_PORT])
def test_segments_after_handshake_carry_timestamps(
    capture: dict[str, Path], lab: Lab, port: int
) -> None:
    rows = [r for r in connection(capture["tshark"], port) if r["tcp.flags.syn"] == "0"]
    data = [r for r in rows if int(r["tcp.len"]) > 0]
    senders = Counter(r["ip.src"] for r in data)
    assert senders[str(lab.synack_v4)] > 0 and senders[str(lab.kernel_v4)] > 0, senders
    assert all(r["tcp.options.timestamp.tsval"] for r in data), [
        r for r in data if not r["tcp.options.timestamp.tsval"]
    ]
    # RFC 7323 3.2: once negotiated, every segment but a RST carries them (pure ACKs too)
    others = [r for r in rows if r["tcp.flags.reset"] == "0" and int(r["tcp.len"]) == 0]
    assert all(r["tcp.options.timestamp.tsval"] for r in others), [
        r for r in others if not r["tcp.options.timestamp.tsval"]
    ]


@pytest.mark.parametrize(("which", "port"), [("listen", ECHO_PORT), ("connect", SINK_PORT)])
def test_synack_pcap_opens_in_tshark_and_matches_the_wire(
    capture: dict[str, Path], lab: Lab, which: str, port: int
) -> None:
    own = capture[which]
    assert own.stat().st_size > 24  # more than a pcap file header
    malformed = tshark_fields(
        own, ["frame.number"], "_ws.malformed || _ws.expert.severity >= error"
    )
    assert malformed == [], f"malformed packets in synack's {which} pcap: {malformed}"

    def key(row: dict[str, str]) -> tuple[str, ...]:
        return tuple(
            row[k] for k in ("ip.src", "tcp.flags", "tcp.seq_raw", "tcp.ack_raw", "tcp.len")
        )

    mine = Counter(key(r) for r in connection(own, port))
    assert mine.total() >= 6, mine  # a handshake, data both ways, a close
    # The wire, up to the last packet synack saw, holds exactly synack's packets;
    # what the kernel sent after synack exited (a RST answering a second ACK for
    # its retransmitted FIN, say) is not in synack's file.
    # A kernel retransmission that synack never read (on a loaded machine the
    # kernel may resend its FIN before synack's ACK reaches it, and synack then
    # finishes without reading the copy) is skipped: it repeats a packet synack has.
    wire = [key(r) for r in connection(capture["tshark"], port)]
    seen: Counter[tuple[str, ...]] = Counter()
    unread: list[tuple[str, ...]] = []
    end = 0
    while end < len(wire) and not seen >= mine:
        packet = wire[end]
        end += 1
        if packet[0] == str(lab.kernel_v4) and mine[packet] and seen[packet] >= mine[packet]:
            unread.append(packet)
            continue
        seen[packet] += 1
    assert seen == mine, f"only in synack's pcap: {mine - seen}; only on the wire: {seen - mine}"
    assert all(mine[packet] for packet in unread)  # copies of packets synack did read
    late = wire[end:]
    assert all(packet[0] == str(lab.kernel_v4) for packet in late), late
