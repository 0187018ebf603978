"""Small HTML pieces the page draws itself: the token strip, the cache cells, their legend, the step label.

Plain functions returning strings, so tests can read them. Cells carry stable attributes for tests and
screen readers: `data-sym="K₁ᴬ"`, `data-states="evicted"` (English state names whatever the language)
and an `aria-label` in the page's language.
"""

from __future__ import annotations

from html import escape

from ..narrate import sym
from ..trace import Trace
from .derive import Cell, StepRef, Storage
from .figures import BLUE, INK, PURPLE, VERMILLION
from .i18n import STATES, tr

CSS = f"""
<style>
.swa-strip {{ display:flex; flex-wrap:wrap; gap:6px; align-items:flex-end; margin:4px 0 10px 0; }}
.swa-tok {{ border:1px solid #999; border-radius:6px; min-width:42px; padding:4px 6px; text-align:center;
           background:#fff; color:{INK}; }}
.swa-tok .t {{ font-size:22px; font-weight:600; line-height:1.2; }}
.swa-tok .p {{ font-size:13px; color:#555; }}
.swa-tok.gen {{ border-style:dashed; }}
.swa-tok.later {{ opacity:0.35; }}
.swa-tok.now {{ background:{BLUE}; color:#fff; border:2px solid {INK}; }}
.swa-tok.now .p {{ color:#fff; }}
.swa-bar {{ width:3px; align-self:stretch; background:{INK}; margin:0 6px; border-radius:2px; }}
.swa-row-title {{ font-size:14px; color:#444; margin:6px 0 2px 0; }}
.swa-kv-row {{ display:flex; flex-wrap:wrap; gap:8px; align-items:flex-start; margin-bottom:8px; }}
.swa-col {{ display:flex; flex-direction:column; gap:4px; align-items:stretch; }}
.swa-slot {{ font-size:12px; color:#555; text-align:center; }}
.swa-kv {{ border:1px solid #777; border-radius:6px; padding:3px 8px; min-width:96px; text-align:center;
          color:{INK}; background:#fff; font-size:15px; line-height:1.3; }}
.swa-kv .sym {{ font-size:18px; font-weight:600; white-space:nowrap; }}
.swa-kv .meta {{ font-size:12px; }}
.swa-kv .badges {{ font-size:12px; font-weight:600; }}
.swa-kv.written {{ background:{BLUE}; color:#fff; }}
.swa-kv.kept {{ background:#D4D4D4; }}
.swa-kv.evicted {{ background:#FBE1D3; border:2px dashed {VERMILLION}; color:#7A2800; }}
.swa-kv.evicted .sym {{ text-decoration:line-through; text-decoration-thickness:2px; }}
.swa-kv.unstored {{ background:#F8F2A0; border:2px dashed #8A8200; }}
.swa-kv.read {{ border:3px solid {INK}; box-shadow:0 0 0 2px #fff inset; }}
.swa-kv.empty {{ border:1px dashed #aaa; color:#888; background:#fafafa; }}
.swa-legend {{ display:flex; flex-wrap:wrap; gap:14px; font-size:13px; margin:2px 0 8px 0; }}
.swa-legend .swa-kv {{ min-width:0; padding:0 8px; font-size:13px; }}
.swa-step {{ font-size:26px; font-weight:700; margin:2px 0 0 0; }}
.swa-step .of {{ font-size:16px; font-weight:400; color:#555; margin-left:10px; }}
.swa-sub {{ font-size:17px; color:#333; margin:0 0 6px 0; }}
.swa-store {{ display:grid; grid-template-columns:max-content 1fr; gap:3px 12px; align-items:center;
             font-size:14px; margin:4px 0 6px 0; }}
.swa-store .name {{ grid-row:span 2; font-weight:600; }}
.swa-store .track {{ display:flex; align-items:center; gap:8px; }}
.swa-store .bar {{ height:16px; border:1px solid {INK}; border-radius:2px; min-width:2px; }}
.swa-store .bar.pol, .swa-swatch.pol {{ background:{BLUE}; }}
.swa-store .bar.all, .swa-swatch.all {{
  background:repeating-linear-gradient(135deg, {PURPLE} 0 4px, #fff 4px 7px); }}
.swa-swatch {{ display:inline-block; width:14px; height:14px; border:1px solid {INK}; vertical-align:-2px;
              margin:0 4px 0 10px; }}
</style>
"""

_GLYPH = {"written": "＋", "kept": "", "read": "●", "evicted": "✕", "unstored": "∅"}
# The fill a cell gets from its states (read only adds a border): one primary class per cell. The
# fills are lighter tints of the figures' Okabe-Ito hues, so the text on them stays legible.
_PRIMARY = ("evicted", "written", "unstored", "kept")


def token_strip(trace: Trace, ref: StepRef, lang: str) -> str:
    """`A B C | D E F`: positions under each token, this step's inputs highlighted, later ones faded."""
    step = trace.steps[ref.pass_index]
    now = set(step.positions)
    top = max(step.positions)
    parts = []
    for pos, tok in enumerate(trace.prompt + trace.generated):
        if pos == len(trace.prompt):
            parts.append('<div class="swa-bar" aria-hidden="true"></div>')
        cls = ["swa-tok", "gen" if pos >= len(trace.prompt) else "prompt"]
        if pos in now:
            cls.append("now")
        elif pos > top:
            cls.append("later")
        label = f"{tok} · {tr(lang, 'pos', p=pos)}"
        parts.append(f'<div class="{" ".join(cls)}" data-pos="{pos}" aria-label="{escape(label)}">'
                     f'<div class="t">{escape(tok)}</div><div class="p">{pos}</div></div>')
    return f'<div class="swa-strip">{"".join(parts)}</div>'


def kv_cell(cell: Cell, layer: int, lang: str, sink: bool = False) -> str:
    """One K/V entry: its symbol, position and states; evicted ones struck through (see CSS)."""
    k, v = sym("K", layer, cell.token), sym("V", layer, cell.token)
    primary = next((s for s in _PRIMARY if s in cell.states), "kept")
    cls = ["swa-kv", primary] + (["read"] if "read" in cell.states else [])
    names = [tr(lang, s) for s in cell.states]
    badges = " · ".join(f"{_GLYPH[s]} {tr(lang, 'lg_' + s)}".strip() for s in cell.states)  # short words
    if sink:
        badges = f"{tr(lang, 'sink_badge')} · {badges}"
    sep = "：" if lang == "zh" else ": "
    aria = f"{k}/{v}{sep}{'、'.join(names) if lang == 'zh' else ', '.join(names)}"
    return (f'<div class="{" ".join(cls)}" data-sym="{k}" data-pos="{cell.pos}" '
            f'data-states="{" ".join(cell.states)}" aria-label="{escape(aria)}" title="{escape(aria)}">'
            f'<div class="sym">{k}/{v}</div><div class="meta">{tr(lang, "pos", p=cell.pos)}</div>'
            f'<div class="badges">{escape(badges)}</div></div>')


def cell_row(cells: list[Cell], layer: int, lang: str, title: str) -> str:
    """Cells side by side, in the order given."""
    body = "".join(kv_cell(c, layer, lang) for c in cells)
    return f'<div class="swa-row-title">{escape(title)}</div><div class="swa-kv-row">{body}</div>'


def slot_row(slots: list[tuple[int, list[Cell]]], layer: int, lang: str, title: str, sinks: int = 0) -> str:
    """A rotating cache's physical slots; an evicted entry sits under the one that overwrote it."""
    cols = []
    for slot, cells in slots:
        inner = "".join(kv_cell(c, layer, lang, sink=slot < sinks) for c in cells) or (
            f'<div class="swa-kv empty" data-slot="{slot}">{tr(lang, "empty_slot")}</div>')
        cols.append(f'<div class="swa-col" data-slot="{slot}"><div class="swa-slot">'
                    f'{tr(lang, "slot", s=slot)}</div>{inner}</div>')
    return f'<div class="swa-row-title">{escape(title)}</div><div class="swa-kv-row">{"".join(cols)}</div>'


def legend(lang: str) -> str:
    """What the cells' looks mean, drawn with the cells' own classes."""
    items = []
    for s in STATES:
        cls = "swa-kv " + ("kept read" if s == "read" else s)
        items.append(f'<span><span class="{cls}">{_GLYPH[s] or "&nbsp;"}</span> {escape(tr(lang, s))}</span>')
    return f'<div class="swa-legend">{"".join(items)}</div>'


def step_heading(label: str, index: int, total: int, lang: str) -> str:
    """The stepper's label, e.g. 'Decode D · Layer 1  (step 4 of 9)'; the e2e test waits on it."""
    return (f'<div class="swa-step" data-step="{index + 1}"><span class="label">{escape(label)}</span>'
            f'<span class="of">{escape(tr(lang, "step_of", i=index + 1, n=total))}</span></div>')


def storage_bars(rows: list[Storage], policy: str, lang: str) -> str:
    """Per layer: bytes held under the run's policy and under mask-only, as bars on one scale."""
    top = max([r.seen_bytes for r in rows] + [r.bytes for r in rows] + [1])
    key = (f'<div class="swa-legend"><span><span class="swa-swatch pol"></span>{escape(policy)}</span>'
           f'<span><span class="swa-swatch all"></span>{escape(tr(lang, "seen"))}</span></div>')
    body = []
    for r in rows:
        body.append(
            f'<div class="name" data-layer="{r.layer}" data-bytes="{r.bytes}" '
            f'data-seen-bytes="{r.seen_bytes}">'
            f'{escape(tr(lang, "layer_n", l=r.layer))}</div>'
            f'<div class="track"><div class="bar pol" style="width:{80 * r.bytes / top:.1f}%"></div>'
            f'{r.bytes} B</div>'
            f'<div class="track"><div class="bar all" style="width:{80 * r.seen_bytes / top:.1f}%"></div>'
            f'{r.seen_bytes} B</div>')
    return f'{key}<div class="swa-store">{"".join(body)}</div>'
