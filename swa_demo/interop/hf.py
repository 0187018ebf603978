"""A transformers checkpoint directory (config.json + safetensors) -> `model.Decoder`: Mistral and Llama.

transformers only reads files here; the decoder and caches that run the weights are the engine's own.
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
    lm_head.weight                              -> lm_head.weight (absent when tied to the embeddings)

Every file is checked before anything large is allocated: config.json's keys and types, the memory
the weights need, and each tensor's name and shape from the safetensors headers. A problem is one
`CheckpointError` line naming the file and what is wrong.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import torch

from ..config import FULL, SLIDING, ConfigError, ModelConfig
from ..model import Decoder, build, dtype_of

ARCHITECTURES = ("mistral", "llama")  # the same decoder; Mistral adds a sliding window

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


class CheckpointError(ConfigError):
    """A checkpoint file that cannot be read into the decoder; the message names the file and why."""


class NotEnoughMemory(CheckpointError):
    """The checkpoint reads, but its weights would not fit the device's free memory."""


def _whole(hf: dict, key: str, where: str, default=None, lo: int = 1) -> int:
    v = hf.get(key, default)
    if v is None:
        raise CheckpointError(f"{where} has no {key!r}")
    if isinstance(v, bool) or not isinstance(v, int):
        raise CheckpointError(f"{where}: {key} must be a whole number, got {v!r}")
    if v < lo:
        raise CheckpointError(f"{where}: {key} must be at least {lo}, got {v}")
    return v


def _rope_theta(hf: dict, where: str) -> float:
    """RoPE's base from `rope_theta` (transformers 4) or `rope_parameters` (transformers 5)."""
    params = hf.get("rope_parameters") or hf.get("rope_scaling") or {}
    if not isinstance(params, dict):
        raise CheckpointError(f"{where}: rope_parameters must be an object, got {params!r}")
    kind = params.get("rope_type", params.get("type", "default"))
    if kind not in ("default", None):
        raise CheckpointError(f"{where}: RoPE scaling {kind!r} is not supported (only plain RoPE)")
    theta = hf.get("rope_theta", params.get("rope_theta", 10000.0))
    if isinstance(theta, bool) or not isinstance(theta, int | float) or theta <= 1:
        raise CheckpointError(f"{where}: rope_theta must be a number above 1, got {theta!r}")
    return float(theta)


def config_from_hf(hf: dict, dtype: str = "float32", device: str = "cpu",
                   where: str = "config.json") -> ModelConfig:
    """Our config from a transformers `MistralConfig` / `LlamaConfig` dict (config.json).

    A Llama model has no window: all its layers are full attention, and a window is imposed per run
    (`generate.make_caches(..., layer_types=..., window=...)`), which is the SmolLM2 experiment.
    """
    if not isinstance(hf, dict):
        raise CheckpointError(f"{where} must hold a JSON object, got {type(hf).__name__}")
    arch = hf.get("model_type", "mistral")
    if arch not in ARCHITECTURES:
        raise CheckpointError(f"{where}: model_type {arch!r} is not supported; "
                              f"use one of {', '.join(ARCHITECTURES)}")
    for key in ("attention_bias", "mlp_bias"):
        if hf.get(key):
            raise CheckpointError(f"{where}: {key} is set; this decoder has no biases in those layers")
    n = _whole(hf, "num_hidden_layers", where)
    d_model = _whole(hf, "hidden_size", where)
    heads = _whole(hf, "num_attention_heads", where)
    kv_heads = _whole(hf, "num_key_value_heads", where, default=heads)
    window = hf.get("sliding_window") if arch == "mistral" else None
    if window is not None:
        window = _whole(hf, "sliding_window", where)
    kinds = hf.get("layer_types") or [SLIDING if window else FULL] * n
    if not isinstance(kinds, list) or len(kinds) != n or not set(kinds) <= {SLIDING, FULL}:
        raise CheckpointError(f"{where}: layer_types must list {n} of {SLIDING!r} / {FULL!r}")
    if heads % kv_heads:
        raise CheckpointError(f"{where}: num_attention_heads ({heads}) must be a multiple of "
                              f"num_key_value_heads ({kv_heads})")
    eps = hf.get("rms_norm_eps", 1e-6)
    if isinstance(eps, bool) or not isinstance(eps, int | float) or not 0 < eps < 1:
        raise CheckpointError(f"{where}: rms_norm_eps must be a small positive number, got {eps!r}")
    tie = hf.get("tie_word_embeddings", False)
    if not isinstance(tie, bool):
        raise CheckpointError(f"{where}: tie_word_embeddings must be true or false, got {tie!r}")
    head_dim = _whole(hf, "head_dim", where, default=d_model // heads)
    if head_dim % 2:
        raise CheckpointError(f"{where}: head_dim must be even for RoPE, got {head_dim}")
    return ModelConfig(vocab_size=_whole(hf, "vocab_size", where), d_model=d_model, n_heads=heads,
                       n_kv_heads=kv_heads, n_layers=n, layer_types=list(kinds),
                       sliding_window=window or 1, d_ff=_whole(hf, "intermediate_size", where),
                       ffn="swiglu", norm="rmsnorm", norm_eps=float(eps), rope_theta=_rope_theta(hf, where),
                       tie_embeddings=tie, head_dim=head_dim, dtype=dtype, device=device)


def hf_shapes(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Every tensor a transformers Mistral / Llama checkpoint of this config holds, with its shape."""
    C, D, F, V = cfg.d_model, cfg.head_dim, cfg.d_ff, cfg.vocab_size
    out = {"model.embed_tokens.weight": (V, C), "model.norm.weight": (C,)}
    if not cfg.tie_embeddings:
        out["lm_head.weight"] = (V, C)
    for i in range(cfg.n_layers):
        p = f"model.layers.{i}."
        out |= {p + "input_layernorm.weight": (C,), p + "post_attention_layernorm.weight": (C,),
                p + "self_attn.q_proj.weight": (cfg.n_heads * D, C),
                p + "self_attn.k_proj.weight": (cfg.n_kv_heads * D, C),
                p + "self_attn.v_proj.weight": (cfg.n_kv_heads * D, C),
                p + "self_attn.o_proj.weight": (C, cfg.n_heads * D),
                p + "mlp.gate_proj.weight": (F, C), p + "mlp.up_proj.weight": (F, C),
                p + "mlp.down_proj.weight": (C, F)}
    return out


def state_from_hf(hf_state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A transformers Mistral / Llama state dict in our names, Q/K/V and gate/up stacked."""
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
            if all(n in out for n in names):  # load_checkpoint has checked that all are there
                out[name.replace(parts[0], stacked)] = torch.cat([out.pop(n) for n in names])
    return out


def read_config(path: Path) -> dict:
    """config.json as a dict; `CheckpointError` naming the file if it is not one."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path} cannot be read: {err}") from None
    try:
        hf = json.loads(text)
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{path} is not JSON ({err.msg} at line {err.lineno}, column {err.colno})") \
            from None
    if not isinstance(hf, dict):
        raise CheckpointError(f"{path} must hold a JSON object, got a {type(hf).__name__}")
    return hf


def tensor_shapes(files: list[Path]) -> dict[str, tuple[tuple[int, ...], Path]]:
    """Name -> (shape, file) of every tensor in the safetensors files, read from their headers only."""
    from safetensors import SafetensorError, safe_open

    found: dict[str, tuple[tuple[int, ...], Path]] = {}
    for f in files:
        try:
            with safe_open(str(f), framework="pt") as st:
                for name in st.keys():
                    found[name] = (tuple(st.get_slice(name).get_shape()), f)
        except (SafetensorError, OSError, ValueError) as err:
            first = str(err).splitlines()[0][:120] if str(err) else type(err).__name__
            raise CheckpointError(f"{f} is not a readable safetensors file ({first})") from None
    return found


def check_tensors(cfg: ModelConfig, found: dict[str, tuple[tuple[int, ...], Path]]) -> None:
    """Every tensor the config needs is there with its shape, and nothing else (`CheckpointError`)."""
    want = hf_shapes(cfg)
    for name, shape in want.items():
        if name not in found:
            raise CheckpointError(f"the checkpoint has no tensor {name!r}")
        got, f = found[name]
        if got != shape:
            raise CheckpointError(f"{f.name}: tensor {name!r} has shape {list(got)}, expected {list(shape)} "
                                  "from config.json")
    extra = [n for n in found if n not in want and "rotary_emb" not in n
             and not (cfg.tie_embeddings and n == "lm_head.weight")]
    if extra:
        raise CheckpointError(f"{found[extra[0]][1].name}: tensor {extra[0]!r} has no place in a "
                              f"{cfg.n_layers}-layer Mistral / Llama decoder")


def available_memory(device: str) -> int | None:
    """Bytes free for new tensors on `device` (None where we cannot tell)."""
    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.mem_get_info(torch.device(device))[0]
    try:  # Linux: what the kernel could give without swapping
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def weight_bytes(cfg: ModelConfig) -> int:
    """Bytes the decoder's weights take in `cfg.dtype`."""
    n = sum(v for s in hf_shapes(cfg).values() for v in [_numel(s)])
    return n * dtype_of(cfg.dtype).itemsize


def _numel(shape: tuple[int, ...]) -> int:
    out = 1
    for d in shape:
        out *= d
    return out


def load_checkpoint(path: str | Path, dtype: str = "float32", device: str = "cpu") -> Decoder:
    """Build the decoder from a checkpoint directory, after checking every file it reads.

    The weights are assigned to a decoder whose parameters were allocated but never filled
    (`build(..., fill=False)`): nothing is initialised at random and then overwritten.
    """
    from safetensors.torch import load_file

    path = Path(path)
    cfg_file = path / "config.json"
    if not cfg_file.is_file():
        raise CheckpointError(f"{path} has no config.json; point --checkpoint at a transformers model dir")
    files = sorted(path.glob("*.safetensors"))
    if not files:
        raise CheckpointError(f"{path} has no *.safetensors weights (pickle checkpoints are not loaded)")
    cfg = config_from_hf(read_config(cfg_file), dtype, device, where=str(cfg_file))
    need, free = weight_bytes(cfg), available_memory(device)
    if free is not None and need > free:
        raise NotEnoughMemory(f"{cfg_file}: the weights need {need / 2**30:.1f} GiB in {dtype} and "
                              f"{device} has {free / 2**30:.1f} GiB free; use a smaller model or dtype")
    check_tensors(cfg, tensor_shapes(files))
    state = {}
    for f in files:
        try:
            state.update(load_file(str(f), device=str(device)))
        except Exception as err:  # truncated data behind a valid header shows up here
            raise CheckpointError(f"{f} cannot be read ({str(err).splitlines()[0][:120]})") from None
    state = {k: v.to(dtype_of(dtype)) for k, v in state_from_hf(state).items()}
    # The checkpoint overwrites every weight (assign=True). On the CPU an unfilled decoder costs nothing
    # (its pages are never touched) and avoids the meta device's 2.4 s first use; on a GPU it would hold
    # a second copy of the weights at the peak, so the decoder is born on `meta` there.
    if str(device) == "cpu":
        model = build(cfg, seed=None, fill=False)
    else:
        model = build(cfg.replace(device="meta"), seed=None)
        model.cfg.device = cfg.device
    if cfg.tie_embeddings:
        state.pop("lm_head.weight", None)
    missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
    # check_tensors has matched every name, so only a tied head may be missing here
    tied = {"lm_head.weight"} if cfg.tie_embeddings else set()
    assert not unexpected and set(missing) <= tied, f"missing {missing}, unexpected {unexpected}"
    if cfg.tie_embeddings:
        model.lm_head.weight = model.embed.weight
    return model
