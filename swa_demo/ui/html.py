"""The HTML the classroom draws for one step: the token strip, the cache cells, the mask, the weights, the
next-token bars, the SSM state, the storage bars and the step label.

Plain functions returning strings (cheap to send, instant to draw, readable by tests); every label from
the trace is escaped, so a token may be any text. Cells carry stable attributes for tests and screen
readers: `data-sym="K₁[A]"`, `data-states="evicted"` (English state names whatever the language) and an
`aria-label` in the page's language.
"""

from __future__ import annotations

from html import escape

from ..narrate import sym
from ..trace import LayerTrace, NextToken, Trace
from .derive import FUTURE, IN_WINDOW, Cell, MaskView, StepRef, Storage, WeightsView
from .i18n import STATES, tr
from .style import CIVIDIS

_GLYPH = {"written": "＋", "kept": "", "read": "●", "evicted": "✕", "unstored": "∅"}
# The fill a cell gets from its states (read only adds a border): one primary class per cell. The
# fills are lighter tints of the figures' Okabe-Ito hues, so the text on them stays legible.
_PRIMARY = ("evicted", "written", "unstored", "kept")


def esc(text: object) -> str:
    """Any text, safe inside HTML (a token label may be anything)."""
    return escape(str(text))


def join_items(items: list[str], lang: str) -> str:
    """A list in running text: 、 between Chinese items, a comma between English ones."""
    return ("、" if lang == "zh" else ", ").join(items)


def heading(text: str) -> str:
    return f'<div class="swa-h">{esc(text)}</div>'


def caption(text: str) -> str:
    return f'<div class="swa-cap">{esc(text)}</div>'


def token_strip(trace: Trace, ref: StepRef, lang: str) -> str:
    """`A B C | D E F`: positions under each token, this step's inputs highlighted, later ones faded;
    the last generated token, never fed back in, is marked as output only."""
    step = trace.steps[ref.pass_index]
    now = set(step.positions)
    top = max(step.positions)
    tokens = trace.prompt + trace.generated
    parts = []
    for pos, tok in enumerate(tokens):
        if pos == len(trace.prompt):
            parts.append('<div class="swa-bar" aria-hidden="true"></div>')
        cls = ["swa-tok", "gen" if pos >= len(trace.prompt) else "prompt"]
        if pos in now:
            cls.append("now")
        elif pos > top:
            cls.append("later")
        last = trace.generated and pos == len(tokens) - 1
        extra = f'<div class="o">{esc(tr(lang, "output_only"))}</div>' if last else ""
        label = f"{tok} · {tr(lang, 'pos', p=pos)}"
        parts.append(f'<div class="{" ".join(cls)}" data-pos="{pos}" aria-label="{esc(label)}">'
                     f'<div class="t">{esc(tok)}</div><div class="p">{pos}</div>{extra}</div>')
    return f'<div class="swa-strip">{"".join(parts)}</div>'


# ---- the cache cells ----------------------------------------------------------------------------


def kv_cell(cell: Cell, layer: int, lang: str, sink: bool = False, cut: int | None = None) -> str:
    """One K/V entry: its symbol, position and states; evicted ones struck through (see CSS), with the
    window's boundary when it is why they left (`pos 1 < 2 → evicted`)."""
    k, v = sym("K", layer, cell.token), sym("V", layer, cell.token)
    primary = next((s for s in _PRIMARY if s in cell.states), "kept")
    cls = ["swa-kv", primary] + (["read"] if "read" in cell.states else [])
    names = [tr(lang, s) for s in cell.states]
    badges = " · ".join(f"{_GLYPH[s]} {tr(lang, 'lg_' + s)}".strip() for s in cell.states)  # short words
    if sink:
        badges = f"{tr(lang, 'sink_badge')} · {badges}"
    meta = tr(lang, "pos", p=cell.pos)
    if "evicted" in cell.states and cut is not None and cell.pos < cut:
        meta = tr(lang, "below_cut", p=cell.pos, cut=cut)
    sep = "：" if lang == "zh" else ": "
    aria = f"{k}/{v}{sep}{join_items(names, lang)}"
    return (f'<div class="{" ".join(cls)}" data-sym="{esc(k)}" data-pos="{cell.pos}" '
            f'data-states="{" ".join(cell.states)}" aria-label="{esc(aria)}" title="{esc(aria)}">'
            f'<div class="sym">{esc(k)}/{esc(v)}</div><div class="meta">{esc(meta)}</div>'
            f'<div class="badges">{esc(badges)}</div></div>')


def cell_row(cells: list[Cell], layer: int, lang: str, title: str, cut: int | None = None) -> str:
    """Cells side by side, in the order given."""
    body = "".join(kv_cell(c, layer, lang, cut=cut) for c in cells)
    return f'<div class="swa-row-title">{esc(title)}</div><div class="swa-kv-row">{body}</div>'


def slot_row(slots: list[tuple[int, list[Cell]]], layer: int, lang: str, title: str, sinks: int = 0,
             cut: int | None = None) -> str:
    """A rotating cache's physical slots; an evicted entry sits under the one that overwrote it."""
    cols = []
    for slot, cells in slots:
        inner = "".join(kv_cell(c, layer, lang, sink=slot < sinks, cut=cut) for c in cells) or (
            f'<div class="swa-kv empty" data-slot="{slot}">{esc(tr(lang, "empty_slot"))}</div>')
        cols.append(f'<div class="swa-col" data-slot="{slot}"><div class="swa-slot">'
                    f'{esc(tr(lang, "slot", s=slot))}</div>{inner}</div>')
    return f'<div class="swa-row-title">{esc(title)}</div><div class="swa-kv-row">{"".join(cols)}</div>'


def compare_rows(rows: list[tuple[str, list[Cell]]], layer: int, lang: str) -> str:
    """Two (or more) policies' cells of one step, a column per position, so a cell sits under the same
    position's cell of the other policy; a blank where a policy does not have that position."""
    positions = sorted({c.pos for _, cells in rows for c in cells})
    body = []
    for name, cells in rows:
        by_pos = {c.pos: c for c in cells}
        body.append(f'<div class="swa-row-title" data-policy="{esc(name)}">{esc(name)}</div>')
        body += [kv_cell(by_pos[p], layer, lang) if p in by_pos else "<div></div>" for p in positions]
    style = f"grid-template-columns:max-content repeat({len(positions)}, max-content)"
    return f'<div class="swa-scroll"><div class="swa-compare" style="{style}">{"".join(body)}</div></div>'


def legend(lang: str) -> str:
    """What the cells' looks mean, drawn with the cells' own classes."""
    items = []
    for s in STATES:
        cls = "swa-kv " + ("kept read" if s == "read" else s)
        items.append(f'<span><span class="{cls}">{_GLYPH[s] or "&nbsp;"}</span> {esc(tr(lang, s))}</span>')
    return f'<div class="swa-legend">{"".join(items)}</div>'


def step_heading(label: str, index: int, total: int, lang: str) -> str:
    """The stepper's label, e.g. 'Decode D · Layer 1  (step 4 of 9)'; the e2e test waits on it."""
    return (f'<div class="swa-step" data-step="{index + 1}"><span class="label">{esc(label)}</span>'
            f'<span class="of">{esc(tr(lang, "step_of", i=index + 1, n=total))}</span></div>')


# ---- the mask, the weights, the prediction, the state ---------------------------------------------


def _key_head(pos: int, label: str, cls: str = "", title: str = "") -> str:
    attrs = (f' class="{cls}"' if cls else "") + (f' title="{esc(title)}"' if title else "")
    return f'<th data-key="{pos}"{attrs}><span class="t">{esc(label)}</span>{pos}</th>'


def mask_grid(view: MaskView, lang: str, rule: str | None = None, seed_row: tuple[str, ...] = ()) -> str:
    """The mask as a grid: ✓ in the window, – causal but outside it, blank in the future. Each row's
    window boundary is a vermilion line left of its first kept key; `rule` ('3−2+1') labels the last
    row's. `seed_row` adds the row the seed text has the last query attend, hatched, for comparison."""
    last_cut = view.cuts[-1]
    head = ['<th class="row"></th>']
    for pos, label in zip(view.keys, view.labels):
        head.append(_key_head(pos, label))
    label_row = ""
    if rule is not None and last_cut is not None and last_cut <= view.keys[-1]:
        span = len(view.keys) - last_cut
        text = tr(lang, "boundary", rule=rule, cut=last_cut)
        label_row = ('<tr><th class="row"></th>' + '<th></th>' * last_cut +
                     f'<th class="cutlabel" colspan="{span}">↓ {esc(text)}</th></tr>')
    rows = []
    for (q, tok), codes, cut in zip(view.queries, view.codes, view.cuts):
        cells = []
        for k, code in zip(view.keys, codes):
            glyph = "✓" if code == IN_WINDOW else ("–" if code != FUTURE else "")
            edge = " cut" if cut is not None and k == cut and k >= view.sinks and cut > 0 else ""
            cells.append(f'<td class="m{code}{edge}" data-k="{k}">{glyph}</td>')
        rows.append(f'<tr data-q="{q}"><th class="row">{esc(tok)} ({q})</th>{"".join(cells)}</tr>')
    if seed_row:
        wanted = set(seed_row)
        cells = "".join(f'<td class="m{IN_WINDOW if label in wanted else FUTURE}">'
                        f'{"✓" if label in wanted else ""}</td>' for label in view.labels)
        rows.append(f'<tr class="seed"><th class="row">{esc(tr(lang, "seed_row"))}</th>{cells}</tr>')
    key = "".join(f'<span><span class="swa-swatch m{i}"></span>{esc(tr(lang, k))}</span>'
                  for i, k in enumerate(("allowed", "outside", "future")))
    key = f'<div class="swa-legend">{key}</div>'
    return (f'{key}<div class="swa-scroll"><table class="swa-grid swa-mask">{label_row}'
            f'<tr>{"".join(head)}</tr>{"".join(rows)}</table></div>')


def _weight_cell(w: float | None) -> str:
    if w is None:
        return '<td class="w-none"></td>'
    shade = min(int(w * len(CIVIDIS)), len(CIVIDIS) - 1)
    ink = "#fff" if shade >= 2 else "#222"
    return f'<td style="background:{CIVIDIS[shade]};color:{ink}" title="{w:.4f}">{w:.2f}</td>'


def weights_grids(view: WeightsView, lang: str, sinks: int = 0) -> str:
    """One grid per head: each query's softmax weight on each key it read (blank: outside its window).
    The first `sinks` positions' columns say they are sinks."""
    blocks = []
    names = view.names or list(range(len(view.heads)))
    for name, rows in zip(names, view.heads):
        keys = "".join(_key_head(k, lb) if k >= sinks else _key_head(k, lb, "sink", tr(lang, "sink_badge"))
                       for k, lb in zip(view.keys, view.labels))
        head = '<th class="row"></th>' + keys
        body = "".join(f'<tr><th class="row">{esc(tok)} ({q})</th>{"".join(_weight_cell(w) for w in r)}</tr>'
                       for (q, tok), r in zip(view.queries, rows))
        title = (tr(lang, "head_mean", n=view.of_heads or len(names)) if name == "mean"
                 else tr(lang, "head", h=int(name) + 1))
        blocks.append(f'<div class="head">{esc(title)}'
                      f'<table class="swa-grid swa-w"><tr>{head}</tr>{body}</table></div>')
    return f'<div class="swa-scroll"><div class="swa-heads">{"".join(blocks)}</div></div>'


def probs_bars(nt: NextToken) -> str:
    """The top-k next tokens as bars on a 0..1 scale, the greedy choice in blue."""
    body = []
    for d in nt.top_k:
        chosen = " chosen" if d["token"] == nt.token else ""
        bar = f'<div class="bar{chosen}" style="width:{80 * d["prob"]:.1f}%"></div>'
        body.append(f'<div class="tok">{esc(d["token"])}</div><div class="track">{bar}{d["prob"]:.4f}</div>')
    return f'<div class="swa-probs">{"".join(body)}</div>'


def state_grid(lt: LayerTrace) -> str:
    """An SSM layer's state after this step: a row per state dimension N, a column per channel, in a
    red-blue scale around 0 (the exact value on hover)."""
    state = lt.state or [[0.0]]
    bound = max(1e-6, max(abs(x) for row in state for x in row))
    rows = []
    for n in range(len(state[0])):
        cells = []
        for row in state:
            x = row[n] / bound
            colour = (f"rgba(178,24,43,{abs(x):.2f})" if x > 0 else f"rgba(33,102,172,{abs(x):.2f})")
            cells.append(f'<td style="background:{colour}" title="{row[n]:.4f}"></td>')
        rows.append(f'<tr><th class="row">N{n}</th>{"".join(cells)}</tr>')
    return f'<div class="swa-scroll"><table class="swa-grid swa-state">{"".join(rows)}</table></div>'


# ---- storage --------------------------------------------------------------------------------------


def storage_bars(rows: list[Storage], policy: str, lang: str) -> str:
    """Per layer: bytes held now (the run's policy, or an SSM state) and under mask-only, on one scale.
    More than six layers (a real model's 30): consecutive layers that hold the same share one pair of bars
    ("layers 1–13 · sliding")."""
    top = max([r.seen_bytes for r in rows] + [r.bytes for r in rows] + [1])
    key = (f'<div class="swa-legend"><span><span class="swa-swatch pol"></span>'
           f'{esc(tr(lang, "held_now", policy=policy))}</span>'
           f'<span><span class="swa-swatch all"></span>{esc(tr(lang, "seen"))}</span>')
    if any(r.kind == "mamba" for r in rows):
        key += f'<span><span class="swa-swatch state"></span>{esc(tr(lang, "state"))}</span>'
    groups: list[list[Storage]] = []
    for r in rows:
        same = groups and (groups[-1][-1].kind, groups[-1][-1].bytes, groups[-1][-1].seen_bytes) == \
            (r.kind, r.bytes, r.seen_bytes)
        if same and len(rows) > 6:
            groups[-1].append(r)
        else:
            groups.append([r])
    body = []
    for g in groups:
        r = g[0]
        kind = tr(lang, f"kind_{r.kind}")
        name = (tr(lang, "layer_kind", l=r.layer, kind=kind) if len(g) == 1 else
                tr(lang, "layers_kind", a=g[0].layer, b=g[-1].layer, kind=kind))
        fill = "state" if r.kind == "mamba" else "pol"
        body.append(
            f'<div class="name" data-layer="{r.layer}" data-bytes="{r.bytes}" '
            f'data-seen-bytes="{r.seen_bytes}" data-layers="{len(g)}">{esc(name)}</div>'
            f'<div class="track"><div class="bar {fill}" style="width:{75 * r.bytes / top:.1f}%"></div>'
            f'{r.bytes} B</div>'
            f'<div class="track"><div class="bar {"state" if r.kind == "mamba" else "all"}" '
            f'style="width:{75 * r.seen_bytes / top:.1f}%"></div>{r.seen_bytes} B</div>')
    return f'{key}</div><div class="swa-store">{"".join(body)}</div>'
