"""Time to the first ladder in the playground: ``python benchmarks/web_first_ladder.py``.

Builds the site (``synack web build``, the Pyodide runtime from
build/npm-pyodide, $SYNACK_WEB_RUNTIME or the user's cache), serves it on
127.0.0.1 and opens it in Debian's chromium (Playwright, one profile kept
for the whole run) ``--loads`` times on ``#scenario=close``. The first load
starts with an empty browser cache; the others find the runtime's files in
the browser's cache (the one profile is kept between loads). For each load
the page itself reports, from the start of navigation: the runtime and
synack loaded (``data-load-ms``; Pyodide alone: ``data-runtime-ms``), and the first ladder drawn
(``data-first-ladder-ms``); then the time of one run alone
(``data-run-ms``, Python running the scenario and drawing the SVG). The
ratio compares the median cached load with the cold one, measured in this
run. Nothing here is asserted: tests never assert on wall time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
from pathlib import Path

from synack.web.serve import make_server
from synack.web.site import PYODIDE_VERSION, default_cache, runtime_in, write_site

REPO = Path(__file__).resolve().parents[1]
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=6, help="page loads (the first is cold)")
    parser.add_argument("--scenario", default="close")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.loads < 2:
        parser.error("--loads: at least 2 (one cold, one cached)")
    runtime = next(
        (found for place in (REPO / "build" / "npm-pyodide", default_cache())
         if (found := runtime_in(place)) is not None),
        None,
    )  # fmt: skip
    if runtime is None:
        sys.exit(f"no pyodide@{PYODIDE_VERSION}: run `synack web build` once (npm fills the cache)")
    from playwright.sync_api import sync_playwright

    loads: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="synack-web-bench-") as tmp:
        site = Path(tmp) / "site"
        write_site(site, runtime)
        server = make_server(site)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/#scenario={args.scenario}"
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                str(Path(tmp) / "profile"), executable_path="/usr/bin/chromium", args=ARGS,
                service_workers="block",
            )  # fmt: skip
            for number in range(args.loads):
                page = context.new_page()
                page.goto(url)
                page.wait_for_function("document.body.dataset.ready === '1'", timeout=300_000)
                figures = {
                    key: float(page.get_attribute("body", f"data-{key}") or "nan")
                    for key in ("runtime-ms", "load-ms", "first-ladder-ms", "run-ms")
                }
                loads.append(figures)
                print(f"load {number + 1}: {figures}", file=sys.stderr)
                page.close()
            context.close()
        server.shutdown()
    cold, cached = loads[0], loads[1:]
    median = {key: statistics.median(load[key] for load in cached) for key in cold}
    result = {
        "pyodide": PYODIDE_VERSION,
        "scenario": args.scenario,
        "cold_ms": cold,
        "cached_median_ms": median,
        "cached_min_ms": {key: min(load[key] for load in cached) for key in cold},
        "cached_over_cold": round(median["first-ladder-ms"] / cold["first-ladder-ms"], 3),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"playground, first ladder of {args.scenario} (Pyodide {PYODIDE_VERSION}, chromium, "
          f"{len(cached)} cached loads)")  # fmt: skip
    print(f"  {'':24}{'cold':>10}{'cached (median)':>18}{'cached (min)':>15}")
    for key, label in (("runtime-ms", "Pyodide started"),
                       ("load-ms", "runtime + synack loaded"),
                       ("first-ladder-ms", "first ladder drawn"),
                       ("run-ms", "one run (Python + SVG)")):  # fmt: skip
        print(f"  {label:<24}{cold[key]:>8.0f} ms{median[key]:>15.0f} ms"
              f"{result['cached_min_ms'][key]:>12.0f} ms")  # fmt: skip
    print(f"  cached / cold, first ladder: {result['cached_over_cold']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
