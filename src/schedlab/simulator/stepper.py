"""The step-wise engine: the engine's rules, paused at every scheduling decision.

RL agents (and anything else that wants to choose jobs one at a time) drive this instead of
:func:`.engine.simulate_kernel`.  It reuses the engine's pieces (completion heap, running list
sorted by estimated end, ``_start``, ``_shadow`` and EASY's ``_easy_backfill``), so there is one
copy of the scheduling rules.  Time and ordering are the engine's: at each event time ``t`` all
completions, then all arrivals, then a scheduling pass; here the pass is a sequence of decisions:

* a decision is due at ``t`` while the queue is non-empty and the pass is not over;
* the agent picks a waiting job (by its slot in the queue, see below).  If it fits it starts now
  and another decision is due at ``t``.  If it does not fit it becomes the *reserved* job: it gets
  EASY's shadow time and extra units, and the pass ends after backfilling, which follows the mode:
    none   nothing else starts;
    easy   the engine's EASY backfill over the other waiting jobs, in queue order;
    agent  the agent picks backfill jobs one at a time among the jobs that pass EASY's test
           (fit now and end by the shadow time or use only the extra units), or ``stop``;
* then the clock moves to the next event.

The waiting queue ``q`` is kept sorted by a static *queue order* (``rank``; FCFS by default):
its first ``W`` jobs are the ones an agent sees.  EASY tries backfill candidates in a static
*backfill order* (``brank``; e.g. SJF).  A heuristic agent that always picks slot 0, with ``rank``
and ``brank`` both the policy's priority ranks, reproduces ``simulate(policy, backfill)`` exactly
(tested).

State lives in two small arrays so one numba call advances the simulation:
``ist`` (int64) and ``fst`` (float64), indexed by the ``I_*`` / ``F_*`` constants.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from schedlab.simulator.engine import (
    INF,
    _bisect,
    _easy_backfill,
    _easy_fits,
    _heap_pop,
    _run_remove,
    _shadow,
    _start,
)

MODE_NONE, MODE_EASY, MODE_AGENT = 0, 1, 2
MODES = {"none": MODE_NONE, "easy": MODE_EASY, "agent": MODE_AGENT}

(I_FREE, I_NH, I_NRUN, I_NQ, I_NXT, I_STARTED, I_PHASE, I_RESV, I_PENDING, I_EXTRA, I_DECISIONS) = range(11)
F_T, F_SHADOW = 0, 1
N_ISTATE, N_FSTATE = 11, 2

#: Per-job observation features (one row per visible slot), in order.
JOB_FEATURES = (
    "valid",  # 1 for a waiting job in this slot, 0 for padding (all other features 0)
    "wait",  # time waited so far: log1p(wait/60) / log1p(10080) (1 = a week), clipped to 1
    "req_time",  # requested time, same log-minutes scale
    "procs",  # units requested / machine capacity
    "fits_now",  # 1 if it fits in the free units now
    "start_delay",  # if reserved now: shadow time - now (running jobs end at their estimates), log-minutes
    "bsld_if_now",  # bounded slowdown if started now, (wait + req) / max(req, 10): log10(.)/3, clipped
    "backfillable",  # backfill phase: 1 if it passes EASY's test around the reserved job
    "reserved",  # 1 for the reserved job (backfill phase)
)
#: Cluster features appended after the W job rows, in order.
HORIZONS = (600.0, 1800.0, 3600.0, 3 * 3600.0, 12 * 3600.0, 48 * 3600.0)
CLUSTER_FEATURES = (
    "free",  # free units / capacity
    "queue_length",  # waiting jobs n / (n + W)
    "phase",  # 0 = pick a job to run or reserve, 1 = pick a backfill job or stop
    *(f"free_by_{int(h // 60)}min" for h in HORIZONS),  # units free by now + h if running jobs end at estimates
    "resv_delay",  # backfill phase: reserved job's shadow time - now, log-minutes
    "extra",  # backfill phase: extra units / capacity
)
N_JOB_FEATURES, N_CLUSTER_FEATURES = len(JOB_FEATURES), len(CLUSTER_FEATURES)
_LOGWEEK = np.log1p(10080.0)


@njit(cache=True, inline="always")
def _logmin(x):
    v = np.log1p(max(x, 0.0) / 60.0) / _LOGWEEK
    return min(v, 1.0)


@njit(cache=True)
def step_reset(n, capacity, ist, fst):
    ist[:] = 0
    ist[I_FREE] = capacity
    ist[I_RESV] = -1
    fst[:] = 0.0
    fst[F_SHADOW] = INF


@njit(cache=True)
def step_advance(submit, run, est, size, rank, start, est_end, ht, hj, re, rj, q, ist, fst):
    """Move the clock until a decision is due; True when every job has started (episode over)."""
    n = submit.shape[0]
    while True:
        if ist[I_PENDING] == 1 and ist[I_NQ] > 0:
            return False
        if ist[I_STARTED] == n:
            return True
        nh, nxt, free, nrun, nq = ist[I_NH], ist[I_NXT], ist[I_FREE], ist[I_NRUN], ist[I_NQ]
        t = INF
        if nh > 0:
            t = ht[0]
        if nxt < n and submit[nxt] < t:
            t = submit[nxt]
        while nh > 0 and ht[0] <= t:  # 1. completions
            j = hj[0]
            nh = _heap_pop(ht, hj, nh)
            free += size[j]
            nrun = _run_remove(re, rj, nrun, est_end[j], j)
        while nxt < n and submit[nxt] <= t:  # 2. arrivals, kept in queue order
            k = nq
            while k > 0 and rank[q[k - 1]] > rank[nxt]:
                q[k] = q[k - 1]
                k -= 1
            q[k] = nxt
            nq += 1
            nxt += 1
        ist[I_NH], ist[I_NXT], ist[I_FREE], ist[I_NRUN], ist[I_NQ] = nh, nxt, free, nrun, nq
        ist[I_PENDING] = 1 if nq > 0 else 0
        ist[I_PHASE] = 0
        ist[I_RESV] = -1
        fst[F_T] = t
        fst[F_SHADOW] = INF


@njit(cache=True)
def _remove_slot(q, nq, k):
    for m in range(k, nq - 1):
        q[m] = q[m + 1]
    return nq - 1


@njit(cache=True)
def _any_backfillable(q, nq, size, est, ist, fst):
    T = fst[F_SHADOW] - fst[F_T]
    for k in range(nq):
        j = q[k]
        if j != ist[I_RESV] and _easy_fits(size[j], est[j], ist[I_FREE], ist[I_EXTRA], T):
            return True
    return False


@njit(cache=True)
def step_act(slot, mode, brank, submit, run, est, size, start, est_end, ht, hj, re, rj, q, ist, fst):
    """Apply one decision (a queue slot, or ``stop`` = any slot >= the queue length in the backfill
    phase).  Returns (job, started, max_wait_before): the chosen job (-1 for stop), 1 if it
    started now, and the longest wait in the queue before the decision (for DRAS's reward)."""
    t = fst[F_T]
    nq = ist[I_NQ]
    maxw = 0.0
    for k in range(nq):
        maxw = max(maxw, t - submit[q[k]])
    ist[I_DECISIONS] += 1
    free, nh, nrun = ist[I_FREE], ist[I_NH], ist[I_NRUN]
    if ist[I_PHASE] == 1:  # backfill phase (mode agent)
        if slot >= nq:
            ist[I_PHASE] = 0
            ist[I_PENDING] = 0
            return -1, 0, maxw
        j = q[slot]
        T = fst[F_SHADOW] - t
        free -= size[j]
        if est[j] > T:
            ist[I_EXTRA] -= size[j]
        nh, nrun = _start(j, t, start, est_end, est, run, ht, hj, nh, re, rj, nrun)
        ist[I_FREE], ist[I_NH], ist[I_NRUN] = free, nh, nrun
        ist[I_NQ] = _remove_slot(q, nq, slot)
        ist[I_STARTED] += 1
        if not _any_backfillable(q, ist[I_NQ], size, est, ist, fst):
            ist[I_PHASE] = 0
            ist[I_PENDING] = 0
        return j, 1, maxw
    j = q[slot]
    if size[j] <= free:  # start it; another decision is due at t
        nh, nrun = _start(j, t, start, est_end, est, run, ht, hj, nh, re, rj, nrun)
        ist[I_FREE], ist[I_NH], ist[I_NRUN] = free - size[j], nh, nrun
        ist[I_NQ] = _remove_slot(q, nq, slot)
        ist[I_STARTED] += 1
        return j, 1, maxw
    # reserve it: shadow time and extra units, then backfill per mode; the pass ends
    shadow, extra = _shadow(re, rj, nrun, size, free, size[j], t)
    ist[I_RESV] = j
    ist[I_EXTRA] = extra
    fst[F_SHADOW] = shadow
    if mode == MODE_EASY:
        # EASY over the other waiting jobs, tried in backfill order (brank), then compact the queue
        order = np.argsort(brank[q[:nq]], kind="mergesort")
        cands = q[:nq][order]
        skip = -1
        for k in range(nq):
            if cands[k] == j:
                skip = k
        taken = np.zeros(nq, dtype=np.bool_)
        free, extra, nh, nrun = _easy_backfill(
            cands,
            0,
            nq,
            skip,
            taken,
            free,
            extra,
            shadow - t,
            t,
            start,
            est_end,
            est,
            run,
            size,
            ht,
            hj,
            nh,
            re,
            rj,
            nrun,
        )
        w = 0
        for k in range(nq):
            if start[q[k]] < 0:
                q[w] = q[k]
                w += 1
            else:
                ist[I_STARTED] += 1
        ist[I_FREE], ist[I_NH], ist[I_NRUN], ist[I_NQ], ist[I_EXTRA] = free, nh, nrun, w, extra
        ist[I_PENDING] = 0
    elif mode == MODE_AGENT and _any_backfillable(q, nq, size, est, ist, fst):
        ist[I_PHASE] = 1
    else:
        ist[I_PENDING] = 0
    return j, 0, maxw


@njit(cache=True)
def step_observe(W, capacity, submit, est, size, re, rj, q, ist, fst, obs, mask):
    """Fill ``obs`` (W * N_JOB_FEATURES + N_CLUSTER_FEATURES, float32) and ``mask`` (bool; W slots,
    plus a last ``stop`` slot when it has W + 1 entries) for the decision now due."""
    t = fst[F_T]
    free, nq, nrun, phase = ist[I_FREE], ist[I_NQ], ist[I_NRUN], ist[I_PHASE]
    F = N_JOB_FEATURES
    obs[:] = 0.0
    mask[:] = False
    # units released (cumulatively) as running jobs reach their estimated ends, in end order
    cum = np.empty(nrun + 1, dtype=np.int64)
    cum[0] = free
    for k in range(nrun):
        cum[k + 1] = cum[k] + size[rj[k]]
    T = fst[F_SHADOW] - t
    nv = min(nq, W)
    for k in range(nv):
        j = q[k]
        w = t - submit[j]
        r = est[j]
        s = size[j]
        o = k * F
        obs[o] = 1.0
        obs[o + 1] = _logmin(w)
        obs[o + 2] = _logmin(r)
        obs[o + 3] = s / capacity
        if s <= free:
            obs[o + 4] = 1.0
        else:
            m = _bisect(cum, nrun + 1, s, False)  # first prefix with >= s units
            obs[o + 5] = _logmin(re[m - 1] - t)
        obs[o + 6] = min(np.log10(max((w + r) / max(r, 10.0), 1.0)) / 3.0, 1.0)
        if phase == 1:
            if j == ist[I_RESV]:
                obs[o + 8] = 1.0
            elif _easy_fits(s, r, free, ist[I_EXTRA], T):
                obs[o + 7] = 1.0
                mask[k] = True
        else:
            mask[k] = True
    g = W * F
    obs[g] = free / capacity
    obs[g + 1] = nq / (nq + W)
    obs[g + 2] = phase
    m = 0
    for h in range(len(HORIZONS)):
        while m < nrun and re[m] <= t + HORIZONS[h]:
            m += 1
        obs[g + 3 + h] = cum[m] / capacity
    if phase == 1:
        obs[g + 3 + len(HORIZONS)] = _logmin(T)
        obs[g + 4 + len(HORIZONS)] = ist[I_EXTRA] / capacity
        if mask.shape[0] > W:
            mask[W] = True
