"""Decode attention for the GPU: one query per row, the keys split across the whole chip (Triton).

A decode step has one query per row, so an attention kernel that gives each (row, head) one thread
block runs 8 blocks for Mistral-7B at batch 1 and leaves most of the GPU idle while the window is
read. Here the keys of each (row, KV head) are cut into slices ("split-KV", as in flash-decoding):

    _partial   one program per (row, KV head, slice): reads its slice of K and V once for all the query
               heads that share that KV head, and keeps a running softmax (max m, sum l, weighted sum acc)
    _merge     one program per (row, query head): rescales the slices to a common max and adds them up

The mask is the caller's dense mask (`window.dense_mask`, as bytes), so the window rule stays in one
place. Only the GPU kernels' modules (this one and `gemv.py`) import Triton; the CPU path never does.
"""

from __future__ import annotations

import math

import torch
import triton
import triton.language as tl

BLOCK_N = 64  # keys per inner step
TARGET_PROGRAMS = 512  # slices are sized to launch about this many programs: ~4 per SM on an H100


@triton.jit
def _partial(Q, K, V, Mask, Acc, M, L, n_keys, keys_per_split,
             stride_qb, stride_qh, stride_kb, stride_kh, stride_kn, stride_vb, stride_vh, stride_vn,
             stride_mb, HKV: tl.constexpr, SPLITS: tl.constexpr, G: tl.constexpr,
             G_PAD: tl.constexpr, D: tl.constexpr, BLOCK: tl.constexpr, PRECISION: tl.constexpr,
             SCALE: tl.constexpr):
    bh, split = tl.program_id(0), tl.program_id(1)
    b, h = bh // HKV, bh % HKV
    g, d = tl.arange(0, G_PAD), tl.arange(0, D)
    q = tl.load(Q + b * stride_qb + (h * G + g)[:, None] * stride_qh + d[None, :],
                mask=(g < G)[:, None], other=0.0)  # (G_PAD, D): the query heads of KV head h
    m = tl.full([G_PAD], float("-inf"), tl.float32)
    l = tl.zeros([G_PAD], tl.float32)
    acc = tl.zeros([G_PAD, D], tl.float32)
    start = split * keys_per_split
    end = tl.minimum(start + keys_per_split, n_keys)
    for n0 in range(start, end, BLOCK):
        n = n0 + tl.arange(0, BLOCK)
        inside = n < end
        allowed = tl.load(Mask + b * stride_mb + n, mask=inside, other=0) != 0
        k = tl.load(K + b * stride_kb + h * stride_kh + n[:, None] * stride_kn + d[None, :],
                    mask=inside[:, None], other=0.0)
        v = tl.load(V + b * stride_vb + h * stride_vh + n[:, None] * stride_vn + d[None, :],
                    mask=inside[:, None], other=0.0)
        s = tl.dot(q, tl.trans(k), input_precision=PRECISION) * SCALE  # (G_PAD, BLOCK), float32
        s = tl.where(allowed[None, :], s, float("-inf"))
        m_new = tl.maximum(m, tl.max(s, 1))
        m_ref = tl.where(m_new == float("-inf"), 0.0, m_new)  # nothing allowed yet: keep exp() at 0
        alpha = tl.exp(m - m_ref)
        p = tl.exp(s - m_ref[:, None])
        l = l * alpha + tl.sum(p, 1)
        acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v, input_precision=PRECISION)
        m = m_new
    row = (bh * SPLITS + split) * G + g  # partials laid out (B, HKV, SPLITS, G)
    tl.store(M + row, m, mask=g < G)
    tl.store(L + row, l, mask=g < G)
    tl.store(Acc + row[:, None] * D + d[None, :], acc, mask=(g < G)[:, None])


@triton.jit
def _merge(Acc, M, L, Out, stride_ob, stride_oh, H: tl.constexpr, HKV: tl.constexpr,
           SPLITS: tl.constexpr, S_PAD: tl.constexpr, G: tl.constexpr, D: tl.constexpr):
    bq = tl.program_id(0)  # (row, query head)
    b, hq = bq // H, bq % H
    h, g = hq // G, hq % G
    s, d = tl.arange(0, S_PAD), tl.arange(0, D)
    row = ((b * HKV + h) * SPLITS + s) * G + g  # (S_PAD,)
    valid = s < SPLITS
    m = tl.load(M + row, mask=valid, other=float("-inf"))
    l = tl.load(L + row, mask=valid, other=0.0)
    acc = tl.load(Acc + row[:, None] * D + d[None, :], mask=valid[:, None], other=0.0)
    top = tl.max(m, 0)
    w = tl.where(m == float("-inf"), 0.0, tl.exp(m - top))  # slices with no allowed key weigh 0
    out = tl.sum(acc * w[:, None], 0) / tl.sum(l * w, 0)
    tl.store(Out + b * stride_ob + hq * stride_oh + d, out.to(Out.dtype.element_ty))


def decode_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """q (B, H, 1, D), k/v (B, Hkv, N, D), mask (B, 1, 1, N) uint8 (1: may attend) -> out (B, H, 1, D).

    Every query needs at least one allowed key (a decode step always sees its own): a row with none
    would divide by zero.
    """
    B, H, Tq, D = q.shape
    Hkv, N = k.shape[1], k.shape[2]
    assert Tq == 1 and H % Hkv == 0 and D >= 16 and D & (D - 1) == 0, (q.shape, k.shape)
    assert k.stride(3) == 1 and v.stride(3) == 1 and q.stride(3) == 1
    G = H // Hkv
    # Enough slices to give every SM a few programs, each slice a whole number of inner steps.
    want = max(1, min(triton.cdiv(N, BLOCK_N), triton.cdiv(TARGET_PROGRAMS, B * Hkv)))
    per_split = triton.cdiv(triton.cdiv(N, want), BLOCK_N) * BLOCK_N
    splits = triton.cdiv(N, per_split)
    acc = torch.empty(B, Hkv, splits, G, D, device=q.device, dtype=torch.float32)
    m = torch.empty(B, Hkv, splits, G, device=q.device, dtype=torch.float32)
    l = torch.empty_like(m)
    allowed = mask.reshape(B, N)
    _partial[(B * Hkv, splits)](q, k, v, allowed, acc, m, l, N, per_split,
                                q.stride(0), q.stride(1), k.stride(0), k.stride(1), k.stride(2),
                                v.stride(0), v.stride(1), v.stride(2), allowed.stride(0),
                                HKV=Hkv, SPLITS=splits, G=G, G_PAD=max(16, triton.next_power_of_2(G)),
                                D=D, BLOCK=BLOCK_N, num_warps=4, num_stages=2,
                                PRECISION="ieee" if q.dtype == torch.float32 else "tf32",
                                SCALE=1.0 / math.sqrt(D))  # a constant: a float argument may arrive as fp64
    out = torch.empty_like(q)
    _merge[(B * H,)](acc, m, l, out, out.stride(0), out.stride(1), H=H, HKV=Hkv, SPLITS=splits,
                     S_PAD=triton.next_power_of_2(splits), G=G, D=D, num_warps=4)
    return out
