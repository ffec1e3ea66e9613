"""An RL agent under RLScheduler's (SC20) own evaluation protocol.

RLScheduler evaluates its agent in SchedGym's loop (``HPCEnv.step`` of DIR-LAB/deep-batch-scheduler):
at each decision the agent picks one of the visible waiting jobs, and that job replaces "the head
of the queue sorted by the policy score" of the heuristic loop; everything else (waiting or
backfilling around the chosen job, events, whole-node accounting, the metrics) is their rules.
Here the agent drives the parity loop of :mod:`schedlab.simulator.parity.rlscheduler` through its
``chooser`` hook, so an agent that imitates a heuristic reproduces that heuristic's parity numbers
exactly (tested for FCFS and SJF, with and without backfilling).

What the agent sees is *our* observation (:data:`~schedlab.simulator.stepper.JOB_FEATURES` and
:data:`~schedlab.simulator.stepper.CLUSTER_FEATURES`, filled by the same
:func:`~schedlab.simulator.stepper.step_observe`), in their units: capacity = ``MaxNodes`` nodes, a
job holds ``ceil(procs / procs_per_node)`` nodes, "fits now" = its nodes fit in the free nodes,
``start_delay`` and ``free_by_*`` assume the running jobs end at their requested ends (start +
requested time; they are never killed, so such an end may be past: it counts as now).  The phase is
always 0 (their loop has no agent backfill phase); a ``stop`` action, if the agent has one, is
never valid.

Visible jobs (``visibility=``):
  fcfs         the queue in submit order (their ``build_observation`` first sorts the queue by
               ``fcfs_score`` in place), its first W jobs; W = the agent's ``visible``
  rlscheduler  their code as published: up to W waiting jobs, the queue in submit order; more than
               W, the "@ddai optimize the observable jobs" rule: the queue is stable-sorted in place
               by F1, F2, SJF and then smallest, and the visible jobs interleave the SJF and
               smallest orders (SJF first, duplicates skipped) up to W
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from schedlab.errors import SchedlabError
from schedlab.simulator.config import SimConfig
from schedlab.simulator.engine import INF
from schedlab.simulator.parity.rlscheduler import (
    TABLE_WINDOW_LENGTH,
    TABLE_WINDOW_STARTS,
    _score_keys,
    rlscheduler_window_metrics,
    simulate_rlscheduler,
)
from schedlab.simulator.result import SimResult
from schedlab.simulator.stepper import (
    F_SHADOW,
    F_T,
    I_EXTRA,
    I_FREE,
    I_NQ,
    I_NRUN,
    I_PHASE,
    I_RESV,
    N_CLUSTER_FEATURES,
    N_FSTATE,
    N_ISTATE,
    N_JOB_FEATURES,
    step_observe,
)
from schedlab.workload.table import Workload

VISIBILITY = ("fcfs", "rlscheduler")


def obs_size(visible: int) -> int:
    """Length of the observation vector for ``visible`` slots (as :class:`SchedulingEnv`)."""
    return int(visible) * N_JOB_FEATURES + N_CLUSTER_FEATURES


def observe_rlscheduler(
    visible: int,
    capacity: int,
    now: float,
    free: int,
    queue,
    running,
    submit: np.ndarray,
    req: np.ndarray,
    nodes: np.ndarray,
    start,
    n_actions: int | None = None,
    queue_length: int | None = None,
    obs: np.ndarray | None = None,
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Observation and action mask at a decision of their loop, with our feature definitions.

    visible   W, slots in the observation
    capacity  machine nodes (``MaxNodes``);  free: free nodes now;  now: the loop's clock
    queue     waiting job indices in slot order (the first W are visible)
    queue_length  waiting jobs in all, for the ``queue_length`` feature (default ``len(queue)``;
              give it when ``queue`` holds only the visible jobs)
    running   running job indices (any order);  start: start time per job (indexable)
    submit, req, nodes  per-job submit time, requested time and nodes (arrays indexed by job)
    n_actions W (default) or W + 1 (a ``stop`` action, never valid here)

    Returns ``(obs, mask)``: float32 ``W * N_JOB_FEATURES + N_CLUSTER_FEATURES`` and bool
    ``n_actions`` (filled in place when ``obs``/``mask`` are given).
    """
    W = int(visible)
    obs = np.zeros(obs_size(W), dtype=np.float32) if obs is None else obs
    mask = np.zeros(W if n_actions is None else int(n_actions), dtype=np.bool_) if mask is None else mask
    nq, nrun = (len(queue) if queue_length is None else int(queue_length)), len(running)
    q = np.asarray(queue[:W], dtype=np.int64)
    if len(q) < min(nq, W):
        raise SchedlabError(f"queue holds {len(q)} jobs but {min(nq, W)} visible ones are needed")
    rj = np.fromiter(running, dtype=np.int64, count=nrun)
    re = np.fromiter((start[j] for j in running), dtype=np.float64, count=nrun) + req[rj]
    by_end = np.argsort(re, kind="stable")
    re, rj = np.ascontiguousarray(re[by_end]), np.ascontiguousarray(rj[by_end])
    ist = np.zeros(N_ISTATE, dtype=np.int64)
    ist[I_FREE], ist[I_NQ], ist[I_NRUN], ist[I_PHASE], ist[I_RESV], ist[I_EXTRA] = free, nq, nrun, 0, -1, 0
    fst = np.zeros(N_FSTATE, dtype=np.float64)
    fst[F_T], fst[F_SHADOW] = now, INF
    step_observe(W, int(capacity), submit, req, nodes, re, rj, q, ist, fst, obs, mask)
    return obs, mask


def _their_visible(queue: list, W: int, fcfs_key, sort_keys: list) -> list:
    """RLScheduler's published ``build_observation`` choice of visible jobs (reorders ``queue``)."""
    queue.sort(key=fcfs_key)
    if len(queue) <= W:
        return list(queue)
    firsts = []
    for key in sort_keys:  # f1, f2, sjf, smallest: in place, as their code
        queue.sort(key=key)
        firsts.append(queue[:W])
    sjf, small = firsts[2], firsts[3]
    visible: list[int] = []
    seen: set[int] = set()
    i = 0
    while len(visible) < W:
        for j in (sjf[i], small[i]):  # their "random" job is the SJF one again
            if j not in seen and len(visible) < W:
                seen.add(j)
                visible.append(j)
        i += 1
    return visible


def simulate_rlscheduler_agent(
    workload: Workload,
    policy: Any,
    backfill: bool = True,
    *,
    visibility: str = "fcfs",
    on_decision: Callable[[np.ndarray, float], None] | None = None,
    config: SimConfig | None = None,
) -> SimResult:
    """Schedule ``workload`` as one SchedGym window, the agent picking the job to run next.

    ``policy.act(obs, mask) -> slot`` (a slot among the visible jobs) and
    ``policy.env_kwargs["visible"]`` (W) are all that is used; the mask gets a last, never valid
    ``stop`` entry when ``policy.env_kwargs["backfill"] == "agent"`` (the agent's action space has
    one).  An invalid slot is replaced by slot 0 and counted (``extra["invalid_actions"]``).
    ``on_decision(visible_jobs, now)``, if given, is called before each ``act`` with the window
    indices of the visible jobs in slot order (for tests and debugging).

    Returns a :class:`SimResult` as :func:`simulate_rlscheduler` (``start_order`` in ``extra``,
    so :func:`rlscheduler_window_metrics` scores it), with ``config`` = the given one or
    ``SimConfig(policy="model:agent", backfill=easy|none, preset="rlscheduler",
    capacity_unit="nodes", kill_at_request=False)``.
    """
    if visibility not in VISIBILITY:
        raise SchedlabError(f"unknown visibility {visibility!r}; choose one of {', '.join(VISIBILITY)}")
    kw = policy.env_kwargs
    W = int(kw["visible"])
    if W < 1:
        raise SchedlabError(f"visible must be >= 1, got {W}")
    n_actions = W + (1 if kw.get("backfill") == "agent" else 0)
    if config is None:
        config = SimConfig(
            policy="model:agent",
            backfill="easy" if backfill else "none",
            preset="rlscheduler",
            capacity_unit="nodes",
            kill_at_request=False,
        )
    elif (config.backfill != "none") != bool(backfill):
        raise SchedlabError(f"backfill={backfill} contradicts config.backfill={config.backfill!r}")
    n_jobs = len(workload)
    if n_jobs == 0:
        raise SchedlabError("cannot simulate an empty workload")
    ppn = float(workload.max_procs) / float(workload.max_nodes)
    capacity = int(workload.max_nodes)
    submit = np.ascontiguousarray(workload.submit, dtype=np.float64)
    req = np.ascontiguousarray(workload.req_time, dtype=np.float64)
    nodes = np.array([math.ceil(float(p) / ppn) for p in workload.procs], dtype=np.int64)
    submit_list = submit.tolist()
    fcfs_key = submit_list.__getitem__
    sort_keys = (
        [k.__getitem__ for k in (_score_keys(p, workload) for p in ("f1", "f2", "sjf", "smallest"))]
        if visibility == "rlscheduler"
        else []
    )
    obs = np.zeros(obs_size(W), dtype=np.float32)
    mask = np.zeros(n_actions, dtype=np.bool_)
    stats = {"invalid_actions": 0, "decisions": 0}

    def choose(queue: list, now, free: int, running: list, start: list) -> int:
        if visibility == "fcfs":
            queue.sort(key=fcfs_key)  # their build_observation sorts the queue in place
            vis = queue[:W]
        else:
            vis = _their_visible(queue, W, fcfs_key, sort_keys)
        observe_rlscheduler(
            W, capacity, now, free, vis, running, submit, req, nodes, start, queue_length=len(queue), obs=obs, mask=mask
        )
        if on_decision is not None:
            on_decision(np.asarray(vis, dtype=np.int64), float(now))
        stats["decisions"] += 1
        a = int(policy.act(obs.copy(), mask.copy()))
        if not 0 <= a < len(vis):
            stats["invalid_actions"] += 1
            a = 0
        return vis[a]

    t0 = time.perf_counter()
    res = simulate_rlscheduler(workload, config, chooser=choose)
    res.sim_seconds = time.perf_counter() - t0
    res.extra.update(agent=getattr(policy, "agent", type(policy).__name__), visible=W, visibility=visibility, **stats)
    return res


def rlscheduler_table_agent(
    policy: Any,
    trace: str | Workload = "lublin_256",
    backfill: bool = True,
    starts=TABLE_WINDOW_STARTS,
    length: int = TABLE_WINDOW_LENGTH,
    visibility: str = "fcfs",
) -> dict:
    """The agent on RLScheduler's published windows (as :func:`reproduce_table` runs them).

    ``trace``: a bundled trace name, loaded with ``rules="rlscheduler"``, or a workload already
    loaded that way.  Returns ``{"trace", "backfill", "visibility", "window_starts", "window_len",
    "windows": [{"start", "mean_bsld", "utilization", "decisions", "invalid_actions"}, ...],
    "mean_bsld", "utilization", "seconds"}`` (means over the windows, their metrics).
    """
    if isinstance(trace, Workload):
        wl = trace
    else:
        from schedlab.workload import load_trace

        wl = load_trace(trace, rules="rlscheduler")
    per = []
    t0 = time.perf_counter()
    for s in starts:
        res = simulate_rlscheduler_agent(wl.window(int(s), length), policy, backfill=backfill, visibility=visibility)
        m = rlscheduler_window_metrics(res)
        per.append(
            {
                "start": int(s),
                "mean_bsld": float(m["mean_bsld"]),
                "utilization": float(m["utilization"]),
                "decisions": int(res.extra["decisions"]),
                "invalid_actions": int(res.extra["invalid_actions"]),
            }
        )
    return {
        "trace": wl.name,
        "backfill": "easy" if backfill else "none",
        "visibility": visibility,
        "window_starts": [int(s) for s in starts],
        "window_len": int(length),
        "windows": per,
        "mean_bsld": float(np.mean([w["mean_bsld"] for w in per])),
        "utilization": float(np.mean([w["utilization"] for w in per])),
        "seconds": time.perf_counter() - t0,
    }


__all__ = ["VISIBILITY", "obs_size", "observe_rlscheduler", "rlscheduler_table_agent", "simulate_rlscheduler_agent"]
