"""Learned hole life vs BFTrainer's fixed look-ahead Tfwd, on the real node-state trace.

Week 1 of the trace (days 0-7) is the history: the hole-life predictor is fitted on its holes and
the best fixed Tfwd is chosen on it.  Week 2 (days 7-14) is the evaluation.  The ImageNet job set
(1,001 trainers, max 10 running) is shifted to start at each week's start.

    python benchmarks/bftrainer_tfwd.py            # prints a table, writes results/bftrainer_tfwd.json
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from schedlab.elastic.horizon import HoleLifePredictor
from schedlab.elastic.idle import read_node_states
from schedlab.elastic.replay import ReplayConfig, replay
from schedlab.elastic.trainers import load_job_set

WEEK = 7 * 86400
GRID = (3.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
KEYS = ("efficiency_vs_same_scales", "efficiency_vs_dedicated", "samples", "trainers_finished",
        "mean_completion_hours", "idle_used_fraction", "preemptions", "starts", "scale_ups", "scale_downs")


def main() -> None:
    trace = read_node_states()
    weeks = [trace.window(0, WEEK), trace.window(WEEK, 2 * WEEK)]
    jobs = load_job_set("imagenet")
    sets = [jobs.shift_submit(w.start - jobs.submit.min()) for w in weeks]
    t0 = time.perf_counter()
    model = HoleLifePredictor().fit(weeks[0])
    fit_s = time.perf_counter() - t0
    rows = []

    def run(tag, week, cfg):
        s = replay(weeks[week], sets[week], cfg).summary
        row = {"week": week + 1, "run": tag, "tfwd": cfg.tfwd, **{k: s[k] for k in KEYS}}
        rows.append(row)
        print(f"week {week + 1}  {tag:<28} eff(same) {s['efficiency_vs_same_scales']:.4f}  eff(dedicated) "
              f"{s['efficiency_vs_dedicated']:.4f}  finished {s['trainers_finished']:>4}  "
              f"mean JCT {s['mean_completion_hours']:6.2f} h  pre-emptions {s['preemptions']:>5}", flush=True)
        return s

    week1 = {tf: run(f"fixed Tfwd={tf:g}", 0, ReplayConfig(tfwd=tf)) for tf in GRID}
    # best fixed Tfwd on the history: highest efficiency among runs that finish as many trainers as any
    most = max(s["trainers_finished"] for s in week1.values())
    best = max((tf for tf, s in week1.items() if s["trainers_finished"] == most),
               key=lambda tf: week1[tf]["efficiency_vs_same_scales"])
    print(f"best fixed Tfwd on week 1: {best:g} s")
    for tf in GRID:
        run(f"fixed Tfwd={tf:g}", 1, ReplayConfig(tfwd=tf))
    run(f"learned nodes, Tfwd={best:g}", 1, ReplayConfig(tfwd=best, horizon=model, node_choice="longest"))
    run(f"learned nodes+risk, Tfwd={best:g}", 1, ReplayConfig(tfwd=best, horizon=model, node_choice="longest",
                                                               risk=True))
    out = Path(__file__).parent / "results" / "bftrainer_tfwd.json"
    out.write_text(json.dumps({"best_fixed_tfwd_week1": best, "predictor_fit_seconds": fit_s,
                               "predictor_holes": model.n_holes_, "rows": rows}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
