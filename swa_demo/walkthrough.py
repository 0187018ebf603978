"""The classroom run: validate the settings, load a tiny model, generate with a tracer, return the trace.

The CLI (`python -m swa_demo walkthrough`) and the Streamlit page both call `run`, so they show the
same computed walkthrough. Every bad setting raises `ConfigError` with a message that says what to
change.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .config import PATTERNS, POLICIES, ConfigError
from .generate import generate
from .model import Decoder, dtype_of
from .tiny import MAX_LAYERS, label, load, parse_prompt
from .trace import Trace, Tracer

MAX_PROMPT = 32
MAX_NEW = 32
MAX_WINDOW = 64


@dataclass(frozen=True)
class Settings:
    prompt: str = "ABC"
    new: int = 3
    window: int = 2
    layers: int = 3
    policy: str = "seed"
    pattern: str = "sliding"
    sinks: int = 0
    chunk: int | None = None


def check(s: Settings) -> list[int]:
    """Validate every setting; return the prompt's token ids."""
    ids = parse_prompt(s.prompt)
    if len(ids) > MAX_PROMPT:
        raise ConfigError(f"the prompt has {len(ids)} letters; use at most {MAX_PROMPT}")
    if not 1 <= s.new <= MAX_NEW:
        raise ConfigError(f"tokens to generate must be between 1 and {MAX_NEW}, got {s.new}")
    if not 1 <= s.window <= MAX_WINDOW:
        raise ConfigError(f"the window W must be between 1 and {MAX_WINDOW}, got {s.window}")
    if not 1 <= s.layers <= MAX_LAYERS:
        raise ConfigError(f"layers must be between 1 and {MAX_LAYERS}, got {s.layers}")
    if s.pattern not in PATTERNS:
        raise ConfigError(f"unknown layer pattern {s.pattern!r}; use one of {', '.join(PATTERNS)}")
    if s.policy not in POLICIES:
        raise ConfigError(f"unknown cache policy {s.policy!r}; use one of {', '.join(POLICIES)}")
    if s.policy == "sink" and not 0 < s.sinks < s.window:
        raise ConfigError(f"attention sinks S must satisfy 0 < S < W (W = {s.window}), got {s.sinks}")
    if s.chunk is not None and s.chunk < 1:
        raise ConfigError(f"the prefill chunk must be at least 1 token, got {s.chunk}")
    return ids


def model_for(s: Settings) -> Decoder:
    """The shipped weights for the layer count and pattern, run with the chosen window."""
    return load(s.layers, s.pattern, window=s.window)


@torch.no_grad()
def run(s: Settings, model: Decoder | None = None) -> Trace:
    ids = check(s)
    model = model or model_for(s)
    tracer = Tracer(label)
    gen = generate(model, [ids], s.new, policy=s.policy, sinks=s.sinks, chunk=s.chunk,
                   observer=tracer)
    cfg = model.cfg
    bytes_per_entry = 2 * cfg.n_kv_heads * cfg.head_dim * dtype_of(cfg.dtype).itemsize  # K and V
    config = {**cfg.to_dict(), "policy": s.policy, "sinks": s.sinks, "chunk": s.chunk,
              "pattern": s.pattern, "kv_bytes_per_entry": bytes_per_entry}
    return tracer.trace(config, [label(i) for i in ids], [label(i) for i in gen.tokens[0].tolist()])
