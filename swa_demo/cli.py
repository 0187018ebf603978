"""`python -m swa_demo ...` (or `swa-demo ...`): walkthrough, train, generate, bench, costs.

Bad input gets one line on stderr and exit code 2, never a traceback. Nothing heavy is imported before
a command needs it: `costs` never imports torch.
"""

from __future__ import annotations

import argparse
import sys

from .config import PATTERNS, POLICIES, ConfigError


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse's default prints the usage too)
        raise UsageError(message)


def build_parser() -> Parser:
    p = Parser(prog="python -m swa_demo", description="Sliding-window attention, step by step.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)

    w = sub.add_parser("walkthrough", help="run a model and narrate every layer of every step")
    w.add_argument("--model", default="tiny", choices=("tiny", "smollm2"),
                   help="tiny: the alphabet model (default); smollm2: SmolLM2-135M on --text")
    w.add_argument("--prompt", default="ABC", help="tiny: letters, e.g. ABC or 'A B C' (default ABC)")
    w.add_argument("--text", default=None, help="smollm2: the text to continue "
                   "(default 'The capital of France is')")
    w.add_argument("--new", type=int, default=3, help="tokens to generate (default 3)")
    w.add_argument("--window", type=int, default=None, help="sliding window W (default 2; smollm2: 8)")
    w.add_argument("--layers", type=int, default=3, help="decoder layers, 1-6 (default 3)")
    w.add_argument("--policy", default=None, choices=POLICIES,
                   help="sliding-layer cache policy (default seed; smollm2: ring)")
    w.add_argument("--pattern", default="sliding", choices=list(PATTERNS), help="layer pattern")
    w.add_argument("--sinks", type=int, default=0, help="attention sinks S (policy sink)")
    w.add_argument("--chunk", type=int, default=None, help="prefill this many tokens at a time")
    w.add_argument("--lang", default="zh", choices=("zh", "en"))
    w.add_argument("--json", action="store_true", help="print the trace as JSON")

    s = sub.add_parser("stream", help="StreamingLLM's experiment: per-token perplexity of SmolLM2 through "
                       "full, window and sink caches and the recompute baseline")
    s.add_argument("--model", default="smollm2", choices=("smollm2",))
    s.add_argument("--text-file", default=None, help="a UTF-8 text (default: the shipped KJV Genesis 1-20)")
    s.add_argument("--tokens", type=int, default=1024, help="tokens of the text to feed (default 1024)")
    s.add_argument("--window", type=int, default=256, help="cache size W per layer (default 256)")
    s.add_argument("--sinks", type=int, default=4, help="attention sinks S of the sink policy (default 4)")
    s.add_argument("--policies", default="full,window,sink,recompute",
                   help="comma-separated: full, window, sink, recompute (default all four)")
    s.add_argument("--positions", default="absolute", choices=("absolute", "cache", "both"),
                   help="absolute: keys rotated at their text position (the engine's way); cache: "
                        "StreamingLLM's positions inside the cache; both (default absolute)")
    s.add_argument("--device", default="cpu", choices=("cpu", "cuda"),
                   help="cpu (default) or cuda (each step replayed as a CUDA graph)")
    s.add_argument("--out", default=None, help="also write the record (JSON) to this file")
    s.add_argument("--json", action="store_true", help="print the record as JSON")

    t = sub.add_parser("train", help="retrain a tiny alphabet model from its fixed seed")
    t.add_argument("--layers", type=int, default=3)
    t.add_argument("--pattern", default="sliding", choices=list(PATTERNS))
    t.add_argument("--all", action="store_true", help="every shipped layer count and pattern")

    g = sub.add_parser("generate", help="greedy generation from a transformers Mistral checkpoint")
    g.add_argument("--checkpoint", required=True, help="directory with config.json + *.safetensors")
    g.add_argument("--prompt-ids", required=True, help="comma-separated token ids, e.g. 1,2,3")
    g.add_argument("--max-new-tokens", type=int, default=16)
    g.add_argument("--prefill-chunk", type=int, default=None)
    g.add_argument("--policy", default="ring", choices=("ring", "seed", "mask-only"))
    g.add_argument("--dtype", default="float32", choices=("float32", "bfloat16", "float16"))
    g.add_argument("--device", default="cpu")
    g.add_argument("--json", action="store_true", help="print {tokens, logits} as JSON")

    b = sub.add_parser("bench", help="benchmarks: the walkthrough (CPU) or the 7B engine (GPU)")
    b.add_argument("what", nargs="?", default="walkthrough", choices=("walkthrough", "real", "gpu", "plots"),
                   help="walkthrough: CPU timing; real: SmolLM2 on the CPU (load, traced step, stream); "
                        "gpu: the 7B benchmark; plots: charts of recorded runs")
    b.add_argument("--repeat", type=int, default=20, help="walkthrough: timed repeats")
    b.add_argument("--plan", default="smoke",
                   help="gpu: smoke, kernel-sweep, kernel-prefill, hybrid, compiled-rest, "
                        "transformers or interop")
    b.add_argument("--layers", type=int, default=32, help="gpu: decoder layers of the 7B shape")
    b.add_argument("--json", default=None, help="write the figures to this JSON file")

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


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except (UsageError, ConfigError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except Exception as err:
        # The error classes of torch and of the tiny models exist only once their modules are imported,
        # and only then can they be raised: look them up there rather than importing torch for them.
        tiny, torch = sys.modules.get("swa_demo.tiny"), sys.modules.get("torch")
        if tiny is not None and isinstance(err, tiny.WeightsError):
            print(f"error: {err}", file=sys.stderr)
            return 2
        if isinstance(err, MemoryError) or (torch is not None and isinstance(err, torch.OutOfMemoryError)):
            first = str(err).splitlines()[0][:160] if str(err) else "out of memory"
            print(f"error: {first}; try a shorter prompt, --prefill-chunk, fewer new tokens or a smaller "
                  "batch", file=sys.stderr)
            return 2
        raise


def cmd_walkthrough(args) -> int:
    from .narrate import narrate
    from .walkthrough import REAL_DEFAULT_TEXT, Settings, real_source, run

    real = args.model == "smollm2"
    if args.text is not None and not real:
        raise UsageError("--text is for --model smollm2; the tiny model takes --prompt letters")
    text = REAL_DEFAULT_TEXT if args.text is None else args.text
    settings = Settings(prompt=text if real else args.prompt, new=args.new,
                        window=(8 if real else 2) if args.window is None else args.window, layers=args.layers,
                        policy=args.policy or ("ring" if real else "seed"), pattern=args.pattern,
                        sinks=args.sinks, chunk=args.chunk, model=args.model)
    trace = run(settings, source=real_source(progress=_stage) if real else None)
    print(trace.to_json(indent=1) if args.json else narrate(trace, args.lang))
    return 0


def _stage(fraction: float, message: str) -> None:
    """A one-off conversion's stages, on stderr (transformers draws its own bar for the tensors)."""
    print(f"[{fraction:4.0%}] {message}", file=sys.stderr, flush=True)


def cmd_stream(args) -> int:
    import json

    import torch

    from . import stream
    from .interop import smollm2
    from .validate import parse_int

    policies = [p.strip() for p in args.policies.split(",") if p.strip()]
    bad = [p for p in policies if p not in stream.POLICIES]
    if bad or not policies:
        raise UsageError(f"--policies takes a comma-separated list of {', '.join(stream.POLICIES)}; "
                         f"got {args.policies!r}")
    positions = list(stream.POSITIONS) if args.positions == "both" else [args.positions]
    tokens = parse_int("tokens", str(args.tokens), 2, stream.MAX_TOKENS)
    window = parse_int("window", str(args.window), 1, stream.MAX_TOKENS)
    if "sink" in policies and not 0 < args.sinks < window:
        raise UsageError(f"--sinks must satisfy 0 < S < W (W = {window}), got {args.sinks}")
    if args.device == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda, but this machine has no CUDA GPU; use --device cpu")
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
        print(json.dumps(record))
    else:
        print(f"SmolLM2-135M, {tokens} tokens of {record['text_file']}, fed one at a time; "
              f"positions: {', '.join(positions)} ({stream.POSITION_NOTE})")
        print(stream.format_rows(rows))
    return 0


def cmd_train(args) -> int:
    from . import tiny

    if not args.all and not 1 <= args.layers <= tiny.MAX_LAYERS:
        raise ConfigError(f"layers must be between 1 and {tiny.MAX_LAYERS}, got {args.layers}")
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


def cmd_generate(args) -> int:
    import json

    import torch

    from .generate import generate
    from .interop import load_checkpoint

    try:
        ids = [int(x) for x in args.prompt_ids.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"--prompt-ids takes comma-separated integers, got {args.prompt_ids!r}") from None
    if not ids:
        raise ConfigError("--prompt-ids is empty; give at least one token id")
    if not 1 <= args.max_new_tokens <= 100_000:
        raise ConfigError(f"--max-new-tokens must be between 1 and 100000, got {args.max_new_tokens}")
    if args.prefill_chunk is not None and args.prefill_chunk < 1:
        raise ConfigError(f"--prefill-chunk must be at least 1, got {args.prefill_chunk}")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("--device cuda, but this machine has no CUDA GPU; use --device cpu")
    model = load_checkpoint(args.checkpoint, args.dtype, args.device)
    bad = [i for i in ids if not 0 <= i < model.cfg.vocab_size]
    if bad:
        raise ConfigError(f"token id {bad[0]} is outside the vocabulary (0..{model.cfg.vocab_size - 1})")
    out = generate(model, [ids], args.max_new_tokens, policy=args.policy, chunk=args.prefill_chunk)
    tokens = out.tokens[0].tolist()
    if args.json:
        print(json.dumps({"tokens": tokens, "logits": out.logits[0].float().tolist()}))
    else:
        print(" ".join(map(str, tokens)))
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

        for path in write_charts():
            print(f"wrote {path}")
        return 0
    import dataclasses
    from pathlib import Path

    from . import bench_gpu, bench_runs

    if args.plan not in bench_runs.PLANS:
        raise ConfigError(f"unknown plan {args.plan!r}; use one of {', '.join(bench_runs.PLANS)}")
    plan = dataclasses.replace(bench_runs.PLANS[args.plan], layers=args.layers)
    try:
        with _progress(plan.parts, f"bench gpu {args.plan}") as bar:
            bench_runs.run(plan, Path(args.json or f"assets/bench/gpu_{args.plan}.json"),
                          log=lambda line: bar.write(line, file=sys.stdout), advance=bar.update)
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
        print(json.dumps({"rows": rows, "comparison": comparisons, "check": checks}, ensure_ascii=False))
    else:
        print(costs_text.format_table(rows))
        for c in comparisons or []:
            print("\n" + costs_text.comparison_markdown(args.lang, c["context"]))
        for c in checks or []:
            print("\n" + costs_check.format_check(c))
    if checks and not all(c["ok"] for c in checks):
        print("error: the engine's cache bytes or FLOPs disagree with the cost model (see the rows marked "
              "DISAGREES, or \"ok\": false in the JSON)", file=sys.stderr)
        return 1
    return 0


COMMANDS = {"walkthrough": cmd_walkthrough, "stream": cmd_stream, "train": cmd_train,
            "generate": cmd_generate, "bench": cmd_bench, "costs": cmd_costs}
