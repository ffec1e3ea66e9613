"""How many idle nodes each elastic trainer gets at one event.

The decision BFTrainer re-solves whenever nodes join or leave.  Trainer j holds ``c_j`` of the
``N`` idle nodes and may end with ``k_j`` nodes, ``k_j = 0`` or ``min_j <= k_j <= max_j``, with
``sum k_j <= N``, one trainer per node and no migration (a trainer either keeps all its nodes and
adds free ones, or releases some and adds none).  Its value for ``k`` nodes is

    v_j(k) = w_j * (T_j * r_j(k) - cost_j(c_j -> k))

with ``r_j(k)`` its samples/s on k nodes, ``T_j`` the look-ahead (BFTrainer's Tfwd; it may also
differ per trainer and per count, see :mod:`.horizon`) and the rescale
cost ``scale_up_j`` or ``scale_down_j`` seconds times a rate (with a ``risk`` table, the expected
pre-emption stalls are taken off too: ``T r (1 - risk_j(k) scale_down_j)``, ``risk`` in pre-emptions
per second of the allocation, see :mod:`.horizon`): the *current* rate ``r_j(c_j)`` as
BFTrainer charges it, or the rate it *stalls* at after the change ``r_j(k)``, which is what
:mod:`.replay` actually loses.  A trainer keeping its count pays nothing.

Objectives: ``throughput`` maximises sum v_j; ``fairness`` first maximises the smallest progress
fraction (work done at the horizon / total work) and then the throughput among allocations that
reach it.  Solvers (they must agree; tests and ``benchmarks/bench_elastic.py`` check it):

* :func:`solve_dp`: nodes are identical, so the node-level problem is a multiple-choice knapsack
  over counts.  Exact dynamic program, O(J * N * max_nodes), compiled with numba.
* :func:`solve_milp`: the node-level MILP (one binary per trainer x node) solved with HiGHS.
* :func:`solve_bruteforce`: every count vector, for tiny instances.
* :func:`equal_share`: the baseline, no optimisation.

``compat=True`` reproduces the published MILP's big-M of N + 1 in its no-migration constraint,
which caps every trainer's change at (N + 1) / 2 nodes per event; both exact solvers honour it.
"""

from __future__ import annotations

import itertools
import os
import sys
import time
from dataclasses import dataclass, field

import numba
import numpy as np

from schedlab.errors import SchedlabError

OBJECTIVES = ("throughput", "fairness")
COST_RATES = ("current", "stall")
_EPS = 1e-9


@dataclass
class AllocationProblem:
    """One event's decision.  Arrays have one entry per trainer that may hold nodes."""

    capacity: int
    current: np.ndarray
    rates: np.ndarray
    min_nodes: np.ndarray
    max_nodes: np.ndarray
    scale_up: np.ndarray
    scale_down: np.ndarray
    horizon: np.ndarray | float = 10.0
    weight: np.ndarray | None = None
    done: np.ndarray | None = None
    work: np.ndarray | None = None
    objective: str = "throughput"
    cost_rate: str = "current"
    compat: bool = False
    risk: np.ndarray | None = None

    def __post_init__(self):
        j = len(self.current)
        self.current = np.asarray(self.current, dtype=np.int64)
        self.min_nodes = np.asarray(self.min_nodes, dtype=np.int64)
        self.max_nodes = np.asarray(self.max_nodes, dtype=np.int64)
        self.rates = np.asarray(self.rates, dtype=np.float64)
        self.scale_up = np.asarray(self.scale_up, dtype=np.float64)
        self.scale_down = np.asarray(self.scale_down, dtype=np.float64)
        h = np.asarray(self.horizon, dtype=np.float64)
        # one look-ahead for all, one per trainer, or one per (trainer, node count)
        self.horizon = h.copy() if h.ndim == 2 else np.broadcast_to(h, (j,))[:, None].copy()
        self.horizon = np.broadcast_to(self.horizon, (j, self.rates.shape[1])).copy()
        self.weight = np.ones(j) if self.weight is None else np.asarray(self.weight, dtype=np.float64)
        self.done = np.zeros(j) if self.done is None else np.asarray(self.done, dtype=np.float64)
        self.work = np.ones(j) if self.work is None else np.asarray(self.work, dtype=np.float64)
        if self.objective not in OBJECTIVES:
            raise SchedlabError(f"unknown objective {self.objective!r}; choose from {', '.join(OBJECTIVES)}")
        if self.cost_rate not in COST_RATES:
            raise SchedlabError(f"unknown cost rate {self.cost_rate!r}; choose from {', '.join(COST_RATES)}")
        if self.capacity < self.current.sum():
            raise SchedlabError(f"trainers hold {self.current.sum()} nodes but only {self.capacity} are idle")

    @property
    def n_trainers(self) -> int:
        return len(self.current)

    def allowed(self) -> np.ndarray:
        """(J, K+1) bool: may trainer j end with k nodes?"""
        k = np.arange(self.rates.shape[1])[None, :]
        ok = (k == 0) | ((k >= self.min_nodes[:, None]) & (k <= self.max_nodes[:, None]))
        ok &= k <= self.capacity
        if self.compat:
            # the published big-M caps each change at (N + 1) / 2 nodes; a trainer left below its
            # minimum by pre-emption is exempt (otherwise that model has no feasible point)
            capped = np.abs(k - self.current[:, None]) <= (self.capacity + 1) // 2
            stranded = (self.current > 0) & (self.current < self.min_nodes)
            ok &= capped | stranded[:, None]
        return ok

    def current_rate(self) -> np.ndarray:
        """Samples/s at the nodes held now (0 when fewer than the trainer's minimum)."""
        r = self.rates[np.arange(self.n_trainers), np.minimum(self.current, self.rates.shape[1] - 1)]
        return np.where(self.current >= self.min_nodes, r, 0.0)

    def rescale_costs(self) -> np.ndarray:
        """(J, K+1) samples lost by moving from the current count to k nodes."""
        k = np.arange(self.rates.shape[1])[None, :]
        c = self.current[:, None]
        base = self.current_rate()[:, None] if self.cost_rate == "current" else self.rates
        secs = np.where(k > c, self.scale_up[:, None], np.where(k < c, self.scale_down[:, None], 0.0))
        return secs * base

    def gains(self) -> np.ndarray:
        """(J, K+1) samples expected over the horizon at k nodes, net of the rescale cost."""
        useful = self.horizon * self.rates
        if self.risk is not None:  # expected pre-emption stalls over the horizon
            useful = useful * np.maximum(0.0, 1.0 - self.risk * self.scale_down[:, None])
        return useful - self.rescale_costs()

    def values(self) -> np.ndarray:
        """(J, K+1) throughput objective per choice; -inf where not allowed."""
        return np.where(self.allowed(), self.weight[:, None] * self.gains(), -np.inf)

    def progress(self) -> np.ndarray:
        """(J, K+1) fraction of total work done at the horizon; -inf where not allowed."""
        return np.where(self.allowed(), (self.done[:, None] + self.gains()) / self.work[:, None], -np.inf)


@dataclass
class Allocation:
    counts: np.ndarray
    objective: float
    solver: str
    seconds: float = 0.0
    min_progress: float = float("nan")
    extra: dict = field(default_factory=dict)


def objective_value(problem: AllocationProblem, counts) -> tuple[float, float]:
    """(throughput objective, smallest progress) of a count vector, straight from the definition.

    Written independently of the solvers' value tables so that the brute-force check is a check.
    """
    counts = np.asarray(counts, dtype=np.int64)
    total, min_prog = 0.0, np.inf
    for j, k in enumerate(counts):
        c = int(problem.current[j])
        if k != 0 and not (problem.min_nodes[j] <= k <= problem.max_nodes[j]):
            return -np.inf, -np.inf
        if problem.compat and not 0 < c < problem.min_nodes[j] and abs(k - c) > (problem.capacity + 1) // 2:
            return -np.inf, -np.inf
        rate_now = problem.rates[j, c] if c >= problem.min_nodes[j] else 0.0
        if k == c:
            cost = 0.0
        else:
            secs = problem.scale_up[j] if k > c else problem.scale_down[j]
            cost = secs * (rate_now if problem.cost_rate == "current" else problem.rates[j, k])
        useful = problem.horizon[j, k] * problem.rates[j, k]
        if problem.risk is not None:
            useful *= max(0.0, 1.0 - problem.risk[j, k] * problem.scale_down[j])
        gain = useful - cost
        total += problem.weight[j] * gain
        min_prog = min(min_prog, (problem.done[j] + gain) / problem.work[j])
    if counts.sum() > problem.capacity:
        return -np.inf, -np.inf
    return total, min_prog


# ----------------------------------------------------------------------------------- dynamic program


@numba.njit(cache=True)
def _mckp_sum(values, capacity):
    """Max sum of one value per row with sum of chosen k <= capacity; values[j, k] = -inf if barred."""
    n_items, n_k = values.shape
    best = np.zeros(capacity + 1)
    choice = np.zeros((n_items, capacity + 1), dtype=np.int32)
    for j in range(n_items):
        new = np.empty(capacity + 1)
        for cap in range(capacity + 1):
            bv = -np.inf
            bk = 0
            for k in range(min(n_k - 1, cap) + 1):
                v = values[j, k]
                if v == -np.inf:
                    continue
                t = best[cap - k] + v
                if t > bv + 1e-9 * (abs(bv) + 1.0) or bv == -np.inf:
                    bv = t
                    bk = k
            new[cap] = bv
            choice[j, cap] = bk
        best = new
    counts = np.zeros(n_items, dtype=np.int64)
    cap = capacity
    for j in range(n_items - 1, -1, -1):
        k = choice[j, cap]
        counts[j] = k
        cap -= k
    return best[capacity], counts


@numba.njit(cache=True)
def _mckp_maxmin(values, capacity):
    """Max over choices of the smallest chosen value (same constraints as :func:`_mckp_sum`)."""
    n_items, n_k = values.shape
    best = np.full(capacity + 1, np.inf)
    for j in range(n_items):
        new = np.full(capacity + 1, -np.inf)
        for cap in range(capacity + 1):
            for k in range(min(n_k - 1, cap) + 1):
                v = values[j, k]
                if v == -np.inf:
                    continue
                t = min(best[cap - k], v)
                if t > new[cap]:
                    new[cap] = t
        best = new
    return best[capacity]


def _useful_capacity(problem: AllocationProblem, allowed: np.ndarray) -> int:
    """No trainer can use more than its largest allowed count, so cap the knapsack there."""
    k = np.arange(allowed.shape[1])
    top = np.where(allowed, k[None, :], 0).max(axis=1)
    return int(min(problem.capacity, top.sum()))


def solve_dp(problem: AllocationProblem) -> Allocation:
    t0 = time.perf_counter()
    if problem.n_trainers == 0:
        return Allocation(np.zeros(0, np.int64), 0.0, "dp", time.perf_counter() - t0)
    allowed = problem.allowed()
    cap = _useful_capacity(problem, allowed)
    values = problem.values()
    min_prog = np.nan
    if problem.objective == "fairness":
        prog = problem.progress()
        min_prog = float(_mckp_maxmin(np.ascontiguousarray(prog), cap))
        values = np.where(prog >= min_prog - 1e-9 * max(1.0, abs(min_prog)), values, -np.inf)
    obj, counts = _mckp_sum(np.ascontiguousarray(values), cap)
    if problem.objective != "fairness":
        min_prog = float(problem.progress()[np.arange(problem.n_trainers), counts].min())
    return Allocation(counts, float(obj), "dp", time.perf_counter() - t0, min_progress=min_prog)


# ----------------------------------------------------------------------------------- node-level MILP


def _node_milp(problem: AllocationProblem, values: np.ndarray, fair: np.ndarray | None, time_limit: float):
    """Build and solve the per-node MILP with HiGHS.  Returns (status, objective, counts, node map).

    Columns: x[j, i] (trainer j on idle node i), z[j, k] (trainer j ends with k nodes, one per
    allowed k), g[j] (1 = j grows or stays, 0 = j shrinks), and t (the smallest progress) when
    ``fair`` is given.  Node i < sum(c) belongs to its current holder in order, the rest are free.
    """
    import highspy
    from scipy.sparse import coo_matrix

    n_j, n_n = problem.n_trainers, problem.capacity
    holder = np.full(n_n, -1, dtype=np.int64)
    holder[: problem.current.sum()] = np.repeat(np.arange(n_j), problem.current)
    allowed = np.isfinite(values)
    zj, zk = np.nonzero(allowed)
    n_x, n_z = n_j * n_n, len(zj)
    x0, z0, g0 = 0, n_x, n_x + n_z
    t_col = g0 + n_j
    n_cols = t_col + (1 if fair is not None else 0)
    rows, cols, vals, lo, hi = [], [], [], [], []
    r = 0

    def add(cidx, coef, lower, upper):
        nonlocal r
        rows.append(np.full(len(cidx), r)), cols.append(np.asarray(cidx)), vals.append(np.asarray(coef, float))
        lo.append(lower), hi.append(upper)
        r += 1

    xi = lambda j, i: x0 + j * n_n + i
    for i in range(n_n):  # one trainer per node
        add([xi(j, i) for j in range(n_j)], np.ones(n_j), -np.inf, 1.0)
    for j in range(n_j):
        mine = np.flatnonzero(zj == j)
        add(z0 + mine, np.ones(len(mine)), 1.0, 1.0)  # one count per trainer
        add(
            np.r_[[xi(j, i) for i in range(n_n)], z0 + mine],  # nodes == chosen count
            np.r_[np.ones(n_n), -zk[mine].astype(float)],
            0.0,
            0.0,
        )
        held = holder == j
        if problem.compat and not 0 < problem.current[j] < problem.min_nodes[j]:
            # BFTrainer's big-M = N + 1:  2*sum_held x + M d >= 2c ;  2*sum_free x + M d <= M
            big_m = n_n + 1
            hx = [xi(j, i) for i in np.flatnonzero(held)]
            fx = [xi(j, i) for i in np.flatnonzero(~held)]
            add([*hx, g0 + j], np.r_[2.0 * np.ones(len(hx)), big_m], 2.0 * problem.current[j], np.inf)
            add([*fx, g0 + j], np.r_[2.0 * np.ones(len(fx)), big_m], -np.inf, big_m)
        else:
            # exact: g = 1 keeps every held node; g = 0 adds no free node
            for i in range(n_n):
                if held[i]:
                    add([xi(j, i), g0 + j], [1.0, -1.0], 0.0, np.inf)
                else:
                    add([xi(j, i), g0 + j], [1.0, -1.0], -np.inf, 0.0)
        if fair is not None:
            add(np.r_[t_col, z0 + mine], np.r_[1.0, -fair[j, zk[mine]]], -np.inf, 0.0)
    mat = coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(r, n_cols)).tocsc()
    cost = np.zeros(n_cols)
    if fair is not None:
        cost[t_col] = 1.0
    else:
        cost[z0 : z0 + n_z] = values[zj, zk]
    upper = np.ones(n_cols)
    lower = np.zeros(n_cols)
    integrality = [highspy.HighsVarType.kInteger] * n_cols
    if fair is not None:
        lower[t_col], upper[t_col] = -1e9, 1e9
        integrality[t_col] = highspy.HighsVarType.kContinuous
    status, objective, x = _solve_highs(cost, lower, upper, integrality, mat, lo, hi, time_limit)
    node_map = np.round(x[:n_x]).reshape(n_j, n_n).astype(np.int8) if len(x) else np.zeros((n_j, n_n), np.int8)
    return status, objective, node_map.sum(axis=1).astype(np.int64), node_map, holder


def _solve_highs(cost, lower, upper, integrality, mat, lo, hi, time_limit):
    """Maximise ``cost @ x`` subject to ``lo <= mat @ x <= hi`` and the bounds with HiGHS (one
    thread, tight MIP gaps); returns (status, objective, x)."""
    import highspy

    n_cols, r = len(cost), mat.shape[0]
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n_cols, r
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = cost, lower, upper
    lp.row_lower_, lp.row_upper_ = np.array(lo, float), np.array(hi, float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = mat.indptr, mat.indices, mat.data
    lp.integrality_ = integrality
    h = _new_highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("mip_rel_gap", 1e-9)
    h.setOptionValue("mip_abs_gap", 1e-7)
    if time_limit:
        h.setOptionValue("time_limit", float(time_limit))
    h.passModel(lp)
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    return status, float(h.getInfo().objective_function_value), np.asarray(h.getSolution().col_value)


_BANNER_DONE = False


def _new_highs():
    """A silent HiGHS instance.  HiGHS prints its banner on stdout when the first instance is made,
    before any option can be set; that would corrupt ``--json`` output, so it goes to /dev/null."""
    global _BANNER_DONE
    import highspy

    if _BANNER_DONE:
        return highspy.Highs()
    sys.stdout.flush()
    saved, devnull = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
    _BANNER_DONE = True
    return h


def solve_milp(problem: AllocationProblem, time_limit: float = 60.0) -> Allocation:
    """The node-level MILP with HiGHS.  ``extra`` holds the node map and the holder of each node."""
    t0 = time.perf_counter()
    if problem.n_trainers == 0 or problem.capacity == 0:
        return Allocation(np.zeros(problem.n_trainers, np.int64), 0.0, "milp", time.perf_counter() - t0)
    values = problem.values()
    extra = {}
    min_prog = np.nan
    if problem.objective == "fairness":
        prog = problem.progress()
        status, t_star, _, _, _ = _node_milp(problem, values, prog, time_limit)
        # The max-min value is one of the progress values; snap HiGHS's t (feasible to ~1e-7) onto it.
        finite = prog[np.isfinite(prog)]
        min_prog = float(finite[finite <= t_star + 1e-6 * max(1.0, abs(t_star))].max())
        values = np.where(prog >= min_prog - 1e-12 * max(1.0, abs(min_prog)), values, -np.inf)
        extra["fairness_status"] = status
    status, obj, counts, node_map, holder = _node_milp(problem, values, None, time_limit)
    extra.update(status=status, node_map=node_map, holder=holder)
    if status != "Optimal":
        raise RuntimeError(f"HiGHS did not prove optimality: {status}")
    return Allocation(counts, obj, "milp", time.perf_counter() - t0, min_progress=float(min_prog), extra=extra)


# ------------------------------------------------------------------------------------ checks / baseline


def solve_bruteforce(problem: AllocationProblem) -> Allocation:
    """Enumerate every count vector (tiny instances only); the reference the other solvers match."""
    t0 = time.perf_counter()
    choices = [
        [0, *list(range(int(problem.min_nodes[j]), int(problem.max_nodes[j]) + 1))] for j in range(problem.n_trainers)
    ]
    if np.prod([len(c) for c in choices], dtype=float) > 2e6:
        raise SchedlabError("instance too large for brute force")
    best, best_counts, best_key = -np.inf, None, None
    for counts in itertools.product(*choices):
        total, min_prog = objective_value(problem, counts)
        if total == -np.inf:
            continue
        key = (min_prog, total) if problem.objective == "fairness" else (total,)
        if best_key is None or _lex_greater(key, best_key):
            best_key, best, best_counts = key, total, counts
    min_prog = best_key[0] if problem.objective == "fairness" else objective_value(problem, best_counts)[1]
    return Allocation(
        np.array(best_counts, np.int64),
        float(best),
        "bruteforce",
        time.perf_counter() - t0,
        min_progress=float(min_prog),
    )


def _lex_greater(a, b) -> bool:
    for x, y in zip(a, b, strict=False):
        if x > y + 1e-9 * max(1.0, abs(y)):
            return True
        if x < y - 1e-9 * max(1.0, abs(y)):
            return False
    return False


def equal_share(problem: AllocationProblem) -> Allocation:
    """Baseline: split the idle nodes evenly, within each trainer's bounds (no look-ahead, no costs).

    Trainers whose minimum exceeds the even share are dropped, largest minimum first, until the
    share fits; nodes left by trainers capped at their maximum go to the others.
    """
    t0 = time.perf_counter()
    n_j = problem.n_trainers
    counts = np.zeros(n_j, dtype=np.int64)
    members = list(np.argsort(-problem.min_nodes, kind="stable"))
    while members:
        share = problem.capacity // len(members)
        if share >= problem.min_nodes[members[0]]:
            break
        members.pop(0)
    if members:
        members = np.array(sorted(members))
        left = problem.capacity
        open_ = list(members)
        while open_ and left > 0:
            share = max(1, left // len(open_))
            for j in list(open_):
                give = min(share, problem.max_nodes[j] - counts[j], left)
                counts[j] += give
                left -= give
                if counts[j] >= problem.max_nodes[j]:
                    open_.remove(j)
                if left == 0:
                    break
    total, min_prog = objective_value(problem, counts)
    return Allocation(counts, total, "equal", time.perf_counter() - t0, min_progress=min_prog)


SOLVERS = {"dp": solve_dp, "milp": solve_milp, "equal": equal_share}
