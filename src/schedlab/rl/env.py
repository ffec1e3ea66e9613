"""``schedlab/Scheduling-v0``: a gymnasium environment over the step-wise engine.

One episode = one window of ``window_len`` consecutive jobs simulated alone on an empty machine
(as every windowed comparison in schedlab).  At each decision the agent picks one of the ``W``
visible waiting jobs (see :mod:`schedlab.simulator.stepper` for the rules, the visibility rule and
every observation feature).  Invalid actions are replaced by the first valid one and counted in
``info["invalid_actions"]``; use the mask (``action_masks()`` or ``info["action_mask"]``).

Rewards (``reward=``):
  bsld  at episode end, -mean bounded slowdown of the window (tau = 10 s); 0 before
  bsld-dense  the same objective paid as it accrues (DeepRM's slowdown reward): after each
        decision, -(time to the next decision) x sum over the jobs left waiting of
        1 / max(run, tau), divided by the window's job count.  An episode's rewards sum to
        -(mean bsld - mean run / max(run, tau)), the policy-dependent part of -mean bsld (exact
        except for the max(1, .) floor of jobs shorter than tau), so each decision is charged for
        the waiting it causes instead of one reward ~2,000 decisions later.  With ``baseline``
        the rewards are divided by the baseline's mean bsld on the window.
  wait  at episode end, -mean wait of the window in hours
  util  at episode end, utilisation of the window (work / (capacity x span))
  dras  after every decision, DRAS's reward: 1/3 utilisation after the decision
        + 1/3 chosen job's wait / max(longest wait in the queue, 6 h) + 1/3 chosen job's units /
        capacity (a ``stop`` in the backfill phase earns the utilisation term only)

With ``baseline=<policy>`` the episode-end rewards are relative to that heuristic (run by the
engine with the same backfill mode on the same window): (baseline's mean bsld - agent's) /
baseline's, the same for wait, and agent's utilisation - baseline's.  Windows differ wildly in
difficulty; this removes most of that variance from the learning signal.

Splits: jobs are ordered by submit time; the first ``train_split`` fraction is the training
split, the rest the test split.  Training episodes start at uniformly random jobs of the
training split (the whole window inside it).  Test episodes cycle through ``eval_windows`` fixed,
non-overlapping windows of the test split, placed by ``eval_seed``
(:func:`schedlab.rl.episodes.eval_window_starts`); ``reset(seed=...)`` restarts that cycle.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from schedlab.errors import SchedlabError
from schedlab.metrics import TAU, bounded_slowdown
from schedlab.options import EnvBackfill, Estimates, Reward, Split
from schedlab.policies import POLICY_NAMES, is_dynamic, priority_ranks, static_scores
from schedlab.predict.online import PRED_NONE, new_state
from schedlab.rl.episodes import eval_window_starts, next_window_start, split_bounds
from schedlab.rl.options import EnvOptions
from schedlab.rl.prediction import feature_keys, window_predictor
from schedlab.simulator import job_sizes
from schedlab.simulator.engine import BF_EASY, BF_NONE, BFO_QUEUE, DYN_STATIC, simulate_kernel, simulate_kernel_ex
from schedlab.simulator.run import KERNEL_ARRIVAL, KERNEL_CORRECTION, KERNEL_DYNAMIC, PREDICTORS
from schedlab.simulator.stepper import (
    CLUSTER_FEATURES,
    F_T,
    HISTORY_FEATURES,
    I_DECISIONS,
    I_FREE,
    I_NQ,
    I_NRUN,
    I_NXT,
    I_PHASE,
    JOB_FEATURES,
    MODES,
    N_CLUSTER_FEATURES,
    N_FSTATE,
    N_HISTORY_FEATURES,
    N_ISTATE,
    N_JOB_FEATURES,
    DecisionView,
    observe_history,
    step_act,
    step_advance,
    step_advance_pred,
    step_observe,
    step_reset,
    step_view,
)
from schedlab.workload.table import Workload

REWARDS = tuple(Reward)
SPLITS = tuple(Split)
DRAS_WAIT_FLOOR = 6 * 3600.0


def _load(trace, rules: str) -> Workload:
    if isinstance(trace, Workload):
        return trace
    from schedlab.rl.episodes import cached_trace

    return cached_trace(str(trace), rules)


class MachineState(NamedTuple):
    """The whole machine at the decision now due (copies, in seconds and units), for planners that
    look ahead (e.g. a rollout over the entire queue), where :class:`DecisionView` shows only the
    decision's candidates.

    now                the clock (s)
    queue              job indices of every waiting job, in queue order (visible or not)
    queue_est          their runtime estimates as plans use them (s)
    queue_size         units each asks for
    queue_submit       their submit times (s)
    running_est_end    estimated ends of the running jobs (s), ascending
    running_size       units each running job holds
    """

    now: float
    queue: np.ndarray
    queue_est: np.ndarray
    queue_size: np.ndarray
    queue_submit: np.ndarray
    running_est_end: np.ndarray
    running_size: np.ndarray


class SchedulingEnv(gym.Env):
    """Pick which waiting job runs (or is reserved) next; see the module docstring.

    ``SchedulingEnv(trace, options)`` with :class:`~schedlab.rl.options.EnvOptions`, or with its
    fields as keyword arguments (``SchedulingEnv(trace, window_len=64, backfill="agent")``, as
    ``gymnasium.make`` passes them; they override ``options``):
      trace          bundled trace name, SWF path, or a :class:`Workload`
      rules          cleaning rule set when ``trace`` is a name or path
      window_len, visible, backfill, reward, split, train_split, queue_order, backfill_order,
      capacity_unit, estimates, kill_at_request, eval_windows, eval_seed, baseline: see EnvOptions

    What a decision sees: the observation (returned by ``reset``/``step``, or
    :meth:`observation`), :meth:`action_masks`, and :meth:`decision_view` (the candidates and the
    machine in seconds and units, :class:`~schedlab.simulator.stepper.DecisionView`).
    """

    metadata = {"render_modes": []}

    def __init__(self, trace: Any = "theta_2022", options: EnvOptions | None = None, *, rules: str = "textbook", **kw):
        super().__init__()
        opts = EnvOptions.coerce(options)
        self.options = opts = opts.replace(**kw) if kw else opts
        self.workload = _load(trace, rules)
        self.W = opts.visible
        self.backfill, self.reward_kind, self.split = opts.backfill, opts.reward, opts.split
        self.mode = MODES[opts.backfill]
        self.baseline = opts.baseline
        self.baseline_metrics: dict | None = None
        self._teacher: tuple | None = None
        self._view: DecisionView | None = None
        wl = self.workload
        self.size_all, self.capacity = job_sizes(wl, opts.capacity_unit)
        if len(wl) and self.size_all.max() > self.capacity:
            raise SchedlabError(
                f"a job needs {self.size_all.max()} {opts.capacity_unit} but the machine has {self.capacity}"
            )
        run = np.minimum(wl.run, wl.req_time) if opts.kill_at_request else wl.run.copy()
        self.run_all = np.ascontiguousarray(run, dtype=np.float64)
        self.est_all = np.ascontiguousarray(wl.req_time if opts.estimates != "actual" else run, dtype=np.float64)
        self.req_all = np.ascontiguousarray(wl.req_time, dtype=np.float64)
        self._init_prediction(opts)
        self.queue_order = opts.queue_order  # ranked per window, on the window's re-based submits (_load_window)
        self.backfill_order = opts.backfill_order
        self.lo, self.hi = split_bounds(len(wl), opts.train_split, opts.split)
        self.L = opts.window_len or self.hi - self.lo
        if self.L < 1 or self.hi - self.lo < self.L:
            raise SchedlabError(
                f"a window of {self.L} jobs does not fit in the {opts.split} split "
                f"({self.hi - self.lo} of {len(wl)} jobs)"
            )
        self.eval_starts = (
            eval_window_starts(self.lo, self.hi, self.L, opts.eval_windows, opts.eval_seed)
            if opts.split != Split.TRAIN and opts.window_len
            else np.array([self.lo])
        )
        self._next_eval = 0
        n_actions = self.W + (1 if opts.backfill is EnvBackfill.AGENT else 0)
        self._history_base = self.W * N_JOB_FEATURES + N_CLUSTER_FEATURES  # history rows start here
        dim = self._history_base + (self.W * N_HISTORY_FEATURES if self.history else 0)
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
        if seed is not None:  # a seeded reset restarts the test windows' cycle (reset(seed) is deterministic)
            self._next_eval = 0
        s = next_window_start(self, options or {})
        self._load_window(s)
        done = self._advance()
        assert not done  # every arrival makes a decision due
        self._observe()
        return self._obs.copy(), self._info()

    def step(self, action):
        self._view = None
        a = int(action)
        if not (0 <= a < len(self._mask)) or not self._mask[a]:
            self.invalid_actions += 1
            a = int(np.flatnonzero(self._mask)[0])
        slot = a if a < self.W else self.ist[I_NQ]  # the extra last action is "stop"
        capacity = self.capacity
        t0 = self.fst[F_T]
        job, _, max_wait = step_act(
            slot,
            self.mode,
            self.brank,
            self.submit,
            self.run,
            self.est,
            self.size,
            self.start,
            self.est_end,
            self.ht,
            self.hj,
            self.re,
            self.rj,
            self.q,
            self.ist,
            self.fst,
        )
        reward = 0.0
        if self.reward_kind == "dras":
            util = (capacity - self.ist[I_FREE]) / capacity
            reward = util / 3.0
            if job >= 0:
                wait = self.fst[F_T] - self.submit[job]
                reward += wait / max(max_wait, DRAS_WAIT_FLOOR) / 3.0 + self.size[job] / capacity / 3.0
        if self.reward_kind == "bsld-dense":  # the jobs left waiting accrue slowdown until the next decision
            waiting_rate = float(self.inv_run[self.q[: self.ist[I_NQ]]].sum())
        done = self._advance()
        if self.reward_kind == "bsld-dense":
            scale = self.L * (self.baseline_metrics["mean_bsld"] if self.baseline_metrics else 1.0)
            reward = -waiting_rate * (self.fst[F_T] - t0) / scale
        if not done:
            self._observe()  # before _info(): info["action_mask"] is the mask of the decision now due
        info = self._info()
        if done:
            m = self.episode_metrics()
            info["episode_metrics"] = m
            b = self.baseline_metrics
            if self.reward_kind == "bsld":
                reward = -m["mean_bsld"] if b is None else (b["mean_bsld"] - m["mean_bsld"]) / b["mean_bsld"]
            elif self.reward_kind == "wait":
                reward = (
                    -m["mean_wait"] / 3600.0
                    if b is None
                    else (b["mean_wait"] - m["mean_wait"]) / max(b["mean_wait"], 60.0)
                )
            elif self.reward_kind == "util":
                reward = m["utilization"] if b is None else m["utilization"] - b["utilization"]
        return self._obs.copy(), float(reward), done, False, info

    def teacher_action(self, policy: str = "sjf") -> int:
        """The action a static heuristic takes now: the valid slot with the lowest score (ties: the
        earlier slot), or ``stop`` when no slot is valid.  Used to warm-start agents by imitation."""
        nv = min(int(self.ist[I_NQ]), self.W)
        cand = np.flatnonzero(self._mask[:nv])
        if len(cand) == 0:
            return self.W
        return int(cand[np.argmin(self.heuristic_scores(policy)[self.q[cand]])])

    def heuristic_scores(self, policy: str) -> np.ndarray:
        """A static heuristic's score of every job of the current window (lower runs first; indexed
        as :attr:`DecisionView.job <schedlab.simulator.stepper.DecisionView>`), on the window's
        re-based submits.  Cached per window and policy."""
        # on predictions, the estimate-based heuristics score the prediction (known once a job arrived)
        on_est = self.pred != PRED_NONE and policy in KERNEL_ARRIVAL
        key = (self.window_start, policy, int(self.ist[I_NXT]) if on_est else -1)
        if self._teacher is None or self._teacher[0] != key:
            sl = slice(self.window_start, self.window_start + self.L)
            r = self.est if on_est else self.workload.req_time[sl]
            self._teacher = (key, static_scores(policy, r, self.workload.procs[sl], self.submit))
        return self._teacher[1]

    def action_masks(self) -> np.ndarray:
        """Valid actions now (sb3-contrib's MaskablePPO calls this)."""
        return self._mask.copy()

    def observation(self) -> np.ndarray:
        """The observation of the decision now due (as ``reset``/``step`` returned it)."""
        return self._obs.copy()

    def _state(self) -> tuple:
        """The stepper's state arrays, in the order its compiled functions take them."""
        return (self.W, self.capacity, self.submit, self.est, self.size, self.re, self.rj, self.q, self.ist, self.fst)

    def decision_view(self) -> DecisionView:
        """The decision now due in seconds and units: its candidate jobs (requested time, size,
        wait, submit, start delay), free units, queue length, the reservation's shadow time, now."""
        if self._view is None:
            kept = self.ps is not None and self.history
            key, kacc = (self.ps[0], self.kacc) if kept else (None, None)
            self._view = step_view(*self._state(), self._mask, self.req, key, kacc)
        return self._view

    def machine_state(self) -> MachineState:
        """Every waiting and running job now (see :class:`MachineState`)."""
        nq, nrun = int(self.ist[I_NQ]), int(self.ist[I_NRUN])
        q, rj = self.q[:nq].copy(), self.rj[:nrun]
        return MachineState(
            float(self.fst[F_T]), q, self.est[q], self.size[q], self.submit[q], self.re[:nrun].copy(), self.size[rj]
        )

    def compiled_decision(self, fn, *args):
        """``fn(W, capacity, submit, est, size, re, rj, q, ist, fst, mask, *args)``: hand the decision
        now due to a numba function that builds its view with
        :func:`schedlab.simulator.stepper.view_values` and consumes it in compiled code (a tree's
        walker), without the Python :class:`DecisionView` in between (2 us a decision saved)."""
        return fn(*self._state(), self._mask, *args)

    @property
    def decisions(self) -> int:
        """Decisions taken in this episode."""
        return int(self.ist[I_DECISIONS])

    # -- helpers --------------------------------------------------------------------------
    def _load_window(self, s: int) -> None:
        L = self.L
        self.window_start = s
        sl = slice(s, s + L)
        sub = self.workload.submit[sl]
        self.submit = np.ascontiguousarray(sub - sub[0])
        self.run = self.run_all[sl]
        self.est = self.est_all[sl]
        self.req = self.req_all[sl]
        self.size = self.size_all[sl]
        self.inv_run = 1.0 / np.maximum(self.run, TAU)  # slowdown a waiting job accrues per second
        # as Workload.window / compare: submits re-based to the window's first job, so f1..f4 (log10 s)
        # order the queue exactly as simulate(workload.window(s, L), policy=queue_order) does
        self.rank = priority_ranks(
            static_scores(self.queue_order, self.workload.req_time[sl], self.workload.procs[sl], self.submit)
        )
        self.brank = (
            self.rank
            if self.backfill_order == self.queue_order
            else priority_ranks(
                static_scores(self.backfill_order, self.workload.req_time[sl], self.workload.procs[sl], self.submit)
            )
        )
        if self._predicting:
            self._load_prediction(s)
        self.start = np.full(L, -1.0)
        self.est_end = np.zeros(L)
        self.ht, self.re = np.empty(L), np.empty(L)
        self.hj, self.rj, self.q = (np.empty(L, dtype=np.int64) for _ in range(3))
        step_reset(L, self.capacity, self.ist, self.fst)
        self.invalid_actions = 0
        if self.baseline is not None:
            self.baseline_metrics = self._metrics(self._baseline_start())

    def _baseline_bsld(self, start: int) -> float:
        """Mean bsld the baseline heuristic gets on the window starting at job ``start``."""
        self._load_window(int(start))
        return self.baseline_metrics["mean_bsld"]

    def _baseline_start(self) -> np.ndarray:
        """Start times the baseline heuristic gives this window (the engine, same semantics)."""
        if is_dynamic(self.baseline):
            dyn, rank = KERNEL_DYNAMIC[self.baseline], np.zeros(self.L, dtype=np.int64)
        else:
            sl = slice(self.window_start, self.window_start + self.L)
            scores = static_scores(self.baseline, self.workload.req_time[sl], self.workload.procs[sl], self.submit)
            dyn, rank = DYN_STATIC, priority_ranks(scores)
        bf = BF_NONE if self.backfill is EnvBackfill.NONE else BF_EASY
        if self.pred == PRED_NONE:
            start, _, _ = simulate_kernel(self.submit, self.run, self.est, self.size, self.capacity, bf, rank, dyn)
            return start
        if not is_dynamic(self.baseline) and self.baseline in KERNEL_ARRIVAL:  # scored on the prediction, at arrival
            dyn, rank = KERNEL_ARRIVAL[self.baseline], np.zeros(self.L, dtype=np.int64)
        est = self.est.copy()  # the engine writes its own predictions, from a copy of the warm state
        pstate = tuple(a.copy() for a in self.ps)
        args = (self.submit, self.run, est, self.size, self.capacity, bf, rank, dyn, BFO_QUEUE)
        start, _, _ = simulate_kernel_ex(*args, self.pred, self.corr, pstate)
        return start

    # -- predicted estimates ----------------------------------------------------------------
    def _init_prediction(self, opts: EnvOptions) -> None:
        """Predicted estimates, as the simulator's (``simulate_kernel_ex``): a predictor warmed per
        window, predictions at arrival, corrections of overdue running jobs before each pass;
        estimate-based queue and backfill orders (sjf, saf, f1, ...) scored on the prediction at
        arrival (``KERNEL_ARRIVAL``).  The history features need the same path (per-key accuracy)."""
        self.pred = PREDICTORS.get(Estimates(opts.estimates), PRED_NONE)
        self.corr = KERNEL_CORRECTION[opts.correction]
        self.history = opts.history_features
        self._predicting = self.pred != PRED_NONE or self.history
        by_arrival = self.pred != PRED_NONE
        orders = [KERNEL_ARRIVAL.get(o, 0) if by_arrival else 0 for o in (opts.queue_order, opts.backfill_order)]
        self.codes = np.array([self.pred, self.corr, *orders], dtype=np.int64)  # as step_advance_pred takes them
        self._predictor = window_predictor(self.workload, self.pred) if self.pred != PRED_NONE else None
        self._keys = feature_keys(self.workload) if self.history and self._predictor is None else None
        self.ps, self.kacc = None, np.empty(0)

    def _load_prediction(self, s: int) -> None:
        """This window's predictor state (warmed by the jobs that had ended before it), a fresh copy
        of the estimates, float ranks (arrival-scored orders are written into them)."""
        sl = slice(s, s + self.L)
        if self._predictor is not None:
            self.ps, _ = self._predictor.state(s, self.L)
        else:  # history features without predictions: the keys only
            keys, n_keys = self._keys
            own = (np.ascontiguousarray(keys[sl]), self.req.copy(), self.workload.procs[sl].astype(np.float64))
            self.ps = (*own, *new_state(n_keys))
        self.jobx = np.stack([self.ps[1], self.ps[2], self.ps[0].astype(np.float64)])  # req, procs, key
        self.est = self.est.copy()
        self.kacc = np.zeros(self.ps[3].shape[0]) if self.history else np.empty(0)
        same = self.brank is self.rank
        self.rank = self.rank.astype(np.float64)
        self.brank = self.rank if same else self.brank.astype(np.float64)

    def _advance(self) -> bool:
        if self._predicting:
            return step_advance_pred(
                *(self.submit, self.run, self.est, self.size, self.rank, self.start, self.est_end),
                *(self.ht, self.hj, self.re, self.rj, self.q, self.ist, self.fst),
                *(self.codes, self.jobx, *self.ps[3:], self.brank, self.kacc),
            )
        return step_advance(
            self.submit,
            self.run,
            self.est,
            self.size,
            self.rank,
            self.start,
            self.est_end,
            self.ht,
            self.hj,
            self.re,
            self.rj,
            self.q,
            self.ist,
            self.fst,
        )

    def _observe(self) -> None:
        self._view = None
        step_observe(*self._state(), self._obs, self._mask)
        if self.history:
            observe_history(self.W, self.req, self.ps[0], self.kacc, self.q, self.ist, self._obs, self._history_base)

    def _info(self) -> dict:
        return {
            "action_mask": self._mask.copy(),
            "time": float(self.fst[F_T]),
            "phase": int(self.ist[I_PHASE]),
            "queue_length": int(self.ist[I_NQ]),
            "window_start": self.window_start,
            "decisions": int(self.ist[I_DECISIONS]),
            "invalid_actions": self.invalid_actions,
        }

    def episode_metrics(self) -> dict:
        """Mean bounded slowdown, mean wait and utilisation of the window (once every job started)."""
        return self._metrics(self.start)

    def _metrics(self, start: np.ndarray) -> dict:
        wait = start - self.submit
        end = start + self.run
        span = float(end.max() - self.submit.min())
        return {
            "mean_bsld": float(bounded_slowdown(wait, self.run, TAU).mean()),
            "mean_wait": float(wait.mean()),
            "utilization": float(np.sum(self.run * self.size) / (self.capacity * span)) if span > 0 else 0.0,
            "jobs": self.L,
            "window_start": self.window_start,
        }

    # -- exact save/restore (PPO checkpoints resume mid-episode) ---------------------------
    _STATE = (
        "submit",
        "run",
        "est",
        "size",
        "rank",
        "brank",
        "start",
        "est_end",
        "ht",
        "hj",
        "re",
        "rj",
        "q",
        "ist",
        "fst",
        "_obs",
        "_mask",
    )

    def get_state(self) -> dict:
        st = {k: getattr(self, k).copy() for k in self._STATE}
        st.update(
            ps=None if self.ps is None else tuple(a.copy() for a in self.ps),
            kacc=self.kacc.copy() if len(self.kacc) else None,  # (an empty array pickles as a call to bytes)
            window_start=self.window_start,
            invalid_actions=self.invalid_actions,
            next_eval=self._next_eval,
            baseline_metrics=self.baseline_metrics,
            rng=self.np_random.bit_generator.state,
        )
        return st

    def set_state(self, st: dict) -> None:
        for k in self._STATE:
            setattr(self, k, st[k].copy())
        self.window_start, self.invalid_actions, self._next_eval = (
            st["window_start"],
            st["invalid_actions"],
            st["next_eval"],
        )
        self.baseline_metrics = st["baseline_metrics"]
        self.np_random.bit_generator.state = st["rng"]
        self.L = len(self.submit)
        self.req = self.req_all[self.window_start : self.window_start + self.L]
        ps = st.get("ps")
        self.ps = None if ps is None else tuple(a.copy() for a in ps)
        if self.ps is not None:
            self.jobx = np.stack([self.ps[1], self.ps[2], self.ps[0].astype(np.float64)])
        kacc = st.get("kacc")
        self.kacc = np.empty(0) if kacc is None else kacc.copy()
        self.inv_run = 1.0 / np.maximum(self.run, TAU)
        self._view = None

    @property
    def feature_names(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(per-job, cluster) feature names; with ``history_features`` the per-job ones end with the
        :data:`~schedlab.simulator.stepper.HISTORY_FEATURES` (their rows follow the cluster's)."""
        return (JOB_FEATURES + HISTORY_FEATURES if self.history else JOB_FEATURES), CLUSTER_FEATURES


__all__ = ["POLICY_NAMES", "REWARDS", "SchedulingEnv"]
