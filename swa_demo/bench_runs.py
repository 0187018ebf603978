"""The GPU benchmark's plans, and how a run goes: `PLANS` names the cases each run measures (small
dataclasses with defaults), `run` does the parts in order with the measurements of `bench_gpu`, and
`Report` is the one way a part's figures go out: printed as measured, and the JSON rewritten after each
part (a crash keeps the rest). The JSON's fields are the ones `ui/gpu_figures.py` reads.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from . import bench_gpu as gpu
from .attention import compile_flex
from .config import FULL, SLIDING, mistral_7b
from .costs import KI
from .model import build


@dataclass(frozen=True)
class DecodeCase:
    """One decode row (`bench_gpu.bench_decode`)."""

    kind: str  # every layer's kind (sliding_attention, full_attention) or a hybrid family (gemma2, gemma3)
    batch: int
    context: int
    compile: str | None = None  # a torch.compile mode for the step; None: the CUDA graph alone
    real_prefill: bool = False  # prefill the whole context, not only the last W tokens
    backend: str = "splitkv"  # the decode attention backend
    profile: bool = False  # add the per-kernel breakdown of one step


@dataclass(frozen=True)
class PrefillCase:
    """One prefill row (`bench_gpu.bench_prefill`)."""

    kind: str
    tokens: int
    chunk: int | None = None  # prefill this many tokens at a time; None: in one pass


@dataclass(frozen=True)
class Plan:
    """The parts of a benchmark run; `run` does them in this order."""

    check: bool = False  # the fast paths against the eager dense-mask reference first
    # transformers' generate at these contexts, after its logits on the same weights are compared with
    # ours; () compares the logits only; None leaves transformers out
    transformers: tuple[int, ...] | None = None
    linears: tuple[int, ...] = ()  # each projection's rate at these token counts
    decode: tuple[DecodeCase, ...] = ()
    prefill: tuple[PrefillCase, ...] = ()
    layers: int = 32  # decoder layers of the 7B shape
    steps: int = 24  # timed decode steps per row

    @property
    def parts(self) -> int:
        """Steps of progress `run` reports."""
        return (1 + self.check + 2 * (self.transformers is not None) + bool(self.linears)
                + len(self.decode) + len(self.prefill))


def _print(line: str) -> None:
    print(line, flush=True)  # a run's log is often a file: each line as soon as it is measured


class Report:
    """Where a run's figures go, one way for every part: printed as measured, and the JSON rewritten
    after each part (a crash keeps the rest). `log` prints a line, `advance` moves a progress bar."""

    def __init__(self, result: dict, out: Path, log: Callable[[str], None] = _print,
                 advance: Callable[[], None] | None = None):
        self.result, self.out, self.log, self.advance = result, out, log, advance or (lambda: None)

    def fields(self, lines: list[str], **fields) -> None:
        """Top-level fields of the run's JSON (the ceilings, the checks, ...)."""
        self.result.update(fields)
        self._emit(lines)

    def row(self, key: str, row: dict, lines: list[str]) -> None:
        """One more row of a table (`decode`, `prefill`)."""
        self.result.setdefault(key, []).append(row)
        self._emit(lines)

    def _emit(self, lines: list[str]) -> None:
        for line in lines:
            self.log(line)
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.out.write_text(json.dumps(self.result, indent=1))
        self.advance()


def run(plan: Plan, out: Path, log: Callable[[str], None] = _print,
        advance: Callable[[], None] | None = None) -> dict:
    """Run the parts of the benchmark `plan` names, reporting each as it ends (see `Report`)."""
    gpu.require_cuda()
    torch.manual_seed(0)
    result = {**gpu.environment("python -m swa_demo " + " ".join(sys.argv[1:])), "plan": asdict(plan)}
    report = Report(result, out, log, advance)
    ceil = gpu.ceilings()
    report.fields([f"ceilings: copy {ceil['copy_TBps']:.2f} TB/s, bf16 matmul {ceil['bf16_mm_TFLOPs']:.0f} "
                   "TFLOP/s"], **ceil)
    compile_flex()
    if plan.check:
        checks = gpu.check_fast_paths()
        report.fields([_check_line(r) for r in checks], checks=checks)
    if plan.transformers is not None:
        model = _run_transformers(plan, report)
    else:
        model = build(mistral_7b(n_layers=plan.layers), seed=0)
    result["params"] = sum(p.numel() for p in model.parameters())
    result["weights_GB"] = sum(p.numel() * p.element_size() for p in model.parameters()) / 1e9
    if plan.linears:
        rows = [r for n in plan.linears
                for r in gpu.bench_linears(model, n, result["bf16_mm_TFLOPs"], result["copy_TBps"])]
        report.fields([line for r in rows for line in _linear_lines(r)], linears=rows)
    result["decode"] = []
    for case in plan.decode:
        row = _decode_row(model, case, plan.steps, result["copy_TBps"])
        report.row("decode", row, _decode_lines(row, case))
    result["prefill"] = []
    for case in plan.prefill:
        row = _prefill_row(model, case)
        report.row("prefill", row, [_prefill_line(row)])
    return result


def _run_transformers(plan: Plan, report: Report):
    """transformers' model and ours on the same weights: logits compared, then `generate` timed."""
    hf, model = gpu.hf_and_ours(plan.layers)
    interop = gpu.compare_logits(hf, model)
    report.fields([f"same weights, ours vs transformers (bf16): {interop}"], interop_bf16=interop)
    rows = gpu.bench_transformers(hf, list(plan.transformers)) or None
    report.fields([
        f"transformers generate  ctx {r['context']:>6}: {r.get('ms_per_token', 0):7.2f} ms/token "
        f"{r.get('error', '')}" for r in rows or []], transformers=rows)
    del hf
    torch.cuda.empty_cache()
    return model


def _decode_row(model, case: DecodeCase, steps: int, copy_tbps: float) -> dict:
    """One decode case, or the error that stopped it (a path that fails to compile is a finding)."""
    try:
        return gpu.bench_decode(model, case.kind, case.batch, case.context, steps, case.compile,
                            case.real_prefill, case.backend, case.profile, copy_tbps=copy_tbps)
    except torch.cuda.OutOfMemoryError as err:
        torch.cuda.empty_cache()
        return {"kind": case.kind, "batch": case.batch, "context": case.context, "compile": case.compile,
                "error": f"out of memory: {str(err).splitlines()[0][:120]}"}
    except Exception as err:
        return {"kind": case.kind, "batch": case.batch, "context": case.context, "compile": case.compile,
                "backend": case.backend, "error": f"{type(err).__name__}: {str(err).splitlines()[0][:300]}"}


def _prefill_row(model, case: PrefillCase) -> dict:
    try:
        return gpu.bench_prefill(model, case.kind, case.tokens, case.chunk)
    except torch.cuda.OutOfMemoryError as err:
        torch.cuda.empty_cache()
        return {"kind": case.kind, "tokens": case.tokens, "chunk": case.chunk,
                "error": f"out of memory: {err}"[:160]}


# ---- how each row reads -------------------------------------------------------------------------

def _check_line(r: dict) -> str:
    return (f"check {r['check']:<62} trial {r['trial']} max|err| {r['max_abs_err']:.2e} "
            f"rel {r['rel_err']:.1e} {'ok' if r['ok'] else 'FAIL ' + r.get('error', '')}")


def _linear_lines(r: dict) -> list[str]:
    return [f"linear {r['linear']:<8} {r['tokens']:>6} tokens {path:<6}: {t['us']:8.1f} us, "
            f"{t['GBps']:6.0f} GB/s ({t['frac_of_copy']:.0%} of copy), {t['TFLOPs']:5.0f} "
            f"TFLOP/s ({t['frac_of_matmul']:.0%} of matmul) {t.get('config', '')} "
            f"rel err {t.get('rel_err', float('nan')):.1e}"
            for path in ("cublas", "triton") if (t := r.get(path))]


def _decode_lines(r: dict, case: DecodeCase) -> list[str]:
    lines = [f"decode {case.kind:<7} {case.backend:<7} bs {case.batch:>3} ctx {case.context:>6} "
             f"compile {case.compile}: "
             + (f"{r['ms_per_token']:7.2f} ms/token (eager {r['eager_ms']:.1f}), {r['tok_s']:8.1f} tok/s, "
                f"{r['frac_of_roofline']:.0%} of roofline, cache {r['cache_bytes'] / 1e9:.2f} GB, "
                f"capture {r['capture_s']} s" if "error" not in r else r["error"])]
    if "kernels" in r:
        lines.append(f"  GPU busy {r['kernels']['gpu_us_per_call']:.0f} us in "
                     f"{r['kernels']['launches_per_call']:.0f} launches per step; top:")
        lines += [f"    {t['us_per_call']:8.1f} us {t['launches']:5.0f}x  {t['kernel'][:70]}"
                  for t in r["kernels"]["top"]]
    return lines


def _prefill_line(r: dict) -> str:
    return (f"prefill {r['kind']:<17} {r['tokens']:>6} tokens chunk {r['chunk']}: "
            + (f"{r['ms']:8.1f} ms, {r['tok_s']:8.0f} tok/s, "
               + (f"attention {r['attn_TFLOPs']:.0f} TFLOP/s ({r['attn_layer_ms']:.2f} ms/layer), "
                  if "attn_TFLOPs" in r else "")
               + f"model {r['model_TFLOPs']:.0f} TFLOP/s, peak +{r['peak_extra_GB']:.1f} GB"
               if "error" not in r else r["error"]))


PLANS: dict[str, Plan] = {
    # a few minutes: are the fast paths right, and how far is batch-1 decode from the roofline?
    "smoke": Plan(check=True, decode=(DecodeCase(SLIDING, 1, 4 * KI, compile="default", profile=True),),
                  prefill=(PrefillCase(SLIDING, 8 * KI),)),
    # the engine with its decode kernels, decode side: checks, each projection's rate, sliding decode
    # compiled over 4k..128k (4k again last, to show the spread), the same and full attention in CUDA
    # graphs, and the batch the memory buys at 32k
    "kernel-sweep": Plan(check=True, linears=(1, 8 * KI), decode=(
        DecodeCase(SLIDING, 1, 4 * KI, compile="default", profile=True),
        *(DecodeCase(SLIDING, 1, n, compile="default") for n in (16 * KI, 32 * KI, 128 * KI, 4 * KI)),
        *(DecodeCase(kind, 1, n) for kind in (SLIDING, FULL) for n in (4 * KI, 16 * KI, 32 * KI, 128 * KI)),
        DecodeCase(SLIDING, 64, 32 * KI), DecodeCase(FULL, 14, 32 * KI))),
    # the same engine, prefill side, and transformers on the same weights and inputs
    "kernel-prefill": Plan(transformers=(4 * KI, 16 * KI, 32 * KI), prefill=(
        *(PrefillCase(k, n) for k in (SLIDING, FULL) for n in (8 * KI, 32 * KI, 128 * KI)),
        PrefillCase(SLIDING, 128 * KI, 16 * KI))),
    # hybrid stacks on the same weights (Gemma 2's 1 : 1 and Gemma 3's 5 : 1 sliding : full), with
    # all-sliding and all-full rows at 32k from the same run to compare against
    "hybrid": Plan(decode=(
        *(DecodeCase(fam, 1, n) for fam in ("gemma2", "gemma3") for n in (4 * KI, 32 * KI, 128 * KI)),
        *(DecodeCase(k, 1, 32 * KI) for k in (SLIDING, FULL)),
        DecodeCase("gemma3", 1, 32 * KI, compile="default")),
        prefill=tuple(PrefillCase(fam, n) for fam in ("gemma2", "gemma3") for n in (32 * KI, 128 * KI))),
    # the compiled step where kernel-sweep only has CUDA graphs: full attention at batch 1, and both
    # kinds at the batch the memory buys
    "compiled-rest": Plan(decode=tuple(DecodeCase(k, b, n, compile="default") for k, b, n in (
        (FULL, 1, 32 * KI), (FULL, 1, 128 * KI), (SLIDING, 64, 32 * KI), (FULL, 14, 32 * KI)))),
    # transformers' generate on initialised weights, and the logits comparison
    "transformers": Plan(transformers=(4 * KI, 16 * KI, 32 * KI)),
    # only: our decoder and transformers' on the same weights, logits compared
    "interop": Plan(transformers=()),
}
