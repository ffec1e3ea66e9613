"""Co-scheduling policies for one multi-GPU node: EcoSched and its baselines.

EcoSched (Zheng, Papka, Lan, arXiv 2604.17640) decides at every event which waiting job(s) to
start and on how many GPUs:

1. **Relative performance from activity counters.**  For each app it takes one activity signal per
   GPU count: the summed DRAM-active ratio, else FP-active per GPU, else SM clock per GPU (the
   first one that is positive at every count).  The predicted runtime at ``g`` GPUs relative to the app's best is
   ``max(signal) / signal[g]`` (more activity = proportionally faster), and the predicted energy
   is the profiled power times that.
2. **Candidate GPU counts** are those predicted within ``slowdown_tol`` of the best.
3. **Score** of an action (one job, or two when the node is empty) =
   mean energy (or EDP) regret of its jobs  +  ``idle_weight`` x idle-GPU fraction left
   +  ``blocking_weight`` x fraction of the other waiting jobs that could not use the GPUs left.
   The lowest score starts; ties prefer fewer idle GPUs, then less slowdown, then more GPUs.
4. The **bandit** variant (LinUCB over the features (regret, idle fraction)) learns the weights
   from the energy each decision actually cost until the next completion.
5. Placement is NUMA-aware and local-first (:meth:`GPUNode.place`).

Baselines: ``sequential`` (one job at a time on all GPUs it supports), ``sequential-best`` (one at a
time at its fastest count), ``marble`` (smallest count within 5% of the fastest, then FCFS
co-scheduling), and the offline CP-SAT optimum (:mod:`schedlab.energy.optimal`).

schedlab's own policy, ``lookahead``, is a rollout on top of the score policy: at each decision it
tries the best few actions, finishes the queue with the score policy for each, and takes the action
whose completed schedule uses the least energy.  It decides with the profiled runtimes and the
calibrated whole-run power (the information the offline optimum has), where EcoSched uses counter
estimates and the 15 s power; ``score`` with ``estimate="profile"`` isolates the effect of that.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from schedlab.energy.node import GPUNode, NodeState, Running, ScheduleError, _interval_energy, _start
from schedlab.energy.profiles import AppTable, Mode, base_app
from schedlab.errors import SchedlabError


@dataclass(frozen=True)
class Estimate:
    """A mode with the policy's prediction of it, relative to the app's best mode."""

    mode: Mode
    rel_runtime: float
    rel_energy: float
    rel_edp: float


def estimate_modes(table: AppTable, app: str, source: str = "counters") -> dict[int, Estimate]:
    """Predicted relative runtime/energy/EDP per GPU count of ``app``.

    ``counters``: EcoSched's estimate (module docstring, step 1) with the 15 s profiling power.
    ``profile``: the profiled runtimes and the calibrated whole-run power.
    """
    modes = table.of(app)
    if source == "counters":
        signals = (
            {g: m.dram_active_sum for g, m in modes.items()},
            {g: m.fp_active_sum / g for g, m in modes.items()},
            {g: m.sm_clock_sum_mhz / g for g, m in modes.items()},
        )
        # the first signal that is positive at every GPU count (a zero reading at one count, as
        # A100 miniweather's DRAM signal, would make that count look infinitely slow)
        sig = next((s for s in signals if all(v > 0 for v in s.values())), None)
        top = max(sig.values()) if sig else 0.0
        if sig is None or abs(top - min(sig.values())) < 1e-12:
            rel = {g: 1.0 for g in modes}
        else:
            rel = {g: top / v for g, v in sig.items()}
        energy = {g: modes[g].window_power_w * rel[g] for g in modes}
    elif source == "profile":
        best = min(m.runtime_s for m in modes.values())
        rel = {g: m.runtime_s / best for g, m in modes.items()}
        energy = {g: m.energy_j for g, m in modes.items()}
    else:
        raise SchedlabError(f"estimate must be 'counters' or 'profile', not {source!r}")
    edp = {g: energy[g] * rel[g] for g in modes}
    e0, d0 = min(energy.values()), min(edp.values())
    return {g: Estimate(modes[g], rel[g], energy[g] / e0, edp[g] / d0) for g in sorted(modes)}


def candidate_modes(est: dict[int, Estimate], slowdown_tol: float | None) -> list[Estimate]:
    """Modes predicted within ``slowdown_tol`` of the best (at least the best one; every mode when
    None), fewest GPUs first."""
    if slowdown_tol is None:
        return sorted(est.values(), key=lambda e: e.mode.gpu_count)
    ok = [e for e in est.values() if e.rel_runtime <= 1 + slowdown_tol + 1e-9]
    if not ok:
        lo = min(e.rel_runtime for e in est.values())
        ok = [e for e in est.values() if abs(e.rel_runtime - lo) < 1e-9]
    return sorted(ok, key=lambda e: e.mode.gpu_count)


class _Base:
    name = "base"

    def reset(self, queue, table: AppTable, node: GPUNode) -> None:
        self.table, self.node = table, node

    def observe(self, start, end, energy_j, state) -> None:
        pass


class Sequential(_Base):
    """One job at a time in queue order, on all the GPUs it supports (``best=False``) or at its
    fastest profiled count (``best=True``)."""

    def __init__(self, best: bool = False):
        self.best = best
        self.name = "sequential-best" if best else "sequential"

    def decide(self, state: NodeState):
        if state.running:
            return []
        job = state.pending[0]
        app = base_app(job)
        return [(job, self.table.fastest(app) if self.best else self.table.largest(app))]


class Marble(_Base):
    """Marble-like: each job on the fewest GPUs within ``tol`` of its fastest runtime, started in
    strict queue order whenever its GPUs and a tenant slot are free."""

    name = "marble"

    def __init__(self, tol: float = 0.05):
        self.tol = tol

    def mode_of(self, app: str) -> Mode:
        best = self.table.fastest(app).runtime_s
        return min(
            (m for m in self.table.of(app).values() if m.runtime_s <= (1 + self.tol) * best + 1e-9),
            key=lambda m: m.gpu_count,
        )

    def decide(self, state: NodeState):
        job = state.pending[0]
        mode = self.mode_of(base_app(job))
        return [(job, mode)] if mode.gpu_count <= len(state.free_gpus) else []


@dataclass(frozen=True)
class _Action:
    launches: tuple[tuple[str, Estimate], ...]
    regret: float
    idle_frac: float
    blocking: float
    runtime_regret: float
    gpus: int


class EcoSched(_Base):
    """EcoSched's score policy (``bandit=False``) or its LinUCB variant (``bandit=True``)."""

    def __init__(
        self,
        slowdown_tol: float | None = 0.2,
        idle_weight: float | None = None,
        blocking_weight: float = 0.0,
        metric: str = "energy",
        estimate: str = "counters",
        anchor: str | None = "longest",
        bandit: bool = False,
        ucb_alpha: float = 0.5,
        prior_strength: float = 10.0,
    ):
        if metric not in ("energy", "edp"):
            raise SchedlabError(f"metric must be 'energy' or 'edp', not {metric!r}")
        if slowdown_tol is not None and slowdown_tol < 0:
            raise SchedlabError(f"slowdown_tol must be >= 0 (got {slowdown_tol})")
        self.slowdown_tol, self.idle_weight, self.blocking_weight = slowdown_tol, idle_weight, blocking_weight
        self.metric, self.estimate, self.anchor = metric, estimate, anchor
        self.bandit, self.ucb_alpha, self.prior_strength = bandit, ucb_alpha, prior_strength
        self.name = "ecosched-bandit" if bandit else "ecosched"

    # ------------------------------------------------------------------ set-up
    def reset(self, queue, table: AppTable, node: GPUNode) -> None:
        super().reset(queue, table, node)
        self.est_ = {a: estimate_modes(table, a, self.estimate) for a in {base_app(j) for j in queue}}
        self.cand_ = {a: candidate_modes(e, self.slowdown_tol) for a, e in self.est_.items()}
        powers = [
            m.window_power_w / m.gpu_count if self.estimate == "counters" else m.power_w / m.gpu_count
            for a in self.est_
            for m in table.of(a).values()
        ]
        self.mean_busy_w_ = float(np.mean(powers))
        # EcoSched derives the idle weight from idle vs busy power per GPU when none is given
        self.idle_weight_ = (
            self.idle_weight if self.idle_weight is not None else node.idle_w_per_gpu / self.mean_busy_w_
        )
        self.anchor_job_ = self._anchor_job(queue)
        self.anchor_started_ = self.anchor_job_ is None
        lam = self.prior_strength
        self.A_ = lam * np.eye(2)
        self.b_ = -lam * np.array([1.0, self.idle_weight_])
        self._pending_x = None
        self._last_decision = None

    def _anchor_job(self, queue):
        if self.anchor in (None, "none"):
            return None
        if self.anchor == "longest":  # the job whose best candidate mode runs longest starts first
            return max(queue, key=lambda j: (min(e.mode.runtime_s for e in self.cand_[base_app(j)]), -queue.index(j)))
        hits = [j for j in queue if j == self.anchor or base_app(j) == self.anchor]
        if not hits:
            raise ScheduleError(f"anchor app {self.anchor!r} is not in the queue")
        return hits[0]

    # ------------------------------------------------------------------ scoring
    def actions(self, state: NodeState) -> list[_Action]:
        free = len(state.free_gpus)
        pending = state.pending
        # jobs of the same app are interchangeable: consider the first waiting one of each app
        firsts: dict[str, str] = {}
        for j in pending:
            firsts.setdefault(base_app(j), j)
        groups = [(firsts[a],) for a in firsts]
        pairs = []
        if state.free_slots >= 2 and not state.running:
            for a, b in combinations(list(firsts), 2):
                pairs.append((firsts[a], firsts[b]))
            for a in firsts:  # two jobs of the same app
                same = [j for j in pending if base_app(j) == a]
                if len(same) >= 2:
                    pairs.append((same[0], same[1]))
        out = []
        for jobs in groups + pairs:
            if not self.anchor_started_ and self.anchor_job_ not in jobs:
                continue
            for combo in _mode_combos([self.cand_[base_app(j)] for j in jobs]):
                used = sum(e.mode.gpu_count for e in combo)
                if used > free:
                    continue
                out.append(self._evaluate(tuple(zip(jobs, combo, strict=False)), free, pending))
        return out

    def _evaluate(self, launches, free, pending) -> _Action:
        regrets = [(e.rel_edp if self.metric == "edp" else e.rel_energy) - 1 for _, e in launches]
        used = sum(e.mode.gpu_count for _, e in launches)
        left = free - used
        started = {j for j, _ in launches}
        rest = [j for j in pending if j not in started]
        if left == 0 or not rest:
            blocking = 0.0
        else:
            fits = sum(1 for j in rest if any(e.mode.gpu_count <= left for e in self.cand_[base_app(j)]))
            blocking = 1 - fits / len(rest)
        return _Action(
            launches,
            float(np.mean(regrets)),
            left / self.node.n_gpus,
            blocking,
            float(np.mean([e.rel_runtime - 1 for _, e in launches])),
            used,
        )

    def score(self, a: _Action) -> float:
        return a.regret + self.idle_weight_ * a.idle_frac + self.blocking_weight * a.blocking

    def _ucb(self, a: _Action) -> float:
        x = np.array([a.regret, a.idle_frac])
        inv = np.linalg.inv(self.A_)
        theta = inv @ self.b_
        return float(theta @ x + self.ucb_alpha * math.sqrt(max(0.0, x @ inv @ x)))

    def ranked(self, state: NodeState) -> list[_Action]:
        acts = self.actions(state)
        if self.bandit:
            key = lambda a: (-self._ucb(a), a.idle_frac, a.runtime_regret, -a.gpus, _label(a))
        else:
            key = lambda a: (self.score(a), a.idle_frac, a.runtime_regret, -a.gpus, _label(a))
        return sorted(acts, key=key)

    # ------------------------------------------------------------------ policy
    def decide(self, state: NodeState):
        if self.bandit and self._last_decision == state.time:
            return []  # the bandit makes one decision per event, then learns what it cost
        acts = self.ranked(state)
        if not acts:
            return []
        best = acts[0]
        self._commit(best, state)
        return [(j, e.mode) for j, e in best.launches]

    def _commit(self, a: _Action, state: NodeState) -> None:
        if any(j == self.anchor_job_ for j, _ in a.launches):
            self.anchor_started_ = True
        if self.bandit:
            self._last_decision = state.time
            self._pending_x = (np.array([a.regret, a.idle_frac]), a.idle_frac, 0.0, 0.0)

    def observe(self, start, end, energy_j, state) -> None:
        if not self.bandit or self._pending_x is None:
            return
        x, idle_frac, e_acc, t_acc = self._pending_x
        e_acc += energy_j
        t_acc += end - start
        idle_gpus = round(idle_frac * self.node.n_gpus)
        active = max(0.0, e_acc - self.node.idle_w_per_gpu * idle_gpus * t_acc)
        denom = self.mean_busy_w_ * self.node.n_gpus * t_acc
        reward = -((active / denom if denom > 0 else 0.0) + self.idle_weight_ * idle_frac)
        self.A_ += np.outer(x, x)
        self.b_ += reward * x
        self._pending_x = None


def _mode_combos(lists):
    if len(lists) == 1:
        return [(e,) for e in lists[0]]
    return [(a, b) for a in lists[0] for b in lists[1]]


def _label(a: _Action):
    return tuple(sorted((j, e.mode.gpu_count) for j, e in a.launches))


class Lookahead(_Base):
    """schedlab's policy: a rollout of the score policy (see the module docstring).

    ``width`` actions are tried at each decision; each is completed with ``base`` (an
    :class:`EcoSched` using profiled estimates by default) and scored by the finished schedule's
    energy (or EDP).  The cost is about ``width`` x (jobs left) base decisions per decision.
    """

    name = "lookahead"

    def __init__(
        self,
        width: int = 8,
        slowdown_tol: float | None = 0.2,
        idle_weights: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0),
        metric: str = "energy",
        estimate: str = "profile",
    ):
        if width < 1:
            raise SchedlabError(f"width must be >= 1 (got {width})")
        if not idle_weights:
            raise SchedlabError("idle_weights needs at least one weight")
        self.width, self.metric, self.idle_weights = width, metric, tuple(idle_weights)
        # one base policy per idle weight: the rollout keeps, for each candidate action, the best
        # completion any of them finds (a cheap portfolio of heuristics)
        self.bases = [
            EcoSched(slowdown_tol=slowdown_tol, idle_weight=w, metric=metric, estimate=estimate, anchor=None)
            for w in self.idle_weights
        ]

    def reset(self, queue, table, node) -> None:
        super().reset(queue, table, node)
        for b in self.bases:
            b.reset(queue, table, node)

    def decide(self, state: NodeState):
        seen, acts = set(), []
        for b in self.bases:  # the best few actions of every base policy
            for a in b.ranked(state)[: self.width]:
                if _label(a) not in seen:
                    seen.add(_label(a))
                    acts.append(a)
        if not acts:
            return []
        best = min(acts, key=lambda a: (self._rollout(state, a), _label(a)))
        return [(j, e.mode) for j, e in best.launches]

    def _rollout(self, state: NodeState, first: _Action) -> float:
        sim = NodeState(state.time, list(state.pending), list(state.running), state.node, state.table)
        for j, e in first.launches:
            _start(sim, j, e.mode)
        best = np.inf
        for b in self.bases:
            trial = NodeState(sim.time, list(sim.pending), list(sim.running), sim.node, sim.table)
            energy, end = _finish(trial, b)
            best = min(best, energy * end if self.metric == "edp" else energy)
        return best


def _finish(state: NodeState, policy: EcoSched) -> tuple[float, float]:
    """Energy from ``state.time`` to the end (and the end time) when ``policy`` schedules the rest;
    energy already spent before ``state.time`` is the same for every candidate and left out."""
    energy = 0.0
    while state.pending or state.running:
        while state.pending and state.free_slots > 0:
            acts = policy.ranked(state)
            if not acts:
                break
            for j, e in acts[0].launches:
                _start(state, j, e.mode)
        t_next = min(r.end for r in state.running)
        energy += _interval_energy(state, t_next)
        state.running = [r for r in state.running if r.end > t_next + 1e-9]
        state.time = t_next
    return energy, state.time


class Plan(_Base):
    """Executes an offline plan: jobs in planned start order on their planned GPU counts, each
    started as soon as it fits (list scheduling keeps the plan's order and modes)."""

    name = "plan"

    def __init__(self, order: list[tuple[str, int]], name: str = "optimal"):
        self.order, self.name = list(order), name

    def decide(self, state: NodeState):
        for job, g in self.order:
            if job in state.pending:
                mode = self.table.of(base_app(job))[g]
                return [(job, mode)] if mode.gpu_count <= len(state.free_gpus) else []
        return []


POLICIES = ("sequential", "sequential-best", "marble", "score", "bandit", "lookahead", "optimal")


def make_policy(name: str, **kw):
    """A policy by its CLI name (``optimal`` is built by :func:`schedlab.energy.optimal.solve_optimal`)."""
    tol = kw.get("slowdown_tol", 0.2)
    if name == "sequential":
        return Sequential(best=False)
    if name == "sequential-best":
        return Sequential(best=True)
    if name == "marble":
        return Marble()
    if name in ("score", "bandit"):
        return EcoSched(
            slowdown_tol=tol,
            idle_weight=kw.get("idle_weight"),
            blocking_weight=kw.get("blocking_weight", 0.0),
            metric=kw.get("metric", "energy"),
            estimate=kw.get("estimate", "counters"),
            anchor=kw.get("anchor", "longest"),
            bandit=name == "bandit",
            ucb_alpha=kw.get("ucb_alpha", 0.5),
        )
    if name == "lookahead":
        return Lookahead(width=kw.get("width", 8), slowdown_tol=tol, metric=kw.get("metric", "energy"))
    raise SchedlabError(f"unknown policy {name!r}; choose from {', '.join(POLICIES)}")


__all__ = [
    "POLICIES",
    "EcoSched",
    "Estimate",
    "Lookahead",
    "Marble",
    "Plan",
    "Running",
    "Sequential",
    "candidate_modes",
    "estimate_modes",
    "make_policy",
]
