"""StreamingLLM's experiment (Xiao et al. 2023) through the engine's real caches: feed a long text one
token at a time and record how well each next token is predicted.

Every policy runs the same weights; only the caches differ (`generate.make_caches`):

    full       every layer keeps every key (the reference; memory grows with the text)
    window     a ring of W keys per layer: once the text passes W, the first tokens are evicted
    sink       the first S tokens kept for good + a ring of the W - S most recent (attention sinks)
    recompute  no cache: each token is predicted by a fresh forward over the W tokens before it
               (sliding window with re-computation, the quality baseline; W times the work)

Positions (`positions=`): "absolute" rotates each key by RoPE once, at its position in the text, before
it is cached (the engine's way, Mistral's); "cache" is StreamingLLM's: keys are cached before RoPE and
rotated at their index inside the cache at every step, so no query sits further than W - 1 from a key
(see `model.rope_by_cache_index`). Inside the window both give the same distances; they differ for the
sinks, and once the text runs past the length the model was trained on.

The record of a run: the negative log-likelihood (nats) of every token from the second on (`nll[i]` is
token i + 1's), perplexity exp(mean NLL) over all of them and per segment — `before` (targets 1..W, the
cache still holds everything) and `after` (targets W+1.., once the first token has been evicted) — and
the time per token. A run feeds token i at position i and predicts token i + 1, so the write of position
W, which evicts position 0 from a ring, comes right before the prediction of target W + 1.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch

from .config import FULL, SLIDING
from .generate import decode_one_token, make_caches
from .model import Decoder

POLICIES = ("full", "window", "sink", "recompute")
POSITIONS = ("absolute", "cache")
RECOMPUTE_BATCH = 8  # windows per forward in the recompute baseline: the same work, fewer calls


@dataclass
class StreamResult:
    policy: str
    positions: str
    window: int
    sinks: int
    tokens: int  # tokens fed (targets: tokens - 1)
    nll: list[float]  # per target, nats, rounded to 1e-4
    ppl: float  # exp(mean nll) over every target
    ppl_before: float | None  # targets 1..W: nothing evicted yet
    ppl_after: float | None  # targets W+1..: the first token is gone from a window cache
    ms_per_token: float  # median time of one step (one forward; the recompute's share of a batch)
    cache_entries: int  # keys the cache holds per layer at the end (recompute: the window it re-reads)
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def perplexity(nll: list[float]) -> float | None:
    return math.exp(sum(nll) / len(nll)) if nll else None


def _result(policy, positions, window, sinks, nll, times, entries) -> StreamResult:
    return StreamResult(policy=policy, positions=positions, window=window, sinks=sinks, tokens=len(nll) + 1,
                        nll=[round(x, 4) for x in nll], ppl=perplexity(nll),
                        ppl_before=perplexity(nll[:window]), ppl_after=perplexity(nll[window:]),
                        ms_per_token=statistics.median(times) if times else float("nan"),
                        cache_entries=entries)


@torch.no_grad()
def stream(model: Decoder, ids: list[int], policy: str, window: int, sinks: int = 0,
           positions: str = "absolute", progress: Callable[[int, int], None] | None = None) -> StreamResult:
    """Feed `ids` through one policy and record the NLL of every next token (see the module docstring).

    `progress(done, total)` is called after every token (or recompute batch).
    """
    assert policy in POLICIES, f"policy must be one of {POLICIES}, got {policy!r}"
    assert positions in POSITIONS, f"positions must be one of {POSITIONS}, got {positions!r}"
    assert len(ids) >= 2, "a stream needs at least 2 tokens: one to read, one to predict"
    assert window >= 1 and (policy != "sink" or 0 < sinks < window), f"bad window {window} / sinks {sinks}"
    if policy == "recompute":
        return _recompute(model, ids, window, positions, progress)
    device = model.embed.weight.device
    n_layers = model.cfg.n_layers
    kinds = [FULL] * n_layers if policy == "full" else [SLIDING] * n_layers
    caches = make_caches(model, 1, "sink" if policy == "sink" else "ring", sinks=sinks,
                         capacity=len(ids) if policy == "full" else None, layer_types=kinds, window=window,
                         rope=positions)
    nll, times = [], []
    targets = torch.tensor(ids, device=device)
    for i in range(len(ids) - 1):
        t0 = time.perf_counter()
        logits = decode_one_token(model, targets[i:i + 1][None], torch.tensor([[i]], device=device), caches)
        nll.append(float(-torch.log_softmax(logits[0].float(), -1)[targets[i + 1]]))
        times.append((time.perf_counter() - t0) * 1e3)
        if progress:
            progress(i + 1, len(ids) - 1)
    return _result(policy, positions, window, sinks if policy == "sink" else 0, nll, times,
                   caches[0].held())


def _recompute(model: Decoder, ids: list[int], window: int, positions: str, progress) -> StreamResult:
    """Target t from a fresh forward over tokens max(0, t - W) .. t - 1, with full attention inside it:
    at positions 0..n-1 (`cache`: the window is all the model sees) or at their text positions."""
    device = model.embed.weight.device
    kinds = [FULL] * model.cfg.n_layers
    nll, times = [], []
    targets = list(range(1, len(ids)))
    # Targets whose windows have the same length share a batch: the first W - 1 grow, then all are W.
    groups: dict[int, list[int]] = {}
    for t in targets:
        groups.setdefault(min(t, window), []).append(t)
    done = 0
    for n, ts in groups.items():
        for start in range(0, len(ts), RECOMPUTE_BATCH):
            batch = ts[start:start + RECOMPUTE_BATCH]
            tok = torch.tensor([ids[t - n:t] for t in batch], device=device)
            first = [0 if positions == "cache" else t - n for t in batch]
            pos = torch.tensor([[f + j for j in range(n)] for f in first], device=device)
            t0 = time.perf_counter()
            logits = model(tok, pos, None, last_only=True, layer_types=kinds)[:, 0]  # (b, V)
            logp = torch.log_softmax(logits.float(), -1)
            times += [(time.perf_counter() - t0) * 1e3 / len(batch)] * len(batch)
            nll += [float(-logp[j, ids[t]]) for j, t in enumerate(batch)]
            done += len(batch)
            if progress:
                progress(done, len(targets))
    return _result("recompute", positions, window, 0, nll, times, min(window, len(ids) - 1))


# ---- where the attention goes ----------------------------------------------------------------------


class FirstTokenWeight:
    """Observer: per layer, the attention weight each query puts on position 0 (the would-be sink)."""

    def __init__(self):
        self.layers: list[dict] = []

    def attention(self, *, layer, kind, q_pos, k_pos, mask, weights, before, cache, evicted):
        # weights (B, H, Tq, Tk); queries from position 1 on, since position 0 can only read itself
        w = weights[0, :, 1:, :].float()  # (H, Tq - 1, Tk)
        first = (k_pos[0] == 0).nonzero().flatten()
        on_first = w[:, :, first].sum(-1)  # (H, Tq - 1)
        keys = mask[0, 1:].sum(-1).clamp_min(1).float()  # (Tq - 1,) keys each query may read
        self.layers.append({"layer": layer + 1, "kind": kind,
                            "first": on_first.mean().item(),  # mean weight on position 0
                            "per_head": on_first.mean(1).tolist(),
                            "uniform": (1 / keys).mean().item()})  # what position 0 gets if none is special

    def ssm(self, **_):  # an SSM layer attends nothing
        pass


@torch.no_grad()
def first_token_attention(model: Decoder, ids: list[int]) -> list[dict]:
    """Per layer: the mean attention weight on position 0 over heads and queries, per head, and the
    weight a uniform spread would give it, in a full-attention forward over `ids` (eager, so the
    weights exist). StreamingLLM's observation: far above uniform in most layers past the first two."""
    assert len(ids) >= 2, "the first token's weight needs at least one later query"
    obs = FirstTokenWeight()
    device = model.embed.weight.device
    tok = torch.tensor([ids], device=device)
    model(tok, torch.arange(len(ids), device=device)[None], None, observer=obs,
          layer_types=[FULL] * model.cfg.n_layers)
    return obs.layers
