"""A priority daemon for a real Slurm (``schedlab deploy daemon``): score the pending jobs, write
each one's ``SiteFactor``.

Every cycle (``--interval`` seconds, or once) it reads the queue with ``squeue --json`` (or from
slurmrestd, :mod:`.rest`), keeps the jobs in state PENDING (no other job is ever written), scores
them and runs ``scontrol update jobid=N SiteFactor=V`` for those whose value changed since it last
wrote it.  Slurm 22.05 adds the site factor to the multifactor priority unweighted; the other terms
(age, fair-share, size, partition, QOS, nice) stay as Slurm computes them.

Scorers (:func:`scorer`):

* a submit tree (``tree:PATH``, a tree.json or a shipped tree's name): each job's rule gives its
  value (:mod:`.deploy_rules`: the highest-scoring rule gets ``site_max``, the lowest 0) - the
  same value at every cycle, what ``schedlab deploy simulate --mechanism daemon`` simulates;
* a static schedlab policy (``sjf``, ``saf``, ``f1``, ``expr:...``): the pending jobs ranked by
  it, the first getting ``site_max`` and the last 0 (refreshed every cycle, as the queue changes);
* a trained model (``model:NAME|PATH``, ``schedlab train``'s output): the pending jobs ranked by the
  model's preference at a decision observed from Slurm's queue and nodes (``sinfo --json``), the
  first getting ``site_max`` and the last 0, every cycle (:mod:`.daemon_model`).

Bounded: at most ``max_jobs`` jobs scored per cycle (the oldest pending ones), values in
``[0, site_max]``, the queue's JSON read up to :data:`MAX_QUEUE_BYTES`.  Writing SiteFactor needs
Slurm's SlurmUser or root: checked before the first cycle, and a denial by ``scontrol`` stops the
daemon with that message.  SIGINT and SIGTERM end it after the current job's update.
"""

from __future__ import annotations

import json
import os
import pwd
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from schedlab.errors import SchedlabError
from schedlab.slurm.deploy_rules import MAX_FACTOR, build_rules, job_features, submit_tree

MAX_QUEUE_BYTES = 256 * 2**20
MAX_QUEUE_JOBS = 1_000_000
NO_VAL = 4294967294
COMMAND_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class QueueJob:
    """A job as ``squeue --json`` shows it (the fields the scorers read)."""

    job_id: int
    state: str
    user: str
    partition: str
    time_limit_s: float | None  # None: no limit given
    cpus: int
    nodes: int
    submit: float
    start: float | None = None  # when it started (running jobs); None if Slurm gives no time
    hosts: str = ""  # the nodes it runs on (a Slurm hostlist)


def _number(v, what: str, job) -> float | None:
    """A JSON number, or the {"set", "infinite", "number"} object of Slurm 23.02+; None if unset."""
    if isinstance(v, dict):
        if not v.get("set", True) or v.get("infinite"):
            return None
        v = v.get("number")
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v):
        raise SchedlabError(f"squeue --json: job {job}: {what} is not a number ({str(v)[:40]!r})")
    return None if v >= NO_VAL else float(v)


def _text(v) -> str:
    if isinstance(v, list):  # job_state is a list in Slurm 23.02+
        v = v[0] if v else ""
    return v if isinstance(v, str) else ""


def parse_queue(text: str) -> list[QueueJob]:
    """The jobs of an ``squeue --json`` document (Slurm 22.05's and later layouts)."""
    if len(text) > MAX_QUEUE_BYTES:
        raise SchedlabError(f"squeue --json gave {len(text):,} bytes; at most {MAX_QUEUE_BYTES:,} are read")
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise SchedlabError(f"squeue --json did not give JSON ({str(exc)[:80]})") from None
    jobs = doc.get("jobs") if isinstance(doc, dict) else None
    if not isinstance(jobs, list) or len(jobs) > MAX_QUEUE_JOBS:
        raise SchedlabError("squeue --json: no 'jobs' list (or more jobs than a queue holds)")
    out = []
    for j in jobs:
        if not isinstance(j, dict):
            raise SchedlabError("squeue --json: a job is not an object")
        jid = _number(j.get("job_id"), "job_id", "?")
        if jid is None or jid < 1 or not float(jid).is_integer():
            raise SchedlabError(f"squeue --json: a job has no valid job_id ({str(j.get('job_id'))[:40]!r})")
        limit = _number(j.get("time_limit"), "time_limit", int(jid))
        out.append(
            QueueJob(
                job_id=int(jid), state=_text(j.get("job_state")).upper(), user=_text(j.get("user_name")),
                partition=_text(j.get("partition")), time_limit_s=None if limit is None else limit * 60.0,
                cpus=max(int(_number(j.get("cpus"), "cpus", int(jid)) or 1), 1),
                nodes=max(int(_number(j.get("node_count"), "node_count", int(jid)) or 1), 1),
                submit=_number(j.get("submit_time"), "submit_time", int(jid)) or 0.0,
                start=_number(j.get("start_time"), "start_time", int(jid)) or None,
                hosts=_text(j.get("nodes"))[:100_000],
            )
        )  # fmt: skip
    return out


# -- scorers ----------------------------------------------------------------------------------------
@dataclass
class Scorer:
    """``values(jobs) -> (SiteFactor per job, label per job)`` for a list of pending jobs; with
    ``needs_view`` (a model) ``values(jobs, view)``, ``view`` the machine and the running jobs
    (:func:`schedlab.slurm.daemon_model.read_view`)."""

    spec: str
    values: Callable = field(repr=False)
    needs_view: bool = False


def scorer(
    spec: str,
    site_max: int = 1000,
    history: dict | None = None,
    unit: str | None = None,
    default_time_h: float = 24.0,
) -> Scorer:
    """The scorer ``spec`` names (see the module docstring); a one-line SchedlabError otherwise.
    ``unit`` (cpus or nodes) is what a job's size counts: cpus by default, a model's own unit for a model."""
    if not 0 <= site_max <= MAX_FACTOR or isinstance(site_max, bool):
        raise SchedlabError(f"site factor range must be within [0, {MAX_FACTOR:,}], got {site_max!r}")
    history = history or {}
    if unit not in (None, "cpus", "nodes"):
        raise SchedlabError(f"unit must be cpus or nodes, got {unit!r}")
    if spec.startswith("model:"):
        from schedlab.slurm.daemon_model import model_scorer

        return model_scorer(spec, site_max, history, default_time_h, unit)[0]
    unit = unit or "cpus"
    if spec.startswith("tree:") or _is_tree(spec):
        tree, name = submit_tree(spec)
        rules = build_rules(tree, name, site_max=site_max)

        def tree_values(jobs: list[QueueJob]):
            request = [j.time_limit_s if j.time_limit_s is not None else default_time_h * 3600 for j in jobs]
            procs = [j.nodes if unit == "nodes" else j.cpus for j in jobs]
            idx = rules.rule_of(job_features(request, procs, [j.user for j in jobs], history))
            return [rules.rules[i].site for i in idx], [f"R{rules.rules[i].id}" for i in idx]

        return Scorer(spec=f"tree:{name}", values=tree_values)
    from schedlab.options import PolicyKind
    from schedlab.policies import resolve

    policy = resolve(spec)
    if policy.kind is not PolicyKind.STATIC:
        raise SchedlabError(
            f"policy {spec!r} ({policy.kind}) does not score jobs one by one; the daemon takes a submit tree "
            "(schedlab explain --features submit), a static policy (sjf, saf, f1, expr:...) or a trained model "
            "(model:PATH)"
        )

    def static_values(jobs: list[QueueJob]):
        if not jobs:
            return [], []
        req = np.array([j.time_limit_s or default_time_h * 3600 for j in jobs], dtype=np.float64)
        procs = np.array([j.nodes if unit == "nodes" else j.cpus for j in jobs], dtype=np.float64)
        sub = np.array([j.submit for j in jobs], dtype=np.float64)
        s = np.asarray(policy.scores(req, procs, sub), dtype=np.float64)
        rank = np.searchsorted(np.sort(s), s, side="left")  # ties share the better rank
        top = max(len(jobs) - 1, 1)
        vals = [round(site_max * (1 - r / top)) for r in rank]
        return vals, [f"rank {r + 1}" for r in rank]

    return Scorer(spec=policy.spec, values=static_values)


def _is_tree(spec: str) -> bool:
    from schedlab.explain.tree import shipped_trees

    return spec in shipped_trees() or spec.endswith(".json") or os.path.isdir(spec)


# -- Slurm ------------------------------------------------------------------------------------------
def _run(argv: list[str], environ: dict) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(argv, capture_output=True, text=True, env=environ, timeout=COMMAND_TIMEOUT_S)
    except FileNotFoundError:
        raise SchedlabError(f"{argv[0]} not found: Slurm's client commands are not installed") from None
    except subprocess.TimeoutExpired:
        raise SchedlabError(f"{' '.join(argv[:3])} did not answer within {COMMAND_TIMEOUT_S:.0f} s") from None


def read_queue(environ: dict) -> list[QueueJob]:
    r = _run(["squeue", "--json"], environ)
    if r.returncode:
        raise SchedlabError(f"squeue --json failed: {(r.stderr.strip().splitlines() or ['no output'])[-1]}")
    return parse_queue(r.stdout)


def slurm_user(environ: dict) -> str:
    """SlurmUser of the Slurm ``environ`` talks to (``scontrol show config``)."""
    r = _run(["scontrol", "show", "config"], environ)
    for line in r.stdout.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "SlurmUser":
            return value.strip().split("(")[0]
    raise SchedlabError(f"cannot read SlurmUser from scontrol show config: {r.stderr.strip()[:200] or 'no answer'}")


def check_privilege(environ: dict, uid: int | None = None) -> str:
    """The user the daemon runs as; a SchedlabError unless it is root or SlurmUser."""
    uid = os.geteuid() if uid is None else uid
    try:
        me = pwd.getpwuid(uid).pw_name
    except KeyError:
        me = str(uid)
    owner = slurm_user(environ)
    if uid != 0 and me != owner:
        raise SchedlabError(
            f"the daemon writes jobs' SiteFactor, which only Slurm's SlurmUser ({owner}) or root may; "
            f"it runs as {me}: start it as {owner} (e.g. sudo -u {owner} schedlab deploy daemon ...)"
        )
    return me


def set_site_factor(job_id: int, value: int, environ: dict) -> str | None:
    """``scontrol update``; None when done, else why it was skipped (the job left the queue).  A
    permission denial raises (it would fail for every job)."""
    r = _run(["scontrol", "update", f"jobid={int(job_id)}", f"SiteFactor={int(value)}"], environ)
    if r.returncode == 0:
        return None
    msg = (r.stderr.strip().splitlines() or ["failed"])[-1]
    if any(word in msg.lower() for word in ("denied", "permission", "invalid user id")):  # not SlurmUser or root
        raise SchedlabError(f"Slurm refused to set SiteFactor ({msg}): run the daemon as SlurmUser or root")
    return msg


# -- the loop ---------------------------------------------------------------------------------------
@dataclass
class Daemon:
    """One priority daemon: ``cycle()`` once, or ``run()`` until stopped."""

    scorer: Scorer
    environ: dict
    max_jobs: int = 1000
    dry_run: bool = False
    rest: object | None = None  # a RestClient (schedlab.slurm.rest): read the queue from slurmrestd
    log: Callable[[dict], None] = lambda record: None
    written: dict = field(default_factory=dict)  # job id -> the value last written
    stop: threading.Event = field(default_factory=threading.Event)

    def cycle(self) -> dict:
        """Read the queue, score the pending jobs, write the changed values; a record of it."""
        t0 = time.time()
        queue = self.rest.jobs() if self.rest is not None else read_queue(self.environ)
        pending = sorted((j for j in queue if j.state == "PENDING"), key=lambda j: (j.submit, j.job_id))
        scored = pending[: self.max_jobs]
        if self.scorer.needs_view:  # a model: the machine and the running jobs too
            from schedlab.slurm.daemon_model import read_view

            view = read_view(self.environ, queue, t0, self.rest) if scored else None
            values, labels = self.scorer.values(scored, view)
        else:
            values, labels = self.scorer.values(scored)
        updates, skipped = [], []
        for job, value, label in zip(scored, values, labels, strict=True):
            if self.stop.is_set():
                break
            if self.written.get(job.job_id) == value:
                continue
            why = None if self.dry_run else set_site_factor(job.job_id, value, self.environ)
            if why is None:
                self.written[job.job_id] = value
                updates.append({"job": job.job_id, "site_factor": int(value), "rule": label})
            else:
                skipped.append({"job": job.job_id, "reason": why})
        live = {j.job_id for j in pending}
        self.written = {k: v for k, v in self.written.items() if k in live}
        record = {
            "time": round(t0, 3), "policy": self.scorer.spec, "queue": len(queue), "pending": len(pending),
            "scored": len(scored), "updated": updates, "skipped": skipped, "dry_run": self.dry_run,
        }  # fmt: skip
        self.log(record)
        return record

    def run(self, interval: float | None) -> int:
        """Cycles every ``interval`` seconds (None: one) until SIGINT/SIGTERM; the cycles run."""
        old = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        in_main = threading.current_thread() is threading.main_thread()
        if in_main:
            for s in old:
                signal.signal(s, lambda *_: self.stop.set())
        n = 0
        try:
            while not self.stop.is_set():
                self.cycle()
                n += 1
                if interval is None or self.stop.wait(interval):
                    break
        finally:
            if in_main:
                for s, h in old.items():
                    signal.signal(s, h)
        return n


__all__ = [
    "Daemon",
    "QueueJob",
    "Scorer",
    "check_privilege",
    "parse_queue",
    "read_queue",
    "scorer",
    "set_site_factor",
    "slurm_user",
]
