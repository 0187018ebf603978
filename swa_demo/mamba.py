"""A Mamba-style selective SSM layer: history folded into a fixed-size state instead of a KV cache.

Dimension letters (as in `model.py`, plus the SSM's own):
    B  batch               T  new tokens in this forward        C  d_model
    E  inner channels      (= ssm_expand * C)                   N  state size per channel (ssm_state)
    K  conv kernel         (ssm_conv)                           R  rank of Δ's projection (ceil(C / 16))

One layer, for each token t (Mamba-1; "selective": Δ, B and C depend on the token):

    x_t, z_t = in_proj(u_t)                          (E,), (E,)
    x_t      = silu(conv1d(x_{t-K+1} .. x_t))         a causal depthwise conv over the last K inputs
    Δ_t, B_t, C_t = softplus(dt_proj(·)), x_proj(x_t)  (E,), (N,), (N,)
    h_t      = exp(Δ_t A) ⊙ h_{t-1} + (Δ_t x_t) B_t   (E, N)   the seed's h_t = A h_{t-1} + B x_t
    y_t      = h_t C_t + D ⊙ x_t                      (E,)     the seed's y_t = C h_t
    out_t    = out_proj(y_t ⊙ silu(z_t))              (C,)

Decoding keeps two fixed-size tensors per layer (`SSMState`): the conv's last K-1 inputs and h. They
change in place at every token and never grow, whatever the context length: E·(K-1+N) numbers per row.

Prefill runs the same recurrence as a parallel scan (`selective_scan`): the pairs (a_t, b_t) =
(exp(Δ_t A), Δ_t x_t B_t) compose associatively, so chunks of tokens are scanned in log2(chunk) steps
and the state is carried from chunk to chunk; `tests/test_mamba.py` checks it against the step-by-step
recurrence.

Deliberately left out (mamba-minimal leaves them out too): the fused CUDA kernels, Δ's special
initialisation, Jamba's inner RMSNorms on Δ, B, C, and left padding (padding is on the right, as in
`generate.pad_prompts`).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import ModelConfig

SCAN_CHUNK = 64  # tokens scanned in parallel at a time (memory: B x chunk x E x N per tensor)


def inner_dims(cfg: ModelConfig) -> tuple[int, int, int, int]:
    """(E, N, K, R) of a config's mamba layers."""
    return cfg.ssm_expand * cfg.d_model, cfg.ssm_state, cfg.ssm_conv, math.ceil(cfg.d_model / 16)


class SSMState:
    """The cache of one mamba layer: a conv window and an SSM state, both fixed-size, updated in place.

        conv  (B, E, K-1)  the last K-1 inputs of the causal conv (zeros before the first token)
        ssm   (B, E, N)    h_t
        seen  (B,)         tokens folded in so far, per row: the state absorbs them without growing

    Worked example (the seed-tiny shapes, C = 32: E = 64, N = 4, K = 4): 64 x (3 + 4) = 448 numbers,
    1792 bytes in float32 per row, after 3 tokens or after 3 million.
    """

    policy = "state"  # what the trace and the classroom call this kind of cache
    graph_safe = True  # every write is an in-place copy into the same storage (see `KVCache.graph_safe`)

    def __init__(self, cfg: ModelConfig, batch: int, *, dtype: torch.dtype = torch.float32,
                 device: torch.device | str = "cpu"):
        E, N, K, _ = inner_dims(cfg)
        self.conv = torch.zeros(batch, E, K - 1, dtype=dtype, device=device)
        self.ssm = torch.zeros(batch, E, N, dtype=dtype, device=device)
        self.seen = torch.zeros(batch, dtype=torch.long, device=device)

    def numel(self) -> int:
        """Numbers held, all rows: B x E x (K - 1 + N)."""
        return self.conv.numel() + self.ssm.numel()

    def nbytes(self) -> int:
        """Bytes allocated for the conv window and the SSM state (all rows), like `KVCache.nbytes`."""
        return self.conv.numel() * self.conv.element_size() + self.ssm.numel() * self.ssm.element_size()


def selective_scan(delta: torch.Tensor, A: torch.Tensor, Bm: torch.Tensor, Cm: torch.Tensor,
                   x: torch.Tensor, h0: torch.Tensor, chunk: int = SCAN_CHUNK):
    """h_t = exp(Δ_t A) ⊙ h_{t-1} + (Δ_t x_t) B_t and y_t = h_t C_t, for t = 1..T, from h0.

        delta, x: (B, T, E)   A: (E, N)   Bm, Cm: (B, T, N)   h0: (B, E, N)
        returns y (B, T, E) and h_T (B, E, N)

    Within a chunk of L tokens the pairs (a_t, b_t) are combined by a Hillis-Steele scan: after the
    step with stride d, each t holds the composition of tokens t-2d+1..t, so log2(L) steps give every
    prefix at once; a_t then holds prod(a_1..a_t), and h_t = a_t h0 + b_t. A token with Δ = 0 (padding)
    has a = 1, b = 0: it leaves the state exactly as it was.
    """
    assert chunk >= 1, f"chunk must be >= 1, got {chunk}"
    T = delta.shape[1]
    h, ys = h0, []
    for s in range(0, T, chunk):
        d, xs = delta[:, s:s + chunk], x[:, s:s + chunk]  # (B, L, E)
        a = torch.exp(d[..., None] * A)  # (B, L, E, N)
        b = (d * xs)[..., None] * Bm[:, s:s + chunk, None, :]  # (B, L, E, N)
        L, step = a.shape[1], 1
        while step < L:
            b = torch.cat([b[:, :step], b[:, step:] + a[:, step:] * b[:, :-step]], dim=1)
            a = torch.cat([a[:, :step], a[:, step:] * a[:, :-step]], dim=1)
            step *= 2
        hs = a * h[:, None] + b  # (B, L, E, N): the state after every token of the chunk
        ys.append(torch.einsum("blen,bln->ble", hs, Cm[:, s:s + chunk]))
        h = hs[:, -1]
    return torch.cat(ys, dim=1), h


class MambaMixer(nn.Module):
    """The token mixer of a "mamba" layer; `forward` has the signature of `model.Attention.forward`."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        E, N, K, R = inner_dims(cfg)
        assert E >= 1 and N >= 1 and K >= 1, f"ssm_expand, ssm_state, ssm_conv must be >= 1: {E, N, K}"
        self.kind = "mamba"
        self.E, self.N, self.K, self.R = E, N, K, R
        self.in_proj = nn.Linear(cfg.d_model, 2 * E, bias=False)
        self.conv1d = nn.Conv1d(E, E, K, groups=E, bias=True)  # depthwise; causal through its window
        self.x_proj = nn.Linear(E, R + 2 * N, bias=False)
        self.dt_proj = nn.Linear(R, E, bias=True)
        A = torch.arange(1, N + 1, dtype=torch.get_default_dtype()).repeat(E, 1)  # (E, N)
        self.A_log = nn.Parameter(torch.log(A))  # A = -exp(A_log) < 0: every channel decays
        self.D = nn.Parameter(torch.ones(E))
        self.out_proj = nn.Linear(E, cfg.d_model, bias=False)

    def forward(self, u, ctx, cache: SSMState | None, layer: int):
        """u (B, T, C) at `ctx.positions` (B, T), -1 on right padding -> (B, T, C).

        With `cache`, the sequence continues from the cache's state and leaves its new state there;
        with `cache=None`, it starts from a zero state (the full recompute every fast path must match).
        """
        Bsz, T, _ = u.shape
        E, N, K = self.E, self.N, self.K
        valid = ctx.positions >= 0  # (B, T)
        xz = self.in_proj(u)  # (B, T, 2E)
        x, z = xz.split(E, dim=-1)  # (B, T, E) each

        # Causal conv: the last K-1 inputs before this forward, then this forward's inputs.
        prev = cache.conv if cache is not None else x.new_zeros(Bsz, E, K - 1)
        window = torch.cat([prev, x.transpose(1, 2)], dim=2)  # (B, E, K-1+T)
        x = F.silu(F.conv1d(window, self.conv1d.weight, self.conv1d.bias, groups=E)).transpose(1, 2)

        dt, Bm, Cm = self.x_proj(x).split([self.R, N, N], dim=-1)  # (B, T, R), (B, T, N), (B, T, N)
        delta = F.softplus(self.dt_proj(dt)) * valid[..., None]  # (B, T, E); 0 on padding: no change
        A = -torch.exp(self.A_log.float()).to(x.dtype)  # (E, N)
        h0 = cache.ssm if cache is not None else x.new_zeros(Bsz, E, N)
        y, h = selective_scan(delta, A, Bm, Cm, x, h0)
        y = (y + x * self.D) * F.silu(z)  # (B, T, E)

        if cache is not None:
            n = valid.sum(1)  # (B,) tokens per row; right padding means they come first
            if T > 1:
                assert bool((valid[:, :-1] | ~valid[:, 1:]).all()), "padding must be on the right"
            # The new conv window: the K-1 inputs ending at each row's last real token.
            idx = (n[:, None] + torch.arange(K - 1, device=n.device))[:, None, :].expand(-1, E, -1)
            cache.conv.copy_(window.gather(2, idx))
            cache.ssm.copy_(h)
            cache.seen += n
        if ctx.observer:
            ctx.observer.ssm(layer=layer, kind=self.kind, state=h)
        return self.out_proj(y)
