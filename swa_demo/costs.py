"""What context costs: KV-cache / state bytes, FLOPs and weights against context length, per layer kind.

The model of costs, analytic and without torch (a `costs` command imports no torch). Real model shapes
come from their public `config.json` (the presets in `SHAPES`, or any file through `hf_config`). The
three layer kinds the engine has:

    kind      cache after n tokens                     attention pairs, prefill of n    decode at n
    full      n entries of K and V                     n (n + 1) / 2                    n + 1 keys
    sliding   min(n, W) entries (a ring of W)          sum over q of min(q + 1, W)      min(n + 1, W)
    mamba     E (K - 1 + N) numbers, whatever n        none (a scan: linear in n)       none

The mamba state counts the conv's last K - 1 inputs per channel, all the next step needs and what the
engine's `mamba.SSMState` keeps; transformers' cache keeps K per channel, E more numbers per layer
(`transformers_conv_extra`).

Counting rules (a multiply-add is 2 FLOPs; these are the engine's own matmuls, so torch's
`FlopCounterMode` on a CPU run sees exactly the `matmul_only` figures, see `costs_check`):

    attention layer, per token      q, k, v, o projections: 2 C (2 H D + 2 Hkv D)
    attention, per (query, key)     4 H D: Q·K for the score, weights·V for the output
    mamba layer, per token          in_proj 2 C 2E, conv 2 E K, x_proj 2 E (R + 2N), dt_proj 2 R E,
                                    read-out h·C 2 E N, out_proj 2 E C; plus the scan itself, 6 E N
                                    element-wise (Δ·A, exp, Δ·x·B, a·h + b): no matmul, so
                                    `FlopCounterMode` does not count it
    FFN, per token                  gated (SwiGLU, GeGLU) 2·3 C F, ReLU 2·2 C F; a mixture of experts
                                    runs its top-k experts, plus a router 2 C experts
    LM head                         2 C V per position that needs logits: the last of a prompt, each
                                    decoded token
    left out                        norms, RoPE, softmax, residuals, biases: a few element-wise FLOPs
                                    per number, small next to the matmuls

Parameters count every weight of rank 2 or more (embeddings, projections, experts, router, a mamba
layer's conv kernel and A): a matmul's FLOPs per token are twice its weights. Vectors (norms, biases,
mamba's D) are left out, under 0.1% of any preset. Active parameters are those one token runs through:
a mixture of experts counts its top-k experts, not all of them.

`dense=True` counts what a masked dense kernel computes instead of what the mask keeps: the eager
backend scores every (query, key) pair it is handed, the whole T x T square of a prompt and all W
slots of a ring, and masks afterwards. FlexAttention skips whole blocks outside the band, so it lands
between the two; the useful count is the floor. Worked example, the seed walkthrough (W = 2, prompt
A B C): useful pairs 1 + 2 + 2 = 5, dense pairs 3 x 3 = 9; decoding D reads 2 keys either way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .config import FULL, MAMBA, SLIDING, ConfigError, ModelConfig, pattern

KI = 1024  # tokens in a "k" of context: "128k" = 128 KI = 131072 tokens, as in the GPU benchmark
KINDS = (FULL, SLIDING, MAMBA)
SHORT = {FULL: "full", SLIDING: "sliding", MAMBA: "mamba"}


@dataclass(frozen=True)
class Shape:
    """The sizes that decide a model's costs (no weights). `source` names where they come from."""

    name: str
    source: str
    d_model: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    d_ff: int
    vocab: int
    layer_types: tuple[str, ...]
    window: int | None = None  # sliding layers' W
    ffn: str = "gated"  # "gated": SwiGLU / GeGLU, 3 matrices; "relu": 2
    moe_layers: tuple[int, ...] = ()  # layers whose FFN is a mixture of experts
    experts: int = 1
    experts_per_token: int = 1
    ssm_state: int = 16  # N
    ssm_conv: int = 4  # K
    ssm_expand: int = 2  # E = expand x C
    dt_rank: int | None = None  # R; None: ceil(C / 16), Mamba's "auto"
    bytes_per_value: int = 2  # bfloat16
    tied_embeddings: bool = False  # the LM head reuses the embedding matrix (Gemma)
    trained_context: int | None = None  # max_position_embeddings: longer contexts are extrapolated
    note: dict = field(default_factory=dict, compare=False)  # {"zh": ..., "en": ...} one line

    @property
    def n_layers(self) -> int:
        return len(self.layer_types)

    @property
    def ssm_dims(self) -> tuple[int, int, int, int]:
        """(E, N, K, R), as `mamba.inner_dims`."""
        return (self.ssm_expand * self.d_model, self.ssm_state, self.ssm_conv,
                self.dt_rank or math.ceil(self.d_model / 16))

    def count(self, kind: str) -> int:
        return sum(t == kind for t in self.layer_types)

    @classmethod
    def from_config(cls, cfg: ModelConfig, name: str = "config") -> Shape:
        """The shape of an engine config, so the analytic figures can be checked against a run."""
        size = {"float32": 4, "float64": 8, "bfloat16": 2, "float16": 2}[cfg.dtype]
        return cls(name=name, source="swa_demo.config.ModelConfig", d_model=cfg.d_model,
                   n_heads=cfg.n_heads, n_kv_heads=cfg.n_kv_heads, head_dim=cfg.head_dim,
                   d_ff=cfg.d_ff, vocab=cfg.vocab_size, layer_types=tuple(cfg.layer_types),
                   window=cfg.sliding_window, ffn="gated" if cfg.ffn == "swiglu" else "relu",
                   ssm_state=cfg.ssm_state, ssm_conv=cfg.ssm_conv, ssm_expand=cfg.ssm_expand,
                   bytes_per_value=size, tied_embeddings=cfg.tie_embeddings)


# ---- real shapes ---------------------------------------------------------------------------------

_MISTRAL = dict(d_model=4096, n_heads=32, n_kv_heads=8, head_dim=128, d_ff=14336, vocab=32000, window=4096,
                trained_context=32768)
_MISTRAL_SRC = ("mistralai/Mistral-7B-v0.1 config.json: hidden_size 4096, num_hidden_layers 32, "
                "num_attention_heads 32, num_key_value_heads 8, intermediate_size 14336, "
                "vocab_size 32000, sliding_window 4096, max_position_embeddings 32768 "
                "(head_dim = 4096 / 32)")
_JAMBA_SRC = ("ai21labs/Jamba-v0.1 config.json: hidden_size 4096, num_hidden_layers 32, "
              "num_attention_heads 32, num_key_value_heads 8, intermediate_size 14336, vocab_size 65536, "
              "attn_layer_period 8, attn_layer_offset 4, expert_layer_period 2, expert_layer_offset 1, "
              "num_experts 16, num_experts_per_tok 2, mamba_d_state 16, mamba_d_conv 4, mamba_expand 2, "
              "mamba_dt_rank 256, sliding_window null, max_position_embeddings 262144")
_JAMBA = dict(d_model=4096, n_heads=32, n_kv_heads=8, head_dim=128, d_ff=14336, vocab=65536,
              moe_layers=tuple(i for i in range(32) if i % 2 == 1), experts=16, experts_per_token=2,
              ssm_state=16, ssm_conv=4, ssm_expand=2, dt_rank=256, trained_context=262144)
_GEMMA3_SRC = ("google/gemma-3-27b-it config.json, text_config: hidden_size 5376, "
               "num_hidden_layers 62, num_attention_heads 32, num_key_value_heads 16, head_dim 128, "
               "intermediate_size 21504, sliding_window 1024; transformers' gemma3_text defaults for "
               "what it leaves out: vocab_size 262208, sliding_window_pattern 6, "
               "max_position_embeddings 131072, tie_word_embeddings true")
_GEMMA3 = dict(d_model=5376, n_heads=32, n_kv_heads=16, head_dim=128, d_ff=21504, vocab=262208, window=1024,
               tied_embeddings=True, trained_context=131072)

SHAPES: dict[str, Shape] = {s.name: s for s in (
    Shape("mistral-7b", _MISTRAL_SRC, layer_types=(SLIDING,) * 32, **_MISTRAL,
          note={"zh": "Mistral-7B：32 层全是滑动窗口 W=4096",
                "en": "Mistral-7B: all 32 layers slide, W=4096"}),
    Shape("mistral-7b-full", _MISTRAL_SRC + "; every layer full attention (variant)",
          layer_types=(FULL,) * 32, **_MISTRAL,
          note={"zh": "同一形状，32 层全注意力（基线）",
                "en": "the same shape, all 32 layers full (baseline)"}),
    Shape("mistral-7b-alternating", _MISTRAL_SRC + "; Gemma 2's alternation, sliding/full (variant)",
          layer_types=tuple(pattern("gemma2", 32)), **_MISTRAL,
          note={"zh": "同一形状，滑动/全注意力交替（Gemma 2 式）",
                "en": "the same shape, sliding and full alternating (Gemma 2 style)"}),
    Shape("llama-2-7b", "meta-llama/Llama-2-7b-hf config.json: hidden_size 4096, num_hidden_layers 32, "
          "num_attention_heads 32, num_key_value_heads 32, intermediate_size 11008, vocab_size 32000, "
          "max_position_embeddings 4096 (no sliding window)",
          d_model=4096, n_heads=32, n_kv_heads=32, head_dim=128, d_ff=11008, vocab=32000,
          layer_types=(FULL,) * 32, trained_context=4096,
          note={"zh": "Llama-2-7B：32 层全注意力，没有 GQA（32 个 KV 头）",
                "en": "Llama-2-7B: 32 full layers, no GQA (32 KV heads)"}),
    Shape("mixtral-8x7b", "mistralai/Mixtral-8x7B-v0.1 config.json: hidden_size 4096, num_hidden_layers 32, "
          "num_attention_heads 32, num_key_value_heads 8, intermediate_size 14336, vocab_size 32000, "
          "num_local_experts 8, num_experts_per_tok 2, sliding_window null, max_position_embeddings 32768",
          d_model=4096, n_heads=32, n_kv_heads=8, head_dim=128, d_ff=14336, vocab=32000,
          layer_types=(FULL,) * 32, moe_layers=tuple(range(32)), experts=8, experts_per_token=2,
          trained_context=32768,
          note={"zh": "Mixtral 8x7B：32 层全注意力，每层 MoE（8 选 2）",
                "en": "Mixtral 8x7B: 32 full layers, MoE (2 of 8) in every layer"}),
    Shape("gemma2-9b", "google/gemma-2-9b config.json: hidden_size 3584, num_hidden_layers 42, "
          "num_attention_heads 16, num_key_value_heads 8, head_dim 256, intermediate_size 14336, "
          "vocab_size 256000, sliding_window 4096, max_position_embeddings 8192, cache_implementation "
          "hybrid (even layers slide)",
          d_model=3584, n_heads=16, n_kv_heads=8, head_dim=256, d_ff=14336, vocab=256000, window=4096,
          layer_types=tuple(pattern("gemma2", 42)), tied_embeddings=True, trained_context=8192,
          note={"zh": "Gemma 2 9B：42 层，滑动/全注意力交替", "en": "Gemma 2 9B: 42 layers, alternating"}),
    Shape("gemma3-27b", _GEMMA3_SRC, layer_types=tuple(pattern("gemma3", 62)), **_GEMMA3,
          note={"zh": "Gemma 3 27B：62 层，5 层滑动 (W=1024) : 1 层全注意力",
                "en": "Gemma 3 27B: 62 layers, 5 sliding (W=1024) : 1 full"}),
    Shape("gemma3-27b-global", _GEMMA3_SRC + "; every layer global (its report's \"global only\" baseline)",
          layer_types=(FULL,) * 62, **_GEMMA3,
          note={"zh": "同一形状，62 层全是全局注意力（Gemma 3 报告中的 global only 基线）",
                "en": "the same shape, all 62 layers global (the report's \"global only\" baseline)"}),
    Shape("jamba-v0.1", _JAMBA_SRC, layer_types=tuple(FULL if i % 8 == 4 else MAMBA for i in range(32)),
          **_JAMBA, note={"zh": "Jamba：32 层，7 层 Mamba : 1 层全注意力，每隔一层 MoE (16 选 2)",
                          "en": "Jamba: 32 layers, 7 mamba : 1 full, MoE (2 of 16) every other layer"}),
    Shape("jamba-v0.1-mamba-only", _JAMBA_SRC + "; every layer mamba (a pure SSM variant)",
          layer_types=(MAMBA,) * 32, **_JAMBA,
          note={"zh": "同一形状，32 层全是 Mamba（纯 SSM）",
                "en": "the same shape, all 32 layers mamba (pure SSM)"}),
)}


def shape(name: str) -> Shape:
    if name not in SHAPES:
        raise ConfigError(f"unknown cost preset {name!r}; use one of {', '.join(SHAPES)}")
    return SHAPES[name]


# ---- per layer kind ------------------------------------------------------------------------------

def kv_entries(kind: str, n: int, window: int | None) -> int:
    """KV entries one layer holds after `n` tokens (the engine's ring allocates W slots before they fill)."""
    if kind == MAMBA:
        return 0
    return n if kind == FULL or window is None else min(n, window)


def layer_cache_bytes(s: Shape, kind: str, n: int) -> int:
    """Bytes one layer keeps after `n` tokens, per sequence: its K and V, or its SSM state."""
    if kind == MAMBA:
        E, N, Kc, _ = s.ssm_dims
        return E * (Kc - 1 + N) * s.bytes_per_value
    return 2 * s.n_kv_heads * s.head_dim * s.bytes_per_value * kv_entries(kind, n, s.window)


def transformers_conv_extra(s: Shape) -> int:
    """Bytes per sequence that transformers' cache holds beyond `cache_bytes`: it keeps K conv inputs
    per channel of each mamba layer (`conv_states` (B, E, K)) where K - 1 are all the next step reads."""
    return s.count(MAMBA) * s.ssm_dims[0] * s.bytes_per_value


def prefill_pairs(kind: str, n: int, window: int | None, dense: bool = False) -> int:
    """(query, key) pairs attention scores over a prompt of `n` tokens (0 for a mamba layer)."""
    if kind == MAMBA:
        return 0
    if dense:
        return n * n
    if kind == FULL or window is None or n <= window:
        return n * (n + 1) // 2
    return window * (window + 1) // 2 + (n - window) * window


def decode_keys(kind: str, n: int, window: int | None, dense: bool = False) -> int:
    """Keys the token at position `n` (after `n` earlier ones) attends; `dense`: a ring's W slots."""
    if kind == MAMBA:
        return 0
    if kind == FULL or window is None:
        return n + 1
    return window if dense else min(n + 1, window)


def mixer_weights(s: Shape, kind: str) -> int:
    """Weights of one layer's token mixer: q, k, v, o; or a mamba layer's projections, conv and A."""
    C = s.d_model
    if kind == MAMBA:
        E, N, Kc, R = s.ssm_dims
        return C * 2 * E + E * Kc + E * (R + 2 * N) + R * E + E * N + E * C
    return C * (2 * s.n_heads * s.head_dim + 2 * s.n_kv_heads * s.head_dim)


def mixer_token_flops(s: Shape, kind: str, matmul_only: bool = False) -> int:
    """FLOPs of one layer's token mixer per token, attention pairs aside."""
    if kind == MAMBA:
        C = s.d_model
        E, N, Kc, R = s.ssm_dims
        matmul = 2 * C * 2 * E + 2 * E * Kc + 2 * E * (R + 2 * N) + 2 * R * E + 2 * E * N + 2 * E * C
        return matmul if matmul_only else matmul + 6 * E * N
    return 2 * mixer_weights(s, kind)  # q, k, v, o: twice their weights


def pair_flops(s: Shape) -> int:
    """FLOPs per (query, key) pair: the score and the weighted value, over every query head."""
    return 4 * s.n_heads * s.head_dim


def expert_weights(s: Shape) -> int:
    """Weights of one FFN (one expert of a mixture)."""
    return (3 if s.ffn == "gated" else 2) * s.d_model * s.d_ff


def ffn_token_flops(s: Shape, layer: int) -> int:
    if layer in s.moe_layers:
        return s.experts_per_token * 2 * expert_weights(s) + 2 * s.d_model * s.experts
    return 2 * expert_weights(s)


# ---- a whole model -------------------------------------------------------------------------------

def parameters(s: Shape) -> dict[str, int]:
    """Weights of the whole model, `total` and `active` (what one token runs through)."""
    embed = s.vocab * s.d_model * (1 if s.tied_embeddings else 2)  # embedding + LM head
    total = active = embed
    for i, kind in enumerate(s.layer_types):
        mixer = mixer_weights(s, kind)
        if i in s.moe_layers:
            router = s.d_model * s.experts
            total += mixer + s.experts * expert_weights(s) + router
            active += mixer + s.experts_per_token * expert_weights(s) + router
        else:
            total += mixer + expert_weights(s)
            active += mixer + expert_weights(s)
    return {"total": total, "active": active}


def weight_bytes(s: Shape) -> int:
    """Bytes of all the weights, at the shape's bytes per value: what serving the model must hold."""
    return parameters(s)["total"] * s.bytes_per_value


def per_gpu_bytes(s: Shape, n: int, gpus: int) -> tuple[int, int]:
    """(cache, weights) bytes on each of `gpus` tensor-parallel ranks after `n` tokens: the KV heads and
    the layers' weights split evenly; the embedding and the LM head replicated (as `parallel.shard`
    keeps them)."""
    replicated = s.vocab * s.d_model * (1 if s.tied_embeddings else 2) * s.bytes_per_value
    return sum(cache_bytes(s, n).values()) // gpus, replicated + (weight_bytes(s) - replicated) // gpus


def cache_bytes(s: Shape, n: int) -> dict[str, int]:
    """Bytes per sequence after `n` tokens, summed over the layers of each kind."""
    out = dict.fromkeys(KINDS, 0)
    for kind in s.layer_types:
        out[kind] += layer_cache_bytes(s, kind, n)
    return out


def decode_flops(s: Shape, n: int, *, dense: bool = False, matmul_only: bool = False) -> dict[str, int]:
    """FLOPs to generate the token at position `n`: each kind's mixer (attention included), FFNs, head."""
    out = dict.fromkeys(KINDS, 0) | {"ffn": 0, "lm_head": 2 * s.d_model * s.vocab}
    for i, kind in enumerate(s.layer_types):
        out[kind] += (mixer_token_flops(s, kind, matmul_only)
                      + pair_flops(s) * decode_keys(kind, n, s.window, dense))
        out["ffn"] += ffn_token_flops(s, i)
    return out


def prefill_flops(s: Shape, n: int, *, dense: bool = False, matmul_only: bool = False) -> dict[str, int]:
    """FLOPs of a one-shot prefill of `n` tokens (logits for the last one only)."""
    out = dict.fromkeys(KINDS, 0) | {"ffn": 0, "lm_head": 2 * s.d_model * s.vocab}
    for i, kind in enumerate(s.layer_types):
        out[kind] += (n * mixer_token_flops(s, kind, matmul_only)
                      + pair_flops(s) * prefill_pairs(kind, n, s.window, dense))
        out["ffn"] += n * ffn_token_flops(s, i)
    return out


def receptive_reach(s: Shape) -> int | None:
    """How far back an input can still reach the last layer's output: L (W - 1) + 1 tokens when every
    layer slides, unbounded (None) once a full or mamba layer carries everything forward."""
    if any(t != SLIDING for t in s.layer_types) or s.window is None:
        return None
    return s.n_layers * (s.window - 1) + 1


def extrapolated(s: Shape, n: int) -> bool:
    """Is `n` longer than the context the model was trained for (its `max_position_embeddings`)?
    The figures still follow the formulas; whether the model still works there is another matter."""
    return s.trained_context is not None and n > s.trained_context


def table(shapes: list[Shape | str], contexts: list[int]) -> list[dict]:
    """One row per (shape or preset name, context): totals, the split by layer kind, and the weights
    beside the cache, so that the cache's share of memory can be read off."""
    rows = []
    for s in shapes:
        s = shape(s) if isinstance(s, str) else s
        params, weights = parameters(s), weight_bytes(s)
        for n in contexts:
            cb, dec, pre = cache_bytes(s, n), decode_flops(s, n), prefill_flops(s, n)
            cache = sum(cb.values())
            rows.append({"preset": s.name, "context": n, "layers": {SHORT[k]: s.count(k) for k in KINDS},
                         "cache_bytes": cache, "decode_flops": sum(dec.values()),
                         "prefill_flops": sum(pre.values()),
                         "params": params["total"], "active_params": params["active"],
                         "weight_bytes": weights, "cache_share": cache / (cache + weights),
                         "trained_context": s.trained_context, "extrapolated": extrapolated(s, n),
                         "transformers_conv_extra_bytes": transformers_conv_extra(s),
                         "cache_bytes_by_kind": {SHORT[k]: v for k, v in cb.items()},
                         "decode_flops_by_part": {SHORT.get(k, k): v for k, v in dec.items()},
                         "prefill_flops_by_part": {SHORT.get(k, k): v for k, v in pre.items()}})
    return rows
