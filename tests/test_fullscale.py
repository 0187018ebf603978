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
