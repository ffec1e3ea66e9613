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
            raise ValueError(f"unknown objective {self.objective!r}; choose from {', '.join(OBJECTIVES)}")
        if self.solver not in SOLVER_NAMES:
            raise ValueError(f"unknown solver {self.solver!r}; choose from {', '.join(SOLVER_NAMES)}")
        if self.cost_rate not in COST_RATES:
            raise ValueError(f"unknown cost rate {self.cost_rate!r}; choose from {', '.join(COST_RATES)}")
        if self.node_choice not in NODE_CHOICES:
            raise ValueError(f"unknown node choice {self.node_choice!r}; choose from {', '.join(NODE_CHOICES)}")
        if self.node_choice == "longest" and self.horizon is None:
            raise ValueError("node_choice='longest' needs a horizon model")
        if not self.tfwd > 0:
            raise ValueError(f"tfwd must be > 0 seconds (got {self.tfwd})")
        if self.tfwd_learned and self.tfwd_scale is not None:
            raise ValueError("choose one learned Tfwd: tfwd_learned or tfwd_scale, not both")
        if self.max_running < 1:
            raise ValueError(f"max_running must be >= 1 (got {self.max_running})")

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


def replay(idle: IdleTrace, trainers: TrainerSet, config: ReplayConfig | None = None, on_event=None) -> ReplayResult:
    """Run the trainers through ``idle``; ``on_event(t)`` is called after each decision (progress bars)."""
    cfg = config or ReplayConfig()
    n_t = len(trainers)
    rates = trainers.rates
    owner = np.full(idle.n_nodes, -1, dtype=np.int64)
    is_idle = idle.initial_idle.copy()
    hole_start = np.where(is_idle, idle.start, np.nan)
    life_map = np.zeros(idle.n_nodes)  # predicted remaining hole life, refreshed at each decision
    status = np.zeros(n_t, dtype=np.int8)  # 0 queued, 1 running (admitted), 2 finished
    count = np.zeros(n_t, dtype=np.int64)
    done, ideal, stall, node_sec, run_sec = (np.zeros(n_t) for _ in range(5))
    ups, downs, starts, stops, preempts = (np.zeros(n_t, dtype=np.int64) for _ in range(5))
    admit_t, first_t, finish_t = (np.full(n_t, np.nan) for _ in range(3))
    order = np.argsort(trainers.submit, kind="stable")
    q_next = 0
    active: list[int] = []
    ev_rows: list[tuple] = []
    tfwd_used: list[float] = []  # the look-ahead of each decision (nan: no trainer to decide for)
    alloc_rows: list[tuple] = []
    acc = {"samples": 0.0, "ideal": 0.0, "used": 0.0}

    def advance(dt: float) -> None:
        if dt <= 0 or not active:
            return
        a = np.asarray(active)
        k = count[a]
        runs = k >= trainers.min_nodes[a]
        r = np.where(runs, rates[a, np.minimum(k, rates.shape[1] - 1)], 0.0)
        s = np.minimum(stall[a], dt)
        gained = r * (dt - s)
        done[a] += gained
        ideal[a] += r * dt
        stall[a] -= s
        node_sec[a] += k * dt
        run_sec[a] += np.where(runs, dt, 0.0)
        acc["samples"] += gained.sum()
        acc["ideal"] += (r * dt).sum()
        acc["used"] += k.sum() * dt

    def next_completion(t: float) -> tuple[float, list[int]]:
        best, who = np.inf, []
        for j in active:
            k = count[j]
            if k >= trainers.min_nodes[j]:
                tc = t + stall[j] + (trainers.work[j] - done[j]) / rates[j, k]
                if tc < best - 1e-9:
                    best, who = tc, [j]
                elif abs(tc - best) <= 1e-9:
                    who.append(j)
        return best, who

    def set_count(j: int, k: int, t: float) -> None:
        c = count[j]
        if k == c:
            return
        if k < c:
            mine = np.flatnonzero(owner == j)
            mine = mine[np.argsort(life_map[mine], kind="stable")] if cfg.node_choice == "longest" else mine[::-1]
            owner[mine[: c - k]] = -1
        else:
            free = np.flatnonzero(is_idle & (owner < 0))
            if cfg.node_choice == "longest":
                free = free[np.argsort(-life_map[free], kind="stable")]
            owner[free[: k - c]] = j
        if c == 0:
            starts[j] += 1
            if np.isnan(first_t[j]):
                first_t[j] = t
        elif k == 0:
            stops[j] += 1
        elif k > c:
            ups[j] += 1
        else:
            downs[j] += 1
        stall[j] = trainers.scale_up[j] if k > c else (trainers.scale_down[j] if k > 0 else 0.0)
        count[j] = k
        alloc_rows.append((t, j, k))

    def decide(t: float) -> tuple[float, float, int]:
        if not active:
            tfwd_used.append(np.nan)
            return np.nan, 0.0, 0
        t0 = time.perf_counter()  # the decision's time: predictions, problem set-up and solve
        a = np.asarray(active)
        n_idle = int(is_idle.sum())
        horizon, risk = cfg.tfwd, None
        if cfg.horizon is not None:
            nodes = np.flatnonzero(is_idle)
            life = cfg.horizon.predict_remaining(t, nodes, hole_start[nodes])
            life_map[nodes] = life
            free_life = life_map[nodes[owner[nodes] < 0]]
            if cfg.tfwd_learned and len(life):
                horizon = float(np.clip(1.0 / np.sum(1.0 / np.maximum(life, 1.0)), 1.0, 3600.0))
            elif cfg.tfwd_scale is not None:
                pool = free_life if len(free_life) else life
                horizon = float(np.clip(cfg.tfwd_scale * np.median(pool), 1.0, 3600.0)) if len(pool) else cfg.tfwd
            if cfg.risk:
                held = [life_map[owner == j] for j in a]
                risk = cfg.horizon.risk(held, count[a], free_life, rates.shape[1])
        problem = AllocationProblem(
            capacity=n_idle,
            current=count[a],
            rates=rates[a],
            min_nodes=trainers.min_nodes[a],
            max_nodes=trainers.max_nodes[a],
            scale_up=trainers.scale_up[a],
            scale_down=trainers.scale_down[a],
            horizon=horizon,
            weight=trainers.weight[a],
            done=done[a],
            work=trainers.work[a],
            objective=cfg.objective,
            cost_rate=cfg.cost_rate,
            compat=cfg.compat,
            risk=risk,
        )
        if cfg.solver == "dp":
            alloc = solve_dp(problem)
        elif cfg.solver == "milp":
            alloc = solve_milp(problem, time_limit=cfg.milp_time_limit)
        else:
            alloc = equal_share(problem)
        decision_s = time.perf_counter() - t0
        changed = 0
        for j, k in sorted(zip(a, alloc.counts, strict=False), key=lambda jk: jk[1] - count[jk[0]]):  # shrink first
            changed += int(k != count[j])
            set_count(int(j), int(k), t)
        tfwd_used.append(horizon)
        return alloc.objective, decision_s, changed

    def admit(t: float) -> int:
        nonlocal q_next
        n = 0
        while q_next < n_t and len(active) < cfg.max_running and trainers.submit[order[q_next]] <= t:
            j = int(order[q_next])
            status[j], admit_t[j] = 1, t
            active.append(j)
            q_next += 1
            n += 1
        return n

    t = idle.start
    e = 0
    admit(t)
    obj, decision_s, changed = decide(t)
    ev_rows.append(
        (
            t,
            "start",
            int(is_idle.sum()),
            int(count.sum()),
            len(active),
            0,
            0,
            0,
            changed,
            decision_s,
            obj,
            0.0,
            0.0,
            0.0,
        )
    )
    wall0 = time.perf_counter()
    conflicts = 0
    while True:
        t_evt = idle.times[e] if e < idle.n_events else np.inf
        t_sub = trainers.submit[order[q_next]] if (q_next < n_t and len(active) < cfg.max_running) else np.inf
        t_sub = max(t_sub, t) if t_sub < np.inf else t_sub
        t_done, finishing = next_completion(t)
        t_next = min(t_evt, t_sub, t_done, idle.end)
        advance(t_next - t)
        t = t_next
        kinds = []
        if finishing and t_done <= t_next + 1e-9:
            for j in finishing:
                done[j] = trainers.work[j]
                status[j], finish_t[j] = 2, t
                owner[owner == j] = -1
                count[j] = 0
                alloc_rows.append((t, j, 0))
                active.remove(j)
            kinds.append("finish")
        if t >= idle.end:
            break
        joins = leaves = 0
        hit: set[int] = set()
        if t == t_evt:
            nodes, to_idle = idle.changes(e)
            e += 1
            kinds.append("nodes")
            gone = nodes[~to_idle]
            came = nodes[to_idle]
            leaves, joins = len(gone), len(came)
            held = owner[gone]
            for j in np.unique(held[held >= 0]):
                lost = int((held == j).sum())
                count[j] -= lost
                preempts[j] += 1
                stall[j] = max(stall[j], trainers.scale_down[j])
                alloc_rows.append((t, int(j), int(count[j])))
                hit.add(int(j))
            owner[gone] = -1
            is_idle[gone] = False
            hole_start[gone] = np.nan
            is_idle[came] = True
            hole_start[came] = t
        if admit(t):
            kinds.append("submit")
        obj, decision_s, changed = decide(t)
        conflicts += int(np.count_nonzero((owner >= 0) & ~is_idle))  # trainers on a busy node: must stay 0
        ev_rows.append(
            (
                t,
                "+".join(kinds) or "none",
                int(is_idle.sum()),
                int(count.sum()),
                len(active),
                n_t - q_next,
                joins,
                leaves,
                changed,
                decision_s,
                obj,
                acc["samples"],
                acc["ideal"],
                acc["used"],
            )
        )
        acc.update(samples=0.0, ideal=0.0, used=0.0)
        if on_event is not None:
            on_event(t)
        if e >= idle.n_events and q_next >= n_t and not active:
            break
    wall = time.perf_counter() - wall0

    events = pd.DataFrame(
        ev_rows,
        columns=[
            "time",
            "kind",
            "idle_nodes",
            "used_nodes",
            "running",
            "queued",
            "joins",
            "leaves",
            "rescaled",
            "decision_s",
            "objective",
            "samples",
            "ideal_samples",
            "used_node_seconds",
        ],
    )
    events["tfwd"] = tfwd_used
    allocations = pd.DataFrame(alloc_rows, columns=["time", "trainer", "nodes"])
    allocations["job_id"] = trainers.job_id[allocations["trainer"].to_numpy()] if len(allocations) else []
    per = pd.DataFrame(
        {
            "job_id": trainers.job_id,
            "model": trainers.model,
            "submit": trainers.submit,
            "admitted": admit_t,
            "first_nodes": first_t,
            "finished": finish_t,
            "samples": done,
            "ideal_samples": ideal,
            "work": trainers.work,
            "node_seconds": node_sec,
            "busy_seconds": run_sec,
            "starts": starts,
            "stops": stops,
            "scale_ups": ups,
            "scale_downs": downs,
            "preemptions": preempts,
        }
    )
    summary = _summary(idle, trainers, per, events, cfg, wall)
    summary["busy_node_conflicts"] = conflicts
    used = events["tfwd"].dropna()
    summary["tfwd_median"] = float(used.median()) if len(used) else None
    return ReplayResult(events, allocations, per, summary, cfg)


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
