"""The classroom run: validate the settings, load a tiny model, generate with a tracer, return the trace.

The CLI (`python -m swa_demo walkthrough`) and the Streamlit page both call `run`, so they show the
same computed walkthrough. Bad settings raise `validate.Invalid`, which lists every problem for each
front end to word in its language.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .config import PATTERNS, POLICIES
from .generate import generate
from .model import Decoder, dtype_of
from .tiny import LETTERS, MAX_LAYERS, label, load, parse_prompt
from .trace import Trace, Tracer
from .validate import Invalid, Problem, in_range, one_of

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


def problems(s: Settings) -> list[Problem]:
    """Everything wrong with these settings, all at once (empty: the engine accepts them)."""
    out: list[Problem] = []
    letters = [c for c in s.prompt if c not in " ,"]
    bad = [c for c in letters if not (c.isascii() and c.upper() in LETTERS)]
    if bad:
        out.append(Problem("prompt", "bad_char", {"c": bad[0]}))
    elif not letters:
        out.append(Problem("prompt", "empty"))
    elif len(letters) > MAX_PROMPT:
        out.append(Problem("prompt", "too_long", {"n": len(letters), "hi": MAX_PROMPT}))
    out += in_range("new", s.new, 1, MAX_NEW)
    out += in_range("window", s.window, 1, MAX_WINDOW)
    out += in_range("layers", s.layers, 1, MAX_LAYERS)
    out += one_of("pattern", s.pattern, PATTERNS)
    out += one_of("policy", s.policy, POLICIES)
    if s.policy == "sink" and not 0 < s.sinks < s.window and not in_range("window", s.window, 1, MAX_WINDOW):
        out.append(Problem("sinks", "sinks_range", {"v": s.sinks, "w": s.window}))
    if s.chunk is not None and s.chunk < 1:
        out.append(Problem("chunk", "at_least", {"v": s.chunk, "lo": 1}))
    return out


def check(s: Settings) -> list[int]:
    """Validate every setting (`validate.Invalid` lists each problem); return the prompt's token ids."""
    found = problems(s)
    if found:
        raise Invalid(found)
    return parse_prompt(s.prompt)


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
    return tracer.trace(config, ids, gen.tokens[0].tolist())
