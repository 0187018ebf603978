"""Attention sinks (StreamingLLM): the first S positions stay readable forever, plus a ring of the last
W - S. Incremental decoding with the `sink` cache equals a full recompute with a dense mask that allows
exactly the sinks and the window; bad S is refused with one line and exit code 2."""

import random

import pytest
import torch
from helpers import assert_parity, incremental_logits, random_model
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from swa_demo import cli
from swa_demo.cache import KVCache
from swa_demo.config import FULL, MAMBA, SLIDING
from swa_demo.window import allowed, dense_mask


def rand_seq(n, seed=0, vocab=40):
    rng = random.Random(seed)
    return [rng.randrange(vocab) for _ in range(n)]


def streaming_llm(q: int, k: int, window: int, sinks: int) -> bool:
    """StreamingLLM's rule in its own words: a key is visible if it is one of the first S tokens or one
    of the W - S most recent ones (the query included), and never from the future."""
    return k <= q and (k < sinks or q - k < window - sinks)


def assert_sink_parity(model, seqs, prompt_lens, sinks, chunk=None, atol=1e-5):
    """Sink decoding against a full recompute whose sliding layers allow the sinks and the window."""
    assert_parity(model, seqs, prompt_lens, "sink", chunk, atol, sinks=sinks)


# ---- the predicate ------------------------------------------------------------------------------

@pytest.mark.parametrize("window,sinks", [(2, 1), (4, 1), (4, 3), (7, 2)])
def test_the_sink_mask_is_streaming_llm_rule(window, sinks):
    n = 20
    pos = torch.arange(n)[None]
    mask = dense_mask(pos, pos, window, sinks)[0]
    for q in range(n):
        for k in range(n):
            rule = streaming_llm(q, k, window, sinks)
            assert bool(mask[q, k]) == rule == bool(allowed(q, k, window, sinks))
        assert int(mask[q].sum()) == min(q + 1, window)  # never more than W keys


@pytest.mark.parametrize("window,sinks", [(3, 1), (4, 2), (5, 4)])
def test_the_sink_cache_holds_the_sinks_and_the_last_w_minus_s(window, sinks):
    cache = KVCache("sink", 1, 1, 2, window, sinks=sinks)
    for p in range(40):
        cache.update(torch.randn(1, 1, 1, 2), torch.randn(1, 1, 1, 2), torch.tensor([[p]]), decode=True)
        expected = {k for k in range(p + 1) if streaming_llm(p, k, window, sinks)}
        assert set(cache.unrotate()) == expected
        assert cache.nbytes() == 2 * window * 2 * 4  # W slots of K and V, float32: never grows


# ---- incremental decoding == recompute under the sink mask ------------------------------------

@pytest.mark.parametrize("sinks", [1, 2, 3])
def test_sink_cache_wraps_many_times_and_matches_the_dense_sink_mask(sinks):
    model = random_model(4, layers=3)
    assert_sink_parity(model, [rand_seq(70, sinks)], [2], sinks)  # 68 decode steps: ~22 laps of the ring


def test_sinks_are_really_read_far_behind_the_window():
    """Not a vacuous pass: with sinks the logits differ from plain sliding ones."""
    model = random_model(3, layers=2)
    seq = rand_seq(30, 5)
    plain = incremental_logits(model, [seq], [3], "ring")[0]
    sink = incremental_logits(model, [seq], [3], "sink", sinks=1)[0]
    assert (plain[-1] - sink[-1]).abs().max() > 1e-3


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 8])
def test_chunked_prefill_with_sinks(chunk):
    model = random_model(5, layers=2)
    assert_sink_parity(model, [rand_seq(24, chunk)], [17], sinks=2, chunk=chunk)


@pytest.mark.parametrize("window", [2, 3, 6])
def test_s_equals_w_minus_1_leaves_a_ring_of_one(window):
    model = random_model(window, layers=3)
    assert_sink_parity(model, [rand_seq(25, window)], [window + 2], sinks=window - 1)
    assert_sink_parity(model, [rand_seq(25, window)], [4], sinks=window - 1, chunk=3)


def test_sinks_in_a_batch_of_different_lengths_and_a_hybrid_stack():
    model = random_model(4, layers=4, kinds=[SLIDING, FULL, MAMBA, SLIDING])
    seqs = [rand_seq(19, 1), rand_seq(8, 2), rand_seq(30, 3)]
    assert_sink_parity(model, seqs, [6, 2, 11], sinks=1, chunk=4)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(window=st.integers(2, 7), data=st.data(), n=st.integers(1, 40), prompt_frac=st.floats(0.05, 1.0),
       chunk=st.one_of(st.none(), st.integers(1, 9)), seed=st.integers(0, 10_000))
def test_property_sink_decoding_equals_the_dense_sink_mask(window, data, n, prompt_frac, chunk, seed):
    sinks = data.draw(st.integers(1, window - 1))
    model = random_model(window, layers=2, seed=seed)
    assert_sink_parity(model, [rand_seq(n, seed)], [max(1, round(n * prompt_frac))], sinks, chunk=chunk)


# ---- bad input ------------------------------------------------------------------------------------

@pytest.mark.parametrize("window,sinks", [(2, 2), (3, 5), (4, 0), (4, -1)])
def test_bad_sink_counts_get_one_line_and_exit_code_2(window, sinks, capsys):
    code = cli.main(["walkthrough", "--policy", "sink", "--window", str(window), "--sinks", str(sinks)])
    out = capsys.readouterr()
    assert code == 2 and out.out == ""
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "0 < S < W" in lines[0], out.err


def test_a_good_sink_count_runs_the_walkthrough(capsys):
    assert cli.main(["walkthrough", "--policy", "sink", "--window", "3", "--sinks", "1", "--new", "4",
                     "--lang", "en"]) == 0
    assert "slot" in capsys.readouterr().out
