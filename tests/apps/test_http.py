"""``synack.apps.servers.http_files`` on a hostile network: over ``synack.aio``
streams on simulated links (a real loop, short timeouts), and fed a whole
request at once through in-memory streams. Every request must get an answer
or a close, never an exception out of the handler, and never a byte from
outside the root."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from synack.aio import Stack, open_connection, start_server
from synack.apps.servers import HttpFiles, http_files
from synack.cli import main
from synack.host import Host
from synack.sim.live import LiveNetwork
from synack.sim.network import LinkConfig
from synack.tcp.config import TcpConfig

CONFIG = TcpConfig(msl=0.05)  # a short TIME-WAIT keeps the tests quick
SECRET = b"SECRET outside the root"
Scenario = Callable[[Stack, HttpFiles], Awaitable[None]]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A site, with a secret next to it and links out of it."""
    (tmp_path / "secret.txt").write_bytes(SECRET)
    site = tmp_path / "site"
    (site / "sub").mkdir(parents=True)
    (site / "index.html").write_bytes(b"<p>home</p>")
    (site / "a b.txt").write_bytes(b"spaced")
    (site / "sub" / "deep.txt").write_bytes(b"deep")
    (site / "out.txt").symlink_to(tmp_path / "secret.txt")
    (site / "outdir").symlink_to(tmp_path)
    return site


def run(root: Path, scenario: Scenario, **limits: Any) -> HttpFiles:
    """Serve ``root`` on 10.0.0.2:80 and run ``scenario`` from 10.0.0.1; fail
    if the handler raised."""
    errors: list[BaseException] = []
    handler = http_files(root, **limits)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(reader, writer)
        except BaseException as exc:
            errors.append(exc)
            raise

    async def main() -> None:
        net = LiveNetwork(LinkConfig(delay=0.001))
        client = Stack(net.add_host(Host("10.0.0.1", CONFIG)))
        server = Stack(net.add_host(Host("10.0.0.2", CONFIG)))
        await start_server(serve, None, 80, stack=server)
        async with asyncio.timeout(20):
            await scenario(client, handler)
            while handler.stats.active:  # the handlers end, each in its own time
                await asyncio.sleep(0.01)
        net.close()

    asyncio.run(main())
    assert errors == []
    return handler


async def exchange(client: Stack, request: bytes) -> bytes:
    """Send ``request`` (while reading, as a browser would) and read to EOF."""
    reader, writer = await open_connection("10.0.0.2", 80, stack=client)

    async def send() -> None:
        writer.write(request)
        await writer.drain()

    sender = asyncio.create_task(send())
    response = await reader.read()
    sender.cancel()
    writer.close()
    await writer.wait_closed()
    return response


def fetch(root: Path, request: bytes, **limits: Any) -> tuple[int, dict[str, str], bytes]:
    responses: list[bytes] = []

    async def scenario(client: Stack, _: HttpFiles) -> None:
        responses.append(await exchange(client, request))

    run(root, scenario, **limits)
    return parse(responses[0])


def parse(response: bytes, head_only: bool = False) -> tuple[int, dict[str, str], bytes]:
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith("HTTP/1.1 "), response[:100]
    headers = dict(line.split(": ", 1) for line in lines[1:])
    if "Content-Length" in headers and not head_only:
        assert len(body) == int(headers["Content-Length"])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


def get(target: str | bytes, *headers: bytes, method: bytes = b"GET") -> bytes:
    path = target.encode() if isinstance(target, str) else target
    return b"%s %s HTTP/1.1\r\nHost: synack\r\n%s\r\n" % (
        method,
        path,
        b"".join(h + b"\r\n" for h in headers),
    )


# -- serving ---------------------------------------------------------------
def test_get_and_head_serve_a_file(root: Path) -> None:
    status, headers, body = fetch(root, get("/sub/deep.txt"))
    assert (status, body) == (200, b"deep")
    assert headers["content-type"] == "text/plain" and headers["connection"] == "close"
    responses: list[bytes] = []

    async def scenario(client: Stack, _: HttpFiles) -> None:
        responses.append(await exchange(client, get("/sub/deep.txt", method=b"HEAD")))
        responses.append(await exchange(client, get("/nothing", method=b"HEAD")))

    run(root, scenario)
    assert parse(responses[0], head_only=True) == (200, headers, b"")
    assert parse(responses[1], head_only=True)[::2] == (404, b"")


def test_a_folder_serves_its_index(root: Path) -> None:
    assert fetch(root, get("/"))[::2] == (200, b"<p>home</p>")


@pytest.mark.parametrize("target", ["/a%20b.txt", "/a%20b.txt?x=1&y=%00", "/sub/../a%20b.txt"])
def test_the_path_is_percent_decoded_and_the_query_ignored(root: Path, target: str) -> None:
    assert fetch(root, get(target))[::2] == (200, b"spaced")


def test_other_methods_get_405(root: Path) -> None:
    status, headers, body = fetch(root, get("/", b"Content-Length: 3", method=b"POST") + b"abc")
    assert (status, body, headers["allow"]) == (405, b"405 Method Not Allowed\n", "GET, HEAD")


# -- bounds ------------------------------------------------------------------
@pytest.mark.parametrize(
    "target",
    [
        "/" + "x" * 300,  # one name over NAME_MAX: ENAMETOOLONG from the filesystem
        "/" + "a/" * 150,
        "/" + "abcdefg/" * 700,  # over PATH_MAX, under the target limit
        "/" + "%41" * 2000,
    ],
)
def test_long_paths_are_a_clean_404(root: Path, target: str) -> None:
    assert fetch(root, get(target))[::2] == (404, b"404 Not Found\n")


@pytest.mark.parametrize("size", [9 * 1024, 20 * 1024, 100 * 1024])
def test_a_long_request_target_gets_414(root: Path, size: int) -> None:
    """9 KiB: h11 takes it, the server's limit refuses it; 20 and 100 KiB: h11
    gives up on the head, and the request line tells that it is the target."""
    status, _, body = fetch(root, get("/" + "x" * size))
    assert (status, body) == (414, b"414 URI Too Long\n")


def test_the_target_limit_is_a_parameter(root: Path) -> None:
    assert fetch(root, get("/sub/deep.txt"), max_target=10)[0] == 414
    assert fetch(root, get("/sub/deep.txt"), max_target=13)[0] == 200


@pytest.mark.parametrize("size", [20_000, 60_000, 200_000])
def test_large_headers_get_431(root: Path, size: int) -> None:
    request = get("/", *(b"X-Pad-%d: %s" % (i, b"p" * 990) for i in range(size // 1000)))
    status, _, body = fetch(root, request)
    assert (status, body) == (431, b"431 Request Header Fields Too Large\n")


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"NOT HTTP AT ALL\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\n\r\n", 400),  # no Host
        (b"GET / HTTP/1.1\r\nHost: a\r\nbad header\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a\r\n", 400),  # then EOF: an unfinished head
    ],
)
def test_malformed_requests_get_400(root: Path, request_bytes: bytes, status: int) -> None:
    async def scenario(client: Stack, _: HttpFiles) -> None:
        reader, writer = await open_connection("10.0.0.2", 80, stack=client)
        writer.write(request_bytes)
        writer.write_eof()
        responses.append(await reader.read())
        writer.close()
        await writer.wait_closed()

    responses: list[bytes] = []
    run(root, scenario)
    assert parse(responses[0])[::2] == (status, b"400 Bad Request\n")


def test_a_peer_that_closes_at_once_is_let_go(root: Path) -> None:
    async def scenario(client: Stack, _: HttpFiles) -> None:
        reader, writer = await open_connection("10.0.0.2", 80, stack=client)
        writer.write_eof()
        assert await reader.read() == b""
        writer.close()
        await writer.wait_closed()

    assert run(root, scenario).stats.statuses == {}


# -- the whole head at once -----------------------------------------------------
class _Sink(asyncio.Transport):
    """An in-memory transport: what the server writes, kept."""

    def __init__(self, protocol: asyncio.StreamReaderProtocol) -> None:
        super().__init__()
        self.protocol = protocol
        self.written = bytearray()
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        pass

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            asyncio.get_running_loop().call_soon(self.protocol.connection_lost, None)

    def abort(self) -> None:
        self.close()


def feed_whole(root: Path, request: bytes, **limits: Any) -> tuple[int, dict[str, str], bytes]:
    """One read gives the handler the whole request (and then EOF): what h11
    parses in one go, without its incomplete-head limit."""

    async def main() -> bytes:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=1 << 20)
        protocol = asyncio.StreamReaderProtocol(reader)
        sink = _Sink(protocol)
        protocol.connection_made(sink)
        reader.feed_data(request)
        reader.feed_eof()
        writer = asyncio.StreamWriter(sink, protocol, reader, loop)
        async with asyncio.timeout(5):
            await http_files(root, **limits)(reader, writer)
        assert sink.closed
        return bytes(sink.written)

    return parse(asyncio.run(main()))


@pytest.mark.parametrize("size", [20_000, 60_000])
def test_a_large_head_in_one_piece_gets_431(root: Path, size: int) -> None:
    request = get("/", *(b"X-Pad-%d: %s" % (i, b"p" * 990) for i in range(size // 1000)))
    assert feed_whole(root, request)[::2] == (431, b"431 Request Header Fields Too Large\n")
    assert feed_whole(root, request, max_head=2 * size)[0] == 200


def test_a_long_target_in_one_piece_gets_414(root: Path) -> None:
    assert feed_whole(root, get("/" + "x" * 9000))[0] == 414


# -- traversal ----------------------------------------------------------------
@pytest.mark.parametrize(
    "target",
    [
        "/../secret.txt",
        "/sub/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/..%2f..%2fetc/passwd",
        "/sub%2f..%2f..%2fsecret.txt",
        "/..%5csecret.txt",
        "/%2e%2e%2f%2e%2e%2fsecret.txt",
        "/%252e%252e/secret.txt",  # decoded once only
        "//etc/passwd",
        "/etc/passwd",
        "http://synack/../secret.txt",
        "http://synack/%2e%2e/secret.txt",
        "../secret.txt",
        "*",
        "/a%00.txt",
        "/secret.txt%00.html",
        "/%c0%ae%c0%ae/secret.txt",  # overlong UTF-8 dots
        "/out.txt",  # a symlink out of the root
        "/outdir/secret.txt",
        "/outdir/",
    ],
)
def test_traversal_is_refused(root: Path, target: str) -> None:
    status, _, body = fetch(root, get(target))
    assert status in (400, 403, 404)
    assert SECRET not in body and b"root:" not in body


def test_an_index_linked_out_of_the_root_is_refused(root: Path) -> None:
    (root / "sub" / "index.html").symlink_to(root.parent / "secret.txt")
    assert fetch(root, get("/sub/"))[0] == 404


def test_an_unreadable_file_is_403(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """(chmod binds no root, so the refusal is staged.)"""
    real_open = Path.open

    def refuse(path: Path, *args: Any, **kwargs: Any) -> Any:
        if path.name == "deep.txt":
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
    assert fetch(root, get("/sub/deep.txt"))[::2] == (403, b"403 Forbidden\n")


# -- slowloris and the connection cap ------------------------------------------
@pytest.mark.parametrize("dribble", [True, False])
def test_a_slow_head_gets_408_and_the_close(root: Path, dribble: bool) -> None:
    """A byte of header every 50 ms (or nothing at all): answered and closed
    at the header timeout, although bytes keep coming."""
    responses: list[bytes] = []

    async def scenario(client: Stack, _: HttpFiles) -> None:
        reader, writer = await open_connection("10.0.0.2", 80, stack=client)

        async def slowloris() -> None:
            writer.write(b"GET / HTTP/1.1\r\nHost: synack\r\n")
            while dribble:
                await asyncio.sleep(0.05)
                writer.write(b"X")

        sender = asyncio.create_task(slowloris())
        responses.append(await reader.read())  # until the server's FIN
        sender.cancel()
        writer.close()
        await writer.wait_closed()

    handler = run(root, scenario, head_timeout=0.4)
    assert parse(responses[0])[::2] == (408, b"408 Request Timeout\n")
    assert handler.stats.timed_out == 1


def test_over_the_cap_a_connection_gets_503(root: Path) -> None:
    responses: list[bytes] = []

    async def scenario(client: Stack, handler: HttpFiles) -> None:
        held = []
        for _ in range(2):  # two connections hold the server, head unfinished
            reader, writer = await open_connection("10.0.0.2", 80, stack=client)
            writer.write(b"GET /sub/deep.txt HTTP/1.1\r\n")
            held.append((reader, writer))
        while handler.stats.active < 2:
            await asyncio.sleep(0.01)
        responses.append(await exchange(client, get("/sub/deep.txt")))
        for reader, writer in held:
            writer.write(b"Host: synack\r\n\r\n")
            responses.append(await reader.read())
            writer.close()
            await writer.wait_closed()
        responses.append(await exchange(client, get("/sub/deep.txt")))  # room again

    handler = run(root, scenario, max_connections=2)
    assert parse(responses[0])[::2] == (503, b"503 Service Unavailable\n")
    assert [parse(r)[::2] for r in responses[1:]] == [(200, b"deep")] * 3
    assert (handler.stats.refused, handler.stats.peak, handler.stats.active) == (1, 2, 0)
    assert handler.stats.statuses == {503: 1, 200: 3}


def test_listen_help_names_the_limits() -> None:
    result = CliRunner().invoke(main, ["listen", "--help"])
    assert result.exit_code == 0
    for option in ("--max-connections", "--header-timeout", "414", "431"):
        assert option in result.output
