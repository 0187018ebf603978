"""End to end: `streamlit run app.py` in a subprocess, driven by Debian's Chromium through Playwright.

Opens the page, steps to "Decode D · Layer 1", checks that layer 1 reads C and D and evicts A and B (the
cells' `data-states`), saves screenshots in both languages and at a tablet's width (to
tests/artifacts/screenshots/, or to the folder `SWA_DEMO_SCREENSHOTS` names: `assets/screenshots` refreshes
the README's), checks that two browser sessions keep their own step, and that the server-side PNG
export makes readable images. Then one test per defect a teacher found (issue 10), each at the link
where it showed, checking what the browser draws: sizes, overflow, overlaps, the keys, the clock.

Timing is measured by tests/bench_page.py (a benchmark, not a test); this file only records the step
times it sees in tests/artifacts/e2e_timing.json.

CI installs Chromium and a CJK font (`apt-get install -y chromium fonts-noto-cjk`); without
/usr/bin/chromium these tests fail, they do not skip.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import zipfile
from pathlib import Path

import pytest
from streamlit_server import free_port, start, stop

from swa_demo.ui.i18n import tr

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
# A test run leaves the shipped screenshots alone unless asked to refresh them.
SHOTS = ROOT / os.environ.get("SWA_DEMO_SCREENSHOTS", "tests/artifacts/screenshots")
ARTIFACTS = ROOT / "tests" / "artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
DESKTOP = {"width": 1280, "height": 800}
TALL = {"width": 1280, "height": 2000}  # Streamlit scrolls inside the page: a tall window shows more of it
MAX_SHOT = 500_000  # bytes per screenshot
TIMING: dict = {}


@pytest.fixture(scope="module")
def server():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium` "
                    "(and `fonts-noto-cjk` for the Chinese page)")
    port = free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / "streamlit_e2e.log", "w")
    try:
        proc = start(port, log)
    except RuntimeError as err:
        log.close()
        pytest.fail(f"{err}; see {ARTIFACTS / 'streamlit_e2e.log'}")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)
        log.close()
        (ARTIFACTS / "e2e_timing.json").write_text(json.dumps(TIMING, indent=1))
        text = (ARTIFACTS / "streamlit_e2e.log").read_text()
        assert "Traceback" not in text and "eprecat" not in text, text[-3000:]  # a clean server log


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def wait_idle(page, timeout: float = 30_000) -> None:
    """Until the script run is over (Streamlit marks the app root)."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout)


def open_page(browser, server: str, query: str = "", viewport: dict = DESKTOP, stepper: bool = True):
    page = browser.new_context(viewport=viewport, accept_downloads=True).new_page()
    page.goto(f"{server}/{query}")
    page.wait_for_selector(".swa-step .label" if stepper else "h1", timeout=60_000)
    wait_idle(page)
    return page


def label(page) -> str:
    return page.inner_text(".swa-step .label")


def until_label(page, text: str, timeout: float = 15_000) -> None:
    """Until the stepper shows `text` and the run that drew it is over (the panels under the label are
    drawn after it: asserting on them at once races the script)."""
    page.wait_for_function("t => document.querySelector('.swa-step .label')?.innerText === t", arg=text,
                           timeout=timeout)
    wait_idle(page, timeout)


# Timed inside the page, so Playwright's own round trips do not count: from the click event to the
# moment the step label shows new text, and to the moment Streamlit marks the script run finished.
STOPWATCH = """() => {
  if (window.__swa) return;
  window.__swa = {};
  document.addEventListener('click', () => {
    window.__swa = {click: performance.now(), before: document.querySelector('.swa-step .label').innerText};
  }, true);
  new MutationObserver(() => {
    const t = window.__swa, el = document.querySelector('.swa-step .label');
    if (!t.click) return;
    if (!t.label && el && el.innerText !== t.before) t.label = performance.now();
    const state = document.querySelector('[data-testid=stApp]').getAttribute('data-test-script-state');
    if (t.label && !t.idle && state === 'notRunning') t.idle = performance.now();
  }).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
}"""


def click_and_time(page, name: str) -> float:
    """Click a stepper button; seconds from the click until the step label changes (TIMING also keeps
    the time until the script run is over)."""
    page.evaluate(STOPWATCH)
    page.get_by_role("button", name=name).click()  # the name also holds the icon's ligature text
    page.wait_for_function("() => window.__swa.idle", timeout=15_000)
    t = page.evaluate("() => window.__swa")
    TIMING.setdefault("step_click_to_idle_s", []).append(round((t["idle"] - t["click"]) / 1000, 3))
    return (t["label"] - t["click"]) / 1000


def states(page, sym: str) -> set[str]:
    """data-states of the cache cell(s) of `sym` shown for this step (union over both orders)."""
    cells = page.locator(f'.swa-kv[data-sym="{sym}"]')
    assert cells.count() >= 1, f"no cell for {sym}"
    return {s for i in range(cells.count()) for s in cells.nth(i).get_attribute("data-states").split()}


def screenshot(page, name: str) -> Path:
    page.mouse.move(1, 1)  # no tooltip left over from the last click
    page.wait_for_timeout(500)  # let the last layout settle
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / name
    page.screenshot(path=str(path))
    if path.stat().st_size > MAX_SHOT:  # a palette PNG keeps the text sharp at a fraction of the size
        from PIL import Image

        Image.open(path).convert("RGB").quantize(colors=128).save(path, optimize=True)
    assert path.stat().st_size < MAX_SHOT, f"{path} is {path.stat().st_size} bytes"
    return path


def scroll_to(page, selector: str) -> None:
    page.locator(selector).first.scroll_into_view_if_needed()
    page.wait_for_timeout(300)


def in_view(page, selector: str) -> bool:
    return page.evaluate(f"""() => {{ const r = document.querySelector('{selector}').getBoundingClientRect();
        return r.top >= 0 && r.bottom <= window.innerHeight; }}""")


# ---- the walkthrough, both languages, two sessions -------------------------------------------------


def test_decode_D_layer_1_in_both_languages(server, browser):
    page = open_page(browser, server, viewport=TALL)
    assert label(page) == "Prefill · 第 1 层"
    clicks = [click_and_time(page, "下一步") for _ in range(3)]
    assert label(page) == "Decode D · 第 1 层"
    assert states(page, "K₁[C]") == {"kept", "read"}
    assert states(page, "K₁[D]") == {"written", "read"}
    assert states(page, "K₁[A]") == {"evicted"} and states(page, "K₁[B]") == {"evicted"}
    assert page.get_by_label("K₁[A]/V₁[A]：丢弃").count() >= 1  # screen readers hear the state too
    assert "step=4" in page.url  # the address bar is a link to this step
    screenshot(page, "classroom_zh.png")

    page.get_by_text("English", exact=True).click()
    until_label(page, "Decode D · Layer 1", 15_000)
    # the chosen model and layer pattern are redrawn in the new language too (a selectbox keeps its old
    # text unless the page sets it again)
    boxes = page.locator("[data-testid=stSidebar] [data-testid=stSelectbox] input")
    assert boxes.nth(0).input_value() == tr("en", "model_tiny")
    assert boxes.nth(1).input_value() == tr("en", "pattern_sliding")
    wait_idle(page)
    assert page.get_by_label("K₁[A]/V₁[A]: evicted").count() >= 1
    assert "lang=en" in page.url
    screenshot(page, "classroom_en.png")

    clicks += [click_and_time(page, "Next") for _ in range(4)]
    clicks += [click_and_time(page, "Previous") for _ in range(3)]
    TIMING["step_click_to_label_s"] = [round(c, 3) for c in clicks]
    TIMING["step_click_to_label_median_s"] = round(statistics.median(clicks), 3)
    TIMING["step_click_to_idle_median_s"] = round(statistics.median(TIMING["step_click_to_idle_s"]), 3)
    page.close()


def test_a_link_opens_its_step_and_sessions_do_not_disturb_each_other(server, browser):
    a = open_page(browser, server, "?step=4")
    b = open_page(browser, server, "?lang=en&policy=ring&step=7")
    assert label(a) == "Decode D · 第 1 层" and label(b) == "Decode E · Layer 1"
    click_and_time(a, "下一步")
    click_and_time(b, "Previous")
    click_and_time(b, "Previous")
    assert label(a) == "Decode D · 第 2 层"
    assert label(b) == "Decode D · Layer 2"
    assert "Physical slot order" in b.inner_text("body")  # b's ring, a's seed: neither leaks
    assert "物理槽位顺序" not in a.inner_text("body")
    a.context.close()
    b.context.close()


def dark_rows(png: bytes, top: int, bottom: int) -> int:
    """How many pixel rows between `top` and `bottom` hold something dark (text, a tick)."""
    from PIL import Image

    img = Image.open(io.BytesIO(png)).convert("L")
    return sum(1 for y in range(max(top, 0), min(bottom, img.height))
               if min(img.getpixel((x, y)) for x in range(0, img.width, 2)) < 100)


def test_server_side_png_export_keeps_every_label(server, browser):
    """Defect 4: the exported PNGs lost their tick labels. Below each plot's bottom edge there must be
    text (positions, pass names), and the storage bars' numbers must not be cut at the top."""
    page = open_page(browser, server, "?lang=en&step=9", {"width": 1400, "height": 1400})
    page.get_by_text("Share and export").click()
    make = page.get_by_role("button", name="Make PNGs", exact=False)
    make.wait_for()
    page.wait_for_timeout(800)  # the expander animates open; a click during it can miss the button
    make.click()
    download_button = page.get_by_role("button", name="Download the PNGs (zip)")
    failed = page.get_by_text("The server cannot make PNGs")
    try:  # the export gives up by itself after 75 s (swa_demo.ui.export), with a message
        download_button.or_(failed).first.wait_for(timeout=120_000)
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "png_export_timeout.png"))
        raise
    assert not failed.count(), failed.inner_text()
    with page.expect_download() as info:
        download_button.click()
    data = Path(info.value.path()).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = sorted(zf.namelist())
        assert names == sorted(["mask.png", "weights.png", "probs.png", "timeline.png", "sizes.png",
                                "storage.png"]), names
        pngs = {n: zf.read(n) for n in names}
    assert all(p.startswith(b"\x89PNG") for p in pngs.values())
    from swa_demo.ui import derive, figures
    from swa_demo.walkthrough import Settings, run

    trace = run(Settings())
    slides = figures.step_slides(trace, derive.step_refs(trace)[-1], "en")
    for name in ("mask", "timeline", "sizes"):
        fig = slides[name].layout
        plot_bottom = 2 * (fig.height - fig.margin.b)  # PNGs are drawn at scale 2
        assert dark_rows(pngs[f"{name}.png"], plot_bottom + 4, plot_bottom + 2 * fig.margin.b) >= 20, name
    page.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_real_model_in_the_classroom(server, browser, lang):
    """SmolLM2 from a link: its layer 13 at the first decode step, the 30 layers' strip, the sink."""
    page = open_page(browser, server, f"?lang={lang}&model=smollm2&policy=sink&sinks=1&window=4&step=43",
                     TALL)
    layer = tr(lang, "layer_n", l=13)
    until_label(page, f"Decode ␣the · {layer}", timeout=60_000)
    assert page.locator("tr.strip").count() == 30 and page.locator("tr.strip.now").count() == 1
    assert page.locator('.swa-kv[data-sym="K₁₃[The]"]').count() >= 1
    assert page.locator("table.swa-w th.sink").count() == 1  # the sink's column in the weights
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, f"real_classroom_{lang}.png")
    page.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("tab", ["receptive", "realmodel", "costs", "fullscale"])
def test_the_other_views_render_in_both_languages(server, browser, tab, lang):
    page = open_page(browser, server, f"?lang={lang}", TALL)
    page.get_by_role("tab", name=tr(lang, f"tab_{tab}")).click()
    page.wait_for_selector(".js-plotly-plot", state="attached", timeout=30_000)
    wait_idle(page, timeout=60_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('[role=tabpanel]')].some(p => p.querySelector('.js-plotly-plot')"
        " && p.offsetParent !== null)", timeout=30_000)
    page.wait_for_timeout(1000)
    assert page.locator('[data-testid="stException"]').count() == 0
    titles = {"receptive": "rf_title", "realmodel": "rm_title", "costs": "cost_title",
              "fullscale": "fs_title"}
    assert tr(lang, titles[tab])[:6] in page.inner_text("body")
    screenshot(page, f"{tab}_{lang}.png")
    page.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_million_token_comparison_draws_what_fits_one_gpu(server, browser, lang):
    page = open_page(browser, server, f"?lang={lang}", {"width": 1280, "height": 1200})
    page.get_by_role("tab", name=tr(lang, "tab_fullscale")).click()
    head = page.get_by_text(tr(lang, "mt_head"), exact=True)
    head.wait_for(timeout=60_000)
    wait_idle(page, timeout=60_000)
    head.evaluate("h => h.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(1000)
    for words in (tr(lang, "mt_oom"), tr(lang, "mt_capacity", gib=139.8)):  # drawn once Plotly has drawn
        page.wait_for_function("t => [...document.querySelectorAll('.js-plotly-plot svg text')]"
                               ".some(e => e.textContent.includes(t))", arg=words, timeout=30_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, f"fullscale_million_{lang}.png")
    page.close()


# ---- one test per defect a teacher found (issue 10), where it showed --------------------------------


def test_decode_E_reads_D_and_E_while_C_is_only_evicted(server, browser):
    """Defect 1: 'read' meant two things. Cells, timeline and narration now agree."""
    page = open_page(browser, server, "?lang=en&step=7")
    assert label(page) == "Decode E · Layer 1"
    assert states(page, "K₁[C]") == {"evicted"}
    text = page.inner_text(".swa-narration")
    assert ("Attention reads only the window (positions ≥ 4-2+1=3): (K₁[D], V₁[D]), (K₁[E], V₁[E])"
            in text)
    assert "Before this step, layer 1's cache holds: (K₁[C], V₁[C]), (K₁[D], V₁[D])" in text
    column = page.locator('.swa-layer[data-layer="1"] table.swa-tl tr td:nth-child(4)')  # the Decode E pass
    read = [i for i in range(column.count()) if "read" in column.nth(i).get_attribute("data-states")]
    assert read == [3, 4]  # D and E
    page.close()


def test_sink_slot_rule_and_mask_caption(server, browser):
    """Defect 2: '6 mod 3' for a sink cache, and a mask caption without the sinks."""
    page = open_page(browser, server, "?policy=sink&sinks=1&window=3&prompt=ABCDEF&step=4")
    assert "写入槽 2（= 1 + (6 − 1) mod 2）" in page.inner_text(".swa-narration")
    assert "k < S 或 q − k < W − S" in page.inner_text("body")
    page.close()


def test_jamba_state_caption_units_and_notes(server, browser):
    """Defect 3: the state caption swapped rows and columns; SSM layers were labelled with policies and
    drawn at 0 entries; the seed notes showed for patterns they do not describe."""
    page = open_page(browser, server, "?pattern=jamba&step=1")
    assert page.locator("table.swa-state tr").count() == 4  # N = 4 rows, as the caption says
    assert "列：64 个内部通道；行：状态维 N = 4" in page.inner_text("body")
    assert page.locator('.swa-store .name[data-layer="1"]').inner_text() == "第 1 层 · SSM 状态"
    assert page.locator(".swa-note").count() == 0
    page.close()


def test_errors_on_the_other_tabs_are_in_chinese(server, browser):
    """Defect 5: the receptive-field and cost tabs answered a Chinese page in English."""
    page = open_page(browser, server, "?prompt=A1", stepper=False)
    panel = '[role=tabpanel] [data-testid="stAlertContentError"]'  # one panel: the open tab's
    page.get_by_role("tab", name=tr("zh", "tab_receptive")).click()
    page.get_by_text(tr("zh", "rf_title")).first.wait_for(timeout=30_000)  # the receptive tab drawn,
    page.locator(panel, has_text="'1' 不是字母").first.wait_for(timeout=30_000)  # then its own error
    page.get_by_role("tab", name=tr("zh", "tab_costs")).click()
    box = page.get_by_label(tr("zh", "cost_table_contexts"))
    box.fill("abc")
    box.press("Enter")
    error = page.locator(panel, has_text="'abc' 不是 token 数")
    error.first.wait_for(timeout=30_000)
    assert "应为 token 数" in error.first.inner_text()
    page.close()


NARROW = [{"width": 820, "height": 1100}, {"width": 768, "height": 1024}]


@pytest.mark.parametrize("viewport", NARROW, ids=["820", "768"])
def test_narrow_screens_keep_the_stepper_and_the_tabs_whole(server, browser, viewport):
    """Defect 6: at 820 px with the sidebar open the stepper's words were cut and the tab strip
    overflowed. Every button's content fits inside it, and every tab can be reached."""
    page = open_page(browser, server, "?step=4", viewport)
    overflow = page.evaluate("""() => [...document.querySelectorAll('.st-key-stepper button')].filter(
        b => b.offsetParent && b.scrollWidth > b.clientWidth + 1).map(b => b.innerText)""")
    assert overflow == []
    tabs = page.evaluate("""() => { const t = document.querySelector('[role=tablist]');
        return [t.scrollWidth, t.clientWidth, getComputedStyle(t).overflowX]; }""")
    assert tabs[0] <= tabs[1] + 1 or tabs[2] == "auto", tabs
    columns = page.evaluate("""() => [...document.querySelectorAll('.st-key-panels [data-testid=stColumn]')]
        .map(c => c.getBoundingClientRect().width)""")
    assert min(columns) >= 420  # the panels stack instead of squeezing into two narrow columns
    if viewport["width"] == 820:
        page.get_by_text("English", exact=True).click()  # the language radio in the sidebar
        until_label(page, "Decode D · Layer 1")
        wait_idle(page)
        screenshot(page, "classroom_en_820.png")
    page.close()


def test_long_runs_stay_readable(server, browser):
    """Defect 7: with 12 letters the weights overflowed their cells; with 10 new tokens the timeline's
    labels collided; with 32 its columns were a few pixels wide."""
    page = open_page(browser, server, "?prompt=ABCDEFGHIJKL&new=10&step=1", TALL)
    spill = page.evaluate("""() => [...document.querySelectorAll('table.swa-w td')].filter(
        td => td.scrollWidth > td.clientWidth + 1).length""")
    assert spill == 0
    boxes = page.evaluate("""() => [...document.querySelectorAll('.swa-layer[data-layer="1"] th.pass')].map(
        th => { const r = th.getBoundingClientRect(); return [r.left, r.right]; })""")
    assert all(a[1] <= b[0] + 1 for a, b in zip(boxes, boxes[1:]))  # pass names side by side, no overlap
    page.close()
    page = open_page(browser, server, "?prompt=ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEF&new=32&layers=6&step=1", TALL)
    widths = page.evaluate("""() => [...document.querySelectorAll(
        '.swa-layer[data-layer="1"] tr:nth-child(2) td')].map(td => td.getBoundingClientRect().width)""")
    assert len(widths) == 32 and min(widths) >= 20  # the prefill and 31 decode passes (the 32nd is output)
    screenshot(page, "classroom_long_run_zh.png")
    page.close()


def test_a_Q_prompt_has_a_symbol_every_font_draws(server, browser):
    """Defect 8: K₁ᑫ drew like K₁9."""
    page = open_page(browser, server, "?prompt=Q&new=2&step=4")
    assert page.locator('.swa-kv[data-sym="K₁[Q]"]').count() >= 1
    page.close()


def test_full_scale_cache_chart_is_linear_in_GiB_and_the_live_curve_has_its_spread(server, browser):
    """Defects 9 and 10: a log x axis under a 'linear' title in GB; one noisy run drawn as the truth."""
    page = open_page(browser, server, "?lang=en")
    page.get_by_role("tab", name=tr("en", "tab_fullscale")).click()
    drawn = """t => [...document.querySelectorAll('.js-plotly-plot')].some(
        p => p.layout && p.layout.title.text.includes(t) && (p.data || []).length)"""
    page.wait_for_function(drawn, arg="Cache:", timeout=60_000)  # Plotly draws after the script ends
    axes = page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')].map(p => [
        p.layout.title.text, p.layout.xaxis.type, p.layout.yaxis.title.text])""")
    cache = next(a for a in axes if "Cache:" in a[0])  # Streamlit's theme wraps titles in <b>
    assert cache[1] == "linear" and "GiB" in cache[2]
    page.get_by_role("button", name=tr("en", "fs_cpu_run")).click()
    page.wait_for_selector('[data-testid="stAlertContentSuccess"]', timeout=120_000)
    page.wait_for_function(drawn, arg="Measured live", timeout=60_000)
    bars = page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')].filter(
        p => p.layout.title.text.includes('Measured live'))
        .map(p => p.data.map(t => t.error_y.array.length))""")
    assert bars == [[4, 4]]  # every point has its spread
    page.close()


def test_chinese_screens_speak_chinese_and_the_prompt_box_is_one(server, browser):
    """Defect 11: 'Layer 1' beside '第 1 层', 'emb' and the chart toolbar in English, two prompt boxes,
    a fixed prompt sending the stepper back to step 1, grey placeholders after the script finished."""
    page = open_page(browser, server, "?step=5")
    # drawn as soon as the script is done: no grey placeholder left a moment later
    page.wait_for_function("() => !document.querySelector('[data-testid=stSkeleton]')", timeout=1500)
    assert "Layer" not in page.inner_text('[data-testid="stMain"]')
    box = page.get_by_label(tr("zh", "prompt"), exact=True)
    box.fill("")
    box.press("Enter")
    page.wait_for_selector('[data-testid="stAlertContentError"]')
    box.fill("ABC")
    box.press("Enter")
    until_label(page, "Decode D · 第 2 层", 15_000)
    page.get_by_role("tab", name=tr("zh", "tab_receptive")).click()
    page.wait_for_selector(".js-plotly-plot", timeout=30_000)
    wait_idle(page)
    assert page.locator('[data-testid="stTextInput"]').count() == 1  # the sidebar's, no second one
    ticks = page.evaluate("() => document.querySelector('.js-plotly-plot').layout.yaxis.ticktext")
    assert ticks[0] == "0 嵌入"
    page.locator(".js-plotly-plot").first.hover()
    titles = page.evaluate("() => [...document.querySelectorAll('.modebar-btn')].map(a => a.dataset.title)")
    assert "缩放" in titles and "Zoom" not in titles  # Plotly's own buttons (Streamlit adds two of its own)
    page.close()


# ---- teaching, in the browser -------------------------------------------------------------------


def test_the_stepper_stays_in_view_beside_the_mask_and_answers_the_arrow_keys(server, browser):
    page = open_page(browser, server, "?step=4")
    scroll_to(page, "table.swa-mask")
    assert in_view(page, "table.swa-mask") and in_view(page, ".swa-step")
    page.mouse.click(640, 790)  # focus on the page, not a text box
    page.keyboard.press("ArrowRight")
    until_label(page, "Decode D · 第 2 层")
    page.keyboard.press("Home")
    until_label(page, "Prefill · 第 1 层")
    page.close()


def test_the_real_models_stepper_stays_in_view_beside_its_mask_on_a_1280_x_800_screen(server, browser):
    """The 30 layers' strip once sat in the sticky stepper and covered the panels under it."""
    page = open_page(browser, server, "?lang=en&model=smollm2&step=3")
    until_label(page, "Prefill · Layer 3", timeout=60_000)
    scroll_to(page, "table.swa-mask")
    assert in_view(page, "table.swa-mask") and in_view(page, ".swa-step")
    sticky = page.evaluate("() => document.querySelector('.st-key-stepper').getBoundingClientRect().height")
    assert sticky < 260, sticky  # the stepper and the layer slider only
    page.close()


def test_the_seed_text_and_the_computation_side_by_side_at_decode_D_layer_3(server, browser):
    page = open_page(browser, server, "?step=6", TALL)
    assert page.locator(".swa-note li").count() == 3
    assert page.locator("table.swa-mask tr.seed td.m0").count() == 4  # the seed's row: A, B, C, D
    assert page.locator("table.swa-mask tr[data-q] td.m0").count() == 2  # the computed row: C, D
    assert page.locator("td.cut").count() == 1 and "3-2+1=2" in page.inner_text("th.cutlabel")
    screenshot(page, "classroom_seed_note_zh.png")
    page.close()


def test_takeaways_jump_and_the_last_step_explains_F(server, browser):
    page = open_page(browser, server, "?lang=en")
    page.get_by_text(tr("en", "take_title")).click()
    page.get_by_role("button", name=tr("en", "take_go", n=4)).first.click()
    until_label(page, "Decode D · Layer 1")
    page.get_by_role("button", name="Last").click()
    until_label(page, "Decode E · Layer 3")
    # the label is drawn before the panels under it: wait for the sentence, do not race it
    page.get_by_text("there is no 'Decode F' pass").first.wait_for(timeout=30_000)
    page.close()


def test_compare_two_policies_and_play_the_walkthrough(server, browser):
    page = open_page(browser, server, "?lang=en&step=4")
    box = page.get_by_label(tr("en", "compare"))
    box.click()
    box.fill("ring")
    page.keyboard.press("Enter")
    page.wait_for_selector(".swa-compare")
    assert page.locator('.swa-compare .swa-row-title[data-policy="ring"]').count() == 1
    page.get_by_role("button", name="Play").click()
    until_label(page, "Decode D · Layer 3", 15_000)  # two steps on at 1.5 s a step
    page.get_by_role("button", name="Pause").click()
    wait_idle(page)
    now = label(page)
    page.wait_for_timeout(2500)
    assert label(page) == now  # paused
    page.close()
