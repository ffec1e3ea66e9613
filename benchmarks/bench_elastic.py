"""BFTrainer allocator: DP vs HiGHS MILP on larger random instances, and per-event decision time
of a full-machine replay.

    python benchmarks/bench_elastic.py            # prints both, writes results/bench_elastic.json

Part 1: 100 random instances, 10 trainers with 1..64-node bounds and Amdahl speed-ups, 32..256
idle nodes; both solvers must reach the same optimum (relative difference printed).
Part 2: the real node-state trace, all 4,734 nodes, 24 h from BFTrainer's replay start, ImageNet
trainers, DP; the median / p95 time of one decision (set-up + solve) over all events.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import numpy as np

from schedlab.elastic.allocate import AllocationProblem, solve_dp, solve_milp
from schedlab.elastic.trainers import amdahl_rates


def instance(rng, n_idle: int, n_trainers: int = 10) -> AllocationProblem:
    lo = rng.integers(1, 5, n_trainers)
    hi = rng.integers(16, 65, n_trainers)
    rates = np.stack([amdahl_rates(rng.uniform(500, 8000), rng.uniform(0.9, 0.995), 64) for _ in range(n_trainers)])
    cur = np.zeros(n_trainers, dtype=int)
    left = n_idle
    for j in rng.permutation(n_trainers):
        if rng.random() < 0.7 and left >= lo[j]:
            cur[j] = int(rng.integers(lo[j], min(hi[j], left) + 1)) if left >= lo[j] else 0
            left -= cur[j]
    return AllocationProblem(
        capacity=n_idle,
        current=cur,
        rates=rates,
        min_nodes=lo,
        max_nodes=hi,
        scale_up=rng.uniform(17, 19, n_trainers),
        scale_down=rng.uniform(11, 13, n_trainers),
        horizon=float(rng.choice([10, 60, 300])),
        cost_rate=("current", "stall")[int(rng.integers(2))],
    )


def part1() -> dict:
    rng = np.random.default_rng(2024)
    rows = []
    for i in range(100):
        n_idle = (32, 64, 128, 256)[i % 4]
        p = instance(rng, n_idle)
        a, b = solve_dp(p), solve_milp(p, time_limit=300)
        rel = abs(a.objective - b.objective) / max(1.0, abs(b.objective))
        rows.append({"idle_nodes": n_idle, "dp_ms": a.seconds * 1e3, "milp_ms": b.seconds * 1e3, "rel_diff": rel})
    out = {"instances": len(rows), "max_rel_diff": max(r["rel_diff"] for r in rows), "by_size": {}}
    for n in (32, 64, 128, 256):
        rs = [r for r in rows if r["idle_nodes"] == n]
        dp = statistics.median(r["dp_ms"] for r in rs)
        milp = statistics.median(r["milp_ms"] for r in rs)
        out["by_size"][n] = {"dp_ms_median": dp, "milp_ms_median": milp, "milp_over_dp": milp / dp}
        print(
            f"{n:>4} idle nodes, 10 trainers: DP {dp:8.2f} ms   MILP (HiGHS) {milp:9.1f} ms   ratio {milp / dp:7.0f}x"
        )
    print(f"{len(rows)} instances, max relative objective difference DP vs MILP: {out['max_rel_diff']:.2e}")
    return out


def part2() -> dict:
    from schedlab.elastic.replay import ReplayConfig
    from schedlab.elastic.run import load_idle, parse_idle_spec, run_bftrainer
    from schedlab.elastic.trainers import load_job_set

    window, _ = load_idle(parse_idle_spec("real"), 24.0)
    t0 = time.perf_counter()
    res = run_bftrainer(window, load_job_set("imagenet"), ReplayConfig(solver="dp"))
    wall = time.perf_counter() - t0
    ms = res.events["decision_s"].to_numpy()[1:] * 1e3
    out = {
        "events": len(ms),
        "decision_ms_median": float(np.median(ms)),
        "decision_ms_p95": float(np.percentile(ms, 95)),
        "decision_ms_max": float(ms.max()),
        "replay_seconds": wall,
        "max_idle_nodes": int(res.events["idle_nodes"].max()),
    }
    print(
        f"real trace, 4,734 nodes, 24 h: {out['events']} decisions, median {out['decision_ms_median']:.2f} ms, "
        f"p95 {out['decision_ms_p95']:.2f} ms, max {out['decision_ms_max']:.2f} ms; whole replay {wall:.1f} s"
    )
    return out


if __name__ == "__main__":
    result = {"dp_vs_milp": part1(), "replay_decisions": part2()}
    path = Path(__file__).parent / "results" / "bench_elastic.json"
    path.write_text(json.dumps(result, indent=2))
    print(f"wrote {path}")
