"""One audited metrics module.  Every formula is here, with its definition.

wait          start - submit
turnaround    end - submit
bounded slowdown  max(1, (wait + run) / max(run, tau)), tau = 10 s by default
utilisation   sum(run * size) / (capacity * span), span = last end - first submit (the makespan)
makespan      last end - first submit
queue length  number of submitted, not yet started jobs, as a step function of time;
              summarised by its time average over the span and its maximum
per-user wait mean wait of each user's jobs; fairness summarised by the worst user's mean wait
              and the Jain index of the per-user mean waits
"""

from __future__ import annotations

import numpy as np

TAU = 10.0


def bounded_slowdown(wait: np.ndarray, run: np.ndarray, tau: float = TAU) -> np.ndarray:
    wait = np.asarray(wait, dtype=np.float64)
    run = np.asarray(run, dtype=np.float64)
    return np.maximum(1.0, (wait + run) / np.maximum(run, tau))


def queue_length_series(submit: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(times, queue length from each time on).  At equal times starts count before submits
    are added, matching the engine's order (arrivals join, then the pass starts jobs)."""
    times = np.concatenate([submit, start])
    delta = np.concatenate([np.ones(len(submit)), -np.ones(len(start))])
    order = np.lexsort((delta, times))  # at equal time: -1 first, so a job submitted and
    times, delta = times[order], delta[order]  # started at t never counts as queued
    counts = np.cumsum(delta)
    last = np.r_[times[1:] != times[:-1], True]
    return times[last], counts[last]


def utilization_series(start: np.ndarray, end: np.ndarray, size: np.ndarray, capacity: int):
    """(times, fraction of capacity in use from each time on).  Ends apply before starts."""
    times = np.concatenate([end, start])
    delta = np.concatenate([-size.astype(np.float64), size.astype(np.float64)])
    order = np.lexsort((delta, times))
    times, delta = times[order], delta[order]
    used = np.cumsum(delta)
    last = np.r_[times[1:] != times[:-1], True]
    return times[last], used[last] / capacity


def _time_average(times, values, t0, t1) -> float:
    if t1 <= t0 or len(times) == 0:
        return 0.0
    edges = np.clip(np.r_[times, t1], t0, t1)
    return float(np.sum(values * np.diff(edges)) / (t1 - t0))


def per_user_wait(user: np.ndarray, wait: np.ndarray) -> dict[int, float]:
    users, inv = np.unique(user, return_inverse=True)
    sums = np.bincount(inv, weights=wait)
    counts = np.bincount(inv)
    return {int(u): float(s / c) for u, s, c in zip(users, sums, counts, strict=False)}


def jain_index(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=np.float64)
    if len(x) == 0 or not np.any(x):
        return 1.0
    return float(x.sum() ** 2 / (len(x) * np.sum(x * x)))


def summarize(submit, start, end, run, size, capacity, user=None, tau: float = TAU) -> dict:
    """Every summary metric of one schedule, as plain floats."""
    submit = np.asarray(submit, dtype=np.float64)
    start = np.asarray(start, dtype=np.float64)
    end = np.asarray(end, dtype=np.float64)
    run = np.asarray(run, dtype=np.float64)
    wait = start - submit
    bsld = bounded_slowdown(wait, run, tau)
    t0 = float(submit.min())
    t1 = float(end.max())
    span = t1 - t0
    qt, qn = queue_length_series(submit, start)
    out = {
        "jobs": len(submit),
        "mean_wait": float(wait.mean()),
        "median_wait": float(np.median(wait)),
        "p95_wait": float(np.percentile(wait, 95)),
        "max_wait": float(wait.max()),
        "mean_bsld": float(bsld.mean()),
        "max_bsld": float(bsld.max()),
        "mean_turnaround": float((end - submit).mean()),
        "utilization": float(np.sum(run * size) / (capacity * span)) if span > 0 else 0.0,
        "makespan": span,
        "mean_queue_length": _time_average(qt, qn, t0, t1),
        "max_queue_length": int(qn.max()) if len(qn) else 0,
    }
    if user is not None:
        uw = per_user_wait(np.asarray(user), wait)
        vals = np.array(list(uw.values()))
        out["users"] = len(uw)
        out["worst_user_mean_wait"] = float(vals.max())
        out["user_wait_jain"] = jain_index(vals)
    return out


def result_metrics(result, tau: float = TAU) -> dict:
    """Summary metrics of a :class:`~schedlab.simulator.SimResult`."""
    wl = result.workload
    return summarize(
        wl.submit, result.start, result.end, result.run, result.size, result.capacity, user=wl.user, tau=tau
    )
