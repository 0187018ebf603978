"""Benchmark of the classroom page in a real browser: prints figures and writes JSON (no assertions).

    python tests/bench_page.py [--starts 3] [--sessions 5] [--steps 10] [--json assets/bench/page_cpu.json]
                               [--root OTHER_CHECKOUT]   # time another commit the same way

Three figures, each against the target issue 10 sets:

- first load: `streamlit run app.py` is started afresh, then one browser opens the page; seconds from
  `goto` until the script run is over (`idle`) and until everything is drawn (`drawn`). Target < 5 s.
- a new session on a warm server: a fresh browser context (empty cache, as a student's first visit)
  opens the page on the server the first load warmed. Target < 2 s. Also a second tab of the same
  browser (its cache warm: a visitor who has been here before), also a new session for the server.
- a step: the Next / Previous buttons, timed inside the page from the click event to the new step
  label and to the end of the script run. Target < 300 ms to the finished script.

Also the machine's load average before each part, so a figure taken under load says so. Needs
Playwright and /usr/bin/chromium (the browser test's requirements).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import streamlit_server  # noqa: E402  (one server recipe)
from test_e2e_browser import ARGS, CHROMIUM, STOPWATCH  # noqa: E402  (one launch recipe, one stopwatch)

IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
# The step's panels and the whole-run pictures are there, every image is decoded, every chart (if any)
# has drawn its SVG, and no element is still a grey loading skeleton.
DRAWN = """() => {
  const charts = [...document.querySelectorAll('[data-testid=stPlotlyChart]')];
  return document.querySelector('.swa-kv') && [...document.images].every(i => i.complete)
         && charts.every(c => c.querySelector('.main-svg'))
         && !document.querySelector('[data-testid=stSkeleton]');
}"""


def open_page(browser, url: str, context=None) -> tuple[float, float, object]:
    """A fresh browser context (empty cache: a new visitor) or a new tab of `context` (a visitor who
    has been here) opens the page: (seconds to idle, seconds to everything drawn, page)."""
    page = (context or browser.new_context(viewport={"width": 1280, "height": 800})).new_page()
    t = time.perf_counter()
    page.goto(url)
    page.wait_for_selector(".swa-step .label", timeout=60_000)
    page.wait_for_selector(IDLE, timeout=60_000)
    idle = time.perf_counter() - t
    page.wait_for_function(DRAWN, timeout=60_000, polling=50)
    return idle, time.perf_counter() - t, page


def time_step(page, name: str) -> tuple[float, float]:
    """(click to new label, click to finished script), seconds, measured in the page."""
    page.evaluate(STOPWATCH)
    page.get_by_role("button", name=name).click()
    page.wait_for_function("() => window.__swa.idle", timeout=15_000)
    t = page.evaluate("() => window.__swa")
    return (t["label"] - t["click"]) / 1000, (t["idle"] - t["click"]) / 1000


def summary(values: list[float]) -> dict | None:
    if not values:
        return None
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3), "all": [round(v, 3) for v in values]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--starts", type=int, default=3, help="fresh server starts (first loads)")
    ap.add_argument("--sessions", type=int, default=5, help="new sessions per warm server")
    ap.add_argument("--steps", type=int, default=10, help="step clicks")
    ap.add_argument("--json", help="write the figures here as JSON")
    ap.add_argument("--query", default="", help="open the page with this query string, e.g. '?lang=en'")
    ap.add_argument("--root", default=str(ROOT), help="the checkout whose app.py to run (to compare commits)")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    first_idle, first_drawn, new_idle, new_drawn, to_label, to_idle, loads = [], [], [], [], [], [], []
    tab_idle, tab_drawn = [], []
    log = open(os.devnull, "w")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for start in range(args.starts):
            port = streamlit_server.free_port()
            loads.append(os.getloadavg()[0])
            proc = streamlit_server.start(port, log, Path(args.root))
            url = f"http://127.0.0.1:{port}/{args.query}"
            try:
                idle, drawn, page = open_page(browser, url)
                first_idle.append(idle)
                first_drawn.append(drawn)
                page.context.close()
                for _ in range(args.sessions):
                    idle, drawn, page = open_page(browser, url)
                    new_idle.append(idle)
                    new_drawn.append(drawn)
                    idle, drawn, tab = open_page(browser, url, page.context)  # a second tab, warm cache
                    tab_idle.append(idle)
                    tab_drawn.append(drawn)
                    tab.close()
                    if start == 0 and not to_label:
                        for i in range(args.steps):  # forward, then back: every step is a fresh one
                            name = "下一步" if i < (args.steps + 1) // 2 else "上一步"
                            if "lang=en" in args.query:
                                name = "Next" if i < (args.steps + 1) // 2 else "Previous"
                            a, b = time_step(page, name)
                            to_label.append(a)
                            to_idle.append(b)
                    page.context.close()
            finally:
                streamlit_server.stop(proc)
        browser.close()
    result = {
        "what": "the classroom page in headless Chromium (tests/bench_page.py)",
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "cpu_cores": os.cpu_count(),
        "load_average_1min_before_each_start": [round(x, 2) for x in loads],
        "python": platform.python_version(),
        "query": args.query,
        "first_load_idle_s": summary(first_idle), "first_load_drawn_s": summary(first_drawn),
        "root": str(Path(args.root).resolve()),
        "new_session_idle_s": summary(new_idle), "new_session_drawn_s": summary(new_drawn),
        "new_tab_warm_browser_idle_s": summary(tab_idle), "new_tab_warm_browser_drawn_s": summary(tab_drawn),
        "step_to_label_s": summary(to_label), "step_to_idle_s": summary(to_idle),
        "targets": {"first_load_s": 5, "new_session_s": 2, "step_to_idle_s": 0.3},
    }
    for key in ("first_load_idle_s", "first_load_drawn_s", "new_session_idle_s", "new_session_drawn_s",
                "new_tab_warm_browser_idle_s", "new_tab_warm_browser_drawn_s", "step_to_label_s",
                "step_to_idle_s"):
        r = result[key]
        if r is None:
            continue
        print(f"{key:30s} median {r['median']:6.3f}  ({r['min']:.3f}–{r['max']:.3f}, n={len(r['all'])})")
    print(f"load average before each start: {result['load_average_1min_before_each_start']} "
          f"on {result['cpu_cores']} cores")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
