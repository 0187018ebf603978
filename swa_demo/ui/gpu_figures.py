"""Pure Plotly figures of the full-scale benchmark: `(rows, lang) -> go.Figure`.

The rows are the JSON the benchmark writes (`swa_demo/bench_gpu.py`, `bench.cpu_curves`); the app
draws them, and `python -m swa_demo bench plots` writes them to `assets/bench/`.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import plotly.graph_objects as go

from .. import paths
from .i18n import tr

SLIDING, FULL = "sliding_attention", "full_attention"
KINDS = (SLIDING, "gemma3", "gemma2", FULL)  # all sliding, then more and more full layers
COLORS = {SLIDING: "#0072B2", FULL: "#D55E00", "gemma3": "#56B4E9", "gemma2": "#CC79A7",
          "transformers": "#999999"}  # Okabe-Ito, colour-blind safe
BENCH_DIR = paths.ASSETS / "bench"


def kind_name(kind: str, lang: str, window: int | str = 4096) -> str:
    """'sliding-window layers (ring, W=4096)', '混合 1:1（Gemma 2 式）'."""
    return tr(lang, f"gf_name_{kind}", w=window) if kind == SLIDING else tr(lang, f"gf_name_{kind}")


def load_recorded(directory: Path = BENCH_DIR, prefix: str = "h100_") -> dict:
    """Merge the recorded GPU runs: decode/prefill rows, transformers rows, checks, and each run's facts."""
    merged = {"decode": [], "prefill": [], "transformers": [], "checks": [], "linears": [], "runs": []}
    for path in sorted(directory.glob(f"{prefix}*.json")):
        data = json.loads(path.read_text())
        merged["runs"].append({k: data.get(k) for k in ("device", "torch", "date", "command", "copy_TBps",
                                                        "bf16_mm_TFLOPs", "transformers_version")}
                              | {"file": path.name})
        for key in ("decode", "prefill", "transformers", "checks", "linears"):
            rows = data.get(key)
            if isinstance(rows, list):  # early runs stored transformers' version under "transformers"
                merged[key] += [r | {"file": path.name} for r in rows  # a ratio takes both rows from one run
                                if "error" not in r and "superseded_by" not in r]
        interop = data.get("interop_bf16")
        if interop and "superseded_by" not in interop:
            merged["interop_bf16"] = interop
    return merged


def median_by(rows: list[dict], x: str, y: str) -> list[tuple]:
    """(x, median y) sorted by x: repeated measurements of one point (several runs) become one."""
    groups: dict = {}
    for r in rows:
        groups.setdefault(r[x], []).append(r[y])
    return [(k, statistics.median(v)) for k, v in sorted(groups.items())]


def _layout(fig: go.Figure, title: str, x: str, y: str, log_x: bool = True, height: int = 380) -> go.Figure:
    fig.update_layout(title=title, xaxis_title=x, yaxis_title=y, template="plotly_white", height=height,
                      legend=dict(orientation="h", y=-0.25), margin=dict(l=60, r=20, t=50, b=40))
    if log_x:  # ticks at the measured lengths, named the way the text names them
        ticks = sorted({x for trace in fig.data for x in (trace.x or ())})
        fig.update_xaxes(type="log", tickvals=ticks,
                         ticktext=[f"{x // 1024}k" if x >= 1024 else str(x) for x in ticks])
    return fig


def decode_figure(rows: list[dict], transformers_rows: list[dict], lang: str) -> go.Figure:
    fig = go.Figure()
    for kind in KINDS:
        for compiled in (False, True):
            pts = median_by([r for r in rows if r["kind"] == kind and r["batch"] == 1
                             and bool(r.get("compile")) == compiled], "context", "ms_per_token")
            if pts:
                name = tr(lang, f"gf_short_{kind}") + tr(lang, "gf_compiled" if compiled else "gf_graph")
                fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts],
                                         mode="lines+markers", name=name,
                                         line=dict(color=COLORS[kind], dash="solid" if compiled else "dot")))
    roof = median_by([r for r in rows if r["kind"] == SLIDING and r["batch"] == 1], "context", "roofline_ms")
    if roof:
        fig.add_trace(go.Scatter(x=[p[0] for p in roof], y=[p[1] for p in roof], mode="lines",
                                 name=tr(lang, "gf_roof"), line=dict(color="#009E73", dash="dash")))
    if transformers_rows:
        pts = sorted((r["context"], r["ms_per_token"]) for r in transformers_rows)  # every run: it is noisy
        fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="markers",
                                 name=tr(lang, "gf_tf"), marker=dict(color=COLORS["transformers"], size=9)))
    fig.update_yaxes(rangemode="tozero")
    # a legend of up to 10 lines
    return _layout(fig, tr(lang, "gf_decode_title"), tr(lang, "gf_ctx"), tr(lang, "gf_ms"), height=460)


def prefill_figure(rows: list[dict], lang: str) -> go.Figure:
    fig = go.Figure()
    for kind in KINDS:
        pts = median_by([r for r in rows if r["kind"] == kind and not r.get("chunk")], "tokens", "tok_s")
        if pts:
            fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="lines+markers",
                                     name=kind_name(kind, lang), line=dict(color=COLORS[kind])))
    fig.update_yaxes(rangemode="tozero")
    return _layout(fig, tr(lang, "gf_prefill_title"), tr(lang, "gf_tok"), tr(lang, "gf_tps"))


GIB = 2 ** 30  # the cost tab's unit too: one unit for the same quantity everywhere


def cache_figure(rows: list[dict], lang: str) -> go.Figure:
    """Cache bytes against context on linear axes, so a linear growth draws as a straight line."""
    fig = go.Figure()
    for kind in KINDS:
        pts = sorted({(r["context"], r["cache_bytes"] / GIB) for r in rows
                      if r["kind"] == kind and r["batch"] == 1})
        if pts:
            fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="lines+markers",
                                     name=kind_name(kind, lang), line=dict(color=COLORS[kind]),
                                     hovertemplate="%{x:,} tokens: %{y:.2f} GiB<extra></extra>"))
    top = max((x for trace in fig.data for x in trace.x), default=1)
    step = 32 * 1024 if top > 64 * 1024 else 8 * 1024
    ticks = list(range(0, top + 1, step))
    fig.update_xaxes(tickvals=ticks, ticktext=[f"{x // 1024}k" for x in ticks], rangemode="tozero")
    fig.update_yaxes(rangemode="tozero")
    return _layout(fig, tr(lang, "gf_cache_title"), tr(lang, "gf_ctx_linear"), tr(lang, "gf_gib"),
                   log_x=False)


def batch_figure(rows: list[dict], lang: str) -> go.Figure:
    best: dict[tuple, dict] = {}
    for r in rows:
        if r["batch"] > 1:
            key = (r["kind"], r["batch"], r["context"])
            if key not in best or r["tok_s"] > best[key]["tok_s"]:
                best[key] = r
    bars = sorted(best.values(), key=lambda r: (r["kind"] != FULL, r["batch"]))
    labels = [f"{tr(lang, 'gf_short_' + r['kind'])}: {r['batch']} × {r['context'] // 1024}k" for r in bars]
    fig = go.Figure(go.Bar(x=labels, y=[r["tok_s"] for r in bars],
                           marker_color=[COLORS[r["kind"]] for r in bars],
                           text=[f"{r['tok_s']:.0f} tok/s · {r['cache_bytes'] / GIB:.0f} GiB" for r in bars],
                           textposition="outside", cliponaxis=False))
    return _layout(fig, tr(lang, "gf_batch_title"), tr(lang, "gf_batch"), tr(lang, "gf_tokps"), log_x=False)


def cpu_figure(rows: list[dict], lang: str) -> go.Figure:
    """The live CPU curves: each point the median of its rounds, a bar from the fastest to the slowest."""
    fig = go.Figure()
    window = rows[0]["window"] if rows else "W"  # the medium preset's, not Mistral's 4096
    for kind in (SLIDING, FULL):
        pts = sorted((r for r in rows if r["kind"] == kind), key=lambda r: r["context"])
        med = [r["ms_per_token"] for r in pts]
        fig.add_trace(go.Scatter(
            x=[r["context"] for r in pts], y=med, mode="lines+markers", name=kind_name(kind, lang, window),
            line=dict(color=COLORS[kind]),
            error_y=dict(type="data", symmetric=False, array=[r["ms_max"] - m for r, m in zip(pts, med)],
                         arrayminus=[m - r["ms_min"] for r, m in zip(pts, med)], thickness=1.5, width=6),
            customdata=[[r["ms_min"], r["ms_max"], r["repeats"]] for r in pts],
            hovertemplate="%{x}: %{y:.2f} ms (%{customdata[0]:.2f}–%{customdata[1]:.2f}, "
                          "%{customdata[2]} rounds)<extra></extra>"))
    fig.update_yaxes(rangemode="tozero")
    return _layout(fig, tr(lang, "gf_cpu_title"), tr(lang, "gf_ctx"), tr(lang, "gf_ms"))


def write_charts(directory: Path = BENCH_DIR, lang: str = "en") -> list[Path]:
    """Write the recorded runs' charts next to their JSON, as small HTML files (plotly.js from a CDN)."""
    data = load_recorded(directory)
    figs = {"decode": decode_figure(data["decode"], data["transformers"], lang),
            "prefill": prefill_figure(data["prefill"], lang), "cache": cache_figure(data["decode"], lang),
            "batch": batch_figure(data["decode"], lang)}
    paths = []
    for name, fig in figs.items():
        path = directory / f"h100_chart_{name}.html"
        fig.write_html(path, include_plotlyjs="cdn", full_html=True)
        paths.append(path)
    return paths
