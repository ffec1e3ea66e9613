"""Train/test splits and episode windows, fixed by seed so every agent and heuristic is
evaluated on the same jobs."""

from __future__ import annotations

from functools import lru_cache

import numpy as np


def split_bounds(n_jobs: int, train_split: float, split: str) -> tuple[int, int]:
    """Job index range [lo, hi) of a split: jobs are in submit order, the first ``train_split``
    fraction is ``train``, the rest ``test``; ``all`` is every job."""
    if not 0.0 < train_split < 1.0:
        raise ValueError(f"train split must be between 0 and 1, got {train_split}")
    cut = round(n_jobs * train_split)
    return {"train": (0, cut), "test": (cut, n_jobs), "all": (0, n_jobs)}[split]


def eval_window_starts(lo: int, hi: int, length: int, k: int, seed: int) -> np.ndarray:
    """K windows of ``length`` jobs inside [lo, hi), placed by ``seed``.

    When they fit side by side the spare jobs are split into k + 1 random gaps, so the windows
    never overlap each other; when they do not fit (e.g. 10 x 1,024 jobs in theta_2022's 7,173-job
    test split) the starts are seeded uniform draws and windows may share jobs.  Either way every
    window lies inside the split, so test windows never touch the training split.
    """
    if k < 1 or length < 1 or hi - lo < length:
        raise ValueError(f"{k} windows of {length} jobs do not fit in a split of {hi - lo} jobs")
    rng = np.random.default_rng(seed)
    slack = (hi - lo) - k * length
    if slack >= 0:
        gaps = np.sort(rng.integers(0, slack + 1, size=k))
        return lo + gaps + np.arange(k) * length
    return np.sort(rng.integers(lo, hi - length + 1, size=k))


@lru_cache(maxsize=8)
def cached_trace(name: str, rules: str):
    """A loaded trace, cached per process (environments of a vector share one copy)."""
    from schedlab.workload import load_trace

    return load_trace(name, rules=rules)
