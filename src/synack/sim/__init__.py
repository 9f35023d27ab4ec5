"""The simulated network: a discrete-event loop on a virtual clock."""

from synack.sim.network import Link, LinkConfig, Network

__all__ = ["Link", "LinkConfig", "Network"]
