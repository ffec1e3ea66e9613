"""Where the EcoSched and OPEN measurements live, and how to fetch and convert them.

Neither source repository has a licence, so schedlab does not ship the data.  The folders are
looked up like every other dataset (see :mod:`schedlab.datasets`): ``--data-dir``, then
``$SCHEDLAB_DATA``, then the cache that ``schedlab data fetch`` fills, then ``shared/data`` beside a
source checkout.

``schedlab data fetch ecosched`` downloads, from GitHub ``zzheng33/EcoSched`` at commit
``6722febbf21a88b1ac46b7d1ef9be565e4c24f46`` (explicit file list, no API listing):

* ``GPGPU/coSched/data/{V100,A100,H100}/perf_metrics.txt`` -> ``app_profiles.csv``.  Copied:
  ``runtime_s`` (the source's ``performance``), ``avg_power_w_per_gpu``, ``dram_active_sum``,
  ``sm_clock_sum_mhz``, ``fp_active_sum``.  Derived: ``category`` (from the app name),
  ``total_power_w = gpu_count * avg_power`` (2 dp), ``energy_j = runtime * total_power`` (4 dp),
  ``edp_js = energy_j * runtime`` (4 dp), ``node_power_budget_w`` (the ``cap=`` line, 2800) and
  ``idle_power_w_per_gpu`` (V100 43, A100 53, H100 70 W).
* the run logs ``GPGPU/coSched/results/<GPU>/[volume/{low,med,high}/ | arxiv/]*.txt`` ->
  ``job_queues.csv`` (from the sequential baselines' "Job queue" headers), ``eval_runs_summary.csv``
  (``edp_js = makespan_s * gpu_energy_j`` derived, 2 dp; EcoSched parameters kept as printed),
  ``eval_runs_jobs.csv`` (START/END lines paired per job label, and by GPU ids where the END line
  names them) and ``eval_solver_plans.csv`` (from ``solver_schedule.txt``; model-predicted plans).

**Not produced by fetch** (their per-app file lists are not pinned down well enough to download
without listing the repository): ``gpu_timeseries.csv.gz``, ``wallclock_runtime_runs.csv`` and
``ml_throughput_vs_power_budget.csv``.  Use the project's shared copies for those.

``schedlab data fetch open_a100`` downloads, from GitHub ``zzheng33/power_2`` at commit
``e5822ee985ea8b8612772b087563a124df14239f``, under ``GPGPU/data/``:

* ``altis_power_cap_res/2_dual_cap/train/<app>_performance.csv`` (17 Altis apps),
  ``ecp_power_cap_res/2_dual_cap/validation/<app>_performance.csv`` (10 ECP/ML apps) and
  ``ecp_power_cap_res/2_dual_cap/archive/CRADL_performance.csv`` -> ``dual_cap_measured.csv``.  The
  ``*_norm`` counters and ``perf_norm`` are copied unchanged (the authors' values).
* with ``raw_series=True`` (the default) also the per-pair time series
  ``{altis,ecp}_power_cap_res/2_dual_cap/<app>/<cpu>_<gpu>_{cpu_power,gpu_metrics}.csv`` (about
  5,500 files), from which the "added by us" columns are derived: ``runtime_s`` = last time stamp of
  the CPU-power series (4 dp); ``cpu_pkg_power_w`` and ``cpu_dram_power_w`` = means of the
  non-negative samples of each column (negative RAPL glitches dropped and counted in
  ``n_negative_rapl_samples_dropped``); ``gpu_power_w`` = mean GPU board power (empty where the GPU
  file is missing); ``runtime_matches_perf_norm`` = whether ``min(runtime)/runtime`` (unrounded
  runtimes, over the app's rows) equals ``perf_norm`` to a relative 1e-9.  With
  ``raw_series=False`` those six columns are written empty.
* ``altis_power_cap_res/2_dual_cap/validation/{raytracing,sort,srad}_performance.csv`` ->
  ``dual_cap_altis_validation_counters.csv`` (copied).
* ``prediction_res/performance_matrix.csv`` -> ``dual_cap_predicted_not_measured.csv``: only the 10
  ECP/ML columns (they are **predictions**), with the measured ``perf_norm`` beside them.

Upstream quirks are handled as the data README describes and reported as counted notes (through
``progress`` and in ``conversion_notes.txt`` next to the CSVs): queue duplicates without ``#k``,
runs whose job list differs from their queue, non-zero exit codes, EcoSched headers whose idle
power differs from the GPU's, pairs missing from a performance table, missing per-pair files.
A required file that is missing, or a line that cannot be parsed, raises an error naming the file
(and the line number).
"""

from __future__ import annotations

import csv
import math
import re
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from schedlab.datasets import DataNotFound, cache_dir, find_dataset  # noqa: F401  (re-exported)

# ------------------------------------------------------------------------------------------ sources

ECOSCHED_COMMIT = "6722febbf21a88b1ac46b7d1ef9be565e4c24f46"
ECOSCHED_BASE = f"https://raw.githubusercontent.com/zzheng33/EcoSched/{ECOSCHED_COMMIT}/"
OPEN_COMMIT = "e5822ee985ea8b8612772b087563a124df14239f"
OPEN_BASE = f"https://raw.githubusercontent.com/zzheng33/power_2/{OPEN_COMMIT}/"

ECOSCHED_REQUIRED = ("app_profiles.csv", "job_queues.csv", "eval_runs_summary.csv", "eval_runs_jobs.csv")
OPEN_REQUIRED = ("dual_cap_measured.csv",)
ECOSCHED_NOT_PRODUCED = ("gpu_timeseries.csv.gz", "wallclock_runtime_runs.csv", "ml_throughput_vs_power_budget.csv")

GPU_MODELS = ("V100", "A100", "H100")
IDLE_POWER_W = {"V100": 43.0, "A100": 53.0, "H100": 70.0}
COSCHED = "GPGPU/coSched/"
#: results sub-folder -> workload name
WORKLOAD_DIRS = {
    "": "default",
    "volume/low/": "low_opp",
    "volume/med/": "med_opp",
    "volume/high/": "high_opp",
    "arxiv/": "default_arxiv_version",
}
#: log file -> policy name
POLICY_LOGS = {
    "EcoPack_cmab_run.txt": "ecosched_cmab",
    "EcoPack_run.txt": "ecosched_heuristic",
    "run_cosched_marble.txt": "marble",
    "run_cosched_sequential.txt": "sequential_max_gpu",
    "run_cosched_sequential_bestGPU.txt": "sequential_best_gpu",
    "solver_execution_run.txt": "cpsat_plan_executed",
}
SOLVER_SCHEDULE = "solver_schedule.txt"
ML_APPS = frozenset({"bert", "gpt2", "resnet50", "resnet101", "resnet152", "vgg16", "vgg19"})


def _ecosched_runs() -> list[tuple[str, str, str]]:
    """(gpu_model, results sub-folder, log file) of every logged run that is converted."""
    runs = []
    for gpu in GPU_MODELS:
        for sub in WORKLOAD_DIRS:
            if sub == "arxiv/" and gpu != "H100":
                continue
            for log in POLICY_LOGS:
                if log == "EcoPack_run.txt" and not (gpu == "A100" and sub == ""):
                    continue
                runs.append((gpu, sub, log))
    return runs


def ecosched_paths() -> list[str]:
    """Every repository path ``fetch_ecosched`` downloads."""
    paths = [f"{COSCHED}data/{gpu}/perf_metrics.txt" for gpu in GPU_MODELS]
    paths += [f"{COSCHED}results/{gpu}/{sub}{log}" for gpu, sub, log in _ecosched_runs()]
    folders = dict.fromkeys((gpu, sub) for gpu, sub, _ in _ecosched_runs())
    paths += [f"{COSCHED}results/{gpu}/{sub}{SOLVER_SCHEDULE}" for gpu, sub in folders]
    return paths


OPEN_DATA = "GPGPU/data/"
ALTIS_APPS = (
    "bfs",
    "cfd",
    "cfd_double",
    "fdtd2d",
    "gemm",
    "gups",
    "kmeans",
    "lavamd",
    "maxflops",
    "nw",
    "particlefilter_float",
    "particlefilter_naive",
    "pathfinder",
    "raytracing",
    "sort",
    "srad",
    "where",
)
ALTIS_VALIDATION_APPS = ("raytracing", "sort", "srad")
ECP_APPS = ("Laghos", "NAMD", "Resnet50", "UNet", "XSBench", "bert_large", "gromacs", "lammps", "miniGAN", "sw4lite")
ARCHIVE_APPS = ("CRADL",)
CPU_CAPS = tuple(range(120, 201, 10))
GPU_CAPS = tuple(range(150, 251, 10))
ALTIS_DUAL = OPEN_DATA + "altis_power_cap_res/2_dual_cap/"
ECP_DUAL = OPEN_DATA + "ecp_power_cap_res/2_dual_cap/"
PERF_MATRIX = OPEN_DATA + "prediction_res/performance_matrix.csv"
#: (source_set, suite, app) -> (performance table path, per-pair series folder)
OPEN_SOURCES = {
    **{
        ("altis_train", "Altis", a): (f"{ALTIS_DUAL}train/{a}_performance.csv", f"{ALTIS_DUAL}{a}/") for a in ALTIS_APPS
    },
    **{
        ("ecp_validation", "ECP/ML", a): (f"{ECP_DUAL}validation/{a}_performance.csv", f"{ECP_DUAL}{a}/")
        for a in ECP_APPS
    },
    **{
        ("ecp_archive", "ECP/ML", a): (f"{ECP_DUAL}archive/{a}_performance.csv", f"{ECP_DUAL}{a}/")
        for a in ARCHIVE_APPS
    },
}
ALTIS_VALIDATION = {a: f"{ALTIS_DUAL}validation/{a}_performance.csv" for a in ALTIS_VALIDATION_APPS}

PERF_COLUMNS = {
    "CPU Power Cap": "cpu_cap_w",
    "GPU Power Cap": "gpu_cap_w",
    "IPS": "ips_norm",
    "Memory Throughput": "mem_throughput_norm",
    "SM Clock": "sm_clock_norm",
    "DRAM Active": "dram_active_norm",
    "FP Active": "fp_active_norm",
    "Performance": "perf_norm",
}
RAW_COLUMNS = (
    "runtime_s",
    "cpu_pkg_power_w",
    "cpu_dram_power_w",
    "gpu_power_w",
    "n_negative_rapl_samples_dropped",
    "runtime_matches_perf_norm",
)


def open_table_paths() -> list[str]:
    """The tables ``fetch_open_a100`` downloads (the per-pair series follow from their rows)."""
    return [p for p, _ in OPEN_SOURCES.values()] + list(ALTIS_VALIDATION.values()) + [PERF_MATRIX]


def pair_paths(series_dir: str, cpu: int, gpu: int) -> tuple[str, str]:
    """Repository paths of the CPU-power and GPU-metrics series of one cap pair."""
    return f"{series_dir}{cpu}_{gpu}_cpu_power.csv", f"{series_dir}{cpu}_{gpu}_gpu_metrics.csv"


# ------------------------------------------------------------------------------------------- lookup


def ecosched_dir(data_dir: Path | None = None) -> Path:
    """The folder holding the EcoSched CSVs (``<data>/ecosched``), or a clear error."""
    return find_dataset(
        "ecosched", ECOSCHED_REQUIRED, data_dir, "run `schedlab data fetch ecosched` or pass --data-dir"
    )


def open_a100_dir(data_dir: Path | None = None) -> Path:
    """The folder holding the OPEN A100 CSVs (``<data>/open_a100``), or a clear error."""
    return find_dataset("open_a100", OPEN_REQUIRED, data_dir, "run `schedlab data fetch open_a100` or pass --data-dir")


# -------------------------------------------------------------------------------------------- fetch


def _download(base: str, path: str, raw: Path, optional: bool = False) -> bool:
    """Download ``base + path`` to ``raw/path`` unless present; False if optional and absent upstream."""
    target = raw / path
    if target.exists():
        return True
    url = base + path
    try:
        with urllib.request.urlopen(url, timeout=120) as resp:
            data = resp.read()
    except urllib.error.HTTPError as exc:
        if optional and exc.code == 404:
            return False
        raise OSError(f"download of {url} failed: HTTP {exc.code}") from exc
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(target)
    return True


def _download_all(base: str, paths: list[str], raw: Path, progress, optional: bool = False, workers: int = 8) -> int:
    """Download many paths in parallel; returns how many were absent upstream (optional only)."""
    todo = [p for p in paths if not (raw / p).exists()]
    if progress and todo:
        progress(f"downloading {len(todo)} files from {base}")
    missing = 0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for i, ok in enumerate(pool.map(lambda p: _download(base, p, raw, optional), todo), 1):
            missing += not ok
            if progress and (i % 500 == 0 or i == len(todo)) and len(todo) > 20:
                progress(f"  {i}/{len(todo)} files")
    return missing


def fetch_ecosched(dest: Path | None = None, progress=None) -> Path:
    """Download the pinned EcoSched originals and convert them into ``dest/ecosched`` (default: the cache)."""
    dest = Path(dest) if dest is not None else cache_dir()
    raw = dest / "ecosched" / "_download"
    raw.mkdir(parents=True, exist_ok=True)
    _download_all(ECOSCHED_BASE, ecosched_paths(), raw, progress)
    convert_ecosched(raw, dest / "ecosched", progress=progress)
    if progress:
        progress("not produced by fetch: " + ", ".join(ECOSCHED_NOT_PRODUCED))
    return dest / "ecosched"


def fetch_open_a100(dest: Path | None = None, progress=None, raw_series: bool = True) -> Path:
    """Download the pinned OPEN originals and convert them into ``dest/open_a100`` (default: the cache).

    ``raw_series=False`` skips the ~5,500 per-pair time series; the columns derived from them
    (``runtime_s`` … ``runtime_matches_perf_norm``) are then written empty.
    """
    dest = Path(dest) if dest is not None else cache_dir()
    raw = dest / "open_a100" / "_download"
    raw.mkdir(parents=True, exist_ok=True)
    _download_all(OPEN_BASE, open_table_paths(), raw, progress)
    if raw_series:
        series = []
        for (_, _, app), (table, folder) in OPEN_SOURCES.items():
            perf = _read_performance(raw / table, app)
            for cpu, gpu in zip(perf["cpu_cap_w"], perf["gpu_cap_w"], strict=False):
                series += pair_paths(folder, int(cpu), int(gpu))
        absent = _download_all(OPEN_BASE, series, raw, progress, optional=True)
        if progress and absent:
            progress(f"note: {absent} per-pair series files are absent upstream")
    convert_open_a100(raw, dest / "open_a100", raw_series=raw_series, progress=progress)
    return dest / "open_a100"


# ----------------------------------------------------------------------------------------- helpers


def _need(path: Path) -> Path:
    if not path.exists():
        raise FileNotFoundError(f"required upstream file missing: {path}")
    return path


def _bad(path: Path, lineno: int, line: str, what: str) -> ValueError:
    return ValueError(f"{path}:{lineno}: cannot parse {what}: {line.strip()!r}")


class _Notes:
    def __init__(self, progress):
        self.lines: list[str] = []
        self.progress = progress

    def add(self, msg: str) -> None:
        self.lines.append(msg)
        if self.progress:
            self.progress(f"note: {msg}")

    def write(self, dest: Path) -> Path:
        path = dest / "conversion_notes.txt"
        path.write_text("".join(f"- {m}\n" for m in self.lines) if self.lines else "- none\n")
        return path


def _app_of(label: str) -> str:
    return label.split("#", 1)[0]


def _category(section: str, app: str) -> str:
    if section.upper().startswith("SPEC"):
        return "SPEC_HPC"
    return "ML" if app in ML_APPS else "CUDA_sample"


_GPU_ORDER = {g: i for i, g in enumerate(GPU_MODELS)}

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
        raise ValueError(f"{path}: no profile rows found")
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
        raise ValueError(
            f"{path}: {len(open_jobs)} job(s) started but never ended: " + ", ".join(j["job"] for j in open_jobs)
        )
    for key in ("makespan_s", "gpu_energy_j"):
        if out[key] is None:
            raise ValueError(f"{path}: no '{'Total makespan' if key == 'makespan_s' else 'Total GPU energy'}' line")
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
        raise ValueError(f"{path}: no plan rows found")
    missing = [k for k in _PLAN_HEAD.values() if k not in head]
    if missing:
        raise ValueError(f"{path}: header lacks {', '.join(missing)}")
    df = pd.DataFrame(rows)
    for k in _PLAN_HEAD.values():
        df[k] = head[k]
    return df


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
    raise ValueError(f"no job-queue header in the sequential logs of {gpu} {WORKLOAD_DIRS[sub] or 'default'}")


def convert_ecosched(raw_dir: Path, dest: Path, progress=None) -> list[Path]:
    """Convert EcoSched originals in ``raw_dir`` (repository layout) into the CSVs in ``dest``."""
    raw_dir, dest = Path(raw_dir), Path(dest)
    notes = _Notes(progress)
    dest.mkdir(parents=True, exist_ok=True)
    written = []

    prof = pd.concat([parse_perf_metrics(raw_dir / f"{COSCHED}data/{g}/perf_metrics.txt", g) for g in GPU_MODELS])
    dup = prof.duplicated(["gpu_model", "app", "gpu_count"])
    if dup.any():
        raise ValueError(f"perf_metrics.txt: {int(dup.sum())} duplicate (gpu_model, app, gpu_count) rows")
    prof = prof.sort_values(
        ["gpu_model", "category", "app", "gpu_count"], key=lambda c: c.map(_GPU_ORDER) if c.name == "gpu_model" else c
    ).reset_index(drop=True)
    prof.to_csv(dest / "app_profiles.csv", index=False)
    written.append(dest / "app_profiles.csv")
    profiled = set(zip(prof.gpu_model, prof.app, strict=False))

    def path_of(gpu, sub, log):
        return f"{COSCHED}results/{gpu}/{sub}{log}"

    runs = {(g, s, log): parse_run_log(raw_dir / path_of(g, s, log)) for g, s, log in _ecosched_runs()}
    folders = list(dict.fromkeys((g, s) for g, s, _ in _ecosched_runs()))

    qrows, queues = [], {}
    for gpu, sub in folders:
        q = _queue_from(runs, gpu, sub, path_of, notes)
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
        srows.append(
            {
                "gpu_model": gpu,
                "workload": wl,
                "policy": policy,
                "n_jobs": len(jobs),
                "makespan_s": rec["makespan_s"],
                "gpu_energy_j": rec["gpu_energy_j"],
                "edp_js": round(rec["makespan_s"] * rec["gpu_energy_j"], 2),
                "power_samples": rec["power_samples"],
                "power_monitored_s": rec["power_monitored_s"],
                "n_jobs_logged_nonzero_exit": failed,
                **{("idle_power_w" if k == "idle_power" else k): p.get(k) for k in _PARAM_KEYS},
                "source_log": path_of(gpu, sub, log),
            }
        )
        jrows += [
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
    for (gpu, policy), n in n_failed.items():
        if n:
            notes.add(f"{gpu} {policy}: {n} job(s) logged with a non-zero exit code (counted as logged)")

    def order(df, keys):
        return df.sort_values(
            keys, key=lambda c: c.map(_GPU_ORDER) if c.name == "gpu_model" else c, kind="stable"
        ).reset_index(drop=True)

    for frame, keys, name in (
        (pd.DataFrame(qrows), ["gpu_model", "workload", "position"], "job_queues.csv"),
        (pd.DataFrame(srows), ["gpu_model", "workload", "policy"], "eval_runs_summary.csv"),
        (pd.DataFrame(jrows), ["gpu_model", "workload", "policy", "launch_order"], "eval_runs_jobs.csv"),
    ):
        order(frame, keys).to_csv(dest / name, index=False)
        written.append(dest / name)

    plans = []
    for gpu, sub in folders:
        df = parse_solver_schedule(raw_dir / path_of(gpu, sub, SOLVER_SCHEDULE))
        df.insert(0, "workload", WORKLOAD_DIRS[sub])
        df.insert(0, "gpu_model", gpu)
        plans.append(df)
    order(pd.concat(plans), ["gpu_model", "workload", "plan_order"]).to_csv(dest / "eval_solver_plans.csv", index=False)
    written.append(dest / "eval_solver_plans.csv")
    notes.add("not produced by fetch: " + ", ".join(ECOSCHED_NOT_PRODUCED))
    written.append(notes.write(dest))
    return written


# ------------------------------------------------------------------------------------------- OPEN


def _read_performance(path: Path, app: str) -> pd.DataFrame:
    """A ``<app>_performance.csv`` -> the eight columns renamed, caps as int."""
    df = pd.read_csv(_need(path))
    missing = [c for c in PERF_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
    df = df[list(PERF_COLUMNS)].rename(columns=PERF_COLUMNS)
    for c in ("cpu_cap_w", "gpu_cap_w"):
        if df[c].isna().any() or (df[c] != df[c].round()).any():
            bad = int(np.flatnonzero(df[c].isna() | (df[c] != df[c].round()))[0])
            raise ValueError(f"{path}:{bad + 2}: {c} is not a whole number of watts")
        df[c] = df[c].astype(np.int64)
    for c in list(PERF_COLUMNS.values())[2:]:
        if not pd.api.types.is_float_dtype(df[c]) and not pd.api.types.is_integer_dtype(df[c]):
            raise ValueError(f"{path}: column {c} is not numeric")
        df[c] = df[c].astype(float)
    if df.duplicated(["cpu_cap_w", "gpu_cap_w"]).any():
        raise ValueError(f"{path}: duplicate cap pairs")
    df.insert(0, "app", app)
    return df


def _read_series(path: Path, columns: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The named columns of a small per-pair time-series CSV, as float arrays."""
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = [h.strip() for h in next(reader, [])]
        missing = [c for c in columns if c not in header]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
        idx = [header.index(c) for c in columns]
        values = []
        for lineno, row in enumerate(reader, 2):
            if not row:
                continue
            try:
                values.append([float(row[i]) for i in idx])
            except (ValueError, IndexError):
                raise _bad(path, lineno, ",".join(row), "sample row") from None
    if not values:
        raise ValueError(f"{path}: no samples")
    arr = np.asarray(values, dtype=float)
    return {c: arr[:, k] for k, c in enumerate(columns)}


def pair_stats(cpu_power: Path, gpu_metrics: Path | None) -> dict:
    """Runtime and mean powers of one run from its CPU-power and (optional) GPU-metrics series."""
    cpu = _read_series(cpu_power, ("Time (s)", "Package Power (W)", "DRAM Power (W)"))
    pkg, dram = cpu["Package Power (W)"], cpu["DRAM Power (W)"]
    out = {
        "_runtime": float(cpu["Time (s)"][-1]),
        "cpu_pkg_power_w": round(float(pkg[pkg >= 0].mean()), 4),
        "cpu_dram_power_w": round(float(dram[dram >= 0].mean()), 4),
        "n_negative_rapl_samples_dropped": int((pkg < 0).sum() + (dram < 0).sum()),
        "gpu_power_w": np.nan,
    }
    out["runtime_s"] = round(out["_runtime"], 4)
    if gpu_metrics is not None:
        gpu = _read_series(gpu_metrics, ("Time (s)", "Power (W)"))
        out["gpu_power_w"] = round(float(gpu["Power (W)"].mean()), 4)
    return out


def _raw_columns(raw_dir: Path, folder: str, perf: pd.DataFrame, notes: _Notes, label: str) -> pd.DataFrame:
    stats = []
    n_cpu_missing = n_gpu_missing = 0
    for cpu, gpu in zip(perf["cpu_cap_w"], perf["gpu_cap_w"], strict=False):
        cpath, gpath = (raw_dir / p for p in pair_paths(folder, int(cpu), int(gpu)))
        if not cpath.exists():
            n_cpu_missing += 1
            stats.append({"_runtime": np.nan})
            continue
        if not gpath.exists():
            n_gpu_missing += 1
            notes.add(f"{label} ({cpu}, {gpu}): GPU metrics file missing; gpu_power_w left empty")
        stats.append(pair_stats(cpath, gpath if gpath.exists() else None))
    if n_cpu_missing:
        notes.add(f"{label}: {n_cpu_missing} pair(s) without a CPU-power series; their derived columns are empty")
    st = pd.DataFrame(stats, index=perf.index)
    for c in (*RAW_COLUMNS, "_runtime"):
        if c not in st:
            st[c] = np.nan
    rt = st["_runtime"]
    best = rt.min()
    ok = [
        bool(math.isclose(best / r, p, rel_tol=1e-9)) if r == r else None
        for r, p in zip(rt, perf["perf_norm"], strict=False)
    ]
    st["runtime_matches_perf_norm"] = pd.array(ok, dtype="boolean")
    st["n_negative_rapl_samples_dropped"] = st["n_negative_rapl_samples_dropped"].astype("Int64")
    n_bad = sum(v is False for v in ok)
    if n_bad:
        notes.add(f"{label}: min(runtime)/runtime differs from perf_norm in {n_bad} pair(s)")
    return st[list(RAW_COLUMNS)]


def convert_open_a100(raw_dir: Path, dest: Path, raw_series: bool = True, progress=None) -> list[Path]:
    """Convert OPEN originals in ``raw_dir`` (repository layout) into the CSVs in ``dest``.

    With ``raw_series=False`` the per-pair series are not read and the derived columns
    (``runtime_s`` … ``runtime_matches_perf_norm``) are written empty.
    """
    raw_dir, dest = Path(raw_dir), Path(dest)
    notes = _Notes(progress)
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    frames = []
    full = pd.MultiIndex.from_product([CPU_CAPS, GPU_CAPS], names=["cpu_cap_w", "gpu_cap_w"])
    for (source_set, suite, app), (table, folder) in OPEN_SOURCES.items():
        perf = _read_performance(raw_dir / table, app)
        absent = full.difference(pd.MultiIndex.from_frame(perf[["cpu_cap_w", "gpu_cap_w"]]))
        if len(absent):
            notes.add(
                f"{app}: {len(absent)} cap pair(s) missing from {table.rsplit('/', 1)[-1]}: "
                + ", ".join(f"({c}, {g})" for c, g in absent)
            )
        perf.insert(0, "suite", suite)
        perf.insert(0, "source_set", source_set)
        if raw_series:
            perf = pd.concat([perf, _raw_columns(raw_dir, folder, perf, notes, app)], axis=1)
        else:
            for c in RAW_COLUMNS:
                dtype = {"n_negative_rapl_samples_dropped": "Int64", "runtime_matches_perf_norm": "boolean"}.get(c)
                perf[c] = pd.Series(pd.NA, index=perf.index, dtype=dtype) if dtype else np.nan
        frames.append(perf)
    measured = pd.concat(frames).sort_values(["source_set", "app", "cpu_cap_w", "gpu_cap_w"]).reset_index(drop=True)
    if raw_series:
        neg = int(measured["n_negative_rapl_samples_dropped"].sum())
        if neg:
            notes.add(f"{neg} negative RAPL samples dropped from the CPU power means")
    else:
        notes.add(
            "raw per-pair series not used: runtime_s, cpu/gpu power, n_negative_rapl_samples_dropped and "
            "runtime_matches_perf_norm are empty"
        )
    measured.to_csv(dest / "dual_cap_measured.csv", index=False)
    written.append(dest / "dual_cap_measured.csv")

    val = pd.concat([_read_performance(raw_dir / p, a) for a, p in ALTIS_VALIDATION.items()])
    val = val.sort_values(["app", "cpu_cap_w", "gpu_cap_w"]).reset_index(drop=True)
    val.to_csv(dest / "dual_cap_altis_validation_counters.csv", index=False)
    written.append(dest / "dual_cap_altis_validation_counters.csv")
    key = ["app", "cpu_cap_w", "gpu_cap_w"]
    train = measured[measured.source_set == "altis_train"][[*key, "perf_norm"]]
    cmp_ = val[[*key, "perf_norm"]].merge(train, on=key, how="left", suffixes=("", "_train"))
    n_diff = int((cmp_["perf_norm"] != cmp_["perf_norm_train"]).sum())
    if n_diff:
        notes.add(f"Altis validation: perf_norm differs from altis_train in {n_diff} row(s)")

    written.append(_convert_matrix(raw_dir / PERF_MATRIX, measured, dest, notes))
    written.append(notes.write(dest))
    return written


_PAIR = re.compile(r"^\(\s*(\d+)\s*,\s*(\d+)\s*\)$")


def _convert_matrix(path: Path, measured: pd.DataFrame, dest: Path, notes: _Notes) -> Path:
    mat = pd.read_csv(_need(path), index_col=0)
    pairs = []
    for i, label in enumerate(mat.index):
        m = _PAIR.match(str(label).strip())
        if not m:
            raise ValueError(f"{path}:{i + 2}: cannot parse cap pair {label!r} (expected '(cpu, gpu)')")
        pairs.append((int(m[1]), int(m[2])))
    missing = [a for a in ECP_APPS if a not in mat.columns]
    if missing:
        raise ValueError(f"{path}: no column for {', '.join(missing)}")
    extra = [c for c in mat.columns if c not in ECP_APPS and c not in ALTIS_APPS]
    if extra:
        notes.add(
            f"performance_matrix.csv: column(s) {', '.join(extra)} not converted (neither Altis nor the 10 ECP/ML apps)"
        )
    idx = pd.MultiIndex.from_tuples(pairs, names=["cpu_cap_w", "gpu_cap_w"])
    altis = measured[measured.source_set == "altis_train"].set_index(["app", "cpu_cap_w", "gpu_cap_w"])["perf_norm"]
    n_alt_diff = 0
    for a in ALTIS_APPS:
        if a in mat.columns:
            ref = altis.xs(a, level="app").reindex(idx)
            n_alt_diff += int((mat[a].to_numpy(float) != ref.to_numpy(float)).sum())
    if n_alt_diff:
        notes.add(f"performance_matrix.csv: {n_alt_diff} Altis entries differ from the measured altis_train values")
    meas = measured[measured.source_set == "ecp_validation"].set_index(["app", "cpu_cap_w", "gpu_cap_w"])["perf_norm"]
    rows = []
    for a in ECP_APPS:
        ref = meas.xs(a, level="app").reindex(idx) if a in meas.index.get_level_values(0) else pd.Series(np.nan, idx)
        rows.append(
            pd.DataFrame(
                {
                    "app": a,
                    "cpu_cap_w": [c for c, _ in pairs],
                    "gpu_cap_w": [g for _, g in pairs],
                    "predicted_perf_norm": mat[a].to_numpy(float),
                    "measured_perf_norm": ref.to_numpy(float),
                }
            )
        )
    pred = pd.concat(rows).sort_values(["app", "cpu_cap_w", "gpu_cap_w"]).reset_index(drop=True)
    n_unmeasured = int(pred["measured_perf_norm"].isna().sum())
    if n_unmeasured:
        notes.add(f"dual_cap_predicted_not_measured.csv: {n_unmeasured} predicted pair(s) have no measurement")
    out = dest / "dual_cap_predicted_not_measured.csv"
    pred.to_csv(out, index=False)
    return out
