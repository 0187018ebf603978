"""SmolLM2 on this machine's CPU: what the real-model views cost (figures and JSON, no targets asserted).

    load          `interop.smollm2.load()` once the model is converted, in fresh processes (target < 3 s)
    traced step   one decode step traced over all 30 layers: the forward with the tracer observing, and
                  the trace built (target < 300 ms); next to the same step untraced
    walkthrough   the whole traced run of the page's default real-text settings
    stream        tokens per second of the streaming experiment's caches (full, window, sink)

Medians over repeats; the machine's load average is recorded next to them, since a busy 2-core machine
moves every figure.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch


def _median_ms(fn, repeat: int) -> tuple[float, float, float]:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), min(times), max(times)


def load_seconds(runs: int = 3) -> list[float]:
    """Seconds `smollm2.load()` takes in a fresh process, the conversion already in the cache."""
    code = ("import time; t0 = time.perf_counter(); from swa_demo.interop import smollm2; smollm2.load(); "
            "print(time.perf_counter() - t0)")
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                              timeout=300, check=True)
        out.append(float(done.stdout.strip().splitlines()[-1]))
    return out


@torch.no_grad()
def bench_real(repeat: int = 10, stream_tokens: int = 300, json_path: str | None = None) -> dict:
    from .config import SLIDING
    from .generate import decode_one_token, make_caches, prefill
    from .interop import smollm2
    from .limits import REAL_DEFAULT_TEXT
    from .stream import DEFAULT_TEXT, stream
    from .trace import Tracer
    from .walkthrough import Settings, real_source, run

    smollm2.ensure_converted()
    result = {"machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
              "cpu_threads": torch.get_num_threads(), "torch": torch.__version__,
              "load_average_before": os.getloadavg()}
    result["load_s"] = load_seconds()
    src = real_source()
    model, ids = src.model, src.encode(REAL_DEFAULT_TEXT)
    kinds = [SLIDING] * model.cfg.n_layers

    def decode_step(traced: bool):
        """The step after the prompt (the same position each time: a ring write is idempotent)."""
        caches = make_caches(model, 1, "ring", layer_types=kinds, window=8)
        prefill(model, torch.tensor([ids]), torch.arange(len(ids))[None], caches)
        token, pos = torch.tensor([[ids[-1]]]), torch.tensor([[len(ids)]])

        def step():
            if not traced:
                return decode_one_token(model, token, pos, caches)
            tracer = Tracer(src.label, src.labels)
            tracer.begin_step("decode", token, pos)
            tracer.end_step(decode_one_token(model, token, pos, caches, observer=tracer))
            return tracer.trace({}, ids, [ids[-1]])
        return step

    for name, traced in (("traced_step_ms", True), ("untraced_step_ms", False)):
        med, lo, hi = _median_ms(decode_step(traced), repeat)
        result[name] = {"median": round(med, 1), "min": round(lo, 1), "max": round(hi, 1)}
    settings = Settings(model="smollm2", prompt=REAL_DEFAULT_TEXT, new=3, window=8, policy="ring")
    med, lo, hi = _median_ms(lambda: run(settings, source=src), max(3, repeat // 3))
    result["walkthrough_ms"] = {"median": round(med, 1), "min": round(lo, 1), "max": round(hi, 1),
                                "settings": "'The capital of France is', 3 new, W = 8, ring"}
    text = DEFAULT_TEXT.read_text()
    tokens = src.encode(text)[:stream_tokens]
    result["stream_tok_s"] = {}
    for policy in ("full", "window", "sink"):
        r = stream(model, tokens, policy, 256, 4)
        result["stream_tok_s"][policy] = round(1e3 / r.ms_per_token, 1)
    result["stream_tokens"], result["stream_window"] = stream_tokens, 256
    result["load_average_after"] = os.getloadavg()
    load = (result["load_average_before"][0], result["load_average_after"][0])
    print(f"SmolLM2-135M on {result['cpu_threads']} CPU threads ({result['machine']}), torch "
          f"{result['torch']}, load average {load[0]:.1f} before, {load[1]:.1f} after")
    loads = ", ".join(f"{s:.2f}" for s in result["load_s"])
    print(f"  load (converted, fresh process)   {loads} s   (target < 3)")
    print(f"  decode step traced, 30 layers     {result['traced_step_ms']['median']:8.1f} ms (target < 300)")
    print(f"  decode step untraced              {result['untraced_step_ms']['median']:8.1f} ms")
    print(f"  default walkthrough, traced       {result['walkthrough_ms']['median']:8.1f} ms")
    rates = ", ".join(f"{k} {v}" for k, v in result["stream_tok_s"].items())
    print(f"  stream tokens/s (W = 256)         {rates}")
    if json_path:
        Path(json_path).write_text(json.dumps(result, indent=1))
    return result
