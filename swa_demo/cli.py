"""`python -m swa_demo ...`: walkthrough, train, bench.

Bad input gets one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys

import torch

from .config import PATTERNS, POLICIES, ConfigError
from .tiny import WeightsError


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse's default prints the usage too)
        raise UsageError(message)


def build_parser() -> Parser:
    p = Parser(prog="python -m swa_demo", description="Sliding-window attention, step by step.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)

    w = sub.add_parser("walkthrough", help="run the tiny model and narrate every layer of every step")
    w.add_argument("--prompt", default="ABC", help="letters, e.g. ABC or 'A B C' (default ABC)")
    w.add_argument("--new", type=int, default=3, help="tokens to generate (default 3)")
    w.add_argument("--window", type=int, default=2, help="sliding window W (default 2)")
    w.add_argument("--layers", type=int, default=3, help="decoder layers, 1-6 (default 3)")
    w.add_argument("--policy", default="seed", choices=POLICIES, help="sliding-layer cache policy")
    w.add_argument("--pattern", default="sliding", choices=list(PATTERNS), help="layer pattern")
    w.add_argument("--sinks", type=int, default=0, help="attention sinks S (policy sink)")
    w.add_argument("--chunk", type=int, default=None, help="prefill this many tokens at a time")
    w.add_argument("--lang", default="zh", choices=("zh", "en"))
    w.add_argument("--json", action="store_true", help="print the trace as JSON")

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
    b.add_argument("what", nargs="?", default="walkthrough", choices=("walkthrough", "gpu", "plots"),
                   help="walkthrough: CPU timing; gpu: the 7B benchmark; plots: charts of recorded runs")
    b.add_argument("--repeat", type=int, default=20, help="walkthrough: timed repeats")
    b.add_argument("--plan", default="smoke",
                   help="gpu: smoke, kernel-sweep, kernel-prefill, hybrid, compiled-rest, "
                        "transformers or interop")
    b.add_argument("--layers", type=int, default=32, help="gpu: decoder layers of the 7B shape")
    b.add_argument("--json", default=None, help="write the figures to this JSON file")

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


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except (UsageError, ConfigError, WeightsError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (MemoryError, torch.OutOfMemoryError) as err:
        first = str(err).splitlines()[0][:160] if str(err) else "out of memory"
        print(f"error: {first}; try a shorter prompt, --prefill-chunk, fewer new tokens or a smaller "
              "batch", file=sys.stderr)
        return 2


def cmd_walkthrough(args) -> int:
    from .narrate import narrate
    from .walkthrough import Settings, run

    trace = run(Settings(prompt=args.prompt, new=args.new, window=args.window, layers=args.layers,
                         policy=args.policy, pattern=args.pattern, sinks=args.sinks,
                         chunk=args.chunk))
    print(trace.to_json(indent=1) if args.json else narrate(trace, args.lang))
    return 0


def cmd_train(args) -> int:
    from . import tiny

    if not args.all and not 1 <= args.layers <= tiny.MAX_LAYERS:
        raise ConfigError(f"layers must be between 1 and {tiny.MAX_LAYERS}, got {args.layers}")
    jobs = ([(n, p) for p in tiny.SHIPPED_PATTERNS for n in range(1, tiny.MAX_LAYERS + 1)]
            if args.all else [(args.layers, args.pattern)])
    for n, pattern in jobs:
        model = tiny.train(n, pattern)
        tiny.save(model, tiny.weights_path(n, pattern))
        print(f"saved {tiny.weights_path(n, pattern)}")
    return 0


def cmd_generate(args) -> int:
    import json

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
    if args.what == "plots":
        from .ui.gpu_figures import write_charts

        for path in write_charts():
            print(f"wrote {path}")
        return 0
    from pathlib import Path

    from . import bench_gpu, bench_tp

    if args.plan in bench_tp.PLANS:  # tensor parallel (torchrun): its own module
        bench_tp.run(args.plan, Path(args.json or f"assets/bench/gpu_{args.plan}.json"), args.layers)
        return 0
    if args.plan not in bench_gpu.PLANS:
        raise ConfigError(f"unknown plan {args.plan!r}; use one of {', '.join(bench_gpu.PLANS)}")
    try:
        bench_gpu.run({**bench_gpu.PLANS[args.plan], "layers": args.layers},
                      Path(args.json or f"assets/bench/gpu_{args.plan}.json"))
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
