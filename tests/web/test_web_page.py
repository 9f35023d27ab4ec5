"""The playground in Debian's chromium (Playwright): the built site, Pyodide, synack.

One page serves most tests (a new setup is a new URL fragment, run without
reloading); the URL round trip and the offline test open pages of their own.
Every segment the page draws is compared with what ``synack demo --json``
(with the same ``--drop``/``--delay-segment``/``--duplicate-segment``, or
``--file`` for the composer) prints for the same setup.
"""

from __future__ import annotations

import base64
import os
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _playground_cli import Arrow, cli_arrows, cli_records

from synack.scenarios import SCENARIOS
from synack.trace.records import StateRecord

# the browser tests share one worker (and so one browser and one page) under
# pytest -n: pyproject.toml runs xdist with --dist loadgroup
pytestmark = pytest.mark.xdist_group("web-browser")

READY_MS = 120_000  # the first load compiles the runtime; later runs take well under a second


def wait_run(page: Any, before: int) -> None:
    """Wait until the page has finished a run after ``before`` runs; fail on an error."""
    page.wait_for_function(f"Number(document.body.dataset.runs || 0) > {before}", timeout=READY_MS)
    state = page.evaluate("document.body.dataset.ready")
    assert state == "1", page.text_content("#status")


def runs_done(page: Any) -> int:
    return int(page.evaluate("Number(document.body.dataset.runs || 0)"))


def go(page: Any, fragment: str) -> None:
    before = runs_done(page)
    page.evaluate("h => { location.hash = h; }", fragment)
    wait_run(page, before)


def arrows(page: Any, panel: str = "a") -> list[Arrow]:
    raw = page.evaluate(
        """panel => Array.from(document.querySelectorAll('#run-' + panel + ' svg g.kind-arrow'))
            .map(g => [g.dataset.endpoint, g.dataset.flags, g.dataset.seq, g.dataset.ack,
                       g.dataset.len, g.dataset.fate])""",
        panel,
    )
    return [(e, f, int(s), int(a), int(n), fate) for e, f, s, a, n, fate in raw]


def click(locator: Any, hover: bool = False) -> None:
    """Click a segment on its label (or only move the mouse there), scrolled to the
    middle of the window, clear of the sticky step bar, as a reader would."""
    locator.evaluate("g => g.scrollIntoView({block: 'center'})")
    label = locator.locator("text.label")
    if hover:
        label.hover()
    else:
        label.click()


def hash_of(page: Any) -> dict[str, str]:
    text = str(page.evaluate("location.hash")).lstrip("#")
    return dict(urllib.parse.parse_qsl(text, keep_blank_values=True))


def shots_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("SYNACK_WEB_SHOTS")
    path = Path(given) if given else tmp_path_factory.mktemp("shots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def session(browser: Any, site_url: str) -> Iterator[dict[str, Any]]:
    """One page on the site, with every request that would leave 127.0.0.1 refused
    and recorded, and every page error recorded."""
    context = browser.new_context(viewport={"width": 1500, "height": 1100},
                                  service_workers="block")  # fmt: skip
    outside: list[str] = []
    errors: list[str] = []

    def route(route: Any) -> None:
        url = route.request.url
        if url.startswith(("http://127.0.0.1:", "data:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(site_url + "#scenario=close")
    wait_run(page, 0)
    yield {"page": page, "outside": outside, "errors": errors, "url": site_url}
    context.close()


def test_every_scenario_shows_the_segments_of_demo_json(
    session: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    page = session["page"]
    shots = shots_dir(tmp_path_factory)
    for name in SCENARIOS:
        go(page, f"#scenario={name}")
        records = cli_records(["demo", name, "--json"])
        assert arrows(page) == cli_arrows(["demo", name, "--json"]), name
        assert page.input_value("#scenario") == name
        assert page.text_content("#run-title") == SCENARIOS[name].title["en"]
        # at the last step, each state diagram shows the side's last state
        page.focus("#next")
        page.keyboard.press("End")
        last: dict[str, str] = {}
        for rec in records:
            if isinstance(rec, StateRecord):
                last[rec.endpoint] = rec.new
        for side in ("client", "server"):
            if side in last:
                shown = page.get_attribute(f"#run-a svg.machine-svg[data-endpoint={side}]",
                                           "data-state")  # fmt: skip
                assert shown == last[side], (name, side)
        page.evaluate("document.getElementById('story').scrollIntoView()")
        page.screenshot(path=str(shots / f"{name}.png"))
        page.keyboard.press("Home")
        assert (shots / f"{name}.png").stat().st_size > 10_000
    assert session["errors"] == []


def test_clicking_a_segment_drops_delays_and_duplicates_it(session: dict[str, Any]) -> None:
    page = session["page"]
    go(page, "#scenario=close")
    base = arrows(page)
    fifth = page.locator("#run-a svg g.kind-arrow").nth(4)
    spec = fifth.get_attribute("data-spec")
    assert spec == "s2c:P.:1"
    before = runs_done(page)
    click(fifth)
    assert page.is_visible("#fault-menu")
    page.click("#fault-drop")
    wait_run(page, before)
    assert arrows(page, "a") == base  # the run as it was, beside the changed one
    dropped = arrows(page, "b")
    assert dropped == cli_arrows(["demo", "close", "--drop", spec, "--json"])
    assert dropped[4] == (*base[4][:5], "dropped")
    # the segment clicked, in the run before the change, and the one the fault hit
    assert "clicked" in str(page.get_attribute("#run-a svg g.kind-arrow >> nth=4", "class"))
    assert "faulted" in str(page.get_attribute("#run-b svg g.kind-arrow >> nth=4", "class"))
    assert page.locator("#run-b svg g.kind-arrow.faulted").count() == 1
    assert hash_of(page)["drop"] == spec
    if os.environ.get("SYNACK_WEB_SHOTS"):
        page.evaluate("document.getElementById('runs').scrollIntoView()")
        page.screenshot(path=str(Path(os.environ["SYNACK_WEB_SHOTS"]) / "close-drop-5.png"))
    # a second change, made on the changed run: delay the client's FIN by 300 ms
    fin = page.locator("#run-b svg g.kind-arrow[data-endpoint=client][data-flags='F.']").first
    fin_spec = fin.get_attribute("data-spec")
    before = runs_done(page)
    click(fin)
    page.fill("#fault-ms", "300")
    page.click("#fault-delay")
    wait_run(page, before)
    assert arrows(page, "a") == dropped
    delayed = ["--delay-segment", f"{fin_spec}:300ms"]
    assert arrows(page, "b") == cli_arrows(["demo", "close", "--drop", spec, *delayed, "--json"])
    assert "delayed" in [a[5] for a in arrows(page, "b")]
    # and duplicate the first SYN of the run as given
    before = runs_done(page)
    click(page.locator("#run-a svg g.kind-arrow").first)
    page.fill("#fault-ms", "5")
    page.click("#fault-dup")
    wait_run(page, before)
    expected = ["--drop", spec, "--duplicate-segment", "c2s:S:1:5ms"]
    assert arrows(page, "b") == cli_arrows(["demo", "close", *expected, "--json"])
    assert hash_of(page)["fault"] == "drop~dup"
    assert "synack demo close " + " ".join(expected) in page.text_content("#command")
    before = runs_done(page)
    page.click("#clear-faults")
    wait_run(page, before)
    assert arrows(page) == base and page.locator("#run-b").count() == 0


def test_hovering_or_focusing_a_segment_shows_every_field(session: dict[str, Any]) -> None:
    page = session["page"]
    go(page, "#scenario=handshake")
    click(page.locator("#run-a svg g.kind-arrow").nth(1), hover=True)  # the SYN,ACK
    assert page.is_visible("#detail")

    def field(name: str) -> str:
        return str(page.text_content(f"#detail dd[data-field={name}]"))

    assert field("flags") == "S."
    assert (field("seq"), field("ack"), field("abs_ack")) == ("0", "1", "4322")  # client ISN 4321
    assert field("options").startswith("mss 1460")
    assert field("win") == field("win_bytes")  # a SYN's window is never scaled
    assert field("spec") == "s2c:S.:1"
    page.focus("#run-a svg g.kind-arrow >> nth=2")  # the third ACK: a scaled window
    assert field("flags") == "."
    assert int(field("win_bytes")) > 65535 and "<<" in field("win")


def test_the_korean_toggle(session: dict[str, Any]) -> None:
    page = session["page"]
    go(page, "#scenario=lost-final-ack")
    english = arrows(page)
    before = runs_done(page)
    page.click("#lang")
    wait_run(page, before)
    assert page.get_attribute("html", "lang") == "ko"
    assert page.text_content("#run-title") == SCENARIOS["lost-final-ack"].title["ko"]
    assert page.text_content("#prev") == "◀ 이전"
    assert page.text_content("#lang") == "English"
    assert "클라이언트" in str(page.text_content("#run-a svg"))
    assert arrows(page) == english
    assert hash_of(page)["lang"] == "ko"
    before = runs_done(page)
    page.click("#lang")
    wait_run(page, before)
    assert page.get_attribute("html", "lang") == "en"
    assert page.text_content("#prev") == "◀ Prev"


def test_keyboard_only(session: dict[str, Any]) -> None:
    page = session["page"]
    go(page, "#scenario=handshake")
    page.focus("#next")
    for k in (1, 2, 3):
        page.keyboard.press("ArrowRight")
        assert page.get_attribute("body", "data-step") == str(k)
    page.keyboard.press("End")
    steps = page.locator("#run-a svg g.step").count()
    assert page.get_attribute("body", "data-step") == str(steps)
    page.keyboard.press("Home")
    assert page.get_attribute("body", "data-step") == "0"
    # Tab to the first segment
    page.focus("#next")
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('kind-arrow')"):
            break
    assert page.evaluate("document.activeElement.dataset.spec") == "c2s:S:1"
    page.keyboard.press("Enter")
    assert page.is_visible("#fault-menu")
    assert page.evaluate("document.activeElement.id") == "fault-drop"
    page.keyboard.press("Escape")
    assert not page.is_visible("#fault-menu")
    assert page.evaluate("document.activeElement.dataset.spec") == "c2s:S:1"
    page.keyboard.press("Tab")  # the SYN,ACK
    page.keyboard.press("Enter")
    before = runs_done(page)
    page.keyboard.press("Enter")  # "Drop it"
    wait_run(page, before)
    assert arrows(page, "b") == cli_arrows(["demo", "handshake", "--drop", "s2c:S.:1", "--json"])


def test_the_composer_and_its_cwnd_plot(session: dict[str, Any]) -> None:
    page = session["page"]
    go(page, "#scenario=close")
    before = runs_done(page)
    page.select_option("#scenario", "compose")
    wait_run(page, before)
    assert page.is_visible("#composer")
    page.fill("#req", "200000")
    page.fill("#loss", "1")
    page.uncheck("#sack")
    page.select_option("#send", "close")
    before = runs_done(page)
    page.click("#run")
    wait_run(page, before)
    setup = hash_of(page)
    assert setup | {"scenario": "compose", "req": "200000", "loss": "1", "sack": "0"} == setup
    toml = urllib.parse.unquote(str(page.get_attribute("#toml-link", "href")).split(",", 1)[1])
    assert "sack = false" in toml and "loss = 0.01" in toml and "bytes = 200000" in toml
    assert page.text_content("#command") == "synack demo --file composed.toml --json"
    assert arrows(page) == cli_arrows(["demo", "--file", "composed.toml", "--json"],
                                      {"composed.toml": toml})  # fmt: skip
    points = int(page.get_attribute("#run-a .cwnd-svg path.cwnd[data-endpoint=client]",
                                    "data-points") or 0)  # fmt: skip
    assert points > 10


def test_a_dropped_capture_is_analysed_in_the_page(session: dict[str, Any], tmp_path: Path) -> None:
    from click.testing import CliRunner

    from synack.cli import main

    page = session["page"]
    capture = tmp_path / "close.pcap"
    assert CliRunner().invoke(main, ["demo", "close", "--pcap", str(capture)]).exit_code == 0
    expected = len(cli_arrows(["demo", "close", "--json"]))
    # dropped on the zone, as a file dragged from the desktop arrives
    page.evaluate(
        """data => {
            const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], "close.pcap"));
            document.body.removeAttribute("data-capture");
            document.getElementById("capture").dispatchEvent(
                new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true}));
        }""",
        base64.b64encode(capture.read_bytes()).decode(),
    )
    page.wait_for_function("document.body.dataset.capture !== undefined", timeout=30_000)
    assert page.get_attribute("body", "data-capture") == "done"
    assert page.get_attribute("#capture-result", "data-connections") == "1"
    assert page.locator("#capture-result svg g.kind-arrow").count() == expected
    assert "10.0.0.1" in str(page.text_content("#capture-result h3"))
    # not a capture: one line saying so
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"hello, world")
    page.evaluate("document.body.removeAttribute('data-capture')")
    page.set_input_files("#capture-file", str(junk))
    page.wait_for_function("document.body.dataset.capture !== undefined", timeout=30_000)
    assert page.get_attribute("body", "data-capture") == "error"
    assert "not a pcap or pcapng file" in str(page.text_content("#status"))
    # one too big for the page: said before reading it
    page.evaluate(
        """() => {
            const file = new File([new Uint8Array(8)], "huge.pcap");
            Object.defineProperty(file, "size", {value: 300 * 1048576});
            const transfer = new DataTransfer();
            transfer.items.add(file);
            document.body.removeAttribute("data-capture");
            const drop = new DragEvent("drop", {bubbles: true, cancelable: true});
            Object.defineProperty(drop, "dataTransfer", {value: {files: [file]}});
            document.getElementById("capture").dispatchEvent(drop);
        }"""
    )
    assert page.get_attribute("body", "data-capture") == "error"
    assert "huge.pcap (300 MB) is too big for the page" in str(page.text_content("#status"))


def test_a_hostile_fragment_is_one_line_of_error(session: dict[str, Any]) -> None:
    """A malformed escape or a junk number is said in the status line; a huge
    range of segments runs; the page then runs the next fragment as usual."""
    page = session["page"]
    for fragment, said in (
        ("#scenario=close&seed=%E0%A4%A", "seed='%E0%A4%A': a whole number"),
        ("#scenario=close&%ZZ=1&msl=1e999", "msl='1e999': must be from"),
    ):
        before = runs_done(page)
        page.evaluate("h => { location.hash = h; }", fragment)
        page.wait_for_function(f"Number(document.body.dataset.runs || 0) > {before}",
                               timeout=READY_MS)  # fmt: skip
        assert page.evaluate("document.body.dataset.ready") == "error"
        assert said in str(page.text_content("#status"))
    go(page, "#scenario=close&drop=c2s:F.:1-99999999999")
    assert session["errors"] == []


def test_nothing_was_fetched_from_outside(session: dict[str, Any]) -> None:
    """Runs last in this module: no request of the page left 127.0.0.1 (no CDN)."""
    assert session["outside"] == []
    assert session["errors"] == []


def test_a_link_reproduces_the_run_even_offline(browser: Any, session: dict[str, Any]) -> None:
    """A fresh page opened on a link shows that run; its fragment after a step,
    given to another page, shows the same; and once loaded, the site works
    offline (its service worker kept a copy of every file)."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(session["url"] + "#scenario=lost-final-ack&drop=5&step=7&lang=ko")
    wait_run(page, 0)
    assert page.input_value("#scenario") == "lost-final-ack"
    assert page.get_attribute("html", "lang") == "ko"
    assert page.get_attribute("body", "data-step") == "7"
    assert arrows(page, "a") == cli_arrows(["demo", "lost-final-ack", "--json"])
    changed = cli_arrows(["demo", "lost-final-ack", "--drop", "s2c:P.:1", "--json"])
    assert arrows(page, "b") == changed
    page.focus("#next")
    page.keyboard.press("ArrowRight")
    link = str(page.evaluate("location.hash"))
    assert hash_of(page) == {"scenario": "lost-final-ack", "lang": "ko", "drop": "5", "step": "8"}
    # the other page was showing something else: the fragment alone sets it up
    other = session["page"]
    go(other, "#scenario=close")
    go(other, link)
    assert arrows(other, "b") == changed
    assert other.get_attribute("body", "data-step") == "8"
    assert other.get_attribute("html", "lang") == "ko"
    go(other, "#scenario=close&lang=en")
    # offline
    page.wait_for_function(
        """async () => {
            const manifest = await (await fetch("manifest.json")).json();
            const cache = await caches.open("synack-playground-" + manifest.build);
            return (await cache.keys()).length >= manifest.files.length;
        }""",
        timeout=60_000,
        polling=500,
    )
    context.set_offline(True)
    page.reload()
    wait_run(page, 0)
    assert arrows(page, "b") == changed
    context.close()
