"""Node telemetry -> an entities x time matrix on a regular grid, and the SURF Lisa readers.

Resampling (:func:`from_long`, :func:`from_wide`): the grid starts at ``start`` (default: the first
timestamp floored to ``step``) and has cells ``[start + k*step, start + (k+1)*step)``; each cell
holds the ``agg`` (mean by default) of that entity's samples in it.  A cell with no sample is NaN
and counted in ``n_missing`` / ``missing_per_entity``: gaps are never filled silently;
:meth:`TelemetryMatrix.filled` fills them when asked to (linear interpolation along time, edges
held, or zeros).  Timestamps may be datetimes (timezone-aware ones are converted to UTC; naive ones
are taken as UTC) or numbers in ``unit`` (seconds by default) since the epoch.

SURF Lisa (see ``shared/data/README.md`` section 4): ``host.parquet`` is the measured power of
the whole 277-node CPU partition (one series: the ``host`` column lists all node names in every
row), so :func:`surf_cluster_power` returns one series, not a matrix.  ``fragments.parquet`` has
per-job CPU usage in 30 s slots; :func:`surf_jobs_matrix` places job j's k-th fragment at
``submission_time + k * 30 s`` (the OpenDC trace has no separate start time: jobs start at
submission in it) and gives a jobs x time matrix in which 0 means "not running"; its ``active`` mask marks the cells
(all of whose 30 s slots) hold a fragment, for :func:`schedlab.analytics.mrdmd.score_anomalies`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from schedlab.errors import SchedlabError

SURF_WEEK_START = pd.Timestamp("2022-10-06 22:00:00", tz="UTC")


@dataclass
class TelemetryMatrix:
    """Entities x time values on a regular UTC grid; NaN where an entity had no sample."""

    values: np.ndarray
    entities: np.ndarray
    times: pd.DatetimeIndex  # left edge of each cell, UTC
    step: pd.Timedelta
    n_missing: int
    missing_per_entity: np.ndarray
    active: np.ndarray | None = None  # entities x time: the entity runs (jobs); None = always

    @property
    def shape(self):
        return self.values.shape

    def filled(self, method: str = "interpolate") -> TelemetryMatrix:
        """A copy with the gaps filled: ``"interpolate"`` (linear in time, edges held) or ``"zero"``."""
        if method not in ("interpolate", "zero"):
            raise SchedlabError(f"method must be 'interpolate' or 'zero', got {method!r}")
        v = self.values.copy()
        if method == "zero":
            v[np.isnan(v)] = 0.0
        else:
            t = np.arange(v.shape[1])
            for i in np.flatnonzero(self.missing_per_entity):
                ok = ~np.isnan(v[i])
                if not ok.any():
                    raise SchedlabError(f"entity {self.entities[i]!r} has no samples at all; cannot interpolate")
                v[i, ~ok] = np.interp(t[~ok], t[ok], v[i, ok])
        return replace(self, values=v)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.values.T, index=self.times, columns=self.entities)


def _to_utc(ts, unit: str) -> pd.DatetimeIndex:
    ts = pd.Series(ts)
    if pd.api.types.is_numeric_dtype(ts) and not pd.api.types.is_bool_dtype(ts):
        return pd.DatetimeIndex(pd.to_datetime(ts.to_numpy(), unit=unit, utc=True))
    out = pd.to_datetime(ts, errors="raise")
    out = out.dt.tz_localize("UTC") if getattr(out.dt, "tz", None) is None else out.dt.tz_convert("UTC")
    return pd.DatetimeIndex(out)


def from_long(
    df: pd.DataFrame,
    value: str,
    entity: str = "node",
    time: str = "timestamp",
    step="30s",
    agg: str = "mean",
    start=None,
    end=None,
    unit: str = "s",
) -> TelemetryMatrix:
    """Long form (one row per entity and sample) -> :class:`TelemetryMatrix` (see the module docstring)."""
    missing = [c for c in (entity, time, value) if c not in df.columns]
    if missing:
        raise SchedlabError(f"missing columns {missing}; the frame has {list(df.columns)}")
    if agg not in ("mean", "median", "max", "min", "sum", "last"):
        raise SchedlabError(f"agg must be mean/median/max/min/sum/last, got {agg!r}")
    step = pd.Timedelta(step)
    if step <= pd.Timedelta(0):
        raise SchedlabError(f"step must be positive, got {step}")
    if len(df) == 0:
        raise SchedlabError("no rows")
    t = _to_utc(df[time].to_numpy(), unit)
    v = pd.to_numeric(df[value], errors="coerce").to_numpy(dtype=float)
    start = t.min().floor(step) if start is None else _to_utc([start], unit)[0]
    end = t.max() if end is None else _to_utc([end], unit)[0]
    n_cells = int((end - start) // step) + 1
    cell = ((t - start) // step).to_numpy()
    ok = (cell >= 0) & (cell < n_cells) & np.isfinite(v)
    ents, code = np.unique(df[entity].to_numpy()[ok], return_inverse=True)
    g = pd.DataFrame({"e": code, "c": cell[ok].astype(np.int64), "v": v[ok]}).groupby(["e", "c"])["v"].agg(agg)
    out = np.full((len(ents), n_cells), np.nan)
    out[g.index.get_level_values(0), g.index.get_level_values(1)] = g.to_numpy()
    miss = np.isnan(out).sum(axis=1)
    return TelemetryMatrix(
        values=out,
        entities=ents,
        times=pd.date_range(start, periods=n_cells, freq=step),
        step=step,
        n_missing=int(miss.sum()),
        missing_per_entity=miss,
    )


def from_wide(
    df: pd.DataFrame, time: str | None = None, step="30s", agg: str = "mean", start=None, end=None, unit: str = "s"
) -> TelemetryMatrix:
    """Wide form (one column per entity; time in column ``time`` or the index) -> matrix."""
    if time is not None and time not in df.columns:
        raise SchedlabError(f"missing time column {time!r}; the frame has {list(df.columns)}")
    tcol = df[time] if time is not None else df.index.to_series()
    body = df.drop(columns=[time]) if time is not None else df
    if body.shape[1] == 0:
        raise SchedlabError("no entity columns")
    long = body.assign(_t=tcol.to_numpy()).melt(id_vars="_t", var_name="_e", value_name="_v")
    return from_long(long, value="_v", entity="_e", time="_t", step=step, agg=agg, start=start, end=end, unit=unit)


# ---------------------------------------------------------------------------------- SURF Lisa
def _surf(data_dir, rel: list[str]) -> Path:
    from schedlab.datasets import find_dataset

    return find_dataset("surf_lisa", rel, data_dir)


def surf_cluster_power(data_dir=None) -> pd.Series:
    """Measured power (W) of SURF Lisa's CPU partition, 30 s, indexed by UTC cell start."""
    root = _surf(data_dir, ["surf_week_measured_power/host.parquet"])
    h = pd.read_parquet(root / "surf_week_measured_power" / "host.parquet", columns=["timestamp", "power_draw"])
    h = h.sort_values("timestamp")
    idx = SURF_WEEK_START + pd.to_timedelta(h["timestamp"].to_numpy(), unit="ms")
    return pd.Series(h["power_draw"].to_numpy(dtype=float), index=pd.DatetimeIndex(idx, name="time"), name="power_w")


def surf_jobs_matrix(data_dir=None, min_duration: float = 3600.0, step="30s", start=None, end=None) -> TelemetryMatrix:
    """Jobs x time CPU usage (MHz) of the SURF week; jobs shorter than ``min_duration`` s dropped.

    ``step`` a multiple of 30 s averages slots (a job not running counts 0).  The grid spans the
    week (2022-10-06 22:00 UTC + 7 days) unless ``start``/``end`` say otherwise; fragments outside
    it are cut.  No cell is missing: a job that is not running uses 0 MHz.
    """
    root = _surf(data_dir, ["surf_week/tasks.parquet", "surf_week/fragments.parquet"])
    step = pd.Timedelta(step)
    k = step / pd.Timedelta("30s")
    if k < 1 or k != int(k):
        raise SchedlabError(f"step must be a multiple of 30 s, got {step}")
    k = int(k)
    tasks = pd.read_parquet(root / "surf_week" / "tasks.parquet", columns=["id", "submission_time", "duration"])
    tasks = tasks[tasks["duration"] >= min_duration * 1e3]
    if tasks.empty:
        raise SchedlabError(f"no job lasts at least {min_duration} s")
    fr = pd.read_parquet(root / "surf_week" / "fragments.parquet", columns=["id", "cpu_usage"])
    fr = fr[fr["id"].isin(tasks["id"])]
    start = (
        SURF_WEEK_START
        if start is None
        else pd.Timestamp(start).tz_convert("UTC")
        if pd.Timestamp(start).tz
        else pd.Timestamp(start, tz="UTC")
    )
    end = (
        start + pd.Timedelta(days=7)
        if end is None
        else pd.Timestamp(end).tz_convert("UTC")
        if pd.Timestamp(end).tz
        else pd.Timestamp(end, tz="UTC")
    )
    n_slots = int((end - start) // pd.Timedelta("30s"))
    ids = np.sort(tasks["id"].to_numpy())
    row = np.searchsorted(ids, fr["id"].to_numpy())
    k_in_job = fr.groupby("id").cumcount().to_numpy()  # fragments are in execution order
    sub = tasks.set_index("id").loc[ids, "submission_time"].to_numpy()
    slot0 = (sub - int(start.value // 10**6)) // 30_000
    slot = slot0[row] + k_in_job
    ok = (slot >= 0) & (slot < n_slots)
    M = np.zeros((len(ids), n_slots))
    M[row[ok], slot[ok]] = fr["cpu_usage"].to_numpy()[ok]
    A = np.zeros((len(ids), n_slots), bool)
    A[row[ok], slot[ok]] = True  # a fragment: the job runs in that slot
    n_cells = n_slots // k
    M = M[:, : n_cells * k].reshape(len(ids), n_cells, k).mean(axis=2)
    A = A[:, : n_cells * k].reshape(len(ids), n_cells, k).all(axis=2)
    keep = M.any(axis=1)
    return TelemetryMatrix(
        values=M[keep],
        entities=ids[keep],
        times=pd.date_range(start, periods=n_cells, freq=step),
        step=step,
        n_missing=0,
        missing_per_entity=np.zeros(int(keep.sum()), dtype=np.int64),
        active=A[keep],
    )
