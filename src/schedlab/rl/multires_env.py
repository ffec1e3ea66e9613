"""``schedlab/SchedulingMulti-v0``: the scheduling environment on a multi-resource machine
(``EnvOptions.cluster``: GPUs, memory, partitions, QOS limits; see :mod:`schedlab.cluster`).

Episodes, splits, windows, rewards and baselines are :class:`schedlab.rl.env.SchedulingEnv`'s; the
decisions are :class:`schedlab.simulator.multires.stepper.MultiStepper`'s (an agent that always
picks slot 0 reproduces ``simulate`` on the machine, job for job).  The visible jobs are the first
``W`` waiting jobs not held by a QOS per-user limit.

The observation keeps the single-resource layout, so the same agents read it: ``W`` rows of
:data:`~schedlab.simulator.stepper.JOB_FEATURES` (``procs`` is the job's share of its pool's CPUs,
``fits_now`` and ``start_delay`` are resource-exact; ``backfillable``/``reserved`` are 0: there is
no agent backfill phase), the :data:`~schedlab.simulator.stepper.CLUSTER_FEATURES` over the CPUs of
the whole machine, then ``W`` rows of :data:`MULTI_FEATURES`: what the job asks of its pool's GPUs
and memory, and how much of its pool (partition and GPU type) is free now.

Not on multi-resource machines (a clear error): backfill ``agent``, predicted estimates, history
features, the ``dras`` reward, dynamic (wfp3, unicep) queue orders or baselines.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from schedlab.errors import SchedlabError
from schedlab.metrics import TAU, bounded_slowdown
from schedlab.options import Allocation, EnvBackfill, Estimates, NodeSelect, Reward, Split
from schedlab.policies import is_dynamic, priority_ranks, static_scores
from schedlab.rl.episodes import eval_window_starts, next_window_start, split_bounds
from schedlab.rl.options import EnvOptions
from schedlab.simulator.multires.alloc import SEL_BEST, SEL_FIRST
from schedlab.simulator.multires.prepare import UNLIMITED_MEM, prepare
from schedlab.simulator.multires.run import _qos_limits
from schedlab.simulator.multires.stepper import MultiMachine, MultiStepper
from schedlab.simulator.stepper import CLUSTER_FEATURES, HORIZONS, JOB_FEATURES, LOG_WEEK

#: Per-job features appended after the cluster features (one row per visible slot), in order.
MULTI_FEATURES = (
    "gpu_share",  # GPUs the job asks (nodes x per node) / GPUs of its pool (0 for a pool without GPUs)
    "mem_share",  # memory it asks / memory of its pool (0 where memory is not modelled)
    "pool_free_cpus",  # free CPUs of its pool now / the pool's CPUs
    "pool_free_gpus",  # free GPUs of its pool now / the pool's GPUs (0 without GPUs)
)
N_MULTI_FEATURES = len(MULTI_FEATURES)
F, G = len(JOB_FEATURES), len(CLUSTER_FEATURES)


def _logm(x: float) -> float:
    return min(float(np.log1p(max(x, 0.0) / 60.0) / LOG_WEEK), 1.0)


def _refuse_unsupported(opts: EnvOptions) -> None:
    why = []
    if opts.backfill is EnvBackfill.AGENT:
        why.append("backfill agent (use none or easy)")
    if opts.estimates not in (Estimates.REQUESTED, Estimates.ACTUAL):
        why.append(f"estimates {opts.estimates} (use requested or actual)")
    if opts.history_features:
        why.append("history features")
    if opts.reward is Reward.DRAS:
        why.append("the dras reward (use bsld, bsld-dense, wait or util)")
    for name in ("queue_order", "baseline"):
        value = getattr(opts, name)
        if value is not None and is_dynamic(value):
            why.append(f"a dynamic {name.replace('_', ' ')} ({value})")
    if why:
        raise SchedlabError("on a multi-resource machine (--cluster) the environment has no " + "; no ".join(why))


class MultiSchedulingEnv(gym.Env):
    """Pick which waiting job runs (or is reserved) next on a machine description.

    ``MultiSchedulingEnv(trace, options, cluster=None)``: ``trace`` a bundled name, a path or a
    :class:`~schedlab.workload.table.Workload`; ``options`` an :class:`EnvOptions` (or its fields as
    keywords) whose ``cluster`` names the machine (a shipped name, a TOML file or a slurm.conf);
    ``cluster`` a loaded :class:`~schedlab.cluster.Cluster` instead.  Jobs the machine refuses are
    dropped by :func:`~schedlab.simulator.multires.prepare.prepare` and counted in
    ``workload.cleaning``."""

    metadata = {"render_modes": []}

    def __init__(self, trace: Any = "theta_2022", options: EnvOptions | None = None, *, cluster=None,
                 rules: str = "textbook", **kw):  # fmt: skip
        super().__init__()
        from schedlab.cluster import load_cluster
        from schedlab.rl.env import _load

        opts = EnvOptions.coerce(options)
        self.options = opts = opts.replace(**kw) if kw else opts
        _refuse_unsupported(opts)
        if cluster is None and opts.cluster is None:
            raise SchedlabError("a multi-resource environment needs a machine (cluster)")
        self.cluster = cluster if cluster is not None else load_cluster(opts.cluster)
        self.prep = prep = prepare(_load(trace, rules), self.cluster)
        self.workload = wl = prep.workload
        self.machine = MultiMachine(
            prep,
            self.cluster.allocation == Allocation.EXCLUSIVE,
            SEL_BEST if self.cluster.select == NodeSelect.BEST_FIT else SEL_FIRST,
        )
        self.qos = _qos_limits(self.cluster, prep, wl)
        self.W, self.reward_kind, self.split, self.baseline = opts.visible, opts.reward, opts.split, opts.baseline
        self.backfill = opts.backfill
        run = np.minimum(wl.run, wl.req_time) if opts.kill_at_request else wl.run.copy()
        self.run_all = np.ascontiguousarray(run, dtype=np.float64)
        self.est_all = np.ascontiguousarray(wl.req_time if opts.estimates != "actual" else run, dtype=np.float64)
        tot = self.machine.tot
        self.cpus_all = np.where(
            self.machine.excl, 0, prep.nodes * prep.req[:, 0]
        )  # exclusive: counted from the nodes held
        self.capacity = int(tot[:, 0].sum())
        # what size-based heuristics score (as the engine): CPUs asked, in the machine's CPU units
        self.procs = np.maximum(prep.nodes * prep.req[:, 0] / self.cluster.cpu_unit, 1.0)
        self.lo, self.hi = split_bounds(len(wl), opts.train_split, opts.split)
        self.L = opts.window_len or self.hi - self.lo
        if self.L < 1 or self.hi - self.lo < self.L:
            raise SchedlabError(
                f"a window of {self.L} jobs does not fit in the {opts.split} split ({self.hi - self.lo} of {len(wl)} "
                "jobs the machine accepts)"
            )
        self.eval_starts = (
            eval_window_starts(self.lo, self.hi, self.L, opts.eval_windows, opts.eval_seed)
            if opts.split != Split.TRAIN and opts.window_len
            else np.array([self.lo])
        )
        self._next_eval = 0
        pt = self.machine.pool_tot.astype(np.float64)
        self._pool_tot = np.where(pt >= UNLIMITED_MEM, 0.0, pt)
        dim = self.W * F + G + self.W * N_MULTI_FEATURES
        self.observation_space = spaces.Box(0.0, 1.0, shape=(dim,), dtype=np.float32)
        self.action_space = spaces.Discrete(self.W)
        self._obs = np.zeros(dim, dtype=np.float32)
        self._mask = np.zeros(self.W, dtype=np.bool_)
        self._visible: list[int] = []
        self.window_start, self.invalid_actions = -1, 0
        self.baseline_metrics: dict | None = None

    # -- gymnasium API --------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None:
            self._next_eval = 0
        s = next_window_start(self, options or {})
        self._load_window(s)
        self.st.advance()
        self._observe()
        return self._obs.copy(), self._info()

    def step(self, action):
        a = int(action)
        if not (0 <= a < self.W) or not self._mask[a]:
            self.invalid_actions += 1
            a = int(np.flatnonzero(self._mask)[0])
        st = self.st
        t0 = st.t
        waiting_rate = float(self.inv_run[st.queue].sum()) if self.reward_kind == "bsld-dense" else 0.0
        st.act(self._visible[a])
        done = st.advance()
        reward = 0.0
        if self.reward_kind == "bsld-dense":
            scale = self.L * (self.baseline_metrics["mean_bsld"] if self.baseline_metrics else 1.0)
            reward = -waiting_rate * (st.t - t0) / scale
        if not done:
            self._observe()
        info = self._info()
        if done:
            m = self.episode_metrics()
            info["episode_metrics"] = m
            reward = self._final_reward(m) if self.reward_kind != "bsld-dense" else reward
        return self._obs.copy(), float(reward), done, False, info

    def _final_reward(self, m: dict) -> float:
        b = self.baseline_metrics
        if self.reward_kind == "bsld":
            return -m["mean_bsld"] if b is None else (b["mean_bsld"] - m["mean_bsld"]) / b["mean_bsld"]
        if self.reward_kind == "wait":
            return (
                -m["mean_wait"] / 3600.0 if b is None else (b["mean_wait"] - m["mean_wait"]) / max(b["mean_wait"], 60.0)
            )
        return m["utilization"] if b is None else m["utilization"] - b["utilization"]

    def action_masks(self) -> np.ndarray:
        return self._mask.copy()

    def observation(self) -> np.ndarray:
        return self._obs.copy()

    def teacher_action(self, policy: str = "sjf") -> int:
        """The visible slot a static heuristic picks now (lowest score; ties: the earlier slot)."""
        nv = len(self._visible)
        sl = slice(self.window_start, self.window_start + self.L)
        scores = static_scores(policy, self.workload.req_time[sl], self.procs[sl], self.submit)
        return int(np.argmin(scores[np.asarray(self._visible[:nv])]))

    @property
    def decisions(self) -> int:
        return self.st.decisions

    @property
    def start(self) -> np.ndarray:
        return self.st.start

    @property
    def size(self) -> np.ndarray:
        """CPUs each job of the window holds (all of its nodes' CPUs in exclusive mode)."""
        return np.array([self._cpus_held(self.st, j) for j in range(self.L)], dtype=np.int64)

    def result_extra(self) -> dict:
        """What a SimResult of a whole-workload episode carries for the per-job table (nodes)."""
        if len(self.workload) != self.L:
            return {}
        return {"multires": {"cluster": self.cluster, "alloc": self.st.alloc.copy(), "off": self.st.off.copy(),
                             "prepared": self.prep}}  # fmt: skip

    @property
    def feature_names(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(per-job, cluster) feature names; the per-job ones end with :data:`MULTI_FEATURES`."""
        return JOB_FEATURES + MULTI_FEATURES, CLUSTER_FEATURES

    # -- windows ----------------------------------------------------------------------------
    def _window_stepper(self, s: int, rank: np.ndarray) -> MultiStepper:
        sl = slice(s, s + self.L)
        p = self.prep
        jobs = (self.submit, self.run, self.est, p.nodes[sl], p.req[sl], p.pool[sl])
        qpair, lim_j, lim_g, n_pairs, gpus_total = self.qos
        qos = (qpair[sl], lim_j[sl], lim_g[sl], n_pairs, gpus_total[sl])
        return MultiStepper(self.machine, jobs, qos, rank, easy=self.backfill is EnvBackfill.EASY)

    def _ranks(self, policy: str) -> np.ndarray:
        sl = slice(self.window_start, self.window_start + self.L)
        return priority_ranks(static_scores(policy, self.workload.req_time[sl], self.procs[sl], self.submit))

    def _load_window(self, s: int) -> None:
        sl = slice(s, s + self.L)
        self.window_start = s
        sub = self.workload.submit[sl]
        self.submit = np.ascontiguousarray(sub - sub[0], dtype=np.float64)
        self.run, self.est = self.run_all[sl], self.est_all[sl]
        self.inv_run = 1.0 / np.maximum(self.run, TAU)
        self.invalid_actions = 0
        if self.baseline is not None:  # the engine's rules, slot 0 every time, the baseline's order
            base = self._window_stepper(s, self._ranks(self.baseline))
            while not base.advance():
                base.act(base.eligible(1)[0])
            self.baseline_metrics = self._metrics(base)
        self.st = self._window_stepper(s, self._ranks(self.options.queue_order))

    def _baseline_bsld(self, start: int) -> float:
        """Mean bsld the baseline heuristic gets on the window starting at job ``start``."""
        self._load_window(int(start))
        return self.baseline_metrics["mean_bsld"]

    # -- observation ----------------------------------------------------------------------
    def _observe(self) -> None:
        st, W, obs = self.st, self.W, self._obs
        obs[:] = 0.0
        self._mask[:] = False
        vis = self._visible = st.eligible(W)
        p = self.prep
        t, sl0 = st.t, self.window_start
        pool_free = st.pool_free().astype(np.float64)
        memo: dict[tuple, tuple[bool, float]] = {}
        for i, j in enumerate(vis):
            g = sl0 + j
            pool = int(p.pool[g])
            key = (pool, int(p.nodes[g]), *p.req[g].tolist())
            if key not in memo:  # identical requests in one pool fit (and wait) alike
                fits = st.fits(j)
                memo[key] = (fits, t if fits else st.shadow_if_reserved(j))
            fits, shadow = memo[key]
            wait, est = t - self.submit[j], self.est[j]
            pt = self._pool_tot[pool]
            row = obs[i * F : (i + 1) * F]
            row[0] = 1.0
            row[1], row[2] = _logm(wait), _logm(est)
            row[3] = min(p.nodes[g] * p.req[g, 0] / max(pt[0], 1.0), 1.0)
            row[4] = 1.0 if fits else 0.0
            row[5] = _logm(shadow - t)
            row[6] = min(np.log10(max((wait + est) / max(est, 10.0), 1.0)) / 3.0, 1.0)
            extra = obs[W * F + G + i * N_MULTI_FEATURES : W * F + G + (i + 1) * N_MULTI_FEATURES]
            extra[0] = min(p.nodes[g] * p.req[g, 1] / pt[1], 1.0) if pt[1] > 0 else 0.0
            extra[1] = min(p.nodes[g] * p.req[g, 2] / pt[2], 1.0) if pt[2] > 0 else 0.0
            extra[2] = min(pool_free[pool, 0] / max(pt[0], 1.0), 1.0)
            extra[3] = min(pool_free[pool, 1] / pt[1], 1.0) if pt[1] > 0 else 0.0
            self._mask[i] = True
        self._observe_cluster(st)

    def _observe_cluster(self, st: MultiStepper) -> None:
        cl = self._obs[self.W * F : self.W * F + G]
        free_cpus = float(st.free[:, 0].sum())
        cl[0] = free_cpus / self.capacity
        n = len(st.queue)
        cl[1] = n / (n + self.W)
        ends, jobs = st.running()
        held = np.array([self._cpus_held(st, j) for j in jobs], dtype=np.float64)
        freed = np.cumsum(held) if len(held) else held
        for k, h in enumerate(HORIZONS):
            upto = int(np.searchsorted(ends, st.t + h, side="right"))
            cl[3 + k] = min((free_cpus + (freed[upto - 1] if upto else 0.0)) / self.capacity, 1.0)

    def _cpus_held(self, st: MultiStepper, j: int) -> float:
        if self.machine.excl:
            return float(self.machine.tot[st.alloc[st.off[j] : st.off[j + 1]], 0].sum())
        return float(self.cpus_all[self.window_start + j])

    def _info(self) -> dict:
        return {
            "action_mask": self._mask.copy(),
            "time": float(self.st.t),
            "phase": 0,
            "queue_length": len(self.st.queue),
            "window_start": self.window_start,
            "decisions": self.st.decisions,
            "invalid_actions": self.invalid_actions,
        }

    # -- metrics ----------------------------------------------------------------------------
    def episode_metrics(self) -> dict:
        """Mean bounded slowdown, mean wait and CPU utilisation of the window."""
        return self._metrics(self.st)

    def _metrics(self, st: MultiStepper) -> dict:
        start = st.start
        wait = start - self.submit
        end = start + self.run
        span = float(end.max() - self.submit.min())
        cpus = np.array([self._cpus_held(st, j) for j in range(self.L)], dtype=np.float64)
        return {
            "mean_bsld": float(bounded_slowdown(wait, self.run, TAU).mean()),
            "mean_wait": float(wait.mean()),
            "utilization": float(np.sum(self.run * cpus) / (self.capacity * span)) if span > 0 else 0.0,
            "jobs": self.L,
            "window_start": self.window_start,
        }

    # -- exact save/restore -------------------------------------------------------------------
    def get_state(self) -> dict:
        return {
            "window_start": self.window_start,
            "stepper": self.st.get_state(),
            "obs": self._obs.copy(),
            "mask": self._mask.copy(),
            "visible": np.array(self._visible, dtype=np.int64),
            "invalid_actions": self.invalid_actions,
            "next_eval": self._next_eval,
            "baseline_metrics": self.baseline_metrics,
            "rng": self.np_random.bit_generator.state,
        }

    def set_state(self, state: dict) -> None:
        s = state["window_start"]
        sl = slice(s, s + self.L)
        sub = self.workload.submit[sl]
        self.window_start = s
        self.submit = np.ascontiguousarray(sub - sub[0], dtype=np.float64)
        self.run, self.est = self.run_all[sl], self.est_all[sl]
        self.inv_run = 1.0 / np.maximum(self.run, TAU)
        self.st = self._window_stepper(s, self._ranks(self.options.queue_order))
        self.st.set_state(state["stepper"])
        self._obs, self._mask = state["obs"].copy(), state["mask"].copy()
        self._visible = [int(j) for j in state["visible"]]
        self.invalid_actions, self._next_eval = state["invalid_actions"], state["next_eval"]
        self.baseline_metrics = state["baseline_metrics"]
        self.np_random.bit_generator.state = state["rng"]


def make_env(trace: Any, options: EnvOptions | None = None, cluster=None, **kw) -> gym.Env:
    """The environment ``options`` asks for: on a machine description when ``options.cluster``
    (or ``cluster``, a loaded one) is given, else the single-resource :class:`SchedulingEnv`."""
    opts = EnvOptions.coerce(options)
    opts = opts.replace(**kw) if kw else opts
    if cluster is not None or opts.cluster is not None:
        return MultiSchedulingEnv(trace, opts, cluster=cluster)
    from schedlab.rl.env import SchedulingEnv

    return SchedulingEnv(trace, opts)


__all__ = ["MULTI_FEATURES", "N_MULTI_FEATURES", "MultiSchedulingEnv", "make_env"]
