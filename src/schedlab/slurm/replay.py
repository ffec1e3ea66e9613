"""Replay parity: a trace replayed into a real (loopback) Slurm, time-scaled, and compared job by
job with schedlab's ``slurm`` preset (:mod:`schedlab.simulator.parity.slurm`) on the same jobs.

Time scale ``s``: ``s`` simulated seconds pass in one real second (60: a simulated minute per
second).  Each job becomes ``sbatch --begin=T0+submit/s -N nodes --ntasks-per-node=cpus
[--gres=gpu:g] -p partition -t limit --wrap "sleep run/s"``: begin times and sleeps are whole real
seconds (Slurm's clock), limits whole real minutes (Slurm's unit), both rounded as Slurm would
see them, and the model gets exactly those times back in simulated seconds.  Slurm's records come
from its ``jobcomp/filetxt`` log (no slurmdbd needed).

Reported: per job the real and simulated start (simulated seconds from T0) and their difference;
over all jobs ``kendall_tau`` (Kendall's tau-b between the real and simulated start times: the
rank agreement of the start order, ties allowed) and ``median_abs_start_dev_s``.  The jobs all run
as the current user (the trace's users are kept in the rows): without slurmdbd Slurm has no fair
share, so users do not change its decisions.
"""

from __future__ import annotations

import math
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from schedlab.errors import SchedlabError
from schedlab.simulator.parity.slurm import SlurmJob, SlurmMachine, SlurmPartition, SlurmSettings, simulate
from schedlab.slurm.harness import HarnessState, alive, env, load_state
from schedlab.slurm.jobcomp import read_jobcomp, to_sacct

MAX_JOBS = 2000
#: real seconds between the last submission and the first begin time, at least
LEAD_S = 3.0
#: slurmctld's timers as seen on the loopback harness (real seconds): its passes run about 0.2 s
#: into each second, a job ends about 0.05 s after start + sleep
PHASE_S, END_DELAY_S = 0.2, 0.05


@dataclass(frozen=True)
class ReplayJob:
    """A trace job as submitted: real seconds/minutes, and the model's job in simulated seconds."""

    index: int
    trace_id: int
    user: str
    partition: str
    nodes: int
    cpus: int  # per node
    gpus: int  # per node
    begin_s: int  # real seconds after T0
    sleep_s: int  # real seconds
    limit_min: int  # real minutes


def replay_jobs(workload, scale: float, partitions: list[str], default: str) -> tuple[list[ReplayJob], list[str]]:
    """The trace's jobs as Slurm will see them at ``scale``; notes on what was rounded or capped."""
    if not (isinstance(scale, int | float) and 0 < scale <= 1e6 and math.isfinite(scale)):
        raise SchedlabError(f"--time-scale must be a positive number of simulated seconds per real second, got {scale}")
    n = len(workload)
    if not 0 < n <= MAX_JOBS:
        raise SchedlabError(f"a replay takes 1..{MAX_JOBS} jobs; the trace has {n:,} (cut it, e.g. a window)")
    res = workload.resources
    jobs, capped = [], 0
    for i in range(n):
        part = res.label("partition", int(res.partition[i])) if res is not None else ""
        part = part or default
        if part not in partitions:
            raise SchedlabError(
                f"job {workload.job_id[i]}: partition {part!r} is not in this Slurm ({', '.join(partitions)})"
            )
        limit_min = max(1, math.ceil(float(workload.req_time[i]) / scale / 60 - 1e-9))
        sleep = max(1, round(float(workload.run[i]) / scale))
        if sleep >= limit_min * 60:
            sleep, capped = limit_min * 60 - 1, capped + 1
        jobs.append(ReplayJob(
            index=i, trace_id=int(workload.job_id[i]), user=str(int(workload.user[i])), partition=part,
            nodes=int(res.nodes[i]) if res is not None else 1,
            cpus=max(1, math.ceil(float(res.cpus_per_node[i]) - 1e-9)) if res is not None else int(workload.procs[i]),
            gpus=math.ceil(float(res.gpus_per_node[i]) - 1e-9) if res is not None else 0,
            begin_s=round(float(workload.submit[i]) / scale), sleep_s=sleep, limit_min=limit_min,
        ))  # fmt: skip
    notes = [f"{capped} job(s) ran to their limit in the trace: they sleep 1 s less than the limit"] if capped else []
    return jobs, notes


def model_machine(state: HarnessState):
    """The loopback Slurm as the model sees it (from its slurm.conf; nodes in slurmctld's order)."""
    from schedlab.cluster.slurmconf import read_slurm_conf

    cluster = read_slurm_conf(state.slurm_conf)
    order = state.node_order or list(cluster.node_names)
    pos = {name: k for k, name in enumerate(cluster.node_names)}
    idx = [pos[name] for name in order]
    new = {old: k for k, old in enumerate(idx)}
    parts = tuple(
        SlurmPartition(p.name, tuple(sorted(new[k] for k in p.nodes)), p.priority_tier, p.priority_job_factor)
        for p in cluster.partitions
    )
    pr = cluster.priority
    machine = SlurmMachine(
        cpus=tuple(int(cluster.cpus[k]) for k in idx), gpus=tuple(int(cluster.gpus[k]) for k in idx),
        partitions=parts, weight_partition=pr.weight_partition, weight_job_size=pr.weight_job_size,
        weight_age=pr.weight_age, max_age=pr.max_age_s, favor_small=pr.favor_small,
        exclusive="OverSubscribe=EXCLUSIVE" in Path(state.slurm_conf).read_text(),
    )  # fmt: skip
    return machine, cluster.default_partition.name


def model_settings(state: HarnessState, scale: float) -> SlurmSettings:
    s = state.scheduler
    return SlurmSettings(
        sched_interval=s["sched_interval"] * scale, bf_interval=s["bf_interval"] * scale,
        bf_resolution=s["bf_resolution"] * scale, bf_window=s["bf_window"] * 60 * scale, will_run_window=30 * scale,
        phase=PHASE_S * scale, end_delay=END_DELAY_S * scale, quantum=scale,
    )  # fmt: skip


def model_jobs(jobs: list[ReplayJob], machine: SlurmMachine, scale: float) -> list[SlurmJob]:
    names = [p.name for p in machine.partitions]
    return [
        SlurmJob(id=j.index + 1, begin=j.begin_s * scale, runtime=j.sleep_s * scale, limit=j.limit_min * 60 * scale,
                 partition=names.index(j.partition), nodes=j.nodes, cpus=j.cpus, gpus=j.gpus)
        for j in jobs
    ]  # fmt: skip


def _sbatch_args(j: ReplayJob, t0: float, folder: str) -> list[str]:
    begin = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(t0 + j.begin_s))
    args = [
        "sbatch", "--parsable", "-J", f"schedlab-{j.index + 1}", "-p", j.partition, "-N", str(j.nodes),
        f"--ntasks-per-node={j.cpus}", "-t", str(j.limit_min), f"--begin={begin}", "-D", folder,
        "-o", "/dev/null", "-e", "/dev/null",
    ]  # fmt: skip
    if j.gpus:
        args.append(f"--gres=gpu:{j.gpus}")
    return [*args, "--wrap", f"sleep {j.sleep_s}"]


def _cancel(environ: dict, ids: list[str]) -> None:
    if ids:
        subprocess.run(["scancel", *ids], env=environ, capture_output=True, timeout=30)


def submit(state: HarnessState, jobs: list[ReplayJob], progress: Callable | None = None) -> tuple[float, list[str]]:
    """Submit every job with its begin time from T0 (a whole second after the submissions end):
    (T0, Slurm job ids in job order).  A refused submission cancels the others and is an error."""
    environ = env(state.folder)
    t0 = math.ceil(time.time() + LEAD_S + 0.05 * len(jobs))
    ids: list[str] = []
    try:
        for j in jobs:
            out = subprocess.run(
                _sbatch_args(j, t0, state.folder), env=environ, capture_output=True, text=True, timeout=30
            )
            if out.returncode:
                raise SchedlabError(f"sbatch refused job {j.trace_id}: {out.stderr.strip().splitlines()[-1:]}")
            ids.append(out.stdout.strip().split(";")[0])
            if progress:
                progress("submit", len(ids), len(jobs))
    except BaseException:
        _cancel(environ, ids)
        raise
    if time.time() > t0 + jobs[0].begin_s:
        _cancel(environ, ids)
        raise SchedlabError("submitting the jobs took longer than planned (the controller is slow); try again")
    return float(t0), ids


def wait_done(state: HarnessState, ids: list[str], timeout_s: float, progress: Callable | None = None) -> list[dict]:
    """Wait until every job in ``ids`` has its jobcomp record; the records, in ``ids`` order."""
    want = {int(i) for i in ids}
    deadline = time.monotonic() + timeout_s
    environ = env(state.folder)
    done: dict[int, dict] = {}
    try:
        while len(done) < len(want):
            if time.monotonic() > deadline:
                raise SchedlabError(f"replay timed out: {len(done)} of {len(want)} jobs finished in {timeout_s:.0f} s")
            if not alive(state.pids["slurmctld"], state.commands["slurmctld"]):
                raise SchedlabError(f"slurmctld stopped during the replay; see {state.folder}/log/slurmctld.log")
            done = {r["job_id"]: r for r in read_jobcomp(state.jobcomp) if r["job_id"] in want}
            if progress:
                progress("run", len(done), len(want))
            time.sleep(0.5)
    except BaseException:
        _cancel(environ, [i for i in ids if int(i) not in done])
        raise
    return [done[int(i)] for i in ids]


def kendall_tau(a, b) -> float:
    """Kendall's tau-b of two sequences (1.0 for fewer than two values or no variation in both)."""
    from scipy.stats import kendalltau

    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2 or (np.ptp(a) == 0 and np.ptp(b) == 0):
        return 1.0
    tau = kendalltau(a, b).statistic
    return float(tau) if np.isfinite(tau) else 0.0


def compare(
    jobs: list[ReplayJob], records: list[dict], sim: dict, t0: float, scale: float, ids: list[str], names: list[str]
) -> list[dict]:
    """One row per job: the trace's request, the real and simulated start/end (simulated seconds
    from T0), the difference and the nodes each gave it."""
    rows = []
    for j, rec, sid in zip(jobs, records, ids, strict=True):
        m = sim[j.index + 1]
        real_start = (rec["start"] - t0) * scale if rec["start"] is not None else float("nan")
        real_end = (rec["end"] - t0) * scale if rec["end"] is not None else float("nan")
        rows.append({
            "job": j.index + 1, "trace_id": j.trace_id, "slurm_id": int(sid), "user": j.user, "partition": j.partition,
            "nodes": j.nodes, "cpus_per_node": j.cpus, "gpus_per_node": j.gpus, "begin_s": j.begin_s * scale,
            "runtime_s": j.sleep_s * scale, "limit_s": j.limit_min * 60 * scale, "real_start_s": real_start,
            "sim_start_s": m.start, "start_dev_s": real_start - m.start, "real_end_s": real_end, "sim_end_s": m.end,
            "real_nodes": rec.get("NodeList", ""), "sim_nodes": ",".join(names[k] for k in m.nodes), "sim_by": m.by,
            "state": rec.get("JobState", ""),
        })  # fmt: skip
    return rows


def summarize(rows: list[dict], state: HarnessState, scale: float, trace: str, notes: list[str]) -> dict:
    real = np.array([r["real_start_s"] for r in rows], float)
    sim = np.array([r["sim_start_s"] for r in rows], float)
    dev = np.abs(real - sim)
    interval = state.scheduler["sched_interval"] * scale
    return {
        "trace": trace, "jobs": len(rows), "time_scale": scale, "kendall_tau": kendall_tau(real, sim),
        "median_abs_start_dev_s": float(np.median(dev)) if len(dev) else 0.0,
        "mean_abs_start_dev_s": float(dev.mean()) if len(dev) else 0.0,
        "max_abs_start_dev_s": float(dev.max()) if len(dev) else 0.0,
        "sched_interval_s": interval, "bf_interval_s": state.scheduler["bf_interval"] * scale,
        "within_one_interval": bool(np.median(dev) <= interval) if len(dev) else True,
        "completed": sum(r["state"] == "COMPLETED" for r in rows), "slurm_version": state.version,
        "cluster": state.cluster, "scheduler": state.scheduler, "notes": notes,
    }  # fmt: skip


@dataclass
class ReplayResult:
    summary: dict
    rows: list[dict]
    records: list[dict]
    jobs: list[ReplayJob]


def replay(
    folder: str | Path, trace: str | Path, time_scale: float = 60.0, max_wall_s: float = 3600.0,
    progress: Callable | None = None,
) -> ReplayResult:  # fmt: skip
    """Replay ``trace`` into the loopback Slurm in ``folder`` at ``time_scale`` and compare with the
    ``slurm`` preset.  ``max_wall_s``: refuse a replay the model expects to take longer (real s)."""
    from schedlab.workload import load_trace

    state = load_state(folder)
    if not all(alive(pid, argv) for _, pid, argv in state.processes()):
        raise SchedlabError(f"{folder}: the loopback Slurm is not running (see schedlab slurm status)")
    queued = subprocess.run(["squeue", "-h", "-o", "%i"], env=env(folder), capture_output=True, text=True, timeout=30)
    if queued.stdout.split():
        raise SchedlabError(
            f"{folder}: {len(queued.stdout.split())} job(s) in the queue; a replay needs an empty Slurm"
        )
    machine, default = model_machine(state)
    wl = load_trace(trace)
    jobs, notes = replay_jobs(wl, time_scale, [p.name for p in machine.partitions], default)
    sim = simulate(model_jobs(jobs, machine, time_scale), machine, model_settings(state, time_scale))
    expect_s = max(s.end for s in sim.values()) / time_scale
    if expect_s > max_wall_s:
        raise SchedlabError(
            f"this replay would take about {expect_s / 60:.0f} real minutes (more than {max_wall_s / 60:.0f}); "
            "raise --time-scale or cut the trace"
        )
    t0, ids = submit(state, jobs, progress)
    records = wait_done(state, ids, t0 - time.time() + expect_s * 1.5 + 60, progress)
    rows = compare(jobs, records, sim, t0, time_scale, ids, state.node_order or state.nodes)
    return ReplayResult(summarize(rows, state, time_scale, str(trace), notes), rows, records, jobs)


def write_replay(out: Path, result: ReplayResult, state: HarnessState) -> list[str]:
    """jobs.csv (per-job rows), slurm_jobs.txt (Slurm's records as sacct --parsable2, loadable as a
    trace), jobcomp.log (the raw records), slurm.conf and summary.json into ``out``."""
    import pandas as pd

    from schedlab.report.outputs import write_csv, write_json, write_text

    out = Path(out)
    gpus = {r["job_id"]: j.gpus * j.nodes for r, j in zip(result.records, result.jobs, strict=True)}
    users = {r["job_id"]: f"user{j.user}" for r, j in zip(result.records, result.jobs, strict=True)}
    raw = Path(state.jobcomp).read_text(errors="replace").splitlines()
    mine = {str(r["job_id"]) for r in result.records}
    lines = [ln for ln in raw if ln.split(" ", 1)[0].removeprefix("JobId=") in mine]
    return [
        str(write_csv(out / "jobs.csv", pd.DataFrame(result.rows))),
        str(write_text(out / "slurm_jobs.txt", to_sacct(result.records, gpus, users))),
        str(write_text(out / "jobcomp.log", "\n".join(lines) + "\n")),
        str(write_text(out / "slurm.conf", Path(state.slurm_conf).read_text())),
        str(write_json(out / "summary.json", result.summary)),
    ]


__all__ = ["ReplayJob", "ReplayResult", "compare", "kendall_tau", "replay", "replay_jobs", "write_replay"]
