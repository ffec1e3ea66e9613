"""Training cost of the shipped models: wall-clock and CPU time of their exact `schedlab train`
commands, and the result the trained model reaches.

    .venv/bin/python benchmarks/bench_train.py lublin     # the lublin_256 scorer (about 5 min)
    .venv/bin/python benchmarks/bench_train.py theta      # the theta_2022 DRAS agent (about 15 min)

Each runs the command in a fresh folder under out/bench_train/, measures the child's wall and
CPU seconds (user + system, from getrusage), evaluates the trained model with the same protocol
as the README, and appends the record to benchmarks/results/train.json (and train.txt).
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEDLAB = str(ROOT / ".venv" / "bin" / "schedlab")
RUNS = {
    "lublin": (
        [
            "train",
            "--agent",
            "scorer",
            "--trace",
            "lublin_256",
            "--preset",
            "rlscheduler",
            "--backfill-order",
            "fcfs",
            "--imitate",
            "saf",
            "--baseline",
            "saf",
            "--val-fraction",
            "0",
            "--steps",
            "1000000",
        ],
        ["--trace", "lublin_256", "--preset", "rlscheduler"],
    ),
    "theta": (
        [
            "train",
            "--agent",
            "dras",
            "--trace",
            "theta_2022",
            "--objective",
            "bsld",
            "--window-len",
            "1024",
            "--steps",
            "1200000",
        ],
        ["--trace", "theta_2022"],
    ),
}


def main(name: str) -> None:
    train_args, eval_args = RUNS[name]
    out = ROOT / "out" / "bench_train" / name
    shutil.rmtree(out, ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([SCHEDLAB, *train_args, "--out", str(out)], check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    ev = subprocess.run(
        [SCHEDLAB, "evaluate", "--model", str(out / "model.pt"), *eval_args, "--json"],
        check=True,
        capture_output=True,
        text=True,
    )
    res = json.loads(ev.stdout)
    model = next(iter(res["results"].values()))
    record = {
        "run": name,
        "command": "schedlab " + " ".join(train_args) + f" --out {out.relative_to(ROOT)}",
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "cpu_minutes": round(cpu / 60, 2),
        "model_mean_bsld": model["mean_bsld"],
        "best_heuristic": res["best_heuristic"],
        "best_heuristic_mean_bsld": res["results"][res["best_heuristic"]]["mean_bsld"],
        "bsld_vs_best_heuristic": res["bsld_vs_best_heuristic"],
        "bsld_vs_fcfs": res["bsld_vs_fcfs"],
    }
    results = ROOT / "benchmarks" / "results"
    results.mkdir(parents=True, exist_ok=True)
    path = results / "train.json"
    records = [r for r in (json.loads(path.read_text()) if path.exists() else []) if r["run"] != name] + [record]
    path.write_text(json.dumps(records, indent=2))
    lines = [
        f"{r['run']:7s} wall {r['wall_s']:8.1f} s  cpu {r['cpu_minutes']:6.2f} min  model bsld "
        f"{r['model_mean_bsld']:.2f}  best heuristic {r['best_heuristic']} {r['best_heuristic_mean_bsld']:.2f}"
        f"  ({r['bsld_vs_best_heuristic']:+.1%})\n    {r['command']}"
        for r in records
    ]
    (results / "train.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "lublin")
