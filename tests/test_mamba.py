"""The SSM layer: the parallel prefill scan is the step-by-step recurrence h_t = A h_(t-1) + B x_t, and
its state is a fixed-size cache that changes in place and never grows (seed 004, Mamba / Jamba)."""

import random

import pytest
import torch
import torch.nn.functional as F
from helpers import assert_parity, random_model
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from swa_demo.config import FULL, MAMBA, SLIDING, ModelConfig
from swa_demo.generate import decode_one_token, generate, make_caches, pad_prompts, prefill, reference_logits
from swa_demo.mamba import MambaMixer, SSMState, inner_dims, selective_scan
from swa_demo.model import StepContext, build
from swa_demo.trace import Tracer


def rand_seq(n, seed=0, vocab=40):
    rng = random.Random(seed)
    return [rng.randrange(vocab) for _ in range(n)]


def mixer_ctx(positions, observer=None):
    return StepContext(positions, None, None, None, observer, decode=False)


def literal_recurrence(delta, A, Bm, Cm, x, h):
    """The recurrence written out, one token at a time: the definition the scan must reproduce."""
    ys = []
    for t in range(delta.shape[1]):
        h = torch.exp(delta[:, t, :, None] * A) * h + (delta[:, t] * x[:, t])[..., None] * Bm[:, t, None]
        ys.append((h * Cm[:, t, None]).sum(-1))
    return torch.stack(ys, 1), h


@settings(max_examples=30, deadline=None)
@given(T=st.integers(1, 70), chunk=st.integers(1, 70), seed=st.integers(0, 1000))
def test_parallel_scan_is_the_step_by_step_recurrence(T, chunk, seed):
    g = torch.Generator().manual_seed(seed)
    B, E, N = 2, 6, 3
    delta = F.softplus(torch.randn(B, T, E, generator=g))
    A = -torch.rand(E, N, generator=g) * 3
    Bm, Cm = torch.randn(B, T, N, generator=g), torch.randn(B, T, N, generator=g)
    x = torch.randn(B, T, E, generator=g)
    h0 = torch.randn(B, E, N, generator=g)
    y, h = selective_scan(delta, A, Bm, Cm, x, h0, chunk=chunk)
    y_ref, h_ref = literal_recurrence(delta, A, Bm, Cm, x, h0)
    assert (y - y_ref).abs().max() < 1e-5 and (h - h_ref).abs().max() < 1e-5


@torch.no_grad()
def test_prefill_of_a_whole_prompt_equals_feeding_it_token_by_token():
    """One mixer, no model around it: the prompt at once vs one token per forward, float32, 1e-5."""
    torch.manual_seed(0)
    cfg = ModelConfig(d_model=16, n_layers=1, layer_types=[MAMBA], ssm_state=4, ssm_conv=4)
    mixer = MambaMixer(cfg)
    u = torch.randn(2, 90, 16)  # 90 tokens: two scan chunks of 64 and their hand-over
    pos = torch.arange(90).expand(2, 90)
    whole = mixer(u, mixer_ctx(pos), None, 0)
    state = SSMState(cfg, 2)
    steps = torch.cat([mixer(u[:, t:t + 1], mixer_ctx(pos[:, t:t + 1]), state, 0) for t in range(90)], 1)
    assert (whole - steps).abs().max() < 1e-5
    ref = SSMState(cfg, 2)
    mixer(u, mixer_ctx(pos), ref, 0)
    assert (ref.ssm - state.ssm).abs().max() < 1e-5 and (ref.conv - state.conv).abs().max() < 1e-5


def test_ssm_state_never_grows():
    model = random_model(3, layers=2, kinds=[MAMBA, MAMBA])
    caches = make_caches(model, 1)
    E, N, K, _ = inner_dims(model.cfg)
    size = caches[0].nbytes()
    assert size == E * (K - 1 + N) * 4  # one row, float32
    tokens = torch.tensor([rand_seq(5)])
    prefill(model, tokens, torch.arange(5)[None], caches)
    before = caches[0].ssm.clone()
    storage = caches[0].ssm.data_ptr()
    for p in range(5, 205):
        decode_one_token(model, torch.tensor([[p % 40]]), torch.tensor([[p]]), caches)
    assert all(c.nbytes() == size for c in caches)
    assert caches[0].ssm.data_ptr() == storage  # updated in place: the same memory, new numbers
    assert not torch.equal(caches[0].ssm, before)
    assert caches[0].seen.tolist() == [205]


@pytest.mark.parametrize("kinds", [[MAMBA], [MAMBA, MAMBA, MAMBA],
                                   [MAMBA, SLIDING, MAMBA, FULL], [SLIDING, MAMBA, FULL]])
@pytest.mark.parametrize("policy", ["seed", "ring"])
def test_jamba_like_stacks_decode_like_a_full_recompute(kinds, policy):
    model = random_model(3, layers=len(kinds), kinds=kinds)
    assert_parity(model, [rand_seq(14, 1)], [5], policy)
    assert_parity(model, [rand_seq(14, 2), rand_seq(9, 3)], [6, 2], policy, chunk=3)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layers=st.lists(st.sampled_from([MAMBA, SLIDING, FULL]), min_size=1, max_size=3),
       window=st.integers(1, 5), n=st.integers(1, 20), prompt_frac=st.floats(0.05, 1.0),
       chunk=st.one_of(st.none(), st.integers(1, 7)), state=st.integers(1, 6), conv=st.integers(1, 5),
       seed=st.integers(0, 10_000))
def test_property_any_chunking_of_any_mamba_stack_matches_recompute(layers, window, n, prompt_frac, chunk,
                                                                    state, conv, seed):
    model = random_model(window, layers=len(layers), kinds=layers, seed=seed, ssm_state=state,
                         ssm_conv=conv)
    prompt_len = max(1, round(n * prompt_frac))
    assert_parity(model, [rand_seq(n, seed)], [prompt_len], "ring", chunk=chunk)


def test_right_padding_leaves_the_state_untouched():
    """A short row in a padded batch ends with the state it would have alone."""
    model = random_model(3, layers=2, kinds=[MAMBA, FULL])
    short, long = rand_seq(3, 1), rand_seq(11, 2)
    tokens, positions = pad_prompts([short, long], "cpu")
    batch = make_caches(model, 2)
    prefill(model, tokens, positions, batch, chunk=4)  # the short row's last chunks are all padding
    alone = make_caches(model, 1)
    prefill(model, torch.tensor([short]), torch.arange(3)[None], alone)
    assert (batch[0].ssm[0] - alone[0].ssm[0]).abs().max() < 1e-6
    assert (batch[0].conv[0] - alone[0].conv[0]).abs().max() < 1e-6
    assert batch[0].seen.tolist() == [3, 11]


def test_the_tracer_sees_one_fixed_size_state_per_mamba_layer_and_step():
    model = random_model(3, layers=3, kinds=[MAMBA, SLIDING, FULL])
    tracer = Tracer(str)
    generate(model, [rand_seq(4)], 3, observer=tracer)
    E, N, _, _ = inner_dims(model.cfg)
    for step in tracer.steps:
        ssm = [lt for lt in step.layers if lt.kind == MAMBA]
        assert len(ssm) == 1 and ssm[0].layer == 1 and ssm[0].policy == "state"
        assert len(ssm[0].state) == E and all(len(row) == N for row in ssm[0].state)
    assert tracer.steps[0].layers[0].state != tracer.steps[-1].layers[0].state


def test_a_mamba_model_builds_on_the_requested_dtype_and_runs_in_float64():
    cfg = ModelConfig(vocab_size=20, d_model=16, n_layers=2, layer_types=[MAMBA, MAMBA], dtype="float64")
    model = build(cfg)
    assert model.layers[0].mixer.A_log.dtype == torch.float64
    tokens = torch.tensor([rand_seq(9, vocab=20)])
    caches = make_caches(model, 1)
    assert caches[0].ssm.dtype == torch.float64
    out = [prefill(model, tokens[:, :4], torch.arange(4)[None], caches)]
    for p in range(4, 9):
        out.append(decode_one_token(model, tokens[:, p:p + 1], torch.tensor([[p]]), caches))
    assert (torch.stack(out, 1) - reference_logits(model, tokens)[:, 3:]).abs().max() < 1e-12
