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


@pytest.mark.parametrize("policy", ["seed", "ring", "sink", "mask-only", "full"])
def test_every_write_reports_exactly_what_left_the_cache(policy):
    torch.manual_seed(0)
    cache = KVCache(policy, 1, 1, 4, window=3, sinks=1 if policy == "sink" else 0)
    writes = [[0, 1, 2, 3, 4], [5], [6], [7, 8], [9], [10]]
    for positions in writes:
        before = set(cache.unrotate())
        view = write(cache, positions)
        after = set(cache.unrotate())
        assert set(view.evicted.flatten().tolist()) - {-1} == before - after
        if len(positions) == 1:
            assert positions[0] in after


def test_ring_chunk_longer_than_window_reads_every_key_it_needs():
    ring = KVCache("ring", 1, 1, 4, window=2)
    write(ring, [A, B])
    view = write(ring, [C, D, E])
    assert sorted(view.pos.flatten().tolist()) == [A, B, C, D, E]  # old entries + the whole chunk
    assert ring.unrotate() == [D, E]
