"""The classroom view: a stepper and every panel of the current step, then the whole run.

A step is one layer of one forward pass. The view reads only the `Trace` (through `derive`, `html`
and `overview`); all state lives in `st.session_state`, so browser sessions never share anything but
the cached models and traces. The panels are HTML (no chart library to load), so a new session and a
step draw at once; the Plotly figures in `figures` are for the exported PNGs.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from urllib.parse import urlencode

import streamlit as st

from ..config import POLICIES
from ..interop.smollm2 import ModelMissing
from ..narrate import (
    SEED_NOTES,
    SeedNote,
    is_seed_setup,
    layer_lines,
    layer_title,
    lm_head_line,
    seed_notes_at,
    step_title,
)
from ..tiny import WeightsError, weights_path
from ..trace import Trace, ssm_numbers
from ..validate import Invalid, words
from . import derive, html, overview, runs, show, state
from .i18n import tr
from .page import current_values

log = logging.getLogger(__name__)

SPEEDS = {"slow": 3.0, "normal": 1.5, "fast": 0.8}  # seconds a step when playing


def _sync_link(values: dict, lang: str, step: int) -> dict[str, str]:
    """Keep the address bar on the current settings and step, touching only this page's parameters."""
    target = state.to_query(values, lang, step)
    qp = st.query_params
    for name in state.PARAMS:
        if name not in target and name in qp:
            del qp[name]
    changed = {k: v for k, v in target.items() if qp.get(k) != v}
    if changed:
        qp.update(changed)
    return target


def checked_trace(values: dict, lang: str) -> Trace | None:
    """The run of these settings, or None after an `st.error` that says what to change."""
    errors = state.field_errors(values, lang)
    if errors:
        show.error(errors, heading=tr(lang, "fix"))
        return None
    try:
        if values["model"] == "smollm2":
            runs.ensure_smollm2(tr(lang, "converting"))
        return runs.trace_for(state.settings_of(values))
    except WeightsError:
        show.error(tr(lang, "err_weights", layers=values["layers"], pattern=values["pattern"],
                      path=weights_path(values["layers"], values["pattern"])))
    except ModelMissing:
        show.error(tr(lang, "err_model_missing"))
    except Invalid as err:  # what only the tokenizer can tell: the text's length in tokens
        labels = state.control_labels(lang)
        show.error([words(p, lang, labels) for p in err.problems], heading=tr(lang, "fix"))
    return None


# ---- the view ---------------------------------------------------------------------------------


def classroom_view(lang: str) -> None:
    """The whole classroom tab. Any unexpected failure becomes an `st.error`, never a traceback."""
    guarded(lang, _classroom, lang)


def guarded(lang: str, view, *args) -> None:
    """Run a view; an unexpected exception is logged on the server and shown as one line."""
    try:
        view(*args)
    except Exception as err:
        log.exception("view failed")
        show.error(tr(lang, "err_internal", kind=type(err).__name__, msg=str(err)[:300]))


def _classroom(lang: str) -> None:
    """Settings -> trace; then the step view (a fragment: the stepper reruns only it)."""
    ss = st.session_state
    st.title(show.text(tr(lang, "title")))
    link = state.link_errors(ss.pop("link_problems", []), lang)
    if link:
        show.error(link)
    refused = ss.pop("refused_number", None)
    if refused:
        show.error(state.refused_error(refused, lang, ss.get("model", "tiny"), ss.get("window")))
    values = current_values()
    trace = checked_trace(values, lang)
    if trace is None:
        _sync_link(values, lang, ss.get("step", 0))
        return
    refs = derive.step_refs(trace)
    _place_step(len(refs), lang)
    if is_real(trace):
        show.caption(tr(lang, "intro_real", text=values["text"], gen="".join(trace.generated),
                        w=trace.config["sliding_window"], policy=trace.config["policy"],
                        pattern=tr(lang, f"pattern_{trace.config['pattern']}")))
        if trace.config["pattern"] != "full":  # what the imposed window changed in the text
            full = runs.full_attention_continuation(values["text"], values["new"])
            show.caption(tr(lang, "intro_full_same" if full == trace.generated else "intro_full_differs",
                            full="".join(full), w=trace.config["sliding_window"]))
    else:
        show.caption(tr(lang, "intro", layers=trace.config["n_layers"], prompt=" ".join(trace.prompt),
                        gen=" ".join(trace.generated), w=trace.config["sliding_window"],
                        policy=trace.config["policy"]))
    _takeaways(trace, lang)
    every = SPEEDS[ss["speed"]] if ss.get("playing") else None
    st.fragment(_step_fragment, run_every=every)(trace, values, lang)
    _run_panels(trace, lang)  # outside the fragment: the whole run is sent once, not with every step


def is_real(trace: Trace) -> bool:
    """A run of the real model: 30 layers and 9 heads, so the page picks one layer and one head at a time."""
    return trace.config.get("model") == "smollm2"


def _place_step(n: int, lang: str) -> None:
    """Put the session's step inside 0..n-1; a link's step (1-based) is applied once, here."""
    ss = st.session_state
    wanted = ss.pop("link_step", None)
    if wanted is not None:
        problem = state.step_problem(wanted, n)
        ss["step"] = min(max(wanted, 1), n) - 1
        if problem:
            show.error(state.link_errors([problem], lang))
    ss["step"] = min(max(int(ss.get("step", 0)), 0), n - 1)


def _takeaways(trace: Trace, lang: str) -> None:
    """Seed 000's four headline effects, each with a button to the step that shows it best."""
    first_decode = next((i for i, s in enumerate(trace.steps) if s.phase == "decode"), None)
    refs = derive.step_refs(trace)
    layers = len(trace.steps[-1].layers)

    def at(pass_index: int | None, layer_index: int) -> int:
        if pass_index is None:
            return 0
        return next(r.index for r in refs if r.pass_index == pass_index and r.layer_index == layer_index)

    items = (("take_const", len(refs) - 1), ("take_layer", at(first_decode, layers - 1)),
             ("take_prefill", at(0, 0)), ("take_decode", at(first_decode, 0)))
    box = st.expander(tr(lang, "take_title"), key="takeaways", on_change="rerun")
    if not box.open:  # drawn only when opened: nothing to send or draw on a first visit
        return
    with box:
        for key, target in items:
            left, right = st.columns([6, 1.4], vertical_alignment="center")
            with left:
                show.paragraph(tr(lang, key))
            right.button(tr(lang, "take_go", n=target + 1), key=f"go_{key}", on_click=_go, args=(target,),
                         width="stretch")


def _step_fragment(trace: Trace, values: dict, lang: str) -> None:
    """Everything that changes with the step. A fragment: the stepper reruns only this part, and while
    playing it reruns itself every few seconds."""
    guarded(lang, _step_view, trace, values, lang)


def _step_view(trace: Trace, values: dict, lang: str) -> None:
    ss = st.session_state
    if ss.pop("full_rerun", False):  # play / pause / speed change the fragment's timer: a whole run
        st.rerun()
    refs = derive.step_refs(trace)
    ss["step"] = min(max(int(ss.get("step", 0)), 0), len(refs) - 1)
    _autoplay(len(refs))
    ref = refs[ss["step"]]
    with st.container(key="stepper"):
        _stepper(trace, refs, ref, lang)
        if is_real(trace):
            _layer_picker(trace, refs, ref, lang)
    step, lt = derive.layer_of(trace, ref)
    st.html(f'<div class="swa-sub">{html.esc(step_title(step, lang))} — '
            f'{html.esc(layer_title(trace, lt, lang))}</div>'
            + html.caption(tr(lang, "tokens")) + html.token_strip(trace, ref, lang))
    if is_real(trace):
        _layer_strip(trace, ref, lang)
    with st.container(key="panels"):
        _step_panels(trace, ref, values, lang)
    if is_real(trace):  # the whole run, for this layer only (the page draws one layer of 30 at a time)
        st.html(html.heading(tr(lang, "timeline_one", l=lt.layer)) + html.caption(tr(lang, "timeline_help"))
                + overview.timeline_html(trace, lang, only=ref.layer_index))
    link = _sync_link(values, lang, ref.index)
    _share(trace, ref, link, lang)
    st.html(overview.now_css(trace, ref))  # the current step, boxed on the whole-run pictures below


def _autoplay(n: int) -> None:
    """While playing, each timed rerun moves one step on; the last step stops the clock."""
    ss = st.session_state
    if not ss.get("playing"):
        return
    now = time.monotonic()
    if now < ss.get("play_due", 0):
        return
    if ss["step"] >= n - 1:
        ss["playing"] = False
        st.rerun()
    ss["step"] += 1
    ss["play_due"] = now + 0.8 * SPEEDS[ss["speed"]]


def _go(target: int) -> None:
    ss = st.session_state
    ss["step"] = target
    if ss.get("playing"):  # a hand on the stepper stops the show
        ss["playing"], ss["full_rerun"] = False, True


def _on_slider() -> None:
    _go(st.session_state["step"])


def _toggle_play() -> None:
    ss = st.session_state
    ss["playing"] = not ss.get("playing")
    ss["play_due"] = time.monotonic() + 0.8 * SPEEDS[ss["speed"]]
    ss["full_rerun"] = True


def _on_speed() -> None:
    if st.session_state.get("playing"):
        st.session_state["full_rerun"] = True


# Material icons ship with Streamlit's own font; arrow characters such as ⏮ are missing from many fonts.
_ICONS = {"first": ":material/first_page:", "prev": ":material/chevron_left:",
          "next": ":material/chevron_right:", "last": ":material/last_page:"}
_KEYS = {"first": "Home", "prev": "Left", "next": "Right", "last": "End"}


def _stepper(trace: Trace, refs: list[derive.StepRef], ref: derive.StepRef, lang: str) -> None:
    """The step's label, first / previous / next / last (also ← → Home End), play, the slider, the speed."""
    ss = st.session_state
    n, i = len(refs), ref.index
    labels = [derive.step_label(trace, r, lang) for r in refs]
    with st.container(key="stepper_row"):
        cols = st.columns([3.0, 0.6, 1.4, 1.4, 0.6, 1.1], vertical_alignment="center", gap="small")
    with cols[0]:
        st.html(html.step_heading(labels[i], i, n, lang))
    for col, key, target, off in ((cols[1], "first", 0, i == 0), (cols[2], "prev", max(i - 1, 0), i == 0),
                                  (cols[3], "next", min(i + 1, n - 1), i == n - 1),
                                  (cols[4], "last", n - 1, i == n - 1)):
        col.button(tr(lang, key), key=f"step_{key}", on_click=_go, args=(target,), disabled=off,
                   width="stretch", icon=_ICONS[key], shortcut=_KEYS[key], help=tr(lang, "keys_hint"),
                   icon_position="right" if key in ("next", "last") else "left")
    playing = bool(ss.get("playing"))
    cols[5].button(tr(lang, "pause" if playing else "play"), key="play", on_click=_toggle_play,
                   icon=":material/pause:" if playing else ":material/play_arrow:", width="stretch",
                   type="primary" if playing else "secondary", disabled=n < 2)
    left, right = st.columns([5, 1.3], vertical_alignment="center")
    left.select_slider(tr(lang, "step"), options=list(range(n)), key="step", on_change=_on_slider,
                       format_func=lambda j: f"{j + 1} · {labels[j]}", label_visibility="collapsed")
    right.selectbox(tr(lang, "speed"), list(SPEEDS), key="speed", on_change=_on_speed,
                    format_func=lambda s: tr(lang, f"speed_{s}"), label_visibility="collapsed")


def _layer_picker(trace: Trace, refs: list[derive.StepRef], ref: derive.StepRef, lang: str) -> None:
    """A real model's 30 layers: jump to any layer of the current pass."""
    ss = st.session_state
    n_layers = len(trace.steps[ref.pass_index].layers)
    ss["layer_pick"] = ref.layer_index + 1  # follows the stepper

    def jump() -> None:
        _go(next(r.index for r in refs if r.pass_index == ref.pass_index
                 and r.layer_index == ss["layer_pick"] - 1))

    st.select_slider(tr(lang, "layer_pick"), options=list(range(1, n_layers + 1)), key="layer_pick",
                     on_change=jump, format_func=lambda l: tr(lang, "layer_n", l=l))


def _layer_strip(trace: Trace, ref: derive.StepRef, lang: str) -> None:
    """Every layer's cache in this pass. Under the sticky stepper, not in it: 30 rows would cover the
    panels they are about."""
    n_layers = len(trace.steps[ref.pass_index].layers)
    label = tr(lang, "layer_strip", n=n_layers, p=derive.pass_label(trace, ref.pass_index, lang))
    with st.expander(show.text(label), expanded=True):  # the label holds a generated token: Markdown
        st.html(overview.layer_strip(trace, ref, lang))


def _step_panels(trace: Trace, ref: derive.StepRef, values: dict, lang: str) -> None:
    """Narration, the seed's notes, the next-token bars and what each layer stores now (left); the
    cache, a comparison with another policy, the mask and the weights (right)."""
    step, lt = derive.layer_of(trace, ref)
    notes = seed_notes_at(trace, step, lt)
    left, right = st.columns([5, 7], gap="large")
    with left:
        parts = [html.heading(tr(lang, "narration")), '<ul class="swa-narration">',
                 *(f"<li>{html.esc(x)}</li>" for x in layer_lines(trace, step, lt, lang)), "</ul>"]
        if notes:
            parts.append(f'<div class="swa-note" data-notes="{len(notes)}"><div class="h">'
                         f'{html.esc(tr(lang, "seed_box"))}</div><ul>'
                         + "".join(f"<li>{html.esc(n.text[lang])}</li>" for n in notes) + "</ul></div>")
        if derive.is_last_layer(trace, ref) and step.next_token is not None:
            parts.append(f"<p><b>⇒ {html.esc(lm_head_line(trace, step, lang))}</b></p>")
            if not derive.prediction_used(trace, ref.pass_index):
                parts.append(f'<div class="swa-info">{html.esc(tr(lang, "probs_chunk"))}</div>')
            if derive.is_final_output(trace, ref.pass_index):
                parts.append(f'<div class="swa-info" data-last-token="1">'
                             f'{html.esc(tr(lang, "last_token", tok=step.next_token.token))}</div>')
            parts.append(html.heading(f"{tr(lang, 'probs', l=lt.layer)} · "
                                      f"{derive.pass_label(trace, ref.pass_index, lang)}"))
            parts.append(html.probs_bars(step.next_token))
        else:
            parts.append(html.caption(tr(lang, "probs_wait", l=len(step.layers))))
        rows = derive.storage_now(trace, ref)
        parts += [html.heading(tr(lang, "storage")),
                  html.caption(tr(lang, "storage_help", b=trace.config["kv_bytes_per_entry"])),
                  html.storage_bars(rows, trace.config["policy"], lang),
                  html.caption(tr(lang, "storage_total", n=len(rows), a=f"{sum(r.bytes for r in rows)} B",
                                  b=f"{sum(r.seen_bytes for r in rows)} B"))]
        st.html("".join(parts))
    with right:
        st.html(html.heading(tr(lang, "cache", l=lt.layer)) + _cache_cells(trace, ref, lang))
        _compare(trace, ref, values, lang)
        if is_real(trace) and lt.attn_weights:
            heads = len(lt.attn_weights)
            st.selectbox(tr(lang, "head_pick"), ["mean", *range(heads)], key="head",
                         format_func=lambda h: tr(lang, "head_mean", n=heads) if h == "mean" else
                         tr(lang, "head", h=h + 1))
        st.html(_mask_and_weights(trace, ref, notes, lang))


def _cache_cells(trace: Trace, ref: derive.StepRef, lang: str) -> str:
    step, lt = derive.layer_of(trace, ref)
    if lt.kind == "mamba":
        return f'<div class="swa-info">{html.esc(tr(lang, "ssm_note", n=ssm_numbers(trace.config)))}</div>'
    cells = derive.cache_cells(step, lt)
    cut = derive.eviction_cut(trace, ref)
    cut = cut[1] if cut else None
    parts = [html.legend(lang)]
    if lt.policy in ("ring", "sink"):
        w, s = trace.config["sliding_window"], derive.sinks_of(trace, lt)
        title = tr(lang, "physical_sink", s=s, r=w - s) if s else tr(lang, "physical")
        parts.append(html.slot_row(derive.physical_slots(lt, cells, w), lt.layer, lang, title, sinks=s,
                                   cut=cut))
        parts.append(html.cell_row(cells, lt.layer, lang, tr(lang, "logical"), cut=cut))
    else:
        parts.append(html.cell_row(cells, lt.layer, lang, tr(lang, "arrival"), cut=cut))
    return "".join(parts)


def _compare(trace: Trace, ref: derive.StepRef, values: dict, lang: str) -> None:
    """The same step under another cache policy, cell by cell, for a side-by-side lesson."""
    ss = st.session_state
    w = trace.config["sliding_window"]
    others = [p for p in POLICIES if p != values["policy"] and (p != "sink" or w >= 2)]
    if ss.get("compare") not in [None, "none", *others]:
        ss["compare"] = "none"
    other = st.selectbox(tr(lang, "compare"), ["none", *others], key="compare",
                         format_func=lambda p: tr(lang, "compare_none") if p == "none" else p)
    if other == "none":
        return
    step, lt = derive.layer_of(trace, ref)
    if lt.policy not in POLICIES:
        st.html(html.caption(tr(lang, "compare_same")))
        return
    sinks = values["sinks"] if values["policy"] == "sink" else 1
    settings = replace(state.settings_of(values), policy=other, sinks=sinks if other == "sink" else 0)
    twin = runs.trace_for(settings)
    twin_step, twin_lt = derive.layer_of(twin, ref)
    rows = [(values["policy"], derive.cache_cells(step, lt)), (other, derive.cache_cells(twin_step, twin_lt))]
    st.html(html.caption(tr(lang, "compare_title", l=lt.layer, a=values["policy"], b=other))
            + html.compare_rows(rows, lt.layer, lang))


def _mask_and_weights(trace: Trace, ref: derive.StepRef, notes: list[SeedNote], lang: str) -> str:
    step, lt = derive.layer_of(trace, ref)
    label = derive.step_label(trace, ref, lang)
    if lt.kind == "mamba":
        c, n = len(lt.state or []), len((lt.state or [[0]])[0])
        return (html.heading(f"{tr(lang, 'state')} · {label}")
                + html.caption(tr(lang, "state_help", c=c, n=n))
                + html.state_grid(lt))
    w, s = trace.config["sliding_window"], derive.sinks_of(trace, lt)
    cut = derive.eviction_cut(trace, ref)
    if cut is None:
        rule_text = tr(lang, "mask_rule_full")
    elif s:
        rule_text = tr(lang, "mask_rule_sinks", w=w, s=s, rule=cut[0], cut=cut[1])
    else:
        rule_text = tr(lang, "mask_rule", w=w, rule=cut[0], cut=cut[1])
    seed_row = next((n.seed_row for n in notes if n.seed_row), ())
    parts = [html.heading(f"{tr(lang, 'mask')} · {label}"), html.caption(rule_text),
             html.mask_grid(derive.mask_view(trace, ref), lang, cut[0] if cut else None, seed_row)]
    if lt.attn_weights:
        view = derive.weights_view(trace, ref)
        parts += [html.heading(f"{tr(lang, 'weights')} · {label}"), html.caption(tr(lang, "weights_help"))]
        head = st.session_state.get("head", "mean") if is_real(trace) else None
        if head is not None:  # 9 heads: one at a time, or their mean
            view = derive.pick_head(view, head)
            sink = derive.first_tokens_weight(view, max(s, 1))
            parts.append(html.caption(tr(lang, "sink_weight_sinks" if s else "sink_weight_first",
                                         w=f"{sink:.2f}", s=s)))
        parts.append(html.weights_grids(view, lang, sinks=s))
    return "".join(parts)


def _run_panels(trace: Trace, lang: str) -> None:
    """The whole run as one picture: the cache timeline, the bytes per layer (the step view boxes the
    current step on both), and the seed notes (only for the seed's own example)."""
    st.divider()
    timeline = [] if is_real(trace) else [  # a real model's: one layer, drawn with its step above
        html.heading(tr(lang, "timeline")), html.caption(tr(lang, "timeline_help")),
        overview.timeline_html(trace, lang)]
    parts = [*timeline, html.heading(tr(lang, "sizes")), html.caption(tr(lang, "sizes_help")),
             overview.sizes_svg(trace, lang), html.heading(tr(lang, "notes"))]
    if is_seed_setup(trace):
        items = []
        for n in SEED_NOTES:
            at = derive.ref_of_step(trace, n.phase, n.token, n.layers[-1])
            where = f" ({tr(lang, 'note_step', n=at.index + 1)})" if at else ""
            items.append(f"<li>{html.esc(n.text[lang] + where)}</li>")
        parts.append(f'<ol class="swa-notes">{"".join(items)}</ol>')
    else:
        parts.append(html.caption(tr(lang, "notes_other")))
    st.html("".join(parts))


def _share(trace: Trace, ref: derive.StepRef, link: dict[str, str], lang: str) -> None:
    ss = st.session_state
    box = st.expander(tr(lang, "share"), key="share", on_change="rerun")
    if not box.open:  # the link's code block loads a syntax highlighter: only when someone asks
        return
    with box:
        base = st.context.url or ""
        show.caption(tr(lang, "link"))
        st.code(f"{base}?{urlencode(link)}", language=None)
        # a callable: the JSON is built only when someone clicks, not on every step change
        st.download_button(tr(lang, "download_json"), data=lambda: trace.to_json(indent=1),
                           file_name=f"swa_trace_{trace.config['policy']}.json",
                           mime="application/json", on_click="ignore", key="download_json")
        key = (urlencode(link), lang)
        if st.button(tr(lang, "png_make"), key="png_make"):
            from . import export, figures  # the figures for slides load only when someone exports

            try:
                ss["png"] = (key, export.png_zip(figures.step_slides(trace, ref, lang)))
            except export.ExportError as err:
                ss.pop("png", None)
                show.warning(tr(lang, "png_failed", why=str(err)))
        if ss.get("png") and ss["png"][0] == key:
            st.download_button(tr(lang, "png_download"), data=ss["png"][1],
                               file_name=f"swa_step{ref.index + 1}_png.zip", mime="application/zip",
                               on_click="ignore", key="png_download")
