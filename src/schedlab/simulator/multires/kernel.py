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

The reservation is kept between passes while it provably stays what a new one would be: jobs
that start leave it (see :func:`_try_start`), and a job that ends mostly does too
(:func:`.reserve.end_keeps`: one in the released prefix, or one whose nodes the blocked job still
cannot use at the shadow time, or whose nodes only extend first-fit's candidates); otherwise it is
made again when next needed.

Queue order: a key per job, highest first, ties by submit order.  Static heuristics: key = -rank
(fixed).  Dynamic heuristics (WFP3, UNICEP): the key is recomputed at every pass.  Multifactor:
key = PriorityTier * 2^33 + priority, computed at submit and recomputed for every waiting job
each PriorityCalcPeriod (between recalculations it is what Slurm shows: the last computed one).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from schedlab.simulator.engine import _dyn_score, _heap_pop, _heap_push, _run_insert, _run_remove
from schedlab.simulator.multires.alloc import SEL_FIRST, B, R, build_counters, choose, give_back, level, take
from schedlab.simulator.multires.priority import decay_usage, fairshare_factors, job_priority, queue_priorities
from schedlab.simulator.multires.reserve import (
    clear_reservation,
    end_keeps,
    keep_prefix,
    prefix_moves,
    reserve_k,
    resv_levels,
    use_slack,
    within_slack,
)

PRIO_STATIC, PRIO_DYNAMIC, PRIO_MULTIFACTOR = 0, 1, 2
TIER_SCALE = 2.0**33


@njit(cache=True)
def _position(q, nq, key, j):
    """Where ``j`` stands (or would stand) in the queue ``q[:nq]``, kept in (key desc, job asc) order."""
    lo, hi = 0, nq
    kj = key[j]
    while lo < hi:
        mid = (lo + hi) >> 1
        o = q[mid]
        if key[o] > kj or (key[o] == kj and o < j):
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def _insert(q, nq, key, j):
    """Insert ``j`` into the queue ``q[:nq]``."""
    lo = _position(q, nq, key, j)
    for i in range(nq, lo, -1):
        q[i] = q[i - 1]
    q[lo] = j
    return nq + 1


@njit(cache=True)
def _resort(q, nq, key):
    """``q[:nq]`` in (key desc, job asc) order; left as it is when it already is (a priority
    recalculation often keeps the order: an O(n) check instead of two sorts)."""
    ordered = True
    for i in range(1, nq):
        a, b = q[i - 1], q[i]
        if key[a] < key[b] or (key[a] == key[b] and a > b):
            ordered = False
            break
    if ordered:
        return
    part = np.sort(q[:nq])
    order = np.argsort(-key[part], kind="mergesort")
    q[:nq] = part[order]


@njit(cache=True)
def _mf_key(j, t, sub, mf, ffac, tier):
    """(weights, max_age, size_f, part_f, qos_f, nice, assoc) = mf."""
    weights, max_age, size_f, part_f, qos_f, nice, assoc = mf
    return tier[j] * TIER_SCALE + job_priority(j, t, sub, weights, max_age, size_f, part_f, qos_f, nice, assoc, ffac)


@njit(cache=True, inline="always")
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
    weights, max_age, size_f, part_f, qos_f, nice, _ = mf
    queue_priorities(q, nq, t, sub, weights, max_age, size_f, part_f, qos_f, nice, assoc, ffac, tier, TIER_SCALE, key)
    _resort(q, nq, key)


@njit(cache=True)
def _qos_blocked(j, qpair, lim_jobs, lim_gpus, run_jobs, run_gpus, gpus_total):
    p = qpair[j]
    if p < 0:
        return False
    if lim_jobs[j] > 0 and run_jobs[p] + 1 > lim_jobs[j]:
        return True
    return lim_gpus[j] > 0 and run_gpus[p] + gpus_total[j] > lim_gpus[j]


@njit(cache=True, inline="always")
def _pass(t, st, q, nq, est, nodes, req, pool, machine, jobs_q, resv, out_resv):
    """One scheduling pass at ``t``; returns the new queue length.  ``st`` is the mutable state
    tuple of :func:`simulate_multi_kernel` (see there).

    Most waiting jobs on a busy machine are refused by the pool counters alone: that test is
    written out in the loop, since a call per job passing arrays costs more than the test
    (reference counting).  The blocked head's reservation is made only when a later job passes
    it (:func:`_shadow_for`): until then no decision depends on it."""
    excl, backfill, cnt, jl, ov = machine[2], machine[4], machine[9], machine[10], machine[11]
    qpair = jobs_q[0]
    cache, rs, aux = resv[5], resv[7], resv[8]
    pool_idle, lvl = cnt[0], cnt[2]
    rlvl, slvl, ridle = rs
    head, hp, shadow, w = -1, -1, -1.0, 0
    nfail = np.zeros(1, dtype=np.int64)
    aux[3] = 0
    for i in range(nq):
        j = q[i]
        if qpair[j] >= 0 and _qos_blocked(j, *jobs_q):
            q[w] = j
            w += 1
            continue
        p = pool[j]
        n_j = nodes[j]
        if excl:
            ok = pool_idle[p] >= n_j
        else:
            ok = True
            for r in range(R):
                ok = ok and lvl[p, r, jl[j, r]] >= n_j
        guard = False
        if ok and head >= 0 and ov[p, hp]:  # (a pool sharing no node with the head's: no constraint)
            if shadow < 0:
                shadow = _shadow_for(head, t, st, nodes, req, pool, machine, resv, out_resv)
            guard = t + est[j] > shadow
            if guard and p == hp:  # the reservation's level summary (made with it)
                if excl:
                    ok = pool_idle[p] - ridle[0] >= n_j
                else:
                    free_ub, slack_ub = n_j, n_j
                    for r in range(R):
                        b = jl[j, r]
                        free_ub = min(free_ub, lvl[p, r, b] - rlvl[r, b])
                        slack_ub = min(slack_ub, slvl[r, b])
                    ok = free_ub + slack_ub >= n_j
        if ok and _try_start(j, t, guard, st, nodes, req, pool, est, machine, jobs_q, resv, nfail):
            continue
        q[w] = j
        w += 1
        if head < 0:
            if backfill == 0:  # the rest keeps its place: moved down only if jobs left before it
                if w != i + 1:
                    for k in range(i + 1, nq):
                        q[w + k - i - 1] = q[k]
                aux[1], aux[2] = aux[0], j
                return w + nq - i - 1
            head, hp = j, p
            if not np.isfinite(out_resv[j]):  # a job's first time as the blocked head: its promise
                shadow = _shadow_for(j, t, st, nodes, req, pool, machine, resv, out_resv)
    if head < 0 and cache[0] >= 0:
        clear_reservation(int(cache[0]), nodes, resv[1], resv[3])
        cache[0] = -1
    aux[1], aux[2] = aux[0], head
    return w


@njit(cache=True, inline="always")
def _shadow_for(h, t, st, nodes, req, pool, machine, resv, out_resv):
    """The blocked head's shadow time (:func:`_head_reservation`), noted in ``out_resv`` (the
    earliest promise) and marked as consulted in this pass (``aux[3]``, see :func:`_arrivals_only`)."""
    shadow = _head_reservation(h, t, st, nodes, req, pool, machine, resv)
    if not np.isfinite(out_resv[h]) or shadow < out_resv[h]:
        out_resv[h] = shadow
    resv[8][3] = 1
    return shadow


@njit(cache=True, inline="always")
def _arrivals_only(t, new_lo, new_hi, key, recalc, mode, st, machine, resv):
    """Whether the pass at ``t`` may look at the new arrivals alone (:func:`_pass_arrivals`): no
    job ended since the last pass, the queue order is as it was (a static or multifactor order
    not just recalculated), every new job queues behind the last pass's blocked head, and that
    head's reservation still stands.  Then every job the last pass left waiting still cannot
    start: the machine only filled since, and the reservation and shadow time are the same.  When
    the last pass consulted no reservation (``aux[3]`` = 0: every job behind the head failed the
    pool counters), none is needed for that either."""
    aux, cache = resv[8], resv[5]
    if mode == PRIO_DYNAMIC or recalc or aux[1] != aux[0] or aux[2] == -2:
        return False
    h = aux[2]
    if h >= 0:
        for j in range(new_lo, new_hi):
            if key[j] > key[h]:
                return False
        if machine[4] != 0 and aux[3] == 1 and not (cache[0] == h and cache[1] == st[11][0] and cache[2] > t):
            return False  # the last pass's guard tests used a reservation that no longer stands
    return True


@njit(cache=True, inline="always")
def _pass_arrivals(t, new_lo, new_hi, st, q, nq, key, est, nodes, req, pool, machine, jobs_q, resv, out_resv):
    """The pass when :func:`_arrivals_only` holds: the new jobs, in queue order, against the
    machine and the head's reservation (made when first needed); returns the new queue length."""
    backfill, cnt = machine[4], machine[9]
    aux = resv[8]
    head = aux[2]
    if head >= 0 and backfill == 0:
        return nq  # the new jobs queue behind the blocked job
    shadow = -1.0
    nfail = np.zeros(1, dtype=np.int64)
    new = np.arange(new_lo, new_hi)
    for j in new[np.argsort(-key[new_lo:new_hi], kind="mergesort")]:
        if jobs_q[0][j] >= 0 and _qos_blocked(j, *jobs_q):
            continue
        p = pool[j]
        hp = pool[head] if head >= 0 else -1
        ok = _quick_fit(j, p, False, nodes, machine[2], cnt, machine[10], resv[7])
        guard = False
        if ok and head >= 0 and machine[11][p, hp]:
            if shadow < 0:
                shadow = _shadow_for(head, t, st, nodes, req, pool, machine, resv, out_resv)
            guard = t + est[j] > shadow
            if guard and p == hp:
                ok = _quick_fit(j, p, True, nodes, machine[2], cnt, machine[10], resv[7])
        if ok and _try_start(j, t, guard, st, nodes, req, pool, est, machine, jobs_q, resv, nfail):
            nq = _remove(q, nq, key, j)
            continue
        if head < 0:
            head = j
            if backfill == 0:
                break
            if not np.isfinite(out_resv[j]):
                shadow = _shadow_for(j, t, st, nodes, req, pool, machine, resv, out_resv)
    aux[1], aux[2] = aux[0], head
    return nq


@njit(cache=True)
def _quick_fit(j, p, in_resv_pool, nodes, excl, cnt, jl, rs):
    """The pool counters' test of :func:`_pass` (written out there for speed)."""
    pool_idle, lvl = cnt[0], cnt[2]
    rlvl, slvl, ridle = rs
    n_j = nodes[j]
    if excl:
        return pool_idle[p] - (ridle[0] if in_resv_pool else 0) >= n_j
    free_ub, slack_ub = n_j, n_j
    for r in range(R):
        b = jl[j, r]
        if lvl[p, r, b] < n_j:
            return False
        free_ub = min(free_ub, lvl[p, r, b] - rlvl[r, b])
        slack_ub = min(slack_ub, slvl[r, b])
    return not in_resv_pool or free_ub + slack_ub >= n_j


@njit(cache=True)
def _remove(q, nq, key, j):
    """Take ``j`` out of the queue ``q[:nq]``."""
    for i in range(_position(q, nq, key, j), nq - 1):
        q[i] = q[i + 1]
    return nq - 1


@njit(cache=True, inline="always")
def _try_start(j, t, guard, st, nodes, req, pool, est, machine, jobs_q, resv, nfail):
    """Start ``j`` now if it fits (within the reservation's slack when ``guard``)."""
    free, tot, excl, sel, _, pool_ptr, pool_idx, np_ptr, np_idx, cnt, _, ov = machine
    qpair, _, _, run_jobs, run_gpus, gpus_total = jobs_q
    _, in_resv, slack, _, chosen, _, fails, rs, _, _ = resv
    p = pool[j]
    out = chosen[: nodes[j]]
    if _known_fail(j, p, guard, nodes, req, fails, nfail[0]):
        return False
    if not choose(j, p, free, tot, req, nodes, excl, sel, pool_ptr, pool_idx, in_resv, slack, guard, out, cnt):
        nfail[0] = _note_fail(j, p, guard, nodes, req, fails, nfail[0])
        return False
    h = int(resv[5][0])
    prefix = False
    if h < 0 or not ov[p, pool[h]]:  # no reservation, or one this job's nodes cannot touch
        pass
    elif guard or (t + est[j] > resv[5][2] and sel == SEL_FIRST and within_slack(j, out, req, excl, in_resv, slack)):
        use_slack(j, out, req, in_resv, slack, cnt[3], rs)
        # The reservation stands while jobs start: a job that ends before the shadow time joins
        # the released prefix (the projection at the shadow time stays), and one ending later
        # (guarded, or started ahead of the head in this pass within the reserved nodes' slack)
        # only fills nodes, which keeps the shadow time and first-fit's pick: the picked nodes
        # still fit the head then, other nodes only lose resources.  Best-fit's pick may move to
        # a node left fuller: recompute.
        st[11][0] += 0 if sel == SEL_FIRST else 1
    elif t + est[j] >= resv[5][2]:  # takes what the head needs, or ends at the shadow time
        st[11][0] += 1
    else:
        prefix = True
    _start(j, t, out, st, free, tot, req, excl, np_ptr, np_idx, cnt, est, in_resv, rs)
    if prefix:
        prefix_moves(j, pool[h], 1, out, tot, req, excl, np_ptr, np_idx, resv[9])
    if qpair[j] >= 0:
        run_jobs[qpair[j]] += 1
        run_gpus[qpair[j]] += gpus_total[j]
    return True


@njit(cache=True, inline="always")
def _head_reservation(j, t, st, nodes, req, pool, machine, resv):
    """The shadow time of the blocked head ``j``: the cached reservation when nothing started or
    ended since it was made, else a new one, with its level summary for the quick test."""
    free, tot, excl, sel, _, pool_ptr, pool_idx, np_ptr, np_idx, cnt, _, _ = machine
    scratch, in_resv, slack, resv_nodes, _, cache, _, _, _, _ = resv
    alloc, off, re, rj, nrun_arr, ver = st[1], st[2], st[3], st[4], st[5], st[11]
    if cache[0] == j and cache[1] == ver[0] and cache[2] > t:
        return cache[2]
    if cache[0] >= 0:
        clear_reservation(int(cache[0]), nodes, in_resv, resv_nodes)
    if cache[4] >= 0:
        _mark(int(cache[4]), alloc, off, nodes, resv[9][4], False)
    shadow, k, nt, m_prev = reserve_k(
        j, pool[j], t, free, tot, req, nodes, excl, sel, pool_ptr, pool_idx, np_ptr, np_idx, cnt,
        re, rj, nrun_arr[0], alloc, off, scratch, in_resv, slack, resv_nodes, True,
    )  # fmt: skip
    keep_prefix(nt, scratch, free, resv[9])
    cache[0], cache[1], cache[2], cache[3] = j, ver[0], shadow, 0.0
    if np.isfinite(shadow):  # the level summary, while the reserved nodes' rows are in cache
        resv_levels(j, nodes, free, tot, excl, slack, resv_nodes, cnt[3], resv[7])
        cache[3] = 1.0
    last = k > 0 and np.isfinite(shadow)  # the prefix's last job (see reserve.end_keeps)
    cache[4], cache[5], cache[6] = (rj[k - 1], re[k - 1], m_prev) if last else (-1.0, 0.0, 0.0)
    if last:
        _mark(rj[k - 1], alloc, off, nodes, resv[9][4], True)
    return shadow


@njit(cache=True, inline="always")
def _end_keeps(e, st, est, nodes, req, pool, machine, resv):
    """Whether the cached reservation stands after job ``e`` ended (:func:`.reserve.end_keeps`);
    a reservation already outdated does not."""
    free, tot, excl, np_ptr, np_idx = machine[0], machine[1], machine[2], machine[7], machine[8]
    start, alloc, off, re, rj, nrun_arr, ver = st[0], st[1], st[2], st[3], st[4], st[5], st[11]
    cache = resv[5]
    if cache[1] != ver[0]:
        return False
    h = int(cache[0])
    return end_keeps(
        e, start[e] + est[e], h, pool[h], alloc[off[e] : off[e] + nodes[e]], nodes[h], machine[3], excl, cache,
        re, rj, nrun_arr[0], free, tot, req, np_ptr, np_idx, resv[9], resv[1], resv[2], resv[3], machine[9][3], resv[7],
    )  # fmt: skip


@njit(cache=True)
def _mark(j, alloc, off, nodes, flags, v):
    for q in range(off[j], off[j] + nodes[j]):
        flags[alloc[q]] = v


@njit(cache=True)
def _known_fail(j, p, guard, nodes, req, fails, nfail):
    """A job asking at least as much as one that failed earlier in this pass, in the same pool and
    no less restricted, fails too (a pass only takes resources): no node scan."""
    for k in range(nfail):
        if fails[k, 0] != p or fails[k, 1] > nodes[j] or (fails[k, 2] == 1 and not guard):
            continue
        dominated = True
        for r in range(R):
            if fails[k, 3 + r] > req[j, r]:
                dominated = False
        if dominated:
            return True
    return False


@njit(cache=True)
def _note_fail(j, p, guard, nodes, req, fails, nfail):
    """Remember a failed request (up to ``fails.shape[0]`` per pass; later ones are not kept)."""
    if nfail >= fails.shape[0]:
        return nfail
    fails[nfail, 0], fails[nfail, 1], fails[nfail, 2] = p, nodes[j], 1 if guard else 0
    for r in range(R):
        fails[nfail, 3 + r] = req[j, r]
    return nfail + 1


@njit(cache=True, inline="always")
def _start(j, t, out, st, free, tot, req, excl, np_ptr, np_idx, cnt, est, in_resv, rs):
    start, alloc, off, re, rj, nrun_arr, ht, hj, nh_arr, run, last_charge, _ = st
    start[j] = t
    last_charge[j] = t
    for k in range(out.shape[0]):
        alloc[off[j] + k] = out[k]
    take(j, out, free, tot, req, excl, np_ptr, np_idx, cnt, in_resv, rs)
    _heap_push(ht, hj, nh_arr[0], t + run[j], j)
    nh_arr[0] += 1
    nrun_arr[0] = _run_insert(re, rj, nrun_arr[0], t + est[j], j)


@njit(cache=True)
def _overlap(P, np_ptr, np_idx):
    """``ov[p, q]``: whether pools ``p`` and ``q`` share a node (a reservation in one constrains the other)."""
    ov = np.zeros((P, P), dtype=np.bool_)
    for n in range(np_ptr.shape[0] - 1):
        for a in range(np_ptr[n], np_ptr[n + 1]):
            for b in range(np_ptr[n], np_ptr[n + 1]):
                ov[np_idx[a], np_idx[b]] = True
    return ov


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
    J, N = sub.shape[0], tot.shape[0]
    free = tot.copy()
    cnt = build_counters(tot, pool_ptr, pool_idx, np_ptr, np_idx)
    start = np.full(J, -1.0)
    resv_out = np.full(J, np.inf)
    alloc = np.full(off[J] if J else 0, -1, dtype=np.int64)
    re, rj = np.empty(J + 1), np.empty(J + 1, dtype=np.int64)
    ht, hj = np.empty(J + 1), np.empty(J + 1, dtype=np.int64)
    nrun_arr, nh_arr = np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)
    last_charge = np.zeros(J)
    ver = np.zeros(1, dtype=np.int64)  # a reservation's validity: see _try_start
    st = (start, alloc, off, re, rj, nrun_arr, ht, hj, nh_arr, run, last_charge, ver)
    maxn = max(nodes.max(), 1) if J else 1
    resv = (
        (np.empty((N, R), dtype=np.int64), np.zeros(N, dtype=np.bool_), np.empty(N, dtype=np.int64),
         np.empty(N, dtype=np.int64)),
        np.zeros(N, dtype=np.bool_),
        np.zeros((N, R), dtype=np.int64), np.empty(maxn, dtype=np.int64), np.empty(maxn, dtype=np.int64),
        np.array([-1.0, -1.0, -np.inf, 0.0, -1.0, 0.0, 0.0]), np.zeros((32, 3 + R), dtype=np.int64),
        (np.zeros((R, B + 1), dtype=np.int64), np.zeros((R, B + 1), dtype=np.int64), np.zeros(1, dtype=np.int64)),
        np.array([0, 0, -2, 0], dtype=np.int64),  # aux: job ends so far, at the last pass, its head, resv used
        (np.zeros((N, R), dtype=np.int64), np.zeros(N, dtype=np.bool_), np.empty(N, dtype=np.int64),
         np.zeros(1, dtype=np.int64), np.zeros(N, dtype=np.bool_)),  # the released prefix (reserve.end_keeps)
    )  # fmt: skip
    jl = np.empty((J, R), dtype=np.int64)  # each job's request as fit-index levels
    for j in range(J):
        for r in range(R):
            jl[j, r] = level(req[j, r], cnt[3][r])
    ov = _overlap(pool_ptr.shape[0] - 1, np_ptr, np_idx)
    mach = (free, tot, excl, sel, backfill, pool_ptr, pool_idx, np_ptr, np_idx, cnt, jl, ov)
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
            give_back(j, alloc[off[j] : off[j] + nodes[j]], free, tot, req, excl, np_ptr, np_idx, cnt, resv[1], resv[7])
            if resv[5][0] >= 0 and not _end_keeps(j, st, est, nodes, req, pool, mach, resv):
                ver[0] += 1
            nrun_arr[0] = _run_remove(re, rj, nrun_arr[0], start[j] + est[j], j)
            resv[8][0] += 1
            if qpair[j] >= 0:
                run_jobs[qpair[j]] -= 1
                run_gpus[qpair[j]] -= gpus_total[j]
            if mode == PRIO_MULTIFACTOR:
                pending[mf[6][j]] += cpus_charge[j] * (t - last_charge[j])
        new_lo, recalc = i_arr, False
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
            recalc = True
        elif mode == PRIO_DYNAMIC:
            for i in range(nq):
                jj = q[i]
                key[jj] = -_dyn_score(dyn_code, t, sub[jj], est[jj], procs[jj])
            _resort(q, nq, key)
        if _arrivals_only(t, new_lo, i_arr, key, recalc, mode, st, mach, resv):
            nq = _pass_arrivals(t, new_lo, i_arr, st, q, nq, key, est, nodes, req, pool, mach, jq, resv, resv_out)
        else:
            nq = _pass(t, st, q, nq, est, nodes, req, pool, mach, jq, resv, resv_out)
        passes += 1
    return start, alloc, resv_out, passes


__all__ = ["PRIO_DYNAMIC", "PRIO_MULTIFACTOR", "PRIO_STATIC", "simulate_multi_kernel"]
