"""A trained model as the priority daemon's scorer (``schedlab deploy daemon --policy model:PATH``).

The model is loaded the way ``schedlab simulate --policy model:PATH`` loads it (the policy
registry: a shipped model's name, a model file or a ``schedlab train`` run folder, checked once).
Every cycle the daemon builds the observation the model was trained on from what Slurm shows,
with the simulator's own observation code (:func:`schedlab.simulator.stepper.step_observe`), at a
decision to start a job (phase 0: nothing reserved):

* the pending jobs in the model's queue order (its ``queue_order``, FCFS unless it was trained with
  another; submit times re-based to the oldest pending job's), the first ``visible`` (W) of them in
  its slots: each job's wait (now - submit time), its time limit as the runtime estimate (a job
  with none reads ``--default-time-h``), its size in the model's unit (the job's CPUs, or its node
  count for a model trained with ``capacity_unit nodes``);
* the machine (``sinfo --json``): capacity = the CPUs (nodes) of the nodes that take jobs (not down,
  drained, failed, future or not responding), free = their idle CPUs (nodes with nothing
  allocated); the running (and configuring) jobs (``squeue --json``) end at start + time limit,
  completing ones now.  In nodes, each busy node is released when the last job on it ends (jobs
  share nodes); in CPUs each job releases its CPUs, the last-ending ones trimmed so that free +
  running never exceeds the capacity (CPUs on nodes that take no jobs); a job asking for more than
  the capacity counts as the whole machine;
* with ``history_features``: the requested time (the time limit) and the user's accuracy,
  log2(runtime / time limit) of their last completed job in the ``--history`` table (0 for a user
  it lacks, as the environment reads a user with no completed job).

The model's logits over its W slots order them (its greedy pick first; equal logits in queue
order).  A queue longer than W is scored window by window in queue order (jobs W..2W-1 observed as
the queue left once the first W are gone, on the same machine), each window's jobs after the
previous window's.  The ranks become SiteFactor values as for a static policy: the first gets
``site_max``, the last 0, linearly between, recomputed every cycle.

Refused with a one-line error naming the feature: a model of a multi-resource machine
(``--cluster``: GPUs, memory and partitions per job), one trained on estimates Slurm does not give
(actual or predicted runtimes), and one with history features without a ``--history`` table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from schedlab.errors import SchedlabError
from schedlab.slurm.daemon import MAX_QUEUE_BYTES, QueueJob, Scorer, _number, _run

#: node states (and flags) that take no new job
UNUSABLE = {"DOWN", "DRAIN", "DRAINED", "DRAINING", "FAIL", "FAILING", "FUTURE", "NOT_RESPONDING", "UNKNOWN",
            "ERROR", "POWERED_DOWN", "POWER_DOWN", "POWERING_DOWN", "MAINTENANCE", "REBOOT_REQUESTED",
            "REBOOT_ISSUED", "INVALID", "INVALID_REG"}  # fmt: skip
MAX_NODES = 1_000_000
#: job states that hold nodes: running (and starting) jobs end at start + time limit, completing ones now
HOLDING = ("RUNNING", "CONFIGURING", "COMPLETING")


@dataclass(frozen=True)
class Machine:
    """What ``sinfo --json`` says of the nodes that take jobs: capacity and free units, in CPUs and nodes."""

    cpus: int
    nodes: int
    free_cpus: int
    free_nodes: int
    busy: tuple[str, ...] = ()  # the usable nodes with something allocated

    def units(self, unit: str) -> tuple[int, int]:
        """(capacity, free) in ``unit`` (procs: CPUs, nodes: whole nodes)."""
        return (self.nodes, self.free_nodes) if unit == "nodes" else (self.cpus, self.free_cpus)


@dataclass(frozen=True)
class SlurmView:
    """The machine and the running jobs at ``now`` (epoch seconds): what a model's observation needs
    beyond the pending jobs."""

    now: float
    machine: Machine
    running: tuple[QueueJob, ...]


def _states(node: dict) -> set[str]:
    state = node.get("state")
    names = state if isinstance(state, list) else [state]
    flags = node.get("state_flags")
    names = [*names, *(flags if isinstance(flags, list) else [])]
    return {str(s).upper() for s in names if isinstance(s, str)}


def _node_number(node: dict, what: str, name: str) -> int:
    try:
        v = _number(node.get(what), what, name)
    except SchedlabError:
        raise SchedlabError(f"sinfo --json: node {name[:40]}: {what} is not a number") from None
    return max(int(v or 0), 0)


def parse_nodes(text: str) -> Machine:
    """The usable capacity of the nodes of an ``sinfo --json`` document (Slurm 22.05's layout and later)."""
    if len(text) > MAX_QUEUE_BYTES:
        raise SchedlabError(f"sinfo --json gave {len(text):,} bytes; at most {MAX_QUEUE_BYTES:,} are read")
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise SchedlabError(f"sinfo --json did not give JSON ({str(exc)[:80]})") from None
    nodes = doc.get("nodes") if isinstance(doc, dict) else None
    if not isinstance(nodes, list) or len(nodes) > MAX_NODES:
        raise SchedlabError("sinfo --json: no 'nodes' list (or more nodes than a machine holds)")
    seen, cpus, n, free_cpus, free_nodes, busy = set(), 0, 0, 0, 0, []
    for node in nodes:
        if not isinstance(node, dict):
            raise SchedlabError("sinfo --json: a node is not an object")
        name = node.get("name")
        if not isinstance(name, str) or name in seen:
            continue  # a node listed once per partition in some versions
        seen.add(name)
        if _states(node) & UNUSABLE:
            continue
        total, alloc = _node_number(node, "cpus", name), _node_number(node, "alloc_cpus", name)
        cpus, n = cpus + total, n + 1
        free_cpus += min(max(total - alloc, 0), total)
        free_nodes += alloc == 0
        if alloc:
            busy.append(name)
    return Machine(cpus=cpus, nodes=n, free_cpus=free_cpus, free_nodes=free_nodes, busy=tuple(sorted(busy)))


def read_view(environ: dict, queue: list[QueueJob], now: float, rest=None) -> SlurmView:
    """``sinfo --json`` (or slurmrestd's nodes, with ``rest``) now, with the running jobs of ``queue``."""
    running = tuple(j for j in queue if j.state in HOLDING)
    if rest is not None:
        return SlurmView(now=now, machine=rest.nodes(), running=running)
    r = _run(["sinfo", "--json"], environ)
    if r.returncode:
        raise SchedlabError(f"sinfo --json failed: {(r.stderr.strip().splitlines() or ['no output'])[-1]}")
    return SlurmView(now=now, machine=parse_nodes(r.stdout), running=running)


# -- the model --------------------------------------------------------------------------------------
def load_model(spec: str, history: dict):
    """The ModelPolicy ``spec`` (model:NAME|PATH) names, loaded as ``simulate`` loads it, and checked to
    be a model whose observation Slurm's view gives."""
    from schedlab.policies import resolve

    policy = resolve(spec)
    model = getattr(policy, "model", None)
    if model is None:
        raise SchedlabError(f"{spec!r} is not a trained model")
    opts, name = model.env, spec.removeprefix("model:")
    if opts.cluster is not None:
        raise SchedlabError(
            f"model {name} was trained on the multi-resource machine {opts.cluster!r}: its per-job GPU, memory and "
            "partition features are not read from Slurm yet; deploy a model trained without --cluster"
        )
    if str(opts.estimates) != "requested":
        raise SchedlabError(
            f"model {name} reads each job's req_time as the {opts.estimates} runtime, which Slurm's queue does not "
            "give (the daemon reads time limits); deploy a model trained with --estimates requested"
        )
    if opts.history_features and not history:
        raise SchedlabError(
            f"model {name} reads each user's key_accuracy (history features): give --history, an sacct export "
            "with the users' completed jobs"
        )
    return policy


def _sizes(jobs, unit: str, capacity: int) -> np.ndarray:
    raw = [j.nodes if unit == "nodes" else j.cpus for j in jobs]
    return np.minimum(np.asarray(raw, dtype=np.int64).reshape(-1), max(capacity, 1))


def _end(job: QueueJob, now: float, default_s: float) -> float:
    return now if job.state == "COMPLETING" else (job.start or now) + (job.time_limit_s or default_s)


def _node_releases(view: SlurmView, default_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes as units: each busy node is released when the last job on it ends (a busy node no listed
    job names: after ``default_s``)."""
    from schedlab.analytics.jobs.hostlist import expand_hostlist

    last = dict.fromkeys(view.machine.busy, -np.inf)
    for job in view.running:
        end = _end(job, view.now, default_s)
        for host in expand_hostlist(job.hosts):
            if host in last:
                last[host] = max(last[host], end)
    ends = np.sort([e if e > -np.inf else view.now + default_s for e in last.values()]).astype(np.float64)
    return ends, np.ones(len(ends), dtype=np.int64)


def _running(view: SlurmView, unit: str, capacity: int, free: int, default_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Estimated ends (ascending) and sizes of what runs: per busy node in node units, else the
    running jobs' CPUs trimmed to the busy units."""
    if unit == "nodes" and view.machine.busy:
        return _node_releases(view, default_s)
    jobs = list(view.running)
    if not jobs:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    ends = np.array([_end(j, view.now, default_s) for j in jobs])
    order = np.argsort(ends, kind="stable")
    ends, size = ends[order].astype(np.float64), _sizes(jobs, unit, capacity)[order]
    capped = np.minimum(np.cumsum(size), max(capacity - free, 0))  # units released by each end, at most the busy
    size = np.diff(capped, prepend=0)
    keep = size > 0
    return np.ascontiguousarray(ends[keep]), np.ascontiguousarray(size[keep], dtype=np.int64)


@dataclass(frozen=True)
class ModelView:
    """A loaded model and how the daemon reads Slurm for it: ``unit`` (procs: a job's CPUs, nodes: its
    node count), ``history`` (user -> log2(runtime / time limit)), ``default_s`` (the estimate of a
    job without a time limit)."""

    model: object
    unit: str
    history: dict
    default_s: float

    def observe(self, window: list[QueueJob], queue_length: int, view: SlurmView):
        """(observation, mask) of a phase-0 decision with ``window`` in the model's slots (see the module
        docstring), from the simulator's own observation code."""
        from schedlab.simulator import stepper as st
        from schedlab.simulator.engine import INF

        opts, W = self.model.env, self.model.env.visible
        capacity, free = view.machine.units(self.unit)
        if capacity < 1:
            raise SchedlabError("sinfo --json: no node takes jobs (all down, drained or failed): nothing to observe")
        re, rsize = _running(view, self.unit, capacity, free, self.default_s)
        n, nrun = len(window), len(re)
        submit = np.concatenate([[j.submit for j in window], np.zeros(nrun)]).astype(np.float64)
        req = np.array([j.time_limit_s or self.default_s for j in window], dtype=np.float64)
        est = np.concatenate([req, np.zeros(nrun)])
        size = np.concatenate([_sizes(window, self.unit, capacity), rsize]).astype(np.int64)
        rj, q = np.arange(n, n + nrun, dtype=np.int64), np.arange(max(n, 1), dtype=np.int64)
        ist, fst = np.zeros(st.N_ISTATE, dtype=np.int64), np.zeros(st.N_FSTATE)
        ist[st.I_FREE], ist[st.I_NQ], ist[st.I_NRUN], ist[st.I_PHASE] = free, queue_length, nrun, 0
        fst[st.F_T], fst[st.F_SHADOW] = view.now, INF
        base = W * st.N_JOB_FEATURES + st.N_CLUSTER_FEATURES
        obs = np.zeros(base + (W * st.N_HISTORY_FEATURES if opts.history_features else 0), dtype=np.float32)
        mask = np.zeros(W + (1 if opts.stop_action else 0), dtype=np.bool_)
        st.step_observe(W, capacity, submit, est, size, re, rj, q, ist, fst, obs, mask)
        if opts.history_features:
            users = {u: k for k, u in enumerate(sorted({j.user for j in window}))}
            key = np.array([users[j.user] for j in window], dtype=np.int64)
            kacc = np.array([self.history.get(u, 0.0) for u in users] or [0.0], dtype=np.float64)
            st.observe_history(W, req, key, kacc, q, ist, obs, base)
        return obs, mask

    def queue_order(self, jobs: list[QueueJob]) -> list[QueueJob]:
        """``jobs`` (oldest first) in the model's queue order, as its environment keeps its queue."""
        from schedlab.policies import priority_ranks, static_scores

        if not jobs:
            return []
        req = np.array([j.time_limit_s or self.default_s for j in jobs], dtype=np.float64)
        procs = np.array([j.cpus for j in jobs], dtype=np.float64)
        sub = np.array([j.submit for j in jobs], dtype=np.float64)
        rank = priority_ranks(static_scores(self.model.env.queue_order, req, procs, sub - sub.min()))
        return [jobs[i] for i in np.argsort(rank, kind="stable")]

    def ranking(self, jobs: list[QueueJob], view: SlurmView) -> list[QueueJob]:
        """``jobs`` in the model's preference order (the module docstring's rule)."""
        queue, W, ranked = self.queue_order(jobs), self.model.env.visible, []
        for s in range(0, len(queue), W):
            window = queue[s : s + W]
            obs, mask = self.observe(window, len(queue) - s, view)
            logits = self.model.scores(obs, mask)[: len(window)]
            ranked.extend(window[i] for i in np.argsort(-logits, kind="stable"))
        return ranked


def model_scorer(
    spec: str, site_max: int, history: dict, default_time_h: float, unit: str | None = None
) -> tuple[Scorer, ModelView]:
    """The daemon's scorer for ``model:NAME|PATH`` (it needs the Slurm view: ``values(jobs, view)``);
    ``unit`` None: the unit the model was trained with."""
    policy = load_model(spec, history)
    unit = {"cpus": "procs", "nodes": "nodes", None: str(policy.model.env.capacity_unit)}.get(unit)
    if unit is None:
        raise SchedlabError("unit must be cpus or nodes")
    mv = ModelView(model=policy.model, unit=unit, history=history, default_s=default_time_h * 3600.0)

    def values(jobs: list[QueueJob], view: SlurmView | None = None):
        if not jobs:
            return [], []
        if view is None:
            raise SchedlabError("a model scores jobs against the machine's state: no Slurm view was given")
        pos = {j.job_id: k for k, j in enumerate(mv.ranking(jobs, view))}
        top = max(len(jobs) - 1, 1)
        return [round(site_max * (1 - pos[j.job_id] / top)) for j in jobs], [f"rank {pos[j.job_id] + 1}" for j in jobs]

    return Scorer(spec=policy.spec, values=values, needs_view=True), mv


__all__ = ["Machine", "ModelView", "SlurmView", "load_model", "model_scorer", "parse_nodes", "read_view"]
