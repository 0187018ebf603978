"""Train, save and load the tiny alphabet models (weights shipped in `assets/tiny/`).

The task: after a letter comes the next one (Z is followed by A), so `A B C` continues `D E F`. The
models use RoPE and no absolute position embedding, so one set of weights runs at any position and
with any window `W`; the shipped ones were trained with `W = 2`, as in the seed walkthrough.
"""

from __future__ import annotations

import json
import string
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from . import paths
from .config import PATTERNS, ConfigError, seed_tiny
from .limits import MAX_LAYERS
from .model import Decoder, build

LETTERS = string.ascii_uppercase
ASSETS = paths.ASSETS / "tiny"
TRAIN_SEED = 1234
SHIPPED_PATTERNS = tuple(PATTERNS)  # every family ships weights for 1..MAX_LAYERS layers


class WeightsError(RuntimeError):
    """Shipped weights are missing or unreadable; the message says how to rebuild them."""


def parse_prompt(text: str) -> list[int]:
    """'ABC', 'A B C' or 'a,b,c' -> [0, 1, 2]. Anything but letters (and separators) is refused."""
    letters = [c for c in text if c not in " ,"]
    bad = [c for c in letters if c.upper() not in LETTERS or not c.isascii()]
    if bad:
        raise ConfigError(f"the prompt may only hold the letters A-Z; {bad[0]!r} is not one")
    if not letters:
        raise ConfigError("the prompt is empty; give at least one letter, e.g. ABC")
    return [LETTERS.index(c.upper()) for c in letters]


def label(token_id: int) -> str:
    return LETTERS[token_id]


def weights_path(n_layers: int, layer_pattern: str = "sliding") -> Path:
    return ASSETS / f"{layer_pattern}-L{n_layers}.safetensors"


def training_batch(batch: int, length: int, generator: torch.Generator) -> torch.Tensor:
    """Rows of consecutive letters from random starts, wrapping after Z: (batch, length)."""
    start = torch.randint(0, len(LETTERS), (batch, 1), generator=generator)
    return (start + torch.arange(length)) % len(LETTERS)


def train(n_layers: int = 3, layer_pattern: str = "sliding", steps: int = 300, window: int = 2,
          log=print) -> Decoder:
    """Train from a fixed seed (a few seconds on 2 CPU cores); the loss falls well under 0.01."""
    torch.manual_seed(TRAIN_SEED)
    gen = torch.Generator().manual_seed(TRAIN_SEED)
    cfg = seed_tiny(n_layers=n_layers, window=window, layer_pattern=layer_pattern)
    model = build(cfg, seed=TRAIN_SEED).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)
    length = 16
    positions = torch.arange(length).expand(64, length)
    t0 = time.perf_counter()
    for step in range(steps):
        seq = training_batch(64, length + 1, gen)
        logits = model(seq[:, :-1], positions, None)  # full recompute with the sliding mask
        loss = F.cross_entropy(logits.reshape(-1, cfg.vocab_size), seq[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0 or step == steps - 1:
            log(f"{layer_pattern}-L{n_layers} step {step:4d}  loss {loss.item():.4f}  "
                f"({time.perf_counter() - t0:.1f} s)")
    return model.eval()


def save(model: Decoder, path: Path) -> None:
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(path), metadata={"config": json.dumps(model.cfg.to_dict())})


def load(n_layers: int = 3, layer_pattern: str = "sliding", window: int = 2,
         path: Path | None = None) -> Decoder:
    """The shipped model for `n_layers` of `layer_pattern`, run with window `window`."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if layer_pattern not in PATTERNS:
        raise ConfigError(f"unknown layer pattern {layer_pattern!r}; use one of {', '.join(PATTERNS)}")
    if not 1 <= n_layers <= MAX_LAYERS and path is None:
        raise ConfigError(f"the tiny models have 1 to {MAX_LAYERS} layers; {n_layers} is out of range")
    path = path or weights_path(n_layers, layer_pattern)
    cfg = seed_tiny(n_layers=n_layers, window=window, layer_pattern=layer_pattern)
    if not path.is_file():
        raise WeightsError(f"weights file {path} is missing; rebuild it with "
                           f"`python -m swa_demo train --layers {n_layers} --pattern {layer_pattern}`")
    try:
        state = load_file(str(path))
        model = Decoder(cfg)
        model.load_state_dict(state)
    except (SafetensorError, RuntimeError, OSError, ValueError) as err:
        raise WeightsError(f"weights file {path} is unreadable ({str(err).splitlines()[0][:120]}); "
                           f"rebuild it with `python -m swa_demo train --layers {n_layers} "
                           f"--pattern {layer_pattern}`") from None
    return model.eval()
