"""EASY's resource-exact reservation on a multi-resource machine, compiled.

``reserve`` finds the shadow time of a blocked job ``h``: it releases running jobs in the order of
their estimated ends on a projection of the nodes they hold (only those nodes are copied) until
``h`` fits, then picks the nodes ``h`` would get then by the selection rule (``in_resv``) and
records each one's *slack*: what is left of each resource after ``h`` takes its share at the shadow
time.  A backfill job that ends after the shadow time may use a reserved node only within its
slack (none in exclusive mode).

``rs = (rlvl, slvl, ridle)`` summarises the reservation for the O(1) test of such a job
(in the loop of :func:`.kernel._pass`), the way :mod:`.alloc`'s counters do for the whole pool.

Keeping a reservation (the kernel): :func:`reserve_k` also says which running jobs were released
(the *released prefix*, ended by the job whose release made ``h`` fit) and :func:`keep_prefix`
records their share of each node, so the projection at the shadow time is ``free + dlt`` as jobs
start and end.  :func:`end_keeps` decides, exactly, whether a job's end leaves the reservation as
a new one would make it (and updates first-fit's pick when the end only adds candidates); a
reservation is made again only when it does not.
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
    return reserve_k(
        h, p, t, free, tot, req, nodes, excl, sel, pool_ptr, pool_idx, np_ptr, np_idx, cnt,
        re, rj, nrun, alloc, off, scratch, in_resv, slack, resv_nodes, False,
    )[0]  # fmt: skip


@njit(cache=True)
def reserve_k(h, p, t, free, tot, req, nodes, excl, sel, pool_ptr, pool_idx, np_ptr, np_idx, cnt,
              re, rj, nrun, alloc, off, scratch, in_resv, slack, resv_nodes, keep):  # fmt: skip
    """:func:`reserve`, returning ``(shadow, k, nt, m_prev)``: ``k`` running jobs (``rj[:k]``, the
    *released prefix*) were released, the last one, ``rj[k - 1]``, made ``h`` fit (``k`` = 0: it fits
    now; shadow inf: it never fits); ``m_prev`` nodes could hold ``h`` before that last release.
    ``keep``: the projection of the ``nt`` nodes the prefix touched (``tlist[:nt]``, flagged in
    ``touched``) is left for the caller, who must clear the flags; else ``touched`` is left all
    False."""
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
    shadow, k, nt, m_prev = np.inf, 0, 0, -1
    while m < nodes[h] and k < nrun:
        m_prev = m
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
    if not keep:
        for i in range(nt):
            touched[tlist[i]] = False
    return (shadow if m >= nodes[h] else np.inf), k, nt, m_prev


@njit(cache=True)
def _pick(h, m, m_now, sel, excl, req, nodes, free, proj, touched, cand, in_resv, slack, resv_nodes, pool_nodes):
    """The selection rule over the candidates at the shadow time (``cand[:m_now]``: those that fit
    now, ascending; then those that came to fit); flags and slack of the pick.  First-fit merges the
    two (few came to fit) or marks the candidates and walks the pool in order; best-fit sorts by its
    key."""
    if (sel == SEL_FIRST or excl) and (m - m_now) * 8 < pool_nodes.shape[0]:  # few came to fit: merge
        tail = np.sort(cand[m_now:m])
        i = k = 0
        for o in range(nodes[h]):
            if k >= tail.shape[0] or (i < m_now and cand[i] < tail[k]):
                resv_nodes[o] = cand[i]
                i += 1
            else:
                resv_nodes[o] = tail[k]
                k += 1
    elif sel == SEL_FIRST or excl:  # many: walk the pool in order
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


@njit(cache=True)
def within_slack(j, chosen, req, excl, in_resv, slack):
    """Whether job ``j`` on ``chosen`` takes no more of any reserved node than its slack."""
    for k in range(chosen.shape[0]):
        n = chosen[k]
        if in_resv[n]:
            if excl:
                return False
            for r in range(R):
                if req[j, r] > slack[n, r]:
                    return False
    return True


@njit(cache=True)
def keep_prefix(nt, scratch, free, dl):
    """After :func:`reserve_k` with ``keep``: record the released prefix's share of each node it
    touched, ``dlt = proj - free`` (``dl = (dlt, dflag, dlist, ndl, jkmark)``, the previous reservation's
    entries cleared), so that the projection at the shadow time is ``free + dlt`` while the
    reservation stands; the ``touched`` flags are cleared."""
    proj, touched, tlist, _ = scratch
    dlt, dflag, dlist, ndl = dl[0], dl[1], dl[2], dl[3]
    for i in range(ndl[0]):
        n = dlist[i]
        dflag[n] = False
        for r in range(R):
            dlt[n, r] = 0
    for i in range(nt):
        n = tlist[i]
        touched[n] = False
        dflag[n] = True
        dlist[i] = n
        for r in range(R):
            dlt[n, r] = proj[n, r] - free[n, r]
    ndl[0] = nt


@njit(cache=True)
def _in_pool(n, p, np_ptr, np_idx):
    """Whether node ``n`` is in pool ``p``."""
    inp = False
    for i in range(np_ptr[n], np_ptr[n + 1]):
        inp = inp or np_idx[i] == p
    return inp


@njit(cache=True)
def prefix_moves(j, p, sign, nodes_j, tot, req, excl, np_ptr, np_idx, dl):
    """A job of the released prefix started (``sign`` +1) or ended (-1) on ``nodes_j``: its share
    of its nodes in pool ``p`` moves into (out of) the prefix's share ``dlt``; ``free + dlt``, the
    projection at the shadow time, stays."""
    dlt, dflag, dlist, ndl = dl[0], dl[1], dl[2], dl[3]
    for q in range(nodes_j.shape[0]):
        n = nodes_j[q]
        if not _in_pool(n, p, np_ptr, np_idx):
            continue
        if not dflag[n]:
            dflag[n] = True
            dlist[ndl[0]] = n
            ndl[0] += 1
        for r in range(R):
            dlt[n, r] += sign * (tot[n, r] if excl else req[j, r])


@njit(cache=True)
def _ahead(re, rj, nrun, x, a, b):
    """Whether job ``a`` comes before job ``b`` in the running list, both ending (estimated) at ``x``."""
    for i in range(np.searchsorted(re[:nrun], x), nrun):
        if rj[i] == a:
            return True
        if rj[i] == b:
            return False
    return False


@njit(cache=True)
def end_keeps(e, e_end, h, p, nodes_e, nodes_h, sel, excl, cache, re, rj, nrun, free, tot, req,
              np_ptr, np_idx, dl, in_resv, slack, resv_nodes, div, rs):  # fmt: skip
    """Whether the reservation of blocked job ``h`` (pool ``p``) stands after job ``e`` (estimated
    end ``e_end``, still in the running list) ended on ``nodes_e``, already given back; ``cache[4:7]``
    = (``jk``, the last job of the released prefix, its estimated end, ``m_prev``: how many nodes
    could hold ``h`` before ``jk``'s release, an upper bound).  Exact (``S``: the projection at the
    shadow time, ``free + dlt``):

    - ``e`` holds no node of ``p``: nothing in the projection changes.
    - ``e`` is in the prefix, before ``jk``: releasing the new prefix (without ``e``) up to ``jk``
      gives the same projection as before, where ``h`` fits; and every shorter prefix, with ``e``
      now free, projects at most what the old prefix without ``jk`` did, where ``h`` did not fit.
      Same shadow time, candidates, pick and slack.  ``e``'s share leaves ``dlt``.
    - ``e`` is after ``jk`` (it ended long before its estimate): its nodes where ``h`` fits in
      ``S`` (now with ``e`` gone) become candidates from some step on.  If ``h`` still cannot fit
      before ``jk``'s release (``m_prev`` plus the nodes that now fit there, ``S`` less ``jk``'s
      share, but did not with ``e``'s), the shadow time stays; the candidates at it are the old
      ones and these nodes, so first-fit's pick takes those that come before its last reserved node
      (in pool order, which is node order) in place of its last ones, and a reserved node of ``e``
      gains ``e``'s share as slack.  Best-fit: recomputed.
    - ``e`` is ``jk``: the shadow time moves (recompute).

    The level summary ``rs`` (when made: ``cache[3]`` = 1) follows the changed slack and pick."""
    dlt, jkmark = dl[0], dl[4]
    jk, jk_end = int(cache[4]), cache[5]
    inp = False
    for q in range(nodes_e.shape[0]):
        inp = inp or _in_pool(nodes_e[q], p, np_ptr, np_idx)
    if not inp:
        return True
    if jk < 0 or e == jk:
        return False
    if e_end < jk_end or (e_end == jk_end and _ahead(re, rj, nrun, e_end, e, jk)):
        prefix_moves(e, p, -1, nodes_e, tot, req, excl, np_ptr, np_idx, dl)
        return True
    new_prev, change = 0, False
    for q in range(nodes_e.shape[0]):
        n = nodes_e[q]
        if not _in_pool(n, p, np_ptr, np_idx) or not _fits_after(n, h, -1, -1, free, dlt, tot, req, excl):
            continue
        change = True
        sk = jk if jkmark[n] else -1
        if _fits_after(n, h, sk, -1, free, dlt, tot, req, excl):
            new_prev += 0 if _fits_after(n, h, sk, e, free, dlt, tot, req, excl) else 1
    if not change:
        return True
    if (sel != SEL_FIRST and not excl) or cache[6] + new_prev >= nodes_h:
        return False
    cache[6] += new_prev
    summary = cache[3] == 1.0
    for q in range(nodes_e.shape[0]):
        n = nodes_e[q]
        if not _in_pool(n, p, np_ptr, np_idx) or not _fits_after(n, h, -1, -1, free, dlt, tot, req, excl):
            continue
        if in_resv[n]:
            if summary:
                _summarise(n, -1, free, tot, slack, div, rs)
            for r in range(R):
                slack[n, r] += 0 if excl else req[e, r]
            if summary:
                _summarise(n, 1, free, tot, slack, div, rs)
        elif not _fits_after(n, h, -1, e, free, dlt, tot, req, excl) and n < resv_nodes[nodes_h - 1]:
            if summary:
                _summarise(resv_nodes[nodes_h - 1], -1, free, tot, slack, div, rs)
            in_resv[resv_nodes[nodes_h - 1]] = False
            i = nodes_h - 1
            while i > 0 and resv_nodes[i - 1] > n:
                resv_nodes[i] = resv_nodes[i - 1]
                i -= 1
            resv_nodes[i] = n
            in_resv[n] = True
            for r in range(R):
                slack[n, r] = 0 if excl else free[n, r] + dlt[n, r] - req[h, r]
            if summary:
                _summarise(n, 1, free, tot, slack, div, rs)
    return True


@njit(cache=True)
def _summarise(n, sign, free, tot, slack, div, rs):
    """Reserved node ``n`` enters (``sign`` +1) or leaves (-1) the level summary ``rs``
    (:func:`resv_levels`) with its present free amounts and slack."""
    rlvl, slvl, ridle = rs
    idle = True
    for r in range(R):
        idle = idle and free[n, r] == tot[n, r]
        for b in range(level(free[n, r], div[r]) + 1):
            rlvl[r, b] += sign
        for b in range(level(max(slack[n, r], 0), div[r]) + 1):
            slvl[r, b] += sign
    ridle[0] += sign if idle else 0


@njit(cache=True)
def _fits_after(n, h, less, plus, free, dlt, tot, req, excl):
    """Whether ``h`` fits on node ``n`` in the projection ``free + dlt`` less job ``less``'s share
    and with job ``plus``'s share taken again (``-1``: none)."""
    for r in range(R):
        v = free[n, r] + dlt[n, r]
        if less >= 0:
            v -= tot[n, r] if excl else req[less, r]
        if plus >= 0:
            v -= tot[n, r] if excl else req[plus, r]
        if v < (tot[n, r] if excl else req[h, r]):
            return False
    return True


__all__ = [
    "clear_reservation",
    "end_keeps",
    "keep_prefix",
    "prefix_moves",
    "reserve",
    "reserve_k",
    "resv_levels",
    "use_slack",
    "within_slack",
]
