"""The priority daemon in the loop (``schedlab deploy simulate --mechanism daemon --policy SPEC``).

The site's jobs run twice on its machine under schedlab's model of Slurm 22.05's slurmctld (the
``slurm`` preset, :mod:`schedlab.simulator.parity.slurm`: main scheduler, sched/backfill,
multifactor priority, at Slurm's default timers): plain, and with ``schedlab deploy daemon
--policy SPEC --interval S`` in the loop.  Every ``S`` simulated seconds the daemon's own scorer
(:func:`schedlab.slurm.daemon.scorer`, the code the real daemon runs) is shown what ``squeue
--json`` and ``sinfo --json`` would show at that moment, built from the simulated state
(:class:`~schedlab.slurm.daemon.QueueJob` per pending and running job: wait = now - submit, the
time limit in whole minutes, CPUs and nodes, the nodes a running job holds;
:class:`~schedlab.slurm.daemon_model.SlurmView`: the free CPUs and idle nodes), and its values
become the pending jobs' site factors, which Slurm adds to the priority unweighted.  So any spec
the daemon takes is simulated: a submit tree, a static policy (``sjf``, ``f1``, ``expr:...``: the
pending jobs ranked, the first getting ``site_max``) or a trained model (``model:PATH``: ranked
by the model at the decision Slurm's state gives, recomputed every cycle).

As the real daemon does, at most ``max_jobs`` pending jobs are scored per cycle (the oldest), a
job keeps its last value until the next cycle, and running jobs are never written.  The
difference from a real site: cycles are at exact multiples of the interval (the real daemon's
drift with the time a cycle takes), and a user's accuracy (``user_accuracy`` of a tree,
``key_accuracy`` of a model with history features) is log2(runtime / time limit) of their last job
that ended before the cycle in the simulated run, as a ``--history`` table refreshed continually
would give it (one deployed once is older).

A pure-Python event model: :data:`MAX_JOBS` jobs at most (see the README for the time it takes); a
tree's values are fixed per job, and ``--tree`` simulates those on the compiled kernel in seconds
for any size (:mod:`.deploy_sim`).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable

import numpy as np

from schedlab.errors import SchedlabError
from schedlab.simulator.parity.slurm import SiteHook, Snapshot
from schedlab.slurm.daemon import QueueJob, Scorer, scorer
from schedlab.workload.table import Workload

#: the most jobs simulated with the daemon in the loop (the Python model's time grows with the queue)
MAX_JOBS = 2000


class InLoopDaemon:
    """The daemon's scorer driven by the simulated queue: ``refresh(snapshot)`` is a SiteHook's
    callback; ``site`` holds each job's last value (the one in force when it started)."""

    def __init__(self, wl: Workload, cluster, score: Scorer, history: dict, max_jobs: int, progress=None):
        order = sorted(range(cluster.n_nodes), key=lambda k: cluster.node_names[k])  # slurmctld's table order
        self.names = [cluster.node_names[k] for k in order]
        self.cpus = [int(cluster.cpus[k]) for k in order]
        self.partitions = [p.name for p in cluster.partitions]
        self.users = [str(int(u)) for u in wl.user]
        self.limits = [math.ceil(float(t) / 60.0 - 1e-9) * 60.0 for t in wl.req_time]  # as the model holds them
        self.score, self.history, self.max_jobs, self.progress = score, history, max_jobs, progress
        self.site: dict[int, int] = {}
        self.cycles, self._seen, self._ends = 0, 0, []

    def queue_job(self, job, state: str, start: float | None = None, nodes=()) -> QueueJob:
        """The job as ``squeue --json`` shows it (time limit in whole minutes, as the model holds it)."""
        return QueueJob(
            job_id=job.id, state=state, user=self.users[job.id - 1], partition=self.partitions[job.partition],
            time_limit_s=job.limit, cpus=job.nodes * job.cpus, nodes=job.nodes, submit=job.begin, start=start,
            hosts=",".join(self.names[k] for k in nodes),
        )  # fmt: skip

    def _learn(self, snap: Snapshot) -> None:
        """Users' accuracy from the jobs that ended by now (the last one to end wins)."""
        started = list(snap.started.items())
        for jid, s in started[self._seen :]:
            heapq.heappush(self._ends, (s.end, jid, s.end - s.start))
        self._seen = len(started)
        while self._ends and self._ends[0][0] <= snap.now + 1e-9:
            _, jid, run = heapq.heappop(self._ends)
            user = self.users[jid - 1]
            if user != "-1":
                self.history[user] = float(np.clip(np.log2(max(run, 1.0) / max(self.limits[jid - 1], 1.0)), -20, 20))

    def view(self, snap: Snapshot):
        from schedlab.slurm.daemon_model import Machine, SlurmView

        busy = [k for k, c in enumerate(self.cpus) if snap.free_cpus[k] < c]
        machine = Machine(
            cpus=sum(self.cpus), nodes=len(self.cpus), free_cpus=sum(snap.free_cpus),
            free_nodes=len(self.cpus) - len(busy), busy=tuple(sorted(self.names[k] for k in busy)),
        )  # fmt: skip
        running = tuple(self.queue_job(j, "RUNNING", start, nodes) for j, start, nodes in snap.running)
        return SlurmView(now=snap.now, machine=machine, running=running)

    def refresh(self, snap: Snapshot) -> dict[int, int]:
        self._learn(snap)
        scored = [self.queue_job(j, "PENDING") for j in snap.pending[: self.max_jobs]]  # the oldest
        if self.score.needs_view:
            values, _ = self.score.values(scored, self.view(snap))
        else:
            values, _ = self.score.values(scored)
        out = {q.job_id: int(v) for q, v in zip(scored, values, strict=True)}
        self.site.update(out)
        self.cycles += 1
        if self.progress is not None:
            self.progress(len(snap.started))
        return out


def daemon_scorer(spec: str, wl: Workload, site_max: int, unit: str | None, default_time_h: float):
    """(the daemon's scorer for ``spec``, the live history table it reads: user -> accuracy)."""
    history = {str(int(u)): 0.0 for u in np.unique(wl.user)} or {"-1": 0.0}  # non-empty: read live, never copied
    score = scorer(spec, site_max=site_max, history=history, unit=unit, default_time_h=default_time_h)
    return score, history


def compare_daemon(
    wl: Workload, cluster, spec: str, interval: float = 60.0, site_max: int = 1000, unit: str | None = None,
    default_time_h: float = 24.0, max_jobs: int = 1000, progress: Callable | None = None, phase: float = 0.0,
) -> dict:  # fmt: skip
    """Plain Slurm (the model) against the same with the daemon ``spec`` every ``interval`` s on
    ``wl`` and ``cluster`` (see the module docstring): ``summary``, ``rules`` ([]: a policy has no
    rules) and ``jobs`` (per-job frame), as :func:`~schedlab.slurm.deploy_sim.compare_deployment`.
    ``progress(stage, done, total)``: stage "plain" then "daemon", jobs started so far.  ``phase``: when
    the daemon's first cycle runs (seconds on the trace's clock, the first submit at 0; then every
    ``interval``)."""
    import pandas as pd

    from schedlab.metrics import bounded_slowdown
    from schedlab.simulator import SimConfig
    from schedlab.simulator.parity.slurm import simulate_slurm
    from schedlab.slurm.replay import kendall_tau

    if not (isinstance(interval, int | float) and 1.0 <= interval <= 86400.0 and math.isfinite(interval)):
        raise SchedlabError(f"the daemon's interval must be 1..86400 seconds, got {interval!r}")
    if len(wl) > MAX_JOBS:
        raise SchedlabError(
            f"{len(wl):,} jobs: the daemon in the loop simulates at most {MAX_JOBS:,} (a Python model of Slurm); "
            "cut the export (e.g. a month), or simulate a submit tree's values on the fast path with --tree"
        )
    score, history = daemon_scorer(spec, wl, site_max, unit, default_time_h)
    cfg = SimConfig(preset="slurm", policy="multifactor", backfill="easy", cluster=cluster)
    tell = progress or (lambda phase, done, total: None)
    tell("plain", 0, len(wl))
    plain = simulate_slurm(wl, cfg)
    kept = plain.workload
    tell("plain", len(kept), len(kept))
    daemon = InLoopDaemon(kept, cluster, score, history, max_jobs, lambda done: tell("daemon", done, len(kept)))
    dep = simulate_slurm(kept, cfg, hook=SiteHook(float(interval), daemon.refresh, float(phase)))
    tell("daemon", len(kept), len(kept))
    if len(dep.workload) != len(kept) or not np.array_equal(dep.workload.job_id, kept.job_id):
        raise SchedlabError("the simulated machine dropped jobs in the daemon's run that it kept in the plain one")
    w0, w1 = plain.wait, dep.wait
    b0, b1 = bounded_slowdown(w0, plain.run), bounded_slowdown(w1, dep.run)
    site = np.array([daemon.site.get(j + 1, 0) for j in range(len(kept))], dtype=np.int64)
    jobs = pd.DataFrame({
        "job_id": kept.job_id, "user": kept.user, "submit": kept.submit, "site_factor": site,
        "start_plain": plain.start, "start_deployed": dep.start, "wait_plain": w0, "wait_deployed": w1,
        "bsld_plain": b0, "bsld_deployed": b1,
    })  # fmt: skip
    summary = {
        "mechanism": "daemon", "policy": spec, "interval_s": float(interval), "site_max": int(site_max),
        "model": "slurm", "jobs": len(kept), "cluster": cluster.name, "daemon_cycles": daemon.cycles,
        "mean_wait_plain_s": float(w0.mean()), "mean_wait_deployed_s": float(w1.mean()),
        "mean_bsld_plain": float(b0.mean()), "mean_bsld_deployed": float(b1.mean()),
        "kendall_tau_start_order": kendall_tau(plain.start, dep.start),
        "jobs_started_earlier": int((w1 < w0 - 1e-6).sum()), "jobs_started_later": int((w1 > w0 + 1e-6).sum()),
        "sim_seconds": float(plain.sim_seconds + dep.sim_seconds),
    }  # fmt: skip
    return {"summary": summary, "rules": [], "jobs": jobs}


__all__ = ["MAX_JOBS", "InLoopDaemon", "compare_daemon", "daemon_scorer"]
