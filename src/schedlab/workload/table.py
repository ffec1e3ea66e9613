"""The columnar job table every other part of schedlab reads.

One numpy array per attribute (no Python object per job), sorted by submit time, submit
times relative to the first job.  Windows and load-scaled copies are new ``Workload``s that
share nothing mutable with the original.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from schedlab.errors import SchedlabError
from schedlab.workload.cleaning_report import CleaningReport
from schedlab.workload.resources import JobResources

_ARRAYS = ("job_id", "submit", "run", "req_time", "procs", "user", "raw_submit", "status")


#: the largest load scale (inter-arrival gaps x 1,000: a trace of a year spread over a millennium)
MAX_LOAD_SCALE = 1000.0


@dataclass
class Workload:
    """A cleaned trace: jobs sorted by submit time.

    Attributes (all numpy arrays of one length):
      job_id      SWF job number (int64)
      submit      submit time in seconds, relative to the first job of the trace (float64)
      run         actual runtime in seconds, > 0 (float64)
      req_time    requested time (walltime estimate) in seconds, > 0 (float64)
      procs       processors the job uses, 1..max_procs (int64)
      user        user id, -1 if unknown (int64)
      raw_submit  submit time as written in the file (float64; some peers score on it)
      status      SWF status field (int64)
    Machine: ``max_procs`` processors on ``max_nodes`` nodes.
    """

    name: str
    job_id: np.ndarray
    submit: np.ndarray
    run: np.ndarray
    req_time: np.ndarray
    procs: np.ndarray
    user: np.ndarray
    raw_submit: np.ndarray
    status: np.ndarray
    max_procs: int
    max_nodes: int
    unix_start: int | None = None
    cleaning: CleaningReport = field(default_factory=CleaningReport)
    rules: str = "textbook"
    #: (the trace this window was cut from, index of its first job): what came before it
    origin: tuple | None = field(default=None, repr=False, compare=False)
    #: multi-resource requests (nodes, CPUs/GPUs/memory per node, partition, QOS, account), or
    #: None for a single-resource trace (SWF: ``procs`` only)
    resources: JobResources | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = len(self.job_id)
        for name in _ARRAYS:
            arr = getattr(self, name)
            if len(arr) != n:
                raise SchedlabError(f"Workload column {name} has {len(arr)} rows, expected {n}")
        if self.resources is not None and len(self.resources) != n:
            raise SchedlabError(f"Workload resources have {len(self.resources)} rows, expected {n}")

    def __len__(self) -> int:
        return len(self.job_id)

    def node_counts(self) -> np.ndarray:
        """Whole nodes each job needs: ``ceil(procs / (max_procs / max_nodes))``."""
        return np.ceil(self.procs * self.max_nodes / self.max_procs - 1e-9).astype(np.int64).clip(1)

    # -- derived copies ------------------------------------------------------------------
    def subset(self, index: np.ndarray | slice, name: str | None = None, rebase: bool = True) -> Workload:
        """A new workload of the selected jobs (kept in submit order); submits re-based to 0."""
        cols = {k: np.array(getattr(self, k)[index]) for k in _ARRAYS}
        if rebase and len(cols["submit"]):
            cols["submit"] = cols["submit"] - cols["submit"][0]
        res = None if self.resources is None else self.resources.take(index)
        return replace(self, name=name or self.name, resources=res, **cols)

    def window(self, start: int, length: int) -> Workload:
        """Jobs ``start .. start+length-1`` (indices into this table) as a fresh workload."""
        if start < 0 or length <= 0 or start + length > len(self):
            raise SchedlabError(f"window [{start}, {start + length}) is outside the trace's {len(self)} jobs")
        win = self.subset(slice(start, start + length), name=f"{self.name}[{start}:{start + length}]")
        return replace(win, origin=(self, start)) if start > 0 else win

    def history(self) -> dict[str, np.ndarray]:
        """The jobs of the parent trace that had ended before this window's first submit (an
        end is taken as submit + runtime, the earliest it can have been), oldest end first:
        columns user, req_time, procs, run, end (on the parent's clock).  Empty for a whole trace.

        A runtime predictor starting on a window has seen these, as a site's predictor would have.
        """
        cols = ("user", "req_time", "procs", "run")
        if self.origin is None:
            return {k: np.empty(0) for k in (*cols, "end")}
        parent, start = self.origin
        end = parent.submit[:start] + parent.run[:start]
        keep = np.flatnonzero(end <= parent.submit[start])
        keep = keep[np.argsort(end[keep], kind="stable")]
        return {**{k: getattr(parent, k)[keep] for k in cols}, "end": end[keep]}

    def window_starts(self, k: int, length: int, seed: int, lo: int = 0, hi: int | None = None) -> np.ndarray:
        """K seeded window start indices, each window of ``length`` jobs inside ``[lo, hi)``."""
        hi = len(self) if hi is None else hi
        last = hi - length
        if last < lo:
            raise SchedlabError(f"a window of {length} jobs does not fit in jobs [{lo}, {hi})")
        rng = np.random.default_rng(seed)
        return np.sort(rng.integers(lo, last + 1, size=k))

    def sample_windows(self, k: int, length: int, seed: int) -> list[Workload]:
        """K windows of ``length`` consecutive jobs at seeded random starts."""
        return [self.window(int(s), length) for s in self.window_starts(k, length, seed)]

    def scale_load(self, factor: float) -> Workload:
        """Multiply every inter-arrival gap by ``factor`` (< 1 raises the offered load)."""
        if not 0 < factor <= MAX_LOAD_SCALE:
            raise SchedlabError(f"load scaling factor must be in (0, {MAX_LOAD_SCALE:g}], got {factor}")
        sub = self.submit - self.submit[0] if len(self) else self.submit
        scaled = sub * factor
        if len(self) and not np.isfinite(scaled[-1]):
            raise SchedlabError(f"load scaling factor {factor:g} puts submit times beyond what a float can hold")
        return replace(self, submit=scaled, name=f"{self.name}*{factor:g}")

    # -- summaries -----------------------------------------------------------------------
    def stats(self) -> dict:
        """Headline statistics (used by ``schedlab traces``)."""
        n = len(self)
        if n == 0:
            return {"jobs": 0}
        span = float(self.submit[-1] - self.submit[0])
        work = float(np.sum(self.run * self.procs))
        return {
            "jobs": n,
            "max_procs": int(self.max_procs),
            "max_nodes": int(self.max_nodes),
            "span_days": span / 86400.0,
            "mean_runtime_s": float(self.run.mean()),
            "mean_req_time_s": float(self.req_time.mean()),
            "mean_procs": float(self.procs.mean()),
            "offered_load": work / (self.max_procs * span) if span > 0 else float("nan"),
            "users": len(np.unique(self.user)),
        }

    def to_frame(self):
        import pandas as pd

        cols = {k: getattr(self, k) for k in _ARRAYS}
        if self.resources is not None:
            cols.update(self.resources.to_columns())
        return pd.DataFrame(cols)
