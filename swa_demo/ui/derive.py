"""What the classroom shows, derived from a `Trace` alone: steps, cell states, the mask, the weights, the
timeline, storage in bytes.

Pure functions, no Streamlit and no Plotly, so the page's HTML and the exported Plotly figures share
one reading of the trace. Nothing here assumes a letter per token or a number of layers or heads: a
token is whatever label the trace gives it.

A *pass* is one forward pass (`trace.steps[i]`: the prompt, a prefill chunk, or one decode token);
a *step* of the stepper is one layer of one pass. Worked example, the seed walkthrough (`A B C`,
W = 2, 3 layers, policy seed): 3 passes x 3 layers = 9 steps; step 4 (0-based 3) is
"Decode D · Layer 1", where layer 1 holds A, B, C, reads C and D, writes D and evicts A and B (both
below 3 - 2 + 1 = 2).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..config import POLICIES
from ..narrate import window_rule
from ..trace import CacheEntry, LayerTrace, StepTrace, Trace, read_positions, sinks_of, ssm_numbers
from ..window import first_needed
from .i18n import STATES, tr


@dataclass(frozen=True)
class StepRef:
    index: int  # 0-based position in the stepper
    pass_index: int  # which forward pass: trace.steps[pass_index]
    layer_index: int  # which layer of it: trace.steps[pass_index].layers[layer_index]


def step_refs(trace: Trace) -> list[StepRef]:
    """Every (pass, layer) pair in the order the model runs them."""
    refs = []
    for p, step in enumerate(trace.steps):
        for l in range(len(step.layers)):
            refs.append(StepRef(len(refs), p, l))
    return refs


def layer_of(trace: Trace, ref: StepRef) -> tuple[StepTrace, LayerTrace]:
    step = trace.steps[ref.pass_index]
    return step, step.layers[ref.layer_index]


def pass_label(trace: Trace, pass_index: int, lang: str) -> str:
    """'Prefill', 'Prefill 2/3' (chunked) or 'Decode D'."""
    step = trace.steps[pass_index]
    if step.phase == "decode":
        return tr(lang, "decode", tok=step.tokens[0])
    prefills = [i for i, s in enumerate(trace.steps) if s.phase == "prefill"]
    if len(prefills) == 1:
        return tr(lang, "prefill")
    return tr(lang, "prefill_chunk", i=prefills.index(pass_index) + 1, n=len(prefills))


def step_label(trace: Trace, ref: StepRef, lang: str) -> str:
    """'Prefill · Layer 2', 'Decode D · 第 1 层'."""
    layer = trace.steps[ref.pass_index].layers[ref.layer_index].layer
    return f"{pass_label(trace, ref.pass_index, lang)} · {tr(lang, 'layer_n', l=layer)}"


def is_last_layer(trace: Trace, ref: StepRef) -> bool:
    return ref.layer_index == len(trace.steps[ref.pass_index].layers) - 1


def prediction_used(trace: Trace, pass_index: int) -> bool:
    """Does this pass's next-token prediction become a token? Not for a middle chunk of the prompt."""
    nxt = trace.steps[pass_index + 1] if pass_index + 1 < len(trace.steps) else None
    return nxt is None or nxt.phase == "decode"


def is_final_output(trace: Trace, pass_index: int) -> bool:
    """Is this the last pass, whose prediction is the last generated token (never fed back in)?"""
    return pass_index == len(trace.steps) - 1 and bool(trace.generated)


def ref_of_step(trace: Trace, phase: str, token: str | None, layer: int) -> StepRef | None:
    """The stepper position of a pass (the prefill, or the decode of `token`) at a 1-based layer."""
    for ref in step_refs(trace):
        step, lt = layer_of(trace, ref)
        if step.phase == phase and (token is None or step.tokens[0] == token) and lt.layer == layer:
            return ref
    return None


# ---- one layer of one pass: the cache cells ------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    pos: int  # the token position whose K/V this is
    token: str  # its label
    slot: int | None  # physical slot: where it is held after the step, or was held before eviction
    states: tuple[str, ...]  # a subset of i18n.STATES, in that order


def cache_cells(step: StepTrace, lt: LayerTrace) -> list[Cell]:
    """Every K/V this layer touched in this pass, by position, with its states.

    `written` and `kept` are held after the step; `evicted` ones were held before (or written earlier
    in the same pass); `unstored` ones were computed and attended in this pass but never stored (a ring
    keeps only the last W of a long prompt). `read` combines with any of them: an entry held but
    outside every query's window is not read, whatever the policy keeps.
    """
    before = {e.pos: e for e in lt.cache_before}
    after = {e.pos: e for e in lt.cache_after}
    tokens = {**{e.pos: e.token for e in lt.cache_before + lt.cache_after},
              **dict(zip(step.positions, step.tokens))}
    read, written, evicted = read_positions(lt), set(lt.written), set(lt.evicted)
    cells = []
    for pos in sorted(set(before) | set(after) | evicted | read):
        states = {
            "written": pos in written,
            "kept": pos in after and pos not in written,
            "read": pos in read,
            "evicted": pos in evicted,
            "unstored": pos not in after and pos not in before and pos not in evicted,
        }
        held = after.get(pos) or before.get(pos)
        cells.append(Cell(pos, tokens.get(pos, "?"), held.slot if held else None,
                          tuple(s for s in STATES if states[s])))
    return cells


def eviction_cut(trace: Trace, ref: StepRef) -> tuple[str, int] | None:
    """The boundary of this step's window for a sliding layer, ('3−2+1', 2): no query from this step's
    last one on reads a (non-sink) key below it. None for a full-attention or SSM layer."""
    step, lt = layer_of(trace, ref)
    if lt.policy not in POLICIES:
        return None
    q, w, s = step.positions[-1], trace.config["sliding_window"], sinks_of(trace, lt)
    return window_rule(q, w, s), first_needed(q, w, s)


def physical_slots(lt: LayerTrace, cells: list[Cell], window: int) -> list[tuple[int, list[Cell]]]:
    """A rotating cache's slots 0..W-1, each with what it holds now and what this step evicted from it.

    The evicted entry sits under the entry that replaced it, so the overwrite is visible. Only for the
    `ring` and `sink` policies, whose slot is a function of the position.
    """
    by_slot: dict[int, list[Cell]] = {s: [] for s in range(window)}
    evicted_slot = {e.pos: e.slot for e in lt.cache_before}
    for c in cells:
        if "evicted" in c.states and c.pos in evicted_slot:
            by_slot.setdefault(evicted_slot[c.pos], []).append(c)
        elif c.slot is not None and "evicted" not in c.states:
            by_slot.setdefault(c.slot, []).insert(0, c)
    return sorted(by_slot.items())


# ---- one layer of one pass: the mask and the weights ---------------------------------------------

IN_WINDOW, OUTSIDE, FUTURE = 0, 1, 2  # the mask's cell codes


@dataclass(frozen=True)
class MaskView:
    keys: list[int]  # key positions 0..the last query's
    labels: list[str]  # the token at each key position
    queries: list[tuple[int, str]]  # (position, token) of each row
    codes: list[list[int]]  # [row][key]: IN_WINDOW, OUTSIDE or FUTURE
    cuts: list[int | None]  # per row, the first (non-sink) key its window keeps; None: no window
    sinks: int  # keys below this are always visible (attention sinks)


def token_labels(trace: Trace) -> dict[int, str]:
    """The label of every position the run saw: the prompt, then each token fed back."""
    out: dict[int, str] = {}
    for s in trace.steps:
        out.update(zip(s.positions, s.tokens))
    for i, tok in enumerate(trace.prompt + trace.generated):
        out.setdefault(i, tok)
    return out


def mask_view(trace: Trace, ref: StepRef) -> MaskView:
    """The attention mask of this step, read from the trace's `attended` lists (what the model did).

    Rows are this pass's queries, columns every key position up to the last query. An SSM layer
    attends nothing: its cells are only past or future.
    """
    step, lt = layer_of(trace, ref)
    labels = token_labels(trace)
    keys = list(range(max(step.positions) + 1))
    if lt.attended:
        codes = [[IN_WINDOW if k in attended else (OUTSIDE if k <= q else FUTURE) for k in keys]
                 for q, attended in zip(step.positions, lt.attended)]
    else:
        codes = [[OUTSIDE if k <= q else FUTURE for k in keys] for q in step.positions]
    w, s = trace.config["sliding_window"], sinks_of(trace, lt)
    sliding = lt.policy in POLICIES
    cuts = [first_needed(q, w, s) if sliding else None for q in step.positions]
    return MaskView(keys, [labels.get(k, "?") for k in keys], list(zip(step.positions, step.tokens)),
                    codes, cuts, s)


@dataclass(frozen=True)
class WeightsView:
    keys: list[int]  # key positions some query read (sinks leave no empty columns)
    labels: list[str]
    queries: list[tuple[int, str]]
    heads: list[list[list[float | None]]]  # [head][row][key]: the softmax weight, None outside the window
    names: list[int | str] | None = None  # each of `heads`: a head's index or "mean" (None: 0, 1, ...)
    of_heads: int | None = None  # how many heads the layer has (the mean is over them all)


def weights_view(trace: Trace, ref: StepRef) -> WeightsView:
    """`attn_weights[head][query][j]` is the weight on `attended[query][j]`, laid out on shared keys."""
    step, lt = layer_of(trace, ref)
    labels = token_labels(trace)
    keys = sorted(read_positions(lt))
    heads = []
    for head in lt.attn_weights:
        rows = []
        for qi, attended in enumerate(lt.attended):
            w = dict(zip(attended, head[qi]))
            rows.append([w.get(k) for k in keys])
        heads.append(rows)
    return WeightsView(keys, [labels.get(k, "?") for k in keys], list(zip(step.positions, step.tokens)),
                       heads)


def pick_head(view: WeightsView, head: int | str) -> WeightsView:
    """One head of a view, or the mean of them all (`"mean"`): a real model has 9."""
    total = len(view.heads)
    if head != "mean":
        return replace(view, heads=[view.heads[int(head)]], names=[int(head)], of_heads=total)
    rows = [[None if w[0] is None else sum(w) / len(w) for w in zip(*cols, strict=True)]
            for cols in zip(*view.heads, strict=True)]
    return replace(view, heads=[rows], names=["mean"], of_heads=total)


def first_tokens_weight(view: WeightsView, n: int) -> float:
    """The weight the view's queries put on positions 0..n-1 (the sinks, or the first token), averaged
    over its queries (and the first head in the view)."""
    rows = view.heads[0]
    firsts = [i for i, k in enumerate(view.keys) if k < n]
    return sum(sum(r[i] or 0.0 for i in firsts) for r in rows) / max(len(rows), 1)


# ---- the whole run: timeline and sizes ---------------------------------------------------------


def timeline(trace: Trace, layer_index: int) -> list[dict[int, tuple[str, ...]]]:
    """Per pass, {position: states} for one layer: the whole run as one picture."""
    out = []
    for step in trace.steps:
        if layer_index >= len(step.layers):
            out.append({})
            continue
        out.append({c.pos: c.states for c in cache_cells(step, step.layers[layer_index])})
    return out


def held_now(trace: Trace, ref: StepRef, layer_index: int) -> list[CacheEntry]:
    """What a layer holds at this moment of the run.

    Layers up to the current one have already run in this pass; later layers still hold what the
    previous pass left them.
    """
    if layer_index <= ref.layer_index:
        return trace.steps[ref.pass_index].layers[layer_index].cache_after
    if ref.pass_index == 0:
        return []
    return trace.steps[ref.pass_index - 1].layers[layer_index].cache_after


def seen_now(trace: Trace, ref: StepRef, layer_index: int) -> int:
    """How many positions a layer has seen at this moment: what `mask-only` would be holding."""
    upto = ref.pass_index if layer_index <= ref.layer_index else ref.pass_index - 1
    return max((max(s.positions) + 1 for s in trace.steps[:upto + 1]), default=0)


def ssm_state_bytes(config: dict) -> int:
    """Bytes of an SSM layer's conv window and state, in the dtype of the keys and values."""
    value_bytes = int(config["kv_bytes_per_entry"]) // (2 * config["n_kv_heads"] * config["head_dim"])
    return ssm_numbers(config) * value_bytes


@dataclass(frozen=True)
class Storage:
    layer: int  # 1-based
    kind: str  # "sliding_attention" | "full_attention" | "mamba"
    entries: int  # KV entries held under the run's policy (0 for an SSM layer: it holds a state)
    seen: int  # entries a mask-only cache would hold
    bytes: int  # entries * bytes per entry, or the SSM state's bytes
    seen_bytes: int


def storage_now(trace: Trace, ref: StepRef) -> list[Storage]:
    """Bytes each layer's cache holds at this moment, next to what mask-only would hold.

    An SSM layer holds its conv window and state from the first token on, whatever the policy.
    """
    cfg = trace.config
    per_entry = int(cfg["kv_bytes_per_entry"])
    out = []
    for l, kind in enumerate(cfg["layer_types"]):
        if kind == "mamba":
            state = ssm_state_bytes(cfg)
            out.append(Storage(l + 1, kind, 0, 0, state, state))
            continue
        n, seen = len(held_now(trace, ref, l)), seen_now(trace, ref, l)
        out.append(Storage(l + 1, kind, n, seen, n * per_entry, seen * per_entry))
    return out


def bytes_after(trace: Trace) -> list[list[int]]:
    """Bytes each layer's cache holds after each pass: [layer][pass] (an SSM layer: its state)."""
    cfg = trace.config
    per_entry = int(cfg["kv_bytes_per_entry"])
    out = []
    for l, kind in enumerate(cfg["layer_types"]):
        if kind == "mamba":
            out.append([ssm_state_bytes(cfg)] * len(trace.steps))
        else:
            out.append([len(s.layers[l].cache_after) * per_entry if l < len(s.layers) else 0
                        for s in trace.steps])
    return out


def seen_bytes_after(trace: Trace) -> list[int]:
    """Bytes of a mask-only KV cache after each pass: every position seen so far."""
    per_entry = int(trace.config["kv_bytes_per_entry"])
    out, top = [], 0
    for s in trace.steps:
        top = max(top, max(s.positions) + 1)
        out.append(top * per_entry)
    return out
