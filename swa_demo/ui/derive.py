"""What the classroom shows, derived from a `Trace` alone: steps, cell states, the timeline, storage.

Pure functions, no Streamlit and no Plotly, so the figures and the HTML share one reading of the trace.

A *pass* is one forward pass (`trace.steps[i]`: the prompt, a prefill chunk, or one decode token);
a *step* of the stepper is one layer of one pass. Worked example, the seed walkthrough (`A B C`,
W = 2, 3 layers, policy seed): 3 passes x 3 layers = 9 steps; step 4 (0-based 3) is
"Decode D · Layer 1", where layer 1 reads C and D, writes D and evicts A and B.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..trace import CacheEntry, LayerTrace, StepTrace, Trace, ssm_numbers
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


# ---- one layer of one pass: the cache cells ------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    pos: int  # the token position whose K/V this is
    token: str  # its letter
    slot: int | None  # physical slot: where it is held after the step, or was held before eviction
    states: tuple[str, ...]  # a subset of i18n.STATES, in that order


def read_positions(lt: LayerTrace) -> set[int]:
    """Key positions any query of this step attended."""
    return {p for keys in lt.attended for p in keys}


def cache_cells(step: StepTrace, lt: LayerTrace) -> list[Cell]:
    """Every K/V this layer touched in this pass, by position, with its states.

    `written` and `kept` are held after the step; `evicted` ones were held before (or written earlier
    in the same pass); `unstored` ones were computed and attended in this pass but never stored (a ring
    keeps only the last W of a long prompt). `read` combines with any of them.
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


@dataclass(frozen=True)
class Storage:
    layer: int  # 1-based
    entries: int  # entries held under the run's policy
    seen: int  # entries a mask-only cache would hold
    bytes: int  # entries * bytes per entry
    seen_bytes: int


def storage_now(trace: Trace, ref: StepRef) -> list[Storage]:
    """Bytes each layer's cache holds at this moment, next to what mask-only would hold."""
    cfg = trace.config
    per_entry = int(cfg["kv_bytes_per_entry"])
    # An SSM layer holds its conv window and state from the first token on, whatever the policy,
    # in the same dtype as the keys and values.
    value_bytes = per_entry // (2 * cfg["n_kv_heads"] * cfg["head_dim"])
    state_bytes = ssm_numbers(cfg) * value_bytes
    out = []
    for l, kind in enumerate(cfg["layer_types"]):
        if kind == "mamba":
            out.append(Storage(l + 1, 0, 0, state_bytes, state_bytes))
            continue
        n = len(held_now(trace, ref, l))
        seen = seen_now(trace, ref, l) if kind != "mamba" else 0
        out.append(Storage(l + 1, n, seen, n * per_entry, seen * per_entry))
    return out


def sizes(trace: Trace) -> list[list[int]]:
    """Entries held per layer after each pass: sizes[layer][pass]."""
    n_layers = len(trace.config["layer_types"])
    return [[len(s.layers[l].cache_after) if l < len(s.layers) else 0 for s in trace.steps]
            for l in range(n_layers)]


def seen_after(trace: Trace) -> list[int]:
    """Positions seen after each pass: the size of a mask-only cache."""
    out, top = [], 0
    for s in trace.steps:
        top = max(top, max(s.positions) + 1)
        out.append(top)
    return out
