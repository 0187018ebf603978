"""Per-layer KV caches. Each write returns the keys attention reads and the positions it evicted.

One class, five policies (DESIGN.md, "Cache policies"):

    policy      slots                          a write ...
    full        one per position (slot = pos)  appends; nothing is evicted
    mask-only   one per position (slot = pos)  appends; the mask slides, the memory does not
    seed        the held entries, in order     appends; a decode step then drops pos < q - W + 1
    ring        exactly W (slot = pos % W)     overwrites the entry W positions older
    sink        S sinks + a ring of W - S      keeps 0..S-1 forever, rotates the rest

Worked example (ring, W = 2, prompt A B C then D E):

    after prefill A B C   slots [C, B]  (slot 0 = pos 2, slot 1 = pos 1: A was overwritten by C)
    write D (pos 3)       slots [C, D]  evicts B
    write E (pos 4)       slots [E, D]  evicts C
    logical (unrotated)   [D, E]

What leaves is decided in one place, `KVCache.keeps(pos, q)`: a position stays while the newest query
`q` (and so every later one) may still read it, `window.allowed(q, pos, W, S)`; `full` and `mask-only`
keep everything, and `seed` evicts only in a decode step. A ring's slot (`pos % W`) is laid out so that
a decode write overwrites exactly the one entry `keeps` drops; `tests/test_cache.py` checks, for every
policy, that each write evicts exactly the held entries `keeps` drops.

Shapes: B batch, H KV heads, N slots, T new tokens, D head dim. Keys and values are (B, H, N, D);
`pos` is (B, N) with -1 (`NO_POSITION`) in empty slots.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from .window import NO_POSITION, allowed


class CacheView(NamedTuple):
    k: torch.Tensor  # (B, H, Tk, D) the keys attention reads for this write's queries
    v: torch.Tensor  # (B, H, Tk, D)
    pos: torch.Tensor  # (B, Tk) their positions, -1 where a slot is empty
    evicted: torch.Tensor  # (B, E) positions this write removed, -1 padded


class KVCache:
    """The KV cache of one attention layer.

    `capacity` preallocates `full`, `mask-only` and `seed` storage (static shapes for the GPU);
    without it they grow as positions arrive. `ring` and `sink` always hold exactly `window` slots.
    """

    def __init__(self, policy: str, batch: int, n_kv_heads: int, head_dim: int,
                 window: int | None, *, sinks: int = 0, capacity: int | None = None,
                 dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu",
                 rope: str = "absolute"):
        assert policy in ("full", "mask-only", "seed", "ring", "sink"), f"unknown policy {policy}"
        assert policy == "full" or (window or 0) >= 1, f"policy {policy} needs a window >= 1"
        assert policy != "sink" or 0 < sinks < window, f"sink needs 0 < S < W, got S={sinks}"
        assert rope in ("absolute", "cache"), f"rope must be absolute or cache, got {rope}"
        self.policy = policy
        # "absolute": keys are held rotated at their position in the text (Mistral); "cache": held before
        # RoPE and rotated at their index inside the cache at every step (StreamingLLM), see
        # `model.rope_by_cache_index`.
        self.rope = rope
        self.window = None if policy == "full" else window
        self.sinks = sinks if policy == "sink" else 0
        if policy in ("ring", "sink"):
            n = window
        else:  # a multiple of 64 keeps the key dimension of the decode matmuls aligned
            n = -(-capacity // 64) * 64 if capacity else 0
        self.k = torch.zeros(batch, n_kv_heads, n, head_dim, dtype=dtype, device=device)
        self.v = torch.zeros_like(self.k)
        self.pos = torch.full((batch, n), NO_POSITION, dtype=torch.long, device=device)
        self.fresh = True  # nothing written yet: a first prefill reads only its own keys
        self.static = capacity is not None  # preallocated: decode writes without growing or syncing

    @property
    def graph_safe(self) -> bool:
        """Can a captured CUDA graph replay this cache's decode write? Only if the write stays in the
        same storage: a ring (`ring`, `sink`) always does, `full` and `mask-only` once preallocated.
        `seed` never does: it appends and compacts, which reallocates, whatever its capacity."""
        return self.policy in ("ring", "sink") or (self.static and self.policy in ("full", "mask-only"))

    def keeps(self, pos: torch.Tensor, q: torch.Tensor, decode: bool = True) -> torch.Tensor:
        """Which of the positions `pos` this cache still holds once the newest query is at `q`.

        The one eviction rule, for every policy: a ring (`ring`, `sink`), and `seed` after a decode
        step, keep what `q` may attend, `window.allowed(q, pos, W, S)` (no later query reads further
        back); `full` and `mask-only` keep everything; `seed` keeps everything a prefill writes (the
        walkthrough evicts only when it decodes). `pos` (B, N) and `q` (B, 1) broadcast; -1 is never kept.

        Worked example (W = 2): decoding D (q = 3) keeps C and D, positions 2 and 3.
        """
        if self.policy in ("full", "mask-only") or (self.policy == "seed" and not decode):
            return pos >= 0
        return allowed(q, pos, self.window, self.sinks)

    # ---- what a write does -------------------------------------------------------------------

    def update(self, k: torch.Tensor, v: torch.Tensor, pos: torch.Tensor,
               decode: bool = False) -> CacheView:
        """Store the new keys/values (B, H, T, D) at positions `pos` (B, T); return what attention reads.

        A decode write (one real token per row, never padding) stores first and reads the cache, which
        already holds the whole window. A prefill write (the prompt, or a chunk of it, padded rows
        allowed) reads the old entries plus all the new ones, because a ring may overwrite keys that the
        chunk's earlier queries still need.
        """
        assert not decode or k.shape[2] == 1, f"a decode step writes one token per row, not {k.shape[2]}"
        if self.policy in ("ring", "sink"):
            view = self._update_rotating(k, v, pos, decode)
        elif self.policy == "seed":
            view = self._update_seed(k, v, pos, decode)
        else:
            view = self._update_by_position(k, v, pos, decode)
        self.fresh = False
        return view

    def _slot(self, pos: torch.Tensor) -> torch.Tensor:
        """Physical slot of each position in a ring (sinks first, then `pos % (W - S)` rotated)."""
        s = self.sinks
        ring = self.window - s
        return torch.where(pos < s, pos, s + (pos - s) % ring)

    def _update_rotating(self, k, v, pos, decode: bool) -> CacheView:
        if decode:  # write, then read exactly W slots (the GPU path; no host sync)
            evicted = self._write_one(self._slot(pos), k, v, pos)
            return CacheView(self.k, self.v, self.pos, evicted)
        if self.fresh:
            view = CacheView(k, v, pos, None)
        else:
            view = CacheView(torch.cat([self.k, k], 2), torch.cat([self.v, v], 2),
                             torch.cat([self.pos, pos], 1), None)
        # A chunk longer than the ring writes only the entries its newest query keeps: the newest W - S
        # (plus any sinks). Writing the rest would only overwrite them within the same chunk.
        newest = pos.max(dim=1, keepdim=True).values
        b, t = self.keeps(pos, newest).nonzero(as_tuple=True)
        slot = self._slot(pos[b, t])
        old = self.pos[b, slot]
        evicted = _ragged(b, old, old >= 0, pos.shape[0])
        self.k[b, :, slot] = k[b, :, t]
        self.v[b, :, slot] = v[b, :, t]
        self.pos[b, slot] = pos[b, t]
        return view._replace(evicted=evicted)

    def _update_by_position(self, k, v, pos, decode: bool) -> CacheView:
        none = torch.full((pos.shape[0], 0), NO_POSITION, dtype=torch.long, device=pos.device)
        if decode and self.static:
            # decode into preallocated storage: static shapes, no host sync (CUDA-graph friendly)
            self._write_one(pos, k, v, pos)
            return CacheView(self.k, self.v, self.pos, none)
        need = int(pos.max()) + 1
        if need > self.pos.shape[1]:
            self._grow(need)
        b, t = (pos >= 0).nonzero(as_tuple=True)
        slot = pos[b, t]
        self.k[b, :, slot] = k[b, :, t]
        self.v[b, :, slot] = v[b, :, t]
        self.pos[b, slot] = slot
        if self.fresh:
            return CacheView(k, v, pos, none)
        return CacheView(self.k[:, :, :need], self.v[:, :, :need], self.pos[:, :need], none)

    def _write_one(self, slot, k, v, pos) -> torch.Tensor:
        """Write one token per row (k, v: (B, H, 1, D)) at `slot` (B, 1); return what it overwrote.

        Every row carries a real token in a decode step (`generate` never pads one), so this is a plain
        indexed store: the fewest kernels on the per-token path. It decides nothing: in a ring the
        overwritten entry is the one `keeps` drops (the slot layout guarantees it, the tests check it),
        and evaluating `keeps` here would add kernels to every layer of a CUDA-graphed step.
        """
        old = self.pos.gather(1, slot)
        rows = torch.arange(slot.shape[0], device=slot.device)[:, None]  # (B, 1)
        # Indexed assignment, which torch.compile turns into an in-place store of the B new entries;
        # with scatter_ the compiled H100 step ran an extra copy kernel for K and for V in every layer.
        self.k[rows, :, slot] = k.transpose(1, 2)  # (B, 1, H, D)
        self.v[rows, :, slot] = v.transpose(1, 2)
        self.pos[rows, slot] = pos
        return old

    def _update_seed(self, k, v, pos, decode: bool) -> CacheView:
        # The seed walkthrough, literally: append every new entry, read them all (the mask decides
        # what counts), and only in a decode step drop what no later query can read.
        self.k = torch.cat([self.k, k], 2)
        self.v = torch.cat([self.v, v], 2)
        self.pos = torch.cat([self.pos, pos], 1)
        view = CacheView(self.k, self.v, self.pos, None)
        drop = (self.pos >= 0) & ~self.keeps(self.pos, pos.max(dim=1, keepdim=True).values, decode)
        b, n = drop.nonzero(as_tuple=True)
        evicted = _ragged(b, self.pos[b, n], torch.ones_like(b, dtype=torch.bool), pos.shape[0])
        self.pos = torch.where(drop, NO_POSITION, self.pos)
        self._compact()
        return view._replace(evicted=evicted)

    def _grow(self, n: int) -> None:
        extra = n - self.pos.shape[1]
        B, H, _, D = self.k.shape
        self.k = torch.cat([self.k, self.k.new_zeros(B, H, extra, D)], 2)
        self.v = torch.cat([self.v, self.v.new_zeros(B, H, extra, D)], 2)
        self.pos = torch.cat([self.pos, self.pos.new_full((B, extra), NO_POSITION)], 1)

    def _compact(self) -> None:
        """Move held entries to the front, in arrival order, and drop empty columns."""
        order = torch.sort((self.pos < 0).to(torch.int8), dim=1, stable=True).indices
        self.pos = self.pos.gather(1, order)
        idx = order[:, None, :, None].expand_as(self.k)
        self.k = self.k.gather(2, idx)
        self.v = self.v.gather(2, idx)
        keep = int((self.pos >= 0).sum(1).max()) if self.pos.numel() else 0
        self.pos, self.k, self.v = self.pos[:, :keep], self.k[:, :, :keep], self.v[:, :, :keep]

    # ---- the two views of what is held: physical slots, logical order ------------------------------
    # (the tests and a reader at a prompt use them; the tracer reads the same `pos` row directly)

    def slots(self, row: int = 0) -> list[tuple[int, int]]:
        """(slot, position) of every held entry of one batch row, in physical slot order."""
        return [(s, p) for s, p in enumerate(self.pos[row].tolist()) if p >= 0]

    def unrotate(self, row: int = 0) -> list[int]:
        """The held positions in logical (position) order: the ring as attention sees it."""
        return sorted(p for _, p in self.slots(row))

    def held(self) -> int:
        """Entries held in the fullest row."""
        return int((self.pos >= 0).sum(1).max()) if self.pos.numel() else 0

    def nbytes(self) -> int:
        """Bytes allocated for keys and values (all rows)."""
        return self.k.numel() * self.k.element_size() * 2


def _ragged(rows: torch.Tensor, values: torch.Tensor, keep: torch.Tensor, batch: int) -> torch.Tensor:
    """Pack `values[keep]` into a (batch, E) tensor by row, padding with -1."""
    rows, values = rows[keep], values[keep]
    counts = torch.bincount(rows, minlength=batch)
    width = int(counts.max()) if rows.numel() else 0
    out = torch.full((batch, width), NO_POSITION, dtype=torch.long, device=values.device)
    if rows.numel():
        start = torch.cumsum(counts, 0) - counts
        col = torch.arange(rows.numel(), device=rows.device) - start[rows]
        out[rows, col] = values
    return out
