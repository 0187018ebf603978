"""The GPU decode kernels' arithmetic, on the CPU through Triton's interpreter (TRITON_INTERPRET=1).

On the GPU they run compiled, and `bench gpu` checks them there against the eager reference; here the
same source runs as NumPy, so a wrong index, a bad mask or a broken online softmax fails without a GPU.
(The interpreter mishandles bfloat16, so these run in float32 and float16.)
"""

import os

import pytest
import torch

from swa_demo import window as win
from swa_demo.attention import Eager


@pytest.fixture(scope="module")
def kernels():
    assert os.environ.get("TRITON_INTERPRET") == "1", "tests/conftest.py sets it before Triton loads"
    from swa_demo import gemv, splitkv

    gemv._gemv.configs = gemv._gemv.configs[:1]  # one config: the autotuner needs no GPU to time
    return splitkv, gemv


def ring_positions(batch_q: list[int], slots: int) -> torch.Tensor:
    """What a ring of `slots` holds after positions 0..q of each row: slot i keeps the latest p ≡ i."""
    pos = torch.full((len(batch_q), slots), -1)
    for b, q in enumerate(batch_q):
        for p in range(q + 1):
            pos[b, p % slots] = p
    return pos


@pytest.mark.parametrize("B,H,Hkv,N,D,q_pos,W", [
    (2, 8, 2, 96, 16, [50, 200], 48),  # one row still filling, one wrapped many times
    (1, 4, 4, 130, 32, [7], 64),  # mostly empty slots; slices with nothing allowed
    (3, 6, 2, 64, 16, [63, 100, 5], 64),  # window = ring: every held key allowed
    (1, 32, 8, 700, 16, [699], None),  # full attention over a long cache: many slices to merge
])
def test_splitkv_decode_matches_eager_attention(kernels, B, H, Hkv, N, D, q_pos, W):
    splitkv, _ = kernels
    g = torch.Generator().manual_seed(N)
    q = torch.randn(B, H, 1, D, generator=g)
    k, v = torch.randn(B, Hkv, N, D, generator=g), torch.randn(B, Hkv, N, D, generator=g)
    qp = torch.tensor(q_pos)[:, None]
    mask = win.dense_mask(qp, ring_positions(q_pos, N), W)  # (B, 1, N)
    want, _ = Eager.attend(q.double(), k.double(), v.double(), mask)
    out = splitkv.decode_attention(q, k, v, mask[:, None].to(torch.uint8))
    assert out.shape == q.shape
    assert (out.double() - want).abs().max() < 1e-5


@pytest.mark.parametrize("M,N,K,dtype", [(1, 100, 300, torch.float32), (3, 64, 512, torch.float16),
                                         (16, 48, 80, torch.float32), (1, 70, 1000, torch.float16)])
def test_gemv_matches_a_matmul(kernels, M, N, K, dtype):
    _, gemv = kernels
    g = torch.Generator().manual_seed(K)
    x, w = torch.randn(1, M, K, generator=g).to(dtype), torch.randn(N, K, generator=g).to(dtype)
    want = x.double() @ w.double().T
    got = gemv.gemv(x, w)
    assert got.shape == (1, M, N) and got.dtype == dtype
    tol = 1e-5 if dtype == torch.float32 else 3e-3
    assert ((got.double() - want).norm() / want.norm()) < tol
