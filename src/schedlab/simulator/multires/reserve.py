"""EASY's resource-exact reservation on a multi-resource machine, compiled.

``reserve`` finds the shadow time of a blocked job ``h``: it releases running jobs in the order of
their estimated ends on a projection of the nodes they hold (only those nodes are copied) until
``h`` fits, then picks the nodes ``h`` would get then by the selection rule (``in_resv``) and
records each one's *slack*: what is left of each resource after ``h`` takes its share at the shadow
time.  A backfill job that ends after the shadow time may use a reserved node only within its
slack (none in exclusive mode).

``rs = (rlvl, slvl, ridle)`` summarises the reservation for the O(1) test of such a job
(in the loop of :func:`.kernel._pass`), the way :mod:`.alloc`'s counters do for the whole pool.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from schedlab.simulator.multires.alloc import SEL_FIRST, R, fitting_nodes, level


@njit(cache=True)
def reserve(h, p, t, free, tot, req, nodes, excl, sel, pool_ptr, pool_idx, np_ptr, np_idx, cnt,
            re, rj, nrun, alloc, off, scratch, in_resv, slack, resv_nodes):  # fmt: skip
    """The shadow time of blocked job ``h`` (pool ``p``) at time ``t`` (the earliest estimated end
    after which it fits, never before ``t``; inf if it never fits), with its nodes in
    ``resv_nodes`` (flagged in ``in_resv``) and their slack.  ``re``/``rj``: running jobs by
    estimated end; ``alloc``/``off``: each job's nodes; ``scratch = (proj, touched, tlist, cand)``
    (``touched`` is left all False)."""
    proj, touched, tlist, cand = scratch
    a, b = pool_ptr[p], pool_ptr[p + 1]
    ub = cnt[0][p]  # at most this many fit now (idle nodes; per resource, nodes with enough)
    if not excl:
        for r in range(R):
            ub = min(ub if r else b - a, cnt[2][p, r, level(req[h, r], cnt[3][r])])
    # candidates: the nodes that fit h now, then those that come to fit as jobs end
    m = fitting_nodes(h, p, free, req, excl, pool_ptr, pool_idx, cnt, in_resv, slack, False, ub, cand)
    r0, r1, r2 = req[h, 0], req[h, 1], req[h, 2]
    m_now = m
    shadow, k, nt = np.inf, 0, 0
    while m < nodes[h] and k < nrun:
        jr = rj[k]
        for q in range(off[jr], off[jr] + nodes[jr]):
            n = alloc[q]
            inp = False
            for i in range(np_ptr[n], np_ptr[n + 1]):
                inp = inp or np_idx[i] == p
            if not inp:
                continue
            if not touched[n]:
                touched[n] = True
                tlist[nt] = n
                nt += 1
                proj[n, 0], proj[n, 1], proj[n, 2] = free[n, 0], free[n, 1], free[n, 2]
            if excl:  # the node was the job's alone: now idle
                proj[n, 0], proj[n, 1], proj[n, 2] = tot[n, 0], tot[n, 1], tot[n, 2]
                cand[m] = n
                m += 1
                continue
            before = proj[n, 0] >= r0 and proj[n, 1] >= r1 and proj[n, 2] >= r2  # (written out: speed)
            proj[n, 0] += req[jr, 0]
            proj[n, 1] += req[jr, 1]
            proj[n, 2] += req[jr, 2]
            if not before and proj[n, 0] >= r0 and proj[n, 1] >= r1 and proj[n, 2] >= r2:
                cand[m] = n
                m += 1
        shadow = max(re[k], t)
        k += 1
    if m >= nodes[h]:
        if k == 0:
            shadow = t
        _pick(h, m, m_now, sel, excl, req, nodes, free, proj, touched, cand, in_resv, slack, resv_nodes, pool_idx[a:b])
    for i in range(nt):
        touched[tlist[i]] = False
    return shadow if m >= nodes[h] else np.inf


@njit(cache=True)
def _pick(h, m, m_now, sel, excl, req, nodes, free, proj, touched, cand, in_resv, slack, resv_nodes, pool_nodes):
    """The selection rule over the candidates at the shadow time (``cand[:m_now]``: those that fit
    now, ascending; then those that came to fit); flags and slack of the pick.  First-fit marks the
    candidates and walks the pool in order (no sort); best-fit sorts by its key."""
    if sel == SEL_FIRST or excl:
        for i in range(m):
            in_resv[cand[i]] = True
        k = 0
        for n in pool_nodes:
            if k == nodes[h]:
                break
            if in_resv[n]:
                resv_nodes[k] = n
                k += 1
        for i in range(m):
            in_resv[cand[i]] = False
    else:
        c = _merge(cand[:m_now], np.sort(cand[m_now:m]))  # pool order (ascending node index)
        key = np.empty(m)
        for i in range(m):
            n = c[i]
            st = proj if touched[n] else free
            key[i] = (st[n, 1] - req[h, 1]) * 1e12 + (st[n, 0] - req[h, 0]) * 1e6 + min(st[n, 2] - req[h, 2], 999999)
        c = c[np.argsort(key, kind="mergesort")]
        resv_nodes[: nodes[h]] = c[: nodes[h]]
    for i in range(nodes[h]):
        n = resv_nodes[i]
        in_resv[n] = True
        st = proj if touched[n] else free
        for r in range(R):
            slack[n, r] = 0 if excl else st[n, r] - req[h, r]


@njit(cache=True)
def _merge(x, y):
    out = np.empty(x.shape[0] + y.shape[0], dtype=np.int64)
    i = k = 0
    for o in range(out.shape[0]):
        if k >= y.shape[0] or (i < x.shape[0] and x[i] < y[k]):
            out[o] = x[i]
            i += 1
        else:
            out[o] = y[k]
            k += 1
    return out


@njit(cache=True)
def clear_reservation(h, nodes, in_resv, resv_nodes):
    for i in range(nodes[h]):
        in_resv[resv_nodes[i]] = False


@njit(cache=True)
def resv_levels(h, nodes, free, tot, excl, slack, resv_nodes, div, rs):
    """``rs = (rlvl, slvl, ridle)`` for the reservation of ``h``: per resource and level, how many
    reserved nodes have that much free (``rlvl``) and that much slack (``slvl``); ``ridle``: how
    many reserved nodes are idle.  Kept by :func:`take` and :func:`use_slack` during a pass."""
    rlvl, slvl, ridle = rs
    rlvl[:, :] = 0
    slvl[:, :] = 0
    ridle[0] = 0
    for i in range(nodes[h]):  # histograms, then suffix sums
        n = resv_nodes[i]
        idle = True
        for r in range(R):
            idle = idle and free[n, r] == tot[n, r]
            rlvl[r, level(free[n, r], div[r])] += 1
            slvl[r, level(max(slack[n, r], 0), div[r])] += 1
        ridle[0] += 1 if idle else 0
    for r in range(R):
        for b in range(rlvl.shape[1] - 2, -1, -1):
            rlvl[r, b] += rlvl[r, b + 1]
            slvl[r, b] += slvl[r, b + 1]


@njit(cache=True)
def use_slack(j, chosen, req, in_resv, slack, div, rs):
    """A job ending after the shadow time took ``chosen``: it eats into the reserved nodes' slack."""
    slvl = rs[1]
    for k in range(chosen.shape[0]):
        n = chosen[k]
        if in_resv[n]:
            for r in range(R):
                bo = level(slack[n, r], div[r])
                slack[n, r] -= req[j, r]
                for b in range(level(slack[n, r], div[r]) + 1, bo + 1):
                    slvl[r, b] -= 1


__all__ = ["clear_reservation", "reserve", "resv_levels", "use_slack"]
