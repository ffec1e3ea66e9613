"""Which heuristic wins when: theta_2022 cut into consecutive 1,024-job windows, each simulated
alone (EASY backfilling, from an empty machine), mean bounded slowdown of SJF, SAF and F1 per
window, and per period (training part, held-back validation part, test part of the 70/14/30 split
that `schedlab train` uses).

    .venv/bin/python benchmarks/theta_regimes.py        # writes benchmarks/results/theta_regimes.{txt,json}

It shows why a policy that beats SJF on the training and validation periods need not beat it on
the test period: SAF beats SJF on most training-period windows and on the validation period, SJF
beats SAF on the test period.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import numpy as np

from schedlab.experiments import compare
from schedlab.rl.episodes import split_bounds
from schedlab.workload import load_trace

POLICIES = ("sjf", "saf", "f1")
LEN = 1024


def main() -> None:
    wl = load_trace("theta_2022")
    n = len(wl)
    fit_end = split_bounds(n, 0.7 * 0.8, "test")[0]
    test_begin = split_bounds(n, 0.7, "test")[0]
    starts = list(range(0, n - LEN + 1, LEN))
    res = {
        r.policy: [w["mean_bsld"] for w in r.windows]
        for r in compare(wl, list(POLICIES), ["easy"], window_starts=starts, window_len=LEN)
    }
    rows = []
    for i, s in enumerate(starts):
        period = (
            "train"
            if s + LEN <= fit_end
            else "validation"
            if s + LEN <= test_begin
            else ("test" if s >= test_begin else "straddles")
        )
        day = datetime.datetime.fromtimestamp(float(wl.raw_submit[s]), datetime.UTC).strftime("%Y-%m-%d")
        rows.append({"start": s, "first_submit": day, "period": period, **{p: res[p][i] for p in POLICIES}})
    lines = [f"{'start':>6} {'first submit':12} {'period':10} " + " ".join(f"{p:>8}" for p in POLICIES) + "  best"]
    for r in rows:
        best = min(POLICIES, key=lambda p: r[p])
        lines.append(
            f"{r['start']:>6} {r['first_submit']:12} {r['period']:10} "
            + " ".join(f"{r[p]:8.2f}" for p in POLICIES)
            + f"  {best}"
        )
    summary = {}
    for period in ("train", "validation", "test"):
        part = [r for r in rows if r["period"] == period]
        summary[period] = {
            "windows": len(part),
            **{p: float(np.mean([r[p] for r in part])) for p in POLICIES},
            "saf_beats_sjf": sum(r["saf"] < r["sjf"] for r in part),
        }
        lines.append(
            f"{period:10s} {len(part):2d} windows: "
            + "  ".join(f"{p} {summary[period][p]:.2f}" for p in POLICIES)
            + f"  (SAF below SJF in {summary[period]['saf_beats_sjf']})"
        )
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "theta_regimes.json").write_text(json.dumps({"windows": rows, "periods": summary}, indent=2))
    (out / "theta_regimes.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
