"""synack: TCP you can watch.

An RFC 9293 TCP engine with no I/O of its own (``synack.tcp``), a wire codec
(``synack.wire``), a host stack that demultiplexes connections
(``synack.host``), and drivers and tools built on them.
"""

__version__ = "0.1.0"
