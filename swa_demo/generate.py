"""Prefill (optionally in chunks), then greedy decode. Small verbs; the model has no time loop.

An optional observer (`trace.Tracer`) sees each step begin and end and every layer in between; with
none, nothing is recorded. Speed-ups (CUDA graphs, compile) wrap `decode_one_token` from outside.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from .cache import KVCache
from .config import MAMBA, SLIDING
from .model import Decoder, dtype_of, layer_windows
from .window import NO_POSITION


def make_caches(model: Decoder, batch: int, policy: str = "ring", *, sinks: int = 0,
                capacity: int | None = None, layer_types: list[str] | None = None,
                window: int | None = None, rope: str = "absolute") -> list:
    """One cache per layer: sliding layers follow `policy`, full layers keep everything.

    The caches decide how each attention layer runs: `layer_types` and `window` (default: the model's
    config) may turn the same weights' attention layers sliding or full, or change W, for this run only.
    `capacity` (the longest sequence) preallocates the caches that grow, for static shapes on the GPU.
    `rope="cache"` keeps keys before RoPE and counts positions inside each cache (StreamingLLM's way;
    decode steps only), instead of rotating them once at their absolute position.
    """
    cfg = model.cfg
    dtype, device = dtype_of(cfg.dtype), model.embed.weight.device
    kinds = layer_types or cfg.layer_types
    caches = []
    for kind, w in zip(kinds, layer_windows(cfg, kinds, window)):
        if kind == MAMBA:
            from .mamba import SSMState

            caches.append(SSMState(cfg, batch, dtype=dtype, device=device))
            continue
        caches.append(KVCache(policy if kind == SLIDING else "full", batch, cfg.n_kv_heads, cfg.head_dim,
                              w, sinks=sinks, capacity=capacity, dtype=dtype, device=device, rope=rope))
    return caches


def pad_prompts(prompts: list[list[int]], device) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad rows of different lengths: tokens (B, T) and positions (B, T), -1 on padding."""
    assert prompts and all(prompts), "every prompt needs at least one token"
    T = max(map(len, prompts))
    tokens = torch.zeros(len(prompts), T, dtype=torch.long, device=device)
    positions = torch.full((len(prompts), T), NO_POSITION, dtype=torch.long, device=device)
    for i, p in enumerate(prompts):
        tokens[i, :len(p)] = torch.tensor(p, device=device)
        positions[i, :len(p)] = torch.arange(len(p), device=device)
    return tokens, positions


@torch.no_grad()
def prefill(model: Decoder, tokens: torch.Tensor, positions: torch.Tensor, caches: list,
            chunk: int | None = None, observer=None, backend: str | None = None,
            progress: Callable[[int], None] | None = None) -> torch.Tensor:
    """Run the prompt through every layer, `chunk` tokens at a time; logits (B, V) of each row's last.

    `progress(n)` is told the number of positions each chunk covered (a progress bar's update).
    """
    assert chunk is None or chunk >= 1, f"chunk must be >= 1, got {chunk}"
    B, T = tokens.shape
    step = chunk or T
    last = None
    for start in range(0, T, step):
        tok, pos = tokens[:, start:start + step], positions[:, start:start + step]
        if observer:
            observer.begin_step("prefill", tok, pos)
        logits = model(tok, pos, caches, observer=observer, last_only=True,
                       backend=backend)[:, 0]  # (B, V)
        has_token = (pos >= 0).any(dim=1, keepdim=True)  # rows whose prompt reaches this chunk
        last = logits if last is None else torch.where(has_token, logits, last)
        if observer:
            observer.end_step(last)
        if progress:
            progress(tok.shape[1])
    return last


@torch.no_grad()
def decode_one_token(model: Decoder, token: torch.Tensor, pos: torch.Tensor, caches: list,
                     observer=None, backend: str | None = None) -> torch.Tensor:
    """One decode step: `token` (B, 1) at `pos` (B, 1) -> next-token logits (B, V)."""
    if observer:
        observer.begin_step("decode", token, pos)
    logits = model(token, pos, caches, observer=observer, backend=backend, decode=True)[:, -1]
    if observer:
        observer.end_step(logits)
    return logits


@dataclass
class Generation:
    tokens: torch.Tensor  # (B, N) the generated ids
    logits: torch.Tensor  # (B, N, V) the logits row that chose each one
    caches: list  # the caches as the last step left them


@torch.no_grad()
def generate(model: Decoder, prompts: list[list[int]], max_new_tokens: int, *,
             policy: str = "ring", sinks: int = 0, chunk: int | None = None,
             observer=None, preallocate: bool = False, layer_types: list[str] | None = None,
             window: int | None = None, progress: Callable[[int], None] | None = None) -> Generation:
    """Greedy generation for a batch of prompts (rows may differ in length).

    `layer_types` and `window` (default: the model's config) choose which layers slide, over how many
    keys, for this run only (see `make_caches`). `progress(n)` is told the positions each forward
    covered: prompt chunks, then 1 per decode step.
    """
    assert max_new_tokens >= 1, f"max_new_tokens must be >= 1, got {max_new_tokens}"
    device = model.embed.weight.device
    tokens, positions = pad_prompts(prompts, device)
    lengths = (positions >= 0).sum(1, keepdim=True)  # (B, 1)
    capacity = tokens.shape[1] + max_new_tokens if preallocate else None
    caches = make_caches(model, tokens.shape[0], policy, sinks=sinks, capacity=capacity,
                         layer_types=layer_types, window=window)
    logits = prefill(model, tokens, positions, caches, chunk, observer, progress=progress)
    out_tokens, out_logits = [], []
    for i in range(max_new_tokens):
        nxt = logits.argmax(-1, keepdim=True)  # (B, 1)
        out_tokens.append(nxt)
        out_logits.append(logits)
        if i + 1 < max_new_tokens:
            logits = decode_one_token(model, nxt, lengths + i, caches, observer)
            if progress:
                progress(1)
    return Generation(torch.cat(out_tokens, 1), torch.stack(out_logits, 1), caches)


def memory_estimate(cfg, prompt: int, new: int, policy: str, chunk: int | None) -> dict[str, int]:
    """Bytes `generate` allocates beyond the weights for one row on the eager backend:

        caches       each attention layer's entries at the end (ring, sink: W; seed: prompt + W;
                     mask-only and full layers: prompt + new) x 2 (K, V) x Hkv x D x dtype size, plus
                     one layer's copy while a growing cache is reallocated
        logits       the V logits of every new token (`Generation.logits`)
        activations  one forward of the largest chunk c against its Tk keys: the eager attention's
                     scores twice (the scores and their float32 softmax live together),
                     2 x H x c x Tk x 4 B, and the FFN and residual stream, c x (3 F + 8 C) x dtype size

    Worked example: Mistral-7B's shape in float32 (H 32, Hkv 8, D 128, F 14336, C 4096, V 32000), a
    20,000-token prompt in one pass, ring: scores 2 x 32 x 20,000 x 20,000 x 4 B = 102 GB; in chunks of
    512 against at most 4,096 + 512 keys: 0.6 GB. Checked against the peak resident memory of
    `generate` on a 1-layer, 8-head checkpoint with a 20,000-token prompt (2-core CPU, 2026-11-23):
    chunks of 2,000 / 4,000 / 8,000 with ring estimated 0.26 / 1.03 / 4.1 GB for 0.29 / 1.04 / 4.0 GB
    measured above the process's 0.24 GB at rest; with mask-only 2.6 / 5.1 / 10.3 GB for 2.5 / 5.0 /
    8.1 GB (the estimate lets every chunk read the whole prompt).
    """
    size = dtype_of(cfg.dtype).itemsize
    entry = 2 * cfg.n_kv_heads * cfg.head_dim * size
    total = prompt + new
    c = min(prompt, chunk or prompt)
    held, keys = [], []
    for kind in cfg.layer_types:
        if kind == MAMBA:
            continue
        sliding = kind == SLIDING and policy in ("ring", "sink", "seed")
        if sliding and policy == "seed":
            held.append(prompt + cfg.sliding_window)
            keys.append(prompt)
        elif sliding:
            held.append(cfg.sliding_window)
            keys.append(min(prompt, cfg.sliding_window + c))
        else:
            held.append(total)
            keys.append(prompt)
    caches = entry * (sum(held) + max(held, default=0))
    activations = 2 * cfg.n_heads * c * max(keys, default=c) * 4 + c * (3 * cfg.d_ff + 8 * cfg.d_model) * size
    return {"caches": caches, "logits": new * cfg.vocab_size * size, "activations": activations}


@torch.no_grad()
def reference_logits(model: Decoder, tokens: torch.Tensor, layer_types: list[str] | None = None,
                     window: int | None = None) -> torch.Tensor:
    """Logits (B, T, V) of a full recompute with the dense mask and no cache: the ground truth."""
    B, T = tokens.shape
    positions = torch.arange(T, device=tokens.device).expand(B, T)
    return model(tokens, positions, None, layer_types=layer_types, window=window)



class GraphedDecode:
    """`decode_one_token` captured once in a CUDA graph, replayed every step (GPU, static caches).

    The caches must not reallocate (`graph_safe`: `ring`, `sink`, `full`/`mask-only` with a capacity, SSM
    states; never `seed`): the graph writes into their storage in place. Capture runs the real next
    step (same token, same position), so the warm-up writes are the ones the first replay writes again.
    `compile` (a torch.compile mode, e.g. "max-autotune-no-cudagraphs") first compiles the step, which
    fuses the small element-wise kernels between the matmuls. `backend` defaults to the split-KV decode
    kernel, the GPU's fast path.
    """

    def __init__(self, model: Decoder, caches: list, token: torch.Tensor, pos: torch.Tensor,
                 compile: str | None = None, backend: str = "splitkv"):
        unsafe = [f"layer {i} ({c.policy})" for i, c in enumerate(caches) if not c.graph_safe]
        assert not unsafe, (f"a CUDA graph cannot replay caches that reallocate: {', '.join(unsafe)}; "
                            "use ring or sink, or full / mask-only with capacity=...")
        assert token.is_cuda, "CUDA graphs need the model and its caches on a CUDA device"
        self.token, self.pos = token.clone(), pos.clone()

        def step(tok, p):
            return model(tok, p, caches, backend=backend, decode=True)[:, -1]

        fn = torch.compile(step, mode=compile, dynamic=False) if compile else step
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side), torch.no_grad():
            for _ in range(3):  # warm-up: lazy init, autotuning, compilation
                fn(self.token, self.pos)
        torch.cuda.current_stream().wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph), torch.no_grad():
            self.logits = fn(self.token, self.pos)

    def __call__(self, token: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        self.token.copy_(token)
        self.pos.copy_(pos)
        self.graph.replay()
        return self.logits
