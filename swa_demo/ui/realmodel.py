"""The real model's tab: where SmolLM2-135M puts its attention (attention sinks), and what a window does to
its predictions over a long text (StreamingLLM's experiment, Xiao et al. 2023).

Two views, each with its own controls (keys `beyond_*`, which Reset clears):
- attention sinks: per layer, the mean attention weight on position 0 against a uniform spread, for a
  text the user gives (`stream.first_token_attention`, one full-attention forward);
- streaming: the recorded run (`assets/bench/stream_smollm2_h100.json`: 12,288 tokens on an H100) drawn
  as perplexity against position, and a live run here on a shorter text, with a progress bar.
"""

from __future__ import annotations

import json

import streamlit as st

from .. import paths
from ..interop.smollm2 import ModelMissing
from ..limits import PAGE_RECOMPUTE_MAX_WORK, PAGE_STREAM_MAX_TOKENS
from . import runs, show
from .i18n import tr
from .stream_figures import distinct_runs, first_token_figure, perplexity_figure, run_name

RECORDED = paths.ASSETS / "bench" / "stream_smollm2_h100.json"
TEXTS = {"genesis": "genesis_kjv_1-20.txt", "tang": "tang300_selection.txt"}
SINK_MAX_TOKENS = 256  # one eager forward keeps 30 layers x 9 heads x T^2 weights: 256 tokens is ~1 s here


@st.cache_data(show_spinner=False)
def recorded() -> dict | None:
    return json.loads(RECORDED.read_text()) if RECORDED.is_file() else None


@st.cache_data(show_spinner=False)
def text_of(name: str) -> str:
    return (paths.ASSETS / "texts" / TEXTS[name]).read_text(encoding="utf-8")


@st.cache_data(max_entries=16, show_spinner=False)
def first_token_layers(ids: tuple[int, ...]) -> list[dict]:
    from ..stream import first_token_attention

    return first_token_attention(runs.smollm2().model, list(ids))


def realmodel_view(lang: str) -> None:
    st.subheader(show.text(tr(lang, "rm_title")))
    show.caption(tr(lang, "rm_intro"))
    try:
        runs.ensure_smollm2(tr(lang, "converting"))
    except ModelMissing:
        show.error(tr(lang, "err_model_missing"))
        return
    _sinks(lang)
    st.divider()
    _recorded(lang)
    st.divider()
    _live(lang)


# ---- where the attention goes ----------------------------------------------------------------------


def _sinks(lang: str) -> None:
    show.heading(tr(lang, 'sk_title'))
    show.caption(tr(lang, "sk_intro"))
    text = st.text_area(tr(lang, "sk_text"), value=text_of("genesis")[:600], key="beyond_sk_text", height=110)
    if not text.strip():
        show.error(tr(lang, "sk_empty"))
        return
    ids = runs.smollm2().encode(text)
    if len(ids) < 2:
        show.error(tr(lang, "sk_short"))
        return
    if len(ids) > SINK_MAX_TOKENS:
        show.info(tr(lang, "sk_cut", n=len(ids), hi=SINK_MAX_TOKENS))
        ids = ids[:SINK_MAX_TOKENS]
    layers = first_token_layers(tuple(ids))
    upper = layers[len(layers) // 2:]
    show.paragraph(tr(lang, "sk_summary", n=len(ids), lo=upper[0]["layer"], hi=upper[-1]["layer"],
                      w=f"{sum(x['first'] for x in upper) / len(upper):.2f}",
                      u=f"{sum(x['uniform'] for x in upper) / len(upper):.3f}"))
    show.plotly(first_token_figure(layers, lang), lang, key="sk_figure")


# ---- the streaming experiment ----------------------------------------------------------------------


def _table(rows: list[dict], lang: str, gpu: bool) -> None:
    st.table([{tr(lang, "st_col_run"): run_name(r, lang),  # a table: every column shows when projected
              tr(lang, "st_col_ppl"): f"{r['ppl']:.2f}",
              tr(lang, "st_col_before"): f"{r['ppl_before']:.2f}" if r["ppl_before"] else "–",
              tr(lang, "st_col_after"): f"{r['ppl_after']:.2f}" if r["ppl_after"] else "–",
              tr(lang, "st_col_cache"): r["cache_entries"],
              tr(lang, "st_col_ms_gpu" if gpu else "st_col_ms"): f"{r['ms_per_token']:.1f}"}
             for r in distinct_runs(rows)], hide_index=True)
    if any(r["policy"] == "recompute" for r in rows):
        show.caption(tr(lang, "st_recompute_time", w=rows[0]["window"]))


def _recorded(lang: str) -> None:
    show.heading(tr(lang, 'st_title'))
    data = recorded()
    if data is None:
        show.warning(tr(lang, "st_no_record"))
        return
    runs_ = data["runs"]
    w, s = runs_[0]["window"], max(r["sinks"] for r in runs_)
    show.caption(tr(lang, "st_recorded", n=f"{data['tokens']:,}", w=w, s=s, device=data["device"],
                    date=data["date"], torch=data["torch"]))
    show.plotly(perplexity_figure(runs_, lang, span=256), lang, key="st_recorded_figure")
    show.paragraph(tr(lang, "st_reading"))
    _table(runs_, lang, gpu=True)
    with st.expander(tr(lang, "st_command")):
        show.paragraph(data["command"])


def _live(lang: str) -> None:
    ss = st.session_state
    show.heading(tr(lang, 'st_live'))
    show.caption(tr(lang, "st_live_intro", hi=PAGE_STREAM_MAX_TOKENS))
    c1, c2, c3, c4 = st.columns([2, 1, 1, 1])
    which = c1.selectbox(tr(lang, "st_text"), list(TEXTS), key="beyond_st_text",
                         format_func=lambda t: tr(lang, f"st_text_{t}"))
    tokens = c2.number_input(tr(lang, "st_tokens"), min_value=16, max_value=PAGE_STREAM_MAX_TOKENS, value=256,
                             step=16, key="beyond_st_tokens")
    window = c3.number_input(tr(lang, "st_window"), min_value=2, max_value=PAGE_STREAM_MAX_TOKENS, value=64,
                             step=8, key="beyond_st_window")
    sinks = c4.number_input(tr(lang, "st_sinks"), min_value=1, max_value=16, value=4, step=1,
                            key="beyond_st_sinks")
    c5, c6 = st.columns([3, 1])
    policies = c5.multiselect(tr(lang, "st_policies"), ["full", "window", "sink", "recompute"],
                              default=["full", "window", "sink"], key="beyond_st_policies",
                              format_func=lambda p: tr(lang, f"st_policy_{p}", s=int(sinks), w=int(window)))
    positions = c6.selectbox(tr(lang, "st_positions"), ["absolute", "cache"], key="beyond_st_positions",
                             format_func=lambda p: tr(lang, f"st_positions_{p}"))
    problems = []
    if not policies:
        problems.append(tr(lang, "st_need_policy"))
    if "sink" in policies and not sinks < window:
        problems.append(tr(lang, "st_sinks_range", s=int(sinks), w=int(window)))
    if window >= tokens:
        problems.append(tr(lang, "st_window_range", w=int(window), n=int(tokens)))
    if "recompute" in policies and tokens * window > PAGE_RECOMPUTE_MAX_WORK:
        problems.append(tr(lang, "st_recompute_work", n=int(tokens), w=int(window),
                           work=f"{int(tokens * window):,}", hi=f"{PAGE_RECOMPUTE_MAX_WORK:,}"))
    if problems:
        show.error(problems)
        return
    from ..bench import busy

    loaded = busy()
    if loaded:
        show.warning(tr(lang, "st_busy", load=f"{loaded[0]:.1f}", cores=loaded[1]))
    if st.button(tr(lang, "st_run"), key="beyond_st_run", icon=":material/play_arrow:"):
        ss["beyond_st_result"] = _run_live(text_of(which), int(tokens), int(window), int(sinks), policies,
                                           positions, lang)
    result = ss.get("beyond_st_result")
    if result:
        show.caption(tr(lang, "st_live_done", n=result["tokens"], secs=f"{result['seconds']:.0f}"))
        show.plotly(perplexity_figure(result["runs"], lang, span=max(8, result["tokens"] // 16), trained=None,
                                      height=380), lang, key="st_live_figure")
        _table(result["runs"], lang, gpu=False)


def _run_live(text: str, tokens: int, window: int, sinks: int, policies: list[str], positions: str,
              lang: str) -> dict:
    """The experiment on this machine, one progress bar for all of it."""
    import time

    from ..stream import experiment

    src = runs.smollm2()
    ids = src.encode(text)[:tokens]
    bar = st.progress(0.0, text=tr(lang, "st_running"))
    names = {f"{p} ({positions})": tr(lang, f"st_policy_{p}", s=sinks, w=window) for p in policies}
    order = list(names)

    def progress(label: str, done: int, total: int) -> None:
        bar.progress((order.index(label) + done / total) / len(order),
                     text=f"{tr(lang, 'st_running')} {names[label]}: {done}/{total}")
    t0 = time.perf_counter()
    rows = experiment(src.model, ids, window, sinks, policies, [positions], progress)
    bar.empty()
    return {"tokens": len(ids), "runs": rows, "seconds": time.perf_counter() - t0}
