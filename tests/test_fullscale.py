"""The full-scale tab without a GPU: recorded H100 results, labelled as such, and live CPU curves."""

import pytest
from streamlit.testing.v1 import AppTest

from swa_demo.bench import cpu_curves
from swa_demo.ui import gpu_figures as gf


def test_recorded_results_carry_device_date_and_command():
    data = gf.load_recorded()
    assert data["runs"], "assets/bench/ must hold the recorded H100 runs"
    for run in data["runs"]:
        assert run["device"].startswith("NVIDIA H100") and run["date"]
        assert "swa_demo bench gpu" in run["command"]
    assert all(c["ok"] for c in data["checks"]) and data["checks"]
    sliding = [r for r in data["decode"] if r["kind"] == gf.SLIDING and r["batch"] == 1]
    assert {r["cache_bytes"] for r in sliding} == {32 * 2 * 4096 * 8 * 128 * 2}  # constant, exact


def test_figures_draw_every_series():
    data = gf.load_recorded()
    for lang in ("zh", "en"):
        assert len(gf.decode_figure(data["decode"], data["transformers"], lang).data) >= 3
        kinds = {r["kind"] for r in data["prefill"] if not r.get("chunk")}
        assert len(gf.prefill_figure(data["prefill"], lang).data) == len(kinds) >= 2
        assert len(gf.batch_figure(data["decode"], lang).data[0].x) >= 2


def test_cpu_curves_flat_for_sliding_growing_for_full():
    rows = cpu_curves(contexts=(1024, 32768), steps=4)
    cache = {(r["kind"], r["context"]): r["cache_bytes"] for r in rows}
    assert cache[(gf.SLIDING, 1024)] == cache[(gf.SLIDING, 32768)]
    assert cache[(gf.FULL, 32768)] > 16 * cache[(gf.FULL, 1024)]


@pytest.mark.parametrize("lang,label", [("zh", "记录的"), ("en", "recorded")])
def test_view_shows_recorded_results_without_a_gpu(lang, label):
    def page(lang):
        from swa_demo.ui.fullscale import fullscale_view

        fullscale_view(lang)

    at = AppTest.from_function(page, args=(lang,), default_timeout=60).run()
    assert not at.exception
    assert any(label in i.value for i in at.info)
    at.button[0].click().run()  # measure the medium preset live on this CPU
    assert not at.exception and at.success


def test_summary_sets_every_target_beside_the_recorded_figure():
    from swa_demo.ui.fullscale import _span, _summary_rows

    assert _span([6.224, 6.47], ".2f") == "6.22–6.47" and _span([3.0, 3.001], ".1f") == "3.0"
    assert gf.median_by([{"c": 1, "y": 5}, {"c": 1, "y": 7}, {"c": 2, "y": 1}], "c", "y") == [(1, 6), (2, 1)]
    data = gf.load_recorded()
    compiled = [r for r in data["decode"] if r["kind"] == gf.SLIDING and r["batch"] == 1 and r.get("compile")]
    fastest = min(r["ms_per_token"] for r in compiled)
    for lang in ("zh", "en"):
        rows = [list(r.values()) for r in _summary_rows(data, lang)]
        assert rows[0][1].startswith(f"{fastest:.2f}")  # the table quotes the recorded runs, not constants
        targets = [r[2] for r in rows]
        assert "≥ 400" in targets and len(rows) >= 8


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
