"""Online runtime predictors, compiled, driven by the engine as jobs arrive and complete.

A predictor keeps a little state that the engine updates when a job **completes** (its true
runtime becomes known) and reads when a job **arrives** (its prediction is fixed then).  So every
prediction made at time t uses only jobs that finished in the simulation before t: predictions are
causal by construction.

History is kept per *key*: the user where the trace has user ids, else (traces without users,
such as theta) the job's requested time rounded to a quarter of a power of two ("similar
requests"); :func:`history_keys` says which was used.

Predictors (``PRED_*``):

  last2  Tsafrir, Etsion & Feitelson (2007): the mean of the key's last two completed runtimes
         (the last one if only one is known), capped at the request; the request without history.
  ml     an online regression of log runtime on the job's log request, log size and its key's
         recent log runtimes (recursive least squares with a forgetting factor, so old behaviour
         fades), in the spirit of Gaussier et al. (SC'15); samples the model under-predicted weigh
         ``UNDER_WEIGHT`` times more, because an under-prediction costs backfilling more than an
         over-prediction (their E-loss idea).  Until ``ML_MIN_SEEN`` jobs have completed it answers
         like last2.

Every prediction is clipped to [1 s, request].  A running job that outlives its prediction is not
killed (only its request kills it); its estimate is corrected by a rule (``CORR_*``):

  reqtime  the request (Tsafrir et al.'s choice; EASY++)
  double   twice the time it has run, at most the request
  tsafrir  the next of the usual walltime values (1, 5, 15, 30 min, 1, 2, 4, 8, 12, 24, 48, 72 h)
           above the time it has run, at most the request
"""

from __future__ import annotations

import numpy as np
from numba import njit

from schedlab.errors import OptionError

PRED_NONE, PRED_LAST2, PRED_ML = 0, 1, 2
CORR_REQTIME, CORR_DOUBLE, CORR_TSAFRIR = 0, 1, 2
N_FEATURES = 6
ML_MIN_SEEN = 20
UNDER_WEIGHT = 2.0
FORGET = 0.9995
RLS_INIT = 100.0
#: drift detection (ml): a two-sided Page-Hinkley test on the standardised log prediction error of
#: completed jobs (mean and deviation tracked with rate DRIFT_RATE); a shift of more than
#: DRIFT_DELTA deviations that accumulates past DRIFT_THRESHOLD restarts the regression's
#: confidence (P back to RLS_INIT * I: a shortened history, so it refits to the new regime)
DRIFT_RATE = 0.002
DRIFT_DELTA = 0.5
DRIFT_THRESHOLD = 200.0
PH = 3 * N_FEATURES  # where the test's state starts in ``w``
TSAFRIR_STEPS = np.array(
    [60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 43200.0, 86400.0, 172800.0, 259200.0]
)


def history_keys(user: np.ndarray, req_time: np.ndarray) -> tuple[np.ndarray, bool]:
    """Per job, the index of the history it reads and feeds; and whether users were used.

    Users are used when the trace has at least two distinct non-negative user ids; otherwise
    jobs are grouped by their request rounded to a quarter of a power of two (similar requests).
    """
    user = np.asarray(user)
    valid = user[user >= 0]
    if len(np.unique(valid)) >= 2:
        raw = np.where(user >= 0, user, -1)
        by_user = True
    else:
        raw = np.round(4.0 * np.log2(np.maximum(np.asarray(req_time, dtype=np.float64), 1.0))).astype(np.int64)
        by_user = False
    _, keys = np.unique(raw, return_inverse=True)
    return keys.astype(np.int64), by_user


def new_state(n_keys: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(hist[n_keys, 2], count[n_keys], w, P[N_FEATURES, N_FEATURES], seen[1]) all empty; ``w`` holds
    the weights (its first N_FEATURES values) and scratch space for the model's updates."""
    return (
        np.zeros((max(n_keys, 1), 2)),
        np.zeros(max(n_keys, 1), dtype=np.int64),
        np.concatenate([np.zeros(3 * N_FEATURES), [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, DRIFT_THRESHOLD, 0.0]]),
        np.eye(N_FEATURES) * RLS_INIT,
        np.zeros(1, dtype=np.int64),
    )


@njit(cache=True, inline="always")
def _last2(hist, cnt, key, req):
    c = cnt[key]
    if c == 0:
        return req
    v = hist[key, 0] if c == 1 else 0.5 * (hist[key, 0] + hist[key, 1])
    return min(max(v, 1.0), req)


@njit(cache=True)
def _features(x, hist, cnt, key, req, procs):
    lr = np.log(max(req, 1.0))
    c = cnt[key]
    h1 = np.log(max(hist[key, 0], 1.0)) if c >= 1 else lr
    h2 = np.log(max(0.5 * (hist[key, 0] + hist[key, 1]), 1.0)) if c >= 2 else h1
    x[0] = 1.0
    x[1] = lr
    x[2] = np.log(max(procs, 1.0))
    x[3] = h1
    x[4] = h2
    x[5] = 1.0 if c >= 1 else 0.0


@njit(cache=True)
def predict(code, key, req, procs, hist, cnt, w, P, seen):
    """The runtime estimate of an arriving job (seconds, in [1, req])."""
    if code == PRED_LAST2 or seen[0] < ML_MIN_SEEN:
        return _last2(hist, cnt, key, req)
    x = w[N_FEATURES : 2 * N_FEATURES]
    _features(x, hist, cnt, key, req, procs)
    y = 0.0
    for i in range(N_FEATURES):
        y += w[i] * x[i]
    if not np.isfinite(y):
        return _last2(hist, cnt, key, req)
    return min(max(np.exp(min(y, 50.0)), 1.0), req)


@njit(cache=True)
def _drifted(w, err):
    """Feed ``err`` to the Page-Hinkley test kept in ``w[PH:PH + 8]`` (running mean and mean
    absolute deviation of the error, upward sum and its minimum, downward sum and its maximum,
    threshold, drifts so far); True on a change.  The sums add standardised errors, so the test
    reads "the mean error moved by more than DRIFT_DELTA deviations, persistently"."""
    scale = w[PH + 1] if w[PH + 1] > 0 else abs(err) + 1e-9
    z = (err - w[PH]) / max(scale, 1e-3)
    w[PH] += DRIFT_RATE * (err - w[PH])
    w[PH + 1] = scale + DRIFT_RATE * (abs(err - w[PH]) - scale)
    w[PH + 2] += z - DRIFT_DELTA
    w[PH + 3] = min(w[PH + 3], w[PH + 2])
    w[PH + 4] += z + DRIFT_DELTA
    w[PH + 5] = max(w[PH + 5], w[PH + 4])
    if w[PH + 2] - w[PH + 3] > w[PH + 6] or w[PH + 5] - w[PH + 4] > w[PH + 6]:
        for i in range(2, 6):
            w[PH + i] = 0.0
        w[PH] = err  # the new regime's level
        w[PH + 7] += 1.0
        return True
    return False


@njit(cache=True)
def observe(code, key, runtime, req, procs, hist, cnt, w, P, seen):
    """A job of ``key`` completed after ``runtime`` seconds: update the history (and the model)."""
    if code == PRED_ML:
        F = N_FEATURES
        x, Px = w[F : 2 * F], w[2 * F : 3 * F]
        _features(x, hist, cnt, key, req, procs)
        y = np.log(max(runtime, 1.0))
        yhat = 0.0
        for i in range(F):
            yhat += w[i] * x[i]
        omega = UNDER_WEIGHT if y > yhat else 1.0
        denom = FORGET / omega
        for i in range(F):
            acc = 0.0
            for j2 in range(F):
                acc += P[i, j2] * x[j2]
            Px[i] = acc
            denom += x[i] * acc
        err = y - yhat
        if seen[0] >= ML_MIN_SEEN and _drifted(w, err):
            for i in range(F):
                for j2 in range(F):
                    P[i, j2] = RLS_INIT if i == j2 else 0.0
        for i in range(F):
            w[i] += Px[i] / denom * err
        # P <- (P - k Px^T) / FORGET with k = Px / denom (P symmetric, so the update is too)
        for i in range(F):
            for j2 in range(F):
                P[i, j2] = (P[i, j2] - Px[i] * Px[j2] / denom) / FORGET
        for i in range(F):  # keep P bounded (numerical hygiene of RLS with forgetting)
            if P[i, i] > 1e6:
                scale = np.sqrt(1e6 / P[i, i])
                for j2 in range(F):
                    P[i, j2] *= scale
                    P[j2, i] *= scale
    hist[key, 1] = hist[key, 0]
    hist[key, 0] = runtime
    cnt[key] += 1
    seen[0] += 1


@njit(cache=True)
def correct(rule, est, elapsed, req):
    """A new estimate for a job whose estimate ``est`` has been exceeded (it has run ``elapsed``).

    The rule is applied until the estimate exceeds ``elapsed`` or reaches the request, so the
    result does not depend on when the engine notices the overrun.
    """
    if rule == CORR_REQTIME or elapsed >= req:
        return req
    if rule == CORR_DOUBLE:
        while est <= elapsed:
            est = 2.0 * max(est, 1.0)
        return min(est, req)
    for v in TSAFRIR_STEPS:
        if v > elapsed:
            return min(v, req)
    return req


@njit(cache=True)
def _warm(code, keys, runs, reqs, procs, hist, cnt, w, P, seen):
    for i in range(keys.shape[0]):
        observe(code, keys[i], runs[i], reqs[i], procs[i], hist, cnt, w, P, seen)


def predictor_state(workload, code: int, drift_threshold: float = DRIFT_THRESHOLD) -> tuple[tuple, bool]:
    """The ``pstate`` tuple the engine takes for ``workload`` (see ``simulate_kernel_ex``), with
    the history warmed by the jobs that had ended before the workload's first submit
    (``workload.history()``: empty for a whole trace); and whether keys are users.
    ``drift_threshold`` is the ml predictor's Page-Hinkley threshold (``inf``: no drift detection)."""
    if not drift_threshold > 0:
        raise OptionError(f"drift threshold must be > 0 (inf: never), got {drift_threshold}")
    prior = workload.history()
    n0 = len(prior["user"])
    users = np.concatenate([np.asarray(prior["user"], dtype=np.int64), np.asarray(workload.user, dtype=np.int64)])
    reqs = np.concatenate([prior["req_time"], workload.req_time]).astype(np.float64)
    procs = np.concatenate([prior["procs"], workload.procs]).astype(np.float64)
    keys, by_user = history_keys(users, reqs)
    hist, cnt, w, P, seen = new_state(int(keys.max()) + 1 if len(keys) else 1)
    w[PH + 6] = drift_threshold
    if n0:
        runs = np.asarray(prior["run"], dtype=np.float64)
        _warm(code, keys[:n0], runs, reqs[:n0], procs[:n0], hist, cnt, w, P, seen)
    state = (
        np.ascontiguousarray(keys[n0:]),
        np.ascontiguousarray(reqs[n0:]),
        np.ascontiguousarray(procs[n0:]),
        hist,
        cnt,
        w,
        P,
        seen,
    )
    return state, by_user
