"""``schedlab/Scheduling-v0``: a gymnasium environment over the step-wise engine.

One episode = one window of ``window_len`` consecutive jobs simulated alone on an empty machine
(as every windowed comparison in schedlab).  At each decision the agent picks one of the ``W``
visible waiting jobs (see :mod:`schedlab.simulator.stepper` for the rules, the visibility rule and
every observation feature).  Invalid actions are replaced by the first valid one and counted in
``info["invalid_actions"]``; use the mask (``action_masks()`` or ``info["action_mask"]``).

Rewards (``reward=``):
  bsld  at episode end, -mean bounded slowdown of the window (tau = 10 s); 0 before
  wait  at episode end, -mean wait of the window in hours
  util  at episode end, utilisation of the window (work / (capacity x span))
  dras  after every decision, DRAS's reward: 1/3 utilisation after the decision
        + 1/3 chosen job's wait / max(longest wait in the queue, 6 h) + 1/3 chosen job's units /
        capacity (a ``stop`` in the backfill phase earns the utilisation term only)

Splits: jobs are ordered by submit time; the first ``train_split`` fraction is the training
split, the rest the test split.  Training episodes start at uniformly random jobs of the
training split (the whole window inside it).  Test episodes cycle through ``eval_windows`` fixed,
non-overlapping windows of the test split, placed by ``eval_seed``
(:func:`schedlab.rl.episodes.eval_window_starts`).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from schedlab.metrics import TAU, bounded_slowdown
from schedlab.policies import POLICY_NAMES, STATIC, priority_ranks, static_scores
from schedlab.rl.episodes import eval_window_starts, split_bounds
from schedlab.simulator import job_sizes
from schedlab.simulator.stepper import (
    CLUSTER_FEATURES, F_T, I_DECISIONS, I_FREE, I_NQ, I_PHASE, JOB_FEATURES, MODES, N_CLUSTER_FEATURES,
    N_FSTATE, N_ISTATE, N_JOB_FEATURES, step_act, step_advance, step_observe, step_reset,
)
from schedlab.workload.table import Workload

REWARDS = ("bsld", "wait", "util", "dras")
SPLITS = ("train", "test", "all")
DRAS_WAIT_FLOOR = 6 * 3600.0


def _load(trace, rules: str) -> Workload:
    if isinstance(trace, Workload):
        return trace
    from schedlab.rl.episodes import cached_trace

    return cached_trace(str(trace), rules)


class SchedulingEnv(gym.Env):
    """Pick which waiting job runs (or is reserved) next; see the module docstring.

    Parameters (all visible in ``repr(env.spec)`` when made through ``gymnasium.make``):
      trace          bundled trace name, SWF path, or a :class:`Workload`
      window_len     jobs per episode (None: the whole split as one episode)
      visible        W, waiting jobs the agent sees and may pick (the first W in queue order)
      backfill       none | easy | agent (the agent picks backfill jobs; adds a ``stop`` action)
      reward         bsld | wait | util | dras
      split          train | test | all;  train_split: fraction of jobs in the training split
      queue_order    static policy ordering the queue (visibility and EASY's backfill order)
      capacity_unit  procs | nodes;  estimates: requested | actual;  kill_at_request: bool
      rules          cleaning rule set when ``trace`` is a name or path
      eval_windows, eval_seed  test-split windows (fixed, non-overlapping)
    """

    metadata = {"render_modes": []}

    def __init__(self, trace: Any = "theta_2022", window_len: int | None = 256, visible: int = 128,
                 backfill: str = "easy", reward: str = "bsld", split: str = "train", train_split: float = 0.7,
                 queue_order: str = "fcfs", capacity_unit: str = "procs", estimates: str = "requested",
                 kill_at_request: bool = True, rules: str = "textbook", eval_windows: int = 10,
                 eval_seed: int = 0):
        super().__init__()
        for value, allowed, what in ((backfill, tuple(MODES), "backfill mode"), (reward, REWARDS, "reward"),
                                     (split, SPLITS, "split"), (queue_order, STATIC, "queue order"),
                                     (capacity_unit, ("procs", "nodes"), "capacity unit"),
                                     (estimates, ("requested", "actual"), "estimate source")):
            if value not in allowed:
                raise ValueError(f"unknown {what} {value!r}; choose one of {', '.join(allowed)}")
        if int(visible) < 1:
            raise ValueError(f"visible must be >= 1, got {visible}")
        self.workload = _load(trace, rules)
        self.W = int(visible)
        self.backfill, self.reward_kind, self.split = backfill, reward, split
        self.mode = MODES[backfill]
        wl = self.workload
        self.size_all, self.capacity = job_sizes(wl, capacity_unit)
        if len(wl) and self.size_all.max() > self.capacity:
            raise ValueError(f"a job needs {self.size_all.max()} {capacity_unit} but the machine has {self.capacity}")
        run = np.minimum(wl.run, wl.req_time) if kill_at_request else wl.run.copy()
        self.run_all = np.ascontiguousarray(run, dtype=np.float64)
        self.est_all = np.ascontiguousarray(wl.req_time if estimates == "requested" else run, dtype=np.float64)
        self.rank_all = priority_ranks(static_scores(queue_order, wl.req_time, wl.procs, wl.submit, wl))
        self.lo, self.hi = split_bounds(len(wl), train_split, split)
        self.L = int(window_len) if window_len else self.hi - self.lo
        if self.L < 1 or self.hi - self.lo < self.L:
            raise ValueError(f"a window of {self.L} jobs does not fit in the {split} split "
                             f"({self.hi - self.lo} of {len(wl)} jobs)")
        self.eval_starts = (eval_window_starts(self.lo, self.hi, self.L, eval_windows, eval_seed)
                            if split != "train" and window_len else np.array([self.lo]))
        self._next_eval = 0
        n_actions = self.W + (1 if self.mode == MODES["agent"] else 0)
        dim = self.W * N_JOB_FEATURES + N_CLUSTER_FEATURES
        self.observation_space = spaces.Box(0.0, 1.0, shape=(dim,), dtype=np.float32)
        self.action_space = spaces.Discrete(n_actions)
        self._obs = np.zeros(dim, dtype=np.float32)
        self._mask = np.zeros(n_actions, dtype=np.bool_)
        self.ist = np.zeros(N_ISTATE, dtype=np.int64)
        self.fst = np.zeros(N_FSTATE, dtype=np.float64)
        self.window_start = -1
        self.invalid_actions = 0

    # -- gymnasium API --------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        options = options or {}
        if "start" in options:
            s = int(options["start"])
            if not self.lo <= s <= self.hi - self.L:
                raise ValueError(f"window start {s} is outside the {self.split} split [{self.lo}, {self.hi - self.L}]")
        elif self.split == "train" and self.L < self.hi - self.lo:
            s = int(self.np_random.integers(self.lo, self.hi - self.L + 1))
        else:
            s = int(self.eval_starts[self._next_eval % len(self.eval_starts)])
            self._next_eval += 1
        self._load_window(s)
        done = self._advance()
        assert not done  # every arrival makes a decision due
        self._observe()
        return self._obs.copy(), self._info()

    def step(self, action):
        a = int(action)
        if not (0 <= a < len(self._mask)) or not self._mask[a]:
            self.invalid_actions += 1
            a = int(np.flatnonzero(self._mask)[0])
        slot = a if a < self.W else self.ist[I_NQ]  # the extra last action is "stop"
        capacity = self.capacity
        job, _, max_wait = step_act(slot, self.mode, self.submit, self.run, self.est, self.size, self.start,
                                    self.est_end, self.ht, self.hj, self.re, self.rj, self.q, self.ist, self.fst)
        reward = 0.0
        if self.reward_kind == "dras":
            util = (capacity - self.ist[I_FREE]) / capacity
            reward = util / 3.0
            if job >= 0:
                wait = self.fst[F_T] - self.submit[job]
                reward += wait / max(max_wait, DRAS_WAIT_FLOOR) / 3.0 + self.size[job] / capacity / 3.0
        done = self._advance()
        info = self._info()
        if done:
            m = self.episode_metrics()
            info["episode_metrics"] = m
            if self.reward_kind == "bsld":
                reward = -m["mean_bsld"]
            elif self.reward_kind == "wait":
                reward = -m["mean_wait"] / 3600.0
            elif self.reward_kind == "util":
                reward = m["utilization"]
        else:
            self._observe()
        return self._obs.copy(), float(reward), done, False, info

    def action_masks(self) -> np.ndarray:
        """Valid actions now (sb3-contrib's MaskablePPO calls this)."""
        return self._mask.copy()

    # -- helpers --------------------------------------------------------------------------
    def _load_window(self, s: int) -> None:
        L = self.L
        self.window_start = s
        sl = slice(s, s + L)
        sub = self.workload.submit[sl]
        self.submit = np.ascontiguousarray(sub - sub[0])
        self.run = self.run_all[sl]
        self.est = self.est_all[sl]
        self.size = self.size_all[sl]
        self.rank = self.rank_all[sl]
        self.start = np.full(L, -1.0)
        self.est_end = np.zeros(L)
        self.ht, self.re = np.empty(L), np.empty(L)
        self.hj, self.rj, self.q = (np.empty(L, dtype=np.int64) for _ in range(3))
        step_reset(L, self.capacity, self.ist, self.fst)
        self.invalid_actions = 0

    def _advance(self) -> bool:
        return step_advance(self.submit, self.run, self.est, self.size, self.rank, self.start, self.est_end,
                            self.ht, self.hj, self.re, self.rj, self.q, self.ist, self.fst)

    def _observe(self) -> None:
        step_observe(self.W, self.capacity, self.submit, self.est, self.size, self.re, self.rj, self.q,
                     self.ist, self.fst, self._obs, self._mask)

    def _info(self) -> dict:
        return {"action_mask": self._mask.copy(), "time": float(self.fst[F_T]), "phase": int(self.ist[I_PHASE]),
                "queue_length": int(self.ist[I_NQ]), "window_start": self.window_start,
                "decisions": int(self.ist[I_DECISIONS]), "invalid_actions": self.invalid_actions}

    def episode_metrics(self) -> dict:
        """Mean bounded slowdown, mean wait and utilisation of the window (once every job started)."""
        wait = self.start - self.submit
        end = self.start + self.run
        span = float(end.max() - self.submit.min())
        return {"mean_bsld": float(bounded_slowdown(wait, self.run, TAU).mean()), "mean_wait": float(wait.mean()),
                "utilization": float(np.sum(self.run * self.size) / (self.capacity * span)) if span > 0 else 0.0,
                "jobs": self.L, "window_start": self.window_start}

    @property
    def feature_names(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return JOB_FEATURES, CLUSTER_FEATURES


__all__ = ["SchedulingEnv", "REWARDS", "POLICY_NAMES"]
