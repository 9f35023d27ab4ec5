"""Findings of the Host fuzzer (docs/fuzzing.md) that are not fixed yet, kept as
strict xfails: each becomes a pass, and fails the build, once its bug is fixed."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from synack.host import Host
from synack.tcp.config import TcpConfig
from synack.tcp.state import State

US, THEM = ip_address("10.0.0.2"), ip_address("10.0.0.9")


@pytest.mark.xfail(
    strict=True,
    reason="close() in SYN-SENT deletes the TCB without waking the Host (no _notify), "
    "so the Host keeps the CLOSED connection in its table, and its 4-tuple busy, "
    "until the old SYN retransmission deadline fires",
)
def test_close_in_syn_sent_leaves_the_host_table() -> None:
    host = Host(US, TcpConfig())
    conn = host.connect((THEM, 7000), 0.0)
    host.packets_to_send(0.0)  # the SYN
    conn.close(0.1)
    host.packets_to_send(0.1)
    assert conn.state is State.CLOSED
    assert host.connections == {}
    # the 4-tuple is free again for a new active open
    host.connect((THEM, 7000), 0.2, local_port=conn.local[1])
