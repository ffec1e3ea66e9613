"""Greedy decisions of a trained agent without PyTorch: the networks' forward pass compiled by numba.

A model used as a policy takes one decision at a time (batch 1).  PyTorch spends ~150 us per such
call on module dispatch alone, which held ``simulate --policy model:`` to ~5k decisions/s.  Here
the weights are copied once into one float64 buffer with a table of layers, and the forward pass
of the scorer and the DRAS agent (see :mod:`schedlab.rl.agents`) is a few compiled loops over the
visible slots only.

The arithmetic is float64 where PyTorch's is float32, so logits differ by ~1e-7 relative; the
greedy action differs only where two jobs' scores tie to that precision (never seen on the
shipped models, checked by the tests).  Training keeps PyTorch; every greedy use of a trained
model (``model:`` policies, ``evaluate``, ``explain``'s teacher) goes through here.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from torch import nn

#: Layer table columns: weight offset, rows (outputs), cols (inputs), tanh after (0/1), bias offset.
L_W, L_ROWS, L_COLS, L_TANH, L_B = range(5)
NEG = -1e9


@njit(cache=True)
def _dense(buf, table, layer, x):
    """x @ W.T + b of ``layer`` for every row of ``x`` (k, in), tanh after when the table says so."""
    w0, rows, cols, act, b0 = table[layer, 0], table[layer, 1], table[layer, 2], table[layer, 3], table[layer, 4]
    y = x @ buf[w0 : w0 + rows * cols].reshape(cols, rows)  # stored transposed: (in, out)
    y += buf[b0 : b0 + rows]
    return np.tanh(y) if act else y


@njit(cache=True)
def _mlp(buf, table, first, n, x):
    """Layers first .. first+n-1 applied to every row of ``x``."""
    for i in range(n):
        x = _dense(buf, table, first + i, x)
    return x


@njit(cache=True)
def _inputs(obs, mask, W, F, G, extra):
    """The visible slots' inputs (k, F + extra + G: job features, history features, cluster
    features) and the slot count k (the last valid slot + 1, at least 1)."""
    k = 1
    for j in range(W):
        if mask[j]:
            k = j + 1
    D = F + extra
    x = np.empty((k, D + G))
    cl0 = W * F
    h0 = W * F + G
    for j in range(k):
        for f in range(F):
            x[j, f] = obs[j * F + f]
        for f in range(extra):
            x[j, F + f] = obs[h0 + j * extra + f]
        for g in range(G):
            x[j, D + g] = obs[cl0 + g]
    return x, k


@njit(cache=True)
def _pool(x, D):
    """Mean over the valid rows (column 0 is ``valid``) of the first D columns, then the rest of row 0."""
    k, C = x.shape
    p = np.zeros((1, C))
    n = 0.0
    for j in range(k):
        v = x[j, 0]
        n += v
        for f in range(D):
            p[0, f] += x[j, f] * v
    for f in range(D):
        p[0, f] /= max(n, 1.0)
    for f in range(D, C):
        p[0, f] = x[0, f]
    return p


@njit(cache=True)
def scorer_logits(buf, table, obs, mask, W, F, G, extra, stop, n_score, out):
    """The scorer's masked logits of one decision into ``out`` (W + 1: slots, then stop).

    Layer order in the table: the score MLP (``n_score`` layers), then the stop MLP (2)."""
    x, k = _inputs(obs, mask, W, F, G, extra)
    s = _mlp(buf, table, 0, n_score, x)
    out[:] = NEG
    for j in range(k):
        if mask[j]:
            out[j] = s[j, 0]
    if stop and mask.shape[0] > W and mask[W]:
        out[W] = _mlp(buf, table, n_score, 2, _pool(x, F + extra))[0, 0]


@njit(cache=True)
def dras_logits(buf, table, obs, mask, W, F, G, extra, stop, hidden, phase, out):
    """The DRAS agent's masked logits of one decision into ``out`` (W + 1: slots, then stop).

    Layer order in the table: encode (2, then tanh), context (1, tanh), run head (2), backfill
    head (2), stop (2)."""
    x, k = _inputs(obs, mask, W, F, G, extra)
    H = hidden
    e = np.tanh(_mlp(buf, table, 0, 2, x))
    cin = np.empty((1, 2 * H + G))
    n = 0.0
    for j in range(k):
        n += x[j, 0]
    for h in range(H):
        m, mx = 0.0, -np.inf
        for j in range(k):
            v = x[j, 0]
            m += e[j, h] * v
            mx = max(mx, e[j, h] + (v - 1.0) * 4.0)
        cin[0, h] = m / max(n, 1.0)
        cin[0, H + h] = mx
    D = F + extra
    for g in range(G):
        cin[0, 2 * H + g] = x[0, D + g]
    ctx = _dense(buf, table, 2, cin)
    pair = np.empty((k, 2 * H))
    for j in range(k):
        for h in range(H):
            pair[j, h] = e[j, h]
            pair[j, H + h] = ctx[0, h]
    head = 5 if obs[W * F + phase] > 0.5 else 3
    s = _mlp(buf, table, head, 2, pair)
    out[:] = NEG
    for j in range(k):
        if mask[j]:
            out[j] = s[j, 0]
    if stop and mask.shape[0] > W and mask[W]:
        out[W] = _mlp(buf, table, 7, 2, ctx)[0, 0]


def _linears(module: nn.Module) -> list[nn.Linear]:
    return [m for m in module.modules() if isinstance(m, nn.Linear)]


def pack(groups: list[tuple[nn.Module | None, bool]]) -> tuple[np.ndarray, np.ndarray]:
    """One float64 buffer and a layer table for ``groups`` of (module, tanh after the last layer):
    every layer of a group but its last is followed by tanh (how :func:`schedlab.rl.agents.mlp`
    builds them); a ``None`` group adds nothing."""
    parts: list[np.ndarray] = []
    rows: list[tuple[int, int, int, int, int]] = []
    off = 0
    for module, tanh_last in groups:
        if module is None:
            continue
        layers = _linears(module)
        for i, lin in enumerate(layers):
            w = lin.weight.detach().double().numpy().T.ravel()  # (in, out), C order
            bias = lin.bias.detach().double().numpy()
            act = 1 if (i < len(layers) - 1 or tanh_last) else 0
            rows.append((off, lin.out_features, lin.in_features, act, off + len(w)))
            parts.extend([w, bias])
            off += len(w) + len(bias)
    return np.ascontiguousarray(np.concatenate(parts)), np.array(rows, dtype=np.int64)


class FastForward:
    """The greedy forward pass of a built agent network (a ScorerAgent or a DrasAgent)."""

    def __init__(self, net: nn.Module, n_job_features: int, n_cluster_features: int, phase: int):
        self.W, self.stop = net.W, bool(net.stop_action)
        self.F, self.G, self.extra, self.phase = n_job_features, n_cluster_features, net.extra, phase
        self.dras = hasattr(net, "run_head")
        if self.dras:
            self.hidden = net.context[0][0].out_features
            groups = [(net.encode, False), (net.context, True), (net.run_head, False), (net.backfill_head, False)]
            self.buf, self.table = pack([*groups, (net.stop, False)])
        else:
            self.n_score = len(_linears(net.score))
            self.buf, self.table = pack([(net.score, False), (net.stop, False)])
        self.out = np.empty(self.W + 1)

    def logits(self, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Masked logits over W slots and stop (NEG where invalid; stop NEG without a stop action)."""
        obs = np.ascontiguousarray(obs, dtype=np.float64)
        mask = np.ascontiguousarray(mask, dtype=np.bool_)
        if self.dras:
            dras_logits(
                self.buf,
                self.table,
                obs,
                mask,
                self.W,
                self.F,
                self.G,
                self.extra,
                self.stop,
                self.hidden,
                self.phase,
                self.out,
            )
        else:
            scorer_logits(
                self.buf, self.table, obs, mask, self.W, self.F, self.G, self.extra, self.stop, self.n_score, self.out
            )
        return self.out


__all__ = ["NEG", "FastForward", "dras_logits", "pack", "scorer_logits"]
