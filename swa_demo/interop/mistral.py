"""A transformers Mistral checkpoint directory (config.json + safetensors) -> `model.Decoder`.

No pickle: only `*.safetensors` are read. RMSNorm and RoPE (half-split `rotate_half` layout) are
computed the same way in both, so no weight is permuted; our decoder keeps Q/K/V and gate/up each in
one matrix, so those are stacked (rows in the order listed):

    model.embed_tokens.weight                   -> embed.weight
    model.layers.{i}.input_layernorm.weight     -> layers.{i}.norm1.weight
    model.layers.{i}.self_attn.{q,k,v}_proj     -> layers.{i}.mixer.wqkv   (stacked)
    model.layers.{i}.self_attn.o_proj           -> layers.{i}.mixer.wo
    model.layers.{i}.post_attention_layernorm   -> layers.{i}.norm2.weight
    model.layers.{i}.mlp.{gate,up}_proj         -> layers.{i}.ffn.gate_up  (stacked)
    model.layers.{i}.mlp.down_proj              -> layers.{i}.ffn.down
    model.norm.weight                           -> norm.weight
    lm_head.weight                              -> lm_head.weight
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch

from ..config import FULL, SLIDING, ConfigError, ModelConfig
from ..model import Decoder, build

RENAMES = [
    (r"^model\.embed_tokens\.", "embed."),
    (r"^model\.norm\.", "norm."),
    (r"^model\.layers\.(\d+)\.input_layernorm\.", r"layers.\1.norm1."),
    (r"^model\.layers\.(\d+)\.post_attention_layernorm\.", r"layers.\1.norm2."),
    (r"^model\.layers\.(\d+)\.self_attn\.([qkvo])_proj\.", r"layers.\1.mixer.w\2."),
    (r"^model\.layers\.(\d+)\.mlp\.(gate|up|down)_proj\.", r"layers.\1.ffn.\2."),
]
STACKS = [  # (parts, stacked name) after renaming; rows of the stacked matrix in this order
    (("mixer.wq.", "mixer.wk.", "mixer.wv."), "mixer.wqkv."),
    (("ffn.gate.", "ffn.up."), "ffn.gate_up."),
]


def config_from_hf(hf: dict, dtype: str = "float32", device: str = "cpu") -> ModelConfig:
    """Our config from a transformers `MistralConfig` dict (config.json)."""
    if hf.get("model_type", "mistral") != "mistral":
        raise ConfigError(f"only Mistral checkpoints load here, this one is {hf.get('model_type')!r}")
    n = hf["num_hidden_layers"]
    window = hf.get("sliding_window")
    kinds = hf.get("layer_types") or [SLIDING if window else FULL] * n
    theta = hf.get("rope_theta") or (hf.get("rope_parameters") or {}).get("rope_theta", 10000.0)
    return ModelConfig(vocab_size=hf["vocab_size"], d_model=hf["hidden_size"],
                       n_heads=hf["num_attention_heads"],
                       n_kv_heads=hf.get("num_key_value_heads") or hf["num_attention_heads"],
                       n_layers=n, layer_types=list(kinds), sliding_window=window or 1,
                       d_ff=hf["intermediate_size"], ffn="swiglu", norm="rmsnorm",
                       norm_eps=hf.get("rms_norm_eps", 1e-6), rope_theta=float(theta),
                       tie_embeddings=bool(hf.get("tie_word_embeddings", False)),
                       head_dim=hf.get("head_dim") or hf["hidden_size"] // hf["num_attention_heads"],
                       dtype=dtype, device=device)


def state_from_hf(hf_state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A transformers Mistral state dict in our names, Q/K/V and gate/up stacked."""
    out = {}
    for name, tensor in hf_state.items():
        if "rotary_emb" in name:  # buffers transformers recomputes; ours are computed per step
            continue
        new = name
        for pattern, repl in RENAMES:
            new = re.sub(pattern, repl, new)
        out[new] = tensor
    for parts, stacked in STACKS:
        for name in [n for n in out if parts[0] in n]:
            names = [name.replace(parts[0], part) for part in parts]
            if all(n in out for n in names):  # else load_checkpoint reports what is missing
                out[name.replace(parts[0], stacked)] = torch.cat([out.pop(n) for n in names])
    return out


def load_checkpoint(path: str | Path, dtype: str = "float32", device: str = "cpu") -> Decoder:
    """Build the decoder from a checkpoint directory; every tensor must find its place."""
    from safetensors.torch import load_file

    path = Path(path)
    cfg_file = path / "config.json"
    if not cfg_file.is_file():
        raise ConfigError(f"{path} has no config.json; point --checkpoint at a transformers model dir")
    files = sorted(path.glob("*.safetensors"))
    if not files:
        raise ConfigError(f"{path} has no *.safetensors weights (pickle checkpoints are not loaded)")
    cfg = config_from_hf(json.loads(cfg_file.read_text()), dtype, device)
    model = build(cfg, seed=None)
    state = {}
    for f in files:
        state.update(state_from_hf(load_file(str(f), device=str(device))))
    if cfg.tie_embeddings:
        state.pop("lm_head.weight", None)
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [m for m in missing if not (cfg.tie_embeddings and m == "lm_head.weight")]
    if missing or unexpected:
        raise ConfigError(f"checkpoint does not match a Mistral decoder: missing {missing[:3]}, "
                          f"unexpected {unexpected[:3]}")
    return model
