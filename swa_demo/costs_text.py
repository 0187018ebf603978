"""The cost model in words: units, the command line's table, and seed 004's comparison table.

Everything here formats figures `costs` computed; nothing here computes one. No torch.
"""

from __future__ import annotations

import textwrap

from .config import FULL, MAMBA, SLIDING, ConfigError
from .costs import (
    KI,
    Shape,
    cache_bytes,
    decode_flops,
    decode_keys,
    pair_flops,
    prefill_flops,
    receptive_reach,
    shape,
)
from .phrases import LANGS, phrase


def fmt_tokens(n: int) -> str:
    for unit, size in (("M", KI * KI), ("k", KI)):
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return str(n)


def fmt_bytes(b: float) -> str:
    for unit, size in (("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if b >= size:
            return f"{b / size:.3g} {unit}" if b / size < 100 else f"{b / size:,.0f} {unit}"
    return f"{b:.0f} B"


def fmt_flops(f: float) -> str:
    for unit, size in (("PFLOP", 1e15), ("TFLOP", 1e12), ("GFLOP", 1e9), ("MFLOP", 1e6)):
        if f >= size:
            return f"{f / size:.3g} {unit}" if f / size < 1000 else f"{f / size:,.0f} {unit}"
    return f"{f:.0f} FLOP"


def fmt_params(n: int) -> str:
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.3g}{unit}"
    return str(n)


def format_table(rows: list[dict]) -> str:
    """The CLI's plain-text table, with a footnote for every caveat a row carries."""
    head = ("preset", "layers F/S/M", "params (active)", "weights", "context", "KV cache + state",
            "of memory", "decode / token", "prefill")
    body = [(r["preset"], "/".join(str(r["layers"][k]) for k in ("full", "sliding", "mamba")),
             fmt_params(r["params"]) + (f" ({fmt_params(r['active_params'])})"
                                        if r["active_params"] != r["params"] else ""),
             fmt_bytes(r["weight_bytes"]), fmt_tokens(r["context"]) + ("*" if r["extrapolated"] else ""),
             fmt_bytes(r["cache_bytes"]), f"{r['cache_share']:.1%}", fmt_flops(r["decode_flops"]),
             fmt_flops(r["prefill_flops"])) for r in rows]
    widths = [max(len(x[i]) for x in (head, *body)) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(x, widths)))
             for x in (head, *body)]
    lines.insert(1, "-" * len(lines[0]))
    notes = ["per sequence, bf16; \"of memory\" = the cache's share of weights + cache; decode = the token "
             "after `context` tokens; prefill = one pass over `context` tokens (mask-useful pairs only; see "
             "swa_demo/costs.py for the counting rules)"]
    trained = {r["preset"]: r["trained_context"] for r in rows if r["extrapolated"]}
    if trained:
        notes.append("* longer than the context the model was trained for (max_position_embeddings: "
                     + ", ".join(f"{name} {fmt_tokens(n)}" for name, n in trained.items())
                     + "): the figures are extrapolated")
    extra = {r["preset"]: r["transformers_conv_extra_bytes"] for r in rows if r["layers"]["mamba"]}
    if extra:
        notes.append("mamba state = E (K - 1 + N) numbers per layer: the conv's last K - 1 inputs, all the "
                     "next step reads, as the engine keeps them; transformers' cache keeps K per channel, "
                     + ", ".join(f"+{fmt_bytes(b)} for {name}" for name, b in extra.items()))
    return "\n".join(lines + [textwrap.fill(n, 110, subsequent_indent="  ") for n in notes])


# ---- seed 004's comparison -----------------------------------------------------------------------

COMPARE = {"full": "mistral-7b-full", "swa": "mistral-7b", "hybrid": "jamba-v0.1"}



def comparison_rows(lang: str = "en", context: int = 128 * KI) -> list[list[str]]:
    """Seed 004's summary table, regenerated with figures at `context` tokens. Row 0 is the header."""
    if lang not in LANGS:
        raise ConfigError(f"lang must be zh or en, got {lang!r}")

    def t(key: str, **fields) -> str:
        return phrase(lang, f"cmp_{key}", **fields)
    full, swa, hyb = (shape(COMPARE[c]) for c in ("full", "swa", "hybrid"))

    def flops_cell(s: Shape, order: str) -> str:
        dec = decode_flops(s, context)
        att = pair_flops(s) * sum(decode_keys(k, context, s.window) for k in s.layer_types)
        return t("flops_cell", o=order, pre=fmt_flops(sum(prefill_flops(s, context).values())),
                                      dec=fmt_flops(sum(dec.values())), att=fmt_flops(att))

    kv_h = cache_bytes(hyb, context)
    a, m = hyb.count(FULL) + hyb.count(SLIDING), hyb.count(MAMBA)
    return [
        [t(f"head_{i}") for i in range(4)],
        [t("shape", n=fmt_tokens(context)), full.name, swa.name, hyb.name],
        [t("flops"), flops_cell(full, "O(N²)"), flops_cell(swa, "O(N·W)"),
         flops_cell(hyb, f"O(N) + 1/{hyb.n_layers // a}·O(N²)")],
        [t("kv"), t("kv_full", kv=fmt_bytes(sum(cache_bytes(full, context).values()))),
         t("kv_swa", w=swa.window, kv=fmt_bytes(sum(cache_bytes(swa, context).values()))),
         t("kv_hybrid", k=hyb.n_layers // a, kv=fmt_bytes(kv_h[FULL] + kv_h[SLIDING]), a=a,
                               l=hyb.n_layers, st=fmt_bytes(kv_h[MAMBA]))],
        [t("recall"), t("recall_full", n=f"{context:,}"),
         t("recall_swa", w=swa.window, l=swa.n_layers, reach=f"{receptive_reach(swa):,}"),
         t("recall_hybrid", m=m, a=a)],
        [t("approach"), t("approach_full"), t("approach_swa"), t("approach_hybrid")],
    ]


def comparison_markdown(lang: str = "en", context: int = 128 * KI) -> str:
    rows = comparison_rows(lang, context)
    lines = ["| " + " | ".join(r) + " |" for r in rows]
    lines.insert(1, "|" + " --- |" * len(rows[0]))
    return "\n".join(lines) + "\n\n" + phrase(lang, "cmp_note")
