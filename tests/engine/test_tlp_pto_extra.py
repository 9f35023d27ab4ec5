"""The tail loss probe's timeout with ``tlp_pto_extra``: 2 x SRTT plus the
extra (Linux's TCP_TIMEOUT_MIN) when more than one segment is out, so that a
probe never fires at once after a zero RTT; one segment out still waits for
the peer's delayed ACK."""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import MSS, PLAIN, out, sack_connection

from synack.tcp.config import TcpConfig
from synack.tcp.recovery import WORST_CASE_DELAYED_ACK

CONFIG = replace(PLAIN, sack=True)


def probe_after(config: TcpConfig, size: int) -> float:
    """How long after sending ``size`` bytes the probe is due (SRTT: 0, the
    handshake took no time)."""
    conn = sack_connection(config)
    conn.send(bytes(size))
    assert out(conn, 1.0)
    deadline = conn.recovery.probe_deadline
    assert deadline is not None
    return deadline - 1.0


@pytest.mark.parametrize(
    ("extra", "size", "after"),
    [
        (0.0, 3 * MSS, 0.0),
        (0.002, 3 * MSS, 0.002),
        (0.002, MSS, WORST_CASE_DELAYED_ACK),
    ],
)
def test_probe_timeout(extra: float, size: int, after: float) -> None:
    config = replace(CONFIG, tlp_pto_extra=extra)
    assert probe_after(config, size) == pytest.approx(after)
