"""Page settings: the seed defaults, query parameters in and out, and the problems a teacher can act on.

Everything here works on plain mappings (Streamlit's `st.session_state` and `st.query_params` in the
app, dicts in tests), so one browser session never sees another's state.

A shared link looks like `?lang=zh&prompt=ABC&new=3&window=2&layers=3&policy=seed&step=4`: `step` is
1-based, as the page counts, so "open step 4" is `step=4` (Decode D · Layer 1 of the seed walkthrough).
With the real model: `?model=smollm2&text=The+capital+of+France+is&window=8&policy=sink&sinks=1&step=31`.

What is valid is decided once, by `walkthrough.problems` (the engine's settings) and `validate` (how a
typed value is read); this module only words the `Problem`s with the page's control names.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import TYPE_CHECKING

from ..config import PATTERNS, POLICIES
from ..limits import (
    MAX_LAYERS,
    MAX_NEW,
    MAX_PROMPT,
    MAX_WINDOW,
    MODELS,
    REAL_DEFAULT_TEXT,
    REAL_DEFAULT_WINDOW,
    REAL_MAX_TOKENS,
    REAL_MAX_WINDOW,
)
from ..validate import Invalid, Problem, one_of, parse_int, words
from .i18n import LANGS, tr

if TYPE_CHECKING:
    from ..walkthrough import Settings

# This module imports no torch (the engine's limits and checks are imported where they are used), so
# the page can draw its frame, sidebar included, while the engine is still loading.

# The seed walkthrough (seeds/000): A B C -> D E F, W = 2, 3 layers, lazy eviction. The page opens here.
SEED = {"model": "tiny", "prompt": "A B C", "text": REAL_DEFAULT_TEXT, "new": 3, "window": 2, "layers": 3,
        "pattern": "sliding", "policy": "seed", "sinks": 1, "chunk": None}
# What choosing a model sets (a window of 2 is the seed's lesson; SmolLM2 needs a few more keys to still
# say " Paris"); the text and the prompt each keep their own box.
MODEL_DEFAULTS = {"tiny": {"window": 2, "policy": "seed", "pattern": "sliding", "new": 3},
                  "smollm2": {"window": REAL_DEFAULT_WINDOW, "policy": "ring", "pattern": "sliding",
                              "new": 3}}
FIELDS = tuple(SEED)  # the sidebar's widget keys, in sidebar order
INT_FIELDS = ("new", "window", "layers", "sinks", "chunk")
PARAMS = ("lang",) + FIELDS + ("step",)
# The number widgets' own bounds: the largest integers a browser holds exactly. Inside them a value
# reaches `problems`, which says what range to use; a value beyond them is refused by the widget (a
# link's is refused here), so it can never be rounded or wrapped into another number on the way.
WIDGET_LIMIT = 2 ** 53 - 1


def field_range(name: str, model: str = "tiny", window: int | None = None) -> tuple[int, int]:
    """What an integer field accepts, for the message when a value is beyond the widget's bounds; the
    sinks' range follows the chosen W when it is known (S < W)."""
    most = REAL_MAX_WINDOW if model == "smollm2" else MAX_WINDOW
    prompt = REAL_MAX_TOKENS if model == "smollm2" else MAX_PROMPT
    return {"new": (1, MAX_NEW), "window": (1, most), "layers": (1, MAX_LAYERS),
            "sinks": (1, max(1, (window or most) - 1)), "chunk": (1, prompt), "step": (1, WIDGET_LIMIT)}[name]


def settings_of(values: Mapping) -> Settings:
    """The engine's `Settings` from the widget values (sinks count only under the sink policy)."""
    from ..walkthrough import Settings

    real = values.get("model") == "smollm2"
    return Settings(prompt=values["text"] if real else values["prompt"], new=values["new"],
                    window=values["window"], layers=values["layers"], pattern=values["pattern"],
                    policy=values["policy"], sinks=values["sinks"] if values["policy"] == "sink" else 0,
                    chunk=values["chunk"], model=values.get("model", "tiny"))


def choose_model(ss: MutableMapping) -> None:
    """A new model in the sidebar: its own defaults for W, the policy and the pattern, and step 1."""
    ss.update(MODEL_DEFAULTS[ss["model"]])
    ss["step"] = 0


def seed_session(ss: MutableMapping, lang: str | None = None) -> None:
    """Put the seed walkthrough into the session (keeping the language unless one is given); the other
    tabs' controls (keys starting `beyond_`) go back to their defaults."""
    ss.update(SEED)
    ss["step"] = 0
    ss["lang"] = lang or ss.get("lang", "zh")
    ss["playing"] = False
    for key in [k for k in ss if str(k).startswith("beyond_")]:
        del ss[key]


def init_session(ss: MutableMapping, query: Mapping[str, str]) -> None:
    """First run of a browser session: seed defaults, then whatever a shared link says.

    Link values that cannot even be put into a control (`window=abc`, `lang=fr`) are dropped and
    reported once in `ss["link_problems"]`; values that fit a control but are out of range (`window=0`)
    go in, so the page refuses them with the same message a teacher would get from the control. The
    step is checked later, once the run's length is known (`ss["link_step"]`).
    """
    seed_session(ss, "zh")
    values, found = parse_query(query)
    ss.update(MODEL_DEFAULTS[values.get("model", "tiny")])  # the link's model's defaults, then its values
    ss.update({k: v for k, v in values.items() if k != "step"})
    ss["link_step"] = values.get("step")
    ss["link_problems"] = found
    ss["initialized"] = True


def parse_query(query: Mapping[str, str]) -> tuple[dict, list[Problem]]:
    """Known parameters -> widget values, plus a `Problem` for each that cannot be put into its control."""
    values: dict = {}
    found: list[Problem] = []
    choices = {"lang": LANGS, "policy": POLICIES, "pattern": PATTERNS, "model": MODELS}
    for name in PARAMS:
        if name not in query:
            continue
        raw = query[name]
        if name in choices:
            bad = one_of(name, raw, choices[name])
            found += bad
            if not bad:
                values[name] = raw
        elif name in ("prompt", "text"):
            values[name] = raw
        elif name == "chunk" and raw.strip().lower() in ("", "none"):
            values[name] = None
        else:  # integers: new, window, layers, sinks, chunk, step
            try:
                values[name] = parse_int(name, raw, -WIDGET_LIMIT, WIDGET_LIMIT)
            except Invalid as err:
                p = err.problems[0]
                if p.code == "range":  # beyond any control: say the field's own range
                    lo, hi = field_range(name, query.get("model", "tiny"))
                    p = Problem(name, "range", {"v": str(p.values["v"]), "lo": lo, "hi": hi})
                found.append(p)
    return values, found


def to_query(values: Mapping, lang: str, step: int) -> dict[str, str]:
    """The link for these settings at this (0-based) step; sinks and chunk only when they matter."""
    if values.get("model") == "smollm2":  # SmolLM2's text, and no layer count (it has its own 30)
        out = {"lang": lang, "model": "smollm2", "text": str(values["text"])}
    else:
        out = {"lang": lang, "prompt": str(values["prompt"]), "layers": str(values["layers"])}
    out |= {"new": str(values["new"]), "window": str(values["window"]), "policy": values["policy"]}
    if values["pattern"] != "sliding":
        out["pattern"] = values["pattern"]
    if values["policy"] == "sink":
        out["sinks"] = str(values["sinks"])
    if values["chunk"] is not None:
        out["chunk"] = str(values["chunk"])
    out["step"] = str(step + 1)
    return out


# ---- problems, worded with the page's names ----------------------------------------------------


def control_labels(lang: str) -> dict[str, str]:
    """Each settings field named as its control is labelled in the sidebar."""
    return {name: tr(lang, name) for name in FIELDS}


def link_labels(lang: str) -> dict[str, str]:
    """Each link parameter named as the address bar spells it ("链接参数 window")."""
    return {name: tr(lang, "link_param", name=name) for name in PARAMS}


def field_errors(values: Mapping, lang: str) -> list[str]:
    """One message per problem with the settings, in the page's language, the fields named as the
    sidebar names them; empty when the engine accepts the settings. The engine's one check decides."""
    from ..walkthrough import problems

    labels = control_labels(lang)
    return [words(p, lang, labels) for p in problems(settings_of(values))]


def link_errors(found: list[Problem], lang: str) -> list[str]:
    """The link's problems, each naming its parameter as the address bar spells it."""
    labels = link_labels(lang)
    return [words(p, lang, labels) for p in found]


def step_problem(wanted: int, n: int) -> Problem | None:
    """A link's step outside 1..n: the page shows the nearest step and says so."""
    if 1 <= wanted <= n:
        return None
    return Problem("step", "step_shown", {"v": wanted, "hi": n, "shown": min(max(wanted, 1), n)})


def refused_error(name: str, lang: str, model: str = "tiny", window: int | None = None) -> str:
    """A control received a number beyond what it holds; the last good value stays."""
    lo, hi = field_range(name, model, window)
    return words(Problem(name, "beyond", {"lo": lo, "hi": hi}), lang, control_labels(lang))
