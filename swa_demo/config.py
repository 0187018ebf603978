"""One dataclass config for every scale, and the named presets.

The classroom model (`seed-tiny`) and the 7B-shaped GPU model are the same classes built from
different `ModelConfig`s. Layer kinds use the names transformers uses.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

SLIDING = "sliding_attention"
FULL = "full_attention"
MAMBA = "mamba"
LAYER_KINDS = (SLIDING, FULL, MAMBA)

# Cache policies of a sliding layer (DESIGN.md, "Cache policies").
POLICIES = ("seed", "ring", "sink", "mask-only")


class ConfigError(ValueError):
    """A config value a user can fix; the CLI and the UI show its message as it is."""


@dataclass
class ModelConfig:
    vocab_size: int = 26
    d_model: int = 32
    n_heads: int = 2
    n_kv_heads: int = 1
    n_layers: int = 3
    layer_types: list[str] = field(default_factory=lambda: [SLIDING] * 3)
    sliding_window: int = 2
    d_ff: int = 64
    ffn: str = "relu"  # "relu": the seed's max(0, xW1 + b1)W2 + b2; "swiglu": Mistral's
    norm: str = "layernorm"  # or "rmsnorm"
    norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    tie_embeddings: bool = False
    head_dim: int | None = None  # None: d_model // n_heads
    # Mamba mixer sizes (used by "mamba" layers only).
    ssm_state: int = 4
    ssm_conv: int = 4
    ssm_expand: int = 2
    dtype: str = "float32"
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.head_dim is None:
            self.head_dim = self.d_model // max(self.n_heads, 1)
        self.validate()

    def validate(self) -> None:
        if self.n_layers < 1:
            raise ConfigError(f"the model needs at least 1 layer, got {self.n_layers}")
        if self.sliding_window < 1:
            raise ConfigError(f"the window W must be at least 1, got {self.sliding_window}")
        if len(self.layer_types) != self.n_layers:
            raise ConfigError(
                f"layer_types names {len(self.layer_types)} layers but n_layers is {self.n_layers}"
            )
        bad = [t for t in self.layer_types if t not in LAYER_KINDS]
        if bad:
            raise ConfigError(f"unknown layer kind {bad[0]!r}; use one of {', '.join(LAYER_KINDS)}")
        if self.n_heads % self.n_kv_heads:
            raise ConfigError(
                f"n_heads ({self.n_heads}) must be a multiple of n_kv_heads ({self.n_kv_heads})"
            )
        if self.ffn not in ("relu", "swiglu"):
            raise ConfigError(f"unknown ffn {self.ffn!r}; use relu or swiglu")
        if self.norm not in ("layernorm", "rmsnorm"):
            raise ConfigError(f"unknown norm {self.norm!r}; use layernorm or rmsnorm")

    def replace(self, **changes) -> ModelConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)



def pattern(name: str, n_layers: int) -> list[str]:
    """Layer kinds for a named family: its period repeated over `n_layers`, global layer last.

    The rule for a model shorter than one period: a family whose period has a full-attention layer
    keeps at least one, and it is the last layer. Tiling alone would give a 3-layer Gemma 3 or Jamba
    no global layer at all (5 sliding : 1 full, 7 mamba : 1 full), and a 1-layer Gemma 2 only a
    sliding one; every tiny hybrid then has one global layer, last. Whole periods tile unchanged,
    so the ratio holds at real depths (a 62-layer Gemma 3 has 10 global layers at 5, 11, ..., 59).
    Families without a global layer (`sliding`, Mistral) never get one.

    >>> pattern("gemma2", 3)
    ['sliding_attention', 'full_attention', 'sliding_attention']
    >>> pattern("jamba", 3)
    ['mamba', 'mamba', 'full_attention']
    """
    period = PATTERNS.get(name)
    if period is None:
        raise ConfigError(f"unknown layer pattern {name!r}; use one of {', '.join(PATTERNS)}")
    kinds = [period[i % len(period)] for i in range(n_layers)]
    if FULL in period and FULL not in kinds and kinds:
        kinds[-1] = FULL
    return kinds


PATTERNS: dict[str, list[str]] = {
    "sliding": [SLIDING],  # Mistral
    "gemma2": [SLIDING, FULL],  # alternating local / global
    "gemma3": [SLIDING] * 5 + [FULL],  # 5 local : 1 global
    # 7 mamba : 1 full. Jamba-v0.1 puts its attention layer at index 4 of each 8 (attn_layer_offset=4,
    # attn_layer_period=8); last in the period is the same ratio and what `pattern` needs for tiny depths.
    "jamba": [MAMBA] * 7 + [FULL],
    "full": [FULL],  # baseline
}


def seed_tiny(n_layers: int = 3, window: int = 2, layer_pattern: str = "sliding") -> ModelConfig:
    """The classroom model: 26 letters, 3 layers, W = 2, the seed's ReLU FFN."""
    return ModelConfig(n_layers=n_layers, layer_types=pattern(layer_pattern, n_layers),
                       sliding_window=window)


def mistral_7b(n_layers: int = 32, window: int = 4096, dtype: str = "bfloat16",
               device: str = "cuda") -> ModelConfig:
    """Mistral-7B-v0.1's shape (its public config.json), random weights."""
    return ModelConfig(vocab_size=32000, d_model=4096, n_heads=32, n_kv_heads=8,
                       n_layers=n_layers, layer_types=[SLIDING] * n_layers,
                       sliding_window=window, d_ff=14336, ffn="swiglu", norm="rmsnorm",
                       norm_eps=1e-5, rope_theta=10000.0, dtype=dtype, device=device)


def medium(n_layers: int = 4, window: int = 256) -> ModelConfig:
    """A CPU-sized Mistral block: runs anywhere, so the curves can be measured on a laptop."""
    return ModelConfig(vocab_size=1024, d_model=256, n_heads=8, n_kv_heads=2, n_layers=n_layers,
                       layer_types=[SLIDING] * n_layers, sliding_window=window, d_ff=768,
                       ffn="swiglu", norm="rmsnorm")

