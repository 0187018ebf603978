"""A transformers `config.json` read into a cost `Shape`, for the models whose layer kinds it knows.

    model_type            layer kinds
    mistral, phi3,        every layer sliding if `sliding_window` is set, else every layer full
      mixtral             (mixtral: a mixture of `num_local_experts`, `num_experts_per_tok` active)
    llama                 every layer full
    qwen2                 layer i slides iff `use_sliding_window` and i >= `max_window_layers`
    gemma2                even layers slide (0, 2, ...), odd layers are global
    gemma3, gemma3_text   layer i is global iff (i + 1) % `sliding_window_pattern` == 0 (default 6);
                          a multimodal `gemma3` file keeps these in its `text_config`
    jamba                 attention iff i % `attn_layer_period` == `attn_layer_offset`, else mamba;
                          a mixture of experts iff i % `expert_layer_period` == `expert_layer_offset`

An explicit `layer_types` list (newer files carry one) wins over each rule, as in transformers. Keys a
published file leaves out take transformers' default for its model type (`DEFAULTS`: Google's Gemma 3
files omit `vocab_size`, Mixtral's `head_dim` is null); the sizes every figure needs (`hidden_size`,
`num_hidden_layers`, `num_attention_heads`, `intermediate_size`, and `vocab_size` where transformers has
no default) must be there. Every problem is a `validate.Problem` (field "config"), raised as `Invalid`:
a file that is not JSON, not an object, misses a key, or holds a string where a number belongs.

Figures are counted in bf16 whatever `torch_dtype` says, as the rest of the cost model. No torch.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from .config import FULL, MAMBA, SLIDING
from .costs import Shape
from .validate import Invalid, Problem

MAX_BYTES = 1 << 20  # a config.json has a few kilobytes; anything this large is something else
MISSING = object()

# transformers' defaults (its config classes, 5.x) for the keys this reader takes, by model type.
DEFAULTS: dict[str, dict] = {
    "mistral": {"tie_word_embeddings": False},
    "llama": {"tie_word_embeddings": False},
    "qwen2": {"tie_word_embeddings": False, "use_sliding_window": False, "max_window_layers": 28},
    "phi3": {"tie_word_embeddings": False},
    "mixtral": {"tie_word_embeddings": False, "num_local_experts": 8, "num_experts_per_tok": 2},
    "gemma2": {"tie_word_embeddings": True, "head_dim": 256, "sliding_window": 4096},
    "gemma3_text": {"tie_word_embeddings": True, "head_dim": 256, "sliding_window": 4096,
                    "vocab_size": 262208, "max_position_embeddings": 131072, "sliding_window_pattern": 6},
    "jamba": {"tie_word_embeddings": False, "attn_layer_period": 8, "attn_layer_offset": 4,
              "expert_layer_period": 2, "expert_layer_offset": 1, "num_experts": 16, "num_experts_per_tok": 2,
              "mamba_d_state": 16, "mamba_d_conv": 4, "mamba_expand": 2, "mamba_dt_rank": "auto"},
}
MODEL_TYPES = (*DEFAULTS, "gemma3")
BIG = 1 << 31  # the upper bound of a token count or a window


class _Fields:
    """One config object's values, checked as they are read; the first problem raises."""

    def __init__(self, hf: dict, file: str, model_type: str):
        self.hf, self.file, self.defaults = hf, file, DEFAULTS[model_type]

    def _fail(self, code: str, **values):
        raise Invalid([Problem("config", code, {"file": self.file, **values})])

    def raw(self, key: str, default=MISSING):
        v = self.hf.get(key)
        if v is None:  # absent or null: transformers' default for this model type, or the caller's
            v = self.defaults.get(key, default)
        if v is MISSING:
            self._fail("missing_key", key=key)
        return v

    def whole(self, key: str, lo: int, hi: int, default=MISSING) -> int | None:
        v = self.raw(key, default)
        if v is None and default is None:
            return None
        if type(v) is not int:  # bool is an int to Python, not to a config
            self._fail("not_whole", key=key, v=v if not isinstance(v, str) else v[:40])
        if not lo <= v <= hi:
            self._fail("key_range", key=key, v=v, lo=lo, hi=hi)
        return v

    def flag(self, key: str) -> bool:
        v = self.raw(key)
        if type(v) is not bool:
            self._fail("not_bool", key=key, v=v if not isinstance(v, str) else v[:40])
        return v

    def layer_types(self, n: int, allowed: tuple[str, ...]) -> tuple[str, ...] | None:
        """The file's own `layer_types`, if it has one."""
        v = self.hf.get("layer_types")
        if v is None:
            return None
        if not (isinstance(v, list) and len(v) == n and all(t in allowed for t in v)):
            self._fail("layer_types", n=n, options=", ".join(allowed), v=str(v)[:60])
        return tuple(v)


def shape_from_config(hf: dict, name: str = "config.json") -> Shape:
    """The cost `Shape` of a transformers config (a parsed `config.json`); `Invalid` if it cannot be read.

    `name` names the model in tables, and the file in messages.
    """
    if not isinstance(hf, dict):
        raise Invalid([Problem("config", "not_object", {"file": name, "kind": _kind(hf)})])
    model_type = hf.get("model_type")
    if model_type == "gemma3":  # multimodal: the language model's sizes are in text_config
        text = hf.get("text_config")
        if not isinstance(text, dict):
            raise Invalid([Problem("config", "key_not_object" if text is not None else "missing_key",
                                   {"file": name, "key": "text_config", "kind": _kind(text)})])
        return _shape(text, name, "gemma3_text")
    if not isinstance(model_type, str) or model_type not in DEFAULTS:  # a list or object is not one
        raise Invalid([Problem("config", "model_type" if model_type is not None else "missing_key",
                               {"file": name, "key": "model_type", "v": str(model_type)[:40],
                                "options": ", ".join(MODEL_TYPES)})])
    return _shape(hf, name, model_type)


def shape_from_json(text: str | bytes, name: str = "config.json") -> Shape:
    """`shape_from_config` of a config.json's text (an upload, a paste); `Invalid` if it is not JSON."""
    if len(text) > MAX_BYTES:
        raise Invalid([Problem("config", "too_big", {"file": name, "hi": MAX_BYTES})])
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as err:  # JSONDecodeError and bad UTF-8 are ValueErrors
        raise Invalid([Problem("config", "not_json", {"file": name, "err": str(err)[:80]})]) from None
    return shape_from_config(data, name)


def load(path: str | Path) -> Shape:
    """The shape in a config.json file, named after its folder (`Mistral-7B-v0.1/config.json`) or,
    for any other file name, after the file."""
    p = Path(path)
    name = p.parent.name if p.name == "config.json" and p.parent.name else p.stem
    try:
        with open(p, "rb") as f:  # read at most one byte past the cap: /dev/zero or a pipe has no size
            text = f.read(MAX_BYTES + 1)
        if len(text) > MAX_BYTES:
            raise Invalid([Problem("config", "too_big", {"file": str(path), "hi": MAX_BYTES})])
    except OSError as err:
        raise Invalid([Problem("config", "unreadable", {"file": str(path), "err": err.strerror or err})]) \
            from None
    try:
        return shape_from_json(text, name or str(path))
    except Invalid as err:  # name the file as the user typed it
        raise Invalid([Problem(p.field, p.code, p.values | {"file": str(path)})
                       for p in err.problems]) from None


def _kind(v) -> str:
    return {list: "a list", str: "a string", type(None): "null", bool: "a boolean"}.get(
        type(v), "a number" if isinstance(v, int | float) else type(v).__name__)


def _shape(hf: dict, name: str, model_type: str) -> Shape:
    f = _Fields(hf, name, model_type)
    C = f.whole("hidden_size", 1, 1 << 20)
    L = f.whole("num_hidden_layers", 1, 4096)
    H = f.whole("num_attention_heads", 1, 1 << 14)
    Hkv = f.whole("num_key_value_heads", 1, H, default=H)
    D = f.whole("head_dim", 1, 1 << 16, default=max(C // H, 1))
    F = f.whole("intermediate_size", 1, 1 << 22)
    V = f.whole("vocab_size", 1, 1 << 24)
    trained = f.whole("max_position_embeddings", 1, BIG, default=None)
    window = None if model_type == "llama" else f.whole("sliding_window", 1, BIG, default=None)
    kinds = _layer_kinds(f, model_type, L, window)
    counts = {k: kinds.count(k) for k in (SLIDING, FULL, MAMBA) if k in kinds}
    w = f" (W={window})" if SLIDING in kinds else ""
    note = {"en": f"{name}: {L} layers, " + ", ".join(f"{n} {SHORT_EN[k]}" for k, n in counts.items()) + w,
            "zh": f"{name}：{L} 层，" + "，".join(f"{n} 层{SHORT_ZH[k]}" for k, n in counts.items()) + w}
    return Shape(name=name, source=f"{name} (model_type {model_type}): hidden_size {C}, "
                 f"num_hidden_layers {L}, num_attention_heads {H}, num_key_value_heads {Hkv}, head_dim {D}, "
                 f"intermediate_size {F}, vocab_size {V}, sliding_window {window}, "
                 f"max_position_embeddings {trained}",
                 d_model=C, n_heads=H, n_kv_heads=Hkv, head_dim=D, d_ff=F, vocab=V, layer_types=kinds,
                 window=window if SLIDING in kinds else None, tied_embeddings=f.flag("tie_word_embeddings"),
                 trained_context=trained, note=note, **_experts_and_state(f, model_type, L, C))


SHORT_EN = {SLIDING: "sliding", FULL: "full", MAMBA: "mamba"}
SHORT_ZH = {SLIDING: "滑动窗口", FULL: "全注意力", MAMBA: "Mamba"}


def _layer_kinds(f: _Fields, model_type: str, L: int, window: int | None) -> tuple[str, ...]:
    if model_type == "jamba":
        period = f.whole("attn_layer_period", 1, 4096)
        offset = f.whole("attn_layer_offset", 0, period - 1)
        attention = SLIDING if window else FULL
        return tuple(attention if i % period == offset else MAMBA for i in range(L))
    own = f.layer_types(L, (SLIDING, FULL))
    if own is not None:  # a "sliding" layer with no window attends everything, as the other branches say
        return tuple(FULL if kind == SLIDING and not window else kind for kind in own)
    if model_type == "qwen2":
        first = f.whole("max_window_layers", 0, BIG)
        slides = f.flag("use_sliding_window") and window is not None
        return tuple(SLIDING if slides and i >= first else FULL for i in range(L))
    if model_type == "gemma2":
        return tuple(SLIDING if i % 2 == 0 and window else FULL for i in range(L))
    if model_type == "gemma3_text":
        period = f.whole("sliding_window_pattern", 1, 4096)
        return tuple(SLIDING if (i + 1) % period and window else FULL for i in range(L))
    return (SLIDING if window else FULL,) * L  # mistral, phi3, mixtral: one window for all; llama: none


def _experts_and_state(f: _Fields, model_type: str, L: int, C: int) -> dict:
    """A mixture of experts (mixtral, jamba) and the mamba layers' sizes (jamba), as `Shape` fields."""
    if model_type == "mixtral":
        experts = f.whole("num_local_experts", 1, 1 << 14)
        return dict(moe_layers=tuple(range(L)) if experts > 1 else (), experts=experts,
                    experts_per_token=f.whole("num_experts_per_tok", 1, experts))
    if model_type != "jamba":
        return {}
    period = f.whole("expert_layer_period", 1, 4096)
    offset = f.whole("expert_layer_offset", 0, period - 1)
    experts = f.whole("num_experts", 1, 1 << 14)
    dt_rank = f.raw("mamba_dt_rank")
    return dict(moe_layers=tuple(i for i in range(L) if i % period == offset and experts > 1),
                experts=experts, experts_per_token=f.whole("num_experts_per_tok", 1, experts),
                ssm_state=f.whole("mamba_d_state", 1, 1 << 14), ssm_conv=f.whole("mamba_d_conv", 1, 1024),
                ssm_expand=f.whole("mamba_expand", 1, 64),
                dt_rank=math.ceil(C / 16) if dt_rank == "auto" else f.whole("mamba_dt_rank", 1, 1 << 20))
