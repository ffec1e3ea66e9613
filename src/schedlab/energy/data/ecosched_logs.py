"""Parsers of the EcoSched originals: ``perf_metrics.txt``, the run logs and ``solver_schedule.txt``."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from schedlab.energy.data.common import _app_of, _bad, _category, _need
from schedlab.energy.data.sources import IDLE_POWER_W
from schedlab.errors import SchedlabError

# --------------------------------------------------------------------------------- EcoSched profiles

_SECTION = re.compile(r"^=+\s*([^/=\s]+)/(\S+)\s*=+$")
_PROFILE_HEADER = ["gpu_count", "performance", "avg_power", "dram_sum", "sm_sum", "fp_sum"]


def parse_perf_metrics(path: Path, gpu_model: str) -> pd.DataFrame:
    """One ``perf_metrics.txt`` -> rows of ``app_profiles.csv`` (unsorted)."""
    rows = []
    section = app = None
    cap = None
    with open(_need(path), encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            s = line.strip()
            if not s:
                continue
            m = _SECTION.match(s)
            if m:
                section, app, cap = m.group(1), m.group(2), None
                continue
            if app is None:
                raise _bad(path, lineno, line, "line outside a '===== SUITE/app =====' section")
            if s.startswith("cap="):
                try:
                    cap = int(s[4:])
                except ValueError:
                    raise _bad(path, lineno, line, "power cap") from None
                continue
            fields = s.split()
            if fields == _PROFILE_HEADER:
                continue
            if len(fields) != 6:
                raise _bad(path, lineno, line, "profile row (expected 6 tab-separated fields)")
            try:
                g = int(fields[0])
                rt, pw, dram, sm, fp = (float(x) for x in fields[1:])
            except ValueError:
                raise _bad(path, lineno, line, "profile row") from None
            if cap is None:
                raise _bad(path, lineno, line, "profile row before its 'cap=' line")
            total = round(g * pw, 2)
            energy = round(rt * total, 4)
            rows.append(
                {
                    "gpu_model": gpu_model,
                    "app": app,
                    "category": _category(section, app),
                    "gpu_count": g,
                    "runtime_s": rt,
                    "avg_power_w_per_gpu": pw,
                    "total_power_w": total,
                    "energy_j": energy,
                    "edp_js": round(energy * rt, 4),
                    "dram_active_sum": dram,
                    "sm_clock_sum_mhz": sm,
                    "fp_active_sum": fp,
                    "node_power_budget_w": cap,
                    "idle_power_w_per_gpu": IDLE_POWER_W[gpu_model],
                }
            )
    if not rows:
        raise SchedlabError(f"{path}: no profile rows found")
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------ EcoSched logs

_T = r"t=\s*(?P<t>[-\d.]+)s"
_START = re.compile(
    _T + r"\s*\|\s*START\s+(?P<job>\S+)\s*\|\s*(?P<n>\d+)\s+GPUs?\s*\[(?P<ids>[\d,\s]*)\]\s*\|\s*NUMA\s+(?P<numa>\d+)"
    r"(?:.*?planned=(?P<planned>[-\d.]+)s)?"
)
_END = re.compile(
    _T + r"\s*\|\s*END\s+(?P<job>\S+)\s*\|(?:\s*freed\s+\d+\s+GPUs?\s*\[(?P<ids>[\d,\s]*)\]\s*\|\s*NUMA\s+\d+\s*\|)?"
    r"\s*runtime=(?P<rt>[-\d.]+)s(?:\s*\|\s*(?P<status>OK|FAILED\(rc=-?\d+\)))?"
)
_QUEUE = re.compile(r"^\s+(?P<job>\S+)\s+->\s+(?P<n>\d+)\s+GPUs?\s*$")
_PARAM = re.compile(r"^\s+(?P<key>[a-z_]+)\s*=\s*(?P<val>.+?)\s*$")
_MAKESPAN = re.compile(r"^Total makespan:\s*([-\d.]+)s")
_POWER = re.compile(r"^Power monitoring:\s*(\d+)\s+samples over\s+([-\d.]+)s")
_ENERGY = re.compile(r"^Total GPU energy:\s*([-\d.]+)\s*J")
_PARAM_KEYS = ("slowdown_tol", "idle_power", "idle_weight", "blocking_weight", "ucb_alpha", "score_metric")


def _ids(text: str) -> list[int]:
    return [int(x) for x in text.replace(",", " ").split()]


def parse_run_log(path: Path) -> dict:
    """A run log -> {'queue': [(label, gpus)], 'params': {...}, 'jobs': [...], 'makespan_s', ...}."""
    queue, params, jobs, open_jobs = [], {}, [], []
    out = {"makespan_s": None, "power_samples": None, "power_monitored_s": None, "gpu_energy_j": None}
    in_queue = in_params = False
    with open(_need(path), encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            s = line.rstrip("\n")
            if s.startswith("Job queue and GPU assignments"):
                in_queue = True
                continue
            if s.startswith("Online policy parameters"):
                in_params = True
                continue
            if in_queue:
                m = _QUEUE.match(s)
                if m:
                    queue.append((m["job"], int(m["n"])))
                    continue
                in_queue = False
            if in_params:
                m = _PARAM.match(s)
                if m and m["key"] in _PARAM_KEYS:
                    val = m["val"]
                    params[m["key"]] = val[:-2] if m["key"] == "idle_power" and val.endswith(" W") else val
                    continue
                if not s.startswith("    ") and not m:
                    in_params = False
            if "| START " in s:
                m = _START.search(s)
                if not m:
                    raise _bad(path, lineno, line, "START line")
                job = {
                    "job": m["job"],
                    "gpu_count": int(m["n"]),
                    "gpu_ids": _ids(m["ids"]),
                    "numa": int(m["numa"]),
                    "start_s": float(m["t"]),
                    "planned_start_s": float(m["planned"]) if m["planned"] else np.nan,
                    "end_s": None,
                    "runtime_s": None,
                    "exit_status": "not_logged",
                }
                if len(job["gpu_ids"]) != job["gpu_count"]:
                    raise _bad(path, lineno, line, "START line (GPU count differs from the GPU list)")
                jobs.append(job)
                open_jobs.append(job)
            elif "| END " in s:
                m = _END.search(s)
                if not m:
                    raise _bad(path, lineno, line, "END line")
                cands = [j for j in open_jobs if j["job"] == m["job"]]
                if m["ids"] is not None:
                    cands = [j for j in cands if j["gpu_ids"] == _ids(m["ids"])] or cands
                if not cands:
                    raise _bad(path, lineno, line, "END line (no running job of that name)")
                job = cands[0]
                open_jobs.remove(job)
                job.update(end_s=float(m["t"]), runtime_s=float(m["rt"]), exit_status=m["status"] or "not_logged")
            else:
                for key, rx in (("makespan", _MAKESPAN), ("power", _POWER), ("energy", _ENERGY)):
                    m = rx.match(s)
                    if not m:
                        continue
                    if key == "makespan":
                        out["makespan_s"] = float(m[1])
                    elif key == "power":
                        out["power_samples"], out["power_monitored_s"] = int(m[1]), float(m[2])
                    else:
                        out["gpu_energy_j"] = float(m[1])
    if open_jobs:
        raise SchedlabError(
            f"{path}: {len(open_jobs)} job(s) started but never ended: " + ", ".join(j["job"] for j in open_jobs)
        )
    for key in ("makespan_s", "gpu_energy_j"):
        if out[key] is None:
            raise SchedlabError(f"{path}: no '{'Total makespan' if key == 'makespan_s' else 'Total GPU energy'}' line")
    return {**out, "queue": queue, "params": params, "jobs": jobs}


_PLAN_ROW = re.compile(
    r"^(?P<i>\d+)\s+(?P<start>[-\d.]+)\s+(?P<end>[-\d.]+)\s+(?P<job>\S+)\s+(?P<g>\d+)\s+"
    r"\((?P<n0>\d+),\s*(?P<n1>\d+)\)\s+(?P<rt>[-\d.]+)\s+(?P<pg>[-\d.]+)\s+(?P<pt>[-\d.]+)\s+(?P<e>[-\d.]+)\s*$"
)
_PLAN_HEAD = {
    "Slowdown tolerance": "slowdown_tol",
    "Makespan": "plan_makespan_s",
    "Active energy": "plan_active_energy_j",
    "Idle energy": "plan_idle_energy_j",
    "Total energy": "plan_total_energy_j",
    "Best bound": "best_bound_j",
    "Solver wall time": "solver_wall_s",
}


def parse_solver_schedule(path: Path) -> pd.DataFrame:
    """``solver_schedule.txt`` -> rows of ``eval_solver_plans.csv`` (without gpu_model/workload)."""
    head, rows = {}, []
    in_table = False
    with open(_need(path), encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            s = line.strip()
            for prefix, key in _PLAN_HEAD.items():
                if s.startswith(prefix) and ":" in s and key not in head:
                    m = re.search(r":\s*([-\d.]+)", s)
                    if not m:
                        raise _bad(path, lineno, line, prefix)
                    head[key] = float(m[1])
            if s.startswith("#") and "Start" in s:
                in_table = True
                continue
            if in_table:
                if s.startswith("---"):
                    continue
                if not s:
                    in_table = not rows
                    continue
                m = _PLAN_ROW.match(s)
                if not m:
                    raise _bad(path, lineno, line, "plan row")
                rows.append(
                    {
                        "plan_order": int(m["i"]),
                        "job": m["job"],
                        "app": _app_of(m["job"]),
                        "gpu_count": int(m["g"]),
                        "gpus_numa0": int(m["n0"]),
                        "gpus_numa1": int(m["n1"]),
                        "start_s": float(m["start"]),
                        "end_s": float(m["end"]),
                        "runtime_s": float(m["rt"]),
                        "power_w_per_gpu": float(m["pg"]),
                        "power_w_total": float(m["pt"]),
                        "active_energy_j": float(m["e"]),
                    }
                )
    if not rows:
        raise SchedlabError(f"{path}: no plan rows found")
    missing = [k for k in _PLAN_HEAD.values() if k not in head]
    if missing:
        raise SchedlabError(f"{path}: header lacks {', '.join(missing)}")
    df = pd.DataFrame(rows)
    for k in _PLAN_HEAD.values():
        df[k] = head[k]
    return df
