"""Learned hole life vs BFTrainer's fixed look-ahead Tfwd, on the real node-state trace.

Week 1 of the trace (days 0-7) is the history: the hole-life predictor is fitted on its holes,
and every knob is chosen on it (the best fixed Tfwd, and the scale of the learned Tfwd).  Week 2
(days 7-14) is the evaluation.  The ImageNet job set (1,001 trainers, max 10 running) is shifted
to start at each week's start.  Runs:

* fixed Tfwd, lowest-index nodes: BFTrainer;
* fixed Tfwd, longest-predicted nodes (``--predict-holes``): the predictions in node choice only;
* learned Tfwd (``--tfwd-from-holes A``): Tfwd at each event = A x the median predicted remaining
  life of the free idle nodes, plus longest-predicted nodes: the predictions in the objective too.

"Best" = the highest efficiency (vs same scales) among runs that finish as many trainers as any,
chosen on week 1.

    python benchmarks/bftrainer_tfwd.py     # ~15 min on 1 core; prints rows, writes results/bftrainer_tfwd.json
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
NODE_GRID = (3.0, 10.0, 30.0, 60.0)
SCALES = (0.003, 0.01, 0.03, 0.1, 0.3)
KEYS = ("efficiency_vs_same_scales", "efficiency_vs_dedicated", "samples", "trainers_finished",
        "mean_completion_hours", "idle_used_fraction", "preemptions", "starts", "scale_ups", "scale_downs")


def best_of(runs: dict) -> float:
    most = max(s["trainers_finished"] for s in runs.values())
    return max((k for k, s in runs.items() if s["trainers_finished"] == most),
               key=lambda k: runs[k]["efficiency_vs_same_scales"])


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
        rows.append({"week": week + 1, "run": tag, "tfwd": cfg.tfwd, "tfwd_scale": cfg.tfwd_scale,
                     **{k: s[k] for k in KEYS}})
        print(f"week {week + 1}  {tag:<34} eff(same) {s['efficiency_vs_same_scales']:.4f}  eff(dedicated) "
              f"{s['efficiency_vs_dedicated']:.4f}  finished {s['trainers_finished']:>4}  "
              f"mean JCT {s['mean_completion_hours']:6.2f} h  pre-emptions {s['preemptions']:>5}", flush=True)
        return s

    fixed = {tf: run(f"fixed Tfwd={tf:g}", 0, ReplayConfig(tfwd=tf)) for tf in GRID}
    nodes = {tf: run(f"fixed Tfwd={tf:g}, learned nodes", 0,
                     ReplayConfig(tfwd=tf, horizon=model, node_choice="longest")) for tf in NODE_GRID}
    learned = {a: run(f"learned Tfwd={a:g} x life, learned nodes", 0,
                      ReplayConfig(horizon=model, node_choice="longest", tfwd_scale=a)) for a in SCALES}
    best_fixed, best_nodes, best_scale = best_of(fixed), best_of(nodes), best_of(learned)
    print(f"chosen on week 1: fixed Tfwd {best_fixed:g} s; with learned nodes {best_nodes:g} s; "
          f"learned Tfwd scale {best_scale:g}")
    for tf in GRID:
        run(f"fixed Tfwd={tf:g}", 1, ReplayConfig(tfwd=tf))
    for tf in NODE_GRID:
        run(f"fixed Tfwd={tf:g}, learned nodes", 1, ReplayConfig(tfwd=tf, horizon=model, node_choice="longest"))
    for a in SCALES:
        run(f"learned Tfwd={a:g} x life, learned nodes", 1,
            ReplayConfig(horizon=model, node_choice="longest", tfwd_scale=a))
    run(f"fixed Tfwd={best_fixed:g}, learned nodes + risk", 1,
        ReplayConfig(tfwd=best_fixed, horizon=model, node_choice="longest", risk=True))
    out = Path(__file__).parent / "results" / "bftrainer_tfwd.json"
    out.write_text(json.dumps({"chosen_on_week1": {"fixed_tfwd": best_fixed, "fixed_tfwd_learned_nodes": best_nodes,
                                                   "learned_tfwd_scale": best_scale},
                               "predictor_fit_seconds": fit_s, "predictor_holes": model.n_holes_, "rows": rows},
                              indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
