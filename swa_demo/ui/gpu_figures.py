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

SLIDING, FULL = "sliding_attention", "full_attention"
KINDS = (SLIDING, "gemma3", "gemma2", FULL)  # all sliding, then more and more full layers
COLORS = {SLIDING: "#0072B2", FULL: "#D55E00", "gemma3": "#56B4E9", "gemma2": "#CC79A7",
          "transformers": "#999999"}  # Okabe-Ito, colour-blind safe
BENCH_DIR = paths.ASSETS / "bench"

TEXT = {
    "zh": {"ctx": "上下文长度（token，对数轴）", "ms": "每个 token 的 decode 时间（ms）",
           "names": {SLIDING: "滑动窗口层（ring，W=4096）", FULL: "全注意力层",
                     "gemma2": "混合 1:1（Gemma 2 式）", "gemma3": "混合 5:1（Gemma 3 式）"},
           "compiled": " · 编译后",
           "short": {SLIDING: "滑动窗口", FULL: "全注意力", "gemma2": "混合 1:1", "gemma3": "混合 5:1"},
           "graph": " · CUDA graph", "tf": "transformers generate", "tok": "prompt 长度（token）",
           "tps": "prefill 吞吐（token/s）", "gb": "KV Cache（GB）", "batch": "批大小 × 上下文",
           "tokps": "decode 吞吐（token/s）",
           "decode_title": "decode：滑动窗口层的每 token 时间不随上下文增长",
           "prefill_title": "prefill：滑动窗口的成本随长度线性增长",
           "cache_title": "Cache 占用：ring 恒定，全注意力线性增长",
           "batch_title": "省下的显存换来的批大小（32k 上下文）", "cpu_title": "本机实测（medium 预设，CPU）",
           "roof": "带宽屋顶线"},
    "en": {"ctx": "context length (tokens, log scale)", "ms": "decode time per token (ms)",
           "names": {SLIDING: "sliding-window layers (ring, W=4096)", FULL: "full-attention layers",
                     "gemma2": "hybrid 1 : 1 (Gemma 2 style)", "gemma3": "hybrid 5 : 1 (Gemma 3 style)"},
           "short": {SLIDING: "sliding", FULL: "full", "gemma2": "hybrid 1:1", "gemma3": "hybrid 5:1"},
           "compiled": " · compiled", "graph": " · CUDA graph", "tf": "transformers generate",
           "tok": "prompt length (tokens)", "tps": "prefill throughput (tokens/s)", "gb": "KV cache (GB)",
           "batch": "batch × context", "tokps": "decode throughput (tokens/s)",
           "decode_title": "Decode: per-token time stays flat with sliding layers",
           "prefill_title": "Prefill: sliding-window cost grows linearly with length",
           "cache_title": "Cache: constant for the ring, linear for full attention",
           "batch_title": "The batch the saved memory buys (32k context)",
           "cpu_title": "Measured live on this machine (medium preset, CPU)", "roof": "bandwidth roofline"},
}


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
                merged[key] += [r for r in rows if "error" not in r and "superseded_by" not in r]
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
    t = TEXT[lang]
    fig = go.Figure()
    for kind in KINDS:
        for compiled in (False, True):
            pts = median_by([r for r in rows if r["kind"] == kind and r["batch"] == 1
                             and bool(r.get("compile")) == compiled], "context", "ms_per_token")
            if pts:
                fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts],
                                         mode="lines+markers",
                                         name=t["short"][kind] + t["compiled" if compiled else "graph"],
                                         line=dict(color=COLORS[kind], dash="solid" if compiled else "dot")))
    roof = median_by([r for r in rows if r["kind"] == SLIDING and r["batch"] == 1], "context", "roofline_ms")
    if roof:
        fig.add_trace(go.Scatter(x=[p[0] for p in roof], y=[p[1] for p in roof], mode="lines",
                                 name=t["roof"], line=dict(color="#009E73", dash="dash")))
    if transformers_rows:
        pts = sorted((r["context"], r["ms_per_token"]) for r in transformers_rows)  # every run: it is noisy
        fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="markers",
                                 name=t["tf"], marker=dict(color=COLORS["transformers"], size=9)))
    fig.update_yaxes(rangemode="tozero")
    return _layout(fig, t["decode_title"], t["ctx"], t["ms"], height=460)  # a legend of up to 10 lines


def prefill_figure(rows: list[dict], lang: str) -> go.Figure:
    t = TEXT[lang]
    fig = go.Figure()
    for kind in KINDS:
        pts = median_by([r for r in rows if r["kind"] == kind and not r.get("chunk")], "tokens", "tok_s")
        if pts:
            fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="lines+markers",
                                     name=t["names"][kind], line=dict(color=COLORS[kind])))
    fig.update_yaxes(rangemode="tozero")
    return _layout(fig, t["prefill_title"], t["tok"], t["tps"])


def cache_figure(rows: list[dict], lang: str) -> go.Figure:
    t = TEXT[lang]
    fig = go.Figure()
    for kind in KINDS:
        pts = sorted({(r["context"], r["cache_bytes"] / 1e9) for r in rows
                      if r["kind"] == kind and r["batch"] == 1})
        if pts:
            fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="lines+markers",
                                     name=t["names"][kind], line=dict(color=COLORS[kind])))
    return _layout(fig, t["cache_title"], t["ctx"], t["gb"])


def batch_figure(rows: list[dict], lang: str) -> go.Figure:
    t = TEXT[lang]
    best: dict[tuple, dict] = {}
    for r in rows:
        if r["batch"] > 1:
            key = (r["kind"], r["batch"], r["context"])
            if key not in best or r["tok_s"] > best[key]["tok_s"]:
                best[key] = r
    bars = sorted(best.values(), key=lambda r: (r["kind"] != FULL, r["batch"]))
    short = t["short"]
    labels = [f"{short[r['kind']]}: {r['batch']} × {r['context'] // 1024}k" for r in bars]
    fig = go.Figure(go.Bar(x=labels, y=[r["tok_s"] for r in bars],
                           marker_color=[COLORS[r["kind"]] for r in bars],
                           text=[f"{r['tok_s']:.0f} tok/s · {r['cache_bytes'] / 1e9:.0f} GB" for r in bars],
                           textposition="outside"))
    return _layout(fig, t["batch_title"], t["batch"], t["tokps"], log_x=False)


def cpu_figure(rows: list[dict], lang: str) -> go.Figure:
    t = TEXT[lang]
    fig = go.Figure()
    window = str(rows[0]["window"]) if rows else "W"  # the medium preset's, not Mistral's 4096
    for kind, name in ((SLIDING, t["names"][SLIDING].replace("4096", window)), (FULL, t["names"][FULL])):
        pts = sorted((r["context"], r["ms_per_token"]) for r in rows if r["kind"] == kind)
        fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="lines+markers",
                                 name=name, line=dict(color=COLORS[kind])))
    fig.update_yaxes(rangemode="tozero")
    return _layout(fig, t["cpu_title"], t["ctx"], t["ms"])


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
