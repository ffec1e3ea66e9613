"""The discrete-event engine (numba-compiled).

Time and ordering, made explicit:

* Events are job arrivals (submit times) and job completions (start + effective runtime).
* The clock jumps to the next distinct event time ``t``.  At ``t`` the engine first applies
  **all completions** at ``t`` (their processors are free again), then **all arrivals** at ``t``
  (they join the queue), then runs **one scheduling pass**.  So a job ending at ``t`` and a job
  starting at ``t`` never overlap in the usage accounting.
* A scheduling pass starts jobs in queue-priority order while the head of the queue fits, then
  backfills according to the mode:

  none          nothing else starts (strict priority order).
  easy          EASY (Lifka 1995; Mu'alem & Feitelson 2001): the head job gets a reservation at
                the *shadow time*, the earliest time enough processors are free if running jobs
                end at start + estimate; any later job (in priority order) starts now if it fits
                in the free processors and either ends (now + estimate) by the shadow time or
                uses only the *extra* processors (those still free at the shadow time after the
                head job starts).  Recomputed at every pass.
  conservative  every waiting job holds a reservation in an availability profile.  A job gets
                its reservation when it arrives (earliest slot that delays no earlier
                reservation; simultaneous arrivals in priority order).  When a job ends earlier
                than its estimate the profile is rebuilt and the schedule compressed: in queue
                priority order, each job is lifted out and re-placed at its earliest slot, which
                is never later than its old one (Mu'alem & Feitelson 2001).  So priority decides
                who gets freed capacity first, and no reservation is ever delayed.  Jobs start
                when their reservation is due.

Queue priority is either *static* (a score per job fixed at submit: FCFS, SJF, F1, ...), kept in
a segment tree over the jobs' priority ranks so that the head and the next backfill candidate
are found in O(log N) without scanning the queue, or *dynamic* (depends on the current time:
WFP3, UNICEP), re-sorted at every pass.  Ties are broken by submit order.

All times are float64 seconds.  ``est`` is what the scheduler believes (requested time or the
actual runtime), ``run`` what happens (already clipped to the request when jobs are killed).
"""

from __future__ import annotations

import numpy as np
from numba import njit

BF_NONE, BF_EASY, BF_CONSERVATIVE = 0, 1, 2
DYN_STATIC, DYN_WFP3, DYN_UNICEP = 0, 1, 2
INF = np.inf


# ----------------------------------------------------------------------------- binary heap
@njit(cache=True, inline="always")
def _heap_push(ht, hj, n, t, j):
    i = n
    ht[i] = t
    hj[i] = j
    while i > 0:
        p = (i - 1) >> 1
        if ht[p] <= ht[i]:
            break
        ht[p], ht[i] = ht[i], ht[p]
        hj[p], hj[i] = hj[i], hj[p]
        i = p
    return n + 1


@njit(cache=True, inline="always")
def _heap_pop(ht, hj, n):
    n -= 1
    ht[0] = ht[n]
    hj[0] = hj[n]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= n:
            break
        c = left
        if left + 1 < n and ht[left + 1] < ht[left]:
            c = left + 1
        if ht[i] <= ht[c]:
            break
        ht[c], ht[i] = ht[i], ht[c]
        hj[c], hj[i] = hj[i], hj[c]
        i = c
    return n


# ----------------------------------------------------- segment tree over priority ranks
@njit(cache=True, inline="always")
def _seg_set(msize, mest, M, r, s, e):
    i = r + M
    msize[i] = s
    mest[i] = e
    i >>= 1
    while i >= 1:
        a = 2 * i
        msize[i] = min(msize[a], msize[a + 1])
        mest[i] = min(mest[a], mest[a + 1])
        i >>= 1


@njit(cache=True, inline="always")
def _seg_ok(msize, mest, i, a, b, T):
    # may subtree i hold a job with size <= a, or size <= b and est <= T?
    m = msize[i]
    return m <= a or (m <= b and mest[i] <= T)


@njit(cache=True)
def _seg_find(msize, mest, M, p, a, b, T):
    """Leftmost rank >= p whose job has size <= a, or size <= b and est <= T; -1 if none."""
    if p >= M:
        return -1
    i = p + M
    while True:
        if _seg_ok(msize, mest, i, a, b, T):
            while i < M:
                if _seg_ok(msize, mest, 2 * i, a, b, T):
                    i = 2 * i
                elif _seg_ok(msize, mest, 2 * i + 1, a, b, T):
                    i = 2 * i + 1
                else:
                    break
            if i >= M:
                return i - M
        while i & 1:
            i >>= 1
        if i == 0:
            return -1
        i += 1


# ------------------------------------------- running jobs sorted by estimated end time
@njit(cache=True, inline="always")
def _bisect(a, n, x, right):
    """Insertion point of x in sorted a[:n]: after equal values if ``right``, else before."""
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < x or (right and a[mid] == x):
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, inline="always")
def _run_insert(re, rj, n, e, j):
    lo = _bisect(re, n, e, True)
    for k in range(n, lo, -1):
        re[k] = re[k - 1]
        rj[k] = rj[k - 1]
    re[lo] = e
    rj[lo] = j
    return n + 1


@njit(cache=True, inline="always")
def _run_remove(re, rj, n, e, j):
    k = _bisect(re, n, e, False)
    while rj[k] != j:
        k += 1
    for q in range(k, n - 1):
        re[q] = re[q + 1]
        rj[q] = rj[q + 1]
    return n - 1


@njit(cache=True)
def _shadow(re, rj, nrun, size, free, need, t):
    """Earliest time `need` units are free if running jobs end at their estimates; extra units."""
    avail = free
    for k in range(nrun):
        avail += size[rj[k]]
        if avail >= need:
            return max(re[k], t), avail - need
    return INF, 0  # unreachable when need <= capacity


# --------------------------------------------------------------- availability profile
@njit(cache=True)
def _prof_earliest(pt, pf, np_, t, d, s):
    """Earliest start >= t with at least s free units during [start, start + d)."""
    k = 0
    while k + 1 < np_ and pt[k + 1] <= t:
        k += 1
    start = max(t, pt[k])
    while True:
        j = k
        ok = True
        while j < np_ and (j == k or pt[j] < start + d):
            if pf[j] < s:
                ok = False
                break
            j += 1
        if ok:
            return start
        k = j + 1
        start = pt[k]


@njit(cache=True)
def _prof_split(pt, pf, np_, x):
    """Make x a breakpoint; returns (index of the segment starting at x, new count)."""
    k = _bisect(pt, np_, x, True) - 1  # segment containing x
    if pt[k] == x:
        return k, np_
    for q in range(np_, k + 1, -1):
        pt[q] = pt[q - 1]
        pf[q] = pf[q - 1]
    pt[k + 1] = x
    pf[k + 1] = pf[k]
    return k + 1, np_ + 1


@njit(cache=True)
def _prof_reserve(pt, pf, np_, a, b, s):
    """Take s units during [a, b)."""
    if b <= a:
        return np_
    ka, np_ = _prof_split(pt, pf, np_, a)
    if b < INF:
        kb, np_ = _prof_split(pt, pf, np_, b)
    else:
        kb = np_
    for q in range(ka, kb):
        pf[q] -= s
    return np_


@njit(cache=True)
def _prof_trim(pt, pf, np_, t):
    """Drop breakpoints before t (the segment containing t now starts at t)."""
    k = 0
    while k + 1 < np_ and pt[k + 1] <= t:
        k += 1
    if k > 0:
        for q in range(k, np_):
            pt[q - k] = pt[q]
            pf[q - k] = pf[q]
        np_ -= k
    pt[0] = t
    return np_


@njit(cache=True, inline="always")
def _start(j, t, start, est_end, est, run, ht, hj, nh, re, rj, nrun):
    """Start job j at t: record it, queue its completion, add it to the running list."""
    start[j] = t
    est_end[j] = t + est[j]
    nh = _heap_push(ht, hj, nh, t + run[j], j)
    nrun = _run_insert(re, rj, nrun, est_end[j], j)
    return nh, nrun


@njit(cache=True, inline="always")
def _end_streak(resv, start, prev_head, h):
    """The previous blocked head was overtaken (not started): its reservation no longer holds."""
    if prev_head >= 0 and prev_head != h and start[prev_head] < 0:
        resv[prev_head] = INF


@njit(cache=True, inline="always")
def _easy_fits(sj, ej, free, extra, T):
    """EASY's backfill test: fits now, and ends by the shadow time or uses only extra units."""
    return sj <= free and (ej <= T or sj <= extra)


@njit(cache=True)
def _easy_backfill(
    cands, lo, hi, skip, taken, free, extra, T, t, start, est_end, est, run, size, ht, hj, nh, re, rj, nrun
):
    """Start, in order, every job cands[lo:hi] (but slot ``skip``) that passes EASY's test.

    T is the shadow time minus now.  Marks started slots in ``taken``.  Shared by the engine's
    dynamic-priority pass and the step-wise engine (:mod:`.stepper`) that RL agents drive.
    """
    for kk in range(lo, hi):
        if free <= 0:
            break
        if kk == skip:
            continue
        j = cands[kk]
        if _easy_fits(size[j], est[j], free, extra, T):
            free -= size[j]
            if est[j] > T:
                extra -= size[j]
            nh, nrun = _start(j, t, start, est_end, est, run, ht, hj, nh, re, rj, nrun)
            taken[kk] = True
    return free, extra, nh, nrun


# ------------------------------------------------------------------------ the engine
@njit(cache=True, inline="always")
def _dyn_score(code, now, sub, r, n):
    w = now - sub
    if code == DYN_WFP3:
        q = w / r
        return -(q * q * q) * n
    # UNICEP: wait / (log2(procs) * req_time); log2 floored at 1 so 1-proc jobs are defined
    lg = np.log2(n) if n > 2 else 1.0
    return -w / (lg * r)


@njit(cache=True)
def simulate_kernel(submit, run, est, size, capacity, backfill, rank, dyn_code):
    """Simulate one trace.

    submit, run, est : float64[n] (sorted by submit); size : int64[n] units; capacity : units
    backfill : BF_*; rank : int64[n] static priority rank (0 = first), ignored if dyn_code != 0
    Returns (start[n], reservation[n], passes).  ``reservation`` holds, for EASY, the shadow time
    given to the job when it last became the blocked head of the queue, and for conservative the
    reservation made when it arrived (inf if it never needed one).

    One event loop over state kept in locals, on purpose: split into per-pass functions (the
    conservative, static-priority and dynamic-priority passes, each a numba function taking the
    arrays it touches), the same schedules ran 1.3-1.8x slower (FCFS+EASY on theta_2022 and on a
    300k-job resample, measured side by side), inlined or not.  The helpers above hold the parts
    that can be separate at no cost.
    """
    n = submit.shape[0]
    start = np.full(n, -1.0)
    resv = np.full(n, INF)
    est_end = np.zeros(n)
    # completions heap
    ht = np.empty(n)
    hj = np.empty(n, dtype=np.int64)
    nh = 0
    # running jobs sorted by estimated end
    re = np.empty(n)
    rj = np.empty(n, dtype=np.int64)
    nrun = 0
    # static queue: segment tree over ranks
    M = 1
    while max(n, 1) > M:
        M *= 2
    use_tree = dyn_code == DYN_STATIC and backfill != BF_CONSERVATIVE
    big = np.int64(capacity + 1)
    if use_tree:
        msize = np.full(2 * M, big, dtype=np.int64)
        mest = np.full(2 * M, INF)
        job_of_rank = np.empty(M, dtype=np.int64)
        for j in range(n):
            job_of_rank[rank[j]] = j
    else:
        msize = np.empty(1, dtype=np.int64)
        mest = np.empty(1)
        job_of_rank = np.empty(1, dtype=np.int64)
    # dynamic / conservative queue: job indices in arrival order
    q = np.empty(n, dtype=np.int64)
    nq = 0
    scores = np.empty(n)  # dynamic priority of each queue slot
    qres = np.empty(n)  # conservative: reservation time of each queue slot
    # conservative profile
    cap_prof = 4 * n + 8 if backfill == BF_CONSERVATIVE else 1
    pt = np.empty(cap_prof)
    pf = np.empty(cap_prof, dtype=np.int64)
    npf = 1
    pt[0] = 0.0
    pf[0] = capacity
    dirty = False
    next_res = INF

    free = np.int64(capacity)
    nxt = 0  # next arrival
    prev_head = -1
    passes = 0
    done = 0
    while done < n:
        # ---- next event time: completion, arrival, or a due reservation (conservative)
        t = INF
        if nh > 0:
            t = ht[0]
        if nxt < n and submit[nxt] < t:
            t = submit[nxt]
        if next_res < t:
            t = next_res
        # ---- 1. all completions at t
        while nh > 0 and ht[0] <= t:
            j = hj[0]
            nh = _heap_pop(ht, hj, nh)
            free += size[j]
            nrun = _run_remove(re, rj, nrun, est_end[j], j)
            done += 1
            if t < est_end[j]:
                dirty = True
        # ---- 2. all arrivals at t
        first_new = nq
        while nxt < n and submit[nxt] <= t:
            if use_tree:
                _seg_set(msize, mest, M, rank[nxt], size[nxt], est[nxt])
            else:
                q[nq] = nxt
                nq += 1
            nxt += 1
        passes += 1
        # ---- 3. one scheduling pass
        if backfill == BF_CONSERVATIVE:
            # (re)build the profile when reality left it (early completion, overdue job)
            if dirty:
                npf = 1
                pt[0] = t
                pf[0] = capacity
                for k in range(nrun):
                    npf = _prof_reserve(pt, pf, npf, t, max(re[k], t), size[rj[k]])
                # compress: lay the old reservations back (still feasible: running jobs end no
                # later than planned), then, in priority order, lift each job out and put it at
                # its earliest slot.  Its old slot is free, so no job ever moves later, and
                # higher-priority jobs get the first pick of the freed capacity.
                if first_new > 0:
                    for k in range(first_new):
                        j = q[k]
                        a = max(qres[k], t)
                        npf = _prof_reserve(pt, pf, npf, a, a + est[j], size[j])
                        qres[k] = a
                    prio = np.empty(first_new)
                    for k in range(first_new):
                        j = q[k]
                        if dyn_code == DYN_STATIC:
                            prio[k] = rank[j]
                        else:
                            prio[k] = _dyn_score(dyn_code, t, submit[j], est[j] if est[j] > 0 else 1.0, size[j])
                    for k in np.argsort(prio, kind="mergesort"):
                        j = q[k]
                        a = qres[k]
                        npf = _prof_reserve(pt, pf, npf, a, a + est[j], -size[j])
                        s0 = _prof_earliest(pt, pf, npf, t, est[j], size[j])
                        qres[k] = s0
                        npf = _prof_reserve(pt, pf, npf, s0, s0 + est[j], size[j])
                dirty = False
            else:
                npf = _prof_trim(pt, pf, npf, t)
            # reservations for new arrivals: simultaneous arrivals in priority order
            if dyn_code == DYN_STATIC and nq - first_new > 1:
                seg = q[first_new:nq].copy()
                q[first_new:nq] = seg[np.argsort(rank[seg], kind="mergesort")]
            for k in range(first_new, nq):
                j = q[k]
                s0 = _prof_earliest(pt, pf, npf, t, est[j], size[j])
                qres[k] = s0
                resv[j] = s0
                npf = _prof_reserve(pt, pf, npf, s0, s0 + est[j], size[j])
            # start jobs whose reservation is due; keep the rest
            w = 0
            next_res = INF
            for k in range(nq):
                j = q[k]
                if qres[k] <= t and size[j] <= free:
                    free -= size[j]
                    nh, nrun = _start(j, t, start, est_end, est, run, ht, hj, nh, re, rj, nrun)
                else:
                    if qres[k] <= t:
                        dirty = True  # due but blocked by an overdue job: replan next time
                    elif qres[k] < next_res:
                        next_res = qres[k]
                    q[w] = j
                    qres[w] = qres[k]
                    w += 1
            nq = w
            continue

        if use_tree:
            # start from the head while it fits
            overtaken = False  # did any job start ahead of last pass's blocked head?
            while True:
                r = _seg_find(msize, mest, M, 0, capacity, capacity, -1.0)
                if r < 0:
                    break
                h = job_of_rank[r]
                if size[h] > free:
                    break
                overtaken = True
                free -= size[h]
                _seg_set(msize, mest, M, r, big, INF)
                nh, nrun = _start(h, t, start, est_end, est, run, ht, hj, nh, re, rj, nrun)
            if r < 0:
                _end_streak(resv, start, prev_head, -1)
                prev_head = -1
                continue
            if backfill == BF_EASY:
                shadow, extra = _shadow(re, rj, nrun, size, free, size[h], t)
                _end_streak(resv, start, prev_head, h)
                if h != prev_head or overtaken:  # a new head streak: record its reservation
                    resv[h] = shadow
                prev_head = h
                T = shadow - t
                p = r + 1
                while free > 0:
                    rr = _seg_find(msize, mest, M, p, min(free, extra), free, T)
                    if rr < 0:
                        break
                    j = job_of_rank[rr]
                    free -= size[j]
                    if est[j] > T:
                        extra -= size[j]
                    _seg_set(msize, mest, M, rr, big, INF)
                    nh, nrun = _start(j, t, start, est_end, est, run, ht, hj, nh, re, rj, nrun)
                    p = rr + 1
            else:
                _end_streak(resv, start, prev_head, h)
                prev_head = h
            continue

        # ---- dynamic priority: sort the queue by score at t (stable: ties by submit order)
        for k in range(nq):
            j = q[k]
            scores[k] = _dyn_score(dyn_code, t, submit[j], est[j] if est[j] > 0 else 1.0, size[j])
        order = np.argsort(scores[:nq], kind="mergesort")
        qs = q[:nq][order]
        taken = np.zeros(nq, dtype=np.bool_)
        k = 0
        while k < nq and size[qs[k]] <= free:
            j = qs[k]
            free -= size[j]
            nh, nrun = _start(j, t, start, est_end, est, run, ht, hj, nh, re, rj, nrun)
            taken[k] = True
            k += 1
        if k < nq:
            h = qs[k]
            if backfill == BF_EASY:
                shadow, extra = _shadow(re, rj, nrun, size, free, size[h], t)
                _end_streak(resv, start, prev_head, h)
                if h != prev_head or k > 0:  # a new head streak: record its reservation
                    resv[h] = shadow
                free, extra, nh, nrun = _easy_backfill(
                    qs,
                    k + 1,
                    nq,
                    -1,
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
            _end_streak(resv, start, prev_head, h)
            prev_head = h
        else:
            _end_streak(resv, start, prev_head, -1)
            prev_head = -1
        w = 0
        for kk in range(nq):
            if not taken[kk]:
                q[w] = qs[kk]
                w += 1
        # keep arrival order for the next stable sort
        q[:w] = np.sort(q[:w])
        nq = w
    return start, resv, passes
