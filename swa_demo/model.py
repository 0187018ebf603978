"""The decoder: embeddings, RoPE, grouped-query attention, FFN, LM head.

Dimension letters:
    B  batch             T  new tokens in this forward      Tk  keys read (cache + new)
    C  d_model           H  query heads                     Hkv KV heads (H / Hkv query heads share one)
    D  head dim          F  FFN width                       V   vocabulary
    W  sliding window    L  layers

The model has no time loop and holds no cache: `forward(tokens, positions, caches)` takes the caches
from the caller (`generate.py`), so the classroom can inspect them after every step. An optional
observer sees each attention layer's positions, mask, weights and cache; with none, nothing is recorded.
Deliberately left out: dropout, biases in attention, sampling (decoding is greedy in `generate.py`).
"""

from __future__ import annotations

import contextlib
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from .attention import get_backend
from .config import FULL, MAMBA, SLIDING, ModelConfig

gemv = None
if torch.cuda.is_available():  # Triton comes with CUDA builds of torch; the CPU path never needs it
    from .gemv import MAX_ROWS, gemv


def dtype_of(name: str) -> torch.dtype:
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16,
            "float64": torch.float64}[name]


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        xf = x.float()
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * xf.to(x.dtype)


class Linear(nn.Linear):
    """`nn.Linear`, except that a few rows times the weights on the GPU (a decode step) go through
    `gemv.gemv`, which reads the weights at the memory rate where cuBLAS does not."""

    def forward(self, x):
        if (gemv is not None and x.is_cuda and self.bias is None
                and x.dtype in (torch.bfloat16, torch.float16) and x.numel() <= MAX_ROWS * x.shape[-1]):
            return gemv(x, self.weight)
        return F.linear(x, self.weight, self.bias)


def make_norm(cfg: ModelConfig) -> nn.Module:
    if cfg.norm == "rmsnorm":
        return RMSNorm(cfg.d_model, cfg.norm_eps)
    return nn.LayerNorm(cfg.d_model, eps=cfg.norm_eps)


def rope_tables(positions: torch.Tensor, head_dim: int, theta: float, dtype: torch.dtype):
    """cos, sin of shape (B, 1, T, D) for absolute `positions` (B, T), in Mistral's half-split layout."""
    inv_freq = 1.0 / theta ** (torch.arange(0, head_dim, 2, device=positions.device,
                                            dtype=torch.float32) / head_dim)
    angles = positions.clamp_min(0).float()[..., None] * inv_freq  # (B, T, D/2), float32 as in transformers
    # The same angles reduced to [0, 2π) in float64: float32 cos/sin take a slow exact path past ~1e5
    # radians (positions beyond 100k), and a compiled decode step evaluates them in every layer.
    angles = torch.remainder(angles.double(), 2 * math.pi).float()
    angles = torch.cat([angles, angles], dim=-1)[:, None]  # (B, 1, T, D)
    return angles.cos().to(dtype), angles.sin().to(dtype)


def apply_rope(x, cos, sin):
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos + rotated * sin


class Attention(nn.Module):
    """Grouped-query attention. It holds weights only: whether it slides, and over how many keys, comes
    with each call (the layer's cache, or `ctx.windows` for a recompute without one), so the same weights
    run as sliding or full attention without being changed."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.n_heads, self.n_kv_heads, self.head_dim = cfg.n_heads, cfg.n_kv_heads, cfg.head_dim
        # Q, K and V in one matrix (rows: all query heads, then the KV heads' keys, then their values):
        # one matmul reads x once, and at batch 1 one large read of the weights beats three small ones.
        self.split = [cfg.n_heads * cfg.head_dim] + [cfg.n_kv_heads * cfg.head_dim] * 2
        self.wqkv = Linear(cfg.d_model, sum(self.split), bias=False)
        self.wo = Linear(cfg.n_heads * cfg.head_dim, cfg.d_model, bias=False)

    def forward(self, x, ctx: StepContext, cache, layer: int):
        B, T, _ = x.shape
        q, k, v = self.wqkv(x).split(self.split, dim=-1)
        q = q.view(B, T, self.n_heads, self.head_dim).transpose(1, 2)  # (B, H, T, D)
        k = k.view(B, T, self.n_kv_heads, self.head_dim).transpose(1, 2)  # (B, Hkv, T, D)
        v = v.view(B, T, self.n_kv_heads, self.head_dim).transpose(1, 2)
        rope_in_cache = cache is not None and cache.rope == "cache"
        if not rope_in_cache:  # RoPE at absolute positions before caching (Mistral): a held key never changes
            q, k = apply_rope(q, ctx.cos, ctx.sin), apply_rope(k, ctx.cos, ctx.sin)

        before = cache.pos.clone() if (ctx.observer and cache is not None) else None
        if cache is None:  # a full recompute: attention reads exactly this forward's keys
            view_k, view_v, k_pos, evicted = k, v, ctx.positions, None
            window, sinks = ctx.windows[layer], 0
            key = ("nocache", window)
        else:
            view_k, view_v, k_pos, evicted = cache.update(k, v, ctx.positions, ctx.decode)
            window, sinks = cache.window, cache.sinks
            key = (cache.policy, window, sinks)
            if rope_in_cache:
                q, view_k = rope_by_cache_index(q, view_k, k_pos, ctx, key)
        # Caches with the same policy see the same positions, so they share one mask per forward.
        mask = ctx.masks.get(key)
        if mask is None:
            mask = ctx.masks[key] = ctx.backend.make_mask(ctx.positions, k_pos, window, sinks)
        out, weights = ctx.backend.attend(q, view_k, view_v, mask)  # (B, H, T, D)
        if ctx.observer:
            kind = SLIDING if window is not None else FULL
            ctx.observer.attention(layer=layer, kind=kind, q_pos=ctx.positions, k_pos=k_pos, mask=mask,
                                   weights=weights, before=before, cache=cache, evicted=evicted)
        return self.wo(out.transpose(1, 2).reshape(B, T, -1))


def rope_by_cache_index(q, k, k_pos, ctx: StepContext, key):
    """StreamingLLM's positions: the cache holds keys before RoPE, and every step rotates each held key
    at its index inside the cache (sinks 0..S-1, then the window in order) and the query at its own.

    Worked example, sinks S = 4 and W = 8, decoding position 100: the cache holds 0-3 and 97-100; they
    sit at 0-7 and the query at 7, so a sink is 7 - j away instead of 100 - j, and no position ever
    passes W - 1, however long the text. Keys inside the window keep their distances to the query;
    only the sinks move closer. Defined for one query per row (decode), the newest position held.
    """
    assert ctx.decode, "positions counted inside the cache need one token per step (decode steps)"
    cached = ctx.masks.get(("rope", key))
    if cached is None:
        valid = k_pos >= 0  # (B, Tk)
        order = torch.where(valid, k_pos, k_pos.new_full((), 2**62)).argsort(dim=1)
        index = torch.empty_like(k_pos).scatter_(1, order, torch.arange(k_pos.shape[1], device=k_pos.device)
                                                 .expand_as(k_pos))
        index = torch.where(valid, index, 0)
        q_index = valid.sum(dim=1, keepdim=True) - 1  # (B, 1): the query is the newest key
        head_dim, theta = q.shape[-1], ctx.rope_theta
        cached = ctx.masks[("rope", key)] = (rope_tables(index, head_dim, theta, q.dtype),
                                             rope_tables(q_index, head_dim, theta, q.dtype))
    (k_cos, k_sin), (q_cos, q_sin) = cached
    return apply_rope(q, q_cos, q_sin), apply_rope(k, k_cos, k_sin)


class FeedForward(nn.Module):
    """`relu`: the seed's FFN(x) = max(0, x W1 + b1) W2 + b2.  `swiglu`: Mistral's gated FFN."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.kind = cfg.ffn
        if cfg.ffn == "relu":
            self.w1 = Linear(cfg.d_model, cfg.d_ff)
            self.w2 = Linear(cfg.d_ff, cfg.d_model)
        else:
            self.gate_up = Linear(cfg.d_model, 2 * cfg.d_ff, bias=False)  # [gate; up]: one matmul
            self.down = Linear(cfg.d_ff, cfg.d_model, bias=False)

    def forward(self, x):
        if self.kind == "relu":
            return self.w2(F.relu(self.w1(x)))
        gate, up = self.gate_up(x).chunk(2, dim=-1)
        return self.down(F.silu(gate) * up)


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig, kind: str):
        super().__init__()
        self.norm1 = make_norm(cfg)
        if kind == MAMBA:
            from .mamba import MambaMixer

            self.mixer = MambaMixer(cfg)
        else:
            self.mixer = Attention(cfg)
        self.norm2 = make_norm(cfg)
        self.ffn = FeedForward(cfg)

    def forward(self, x, ctx: StepContext, cache, layer: int):
        x = x + self.mixer(self.norm1(x), ctx, cache, layer)
        return x + self.ffn(self.norm2(x))


class StepContext:
    """What every layer of one forward shares: positions, RoPE tables, masks, backend, observer."""

    def __init__(self, positions, cos, sin, backend, observer, decode, windows=None, rope_theta=None):
        self.positions = positions  # (B, T), -1 marks padding
        self.rope_theta = rope_theta  # for caches that rotate keys at their index inside the cache
        self.windows = windows  # each layer's window (None: full) for a recompute without caches
        self.decode = decode  # one real token per row: caches take their in-place decode path
        self.cos, self.sin = cos, sin
        self.backend = backend
        self.observer = observer
        self.masks: dict = {}  # per cache policy: its mask (and index RoPE tables), shared by its layers


class Decoder(nn.Module):
    def __init__(self, cfg: ModelConfig, backend: str = "eager"):
        super().__init__()
        assert all(t in (SLIDING, FULL, MAMBA) for t in cfg.layer_types), cfg.layer_types
        self.cfg = cfg
        self.backend = backend
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.layers = nn.ModuleList(Block(cfg, kind) for kind in cfg.layer_types)
        self.norm = make_norm(cfg)
        self.lm_head = Linear(cfg.d_model, cfg.vocab_size, bias=False)
        if cfg.tie_embeddings:
            self.lm_head.weight = self.embed.weight

    def forward(self, tokens: torch.Tensor, positions: torch.Tensor, caches: list | None = None,
                observer=None, last_only: bool = False, backend: str | None = None,
                decode: bool = False, layer_types: list[str] | None = None,
                window: int | None = None) -> torch.Tensor:
        """Logits (B, T, V) for `tokens` (B, T) at `positions` (B, T); (B, 1, V) with `last_only`.

        `caches[l]` is layer l's cache (`cache.KVCache` or `mamba.SSMState`), updated in place;
        `None` recomputes from scratch with the dense mask (the reference every fast path must match).
        `decode` marks a decode step (T = 1, no padding). `backend` overrides `self.backend` for this
        call (e.g. FlexAttention for a long prefill).
        `layer_types` and `window` (default: the config's) say which attention layers slide, and over
        how many keys, in a recompute without caches; with caches, each cache says it (`make_caches`).
        With an observer, attention runs on the eager backend, the one that returns weights.
        """
        assert tokens.shape == positions.shape, f"tokens {tokens.shape} vs positions {positions.shape}"
        backend = get_backend("eager" if observer else backend or self.backend)
        x = self.embed(tokens)  # (B, T, C)
        cos, sin = rope_tables(positions, self.cfg.head_dim, self.cfg.rope_theta, x.dtype)
        windows = layer_windows(self.cfg, layer_types, window) if caches is None else None
        ctx = StepContext(positions, cos, sin, backend, observer, decode, windows, self.cfg.rope_theta)
        for i, block in enumerate(self.layers):
            x = block(x, ctx, None if caches is None else caches[i], i)
        if last_only:  # the LM head on one position per row: a 128k prefill never builds (T, V)
            last = positions.argmax(dim=1)  # (B,)
            x = x[torch.arange(x.shape[0], device=x.device), last][:, None]
        return self.lm_head(self.norm(x))




def layer_windows(cfg: ModelConfig, layer_types: list[str] | None = None,
                  window: int | None = None) -> list[int | None]:
    """Each layer's attention window for these kinds (default: the config's): W for a sliding layer,
    None for a full or mamba one. Attention kinds may differ from the config's (the same weights run
    as sliding or full attention); a mamba layer stays one, since it has other weights."""
    kinds = layer_types or cfg.layer_types
    assert len(kinds) == cfg.n_layers, f"{len(kinds)} layer kinds for {cfg.n_layers} layers"
    for built, kind in zip(cfg.layer_types, kinds):
        assert (built == MAMBA) == (kind == MAMBA), f"a {built} layer cannot run as {kind}"
    w = window or cfg.sliding_window
    return [w if kind == SLIDING else None for kind in kinds]


def build(cfg: ModelConfig, backend: str = "eager", seed: int | None = 0, fill: bool = True) -> Decoder:
    """A model on `cfg.device` in `cfg.dtype`, with weights from `seed` (None: leave torch's RNG).

    `fill=False` allocates the weights without filling them, for a checkpoint that overwrites every one
    (`load_state_dict(..., assign=True)`): no random numbers for 135M parameters, and no `meta` device,
    whose first use imports PyTorch's reference kernels (2.4 s on a 2-core machine).
    """
    if seed is not None:
        torch.manual_seed(seed)
    # Born on the device in the target dtype: a 7B model never exists in float32 on the host.
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype_of(cfg.dtype))
    try:
        with torch.device(cfg.device), (contextlib.nullcontext() if fill else _Unfilled()):
            model = Decoder(cfg, backend)
    finally:
        torch.set_default_dtype(previous)
    return model.eval()


class _Unfilled(TorchFunctionMode):
    """Skips what modules' `reset_parameters` fill weights with: `torch.nn.init`'s functions (seen here
    whole: inside them the mode is off) and in-place fills called directly (normal_, uniform_, ...)."""

    FILLS = {torch.Tensor.normal_, torch.Tensor.uniform_, torch.Tensor.fill_, torch.Tensor.zero_}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in self.FILLS or getattr(func, "__module__", None) == "torch.nn.init":
            return args[0] if args else kwargs["tensor"]  # init functions pass it by name
        return func(*args, **(kwargs or {}))
