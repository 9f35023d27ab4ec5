"""An ASGI app served over synack by uvicorn's own HTTP protocol class.

uvicorn's ``H11Protocol`` is an :class:`asyncio.Protocol`; uvicorn's
``Server`` hands it to ``loop.create_server``. :func:`serve_asgi` hands the
same class, made from the same ``uvicorn.Config`` and ``ServerState``, to
``Stack.create_server`` instead, so uvicorn's unmodified code speaks HTTP
over synack's TCP (docs/asyncio.md)::

    server = await serve_asgi(stack, app, 8000)   # any ASGI 3 app
    ...
    await server.shutdown()

What uvicorn's ``Server`` does besides (signals, the lifespan protocol,
the Date header's ticker, reloading) is left out: ``lifespan`` is off.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from uvicorn.server import ServerState

from synack.aio import Server, Stack


@dataclass
class AsgiServer:
    """A synack Server whose connections are uvicorn's protocol objects."""

    server: Server
    config: uvicorn.Config
    state: ServerState
    app_state: dict[str, Any] = field(default_factory=dict)

    @property
    def total_requests(self) -> int:
        return self.state.total_requests

    async def shutdown(self, timeout: float = 5.0) -> None:
        """As uvicorn's ``Server.shutdown``: stop listening, let each connection
        finish its response and close, then wait for them (at most ``timeout``
        seconds; then the rest are aborted)."""
        self.server.close()
        for connection in list(self.state.connections):
            connection.shutdown()
        try:
            await asyncio.wait_for(self.server.wait_closed(), timeout)
        except TimeoutError:
            self.server.abort_clients()
            await self.server.wait_closed()


def uvicorn_protocols(
    app: Any, **options: Any
) -> tuple[Callable[[], asyncio.Protocol], uvicorn.Config, ServerState, dict[str, Any]]:
    """uvicorn's own protocol factory for ``app``, as its ``Server`` makes it: a
    loaded ``uvicorn.Config`` (``http="h11"``, lifespan off and logging left as
    it is, unless ``options`` say otherwise), one ``ServerState`` and one app
    state shared by every connection. Hand the factory to any
    ``create_server``: synack's, or the loop's (the kernel's TCP)."""
    options = {"http": "h11", "lifespan": "off", "log_config": None, **options}
    config = uvicorn.Config(app, **options)
    config.load()
    state = ServerState()
    state.default_headers = list(config.encoded_headers)
    app_state: dict[str, Any] = {}
    protocol_class = config.http_protocol_class

    def protocol() -> asyncio.Protocol:
        return protocol_class(  # type: ignore[call-arg]
            config=config, server_state=state, app_state=app_state
        )

    return protocol, config, state, app_state


async def serve_asgi(
    stack: Stack, app: Any, port: int, host: str | None = None, **options: Any
) -> AsgiServer:
    """Serve ``app`` on ``port`` of ``stack`` with uvicorn's HTTP/1.1 protocol
    class (:func:`uvicorn_protocols`; ``options`` are ``uvicorn.Config``'s)."""
    protocol, config, state, app_state = uvicorn_protocols(app, **options)
    server = await stack.create_server(protocol, host, port)
    return AsgiServer(server, config, state, app_state)


AsgiApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
HELLO = b"hello from uvicorn over synack\n"


def demo_app(files: Mapping[str, bytes] | None = None) -> AsgiApp:
    """A small ASGI app: ``GET /`` says hello, a path of ``files`` gets its bytes,
    anything else a 404; every response with its Content-Length."""
    files = dict(files or {})

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        body = HELLO if path == "/" else files.get(path)
        status = 200 if body is not None else 404
        content = body if body is not None else b"not found\n"
        kind = b"text/plain" if path == "/" or body is None else b"application/octet-stream"
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", kind),
                    (b"content-length", str(len(content)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": content})

    return app
