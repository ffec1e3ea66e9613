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
                than its estimate the schedule is compressed: in queue priority order, each job
                is lifted out and re-placed at its earliest slot, which is never later than its
                old one (Mu'alem & Feitelson 2001).  So priority decides who gets freed capacity
                first, and no reservation is ever delayed.  Jobs start when their reservation is
                due, in arrival order.  The profile is kept incrementally (:mod:`.profile`: an
                early end frees [now, estimated end); a compression skips the jobs that provably
                cannot move, checks each candidate window from its end backwards so a search
                jumps past the last blocking segment, and shifts the profile once per move), so
                a pass costs about what changed, not queue x profile (CEA-Curie, FCFS: 5.0x
                EASY's time killed, 4.3x run-on; ~12 M candidate checks, 0.8 M moves).
                Jobs that outlive their estimate (``kill_at_request=False``, "run-on"): the plan
                counts an overdue job's units as free from its estimated end on (it is assumed
                to end now).  A due job whose units are still held by an overdue job waits, is
                planned to start now (its reservation slides to [now, now + est)), and makes the
                next pass compress too; a job whose slot the slide overlapped is re-placed from
                now (possibly later).  Due jobs start as soon as they fit.  Reservations are not
                guaranteed under run-on.  Replanning at every event while a due job is blocked
                is cheap: jobs that cannot move are skipped without a search.

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

from schedlab.predict.online import PRED_NONE as PRED_OFF
from schedlab.predict.online import correct, observe, predict
from schedlab.simulator import profile as pr

BF_NONE, BF_EASY, BF_CONSERVATIVE = 0, 1, 2
BFO_QUEUE, BFO_SHORTEST = 0, 1
DYN_STATIC, DYN_WFP3, DYN_UNICEP = 0, 1, 2
# static heuristics whose score needs the estimate, scored when the job arrives (predicted
# estimates are only known then); formulas as in schedlab.policies.static
ARR_SJF, ARR_LJF, ARR_SAF, ARR_LAF, ARR_F1, ARR_F2, ARR_F3, ARR_F4 = 10, 11, 12, 13, 14, 15, 16, 17
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


@njit(cache=True, inline="always")
def _arrival_score(code, r, n, s):
    r1, s1 = max(r, 1.0), max(s, 1.0)
    if code == ARR_SJF:
        return r
    if code == ARR_LJF:
        return -r
    if code == ARR_SAF:
        return n * r
    if code == ARR_LAF:
        return -n * r
    if code == ARR_F1:
        return np.log10(r1) * n + 870.0 * np.log10(s1)
    if code == ARR_F2:
        return np.sqrt(r1) * n + 25600.0 * np.log10(s1)
    if code == ARR_F3:
        return r1 * n + 6.86e6 * np.log10(s1)
    return r1 * np.sqrt(n) + 5.3e5 * np.log10(s1)


@njit(cache=True)
def _correct_overdue(t, corr, start, est_end, req, re, rj, nrun):
    """Running jobs still running at or past their estimated end get a later one by rule ``corr``
    (never past the request: a job past its request keeps it, as under run-on)."""
    k = 0
    while k < nrun and re[k] <= t:
        j = rj[k]
        new_end = start[j] + correct(corr, est_end[j] - start[j], t - start[j], req[j])
        if new_end > t:
            nrun = _run_remove(re, rj, nrun, est_end[j], j)
            est_end[j] = new_end
            nrun = _run_insert(re, rj, nrun, new_end, j)
        else:
            k += 1
    return nrun


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
    """:func:`simulate_kernel_ex` with the given estimates and backfill candidates in queue order."""
    return simulate_kernel_ex(
        submit, run, est, size, capacity, backfill, rank, dyn_code, BFO_QUEUE, PRED_OFF, 0, no_prediction()
    )


@njit(cache=True)
def no_prediction():
    """An empty predictor state (the ``pstate`` argument when ``pred`` is off)."""
    e, f = np.zeros(1, dtype=np.int64), np.zeros(1)
    return (e, f, f, np.zeros((1, 2)), e, f, np.zeros((1, 1)), e)


@njit(cache=True)
def simulate_kernel_ex(submit, run, est, size, capacity, backfill, rank, dyn_code, bf_order, pred, corr, pstate):
    """Simulate one trace.

    submit, run, est : float64[n] (sorted by submit); size : int64[n] units; capacity : units
    backfill : BF_*; rank : int64[n] static priority rank (0 = first), ignored if dyn_code != 0
    bf_order : BFO_QUEUE (backfill candidates in queue order) or BFO_SHORTEST (shortest estimate
    first, ties in queue order: EASY-SJBF)
    pred : PRED_* of :mod:`schedlab.predict.online` (0: ``est`` is given); with a predictor,
    ``est[j]`` is overwritten with the prediction when job j arrives, and ``pstate`` is the tuple
    (key, req, procs, hist, cnt, w, P, seen) of :func:`schedlab.predict.online.new_state`;
    corr : CORR_* rule for a running job that outlives its estimate (EASY and none: its estimated
    end is moved by the rule at the next event; conservative treats it as overdue, like run-on)
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
    use_tree = dyn_code == DYN_STATIC and backfill != BF_CONSERVATIVE and bf_order == BFO_QUEUE
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
    arr_score = np.empty(n if dyn_code >= ARR_SJF else 1)  # scored at arrival (ARR_*)
    # conservative: the profile (see .profile), each job's reservation, the queue in rank order
    cons = backfill == BF_CONSERVATIVE
    pt, pf = np.empty(64), np.empty(64, dtype=np.int64)
    rt, rv = np.empty(64), np.empty(64, dtype=np.int64)
    pt[0], pf[0], rt[0], rv[0] = 0.0, capacity, 0.0, capacity
    ic = np.array([1, 1, 0, 0])  # profile size, records, log size, log epoch (.profile)
    nlog = 2 * n + 64 if cons else 1
    lx, ly, lf = np.empty(nlog), np.empty(nlog), np.empty(nlog, dtype=np.int64)
    cres = np.full(n if cons else 1, INF)
    ver, vep = np.zeros(n if cons else 1, dtype=np.int64), np.zeros(n if cons else 1, dtype=np.int64)
    qr = np.empty(n if cons and dyn_code == DYN_STATIC else 1, dtype=np.int64)
    nqr = 0
    dirty = False  # a job ended before its estimate, or a due job was blocked
    nblk = 0  # due jobs that did not fit at the last pass
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
            if not cons:
                nrun = _run_remove(re, rj, nrun, est_end[j], j)
            done += 1
            if pred != PRED_OFF:
                ps = pstate
                observe(pred, ps[0][j], run[j], ps[1][j], ps[2][j], ps[3], ps[4], ps[5], ps[6], ps[7])
            if cons and t < est_end[j]:
                dirty = True
                if ic[0] + 4 > pt.shape[0]:
                    pt, pf, rt, rv = pr.grow(pt, pf, rt, rv, ic[0] + 4)
                pr.free_early(pt, pf, rt, rv, lx, ly, lf, ic, t, est_end[j], size[j])
        # ---- 2. all arrivals at t
        first_new = nq
        while nxt < n and submit[nxt] <= t:
            if pred != PRED_OFF:
                ps = pstate
                est[nxt] = predict(pred, ps[0][nxt], ps[1][nxt], ps[2][nxt], ps[3], ps[4], ps[5], ps[6], ps[7])
                if dyn_code >= ARR_SJF:
                    arr_score[nxt] = _arrival_score(dyn_code, est[nxt], ps[2][nxt], submit[nxt])
            if use_tree:
                _seg_set(msize, mest, M, rank[nxt], size[nxt], est[nxt])
            else:
                q[nq] = nxt
                nq += 1
            nxt += 1
        passes += 1
        if pred != PRED_OFF and not cons:  # running jobs past their estimate: corrected by the rule
            nrun = _correct_overdue(t, corr, start, est_end, pstate[1], re, rj, nrun)
        # ---- 3. one scheduling pass
        if cons:
            if ic[0] + 8 * nq + 64 > pt.shape[0]:
                pt, pf, rt, rv = pr.grow(pt, pf, rt, rv, ic[0] + 8 * nq + 64)
            if dirty or nq > first_new or nblk > 0:
                pr.compact(pt, pf, rt, rv, ic, t)
            if nblk > 0:  # due jobs still blocked are planned to start now
                pr.slide_due(q, first_new, cres, t, est, size, pt, pf, ic)
            if dirty and first_new > 0:  # compress, in priority order
                jobs = qr
                if dyn_code != DYN_STATIC:
                    for k in range(first_new):
                        j = q[k]
                        if dyn_code >= ARR_SJF:  # scored on its prediction when it arrived
                            scores[k] = arr_score[j]
                        else:
                            scores[k] = _dyn_score(dyn_code, t, submit[j], est[j] if est[j] > 0 else 1.0, size[j])
                    jobs = q[:first_new][np.argsort(scores[:first_new], kind="mergesort")]
                pr.compress(jobs, first_new, cres, t, est, size, pt, pf, rt, rv, lx, ly, lf, ver, vep, ic)
            if nq > first_new:  # reservations for new arrivals: simultaneous ones in priority order
                nqr = pr.enqueue(q, first_new, nq, qr, nqr, rank, dyn_code == DYN_STATIC)
                pr.reserve_new(q, first_new, nq, cres, t, est, size, resv, pt, pf, rt, rv, ver, vep, ic)
            # start jobs whose reservation is due, in arrival order; keep the rest
            w, nblk, next_res = 0, 0, INF
            for k in range(nq):
                j = q[k]
                if cres[j] <= t and size[j] <= free:
                    free -= size[j]
                    start[j], est_end[j] = t, t + est[j]
                    nh = _heap_push(ht, hj, nh, t + run[j], j)
                else:
                    if cres[j] <= t:
                        nblk += 1
                    elif cres[j] < next_res:
                        next_res = cres[j]
                    q[w] = j
                    w += 1
            if w < nq and dyn_code == DYN_STATIC:
                nqr = pr.drop_started(qr, nqr, start)
            nq = w
            dirty = nblk > 0  # a due job was blocked (an overdue job holds its units): replan next time
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

        # ---- dynamic priority (or a backfill order of its own): sort the queue by score at t
        # (stable: ties by submit order)
        for k in range(nq):
            j = q[k]
            if dyn_code == DYN_STATIC:
                scores[k] = rank[j]
            elif dyn_code >= ARR_SJF:
                scores[k] = arr_score[j]
            else:
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
                cands, lo, tk = qs, k + 1, taken
                if bf_order == BFO_SHORTEST:
                    by_est = np.argsort(est[qs[k + 1 : nq]], kind="mergesort")
                    cands, lo, tk = qs[k + 1 : nq][by_est], 0, np.zeros(nq - k - 1, dtype=np.bool_)
                free, extra, nh, nrun = _easy_backfill(
                    cands,
                    lo,
                    cands.shape[0] if bf_order == BFO_SHORTEST else nq,
                    -1,
                    tk,
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
                if bf_order == BFO_SHORTEST:
                    for i in range(tk.shape[0]):
                        if tk[i]:
                            taken[k + 1 + by_est[i]] = True
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
