"""The availability profile of conservative backfilling, kept incrementally (numba).

The profile is a step function of free units over time: segment ``k`` covers
``[pt[k], pt[k + 1])`` with ``pf[k]`` units free (the last segment runs to infinity with the whole
machine free).  It holds every running job over ``[start, estimated end)`` and every waiting job
over its reservation ``[r, r + est)``.  It is never rebuilt: an early completion frees
``[now, estimated end)``, a reservation that moves frees its old interval and takes its new one, a
new reservation takes its interval (``move`` does a moving reservation's two changes with one
shift of the segments after it).  ``compact`` drops the past and merges equal neighbours.
Small counters live in ``ic`` (profile size, records, log size, log epoch).

Two aids let the compression skip jobs without scanning the profile:

* *records* (``rt``, ``rv``): an upper bound of the running maximum of free units from now on
  (``rv`` increasing; before ``rt[i + 1]`` at most ``rv[i]`` units are free).  A job of ``s``
  units cannot start before the first record with ``rv >= s``.  ``compact`` recomputes them;
  in between every change that frees units raises them, and changes that take units leave them
  an upper bound.
* a *log* of the regions that gained units (``lx``, ``ly``, and the most units then free there,
  ``lf``).  A job at its earliest slot when last checked (log position ``ver``) can only have
  gained a slot whose window meets a region logged since with room for it, so only starts within
  reach of those regions are searched (the whole range when there are many, or after the log
  wrapped around: a new epoch).

The earliest start found is the mathematically earliest slot (a start is ``now`` or the end of a
segment that blocks), so it does not depend on where breakpoints happen to be, and a compression
gives the same schedule as lifting every job out in turn.
"""

from __future__ import annotations

import numpy as np
from numba import njit

INF = np.inf
NPF, NR, NLOG, EPOCH = 0, 1, 2, 3  # the counters in ``ic``


@njit(cache=True, inline="always")
def seg_of(pt, n, x):
    """Index of the segment containing x (x >= pt[0])."""
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) >> 1
        if pt[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return lo - 1


@njit(cache=True)
def _split(pt, pf, n, x):
    """Make x a breakpoint; (index of the segment starting at x, new count)."""
    k = seg_of(pt, n, x)
    if pt[k] == x:
        return k, n
    for q in range(n, k + 1, -1):
        pt[q] = pt[q - 1]
        pf[q] = pf[q - 1]
    pt[k + 1] = x
    pf[k + 1] = pf[k]
    return k + 1, n + 1


@njit(cache=True, inline="always")
def _unsplit(pt, pf, n, k):
    """Drop breakpoint k if it separates equal values."""
    if 0 < k < n and pf[k] == pf[k - 1]:
        for q in range(k, n - 1):
            pt[q] = pt[q + 1]
            pf[q] = pf[q + 1]
        return n - 1
    return n


@njit(cache=True)
def add(pt, pf, n, a, b, s):
    """Free ``s`` more units during [a, b) (s < 0 takes them); the part before pt[0] is ignored."""
    if a < pt[0]:
        a = pt[0]
    if b <= a:
        return n
    ka, n = _split(pt, pf, n, a)
    kb = n
    if b < INF:
        kb, n = _split(pt, pf, n, b)
    for q in range(ka, kb):
        pf[q] += s
    n = _unsplit(pt, pf, n, kb)
    return _unsplit(pt, pf, n, ka)


@njit(cache=True)
def move(pt, pf, n, b, a, d, s, buf, bv):
    """A reservation of s units and d > 0 seconds moves from a to b < a: as add(a, a + d, s) then
    add(b, b + d, -s), with one shift of the segments after it (buf, bv: scratch of pt's size)."""
    c1, c2, y = min(b + d, a), max(b + d, a), a + d  # -s over [b, c1), +s over [c2, y)
    ex = (b, c1, c2, y)
    dx = (-s, s, s, -s)
    k0 = seg_of(pt, n, b)
    kh = seg_of(pt, n, y)
    w, cur, i, k = 0, 0, 0, k0
    while k <= kh or i < 4:
        if i < 4 and (k > kh or ex[i] <= pt[k]):
            x = ex[i]
            cur += dx[i]
            v = pf[k - 1] + cur  # inside the old segment k - 1 (k > k0 here)
            i += 1
        else:
            x, v = pt[k], pf[k] + cur
            k += 1
        if w > 0 and buf[w - 1] == x:
            w -= 1
        if w > 0 and bv[w - 1] == v:
            continue
        buf[w], bv[w] = x, v
        w += 1
    lo = 1 if k0 > 0 and bv[0] == pf[k0 - 1] else 0  # 1: merge with the segment before
    m = w - lo
    old = kh - k0 + 1
    if m > old:
        for q in range(n - 1, kh, -1):
            pt[q + m - old] = pt[q]
            pf[q + m - old] = pf[q]
    elif m < old:
        for q in range(kh + 1, n):
            pt[q + m - old] = pt[q]
            pf[q + m - old] = pf[q]
    for q in range(m):
        pt[k0 + q] = buf[lo + q]
        pf[k0 + q] = bv[lo + q]
    return n + m - old


@njit(cache=True)
def max_free(pt, pf, n, a, b):
    """Most units free at any time in [a, b) (a >= pt[0], a < b)."""
    k = seg_of(pt, n, a)
    m = pf[k]
    k += 1
    while k < n and pt[k] < b:
        if pf[k] > m:
            m = pf[k]
        k += 1
    return m


@njit(cache=True, inline="always")
def _last_before(pt, n, k, x):
    """Last index >= k whose segment starts before x (pt[k] < x or the index k itself)."""
    step = 1
    lo = k  # pt[lo] < x, or lo == k
    while lo + step < n and pt[lo + step] < x:
        lo += step
        step <<= 1
    hi = min(lo + step, n)  # pt[hi] >= x, or hi == n
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if pt[mid] < x:
            lo = mid
        else:
            hi = mid
    return lo


@njit(cache=True)
def earliest(pt, pf, n, x0, d, s, slim, clip):
    """Earliest x in [x0, slim) with s units free during [x, min(x + d, clip)); inf if none.

    The segment containing x is always checked (so a job with d = 0 needs s units free at x).
    With slim = clip = inf this is the earliest slot of a job of d seconds and s units from x0 on.
    Each window is checked from its end backwards: the last segment that blocks rules out every
    start up to it, so the next candidate is the first segment after it with room, and the part
    of the window already seen to have room is not checked again.
    """
    if x0 >= slim:
        return INF
    k = seg_of(pt, n, x0)
    start = x0
    if pf[k] < s:  # x0 itself blocks: the next candidate is the first segment after it with room
        k += 1
        while k < n and pf[k] < s:
            k += 1
        if k >= n or pt[k] >= slim:
            return INF
        start = pt[k]
    ok = k  # segments [k, ok] have room
    while True:
        end = start + d
        if end > clip:
            end = clip
        ke = _last_before(pt, n, ok, end)
        j = ke
        while j > ok and pf[j] >= s:
            j -= 1
        if j == ok:
            return start
        if j < ke:  # segments (j, ke] have room
            k, ok = j + 1, ke
        else:
            k = j + 1
            while k < n and pf[k] < s:
                k += 1
            if k >= n:
                return INF
            ok = k
        start = pt[k]
        if start >= slim:
            return INF


@njit(cache=True)
def compact(pt, pf, rt, rv, ic, t):
    """Drop the profile before t, merge equal neighbours, recompute the records exactly."""
    n = ic[NPF]
    k = seg_of(pt, n, t)
    w = 0
    for q in range(k, n):
        if w > 0 and pf[q] == pf[w - 1]:
            continue
        pt[w] = pt[q]
        pf[w] = pf[q]
        w += 1
    pt[0] = t
    nr = 0
    for q in range(w):
        if nr == 0 or pf[q] > rv[nr - 1]:
            rt[nr] = pt[q]
            rv[nr] = pf[q]
            nr += 1
    ic[NPF] = w
    ic[NR] = nr


@njit(cache=True, inline="always")
def first_fit(rt, rv, nr, s):
    """No job of s units can start before this time (the first record with rv >= s)."""
    lo, hi = 0, nr
    while lo < hi:
        mid = (lo + hi) >> 1
        if rv[mid] < s:
            lo = mid + 1
        else:
            hi = mid
    return rt[lo] if lo < nr else INF


@njit(cache=True)
def raise_records(rt, rv, nr, u, f):
    """From time u on, up to f units may be free: keep the records an upper bound."""
    i = 0
    while i < nr and rt[i] <= u:
        i += 1
    if i > 0 and rv[i - 1] >= f:
        return nr
    j = i
    while j < nr and rv[j] <= f:
        j += 1
    shift = 1 - (j - i)  # records [i, j) are covered by the new one
    if nr + shift > rt.shape[0]:  # full: merge the first two (still an upper bound)
        rt[1] = rt[0]
        for q in range(1, nr):
            rt[q - 1] = rt[q]
            rv[q - 1] = rv[q]
        return raise_records(rt, rv, nr - 1, u, f)
    if shift > 0:
        for q in range(nr - 1, j - 1, -1):
            rt[q + shift] = rt[q]
            rv[q + shift] = rv[q]
    elif shift < 0:
        for q in range(j, nr):
            rt[q + shift] = rt[q]
            rv[q + shift] = rv[q]
    rt[i] = u
    rv[i] = f
    return nr + shift


@njit(cache=True, inline="always")
def _freed(pt, pf, rt, rv, lx, ly, lf, ic, x, y):
    """[x, y) has just gained units: raise the records and log the region."""
    f = max_free(pt, pf, ic[NPF], x, y)
    ic[NR] = raise_records(rt, rv, ic[NR], x, f)
    e = ic[NLOG]
    if e == lx.shape[0]:  # the log is full: start a new epoch (older checks are void)
        ic[EPOCH] += 1
        e = 0
    lx[e], ly[e], lf[e] = x, y, f
    ic[NLOG] = e + 1


@njit(cache=True)
def free_early(pt, pf, rt, rv, lx, ly, lf, ic, t, e, s):
    """A job of s units ended at t, before its estimated end e: free its units over [t, e)."""
    ic[NPF] = add(pt, pf, ic[NPF], t, e, s)
    _freed(pt, pf, rt, rv, lx, ly, lf, ic, t, e)


@njit(cache=True)
def _overcommitted(pt, pf, n):
    """Span [lo, hi) of the segments with fewer than 0 units free (only after a slide)."""
    lo, hi = INF, -INF
    for k in range(n):
        if pf[k] < 0:
            lo = min(lo, pt[k])
            hi = max(hi, pt[k + 1] if k + 1 < n else INF)
    return lo, hi


@njit(cache=True)
def _min_free(pt, pf, n, a, b):
    """Fewest units free at any time in [a, b) (a >= pt[0], a < b)."""
    k = seg_of(pt, n, a)
    m = pf[k]
    k += 1
    while k < n and pt[k] < b:
        m = min(m, pf[k])
        k += 1
    return m


@njit(cache=True)
def compress(jobs, m, cres, t, est, size, pt, pf, rt, rv, lx, ly, lf, ver, vep, ic):
    """Lift each waiting job jobs[:m] (in priority order) to its earliest slot (``cres``).

    A job's own interval [a, a + est) has at least its size free once it is lifted out, so its
    earliest slot is the earliest x < a whose window has room up to a (or a itself).  A job that
    was at its earliest slot when last checked (log position ``ver``, epoch ``vep``) can only
    have gained a slot that overlaps a region freed since: only windows meeting those regions are
    searched, and none when the records show no room before a.  A job of zero length holds no
    interval and takes the earliest slot from now, which may be later than its old one; so does
    a job whose own slot no longer fits (jobs running on: a blocked job was slid onto it).
    """
    nlo, nhi = _overcommitted(pt, pf, ic[NPF])
    buf, bv = np.empty(pt.shape[0]), np.empty(pt.shape[0], dtype=np.int64)
    for i in range(m):
        j = jobs[i]
        a = cres[j]
        d = est[j]
        s = size[j]
        x0 = max(t, first_fit(rt, rv, ic[NR], s))
        n = ic[NPF]
        if d <= 0.0:
            cres[j] = earliest(pt, pf, n, x0, 0.0, s, INF, INF)
        elif a < nhi and a + d > nlo and _min_free(pt, pf, n, a, a + d) < 0:
            # its own slot no longer fits (run-on: a blocked job slid onto it): lift out, re-place
            n = add(pt, pf, n, a, a + d, s)
            x = earliest(pt, pf, n, t, d, s, INF, INF)
            cres[j] = x
            ic[NPF] = add(pt, pf, n, x, x + d, -s)
            _freed(pt, pf, rt, rv, lx, ly, lf, ic, a, a + d)
        elif x0 < a:
            lo, hi = x0, a  # a new slot starts in [lo, hi)
            if vep[j] == ic[EPOCH] and ic[NLOG] - ver[j] <= 8:  # ... near regions freed since its check
                lo, hi = INF, -INF
                for e in range(ver[j], ic[NLOG]):
                    if lf[e] >= s and lx[e] < a and ly[e] > t:
                        lo = min(lo, lx[e] - d)
                        hi = max(hi, ly[e])
                lo, hi = max(lo, x0), min(hi, a)
            best = min(a, earliest(pt, pf, n, lo, d, s, hi, a))
            if best < a:
                cres[j] = best
                ic[NPF] = move(pt, pf, n, best, a, d, s, buf, bv)
                u = max(a, best + d)  # the part of the old interval now free
                if u < a + d:
                    _freed(pt, pf, rt, rv, lx, ly, lf, ic, u, a + d)
        ver[j] = ic[NLOG]
        vep[j] = ic[EPOCH]


@njit(cache=True)
def reserve_new(q, lo, hi, cres, t, est, size, resv, pt, pf, rt, rv, ver, vep, ic):
    """Reserve the earliest slot, in queue order, for each new arrival q[lo:hi]."""
    n = ic[NPF]
    for k in range(lo, hi):
        j = q[k]
        x = earliest(pt, pf, n, max(t, first_fit(rt, rv, ic[NR], size[j])), est[j], size[j], INF, INF)
        cres[j] = x
        resv[j] = x
        n = add(pt, pf, n, x, x + est[j], -size[j])
        ver[j] = ic[NLOG]
        vep[j] = ic[EPOCH]
    ic[NPF] = n


@njit(cache=True)
def slide_due(q, nq, cres, t, est, size, pt, pf, ic):
    """Waiting jobs whose reservation is past (blocked by an overdue job) are planned to start now."""
    n = ic[NPF]
    for k in range(nq):
        j = q[k]
        a = cres[j]
        if a < t:
            n = add(pt, pf, n, a, a + est[j], size[j])
            n = add(pt, pf, n, t, t + est[j], -size[j])
            cres[j] = t
    ic[NPF] = n


@njit(cache=True)
def grow(pt, pf, rt, rv, need):
    """Larger copies of the profile and records arrays (at least ``need`` entries)."""
    c = max(need, 2 * pt.shape[0])
    pt2, pf2 = np.empty(c), np.empty(c, dtype=np.int64)
    rt2, rv2 = np.empty(c), np.empty(c, dtype=np.int64)
    pt2[: pt.shape[0]] = pt
    pf2[: pf.shape[0]] = pf
    rt2[: rt.shape[0]] = rt
    rv2[: rv.shape[0]] = rv
    return pt2, pf2, rt2, rv2


@njit(cache=True)
def enqueue(q, lo, hi, qr, nqr, rank, static):
    """Sort simultaneous arrivals q[lo:hi] by rank and merge them into qr (rank order); new nqr."""
    if not static:
        return nqr
    if hi - lo > 1:
        seg = q[lo:hi].copy()
        q[lo:hi] = seg[np.argsort(rank[seg], kind="mergesort")]
    i, k, w = nqr - 1, hi - 1, nqr + hi - lo - 1
    while k >= lo:
        if i >= 0 and rank[qr[i]] > rank[q[k]]:
            qr[w] = qr[i]
            i -= 1
        else:
            qr[w] = q[k]
            k -= 1
        w -= 1
    return nqr + hi - lo


@njit(cache=True)
def drop_started(qr, nqr, start):
    """Remove the jobs that have started from qr; new count."""
    w = 0
    for k in range(nqr):
        if start[qr[k]] < 0:
            qr[w] = qr[k]
            w += 1
    return w
