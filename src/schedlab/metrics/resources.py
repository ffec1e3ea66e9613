"""Metrics of a multi-resource schedule: per resource, per partition, per QOS and per account.

All over the schedule's span (first submit to last end), as ``utilization`` is:

* ``cpu_utilization``, ``gpu_utilization``, ``mem_utilization``: resource-seconds held by jobs /
  (machine capacity x span).  Under exclusive allocation a job holds its nodes' whole capacity.
  Memory counts only nodes that model it.
* ``gpu_fragmentation``: the time-average share of the machine's GPUs that are idle on nodes
  where some job runs (a GPU there can only serve a job that fits the node's leftover CPUs and
  memory; the Alibaba fragmentation measure, per node instead of per GPU device).
* per partition / QOS / account: jobs, mean and p95 wait, mean bounded slowdown, CPU-hours and
  GPU-hours; per account also its share of all CPU usage against its share of the machine (its
  fair-share shares; 1 each when the machine names none): ``fairshare_deviation`` is the largest
  absolute difference.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from schedlab.metrics import TAU, bounded_slowdown


def _held(result) -> tuple[np.ndarray, np.ndarray]:
    """Per job: resources held on each of its nodes summed over nodes (J, 3), in cluster units."""
    m = result.extra["multires"]
    prep, alloc, off = m["prepared"], m["alloc"], m["off"]
    cluster = m["cluster"]
    if cluster.allocation == "exclusive":
        per_node = prep.tot[alloc].astype(np.float64)
        per_node[:, 2] = np.where(cluster.mem_mib[alloc] > 0, per_node[:, 2], 0.0)
        held = np.add.reduceat(per_node, off[:-1], axis=0) if len(off) > 1 else np.zeros((0, 3))
    else:
        held = prep.req * prep.nodes[:, None].astype(np.float64)
    return held, alloc


@njit(cache=True)
def _frag_area(times, sign, jobs, order, alloc, off, gpu_of_job_node, node_gpus):
    """Integral over time of the GPUs idle on nodes that run some job (event sweep)."""
    N = node_gpus.shape[0]
    busy = np.zeros(N, dtype=np.int64)
    used = np.zeros(N, dtype=np.int64)
    frag, area, last = 0.0, 0.0, times[order[0]]
    for k in order:
        t = times[k]
        area += frag * (t - last)
        last = t
        j, s = jobs[k], sign[k]
        for q in range(off[j], off[j + 1]):
            n = alloc[q]
            before = node_gpus[n] - used[n] if busy[n] > 0 else 0
            busy[n] += s
            used[n] += s * gpu_of_job_node[q]
            after = node_gpus[n] - used[n] if busy[n] > 0 else 0
            frag += after - before
    return area


def _fragmentation(result, cluster) -> float:
    """Time-average share of GPUs idle on nodes that run some job."""
    m = result.extra["multires"]
    prep, alloc, off = m["prepared"], m["alloc"], m["off"]
    total = float(cluster.gpus.sum())
    if total <= 0 or not len(result.start):
        return 0.0
    J = len(result.start)
    times = np.concatenate([result.start, result.end])
    sign = np.concatenate([np.ones(J, dtype=np.int64), -np.ones(J, dtype=np.int64)])
    jobs = np.concatenate([np.arange(J), np.arange(J)])
    order = np.lexsort((sign, times))  # ends before starts at the same instant
    g = prep.tot[alloc, 1] if cluster.allocation == "exclusive" else np.repeat(prep.req[:, 1], prep.nodes)
    area = _frag_area(times, sign, jobs, order, alloc, off, np.ascontiguousarray(g, dtype=np.int64), cluster.gpus)
    span = float(result.end.max() - result.workload.submit.min())
    return float(area / (total * span)) if span > 0 else 0.0


def _groups(label: np.ndarray, wait, bsld, held, run, cluster) -> dict:
    out = {}
    for name in np.unique(label):
        k = label == name
        out[str(name) or "(none)"] = {
            "jobs": int(k.sum()),
            "mean_wait": float(wait[k].mean()),
            "p95_wait": float(np.percentile(wait[k], 95)),
            "mean_bsld": float(bsld[k].mean()),
            "cpu_hours": float((held[k, 0] * run[k]).sum() / cluster.cpu_unit / 3600.0),
            "gpu_hours": float((held[k, 1] * run[k]).sum() / cluster.gpu_unit / 3600.0),
        }
    return out


def resource_metrics(result, tau: float = TAU) -> dict:
    """The metrics of the module docstring for a multi-resource :class:`SimResult` (empty dict for
    a single-resource one)."""
    if "multires" not in result.extra:
        return {}
    m = result.extra["multires"]
    cluster, prep = m["cluster"], m["prepared"]
    wl = result.workload
    held, _ = _held(result)
    run = result.run
    span = float(result.end.max() - wl.submit.min()) if len(run) else 0.0
    cap = np.array([cluster.cpus.sum(), cluster.gpus.sum(), cluster.mem_mib.sum()], dtype=np.float64)
    use = (held * run[:, None]).sum(axis=0)
    util = [float(use[r] / (cap[r] * span)) if cap[r] > 0 and span > 0 else 0.0 for r in range(3)]
    wait = result.start - wl.submit
    bsld = bounded_slowdown(wait, run, tau)
    part = np.asarray(cluster.partition_names, dtype=object)[prep.partition]
    cols = wl.resources.to_columns() if wl.resources is not None else {}
    blank = np.full(len(run), "", dtype=object)
    per_account = _groups(np.asarray(cols.get("account", blank)), wait, bsld, held, run, cluster)
    shares = dict(cluster.priority.shares)
    total_cpu = sum(a["cpu_hours"] for a in per_account.values()) or 1.0
    total_shares = sum(shares.get(a, 1.0) for a in per_account) or 1.0
    for a, row in per_account.items():
        row["usage_share"] = row["cpu_hours"] / total_cpu
        row["machine_share"] = shares.get(a, 1.0) / total_shares
    return {
        "cpu_utilization": util[0],
        "gpu_utilization": util[1],
        "mem_utilization": util[2],
        "gpu_fragmentation": _fragmentation(result, cluster),
        "fairshare_deviation": max(
            (abs(r["usage_share"] - r["machine_share"]) for r in per_account.values()), default=0.0
        ),
        "per_partition": _groups(part, wait, bsld, held, run, cluster),
        "per_qos": _groups(np.asarray(cols.get("qos", blank)), wait, bsld, held, run, cluster),
        "per_account": per_account,
    }


__all__ = ["resource_metrics"]
