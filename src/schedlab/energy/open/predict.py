"""OPEN's predictor: profiling a new app, the MLP ensemble, collaborative filtering, and the two combined."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import numpy as np

from schedlab.energy.open.matrix import MLP_EPOCHS, MLP_MODELS, MODES, DualCapData
from schedlab.errors import OpenError

# ------------------------------------------------------------------------------------- profiling


@dataclass
class Profile:
    """What profiling a new app at some pairs reveals: nothing else of the app may be used.

    ``pairs`` always holds the anchor.  ``counters`` (len(pairs), 4) come from short runs;
    ``relative_perf`` (runtime at the anchor / runtime at the pair) only from full runs.
    """

    pairs: np.ndarray
    counters: np.ndarray
    relative_perf: np.ndarray | None = None


def profile_app(
    data: DualCapData, app: str, fraction: float, rng: np.random.Generator, mode: str = "counters"
) -> Profile:
    """Profile ``floor(fraction x measured pairs)`` pairs of ``app``: the anchor plus random others."""
    _check_mode(mode)
    _check_fraction(fraction)
    i = data.index(app)
    avail = data.available(i)
    k = int(np.floor(fraction * len(avail) + 1e-9))
    if k < 2:
        raise OpenError(
            f"--profile-fraction {fraction} profiles {k} of {len(avail)} pairs of {app}; "
            "at least 2 (the anchor and one more) are needed"
        )
    others = avail[avail != data.anchor]
    pairs = np.sort(np.concatenate([[data.anchor], rng.choice(others, k - 1, replace=False)]))
    rel = data.perf[i, pairs] / data.perf[i, data.anchor] if mode == "runtime" else None
    return Profile(pairs=pairs, counters=data.counters[i, pairs], relative_perf=rel)


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise OpenError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")


def _check_fraction(fraction: float) -> None:
    if not (0.0 < fraction <= 1.0):
        raise OpenError(f"profile fraction must be in (0, 1] (got {fraction})")


# ------------------------------------------------------------------------------------------- MLP


class MLPPredictor:
    """An ensemble of small PyTorch MLPs: (caps, counters) at a pair -> performance relative to the anchor.

    ``n_models`` networks of the same shape (``hidden``, SiLU) are trained side by side as one
    batched network (``torch.baddbmm``), each from its own He-uniform initial weights; the
    prediction is their mean.  Averaging independently initialised networks removes the part of
    a single network's error on a new app that comes from where its training happened to end
    (leave-one-app-out, seed 0: pointwise accuracy of the relative performance 94.1 % for one
    float64 network at 1500 epochs vs 95.1 % for the mean of five, which is what the completion in
    ``counters`` mode is built on).

    Training: full-batch Adam with cosine-annealed learning rate and a small weight decay on
    standardised inputs, loss = mean absolute percentage error (the metric we are scored on),
    float32 (2-3x faster than float64 at this size).  All initial weights come from a
    ``numpy.random.Generator`` seeded with ``seed`` and there is no data order, so a seed fixes
    everything (one CPU thread).
    """

    def __init__(
        self,
        hidden=(64, 64),
        epochs: int = MLP_EPOCHS,
        lr: float = 5e-3,
        weight_decay: float = 1e-5,
        seed: int = 0,
        n_models: int = MLP_MODELS,
    ):
        if n_models < 1:
            raise OpenError(f"n_models must be >= 1 (got {n_models})")
        self.hidden = tuple(hidden)
        self.epochs = epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.seed = seed
        self.n_models = n_models

    @staticmethod
    def features(pairs: np.ndarray, counters: np.ndarray) -> np.ndarray:
        return np.column_stack([np.asarray(pairs, float), np.asarray(counters, float)])

    def _forward(self, x):
        import torch

        h = x
        for k, (w, b) in enumerate(zip(self.weights_, self.biases_, strict=False)):
            h = torch.baddbmm(b, h, w)
            if k < len(self.weights_) - 1:
                h = torch.nn.functional.silu(h)
        return h

    def _inputs(self, X: np.ndarray):
        import torch

        x = torch.from_numpy(((np.asarray(X, np.float64) - self.mean_) / self.scale_).astype(np.float32))
        return x[None].expand(self.n_models, -1, -1)

    def fit(self, X: np.ndarray, y: np.ndarray) -> MLPPredictor:
        import torch

        torch.set_num_threads(1)
        X, y = np.asarray(X, np.float64), np.asarray(y, np.float64)
        self.mean_, self.scale_ = X.mean(0), X.std(0) + 1e-9
        rng = np.random.default_rng(self.seed)
        sizes = (X.shape[1], *self.hidden, 1)
        self.weights_, self.biases_ = [], []
        for a, b in itertools.pairwise(sizes):  # He-uniform from our own generator, one draw per member
            bound = np.sqrt(6.0 / a)
            self.weights_.append(
                torch.tensor(rng.uniform(-bound, bound, (self.n_models, a, b)), dtype=torch.float32, requires_grad=True)
            )
            self.biases_.append(torch.zeros((self.n_models, 1, b), dtype=torch.float32, requires_grad=True))
        xt = self._inputs(X)
        yt = torch.from_numpy(y.astype(np.float32))[None, :, None]
        params = self.weights_ + self.biases_
        opt = torch.optim.Adam(params, lr=self.lr, weight_decay=self.weight_decay)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, self.epochs)
        for _ in range(self.epochs):
            opt.zero_grad()
            per_model = torch.mean(torch.abs(self._forward(xt) - yt) / yt, dim=(1, 2))  # MAPE of each member
            per_model.sum().backward()  # members share no weights: each gets its own MAPE gradient
            opt.step()
            sched.step()
        self.train_loss_ = float(per_model.detach().mean())
        return self

    def predict_members(self, X: np.ndarray) -> np.ndarray:
        """(n_models, len(X)): every member's prediction."""
        import torch

        with torch.no_grad():
            return self._forward(self._inputs(X)).numpy()[:, :, 0].astype(np.float64)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.predict_members(X).mean(0)


# ------------------------------------------------------------------------------------------- CF


class LowRankCompleter:
    """Matrix-factorisation CF: a new row = column mean + a rank-``rank`` mix of the known rows'
    principal components, its coefficients a ridge fit to the observed entries.

    The coefficients are in units of each component's spread over the known apps, so ``ridge``
    is a noise-to-signal ratio that does not depend on the scale of the matrix.  Missing entries
    of the known rows are filled by iterating the same low-rank fit (soft impute).
    """

    def __init__(self, rank: int = 6, ridge: float = 1e-3, impute_iters: int = 30):
        self.rank = rank
        self.ridge = ridge
        self.impute_iters = impute_iters

    def fit(self, R: np.ndarray) -> LowRankCompleter:
        R = np.asarray(R, float)
        if R.ndim != 2 or R.shape[0] < 2:
            raise OpenError(f"need at least 2 known apps for collaborative filtering (got {R.shape[0]})")
        miss = np.isnan(R)
        X = np.where(miss, np.nanmean(R, axis=0)[None, :], R)
        r = min(self.rank, R.shape[0] - 1)
        for _ in range(self.impute_iters if miss.any() else 1):
            mu = X.mean(0)
            u, s, vt = np.linalg.svd(X - mu, full_matrices=False)
            low = mu + (u[:, :r] * s[:r]) @ vt[:r]
            X = np.where(miss, low, R)
        self.mean_ = X.mean(0)
        u, s, vt = np.linalg.svd(X - self.mean_, full_matrices=False)
        self.components_ = vt[:r].T * (s[:r] / np.sqrt(X.shape[0]))[None, :]  # (P, r), column = 1 sd
        self.filled_ = X
        return self

    def complete(self, idx: np.ndarray, values: np.ndarray) -> np.ndarray:
        """The full row from ``values`` observed at pair indices ``idx``."""
        V = self.components_[idx]
        rhs = np.asarray(values, float) - self.mean_[idx]
        coef = np.linalg.solve(V.T @ V + self.ridge * np.eye(V.shape[1]), V.T @ rhs)
        return self.mean_ + self.components_ @ coef


# ----------------------------------------------------------------------------------------- OPEN


@dataclass
class OpenPredictor:
    """OPEN's predictor for new apps: fit offline on known apps, predict a new app from a Profile.

    mode    ``counters`` (MLP at profiled pairs, then CF) or ``runtime`` (measured relative
            performance at profiled pairs, then CF); the MLP is trained only in ``counters`` mode
    rank, ridge                 the CF factorisation (:class:`LowRankCompleter`)
    hidden, epochs, n_models    the MLP ensemble (:class:`MLPPredictor`)
    """

    mode: str = "counters"
    rank: int = 6
    ridge: float = 1e-3
    hidden: tuple = (64, 64)
    epochs: int = MLP_EPOCHS
    seed: int = 0
    n_models: int = MLP_MODELS
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        _check_mode(self.mode)

    def fit(self, data: DualCapData, mlp: MLPPredictor | None = None) -> OpenPredictor:
        """Learn from every app in ``data`` (all of them are 'known').  ``mlp``: reuse a fitted one."""
        self.pairs_ = data.pairs
        self.anchor_ = data.anchor
        rel = data.perf / data.perf[:, [data.anchor]]
        self.cf_ = LowRankCompleter(self.rank, self.ridge).fit(rel)
        self.mlp_ = mlp
        if self.mode == "counters" and mlp is None:
            ok = ~np.isnan(rel)
            X = MLPPredictor.features(np.broadcast_to(data.pairs, (*rel.shape, 2))[ok], data.counters[ok])
            t0 = time.perf_counter()
            self.mlp_ = MLPPredictor(self.hidden, self.epochs, seed=self.seed, n_models=self.n_models).fit(X, rel[ok])
            self.info["mlp_seconds"] = time.perf_counter() - t0
        return self

    def observed(self, profile: Profile) -> np.ndarray:
        """Relative performance at the profiled pairs: measured (runtime) or the MLP's (counters)."""
        if self.mode == "runtime":
            if profile.relative_perf is None:
                raise OpenError("runtime mode needs full runs (relative_perf) at the profiled pairs")
            return np.asarray(profile.relative_perf, float)
        y = self.mlp_.predict(MLPPredictor.features(self.pairs_[profile.pairs], profile.counters))
        y[profile.pairs == self.anchor_] = 1.0  # relative to itself, by definition
        return y

    def predict(self, profile: Profile) -> np.ndarray:
        """Predicted ``perf_norm`` at every pair (max = 1)."""
        if self.anchor_ not in profile.pairs:
            raise OpenError("a profile must include the max-cap anchor pair")
        y = self.observed(profile)
        row = self.cf_.complete(profile.pairs, y)
        row[profile.pairs] = y
        row = np.maximum(row, 1e-3)
        return row / row.max()
