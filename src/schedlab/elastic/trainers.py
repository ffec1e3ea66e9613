"""Elastic trainers: how fast each runs on k nodes, its node bounds, rescale costs and total work.

A :class:`TrainerSet` is columnar (one array per field, one row per trainer) and carries a
rate table ``rates[j, k]`` = samples/s of trainer j on k whole nodes, k = 0 .. max_nodes.  Rates come
from measured throughput breakpoints interpolated linearly (as BFTrainer does) or from Amdahl's law.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from schedlab.errors import TrainerError

#: Job sets of the BFTrainer data, by CLI name -> file in the ``bftrainer`` data folder.
JOB_SETS = {
    "imagenet": "trainer_jobs_imagenet_1001.csv",
    "hps": "trainer_jobs_hps_shufflenet_1000.csv",
    "hps10": "trainer_jobs_hps_shufflenet_10.csv",
}
SCALABILITY_FILE = "trainer_scalability.csv"
_JOB_COLUMNS = (
    "job_id",
    "model",
    "submit_offset_s",
    "scale_up_cost_s",
    "scale_down_cost_s",
    "min_nodes",
    "max_nodes",
    "total_work_samples",
)


def interpolated_rates(nodes: np.ndarray, throughput: np.ndarray, max_nodes: int) -> np.ndarray:
    """Samples/s at k = 0..max_nodes nodes, linear between measured breakpoints.

    Beyond the last breakpoint the rate is held flat (no extrapolated speed-up); k = 0 is 0.
    """
    nodes = np.asarray(nodes, dtype=np.float64)
    throughput = np.asarray(throughput, dtype=np.float64)
    order = np.argsort(nodes)
    nodes, throughput = nodes[order], throughput[order]
    if len(nodes) == 0 or np.any(np.diff(nodes) <= 0):
        raise TrainerError("throughput breakpoints need distinct node counts")
    if np.any(throughput < 0):
        raise TrainerError("throughput cannot be negative")
    if nodes[0] > 0:
        nodes, throughput = np.r_[0.0, nodes], np.r_[0.0, throughput]
    k = np.arange(max_nodes + 1, dtype=np.float64)
    rates = np.interp(k, nodes, throughput)
    rates[0] = 0.0
    return rates


def amdahl_rates(rate_one_node: float, parallel_fraction: float, max_nodes: int) -> np.ndarray:
    """Samples/s at k nodes under Amdahl's law: r1 / ((1 - p) + p / k)."""
    if not 0.0 <= parallel_fraction <= 1.0:
        raise TrainerError(f"Amdahl parallel fraction must be in [0, 1] (got {parallel_fraction})")
    k = np.arange(1, max_nodes + 1, dtype=np.float64)
    return np.r_[0.0, rate_one_node / ((1.0 - parallel_fraction) + parallel_fraction / k)]


@dataclass
class TrainerSet:
    """Trainers in submission order.

    submit       seconds on the idle trace's clock
    scale_up / scale_down  seconds a trainer stalls (makes no progress) when it grows / shrinks
    min_nodes / max_nodes  it runs on 0 nodes or on min..max nodes
    work         samples to process before it is done
    rates        (n, max(max_nodes)+1) samples/s on k nodes; rates[:, 0] == 0
    """

    job_id: np.ndarray
    model: np.ndarray
    submit: np.ndarray
    scale_up: np.ndarray
    scale_down: np.ndarray
    min_nodes: np.ndarray
    max_nodes: np.ndarray
    work: np.ndarray
    rates: np.ndarray
    weight: np.ndarray | None = None
    name: str = "trainers"

    def __post_init__(self):
        n = len(self.job_id)
        if self.weight is None:
            self.weight = np.ones(n)
        self.submit = np.asarray(self.submit, dtype=np.float64)
        self.min_nodes = np.asarray(self.min_nodes, dtype=np.int64)
        self.max_nodes = np.asarray(self.max_nodes, dtype=np.int64)
        for field in ("scale_up", "scale_down", "work", "weight"):
            setattr(self, field, np.asarray(getattr(self, field), dtype=np.float64))
        self.validate()

    def __len__(self) -> int:
        return len(self.job_id)

    def validate(self) -> None:
        n = len(self.job_id)
        for field in ("model", "submit", "scale_up", "scale_down", "min_nodes", "max_nodes", "work", "weight"):
            if len(getattr(self, field)) != n:
                raise TrainerError(f"trainer field {field!r} has {len(getattr(self, field))} values for {n} trainers")
        if n == 0:
            raise TrainerError("the trainer set is empty")
        bad = np.flatnonzero((self.min_nodes < 1) | (self.max_nodes < self.min_nodes))
        if len(bad):
            j = bad[0]
            raise TrainerError(
                f"trainer {self.job_id[j]}: node bounds [{self.min_nodes[j]}, {self.max_nodes[j]}] "
                f"are impossible (need 1 <= min_nodes <= max_nodes); {len(bad)} trainer(s) affected"
            )
        for field in ("scale_up", "scale_down"):
            if np.any(~np.isfinite(getattr(self, field)) | (getattr(self, field) < 0)):
                raise TrainerError(f"{field} costs must be finite seconds >= 0")
        if np.any(~(self.work > 0)):
            raise TrainerError("every trainer needs total work > 0 samples")
        if np.any(~(self.weight > 0)):
            raise TrainerError("trainer weights must be > 0")
        if self.rates.shape != (n, int(self.max_nodes.max()) + 1):
            raise TrainerError(
                f"rate table has shape {self.rates.shape}, expected {(n, int(self.max_nodes.max()) + 1)}"
            )
        if np.any(self.rates[:, 0] != 0) or np.any(self.rates < 0):
            raise TrainerError("rates must be >= 0 and 0 on 0 nodes")
        runs = self.rates[np.arange(n), self.min_nodes]
        if np.any(runs <= 0):
            j = int(np.flatnonzero(runs <= 0)[0])
            raise TrainerError(
                f"trainer {self.job_id[j]} makes no progress at its minimum of {self.min_nodes[j]} nodes"
            )

    def subset(self, index) -> TrainerSet:
        index = np.asarray(index)
        kmax = int(self.max_nodes[index].max()) + 1
        return TrainerSet(
            self.job_id[index],
            self.model[index],
            self.submit[index],
            self.scale_up[index],
            self.scale_down[index],
            self.min_nodes[index],
            self.max_nodes[index],
            self.work[index],
            self.rates[index, :kmax],
            self.weight[index],
            self.name,
        )

    def shift_submit(self, offset: float) -> TrainerSet:
        """The same trainers submitted ``offset`` seconds later (to start a job set at another time)."""
        out = self.subset(np.arange(len(self)))
        out.submit = out.submit + offset
        return out

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "job_id": self.job_id,
                "model": self.model,
                "submit_s": self.submit,
                "scale_up_cost_s": self.scale_up,
                "scale_down_cost_s": self.scale_down,
                "min_nodes": self.min_nodes,
                "max_nodes": self.max_nodes,
                "total_work_samples": self.work,
                "weight": self.weight,
            }
        )


def _read_csv(path: Path) -> pd.DataFrame:
    """``pd.read_csv``; a file that does not parse as CSV is a :class:`TrainerError` (pandas' message)."""
    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise TrainerError(str(exc)) from exc


def read_scalability(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``trainer_scalability.csv`` -> model -> (node breakpoints, samples/s)."""
    df = _read_csv(path)
    missing = {"model", "nodes", "throughput_samples_per_s"} - set(df.columns)
    if missing:
        raise TrainerError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
    return {
        m: (g["nodes"].to_numpy(np.float64), g["throughput_samples_per_s"].to_numpy(np.float64))
        for m, g in df.groupby("model", sort=False)
    }


def read_trainers(jobs_path: Path, scalability_path: Path, name: str | None = None) -> TrainerSet:
    """A BFTrainer job file (``trainer_jobs_*.csv``) with the throughput table of each model."""
    jobs = _read_csv(jobs_path)
    missing = set(_JOB_COLUMNS) - set(jobs.columns)
    if missing:
        raise TrainerError(f"{jobs_path}: missing column(s) {', '.join(sorted(missing))}")
    if jobs[list(_JOB_COLUMNS)].isna().any().any():
        raise TrainerError(f"{jobs_path}: empty fields in the trainer table")
    tables = read_scalability(scalability_path)
    unknown = sorted(set(jobs["model"]) - set(tables))
    if unknown:
        raise TrainerError(
            f"{jobs_path}: unknown model(s) {', '.join(unknown)}; {scalability_path.name} has {', '.join(tables)}"
        )
    jobs = jobs.sort_values("submit_offset_s", kind="stable").reset_index(drop=True)
    kmax = int(jobs["max_nodes"].max())
    per_model = {m: interpolated_rates(*tables[m], kmax) for m in jobs["model"].unique()}
    rates = np.stack([per_model[m] for m in jobs["model"]])
    return TrainerSet(
        job_id=jobs["job_id"].astype(str).to_numpy(),
        model=jobs["model"].astype(str).to_numpy(),
        submit=jobs["submit_offset_s"].to_numpy(),
        scale_up=jobs["scale_up_cost_s"].to_numpy(),
        scale_down=jobs["scale_down_cost_s"].to_numpy(),
        min_nodes=jobs["min_nodes"].to_numpy(),
        max_nodes=jobs["max_nodes"].to_numpy(),
        work=jobs["total_work_samples"].to_numpy(),
        rates=rates,
        name=name or Path(jobs_path).stem,
    )


def load_job_set(name_or_path: str, data_dir: Path | None = None) -> TrainerSet:
    """``imagenet``, ``hps`` or ``hps10`` from the BFTrainer data, or a path to a job CSV in its format."""
    from schedlab.elastic.data import bftrainer_dir

    path = Path(name_or_path)
    if name_or_path in JOB_SETS:
        folder = bftrainer_dir(data_dir)
        return read_trainers(folder / JOB_SETS[name_or_path], folder / SCALABILITY_FILE, name=name_or_path)
    if path.exists():
        scal = path.with_name(SCALABILITY_FILE)
        if not scal.exists():
            scal = bftrainer_dir(data_dir) / SCALABILITY_FILE
        return read_trainers(path, scal)
    raise TrainerError(f"no trainer set {name_or_path!r}: use {', '.join(JOB_SETS)} or a trainer_jobs CSV path")
