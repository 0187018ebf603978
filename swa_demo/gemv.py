"""A few rows times a large weight matrix, as one Triton kernel (GPU decode; `model.Linear` calls it).

At batch 1 a projection is a read of its weights: y (M, N) = x (M, K) @ W (N, K)^T with M a handful
of rows. cuBLAS picks split-K GEMM kernels for the smaller of Mistral's matrices, which read them well
below the memory rate: on an H100, timed in a CUDA graph through all 32 layers, the 4096 x 4096 output
projection at 71% of the copy rate and Q/K/V at 84%, where this kernel reaches 81% and 87% (96-101% for
the FFN's matrices, as cuBLAS does). Each program owns BLOCK_N output columns and streams their rows of
W once, over all of K, with the few rows of x padded to 16 for the matrix unit.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

MAX_ROWS = 16  # rows of x one call takes (padded to this for tl.dot); more rows: a GEMM is better


@triton.autotune(configs=[triton.Config({"BLOCK_N": bn, "BLOCK_K": bk}, num_warps=4, num_stages=s)
                          for bn, bk, s in ((16, 256, 4), (16, 512, 3), (32, 256, 4), (32, 128, 5),
                                            (64, 128, 4))],
                 key=["N", "K"])
@triton.jit
def _gemv(X, W, Y, M, N, K, stride_xm, stride_wn, stride_ym,
          BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, M_PAD: tl.constexpr):
    n = tl.program_id(0) * BLOCK_N + tl.arange(0, BLOCK_N)
    m = tl.arange(0, M_PAD)
    acc = tl.zeros([M_PAD, BLOCK_N], tl.float32)
    for k0 in range(0, K, BLOCK_K):
        k = k0 + tl.arange(0, BLOCK_K)
        x = tl.load(X + m[:, None] * stride_xm + k[None, :], mask=(m[:, None] < M) & (k[None, :] < K),
                    other=0.0)  # (M_PAD, BLOCK_K)
        w = tl.load(W + n[:, None] * stride_wn + k[None, :], mask=(n[:, None] < N) & (k[None, :] < K),
                    other=0.0)  # (BLOCK_N, BLOCK_K)
        acc += tl.dot(x, tl.trans(w))
    tl.store(Y + m[:, None] * stride_ym + n[None, :], acc.to(Y.dtype.element_ty),
             mask=(m[:, None] < M) & (n[None, :] < N))


def gemv(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """x (..., K) with at most MAX_ROWS rows, weight (N, K) -> (..., N), both bf16/fp16 on the GPU."""
    K = x.shape[-1]
    rows = x.reshape(-1, K)
    M, N = rows.shape[0], weight.shape[0]
    assert M <= MAX_ROWS and weight.shape[1] == K and weight.stride(1) == 1, (x.shape, weight.shape)
    rows = rows if rows.stride(1) == 1 else rows.contiguous()
    y = torch.empty(M, N, device=x.device, dtype=x.dtype)
    _gemv[lambda meta: (triton.cdiv(N, meta["BLOCK_N"]),)](
        rows, weight, y, M, N, K, rows.stride(0), weight.stride(0), y.stride(0), M_PAD=MAX_ROWS)
    return y.view(*x.shape[:-1], N)
