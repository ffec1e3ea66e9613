"""One cell of a sweep: load (once per process), simulate, measure; never raises.

A cell's row holds its axis values, ``status`` (``ok`` or ``failed``), ``error`` (one line, for a
failed cell), the metrics of ``compare`` (averaged over the cell's windows when the grid has
windows) and ``cell_seconds`` (wall time of the cell in its worker, loading included).  Traces,
machines and resolved policies are cached per worker process, so a worker that runs many cells
reads each trace once.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict
from functools import lru_cache

from schedlab.distributed.grid import Cell, SweepGrid

#: a cell's row without metrics: its axes, then these
STATUS_COLUMNS = ("status", "error", "cell_seconds")
#: fault injection for the executors' tests: "FILE:POLICY" makes the worker running a cell of
#: that policy exit at once, the first time only (FILE records that it happened)
CRASH_ONCE = "SCHEDLAB_SWEEP_CRASH_ONCE"


@lru_cache(maxsize=16)
def _trace(trace: str):
    from schedlab.workload import load_trace

    return load_trace(trace)


@lru_cache(maxsize=16)
def _cluster(spec: str):
    from schedlab.cluster import load_cluster

    return load_cluster(spec) if spec else None


@lru_cache(maxsize=64)
def _policy(spec: str):
    from schedlab.policies import resolve

    return resolve(spec)


def cell_workload(cell: Cell, workload=None):
    """The cell's trace (``workload`` when given: a copy shipped by the executor), load-scaled."""
    wl = workload if workload is not None else _trace(cell.trace)
    return wl.scale_load(cell.load_scale) if cell.load_scale != 1.0 else wl


def run_cell(cell: Cell, grid: SweepGrid, workload=None, machine=None) -> dict:
    """The row of ``cell`` (see the module docstring); an error becomes a failed row.  ``workload``
    and ``machine``: the cell's trace and machine when the executor ships them (else loaded here)."""
    t0 = time.perf_counter()
    _maybe_crash(cell)
    row = {**asdict(cell), "status": "ok", "error": ""}
    try:
        row.update(_measure(cell, grid, workload, machine))
    except Exception as exc:
        row.update(status="failed", error=f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    row["cell_seconds"] = time.perf_counter() - t0
    return row


def _maybe_crash(cell: Cell) -> None:
    spec = os.environ.get(CRASH_ONCE, "")
    path, _, policy = spec.rpartition(":")
    if path and cell.policy == policy:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return
        os.close(fd)
        os._exit(3)


def _measure(cell: Cell, grid: SweepGrid, workload, machine) -> dict:
    import numpy as np

    from schedlab.simulator import SimConfig
    from schedlab.simulator.compare import REPORTED, metrics_of
    from schedlab.simulator.run import simulate

    wl = cell_workload(cell, workload)
    cfg = SimConfig(
        policy=_policy(cell.policy),
        backfill=cell.backfill,
        estimates=cell.estimates,
        cluster=machine if machine is not None else _cluster(cell.cluster),
    )
    if grid.windows:
        parts = [wl.window(int(s), grid.window_len) for s in wl.window_starts(grid.windows, grid.window_len, cell.seed)]
    else:
        parts = [wl]
    per = [metrics_of(simulate(part, cfg), grid.tau) for part in parts]
    return {k: float(np.mean([m[k] for m in per])) for k in REPORTED if k in per[0]}


__all__ = ["STATUS_COLUMNS", "cell_workload", "run_cell"]
