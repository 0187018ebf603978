"""The seed walkthrough (A B C -> D E F, W = 2, 3 layers), computed by the engine, in its own words."""

import pytest

from swa_demo.narrate import narrate
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


@pytest.mark.parametrize("lang,words", [("zh", ["丢弃位置小于 3-2+1=2", "K₁ᴰ", "贪心选出 D"]),
                                        ("en", ["below 3-2+1=2", "K₁ᴰ", "greedy choice: D"])])
def test_narration_speaks_the_seed_style(seed_trace, lang, words):
    text = narrate(seed_trace, lang)
    for w in words:
        assert w in text
    assert "D attends [C, D]" in narrate(seed_trace, "en")


def test_narrated_decode_weights_are_the_mean_over_heads_and_say_so(seed_trace):
    from swa_demo.narrate import layer_lines

    step = seed_trace.steps[1]  # decode D
    lt = step.layers[0]
    heads = lt.attn_weights  # [head][query][key]
    assert len(heads) == 2 and heads[0][0] != heads[1][0]  # the heads differ, so the mean is news
    mean = [sum(h[0][j] for h in heads) / len(heads) for j in range(len(lt.attended[0]))]
    line = next(x for x in layer_lines(seed_trace, step, lt, "en") if "softmax" in x)
    assert f"[{', '.join(f'{w:.2f}' for w in mean)}] (the mean of 2 heads)" in line
    zh = next(x for x in layer_lines(seed_trace, step, lt, "zh") if "softmax" in x)
    assert "（2 个头的平均）" in zh
