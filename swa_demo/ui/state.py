"""Page settings: the seed defaults, query parameters in and out, and error messages a teacher can act on.

Everything here works on plain mappings (Streamlit's `st.session_state` and `st.query_params` in the
app, dicts in tests), so one browser session never sees another's state.

A shared link looks like `?lang=zh&prompt=ABC&new=3&window=2&layers=3&policy=seed&step=4`: `step` is
1-based, as the page counts, so "open step 4" is `step=4` (Decode D · Layer 1 of the seed walkthrough).
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import replace

from ..config import PATTERNS, POLICIES, ConfigError
from ..tiny import MAX_LAYERS
from ..walkthrough import MAX_NEW, MAX_PROMPT, MAX_WINDOW, Settings, check
from .i18n import LANGS, tr

# The seed walkthrough (seeds/000): A B C -> D E F, W = 2, 3 layers, lazy eviction. The page opens here.
SEED = {"prompt": "A B C", "new": 3, "window": 2, "layers": 3, "pattern": "sliding", "policy": "seed",
        "sinks": 1, "chunk": None}
FIELDS = tuple(SEED)  # the sidebar's widget keys, in sidebar order
INT_FIELDS = ("new", "window", "layers", "sinks", "chunk")
PARAMS = ("lang",) + FIELDS + ("step",)


def settings_of(values: Mapping) -> Settings:
    """The engine's `Settings` from the widget values (sinks count only under the sink policy)."""
    return Settings(prompt=values["prompt"], new=values["new"], window=values["window"],
                    layers=values["layers"], pattern=values["pattern"], policy=values["policy"],
                    sinks=values["sinks"] if values["policy"] == "sink" else 0, chunk=values["chunk"])


def seed_session(ss: MutableMapping, lang: str | None = None) -> None:
    """Put the seed walkthrough into the session (keeping the language unless one is given)."""
    ss.update(SEED)
    ss["step"] = 0
    ss["lang"] = lang or ss.get("lang", "zh")


def init_session(ss: MutableMapping, query: Mapping[str, str]) -> None:
    """First run of a browser session: seed defaults, then whatever a shared link says.

    Link values that cannot even be put into a control (`window=abc`, `lang=fr`) are dropped and
    reported once in `ss["link_errors"]` as (name, value, why); values that fit a control but are out
    of range (`window=0`) go in, so the page refuses them with the same message a teacher would get
    from the control. The step is checked later, once the run's length is known (`ss["link_step"]`).
    """
    seed_session(ss, "zh")
    values, errors = parse_query(query)
    ss.update({k: v for k, v in values.items() if k != "step"})
    ss["link_step"] = values.get("step")
    ss["link_errors"] = errors
    ss["initialized"] = True


def parse_query(query: Mapping[str, str]) -> tuple[dict, list[tuple[str, str, str]]]:
    """Known parameters -> widget values, plus (name, value, why-key) for those that do not fit."""
    values: dict = {}
    errors: list[tuple[str, str, str]] = []
    for name in PARAMS:
        if name not in query:
            continue
        raw = query[name]
        if name == "lang":
            if raw in LANGS:
                values[name] = raw
            else:
                errors.append((name, raw, "why_lang"))
        elif name == "policy":
            if raw in POLICIES:
                values[name] = raw
            else:
                errors.append((name, raw, "why_policy"))
        elif name == "pattern":
            if raw in PATTERNS:
                values[name] = raw
            else:
                errors.append((name, raw, "why_pattern"))
        elif name == "prompt":
            values[name] = raw
        elif name == "chunk" and raw.strip().lower() in ("", "none"):
            values[name] = None
        else:  # integers: new, window, layers, sinks, chunk, step
            try:
                values[name] = int(raw)
            except ValueError:
                errors.append((name, raw, "why_int"))
    return values, errors


def to_query(values: Mapping, lang: str, step: int) -> dict[str, str]:
    """The link for these settings at this (0-based) step; sinks and chunk only when they matter."""
    out = {"lang": lang, "prompt": str(values["prompt"]), "new": str(values["new"]),
           "window": str(values["window"]), "layers": str(values["layers"]), "policy": values["policy"]}
    if values["pattern"] != "sliding":
        out["pattern"] = values["pattern"]
    if values["policy"] == "sink":
        out["sinks"] = str(values["sinks"])
    if values["chunk"] is not None:
        out["chunk"] = str(values["chunk"])
    out["step"] = str(step + 1)
    return out


def link_error(lang: str, name: str, value: str, why: str) -> str:
    opts = {"why_policy": POLICIES, "why_pattern": PATTERNS}.get(why)
    reason = tr(lang, why, opts=", ".join(opts)) if opts else tr(lang, why)
    return tr(lang, "err_param", name=name, value=value, why=reason)


# ---- what is wrong with the settings, field by field --------------------------------------------


def field_errors(values: Mapping, lang: str) -> list[str]:
    """One message per bad control, in the page's language; empty when the engine accepts the settings.

    The engine's `check` decides what is valid: each field is tried alone on top of the seed settings,
    and the message names the control and the range to use. A combination the field-by-field trial
    cannot catch falls back to the engine's own message.
    """
    base = settings_of({**SEED, "policy": "seed"})
    errors = []
    for name in ("prompt", "new", "window", "layers", "policy", "chunk"):
        trial = {name: values[name]}
        if name == "policy" and values[name] == "sink":
            trial["sinks"] = 1  # the policy alone, with a valid S (1 < the seed's W = 2)
        if _fails(base, **trial):
            errors.append(_message(name, values, lang))
    # S is bounded by W, so it is judged against the chosen W once that W is valid itself
    if values["policy"] == "sink" and not _fails(base, window=values["window"]):
        if _fails(base, policy="sink", window=values["window"], sinks=values["sinks"]):
            errors.append(_message("sinks", values, lang))
    if not errors:
        try:
            check(settings_of(values))
        except ConfigError as err:
            errors.append(str(err))
    return errors


def _fails(base: Settings, **changes) -> bool:
    try:
        check(replace(base, **changes))
    except ConfigError:
        return True
    return False


def _message(name: str, values: Mapping, lang: str) -> str:
    v = values[name]
    if name == "prompt":
        letters = [c for c in str(v) if c not in " ,"]
        bad = [c for c in letters if not (c.isascii() and c.isalpha())]
        if not letters:
            return tr(lang, "err_prompt_empty")
        if bad:
            return tr(lang, "err_prompt_bad", c=bad[0])
        return tr(lang, "err_prompt_long", n=len(letters), max=MAX_PROMPT)
    limits = {"new": MAX_NEW, "window": MAX_WINDOW, "layers": MAX_LAYERS}
    if name in limits:
        return tr(lang, f"err_{name}", max=limits[name], v=v)
    if name == "policy":
        return tr(lang, "err_policy", v=v, opts=", ".join(POLICIES))
    if name == "sinks":
        return tr(lang, "err_sinks", w=values["window"], v=v)
    return tr(lang, "err_chunk", v=v)
