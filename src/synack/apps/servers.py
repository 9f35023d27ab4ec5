"""Small servers over ``synack.aio`` streams: echo, discard and an HTTP file
server. Each is an asyncio client-connected callback; ``synack listen`` serves
one of them."""

from __future__ import annotations

import asyncio
import mimetypes
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote_to_bytes, urlsplit

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


# -- HTTP ------------------------------------------------------------------
MAX_TARGET = 8192  # bytes of request-target, as common servers allow
MAX_HEAD = 16384  # bytes of request line and headers (h11's own default)
HEAD_TIMEOUT = 10.0  # seconds for the whole request head to arrive
IDLE_TIMEOUT = 30.0  # seconds without progress while answering and closing
MAX_CONNECTIONS = 256
LINGER_BYTES = 1 << 20  # what a lingering close reads and drops, at most


@dataclass
class HttpStats:
    """What an HTTP file server has seen: connections now and at most, the ones
    refused over the cap (503) or dropped for a slow head (408), and every
    status it answered."""

    active: int = 0
    peak: int = 0
    refused: int = 0
    timed_out: int = 0
    statuses: Counter[int] = field(default_factory=Counter)


class HttpFiles:
    """An HTTP/1.1 file server for ``root`` (GET and HEAD; one request per
    connection), with h11 doing the HTTP, for a hostile network:

    - a request-target over ``max_target`` bytes gets 414, a request head
      (request line and headers) over ``max_head`` bytes 431, any other
      malformed request 400, each with a short body, then the close;
    - the path is percent-decoded before it is mapped into ``root``, and the
      resolved file must lie inside ``root`` (else 404);
    - a head not complete within ``head_timeout`` seconds (slowloris) gets
      408; after an error the close may take at most ``head_timeout``
      seconds more, and sending a file stalls at most ``idle_timeout``
      seconds at a time, before the connection is aborted;
    - over ``max_connections`` at once, a new connection gets 503.

    What it sees is counted in ``stats``."""

    def __init__(
        self,
        root: Path,
        *,
        max_target: int = MAX_TARGET,
        max_head: int = MAX_HEAD,
        head_timeout: float = HEAD_TIMEOUT,
        idle_timeout: float = IDLE_TIMEOUT,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.root = root.resolve()
        self.max_target = max_target
        self.max_head = max_head
        self.head_timeout = head_timeout
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections
        self.stats = HttpStats()

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        stats = self.stats
        if stats.active >= self.max_connections:
            stats.refused += 1
            await self._error(reader, writer, 503)
            return
        stats.active += 1
        stats.peak = max(stats.peak, stats.active)
        try:
            await self._serve(reader, writer)
        except OSError:  # the peer reset, the link died, a file went away mid-read
            writer.transport.abort()
        finally:
            stats.active -= 1

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=self.max_head)
        head = bytearray()  # the first bytes of the request, to tell 414 from 431
        try:
            async with asyncio.timeout(self.head_timeout):
                request = await self._read_head(reader, conn, head)
        except TimeoutError:
            self.stats.timed_out += 1
            await self._error(reader, writer, 408)
            return
        except h11.RemoteProtocolError as exc:
            status = 414 if self._target_too_long(head) else exc.error_status_hint
            await self._error(reader, writer, status if status in (414, 431) else 400)
            return
        if request is None:  # the peer closed before sending anything
            await self._finish(reader, writer, self.head_timeout)
            return
        head_only = request.method == b"HEAD"
        # h11 bounds only an incomplete head: one that came in whole is measured here
        head_size = len(head) - len(conn.trailing_data[0])
        if len(request.target) > self.max_target:
            await self._error(reader, writer, 414, head_only)
        elif head_size > self.max_head:
            await self._error(reader, writer, 431, head_only)
        elif request.method not in (b"GET", b"HEAD"):
            await self._error(reader, writer, 405, extra=[("Allow", "GET, HEAD")])
        else:
            found = self._open(request.target)
            if isinstance(found, int):
                await self._error(reader, writer, found, head_only)
            else:
                await self._send_file(reader, writer, conn, found, head_only)

    async def _read_head(
        self, reader: asyncio.StreamReader, conn: h11.Connection, head: bytearray
    ) -> h11.Request | None:
        """The request head, or None if the peer closed first; raises
        RemoteProtocolError (a bad or too long head) and TimeoutError."""
        while True:
            event = conn.next_event()
            if isinstance(event, h11.Request):
                return event
            if event is not h11.NEED_DATA:
                return None
            data = await reader.read(65536)
            head += data  # bounded: h11 refuses a buffer over max_head at the next event
            conn.receive_data(data)

    def _target_too_long(self, head: bytearray) -> bool:
        """Whether the request line in ``head`` (maybe cut short) carries a
        request-target over the limit."""
        line = bytes(head).split(b"\n", 1)[0]
        parts = line.split(b" ")
        return len(parts) > 1 and len(parts[1]) > self.max_target

    def _open(self, target: bytes) -> tuple[BinaryIO, Path, int] | int:
        """The file for ``target``, open, with its path and size; or the status
        that refuses it (400 malformed, 403 unreadable, 404 missing or outside
        the root). The query is ignored. Each segment of the path is
        percent-decoded on its own: an encoded separator (``%2f``, ``%5c``) is
        refused, as is a NUL or bad UTF-8; ``..`` is left to the check that
        the resolved path (symlinks followed) stays inside the root."""
        if target.startswith((b"http://", b"https://")):  # the absolute form
            target = urlsplit(target).path or b"/"
        raw = target.split(b"?", 1)[0].split(b"#", 1)[0]
        if not raw.startswith(b"/"):
            return 400
        segments: list[str] = []
        for part in raw.split(b"/"):
            try:
                segment = unquote_to_bytes(part).decode("utf-8")
            except UnicodeDecodeError:
                return 400
            if "\x00" in segment:
                return 400
            if "/" in segment or "\\" in segment:
                return 404
            if segment:
                segments.append(segment)
        try:
            path = self.root.joinpath(*segments).resolve()
            if path.is_dir():
                path = (path / "index.html").resolve()
            if not path.is_relative_to(self.root) or not path.is_file():
                return 404
            body = path.open("rb")
        except PermissionError:
            return 403
        except (OSError, ValueError, RuntimeError):  # too long a name, a symlink loop
            return 404
        return body, path, os.fstat(body.fileno()).st_size

    async def _send_file(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        conn: h11.Connection,
        found: tuple[BinaryIO, Path, int],
        head_only: bool,
    ) -> None:
        body, path, size = found
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        headers = [*_COMMON, ("Content-Type", kind), ("Content-Length", str(size))]
        self.stats.statuses[200] += 1
        with body:
            writer.write(conn.send(h11.Response(status_code=200, headers=headers, reason=b"OK")))
            if not head_only:
                while chunk := body.read(1 << 20):
                    writer.write(conn.send(h11.Data(data=chunk)))
                    async with asyncio.timeout(self.idle_timeout):
                        await writer.drain()
        writer.write(conn.send(h11.EndOfMessage()))
        await self._finish(reader, writer, self.idle_timeout)

    async def _error(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        status: int,
        head_only: bool = False,
        extra: list[tuple[str, str]] | None = None,
    ) -> None:
        """A short text/plain answer, written by hand (h11 may be in its ERROR
        state), then the close."""
        self.stats.statuses[status] += 1
        phrase = _PHRASES[status]
        text = f"{status} {phrase}\n".encode()
        headers = [
            *_COMMON,
            *(extra or []),
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(text))),
        ]
        lines = [f"HTTP/1.1 {status} {phrase}", *(f"{k}: {v}" for k, v in headers)]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + (b"" if head_only else text))
        await self._finish(reader, writer, self.head_timeout)

    async def _finish(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float
    ) -> None:
        """A lingering close: our FIN after the response, then whatever the peer
        still sends is read and dropped until its FIN (closing on unread data
        could cost the peer the response), within ``timeout`` seconds and
        LINGER_BYTES; past them, or on an error, an abort."""
        try:
            async with asyncio.timeout(timeout):
                await writer.drain()
                if writer.can_write_eof():
                    writer.write_eof()
                dropped = 0
                while data := await reader.read(65536):
                    dropped += len(data)
                    if dropped > LINGER_BYTES:
                        raise ConnectionAbortedError("too much after the request")
                writer.close()
                await writer.wait_closed()
        except OSError:  # TimeoutError is one
            writer.transport.abort()


_COMMON = [("Connection", "close"), ("Server", "synack")]
_PHRASES = {  # RFC 9110's reason phrases (Python 3.11 still says "Request-URI")
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    414: "URI Too Long",
    431: "Request Header Fields Too Large",
    503: "Service Unavailable",
}


http_files = HttpFiles  # the handler ``synack listen --http`` serves
