"""Measured per-application GPU profiles: what each job costs at each GPU count.

EcoSched profiled every app on one 4-GPU node at 1-4 GPUs (``ecosched/app_profiles.csv``).  Its
power column is the mean over the **first 15 s** of activity, which overstates whole-run power for
apps whose power falls after warm-up (on H100 a replay with it overestimates the logged energy of
every evaluation run by 19-38%).  The same runs were sampled for their whole length
(``gpu_timeseries.csv.gz``), so schedlab calibrates from measurement, not with a fitted factor:

* ``power="run"`` (default): a mode's active power is its **whole-run mean power**, the trapezoidal
  integral of every used GPU's sampled power divided by the sampled duration.  Modes without a time
  series keep the 15 s value and are counted in :attr:`AppTable.calibration`.
* ``power="window"``: the 15 s value, as EcoSched's own model uses it.

:func:`schedlab.energy.node.replay_logged` checks the calibration against the 66 logged evaluation
runs (the README reports the residuals).  Runtimes are the profiled runtimes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from schedlab.datasets import find_dataset
from schedlab.errors import ProfileError

PROFILES_FILE = "app_profiles.csv"
TIMESERIES_FILE = "gpu_timeseries.csv.gz"
QUEUES_FILE = "job_queues.csv"
GPU_MODELS = ("V100", "A100", "H100")


def ecosched_dir(data_dir: Path | None = None) -> Path:
    return find_dataset(
        "ecosched", [PROFILES_FILE, QUEUES_FILE], data_dir, "run `schedlab data fetch ecosched` or pass --data-dir"
    )


@dataclass(frozen=True)
class Mode:
    """One way to run an app: on ``gpu_count`` GPUs, taking ``runtime_s`` at ``power_w`` (all GPUs)."""

    app: str
    gpu_count: int
    runtime_s: float
    power_w: float  # active power of the job's GPUs together (calibrated)
    window_power_w: float  # EcoSched's 15 s profiling-window value (what its estimates use)
    dram_active_sum: float
    sm_clock_sum_mhz: float
    fp_active_sum: float

    @property
    def energy_j(self) -> float:
        return self.power_w * self.runtime_s


@dataclass
class AppTable:
    """Every profiled mode of every app on one GPU model, plus the node's idle power per GPU."""

    gpu_model: str
    modes: dict[str, dict[int, Mode]]
    idle_w_per_gpu: float
    n_gpus: int = 4
    calibration: dict = field(default_factory=dict)

    def apps(self) -> list[str]:
        return sorted(self.modes)

    def of(self, app: str) -> dict[int, Mode]:
        try:
            return self.modes[app]
        except KeyError:
            raise ProfileError(
                f"no {self.gpu_model} profile for app {app!r}; profiled apps: " + ", ".join(self.apps())
            ) from None

    def fastest(self, app: str) -> Mode:
        return min(self.of(app).values(), key=lambda m: (m.runtime_s, m.gpu_count))

    def largest(self, app: str) -> Mode:
        return self.of(app)[max(self.of(app))]


def base_app(job: str) -> str:
    """``vgg16#3`` -> ``vgg16``: queue labels carry ``#k`` for repeated apps."""
    return job.split("#", 1)[0]


def _run_power(ts: pd.DataFrame) -> pd.Series:
    """Whole-run mean power (W, all used GPUs) per (app, gpu_count) from the sampled series."""
    ts = ts.sort_values(["app", "gpu_count", "gpu", "time_s"])
    out = {}
    for (app, g), run in ts.groupby(["app", "gpu_count"], sort=False):
        total = 0.0
        for _, one in run.groupby("gpu", sort=False):
            t = one["time_s"].to_numpy(float)
            p = one["power_w"].to_numpy(float)
            if len(t) < 2 or t[-1] <= t[0]:
                total = np.nan
                break
            total += np.trapezoid(p, t) / (t[-1] - t[0])
        out[(app, int(g))] = total
    return pd.Series(out, dtype=float)


def load_app_table(gpu_model: str = "H100", power: str = "run", data_dir: Path | None = None) -> AppTable:
    """The profile table of one GPU model, with active power calibrated as the module docstring says."""
    gpu_model = str(gpu_model).upper()
    if gpu_model not in GPU_MODELS:
        raise ProfileError(f"unknown GPU model {gpu_model!r}; profiled: {', '.join(GPU_MODELS)}")
    if power not in ("run", "window"):
        raise ProfileError(f"power must be 'run' or 'window', not {power!r}")
    folder = ecosched_dir(data_dir)
    prof = pd.read_csv(folder / PROFILES_FILE)
    need = {
        "gpu_model",
        "app",
        "gpu_count",
        "runtime_s",
        "total_power_w",
        "dram_active_sum",
        "sm_clock_sum_mhz",
        "fp_active_sum",
        "idle_power_w_per_gpu",
    }
    if missing := need - set(prof.columns):
        raise ProfileError(f"{folder / PROFILES_FILE} lacks columns {sorted(missing)}")
    prof = prof[prof["gpu_model"] == gpu_model]
    run_power = pd.Series(dtype=float)
    if power == "run" and (folder / TIMESERIES_FILE).exists():
        ts = pd.read_csv(folder / TIMESERIES_FILE)
        ts = ts[(ts["gpu_model"] == gpu_model) & (ts["variant"] == "current")]
        run_power = _run_power(ts)
    modes: dict[str, dict[int, Mode]] = {}
    n_run = n_window = 0
    for r in prof.itertuples(index=False):
        g = int(r.gpu_count)
        p = float(run_power.get((r.app, g), np.nan)) if power == "run" else np.nan
        if np.isfinite(p) and p > 0:
            n_run += 1
        else:
            p = float(r.total_power_w)
            n_window += 1
        modes.setdefault(r.app, {})[g] = Mode(
            r.app,
            g,
            float(r.runtime_s),
            p,
            float(r.total_power_w),
            float(r.dram_active_sum),
            float(r.sm_clock_sum_mhz),
            float(r.fp_active_sum),
        )
    if not modes:
        raise ProfileError(f"no {gpu_model} rows in {folder / PROFILES_FILE}")
    idle = float(prof["idle_power_w_per_gpu"].iloc[0])
    cal = {"power": power, "modes_whole_run_power": n_run, "modes_window_power": n_window}
    return AppTable(gpu_model, modes, idle, calibration=cal)


def load_queue(gpu_model: str = "H100", queue: str = "default", data_dir: Path | None = None) -> list[str]:
    """Job labels of an evaluation queue, head first (all arrive at t = 0).

    ``queue`` is a workload name of ``job_queues.csv`` (default, low_opp, med_opp, high_opp, ...) or
    a comma-separated list of app names.
    """
    if "," in queue or queue.endswith(".txt"):
        jobs = [j.strip() for j in (Path(queue).read_text().split() if queue.endswith(".txt") else queue.split(","))]
        jobs = [j for j in jobs if j]
        if not jobs:
            raise ProfileError("empty job list")
        return _label_duplicates(jobs)
    q = pd.read_csv(ecosched_dir(data_dir) / QUEUES_FILE)
    q = q[(q["gpu_model"] == str(gpu_model).upper()) & (q["workload"] == queue)]
    if q.empty:
        known = sorted(
            pd.read_csv(ecosched_dir(data_dir) / QUEUES_FILE).query("gpu_model == @gpu_model")["workload"].unique()
        )
        raise ProfileError(
            f"no queue {queue!r} for {gpu_model}; known: {', '.join(known)} (or pass a comma-separated list of apps)"
        )
    return _label_duplicates(q.sort_values("position")["app"].tolist())


def _label_duplicates(apps: list[str]) -> list[str]:
    """Give repeated apps distinct labels (``vgg16#1``, ``vgg16#2``, ...), leave single ones bare."""
    bases = [base_app(a) for a in apps]
    total, seen, out = Counter(bases), Counter(), []
    for b in bases:
        seen[b] += 1
        out.append(f"{b}#{seen[b]}" if total[b] > 1 else b)
    return out
