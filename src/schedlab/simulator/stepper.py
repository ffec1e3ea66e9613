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

What a decision sees is offered two ways: the agents' observation (:func:`step_observe`: fixed-size,
scaled to [0, 1], see :data:`JOB_FEATURES`), and :class:`DecisionView` (:func:`step_view`): the
candidate jobs and the machine in seconds and units, for code that reasons about the schedule
(distilled trees, look-ahead heuristics) rather than learns from it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from schedlab.predict.online import observe, predict
from schedlab.simulator.engine import (
    INF,
    _arrival_score,
    _bisect,
    _correct_overdue,
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
#: Optional per-job features (``EnvOptions.history_features``), one row per visible slot appended
#: after the cluster features (so the default observation keeps its layout), in order.
HISTORY_FEATURES = (
    "requested",  # the user's requested time, log-minutes (what req_time shows when estimates are requested)
    "key_accuracy",  # the job's key (user, or similar requests), last job completed in the episode:
    #                  0.5 + log2(runtime / its estimate) / 20, clipped to [0, 1]; 0.5 until one completes
)
N_HISTORY_FEATURES = len(HISTORY_FEATURES)
#: The observation's time scale: log1p(minutes) / LOG_WEEK, so one week is 1 (a numpy float64).
LOG_WEEK = np.log1p(10080.0)


@njit(cache=True, inline="always")
def log_minutes(x):
    """Seconds on the observation's time scale: log1p(max(x, 0) / 60) / LOG_WEEK, capped at 1."""
    v = np.log1p(max(x, 0.0) / 60.0) / LOG_WEEK
    return min(v, 1.0)


@njit(cache=True)
def log_minutes_f32(x):
    """:func:`log_minutes` of every value, rounded to float32 as the observation stores it."""
    out = np.empty(x.shape[0], dtype=np.float32)
    for i in range(x.shape[0]):
        out[i] = log_minutes(x[i])
    return out


@njit(cache=True)
def step_reset(n, capacity, ist, fst):
    ist[:] = 0
    ist[I_FREE] = capacity
    ist[I_RESV] = -1
    fst[:] = 0.0
    fst[F_SHADOW] = INF


@njit(cache=True)
def step_advance(submit, run, est, size, rank, start, est_end, ht, hj, re, rj, q, ist, fst):
    """Move the clock until a decision is due; True when every job has started (episode over).
    ``est`` is given (requested or actual runtimes); see :func:`step_advance_pred` for predictions."""
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
            nq = _enqueue(q, nq, rank, nxt)
            nxt += 1
        ist[I_NH], ist[I_NXT], ist[I_FREE], ist[I_NRUN], ist[I_NQ] = nh, nxt, free, nrun, nq
        ist[I_PENDING] = 1 if nq > 0 else 0
        ist[I_PHASE] = 0
        ist[I_RESV] = -1
        fst[F_T] = t
        fst[F_SHADOW] = INF


@njit(cache=True, inline="always")
def _enqueue(q, nq, rank, j):
    """Insert job j into the queue q[:nq] kept sorted by rank (ties: arrival order)."""
    k = nq
    while k > 0 and rank[q[k - 1]] > rank[j]:
        q[k] = q[k - 1]
        k -= 1
    q[k] = j
    return nq + 1


@njit(cache=True)
def step_advance_pred(
    submit,
    run,
    est,
    size,
    rank,
    start,
    est_end,
    ht,
    hj,
    re,
    rj,
    q,
    ist,
    fst,
    codes,
    jobx,
    hist,
    cnt,
    w,
    P,
    seen,
    brank,
    kacc,
):
    """:func:`step_advance` with the engine's online predictions (``simulate_kernel_ex``'s
    semantics).  ``codes`` = (PRED_*, CORR_*, queue ARR_*, backfill ARR_*); ``jobx`` = the jobs'
    (requested time, procs, history key) rows; hist, cnt, w, P, seen: the predictor's state
    (:func:`schedlab.predict.online.new_state`).  With a predictor (PRED_* > 0) each arriving job's
    prediction is written into ``est`` and each completion updates the state; before each pass the
    running jobs past their estimated end are corrected by the CORR_* rule.  A queue or backfill
    order with an ARR_* code (0: static) is scored on the prediction when the job arrives, into
    ``rank`` / ``brank``.  ``kacc`` (one float per key; empty: not kept) receives, when a job
    completes, log2(runtime / its estimate) for its key (the per-key accuracy feature).

    The state travels as plain arrays, not the engine's ``pstate`` tuple: a call here costs what
    its arguments cost to unbox, and this runs once per decision."""
    n = submit.shape[0]
    pred, corr = codes[0], codes[1]
    req, procs, keyf = jobx[0], jobx[1], jobx[2]
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
        while nh > 0 and ht[0] <= t:  # 1. completions: the predictor learns the runtime
            j = hj[0]
            nh = _heap_pop(ht, hj, nh)
            free += size[j]
            nrun = _run_remove(re, rj, nrun, est_end[j], j)
            if pred != 0:
                observe(pred, np.int64(keyf[j]), run[j], req[j], procs[j], hist, cnt, w, P, seen)
            if kacc.shape[0] > 0:
                kacc[np.int64(keyf[j])] = np.log2(max(run[j], 1.0) / max(est[j], 1.0))
        while nxt < n and submit[nxt] <= t:  # 2. arrivals: predicted, scored, kept in queue order
            if pred != 0:
                est[nxt] = predict(pred, np.int64(keyf[nxt]), req[nxt], procs[nxt], hist, cnt, w, P, seen)
            if codes[2] != 0:
                rank[nxt] = _arrival_score(codes[2], est[nxt], procs[nxt], submit[nxt])
            if codes[3] != 0:
                brank[nxt] = _arrival_score(codes[3], est[nxt], procs[nxt], submit[nxt])
            nq = _enqueue(q, nq, rank, nxt)
            nxt += 1
        if pred != 0:  # running jobs past their estimate: corrected by the rule (as the engine)
            nrun = _correct_overdue(t, corr, start, est_end, req, re, rj, nrun)
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
def _easy_pass(j, shadow, extra, brank, est, run, size, start, est_end, ht, hj, re, rj, q, ist, fst):
    """End the pass after reserving job ``j`` in mode easy: EASY over the other waiting jobs, tried
    in backfill order (``brank``), then compact the queue."""
    t = fst[F_T]
    nq, free, nh, nrun = ist[I_NQ], ist[I_FREE], ist[I_NH], ist[I_NRUN]
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
        _easy_pass(j, shadow, extra, brank, est, run, size, start, est_end, ht, hj, re, rj, q, ist, fst)
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
        obs[o + 1] = log_minutes(w)
        obs[o + 2] = log_minutes(r)
        obs[o + 3] = s / capacity
        if s <= free:
            obs[o + 4] = 1.0
        else:
            m = _bisect(cum, nrun + 1, s, False)  # first prefix with >= s units
            obs[o + 5] = log_minutes(re[m - 1] - t)
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
        obs[g + 3 + len(HORIZONS)] = log_minutes(T)
        obs[g + 4 + len(HORIZONS)] = ist[I_EXTRA] / capacity
        if mask.shape[0] > W:
            mask[W] = True


@njit(cache=True)
def observe_history(W, req, key, kacc, q, ist, obs, base):
    """Fill the :data:`HISTORY_FEATURES` rows of the W visible slots into ``obs[base:]`` (zero for
    padding); ``kacc`` is the per-key log2(runtime / estimate) :func:`step_advance_pred` keeps."""
    E = N_HISTORY_FEATURES
    obs[base:] = 0.0
    for k in range(min(ist[I_NQ], W)):
        j = q[k]
        o = base + k * E
        obs[o] = log_minutes(req[j])
        obs[o + 1] = 0.5 + min(max(kacc[key[j]], -10.0), 10.0) / 20.0


# -- the decision view: what a decision sees, in seconds and units ---------------------------------
class DecisionView(NamedTuple):
    """The decision now due, as plain values (seconds on the episode's clock, units of the machine).

    A frozen value: its arrays are fresh copies, so it stays valid after the next step.  The
    candidates are the jobs the decision may pick (the valid actions that name a job), in slot
    order; the action that picks candidate ``i`` is ``slots[i]``.

    now           the clock (s); an episode's first submit is 0
    phase         0: pick a job to start now or, if it does not fit, to reserve;
                  1: pick a backfill job around the reserved job, or stop
    capacity      units of the machine (processors or nodes)
    free          units free now
    queue_length  waiting jobs, visible to the agent or not
    shadow        phase 1: the reserved job's start if running jobs end at their estimates (EASY's
                  shadow time, s); inf in phase 0
    extra         phase 1: units a backfill job may hold past ``shadow`` without delaying the
                  reserved job; 0 in phase 0
    slots         the candidates' queue slots (int64, ascending)
    job           the candidates' job indices in the episode (int64)
    submit        their submit times (s)
    req_time      their runtime estimates as plans use them (s): the requested time, or the true
                  runtime under ``estimates="actual"``
    size          units each asks for (int64)
    wait          time each has waited so far (s): ``now - submit``
    start_delay   if reserved now, seconds until enough units are free (running jobs end at their
                  estimates; an estimated end already past counts as now); 0 when it fits now
    stop          whether ``stop_action`` (end the backfill phase) is valid now
    stop_action   the action that stops (one past the last visible slot)
    request       their requested times (s): equal to ``req_time`` unless estimates are
                  predicted (then ``req_time`` is the prediction made when the job arrived)
    accuracy      log2(runtime / estimate) of the last job of their key (user, or similar
                  requests) that completed in the episode; 0 before one has (and when the
                  environment keeps no history features)
    """

    now: float
    phase: int
    capacity: int
    free: int
    queue_length: int
    shadow: float
    extra: int
    slots: np.ndarray
    job: np.ndarray
    submit: np.ndarray
    req_time: np.ndarray
    size: np.ndarray
    wait: np.ndarray
    start_delay: np.ndarray
    stop: bool
    stop_action: int
    request: np.ndarray | None = None
    accuracy: np.ndarray | None = None


@njit(cache=True)
def view_values(W, capacity, submit, est, size, re, rj, q, ist, fst, mask):
    """The view's values in one compiled call: scalars, then the candidates' int64 rows (slot,
    job, size) and float64 rows (submit, estimate, wait, start delay).

    Returns ``(now, phase, capacity, free, queue_length, shadow, extra, ints, floats, stop)`` with
    ``ints = [slots, job, size]`` and ``floats = [submit, req_time, wait, start_delay]``: the
    :class:`DecisionView` fields, unboxed, for compiled consumers (a tree's walker) that are
    called through ``SchedulingEnv.compiled_decision`` and so skip building the Python value.
    """
    t = fst[F_T]
    free, nq, nrun, phase = ist[I_FREE], ist[I_NQ], ist[I_NRUN], ist[I_PHASE]
    nv = min(nq, W)
    n = 0
    for k in range(nv):
        if mask[k]:
            n += 1
    cum = np.empty(nrun + 1, dtype=np.int64)  # units free as running jobs reach their estimated ends
    cum[0] = free
    for k in range(nrun):
        cum[k + 1] = cum[k] + size[rj[k]]
    ints, floats = np.empty((3, n), dtype=np.int64), np.zeros((4, n))
    c = 0
    for k in range(nv):
        if not mask[k]:
            continue
        j = q[k]
        ints[0, c], ints[1, c], ints[2, c] = k, j, size[j]
        floats[0, c], floats[1, c], floats[2, c] = submit[j], est[j], t - submit[j]
        if size[j] > free:
            m = _bisect(cum, nrun + 1, size[j], False)  # first prefix with enough units
            floats[3, c] = max(re[m - 1] - t, 0.0)
        c += 1
    shadow = fst[F_SHADOW] if phase == 1 else INF
    extra = ist[I_EXTRA] if phase == 1 else 0
    return t, phase, capacity, free, nq, shadow, extra, ints, floats, mask.shape[0] > W and mask[W]


def step_view(W, capacity, submit, est, size, re, rj, q, ist, fst, mask, req=None, key=None, kacc=None) -> DecisionView:
    """The :class:`DecisionView` of the decision now due (arguments as :func:`step_observe`, with
    the mask it filled; ``req``: requested times, and ``key``/``kacc`` as :func:`observe_history`
    takes them, for the view's ``request`` and ``accuracy``)."""
    t, phase, cap, free, nq, shadow, extra, ints, floats, stop = view_values(
        W, capacity, submit, est, size, re, rj, q, ist, fst, mask
    )
    job = ints[1]
    request = floats[1].copy() if req is None else req[job]
    accuracy = kacc[key[job]] if kacc is not None and len(kacc) else np.zeros(len(job))
    return DecisionView(
        t,
        phase,
        cap,
        free,
        nq,
        shadow,
        extra,
        ints[0],
        job,
        floats[0],
        floats[1],
        ints[2],
        floats[2],
        floats[3],
        stop,
        W,
        request,
        accuracy,
    )
