"""The classroom page's own strings, Chinese first. The narration itself comes from `swa_demo.narrate`.

Chinese uses the seed's terms as the seed writes them: Cache, prefill, decode, token, 层, 窗口.
"""

from __future__ import annotations

LANGS = ("zh", "en")
LANG_NAMES = {"zh": "中文", "en": "English"}

# Cell and timeline states, in the order the legend lists them.
STATES = ("written", "kept", "read", "evicted", "unstored")

STRINGS: dict[str, dict[str, str]] = {
    "zh": {
        "title": "滑动窗口注意力（SWA）如何管理 KV Cache",
        "intro": "一个在字母表上训练的 {layers} 层小模型，收到提示词 {prompt}，真的逐个生成 {gen}。"
                 "窗口 W = {w}，Cache 策略 {policy}。一步 = 一次前向计算中的一层：逐步查看注意力掩码、"
                 "Cache 的写入、读取与丢弃。",
        # sidebar
        "settings": "设置",
        "lang": "语言 / Language",
        "prompt": "提示词（字母 A–Z）",
        "prompt_help": "例如 ABC、A B C 或 a,b,c",
        "new": "生成的 token 数",
        "window": "窗口 W（含查询自身）",
        "layers": "层数",
        "policy": "Cache 策略",
        "sinks": "注意力汇点数 S",
        "sinks_help": "前 S 个位置永久保留，其余 W − S 个槽位轮转（StreamingLLM）",
        "chunk": "Prefill 分块大小（可选）",
        "chunk_help": "把提示词按这么多个 token 一块、分几次 prefill；每块的掩码右下对齐，能看到之前块的 KV",
        "chunk_placeholder": "不分块",
        "reset": "重置为种子示例",
        "reset_help": "A B C → D E F，W = 2，3 层，seed 策略，回到第 1 步",
        "policy_seed": "照种子文本：prefill 存下全部 KV，decode 时才丢弃窗口外的 KV",
        "policy_ring": "环形缓冲（Mistral）：恰好 W 个槽，槽号 = 位置 mod W，新 KV 覆盖最旧的",
        "policy_sink": "注意力汇点（StreamingLLM）：前 S 个位置永久保留，其余 W − S 个槽轮转",
        "policy_mask-only": "常见错误：注意力只看窗口，但 Cache 什么都不丢，显存一直增长",
        # errors
        "fix": "请修改左侧设置：",
        "err_prompt_empty": "提示词为空：请输入至少 1 个字母，例如 ABC。",
        "err_prompt_bad": "提示词只能包含字母 A–Z（可用空格或逗号分隔）；“{c}”不是字母，"
                          "请删掉或改成字母，例如 ABC。",
        "err_prompt_long": "提示词有 {n} 个字母，最多只能有 {max} 个。",
        "err_new": "生成的 token 数应在 1 到 {max} 之间（当前为 {v}）。",
        "err_window": "窗口 W 应在 1 到 {max} 之间（当前为 {v}）。",
        "err_layers": "层数应在 1 到 {max} 之间（当前为 {v}）。",
        "err_policy": "未知的 Cache 策略 {v}；可选 {opts}。",
        "err_sinks": "注意力汇点数 S 必须满足 0 < S < W（W = {w}，当前 S = {v}）。",
        "err_chunk": "Prefill 分块大小至少为 1（当前为 {v}）；留空表示不分块。",
        "err_weights": "模型权重无法加载：",
        "err_param": "链接参数 {name}={value!r} 无效：{why}",
        "why_int": "应为整数",
        "why_lang": "应为 zh 或 en",
        "why_policy": "应为 {opts} 之一",
        "why_step": "应在 1 到 {n} 之间，已改为显示第 {shown} 步",
        "err_internal": "页面出错（{kind}）：{msg}。请点击“重置”后重试。",
        # stepper
        "first": "第一步",
        "prev": "上一步",
        "next": "下一步",
        "last": "最后一步",
        "step": "步骤",
        "step_of": "第 {i} / {n} 步",
        "layer_n": "第 {l} 层",
        "prefill": "Prefill",
        "prefill_chunk": "Prefill {i}/{n}",
        "decode": "Decode {tok}",
        "tokens": "token 与位置（高亮：本步输入的 token；竖线左边是提示词，右边是生成的 token）",
        # panels
        "mask": "注意力掩码",
        "mask_help": "行：查询（本步输入的 token），列：key 的位置。一个查询 q 可以关注 key k 当且仅当 "
                     "k ≤ q 且 q − k < W。",
        "cache": "Cache 槽位（第 {l} 层）",
        "physical": "物理槽位顺序（slot = 位置 mod W）",
        "physical_sink": "物理槽位顺序（前 {s} 个为汇点，其余 slot = {s} + (位置 − {s}) mod {r}）",
        "logical": "逻辑顺序（按位置排列，即“解除旋转”后注意力看到的顺序）",
        "arrival": "Cache（按写入顺序；此策略下物理顺序就是位置顺序）",
        "empty_slot": "空",
        "slot": "槽 {s}",
        "pos": "位置 {p}",
        "sink_badge": "汇点",
        "weights": "注意力权重",
        "weights_help": "每个查询对其窗口内各 key 的 softmax 权重（每个注意力头一张）",
        "head": "头 {h}",
        "probs": "下一个 token 的概率（LM Head，第 {l} 层之后）",
        "probs_chunk": "这是分块 prefill 的中间一块：提示词还没读完，这个预测不会被使用。",
        "probs_wait": "下一个 token 的概率在本次前向计算的最后一层（第 {l} 层）之后给出。",
        "narration": "讲解",
        "timeline": "Cache 时间线（每层）",
        "timeline_help": "整个运行一张图。横轴：每次前向计算；纵轴：token 位置。颜色表示该位置的 KV 在这一层 "
                         "Cache 中的状态，黑点表示被那次计算的查询读取，✕ 表示在那次计算中被丢弃。",
        "sizes": "每层 Cache 大小",
        "storage": "此刻每层 Cache 占用的存储",
        "storage_help": "每个条目 {b} 字节（K 与 V，float32）。"
                        "注意力在滑动，但 mask-only 的 Cache 随序列增长。",
        "storage_total": "全部 {n} 层合计：{policy} {a}，mask-only {b}",
        "notes": "种子文本与计算结果不一致之处",
        "share": "分享与导出",
        "link": "本步骤的链接（复制后发给学生，打开即恢复这些设置与步骤）：",
        "download_json": "下载 trace（JSON）",
        "png_hint": "每张图右上角的相机按钮可直接下载 PNG（在浏览器中生成）。",
        "png_make": "在服务器上生成本步骤所有图的 PNG（需要 Chromium，约几秒）",
        "png_download": "下载 PNG（zip）",
        "png_failed": "服务器端无法生成 PNG（{why}）。请使用每张图右上角的相机按钮。",
        "ssm_note": "SSM 层不存 KV，只有固定大小的状态。",
        # legend / states
        "written": "新写入",
        "kept": "保留",
        "read": "本次读取",
        "evicted": "丢弃",
        "unstored": "已计算、未存入",
        "allowed": "窗口内 ✓",
        "outside": "窗口外 –",
        "future": "未来位置",
        # figure legends: short, so they stay on one line in a narrow column
        "lg_written": "新写入", "lg_kept": "保留", "lg_read": "读取", "lg_evicted": "丢弃",
        "lg_unstored": "未存入",
        "query": "查询",
        "key": "key 位置",
        "position": "位置",
        "forward": "前向计算",
        "entries": "条目数",
        "bytes": "字节",
        "seen": "mask-only（已见过的全部位置）",
        "layer_line": "第 {l} 层（{policy}）",
        # extra tabs
        "tab_classroom": "课堂演示 / Classroom",
        "tab_receptive": "感受野 / Receptive field",
        "tab_costs": "上下文的代价 / Cost of context",
        "tab_fullscale": "全尺寸 (GPU) / Full scale (GPU)",
        "not_in_build": "此版本未包含该视图（{module}）。",
    },
    "en": {
        "title": "How sliding window attention (SWA) manages the KV cache",
        "intro": "A {layers}-layer model trained on the alphabet gets the prompt {prompt} and really "
                 "generates {gen}, one token at a time. Window W = {w}, cache policy {policy}. A step is "
                 "one layer of one forward pass: step through the attention masks and what each layer's "
                 "cache writes, reads and evicts.",
        "settings": "Settings",
        "lang": "语言 / Language",
        "prompt": "Prompt (letters A–Z)",
        "prompt_help": "e.g. ABC, A B C or a,b,c",
        "new": "Tokens to generate",
        "window": "Window W (counts the query itself)",
        "layers": "Layers",
        "policy": "Cache policy",
        "sinks": "Attention sinks S",
        "sinks_help": "The first S positions are kept forever; the other W − S slots rotate (StreamingLLM)",
        "chunk": "Prefill chunk (optional)",
        "chunk_help": "Prefill the prompt this many tokens at a time; each chunk's mask is bottom-right "
                      "aligned and sees the KV of earlier chunks",
        "chunk_placeholder": "none",
        "reset": "Reset to the seed walkthrough",
        "reset_help": "A B C → D E F, W = 2, 3 layers, policy seed, back to step 1",
        "policy_seed": "As the seed text: prefill stores every KV; decode drops what left the window",
        "policy_ring": "Rolling buffer (Mistral): exactly W slots, slot = position mod W; a new KV "
                       "overwrites the oldest",
        "policy_sink": "Attention sinks (StreamingLLM): the first S positions stay, the other W − S "
                       "slots rotate",
        "policy_mask-only": "The common mistake: attention sees only the window, but the cache drops "
                            "nothing and memory keeps growing",
        "fix": "Please change the settings on the left:",
        "err_prompt_empty": "The prompt is empty: type at least one letter, e.g. ABC.",
        "err_prompt_bad": "The prompt may hold only the letters A–Z (spaces or commas between them are "
                          "fine); '{c}' is not one: remove it or change it to a letter, e.g. ABC.",
        "err_prompt_long": "The prompt has {n} letters; use at most {max}.",
        "err_new": "Tokens to generate must be between 1 and {max} (now {v}).",
        "err_window": "The window W must be between 1 and {max} (now {v}).",
        "err_layers": "Layers must be between 1 and {max} (now {v}).",
        "err_policy": "Unknown cache policy {v}; use one of {opts}.",
        "err_sinks": "Attention sinks S must satisfy 0 < S < W (W = {w}, now S = {v}).",
        "err_chunk": "The prefill chunk must be at least 1 token (now {v}); leave it empty for none.",
        "err_weights": "The model weights could not be loaded:",
        "err_param": "Link parameter {name}={value!r} is invalid: {why}",
        "why_int": "it must be an integer",
        "why_lang": "it must be zh or en",
        "why_policy": "it must be one of {opts}",
        "why_step": "it must be between 1 and {n}; showing step {shown}",
        "err_internal": "The page hit an error ({kind}): {msg}. Press Reset and try again.",
        "first": "First",
        "prev": "Previous",
        "next": "Next",
        "last": "Last",
        "step": "Step",
        "step_of": "step {i} of {n}",
        "layer_n": "Layer {l}",
        "prefill": "Prefill",
        "prefill_chunk": "Prefill {i}/{n}",
        "decode": "Decode {tok}",
        "tokens": "Tokens and positions (highlighted: this step's input; prompt left of the bar, "
                  "generated tokens right of it)",
        "mask": "Attention mask",
        "mask_help": "Rows: queries (this step's tokens); columns: key positions. Query q may attend key k "
                     "iff k ≤ q and q − k < W.",
        "cache": "Cache slots (layer {l})",
        "physical": "Physical slot order (slot = position mod W)",
        "physical_sink": "Physical slot order (first {s} are sinks; slot = {s} + (position − {s}) mod {r})",
        "logical": "Logical order (by position: the 'unrotated' order attention sees)",
        "arrival": "Cache (in write order; for this policy the physical order is the position order)",
        "empty_slot": "empty",
        "slot": "slot {s}",
        "pos": "pos {p}",
        "sink_badge": "sink",
        "weights": "Attention weights",
        "weights_help": "Each query's softmax weights over the keys in its window (one panel per head)",
        "head": "head {h}",
        "probs": "Next-token probabilities (LM head, after layer {l})",
        "probs_chunk": "This is a middle chunk of a chunked prefill: the prompt is not finished, so this "
                       "prediction is not used.",
        "probs_wait": "The next-token probabilities come after the last layer (layer {l}) of this pass.",
        "narration": "Narration",
        "timeline": "Cache timeline per layer",
        "timeline_help": "The whole run in one picture. Across: each forward pass; down: token positions. "
                         "The colour is the state of that position's KV in this layer's cache; a black dot "
                         "means that pass's queries read it, ✕ that the pass evicted it.",
        "sizes": "Cache size per layer",
        "storage": "Storage each layer's cache holds now",
        "storage_help": "{b} bytes per entry (K and V, float32). Attention slides, but a mask-only cache "
                        "grows with the sequence.",
        "storage_total": "All {n} layers: {policy} {a}, mask-only {b}",
        "notes": "Where the seed text and the computed semantics differ",
        "share": "Share and export",
        "link": "Link to this step (hand it out: opening it restores these settings and this step):",
        "download_json": "Download the trace (JSON)",
        "png_hint": "The camera button at the top right of each figure downloads a PNG "
                    "(made in the browser).",
        "png_make": "Make PNGs of this step's figures on the server (needs Chromium, a few seconds)",
        "png_download": "Download the PNGs (zip)",
        "png_failed": "The server cannot make PNGs ({why}). Use the camera button on each figure instead.",
        "ssm_note": "An SSM layer stores no KV, only a fixed-size state.",
        "written": "newly written",
        "kept": "kept",
        "read": "read by this query",
        "evicted": "evicted",
        "unstored": "computed, not stored",
        "allowed": "in the window ✓",
        "outside": "outside it –",
        "future": "future",
        "lg_written": "written", "lg_kept": "kept", "lg_read": "read", "lg_evicted": "evicted",
        "lg_unstored": "not stored",
        "query": "query",
        "key": "key position",
        "position": "position",
        "forward": "forward pass",
        "entries": "entries",
        "bytes": "bytes",
        "seen": "mask-only (every position seen)",
        "layer_line": "layer {l} ({policy})",
        "tab_classroom": "课堂演示 / Classroom",
        "tab_receptive": "感受野 / Receptive field",
        "tab_costs": "上下文的代价 / Cost of context",
        "tab_fullscale": "全尺寸 (GPU) / Full scale (GPU)",
        "not_in_build": "This view is not available in this build ({module}).",
    },
}


def tr(lang: str, key: str, **fields) -> str:
    """The string `key` in `lang`, formatted with `fields`."""
    assert lang in LANGS, f"lang must be one of {LANGS}, got {lang!r}"
    text = STRINGS[lang][key]
    return text.format(**fields) if fields else text
