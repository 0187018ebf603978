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
from pathlib import Path

import torch

from . import paths
from .config import FULL, SLIDING, ConfigError
from .generate import GraphedDecode, decode_one_token, make_caches
from .model import Decoder

POLICIES = ("full", "window", "sink", "recompute")
POSITIONS = ("absolute", "cache")
POSITION_NOTE = ("absolute: each key rotated once at its position in the text; cache: keys cached "
                 "before RoPE and rotated at their index inside the cache, StreamingLLM's way")
RECOMPUTE_BATCH = 8  # windows per forward in the recompute baseline (CPU): the same work, fewer calls
RECOMPUTE_BATCH_GPU = 64
DEFAULT_TEXT = paths.ASSETS / "texts" / "genesis_kjv_1-20.txt"


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
    ms_per_token: float  # CPU: median time of one step (the recompute: its share of a batch);
    # GPU: the whole run's time over its tokens (each step a CUDA graph replay; no sync per token)
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
    tokens = torch.tensor(ids, device=device)
    positions_t = torch.arange(len(ids), device=device)[:, None, None]  # (N, 1, 1): one per step
    if device.type == "cuda":  # one CUDA graph per run: the step is tiny, launching it is the cost
        step = GraphedDecode(model, caches, tokens[:1][None], positions_t[0])
    else:
        def step(tok, pos):
            return decode_one_token(model, tok, pos, caches)
    nll = torch.empty(len(ids) - 1, device=device)  # kept on the device: no sync per token
    times = []
    start = time.perf_counter()
    for i in range(len(ids) - 1):
        t0 = time.perf_counter()
        logits = step(tokens[i:i + 1][None], positions_t[i])  # (1, V)
        nll[i] = -torch.log_softmax(logits[0].float(), -1)[tokens[i + 1]]
        if device.type != "cuda":
            times.append((time.perf_counter() - t0) * 1e3)
        if progress and (device.type != "cuda" or i % 256 == 255 or i == len(ids) - 2):
            progress(i + 1, len(ids) - 1)
    if device.type == "cuda":  # the mean over the whole run: one sync at the end
        torch.cuda.synchronize()
        times = [(time.perf_counter() - start) * 1e3 / (len(ids) - 1)]
    return _result(policy, positions, window, sinks if policy == "sink" else 0, nll.tolist(), times,
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
    size = RECOMPUTE_BATCH_GPU if device.type == "cuda" else RECOMPUTE_BATCH
    for n, ts in groups.items():
        for start in range(0, len(ts), size):
            batch = ts[start:start + size]
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


# ---- a whole experiment: several policies over one text ------------------------------------------


def read_text(path: str | Path) -> str:
    """A UTF-8 text file, or `ConfigError` naming the file and what is wrong with it."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p} does not exist; give --text-file a UTF-8 text file") from None
    except IsADirectoryError:
        raise ConfigError(f"{p} is a folder; give --text-file a UTF-8 text file") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{p} is not UTF-8 text (byte {err.start}); save it as UTF-8") from None
    except OSError as err:
        raise ConfigError(f"{p} cannot be read: {err.strerror}") from None
    if not text.strip():
        raise ConfigError(f"{p} holds no text")
    return text


def experiment(model: Decoder, ids: list[int], window: int, sinks: int, policies: list[str],
               positions: list[str], progress: Callable[[str, int, int], None] | None = None) -> list[dict]:
    """Every (policy, positions) pair over the same tokens; `progress(label, done, total)` per token.

    Full attention at cache positions is left out when absolute is run too: a full cache holds 0..t,
    so every key's index inside it is its position, and the run would repeat the absolute one.
    """
    rows = []
    for pos_mode in positions:
        for policy in policies:
            if policy == "full" and pos_mode == "cache" and "absolute" in positions:
                continue
            label = f"{policy} ({pos_mode})"
            r = stream(model, ids, policy, window, sinks, pos_mode,
                       progress=(lambda d, t, label=label: progress(label, d, t)) if progress else None)
            rows.append(r.to_dict())
    return rows


def format_rows(rows: list[dict]) -> str:
    """The CLI's table: perplexity overall, before and after the first eviction, time per token."""
    head = ("policy", "positions", "W", "S", "ppl", "ppl before", "ppl after", "ms/token", "cache")
    body = [(r["policy"], r["positions"], str(r["window"]), str(r["sinks"]), f"{r['ppl']:.2f}",
             f"{r['ppl_before']:.2f}" if r["ppl_before"] else "-",
             f"{r['ppl_after']:.2f}" if r["ppl_after"] else "-", f"{r['ms_per_token']:.1f}",
             str(r["cache_entries"])) for r in rows]
    widths = [max(len(x[i]) for x in (head, *body)) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(x, widths)))
             for x in (head, *body)]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def shown_path(path: str | Path) -> str:
    """A shipped text as `assets/texts/...` (the same on every machine), any other file as given."""
    p = Path(path).resolve()
    return f"assets/{p.relative_to(paths.ASSETS.resolve()).as_posix()}" \
        if p.is_relative_to(paths.ASSETS.resolve()) else str(path)


def record(rows: list[dict], **about) -> dict:
    """A run's results with where they come from: machine, torch, date, and what the caller adds."""
    import datetime
    import os
    import platform

    device = torch.cuda.get_device_name() if torch.cuda.is_available() else \
        f"CPU ({platform.machine()}, {torch.get_num_threads()} threads)"
    date = os.environ.get("BENCH_DATE") or datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    return {"model": "SmolLM2-135M-Instruct (Q4_1 GGUF, dequantized to float32)", "device": device,
            "torch": torch.__version__, "date": date, "position_note": POSITION_NOTE, **about, "runs": rows}


def save(data: dict, path: str | Path) -> None:
    """Write a record as JSON; the folder must exist (a typo must not create folders anywhere)."""
    import json

    p = Path(path)
    if not p.parent.is_dir():
        raise ConfigError(f"cannot write {p}: the folder {p.parent} does not exist")
    try:
        p.write_text(json.dumps(data, indent=1))
    except OSError as err:
        raise ConfigError(f"cannot write {p}: {err.strerror}") from None
