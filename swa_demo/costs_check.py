"""The cost model checked against the engine on the CPU: the bytes each layer's cache allocates and the
FLOPs torch's `FlopCounterMode` counts, next to what `costs` says they are.

By default the check runs two small configs (`check_configs`): one layer of each kind, and the medium
preset with a full and a mamba layer among its sliding ones. Given a cost `Shape` (a preset, a
config.json), it runs that shape's layer kinds, window, KV heads, head dim and mamba sizes instead, with
the widths that do not change a cache cut down, in the shape's bytes per value: the bytes it compares
are the very figures the cost table prints for that model, per layer.
"""

from __future__ import annotations

import torch

from .config import FULL, MAMBA, SLIDING, ModelConfig, medium
from .costs import KI, Shape, decode_flops, layer_cache_bytes, prefill_flops
from .validate import Invalid, Problem

BYTE_CONTEXTS = (100, 1000, 4 * KI, 16 * KI)  # the default check's contexts
FLOP_PROMPTS = (100, 700)  # ... and its prompts for FLOPs
MAX_CONTEXT = 16 * KI  # prefilled on this CPU through every kind of layer
MAX_FLOP_PROMPT = 2 * KI  # the eager backend holds every head's (T, T) scores at once
DTYPES = {4: "float32", 2: "bfloat16"}


def check_configs(s: Shape | None = None) -> tuple[ModelConfig, ModelConfig]:
    """The two CPU configs `engine_check` runs: (bytes, FLOPs).

    Default: medium's KV shape (2 KV heads of 32) and window 256, slimmed to d_model 64 so a 16k prompt
    prefills in seconds, for the bytes; `config.medium` itself, with a full and a mamba layer among its
    sliding ones, for the FLOPs. For a shape: one layer of each kind it has, its window, KV heads, head
    dim and mamba sizes; one query head per KV head, d_ff 128, vocab 1024, and d_model 64 unless a mamba
    layer needs the real one (E = expand x d_model). The bytes run in the shape's precision, the FLOPs
    (which do not depend on it) in float32.
    """
    if s is None:
        slim = ModelConfig(vocab_size=1024, d_model=64, n_heads=2, n_kv_heads=2, n_layers=3,
                           layer_types=[SLIDING, FULL, MAMBA], sliding_window=256, d_ff=128, ffn="swiglu",
                           norm="rmsnorm", ssm_state=16)
        return slim, medium(4, 256).replace(layer_types=[SLIDING, FULL, MAMBA, SLIDING], ssm_state=16)
    if s.head_dim % 2 and set(s.layer_types) != {MAMBA}:
        raise Invalid([Problem("config", "odd_head_dim", {"file": s.name, "v": s.head_dim})])
    kinds = list(dict.fromkeys(s.layer_types))  # each kind once, in order of first appearance
    cfg = ModelConfig(vocab_size=1024, d_model=s.d_model if MAMBA in kinds else 64, n_heads=s.n_kv_heads,
                      n_kv_heads=s.n_kv_heads, head_dim=s.head_dim, n_layers=len(kinds), layer_types=kinds,
                      sliding_window=s.window or 1, d_ff=128, ffn="swiglu", norm="rmsnorm",
                      ssm_state=s.ssm_state, ssm_conv=s.ssm_conv, ssm_expand=s.ssm_expand,
                      dtype=DTYPES.get(s.bytes_per_value, "float32"))
    return cfg, cfg.replace(dtype="float32")


def measure_cache_bytes(cfg: ModelConfig, contexts: list[int], policy: str = "ring",
                        chunk: int = 2048, seed: int = 0) -> list[dict]:
    """Run the engine (prefill `n - 1` tokens, decode 1) and read what each layer's cache allocated.

    Returns, per context, `allocated` (`nbytes()`) and `held` (entries in use x entry size; a ring
    allocates all W slots before it fills) per layer. Prefill goes through SDPA in chunks: the cache
    does not care which backend filled it, and the dense mask of a 16k prompt never exists at once.
    """
    from .generate import decode_one_token, make_caches, prefill
    from .model import build

    model = build(cfg, seed=seed)
    out = []
    for n in contexts:
        assert n >= 2, f"a context needs at least 2 tokens (prefill + decode), got {n}"
        gen = torch.Generator().manual_seed(n)
        tokens = torch.randint(0, cfg.vocab_size, (1, n), generator=gen)
        positions = torch.arange(n)[None]
        caches = make_caches(model, 1, policy)
        prefill(model, tokens[:, :-1], positions[:, :-1], caches, chunk=chunk, backend="sdpa")
        decode_one_token(model, tokens[:, -1:], positions[:, -1:], caches)
        layers = []
        for kind, c in zip(cfg.layer_types, caches):
            if kind == MAMBA:
                held = c.nbytes()
            else:
                held = c.held() * 2 * c.k.shape[1] * c.k.shape[3] * c.k.element_size()
            layers.append({"kind": kind, "allocated": c.nbytes(), "held": held})
        out.append({"context": n, "layers": layers})
    return out


def count_flops(model, prompt: int, decode: int = 1, policy: str = "ring") -> dict:
    """FLOPs `FlopCounterMode` counts for a one-shot prefill of `prompt` tokens, then each decode step.

    Eager attention (matmul + masked softmax), so it counts the dense pairs: compare with `dense=True,
    matmul_only=True`.
    """
    from torch.utils.flop_counter import FlopCounterMode

    from .generate import decode_one_token, make_caches, prefill

    gen = torch.Generator().manual_seed(prompt)
    tokens = torch.randint(0, model.cfg.vocab_size, (1, prompt + decode), generator=gen)
    positions = torch.arange(prompt + decode)[None]
    caches = make_caches(model, 1, policy)
    with FlopCounterMode(display=False) as fc:
        prefill(model, tokens[:, :prompt], positions[:, :prompt], caches, backend="eager")
    counted = {"prefill": fc.get_total_flops(), "decode": []}
    for i in range(prompt, prompt + decode):
        with FlopCounterMode(display=False) as fc:
            decode_one_token(model, tokens[:, i:i + 1], positions[:, i:i + 1], caches, backend="eager")
        counted["decode"].append(fc.get_total_flops())
    return counted


def work(contexts: list[int] | None = None) -> tuple[list[int], list[int]]:
    """The contexts whose cache bytes and the prompts whose FLOPs a check measures: the defaults, or
    `contexts` (each 2..16k; `Invalid` otherwise) and the same capped at 2k."""
    if contexts is None:
        return list(BYTE_CONTEXTS), list(FLOP_PROMPTS)
    bad = [n for n in contexts if not 2 <= n <= MAX_CONTEXT]
    if bad:
        raise Invalid([Problem("context", "check_context", {"v": bad[0], "lo": 2, "hi": MAX_CONTEXT})])
    return list(contexts), sorted({min(n, MAX_FLOP_PROMPT) for n in contexts})


def engine_check(s: Shape | None = None, contexts: list[int] | None = None, decode: int = 2,
                 progress=None) -> dict:
    """The analytic figures next to what the engine does on the CPU, and whether they agree.

    `bytes`: per context and layer, the analytic bytes, the bytes the cache holds and the bytes it
    allocated; they agree when held = analytic and allocated = analytic, or, for a ring not yet full,
    W entries. `flops`: per prefill / decode step, what `FlopCounterMode` counted, the analytic `dense`
    matmul count (what the eager kernel computes, which must equal it) and the `useful` one (pairs the
    mask keeps). What it runs is `work(contexts)`; `progress(1)` is called after each context and each
    prompt. `ok` is true when every row agrees.
    """
    contexts, prompts = work(contexts)
    cfg_bytes, cfg_flops = check_configs(s)
    s_bytes = s or Shape.from_config(cfg_bytes, "slim")
    s_flops = Shape.from_config(cfg_flops, "flops")
    ring_bytes = layer_cache_bytes(s_bytes, SLIDING, s_bytes.window or 0)  # a ring's W slots
    rows_b = []
    for m in measure_cache_bytes(cfg_bytes, contexts):
        for layer in m["layers"]:
            analytic = layer_cache_bytes(s_bytes, layer["kind"], m["context"])
            allocated = ring_bytes if layer["kind"] == SLIDING else analytic
            rows_b.append({"context": m["context"], "kind": layer["kind"], "analytic": analytic,
                           "held": layer["held"], "allocated": layer["allocated"],
                           "ok": layer["held"] == analytic and layer["allocated"] == allocated})
        if progress:
            progress(1)
    from .model import build

    rows_f, model = [], build(cfg_flops, seed=0)
    for p in prompts:
        counted = count_flops(model, p, decode)
        dense = sum(prefill_flops(s_flops, p, dense=True, matmul_only=True).values())
        rows_f.append({"phase": "prefill", "context": p, "counted": counted["prefill"], "dense": dense,
                       "useful": sum(prefill_flops(s_flops, p, matmul_only=True).values()),
                       "ok": counted["prefill"] == dense})
        for i, c in enumerate(counted["decode"]):
            dense = sum(decode_flops(s_flops, p + i, dense=True, matmul_only=True).values())
            rows_f.append({"phase": "decode", "context": p + i, "counted": c, "dense": dense,
                           "useful": sum(decode_flops(s_flops, p + i, matmul_only=True).values()),
                           "ok": c == dense})
        if progress:
            progress(1)
    return {"shape": s_bytes.name if s else None, "config_bytes": cfg_bytes.to_dict(),
            "config_flops": cfg_flops.to_dict(), "bytes": rows_b, "flops": rows_f,
            "ok": all(r["ok"] for r in rows_b + rows_f)}


def format_check(check: dict) -> str:
    from .costs_text import fmt_tokens

    cb = check["config_bytes"]
    what = (f"{check['shape']}'s layer kinds, KV heads and window, one layer of each"
            if check["shape"] else "slim medium-like config")
    lines = [f"cache bytes ({what}, {cb['dtype']}, ring policy, prefill n-1 + decode 1, CPU)",
             f"{'context':>8}  {'kind':<18}{'analytic':>14}{'held':>14}{'allocated':>14}"]
    lines += [f"{fmt_tokens(r['context']):>8}  {r['kind']:<18}{r['analytic']:>14,}{r['held']:>14,}"
              f"{r['allocated']:>14,}{'' if r['ok'] else '  DISAGREES'}" for r in check["bytes"]]
    kinds = "/".join(t.split("_")[0] for t in check["config_flops"]["layer_types"])
    lines += ["", f"FLOPs (layers {kinds}, eager attention, FlopCounterMode; prompts up to "
                  f"{fmt_tokens(MAX_FLOP_PROMPT)})",
              f"{'phase':<8}{'context':>8}{'counted':>18}{'dense':>18}{'useful':>18}"]
    lines += [f"{r['phase']:<8}{r['context']:>8}{r['counted']:>18,}{r['dense']:>18,}{r['useful']:>18,}"
              f"{'' if r['ok'] else '  DISAGREES'}" for r in check["flops"]]
    bad = sum(not r["ok"] for r in check["bytes"] + check["flops"])
    lines += ["", "every figure agrees" if not bad else f"{bad} figures disagree"]
    return "\n".join(lines)
