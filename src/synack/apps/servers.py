"""Small servers over ``synack.aio`` streams: echo, discard and an HTTP file
server. Each is an asyncio client-connected callback; ``synack listen`` serves
one of them."""

from __future__ import annotations

import asyncio
import mimetypes
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import h11

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], object]


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Send back everything; close after the peer's FIN."""
    while data := await reader.read(1 << 20):
        writer.write(data)
        await writer.drain()
    writer.close()
    await writer.wait_closed()


async def discard(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read everything, send nothing; close after the peer's FIN."""
    while await reader.read(1 << 20):
        pass
    writer.close()
    await writer.wait_closed()


def http_files(root: Path) -> Handler:
    """An HTTP/1.1 file server for ``root`` (GET and HEAD; one request per
    connection), with h11 doing the HTTP."""
    root = root.resolve()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER)
        request: h11.Request | None = None
        while request is None:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await reader.read(65536)
                conn.receive_data(data)
                if not data:
                    break
            elif isinstance(event, h11.Request):
                request = event
            else:
                break
        if request is None:
            writer.close()
            return
        status, headers, body = _http_response(root, request)
        writer.write(conn.send(h11.Response(status_code=status, headers=headers)))
        if request.method != b"HEAD" and body is not None:
            with body:
                while chunk := body.read(1 << 20):
                    writer.write(conn.send(h11.Data(data=chunk)))
                    await writer.drain()
        writer.write(conn.send(h11.EndOfMessage()))
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    return serve


def _http_response(
    root: Path, request: h11.Request
) -> tuple[int, list[tuple[str, str]], BinaryIO | None]:
    target = request.target.decode("latin-1").split("?", 1)[0]
    path = (root / target.lstrip("/")).resolve()
    if path.is_dir():
        path = path / "index.html"
    common = [("Connection", "close"), ("Server", "synack")]
    if request.method not in (b"GET", b"HEAD"):
        return 405, [*common, ("Content-Length", "0")], None
    if root not in (path, *path.parents) or not path.is_file():
        return 404, [*common, ("Content-Length", "0")], None
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    size = path.stat().st_size
    return (
        200,
        [*common, ("Content-Type", kind), ("Content-Length", str(size))],
        path.open("rb"),
    )
