"""The seed walkthrough (A B C -> D E F, W = 2, 3 layers), computed by the engine, in its own words."""

import pytest

from swa_demo.narrate import layer_lines, narrate
from swa_demo.walkthrough import Settings, run

A, B, C, D, E = range(5)


@pytest.fixture(scope="module")
def seed_trace():
    return run(Settings(policy="seed"))


@pytest.fixture(scope="module")
def ring_trace():
    return run(Settings(policy="ring"))


def positions(entries):
    return sorted(e.pos for e in entries)


def test_the_tiny_model_generates_D_E_F_from_A_B_C(seed_trace, ring_trace):
    assert seed_trace.prompt == ["A", "B", "C"]
    assert seed_trace.generated == ["D", "E", "F"]
    assert ring_trace.generated == ["D", "E", "F"]
    assert all(s.next_token.prob > 0.9 for s in seed_trace.steps)


def test_prefill_A_sees_A_B_sees_A_B_C_sees_B_C_in_every_layer(seed_trace):
    prefill = seed_trace.steps[0]
    assert prefill.phase == "prefill" and prefill.tokens == ["A", "B", "C"]
    assert [lt.layer for lt in prefill.layers] == [1, 2, 3]
    for lt in prefill.layers:
        assert lt.attended == [[A], [A, B], [B, C]]


def test_each_seed_cache_holds_A_B_C_after_prefill(seed_trace):
    for lt in seed_trace.steps[0].layers:
        assert positions(lt.cache_after) == [A, B, C]
        assert lt.written == [A, B, C] and lt.evicted == []


def test_decode_D_reads_C_and_D_in_every_sliding_layer(seed_trace):
    decode_d = seed_trace.steps[1]
    assert decode_d.phase == "decode" and decode_d.tokens == ["D"] and decode_d.positions == [D]
    for lt in decode_d.layers:
        assert lt.attended == [[C, D]], f"layer {lt.layer}"


def test_decode_D_writes_D_and_evicts_A_and_B_in_every_layer(seed_trace):
    for lt in seed_trace.steps[1].layers:
        assert positions(lt.cache_before) == [A, B, C]  # the lazy policy still holds A and B
        assert lt.written == [D]
        assert lt.evicted == [A, B]  # positions < 3 - 2 + 1 = 2
        assert positions(lt.cache_after) == [C, D]


def test_layer_3_decode_follows_the_window_not_the_seed_text(seed_trace):
    # The seed's layer 3 attends A, B, C, D (full attention); with W = 2 it is C and D.
    assert seed_trace.steps[1].layers[2].attended == [[C, D]]


def test_decode_E_evicts_C(seed_trace):
    for lt in seed_trace.steps[2].layers:
        assert lt.attended == [[D, E]] and lt.evicted == [C]


def test_ring_never_holds_more_than_two_entries(ring_trace):
    for step in ring_trace.steps:
        for lt in step.layers:
            assert len(lt.cache_after) <= 2 and len(lt.cache_before) <= 2
    prefill = ring_trace.steps[0].layers[0]
    assert positions(prefill.cache_after) == [B, C]  # A was computed and used, never stored
    decode_d = ring_trace.steps[1].layers[0]
    assert decode_d.evicted == [B] and decode_d.attended == [[C, D]]
    slots = {e.pos: e.slot for e in decode_d.cache_after}
    assert slots == {C: C % 2, D: D % 2}  # slot = pos mod W


def test_mask_only_keeps_everything_while_attention_slides():
    trace = run(Settings(policy="mask-only"))
    last = trace.steps[-1].layers[0]
    assert last.attended == [[D, E]]
    assert positions(last.cache_after) == [A, B, C, D, E]
    assert trace.generated == ["D", "E", "F"]


@pytest.mark.parametrize("prompt,expected", [("KLM", "NOP"), ("XY", "ZAB"), ("D", "EFG")])
def test_other_consecutive_prompts_continue_the_alphabet(prompt, expected):
    assert "".join(run(Settings(prompt=prompt, policy="ring")).generated) == expected


@pytest.mark.parametrize("layers", range(1, 7))
@pytest.mark.parametrize("window", [1, 2, 5])
def test_every_shipped_layer_count_continues_A_B_C(layers, window):
    assert run(Settings(layers=layers, window=window, policy="ring")).generated == ["D", "E", "F"]


def test_chunked_prefill_makes_one_step_per_chunk():
    trace = run(Settings(prompt="ABCDE", chunk=2, policy="ring"))
    assert [s.phase for s in trace.steps[:3]] == ["prefill"] * 3
    assert [s.tokens for s in trace.steps[:3]] == [["A", "B"], ["C", "D"], ["E"]]
    assert trace.generated == ["F", "G", "H"]


def test_trace_json_has_the_documented_fields(seed_trace):
    data = seed_trace.to_dict()
    assert set(data) == {"config", "prompt", "generated", "steps"}
    step = data["steps"][1]
    assert {"phase", "tokens", "positions", "layers", "next_token"} <= set(step)
    layer = step["layers"][0]
    assert {"layer", "kind", "attended", "cache_before", "cache_after", "written", "evicted",
            "attn_weights"} <= set(layer)
    assert set(layer["cache_after"][0]) == {"slot", "pos", "token"}
    assert set(step["next_token"]) == {"token", "prob", "top_k"}
    weights = layer["attn_weights"][0][0]  # head 0, query D: weights on C and D
    assert len(weights) == 2 and abs(sum(weights) - 1) < 1e-3


@pytest.mark.parametrize("lang,words", [("zh", ["丢弃位置小于 3-2+1=2", "K₁[D]", "贪心选出 D"]),
                                        ("en", ["below 3-2+1=2", "K₁[D]", "greedy choice: D"])])
def test_narration_speaks_the_seed_style(seed_trace, lang, words):
    text = narrate(seed_trace, lang)
    for w in words:
        assert w in text
    assert "D attends [C, D]" in narrate(seed_trace, "en")


def test_chinese_narration_names_layers_as_the_page_does(seed_trace):
    text = narrate(seed_trace, "zh")
    assert "第 1 层（滑动窗口 W=2）" in text and "接收第 1 层的输出" in text
    assert "Layer" not in text


def _lines(trace, pass_index, layer, lang="en"):
    step = trace.steps[pass_index]
    return layer_lines(trace, step, step.layers[layer - 1], lang)


def test_decode_D_says_what_the_cache_holds_apart_from_what_attention_reads(seed_trace):
    """The seed policy still holds A and B going into Decode D, but attention reads only C and D: the
    narration says both, and what the late eviction costs (3 entries where a ring of 2 suffices)."""
    lines = _lines(seed_trace, 1, 1)
    assert "Before this step, layer 1's cache holds: (K₁[A], V₁[A]), (K₁[B], V₁[B]), (K₁[C], V₁[C])" in lines
    assert "Attention reads only the window (positions ≥ 3-2+1=2): (K₁[C], V₁[C]), (K₁[D], V₁[D])" in lines
    cost = next(x for x in lines if "never read again" in x)
    assert cost.startswith("A, B are held") and "3 entries held" in cost and "W = 2 slots" in cost
    assert "3 个条目" in " ".join(_lines(seed_trace, 1, 1, "zh"))


def test_decode_E_reads_D_and_E_though_the_cache_held_C(seed_trace):
    lines = _lines(seed_trace, 2, 1)
    assert "Before this step, layer 1's cache holds: (K₁[C], V₁[C]), (K₁[D], V₁[D])" in lines
    assert "Attention reads only the window (positions ≥ 4-2+1=3): (K₁[D], V₁[D]), (K₁[E], V₁[E])" in lines


def test_a_ring_holds_nothing_it_does_not_read(ring_trace):
    lines = _lines(ring_trace, 1, 1)
    assert not any("never read again" in x for x in lines)
    assert "Writes (K₁[D], V₁[D]) to slot 1 (= 3 mod 2)" in lines


def test_sink_writes_follow_the_sink_slot_rule():
    """S = 1, W = 3: G (position 6) goes to slot 1 + (6 - 1) mod 2 = 2, and the text shows that sum."""
    trace = run(Settings(prompt="ABCDEF", window=3, policy="sink", sinks=1))
    lines = _lines(trace, 1, 1)
    assert "Writes (K₁[G], V₁[G]) to slot 2 (= 1 + (6 − 1) mod 2)" in lines
    assert any("positions < 1, or ≥ 6-(3-1)+1=5" in x for x in lines)
    store = _lines(trace, 0, 1)
    store = next(x for x in store if x.startswith("The cache stores only"))
    assert "the sinks (positions < 1) stay and 2 slots rotate" in store
    assert "the KV of B, C, D took part in this step but is not stored" in store


def test_symbols_work_for_any_token_label():
    from swa_demo.narrate import sym

    assert sym("K", 1, "Q") == "K₁[Q]"  # Unicode has no superscript Q: brackets work for every letter
    assert sym("V", 12, "␣Paris") == "V₁₂[␣Paris]" and sym("H", 3, "的") == "H₃[的]"


def test_narrated_decode_weights_are_the_mean_over_heads_and_say_so(seed_trace):
    step = seed_trace.steps[1]  # decode D
    lt = step.layers[0]
    heads = lt.attn_weights  # [head][query][key]
    assert len(heads) == 2 and heads[0][0] != heads[1][0]  # the heads differ, so the mean is news
    mean = [sum(h[0][j] for h in heads) / len(heads) for j in range(len(lt.attended[0]))]
    line = next(x for x in layer_lines(seed_trace, step, lt, "en") if "softmax" in x)
    assert f"[{', '.join(f'{w:.2f}' for w in mean)}] (the mean of 2 heads)" in line
    zh = next(x for x in layer_lines(seed_trace, step, lt, "zh") if "softmax" in x)
    assert "（2 个头的平均）" in zh
