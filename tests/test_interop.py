"""A transformers Mistral checkpoint runs in the engine with the same greedy tokens and logits.

The reference is transformers' full forward without a cache, recomputed for every step: its own
cached sliding-window path has had bugs, and a test must not teach the engine to copy them.
"""

import contextlib
import io
import json

import pytest
import torch

transformers = pytest.importorskip("transformers")

from swa_demo.cli import main  # noqa: E402

WINDOW = 4


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    cfg = transformers.MistralConfig(vocab_size=101, hidden_size=64, intermediate_size=112,
                                     num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2,
                                     head_dim=16, sliding_window=WINDOW, max_position_embeddings=512)
    hf = transformers.MistralForCausalLM(cfg).eval()
    path = tmp_path_factory.mktemp("mistral")
    hf.save_pretrained(path)
    return path, hf


@torch.no_grad()
def hf_greedy(hf, prompt: list[int], n: int):
    seq, logits = list(prompt), []
    for _ in range(n):
        row = hf(torch.tensor([seq])).logits[0, -1]  # full recompute, no cache
        logits.append(row)
        seq.append(int(row.argmax()))
    return seq[len(prompt):], torch.stack(logits)


def run_cli(*args) -> dict:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["generate", *args, "--json"]) == 0
    return json.loads(buf.getvalue())


@pytest.mark.parametrize("prompt_len,new,chunk,policy", [
    (2, 6, None, "ring"),  # prompt shorter than the window
    (11, 6, None, "ring"),  # prompt longer than the window
    (11, 6, 3, "ring"),  # chunked prefill
    (3, 40, None, "ring"),  # the ring wraps ten times
    (9, 12, 4, "seed"),
])
def test_generate_matches_transformers_full_recompute(checkpoint, prompt_len, new, chunk, policy):
    path, hf = checkpoint
    prompt = torch.randint(0, 101, (prompt_len,), generator=torch.Generator().manual_seed(prompt_len))
    prompt = prompt.tolist()
    args = ["--checkpoint", str(path), "--prompt-ids", ",".join(map(str, prompt)),
            "--max-new-tokens", str(new), "--policy", policy]
    if chunk:
        args += ["--prefill-chunk", str(chunk)]
    ours = run_cli(*args)
    ref_tokens, ref_logits = hf_greedy(hf, prompt, new)
    assert ours["tokens"] == ref_tokens
    err = (torch.tensor(ours["logits"]) - ref_logits).abs().max().item()
    assert err < 1e-4, f"max |logit diff| {err:.2e}"


@pytest.mark.parametrize("args,fragment", [
    (["--prompt-ids", "1,x"], "comma-separated"),
    (["--prompt-ids", "1,999"], "outside the vocabulary"),
    (["--prompt-ids", "1", "--max-new-tokens", "0"], "max-new-tokens"),
])
def test_generate_bad_input_is_one_line(checkpoint, capsys, args, fragment):
    path, _ = checkpoint
    assert main(["generate", "--checkpoint", str(path), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0]


def test_generate_refuses_a_directory_without_weights(tmp_path, capsys):
    assert main(["generate", "--checkpoint", str(tmp_path), "--prompt-ids", "1"]) == 2
    assert "config.json" in capsys.readouterr().err


def test_generate_on_a_missing_gpu_says_so(checkpoint, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    path, _ = checkpoint
    assert main(["generate", "--checkpoint", str(path), "--prompt-ids", "1", "--device", "cuda"]) == 2
    assert "no CUDA GPU" in capsys.readouterr().err
