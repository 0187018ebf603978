"""The full-scale tab without a GPU: recorded H100 results, labelled as such, and live CPU curves."""

import html
import re

import pytest
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from swa_demo.bench import cpu_curves
from swa_demo.ui import gpu_figures as gf
from swa_demo.ui import million


def plain(markdown: str) -> str:
    """What a reader sees of a Markdown body."""
    return html.unescape(re.sub(r"<[^>]+>", "", MarkdownIt("commonmark").render(markdown))).strip()


def test_recorded_results_carry_device_date_and_command():
    data = gf.load_recorded()
    assert data["runs"], "assets/bench/ must hold the recorded H100 runs"
    for run in data["runs"]:
        assert run["device"].startswith("NVIDIA H100") and run["date"]
        assert "swa_demo bench gpu" in run["command"]
    assert all(c["ok"] for c in data["checks"]) and data["checks"]
    sliding = [r for r in data["decode"] if r["kind"] == gf.SLIDING and r["batch"] == 1]
    assert {r["cache_bytes"] for r in sliding} == {32 * 2 * 4096 * 8 * 128 * 2}  # constant, exact


def test_decode_chart_draws_each_recorded_median_under_its_name():
    data = gf.load_recorded()
    compiled = [r for r in data["decode"] if r["kind"] == gf.SLIDING and r["batch"] == 1 and r.get("compile")]
    for lang, name in (("en", "sliding · compiled"), ("zh", "滑动窗口 · 编译后")):
        fig = gf.decode_figure(data["decode"], data["transformers"], lang)
        series = {t.name: dict(zip(t.x, t.y)) for t in fig.data}
        assert series[name] == dict(gf.median_by(compiled, "context", "ms_per_token"))
        assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.title.text == gf.tr(lang, "gf_ms")


def test_cache_chart_is_linear_in_GiB_so_full_attention_draws_a_straight_line():
    data = gf.load_recorded()
    fig = gf.cache_figure(data["decode"], "en")
    assert fig.layout.xaxis.type != "log" and fig.layout.yaxis.type != "log"
    assert "GiB" in fig.layout.yaxis.title.text and "linear" in fig.layout.title.text
    full = next(t for t in fig.data if t.name == "full-attention layers")
    # 32 x 2 x 8 x 128 x 2 B x 128k = 16 GiB (17.19 GB), plus the few slots preallocated for decoding
    assert dict(zip(full.x, full.y))[131072] == pytest.approx(16.0, rel=1e-3)
    slopes = [y / x for x, y in zip(full.x, full.y)]
    assert max(slopes) / min(slopes) < 1.02  # proportional to the context: a straight line through 0
    sliding = next(t for t in fig.data if t.name.startswith("sliding"))
    assert set(sliding.y) == {0.5}


def test_prefill_and_batch_charts_draw_every_kind_and_batch():
    data = gf.load_recorded()
    kinds = {r["kind"] for r in data["prefill"] if not r.get("chunk")}
    fig = gf.prefill_figure(data["prefill"], "en")
    assert {t.name for t in fig.data} == {gf.kind_name(k, "en") for k in kinds}
    bars = gf.batch_figure(data["decode"], "zh").data[0]
    assert any(x.startswith("滑动窗口: 64 × 32k") for x in bars.x) and all("GiB" in t for t in bars.text)


def test_cpu_curves_flat_for_sliding_growing_for_full_with_medians_and_spread():
    rows = cpu_curves(contexts=(1024, 32768), steps=3, repeats=3)
    cache = {(r["kind"], r["context"]): r["cache_bytes"] for r in rows}
    assert cache[(gf.SLIDING, 1024)] == cache[(gf.SLIDING, 32768)]
    assert cache[(gf.FULL, 32768)] > 16 * cache[(gf.FULL, 1024)]
    for r in rows:
        assert len(r["rounds_ms"]) == 3 and r["repeats"] == 3 and r["threads"] == 1
        assert r["ms_min"] <= r["ms_per_token"] <= r["ms_max"]
        assert r["ms_per_token"] == sorted(r["rounds_ms"])[1]  # the median of three rounds
    fig = gf.cpu_figure(rows, "en")
    assert all(t.error_y.array is not None for t in fig.data)  # the spread is drawn


def test_million_tokens_reads_the_recorded_one_gpu_runs():
    """Sliding at 1M on one GPU: a constant 512 MiB cache and the 4k time; full attention at 1M on one
    GPU: the recorded out-of-memory, and the cost model's bytes, which with the weights exceed the GPU."""
    data = million.load()
    assert data["runs"] and all(r["device"].startswith("1 x NVIDIA H200") for r in data["runs"])
    by = {(c.kind, c.gpus): c for c in million.configs(data)}
    sliding, full, split = by[(gf.SLIDING, 1)], by[(gf.FULL, 1)], by[(gf.FULL, 2)]
    assert sliding.measured and sliding.cache_bytes == 32 * 2 * 4096 * 8 * 128 * 2
    assert set(sliding.decode_ms) == {4096, 131072, million.MILLION}
    assert max(sliding.decode_ms.values()) < 1.1 * min(sliding.decode_ms.values())  # flat to a million
    assert sliding.prefill["tokens"] == million.MILLION and not sliding.prefill["extrapolated"]
    assert full.error.startswith("out of memory") and not full.measured and not full.decode_ms
    assert full.cache_bytes == 32 * 2 * million.MILLION * 8 * 128 * 2  # 128 GiB
    memory = million.gpu_memory(data)
    assert full.cache_bytes < memory < full.total_bytes  # the weights are what tip it over
    assert split.cache_bytes == full.cache_bytes // 2 and split.device is None  # arithmetic: not run yet
    assert split.weights_bytes < 0.52 * full.weights_bytes  # embeddings replicated, the rest halved


def test_million_tokens_takes_a_two_gpu_run_when_one_is_recorded(tmp_path):
    """The day two GPUs run `--plan tp`, its rows replace the arithmetic, with no code change."""
    import json
    import shutil

    for f in million.BENCH_DIR.glob("h200*_tp*.json"):
        shutil.copy(f, tmp_path)
    half = 32 * 2 * million.MILLION * 4 * 128 * 2
    (tmp_path / "h200x2_tp.json").write_text(json.dumps({
        "device": "2 x NVIDIA H200", "world_size": 2, "date": "2027-01-01", "command": "torchrun ...",
        "weights_bytes_tp1": 14483464192, "weights_bytes_per_rank": [7504142336, 7504142336],
        "decode": [{"kind": gf.FULL, "context": million.MILLION, "tp": 2, "ms_per_token": 41.5,
                    "cache_bytes_per_rank": [half, half]},
                   {"kind": gf.SLIDING, "context": 4096, "tp": 2, "ms_per_token": 2.9,
                    "cache_bytes_per_rank": [1, 1]}]}))
    data = million.load(tmp_path)
    by = {(c.kind, c.gpus): c for c in million.configs(data)}
    split = by[(gf.FULL, 2)]
    assert split.measured and split.device == "2 x NVIDIA H200" and split.weights_bytes == 7504142336
    assert million.status(split, "en") == "41.50 ms/token" and (gf.SLIDING, 2) in by
    rows = million.table(data, "zh")
    assert rows[2]["来源"] == "记录于 2 x NVIDIA H200" and len(rows) == 4
    hatched = [t.marker.pattern.shape for t in million.figure(data, "en").data if t.name.startswith("KV")]
    assert hatched[1] == ("", "/", "", "")  # full attention: only the one-GPU bar is arithmetic now


def _fullscale(lang):
    from swa_demo.ui.fullscale import fullscale_view

    fullscale_view(lang)


def _small_curves(monkeypatch):
    from swa_demo import bench

    real = bench.cpu_curves
    monkeypatch.setattr(bench, "cpu_curves", lambda progress=None: real((1024, 4096), steps=2, repeats=2,
                                                                          progress=progress))


@pytest.mark.parametrize("lang,label", [("zh", "记录的"), ("en", "recorded")])
def test_view_shows_recorded_results_without_a_gpu(lang, label, monkeypatch):
    _small_curves(monkeypatch)
    monkeypatch.setattr("os.getloadavg", lambda: (0.1, 0.1, 0.1))
    at = AppTest.from_function(_fullscale, args=(lang,), default_timeout=60).run()
    assert not at.exception and not at.warning
    assert any(label in plain(i.value) for i in at.info)
    assert gf.tr(lang, "mt_head") in [h.value for h in at.subheader]  # the million-token comparison
    assert million.TP_COMMAND in [c.value for c in at.code]  # ... with the two-GPU run still to do
    at.button(key="fs_cpu_run").click().run()  # measure the medium preset live on this CPU
    assert not at.exception and at.success and len(at.get("plotly_chart")) == 6


def test_a_busy_machine_is_said_before_and_after_measuring(monkeypatch):
    _small_curves(monkeypatch)
    monkeypatch.setattr("os.getloadavg", lambda: (7.5, 5.0, 3.0))
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    at = AppTest.from_function(_fullscale, args=("en",), default_timeout=60).run()
    assert any("load average of 7.5 on 2 CPU cores" in plain(w.value) for w in at.warning)
    at.button(key="fs_cpu_run").click().run()
    assert any("busy while measuring" in plain(w.value) for w in at.warning)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_summary_table_sets_every_target_beside_the_recorded_figure(lang):
    """What a reader sees in the summary table: the recorded runs' figures, not constants."""
    data = gf.load_recorded()
    compiled = [r for r in data["decode"] if r["kind"] == gf.SLIDING and r["batch"] == 1 and r.get("compile")]
    fastest = min(r["ms_per_token"] for r in compiled)
    at = AppTest.from_function(_fullscale, args=(lang,), default_timeout=60).run()
    table = at.table[0].value
    assert table.iloc[0, 1].startswith(f"{fastest:.2f}") and "ms/token" in table.iloc[0, 1]
    assert "≥ 400" in list(table.iloc[:, 2]) and len(table) >= 8
    slowest = max(r["ms_per_token"] for r in compiled)
    assert f"{fastest:.2f}–{slowest:.2f}" in table.iloc[0, 1]  # lowest and highest of the recorded steps


def test_a_ratio_in_the_summary_takes_both_rows_from_one_run():
    """128k against 8k prefill: the newest file holding both, not 8k from one run and 128k from another."""
    import json

    from swa_demo.ui.fullscale import _summary_rows

    rows = {r["what"]: r["measured"] for r in _summary_rows(gf.load_recorded(), "en")}
    run = json.loads((gf.BENCH_DIR / "h100_kernel_prefill.json").read_text())["prefill"]
    tok = {r["tokens"]: r["tok_s"] for r in run if r["kind"] == gf.SLIDING and not r.get("chunk")}
    assert rows["prefill tokens/s, 128k vs 8k (sliding)"].startswith(f"{tok[131072]:.0f} / {tok[8192]:.0f} (")


def test_span_and_median_by_on_hand_made_rows():
    from swa_demo.ui.fullscale import _span

    assert _span([6.224, 6.47], ".2f") == "6.22–6.47" and _span([3.0, 3.001], ".1f") == "3.0"
    assert gf.median_by([{"c": 1, "y": 5}, {"c": 1, "y": 7}, {"c": 2, "y": 1}], "c", "y") == [(1, 6), (2, 1)]


def test_live_gpu_panel_runs_the_chosen_row_and_explains_failures(monkeypatch):
    """With CUDA present the tab times the chosen row. The benchmark itself needs a GPU (`bench gpu`
    checks it there); here it is replaced, so the panel's wiring and its error messages are tested."""
    import torch

    from swa_demo import bench_gpu
    from swa_demo.ui import fullscale

    calls = []

    def fake_decode(model, kind, batch, context, steps, compile_mode, real_prefill, backend, copy_tbps):
        calls.append((kind, batch, context, compile_mode, backend, copy_tbps))
        if batch > 100:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        if compile_mode:
            raise RuntimeError("triton compilation failed")
        return {"ms_per_token": 6.5, "tok_s": 153.8, "roofline_ms": 5.3, "frac_of_roofline": 5.3 / 6.5}

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(bench_gpu, "bench_decode", fake_decode)
    monkeypatch.setattr(bench_gpu, "ceilings", lambda: {"copy_TBps": 2.85})
    monkeypatch.setattr(fullscale, "_gpu_model", lambda layers: object())

    def page():
        from swa_demo.ui.fullscale import fullscale_view

        fullscale_view("en")

    at = AppTest.from_function(page, default_timeout=60).run()
    assert not at.exception and not at.info  # live, so nothing is labelled "recorded"
    at.selectbox[0].set_value("gemma3").run()
    at.button[0].click().run()
    assert calls[-1] == ("gemma3", 1, 32768, None, "splitkv", 2.85)  # the roofline at the measured rate
    assert [m.value for m in at.metric] == ["6.50 ms", "154", "82%"]
    at.number_input[0].set_value(200).run()
    at.button[0].click().run()
    assert not at.exception and "Out of GPU memory" in at.error[0].value
    at.number_input[0].set_value(1).run()
    at.checkbox[0].check().run()
    at.button[0].click().run()
    assert not at.exception and "without compiling first" in at.error[0].value
