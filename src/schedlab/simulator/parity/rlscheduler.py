"""RLScheduler SchedGym (SC20) heuristic-scheduling loop, re-implemented for parity.

Reproduces ``HPCEnv.schedule_curr_sequence_reset`` of DIR-LAB/deep-batch-scheduler
(``HPCSimPickJobs.py``, with ``job.py`` and ``cluster.py``), the loop behind the heuristic rows of
RLScheduler's published tables.  Semantics, all as in their code:

* Loading (``load_trace(..., rules="rlscheduler")``): runtime < 0 -> 10, runtime == 0 dropped,
  processors = max(allocated, requested), requested time -1 -> runtime, job-number order.
* Machine: ``MaxNodes`` nodes of ``MaxProcs / MaxNodes`` processors (``MaxProcs`` missing ->
  ``MaxNodes``); a job takes ``ceil(procs / procs_per_node)`` whole nodes.  Jobs are never killed
  at their requested time.
* A window starts on an empty machine, the clock at its first job's submit, with that job queued.
* Loop: stable-sort the queue by the policy score and take its head (or let a ``chooser`` pick
  the job, as their RL agent does; see :mod:`schedlab.rl.rlscheduler_protocol`).  If it does not fit:
  - no backfilling: advance one event at a time until it fits;
  - backfilling: compute once the shadow time (walk the running jobs in order of requested end,
    adding their nodes' processors to the free ones, until the head's processors are covered;
    the shadow time is the requested end of the last job walked), then repeatedly stable-sort the
    queue by submit time *in place*, start every queued job that fits with
    ``now + requested < shadow`` (strict; no extra-processor rule), and advance one event, until
    the head fits.
  An event is the next arrival if its submit <= the next completion (by actual runtime, the running
  list stable-sorted by actual end in place), else that completion (one job released).
  Then start the head; if the queue is empty, advance events until a job arrives.  The window ends
  when its last job starts.
* Scores use the submit times as written in the file.  The queued jobs' start time is unset (-1)
  in their code, so the "wait" in WFP3 and UNICEP is ``-1 - submit`` and both are static:
  FCFS s; SJF (r, s); F1 log10(r|0.1)*n + 870*log10(s|0.1); F2 sqrt(r)*n + 25600*log10(s);
  F3 r*n + 6860000*log10(s); F4 r*sqrt(n) + 530000*log10(s);
  WFP3 -((-1 - s)/r)^3 * n; UNICEP -((-1 - s) + 1e-15)/(log2(n + 1e-15) * r);
  smallest (n, s).  Not in their code, given here with a submit tie-break: ljf (-r, s),
  saf (n*r, s), laf (-n*r, s), largest (-n, s).
* Metrics (:func:`rlscheduler_window_metrics`): mean bounded slowdown
  ``max(1, (wait + run) / max(run, 10))`` over the window's jobs, and utilisation
  ``sum(run * procs) / ((last start - first submit) * MaxProcs)`` with actual runtimes and the
  job's processor count (not its nodes), as their ``job_score_type`` 0 and 3.
"""

from __future__ import annotations

import math
import time

import numpy as np

from schedlab.errors import SchedlabError
from schedlab.simulator.config import SimConfig
from schedlab.simulator.result import SimResult
from schedlab.workload.table import Workload

#: RLScheduler's evaluation: 10 windows of 1,024 jobs at these start indices (after loading).
TABLE_WINDOW_STARTS = (1981, 2756, 4299, 8850, 3316, 2714, 5228, 7762, 4022, 7085)
TABLE_WINDOW_LENGTH = 1024
#: Policy order of the published tables.
TABLE_POLICIES = ("fcfs", "wfp3", "unicep", "sjf", "f1")

#: RLScheduler's published means over the 10 windows (SC20, Lublin-1 and Lublin-2).
PUBLISHED = {
    "lublin_256": {
        "mean_bsld": {
            "none": (7273.77, 19753.53, 22274.74, 277.35, 258.37),
            "easy": (235.82, 133.87, 307.23, 73.31, 75.07),
        },
        "utilization": {
            "none": (0.657, 0.747, 0.691, 0.762, 0.816),
            "easy": (0.868, 0.864, 0.883, 0.778, 0.840),
        },
    },
    "lublin_256_new2": {
        "mean_bsld": {
            "none": (7842.47, 9523.18, 11265.31, 787.89, 698.34),
            "easy": (247.61, 318.35, 379.59, 91.99, 148.25),
        },
        "utilization": {
            "none": (0.404, 0.543, 0.510, 0.562, 0.478),
            "easy": (0.587, 0.583, 0.587, 0.593, 0.552),
        },
    },
}


def _score_keys(policy, workload: Workload) -> list:
    """One sort key per job, computed with their expressions (numpy float64 scalars)."""
    s_col = workload.raw_submit
    r_col = workload.req_time
    n_col = workload.procs
    n_jobs = len(workload)
    s = [int(v) if float(v).is_integer() else float(v) for v in s_col]
    r = [int(v) if float(v).is_integer() else float(v) for v in r_col]
    n = [int(v) for v in n_col]
    from schedlab.policies.registry import Heuristic, resolve

    policy = resolve(policy)
    if not isinstance(policy, Heuristic):  # expr: or a Python function: its scores, then submit
        scores = policy.scores(workload.req_time, workload.procs, workload.raw_submit, workload)
        return [(float(scores[i]), s[i]) for i in range(n_jobs)]
    policy = policy.spec
    if policy == "fcfs":
        return s
    if policy == "sjf":
        return [(r[i], s[i]) for i in range(n_jobs)]
    if policy == "smallest":
        return [(n[i], s[i]) for i in range(n_jobs)]
    if policy == "ljf":
        return [(-r[i], s[i]) for i in range(n_jobs)]
    if policy == "saf":
        return [(n[i] * r[i], s[i]) for i in range(n_jobs)]
    if policy == "laf":
        return [(-n[i] * r[i], s[i]) for i in range(n_jobs)]
    if policy == "largest":
        return [(-n[i], s[i]) for i in range(n_jobs)]
    if policy == "f1":
        return [
            float(np.log10(r[i] if r[i] > 0 else 0.1) * n[i] + 870 * np.log10(s[i] if s[i] > 0 else 0.1))
            for i in range(n_jobs)
        ]
    with np.errstate(divide="ignore", invalid="ignore"):
        if policy == "f2":
            return [float(np.sqrt(r[i]) * n[i] + 25600 * np.log10(s[i])) for i in range(n_jobs)]
        if policy == "f3":
            return [float(r[i] * n[i] + 6860000 * np.log10(s[i])) for i in range(n_jobs)]
        if policy == "f4":
            return [float(r[i] * np.sqrt(n[i]) + 530000 * np.log10(s[i])) for i in range(n_jobs)]
        if policy in ("wfp3", "wfp"):
            # waiting_time = scheduled_time - submit_time with scheduled_time still -1
            try:
                return [float(-np.power(float(-1 - s[i]) / r[i], 3) * n[i]) for i in range(n_jobs)]
            except ZeroDivisionError:
                raise SchedlabError(
                    "wfp3 in the rlscheduler preset divides by the requested time, "
                    "and a job requests 0 s (RLScheduler fails the same way)"
                ) from None
        if policy in ("unicep", "uni"):
            return [float(-((-1 - s[i]) + 1e-15) / (np.log2(n[i] + 1e-15) * r[i])) for i in range(n_jobs)]
    raise SchedlabError(f"policy {policy!r} is not available in the rlscheduler preset")


class _Loop:
    """The state of their loop on one window: the queue, the running jobs, free nodes, the clock."""

    def __init__(self, submit, run, req, nodes):
        self.submit, self.run, self.req, self.nodes = submit, run, req, nodes
        self.n_jobs = len(submit)
        self.start = [-1.0] * self.n_jobs
        self.order: list[int] = []
        self.queue = [0]
        self.running: list[int] = []
        self.now = submit[0]
        self.nxt = 1
        self.free = 0

    def actual_end(self, j):
        return self.start[j] + self.run[j]

    def req_end(self, j):
        return self.start[j] + self.req[j]

    def advance(self, allow_idle: bool = False) -> None:
        """One event: the next arrival if it comes no later than the next completion, else that
        completion.  ``allow_idle``: nothing may be running (their ``moveforward_for_job``)."""
        if self.running or not allow_idle:
            self.running.sort(key=self.actual_end)
            release = self.start[self.running[0]] + self.run[self.running[0]]
        else:
            release = math.inf
        if self.nxt < self.n_jobs and self.submit[self.nxt] <= release:
            self.now = max(self.now, self.submit[self.nxt])
            self.queue.append(self.nxt)
            self.nxt += 1
        else:
            self.now = max(self.now, release)
            self.free += self.nodes[self.running.pop(0)]

    def launch(self, j) -> None:
        self.start[j] = self.now
        self.free -= self.nodes[j]
        self.running.append(j)
        self.order.append(j)
        self.queue.remove(j)

    def shadow_time(self, job, ppn, procs) -> float:
        """When enough processors are free for ``job`` if running jobs end at their request."""
        shadow = self.now
        self.running.sort(key=self.req_end)
        free_procs = self.free * ppn
        for rj in self.running:
            free_procs += self.nodes[rj] * ppn
            shadow = self.start[rj] + self.req[rj]
            if free_procs >= procs[job]:
                break
        return shadow

    def backfill_until_fits(self, job, shadow) -> None:
        """Their EASY: while ``job`` waits, start (FCFS order) every queued job that fits now and
        ends, by its request, before the shadow time; then advance one event."""
        while self.nodes[job] > self.free:
            self.queue.sort(key=self.submit.__getitem__)  # fcfs_score: the submit time
            for cand in list(self.queue):
                if self.now + self.req[cand] < shadow and self.nodes[cand] <= self.free:
                    self.launch(cand)
            self.advance()


def _schedule(
    submit: list,
    run: list,
    req: list,
    nodes: list,
    procs: list,
    ppn: float,
    total_nodes: int,
    keys: list | None,
    backfill: bool,
    chooser=None,
) -> tuple[list, list]:
    """Their loop on one window (jobs 0..n-1 in file order).  Returns (start per job, start order).

    ``chooser(queue, now, free, running, start) -> job`` replaces "stable-sort the queue by
    ``keys`` and take its head" (what their RL agent replaces in ``HPCEnv.step``); it may reorder
    ``queue`` in place (their ``build_observation`` does) but must not change its contents nor
    touch ``running`` or ``start``.  ``free`` is in nodes."""
    loop = _Loop(submit, run, req, nodes)
    loop.free = total_nodes
    key = keys.__getitem__ if keys is not None else None
    while True:
        if chooser is None:
            loop.queue.sort(key=key)
            job = loop.queue[0]
        else:
            job = chooser(loop.queue, loop.now, loop.free, loop.running, loop.start)
        if nodes[job] > loop.free:
            if not backfill:
                while nodes[job] > loop.free:
                    loop.advance()
            else:
                loop.backfill_until_fits(job, loop.shadow_time(job, ppn, procs))
        loop.launch(job)
        if loop.queue:  # moveforward_for_job
            continue
        if loop.nxt >= loop.n_jobs:
            break
        while not loop.queue:
            loop.advance(allow_idle=True)
    return loop.start, loop.order


def _as_number(v: float):
    return int(v) if float(v).is_integer() else float(v)


def simulate_rlscheduler(workload: Workload, config: SimConfig, chooser=None) -> SimResult:
    """Schedule ``workload`` as one SchedGym window (see the module docstring).

    With ``chooser`` (see :func:`_schedule`; :mod:`schedlab.rl.rlscheduler_protocol` builds one
    from an RL agent) it picks the job to run next instead of ``config.policy``."""
    if config.backfill == "conservative":
        raise SchedlabError(
            "the rlscheduler preset has no conservative backfilling: RLScheduler's SchedGym only "
            "offers none or its own EASY-like backfilling (backfill='easy')"
        )
    backfill = config.backfill == "easy"
    n_jobs = len(workload)
    if n_jobs == 0:
        raise SchedlabError("cannot simulate an empty workload")
    ppn = float(workload.max_procs) / float(workload.max_nodes)
    procs = [int(p) for p in workload.procs]
    nodes = [math.ceil(float(p) / ppn) for p in procs]
    if max(nodes) > workload.max_nodes:
        raise SchedlabError(f"a job needs {max(nodes)} nodes but the machine has {workload.max_nodes}")
    keys = _score_keys(config.policy, workload) if chooser is None else None
    submit = [_as_number(v) for v in workload.submit]
    run = [_as_number(v) for v in workload.run]
    req = [_as_number(v) for v in workload.req_time]
    t0 = time.perf_counter()
    start, order = _schedule(submit, run, req, nodes, procs, ppn, int(workload.max_nodes), keys, backfill, chooser)
    elapsed = time.perf_counter() - t0
    start_arr = np.asarray(start, dtype=np.float64)
    run_arr = np.asarray(workload.run, dtype=np.float64).copy()
    return SimResult(
        workload=workload,
        config=config,
        start=start_arr,
        end=start_arr + run_arr,
        run=run_arr,
        size=np.asarray(nodes, dtype=np.int64),
        capacity=int(workload.max_nodes),
        reservation=np.full(n_jobs, np.inf),
        sim_seconds=elapsed,
        passes=len(order),
        extra={"start_order": np.asarray(order, dtype=np.int64)},
    )


def rlscheduler_window_metrics(result: SimResult) -> dict:
    """Their per-window scores: mean bounded slowdown and utilisation (job_score_type 0 and 3).

    Summed in start order, each term divided first, as their ``post_process_score``.
    """
    wl = result.workload
    order = result.extra.get("start_order")
    if order is None:
        order = np.argsort(result.start, kind="stable")
    n_jobs = len(wl)
    bsld_total = 0.0
    work = []
    for j in order:
        wait = float(result.start[j] - wl.submit[j])
        run = float(result.run[j])
        bsld_total += max(1.0, (wait + run) / max(run, 10)) / n_jobs
        work.append(run * float(wl.procs[j]))
    span = float(result.start.max() - wl.submit[0]) * float(wl.max_procs)
    util = sum(w / span for w in work) if span > 0 else float("nan")
    return {"mean_bsld": bsld_total, "utilization": util}


def reproduce_table(
    trace_name: str = "lublin_256",
    starts=TABLE_WINDOW_STARTS,
    length: int = TABLE_WINDOW_LENGTH,
    policies=TABLE_POLICIES,
) -> dict:
    """RLScheduler's heuristic table for one trace: mean over the windows of each metric.

    Returns ``{"mean_bsld": {"none": {policy: value}, "easy": {...}}, "utilization": {...}}``.
    """
    from schedlab.workload import load_trace

    wl = load_trace(trace_name, rules="rlscheduler")
    windows = [wl.window(int(s), length) for s in starts]
    out: dict = {"mean_bsld": {}, "utilization": {}}
    for backfill in ("none", "easy"):
        per = {m: {p: [] for p in policies} for m in out}
        for window in windows:
            for policy in policies:
                res = simulate_rlscheduler(window, SimConfig(policy=policy, backfill=backfill, preset="rlscheduler"))
                for metric, value in rlscheduler_window_metrics(res).items():
                    per[metric][policy].append(value)
        for metric in out:
            out[metric][backfill] = {p: float(np.mean(per[metric][p])) for p in policies}
    return out


__all__ = [
    "PUBLISHED",
    "TABLE_POLICIES",
    "TABLE_WINDOW_LENGTH",
    "TABLE_WINDOW_STARTS",
    "reproduce_table",
    "rlscheduler_window_metrics",
    "simulate_rlscheduler",
]
