"""The page's frame: the session's settings, the language switch, the tabs' names and the sidebar.

No torch here (nor in `state`, `i18n`, `style`, `show`): `app.py` draws all of this while the engine
(`classroom`, torch) is still importing, which `warm_up` starts in the background on the first run.
"""

from __future__ import annotations

import importlib
import threading

import streamlit as st

from ..config import PATTERNS, POLICIES
from ..limits import MODELS, REAL_PATTERNS
from . import show, state
from .i18n import LANG_NAMES, LANGS, TABS, tr
from .style import CSS


@st.cache_resource(show_spinner=False)
def warm_up() -> threading.Thread:
    """Import the engine in a background thread, once per server process. The first visitor's browser
    spends a second or more loading the page's widgets; torch loads in that time instead of after it."""
    thread = threading.Thread(target=importlib.import_module, args=("swa_demo.ui.classroom",),
                              name="swa-warm-up", daemon=True)
    thread.start()
    return thread


# selectboxes whose options show in the page's language
TRANSLATED_CHOICES = ("model", "pattern", "speed", "compare", "head")


def tab_labels(lang: str) -> list[str]:
    return [tr(lang, f"tab_{t}") for t in TABS]


def _on_language(ss) -> None:
    """After a language change: keep the open tab (its label changed language), and set each translated
    selectbox to its own value (a selectbox keeps showing its option in the old language otherwise)."""
    old = ss.get("lang_shown")
    if old in LANGS and ss.get("tab") in tab_labels(old):
        ss["tab"] = tab_labels(ss["lang"])[tab_labels(old).index(ss["tab"])]
    for key in TRANSLATED_CHOICES:
        if key in ss:
            ss[key] = ss[key]


def setup() -> str:
    """Every run: the session's settings (seeded, then a link's, on its first run), the page's CSS and
    the language switch. Returns the language."""
    ss = st.session_state
    if not ss.get("initialized"):
        state.init_session(ss, st.query_params.to_dict())
    # Widgets drop their state in a run that does not draw them (the settings on a tab they do not
    # drive, the stepper under an error): setting each from itself keeps it. Only then: a widget that is
    # drawn checks the value it receives itself, and refuses one beyond its bounds.
    hidden = ss.get("tab") in tab_labels(ss.get("lang", "zh"))[2:]
    # (the prompt box and the layer count are not drawn for SmolLM2, nor its text box for the toy)
    for key in (state.FIELDS if hidden else ("prompt", "text", "layers")) + ("step", "head"):
        if key in ss:
            ss[key] = ss[key]
    ss.setdefault("speed", "normal")
    st.html(CSS)
    with st.sidebar:
        st.radio(tr("zh", "lang"), LANGS, key="lang", format_func=LANG_NAMES.get, horizontal=True,
                 on_change=_on_language, args=(ss,))
    ss["lang_shown"] = ss["lang"]
    return ss["lang"]


def settings_sidebar(lang: str, active: bool) -> None:
    """The run's settings. Drawn on the tabs they drive (`active`); elsewhere a line says so."""
    ss = st.session_state
    with st.sidebar:
        if not active:
            show.caption(tr(lang, "settings_elsewhere"))
            st.button(tr(lang, "reset"), on_click=state.seed_session, args=(ss,), key="reset",
                      help=tr(lang, "reset_help"), icon=":material/restart_alt:", width="stretch")
            return
        st.header(tr(lang, "settings"))
        st.selectbox(tr(lang, "model"), MODELS, key="model", format_func=lambda m: tr(lang, f"model_{m}"),
                     help=tr(lang, "model_help"), on_change=state.choose_model, args=(ss,))
        real = ss["model"] == "smollm2"
        if real:
            st.text_area(tr(lang, "text"), key="text", help=tr(lang, "text_help"), height=90)
        else:
            st.text_input(tr(lang, "prompt"), key="prompt", help=tr(lang, "prompt_help"))
        # The number inputs' bounds are only the integers a browser holds exactly: an out-of-range value
        # inside them reaches the page's own check, which says which control to change and to what.
        def bounds(key: str) -> dict:
            return dict(key=key, step=1, min_value=-state.WIDGET_LIMIT, max_value=state.WIDGET_LIMIT,
                        on_change=_guard_number, args=(key,))

        st.number_input(tr(lang, "new"), **bounds("new"))
        st.number_input(tr(lang, "window"), **bounds("window"))
        if real:
            show.caption(tr(lang, "layers_real"))
            if ss.get("pattern") not in REAL_PATTERNS:
                ss["pattern"] = "sliding"
        else:
            st.number_input(tr(lang, "layers"), **bounds("layers"))
        st.selectbox(tr(lang, "pattern"), list(REAL_PATTERNS if real else PATTERNS), key="pattern",
                     format_func=lambda p: tr(lang, f"pattern_{p}"),
                     help=tr(lang, "pattern_help_real" if real else "pattern_help"))
        st.selectbox(tr(lang, "policy"), POLICIES, key="policy")
        show.caption(tr(lang, f"policy_{ss['policy']}"))
        if ss["policy"] == "sink":
            st.number_input(tr(lang, "sinks"), help=tr(lang, "sinks_help"), **bounds("sinks"))
        st.number_input(tr(lang, "chunk"), value=None, placeholder=tr(lang, "chunk_placeholder"),
                        help=tr(lang, "chunk_help"), **bounds("chunk"))
        ss["good_numbers"] = {k: ss[k] for k in state.INT_FIELDS if k in ss}
        st.button(tr(lang, "reset"), on_click=state.seed_session, args=(ss,), key="reset",
                  help=tr(lang, "reset_help"), icon=":material/restart_alt:", width="stretch")


def _guard_number(key: str) -> None:
    """A number input sent a value beyond its bounds, which Streamlit turns into its lower bound: put the
    last good value back and say so (an int of 2⁶⁰ must not quietly become another number)."""
    ss = st.session_state
    if ss.get(key) == -state.WIDGET_LIMIT:
        ss[key] = ss.get("good_numbers", {}).get(key, state.SEED[key])
        ss["refused_number"] = key


def current_values() -> dict:
    ss = st.session_state
    return {k: ss.get(k, state.SEED[k]) for k in state.FIELDS}


