"""The receptive field `window.receptive_field` reports is the one the engine has: changing an input
outside it leaves a position's hidden state exactly as it was, after every layer; changing one inside
changes it. Stacked sliding windows reach L (W - 1) + 1 tokens back; a full or SSM layer reaches all."""

import random

import pytest
import torch
from helpers import random_model
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from swa_demo.config import FULL, MAMBA, SLIDING
from swa_demo.ui.beyond import cone, reads_from_trace
from swa_demo.walkthrough import Settings, run
from swa_demo.window import causal_window_mask, receptive_field


def layer_windows(cfg) -> list[int | None]:
    return [cfg.sliding_window if kind == SLIDING else None for kind in cfg.layer_types]


@torch.no_grad()
def hidden_states(model, tokens: list[int]) -> torch.Tensor:
    """(L + 1, T, C): the embeddings, then each layer's output, of a full recompute (no cache)."""
    seen = [model.embed(torch.tensor([tokens]))[0]]
    hooks = [block.register_forward_hook(lambda mod, args, out: seen.append(out[0]))
             for block in model.layers]
    try:
        model(torch.tensor([tokens]), torch.arange(len(tokens))[None], None)
    finally:
        for h in hooks:
            h.remove()
    return torch.stack(seen)


def check_field_against_engine(model, tokens: list[int], k: int) -> None:
    """Replace the token at position k; every (layer, position) changes iff the field says k reaches it."""
    n = len(tokens)
    field = receptive_field(layer_windows(model.cfg), n)  # (L + 1, n, n)
    before = hidden_states(model, tokens)
    changed = list(tokens)
    changed[k] = (tokens[k] + 1) % model.cfg.vocab_size
    after = hidden_states(model, changed)
    diff = (after - before).abs().amax(-1)  # (L + 1, n)
    for l in range(field.shape[0]):
        for q in range(n):
            if field[l, q, k]:
                assert diff[l, q] > 1e-10, f"layer {l}: input {k} should reach {q} but changed nothing"
            else:
                assert diff[l, q] == 0, f"layer {l}: input {k} is outside {q}'s field, moved it {diff[l, q]}"


def float64_model(window, kinds, seed=0):
    return random_model(window, layers=len(kinds), kinds=kinds, seed=seed, dtype="float64")


@pytest.mark.parametrize("kinds,window", [
    ([SLIDING] * 3, 3),  # Mistral-like: reach 3 (3 - 1) + 1 = 7
    ([SLIDING, FULL, SLIDING], 2),  # Gemma-2-like
    ([SLIDING] * 2 + [FULL], 2),  # Gemma-3-like, global layer last
    ([MAMBA, MAMBA, FULL], 2),  # Jamba-like
    ([MAMBA, SLIDING], 2),  # an SSM first: everything reaches, whatever the window after it
])
def test_inputs_outside_the_field_change_nothing_and_inside_change_something(kinds, window):
    model = float64_model(window, kinds)
    tokens = [random.Random(1).randrange(40) for _ in range(14)]
    for k in range(14):
        check_field_against_engine(model, tokens, k)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kinds=st.lists(st.sampled_from([SLIDING, SLIDING, FULL, MAMBA]), min_size=1, max_size=4),
       window=st.integers(1, 4), n=st.integers(2, 14), data=st.data(), seed=st.integers(0, 10_000))
def test_property_the_reported_field_is_the_engines(kinds, window, n, data, seed):
    model = float64_model(window, kinds, seed)
    tokens = [random.Random(seed).randrange(40) for _ in range(n)]
    check_field_against_engine(model, tokens, data.draw(st.integers(0, n - 1)))


@pytest.mark.parametrize("layers,window", [(1, 2), (3, 2), (4, 3), (6, 5)])
def test_stacked_sliding_windows_reach_L_times_W_minus_1_plus_1_tokens(layers, window):
    n = 40
    field = receptive_field([window] * layers, n)
    for q in range(n):
        reach = field[layers, q].nonzero().flatten().tolist()
        assert reach == list(range(max(0, q - layers * (window - 1)), q + 1))
    assert int(field[layers, n - 1].sum()) == layers * (window - 1) + 1


@pytest.mark.parametrize("kinds", [[SLIDING, FULL], [MAMBA, SLIDING], [SLIDING, SLIDING, MAMBA]])
def test_one_full_or_ssm_layer_reaches_everything_before(kinds):
    field = receptive_field([2 if k == SLIDING else None for k in kinds], 12)
    assert torch.equal(field[len(kinds)], torch.ones(12, 12, dtype=torch.bool).tril())


@pytest.mark.parametrize("pattern,window,layers", [("sliding", 2, 3), ("sliding", 3, 6), ("gemma2", 2, 3),
                                                   ("gemma3", 2, 4), ("jamba", 3, 3), ("full", 2, 2)])
def test_a_runs_reads_are_the_predicates_so_the_view_may_draw_receptive_field(pattern, window, layers):
    """What every layer of a real run attended is the window predicate's mask (an SSM layer reads all
    before it), so the field the view computes with `receptive_field` is the run's."""
    trace = run(Settings(prompt="ABCDEFGHIJKL", new=3, window=window, layers=layers, pattern=pattern))
    reads, labels, kinds = reads_from_trace(trace)
    assert labels == list("ABCDEFGHIJKLMN") and kinds == trace.config["layer_types"]
    n = len(labels)
    windows = [window if k == SLIDING else None for k in kinds]
    for l, w in enumerate(windows):
        assert torch.equal(reads[l], causal_window_mask(n, w)), f"layer {l + 1}"
    field = receptive_field(windows, n)
    # The cone of the last position after the last layer ends, at the embeddings, on exactly its field.
    q = n - 1
    assert cone(reads, q, layers)[0] == set(field[layers, q].nonzero().flatten().tolist())


def test_the_seed_walkthrough_F_no_longer_sees_A_or_B():
    trace = run(Settings(prompt="ABCDEF", new=1))
    reads, labels, _ = reads_from_trace(trace)
    field = receptive_field([2, 2, 2], len(labels))
    assert [labels[k] for k in field[1, 5].nonzero().flatten()] == ["E", "F"]
    assert [labels[k] for k in field[3, 5].nonzero().flatten()] == ["C", "D", "E", "F"]
    assert cone(reads, 5, 3)[0] == {2, 3, 4, 5}


def test_the_growth_map_rows_are_the_field_of_one_position_layer_by_layer():
    from swa_demo.ui.beyond import receptive_growth_figure

    L, n, q = 8, 20, 17
    field = receptive_field([3] * L, n)
    fig = receptive_growth_figure(field, [chr(65 + i) for i in range(n)], [SLIDING] * L, q, 5, "en")
    z = fig.data[0].z
    assert len(z) == L + 1 and [sum(row) for row in z] == [min(q + 1, l * 2 + 1) for l in range(L + 1)]
    frame = fig.layout.shapes[0]
    assert (frame.y0, frame.y1) == (4.5, 5.5)  # the chosen layer's row


# ---- the Streamlit view -------------------------------------------------------------------------

def _receptive(lang):
    from swa_demo.ui.beyond import receptive_view

    receptive_view(lang)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_receptive_view_draws_the_sidebars_run_in_both_languages(lang):
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_function(_receptive, args=(lang,), default_timeout=60)
    app.session_state["prompt"] = "ABCDEFGH"
    app.run()
    assert not app.exception and not app.error
    assert len(app.get("plotly_chart")) == 2
    assert ("感受野" if lang == "zh" else "Receptive field") in app.subheader[0].value
    assert app.select_slider(key="beyond_rf_q").value == 9  # A..H and I, J fed back (K is only output)
    app.session_state["prompt"] = "A1C"
    app.run()
    assert not app.exception and len(app.error) == 1
    assert ("不是字母" if lang == "zh" else "is not one") in app.error[0].value
    app.session_state["prompt"] = "ABC"
    app.session_state["pattern"] = "jamba"
    app.run()
    assert not app.exception and not app.error and len(app.get("plotly_chart")) == 2
    assert app.select_slider(key="beyond_rf_q").value == 4  # a shorter run: the choice moved inside it
