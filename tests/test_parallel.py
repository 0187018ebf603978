"""Tensor parallelism on the CPU: two gloo processes hold half of the model each, and their logits
equal the whole model's (float32, 1e-5) in prefill, chunked prefill and decode, for sliding, full and
hybrid stacks, ring and full caches; each rank's caches hold exactly its share of the KV heads.

The two processes start once for the module (about 5 s) and run every case; the tests then read what
each rank found.
"""

from __future__ import annotations

import copy
import json
import os
import random
import subprocess
import sys
import types
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from helpers import incremental_logits, random_model

from swa_demo.cache import KVCache
from swa_demo.config import FULL, MAMBA, SLIDING, ConfigError, mistral_7b
from swa_demo.generate import make_caches, pad_prompts, prefill, reference_logits
from swa_demo.parallel import TP, check_divisible, columns, rows, shard

ROOT = Path(__file__).resolve().parent.parent
S, F = SLIDING, FULL


def rand_seq(n, seed=0, vocab=40):
    rng = random.Random(seed)
    return [rng.randrange(vocab) for _ in range(n)]


# name: (model settings, cache policy, sequences, prompt lengths, prefill chunk, sinks)
CASES = {
    "sliding_ring": (dict(window=3, layers=2, ffn="swiglu", norm="rmsnorm"), "ring",
                     [rand_seq(14, 1), rand_seq(9, 2)], [8, 3], None, 0),
    "sliding_ring_chunked": (dict(window=3, layers=2, ffn="swiglu", norm="rmsnorm"), "ring",
                             [rand_seq(14, 3), rand_seq(11, 4)], [9, 6], 2, 0),
    "full_caches_chunked": (dict(window=3, layers=2, kinds=[F, F]), "ring",
                            [rand_seq(13, 5)], [7], 3, 0),
    "hybrid_gemma2_relu": (dict(window=2, layers=3, kinds=[S, F, S]), "ring",
                           [rand_seq(12, 6), rand_seq(7, 7)], [5, 2], 4, 0),
    "hybrid_seed_policy": (dict(window=3, layers=3, kinds=[S, S, F], ffn="swiglu"), "seed",
                           [rand_seq(10, 8)], [6], None, 0),
    "hybrid_mask_only": (dict(window=2, layers=2, kinds=[S, F]), "mask-only",
                         [rand_seq(9, 9)], [4], 3, 0),
    "sink_policy": (dict(window=4, layers=2), "sink", [rand_seq(15, 10)], [6], None, 1),
    "gqa_4_query_heads_per_kv_head": (dict(window=3, layers=2, heads=8, kv_heads=2, head_dim=8), "ring",
                                      [rand_seq(11, 11)], [5], 2, 0),
    "jamba_mamba_replicated": (dict(window=3, layers=2, kinds=[MAMBA, F], ffn="swiglu"), "ring",
                               [rand_seq(10, 12)], [4], None, 0),
}


def run_case(tp: TP, name: str) -> dict:
    settings, policy, seqs, prompt_lens, chunk, sinks = CASES[name]
    whole = random_model(seed=len(name), **settings)
    part = shard(copy.deepcopy(whole), tp)
    out = {}
    got = incremental_logits(part, seqs, prompt_lens, policy, chunk, sinks=sinks)
    want = incremental_logits(whole, seqs, prompt_lens, policy, chunk, sinks=sinks)
    out["prefill"] = max((g[0] - w[0]).abs().max().item() for g, w in zip(got, want))
    out["decode"] = max((g[1:] - w[1:]).abs().max().item() for g, w in zip(got, want))
    tokens = torch.tensor([seqs[0]])
    out["recompute"] = (reference_logits(part, tokens) - reference_logits(whole, tokens)).abs().max().item()
    # The caches after a prefill: this rank's KV heads, and exactly the whole model's entries for them.
    tokens, positions = pad_prompts([s[:p] for s, p in zip(seqs, prompt_lens)], "cpu")
    caches = {m: make_caches(m, len(seqs), policy, sinks=sinks) for m in (part, whole)}
    for m in (part, whole):
        prefill(m, tokens, positions, caches[m], chunk)
    heads, mine, cache_err = [], [], 0.0
    for c_part, c_whole in zip(caches[part], caches[whole]):
        if not isinstance(c_part, KVCache):
            continue
        h = c_part.k.shape[1]
        heads.append((h, c_whole.k.shape[1]))
        lo = tp.rank * h
        mine.append(c_part.nbytes() * tp.world == c_whole.nbytes())
        cache_err = max(cache_err, (c_part.k - c_whole.k[:, lo:lo + h]).abs().max().item(),
                        (c_part.v - c_whole.v[:, lo:lo + h]).abs().max().item())
        assert torch.equal(c_part.pos, c_whole.pos)
    out.update(kv_heads=heads, bytes_are_a_share=all(mine), cache_err=cache_err)
    return out


def worker(rank: int, world: int, store: str, out_dir: str) -> None:
    torch.set_num_threads(1)  # two processes on a 2-core machine
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
    try:
        tp = TP(rank, world, torch.device("cpu"), dist.group.WORLD, dist.group.WORLD)
        results = {name: run_case(tp, name) for name in CASES}
        Path(out_dir, f"rank{rank}.json").write_text(json.dumps(results))
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def ranks(tmp_path_factory) -> list[dict]:
    tmp = tmp_path_factory.mktemp("tp")
    # A spawned process re-runs the parent's __main__ first; earlier tests (Streamlit's AppTest) may
    # have left a page script there. The workers need nothing from it: hand them an empty one.
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
        mp.spawn(worker, args=(2, str(tmp / "store"), str(tmp)), nprocs=2, join=True)
    return [json.loads((tmp / f"rank{r}.json").read_text()) for r in range(2)]


@pytest.mark.parametrize("case", list(CASES))
def test_two_ranks_give_the_whole_models_logits(ranks, case):
    for rank, results in enumerate(ranks):
        r = results[case]
        for phase in ("prefill", "decode", "recompute"):
            assert r[phase] < 1e-5, f"rank {rank}, {case}, {phase}: max |diff| {r[phase]:.2e}"


@pytest.mark.parametrize("case", list(CASES))
def test_each_rank_caches_exactly_its_half_of_the_kv_heads(ranks, case):
    for rank, results in enumerate(ranks):
        r = results[case]
        assert r["kv_heads"] and all(2 * mine == whole for mine, whole in r["kv_heads"]), r["kv_heads"]
        assert r["bytes_are_a_share"]
        assert r["cache_err"] < 1e-6, f"rank {rank}: its cache differs from the whole model's heads"


def test_the_shards_of_the_worked_example_put_back_together_are_the_whole_matrices():
    """Mistral's layout, scaled down: 8 query heads, 2 KV heads, head dim 2; FFN width 6; 2 ranks."""
    H, Hkv, D, C, Fw = 8, 2, 2, 4, 6
    wqkv = torch.arange((H + 2 * Hkv) * D * C, dtype=torch.float32).view(-1, C)
    split = [H * D, Hkv * D, Hkv * D]
    parts = [rows(wqkv, split, r, 2) for r in range(2)]
    assert parts[0].shape == (split[0] // 2 + 2 * split[1] // 2, C)
    # rank 0: Q heads 0-3 (rows 0-7), K head 0 (rows 16-17), V head 0 (rows 20-21)
    assert torch.equal(parts[0][:, 0] / C, torch.tensor([*range(0, 8), 16, 17, 20, 21], dtype=torch.float32))
    q, k, v = zip(*(p.split([s // 2 for s in split]) for p in parts))
    assert torch.equal(torch.cat(q + k + v), wqkv)
    down = torch.randn(C, Fw)
    assert torch.equal(torch.cat([columns(down, r, 2) for r in range(2)], dim=1), down)


def test_a_split_that_would_cut_a_kv_head_is_refused():
    model = random_model(3, heads=4, kv_heads=1)
    with pytest.raises(ConfigError, match=r"n_kv_heads \(1\) divisible by 2"):
        check_divisible(model.cfg, 2)
    mistral = mistral_7b(device="cpu")  # 32 heads, 8 KV heads, d_ff 14336: 16 would cut a KV head
    with pytest.raises(ConfigError, match=r"n_heads \(32\) divisible by 3; use 1, 2, 4, 8 ranks"):
        check_divisible(mistral, 3)



def test_the_tp_benchmark_runs_end_to_end_on_the_cpu(tmp_path):
    """`bench gpu --plan tp-cpu` under torchrun: every part of the GPU plan, at toy sizes over gloo."""
    out = tmp_path / "tp.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "BENCH_DATE": "2000-01-01"}
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                          "--nproc-per-node", "2", "-m", "swa_demo", "bench", "gpu", "--plan", "tp-cpu",
                          "--json", str(out)], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["world_size"] == 2 and result["date"] == "2000-01-01" and "tp-cpu" in result["command"]
    logits = result["logits"]
    assert logits["rel_err"] < 1e-5 and logits["argmax_agree"] == 1.0  # float32 on the CPU
    decode = {(r["kind"], r["context"], r["tp"]): r for r in result["decode"]}
    full_tp2 = decode[(FULL, result["sizes"]["1M"], 2)]
    sliding_tp1 = decode[(SLIDING, result["sizes"]["1M"], 1)]
    assert full_tp2["ms_per_token"] > 0 and sliding_tp1["ms_per_token"] > 0
    assert full_tp2["cache_bytes_per_rank"][0] > sliding_tp1["cache_bytes_per_rank"][0]
    prefill_rows = {(r["kind"], r["tp"]): r for r in result["prefill"]}
    assert prefill_rows[(SLIDING, 1)]["seconds"] > 0
    assert prefill_rows[(FULL, 2)]["seconds"] > 0


def test_the_prefill_extrapolation_is_the_stated_formula():
    """t(n) = a n + b n^2 and peak(n) = c + d n through two measured sizes, evaluated at the full one."""
    from swa_demo.bench_tp import FORMULA, extrapolate

    a, b, c, d = 2e-5, 3e-10, 10.0, 6e-5  # seconds per token, per token pair; GB, GB per token
    points = [{"tokens": n, "seconds": a * n + b * n * n, "peak_GB": c + d * n} for n in (131072, 262144)]
    fit = extrapolate(points, 1048576)
    assert fit["seconds"] == pytest.approx(a * 1048576 + b * 1048576 ** 2)
    assert fit["peak_GB"] == pytest.approx(c + d * 1048576)
    assert "a n + b n^2" in FORMULA and "c + d n" in FORMULA
