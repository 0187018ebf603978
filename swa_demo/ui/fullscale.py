"""The "Full scale (GPU)" tab: the classroom engine on a Mistral-7B shape.

With a CUDA GPU it runs the benchmark for the chosen context and batch, with a progress bar; without
one it shows the committed H100 results, labelled as recorded, with their device, date and command.
Either way the `medium` preset measures the same curves live on this machine's CPU.
"""

from __future__ import annotations

import streamlit as st
import torch

from .. import costs
from . import gpu_figures as gf
from . import million, show
from .i18n import tr


@st.cache_data(show_spinner=False)
def _recorded() -> dict:
    return gf.load_recorded()


def _span(values: list[float], fmt: str) -> str:
    """'lo–hi' in `fmt`, or one number when they print the same."""
    lo, hi = format(min(values), fmt), format(max(values), fmt)
    return lo if lo == hi else f"{lo}–{hi}"


def _change(ratio: float) -> str:
    """+1.8%, -0.04%: a change too small for one decimal keeps two, so it never reads as −0.0%."""
    return f"{ratio - 1:+.1%}" if abs(ratio - 1) >= 0.0005 else f"{ratio - 1:+.2%}"


def _one_run(rows: list[dict], wanted: list[tuple[str, int]]) -> dict:
    """{(kind, tokens): row} for the `wanted` points, all from the newest file that recorded all of them
    (a ratio of two runs' rows would mix two machines' moods); {} if no file has them all."""
    by_file: dict[str, dict] = {}
    for r in rows:
        by_file.setdefault(r["file"], {})[(r["kind"], r["tokens"])] = r
    complete = [f for f, got in sorted(by_file.items()) if all(w in got for w in wanted)]
    return {w: by_file[complete[-1]][w] for w in wanted} if complete else {}


def _summary_rows(data: dict, lang: str) -> list[dict]:
    """The issue's targets next to what the recorded runs measured, in the page's language."""
    t = {k: tr(lang, f"fs_sum_{k}") for k in ("best", "flat", "tf", "pre_s", "attn", "pre_f", "of_roof",
                                              "lin", "of_mm", "gemv", "of_copy", "t_roof", "t_flat", "t_tf",
                                              "t_pre", "t_full", "t_lin")}
    what, measured, target = (tr(lang, f"fs_sum_{k}") for k in ("what", "measured", "target"))
    dec = [r for r in data["decode"] if r["batch"] == 1 and r["kind"] == gf.SLIDING]
    fast = [r for r in dec if r.get("compile")] or dec  # the fastest path recorded
    ours = dict(gf.median_by(fast, "context", "ms_per_token"))
    tf: dict[int, list[float]] = {}
    for r in data["transformers"]:
        tf.setdefault(r["context"], []).append(r["ms_per_token"])
    whole = [r for r in data["prefill"] if not r.get("chunk")]
    pre = _one_run(whole, [(gf.SLIDING, 8192), (gf.SLIDING, 131072)]) | \
        _one_run(whole, [(gf.FULL, 8192), (gf.FULL, 131072)])
    rows = []

    def row(w: str, m: str, g: str) -> None:
        rows.append({what: w, measured: m, target: g})

    if fast:
        row(t["best"], f"{_span([r['ms_per_token'] for r in fast], '.2f')} ms/token = "
            f"{t['of_roof'].format(p=_span([r['frac_of_roofline'] * 100 for r in fast], '.0f'))} "
            f"({_span([r['roofline_ms'] for r in fast], '.2f')} ms)", t["t_roof"])
        lo, hi = min(ours), max(ours)
        row(t["flat"].format(lo=lo // 1024, hi=hi // 1024),
            f"{ours[lo]:.2f} → {ours[hi]:.2f} ms ({_change(ours[hi] / ours[lo])})", t["t_flat"])
    for ctx in sorted(tf):
        if ctx in ours:
            ratios = _span([x / ours[ctx] for x in tf[ctx]], ".1f")
            row(t["tf"].format(c=ctx // 1024, n=len(tf[ctx])),
                f"{_span(tf[ctx], '.1f')} / {ours[ctx]:.2f} ms = {ratios}×", t["t_tf"])
    s8, s128 = pre.get((gf.SLIDING, 8192)), pre.get((gf.SLIDING, 131072))
    f8, f128 = pre.get((gf.FULL, 8192)), pre.get((gf.FULL, 131072))
    if s8 and s128:
        row(t["pre_s"], f"{s128['tok_s']:.0f} / {s8['tok_s']:.0f} ({_change(s128['tok_s'] / s8['tok_s'])})",
            t["t_pre"])
        row(t["attn"], f"{s8['attn_TFLOPs']:.0f} / {s128['attn_TFLOPs']:.0f}", "≥ 400")
    if f8 and f128:
        row(t["pre_f"], f"{f128['tok_s']:.0f} / {f8['tok_s']:.0f} ({f128['tok_s'] / f8['tok_s']:.0%})",
            t["t_full"])
    wide = [r["cublas"] for r in data["linears"] if r["tokens"] > 1]
    if wide:
        n = max(r["tokens"] for r in data["linears"]) // 1024
        row(t["lin"].format(n=n), f"{_span([r['TFLOPs'] for r in wide], '.0f')} TFLOP/s = "
            f"{t['of_mm'].format(p=_span([r['frac_of_matmul'] * 100 for r in wide], '.0f'))}", t["t_lin"])
    reads = [r["triton"] for r in data["linears"] if "triton" in r]
    if reads:
        row(t["gemv"], f"{_span([r['GBps'] for r in reads], '.0f')} GB/s = "
            f"{t['of_copy'].format(p=_span([r['frac_of_copy'] * 100 for r in reads], '.0f'))}", "—")
    return rows


def fullscale_view(lang: str) -> None:
    st.header(show.text(tr(lang, "fs_title")))
    show.caption(tr(lang, "fs_intro"))
    if torch.cuda.is_available():
        _live_gpu(lang)
    else:
        _recorded_view(lang)
    st.divider()
    _million_view(lang)
    st.divider()
    _cpu_view(lang)


def _recorded_view(lang: str) -> None:
    data = _recorded()
    if not data["runs"]:
        show.warning(tr(lang, "fs_no_records"))
        return
    run = data["runs"][0]
    dates = sorted({r["date"] for r in data["runs"]})
    show.info(tr(lang, "fs_recorded", device=run["device"], torch=run["torch"],
                 date=dates[0] if len(dates) == 1 else f"{dates[0]} – {dates[-1]}"))
    st.subheader(show.text(tr(lang, "fs_summary")))
    st.table(_summary_rows(data, lang))
    left, right = st.columns(2)
    with left:
        show.plotly(gf.decode_figure(data["decode"], data["transformers"], lang), lang, key="fs_decode")
    with right:
        show.plotly(gf.prefill_figure(data["prefill"], lang), lang, key="fs_prefill")
    left, right = st.columns(2)
    with left:
        show.plotly(gf.cache_figure(data["decode"], lang), lang, key="fs_cache")
    with right:
        show.plotly(gf.batch_figure(data["decode"], lang), lang, key="fs_batch")
    with st.expander(tr(lang, "fs_checks")):
        columns = ("file", "check", "max_abs_err", "rel_err", "ok")  # two runs check the same paths
        st.table([{k: r[k] for k in columns} for r in data["checks"]])
    with st.expander(tr(lang, "fs_commands")):
        for r in data["runs"]:
            st.code(f"# {r['file']}: {r['device']}, torch {r['torch']}, {r['date']}\n{r['command']}",
                    language="bash")


@st.cache_data(show_spinner=False)
def _million_runs() -> dict:
    return million.load()


def _million_view(lang: str) -> None:
    """The recorded million-token comparison (on a GPU machine too: one GPU cannot run all of it)."""
    data = _million_runs()
    if not data["runs"]:
        return
    st.subheader(show.text(tr(lang, "mt_head")))
    by = {(c.kind, c.gpus): c for c in million.configs(data)}
    sliding, full, split = by[(gf.SLIDING, 1)], by[(gf.FULL, 1)], by[(gf.FULL, 2)]
    show.paragraph(tr(lang, "mt_intro", n=million.MILLION, w=costs.shape("mistral-7b").window,
                      sliding=sliding.cache_bytes / gf.GIB, full=full.cache_bytes / gf.GIB,
                      weights=full.weights_bytes / gf.GIB, half=split.cache_bytes / gf.GIB))
    if sliding.decode_ms:
        show.paragraph(tr(lang, "mt_timed", device=sliding.device, ms=million.timings(sliding)))
    show.plotly(million.figure(data, lang), lang, key="fs_million")
    st.table(million.table(data, lang))
    if not all(c.measured for c in by.values()):
        show.caption(tr(lang, "mt_hatched"))
    if not split.decode_ms:
        show.caption(tr(lang, "mt_pending"))
        st.code(million.TP_COMMAND, language="bash")


def _live_gpu(lang: str) -> None:
    from .. import bench_gpu

    st.subheader(show.text(tr(lang, "fs_live_gpu")))
    c1, c2, c3, c4 = st.columns(4)
    kind = c1.selectbox(tr(lang, "fs_kind"), gf.KINDS, format_func=lambda k: gf.kind_name(k, lang))
    context = c2.select_slider(tr(lang, "fs_context"), [4096, 16384, 32768, 65536, 131072], value=32768)
    batch = c3.number_input(tr(lang, "fs_batch"), 1, 256, 1)
    layers = c4.number_input(tr(lang, "fs_layers"), 1, 32, 32)
    compile_first = st.checkbox(tr(lang, "fs_compile"))
    if not st.button(tr(lang, "fs_run")):
        return
    bar = st.progress(0.0, text=tr(lang, "fs_running"))
    try:
        model = _gpu_model(int(layers))
        bar.progress(0.3, text=tr(lang, "fs_running"))
        ceil = bench_gpu.ceilings()
        row = bench_gpu.bench_decode(model, kind, int(batch), int(context), 16,
                                     "default" if compile_first else None, real_prefill=False,
                                     backend="splitkv", copy_tbps=ceil["copy_TBps"])
        bar.progress(1.0)
        m1, m2, m3 = st.columns(3)
        m1.metric(tr(lang, "fs_ms"), f"{row['ms_per_token']:.2f} ms")
        m2.metric(tr(lang, "fs_tps"), f"{row['tok_s']:.0f}")
        m3.metric(tr(lang, "fs_roof"), f"{row['frac_of_roofline']:.0%}")
        st.json(row | ceil)
    except torch.cuda.OutOfMemoryError as err:
        torch.cuda.empty_cache()
        show.error(tr(lang, "fs_oom", msg=str(err).splitlines()[0][:160]))
    except Exception as err:  # e.g. a kernel that does not compile on this GPU or torch: keep the page
        show.error(tr(lang, "fs_failed", msg=f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"))


@st.cache_resource(show_spinner=False)
def _gpu_model(layers: int):
    from ..config import mistral_7b
    from ..model import build

    return build(mistral_7b(n_layers=layers), seed=0)


def _cpu_view(lang: str) -> None:
    import time

    from ..bench import CPU_REPEATS, CPU_STEPS, busy, cpu_curves

    st.subheader(show.text(tr(lang, "fs_cpu_head")))
    show.caption(tr(lang, "fs_cpu_intro", steps=CPU_STEPS, repeats=CPU_REPEATS))
    before = busy()
    if before:
        show.warning(tr(lang, "fs_busy", load=before[0], cores=before[1]))
    if st.button(tr(lang, "fs_cpu_run"), key="fs_cpu_run"):
        bar = st.progress(0.0)
        t0 = time.perf_counter()
        st.session_state["cpu_curves"] = cpu_curves(progress=bar.progress)
        st.session_state["cpu_busy"] = busy()
        show.success(tr(lang, "fs_cpu_done", secs=time.perf_counter() - t0))
    rows = st.session_state.get("cpu_curves")
    if rows:
        after = st.session_state.get("cpu_busy")
        if after:
            show.warning(tr(lang, "fs_busy_after", load=after[0], cores=after[1]))
        show.plotly(gf.cpu_figure(rows, lang), lang, key="fs_cpu")
