"""CQSim preset: a re-implementation of CQSim's scheduling semantics (SPEAR-UIC/CQSim, the Python
simulator), written from a reading of its source, not copied.

What CQSim does, and what this module reproduces (FCFS / static priorities, EASY or no backfill):

Input (``load_trace(..., rules="cqsim")``, see :func:`schedlab.workload.cleaning.clean_cqsim`)
  CQSim's SWF reader (``Extend/SWF/Filter_job_SWF.input_check``) clips the runtime to the
  requested time, then drops jobs with id <= 0, submit < 0, runtime <= 0, requested time <= 0 or
  requested processors <= 0.  Processors are the *requested* count (field 8).  The machine has
  ``MaxProcs`` single-processor nodes (``Filter_node_SWF``: the node count is the MaxProcs header);
  ``cluster_fraction`` (submit-time density) is 1.0.

Events (``CqSim/Cqsim_sim.py``)
  One event per job submit and per job finish; the event list is ordered by time, and at equal
  times finish events (priority 1) come before submit events (priority 2); among events of the
  same kind and time, first inserted first (submits in trace order, finishes in the order the
  jobs were started).  **Every single event** is followed by a full scheduling pass, so a job
  finishing and a job arriving at the same second give two passes, not one.

Scheduling pass (``start_scan``)
  The waiting list is sorted by score (FCFS: the wait so far, largest first, stable, i.e. submit
  order).  Jobs are started in that order while they fit in the idle processors; the first one
  that does not fit ends the scan and, with backfilling on, becomes the EASY head.  (CQSim's
  "start window" with its default mode is the identity and is not modelled.)

EASY (``CqSim/Backfill.backfill_EASY`` over ``Extend/SWF/Node_struc_SWF``)
  A profile of free processors is built from the running jobs, each assumed to end at
  start + *requested* time.  The head is reserved at the earliest profile point from which it fits
  for its *actual* runtime (CQSim hands the backfill module the job's ``run``, not ``reqTime``).
  Every later waiting job, in queue order, is started now if it fits at every profile point in
  [now, now + its actual runtime); a job so accepted is added to the profile (reserved from now),
  and the next candidates are checked against the updated profile.  Profile quirks kept on
  purpose: the first running job always opens a new profile point even when it ends *now* (so at
  ``now`` there can be two points, the current idle count and the idle count after jobs due to
  end now), and only points inside [now, now + runtime) are checked.

Everything is in processors; ``capacity_unit``, ``estimates`` and ``kill_at_request`` of the
:class:`~schedlab.simulator.config.SimConfig` are ignored by this preset (CQSim has no such
options: it plans with requested times for running jobs and actual times for waiting ones, and
runtimes are clipped at the request).
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit

from schedlab.errors import SchedlabError
from schedlab.policies import is_dynamic, priority_ranks, static_scores
from schedlab.simulator.config import SimConfig
from schedlab.simulator.result import SimResult
from schedlab.workload.table import Workload

BF_NONE, BF_EASY = 0, 1


# ----------------------------------------------------------------------------- finish-event heap
# Keyed by (time, insertion sequence): equal-time finishes are handled in the order they were
# inserted, as in CQSim's ordered event list.
@njit(cache=True)
def _heap_less(ht, hs, a, b):
    return ht[a] < ht[b] or (ht[a] == ht[b] and hs[a] < hs[b])


@njit(cache=True)
def _heap_push(ht, hs, hj, n, t, s, j):
    i = n
    ht[i] = t
    hs[i] = s
    hj[i] = j
    while i > 0:
        p = (i - 1) >> 1
        if not _heap_less(ht, hs, i, p):
            break
        ht[p], ht[i] = ht[i], ht[p]
        hs[p], hs[i] = hs[i], hs[p]
        hj[p], hj[i] = hj[i], hj[p]
        i = p
    return n + 1


@njit(cache=True)
def _heap_pop(ht, hs, hj, n):
    n -= 1
    ht[0] = ht[n]
    hs[0] = hs[n]
    hj[0] = hj[n]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= n:
            break
        c = left
        if left + 1 < n and _heap_less(ht, hs, left + 1, left):
            c = left + 1
        if not _heap_less(ht, hs, c, i):
            break
        ht[c], ht[i] = ht[i], ht[c]
        hs[c], hs[i] = hs[i], hs[c]
        hj[c], hj[i] = hj[i], hj[c]
        i = c
    return n


# ----------------------------------------------------------------------------- profile (Node_struc_SWF)
@njit(cache=True)
def _pre_reset(now, idle, run_end, run_size, nrun, pt, pa):
    """Profile from the running jobs (sorted by planned end).  Returns its number of points."""
    pt[0] = now
    pa[0] = idle
    m = 1
    for i in range(nrun):
        if pt[m - 1] != run_end[i] or i == 0:
            pt[m] = run_end[i]
            pa[m] = pa[m - 1]
            m += 1
        pa[m - 1] += run_size[i]
    return m


@njit(cache=True)
def _pre_avail(proc, start, end, pt, pa, m):
    """1 if ``proc`` processors are free at every profile point in [start, end)."""
    for i in range(m):
        if pt[i] >= end:
            break
        if pt[i] >= start and proc > pa[i]:
            return False
    return True


@njit(cache=True)
def _reserve(proc, dur, pt, pa, m, total):
    """Reserve ``proc`` processors for ``dur`` s at the earliest point where they fit.
    Returns (number of points, reservation start)."""
    i = 0
    start = np.inf
    while i < m:
        if proc <= pa[i]:
            end = pt[i] + dur
            bad = -1
            for k in range(i, m):
                if pt[k] >= end:
                    break
                if proc > pa[k]:
                    bad = k
                    break
            if bad == -1:
                start = pt[i]
                break
            i = bad + 1
        else:
            i += 1
    if i >= m:  # never fits (a job larger than the machine): caught before the kernel runs
        return m, np.inf
    end = start + dur
    j = i
    while j < m:
        if pt[j] < end:
            pa[j] -= proc
            j += 1
        elif pt[j] == end:
            return m, start
        else:
            for k in range(m, j, -1):
                pt[k] = pt[k - 1]
                pa[k] = pa[k - 1]
            pt[j] = end
            pa[j] = pa[j - 1] + proc
            return m + 1, start
    pt[m] = end
    pa[m] = total
    return m + 1, start


# ----------------------------------------------------------------------------- the kernel
@njit(cache=True)
def _allocate(j, now, req, run, procs, run_end, run_size, run_job, nrun, start, ht, hs, hj, nh, seq):
    """Start job j: insert it in the running list by planned end (after equal ends), queue its finish."""
    e = now + req[j]
    pos = nrun
    for q in range(nrun):
        if e < run_end[q]:
            pos = q
            break
    for q in range(nrun, pos, -1):
        run_end[q] = run_end[q - 1]
        run_size[q] = run_size[q - 1]
        run_job[q] = run_job[q - 1]
    run_end[pos] = e
    run_size[pos] = procs[j]
    run_job[pos] = j
    start[j] = now
    nh = _heap_push(ht, hs, hj, nh, now + run[j], seq, j)
    return nrun + 1, nh


@njit(cache=True)
def cqsim_kernel(submit, run, req, procs, rank, total, bf):
    n = len(submit)
    start = np.full(n, np.inf)
    resv = np.full(n, np.inf)
    # finish events
    ht = np.empty(n + 1)
    hs = np.empty(n + 1, dtype=np.int64)
    hj = np.empty(n + 1, dtype=np.int64)
    nh = 0
    seq = 0
    # running jobs, sorted by planned end (start + requested time), stable
    run_end = np.empty(n + 1)
    run_size = np.empty(n + 1, dtype=np.int64)
    run_job = np.empty(n + 1, dtype=np.int64)
    nrun = 0
    # waiting jobs, sorted by rank
    wait = np.empty(n + 1, dtype=np.int64)
    nw = 0
    # profile scratch
    pt = np.empty(2 * n + 4)
    pa = np.empty(2 * n + 4, dtype=np.int64)
    chosen = np.empty(n + 1, dtype=np.int64)

    idle = total
    si = 0
    events = 0
    while si < n or nh > 0:
        if nh > 0 and (si >= n or ht[0] <= submit[si]):
            now = ht[0]
            j = hj[0]
            nh = _heap_pop(ht, hs, hj, nh)
            idle += procs[j]
            for k in range(nrun):
                if run_job[k] == j:
                    for q in range(k, nrun - 1):
                        run_end[q] = run_end[q + 1]
                        run_size[q] = run_size[q + 1]
                        run_job[q] = run_job[q + 1]
                    nrun -= 1
                    break
        else:
            now = submit[si]
            j = si
            si += 1
            # insert after every waiting job of lower or equal rank
            lo, hi = 0, nw
            while lo < hi:
                mid = (lo + hi) >> 1
                if rank[wait[mid]] <= rank[j]:
                    lo = mid + 1
                else:
                    hi = mid
            for q in range(nw, lo, -1):
                wait[q] = wait[q - 1]
            wait[lo] = j
            nw += 1
        events += 1

        # scheduling pass: start in order while jobs fit
        while nw > 0:
            h = wait[0]
            if procs[h] <= idle:
                idle -= procs[h]
                for q in range(nw - 1):
                    wait[q] = wait[q + 1]
                nw -= 1
                nrun, nh = _allocate(
                    h, now, req, run, procs, run_end, run_size, run_job, nrun, start, ht, hs, hj, nh, seq
                )
                seq += 1
            else:
                break
        if bf == BF_EASY and nw > 1:
            m = _pre_reset(now, idle, run_end, run_size, nrun, pt, pa)
            h = wait[0]
            m, rs = _reserve(procs[h], run[h], pt, pa, m, total)
            resv[h] = rs
            nb = 0
            for q in range(1, nw):
                c = wait[q]
                if _pre_avail(procs[c], now, now + run[c], pt, pa, m):
                    chosen[nb] = c
                    nb += 1
                    m, _ = _reserve(procs[c], run[c], pt, pa, m, total)
            # start the backfilled jobs (in queue order)
            for b in range(nb):
                c = chosen[b]
                idle -= procs[c]
                nrun, nh = _allocate(
                    c, now, req, run, procs, run_end, run_size, run_job, nrun, start, ht, hs, hj, nh, seq
                )
                seq += 1
            if nb > 0:
                # drop started jobs from the waiting list, keeping order
                w = 0
                for q in range(nw):
                    if start[wait[q]] == np.inf:
                        wait[w] = wait[q]
                        w += 1
                nw = w
    return start, resv, events


_BF = {"none": BF_NONE, "easy": BF_EASY}


def simulate_cqsim(workload: Workload, config: SimConfig | None = None) -> SimResult:
    """Simulate ``workload`` with CQSim's semantics (see the module docstring).

    Load the trace with ``rules="cqsim"`` for CQSim's filtering; runtimes are clipped at the
    requested time here as well, so other rule sets give CQSim's scheduler on that job set.
    """
    config = config or SimConfig(preset="cqsim")
    if config.backfill not in _BF:
        raise SchedlabError(
            f"the cqsim preset supports backfill 'none' or 'easy', not {config.backfill!r} "
            "(CQSim's conservative mode is not reproduced)"
        )
    if is_dynamic(config.policy):
        raise SchedlabError(f"the cqsim preset supports static policies only, not {config.policy_label!r}")
    size = np.ascontiguousarray(workload.procs, dtype=np.int64)
    capacity = int(workload.max_procs)
    if len(size) and size.max() > capacity:
        raise SchedlabError(
            f"a job needs {size.max()} processors but the machine has {capacity} (CQSim would never start it)"
        )
    if len(size) and size.min() <= 0:
        raise SchedlabError("jobs with no processors: load the trace with rules='cqsim'")
    req = np.ascontiguousarray(workload.req_time, dtype=np.float64)
    run = np.ascontiguousarray(np.minimum(workload.run, req), dtype=np.float64)
    submit = np.ascontiguousarray(workload.submit, dtype=np.float64)
    scores = static_scores(config.policy, req, workload.procs, submit, workload)
    rank = priority_ranks(scores)
    t0 = time.perf_counter()
    start, resv, events = cqsim_kernel(submit, run, req, size, rank, capacity, _BF[config.backfill])
    elapsed = time.perf_counter() - t0
    return SimResult(
        workload=workload,
        config=config,
        start=start,
        end=start + run,
        run=run,
        size=size,
        capacity=capacity,
        reservation=resv,
        sim_seconds=elapsed,
        passes=int(events),
        extra={"preset": "cqsim"},
    )


__all__ = ["cqsim_kernel", "simulate_cqsim"]
