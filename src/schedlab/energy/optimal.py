"""The offline energy optimum of a queue on one node, with OR-Tools CP-SAT.

Every job picks one mode (GPU count) and a start time; at any moment the running jobs use at most
``n_gpus`` GPUs and at most ``max_tenants`` slots.  With at most two tenants any such schedule can
be placed on real GPU ids (a starting job only ever shares the node with one other job, so the free
GPUs are exactly the ones it needs), so GPU ids are assigned afterwards by the same local-first
placement the online policies use.

Objective (node energy over [0, makespan], as :mod:`schedlab.energy.node` counts it):

    sum over jobs of (active power - idle power x GPUs) x runtime  +  idle power x n_gpus x makespan

Time is an integer in ``time_unit_s`` steps (default 0.01 s) and energy in ``energy_unit_j`` steps,
so the objective is exact up to those roundings.  Jobs of the same app are interchangeable, so their
starts are ordered (symmetry breaking).  The solver is warm-started from a heuristic schedule and
reports its proven lower bound: the relative gap says how far from optimal the answer can be.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

from schedlab.energy.node import CoSchedule, GPUNode, simulate
from schedlab.energy.profiles import AppTable, base_app
from schedlab.errors import SchedlabError


@dataclass
class OptimalResult:
    schedule: CoSchedule  # the plan executed on the node (list scheduling in planned order)
    plan_energy_j: float  # the solver's objective, in J
    bound_j: float  # proven lower bound on the energy of any schedule of this queue
    status: str  # OPTIMAL or FEASIBLE
    wall_s: float

    @property
    def gap(self) -> float:
        return max(0.0, self.plan_energy_j - self.bound_j) / self.plan_energy_j if self.plan_energy_j else 0.0


def allowed_modes(table: AppTable, app: str, slowdown_tol: float | None):
    """Modes within ``slowdown_tol`` of the app's fastest profiled runtime (all when None)."""
    modes = table.of(app)
    if slowdown_tol is None:
        return [modes[g] for g in sorted(modes)]
    best = min(m.runtime_s for m in modes.values())
    return [modes[g] for g in sorted(modes) if modes[g].runtime_s <= (1 + slowdown_tol) * best + 1e-9]


def solve_optimal(
    queue: list[str],
    table: AppTable,
    node: GPUNode | None = None,
    slowdown_tol: float | None = 0.2,
    time_limit_s: float = 60.0,
    workers: int = 2,
    seed: int = 0,
    hint: CoSchedule | None = None,
    time_unit_s: float = 0.01,
    energy_unit_j: float = 0.01,
) -> OptimalResult:
    """Minimum-energy schedule of ``queue`` (modes limited to ``slowdown_tol`` of each app's fastest)."""
    from ortools.sat.python import cp_model

    from schedlab.energy.ecosched import Plan

    node = node or GPUNode.for_table(table)
    if time_limit_s <= 0:
        raise SchedlabError(f"time limit must be > 0 s (got {time_limit_s})")
    m = cp_model.CpModel()
    modes = {j: allowed_modes(table, base_app(j), slowdown_tol) for j in queue}
    dur = {j: [max(1, round(md.runtime_s / time_unit_s)) for md in modes[j]] for j in queue}
    horizon = sum(max(d) for d in dur.values())
    idle = node.idle_w_per_gpu
    start, end, pick = {}, {}, {}
    gpu_iv, gpu_dem, slot_iv = [], [], []
    objective = []
    for j in queue:
        start[j] = m.new_int_var(0, horizon, f"s[{j}]")
        end[j] = m.new_int_var(0, horizon, f"e[{j}]")
        xs = []
        for k, md in enumerate(modes[j]):
            x = m.new_bool_var(f"x[{j},{md.gpu_count}]")
            iv = m.new_optional_fixed_size_interval_var(start[j], dur[j][k], x, f"iv[{j},{md.gpu_count}]")
            gpu_iv.append(iv)
            gpu_dem.append(md.gpu_count)
            slot_iv.append(iv)
            xs.append(x)
            pick[j, md.gpu_count] = x
            net = (md.power_w - idle * md.gpu_count) * dur[j][k] * time_unit_s
            objective.append(round(net / energy_unit_j) * x)
        m.add_exactly_one(xs)
        m.add(end[j] == start[j] + sum(d * x for d, x in zip(dur[j], xs, strict=False)))
    m.add_cumulative(gpu_iv, gpu_dem, node.n_gpus)
    m.add_cumulative(slot_iv, [1] * len(slot_iv), node.max_tenants)
    makespan = m.new_int_var(0, horizon, "makespan")
    m.add_max_equality(makespan, [end[j] for j in queue])
    # redundant area bounds (GPU-seconds and tenant-seconds fit under the makespan): they do not
    # change the optimum but tighten the proven lower bound a lot
    area = sum(md.gpu_count * dur[j][k] * pick[j, md.gpu_count] for j in queue for k, md in enumerate(modes[j]))
    slots = sum(dur[j][k] * pick[j, md.gpu_count] for j in queue for k, md in enumerate(modes[j]))
    m.add(node.n_gpus * makespan >= area)
    m.add(node.max_tenants * makespan >= slots)
    objective.append(round(idle * node.n_gpus * time_unit_s / energy_unit_j) * makespan)
    m.minimize(sum(objective))
    by_app: dict[str, list[str]] = {}
    for j in queue:
        by_app.setdefault(base_app(j), []).append(j)
    for same in by_app.values():
        for a, b in itertools.pairwise(same):
            m.add(start[a] <= start[b])
    if hint is not None:
        _add_hint(m, hint, start, pick, by_app, modes, time_unit_s)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(time_limit_s)
    solver.parameters.num_workers = int(workers)
    solver.parameters.random_seed = int(seed)
    t0 = time.perf_counter()
    status = solver.solve(m)
    wall = time.perf_counter() - t0
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise SchedlabError(f"CP-SAT found no schedule in {time_limit_s} s (status {solver.status_name(status)})")
    order = sorted(
        (solver.value(start[j]), j, md.gpu_count)
        for j in queue
        for md in modes[j]
        if solver.value(pick[j, md.gpu_count])
    )
    plan = Plan([(j, g) for _, j, g in order], name="optimal")
    sched = simulate(queue, table, plan, node)
    # the constant idle term was folded into the objective: plan energy = objective in J
    plan_e = solver.objective_value * energy_unit_j
    bound = solver.best_objective_bound * energy_unit_j
    sched.meta.update(
        {"solver_status": solver.status_name(status), "plan_energy_j": plan_e, "bound_j": bound, "solver_wall_s": wall}
    )
    return OptimalResult(sched, plan_e, bound, solver.status_name(status), wall)


def _add_hint(m, hint: CoSchedule, start, pick, by_app, modes, time_unit_s) -> None:
    """Warm start from a heuristic schedule (labels of the same app are matched in start order)."""
    rows = hint.jobs.sort_values(["start_s", "job"])
    taken: dict[str, int] = {}
    for r in rows.itertuples(index=False):
        app = base_app(r.job)
        k = taken.get(app, 0)
        taken[app] = k + 1
        j = by_app[app][k]
        if (j, int(r.gpu_count)) not in pick:
            return  # the hint uses a mode outside the allowed set: no hint
        m.add_hint(start[j], round(r.start_s / time_unit_s))
        for md in modes[j]:
            m.add_hint(pick[j, md.gpu_count], int(md.gpu_count == r.gpu_count))
