"""Conservative backfilling against EASY on the same trace, side by side in one run.

    .venv/bin/python benchmarks/bench_conservative.py              # CEA-Curie + equal-time traces
    .venv/bin/python benchmarks/bench_conservative.py --repeats 5 --sizes 2000 5000 20000

For each trace: FCFS with EASY, conservative (jobs killed at their request) and conservative
run-on (``kill_at_request=False``): engine seconds, the median of ``--repeats`` runs after one
warm-up call, and the ratio to EASY.  Traces: CEA-Curie (read from ../shared/traces, skipped with
a message when absent) and overloaded synthetic traces with many equal-time events (submits on a
60 s grid, requests of 10, 20 or 60 min, runtimes of 0.5, 1 or 2 times the request).  Writes
``benchmarks/results/bench_conservative.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
from pathlib import Path

import numpy as np

from schedlab.simulator import SimConfig, simulate
from schedlab.workload import load_trace
from schedlab.workload.table import Workload

ROOT = Path(__file__).resolve().parent.parent
CURIE = ROOT.parent / "shared" / "traces" / "CEA-Curie-2011-2.1-cln.swf.gz"
MODES = {
    "easy": SimConfig(backfill="easy"),
    "conservative": SimConfig(backfill="conservative"),
    "conservative_run_on": SimConfig(backfill="conservative", kill_at_request=False),
}


def equal_time_trace(n: int, seed: int = 0) -> Workload:
    """Overloaded 64-processor trace: n jobs on n/10 submit instants, 3 request lengths."""
    rng = np.random.default_rng(seed)
    submit = np.sort(rng.integers(0, max(n // 10, 1), n) * 60.0)
    req = rng.choice([600.0, 1200.0, 3600.0], n)
    run = req * rng.choice([0.5, 1.0, 2.0], n)
    procs = rng.choice([1, 2, 4, 8, 16, 32], n).astype(np.int64)
    return Workload(
        name=f"equal_time_{n}",
        job_id=np.arange(1, n + 1, dtype=np.int64),
        submit=submit,
        run=run,
        req_time=req,
        procs=procs,
        user=np.zeros(n, dtype=np.int64),
        raw_submit=submit.copy(),
        status=np.ones(n, dtype=np.int64),
        max_procs=64,
        max_nodes=64,
    )


def median_seconds(wl: Workload, cfg: SimConfig, repeats: int) -> float:
    simulate(wl, cfg)  # warm-up (compilation, caches)
    return statistics.median(simulate(wl, cfg).sim_seconds for _ in range(repeats))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per (trace, mode) after a warm-up")
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 10000], help="equal-time trace sizes")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "bench_conservative.json"))
    args = ap.parse_args()
    traces = {}
    if CURIE.exists():
        traces["CEA-Curie"] = load_trace(CURIE)
    else:
        print(f"(CEA-Curie not found at {CURIE}; skipped)", file=sys.stderr)
    for n in args.sizes:
        traces[f"equal_time_{n}"] = equal_time_trace(n)
    rows = []
    print(f"{'trace':<18} {'jobs':>8} {'easy s':>9} {'cons s':>9} {'run-on s':>9}", end=" ")
    print(f"{'cons/easy':>10} {'run-on/easy':>12}")
    for name, wl in traces.items():
        t = {mode: median_seconds(wl, cfg, args.repeats) for mode, cfg in MODES.items()}
        row = {
            "trace": name,
            "jobs": len(wl),
            "repeats": args.repeats,
            **{f"{mode}_s": sec for mode, sec in t.items()},
            "conservative_over_easy": t["conservative"] / t["easy"],
            "run_on_over_easy": t["conservative_run_on"] / t["easy"],
        }
        rows.append(row)
        print(
            f"{name:<18} {len(wl):>8,} {t['easy']:>9.4f} {t['conservative']:>9.4f} {t['conservative_run_on']:>9.4f} "
            f"{row['conservative_over_easy']:>10.1f} {row['run_on_over_easy']:>12.1f}",
            flush=True,
        )
    out = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "policy": "fcfs",
        "rows": rows,
        "command": " ".join(["benchmarks/bench_conservative.py", *sys.argv[1:]]),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
