"""Benchmarks that print figures and write JSON (targets are checked here, never by timed tests).

`bench_walkthrough`: the classroom run on the CPU: the whole traced walkthrough (generate with the
tracer, then narrate) and the same generation untraced.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch

from .limits import MAX_REPEAT


def _median_ms(fn, repeat: int) -> float:
    fn()  # warm-up: first-call allocations and lazy imports stay out of the figure
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)




def bench_walkthrough(repeat: int = 20, json_path: str | Path | None = None) -> dict:
    """Median times of `repeat` runs (1..MAX_REPEAT); the figures go to `json_path` if given, whose
    folder must exist (nothing is created: a mistyped path should fail, not grow folders)."""
    from .generate import generate
    from .narrate import narrate
    from .tiny import parse_prompt
    from .validate import Invalid, in_range
    from .walkthrough import Settings, model_for, run

    problems = in_range("repeat", repeat, 1, MAX_REPEAT)
    if problems:
        raise Invalid(problems)
    settings = Settings()  # the seed walkthrough: A B C -> D E F, W = 2, 3 layers, seed policy
    t0 = time.perf_counter()
    model = model_for(settings)
    load_ms = (time.perf_counter() - t0) * 1e3
    ids = parse_prompt(settings.prompt)
    result = {
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "cpu_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "load_ms": round(load_ms, 2),
        "traced_walkthrough_ms": round(_median_ms(
            lambda: narrate(run(settings, model), "zh"), repeat), 2),
        "untraced_generate_ms": round(_median_ms(
            lambda: generate(model, [ids], settings.new, policy=settings.policy), repeat), 2),
        "repeat": repeat,
    }
    print(f"seed walkthrough (A B C -> D E F, W=2, 3 layers), median of {repeat} on "
          f"{result['cpu_threads']} CPU threads, torch {result['torch']}")
    print(f"  load shipped weights        {result['load_ms']:8.2f} ms (once)")
    print(f"  traced walkthrough+narrate  {result['traced_walkthrough_ms']:8.2f} ms  (target < 50)")
    print(f"  untraced generation         {result['untraced_generate_ms']:8.2f} ms")
    if json_path:
        Path(json_path).write_text(json.dumps(result, indent=1))
    return result


CPU_CONTEXTS = (1024, 4096, 16384, 65536)
CPU_STEPS = 8  # decode steps timed per point and round
CPU_REPEATS = 3  # rounds over every point


@torch.no_grad()
def cpu_curves(contexts=CPU_CONTEXTS, steps: int = CPU_STEPS, repeats: int = CPU_REPEATS, threads: int = 1,
               progress=None) -> list[dict]:
    """Decode time per token against context on the CPU, `medium` preset, sliding vs full layers.

    The same weights run both ways (the caches say which layers slide). Each point prefills the last W
    tokens of its context at their true positions (a sliding layer reads no older ones, and a full
    layer's decode reads its whole preallocated cache either way, so the step costs what it would after
    a full prefill). Then `repeats` rounds each time `steps` decode steps of every point in turn, so a
    burst of load from another program lands on one round of each point rather than on every round of
    one. A row reports the median of its rounds (a round: the median of its steps), the fastest and the
    slowest round.

    `threads` torch threads while measuring (restored after): on a small shared machine, OpenMP workers
    that wait for a core another program holds cost a 2-thread step many times its 1-thread time (a
    64 ms versus 9 ms step of this preset on our 2 busy cores), which would measure the scheduler, not
    the cache. `progress(fraction)` is called after each point of each round.
    """
    from .config import FULL, SLIDING, medium
    from .generate import decode_one_token, make_caches, prefill
    from .model import build

    assert steps >= 1 and repeats >= 1, f"need steps >= 1 and repeats >= 1, got {steps}, {repeats}"
    cfg = medium()
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        model = build(cfg, backend="sdpa", seed=0)
        points = [(kind, n) for kind in (SLIDING, FULL) for n in contexts]
        state = {}
        for kind, n in points:
            caches = make_caches(model, 1, "ring", capacity=n + steps * (repeats + 1),
                                 layer_types=[kind] * cfg.n_layers)
            first = max(0, n - cfg.sliding_window)
            tok = torch.randint(0, cfg.vocab_size, (1, n - first), generator=torch.Generator().manual_seed(n))
            nxt = prefill(model, tok, torch.arange(first, n)[None], caches).argmax(-1, keepdim=True)
            state[kind, n] = [caches, nxt, n]

        def round_ms(kind: str, n: int) -> float:
            caches, nxt, pos = state[kind, n]
            times = []
            for _ in range(steps):
                t0 = time.perf_counter()
                logits = decode_one_token(model, nxt, torch.tensor([[pos]]), caches)
                times.append((time.perf_counter() - t0) * 1e3)
                nxt, pos = logits.argmax(-1, keepdim=True), pos + 1
            state[kind, n][1:] = [nxt, pos]
            return statistics.median(times)

        round_ms(SLIDING, contexts[0])  # first-call costs (allocations, lazy imports) stay out
        rounds: dict[tuple, list[float]] = {p: [] for p in points}
        for r in range(repeats):
            for i, p in enumerate(points):
                rounds[p].append(round_ms(*p))
                if progress:
                    progress((r * len(points) + i + 1) / (repeats * len(points)))
        ms = {p: [round(x, 3) for x in r] for p, r in rounds.items()}
        return [{"kind": kind, "context": n, "window": cfg.sliding_window,
                 "ms_per_token": statistics.median(ms[kind, n]), "ms_min": min(ms[kind, n]),
                 "ms_max": max(ms[kind, n]), "rounds_ms": ms[kind, n],
                 "repeats": repeats, "steps": steps, "threads": threads,
                 "cache_bytes": sum(c.nbytes() for c in state[kind, n][0])} for kind, n in points]
    finally:
        torch.set_num_threads(before)


def busy(cores: int | None = None) -> tuple[float, int] | None:
    """(1-minute load average, cores) when other programs keep this machine's cores half busy or more, so
    a live timing would jitter; None when it is quiet (or the system cannot say)."""
    cores = cores or os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (OSError, AttributeError):  # no load average on this system
        return None
    return (load, cores) if load >= 0.5 * cores else None
