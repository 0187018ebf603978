"""Beyond plain SWA: how far back a stack of layers can see, and what context costs (seed 004).

Two Streamlit views, `receptive_view(lang)` and `costs_view(lang)`, each with its own controls. The
figures are pure functions `(...) -> go.Figure`; the numbers come from the engine (`walkthrough.run`),
`window.receptive_field` and `costs`, never from here.

Worked example (the seed walkthrough: A B C D E F, W = 2, 3 sliding layers): after layer 1, F is
reached by E and F; after layer 3 by C..F, L (W - 1) + 1 = 4 tokens; A and B can no longer influence it.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go
import streamlit as st
import torch

from .. import costs, costs_text, validate
from ..config import FULL, MAMBA, PATTERNS, SLIDING, ConfigError
from ..trace import Trace

INK, FAINT, HOT, COLD = "#1f2937", "#d1d5db", "#dc2626", "#9ca3af"
KIND_COLOURS = {FULL: "#2563eb", SLIDING: "#16a34a", MAMBA: "#d97706"}

TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "rf_title": "感受野：每一层之后，哪些输入还能影响一个位置",
        "rf_intro": "滑动窗口每层只看 W 个位置，但层层叠加后视野会扩大：L 层滑动窗口最远能回看 "
                    "L·(W−1)+1 个 token。全注意力层或 SSM 层把之前的所有位置一次传过去。"
                    "下面的图来自真实的一次运行：每条线是该层真的注意到的一个 (查询, 键) 对；"
                    "红色是能到达所选位置的路径。",
        "prompt": "提示词（字母 A–Z）", "window": "窗口 W", "layers": "层数", "pattern": "层模式",
        "query": "查看位置", "layer": "查看层",
        "graph_title": "第 {l} 层之后的 {tok}（位置 {q}）由哪些输入决定",
        "heat_title": "第 {l} 层之后：每个位置（行）可被哪些输入（列）影响",
        "x_pos": "位置", "y_layer": "层（0 = 嵌入）", "y_query": "位置（输出）", "x_input": "输入位置",
        "reach_sliding": "全部是滑动层：最远回看 L·(W−1)+1 = {l}·({w}−1)+1 = {r} 个 token。",
        "reach_all": "含全注意力或 SSM 层：最后一层的每个位置都能被它之前的全部输入影响。",
        "reach_here": "所选位置 {tok} 在第 {l} 层之后受 {n} 个输入影响：{toks}。",
        "pattern_sliding": "sliding（Mistral：全部滑动）", "pattern_gemma2": "gemma2（滑动/全局交替）",
        "pattern_gemma3": "gemma3（5 滑动 : 1 全局）", "pattern_jamba": "jamba（7 Mamba : 1 全局）",
        "pattern_full": "full（全注意力基线）",
        "kind_sliding_attention": "滑动", "kind_full_attention": "全局", "kind_mamba": "SSM",
        "cone": "能到达所选位置", "other": "其他注意力连接",
        "costs_title": "上下文的代价：KV Cache、状态与 FLOPs",
        "costs_intro": "按真实模型配置解析计算（bf16，每条序列）。双对数坐标中：水平线 = 常数（SSM 状态、"
                       "环形缓冲填满之后），斜率 1 = 线性增长，斜率 2 = 二次增长。",
        "presets": "模型", "metric": "指标", "max_context": "最长上下文",
        "metric_cache": "KV Cache + 状态", "metric_decode": "每生成一个 token 的 FLOPs",
        "metric_prefill": "预填充 FLOPs",
        "x_context": "上下文长度（token，对数坐标）",
        "split_title": "{n} 上下文时的缓存，按层类型拆分",
        "table_contexts": "表格中的上下文长度（如 4k,32k,128k,1M）",
        "compare_title": "种子 004 的对比表，用计算出的数字重做",
        "need_preset": "请至少选择一个模型。",
        "col_preset": "模型", "col_context": "上下文", "col_cache": "KV + 状态", "col_decode": "推理 / token",
        "col_prefill": "预填充",
        "source": "配置来源",
        "error": "出错了：{msg}",
    },
    "en": {
        "rf_title": "Receptive field: which inputs can still influence a position after each layer",
        "rf_intro": "A sliding window sees only W positions per layer, but stacked layers see further: L "
                    "sliding layers reach L·(W−1)+1 tokens back. A full-attention or SSM layer carries every "
                    "earlier position forward at once. The graph comes from a real run: each line is a "
                    "(query, key) pair that layer really attended; the red ones lead to the chosen position.",
        "prompt": "prompt (letters A–Z)", "window": "window W", "layers": "layers",
        "pattern": "layer pattern",
        "query": "position", "layer": "after layer",
        "graph_title": "Which inputs decide {tok} (position {q}) after layer {l}",
        "heat_title": "After layer {l}: which inputs (columns) can influence each position (rows)",
        "x_pos": "position", "y_layer": "layer (0 = embeddings)", "y_query": "position (output)",
        "x_input": "input position",
        "reach_sliding": "Every layer slides: the reach is L·(W−1)+1 = {l}·({w}−1)+1 = {r} tokens.",
        "reach_all": "A full or SSM layer is in the stack: the last layer's every position can be "
                     "influenced by all inputs before it.",
        "reach_here": "After layer {l}, {tok} can be influenced by {n} inputs: {toks}.",
        "pattern_sliding": "sliding (Mistral: every layer slides)", "pattern_gemma2": "gemma2 (alternating)",
        "pattern_gemma3": "gemma3 (5 sliding : 1 full)", "pattern_jamba": "jamba (7 mamba : 1 full)",
        "pattern_full": "full (baseline)",
        "kind_sliding_attention": "sliding", "kind_full_attention": "full", "kind_mamba": "SSM",
        "cone": "reaches the chosen position", "other": "other attended pairs",
        "costs_title": "The cost of context: KV cache, state and FLOPs",
        "costs_intro": "Analytic, at the real models' configs (bf16, per sequence). On log-log axes a flat "
                       "line is a constant (an SSM state, a full ring), slope 1 grows linearly, slope 2 "
                       "quadratically.",
        "presets": "models", "metric": "measure", "max_context": "longest context",
        "metric_cache": "KV cache + state", "metric_decode": "FLOPs per generated token",
        "metric_prefill": "prefill FLOPs",
        "x_context": "context length (tokens, log scale)",
        "split_title": "Cache at {n} context, split by layer kind",
        "table_contexts": "contexts for the table (e.g. 4k,32k,128k,1M)",
        "compare_title": "Seed 004's comparison, redone with computed figures",
        "need_preset": "Pick at least one model.",
        "col_preset": "model", "col_context": "context", "col_cache": "KV + state",
        "col_decode": "decode / token",
        "col_prefill": "prefill",
        "source": "config sources",
        "error": "Something went wrong: {msg}",
    },
}

METRICS = ("cache", "decode", "prefill")
CONTEXT_CHOICES = [4 * costs.KI, 32 * costs.KI, 128 * costs.KI, 256 * costs.KI, costs.KI * costs.KI]


def t(lang: str, key: str, **fields) -> str:
    return TEXT[lang][key].format(**fields) if fields else TEXT[lang][key]


# ---- the receptive field of a run -----------------------------------------------------------------

def reads_from_trace(trace: Trace) -> tuple[torch.Tensor, list[str], list[str]]:
    """What each layer of a run read: (L, n, n) bool, [q, k] = this layer's q attended k; the tokens;
    the layer kinds. A mamba layer reads every earlier position through its state."""
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


def compose(reads: torch.Tensor) -> torch.Tensor:
    """(L + 1, n, n): [l, q, k] = input k can reach position q after l layers (l = 0: itself only)."""
    reach = torch.eye(reads.shape[1], dtype=torch.bool)
    out = [reach]
    for r in reads:
        reach = (r.to(torch.int32) @ reach.to(torch.int32)) > 0
        out.append(reach)
    return torch.stack(out)


def cone(reads: torch.Tensor, q: int, layer: int) -> list[set[int]]:
    """Positions at each level 0..layer whose hidden state feeds position q after `layer` layers."""
    levels = [{q}]
    for l in range(layer, 0, -1):
        levels.append({int(k) for p in levels[-1] for k in reads[l - 1, p].nonzero().flatten()})
    return levels[::-1]


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
                             line=dict(color=FAINT, width=1), name=t(lang, "other")))
    fig.add_trace(go.Scatter(x=lines["hot"][0], y=lines["hot"][1], mode="lines", hoverinfo="skip",
                             line=dict(color=HOT, width=2), name=t(lang, "cone")))
    nodes = [(k, l) for l in range(L + 1) for k in range(n)]
    fig.add_trace(go.Scatter(
        x=[k for k, _ in nodes], y=[l for _, l in nodes], mode="markers", showlegend=False,
        marker=dict(size=11, color=[HOT if node in hot else COLD for node in nodes],
                    line=dict(color=INK, width=1)),
        text=[f"{labels[k]} · {k}" for k, _ in nodes], hovertemplate="%{text}<extra></extra>"))
    ticks = [t(lang, "kind_" + kinds[l - 1]) if l else "emb" for l in range(L + 1)]
    fig.update_layout(
        title=t(lang, "graph_title", tok=labels[q], q=q, l=layer), height=160 + 60 * L,
        xaxis=dict(title=t(lang, "x_pos"), tickmode="array", tickvals=list(range(n)),
                   ticktext=[f"{s}<br>{i}" for i, s in enumerate(labels)]),
        yaxis=dict(title=t(lang, "y_layer"), tickmode="array", tickvals=list(range(L + 1)),
                   ticktext=[f"{l} {k}" for l, k in enumerate(ticks)]),
        margin=dict(l=10, r=10, t=50, b=10), legend=dict(orientation="h", y=-0.25), plot_bgcolor="white")
    return fig


def receptive_heatmap_figure(field: torch.Tensor, labels: list[str], layer: int, lang: str) -> go.Figure:
    """field[layer] as a grid: row q, column k, filled where input k can reach q after `layer` layers."""
    n = field.shape[1]
    names = [f"{s} {i}" for i, s in enumerate(labels)]
    fig = go.Figure(go.Heatmap(z=field[layer].to(torch.int32).tolist(), x=names, y=names, showscale=False,
                               colorscale=[[0, "#f3f4f6"], [1, HOT]], xgap=1, ygap=1, zmin=0, zmax=1,
                               hovertemplate="%{y} ← %{x}<extra></extra>"))
    fig.update_layout(title=dict(text=t(lang, "heat_title", l=layer), y=0.98, yanchor="top"),
                      height=210 + 14 * n,
                      xaxis=dict(title=t(lang, "x_input"), side="top"),
                      yaxis=dict(title=t(lang, "y_query"), autorange="reversed"),
                      margin=dict(l=10, r=10, t=110, b=10))
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


def cost_figure(names: list[str], metric: str, max_context: int, lang: str) -> go.Figure:
    """One line per preset: the metric (in `UNITS`) against context length, log-log, up to `max_context`."""
    assert metric in METRICS, f"metric must be one of {METRICS}, got {metric!r}"
    unit, scale = UNITS[metric]
    xs = context_grid(max_context)
    fig = go.Figure()
    for name in names:
        s = costs.shape(name)
        ys = [metric_value(s, metric, n) / scale for n in xs]
        hover = f"{name}<br>%{{customdata}}: %{{y:.4g}} {unit}<extra></extra>"
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=name, hovertemplate=hover,
                                 customdata=[costs_text.fmt_tokens(n) for n in xs]))
    ticks = [n for n in (costs.KI * 2 ** i for i in range(11)) if n <= max_context]
    fig.update_layout(title=t(lang, "metric_" + metric), height=440, plot_bgcolor="white",
                      xaxis=dict(type="log", title=t(lang, "x_context"), tickvals=ticks,
                                 ticktext=[costs_text.fmt_tokens(n) for n in ticks], gridcolor="#e5e7eb"),
                      yaxis=dict(type="log", title=f"{t(lang, 'metric_' + metric)} [{unit}]",
                                 tickformat="~g", gridcolor="#e5e7eb"),
                      margin=dict(l=10, r=10, t=50, b=10), legend=dict(orientation="h", y=-0.2))
    return fig


def cache_split_figure(names: list[str], n: int, lang: str) -> go.Figure:
    """Stacked bars: each preset's cache at `n` tokens, by layer kind (where Jamba's 1/k comes from)."""
    fig = go.Figure()
    for kind in costs.KINDS:
        ys = [costs.cache_bytes(costs.shape(name), n)[kind] / 2 ** 30 for name in names]
        fig.add_trace(go.Bar(x=names, y=ys, name=t(lang, "kind_" + kind), marker_color=KIND_COLOURS[kind],
                             hovertemplate="%{x}: %{y:.3f} GiB<extra></extra>"))
    fig.update_layout(barmode="stack", title=t(lang, "split_title", n=costs_text.fmt_tokens(n)), height=380,
                      yaxis=dict(title="GiB"), plot_bgcolor="white", margin=dict(l=10, r=10, t=50, b=10))
    return fig


# ---- the views --------------------------------------------------------------------------------------

@st.cache_data(show_spinner=False)
def _run_trace(prompt: str, window: int, layers: int, layer_pattern: str) -> dict:
    """The run the receptive view draws: the prompt through the shipped tiny model (a trace as JSON)."""
    from ..walkthrough import Settings, run

    return run(Settings(prompt=prompt, new=1, window=window, layers=layers, policy="seed",
                        pattern=layer_pattern)).to_dict()


def receptive_view(lang: str) -> None:
    from ..tiny import MAX_LAYERS, WeightsError
    from ..trace import load
    from ..walkthrough import MAX_WINDOW

    lang = lang if lang in TEXT else "en"
    st.subheader(t(lang, "rf_title"))
    st.caption(t(lang, "rf_intro"))
    c1, c2, c3, c4 = st.columns([3, 1, 1, 2])
    prompt = c1.text_input(t(lang, "prompt"), "ABCDEFGHIJ", key="beyond_rf_prompt")
    window = c2.number_input(t(lang, "window"), min_value=1, max_value=MAX_WINDOW, value=2, key="beyond_rf_w")
    layers = c3.number_input(t(lang, "layers"), min_value=1, max_value=MAX_LAYERS, value=3, key="beyond_rf_l")
    layer_pattern = c4.selectbox(t(lang, "pattern"), list(PATTERNS), key="beyond_rf_pattern",
                                 format_func=lambda p: t(lang, "pattern_" + p))
    try:
        data = _run_trace(prompt, int(window), int(layers), layer_pattern)
    except (ConfigError, WeightsError) as err:
        st.error(t(lang, "error", msg=err))
        return
    try:
        reads, labels, kinds = reads_from_trace(load(data))
        field = compose(reads)
        L, n = reads.shape[0], reads.shape[1]
        c5, c6 = st.columns(2)
        q = c5.select_slider(t(lang, "query"), options=list(range(n)), value=n - 1, key="beyond_rf_q",
                             format_func=lambda i: f"{labels[i]} ({i})")
        layer = c6.select_slider(t(lang, "layer"), options=list(range(L + 1)), value=L, key="beyond_rf_layer")
        if all(k == SLIDING for k in kinds):
            st.info(t(lang, "reach_sliding", l=L, w=int(window), r=L * (int(window) - 1) + 1))
        else:
            st.info(t(lang, "reach_all"))
        reach = field[layer, q].nonzero().flatten().tolist()
        st.write(t(lang, "reach_here", tok=labels[q], l=layer, n=len(reach),
                   toks=", ".join(labels[k] for k in reach)))
        st.plotly_chart(receptive_graph_figure(reads, labels, kinds, q, layer, lang))
        st.plotly_chart(receptive_heatmap_figure(field, labels, layer, lang))
    except Exception as err:  # the page never shows a traceback
        st.error(t(lang, "error", msg=f"{type(err).__name__}: {err}"))


def costs_view(lang: str) -> None:
    lang = lang if lang in TEXT else "en"
    st.subheader(t(lang, "costs_title"))
    st.caption(t(lang, "costs_intro"))
    names = st.multiselect(t(lang, "presets"), list(costs.SHAPES), key="beyond_costs_presets",
                           default=["mistral-7b-full", "mistral-7b", "gemma3-27b", "jamba-v0.1"])
    c1, c2 = st.columns(2)
    metric = c1.radio(t(lang, "metric"), METRICS, key="beyond_costs_metric", horizontal=True,
                      format_func=lambda m: t(lang, "metric_" + m))
    max_context = c2.select_slider(t(lang, "max_context"), options=CONTEXT_CHOICES, value=CONTEXT_CHOICES[-1],
                                   key="beyond_costs_max", format_func=costs_text.fmt_tokens)
    text = st.text_input(t(lang, "table_contexts"), "4k,32k,128k,1M", key="beyond_costs_contexts")
    if not names:
        st.error(t(lang, "need_preset"))
        return
    try:
        contexts = validate.parse_contexts(text)
    except ConfigError as err:
        st.error(t(lang, "error", msg=err))
        return
    try:
        st.plotly_chart(cost_figure(names, metric, max_context, lang))
        st.plotly_chart(cache_split_figure(names, max_context, lang))
        rows = costs.table(names, contexts)
        st.dataframe([{t(lang, "col_preset"): r["preset"],
                       t(lang, "col_context"): costs_text.fmt_tokens(r["context"]),
                       t(lang, "col_cache"): costs_text.fmt_bytes(r["cache_bytes"]),
                       t(lang, "col_decode"): costs_text.fmt_flops(r["decode_flops"]),
                       t(lang, "col_prefill"): costs_text.fmt_flops(r["prefill_flops"])} for r in rows],
                     hide_index=True)
        st.markdown(f"**{t(lang, 'compare_title')}**")
        st.markdown(costs_text.comparison_markdown(lang, 128 * costs.KI))
        with st.expander(t(lang, "source")):
            for name in names:
                s = costs.shape(name)
                st.markdown(f"- **{name}**: {s.note.get(lang, '')} — {s.source}")
    except Exception as err:  # the page never shows a traceback
        st.error(t(lang, "error", msg=f"{type(err).__name__}: {err}"))
