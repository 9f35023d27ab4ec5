"""The self-contained HTML page, checked as text and in headless Chromium.

Chromium opens only the local file (file://), with networking features off
and every host name mapped to nothing, so the page cannot reach out even if
it tried. The step is chosen with the URL fragment (``#step=N``), which the
page's script reads; ``--dump-dom`` gives the DOM after the script ran.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest
from _trace_scenarios import conversation

from synack.trace.html import render_html, write_html
from synack.trace.records import TraceRecorder
from synack.trace.timeline import build_timeline

CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)"
)


def _hangul_fonts() -> str:
    if shutil.which("fc-list") is None:
        return ""
    done = subprocess.run(["fc-list", ":lang=ko", "family"], capture_output=True, text=True)
    return done.stdout.strip()


needs_hangul = pytest.mark.skipif(
    not _hangul_fonts(), reason="no font with Hangul (apt-get install fonts-noto-cjk)"
)


def _flags(profile: Path) -> list[str]:
    return [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--user-data-dir={profile}",
    ]


def _run(args: list[str]) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


class _Dom(HTMLParser):
    """What the tests look at in a dumped DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, dict[str, str]] = {}
        self.current_nodes: dict[str, list[str]] = {}
        self.current_steps: list[str] = []
        self.texts: dict[str, str] = {}
        self._machine: str | None = None
        self._capture: str | None = None
        self._node_current = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        classes = a.get("class", "").split()
        if "id" in a:
            self.by_id[a["id"]] = a
        if tag == "body":
            self.by_id["body"] = a
        if tag == "section" and "machine" in classes:
            self._machine = a.get("id")
        if tag == "div" and "node" in classes and "current" in classes and self._machine:
            self.current_nodes.setdefault(self._machine, []).append(a["data-state"])
        if tag == "g" and "step" in classes and "current" in classes:
            self.current_steps.append(a["id"])
        if a.get("id") in ("step-counter", "step-text"):
            self._capture = a["id"]
            self.texts[a["id"]] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self._machine = None
        if tag == "span":
            self._capture = None

    def handle_data(self, data: str) -> None:
        if self._capture:
            self.texts[self._capture] += data


def _dom(text: str) -> _Dom:
    parser = _Dom()
    parser.feed(text)
    return parser


def test_page_is_self_contained_and_embeds_the_trace(tmp_path: Path) -> None:
    recorder = conversation(drop_first="S.")
    path = write_html(
        recorder, tmp_path / "t.html", title="lost <SYN,ACK>", narration=["First & second."]
    )
    page = path.read_text(encoding="utf-8")
    assert "http" not in page
    assert not re.search(r"""(?i)\b(https?|ftp|wss?|file):|["'(=]\s*//""", page)  # no URL at all
    assert not re.search(r"<(link|img|iframe|object|embed)\b|\bsrc=|@import|url\(", page)
    assert "<title>lost &lt;SYN,ACK&gt;</title>" in page
    assert "<p>First &amp; second.</p>" in page
    match = re.search(r'<script type="application/json" id="trace-data">(.*?)</script>', page)
    assert match
    data = json.loads(match.group(1))
    timeline = build_timeline(recorder)
    assert len(data["steps"]) == len(timeline.steps)
    assert data["records"] == TraceRecorder.to_dicts(recorder)
    assert data["initial"] == ["CLOSED", "CLOSED"]
    # the SVG: one group per step; the lost SYN,ACK ends in a cross, not a head
    groups = re.findall(r'<g class="([^"]*)" id="step-(\d+)"', page)
    assert [int(i) for _, i in groups] == list(range(1, len(timeline.steps) + 1))
    lost = [s for s in timeline.steps if s.lost]
    assert len(lost) == 1
    group = re.search(rf'<g [^>]*id="step-{lost[0].index}".*?</g>', page)
    assert group and group.group(0).count('class="cross"') == 2
    assert 'class="head"' not in group.group(0)
    assert "LOST (dropped)" in group.group(0)
    # both state machines with all eleven states, at step 0
    for side in ("left", "right"):
        section = re.search(rf'<section class="machine" id="machine-{side}".*?</section>', page)
        assert section and section.group(0).count('class="node') == 11


def test_arrows_slope_by_their_delay(tmp_path: Path) -> None:
    page = render_html(conversation())
    # the client's SYN leaves at 0 ms and lands at 10 ms: lower at the server's end
    first = re.search(r'<g class="step kind-arrow[^"]*" id="step-(\d+)".*?</g>', page)
    assert first
    line = re.search(
        r'<line class="shaft" x1="(\d+)" y1="([\d.]+)" x2="(\d+)" y2="([\d.]+)"', first.group(0)
    )
    assert line
    x1, y1, x2, y2 = (float(v) for v in line.groups())
    assert x1 < x2 and y2 > y1


@needs_chromium
def test_chromium_steps_through_the_page(tmp_path: Path) -> None:
    recorder = conversation(drop_first="S.")
    timeline = build_timeline(recorder)
    path = write_html(recorder, tmp_path / "ladder.html", title="a lost SYN,ACK")
    url = path.resolve().as_uri()
    n = len(timeline.steps)
    # the step where the server reaches ESTABLISHED (the client is there already)
    k = next(
        s.index
        for s in timeline.steps
        if s.kind == "state" and s.text == "ESTABLISHED" and s.side == "server"
    )
    lost = next(s.index for s in timeline.steps if s.lost)
    cases = {
        "": 0,
        f"#step={k}": k,
        f"#step={lost}": lost,
        f"#step={n + 50}": n,  # clamped to the last step
        f"#step={k - 2}&press=next,ArrowRight,ArrowRight,prev": k,
        "#press=End,ArrowLeft,ArrowLeft,Home,next": 1,
    }
    for fragment, step in cases.items():
        dom = _dom(_run([*_flags(tmp_path / "profile"), "--dump-dom", url + fragment]))
        expected = timeline.initial if step == 0 else timeline.steps[step - 1].states
        assert dom.by_id["body"]["data-step"] == str(step), fragment
        assert dom.texts["step-counter"] == f"step {step} of {n}"
        assert dom.by_id["machine-left"]["data-state"] == expected[0], fragment
        assert dom.by_id["machine-right"]["data-state"] == expected[1], fragment
        assert dom.current_nodes == {
            "machine-left": [expected[0]],
            "machine-right": [expected[1]],
        }, fragment
        assert dom.current_steps == ([f"step-{step}"] if step else [])
        if step:
            assert dom.texts["step-text"] == timeline.steps[step - 1].describe("client", "server")
    assert timeline.steps[k - 1].states == ("ESTABLISHED", "ESTABLISHED")
    assert "lost on the way (dropped)" in timeline.steps[lost - 1].describe("client", "server")


def _png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the unfiltered rows of an 8-bit RGB or RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack_from(">IIBB", body)
            assert depth == 8 and color in (2, 6)
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = prev[i]
            corner = prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line if channels == 3 else b"".join(
            bytes(line[j : j + 3]) for j in range(0, stride, 4)
        )))  # fmt: skip
        prev = line
    return width, height, rows


@needs_chromium
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_chromium_screenshot_shows_the_current_step(tmp_path: Path, lang: str) -> None:
    recorder = conversation()
    timeline = build_timeline(recorder)
    path = write_html(recorder, tmp_path / "ladder.html", title="a conversation", lang=lang)
    k = next(s.index for s in timeline.steps if s.kind == "arrow")
    shot = tmp_path / "shot.png"
    _run(
        [
            *_flags(tmp_path / "profile"),
            "--window-size=1200,900",
            "--hide-scrollbars",
            f"--screenshot={shot}",
            path.resolve().as_uri() + f"#step={k}",
        ]
    )
    data = shot.read_bytes()
    assert len(data) > 20_000  # a drawn page, not a blank one
    width, height, rows = _png_pixels(data)
    assert (width, height) == (1200, 900)
    pixels = b"".join(rows)

    def count(rgb: tuple[int, int, int]) -> int:
        return sum(1 for i in range(0, len(pixels), 3) if pixels[i : i + 3] == bytes(rgb))

    # the current step's band (#fde68a) and each machine's current state (#b45309)
    assert count((0xFD, 0xE6, 0x8A)) > 5_000
    assert count((0xB4, 0x53, 0x09)) > 1_000


@needs_chromium
@needs_hangul
def test_chromium_draws_hangul_in_the_korean_page(tmp_path: Path) -> None:
    """Two different Hangul words in the page's own font stack draw different
    pixels: with no font for them both would be the same row of boxes."""
    page = render_html(conversation(), lang="ko")
    drawn = []
    for word in ("\ub2e4\uc74c \ub2e8\uacc4", "\uc774\uc804 \uc0c1\ud0dc"):  # 다음 단계, 이전 상태
        probe = (
            '<div style="position:fixed;left:0;top:0;z-index:9;width:400px;height:120px;'
            f'background:white;color:black;font:64px var(--sans)">{word}</div>'
        )
        path = tmp_path / f"{len(drawn)}.html"
        path.write_text(page.replace('<body data-step="0">', '<body data-step="0">' + probe))
        shot = tmp_path / f"{len(drawn)}.png"
        _run(
            [*_flags(tmp_path / "profile"), "--window-size=400,120", "--hide-scrollbars",
             f"--screenshot={shot}", path.resolve().as_uri()]
        )  # fmt: skip
        width, height, rows = _png_pixels(shot.read_bytes())
        assert (width, height) == (400, 120)
        drawn.append(b"".join(rows))
    dark = [sum(1 for i in range(0, len(p), 3) if p[i] < 100) for p in drawn]
    assert min(dark) > 500, dark  # something was drawn
    assert drawn[0] != drawn[1]
