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

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

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
        "odd_head_dim": "{label} {file!r}: head_dim {v} is odd; --check runs the engine, whose RoPE rotates "
                        "pairs of dimensions",
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
        "odd_head_dim": "{label} {file!r}：head_dim 为奇数 {v}；--check 要运行引擎，而 RoPE 按维度成对旋转",
        "step_shown": "{label}应在 1 到 {hi} 之间（当前为 {v}），已改为显示第 {shown} 步",
        "beyond": "{label}收到的数字太大，无法表示；已保留原来的值（请用 {lo} 到 {hi}）",
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


# ---- command-line values beyond the walkthrough's: token lists, devices, output files, limits ------

MESSAGES["en"].update({
    "not_int_list": "{label} takes comma-separated whole numbers, e.g. 1,2,3; {v!r} is not one",
    "empty_list": "{label} is empty; give at least one token id, e.g. 1,2,3",
    "too_many": "{label} has {n} values; use at most {hi} ({why})",
    "vocab": "{label}: token id {v} is outside the vocabulary (0..{hi})",
    "device": "{label} must be cpu, cuda or cuda:N, got {v!r}",
    "meta_device": "{label} {v!r} holds shapes but no numbers; use cpu or cuda",
    "no_gpu": "{label} {v!r} asks for a GPU, but this machine has no CUDA GPU; use --device cpu",
    "gpu_index": "{label} {v!r}: this machine has {n} CUDA GPU(s), cuda:0 to cuda:{last}",
    "no_folder": "{label}: the folder {folder!r} does not exist; create it first",
    "is_folder": "{label} {v!r} is a folder; give a file name",
    "not_writable": "{label}: cannot write {v!r} ({why})",
    "positions": "{label}: {p} prompt tokens and {n} new ones make {total} positions; at most {hi} ({why})",
    "json_size": "{label} would print {n:,} logits ({steps} steps x {vocab} vocabulary entries); at most "
                 "{hi:,}: leave out --json or ask for fewer tokens",
    "memory": "this run needs about {need} ({parts}) and {free} is free; {fix}",
})
MESSAGES["zh"].update({
    "not_int_list": "{label}应为逗号分隔的整数，例如 1,2,3；{v!r} 不是整数",
    "empty_list": "{label}为空：请至少给出 1 个 token id，例如 1,2,3",
    "too_many": "{label}有 {n} 个值，最多 {hi} 个（{why}）",
    "vocab": "{label}：token id {v} 超出词表范围（0..{hi}）",
    "device": "{label}应为 cpu、cuda 或 cuda:N（当前为 {v!r}）",
    "meta_device": "{label} {v!r} 只有形状没有数值；请用 cpu 或 cuda",
    "no_gpu": "{label} {v!r} 需要 GPU，但本机没有 CUDA GPU；请用 --device cpu",
    "gpu_index": "{label} {v!r}：本机有 {n} 块 CUDA GPU（cuda:0 到 cuda:{last}）",
    "no_folder": "{label}：文件夹 {folder!r} 不存在，请先创建",
    "is_folder": "{label} {v!r} 是文件夹，请给出文件名",
    "not_writable": "{label}：无法写入 {v!r}（{why}）",
    "positions": "{label}：提示 {p} 个 token 加新生成 {n} 个共 {total} 个位置，最多 {hi} 个（{why}）",
    "json_size": "{label} 将输出 {n:,} 个 logit（{steps} 步 × 词表 {vocab}），最多 {hi:,} 个："
                 "去掉 --json 或减少 token",
    "memory": "本次运行约需 {need}（{parts}），可用 {free}；{fix}",
})
CLI_LABELS.update({"prompt-ids": "--prompt-ids", "max-new-tokens": "--max-new-tokens",
                   "prefill-chunk": "--prefill-chunk", "device": "--device", "json": "--json",
                   "repeat": "--repeat", "memory": "memory"})


def _shown(raw: str, n: int = 40) -> str:
    """A typed value, cut to `n` characters for a message (a 5,000-character value stays one line)."""
    return raw if len(raw) <= n else raw[:n] + "…"


def parse_int_list(name: str, raw: str, lo: int, hi: int, max_count: int, why: str) -> list[int]:
    """Comma-separated whole numbers ('1,2,3'; blanks around commas and a trailing comma are fine)."""
    parts = [p for p in raw.split(",") if p.strip()]
    if not parts:
        raise Invalid([Problem(name, "empty_list")])
    if len(parts) > max_count:
        raise Invalid([Problem(name, "too_many", {"n": len(parts), "hi": max_count, "why": why})])
    out = []
    for part in parts:
        try:
            out.append(parse_int(name, part, lo, hi))
        except Invalid:
            raise Invalid([Problem(name, "not_int_list", {"v": _shown(part.strip())})]) from None
    return out


def parse_device(name: str, raw: str) -> str:
    """'cpu', 'cuda' or 'cuda:N' on a machine that has that GPU; 'meta' and anything else refused."""
    import torch  # only this check needs torch

    text = raw.strip().lower()
    if text == "meta":
        raise Invalid([Problem(name, "meta_device", {"v": raw})])
    match = re.fullmatch(r"cpu|cuda(?::(\d{1,3}))?", text)
    if not match:
        raise Invalid([Problem(name, "device", {"v": _shown(raw)})])
    if text.startswith("cuda"):
        n = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if n == 0:
            raise Invalid([Problem(name, "no_gpu", {"v": raw})])
        if match.group(1) is not None and int(match.group(1)) >= n:
            raise Invalid([Problem(name, "gpu_index", {"v": raw, "n": n, "last": n - 1})])
    return text


def output_file(name: str, raw: str) -> Path:
    """A file the program can write: its folder exists (none is created), the path is not a folder, and
    the file opens for writing. Checked when the command line is read, before minutes of work."""
    try:
        path = Path(raw).expanduser()
    except RuntimeError:  # ~someone who has no home on this machine
        raise Invalid([Problem(name, "no_folder", {"folder": _shown(raw, 80)})]) from None
    folder = path.parent
    if not raw.strip():
        raise Invalid([Problem(name, "is_folder", {"v": raw})])
    if path.is_dir():
        raise Invalid([Problem(name, "is_folder", {"v": _shown(raw, 80)})])
    if not folder.is_dir():
        raise Invalid([Problem(name, "no_folder", {"folder": _shown(str(folder), 80)})])
    # Opening it is the only sure test (a root user "may" write in /proc, where nothing can be made);
    # a file made only to test it is removed again.
    existed = path.exists()
    try:
        with open(path, "a"):
            pass
    except OSError as err:
        raise Invalid([Problem(name, "not_writable", {"v": _shown(raw, 80),
                                                      "why": err.strerror or type(err).__name__})]) from None
    if not existed:
        path.unlink(missing_ok=True)
    return path
