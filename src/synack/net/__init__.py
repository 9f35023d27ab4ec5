"""Drivers for real networks: a TUN device inside a network namespace (the lab)."""
