"""asyncio over synack: Transport/Protocol, and streams on top of them.

:class:`Stack` puts a Host on any driver (the TUN driver in the lab,
``synack.net``; simulated links, ``synack.sim.live``) into asyncio's shapes,
so the same application code runs on both:

- ``create_connection(protocol_factory, host, port)`` and
  ``create_server(protocol_factory, host, port)``, as the event loop's: each
  connection is a :class:`TcpTransport` handed to an :class:`asyncio.Protocol`,
  so protocol classes written for asyncio (uvicorn's, websockets') run
  unchanged (docs/asyncio.md);
- ``open_connection`` and ``start_server``, asyncio's streams, built on them::

    stack = Stack(driver)
    reader, writer = await stack.open_connection("10.77.0.1", 80)
    writer.write(b"GET / HTTP/1.0\\r\\n\\r\\n")
    writer.write_eof()              # half-close: our FIN, reading goes on
    body = await reader.read()
    writer.close()                  # the 4-way handshake...
    await writer.wait_closed()      # ...until our side is done (TIME-WAIT or CLOSED)

- ``with stack.routing():`` makes the loop's own ``create_connection`` and
  ``create_server`` the Stack's, for software that calls them itself.

``synack.aio.httpcore_backend`` is an httpcore network backend over a Stack,
for httpx (it needs the ``asgi`` extra).
"""

from synack.aio.stack import (
    DEFAULT_LIMIT,
    ClientCallback,
    ProtocolFactory,
    Server,
    Stack,
    StreamServerProtocol,
    open_connection,
    start_server,
)
from synack.aio.transport import HIGH_WATER, LOW_WATER, SynackInfo, TcpTransport

__all__ = [
    "DEFAULT_LIMIT", "HIGH_WATER", "LOW_WATER", "ClientCallback", "ProtocolFactory", "Server",
    "Stack", "StreamServerProtocol", "SynackInfo", "TcpTransport", "open_connection",
    "start_server",
]  # fmt: skip
