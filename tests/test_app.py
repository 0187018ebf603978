"""The classroom page under Streamlit's AppTest: it opens on the seed walkthrough, steps, refuses bad
settings with an `st.error` in the page's language (never an exception, never markup from the user),
restores a shared link, and speaks both languages.

The page's cells carry `data-sym` / `data-states` attributes; these tests read them the way the browser
test does, so the two agree on what "read" and "evicted" mean.
"""

from __future__ import annotations

import ast
import html
import json
import re
import string
import time
from pathlib import Path

import plotly.graph_objects as go
import pytest
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from swa_demo import narrate, phrases, tiny
from swa_demo.trace import load
from swa_demo.ui import derive, export, figures, i18n, show, state
from swa_demo.walkthrough import Settings, run

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")


def open_app(**query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def page_html(at: AppTest) -> str:
    return "".join(h.proto.body for h in at.get("html"))


def step_label(at: AppTest) -> str:
    m = re.search(r'<span class="label">([^<]*)</span>', page_html(at))
    assert m, "no step label on the page"
    return m.group(1)


def cells(at: AppTest) -> dict[str, set[str]]:
    """data-sym -> data-states of every cache cell shown for the current step (first row)."""
    found = re.findall(r'data-sym="([^"]+)" data-pos="\d+" data-states="([^"]*)"', page_html(at))
    out: dict[str, set[str]] = {}
    for sym, states in found:
        out.setdefault(sym, set(states.split()))
    return out


def narration(at: AppTest) -> list[str]:
    m = re.search(r'<ul class="swa-narration">(.*?)</ul>', page_html(at))
    return re.findall(r"<li>(.*?)</li>", m.group(1)) if m else []


def plain(markdown: str) -> str:
    """What a reader sees of a Markdown body: rendered, tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", MarkdownIt("commonmark").render(markdown))).strip()


def errors(at: AppTest) -> str:
    """Every error box's text as the reader sees it."""
    return "\n".join(plain(e.value) for e in at.error)


def click(at: AppTest, key: str, times: int = 1) -> AppTest:
    for _ in range(times):
        at.button(key=key).click().run()
    return at


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def no_link(markdown: str) -> None:
    """Rendered as Streamlit renders it (CommonMark, plus GFM's bare-URL autolinks), no link and no
    image come out of it."""
    rendered = MarkdownIt("commonmark").render(markdown)
    assert "<a " not in rendered and "<img" not in rendered, rendered
    assert "://" not in markdown and "www." not in markdown.lower(), markdown  # autolink literals


# ---- the page as a teacher meets it ---------------------------------------------------------------


def test_opens_on_the_seed_walkthrough_that_generates_D_E_F():
    at = open_app()
    no_exception(at)
    assert not at.error
    assert at.radio(key="lang").value == "zh"
    assert (at.text_input(key="prompt").value, at.number_input(key="window").value,
            at.number_input(key="layers").value, at.selectbox(key="policy").value) == ("A B C", 2, 3, "seed")
    assert step_label(at) == "Prefill · 第 1 层"
    strip = re.findall(r'class="swa-tok (prompt|gen)[^"]*" data-pos="(\d)"[^>]*><div class="t">(\w)',
                       page_html(at))
    assert [(kind, tok) for kind, _, tok in strip] == [("prompt", "A"), ("prompt", "B"), ("prompt", "C"),
                                                       ("gen", "D"), ("gen", "E"), ("gen", "F")]
    assert len(at.select_slider(key="step").options) == 9  # 3 passes x 3 layers
    assert "D E F" in at.caption[0].value
    assert not at.get("plotly_chart")  # the classroom draws HTML: no chart library for a first visit


def test_stepping_to_decode_D_layer_1_reads_C_and_D_and_evicts_A_and_B():
    at = click(open_app(), "step_next", 3)
    no_exception(at)
    assert step_label(at) == "Decode D · 第 1 层"
    c = cells(at)
    assert c["K₁[A]"] == {"evicted"} and c["K₁[B]"] == {"evicted"}
    assert c["K₁[C]"] == {"kept", "read"} and c["K₁[D]"] == {"written", "read"}
    assert at.query_params["step"] == "4"  # the address bar follows the stepper
    # storage: layer 1 holds C, D (2 x 128 B) where mask-only would hold A..D; layer 2 has not run yet
    assert 'data-layer="1" data-bytes="256" data-seen-bytes="512"' in page_html(at)
    assert 'data-layer="2" data-bytes="384" data-seen-bytes="384"' in page_html(at)


def test_first_last_previous_and_the_slider():
    at = click(open_app(), "step_last")
    assert step_label(at) == "Decode E · 第 3 层"
    assert at.button(key="step_next").disabled and at.button(key="step_last").disabled
    assert "贪心选出 F" in page_html(at)  # after the last layer: the LM head picks the next token
    assert page_html(at).count('class="swa-probs"') == 1
    click(at, "step_prev")
    assert step_label(at) == "Decode E · 第 2 层"
    assert 'class="swa-probs"' not in page_html(at)
    at.select_slider(key="step").set_value(4).run()
    assert step_label(at) == "Decode D · 第 2 层"
    click(at, "step_first")
    assert step_label(at) == "Prefill · 第 1 层"


def test_the_stepper_answers_the_arrow_keys():
    at = open_app()
    keys = {k: at.button(key=f"step_{k}").proto.shortcut for k in ("first", "prev", "next", "last")}
    assert keys == {"first": "home", "prev": "left", "next": "right", "last": "end"}


def test_language_switch_keeps_the_step_and_the_tab():
    at = click(open_app(), "step_next", 3)
    at.radio(key="lang").set_value("en").run()
    no_exception(at)
    assert step_label(at) == "Decode D · Layer 1"
    assert at.title[0].value.startswith("How sliding window attention")
    assert "Drops every KV at a position below 3-2+1=2" in page_html(at)
    assert at.query_params["lang"] == "en"
    at.session_state["tab"] = i18n.tr("en", "tab_costs")
    at.run()
    at.radio(key="lang").set_value("zh").run()
    assert at.session_state["tab"] == i18n.tr("zh", "tab_costs")  # the same tab, named in Chinese


def test_changing_controls_reruns_the_model():
    at = open_app()
    at.number_input(key="layers").set_value(2).run()
    assert len(at.select_slider(key="step").options) == 6
    at.selectbox(key="policy").set_value("ring").run()
    at.number_input(key="window").set_value(3).run()
    at.text_input(key="prompt").set_value("ABCDE").run()
    no_exception(at)
    assert not at.error
    assert "slot = 位置 mod W" in page_html(at)
    # ring, W = 3, prompt of 5: prefill computes A and B but never stores them
    assert cells(at)["K₁[A]"] == {"read", "unstored"}
    at.selectbox(key="policy").set_value("sink").run()
    assert at.number_input(key="sinks").value == 1  # the sinks control appears with the sink policy
    at.number_input(key="chunk").set_value(2).run()
    no_exception(at)
    assert not at.error
    assert step_label(at).startswith("Prefill 1/3")


def test_reset_returns_to_the_seed_walkthrough():
    at = open_app(lang="en", prompt="KLMN", window="3", policy="mask-only", step="5")
    at.button(key="reset").click().run()
    no_exception(at)
    assert at.text_input(key="prompt").value == "A B C" and at.number_input(key="window").value == 2
    assert at.selectbox(key="policy").value == "seed" and step_label(at) == "Prefill · Layer 1"


def test_fixing_a_bad_prompt_keeps_the_step():
    at = open_app(step="5")
    assert step_label(at) == "Decode D · 第 2 层"
    at.text_input(key="prompt").set_value("").run()
    assert "提示词（字母 A–Z）为空" in errors(at)
    at.text_input(key="prompt").set_value("A B C").run()
    no_exception(at)
    assert step_label(at) == "Decode D · 第 2 层"


# ---- bad values: an st.error that says what to change, never an exception --------------------------


@pytest.mark.parametrize("key, value, needle", [
    ("prompt", "A1C", "'1' 不是字母"),
    ("prompt", "", "提示词（字母 A–Z）为空"),
    ("prompt", "A" * 40, "有 40 个字母，最多只能有 32 个"),
    ("window", 0, "窗口 W（含查询自身）应在 1 到 64 之间（当前为 0）"),
    ("layers", 7, "层数应在 1 到 6 之间（当前为 7）"),
    ("new", 0, "生成的 token 数应在 1 到 32 之间（当前为 0）"),
    ("chunk", 0, "Prefill 分块大小（可选）至少为 1（当前为 0）"),
])
def test_bad_control_values_are_refused_with_a_message(key, value, needle):
    at = open_app()
    widget = at.text_input(key=key) if key == "prompt" else at.number_input(key=key)
    widget.set_value(value).run()
    no_exception(at)
    assert needle in errors(at)
    assert 'class="swa-step"' not in page_html(at)  # nothing computed from bad settings


def test_every_problem_is_reported_at_once_in_english_too():
    at = open_app(lang="en")
    at.selectbox(key="policy").set_value("sink").run()
    at.number_input(key="sinks").set_value(2).run()
    at.text_input(key="prompt").set_value("A?C").run()
    no_exception(at)
    text = errors(at)
    assert "'?' is not one" in text and "Attention sinks S must satisfy 0 < S < W (W = 2), got 2" in text


@pytest.mark.parametrize("value", [2 ** 60, 2 ** 53 + 1, -(2 ** 60)])
def test_a_huge_widget_value_is_never_wrapped_into_another_number(value):
    at = open_app()
    at.number_input(key="window").set_value(value).run()
    no_exception(at)
    assert at.session_state["window"] == 2  # refused: the last good value stays
    assert "窗口 W（含查询自身）收到的数字太大，无法表示；已保留原来的值（请用 1 到 64）" in errors(at)
    assert step_label(at) == "Prefill · 第 1 层"
    at.number_input(key="window").set_value(3).run()
    assert not at.error and at.session_state["window"] == 3


def test_a_huge_sinks_value_names_the_range_the_chosen_window_allows():
    at = open_app(lang="en", policy="sink", sinks="1", window="5")
    at.number_input(key="sinks").set_value(2 ** 60).run()
    no_exception(at)
    assert at.session_state["sinks"] == 1 and "(use 1 to 4)" in errors(at)  # S < W = 5, not W's maximum


def test_missing_weights_are_an_error_not_a_traceback(monkeypatch, tmp_path):
    monkeypatch.setattr(tiny, "ASSETS", tmp_path)  # nothing shipped here
    at = open_app(prompt="QRS", window="7")  # settings no other test caches
    no_exception(at)
    assert "python -m swa_demo train --layers 3 --pattern sliding" in errors(at)
    assert "找不到" in errors(at)


def test_errors_on_the_other_tabs_speak_the_pages_language():
    at = open_app(prompt="A1")  # the receptive-field tab draws the sidebar's run
    at.session_state["tab"] = i18n.tr("zh", "tab_receptive")
    at.run()
    no_exception(at)
    assert "'1' 不是字母" in errors(at)
    at = open_app()
    at.session_state["tab"] = i18n.tr("zh", "tab_costs")
    at.run()
    at.text_input(key="beyond_costs_contexts").set_value("abc").run()
    no_exception(at)
    assert errors(at) and not re.search(r"[A-Za-z]{6,}", errors(at).replace("abc", "")), errors(at)
    at.button(key="reset").click().run()  # Reset clears the other tabs' fields too
    assert at.text_input(key="beyond_costs_contexts").value == "4k,32k,128k,1M" and not at.error


# ---- links ---------------------------------------------------------------------------------------


def test_a_shared_link_restores_settings_and_step():
    at = open_app(lang="en", prompt="ABC", new="3", window="2", layers="3", policy="seed", step="4")
    no_exception(at)
    assert step_label(at) == "Decode D · Layer 1"
    assert cells(at)["K₁[A]"] == {"evicted"}
    at = open_app(prompt="ABCDE", window="3", policy="ring", step="7")
    assert at.selectbox(key="policy").value == "ring" and at.number_input(key="window").value == 3
    assert step_label(at) == "Decode G · 第 1 层"  # prefill, decode F, decode G: 3 steps each


@pytest.mark.parametrize("query, needle", [
    ({"window": "abc"}, "链接参数 window应为整数（当前为 'abc'）"),
    ({"lang": "fr"}, "链接参数 lang应为 zh, en 之一（当前为 'fr'）"),
    ({"policy": "lru"}, "链接参数 policy应为 seed, ring, sink, mask-only 之一（当前为 'lru'）"),
    ({"step": "99"}, "链接参数 step应在 1 到 9 之间（当前为 99），已改为显示第 9 步"),
    ({"window": "0"}, "窗口 W（含查询自身）应在 1 到 64 之间（当前为 0）"),
    ({"window": str(2 ** 60)}, "链接参数 window应在 1 到 64 之间"),
    ({"window": "²"}, "链接参数 window应为整数"),
])
def test_bad_link_values_are_reported(query, needle):
    at = open_app(**query)
    no_exception(at)
    assert needle in errors(at)
    if "step" in query:  # an out-of-range step shows the nearest one
        assert step_label(at) == "Decode E · 第 3 层"


@pytest.mark.parametrize("param", ["policy", "prompt", "lang", "pattern", "window"])
@pytest.mark.parametrize("payload", ["[click to fix](https://evil.example/login)",
                                     "<a href='https://e.example'>x</a>", "![x](https://e.example/i.png)",
                                     "www.evil.example", "$\\frac{1}{2}$ :red[x]"])
def test_a_value_echoed_from_a_link_is_text_never_a_link(param, payload):
    at = open_app(**{param: payload})
    no_exception(at)
    assert at.error
    for e in at.error:
        no_link(e.proto.body)


def test_every_message_element_goes_through_the_text_only_helper():
    """`ui/show.py` is the one module that hands sentences to Streamlit's Markdown elements, so a value a
    user typed can never become markup by an oversight somewhere else."""
    markdown_elements = {"error", "warning", "info", "success", "caption", "markdown", "write", "toast",
                         "exception"}
    offenders = []
    for path in [ROOT / "app.py", *(ROOT / "swa_demo" / "ui").glob("*.py")]:
        if path.name == "show.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in markdown_elements and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "st"):
                offenders.append(f"{path.name}:{node.lineno} st.{node.func.attr}")
    assert not offenders, offenders


@pytest.mark.parametrize("text", ["[x](https://e.example)", "**b** _i_ `c` <b>h</b> # h", "a\nb\n\n- c",
                                  "\\[x\\](y)", string.punctuation])
def test_text_shows_exactly_what_was_typed(text):
    md = show.text(text)
    assert MarkdownIt("commonmark").render(md).strip() == "<p>" + _html_text(text.replace("\n", " ")) + "</p>"


def _html_text(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def test_query_round_trip():
    values = {**state.SEED, "policy": "sink", "sinks": 2, "chunk": 4, "window": 5, "pattern": "gemma2"}
    query = state.to_query(values, "en", 6)
    assert query["step"] == "7" and query["sinks"] == "2" and query["chunk"] == "4"
    parsed, bad = state.parse_query(query)
    assert not bad and parsed["step"] == 7
    assert "model" not in query and "text" not in query  # the toy's link: its own fields only
    assert all(parsed[k] == values[k] for k in state.FIELDS if k not in ("model", "text"))


# ---- the defects a teacher found, each at the step where it showed ----------------------------------


@pytest.mark.parametrize("policy", ["seed", "ring", "mask-only", "sink"])
def test_cells_timeline_narration_and_trace_agree_on_what_is_read(policy):
    """At every step: the cells marked read, the timeline's read marks and the positions the narration
    says attention reads are exactly the keys the trace's queries attended."""
    trace = run(Settings(prompt="ABCDE", window=3, policy=policy, sinks=1 if policy == "sink" else 0))
    for ref in derive.step_refs(trace):
        step, lt = derive.layer_of(trace, ref)
        attended = {p for keys in lt.attended for p in keys}
        shown = {c.pos for c in derive.cache_cells(step, lt) if "read" in c.states}
        column = derive.timeline(trace, ref.layer_index)[ref.pass_index]
        timeline = {p for p, s in column.items() if "read" in s}
        assert shown == timeline == attended, ref
        if step.phase == "decode":
            lines = narrate.layer_lines(trace, step, lt, "en")
            line = next(x for x in lines if x.startswith("Attention reads"))
            labels = derive.token_labels(trace)
            read = re.findall(r"K[₀-₉]+\[(\w)\]", line.split(":", 1)[1])
            assert read == [labels[p] for p in sorted(attended)], line


def test_sink_step_narrates_its_slot_rule_and_its_mask_caption_states_the_sinks():
    at = open_app(policy="sink", sinks="1", window="3", prompt="ABCDEF", step="4")
    no_exception(at)
    lines = narration(at)
    assert "把 (K₁[G], V₁[G]) 写入槽 2（= 1 + (6 − 1) mod 2）" in lines
    assert "k &lt; S 或 q − k &lt; W − S" in page_html(at)  # the rule the mask draws, sinks included
    assert re.search(r'<tr data-q="6">.*?<td class="m0" data-k="0">✓', page_html(at))  # G attends A


def test_jamba_pattern_shows_state_in_bytes_labelled_as_state_and_no_seed_notes():
    at = open_app(pattern="jamba", step="1")
    no_exception(at)
    html = page_html(at)
    assert "列：64 个内部通道；行：状态维 N = 4" in html
    assert html.count('<th class="row">N') == 4  # a row per state dimension, a column per channel
    assert "第 1 层 · SSM 状态" in html and "第 3 层 · 全注意力" in html
    assert 'data-layer="1" data-bytes="1792"' in html  # the SSM state in bytes, as every layer
    assert 'class="swa-note"' not in html and i18n.tr("zh", "notes_other") in html
    trace = run(Settings(pattern="jamba"))
    assert derive.bytes_after(trace)[0] == [1792] * len(trace.steps)  # the sizes chart: bytes, not 0


def test_a_Q_prompt_names_its_keys_with_a_symbol_every_font_has():
    at = open_app(prompt="Q", new="2", step="4")
    assert "K₁[Q]" in cells(at) and "ᑫ" not in page_html(at)


def test_the_seed_notes_show_at_their_steps():
    at = open_app(step="6")  # Decode D · Layer 3: the seed has Q₃[D] attend A, B, C, D
    html = page_html(at)
    assert 'data-notes="3"' in html and "[K₃[A], K₃[B], K₃[C], K₃[D]]" in html
    assert re.search(r'<tr class="seed"><th class="row">种子文本</th>(<td class="m0">✓</td>){4}', html)
    at = open_app(step="1")
    assert 'data-notes="1"' in page_html(at) and "FFN(x) = max(0, xW₁ + b₁)W₂ + b₂ 省略了" in page_html(at)
    at = open_app(step="2")
    assert 'class="swa-note"' not in page_html(at)
    at = open_app(pattern="gemma2", step="6")
    assert 'class="swa-note"' not in page_html(at)  # the seed's letters and layers do not apply


def test_the_mask_and_the_evicted_cells_show_the_window_boundary():
    at = open_app(step="4")
    html = page_html(at)
    assert re.search(r'<td class="m0 cut" data-k="2">', html)  # the line left of C
    assert "↓ 3-2+1=2" in html
    assert "0 &lt; 2 → 丢弃" in html and "1 &lt; 2 → 丢弃" in html


def test_the_last_step_says_why_there_is_no_decode_F():
    at = open_app(step="9", lang="en")
    assert "there is no &#x27;Decode F&#x27; pass" in page_html(at)
    assert "output only" in page_html(at)
    assert "data-last-token" not in page_html(open_app(step="8"))


def test_the_current_step_is_marked_on_the_timeline_and_the_sizes():
    at = open_app(step="5")  # Decode D · Layer 2: pass 1
    html = page_html(at)
    assert html.count('<th class="pass" data-p="1">Decode D</th>') == 3  # every layer's timeline
    assert "table.swa-tl [data-p='1'] { outline:2px dotted" in html  # boxed in every layer
    assert ".swa-layer[data-layer='2'] table.swa-tl [data-p='1'] { outline:3px solid" in html  # heavier here
    assert 'class="swa-chart"' in html and ".swa-chart-frame::after { left:" in html


def test_takeaway_buttons_jump_to_the_step_that_shows_each_effect():
    at = open_app()
    assert not [b for b in at.button if b.key and b.key.startswith("go_")]  # closed: nothing drawn
    at.session_state["takeaways"] = True  # the reader opens the box
    at.run()
    assert [b.key for b in at.button if b.key and b.key.startswith("go_")] == [
        "go_take_const", "go_take_layer", "go_take_prefill", "go_take_decode"]
    click(at, "go_take_decode")
    assert step_label(at) == "Decode D · 第 1 层"
    click(at, "go_take_layer")
    assert step_label(at) == "Decode D · 第 3 层"


def test_two_policies_side_by_side_cell_by_cell():
    at = open_app(step="4")
    at.selectbox(key="compare").set_value("ring").run()
    no_exception(at)
    html = page_html(at)
    block = html[html.index('class="swa-compare"'):]
    seed_row, ring_row = block.split('data-policy="ring"')
    assert "K₁[A]" in seed_row and "K₁[A]" not in ring_row  # ring never stored A
    assert 'data-sym="K₁[B]" data-pos="1" data-states="evicted"' in ring_row


def test_play_moves_one_step_per_tick_and_stops_at_the_end():
    at = open_app(step="8")
    click(at, "play")
    assert at.session_state["playing"]
    at.session_state["play_due"] = 0  # the clock's tick, without waiting for it
    at.run()
    assert step_label(at) == "Decode E · 第 3 层"
    at.session_state["play_due"] = 0
    at.run()
    assert not at.session_state["playing"]
    click(at, "play")
    click(at, "step_first")  # a hand on the stepper stops the show
    assert not at.session_state["playing"] and step_label(at) == "Prefill · 第 1 层"


def test_chinese_page_names_layers_in_chinese_only():
    at = open_app(step="4")
    assert "Layer" not in page_html(at)


def test_the_receptive_tab_draws_the_sidebars_run_with_no_prompt_box_of_its_own():
    at = open_app(lang="zh")
    at.session_state["tab"] = i18n.tr("zh", "tab_receptive")
    at.run()
    no_exception(at)
    assert [t.key for t in at.text_input] == ["prompt"]  # one prompt box on the page
    charts = at.get("plotly_chart")
    assert len(charts) == 2 and '"locale": "zh-CN"' in charts[0].proto.config  # the toolbar speaks Chinese
    spec = json.loads(charts[0].proto.spec)  # Plotly may write it with \u escapes (without orjson)
    assert "0 嵌入" in spec["layout"]["yaxis"]["ticktext"]  # the graph's embedding row, in Chinese
    at.session_state["tab"] = i18n.tr("zh", "tab_costs")
    at.run()
    assert at.sidebar.text_input == [] or not any(t.key == "prompt" for t in at.sidebar.text_input)


# ---- what the page derives from a trace ------------------------------------------------------------


def test_storage_panel_numbers_for_decode_D_layer_1():
    trace = run(Settings())
    ref = derive.step_refs(trace)[3]
    rows = derive.storage_now(trace, ref)
    # layer 1 has run decode D: it holds C, D (seed) while mask-only would hold A..D; layers 2 and 3 still
    # hold what prefill left them: A, B, C either way
    assert [(r.entries, r.seen) for r in rows] == [(2, 4), (3, 3), (3, 3)]
    assert rows[0].bytes == 2 * trace.config["kv_bytes_per_entry"]


def test_ring_physical_slots_keep_the_overwritten_entry_under_its_successor():
    trace = run(Settings(prompt="ABCDE", window=3, policy="ring", new=2))
    step = trace.steps[1]  # decode F: slot 2 held C, F overwrites it
    lt = step.layers[0]
    slots = dict(derive.physical_slots(lt, derive.cache_cells(step, lt), 3))
    assert [(c.token, c.states) for c in slots[2]] == [("F", ("written", "read")), ("C", ("evicted",))]


def test_traces_survive_the_json_cache_round_trip():
    trace = run(Settings(policy="ring", window=3, prompt="ABCD"))
    again = load(trace.to_dict())
    assert derive.timeline(again, 0) == derive.timeline(trace, 0)


def test_an_ssm_layer_holds_its_fixed_state_from_the_first_token():
    trace = run(Settings(pattern="jamba", policy="ring"))  # layers: mamba, mamba, full
    refs = derive.step_refs(trace)
    first, last = derive.storage_now(trace, refs[0]), derive.storage_now(trace, refs[-1])
    state_bytes = 2 * 32 * (4 - 1 + 4) * 4  # E (K - 1 + N) float32 numbers, E = 2 x d_model
    assert first[0].bytes == last[0].bytes == state_bytes
    assert last[2].bytes > first[2].bytes  # the full-attention layer grows


# ---- slides ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_slide_names_its_axes_and_ticks(lang):
    """The exported PNGs carry what the page shows: positions and pass names on the axes, room for them."""
    trace = run(Settings(prompt="ABCDEFGHIJKL", new=10))
    ref = derive.step_refs(trace)[-1]
    slides = figures.step_slides(trace, ref, lang)
    assert set(slides) == {"mask", "weights", "probs", "timeline", "sizes", "storage"}
    for name, fig in slides.items():
        assert fig.layout.title.text and fig.layout.width == export.PNG_WIDTH, name
        assert fig.layout.margin.l >= 60 and fig.layout.margin.b >= 50, name
    assert len(slides["mask"].layout.xaxis.ticktext) >= 12  # every key position
    timeline = slides["timeline"].layout
    names = [t for ax in ("xaxis", "xaxis2", "xaxis3") for t in timeline[ax].ticktext]
    assert i18n.tr(lang, "prefill") in names and i18n.tr(lang, "decode", tok="M") in names
    assert timeline.xaxis.tickangle == -90


def test_png_export_degrades_to_a_message(monkeypatch):
    import kaleido

    def broken(*args, **kwargs):
        raise RuntimeError("no browser here")

    monkeypatch.setattr(kaleido, "write_fig_from_object_sync", broken)
    with pytest.raises(export.ExportError, match="no browser here"):
        export.png_zip({"x": go.Figure()})
    monkeypatch.setattr(kaleido, "write_fig_from_object_sync", lambda *a, **k: time.sleep(3))
    with pytest.raises(export.ExportError, match="did not answer"):  # a hung browser: the page goes on
        export.png_zip({"x": go.Figure()}, timeout=0.2, start_margin=0.3)


def test_a_view_missing_from_the_build_is_an_info_not_an_error():
    def page():
        from swa_demo.ui.optional import optional_view

        optional_view("no_such_view", "view", "en")
        optional_view("classroom", "no_such_function", "zh")

    at = AppTest.from_function(page, default_timeout=60).run()
    no_exception(at)
    assert not at.error
    assert len(at.info) == 2
    assert "not available in this build" in at.info[0].value and "no\\_such\\_view" in at.info[0].value
    assert "此版本未包含该视图" in at.info[1].value and "no\\_such\\_function" in at.info[1].value


def test_unknown_layer_pattern_in_a_link_is_refused():
    at = open_app(pattern="mixtral")
    no_exception(at)
    assert "mixtral" in errors(at)


# ---- one catalogue -----------------------------------------------------------------------------


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_both_languages_have_every_string_with_the_same_fields():
    zh, en = i18n.STRINGS["zh"], i18n.STRINGS["en"]
    assert set(zh) == set(en), set(zh) ^ set(en)
    assert [k for k in zh if _fields(zh[k]) != _fields(en[k])] == []
    nz, ne = phrases.PHRASES["zh"], phrases.PHRASES["en"]
    assert set(nz) == set(ne) and [k for k in nz if _fields(nz[k]) != _fields(ne[k])] == []
