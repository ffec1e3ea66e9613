"""A 200-cell sweep serially, in processes and on a local Ray, side by side in one run.

    .venv/bin/python benchmarks/bench_sweep.py    # writes benchmarks/results/sweep.json

The grid: CEA-Curie (../shared/traces; theta_2022 when absent) x 10 queue policies x {none, easy}
x 5 load scales x 2 seeds, each cell 4 windows of 20,000 jobs: 200 cells.  Each executor runs it in
a fresh folder; the tables must be identical (timings aside).  The per-task overhead of Ray is
measured on a second grid of 200 trivial cells (one 50-job window): (wall - Ray's start and stop)
x workers / cells.  From the measured mean cell time and overhead it estimates a 10,000-cell sweep
of these cells on 16 nodes of 16 cores.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from schedlab.distributed import SweepGrid, run_sweep

ROOT = Path(__file__).resolve().parent.parent
CURIE = ROOT.parent / "shared" / "traces" / "CEA-Curie-2011-2.1-cln.swf.gz"
POLICIES = ("fcfs", "sjf", "ljf", "saf", "f1", "f2", "f3", "f4", "wfp3", "unicep")
TIMINGS = ("cell_seconds", "sim_seconds")


def timed(grid, executor, workers):
    out = Path(tempfile.mkdtemp()) / "sweep"
    t0 = time.perf_counter()
    res = run_sweep(grid, out, executor, workers=workers)
    wall = time.perf_counter() - t0
    shutil.rmtree(out.parent, ignore_errors=True)
    return res.table, wall


def ray_start_stop(workers: int) -> float:
    import ray

    os.environ.setdefault("RAY_enable_metrics_collection", "0")
    t0 = time.perf_counter()
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, configure_logging=False)
    ray.shutdown()
    return time.perf_counter() - t0


def main() -> None:
    workers = os.cpu_count() or 2
    trace = str(CURIE) if CURIE.exists() else "theta_2022"
    wlen = 20_000 if CURIE.exists() else 4_096
    grid = SweepGrid(traces=(trace,), policies=POLICIES, backfills=("none", "easy"),
                     load_scales=(0.7, 0.8, 0.9, 1.0, 1.1), seeds=(0, 1), windows=4, window_len=wlen)  # fmt: skip
    rows, tables = [], {}
    for ex in ("serial", "processes", "ray"):
        table, wall = timed(grid, ex, workers)
        tables[ex] = table.drop(columns=[c for c in TIMINGS if c in table])
        mean_cell = float(table["cell_seconds"].mean())
        failed = int((table.status != "ok").sum())
        rows.append({"executor": ex, "cells": len(table), "wall_s": wall, "mean_cell_s": mean_cell, "failed": failed})
        print(f"{ex:<10} {len(table)} cells  wall {wall:7.1f} s  mean cell {rows[-1]['mean_cell_s']:.3f} s", flush=True)
    identical = all(tables["serial"].equals(t) for t in tables.values())
    tiny = SweepGrid(traces=("lublin_256",), policies=POLICIES, backfills=("none", "easy"),
                     load_scales=(0.7, 0.8, 0.9, 1.0, 1.1), seeds=(0, 1), windows=1, window_len=50)  # fmt: skip
    _, tiny_wall = timed(tiny, "ray", workers)
    startup = ray_start_stop(workers)
    overhead = max(tiny_wall - startup, 0.0) * workers / 200
    cell = rows[0]["mean_cell_s"]
    est = startup + 10_000 * (cell + overhead) / (16 * 16)
    summary = {
        "grid": grid.to_dict(), "workers": workers, "rows": rows, "identical_tables": identical,
        "speedup_processes": rows[0]["wall_s"] / rows[1]["wall_s"],
        "speedup_ray": rows[0]["wall_s"] / rows[2]["wall_s"],
        "ray_start_stop_s": startup, "ray_overhead_per_task_s": overhead,
        "estimate_10000_cells_16x16_cores_s": est,
    }  # fmt: skip
    print(f"identical tables: {identical}; speed-up processes x{summary['speedup_processes']:.2f}, "
          f"ray x{summary['speedup_ray']:.2f}; Ray start+stop {startup:.1f} s, "
          f"overhead per task {overhead * 1000:.1f} ms; 10,000 cells on 16 nodes x 16 cores: ~{est:.0f} s")  # fmt: skip
    out = ROOT / "benchmarks" / "results" / "sweep.json"
    out.write_text(json.dumps(summary, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
