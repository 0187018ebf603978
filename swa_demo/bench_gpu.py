"""Full-scale GPU benchmark: the classroom engine on a Mistral-7B-shaped model (random bf16 weights).

What it measures, for sliding vs full attention layers (the same weights; the caches say which
layers slide, see `generate.make_caches`):
- decode time per token at batch 1 and a large batch, context 4k..128k (CUDA graph, optionally
  compiled first), against the memory roofline: weights + the KV read per token, at the measured copy rate;
- prefill time, tokens/s and attention TFLOP/s of useful work (pairs inside the window) for 8k..128k;
- cache bytes and peak memory; each projection's rate (a weight read at 1 token, a matmul at 8k);
  and transformers' own Mistral on the same weights and inputs.
Before timing anything it checks every fast path against the eager dense-mask reference on the GPU.
A decode row can also carry a per-kernel breakdown of one step (torch.profiler sees inside the graph).
What each run measures is a plan in `bench_runs.py`, which also writes the results to JSON (+ the exact
command, device, torch version and date); `python -m swa_demo bench plots` draws them.
"""

from __future__ import annotations

import copy
import datetime
import os
import statistics
import time

import torch

from . import costs
from .config import FULL, SLIDING, ModelConfig, pattern
from .costs import KI
from .generate import GraphedDecode, decode_one_token, make_caches, prefill, reference_logits
from .model import build


class GpuError(RuntimeError):
    """No GPU, or a size that does not fit: the message says what to do instead."""


def require_cuda() -> None:
    if not torch.cuda.is_available():
        raise GpuError("no CUDA GPU here; the classroom runs on the CPU, and the app's full-scale view "
                       "shows the recorded H100 results (assets/bench/)")


def cuda_ms(fn, iters: int = 20, warmup: int = 3) -> float:
    """Median milliseconds of `fn()` over `iters` runs, timed with CUDA events."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def graph_ms(fn, iters: int = 20) -> float:
    """Median milliseconds of `fn()` captured in a CUDA graph: GPU time without the host's launch cost
    (a Triton kernel costs tens of microseconds to launch from Python, longer than a decode GEMV runs)."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(2):
            fn()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        fn()
    return cuda_ms(graph.replay, iters=iters)


def ceilings() -> dict:
    """The two measured ceilings: device copy bandwidth (read + write) and bf16 matmul rate."""
    src = torch.randn(256 * KI * KI // 2, device="cuda", dtype=torch.bfloat16)  # 256 MiB
    dst = torch.empty_like(src)
    ms = cuda_ms(lambda: dst.copy_(src), iters=30)
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    mm = cuda_ms(lambda: a @ b, iters=50, warmup=100)  # warm: a cold GPU's clocks read 10% low
    return {"copy_TBps": 2 * src.numel() * 2 / ms / 1e9, "bf16_mm_TFLOPs": 2 * 8192 ** 3 / mm / 1e9}


# ---- correctness of the fast paths -------------------------------------------------------------

@torch.no_grad()
def check_fast_paths() -> list[dict]:
    """Every fast path vs the eager dense-mask reference, on fresh random inputs.

    float32 (TF32 off): SDPA prefill, whole and chunked, then CUDA-graphed ring decode through the eager
    and the split-KV attention, max |err| < 1e-4. bfloat16: compiled FlexAttention prefill (it has no
    float32 kernel here), then graphed decode (eager and split-KV, the latter also torch.compiled),
    against the eager reference run in float32 on the same bf16 weights, ||err|| / ||ref|| < 2e-2.
    The stack mixes sliding and full layers, so both cache kinds go through each path.
    """
    tf32 = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False  # the float32 checks compare exact float32 matmuls
    try:
        return _check_fast_paths()
    finally:
        torch.backends.cuda.matmul.allow_tf32 = tf32


def _check_fast_paths() -> list[dict]:
    rows = []
    g = torch.Generator(device="cuda").manual_seed(2)
    for dtype, backend, decode_backend, compile_mode in (
            ("float32", "sdpa", "eager", None), ("float32", "sdpa", "splitkv", None),
            ("bfloat16", "flex", "eager", None), ("bfloat16", "flex", "splitkv", None),
            ("bfloat16", "flex", "splitkv", "default")):
        cfg = ModelConfig(vocab_size=512, d_model=512, n_heads=8, n_kv_heads=2, n_layers=3,
                          layer_types=[SLIDING, FULL, SLIDING], sliding_window=48, d_ff=512,
                          ffn="swiglu", norm="rmsnorm", device="cuda", dtype=dtype)
        model = build(cfg, seed=1)
        reference = copy.deepcopy(model).float()
        cases = [(400, 256, 128), (300, 200, 64), (257, 129, None), (200, 47, 16)]
        label = (f"{dtype} {backend} prefill + graphed {decode_backend} decode"
                 + (f" ({compile_mode} compile)" if compile_mode else ""))
        for trial, (n, prompt_len, chunk) in enumerate(cases[:2] if compile_mode else cases):
            try:
                abs_err, rel_err = _check_once(model, reference, g, n, prompt_len, chunk, backend,
                                               decode_backend, compile_mode)
                ok = abs_err < 1e-4 if dtype == "float32" else rel_err < 2e-2
                row = {"max_abs_err": abs_err, "rel_err": rel_err, "ok": ok}
            except Exception as err:  # a broken fast path is a finding: record it, check the rest
                row = {"max_abs_err": float("nan"), "rel_err": float("nan"), "ok": False,
                       "error": f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"}
            rows.append({"check": label, "trial": trial, "tokens": n, "prompt": prompt_len,
                         "chunk": chunk, **row})
    return rows


def _check_once(model, reference, g, n, prompt_len, chunk, backend, decode_backend, compile_mode):
    """Prefill `prompt_len` tokens, decode to `n` in a CUDA graph; errors against a full recompute."""
    seq = torch.randint(0, model.cfg.vocab_size, (2, n), device="cuda", generator=g)
    ref = reference_logits(reference, seq)  # eager, dense mask, no cache, float32
    caches = make_caches(model, 2, "ring", capacity=n)
    pos = torch.arange(prompt_len, device="cuda").expand(2, -1)
    got = [prefill(model, seq[:, :prompt_len], pos, caches, chunk, backend=backend)]
    step = GraphedDecode(model, caches, seq[:, prompt_len:prompt_len + 1],
                         torch.full((2, 1), prompt_len, device="cuda"), compile=compile_mode,
                         backend=decode_backend)
    for t in range(prompt_len, n - 1):
        got.append(step(seq[:, t:t + 1], torch.full((2, 1), t, device="cuda")).clone())
    got = torch.stack(got, 1).float()  # (2, n - prompt_len, V)
    want = ref[:, prompt_len - 1:n - 1]
    return (got - want).abs().max().item(), ((got - want).norm() / want.norm()).item()


# ---- decode and prefill timings --------------------------------------------------------------

def layer_kinds(kind: str, n_layers: int) -> list[str]:
    """Each layer's kind for a row: all `sliding_attention` or all `full_attention`, or a hybrid
    family's pattern (`gemma2`: 1 sliding : 1 full, `gemma3`: 5 : 1) on the same weights."""
    return [kind] * n_layers if kind in (SLIDING, FULL) else pattern(kind, n_layers)


def roofline_ms(model, kind: str, batch: int, context: int, copy_tbps: float) -> float:
    """Fewest bytes a decode step must read (weights once + each row's KV in reach) over the copy rate.

    The copy rate counts read + write, so reading alone is timed at half the bytes: bytes / (rate / 2)
    would overstate it; we follow the reference and divide the bytes read by the measured rate.
    """
    cfg = model.cfg
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    shape = costs.Shape.from_config(cfg.replace(layer_types=layer_kinds(kind, cfg.n_layers)))
    kv = sum(costs.cache_bytes(shape, context).values()) * batch  # each row's keys and values in reach
    return (weights + kv) / (copy_tbps * 1e12) * 1e3


@torch.no_grad()
def bench_decode(model, kind: str, batch: int, context: int, steps: int, compile_mode: str | None,
                 real_prefill: bool, backend: str = "splitkv", profile: bool = False,
                 copy_tbps: float | None = None) -> dict:
    """Decode time per token with `context` tokens before it.

    `real_prefill`: prefill the whole context first. Otherwise only the last W tokens of it are
    prefilled (at their true positions): a sliding layer never reads older ones, and a full layer's
    decode reads its whole preallocated cache either way, so the step costs the same.
    `copy_tbps` (the measured copy rate) adds the roofline and the share of it the step reaches.
    """
    cfg = model.cfg
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    caches = make_caches(model, batch, "ring", capacity=context + steps + 1,
                         layer_types=layer_kinds(kind, cfg.n_layers))
    first = 0 if real_prefill else max(0, context - cfg.sliding_window)
    pos = torch.arange(first, context, device="cuda").expand(batch, -1)
    tok = torch.randint(0, cfg.vocab_size, pos.shape, device="cuda")
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    chunk = None if batch == 1 else 1024  # a batch's prefill activations stay small next to its cache
    logits = prefill(model, tok, pos, caches, chunk, backend="flex")
    torch.cuda.synchronize()
    prefill_s = time.perf_counter() - t0
    nxt = logits.argmax(-1, keepdim=True)
    p = torch.full((batch, 1), context, device="cuda")
    row = {"kind": kind, "batch": batch, "context": context,
           "cache_bytes": sum(c.nbytes() for c in caches)}
    eager_ms = cuda_ms(lambda: decode_one_token(model, nxt, p, caches, backend=backend), iters=5)
    t0 = time.perf_counter()
    step = GraphedDecode(model, caches, nxt, p, compile=compile_mode, backend=backend)
    row["capture_s"] = round(time.perf_counter() - t0, 1)
    times = []
    for i in range(steps):  # real steps at advancing positions, timed one by one
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        logits = step(nxt, p + i)
        nxt = logits.argmax(-1, keepdim=True)
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    ms = statistics.median(times[2:])
    if profile:
        row["kernels"] = kernel_breakdown(lambda: step(nxt, p + steps))
    row.update({"eager_ms": eager_ms, "ms_per_token": ms, "tok_s": batch * 1e3 / ms,
                "compile": compile_mode, "backend": backend, "prefilled_tokens": context - first,
                "prefill_s": prefill_s, "peak_GB": torch.cuda.max_memory_allocated() / 1e9})
    if copy_tbps:
        row["roofline_ms"] = roofline_ms(model, kind, batch, context, copy_tbps)
        row["frac_of_roofline"] = row["roofline_ms"] / ms
    return row


def kernel_breakdown(fn, steps: int = 5, top: int = 30) -> dict:
    """GPU time per call of `fn` by kernel (torch.profiler; kernels inside a CUDA graph are seen too)."""
    from torch.profiler import ProfilerActivity, profile

    fn()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(steps):
            fn()
        torch.cuda.synchronize()
    kernels = {}
    for e in prof.events():
        if e.device_type.name == "CUDA":  # kernels, copies and memsets on the GPU
            us, n = kernels.get(e.name, (0.0, 0))
            kernels[e.name] = (us + e.time_range.elapsed_us() / steps, n + 1)
    ranked = sorted(kernels.items(), key=lambda kv: -kv[1][0])
    return {"gpu_us_per_call": sum(us for us, _ in kernels.values()),
            "launches_per_call": sum(n for _, n in kernels.values()) / steps,
            "top": [{"kernel": name[:90], "us_per_call": us, "launches": n / steps}
                    for name, (us, n) in ranked[:top]]}


@torch.no_grad()
def bench_linears(model, tokens: int, mm_tflops: float, copy_tbps: float) -> list[dict]:
    """Each kind of projection, through all the layers' weights in turn (as a forward reads them).

    At 1 token a projection is a read of its weights: GB/s against the copy rate, for cuBLAS
    (`F.linear`) and for the Triton GEMV the model uses for a few rows (with its error against cuBLAS).
    At many tokens it is a matmul: TFLOP/s against the measured bf16 matmul rate.
    """
    import torch.nn.functional as F

    from .gemv import MAX_ROWS, _gemv, gemv

    kinds = {"wqkv": lambda b: b.mixer.wqkv, "wo": lambda b: b.mixer.wo,
             "gate_up": lambda b: b.ffn.gate_up, "down": lambda b: b.ffn.down}
    rows = []
    for name, pick in kinds.items():
        weights = [pick(b).weight for b in model.layers]
        w = weights[0]
        x = torch.randn(tokens, w.shape[1], device="cuda", dtype=w.dtype)
        paths = {"cublas": F.linear} | ({"triton": gemv} if tokens <= MAX_ROWS else {})
        row = {"linear": name, "tokens": tokens, "shape": list(w.shape)}
        for path, fn in paths.items():
            ms = graph_ms(lambda x=x, ws=weights, fn=fn: [fn(x, wt) for wt in ws]) / len(weights)
            flops = 2 * tokens * w.numel()
            row[path] = {"us": ms * 1e3, "GBps": w.numel() * w.element_size() / ms / 1e6,
                         "TFLOPs": flops / ms / 1e9,
                         "frac_of_copy": w.numel() * w.element_size() / ms / 1e9 / copy_tbps,
                         "frac_of_matmul": flops / ms / 1e9 / mm_tflops}
        if "triton" in paths:
            xr = torch.randn_like(x)
            want = F.linear(xr.float(), w.float())
            row["triton"]["rel_err"] = ((gemv(xr, w).float() - want).norm() / want.norm()).item()
            row["triton"]["config"] = str(_gemv.best_config)
        rows.append(row)
    return rows


@torch.no_grad()
def bench_prefill(model, kind: str, n: int, chunk: int | None) -> dict:
    cfg = model.cfg
    kinds = layer_kinds(kind, cfg.n_layers)
    tok = torch.randint(0, cfg.vocab_size, (1, n), device="cuda")
    pos = torch.arange(n, device="cuda")[None]

    def run():
        caches = make_caches(model, 1, "ring", capacity=n, layer_types=kinds)
        prefill(model, tok, pos, caches, chunk, backend="flex")

    run()  # compile the flex kernel and the block mask for this shape
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    ms = cuda_ms(run, iters=3, warmup=0)
    peak_extra = (torch.cuda.max_memory_allocated() - base) / 1e9

    attn_flops = sum(attention_flops(cfg, k, n) for k in kinds)
    linear_flops = 2 * n * sum(p.numel() for name, p in model.named_parameters()
                               if p.dim() == 2 and "embed" not in name and "lm_head" not in name)
    row = {"kind": kind, "tokens": n, "chunk": chunk, "ms": ms, "tok_s": n / ms * 1e3,
           "model_TFLOPs": (attn_flops + linear_flops) / ms / 1e9, "peak_extra_GB": peak_extra}
    if kind in (SLIDING, FULL):  # attention alone, one layer, through the same backend
        from .attention import Flex

        q = torch.randn(1, cfg.n_heads, n, cfg.head_dim, device="cuda", dtype=torch.bfloat16)
        k = torch.randn(1, cfg.n_kv_heads, n, cfg.head_dim, device="cuda", dtype=torch.bfloat16)
        mask = Flex.make_mask(pos, pos, cfg.sliding_window if kind == SLIDING else None)
        # Back-to-back calls, so the host's per-call overhead hides behind the kernel before it.
        reps = 8
        attn_ms = cuda_ms(lambda: [Flex.attend(q, k, k, mask) for _ in range(reps)], iters=5) / reps
        row |= {"attn_layer_ms": attn_ms, "attn_TFLOPs": attention_flops(cfg, kind, n) / attn_ms / 1e9}
    return row


def attention_flops(cfg: ModelConfig, kind: str, n: int) -> int:
    """Useful attention FLOPs of one layer of `kind` over a prompt of `n` tokens (the pairs it keeps)."""
    return costs.pair_flops(costs.Shape.from_config(cfg)) * costs.prefill_pairs(kind, n, cfg.sliding_window)


# ---- transformers on the same weights --------------------------------------------------------

@torch.no_grad()
def bench_transformers(hf, contexts: list[int], new: int = 32) -> list[dict]:
    """transformers' default `generate` (greedy), time per token = (t(new+1) - t(1)) / new."""
    rows = []
    for n in contexts:
        ids = torch.randint(0, hf.config.vocab_size, (1, n), device="cuda")
        try:
            def gen(k, ids=ids):
                torch.cuda.synchronize()
                t0 = time.perf_counter()
                hf.generate(ids, max_new_tokens=k, min_new_tokens=k, do_sample=False)
                torch.cuda.synchronize()
                return time.perf_counter() - t0
            gen(2)
            one = statistics.median(gen(1) for _ in range(3))
            many = statistics.median(gen(new + 1) for _ in range(3))
            ms = (many - one) / new * 1e3
            rows.append({"context": n, "ms_per_token": ms, "tok_s": 1e3 / ms, "prefill_s": one})
        except torch.cuda.OutOfMemoryError as err:
            rows.append({"context": n, "error": f"out of memory: {str(err).splitlines()[0][:120]}"})
        torch.cuda.empty_cache()
    return rows


def hf_and_ours(layers: int):
    """transformers' MistralForCausalLM with random bf16 weights, and our decoder sharing them."""
    import transformers

    from .interop import config_from_hf, state_from_hf

    hc = transformers.MistralConfig(num_hidden_layers=layers, sliding_window=4096,
                                    max_position_embeddings=1 << 18, torch_dtype="bfloat16")
    theta = 10000.0
    with torch.device("cuda"):
        hf = transformers.MistralForCausalLM(hc).to(torch.bfloat16).eval()
    # `.to(bfloat16)` also casts RoPE's `inv_freq` buffer, which moves the angles by radians at a few
    # thousand positions; recompute it in float32, as loading a bf16 checkpoint would keep it.
    for module in hf.modules():
        if hasattr(module, "inv_freq"):
            d = module.inv_freq.numel() * 2
            module.inv_freq = 1.0 / theta ** (torch.arange(0, d, 2, device=module.inv_freq.device,
                                                                dtype=torch.float32) / d)
    # Set every weight ourselves (normal, std 0.02; norms 1): what a constructor leaves uninitialised
    # must not decide the comparison.
    gen = torch.Generator(device="cuda").manual_seed(0)
    with torch.no_grad():
        for p in hf.parameters():
            if p.dim() == 2:
                p.normal_(0.0, 0.02, generator=gen)
            else:
                p.fill_(1.0)
    cfg = config_from_hf(hc.to_dict(), dtype="bfloat16", device="meta")
    assert cfg.rope_theta == theta
    ours = build(cfg, seed=None)
    ours.load_state_dict(state_from_hf(hf.state_dict()), assign=True)  # shares the tensors
    ours.cfg.device = "cuda"
    return hf, ours


@torch.no_grad()
def compare_logits(hf, ours, n: int = 2048) -> dict:
    ids = torch.randint(0, hf.config.vocab_size, (1, n), device="cuda")
    ref = hf(ids).logits[0, -9:-1].float()  # positions n-9 .. n-2, the ones predicted below
    caches = make_caches(ours, 1, "ring", capacity=n)
    got = prefill(ours, ids[:, :-8], torch.arange(n - 8, device="cuda")[None], caches, backend="flex")
    rows = [got[0]]
    for t in range(n - 8, n - 1):
        rows.append(decode_one_token(ours, ids[:, t:t + 1], torch.full((1, 1), t, device="cuda"),
                                     caches)[0])
    got = torch.stack(rows).float()
    rel = ((got - ref).norm() / ref.norm()).item()
    return {"tokens": n, "rel_err": rel, "argmax_agree": float((got.argmax(-1) == ref.argmax(-1))
                                                               .float().mean())}


def environment(command: str) -> dict:
    import platform

    # The device machine's clock may be off: BENCH_DATE, set by whoever launches the run, wins.
    date = os.environ.get("BENCH_DATE") or datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    info = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "date": date,
            "command": command, "host": platform.node()}
    try:
        import transformers

        info["transformers_version"] = transformers.__version__
    except ImportError:
        pass
    return info
