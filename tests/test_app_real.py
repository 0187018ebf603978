"""The page with the real model (SmolLM2-135M) under Streamlit's AppTest: a link opens its classroom
with 30 layers, the layer slider and the head picker work, bad text is refused in the page's language,
and the real-model tab draws the attention sinks, the recorded streaming run and a live one.

The model is converted once into `$SWA_DEMO_CACHE` or the user cache (tests/test_real_model.py and
these share it).
"""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest
from test_app import APP, open_app, page_html, step_label

from swa_demo.interop import smollm2
from swa_demo.ui import state
from swa_demo.ui.i18n import tr

LINK = {"lang": "en", "model": "smollm2", "policy": "sink", "sinks": "1", "window": "4"}


@pytest.fixture(scope="module", autouse=True)
def converted():
    smollm2.ensure_converted()


def real_model_tab(lang: str) -> AppTest:
    """The page opened on its Real model tab."""
    at = AppTest.from_file(APP, default_timeout=300)
    at.query_params["lang"] = lang
    at.run()
    at.session_state["tab"] = tr(lang, "tab_realmodel")
    return at.run()


def test_a_link_opens_the_real_model_with_its_30_layers_and_the_sink_on_the_first_token():
    at = open_app(**LINK, step="43")
    assert not at.exception and not at.error
    assert step_label(at) == "Decode ␣the · Layer 13"
    html = page_html(at)
    assert html.count('<tr class="strip') == 30  # every layer's cache in one strip
    assert 'class="strip now" data-layer="13"' in html
    # the tokens are the real tokenizer's pieces, spaces shown
    assert 'data-sym="K₁₃[The]"' in html and 'data-sym="K₁₃[␣the]"' in html
    # the weights of the mean of the 9 heads, and the share on the sink said in words
    assert tr("en", "head_mean", n=9) in html
    share = re.search(r"These queries put (\d\.\d\d) of their attention on the 1 sink", html)
    assert share and float(share.group(1)) > 0.3


def test_the_layer_slider_jumps_inside_the_pass_and_the_stepper_follows():
    at = open_app(**LINK)
    assert step_label(at) == "Prefill · Layer 1"
    at.select_slider(key="layer_pick").set_value(30).run()
    assert step_label(at) == "Prefill · Layer 30" and not at.exception
    at.button(key="step_next").click().run()
    assert step_label(at).endswith("· Layer 1") and step_label(at).startswith("Decode")


def test_one_head_at_a_time():
    at = open_app(**LINK, step="13")
    at.selectbox(key="head").set_value(2).run()
    html = page_html(at)
    assert not at.exception and tr("en", "head", h=3) in html and tr("en", "head_mean", n=9) not in html


@pytest.mark.parametrize("text,fragment", [("word " * 80, "tokens"), ("   ", "empty")])
def test_bad_text_is_refused_in_the_pages_language(text, fragment):
    at = open_app(**{**LINK, "text": text})
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert fragment in errors and tr("en", "text").split(" (")[0] in errors.replace("\\", "")
    zh = open_app(**{**LINK, "lang": "zh", "text": text})
    assert zh.error and not zh.exception


def test_choosing_the_model_in_the_sidebar_sets_its_own_defaults():
    at = open_app(lang="en")
    at.selectbox(key="model").set_value("smollm2").run()
    assert at.session_state["window"] == state.MODEL_DEFAULTS["smollm2"]["window"]
    assert at.session_state["policy"] == "ring" and not at.exception
    assert step_label(at) == "Prefill · Layer 1"
    at.selectbox(key="model").set_value("tiny").run()
    assert step_label(at) == "Prefill · Layer 1" and at.session_state["window"] == 2


def test_the_link_carries_the_text_and_a_link_restores_it():
    values = {**state.SEED, "model": "smollm2", "text": "中文 and text", "window": 8, "policy": "ring"}
    query = state.to_query(values, "zh", 3)
    assert query["model"] == "smollm2" and query["text"] == "中文 and text" and "prompt" not in query
    parsed, problems = state.parse_query(query)
    assert not problems and parsed["text"] == "中文 and text" and parsed["step"] == 4


def test_a_missing_model_package_says_what_to_install(monkeypatch):
    def missing():
        raise smollm2.ModelMissing("not installed")

    monkeypatch.setattr(smollm2, "gguf_path", missing)
    at = open_app(**LINK)
    assert not at.exception
    assert "requirements-model.txt" in " ".join(e.value for e in at.error).replace("\\", "")


def test_the_real_model_tab_draws_sinks_the_recorded_run_and_a_live_run():
    at = real_model_tab("en")
    assert not at.exception and not at.error
    text = " ".join(m.value for m in at.markdown).replace("\\", "")
    assert "put 0." in text and "of their attention on position 0" in text
    assert len(at.get("plotly_chart")) == 2  # the sinks chart and the recorded run
    at.number_input(key="beyond_st_tokens").set_value(48)
    at.number_input(key="beyond_st_window").set_value(16)
    at.multiselect(key="beyond_st_policies").set_value(["window", "sink"])
    at.button(key="beyond_st_run").click().run()
    assert not at.exception and len(at.get("plotly_chart")) == 3
    assert at.session_state["beyond_st_result"]["tokens"] == 48


def test_the_live_run_refuses_a_window_that_evicts_nothing():
    at = real_model_tab("zh")
    at.number_input(key="beyond_st_tokens").set_value(32)
    at.number_input(key="beyond_st_window").set_value(64).run()
    assert any("窗口 W = 64" in e.value.replace("\\", "") for e in at.error) and not at.exception


def test_the_live_run_refuses_a_recompute_that_would_take_minutes():
    at = real_model_tab("en")
    at.number_input(key="beyond_st_tokens").set_value(512)
    at.number_input(key="beyond_st_window").set_value(128)
    at.multiselect(key="beyond_st_policies").set_value(["window", "recompute"]).run()
    assert not at.exception and any("512 × 128 = 65,536" in e.value.replace("\\", "") for e in at.error)
    assert "beyond_st_run" not in [b.key for b in at.button]  # nothing to start until it is changed


def test_the_receptive_tab_draws_30_layers_as_a_growth_map_with_every_line_on_request():
    at = open_app(lang="en", model="smollm2", window="3", new="6")
    at.session_state["tab"] = tr("en", "tab_receptive")
    at.run()
    assert not at.exception and not at.error
    charts = [c.proto.spec for c in at.get("plotly_chart")]
    assert len(charts) == 2 and tr("en", "rf_growth_title", tok="", q="")[:12] in charts[0]
    assert at.expander[-1].label == tr("en", "rf_graph_all", l=30)  # the 30 rows of lines, folded and
    # not built until opened: two charts are the growth map and the grid


@pytest.mark.parametrize("window,key", [("3", "intro_full_differs"), ("8", "intro_full_same")])
def test_the_intro_says_what_the_imposed_window_changed_in_the_text(window, key):
    at = open_app(lang="en", model="smollm2", window=window)
    assert not at.exception and not at.error
    said = [c.value.replace("\\", "") for c in at.caption  # as read: Markdown escapes dropped
            if c.value.startswith("With full attention")]
    assert len(said) == 1 and said[0].startswith(tr("en", key, full="@", w=window).split("@")[0])
    assert "␣Paris." in said[0]  # what SmolLM2 answers with the attention it was trained with


def test_a_huge_window_names_the_real_models_range():
    at = open_app(lang="en", model="smollm2")
    at.number_input(key="window").set_value(2 ** 60).run()
    assert not at.exception and at.session_state["window"] == 8
    assert any("(use 1 to 8192)" in e.value.replace("\\", "") for e in at.error)


def test_the_sizes_chart_gives_30_equal_layers_one_line():
    """30 offset lines ran off the chart: layers under one policy holding the same bytes share one."""
    html = page_html(open_app(**LINK))
    assert "layers 1–30 (sink)" in html and "layer 2 (sink)" not in html
    html = page_html(open_app(lang="en", model="smollm2", pattern="gemma2"))
    assert "15 layers (ring)" in html and "15 layers (full)" in html  # alternating: one line per policy
