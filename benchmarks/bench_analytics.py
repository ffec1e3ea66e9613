"""``schedlab analyze`` end to end on the SURF Lisa job tables: half-year (194,917 jobs) and month
(68,648 jobs), median of 3 runs each, report folder written every time; the half-year first
with DuckDB capped at 64 MB (``memory_limit``), then uncapped, each with the process's peak RSS.  The week with measured
power, per-job usage and energy attribution is timed once as well.

    python benchmarks/bench_analytics.py      # prints the table, writes results/analytics.json

Needs the SURF Lisa files (shared/data/surf_lisa or `--data-dir` as for every dataset).
"""

from __future__ import annotations

import json
import platform
import resource
import statistics
import tempfile
import time
from pathlib import Path

from schedlab.analytics.report import run_analysis, write_report
from schedlab.datasets import find_dataset


def once(jobs: Path, **kw) -> tuple[float, dict]:
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        an = run_analysis(jobs, **kw)
        write_report(an, Path(d))
        return time.perf_counter() - t, an.summary


def bench(name: str, jobs: Path, repeats: int = 3, **kw) -> dict:
    times, summ = [], None
    for _ in range(repeats):
        s, summ = once(jobs, **kw)
        times.append(s)
    row = {
        "jobs": summ["overview"]["jobs"],
        "median_s": statistics.median(times),
        "runs_s": times,
        "stages_s_last_run": summ["timings"],
        "memory_limit": kw.get("memory_limit"),
        "peak_rss_mb_so_far": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if summ.get("energy"):
        b = summ["energy"]["balance"]
        row["energy_mwh"] = {
            "measured": b["measured_j"] / 3.6e9,
            "attributed": b["attributed_j"] / 3.6e9,
            "loss": b["loss_j"] / 3.6e9,
        }
    print(
        f"{name:<22} {row['jobs']:>8,} jobs  median {row['median_s']:6.2f} s  (runs: "
        + ", ".join(f"{x:.2f}" for x in times)
        + f"), peak RSS so far {row['peak_rss_mb_so_far']:.0f} MB"
    )
    return row


if __name__ == "__main__":
    d = find_dataset("surf_lisa", ["surf_halfyear/tasks.parquet", "surf_month/tasks.parquet"])
    res = {
        "machine": f"{platform.machine()}, {platform.python_version()}; shared 2-core machine",
        "rss_baseline_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        # first, so that the process's peak RSS is this run's: DuckDB capped at 64 MB (spilling)
        "halfyear_64mb": bench(
            "surf_halfyear, 64MB",
            d / "surf_halfyear" / "tasks.parquet",
            memory_limit="64MB",
            temp_directory=Path(tempfile.gettempdir()) / "schedlab_duckdb",
        ),
        "halfyear": bench("surf_halfyear", d / "surf_halfyear" / "tasks.parquet"),
        "month": bench("surf_month", d / "surf_month" / "tasks.parquet"),
    }
    if (d / "surf_week_measured_power" / "host.parquet").exists():
        res["week_with_energy"] = bench(
            "surf_week + energy",
            d / "surf_week" / "tasks.parquet",
            repeats=1,
            telemetry=d / "surf_week_measured_power" / "host.parquet",
            fragments=d / "surf_week" / "fragments.parquet",
        )
    path = Path(__file__).parent / "results" / "analytics.json"
    path.write_text(json.dumps(res, indent=2))
    print(f"wrote {path}")
