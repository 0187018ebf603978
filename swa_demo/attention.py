"""Attention backends with one signature: `attend(q, k, v, mask) -> (out, weights | None)`.

    q: (B, Hq, Tq, D)   k, v: (B, Hkv, Tk, D)   out: (B, Hq, Tq, D)   weights: (B, Hq, Tq, Tk)

`Hq` is a multiple of `Hkv` (grouped-query attention). Each backend also builds its own kind of mask
from positions, through the one predicate in `window.py`: `make_mask(q_pos, k_pos, window, sinks)`.

- `eager`: plain matmul + softmax over a dense boolean mask; the only one that returns the weights,
  so the classroom traces through it. It is also the reference the others are tested against.
- `sdpa`: `torch.nn.functional.scaled_dot_product_attention` with the same dense mask.
- `flex`: FlexAttention with a `BlockMask`, which skips whole blocks outside the band (prefill).
- `splitkv`: decode steps (one query per row) on the GPU through a split-KV Triton kernel
  (`splitkv.py`) that spreads the window's keys over the whole chip; anything else as `sdpa`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from . import window as win

decode_attention = None
if torch.cuda.is_available():  # Triton comes with CUDA builds of torch; the CPU path never needs it
    from .splitkv import decode_attention


class Eager:
    name = "eager"

    @staticmethod
    def make_mask(q_pos, k_pos, window, sinks=0):
        return win.dense_mask(q_pos, k_pos, window, sinks)  # (B, Tq, Tk)

    @staticmethod
    def attend(q, k, v, mask):
        B, H, Tq, D = q.shape
        Hkv, Tk = k.shape[1], k.shape[2]
        rep = H // Hkv
        # Group the query heads that share a KV head instead of copying K and V `rep` times: each KV
        # head is read once, which is what makes this path bandwidth-efficient in decode.
        qg = q.reshape(B, Hkv, rep * Tq, D)
        scores = (qg @ k.transpose(-2, -1)).view(B, Hkv, rep, Tq, Tk) / math.sqrt(D)
        scores = scores.masked_fill(~mask[:, None, None], float("-inf"))
        weights = torch.softmax(scores.float(), dim=-1).to(q.dtype)  # (B, Hkv, rep, Tq, Tk)
        out = weights.view(B, Hkv, rep * Tq, Tk) @ v  # (B, Hkv, rep * Tq, D)
        return out.view(B, H, Tq, D), weights.view(B, H, Tq, Tk)


class Sdpa:
    name = "sdpa"

    @staticmethod
    def make_mask(q_pos, k_pos, window, sinks=0):
        return win.dense_mask(q_pos, k_pos, window, sinks)[:, None]  # (B, 1, Tq, Tk)

    @staticmethod
    def attend(q, k, v, mask):
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                             enable_gqa=q.shape[1] != k.shape[1])
        return out, None


class Flex:
    name = "flex"
    compiled = None  # set by `compile_flex()` on the GPU; eager FlexAttention runs anywhere

    MIN_QUERIES = 128  # shorter chunks take SDPA: torch 2.11's compiled kernel rejects them with GQA

    @staticmethod
    def make_mask(q_pos, k_pos, window, sinks=0):
        B, Tq = q_pos.shape
        if Tq < Flex.MIN_QUERIES:
            return Sdpa.make_mask(q_pos, k_pos, window, sinks)
        shared = k_pos.shape == q_pos.shape and bool((q_pos == k_pos).all())
        if shared and bool((q_pos == torch.arange(Tq, device=q_pos.device)).all()):
            # A fresh prompt at 0..T-1, the same for every row: index arithmetic only.
            return win.prompt_block_mask(Tq, window, q_pos.device, sinks)
        return win.flex_block_mask(q_pos, k_pos, window, sinks)

    @staticmethod
    def attend(q, k, v, mask):
        from torch.nn.attention.flex_attention import flex_attention

        if isinstance(mask, torch.Tensor):  # a short chunk: dense mask (see MIN_QUERIES)
            return Sdpa.attend(q, k, v, mask)
        fn = Flex.compiled or flex_attention
        out = fn(q, k, v, block_mask=mask, enable_gqa=q.shape[1] != k.shape[1])
        return out, None


class SplitKV:
    name = "splitkv"

    @staticmethod
    def make_mask(q_pos, k_pos, window, sinks=0):
        mask = Sdpa.make_mask(q_pos, k_pos, window, sinks)  # (B, 1, Tq, Tk)
        # One query per row on the GPU is the kernel's case; it reads bytes: convert once per step here,
        # not in every layer.
        return mask.to(torch.uint8) if q_pos.is_cuda and q_pos.shape[1] == 1 else mask

    @staticmethod
    def attend(q, k, v, mask):
        if q.is_cuda and q.shape[2] == 1:  # the same case as make_mask's
            return decode_attention(q, k, v, mask), None
        return Sdpa.attend(q, k, v, mask)


FLEX_RECOMPILE_LIMIT = 64  # one compiled kernel per prompt shape and mask: a sweep makes dozens


def compile_flex() -> None:
    """Use the compiled FlexAttention kernel (GPU): eager FlexAttention is a slow reference."""
    from torch.nn.attention.flex_attention import flex_attention

    if Flex.compiled is None:
        compiled = torch.compile(flex_attention, dynamic=False)  # one tuned kernel per shape
        Flex.compiled = with_recompile_limit(compiled, FLEX_RECOMPILE_LIMIT)


def with_recompile_limit(fn, limit: int):
    """`fn`, run with dynamo's recompile limit raised to at least `limit` for the call only.

    The limit is read when a compiled function is entered (that is when dynamo decides whether to
    recompile), so raising it around each call is enough; nothing else in the process sees it changed.
    """
    def run(*args, **kwargs):
        with torch._dynamo.config.patch(recompile_limit=max(torch._dynamo.config.recompile_limit, limit)):
            return fn(*args, **kwargs)

    return run


BACKENDS = {b.name: b for b in (Eager, Sdpa, Flex, SplitKV)}


def get_backend(name: str):
    if name not in BACKENDS:
        raise ValueError(f"unknown attention backend {name!r}; use one of {', '.join(BACKENDS)}")
    return BACKENDS[name]
