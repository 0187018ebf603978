"""The GPU benchmark's plans and bookkeeping, without a GPU: each plan is what its recorded H100 run ran,
the figures derived from the cost model are the recorded ones, and a run reports every part once, in
print and in its JSON."""

import json

import pytest
import torch

from swa_demo import bench_gpu, bench_runs
from swa_demo.bench_runs import PLANS, DecodeCase, Plan, PrefillCase
from swa_demo.config import FULL, SLIDING, mistral_7b
from swa_demo.paths import ASSETS

RECORDED = {"kernel-sweep": "h100_kernel_sweep", "kernel-prefill": "h100_kernel_prefill",
            "hybrid": "h100_hybrid", "compiled-rest": "h100_compiled_rest",
            "transformers": "h100_transformers", "smoke": "explore/h100_smoke"}


def recorded(plan: str) -> dict:
    return json.loads((ASSETS / "bench" / f"{RECORDED[plan]}.json").read_text())


@pytest.mark.parametrize("name", list(RECORDED))
def test_each_plan_has_the_rows_its_recorded_run_measured(name):
    data, plan = recorded(name), PLANS[name]
    assert f"--plan {name}" in data["command"]
    assert [(r["kind"], r["batch"], r["context"], r["compile"], r.get("backend", "splitkv"), "kernels" in r)
            for r in data.get("decode", [])] == [
        (c.kind, c.batch, c.context, c.compile, c.backend, c.profile) for c in plan.decode]
    assert [(r["kind"], r["tokens"], r["chunk"]) for r in data.get("prefill", [])] == [
        (c.kind, c.tokens, c.chunk) for c in plan.prefill]
    assert bool(data.get("checks")) == plan.check
    assert sorted({r["tokens"] for r in data.get("linears", [])}) == sorted(plan.linears)
    assert [r["context"] for r in data.get("transformers") or []] == list(plan.transformers or [])


def test_a_case_needs_only_what_differs_from_the_defaults():
    case = DecodeCase(SLIDING, 1, 4096)
    assert (case.compile, case.real_prefill, case.backend, case.profile) == (None, False, "splitkv", False)
    assert PrefillCase(FULL, 8192).chunk is None and Plan().parts == 1  # the ceilings alone


def _weights_of(params: int):
    """A stand-in for the 7B model: its config and bf16 weights of the recorded size, on no device."""
    class Model:
        cfg = mistral_7b(device="cpu")

        def parameters(self):
            return [torch.empty(params, dtype=torch.bfloat16, device="meta")]

    return Model()


@pytest.mark.parametrize("name", ["kernel-sweep", "hybrid", "compiled-rest", "smoke"])
def test_the_roofline_from_the_cost_model_is_the_recorded_one(name):
    data = recorded(name)
    model = _weights_of(data["params"])
    for r in data["decode"]:
        got = bench_gpu.roofline_ms(model, r["kind"], r["batch"], r["context"], data["copy_TBps"])
        assert got == pytest.approx(r["roofline_ms"], rel=1e-12), r


def test_the_roofline_worked_by_hand():
    """kernel-sweep's first row: every weight and the 4,096-entry cache read once, at the copy rate."""
    data = recorded("kernel-sweep")
    r = data["decode"][0]
    assert (r["kind"], r["batch"], r["context"]) == ("sliding_attention", 1, 4096)
    weights = 14_483_464_192  # bf16 Mistral-7B with its norms, as the run's model holds it
    cache = 32 * 2 * 4096 * 8 * 128 * 2
    assert r["roofline_ms"] == pytest.approx((weights + cache) / (data["copy_TBps"] * 1e12) * 1e3, rel=1e-3)


@pytest.mark.parametrize("name", ["kernel-prefill", "hybrid"])
def test_useful_attention_flops_from_the_cost_model_are_the_recorded_ones(name):
    cfg = mistral_7b(device="cpu")
    for r in recorded(name)["prefill"]:
        if "attn_TFLOPs" in r:
            flops = bench_gpu.attention_flops(cfg, r["kind"], r["tokens"])
            assert flops == pytest.approx(r["attn_TFLOPs"] * r["attn_layer_ms"] * 1e9, rel=1e-9), r


def test_a_run_reports_each_part_once_printed_and_saved(monkeypatch, tmp_path):
    """The smoke plan with the GPU work replaced: every part prints, lands in the JSON under the keys the
    page reads, and moves the progress bar once."""
    monkeypatch.setattr(bench_gpu, "require_cuda", lambda: None)
    monkeypatch.setattr(bench_gpu, "environment", lambda command: {"device": "test", "command": command})
    monkeypatch.setattr(bench_gpu, "ceilings", lambda: {"copy_TBps": 2.85, "bf16_mm_TFLOPs": 660.0})
    monkeypatch.setattr(bench_runs, "compile_flex", lambda: None)
    monkeypatch.setattr(bench_gpu, "check_fast_paths", lambda: [
        {"check": "float32 sdpa", "trial": 0, "max_abs_err": 1e-6, "rel_err": 1e-7, "ok": True}])
    monkeypatch.setattr(bench_runs, "build", lambda cfg, seed: torch.nn.Linear(2, 2))
    monkeypatch.setattr(bench_gpu, "bench_decode", lambda model, kind, batch, context, *a, **kw: {
        "kind": kind, "batch": batch, "context": context, "ms_per_token": 6.2, "eager_ms": 30.0,
        "tok_s": 161.0, "frac_of_roofline": 0.85, "cache_bytes": 5e8, "capture_s": 9.0, "roofline_ms": 5.27})

    def no_memory(*args):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")

    monkeypatch.setattr(bench_gpu, "bench_prefill", no_memory)
    lines, steps = [], []
    out = tmp_path / "smoke.json"
    result = bench_runs.run(PLANS["smoke"], out, log=lines.append, advance=lambda: steps.append(1))
    assert len(steps) == PLANS["smoke"].parts == 4
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    assert {"copy_TBps", "bf16_mm_TFLOPs", "checks", "params", "decode", "prefill", "plan"} <= set(result)
    assert result["plan"]["decode"][0] == {"kind": SLIDING, "batch": 1, "context": 4096, "compile": "default",
                                           "real_prefill": False, "backend": "splitkv", "profile": True}
    assert result["decode"][0]["ms_per_token"] == 6.2 and "out of memory" in result["prefill"][0]["error"]
    assert lines[0].startswith("ceilings: copy 2.85 TB/s") and "6.20 ms/token" in lines[2]
    assert "out of memory" in lines[-1]
