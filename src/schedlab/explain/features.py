"""What a distilled tree reads: one row per candidate action, in units a system manager uses.

At a decision of :class:`schedlab.rl.SchedulingEnv` the candidates are the valid visible jobs
(and, when the agent picks its own backfill jobs, the ``stop`` action).  Each row holds the
candidate's own features, its rank among the candidates (so "the shortest request in the queue"
is one split) and the cluster's, so a tree on these rows is a priority function: the candidate
with the highest predicted score is taken.

The rows are computed from the decision's :class:`~schedlab.simulator.stepper.DecisionView`
(``env.decision_view()``: seconds and units).  One rounding is kept on purpose:
``start_delay_h`` is the start delay at the precision the agents' observation carries it (the
log-minute scale of :func:`~schedlab.simulator.stepper.log_minutes`, float32, capped at a week),
because trees were distilled from those values and their thresholds are placed between them.

``req_time_h`` is the estimate plans use: the requested time, or, under predicted estimates, the
prediction made when the job arrived.  :data:`HISTORY_FEATURES` (``candidate_rows(view,
history=True)``) add the request itself and the job's key's recent prediction accuracy, so a tree
can split on predicted runtime, requested time and waited time alike.  Trees distilled before
they existed read :data:`FEATURES` only.
"""

from __future__ import annotations

import numpy as np

from schedlab.errors import SchedlabError
from schedlab.simulator.stepper import LOG_WEEK, DecisionView, log_minutes_f32

#: Row features, in order (hours are wall-clock hours; units are the env's capacity unit).
FEATURES = (
    "req_time_h",  # requested time (walltime estimate), hours
    "procs",  # processors (or nodes) requested
    "wait_h",  # time waited so far, hours
    "fits_now",  # 1 if it fits in the free processors now
    "shortfall",  # processors missing to start it now: max(0, procs - free_procs)
    "start_delay_h",  # if reserved now, hours until enough processors free up (running jobs end at estimates)
    "bsld_if_now",  # bounded slowdown if it started now: (wait + req) / max(req, 10 s)
    "is_stop",  # 1 for the "stop backfilling" action (its job features are 0)
    "free_procs",  # free processors now
    "queue_length",  # waiting jobs (visible or not)
    "backfill_phase",  # 1 while choosing backfill jobs around a reserved job
    "resv_wait_h",  # backfill phase: hours until the reserved job's start
    "extra_procs",  # backfill phase: processors a backfill job may keep past that start
    "req_rank",  # candidates with a shorter requested time (0: the shortest request)
    "procs_rank",  # candidates asking fewer processors (0: the smallest job)
    "area_rank",  # candidates with a smaller procs x requested time (0: the smallest area)
    "wait_rank",  # candidates that waited longer (0: the longest waiting job)
)
N_FEATURES = len(FEATURES)
#: Appended after FEATURES with ``history=True`` (0 for the stop action).
HISTORY_FEATURES = (
    "request_h",  # the user's requested time, hours (req_time_h is the prediction under predicted estimates)
    "key_accuracy",  # log2(runtime / estimate) of the last job of its user (or similar requests) that completed
)
EXTENDED_FEATURES = FEATURES + HISTORY_FEATURES
#: What a job shows when it is submitted (``explain --features submit``; ``candidate_rows(view,
#: history="submit")``): a tree over these is a priority fixed at submit, which Slurm's
#: job_submit.lua and the SiteFactor daemon compute (:mod:`schedlab.slurm.deploy_lua`).
SUBMIT_FEATURES = (
    "request_h",  # the requested time (Slurm: the time limit), hours
    "procs",  # processors (or nodes) requested
    "user_accuracy",  # log2(runtime / request) of the user's (the key's) last completed job; 0 before one
    "predicted_h",  # predicted runtime: request_h x min(1, 2 ** user_accuracy), hours
)


def feature_set(history: bool | str = False) -> tuple[str, ...]:
    """The features rows hold: :data:`FEATURES`, :data:`EXTENDED_FEATURES` (``history=True``) or
    :data:`SUBMIT_FEATURES` (``history="submit"``)."""
    return SUBMIT_FEATURES if history == "submit" else EXTENDED_FEATURES if history else FEATURES


def submit_values(request_h, procs, user_accuracy) -> np.ndarray:
    """Rows of :data:`SUBMIT_FEATURES` from their inputs (what Lua and the daemon compute alike)."""
    request_h, procs = np.asarray(request_h, dtype=np.float64), np.asarray(procs, dtype=np.float64)
    acc = np.asarray(user_accuracy, dtype=np.float64)
    predicted = request_h * np.minimum(1.0, np.exp2(np.minimum(acc, 0.0)))
    return np.column_stack([request_h, procs, acc, predicted])


def observed_delay_h(start_delay: np.ndarray) -> np.ndarray:
    """Start delays (s) as ``start_delay_h`` reads them: hours, at the observation's precision."""
    return np.expm1(log_minutes_f32(start_delay) * LOG_WEEK) / 60.0


def candidate_rows(view: DecisionView, history: bool | str = False) -> tuple[np.ndarray, np.ndarray]:
    """(actions, X): the valid actions of the decision ``view`` shows and one feature row each
    (:data:`FEATURES`, :data:`EXTENDED_FEATURES` with ``history``, :data:`SUBMIT_FEATURES` with
    ``history="submit"``)."""
    if history == "submit":
        return submit_rows(view)
    n = len(view.slots)
    free = float(view.free)
    X = np.zeros((n + (1 if view.stop else 0), len(EXTENDED_FEATURES) if history else N_FEATURES))
    req, wait = view.req_time, view.wait
    size = view.size.astype(np.float64)
    X[:n, 0] = req / 3600.0
    X[:n, 1] = size
    X[:n, 2] = wait / 3600.0
    X[:n, 3] = size <= free
    X[:n, 4] = np.maximum(0.0, size - free)
    X[:n, 5] = observed_delay_h(view.start_delay)
    X[:n, 6] = (wait + req) / np.maximum(req, 10.0)
    X[:, 8] = free
    X[:, 9] = view.queue_length
    X[:, 10] = view.phase
    if view.phase == 1:
        X[:, 11] = max(view.shadow - view.now, 0.0) / 3600.0
        X[:, 12] = view.extra
    for col, key in ((13, req), (14, size), (15, size * req), (16, -wait)):  # ties share the lower rank
        X[:n, col] = np.searchsorted(np.sort(key), key, side="left")
    if history:
        X[:n, N_FEATURES] = (view.req_time if view.request is None else view.request) / 3600.0
        X[:n, N_FEATURES + 1] = 0.0 if view.accuracy is None else view.accuracy
    actions = view.slots
    if view.stop:  # the stop action: ranked after every job
        X[n, 13:17] = n
        X[n, 7] = 1.0
        actions = np.append(view.slots, view.stop_action)
    return actions.astype(np.int64), X


def submit_rows(view: DecisionView) -> tuple[np.ndarray, np.ndarray]:
    """(actions, X) over :data:`SUBMIT_FEATURES`: the candidate jobs only (a submit-time priority
    has no ``stop`` action: an environment whose agent picks backfill jobs is refused)."""
    if view.stop:
        raise SchedlabError("a tree over submit features cannot choose when to stop backfilling (use backfill easy)")
    request = view.req_time if view.request is None else view.request
    acc = np.zeros(len(view.slots)) if view.accuracy is None else view.accuracy
    return view.slots.astype(np.int64), submit_values(request / 3600.0, view.size, acc)
