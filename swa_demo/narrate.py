"""Seed-style narration (zh / en) generated from trace records, never scripted.

Symbols follow the seed with one change: the token is written in brackets, `K₁[D]` (layer 1's key of
token D), `H₂[C]` (layer 2's hidden state of C). The seed writes `K₁ᴰ`, but Unicode has no
superscript for some letters (Q) and none for a word, a space or a Chinese character; brackets work for
any token label.

All sentences live in `PHRASES` (one table per language) and are looked up with `phrase`. The page's
own labels live elsewhere (`swa_demo.ui.i18n`).
"""

from __future__ import annotations

from dataclasses import dataclass

from .trace import LayerTrace, StepTrace, Trace, ssm_numbers
from .window import first_needed

SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
LANGS = ("zh", "en")


def sym(name: str, layer: int, token: str) -> str:
    """sym('K', 1, 'D') -> 'K₁[D]'; any label works: sym('K', 12, '␣Paris') -> 'K₁₂[␣Paris]'."""
    return f"{name}{str(layer).translate(SUB)}[{token}]"


def kv(layer: int, token: str) -> str:
    return f"({sym('K', layer, token)}, {sym('V', layer, token)})"


PHRASES: dict[str, dict[str, str]] = {
    "zh": {
        "list_sep": "、", "none": "无",
        "prefill": "prefill 阶段", "decode": "decode 阶段：输入上一步生成的 token {tok}",
        "layer": "第 {l} 层（{kind}）", "sliding_attention": "滑动窗口 W={w}",
        "sliding_sinks": "滑动窗口 W={w}，含 {s} 个汇点",
        "full_attention": "全注意力", "mamba": "SSM 状态层",
        "recv_embed": "接收 [{toks}] 的嵌入向量",
        "recv_prev": "接收第 {p} 层的输出 [{hs}] 作为输入",
        "compute": "计算 {what}",
        "holds": "本步之前，第 {l} 层的 Cache 存有：{entries}",
        "reads_window": "注意力只读窗口内的 KV（位置 ≥ {rule}={cut}）：{entries}",
        "reads_sinks": "注意力只读汇点和窗口内的 KV（位置 < {s}，或 ≥ {rule}={cut}）：{entries}",
        "reads_full": "全注意力读取到目前为止的全部 {n} 个 KV：{entries}",
        "held_unread": "{entries} 存在 Cache 里却不会再被读取：本步之前存了 {n} 个条目，而 W = {w} 个槽的"
                       "环形缓存就够了（{policy} 策略推迟了丢弃）",
        "attend_one": "{q} 关注 [{keys}]",
        "attend_prefill": "进行 Self-Attention：{pairs}",
        "weights": "{q} 与 [{ks}] 点积、softmax 得到权重 [{ws}]{mean}，对 [{vs}] 加权求和，得到 {out}",
        "mean_heads": "（{h} 个头的平均）",
        "store_all": "将 {kvs} 存入第 {l} 层的 Cache",
        "store_ring": "Cache 只写入 {kvs}：W = {w} 个槽的环形缓存只保留最后 {w} 个位置；{skipped} 的 KV "
                      "已参与本步计算，但不保存",
        "store_sink": "Cache 只写入 {kvs}：汇点（位置 < {s}）常驻，其余 {r} 个槽轮转；{skipped} 的 KV "
                      "已参与本步计算，但不保存",
        "append": "将新计算的 {kv} 追加到第 {l} 层的 Cache",
        "ring_write": "把 {kv} 写入槽 {slot}（= {pos} mod {w}）",
        "sink_write": "把 {kv} 写入槽 {slot}（= {s} + ({pos} − {s}) mod {r}）",
        "evict_seed": "丢弃位置小于 {rule}={cut} 的 KV：{ev}",
        "evict_ring": "覆盖并丢弃 {ev}",
        "no_evict": "没有丢弃任何 KV",
        "mask_only": "注意：mask-only 只在注意力里滑动，Cache 仍保存全部 {n} 个位置，显存继续增长",
        "full_keep": "全注意力层保留全部 KV（{n} 个）",
        "held": "此时 Cache 中有：{entries}",
        "ffn_relu": "对每个位置应用 FFN(x) = max(0, xW₁ + b₁)W₂ + b₂（加残差与归一化），得到 [{hs}]",
        "ffn_swiglu": "对每个位置应用 SwiGLU FFN（加残差与归一化），得到 [{hs}]",
        "ssm": "SSM 层不存 KV：把输入并入固定大小的状态 h_t = A·h_(t-1) + B·x_t（连同卷积窗口共 {n} 个数，"
               "永不增长），得到 [{hs}]",
        "lm_head": "取最后一个 token {tok} 的最终隐藏状态 {h}，经 LM Head 得到概率分布，贪心选出 {nxt}（p = {p}）",
    },
    "en": {
        "list_sep": ", ", "none": "none",
        "prefill": "Prefill", "decode": "Decode: the input is {tok}, the token generated last",
        "layer": "Layer {l} ({kind})", "sliding_attention": "sliding window W={w}",
        "sliding_sinks": "sliding window W={w}, {s} of them sinks",
        "full_attention": "full attention", "mamba": "SSM state",
        "recv_embed": "Receives the embeddings of [{toks}]",
        "recv_prev": "Receives layer {p}'s outputs [{hs}]",
        "compute": "Computes {what}",
        "holds": "Before this step, layer {l}'s cache holds: {entries}",
        "reads_window": "Attention reads only the window (positions ≥ {rule}={cut}): {entries}",
        "reads_sinks": "Attention reads only the sinks and the window (positions < {s}, or ≥ "
                       "{rule}={cut}): {entries}",
        "reads_full": "Full attention reads all {n} KV so far: {entries}",
        "held_unread": "{entries} are held but never read again: {n} entries held before this step, where "
                       "a ring of W = {w} slots suffices (the {policy} policy evicts late)",
        "attend_one": "{q} attends [{keys}]",
        "attend_prefill": "Self-attention: {pairs}",
        "weights": "{q} · [{ks}], softmax gives weights [{ws}]{mean}; the weighted sum of [{vs}] is {out}",
        "mean_heads": " (the mean of {h} heads)",
        "store_all": "Stores {kvs} in layer {l}'s cache",
        "store_ring": "The cache stores only {kvs}: a ring of W = {w} slots keeps the last {w} positions; "
                      "the KV of {skipped} took part in this step but is not stored",
        "store_sink": "The cache stores only {kvs}: the sinks (positions < {s}) stay and {r} slots "
                      "rotate; the KV of {skipped} took part in this step but is not stored",
        "append": "Appends the new {kv} to layer {l}'s cache",
        "ring_write": "Writes {kv} to slot {slot} (= {pos} mod {w})",
        "sink_write": "Writes {kv} to slot {slot} (= {s} + ({pos} − {s}) mod {r})",
        "evict_seed": "Drops every KV at a position below {rule}={cut}: {ev}",
        "evict_ring": "Overwrites and drops {ev}",
        "no_evict": "Nothing is evicted",
        "mask_only": "Note: mask-only slides the attention but the cache still holds all {n} positions; "
                     "memory keeps growing",
        "full_keep": "A full-attention layer keeps every KV ({n} so far)",
        "held": "The cache now holds: {entries}",
        "ffn_relu": "FFN at every position, FFN(x) = max(0, xW₁ + b₁)W₂ + b₂ (with residual and norm), "
                    "gives [{hs}]",
        "ffn_swiglu": "SwiGLU FFN at every position (with residual and norm) gives [{hs}]",
        "ssm": "An SSM layer stores no KV: it folds the input into a fixed-size state "
               "h_t = A·h_(t-1) + B·x_t ({n} numbers with its conv window, never growing), giving [{hs}]",
        "lm_head": "The final hidden state {h} of the last token {tok} goes through the LM head; "
                   "greedy choice: {nxt} (p = {p})",
    },
}


def phrase(lang: str, key: str, **fields) -> str:
    """The narration sentence `key` in `lang`, formatted with `fields`."""
    assert lang in LANGS, f"lang must be one of {LANGS}, got {lang!r}"
    text = PHRASES[lang][key]
    return text.format(**fields) if fields else text


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
    w, s = trace.config["sliding_window"], _sinks(trace, lt)
    kind = phrase(lang, "sliding_sinks", w=w, s=s) if s else phrase(lang, lt.kind, w=w)
    return phrase(lang, "layer", l=lt.layer, kind=kind)


def _sinks(trace: Trace, lt: LayerTrace) -> int:
    return int(trace.config.get("sinks") or 0) if lt.policy == "sink" else 0


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
    w, s = trace.config["sliding_window"], _sinks(trace, lt)
    held = sorted(e.pos for e in lt.cache_before)
    read = sorted({p for keys in lt.attended for p in keys})
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
                            n=len(held), w=w, policy=lt.policy))
    return lines


def _cache_lines(trace: Trace, lt: LayerTrace, step: StepTrace, label_at: dict, lang: str) -> list[str]:
    l = lt.layer
    w, s = trace.config["sliding_window"], _sinks(trace, lt)
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
