"""Beyond plain SWA: how far back a stack of layers can see, and what context costs (seed 004).

Two Streamlit views, `receptive_view(lang)` (the run of the sidebar's settings) and `costs_view(lang)`
(its own controls). The figures are pure functions `(...) -> go.Figure`; the numbers come from the
engine (`walkthrough.run`), `window.receptive_field` and `costs`, never from here.

Worked example (the seed walkthrough: A B C D E F, W = 2, 3 sliding layers): after layer 1, F is
reached by E and F; after layer 3 by C..F, L (W - 1) + 1 = 4 tokens; A and B can no longer influence it.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go
import streamlit as st
import torch

from .. import costs, costs_text, validate
from ..config import FULL, MAMBA, SLIDING, ConfigError
from ..limits import MAX_LAYERS
from ..trace import Trace
from ..validate import Invalid, words
from ..window import receptive_field
from . import show
from .figures import plotly_text, spread
from .i18n import tr

INK, FAINT, HOT, COLD = "#1f2937", "#d1d5db", "#dc2626", "#9ca3af"
KIND_COLOURS = {FULL: "#2563eb", SLIDING: "#16a34a", MAMBA: "#d97706"}

METRICS = ("cache", "decode", "prefill")
CONTEXT_CHOICES = [4 * costs.KI, 32 * costs.KI, 128 * costs.KI, 256 * costs.KI, costs.KI * costs.KI]


# ---- the receptive field of a run -----------------------------------------------------------------

def reads_from_trace(trace: Trace) -> tuple[torch.Tensor, list[str], list[str]]:
    """What each layer of a run read: (L, n, n) bool, [q, k] = this layer's q attended k; the tokens;
    the layer kinds. A mamba layer reads every earlier position through its state. The receptive field
    of these reads is `window.receptive_field` of the layers' windows (tests/test_receptive.py)."""
    steps = [s for s in trace.steps if s.phase == "prefill"] + [s for s in trace.steps if s.phase == "decode"]
    tokens: dict[int, str] = {}
    for s in steps:
        tokens.update(zip(s.positions, s.tokens))
    n, kinds = len(tokens), trace.config["layer_types"]
    reads = torch.zeros(len(kinds), n, n, dtype=torch.bool)
    for s in steps:
        for lt in s.layers:
            for qi, q in enumerate(s.positions):
                keys = range(q + 1) if lt.kind == MAMBA else lt.attended[qi]
                reads[lt.layer - 1, q, list(keys)] = True
    return reads, [tokens[p] for p in range(n)], kinds


def cone(reads: torch.Tensor, q: int, layer: int) -> list[set[int]]:
    """Positions at each level 0..layer whose hidden state feeds position q after `layer` layers."""
    levels = [{q}]
    for l in range(layer, 0, -1):
        levels.append({int(k) for p in levels[-1] for k in reads[l - 1, p].nonzero().flatten()})
    return levels[::-1]


def _layer_names(kinds: list[str], lang: str) -> list[str]:
    """'0 embeddings', '1 sliding', ...: the y ticks of a layer-by-position figure."""
    return [f"{l} " + (tr(lang, "kind_" + kinds[l - 1]) if l else tr(lang, "rf_embed"))
            for l in range(len(kinds) + 1)]


def receptive_graph_figure(reads: torch.Tensor, labels: list[str], kinds: list[str], q: int, layer: int,
                           lang: str) -> go.Figure:
    """Layer-by-position graph: a node per (position, layer), a line per attended pair, the cone of
    (q, layer) in red."""
    n, L = reads.shape[1], reads.shape[0]
    levels = cone(reads, q, layer)
    hot = {(k, l) for l, ks in enumerate(levels) for k in ks}
    lines = {"hot": ([], []), "cold": ([], [])}
    for l in range(1, L + 1):
        for p, k in reads[l - 1].nonzero().tolist():
            key = "hot" if (p, l) in hot and (k, l - 1) in hot and l <= layer else "cold"
            xs, ys = lines[key]
            xs += [k, p, None]
            ys += [l - 1, l, None]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=lines["cold"][0], y=lines["cold"][1], mode="lines", hoverinfo="skip",
                             line=dict(color=FAINT, width=1), name=tr(lang, "rf_other")))
    fig.add_trace(go.Scatter(x=lines["hot"][0], y=lines["hot"][1], mode="lines", hoverinfo="skip",
                             line=dict(color=HOT, width=2), name=tr(lang, "rf_cone")))
    nodes = [(k, l) for l in range(L + 1) for k in range(n)]
    fig.add_trace(go.Scatter(
        x=[k for k, _ in nodes], y=[l for _, l in nodes], mode="markers", showlegend=False,
        marker=dict(size=11, color=[HOT if node in hot else COLD for node in nodes],
                    line=dict(color=INK, width=1)),
        text=[f"{plotly_text(labels[k])} · {k}" for k, _ in nodes], hovertemplate="%{text}<extra></extra>"))
    ticks = _layer_names(kinds, lang)
    fig.update_layout(
        title=tr(lang, "rf_graph_title", tok=plotly_text(labels[q]), q=q, l=layer), height=160 + 60 * L,
        xaxis=dict(title=tr(lang, "rf_x_pos"), tickmode="array", tickvals=spread(n, 24),
                   ticktext=[f"{plotly_text(labels[i])}<br>{i}" for i in spread(n, 24)]),
        yaxis=dict(title=tr(lang, "rf_y_layer"), tickmode="array", tickvals=list(range(L + 1)),
                   ticktext=ticks),
        margin=dict(l=10, r=10, t=50, b=10), plot_bgcolor="white",
        legend=dict(orientation="h", x=1, xanchor="right", y=1.0, yanchor="bottom"))  # clear of the x title
    return fig


# A line per attended pair stays legible for the toy's deepest stack; SmolLM2's 30 layers get the growth map.
GRAPH_LAYERS = MAX_LAYERS


def receptive_growth_figure(field: torch.Tensor, labels: list[str], kinds: list[str], q: int, layer: int,
                            lang: str) -> go.Figure:
    """One row per layer: the inputs that can reach position q after that many layers, so a deep stack
    shows its reach growing (W - 1 more inputs per sliding layer) in a few hundred pixels."""
    L, n = field.shape[0] - 1, field.shape[1]
    ticks = _layer_names(kinds, lang)
    fig = go.Figure(go.Heatmap(
        z=field[:, q].to(torch.int32).tolist(), x=list(range(n)), y=list(range(L + 1)), showscale=False,
        colorscale=[[0, "#f3f4f6"], [1, HOT]], xgap=1, ygap=1, zmin=0, zmax=1,
        customdata=[[plotly_text(s) for s in labels]] * (L + 1),
        hovertemplate="%{customdata} · %{x}, " + tr(lang, "rf_layer") + " %{y}<extra></extra>"))
    fig.add_shape(type="rect", x0=-0.5, x1=n - 0.5, y0=layer - 0.5, y1=layer + 0.5,
                  line=dict(color=INK, width=2))  # the row the sliders chose
    fig.update_layout(
        title=tr(lang, "rf_growth_title", tok=plotly_text(labels[q]), q=q), height=170 + 18 * (L + 1),
        xaxis=dict(title=tr(lang, "rf_x_input"), tickmode="array", tickvals=spread(n, 24),
                   ticktext=[f"{plotly_text(labels[i])}<br>{i}" for i in spread(n, 24)]),
        yaxis=dict(title=tr(lang, "rf_y_layer"), tickmode="array", tickvals=spread(L + 1, 16),
                   ticktext=[ticks[l] for l in spread(L + 1, 16)]),
        margin=dict(l=10, r=10, t=50, b=10), plot_bgcolor="white")
    return fig


def receptive_heatmap_figure(field: torch.Tensor, labels: list[str], layer: int, lang: str) -> go.Figure:
    """field[layer] as a grid: row q, column k, filled where input k can reach q after `layer` layers."""
    n = field.shape[1]
    names = [f"{plotly_text(s)} {i}" for i, s in enumerate(labels)]
    fig = go.Figure(go.Heatmap(z=field[layer].to(torch.int32).tolist(), x=names, y=names, showscale=False,
                               colorscale=[[0, "#f3f4f6"], [1, HOT]], xgap=1, ygap=1, zmin=0, zmax=1,
                               hovertemplate="%{y} ← %{x}<extra></extra>"))
    fig.update_layout(title=dict(text=tr(lang, "rf_heat_title", l=layer), y=0.98, yanchor="top"),
                      height=210 + 14 * n,
                      # category axes: Plotly would read labels such as "1 11" as numbers
                      xaxis=dict(title=tr(lang, "rf_x_input"), side="top", type="category"),
                      yaxis=dict(title=tr(lang, "rf_y_query"), autorange="reversed", type="category"),
                      # room above for the title, the axis title and labels Plotly may tilt
                      margin=dict(l=10, r=10, t=110 + 5 * min(20, max(map(len, names))), b=10))
    return fig


# ---- the cost of context --------------------------------------------------------------------------

def context_grid(max_context: int, points: int = 64) -> list[int]:
    """Token counts from 1k to `max_context`, evenly spaced on a log axis."""
    lo, hi = math.log2(costs.KI), math.log2(max_context)
    return sorted({round(2 ** (lo + (hi - lo) * i / (points - 1))) for i in range(points)})


UNITS = {"cache": ("GiB", 2 ** 30), "decode": ("GFLOP", 1e9), "prefill": ("TFLOP", 1e12)}


def metric_value(s: costs.Shape, metric: str, n: int) -> int:
    if metric == "cache":
        return sum(costs.cache_bytes(s, n).values())
    if metric == "decode":
        return sum(costs.decode_flops(s, n).values())
    return sum(costs.prefill_flops(s, n).values())


def cost_figure(shapes: list[costs.Shape], metric: str, max_context: int, lang: str) -> go.Figure:
    """One line per model: the metric (in `UNITS`) against context length, log-log, up to `max_context`."""
    assert metric in METRICS, f"metric must be one of {METRICS}, got {metric!r}"
    unit, scale = UNITS[metric]
    xs = context_grid(max_context)
    fig = go.Figure()
    for s in shapes:
        ys = [metric_value(s, metric, n) / scale for n in xs]
        hover = f"{plotly_text(s.name)}<br>%{{customdata}}: %{{y:.4g}} {unit}<extra></extra>"
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=plotly_text(s.name), hovertemplate=hover,
                                 customdata=[costs_text.fmt_tokens(n) for n in xs]))
    ticks = [n for n in (costs.KI * 2 ** i for i in range(11)) if n <= max_context]
    fig.update_layout(title=tr(lang, "cost_metric_" + metric), height=440, plot_bgcolor="white",
                      xaxis=dict(type="log", title=tr(lang, "cost_x_context"), tickvals=ticks,
                                 ticktext=[costs_text.fmt_tokens(n) for n in ticks], gridcolor="#e5e7eb"),
                      yaxis=dict(type="log", title=f"{tr(lang, 'cost_metric_' + metric)} [{unit}]",
                                 tickformat="~g", gridcolor="#e5e7eb"),
                      margin=dict(l=10, r=10, t=50, b=10), legend=dict(orientation="h", y=-0.2))
    return fig


def cache_split_figure(shapes: list[costs.Shape], n: int, lang: str) -> go.Figure:
    """Stacked bars: each model's cache at `n` tokens by layer kind (where Jamba's 1/k comes from), next
    to its weights (the memory the cache is a share of, as Gemma 3's report plots it)."""
    fig = go.Figure()
    names = [plotly_text(s.name) for s in shapes]
    for kind in costs.KINDS:
        ys = [costs.cache_bytes(s, n)[kind] / 2 ** 30 for s in shapes]
        fig.add_trace(go.Bar(x=names, y=ys, name=tr(lang, "kind_" + kind), marker_color=KIND_COLOURS[kind],
                             offsetgroup="cache", hovertemplate="%{x}: %{y:.3f} GiB<extra></extra>"))
    weights = dict(color="#ffffff", line=dict(color=INK, width=1), pattern=dict(shape="/", fgcolor="#9ca3af"))
    fig.add_trace(go.Bar(x=names, y=[costs.weight_bytes(s) / 2 ** 30 for s in shapes], offsetgroup="weights",
                         name=tr(lang, "cost_weights"), marker=weights,
                         hovertemplate="%{x}: %{y:.2f} GiB<extra></extra>"))
    fig.update_layout(barmode="stack", title=tr(lang, "cost_split_title", n=costs_text.fmt_tokens(n)),
                      height=380, yaxis=dict(title="GiB"), plot_bgcolor="white",
                      margin=dict(l=10, r=10, t=50, b=10))
    return fig


# ---- the views --------------------------------------------------------------------------------------

def receptive_view(lang: str) -> None:
    """The receptive field of the run the sidebar's settings describe (one prompt box for the page)."""
    from .classroom import checked_trace
    from .page import current_values

    ss = st.session_state
    st.subheader(show.text(tr(lang, "rf_title")))
    show.caption(tr(lang, "rf_intro"))
    values = current_values()
    if values["policy"] == "sink":  # sinks add keys to every row; the field here follows the window
        show.info(tr(lang, "rf_sinks"))
        values = {**values, "policy": "ring"}
    trace = checked_trace(values, lang)
    if trace is None:
        return
    reads, labels, kinds = reads_from_trace(trace)
    L, n, w = reads.shape[0], reads.shape[1], trace.config["sliding_window"]
    field = receptive_field([w if k == SLIDING else None for k in kinds], n)
    for key, top in (("beyond_rf_q", n - 1), ("beyond_rf_layer", L)):
        if ss.get(key) not in range(top + 1):  # another run's choice: start at the last again
            ss[key] = top
    c5, c6 = st.columns(2)
    q = c5.select_slider(tr(lang, "rf_query"), options=list(range(n)), key="beyond_rf_q",
                         format_func=lambda i: f"{labels[i]} ({i})")
    layer = c6.select_slider(tr(lang, "rf_layer"), options=list(range(L + 1)), key="beyond_rf_layer")
    if all(k == SLIDING for k in kinds):
        show.info(tr(lang, "rf_reach_sliding", l=L, w=w, r=L * (w - 1) + 1))
    else:
        show.info(tr(lang, "rf_reach_all"))
    reach = field[layer, q].nonzero().flatten().tolist()
    show.paragraph(tr(lang, "rf_reach_here", tok=labels[q], l=layer, n=len(reach),
                      toks=", ".join(labels[k] for k in reach)))
    if L <= GRAPH_LAYERS:
        show.plotly(receptive_graph_figure(reads, labels, kinds, q, layer, lang), lang, key="rf_graph")
    else:  # 30 rows of lines would fill two screens: the growth map first, every line on request
        show.plotly(receptive_growth_figure(field, labels, kinds, q, layer, lang), lang, key="rf_growth")
        box = st.expander(tr(lang, "rf_graph_all", l=L), key="beyond_rf_all", on_change="rerun")
        if box.open:  # built only when asked for: up to a second and half a megabyte per slider move
            with box:
                graph = receptive_graph_figure(reads, labels, kinds, q, layer, lang)
                show.plotly(graph, lang, key="rf_graph")
    show.plotly(receptive_heatmap_figure(field, labels, layer, lang), lang, key="rf_heat")


def _contexts_error(text: str, err: ConfigError, lang: str) -> str:
    """The table's contexts could not be read: the cost model's problems in the page's language."""
    if isinstance(err, Invalid):
        label = {p.field: tr(lang, "cost_table_contexts") for p in err.problems}
        return "; ".join(words(p, lang, label) for p in err.problems)
    return tr(lang, "err_contexts", v=text[:80])


def _uploaded_shapes(lang: str) -> list[costs.Shape]:
    """The models of an uploaded or pasted config.json (each refused in the page's language, as text)."""
    from .. import hf_config

    c1, c2 = st.columns(2)
    upload = c1.file_uploader(tr(lang, "cost_upload"), type=["json"], key="beyond_costs_upload",
                              help=tr(lang, "cost_upload_help"))
    pasted = c2.text_area(tr(lang, "cost_paste"), key="beyond_costs_paste", height=100,
                          placeholder='{"model_type": "mistral", "hidden_size": 4096, ...}')
    sources = ([(upload.name, upload.getvalue())] if upload is not None else []) + \
              ([(tr(lang, "cost_pasted"), pasted)] if pasted.strip() else [])
    shapes = []
    for name, text in sources:
        try:
            shapes.append(hf_config.shape_from_json(text, name))
        except Invalid as err:
            show.error([words(p, lang, {"config": tr(lang, "cost_config_label")}) for p in err.problems])
    return shapes


def _params(row: dict) -> str:
    """'12.9B / 46.7B' for a mixture of experts (active per token / total), '7.24B' otherwise."""
    active, total = costs_text.fmt_params(row["active_params"]), costs_text.fmt_params(row["params"])
    return active if active == total else f"{active} / {total}"


def costs_view(lang: str) -> None:
    st.subheader(show.text(tr(lang, "cost_title")))
    show.caption(tr(lang, "cost_intro"))
    names = st.multiselect(tr(lang, "cost_presets"), list(costs.SHAPES), key="beyond_costs_presets",
                           default=["mistral-7b-full", "mistral-7b", "gemma3-27b", "jamba-v0.1"])
    shapes = [costs.shape(name) for name in names] + _uploaded_shapes(lang)
    c1, c2 = st.columns(2)
    metric = c1.radio(tr(lang, "cost_metric"), METRICS, key="beyond_costs_metric", horizontal=True,
                      format_func=lambda m: tr(lang, "cost_metric_" + m))
    max_context = c2.select_slider(tr(lang, "cost_max_context"), options=CONTEXT_CHOICES,
                                   value=CONTEXT_CHOICES[-1], key="beyond_costs_max",
                                   format_func=costs_text.fmt_tokens)
    text = st.text_input(tr(lang, "cost_table_contexts"), "4k,32k,128k,1M", key="beyond_costs_contexts")
    if not shapes:
        show.error(tr(lang, "cost_need_preset"))
        return
    try:
        contexts = validate.parse_contexts(text)
    except ConfigError as err:
        show.error(_contexts_error(text, err, lang))
        return
    show.plotly(cost_figure(shapes, metric, max_context, lang), lang, key="cost_lines")
    show.plotly(cache_split_figure(shapes, max_context, lang), lang, key="cost_split")
    rows = costs.table(shapes, contexts)
    st.dataframe([{tr(lang, "cost_col_preset"): r["preset"],
                   tr(lang, "cost_col_context"): costs_text.fmt_tokens(r["context"])
                   + (" *" if r.get("extrapolated") else ""),
                   tr(lang, "cost_col_params"): _params(r),
                   tr(lang, "cost_col_weights"): costs_text.fmt_bytes(r["weight_bytes"]),
                   tr(lang, "cost_col_cache"): costs_text.fmt_bytes(r["cache_bytes"]),
                   tr(lang, "cost_col_share"): f"{r['cache_share']:.1%}",
                   tr(lang, "cost_col_decode"): costs_text.fmt_flops(r["decode_flops"]),
                   tr(lang, "cost_col_prefill"): costs_text.fmt_flops(r["prefill_flops"])} for r in rows],
                 hide_index=True)
    if any(r.get("extrapolated") for r in rows):
        show.caption(tr(lang, "cost_extrapolated"))
    show.heading(tr(lang, "cost_compare_title"))
    show.generated_markdown(costs_text.comparison_markdown(lang, 128 * costs.KI))
    with st.expander(tr(lang, "cost_source")):
        for s in shapes:
            show.paragraph(f"{s.name}: {s.note.get(lang, '')} — {s.source}")
