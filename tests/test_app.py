"""The classroom page under Streamlit's AppTest: it opens on the seed walkthrough, steps, refuses bad
settings with an `st.error` (never an exception), restores a shared link, and speaks both languages.

The page's cells carry `data-sym` / `data-states` attributes; these tests read them the way the browser
test does, so the two agree on what "read" and "evicted" mean.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import plotly.graph_objects as go
import pytest
from streamlit.testing.v1 import AppTest

from swa_demo import tiny
from swa_demo.trace import load
from swa_demo.ui import derive, export, state
from swa_demo.walkthrough import Settings, run

APP = str(Path(__file__).resolve().parent.parent / "app.py")


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
    """data-sym -> data-states of every cache cell shown for the current step."""
    found = re.findall(r'data-sym="([^"]+)" data-pos="\d+" data-states="([^"]*)"', page_html(at))
    return {sym: set(states.split()) for sym, states in found}


def errors(at: AppTest) -> str:
    return "\n".join(e.value for e in at.error)


def click(at: AppTest, key: str, times: int = 1) -> AppTest:
    for _ in range(times):
        at.button(key=key).click().run()
    return at


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


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


def test_stepping_to_decode_D_layer_1_reads_C_and_D_and_evicts_A_and_B():
    at = click(open_app(), "step_next", 3)
    no_exception(at)
    assert step_label(at) == "Decode D · 第 1 层"
    c = cells(at)
    assert c["K₁ᴬ"] == {"evicted"} and c["K₁ᴮ"] == {"evicted"}
    assert c["K₁ᶜ"] == {"kept", "read"} and c["K₁ᴰ"] == {"written", "read"}
    assert at.query_params["step"] == "4"  # the address bar follows the stepper
    # storage: layer 1 holds C, D (2 x 128 B) where mask-only would hold A..D; layer 2 has not run yet
    assert 'data-layer="1" data-bytes="256" data-seen-bytes="512"' in page_html(at)
    assert 'data-layer="2" data-bytes="384" data-seen-bytes="384"' in page_html(at)


def test_first_last_previous_and_the_slider():
    at = click(open_app(), "step_last")
    assert step_label(at) == "Decode E · 第 3 层"
    assert at.button(key="step_next").disabled and at.button(key="step_last").disabled
    assert "贪心选出 F" in page_html(at)  # after the last layer: the LM head picks the next token
    assert [c.key for c in at.get("plotly_chart")].count("fig_probs") == 1
    click(at, "step_prev")
    assert step_label(at) == "Decode E · 第 2 层"
    assert "fig_probs" not in [c.key for c in at.get("plotly_chart")]
    at.select_slider(key="step").set_value(4).run()
    assert step_label(at) == "Decode D · 第 2 层"
    click(at, "step_first")
    assert step_label(at) == "Prefill · 第 1 层"


def test_language_switch_keeps_the_step():
    at = click(open_app(), "step_next", 3)
    at.radio(key="lang").set_value("en").run()
    no_exception(at)
    assert step_label(at) == "Decode D · Layer 1"
    assert at.title[0].value.startswith("How sliding window attention")
    assert "Drops every KV at a position below 3-2+1=2" in page_html(at)
    assert at.query_params["lang"] == "en"


def test_changing_controls_reruns_the_model():
    at = open_app()
    at.number_input(key="layers").set_value(2).run()
    assert len(at.select_slider(key="step").options) == 6
    at.selectbox(key="policy").set_value("ring").run()
    at.number_input(key="window").set_value(3).run()
    at.text_input(key="prompt").set_value("ABCDE").run()
    no_exception(at)
    assert not at.error
    assert "slot = position mod W" in page_html(at) or "slot = 位置 mod W" in page_html(at)
    # ring, W = 3, prompt of 5: prefill computes A and B but never stores them
    assert cells(at)["K₁ᴬ"] == {"read", "unstored"}
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


# ---- bad values: an st.error that says what to change, never an exception --------------------------


@pytest.mark.parametrize("key, value, needle", [
    ("prompt", "A1C", "“1”不是字母"),
    ("prompt", "", "提示词为空"),
    ("prompt", "A" * 40, "最多只能有 32 个"),
    ("window", 0, "窗口 W 应在 1 到 64 之间（当前为 0）"),
    ("layers", 7, "层数应在 1 到 6 之间（当前为 7）"),
    ("new", 0, "生成的 token 数应在 1 到 32 之间（当前为 0）"),
    ("chunk", 0, "Prefill 分块大小至少为 1"),
])
def test_bad_control_values_are_refused_with_a_message(key, value, needle):
    at = open_app()
    widget = at.text_input(key=key) if key == "prompt" else at.number_input(key=key)
    widget.set_value(value).run()
    no_exception(at)
    assert needle in errors(at)
    assert not at.get("plotly_chart")  # nothing computed from bad settings


def test_sinks_must_stay_below_the_window_and_errors_speak_english_too():
    at = open_app(lang="en")
    at.selectbox(key="policy").set_value("sink").run()
    at.number_input(key="sinks").set_value(2).run()
    at.text_input(key="prompt").set_value("A?C").run()
    no_exception(at)
    text = errors(at)
    assert "'?' is not one" in text and "0 < S < W (W = 2, now S = 2)" in text


def test_missing_weights_are_an_error_not_a_traceback(monkeypatch, tmp_path):
    monkeypatch.setattr(tiny, "ASSETS", tmp_path)  # nothing shipped here
    at = open_app(prompt="QRS", window="7")  # settings no other test caches
    no_exception(at)
    assert "missing" in errors(at) and "python -m swa_demo train" in errors(at)


# ---- links ---------------------------------------------------------------------------------------


def test_a_shared_link_restores_settings_and_step():
    at = open_app(lang="en", prompt="ABC", new="3", window="2", layers="3", policy="seed", step="4")
    no_exception(at)
    assert step_label(at) == "Decode D · Layer 1"
    assert cells(at)["K₁ᴬ"] == {"evicted"}
    at = open_app(prompt="ABCDE", window="3", policy="ring", step="7")
    assert at.selectbox(key="policy").value == "ring" and at.number_input(key="window").value == 3
    assert step_label(at) == "Decode G · 第 1 层"  # prefill, decode F, decode G: 3 steps each


@pytest.mark.parametrize("query, needle", [
    ({"window": "abc"}, "window='abc'"),
    ({"lang": "fr"}, "lang='fr'"),
    ({"policy": "lru"}, "policy='lru'"),
    ({"step": "99"}, "step='99'"),
    ({"window": "0"}, "窗口 W 应在 1 到 64 之间"),
])
def test_bad_link_values_are_reported(query, needle):
    at = open_app(**query)
    no_exception(at)
    assert needle in errors(at)
    if "step" in query:  # an out-of-range step shows the nearest one
        assert step_label(at) == "Decode E · 第 3 层"


def test_query_round_trip():
    values = {**state.SEED, "policy": "sink", "sinks": 2, "chunk": 4, "window": 5, "pattern": "gemma2"}
    query = state.to_query(values, "en", 6)
    assert query["step"] == "7" and query["sinks"] == "2" and query["chunk"] == "4"
    parsed, bad = state.parse_query(query)
    assert not bad and parsed["step"] == 7
    assert all(parsed[k] == values[k] for k in state.FIELDS)


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
    assert "not available in this build" in at.info[0].value and "no_such_view" in at.info[0].value
    assert "此版本未包含该视图" in at.info[1].value and "no_such_function" in at.info[1].value


@pytest.mark.parametrize("lang,label", [("zh", "Prefill · 第 1 层"), ("en", "Prefill · Layer 1")])
def test_layer_pattern_from_a_link_shows_the_ssm_state(lang, label):
    """Jamba-like, 3 layers (mamba, mamba, full): step 1 is an SSM layer, drawn as its fixed-size state."""
    at = open_app(lang=lang, pattern="jamba", step="1")
    no_exception(at)
    assert not at.error and at.session_state["pattern"] == "jamba"
    assert step_label(at) == label
    assert any("SSM" in i.value for i in at.info)
    click(at, "step_last")
    no_exception(at)
    assert at.session_state["step"] > 0 and not at.error


def test_unknown_layer_pattern_in_a_link_is_refused():
    at = open_app(pattern="mixtral")
    no_exception(at)
    assert "mixtral" in errors(at)


def test_an_ssm_layer_holds_its_fixed_state_from_the_first_token():
    from swa_demo.walkthrough import Settings, run

    trace = run(Settings(pattern="jamba", policy="ring"))  # layers: mamba, mamba, full
    refs = derive.step_refs(trace)
    first, last = derive.storage_now(trace, refs[0]), derive.storage_now(trace, refs[-1])
    state = 2 * 32 * (4 - 1 + 4) * 4  # E (K - 1 + N) float32 numbers, E = 2 x d_model
    assert first[0].bytes == last[0].bytes == state
    assert last[2].bytes > first[2].bytes  # the full-attention layer grows
