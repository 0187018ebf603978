"""The sliding-window predicate, written once, and everything derived from it.

A window `W` counts the query itself: query `q` may attend key `k` iff `k <= q and q - k < W`
(transformers' `sliding_window`, vLLM, flash-attn's `window_size=(W-1, 0)`). With attention sinks
(StreamingLLM) the first `S` positions stay visible too and the sliding part shrinks to `W - S`, so a
layer never needs more than `W` cached keys.

Worked example, `W = 2`, prompt `A B C` (positions 0, 1, 2), then `D` (3):

    prefill   A -> [A]   B -> [A, B]   C -> [B, C]
    decode    D -> [C, D]              first position still needed: 3 - 2 + 1 = 2

The dense mask, the FlexAttention `BlockMask`, the caches' eviction rule and the receptive field all
call `allowed` or `first_needed`; `tests/test_window.py` checks that they agree.
"""

from __future__ import annotations

import torch

NO_POSITION = -1  # marks an empty cache slot or a padding token


def allowed(q, k, window: int | None, sinks: int = 0):
    """May query position `q` attend key position `k`? Works on ints and on broadcastable tensors.

    `window=None` is full causal attention. Negative positions (empty slots, padding) never match.
    """
    causal = (k <= q) & (k >= 0) if isinstance(k, torch.Tensor) else (0 <= k <= q)
    if window is None:
        return causal
    near = (q - k) < (window - sinks)
    if sinks:
        near = near | (k < sinks)
    return causal & near


def first_needed(q: int, window: int | None, sinks: int = 0) -> int:
    """The oldest non-sink position a query at `q` (or any later one) still reads.

    Every position below it, sinks aside, may be evicted: decoding D (q = 3) with W = 2 gives 2.
    """
    if window is None:
        return 0
    return max(q - (window - sinks) + 1, 0)


def dense_mask(q_pos: torch.Tensor, k_pos: torch.Tensor, window: int | None,
               sinks: int = 0) -> torch.Tensor:
    """Boolean mask (B, Tq, Tk) from query positions (B, Tq) and key positions (B, Tk).

    A padding query (position < 0) gets a row that attends every valid key instead of none, so that
    softmax stays finite; its output is never cached or read.
    """
    q = q_pos[:, :, None]
    k = k_pos[:, None, :]
    mask = allowed(q, k, window, sinks)
    pad_rows = (q_pos < 0)[:, :, None]
    return torch.where(pad_rows, (k >= 0).expand_as(mask), mask)


def causal_window_mask(n: int, window: int | None, sinks: int = 0) -> torch.Tensor:
    """The (n, n) mask of a prompt at positions 0..n-1: the band the classroom draws."""
    pos = torch.arange(n)
    return dense_mask(pos[None], pos[None], window, sinks)[0]


def flex_block_mask(q_pos: torch.Tensor, k_pos: torch.Tensor, window: int | None, sinks: int = 0,
                    block_size: int = 128):
    """FlexAttention `BlockMask` for the same predicate, over arbitrary query and key positions.

    The positions are looked up inside `mask_mod`, so a ring cache's rotated slots, ragged rows and
    chunked prefill all use the one rule.
    """
    from torch.nn.attention.flex_attention import create_block_mask

    B, Tq = q_pos.shape
    Tk = k_pos.shape[1]

    def mask_mod(b, h, q_idx, kv_idx):
        q = q_pos[b, q_idx]
        k = k_pos[b, kv_idx]
        return allowed(q, k, window, sinks) | ((q < 0) & (k >= 0))

    return create_block_mask(mask_mod, B, None, Tq, Tk, device=q_pos.device,
                             BLOCK_SIZE=block_size, _compile=q_pos.is_cuda)


def prompt_block_mask(n: int, window: int | None, device, sinks: int = 0, block_size: int = 128):
    """BlockMask for a batch-shared prompt at positions 0..n-1 (the GPU prefill path).

    Index arithmetic only, no position lookups, so FlexAttention can skip whole blocks outside the band.
    """
    from torch.nn.attention.flex_attention import create_block_mask

    def mask_mod(b, h, q_idx, kv_idx):
        return allowed(q_idx, kv_idx, window, sinks)

    return create_block_mask(mask_mod, None, None, n, n, device=device, BLOCK_SIZE=block_size,
                             _compile=torch.device(device).type == "cuda")


def receptive_field(layer_windows: list[int | None], n: int) -> torch.Tensor:
    """Which input positions can influence each position's hidden state after each layer.

    `layer_windows[l]` is layer l's window (None: full attention or an SSM layer, which both carry all
    earlier positions forward). Returns a bool tensor (L + 1, n, n): entry [l, q, k] says input `k` can
    reach position `q` after `l` layers (l = 0 is the embedding: only itself). With every layer
    sliding, a position reaches `L * (W - 1) + 1` inputs back, itself included.
    """
    reach = torch.eye(n, dtype=torch.bool)
    out = [reach]
    for w in layer_windows:
        step = causal_window_mask(n, w).to(torch.int32)  # (q, k): q reads k in this layer
        reach = (step @ reach.to(torch.int32)) > 0
        out.append(reach)
    return torch.stack(out)
