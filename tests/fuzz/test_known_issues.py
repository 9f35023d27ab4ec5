"""Findings of the Host fuzzer (docs/fuzzing.md), kept as regression tests once
fixed (a finding not fixed yet is a strict xfail here, with its reason)."""

from __future__ import annotations

from ipaddress import ip_address

from synack.host import Host
from synack.tcp.config import TcpConfig
from synack.tcp.state import State

US, THEM = ip_address("10.0.0.2"), ip_address("10.0.0.9")


def test_close_in_syn_sent_frees_the_host_table() -> None:
    """Fixed: close() in SYN-SENT deleted the TCB without waking the Host, which
    kept the CLOSED connection, and its 4-tuple busy, until the old SYN
    retransmission deadline fired."""
    host = Host(US, TcpConfig())
    conn = host.connect((THEM, 7000), 0.0)
    host.packets_to_send(0.0)  # the SYN
    conn.close(0.1)
    host.packets_to_send(0.1)
    assert conn.state is State.CLOSED
    assert host.connections == {}
    # the 4-tuple is free again for a new active open
    host.connect((THEM, 7000), 0.2, local_port=conn.local[1])
