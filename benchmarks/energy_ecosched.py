"""EcoSched on every logged evaluation queue: reproduction, schedlab's lookahead, the CP-SAT optimum.

    python benchmarks/energy_ecosched.py [--time-limit 120]   # writes results/energy_ecosched.json

For each GPU model and queue with a logged EcoSched run (10 queues; H100 med/high_opp contain
hpgmg, which has no H100 profile):
* reductions of makespan / energy / EDP vs sequential-best for every policy, simulated from the
  measured tables with the calibrated power model, beside the logged run's reductions;
* EcoSched (bandit) run with the slowdown tolerance its logged run used;
* the CP-SAT energy optimum (every GPU count allowed), warm-started from the best heuristic, with its
  proven bound; the share of the EcoSched -> optimum energy gap that lookahead closes, against the
  best schedule found and against the proven bound;
* the median wall time of one lookahead decision.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from schedlab.energy.ecosched import EcoSched, Lookahead, Marble, Sequential
from schedlab.energy.node import GPUNode, replay_logged, simulate
from schedlab.energy.optimal import solve_optimal
from schedlab.energy.profiles import ProfileError, ecosched_dir, load_app_table, load_queue
from schedlab.energy.run import LOGGED, logged_tolerance

QUEUES = [
    ("H100", "default"),
    ("H100", "low_opp"),
    ("A100", "default"),
    ("A100", "low_opp"),
    ("A100", "med_opp"),
    ("A100", "high_opp"),
    ("V100", "default"),
    ("V100", "low_opp"),
    ("V100", "med_opp"),
    ("V100", "high_opp"),
]


class Timed:
    """Wraps a policy to time each of its decisions."""

    def __init__(self, policy):
        self.p, self.name, self.times = policy, policy.name, []

    def reset(self, *a):
        self.p.reset(*a)

    def decide(self, state):
        t0 = time.perf_counter()
        out = self.p.decide(state)
        self.times.append(time.perf_counter() - t0)
        return out

    def observe(self, *a):
        self.p.observe(*a)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time-limit", type=float, default=120.0, help="CP-SAT seconds per queue")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "energy_ecosched.json")
    args = ap.parse_args()
    import pandas as pd

    summ = pd.read_csv(ecosched_dir() / "eval_runs_summary.csv")
    rows, calib = [], {}
    for gm, wl in QUEUES:
        table = load_app_table(gm)
        if gm not in calib:
            cal = replay_logged(table)
            win = replay_logged(load_app_table(gm, power="window"))
            calib[gm] = {
                "runs": len(cal),
                "median_error_run_power": float(cal["error"].median()),
                "max_abs_error_run_power": float(cal["error"].abs().max()),
                "median_error_window_power": float(win["error"].median()),
            }
        try:
            jobs = load_queue(gm, wl)
        except ProfileError as exc:
            print(f"skip {gm} {wl}: {exc}")
            continue
        node = GPUNode.for_table(table)
        tol = logged_tolerance(gm, wl) or 0.2
        look = Timed(Lookahead(slowdown_tol=None))
        pol = {
            "sequential": Sequential(False),
            "sequential-best": Sequential(True),
            "marble": Marble(),
            "score": EcoSched(slowdown_tol=tol),
            "bandit": EcoSched(slowdown_tol=tol, bandit=True),
            "lookahead": look,
        }
        sched = {n: simulate(jobs, table, p, node) for n, p in pol.items()}
        hint = min((sched["lookahead"], sched["bandit"], sched["score"]), key=lambda s: s.energy_j)
        opt = solve_optimal(jobs, table, node, slowdown_tol=None, time_limit_s=args.time_limit, hint=hint)
        sched["optimal"] = opt.schedule
        base = sched["sequential-best"]
        row = {
            "gpu_model": gm,
            "queue": wl,
            "jobs": len(jobs),
            "ecosched_slowdown_tol": tol,
            "optimal_status": opt.status,
            "optimal_bound_j": opt.bound_j,
            "optimal_gap": opt.gap,
            "optimal_wall_s": opt.wall_s,
            "lookahead_decision_ms_median": 1e3 * statistics.median(look.times),
            "policies": {},
        }
        lb = summ[(summ.gpu_model == gm) & (summ.workload == wl) & (summ.policy == LOGGED["sequential-best"])]
        for n, s in sched.items():
            r = {
                "makespan_s": s.makespan_s,
                "energy_j": s.energy_j,
                "edp_js": s.edp,
                "makespan_red": 1 - s.makespan_s / base.makespan_s,
                "energy_red": 1 - s.energy_j / base.energy_j,
                "edp_red": 1 - s.edp / base.edp,
            }
            lg = summ[(summ.gpu_model == gm) & (summ.workload == wl) & (summ.policy == LOGGED.get(n, "-"))]
            if len(lg) and len(lb):
                r.update(
                    logged_makespan_red=1 - lg.makespan_s.iloc[0] / lb.makespan_s.iloc[0],
                    logged_energy_red=1 - lg.gpu_energy_j.iloc[0] / lb.gpu_energy_j.iloc[0],
                    logged_edp_red=1 - lg.edp_js.iloc[0] / lb.edp_js.iloc[0],
                )
            row["policies"][n] = r
        e_eco, e_look, e_opt = sched["bandit"].energy_j, sched["lookahead"].energy_j, sched["optimal"].energy_j
        row["gap_closed_vs_found"] = (e_eco - e_look) / (e_eco - e_opt) if e_eco > e_opt + 1e-6 else None
        row["gap_closed_vs_bound"] = (e_eco - e_look) / (e_eco - opt.bound_j) if e_eco > opt.bound_j else None
        rows.append(row)
        p = row["policies"]
        b, la = p["bandit"], p["lookahead"]
        nan = float("nan")
        logged = "/".join(f"{100 * b.get(f'logged_{k}_red', nan):5.1f}" for k in ("makespan", "energy", "edp"))
        found, bound = row["gap_closed_vs_found"], row["gap_closed_vs_bound"]
        print(
            f"{gm} {wl:8s} bandit {100 * b['makespan_red']:5.1f}/{100 * b['energy_red']:5.1f}/"
            f"{100 * b['edp_red']:5.1f} (logged {logged})"
            f" | lookahead {100 * la['makespan_red']:5.1f}/{100 * la['energy_red']:5.1f}/"
            f"{100 * la['edp_red']:5.1f} | optimal {100 * p['optimal']['energy_red']:5.1f} "
            f"({opt.status}, gap {100 * opt.gap:.1f}%)"
            f" | gap closed {found if found is None else round(100 * found)}%"
            f" (vs bound {bound if bound is None else round(100 * bound)}%)"
            f" | lookahead decision {row['lookahead_decision_ms_median']:.0f} ms"
        )
    out = {"cpsat_time_limit_s": args.time_limit, "calibration": calib, "queues": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2))
    print(
        "calibration (median energy error replaying logged schedules):",
        {
            g: f"{100 * c['median_error_run_power']:+.1f}% (15 s power: {100 * c['median_error_window_power']:+.1f}%)"
            for g, c in calib.items()
        },
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
