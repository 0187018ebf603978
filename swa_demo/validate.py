"""User values, parsed and checked in one place for the command line and the page.

A check never writes a sentence: it returns `Problem`s, each a field, a code and the values that
explain it, and raises them together as `Invalid` (a `ConfigError`, so every existing handler catches
it). Each front end words them in its language with `words`: the CLI in English with its flag names as
labels, the page in the page's language with its control names.

Worked example: the settings `prompt="A1", window=0` give two problems at once,

    Problem("prompt", "bad_char", {"c": "1"})
    Problem("window", "range", {"v": 0, "lo": 1, "hi": 64})

which the CLI prints as one line, `error: --prompt may only hold the letters A-Z; '1' is not one;
--window must be between 1 and 64, got 0`, and the Chinese page as two lines under its controls.
Values a user typed are quoted with `repr`, so nothing they type is read as markup or as a format.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .config import ConfigError


@dataclass(frozen=True)
class Problem:
    field: str  # which value: a Settings field ("window"), or a CLI option without its dashes
    code: str  # what is wrong with it: a key of MESSAGES
    values: dict = field(default_factory=dict, compare=False)  # what the message needs: v, lo, hi, ...


class Invalid(ConfigError):
    """One or more problems with user values; `str()` is the English wording (CLI labels)."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        assert self.problems, "Invalid needs at least one problem"
        super().__init__("; ".join(words(p, "en") for p in self.problems))


# `{label}` is the field's name as the front end shows it (`--window`, "窗口 W").
MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "range": "{label} must be between {lo} and {hi}, got {v}",
        "at_least": "{label} must be at least {lo}, got {v}",
        "not_int": "{label} takes a whole number, got {v!r}",
        "choice": "{label} must be one of {options}, got {v!r}",
        "empty": "{label} is empty; give at least one letter, e.g. ABC",
        "bad_char": "{label} may only hold the letters A-Z; {c!r} is not one",
        "too_long": "{label} has {n} letters; use at most {hi}",
        "sinks_range": "{label} must satisfy 0 < S < W (W = {w}), got {v}",
        "step_shown": "{label} must be between 1 and {hi}, got {v}; showing step {shown}",
        "beyond": "{label} got a number too large to hold; it keeps its last value (use {lo} to {hi})",
    },
    "zh": {
        "range": "{label}应在 {lo} 到 {hi} 之间（当前为 {v}）",
        "at_least": "{label}至少为 {lo}（当前为 {v}）",
        "not_int": "{label}应为整数（当前为 {v!r}）",
        "choice": "{label}应为 {options} 之一（当前为 {v!r}）",
        "empty": "{label}为空：请输入至少 1 个字母，例如 ABC",
        "bad_char": "{label}只能包含字母 A–Z；{c!r} 不是字母",
        "too_long": "{label}有 {n} 个字母，最多只能有 {hi} 个",
        "sinks_range": "{label}必须满足 0 < S < W（W = {w}，当前 S = {v}）",
        "step_shown": "{label}应在 1 到 {hi} 之间（当前为 {v}），已改为显示第 {shown} 步",
        "beyond": "{label}收到的数字太大，无法表示；已保留原来的值（请用 {lo} 到 {hi}）",
    },
}

# The CLI's names for each field; a front end may pass its own labels to `words`.
CLI_LABELS = {"prompt": "--prompt", "new": "--new", "window": "--window", "layers": "--layers",
              "policy": "--policy", "pattern": "--pattern", "sinks": "--sinks", "chunk": "--chunk"}


def words(p: Problem, lang: str = "en", labels: dict[str, str] | None = None) -> str:
    """The problem as a sentence in `lang`, the field named by `labels` (default: the CLI's flags)."""
    label = (labels or CLI_LABELS).get(p.field, p.field)
    return MESSAGES[lang][p.code].format(label=label, **p.values)


# ---- checks that return problems ------------------------------------------------------------------


def in_range(name: str, v: int, lo: int, hi: int) -> list[Problem]:
    return [] if lo <= v <= hi else [Problem(name, "range", {"v": v, "lo": lo, "hi": hi})]


def one_of(name: str, v: str, options: Iterable[str]) -> list[Problem]:
    options = list(options)
    return [] if v in options else [Problem(name, "choice", {"v": v, "options": ", ".join(options)})]


def parse_int(name: str, raw: str, lo: int, hi: int) -> int:
    """A whole number typed by a user (ASCII digits, an optional sign) inside [lo, hi], or `Invalid`.

    `str.isdigit` is true for '²' and other digits `int` cannot read, and `int` reads 5,000 digits for
    minutes' worth of later work: both are refused here before any arithmetic.
    """
    text = raw.strip()
    body = text[1:] if text[:1] in "+-" else text
    if not body or not body.isascii() or not body.isdigit() or len(body) > 18:
        if body.isascii() and body.isdigit():  # a number too long to be in any range we accept
            raise Invalid([Problem(name, "range", {"v": text[:24] + "…", "lo": lo, "hi": hi})])
        raise Invalid([Problem(name, "not_int", {"v": raw[:40]})])
    v = int(text)
    problems = in_range(name, v, lo, hi)
    if problems:
        raise Invalid(problems)
    return v
