"""What context costs: KV-cache / state bytes and FLOPs against context length, per layer kind.

Analytic, at real model shapes (taken from their public `config.json`, named in `SHAPES`), for the three
layer kinds the engine has:

    kind      cache after n tokens                     attention pairs, prefill of n    decode at n
    full      n entries of K and V                     n (n + 1) / 2                    n + 1 keys
    sliding   min(n, W) entries (a ring of W)          sum over q of min(q + 1, W)      min(n + 1, W)
    mamba     E (K - 1 + N) numbers, whatever n        none (a scan: linear in n)       none

Counting rules (a multiply-add is 2 FLOPs; these are the engine's own matmuls, so torch's
`FlopCounterMode` on a CPU run sees exactly the `matmul_only` figures, see `count_flops`):

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

`dense=True` counts what a masked dense kernel computes instead of what the mask keeps: the eager
backend scores every (query, key) pair it is handed, the whole T x T square of a prompt and all W
slots of a ring, and masks afterwards. FlexAttention skips whole blocks outside the band, so it lands
between the two; the useful count is the floor. Worked example, the seed walkthrough (W = 2, prompt
A B C): useful pairs 1 + 2 + 2 = 5, dense pairs 3 x 3 = 9; decoding D reads 2 keys either way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .config import FULL, MAMBA, SLIDING, ConfigError, ModelConfig, medium, pattern

K = 1024  # "128k" = 131072 tokens, as in the GPU benchmark
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
                   bytes_per_value=size)


# ---- real shapes ---------------------------------------------------------------------------------

_MISTRAL = dict(d_model=4096, n_heads=32, n_kv_heads=8, head_dim=128, d_ff=14336, vocab=32000, window=4096)
_MISTRAL_SRC = ("mistralai/Mistral-7B-v0.1 config.json: hidden_size 4096, num_hidden_layers 32, "
                "num_attention_heads 32, num_key_value_heads 8, intermediate_size 14336, "
                "vocab_size 32000, sliding_window 4096 (head_dim = 4096 / 32)")
_JAMBA_SRC = ("ai21labs/Jamba-v0.1 config.json: hidden_size 4096, num_hidden_layers 32, "
              "num_attention_heads 32, num_key_value_heads 8, intermediate_size 14336, vocab_size 65536, "
              "attn_layer_period 8, attn_layer_offset 4, expert_layer_period 2, expert_layer_offset 1, "
              "num_experts 16, num_experts_per_tok 2, mamba_d_state 16, mamba_d_conv 4, mamba_expand 2, "
              "mamba_dt_rank 256, sliding_window null")
_JAMBA = dict(d_model=4096, n_heads=32, n_kv_heads=8, head_dim=128, d_ff=14336, vocab=65536,
              moe_layers=tuple(i for i in range(32) if i % 2 == 1), experts=16, experts_per_token=2,
              ssm_state=16, ssm_conv=4, ssm_expand=2, dt_rank=256)

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
    Shape("gemma2-9b", "google/gemma-2-9b config.json: hidden_size 3584, num_hidden_layers 42, "
          "num_attention_heads 16, num_key_value_heads 8, head_dim 256, intermediate_size 14336, "
          "vocab_size 256000, sliding_window 4096, cache_implementation hybrid (even layers slide)",
          d_model=3584, n_heads=16, n_kv_heads=8, head_dim=256, d_ff=14336, vocab=256000, window=4096,
          layer_types=tuple(pattern("gemma2", 42)),
          note={"zh": "Gemma 2 9B：42 层，滑动/全注意力交替", "en": "Gemma 2 9B: 42 layers, alternating"}),
    Shape("gemma3-27b", "google/gemma-3-27b-it config.json, text_config: hidden_size 5376, "
          "num_hidden_layers 62, num_attention_heads 32, num_key_value_heads 16, head_dim 128, "
          "intermediate_size 21504, vocab_size 262208, sliding_window 1024, sliding_window_pattern 6",
          d_model=5376, n_heads=32, n_kv_heads=16, head_dim=128, d_ff=21504, vocab=262208, window=1024,
          layer_types=tuple(pattern("gemma3", 62)),
          note={"zh": "Gemma 3 27B：62 层，5 层滑动 (W=1024) : 1 层全注意力",
                "en": "Gemma 3 27B: 62 layers, 5 sliding (W=1024) : 1 full"}),
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


def mixer_token_flops(s: Shape, kind: str, matmul_only: bool = False) -> int:
    """FLOPs of one layer's token mixer per token, attention pairs aside."""
    C = s.d_model
    if kind == MAMBA:
        E, N, Kc, R = s.ssm_dims
        matmul = 2 * C * 2 * E + 2 * E * Kc + 2 * E * (R + 2 * N) + 2 * R * E + 2 * E * N + 2 * E * C
        return matmul if matmul_only else matmul + 6 * E * N
    return 2 * C * (2 * s.n_heads * s.head_dim + 2 * s.n_kv_heads * s.head_dim)


def pair_flops(s: Shape) -> int:
    """FLOPs per (query, key) pair: the score and the weighted value, over every query head."""
    return 4 * s.n_heads * s.head_dim


def ffn_token_flops(s: Shape, layer: int) -> int:
    dense = 2 * (3 if s.ffn == "gated" else 2) * s.d_model * s.d_ff
    if layer in s.moe_layers:
        return s.experts_per_token * dense + 2 * s.d_model * s.experts
    return dense


# ---- a whole model -------------------------------------------------------------------------------

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


def table(names: list[str], contexts: list[int]) -> list[dict]:
    """One row per (preset, context): totals and the split by layer kind."""
    rows = []
    for name in names:
        s = shape(name)
        for n in contexts:
            cb, dec, pre = cache_bytes(s, n), decode_flops(s, n), prefill_flops(s, n)
            rows.append({"preset": name, "context": n, "layers": {SHORT[k]: s.count(k) for k in KINDS},
                         "cache_bytes": sum(cb.values()), "decode_flops": sum(dec.values()),
                         "prefill_flops": sum(pre.values()),
                         "cache_bytes_by_kind": {SHORT[k]: v for k, v in cb.items()},
                         "decode_flops_by_part": {SHORT.get(k, k): v for k, v in dec.items()},
                         "prefill_flops_by_part": {SHORT.get(k, k): v for k, v in pre.items()}})
    return rows


# ---- text ------------------------------------------------------------------------------------------

def parse_contexts(text: str) -> list[int]:
    """'4k,32k,128k,1M' -> [4096, 32768, 131072, 1048576] (k = 1024, M = 1024²)."""
    out = []
    for part in text.split(","):
        p = part.strip()
        scale = {"k": K, "m": K * K}.get(p[-1:].lower(), 1)
        digits = p[:-1] if scale > 1 else p
        if not digits.isdigit() or int(digits) * scale < 1:
            raise ConfigError(f"context {part.strip()!r} is not a token count; write e.g. 4k,32k,128k,1M")
        out.append(int(digits) * scale)
    return out


def fmt_tokens(n: int) -> str:
    for unit, size in (("M", K * K), ("k", K)):
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return str(n)


def fmt_bytes(b: float) -> str:
    for unit, size in (("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if b >= size:
            return f"{b / size:.3g} {unit}" if b / size < 100 else f"{b / size:,.0f} {unit}"
    return f"{b:.0f} B"


def fmt_flops(f: float) -> str:
    for unit, size in (("PFLOP", 1e15), ("TFLOP", 1e12), ("GFLOP", 1e9), ("MFLOP", 1e6)):
        if f >= size:
            return f"{f / size:.3g} {unit}" if f / size < 1000 else f"{f / size:,.0f} {unit}"
    return f"{f:.0f} FLOP"


def format_table(rows: list[dict]) -> str:
    """The CLI's plain-text table."""
    head = ("preset", "layers F/S/M", "context", "KV cache + state", "decode / token", "prefill")
    body = [(r["preset"], "/".join(str(r["layers"][k]) for k in ("full", "sliding", "mamba")),
             fmt_tokens(r["context"]), fmt_bytes(r["cache_bytes"]), fmt_flops(r["decode_flops"]),
             fmt_flops(r["prefill_flops"])) for r in rows]
    widths = [max(len(x[i]) for x in (head, *body)) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(x, widths)))
             for x in (head, *body)]
    lines.insert(1, "-" * len(lines[0]))
    lines.append("per sequence, bf16; decode = the token after `context` tokens; prefill = one pass over "
                 "`context` tokens (mask-useful pairs only; see swa_demo/costs.py for the counting rules)")
    return "\n".join(lines)


COMPARE = {"full": "mistral-7b-full", "swa": "mistral-7b", "hybrid": "jamba-v0.1"}

_T = {
    "zh": {
        "head": ["特性", "标准 Full Attention", "Sparse / SWA（如 Mistral）", "Hybrid SSM（如 Jamba）"],
        "shape": "形状（{n} 上下文）",
        "flops": "FLOPs（预填充 / 每 token 推理）",
        "kv": "KV Cache 显存",
        "recall": "信息回顾能力",
        "approach": "解决方式",
        "flops_cell": "{o}：预填充 {pre}；推理 {dec}/token（其中注意力 {att}）",
        "kv_full": "O(N)，线性增长：{kv}",
        "kv_swa": "O(W)，固定（环形缓冲 {w} 个位置）：{kv}",
        "kv_hybrid": "O(1) + 1/{k}·O(N)：{kv} KV（{a}/{l} 层注意力）+ {st} SSM 状态",
        "recall_full": "完美（全局）：每层都能看到全部 {n} 个 token",
        "recall_swa": "局部 + 逐层隐式传递：每层 {w} 个，{l} 层后最远 {reach} 个 token",
        "recall_hybrid": "压缩状态（SSM，{m} 层）+ 稀疏的完美回顾（{a} 层注意力）",
        "approach_full": "无（基线）",
        "approach_swa": "截断 / 稀疏化：只存最近的",
        "approach_hybrid": "压缩 / 混合：压缩历史 + 偶尔回顾",
        "note": "数字由 swa_demo/costs.py 按真实配置解析计算（bf16，每条序列），其公式已用引擎在 CPU 上的"
                "实际缓存字节数和 FlopCounterMode 计数逐项核对。",
    },
    "en": {
        "head": ["property", "standard full attention", "sparse / SWA (e.g. Mistral)",
                 "hybrid SSM (e.g. Jamba)"],
        "shape": "shape ({n} context)",
        "flops": "FLOPs (prefill / per decoded token)",
        "kv": "KV cache memory",
        "recall": "recall",
        "approach": "approach",
        "flops_cell": "{o}: prefill {pre}; decode {dec}/token (attention {att})",
        "kv_full": "O(N), grows linearly: {kv}",
        "kv_swa": "O(W), fixed (a ring of {w} positions): {kv}",
        "kv_hybrid": "O(1) + 1/{k}·O(N): {kv} of KV ({a}/{l} attention layers) + {st} of SSM state",
        "recall_full": "perfect (global): every layer sees all {n} tokens",
        "recall_swa": "local + passed on layer by layer: {w} per layer, at most {reach} tokens back "
                      "after {l} layers",
        "recall_hybrid": "compressed state (SSM, {m} layers) + sparse exact recall ({a} attention layers)",
        "approach_full": "none (the baseline)",
        "approach_swa": "truncate / sparsify: keep only the recent",
        "approach_hybrid": "compress / mix: compressed history + an occasional look back",
        "note": "Figures from swa_demo/costs.py at the real configs (bf16, per sequence); its formulas are "
                "checked against the engine's allocated cache bytes and FlopCounterMode counts on the CPU.",
    },
}


def comparison_rows(lang: str = "en", context: int = 128 * K) -> list[list[str]]:
    """Seed 004's summary table, regenerated with figures at `context` tokens. Row 0 is the header."""
    if lang not in _T:
        raise ConfigError(f"lang must be zh or en, got {lang!r}")
    t = _T[lang]
    full, swa, hyb = (shape(COMPARE[c]) for c in ("full", "swa", "hybrid"))

    def flops_cell(s: Shape, order: str) -> str:
        dec = decode_flops(s, context)
        att = pair_flops(s) * sum(decode_keys(k, context, s.window) for k in s.layer_types)
        return t["flops_cell"].format(o=order, pre=fmt_flops(sum(prefill_flops(s, context).values())),
                                      dec=fmt_flops(sum(dec.values())), att=fmt_flops(att))

    kv_h = cache_bytes(hyb, context)
    a, m = hyb.count(FULL) + hyb.count(SLIDING), hyb.count(MAMBA)
    return [
        t["head"],
        [t["shape"].format(n=fmt_tokens(context)), full.name, swa.name, hyb.name],
        [t["flops"], flops_cell(full, "O(N²)"), flops_cell(swa, "O(N·W)"),
         flops_cell(hyb, f"O(N) + 1/{hyb.n_layers // a}·O(N²)")],
        [t["kv"], t["kv_full"].format(kv=fmt_bytes(sum(cache_bytes(full, context).values()))),
         t["kv_swa"].format(w=swa.window, kv=fmt_bytes(sum(cache_bytes(swa, context).values()))),
         t["kv_hybrid"].format(k=hyb.n_layers // a, kv=fmt_bytes(kv_h[FULL] + kv_h[SLIDING]), a=a,
                               l=hyb.n_layers, st=fmt_bytes(kv_h[MAMBA]))],
        [t["recall"], t["recall_full"].format(n=f"{context:,}"),
         t["recall_swa"].format(w=swa.window, l=swa.n_layers, reach=f"{receptive_reach(swa):,}"),
         t["recall_hybrid"].format(m=m, a=a)],
        [t["approach"], t["approach_full"], t["approach_swa"], t["approach_hybrid"]],
    ]


def comparison_markdown(lang: str = "en", context: int = 128 * K) -> str:
    rows = comparison_rows(lang, context)
    lines = ["| " + " | ".join(r) + " |" for r in rows]
    lines.insert(1, "|" + " --- |" * len(rows[0]))
    return "\n".join(lines) + "\n\n" + _T[lang]["note"]


# ---- measured on the engine (CPU) ---------------------------------------------------------------

def measure_cache_bytes(cfg: ModelConfig, contexts: list[int], policy: str = "ring",
                        chunk: int = 2048, seed: int = 0) -> list[dict]:
    """Run the engine (prefill `n - 1` tokens, decode 1) and read what each layer's cache allocated.

    Returns, per context, `allocated` (`nbytes()`) and `held` (entries in use x entry size; a ring
    allocates all W slots before it fills) per layer. Prefill goes through SDPA in chunks: the cache
    does not care which backend filled it, and the dense mask of a 16k prompt never exists at once.
    """
    import torch

    from .generate import decode_one_token, make_caches, prefill
    from .model import build

    model = build(cfg, seed=seed)
    out = []
    for n in contexts:
        assert n >= 2, f"a context needs at least 2 tokens (prefill + decode), got {n}"
        gen = torch.Generator().manual_seed(n)
        tokens = torch.randint(0, cfg.vocab_size, (1, n), generator=gen)
        positions = torch.arange(n)[None]
        caches = make_caches(model, 1, policy)
        prefill(model, tokens[:, :-1], positions[:, :-1], caches, chunk=chunk, backend="sdpa")
        decode_one_token(model, tokens[:, -1:], positions[:, -1:], caches)
        layers = []
        for kind, c in zip(cfg.layer_types, caches):
            if kind == MAMBA:
                held = c.nbytes()
            else:
                held = c.held() * 2 * c.k.shape[1] * c.k.shape[3] * c.k.element_size()
            layers.append({"kind": kind, "allocated": c.nbytes(), "held": held})
        out.append({"context": n, "layers": layers})
    return out


def count_flops(cfg: ModelConfig, prompt: int, decode: int = 1, policy: str = "ring",
                seed: int = 0) -> dict:
    """FLOPs `FlopCounterMode` counts for a one-shot prefill of `prompt` tokens, then each decode step.

    Eager attention (matmul + masked softmax), so it counts the dense pairs: compare with `dense=True,
    matmul_only=True`.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from .generate import decode_one_token, make_caches, prefill
    from .model import build

    model = build(cfg, seed=seed)
    gen = torch.Generator().manual_seed(prompt)
    tokens = torch.randint(0, cfg.vocab_size, (1, prompt + decode), generator=gen)
    positions = torch.arange(prompt + decode)[None]
    caches = make_caches(model, 1, policy)
    with FlopCounterMode(display=False) as fc:
        prefill(model, tokens[:, :prompt], positions[:, :prompt], caches, backend="eager")
    counted = {"prefill": fc.get_total_flops(), "decode": []}
    for i in range(prompt, prompt + decode):
        with FlopCounterMode(display=False) as fc:
            decode_one_token(model, tokens[:, i:i + 1], positions[:, i:i + 1], caches, backend="eager")
        counted["decode"].append(fc.get_total_flops())
    return counted


def check_configs() -> tuple[ModelConfig, ModelConfig]:
    """The two CPU configs `engine_check` runs: one of each layer kind.

    Bytes: medium's KV shape (2 KV heads of 32) and window 256, slimmed to d_model 64 so a 16k prompt
    prefills in seconds. FLOPs: `config.medium` itself, with a full and a mamba layer among its sliding ones.
    """
    slim = ModelConfig(vocab_size=1024, d_model=64, n_heads=2, n_kv_heads=2, n_layers=3,
                       layer_types=[SLIDING, FULL, MAMBA], sliding_window=256, d_ff=128, ffn="swiglu",
                       norm="rmsnorm", ssm_state=16)
    med = medium(4, 256).replace(layer_types=[SLIDING, FULL, MAMBA, SLIDING], ssm_state=16)
    return slim, med


def engine_check(contexts: tuple[int, ...] = (100, 1000, 4 * K, 16 * K),
                 prompts: tuple[int, ...] = (100, 700), decode: int = 2) -> dict:
    """The analytic figures next to what the engine does on the CPU.

    `bytes`: per context and layer, the analytic bytes, the bytes the cache holds and the bytes it
    allocated (a ring allocates its W slots before they fill). `flops`: per prefill / decode step, what
    `FlopCounterMode` counted, the analytic `dense` matmul count (what the eager kernel computes) and
    the `useful` one (pairs the mask keeps).
    """
    slim, med = check_configs()
    s_slim, s_med = Shape.from_config(slim, "slim"), Shape.from_config(med, "medium")
    rows_b = [{"context": m["context"], "kind": layer["kind"],
               "analytic": layer_cache_bytes(s_slim, layer["kind"], m["context"]),
               "held": layer["held"], "allocated": layer["allocated"]}
              for m in measure_cache_bytes(slim, list(contexts)) for layer in m["layers"]]
    rows_f = []
    for p in prompts:
        counted = count_flops(med, p, decode)
        rows_f.append({"phase": "prefill", "context": p, "counted": counted["prefill"],
                       "dense": sum(prefill_flops(s_med, p, dense=True, matmul_only=True).values()),
                       "useful": sum(prefill_flops(s_med, p, matmul_only=True).values())})
        for i, c in enumerate(counted["decode"]):
            rows_f.append({"phase": "decode", "context": p + i, "counted": c,
                           "dense": sum(decode_flops(s_med, p + i, dense=True, matmul_only=True).values()),
                           "useful": sum(decode_flops(s_med, p + i, matmul_only=True).values())})
    return {"bytes": rows_b, "flops": rows_f}


def format_check(check: dict) -> str:
    lines = ["cache bytes (slim medium-like config, ring policy, prefill n-1 + decode 1, CPU)",
             f"{'context':>8}  {'kind':<18}{'analytic':>12}{'held':>12}{'allocated':>12}"]
    lines += [f"{fmt_tokens(r['context']):>8}  {r['kind']:<18}{r['analytic']:>12,}{r['held']:>12,}"
              f"{r['allocated']:>12,}" for r in check["bytes"]]
    lines += ["", "FLOPs (config.medium, layers sliding/full/mamba/sliding, eager attention, "
                  "FlopCounterMode)",
              f"{'phase':<8}{'context':>8}{'counted':>16}{'dense':>16}{'useful':>16}"]
    lines += [f"{r['phase']:<8}{r['context']:>8}{r['counted']:>16,}{r['dense']:>16,}{r['useful']:>16,}"
              for r in check["flops"]]
    return "\n".join(lines)
