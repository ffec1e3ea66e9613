"""Learned hole life: predict how much longer each idle hole will last.

BFTrainer's one tuning knob is Tfwd, the time the allocator assumes a new allocation will be
useful for.  The right value depends on the machine's idle holes, which differ between machines,
times of day and nodes, and which become more predictable as a hole ages (hole lengths are
heavy-tailed: a hole that has lasted an hour is likely to last much longer).

:class:`HoleLifePredictor` (scikit-learn convention: ``fit`` on a history, learned attributes end
in ``_``) regresses log remaining life on

* log of the hole's age so far,
* time of day (sine and cosine of the hour),
* the node's own history: median log hole length and log number of holes in the training trace,

with gradient-boosted trees, trained on holes of the history sampled at several ages.  In a
replay it gives

* ``risk(...)``: expected pre-emptions per second of each trainer at each node count, which
  :mod:`.allocate` can charge in the objective (``--risk``);
* ``predict_remaining(...)``: per node, so growing trainers take the longest-lived nodes and
  shrinking ones give back the shortest-lived (``node_choice='longest'``), and the objective's Tfwd
  can follow the predictions (``tfwd_scale``, or ``tfwd_learned``: the predicted time until the
  next idle node is taken back).
"""

from __future__ import annotations

import numpy as np

from schedlab.elastic.idle import IdleTrace
from schedlab.errors import SchedlabError


class HoleLifePredictor:
    def __init__(
        self,
        ages_per_hole: int = 4,
        max_iter: int = 200,
        learning_rate: float = 0.1,
        max_leaf_nodes: int = 31,
        risk_scale: float = 1.0,
        seed: int = 0,
        clock_offset: float = 0.0,
    ):
        self.ages_per_hole = ages_per_hole
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.risk_scale = risk_scale
        self.seed = seed
        self.clock_offset = clock_offset  # seconds from the trace clock to local midnight-based time

    # ------------------------------------------------------------------ features
    def _features(self, t, age, nodes) -> np.ndarray:
        hour = ((np.asarray(t, float) + self.clock_offset) / 3600.0) % 24.0
        return np.column_stack(
            [
                np.log1p(np.maximum(age, 0.0)),
                np.sin(2 * np.pi * hour / 24),
                np.cos(2 * np.pi * hour / 24),
                self.node_median_log_[nodes],
                self.node_log_count_[nodes],
            ]
        )

    def fit(self, history: IdleTrace) -> HoleLifePredictor:
        from sklearn.ensemble import HistGradientBoostingRegressor

        holes = history.holes()
        complete = holes[~holes["censored"] & (holes["duration"] > 0)]
        if len(complete) < 10:
            raise SchedlabError(f"only {len(complete)} complete idle holes to learn from; need at least 10")
        n = history.n_nodes
        logd = np.log(complete["duration"].to_numpy())
        node = complete["node"].to_numpy()
        counts = np.bincount(node, minlength=n)
        overall = float(np.median(logd))
        med = np.full(n, overall)
        order = np.argsort(node, kind="stable")
        splits = np.split(logd[order], np.cumsum(counts)[:-1])
        for i, chunk in enumerate(splits):
            if len(chunk):
                # shrink towards the machine-wide median for nodes with few holes
                w = len(chunk) / (len(chunk) + 5.0)
                med[i] = w * np.median(chunk) + (1 - w) * overall
        self.node_median_log_ = med
        self.node_log_count_ = np.log1p(counts.astype(float))
        rng = np.random.default_rng(self.seed)
        dur = complete["duration"].to_numpy()
        start = complete["start"].to_numpy()
        reps = self.ages_per_hole
        frac = np.c_[np.zeros(len(dur)), rng.random((len(dur), reps - 1))] if reps > 1 else np.zeros((len(dur), 1))
        age = (frac * dur[:, None]).ravel()
        d = np.repeat(dur, frac.shape[1])
        X = self._features(np.repeat(start, frac.shape[1]) + age, age, np.repeat(node, frac.shape[1]))
        y = np.log(np.maximum(d - age, 1.0))
        self.model_ = HistGradientBoostingRegressor(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            random_state=self.seed,
        )
        self.model_.fit(X, y)
        self.n_holes_ = len(complete)
        return self

    # ------------------------------------------------------------------ use
    def predict_remaining(self, t: float, nodes: np.ndarray, hole_start: np.ndarray) -> np.ndarray:
        """Predicted remaining idle seconds of each node's current hole (geometric-mean scale)."""
        nodes = np.asarray(nodes, dtype=np.int64)
        if len(nodes) == 0:
            return np.zeros(0)
        age = t - np.where(np.isnan(hole_start), t, hole_start)
        return np.exp(self.model_.predict(self._features(np.full(len(nodes), t), age, nodes)))

    def risk(
        self, held_life: list[np.ndarray], current: np.ndarray, free_life: np.ndarray, n_counts: int
    ) -> np.ndarray:
        """(J, n_counts) expected pre-emptions per second of each trainer at each node count.

        A node whose hole has L seconds left is taken back at a rate of about 1 / L, so a trainer
        on nodes with remaining lives L_i is pre-empted at sum(1 / L_i) per second.  Growing to k
        nodes adds the longest-lived free nodes; shrinking keeps the longest-lived of its own (the
        order :mod:`.replay` uses with ``node_choice='longest'``).
        """
        free_inv = np.r_[0.0, np.cumsum(1.0 / np.sort(free_life)[::-1])] if len(free_life) else np.zeros(1)
        k = np.arange(n_counts)
        out = np.empty((len(current), n_counts))
        for row, (life, c) in enumerate(zip(held_life, current, strict=False)):
            own_inv = np.r_[0.0, np.cumsum(1.0 / np.sort(life)[::-1])]
            c = min(int(c), len(life))
            grow = own_inv[c] + free_inv[np.minimum(np.maximum(k - c, 0), len(free_inv) - 1)]
            out[row] = np.where(k <= c, own_inv[np.minimum(k, c)], grow)
        return self.risk_scale * out
