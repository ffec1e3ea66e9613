"""OPEN's data: the measured app x (CPU cap, GPU cap) matrix, the authors' predictions, the accuracy."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from schedlab.datasets import find_dataset
from schedlab.errors import OpenError, UnknownApp

MEASURED_FILE = "dual_cap_measured.csv"
PREDICTED_FILE = "dual_cap_predicted_not_measured.csv"
COUNTERS = ("mem_throughput_norm", "sm_clock_norm", "dram_active_norm", "fp_active_norm")
MODES = ("counters", "runtime")
MLP_EPOCHS = 750  # training epochs of each network of OPEN's MLP ensemble
MLP_MODELS = 5  # networks in the ensemble


@dataclass
class DualCapData:
    """The app x pair matrix.  Pair ``k`` is ``pairs[k] = (cpu_cap_w, gpu_cap_w)``, CPU-major.

    ``perf`` is (A, P) measured ``perf_norm`` with NaN where a pair was not measured; ``counters``
    is (A, P, 4) in :data:`COUNTERS` order.  ``anchor`` is the index of the max-cap pair.
    """

    apps: list[str]
    suites: list[str]
    pairs: np.ndarray
    perf: np.ndarray
    counters: np.ndarray

    def __post_init__(self):
        self.pairs = np.asarray(self.pairs, dtype=np.int64)
        self.perf = np.asarray(self.perf, dtype=np.float64)
        self.counters = np.asarray(self.counters, dtype=np.float64)
        a, p = len(self.apps), len(self.pairs)
        if self.perf.shape != (a, p) or self.counters.shape != (a, p, len(COUNTERS)):
            raise OpenError(
                f"shapes do not match: {a} apps, {p} pairs, perf {self.perf.shape}, counters {self.counters.shape}"
            )
        if np.isnan(self.perf[:, self.anchor]).any():
            bad = [self.apps[i] for i in np.flatnonzero(np.isnan(self.perf[:, self.anchor]))]
            raise OpenError(f"the max-cap anchor pair is not measured for {', '.join(bad)}")

    @property
    def anchor(self) -> int:
        return int(np.argmax(self.pairs[:, 0] * 10_000 + self.pairs[:, 1]))

    @property
    def cpu_caps(self) -> np.ndarray:
        return np.unique(self.pairs[:, 0])

    @property
    def gpu_caps(self) -> np.ndarray:
        return np.unique(self.pairs[:, 1])

    def index(self, app: str) -> int:
        if app not in self.apps:
            raise UnknownApp(f"unknown app {app!r}; known: {', '.join(self.apps)}")
        return self.apps.index(app)

    def available(self, i: int) -> np.ndarray:
        """Indices of the pairs measured for app ``i``."""
        return np.flatnonzero(~np.isnan(self.perf[i]))

    def subset(self, apps) -> DualCapData:
        idx = [self.index(a) for a in apps]
        return DualCapData(
            [self.apps[i] for i in idx], [self.suites[i] for i in idx], self.pairs, self.perf[idx], self.counters[idx]
        )

    @classmethod
    def from_frame(cls, df: pd.DataFrame) -> DualCapData:
        """Long table (one row per app and pair) -> matrix.  Missing pairs become NaN."""
        need = {"app", "cpu_cap_w", "gpu_cap_w", "perf_norm", *COUNTERS}
        if missing := need - set(df.columns):
            raise OpenError(f"dual-cap table lacks columns {sorted(missing)}")
        if df.duplicated(["app", "cpu_cap_w", "gpu_cap_w"]).any():
            raise OpenError("dual-cap table has more than one row for some (app, cpu_cap_w, gpu_cap_w)")
        apps = list(dict.fromkeys(df["app"]))
        cpus, gpus = np.unique(df["cpu_cap_w"]), np.unique(df["gpu_cap_w"])
        pairs = np.array([(c, g) for c in cpus for g in gpus], dtype=np.int64)
        ai = pd.Index(apps).get_indexer(df["app"])
        pi = np.searchsorted(cpus, df["cpu_cap_w"].to_numpy()) * len(gpus) + np.searchsorted(
            gpus, df["gpu_cap_w"].to_numpy()
        )
        perf = np.full((len(apps), len(pairs)), np.nan)
        perf[ai, pi] = df["perf_norm"].to_numpy(dtype=float)
        ctr = np.full((len(apps), len(pairs), len(COUNTERS)), np.nan)
        ctr[ai, pi] = df[list(COUNTERS)].to_numpy(dtype=float)
        suite = (
            df.groupby("app", sort=False)["suite"].first().reindex(apps).tolist()
            if "suite" in df
            else ["?"] * len(apps)
        )
        return cls(apps, suite, pairs, perf, ctr)

    def to_frame(self) -> pd.DataFrame:
        a, p = self.perf.shape
        out = pd.DataFrame(
            {
                "app": np.repeat(self.apps, p),
                "cpu_cap_w": np.tile(self.pairs[:, 0], a),
                "gpu_cap_w": np.tile(self.pairs[:, 1], a),
                "perf_norm": self.perf.ravel(),
            }
        )
        for k, c in enumerate(COUNTERS):
            out[c] = self.counters[:, :, k].ravel()
        return out.dropna(subset=["perf_norm"]).reset_index(drop=True)


def open_dir(data_dir: Path | None = None) -> Path:
    return find_dataset("open_a100", [MEASURED_FILE], data_dir)


def load_dual_cap(data_dir: Path | None = None) -> DualCapData:
    """The measured matrix (raises :class:`DataNotFound` with where it looked)."""
    return DualCapData.from_frame(pd.read_csv(open_dir(data_dir) / MEASURED_FILE))


def load_authors_predictions(data: DualCapData, data_dir: Path | None = None) -> dict[str, np.ndarray]:
    """The authors' *predicted* rows (10 ECP/ML apps), aligned with ``data.pairs``; compared against only."""
    df = pd.read_csv(open_dir(data_dir) / PREDICTED_FILE)
    key = {(int(c), int(g)): k for k, (c, g) in enumerate(data.pairs)}
    out = {}
    for app, g in df.groupby("app", sort=False):
        row = np.full(len(data.pairs), np.nan)
        row[[key[(int(c), int(w))] for c, w in zip(g["cpu_cap_w"], g["gpu_cap_w"], strict=False)]] = g[
            "predicted_perf_norm"
        ]
        out[str(app)] = row
    return out


def accuracy(pred, measured) -> float:
    """100 - MAPE (%) over the entries where both are known."""
    pred, measured = np.asarray(pred, float), np.asarray(measured, float)
    ok = ~(np.isnan(pred) | np.isnan(measured))
    if not ok.any():
        return float("nan")
    return float(100.0 - 100.0 * np.mean(np.abs(pred[ok] - measured[ok]) / measured[ok]))
