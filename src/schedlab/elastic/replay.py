"""Replay elastic trainers through an idle trace: the BFTrainer event loop.

Time moves from decision point to decision point.  A decision point is a node-state event of the
idle trace, a trainer finishing, or a queued trainer's submission while a slot is free.  At each:

1. progress since the last point is credited: a trainer on k >= min nodes processes ``r(k)``
   samples/s except while it *stalls* (the rescale cost, seconds in which it holds its nodes and
   makes no progress);
2. finished trainers release their nodes;
3. the trace's changes apply: a node that becomes busy is taken back at once (the main scheduler's
   jobs are never delayed); a trainer losing nodes this way is pre-empted and stalls for its
   scale-down cost;
4. queued trainers are admitted first come first served while fewer than ``max_running`` run;
5. the allocator (:mod:`.allocate`) chooses every running trainer's node count; a trainer whose
   count changes stalls for its scale-up (growing or starting) or scale-down (shrinking) cost.

Efficiency, as reported in the summary (``samples`` = samples processed):

* ``efficiency_vs_same_scales`` = samples / samples the same trainers would have processed on the
  same node-seconds at the same scales with no stall at all (no rescale or pre-emption losses);
* ``efficiency_vs_dedicated`` = samples / (sum over trainers of node-seconds used x per-node rate
  at a fixed reference scale, ``r(n_ref) / n_ref``): the same node-hours on dedicated nodes at one
  fixed scale.  ``n_ref`` is each trainer's node-second-weighted mean scale (rounded) unless a
  number is given.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from schedlab.elastic.allocate import COST_RATES, OBJECTIVES, AllocationProblem, equal_share, solve_dp, solve_milp
from schedlab.elastic.idle import IdleTrace
from schedlab.elastic.trainers import TrainerSet
from schedlab.errors import SchedlabError

SOLVER_NAMES = ("dp", "milp", "equal")
NODE_CHOICES = ("lowest", "longest")


@dataclass
class ReplayConfig:
    """Every knob of a replay.

    tfwd          BFTrainer's look-ahead (seconds) in the objective, when no ``horizon`` model is given
    horizon       a fitted :class:`~schedlab.elastic.horizon.HoleLifePredictor`: predicted remaining
                  hole life per idle node, refreshed at every decision
    tfwd_scale    with a ``horizon``: Tfwd at each decision = this x the median predicted remaining
                  life of the free idle nodes (clipped to 1..3600 s) instead of the fixed ``tfwd``
    tfwd_learned  with a ``horizon``: no scale to choose.  Tfwd at each decision = the predicted time
                  until the next idle node is taken back, 1 / sum(1 / remaining life) over the idle
                  nodes: how long the allocation being chosen stands before the pool changes under
                  it.  Clipped to 1..3600 s like ``tfwd_scale``; on the 4,734-node machine the 1 s
                  floor binds at about half the decisions (README)
    risk          with a ``horizon``: take each allocation's predicted pre-emption stalls off its
                  value in the objective (``AllocationProblem.risk``)
    node_choice   which free nodes a growing trainer takes: ``lowest`` index (deterministic, as good
                  as any without a model) or ``longest`` predicted remaining life (needs ``horizon``);
                  shrinking trainers give back the opposite end
    """

    objective: str = "throughput"
    solver: str = "dp"
    tfwd: float = 10.0
    cost_rate: str = "current"
    compat: bool = False
    max_running: int = 10
    horizon: object | None = None
    node_choice: str = "lowest"
    risk: bool = False
    tfwd_scale: float | None = None
    tfwd_learned: bool = False
    milp_time_limit: float = 60.0

    def __post_init__(self):
        if self.objective not in OBJECTIVES:
            raise SchedlabError(f"unknown objective {self.objective!r}; choose from {', '.join(OBJECTIVES)}")
        if self.solver not in SOLVER_NAMES:
            raise SchedlabError(f"unknown solver {self.solver!r}; choose from {', '.join(SOLVER_NAMES)}")
        if self.cost_rate not in COST_RATES:
            raise SchedlabError(f"unknown cost rate {self.cost_rate!r}; choose from {', '.join(COST_RATES)}")
        if self.node_choice not in NODE_CHOICES:
            raise SchedlabError(f"unknown node choice {self.node_choice!r}; choose from {', '.join(NODE_CHOICES)}")
        if self.node_choice == "longest" and self.horizon is None:
            raise SchedlabError("node_choice='longest' needs a horizon model")
        if not self.tfwd > 0:
            raise SchedlabError(f"--tfwd must be > 0 seconds (got {self.tfwd:g})")
        if self.tfwd_learned and self.tfwd_scale is not None:
            raise SchedlabError("choose one learned Tfwd: tfwd_learned or tfwd_scale, not both")
        if self.max_running < 1:
            raise SchedlabError(f"max_running must be >= 1 (got {self.max_running})")

    def to_dict(self) -> dict:
        return {
            "objective": self.objective,
            "solver": self.solver,
            "tfwd": self.tfwd,
            "cost_rate": self.cost_rate,
            "compat": self.compat,
            "max_running": self.max_running,
            "horizon": None if self.horizon is None else type(self.horizon).__name__,
            "node_choice": self.node_choice,
            "risk": self.horizon is not None and self.risk,
            "tfwd_scale": self.tfwd_scale if self.horizon is not None else None,
            "tfwd_learned": self.horizon is not None and self.tfwd_learned,
        }


@dataclass
class ReplayResult:
    events: pd.DataFrame  # one row per decision point
    allocations: pd.DataFrame  # (time, trainer, nodes) whenever a trainer's count changes
    trainers: pd.DataFrame  # one row per trainer
    summary: dict
    config: ReplayConfig = field(repr=False, default=None)


EVENT_COLUMNS = [
    "time", "kind", "idle_nodes", "used_nodes", "running", "queued", "joins", "leaves", "rescaled",
    "decision_s", "objective", "samples", "ideal_samples", "used_node_seconds",
]  # fmt: skip


class _Replay:
    """The state of one replay: who holds which idle node, each trainer's progress and counters,
    and the event and allocation logs.  ``replay`` drives it event by event."""

    def __init__(self, idle: IdleTrace, trainers: TrainerSet, cfg: ReplayConfig):
        self.idle, self.trainers, self.cfg = idle, trainers, cfg
        n_t = self.n_t = len(trainers)
        self.rates = trainers.rates
        self.owner = np.full(idle.n_nodes, -1, dtype=np.int64)
        self.is_idle = idle.initial_idle.copy()
        self.hole_start = np.where(self.is_idle, idle.start, np.nan)
        self.life_map = np.zeros(idle.n_nodes)  # predicted remaining hole life, refreshed at each decision
        self.status = np.zeros(n_t, dtype=np.int8)  # 0 queued, 1 running (admitted), 2 finished
        self.count = np.zeros(n_t, dtype=np.int64)
        self.done, self.ideal, self.stall, self.node_sec, self.run_sec = (np.zeros(n_t) for _ in range(5))
        self.ups, self.downs, self.starts, self.stops, self.preempts = (np.zeros(n_t, dtype=np.int64) for _ in range(5))
        self.admit_t, self.first_t, self.finish_t = (np.full(n_t, np.nan) for _ in range(3))
        self.order = np.argsort(trainers.submit, kind="stable")
        self.q_next = 0
        self.active: list[int] = []
        self.ev_rows: list[tuple] = []
        self.tfwd_used: list[float] = []  # the look-ahead of each decision (nan: no trainer to decide for)
        self.alloc_rows: list[tuple] = []
        self.acc = {"samples": 0.0, "ideal": 0.0, "used": 0.0}
        self.conflicts = 0

    # --- progress between events ---------------------------------------------------------------
    def advance(self, dt: float) -> None:
        if dt <= 0 or not self.active:
            return
        a = np.asarray(self.active)
        k = self.count[a]
        runs = k >= self.trainers.min_nodes[a]
        r = np.where(runs, self.rates[a, np.minimum(k, self.rates.shape[1] - 1)], 0.0)
        s = np.minimum(self.stall[a], dt)
        gained = r * (dt - s)
        self.done[a] += gained
        self.ideal[a] += r * dt
        self.stall[a] -= s
        self.node_sec[a] += k * dt
        self.run_sec[a] += np.where(runs, dt, 0.0)
        self.acc["samples"] += gained.sum()
        self.acc["ideal"] += (r * dt).sum()
        self.acc["used"] += k.sum() * dt

    def next_completion(self, t: float) -> tuple[float, list[int]]:
        best, who = np.inf, []
        for j in self.active:
            k = self.count[j]
            if k >= self.trainers.min_nodes[j]:
                tc = t + self.stall[j] + (self.trainers.work[j] - self.done[j]) / self.rates[j, k]
                if tc < best - 1e-9:
                    best, who = tc, [j]
                elif abs(tc - best) <= 1e-9:
                    who.append(j)
        return best, who

    # --- allocation ------------------------------------------------------------------------------
    def _move_nodes(self, j: int, c: int, k: int) -> None:
        """Give trainer ``j`` ``k`` nodes instead of ``c``: release its shortest-lived (or highest)
        nodes, or take the longest-lived (or lowest) free idle nodes."""
        owner, life_map = self.owner, self.life_map
        if k < c:
            mine = np.flatnonzero(owner == j)
            mine = mine[np.argsort(life_map[mine], kind="stable")] if self.cfg.node_choice == "longest" else mine[::-1]
            owner[mine[: c - k]] = -1
        else:
            free = np.flatnonzero(self.is_idle & (owner < 0))
            if self.cfg.node_choice == "longest":
                free = free[np.argsort(-life_map[free], kind="stable")]
            owner[free[: k - c]] = j

    def set_count(self, j: int, k: int, t: float) -> None:
        c = self.count[j]
        if k == c:
            return
        self._move_nodes(j, c, k)
        if c == 0:
            self.starts[j] += 1
            if np.isnan(self.first_t[j]):
                self.first_t[j] = t
        elif k == 0:
            self.stops[j] += 1
        elif k > c:
            self.ups[j] += 1
        else:
            self.downs[j] += 1
        tr = self.trainers
        self.stall[j] = tr.scale_up[j] if k > c else (tr.scale_down[j] if k > 0 else 0.0)
        self.count[j] = k
        self.alloc_rows.append((t, j, k))

    def _horizon_and_risk(self, t: float, a: np.ndarray):
        """Tfwd for this decision (fixed, or from the predicted hole lives) and the risk term."""
        cfg = self.cfg
        horizon, risk = cfg.tfwd, None
        if cfg.horizon is None:
            return horizon, risk
        nodes = np.flatnonzero(self.is_idle)
        life = cfg.horizon.predict_remaining(t, nodes, self.hole_start[nodes])
        self.life_map[nodes] = life
        free_life = self.life_map[nodes[self.owner[nodes] < 0]]
        if cfg.tfwd_learned and len(life):
            horizon = float(np.clip(1.0 / np.sum(1.0 / np.maximum(life, 1.0)), 1.0, 3600.0))
        elif cfg.tfwd_scale is not None:
            pool = free_life if len(free_life) else life
            horizon = float(np.clip(cfg.tfwd_scale * np.median(pool), 1.0, 3600.0)) if len(pool) else cfg.tfwd
        if cfg.risk:
            held = [self.life_map[self.owner == j] for j in a]
            risk = cfg.horizon.risk(held, self.count[a], free_life, self.rates.shape[1])
        return horizon, risk

    def _solve(self, a: np.ndarray, horizon: float, risk):
        cfg, tr = self.cfg, self.trainers
        problem = AllocationProblem(
            capacity=int(self.is_idle.sum()), current=self.count[a], rates=self.rates[a], min_nodes=tr.min_nodes[a],
            max_nodes=tr.max_nodes[a], scale_up=tr.scale_up[a], scale_down=tr.scale_down[a], horizon=horizon,
            weight=tr.weight[a], done=self.done[a], work=tr.work[a], objective=cfg.objective,
            cost_rate=cfg.cost_rate, compat=cfg.compat, risk=risk,
        )  # fmt: skip
        if cfg.solver == "dp":
            return solve_dp(problem)
        if cfg.solver == "milp":
            return solve_milp(problem, time_limit=cfg.milp_time_limit)
        return equal_share(problem)

    def decide(self, t: float) -> tuple[float, float, int]:
        """Re-solve the allocation at ``t``; (objective, decision seconds, trainers rescaled)."""
        if not self.active:
            self.tfwd_used.append(np.nan)
            return np.nan, 0.0, 0
        t0 = time.perf_counter()  # the decision's time: predictions, problem set-up and solve
        a = np.asarray(self.active)
        horizon, risk = self._horizon_and_risk(t, a)
        alloc = self._solve(a, horizon, risk)
        decision_s = time.perf_counter() - t0
        changed = 0
        pairs = sorted(zip(a, alloc.counts, strict=False), key=lambda jk: jk[1] - self.count[jk[0]])  # shrink first
        for j, k in pairs:
            changed += int(k != self.count[j])
            self.set_count(int(j), int(k), t)
        self.tfwd_used.append(horizon)
        return alloc.objective, decision_s, changed

    # --- events ----------------------------------------------------------------------------------
    def admit(self, t: float) -> int:
        """Admit queued trainers (FCFS) submitted by ``t`` while fewer than max_running run."""
        n = 0
        tr = self.trainers
        while self.q_next < self.n_t and len(self.active) < self.cfg.max_running:
            j = int(self.order[self.q_next])
            if tr.submit[j] > t:
                break
            self.status[j], self.admit_t[j] = 1, t
            self.active.append(j)
            self.q_next += 1
            n += 1
        return n

    def next_submit(self, t: float) -> float:
        if self.q_next < self.n_t and len(self.active) < self.cfg.max_running:
            return max(self.trainers.submit[self.order[self.q_next]], t)
        return np.inf

    def finish(self, finishing: list[int], t: float) -> None:
        for j in finishing:
            self.done[j] = self.trainers.work[j]
            self.status[j], self.finish_t[j] = 2, t
            self.owner[self.owner == j] = -1
            self.count[j] = 0
            self.alloc_rows.append((t, j, 0))
            self.active.remove(j)

    def node_changes(self, e: int, t: float) -> tuple[int, int]:
        """Apply idle-trace event ``e``: nodes taken back pre-empt their trainers; (joins, leaves)."""
        nodes, to_idle = self.idle.changes(e)
        gone, came = nodes[~to_idle], nodes[to_idle]
        held = self.owner[gone]
        for j in np.unique(held[held >= 0]):
            self.count[j] -= int((held == j).sum())
            self.preempts[j] += 1
            self.stall[j] = max(self.stall[j], self.trainers.scale_down[j])
            self.alloc_rows.append((t, int(j), int(self.count[j])))
        self.owner[gone] = -1
        self.is_idle[gone] = False
        self.hole_start[gone] = np.nan
        self.is_idle[came] = True
        self.hole_start[came] = t
        return len(came), len(gone)

    def log_event(self, t, kind, joins, leaves, changed, decision_s, obj, queued=None) -> None:
        acc = self.acc
        queued = self.n_t - self.q_next if queued is None else queued
        self.ev_rows.append(
            (t, kind, int(self.is_idle.sum()), int(self.count.sum()), len(self.active), queued, joins,
             leaves, changed, decision_s, obj, acc["samples"], acc["ideal"], acc["used"])
        )  # fmt: skip
        acc.update(samples=0.0, ideal=0.0, used=0.0)

    # --- results ---------------------------------------------------------------------------------
    def result(self, wall: float) -> ReplayResult:
        tr = self.trainers
        events = pd.DataFrame(self.ev_rows, columns=EVENT_COLUMNS)
        events["tfwd"] = self.tfwd_used
        allocations = pd.DataFrame(self.alloc_rows, columns=["time", "trainer", "nodes"])
        allocations["job_id"] = tr.job_id[allocations["trainer"].to_numpy()] if len(allocations) else []
        per = pd.DataFrame(
            {
                "job_id": tr.job_id, "model": tr.model, "submit": tr.submit, "admitted": self.admit_t,
                "first_nodes": self.first_t, "finished": self.finish_t, "samples": self.done,
                "ideal_samples": self.ideal, "work": tr.work, "node_seconds": self.node_sec,
                "busy_seconds": self.run_sec, "starts": self.starts, "stops": self.stops, "scale_ups": self.ups,
                "scale_downs": self.downs, "preemptions": self.preempts,
            }
        )  # fmt: skip
        summary = _summary(self.idle, tr, per, events, self.cfg, wall)
        summary["busy_node_conflicts"] = self.conflicts
        used = events["tfwd"].dropna()
        summary["tfwd_median"] = float(used.median()) if len(used) else None
        return ReplayResult(events, allocations, per, summary, self.cfg)


def replay(idle: IdleTrace, trainers: TrainerSet, config: ReplayConfig | None = None, on_event=None) -> ReplayResult:
    """Run the trainers through ``idle``; ``on_event(t)`` is called after each decision (progress bars).

    Events, in time order: an idle-trace change (nodes join or leave the pool), a submission that
    can be admitted, a trainer's completion, or the window's end.  After each, the allocation is
    re-solved for the running trainers.
    """
    st = _Replay(idle, trainers, config or ReplayConfig())
    t, e = idle.start, 0
    st.admit(t)
    obj, decision_s, changed = st.decide(t)
    st.log_event(t, "start", 0, 0, changed, decision_s, obj, queued=0)
    wall0 = time.perf_counter()
    while True:
        t_evt = idle.times[e] if e < idle.n_events else np.inf
        t_done, finishing = st.next_completion(t)
        t_next = min(t_evt, st.next_submit(t), t_done, idle.end)
        st.advance(t_next - t)
        t = t_next
        kinds = []
        if finishing and t_done <= t_next + 1e-9:
            st.finish(finishing, t)
            kinds.append("finish")
        if t >= idle.end:
            break
        joins = leaves = 0
        if t == t_evt:
            joins, leaves = st.node_changes(e, t)
            e += 1
            kinds.append("nodes")
        if st.admit(t):
            kinds.append("submit")
        obj, decision_s, changed = st.decide(t)
        st.conflicts += int(np.count_nonzero((st.owner >= 0) & ~st.is_idle))  # trainers on a busy node: must stay 0
        st.log_event(t, "+".join(kinds) or "none", joins, leaves, changed, decision_s, obj)
        if on_event is not None:
            on_event(t)
        if e >= idle.n_events and st.q_next >= st.n_t and not st.active:
            break
    return st.result(time.perf_counter() - wall0)


def reference_scale(
    trainers: TrainerSet, node_seconds: np.ndarray, busy_seconds: np.ndarray, ref_nodes: int | None
) -> np.ndarray:
    """Per trainer: the fixed scale of the dedicated-nodes comparison (see module docstring)."""
    if ref_nodes is not None:
        return np.clip(np.full(len(trainers), int(ref_nodes)), trainers.min_nodes, trainers.max_nodes)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(busy_seconds > 0, node_seconds / busy_seconds, trainers.min_nodes)
    return np.clip(np.rint(mean).astype(np.int64), trainers.min_nodes, trainers.max_nodes)


def efficiency_vs_dedicated(
    trainers: TrainerSet, per: pd.DataFrame, ref_nodes: int | None = None, busy_seconds: np.ndarray | None = None
) -> float:
    node_sec = per["node_seconds"].to_numpy()
    if busy_seconds is None:
        busy_seconds = per["busy_seconds"].to_numpy()
    ref = reference_scale(trainers, node_sec, busy_seconds, ref_nodes)
    per_node = trainers.rates[np.arange(len(trainers)), ref] / ref
    dedicated = float(np.sum(node_sec * per_node))
    return float(per["samples"].sum()) / dedicated if dedicated > 0 else float("nan")


def _summary(
    idle: IdleTrace, trainers: TrainerSet, per: pd.DataFrame, events: pd.DataFrame, cfg: ReplayConfig, wall: float
) -> dict:
    samples, ideal = float(per["samples"].sum()), float(per["ideal_samples"].sum())
    used = float(per["node_seconds"].sum())
    available = idle.idle_node_seconds()
    fin = per["finished"].notna()
    jct = (per.loc[fin, "finished"] - per.loc[fin, "submit"]) / 3600
    decision_ms = events["decision_s"].to_numpy()[1:] * 1000 if len(events) > 1 else np.zeros(1)
    out = {
        "idle_trace": idle.name,
        "nodes": idle.n_nodes,
        "hours": (idle.end - idle.start) / 3600,
        "trainers": trainers.name,
        "config": cfg.to_dict(),
        "idle_node_hours": available / 3600,
        "used_node_hours": used / 3600,
        "idle_used_fraction": used / available if available > 0 else 0.0,
        "samples": samples,
        "ideal_samples": ideal,
        "efficiency_vs_same_scales": samples / ideal if ideal > 0 else float("nan"),
        "efficiency_vs_dedicated": efficiency_vs_dedicated(trainers, per),
        "efficiency_vs_dedicated_by_scale": {
            str(n): efficiency_vs_dedicated(trainers, per, n) for n in (1, 8, 16, 32, 64)
        },
        "trainers_started": int(per["first_nodes"].notna().sum()),
        "trainers_finished": int(fin.sum()),
        "mean_completion_hours": float(jct.mean()) if len(jct) else float("nan"),
        "median_completion_hours": float(jct.median()) if len(jct) else float("nan"),
        "scale_ups": int(per["scale_ups"].sum()),
        "scale_downs": int(per["scale_downs"].sum()),
        "starts": int(per["starts"].sum()),
        "stops": int(per["stops"].sum()),
        "preemptions": int(per["preemptions"].sum()),
        "decisions": len(events),
        "decision_ms_median": float(np.median(decision_ms)),
        "decision_ms_p95": float(np.percentile(decision_ms, 95)),
        "decision_ms_max": float(decision_ms.max()),
        "replay_seconds": wall,
    }
    return out
