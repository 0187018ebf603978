"""The CLI: the walkthrough in text and JSON; one-line errors with exit code 2 for bad input, and the
limits of `generate` and the benchmarks, each with its reason."""

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from helpers import write_mistral_checkpoint

import swa_demo.cli as swa_cli
from swa_demo.cli import main
from swa_demo.interop import hf

ROOT = Path(__file__).resolve().parent.parent


def cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "swa_demo", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_walkthrough_text_zh_and_en():
    zh = cli("walkthrough")
    assert zh.returncode == 0, zh.stderr
    assert "prefill 阶段" in zh.stdout and "丢弃位置小于 3-2+1=2" in zh.stdout and "K₁[D]" in zh.stdout
    en = cli("walkthrough", "--lang", "en", "--policy", "ring")
    assert "D attends [C, D]" in en.stdout and "slot 1 (= 3 mod 2)" in en.stdout


def test_walkthrough_json_is_the_trace():
    out = cli("walkthrough", "--json", "--prompt", "A B C", "--new", "3")
    trace = json.loads(out.stdout)
    assert trace["generated"] == ["D", "E", "F"]
    assert [s["phase"] for s in trace["steps"]] == ["prefill", "decode", "decode"]


@pytest.mark.parametrize("args,fragment", [
    (["--prompt", "A1C"], "letters A-Z"),
    (["--prompt", ""], "empty"),
    (["--window", "0"], "--window must be between 1 and 64"),
    (["--layers", "0"], "layers"),
    (["--new", "100000"], "--new must be between 1 and 32"),
    (["--new", "x"], "--new takes a whole number"),
    (["--new", "²"], "--new takes a whole number"),
    (["--policy", "lazy"], "invalid choice"),
    (["--policy", "sink", "--sinks", "2"], "0 < S < W"),
    (["--chunk", "0"], "chunk"),
])
def test_bad_input_gets_one_line_and_exit_code_2(args, fragment):
    out = cli("walkthrough", *args)
    assert out.returncode == 2
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and fragment in lines[0], out.stderr


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_missing_or_corrupt_weights_file(tmp_path, damage):
    copy = tmp_path / "repo"
    shutil.copytree(ROOT / "swa_demo", copy / "swa_demo", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "assets" / "tiny", copy / "assets" / "tiny")
    weights = copy / "assets" / "tiny" / "sliding-L3.safetensors"
    if damage == "missing":
        weights.unlink()
    else:
        weights.write_bytes(weights.read_bytes()[:300])
    out = cli("walkthrough", cwd=copy)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "sliding-L3.safetensors" in lines[0] and "train" in lines[0], out.stderr


# ---- issue 11: every input answered with one line, limits that say why -----------------------------

def run_main(capsys, *args) -> tuple[int, str, list[str]]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err.strip().splitlines()


def assert_refused(result, fragment):
    code, out, err = result
    assert code == 2 and out == "", (code, out, err)
    assert len(err) == 1 and err[0].startswith("error:") and fragment in err[0], err


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return write_mistral_checkpoint(tmp_path_factory.mktemp("ckpt"), vocab=50, hidden=32, heads=4, kv_heads=2)


@pytest.mark.parametrize("device,fragment", [
    ("foo", "--device must be cpu, cuda or cuda:N, got 'foo'"),
    ("meta", "--device 'meta' holds shapes but no numbers"),
    ("cuda:0x", "--device must be cpu, cuda or cuda:N"),
])
def test_generate_refuses_a_device_it_cannot_compute_on(checkpoint, capsys, device, fragment):
    assert_refused(run_main(capsys, "generate", "--checkpoint", str(checkpoint), "--prompt-ids", "1",
                            "--device", device), fragment)


def test_a_cpu_allocation_failure_is_explained_like_a_gpu_one(checkpoint, capsys, monkeypatch):
    import swa_demo.generate

    def allocate_too_much(*args, **kwargs):
        torch.empty(2**62, dtype=torch.uint8)  # the real CPU allocator's RuntimeError

    monkeypatch.setattr(swa_demo.generate, "generate", allocate_too_much)
    assert_refused(run_main(capsys, "generate", "--checkpoint", str(checkpoint), "--prompt-ids", "1,2"),
                   "out of memory (")
    monkeypatch.undo()


@pytest.mark.parametrize("prompt_len,flag,chunk", [(100, None, None), (600, None, 512), (600, "50", 50)])
def test_long_prompts_are_prefilled_in_chunks_unless_told_otherwise(checkpoint, capsys, monkeypatch,
                                                                    prompt_len, flag, chunk):
    import swa_demo.generate

    seen, real = [], swa_demo.generate.generate
    monkeypatch.setattr(swa_demo.generate, "generate",
                        lambda *a, **kw: seen.append(kw["chunk"]) or real(*a, **kw))
    args = ["generate", "--checkpoint", str(checkpoint), "--prompt-ids", ",".join(["3"] * prompt_len),
            "--max-new-tokens", "2"] + (["--prefill-chunk", flag] if flag else [])
    code, out, err = run_main(capsys, *args)
    assert code == 0 and len(out.split()) == 2 and err == [], err
    assert seen == [chunk]


def test_a_run_that_would_not_fit_in_free_memory_is_refused_before_it_starts(checkpoint, capsys, monkeypatch):
    """A 20,000-token prompt in one pass needs the eager attention's scores for 20,000 x 20,000 pairs
    per head (here 4 x 1.6 GB x 2): with 2 GB free, refused, saying what it needs and what to change."""
    monkeypatch.setattr(hf, "available_memory", lambda device: 2 * 10**9)
    ids = ",".join(str(i % 50) for i in range(20_000))
    code, out, err = run_main(capsys, "generate", "--checkpoint", str(checkpoint), "--prompt-ids", ids,
                              "--prefill-chunk", "20000")
    assert_refused((code, out, err), "this run needs about 12.8 GB")
    assert "2.0 GB is free" in err[0] and "--prefill-chunk" in err[0]
    # the default chunks need a few MB: the same prompt runs
    code, out, err = run_main(capsys, "generate", "--checkpoint", str(checkpoint), "--prompt-ids", ids,
                              "--max-new-tokens", "1")
    assert code == 0 and len(out.split()) == 1


@pytest.mark.parametrize("args,fragment", [
    (["--max-new-tokens", "100000"], f"--max-new-tokens must be between 1 and {swa_cli.MAX_NEW_TOKENS}"),
    (["--max-new-tokens", "0"], "--max-new-tokens must be between 1"),
    (["--prompt-ids", ",".join(["1"] * 32_000), "--max-new-tokens", "1000"],
     "32000 prompt tokens and 1000 new ones make 33000 positions; at most 32768"),
    (["--prompt-ids", ",".join(["1"] * 40_000)], "--prompt-ids has 40000 values; use at most 32767"),
    (["--prompt-ids", "1,-2"], "comma-separated whole numbers"),
    (["--prompt-ids", "1,²"], "comma-separated whole numbers"),
    (["--prompt-ids", " , "], "--prompt-ids is empty"),
    (["--prefill-chunk", "0"], "--prefill-chunk must be between 1"),
])
def test_generate_limits_say_what_they_are(checkpoint, capsys, args, fragment):
    base = {"--prompt-ids": "1,2,3"}
    for flag, value in zip(args[::2], args[1::2]):
        base[flag] = value
    argv = ["generate", "--checkpoint", str(checkpoint)] + [x for kv in base.items() for x in kv]
    assert_refused(run_main(capsys, *argv), fragment)


def test_printing_more_logits_than_the_cap_is_refused(tmp_path, capsys):
    big_vocab = write_mistral_checkpoint(tmp_path / "v5000", vocab=5000)
    assert_refused(run_main(capsys, "generate", "--checkpoint", str(big_vocab), "--prompt-ids", "1",
                            "--max-new-tokens", "4000", "--json"), "--json would print 20,000,000 logits")


def test_a_long_run_draws_a_progress_bar_on_a_terminal(checkpoint, capsys, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["generate", "--checkpoint", str(checkpoint), "--prompt-ids", ",".join(["1"] * 300),
                 "--max-new-tokens", "3"]) == 0
    assert "generate:" in terminal.getvalue() and "/302 [" in terminal.getvalue()  # tqdm drew a bar
    assert len(capsys.readouterr().out.split()) == 3


@pytest.mark.parametrize("repeat", ["0", "-1", "1001", "x"])
def test_bench_walkthrough_repeats_are_1_to_1000(capsys, repeat):
    assert_refused(run_main(capsys, "bench", "walkthrough", "--repeat", repeat), "--repeat")


@pytest.mark.parametrize("where,fragment", [
    ("/proc/nope/x.json", "the folder '/proc/nope' does not exist"),
    ("{tmp}/missing/deeper/x.json", "does not exist; create it first"),
    ("{tmp}", "is a folder; give a file name"),
    ("/proc/x.json", "cannot write '/proc/x.json'"),
    ("~nobody_here_swa/x.json", "the folder '~nobody_here_swa/x.json' does not exist"),  # no such home
])
def test_json_outputs_are_checked_before_the_work_and_no_folder_is_made(tmp_path, capsys, where, fragment):
    path = where.format(tmp=tmp_path)
    assert_refused(run_main(capsys, "bench", "walkthrough", "--repeat", "1", "--json", path), fragment)
    assert not (tmp_path / "missing").exists()


def test_bench_gpu_without_json_writes_under_the_repositorys_assets(tmp_path, capsys, monkeypatch):
    from swa_demo import bench_runs

    written = []
    monkeypatch.setattr(bench_runs, "run", lambda plan, out, **kw: written.append(out))
    monkeypatch.chdir(tmp_path)
    assert main(["bench", "gpu", "--plan", "hybrid"]) == 0
    assert written == [ROOT / "assets" / "bench" / "gpu_hybrid.json"]


def test_an_ascii_terminal_gets_escapes_not_a_unicode_error():
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    run = lambda *a: subprocess.run([sys.executable, "-m", "swa_demo", *a], cwd=ROOT, env=env,  # noqa: E731
                                    capture_output=True, timeout=120)
    text = run("walkthrough")
    assert text.returncode == 0 and text.stdout.isascii() and b"\\u" in text.stdout
    assert text.stderr.decode().startswith("note: the output's encoding (ascii)")
    as_json = run("walkthrough", "--json")
    assert json.loads(as_json.stdout) == json.loads(cli_json_utf8())


def cli_json_utf8() -> str:
    return cli("walkthrough", "--json").stdout


def test_a_reader_that_stops_early_gets_no_traceback():
    proc = subprocess.Popen([sys.executable, "-m", "swa_demo", "walkthrough"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.read(10)
    proc.stdout.close()  # as `| head -c 10` does
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert "Traceback" not in err and "Error" not in err, err
