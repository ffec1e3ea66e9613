"""EASY++ against requested-time EASY on whole traces, with the predictors' accuracy and cost.

    .venv/bin/python benchmarks/easy_plus_plus.py   # writes benchmarks/results/easy_plus_plus.{json,md}

For each trace (CEA-Curie from ../shared/traces when present, NASA iPSC, theta_2022): every row
is one whole-trace simulation with EASY backfilling.  The headline pair is FCFS+EASY on requested
times against ``easy++`` (FCFS queue, EASY trying the shortest predicted job first, the user's last
two runtimes, corrected to the request when exceeded).  Beside it: the same queue orders given
the true runtimes (the ceiling) and the other estimate sources.  Timing: the engine's own time,
median of ``REPEATS`` runs, FCFS+EASY with and without prediction side by side in one run.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from schedlab.simulator import SimConfig, simulate
from schedlab.simulator.compare import metrics_of, warm_up
from schedlab.workload import load_trace

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "results"
CURIE = ROOT.parent / "shared" / "traces" / "CEA-Curie-2011-2.1-cln.swf.gz"
REPEATS = 5
ROWS = [
    ("fcfs", "requested", "queue"),
    ("easy++", "predicted:last2", "shortest"),
    ("fcfs", "predicted:ml", "shortest"),
    ("fcfs", "actual", "shortest"),
    ("sjf", "requested", "queue"),
    ("sjf", "predicted:last2", "queue"),
    ("sjf", "predicted:ml", "queue"),
    ("sjf", "actual", "queue"),
]


def engine_seconds(wl, cfg) -> float:
    return statistics.median(simulate(wl, cfg).sim_seconds for _ in range(REPEATS))


def main() -> None:
    warm_up()
    traces = [str(CURIE)] if CURIE.exists() else []
    traces += ["nasa_ipsc", "theta_2022"]
    out = []
    for trace in traces:
        wl = load_trace(trace)
        rows = []
        for policy, est, order in ROWS:
            cfg = SimConfig(policy=policy, estimates=est, backfill_order=order)
            m = metrics_of(simulate(wl, cfg))
            rows.append({"policy": policy, "estimates": cfg.estimates if policy != "easy++" else est,
                         "backfill_order": order, **m})  # fmt: skip
        base = rows[0]["mean_bsld"]
        for r in rows:
            r["bsld_vs_fcfs_easy"] = r["mean_bsld"] / base - 1
        timing = {}
        for label, cfg in (
            ("fcfs+easy requested", SimConfig(policy="fcfs")),
            ("fcfs+easy predicted:last2", SimConfig(policy="fcfs", estimates="predicted:last2")),
            ("fcfs+easy predicted:ml", SimConfig(policy="fcfs", estimates="predicted:ml")),
            ("easy++", SimConfig(policy="easy++")),
        ):
            timing[label] = engine_seconds(wl, cfg)
        out.append({"trace": wl.name, "jobs": len(wl), "users": len(set(wl.user.tolist())), "rows": rows,
                    "engine_seconds": timing})  # fmt: skip
        print(wl.name, {k: round(v, 4) for k, v in timing.items()}, flush=True)
    OUT.mkdir(exist_ok=True)
    (OUT / "easy_plus_plus.json").write_text(json.dumps(out, indent=1, default=float))
    lines = []
    for t in out:
        lines.append(f"\n{t['trace']} ({t['jobs']:,} jobs, {t['users']} users)\n")
        lines.append("| policy | estimates | backfill order | mean bsld | vs FCFS+EASY | mean wait s | pred MAE s | "
                     "under-predicted | reservations broken |")  # fmt: skip
        lines.append("|---|---|---|---:|---:|---:|---:|---:|---:|")
        for r in t["rows"]:
            pm = r.get("pred_mae_s")
            lines.append(
                f"| {r['policy']} | {r['estimates']} | {r['backfill_order']} | {r['mean_bsld']:.2f} | "
                f"{100 * r['bsld_vs_fcfs_easy']:+.0f} % | {r['mean_wait']:,.0f} | "
                + (f"{pm:,.0f} | {100 * r['pred_under_share']:.0f} % | {100 * r['resv_late_share']:.0f} % |"
                   if pm is not None else "– | – | – |")
            )  # fmt: skip
        s = t["engine_seconds"]
        lines.append(
            "\nengine time (median of 5): " + ", ".join(f"{k} {v:.3f} s" for k, v in s.items())
            + f"; prediction adds x{s['fcfs+easy predicted:last2'] / s['fcfs+easy requested']:.2f} (last2), "
            f"x{s['fcfs+easy predicted:ml'] / s['fcfs+easy requested']:.2f} (ml)"
        )  # fmt: skip
    text = "\n".join(lines)
    (OUT / "easy_plus_plus.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
