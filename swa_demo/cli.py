"""`python -m swa_demo ...`: walkthrough, train, generate, costs, bench.

Every input gets an answer: the command's output (exit 0), or one line on stderr starting `error:`
and exit code 2, never a traceback. `main` is the one place that turns an expected failure into that
line: a bad value, a missing or unwritable file, out of memory (the GPU's or the CPU allocator's).
Numbers, devices, token lists and output files are parsed by argument types built on `validate.py`
while the command line is read, so a mistake is refused before any work starts. A traceback that
still escapes is a bug, and `tests/test_cli_fuzz.py` looks for them with generated argument lists.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch

from . import paths, validate
from .bench import MAX_REPEAT
from .config import PATTERNS, POLICIES, ConfigError
from .tiny import MAX_LAYERS, WeightsError
from .walkthrough import MAX_NEW, MAX_PROMPT, MAX_WINDOW


class UsageError(Exception):
    """A command line that cannot be read. Not a ValueError: argparse would swallow that one from an
    argument type and print its own 'invalid ... value' instead of our sentence."""


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse's default prints the usage too)
        raise UsageError(message)


# ---- argument types: validate.py parses, a bad value ends the parse with its sentence ------------

def _refusing(parse):
    def wrapped(raw: str):
        try:
            return parse(raw)
        except validate.Invalid as err:
            raise UsageError(str(err)) from None
    return wrapped


def whole(field: str, lo: int, hi: int):
    """A whole number typed in ASCII digits, inside [lo, hi]."""
    return _refusing(lambda raw: validate.parse_int(field, raw, lo, hi))


def output_file(field: str = "json"):
    return _refusing(lambda raw: validate.output_file(field, raw))


def device(field: str = "device"):
    return _refusing(lambda raw: validate.parse_device(field, raw))


def token_ids(field: str = "prompt-ids"):
    """Comma-separated ids; as many as fit MAX_POSITIONS with one new token (the vocabulary is checked
    once the checkpoint is loaded)."""
    return _refusing(lambda raw: validate.parse_int_list(field, raw, 0, 2**31 - 1, MAX_POSITIONS - 1,
                                                         f"{MAX_POSITIONS:,} positions in all"))


# ---- generate: the limits, and why ----------------------------------------------------------------

# Positions of one run (prompt + new tokens): Mistral-7B-v0.1's max_position_embeddings, the context
# such checkpoints were trained for. Longer contexts are what `bench gpu` measures (up to 1M, on a GPU).
MAX_POSITIONS = 32_768
# New tokens: each keeps its row of logits (and `--json` prints it), and each is one eager step on
# this machine's device; longer generations are a benchmark's job, not a command's.
MAX_NEW_TOKENS = 4_096
# A prompt longer than this is prefilled in chunks of this many tokens unless --prefill-chunk says
# otherwise: the eager attention holds H x chunk x keys scores and their softmax, which for a
# 20,000-token prompt in one pass is 2 x H x 1.6 GB (float32), where 512-token chunks need at most
# 2 x H x 41 MB (`generate.memory_estimate`).
DEFAULT_PREFILL_CHUNK = 512
# `--json` prints new x vocabulary logits as text, about 20 bytes each: at most ~200 MB of output.
MAX_JSON_LOGITS = 10_000_000
# Runs covering more positions than this show a progress bar (tqdm, on stderr, only on a terminal).
PROGRESS_AFTER = 256


def build_parser() -> Parser:
    p = Parser(prog="python -m swa_demo", description="Sliding-window attention, step by step.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)

    w = sub.add_parser("walkthrough", help="run the tiny model and narrate every layer of every step")
    w.add_argument("--prompt", default="ABC", help="letters, e.g. ABC or 'A B C' (default ABC)")
    w.add_argument("--new", type=whole("new", 1, MAX_NEW), default=3,
                   help=f"tokens to generate, 1-{MAX_NEW} (default 3)")
    w.add_argument("--window", type=whole("window", 1, MAX_WINDOW), default=2,
                   help=f"sliding window W, 1-{MAX_WINDOW} (default 2)")
    w.add_argument("--layers", type=whole("layers", 1, MAX_LAYERS), default=3,
                   help=f"decoder layers, 1-{MAX_LAYERS} (default 3)")
    w.add_argument("--policy", default="seed", choices=POLICIES, help="sliding-layer cache policy")
    w.add_argument("--pattern", default="sliding", choices=list(PATTERNS), help="layer pattern")
    # S's range depends on W: the walkthrough checks it with the other settings (0 < S < W).
    w.add_argument("--sinks", type=whole("sinks", -10**18, 10**18), default=0,
                   help="attention sinks S, 0 < S < W (policy sink)")
    w.add_argument("--chunk", type=whole("chunk", 1, MAX_PROMPT), default=None,
                   help="prefill this many tokens at a time")
    w.add_argument("--lang", default="zh", choices=("zh", "en"))
    w.add_argument("--json", action="store_true", help="print the trace as JSON")

    t = sub.add_parser("train", help="retrain a tiny alphabet model from its fixed seed")
    t.add_argument("--layers", type=whole("layers", 1, MAX_LAYERS), default=3)
    t.add_argument("--pattern", default="sliding", choices=list(PATTERNS))
    t.add_argument("--all", action="store_true", help="every shipped layer count and pattern")

    g = sub.add_parser("generate", help="greedy generation from a transformers Mistral checkpoint")
    g.add_argument("--checkpoint", required=True, help="directory with config.json + *.safetensors")
    g.add_argument("--prompt-ids", required=True, type=token_ids(),
                   help="comma-separated token ids, e.g. 1,2,3")
    g.add_argument("--max-new-tokens", type=whole("max-new-tokens", 1, MAX_NEW_TOKENS), default=16,
                   help=f"tokens to generate, 1-{MAX_NEW_TOKENS} (default 16)")
    g.add_argument("--prefill-chunk", type=whole("prefill-chunk", 1, MAX_POSITIONS), default=None,
                   help=f"prefill this many tokens at a time (default: {DEFAULT_PREFILL_CHUNK} for longer "
                        "prompts, else all at once)")
    g.add_argument("--policy", default="ring", choices=("ring", "seed", "mask-only"))
    g.add_argument("--dtype", default="float32", choices=("float32", "bfloat16", "float16"))
    g.add_argument("--device", default="cpu", type=device(), help="cpu, cuda or cuda:N")
    g.add_argument("--json", action="store_true", help="print {tokens, logits} as JSON")

    b = sub.add_parser("bench", help="benchmarks: the walkthrough (CPU) or the 7B engine (GPU)")
    b.add_argument("what", nargs="?", default="walkthrough", choices=("walkthrough", "gpu", "plots"),
                   help="walkthrough: CPU timing; gpu: the 7B benchmark; plots: charts of recorded runs")
    b.add_argument("--repeat", type=whole("repeat", 1, MAX_REPEAT), default=20,
                   help=f"walkthrough: timed repeats, 1-{MAX_REPEAT} (default 20)")
    b.add_argument("--plan", default="smoke",
                   help="gpu: smoke, kernel-sweep, kernel-prefill, hybrid, compiled-rest, transformers, "
                        "interop; tensor parallel under torchrun: tp, tp-prefill, tp-cpu")
    b.add_argument("--layers", type=whole("layers", 1, 32), default=None,
                   help="gpu: decoder layers of the 7B shape, 1-32 (default 32)")
    b.add_argument("--json", type=output_file(), default=None,
                   help="write the figures to this file (its folder must exist); gpu: default "
                        "assets/bench/gpu_PLAN.json")

    c = sub.add_parser("costs", help="KV-cache/state bytes and FLOPs against context, at real model shapes")
    c.add_argument("--preset", default=None, help="one shape (default: all), e.g. mistral-7b, jamba-v0.1")
    c.add_argument("--context", default="4k,32k,128k,1M",
                   help="token counts, k = 1024 (default 4k,32k,128k,1M)")
    c.add_argument("--json", action="store_true", help="print the rows as JSON")
    c.add_argument("--compare", action="store_true", help="also print seed 004's comparison table (at 128k)")
    c.add_argument("--lang", default="zh", choices=("zh", "en"), help="language of the comparison table")
    c.add_argument("--check", action="store_true", help="also run the engine on the CPU and print "
                   "measured cache bytes and counted FLOPs next to the analytic ones")
    return p


# ---- the one place where expected failures become one line -----------------------------------------

def out_of_memory(err: BaseException) -> bool:
    """The GPU's out-of-memory error, Python's MemoryError, or the CPU allocator's RuntimeError
    ("DefaultCPUAllocator: can't allocate memory"): the same failure, the same answer."""
    return (isinstance(err, (MemoryError, torch.OutOfMemoryError))
            or (isinstance(err, RuntimeError) and "can't allocate memory" in str(err)))


def first_line(err: BaseException, limit: int = 200) -> str:
    lines = str(err).strip().splitlines()
    return lines[0][:limit] if lines else type(err).__name__


def main(argv: list[str] | None = None) -> int:
    tolerate_any_output_encoding()
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except (UsageError, ConfigError, WeightsError) as err:  # ConfigError includes validate.Invalid
        return fail(str(err))
    except OSError as err:  # a file that cannot be read or written, a full disk
        where = f"{err.filename}: " if err.filename else ""
        return fail(f"{where}{err.strerror or first_line(err)}")
    except (MemoryError, RuntimeError) as err:
        if not out_of_memory(err):
            raise  # not an input problem: a bug, and its traceback is the report
        return fail(f"out of memory ({first_line(err, 160)}); try a shorter prompt, a smaller "
                    "--prefill-chunk, fewer new tokens, --policy ring, or a smaller batch")
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


def fail(message: str) -> int:
    print("error: " + " ".join(message.split()), file=sys.stderr)  # one line, whatever the message held
    return 2


def tolerate_any_output_encoding() -> None:
    """Characters the output's encoding lacks (PYTHONIOENCODING=ascii, a C locale) are written as \\u
    escapes instead of ending in a UnicodeEncodeError; JSON stays valid, since its strings read them."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


def emit(text: str) -> None:
    """Print a command's output; say once on stderr when the encoding forced escapes into it."""
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        print(f"note: the output's encoding ({encoding}) lacks some characters; they are written as "
              "\\u escapes (PYTHONIOENCODING=utf-8 shows them)", file=sys.stderr)
    try:
        print(text)
        sys.stdout.flush()
    except BrokenPipeError:  # the reader stopped early (`| head`): nothing left to say to it
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


# ---- the commands ----------------------------------------------------------------------------------

def cmd_walkthrough(args) -> int:
    from .narrate import narrate
    from .walkthrough import Settings, run

    trace = run(Settings(prompt=args.prompt, new=args.new, window=args.window, layers=args.layers,
                         policy=args.policy, pattern=args.pattern, sinks=args.sinks,
                         chunk=args.chunk))
    emit(trace.to_json(indent=1) if args.json else narrate(trace, args.lang))
    return 0


def cmd_train(args) -> int:
    from . import tiny

    jobs = ([(n, p) for p in tiny.SHIPPED_PATTERNS for n in range(1, tiny.MAX_LAYERS + 1)]
            if args.all else [(args.layers, args.pattern)])
    for n, pattern in jobs:
        model = tiny.train(n, pattern)
        tiny.save(model, tiny.weights_path(n, pattern))
        print(f"saved {tiny.weights_path(n, pattern)}")
    return 0


def generate_problems(ids: list[int], new: int, json_out: bool, model=None,
                      chunk: int | None = None, policy: str = "ring", device: str = "cpu") -> list:
    """What is wrong with a `generate` run: before loading (positions), then with the model (vocabulary,
    printed logits, memory against what is free)."""
    from .validate import Problem

    problems = []
    if len(ids) + new > MAX_POSITIONS:
        problems.append(Problem("max-new-tokens", "positions", {
            "p": len(ids), "n": new, "total": len(ids) + new, "hi": MAX_POSITIONS,
            "why": "the context Mistral-7B-v0.1 was trained for"}))
    if model is None:
        return problems
    vocab = model.cfg.vocab_size
    bad = [i for i in ids if i >= vocab]
    if bad:
        problems.append(Problem("prompt-ids", "vocab", {"v": bad[0], "hi": vocab - 1}))
    if json_out and new * vocab > MAX_JSON_LOGITS:
        problems.append(Problem("json", "json_size", {"n": new * vocab, "steps": new, "vocab": vocab,
                                                      "hi": MAX_JSON_LOGITS}))
    from .generate import memory_estimate

    need = memory_estimate(model.cfg, len(ids), new, policy, chunk)
    if json_out:  # Python floats in lists, then the text: about 52 bytes per printed logit
        need["JSON"] = new * vocab * 52
    free = free_memory(device)
    if free is not None and sum(need.values()) > 0.9 * free:
        parts = ", ".join(f"{k} {gb(v)}" for k, v in need.items() if v >= 1e6)
        problems.append(Problem("memory", "memory", {
            "need": gb(sum(need.values())), "parts": parts, "free": gb(free),
            "fix": "try a smaller --prefill-chunk, fewer tokens, --policy ring or leaving out --json"}))
    return problems


def gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e8 else f"{n / 1e6:.0f} MB"


def free_memory(device: str) -> int | None:
    """Bytes free for new tensors on `device`: the GPU's free memory, or the host's MemAvailable
    (Linux); None where neither can be read (no check is made)."""
    if device.startswith("cuda"):
        return torch.cuda.mem_get_info(torch.device(device))[0]
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def cmd_generate(args) -> int:
    import json

    from .generate import generate
    from .interop import load_checkpoint

    ids, new = args.prompt_ids, args.max_new_tokens
    chunk = args.prefill_chunk or (DEFAULT_PREFILL_CHUNK if len(ids) > DEFAULT_PREFILL_CHUNK else None)
    problems = generate_problems(ids, new, args.json)
    if problems:
        raise validate.Invalid(problems)
    model = load_checkpoint(args.checkpoint, args.dtype, args.device)
    problems = generate_problems(ids, new, args.json, model, chunk, args.policy, args.device)
    if problems:
        raise validate.Invalid(problems)
    bar = None
    if len(ids) + new > PROGRESS_AFTER:
        from tqdm import tqdm

        bar = tqdm(total=len(ids) + new - 1, unit="pos", desc="generate", file=sys.stderr,
                   disable=None, leave=False)  # disable=None: drawn only on a terminal
    try:
        out = generate(model, [ids], new, policy=args.policy, chunk=chunk,
                       progress=bar.update if bar else None)
    finally:
        if bar:
            bar.close()
    tokens = out.tokens[0].tolist()
    if args.json:
        emit(json.dumps({"tokens": tokens, "logits": out.logits[0].float().tolist()}))
    else:
        emit(" ".join(map(str, tokens)))
    return 0


def cmd_bench(args) -> int:
    if args.what == "walkthrough":
        from .bench import bench_walkthrough

        bench_walkthrough(repeat=args.repeat, json_path=args.json)
        return 0
    if args.what == "plots":
        from .ui.gpu_figures import write_charts

        for path in write_charts():
            print(f"wrote {path}")
        return 0
    from . import bench_gpu, bench_tp

    # Without --json, the plan's file in the repository's assets/bench/, wherever the command runs.
    out = args.json or paths.ASSETS / "bench" / f"gpu_{args.plan}.json"
    if args.plan in bench_tp.PLANS:  # tensor parallel, under torchrun: its own module
        bench_tp.run(args.plan, out, args.layers)
        return 0
    if args.plan not in bench_gpu.PLANS:
        plans = [*bench_gpu.PLANS, *bench_tp.PLANS]
        raise ConfigError(f"unknown plan {args.plan!r}; use one of {', '.join(plans)}")
    plan = {**bench_gpu.PLANS[args.plan], **({"layers": args.layers} if args.layers else {})}
    try:
        bench_gpu.run(plan, Path(out))
    except bench_gpu.GpuError as err:
        raise ConfigError(str(err)) from None
    return 0


def cmd_costs(args) -> int:
    import json

    from . import costs

    contexts = costs.parse_contexts(args.context)
    names = [costs.shape(args.preset).name] if args.preset else list(costs.SHAPES)
    rows = costs.table(names, contexts)
    compare = costs.comparison_markdown(args.lang) if args.compare else None
    if args.json:
        print(json.dumps({"rows": rows, "comparison": compare and costs.comparison_rows(args.lang)},
                         ensure_ascii=False))
    else:
        print(costs.format_table(rows))
        if compare:
            print("\n" + compare)
    if args.check:
        print("\n" + costs.format_check(costs.engine_check()))
    return 0


COMMANDS = {"walkthrough": cmd_walkthrough, "train": cmd_train, "generate": cmd_generate,
            "bench": cmd_bench, "costs": cmd_costs}
