"""What a deployment changes on the site's own workload (``schedlab deploy simulate``).

The site's jobs (an ``sacct`` export) run twice on its machine (a slurm.conf or a machine
description) under Slurm's multifactor priority (:mod:`schedlab.simulator.multires`): as they
are (plain Slurm), and with the deployed mechanism:

* ``lua`` (``schedlab deploy lua``): at submit, each job's rule adds its nice (and routes it to
  the rule's partition or QOS when it named none), as job_submit.lua does;
* ``daemon`` (``schedlab deploy daemon`` with the same tree): each job's rule value is its
  SiteFactor, added to the priority unweighted (modelled as a negative nice: the kernel's
  ``priority = sum of weighted factors - nice``).

Both are fixed per job, so the simulation is exact up to two things it states: the daemon writes
a job's value at its first cycle after submit (up to ``--interval`` later; here it holds from
submit), and ``user_accuracy`` is taken from the plain run's completed jobs (each job sees its
user's last job that ended before it was submitted), as a history table refreshed continually
would give it; a table deployed once is older.

The result: per-job start and wait in both runs, per-rule and overall mean wait and bounded
slowdown, and the rank correlation (Kendall tau) of the two start orders.

A tree's values are fixed per job, so this fast path (the compiled simulator, any number of jobs)
is exact for it.  A daemon whose values change every cycle (a static policy ranking the queue, a
trained model) is simulated in the loop of schedlab's Slurm model instead
(:mod:`.deploy_sim_daemon`, ``deploy simulate --policy SPEC``, which takes trees too).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from schedlab.errors import SchedlabError
from schedlab.slurm.deploy_rules import SubmitRules
from schedlab.workload.table import Workload

MECHANISMS = ("lua", "daemon")


def user_accuracy(wl: Workload, end: np.ndarray) -> np.ndarray:
    """Per job: log2(runtime / request) of its user's last job that ended (``end``) at or before
    its submit; 0 before one has (jobs of unknown users, user -1, read 0)."""
    acc = np.zeros(len(wl))
    order = np.argsort(end, kind="stable")
    done_t, done_u = end[order], wl.user[order]
    ratio = np.log2(np.maximum(wl.run[order], 1.0) / np.maximum(wl.req_time[order], 1.0))
    for u in np.unique(wl.user):
        if u < 0:
            continue
        mine = done_u == u
        t, r = done_t[mine], ratio[mine]
        jobs = np.flatnonzero(wl.user == u)
        k = np.searchsorted(t, wl.submit[jobs], side="right") - 1
        acc[jobs] = np.where(k >= 0, r[np.maximum(k, 0)], 0.0)
    return np.clip(acc, -20.0, 20.0)


def _with_route(res, column: str, codes: np.ndarray, rule_name: np.ndarray, known: tuple) -> object:
    """``res`` with jobs that named no ``column`` value and whose rule routes them moved there."""
    routed = (getattr(res, column) < 0) & (rule_name != "")
    if not routed.any():
        return res
    missing = sorted(set(rule_name[routed]) - set(known))
    if missing:
        raise SchedlabError(f"the rules route jobs to {column} {', '.join(missing)}, which the machine lacks")
    names = tuple(res.names.get(column, ()))
    names = names + tuple(sorted(set(rule_name[routed]) - set(names)))
    new = codes.copy()
    new[routed] = [names.index(n) for n in rule_name[routed]]
    return replace(res, **{column: new, "names": {**res.names, column: names}})


def deployed_workload(
    wl: Workload, rules: SubmitRules, mechanism: str, accuracy: np.ndarray, cluster, unit: str = "cpus"
) -> tuple[Workload, np.ndarray]:
    """(the workload as the mechanism changes it, each job's rule index)."""
    from schedlab.explain.features import submit_values
    from schedlab.workload.resources import JobResources

    if mechanism not in MECHANISMS:
        raise SchedlabError(f"mechanism must be one of {', '.join(MECHANISMS)}, got {mechanism!r}")
    res = wl.resources or JobResources.build(len(wl), cpus_per_node=np.maximum(wl.procs, 1))
    procs = res.nodes if unit == "nodes" else res.nodes * res.cpus_per_node
    idx = rules.rule_of(submit_values(wl.req_time / 3600.0, procs, accuracy))
    nice = np.array([r.nice for r in rules.rules], dtype=np.int64)[idx]
    site = np.array([r.site for r in rules.rules], dtype=np.int64)[idx]
    if mechanism == "daemon":
        return replace(wl, resources=replace(res, nice=res.nice - site)), idx
    res = replace(res, nice=res.nice + nice)
    for column, known in (
        ("partition", tuple(p.name for p in cluster.partitions)),
        ("qos", tuple(q.name for q in cluster.qos)),
    ):
        route = np.array([getattr(r, column) or "" for r in rules.rules], dtype=object)[idx]
        res = _with_route(res, column, getattr(res, column), route, known)
    return replace(wl, resources=res), idx


def compare_deployment(wl: Workload, cluster, rules: SubmitRules, mechanism: str, unit: str = "cpus") -> dict:
    """Plain multifactor against the deployed mechanism on ``wl`` and ``cluster`` (see the module
    docstring): ``summary`` (both runs' mean wait and bsld, Kendall tau of the start orders,
    jobs whose start moved), ``rules`` (per rule: jobs and mean wait in both runs) and ``jobs``
    (a per-job frame)."""
    import pandas as pd
    from scipy.stats import kendalltau

    from schedlab.metrics import bounded_slowdown
    from schedlab.simulator import SimConfig, simulate

    cfg = SimConfig(policy="multifactor", backfill="easy", cluster=cluster)
    plain = simulate(wl, cfg)
    kept = plain.workload
    acc = user_accuracy(kept, plain.end)
    changed, idx = deployed_workload(kept, rules, mechanism, acc, cluster, unit)
    dep = simulate(changed, cfg)
    if len(dep.workload) != len(kept) or not np.array_equal(dep.workload.job_id, kept.job_id):
        raise SchedlabError("the deployed rules made the machine refuse jobs it accepted (a route to a partition "
                            "whose limits they exceed); change --partition / --qos")  # fmt: skip
    w0, w1 = plain.wait, dep.wait
    b0, b1 = bounded_slowdown(w0, plain.run), bounded_slowdown(w1, dep.run)
    tau = float(kendalltau(plain.start, dep.start).statistic) if len(kept) > 1 else 1.0
    jobs = pd.DataFrame({
        "job_id": kept.job_id, "user": kept.user, "submit": kept.submit, "rule": [rules.rules[i].id for i in idx],
        "start_plain": plain.start, "start_deployed": dep.start, "wait_plain": w0, "wait_deployed": w1,
        "bsld_plain": b0, "bsld_deployed": b1,
    })  # fmt: skip
    per_rule = []
    for k, r in enumerate(rules.rules):
        m = idx == k
        if m.any():
            per_rule.append({
                "rule": f"R{r.id}", "jobs": int(m.sum()), "nice": r.nice, "site_factor": r.site,
                "mean_wait_plain_s": float(w0[m].mean()), "mean_wait_deployed_s": float(w1[m].mean()),
            })  # fmt: skip
    summary = {
        "mechanism": mechanism, "tree": rules.name, "jobs": len(kept), "cluster": cluster.name,
        "mean_wait_plain_s": float(w0.mean()), "mean_wait_deployed_s": float(w1.mean()),
        "mean_bsld_plain": float(b0.mean()), "mean_bsld_deployed": float(b1.mean()),
        "kendall_tau_start_order": tau, "jobs_started_earlier": int((w1 < w0 - 1e-6).sum()),
        "jobs_started_later": int((w1 > w0 + 1e-6).sum()),
    }  # fmt: skip
    return {"summary": summary, "rules": per_rule, "jobs": jobs}


__all__ = ["MECHANISMS", "compare_deployment", "deployed_workload", "user_accuracy"]
