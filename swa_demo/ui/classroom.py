"""The classroom view: settings in the sidebar, a stepper, and every panel of the current step.

A step is one layer of one forward pass. The view reads only the `Trace` (through `derive`, `figures`
and `html`); all state lives in `st.session_state`, so browser sessions never share anything but the
cached models and traces.
"""

from __future__ import annotations

import logging
from html import escape
from urllib.parse import urlencode

import plotly.graph_objects as go
import streamlit as st

from ..config import PATTERNS, POLICIES
from ..narrate import SEED_NOTES, T, layer_lines, lm_head_line, step_title
from ..tiny import WeightsError
from ..trace import Trace, ssm_numbers
from . import derive, export, figures, html, runs, state
from .i18n import LANG_NAMES, LANGS, tr

log = logging.getLogger(__name__)


# ---- settings ---------------------------------------------------------------------------------


TRANSLATED_CHOICES = ("pattern", "beyond_rf_pattern")  # selectboxes whose options show in the page's language


def _redraw_translated_choice(ss) -> None:
    """After a language change, set each translated selectbox to its own value: a selectbox keeps
    showing its chosen option in the old language until its value is set from session state."""
    for key in TRANSLATED_CHOICES:
        if key in ss:
            ss[key] = ss[key]


def setup() -> str:
    """First run of a session: seed settings plus the link's; then draw the sidebar. Returns the language."""
    ss = st.session_state
    if not ss.get("initialized"):
        state.init_session(ss, st.query_params.to_dict())
    ss.setdefault("sinks", state.SEED["sinks"])  # its widget is absent (and its state dropped) unless sink
    with st.sidebar:
        st.radio(tr("zh", "lang"), LANGS, key="lang", format_func=LANG_NAMES.get, horizontal=True,
                 on_change=_redraw_translated_choice, args=(ss,))
        lang = ss["lang"]
        st.header(tr(lang, "settings"))
        st.text_input(tr(lang, "prompt"), key="prompt", help=tr(lang, "prompt_help"))
        # No min/max on the number inputs: an out-of-range value reaches the page's own check, which
        # says which control to change and to what, in the page's language.
        st.number_input(tr(lang, "new"), key="new", step=1)
        st.number_input(tr(lang, "window"), key="window", step=1)
        st.number_input(tr(lang, "layers"), key="layers", step=1)
        st.selectbox(tr(lang, "pattern"), list(PATTERNS), key="pattern",
                     format_func=lambda p: tr(lang, f"pattern_{p}"), help=tr(lang, "pattern_help"))
        st.selectbox(tr(lang, "policy"), POLICIES, key="policy")
        st.caption(tr(lang, f"policy_{ss['policy']}"))
        if ss["policy"] == "sink":
            st.number_input(tr(lang, "sinks"), key="sinks", step=1, help=tr(lang, "sinks_help"))
        st.number_input(tr(lang, "chunk"), key="chunk", step=1, value=None,
                        placeholder=tr(lang, "chunk_placeholder"), help=tr(lang, "chunk_help"))
        st.button(tr(lang, "reset"), on_click=state.seed_session, args=(ss,), key="reset",
                  help=tr(lang, "reset_help"), icon=":material/restart_alt:", width="stretch")
    return lang


def _values() -> dict:
    ss = st.session_state
    return {k: ss.get(k, state.SEED[k]) for k in state.FIELDS}


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


# ---- the view ---------------------------------------------------------------------------------


def classroom_view(lang: str) -> None:
    """The whole classroom tab. Any unexpected failure becomes an `st.error`, never a traceback."""
    _guarded(lang, _classroom, lang)


def _guarded(lang: str, view, *args) -> None:
    """Run a view; an unexpected exception is logged on the server and shown as one line."""
    try:
        view(*args)
    except Exception as err:
        log.exception("classroom view failed")
        st.error(tr(lang, "err_internal", kind=type(err).__name__, msg=str(err)[:300]))


def _classroom(lang: str) -> None:
    """Settings -> trace; then the step view (a fragment) and the whole-run panels below it."""
    ss = st.session_state
    st.html(html.CSS)
    st.title(tr(lang, "title"))
    for name, value, why in ss.pop("link_errors", []):
        st.error(state.link_error(lang, name, value, why))
    values = _values()
    errors = state.field_errors(values, lang)
    if errors:
        st.error("\n\n".join([f"**{tr(lang, 'fix')}**"] + [f"- {e}" for e in errors]))
        _sync_link(values, lang, ss.get("step", 0))
        return
    try:
        trace = runs.trace_for(state.settings_of(values))
    except WeightsError as err:
        st.error(f"{tr(lang, 'err_weights')} {err}")
        return
    _place_step(len(derive.step_refs(trace)), lang)
    st.caption(tr(lang, "intro", layers=trace.config["n_layers"], prompt=" ".join(trace.prompt),
                  gen=" ".join(trace.generated), w=trace.config["sliding_window"],
                  policy=trace.config["policy"]))
    step_view(trace, values, lang)
    _run_panels(trace, lang)


@st.fragment
def step_view(trace: Trace, values: dict, lang: str) -> None:
    """Everything that changes with the step. A fragment: the stepper reruns only this part, so the
    sidebar, the whole-run figures and the other tabs are neither recomputed nor redrawn."""
    _guarded(lang, _step_view, trace, values, lang)


def _step_view(trace: Trace, values: dict, lang: str) -> None:
    refs = derive.step_refs(trace)
    ss = st.session_state
    ss["step"] = min(max(int(ss.get("step", 0)), 0), len(refs) - 1)
    ref = refs[ss["step"]]
    _stepper(trace, refs, ref, lang)
    figs = _step_panels(trace, ref, lang)
    link = _sync_link(values, lang, ref.index)
    _share(trace, ref, link, figs, lang)


def _place_step(n: int, lang: str) -> None:
    """Put the session's step inside 0..n-1; a link's step (1-based) is applied once, here."""
    ss = st.session_state
    wanted = ss.pop("link_step", None)
    if wanted is not None:
        if 1 <= wanted <= n:
            ss["step"] = wanted - 1
        else:
            ss["step"] = min(max(wanted, 1), n) - 1
            st.error(tr(lang, "err_param", name="step", value=str(wanted),
                        why=tr(lang, "why_step", n=n, shown=ss["step"] + 1)))
    ss["step"] = min(max(int(ss.get("step", 0)), 0), n - 1)


# Material icons ship with Streamlit's own font; arrow characters such as ⏮ are missing from many fonts.
_ICONS = {"first": ":material/first_page:", "prev": ":material/chevron_left:",
          "next": ":material/chevron_right:", "last": ":material/last_page:"}


def _go(target: int) -> None:
    st.session_state["step"] = target


def _stepper(trace: Trace, refs: list[derive.StepRef], ref: derive.StepRef, lang: str) -> None:
    n, i = len(refs), ref.index
    labels = [derive.step_label(trace, r, lang) for r in refs]
    cols = st.columns([1.2, 1.2, 1.2, 1.3, 4], vertical_alignment="center")
    for col, key, target, off in ((cols[0], "first", 0, i == 0), (cols[1], "prev", max(i - 1, 0), i == 0),
                                  (cols[2], "next", min(i + 1, n - 1), i == n - 1),
                                  (cols[3], "last", n - 1, i == n - 1)):
        col.button(tr(lang, key), key=f"step_{key}", on_click=_go, args=(target,), disabled=off,
                   width="stretch", icon=_ICONS[key],
                   icon_position="right" if key in ("next", "last") else "left")
    with cols[4]:
        st.html(html.step_heading(labels[i], i, n, lang))
    st.select_slider(tr(lang, "step"), options=list(range(n)), key="step",
                     format_func=lambda j: f"{j + 1} · {labels[j]}", label_visibility="collapsed")
    step = trace.steps[ref.pass_index]
    lt = step.layers[ref.layer_index]
    kind = T[lang][lt.kind].format(w=trace.config["sliding_window"])
    st.html(f'<div class="swa-sub">{escape(step_title(step, lang))} — '
            f'{escape(T[lang]["layer"].format(l=lt.layer, kind=kind))}</div>')
    st.caption(tr(lang, "tokens"))
    st.html(html.token_strip(trace, ref, lang))


Figures = dict[str, tuple[str, go.Figure]]  # name -> (title, figure) of this step: what the PNGs need


def _chart(name: str, fig: go.Figure, ref: derive.StepRef | None, heading: str | None = None,
           caption: str | None = None) -> None:
    """A Plotly chart whose camera button saves a PNG named after the figure (and the step)."""
    if heading:
        st.markdown(f"**{heading}**")
    if caption:
        st.caption(caption)
    st.plotly_chart(fig, width="stretch", key=f"fig_{name}", config={
        "displaylogo": False,
        "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d"],
        "toImageButtonOptions": {"format": "png", "scale": 2,
                                 "filename": f"swa_{name}" + (f"_step{ref.index + 1}" if ref else "")},
    })


def _step_panels(trace: Trace, ref: derive.StepRef, lang: str) -> Figures:
    """Narration and next-token probabilities (left); the cache, the mask and the weights (right)."""
    step = trace.steps[ref.pass_index]
    lt = step.layers[ref.layer_index]
    label = derive.step_label(trace, ref, lang)
    figs: Figures = {}
    left, right = st.columns([5, 7], gap="large")
    with left:
        st.subheader(tr(lang, "narration"))
        lines = layer_lines(trace, step, lt, lang)
        st.html('<ul class="swa-narration">' + "".join(f"<li>{escape(x)}</li>" for x in lines) + "</ul>")
        if derive.is_last_layer(trace, ref) and step.next_token is not None:
            st.html(f"<p><b>⇒ {escape(lm_head_line(trace, step, lang))}</b></p>")
            if not derive.prediction_used(trace, ref.pass_index):
                st.info(tr(lang, "probs_chunk"))
            title = f"{tr(lang, 'probs', l=lt.layer)} · {derive.pass_label(trace, ref.pass_index, lang)}"
            figs["probs"] = (title, figures.probs_figure(trace, ref.pass_index, lang))
            _chart("probs", figs["probs"][1], ref, heading=title)
        else:
            st.caption(tr(lang, "probs_wait", l=len(step.layers)))
        _storage(trace, ref, lang)
    with right:
        st.subheader(tr(lang, "cache", l=lt.layer))
        _cache_cells(trace, ref, lang)
        if lt.kind == "mamba":
            figs["state"] = (f"{tr(lang, 'state')} · {label}", figures.state_figure(trace, ref, lang))
            _chart("state", figs["state"][1], ref, heading=figs["state"][0], caption=tr(lang, "state_help"))
        else:
            figs["mask"] = (f"{tr(lang, 'mask')} · {label}", figures.mask_figure(trace, ref, lang))
            _chart("mask", figs["mask"][1], ref, heading=figs["mask"][0], caption=tr(lang, "mask_help"))
        if lt.attn_weights:
            figs["weights"] = (f"{tr(lang, 'weights')} · {label}", figures.weights_figure(trace, ref, lang))
            _chart("weights", figs["weights"][1], ref, heading=figs["weights"][0],
                   caption=tr(lang, "weights_help"))
    return figs


def _cache_cells(trace: Trace, ref: derive.StepRef, lang: str) -> None:
    step = trace.steps[ref.pass_index]
    lt = step.layers[ref.layer_index]
    if lt.kind == "mamba":
        st.info(tr(lang, "ssm_note", n=ssm_numbers(trace.config)))
        return
    cells = derive.cache_cells(step, lt)
    parts = [html.legend(lang)]
    if lt.policy in ("ring", "sink"):
        w, s = trace.config["sliding_window"], trace.config.get("sinks", 0) if lt.policy == "sink" else 0
        title = tr(lang, "physical_sink", s=s, r=w - s) if s else tr(lang, "physical")
        parts.append(html.slot_row(derive.physical_slots(lt, cells, w), lt.layer, lang, title, sinks=s))
        parts.append(html.cell_row(cells, lt.layer, lang, tr(lang, "logical")))
    else:
        parts.append(html.cell_row(cells, lt.layer, lang, tr(lang, "arrival")))
    st.html("".join(parts))


def _run_panels(trace: Trace, lang: str) -> None:
    """The whole run as one picture: the cache timeline and sizes per layer, and the seed notes.

    Outside the step fragment, so a step change never redraws them; they change with the settings.
    """
    st.divider()
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.subheader(tr(lang, "timeline"))
        _chart("timeline", figures.timeline_figure(trace, lang), None, caption=tr(lang, "timeline_help"))
    with right:
        st.subheader(tr(lang, "sizes"))
        _chart("sizes", figures.sizes_figure(trace, lang), None)
        st.subheader(tr(lang, "notes"))
        notes = "".join(f"<li>{escape(n[lang])}</li>" for n in SEED_NOTES)
        st.html(f'<ol class="swa-notes">{notes}</ol>')


def _storage(trace: Trace, ref: derive.StepRef, lang: str) -> None:
    """Bytes per layer now, under the run's policy and under mask-only, as plain HTML bars (cheap to
    redraw on every step; `figures.storage_figure` draws the same numbers for the PNG export)."""
    st.subheader(tr(lang, "storage"))
    st.caption(tr(lang, "storage_help", b=trace.config["kv_bytes_per_entry"]))
    rows = derive.storage_now(trace, ref)
    st.html(html.storage_bars(rows, trace.config["policy"], lang))
    st.markdown(tr(lang, "storage_total", n=len(rows), policy=trace.config["policy"],
                   a=f"{sum(r.bytes for r in rows)} B", b=f"{sum(r.seen_bytes for r in rows)} B"))


def _share(trace: Trace, ref: derive.StepRef, link: dict[str, str], figs: Figures, lang: str) -> None:
    ss = st.session_state
    with st.expander(tr(lang, "share"), expanded=False):
        base = st.context.url or ""
        st.caption(tr(lang, "link"))
        st.code(f"{base}?{urlencode(link)}", language=None)
        # a callable: the JSON is built only when someone clicks, not on every step change
        st.download_button(tr(lang, "download_json"), data=lambda: trace.to_json(indent=1),
                           file_name=f"swa_trace_{''.join(trace.prompt)}_{trace.config['policy']}.json",
                           mime="application/json", on_click="ignore", key="download_json")
        st.caption(tr(lang, "png_hint"))
        key = (urlencode(link), lang)
        if st.button(tr(lang, "png_make"), key="png_make"):
            label = derive.step_label(trace, ref, lang)
            # the whole-run figures get the current step boxed on a slide
            slides = {**figs, "timeline": (f"{tr(lang, 'timeline')} · {label}",
                                           figures.timeline_figure(trace, lang, ref)),
                      "sizes": (tr(lang, "sizes"), figures.sizes_figure(trace, lang, ref)),
                      "storage": (f"{tr(lang, 'storage')} · {label}",
                                  figures.storage_figure(trace, ref, lang))}
            try:
                ss["png"] = (key, export.png_zip({name: figures.titled(fig, title)
                                                  for name, (title, fig) in slides.items()}))
            except export.ExportError as err:
                ss.pop("png", None)
                st.warning(tr(lang, "png_failed", why=str(err)))
        if ss.get("png") and ss["png"][0] == key:
            st.download_button(tr(lang, "png_download"), data=ss["png"][1],
                               file_name=f"swa_step{ref.index + 1}_png.zip", mime="application/zip",
                               on_click="ignore", key="png_download")
