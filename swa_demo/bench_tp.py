"""Tensor-parallel benchmark: Mistral-7B's shape on N GPUs against one, out to a million tokens.

    torchrun --nproc-per-node 2 -m swa_demo bench gpu --plan tp --json assets/bench/h200x2_tp.json
    torchrun --nproc-per-node 2 -m swa_demo bench gpu --plan tp-prefill \
        --json assets/bench/h200x2_tp_prefill.json
    torchrun --nproc-per-node 2 -m swa_demo bench gpu --plan tp-cpu --json /tmp/tp_cpu.json   # toy, CPU

Every rank builds the same random weights from one seed. Rank 0 first runs the TP = 1 rows on the
whole model while the other ranks wait; then every rank keeps its shard (`parallel.shard`) and the
TP = N rows run, so one launch gives both, on the same kind of GPU. Started without torchrun, only the
TP = 1 rows run (a one-GPU machine's figures from the same code).

Parts (rows of a `Plan`; JSON with the command, device and date, written after every row):
- logits: one random sequence, teacher-forced, through TP = 1 and TP = N on a hybrid stack (1 sliding :
  1 full, the prompt longer than W): prefill, then decode steps through the graphed decode path;
  relative error ||tp - one|| / ||one|| and the share of positions whose greedy token agrees.
- decode: ms per token at batch 1 after a prefill of the last W tokens at their true positions (a
  sliding layer reads no older key, and a full layer's decode reads its whole preallocated cache either
  way, so the step costs what it would after a full prefill); cache bytes and peak memory per GPU.
- prefill: a chunked prefill from position 0: seconds (compilation excluded, and reported beside) and
  peak memory per GPU. A row with `fallback` sizes measures those first and fits
  t(n) = a n + b n^2 (seconds) and m(n) = c + d n (peak memory) through them; the full size runs only
  if the fit says it ends before the plan's deadline, else the row reports the fit's values at that
  size, marked `"extrapolated": true`.

On the CPU (`tp-cpu`: toy sizes, gloo) every part runs: decode is eager (CUDA graphs and torch.compile
are GPU-only) and peak memory is not measured (it is the GPU allocator's figure); the JSON says so.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from . import parallel
from .config import FULL, SLIDING, ConfigError, ModelConfig, mistral_7b, pattern
from .costs import KI  # 1024 tokens: "128k" = 131072, as the other benchmarks count
from .generate import GraphedDecode, decode_one_token, make_caches, prefill
from .model import build


@dataclass(frozen=True)
class DecodeRow:
    kind: str  # every layer's kind: SLIDING or FULL
    context: int  # tokens before the timed steps
    tp: int  # 1: rank 0 alone on the whole model; 0: every rank on its shard (TP = the world size)
    compile: str | None = "default"  # torch.compile mode of the CUDA-graphed step (GPU only)


@dataclass(frozen=True)
class PrefillRow:
    kind: str
    tokens: int
    chunk: int
    tp: int  # as in DecodeRow
    fallback: tuple[int, int] | None = None  # sizes to measure and extrapolate from (see the docstring)


@dataclass(frozen=True)
class Plan:
    device: str  # "cuda" (NCCL) or "cpu" (gloo)
    shape: str  # "mistral-7b" or "toy"
    sizes: dict[str, int]  # the contexts the rows use, by name (a toy plan shrinks them)
    logits: tuple[int, int] | None = None  # (prompt tokens, decode steps) of the logits comparison
    decode: tuple[DecodeRow, ...] = ()
    prefill: tuple[PrefillRow, ...] = ()
    steps: int = 24  # timed decode steps per row (the first 2 are dropped)
    deadline_s: float = 540.0  # no row starts later than this after launch (a device command has 10 min)
    notes: tuple[str, ...] = field(default_factory=tuple)


def _plans() -> dict[str, Plan]:
    gpu = {"4k": 4 * KI, "128k": 128 * KI, "1M": KI * KI}
    toy = {"4k": 64, "128k": 256, "1M": 1024}

    def decode_rows(s):  # issue 14: TP = N vs 1 at 4k and 128k (sliding); 1M: full on N, sliding on 1
        return (*(DecodeRow(SLIDING, s[n], 1) for n in ("4k", "128k", "1M")),
                DecodeRow(FULL, s["1M"], 1),  # 128 GiB of cache: the row that does not fit one GPU
                *(DecodeRow(SLIDING, s[n], 0) for n in ("4k", "128k")), DecodeRow(FULL, s["1M"], 0))

    def prefill_rows(s, chunk):
        return (PrefillRow(SLIDING, s["1M"], chunk, 1),
                PrefillRow(FULL, s["1M"], chunk, 0, fallback=(s["1M"] // 8, s["1M"] // 4)))

    return {
        "tp": Plan("cuda", "mistral-7b", gpu, logits=(5000, 8), decode=decode_rows(gpu)),
        "tp-prefill": Plan("cuda", "mistral-7b", gpu, prefill=prefill_rows(gpu, 64 * KI)),
        "tp-cpu": Plan("cpu", "toy", toy, logits=(40, 8), decode=decode_rows(toy),
                       prefill=prefill_rows(toy, 128), steps=8, deadline_s=600.0,
                       notes=("CPU: eager decode, no CUDA graph or torch.compile; peak memory not measured "
                              "(a GPU allocator figure); toy sizes stand for 4k / 128k / 1M",)),
    }


PLANS = _plans()


def plan_config(plan: Plan, layers: int | None) -> ModelConfig:
    if plan.shape == "mistral-7b":
        return mistral_7b(n_layers=layers or 32, device="cuda")
    n = layers or 2
    return ModelConfig(vocab_size=256, d_model=64, n_heads=4, n_kv_heads=2, n_layers=n,
                       layer_types=[SLIDING] * n, sliding_window=16, d_ff=128, ffn="swiglu",
                       norm="rmsnorm", dtype="float32", device="cpu")


# ---- measuring -----------------------------------------------------------------------------------

def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _start_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def _peak_gb(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated() / 1e9 if device.type == "cuda" else None


def _prefill_backend(device: torch.device) -> str:
    return "flex" if device.type == "cuda" else "sdpa"


def _tokens(n: int, vocab: int, seed: int, device) -> torch.Tensor:
    """(1, n) random ids from a CPU generator: the same on every rank, whatever each has run before."""
    return torch.randint(0, vocab, (1, n), generator=torch.Generator().manual_seed(seed)).to(device)


def _compile_seconds() -> float | None:
    """Seconds torch.compile has spent so far in this process (dynamo's own record); None if unknown."""
    try:
        from torch._dynamo.utils import compilation_time_metrics
    except ImportError:
        return None
    return sum(compilation_time_metrics.get("_compile.compile_inner", []))


def _weights_bytes(model) -> int:
    return sum(p.numel() * p.element_size() for p in model.parameters())


@torch.no_grad()
def sequence_logits(model, kinds: list[str], prompt: int, steps: int, device) -> torch.Tensor:
    """Logits (steps + 1, V), float32 on the CPU, of one teacher-forced random sequence: the prefill's
    last, then each graphed (GPU) or eager (CPU) decode step's."""
    cfg = model.cfg
    seq = _tokens(prompt + steps, cfg.vocab_size, 1, device)
    caches = make_caches(model, 1, "ring", capacity=prompt + steps + 1, layer_types=kinds)
    pos = torch.arange(prompt, device=device)[None]
    out = [prefill(model, seq[:, :prompt], pos, caches, backend=_prefill_backend(device))[0]]
    at = lambda t: torch.full((1, 1), t, device=device)  # noqa: E731
    step = (GraphedDecode(model, caches, seq[:, prompt:prompt + 1], at(prompt), backend="splitkv")
            if device.type == "cuda" else None)
    for t in range(prompt, prompt + steps):
        tok = seq[:, t:t + 1]
        logits = step(tok, at(t)) if step else decode_one_token(model, tok, at(t), caches, backend="splitkv")
        out.append(logits[0].clone())
    return torch.stack(out).float().cpu()


@torch.no_grad()
def time_decode(model, row: DecodeRow, steps: int, device) -> dict:
    """Median ms per decode step (batch 1) with `row.context` tokens before it; cache and peak memory."""
    cfg = model.cfg
    kinds = [row.kind] * cfg.n_layers
    _start_peak(device)
    caches = make_caches(model, 1, "ring", capacity=row.context + steps + 1, layer_types=kinds)
    first = max(0, row.context - cfg.sliding_window)
    pos = torch.arange(first, row.context, device=device)[None]
    logits = prefill(model, _tokens(pos.shape[1], cfg.vocab_size, 2, device), pos, caches,
                     backend=_prefill_backend(device))
    nxt = logits.argmax(-1, keepdim=True)  # the same on every rank: the LM head is replicated
    p = torch.full((1, 1), row.context, device=device)
    out = {"cache_bytes": sum(c.nbytes() for c in caches), "prefilled_tokens": row.context - first}
    times = []
    if device.type == "cuda":
        t0 = time.perf_counter()
        step = GraphedDecode(model, caches, nxt, p, compile=row.compile, backend="splitkv")
        out["capture_s"] = round(time.perf_counter() - t0, 1)
        for i in range(steps):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            nxt = step(nxt, p + i).argmax(-1, keepdim=True)
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
    else:
        for i in range(steps):
            t0 = time.perf_counter()
            nxt = decode_one_token(model, nxt, p + i, caches, backend="splitkv").argmax(-1, keepdim=True)
            times.append((time.perf_counter() - t0) * 1e3)
    out["ms_per_token"] = statistics.median(times[2:])
    out["peak_GB"] = _peak_gb(device)
    return out


@torch.no_grad()
def time_prefill(model, kind: str, n: int, chunk: int, device) -> dict:
    """One chunked prefill of `n` tokens from position 0: seconds without compilation, peak memory."""
    cfg = model.cfg
    kinds = [kind] * cfg.n_layers
    tok = _tokens(n, cfg.vocab_size, 3, device)
    pos = torch.arange(n, device=device)[None]
    _start_peak(device)
    caches = make_caches(model, 1, "ring", capacity=n, layer_types=kinds)
    compiled_before = _compile_seconds()
    _sync(device)
    t0 = time.perf_counter()
    prefill(model, tok, pos, caches, chunk, backend=_prefill_backend(device))
    _sync(device)
    wall = time.perf_counter() - t0
    compiled = None if compiled_before is None else _compile_seconds() - compiled_before
    return {"tokens": n, "chunk": chunk, "wall_s": wall, "compile_s": compiled,
            "seconds": wall - (compiled or 0.0), "peak_GB": _peak_gb(device),
            "cache_bytes": sum(c.nbytes() for c in caches)}


FORMULA = ("t(n) = a n + b n^2 through the two measured sizes (seconds, compilation excluded); "
           "peak(n) = c + d n through the same two (GB per GPU)")


def extrapolate(points: list[dict], n: int) -> dict:
    """The fits of FORMULA through two measured prefills, evaluated at `n` tokens."""
    (n1, t1), (n2, t2) = [(p["tokens"], p["seconds"]) for p in points]
    b = (t2 / n2 - t1 / n1) / (n2 - n1)  # t/n = a + b n is a line in n
    a = t1 / n1 - b * n1
    out = {"seconds": a * n + b * n * n, "a": a, "b": b}
    peaks = [p["peak_GB"] for p in points]
    if None not in peaks:
        d = (peaks[1] - peaks[0]) / (n2 - n1)
        out["peak_GB"] = peaks[0] + d * (n - n1)
    return out


# ---- the run ---------------------------------------------------------------------------------------

class Report:
    """The result dict; rank 0 prints each row and rewrites the JSON after it (a crash keeps the rest)."""

    def __init__(self, out: Path, result: dict, lead: bool):
        self.out, self.result, self.lead = out, result, lead

    def say(self, text: str) -> None:
        if self.lead:
            print(text, flush=True)

    def add(self, part: str, row: dict) -> None:
        self.result.setdefault(part, []).append(row)
        self.save()

    def save(self) -> None:
        if self.lead:
            self.out.write_text(json.dumps(self.result, indent=1))


def environment(tp: parallel.TP, device: torch.device) -> dict:
    date = os.environ.get("BENCH_DATE") or datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    launcher = (f"torchrun --nproc-per-node {tp.world} -m swa_demo" if "TORCHELASTIC_RUN_ID" in os.environ
                else "python -m swa_demo")
    memory = None
    if device.type == "cuda":
        name = f"{tp.world} x {torch.cuda.get_device_name()}"
        memory = torch.cuda.get_device_properties(device).total_memory  # what fits: the page draws it
    else:
        name = (f"CPU ({platform.processor() or platform.machine()}), {tp.world} gloo processes of "
                f"{torch.get_num_threads()} threads")
    return {"device": name, "world_size": tp.world, "gpu_memory_bytes": memory, "torch": torch.__version__,
            "date": date, "command": " ".join([launcher, *sys.argv[1:]]), "host": platform.node()}


def run(name: str, out: Path, layers: int | None = None) -> dict:
    """Run plan `name` on every rank of this launch; rank 0 writes `out`."""
    plan = PLANS[name]
    if plan.device == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"--plan {name} needs CUDA GPUs; --plan tp-cpu runs the same code on the CPU "
                          "at toy sizes")
    started = time.monotonic()
    tp = parallel.init_from_env(plan.device)
    try:
        return _run(plan, name, out, layers, tp, started)
    finally:
        parallel.finish(tp)


def _run(plan: Plan, name: str, out: Path, layers: int | None, tp: parallel.TP, started: float) -> dict:
    device = tp.device
    torch.manual_seed(0)
    if device.type == "cuda":
        from .attention import compile_flex

        compile_flex()
    cfg = plan_config(plan, layers)
    model = build(cfg, seed=0)  # the same weights on every rank
    result = {**environment(tp, device), "plan_name": name, "plan": asdict(plan), "sizes": plan.sizes,
              "notes": list(plan.notes)}
    report = Report(out, result, tp.lead)
    logit_kinds = pattern("gemma2", cfg.n_layers)

    def late() -> bool:
        return time.monotonic() - started > plan.deadline_s

    # TP = 1: rank 0 alone on the whole model, the other ranks wait.
    reference = None
    if tp.lead:
        result["weights_bytes_tp1"] = _weights_bytes(model)
        if plan.logits:
            reference = sequence_logits(model, logit_kinds, *plan.logits, device)
        for row in (r for r in plan.decode if r.tp == 1):
            report.add("decode", _decode_row(model, row, plan, None, late, report, device))
        for row in (r for r in plan.prefill if r.tp == 1):
            report.add("prefill", _prefill_row(model, row, plan, None, late, started, report, device))
    tp.barrier()
    if tp.world == 1:
        result["notes"].append("a world of one (no torchrun): only the TP = 1 rows ran")
        report.save()
        return result

    # TP = N: every rank on its shard.
    parallel.shard(model, tp)
    result["weights_bytes_per_rank"] = tp.gather(_weights_bytes(model))
    if plan.logits:
        got = sequence_logits(model, logit_kinds, *plan.logits, device)
        if tp.lead:
            diff = (got - reference).norm() / reference.norm()
            agree = (got.argmax(-1) == reference.argmax(-1)).float().mean()
            result["logits"] = {"dtype": cfg.dtype, "layer_types": "gemma2", "window": cfg.sliding_window,
                                "prompt": plan.logits[0], "decode_steps": plan.logits[1], "tp": tp.world,
                                "rel_err": diff.item(), "max_abs_err": (got - reference).abs().max().item(),
                                "argmax_agree": agree.item(), "positions": got.shape[0]}
            report.say(f"logits TP={tp.world} vs TP=1 ({cfg.dtype}): relative error {diff.item():.2e}, "
                       f"greedy tokens agree at {agree.item():.0%} of {got.shape[0]} positions")
            report.save()
    for row in (r for r in plan.decode if r.tp == 0):
        report.add("decode", _decode_row(model, row, plan, tp, late, report, device))
    for row in (r for r in plan.prefill if r.tp == 0):
        report.add("prefill", _prefill_row(model, row, plan, tp, late, started, report, device))
    return result


# A row's ranks: None when rank 0 runs it alone on the whole model, else every rank of `tp` on its shard.
# Decisions (skip a row, run the full size) are rank 0's, shared, so that every rank takes the same path.

def _size(ranks: parallel.TP | None) -> int:
    return 1 if ranks is None else ranks.world


def _agree(ranks: parallel.TP | None, value):
    return value if ranks is None else ranks.share(value)


def _gather(ranks: parallel.TP | None, value) -> list:
    return [value] if ranks is None else ranks.gather(value)


def _attempt(ranks: parallel.TP | None, fn):
    """(fn(), None), or (None, what went wrong) when it failed on rank 0 alone or on every rank alike
    (a row that fails is a finding, and the next rows still run). If only some ranks failed, the
    others may be waiting inside a collective: the launch ends instead."""
    try:
        value, failure = fn(), None
    except Exception as err:  # out of memory, a kernel that fails to compile, ...
        value = None
        kind = "out of memory" if isinstance(err, torch.OutOfMemoryError) else type(err).__name__
        failure = f"{kind}: {(str(err).strip().splitlines() or [''])[0][:200]}"
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    failures = _gather(ranks, failure)
    if all(f is None for f in failures):
        return value, None
    if all(f is not None for f in failures):
        return None, failures[0]
    raise RuntimeError(f"some ranks failed and others did not: {failures}")


def _decode_row(model, row: DecodeRow, plan: Plan, ranks, late, report, device) -> dict:
    head = {"kind": row.kind, "context": row.context, "tp": _size(ranks),
            "compile": row.compile if device.type == "cuda" else "eager (CPU)"}
    what = f"decode {row.kind:<17} ctx {row.context:>8}"
    if _agree(ranks, late()):
        report.say(f"{what} TP={_size(ranks)}: skipped, past the deadline")
        return {**head, "skipped": f"past the plan's deadline of {plan.deadline_s:.0f} s"}
    r, failure = _attempt(ranks, lambda: time_decode(model, row, plan.steps, device))
    if failure:
        report.say(f"{what} TP={_size(ranks)}: {failure}")
        return {**head, "error": failure}
    per_rank = _gather(ranks, {k: r[k] for k in ("ms_per_token", "cache_bytes", "peak_GB")})
    report.say(f"{what} TP={_size(ranks)}: {r['ms_per_token']:8.3f} ms/token, "
               f"cache {r['cache_bytes'] / 1e9:.3f} GB per GPU")
    return {**head, "ms_per_token": r["ms_per_token"], "tok_s": 1e3 / r["ms_per_token"],
            "ms_per_token_per_rank": [p["ms_per_token"] for p in per_rank],
            "cache_bytes_per_rank": [p["cache_bytes"] for p in per_rank],
            "peak_GB_per_rank": [p["peak_GB"] for p in per_rank],
            "prefilled_tokens": r["prefilled_tokens"], "capture_s": r.get("capture_s")}


def _prefill_row(model, row: PrefillRow, plan: Plan, ranks, late, started, report, device) -> dict:
    head = {"kind": row.kind, "tokens": row.tokens, "chunk": row.chunk, "tp": _size(ranks)}
    what = f"prefill {row.kind:<17} {row.tokens:>8} tokens"
    if _agree(ranks, late()):
        report.say(f"{what} TP={_size(ranks)}: skipped, past the deadline")
        return {**head, "skipped": f"past the plan's deadline of {plan.deadline_s:.0f} s"}

    def attempt(n: int) -> dict:
        r, failure = _attempt(ranks, lambda: time_prefill(model, row.kind, n, row.chunk, device))
        if failure:
            report.say(f"prefill {row.kind} {n} tokens TP={_size(ranks)}: {failure}")
            return {"tokens": n, "error": failure}
        r["peak_GB_per_rank"] = _gather(ranks, r.pop("peak_GB"))
        r["cache_bytes_per_rank"] = _gather(ranks, r.pop("cache_bytes"))
        r["peak_GB"] = None if None in r["peak_GB_per_rank"] else max(r["peak_GB_per_rank"])
        report.say(f"prefill {row.kind:<17} {n:>8} tokens chunk {row.chunk} TP={_size(ranks)}: "
                   f"{r['seconds']:8.2f} s (+ {r['compile_s'] or 0:.1f} s compiling), peak "
                   + (f"{r['peak_GB']:.1f} GB per GPU" if r["peak_GB"] is not None else "not measured"))
        return r

    if row.fallback is None:
        return {**head, **attempt(row.tokens), "extrapolated": False}
    points = [attempt(n) for n in row.fallback]
    if any("error" in p for p in points):
        return {**head, "error": "a fallback size failed", "fallback_points": points}
    fit = extrapolate(points, row.tokens)
    # Compilation is left out of the fit but not out of the clock: count the fallback's per chunk.
    compile_per_chunk = (points[1]["compile_s"] or 0.0) / -(-points[1]["tokens"] // row.chunk)
    expected_wall = fit["seconds"] + compile_per_chunk * -(-row.tokens // row.chunk)
    left = plan.deadline_s - (time.monotonic() - started)
    if _agree(ranks, expected_wall < 0.9 * left):
        return {**head, **attempt(row.tokens), "extrapolated": False, "predicted": fit, "formula": FORMULA,
                "fallback_points": points}
    why = f"expected {expected_wall:.0f} s with compilation, {left:.0f} s left before the deadline"
    report.say(f"{what} TP={_size(ranks)}: {fit['seconds']:.1f} s extrapolated ({why})")
    return {**head, "seconds": fit["seconds"], "peak_GB": fit.get("peak_GB"), "extrapolated": True,
            "formula": FORMULA, "fit": fit, "fallback_points": points, "why": why}
