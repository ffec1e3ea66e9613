"""Node state of a multi-resource machine, compiled: fit, choose, take, give back, reserve.

State (all int64): ``tot[n, r]`` and ``free[n, r]`` for resources r = CPU, GPU, memory, in the
cluster's units (a node type whose memory is not modelled has a huge memory, so any request fits).
A job asks ``req[j, r]`` on each of ``nodes[j]`` nodes of its *pool* (the nodes of its partition
with its GPU type).  Exclusive allocation: a node fits only when idle, and the job holds all of it;
shared allocation (cons_tres): a node fits when every free resource covers the request.

Pools are CSR lists: ``pool_ptr``/``pool_idx`` (the nodes of each pool, ascending) and
``np_ptr``/``np_idx`` (the pools of each node).  ``pool_idle[p]`` counts idle nodes and
``pool_free[p, r]`` sums free resources, kept as nodes are taken and given back: a job whose pool
cannot hold it by these counts is rejected without a node scan.

EASY's reservation (``reserve``) is resource-exact: it releases running jobs in the order of their
estimated ends on a projected copy of the state until the head job fits, picks the nodes it
would get then (``in_resv``), and records each such node's *slack* (what is left of each resource
after the head job takes its share at the shadow time).  A backfill job that ends after the
shadow time may use a reserved node only within its slack (none in exclusive mode).
"""

from __future__ import annotations

import numpy as np
from numba import njit

R = 3  # CPU, GPU, memory
SEL_FIRST, SEL_BEST = 0, 1


@njit(cache=True, inline="always")
def node_fits(n, j, free, tot, req, excl):
    if excl:
        for r in range(R):  # noqa: SIM110 (numba: no generator in all())
            if free[n, r] != tot[n, r]:
                return False
        return True
    for r in range(R):  # noqa: SIM110
        if free[n, r] < req[j, r]:
            return False
    return True


@njit(cache=True, inline="always")
def slack_ok(n, j, slack, req, excl):
    """A job ending after the shadow time may use reserved node ``n`` only within its slack."""
    if excl:
        return False
    for r in range(R):  # noqa: SIM110
        if slack[n, r] < req[j, r]:
            return False
    return True


@njit(cache=True)
def pool_may_fit(p, j, nodes, req, excl, pool_idle, pool_free):
    """Necessary condition from the pool's counters (no node scan)."""
    if excl:
        return pool_idle[p] >= nodes[j]
    for r in range(R):  # noqa: SIM110
        if pool_free[p, r] < nodes[j] * req[j, r]:
            return False
    return True


@njit(cache=True)
def choose(j, p, free, tot, req, nodes, excl, sel, pool_ptr, pool_idx, in_resv, slack, guard, out):
    """Pick ``nodes[j]`` nodes of pool ``p`` for job ``j`` into ``out``; True when enough fit.

    ``guard``: the job ends after the shadow time, so reserved nodes are usable only within their
    slack.  First-fit takes the lowest node indices; best-fit the nodes left with the least free
    GPUs, then CPUs, then memory after the job takes its share (ties: lowest index)."""
    need = nodes[j]
    a, b = pool_ptr[p], pool_ptr[p + 1]
    if sel == SEL_FIRST or need == b - a:
        k = 0
        for i in range(a, b):
            n = pool_idx[i]
            if node_fits(n, j, free, tot, req, excl) and (
                not guard or not in_resv[n] or slack_ok(n, j, slack, req, excl)
            ):
                out[k] = n
                k += 1
                if k == need:
                    return True
        return False
    cand = np.empty(b - a, dtype=np.int64)
    key = np.empty(b - a)
    m = 0
    for i in range(a, b):
        n = pool_idx[i]
        usable = not guard or not in_resv[n] or slack_ok(n, j, slack, req, excl)
        if usable and node_fits(n, j, free, tot, req, excl):
            cand[m] = n
            if excl:
                key[m] = 0.0
            else:  # leftover GPUs dominate, then CPUs, then memory (scaled into one float key)
                key[m] = (
                    (free[n, 1] - req[j, 1]) * 1e12
                    + (free[n, 0] - req[j, 0]) * 1e6
                    + min(free[n, 2] - req[j, 2], 999999) * 1.0
                )
            m += 1
    if m < need:
        return False
    order = np.argsort(key[:m], kind="mergesort")
    for k in range(need):
        out[k] = cand[order[k]]
    return True


@njit(cache=True)
def _pools_add(n, sign, delta, idle_change, np_ptr, np_idx, pool_idle, pool_free):
    for i in range(np_ptr[n], np_ptr[n + 1]):
        p = np_idx[i]
        pool_idle[p] += idle_change
        for r in range(R):
            pool_free[p, r] += sign * delta[r]


@njit(cache=True)
def take(j, chosen, free, tot, req, excl, np_ptr, np_idx, pool_idle, pool_free):
    """Job ``j`` takes its share of each node in ``chosen``."""
    delta = np.empty(R, dtype=np.int64)
    for k in range(chosen.shape[0]):
        n = chosen[k]
        for r in range(R):
            delta[r] = tot[n, r] if excl else req[j, r]
        was_idle = True
        for r in range(R):
            if free[n, r] != tot[n, r]:
                was_idle = False
        for r in range(R):
            free[n, r] -= delta[r]
        _pools_add(n, -1, delta, -1 if was_idle else 0, np_ptr, np_idx, pool_idle, pool_free)


@njit(cache=True)
def give_back(j, chosen, free, tot, req, excl, np_ptr, np_idx, pool_idle, pool_free):
    """Job ``j`` ends: its share of each node in ``chosen`` is free again."""
    delta = np.empty(R, dtype=np.int64)
    for k in range(chosen.shape[0]):
        n = chosen[k]
        for r in range(R):
            delta[r] = tot[n, r] if excl else req[j, r]
            free[n, r] += delta[r]
        now_idle = True
        for r in range(R):
            if free[n, r] != tot[n, r]:
                now_idle = False
        _pools_add(n, 1, delta, 1 if now_idle else 0, np_ptr, np_idx, pool_idle, pool_free)


@njit(cache=True)
def reserve(h, p, t, free, tot, req, nodes, excl, sel, pool_ptr, pool_idx, np_ptr, np_idx,
            re, rj, nrun, alloc, off, in_pool, proj, in_resv, slack, resv_nodes):  # fmt: skip
    """EASY's reservation for blocked job ``h`` (pool ``p``) at time ``t``: the shadow time (the
    earliest estimated end after which it fits, never before ``t``), its nodes in ``resv_nodes``
    (flagged in ``in_resv``) and their slack.  ``re``/``rj``: running jobs by estimated end;
    ``alloc``/``off``: each job's nodes; ``in_pool``: scratch bool per node (left all False);
    ``proj``: scratch state.  Returns the shadow time (inf if it never fits)."""
    a, b = pool_ptr[p], pool_ptr[p + 1]
    for i in range(a, b):
        in_pool[pool_idx[i]] = True
    proj[:, :] = free
    count = 0
    for i in range(a, b):
        if node_fits(pool_idx[i], h, proj, tot, req, excl):
            count += 1
    shadow = np.inf
    k = 0
    while count < nodes[h] and k < nrun:
        jr = rj[k]
        for q in range(off[jr], off[jr] + nodes[jr]):
            n = alloc[q]
            before = in_pool[n] and node_fits(n, h, proj, tot, req, excl)
            for r in range(R):
                proj[n, r] += tot[n, r] if excl else req[jr, r]
            if in_pool[n] and not before and node_fits(n, h, proj, tot, req, excl):
                count += 1
        shadow = max(re[k], t)
        k += 1
    for i in range(a, b):
        in_pool[pool_idx[i]] = False
    if count < nodes[h]:
        return np.inf
    if k == 0:
        shadow = t
    dummy = np.zeros(1, dtype=np.bool_)
    choose(h, p, proj, tot, req, nodes, excl, sel, pool_ptr, pool_idx, dummy, slack, False, resv_nodes)
    for i in range(nodes[h]):
        n = resv_nodes[i]
        in_resv[n] = True
        for r in range(R):
            slack[n, r] = 0 if excl else proj[n, r] - req[h, r]
    return shadow


@njit(cache=True)
def clear_reservation(h, nodes, in_resv, resv_nodes):
    for i in range(nodes[h]):
        in_resv[resv_nodes[i]] = False


__all__ = ["SEL_BEST", "SEL_FIRST", "R", "choose", "give_back", "pool_may_fit", "reserve", "take"]
