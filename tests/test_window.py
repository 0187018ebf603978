"""One predicate: the dense mask, the FlexAttention BlockMask, the cache's eviction rule and the
receptive field all agree with `window.allowed`."""

import pytest
import torch

from swa_demo.cache import KVCache
from swa_demo.window import (
    allowed,
    causal_window_mask,
    dense_mask,
    first_needed,
    flex_block_mask,
    receptive_field,
)


def test_the_window_counts_the_query_itself():
    # W = 2: D (3) reads C (2) and D, not B (1).
    assert allowed(3, 3, 2) and allowed(3, 2, 2) and not allowed(3, 1, 2)
    assert not allowed(2, 3, 2)  # causal
    assert first_needed(3, 2) == 2  # the seed's 3 - 2 + 1


@pytest.mark.parametrize("window", [1, 2, 3, 7, None])
def test_dense_mask_is_the_predicate(window):
    n = 9
    mask = causal_window_mask(n, window)
    for q in range(n):
        for k in range(n):
            assert bool(mask[q, k]) == bool(allowed(q, k, window))
        kept = [k for k in range(n) if mask[q, k]]
        assert min(kept) == first_needed(q, window)


@pytest.mark.parametrize("window", [1, 3, 5])
def test_flex_block_mask_matches_dense_mask(window):
    torch.manual_seed(0)
    q_pos = torch.tensor([[5, 6, 7, 8], [2, 3, -1, -1]])
    k_pos = torch.tensor([[4, 1, 2, 3, 5, 6, 7, 8], [0, 1, -1, -1, 2, 3, -1, -1]])
    dense = dense_mask(q_pos, k_pos, window)
    block = flex_block_mask(q_pos, k_pos, window, block_size=4)
    # The BlockMask's mask_mod, evaluated at every (q, k), is the same predicate.
    b, q, k = torch.meshgrid(torch.arange(2), torch.arange(4), torch.arange(8), indexing="ij")
    from_flex = block.mask_mod(b, torch.zeros_like(b), q, k)
    assert torch.equal(from_flex, dense)


@pytest.mark.parametrize("policy", ["seed", "ring"])
@pytest.mark.parametrize("window", [1, 2, 4])
def test_cache_keeps_exactly_what_the_next_query_may_read(policy, window):
    cache = KVCache(policy, 1, 1, 2, window)
    n = 12
    for p in range(n):
        pos = torch.tensor([[p]])
        cache.update(torch.randn(1, 1, 1, 2), torch.randn(1, 1, 1, 2), pos, decode=True)
        held = set(cache.unrotate())
        # After writing p, a decode step at p keeps exactly the positions it may attend.
        assert held == {k for k in range(p + 1) if allowed(p, k, window)}


def test_receptive_field_of_stacked_windows():
    L, W, n = 3, 2, 10
    field = receptive_field([W] * L, n)
    q = n - 1
    reach = field[L, q].nonzero().flatten().tolist()
    assert len(reach) == L * (W - 1) + 1 and reach[-1] == q
    assert field[L - 1, q].sum() == (L - 1) * (W - 1) + 1
    full = receptive_field([W, None, W], n)
    assert full[3, q].all()  # a full layer reaches every earlier position
