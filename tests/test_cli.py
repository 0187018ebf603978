"""The CLI: the walkthrough in text and JSON, and one-line errors with exit code 2 for bad input."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "swa_demo", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_walkthrough_text_zh_and_en():
    zh = cli("walkthrough")
    assert zh.returncode == 0, zh.stderr
    assert "prefill 阶段" in zh.stdout and "丢弃位置小于 3-2+1=2" in zh.stdout and "K₁ᴰ" in zh.stdout
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
