"""Tensor parallelism over `torch.distributed`: the same `Decoder`, each rank holding a slice of it.

Megatron's split, written as gpt-fast's `tp.py` writes it: plain sharded tensors in the model's own
`Linear`s, and one functional all-reduce (`_functional_collectives.all_reduce`, which `torch.compile`
traces and a CUDA graph captures) after each attention and each FFN. Nothing else changes: the
attention module reads its head counts from its attributes, which become the local ones, and the
decode kernels (`gemv.py`, `splitkv.py`) run on each rank's shard as they run on a whole model.

    what              split                                         after it
    attention wqkv    rows: this rank's query heads' Q rows, then   -
                      its KV heads' K rows, then their V rows
    attention wo      columns: the same query heads                 all-reduce (sum) over the ranks
    FFN gate_up       rows: a slice of the gate rows, then the      -
                      same slice of the up rows
    FFN down          columns: the same slice                       all-reduce (sum) over the ranks
    (relu FFN)        w1 rows and bias; w2 columns, w2's bias on rank 0 only, so the sum adds it once
    replicated        embeddings, norms, the LM head, mamba mixers   (every rank computes them whole)

The embeddings and the LM head are replicated, not sharded: every rank ends with the whole logits and
no all-gather is needed. Mistral-7B's LM head is 262 MB of its 14.5 GB, so each of two ranks reads
7.5 GB per decode step instead of 7.2 GB. Mamba mixers are replicated too (their recurrence would need
its own split): a Jamba-style stack runs, but only its FFNs and attention layers are divided.

Worked example: Mistral-7B's shape (H = 32 query heads, Hkv = 8 KV heads, D = 128, d_model 4096,
F = 14336) on N = 2 ranks, rank 0:

    wqkv    (6144, 4096) -> rows 0..2047 (Q heads 0-15), 4096..4607 (K heads 0-3), 5120..5631 (V heads 0-3):
            (3072, 4096); query heads 0-3 share KV head 0 on both, as GQA groups them (4 per KV head)
    wo      (4096, 4096) -> columns 0..2047: (4096, 2048)
    gate_up (28672, 4096) -> rows 0..7167 (gate) and 14336..21503 (up): (14336, 4096)
    down    (4096, 14336) -> columns 0..7167: (4096, 7168)
    config  n_heads 16, n_kv_heads 4, d_ff 7168 (the local counts), so `generate.make_caches` gives
            each rank 4 KV heads: full attention at 1M tokens holds
            32 layers x 2 x 1,048,576 x 4 x 128 x 2 B = 64 GiB per GPU instead of 128 GiB on one.

Start it under `torchrun` (`init_from_env`), build the same weights on every rank (one seed), then
`shard(model, tp)`. `bench_tp.py` is the benchmark; `tests/test_parallel.py` checks on the CPU (gloo)
that the sharded model's logits equal the whole model's.
"""

from __future__ import annotations

import datetime
import math
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.nn as nn

from .config import MAMBA, ConfigError
from .model import Attention, Decoder, FeedForward


@dataclass
class TP:
    """Where this process stands: its rank among `world` processes and the device it drives.

    `group` carries the all-reduces (NCCL on GPUs, gloo on the CPU); `control` is a gloo group for
    host-side agreement (barriers while rank 0 works alone, decisions rank 0 broadcasts), so an idle
    rank never waits inside an NCCL call. Both are None in a world of one.
    """

    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")
    group: dist.ProcessGroup | None = None
    control: dist.ProcessGroup | None = None

    @property
    def lead(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier(group=self.control)

    def share(self, value):
        """Rank 0's `value` on every rank (any picklable object)."""
        if self.world == 1:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0, group=self.control)
        return box[0]

    def gather(self, value) -> list:
        """Every rank's `value`, in rank order, on every rank."""
        if self.world == 1:
            return [value]
        out = [None] * self.world
        dist.all_gather_object(out, value, group=self.control)
        return out


def init_from_env(device_type: str = "cuda", timeout_min: float = 30.0) -> TP:
    """Join the process group `torchrun` describes (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT).

    Without torchrun (no WORLD_SIZE) this is a world of one and no process group is made. On GPUs each
    process drives the GPU of its local rank. The timeout is long because in the benchmark the other
    ranks wait while rank 0 runs the single-GPU rows alone.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device_type == "cuda":
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    else:
        device = torch.device("cpu")
    if world == 1:
        return TP(device=device)
    timeout = datetime.timedelta(minutes=timeout_min)
    dist.init_process_group("nccl" if device_type == "cuda" else "gloo", timeout=timeout)
    control = dist.new_group(backend="gloo", timeout=timeout) if device_type == "cuda" else dist.group.WORLD
    return TP(dist.get_rank(), dist.get_world_size(), device, dist.group.WORLD, control)


def finish(tp: TP) -> None:
    """Leave the process group together: a rank that tears down its connections while another still
    uses them can abort the other."""
    if tp.world > 1 and dist.is_initialized():
        dist.barrier(group=tp.control)
        dist.destroy_process_group()


# ---- sharding ----------------------------------------------------------------------------------

def check_divisible(cfg, world: int) -> None:
    """Refuse a split that would not give every rank whole heads and an equal FFN slice."""
    common = math.gcd(cfg.n_heads, cfg.n_kv_heads, cfg.d_ff)  # a rank count must divide all three
    counts = ", ".join(str(d) for d in range(1, common + 1) if common % d == 0)
    for name, n in (("n_heads", cfg.n_heads), ("n_kv_heads", cfg.n_kv_heads), ("d_ff", cfg.d_ff)):
        if n % world:
            raise ConfigError(f"tensor parallelism over {world} ranks needs {name} ({n}) divisible by "
                              f"{world}; use {counts} ranks")


def rows(weight: torch.Tensor, parts: list[int], rank: int, world: int) -> torch.Tensor:
    """This rank's slice of each of the row blocks `parts` of `weight` (or a bias), stacked again."""
    blocks = weight.split(parts, dim=0)
    return torch.cat([b.chunk(world, dim=0)[rank] for b in blocks], dim=0).contiguous()


def columns(weight: torch.Tensor, rank: int, world: int) -> torch.Tensor:
    """This rank's slice of the input columns; contiguous, as the GEMV kernel reads rows of it."""
    return weight.chunk(world, dim=1)[rank].contiguous()


def _set(linear: nn.Linear, weight: torch.Tensor, bias: torch.Tensor | None = None) -> None:
    linear.weight = nn.Parameter(weight, requires_grad=False)
    linear.bias = None if bias is None else nn.Parameter(bias, requires_grad=False)
    linear.out_features, linear.in_features = weight.shape


def shard_attention(attn: Attention, rank: int, world: int) -> None:
    attn.n_heads //= world
    attn.n_kv_heads //= world
    _set(attn.wqkv, rows(attn.wqkv.weight, attn.split, rank, world))
    attn.split = [s // world for s in attn.split]
    _set(attn.wo, columns(attn.wo.weight, rank, world))


def shard_ffn(ffn: FeedForward, rank: int, world: int) -> None:
    if ffn.kind == "relu":
        half = [ffn.w1.out_features]
        _set(ffn.w1, rows(ffn.w1.weight, half, rank, world), rows(ffn.w1.bias, half, rank, world))
        _set(ffn.w2, columns(ffn.w2.weight, rank, world), ffn.w2.bias.detach() if rank == 0 else None)
    else:
        halves = [ffn.down.in_features] * 2  # [gate; up]
        _set(ffn.gate_up, rows(ffn.gate_up.weight, halves, rank, world))
        _set(ffn.down, columns(ffn.down.weight, rank, world))


def all_reduce_output(module: nn.Module, group: dist.ProcessGroup) -> None:
    """Sum `module`'s output over the ranks after every call (a forward hook, as gpt-fast does)."""
    from torch.distributed import _functional_collectives as funcol

    module.register_forward_hook(lambda _m, _args, out: funcol.all_reduce(out, "sum", group))


@torch.no_grad()
def shard(model: Decoder, tp: TP) -> Decoder:
    """Keep this rank's slice of every attention layer and FFN (in place), and sum their outputs.

    Every rank must hold the same whole weights first (build them from one seed). Afterwards
    `model.cfg` holds the local counts (n_heads, n_kv_heads, d_ff divided by the world size), so the
    caches `generate.make_caches` makes hold this rank's KV heads only. A world of one is left as is.
    """
    if tp.world == 1:
        return model
    cfg = model.cfg
    check_divisible(cfg, tp.world)
    for block, kind in zip(model.layers, cfg.layer_types):
        if kind != MAMBA:
            shard_attention(block.mixer, tp.rank, tp.world)
            all_reduce_output(block.mixer, tp.group)
        shard_ffn(block.ffn, tp.rank, tp.world)
        all_reduce_output(block.ffn, tp.group)
    model.cfg = cfg.replace(n_heads=cfg.n_heads // tp.world, n_kv_heads=cfg.n_kv_heads // tp.world,
                            d_ff=cfg.d_ff // tp.world)
    if tp.device.type == "cuda":
        torch.cuda.empty_cache()  # the whole matrices are gone; give their memory back
    return model
