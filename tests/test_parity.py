"""Incremental decoding with `seed` and `ring` caches equals a full recompute with the dense mask.

Every case DESIGN.md lists as a place where SWA implementations went wrong is here: sequences of
exactly W-1, W and W+1 tokens, a prompt longer than W, chunked prefill, many ring wrap-arounds, rows of
different lengths in one batch, W = 1, and GQA with several query heads per KV head; then 500 random
configurations mixing all of them with every policy (seed, ring, sink, mask-only) and layer pattern.
"""

import json
import random
from pathlib import Path

import pytest
import torch
from helpers import assert_parity, parity_error, random_model
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from swa_demo.config import FULL, SLIDING

POLICIES = ["seed", "ring", "mask-only"]


def rand_seq(n, seed=0, vocab=40):
    rng = random.Random(seed)
    return [rng.randrange(vocab) for _ in range(n)]


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("n_offset", [-1, 0, 1])
def test_sequences_of_w_minus_1_w_and_w_plus_1_tokens(policy, n_offset):
    W = 4
    model = random_model(W, layers=3)
    n = W + n_offset
    for prompt_len in range(1, n + 1):
        assert_parity(model, [rand_seq(n, prompt_len)], [prompt_len], policy)


@pytest.mark.parametrize("policy", POLICIES)
def test_prompt_longer_than_window_then_decode(policy):
    model = random_model(3, layers=3)
    assert_parity(model, [rand_seq(20, 1)], [11], policy)


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7])
def test_chunked_prefill_is_bottom_right_aligned(policy, chunk):
    model = random_model(3, layers=2)
    assert_parity(model, [rand_seq(16, chunk)], [13], policy, chunk=chunk)


def test_ring_wraps_many_times():
    W = 3
    model = random_model(W, layers=2)
    assert_parity(model, [rand_seq(64, 7)], [2], "ring")  # 62 decode steps: about 20 wraps


@pytest.mark.parametrize("policy", POLICIES)
def test_window_of_one_attends_only_itself(policy):
    model = random_model(1, layers=3)
    assert_parity(model, [rand_seq(9, 3)], [4], policy)


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("chunk", [None, 2])
def test_batch_rows_of_different_lengths(policy, chunk):
    model = random_model(3, layers=2)
    seqs = [rand_seq(12, 1), rand_seq(7, 2), rand_seq(15, 3)]
    assert_parity(model, seqs, [5, 2, 9], policy, chunk=chunk)


@pytest.mark.parametrize("heads,kv_heads", [(4, 1), (6, 2), (4, 4)])
def test_gqa_several_query_heads_per_kv_head(heads, kv_heads):
    model = random_model(3, layers=2, heads=heads, kv_heads=kv_heads, head_dim=8)
    for policy in ("seed", "ring"):
        assert_parity(model, [rand_seq(10, heads)], [4], policy)


@pytest.mark.parametrize("policy", POLICIES)
def test_mixed_sliding_and_full_layers(policy):
    model = random_model(2, layers=4, kinds=[SLIDING, FULL, SLIDING, FULL])
    assert_parity(model, [rand_seq(14, 5), rand_seq(9, 6)], [6, 3], policy, chunk=4)


@st.composite
def cache_configs(draw) -> dict:
    """One random configuration: W 1-6, 1-4 layers each sliding or full, GQA or not, 1-3 rows with
    their own prompt (1-12) and number of new tokens (1-12), whole or chunked prefill, any policy."""
    window = draw(st.integers(1, 6))
    layers = draw(st.integers(1, 4))
    kinds = draw(st.lists(st.sampled_from([SLIDING, SLIDING, FULL]), min_size=layers, max_size=layers))
    heads, kv_heads = draw(st.sampled_from([(4, 4), (4, 2), (4, 1), (6, 2), (8, 2)]))
    policy = draw(st.sampled_from(["seed", "ring", "sink", "mask-only"] if window > 1 else
                                  ["seed", "ring", "mask-only"]))
    rows = draw(st.integers(1, 3))
    prompts = [draw(st.integers(1, 12)) for _ in range(rows)]
    news = [draw(st.integers(1, 12)) for _ in range(rows)]
    seed = draw(st.integers(0, 10**6))
    return {"window": window, "kinds": kinds, "heads": heads, "kv_heads": kv_heads, "policy": policy,
            "sinks": draw(st.integers(1, window - 1)) if policy == "sink" else 0,
            "seqs": [rand_seq(p + n - 1, seed + r) for r, (p, n) in enumerate(zip(prompts, news))],
            "prompts": prompts, "chunk": draw(st.one_of(st.none(), st.integers(1, 8))), "seed": seed}


PROPERTY_CASES = 500


def test_property_500_random_configurations_equal_the_full_recompute():
    """Incremental decoding (prefill, then one token per step) against a full recompute with the dense
    mask, for PROPERTY_CASES random configurations; the count and the largest difference are written
    to tests/artifacts/parity_property.json."""
    errors = []

    @settings(max_examples=PROPERTY_CASES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(case=cache_configs())
    def check(case):
        model = random_model(case["window"], layers=len(case["kinds"]), kinds=case["kinds"],
                             heads=case["heads"], kv_heads=case["kv_heads"], head_dim=8, seed=case["seed"])
        err = parity_error(model, case["seqs"], case["prompts"], case["policy"], case["chunk"], case["sinks"])
        errors.append(err)
        assert err < 1e-5, f"max |diff| {err:.2e} for {case}"

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: a second thread only waits (10x slower on a busy machine)
    try:
        check()
    finally:
        torch.set_num_threads(threads)
    assert len(errors) >= PROPERTY_CASES
    folder = Path(__file__).resolve().parent / "artifacts"
    folder.mkdir(exist_ok=True)
    (folder / "parity_property.json").write_text(json.dumps({"configurations": len(errors),
                                                             "max_abs_diff": max(errors)}))
    print(f"\n{len(errors)} random cache configurations, max |logit difference| {max(errors):.1e}")


@pytest.mark.parametrize("backend", ["sdpa", "flex"])
def test_backends_agree_with_eager(backend):
    """Full recompute and incremental decoding through each backend match the eager reference."""
    torch.manual_seed(0)
    eager = random_model(3, layers=2, kinds=[SLIDING, FULL])
    fast = random_model(3, layers=2, kinds=[SLIDING, FULL], backend=backend)
    seqs = [rand_seq(11, 1), rand_seq(6, 2)]
    from helpers import incremental_logits

    for policy, chunk in (("ring", 4), ("seed", None)):
        ref = incremental_logits(eager, seqs, [7, 3], policy, chunk)
        got = incremental_logits(fast, seqs, [7, 3], policy, chunk)
        for r, g in zip(ref, got):
            assert (r - g).abs().max() < 1e-5
    tokens = torch.tensor([rand_seq(13, 9)])
    from swa_demo.generate import reference_logits

    assert (reference_logits(eager, tokens) - reference_logits(fast, tokens)).abs().max() < 1e-5


@pytest.mark.parametrize("kinds", [[FULL, FULL, FULL], [SLIDING, FULL, SLIDING]])
def test_the_caches_choose_each_layers_kind_and_the_model_is_never_changed(kinds):
    """One set of weights runs as another pattern (and another W) for one run: the caches carry the
    kinds, a recompute takes them as arguments, and the shared model's config stays as built."""
    from swa_demo.generate import make_caches, prefill, reference_logits

    model = random_model(2, layers=3)
    before = list(model.cfg.layer_types)
    seq = torch.tensor([rand_seq(12, 4)])
    ref = reference_logits(model, seq, layer_types=kinds, window=3)
    caches = make_caches(model, 1, "ring", layer_types=kinds, window=3)
    assert [c.window for c in caches] == [3 if k == SLIDING else None for k in kinds]
    got = prefill(model, seq, torch.arange(12)[None], caches)
    assert (got - ref[:, -1]).abs().max() < 1e-5
    assert model.cfg.layer_types == before
    assert (reference_logits(model, seq) - ref).abs().max() > 1e-3  # the pattern really changed
