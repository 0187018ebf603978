"""Generated command lines for every subcommand: each ends in its output (exit 0) or in exactly one
`error:` line on stderr (exit 2), never in a traceback, and never runs for more than a minute.

Argument lists mix valid values, edge values (0, -1, the limits and one past them), numbers
`int` would misread ('²', '٣', '1e3', 25 digits), unknown flags and arbitrary text, in any order.
They run in this process through `cli.main`. `generate` runs against a tiny checkpoint made here;
`train`, `bench gpu` / `bench plots` and `stream` run their argument checks only (the training, the
benchmark, the chart writer and the streaming experiment are replaced by recorders), and `walkthrough
--model smollm2` runs on a stand-in source (the tiny model behind a character tokenizer), so no case
waits for SmolLM2's conversion. `costs --check` is left out: it runs the engine, and belongs to the
costs module's own tests.

The counts (tried, clean exits, one-line refusals, tracebacks, hangs) go to
`tests/artifacts/cli_fuzz.json` and are printed at the end (`pytest -s`).
"""

from __future__ import annotations

import contextlib
import io
import json
import signal
from collections import Counter
from pathlib import Path

import pytest
from helpers import write_mistral_checkpoint
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from swa_demo.cli import main

ROOT = Path(__file__).resolve().parent.parent
HANG_S = 60  # a case still running after this is a hang
STATS: dict[str, Counter] = {}


class Hang(Exception):
    pass


def run(command: str, argv: list[str]) -> tuple[int, str, str]:
    """`main(argv)` with stdout/stderr captured and a time limit; records the outcome under `command`."""
    stats = STATS.setdefault(command, Counter())
    stats["tried"] += 1
    out, err = io.StringIO(), io.StringIO()

    def alarm(*_):
        raise Hang(f"still running after {HANG_S} s: {argv}")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(HANG_S)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exit_:  # --help
                code = exit_.code
    except Hang:
        stats["hangs"] += 1
        raise
    except BaseException:
        stats["tracebacks"] += 1
        raise
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    stats["clean" if code == 0 else "refused" if code == 2 else f"exit {code}"] += 1
    return code, out.getvalue(), err.getvalue()


def check(command: str, argv: list[str]) -> None:
    code, out, err = run(command, argv)
    assert code in (0, 2), (argv, code, err)
    lines = err.strip().splitlines()
    if code == 2:
        assert out == "" and len(lines) == 1 and lines[0].startswith("error:"), (argv, out, err)
    else:
        assert all(line.startswith("note:") for line in lines), (argv, err)


# ---- values ------------------------------------------------------------------------------------

EDGE_NUMBERS = ["0", "1", "2", "3", "-1", "-0", "+2", " 4 ", "32", "33", "64", "65", "1e3", "1.5", "²", "٣",
                "0x10", "", " ", "nan", "9" * 25, "-" + "9" * 19]
TEXT = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=12)
# "\udcff": how Python hands over an argument byte that is not UTF-8
ODD = st.sampled_from(["--nope", "-x", "--", "\udcff", "ABC", "--json=1", "-h"])


def mostly(valid: st.SearchStrategy, other: st.SearchStrategy) -> st.SearchStrategy:
    """`valid` three times in four: a line of several flags still runs now and then."""
    return st.one_of(valid, valid, valid, other)


def number(*valid: int) -> st.SearchStrategy[str]:
    """A numeric flag's value: mostly valid, else an edge value, any small integer or text."""
    return mostly(st.sampled_from([str(v) for v in valid]),
                  st.one_of(st.sampled_from(EDGE_NUMBERS), st.integers(-3, 40).map(str), TEXT))


def command_line(head: list[str], options: dict[str, st.SearchStrategy | None]) -> st.SearchStrategy:
    """`head` then any subset of `options` in any order (a None strategy: a flag without a value),
    sometimes a repeated flag or an odd token."""
    def build(draw):
        argv = list(head)
        names = draw(st.lists(st.sampled_from(sorted(options)), max_size=len(options) + 1))
        for name in names:
            strategy = options[name]
            argv += [name] if strategy is None else [name, draw(strategy)]
        if draw(st.integers(0, 9)) == 0:
            argv.insert(draw(st.integers(len(head), len(argv))), draw(ODD))
        return argv
    return st.composite(lambda draw: build(draw))()


FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# ---- the subcommands ---------------------------------------------------------------------------

WALKTHROUGH = command_line(["walkthrough"], {
    "--prompt": st.one_of(st.sampled_from(["ABC", "A B C", "a,b,c", "XYZ", "Z" * 32, "Z" * 33, "A1", ""]),
                          TEXT),
    "--new": number(1, 3, 5), "--window": number(1, 2, 3), "--layers": number(1, 3, 6),
    "--policy": st.sampled_from(["seed", "ring", "sink", "mask-only", "lazy", ""]),
    "--pattern": st.sampled_from(["sliding", "gemma2", "gemma3", "jamba", "full", "mistral"]),
    "--sinks": number(1, 2), "--chunk": number(1, 2, 4), "--lang": st.sampled_from(["zh", "en", "fr"]),
    "--json": None,
})


@settings(FUZZ, max_examples=400)
@given(argv=WALKTHROUGH)
def test_walkthrough_command_lines(argv):
    check("walkthrough", argv)


@pytest.fixture(scope="module")
def stand_in_real_model():
    """`walkthrough --model smollm2` on the tiny model behind a character tokenizer: every code path of
    the real-text walkthrough but the model's size."""
    from swa_demo import tiny, walkthrough

    def source(progress=None):
        return walkthrough.Source(tiny.load(3), lambda text: [ord(c) % 26 for c in text], tiny.label,
                                  lambda ids: [tiny.label(i) for i in ids], "smollm2")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(walkthrough, "real_source", source)
        yield


@settings(FUZZ, max_examples=150)
@given(argv=command_line(["walkthrough", "--model", "smollm2"], {
    "--text": st.one_of(st.sampled_from(["The capital of France is", "", " ", "中文", "x" * 70, "x" * 5000]),
                        TEXT),
    "--new": number(1, 3), "--window": number(1, 8, 8192, 8193), "--pattern": st.sampled_from(
        ["sliding", "gemma2", "gemma3", "full", "jamba"]),
    "--policy": st.sampled_from(["ring", "sink", "seed", "mask-only", "full"]), "--sinks": number(1, 4),
    "--prompt": st.just("ABC"), "--json": None, "--lang": st.sampled_from(["zh", "en"]),
}))
def test_real_walkthrough_command_lines(stand_in_real_model, argv):
    check("walkthrough smollm2", argv)


@pytest.fixture(scope="module")
def no_stream_runs():
    """`stream` checks its arguments and reads its text, then calls these recorders."""
    from swa_demo import stream
    from swa_demo.interop import smollm2

    class Tok:
        def encode(self, text):
            return list(range(len(text)))

    with pytest.MonkeyPatch.context() as mp:
        calls = []
        mp.setattr(smollm2, "load", lambda **kw: (None, Tok()))
        mp.setattr(stream, "experiment", lambda *a, **kw: calls.append(a[2:]) or [])
        yield calls


@settings(FUZZ, max_examples=150)
@given(data=st.data())
def test_stream_argument_checks(no_stream_runs, tmp_path_factory, data):
    tmp = tmp_path_factory.getbasetemp()
    text = tmp / "text.txt"
    text.write_text("x" * 3000)
    (tmp / "latin1.txt").write_bytes("café".encode("latin-1"))
    argv = data.draw(command_line(["stream"], {
        "--tokens": number(2, 100, 16384, 16385), "--window": number(1, 32, 256),
        "--sinks": number(1, 4), "--policies": st.one_of(st.sampled_from(
            ["full,window,sink,recompute", "sink", "window,bogus", "", ",,"]), TEXT),
        "--positions": st.sampled_from(["absolute", "cache", "both", "relative"]),
        "--text-file": st.sampled_from([str(text), str(tmp / "nope.txt"), str(tmp), str(tmp / "latin1.txt")]),
        "--device": st.sampled_from(["cpu", "cuda", "meta", "gpu"]),
        "--out": st.sampled_from([str(tmp / "s.json"), str(tmp / "no" / "s.json"), str(tmp)]),
        "--json": None,
    }))
    check("stream", argv)


@pytest.fixture(scope="module")
def no_training():
    """`train` parses and checks its arguments, then calls these: recorders instead of minutes of work
    (and no shipped weights overwritten)."""
    from swa_demo import tiny

    with pytest.MonkeyPatch.context() as mp:
        calls = []
        mp.setattr(tiny, "train", lambda n, pattern, **kw: calls.append((n, pattern)))
        mp.setattr(tiny, "save", lambda model, path: None)
        yield calls


@settings(FUZZ, max_examples=100)
@given(argv=command_line(["train"], {"--layers": number(1, 3, 6),
                                     "--pattern": st.sampled_from(["sliding", "gemma3", "jamba", "x"]),
                                     "--all": None}))
def test_train_argument_checks(no_training, argv):
    before = len(no_training)
    check("train", argv)
    assert all(1 <= n <= 6 for n, _ in no_training[before:])  # only valid layer counts reach training


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return str(write_mistral_checkpoint(tmp_path_factory.mktemp("fuzz_ckpt"), vocab=50, hidden=16))


IDS = st.one_of(st.lists(st.integers(0, 60), max_size=40).map(lambda ids: ",".join(map(str, ids))),
                st.sampled_from(["1,2,3", "1,,2,", " 7 ", "-1", "1;2", "1 2", "²", "1e3", ",", "49", "50"]),
                TEXT)


@settings(FUZZ, max_examples=400)
@given(data=st.data())
def test_generate_command_lines(checkpoint, data):
    # Mostly the two required flags first (else nearly every line is refused for a missing one).
    head = ["generate"] + data.draw(mostly(st.just(["--checkpoint", checkpoint, "--prompt-ids", "1,2,3"]),
                                           st.sampled_from([["--checkpoint", checkpoint], []])))
    argv = data.draw(command_line(head, {
        "--checkpoint": st.one_of(st.just(checkpoint), TEXT, st.just("/proc/nope")),
        "--prompt-ids": mostly(st.lists(st.integers(0, 49), min_size=1, max_size=40).map(
            lambda ids: ",".join(map(str, ids))), IDS),
        "--max-new-tokens": number(1, 4, 16, 4096, 4097),
        "--prefill-chunk": number(1, 2, 5, 32768, 32769),
        "--policy": mostly(st.sampled_from(["ring", "seed", "mask-only"]), st.just("sink")),
        "--dtype": mostly(st.sampled_from(["float32", "bfloat16", "float16"]), st.just("int8")),
        "--device": mostly(st.sampled_from(["cpu", "CPU"]), st.sampled_from(["cuda", "cuda:1", "meta", "foo",
                                                                             "", "cpu:0"])),
        "--json": None,
    }))
    check("generate", argv)


@settings(FUZZ, max_examples=100)
@given(argv=command_line(["costs"], {
    "--preset": st.one_of(st.sampled_from(["mistral-7b", "jamba-v0.1", "gemma-3-27b", "nope"]), TEXT),
    "--context": st.one_of(
        st.lists(st.sampled_from(["1", "100", "4k", "32k", "128k", "1M", "2M"]), min_size=1,
                 max_size=4).map(",".join),
        st.sampled_from(["²", "1e30", "9" * 400, "9" * 5000, "0", "-1", "4K", "1m", "abc", "", ",",
                         "4k,,8k"])),
    "--config": st.sampled_from([str(ROOT / "pyproject.toml"), "/proc/nope/config.json", str(ROOT)]),
    "--json": None, "--compare": None, "--lang": st.sampled_from(["zh", "en", "de"]),
}))
def test_costs_command_lines(argv):
    check("costs", argv)


@settings(FUZZ, max_examples=120)
@given(data=st.data())
def test_bench_walkthrough_command_lines(tmp_path_factory, data):
    tmp = tmp_path_factory.getbasetemp()
    argv = data.draw(command_line(["bench", "walkthrough"], {
        "--repeat": st.one_of(st.sampled_from(["1", "2", "0", "-1", "1001", "x", "²", "9" * 30]), TEXT),
        "--json": st.sampled_from([str(tmp / "w.json"), str(tmp / "no" / "w.json"), "/proc/nope/x.json",
                                   str(tmp), "", "/proc/x.json"]),
    }))
    check("bench walkthrough", argv)
    assert not (tmp / "no").exists()


@pytest.fixture(scope="module")
def no_gpu_runs():
    """`bench gpu` and `bench plots` check their arguments, then call these recorders."""
    from swa_demo import bench_runs, bench_tp
    from swa_demo.ui import gpu_figures

    with pytest.MonkeyPatch.context() as mp:
        calls = []
        mp.setattr(bench_runs, "run", lambda plan, out, **kw: calls.append(("gpu", out)))
        mp.setattr(bench_tp, "run", lambda name, out, layers: calls.append(("tp", out)))
        mp.setattr(gpu_figures, "write_charts", lambda: [])
        yield calls


@settings(FUZZ, max_examples=120)
@given(data=st.data())
def test_bench_gpu_argument_checks(no_gpu_runs, tmp_path_factory, data):
    tmp = tmp_path_factory.getbasetemp()
    argv = data.draw(command_line(["bench", data.draw(st.sampled_from(["gpu", "plots", "nope"]))], {
        "--plan": st.one_of(st.sampled_from(["smoke", "kernel-sweep", "hybrid", "tp", "tp-prefill", "tp-cpu",
                                             "nope", ""]), TEXT),
        "--layers": number(1, 2, 32, 33),
        "--json": st.sampled_from([str(tmp / "g.json"), str(tmp / "no" / "g.json"), str(tmp)]),
        "--repeat": number(1, 2),
    }))
    check("bench gpu", argv)


@settings(FUZZ, max_examples=60)
@given(argv=st.lists(st.one_of(st.sampled_from(["walkthrough", "bench", "costs", "frobnicate", "--json",
                                                 "-h", "--help", "--nope"]), TEXT), max_size=3))
def test_top_level_command_lines(argv):
    """No subcommand, an unknown one, or help: still exit 0 or one line and 2."""
    if argv and argv[0] in ("walkthrough", "bench", "costs") and len(argv) == 1:
        argv = argv + ["--nope"]  # keep the fast path: a bare valid subcommand is fuzzed above
    check("top level", argv)


@pytest.fixture(scope="module", autouse=True)
def summary(tmp_path_factory):
    """Run in an empty folder (a generated `--json=1` writes the file `1` where the command runs), with
    one thread for the tiny models (a second one only waits, 10x slower on a busy machine); after the
    module, the counts per subcommand, printed and written to tests/artifacts/."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path_factory.mktemp("fuzz_cwd"))
        yield
    torch.set_num_threads(threads)
    total = sum(STATS.values(), Counter())
    report = {"total": dict(total), "by_command": {k: dict(v) for k, v in STATS.items()}}
    folder = ROOT / "tests" / "artifacts"
    folder.mkdir(exist_ok=True)
    (folder / "cli_fuzz.json").write_text(json.dumps(report, indent=1))
    print(f"\nCLI fuzz: {total['tried']} command lines, {total['clean']} clean exits, {total['refused']} "
          f"one-line refusals, {total['tracebacks']} tracebacks, {total['hangs']} hangs")


def test_every_subcommand_ran_clean_somewhere():
    """Exit code 0 or 2 is allowed for each case, so a CLI that refused everything would pass them all:
    over the module, every subcommand must also have run to a clean exit."""
    if not STATS:
        pytest.skip("counts the cases of the tests above; run it with them")
    never = [command for command, counts in STATS.items() if counts["clean"] == 0]
    assert not never, f"no generated case ran clean for: {never}"
