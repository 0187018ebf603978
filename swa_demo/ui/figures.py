"""Plotly figures of one step and of the whole run, for slides (`step_slides`, exported as PNGs by
`export`). Every function is pure: `(trace, ...) -> go.Figure`, reading the trace through `derive` as
the page's HTML does, so a slide and the page say the same thing.

Sized for a 1200 px wide slide: tick labels are thinned so they never collide, margins are fixed (a PNG
is drawn once, without the browser's second layout pass that would make room), and every token label
is escaped (Plotly reads a little HTML in text).
"""

from __future__ import annotations

import math
from html import escape

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..trace import Trace
from .derive import (
    FUTURE,
    IN_WINDOW,
    StepRef,
    bytes_after,
    eviction_cut,
    layer_of,
    mask_view,
    pass_label,
    seen_bytes_after,
    step_label,
    storage_now,
    timeline,
    token_labels,
    weights_view,
)
from .i18n import tr
from .overview import layer_policy, timeline_code
from .style import BLUE, FONT, GREEN, GREY, INK, ORANGE, PALE, PEACH, PURPLE, SKY, VERMILLION, WHITE, YELLOW

SLIDE_WIDTH = 1200  # px: export.PNG_WIDTH
_TL_COLOURS = [WHITE, GREY, BLUE, VERMILLION, YELLOW]  # overview.timeline_code's 0..4


def plotly_text(label: str) -> str:
    """A token label as Plotly text: Plotly reads a little HTML (<br>, <a>), a label is only text."""
    return escape(str(label), quote=False)


def _layout(fig: go.Figure, height: int, left: int = 90, bottom: int = 70, top: int = 60,
            legend: bool = True, legend_above: int = 8) -> go.Figure:
    """House style with margins that fit the tick labels and axis titles (a slide gets no second layout
    pass to grow them); the legend sits in the top margin, `legend_above` px over the plot area (more
    when subplot titles sit there)."""
    fig.update_layout(
        height=height, width=SLIDE_WIDTH, margin=dict(l=left, r=30, t=top, b=bottom),
        font=dict(family=FONT, size=15, color=INK), plot_bgcolor=WHITE, paper_bgcolor=WHITE,
        showlegend=legend, legend=dict(orientation="h", yanchor="bottom", xanchor="left", x=0,
                                       y=1 + legend_above / max(height - top - bottom, 1),
                                       font=dict(size=14)))
    fig.update_xaxes(automargin=True, title_standoff=12)
    fig.update_yaxes(automargin=True, title_standoff=12)
    return fig


def titled(fig: go.Figure, title: str) -> go.Figure:
    """A copy with a title above everything else and the room it needs."""
    out = go.Figure(fig)
    extra = 50
    out.update_layout(height=(fig.layout.height or 400) + extra, margin_t=(fig.layout.margin.t or 10) + extra,
                      title=dict(text=plotly_text(title), x=0.01, xanchor="left", y=1, yref="container",
                                 yanchor="top", pad=dict(t=12), font=dict(size=20)))
    return out


def _discrete(colours: list[str]) -> list[list]:
    """A colourscale with one flat band per integer code 0..n-1 (z must span 0..n-1)."""
    n = len(colours)
    scale = []
    for i, c in enumerate(colours):
        scale += [[i / n, c], [(i + 1) / n, c]]
    return scale


def _legend_square(fig: go.Figure, name: str, colour: str, symbol: str = "square", line: str = INK,
                   **where) -> None:
    """A legend-only entry: heatmaps have no legend of their own."""
    marker = dict(symbol=symbol, size=14, color=colour, line=dict(color=line, width=1))
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=name, showlegend=True, marker=marker),
                  **where)


def spread(n: int, most: int) -> list[int]:
    """At most about `most` evenly spaced indices of 0..n-1, for tick labels that must not collide."""
    return list(range(0, n, max(1, math.ceil(n / most))))


# ---- one step ---------------------------------------------------------------------------------


def mask_figure(trace: Trace, ref: StepRef, lang: str) -> go.Figure:
    """The attention mask of this step, with the last query's window boundary as a dashed line."""
    view = mask_view(trace, ref)
    rows = len(view.queries)
    text = [["✓" if c == IN_WINDOW else ("–" if c != FUTURE else "") for c in r] for r in view.codes]
    fig = go.Figure(go.Heatmap(
        z=view.codes, x=view.keys, y=list(range(rows)), text=text if len(view.keys) <= 24 else None,
        texttemplate="%{text}" if len(view.keys) <= 24 else None, textfont=dict(size=18),
        colorscale=_discrete([BLUE, PEACH, PALE]), zmin=-0.5, zmax=2.5, showscale=False, xgap=2, ygap=2,
        hoverinfo="skip"))
    for key, colour in (("allowed", BLUE), ("outside", PEACH), ("future", PALE)):
        _legend_square(fig, tr(lang, key), colour)
    cut = eviction_cut(trace, ref)
    for row, c in enumerate(view.cuts):  # each query's window boundary, as on the page
        if c and c > view.sinks:
            fig.add_shape(type="line", x0=c - 0.5, x1=c - 0.5, y0=row - 0.5, y1=row + 0.5,
                          line=dict(color=VERMILLION, width=4))
    if cut and 0 < cut[1] <= view.keys[-1]:  # the last query's, labelled above the plot
        fig.add_annotation(x=cut[1] - 0.5, y=1, yref="paper", yanchor="bottom", xanchor="left",
                           showarrow=False,
                           text="↓ " + plotly_text(tr(lang, "boundary", rule=cut[0], cut=cut[1])),
                           font=dict(color=VERMILLION, size=15))
    ticks = spread(len(view.keys), 24)
    fig.update_xaxes(title=tr(lang, "key"), tickmode="array", tickvals=ticks,
                     ticktext=[f"{plotly_text(view.labels[k])}<br>{k}" for k in ticks], showgrid=False)
    fig.update_yaxes(title=tr(lang, "query"), tickmode="array", tickvals=list(range(rows)),
                     ticktext=[f"{plotly_text(t)} ({q})" for q, t in view.queries], autorange="reversed",
                     showgrid=False)
    return _layout(fig, 230 + 44 * rows, top=90, bottom=90, legend_above=34)  # room for the boundary label


def weights_figure(trace: Trace, ref: StepRef, lang: str) -> go.Figure:
    """Attention weights, one panel per head, numbers in the cells while they have room."""
    view = weights_view(trace, ref)
    heads = len(view.heads)
    cols = list(range(len(view.keys)))
    fig = make_subplots(rows=1, cols=max(heads, 1), shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=[tr(lang, "head", h=h + 1) for h in range(heads)] or [""])
    room = (SLIDE_WIDTH - 200) / max(heads, 1) / max(len(cols), 1) >= 44
    for h, z in enumerate(view.heads):
        fig.add_trace(go.Heatmap(
            z=z, x=cols, y=list(range(len(view.queries))), zmin=0, zmax=1, colorscale="Cividis",
            texttemplate="%{z:.2f}" if room else None, textfont=dict(size=14), xgap=2, ygap=2,
            showscale=h == heads - 1, colorbar=dict(thickness=12, len=0.9),
            hovertemplate="%{z:.4f}<extra></extra>"), row=1, col=h + 1)
        ticks = spread(len(cols), 12)
        fig.update_xaxes(tickmode="array", tickvals=ticks,
                         ticktext=[f"{plotly_text(view.labels[i])}<br>{view.keys[i]}" for i in ticks],
                         showgrid=False, row=1, col=h + 1)
    fig.update_yaxes(tickmode="array", tickvals=list(range(len(view.queries))),
                     ticktext=[f"{plotly_text(t)} ({q})" for q, t in view.queries], autorange="reversed",
                     showgrid=False)
    return _layout(fig, 200 + 44 * len(view.queries), legend=False, bottom=80)


def probs_figure(trace: Trace, pass_index: int, lang: str) -> go.Figure:
    """The next-token distribution after the last layer (top k), the greedy choice highlighted."""
    nt = trace.steps[pass_index].next_token
    assert nt is not None, f"pass {pass_index} has no next-token record"
    toks = [plotly_text(d["token"]) for d in nt.top_k]
    probs = [d["prob"] for d in nt.top_k]
    colours = [BLUE if d["token"] == nt.token else GREY for d in nt.top_k]
    fig = go.Figure(go.Bar(
        x=probs, y=toks, orientation="h", marker=dict(color=colours, line=dict(color=INK, width=1)),
        text=[f"{p:.4f}" for p in probs], textposition="outside", cliponaxis=False,
        hovertemplate="%{y}: %{x:.4f}<extra></extra>"))
    fig.update_xaxes(range=[0, 1.15], tickformat=".1f", showgrid=True, gridcolor=PALE)
    fig.update_yaxes(autorange="reversed", type="category")
    return _layout(fig, 120 + 36 * len(toks), legend=False, top=30, bottom=50)


def state_figure(trace: Trace, ref: StepRef, lang: str) -> go.Figure:
    """An SSM layer's state after this step: a row per state dimension N, a column per channel."""
    _, lt = layer_of(trace, ref)
    state = lt.state or [[0.0]]
    bound = max(1e-6, max(abs(x) for row in state for x in row))
    fig = go.Figure(go.Heatmap(z=[list(col) for col in zip(*state)], colorscale="RdBu", zmid=0,
                               zmin=-bound, zmax=bound, colorbar=dict(thickness=10)))
    fig.update_xaxes(title=tr(lang, "channel"))
    fig.update_yaxes(title="N", tickmode="array", tickvals=list(range(len(state[0]))))
    return _layout(fig, 280, legend=False, top=30)


# ---- the whole run ----------------------------------------------------------------------------


def timeline_figure(trace: Trace, lang: str, ref: StepRef | None = None) -> go.Figure:
    """Per layer: passes across, positions down; when each KV entry was written, read and evicted.
    With `ref`, the current pass is boxed in every layer, heavier in the current layer."""
    kinds = trace.config["layer_types"]
    layers = [l for l, k in enumerate(kinds) if k != "mamba"]  # an SSM layer has no KV to draw
    cols = min(len(layers), 3) or 1
    rows = max(1, math.ceil(len(layers) / cols))
    labels = token_labels(trace)
    n_pos = max(max(s.positions) for s in trace.steps) + 1  # the last output never enters a cache
    passes = list(range(len(trace.steps)))
    names = [pass_label(trace, p, lang) for p in passes]
    row_px = min(34, max(12, 420 // n_pos))
    row_height = 150 + row_px * n_pos
    height = rows * row_height + 90
    cell_px = (SLIDE_WIDTH - 150) / cols / len(passes)
    marks = cell_px >= 12 and row_px >= 12
    fig = make_subplots(rows=rows, cols=cols, shared_yaxes=True, horizontal_spacing=0.04,
                        vertical_spacing=140 / height if rows > 1 else 0.0,
                        subplot_titles=[tr(lang, "layer_line", l=l + 1, policy=layer_policy(trace, l))
                                        for l in layers])
    # pass labels turned upright whenever more than a few share a panel; at most one per 16 px
    ticks = spread(len(passes), max(2, int(cell_px * len(passes) // 16)))
    for i, l in enumerate(layers):
        r, c = i // cols + 1, i % cols + 1
        tl = timeline(trace, l)
        z = [[timeline_code(tl[p].get(pos, ())) for p in passes] for pos in range(n_pos)]
        fig.add_trace(go.Heatmap(z=np.array(z, dtype=np.int8), x=passes, y=list(range(n_pos)),
                                 colorscale=_discrete(_TL_COLOURS), zmin=-0.5, zmax=4.5, showscale=False,
                                 xgap=1, ygap=1, hoverinfo="skip"), row=r, col=c)
        if marks:
            reads = [(p, pos) for p in passes for pos, st in tl[p].items() if "read" in st]
            evicts = [(p, pos) for p in passes for pos, st in tl[p].items() if "evicted" in st]
            fig.add_trace(go.Scatter(x=[a for a, _ in reads], y=[b for _, b in reads], mode="markers",
                                     hoverinfo="skip", showlegend=False,
                                     marker=dict(symbol="circle", size=7, color=INK,
                                                 line=dict(color=WHITE, width=1))), row=r, col=c)
            fig.add_trace(go.Scatter(x=[a for a, _ in evicts], y=[b for _, b in evicts], mode="markers",
                                     hoverinfo="skip", showlegend=False,
                                     marker=dict(symbol="x-thin", size=10, line=dict(color=WHITE, width=2))),
                          row=r, col=c)
        if ref is not None:
            heavy = l == ref.layer_index
            fig.add_shape(type="rect", x0=ref.pass_index - 0.5, x1=ref.pass_index + 0.5, y0=-0.5,
                          y1=n_pos - 0.5, row=r, col=c,
                          line=dict(color=INK, width=3 if heavy else 1.5, dash="solid" if heavy else "dot"))
        fig.update_xaxes(tickmode="array", tickvals=ticks, ticktext=[plotly_text(names[p]) for p in ticks],
                         tickangle=-90 if len(ticks) > 3 or cols > 1 else 0, showgrid=False, row=r, col=c)
    yt = spread(n_pos, 32)
    fig.update_yaxes(tickmode="array", tickvals=yt, ticktext=[f"{plotly_text(labels[p])} ({p})" for p in yt],
                     autorange="reversed", showgrid=False)
    fig.update_yaxes(title=tr(lang, "position"), col=1)
    for state in ("written", "kept", "evicted", "unstored"):
        _legend_square(fig, tr(lang, f"lg_{state}"), {"written": BLUE, "kept": GREY, "evicted": VERMILLION,
                                                     "unstored": YELLOW}[state], row=1, col=1)
    if marks:
        _legend_square(fig, tr(lang, "lg_read"), INK, symbol="circle", line=WHITE, row=1, col=1)
    return _layout(fig, height, top=100, bottom=130, legend_above=40)  # over the layers' titles


def sizes_figure(trace: Trace, lang: str, ref: StepRef | None = None) -> go.Figure:
    """Bytes each layer's cache holds after each pass (an SSM layer: its state), next to a mask-only
    cache and W entries; with `ref`, a line at the current pass."""
    names = [pass_label(trace, p, lang) for p in range(len(trace.steps))]
    per_entry = int(trace.config["kv_bytes_per_entry"])
    fig = go.Figure()
    dashes = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
    symbols = ("circle", "square", "diamond", "triangle-up", "triangle-down", "cross")
    colours = (BLUE, GREEN, PURPLE, ORANGE, SKY, INK)
    for l, ys in enumerate(bytes_after(trace)):
        fig.add_trace(go.Scatter(
            x=list(range(len(ys))), y=ys, mode="lines+markers",
            name=tr(lang, "layer_line", l=l + 1, policy=layer_policy(trace, l)),
            line=dict(color=colours[l % 6], dash=dashes[l % 6], width=2),
            marker=dict(symbol=symbols[l % 6], size=9), hovertemplate="%{y} B<extra></extra>"))
    seen = seen_bytes_after(trace)
    fig.add_trace(go.Scatter(x=list(range(len(seen))), y=seen, mode="lines", name=tr(lang, "seen"),
                             line=dict(color=VERMILLION, dash="dash", width=2)))
    if "sliding_attention" in trace.config["layer_types"]:
        w = trace.config["sliding_window"]
        fig.add_hline(y=w * per_entry, line=dict(color=GREY, dash="dot"),
                      annotation_text=f"W = {w}: {w * per_entry} B", annotation_position="top left")
    if ref is not None:
        fig.add_vline(x=ref.pass_index, line=dict(color=INK, width=1.5, dash="dot"))
    ticks = spread(len(names), 16)
    fig.update_xaxes(tickmode="array", tickvals=ticks, ticktext=[plotly_text(names[p]) for p in ticks],
                     tickangle=-60 if len(ticks) > 6 else 0, showgrid=False, title=tr(lang, "forward"))
    fig.update_yaxes(title=tr(lang, "bytes"), rangemode="tozero", gridcolor=PALE)
    return _layout(fig, 420, bottom=120, top=80)


def storage_figure(trace: Trace, ref: StepRef, lang: str) -> go.Figure:
    """Bytes each layer's cache holds at this step (the run's policy, or an SSM state), next to mask-only."""
    rows = storage_now(trace, ref)
    x = [tr(lang, "layer_kind", l=s.layer, kind=tr(lang, f"kind_{s.kind}")) for s in rows]
    policy = trace.config.get("policy", "")
    fig = go.Figure([
        go.Bar(name=tr(lang, "held_now", policy=policy), x=x, y=[s.bytes for s in rows],
               marker=dict(color=[GREEN if s.kind == "mamba" else BLUE for s in rows],
                           line=dict(color=INK, width=1)),
               text=[f"{s.bytes} B" for s in rows], textposition="outside", cliponaxis=False),
        go.Bar(name=tr(lang, "seen"), x=x, y=[s.seen_bytes for s in rows],
               marker=dict(color=PURPLE, pattern=dict(shape="/"), line=dict(color=INK, width=1)),
               text=[f"{s.seen_bytes} B" for s in rows], textposition="outside", cliponaxis=False),
    ])
    top = max([s.seen_bytes for s in rows] + [s.bytes for s in rows] + [1])
    fig.update_yaxes(title=tr(lang, "bytes"), range=[0, top * 1.25], gridcolor=PALE)
    fig.update_xaxes(tickangle=-30 if len(rows) > 4 else 0)
    fig.update_layout(barmode="group")
    return _layout(fig, 400, top=80, bottom=90)


def step_slides(trace: Trace, ref: StepRef, lang: str) -> dict[str, go.Figure]:
    """Every figure of this step, titled for a slide: {file name: figure}."""
    step, lt = layer_of(trace, ref)
    label = step_label(trace, ref, lang)
    slides = {}
    if lt.kind == "mamba":
        slides["state"] = (f"{tr(lang, 'state')} · {label}", state_figure(trace, ref, lang))
    else:
        slides["mask"] = (f"{tr(lang, 'mask')} · {label}", mask_figure(trace, ref, lang))
    if lt.attn_weights:
        slides["weights"] = (f"{tr(lang, 'weights')} · {label}", weights_figure(trace, ref, lang))
    if ref.layer_index == len(step.layers) - 1 and step.next_token is not None:
        slides["probs"] = (f"{tr(lang, 'probs', l=lt.layer)} · {pass_label(trace, ref.pass_index, lang)}",
                           probs_figure(trace, ref.pass_index, lang))
    slides["timeline"] = (f"{tr(lang, 'timeline')} · {label}", timeline_figure(trace, lang, ref))
    slides["sizes"] = (f"{tr(lang, 'sizes')} · {label}", sizes_figure(trace, lang, ref))
    slides["storage"] = (f"{tr(lang, 'storage')} · {label}", storage_figure(trace, ref, lang))
    return {name: titled(fig, title) for name, (title, fig) in slides.items()}
