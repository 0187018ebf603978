"""Seed-style narration (zh / en) generated from trace records, never scripted.

Symbols follow the seed with one change: the token is written in brackets, `K₁[D]` (layer 1's key of
token D), `H₂[C]` (layer 2's hidden state of C). The seed writes `K₁ᴰ`, but Unicode has no
superscript for some letters (Q) and none for a word, a space or a Chinese character; brackets work for
any token label.

All sentences live in `phrases.PHRASES` (one table per language, shared with the cost model's
comparison table) and are looked up with `phrase`. The page's own labels live in `swa_demo.ui.i18n`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .phrases import LANGS, phrase
from .trace import LayerTrace, StepTrace, Trace, read_positions, sinks_of, ssm_numbers
from .window import first_needed

SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def sym(name: str, layer: int, token: str) -> str:
    """sym('K', 1, 'D') -> 'K₁[D]'; any label works: sym('K', 12, '␣Paris') -> 'K₁₂[␣Paris]'."""
    return f"{name}{str(layer).translate(SUB)}[{token}]"


def kv(layer: int, token: str) -> str:
    return f"({sym('K', layer, token)}, {sym('V', layer, token)})"




def _join(items: list[str], lang: str) -> str:
    return phrase(lang, "list_sep").join(items) if items else phrase(lang, "none")


def window_rule(q: int, window: int, sinks: int = 0) -> str:
    """The eviction boundary written out as the seed does: '3-2+1' (or '6-(3-1)+1' with sinks), the
    expression `window.first_needed` evaluates."""
    return f"{q}-{window}+1" if not sinks else f"{q}-({window}-{sinks})+1"


def step_title(step: StepTrace, lang: str) -> str:
    return phrase(lang, "prefill") if step.phase == "prefill" else phrase(lang, "decode", tok=step.tokens[0])


def layer_title(trace: Trace, lt: LayerTrace, lang: str) -> str:
    """'第 1 层（滑动窗口 W=2）', 'Layer 3 (full attention)'."""
    w, s = trace.config["sliding_window"], sinks_of(trace, lt)
    kind = phrase(lang, "sliding_sinks", w=w, s=s) if s else phrase(lang, lt.kind, w=w)
    return phrase(lang, "layer", l=lt.layer, kind=kind)


def layer_lines(trace: Trace, step: StepTrace, lt: LayerTrace, lang: str) -> list[str]:
    """The narration of one layer of one step, as a list of sentences."""
    ffn = trace.config.get("ffn", "relu")
    l, toks = lt.layer, step.tokens
    label_at = dict(zip(step.positions, toks))
    for e in lt.cache_before + lt.cache_after:
        label_at.setdefault(e.pos, e.token)
    hs = ", ".join(sym("H", l, x) for x in toks)
    lines = [phrase(lang, "recv_embed", toks=", ".join(toks)) if l == 1 else
             phrase(lang, "recv_prev", p=l - 1, hs=", ".join(sym("H", l - 1, x) for x in toks))]
    if lt.kind == "mamba":
        return lines + [phrase(lang, "ssm", n=ssm_numbers(trace.config), hs=hs)]
    what = ", ".join(f"{sym('Q', l, x)} {sym('K', l, x)} {sym('V', l, x)}" for x in toks)
    lines.append(phrase(lang, "compute", what=what))
    if step.phase == "decode":
        lines += _read_lines(trace, step, lt, label_at, lang)
    pairs = [phrase(lang, "attend_one", q=x, keys=", ".join(label_at[p] for p in keys))
             for x, keys in zip(toks, lt.attended)]
    lines.append(phrase(lang, "attend_prefill", pairs="; ".join(pairs)) if step.phase == "prefill"
                 else pairs[0])
    if step.phase == "decode" and lt.attn_weights:
        keys = [label_at[p] for p in lt.attended[0]]
        ws = [sum(h[0][j] for h in lt.attn_weights) / len(lt.attn_weights) for j in range(len(keys))]
        x = toks[0]
        heads = len(lt.attn_weights)
        lines.append(phrase(lang, "weights", q=sym("Q", l, x), ks=", ".join(sym("K", l, k) for k in keys),
                            ws=", ".join(f"{v:.2f}" for v in ws),
                            mean=phrase(lang, "mean_heads", h=heads) if heads > 1 else "",
                            vs=", ".join(sym("V", l, k) for k in keys), out=sym("Attn_OUT", l, x)))
    lines += _cache_lines(trace, lt, step, label_at, lang)
    lines.append(phrase(lang, "ffn_relu" if ffn == "relu" else "ffn_swiglu", hs=hs))
    return lines


def _read_lines(trace: Trace, step: StepTrace, lt: LayerTrace, label_at: dict, lang: str) -> list[str]:
    """A decode step: what the cache holds going in, and what attention reads of it (never the same
    thing under a policy that evicts late: the cells, the timeline and these lines all say which)."""
    l, q = lt.layer, step.positions[-1]
    w, s = trace.config["sliding_window"], sinks_of(trace, lt)
    held = sorted(e.pos for e in lt.cache_before)
    read = sorted(read_positions(lt))
    lines = [phrase(lang, "holds", l=l, entries=_join([kv(l, label_at[p]) for p in held], lang))]
    entries = _join([kv(l, label_at[p]) for p in read], lang)
    if lt.policy == "full":
        lines.append(phrase(lang, "reads_full", n=len(read), entries=entries))
        return lines
    rule, cut = window_rule(q, w, s), first_needed(q, w, s)
    lines.append(phrase(lang, "reads_sinks", s=s, rule=rule, cut=cut, entries=entries) if s else
                 phrase(lang, "reads_window", rule=rule, cut=cut, entries=entries))
    unread = [p for p in held if p not in read]
    if unread and lt.policy in ("seed", "mask-only"):
        lines.append(phrase(lang, "held_unread", entries=_join([label_at[p] for p in unread], lang),
                            n=len(held), w=w, why=phrase(lang, f"why_{lt.policy}")))
    return lines


def _cache_lines(trace: Trace, lt: LayerTrace, step: StepTrace, label_at: dict, lang: str) -> list[str]:
    l = lt.layer
    w, s = trace.config["sliding_window"], sinks_of(trace, lt)
    written = [label_at[p] for p in lt.written]
    evicted = [kv(l, label_at[p]) for p in lt.evicted]
    skipped = [x for p, x in zip(step.positions, step.tokens) if p not in lt.written]
    kvs = ", ".join(kv(l, x) for x in written)
    out = []
    if step.phase == "prefill":
        if not skipped:
            out.append(phrase(lang, "store_all", kvs=kvs, l=l))
        elif s:
            out.append(phrase(lang, "store_sink", kvs=kvs, s=s, r=w - s, skipped=_join(skipped, lang)))
        else:
            out.append(phrase(lang, "store_ring", kvs=kvs, w=w, skipped=_join(skipped, lang)))
    elif lt.policy in ("ring", "sink") and lt.written:
        pos = lt.written[0]
        slot = next(e.slot for e in lt.cache_after if e.pos == pos)
        out.append(phrase(lang, "sink_write", kv=kv(l, written[0]), slot=slot, pos=pos, s=s, r=w - s) if s
                   else phrase(lang, "ring_write", kv=kv(l, written[0]), slot=slot, pos=pos, w=w))
    elif lt.written:
        out.append(phrase(lang, "append", kv=kv(l, written[0]), l=l))
    if evicted:
        if lt.policy == "seed":
            q = step.positions[-1]
            out.append(phrase(lang, "evict_seed", rule=window_rule(q, w), cut=first_needed(q, w),
                              ev=_join(evicted, lang)))
        else:
            out.append(phrase(lang, "evict_ring", ev=_join(evicted, lang)))
    elif step.phase == "decode" and lt.policy == "mask-only":
        out.append(phrase(lang, "mask_only", n=len(lt.cache_after)))
    elif step.phase == "decode" and lt.policy == "full":
        out.append(phrase(lang, "full_keep", n=len(lt.cache_after)))
    elif step.phase == "decode":
        out.append(phrase(lang, "no_evict"))
    held = [kv(l, e.token) for e in sorted(lt.cache_after, key=lambda e: e.pos)]
    out.append(phrase(lang, "held", entries=_join(held, lang)))
    return out


def lm_head_line(trace: Trace, step: StepTrace, lang: str) -> str:
    last_layer = len(step.layers)
    tok = step.tokens[-1]
    nt = step.next_token
    return phrase(lang, "lm_head", tok=tok, h=sym("H", last_layer, tok), nxt=nt.token, p=f"{nt.prob:.4f}")


def narrate(trace: Trace, lang: str = "zh") -> str:
    """The whole run as text, one block per step and layer, in the seed's order."""
    assert lang in LANGS, f"lang must be one of {LANGS}, got {lang!r}"
    out = []
    for step in trace.steps:
        head = step_title(step, lang)
        if step.phase == "prefill":
            head += f"  [{', '.join(step.tokens)}]"
        out.append(f"### {head}")
        for lt in step.layers:
            out.append(f"{layer_title(trace, lt, lang)}:")
            out += [f"- {line}" for line in layer_lines(trace, step, lt, lang)]
        out.append(f"=> {lm_head_line(trace, step, lang)}")
        out.append("")
    return "\n".join(out)


# ---- where the seed text and the computation differ -------------------------------------------------

@dataclass(frozen=True)
class SeedNote:
    """One place where seed 000 and the computed semantics disagree, and the step that shows it."""

    phase: str  # "prefill" or "decode"
    token: str | None  # the decode step's input token ("D"), None for prefill
    layers: tuple[int, ...]  # the layers (1-based) whose step shows it
    text: dict[str, str]  # zh / en
    seed_row: tuple[str, ...] = ()  # what the seed has the query attend, when it says (note 1)


SEED_NOTES = (
    SeedNote("decode", "D", (3,), {
        "zh": "种子文本的第 3 层 decode 写“Q₃[D] 与 [K₃[A], K₃[B], K₃[C], K₃[D]] 计算”：那是全注意力。W = 2 时 "
              "D 只关注 [K₃[C], K₃[D]]，与第 1、2 层相同；本项目按窗口语义计算。",
        "en": "The seed's layer-3 decode has Q₃[D] attend [K₃[A], K₃[B], K₃[C], K₃[D]]: that is full "
              "attention. With W = 2, D attends only [K₃[C], K₃[D]], as in layers 1 and 2; the engine "
              "follows the window.",
    }, seed_row=("A", "B", "C", "D")),
    SeedNote("decode", "D", (3,), {
        "zh": "种子文本的第 3 层 decode 只“计算 Q₃[D]”，随后却把 (K₃[D], V₃[D]) 追加进 Cache：每一层都要为新 "
              "token 计算 Q、K、V 三者。",
        "en": "The seed's layer-3 decode computes only Q₃[D], yet then appends (K₃[D], V₃[D]) to the cache: "
              "every layer computes Q, K and V for the new token.",
    }),
    SeedNote("decode", "D", (2, 3), {
        "zh": "种子文本在第 2、3 层 decode 时“读取所有历史 KV (A, B, C)”，再丢弃 A、B。prefill 结束时，之后的"
              "查询（D 及以后）已用不到 A、B（3-2+1=2），所以 ring 策略在 prefill 时就不保存 A；seed 策略"
              "照原文延后丢弃：Cache 存着 A、B，注意力却只读 C、D。",
        "en": "In layers 2 and 3 the seed's decode 'reads all history (A, B, C)' and only then drops A and B. "
              "Once prefill ends no later query (D onwards) can use A or B (3-2+1=2), so the ring policy "
              "never stores A; the seed policy keeps the text's late eviction: the cache holds A and B, "
              "attention reads only C and D.",
    }),
    SeedNote("prefill", None, (3,), {
        "zh": "种子文本说“采样”得到 D；本项目用贪心（取概率最大的 token），结果可复现。",
        "en": "The seed 'samples' D; the engine decodes greedily (the most likely token), so runs repeat.",
    }),
    SeedNote("prefill", None, (1, 3), {
        "zh": "种子文本的 FFN 公式 FFN(x) = max(0, xW₁ + b₁)W₂ + b₂ 省略了残差连接和归一化；本模型每个子层都有"
              "（pre-norm），第 3 层的 prefill 也同样经过 FFN。",
        "en": "The seed's FFN(x) = max(0, xW₁ + b₁)W₂ + b₂ leaves out residual connections and "
              "normalization; the model has both (pre-norm), and layer 3's prefill goes through its FFN too.",
    }),
)


def is_seed_setup(trace: Trace) -> bool:
    """Is this run the seed's own example (A B C, W = 2, 3 sliding layers, one prefill pass)? The seed
    notes speak about exactly that run; under other settings their letters and layers do not apply."""
    cfg = trace.config
    return (trace.prompt == ["A", "B", "C"] and cfg["sliding_window"] == 2
            and cfg["layer_types"] == ["sliding_attention"] * 3 and not cfg.get("chunk")
            and cfg.get("policy") in ("seed", "ring", "mask-only"))


def seed_notes_at(trace: Trace, step: StepTrace, lt: LayerTrace) -> list[SeedNote]:
    """The seed notes this step shows (none unless the run is the seed's own example)."""
    if not is_seed_setup(trace):
        return []
    token = step.tokens[0] if step.phase == "decode" else None
    return [n for n in SEED_NOTES if n.phase == step.phase and n.token == token and lt.layer in n.layers]
