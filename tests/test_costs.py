"""The cost of context: the analytic bytes and FLOPs of `costs.py` are what the engine allocates and
computes on the CPU, and seed 004's comparison comes out of them: a full cache grows with N, a ring
stays at W, an SSM state stays put."""

import json

import pytest
import torch

from swa_demo import cli, costs
from swa_demo.config import FULL, MAMBA, SLIDING
from swa_demo.window import causal_window_mask

K = costs.K


@pytest.fixture(scope="module")
def check():
    return costs.engine_check()


# ---- against the engine -------------------------------------------------------------------------

def test_cache_bytes_are_what_the_engine_allocates_up_to_16k(check):
    """Full layers grow with N, the ring holds min(N, W) and allocates W from the start, the SSM state
    never moves."""
    W = costs.check_configs()[0].sliding_window
    assert {r["context"] for r in check["bytes"]} == {100, 1000, 4 * K, 16 * K}
    for r in check["bytes"]:
        assert r["held"] == r["analytic"], r
        if r["kind"] == SLIDING and r["context"] < W:
            assert r["allocated"] > r["held"], r  # a ring allocates its W slots before they fill
        else:
            assert r["allocated"] == r["analytic"], r
    by = {(r["kind"], r["context"]): r["allocated"] for r in check["bytes"]}
    assert by[FULL, 16 * K] == 4 * by[FULL, 4 * K]  # O(N)
    assert by[FULL, 1000] * 4 * K == by[FULL, 4 * K] * 1000
    assert by[SLIDING, 16 * K] == by[SLIDING, 1000] == by[SLIDING, 100]  # O(W)
    assert by[MAMBA, 16 * K] == by[MAMBA, 100]  # O(1)


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
    per_token = 32 * 2 * 8 * 128 * 2  # layers x (K, V) x KV heads x head dim x bf16 bytes
    assert sum(costs.cache_bytes(full, 128 * K).values()) == per_token * 128 * K == 16 * 2 ** 30
    assert sum(costs.cache_bytes(swa, 128 * K).values()) == per_token * 4096 == 2 ** 29
    assert sum(costs.cache_bytes(swa, 1024 * K).values()) == sum(costs.cache_bytes(swa, 4096).values())


def test_jamba_keeps_one_eighth_of_the_kv_plus_a_fixed_state():
    jamba, mistral = costs.shape("jamba-v0.1"), costs.shape("mistral-7b-full")
    assert jamba.count(FULL) == 4 and jamba.count(MAMBA) == 28
    j, m = costs.cache_bytes(jamba, 128 * K), costs.cache_bytes(mistral, 128 * K)
    assert j[FULL] * 8 == m[FULL]  # same attention shape, 4 layers of 32
    assert costs.cache_bytes(jamba, 1024 * K)[MAMBA] == j[MAMBA] == 28 * 8192 * (3 + 16) * 2


@pytest.mark.parametrize("name", list(costs.SHAPES))
def test_decode_cost_grows_only_where_a_layer_reads_all_of_the_context(name):
    s = costs.shape(name)
    a, b = sum(costs.decode_flops(s, 256 * K).values()), sum(costs.decode_flops(s, 512 * K).values())
    keys_added = s.count(FULL) * 256 * K  # each full layer reads 256k more keys; rings and states don't
    assert b - a == costs.pair_flops(s) * keys_added


def test_every_preset_names_its_source_config():
    for s in costs.SHAPES.values():
        assert "config.json" in s.source and s.note["zh"] and s.note["en"]
        assert s.n_heads * s.head_dim >= s.d_model // 2 and s.n_heads % s.n_kv_heads == 0


# ---- seed 004's table, generated ----------------------------------------------------------------

@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_comparison_table_is_generated_from_the_figures(lang):
    rows = costs.comparison_rows(lang, 128 * K)
    assert len(rows) == 6 and all(len(r) == 4 for r in rows)
    full, swa, hyb = (costs.shape(costs.COMPARE[c]) for c in ("full", "swa", "hybrid"))
    kv = rows[3]
    assert costs.fmt_bytes(sum(costs.cache_bytes(full, 128 * K).values())) in kv[1]
    assert costs.fmt_bytes(sum(costs.cache_bytes(swa, 128 * K).values())) in kv[2]
    assert costs.fmt_bytes(costs.cache_bytes(hyb, 128 * K)[MAMBA]) in kv[3]
    assert costs.fmt_flops(sum(costs.decode_flops(full, 128 * K).values())) in rows[2][1]
    assert f"{32 * 4095 + 1:,}" in rows[4][2]  # Mistral's stacked reach, L (W - 1) + 1
    assert rows != costs.comparison_rows(lang, 1024 * K)  # the figures follow the context


# ---- CLI ------------------------------------------------------------------------------------------

def test_cli_costs_prints_a_table_and_json(capsys):
    assert cli.main(["costs", "--preset", "mistral-7b", "--context", "4k,128k"]) == 0
    out = capsys.readouterr().out
    assert "mistral-7b" in out and "512 MiB" in out and "128k" in out
    assert cli.main(["costs", "--context", "32k", "--json", "--compare", "--lang", "en"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {r["preset"] for r in data["rows"]} == set(costs.SHAPES)
    assert data["comparison"][0][0] == "property"


@pytest.mark.parametrize("args,fragment", [
    (["--preset", "gpt-5"], "unknown cost preset"),
    (["--context", "4q"], "not a token count"),
    (["--context", "0"], "not a token count"),
    (["--context", ""], "not a token count"),
    (["--lang", "fr"], "invalid choice"),
])
def test_cli_costs_bad_input_gets_one_line_and_exit_code_2(args, fragment, capsys):
    assert cli.main(["costs", *args]) == 2
    out = capsys.readouterr()
    lines = out.err.strip().splitlines()
    assert out.out == "" and len(lines) == 1 and fragment in lines[0], out.err


def test_contexts_parse_with_binary_units():
    assert costs.parse_contexts("4k, 32k,128K,1M,1000") == [4096, 32768, 131072, 1048576, 1000]


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

    fig = cost_figure(["mistral-7b", "jamba-v0.1-mamba-only"], "cache", 1024 * K, "en")
    assert fig.layout.xaxis.type == "log" and max(fig.data[0].x) == 1024 * K
    ring, state = fig.data[0].y, fig.data[1].y
    assert ring[-1] == ring[len(ring) // 2]  # the ring is full by 32k
    assert len(set(state)) == 1  # the state never moves
    assert torch.tensor(ring[:5]).diff().ge(0).all()
