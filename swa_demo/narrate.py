"""Seed-style narration (zh / en) generated from trace records, never scripted.

Symbols follow the seed: `K₁ᴰ` is layer 1's key of token D, `H₂ᶜ` layer 2's hidden state of C.
"""

from __future__ import annotations

from .trace import LayerTrace, StepTrace, Trace, ssm_numbers

SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
SUP = dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "ᴬᴮᶜᴰᴱᶠᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᑫᴿˢᵀᵁⱽᵂˣʸᶻ"))
LANGS = ("zh", "en")


def sym(name: str, layer: int, token: str) -> str:
    """sym('K', 1, 'D') -> 'K₁ᴰ'."""
    return f"{name}{str(layer).translate(SUB)}{SUP.get(token, token)}"


def kv(layer: int, token: str) -> str:
    return f"({sym('K', layer, token)}, {sym('V', layer, token)})"


def _join(items: list[str], lang: str) -> str:
    return ("、" if lang == "zh" else ", ").join(items) if items else ("无" if lang == "zh" else "none")


T = {
    "zh": {
        "prefill": "prefill 阶段", "decode": "decode 阶段：输入上一步生成的 token {tok}",
        "layer": "Layer {l}（{kind}）", "sliding_attention": "滑动窗口 W={w}",
        "full_attention": "全注意力", "mamba": "SSM 状态层",
        "recv_embed": "接收 [{toks}] 的嵌入向量",
        "recv_prev": "接收 Layer {p} 的输出 [{hs}] 作为输入",
        "compute": "计算 {what}",
        "read": "从 Layer {l} 的 Cache 中读取：{entries}",
        "attend_one": "{q} 关注 [{keys}]",
        "attend_prefill": "进行 Self-Attention：{pairs}",
        "weights": "{q} 与 [{ks}] 点积、softmax 得到权重 [{ws}]{mean}，对 [{vs}] 加权求和，得到 {out}",
        "mean_heads": "（{h} 个头的平均）",
        "store_all": "将 {kvs} 存入 Layer {l} 的 Cache",
        "store_some": "Cache 只写入 {kvs}；{skipped} 的 KV 已参与本步计算，但环形缓存只有 W={w} 个槽，不再保存",
        "append": "将新计算的 {kv} 追加到 Layer {l} 的 Cache",
        "ring_write": "把 {kv} 写入槽 {slot}（= {pos} mod {w}）",
        "evict_seed": "丢弃位置小于 {q}-{w}+1={cut} 的 KV：{ev}",
        "evict_ring": "覆盖并丢弃 {ev}",
        "no_evict": "没有丢弃任何 KV",
        "mask_only": "注意：mask-only 只在注意力里滑动，Cache 仍保存全部 {n} 个位置，显存继续增长",
        "full_keep": "全注意力层保留全部 KV（{n} 个）",
        "held": "此时 Cache 中有：{entries}",
        "ffn_relu": "对每个位置应用 FFN(x) = max(0, xW₁ + b₁)W₂ + b₂（加残差与归一化），得到 [{hs}]",
        "ffn_swiglu": "对每个位置应用 SwiGLU FFN（加残差与归一化），得到 [{hs}]",
        "ssm": "SSM 层不存 KV：把输入并入固定大小的状态 h_t = A·h_(t-1) + B·x_t（连同卷积窗口共 {n} 个数，永不增长），得到 [{hs}]",
        "lm_head": "取最后一个 token {tok} 的最终隐藏状态 {h}，经 LM Head 得到概率分布，贪心选出 {nxt}（p = {p}）",
    },
    "en": {
        "prefill": "Prefill", "decode": "Decode: the input is {tok}, the token generated last",
        "layer": "Layer {l} ({kind})", "sliding_attention": "sliding window W={w}",
        "full_attention": "full attention", "mamba": "SSM state",
        "recv_embed": "Receives the embeddings of [{toks}]",
        "recv_prev": "Receives layer {p}'s outputs [{hs}]",
        "compute": "Computes {what}",
        "read": "Reads from layer {l}'s cache: {entries}",
        "attend_one": "{q} attends [{keys}]",
        "attend_prefill": "Self-attention: {pairs}",
        "weights": "{q} · [{ks}], softmax gives weights [{ws}]{mean}; the weighted sum of [{vs}] is {out}",
        "mean_heads": " (the mean of {h} heads)",
        "store_all": "Stores {kvs} in layer {l}'s cache",
        "store_some": "The cache keeps only {kvs}; the KV of {skipped} took part in this step, but the "
                      "ring has W={w} slots and does not keep it",
        "append": "Appends the new {kv} to layer {l}'s cache",
        "ring_write": "Writes {kv} to slot {slot} (= {pos} mod {w})",
        "evict_seed": "Drops every KV at a position below {q}-{w}+1={cut}: {ev}",
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


def step_title(step: StepTrace, lang: str) -> str:
    t = T[lang]
    return t["prefill"] if step.phase == "prefill" else t["decode"].format(tok=step.tokens[0])


def layer_lines(trace: Trace, step: StepTrace, lt: LayerTrace, lang: str) -> list[str]:
    """The narration of one layer of one step, as a list of sentences."""
    t = T[lang]
    w = trace.config["sliding_window"]
    ffn = trace.config.get("ffn", "relu")
    l, toks = lt.layer, step.tokens
    label_at = dict(zip(step.positions, toks))
    for e in lt.cache_before + lt.cache_after:
        label_at.setdefault(e.pos, e.token)
    hs = ", ".join(sym("H", l, x) for x in toks)
    lines = [t["recv_embed"].format(toks=", ".join(toks)) if l == 1 else
             t["recv_prev"].format(p=l - 1, hs=", ".join(sym("H", l - 1, x) for x in toks))]
    if lt.kind == "mamba":
        return lines + [t["ssm"].format(n=ssm_numbers(trace.config), hs=hs)]
    what = ", ".join(f"{sym('Q', l, x)} {sym('K', l, x)} {sym('V', l, x)}" for x in toks)
    lines.append(t["compute"].format(what=what))
    if step.phase == "decode":
        lines.append(t["read"].format(l=l, entries=_join(
            [kv(l, e.token) for e in sorted(lt.cache_before, key=lambda e: e.pos)], lang)))
    pairs = [t["attend_one"].format(q=x, keys=", ".join(label_at[p] for p in keys))
             for x, keys in zip(toks, lt.attended)]
    lines.append(t["attend_prefill"].format(pairs="; ".join(pairs)) if step.phase == "prefill"
                  else pairs[0])
    if step.phase == "decode" and lt.attn_weights:
        keys = [label_at[p] for p in lt.attended[0]]
        ws = [sum(h[0][j] for h in lt.attn_weights) / len(lt.attn_weights) for j in range(len(keys))]
        x = toks[0]
        lines.append(t["weights"].format(q=sym("Q", l, x), ks=", ".join(sym("K", l, k) for k in keys),
                                         ws=", ".join(f"{v:.2f}" for v in ws),
                                         mean=t["mean_heads"].format(h=len(lt.attn_weights))
                                         if len(lt.attn_weights) > 1 else "",
                                         vs=", ".join(sym("V", l, k) for k in keys),
                                         out=f"Attn_OUT{sym('', l, x)}"))
    lines += _cache_lines(lt, step, label_at, w, lang)
    lines.append(t["ffn_relu" if ffn == "relu" else "ffn_swiglu"].format(hs=hs))
    return lines


def _cache_lines(lt: LayerTrace, step: StepTrace, label_at: dict, w: int, lang: str) -> list[str]:
    t = T[lang]
    l = lt.layer
    written = [label_at[p] for p in lt.written]
    evicted = [kv(l, label_at[p]) for p in lt.evicted]
    skipped = [x for p, x in zip(step.positions, step.tokens) if p not in lt.written]
    out = []
    if step.phase == "prefill":
        out.append(t["store_all"].format(kvs=", ".join(kv(l, x) for x in written), l=l))
        if skipped:
            out[-1] = t["store_some"].format(kvs=", ".join(kv(l, x) for x in written),
                                             skipped=", ".join(skipped), w=w)
    elif lt.policy in ("ring", "sink") and lt.written:
        slot = next(e.slot for e in lt.cache_after if e.pos == lt.written[0])
        out.append(t["ring_write"].format(kv=kv(l, written[0]), slot=slot, pos=lt.written[0], w=w))
    elif lt.written:
        out.append(t["append"].format(kv=kv(l, written[0]), l=l))
    if evicted:
        if lt.policy == "seed":
            q = step.positions[-1]
            out.append(t["evict_seed"].format(q=q, w=w, cut=q - w + 1, ev=_join(evicted, lang)))
        else:
            out.append(t["evict_ring"].format(ev=_join(evicted, lang)))
    elif step.phase == "decode" and lt.policy == "mask-only":
        out.append(t["mask_only"].format(n=len(lt.cache_after)))
    elif step.phase == "decode" and lt.policy == "full":
        out.append(t["full_keep"].format(n=len(lt.cache_after)))
    elif step.phase == "decode":
        out.append(t["no_evict"])
    held = [kv(l, e.token) for e in sorted(lt.cache_after, key=lambda e: e.pos)]
    out.append(t["held"].format(entries=_join(held, lang)))
    return out


def lm_head_line(trace: Trace, step: StepTrace, lang: str) -> str:
    last_layer = len(step.layers)
    tok = step.tokens[-1]
    nt = step.next_token
    return T[lang]["lm_head"].format(tok=tok, h=sym("H", last_layer, tok), nxt=nt.token,
                                     p=f"{nt.prob:.4f}")


def narrate(trace: Trace, lang: str = "zh") -> str:
    """The whole run as text, one block per step and layer, in the seed's order."""
    assert lang in LANGS, f"lang must be one of {LANGS}, got {lang!r}"
    t = T[lang]
    w = trace.config["sliding_window"]
    out = []
    for step in trace.steps:
        head = step_title(step, lang)
        if step.phase == "prefill":
            head += f"  [{', '.join(step.tokens)}]"
        out.append(f"### {head}")
        for lt in step.layers:
            kind = t[lt.kind].format(w=w)
            out.append(f"{t['layer'].format(l=lt.layer, kind=kind)}:")
            out += [f"- {line}" for line in layer_lines(trace, step, lt, lang)]
        out.append(f"=> {lm_head_line(trace, step, lang)}")
        out.append("")
    return "\n".join(out)


# Where the seed text (seeds/000_*.txt) and the computed semantics disagree. The engine, the CLI and
# the trace follow the semantics; the README and the classroom's notes panel list these.
SEED_NOTES = [
    {
        "zh": "种子文本的 Layer 3 decode 写“Q₃ᴰ 与 [K₃ᴬ, K₃ᴮ, K₃ᶜ, K₃ᴰ] 计算”：那是全注意力。W=2 时 D 只关注 "
              "[K₃ᶜ, K₃ᴰ]，与 Layer 1、2 相同；本项目按窗口语义计算。",
        "en": "The seed's layer-3 decode has Q₃ᴰ attend [K₃ᴬ, K₃ᴮ, K₃ᶜ, K₃ᴰ]: that is full attention. With "
              "W=2, D attends only [K₃ᶜ, K₃ᴰ], as in layers 1 and 2; the engine follows the window.",
    },
    {
        "zh": "种子文本的 Layer 3 decode 只“计算 Q₃ᴰ”，随后却把 (K₃ᴰ, V₃ᴰ) 追加进 Cache：每一层都要为新 token "
              "计算 Q、K、V 三者。",
        "en": "The seed's layer-3 decode computes only Q₃ᴰ, yet then appends (K₃ᴰ, V₃ᴰ) to the cache: "
              "every layer computes Q, K and V for the new token.",
    },
    {
        "zh": "种子文本在 decode 时“读取所有历史 KV (A, B, C)”，再丢弃 A、B。prefill 结束时，之后的查询 "
              "(D 及以后) 已用不到 A、B（3-2+1=2），所以 ring 策略在 prefill 时就不保存 A；seed 策略照原文延后丢弃。",
        "en": "In decode the seed 'reads all history (A, B, C)' and only then drops A and B. Once prefill "
              "ends no later query (D onwards) can use A or B (3-2+1=2), so the ring policy never stores A; "
              "the seed policy keeps the text's late eviction.",
    },
    {
        "zh": "种子文本说“采样”得到 D；本项目用贪心（取概率最大的 token），结果可复现。",
        "en": "The seed 'samples' D; the engine decodes greedily (the most likely token), so runs repeat.",
    },
    {
        "zh": "种子文本的 FFN 公式 FFN(x) = max(0, xW₁ + b₁)W₂ + b₂ 省略了残差连接和归一化；本模型每个子层都有"
              "（pre-norm），Layer 3 的 prefill 也同样经过 FFN。",
        "en": "The seed's FFN(x) = max(0, xW₁ + b₁)W₂ + b₂ leaves out residual connections and "
              "normalization; the model has both (pre-norm), and layer 3's prefill goes through its FFN too.",
    },
]
