"""Prefill (optionally in chunks), then greedy decode. Small verbs; the model has no time loop.

An optional observer (`trace.Tracer`) sees each step begin and end and every layer in between; with
none, nothing is recorded. Speed-ups (CUDA graphs, compile) wrap `decode_one_token` from outside.
"""

from __future__ import annotations

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
            chunk: int | None = None, observer=None, backend: str | None = None) -> torch.Tensor:
    """Run the prompt through every layer, `chunk` tokens at a time; logits (B, V) of each row's last."""
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
             window: int | None = None) -> Generation:
    """Greedy generation for a batch of prompts (rows may differ in length).

    `layer_types` and `window` (default: the model's config) choose which layers slide, over how many
    keys, for this run only (see `make_caches`)."""
    assert max_new_tokens >= 1, f"max_new_tokens must be >= 1, got {max_new_tokens}"
    device = model.embed.weight.device
    tokens, positions = pad_prompts(prompts, device)
    lengths = (positions >= 0).sum(1, keepdim=True)  # (B, 1)
    capacity = tokens.shape[1] + max_new_tokens if preallocate else None
    caches = make_caches(model, tokens.shape[0], policy, sinks=sinks, capacity=capacity,
                         layer_types=layer_types, window=window)
    logits = prefill(model, tokens, positions, caches, chunk, observer)
    out_tokens, out_logits = [], []
    for i in range(max_new_tokens):
        nxt = logits.argmax(-1, keepdim=True)  # (B, 1)
        out_tokens.append(nxt)
        out_logits.append(logits)
        if i + 1 < max_new_tokens:
            logits = decode_one_token(model, nxt, lengths + i, caches, observer)
    return Generation(torch.cat(out_tokens, 1), torch.stack(out_logits, 1), caches)


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
