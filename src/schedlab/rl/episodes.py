"""Train/test splits and episode windows, fixed by seed so every agent and heuristic is
evaluated on the same jobs; and the one loop that runs episodes (:func:`run_episode`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np

from schedlab.errors import SchedlabError


def split_bounds(n_jobs: int, train_split: float, split: str) -> tuple[int, int]:
    """Job index range [lo, hi) of a split: jobs are in submit order, the first ``train_split``
    fraction is ``train``, the rest ``test``; ``all`` is every job."""
    if not 0.0 < train_split < 1.0:
        raise SchedlabError(f"train split must be between 0 and 1, got {train_split}")
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
        raise SchedlabError(f"{k} windows of {length} jobs do not fit in a split of {hi - lo} jobs")
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


def run_episodes(runs: Sequence[tuple], act_all: Callable[[list], Sequence[int]]) -> list[dict]:
    """Run one episode per ``(env, window start)`` in lock-step; their ``episode_metrics``, in order.

    Each environment is reset at its start; then, while any episode is running,
    ``act_all(live envs)`` gives one action per running environment (in the order given) and each
    takes its step.  Batched policies (a network over all live observations) use this directly.
    """
    envs = [env for env, _ in runs]
    for env, start in runs:
        env.reset(options={"start": int(start)})
    out: list[dict | None] = [None] * len(envs)
    live = list(range(len(envs)))
    while live:
        actions = act_all([envs[i] for i in live])
        keep = []
        for i, a in zip(live, actions, strict=True):
            _, _, done, _, info = envs[i].step(int(a))
            if done:
                out[i] = info["episode_metrics"]
            else:
                keep.append(i)
        live = keep
    return out  # type: ignore[return-value]


def run_episode(env, act: Callable[[object], int], start: int) -> dict:
    """One episode of ``env`` from window ``start``, ``act(env) -> action`` at every decision (it
    reads the decision from ``env.observation()``, ``env.action_masks()`` or
    ``env.decision_view()``); the episode's metrics (mean bsld, mean wait, utilisation, ...)."""
    return run_episodes([(env, start)], lambda envs: [act(envs[0])])[0]


def next_window_start(env, options: dict) -> int:
    """The window a ``reset`` of ``env`` (either scheduling environment) loads: ``options["start"]``
    (checked against the split), a uniformly random one in the training split, or the next of the
    fixed evaluation windows.  ``env`` has ``lo``, ``hi``, ``L``, ``split``, ``np_random``,
    ``eval_starts`` and ``_next_eval``."""
    if "start" in options:
        s = int(options["start"])
        if not env.lo <= s <= env.hi - env.L:
            raise SchedlabError(f"window start {s} is outside the {env.split} split [{env.lo}, {env.hi - env.L}]")
        return s
    if env.split == "train" and env.hi - env.lo > env.L:
        return int(env.np_random.integers(env.lo, env.hi - env.L + 1))
    s = int(env.eval_starts[env._next_eval % len(env.eval_starts)])
    env._next_eval += 1
    return s
