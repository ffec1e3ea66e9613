"""Node state of a multi-resource machine, compiled: fit, choose, take, give back, reserve.

State (all int64): ``tot[n, r]`` and ``free[n, r]`` for resources r = CPU, GPU, memory, in the
cluster's units (a node type whose memory is not modelled has a huge memory, so any request fits). A
job asks ``req[j, r]`` on each of ``nodes[j]`` nodes of its *pool* (the nodes of its partition with
its GPU type). Exclusive allocation: a node fits only when idle, and the job holds all of it; shared
allocation (cons_tres): a node fits when every free resource covers the request.

Pools are CSR lists: ``pool_ptr``/``pool_idx`` (the nodes of each pool, ascending) and
``np_ptr``/``np_idx`` (the pools of each node; ``np_pos``: the node's position in that pool). The
counters ``cnt = (pool_idle, pool_free, lvl, div, bits, word_ptr, np_pos)`` are kept as nodes are
taken and given back: ``pool_idle[p]`` counts idle nodes, ``pool_free[p, r]`` sums free resources,
``lvl[p, r, b]`` counts the nodes whose free amount of resource r is at least level b (levels:
``min(value >> div[r], B)``, B = 64, the shift ``div[r]`` sized to the largest node), and ``bits``
holds one bit per pool position (64 to a word, each pool's words from ``word_ptr[p]``), set while
the node has a free CPU, then as many *idle bits*, set while all its CPUs are free (``word_ptr[P + 1
+ p]``: the most CPUs of a node of pool ``p``; a job asking that many fits only there). A job whose
pool cannot hold it by the counts (fewer than ``nodes[j]`` nodes with enough of some one resource)
is rejected without a node scan; node scans skip the words of full nodes (a scan visits only the set
bits). On a full machine almost every waiting job is decided in O(1). The counters only rule jobs
out (a job passing them may still not fit), so ``B`` trades the cost of keeping ``lvl`` (a node's
update moves one count per level crossed) against more node scans; results do not depend on it.

EASY's reservation (``reserve``) is resource-exact: it releases running jobs in the order of their
estimated ends on a projected copy of the state until the head job fits, picks the nodes it would
get then (``in_resv``), and records each such node's *slack* (what is left of each resource after
the head job takes its share at the shadow time). A backfill job that ends after the shadow time may
use a reserved node only within its slack (none in exclusive mode).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from schedlab.simulator.multires.prepare import UNLIMITED_MEM

R = 3  # CPU, GPU, memory
SEL_FIRST, SEL_BEST = 0, 1
B = 64  # levels per resource in the fit index
UNLIMITED = UNLIMITED_MEM  # the memory of a node type whose memory is not modelled


@njit(cache=True, inline="always")
def level(v, d):
    """The fit-index level of amount ``v`` (``d``: the resource's shift, see build_counters)."""
    return min(v >> d, B)


@njit(cache=True)
def build_counters(tot, pool_ptr, pool_idx, np_ptr, np_idx):
    """The counters ``cnt`` for an idle machine (see the module docstring)."""
    P = pool_ptr.shape[0] - 1
    word_ptr = np.zeros(2 * P + 1, dtype=np.int64)  # then, from P + 1: each pool's most CPUs on a node
    for p in range(P):
        word_ptr[p + 1] = word_ptr[p] + (pool_ptr[p + 1] - pool_ptr[p] + 63) // 64
        for i in range(pool_ptr[p], pool_ptr[p + 1]):
            word_ptr[P + 1 + p] = max(word_ptr[P + 1 + p], tot[pool_idx[i], 0])
    bits = np.zeros(2 * max(word_ptr[P], 1), dtype=np.int64)  # the fit bits, then the idle bits
    np_pos = np.zeros(np_idx.shape[0], dtype=np.int64)
    for p in range(P):
        for i in range(pool_ptr[p], pool_ptr[p + 1]):
            n, pos = pool_idx[i], i - pool_ptr[p]
            for k in range(np_ptr[n], np_ptr[n + 1]):
                if np_idx[k] == p:
                    np_pos[k] = pos
            bits[word_ptr[p] + pos // 64] |= np.int64(1) << np.int64(pos % 64)
            bits[bits.shape[0] // 2 + word_ptr[p] + pos // 64] |= np.int64(1) << np.int64(pos % 64)
    div = np.zeros(R, dtype=np.int64)
    for r in range(R):
        m = 0
        for n in range(tot.shape[0]):
            if tot[n, r] < UNLIMITED:
                m = max(m, tot[n, r])
        while (m >> div[r]) > B:  # levels are powers of two wide: a shift, not a division
            div[r] += 1
    pool_idle = np.zeros(P, dtype=np.int64)
    pool_free = np.zeros((P, R), dtype=np.int64)
    lvl = np.zeros((P, R, B + 1), dtype=np.int64)
    for p in range(P):
        for i in range(pool_ptr[p], pool_ptr[p + 1]):
            n = pool_idx[i]
            pool_idle[p] += 1
            for r in range(R):
                pool_free[p, r] += tot[n, r]
                for b in range(level(tot[n, r], div[r]) + 1):
                    lvl[p, r, b] += 1
    return pool_idle, pool_free, lvl, div, bits, word_ptr, np_pos


@njit(cache=True, inline="always")
def _ctz(x):
    """The index of the lowest set bit of ``x`` (not 0)."""
    n = 0
    if (x & 0xFFFFFFFF) == 0:
        n += 32
        x >>= 32
    if (x & 0xFFFF) == 0:
        n += 16
        x >>= 16
    if (x & 0xFF) == 0:
        n += 8
        x >>= 8
    if (x & 0xF) == 0:
        n += 4
        x >>= 4
    if (x & 0x3) == 0:
        n += 2
        x >>= 2
    return n + (1 - (x & 1))


@njit(cache=True)
def fitting_nodes(j, p, free, req, excl, pool_ptr, pool_idx, cnt, in_resv, slack, guard, limit, out):
    """The nodes of pool ``p`` where job ``j`` fits now, in pool order, into ``out`` (at most
    ``limit``); returns how many. ``guard``: the job ends after the shadow time, so a reserved
    node counts only within its slack. Only nodes with a free CPU are looked at (all of them for
    a job asking no CPU; the idle ones for a job asking a whole node's CPUs). (The tests are
    written out, not called: a call in this loop made it many times slower under numba.)"""
    a, b = pool_ptr[p], pool_ptr[p + 1]
    bits, wp = cnt[4], cnt[5][p]
    r0, r1, r2 = req[j, 0], req[j, 1], req[j, 2]
    if r0 >= cnt[5][pool_ptr.shape[0] + p]:  # a whole node's CPUs: only idle nodes can fit
        wp += bits.shape[0] // 2
    use_bits = excl or r0 > 0
    m = 0
    if limit <= 0:
        return 0
    for w in range((b - a + 63) // 64):
        word = bits[wp + w] if use_bits else np.int64(-1)
        lim = min(64, b - a - w * 64)
        while word != 0:  # the set bits, lowest first
            bit = _ctz(word)
            word &= word - 1
            if bit >= lim:
                break
            n = pool_idx[a + w * 64 + bit]
            if excl:  # a set bit is an idle node; reserved ones are out of bounds for a guarded job
                if guard and in_resv[n]:
                    continue
            else:
                if free[n, 0] < r0 or free[n, 1] < r1 or free[n, 2] < r2:
                    continue
                if guard and in_resv[n] and (slack[n, 0] < r0 or slack[n, 1] < r1 or slack[n, 2] < r2):
                    continue
            out[m] = n
            m += 1
            if m == limit:
                return m
    return m


@njit(cache=True)
def choose(j, p, free, tot, req, nodes, excl, sel, pool_ptr, pool_idx, in_resv, slack, guard, out, cnt):
    """Pick ``nodes[j]`` nodes of pool ``p`` for job ``j`` into ``out``; True when enough fit
    (:func:`fitting_nodes`).  First-fit takes the lowest node indices; best-fit the nodes left with
    the least free GPUs, then CPUs, then memory after the job takes its share (ties: lowest index)."""
    need = nodes[j]
    size = pool_ptr[p + 1] - pool_ptr[p]
    if sel == SEL_FIRST or need == size:
        return fitting_nodes(j, p, free, req, excl, pool_ptr, pool_idx, cnt, in_resv, slack, guard, need, out) == need
    cand = np.empty(size, dtype=np.int64)
    m = fitting_nodes(j, p, free, req, excl, pool_ptr, pool_idx, cnt, in_resv, slack, guard, size, cand)
    if m < need:
        return False
    key = np.zeros(m)  # leftover GPUs dominate, then CPUs, then memory (scaled into one float key)
    if not excl:
        for i in range(m):
            n = cand[i]
            g, c, mem = free[n, 1] - req[j, 1], free[n, 0] - req[j, 0], free[n, 2] - req[j, 2]
            key[i] = g * 1e12 + c * 1e6 + min(mem, 999999)
    order = np.argsort(key, kind="mergesort")
    for k in range(need):
        out[k] = cand[order[k]]
    return True


@njit(cache=True)
def _apply(j, chosen, sign, free, tot, req, excl, np_ptr, np_idx, cnt, in_resv, rs):
    """Job ``j`` takes (``sign`` -1) or gives back (+1) its share of each node in ``chosen``; the
    counters of the nodes' pools follow, and the reservation summary ``rs`` (free levels, idle
    count) for reserved nodes.  A run of nodes in one pool going from the same free amounts to the
    same new ones (a large job's idle nodes) moves the pool's counters once for the run.  One
    loop, no calls: a call per node passing arrays costs more than the update."""
    pool_idle, pool_free, lvl, div, bits, word_ptr, np_pos = cnt
    rlvl, ridle = rs[0], rs[2]
    new = np.empty(R, dtype=np.int64)
    run = np.zeros(2 * R, dtype=np.int64)  # the run's old and new free amounts
    run_p, run_n, run_idle = -1, 0, 0
    K = chosen.shape[0]
    for k in range(K + 1):
        n = chosen[k] if k < K else -1
        single = False
        if n >= 0:
            idle_before, idle_after = True, True
            for r in range(R):
                new[r] = free[n, r] + sign * (tot[n, r] if excl else req[j, r])
                idle_before = idle_before and free[n, r] == tot[n, r]
                idle_after = idle_after and new[r] == tot[n, r]
            d_idle = (1 if idle_after else 0) - (1 if idle_before else 0)
            if in_resv[n]:
                ridle[0] += d_idle
                for r in range(R):
                    bo, bn = level(free[n, r], div[r]), level(new[r], div[r])
                    for b in range(bn + 1, bo + 1):
                        rlvl[r, b] -= 1
                    for b in range(bo + 1, bn + 1):
                        rlvl[r, b] += 1
            single = np_ptr[n + 1] - np_ptr[n] == 1
            if single and run_n > 0 and np_idx[np_ptr[n]] == run_p and d_idle == run_idle:
                same = True
                for r in range(R):
                    same = same and run[r] == free[n, r] and run[R + r] == new[r]
                if same:  # one more node of the run
                    run_n += 1
                    _set_bits(np_ptr[n], run_p, new[0] > 0, new[0] == tot[n, 0], bits, word_ptr, np_pos)
                    for r in range(R):
                        free[n, r] = new[r]
                    continue
        if run_n > 0:  # the run ends: its pool's counters move once
            pool_idle[run_p] += run_n * run_idle
            for r in range(R):
                pool_free[run_p, r] += run_n * (run[R + r] - run[r])
                bo, bn = level(run[r], div[r]), level(run[R + r], div[r])
                for b in range(bn + 1, bo + 1):
                    lvl[run_p, r, b] -= run_n
                for b in range(bo + 1, bn + 1):
                    lvl[run_p, r, b] += run_n
            run_n = 0
        if n < 0:
            break
        if single:  # a new run
            run_p, run_n, run_idle = np_idx[np_ptr[n]], 1, d_idle
            for r in range(R):
                run[r], run[R + r] = free[n, r], new[r]
            _set_bits(np_ptr[n], run_p, new[0] > 0, new[0] == tot[n, 0], bits, word_ptr, np_pos)
        else:
            for i in range(np_ptr[n], np_ptr[n + 1]):
                p = np_idx[i]
                pool_idle[p] += d_idle
                _set_bits(i, p, new[0] > 0, new[0] == tot[n, 0], bits, word_ptr, np_pos)
                for r in range(R):
                    pool_free[p, r] += new[r] - free[n, r]
                    bo, bn = level(free[n, r], div[r]), level(new[r], div[r])
                    for b in range(bn + 1, bo + 1):
                        lvl[p, r, b] -= 1
                    for b in range(bo + 1, bn + 1):
                        lvl[p, r, b] += 1
        for r in range(R):
            free[n, r] = new[r]


@njit(cache=True, inline="always")
def _set_bits(i, p, on, idle, bits, word_ptr, np_pos):
    """The bits of the node at ``np_pos[i]`` in pool ``p``: set while it has a free CPU (``on``) and
    while all its CPUs are free (``idle``)."""
    mask = np.int64(1) << np.int64(np_pos[i] % 64)
    wi = word_ptr[p] + np_pos[i] // 64
    bits[wi] = (bits[wi] | mask) if on else (bits[wi] & ~mask)
    wi += bits.shape[0] // 2
    bits[wi] = (bits[wi] | mask) if idle else (bits[wi] & ~mask)


@njit(cache=True, inline="always")
def take(j, chosen, free, tot, req, excl, np_ptr, np_idx, cnt, in_resv, rs):
    """Job ``j`` takes its share of each node in ``chosen`` (reserved ones kept in ``rs``)."""
    _apply(j, chosen, -1, free, tot, req, excl, np_ptr, np_idx, cnt, in_resv, rs)


@njit(cache=True, inline="always")
def give_back(j, chosen, free, tot, req, excl, np_ptr, np_idx, cnt, in_resv, rs):
    """Job ``j`` ends: its share of each node in ``chosen`` is free again."""
    _apply(j, chosen, 1, free, tot, req, excl, np_ptr, np_idx, cnt, in_resv, rs)


__all__ = [
    "SEL_BEST",
    "SEL_FIRST",
    "B",
    "R",
    "build_counters",
    "choose",
    "fitting_nodes",
    "give_back",
    "level",
    "take",
]  # fmt: skip
