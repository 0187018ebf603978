"""`python -m swa_demo ...` (or `swa-demo ...`): walkthrough, stream, train, generate, bench, costs.

Every input gets an answer: the command's output (exit 0), or one line on stderr starting `error:`
and exit code 2, never a traceback. `main` is the one place that turns an expected failure into that
line: a bad value, a missing or unwritable file, out of memory (the GPU's or the CPU allocator's).
Numbers, devices, token lists and output files are parsed by argument types built on `validate.py`
while the command line is read, so a mistake is refused before any work starts. A traceback that
still escapes is a bug, and `tests/test_cli_fuzz.py` looks for them with generated argument lists.
Nothing heavy is imported before a command needs it: `costs` never imports torch.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import limits, paths, validate
from .config import PATTERNS, POLICIES, ConfigError
from .limits import (
    DEFAULT_PREFILL_CHUNK,
    MAX_JSON_LOGITS,
    MAX_LAYERS,
    MAX_NEW,
    MAX_NEW_TOKENS,
    MAX_POSITIONS,
    MAX_PROMPT,
    MAX_REPEAT,
    PROGRESS_AFTER,
)


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


def build_parser() -> Parser:
    p = Parser(prog="python -m swa_demo", description="Sliding-window attention, step by step.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)

    w = sub.add_parser("walkthrough", help="run a model and narrate every layer of every step")
    w.add_argument("--model", default="tiny", choices=("tiny", "smollm2"),
                   help="tiny: the alphabet model (default); smollm2: SmolLM2-135M on --text")
    w.add_argument("--prompt", default="ABC", help="tiny: letters, e.g. ABC or 'A B C' (default ABC)")
    w.add_argument("--text", default=None, help="smollm2: the text to continue "
                   "(default 'The capital of France is')")
    w.add_argument("--new", type=whole("new", 1, MAX_NEW), default=3,
                   help=f"tokens to generate, 1-{MAX_NEW} (default 3)")
    # W's range depends on the model (tiny: 1-64; smollm2: 1-8192): the walkthrough checks it.
    w.add_argument("--window", type=whole("window", -10**18, 10**18), default=None,
                   help="sliding window W (default 2; smollm2: 8)")
    w.add_argument("--layers", type=whole("layers", 1, MAX_LAYERS), default=3,
                   help=f"tiny: decoder layers, 1-{MAX_LAYERS} (default 3)")
    w.add_argument("--policy", default=None, choices=POLICIES,
                   help="sliding-layer cache policy (default seed; smollm2: ring)")
    w.add_argument("--pattern", default="sliding", choices=list(PATTERNS), help="layer pattern")
    # S's range depends on W: the walkthrough checks it with the other settings (0 < S < W).
    w.add_argument("--sinks", type=whole("sinks", -10**18, 10**18), default=0,
                   help="attention sinks S, 0 < S < W (policy sink)")
    w.add_argument("--chunk", type=whole("chunk", 1, max(MAX_PROMPT, limits.REAL_MAX_TOKENS)), default=None,
                   help="prefill this many tokens at a time")
    w.add_argument("--lang", default="zh", choices=("zh", "en"))
    w.add_argument("--json", action="store_true", help="print the trace as JSON")

    s = sub.add_parser("stream", help="StreamingLLM's experiment: per-token perplexity of SmolLM2 through "
                       "full, window and sink caches and the recompute baseline")
    s.add_argument("--model", default="smollm2", choices=("smollm2",))
    s.add_argument("--text-file", default=None, help="a UTF-8 text (default: the shipped KJV Genesis 1-20)")
    s.add_argument("--tokens", type=whole("tokens", 2, limits.STREAM_MAX_TOKENS), default=1024,
                   help=f"tokens of the text to feed, 2-{limits.STREAM_MAX_TOKENS:,} (default 1024)")
    s.add_argument("--window", type=whole("window", 1, limits.STREAM_MAX_TOKENS), default=256,
                   help="cache size W per layer (default 256)")
    s.add_argument("--sinks", type=whole("sinks", -10**18, 10**18), default=4,
                   help="attention sinks S of the sink policy, 0 < S < W (default 4)")
    s.add_argument("--policies", default="full,window,sink,recompute",
                   help="comma-separated: full, window, sink, recompute (default all four)")
    s.add_argument("--positions", default="absolute", choices=("absolute", "cache", "both"),
                   help="absolute: keys rotated at their text position (the engine's way); cache: "
                        "StreamingLLM's positions inside the cache; both (default absolute)")
    s.add_argument("--device", default="cpu", type=device(), help="cpu (default), cuda or cuda:N "
                   "(on a GPU each step is replayed as a CUDA graph)")
    s.add_argument("--out", type=output_file("out"), default=None,
                   help="also write the record (JSON) to this file (its folder must exist)")
    s.add_argument("--json", action="store_true", help="print the record as JSON")

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

    b = sub.add_parser("bench", help="benchmarks: the walkthrough and SmolLM2 (CPU), the 7B engine (GPU)")
    b.add_argument("what", nargs="?", default="walkthrough", choices=("walkthrough", "real", "gpu", "plots"),
                   help="walkthrough: CPU timing; real: SmolLM2 on the CPU (load, traced step, stream); "
                        "gpu: the 7B benchmark; plots: charts of recorded runs")
    b.add_argument("--repeat", type=whole("repeat", 1, MAX_REPEAT), default=20,
                   help=f"walkthrough, real: timed repeats, 1-{MAX_REPEAT} (default 20)")
    b.add_argument("--plan", default="smoke",
                   help="gpu: smoke, kernel-sweep, kernel-prefill, hybrid, compiled-rest, transformers, "
                        "interop; tensor parallel under torchrun: tp, tp-prefill, tp-cpu")
    b.add_argument("--layers", type=whole("layers", 1, 32), default=None,
                   help="gpu: decoder layers of the 7B shape, 1-32 (default 32)")
    b.add_argument("--json", type=output_file(), default=None,
                   help="write the figures to this file (its folder must exist); gpu: default "
                        "assets/bench/gpu_PLAN.json")

    c = sub.add_parser("costs", help="KV-cache/state bytes, weights and FLOPs against context, at real "
                       "model shapes")
    c.add_argument("--preset", default=None, help="one preset (default: all of them unless --config is "
                   "given), e.g. mistral-7b, gemma3-27b, jamba-v0.1")
    c.add_argument("--config", action="append", default=[], metavar="PATH",
                   help="a transformers config.json (mistral, llama, qwen2, gemma2, gemma3, phi3, jamba, "
                        "mixtral); may be given more than once")
    c.add_argument("--context", default=None, help=f"token counts, k = 1024, M = 1024², at most 1024M "
                   f"(default {DEFAULT_CONTEXTS}; with --check 100,1000,4k,16k, at most 16k)")
    c.add_argument("--json", action="store_true", help="print the rows (and comparison, check) as JSON")
    c.add_argument("--compare", action="store_true", help="also print seed 004's comparison table at each "
                   "context")
    c.add_argument("--lang", default="zh", choices=("zh", "en"), help="language of the comparison table")
    c.add_argument("--check", action="store_true", help="also run the engine on this CPU (at the --preset "
                   "and --config shapes, or two small configs) and compare its cache bytes and FLOPs with "
                   "the analytic ones; exit 1 if any disagrees")
    return p


DEFAULT_CONTEXTS = "4k,32k,128k,1M"


def _progress(total: int, desc: str):
    """A progress bar on stderr (quiet when stderr is not a terminal, so logs and JSON stay clean)."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, file=sys.stderr, disable=None, leave=False, dynamic_ncols=True)


# ---- the one place where expected failures become one line -----------------------------------------

def out_of_memory(err: BaseException) -> bool:
    """The GPU's out-of-memory error, Python's MemoryError, or the CPU allocator's RuntimeError
    ("DefaultCPUAllocator: can't allocate memory"): the same failure, the same answer. torch's class
    is looked up only if torch was imported: a command that never imported it cannot raise it."""
    torch = sys.modules.get("torch")
    return (isinstance(err, MemoryError) or (torch is not None and isinstance(err, torch.OutOfMemoryError))
            or (isinstance(err, RuntimeError) and "can't allocate memory" in str(err)))


def shipped_weights_error(err: BaseException) -> bool:
    """The tiny model's weights missing or unreadable (`tiny.WeightsError`, once tiny is imported)."""
    tiny = sys.modules.get("swa_demo.tiny")
    return tiny is not None and isinstance(err, tiny.WeightsError)


def first_line(err: BaseException, limit: int = 200) -> str:
    lines = str(err).strip().splitlines()
    return lines[0][:limit] if lines else type(err).__name__


def main(argv: list[str] | None = None) -> int:
    tolerate_any_output_encoding()
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except (UsageError, ConfigError) as err:  # ConfigError includes validate.Invalid
        return fail(str(err))
    except OSError as err:  # a file that cannot be read or written, a full disk
        where = f"{err.filename}: " if err.filename else ""
        return fail(f"{where}{err.strerror or first_line(err)}")
    except (MemoryError, RuntimeError) as err:
        if shipped_weights_error(err):
            return fail(str(err))
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
    from .limits import REAL_DEFAULT_TEXT
    from .narrate import narrate
    from .walkthrough import Settings, real_source, run

    real = args.model == "smollm2"
    if args.text is not None and not real:
        raise UsageError("--text is for --model smollm2; the tiny model takes --prompt letters")
    text = REAL_DEFAULT_TEXT if args.text is None else args.text
    settings = Settings(prompt=text if real else args.prompt, new=args.new,
                        window=(8 if real else 2) if args.window is None else args.window,
                        layers=args.layers,
                        policy=args.policy or ("ring" if real else "seed"), pattern=args.pattern,
                        sinks=args.sinks, chunk=args.chunk, model=args.model)
    trace = run(settings, source=real_source(progress=_stage) if real else None)
    emit(trace.to_json(indent=1) if args.json else narrate(trace, args.lang))
    return 0


def _stage(fraction: float, message: str) -> None:
    """A one-off conversion's stages, on stderr (transformers draws its own bar for the tensors)."""
    print(f"[{fraction:4.0%}] {message}", file=sys.stderr, flush=True)


def cmd_stream(args) -> int:
    import json

    from . import stream
    from .interop import smollm2

    policies = [p.strip() for p in args.policies.split(",") if p.strip()]
    bad = [p for p in policies if p not in stream.POLICIES]
    if bad or not policies:
        raise UsageError(f"--policies takes a comma-separated list of {', '.join(stream.POLICIES)}; "
                         f"got {args.policies!r}")
    positions = list(stream.POSITIONS) if args.positions == "both" else [args.positions]
    tokens, window = args.tokens, args.window
    if "sink" in policies and not 0 < args.sinks < window:
        raise UsageError(f"--sinks must satisfy 0 < S < W (W = {window}), got {args.sinks}")
    text = stream.read_text(args.text_file or stream.DEFAULT_TEXT)
    model, tok = smollm2.load(device=args.device, progress=_stage)
    ids = tok.encode(text)
    if len(ids) < tokens:
        raise UsageError(f"the text has {len(ids)} tokens; use --tokens {len(ids)} or fewer, "
                         "or a longer text")
    ids = ids[:tokens]
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def progress(label: str, done: int, total: int) -> None:
        bar = bars.get(label) or bars.setdefault(label, tqdm(total=total, desc=label, unit="tok",
                                                             file=sys.stderr, leave=True))
        bar.update(done - bar.n)

    rows = stream.experiment(model, ids, window, args.sinks, policies, positions, progress)
    for bar in bars.values():
        bar.close()
    record = stream.record(rows, text_file=stream.shown_path(args.text_file or stream.DEFAULT_TEXT),
                           tokens=tokens,
                           command="python -m swa_demo " + " ".join(sys.argv[1:]))
    if args.out:
        stream.save(record, args.out)
    if args.json:
        emit(json.dumps(record))
    else:
        emit(f"SmolLM2-135M, {tokens} tokens of {record['text_file']}, fed one at a time; positions: "
             f"{', '.join(positions)} ({stream.POSITION_NOTE})\n" + stream.format_rows(rows))
    return 0


def cmd_train(args) -> int:
    from . import tiny

    jobs = ([(n, p) for p in tiny.SHIPPED_PATTERNS for n in range(1, tiny.MAX_LAYERS + 1)]
            if args.all else [(args.layers, args.pattern)])
    with _progress(len(jobs), "train") as bar:
        for n, pattern in jobs:
            bar.set_postfix_str(f"{pattern}-L{n}")
            model = tiny.train(n, pattern, log=lambda line: bar.write(line, file=sys.stdout))
            tiny.save(model, tiny.weights_path(n, pattern))
            bar.write(f"saved {tiny.weights_path(n, pattern)}", file=sys.stdout)
            bar.update()
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
    from .interop.hf import available_memory

    need = memory_estimate(model.cfg, len(ids), new, policy, chunk)
    if json_out:  # Python floats in lists, then the text: about 52 bytes per printed logit
        need["JSON"] = new * vocab * 52
    free = available_memory(device)
    if free is not None and sum(need.values()) > 0.9 * free:
        parts = ", ".join(f"{k} {gb(v)}" for k, v in need.items() if v >= 1e6)
        problems.append(Problem("memory", "memory", {
            "need": gb(sum(need.values())), "parts": parts, "free": gb(free),
            "fix": "try a smaller --prefill-chunk, fewer tokens, --policy ring or leaving out --json"}))
    return problems


def gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e8 else f"{n / 1e6:.0f} MB"


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
    if args.what == "real":
        from .bench_real import bench_real

        bench_real(repeat=args.repeat, json_path=args.json)
        return 0
    if args.what == "plots":
        from .ui.gpu_figures import write_charts
        from .ui.stream_figures import write_stream_charts

        record = paths.ASSETS / "bench" / "stream_smollm2_h100.json"
        written = [*write_charts(), *write_stream_charts(record, paths.ASSETS / "screenshots")]
        emit("\n".join(f"wrote {path}" for path in written))
        return 0
    import dataclasses

    from . import bench_gpu, bench_runs, bench_tp

    # Without --json, the plan's file in the repository's assets/bench/, wherever the command runs.
    out = Path(args.json or paths.ASSETS / "bench" / f"gpu_{args.plan}.json")
    if args.plan in bench_tp.PLANS:  # tensor parallel, under torchrun: its own module
        bench_tp.run(args.plan, out, args.layers)
        return 0
    if args.plan not in bench_runs.PLANS:
        plans = [*bench_runs.PLANS, *bench_tp.PLANS]
        raise ConfigError(f"unknown plan {args.plan!r}; use one of {', '.join(plans)}")
    plan = bench_runs.PLANS[args.plan]
    if args.layers:
        plan = dataclasses.replace(plan, layers=args.layers)
    try:
        with _progress(plan.parts, f"bench gpu {args.plan}") as bar:
            bench_runs.run(plan, out, log=lambda line: bar.write(line, file=sys.stdout), advance=bar.update)
    except bench_gpu.GpuError as err:
        raise ConfigError(str(err)) from None
    return 0


def cmd_costs(args) -> int:
    import json

    from . import costs, costs_text, hf_config, validate

    contexts = validate.parse_contexts(args.context) if args.context is not None else None
    chosen = ([costs.shape(args.preset)] if args.preset else []) + [hf_config.load(p) for p in args.config]
    table_contexts = contexts or validate.parse_contexts(DEFAULT_CONTEXTS)
    rows = costs.table(chosen or list(costs.SHAPES.values()), table_contexts)
    comparisons = [{"context": n, "rows": costs_text.comparison_rows(args.lang, n)}
                   for n in table_contexts] if args.compare else None
    checks = None
    if args.check:  # the one part that imports torch: it runs the engine
        from . import costs_check

        shapes = chosen or [None]
        steps = sum(map(len, costs_check.work(contexts)))  # refuses contexts the CPU cannot run first
        with _progress(steps * len(shapes), "check") as bar:
            checks = [costs_check.engine_check(s, contexts, progress=bar.update) for s in shapes]
    if args.json:
        emit(json.dumps({"rows": rows, "comparison": comparisons, "check": checks}, ensure_ascii=False))
    else:
        parts = [costs_text.format_table(rows)]
        parts += [costs_text.comparison_markdown(args.lang, c["context"]) for c in comparisons or []]
        parts += [costs_check.format_check(c) for c in checks or []]
        emit("\n\n".join(parts))
    if checks and not all(c["ok"] for c in checks):
        print("error: the engine's cache bytes or FLOPs disagree with the cost model (see the rows marked "
              "DISAGREES, or \"ok\": false in the JSON)", file=sys.stderr)
        return 1
    return 0


COMMANDS = {"walkthrough": cmd_walkthrough, "stream": cmd_stream, "train": cmd_train,
            "generate": cmd_generate, "bench": cmd_bench, "costs": cmd_costs}
