"""Figures of the real model's experiments: perplexity along a stream, and where attention goes.

Pure functions: `(record or rows, ..., lang) -> go.Figure`; the numbers come from `swa_demo.stream`.
Colours are Okabe-Ito, each policy also has its own dash, so no line is told by colour alone.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go

from .i18n import tr

# policy -> (colour, dash); the position mode changes the dash of a sink line only (the others are equal)
STYLE = {"full": ("#222222", "solid"), "window": ("#D55E00", "solid"), "sink": ("#0072B2", "solid"),
         "recompute": ("#009E73", "dash")}
FONT = '"Source Sans Pro", "Source Sans 3", "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif'


def rolling_perplexity(nll: list[float], span: int) -> list[float]:
    """exp of the mean NLL over the last `span` targets at each target (fewer at the start)."""
    out, total = [], 0.0
    for i, x in enumerate(nll):
        total += x
        if i >= span:
            total -= nll[i - span]
        out.append(math.exp(total / min(i + 1, span)))
    return out


def distinct_runs(runs: list[dict]) -> list[dict]:
    """The runs worth showing: a window or recompute run at cache positions repeats its absolute twin
    exactly (RoPE counts only distances, and inside a window they are the same), so it is left out."""
    seen, out = set(), []
    for run in runs:
        key = (run["policy"], run["positions"] if run["policy"] == "sink" else "")
        if key not in seen:
            seen.add(key)
            out.append(run)
    return out


def run_name(run: dict, lang: str) -> str:
    """'sink (S = 4, StreamingLLM positions)', 'window', ... in the page's language."""
    name = tr(lang, f"st_policy_{run['policy']}", s=run.get("sinks", 0), w=run["window"])
    if run["policy"] == "sink":
        name += tr(lang, f"st_pos_{run['positions']}")
    return name


def perplexity_figure(runs: list[dict], lang: str, span: int = 256, trained: int | None = 8192,
                      height: int = 460) -> go.Figure:
    """Rolling perplexity against the token's position for each run, on a log axis: the first eviction
    (position W) and the model's trained length marked. A window or recompute run at cache positions
    repeats its absolute twin exactly (RoPE counts only distances inside the window): drawn once."""
    fig = go.Figure()
    lows, highs = [], []
    for run in distinct_runs(runs):
        colour, dash = STYLE[run["policy"]]
        if run["policy"] == "sink" and run["positions"] == "cache":
            dash = "dot"
        ys = rolling_perplexity(run["nll"], span)
        settled = ys[min(span, len(ys) - 1):]  # the first targets have no context yet: hundreds, not news
        lows.append(min(settled))
        highs.append(max(settled))
        step = max(1, len(ys) // 1500)  # a few thousand points draw as fast and look the same
        xs = list(range(2, len(ys) + 2))[::step]
        fig.add_trace(go.Scatter(x=xs, y=ys[::step], mode="lines", name=run_name(run, lang),
                                 line=dict(color=colour, dash=dash, width=2),
                                 hovertemplate="%{x}: %{y:.2f}<extra>" + run_name(run, lang) + "</extra>"))
    window = runs[0]["window"] if runs else None
    n = max((len(r["nll"]) + 1 for r in runs), default=0)
    if window and window < n:
        fig.add_vline(x=window + 1, line=dict(color="#777777", dash="dot"), annotation_position="top right",
                      annotation_text=tr(lang, "st_first_eviction", w=window))
    if trained and trained < n:
        fig.add_vline(x=trained, line=dict(color="#777777", dash="dash"), annotation_position="top left",
                      annotation_text=tr(lang, "st_trained", n=f"{trained:,}"))
    fig.update_layout(
        height=height, margin=dict(l=10, r=10, t=40, b=10), plot_bgcolor="white", paper_bgcolor="white",
        font=dict(family=FONT, size=14, color="#222222"),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0),
        xaxis=dict(title=tr(lang, "st_x_position"), gridcolor="#eeeeee", rangemode="tozero"),
        yaxis=dict(title=tr(lang, "st_y_ppl", span=span), type="log", gridcolor="#eeeeee",
                   tickvals=TICKS, ticktext=[str(t) for t in TICKS]))
    if lows:
        fig.update_yaxes(range=[math.log10(min(lows) / 1.3), math.log10(max(highs) * 1.3)])
    return fig


TICKS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000]


def first_token_figure(layers: list[dict], lang: str, height: int = 360) -> go.Figure:
    """Per layer: the mean attention weight on position 0 (bars; the heads in the hover) against what a
    uniform spread over the keys would give it (the line)."""
    names = [tr(lang, "layer_n", l=x["layer"]) for x in layers]
    heads = ["<br>".join(tr(lang, "sk_head", h=h + 1, w=f"{w:.2f}") for h, w in enumerate(x["per_head"]))
             for x in layers]
    fig = go.Figure([
        go.Bar(x=names, y=[x["first"] for x in layers], name=tr(lang, "sk_first"), marker_color="#0072B2",
               customdata=heads, hovertemplate="%{x}: %{y:.3f}<br>%{customdata}<extra></extra>"),
        go.Scatter(x=names, y=[x["uniform"] for x in layers], name=tr(lang, "sk_uniform"),
                   mode="lines+markers",
                   line=dict(color="#D55E00", dash="dash"), marker=dict(symbol="diamond", size=7),
                   hovertemplate="%{x}: %{y:.3f}<extra></extra>"),
    ])
    fig.update_layout(
        height=height, margin=dict(l=10, r=10, t=40, b=10), plot_bgcolor="white", paper_bgcolor="white",
        font=dict(family=FONT, size=14, color="#222222"), bargap=0.25,
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0),
        xaxis=dict(tickangle=-60, tickfont=dict(size=11)),
        yaxis=dict(title=tr(lang, "sk_y"), range=[0, 1], gridcolor="#eeeeee"))
    return fig


def write_stream_charts(record_path, out_dir, langs: tuple[str, ...] = ("en", "zh")) -> list:
    """The recorded streaming run as PNGs (`stream_perplexity_<lang>.png`) for the README, rendered by
    kaleido in the system's Chromium (`python -m swa_demo bench plots`)."""
    import io
    import json
    import zipfile
    from pathlib import Path

    from .export import png_zip

    runs = json.loads(Path(record_path).read_text())["runs"]
    figs = {f"stream_perplexity_{lang}": perplexity_figure(runs, lang, span=256) for lang in langs}
    written = []
    with zipfile.ZipFile(io.BytesIO(png_zip(figs))) as zf:
        for name in figs:
            path = Path(out_dir) / f"{name}.png"
            path.write_bytes(zf.read(f"{name}.png"))
            written.append(path)
    return written
