"""Engine throughput (jobs simulated per second of engine time, parse excluded).

    .venv/bin/python benchmarks/bench_engine.py            # full run (a few minutes)
    .venv/bin/python benchmarks/bench_engine.py --quick    # fewer repeats, scaling to 100k

Reports the median of R repeats for each (trace, policy, backfill), and the scaling of
FCFS+EASY (and the others) on theta_2022 resampled to 10k .. 1M jobs.  Writes
benchmarks/results/engine.json.  CEA-Curie is read from ../shared/traces if present.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
from pathlib import Path

from schedlab.experiments import warm_up
from schedlab.metrics import result_metrics
from schedlab.simulator import simulate
from schedlab.workload import load_trace
from schedlab.workload.synthetic import resample

ROOT = Path(__file__).resolve().parent.parent
CURIE = ROOT.parent / "shared" / "traces" / "CEA-Curie-2011-2.1-cln.swf.gz"
COMBOS = [("fcfs", "easy"), ("sjf", "easy"), ("fcfs", "conservative"), ("fcfs", "none"), ("wfp3", "easy")]


def timed(wl, policy, backfill, repeats):
    times = []
    for _ in range(repeats):
        res = simulate(wl, policy=policy, backfill=backfill)
        times.append(res.sim_seconds)
    med = statistics.median(times)
    m = result_metrics(res)
    return {
        "jobs": len(wl),
        "policy": policy,
        "backfill": backfill,
        "median_s": med,
        "jobs_per_s": len(wl) / med,
        "repeats": repeats,
        "max_queue_length": m["max_queue_length"],
        "mean_queue_length": m["mean_queue_length"],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="3 repeats, scaling up to 100k jobs")
    ap.add_argument("--repeats", type=int, default=None, help="repeats per measurement (default 5, quick 3)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "engine.json"))
    args = ap.parse_args()
    repeats = args.repeats or (3 if args.quick else 5)
    warm_up()
    traces = {"theta_2022": load_trace("theta_2022")}
    if CURIE.exists():
        traces["CEA-Curie"] = load_trace(CURIE)
    else:
        print(f"(CEA-Curie not found at {CURIE}; skipped)", file=sys.stderr)
    rows = []
    print(f"{'trace':<12} {'policy+backfill':<18} {'jobs':>9} {'median s':>9} {'jobs/s':>12} {'max queue':>9}")
    for name, wl in traces.items():
        for pol, bf in COMBOS:
            r = timed(wl, pol, bf, repeats)
            r["trace"] = name
            rows.append(r)
            print(
                f"{name:<12} {pol + '+' + bf:<18} {r['jobs']:>9,} {r['median_s']:>9.3f} {r['jobs_per_s']:>12,.0f} "
                f"{r['max_queue_length']:>9,}",
                flush=True,
            )
    sizes = [10_000, 30_000, 100_000] if args.quick else [10_000, 30_000, 100_000, 300_000, 1_000_000]
    base = traces["theta_2022"]
    scaling = []
    print("\nscaling (theta_2022 resampled; same load and job mix)")
    print(f"{'jobs':>9} {'policy+backfill':<18} {'median s':>9} {'jobs/s':>12} {'s per 10k jobs':>15}")
    for n in sizes:
        wl = resample(base, n, seed=1)
        for pol, bf in COMBOS[:3]:
            r = timed(wl, pol, bf, repeats if n <= 100_000 else max(1, repeats // 2))
            r["trace"] = f"theta_2022~{n}"
            scaling.append(r)
            print(
                f"{n:>9,} {pol + '+' + bf:<18} {r['median_s']:>9.3f} {r['jobs_per_s']:>12,.0f} "
                f"{1e4 * r['median_s'] / n:>15.4f}",
                flush=True,
            )
    out = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "throughput": rows,
        "scaling": scaling,
        "command": " ".join(["benchmarks/bench_engine.py", *sys.argv[1:]]),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
