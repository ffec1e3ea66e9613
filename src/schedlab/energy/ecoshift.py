"""EcoShift: share a cluster-wide power cap among nodes for maximum average performance.

EcoShift (Zheng, Papka, Lan; arXiv 2604.17635) starts from a fair share of the cap, reclaims the
power that applications do not need, and redistributes the pool with a dynamic program.  Here
each of ``N`` nodes runs one application and is given one (CPU cap, GPU cap) pair from the
measured grid; its performance there is *predicted* (by OPEN, :mod:`.open`) when deciding and
*measured* when scoring.  The objective is the mean performance (``perf_norm``, 1 = the app's
best pair) subject to ``sum(cpu cap + gpu cap) <= cluster cap``.

Policies (:data:`POLICIES`, all take a :class:`PowerProblem` and return a :class:`PowerAllocation`):

* ``fair``: the baseline.  Every node capped at the same fraction ``f = cap / peak`` of each
  component's maximum, ``peak = N x (max CPU cap + max GPU cap)``: CPU cap ``f x 200 W``, GPU cap
  ``f x 250 W``, each rounded *down* to the 10 W grid and clipped to the grid's range;
* ``fair-best``: every node gets ``cap / N`` watts (rounded down to 10 W) and picks its best
  predicted pair within it (a stronger baseline: the same watts, split well);
* ``proportional``: above the cheapest pair, power shared in proportion to each app's predicted
  *sensitivity* (predicted perf at its best pair minus at its cheapest), then the best pair within;
* ``greedy``: from every node at its cheapest pair, repeatedly apply the single upgrade (any
  dearer pair of one node) with the best predicted gain per watt that still fits;
* ``ecoshift``: fair share, then **reclaim**: each node drops to the cheapest pair whose predicted
  perf is still >= its predicted fair-share perf (it does not need more); pool = cap - sum of the
  reclaimed allocations; then the exact **DP** (a multiple-choice knapsack in 10 W units) spends
  the pool for the maximum total predicted perf, each node choosing only among pairs predicted no
  worse than its fair share, so no app is predicted to lose against fair share;
* ``global-dp``: the same DP with no per-node floor (the best predicted allocation of the cap);
* :func:`exhaustive`: every combination, for tiny instances (tests prove the DP optimal with it).

No policy ever exceeds the cap (checked on every allocation, property-tested).
"""

from __future__ import annotations

import heapq
import itertools
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from schedlab.errors import EcoShiftError, InfeasibleCap

UNIT_W = 10
POLICIES = ("fair", "fair-best", "proportional", "greedy", "ecoshift", "global-dp")
FRACTIONS = (0.70, 0.75, 0.80, 0.85, 0.90)
_TOL = 1e-12

__all__ = [
    "FRACTIONS",
    "POLICIES",
    "UNIT_W",
    "EcoShiftError",
    "InfeasibleCap",
    "PowerAllocation",
    "PowerProblem",
    "allocate",
    "ecoshift",
    "evaluate_cluster",
    "evaluate_fractions",
    "evaluate_mixes",
    "exhaustive",
    "fair_best",
    "fair_pairs",
    "fair_share",
    "global_dp",
    "greedy",
    "proportional",
    "reclaim",
    "solve_mck",
]


# --------------------------------------------------------------------------------------- problem


@dataclass
class PowerProblem:
    """One cluster decision.

    pairs    (P, 2) the (CPU cap, GPU cap) grid in watts, multiples of ``unit_w``
    pred     (N, P) predicted performance of node n's app at pair p; NaN = the pair is not
             available on that node
    cap_w    the cluster cap in watts (the sum of CPU and GPU caps it may reach), spent in whole
             ``unit_w`` steps; a cap within 1e-9 of a step of the next one counts as it (float
             rounding: 1889.9999999999998 W is 1890 W)
    """

    pairs: np.ndarray
    pred: np.ndarray
    cap_w: float
    apps: list | None = None
    unit_w: int = UNIT_W

    def __post_init__(self):
        self.pairs = np.asarray(self.pairs, dtype=np.int64)
        self.pred = np.atleast_2d(np.asarray(self.pred, dtype=np.float64))
        if self.pairs.ndim != 2 or self.pairs.shape[1] != 2 or len(self.pairs) == 0:
            raise EcoShiftError(f"pairs must be a (P, 2) array of (cpu_w, gpu_w), got shape {self.pairs.shape}")
        if self.pred.shape[1] != len(self.pairs) or self.pred.shape[0] == 0:
            raise EcoShiftError(f"pred must be (nodes, {len(self.pairs)}), got {self.pred.shape}")
        if (self.pairs % self.unit_w).any() or (self.pairs <= 0).any():
            raise EcoShiftError(f"every cap must be a positive multiple of {self.unit_w} W")
        if np.isinf(self.pred).any():
            raise EcoShiftError("predicted performance must be finite (NaN marks an unavailable pair)")
        ok = self.allowed
        if not ok.any(axis=1).all():
            raise EcoShiftError(f"node {int(np.flatnonzero(~ok.any(axis=1))[0])} has no available pair")
        if not np.isfinite(self.cap_w):
            raise EcoShiftError(f"cap must be a finite number of watts (got {self.cap_w})")
        if self.apps is not None and len(self.apps) != self.n_nodes:
            raise EcoShiftError(f"{len(self.apps)} app names for {self.n_nodes} nodes")
        need = self.min_total_w
        if self.cap_w < need:
            raise InfeasibleCap(
                f"cap {self.cap_w:,.0f} W is below {need:,.0f} W, what {self.n_nodes} nodes draw at "
                f"their cheapest pairs ({need / self.n_nodes:,.0f} W per node)"
            )

    @property
    def n_nodes(self) -> int:
        return self.pred.shape[0]

    @property
    def allowed(self) -> np.ndarray:
        return ~np.isnan(self.pred)

    @property
    def cost_w(self) -> np.ndarray:
        return self.pairs.sum(axis=1)

    @property
    def cost_units(self) -> np.ndarray:
        return self.cost_w // self.unit_w

    @property
    def cap_units(self) -> int:
        return int(np.floor(self.cap_w / self.unit_w + 1e-9))

    @property
    def peak_w(self) -> float:
        return float(self.n_nodes * (self.pairs[:, 0].max() + self.pairs[:, 1].max()))

    @property
    def min_total_w(self) -> float:
        return float(np.where(self.allowed, self.cost_w[None, :], np.inf).min(axis=1).sum())

    def values(self, mask=None) -> np.ndarray:
        """(N, P) predicted perf, -inf where not available (or not in ``mask``)."""
        ok = self.allowed if mask is None else self.allowed & mask
        return np.where(ok, self.pred, -np.inf)


@dataclass
class PowerAllocation:
    """One pair per node.  ``predicted_mean`` is by the problem's predictions; score it on
    measured performance with :meth:`mean_of`."""

    policy: str
    pair_index: np.ndarray
    cpu_w: np.ndarray
    gpu_w: np.ndarray
    total_w: float
    cap_w: float
    predicted_mean: float
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    def mean_of(self, perf: np.ndarray) -> float:
        perf = np.atleast_2d(perf)
        return float(perf[np.arange(len(self.pair_index)), self.pair_index].mean())

    def to_frame(self, apps=None, measured=None) -> pd.DataFrame:
        n = len(self.pair_index)
        df = pd.DataFrame(
            {
                "node": np.arange(n),
                "app": list(apps) if apps is not None else [""] * n,
                "cpu_cap_w": self.cpu_w,
                "gpu_cap_w": self.gpu_w,
                "power_w": self.cpu_w + self.gpu_w,
            }
        )
        if "pred" in self.extra:
            df["predicted_perf"] = self.extra["pred"]
        if measured is not None:
            df["measured_perf"] = np.atleast_2d(measured)[np.arange(n), self.pair_index]
        return df


def _result(problem: PowerProblem, policy: str, idx, t0: float, **extra) -> PowerAllocation:
    idx = np.asarray(idx, dtype=np.int64)
    if not problem.allowed[np.arange(problem.n_nodes), idx].all():
        raise AssertionError(f"{policy} chose an unavailable pair")
    cpu, gpu = problem.pairs[idx, 0], problem.pairs[idx, 1]
    total = float((cpu + gpu).sum())
    if total > problem.cap_w + 1e-9:  # the one guarantee every policy gives; never silently broken
        raise AssertionError(f"{policy} exceeded the cap: {total} W > {problem.cap_w} W")
    pred = problem.pred[np.arange(problem.n_nodes), idx]
    return PowerAllocation(
        policy,
        idx,
        cpu,
        gpu,
        total,
        float(problem.cap_w),
        float(pred.mean()),
        time.perf_counter() - t0,
        {"pred": pred, **extra},
    )


# ------------------------------------------------------------------------------------------ DP


def _options(cost: np.ndarray, vals: np.ndarray):
    """Pareto options of one node: base cost, increments, values, pair indices (cost-ascending).

    Only pairs that are strictly better than every cheaper one can be in an optimum, and there
    are only as many distinct costs as CPU + GPU sums (19 on the A100 grid), so this is short.
    """
    ok = np.isfinite(vals)
    idx = np.flatnonzero(ok)
    order = np.lexsort((-vals[idx], cost[idx]))  # cost up, value down
    idx = idx[order]
    keep, best = [], -np.inf
    for j in idx:
        if vals[j] > best + _TOL:
            keep.append(j)
            best = vals[j]
    keep = np.asarray(keep, dtype=np.int64)
    base = int(cost[keep[0]])
    return base, cost[keep] - base, vals[keep], keep


def solve_mck(cost_units, values, budget_units: int):
    """Exact multiple-choice knapsack: each node picks one option, ``sum cost <= budget``, max
    ``sum value``.  ``cost_units`` (P,) or (N, P) non-negative ints; ``values`` (N, P), -inf = not
    allowed.  Returns ``(choice (N,), total value)``; ties go to the cheaper choice.

    Dynamic program over the budget, one node at a time, vectorised with numpy over the budget:
    ``F_n[b] = max_k F_{n-1}[b - c_k] + v_k`` in increments above each node's cheapest option, on a
    budget axis no longer than the sum of the increments so far.  O(N x K x B) with K <= the number
    of distinct costs; the choice table is int8/int16 (N x B).
    """
    values = np.atleast_2d(np.asarray(values, dtype=np.float64))
    n, p = values.shape
    cost = np.broadcast_to(np.asarray(cost_units, dtype=np.int64), (n, p))
    opts = [_options(cost[i], values[i]) for i in range(n)]
    base = sum(o[0] for o in opts)
    room = int(budget_units) - base
    if room < 0:
        raise InfeasibleCap(f"budget {budget_units} units is below the {base} units of the cheapest choices")
    F = np.zeros(1)
    lengths, choices = [], []
    for _, inc, val, _ in opts:
        L_prev = len(F) - 1
        L = min(room, L_prev + int(inc[-1]))
        Fp = F if L_prev == L else np.concatenate([F, np.full(L - L_prev, F[-1])])
        new = np.full(L + 1, -np.inf)
        ch = np.zeros(L + 1, dtype=np.int8 if len(inc) < 127 else np.int16)
        cand, better = np.empty(L + 1), np.empty(L + 1, dtype=bool)
        for k in range(len(inc)):
            c = int(inc[k])
            if c > L:
                break
            np.add(Fp[: L + 1 - c], val[k], out=cand[: L + 1 - c])
            np.greater(cand[: L + 1 - c], new[c:], out=better[: L + 1 - c])
            np.copyto(new[c:], cand[: L + 1 - c], where=better[: L + 1 - c])
            np.copyto(ch[c:], k, where=better[: L + 1 - c])
        F = new
        lengths.append(L)
        choices.append(ch)
    best = F.max()
    b = int(np.flatnonzero(best - 1e-12 * max(1.0, abs(best)) <= F)[0])
    pick = np.empty(n, dtype=np.int64)
    for i in range(n - 1, -1, -1):
        k = int(choices[i][b])
        pick[i] = opts[i][3][k]
        b = b - int(opts[i][1][k])
        b = min(b, lengths[i - 1]) if i > 0 else b
    return pick, float(values[np.arange(n), pick].sum())


# ---------------------------------------------------------------------------------- baselines


def fair_pairs(problem: PowerProblem) -> np.ndarray:
    """(N,) the uniform fair-share pair of each node (see the module docstring).

    Where that exact pair is not available on a node, the node takes its best predicted pair
    capped by it (CPU and GPU each no higher), else its cheapest pair.
    """
    u = problem.unit_w
    f = problem.cap_w / problem.peak_w
    cpus, gpus = problem.pairs[:, 0], problem.pairs[:, 1]
    fc = int(np.clip(np.floor(f * cpus.max() / u + 1e-9) * u, cpus.min(), cpus.max()))
    fg = int(np.clip(np.floor(f * gpus.max() / u + 1e-9) * u, gpus.min(), gpus.max()))
    under = (cpus <= fc) & (gpus <= fg)
    exact = under & (cpus == fc) & (gpus == fg)
    vals = problem.values()
    out = np.empty(problem.n_nodes, dtype=np.int64)
    for i in range(problem.n_nodes):
        ok = problem.allowed[i]
        if (exact & ok).any():
            out[i] = np.flatnonzero(exact & ok)[0]
        elif (under & ok).any():
            out[i] = np.argmax(np.where(under, vals[i], -np.inf))
        else:
            out[i] = np.argmin(np.where(ok, problem.cost_w, np.iinfo(np.int64).max))
    if problem.cost_w[out].sum() > problem.cap_w:
        raise InfeasibleCap(
            f"fair share ({fc} W CPU, {fg} W GPU per node) does not fit {problem.cap_w:,.0f} W "
            "on this grid; some nodes lack a pair that cheap"
        )
    return out


def fair_share(problem: PowerProblem) -> PowerAllocation:
    t0 = time.perf_counter()
    return _result(problem, "fair", fair_pairs(problem), t0)


def _best_within(problem: PowerProblem, budget_w: np.ndarray) -> np.ndarray:
    """Each node's best predicted pair costing at most its own budget (its cheapest if none)."""
    vals = problem.values()
    fits = problem.cost_w[None, :] <= np.asarray(budget_w, float)[:, None]
    v = np.where(fits, vals, -np.inf)
    # ties: the cheaper pair (stable on cost order)
    order = np.argsort(problem.cost_w, kind="stable")
    pick = order[np.argmax(v[:, order], axis=1)]
    none = ~np.isfinite(v).any(axis=1)
    if none.any():
        cheap = np.argmin(np.where(problem.allowed, problem.cost_w[None, :], np.iinfo(np.int64).max), axis=1)
        pick[none] = cheap[none]
    return pick


def fair_best(problem: PowerProblem) -> PowerAllocation:
    t0 = time.perf_counter()
    share = np.floor(problem.cap_w / problem.n_nodes / problem.unit_w + 1e-9) * problem.unit_w
    idx = _best_within(problem, np.full(problem.n_nodes, share))
    if problem.cost_w[idx].sum() > problem.cap_w:
        raise InfeasibleCap(f"a node's cheapest pair is above the fair share of {share:.0f} W")
    return _result(problem, "fair-best", idx, t0)


def _cheapest(problem: PowerProblem, mask=None) -> np.ndarray:
    """Each node's cheapest allowed pair, the best predicted among equally cheap ones."""
    vals = problem.values(mask)
    big = np.iinfo(np.int64).max
    c = np.where(np.isfinite(vals), problem.cost_w[None, :], big)
    cmin = c.min(axis=1, keepdims=True)
    return np.argmax(np.where(c == cmin, vals, -np.inf), axis=1)


def proportional(problem: PowerProblem) -> PowerAllocation:
    """Power above the cheapest pairs in proportion to predicted sensitivity (best - cheapest)."""
    t0 = time.perf_counter()
    vals = problem.values()
    lo = _cheapest(problem)
    n = np.arange(problem.n_nodes)
    sens = np.maximum(vals.max(axis=1) - vals[n, lo], 0.0)
    extra = problem.cap_w - problem.cost_w[lo].sum()
    share = sens / sens.sum() if sens.sum() > 0 else np.full(problem.n_nodes, 1.0 / problem.n_nodes)
    budget = problem.cost_w[lo] + np.floor(extra * share / problem.unit_w + 1e-9) * problem.unit_w
    return _result(problem, "proportional", _best_within(problem, budget), t0, sensitivity=sens)


def greedy(problem: PowerProblem) -> PowerAllocation:
    """Greedy marginal gain: the upgrade with the best predicted gain per watt, until none fits.

    Every node starts at its cheapest pair.  An upgrade moves one node to any dearer pair with a
    higher prediction (not only +10 W, so a flat stretch of the surface does not stop it).  The
    budget only shrinks, so cached ratios are upper bounds and a lazy heap is exact.
    """
    t0 = time.perf_counter()
    vals = problem.values()
    cost = problem.cost_w
    cur = _cheapest(problem)
    left = problem.cap_w - cost[cur].sum()
    version = np.zeros(problem.n_nodes, dtype=np.int64)

    def best_upgrade(i):
        dc = cost - cost[cur[i]]
        dv = vals[i] - vals[i, cur[i]]
        ok = (dc > 0) & (dv > _TOL) & (dc <= left + 1e-9)
        if not ok.any():
            return None
        ratio = np.where(ok, dv / np.where(dc > 0, dc, 1), -np.inf)
        j = int(np.argmax(ratio))
        return -ratio[j], i, int(version[i]), j

    heap = [h for h in (best_upgrade(i) for i in range(problem.n_nodes)) if h is not None]
    heapq.heapify(heap)
    steps = 0
    while heap:
        _, i, ver, j = heapq.heappop(heap)
        if ver != version[i] or cost[j] - cost[cur[i]] > left + 1e-9:
            h = best_upgrade(i)  # stale: recompute with the current pair and budget
            if h is not None and ver == version[i]:
                heapq.heappush(heap, h)
            continue
        left -= cost[j] - cost[cur[i]]
        cur[i] = j
        version[i] += 1
        steps += 1
        h = best_upgrade(i)
        if h is not None:
            heapq.heappush(heap, h)
    return _result(problem, "greedy", cur, t0, steps=steps)


# ------------------------------------------------------------------------------------- EcoShift


def reclaim(problem: PowerProblem, fair=None):
    """The reclaim step: ``(reclaimed pair per node, floor mask, pool in W)``.

    A node's floor is its predicted perf at its fair-share pair; it keeps only the pairs
    predicted at least that good, and drops to the cheapest of them (it does not need more).
    """
    fair = fair_pairs(problem) if fair is None else np.asarray(fair)
    n = np.arange(problem.n_nodes)
    floor = problem.pred[n, fair]
    mask = problem.allowed & (problem.pred >= floor[:, None] - _TOL)
    rec = _cheapest(problem, mask)
    pool = problem.cap_w - float(problem.cost_w[rec].sum())
    return rec, mask, pool


def ecoshift(problem: PowerProblem) -> PowerAllocation:
    t0 = time.perf_counter()
    fair = fair_pairs(problem)
    rec, mask, pool = reclaim(problem, fair)
    pick, _ = solve_mck(problem.cost_units, problem.values(mask), problem.cap_units)
    return _result(
        problem,
        "ecoshift",
        pick,
        t0,
        fair=fair,
        reclaimed=rec,
        pool_w=pool,
        reclaimed_w=float(problem.cost_w[fair].sum() - problem.cost_w[rec].sum()),
    )


def global_dp(problem: PowerProblem) -> PowerAllocation:
    t0 = time.perf_counter()
    pick, _ = solve_mck(problem.cost_units, problem.values(), problem.cap_units)
    return _result(problem, "global-dp", pick, t0)


def exhaustive(problem: PowerProblem, floor: bool = False, max_combinations: int = 2_000_000) -> PowerAllocation:
    """Every combination of pairs (tiny instances only): the optimum by definition.

    ``floor=True`` solves EcoShift's problem (only pairs predicted no worse than fair share).
    """
    t0 = time.perf_counter()
    vals = problem.values(reclaim(problem)[1] if floor else None)
    opts = [np.flatnonzero(np.isfinite(v)) for v in vals]
    total = int(np.prod([len(o) for o in opts], dtype=np.float64))
    if total > max_combinations:
        raise EcoShiftError(f"{total:,} combinations; exhaustive search is for tiny instances only")
    best, best_cost, best_combo = -np.inf, np.inf, None
    for combo in itertools.product(*opts):
        c = float(problem.cost_w[list(combo)].sum())
        if c > problem.cap_w + 1e-9:
            continue
        v = float(sum(vals[i, j] for i, j in enumerate(combo)))
        if v > best + 1e-12 or (abs(v - best) <= 1e-12 and c < best_cost):
            best, best_cost, best_combo = v, c, combo
    return _result(problem, "exhaustive-floor" if floor else "exhaustive", best_combo, t0)


_POLICY_FUNCS = {
    "fair": fair_share,
    "fair-best": fair_best,
    "proportional": proportional,
    "greedy": greedy,
    "ecoshift": ecoshift,
    "global-dp": global_dp,
}


def allocate(problem: PowerProblem, policy: str) -> PowerAllocation:
    if policy not in _POLICY_FUNCS:
        raise EcoShiftError(f"unknown policy {policy!r}; choose from {', '.join(POLICIES)}")
    return _POLICY_FUNCS[policy](problem)


# ------------------------------------------------------------------------------------ evaluation


def evaluate_cluster(pairs, pred, measured, cap_w: float, policies=POLICIES, apps=None):
    """Decide with ``pred``, score with ``measured`` (both (N, P)); one row per policy.

    A pair is offered only where it was measured (it could not be scored otherwise).
    ``gain_vs_fair_pct`` = measured mean perf over fair share's, minus 1, in %.
    """
    measured = np.atleast_2d(np.asarray(measured, float))
    pred = np.where(np.isnan(measured), np.nan, np.atleast_2d(np.asarray(pred, float)))
    prob = PowerProblem(pairs, pred, cap_w, apps=apps)
    allocs = {p: allocate(prob, p) for p in dict.fromkeys(["fair", *policies])}
    fair_m = allocs["fair"].mean_of(measured)
    rows = []
    for p in policies:
        a = allocs[p]
        m = a.mean_of(measured)
        rows.append(
            {
                "policy": p,
                "nodes": prob.n_nodes,
                "cap_w": float(cap_w),
                "cap_fraction": cap_w / prob.peak_w,
                "total_w": a.total_w,
                "violation": bool(a.total_w > cap_w + 1e-9),
                "predicted_mean": a.predicted_mean,
                "measured_mean": m,
                "gain_vs_fair_pct": 100.0 * (m / fair_m - 1.0),
                "seconds": a.seconds,
            }
        )
    return pd.DataFrame(rows), allocs


def evaluate_fractions(pairs, pred, measured, fractions=FRACTIONS, policies=POLICIES, apps=None) -> pd.DataFrame:
    """The cluster (one node per row of ``pred``) under caps of ``fractions`` x peak."""
    peak = len(np.atleast_2d(pred)) * float(np.max(np.asarray(pairs)[:, 0]) + np.max(np.asarray(pairs)[:, 1]))
    out = [evaluate_cluster(pairs, pred, measured, f * peak, policies, apps)[0].assign(fraction=f) for f in fractions]
    return pd.concat(out, ignore_index=True)


def evaluate_mixes(
    pairs, pred, measured, sizes=(8, 16, 64), seeds=range(30), fractions=FRACTIONS, policies=POLICIES, seed: int = 0
) -> pd.DataFrame:
    """Random clusters: ``size`` nodes whose apps are drawn with replacement from the rows."""
    pred, measured = np.atleast_2d(pred), np.atleast_2d(measured)
    rows = []
    for size in sizes:
        for s in seeds:
            rng = np.random.default_rng([seed, size, s])
            pick = rng.integers(0, len(pred), size)
            df = evaluate_fractions(pairs, pred[pick], measured[pick], fractions, policies)
            rows.append(df.assign(mix_seed=s))
    return pd.concat(rows, ignore_index=True)
