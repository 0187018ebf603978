"""Fuzzing the page: hypothesis-generated address-bar parameters and widget values, under AppTest.

Whatever comes in, the page raises nothing, shows an `st.error` exactly when a value is bad (judged by
an oracle written here from the rules the page states, not by the page's own validator), and no value
ever comes back out as a link or an image. About a minute on 2 cores.
"""

from __future__ import annotations

import math
import string
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from swa_demo.config import PATTERNS, POLICIES

APP = str(Path(__file__).resolve().parent.parent / "app.py")
RANGES = {"new": (1, 32), "window": (1, 64), "layers": (1, 6)}  # the sidebar's stated ranges
SEED = {"prompt": "A B C", "new": 3, "window": 2, "layers": 3, "pattern": "sliding", "policy": "seed",
        "sinks": 1, "chunk": None}
HOSTILE = ["[click to fix](https://evil.example/login)", "<a href='https://e.example'>x</a>",
           "![i](https://e.example/i.png)", "www.evil.example", "a@evil.example", "$x^2$", ":red[x]",
           ":material/home:", "# h", "**b**", "`c`", "\\", "\n- item"]
NUMBERS = ["0", "-1", "1", "2", "3", "5", "6", "7", "32", "33", "64", "65", " 4 ", "+2", "", "none", "abc",
           "²", "1e30", "3.5", "9" * 30, str(2 ** 53 + 1), str(2 ** 60), "-" + str(2 ** 60)]
PROMPTS = ["ABC", "A B C", "a,b,c", "KLMNOP", "Q", "", " , ", "A1", "ÄB", "A" * 32, "A" * 33, "你好"]


def as_int(raw: str) -> int | None:
    """A whole number as the page promises to read one: ASCII digits, an optional sign."""
    text = raw.strip()
    body = text[1:] if text[:1] in "+-" else text
    return int(text) if body and body.isascii() and body.isdigit() and len(body) <= 18 else None


def bad_query(q: dict[str, str]) -> bool:
    """Should this link make the page show an error?"""
    v = dict(SEED)
    for name, options in (("lang", ("zh", "en")), ("policy", POLICIES), ("pattern", tuple(PATTERNS))):
        if name in q:
            if q[name] not in options:
                return True
            v[name] = q[name]
    for name in ("new", "window", "layers", "sinks", "chunk", "step"):
        if name not in q:
            continue
        if name == "chunk" and q[name].strip().lower() in ("", "none"):
            v[name] = None
            continue
        n = as_int(q[name])
        if n is None or abs(n) > 2 ** 53 - 1:
            return True
        v[name] = n
    if "prompt" in q:
        v["prompt"] = q["prompt"]
    return bad_settings(v) or ("step" in v and not 1 <= v["step"] <= steps(v))


def bad_settings(v: dict) -> bool:
    letters = [c for c in v["prompt"] if c not in " ,"]
    if not letters or len(letters) > 32 or any(c not in string.ascii_letters for c in letters):
        return True
    if any(not lo <= v[k] <= hi for k, (lo, hi) in RANGES.items()):
        return True
    if v["chunk"] is not None and v["chunk"] < 1:
        return True
    return v["policy"] == "sink" and not 0 < v["sinks"] < v["window"]


def steps(v: dict) -> int:
    """How many steps the stepper has: (prefill chunks + decode passes) x layers."""
    n = len([c for c in v["prompt"] if c not in " ,"])
    chunks = math.ceil(n / v["chunk"]) if v["chunk"] else 1
    return (chunks + v["new"] - 1) * v["layers"]


def nothing_is_a_link(at: AppTest) -> None:
    for element in [*at.error, *at.warning, *at.info, *at.caption, *at.markdown]:
        body = element.proto.body
        rendered = MarkdownIt("commonmark").render(body)
        assert "<a " not in rendered and "<img" not in rendered, body
        assert "://" not in body and "www." not in body.lower(), body  # GFM's bare-URL autolinks
    for h in at.get("html"):  # the page's own HTML has no links; a token or value in it is escaped
        assert "<a " not in h.proto.body and "<img" not in h.proto.body.replace('<img class="swa-chart"', "")


def query_values(name: str):
    if name == "lang":
        return st.sampled_from(["zh", "en", "fr", "", *HOSTILE[:2]])
    if name == "policy":
        return st.sampled_from([*POLICIES, "lru", "SEED", *HOSTILE])
    if name == "pattern":
        return st.sampled_from([*PATTERNS, "mixtral", *HOSTILE[:3]])
    if name == "prompt":
        return st.one_of(st.sampled_from(PROMPTS + HOSTILE), st.text(max_size=12))
    return st.one_of(st.sampled_from(NUMBERS), st.text(max_size=6))


NAMES = ("lang", "prompt", "new", "window", "layers", "pattern", "policy", "sinks", "chunk", "step")
queries = st.fixed_dictionaries({}, optional={name: query_values(name) for name in NAMES})
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def open_app(query: dict[str, str]) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


@FUZZ
@given(query=queries)
@example(query={"policy": "[click to fix](https://evil.example/login)"})
@example(query={"window": str(2 ** 60)})
@example(query={"window": "²", "lang": "en"})
@example(query={"policy": "sink", "window": "1"})
@example(query={"step": "0", "chunk": "2", "prompt": "ABCDE"})
@example(query={"prompt": "A" * 33, "new": "33"})
def test_any_link_gives_a_page_or_an_error_never_an_exception(query):
    at = open_app(query)
    assert not at.exception, [e.value for e in at.exception]
    assert bool(at.error) == bad_query(query), ([e.value for e in at.error], query)
    nothing_is_a_link(at)


widget_values = st.fixed_dictionaries({}, optional={
    "prompt": st.one_of(st.sampled_from(PROMPTS + HOSTILE), st.text(max_size=12)),
    "new": st.sampled_from([0, 1, 3, 32, 33, -5, 2 ** 53 + 1, 2 ** 60]),
    "window": st.sampled_from([0, 1, 2, 5, 64, 65, -(2 ** 60), 2 ** 53 + 1]),
    "layers": st.sampled_from([0, 1, 4, 6, 7, 2 ** 60]),
    "chunk": st.sampled_from([None, 0, 1, 2, 40, -3]),
})


@FUZZ
@given(values=widget_values, policy=st.sampled_from(POLICIES))
@example(values={"window": 2 ** 60}, policy="seed")
@example(values={"prompt": "[x](https://evil.example)"}, policy="ring")
def test_any_widget_values_give_a_page_or_an_error_never_an_exception(values, policy):
    at = open_app({})
    at.selectbox(key="policy").set_value(policy).run()
    for key, value in values.items():  # typed all at once, then one run
        widget = at.text_input(key=key) if key == "prompt" else at.number_input(key=key)
        widget.set_value(value)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    expected = {**SEED, "policy": policy}
    beyond = False
    for key, value in values.items():
        if key != "prompt" and value is not None and abs(value) > 2 ** 53 - 1:
            beyond = True  # refused with a message; the control keeps its last value
        else:
            expected[key] = value
    for key in ("new", "window", "layers"):
        assert at.session_state[key] == expected[key]  # never wrapped into another number
    assert bool(at.error) == (beyond or bad_settings(expected)), [e.value for e in at.error]
    nothing_is_a_link(at)
