"""Shared test helpers: random configs and the incremental-vs-recompute comparison."""

from __future__ import annotations

import torch

from swa_demo.cache import CacheView
from swa_demo.config import MAMBA, SLIDING, ModelConfig
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


class DenseRecompute:
    """Not a cache: hands attention exactly this forward's keys, with a layer's window and sinks, so
    that `model(tokens, positions, [DenseRecompute(...), ...])` is a full recompute under the sink mask
    (the model's own recompute, `caches=None`, has no sinks)."""

    def __init__(self, window: int | None, sinks: int):
        self.window, self.sinks, self.policy = window, sinks, f"dense-{window}-{sinks}"
        self.rope = "absolute"
        self.pos = torch.empty(0)

    def update(self, k, v, pos, decode=False):
        return CacheView(k, v, pos, None)


def recompute_logits(model, seq: list[int], prompt_len: int, sinks: int = 0) -> torch.Tensor:
    """The reference for one row: full recompute with the dense mask, no cache; with `sinks`, sliding
    layers also allow the first S positions (StreamingLLM), full layers everything."""
    tokens = torch.tensor([seq])
    if not sinks:
        return reference_logits(model, tokens)[0][prompt_len - 1:]
    from swa_demo.mamba import SSMState

    cfg = model.cfg
    caches = [SSMState(cfg, 1) if kind == MAMBA else
              DenseRecompute(cfg.sliding_window if kind == SLIDING else None, sinks if kind == SLIDING else 0)
              for kind in cfg.layer_types]
    with torch.no_grad():
        return model(tokens, torch.arange(len(seq))[None], caches)[0][prompt_len - 1:]


def parity_error(model, seqs, prompt_lens, policy, chunk=None, sinks: int = 0) -> float:
    """Largest |logit difference| between incremental decoding and the full recompute, over all rows."""
    got = incremental_logits(model, seqs, prompt_lens, policy, chunk, sinks=sinks)
    worst = 0.0
    for r, (s, p) in enumerate(zip(seqs, prompt_lens)):
        ref = recompute_logits(model, s, p, sinks if policy == "sink" else 0)
        assert got[r].shape == ref.shape, f"row {r}: {got[r].shape} vs {ref.shape}"
        worst = max(worst, (got[r] - ref).abs().max().item())
    return worst


def assert_parity(model, seqs, prompt_lens, policy, chunk=None, atol=1e-5, sinks: int = 0):
    err = parity_error(model, seqs, prompt_lens, policy, chunk, sinks)
    assert err < atol, f"{policy}, chunk={chunk}, sinks={sinks}: max |diff| {err:.2e} >= {atol}"


def write_mistral_checkpoint(folder, vocab: int = 50, hidden: int = 16, layers: int = 1, heads: int = 2,
                             kv_heads: int = 1, ffn: int = 24, window: int = 4, seed: int = 0):
    """A tiny transformers-Mistral checkpoint (config.json + model.safetensors, transformers' names),
    random weights, written without transformers: what `generate --checkpoint` reads."""
    import json
    from pathlib import Path

    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    head_dim = hidden // heads
    config = {"model_type": "mistral", "vocab_size": vocab, "hidden_size": hidden,
              "intermediate_size": ffn, "num_hidden_layers": layers, "num_attention_heads": heads,
              "num_key_value_heads": kv_heads, "head_dim": head_dim, "sliding_window": window,
              "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "max_position_embeddings": 32768,
              "tie_word_embeddings": False}
    g = torch.Generator().manual_seed(seed)

    def w(*shape):
        return (torch.randn(*shape, generator=g) * 0.2).contiguous()

    state = {"model.embed_tokens.weight": w(vocab, hidden), "model.norm.weight": torch.ones(hidden),
             "lm_head.weight": w(vocab, hidden)}
    for i in range(layers):
        p = f"model.layers.{i}."
        state |= {p + "input_layernorm.weight": torch.ones(hidden),
                  p + "post_attention_layernorm.weight": torch.ones(hidden),
                  p + "self_attn.q_proj.weight": w(heads * head_dim, hidden),
                  p + "self_attn.k_proj.weight": w(kv_heads * head_dim, hidden),
                  p + "self_attn.v_proj.weight": w(kv_heads * head_dim, hidden),
                  p + "self_attn.o_proj.weight": w(hidden, heads * head_dim),
                  p + "mlp.gate_proj.weight": w(ffn, hidden), p + "mlp.up_proj.weight": w(ffn, hidden),
                  p + "mlp.down_proj.weight": w(hidden, ffn)}
    (folder / "config.json").write_text(json.dumps(config))
    save_file(state, str(folder / "model.safetensors"))
    return folder
