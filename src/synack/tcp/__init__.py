"""The engine: RFC 9293 TCP, sans-I/O (see docs/architecture.md)."""
