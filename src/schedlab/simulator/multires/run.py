"""``simulate`` on a machine description: the multi-resource path (see :mod:`.kernel`).

The result is an ordinary :class:`~schedlab.simulator.result.SimResult` over the jobs the machine
accepts (the others are counted in ``result.workload.cleaning``): ``size`` is the CPUs each job
holds (whole nodes' CPUs under exclusive allocation) and ``capacity`` the machine's CPUs, in the
cluster's CPU units, so the usual metrics are CPU metrics.  ``extra["multires"]`` keeps what the
per-job table and the per-resource metrics need: each job's nodes, partition and per-node
requests, and the machine.
"""

from __future__ import annotations

import time

import numpy as np

from schedlab.cluster.model import Cluster, single_resource
from schedlab.errors import SchedlabError
from schedlab.options import Allocation, Backfill, Estimates, NodeSelect, PolicyKind
from schedlab.policies import priority_ranks
from schedlab.simulator.multires.alloc import SEL_BEST, SEL_FIRST
from schedlab.simulator.multires.conservative import simulate_conservative_kernel
from schedlab.simulator.multires.kernel import PRIO_DYNAMIC, PRIO_MULTIFACTOR, PRIO_STATIC, simulate_multi_kernel
from schedlab.simulator.multires.prepare import Prepared, prepare
from schedlab.simulator.multires.priority import FS_CLASSIC, FS_FAIR_TREE
from schedlab.simulator.result import SimResult
from schedlab.workload.table import Workload

DYN_CODES = {"wfp3": 1, "unicep": 2}  # as schedlab.simulator.engine's DYN_WFP3 / DYN_UNICEP


def machine_for(workload: Workload, cluster: Cluster | None) -> Cluster:
    """The machine a run uses: the description given, or an SWF trace's own machine (one node of
    ``max_procs`` processors, shared: exactly the single-resource semantics)."""
    if cluster is not None:
        return cluster
    if workload.resources is not None:
        raise SchedlabError(f"{workload.name} has multi-resource jobs: give the machine (--cluster FILE)")
    c = single_resource(int(workload.max_procs), 1, name=f"{workload.name} machine")
    from dataclasses import replace

    return replace(c, allocation=Allocation.SHARED)


def _assoc(wl: Workload, cluster: Cluster):
    """Associations (account, user) per job, their account, each account's shares and users."""
    res = wl.resources
    acct = res.account if res is not None else np.full(len(wl), -1, dtype=np.int64)
    pairs, assoc = np.unique(np.stack([acct, wl.user], axis=1), axis=0, return_inverse=True)
    accts, assoc_acct = np.unique(pairs[:, 0], return_inverse=True)
    shares = dict(cluster.priority.shares)
    names = [res.label("account", int(a)) if res is not None else "" for a in accts]
    acct_shares = np.array([float(shares.get(n, 1.0)) for n in names])
    acct_users = np.bincount(assoc_acct, minlength=len(accts)).astype(np.float64)
    return (
        np.asarray(assoc, dtype=np.int64).ravel(),
        np.asarray(assoc_acct, dtype=np.int64).ravel(),
        acct_shares,
        acct_users,
    )


def _multifactor(wl: Workload, cluster: Cluster, prep: Prepared):
    pr = cluster.priority
    n_nodes = cluster.n_nodes
    size_f = (1.0 - (prep.nodes - 1) / n_nodes) if pr.favor_small else prep.nodes / n_nodes
    jf = np.array([p.priority_job_factor for p in cluster.partitions], dtype=np.float64)
    part_f = jf[prep.partition] / max(jf.max(), 1.0)
    qp = np.array([q.priority for q in cluster.qos] + [0], dtype=np.float64)
    qos_f = qp[prep.qos] / max(qp.max(), 1.0)
    nice = wl.resources.nice.astype(np.float64) if wl.resources is not None else np.zeros(len(wl))
    weights = np.array([pr.weight_age, pr.weight_fairshare, pr.weight_job_size, pr.weight_partition, pr.weight_qos])
    assoc, assoc_acct, acct_shares, acct_users = _assoc(wl, cluster)
    mf = (weights, float(pr.max_age_s), size_f.astype(np.float64), part_f, qos_f, nice, assoc)
    fs_mode = FS_CLASSIC if pr.fairshare == "classic" else FS_FAIR_TREE
    fs = (fs_mode, float(pr.decay_half_life_s), assoc_acct, acct_shares, acct_users)
    return mf, fs, len(assoc_acct)


def _qos_limits(cluster: Cluster, prep: Prepared, wl: Workload):
    """(pair of (QOS, user) per job or -1, per-job limits on running jobs and GPUs, pair count)."""
    lim_j = np.array([q.max_jobs_per_user for q in cluster.qos] + [0], dtype=np.int64)[prep.qos]
    lim_g = np.array([q.max_gpus_per_user for q in cluster.qos] + [0], dtype=np.int64)[prep.qos]
    limited = (prep.qos >= 0) & ((lim_j > 0) | (lim_g > 0))
    qpair = np.full(len(wl), -1, dtype=np.int64)
    n_pairs = 0
    if limited.any():
        _, inv = np.unique(np.stack([prep.qos[limited], wl.user[limited]], axis=1), axis=0, return_inverse=True)
        qpair[limited] = np.asarray(inv).ravel()
        n_pairs = int(qpair.max()) + 1
    gpus_total = prep.nodes * prep.req[:, 1]  # in the cluster's GPU units, as the limit below
    return qpair, lim_j, lim_g * cluster.gpu_unit, n_pairs, gpus_total.astype(np.int64)


def simulate_multi(workload: Workload, config, policy, cluster: Cluster | None) -> SimResult:
    """``workload`` on ``cluster`` (None: the trace's own machine) under ``config`` and the resolved
    ``policy`` (a static or dynamic heuristic, or multifactor)."""
    if config.backfill == Backfill.CONSERVATIVE and policy.kind is not PolicyKind.STATIC:
        raise SchedlabError(
            f"conservative backfilling on a multi-resource machine takes a static queue order (fcfs, sjf, f1, ...), "
            f"not {policy.spec}"
        )
    if config.estimates not in (Estimates.REQUESTED, Estimates.ACTUAL):
        raise SchedlabError("on a multi-resource machine, estimates are requested or actual (predictions: not yet)")
    cluster = machine_for(workload, cluster)
    if config.allocation is not None or config.node_select is not None:
        from dataclasses import replace

        cluster = replace(cluster, allocation=config.allocation or cluster.allocation,
                          select=config.node_select or cluster.select)  # fmt: skip
    prep = prepare(workload, cluster)
    wl = prep.workload
    run = np.minimum(wl.run, wl.req_time) if config.kill_at_request else wl.run.copy()
    est = np.ascontiguousarray(wl.req_time if config.estimates == Estimates.REQUESTED else run, dtype=np.float64)
    J = len(wl)
    off = np.zeros(J + 1, dtype=np.int64)
    off[1:] = np.cumsum(prep.nodes)
    procs = (prep.nodes * prep.req[:, 0]).astype(np.float64) / cluster.cpu_unit
    tier_of = np.array([p.priority_tier for p in cluster.partitions], dtype=np.float64)
    rank = np.zeros(J, dtype=np.int64)
    dyn = 0
    if policy.kind is PolicyKind.PRIORITY:
        mode, tier = PRIO_MULTIFACTOR, tier_of[prep.partition]
        mf, fs, n_assoc = _multifactor(wl, cluster, prep)
    else:
        tier = np.zeros(J)
        mf, fs, n_assoc = _multifactor(wl, cluster, prep)  # typed placeholders: not read
        if policy.kind is PolicyKind.DYNAMIC:
            mode, dyn = PRIO_DYNAMIC, DYN_CODES[policy.spec]
        else:
            mode = PRIO_STATIC
            rank = priority_ranks(policy.scores(wl.req_time, np.maximum(procs, 1.0), wl.submit, wl))
    excl = cluster.allocation == Allocation.EXCLUSIVE
    sel = SEL_BEST if cluster.select == NodeSelect.BEST_FIT else SEL_FIRST
    machine = (prep.tot, excl, sel, 1 if config.backfill == Backfill.EASY else 0,
               prep.pool_ptr, prep.pool_idx, prep.np_ptr, prep.np_idx)  # fmt: skip
    cpus_charge = procs.copy()
    prio = (mode, rank, dyn, procs, np.asarray(tier, dtype=np.float64), float(cluster.priority.calc_period_s))
    t0 = time.perf_counter()
    if config.backfill == Backfill.CONSERVATIVE:
        start, alloc, resv, passes = simulate_conservative_kernel(
            np.ascontiguousarray(wl.submit, dtype=np.float64), np.ascontiguousarray(run, dtype=np.float64), est,
            prep.nodes, prep.req, prep.pool, off, (prep.tot, excl, sel, prep.pool_ptr, prep.pool_idx),
            _qos_limits(cluster, prep, wl), rank,
        )  # fmt: skip
    else:
        start, alloc, resv, passes = simulate_multi_kernel(
        np.ascontiguousarray(wl.submit, dtype=np.float64), np.ascontiguousarray(run, dtype=np.float64), est,
            prep.nodes, prep.req, prep.pool, off, machine, _qos_limits(cluster, prep, wl), prio, mf, fs,
            (cpus_charge, n_assoc),
        )  # fmt: skip
    elapsed = time.perf_counter() - t0
    held = prep.tot[alloc, 0] if excl else np.repeat(prep.req[:, 0], prep.nodes)
    size = np.add.reduceat(held, off[:-1]) if J else np.zeros(0, dtype=np.int64)
    extra = {"multires": {"cluster": cluster, "alloc": alloc, "off": off, "prepared": prep}}
    return SimResult(
        workload=wl, config=config, start=start, end=start + run, run=run, size=size.astype(np.int64),
        capacity=int(cluster.cpus.sum()), reservation=resv, sim_seconds=elapsed, passes=int(passes), extra=extra,
    )  # fmt: skip


def warm_up_multires(config) -> None:
    """Compile the multi-resource kernel (static and multifactor paths) on a two-job workload, so a
    run's ``sim_seconds`` excludes the JIT."""
    from schedlab.cluster import NodeType, build_cluster
    from schedlab.policies import resolve
    from schedlab.workload.resources import JobResources

    c = build_cluster("warm", [NodeType("n", 2, 2, gpus=1, mem_mib=8)], [], allocation="shared")
    one = np.ones(2)
    w = Workload(
        name="warm", job_id=np.arange(2), submit=np.array([0.0, 1.0]), run=one * 5, req_time=one * 5,
        procs=np.array([2, 2]), user=np.array([0, 1]), raw_submit=np.zeros(2), status=np.ones(2, dtype=np.int64),
        max_procs=4, max_nodes=2, resources=JobResources.build(2, nodes=[2, 2], cpus_per_node=[2, 2]),
    )  # fmt: skip
    for pol in ("fcfs", "multifactor", "wfp3"):
        simulate_multi(w, config.replace(cluster=c, policy=pol, allocation=None, node_select=None), resolve(pol), c)


__all__ = ["machine_for", "simulate_multi", "warm_up_multires"]
