"""Plotly figures of a trace. Every function is pure: `(trace, ...) -> go.Figure`, nothing else read.

Colours are Okabe-Ito (readable with every common colour-vision deficiency), and no state is told by
colour alone: heatmaps carry text or marker symbols, and every figure has a legend.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..trace import Trace
from .derive import StepRef, pass_label, read_positions, seen_after, sizes, storage_now, timeline
from .i18n import tr

# Okabe-Ito, plus greys. One colour per cache state, shared with the HTML cells (see html.py).
BLUE, ORANGE, VERMILLION, YELLOW = "#0072B2", "#E69F00", "#D55E00", "#F0E442"
PURPLE, GREEN, SKY = "#CC79A7", "#009E73", "#56B4E9"
GREY, PALE, WHITE, INK = "#A8A8A8", "#EEEEEE", "#FFFFFF", "#222222"
STATE_COLOUR = {"written": BLUE, "kept": GREY, "evicted": VERMILLION, "unstored": YELLOW}
FONT = '"Source Sans Pro", "Source Sans 3", "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif'


def _layout(fig: go.Figure, height: int, legend: bool = True, legend_gap: int = 6,
            top: int = 10) -> go.Figure:
    """House style. The legend sits in the top margin, `legend_gap` px above the plot area (more when
    subplot titles sit there); a legend that wraps onto more lines pushes the margin (autoexpand).

    No title: the page names each figure above it, and `titled` adds one for a slide.
    """
    top += 28 + legend_gap if legend else 0
    plot_height = max(height - top - 10, 1)
    fig.update_layout(
        height=height, margin=dict(l=10, r=10, t=top, b=10, autoexpand=True),
        font=dict(family=FONT, size=14, color=INK), plot_bgcolor=WHITE, paper_bgcolor=WHITE,
        showlegend=legend,
        legend=dict(orientation="h", yanchor="bottom", y=1 + legend_gap / plot_height, xanchor="left", x=0,
                    font=dict(size=13)),
    )
    return fig


def titled(fig: go.Figure, title: str) -> go.Figure:
    """A copy with a title above everything else and the room it needs (for exported slides)."""
    out = go.Figure(fig)
    extra = 44
    out.update_layout(height=(fig.layout.height or 400) + extra, margin_t=(fig.layout.margin.t or 10) + extra,
                      title=dict(text=title, x=0.01, xanchor="left", y=1, yref="container", yanchor="top",
                                 pad=dict(t=10), font=dict(size=18)))
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


def _every(n: int, most: int) -> list[int]:
    """At most about `most` evenly spaced indices of 0..n-1, for tick labels that must not collide."""
    return list(range(0, n, max(1, math.ceil(n / most))))


def _pos_label(tok: str, pos: int) -> str:
    return f"{tok}<br>{pos}"


def _tokens(trace: Trace) -> list[str]:
    """Token of every position the run saw: the prompt, then what was generated and fed back."""
    return trace.prompt + trace.generated


# ---- one step ---------------------------------------------------------------------------------


def state_figure(trace: Trace, ref: StepRef, lang: str) -> go.Figure:
    """An SSM layer's state after this step (channels x N): it changes every step, never grows."""
    lt = trace.steps[ref.pass_index].layers[ref.layer_index]
    state = lt.state or [[0.0]]
    bound = max(1e-6, max(abs(x) for row in state for x in row))
    fig = go.Figure(go.Heatmap(z=[list(col) for col in zip(*state)], colorscale="RdBu", zmid=0,
                               zmin=-bound, zmax=bound, colorbar=dict(thickness=10)))
    fig.update_layout(height=230, margin=dict(l=40, r=10, t=10, b=40), template="plotly_white",
                      xaxis_title=tr(lang, "channel"), yaxis_title="N")
    return fig


def mask_figure(trace: Trace, ref: StepRef, lang: str) -> go.Figure:
    """The attention mask of this step: the prefill band over query x key positions, or the decode row.

    Cells: attended (in the window), causal but outside the window, or in the future. Read from the
    trace's `attended` lists, so it shows what the model really did.
    """
    step = trace.steps[ref.pass_index]
    lt = step.layers[ref.layer_index]
    toks = _tokens(trace)
    keys = list(range(max(step.positions) + 1))
    codes, text = [], []
    for q, attended in zip(step.positions, lt.attended):
        row = [0 if k in attended else (1 if k <= q else 2) for k in keys]
        codes.append(row)
        text.append(["✓" if c == 0 else ("–" if c == 1 else "") for c in row] if len(keys) <= 24 else
                    ["" for _ in row])  # the symbols need room; wide rows rely on colour and hover
    if not lt.attended:  # an SSM layer attends nothing: show only future/past, no window
        codes = [[1 if k <= q else 2 for k in keys] for q in step.positions]
        text = [["" for _ in keys] for _ in step.positions]
    fig = go.Figure(go.Heatmap(
        z=codes, x=keys, y=list(range(len(step.positions))), text=text, texttemplate="%{text}",
        textfont=dict(size=18), colorscale=_discrete([BLUE, "#F4C58A", PALE]),  # text colour: auto contrast
        zmin=-0.5, zmax=2.5, showscale=False, xgap=2, ygap=2, hoverinfo="skip"))
    for name, colour in ((tr(lang, "allowed"), BLUE), (tr(lang, "outside"), "#F4C58A"),
                         (tr(lang, "future"), PALE)):
        _legend_square(fig, name, colour)
    ticks = _every(len(keys), 24)
    fig.update_xaxes(title=tr(lang, "key"), tickmode="array", tickvals=ticks,
                     ticktext=[_pos_label(toks[k], k) for k in ticks], side="bottom", showgrid=False)
    fig.update_yaxes(title=tr(lang, "query"), tickmode="array", tickvals=list(range(len(step.positions))),
                     ticktext=[f"{t} ({p})" for t, p in zip(step.tokens, step.positions)],
                     autorange="reversed", showgrid=False)
    height = 150 + 44 * len(step.positions)
    return _layout(fig, height)


def weights_figure(trace: Trace, ref: StepRef, lang: str) -> go.Figure:
    """Attention weights per head: `attn_weights[head][query][j]` is the weight on `attended[query][j]`."""
    step = trace.steps[ref.pass_index]
    lt = step.layers[ref.layer_index]
    heads = len(lt.attn_weights)
    toks = _tokens(trace)
    keys = sorted(read_positions(lt))  # only keys some query read: sinks leave no empty columns
    cols = list(range(len(keys)))
    fig = make_subplots(rows=1, cols=max(heads, 1), shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=[tr(lang, "head", h=h + 1) for h in range(heads)] or [""])
    for h in range(heads):
        z = []
        for qi, attended in enumerate(lt.attended):
            w = dict(zip(attended, lt.attn_weights[h][qi]))
            z.append([w.get(k) for k in keys])  # None: not in this query's window
        fig.add_trace(go.Heatmap(
            z=z, x=cols, y=list(range(len(step.positions))), zmin=0, zmax=1, colorscale="Cividis",
            texttemplate="%{z:.2f}", textfont=dict(size=14), xgap=2, ygap=2,
            showscale=h == heads - 1, colorbar=dict(thickness=12, len=0.9),
            hovertemplate="%{z:.4f}<extra></extra>"), row=1, col=h + 1)
        fig.update_xaxes(tickmode="array", tickvals=cols, ticktext=[_pos_label(toks[k], k) for k in keys],
                         showgrid=False, row=1, col=h + 1)
    fig.update_yaxes(tickmode="array", tickvals=list(range(len(step.positions))),
                     ticktext=[f"{t} ({p})" for t, p in zip(step.tokens, step.positions)],
                     autorange="reversed", showgrid=False)
    height = 150 + 44 * len(step.positions)
    return _layout(fig, height, legend=False, top=34)  # room for the head titles


def probs_figure(trace: Trace, pass_index: int, lang: str) -> go.Figure:
    """The next-token distribution after the last layer (top k), the greedy choice highlighted."""
    nt = trace.steps[pass_index].next_token
    assert nt is not None, f"pass {pass_index} has no next-token record"
    toks = [d["token"] for d in nt.top_k]
    probs = [d["prob"] for d in nt.top_k]
    colours = [BLUE if t == nt.token else GREY for t in toks]
    fig = go.Figure(go.Bar(
        x=probs, y=toks, orientation="h", marker=dict(color=colours, line=dict(color=INK, width=1)),
        text=[f"{p:.4f}" for p in probs], textposition="outside", cliponaxis=False,
        hovertemplate="%{y}: %{x:.4f}<extra></extra>"))
    fig.update_xaxes(range=[0, 1.15], tickformat=".1f", showgrid=True, gridcolor=PALE)
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, 60 + 32 * len(toks), legend=False)


# ---- the whole run ----------------------------------------------------------------------------

# Timeline codes: 0 absent, then one per cache state.
_TL_CODES = {"kept": 1, "written": 2, "evicted": 3, "unstored": 4}
_TL_COLOURS = [WHITE, GREY, BLUE, VERMILLION, YELLOW]


def _timeline_code(states: tuple[str, ...]) -> int:
    """The fill of one timeline cell: eviction shows over writing, writing over keeping."""
    return next((_TL_CODES[s] for s in ("evicted", "written", "kept", "unstored") if s in states), 0)


def timeline_figure(trace: Trace, lang: str, ref: StepRef | None = None) -> go.Figure:
    """Per layer: passes across, positions down; when each KV entry was written, read and evicted.

    With `ref`, the current pass is boxed in every layer, drawn heavier in the current layer (for a
    slide; the page leaves it out so that a step change does not redraw the whole run).
    """
    n_layers = len(trace.config["layer_types"])
    cols = min(n_layers, 3)
    rows = math.ceil(n_layers / cols)
    toks = _tokens(trace)
    n_pos = max(max(s.positions) for s in trace.steps) + 1
    passes = list(range(len(trace.steps)))
    labels = [pass_label(trace, p, lang) for p in passes]
    row_px = min(34, max(10, 420 // n_pos))
    row_height = 120 + row_px * n_pos
    height = rows * row_height + 60
    # Dots and crosses only where a cell has room for them (the figure is about 760 px wide on the page
    # and 1200 px on a slide); a dense run relies on the colours, and the hover text still says "read".
    cell_px = min(row_px, 760 / cols / len(passes))
    marks = cell_px >= 12
    fig = make_subplots(rows=rows, cols=cols, shared_yaxes=True, horizontal_spacing=0.03,
                        vertical_spacing=110 / height if rows > 1 else 0.0,
                        subplot_titles=[tr(lang, "layer_line", l=l + 1, policy=_policy_name(trace, l))
                                        for l in range(n_layers)])
    for l in range(n_layers):
        r, c = l // cols + 1, l % cols + 1
        tl = timeline(trace, l)
        z = [[_timeline_code(tl[p].get(pos, ())) for p in passes] for pos in range(n_pos)]
        hover = [[f"{labels[p]} · {toks[pos]} ({pos}): " +
                  (", ".join(tr(lang, s) for s in tl[p][pos]) if pos in tl[p] else "—")
                  for p in passes] for pos in range(n_pos)]
        # numpy arrays: plotly validates lists element by element, which costs more than building them
        fig.add_trace(go.Heatmap(z=np.array(z, dtype=np.int8), x=passes, y=list(range(n_pos)),
                                 colorscale=_discrete(_TL_COLOURS), zmin=-0.5, zmax=4.5, showscale=False,
                                 xgap=1, ygap=1, text=np.array(hover, dtype=object),
                                 hovertemplate="%{text}<extra></extra>"), row=r, col=c)
        if marks:
            reads = [(p, pos) for p in passes for pos, st in tl[p].items() if "read" in st]
            evicts = [(p, pos) for p in passes for pos, st in tl[p].items() if "evicted" in st]
            fig.add_trace(go.Scatter(x=np.array([a for a, _ in reads]), y=np.array([b for _, b in reads]),
                                     mode="markers", hoverinfo="skip", showlegend=False,
                                     marker=dict(symbol="circle", size=min(7, cell_px * 0.4), color=INK,
                                                 line=dict(color=WHITE, width=1))), row=r, col=c)
            fig.add_trace(go.Scatter(x=np.array([a for a, _ in evicts]), y=np.array([b for _, b in evicts]),
                                     mode="markers", hoverinfo="skip", showlegend=False,
                                     marker=dict(symbol="x-thin", size=min(10, cell_px * 0.6),
                                                 line=dict(color=WHITE, width=2))), row=r, col=c)
        if ref is not None:
            heavy = l == ref.layer_index
            fig.add_shape(type="rect", x0=ref.pass_index - 0.5, x1=ref.pass_index + 0.5, y0=-0.5,
                          y1=n_pos - 0.5, row=r, col=c,
                          line=dict(color=INK, width=3 if heavy else 1.5, dash="solid" if heavy else "dot"))
        # narrow panels: turn the pass labels once there are more than two of them
        ticks = _every(len(passes), 12)
        fig.update_xaxes(tickmode="array", tickvals=ticks, ticktext=[labels[p] for p in ticks],
                         tickangle=-60 if len(ticks) > (2 if cols > 1 else 6) else 0, showgrid=False,
                         row=r, col=c)
    ticks = _every(n_pos, 32)
    fig.update_yaxes(tickmode="array", tickvals=ticks, ticktext=[f"{toks[p]} ({p})" for p in ticks],
                     autorange="reversed", showgrid=False)
    fig.update_yaxes(title=tr(lang, "position"), col=1)
    for state in ("written", "kept", "evicted", "unstored"):
        _legend_square(fig, tr(lang, f"lg_{state}"), STATE_COLOUR[state], row=1, col=1)
    if marks:
        _legend_square(fig, tr(lang, "lg_read"), INK, symbol="circle", line=WHITE, row=1, col=1)
    return _layout(fig, height, legend_gap=30)  # room for the subplot titles


def sizes_figure(trace: Trace, lang: str, ref: StepRef | None = None) -> go.Figure:
    """Entries each layer's cache holds after each pass, next to the mask-only size and W (and, with
    `ref`, a line at the current pass)."""
    labels = [pass_label(trace, p, lang) for p in range(len(trace.steps))]
    per_entry = int(trace.config["kv_bytes_per_entry"])
    fig = go.Figure()
    dashes = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
    symbols = ("circle", "square", "diamond", "triangle-up", "triangle-down", "cross")
    colours = (BLUE, GREEN, PURPLE, ORANGE, SKY, INK)
    for l, ys in enumerate(sizes(trace)):
        fig.add_trace(go.Scatter(
            x=list(range(len(ys))), y=ys, mode="lines+markers",
            name=tr(lang, "layer_line", l=l + 1, policy=_policy_name(trace, l)),
            line=dict(color=colours[l % 6], dash=dashes[l % 6], width=2),
            marker=dict(symbol=symbols[l % 6], size=9),
            customdata=[y * per_entry for y in ys],
            hovertemplate="%{y} × " + str(per_entry) + " B = %{customdata} B<extra></extra>"))
    seen = seen_after(trace)
    fig.add_trace(go.Scatter(x=list(range(len(seen))), y=seen, mode="lines", name=tr(lang, "seen"),
                             line=dict(color=VERMILLION, dash="dash", width=2)))
    w = trace.config["sliding_window"]
    fig.add_hline(y=w, line=dict(color=GREY, dash="dot"), annotation_text=f"W = {w}",
                  annotation_position="top left")
    if ref is not None:
        fig.add_vline(x=ref.pass_index, line=dict(color=INK, width=1.5, dash="dot"))
    ticks = _every(len(labels), 10)
    fig.update_xaxes(tickmode="array", tickvals=ticks, ticktext=[labels[p] for p in ticks],
                     tickangle=-45 if len(ticks) > 4 else 0, showgrid=False, title=tr(lang, "forward"))
    fig.update_yaxes(title=tr(lang, "entries"), rangemode="tozero", gridcolor=PALE)
    return _layout(fig, 360)


def storage_figure(trace: Trace, ref: StepRef, lang: str) -> go.Figure:
    """Bytes each layer's cache holds at this step under the run's policy, next to mask-only."""
    rows = storage_now(trace, ref)
    x = [tr(lang, "layer_n", l=s.layer) for s in rows]
    policy = trace.config.get("policy", "")
    fig = go.Figure([
        go.Bar(name=policy, x=x, y=[s.bytes for s in rows],
               marker=dict(color=BLUE, line=dict(color=INK, width=1)),
               text=[f"{s.bytes} B" for s in rows], textposition="outside", cliponaxis=False),
        go.Bar(name=tr(lang, "seen"), x=x, y=[s.seen_bytes for s in rows],
               marker=dict(color=PURPLE, pattern=dict(shape="/"), line=dict(color=INK, width=1)),
               text=[f"{s.seen_bytes} B" for s in rows], textposition="outside", cliponaxis=False),
    ])
    top = max([s.seen_bytes for s in rows] + [s.bytes for s in rows] + [1])
    fig.update_yaxes(title=tr(lang, "bytes"), range=[0, top * 1.25], gridcolor=PALE)
    fig.update_layout(barmode="group")
    return _layout(fig, 320)


def _policy_name(trace: Trace, layer_index: int) -> str:
    kind = trace.config["layer_types"][layer_index]
    if kind == "sliding_attention":
        return trace.config.get("policy", "")
    return {"full_attention": "full", "mamba": "SSM"}.get(kind, kind)
