"""Trace records: what each layer of each step attended, stored, evicted. The UI reads only these.

`Tracer` is the observer `generate.py` and `model.py` call; it records batch row 0 (the classroom
runs one sequence). The JSON form is documented in the README:

    {"config": {...}, "prompt": [...], "generated": [...], "steps": [
        {"phase": "prefill", "tokens": ["A", "B", "C"], "positions": [0, 1, 2],
         "layers": [{"layer": 1, "kind": "sliding_attention", "attended": [[0], [0, 1], [1, 2]],
                     "cache_before": [], "cache_after": [{"slot": 0, "pos": 0, "token": "A"}, ...],
                     "written": [0, 1, 2], "evicted": [], "attn_weights": [[[1.0], ...]]}, ...],
         "next_token": {"token": "D", "prob": 0.98, "top_k": [{"token": "D", "prob": 0.98}, ...]}},
        ...]}
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch


@dataclass
class CacheEntry:
    slot: int  # physical slot in the layer's cache storage
    pos: int  # the token position whose key/value it holds
    token: str  # that token's label


@dataclass
class LayerTrace:
    layer: int  # 1-based, as the seed counts
    kind: str  # "sliding_attention" | "full_attention" | "mamba"
    attended: list[list[int]]  # per query: the key positions it attends, ascending
    cache_before: list[CacheEntry]  # entries held when the step reached this layer
    cache_after: list[CacheEntry]  # entries held when it left
    written: list[int]  # positions stored by this step
    evicted: list[int]  # positions this step removed
    attn_weights: list[list[list[float]]]  # [head][query][j]: weight on key attended[query][j]
    policy: str = ""  # the cache policy of this layer
    state: list[list[float]] | None = None  # an SSM layer's state after the step (channels x N)


@dataclass
class NextToken:
    token: str  # the greedy choice
    prob: float  # its softmax probability
    top_k: list[dict]  # [{"token", "prob"}], most likely first


@dataclass
class StepTrace:
    phase: str  # "prefill" (the prompt, or one chunk of it) | "decode"
    tokens: list[str]  # the tokens fed in this step
    positions: list[int]  # their positions
    layers: list[LayerTrace] = field(default_factory=list)
    next_token: NextToken | None = None


@dataclass
class Trace:
    config: dict  # the model config, plus the run's policy and cache entry size
    prompt: list[str]
    generated: list[str]
    steps: list[StepTrace]

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)


class Tracer:
    """Observer that turns engine callbacks into `StepTrace`s for batch row 0.

    Tokens are labelled when the trace is built (`trace`), from the whole sequence at once: a real
    tokenizer's piece may only be readable next to its neighbours (a Chinese character split over two
    pieces). `label(id)` names a token on its own (the next-token choices); `labels(ids)` a sequence
    (default: `label` of each). The per-layer work is a few tensor operations, so tracing 30 layers of
    9 heads stays cheap; without a tracer the engine does none of it.
    """

    def __init__(self, label: Callable[[int], str], labels: Callable[[list[int]], list[str]] | None = None,
                 top_k: int = 5):
        self.label = label
        self.labels = labels or (lambda ids: [label(i) for i in ids])
        self.top_k = top_k
        self.steps: list[StepTrace] = []
        self.id_at: dict[int, int] = {}  # position -> token id, as tokens arrive
        self._top: list[list[tuple[int, float]]] = []  # per step: (id, prob) of the top k

    # -- callbacks --------------------------------------------------------------------------------

    def begin_step(self, phase: str, tokens: torch.Tensor, positions: torch.Tensor) -> None:
        pairs = [(p, t) for t, p in zip(tokens[0].tolist(), positions[0].tolist()) if p >= 0]
        self.id_at.update(pairs)
        self.steps.append(StepTrace(phase, [], [p for p, _ in pairs]))  # tokens: labelled in `trace`

    def attention(self, *, layer, kind, q_pos, k_pos, mask, weights, before, cache, evicted):
        valid_q = q_pos[0] >= 0  # (Tq,)
        kp = k_pos[0]  # (Tk,)
        order = torch.where(kp >= 0, kp, kp.new_full((), 2**62)).argsort()  # keys by position
        kp_sorted = kp[order].tolist()
        reads = (mask[0][valid_q] & (kp >= 0)[None])[:, order]  # (Tq', Tk): query reads key
        attended = [[kp_sorted[j] for j in row.nonzero().flatten().tolist()] for row in reads]
        heads = []
        if weights is not None:
            w = (weights[0][:, valid_q][:, :, order].double() * 1e4).round() / 1e4  # (H, Tq', Tk)
            heads = [[w[h, i][reads[i]].tolist() for i in range(reads.shape[0])] for h in range(w.shape[0])]
        before_entries = self._entries(before[0]) if before is not None else []
        after_entries = self._entries(cache.pos[0]) if cache is not None else []
        had = {e.pos for e in before_entries}
        self.steps[-1].layers.append(LayerTrace(
            layer=layer + 1, kind=kind, attended=attended, cache_before=before_entries,
            cache_after=after_entries,
            written=sorted(e.pos for e in after_entries if e.pos not in had),
            evicted=sorted(p for p in (evicted[0].tolist() if evicted is not None else []) if p >= 0),
            attn_weights=heads, policy=cache.policy if cache is not None else "none"))

    def ssm(self, *, layer, kind, state: torch.Tensor) -> None:
        """An SSM layer's step: its fixed-size state (row 0), which changes but never grows."""
        self.steps[-1].layers.append(LayerTrace(
            layer=layer + 1, kind=kind, attended=[], cache_before=[], cache_after=[], written=[],
            evicted=[], attn_weights=[], policy="state",
            state=((state[0].double() * 1e4).round() / 1e4).tolist()))

    def end_step(self, logits: torch.Tensor) -> None:
        probs = torch.softmax(logits[0].float(), -1)
        top = torch.topk(probs, min(self.top_k, probs.numel()))
        self._top.append(list(zip(top.indices.tolist(), top.values.tolist())))

    # -- helpers ----------------------------------------------------------------------------------

    def _entries(self, pos_row: torch.Tensor) -> list[CacheEntry]:
        return [CacheEntry(s, p, "") for s, p in enumerate(pos_row.tolist()) if p >= 0]

    def trace(self, config: dict, prompt: list[int], generated: list[int]) -> Trace:
        """The finished trace of a run of `prompt` ids that generated `generated` ids, all labelled."""
        names = self.labels(prompt + generated)
        label_at = {p: names[p] for p in range(len(names))}
        for p, t in self.id_at.items():  # positions the run fed but that are not in the sequence
            label_at.setdefault(p, self.label(t))
        for step, top in zip(self.steps, self._top):
            step.tokens = [label_at[p] for p in step.positions]
            for lt in step.layers:
                for e in lt.cache_before + lt.cache_after:
                    e.token = label_at.get(e.pos, "?")
            ranked = [{"token": self.label(i), "prob": round(p, 4)} for i, p in top]
            step.next_token = NextToken(ranked[0]["token"], ranked[0]["prob"], ranked)
        return Trace(config, names[:len(prompt)], names[len(prompt):], self.steps)


def sinks_of(trace: Trace, lt: LayerTrace) -> int:
    """The sink tokens this layer's cache keeps (0 unless it ran the sink policy)."""
    return int(trace.config.get("sinks") or 0) if lt.policy == "sink" else 0


def read_positions(lt: LayerTrace) -> set[int]:
    """Key positions any query of this step attended."""
    return {p for keys in lt.attended for p in keys}


def ssm_numbers(config: dict) -> int:
    """Numbers an SSM layer's cache holds per row, from a trace's config: its conv window and its state,
    E (K - 1 + N) (see `mamba.SSMState`), whatever the context length."""
    return config["ssm_expand"] * config["d_model"] * (config["ssm_conv"] - 1 + config["ssm_state"])


def load(data: dict) -> Trace:
    """A `Trace` back from its JSON dict (the UI caches traces as plain data)."""
    steps = []
    for s in data["steps"]:
        layers = [LayerTrace(**{**lt, "cache_before": [CacheEntry(**e) for e in lt["cache_before"]],
                                "cache_after": [CacheEntry(**e) for e in lt["cache_after"]]})
                  for lt in s["layers"]]
        nt = NextToken(**s["next_token"]) if s.get("next_token") else None
        steps.append(StepTrace(s["phase"], s["tokens"], s["positions"], layers, nt))
    return Trace(data["config"], data["prompt"], data["generated"], steps)
