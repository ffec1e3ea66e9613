"""Engine throughput of this checkout against another one, side by side in one run.

    git worktree add /tmp/base <commit>          # the version to compare against
    .venv/bin/python benchmarks/bench_engine_ab.py --base /tmp/base [--rounds 3] [--jobs 300000]

Each round runs both checkouts (alternating which goes first, each in a fresh process with its
own numba cache) on theta_2022 and on theta_2022 resampled to ``--jobs`` jobs, 5 / 3 repeats per
(policy, backfill); a checkout's time for a case is the median over rounds of its per-round
median.  Also checks that both produce bit-identical schedules.  Writes
``benchmarks/results/engine_ab.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = [
    ("fcfs", "easy"),
    ("sjf", "easy"),
    ("fcfs", "none"),
    ("fcfs", "conservative"),
    ("wfp3", "easy"),
    ("wfp3", "conservative"),
]

CHILD = r"""
import hashlib, json, statistics, sys
from schedlab.simulator import simulate
from schedlab.workload import load_trace
from schedlab.workload.synthetic import resample
try:
    from schedlab.simulator.compare import warm_up
except ImportError:  # checkouts before the simulator.compare module
    from schedlab.experiments import warm_up
warm_up()
cases, n_big = json.loads(sys.argv[1]), int(sys.argv[2])
theta = load_trace("theta_2022")
out = {}
for name, wl, reps in (("theta_2022", theta, 5), (f"resampled_{n_big}", resample(theta, n_big, seed=0), 3)):
    for pol, bf in cases:
        times = []
        for _ in range(reps):
            r = simulate(wl, policy=pol, backfill=bf)
            times.append(r.sim_seconds)
        digest = hashlib.sha1(r.start.tobytes() + r.reservation.tobytes()).hexdigest()
        out[f"{name} {pol}+{bf}"] = {"seconds": statistics.median(times), "jobs": len(wl), "digest": digest}
print(json.dumps(out))
"""


def run_checkout(src: Path, jobs: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src), "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    res = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(CASES), str(jobs)], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(res.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", type=Path, required=True, help="root of the other checkout (has src/schedlab)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=300_000, help="jobs in the resampled trace")
    args = ap.parse_args()
    sides = {"base": args.base / "src", "this": ROOT / "src"}
    runs: dict[str, list[dict]] = {"base": [], "this": []}
    for i in range(args.rounds):
        for side in ("base", "this") if i % 2 == 0 else ("this", "base"):
            runs[side].append(run_checkout(sides[side], args.jobs))
    rows = []
    print(f"{'case':36s} {'base jobs/s':>13s} {'this jobs/s':>13s} {'this/base':>9s}  same schedule")
    for case in runs["base"][0]:
        b = statistics.median(r[case]["seconds"] for r in runs["base"])
        t = statistics.median(r[case]["seconds"] for r in runs["this"])
        jobs = runs["base"][0][case]["jobs"]
        same = runs["base"][0][case]["digest"] == runs["this"][0][case]["digest"]
        rows.append({"case": case, "jobs": jobs, "base_s": b, "this_s": t, "speed_ratio": b / t, "same": same})
        print(f"{case:36s} {jobs / b:13,.0f} {jobs / t:13,.0f} {b / t:9.3f}  {'yes' if same else 'NO'}")
    out = ROOT / "benchmarks" / "results" / "engine_ab.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"base": str(args.base), "rounds": args.rounds, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
