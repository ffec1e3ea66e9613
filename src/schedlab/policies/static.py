"""Queue-order policies.  Lower score runs first; ties go to the earlier submit.

Static policies (score fixed at submit; r = requested time, n = processors, s = submit time):
  fcfs      s
  sjf       r                      (shortest requested time first)
  ljf       -r                     (longest first)
  saf       n * r                  (smallest area first)
  laf       -n * r                 (largest area first)
  largest   -n                     (largest job first)
  smallest  n
  random    a seeded random order (numpy default_rng(0)): the floor any policy must beat
  f1..f4    Carastan-Santos & de Camargo (SC17) learned functions:
            F1 = log10(r)*n + 870*log10(s)      F2 = sqrt(r)*n + 25600*log10(s)
            F3 = r*n + 6.86e6*log10(s)          F4 = r*sqrt(n) + 5.3e5*log10(s)
            (r and s floored at 1 s so the logarithms are defined for the first job)
Dynamic policies (depend on the wait w = now - s, re-sorted at every pass):
  wfp3      -(w / r)^3 * n
  unicep    -w / (log2(n) * r)     (log2(n) floored at 1 for 1- and 2-processor jobs)
User functions: ``expr:<numpy expression>`` over r, n, s (e.g. ``expr:n * r``), or, from Python,
any callable ``f(workload) -> scores`` (static).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from schedlab.errors import PolicyError

STATIC = ("fcfs", "sjf", "ljf", "saf", "laf", "largest", "smallest", "f1", "f2", "f3", "f4", "random")
DYNAMIC = ("wfp3", "unicep")
POLICY_NAMES = STATIC + DYNAMIC


def static_scores(policy, req_time: np.ndarray, procs: np.ndarray, submit: np.ndarray, workload=None) -> np.ndarray:
    """Scores of a static policy (lower first)."""
    r = np.asarray(req_time, dtype=np.float64)
    n = np.asarray(procs, dtype=np.float64)
    s = np.asarray(submit, dtype=np.float64)
    from schedlab.policies.registry import Policy

    if isinstance(policy, Policy):
        return policy.scores(r, n, s, workload)
    if callable(policy):
        out = np.asarray(policy(workload), dtype=np.float64)
        if out.shape != r.shape or not np.all(np.isfinite(out)):
            raise PolicyError("a user priority function must return one finite score per job")
        return out
    if isinstance(policy, str) and policy.startswith("expr:"):
        return _expr_scores(policy[5:], r, n, s)
    r1 = np.maximum(r, 1.0)
    s1 = np.maximum(s, 1.0)
    table: dict[str, Callable[[], np.ndarray]] = {
        "fcfs": lambda: s,
        "sjf": lambda: r,
        "ljf": lambda: -r,
        "saf": lambda: n * r,
        "laf": lambda: -n * r,
        "largest": lambda: -n,
        "smallest": lambda: n,
        "random": lambda: np.random.default_rng(0).random(len(r)),
        "f1": lambda: np.log10(r1) * n + 870.0 * np.log10(s1),
        "f2": lambda: np.sqrt(r1) * n + 25600.0 * np.log10(s1),
        "f3": lambda: r1 * n + 6.86e6 * np.log10(s1),
        "f4": lambda: r1 * np.sqrt(n) + 5.3e5 * np.log10(s1),
    }
    if policy not in table:
        raise PolicyError(f"{policy!r} is not a static policy ({', '.join(STATIC)})")
    return table[policy]()


def _expr_scores(expr: str, r, n, s) -> np.ndarray:
    from schedlab.policies.expression import expression_scores

    return expression_scores(expr, r, n, s)


def priority_ranks(scores: np.ndarray) -> np.ndarray:
    """Rank of each job (0 runs first) by (score, submit order)."""
    order = np.argsort(scores, kind="stable")
    rank = np.empty(len(scores), dtype=np.int64)
    rank[order] = np.arange(len(scores), dtype=np.int64)
    return rank


def is_dynamic(policy) -> bool:
    """A policy the kernel re-sorts at every pass (a name, or a resolved policy of that kind)."""
    return str(getattr(policy, "spec", policy)) in DYNAMIC
