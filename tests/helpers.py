"""Shared test helpers: random configs and the incremental-vs-recompute comparison."""

from __future__ import annotations

import torch

from swa_demo.config import SLIDING, ModelConfig
from swa_demo.generate import decode_one_token, make_caches, pad_prompts, prefill, reference_logits
from swa_demo.model import build


def random_model(window: int, layers: int = 2, kinds: list[str] | None = None, heads: int = 4,
                 kv_heads: int = 2, seed: int = 0, backend: str = "eager", **extra):
    cfg = ModelConfig(vocab_size=40, d_model=32, n_heads=heads, n_kv_heads=kv_heads, n_layers=layers,
                      layer_types=kinds or [SLIDING] * layers, sliding_window=window, d_ff=48, **extra)
    return build(cfg, backend=backend, seed=seed)


def incremental_logits(model, seqs: list[list[int]], prompt_lens: list[int], policy: str,
                       chunk: int | None = None, sinks: int = 0) -> list[torch.Tensor]:
    """Prefill each row's prompt, then feed the rest of its sequence one token per step.

    Returns, per row, the logits (n - prompt_len + 1, V) predicted at positions prompt_len-1 .. n-1.
    Rows may differ in prompt length and in sequence length: a row whose sequence has ended keeps
    decoding token 0 at its next positions (a decode step never pads), and those logits are dropped.
    """
    prompts = [s[:p] for s, p in zip(seqs, prompt_lens)]
    tokens, positions = pad_prompts(prompts, "cpu")
    caches = make_caches(model, len(seqs), policy, sinks=sinks)
    out = [[row] for row in prefill(model, tokens, positions, caches, chunk)]
    steps = max(len(s) - p for s, p in zip(seqs, prompt_lens))
    for i in range(steps):
        tok = torch.tensor([[s[p + i] if p + i < len(s) else 0] for s, p in zip(seqs, prompt_lens)])
        pos = torch.tensor([[p + i] for p in prompt_lens])
        logits = decode_one_token(model, tok, pos, caches)
        for r, (s, p) in enumerate(zip(seqs, prompt_lens)):
            if p + i < len(s):
                out[r].append(logits[r])
    return [torch.stack(o) for o in out]


def recompute_logits(model, seq: list[int], prompt_len: int) -> torch.Tensor:
    """The reference for one row: full recompute with the dense mask, no cache."""
    ref = reference_logits(model, torch.tensor([seq]))[0]
    return ref[prompt_len - 1:]


def assert_parity(model, seqs, prompt_lens, policy, chunk=None, atol=1e-5):
    got = incremental_logits(model, seqs, prompt_lens, policy, chunk)
    for r, (s, p) in enumerate(zip(seqs, prompt_lens)):
        ref = recompute_logits(model, s, p)
        assert got[r].shape == ref.shape, f"row {r}: {got[r].shape} vs {ref.shape}"
        err = (got[r] - ref).abs().max().item()
        assert err < atol, f"row {r} ({policy}, chunk={chunk}): max |diff| {err:.2e} >= {atol}"

