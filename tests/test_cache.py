"""The caches' own worked examples (cache.py's docstring), and what every write reports."""

import pytest
import torch

from swa_demo.cache import KVCache

A, B, C, D, E = range(5)


def write(cache, positions, decode=None):
    pos = torch.tensor([positions])
    t = len(positions)
    decode = t == 1 if decode is None else decode
    return cache.update(torch.randn(1, 1, t, 4), torch.randn(1, 1, t, 4), pos, decode)


def test_ring_worked_example_from_the_docstring():
    ring = KVCache("ring", 1, 1, 4, window=2)
    write(ring, [A, B, C])
    assert ring.slots() == [(0, C), (1, B)]  # A was overwritten by C within the prefill
    assert write(ring, [D]).evicted.tolist() == [[B]]
    assert ring.slots() == [(0, C), (1, D)]
    assert write(ring, [E]).evicted.tolist() == [[C]]
    assert ring.slots() == [(0, E), (1, D)]
    assert ring.unrotate() == [D, E]


def test_seed_keeps_the_prompt_then_evicts_in_decode():
    seed = KVCache("seed", 1, 1, 4, window=2)
    assert write(seed, [A, B, C]).evicted.numel() == 0
    assert seed.unrotate() == [A, B, C]
    assert write(seed, [D]).evicted.tolist() == [[A, B]]
    assert seed.slots() == [(0, C), (1, D)]


def test_mask_only_never_evicts_and_grows():
    cache = KVCache("mask-only", 1, 1, 4, window=2)
    write(cache, [A, B, C])
    write(cache, [D])
    assert cache.unrotate() == [A, B, C, D] and cache.nbytes() == 4 * 2 * 4 * 4


def test_ring_memory_is_constant():
    ring = KVCache("ring", 2, 2, 8, window=3)
    size = ring.nbytes()
    assert size == 2 * 2 * 3 * 8 * 4 * 2  # batch x heads x W x head_dim x 4 bytes x (K, V)
    for p in range(50):
        ring.update(torch.randn(2, 2, 1, 8), torch.randn(2, 2, 1, 8), torch.tensor([[p], [p]]), True)
    assert ring.nbytes() == size and ring.held() == 3


POLICIES = ["seed", "ring", "sink", "mask-only", "full"]


def held(cache, row):
    return {p for _, p in cache.slots(row)}


@pytest.mark.parametrize("policy", POLICIES)
def test_every_write_evicts_exactly_the_held_entries_keeps_drops(policy):
    """Two rows of different lengths, prefill chunks longer than W (one row padded out), then decode:
    after each write a row holds what `keeps` keeps of its old and new entries, and reports as evicted
    exactly the old ones it dropped."""
    torch.manual_seed(0)
    cache = KVCache(policy, 2, 1, 4, window=3, sinks=1 if policy == "sink" else 0)
    writes = [([0, 1, 2, 3, 4], [0, 1, 2, -1, -1]), ([5, 6], [3, -1]), ([7, 8], [-1, -1]),
              ([9], [4]), ([10], [5]), ([11], [6]), ([12, 13, 14, 15], [7, 8, 9, 10]), ([16], [11])]
    for rows in writes:
        decode = len(rows[0]) == 1
        before = [held(cache, r) for r in range(2)]
        pos = torch.tensor(rows)
        evicted = cache.update(torch.randn(2, 1, pos.shape[1], 4), torch.randn(2, 1, pos.shape[1], 4),
                               pos, decode).evicted
        for r, new in enumerate(rows):
            new = {p for p in new if p >= 0}
            candidates = sorted(before[r] | new)
            if new:
                keep = cache.keeps(torch.tensor([candidates]), torch.tensor([[max(new)]]), decode)[0]
                kept = {p for p, k in zip(candidates, keep.tolist()) if k}
            else:
                kept = before[r]  # a row with nothing in this write loses nothing
            assert held(cache, r) == kept, (rows, r)
            assert set(evicted[r].tolist()) - {-1} == before[r] - kept, (rows, r)


@pytest.mark.parametrize("policy", POLICIES)
def test_keeps_is_the_window_predicate_where_a_policy_evicts(policy):
    """Decoding D (q = 3) with W = 2: a ring and a seed decode step keep C and D, a sink cache (S = 1)
    keeps A and D; full and mask-only caches keep everything, and a seed cache's prefill drops nothing."""
    cache = KVCache(policy, 1, 1, 4, window=2, sinks=1 if policy == "sink" else 0)
    keeps = cache.keeps(torch.tensor([[A, B, C, D, -1]]), torch.tensor([[D]]))[0].tolist()
    expected = {"ring": [False, False, True, True], "seed": [False, False, True, True],
                "sink": [True, False, False, True], "mask-only": [True] * 4, "full": [True] * 4}
    assert keeps == expected[policy] + [False]
    prefill = cache.keeps(torch.tensor([[A, B, C, D]]), torch.tensor([[D]]), decode=False)[0].tolist()
    assert prefill == ([True] * 4 if policy in ("seed", "mask-only", "full") else expected[policy])


@pytest.mark.parametrize("policy", POLICIES)
def test_graph_safe_says_whether_decode_writes_stay_in_the_same_storage(policy):
    """A captured CUDA graph replays writes into fixed addresses: `graph_safe` must be true exactly for
    the caches whose decode writes never reallocate (a seed cache given a capacity still does)."""
    cache = KVCache(policy, 1, 1, 4, window=3, sinks=1 if policy == "sink" else 0, capacity=16)
    write(cache, [A, B, C, D])
    storage = [t.data_ptr() for t in (cache.k, cache.v, cache.pos)]
    for p in range(4, 10):
        write(cache, [p], decode=True)
    stays = storage == [t.data_ptr() for t in (cache.k, cache.v, cache.pos)]
    assert cache.graph_safe == stays == (policy != "seed")
    growing = KVCache(policy, 1, 1, 4, window=3, sinks=1 if policy == "sink" else 0)  # no capacity
    assert growing.graph_safe == (policy in ("ring", "sink"))


def test_an_ssm_state_is_graph_safe_because_it_updates_in_place():
    from swa_demo.config import seed_tiny
    from swa_demo.generate import decode_one_token, make_caches, prefill
    from swa_demo.model import build

    model = build(seed_tiny(layer_pattern="jamba"), seed=0)
    caches = make_caches(model, 1, "ring")
    state = caches[0]
    storage = [state.conv.data_ptr(), state.ssm.data_ptr()]
    prefill(model, torch.tensor([[A, B, C]]), torch.tensor([[0, 1, 2]]), caches)
    for p in (3, 4, 5):
        decode_one_token(model, torch.tensor([[p]]), torch.tensor([[p]]), caches)
    assert state.graph_safe and [state.conv.data_ptr(), state.ssm.data_ptr()] == storage
    assert state.seen.tolist() == [6]


def test_a_cuda_graph_refuses_a_seed_cache_before_capturing():
    from swa_demo.config import seed_tiny
    from swa_demo.generate import GraphedDecode, make_caches
    from swa_demo.model import build

    model = build(seed_tiny(), seed=0)
    caches = make_caches(model, 1, "seed", capacity=8)
    with pytest.raises(AssertionError, match=r"layer 0 \(seed\)"):
        GraphedDecode(model, caches, torch.tensor([[3]]), torch.tensor([[3]]))


def test_ring_chunk_longer_than_window_reads_every_key_it_needs():
    ring = KVCache("ring", 1, 1, 4, window=2)
    write(ring, [A, B])
    view = write(ring, [C, D, E])
    assert sorted(view.pos.flatten().tolist()) == [A, B, C, D, E]  # old entries + the whole chunk
    assert ring.unrotate() == [D, E]
