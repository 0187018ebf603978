"""The whole run at a glance, as HTML: the cache timeline of every layer and the bytes each layer holds
after each pass.

Drawn from `derive` like the step panels. A grid cell is a few pixels of HTML, so a long run (32
generated tokens, 6 layers) stays readable: each layer's picture scrolls sideways on its own instead of
shrinking its columns, and layers wrap onto new rows on a narrow screen.

Both pictures depend on the run only, so the page sends them once per run; the current step is marked
by a few lines of CSS (`now_css`) that the stepper sends with each step.
"""

from __future__ import annotations

import base64

from ..trace import Trace
from .derive import StepRef, bytes_after, pass_label, seen_bytes_after, timeline, token_labels
from .html import esc, join_items
from .i18n import tr
from .style import BLUE, GREEN, INK, ORANGE, PURPLE, SKY, VERMILLION

# Timeline fill: eviction shows over writing, writing over keeping (0 = not in this layer's cache).
_TL_CODES = {"kept": 1, "written": 2, "evicted": 3, "unstored": 4}


def timeline_code(states: tuple[str, ...]) -> int:
    """The fill of one timeline cell: 0 absent, then kept, written, evicted, unstored."""
    return next((_TL_CODES[s] for s in ("evicted", "written", "kept", "unstored") if s in states), 0)


def layer_policy(trace: Trace, layer_index: int) -> str:
    """The cache policy a layer ran under, as its trace records it ("SSM" for a mamba layer's state)."""
    policy = trace.steps[0].layers[layer_index].policy
    return "SSM" if policy == "state" else policy


def timeline_html(trace: Trace, lang: str, only: int | None = None) -> str:
    """Per layer: passes across, positions down; when each KV entry was written, read and evicted. Cells
    carry their pass (`data-p`), which `now_css` boxes. `only` (0-based) draws that one layer: a real
    model's 30 panels would make a page no class scrolls through."""
    labels = token_labels(trace)
    n_pos = max(max(s.positions) for s in trace.steps) + 1  # the last output never enters a cache
    passes = [pass_label(trace, p, lang) for p in range(len(trace.steps))]
    legend = "".join(f'<span><span class="swa-swatch t{_TL_CODES[s]}"></span>'
                     f'{esc(tr(lang, f"lg_{s}"))}</span>' for s in ("written", "kept", "evicted", "unstored"))
    legend += f'<span>● {esc(tr(lang, "lg_read"))}</span><span>✕ {esc(tr(lang, "lg_evicted"))}</span>'
    blocks = []
    for l, kind in enumerate(trace.config["layer_types"]):
        if only is not None and l != only:
            continue
        title = tr(lang, "layer_line", l=l + 1, policy=layer_policy(trace, l))
        if kind == "mamba":
            blocks.append(f'<div class="swa-layer" data-layer="{l + 1}"><div class="h">{esc(title)}</div>'
                          f'<div class="swa-cap">{esc(tr(lang, "timeline_ssm"))}</div></div>')
            continue
        tl = timeline(trace, l)
        head = '<th class="row"></th>' + "".join(
            f'<th class="pass" data-p="{p}">{esc(name)}</th>' for p, name in enumerate(passes))
        rows = []
        for pos in range(n_pos):
            cells = []
            for p in range(len(passes)):
                states = tl[p].get(pos, ())
                glyph = "✕" if "evicted" in states else ("●" if "read" in states else "")
                hover = f"{passes[p]} · {labels[pos]} ({pos}): " + (
                    join_items([tr(lang, s) for s in states], lang) if states else "—")
                cells.append(f'<td class="t{timeline_code(states)}" data-p="{p}" '
                             f'data-states="{" ".join(states)}" title="{esc(hover)}">{glyph}</td>')
            rows.append(f'<tr><th class="row">{esc(labels[pos])} ({pos})</th>{"".join(cells)}</tr>')
        blocks.append(f'<div class="swa-layer" data-layer="{l + 1}"><div class="h">{esc(title)}</div>'
                      f'<div class="swa-scroll"><table class="swa-grid swa-tl"><tr>{head}</tr>'
                      f'{"".join(rows)}</table></div></div>')
    return f'<div class="swa-legend">{legend}</div><div class="swa-layers">{"".join(blocks)}</div>'


# The sizes chart's geometry (SVG user units), shared with `now_css`, which boxes the current pass.
SVG_W, SVG_H, SVG_LEFT, SVG_RIGHT, SVG_TOP, SVG_BOTTOM = 640, 250, 64, 16, 14, 58


def sizes_svg(trace: Trace, lang: str) -> str:
    """Bytes each layer's cache holds after each pass (an SSM layer: its state), a line per layer, next
    to a mask-only cache (dashed) and W entries (dotted): an SVG image (the page's HTML may not hold
    inline SVG) in a frame `now_css` draws the current pass on; its numbers are in the `alt` text too."""
    held, seen = bytes_after(trace), seen_bytes_after(trace)
    kinds = trace.config["layer_types"]
    per_entry = int(trace.config["kv_bytes_per_entry"])
    w = trace.config["sliding_window"]
    top = max([max(seen)] + [max(row) for row in held] + [1])
    n = len(trace.steps)
    names = [pass_label(trace, p, lang) for p in range(n)]
    W, H, left, right, top_pad, bottom = SVG_W, SVG_H, SVG_LEFT, SVG_RIGHT, SVG_TOP, SVG_BOTTOM
    pw, ph = W - left - right, H - top_pad - bottom

    def x(p: int) -> float:
        return left + (pw * (p + 0.5) / n)

    def y(b: float) -> float:
        return top_pad + ph * (1 - b / (top * 1.08))

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" font-family="{FONT_SVG}" '
           f'font-size="13" fill="{INK}">', f'<rect width="{W}" height="{H}" fill="#fff"/>']
    for b in _nice_ticks(top * 1.08):  # grid and y ticks
        out.append(f'<line x1="{left}" x2="{W - right}" y1="{y(b):.1f}" y2="{y(b):.1f}" stroke="#e5e5e5"/>'
                   f'<text x="{left - 6}" y="{y(b) + 4:.1f}" text-anchor="end">{b:.0f} B</text>')
    if "sliding_attention" in kinds:
        yw = y(w * per_entry)
        out.append(f'<line x1="{left}" x2="{W - right}" y1="{yw:.1f}" y2="{yw:.1f}" stroke="{GREY_SVG}" '
                   f'stroke-dasharray="2 3" stroke-width="1.5"/><text x="{left + 4}" y="{yw - 4:.1f}" '
                   f'fill="#555">W = {w}: {w * per_entry} B</text>')
    out.append(_polyline([(x(p), y(b)) for p, b in enumerate(seen)], VERMILLION, "7 4", 2))
    lines = _line_groups(trace, held, lang)
    for g, (_, row) in enumerate(lines):  # lines that hold the same draw a pixel apart, so each stays visible
        dy = (g - (len(lines) - 1) / 2) * 2
        colour = LINE_COLOURS[g % len(LINE_COLOURS)]
        pts = [(x(p), y(b) + dy) for p, b in enumerate(row)]
        out.append(_polyline(pts, colour, DASHES[g % len(DASHES)], 2.2))
        out += [_marker(px, py, g, colour) for px, py in pts]
    every = max(1, -(-n // 10))
    for p in range(0, n, every):
        out.append(f'<text transform="translate({x(p):.1f},{H - bottom + 14}) rotate({-35 if n > 4 else 0})" '
                   f'text-anchor="{"end" if n > 4 else "middle"}">{esc(names[p])}</text>')
    out.append(f'<line x1="{left}" x2="{W - right}" y1="{top_pad + ph}" y2="{top_pad + ph}" stroke="{INK}"/>')
    out.append("</svg>")
    alt = "; ".join(f"{name}: " + ", ".join(f"{b} B" for b in row)
                    for name, row in [*lines, (tr(lang, "seen"), seen)])
    data = base64.b64encode("".join(out).encode()).decode()
    legend = []
    for g, (name, _) in enumerate(lines):
        line = f'{"dashed" if DASHES[g % len(DASHES)] else "solid"} {LINE_COLOURS[g % len(LINE_COLOURS)]}'
        legend.append(f'<span><span class="swa-line" style="border-top:3px {line}"></span>{esc(name)}</span>')
    legend.append(f'<span><span class="swa-line" style="border-top:3px dashed {VERMILLION}"></span>'
                  f'{esc(tr(lang, "seen"))}</span>')
    return (f'<div class="swa-legend">{"".join(legend)}</div><div class="swa-chart-frame">'
            f'<img class="swa-chart" data-bytes="{esc(held)}" alt="{esc(alt)}" '
            f'src="data:image/svg+xml;base64,{data}"></div>')


def _line_groups(trace: Trace, held: list[list[int]], lang: str) -> list[tuple[str, list[int]]]:
    """(legend name, bytes after each pass) per line of the sizes chart: a line per layer, except that
    past six layers (a real model's 30) the layers under one policy that hold the same share one line,
    as the storage bars share one pair; 30 offset lines would crowd the chart off its frame."""
    if len(held) <= 6:
        return [(tr(lang, "layer_line", l=l + 1, policy=layer_policy(trace, l)), row)
                for l, row in enumerate(held)]
    groups: dict[tuple, list[int]] = {}
    for l, row in enumerate(held):
        groups.setdefault((layer_policy(trace, l), tuple(row)), []).append(l)
    out = []
    for (policy, row), layers in groups.items():
        a, b = layers[0] + 1, layers[-1] + 1
        if len(layers) == 1:
            name = tr(lang, "layer_line", l=a, policy=policy)
        elif b - a + 1 == len(layers):  # consecutive
            name = tr(lang, "layers_line", a=a, b=b, policy=policy)
        else:
            name = tr(lang, "layers_count", n=len(layers), policy=policy)
        out.append((name, list(row)))
    return out


def layer_strip(trace: Trace, ref: StepRef, lang: str) -> str:
    """Every layer's cache in the current pass, one row per layer (the current one marked): a real model's
    30 layers at a glance, in the timeline's colours (written, kept, evicted, computed but not stored;
    ● read). A mamba layer's row says it holds a state instead."""
    from .derive import cache_cells

    step = trace.steps[ref.pass_index]
    labels = token_labels(trace)
    n_pos = max(step.positions) + 1
    head = f'<th class="row">{esc(tr(lang, "layer"))}</th>' + "".join(
        f'<th class="pos" title="{esc(labels.get(p, "?"))}">{p}</th>' for p in range(n_pos))
    rows = []
    for lt in step.layers:
        states = {c.pos: c.states for c in cache_cells(step, lt)} if lt.kind != "mamba" else {}
        now = " now" if lt.layer == ref.layer_index + 1 else ""
        name = str(lt.layer)
        if lt.kind == "mamba":
            rows.append(f'<tr class="strip{now}"><th class="row">{name}</th>'
                        f'<td colspan="{n_pos}" class="ssm">{esc(tr(lang, "kind_mamba"))}</td></tr>')
            continue
        cells = "".join(
            f'<td class="t{timeline_code(states.get(p, ()))}" data-states="{" ".join(states.get(p, ()))}" '
            f'title="{esc(labels.get(p, "?"))} ({p})">{"●" if "read" in states.get(p, ()) else ""}</td>'
            for p in range(n_pos))
        rows.append(f'<tr class="strip{now}" data-layer="{lt.layer}"><th class="row">{name}</th>{cells}</tr>')
    return (f'<div class="swa-scroll"><table class="swa-grid swa-tl swa-lstrip"><tr>{head}</tr>'
            f'{"".join(rows)}</table></div>')


def now_css(trace: Trace, ref: StepRef) -> str:
    """The current step on the whole-run pictures: its pass boxed in every layer's timeline (heavier in
    its layer) and on the sizes chart. A few hundred bytes per step, so the pictures are sent once."""
    p, l, n = ref.pass_index, ref.layer_index + 1, len(trace.steps)
    pw = SVG_W - SVG_LEFT - SVG_RIGHT
    half = min(pw / n / 2, 14)
    centre = SVG_LEFT + pw * (p + 0.5) / n
    return (f"<style>table.swa-tl [data-p='{p}'] {{ outline:2px dotted #222; outline-offset:-1px; }}"
            f".swa-layer[data-layer='{l}'] table.swa-tl [data-p='{p}'] {{ outline:3px solid #222; }}"
            f".swa-chart-frame::after {{ left:{100 * (centre - half) / SVG_W:.2f}%; "
            f"width:{100 * 2 * half / SVG_W:.2f}%; top:{100 * SVG_TOP / SVG_H:.2f}%; "
            f"height:{100 * (SVG_H - SVG_TOP - SVG_BOTTOM) / SVG_H:.2f}%; }}</style>")


# An SVG image cannot use the page's web fonts: system fonts, quoted (a name like "Source Sans 3" unquoted
# would void the whole list).
FONT_SVG = "'Noto Sans CJK SC', 'Noto Sans', 'DejaVu Sans', sans-serif"
LINE_COLOURS = (BLUE, GREEN, PURPLE, ORANGE, SKY, INK)
DASHES = ("", "6 3", "2 3", "8 3 2 3", "12 4", "4 4")
GREY_SVG = "#888888"  # darker than style.GREY: a thin dotted line on white


def _nice_ticks(top: float, most: int = 5) -> list[int]:
    """0 and round steps (1, 2 or 5 times a power of ten) up to `top`, at most `most` of them."""
    step = 1
    while top / step > most:
        step *= next((m for m in (2, 5) if top / (step * m) <= most), 10)
    return list(range(0, int(top) + 1, step))


def _polyline(pts: list[tuple[float, float]], colour: str, dash: str, width: float) -> str:
    d = " ".join(f"{a:.1f},{b:.1f}" for a, b in pts)
    return (f'<polyline points="{d}" fill="none" stroke="{colour}" stroke-width="{width}"'
            + (f' stroke-dasharray="{dash}"' if dash else "") + "/>")


def _marker(px: float, py: float, l: int, colour: str) -> str:
    """A marker shape per layer (circle, square, diamond, triangle), so no line is told by colour alone."""
    shape = l % 4
    if shape == 0:
        return f'<circle cx="{px:.1f}" cy="{py:.1f}" r="4" fill="{colour}"/>'
    if shape == 1:
        return f'<rect x="{px - 4:.1f}" y="{py - 4:.1f}" width="8" height="8" fill="{colour}"/>'
    if shape == 2:
        corners = [(0, -5), (5, 0), (0, 5), (-5, 0)]
    else:
        corners = [(0, -5), (5, 4), (-5, 4)]
    points = " ".join(f"{px + a:.1f},{py + b:.1f}" for a, b in corners)
    return f'<polygon points="{points}" fill="{colour}"/>'
