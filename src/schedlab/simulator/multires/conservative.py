"""Conservative backfilling on a multi-resource machine, compiled.

The single-resource engine's rules (:mod:`schedlab.simulator.engine`), with node-exact
reservations: every waiting job holds a *booking* of specific nodes over ``[s, s + estimate)``,
and so does every running job over ``[start, start + estimate)``.  A node's bookings never ask
more of any resource than it has at any instant (exclusive mode: they never overlap).

* A job gets its reservation when it arrives (simultaneous arrivals in priority order): the
  earliest candidate time ``c`` (now, or a booking's end on a node of its pool) at which enough
  nodes of its pool can hold it over ``[c, c + estimate)`` beside their bookings, on the nodes
  the selection rule picks among them (first-fit: lowest index; best-fit: the least left over).
* When a job ends before its estimate, the schedule is compressed: in priority order each waiting
  job is lifted out and re-placed at its earliest slot; its old slot is still free then, so no
  reservation moves later.
* Jobs start when their reservation is due, in arrival order.  A due job whose nodes are still
  held (a job running past its estimate, ``kill_at_request=False``) or that its QOS per-user
  limit holds waits, is planned from now (its reservation slides) and the next pass compresses;
  reservations are guaranteed only without such jobs.  A job running past its estimate is
  planned as if it ended now.

The search visits candidate times in order and, at each, every node of the pool, checking the
node's bookings that overlap the window: cost grows with queue x pool x bookings per node, so
conservative is slower than EASY on big machines (``benchmarks/bench_multires.py``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from schedlab.simulator.engine import _heap_pop, _heap_push
from schedlab.simulator.multires.alloc import SEL_FIRST, R
from schedlab.simulator.multires.kernel import _qos_blocked


@njit(cache=True)
def _link(k, n, head, nxt, prv):
    """Booking ``k`` joins node ``n``'s list."""
    nxt[k] = head[n]
    prv[k] = -1
    if head[n] >= 0:
        prv[head[n]] = k
    head[n] = k


@njit(cache=True)
def _unlink(k, n, head, nxt, prv):
    if prv[k] >= 0:
        nxt[prv[k]] = nxt[k]
    else:
        head[n] = nxt[k]
    if nxt[k] >= 0:
        prv[nxt[k]] = prv[k]
    nxt[k] = prv[k] = -2


@njit(cache=True)
def _room(n, c, e, now, j, bk, tot, req, excl, out):
    """Whether node ``n`` can hold job ``j`` over ``[c, e)`` beside its bookings; ``out``: the least
    free amount of each resource over the window before ``j`` (for best-fit).  A running job's
    booking ends at ``max(its estimated end, now)``."""
    head, nxt, owner, bs, be, running = bk
    lo_free0, lo_free1, lo_free2 = tot[n, 0], tot[n, 1], tot[n, 2]
    k = head[n]
    while k >= 0:  # usage at c and at every booking start inside the window: the peaks
        o = owner[k]
        oe = max(be[o], now) if running[o] else be[o]
        if bs[o] < e and oe > c:
            if excl:
                return False
            x = max(bs[o], c)
            u0 = u1 = u2 = 0
            k2 = head[n]
            while k2 >= 0:
                o2 = owner[k2]
                oe2 = max(be[o2], now) if running[o2] else be[o2]
                if bs[o2] <= x < oe2:
                    u0 += req[o2, 0]
                    u1 += req[o2, 1]
                    u2 += req[o2, 2]
                k2 = nxt[k2]
            lo_free0 = min(lo_free0, tot[n, 0] - u0)
            lo_free1 = min(lo_free1, tot[n, 1] - u1)
            lo_free2 = min(lo_free2, tot[n, 2] - u2)
        k = nxt[k]
    out[0], out[1], out[2] = lo_free0, lo_free1, lo_free2
    return lo_free0 >= req[j, 0] and lo_free1 >= req[j, 1] and lo_free2 >= req[j, 2]


@njit(cache=True)
def _windows(n, now, d, j, bk, tot, req, excl, ev_t, ev_u, wa, wb, m):
    """Append to ``wa``/``wb`` (from ``m``) the intervals of start times ``[a, b]`` (``b`` may be
    inf) at which node ``n`` can hold job ``j`` for ``d`` seconds beside its bookings; returns the
    new count.  A sweep over the node's bookings: the usage is a step function, the runs of steps
    with room for ``j`` are found, and each run at least ``d`` long gives starts up to its end - d."""
    head, nxt, owner, bs, be, running = bk
    ne = 0
    k = head[n]
    while k >= 0:
        o = owner[k]
        oe = max(be[o], now) if running[o] else be[o]
        if oe > now:
            ev_t[ne], ev_t[ne + 1] = max(bs[o], now), oe
            for r in range(R):
                u = tot[n, r] if excl else req[o, r]
                ev_u[ne, r], ev_u[ne + 1, r] = u, -u
            ne += 2
        k = nxt[k]
    order = np.argsort(ev_t[:ne], kind="mergesort")
    u0 = u1 = u2 = 0
    run_start, x, i = now, now, 0
    ok = True
    while True:  # segment [x, next event): room when every resource left covers the request
        while i < ne and ev_t[order[i]] <= x:
            q = order[i]
            u0 += ev_u[q, 0]
            u1 += ev_u[q, 1]
            u2 += ev_u[q, 2]
            i += 1
        room = tot[n, 0] - u0 >= req[j, 0] and tot[n, 1] - u1 >= req[j, 1] and tot[n, 2] - u2 >= req[j, 2]
        if excl:
            room = u0 == 0 and u1 == 0 and u2 == 0
        if room and not ok:
            run_start = x
        if not room and ok and x - run_start >= d:
            wa[m], wb[m] = run_start, x - d
            m += 1
        ok = room
        if i >= ne:
            break
        x = ev_t[order[i]]
    if ok:
        wa[m], wb[m] = run_start, np.inf
        m += 1
    return m


@njit(cache=True)
def _earliest(j, now, est, nodes, req, pool, tot, excl, sel, pool_ptr, pool_idx, bk, scr):
    """The earliest start of ``j`` from ``now`` and its nodes (into ``chosen``); inf if never: the
    earliest time inside the start windows (:func:`_windows`) of at least ``nodes[j]`` nodes of its
    pool, then the selection rule among the nodes whose window holds it."""
    cand, key, chosen, ev_t, ev_u, wa, wb, wn = scr
    p = pool[j]
    a, b = pool_ptr[p], pool_ptr[p + 1]
    d, need = est[j], nodes[j]
    m = 0
    for i in range(a, b):
        n = pool_idx[i]
        lo = m
        m = _windows(n, now, d, j, bk, tot, req, excl, ev_t, ev_u, wa, wb, m)
        wn[lo:m] = n
    # sweep: opens (at a) before closes (after b) at equal times; the first time enough are open
    times = np.concatenate((wa[:m], wb[:m]))
    order = np.argsort(times, kind="mergesort")  # stable: the opens (first m) before closes at a tie
    count, c = 0, np.inf
    for q in order:
        if q < m:
            count += 1
            if count >= need:
                c = times[q]
                break
        else:
            count -= 1
    if c == np.inf:
        return c
    lo_free = np.empty(R, dtype=np.int64)
    k = 0
    for i in range(m):  # windows come in pool order: first-fit takes the first ones holding c
        if wa[i] <= c <= wb[i]:
            cand[k] = wn[i]
            if not excl and sel != SEL_FIRST:
                _room(wn[i], c, c + d, now, j, bk, tot, req, excl, lo_free)
                key[k] = (
                    (lo_free[1] - req[j, 1]) * 1e12
                    + (lo_free[0] - req[j, 0]) * 1e6
                    + min(lo_free[2] - req[j, 2], 999999)
                )
            k += 1
            if k == need and (sel == SEL_FIRST or excl):
                break
    if sel == SEL_FIRST or excl:
        chosen[:need] = cand[:need]
    else:
        order = np.argsort(key[:k], kind="mergesort")
        for q in range(need):
            chosen[q] = cand[order[q]]
    return c


@njit(cache=True)
def _place(j, now, est, nodes, req, pool, tot, excl, sel, pool_ptr, pool_idx, bk, scr, alloc, off, nxt, prv):
    """Book ``j`` at its earliest slot from ``now``; returns its start (never later than a slot
    it held before being lifted out: that slot is still free then)."""
    head, _, _, bs, be, _ = bk
    chosen = scr[2]
    s = _earliest(j, now, est, nodes, req, pool, tot, excl, sel, pool_ptr, pool_idx, bk, scr)
    bs[j], be[j] = s, s + est[j]
    for q in range(nodes[j]):
        alloc[off[j] + q] = chosen[q]
        _link(off[j] + q, chosen[q], head, nxt, prv)
    return s


@njit(cache=True)
def _lift(j, nodes, alloc, off, head, nxt, prv):
    for q in range(nodes[j]):
        _unlink(off[j] + q, alloc[off[j] + q], head, nxt, prv)


@njit(cache=True)
def _fits_now(j, free, req, alloc, off, nodes, tot, excl):
    for q in range(nodes[j]):
        n = alloc[off[j] + q]
        for r in range(R):
            want = tot[n, r] if excl else req[j, r]
            if free[n, r] < want:
                return False
    return True


@njit(cache=True)
def simulate_conservative_kernel(sub, run, est, nodes, req, pool, off, machine, jobs_q, rank):
    """(start, alloc, first reservation, passes); ``machine`` = (tot, excl, sel, pool_ptr,
    pool_idx); ``jobs_q`` as :func:`.kernel.simulate_multi_kernel`'s; ``rank``: static priority
    (lower first)."""
    tot, excl, sel, pool_ptr, pool_idx = machine
    qpair, lim_jobs, lim_gpus, n_pairs, gpus_total = jobs_q
    J, N = sub.shape[0], tot.shape[0]
    K = off[J] if J else 0
    free = tot.copy()
    start, first = np.full(J, -1.0), np.full(J, np.inf)
    alloc = np.full(K, -1, dtype=np.int64)
    owner = np.empty(K, dtype=np.int64)
    for j in range(J):
        owner[off[j] : off[j] + nodes[j]] = j
    head, nxt, prv = np.full(N, -1, dtype=np.int64), np.full(K, -2, dtype=np.int64), np.full(K, -2, dtype=np.int64)
    bs, be, running = np.full(J, np.inf), np.full(J, np.inf), np.zeros(J, dtype=np.bool_)
    bk = (head, nxt, owner, bs, be, running)
    maxn = (pool_ptr[1:] - pool_ptr[:-1]).max() if pool_ptr.shape[0] > 1 else 1
    W = 2 * K + 2 * maxn + 2  # start windows: at most bookings + nodes of a pool
    scr = (np.empty(maxn, dtype=np.int64), np.empty(maxn), np.empty(max(nodes.max(), 1) if J else 1, dtype=np.int64),
           np.empty(2 * K + 2), np.empty((2 * K + 2, R), dtype=np.int64), np.empty(W), np.empty(W),
           np.empty(W, dtype=np.int64))  # fmt: skip
    ht, hj = np.empty(J + 1), np.empty(J + 1, dtype=np.int64)
    nh = 0
    run_jobs, run_gpus = np.zeros(max(n_pairs, 1), dtype=np.int64), np.zeros(max(n_pairs, 1), dtype=np.int64)
    queue = np.empty(J, dtype=np.int64)  # waiting jobs in arrival order
    nq, i_arr, passes, dirty, t = 0, 0, 0, False, -np.inf
    while i_arr < J or nh > 0 or nq > 0:
        prev = t
        t = sub[i_arr] if i_arr < J else np.inf
        if nh > 0 and ht[0] < t:
            t = ht[0]
        for i in range(nq):  # a reservation falling due (held jobs, due at prev, wait for an event)
            if prev < bs[queue[i]] < t:
                t = bs[queue[i]]
        if t == np.inf:
            break  # only jobs no event can start are left (held by their QOS limit): they stay pending
        while nh > 0 and ht[0] <= t:  # completions
            j = hj[0]
            nh = _heap_pop(ht, hj, nh)
            _lift(j, nodes, alloc, off, head, nxt, prv)
            running[j] = False
            _charge(j, 1, free, tot, req, excl, alloc, off, nodes)
            if qpair[j] >= 0:
                run_jobs[qpair[j]] -= 1
                run_gpus[qpair[j]] -= gpus_total[j]
            dirty = dirty or t < be[j]
        if dirty:  # compress: lift out and re-place in priority order (never later)
            order = queue[:nq][np.argsort(rank[queue[:nq]], kind="mergesort")]
            for j in order:
                _lift(j, nodes, alloc, off, head, nxt, prv)
                _place(j, t, est, nodes, req, pool, tot, excl, sel, pool_ptr, pool_idx, bk, scr, alloc, off,
                       nxt, prv)  # fmt: skip
            dirty = False
        lo = i_arr
        while i_arr < J and sub[i_arr] <= t:
            i_arr += 1
        if i_arr > lo:  # arrivals, in priority order
            new = np.arange(lo, i_arr)
            for j in new[np.argsort(rank[lo:i_arr], kind="mergesort")]:
                first[j] = _place(j, t, est, nodes, req, pool, tot, excl, sel, pool_ptr, pool_idx, bk, scr,
                                  alloc, off, nxt, prv)  # fmt: skip
                queue[nq] = j
                nq += 1
        w = 0
        for i in range(nq):  # due jobs start, in arrival order
            j = queue[i]
            if bs[j] > t:
                queue[w] = j
                w += 1
                continue
            ok = _fits_now(j, free, req, alloc, off, nodes, tot, excl)
            if ok and not _qos_blocked(j, qpair, lim_jobs, lim_gpus, run_jobs, run_gpus, gpus_total):
                start[j] = t
                running[j] = True
                bs[j], be[j] = t, t + est[j]
                _charge(j, -1, free, tot, req, excl, alloc, off, nodes)
                nh = _heap_push(ht, hj, nh, t + run[j], j)
                if qpair[j] >= 0:
                    run_jobs[qpair[j]] += 1
                    run_gpus[qpair[j]] += gpus_total[j]
                continue
            bs[j], be[j] = t, t + est[j]  # due but held: planned from now; the next pass compresses
            dirty = True
            queue[w] = j
            w += 1
        nq = w
        passes += 1
    return start, alloc, first, passes


@njit(cache=True)
def _charge(j, sign, free, tot, req, excl, alloc, off, nodes):
    """Job ``j`` takes (sign -1) or gives back (+1) its share of its nodes (all of them: exclusive)."""
    for q in range(nodes[j]):
        n = alloc[off[j] + q]
        for r in range(R):
            free[n, r] += sign * (tot[n, r] if excl else req[j, r])


__all__ = ["simulate_conservative_kernel"]
