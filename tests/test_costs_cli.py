"""`python -m swa_demo costs`: the table, the comparison and the engine check as a user runs them; bad
input gets one line and exit code 2, a check that disagrees exit code 1, and torch is never imported
unless the engine runs."""

import json
import subprocess
import sys

import pytest
from published_configs import GEMMA2_9B, JAMBA

from swa_demo import cli, costs, costs_check


def run(capsys, *args) -> tuple[int, str, str]:
    code = cli.main(["costs", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_table_and_the_json(capsys):
    code, out, _ = run(capsys, "--preset", "mistral-7b", "--context", "4k,128k")
    assert code == 0 and "mistral-7b" in out and "512 MiB" in out and "128k*" in out and "7.24B" in out
    code, out, _ = run(capsys, "--context", "32k", "--json", "--compare", "--lang", "en")
    data = json.loads(out)
    assert {r["preset"] for r in data["rows"]} == set(costs.SHAPES)
    assert data["comparison"][0]["rows"][0][0] == "property" and data["check"] is None


def test_compare_follows_the_context(capsys):
    code, out, _ = run(capsys, "--preset", "jamba-v0.1", "--context", "32k,1M", "--compare", "--json")
    tables = json.loads(out)["comparison"]
    assert [t["context"] for t in tables] == [32 * 1024, 1024 * 1024]
    assert "32k" in tables[0]["rows"][1][0] and "1M" in tables[1]["rows"][1][0]
    code, out, _ = run(capsys, "--context", "16k", "--compare", "--lang", "en")
    assert "shape (16k context)" in out and "shape (128k context)" not in out


def test_a_config_file_is_a_row_of_its_own(capsys, tmp_path):
    folder = tmp_path / "gemma-2-9b"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(GEMMA2_9B))
    (tmp_path / "jamba.json").write_text(json.dumps(JAMBA))
    code, out, _ = run(capsys, "--config", str(folder / "config.json"),
                       "--config", str(tmp_path / "jamba.json"), "--context", "8k,32k")
    assert code == 0 and "gemma-2-9b" in out and "jamba " in out
    assert "32k*" in out and "gemma-2-9b 8k" in out and "extrapolated" in out  # Gemma 2 spans 8,192
    assert "transformers' cache keeps K per channel" in out and "+448 KiB for jamba" in out


@pytest.mark.parametrize("args,fragment", [
    (["--preset", "gpt-5"], "unknown cost preset"),
    (["--context", "4q"], "not a token count"),
    (["--context", "0"], "between 1 and 1024M"),
    (["--context", ""], "not a token count"),
    (["--context", "²"], "not a token count"),
    (["--context", "1²k"], "not a token count"),
    (["--context", "1e30"], "not a token count"),
    (["--context", "4" * 400], "between 1 and 1024M"),
    (["--context", "9" * 5000], "between 1 and 1024M"),
    (["--context", "2048M"], "between 1 and 1024M"),
    (["--lang", "fr"], "invalid choice"),
    (["--config", "/nonexistent/config.json"], "cannot be read"),
    (["--config", "/dev/zero"], "has over 1,048,576 bytes"),  # no size to trust: read at most that much
    (["--check", "--context", "32k"], "--check runs the engine on this CPU"),
])
def test_bad_input_gets_one_line_and_exit_code_2(args, fragment, capsys):
    code, out, err = run(capsys, *args)
    lines = err.strip().splitlines()
    assert code == 2 and out == "" and len(lines) == 1 and fragment in lines[0], err
    assert len(lines[0]) < 300  # 5,000 digits are not echoed back


@pytest.mark.parametrize("content,fragment", [
    ("{", "is not JSON"), ('"a string"', "JSON object, not a string"),
    (json.dumps(JAMBA | {"model_type": "rwkv"}), "model_type 'rwkv'"),
    (json.dumps(JAMBA | {"hidden_size": "4096"}), "'hidden_size' must be a whole number, got '4096'"),
    (json.dumps(JAMBA | {"model_type": ["jamba"]}), "model_type \"['jamba']\" is not one")])
def test_a_malformed_config_file_gets_one_line_naming_it(content, fragment, capsys, tmp_path):
    path = tmp_path / "config.json"
    path.write_text(content)
    code, out, err = run(capsys, "--config", str(path))
    assert code == 2 and out == "" and err.count("\n") == 1 and fragment in err and str(path) in err


def test_check_at_a_presets_shape_and_context_prints_json_only(capsys):
    code, out, err = run(capsys, "--preset", "mistral-7b", "--context", "100,200", "--check", "--json")
    data = json.loads(out)  # nothing but JSON on stdout
    assert code == 0 and err == "" and [c["ok"] for c in data["check"]] == [True]
    assert {r["context"] for r in data["check"][0]["bytes"]} == {100, 200}
    assert data["check"][0]["shape"] == "mistral-7b" and data["check"][0]["config_bytes"]["head_dim"] == 128


def test_check_exits_1_when_the_engine_and_the_formulas_disagree(capsys, monkeypatch):
    real = costs_check.layer_cache_bytes
    monkeypatch.setattr(costs_check, "layer_cache_bytes", lambda s, kind, n: real(s, kind, n) + 2)
    code, out, err = run(capsys, "--preset", "mistral-7b", "--context", "100", "--check")
    assert code == 1 and "DISAGREES" in out and "figures disagree" in out
    assert err.count("\n") == 1 and "disagree with the cost model" in err


def test_check_refuses_an_odd_head_dim_before_running_the_engine(capsys, tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(GEMMA2_9B | {"head_dim": 255}))
    code, out, err = run(capsys, "--config", str(path), "--context", "100", "--check")
    assert code == 2 and out == "" and err.count("\n") == 1 and "head_dim 255 is odd" in err


def test_layers_named_sliding_without_a_window_count_as_full(capsys, tmp_path):
    mistral = GEMMA2_9B | {"model_type": "mistral", "sliding_window": None,
                           "layer_types": ["sliding_attention", "full_attention"] * 21}
    (tmp_path / "nowindow.json").write_text(json.dumps(mistral))
    code, out, _ = run(capsys, "--config", str(tmp_path / "nowindow.json"), "--context", "4k", "--json")
    assert code == 0 and json.loads(out)["rows"][0]["layers"] == {"full": 42, "sliding": 0, "mamba": 0}


def test_costs_never_imports_torch():
    code = ("import sys; from swa_demo.cli import main; "
            "assert main(['costs', '--compare', '--context', '4k']) == 0; "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
