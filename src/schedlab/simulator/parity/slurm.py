"""Slurm preset: an event model of what Slurm 22.05's slurmctld does with a queue of batch jobs
on a cons_tres machine (the loopback harness's configuration), written from Slurm's documentation
and observed behaviour, for replay parity (:mod:`schedlab.slurm.replay`) on small traces.

What is modelled (times in simulated seconds; a replay converts Slurm's real seconds):

Jobs
  A job asks for ``nodes`` nodes with ``cpus`` CPUs and ``gpus`` GPUs on each, in one partition,
  with a time limit (Slurm counts limits in whole minutes; the replay rounds them up the same way)
  and becomes eligible at its begin time (``sbatch --begin``).  It runs ``runtime`` seconds.
Priority (priority/multifactor without slurmdbd)
  ``PriorityWeightPartition * job_factor / max job_factor + PriorityWeightJobSize * size +
  PriorityWeightAge * min(age / PriorityMaxAge, 1)``, truncated to an integer as Slurm stores it
  (size: the larger of the job's share of the nodes and of the CPUs, or 1 minus it with
  PriorityFavorSmall).  Fair share and QOS need slurmdbd and are 0.  The queue order is partition
  PriorityTier (high first), then priority (high first), then job id (submit order).
Main scheduler (``schedule()``)
  Runs every ``sched_interval`` and, when a job ends, at once if its last run is at least
  ``sched_interval`` ago (``event_main="interval"``; "always" and "never" are the variants).
  Eligible jobs in queue order: a job starts if nodes of its partition still available this pass
  can hold it; if not, its partition is blocked for the rest of the pass and the partition's nodes
  leave the available set, so no lower job (of any partition) takes them.
Backfill (sched/backfill)
  Runs every ``bf_interval``.  Running jobs are expected to end at start + time limit.  Eligible
  jobs in queue order: from now on, the nodes of the job's partition not reserved for an earlier
  pending job during [t, t + limit) are given to cons_tres's will-run test (below); a job that fits
  now starts now, else it is tried again from the later of the will-run start and the next end of a
  reservation, and once it fits the nodes it would use are reserved from then to then + limit
  (whole nodes, as Slurm's node-space map holds node sets), within ``bf_window``.
Will-run test (select/cons_tres)
  Now if the job fits the free resources; else the running jobs on those nodes are removed in
  order of expected end, all that end within ``will_run_window`` (30 s in Slurm) of the first
  together, and the start is the expected end of the last one removed when the job first fits.
Node selection (select/cons_tres, as observed in 22.05)
  Nodes in slurmctld's table order (the harness records it from ``scontrol show nodes``; 22.05 had
  them sorted by name, not in slurm.conf's order).  Among the nodes
  that can hold the job, the runs of consecutive nodes are formed; the first run with enough nodes
  is taken unless a later one with enough nodes has fewer free CPUs (best fit); a one-node job gets
  the node of that run with the fewest free CPUs, a larger job the run's first nodes; if no run is
  large enough, nodes come from the runs with the most free CPUs first.
Site factor (a priority daemon in the loop, :class:`SiteHook`)
  Slurm 22.05 adds a job's ``SiteFactor`` to the priority unweighted.  With a hook, every
  ``interval`` seconds (from its ``phase``) the hook is shown the queue (:class:`Snapshot`: the
  eligible pending jobs, the running ones with their nodes, the free CPUs and GPUs of each node,
  the jobs started so far) and returns new site factors for the jobs it sets (the others keep
  theirs; 0 until set).  It runs after that instant's arrivals and ends and before its passes, which
  see the new values; not while no job is pending (a daemon's cycle then writes nothing).  Without
  a hook every site factor is 0 and the model is unchanged.
Clock
  slurmctld's periodic passes run ``phase`` into each period; a job's end comes ``end_delay`` after
  start + runtime (launch and completion), so the pass in the same second often misses it; starts
  are recorded rounded down to ``quantum`` (whole seconds), and expected ends count from there.

Differences from a real Slurm that remain (the replay's rows show them, see README):
  * the passes' phase drifts in slurmctld (each backfill cycle sleeps ``bf_interval`` after the
    previous one ends); here it is fixed, so a start near a second boundary may move by a second;
  * the main scheduler's event trigger is rate-limited in ways modelled only as ``event_main``;
  * a backfill cycle that Slurm skips because nothing changed still runs here (a begin time that
    passes is no change for Slurm: such a job waits for the main scheduler's period);
  * priorities are recalculated every ``PriorityCalcPeriod`` in Slurm, at each pass here (only the
    age term changes with time);
  * ``sched_min_interval``, ``batch_sched_delay``, ``default_queue_depth``, ``bf_max_job_test``,
    job arrays, dependencies, reservations, preemption, QOS and memory are not modelled.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from schedlab.errors import SchedlabError


@dataclass(frozen=True)
class SlurmJob:
    """One batch job as Slurm sees it.  ``begin``, ``runtime`` and ``limit`` in seconds."""

    id: int
    begin: float
    runtime: float
    limit: float
    partition: int
    nodes: int = 1
    cpus: int = 1  # per node
    gpus: int = 0  # per node


@dataclass(frozen=True)
class SlurmPartition:
    name: str
    nodes: tuple[int, ...]
    tier: int = 1
    job_factor: int = 1


@dataclass(frozen=True)
class SlurmMachine:
    """Nodes (CPUs and GPUs of each, in configuration order), partitions and priority weights."""

    cpus: tuple[int, ...]
    gpus: tuple[int, ...]
    partitions: tuple[SlurmPartition, ...]
    weight_partition: float = 0.0
    weight_job_size: float = 0.0
    weight_age: float = 0.0
    max_age: float = 7 * 86400.0
    favor_small: bool = False
    exclusive: bool = False


@dataclass(frozen=True)
class SlurmSettings:
    """The scheduler's timers in (simulated) seconds; ``bf_window`` too."""

    sched_interval: float = 60.0
    bf_interval: float = 30.0
    bf_resolution: float = 60.0
    bf_window: float = 86400.0
    #: cons_tres's will-run test removes running jobs ending within this window together (30 s)
    will_run_window: float = 30.0
    #: where in each period the periodic passes run (slurmctld's timers are not aligned to time 0)
    phase: float = 0.0
    #: a job's end comes this long after start + runtime (launch and completion); its start is
    #: recorded rounded down to ``quantum`` (Slurm's whole seconds; 0: not rounded)
    end_delay: float = 0.0
    quantum: float = 0.0
    #: a job end runs the main scheduler at once: "always", "never" (only its period), or
    #: "interval" (only when its last run is at least sched_interval ago)
    event_main: str = "interval"
    #: backfill skips a cycle when no job started, ended or arrived since its last one (Slurm's
    #: "no change since last cycle"; a begin time passing is no change)
    bf_needs_change: bool = False
    #: sched/backfill (True) or sched/builtin: the main scheduler only
    backfill: bool = True

    def __post_init__(self) -> None:
        for k in ("sched_interval", "bf_interval", "bf_resolution", "bf_window", "will_run_window"):
            v = getattr(self, k)
            if not (isinstance(v, int | float) and v > 0 and math.isfinite(v)):
                raise SchedlabError(f"Slurm setting {k} must be a positive number of seconds, got {v!r}")
        if self.event_main not in ("always", "never", "interval"):
            raise SchedlabError(f"event_main must be always, never or interval, got {self.event_main!r}")
        for k in ("phase", "end_delay", "quantum"):
            v = getattr(self, k)
            if not (isinstance(v, int | float) and v >= 0 and math.isfinite(v)):
                raise SchedlabError(f"Slurm setting {k} must be a number of seconds >= 0, got {v!r}")


@dataclass(frozen=True)
class Snapshot:
    """What a :class:`SiteHook` sees at ``now``: the eligible pending jobs (by begin, then id), the
    running ones as (job, start, node indices), the free CPUs and GPUs of each node, and every job
    started so far (job id -> :class:`Started`, read only)."""

    now: float
    pending: tuple[SlurmJob, ...]
    running: tuple[tuple[SlurmJob, float, tuple[int, ...]], ...]
    free_cpus: tuple[int, ...]
    free_gpus: tuple[int, ...]
    started: Mapping


@dataclass(frozen=True)
class SiteHook:
    """A priority daemon in the loop: every ``interval`` seconds from ``phase``, ``refresh(snapshot)``
    returns {job id: site factor} for the pending jobs it sets (see the module docstring)."""

    interval: float
    refresh: Callable[[Snapshot], Mapping]
    phase: float = 0.0

    def __post_init__(self) -> None:
        for k in ("interval", "phase"):
            v = getattr(self, k)
            if not (isinstance(v, int | float) and math.isfinite(v) and (v > 0 or (k == "phase" and v == 0))):
                raise SchedlabError(f"the site hook's {k} must be a number of seconds > 0 (phase >= 0), got {v!r}")


@dataclass
class Started:
    start: float
    end: float
    nodes: tuple[int, ...]
    by: str  # "main" or "backfill"


@dataclass
class _State:
    machine: SlurmMachine
    free_cpus: list[int]
    free_gpus: list[int]
    running: dict = field(default_factory=dict)  # job id -> (job, start, nodes)
    pending: dict = field(default_factory=dict)  # job id -> job
    started: dict = field(default_factory=dict)  # job id -> Started
    quantum: float = 0.0
    end_delay: float = 0.0
    site: dict = field(default_factory=dict)  # job id -> site factor (a SiteHook's)


def priority(job: SlurmJob, m: SlurmMachine, now: float, site: int = 0) -> int:
    """The job's multifactor priority at ``now`` (an integer, as Slurm stores it), ``site`` its site
    factor (added unweighted, as Slurm 22.05 does)."""
    max_factor = max(p.job_factor for p in m.partitions) or 1
    p = m.weight_partition * m.partitions[job.partition].job_factor / max_factor
    if m.weight_job_size:
        size = max(job.nodes / len(m.cpus), job.nodes * job.cpus / max(1, sum(m.cpus)))
        p += m.weight_job_size * ((1.0 - size) if m.favor_small else size)
    if m.weight_age:
        p += m.weight_age * min(max(0.0, now - job.begin) / m.max_age, 1.0)
    if site:
        p += site
    return int(p)


def queue_order(jobs, m: SlurmMachine, now: float, site: Mapping | None = None) -> list[SlurmJob]:
    """Eligible pending jobs in Slurm's order: tier, priority (high first), then job id; ``site``:
    job id -> site factor."""
    ready = [j for j in jobs if j.begin <= now]
    site = site or {}
    return sorted(ready, key=lambda j: (-m.partitions[j.partition].tier, -priority(j, m, now, site.get(j.id, 0)), j.id))


def _fits(job: SlurmJob, k: int, cpus: list[int], gpus: list[int], m: SlurmMachine) -> bool:
    if m.exclusive:
        return cpus[k] == m.cpus[k] and gpus[k] == m.gpus[k] and job.cpus <= m.cpus[k] and job.gpus <= m.gpus[k]
    return cpus[k] >= job.cpus and gpus[k] >= job.gpus


def select_nodes(job: SlurmJob, allowed: list[int], cpus: list[int], gpus: list[int], m: SlurmMachine):
    """The nodes cons_tres would give ``job`` among ``allowed`` (sorted indices) with ``cpus``/``gpus``
    free on each, or None (see the module docstring: consecutive runs, best fit)."""
    able = [k for k in allowed if _fits(job, k, cpus, gpus, m)]
    if len(able) < job.nodes:
        return None
    runs: list[list[int]] = []
    for k in able:
        if runs and runs[-1][-1] == k - 1:
            runs[-1].append(k)
        else:
            runs.append([k])
    best = None
    for r in runs:  # the first sufficient run, replaced only by a sufficient one with fewer free CPUs
        if len(r) >= job.nodes and (best is None or sum(cpus[k] for k in r) < sum(cpus[k] for k in best)):
            best = r
    if best is not None:
        if job.nodes == 1:
            return (min(best, key=lambda k: (cpus[k], k)),)
        return tuple(best[: job.nodes])
    chosen: list[int] = []
    for r in sorted(runs, key=lambda r: -sum(cpus[k] for k in r)):
        chosen.extend(r[: job.nodes - len(chosen)])
        if len(chosen) == job.nodes:
            break
    return tuple(sorted(chosen))


def _start(st: _State, job: SlurmJob, nodes, now: float, by: str) -> None:
    for k in nodes:
        st.free_cpus[k] -= st.machine.cpus[k] if st.machine.exclusive else job.cpus
        st.free_gpus[k] -= st.machine.gpus[k] if st.machine.exclusive else job.gpus
    start = math.floor(now / st.quantum + 1e-9) * st.quantum if st.quantum else now  # Slurm's whole seconds
    st.running[job.id] = (job, start, nodes)
    del st.pending[job.id]
    st.started[job.id] = Started(start, now + job.runtime + st.end_delay, tuple(nodes), by)


def _finish(st: _State, job_id: int) -> None:
    job, _, nodes = st.running.pop(job_id)
    for k in nodes:
        st.free_cpus[k] += st.machine.cpus[k] if st.machine.exclusive else job.cpus
        st.free_gpus[k] += st.machine.gpus[k] if st.machine.exclusive else job.gpus


def main_pass(st: _State, now: float) -> None:
    """One run of Slurm's main scheduler at ``now``."""
    m = st.machine
    available = set(range(len(m.cpus)))
    blocked: set[int] = set()
    for job in queue_order(st.pending.values(), m, now, st.site):
        if job.partition in blocked:
            continue
        part = m.partitions[job.partition]
        allowed = sorted(available.intersection(part.nodes))
        nodes = select_nodes(job, allowed, st.free_cpus, st.free_gpus, m)
        if nodes is not None:
            _start(st, job, nodes, now, "main")
        else:
            blocked.add(job.partition)
            available.difference_update(part.nodes)


def _round_up(t: float, res: float) -> float:
    return math.ceil(t / res - 1e-9) * res


def will_run(st: _State, job: SlurmJob, allowed: list[int], now: float, window: float):
    """(start, nodes) as cons_tres's will-run test gives them, or None: now if the job fits the free
    resources of ``allowed``; else running jobs on those nodes are removed in order of expected end
    (start + limit), all those ending within ``window`` of the first together, and the start is the
    expected end of the last one removed when the job first fits."""
    m = st.machine
    cpus, gpus = list(st.free_cpus), list(st.free_gpus)
    nodes = select_nodes(job, allowed, cpus, gpus, m)
    if nodes is not None:
        return now, nodes
    ok = set(allowed)
    running = sorted(
        ((start + j.limit, j.id, j, ns) for j, start, ns in st.running.values() if ok.intersection(ns)),
        key=lambda r: (r[0], r[1]),
    )
    i = 0
    while i < len(running):
        horizon = running[i][0] + window
        while i < len(running) and running[i][0] <= horizon:
            end, _, j, ns = running[i]
            for k in ns:
                cpus[k] += m.cpus[k] if m.exclusive else j.cpus
                gpus[k] += m.gpus[k] if m.exclusive else j.gpus
            i += 1
        nodes = select_nodes(job, allowed, cpus, gpus, m)
        if nodes is not None:
            return max(now, end), nodes
    return None


def backfill_pass(st: _State, now: float, cfg: SlurmSettings) -> None:
    """One backfill cycle at ``now`` (see the module docstring)."""
    m = st.machine
    reservations: list[tuple[float, float, frozenset]] = []  # (start, end, nodes) of pending jobs
    for job in queue_order(st.pending.values(), m, now, st.site):
        part_nodes = set(m.partitions[job.partition].nodes)
        t = now
        for _ in range(100):  # a bounded number of tries per job
            if t >= now + cfg.bf_window:
                break
            end = t + job.limit
            held = set().union(*(n for s, e, n in reservations if s < end and t < e))
            found = will_run(st, job, sorted(part_nodes - held), now, cfg.will_run_window)
            if found is None or found[0] > t:
                later = [e for _, e, _ in reservations if e > t] + ([found[0]] if found else [])
                if not later:
                    break
                t = min(later)
                continue
            if t <= now:
                _start(st, job, found[1], now, "backfill")
            else:
                reservations.append((t, _round_up(end, cfg.bf_resolution), frozenset(found[1])))
            break


def _check(jobs: list[SlurmJob], m: SlurmMachine) -> None:
    ids = [j.id for j in jobs]
    if len(set(ids)) != len(ids):
        raise SchedlabError("job ids must be unique")
    for j in jobs:
        if not 0 <= j.partition < len(m.partitions):
            raise SchedlabError(f"job {j.id}: partition index {j.partition} out of range")
        part = m.partitions[j.partition]
        if sum(1 for k in part.nodes if m.cpus[k] >= j.cpus and m.gpus[k] >= j.gpus) < j.nodes:
            raise SchedlabError(f"job {j.id} can never run in partition {part.name} (too few nodes large enough)")
        if j.runtime <= 0 or j.limit <= 0 or j.begin < 0:
            raise SchedlabError(f"job {j.id}: runtime and limit must be > 0 and begin >= 0")


def _refresh(st: _State, hook: SiteHook, now: float) -> None:
    """One cycle of the hook at ``now``: its values become the jobs' site factors."""
    snap = Snapshot(
        now=now, pending=tuple(sorted(st.pending.values(), key=lambda j: (j.begin, j.id))),
        running=tuple(st.running.values()), free_cpus=tuple(st.free_cpus), free_gpus=tuple(st.free_gpus),
        started=st.started,
    )  # fmt: skip
    for jid, value in (hook.refresh(snap) or {}).items():
        if jid not in st.pending or isinstance(value, bool) or not 0 <= value <= 2**32 - 2:
            raise SchedlabError(f"the site hook set job {jid}'s site factor to {value!r}: only pending jobs, 0..2^32-2")
        st.site[jid] = int(value)


def _on_grid(t: float, iv: float, phase: float) -> bool:
    return t >= phase - 1e-9 and abs((t - phase) / iv - round((t - phase) / iv)) < 1e-9


def _after(t: float, iv: float, phase: float) -> float:
    return phase + max(0, math.floor((t - phase) / iv + 1e-9) + 1) * iv


def _at_or_after(t: float, iv: float, phase: float) -> float:
    return phase + max(0, math.ceil((t - phase) / iv - 1e-9)) * iv


def _event_runs(settings: SlurmSettings, since_last: float) -> bool:
    if settings.event_main == "always":
        return True
    return settings.event_main == "interval" and since_last >= settings.sched_interval - 1e-9


def simulate(
    jobs: list[SlurmJob], machine: SlurmMachine, settings: SlurmSettings, hook: SiteHook | None = None
) -> dict[int, Started]:
    """Start and end of every job (job id -> :class:`Started`) under the model.  A job joins the
    pending set at its begin time (the passes only see eligible jobs); while the machine is idle
    the clock jumps to the first pass at or after the next begin (the passes in between do
    nothing), so a long, sparse trace costs its busy periods only.  ``hook``: a priority daemon
    setting site factors every ``hook.interval`` (see the module docstring)."""
    _check(jobs, machine)
    st = _State(machine, list(machine.cpus), list(machine.gpus))
    st.quantum, st.end_delay = settings.quantum, settings.end_delay
    order = sorted(jobs, key=lambda j: (j.begin, j.id))
    nxt_job = 0
    ends: list[tuple[float, int]] = []
    main_iv, bf_iv, phase = settings.sched_interval, settings.bf_interval, settings.phase
    on_grid = lambda t, iv: _on_grid(t, iv, phase)
    after = lambda t, iv: _after(t, iv, phase)
    at_or_after = lambda t, iv: _at_or_after(t, iv, phase)
    now, event, last_main, changed = 0.0, True, -math.inf, True  # submissions at time 0: a change
    while st.pending or st.running or nxt_job < len(order):
        while nxt_job < len(order) and order[nxt_job].begin <= now:
            st.pending[order[nxt_job].id] = order[nxt_job]
            nxt_job += 1
        while ends and ends[0][0] <= now + 1e-9:
            _finish(st, heapq.heappop(ends)[1])
            event = changed = True
        if hook is not None and st.pending and _on_grid(now, hook.interval, hook.phase):
            _refresh(st, hook, now)
        before = set(st.running)
        periodic = on_grid(now, main_iv)
        if periodic or (event and _event_runs(settings, now - last_main)):
            main_pass(st, now)
            last_main = now
        changed = changed or set(st.running) != before
        if settings.backfill and on_grid(now, bf_iv) and (changed or not settings.bf_needs_change):
            backfill_pass(st, now, settings)
            changed = False
        for jid in set(st.running) - before:
            heapq.heappush(ends, (st.started[jid].end, jid))
            changed = True
        event = False
        now_next = min([after(now, main_iv), after(now, bf_iv)] + ([ends[0][0]] if ends else []))
        if hook is not None:
            now_next = min(now_next, _after(now, hook.interval, hook.phase))
        if not st.running and not st.pending and nxt_job < len(order):  # idle until the next begin
            b = order[nxt_job].begin
            land = min(at_or_after(b, main_iv), at_or_after(b, bf_iv))
            if hook is not None:
                land = min(land, _at_or_after(b, hook.interval, hook.phase))
            if land > now_next:
                last_main = max(last_main, phase + math.floor((land - phase) / main_iv - 1e-9) * main_iv)
                changed = changed and after(now, bf_iv) >= land
                now_next = land
        now = now_next
    return st.started


def simulate_slurm(workload, config, hook: SiteHook | None = None):
    """``workload`` on ``config.cluster`` under this model (the ``slurm`` preset): jobs ordered by the
    machine's multifactor weights (``--policy multifactor``; ``fcfs``: Slurm's priority/basic, job
    id order), backfill ``easy`` = sched/backfill at Slurm's default timers, ``none`` =
    sched/builtin.  Memory, QOS and fair-share are not modelled (they need slurmdbd on a real
    loopback Slurm too); a pure-Python model, for traces of a few thousand jobs.  ``hook``: a
    priority daemon in the loop (job ids are the workload's rows + 1 after preparation, nodes
    numbered in slurmctld's table order: by name)."""
    from dataclasses import replace

    import numpy as np

    from schedlab.options import Backfill
    from schedlab.simulator.multires.prepare import prepare
    from schedlab.simulator.result import SimResult

    cluster = config.cluster
    if cluster is None:
        raise SchedlabError("the slurm preset simulates a machine description: give --cluster (a slurm.conf or TOML)")
    if str(config.policy) not in ("multifactor", "fcfs"):
        raise SchedlabError(
            f"the slurm preset orders jobs as Slurm does: --policy multifactor or fcfs, not {config.policy}"
        )
    if config.backfill == Backfill.CONSERVATIVE:
        raise SchedlabError("the slurm preset runs sched/backfill (--backfill easy) or sched/builtin (none)")
    prep = prepare(workload, cluster)
    wl = prep.workload
    by_name = sorted(range(cluster.n_nodes), key=lambda k: cluster.node_names[k])  # slurmctld's table order
    pos = {k: i for i, k in enumerate(by_name)}
    pr = cluster.priority
    weights = pr if str(config.policy) == "multifactor" else replace(pr, weight_partition=0, weight_job_size=0,
                                                                     weight_age=0)  # fmt: skip
    machine = SlurmMachine(
        cpus=tuple(int(cluster.cpus[k]) for k in by_name), gpus=tuple(int(cluster.gpus[k]) for k in by_name),
        partitions=tuple(SlurmPartition(p.name, tuple(sorted(pos[k] for k in p.nodes)), p.priority_tier,
                                        p.priority_job_factor) for p in cluster.partitions),
        weight_partition=weights.weight_partition, weight_job_size=weights.weight_job_size,
        weight_age=weights.weight_age, max_age=pr.max_age_s, favor_small=pr.favor_small,
        exclusive=str(cluster.allocation) == "exclusive",
    )  # fmt: skip
    run = np.minimum(wl.run, wl.req_time) if config.kill_at_request else wl.run
    jobs = [
        SlurmJob(id=j + 1, begin=max(float(wl.submit[j]), 0.0), runtime=max(float(run[j]), 1.0),
                 limit=math.ceil(float(wl.req_time[j]) / 60.0 - 1e-9) * 60.0, partition=int(prep.partition[j]),
                 nodes=int(prep.nodes[j]), cpus=int(prep.req[j, 0]), gpus=int(prep.req[j, 1]))
        for j in range(len(wl))
    ]  # fmt: skip
    settings = SlurmSettings(backfill=config.backfill == Backfill.EASY)
    import time

    t_start = time.perf_counter()
    started = simulate(jobs, machine, settings, hook)
    elapsed = time.perf_counter() - t_start
    start = np.array([started[j + 1].start for j in range(len(wl))])
    off = np.zeros(len(wl) + 1, dtype=np.int64)
    off[1:] = np.cumsum(prep.nodes)
    alloc = np.concatenate([np.array([by_name[k] for k in started[j + 1].nodes], dtype=np.int64)
                            for j in range(len(wl))]) if len(wl) else np.zeros(0, dtype=np.int64)  # fmt: skip
    return SimResult(
        workload=wl, config=config, start=start, end=start + run, run=np.asarray(run, dtype=np.float64),
        size=(prep.nodes * prep.req[:, 0]).astype(np.int64), capacity=int(cluster.cpus.sum()),
        reservation=np.full(len(wl), np.inf), sim_seconds=elapsed, passes=0,
        extra={"multires": {"cluster": cluster, "alloc": alloc, "off": off, "prepared": prep}},
    )  # fmt: skip


__all__ = [
    "SiteHook",
    "SlurmJob",
    "SlurmMachine",
    "SlurmPartition",
    "SlurmSettings",
    "Snapshot",
    "Started",
    "priority",
    "simulate",
    "simulate_slurm",
]
