"""The million-token comparison of the full-scale tab: Mistral-7B's shape at 1,048,576 tokens of context.

Sliding attention on one GPU against full attention on one GPU (which does not fit) and on two
(tensor parallel, half the KV heads per GPU). Each configuration's row reads the recorded tensor-
parallel runs (`assets/bench/h200*_tp*.json`, written by `swa_demo/bench_tp.py`); where a run is not
recorded yet, its bytes come from the cost model and the row says so, so the page never shows a
timing nobody measured. Pure data and Plotly; the tab (`fullscale.py`) draws them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import plotly.graph_objects as go

from .. import costs
from ..costs_text import fmt_tokens
from .gpu_figures import BENCH_DIR, COLORS, FULL, GIB, SLIDING
from .i18n import tr

MILLION = 1 << 20  # tokens: "1M", as the benchmark counts
TP_COMMAND = "torchrun --nproc-per-node 2 -m swa_demo bench gpu --plan tp --json assets/bench/h200x2_tp.json"
# The comparison issue 14 draws: the window on one GPU; full attention on one (it does not fit) and on two.
CONFIGS = ((SLIDING, 1), (FULL, 1), (FULL, 2))


def load(directory: Path = BENCH_DIR) -> dict:
    """The recorded tensor-parallel runs: their decode and prefill rows (failures kept: an out-of-memory
    row is a finding), each tagged with its run's device and date, and each run's facts."""
    merged: dict = {"decode": [], "prefill": [], "runs": []}
    for path in sorted(directory.glob("h200*_tp*.json")):
        data = json.loads(path.read_text())
        run = {k: data.get(k) for k in ("device", "date", "command", "torch", "world_size",
                                        "weights_bytes_tp1", "weights_bytes_per_rank", "gpu_memory_bytes")}
        merged["runs"].append(run | {"file": path.name})
        for part in ("decode", "prefill"):
            merged[part] += [r | {"device": run["device"], "date": run["date"]} for r in data.get(part, [])
                             if "skipped" not in r]
    return merged


@dataclass(frozen=True)
class Config:
    """One bar and one table row: a layer kind on `gpus` GPUs at a million tokens."""

    kind: str
    gpus: int
    cache_bytes: int  # per GPU
    weights_bytes: int  # per GPU
    measured: bool  # bytes from a recorded run (True) or from the cost model (False)
    decode_ms: dict[int, float]  # context -> ms per token, recorded
    error: str | None  # the recorded failure at a million tokens (out of memory), if any
    prefill: dict | None  # the recorded (or fitted) prefill of a million tokens
    device: str | None  # the device of the recorded rows

    @property
    def total_bytes(self) -> int:
        return self.cache_bytes + self.weights_bytes


def _shape(kind: str) -> costs.Shape:
    return costs.shape("mistral-7b" if kind == SLIDING else "mistral-7b-full")


def configs(data: dict) -> list[Config]:
    """The three configurations of `CONFIGS`, then any other (kind, GPUs) pair a run recorded."""
    weights_tp1 = next((r["weights_bytes_tp1"] for r in data["runs"] if r.get("weights_bytes_tp1")),
                       costs.weight_bytes(_shape(SLIDING)))
    per_rank = {r["world_size"]: max(r["weights_bytes_per_rank"]) for r in data["runs"]
                if r.get("weights_bytes_per_rank")}
    seen = list(CONFIGS) + sorted({(r["kind"], r["tp"]) for r in data["decode"]} - set(CONFIGS))
    out = []
    for kind, gpus in seen:
        rows = [r for r in data["decode"] if (r["kind"], r["tp"]) == (kind, gpus)]
        timed = {r["context"]: r["ms_per_token"] for r in rows if "ms_per_token" in r}
        at_million = [r for r in rows if r["context"] == MILLION]
        recorded = next((max(r["cache_bytes_per_rank"]) for r in at_million if "cache_bytes_per_rank" in r),
                        None)
        cache, weights = costs.per_gpu_bytes(_shape(kind), MILLION, gpus)
        weights = weights_tp1 if gpus == 1 else per_rank.get(gpus, weights)  # a recorded run's, if any
        prefill = next((r for r in data["prefill"] if "seconds" in r
                        and (r["kind"], r["tp"], r["tokens"]) == (kind, gpus, MILLION)), None)
        out.append(Config(kind, gpus, recorded or cache, weights, recorded is not None, timed,
                          next((r["error"] for r in at_million if "error" in r), None), prefill,
                          rows[0]["device"] if rows else None))
    return out


def gpu_memory(data: dict) -> int | None:
    """One GPU's memory, as the recording runs' torch reported it."""
    return next((r["gpu_memory_bytes"] for r in data["runs"] if r.get("gpu_memory_bytes")), None)


def timings(c: Config) -> str:
    """'4k: 4.71 / 128k: 4.80 / 1M: 4.72': the recorded ms per token at each context."""
    return " / ".join(f"{fmt_tokens(n)}: {ms:.2f}" for n, ms in sorted(c.decode_ms.items()))


def label(c: Config, lang: str) -> str:
    return tr(lang, "mt_config", kind=tr(lang, f"gf_short_{c.kind}"), gpus=c.gpus)


def status(c: Config, lang: str) -> str:
    """What happened at a million tokens: ms per token, the recorded failure, or not run yet."""
    if MILLION in c.decode_ms:
        return tr(lang, "mt_ms", ms=c.decode_ms[MILLION])
    if c.error:
        return tr(lang, "mt_oom" if c.error.startswith("out of memory") else "mt_failed")
    return tr(lang, "mt_not_run")


def figure(data: dict, lang: str) -> go.Figure:
    """Weights and cache per GPU, stacked, against one GPU's memory: what fits, and how fast it runs."""
    cs = configs(data)
    names = [label(c, lang) for c in cs]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=names, y=[c.weights_bytes / GIB for c in cs], name=tr(lang, "mt_weights"),
                         marker_color="#999999", hovertemplate="%{y:.1f} GiB<extra></extra>"))
    for kind in dict.fromkeys(c.kind for c in cs):  # one legend entry per colour
        mine = [c if c.kind == kind else None for c in cs]
        fig.add_trace(go.Bar(
            x=names, y=[c.cache_bytes / GIB if c else None for c in mine],
            name=tr(lang, "mt_cache", kind=tr(lang, f"gf_short_{kind}")), marker_color=COLORS[kind],
            marker_pattern_shape=["" if c is None or c.measured else "/" for c in mine],
            text=[f"{c.total_bytes / GIB:.1f} GiB · {status(c, lang)}" if c else None for c in mine],
            textposition="outside", cliponaxis=False, hovertemplate="%{y:.1f} GiB<extra></extra>"))
    memory = gpu_memory(data)
    if memory:
        fig.add_hline(y=memory / GIB, line=dict(color="#D55E00", dash="dash"),
                      annotation_text=tr(lang, "mt_capacity", gib=memory / GIB),
                      annotation_position="top left")
    top = max([c.total_bytes / GIB for c in cs] + [(memory or 0) / GIB])
    fig.update_layout(barmode="stack", title=tr(lang, "mt_chart_title"), template="plotly_white",
                      height=420, yaxis=dict(title=tr(lang, "mt_per_gpu"), range=[0, top * 1.18]),
                      legend=dict(orientation="h", y=-0.2, traceorder="normal"),
                      margin=dict(l=60, r=20, t=50, b=40))
    return fig


def _prefill(row: dict, lang: str) -> str:
    text = tr(lang, "mt_prefill", s=row["seconds"], chunk=fmt_tokens(row["chunk"]))
    if row.get("peak_GB") is not None:
        text += tr(lang, "mt_peak", peak=row["peak_GB"] * 1e9 / GIB)
    return text + (tr(lang, "mt_extrapolated") if row.get("extrapolated") else "")


def _source(c: Config, lang: str) -> str:
    if c.device is None:
        return tr(lang, "mt_arithmetic")
    return tr(lang, "mt_recorded", device=c.device) + ("" if c.measured else tr(lang, "mt_bytes_arithmetic"))


def table(data: dict, lang: str) -> list[dict]:
    """One row per configuration: bytes per GPU, decode at each recorded context, the prefill, source."""
    rows = []
    for c in configs(data):
        decode = timings(c)
        if c.error and MILLION not in c.decode_ms:
            decode = "; ".join(filter(None, [decode, f"{fmt_tokens(MILLION)}: {status(c, lang)}"]))
        pre = c.prefill
        rows.append({
            tr(lang, "mt_col_config"): label(c, lang),
            tr(lang, "mt_col_cache"): f"{c.cache_bytes / GIB:.2f} GiB",
            tr(lang, "mt_col_weights"): f"{c.weights_bytes / GIB:.2f} GiB",
            tr(lang, "mt_col_decode"): decode or status(c, lang),
            tr(lang, "mt_col_prefill"): _prefill(pre, lang) if pre else "—",
            tr(lang, "mt_col_source"): _source(c, lang),
        })
    return rows
