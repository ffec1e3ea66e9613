"""The multi-resource event loop, compiled (see :mod:`.alloc` for the node state).

Time and ordering are the single-resource engine's (:mod:`schedlab.simulator.engine`): at each
distinct event time the engine applies all completions, then all arrivals, then (multifactor)
the priority recalculation if a PriorityCalcPeriod has passed, then one scheduling pass.

A pass walks the queue in priority order.  Jobs over a QOS per-user limit (running jobs, GPUs)
are skipped and keep their place (Slurm leaves them pending with a QOS reason; they block no
one).  Until a job fails to fit, jobs start on the nodes the selection rule picks.  The first job
that does not fit gets EASY's resource-exact reservation (:func:`.alloc.reserve`); every later
job starts if it fits now and either ends (now + estimate) by the shadow time or leaves the
reserved nodes the resources the blocked job needs at the shadow time.  With backfill ``none``
the pass stops at that job.

Queue order: a key per job, highest first, ties by submit order.  Static heuristics: key = -rank
(fixed).  Dynamic heuristics (WFP3, UNICEP): the key is recomputed at every pass.  Multifactor:
key = PriorityTier * 2^33 + priority, computed at submit and recomputed for every waiting job
each PriorityCalcPeriod (between recalculations it is what Slurm shows: the last computed one).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from schedlab.simulator.engine import _dyn_score, _heap_pop, _heap_push, _run_insert, _run_remove
from schedlab.simulator.multires.alloc import R, choose, clear_reservation, give_back, pool_may_fit, reserve, take
from schedlab.simulator.multires.priority import decay_usage, fairshare_factors, job_priority

PRIO_STATIC, PRIO_DYNAMIC, PRIO_MULTIFACTOR = 0, 1, 2
TIER_SCALE = 2.0**33


@njit(cache=True)
def _insert(q, nq, key, j):
    """Insert ``j`` into the queue ``q[:nq]`` kept in (key desc, job asc) order."""
    lo, hi = 0, nq
    kj = key[j]
    while lo < hi:
        mid = (lo + hi) >> 1
        o = q[mid]
        if key[o] > kj or (key[o] == kj and o < j):
            lo = mid + 1
        else:
            hi = mid
    for i in range(nq, lo, -1):
        q[i] = q[i - 1]
    q[lo] = j
    return nq + 1


@njit(cache=True)
def _resort(q, nq, key):
    part = np.sort(q[:nq])
    order = np.argsort(-key[part], kind="mergesort")
    q[:nq] = part[order]


@njit(cache=True)
def _mf_key(j, t, sub, mf, ffac, tier):
    """(weights, max_age, size_f, part_f, qos_f, nice, assoc) = mf."""
    weights, max_age, size_f, part_f, qos_f, nice, assoc = mf
    return tier[j] * TIER_SCALE + job_priority(j, t, sub, weights, max_age, size_f, part_f, qos_f, nice, assoc, ffac)


@njit(cache=True)
def _recalc(t, last_calc, q, nq, key, sub, rj, nrun, last_charge, cpus_charge, usage, pending, mf, fs, ffac, tier):
    """PriorityCalcPeriod: charge running jobs' usage up to ``t``, decay, new fair-share factors,
    every waiting job's priority recomputed, queue re-sorted."""
    assoc = mf[6]
    fs_mode, half_life, assoc_acct, acct_shares, acct_users = fs
    for k in range(nrun):
        j = rj[k]
        pending[assoc[j]] += cpus_charge[j] * (t - last_charge[j])
        last_charge[j] = t
    decay_usage(usage, pending, 0.5 ** ((t - last_calc) / half_life))
    fairshare_factors(fs_mode, usage, assoc_acct, acct_shares, acct_users, ffac)
    for i in range(nq):
        key[q[i]] = _mf_key(q[i], t, sub, mf, ffac, tier)
    _resort(q, nq, key)


@njit(cache=True)
def _qos_blocked(j, qpair, lim_jobs, lim_gpus, run_jobs, run_gpus, gpus_total):
    p = qpair[j]
    if p < 0:
        return False
    if lim_jobs[j] > 0 and run_jobs[p] + 1 > lim_jobs[j]:
        return True
    return lim_gpus[j] > 0 and run_gpus[p] + gpus_total[j] > lim_gpus[j]


@njit(cache=True)
def _pass(t, st, q, nq, est, nodes, req, pool, machine, jobs_q, resv, out_resv):
    """One scheduling pass at ``t``; returns the new queue length.  ``st`` is the mutable state
    tuple of :func:`simulate_multi_kernel` (see there)."""
    free, tot, excl, sel, backfill, pool_ptr, pool_idx, np_ptr, np_idx, pool_idle, pool_free = machine
    qpair, lim_jobs, lim_gpus, run_jobs, run_gpus, gpus_total = jobs_q
    in_pool, proj, in_resv, slack, resv_nodes, chosen = resv
    alloc, off, re, rj, nrun_arr = st[1], st[2], st[3], st[4], st[5]
    head = -1
    shadow = np.inf
    w = 0
    stop = False
    for i in range(nq):
        j = q[i]
        if stop or _qos_blocked(j, qpair, lim_jobs, lim_gpus, run_jobs, run_gpus, gpus_total):
            q[w] = j
            w += 1
            continue
        p = pool[j]
        guard = head >= 0 and t + est[j] > shadow
        out = chosen[: nodes[j]]
        ok = pool_may_fit(p, j, nodes, req, excl, pool_idle, pool_free) and choose(
            j, p, free, tot, req, nodes, excl, sel, pool_ptr, pool_idx, in_resv, slack, guard, out
        )
        if ok:
            if guard:
                for k in range(nodes[j]):
                    n = out[k]
                    if in_resv[n]:
                        for r in range(R):
                            slack[n, r] -= req[j, r]
            _start(j, t, out, st, free, tot, req, excl, np_ptr, np_idx, pool_idle, pool_free, est)
            if qpair[j] >= 0:
                run_jobs[qpair[j]] += 1
                run_gpus[qpair[j]] += gpus_total[j]
            continue
        q[w] = j
        w += 1
        if head < 0:
            if backfill == 0:
                stop = True
                continue
            head = j
            nrun = nrun_arr[0]
            shadow = reserve(
                j, p, t, free, tot, req, nodes, excl, sel, pool_ptr, pool_idx, np_ptr, np_idx,
                re, rj, nrun, alloc, off, in_pool, proj, in_resv, slack, resv_nodes,
            )  # fmt: skip
            if not np.isfinite(out_resv[j]) or shadow < out_resv[j]:
                out_resv[j] = shadow
    if head >= 0:
        clear_reservation(head, nodes, in_resv, resv_nodes)
    return w


@njit(cache=True)
def _start(j, t, out, st, free, tot, req, excl, np_ptr, np_idx, pool_idle, pool_free, est):
    start, alloc, off, re, rj, nrun_arr, ht, hj, nh_arr, run, last_charge = st
    start[j] = t
    last_charge[j] = t
    for k in range(out.shape[0]):
        alloc[off[j] + k] = out[k]
    take(j, out, free, tot, req, excl, np_ptr, np_idx, pool_idle, pool_free)
    _heap_push(ht, hj, nh_arr[0], t + run[j], j)
    nh_arr[0] += 1
    nrun_arr[0] = _run_insert(re, rj, nrun_arr[0], t + est[j], j)


@njit(cache=True)
def simulate_multi_kernel(sub, run, est, nodes, req, pool, off, machine, jobs_q, prio, mf, fs, usage_state):
    """Simulate; returns (start, alloc, reservation, passes).

    machine = (tot, excl, sel, backfill, pool_ptr, pool_idx, np_ptr, np_idx) (free, counters
    built here); jobs_q = (qpair, lim_jobs, lim_gpus, n_pairs, gpus_total); prio = (mode, rank,
    dyn_code, procs, tier, calc_period); mf = (weights, max_age, size_f, part_f, qos_f, nice,
    assoc); fs = (fs_mode, half_life, assoc_acct, acct_shares, acct_users); usage_state =
    (cpus_charge, n_assoc)."""
    tot, excl, sel, backfill, pool_ptr, pool_idx, np_ptr, np_idx = machine
    qpair, lim_jobs, lim_gpus, n_pairs, gpus_total = jobs_q
    mode, rank, dyn_code, procs, tier, calc_period = prio
    cpus_charge, n_assoc = usage_state
    J, N, P = sub.shape[0], tot.shape[0], pool_ptr.shape[0] - 1
    free = tot.copy()
    pool_idle = np.zeros(P, dtype=np.int64)
    pool_free = np.zeros((P, R), dtype=np.int64)
    for p in range(P):
        for i in range(pool_ptr[p], pool_ptr[p + 1]):
            pool_idle[p] += 1
            for r in range(R):
                pool_free[p, r] += tot[pool_idx[i], r]
    start = np.full(J, -1.0)
    resv_out = np.full(J, np.inf)
    alloc = np.full(off[J] if J else 0, -1, dtype=np.int64)
    re, rj = np.empty(J + 1), np.empty(J + 1, dtype=np.int64)
    ht, hj = np.empty(J + 1), np.empty(J + 1, dtype=np.int64)
    nrun_arr, nh_arr = np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)
    last_charge = np.zeros(J)
    st = (start, alloc, off, re, rj, nrun_arr, ht, hj, nh_arr, run, last_charge)
    maxn = max(nodes.max(), 1) if J else 1
    resv = (
        np.zeros(N, dtype=np.bool_), np.empty((N, R), dtype=np.int64), np.zeros(N, dtype=np.bool_),
        np.zeros((N, R), dtype=np.int64), np.empty(maxn, dtype=np.int64), np.empty(maxn, dtype=np.int64),
    )  # fmt: skip
    mach = (free, tot, excl, sel, backfill, pool_ptr, pool_idx, np_ptr, np_idx, pool_idle, pool_free)
    run_jobs, run_gpus = np.zeros(max(n_pairs, 1), dtype=np.int64), np.zeros(max(n_pairs, 1), dtype=np.int64)
    jq = (qpair, lim_jobs, lim_gpus, run_jobs, run_gpus, gpus_total)
    usage, pending, ffac = np.zeros(n_assoc), np.zeros(n_assoc), np.ones(n_assoc)
    if mode == PRIO_MULTIFACTOR:
        fairshare_factors(fs[0], usage, fs[2], fs[3], fs[4], ffac)
    key = np.zeros(J)
    q = np.empty(J, dtype=np.int64)
    nq, i_arr, passes = 0, 0, 0
    next_calc, last_calc = (sub[0] if J else 0.0) + calc_period, sub[0] if J else 0.0
    while i_arr < J or nh_arr[0] > 0:
        t = sub[i_arr] if i_arr < J else np.inf
        if nh_arr[0] > 0 and ht[0] < t:
            t = ht[0]
        while nh_arr[0] > 0 and ht[0] <= t:
            j = hj[0]
            nh_arr[0] = _heap_pop(ht, hj, nh_arr[0])
            give_back(j, alloc[off[j] : off[j] + nodes[j]], free, tot, req, excl, np_ptr, np_idx, pool_idle, pool_free)
            nrun_arr[0] = _run_remove(re, rj, nrun_arr[0], start[j] + est[j], j)
            if qpair[j] >= 0:
                run_jobs[qpair[j]] -= 1
                run_gpus[qpair[j]] -= gpus_total[j]
            if mode == PRIO_MULTIFACTOR:
                pending[mf[6][j]] += cpus_charge[j] * (t - last_charge[j])
        while i_arr < J and sub[i_arr] <= t:
            j = i_arr
            if mode == PRIO_STATIC:
                key[j] = -float(rank[j])
            elif mode == PRIO_MULTIFACTOR:
                key[j] = _mf_key(j, t, sub, mf, ffac, tier)
            if mode != PRIO_DYNAMIC:
                nq = _insert(q, nq, key, j)
            else:
                q[nq] = j
                nq += 1
            i_arr += 1
        if mode == PRIO_MULTIFACTOR and t >= next_calc:
            _recalc(t, last_calc, q, nq, key, sub, rj, nrun_arr[0], last_charge, cpus_charge, usage, pending, mf, fs,
                    ffac, tier)  # fmt: skip
            last_calc = t
            next_calc = t + calc_period
        elif mode == PRIO_DYNAMIC:
            for i in range(nq):
                jj = q[i]
                key[jj] = -_dyn_score(dyn_code, t, sub[jj], est[jj], procs[jj])
            _resort(q, nq, key)
        nq = _pass(t, st, q, nq, est, nodes, req, pool, mach, jq, resv, resv_out)
        passes += 1
    return start, alloc, resv_out, passes


__all__ = ["PRIO_DYNAMIC", "PRIO_MULTIFACTOR", "PRIO_STATIC", "simulate_multi_kernel"]
