"""EcoSched conversion: the originals in their repository layout -> the ``ecosched/`` CSVs."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd

from schedlab.energy.data.common import _GPU_ORDER, _app_of, _Notes
from schedlab.energy.data.ecosched_logs import _PARAM_KEYS, parse_perf_metrics, parse_run_log, parse_solver_schedule
from schedlab.energy.data.sources import (
    COSCHED,
    ECOSCHED_NOT_PRODUCED,
    GPU_MODELS,
    IDLE_POWER_W,
    POLICY_LOGS,
    SOLVER_SCHEDULE,
    WORKLOAD_DIRS,
    _ecosched_runs,
)
from schedlab.errors import SchedlabError
from schedlab.report.outputs import write_csv


def _queue_from(runs: dict, gpu: str, sub: str, path_of, notes: _Notes) -> list[str]:
    for log in ("run_cosched_sequential.txt", "run_cosched_sequential_bestGPU.txt"):
        rec = runs.get((gpu, sub, log))
        if rec and rec["queue"]:
            other = runs.get((gpu, sub, "run_cosched_sequential_bestGPU.txt"))
            if other and other["queue"] and [q for q, _ in other["queue"]] != [q for q, _ in rec["queue"]]:
                notes.add(
                    f"{gpu} {WORKLOAD_DIRS[sub]}: the two sequential logs list different queues; "
                    f"used {path_of(gpu, sub, log)}"
                )
            return [q for q, _ in rec["queue"]]
    raise SchedlabError(f"no job-queue header in the sequential logs of {gpu} {WORKLOAD_DIRS[sub] or 'default'}")


def _path_of(gpu: str, sub: str, log: str) -> str:
    """Repository path of a results file."""
    return f"{COSCHED}results/{gpu}/{sub}{log}"


def _order(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Sorted by ``keys`` (GPU models in V100, A100, H100 order), stable."""
    return df.sort_values(
        keys, key=lambda c: c.map(_GPU_ORDER) if c.name == "gpu_model" else c, kind="stable"
    ).reset_index(drop=True)


def _profiles(raw_dir: Path) -> pd.DataFrame:
    """The three ``perf_metrics.txt`` -> ``app_profiles.csv`` rows, sorted, duplicates refused."""
    prof = pd.concat([parse_perf_metrics(raw_dir / f"{COSCHED}data/{g}/perf_metrics.txt", g) for g in GPU_MODELS])
    dup = prof.duplicated(["gpu_model", "app", "gpu_count"])
    if dup.any():
        raise SchedlabError(f"perf_metrics.txt: {int(dup.sum())} duplicate (gpu_model, app, gpu_count) rows")
    return prof.sort_values(
        ["gpu_model", "category", "app", "gpu_count"], key=lambda c: c.map(_GPU_ORDER) if c.name == "gpu_model" else c
    ).reset_index(drop=True)


def _queues(runs: dict, folders: list, profiled: set, notes: _Notes) -> tuple[list[dict], dict]:
    """``job_queues.csv`` rows and the queue (job labels) of every results folder."""
    qrows, queues = [], {}
    for gpu, sub in folders:
        q = _queue_from(runs, gpu, sub, _path_of, notes)
        queues[(gpu, sub)] = q
        wl = WORKLOAD_DIRS[sub]
        dups = [lab for lab, n in Counter(q).items() if n > 1]
        if dups:
            notes.add(f"{gpu} {wl}: queue lists {', '.join(dups)} more than once without a #k label (kept as logged)")
        unprof = sorted({_app_of(lab) for lab in q} - {a for g, a in profiled if g == gpu})
        if unprof:
            notes.add(f"{gpu} {wl}: queue apps without a profile row for {gpu}: {', '.join(unprof)}")
        qrows += [
            {"gpu_model": gpu, "workload": wl, "n_jobs": len(q), "position": i, "job": lab, "app": _app_of(lab)}
            for i, lab in enumerate(q, 1)
        ]
    return qrows, queues


def _summary_row(gpu: str, sub: str, log: str, rec: dict, n_jobs: int, failed: int) -> dict:
    """One ``eval_runs_summary.csv`` row."""
    p = rec["params"]
    return {
        "gpu_model": gpu,
        "workload": WORKLOAD_DIRS[sub],
        "policy": POLICY_LOGS[log],
        "n_jobs": n_jobs,
        "makespan_s": rec["makespan_s"],
        "gpu_energy_j": rec["gpu_energy_j"],
        "edp_js": round(rec["makespan_s"] * rec["gpu_energy_j"], 2),
        "power_samples": rec["power_samples"],
        "power_monitored_s": rec["power_monitored_s"],
        "n_jobs_logged_nonzero_exit": failed,
        **{("idle_power_w" if k == "idle_power" else k): p.get(k) for k in _PARAM_KEYS},
        "source_log": _path_of(gpu, sub, log),
    }


def _job_rows(gpu: str, wl: str, policy: str, jobs: list[dict]) -> list[dict]:
    """The ``eval_runs_jobs.csv`` rows of one run (``jobs`` in launch order)."""
    return [
        {
            "gpu_model": gpu,
            "workload": wl,
            "policy": policy,
            "launch_order": i,
            "job": j["job"],
            "app": _app_of(j["job"]),
            "gpu_count": j["gpu_count"],
            "gpu_ids": " ".join(map(str, j["gpu_ids"])),
            "numa": j["numa"],
            "start_s": j["start_s"],
            "end_s": j["end_s"],
            "runtime_s": j["runtime_s"],
            "planned_start_s": j["planned_start_s"],
            "exit_status": j["exit_status"],
        }
        for i, j in enumerate(jobs, 1)
    ]


def _run_rows(runs: dict, queues: dict, notes: _Notes) -> tuple[list[dict], list[dict]]:
    """``eval_runs_summary.csv`` and ``eval_runs_jobs.csv`` rows of every logged run."""
    srows, jrows = [], []
    n_failed = Counter()
    for (gpu, sub, log), rec in runs.items():
        wl, policy = WORKLOAD_DIRS[sub], POLICY_LOGS[log]
        jobs = sorted(rec["jobs"], key=lambda j: j["start_s"])
        if Counter(j["job"] for j in jobs) != Counter(queues[(gpu, sub)]):
            notes.add(f"{gpu} {wl} {policy}: the jobs run differ from the queue (kept as logged)")
        failed = sum(j["exit_status"].startswith("FAILED") for j in jobs)
        n_failed[(gpu, policy)] += failed
        p = rec["params"]
        if policy.startswith("ecosched") and "idle_power" in p and float(p["idle_power"]) != IDLE_POWER_W[gpu]:
            notes.add(
                f"{gpu} {wl} {policy}: log header prints idle_power = {p['idle_power']} W "
                f"(the {gpu} value elsewhere is {IDLE_POWER_W[gpu]:g} W; kept as logged)"
            )
        srows.append(_summary_row(gpu, sub, log, rec, len(jobs), failed))
        jrows += _job_rows(gpu, wl, policy, jobs)
    for (gpu, policy), n in n_failed.items():
        if n:
            notes.add(f"{gpu} {policy}: {n} job(s) logged with a non-zero exit code (counted as logged)")
    return srows, jrows


def _plans(raw_dir: Path, folders: list) -> pd.DataFrame:
    """Every ``solver_schedule.txt`` -> ``eval_solver_plans.csv`` rows (unsorted)."""
    plans = []
    for gpu, sub in folders:
        df = parse_solver_schedule(raw_dir / _path_of(gpu, sub, SOLVER_SCHEDULE))
        df.insert(0, "workload", WORKLOAD_DIRS[sub])
        df.insert(0, "gpu_model", gpu)
        plans.append(df)
    return pd.concat(plans)


def convert_ecosched(raw_dir: Path, dest: Path, progress=None) -> list[Path]:
    """Convert EcoSched originals in ``raw_dir`` (repository layout) into the CSVs in ``dest``."""
    raw_dir, dest = Path(raw_dir), Path(dest)
    notes = _Notes(progress)
    dest.mkdir(parents=True, exist_ok=True)
    prof = _profiles(raw_dir)
    written = [write_csv(dest / "app_profiles.csv", prof)]
    profiled = set(zip(prof.gpu_model, prof.app, strict=False))

    runs = {(g, s, log): parse_run_log(raw_dir / _path_of(g, s, log)) for g, s, log in _ecosched_runs()}
    folders = list(dict.fromkeys((g, s) for g, s, _ in _ecosched_runs()))
    qrows, queues = _queues(runs, folders, profiled, notes)
    srows, jrows = _run_rows(runs, queues, notes)
    for frame, keys, name in (
        (pd.DataFrame(qrows), ["gpu_model", "workload", "position"], "job_queues.csv"),
        (pd.DataFrame(srows), ["gpu_model", "workload", "policy"], "eval_runs_summary.csv"),
        (pd.DataFrame(jrows), ["gpu_model", "workload", "policy", "launch_order"], "eval_runs_jobs.csv"),
    ):
        written.append(write_csv(dest / name, _order(frame, keys)))

    plans = _order(_plans(raw_dir, folders), ["gpu_model", "workload", "plan_order"])
    written.append(write_csv(dest / "eval_solver_plans.csv", plans))
    notes.add("not produced by fetch: " + ", ".join(ECOSCHED_NOT_PRODUCED))
    written.append(notes.write(dest))
    return written
