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


# ---- a checkpoint that cannot be read is refused in one line, naming the file -------------------


def broken_copy(checkpoint, tmp_path, damage: str):
    """A copy of the test checkpoint with one thing wrong in it."""
    import shutil

    from safetensors.torch import load_file, save_file

    path, _ = checkpoint
    dst = tmp_path / "ckpt"
    shutil.copytree(path, dst)
    cfg_file, weights = dst / "config.json", next(dst.glob("*.safetensors"))
    cfg = json.loads(cfg_file.read_text())
    if damage == "not json":
        cfg_file.write_text("{oops")
    elif damage == "not an object":
        cfg_file.write_text("[1, 2]")
    elif damage == "missing key":
        del cfg["hidden_size"]
        cfg_file.write_text(json.dumps(cfg))
    elif damage == "string for a number":
        cfg["num_hidden_layers"] = "3"
        cfg_file.write_text(json.dumps(cfg))
    elif damage == "too big":
        cfg |= {"vocab_size": 10**9, "hidden_size": 16384, "head_dim": 128}
        cfg_file.write_text(json.dumps(cfg))
    elif damage == "unknown model":
        cfg["model_type"] = "gpt2"
        cfg_file.write_text(json.dumps(cfg))
    elif damage == "garbage weights":
        weights.write_bytes(b"\x00\x01garbage" * 100)
    elif damage == "truncated weights":
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    elif damage == "wrong shape":
        state = load_file(str(weights))
        state["model.layers.1.self_attn.k_proj.weight"] = torch.zeros(16, 64)
        save_file(state, str(weights))
    return dst


@pytest.mark.parametrize("damage,fragment", [
    ("not json", "config.json is not JSON"),
    ("not an object", "must hold a JSON object"),
    ("missing key", "has no 'hidden_size'"),
    ("string for a number", "num_hidden_layers must be a whole number, got '3'"),
    ("too big", "GiB free"),
    ("unknown model", "model_type 'gpt2' is not supported"),
    ("garbage weights", "is not a readable safetensors file"),
    ("truncated weights", ".safetensors"),
    ("wrong shape", "'model.layers.1.self_attn.k_proj.weight' has shape [16, 64], expected [32, 64]"),
])
def test_a_damaged_checkpoint_is_refused_in_one_line_naming_the_file(checkpoint, tmp_path, capsys, damage,
                                                                     fragment):
    path = broken_copy(checkpoint, tmp_path, damage)
    assert main(["generate", "--checkpoint", str(path), "--prompt-ids", "1,2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and fragment in err[0], err
