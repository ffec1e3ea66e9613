"""An RL scheduler trained and tested on a multi-resource machine, the way a site would judge it.

    .venv/bin/python benchmarks/rl_multires.py                   # 20,000 Curie jobs, 10 min of training
    .venv/bin/python benchmarks/rl_multires.py --minutes 2 --jobs 6000   # a quick look

CEA-Curie's jobs (from ../shared/traces) get seeded GPU, memory and partition requests
(:func:`schedlab.workload.resource_gen.with_resources`) and are written as a site's job table
(``OUT/jobs.csv``: one row per job, sacct-like columns).  Then the two commands a user runs:

    schedlab train --agent scorer --trace OUT/jobs.csv --cluster curie3 --window-len 256 --visible 32 \\
        --time-budget MINUTES --out OUT/run
    schedlab evaluate --model OUT/run --trace OUT/jobs.csv --cluster curie3 --window-len 1024 --json

The agent trains on the first 70 % of the jobs (its last fifth held back to pick the checkpoint)
and is tested on the later 30 % against every heuristic on the same machine, with the same
estimates (requested times) and EASY backfilling.  Writes benchmarks/results/rl_multires.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from schedlab.workload import load_trace
from schedlab.workload.resource_gen import with_resources

ROOT = Path(__file__).resolve().parent.parent
CURIE = ROOT.parent / "shared" / "traces" / "CEA-Curie-2011-2.1-cln.swf.gz"
SCHEDLAB = str(Path(sys.executable).with_name("schedlab"))


def job_table(first: int, jobs: int, path: Path) -> Path:
    wl = with_resources(load_trace(CURIE).subset(slice(first, first + jobs)), seed=0)
    res = wl.resources.to_columns()
    t0 = pd.Timestamp("2012-02-01T00:00:00")
    stamp = lambda s: (t0 + pd.to_timedelta(np.round(s - wl.submit[0]), unit="s")).strftime("%Y-%m-%dT%H:%M:%S")
    pd.DataFrame({
        "job_id": wl.job_id, "user": [f"u{u}" for u in wl.user], "account": res["account"],
        "partition": res["partition"], "submit": stamp(wl.submit), "start": stamp(wl.submit),
        "end": stamp(wl.submit + np.round(wl.run)), "nodes": res["nodes"],
        "cpus": res["nodes"] * res["cpus_per_node"], "gpus": res["nodes"] * res["gpus_per_node"],
        "mem_per_node": res["mem_per_node"], "time_limit_s": np.ceil(wl.req_time), "state": "COMPLETED",
    }).to_csv(path, index=False)  # fmt: skip
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", type=int, default=20_000, help="Curie jobs to use (default 20,000)")
    ap.add_argument("--first", type=int, default=150_000, help="index of the first Curie job used")
    ap.add_argument("--minutes", type=float, default=10.0, help="training time budget (minutes)")
    ap.add_argument("--out", default="out/rl_multires", help="folder for the job table and the run")
    ap.add_argument("--imitate", default="sjf", help="heuristic the agent imitates before PPO (train --imitate)")
    ap.add_argument("--json-out", default=str(ROOT / "benchmarks" / "results" / "rl_multires.json"))
    args = ap.parse_args()
    if not CURIE.exists():
        sys.exit(f"CEA-Curie not found at {CURIE}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table = job_table(args.first, args.jobs, out / "jobs.csv")
    train = [SCHEDLAB, "train", "--agent", "scorer", "--trace", str(table), "--cluster", "curie3", "--window-len",
             "256", "--visible", "32", "--time-budget", f"{args.minutes:g}", "--steps", "2000000", "--imitate",
             args.imitate, "--out", str(out / "run"), "--force"]  # fmt: skip
    t0 = time.perf_counter()
    subprocess.run(train, check=True)
    train_s = time.perf_counter() - t0
    evaluate = [SCHEDLAB, "evaluate", "--model", str(out / "run"), "--trace", str(table), "--cluster", "curie3",
                "--window-len", "1024", "--json"]  # fmt: skip
    res = json.loads(subprocess.run(evaluate, check=True, capture_output=True, text=True).stdout)
    rows = sorted(res["results"].items(), key=lambda kv: kv[1]["mean_bsld"])
    print(f"{'policy':<28} {'mean bsld':>10} {'mean wait h':>12} {'whole bsld':>11}")
    for name, r in rows:
        whole = r.get("whole", {}).get("mean_bsld", float("nan"))
        print(f"{name:<28} {r['mean_bsld']:>10.2f} {r['mean_wait'] / 3600:>12.2f} {whole:>11.2f}")
    summary = {
        "commands": [" ".join(train), " ".join(evaluate)], "jobs": args.jobs, "first": args.first,
        "imitate": args.imitate,
        "train_seconds": round(train_s, 1), "best_heuristic": res.get("best_heuristic"),
        "agent_vs_best_heuristic": res.get("bsld_vs_best_heuristic"), "results": res["results"],
    }  # fmt: skip
    Path(args.json_out).write_text(json.dumps(summary, indent=2, default=str))
    print(f"agent vs best heuristic ({res.get('best_heuristic')}): {res.get('bsld_vs_best_heuristic'):+.1%} mean bsld")


if __name__ == "__main__":
    main()
