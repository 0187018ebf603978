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
        "text_empty": "{label} is empty; give the model some text to continue",
        "text_chars": "{label} has {n:,} characters; use at most {hi:,}",
        "text_no_tokens": "{label} gives no tokens; give the model some text to continue",
        "text_tokens": "{label} is {n} tokens long; the walkthrough traces at most {hi} (every head of "
                       "every layer for every token), so shorten it",
        "not_tokens": "{label} takes token counts such as 4k,32k,128k,1M (k = 1024, M = 1024²); {v!r} is "
                      "not a token count",
        "tokens_range": "{label} must be between 1 and {hi} tokens, got {v!r}",
        "check_context": "{label} with --check runs the engine on this CPU: each context must be between "
                         "{lo:,} and {hi:,} tokens, got {v:,}",
        "unreadable": "{label} {file!r} cannot be read: {err}",
        "too_big": "{label} {file!r} has over {hi:,} bytes; a config.json has a few thousand",
        "not_json": "{label} {file!r} is not JSON: {err}",
        "not_object": "{label} {file!r} must hold a JSON object, not {kind}",
        "key_not_object": "{label} {file!r}: {key!r} must be a JSON object, not {kind}",
        "missing_key": "{label} {file!r} has no {key!r}, which the cost model needs",
        "not_whole": "{label} {file!r}: {key!r} must be a whole number, got {v!r}",
        "not_bool": "{label} {file!r}: {key!r} must be true or false, got {v!r}",
        "key_range": "{label} {file!r}: {key!r} must be between {lo:,} and {hi:,}, got {v:,}",
        "model_type": "{label} {file!r}: model_type {v!r} is not one the cost model reads; it reads "
                      "{options}",
        "layer_types": "{label} {file!r}: 'layer_types' must name {n} layers, each one of {options}; got "
                       "{v!r}",
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
        "text_empty": "{label}为空：请输入一段文字，让模型接着写",
        "text_chars": "{label}有 {n:,} 个字符，最多 {hi:,} 个",
        "text_no_tokens": "{label}没有切出任何 token：请输入一段文字",
        "text_tokens": "{label}有 {n} 个 token，逐层讲解最多追踪 {hi} 个（每层每个头、每个 token 都要记录），"
                       "请缩短",
        "not_tokens": "{label}应为 token 数，例如 4k,32k,128k,1M（k = 1024，M = 1024²）；{v!r} 不是 token 数",
        "tokens_range": "{label}应在 1 到 {hi} 个 token 之间（当前为 {v!r}）",
        "check_context": "{label}：核对会在本机 CPU 上运行引擎，每个上下文应在 {lo:,} 到 {hi:,} 个 token 之间"
                         "（当前为 {v:,}）",
        "unreadable": "{label} {file!r} 无法读取：{err}",
        "too_big": "{label} {file!r} 超过 {hi:,} 字节；config.json 通常只有几千字节",
        "not_json": "{label} {file!r} 不是 JSON：{err}",
        "not_object": "{label} {file!r} 应为 JSON 对象，而不是 {kind}",
        "key_not_object": "{label} {file!r}：{key!r} 应为 JSON 对象，而不是 {kind}",
        "missing_key": "{label} {file!r} 缺少 {key!r}，代价模型需要它",
        "not_whole": "{label} {file!r}：{key!r} 应为整数（当前为 {v!r}）",
        "not_bool": "{label} {file!r}：{key!r} 应为 true 或 false（当前为 {v!r}）",
        "key_range": "{label} {file!r}：{key!r} 应在 {lo:,} 到 {hi:,} 之间（当前为 {v:,}）",
        "model_type": "{label} {file!r}：代价模型不认识 model_type {v!r}；它能读取 {options}",
        "layer_types": "{label} {file!r}：'layer_types' 应列出 {n} 层，每层为 {options} 之一（当前为 {v!r}）",
    },
}

# The CLI's names for each field; a front end may pass its own labels to `words`.
CLI_LABELS = {"prompt": "--prompt", "new": "--new", "window": "--window", "layers": "--layers",
              "policy": "--policy", "pattern": "--pattern", "sinks": "--sinks", "chunk": "--chunk",
              "text": "--text", "model": "--model", "tokens": "--tokens", "context": "--context",
              "config": "--config"}


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


# ---- token counts -----------------------------------------------------------------------------------

TOKEN_UNITS = {"": 1, "k": 1024, "m": 1024 ** 2}  # "128k" = 131072 tokens, as the GPU benchmark counts
MAX_CONTEXT = 1024 ** 3  # "1024M": past any model's context; the cost arithmetic stays instant below it


def parse_contexts(raw: str, name: str = "context") -> list[int]:
    """'4k,32k,128k,1M' -> [4096, 32768, 131072, 1048576] (k = 1024, M = 1024²), each 1..MAX_CONTEXT.

    ASCII digits only, at most 10 of them, checked before `int` reads them: '²' (a digit to
    `str.isdigit`), '1e30' and 5,000 digits are each refused in one problem, the first one found.
    """
    out = []
    for part in raw.split(","):
        text = part.strip()
        unit = text[-1:].lower() if text[-1:].lower() in ("k", "m") else ""
        digits = text[:len(text) - len(unit)]
        if not (digits.isascii() and digits.isdigit()):
            raise Invalid([Problem(name, "not_tokens", {"v": text[:40]})])
        if len(digits) > 10 or not 1 <= int(digits) * TOKEN_UNITS[unit] <= MAX_CONTEXT:
            shown = text if len(text) <= 24 else text[:20] + "…"
            raise Invalid([Problem(name, "tokens_range", {"v": shown, "hi": "1024M"})])
        out.append(int(digits) * TOKEN_UNITS[unit])
    return out
