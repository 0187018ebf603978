"""The cost of context: the analytic bytes and FLOPs of `costs.py` are what the engine allocates and
computes on the CPU, its parameter counts are the published ones, and seed 004's comparison comes out
of them: a full cache grows with N, a ring stays at W, an SSM state stays put."""

import json

import pytest
import torch

from swa_demo import costs, costs_check, costs_text
from swa_demo.config import FULL, MAMBA, SLIDING, ModelConfig, medium, seed_tiny
from swa_demo.paths import ASSETS
from swa_demo.ui.i18n import tr
from swa_demo.window import causal_window_mask

KI = costs.KI


@pytest.fixture(scope="module")
def check():
    return costs_check.engine_check()


# ---- against the engine -------------------------------------------------------------------------

def test_cache_bytes_are_what_the_engine_allocates_up_to_16k(check):
    """Full layers grow with N, the ring holds min(N, W) and allocates W from the start, the SSM state
    never moves."""
    W = costs_check.check_configs()[0].sliding_window
    assert {r["context"] for r in check["bytes"]} == {100, 1000, 4 * KI, 16 * KI}
    assert check["ok"] and all(r["ok"] for r in check["bytes"] + check["flops"])
    for r in check["bytes"]:
        assert r["held"] == r["analytic"], r
        if r["kind"] == SLIDING and r["context"] < W:
            assert r["allocated"] > r["held"], r  # a ring allocates its W slots before they fill
        else:
            assert r["allocated"] == r["analytic"], r
    by = {(r["kind"], r["context"]): r["allocated"] for r in check["bytes"]}
    assert by[FULL, 16 * KI] == 4 * by[FULL, 4 * KI]  # O(N)
    assert by[FULL, 1000] * 4 * KI == by[FULL, 4 * KI] * 1000
    assert by[SLIDING, 16 * KI] == by[SLIDING, 1000] == by[SLIDING, 100]  # O(W)
    assert by[MAMBA, 16 * KI] == by[MAMBA, 100]  # O(1)


def test_counted_flops_are_the_dense_analytic_count_exactly(check):
    """FlopCounterMode counts matmuls: the eager backend scores every (query, key) pair it is handed,
    so the count is the dense one, to the FLOP; the mask-useful count is smaller wherever the window
    cuts (a prompt longer than W, a ring that is not full yet)."""
    assert {r["phase"] for r in check["flops"]} == {"prefill", "decode"}
    for r in check["flops"]:
        assert r["counted"] == r["dense"], r
        assert r["useful"] <= r["dense"]
    prefill_700 = next(r for r in check["flops"] if r["phase"] == "prefill" and r["context"] == 700)
    assert prefill_700["useful"] < prefill_700["dense"]  # 700 > W = 256: the dense square wastes pairs
    decode_100 = next(r for r in check["flops"] if r["phase"] == "decode" and r["context"] == 100)
    assert decode_100["useful"] < decode_100["dense"]  # the ring scores its 256 slots, 101 are filled


@pytest.mark.parametrize("name,contexts", [("gemma3-27b", [1000, 1100]), ("jamba-v0.1", [10, 20])])
def test_a_presets_own_figures_are_what_the_engine_allocates_at_its_shape(name, contexts):
    """`costs --check --preset`: one engine layer of each kind the preset has, at its KV heads, head dim,
    window and mamba sizes, in bf16: each layer's bytes are the preset's own figure, on either side of W."""
    s = costs.shape(name)
    result = costs_check.engine_check(s, contexts)
    assert result["ok"] and result["shape"] == name and result["config_bytes"]["dtype"] == "bfloat16"
    assert {r["kind"] for r in result["bytes"]} == set(s.layer_types)
    for r in result["bytes"]:
        assert r["held"] == costs.layer_cache_bytes(s, r["kind"], r["context"]), r
    assert [r["context"] for r in result["flops"] if r["phase"] == "prefill"] == contexts


def test_parameters_are_every_weight_matrix_the_engine_builds():
    """Rank-2+ weights: embeddings, projections, FFN, a mamba layer's projections, conv kernel and A;
    a tied LM head counted once."""
    from swa_demo.model import build

    for cfg in (seed_tiny(layer_pattern="jamba"), medium(4, 256).replace(layer_types=[SLIDING, FULL, MAMBA,
                                                                                       SLIDING]),
                ModelConfig(vocab_size=64, d_model=32, n_heads=4, n_kv_heads=2, n_layers=2,
                            layer_types=[SLIDING, FULL], ffn="swiglu", tie_embeddings=True)):
        weights = sum(p.numel() for p in build(cfg).parameters() if p.dim() >= 2)
        assert costs.parameters(costs.Shape.from_config(cfg))["total"] == weights, cfg


# Published totals, in billions: total and active per token. Mistral 7B's card (7.24B), Llama 2's paper
# and card (6.74B), Mixtral's paper (46.7B total, 12.9B active), Gemma 3's report (27B), Jamba's paper
# (52B total, 12B active). Norms and biases are left out, and the rounding of "27B" and "52B" is coarse.
PUBLISHED = {"mistral-7b": (7.24, 7.24), "llama-2-7b": (6.74, 6.74), "mixtral-8x7b": (46.7, 12.9),
             "gemma3-27b": (27, 27), "jamba-v0.1": (52, 12)}
TOLERANCE = 0.02


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_parameter_counts_are_the_published_ones_within_2_percent(name):
    counted = costs.parameters(costs.shape(name))
    total, active = PUBLISHED[name]
    assert counted["total"] / 1e9 == pytest.approx(total, rel=TOLERANCE)
    assert counted["active"] / 1e9 == pytest.approx(active, rel=TOLERANCE)


def test_the_cache_share_of_memory_beside_the_weights():
    """Mistral's 7.24B bf16 weights are 13.5 GiB; at 128k its ring is 512 MiB (3.6% of memory), while
    the same shape with every layer full holds 16 GiB, more than the weights."""
    ring, full = costs.table(["mistral-7b", "mistral-7b-full"], [128 * KI])
    # the GPU benchmark's 7B model (recorded) has these weights plus 65 RMSNorm vectors of 4096
    recorded = json.loads((ASSETS / "bench" / "h100_kernel_sweep.json").read_text())["params"]
    assert ring["weight_bytes"] == full["weight_bytes"] == 2 * (recorded - 65 * 4096)
    assert ring["cache_share"] == pytest.approx(2 ** 29 / (2 ** 29 + ring["weight_bytes"]))
    assert full["cache_share"] > 0.5 > ring["cache_share"]


def test_contexts_past_the_trained_length_are_marked_extrapolated():
    """Gemma 2's global layers were trained on 8,192 positions."""
    rows = costs.table(["gemma2-9b"], [8 * KI, 8 * KI + 1])
    assert [r["extrapolated"] for r in rows] == [False, True] and rows[0]["trained_context"] == 8192
    text = costs_text.format_table(rows)
    assert "8193*" in text and "gemma2-9b 8k" in text and "extrapolated" in text


def test_the_mamba_state_is_transformers_cache_less_one_conv_input_per_channel():
    """transformers' Jamba cache holds K conv inputs per channel; the engine and the cost model hold the
    K - 1 the next step reads. Everything else (KV entries, the SSM state) is the same number."""
    transformers = pytest.importorskip("transformers")
    from swa_demo import hf_config

    hc = transformers.JambaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                  num_attention_heads=2, num_key_value_heads=1, attn_layer_period=2,
                                  attn_layer_offset=1, expert_layer_period=2, expert_layer_offset=1,
                                  num_experts=2, num_experts_per_tok=1, mamba_d_state=4, mamba_d_conv=4,
                                  mamba_expand=2, mamba_dt_rank=4)
    model = transformers.JambaForCausalLM(hc).eval()
    with torch.no_grad():
        cache = model(torch.tensor([[1, 2, 3, 4, 5]]), use_cache=True).past_key_values
    mamba, attention = cache.layers
    held = {"mamba": mamba.conv_states[0].numel() + mamba.recurrent_states[0].numel(),
            "full": attention.keys.numel() + attention.values.numel()}
    s = hf_config.shape_from_config(hc.to_dict(), "tiny-jamba")
    assert s.layer_types == (MAMBA, FULL)
    ours = {short: costs.layer_cache_bytes(s, kind, 5) // s.bytes_per_value
            for kind, short in ((MAMBA, "mamba"), (FULL, "full"))}
    E = s.ssm_dims[0]
    assert held == {"mamba": ours["mamba"] + E, "full": ours["full"]}
    assert costs.transformers_conv_extra(s) == E * s.bytes_per_value


# ---- the formulas themselves -----------------------------------------------------------------------

@pytest.mark.parametrize("window", [1, 2, 5, 16])
def test_prefill_pairs_are_the_masks_true_entries(window):
    for n in (1, 3, 16, 40):
        mask = causal_window_mask(n, window)
        assert costs.prefill_pairs(SLIDING, n, window) == int(mask.sum())
        assert costs.prefill_pairs(FULL, n, None) == int(causal_window_mask(n, None).sum())
        assert costs.decode_keys(SLIDING, n - 1, window) == int(mask[n - 1].sum())


def test_the_seed_walkthrough_in_pairs():
    # W = 2, A B C: A reads A; B reads A, B; C reads B, C. Dense: the 3 x 3 square.
    assert costs.prefill_pairs(SLIDING, 3, 2) == 5 and costs.prefill_pairs(SLIDING, 3, 2, dense=True) == 9
    assert costs.decode_keys(SLIDING, 3, 2) == 2  # D reads C, D


def test_mistral_7b_cache_at_128k_full_vs_ring():
    full, swa = costs.shape("mistral-7b-full"), costs.shape("mistral-7b")
    per_token = 32 * 2 * 8 * 128 * 2  # layers x (KI, V) x KV heads x head dim x bf16 bytes
    assert sum(costs.cache_bytes(full, 128 * KI).values()) == per_token * 128 * KI == 16 * 2 ** 30
    assert sum(costs.cache_bytes(swa, 128 * KI).values()) == per_token * 4096 == 2 ** 29
    assert sum(costs.cache_bytes(swa, 1024 * KI).values()) == sum(costs.cache_bytes(swa, 4096).values())


def test_jamba_keeps_one_eighth_of_the_kv_plus_a_fixed_state():
    jamba, mistral = costs.shape("jamba-v0.1"), costs.shape("mistral-7b-full")
    assert jamba.count(FULL) == 4 and jamba.count(MAMBA) == 28
    j, m = costs.cache_bytes(jamba, 128 * KI), costs.cache_bytes(mistral, 128 * KI)
    assert j[FULL] * 8 == m[FULL]  # same attention shape, 4 layers of 32
    assert costs.cache_bytes(jamba, 1024 * KI)[MAMBA] == j[MAMBA] == 28 * 8192 * (3 + 16) * 2


@pytest.mark.parametrize("name", list(costs.SHAPES))
def test_decode_cost_grows_only_where_a_layer_reads_all_of_the_context(name):
    s = costs.shape(name)
    a, b = sum(costs.decode_flops(s, 256 * KI).values()), sum(costs.decode_flops(s, 512 * KI).values())
    keys_added = s.count(FULL) * 256 * KI  # each full layer reads 256k more keys; rings and states don't
    assert b - a == costs.pair_flops(s) * keys_added


def test_every_preset_names_its_source_config():
    for s in costs.SHAPES.values():
        assert "config.json" in s.source and s.note["zh"] and s.note["en"]
        assert s.n_heads * s.head_dim >= s.d_model // 2 and s.n_heads % s.n_kv_heads == 0


# ---- seed 004's table, generated ----------------------------------------------------------------

@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_comparison_table_is_generated_from_the_figures(lang):
    rows = costs_text.comparison_rows(lang, 128 * KI)
    assert len(rows) == 6 and all(len(r) == 4 for r in rows)
    full, swa, hyb = (costs.shape(costs_text.COMPARE[c]) for c in ("full", "swa", "hybrid"))
    kv = rows[3]
    assert costs_text.fmt_bytes(sum(costs.cache_bytes(full, 128 * KI).values())) in kv[1]
    assert costs_text.fmt_bytes(sum(costs.cache_bytes(swa, 128 * KI).values())) in kv[2]
    assert costs_text.fmt_bytes(costs.cache_bytes(hyb, 128 * KI)[MAMBA]) in kv[3]
    assert costs_text.fmt_flops(sum(costs.decode_flops(full, 128 * KI).values())) in rows[2][1]
    assert f"{32 * 4095 + 1:,}" in rows[4][2]  # Mistral's stacked reach, L (W - 1) + 1
    assert rows != costs_text.comparison_rows(lang, 1024 * KI)  # the figures follow the context


# ---- the Streamlit view -------------------------------------------------------------------------

def _costs(lang):
    from swa_demo.ui.beyond import costs_view

    costs_view(lang)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_costs_view_draws_in_both_languages_and_refuses_bad_input(lang):
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_function(_costs, args=(lang,), default_timeout=60).run()
    assert not app.exception and not app.error
    assert len(app.get("plotly_chart")) == 2
    app.text_input(key="beyond_costs_contexts").set_value("4k,lots").run()
    assert not app.exception and len(app.error) == 1 and "lots" in app.error[0].value
    app.text_input(key="beyond_costs_contexts").set_value("1M").run()
    app.multiselect(key="beyond_costs_presets").set_value([]).run()
    assert not app.exception and len(app.error) == 1


def test_the_cost_figure_has_a_log_context_axis_to_1m():
    from swa_demo.ui.beyond import cost_figure

    fig = cost_figure([costs.shape("mistral-7b"), costs.shape("jamba-v0.1-mamba-only")], "cache", 1024 * KI,
                      "en")
    assert fig.layout.xaxis.type == "log" and max(fig.data[0].x) == 1024 * KI
    ring, state = fig.data[0].y, fig.data[1].y
    assert ring[-1] == ring[len(ring) // 2]  # the ring is full by 32k
    assert len(set(state)) == 1  # the state never moves
    assert torch.tensor(ring[:5]).diff().ge(0).all()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_pasted_config_json_joins_the_cost_tab_and_a_broken_one_is_refused_in_the_pages_language(lang):
    """Issue 13: the cost tab takes the inputs `costs --config` takes. A published config (Mistral-7B's)
    pasted alone draws its lines and its row, weights beside the cache; a broken paste is one message."""
    from published_configs import MISTRAL_7B as MISTRAL
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_function(_costs, args=(lang,), default_timeout=60).run()
    app.multiselect(key="beyond_costs_presets").set_value([]).run()
    app.text_area(key="beyond_costs_paste").set_value(json.dumps(MISTRAL)).run()
    assert not app.exception and not app.error
    table = app.dataframe[0].value
    assert set(table.iloc[:, 0]) == {tr(lang, "cost_pasted")} and len(table) == 4  # one row per context
    assert "GiB" in table.iloc[0, 3]  # the weights, 13.5 GiB in bf16
    app.text_area(key="beyond_costs_paste").set_value('{"model_type": "gpt2"').run()
    assert not app.exception and len(app.error) >= 1
    assert "JSON" in app.error[0].value


def test_per_gpu_bytes_split_the_kv_heads_and_the_layers_and_copy_the_embeddings():
    s = costs.shape("mistral-7b-full")
    cache, weights = costs.per_gpu_bytes(s, 1 << 20, 2)
    assert cache == 64 * 2 ** 30  # 32 layers x 2 x 1,048,576 x 4 KV heads x 128 x 2 B
    embed_and_head = 2 * 32000 * 4096 * 2
    assert weights == embed_and_head + (costs.weight_bytes(s) - embed_and_head) // 2
    assert costs.per_gpu_bytes(s, 1 << 20, 1) == (2 * cache, costs.weight_bytes(s))
