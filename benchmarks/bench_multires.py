"""Multi-resource engine throughput (jobs simulated per second of engine time, parse excluded).

    .venv/bin/python benchmarks/bench_multires.py            # 5 repeats
    .venv/bin/python benchmarks/bench_multires.py --quick    # 3 repeats, first 100k Curie jobs

CEA-Curie (from ../shared/traces) gets seeded multi-resource requests
(:func:`schedlab.workload.resource_gen.with_resources`: thin / fat large-memory / hybrid GPU
partitions, accounts) and runs on the shipped ``curie3`` machine (5,274 nodes in three partitions,
shared cons_tres-like allocation).  Side by side in the same run: the same jobs as a plain SWF trace
on today's single-resource engine.  Reports medians; writes benchmarks/results/multires.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
from pathlib import Path

from schedlab.cluster import load_cluster
from schedlab.experiments import warm_up
from schedlab.metrics import result_metrics
from schedlab.simulator import SimConfig, simulate
from schedlab.simulator.multires.run import warm_up_multires
from schedlab.workload import load_trace
from schedlab.workload.resource_gen import with_resources

ROOT = Path(__file__).resolve().parent.parent
CURIE = ROOT.parent / "shared" / "traces" / "CEA-Curie-2011-2.1-cln.swf.gz"
#: (label, policy, backfill, node selection) on curie3
MULTI = [
    ("fcfs+easy first-fit", "fcfs", "easy", "first-fit"),
    ("fcfs+easy best-fit", "fcfs", "easy", "best-fit"),
    ("sjf+easy", "sjf", "easy", "first-fit"),
    ("fcfs+none", "fcfs", "none", "first-fit"),
    ("multifactor+easy", "multifactor", "easy", "first-fit"),
    ("multifactor+none", "multifactor", "none", "first-fit"),
]


def timed(wl, repeats, **kw):
    times = []
    for _ in range(repeats):
        res = simulate(wl, SimConfig(**kw))
        times.append(res.sim_seconds)
    med = statistics.median(times)
    m = result_metrics(res)
    return {"jobs": len(wl), "median_s": med, "jobs_per_s": len(wl) / med, "repeats": repeats,
            "mean_bsld": m["mean_bsld"], "max_queue_length": m["max_queue_length"]}  # fmt: skip


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="3 repeats on the first 100k jobs")
    ap.add_argument("--repeats", type=int, default=None, help="repeats per measurement (default 5, quick 3)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "multires.json"))
    ap.add_argument("--conservative", type=int, default=0, metavar="N",
                    help="only time conservative against EASY on N Curie jobs from job 150,000 (its search grows "
                    "with queue x partition size: see the README)")  # fmt: skip
    args = ap.parse_args()
    if not CURIE.exists():
        sys.exit(f"CEA-Curie not found at {CURIE}")
    repeats = args.repeats or (3 if args.quick else 5)
    if args.conservative:
        return conservative_rows(args.conservative, repeats)
    warm_up()
    warm_up_multires(SimConfig())
    plain = load_trace(CURIE)
    if args.quick:
        plain = plain.subset(slice(0, 100_000))
    wl = with_resources(plain, seed=0)
    machine = load_cluster("curie3")
    rows = []
    print(f"{'machine':<14} {'policy+backfill':<22} {'jobs':>9} {'median s':>9} {'jobs/s':>10} {'mean bsld':>10}")
    for label, pol, bf in [("fcfs+easy", "fcfs", "easy"), ("fcfs+none", "fcfs", "none")]:
        r = timed(plain, repeats, policy=pol, backfill=bf) | {"machine": "single (SWF)", "run": label}
        rows.append(r)
        print(f"{'single (SWF)':<14} {label:<22} {r['jobs']:>9,} {r['median_s']:>9.3f} {r['jobs_per_s']:>10,.0f} "
              f"{r['mean_bsld']:>10.2f}", flush=True)  # fmt: skip
    for label, pol, bf, sel in MULTI:
        r = timed(wl, repeats, policy=pol, backfill=bf, cluster=machine, node_select=sel)
        r |= {"machine": "curie3", "run": label}
        rows.append(r)
        print(f"{'curie3':<14} {label:<22} {r['jobs']:>9,} {r['median_s']:>9.3f} {r['jobs_per_s']:>10,.0f} "
              f"{r['mean_bsld']:>10.2f}", flush=True)  # fmt: skip
    out = {"python": platform.python_version(), "machine": platform.machine(), "rows": rows,
           "command": " ".join(["benchmarks/bench_multires.py", *sys.argv[1:]])}  # fmt: skip
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2))
    print(f"\nwrote {args.out}")


def conservative_rows(n: int, repeats: int) -> None:
    """Conservative and EASY side by side on ``n`` Curie jobs (from job 150,000) on curie3."""
    wl = with_resources(load_trace(CURIE).subset(slice(150_000, 150_000 + n)), seed=0)
    machine = load_cluster("curie3")
    for bf in ("easy", "conservative"):  # compile first
        simulate(wl.subset(slice(0, 50)), SimConfig(policy="fcfs", backfill=bf, cluster=machine))
    print(f"{'backfill':<14} {'jobs':>7} {'median s':>9} {'jobs/s':>9} {'mean bsld':>10}")
    for bf in ("easy", "conservative"):
        r = timed(wl, repeats, policy="fcfs", backfill=bf, cluster=machine)
        print(f"{bf:<14} {r['jobs']:>7,} {r['median_s']:>9.3f} {r['jobs_per_s']:>9,.0f} {r['mean_bsld']:>10.2f}")


if __name__ == "__main__":
    main()
