"""The classroom run: validate the settings, load a model, generate with a tracer, return the trace.

Two models: the tiny alphabet model (`model="tiny"`, the seed walkthrough; the prompt is letters) and
SmolLM2-135M (`model="smollm2"`, a real pretrained model; the prompt is free text, and the window and
layer pattern are imposed on a model trained with full attention). The CLI (`python -m swa_demo
walkthrough`) and the Streamlit page both call `run`, so they show the same computed walkthrough. Bad
settings raise `validate.Invalid`, which lists every problem for each front end to word in its language.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from .config import PATTERNS, POLICIES, pattern
from .generate import generate
from .limits import (
    MAX_NEW,
    MAX_PROMPT,
    MAX_WINDOW,
    MODELS,
    REAL_MAX_CHARS,
    REAL_MAX_TOKENS,
    REAL_MAX_WINDOW,
    REAL_PATTERNS,
)
from .model import Decoder, dtype_of
from .tiny import LETTERS, MAX_LAYERS, label, load, parse_prompt
from .trace import Trace, Tracer
from .validate import Invalid, Problem, in_range, one_of


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
    model: str = "tiny"  # or "smollm2": then `prompt` is free text and `layers` is the model's 30


def problems(s: Settings) -> list[Problem]:
    """Everything wrong with these settings, all at once (empty: the engine accepts them).

    For SmolLM2 the text's token count is checked in `run`, once the tokenizer is loaded.
    """
    out = one_of("model", s.model, MODELS)
    if out:
        return out
    if s.model == "tiny":
        out += _letter_problems(s.prompt)
        out += in_range("layers", s.layers, 1, MAX_LAYERS)
        out += in_range("window", s.window, 1, MAX_WINDOW)
        out += one_of("pattern", s.pattern, PATTERNS)
    else:
        if not s.prompt.strip():
            out.append(Problem("text", "text_empty"))
        elif len(s.prompt) > REAL_MAX_CHARS:
            out.append(Problem("text", "text_chars", {"n": len(s.prompt), "hi": REAL_MAX_CHARS}))
        out += in_range("window", s.window, 1, REAL_MAX_WINDOW)
        out += one_of("pattern", s.pattern, REAL_PATTERNS)
    out += in_range("new", s.new, 1, MAX_NEW)
    out += one_of("policy", s.policy, POLICIES)
    window_ok = not any(p.field == "window" for p in out)
    if s.policy == "sink" and window_ok and not 0 < s.sinks < s.window:
        out.append(Problem("sinks", "sinks_range", {"v": s.sinks, "w": s.window}))
    if s.chunk is not None and s.chunk < 1:
        out.append(Problem("chunk", "at_least", {"v": s.chunk, "lo": 1}))
    return out


def _letter_problems(prompt: str) -> list[Problem]:
    letters = [c for c in prompt if c not in " ,"]
    bad = [c for c in letters if not (c.isascii() and c.upper() in LETTERS)]
    if bad:
        return [Problem("prompt", "bad_char", {"c": bad[0]})]
    if not letters:
        return [Problem("prompt", "empty")]
    if len(letters) > MAX_PROMPT:
        return [Problem("prompt", "too_long", {"n": len(letters), "hi": MAX_PROMPT})]
    return []


@dataclass
class Source:
    """A model and how its tokens are read and named: the tiny model's letters, or a real tokenizer."""

    model: Decoder
    encode: Callable[[str], list[int]]
    label: Callable[[int], str]  # one token on its own
    labels: Callable[[list[int]], list[str]]  # a sequence (a real tokenizer joins split characters)
    name: str


def check(s: Settings, source: Source | None = None) -> list[int]:
    """Validate every setting (`validate.Invalid` lists each problem); return the prompt's token ids.

    The tiny model's letters need no model; SmolLM2's text is tokenized by `source`'s tokenizer.
    """
    found = problems(s)
    if found:
        raise Invalid(found)
    if s.model == "tiny":
        return parse_prompt(s.prompt)
    assert source is not None, "checking a SmolLM2 text needs its tokenizer (a Source)"
    ids = source.encode(s.prompt)
    if not ids:
        raise Invalid([Problem("text", "text_no_tokens")])
    if len(ids) > REAL_MAX_TOKENS:
        raise Invalid([Problem("text", "text_tokens", {"n": len(ids), "hi": REAL_MAX_TOKENS})])
    return ids


def tiny_source(s: Settings, model: Decoder | None = None) -> Source:
    """The shipped tiny weights for the layer count and pattern, run with the chosen window."""
    return Source(model or load(s.layers, s.pattern, window=s.window), parse_prompt, label,
                  lambda ids: [label(i) for i in ids], "tiny")


def real_source(progress=None) -> Source:
    """SmolLM2-135M and its tokenizer (converted into the user cache on first use)."""
    from .interop import smollm2

    model, tok = smollm2.load(progress=progress)
    return Source(model, tok.encode, tok.label, tok.labels, "smollm2")


def model_for(s: Settings) -> Decoder:
    """The shipped tiny weights for the layer count and pattern, run with the chosen window."""
    return tiny_source(s).model


@torch.no_grad()
def run(s: Settings, model: Decoder | None = None, source: Source | None = None) -> Trace:
    """The traced run of these settings. `model` (tiny) or `source` may be given to reuse a loaded one."""
    found = problems(s)  # before loading anything
    if found:
        raise Invalid(found)
    src = source or (tiny_source(s, model) if s.model == "tiny" else real_source())
    ids = check(s, src)
    cfg = src.model.cfg
    kinds = _layer_kinds(s, cfg)
    tracer = Tracer(src.label, src.labels)
    gen = generate(src.model, [ids], s.new, policy=s.policy, sinks=s.sinks, chunk=s.chunk, observer=tracer,
                   layer_types=kinds, window=s.window)
    bytes_per_entry = 2 * cfg.n_kv_heads * cfg.head_dim * dtype_of(cfg.dtype).itemsize  # K and V
    config = {**cfg.to_dict(), "layer_types": list(kinds), "sliding_window": s.window, "model": s.model,
              "policy": s.policy, "sinks": s.sinks, "chunk": s.chunk, "pattern": s.pattern,
              "positions": "absolute", "kv_bytes_per_entry": bytes_per_entry}
    return tracer.trace(config, ids, gen.tokens[0].tolist())


def _layer_kinds(s: Settings, cfg) -> list[str]:
    """The tiny models were trained with their pattern; SmolLM2 (all full attention) gets one imposed."""
    return cfg.layer_types if s.model == "tiny" else pattern(s.pattern, cfg.n_layers)


@torch.no_grad()
def continuation(s: Settings, source: Source) -> list[str]:
    """The tokens `run(s)` generates, untraced (no weights or cache cells kept): the page sets the traced
    run beside what the same model generates with other settings, such as the attention it was trained
    with."""
    ids = check(s, source)
    gen = generate(source.model, [ids], s.new, policy=s.policy, sinks=s.sinks, chunk=s.chunk,
                   layer_types=_layer_kinds(s, source.model.cfg), window=s.window)
    return source.labels(ids + gen.tokens[0].tolist())[len(ids):]
