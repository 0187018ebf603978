"""Every generated sentence, zh / en: the narration of a trace (`narrate`) and the seed 004 comparison
table the cost model fills in (`costs_text`). One table per language, one lookup, `phrase`. The page's
own labels live in `swa_demo.ui.i18n`. No imports: the cost command reads these without torch.
"""

from __future__ import annotations

LANGS = ("zh", "en")

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
                       "环形缓存就够了（{why}）",
        "why_seed": "seed 策略推迟了丢弃", "why_mask-only": "mask-only 策略从不丢弃，只靠掩码不读",
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
        # seed 004's comparison table (costs_text.comparison_rows)
        "cmp_head_0": "特性",
        "cmp_head_1": "标准 Full Attention",
        "cmp_head_2": "Sparse / SWA（如 Mistral）",
        "cmp_head_3": "Hybrid SSM（如 Jamba）",
        "cmp_shape": "形状（{n} 上下文）",
        "cmp_flops": "FLOPs（预填充 / 每 token 推理）",
        "cmp_kv": "KV Cache 显存",
        "cmp_recall": "信息回顾能力",
        "cmp_approach": "解决方式",
        "cmp_flops_cell": "{o}：预填充 {pre}；推理 {dec}/token（其中注意力 {att}）",
        "cmp_kv_full": "O(N)，线性增长：{kv}",
        "cmp_kv_swa": "O(W)，固定（环形缓冲 {w} 个位置）：{kv}",
        "cmp_kv_hybrid": "O(1) + 1/{k}·O(N)：{kv} KV（{a}/{l} 层注意力）+ {st} SSM 状态",
        "cmp_recall_full": "完美（全局）：每层都能看到全部 {n} 个 token",
        "cmp_recall_swa": "局部 + 逐层隐式传递：每层 {w} 个，{l} 层后最远 {reach} 个 token",
        "cmp_recall_hybrid": "压缩状态（SSM，{m} 层）+ 稀疏的完美回顾（{a} 层注意力）",
        "cmp_approach_full": "无（基线）",
        "cmp_approach_swa": "截断 / 稀疏化：只存最近的",
        "cmp_approach_hybrid": "压缩 / 混合：压缩历史 + 偶尔回顾",
        "cmp_note": "数字由 swa_demo/costs.py 按真实配置解析计算（bf16，每条序列），其公式已用引擎在 CPU 上的实际缓存字节数和 FlopCounterMode 计数逐项核对。",
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
                       "a ring of W = {w} slots suffices ({why})",
        "why_seed": "the seed policy evicts late", "why_mask-only": "the mask-only policy never evicts; "
                                                                     "the mask alone keeps them unread",
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
        # seed 004's comparison table (costs_text.comparison_rows)
        "cmp_head_0": "property",
        "cmp_head_1": "standard full attention",
        "cmp_head_2": "sparse / SWA (e.g. Mistral)",
        "cmp_head_3": "hybrid SSM (e.g. Jamba)",
        "cmp_shape": "shape ({n} context)",
        "cmp_flops": "FLOPs (prefill / per decoded token)",
        "cmp_kv": "KV cache memory",
        "cmp_recall": "recall",
        "cmp_approach": "approach",
        "cmp_flops_cell": "{o}: prefill {pre}; decode {dec}/token (attention {att})",
        "cmp_kv_full": "O(N), grows linearly: {kv}",
        "cmp_kv_swa": "O(W), fixed (a ring of {w} positions): {kv}",
        "cmp_kv_hybrid": "O(1) + 1/{k}·O(N): {kv} of KV ({a}/{l} attention layers) + {st} of SSM state",
        "cmp_recall_full": "perfect (global): every layer sees all {n} tokens",
        "cmp_recall_swa": "local + passed on layer by layer: {w} per layer, at most {reach} tokens back after {l} layers",
        "cmp_recall_hybrid": "compressed state (SSM, {m} layers) + sparse exact recall ({a} attention layers)",
        "cmp_approach_full": "none (the baseline)",
        "cmp_approach_swa": "truncate / sparsify: keep only the recent",
        "cmp_approach_hybrid": "compress / mix: compressed history + an occasional look back",
        "cmp_note": "Figures from swa_demo/costs.py at the real configs (bf16, per sequence); its formulas are checked against the engine's allocated cache bytes and FlopCounterMode counts on the CPU.",
    },
}


def phrase(lang: str, key: str, **fields) -> str:
    """The narration sentence `key` in `lang`, formatted with `fields`."""
    assert lang in LANGS, f"lang must be one of {LANGS}, got {lang!r}"
    text = PHRASES[lang][key]
    return text.format(**fields) if fields else text
