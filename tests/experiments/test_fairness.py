"""Two to four flows with one algorithm share a bottleneck fairly: Jain's
index of their throughput over the second half of the run is at least 0.9,
and together they fill the link."""

from __future__ import annotations

import pytest

from synack.host import Host
from synack.sim.network import LinkConfig, Network
from synack.tcp.config import TcpConfig

BOTTLENECK = LinkConfig(delay=0.01, bandwidth=10e6, queue_limit=40)  # 10 Mbit/s
SECONDS = 40.0


def jain(shares: list[int]) -> float:
    return sum(shares) ** 2 / (len(shares) * sum(x * x for x in shares))


def run_flows(algorithm: str, flows: int) -> list[int]:
    """Bytes each flow delivered over the second half of the run."""
    config = TcpConfig(congestion_control=algorithm, msl=1.0, recv_buffer=1 << 20,
                       send_buffer=1 << 20)  # fmt: skip
    net = Network(seed=5, default_link=LinkConfig(delay=0.01))
    client = net.add_host(Host("10.0.0.1", config, secret=b"c" * 16))
    server = net.add_host(Host("10.0.0.2", config, secret=b"s" * 16))
    net.set_link(server, client, BOTTLENECK)
    server.listen(80)
    receivers = [client.connect(("10.0.0.2", 80), 0.5 * i) for i in range(flows)]
    senders = []
    delivered = [0] * flows
    halfway: list[int] = []
    chunk = bytes(65536)

    def app(network: Network) -> None:
        accepted = server.listeners[80].accept_queue
        while accepted:
            senders.append(accepted.popleft())
        for conn in senders:
            while conn.send_space > len(chunk):
                conn.send(chunk)
        for i, conn in enumerate(receivers):
            if conn.receive_queued:
                delivered[i] += len(conn.receive())
        if network.now >= SECONDS / 2 and not halfway:
            halfway.extend(delivered)

    net.apps.append(app)
    net.run(until=SECONDS)
    return [after - before for after, before in zip(delivered, halfway, strict=True)]


@pytest.mark.parametrize("algorithm", ["cubic", "newreno"])
@pytest.mark.parametrize("flows", [2, 3, 4])
def test_flows_share_a_bottleneck_fairly(algorithm: str, flows: int) -> None:
    shares = run_flows(algorithm, flows)
    assert jain(shares) >= 0.9, shares
    link_bytes = BOTTLENECK.bandwidth / 8 * SECONDS / 2  # type: ignore[operator]
    assert sum(shares) >= 0.85 * link_bytes, shares  # and the link stays full
